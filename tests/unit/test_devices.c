/* SPDX-License-Identifier: MIT */
/* tests/unit/test_devices.c - core/devices.c: the v1 rule parser (valid rules and strict
 * rejections), the default table, and the BPF generator, run on a small interpreter and
 * compared with a reference matcher for every request of a grid; then, as root with a cgroup2
 * mount, the real kernel: verifier errors, a program attached to a test group (mknod of
 * anything, open of /dev/null only), a control group without a program, a read-only rule,
 * and cgroup_create's v2 path (program attached; none with all_devices). Only directories
 * made here are touched; they and the temporary nodes are removed at exit, also on failure. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <linux/bpf.h>

#include "core/cgroup.h"
#include "core/devices.h"
#include "core/err.h"
#include "core/util.h"
#include "tests/unit/tap.h"

/* ---- parser ---- */

static int rule_is(const struct devices_rule *r, char type, int major, int minor, unsigned acc)
{
    return r->type == type && r->major == major && r->minor == minor && r->access == acc;
}

static void test_parse(void)
{
    struct devices_rule r;
    struct err e = {0};
    const unsigned RWM = DEVICES_RWM;

    ok(devices_parse_rule("c 1:3 rwm", &r, &e) == 0 && rule_is(&r, 'c', 1, 3, RWM), "c 1:3 rwm");
    ok(devices_parse_rule("c *:* m", &r, &e) == 0 &&
           rule_is(&r, 'c', DEVICES_ANY, DEVICES_ANY, DEVICES_MKNOD),
       "c *:* m");
    ok(devices_parse_rule("b 7:* r", &r, &e) == 0 && rule_is(&r, 'b', 7, DEVICES_ANY, DEVICES_READ),
       "b 7:* r");
    ok(devices_parse_rule("a", &r, &e) == 0 && rule_is(&r, 'a', DEVICES_ANY, DEVICES_ANY, RWM),
       "a alone is every device, rwm");
    ok(devices_parse_rule("c 4095:1048575 w", &r, &e) == 0 &&
           rule_is(&r, 'c', 4095, 1048575, DEVICES_WRITE),
       "largest major and minor");
    ok(devices_parse_rule("b 0:0 mr", &r, &e) == 0 &&
           rule_is(&r, 'b', 0, 0, DEVICES_MKNOD | DEVICES_READ),
       "zero numbers, letters in any order");
    ok(devices_parse_rule("c 010:0200 wr", &r, &e) == 0 &&
           rule_is(&r, 'c', 10, 200, DEVICES_READ | DEVICES_WRITE),
       "leading zeros are decimal (as the kernel reads them)");

    static const struct {
        const char *s, *why;
    } bad[] = {
        {"", "empty"},
        {"x 1:3 rwm", "type must be"},
        {"C 1:3 rwm", "type must be"},
        {"c", "one space after the type"},
        {"c ", "major must be"},
        {"c  1:3 rwm", "major must be"},
        {"c\t1:3 rwm", "one space after the type"},
        {" c 1:3 rwm", "type must be"},
        {"c 1:3", "one space before the access"},
        {"c 1:3 ", "no access letters"},
        {"c 1:3  r", "letters of r, w and m"},
        {"c 1:3 rwx", "letters of r, w and m"},
        {"c 1:3 rr", "repeated"},
        {"c 1:3 rwmr", "repeated"},
        {"c 1:3 rwm\n", "letters of r, w and m"},
        {"c 1:3 rwm ", "letters of r, w and m"},
        {"c 4096:0 r", "major must be"},
        {"c 1:1048576 r", "minor must be"},
        {"c 99999999999999999999:1 r", "major must be"},
        {"c -1:3 r", "major must be"},
        {"c +1:3 r", "major must be"},
        {"c 1;3 r", "expected ':'"},
        {"c 1 3 r", "expected ':'"},
        {"c :3 r", "major must be"},
        {"c 1: r", "minor must be"},
        {"c 1:** r", "one space before the access"},
        {"c 0x1:3 r", "expected ':'"},
        {"a *:* rwm", "type 'a' takes no"},
        {"a ", "type 'a' takes no"},
        {"c 1:3 rwm and then some more text", "too long"},
    };
    for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
        memset(&e, 0, sizeof e);
        r = (struct devices_rule){'z', 42, 42, 42};
        int rc = devices_parse_rule(bad[i].s, &r, &e);
        ok(rc < 0 && e.code == EINVAL && strstr(e.msg, bad[i].why) &&
               strstr(e.msg, "invalid device rule '") && !strstr(e.msg, "Invalid argument") &&
               rule_is(&r, 'z', 42, 42, 42),
           "rejected %zu: %s", i, e.msg);
    }
    memset(&e, 0, sizeof e);
    ok(devices_parse_rule("c 1:3 r\x01\x7f", &r, &e) < 0 && strstr(e.msg, "'c 1:3 r?"
                                                                          "?'"),
       "unprintable bytes are not copied into the message: %s", e.msg);

    struct devices_rule rules[DEVICES_RULES_MAX];
    size_t n = 0;
    ok(devices_default_n == 12 && devices_default_rules(rules, ARRAY_LEN(rules), &n, &e) == 0 &&
           n == devices_default_n,
       "the default table parses (%zu rules)", n);
    ok(rule_is(&rules[0], 'c', DEVICES_ANY, DEVICES_ANY, DEVICES_MKNOD) &&
           rule_is(&rules[1], 'b', DEVICES_ANY, DEVICES_ANY, DEVICES_MKNOD) &&
           rule_is(&rules[2], 'c', 1, 3, RWM) && rule_is(&rules[10], 'c', 136, DEVICES_ANY, RWM),
       "default rules: mknod of anything, /dev/null, the pty slaves");
    ok(devices_default_rules(rules, 3, &n, &e) < 0 && e.code == E2BIG,
       "default rules into a short array: E2BIG");

    /* formatting is parsing's inverse, for every default rule */
    char buf[DEVICES_RULE_MAX];
    int same = 1;
    for (size_t i = 0; i < devices_default_n; i++) {
        struct devices_rule back;
        same &= devices_format_rule(&rules[i], buf, sizeof buf, &e) == 0 &&
                devices_parse_rule(buf, &back, &e) == 0 &&
                strcmp(buf, devices_default_allow[i]) == 0;
    }
    ok(same, "format_rule gives back every default rule's text");
    r = (struct devices_rule){'b', 7, 3, DEVICES_READ | DEVICES_MKNOD};
    ok(devices_format_rule(&r, buf, sizeof buf, &e) == 0 && strcmp(buf, "b 7:3 rm") == 0,
       "format b 7:3 rm (%s)", buf);
    r = (struct devices_rule){'a', DEVICES_ANY, DEVICES_ANY, RWM};
    ok(devices_format_rule(&r, buf, sizeof buf, &e) == 0 && strcmp(buf, "a") == 0, "format a");
    r = (struct devices_rule){'c', 1, 3, 0};
    ok(devices_format_rule(&r, buf, sizeof buf, &e) < 0, "format refuses no access");
    r = (struct devices_rule){'x', 1, 3, RWM};
    ok(devices_format_rule(&r, buf, sizeof buf, &e) < 0, "format refuses type x");
    r = (struct devices_rule){'c', 4096, 3, RWM};
    ok(devices_format_rule(&r, buf, sizeof buf, &e) < 0, "format refuses major 4096");
    unsigned acc = 0;
    ok(devices_parse_access("mr", 2, &acc) == 0 && acc == (DEVICES_READ | DEVICES_MKNOD),
       "parse_access mr");
    ok(devices_parse_access("rr", 2, &acc) == -2 && devices_parse_access("rx", 2, &acc) == -1 &&
           devices_parse_access("", 0, &acc) == -3,
       "parse_access refuses repeats, other letters, nothing");
    char letters[4];
    devices_format_access(DEVICES_MKNOD | DEVICES_WRITE, letters);
    ok(strcmp(letters, "wm") == 0, "format_access wm");
}

