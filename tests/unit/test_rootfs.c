/* SPDX-License-Identifier: MIT */
/* tests/unit/test_rootfs.c - storage/rootfs: user resolution against passwd/group files,
 * storage_mkdir_owned, and (as root) a real storage_rootfs_setup in a child with fresh
 * namespaces. The child reports each check through a pipe and its exit code. */
#include "storage/rootfs.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/err.h"
#include "core/util.h"
#include "tests/unit/tap.h"

static char dir[64];

static void write_file(const char *name, const char *txt)
{
    char p[256];
    struct err e = {0};
    (void)snprintf(p, sizeof p, "%s/%s", dir, name);
    if (util_write_atomic(p, txt, strlen(txt), &e) < 0) {
        fprintf(stderr, "write %s: %s\n", p, e.msg);
        exit(1);
    }
}

static int resolve(const char *spec, struct storage_user *u, struct err *e)
{
    char pw[256], gr[256];
    (void)snprintf(pw, sizeof pw, "%s/passwd", dir);
    (void)snprintf(gr, sizeof gr, "%s/group", dir);
    memset(u, 0xab, sizeof *u);
    memset(e, 0, sizeof *e);
    return storage_user_resolve(spec, pw, gr, u, e);
}

static int has_group(const struct storage_user *u, gid_t g)
{
    for (int i = 0; i < u->ngroups; i++)
        if (u->groups[i] == g)
            return 1;
    return 0;
}

