/* SPDX-License-Identifier: MIT */
/* tests/unit/test_cgroup.c - core/cgroup.c: mountinfo and /proc/self/cgroup parsing for pure
 * v2, pure v1, hybrid and namespaced layouts, limit validation and the shares->weight rule;
 * then, as root on a host with cgroups, the real thing: create with limits, enter, read back,
 * freeze/thaw, stats, OOM kill detection, kill of a frozen group, EBUSY and idempotent destroy,
 * rollback, and (on hybrid) the v2 code paths on the controller-less unified mount. Every
 * directory made here is removed at exit, also on failure or timeout. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/cgroup.h"
#include "core/err.h"
#include "tests/unit/tap.h"

#define MIB (1024LL * 1024)

/* ---- parsing ---- */

static const char mi_v2[] =
    "22 1 0:21 / / rw,relatime - ext4 /dev/vda rw\n"
    "25 22 0:23 / /sys rw,nosuid,nodev,noexec,relatime shared:7 - sysfs sysfs rw\n"
    "26 25 0:24 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:8 - cgroup2 cgroup2 "
    "rw,nsdelegate,memory_recursiveprot\n";

static const char mi_v1[] =
    "24 18 0:20 / /sys/fs/cgroup ro,nosuid,nodev,noexec shared:8 - tmpfs tmpfs ro,mode=755\n"
    "25 24 0:21 / /sys/fs/cgroup/systemd rw,nosuid shared:9 - cgroup cgroup "
    "rw,xattr,release_agent=/usr/lib/systemd/systemd-cgroups-agent,name=systemd\n"
    "28 24 0:24 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid shared:10 - cgroup cgroup rw,cpu,cpuacct\n"
    "29 24 0:25 / /sys/fs/cgroup/memory rw,nosuid shared:11 - cgroup cgroup rw,memory\n"
    "30 24 0:26 / /sys/fs/cgroup/pids rw,nosuid shared:12 - cgroup cgroup rw,pids\n"
    "31 24 0:27 / /sys/fs/cgroup/freezer rw,nosuid shared:13 - cgroup cgroup rw,freezer\n"
    "32 24 0:28 / /sys/fs/cgroup/blkio rw,nosuid shared:14 - cgroup cgroup rw,blkio\n"
    "33 24 0:29 / /sys/fs/cgroup/net_cls,net_prio rw shared:15 - cgroup cgroup "
    "rw,net_cls,net_prio\n"
    "34 24 0:30 / /sys/fs/cgroup/cpuset rw,nosuid shared:16 - cgroup cgroup rw,cpuset\n"
    "35 24 0:31 / /sys/fs/cgroup/devices rw,nosuid shared:17 - cgroup cgroup rw,devices\n";

static const char mi_hybrid[] =
    "30 22 0:27 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"
    "31 30 0:28 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu\n"
    "32 30 0:29 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct\n"
    "34 30 0:31 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n"
    "36 30 0:33 / /sys/fs/cgroup/freezer rw,relatime - cgroup cgroup rw,freezer\n"
    "38 30 0:35 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids\n"
    "39 30 0:36 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd\n"
    "40 30 0:37 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw";

/* A container's view: mount roots are the container's own groups; a space in a mount point. */
static const char mi_ns[] =
    "50 40 0:25 /docker/abc /sys/fs/cgroup/memory ro,nosuid - cgroup cgroup rw,memory\n"
    "51 40 0:26 /docker/abc /sys/fs/cgroup/my\\040pids ro,nosuid - cgroup cgroup rw,pids\n"
    "52 40 0:26 /docker/abc /mnt/again ro,nosuid - cgroup cgroup rw,pids\n";

