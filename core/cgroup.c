/* SPDX-License-Identifier: MIT */
/* core/cgroup.c - container cgroups on v2, v1 and hybrid hosts (see cgroup.h). Touches only
 * cgroupfs files and the directories it creates; no libev, no globals, no logging, no malloc
 * outside detection. Reads use fixed stack buffers and stream long files line by line. */
#include "core/cgroup.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/devices.h"
#include "core/err.h"
#include "core/util.h"

#define MOUNTINFO_MAX   (4 * 1024 * 1024) /* /proc/self/mountinfo read at detection */
#define SELF_CGROUP_MAX (64 * 1024)       /* /proc/self/cgroup */
#define LINE_MAX_CG     4096              /* one line of a streamed cgroup file */
#define SMALL_MAX       256               /* a one-value cgroup file */
#define HIER_MAX        7                 /* hierarchies one group lives in (v1) */
#define NAME_DEPTH_MAX  4                 /* components of a group name */
#define MEMORY_MIN      (6LL * 1024 * 1024)
#define MEMORY_MAX      (1LL << 62)  /* keeps the 2x swap default from overflowing */
#define UNLIMITED_MIN   (1ULL << 62) /* v1 reports "no limit" as PAGE_COUNTER_MAX pages */

static const char *const ctrl_names[CGROUP_CTRL_N] = {
    [CGROUP_MEMORY] = "memory",   [CGROUP_PIDS] = "pids",       [CGROUP_CPU] = "cpu",
    [CGROUP_CPUACCT] = "cpuacct", [CGROUP_FREEZER] = "freezer", [CGROUP_BLKIO] = "blkio",
    [CGROUP_DEVICES] = "devices", [CGROUP_CPUSET] = "cpuset",
};

/* v1 hierarchies a container joins, in creation order. cpuset is left out on purpose: a new
 * cpuset group starts with empty cpus/mems and nobody could enter it. */
static const enum cgroup_ctrl used_ctrls[HIER_MAX] = {
    CGROUP_MEMORY,  CGROUP_PIDS,  CGROUP_CPU,     CGROUP_CPUACCT,
    CGROUP_FREEZER, CGROUP_BLKIO, CGROUP_DEVICES,
};

static int ctrl_write(const struct cgroup *cg, enum cgroup_ctrl ctrl, const char *file,
                      const char *val, int optional, struct err *e);

/* The devices a container may open, as Docker's defaults (core/devices.c holds the list):
 * every node may be created (mknod, CAP_MKNOD is a default capability) but only the listed
 * ones opened. v1/hybrid: the devices controller; v2: a BPF_CGROUP_DEVICE program. */
static int set_devices_v1(const struct cgroup *cg, const struct cgroup_limits *lim, struct err *e)
{
    if (cg->sys->mode == CGROUP_V2 || !cg->sys->v1[CGROUP_DEVICES].mount[0] ||
        (lim && lim->all_devices))
        return 0;
    if (ctrl_write(cg, CGROUP_DEVICES, "devices.deny", "a", 0, e) < 0)
        return err_wrap(e, "deny devices");
    for (size_t i = 0; i < devices_default_n; i++)
        if (ctrl_write(cg, CGROUP_DEVICES, "devices.allow", devices_default_allow[i], 0, e) < 0)
            return err_wrap(e, "allow device '%s'", devices_default_allow[i]);
    for (size_t i = 0; lim && i < lim->ndevices; i++) {
        const struct devices_rule *r = &lim->devices[i];
        char rule[DEVICES_RULE_MAX];
        if (devices_format_rule(r, rule, sizeof rule, e) < 0 ||
            ctrl_write(cg, CGROUP_DEVICES, "devices.allow", rule, 0, e) < 0)
            return err_wrap(e, "allow device");
    }
    return 0;
}

/* The same list on v2, attached to the group while it is still empty. The program goes away
 * with the group, so the create's rollback (rmdir) also undoes it. */
static int set_devices_v2(const struct cgroup *cg, const struct cgroup_limits *lim, struct err *e)
{
    if (cg->sys->mode != CGROUP_V2 || (lim && lim->all_devices))
        return 0;
    struct devices_rule rules[DEVICES_RULES_MAX];
    size_t n = 0;
    char path[PATH_MAX];
    if (devices_default_rules(rules, ARRAY_LEN(rules), &n, e) < 0 ||
        cgroup_path(cg, CGROUP_DEVICES, NULL, path, sizeof path, e) < 0)
        return -1;
    for (size_t i = 0; lim && i < lim->ndevices; i++) {
        if (n == ARRAY_LEN(rules))
            return err_set(e, E2BIG, "more than %d device rules", DEVICES_RULES_MAX);
        rules[n++] = lim->devices[i];
    }
    auto_close int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return err_set(e, errno, "open cgroup '%s'", path);
    if (devices_bpf_attach(fd, rules, n, e) < 0)
        return err_wrap(e, "restrict devices of '%s'", path);
    return 0;
}

/* v2 controllers enabled for berth's groups. */
enum { V2_MEMORY = 1, V2_PIDS = 2, V2_CPU = 4, V2_IO = 8 };
static const struct {
    unsigned bit;
    const char *name;
} v2_ctrls[] = {{V2_MEMORY, "memory"}, {V2_PIDS, "pids"}, {V2_CPU, "cpu"}, {V2_IO, "io"}};

/* ---- small file I/O ---- */

/* Append " (undo: WHAT 'PATH': strerror)" to E without replacing the first error. */
static void note_undo(struct err *e, const char *what, const char *path, int code)
{
    size_t len = strnlen(e->msg, sizeof e->msg);
    if (len + 1 >= sizeof e->msg)
        return;
    int n = snprintf(e->msg + len, sizeof e->msg - len, " (undo: %s '%s': %s)", what, path,
                     strerror(code));
    if (n < 0 || (size_t)n >= sizeof e->msg - len)
        e->msg[sizeof e->msg - 1] = '\0'; /* a truncated note is acceptable */
}

static int write_str(const char *path, const char *s, struct err *e)
{
    auto_close int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return err_set(e, errno, "open '%s'", path);
    size_t len = strlen(s);
    ssize_t n = write(fd, s, len);
    if (n < 0)
        return err_set(e, errno, "write '%s' to '%s'", s, path);
    if ((size_t)n != len)
        return err_set(e, EIO, "short write of '%s' to '%s'", s, path);
    return 0;
}

