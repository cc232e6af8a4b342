/* SPDX-License-Identifier: MIT */
/* storage/rootfs.c - a container's root filesystem (overlay, /etc binds, /proc, /sys, /dev),
 * set up by the cloned child inside its own mount namespace, then pivot_root; user specs
 * resolved against the image's passwd/group files; owned mkdir -p for the working directory.
 * Library: synchronous, no libev, no globals, no logging, never forks. Paths inside the
 * container's tree are resolved with openat2(RESOLVE_IN_ROOT) so an image's symlinks can never
 * point a mount at the host. */
#include "storage/rootfs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <linux/openat2.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "core/err.h"
#include "core/limits.h"
#include "core/util.h"

#define FD_PATH_MAX 32
#define ID_MAX      2147483647LL /* uids and gids as Docker accepts them */

static int open_in_root(int rootfd, const char *rel, int flags)
{
    struct open_how how = {
        .flags = (uint64_t)(flags | O_CLOEXEC),
        .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
    };
    for (int tries = 0;; tries++) {
        long fd = syscall(SYS_openat2, rootfd, rel, &how, sizeof how);
        /* EAGAIN: a concurrent rename raced a ".." lookup; the kernel asks for a retry */
        if (fd < 0 && errno == EAGAIN && tries < 16)
            continue;
        return (int)fd;
    }
}

static void fd_path(int fd, char buf[FD_PATH_MAX])
{
    /* cannot truncate: an int needs at most 11 characters */
    (void)snprintf(buf, FD_PATH_MAX, "/proc/self/fd/%d", fd);
}

/* Directory REL under ROOTFD, created with 0755 (and its missing parents) when missing,
 * opened O_PATH; an empty REL is the tree's root itself. Each parent is resolved inside the
 * root first: a plain mkdirat() of "a/b" would follow an absolute symlink "a" out of the tree. */
static int ensure_dir(int rootfd, const char *rel, struct err *e)
{
    char parent[PATH_MAX_BERTH];
    const char *base = rel;
    auto_close int pfd = -1;

    /* openat2 of "" fails with ENOENT, and mkdirat() of "" too */
    int fd = open_in_root(rootfd, *rel ? rel : ".", O_PATH | O_DIRECTORY);
    if (fd >= 0)
        return fd;
    if (errno != ENOENT)
        return err_set(e, errno, "open mount point '/%s'", rel);
    const char *slash = strrchr(rel, '/');
    if (slash) {
        if (util_fmt(parent, sizeof parent, e, "%.*s", (int)(slash - rel), rel) < 0)
            return -1;
        pfd = ensure_dir(rootfd, parent, e);
        if (pfd < 0)
            return -1;
        base = slash + 1;
    }
    if (mkdirat(pfd >= 0 ? pfd : rootfd, base, 0755) < 0 && errno != EEXIST)
        return err_set(e, errno, "create mount point '/%s'", rel);
    fd = open_in_root(rootfd, rel, O_PATH | O_DIRECTORY);
    if (fd < 0)
        return err_set(e, errno, "open mount point '/%s'", rel);
    return fd;
}

static int mount_at(int rootfd, const char *rel, const char *src, const char *type,
                    unsigned long flags, const char *data, struct err *e)
{
    auto_close int fd = ensure_dir(rootfd, rel, e);
    char p[FD_PATH_MAX];

    if (fd < 0)
        return -1;
    fd_path(fd, p);
    if (mount(src, p, type, flags, data) < 0)
        return err_set(e, errno, "mount %s on '/%s'", type ? type : src, rel);
    return 0;
}

/* Bind SRC over DIR/NAME (a regular file; DIR "" is the root), replacing a symlink and
 * creating the file (in the upper layer) when the image lacks it; read-only when RDONLY.
 * Returns an O_PATH fd to the mounted file. */