static void test_parse(void)
{
    struct cgroup_sys sys;
    struct err e = {0};

    ok(cgroup_parse_mountinfo(&sys, mi_v2, &e) == 0 && sys.mode == CGROUP_V2 &&
           strcmp(sys.v2.mount, "/sys/fs/cgroup") == 0 && !sys.v1[CGROUP_MEMORY].mount[0],
       "pure v2 mountinfo");
    ok(strcmp(cgroup_mode_name(sys.mode), "2") == 0, "v2 mode name");
    ok(cgroup_parse_self(&sys, "0::/system.slice/berthd.service\n", &e) == 0 &&
           strcmp(sys.v2.base, "/sys/fs/cgroup/system.slice") == 0,
       "v2 base is the parent of berthd's cgroup (%s)", sys.v2.base);
    ok(cgroup_parse_self(&sys, "0::/\n", &e) == 0 && strcmp(sys.v2.base, "/sys/fs/cgroup") == 0,
       "v2 base is the root when berthd is in the root");
    ok(cgroup_parse_self(&sys, "0::/init.scope/\n", &e) == 0 &&
           strcmp(sys.v2.base, "/sys/fs/cgroup") == 0,
       "v2 base of a first-level cgroup is the root");

    ok(cgroup_parse_mountinfo(&sys, mi_v1, &e) == 0 && sys.mode == CGROUP_V1 && !sys.v2.mount[0],
       "pure v1 mountinfo");
    ok(strcmp(sys.v1[CGROUP_CPU].mount, "/sys/fs/cgroup/cpu,cpuacct") == 0 &&
           strcmp(sys.v1[CGROUP_CPUACCT].mount, "/sys/fs/cgroup/cpu,cpuacct") == 0,
       "co-mounted cpu,cpuacct");
    ok(strcmp(sys.v1[CGROUP_MEMORY].mount, "/sys/fs/cgroup/memory") == 0 &&
           strcmp(sys.v1[CGROUP_PIDS].mount, "/sys/fs/cgroup/pids") == 0 &&
           strcmp(sys.v1[CGROUP_FREEZER].mount, "/sys/fs/cgroup/freezer") == 0 &&
           strcmp(sys.v1[CGROUP_BLKIO].mount, "/sys/fs/cgroup/blkio") == 0 &&
           strcmp(sys.v1[CGROUP_CPUSET].mount, "/sys/fs/cgroup/cpuset") == 0 &&
           strcmp(sys.v1[CGROUP_DEVICES].mount, "/sys/fs/cgroup/devices") == 0,
       "v1 controller mounts");
    ok(strcmp(cgroup_mode_name(sys.mode), "1") == 0, "v1 mode name");
    ok(cgroup_parse_self(&sys,
                         "11:cpuset:/\n10:memory:/system.slice/berthd.service\n"
                         "4:cpu,cpuacct:/system.slice/berthd.service\n"
                         "1:name=systemd:/system.slice/berthd.service\n",
                         &e) == 0,
       "parse v1 /proc/self/cgroup");
    ok(strcmp(sys.v1[CGROUP_MEMORY].base, "/sys/fs/cgroup/memory/system.slice/berthd.service") ==
               0 &&
           strcmp(sys.v1[CGROUP_CPUACCT].base,
                  "/sys/fs/cgroup/cpu,cpuacct/system.slice/berthd.service") == 0 &&
           strcmp(sys.v1[CGROUP_CPUSET].base, "/sys/fs/cgroup/cpuset") == 0 &&
           strcmp(sys.v1[CGROUP_PIDS].base, "/sys/fs/cgroup/pids") == 0,
       "v1 bases are berthd's own cgroups (missing line: the mount)");

    ok(cgroup_parse_mountinfo(&sys, mi_hybrid, &e) == 0 && sys.mode == CGROUP_HYBRID &&
           strcmp(sys.v2.mount, "/sys/fs/cgroup/unified") == 0 &&
           strcmp(sys.v1[CGROUP_MEMORY].mount, "/sys/fs/cgroup/memory") == 0 &&
           !sys.v1[CGROUP_BLKIO].mount[0],
       "hybrid mountinfo (last line without newline)");
    ok(strcmp(cgroup_mode_name(sys.mode), "hybrid") == 0, "hybrid mode name");

    ok(cgroup_parse_mountinfo(&sys, mi_ns, &e) == 0 && sys.mode == CGROUP_V1 &&
           strcmp(sys.v1[CGROUP_PIDS].mount, "/sys/fs/cgroup/my pids") == 0 &&
           strcmp(sys.v1[CGROUP_PIDS].root, "/docker/abc") == 0,
       "octal escapes decoded, first mount of a hierarchy wins");
    ok(cgroup_parse_self(&sys, "5:memory:/docker/abc/sub\n4:pids:/docker/abc\n", &e) == 0 &&
           strcmp(sys.v1[CGROUP_MEMORY].base, "/sys/fs/cgroup/memory/sub") == 0 &&
           strcmp(sys.v1[CGROUP_PIDS].base, "/sys/fs/cgroup/my pids") == 0,
       "own path made relative to the mount root");
    ok(cgroup_parse_self(&sys, "5:memory:/elsewhere\n4:pids:/../x\n", &e) == 0 &&
           strcmp(sys.v1[CGROUP_MEMORY].base, "/sys/fs/cgroup/memory") == 0 &&
           strcmp(sys.v1[CGROUP_PIDS].base, "/sys/fs/cgroup/my pids") == 0,
       "own path outside the mount falls back to the mount point");

    static char big[3 * 4096 + sizeof mi_hybrid + 64];
    size_t o = (size_t)snprintf(big, sizeof big, "99 1 0:99 / /merged rw - overlay overlay rw,");
    while (o < 3 * 4096)
        o += (size_t)snprintf(big + o, sizeof big - o, "lowerdir=/x:");
    (void)snprintf(big + o, sizeof big - o, "\n%s", mi_hybrid);
    ok(cgroup_parse_mountinfo(&sys, big, &e) == 0 && sys.mode == CGROUP_HYBRID,
       "an unrelated line of 12 KiB is skipped");

    e = (struct err){0};
    ok(cgroup_parse_mountinfo(&sys, "22 1 0:21 / / rw - ext4 /dev/vda rw\n", &e) < 0 &&
           e.code == ENOENT,
       "no cgroup mount: ENOENT (%s)", err_str(&e));
    ok(cgroup_parse_mountinfo(&sys, "garbage\n\n1 2 3\n", &e) < 0, "garbage is no mount");
}

