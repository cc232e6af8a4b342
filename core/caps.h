/* SPDX-License-Identifier: MIT */
/* core/caps.h - container capabilities: parsing of --cap-add/--cap-drop names, the default set
 * (DESIGN.md §11), the final set Docker's rules give, and applying it in the container's child
 * with libcap. Pure computation plus calls that change only the calling process's capability
 * state; no libev, no globals, no logging. */
#pragma once

#include <stddef.h>
#include <stdint.h>

struct err;

/* Bit 63 in add or drop stands for "ALL" (the kernel has no capability 63). */
#define CAPS_ALL (UINT64_C(1) << 63)
/* Bytes enough for caps_format() of any mask with a separator of up to 2 bytes. */
#define CAPS_FORMAT_MAX 1024

/* What the user asked for: bit N of ADD/DROP is capability N, CAPS_ALL is "ALL". PRIVILEGED
 * (--privileged) means every capability the kernel knows, whatever ADD and DROP say. */
struct caps_spec {
    uint64_t add;
    uint64_t drop;
    int privileged;
};

/* Parse a capability name: case-insensitive, with or without "CAP_" ("net_admin",
 * "CAP_NET_ADMIN"), or "ALL". *CAP_OR_ALL gets the capability number, or -1 for ALL. Fails
 * with EINVAL for an unknown name or one the running kernel does not support. */
int caps_parse_name(const char *name, int *cap_or_all, struct err *e);

/* Add NAME to S's drop list (DROP != 0) or add list. Errors as caps_parse_name(). */
int caps_spec_add(struct caps_spec *s, const char *name, int drop, struct err *e);

/* The 14 defaults: CHOWN DAC_OVERRIDE FSETID FOWNER MKNOD NET_RAW SETGID SETUID SETFCAP SETPCAP
 * NET_BIND_SERVICE SYS_CHROOT KILL AUDIT_WRITE. */
uint64_t caps_default(void);

/* Every capability the running kernel knows (bits 0 .. cap_max_bits() - 1). */
uint64_t caps_all(void);

/* The container's final set, as Docker computes it: privileged -> all; add ALL -> all minus
 * the dropped ones; drop ALL -> only the added ones; otherwise (defaults minus drop) plus add
 * (so "--cap-add X --cap-drop X" keeps X, as in Docker). Always a subset of caps_all(). */
uint64_t caps_effective_set(const struct caps_spec *s);

/* What a non-root user gets in its effective and ambient sets: exactly the added capabilities
 * (all of the final set with --cap-add ALL; none with --privileged alone, as in Docker). */
uint64_t caps_added_set(const struct caps_spec *s);

/* Step 1 of 2, in the container's child while still uid 0 with full capabilities, right
 * before setgroups/setgid/setuid: drop every capability outside caps_effective_set(S) from the
 * bounding set, and when NON_ROOT (the target uid is not 0) set PR_SET_KEEPCAPS so that the
 * permitted set survives setuid(). Changes only the calling process; never blocks. */
int caps_before_setuid(const struct caps_spec *s, int non_root, struct err *e);

/* Step 2 of 2, right after setuid() and before no_new_privs, seccomp and exec. With F the
 * final set: uid 0 -> permitted = effective = inheritable = F, ambient empty. Non-root ->
 * permitted = inheritable = F, effective = ambient = caps_added_set(S) (ambient is what makes
 * --cap-add survive exec for a non-root user), and PR_SET_KEEPCAPS is cleared again. After
 * exec a non-root process therefore has exactly the added capabilities effective. Changes only
 * the calling process; never blocks. */
int caps_after_setuid(const struct caps_spec *s, int non_root, struct err *e);

/* "CAP_CHOWN" for 0; a static string, NULL for a number no name is known for. */
const char *caps_name(int cap);

/* Write the names of MASK's capabilities ("CAP_CHOWN", ...) joined by SEP into BUF, in
 * capability order; bits without a name are skipped, CAPS_ALL is written as "ALL". Fails with
 * ENAMETOOLONG when BUF is too small (CAPS_FORMAT_MAX always suffices). */
int caps_format(uint64_t mask, const char *sep, char *buf, size_t size, struct err *e);