/* ---- generator, run on an interpreter of the instructions it uses ---- */

#define CTX_PTR 0xc0c0c0c0c0c0c0c0ULL /* R1 on entry: only loads through it reach the context */
#define R0_INIT 0xdeadULL             /* an exit without setting R0 shows up as this */

/* 1 allow, 0 deny, -1 an instruction or access the generator should never produce, -2 no
 * exit. Jumps must go forward, so at most LEN steps run. */
static int run_prog(const struct bpf_insn *p, size_t len, const struct bpf_cgroup_dev_ctx *ctx)
{
    uint64_t r[MAX_BPF_REG] = {[0] = R0_INIT, [1] = CTX_PTR};
    size_t pc = 0;
    for (size_t step = 0; step < len && pc < len; step++) {
        const struct bpf_insn *i = &p[pc++];
        if (i->dst_reg >= MAX_BPF_REG || i->src_reg >= MAX_BPF_REG)
            return -1;
        uint64_t *d = &r[i->dst_reg];
        uint64_t src = BPF_SRC(i->code) == BPF_X ? r[i->src_reg] : (uint64_t)(int64_t)i->imm;
        switch (i->code) {
        case BPF_LDX | BPF_MEM | BPF_W:
            if (r[i->src_reg] != CTX_PTR)
                return -1;
            if (i->off == offsetof(struct bpf_cgroup_dev_ctx, access_type))
                *d = ctx->access_type;
            else if (i->off == offsetof(struct bpf_cgroup_dev_ctx, major))
                *d = ctx->major;
            else if (i->off == offsetof(struct bpf_cgroup_dev_ctx, minor))
                *d = ctx->minor;
            else
                return -1;
            break;
        case BPF_ALU64 | BPF_MOV | BPF_X:
        case BPF_ALU64 | BPF_MOV | BPF_K:
            *d = src;
            break;
        case BPF_ALU | BPF_MOV | BPF_X:
            *d = (uint32_t)src;
            break;
        case BPF_ALU | BPF_AND | BPF_K:
            *d = (uint32_t)(*d & src);
            break;
        case BPF_ALU | BPF_RSH | BPF_K:
            *d = (uint32_t)*d >> (src & 31);
            break;
        case BPF_JMP | BPF_JNE | BPF_K:
        case BPF_JMP | BPF_JNE | BPF_X:
            if (i->off < 0 || pc + (size_t)i->off >= len)
                return -1;
            if (*d != src)
                pc += (size_t)i->off;
            break;
        case BPF_JMP | BPF_EXIT:
            return r[0] == 0 || r[0] == 1 ? (int)r[0] : -1;
        default:
            return -1;
        }
    }
    return -2;
}