static int bind_file(int rootfd, const char *src, const char *dir, const char *name, int rdonly,
                     struct err *e)
{
    const char *sep = *dir ? "/" : ""; /* DIR "" is the root: name "/NAME", not "//NAME" */
    auto_close int dirfd = ensure_dir(rootfd, dir, e);
    if (dirfd < 0)
        return -1;
    auto_close int fd = openat(dirfd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
    if (fd >= 0) {
        struct stat st;
        if (fstat(fd, &st) < 0)
            return err_set(e, errno, "stat '/%s%s%s'", dir, sep, name);
        if (S_ISLNK(st.st_mode)) {
            /* a symlink may point outside the tree or nowhere: bind over a plain file */
            util_closep(&fd);
            fd = -1;
            if (unlinkat(dirfd, name, 0) < 0)
                return err_set(e, errno, "remove symlink '/%s%s%s'", dir, sep, name);
        } else if (!S_ISREG(st.st_mode)) {
            return err_set(e, EINVAL, "'/%s%s%s' is not a regular file", dir, sep, name);
        }
    } else if (errno != ENOENT) {
        return err_set(e, errno, "open '/%s%s%s'", dir, sep, name);
    }
    if (fd < 0) {
        auto_close int wfd =
            openat(dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
        if (wfd < 0)
            return err_set(e, errno, "create '/%s%s%s'", dir, sep, name);
        fd = openat(dirfd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
            return err_set(e, errno, "open '/%s%s%s'", dir, sep, name);
    }
    char p[FD_PATH_MAX];
    fd_path(fd, p);
    if (mount(src, p, NULL, MS_BIND, NULL) < 0)
        return err_set(e, errno, "bind '%s' on '/%s%s%s'", src, dir, sep, name);
    /* the fd still names the file under the mount: reopen through the new mount */
    int mfd = openat(dirfd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
    if (mfd < 0)
        return err_set(e, errno, "open '/%s%s%s'", dir, sep, name);
    fd_path(mfd, p);
    if (rdonly &&
        mount(NULL, p, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV, NULL) < 0) {
        (void)close(mfd);
        return err_set(e, errno, "remount '/%s%s%s' read-only", dir, sep, name);
    }
    return mfd;
}

static int bind_etc_file(int rootfd, const char *src, const char *name, struct err *e)
{
    if (!src)
        return 0;
    int fd = bind_file(rootfd, src, "etc", name, 0, e);
    if (fd < 0)
        return -1;
    (void)close(fd);
    return 0;
}

static int mount_sys(int rootfd, int host_network, struct err *e)
{
    const unsigned long fl = MS_NOSUID | MS_NODEV | MS_NOEXEC;

    if (!host_network)
        return mount_at(rootfd, "sys", "sysfs", "sysfs", fl | MS_RDONLY, NULL, e);
    /* a sysfs mount shows the mounter's netns: with the host's netns, show the host's /sys
     * (and its submounts), all read-only */
    if (mount_at(rootfd, "sys", "/sys", NULL, MS_BIND | MS_REC, NULL, e) < 0)
        return -1;
    auto_close int fd = open_in_root(rootfd, "sys", O_PATH | O_DIRECTORY);
    if (fd < 0)
        return err_set(e, errno, "open '/sys'");
    struct mount_attr attr = {
        .attr_set = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC,
    };
    if (mount_setattr(fd, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr, sizeof attr) < 0)
        return err_set(e, errno, "make '/sys' read-only");
    return 0;
}

/* The container's own cgroup view (its cgroup namespace) on /sys/fs/cgroup, read-only. Only
 * for a pure cgroup v2 host; a v1 or hybrid host gets no cgroup mounts in the container. */
/* The container's own cgroup view, read-only: cgroup2 on a unified host; on v1 and hybrid
 * hosts a tmpfs with one read-only mount per v1 controller (with the cgroup namespace made in
 * the child, each shows the container's group as its root, so limits read from inside). */
static int mount_cgroup(int rootfd, struct err *e)
{
    static const char *const ctrls[] = {"memory", "pids",  "cpu",     "cpuacct",
                                        "cpuset", "blkio", "freezer", "devices"};
    const unsigned long ro = MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC;
    struct statfs sfs;
    char p[FD_PATH_MAX];

    if (statfs("/sys/fs/cgroup", &sfs) < 0)
        return 0; /* no cgroup file system on the host: nothing to show */
    auto_close int fd = open_in_root(rootfd, "sys/fs/cgroup", O_PATH | O_DIRECTORY);
    if (fd < 0)
        return err_set(e, errno, "open '/sys/fs/cgroup'");
    fd_path(fd, p);
    if (sfs.f_type == CGROUP2_SUPER_MAGIC) {
        if (mount("cgroup2", p, "cgroup2", ro, NULL) < 0)
            return err_set(e, errno, "mount cgroup2 on '/sys/fs/cgroup'");
        return 0;
    }
    if (mount("tmpfs", p, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=755,size=64k") < 0)
        return err_set(e, errno, "mount tmpfs on '/sys/fs/cgroup'");
    auto_close int top = open_in_root(rootfd, "sys/fs/cgroup", O_PATH | O_DIRECTORY);
    if (top < 0)
        return err_set(e, errno, "open '/sys/fs/cgroup'");
    for (size_t i = 0; i < ARRAY_LEN(ctrls); i++) {
        char host[64], rel[64];
        (void)snprintf(host, sizeof host, "/sys/fs/cgroup/%s", ctrls[i]);
        (void)snprintf(rel, sizeof rel, "sys/fs/cgroup/%s", ctrls[i]);
        if (statfs(host, &sfs) < 0 || sfs.f_type != CGROUP_SUPER_MAGIC)
            continue; /* not a separate v1 hierarchy here */
        auto_close int cfd = ensure_dir(rootfd, rel, e);
        if (cfd < 0)
            return -1;
        fd_path(cfd, p);
        /* co-mounted controllers (cpu,cpuacct) refuse a single-controller mount: skip them */
        if (mount("cgroup", p, "cgroup", ro, ctrls[i]) < 0 && errno != EBUSY && errno != EINVAL)
            return err_set(e, errno, "mount cgroup %s on '/%s'", ctrls[i], rel);
    }
    fd_path(top, p);
    if (mount(NULL, p, NULL, MS_REMOUNT | ro, "mode=755,size=64k") < 0)
        return err_set(e, errno, "make '/sys/fs/cgroup' read-only");
    return 0;
}

static const struct {
    const char *name;
    unsigned int major, minor;
} dev_nodes[] = {
    {"null", 1, 3},   {"zero", 1, 5},    {"full", 1, 7},
    {"random", 1, 8}, {"urandom", 1, 9}, {"tty", 5, 0},
};

/* Node NAME (in DIRFD, shown as /dev/NAME) of MODE and RDEV, chmod'ed to MODE's permissions
 * and owned by UID:GID (-1: unchanged); without CAP_MKNOD (e.g. in a user namespace) the
 * host's node HOST is bound there instead, as it is. */
static int make_node(int dirfd, const char *name, mode_t mode, dev_t rdev, const char *host,
                     uid_t uid, gid_t gid, struct err *e)
{
    if (mknodat(dirfd, name, mode, rdev) == 0) {
        /* mknod honours the umask */
        if (fchmodat(dirfd, name, mode & 07777, 0) < 0)
            return err_set(e, errno, "chmod '/dev/%s'", name);
        if (fchownat(dirfd, name, uid, gid, AT_SYMLINK_NOFOLLOW) < 0)
            return err_set(e, errno, "chown '/dev/%s'", name);
        return 0;
    }
    if (errno != EPERM)
        return err_set(e, errno, "mknod '/dev/%s'", name);
    char p[FD_PATH_MAX];
    auto_close int wfd = openat(dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (wfd < 0)
        return err_set(e, errno, "create '/dev/%s'", name);
    fd_path(wfd, p);
    if (mount(host, p, NULL, MS_BIND, NULL) < 0)
        return err_set(e, errno, "bind '%s'", host);
    return 0;
}

static int make_dev_node(int devfd, const char *name, unsigned int major, unsigned int minor,
                         struct err *e)
{
    char host[64];
    if (util_fmt(host, sizeof host, e, "/dev/%s", name) < 0)
        return -1;
    return make_node(devfd, name, S_IFCHR | 0666, makedev(major, minor), host, (uid_t)-1, (gid_t)-1,
                     e);
}

/* --device D: its directory under /dev created as needed, a node already there (a standard
 * one) replaced, then owned as the host's node is. */
static int make_device(int rootfd, const struct storage_device *d, struct err *e)
{
    const char *rel = d->path + 1; /* "dev/..." */
    const char *slash = strrchr(rel, '/');
    char dir[PATH_MAX_BERTH];
    if (strncmp(d->path, "/dev/", 5) != 0 || !slash || !slash[1] ||
        util_fmt(dir, sizeof dir, e, "%.*s", (int)(slash - rel), rel) < 0)
        return err_set(e, EINVAL, "device path '%s' is not under /dev", d->path);
    auto_close int dfd = ensure_dir(rootfd, dir, e);
    if (dfd < 0)
        return -1;
    if (unlinkat(dfd, slash + 1, 0) < 0 && errno != ENOENT)
        return err_set(e, errno, "replace '%s'", d->path);
    if (make_node(dfd, slash + 1, d->mode, d->rdev, d->host, d->uid, d->gid, e) < 0)
        return err_wrap(e, "device '%s'", d->host);
    return 0;
}

static int populate_dev(int rootfd, const struct storage_device *devs, int ndevs, struct err *e)
{
    if (mount_at(rootfd, "dev", "tmpfs", "tmpfs", MS_NOSUID | MS_STRICTATIME,
                 "mode=755,size=65536k", e) < 0)
        return -1;
    /* reopen: the fd used as mount target still names the directory under the tmpfs */
    auto_close int devfd = open_in_root(rootfd, "dev", O_PATH | O_DIRECTORY);
    if (devfd < 0)
        return err_set(e, errno, "open '/dev'");
    for (size_t i = 0; i < ARRAY_LEN(dev_nodes); i++)
        if (make_dev_node(devfd, dev_nodes[i].name, dev_nodes[i].major, dev_nodes[i].minor, e) < 0)
            return -1;
    if (mount_at(rootfd, "dev/pts", "devpts", "devpts", MS_NOSUID | MS_NOEXEC,
                 "newinstance,ptmxmode=0666,mode=0620,gid=5", e) < 0)
        return -1;
    if (mount_at(rootfd, "dev/shm", "shm", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
                 "mode=1777,size=65536k", e) < 0)
        return -1;
    if (mount_at(rootfd, "dev/mqueue", "mqueue", "mqueue", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL,
                 e) < 0)
        return -1;
    static const struct {
        const char *target, *name;
    } links[] = {
        {"pts/ptmx", "ptmx"},          {"/proc/self/fd", "fd"},       {"/proc/self/fd/0", "stdin"},
        {"/proc/self/fd/1", "stdout"}, {"/proc/self/fd/2", "stderr"},
    };
    for (size_t i = 0; i < ARRAY_LEN(links); i++)
        if (symlinkat(links[i].target, devfd, links[i].name) < 0)
            return err_set(e, errno, "symlink '/dev/%s'", links[i].name);
    for (int i = 0; i < ndevs; i++)
        if (make_device(rootfd, &devs[i], e) < 0)
            return -1;
    return 0;
}

/* DESIGN §11: what a container must not read, and what it must not write. */
static const char *const masked_paths[] = {
    "proc/acpi",
    "proc/asound",
    "proc/kcore",
    "proc/keys",
    "proc/latency_stats",
    "proc/timer_list",
    "proc/timer_stats",
    "proc/sched_debug",
    "proc/scsi",
    "sys/firmware",
    "sys/devices/virtual/powercap",
};
static const char *const readonly_paths[] = {
    "proc/bus", "proc/fs", "proc/irq", "proc/sys", "proc/sysrq-trigger",
};

/* A masked file gets /dev/null bound over it (reads empty); a masked directory an empty
 * read-only tmpfs. A path the kernel does not have is skipped. */
static int mask_path(int rootfd, const char *rel, struct err *e)
{
    struct stat st;
    char p[FD_PATH_MAX];
    auto_close int fd = open_in_root(rootfd, rel, O_PATH | O_NOFOLLOW);
    if (fd < 0)
        return errno == ENOENT ? 0 : err_set(e, errno, "open '/%s' to mask it", rel);
    if (fstat(fd, &st) < 0)
        return err_set(e, errno, "stat '/%s'", rel);
    fd_path(fd, p);
    if (S_ISDIR(st.st_mode)) {
        if (mount("tmpfs", p, "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
                  "size=0,mode=0555") < 0)
            return err_set(e, errno, "mask '/%s'", rel);
    } else if (mount("/dev/null", p, NULL, MS_BIND, NULL) < 0)
        return err_set(e, errno, "mask '/%s'", rel);
    return 0;
}

static int readonly_path(int rootfd, const char *rel, struct err *e)
{
    char p[FD_PATH_MAX];
    auto_close int fd = open_in_root(rootfd, rel, O_PATH | O_NOFOLLOW);
    if (fd < 0)
        return errno == ENOENT ? 0 : err_set(e, errno, "open '/%s'", rel);
    fd_path(fd, p);
    if (mount(p, p, NULL, MS_BIND | MS_REC, NULL) < 0)
        return err_set(e, errno, "bind '/%s'", rel);
    /* the bind is a new mount on top: reopen to reach it, then make it read-only */
    auto_close int top = open_in_root(rootfd, rel, O_PATH | O_NOFOLLOW);
    if (top < 0)
        return err_set(e, errno, "open '/%s'", rel);
    fd_path(top, p);
    if (mount(NULL, p, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
              NULL) < 0)
        return err_set(e, errno, "make '/%s' read-only", rel);
    return 0;
}

static int check_overlay_path(const char *what, const char *p, struct err *e)
{
    if (!p || !*p)
        return err_set(e, EINVAL, "overlay %s path is empty", what);
    /* overlay's option syntax has no escaping for these */
    if (strpbrk(p, ",:\\"))
        return err_set(e, EINVAL, "overlay %s path '%s' contains ',', ':' or '\\'", what, p);
    return 0;
}

static unsigned long remount_flags(const struct statvfs *sv)
{
    static const struct {
        unsigned long st, ms;
    } map[] = {
        {ST_NOSUID, MS_NOSUID},   {ST_NODEV, MS_NODEV},           {ST_NOEXEC, MS_NOEXEC},
        {ST_NOATIME, MS_NOATIME}, {ST_NODIRATIME, MS_NODIRATIME}, {ST_RELATIME, MS_RELATIME},
    };
    unsigned long fl = 0;
    for (size_t i = 0; i < ARRAY_LEN(map); i++)
        if (sv->f_flag & map[i].st)
            fl |= map[i].ms;
    return fl;
}

/* 1 when the directory at PATH has no entry, 0 when it has one, -1 on error. */
static int dir_empty(const char *path, struct err *e)
{
    auto_closedir DIR *d = opendir(path);
    if (!d)
        return err_set(e, errno, "open '%s'", path);
    struct dirent *de;
    while ((de = readdir(d)))
        if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
            return 0;
    return 1;
}

/* Docker's first use of a volume: an empty volume gets the content the image has at the
 * mount point (seen through the container's tree, before the volume hides it). */
static int copy_up(int rootfd, const struct storage_mount *m, const char *rel,
                   int (*copy)(int sfd, int dfd, struct err *e), struct err *e)
{
    auto_close int sfd = open_in_root(rootfd, rel, O_RDONLY | O_DIRECTORY);
    if (sfd < 0)
        return errno == ENOENT || errno == ENOTDIR ? 0 : err_set(e, errno, "open '/%s'", rel);
    int empty = dir_empty(m->source, e);
    if (empty <= 0)
        return empty;
    auto_close int dfd = open(m->source, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0)
        return err_set(e, errno, "open '%s'", m->source);
    if (copy(sfd, dfd, e) < 0)
        return err_wrap(e, "copy '/%s' into the volume", rel);
    return 0;
}

/* One mount of the config on the tree at ROOTFD. */
static int apply_mount(int rootfd, const struct storage_mount *m,
                       int (*copy)(int sfd, int dfd, struct err *e), struct err *e)
{
    const char *rel = m->target + 1;
    unsigned long ro = m->read_only ? MS_RDONLY : 0;
    char p[FD_PATH_MAX];
    struct stat st;

    if (!m->source)
        return mount_at(rootfd, rel, "tmpfs", "tmpfs", m->flags | ro, m->data, e);
    if (stat(m->source, &st) < 0)
        return err_set(e, errno, "mount source '%s'", m->source);
    if (m->copy_up && copy && copy_up(rootfd, m, rel, copy, e) < 0)
        return -1;
    int fd;
    if (S_ISDIR(st.st_mode)) {
        fd = ensure_dir(rootfd, rel, e);
    } else {
        /* a file: bound over a file, made in the upper layer when the image lacks it */
        const char *slash = strrchr(rel, '/');
        char dir[PATH_MAX_BERTH];
        if (util_fmt(dir, sizeof dir, e, "%.*s", slash ? (int)(slash - rel) : 0, rel) < 0)
            return -1;
        fd = bind_file(rootfd, m->source, dir, slash ? slash + 1 : rel, 0, e);
        if (fd < 0)
            return -1;
        if (!ro && !m->flags) {
            (void)close(fd);
            return 0;
        }
        fd_path(fd, p);
        int rc = mount(NULL, p, NULL, MS_BIND | MS_REMOUNT | m->flags | ro, NULL);
        (void)close(fd);
        return rc < 0 ? err_set(e, errno, "remount '%s'", m->target) : 0;
    }
    if (fd < 0)
        return -1;
    fd_path(fd, p);
    if (mount(m->source, p, NULL, MS_BIND | MS_REC, NULL) < 0) {
        (void)close(fd);
        return err_set(e, errno, "bind '%s' on '%s'", m->source, m->target);
    }
    (void)close(fd);
    if (!ro && !m->flags)
        return 0;
    /* the flags go on the new mount: reopen the target through it */
    fd = open_in_root(rootfd, rel, O_PATH | O_DIRECTORY);
    if (fd < 0)
        return err_set(e, errno, "open '%s'", m->target);
    fd_path(fd, p);
    int rc = mount(NULL, p, NULL, MS_BIND | MS_REMOUNT | m->flags | ro, NULL);
    (void)close(fd);
    return rc < 0 ? err_set(e, errno, "remount '%s'", m->target) : 0;
}

int storage_rootfs_setup(const struct storage_rootfs *r, struct err *e)
{
    char opts[3 * PATH_MAX_BERTH];

    /* an image named "name:tag" has a ':' in its path, which overlay's options cannot carry:
     * name the lower directory by an fd instead (the kernel follows the magic link) */
    char lower_fd_path[FD_PATH_MAX];
    auto_close int lower_fd = -1;
    const char *lower = r->lower;
    if (lower && strpbrk(lower, ",:\\")) {
        lower_fd = open(lower, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (lower_fd < 0)
            return err_set(e, errno, "open image rootfs '%s'", lower);
        fd_path(lower_fd, lower_fd_path);
        lower = lower_fd_path;
    }
    if (check_overlay_path("lower", lower, e) < 0 || check_overlay_path("upper", r->upper, e) < 0 ||
        check_overlay_path("work", r->work, e) < 0 || !r->merged)
        return err_wrap(e, "set up rootfs");
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
        return err_set(e, errno, "make mounts private");
    if (util_fmt(opts, sizeof opts, e, "lowerdir=%s,upperdir=%s,workdir=%s", lower, r->upper,
                 r->work) < 0)
        return err_wrap(e, "overlay options");
    if (mount("overlay", r->merged, "overlay", MS_NODEV, opts) < 0)
        return err_set(e, errno, "mount overlay on '%s'", r->merged);
    auto_close int rootfd = open(r->merged, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (rootfd < 0)
        return err_set(e, errno, "open '%s'", r->merged);

    if (bind_etc_file(rootfd, r->hostname, "hostname", e) < 0 ||
        bind_etc_file(rootfd, r->hosts, "hosts", e) < 0 ||
        bind_etc_file(rootfd, r->resolv, "resolv.conf", e) < 0)
        return -1;
    if (mount_at(rootfd, "proc", "proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL, e) < 0)
        return -1;
    if (mount_sys(rootfd, r->host_network, e) < 0 || mount_cgroup(rootfd, e) < 0)
        return -1;
    if (populate_dev(rootfd, r->devices, r->ndevices, e) < 0)
        return -1;
    for (int i = 0; i < r->nmounts; i++)
        if (apply_mount(rootfd, &r->mounts[i], r->copy_contents, e) < 0)
            return err_wrap(e, "mount %s", r->mounts[i].target);
    for (size_t i = 0; !r->privileged && i < ARRAY_LEN(masked_paths); i++)
        if (mask_path(rootfd, masked_paths[i], e) < 0)
            return -1;
    for (size_t i = 0; !r->privileged && i < ARRAY_LEN(readonly_paths); i++)
        if (readonly_path(rootfd, readonly_paths[i], e) < 0)
            return -1;

    if (fchdir(rootfd) < 0)
        return err_set(e, errno, "chdir '%s'", r->merged);
    if (r->init_binary) {
        int fd = bind_file(rootfd, r->init_binary, "sbin", "berth-init", 1, e);
        if (fd < 0)
            return -1;
        *r->init_fd = fd;
    }
    return r->defer_pivot ? 0 : storage_rootfs_pivot(r->read_only, e);
}

int storage_rootfs_pivot(int read_only, struct err *e)
{
    /* pivot_root(".", ".") stacks the old root on top of the new one; detaching "." then
     * removes it without needing a directory for it in the image */
    if (syscall(SYS_pivot_root, ".", ".") < 0)
        return err_set(e, errno, "pivot_root");
    if (umount2(".", MNT_DETACH) < 0)
        return err_set(e, errno, "detach old root");
    if (chdir("/") < 0)
        return err_set(e, errno, "chdir '/'");
    if (read_only) {
        struct statvfs sv;
        if (statvfs("/", &sv) < 0)
            return err_set(e, errno, "statvfs '/'");
        if (mount(NULL, "/", NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | remount_flags(&sv), NULL) < 0)
            return err_set(e, errno, "remount '/' read-only");
    }
    return 0;
}

/* ---- users ---- */

static int parse_id(const char *s, long long *out)
{
    long long v = 0;
    if (!*s)
        return -1;
    for (; *s; s++) {
        if (*s < '0' || *s > '9')
            return -1;
        v = v * 10 + (*s - '0');
        if (v > ID_MAX)
            return -1;
    }
    *out = v;
    return 0;
}

/* Split LINE at ':' into at most MAX fields; returns the count. */
static int split_fields(char *line, char **f, int max)
{
    int n = 0;
    f[n++] = line;
    for (char *p = line; *p && n < max; p++) {
        if (*p == ':') {
            *p = '\0';
            f[n++] = p + 1;
        }
    }
    return n;
}

/* Reads PATH line by line with a bounded buffer. Over-long lines are skipped whole. Calls FN
 * for each line (no newline); FN returns 1 to stop. A missing file counts as empty. */
static int for_each_line(const char *path, int (*fn)(char *line, void *arg), void *arg,
                         struct err *e)
{
    auto_fclose FILE *f = fopen(path, "re");
    char buf[CTR_STR_MAX];
    int skipping = 0;

    if (!f)
        return errno == ENOENT ? 0 : err_set(e, errno, "open '%s'", path);
    while (fgets(buf, sizeof buf, f)) {
        size_t len = strlen(buf);
        int complete = len > 0 && buf[len - 1] == '\n';
        if (skipping) {
            skipping = !complete;
            continue;
        }
        if (!complete && !feof(f)) {
            skipping = 1;
            continue;
        }
        if (complete)
            buf[len - 1] = '\0';
        if (fn(buf, arg))
            return 0;
    }
    if (ferror(f))
        return err_set(e, EIO, "read '%s'", path);
    return 0;
}

struct pw_query {
    const char *name; /* match by name, or */
    long long uid;    /* by uid when name is NULL */
    int found;
    char pw_name[256];
    long long pw_uid, pw_gid;
    char home[256];
};

static int on_passwd_line(char *line, void *arg)
{
    struct pw_query *q = arg;
    char *f[7];
    long long uid, gid;

    if (line[0] == '#' || line[0] == '+' || line[0] == '-')
        return 0;
    int n = split_fields(line, f, 7);
    if (n < 4 || !*f[0] || parse_id(f[2], &uid) < 0 || parse_id(f[3], &gid) < 0)
        return 0;
    if (q->name ? strcmp(f[0], q->name) != 0 : uid != q->uid)
        return 0;
    if (strlen(f[0]) >= sizeof q->pw_name)
        return 0;
    memcpy(q->pw_name, f[0], strlen(f[0]) + 1);
    q->pw_uid = uid;
    q->pw_gid = gid;
    q->home[0] = '\0';
    if (n >= 6 && strlen(f[5]) < sizeof q->home)
        memcpy(q->home, f[5], strlen(f[5]) + 1);
    q->found = 1;
    return 1;
}

struct gr_query {
    const char *name; /* find this group by name (if non-NULL) */
    int found;
    long long gid;
    const char *member; /* collect groups listing this user (if non-NULL) */
    struct storage_user *u;
    int overflow;
};

static int on_group_line(char *line, void *arg)
{
    struct gr_query *q = arg;
    char *f[4];
    long long gid;

    if (line[0] == '#' || line[0] == '+' || line[0] == '-')
        return 0;
    int n = split_fields(line, f, 4);
    if (n < 3 || !*f[0] || parse_id(f[2], &gid) < 0)
        return 0;
    if (q->name) {
        if (strcmp(f[0], q->name) != 0)
            return 0;
        q->gid = gid;
        q->found = 1;
        return 1;
    }
    if (n < 4 || !q->member)
        return 0;
    for (char *save = NULL, *m = strtok_r(f[3], ",", &save); m; m = strtok_r(NULL, ",", &save)) {
        if (strcmp(m, q->member) != 0)
            continue;
        for (int i = 0; i < q->u->ngroups; i++)
            if (q->u->groups[i] == (gid_t)gid)
                return 0;
        if (q->u->ngroups >= STORAGE_GROUPS_MAX) {
            q->overflow = 1;
            return 1;
        }
        q->u->groups[q->u->ngroups++] = (gid_t)gid;
        return 0;
    }
    return 0;
}

int storage_user_resolve(const char *spec, const char *passwd, const char *group,
                         struct storage_user *out, struct err *e)
{
    char user[256];
    const char *grp = NULL;
    struct pw_query pq = {0};
    long long id = 0;

    if (!spec || !*spec)
        spec = "0";
    if (util_fmt(user, sizeof user, e, "%s", spec) < 0)
        return err_set(e, EINVAL, "invalid user '%.64s'", spec);
    char *colon = strchr(user, ':');
    if (colon) {
        *colon = '\0';
        grp = colon + 1;
    }
    if (!*user)
        return err_set(e, EINVAL, "invalid user '%s'", spec);

    int numeric = parse_id(user, &id) == 0;
    if (numeric) {
        pq.uid = id;
    } else {
        if (user[0] >= '0' && user[0] <= '9' && strspn(user, "0123456789") == strlen(user))
            return err_set(e, ERANGE, "uid '%s' out of range [0, %lld]", user, ID_MAX);
        pq.name = user;
    }
    if (for_each_line(passwd, on_passwd_line, &pq, e) < 0)
        return err_wrap(e, "resolve user '%s'", spec);
    if (!pq.found && !numeric)
        return err_set(e, ENOENT, "unable to find user %s: no matching entries in passwd file",
                       user);

    struct storage_user u = {0};
    u.uid = (uid_t)(pq.found ? pq.pw_uid : id);
    u.gid = (gid_t)(pq.found ? pq.pw_gid : 0);
    if (pq.found && pq.home[0])
        memcpy(u.home, pq.home, sizeof u.home);
    else
        memcpy(u.home, u.uid == 0 ? "/root" : "/", u.uid == 0 ? 6 : 2);

    if (grp && *grp) {
        /* like runc: an explicit group replaces the primary one and there are no
         * supplementary groups from the group file */
        if (parse_id(grp, &id) == 0) {
            u.gid = (gid_t)id;
        } else {
            struct gr_query gq = {.name = grp};
            if (for_each_line(group, on_group_line, &gq, e) < 0)
                return err_wrap(e, "resolve user '%s'", spec);
            if (!gq.found)
                return err_set(e, ENOENT,
                               "unable to find group %s: no matching entries in group file", grp);
            u.gid = (gid_t)gq.gid;
        }
    } else if (pq.found) {
        struct gr_query gq = {.member = pq.pw_name, .u = &u};
        if (for_each_line(group, on_group_line, &gq, e) < 0)
            return err_wrap(e, "resolve user '%s'", spec);
        if (gq.overflow)
            return err_set(e, E2BIG, "user '%s' is in more than %d groups", user,
                           STORAGE_GROUPS_MAX);
    }
    *out = u;
    return 0;
}

int storage_group_add(const char *g, const char *group, struct storage_user *u, struct err *e)
{
    long long id;
    if (!g || !*g)
        return err_set(e, EINVAL, "invalid group ''");
    if (parse_id(g, &id) < 0) {
        struct gr_query gq = {.name = g};
        if (for_each_line(group, on_group_line, &gq, e) < 0)
            return err_wrap(e, "resolve group '%s'", g);
        if (!gq.found)
            return err_set(e, ENOENT, "unable to find group %s: no matching entries in group file",
                           g);
        id = gq.gid;
    }
    for (int i = 0; i < u->ngroups; i++)
        if (u->groups[i] == (gid_t)id)
            return 0;
    if (u->ngroups >= STORAGE_GROUPS_MAX)
        return err_set(e, E2BIG, "more than %d supplementary groups", STORAGE_GROUPS_MAX);
    u->groups[u->ngroups++] = (gid_t)id;
    return 0;
}

int storage_mkdir_owned(const char *path, uid_t uid, gid_t gid, struct err *e)
{
    char buf[PATH_MAX_BERTH];

    if (!path || !*path)
        return err_set(e, EINVAL, "mkdir: empty path");
    if (util_fmt(buf, sizeof buf, e, "%s", path) < 0)
        return -1;
    for (char *p = buf + 1;; p++) {
        if (*p != '/' && *p != '\0')
            continue;
        char c = *p;
        *p = '\0';
        if (p[-1] != '/') {
            if (mkdir(buf, 0755) == 0) {
                if (chown(buf, uid, gid) < 0)
                    return err_set(e, errno, "chown '%s'", buf);
                /* mkdir honours the umask */
                if (chmod(buf, 0755) < 0)
                    return err_set(e, errno, "chmod '%s'", buf);
            } else {
                int saved = errno;
                struct stat st;
                if (saved != EEXIST)
                    return err_set(e, saved, "mkdir '%s'", buf);
                if (stat(buf, &st) < 0)
                    return err_set(e, errno, "stat '%s'", buf);
                if (!S_ISDIR(st.st_mode))
                    return err_set(e, ENOTDIR, "mkdir '%s'", buf);
            }
        }
        *p = c;
        if (c == '\0')
            break;
    }
    return 0;
}