/* Read PATH into BUF (NUL-terminated). Returns 0, 1 when OPTIONAL and the file is missing
 * (BUF is then ""), or -1. A file that does not fit fails with EFBIG. */
static int read_small(const char *path, int optional, char *buf, size_t size, struct err *e)
{
    buf[0] = '\0';
    auto_close int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 && optional && errno == ENOENT)
        return 1;
    if (fd < 0)
        return err_set(e, errno, "open '%s'", path);
    size_t used = 0;
    for (;;) {
        if (used + 1 >= size)
            return err_set(e, EFBIG, "read '%s'", path);
        ssize_t n = read(fd, buf + used, size - used - 1);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return err_set(e, errno, "read '%s'", path);
        if (n == 0)
            break;
        used += (size_t)n;
    }
    buf[used] = '\0';
    return 0;
}

/* Stream PATH line by line (newline removed) into FN, which returns 0 to go on or 1 to stop.
 * Returns 0, 1 when OPTIONAL and the file is missing, or -1 (EFBIG for an overlong line). */
static int read_lines(const char *path, int optional, int (*fn)(void *ctx, char *line), void *ctx,
                      struct err *e)
{
    auto_close int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 && optional && errno == ENOENT)
        return 1;
    if (fd < 0)
        return err_set(e, errno, "open '%s'", path);
    char buf[LINE_MAX_CG];
    size_t have = 0;
    for (;;) {
        if (have + 1 >= sizeof buf)
            return err_set(e, EFBIG, "read '%s': line too long", path);
        ssize_t n = read(fd, buf + have, sizeof buf - 1 - have);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return err_set(e, errno, "read '%s'", path);
        if (n == 0) {
            buf[have] = '\0';
            if (have > 0)
                (void)fn(ctx, buf); /* last line: nothing follows whether it stops or not */
            return 0;
        }
        have += (size_t)n;
        buf[have] = '\0';
        char *p = buf, *nl;
        while ((nl = memchr(p, '\n', (size_t)(buf + have - p))) != NULL) {
            *nl = '\0';
            if (fn(ctx, p))
                return 0;
            p = nl + 1;
        }
        have = (size_t)(buf + have - p);
        memmove(buf, p, have);
    }
}

/* Parse a decimal unsigned value ("max" gives ULLONG_MAX). */
static int parse_ull(const char *s, unsigned long long *out)
{
    while (*s == ' ' || *s == '\t')
        s++;
    if (strncmp(s, "max", 3) == 0) {
        *out = ULLONG_MAX;
        return 0;
    }
    if (*s < '0' || *s > '9')
        return -1;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || (*end && *end != '\n' && *end != ' '))
        return -1;
    *out = v;
    return 0;
}

/* Read a one-number file; a missing OPTIONAL file reads 0. */
static int read_ull(const char *path, int optional, unsigned long long *out, struct err *e)
{
    char buf[SMALL_MAX];
    *out = 0;
    int rc = read_small(path, optional, buf, sizeof buf, e);
    if (rc != 0)
        return rc < 0 ? -1 : 0;
    if (parse_ull(buf, out) < 0)
        return err_set(e, EINVAL, "parse '%s'", path);
    return 0;
}

/* "KEY N" lines (memory.stat, memory.events, cpu.stat, memory.oom_control). */
struct keyval {
    const char *key;
    unsigned long long val;
    int found;
};

static int on_keyval_line(void *ctx, char *line)
{
    struct keyval *kv = ctx;
    size_t kl = strlen(kv->key);
    if (strncmp(line, kv->key, kl) != 0 || line[kl] != ' ')
        return 0;
    if (parse_ull(line + kl + 1, &kv->val) == 0)
        kv->found = 1;
    return 1;
}

static int read_key(const char *path, const char *key, unsigned long long *out, struct err *e)
{
    struct keyval kv = {key, 0, 0};
    if (read_lines(path, 1, on_keyval_line, &kv, e) < 0)
        return -1;
    *out = kv.found ? kv.val : 0;
    return 0;
}

/* ---- layout ---- */

const char *cgroup_mode_name(enum cgroup_mode mode)
{
    switch (mode) {
    case CGROUP_V2:
        return "2";
    case CGROUP_V1:
        return "1";
    case CGROUP_HYBRID:
        return "hybrid";
    }
    return "unknown";
}

struct span {
    const char *s;
    size_t len;
};

static int next_field(const char **p, const char *end, struct span *f)
{
    while (*p < end && **p == ' ')
        (*p)++;
    if (*p >= end)
        return 0;
    f->s = *p;
    while (*p < end && **p != ' ')
        (*p)++;
    f->len = (size_t)(*p - f->s);
    return 1;
}

static int span_is(const struct span *f, const char *s)
{
    return f->len == strlen(s) && memcmp(f->s, s, f->len) == 0;
}

/* Decode mountinfo's octal escapes ("\040" for a space) of F into BUF. */
static int decode_path(const struct span *f, char *buf, size_t size, struct err *e)
{
    size_t o = 0;
    for (size_t i = 0; i < f->len; i++) {
        char c = f->s[i];
        if (c == '\\' && i + 3 < f->len && f->s[i + 1] >= '0' && f->s[i + 1] <= '3' &&
            f->s[i + 2] >= '0' && f->s[i + 2] <= '7' && f->s[i + 3] >= '0' && f->s[i + 3] <= '7') {
            c = (char)((f->s[i + 1] - '0') * 64 + (f->s[i + 2] - '0') * 8 + (f->s[i + 3] - '0'));
            i += 3;
        }
        if (o + 1 >= size)
            return err_set(e, ENAMETOOLONG, "cgroup mount path '%.*s'", (int)f->len, f->s);
        buf[o++] = c;
    }
    buf[o] = '\0';
    return 0;
}

static int set_mount(struct cgroup_hier *h, const struct span *root, const struct span *mnt,
                     struct err *e)
{
    if (h->mount[0])
        return 0; /* the first mount of a hierarchy wins (later ones are bind mounts) */
    if (decode_path(root, h->root, sizeof h->root, e) < 0 ||
        decode_path(mnt, h->mount, sizeof h->mount, e) < 0) {
        h->mount[0] = h->root[0] = '\0';
        return -1;
    }
    return 0;
}

