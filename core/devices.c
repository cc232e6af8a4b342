/* SPDX-License-Identifier: MIT */
/* core/devices.c - device rules: the default table, the v1 syntax and the cgroup v2 device
 * program (see devices.h). The program is assembled here from struct bpf_insn (there is no
 * BPF library among berth's dependencies) and loaded with the raw bpf(2) syscall. No libev,
 * no mutable globals, no logging, no allocation. */
#include "core/devices.h"

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/bpf.h>

#include "core/err.h"
#include "core/util.h"

_Static_assert(DEVICES_MKNOD == BPF_DEVCG_ACC_MKNOD && DEVICES_READ == BPF_DEVCG_ACC_READ &&
                   DEVICES_WRITE == BPF_DEVCG_ACC_WRITE,
               "DEVICES_* access bits are the kernel's");

/* Docker's defaults: mknod of anything; open only the null, zero, full, random, urandom,
 * tty, console and ptmx nodes, the pty slaves (136:*) and tun (10:200). */
const char *const devices_default_allow[] = {
    "c *:* m",   "b *:* m",   "c 1:3 rwm", "c 1:5 rwm", "c 1:7 rwm",   "c 1:8 rwm",
    "c 1:9 rwm", "c 5:0 rwm", "c 5:1 rwm", "c 5:2 rwm", "c 136:* rwm", "c 10:200 rwm",
};
const size_t devices_default_n = ARRAY_LEN(devices_default_allow);

/* ---- the v1 syntax ---- */

/* S (at most DEVICES_RULE_MAX bytes) with anything unprintable as '?', for a message. */
static void quote_rule(const char *s, char *buf, size_t size)
{
    size_t i = 0;
    for (; i + 1 < size && s[i]; i++)
        buf[i] = s[i] >= 0x20 && s[i] < 0x7f ? s[i] : '?';
    buf[i] = '\0';
}

/* A refused rule: EINVAL with a message for users (no strerror text). */
static int bad_rule(struct err *e, const char *s, const char *why)
{
    char q[DEVICES_RULE_MAX + 1];
    quote_rule(s, q, sizeof q);
    err_set(e, 0, "invalid device rule '%s': %s", q, why);
    e->code = EINVAL;
    return -1;
}

/* "*" or a decimal number up to MAX at P: the end of it, or NULL. */
static const char *parse_num(const char *p, int max, int *out)
{
    if (*p == '*') {
        *out = DEVICES_ANY;
        return p + 1;
    }
    if (*p < '0' || *p > '9')
        return NULL;
    long v = 0;
    for (; *p >= '0' && *p <= '9'; p++) {
        v = v * 10 + (*p - '0');
        if (v > max)
            return NULL;
    }
    *out = (int)v;
    return p;
}

static unsigned access_bit(char c)
{
    switch (c) {
    case 'r':
        return DEVICES_READ;
    case 'w':
        return DEVICES_WRITE;
    case 'm':
        return DEVICES_MKNOD;
    default:
        return 0;
    }
}

int devices_parse_rule(const char *s, struct devices_rule *r, struct err *e)
{
    size_t len = strnlen(s, DEVICES_RULE_MAX);
    if (len == 0)
        return bad_rule(e, s, "empty");
    if (len == DEVICES_RULE_MAX)
        return bad_rule(e, s, "too long");
    struct devices_rule v = {.type = s[0]};
    if (v.type == 'a') {
        if (s[1] != '\0')
            return bad_rule(e, s, "type 'a' takes no device numbers or access");
        *r = (struct devices_rule){'a', DEVICES_ANY, DEVICES_ANY, DEVICES_RWM};
        return 0;
    }
    if (v.type != 'b' && v.type != 'c')
        return bad_rule(e, s, "type must be a, b or c");
    if (s[1] != ' ')
        return bad_rule(e, s, "expected one space after the type");
    const char *p = parse_num(s + 2, DEVICES_MAJOR_MAX, &v.major);
    if (!p)
        return bad_rule(e, s, "major must be * or a number up to 4095");
    if (*p != ':')
        return bad_rule(e, s, "expected ':' after the major");
    p = parse_num(p + 1, DEVICES_MINOR_MAX, &v.minor);
    if (!p)
        return bad_rule(e, s, "minor must be * or a number up to 1048575");
    if (*p != ' ')
        return bad_rule(e, s, "expected one space before the access");
    switch (devices_parse_access(p + 1, strlen(p + 1), &v.access)) {
    case -1:
        return bad_rule(e, s, "access must be letters of r, w and m");
    case -2:
        return bad_rule(e, s, "access letter repeated");
    case -3:
        return bad_rule(e, s, "no access letters");
    }
    *r = v;
    return 0;
}