static int ref_allows(const struct devices_rule *rules, size_t n, char type, int major, int minor,
                      unsigned access)
{
    for (size_t i = 0; i < n; i++) {
        const struct devices_rule *r = &rules[i];
        if ((r->type == 'a' || r->type == type) && (r->major == DEVICES_ANY || r->major == major) &&
            (r->minor == DEVICES_ANY || r->minor == minor) && (access & ~r->access) == 0)
            return 1;
    }
    return 0;
}

static int prog_allows(const struct bpf_insn *p, size_t len, char type, int major, int minor,
                       unsigned access)
{
    struct bpf_cgroup_dev_ctx ctx = {
        .access_type = access << 16 | (type == 'b' ? BPF_DEVCG_DEV_BLOCK : BPF_DEVCG_DEV_CHAR),
        .major = (uint32_t)major,
        .minor = (uint32_t)minor,
    };
    return run_prog(p, len, &ctx);
}

/* Requests over a grid of types, numbers and every non-empty access: how many disagree with
 * the reference (or do not run). */
static int grid_mismatches(const struct devices_rule *rules, size_t n, const struct bpf_insn *p,
                           size_t len, int *requests)
{
    static const int majors[] = {0, 1, 4, 5, 7, 8, 10, 136, 4095};
    static const int minors[] = {0, 1, 2, 3, 5, 7, 8, 9, 11, 200, 201, 1048575};
    static const char types[] = {'b', 'c'};
    int bad = 0;
    *requests = 0;
    for (size_t t = 0; t < ARRAY_LEN(types); t++)
        for (size_t a = 0; a < ARRAY_LEN(majors); a++)
            for (size_t b = 0; b < ARRAY_LEN(minors); b++)
                for (unsigned acc = 1; acc <= DEVICES_RWM; acc++) {
                    ++*requests;
                    if (prog_allows(p, len, types[t], majors[a], minors[b], acc) !=
                        ref_allows(rules, n, types[t], majors[a], minors[b], acc))
                        bad++;
                }
    return bad;
}

static int ends_in_deny(const struct bpf_insn *p, size_t len)
{
    return len >= 2 && p[len - 2].code == (BPF_ALU64 | BPF_MOV | BPF_K) &&
           p[len - 2].dst_reg == BPF_REG_0 && p[len - 2].imm == 0 &&
           p[len - 1].code == (BPF_JMP | BPF_EXIT);
}

static int parse_all(const char *const *s, size_t n, struct devices_rule *out)
{
    struct err e = {0};
    for (size_t i = 0; i < n; i++)
        if (devices_parse_rule(s[i], &out[i], &e) < 0) {
            printf("# %s\n", err_str(&e));
            return -1;
        }
    return 0;
}

static void check_set(const char *what, const struct devices_rule *rules, size_t n)
{
    static struct bpf_insn p[DEVICES_INSNS_MAX];
    struct err e = {0};
    size_t len = 0;
    int rc = devices_bpf_build(rules, n, p, ARRAY_LEN(p), &len, &e);
    ok(rc == 0 && len <= 6 + DEVICES_INSNS_PER_RULE * n + 2 && ends_in_deny(p, len),
       "%s: %zu instructions, bounded, ends in a deny: %s", what, len, rc ? err_str(&e) : "ok");
    int requests = 0, bad = grid_mismatches(rules, n, p, len, &requests);
    ok(bad == 0, "%s: %d of %d requests differ from the reference", what, bad, requests);
}