static int parse_mount_line(struct cgroup_sys *sys, const char *p, const char *end, int *nv1,
                            struct err *e)
{
    struct span f[6], t, fstype, source, opts;
    for (size_t i = 0; i < ARRAY_LEN(f); i++)
        if (!next_field(&p, end, &f[i]))
            return 0; /* malformed or empty: not a mount we can use */
    do {
        if (!next_field(&p, end, &t))
            return 0;
    } while (!span_is(&t, "-"));
    if (!next_field(&p, end, &fstype) || !next_field(&p, end, &source) ||
        !next_field(&p, end, &opts))
        return 0;
    if (span_is(&fstype, "cgroup2"))
        return set_mount(&sys->v2, &f[3], &f[4], e);
    if (!span_is(&fstype, "cgroup"))
        return 0;
    const char *o = opts.s, *oend = opts.s + opts.len;
    while (o < oend) {
        const char *comma = memchr(o, ',', (size_t)(oend - o));
        struct span opt = {o, (size_t)((comma ? comma : oend) - o)};
        for (int c = 0; c < CGROUP_CTRL_N; c++) {
            if (!span_is(&opt, ctrl_names[c]))
                continue;
            if (set_mount(&sys->v1[c], &f[3], &f[4], e) < 0)
                return -1;
            (*nv1)++;
        }
        o = comma ? comma + 1 : oend;
    }
    return 0;
}

int cgroup_parse_mountinfo(struct cgroup_sys *sys, const char *text, struct err *e)
{
    memset(sys, 0, sizeof *sys);
    int nv1 = 0;
    const char *p = text;
    while (*p) {
        const char *eol = strchr(p, '\n');
        if (!eol)
            eol = p + strlen(p);
        if (parse_mount_line(sys, p, eol, &nv1, e) < 0)
            return err_wrap(e, "parse mountinfo");
        p = *eol ? eol + 1 : eol;
    }
    if (nv1 > 0)
        sys->mode = sys->v2.mount[0] ? CGROUP_HYBRID : CGROUP_V1;
    else if (sys->v2.mount[0])
        sys->mode = CGROUP_V2;
    else
        return err_set(e, ENOENT, "detect cgroups: no cgroup filesystem mounted");
    return 0;
}

/* Base of H from the process's own cgroup OWN: own path relative to the mount's root, or its
 * parent when PARENT (v2), appended to the mount point. Paths outside the mount's root (or
 * with "..", as a cgroup namespace shows them) fall back to the mount point itself. */
static int set_base(struct cgroup_hier *h, const char *own, size_t own_len, int parent,
                    struct err *e)
{
    char rel[CGROUP_PATH_MAX];
    if (own_len >= sizeof rel)
        return err_set(e, ENAMETOOLONG, "own cgroup path '%.*s'", (int)own_len, own);
    memcpy(rel, own, own_len);
    rel[own_len] = '\0';
    const char *r = rel;
    size_t rl = strlen(h->root);
    if (rel[0] != '/' || strstr(rel, "/..") != NULL)
        r = "";
    else if (strcmp(h->root, "/") != 0)
        r = (strncmp(rel, h->root, rl) == 0 && (rel[rl] == '/' || rel[rl] == '\0')) ? rel + rl : "";
    char tmp[CGROUP_PATH_MAX];
    (void)snprintf(tmp, sizeof tmp, "%s", r); /* no truncation: r is a suffix of rel */
    size_t tl = strlen(tmp);
    while (tl > 0 && tmp[tl - 1] == '/')
        tmp[--tl] = '\0';
    if (parent) {
        char *slash = strrchr(tmp, '/');
        if (slash)
            *slash = '\0';
    }
    int n = snprintf(h->base, sizeof h->base, "%s%s", h->mount, tmp);
    if (n < 0 || (size_t)n >= sizeof h->base)
        return err_set(e, ENAMETOOLONG, "cgroup base '%s%s'", h->mount, tmp);
    return 0;
}

int cgroup_parse_self(struct cgroup_sys *sys, const char *text, struct err *e)
{
    for (int c = 0; c < CGROUP_CTRL_N; c++)
        if (sys->v1[c].mount[0] && set_base(&sys->v1[c], "/", 1, 0, e) < 0)
            return -1;
    if (sys->v2.mount[0] && set_base(&sys->v2, "/", 1, 0, e) < 0)
        return -1;
    const char *p = text;
    while (*p) {
        const char *eol = strchr(p, '\n');
        if (!eol)
            eol = p + strlen(p);
        const char *c1 = memchr(p, ':', (size_t)(eol - p));
        const char *c2 = c1 ? memchr(c1 + 1, ':', (size_t)(eol - c1 - 1)) : NULL;
        if (c2) {
            const char *path = c2 + 1;
            size_t plen = (size_t)(eol - path);
            if (c2 == c1 + 1) {
                if (sys->v2.mount[0] && set_base(&sys->v2, path, plen, 1, e) < 0)
                    return err_wrap(e, "parse own cgroup");
            } else {
                const char *o = c1 + 1;
                while (o < c2) {
                    const char *comma = memchr(o, ',', (size_t)(c2 - o));
                    struct span opt = {o, (size_t)((comma ? comma : c2) - o)};
                    for (int c = 0; c < CGROUP_CTRL_N; c++)
                        if (span_is(&opt, ctrl_names[c]) && sys->v1[c].mount[0] &&
                            set_base(&sys->v1[c], path, plen, 0, e) < 0)
                            return err_wrap(e, "parse own cgroup");
                    o = comma ? comma + 1 : c2;
                }
            }
        }
        p = *eol ? eol + 1 : eol;
    }
    return 0;
}

int cgroup_detect(struct cgroup_sys *sys, struct err *e)
{
    auto_free char *mi = util_read_file("/proc/self/mountinfo", MOUNTINFO_MAX, NULL, e);
    if (!mi)
        return err_wrap(e, "detect cgroups");
    if (cgroup_parse_mountinfo(sys, mi, e) < 0)
        return -1;
    auto_free char *self = util_read_file("/proc/self/cgroup", SELF_CGROUP_MAX, NULL, e);
    if (!self)
        return err_wrap(e, "detect cgroups");
    return cgroup_parse_self(sys, self, e);
}