int devices_parse_access(const char *s, size_t n, unsigned *access)
{
    unsigned acc = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned bit = access_bit(s[i]);
        if (!bit)
            return -1;
        if (acc & bit)
            return -2;
        acc |= bit;
    }
    if (!acc)
        return -3;
    *access = acc;
    return 0;
}

void devices_format_access(unsigned access, char buf[4])
{
    size_t k = 0;
    if (access & DEVICES_READ)
        buf[k++] = 'r';
    if (access & DEVICES_WRITE)
        buf[k++] = 'w';
    if (access & DEVICES_MKNOD)
        buf[k++] = 'm';
    buf[k] = '\0';
}

int devices_format_rule(const struct devices_rule *r, char *buf, size_t size, struct err *e)
{
    char maj[12], min[12], acc[4];
    if (r->type == 'a')
        return util_fmt(buf, size, e, "a");
    if ((r->type != 'b' && r->type != 'c') || r->major < DEVICES_ANY ||
        r->major > DEVICES_MAJOR_MAX || r->minor < DEVICES_ANY || r->minor > DEVICES_MINOR_MAX ||
        !r->access || (r->access & ~DEVICES_RWM))
        return err_set(e, EINVAL, "invalid device rule");
    (void)snprintf(maj, sizeof maj, r->major == DEVICES_ANY ? "*" : "%d", r->major);
    (void)snprintf(min, sizeof min, r->minor == DEVICES_ANY ? "*" : "%d", r->minor);
    devices_format_access(r->access, acc);
    return util_fmt(buf, size, e, "%c %s:%s %s", r->type, maj, min, acc);
}

int devices_default_rules(struct devices_rule *out, size_t max, size_t *n, struct err *e)
{
    if (devices_default_n > max)
        return err_set(e, E2BIG, "default device rules: %zu rules, room for %zu", devices_default_n,
                       max);
    for (size_t i = 0; i < devices_default_n; i++)
        if (devices_parse_rule(devices_default_allow[i], &out[i], e) < 0)
            return err_wrap(e, "default device rules");
    *n = devices_default_n;
    return 0;
}

/* ---- the program ---- */

/* Registers: R1 the context on entry (then scratch), R2 device type, R3 requested access,
 * R4 major, R5 minor, R0 the verdict. */
#define INSN(c, d, s, o, i)                                                                        \
    ((struct bpf_insn){.code = (c), .dst_reg = (d), .src_reg = (s), .off = (o), .imm = (i)})
#define LDX_W(dst, src, off) INSN(BPF_LDX | BPF_MEM | BPF_W, dst, src, off, 0)
#define MOV64_X(dst, src)    INSN(BPF_ALU64 | BPF_MOV | BPF_X, dst, src, 0, 0)
#define MOV64_K(dst, imm)    INSN(BPF_ALU64 | BPF_MOV | BPF_K, dst, 0, 0, imm)
#define MOV32_X(dst, src)    INSN(BPF_ALU | BPF_MOV | BPF_X, dst, src, 0, 0)
#define AND32_K(dst, imm)    INSN(BPF_ALU | BPF_AND | BPF_K, dst, 0, 0, imm)
#define RSH32_K(dst, imm)    INSN(BPF_ALU | BPF_RSH | BPF_K, dst, 0, 0, imm)
#define JNE_K(dst, imm)      INSN(BPF_JMP | BPF_JNE | BPF_K, dst, 0, 0, imm) /* off patched */
#define JNE_X(dst, src)      INSN(BPF_JMP | BPF_JNE | BPF_X, dst, src, 0, 0) /* off patched */
#define EXIT_INSN()          INSN(BPF_JMP | BPF_EXIT, 0, 0, 0, 0)