static void test_limits(void)
{
    struct err e = {0};
    struct cgroup_limits l = {.memory = 64 * MIB,
                              .pids = 2048,
                              .cpu_quota_us = 50000,
                              .cpu_period_us = 100000,
                              .cpu_shares = 512};
    ok(cgroup_check_limits(&l, &e) == 0, "valid limits");
    struct cgroup_limits z = {0};
    ok(cgroup_check_limits(&z, &e) == 0, "all unset is valid");
    l.memory = 4 * MIB;
    ok(cgroup_check_limits(&l, &e) < 0 && e.code == EINVAL, "memory below 6 MiB (%s)", err_str(&e));
    l.memory = 1LL << 62;
    ok(cgroup_check_limits(&l, &e) == 0, "memory 4 EiB");
    l.memory = (1LL << 62) + 1;
    ok(cgroup_check_limits(&l, &e) < 0, "memory above 4 EiB");
    l.memory = 64 * MIB;
    l.memory_swap = 32 * MIB;
    ok(cgroup_check_limits(&l, &e) < 0, "memory-swap below memory");
    l.memory_swap = -1;
    ok(cgroup_check_limits(&l, &e) == 0, "memory-swap -1");
    l.memory_swap = -2;
    ok(cgroup_check_limits(&l, &e) < 0, "memory-swap -2");
    l.memory_swap = 0;
    z.memory_swap = 100 * MIB;
    ok(cgroup_check_limits(&z, &e) < 0, "memory-swap without memory");
    z.memory_swap = 0;
    l.pids = -1;
    ok(cgroup_check_limits(&l, &e) == 0, "pids -1 (unlimited)");
    l.pids = -5;
    ok(cgroup_check_limits(&l, &e) < 0, "pids -5");
    l.pids = 2048;
    l.cpu_quota_us = 999;
    ok(cgroup_check_limits(&l, &e) < 0, "quota below 1ms");
    l.cpu_quota_us = 50000;
    l.cpu_period_us = 2000000;
    ok(cgroup_check_limits(&l, &e) < 0, "period above 1s");
    l.cpu_period_us = 100000;
    l.cpu_shares = 1;
    ok(cgroup_check_limits(&l, &e) < 0, "shares 1");
    l.cpu_shares = 262145;
    ok(cgroup_check_limits(&l, &e) < 0, "shares 262145");

    ok(cgroup_shares_to_weight(2) == 1, "weight of 2 shares is 1");
    ok(cgroup_shares_to_weight(1024) == 39, "weight of 1024 shares is 39 (runc)");
    ok(cgroup_shares_to_weight(512) == 20, "weight of 512 shares is 20");
    ok(cgroup_shares_to_weight(262144) == 10000, "weight of 262144 shares is 10000");
    ok(sizeof(struct cgroup) <= 128, "struct cgroup is small (%zu bytes)", sizeof(struct cgroup));
}