/* ---- hierarchies and paths ---- */

/* The distinct hierarchies a group lives in (co-mounted controllers share one). */
static int hiers(const struct cgroup_sys *sys, const struct cgroup_hier **out)
{
    if (sys->mode == CGROUP_V2) {
        out[0] = &sys->v2;
        return 1;
    }
    int n = 0;
    for (size_t i = 0; i < ARRAY_LEN(used_ctrls); i++) {
        const struct cgroup_hier *h = &sys->v1[used_ctrls[i]];
        int dup = !h->mount[0];
        for (int j = 0; j < n && !dup; j++)
            dup = strcmp(out[j]->base, h->base) == 0;
        if (!dup)
            out[n++] = h;
    }
    return n;
}

static const struct cgroup_hier *hier_of(const struct cgroup_sys *sys, enum cgroup_ctrl ctrl,
                                         struct err *e)
{
    if (sys->mode == CGROUP_V2)
        return &sys->v2;
    if ((unsigned)ctrl < CGROUP_CTRL_N && sys->v1[ctrl].mount[0])
        return &sys->v1[ctrl];
    err_set(e, ENOTSUP, "cgroup controller '%s' not mounted",
            (unsigned)ctrl < CGROUP_CTRL_N ? ctrl_names[ctrl] : "?");
    return NULL;
}

static int mkpath(char *buf, size_t size, const struct cgroup_hier *h, const char *name,
                  const char *file, struct err *e)
{
    int has_file = file && file[0];
    int n =
        snprintf(buf, size, "%s/%s%s%s", h->base, name, has_file ? "/" : "", has_file ? file : "");
    if (n < 0 || (size_t)n >= size)
        return err_set(e, ENAMETOOLONG, "path of cgroup '%s' file '%s'", name,
                       has_file ? file : "");
    return 0;
}

int cgroup_path(const struct cgroup *cg, enum cgroup_ctrl ctrl, const char *file, char *buf,
                size_t size, struct err *e)
{
    const struct cgroup_hier *h = hier_of(cg->sys, ctrl, e);
    if (!h)
        return -1;
    return mkpath(buf, size, h, cg->name, file, e);
}

static int ctrl_write(const struct cgroup *cg, enum cgroup_ctrl ctrl, const char *file,
                      const char *val, int optional, struct err *e)
{
    char path[PATH_MAX];
    if (cgroup_path(cg, ctrl, file, path, sizeof path, e) < 0)
        return -1;
    if (optional && access(path, F_OK) < 0 && errno == ENOENT)
        return 0;
    return write_str(path, val, e);
}

static int check_name(const char *name, struct err *e)
{
    size_t len = strnlen(name, CGROUP_NAME_MAX);
    if (len == 0 || len >= CGROUP_NAME_MAX)
        return err_set(e, EINVAL, "cgroup name of %zu bytes", len);
    int depth = 1;
    const char *comp = name;
    for (const char *p = name;; p++) {
        if (*p == '/' || *p == '\0') {
            size_t cl = (size_t)(p - comp);
            if (cl == 0 || (cl == 1 && comp[0] == '.') ||
                (cl == 2 && comp[0] == '.' && comp[1] == '.'))
                return err_set(e, EINVAL, "invalid cgroup name '%s'", name);
            if (*p == '\0')
                break;
            if (++depth > NAME_DEPTH_MAX)
                return err_set(e, EINVAL, "cgroup name '%s' too deep", name);
            comp = p + 1;
        } else if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                     (*p >= '0' && *p <= '9') || *p == '_' || *p == '.' || *p == '-')) {
            return err_set(e, EINVAL, "invalid cgroup name '%s'", name);
        }
    }
    return 0;
}

/* ---- limits ---- */

/* A refused limit: EINVAL, with a message that goes to the user as is (no strerror). */
#define bad_limit(e, ...) (err_set((e), 0, __VA_ARGS__), (e)->code = EINVAL, -1)

int cgroup_check_limits(const struct cgroup_limits *lim, struct err *e)
{
    if (lim->memory < 0 || (lim->memory > 0 && lim->memory < MEMORY_MIN))
        return bad_limit(e, "--memory: minimum memory limit allowed is 6MB");
    if (lim->memory > MEMORY_MAX || lim->memory_swap > MEMORY_MAX)
        return bad_limit(e, "--memory: limit above 4 EiB");
    if (lim->memory_swap < -1)
        return bad_limit(e, "--memory-swap: invalid value %lld", lim->memory_swap);
    if (lim->memory_swap > 0 && lim->memory == 0)
        return bad_limit(e, "--memory-swap: needs a --memory limit too");
    if (lim->memory_swap > 0 && lim->memory_swap < lim->memory)
        return bad_limit(e, "--memory-swap: must be at least the --memory limit");
    if (lim->pids < -1)
        return bad_limit(e, "--pids-limit: invalid value %lld", lim->pids);
    if (lim->cpu_quota_us < 0 || (lim->cpu_quota_us > 0 && lim->cpu_quota_us < 1000))
        return bad_limit(e, "--cpus: CPU quota below 1ms per period");
    if (lim->cpu_period_us < 0 ||
        (lim->cpu_period_us > 0 && (lim->cpu_period_us < 1000 || lim->cpu_period_us > 1000000)))
        return bad_limit(e, "--cpu-period: must be 1000..1000000 microseconds");
    if (lim->cpu_shares < 0 || (lim->cpu_shares > 0 && lim->cpu_shares < 2) ||
        lim->cpu_shares > 262144)
        return bad_limit(e, "--cpu-shares: must be 2..262144");
    return 0;
}

long long cgroup_shares_to_weight(long long shares)
{
    if (shares < 2)
        shares = 2;
    if (shares > 262144)
        shares = 262144;
    return 1 + ((shares - 2) * 9999) / 262142;
}

static void fmt_num(char *buf, size_t size, long long v)
{
    if (v < 0)
        (void)snprintf(buf, size, "max");
    else
        (void)snprintf(buf, size, "%lld", v); /* 32 bytes always fit a long long */
}