static void test_build(void)
{
    static struct bpf_insn p[DEVICES_INSNS_MAX];
    struct devices_rule rules[DEVICES_RULES_MAX + 1];
    struct err e = {0};
    size_t len = 0, n = 0;

    ok(devices_bpf_build(NULL, 0, p, ARRAY_LEN(p), &len, &e) == 0 && len == 8 &&
           ends_in_deny(p, len) && prog_allows(p, len, 'c', 1, 3, DEVICES_READ) == 0,
       "no rules: prologue and deny only (%zu), denies /dev/null", len);

    ok(devices_default_rules(rules, ARRAY_LEN(rules), &n, &e) == 0, "default rules");
    check_set("defaults", rules, n);
    ok(devices_bpf_build(rules, n, p, ARRAY_LEN(p), &len, &e) == 0, "build the defaults");
    const unsigned R = DEVICES_READ, W = DEVICES_WRITE, M = DEVICES_MKNOD;
    ok(prog_allows(p, len, 'c', 1, 3, R | W) == 1 && prog_allows(p, len, 'c', 5, 2, R | W) == 1 &&
           prog_allows(p, len, 'c', 136, 7, R | W) == 1 &&
           prog_allows(p, len, 'c', 10, 200, R | W | M) == 1,
       "defaults: null, ptmx, a pty slave and tun open");
    ok(prog_allows(p, len, 'c', 1, 1, R) == 0 && prog_allows(p, len, 'c', 1, 11, R) == 0 &&
           prog_allows(p, len, 'b', 7, 0, R) == 0 && prog_allows(p, len, 'c', 10, 201, W) == 0 &&
           prog_allows(p, len, 'b', 8, 0, R | W) == 0,
       "defaults: mem, kmsg, loop0, 10:201 and sda are refused");
    ok(prog_allows(p, len, 'c', 1, 1, M) == 1 && prog_allows(p, len, 'b', 8, 0, M) == 1 &&
           prog_allows(p, len, 'b', 8, 0, M | R) == 0,
       "defaults: mknod of anything, but not mknod with read");

    static const char *const ro[] = {"b 7:* r"};
    ok(parse_all(ro, 1, rules) == 0, "parse b 7:* r");
    check_set("b 7:* r", rules, 1);
    ok(devices_bpf_build(rules, 1, p, ARRAY_LEN(p), &len, &e) == 0 &&
           prog_allows(p, len, 'b', 7, 3, R) == 1 && prog_allows(p, len, 'b', 7, 3, W) == 0 &&
           prog_allows(p, len, 'b', 7, 3, R | W) == 0 && prog_allows(p, len, 'c', 7, 3, R) == 0 &&
           prog_allows(p, len, 'b', 8, 3, R) == 0,
       "b 7:* r: read of loop devices only, and only of block devices");

    static const char *const all[] = {"a"};
    ok(parse_all(all, 1, rules) == 0, "parse a");
    check_set("a", rules, 1);

    static const char *const mixed[] = {"c 1:3 rw", "c *:5 m", "b 8:0 rwm", "c 4095:1048575 r"};
    ok(parse_all(mixed, ARRAY_LEN(mixed), rules) == 0, "parse a mixed set");
    check_set("mixed", rules, ARRAY_LEN(mixed));

    /* the struct form can say more than the v1 syntax: any type with one major */
    rules[0] = (struct devices_rule){'a', 1, DEVICES_ANY, R};
    check_set("a 1:* r (struct only)", rules, 1);

    for (size_t i = 0; i < DEVICES_RULES_MAX + 1; i++)
        rules[i] = (struct devices_rule){'c', 1, 3, DEVICES_RWM};
    ok(devices_bpf_build(rules, DEVICES_RULES_MAX, p, ARRAY_LEN(p), &len, &e) == 0 &&
           len == DEVICES_INSNS_MAX && ends_in_deny(p, len),
       "%d full rules fill DEVICES_INSNS_MAX (%zu) exactly", DEVICES_RULES_MAX, len);
    ok(devices_bpf_build(rules, DEVICES_RULES_MAX + 1, p, ARRAY_LEN(p), &len, &e) < 0 &&
           e.code == EINVAL,
       "more than DEVICES_RULES_MAX rules: %s", err_str(&e));
    ok(devices_bpf_build(rules, 2, p, 23, &len, &e) < 0 && e.code == E2BIG,
       "output one instruction short: E2BIG (%s)", err_str(&e));
    ok(devices_bpf_build(rules, 2, p, 24, &len, &e) == 0 && len == 24 && ends_in_deny(p, len),
       "output of exactly the needed size (6 + 2 * 8 + 2)");

    static const struct devices_rule invalid[] = {
        {'x', 1, 3, DEVICES_RWM},
        {'c', -2, 3, DEVICES_RWM},
        {'c', 4096, 3, DEVICES_RWM},
        {'c', 1, 1048576, DEVICES_RWM},
        {'c', 1, 3, 0},
        {'c', 1, 3, 8},
    };
    for (size_t i = 0; i < ARRAY_LEN(invalid); i++) {
        memset(&e, 0, sizeof e);
        ok(devices_bpf_build(&invalid[i], 1, p, ARRAY_LEN(p), &len, &e) < 0 && e.code == EINVAL,
           "invalid struct rule %zu: %s", i, err_str(&e));
    }
}