static void test_users(void)
{
    struct storage_user u;
    struct err e;
    char longline[9000];

    memset(longline, 'x', sizeof longline);
    memcpy(longline, "longuser:x:77:77:", 17);
    longline[sizeof longline - 2] = '\n';
    longline[sizeof longline - 1] = '\0';

    char pw[12000];
    (void)snprintf(pw, sizeof pw,
                   "root:x:0:0:root:/root:/bin/sh\n"
                   "# a comment\n"
                   "\n"
                   "broken line without colons\n"
                   "baduid:x:abc:1:bad:/bad:/bin/sh\n"
                   "short:x:5\n"
                   "daemon:x:1:1:daemon:/usr/sbin:/bin/false\n"
                   "%s"
                   "nohome:x:1001:1001:nohome::/bin/sh\n"
                   "rootless:x:0:0:root2\n"
                   "berth:x:1000:1000:berth:/home/berth:/bin/sh\n"
                   "after:x:1002:1002:after:/home/after:/bin/sh",
                   longline);
    write_file("passwd", pw);
    write_file("group", "root:x:0:\n"
                        "daemon:x:1:berth\n"
                        "garbage\n"
                        "tty:x:5:berth,after\n"
                        "badgid:x:zz:berth\n"
                        "berth:x:1000:\n"
                        "extra:x:2000:other,berth\n"
                        "extra2:x:2001:berthx,xberth\n"
                        "dup:x:2000:berth\n"
                        "nohome:x:1001:nohome\n");

    ok(resolve("", &u, &e) == 0 && u.uid == 0 && u.gid == 0 && strcmp(u.home, "/root") == 0,
       "empty spec is root with /root (%s)", e.msg);
    ok(resolve("root", &u, &e) == 0 && u.uid == 0 && u.gid == 0 && u.ngroups == 0,
       "root by name, no supplementary groups");
    ok(resolve("berth", &u, &e) == 0 && u.uid == 1000 && u.gid == 1000 &&
           strcmp(u.home, "/home/berth") == 0,
       "berth by name: 1000:1000 /home/berth (%s)", e.msg);
    ok(u.ngroups == 3 && has_group(&u, 1) && has_group(&u, 5) && has_group(&u, 2000) &&
           !has_group(&u, 2001),
       "berth supplementary groups 1 5 2000, deduplicated, no substring match (n=%d)", u.ngroups);
    ok(resolve("1000", &u, &e) == 0 && u.uid == 1000 && u.gid == 1000 &&
           strcmp(u.home, "/home/berth") == 0 && has_group(&u, 2000),
       "numeric uid with an entry uses it");
    ok(resolve("4242", &u, &e) == 0 && u.uid == 4242 && u.gid == 0 && strcmp(u.home, "/") == 0 &&
           u.ngroups == 0,
       "numeric uid without an entry: gid 0, home /");
    ok(resolve("4242:77", &u, &e) == 0 && u.uid == 4242 && u.gid == 77, "uid:gid");
    ok(resolve("berth:tty", &u, &e) == 0 && u.uid == 1000 && u.gid == 5 && u.ngroups == 0,
       "name:group sets the primary group only");
    ok(resolve("berth:3000", &u, &e) == 0 && u.uid == 1000 && u.gid == 3000, "name:gid");
    ok(resolve("1000:extra", &u, &e) == 0 && u.uid == 1000 && u.gid == 2000, "uid:group");
    ok(resolve("berth:", &u, &e) == 0 && u.gid == 1000 && u.ngroups == 3,
       "name: with an empty group is the plain name");
    ok(resolve("nosuch", &u, &e) < 0 && e.code == ENOENT &&
           strstr(e.msg, "unable to find user nosuch: no matching entries in passwd file") == e.msg,
       "unknown user: ENOENT and Docker's message (%s)", e.msg);
    ok(resolve("berth:nogroup", &u, &e) < 0 && e.code == ENOENT &&
           strstr(e.msg, "unable to find group nogroup"),
       "unknown group: ENOENT (%s)", e.msg);
    ok(resolve("nohome", &u, &e) == 0 && u.uid == 1001 && strcmp(u.home, "/") == 0 &&
           u.ngroups == 1 && u.groups[0] == 1001,
       "empty HOME falls back to / for non-root");
    ok(resolve("rootless", &u, &e) == 0 && u.uid == 0 && strcmp(u.home, "/root") == 0,
       "missing HOME field falls back to /root for uid 0");
    ok(resolve("baduid", &u, &e) < 0 && e.code == ENOENT, "line with a bad uid is skipped");
    ok(resolve("short", &u, &e) < 0 && e.code == ENOENT, "line with too few fields is skipped");
    ok(resolve("longuser", &u, &e) < 0 && e.code == ENOENT, "over-long line is skipped");
    ok(resolve("after", &u, &e) == 0 && u.uid == 1002 && has_group(&u, 5),
       "the line after an over-long one is read");
    ok(resolve("99999999999", &u, &e) < 0 && e.code == ERANGE, "uid out of range (%s)", e.msg);
    ok(resolve(":5", &u, &e) < 0 && e.code == EINVAL, "empty user with a group is invalid");

    char bad[256];
    (void)snprintf(bad, sizeof bad, "%s/none", dir);
    memset(&e, 0, sizeof e);
    ok(storage_user_resolve("7", bad, bad, &u, &e) == 0 && u.uid == 7 && u.gid == 0,
       "missing passwd/group files count as empty");
    ok(storage_user_resolve("berth", bad, bad, &u, &e) < 0 && e.code == ENOENT,
       "a name with missing files is unknown");

    /* --group-add */
    char gr[256];
    (void)snprintf(gr, sizeof gr, "%s/group", dir);
    ok(resolve("root", &u, &e) == 0 && storage_group_add("tty", gr, &u, &e) == 0 &&
           storage_group_add("4242", gr, &u, &e) == 0 &&
           storage_group_add("tty", gr, &u, &e) == 0 && u.ngroups == 2 && u.groups[0] == 5 &&
           u.groups[1] == 4242,
       "group-add by name and by gid, once each (%s)", e.msg);
    ok(storage_group_add("nosuch", gr, &u, &e) < 0 && e.code == ENOENT &&
           strstr(e.msg, "unable to find group nosuch: no matching entries in group file"),
       "group-add of an unknown name (%s)", e.msg);
    ok(storage_group_add("", gr, &u, &e) < 0, "group-add of nothing");
    u.ngroups = STORAGE_GROUPS_MAX;
    ok(storage_group_add("7", gr, &u, &e) < 0 && e.code == E2BIG, "group-add past the limit");
}