static int set_memory_v1(const struct cgroup *cg, const struct cgroup_limits *lim, struct err *e)
{
    char mem[32], memsw[32], path[PATH_MAX];
    long long sw = lim->memory_swap > 0   ? lim->memory_swap
                   : lim->memory_swap < 0 ? -1
                                          : 2 * lim->memory;
    fmt_num(mem, sizeof mem, lim->memory);
    (void)snprintf(memsw, sizeof memsw, "%lld", sw); /* v1 takes -1 for unlimited */
    if (cgroup_path(cg, CGROUP_MEMORY, "memory.memsw.limit_in_bytes", path, sizeof path, e) < 0)
        return -1;
    int has_memsw = access(path, F_OK) == 0;
    /* memsw must stay >= the memory limit at every step: lower memory first, raise memsw
     * first when memory grows past the current memsw */
    struct err tmp = {0};
    if (ctrl_write(cg, CGROUP_MEMORY, "memory.limit_in_bytes", mem, 0, &tmp) == 0)
        return has_memsw ? write_str(path, memsw, e) : 0;
    if (tmp.code != EINVAL || !has_memsw) {
        *e = tmp;
        return -1;
    }
    if (write_str(path, memsw, e) < 0)
        return -1;
    return ctrl_write(cg, CGROUP_MEMORY, "memory.limit_in_bytes", mem, 0, e);
}

static int set_memory_v2(const struct cgroup *cg, const struct cgroup_limits *lim, struct err *e)
{
    char mem[32], swap[32];
    long long sw = lim->memory_swap > 0   ? lim->memory_swap - lim->memory
                   : lim->memory_swap < 0 ? -1
                                          : lim->memory;
    fmt_num(mem, sizeof mem, lim->memory);
    fmt_num(swap, sizeof swap, sw);
    if (ctrl_write(cg, CGROUP_MEMORY, "memory.max", mem, 0, e) < 0)
        return -1;
    return ctrl_write(cg, CGROUP_MEMORY, "memory.swap.max", swap, 1, e);
}

int cgroup_set_limits(const struct cgroup *cg, const struct cgroup_limits *lim, struct err *e)
{
    int v2 = cg->sys->mode == CGROUP_V2;
    char buf[64];
    if (lim->memory > 0 && (v2 ? set_memory_v2(cg, lim, e) : set_memory_v1(cg, lim, e)) < 0)
        return err_wrap(e, "set memory limit");
    if (lim->pids != 0) {
        fmt_num(buf, sizeof buf, lim->pids);
        if (ctrl_write(cg, CGROUP_PIDS, "pids.max", buf, 0, e) < 0)
            return err_wrap(e, "set pids limit");
    }
    if (lim->cpu_quota_us > 0 || lim->cpu_period_us > 0) {
        long long period = lim->cpu_period_us > 0 ? lim->cpu_period_us : 100000;
        if (v2) {
            if (lim->cpu_quota_us > 0)
                (void)snprintf(buf, sizeof buf, "%lld %lld", lim->cpu_quota_us, period);
            else
                (void)snprintf(buf, sizeof buf, "max %lld", period);
            if (ctrl_write(cg, CGROUP_CPU, "cpu.max", buf, 0, e) < 0)
                return err_wrap(e, "set cpu quota");
        } else {
            (void)snprintf(buf, sizeof buf, "%lld", period);
            if (ctrl_write(cg, CGROUP_CPU, "cpu.cfs_period_us", buf, 0, e) < 0)
                return err_wrap(e, "set cpu period");
            if (lim->cpu_quota_us > 0) {
                (void)snprintf(buf, sizeof buf, "%lld", lim->cpu_quota_us);
                if (ctrl_write(cg, CGROUP_CPU, "cpu.cfs_quota_us", buf, 0, e) < 0)
                    return err_wrap(e, "set cpu quota");
            }
        }
    }
    if (lim->cpu_shares > 0) {
        if (v2) {
            (void)snprintf(buf, sizeof buf, "%lld", cgroup_shares_to_weight(lim->cpu_shares));
            if (ctrl_write(cg, CGROUP_CPU, "cpu.weight", buf, 0, e) < 0)
                return err_wrap(e, "set cpu weight");
        } else {
            (void)snprintf(buf, sizeof buf, "%lld", lim->cpu_shares);
            if (ctrl_write(cg, CGROUP_CPU, "cpu.shares", buf, 0, e) < 0)
                return err_wrap(e, "set cpu shares");
        }
    }
    return 0;
}

/* ---- create, open, enter, destroy ---- */

static int has_word(const char *list, const char *word)
{
    size_t wl = strlen(word);
    for (const char *p = list; (p = strstr(p, word)) != NULL; p += wl)
        if ((p == list || p[-1] == ' ') && (p[wl] == '\0' || p[wl] == ' ' || p[wl] == '\n'))
            return 1;
    return 0;
}

/* Enable berth's v2 controllers for the children of DIR. NEED (V2_* bits) must succeed. */
static int v2_enable(const char *dir, unsigned need, struct err *e)
{
    char path[PATH_MAX], sub[SMALL_MAX], avail[SMALL_MAX];
    int n = snprintf(path, sizeof path, "%s/cgroup.subtree_control", dir);
    if (n < 0 || (size_t)n >= sizeof path)
        return err_set(e, ENAMETOOLONG, "path of '%s'", dir);
    if (read_small(path, 0, sub, sizeof sub, e) < 0)
        return -1;
    unsigned missing = 0;
    for (size_t i = 0; i < ARRAY_LEN(v2_ctrls); i++)
        if (!has_word(sub, v2_ctrls[i].name))
            missing |= v2_ctrls[i].bit;
    if (!missing)
        return 0;
    char apath[PATH_MAX];
    (void)snprintf(apath, sizeof apath, "%s/cgroup.controllers", dir); /* shorter than path */
    if (read_small(apath, 0, avail, sizeof avail, e) < 0)
        return -1;
    for (size_t i = 0; i < ARRAY_LEN(v2_ctrls); i++) {
        if (!(missing & v2_ctrls[i].bit))
            continue;
        int needed = (need & v2_ctrls[i].bit) != 0;
        if (!has_word(avail, v2_ctrls[i].name)) {
            if (needed)
                return err_set(e, ENOTSUP, "cgroup controller '%s' not available in '%s'",
                               v2_ctrls[i].name, dir);
            continue;
        }
        char plus[16];
        (void)snprintf(plus, sizeof plus, "+%s", v2_ctrls[i].name);
        struct err tmp = {0};
        if (write_str(path, plus, &tmp) < 0 && needed) {
            *e = tmp;
            return -1;
        }
        /* an optional controller that cannot be enabled (EBUSY: processes in DIR) only costs
         * its statistics */
    }
    return 0;
}