static void test_names(void)
{
    struct cgroup_sys sys;
    struct cgroup cg;
    struct err e = {0};
    (void)cgroup_parse_mountinfo(&sys, mi_hybrid, &e);
    (void)cgroup_parse_self(&sys, "", &e);
    const char *bad[] = {"", "/abs", "a/../b", "a//b", "..", "a/", "sp ace", "a/b/c/d/e"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        e = (struct err){0};
        ok(cgroup_create(&sys, bad[i], NULL, &cg, &e) < 0 && e.code == EINVAL,
           "name '%s' rejected before touching anything", bad[i]);
    }
}

/* ---- live ---- */

static struct cgroup_sys sys, sys2;
static char parent[64], parent2[64], nx[96], noom[96], nrb[96], nfz[96], ny[96], nfz2[96];
static pid_t kids[8];
static int nkids;
static volatile unsigned long *counter;

static void cleanup(void)
{
    struct err e = {0};
    /* a frozen v1 child cannot die: thaw every test group before waiting for the children */
    const char *groups[] = {nx, noom, ny};
    for (size_t i = 0; i < sizeof groups / sizeof groups[0]; i++) {
        struct cgroup cg;
        const struct cgroup_sys *s = groups[i] == ny ? &sys2 : &sys;
        if (groups[i][0] && cgroup_open(s, groups[i], &cg, &e) == 0) {
            (void)cgroup_kill_all(&cg, &e);
            (void)cgroup_freeze(&cg, 0, &e);
        }
    }
    for (int i = 0; i < nkids; i++) {
        if (kids[i] > 0) {
            (void)kill(kids[i], SIGKILL);
            for (int t = 0; t < 500 && waitpid(kids[i], NULL, WNOHANG) == 0; t++)
                usleep(10000);
            kids[i] = 0;
        }
    }
    const char *names[] = {nx, noom, nrb, nfz, parent};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (names[i][0])
            (void)cgroup_remove_dir(&sys, names[i], &e); /* missing is fine */
    if (parent2[0]) {
        (void)cgroup_remove_dir(&sys2, ny, &e);
        (void)cgroup_remove_dir(&sys2, nfz2, &e);
        (void)cgroup_remove_dir(&sys2, parent2, &e);
    }
    /* the rollback test's manual directory */
    char p[1024];
    if (nrb[0] && sys.v1[CGROUP_FREEZER].mount[0]) {
        (void)snprintf(p, sizeof p, "%s/%s", sys.v1[CGROUP_FREEZER].base, nrb);
        (void)rmdir(p);
        (void)snprintf(p, sizeof p, "%s/%s", sys.v1[CGROUP_FREEZER].base, parent);
        (void)rmdir(p);
    }
}

static void on_fatal(int sig)
{
    cleanup();
    _exit(128 + sig);
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

enum kid_kind { KID_BUSY, KID_HOG };

/* Fork a child that waits for a byte on *GO_FD before it runs. */
static pid_t spawn_kid(enum kid_kind kind, int *go_fd)
{
    int p[2];
    if (pipe2(p, O_CLOEXEC) < 0)
        return -1;
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        (void)prctl(PR_SET_PDEATHSIG, SIGKILL);
        signal(SIGINT, SIG_DFL);
        signal(SIGTERM, SIG_DFL);
        signal(SIGALRM, SIG_DFL);
        close(p[1]);
        char c;
        if (read(p[0], &c, 1) != 1)
            _exit(3);
        if (kind == KID_BUSY) {
            char *m = malloc(4 * MIB);
            if (!m)
                _exit(4);
            volatile char *vm = m; /* volatile: the stores must not be optimised away */
            for (long i = 0; i < 4 * MIB; i += 4096)
                vm[i] = 1;
            for (;;)
                (*counter)++;
        }
        for (int i = 0; i < 1024; i++) {
            char *m = malloc(MIB);
            if (!m)
                _exit(5);
            volatile char *vm = m;
            for (long j = 0; j < MIB; j += 4096)
                vm[j] = (char)i;
        }
        _exit(0);
    }
    close(p[0]);
    kids[nkids++] = pid;
    *go_fd = p[1];
    return pid;
}

static void go(int *fd)
{
    if (write(*fd, "g", 1) != 1)
        perror("release child");
    close(*fd);
    *fd = -1;
}