#define CTX_OFF(f) ((short)offsetof(struct bpf_cgroup_dev_ctx, f))

/* A bounded instruction buffer: emits past MAX are counted, not written. */
struct asm_buf {
    struct bpf_insn *out;
    size_t max, len;
};

static size_t emit(struct asm_buf *a, struct bpf_insn insn)
{
    if (a->len < a->max)
        a->out[a->len] = insn;
    return a->len++;
}

static int rule_valid(const struct devices_rule *r)
{
    return (r->type == 'a' || r->type == 'b' || r->type == 'c') && r->major >= DEVICES_ANY &&
           r->major <= DEVICES_MAJOR_MAX && r->minor >= DEVICES_ANY &&
           r->minor <= DEVICES_MINOR_MAX && r->access != 0 && (r->access & ~DEVICES_RWM) == 0;
}

/* One rule: each check that fails jumps to the next rule's block; passing all allows. */
static void emit_rule(struct asm_buf *a, const struct devices_rule *r)
{
    size_t jumps[4], nj = 0;
    if (r->type != 'a')
        jumps[nj++] =
            emit(a, JNE_K(BPF_REG_2, r->type == 'b' ? BPF_DEVCG_DEV_BLOCK : BPF_DEVCG_DEV_CHAR));
    /* requested access & rule access == requested access: a subset */
    emit(a, MOV32_X(BPF_REG_1, BPF_REG_3));
    emit(a, AND32_K(BPF_REG_1, (int)r->access));
    jumps[nj++] = emit(a, JNE_X(BPF_REG_1, BPF_REG_3));
    if (r->major != DEVICES_ANY)
        jumps[nj++] = emit(a, JNE_K(BPF_REG_4, r->major));
    if (r->minor != DEVICES_ANY)
        jumps[nj++] = emit(a, JNE_K(BPF_REG_5, r->minor));
    emit(a, MOV64_K(BPF_REG_0, 1));
    emit(a, EXIT_INSN());
    for (size_t i = 0; i < nj; i++)
        if (jumps[i] < a->max) /* a jump lands on the first instruction after this block */
            a->out[jumps[i]].off = (short)(a->len - jumps[i] - 1);
}

int devices_bpf_build(const struct devices_rule *rules, size_t n, struct bpf_insn *out, size_t max,
                      size_t *len, struct err *e)
{
    if (n > DEVICES_RULES_MAX)
        return err_set(e, EINVAL, "device program: %zu rules, at most %d", n, DEVICES_RULES_MAX);
    for (size_t i = 0; i < n; i++)
        if (!rule_valid(&rules[i]))
            return err_set(e, EINVAL, "device program: rule %zu ('%c' %d:%d access %#x)", i,
                           rules[i].type >= 0x20 && rules[i].type < 0x7f ? rules[i].type : '?',
                           rules[i].major, rules[i].minor, rules[i].access);

    struct asm_buf a = {.out = out, .max = max};
    /* access_type is (access << 16) | type; the 32-bit ALU clears the upper halves */
    emit(&a, LDX_W(BPF_REG_2, BPF_REG_1, CTX_OFF(access_type)));
    emit(&a, MOV64_X(BPF_REG_3, BPF_REG_2));
    emit(&a, AND32_K(BPF_REG_2, 0xffff));
    emit(&a, RSH32_K(BPF_REG_3, 16));
    emit(&a, LDX_W(BPF_REG_4, BPF_REG_1, CTX_OFF(major)));
    emit(&a, LDX_W(BPF_REG_5, BPF_REG_1, CTX_OFF(minor)));
    for (size_t i = 0; i < n; i++)
        emit_rule(&a, &rules[i]);
    emit(&a, MOV64_K(BPF_REG_0, 0));
    emit(&a, EXIT_INSN());
    if (a.len > max)
        return err_set(e, E2BIG, "device program: %zu instructions, room for %zu", a.len, max);
    *len = a.len;
    return 0;
}