/* Prepare the parents of NAME in H: on v2 enable controllers from the mount down, and create
 * the name's parent directories (left in place). */
static int make_parents(const struct cgroup_hier *h, const char *name, int v2, unsigned need,
                        struct err *e)
{
    char dir[PATH_MAX];
    if (v2) {
        /* every ancestor of the leaf must delegate the controllers to the next level */
        size_t ml = strlen(h->mount);
        int n = snprintf(dir, sizeof dir, "%s", h->mount);
        if (n < 0 || (size_t)n >= sizeof dir)
            return err_set(e, ENAMETOOLONG, "cgroup mount '%s'", h->mount);
        if (v2_enable(dir, need, e) < 0)
            return -1;
        for (const char *p = h->base + ml; *p;) {
            const char *next = strchr(p + 1, '/');
            size_t end = next ? (size_t)(next - h->base) : strlen(h->base);
            if (end >= sizeof dir)
                return err_set(e, ENAMETOOLONG, "cgroup base '%s'", h->base);
            memcpy(dir, h->base, end);
            dir[end] = '\0';
            if (v2_enable(dir, need, e) < 0)
                return -1;
            p = h->base + end;
        }
    }
    for (const char *slash = strchr(name, '/'); slash; slash = strchr(slash + 1, '/')) {
        int n = snprintf(dir, sizeof dir, "%s/%.*s", h->base, (int)(slash - name), name);
        if (n < 0 || (size_t)n >= sizeof dir)
            return err_set(e, ENAMETOOLONG, "path of cgroup '%s'", name);
        if (mkdir(dir, 0755) < 0 && errno != EEXIST)
            return err_set(e, errno, "create cgroup '%s'", dir);
        if (v2 && v2_enable(dir, need, e) < 0)
            return -1;
    }
    return 0;
}

int cgroup_create(const struct cgroup_sys *sys, const char *name, const struct cgroup_limits *lim,
                  struct cgroup *cg, struct err *e)
{
    if ((lim && cgroup_check_limits(lim, e) < 0) || check_name(name, e) < 0)
        return err_wrap(e, "create cgroup");
    memset(cg, 0, sizeof *cg);
    cg->sys = sys;
    memcpy(cg->name, name, strlen(name) + 1);

    unsigned need = 0;
    if (lim && lim->memory > 0)
        need |= V2_MEMORY;
    if (lim && lim->pids != 0)
        need |= V2_PIDS;
    if (lim && (lim->cpu_quota_us > 0 || lim->cpu_period_us > 0 || lim->cpu_shares > 0))
        need |= V2_CPU;

    const struct cgroup_hier *hs[HIER_MAX];
    int n = hiers(sys, hs);
    if (n == 0)
        return err_set(e, ENOENT, "create cgroup '%s': no cgroup hierarchy", name);
    unsigned created = 0;
    char path[PATH_MAX];
    for (int i = 0; i < n; i++) {
        if (make_parents(hs[i], name, sys->mode == CGROUP_V2, need, e) < 0)
            goto fail;
        if (mkpath(path, sizeof path, hs[i], name, NULL, e) < 0)
            goto fail;
        if (mkdir(path, 0755) < 0) {
            err_set(e, errno, "create cgroup '%s'", path);
            goto fail;
        }
        created |= 1u << i;
    }
    if (lim && cgroup_set_limits(cg, lim, e) < 0)
        goto fail;
    if (set_devices_v1(cg, lim, e) < 0 || set_devices_v2(cg, lim, e) < 0)
        goto fail;
    return 0;

fail:
    for (int i = n - 1; i >= 0; i--) {
        if (!(created & (1u << i)))
            continue;
        if (mkpath(path, sizeof path, hs[i], name, NULL, e) == 0 && rmdir(path) < 0)
            note_undo(e, "rmdir", path, errno);
    }
    cg->name[0] = '\0';
    return -1;
}

int cgroup_open(const struct cgroup_sys *sys, const char *name, struct cgroup *cg, struct err *e)
{
    if (check_name(name, e) < 0)
        return err_wrap(e, "open cgroup");
    const struct cgroup_hier *hs[HIER_MAX];
    int n = hiers(sys, hs), found = 0;
    if (n == 0)
        return err_set(e, ENOENT, "open cgroup '%s': no cgroup hierarchy", name);
    char path[PATH_MAX];
    struct stat st;
    /* in any hierarchy: a removal cut short by a crash may have taken the first ones only */
    for (int i = 0; i < n && !found; i++) {
        if (mkpath(path, sizeof path, hs[i], name, NULL, e) < 0)
            return -1;
        if (stat(path, &st) == 0)
            found = 1;
        else if (errno != ENOENT || i == n - 1)
            return err_set(e, errno, "open cgroup '%s'", path);
    }
    memset(cg, 0, sizeof *cg);
    cg->sys = sys;
    memcpy(cg->name, name, strlen(name) + 1);
    return 0;
}

int cgroup_enter(const struct cgroup *cg, pid_t pid, struct err *e)
{
    const struct cgroup_hier *hs[HIER_MAX];
    int n = hiers(cg->sys, hs);
    char path[PATH_MAX], val[32];
    (void)snprintf(val, sizeof val, "%d", (int)pid);
    for (int i = 0; i < n; i++)
        if (mkpath(path, sizeof path, hs[i], cg->name, "cgroup.procs", e) < 0 ||
            write_str(path, val, e) < 0)
            return err_wrap(e, "move %d into cgroup", (int)pid);
    return 0;
}

