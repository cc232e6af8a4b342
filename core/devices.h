/* SPDX-License-Identifier: MIT */
/* core/devices.h - the devices a container may use: Docker's default rule table (the single
 * source, for the v1 devices controller and for cgroup v2), the v1 rule syntax, and the
 * BPF_CGROUP_DEVICE program that enforces a rule list on a cgroup v2 group. Keeps no mutable
 * globals, registers no watchers, never logs and never allocates; the only kernel calls are
 * bpf(2) round trips in devices_bpf_load and devices_bpf_attach (bounded: allowed on the loop
 * by STYLE R7). Errors via struct err. */
#pragma once

#include <stddef.h>

struct bpf_insn;
struct err;

/* Access bits: the values of the kernel's BPF_DEVCG_ACC_* (checked in devices.c). */
#define DEVICES_MKNOD 1u
#define DEVICES_READ  2u
#define DEVICES_WRITE 4u
#define DEVICES_RWM   (DEVICES_READ | DEVICES_WRITE | DEVICES_MKNOD)

#define DEVICES_ANY        (-1)    /* major or minor wildcard ("*") */
#define DEVICES_MAJOR_MAX  4095    /* the kernel's dev_t: 12-bit major ... */
#define DEVICES_MINOR_MAX  1048575 /* ... and 20-bit minor */
#define DEVICES_RULE_MAX   32      /* bytes of one v1 rule string, NUL included */
#define DEVICES_RULES_MAX  128     /* rules in one program */
#define DEVICES_LOG_MAX    4096    /* bytes of verifier log read back on a failed load */
#define DEVICES_LOAD_TRIES 5       /* BPF_PROG_LOAD attempts while it fails with EAGAIN */

/* Instructions of a program for DEVICES_RULES_MAX rules: a 6-instruction prologue, at most
 * 8 per rule, a 2-instruction deny. Well under the kernel's BPF_MAXINSNS (4096). */
#define DEVICES_INSNS_PER_RULE 8
#define DEVICES_INSNS_MAX      (6 + DEVICES_INSNS_PER_RULE * DEVICES_RULES_MAX + 2)

/* One allow rule. TYPE 'a' matches both block and character devices. */
struct devices_rule {
    char type;        /* 'a', 'b', 'c' */
    int major, minor; /* 0..DEVICES_MAJOR_MAX / 0..DEVICES_MINOR_MAX, DEVICES_ANY = any */
    unsigned access;  /* DEVICES_READ|DEVICES_WRITE|DEVICES_MKNOD, not 0 */
};

/* Docker's default allow list in v1 syntax (what is written to devices.allow after "a" to
 * devices.deny): every node may be created (mknod), only these opened. Read-only table. */
extern const char *const devices_default_allow[];
extern const size_t devices_default_n;

/* Parse one v1 rule: "TYPE MAJOR:MINOR ACCESS" with single spaces, TYPE b or c, MAJOR and
 * MINOR decimal or "*", ACCESS 1-3 distinct letters of r, w, m; or "a" alone (every device,
 * rwm). Strict: no other whitespace, signs or trailing text. EINVAL with the rule and the
 * reason in the message (no strerror text, fit for users). Pure. */
int devices_parse_rule(const char *s, struct devices_rule *r, struct err *e);

/* Access letters S (N bytes: 1-3 distinct of r, w, m) into *ACCESS: 0, or -1 for another
 * letter, -2 for a repeated one, -3 for none. Pure. */
int devices_parse_access(const char *s, size_t n, unsigned *access);
/* ACCESS as letters in the order r, w, m ("" for none). Pure. */
void devices_format_access(unsigned access, char buf[4]);

/* Format R in the v1 syntax devices_parse_rule reads ("c 1:3 rwm", "b *:* m", "a") into BUF
 * (DEVICES_RULE_MAX suffices). EINVAL for an invalid rule. Pure. */
int devices_format_rule(const struct devices_rule *r, char *buf, size_t size, struct err *e);

/* Parse devices_default_allow into OUT (MAX entries; E2BIG when too small), *N the count. */
int devices_default_rules(struct devices_rule *out, size_t max, size_t *n, struct err *e);

/* Assemble a BPF_PROG_TYPE_CGROUP_DEVICE program into OUT (MAX instructions, *LEN the count)
 * that returns 1 (allow) when a rule of RULES matches the request (type and major/minor equal
 * or wildcarded, the requested access a subset of the rule's) and 0 (deny) otherwise; with
 * N = 0 it denies everything. EINVAL for an invalid rule or N > DEVICES_RULES_MAX, E2BIG when
 * MAX is too small (DEVICES_INSNS_MAX always suffices). Pure. */
int devices_bpf_build(const struct devices_rule *rules, size_t n, struct bpf_insn *out, size_t max,
                      size_t *len, struct err *e);

/* Load INSNS (LEN instructions) as a BPF_PROG_TYPE_CGROUP_DEVICE program with bpf(2). Returns
 * the program fd (close-on-exec; the caller owns it) or -1 with the load's errno and, when the
 * verifier gave one, its verdict line in the message. Needs CAP_BPF/CAP_SYS_ADMIN. */
int devices_bpf_load(const struct bpf_insn *insns, size_t len, struct err *e);

/* Build and load the program for RULES and attach it to the cgroup v2 directory
 * CGROUP_DIRFD (not taken over) as BPF_CGROUP_DEVICE with BPF_F_ALLOW_MULTI, so programs of
 * ancestors still apply and all must allow. The program fd is closed before returning: the
 * attachment keeps the program until the group is removed. */
int devices_bpf_attach(int cgroup_dirfd, const struct devices_rule *rules, size_t n, struct err *e);