static int sys_bpf(int cmd, union bpf_attr *attr)
{
    return (int)syscall(SYS_bpf, cmd, attr, sizeof *attr);
}

/* The verifier's verdict in LOG: the last line before its "processed N insns" summary (the
 * first lines trace instructions). Cuts LOG; "" when there is none. */
static const char *log_verdict(char *log, size_t size)
{
    log[size - 1] = '\0';
    char *last = NULL;
    for (char *line = log, *next; *line; line = next) {
        next = strchr(line, '\n');
        if (next)
            *next++ = '\0';
        else
            next = line + strlen(line);
        if (*line && strncmp(line, "processed ", 10) != 0)
            last = line;
    }
    return last ? last : "";
}

int devices_bpf_load(const struct bpf_insn *insns, size_t len, struct err *e)
{
    if (len == 0 || len > DEVICES_INSNS_MAX)
        return err_set(e, EINVAL, "load device program of %zu instructions", len);
    union bpf_attr attr;
    memset(&attr, 0, sizeof attr);
    attr.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
    attr.insns = (uint64_t)(uintptr_t)insns;
    attr.insn_cnt = (uint32_t)len;
    attr.license = (uint64_t)(uintptr_t) "MIT";
    memcpy(attr.prog_name, "berth_devices", sizeof "berth_devices");
    /* bpf(2) program fds are always close-on-exec */
    /* the verifier gives up with EAGAIN when a signal arrives meanwhile (a dying orphan's
     * SIGCHLD): try again, as libbpf does, a bounded number of times */
    int fd, tries = 0;
    do
        fd = sys_bpf(BPF_PROG_LOAD, &attr);
    while (fd < 0 && errno == EAGAIN && ++tries < DEVICES_LOAD_TRIES);
    if (fd >= 0)
        return fd;
    int code = errno;
    /* Only now with a log: a log that overflows its buffer fails even a good program
     * (ENOSPC), and the kernel keeps the log's tail, where the verdict is. */
    char log[DEVICES_LOG_MAX];
    log[0] = '\0';
    attr.log_level = 1;
    attr.log_buf = (uint64_t)(uintptr_t)log;
    attr.log_size = sizeof log;
    fd = sys_bpf(BPF_PROG_LOAD, &attr);
    if (fd >= 0) /* the first failure was transient */
        return fd;
    const char *verdict = log_verdict(log, sizeof log);
    if (!verdict[0])
        return err_set(e, code, "load device program");
    return err_set(e, code, "load device program: verifier: %s", verdict);
}

int devices_bpf_attach(int cgroup_dirfd, const struct devices_rule *rules, size_t n, struct err *e)
{
    struct bpf_insn insns[DEVICES_INSNS_MAX];
    size_t len = 0;
    if (devices_bpf_build(rules, n, insns, ARRAY_LEN(insns), &len, e) < 0)
        return -1;
    auto_close int prog_fd = devices_bpf_load(insns, len, e);
    if (prog_fd < 0)
        return -1;
    union bpf_attr attr;
    memset(&attr, 0, sizeof attr);
    attr.target_fd = (uint32_t)cgroup_dirfd;
    attr.attach_bpf_fd = (uint32_t)prog_fd;
    attr.attach_type = BPF_CGROUP_DEVICE;
    attr.attach_flags = BPF_F_ALLOW_MULTI;
    if (sys_bpf(BPF_PROG_ATTACH, &attr) < 0)
        return err_set(e, errno, "attach device program to cgroup");
    return 0;
}