int cgroup_remove_dir(const struct cgroup_sys *sys, const char *dir, struct err *e)
{
    if (check_name(dir, e) < 0)
        return err_wrap(e, "remove cgroup");
    const struct cgroup_hier *hs[HIER_MAX];
    int n = hiers(sys, hs), rc = 0;
    char path[PATH_MAX];
    for (int i = 0; i < n; i++) {
        struct err tmp = {0};
        if (mkpath(path, sizeof path, hs[i], dir, NULL, &tmp) == 0) {
            if (rmdir(path) == 0 || errno == ENOENT)
                continue;
            err_set(&tmp, errno, "remove cgroup '%s'", path);
        }
        if (rc == 0)
            *e = tmp;
        rc = -1;
    }
    return rc;
}

int cgroup_destroy(struct cgroup *cg, struct err *e)
{
    if (!cg->name[0])
        return 0;
    return cgroup_remove_dir(cg->sys, cg->name, e);
}

/* ---- freezer ---- */

int cgroup_freeze(const struct cgroup *cg, int frozen, struct err *e)
{
    if (cg->sys->mode == CGROUP_V2) {
        if (ctrl_write(cg, CGROUP_FREEZER, "cgroup.freeze", frozen ? "1" : "0", 0, e) < 0)
            return err_wrap(e, frozen ? "freeze" : "thaw");
        return 0;
    }
    if (ctrl_write(cg, CGROUP_FREEZER, "freezer.state", frozen ? "FROZEN" : "THAWED", 0, e) < 0)
        return err_wrap(e, frozen ? "freeze" : "thaw");
    return 0;
}

static int on_events_frozen(void *ctx, char *line)
{
    int *frozen = ctx;
    if (strncmp(line, "frozen ", 7) != 0)
        return 0;
    *frozen = strcmp(line + 7, "1") == 0;
    return 1;
}

int cgroup_frozen_done(const struct cgroup *cg, struct err *e)
{
    char path[PATH_MAX];
    if (cg->sys->mode == CGROUP_V2) {
        int frozen = 0;
        if (cgroup_path(cg, CGROUP_FREEZER, "cgroup.events", path, sizeof path, e) < 0 ||
            read_lines(path, 0, on_events_frozen, &frozen, e) < 0)
            return -1;
        return frozen;
    }
    char state[SMALL_MAX];
    if (cgroup_path(cg, CGROUP_FREEZER, "freezer.state", path, sizeof path, e) < 0 ||
        read_small(path, 0, state, sizeof state, e) < 0)
        return -1;
    return strncmp(state, "FROZEN", 6) == 0 && (state[6] == '\n' || state[6] == '\0');
}

/* ---- OOM ---- */

int cgroup_oom_fd(const struct cgroup *cg, struct err *e)
{
    char path[PATH_MAX];
    if (cg->sys->mode == CGROUP_V2) {
        if (cgroup_path(cg, CGROUP_MEMORY, "memory.events", path, sizeof path, e) < 0)
            return -1;
        auto_close int fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
        if (fd < 0)
            return err_set(e, errno, "inotify for '%s'", path);
        if (inotify_add_watch(fd, path, IN_MODIFY) < 0)
            return err_set(e, errno, "watch '%s'", path);
        return take_fd(&fd);
    }
    char ctl[PATH_MAX], val[32];
    if (cgroup_path(cg, CGROUP_MEMORY, "memory.oom_control", path, sizeof path, e) < 0 ||
        cgroup_path(cg, CGROUP_MEMORY, "cgroup.event_control", ctl, sizeof ctl, e) < 0)
        return -1;
    auto_close int efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (efd < 0)
        return err_set(e, errno, "eventfd for '%s'", path);
    auto_close int ofd = open(path, O_RDONLY | O_CLOEXEC);
    if (ofd < 0)
        return err_set(e, errno, "open '%s'", path);
    /* the kernel keeps its own references: OFD may be closed once the event is registered */
    (void)snprintf(val, sizeof val, "%d %d", efd, ofd);
    if (write_str(ctl, val, e) < 0)
        return err_wrap(e, "register oom event");
    return take_fd(&efd);
}

int cgroup_oom_drain(int fd, struct err *e)
{
    char buf[1024] __attribute__((aligned(8)));
    for (;;) {
        ssize_t n = read(fd, buf, sizeof buf);
        if (n > 0)
            continue;
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno != EAGAIN)
            return err_set(e, errno, "drain oom fd %d", fd);
        return 0;
    }
}

int cgroup_oom_kills(const struct cgroup *cg, long long *count, struct err *e)
{
    char path[PATH_MAX];
    unsigned long long v = 0;
    const char *file = cg->sys->mode == CGROUP_V2 ? "memory.events" : "memory.oom_control";
    if (cgroup_path(cg, CGROUP_MEMORY, file, path, sizeof path, e) < 0)
        return -1;
    struct keyval kv = {"oom_kill", 0, 0};
    if (read_lines(path, 0, on_keyval_line, &kv, e) < 0)
        return -1;
    v = kv.found ? kv.val : 0;
    *count = v > LLONG_MAX ? LLONG_MAX : (long long)v;
    return 0;
}

/* ---- stats ---- */

struct blkio_sum {
    int v2;
    unsigned long long rd, wr;
};

static int on_blkio_line(void *ctx, char *line)
{
    struct blkio_sum *s = ctx;
    unsigned long long v;
    if (!s->v2) {
        /* "MAJ:MIN Read N" / "MAJ:MIN Write N" / "Total N" */
        char *op = strchr(line, ' ');
        if (!op)
            return 0;
        op++;
        char *num = strchr(op, ' ');
        if (!num || parse_ull(num + 1, &v) < 0)
            return 0;
        if (strncmp(op, "Read ", 5) == 0)
            s->rd += v;
        else if (strncmp(op, "Write ", 6) == 0)
            s->wr += v;
        return 0;
    }
    /* "MAJ:MIN rbytes=N wbytes=N rios=N ..." */
    for (char *tok = strchr(line, ' '); tok; tok = strchr(tok + 1, ' ')) {
        if (strncmp(tok + 1, "rbytes=", 7) == 0 && parse_ull(tok + 8, &v) == 0)
            s->rd += v;
        else if (strncmp(tok + 1, "wbytes=", 7) == 0 && parse_ull(tok + 8, &v) == 0)
            s->wr += v;
    }
    return 0;
}

