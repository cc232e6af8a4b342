/* SPDX-License-Identifier: MIT */
/* core/boot.c - berthd as a machine's init: see core/boot.h. Everything here runs before the
 * loop starts or after it has ended, so it may block (bounded: the kill grace, the reap). */
#include "core/boot.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "core/err.h"
#include "core/limits.h"
#include "core/log.h"
#include "core/util.h"
#include "net/link.h"
#include "storage/image.h"

#ifndef STATX_ATTR_MOUNT_ROOT
#define STATX_ATTR_MOUNT_ROOT 0x00002000
#endif
#ifndef MODULE_INIT_COMPRESSED_FILE
#define MODULE_INIT_COMPRESSED_FILE 4
#endif
#define RAMFS_MAGIC_      0x858458f6
#define TMPFS_MAGIC_      0x01021994
#define PROC_PID_INIT_INO 0xEFFFFFFCU /* the initial pid namespace's inode (a kernel constant) */

static int role = -1;

static int is_mount_point(const char *path)
{
    struct statx sx;
    if (statx(AT_FDCWD, path, AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS, &sx) < 0)
        return 0;
    return (sx.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT) &&
           (sx.stx_attributes & STATX_ATTR_MOUNT_ROOT);
}

/* The pid in /proc/self/stat: ours only when /proc belongs to our pid namespace. */
static long proc_self_pid(void)
{
    char buf[64];
    auto_close int fd = open("/proc/self/stat", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    if (n <= 0)
        return -1;
    buf[n] = '\0';
    return strtol(buf, NULL, 10);
}

enum boot_role boot_role(void)
{
    if (role >= 0)
        return (enum boot_role)role;
    role = BOOT_SESSION;
    if (getpid() != 1)
        return BOOT_SESSION;
    role = BOOT_PIDNS;
    if (access("/proc/self", F_OK) < 0) {
        (void)mkdir("/proc", 0555);
        if (mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0) {
            log_msg(LOG_ERROR, "mount /proc: %s", strerror(errno));
            return BOOT_PIDNS; /* cannot tell: the harmless choice */
        }
    }
    struct stat st;
    /* a /proc of another pid namespace says nothing about ours */
    if (proc_self_pid() == 1 && stat("/proc/self/ns/pid", &st) == 0 &&
        (unsigned long)st.st_ino == PROC_PID_INIT_INO)
        role = BOOT_MACHINE;
    return (enum boot_role)role;
}

const char *boot_role_name(enum boot_role r)
{
    static const char *const names[] = {"session", "pid namespace init", "machine init"};
    return names[r];
}

int boot_halt_parse(const char *s)
{
    static const char *const names[] = {"exit", "reboot", "halt", "poweroff"};
    for (size_t i = 0; i < ARRAY_LEN(names); i++)
        if (strcmp(s, names[i]) == 0)
            return (int)i;
    return -1;
}

const char *boot_halt_name(enum boot_halt h)
{
    static const char *const names[] = {"exit", "reboot", "halt", "poweroff"};
    return names[h];
}

enum boot_halt boot_halt_for_signal(enum boot_role r, int sig)
{
    if (r != BOOT_MACHINE)
        return BOOT_EXIT;
    switch (sig) {
    case SIGTERM:
    case SIGINT:
        return BOOT_REBOOT;
    case SIGUSR1:
        return BOOT_HALT;
    case SIGUSR2:
    case SIGPWR:
        return BOOT_POWEROFF;
    default:
        return BOOT_EXIT;
    }
}

/* ---- leaving the initramfs ---- */

/* "/" is the kernel's rootfs (the initramfs), where pivot_root(2) cannot work. */
static int root_is_initramfs(void)
{
    struct statfs sf;
    if (statfs("/", &sf) < 0 ||
        (sf.f_type != (__fsword_t)RAMFS_MAGIC_ && sf.f_type != (__fsword_t)TMPFS_MAGIC_))
        return 0;
    struct statx sx;
    if (statx(AT_FDCWD, "/", 0, STATX_MNT_ID, &sx) < 0 || !(sx.stx_mask & STATX_MNT_ID))
        return 0;
    struct err e = {0};
    auto_free char *mi = util_read_file("/proc/self/mountinfo", 1 << 20, NULL, &e);
    char *save = NULL;
    for (char *l = mi ? strtok_r(mi, "\n", &save) : NULL; l; l = strtok_r(NULL, "\n", &save)) {
        unsigned long long id = strtoull(l, NULL, 10);
        const char *sep = strstr(l, " - ");
        if (id == sx.stx_mnt_id && sep && strncmp(sep + 3, "rootfs ", 7) == 0)
            return 1;
    }
    return 0;
}

/* Copy the initramfs onto a new tmpfs (not attached anywhere while it fills, so the copy never
 * meets itself), empty the initramfs to give its memory back, move the tmpfs onto / and
 * chroot into it: what switch_root does, without a second /init. */
static void leave_initramfs(char **argv)
{
    struct err e = {0};
    (void)umount2("/proc", MNT_DETACH); /* boot_role's; mounted again on the new root */
    auto_close int fsfd = fsopen("tmpfs", FSOPEN_CLOEXEC);
    if (fsfd < 0 || fsconfig(fsfd, FSCONFIG_SET_STRING, "mode", "0755", 0) < 0 ||
        fsconfig(fsfd, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0) {
        log_msg(LOG_ERROR, "new root tmpfs: %s (containers fall back to chroot)", strerror(errno));
        return;
    }
    auto_close int mfd = fsmount(fsfd, FSMOUNT_CLOEXEC, 0);
    auto_close int old = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    /* fsmount gives an O_PATH fd: the copy needs a real one for fchown and fchmod */
    auto_close int dst = mfd < 0 ? -1 : openat(mfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (mfd < 0 || old < 0 || dst < 0) {
        log_msg(LOG_ERROR, "new root tmpfs: %s", strerror(errno));
        return;
    }
    int64_t t0 = util_now_ns();
    if (storage_copy_contents(old, dst, &e) < 0) {
        log_err(&e, "copy the initramfs onto a tmpfs (staying on the initramfs)");
        return;
    }
    auto_closedir DIR *d = fdopendir(dup(old));
    struct dirent *de;
    while (d && (de = readdir(d))) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        struct err re = {0};
        if (storage_remove_tree_at(old, de->d_name, 0, de->d_name, &re) < 0)
            log_err(&re, "free the initramfs");
    }
    if (fchdir(mfd) < 0 || move_mount(mfd, "", AT_FDCWD, "/", MOVE_MOUNT_F_EMPTY_PATH) < 0 ||
        chroot(".") < 0 || chdir("/") < 0) {
        log_msg(LOG_ERROR, "switch to the new root: %s", strerror(errno));
        return;
    }
    log_msg(LOG_INFO, "moved the initramfs onto a tmpfs root (%.1f ms)",
            (double)(util_now_ns() - t0) / 1e6);
    /* run on from the copy of our binary, as switch_root's exec does: the one we run from was
     * freed with the initramfs, and --init binds /proc/self/exe into containers */
    if (argv && argv[0] && argv[0][0] == '/') {
        execv(argv[0], argv);
        log_msg(LOG_ERROR, "re-exec %s: %s", argv[0], strerror(errno));
    }
}

/* ---- early mounts ---- */

struct early_mount {
    const char *src, *dst, *type;
    unsigned long flags;
    const char *data;
};

static void mount_one(const struct early_mount *m)
{
    if (util_mkdir_p(m->dst, 0755, &(struct err){0}) < 0 && errno != EEXIST)
        log_msg(LOG_WARN, "mkdir %s: %s", m->dst, strerror(errno));
    if (is_mount_point(m->dst))
        return;
    if (mount(m->src, m->dst, m->type, m->flags, m->data) < 0)
        log_msg(LOG_ERROR, "mount %s on %s: %s", m->type, m->dst, strerror(errno));
}

static int cmdline_has(const char *word)
{
    struct err e = {0};
    auto_free char *cl = util_read_file("/proc/cmdline", 64 * 1024, NULL, &e);
    char *save = NULL;
    for (char *w = cl ? strtok_r(cl, " \t\n", &save) : NULL; w; w = strtok_r(NULL, " \t\n", &save))
        if (strcmp(w, word) == 0)
            return 1;
    return 0;
}

static void write_str(const char *path, const char *s)
{
    auto_close int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0 || write(fd, s, strlen(s)) < 0)
        log_msg(LOG_WARN, "write '%s' to %s: %s", s, path, strerror(errno));
}

/* cgroup2 with every controller enabled for the children of the root group. */
static void cgroups_v2(void)
{
    static const struct early_mount m = {"cgroup2", "/sys/fs/cgroup", "cgroup2",
                                         MS_NOSUID | MS_NODEV | MS_NOEXEC, "nsdelegate"};
    mount_one(&m);
    struct err e = {0};
    auto_free char *ctrls = util_read_file("/sys/fs/cgroup/cgroup.controllers", 4096, NULL, &e);
    char *save = NULL;
    for (char *c = ctrls ? strtok_r(ctrls, " \n", &save) : NULL; c;
         c = strtok_r(NULL, " \n", &save)) {
        char word[64];
        (void)snprintf(word, sizeof word, "+%s", c);
        write_str("/sys/fs/cgroup/cgroup.subtree_control", word);
    }
}

/* berth.cgroup=v1: a tmpfs at /sys/fs/cgroup with one hierarchy per enabled controller. */
static void cgroups_v1(void)
{
    static const struct early_mount m = {"cgroup", "/sys/fs/cgroup", "tmpfs",
                                         MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=0755"};
    mount_one(&m);
    struct err e = {0};
    auto_free char *txt = util_read_file("/proc/cgroups", 16384, NULL, &e);
    char *save = NULL;
    for (char *l = txt ? strtok_r(txt, "\n", &save) : NULL; l; l = strtok_r(NULL, "\n", &save)) {
        char name[64], dst[128];
        int hier, num, enabled;
        if (l[0] == '#' || sscanf(l, "%63s %d %d %d", name, &hier, &num, &enabled) != 4 || !enabled)
            continue;
        (void)snprintf(dst, sizeof dst, "/sys/fs/cgroup/%s", name);
        struct early_mount cm = {"cgroup", dst, "cgroup", MS_NOSUID | MS_NODEV | MS_NOEXEC, name};
        mount_one(&cm);
    }
}

static void console_stdio(void)
{
    for (int fd = 0; fd <= 2; fd++) {
        if (fcntl(fd, F_GETFD) >= 0)
            continue;
        int c = open("/dev/console", O_RDWR | O_NOCTTY);
        if (c < 0)
            return;
        if (c != fd) {
            (void)dup2(c, fd);
            (void)close(c);
        }
    }
}

void boot_early(char **argv)
{
    if (boot_role() != BOOT_MACHINE)
        return;
    if (root_is_initramfs())
        leave_initramfs(argv);
    static const struct early_mount mounts[] = {
        {"proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL},
        {"sysfs", "/sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL},
        {"devtmpfs", "/dev", "devtmpfs", MS_NOSUID, "mode=0755"},
        {"devpts", "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC, "gid=5,mode=0620,ptmxmode=0666"},
        {"shm", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777"},
        {"run", "/run", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755"},
        {"tmp", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777"},
    };
    for (size_t i = 0; i < ARRAY_LEN(mounts); i++) {
        mount_one(&mounts[i]);
        if (i == 2)
            console_stdio(); /* the kernel gives init no stdio without /dev/console */
    }
    if (cmdline_has("berth.cgroup=v1"))
        cgroups_v1();
    else
        cgroups_v2();
    if (reboot(RB_DISABLE_CAD) < 0) /* ctrl-alt-del becomes SIGINT: a clean reboot */
        log_msg(LOG_WARN, "disable ctrl-alt-del: %s", strerror(errno));
}

void boot_network(void)
{
    struct err e = {0};
    if (boot_role() == BOOT_MACHINE && net_link_up_lo(&e) < 0)
        log_err(&e, "bring up lo");
}

int boot_hostname(const char *name, struct err *e)
{
    if (sethostname(name, strlen(name)) < 0)
        return err_set(e, errno, "set hostname '%s'", name);
    return 0;
}

/* ---- kernel modules ---- */

/* The module name of a modules.dep path: basename up to ".ko", '-' as '_'. */
static void module_name(const char *path, size_t len, char *out, size_t size)
{
    const char *b = path;
    for (size_t i = 0; i < len; i++)
        if (path[i] == '/')
            b = path + i + 1;
    size_t n = 0;
    while (b < path + len && n + 1 < size && strncmp(b, ".ko", 3) != 0) {
        out[n++] = *b == '-' ? '_' : *b;
        b++;
    }
    out[n] = '\0';
}

static int load_file(const char *dir, const char *rel, size_t len, struct err *e)
{
    char path[PATH_MAX_BERTH];
    if (util_fmt(path, sizeof path, e, "%s/%.*s", dir, (int)len, rel) < 0)
        return -1;
    auto_close int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return err_set(e, errno, "open %s", path);
    int flags =
        (len > 3 && strncmp(rel + len - 3, ".ko", 3) == 0) ? 0 : MODULE_INIT_COMPRESSED_FILE;
    if (syscall(SYS_finit_module, fd, "", flags) < 0 && errno != EEXIST)
        return err_set(e, errno, "load %s", path);
    return 0;
}

/* The modules.dep line of NAME: "path: dep dep..." (a pointer into DEP, NUL-ended), or NULL. */
static char *dep_line(char *dep, const char *name)
{
    char *save = NULL, mod[128];
    for (char *l = strtok_r(dep, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
        char *colon = strchr(l, ':');
        if (!colon)
            continue;
        module_name(l, (size_t)(colon - l), mod, sizeof mod);
        if (strcmp(mod, name) == 0)
            return l;
    }
    return NULL;
}

static int builtin(const char *dir, const char *name)
{
    char path[PATH_MAX_BERTH], mod[128];
    struct err e = {0};
    if (util_fmt(path, sizeof path, &e, "%s/modules.builtin", dir) < 0)
        return 0;
    auto_free char *txt = util_read_file(path, 4 << 20, NULL, &e);
    char *save = NULL;
    for (char *l = txt ? strtok_r(txt, "\n", &save) : NULL; l; l = strtok_r(NULL, "\n", &save)) {
        module_name(l, strlen(l), mod, sizeof mod);
        if (strcmp(mod, name) == 0)
            return 1;
    }
    return 0;
}

static int load_module(const char *dir, const char *dep_txt, const char *want, struct err *e)
{
    char name[128];
    module_name(want, strlen(want), name, sizeof name);
    auto_free char *dep = strdup(dep_txt);
    if (!dep)
        return err_set(e, ENOMEM, "module %s", name);
    char *l = dep_line(dep, name);
    if (!l) {
        if (builtin(dir, name))
            return 0;
        return err_set(e, ENOENT, "module %s not found in %s", name, dir);
    }
    char *colon = strchr(l, ':');
    /* dependencies: modprobe loads the last one listed first */
    char *deps[64];
    size_t nd = 0;
    char *save = NULL;
    for (char *w = strtok_r(colon + 1, " \t", &save); w && nd < ARRAY_LEN(deps);
         w = strtok_r(NULL, " \t", &save))
        deps[nd++] = w;
    while (nd > 0) {
        nd--;
        if (load_file(dir, deps[nd], strlen(deps[nd]), e) < 0)
            return err_wrap(e, "module %s needs", name);
    }
    return load_file(dir, l, (size_t)(colon - l), e);
}

int boot_modules(const char *const *names, size_t n)
{
    struct utsname u;
    char dir[PATH_MAX_BERTH], path[PATH_MAX_BERTH];
    struct err e = {0};
    if (n == 0)
        return 0;
    if (uname(&u) < 0 || util_fmt(dir, sizeof dir, &e, "/lib/modules/%s", u.release) < 0 ||
        util_fmt(path, sizeof path, &e, "%s/modules.dep", dir) < 0) {
        log_msg(LOG_ERROR, "kernel modules: no module directory");
        return (int)n;
    }
    auto_free char *dep = util_read_file(path, 16 << 20, NULL, &e);
    if (!dep)
        dep = strdup("");
    int failed = 0;
    for (size_t i = 0; i < n; i++) {
        struct err me = {0};
        if (!dep || load_module(dir, dep, names[i], &me) < 0) {
            log_err(&me, "kernel module '%s'", names[i]);
            failed++;
        } else
            log_msg(LOG_INFO, "kernel module %s loaded", names[i]);
    }
    return failed;
}

/* ---- the end ---- */

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

/* Reap until no child is left or MS pass; returns 1 when none is left. */
static int reap_all(long ms)
{
    for (long waited = 0;; waited += 20) {
        pid_t p;
        while ((p = waitpid(-1, NULL, WNOHANG)) > 0)
            ;
        if (p < 0 && errno == ECHILD)
            return 1;
        if (waited >= ms)
            return 0;
        sleep_ms(20);
    }
}

static void kill_everything(void)
{
    if (kill(-1, SIGTERM) == 0) {
        log_msg(LOG_INFO, "sent SIGTERM to every remaining process");
        if (!reap_all(BOOT_KILL_GRACE_S * 1000L) && kill(-1, SIGKILL) == 0) {
            log_msg(LOG_INFO, "sent SIGKILL to every remaining process");
            (void)reap_all(BOOT_KILL_GRACE_S * 1000L);
        }
    } else
        (void)reap_all(0);
}

/* A mountinfo mount point with its octal escapes (\040 ...) decoded, in place. */
static void unescape(char *s)
{
    char *o = s;
    for (char *p = s; *p; p++) {
        if (p[0] == '\\' && p[1] >= '0' && p[1] <= '3' && p[2] >= '0' && p[2] <= '7' &&
            p[3] >= '0' && p[3] <= '7') {
            *o++ = (char)((p[1] - '0') * 64 + (p[2] - '0') * 8 + (p[3] - '0'));
            p += 3;
        } else
            *o++ = *p;
    }
    *o = '\0';
}

static void unmount_all(void)
{
    struct err e = {0};
    auto_free char *mi = util_read_file("/proc/self/mountinfo", 1 << 20, NULL, &e);
    if (!mi)
        return;
    char *points[1024];
    size_t n = 0;
    char *save = NULL;
    for (char *l = strtok_r(mi, "\n", &save); l && n < ARRAY_LEN(points);
         l = strtok_r(NULL, "\n", &save)) {
        char *f = l;
        for (int i = 0; i < 4 && f; i++) /* ID PARENT MAJ:MIN ROOT MOUNTPOINT */
            f = strchr(f, ' ') ? strchr(f, ' ') + 1 : NULL;
        if (!f)
            continue;
        char *end = strchr(f, ' ');
        if (end)
            *end = '\0';
        unescape(f);
        if (strcmp(f, "/") != 0)
            points[n++] = f;
    }
    int busy = 0;
    while (n > 0) { /* the newest first: children before their parents */
        const char *p = points[--n];
        if (umount2(p, 0) < 0 && errno != EINVAL && errno != ENOENT) {
            busy++;
            (void)umount2(p, MNT_DETACH);
        }
    }
    if (mount(NULL, "/", NULL, MS_REMOUNT | MS_RDONLY, NULL) < 0 && errno != EBUSY)
        log_msg(LOG_DEBUG, "remount / read-only: %s", strerror(errno));
    log_msg(LOG_INFO, "filesystems unmounted%s", busy ? " (some lazily)" : "");
}

void boot_final(enum boot_role r, enum boot_halt how)
{
    if (r == BOOT_SESSION)
        return;
    kill_everything();
    if (r == BOOT_PIDNS)
        return;
    sync();
    unmount_all();
    sync();
    if (how == BOOT_EXIT)
        how = BOOT_POWEROFF;
    static const int cmds[] = {RB_POWER_OFF, RB_AUTOBOOT, RB_HALT_SYSTEM, RB_POWER_OFF};
    log_msg(LOG_INFO, "%s",
            how == BOOT_REBOOT ? "rebooting"
            : how == BOOT_HALT ? "halting"
                               : "powering off");
    if (reboot(cmds[how]) < 0)
        log_msg(LOG_ERROR, "reboot(2): %s", strerror(errno));
    boot_fallback();
}

__attribute__((noreturn)) void boot_fallback(void)
{
    sigset_t set;
    (void)sigfillset(&set);
    (void)sigprocmask(SIG_BLOCK, &set, NULL);
    log_msg(LOG_ERROR, "no supervisor: reaping, and obeying reboot, halt and poweroff");
    for (;;) {
        siginfo_t si;
        int sig = sigwaitinfo(&set, &si);
        if (sig == SIGCHLD)
            (void)reap_all(0);
        else if (sig > 0 && boot_halt_for_signal(BOOT_MACHINE, sig) != BOOT_EXIT &&
                 boot_role() == BOOT_MACHINE) {
            static int once;
            if (!once++) /* boot_final comes back here only when reboot(2) failed */
                boot_final(BOOT_MACHINE, boot_halt_for_signal(BOOT_MACHINE, sig));
        }
    }
}

/* ---- sd_notify ---- */

void boot_notify(const char *state)
{
    const char *path = getenv("NOTIFY_SOCKET");
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    if (!path || (path[0] != '/' && path[0] != '@') || strlen(path) >= sizeof a.sun_path)
        return;
    memcpy(a.sun_path, path, strlen(path));
    if (path[0] == '@')
        a.sun_path[0] = '\0';
    socklen_t len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(path));
    auto_close int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || sendto(fd, state, strlen(state), MSG_NOSIGNAL, (struct sockaddr *)&a, len) < 0)
        log_msg(LOG_DEBUG, "sd_notify %s: %s", state, strerror(errno));
}
