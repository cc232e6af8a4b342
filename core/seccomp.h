/* SPDX-License-Identifier: MIT */
/* core/seccomp.h - the container's seccomp filter: berth's default profile (a table in
 * seccomp.c, in the spirit of Docker's), Docker-format JSON profiles, and the
 * "--security-opt seccomp=..." value. Filters are built with libseccomp and loaded only in a
 * container's child; nothing here runs a filter on berthd itself. No libev, no globals, no
 * logging.
 *
 * Semantics (DESIGN.md §11). The profile is an allowlist: a syscall it does not allow fails
 * with EPERM, and a syscall newer than the profile knows fails with ENOSYS so that libc falls
 * back to an older one. "Newer" means: a number libseccomp cannot name on any of the filter's
 * architectures. This is done with two filters: the profile itself (default action EPERM),
 * then a second one, loaded last, that allows every syscall libseccomp can name and answers
 * ENOSYS for the rest; for two ERRNO answers the kernel takes the newest filter's, for ERRNO
 * against ALLOW the ERRNO. clone3 is answered ENOSYS by the profile itself (unless the
 * container has CAP_SYS_ADMIN) so that glibc falls back to clone, whose namespace flags the
 * profile can inspect. Architectures: the native one plus its compat ABIs (x86 and x32 on
 * x86_64, arm on aarch64); a syscall from any other ABI kills the process. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include <linux/filter.h>

struct err;

/* The largest profile file accepted (R10). TODO(berth): move to core/limits.h. */
#define SECCOMP_PROFILE_MAX (1024 * 1024)

enum seccomp_mode {
    SECCOMP_MODE_DEFAULT = 0, /* berth's built-in profile */
    SECCOMP_MODE_UNCONFINED,  /* no filter at all */
    SECCOMP_MODE_FILE,        /* a Docker-format JSON profile, kept inline */
};

/* What "--security-opt seccomp=VALUE" asked for. PROFILE_TEXT (NUL-terminated, LEN bytes) is
 * owned by the spec and set only for SECCOMP_MODE_FILE; a zeroed spec is the default. */
struct seccomp_spec {
    int mode; /* enum seccomp_mode */
    char *profile_text;
    size_t len;
};

/* Parse VALUE (the part after "seccomp="): "unconfined", "default" (our name for the built-in
 * profile), or the host path of a JSON profile, which is read (at most SECCOMP_PROFILE_MAX
 * bytes) and validated here so that create rejects a bad profile up front; the text is kept
 * so that the container does not depend on the file later. Blocks on a small file read: call
 * it at create time, in the request handler. On failure S is left zeroed. */
int seccomp_spec_parse(const char *value, struct seccomp_spec *s, struct err *e);

/* Free S's text and zero it. S may be NULL. */
void seccomp_spec_free(struct seccomp_spec *s);

/* Check that TEXT (LEN bytes, a Docker-format profile) parses and that libseccomp accepts
 * every rule, with and without every capability. Builds filters but loads none. Fails with
 * EINVAL and a message naming the first problem (bad JSON, wrong type, unknown action, op,
 * architecture or capability, argument index out of range). Never blocks. */
int seccomp_profile_validate(const char *text, size_t len, struct err *e);

/* Load the built-in profile into the calling process (the container's child, as the last step
 * before exec). CAPS is the container's final capability set (caps_effective_set()): rules
 * gated on a capability (mount and friends on CAP_SYS_ADMIN, reboot on CAP_SYS_BOOT, ...)
 * are included only when CAPS has it. Does not set no_new_privs: the caller sets it first;
 * without it the kernel requires CAP_SYS_ADMIN in the caller (EACCES otherwise), so with
 * "no-new-privileges=false" and a non-root user, load before the uid switch (as runc does).
 * Never blocks; irreversible once it succeeded. */
int seccomp_load_default(uint64_t caps, struct err *e);

/* Load the Docker-format profile TEXT (LEN bytes) like seccomp_load_default(): includes/
 * excludes of "caps" are decided against CAPS, of "arches" and "minKernel" against the
 * running system. The ENOSYS filter for unknown syscalls is added only when the profile's
 * defaultAction is SCMP_ACT_ERRNO and it allows seccomp(2) unconditionally (the second filter
 * could not be loaded otherwise); else unknown syscalls get the default action, as in Docker.
 * Never blocks. */
int seccomp_load_file(const char *text, size_t len, uint64_t caps, struct err *e);

/* Load what S asks for: nothing for unconfined, else one of the two above. */
int seccomp_spec_load(const struct seccomp_spec *s, uint64_t caps, struct err *e);

/* A compiled profile: one or two classic BPF programs, built once in berthd (building with
 * libseccomp costs tens of milliseconds) and loaded by each container's child with two plain
 * seccomp(2) calls. n = 0 for unconfined. */
struct seccomp_bpf {
    struct sock_fprog prog[2];
    int n;
};
int seccomp_compile(const struct seccomp_spec *s, uint64_t caps, struct seccomp_bpf *out,
                    struct err *e);
/* In the child, after no_new_privs (or with CAP_SYS_ADMIN): load the programs in order. */
int seccomp_bpf_load(const struct seccomp_bpf *b, struct err *e);
void seccomp_bpf_free(struct seccomp_bpf *b);