/* Wait up to MS for PID; 1 with *STATUS when it exited. */
static int wait_ms(pid_t pid, int *status, long ms)
{
    for (long t = 0; t <= ms; t += 10) {
        pid_t r = waitpid(pid, status, WNOHANG);
        if (r == pid) {
            for (int i = 0; i < nkids; i++)
                if (kids[i] == pid)
                    kids[i] = 0;
            return 1;
        }
        sleep_ms(10);
    }
    return 0;
}

static int wait_frozen(const struct cgroup *cg)
{
    struct err e = {0};
    for (int i = 0; i < 300; i++) {
        int rc = cgroup_frozen_done(cg, &e);
        if (rc != 0)
            return rc;
        sleep_ms(10);
    }
    return 0;
}

static int file_is(const struct cgroup *cg, enum cgroup_ctrl c, const char *file, const char *want)
{
    char path[1024], buf[128] = "";
    struct err e = {0};
    if (cgroup_path(cg, c, file, path, sizeof path, &e) < 0)
        return 0;
    FILE *f = fopen(path, "re");
    if (!f)
        return 0;
    char *r = fgets(buf, sizeof buf, f);
    fclose(f);
    if (!r)
        return 0;
    buf[strcspn(buf, "\n")] = '\0';
    if (strcmp(buf, want) != 0) {
        printf("# %s: '%s', want '%s'\n", path, buf, want);
        return 0;
    }
    return 1;
}