static void test_mkdir_owned(void)
{
    char p[256];
    struct stat st;
    struct err e = {0};
    int root = geteuid() == 0;
    uid_t uid = root ? 1234 : geteuid();
    gid_t gid = root ? 4321 : getegid();

    (void)snprintf(p, sizeof p, "%s/w/a//b/c/", dir);
    mode_t old = umask(077);
    int rc = storage_mkdir_owned(p, uid, gid, &e);
    umask(old);
    ok(rc == 0, "mkdir_owned nested (%s)", e.msg);
    (void)snprintf(p, sizeof p, "%s/w/a/b/c", dir);
    ok(stat(p, &st) == 0 && S_ISDIR(st.st_mode) && (st.st_mode & 07777) == 0755 &&
           st.st_uid == uid && st.st_gid == gid,
       "created dirs are 0755 and owned by uid:gid despite umask");
    ok(storage_mkdir_owned(p, uid, gid, &e) == 0, "existing directory is fine");
    (void)snprintf(p, sizeof p, "%s/passwd/x", dir);
    ok(storage_mkdir_owned(p, uid, gid, &e) < 0 && e.code == ENOTDIR,
       "a file in the way fails with ENOTDIR (%s)", e.msg);
    (void)snprintf(p, sizeof p, "%s", dir);
    ok(stat(p, &st) == 0 && st.st_uid == geteuid(), "existing parents keep their owner");
}

/* ---- real setup, as root ---- */

enum {
    CK_SETUP,
    CK_PID1,
    CK_CWD,
    CK_PROC,
    CK_SYS_RO,
    CK_DEV_NULL,
    CK_DEV_TTY,
    CK_DEV_TMPFS,
    CK_PTS,
    CK_PTMX,
    CK_SHM,
    CK_MQUEUE,
    CK_FD_LINK,
    CK_HOSTNAME,
    CK_HOSTS_CREATED,
    CK_OLD_ROOT_GONE,
    CK_ROOT_WRITE,
    CK_BUSYBOX,
    CK_RESOLV,
    CK_CGROUP_RO,
    CK_FILE_AT_ROOT,
    CK_FILE_AT_ROOT_RO,
    CK_N
};

static const char *const ck_names[CK_N] = {
    "setup succeeds",
    "child is pid 1",
    "cwd is /",
    "/proc is procfs",
    "/sys is read-only sysfs",
    "/dev/null is char 1:3 and writable",
    "/dev/tty is char 5:0",
    "/dev is a 755 tmpfs",
    "/dev/pts is devpts",
    "/dev/ptmx opens",
    "/dev/shm is a 1777 tmpfs",
    "/dev/mqueue is mqueue",
    "/dev/fd -> /proc/self/fd",
    "/etc/hostname is the bound file",
    "/etc/hosts created and bound",
    "host paths are gone",
    "writing / behaves per read_only",
    "busybox runs inside",
    "/etc/resolv.conf symlink to a host path replaced by the bound file",
    "/sys submounts (/sys/fs/cgroup) read-only too",
    "a host file bound directly under / (/hf)",
    "a host file bound read-only directly under / (/hro)",
};

struct report {
    struct err e;
    int ck[CK_N];
};

static int fs_is(const char *p, long type)
{
    struct statfs sfs;
    return statfs(p, &sfs) == 0 && sfs.f_type == type;
}