/* ---- the real kernel ---- */

enum { G_PROG, G_CTL, G_RO, G_N };
static const char *const group_sfx[G_N] = {"", "-ctl", "-ro"};
static char groups[G_N][PATH_MAX]; /* directories made under the cgroup2 mount */
static char tmpdir[PATH_MAX];
static char cg_names[2][64]; /* cgroup_create'd groups */
static struct cgroup_sys sys, sys2;
static pid_t kid;

static void cleanup(void)
{
    int saved = errno;
    if (kid > 0) {
        (void)kill(kid, SIGKILL);
        (void)waitpid(kid, NULL, 0);
        kid = 0;
    }
    if (tmpdir[0]) {
        DIR *d = opendir(tmpdir);
        struct dirent *de;
        while (d && (de = readdir(d)) != NULL)
            if (de->d_name[0] != '.')
                (void)unlinkat(dirfd(d), de->d_name, 0);
        if (d)
            closedir(d);
        (void)rmdir(tmpdir);
    }
    for (int i = 0; i < G_N; i++)
        if (groups[i][0])
            (void)rmdir(groups[i]);
    for (int i = 0; i < 2; i++) {
        struct err e = {0};
        if (cg_names[i][0])
            (void)cgroup_remove_dir(&sys2, cg_names[i], &e);
    }
    errno = saved;
}

static void on_fatal(int sig)
{
    cleanup();
    _exit(128 + sig);
}

/* The nodes a child makes and opens: null is allowed by the defaults, the rest is not. */
enum { N_NULL, N_MEM, N_KMSG, N_LOOP, N_N };
static const struct {
    const char *name;
    mode_t type;
    unsigned major, minor;
} nodes[N_N] = {
    {"null", S_IFCHR, 1, 3},
    {"mem", S_IFCHR, 1, 1},
    {"kmsg", S_IFCHR, 1, 11},
    {"loop0", S_IFBLK, 7, 0},
};

#define NOT_TRIED (-1)

struct probe {
    int enter;          /* errno of joining the group */
    int mknod[N_N];     /* errno of mknod, 0 when it worked */
    int open_rd[N_N];   /* errno of open O_RDONLY of the new node, NOT_TRIED without one */
    int pre_rd, pre_wr; /* errno of opening the parent's /dev/null node for read, for write */
};

static int errno_of(int rc)
{
    return rc < 0 ? errno : 0;
}

static void probe_child(const char *procs, const char *tag, struct probe *pr)
{
    char path[PATH_MAX + 64];
    auto_close int fd = open(procs, O_WRONLY | O_CLOEXEC);
    pr->enter = fd < 0 ? errno : errno_of((int)write(fd, "0", 1));
    if (pr->enter)
        return;
    for (int i = 0; i < N_N; i++) {
        (void)snprintf(path, sizeof path, "%s/%s-%s", tmpdir, tag, nodes[i].name);
        pr->mknod[i] =
            errno_of(mknod(path, nodes[i].type | 0600, makedev(nodes[i].major, nodes[i].minor)));
        pr->open_rd[i] = NOT_TRIED;
        if (pr->mknod[i] == 0) {
            int nfd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
            pr->open_rd[i] = errno_of(nfd);
            if (nfd >= 0)
                close(nfd);
        }
    }
    (void)snprintf(path, sizeof path, "%s/pre-null", tmpdir);
    int nfd = open(path, O_RDONLY | O_CLOEXEC);
    pr->pre_rd = errno_of(nfd);
    if (nfd >= 0)
        close(nfd);
    nfd = open(path, O_WRONLY | O_CLOEXEC);
    pr->pre_wr = errno_of(nfd);
    if (nfd >= 0)
        close(nfd);
}