/* Does /proc/PID/cgroup put PID in NAME for every controller of LIST? */
static int proc_in(pid_t pid, const char *const *list, size_t n, const char *name)
{
    char path[64], line[1024], suffix[128];
    (void)snprintf(path, sizeof path, "/proc/%d/cgroup", (int)pid);
    (void)snprintf(suffix, sizeof suffix, "/%s", name);
    size_t found = 0;
    for (size_t i = 0; i < n; i++) {
        FILE *f = fopen(path, "re");
        if (!f)
            return 0;
        while (fgets(line, sizeof line, f)) {
            line[strcspn(line, "\n")] = '\0';
            char *c1 = strchr(line, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
            if (!c2)
                continue;
            *c2 = '\0';
            char ctrls[256];
            (void)snprintf(ctrls, sizeof ctrls, ",%s,", c1 + 1);
            char want[64];
            (void)snprintf(want, sizeof want, ",%s,", list[i]);
            size_t pl = strlen(c2 + 1), sl = strlen(suffix);
            if (strstr(ctrls, want) && pl >= sl && strcmp(c2 + 1 + pl - sl, suffix) == 0)
                found++;
        }
        fclose(f);
    }
    return found == n;
}

static int gone(const struct cgroup_sys *s, const char *name)
{
    const struct cgroup_hier *hs[] = {&s->v1[CGROUP_MEMORY],
                                      &s->v1[CGROUP_PIDS],
                                      &s->v1[CGROUP_CPU],
                                      &s->v1[CGROUP_CPUACCT],
                                      &s->v1[CGROUP_FREEZER],
                                      &s->v1[CGROUP_BLKIO],
                                      &s->v2};
    char p[1024];
    for (size_t i = 0; i < sizeof hs / sizeof hs[0]; i++) {
        if (!hs[i]->mount[0])
            continue;
        (void)snprintf(p, sizeof p, "%s/%s", hs[i]->base, name);
        if (access(p, F_OK) == 0 || errno != ENOENT) {
            printf("# left: %s\n", p);
            return 0;
        }
    }
    return 1;
}

static void test_live_main(void)
{
    struct err e = {0};
    struct cgroup cg;
    int go_fd = -1, st = 0;

    struct cgroup_limits lim = {.memory = 64 * MIB,
                                .pids = 50,
                                .cpu_quota_us = 50000,
                                .cpu_period_us = 100000,
                                .cpu_shares = 512};
    int rc = cgroup_create(&sys, nx, &lim, &cg, &e);
    ok(rc == 0, "create %s: %s", nx, rc ? err_str(&e) : "ok");
    if (rc)
        return;
    ok(file_is(&cg, CGROUP_MEMORY, "memory.limit_in_bytes", "67108864"), "memory limit");
    char path[1024];
    if (cgroup_path(&cg, CGROUP_MEMORY, "memory.memsw.limit_in_bytes", path, sizeof path, &e) ==
            0 &&
        access(path, F_OK) == 0)
        ok(file_is(&cg, CGROUP_MEMORY, "memory.memsw.limit_in_bytes", "134217728"),
           "memory+swap defaults to twice the memory");
    ok(file_is(&cg, CGROUP_PIDS, "pids.max", "50"), "pids limit");
    ok(file_is(&cg, CGROUP_CPU, "cpu.cfs_quota_us", "50000") &&
           file_is(&cg, CGROUP_CPU, "cpu.cfs_period_us", "100000"),
       "cpu quota and period");
    ok(file_is(&cg, CGROUP_CPU, "cpu.shares", "512"), "cpu shares");

    struct cgroup_limits up = {.memory = 256 * MIB, .memory_swap = 512 * MIB};
    rc = cgroup_set_limits(&cg, &up, &e);
    ok(rc == 0 && file_is(&cg, CGROUP_MEMORY, "memory.limit_in_bytes", "268435456"),
       "raise memory past the old memory+swap: %s", rc ? err_str(&e) : "ok");
    up.memory = 64 * MIB;
    up.memory_swap = 64 * MIB;
    rc = cgroup_set_limits(&cg, &up, &e);
    ok(rc == 0 && file_is(&cg, CGROUP_MEMORY, "memory.limit_in_bytes", "67108864"),
       "lower it again: %s", rc ? err_str(&e) : "ok");

    struct cgroup op;
    ok(cgroup_open(&sys, nx, &op, &e) == 0 && strcmp(op.name, nx) == 0, "open existing group");
    ok(cgroup_open(&sys, nfz, &op, &e) < 0 && e.code == ENOENT, "open missing group: ENOENT");
    ok(cgroup_create(&sys, nx, NULL, &op, &e) < 0 && e.code == EEXIST, "create twice: EEXIST");

    pid_t pid = spawn_kid(KID_BUSY, &go_fd);
    ok(pid > 0, "fork busy child");
    if (pid <= 0)
        return;
    rc = cgroup_enter(&cg, pid, &e);
    ok(rc == 0, "enter child: %s", rc ? err_str(&e) : "ok");
    go(&go_fd);
    const char *ctrls[] = {"memory", "pids", "cpu", "cpuacct", "freezer", "blkio"};
    ok(proc_in(pid, ctrls, 6, nx), "/proc/%d/cgroup shows %s for all six controllers", (int)pid,
       nx);
    sleep_ms(300);

    rc = cgroup_freeze(&cg, 1, &e);
    ok(rc == 0, "freeze: %s", rc ? err_str(&e) : "ok");
    ok(wait_frozen(&cg) == 1, "frozen within 3s");
    unsigned long a = *counter;
    sleep_ms(200);
    unsigned long b = *counter;
    ok(a == b && a > 0, "a frozen child does not advance (%lu, %lu)", a, b);
    rc = cgroup_freeze(&cg, 0, &e);
    ok(rc == 0, "thaw: %s", rc ? err_str(&e) : "ok");
    ok(cgroup_frozen_done(&cg, &e) == 0, "thawed is not frozen");
    sleep_ms(200);
    ok(*counter > b, "a thawed child runs again");

    struct cgroup_stats s;
    rc = cgroup_stats(&cg, &s, &e);
    ok(rc == 0, "stats: %s", rc ? err_str(&e) : "ok");
    printf("# cpu %llu ns, mem %llu/%llu, pids %llu/%llu, blk %llu/%llu\n", s.cpu_ns, s.mem_usage,
           s.mem_limit, s.pids, s.pids_limit, s.blk_read, s.blk_write);
    ok(s.cpu_ns > 10 * 1000000ULL, "cpu time counted");
    ok(s.mem_usage >= 4 * MIB && s.mem_limit == 64 * MIB, "memory usage and limit");
    ok(s.pids == 1 && s.pids_limit == 50, "pids and pids limit");

    e = (struct err){0};
    ok(cgroup_destroy(&cg, &e) < 0 && e.code == EBUSY, "destroy with a process: EBUSY (%s)",
       err_str(&e));

    ok(cgroup_freeze(&cg, 1, &e) == 0 && wait_frozen(&cg) == 1, "freeze again");
    rc = cgroup_kill_all(&cg, &e);
    ok(rc == 0, "kill all of a frozen group: %s", rc ? err_str(&e) : "ok");
    ok(wait_ms(pid, &st, 5000) && WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL,
       "the frozen child died of SIGKILL");
    rc = -1;
    for (int i = 0; i < 100 && rc < 0; i++) {
        rc = cgroup_destroy(&cg, &e);
        if (rc < 0)
            sleep_ms(10);
    }
    ok(rc == 0, "destroy after reaping: %s", rc ? err_str(&e) : "ok");
    ok(cgroup_destroy(&cg, &e) == 0, "destroy is idempotent");
    ok(gone(&sys, nx), "no %s left", nx);
}

static void test_live_oom(void)
{
    struct err e = {0};
    struct cgroup cg;
    int go_fd = -1, st = 0;
    struct cgroup_limits lim = {.memory = 32 * MIB, .memory_swap = 32 * MIB, .pids = 50};
    int rc = cgroup_create(&sys, noom, &lim, &cg, &e);
    ok(rc == 0, "create %s: %s", noom, rc ? err_str(&e) : "ok");
    if (rc)
        return;
    int fd = cgroup_oom_fd(&cg, &e);
    ok(fd >= 0, "oom fd: %s", fd < 0 ? err_str(&e) : "ok");
    long long kills = -1;
    ok(cgroup_oom_kills(&cg, &kills, &e) == 0 && kills == 0, "no oom kill yet");
    pid_t pid = spawn_kid(KID_HOG, &go_fd);
    ok(pid > 0 && cgroup_enter(&cg, pid, &e) == 0, "hog child entered");
    if (pid <= 0)
        goto out;
    go(&go_fd);
    struct pollfd pfd = {fd, POLLIN, 0};
    ok(fd >= 0 && poll(&pfd, 1, 10000) == 1 && (pfd.revents & POLLIN), "oom fd became readable");
    ok(wait_ms(pid, &st, 10000) && WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL,
       "hog was SIGKILLed (status %#x)", st);
    rc = cgroup_oom_kills(&cg, &kills, &e);
    ok(rc == 0 && kills >= 1, "oom kills counted: %lld", kills);
    ok(fd >= 0 && cgroup_oom_drain(fd, &e) == 0, "drain oom fd");
    pfd.revents = 0;
    ok(fd >= 0 && poll(&pfd, 1, 0) == 0, "drained fd is quiet");
out:
    if (fd >= 0)
        close(fd);
    rc = -1;
    for (int i = 0; i < 100 && rc < 0; i++) {
        rc = cgroup_destroy(&cg, &e);
        if (rc < 0)
            sleep_ms(10);
    }
    ok(rc == 0, "destroy oom group: %s", rc ? err_str(&e) : "ok");
}

static void test_live_rollback(void)
{
    struct err e = {0};
    struct cgroup cg;
    if (!sys.v1[CGROUP_FREEZER].mount[0] || sys.mode == CGROUP_V2)
        return;
    char p[1024], q[1024];
    (void)snprintf(p, sizeof p, "%s/%s", sys.v1[CGROUP_FREEZER].base, parent);
    (void)snprintf(q, sizeof q, "%s/%s", sys.v1[CGROUP_FREEZER].base, nrb);
    ok((mkdir(p, 0755) == 0 || errno == EEXIST) && mkdir(q, 0755) == 0,
       "pre-create the freezer leaf");
    struct cgroup_limits lim = {.pids = 10};
    ok(cgroup_create(&sys, nrb, &lim, &cg, &e) < 0 && e.code == EEXIST,
       "create fails when one hierarchy has the leaf (%s)", err_str(&e));
    ok(rmdir(q) == 0, "remove the pre-created leaf");
    ok(gone(&sys, nrb), "rollback removed the leaves it created");
}

/* The v2 paths on hybrid's unified mount: it has no controllers, but cgroup.procs,
 * cgroup.freeze, cgroup.events, cgroup.kill and cpu.stat are core files. */
static void test_live_v2(void)
{
    struct err e = {0};
    struct cgroup cg;
    int go_fd = -1, st = 0;
    sys2 = sys;
    sys2.mode = CGROUP_V2;
    (void)snprintf(parent2, sizeof parent2, "berth-test-%d-v2", (int)getpid());
    (void)snprintf(ny, sizeof ny, "%s/y", parent2);
    (void)snprintf(nfz2, sizeof nfz2, "%s/fz", parent2);
    int rc = cgroup_create(&sys2, ny, NULL, &cg, &e);
    ok(rc == 0, "v2: create %s without limits: %s", ny, rc ? err_str(&e) : "ok");
    if (rc)
        return;
    struct cgroup_limits lim = {.memory = 64 * MIB};
    struct cgroup bad;
    ok(cgroup_create(&sys2, nfz2, &lim, &bad, &e) < 0 && e.code == ENOTSUP,
       "v2: a limit without its controller fails (%s)", err_str(&e));
    ok(gone(&sys2, nfz2), "v2: and leaves nothing");
    pid_t pid = spawn_kid(KID_BUSY, &go_fd);
    ok(pid > 0 && cgroup_enter(&cg, pid, &e) == 0, "v2: enter");
    if (pid <= 0)
        return;
    go(&go_fd);
    sleep_ms(200);
    ok(cgroup_freeze(&cg, 1, &e) == 0 && wait_frozen(&cg) == 1, "v2: cgroup.freeze");
    unsigned long a = *counter;
    sleep_ms(200);
    ok(*counter == a, "v2: frozen child stopped");
    ok(cgroup_freeze(&cg, 0, &e) == 0 && cgroup_frozen_done(&cg, &e) == 0, "v2: thaw");
    sleep_ms(100);
    ok(*counter != a, "v2: thawed child runs");
    struct cgroup_stats s;
    rc = cgroup_stats(&cg, &s, &e);
    ok(rc == 0 && s.cpu_ns > 0 && s.mem_limit == 0, "v2: stats from cpu.stat (%llu ns): %s",
       s.cpu_ns, rc ? err_str(&e) : "ok");
    ok(cgroup_oom_fd(&cg, &e) < 0, "v2: no memory.events without the memory controller");
    ok(cgroup_freeze(&cg, 1, &e) == 0 && cgroup_kill_all(&cg, &e) == 0, "v2: kill frozen group");
    ok(wait_ms(pid, &st, 5000) && WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL,
       "v2: child died of SIGKILL");
    rc = -1;
    for (int i = 0; i < 100 && rc < 0; i++) {
        rc = cgroup_destroy(&cg, &e);
        if (rc < 0)
            sleep_ms(10);
    }
    ok(rc == 0, "v2: destroy: %s", rc ? err_str(&e) : "ok");
    ok(cgroup_remove_dir(&sys2, parent2, &e) == 0 && gone(&sys2, parent2), "v2: parent removed");
}

static void test_live(void)
{
    struct err e = {0};
    if (geteuid() != 0) {
        printf("# skip live cgroup tests: not root\n");
        return;
    }
    if (cgroup_detect(&sys, &e) < 0) {
        printf("# skip live cgroup tests: %s\n", err_str(&e));
        return;
    }
    printf("# mode %s, memory base %s, v2 base %s\n", cgroup_mode_name(sys.mode),
           sys.v1[CGROUP_MEMORY].base, sys.v2.base);
    if (access("/sys/fs/cgroup/memory/memory.limit_in_bytes", F_OK) == 0 &&
        access("/sys/fs/cgroup/unified/cgroup.procs", F_OK) == 0)
        ok(sys.mode == CGROUP_HYBRID, "this machine is hybrid");

    counter = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (counter == MAP_FAILED) {
        ok(0, "mmap counter");
        return;
    }
    (void)snprintf(parent, sizeof parent, "berth-test-%d", (int)getpid());
    (void)snprintf(nx, sizeof nx, "%s/x", parent);
    (void)snprintf(noom, sizeof noom, "%s/oom", parent);
    (void)snprintf(nrb, sizeof nrb, "%s/rb", parent);
    (void)snprintf(nfz, sizeof nfz, "%s/fz", parent);
    atexit(cleanup);
    signal(SIGINT, on_fatal);
    signal(SIGTERM, on_fatal);
    signal(SIGALRM, on_fatal);
    alarm(120);

    test_live_main();
    if (sys.mode != CGROUP_V2 ? sys.v1[CGROUP_MEMORY].mount[0] != 0 : 1)
        test_live_oom();
    test_live_rollback();
    ok(cgroup_remove_dir(&sys, parent, &e) == 0, "remove the test parent: %s",
       e.code ? err_str(&e) : "ok");
    if (sys.mode == CGROUP_HYBRID && access(sys.v2.base, W_OK) == 0 &&
        strcmp(sys.v2.base, sys.v2.mount) == 0)
        test_live_v2();
    else if (sys.mode == CGROUP_HYBRID)
        printf("# skip v2 paths on the unified mount\n");
    cleanup();
    ok(gone(&sys, parent) && (!parent2[0] || gone(&sys2, parent2)), "no test cgroup left");
    alarm(0);
}

int main(void)
{
    test_parse();
    test_limits();
    test_names();
    test_live();
    return done();
}