static unsigned long long limit_or_zero(unsigned long long v)
{
    return v >= UNLIMITED_MIN ? 0 : v;
}

/* Path of FILE for CTRL, or "" when the controller is not mounted (its counters read 0). */
static int stat_path(const struct cgroup *cg, enum cgroup_ctrl ctrl, const char *file, char *path,
                     size_t size, struct err *e)
{
    path[0] = '\0';
    if (cg->sys->mode != CGROUP_V2 && !cg->sys->v1[ctrl].mount[0])
        return 0;
    return cgroup_path(cg, ctrl, file, path, size, e);
}

int cgroup_stats(const struct cgroup *cg, struct cgroup_stats *st, struct err *e)
{
    int v2 = cg->sys->mode == CGROUP_V2;
    char path[PATH_MAX];
    unsigned long long v = 0, inactive = 0;
    memset(st, 0, sizeof *st);

    if (stat_path(cg, CGROUP_CPUACCT, v2 ? "cpu.stat" : "cpuacct.usage", path, sizeof path, e) < 0)
        goto fail;
    if (path[0] && (v2 ? read_key(path, "usage_usec", &v, e) : read_ull(path, 1, &v, e)) < 0)
        goto fail;
    st->cpu_ns = v2 ? v * 1000 : v;

    if (stat_path(cg, CGROUP_MEMORY, v2 ? "memory.current" : "memory.usage_in_bytes", path,
                  sizeof path, e) < 0 ||
        (path[0] && read_ull(path, 1, &st->mem_usage, e) < 0))
        goto fail;
    if (stat_path(cg, CGROUP_MEMORY, "memory.stat", path, sizeof path, e) < 0 ||
        (path[0] && read_key(path, v2 ? "inactive_file" : "total_inactive_file", &inactive, e) < 0))
        goto fail;
    st->mem_usage -= inactive < st->mem_usage ? inactive : st->mem_usage;
    if (stat_path(cg, CGROUP_MEMORY, v2 ? "memory.max" : "memory.limit_in_bytes", path, sizeof path,
                  e) < 0 ||
        (path[0] && read_ull(path, 1, &v, e) < 0))
        goto fail;
    st->mem_limit = path[0] ? limit_or_zero(v) : 0;

    if (stat_path(cg, CGROUP_PIDS, "pids.current", path, sizeof path, e) < 0 ||
        (path[0] && read_ull(path, 1, &st->pids, e) < 0))
        goto fail;
    v = 0;
    if (stat_path(cg, CGROUP_PIDS, "pids.max", path, sizeof path, e) < 0 ||
        (path[0] && read_ull(path, 1, &v, e) < 0))
        goto fail;
    st->pids_limit = limit_or_zero(v);

    struct blkio_sum bs = {v2, 0, 0};
    if (v2) {
        if (stat_path(cg, CGROUP_BLKIO, "io.stat", path, sizeof path, e) < 0 ||
            read_lines(path, 1, on_blkio_line, &bs, e) < 0)
            goto fail;
    } else if (cg->sys->v1[CGROUP_BLKIO].mount[0]) {
        if (cgroup_path(cg, CGROUP_BLKIO, "blkio.throttle.io_service_bytes_recursive", path,
                        sizeof path, e) < 0)
            goto fail;
        int rc = read_lines(path, 1, on_blkio_line, &bs, e);
        if (rc < 0)
            goto fail;
        if (rc == 1 && (cgroup_path(cg, CGROUP_BLKIO, "blkio.throttle.io_service_bytes", path,
                                    sizeof path, e) < 0 ||
                        read_lines(path, 1, on_blkio_line, &bs, e) < 0))
            goto fail;
    }
    st->blk_read = bs.rd;
    st->blk_write = bs.wr;
    return 0;
fail:
    return err_wrap(e, "stats of cgroup '%s'", cg->name);
}

/* ---- kill ---- */

struct kill_ctx {
    struct err *e;
    int failed;
};

static int on_procs_line(void *ctx, char *line)
{
    struct kill_ctx *k = ctx;
    unsigned long long pid;
    if (parse_ull(line, &pid) < 0 || pid == 0 || pid > INT_MAX)
        return 0;
    if (kill((pid_t)pid, SIGKILL) < 0 && errno != ESRCH && !k->failed) {
        err_set(k->e, errno, "kill %llu", pid);
        k->failed = 1;
    }
    return 0;
}

int cgroup_kill_all(const struct cgroup *cg, struct err *e)
{
    char path[PATH_MAX];
    if (cg->sys->mode == CGROUP_V2) {
        if (cgroup_path(cg, CGROUP_FREEZER, "cgroup.kill", path, sizeof path, e) < 0)
            return -1;
        if (access(path, F_OK) == 0)
            return write_str(path, "1", e) < 0 ? err_wrap(e, "kill cgroup") : 0;
    }
    /* v1 (or v2 before 5.14): one pass per hierarchy, in case an enter stopped half way */
    const struct cgroup_hier *hs[HIER_MAX];
    int n = hiers(cg->sys, hs);
    struct kill_ctx k = {e, 0};
    for (int i = 0; i < n; i++) {
        if (mkpath(path, sizeof path, hs[i], cg->name, "cgroup.procs", e) < 0 ||
            read_lines(path, 1, on_procs_line, &k, e) < 0)
            return err_wrap(e, "kill cgroup");
    }
    if (k.failed)
        return err_wrap(e, "kill cgroup '%s'", cg->name);
    if (cg->sys->mode == CGROUP_V2 || !cg->sys->v1[CGROUP_FREEZER].mount[0])
        return 0;
    /* v1 frozen tasks only die once thawed */
    char state[SMALL_MAX];
    if (cgroup_path(cg, CGROUP_FREEZER, "freezer.state", path, sizeof path, e) < 0)
        return -1;
    int rc = read_small(path, 1, state, sizeof state, e);
    if (rc < 0)
        return err_wrap(e, "kill cgroup");
    if (rc == 0 && strncmp(state, "THAWED", 6) != 0 && write_str(path, "THAWED", e) < 0)
        return err_wrap(e, "kill cgroup");
    return 0;
}