static void child_checks(const struct storage_rootfs *r, struct report *rep)
{
    struct stat st;
    char buf[256];

    for (int i = 0; i < CK_N; i++)
        rep->ck[i] = 0;
    rep->ck[CK_SETUP] = storage_rootfs_setup(r, &rep->e) == 0;
    if (!rep->ck[CK_SETUP])
        return;
    rep->ck[CK_PID1] = getpid() == 1;
    rep->ck[CK_CWD] = getcwd(buf, sizeof buf) && strcmp(buf, "/") == 0;
    rep->ck[CK_PROC] = fs_is("/proc", PROC_SUPER_MAGIC) && access("/proc/1/status", R_OK) == 0;
    struct statvfs sv;
    rep->ck[CK_SYS_RO] = fs_is("/sys", SYSFS_MAGIC) && statvfs("/sys", &sv) == 0 &&
                         (sv.f_flag & ST_RDONLY) && mkdir("/sys/x", 0755) < 0;
    int fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
    rep->ck[CK_DEV_NULL] = stat("/dev/null", &st) == 0 && S_ISCHR(st.st_mode) &&
                           st.st_rdev == makedev(1, 3) && (st.st_mode & 0777) == 0666 && fd >= 0 &&
                           write(fd, "x", 1) == 1;
    if (fd >= 0)
        close(fd);
    rep->ck[CK_DEV_TTY] =
        stat("/dev/tty", &st) == 0 && S_ISCHR(st.st_mode) && st.st_rdev == makedev(5, 0);
    rep->ck[CK_DEV_TMPFS] = fs_is("/dev", TMPFS_MAGIC) && stat("/dev", &st) == 0 &&
                            (st.st_mode & 07777) == 0755 && access("/dev/urandom", F_OK) == 0 &&
                            access("/dev/random", F_OK) == 0 && access("/dev/zero", F_OK) == 0 &&
                            access("/dev/full", F_OK) == 0;
    rep->ck[CK_PTS] = fs_is("/dev/pts", DEVPTS_SUPER_MAGIC);
    fd = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
    rep->ck[CK_PTMX] = fd >= 0 && readlink("/dev/ptmx", buf, sizeof buf) == 8;
    if (fd >= 0)
        close(fd);
    rep->ck[CK_SHM] = fs_is("/dev/shm", TMPFS_MAGIC) && stat("/dev/shm", &st) == 0 &&
                      (st.st_mode & 07777) == 01777;
    rep->ck[CK_MQUEUE] = fs_is("/dev/mqueue", 0x19800202);
    ssize_t n = readlink("/dev/fd", buf, sizeof buf - 1);
    rep->ck[CK_FD_LINK] = n == 13 && memcmp(buf, "/proc/self/fd", 13) == 0 &&
                          readlink("/dev/stderr", buf, sizeof buf) == 15;
    fd = open("/etc/hostname", O_RDONLY | O_CLOEXEC);
    n = fd >= 0 ? read(fd, buf, sizeof buf - 1) : -1;
    if (fd >= 0)
        close(fd);
    rep->ck[CK_HOSTNAME] = n == 9 && memcmp(buf, "testhost\n", 9) == 0;
    fd = open("/etc/hosts", O_RDONLY | O_CLOEXEC);
    n = fd >= 0 ? read(fd, buf, sizeof buf - 1) : -1;
    if (fd >= 0)
        close(fd);
    rep->ck[CK_HOSTS_CREATED] = n > 9 && memcmp(buf, "127.0.0.1", 9) == 0;
    rep->ck[CK_OLD_ROOT_GONE] = access(dir, F_OK) < 0 && access("/usr/lib", F_OK) < 0;
    fd = open("/written", O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    int shm = open("/dev/shm/x", O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    rep->ck[CK_ROOT_WRITE] = (r->read_only ? fd < 0 && errno == EROFS : fd >= 0) && shm >= 0;
    if (fd >= 0)
        close(fd);
    if (shm >= 0)
        close(shm);
    fd = open("/etc/resolv.conf", O_RDONLY | O_CLOEXEC);
    n = fd >= 0 ? read(fd, buf, sizeof buf - 1) : -1;
    if (fd >= 0)
        close(fd);
    rep->ck[CK_RESOLV] = lstat("/etc/resolv.conf", &st) == 0 && S_ISREG(st.st_mode) && n == 19 &&
                         memcmp(buf, "nameserver 9.9.9.9\n", 19) == 0;
    rep->ck[CK_CGROUP_RO] = statvfs("/sys/fs/cgroup", &sv) < 0 || (sv.f_flag & ST_RDONLY);
    fd = open("/hf", O_RDONLY | O_CLOEXEC);
    n = fd >= 0 ? read(fd, buf, sizeof buf - 1) : -1;
    if (fd >= 0)
        close(fd);
    rep->ck[CK_FILE_AT_ROOT] = n == 5 && memcmp(buf, "bind\n", 5) == 0;
    fd = open("/hro", O_RDONLY | O_CLOEXEC);
    n = fd >= 0 ? read(fd, buf, sizeof buf - 1) : -1;
    if (fd >= 0)
        close(fd);
    fd = open("/hro", O_WRONLY | O_CLOEXEC);
    rep->ck[CK_FILE_AT_ROOT_RO] =
        n == 5 && memcmp(buf, "bind\n", 5) == 0 && fd < 0 && errno == EROFS;
    if (fd >= 0)
        close(fd);
    pid_t pid = fork();
    if (pid == 0) {
        execl("/bin/busybox", "true", (char *)NULL);
        _exit(127);
    }
    int status = 0;
    rep->ck[CK_BUSYBOX] =
        pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

/* Fork a child in fresh namespaces whose own child (pid 1 there) sets up the rootfs. */
static int run_setup(const struct storage_rootfs *r, int new_net, struct report *rep)
{
    int pfd[2];
    if (pipe2(pfd, O_CLOEXEC) < 0)
        return -1;
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        close(pfd[0]);
        int flags = CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWCGROUP;
        if (new_net)
            flags |= CLONE_NEWNET;
        if (unshare(flags) < 0)
            _exit(2);
        pid_t inner = fork();
        if (inner < 0)
            _exit(3);
        if (inner == 0) {
            struct report rr;
            memset(&rr, 0, sizeof rr);
            child_checks(r, &rr);
            int bad = 0;
            for (int i = 0; i < CK_N; i++)
                bad += !rr.ck[i];
            _exit(write(pfd[1], &rr, sizeof rr) == (ssize_t)sizeof rr ? (bad ? 1 : 0) : 4);
        }
        close(pfd[1]);
        int st = 0;
        if (waitpid(inner, &st, 0) != inner)
            _exit(5);
        _exit(WIFEXITED(st) ? WEXITSTATUS(st) : 6);
    }
    close(pfd[1]);
    memset(rep, 0, sizeof *rep);
    ssize_t n = read(pfd[0], rep, sizeof *rep);
    close(pfd[0]);
    int st = 0;
    if (waitpid(pid, &st, 0) != pid)
        return -1;
    if (n != (ssize_t)sizeof *rep)
        return -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static int copy_busybox(const char *dst)
{
    struct err e = {0};
    size_t len = 0;
    auto_free char *bin = util_read_file("/bin/busybox", 64 * 1024 * 1024, &len, &e);
    if (!bin)
        return -1;
    auto_close int fd = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0755);
    return fd < 0 ? -1 : util_write_all(fd, bin, len, &e);
}

static size_t count_lines(const char *path)
{
    struct err e = {0};
    auto_free char *txt = util_read_file(path, 16 * 1024 * 1024, NULL, &e);
    size_t n = 0;
    for (char *p = txt; p && *p; p++)
        n += *p == '\n';
    return n;
}

static void one_setup(const char *what, int read_only, int host_network)
{
    char lower[128], upper[128], work[128], merged[128], hostname[128], hosts[128], resolv[128];
    char p[256], victim[256], bindsrc[128];
    struct err e = {0};
    struct stat st;
    struct report rep;

    (void)snprintf(lower, sizeof lower, "%s/%s-lower", dir, what);
    (void)snprintf(upper, sizeof upper, "%s/%s-upper", dir, what);
    (void)snprintf(work, sizeof work, "%s/%s-work", dir, what);
    (void)snprintf(merged, sizeof merged, "%s/%s-merged", dir, what);
    (void)snprintf(hostname, sizeof hostname, "%s/hostname", dir);
    (void)snprintf(hosts, sizeof hosts, "%s/hosts", dir);
    (void)snprintf(p, sizeof p, "%s/bin", lower);
    int prep = util_mkdir_p(p, 0755, &e) == 0 && mkdir(upper, 0755) == 0 &&
               mkdir(work, 0755) == 0 && mkdir(merged, 0755) == 0;
    (void)snprintf(resolv, sizeof resolv, "%s/resolv.conf", dir);
    (void)snprintf(p, sizeof p, "%s/bin/busybox", lower);
    prep = prep && copy_busybox(p) == 0;
    /* an image whose /etc/resolv.conf points at a host path: the bind must not follow it */
    (void)snprintf(p, sizeof p, "%s/etc", lower);
    (void)snprintf(victim, sizeof victim, "%s/victim", dir);
    prep = prep && mkdir(p, 0755) == 0;
    (void)snprintf(p, sizeof p, "%s/etc/resolv.conf", lower);
    prep = prep && symlink(victim, p) == 0;
    ok(prep, "%s: prepared lower/upper/work/merged", what);
    (void)snprintf(bindsrc, sizeof bindsrc, "%s/bindsrc", dir);
    /* files right under / (no parent directory to name but the root) */
    const struct storage_mount mounts[] = {
        {.source = bindsrc, .target = "/hf"},
        {.source = bindsrc, .target = "/hro", .read_only = 1},
    };

    struct storage_rootfs r = {
        .lower = lower,
        .upper = upper,
        .work = work,
        .merged = merged,
        .hostname = hostname,
        .hosts = hosts,
        .resolv = resolv,
        .read_only = read_only,
        .host_network = host_network,
        .mounts = mounts,
        .nmounts = (int)ARRAY_LEN(mounts),
    };
    int rc = run_setup(&r, !host_network, &rep);
    ok(rc >= 0, "%s: child reported (rc %d)", what, rc);
    if (rc < 0)
        return;
    for (int i = 0; i < CK_N; i++)
        ok(rep.ck[i], "%s: %s%s%s", what, ck_names[i], i == CK_SETUP && !rep.ck[i] ? ": " : "",
           i == CK_SETUP && !rep.ck[i] ? rep.e.msg : "");
    ok(rc == 0, "%s: child exit code 0", what);

    (void)snprintf(p, sizeof p, "%s/written", upper);
    ok(read_only ? stat(p, &st) < 0 : stat(p, &st) == 0, "%s: a write to / %s the upper dir", what,
       read_only ? "never reaches" : "lands in");
    (void)snprintf(p, sizeof p, "%s/etc/hosts", upper);
    ok(stat(p, &st) == 0 && S_ISREG(st.st_mode) && st.st_size == 0,
       "%s: missing /etc/hosts was created (empty) in the upper layer", what);
    (void)snprintf(p, sizeof p, "%s/etc/hosts", lower);
    ok(stat(p, &st) < 0, "%s: lower layer untouched", what);
    (void)snprintf(p, sizeof p, "%s/etc/resolv.conf", upper);
    ok(lstat(p, &st) == 0 && S_ISREG(st.st_mode), "%s: resolv.conf symlink replaced in the upper",
       what);
    ok(access(victim, F_OK) < 0, "%s: the symlink's host target was never created", what);
}

static void test_setup(void)
{
    struct err e = {0};

    if (geteuid() != 0) {
        printf("# skip rootfs setup: not root\n");
        return;
    }
    if (unshare(0) < 0 || access("/proc/self/ns/mnt", F_OK) < 0) {
        printf("# skip rootfs setup: no namespaces\n");
        return;
    }
    size_t before = count_lines("/proc/self/mounts");
    write_file("hostname", "testhost\n");
    write_file("hosts", "127.0.0.1\tlocalhost testhost\n");
    write_file("resolv.conf", "nameserver 9.9.9.9\n");
    write_file("bindsrc", "bind\n");

    one_setup("rw", 0, 0);
    one_setup("ro", 1, 0);
    one_setup("hostnet", 0, 1);

    ok(count_lines("/proc/self/mounts") == before, "no mount leaked into the host namespace");

    /* an upper path with a comma cannot be expressed in overlay options (a lower one, such as
     * an image "name:tag", is passed as an fd path instead: images.bats) */
    struct storage_rootfs bad = {.lower = "/l", .upper = "/u,v", .work = "/w", .merged = "/m"};
    ok(storage_rootfs_setup(&bad, &e) < 0 && e.code == EINVAL,
       "overlay path with ',' rejected before any mount (%s)", e.msg);
}

static void rm_rf(const char *path)
{
    pid_t pid = fork();
    if (pid == 0) {
        execlp("rm", "rm", "-rf", path, (char *)NULL);
        _exit(127);
    }
    int st;
    if (pid > 0)
        (void)waitpid(pid, &st, 0);
}

int main(void)
{
    (void)snprintf(dir, sizeof dir, "/tmp/test_rootfs.XXXXXX");
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    test_users();
    test_mkdir_owned();
    test_setup();
    rm_rf(dir);
    return done();
}