/* Fork a child that joins the group at DIR (cgroup.procs) and probes; 0 with *PR filled. */
static int run_probe(const char *dir, const char *tag, struct probe *pr)
{
    char procs[PATH_MAX + 16];
    (void)snprintf(procs, sizeof procs, "%s/cgroup.procs", dir);
    int p[2];
    if (pipe2(p, O_CLOEXEC) < 0)
        return -1;
    fflush(stdout);
    kid = fork();
    if (kid < 0) {
        close(p[0]);
        close(p[1]);
        return -1;
    }
    if (kid == 0) {
        (void)prctl(PR_SET_PDEATHSIG, SIGKILL);
        signal(SIGALRM, SIG_DFL);
        alarm(0);
        struct probe res;
        memset(&res, 0, sizeof res);
        probe_child(procs, tag, &res);
        _exit(write(p[1], &res, sizeof res) == (ssize_t)sizeof res ? 0 : 1);
    }
    close(p[1]);
    struct pollfd pfd = {p[0], POLLIN, 0};
    int got = poll(&pfd, 1, 10000) == 1 && read(p[0], pr, sizeof *pr) == (ssize_t)sizeof *pr;
    close(p[0]);
    int st = 0;
    if (!got)
        (void)kill(kid, SIGKILL);
    pid_t w = waitpid(kid, &st, 0);
    kid = 0;
    return got && w > 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

static int prog_count(const char *dir)
{
    auto_close int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    union bpf_attr a;
    memset(&a, 0, sizeof a);
    a.query.target_fd = (uint32_t)fd;
    a.query.attach_type = BPF_CGROUP_DEVICE;
    if (syscall(SYS_bpf, BPF_PROG_QUERY, &a, sizeof a) < 0)
        return -1;
    return (int)a.query.prog_cnt;
}

static int attach_rules(const char *dir, const struct devices_rule *rules, size_t n, struct err *e)
{
    auto_close int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return err_set(e, errno, "open '%s'", dir);
    return devices_bpf_attach(fd, rules, n, e);
}

static void test_kernel_errors(void)
{
    struct err e = {0};
    /* a load from beyond the end of struct bpf_cgroup_dev_ctx */
    const struct bpf_insn bad[] = {
        {.code = BPF_LDX | BPF_MEM | BPF_W, .dst_reg = 2, .src_reg = 1, .off = 12},
        {.code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = 0, .imm = 1},
        {.code = BPF_JMP | BPF_EXIT},
    };
    int fd = devices_bpf_load(bad, ARRAY_LEN(bad), &e);
    ok(fd < 0 && e.code == EACCES && strstr(e.msg, "verifier: invalid bpf_context access"),
       "the verifier's verdict is in the error: %s", err_str(&e));
    if (fd >= 0)
        close(fd);
    ok(devices_bpf_load(bad, 0, &e) < 0 && e.code == EINVAL, "an empty program is refused");

    struct devices_rule null = {'c', 1, 3, DEVICES_RWM};
    auto_close int dfd = open(tmpdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    memset(&e, 0, sizeof e);
    ok(dfd >= 0 && devices_bpf_attach(dfd, &null, 1, &e) < 0 &&
           strstr(e.msg, "attach device program"),
       "attach to a directory that is no cgroup fails: %s", err_str(&e));
}

static void test_kernel_groups(void)
{
    struct err e = {0};
    struct devices_rule rules[DEVICES_RULES_MAX];
    size_t n = 0;
    int made = 1;
    for (int i = 0; i < G_N; i++) {
        (void)snprintf(groups[i], sizeof groups[i], "%s/berth-devtest-%d%s", sys.v2.mount,
                       (int)getpid(), group_sfx[i]);
        if (mkdir(groups[i], 0755) < 0) {
            ok(0, "create %s: %s", groups[i], strerror(errno));
            groups[i][0] = '\0';
            made = 0;
        }
    }
    if (!made)
        return;
    int rc = devices_default_rules(rules, ARRAY_LEN(rules), &n, &e) == 0
                 ? attach_rules(groups[G_PROG], rules, n, &e)
                 : -1;
    ok(rc == 0 && prog_count(groups[G_PROG]) == 1, "attach the default program to %s: %s",
       groups[G_PROG], rc ? err_str(&e) : "ok");
    static const char *const ro[] = {"c 1:3 r"};
    rc = parse_all(ro, 1, rules) == 0 ? attach_rules(groups[G_RO], rules, 1, &e) : -1;
    ok(rc == 0, "attach a 'c 1:3 r' program: %s", rc ? err_str(&e) : "ok");
    ok(prog_count(groups[G_CTL]) == 0, "the control group has no program");

    struct probe pp, pc, pr;
    int got_p = run_probe(groups[G_PROG], "p", &pp) == 0;
    int got_c = run_probe(groups[G_CTL], "c", &pc) == 0;
    int got_r = run_probe(groups[G_RO], "r", &pr) == 0;
    ok(got_p && got_c && got_r, "three probe children reported");
    if (!got_p || !got_c || !got_r)
        return;
    int enter = pp.enter ? pp.enter : pc.enter ? pc.enter : pr.enter;
    ok(enter == 0, "children joined their groups: %s", enter ? strerror(enter) : "ok");
    printf("# program: mknod/open  null %d/%d  mem %d/%d  kmsg %d/%d  loop0 %d/%d\n",
           pp.mknod[N_NULL], pp.open_rd[N_NULL], pp.mknod[N_MEM], pp.open_rd[N_MEM],
           pp.mknod[N_KMSG], pp.open_rd[N_KMSG], pp.mknod[N_LOOP], pp.open_rd[N_LOOP]);
    printf("# control: mknod/open  null %d/%d  mem %d/%d  kmsg %d/%d  loop0 %d/%d\n",
           pc.mknod[N_NULL], pc.open_rd[N_NULL], pc.mknod[N_MEM], pc.open_rd[N_MEM],
           pc.mknod[N_KMSG], pc.open_rd[N_KMSG], pc.mknod[N_LOOP], pc.open_rd[N_LOOP]);

    int all_made = 1;
    for (int i = 0; i < N_N; i++)
        all_made &= pp.mknod[i] == 0;
    ok(all_made, "program: mknod of every node works ('c *:* m', 'b *:* m')");
    ok(pp.open_rd[N_NULL] == 0 && pp.pre_rd == 0 && pp.pre_wr == 0,
       "program: /dev/null opens for read and write");
    /* The control runs in the same v1 devices group as the program's child (this test's
     * own), so an EPERM there would come from v1 or a sandbox, not from the program: then the
     * program's EPERM proves nothing for that node and is not counted. */
    for (int i = N_MEM; i < N_N; i++) {
        if (pc.mknod[i] != 0 || pc.open_rd[i] == EPERM) {
            printf("# %s: not shown, the control cannot open it either (mknod %d, open %d)\n",
                   nodes[i].name, pc.mknod[i], pc.open_rd[i]);
            continue;
        }
        ok(pp.open_rd[i] == EPERM, "program: %s (%c %u:%u) open fails with EPERM (%s); control: %s",
           nodes[i].name, nodes[i].type == S_IFBLK ? 'b' : 'c', nodes[i].major, nodes[i].minor,
           strerror(pp.open_rd[i]), pc.open_rd[i] ? strerror(pc.open_rd[i]) : "opens");
    }
    ok(pc.open_rd[N_NULL] == 0 && pc.open_rd[N_KMSG] == 0,
       "control: null and kmsg open without a program");

    int none_made = 1;
    for (int i = 0; i < N_N; i++)
        none_made &= pr.mknod[i] == EPERM;
    ok(none_made, "'c 1:3 r': every mknod fails with EPERM (no m)");
    ok(pr.pre_rd == 0 && pr.pre_wr == EPERM,
       "'c 1:3 r': /dev/null opens for read, write is EPERM (%s)", strerror(pr.pre_wr));
    ok(pc.pre_wr == 0, "control: /dev/null opens for write");

    for (int i = 0; i < G_N; i++) {
        int rc2 = errno_of(rmdir(groups[i]));
        ok(rc2 == 0, "remove %s: %s", groups[i], rc2 ? strerror(rc2) : "ok");
        groups[i][0] = '\0';
    }
}

/* cgroup_create on v2 (on hybrid: the unified mount, as test_cgroup does) attaches the
 * default program unless all_devices. */
static void test_cgroup_create(void)
{
    struct err e = {0};
    struct cgroup cg, cg_all;
    char dir[PATH_MAX];
    sys2 = sys;
    sys2.mode = CGROUP_V2;
    if (sys.mode != CGROUP_V2 && strcmp(sys.v2.base, sys.v2.mount) != 0) {
        printf("# skip cgroup_create on the unified mount: berth's v2 base is not its root\n");
        return;
    }
    (void)snprintf(cg_names[0], sizeof cg_names[0], "berth-devtest-%d-cg", (int)getpid());
    (void)snprintf(cg_names[1], sizeof cg_names[1], "berth-devtest-%d-priv", (int)getpid());
    int rc = cgroup_create(&sys2, cg_names[0], NULL, &cg, &e);
    ok(rc == 0, "cgroup_create on v2: %s", rc ? err_str(&e) : "ok");
    if (rc)
        return;
    ok(cgroup_path(&cg, CGROUP_DEVICES, NULL, dir, sizeof dir, &e) == 0 && prog_count(dir) == 1,
       "cgroup_create attached one device program to %s", dir);
    struct probe pp;
    ok(run_probe(dir, "g", &pp) == 0 && pp.enter == 0 && pp.mknod[N_MEM] == 0 &&
           pp.open_rd[N_NULL] == 0 && pp.open_rd[N_KMSG] == EPERM,
       "in the created group: mknod works, null opens, kmsg is EPERM");
    ok(cgroup_destroy(&cg, &e) == 0, "destroy it: %s", e.code ? err_str(&e) : "ok");

    /* --device c 1:11 r: the default list and that rule */
    struct devices_rule kmsg = {'c', 1, 11, DEVICES_READ};
    struct cgroup_limits lk = {.devices = &kmsg, .ndevices = 1};
    rc = cgroup_create(&sys2, cg_names[0], &lk, &cg, &e);
    ok(rc == 0 && cgroup_path(&cg, CGROUP_DEVICES, NULL, dir, sizeof dir, &e) == 0 &&
           run_probe(dir, "k", &pp) == 0 && pp.enter == 0 && pp.open_rd[N_KMSG] == 0 &&
           pp.open_rd[N_NULL] == 0,
       "with an extra rule c 1:11 r: kmsg opens for reading, null still does: %s",
       rc ? err_str(&e) : "ok");
    ok(rc != 0 || cgroup_destroy(&cg, &e) == 0, "destroy it");

    struct cgroup_limits lim = {.all_devices = 1};
    rc = cgroup_create(&sys2, cg_names[1], &lim, &cg_all, &e);
    ok(rc == 0 && cgroup_path(&cg_all, CGROUP_DEVICES, NULL, dir, sizeof dir, &e) == 0 &&
           prog_count(dir) == 0,
       "all_devices (--privileged): no program: %s", rc ? err_str(&e) : "ok");
    ok(rc != 0 || cgroup_destroy(&cg_all, &e) == 0, "destroy it");
    cg_names[0][0] = cg_names[1][0] = '\0';
}

static void test_kernel(void)
{
    struct err e = {0};
    if (geteuid() != 0) {
        printf("# skip kernel tests: not root\n");
        return;
    }
    if (cgroup_detect(&sys, &e) < 0 || !sys.v2.mount[0]) {
        printf("# skip kernel tests: no cgroup2 mount (%s)\n", e.code ? err_str(&e) : "none");
        return;
    }
    const char *base = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    (void)snprintf(tmpdir, sizeof tmpdir, "%s/berth-devtest-XXXXXX", base);
    struct statvfs vfs;
    if (!mkdtemp(tmpdir)) {
        ok(0, "mkdtemp %s: %s", tmpdir, strerror(errno));
        tmpdir[0] = '\0';
        return;
    }
    atexit(cleanup);
    signal(SIGINT, on_fatal);
    signal(SIGTERM, on_fatal);
    signal(SIGALRM, on_fatal);
    alarm(60);
    if (statvfs(tmpdir, &vfs) < 0 || (vfs.f_flag & ST_NODEV)) {
        printf("# skip kernel tests: %s is on a nodev filesystem\n", tmpdir);
        cleanup();
        return;
    }
    printf("# cgroup2 mount %s (mode %s), nodes in %s\n", sys.v2.mount, cgroup_mode_name(sys.mode),
           tmpdir);
    char pre[PATH_MAX + 16];
    (void)snprintf(pre, sizeof pre, "%s/pre-null", tmpdir);
    ok(mknod(pre, S_IFCHR | 0666, makedev(1, 3)) == 0, "mknod %s", pre);

    test_kernel_errors();
    test_kernel_groups();
    test_cgroup_create();
    cleanup();
    int left = 0;
    char dir[PATH_MAX];
    for (int i = 0; i < G_N; i++) {
        (void)snprintf(dir, sizeof dir, "%s/berth-devtest-%d%s", sys.v2.mount, (int)getpid(),
                       group_sfx[i]);
        left += access(dir, F_OK) == 0;
    }
    static const char *const cg_sfx[] = {"-cg", "-priv"};
    for (size_t i = 0; i < ARRAY_LEN(cg_sfx); i++) {
        (void)snprintf(dir, sizeof dir, "%s/berth-devtest-%d%s", sys.v2.base, (int)getpid(),
                       cg_sfx[i]);
        left += access(dir, F_OK) == 0;
    }
    ok(left == 0 && access(tmpdir, F_OK) < 0, "no test group or node left");
    alarm(0);
}

int main(void)
{
    test_parse();
    test_build();
    test_kernel();
    return done();
}
