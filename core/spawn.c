/* SPDX-License-Identifier: MIT */
/* core/spawn.c - clone + child setup of a container's init. The child never returns to the
 * loop: it execs or writes a spawn_report and _exits. */
#include "core/spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/close_range.h>
#include <linux/filter.h>

#include <cjson/cJSON.h>

#include "core/caps.h"
#include "core/json.h"
#include "core/log.h"
#include "core/ctr.h"
#include "core/health.h"
#include "core/seccomp.h"
#include "core/sv.h"
#include "core/util.h"
#include "core/volume.h"
#include "net/link.h"
#include "storage/image.h"
#include "storage/rootfs.h"

#define DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

static __attribute__((noreturn)) void child_fail(int fd, int code, const struct err *e)
{
    struct spawn_report r = {.exit_code = code};
    r.e = *e;
    (void)!write(fd, &r, sizeof r); /* the parent sees EOF without a report: 125 */
    _exit(code);
}

static const char *env_get(char **env, const char *key)
{
    size_t kl = strlen(key);
    for (char **p = env; p && *p; p++)
        if (strncmp(*p, key, kl) == 0 && (*p)[kl] == '=')
            return *p + kl + 1;
    return NULL;
}

/* The final environment: the container's, plus HOSTNAME, HOME and PATH when missing (an empty
 * HOME= counts as missing, as Docker does). */
static char **build_env(char **env, const char *hostname, const char *home, struct err *e)
{
    size_t n = 0;
    for (char **p = env; p && *p; p++)
        n++;
    char **out = calloc(n + 4, sizeof *out);
    if (!out)
        return err_set(e, ENOMEM, "build environment"), NULL;
    size_t k = 0;
    for (char **p = env; p && *p; p++)
        if (strcmp(*p, "HOME=") != 0)
            out[k++] = *p;
    if (!env_get(out, "PATH"))
        out[k++] = "PATH=" DEFAULT_PATH;
    if (!env_get(out, "HOSTNAME") && asprintf(&out[k++], "HOSTNAME=%s", hostname) < 0)
        return err_set(e, ENOMEM, "build environment"), NULL;
    if (!env_get(out, "HOME") && asprintf(&out[k++], "HOME=%s", home) < 0)
        return err_set(e, ENOMEM, "build environment"), NULL;
    out[k] = NULL;
    return out;
}

/* execvpe with Docker's messages; returns only on failure, with the exit code. */
static int exec_cmd(char **argv, char **envp, struct err *e)
{
    const char *cmd = argv[0];
    if (strchr(cmd, '/')) {
        execve(cmd, argv, envp);
        int saved = errno;
        if (saved == ENOENT || saved == ENOTDIR)
            return err_set(e, 0, "exec: \"%s\": no such file or directory", cmd), 127;
        if (saved == EACCES)
            return err_set(e, 0, "exec: \"%s\": permission denied", cmd), 126;
        if (saved == ENOEXEC)
            return err_set(e, 0, "exec: \"%s\": exec format error", cmd), 126;
        return err_set(e, saved, "exec \"%s\"", cmd), 126;
    }
    const char *path = env_get(envp, "PATH");
    if (!path)
        path = DEFAULT_PATH;
    int denied = 0;
    for (const char *p = path; *p;) {
        const char *colon = strchrnul(p, ':');
        char full[PATH_MAX_BERTH];
        int n = snprintf(full, sizeof full, "%.*s/%s", (int)(colon - p), p, cmd);
        if (colon == p)
            n = snprintf(full, sizeof full, "./%s", cmd);
        if (n > 0 && (size_t)n < sizeof full) {
            execve(full, argv, envp);
            if (errno == EACCES)
                denied = 1;
            else if (errno == ENOEXEC)
                return err_set(e, 0, "exec: \"%s\": exec format error", cmd), 126;
            else if (errno != ENOENT && errno != ENOTDIR)
                return err_set(e, errno, "exec \"%s\"", full), 126;
        }
        p = *colon ? colon + 1 : colon;
    }
    if (denied)
        return err_set(e, 0, "exec: \"%s\": permission denied", cmd), 126;
    return err_set(e, 0, "exec: \"%s\": executable file not found in $PATH", cmd), 127;
}

static int setup_stdio(const char *dir, int stdin_fd, struct err *e)
{
    char p[PATH_MAX_BERTH];
    int in = stdin_fd;
    if (in < 0) {
        in = open("/dev/null", O_RDONLY | O_CLOEXEC);
        if (in < 0)
            return err_set(e, errno, "open /dev/null");
    }
    if (dup2(in, 0) < 0)
        return err_set(e, errno, "set up stdin");
    static const char *const names[] = {"stdout.fifo", "stderr.fifo"};
    for (int i = 0; i < 2; i++) {
        if (util_fmt(p, sizeof p, e, "%s/%s", dir, names[i]) < 0)
            return -1;
        /* read-write: the FIFO never has zero readers, so the container is not killed by
         * SIGPIPE while berthd restarts; it blocks on a full pipe instead */
        int fd = open(p, O_RDWR | O_CLOEXEC);
        if (fd < 0)
            return err_set(e, errno, "open '%s'", p);
        if (dup2(fd, i + 1) < 0)
            return err_set(e, errno, "set up stdio");
        (void)close(fd);
    }
    return 0;
}

/* -t: a pty from the devpts instance at PTMX (the container's own), sized ROWS x COLS (0: the
 * kernel's default), becomes the controlling terminal and stdin/stdout/stderr; with CONSOLE its
 * slave is also bound there (/dev/console). The master goes to berthd over the report socket
 * as one message of one byte. The caller is a session leader without a terminal. */
static int child_pty(const char *ptmx, const char *console, unsigned short rows,
                     unsigned short cols, int report_fd, struct err *e)
{
    auto_close int m = open(ptmx, O_RDWR | O_NOCTTY | O_CLOEXEC);
    int unlock = 0, n = 0;
    if (m < 0)
        return err_set(e, errno, "open '%s'", ptmx);
    struct winsize ws = {.ws_row = rows, .ws_col = cols};
    if (ioctl(m, TIOCSPTLCK, &unlock) < 0 || ioctl(m, TIOCGPTN, &n) < 0 ||
        (rows && cols && ioctl(m, TIOCSWINSZ, &ws) < 0))
        return err_set(e, errno, "set up the pty");
    auto_close int s = ioctl(m, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (s < 0)
        return err_set(e, errno, "open the pty's slave");
    if (console) {
        char slave[PATH_MAX_BERTH];
        const char *slash = strrchr(ptmx, '/');
        if (util_fmt(slave, sizeof slave, e, "%.*s/%d", (int)(slash - ptmx), ptmx, n) < 0)
            return -1;
        auto_close int cf = open(console, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (cf < 0 || mount(slave, console, NULL, MS_BIND, NULL) < 0)
            return err_set(e, errno, "bind the pty on /dev/console");
    }
    if (ioctl(s, TIOCSCTTY, 0) < 0)
        return err_set(e, errno, "make the pty the controlling terminal");
    for (int fd = 0; fd < 3; fd++)
        if (dup2(s, fd) < 0)
            return err_set(e, errno, "set up stdio on the pty");
    if (util_send_fd(report_fd, "T", 1, m, MSG_NOSIGNAL) != 1)
        return err_set(e, errno, "hand the pty to berthd");
    return 0;
}

/* Everything a child must not inherit from berthd: its signal mask and dispositions, its
 * session, its raised fd limit. */
static int child_reset(const struct sv *sv, struct err *e)
{
    sigset_t none;
    (void)sigemptyset(&none);
    (void)sigprocmask(SIG_SETMASK, &none, NULL); /* cannot fail with a valid set */
    /* the raw syscall: glibc refuses to touch 32 and 33 (its own), yet an ignored one is
     * inherited (GNU make runs its children so) and must not reach the container */
    struct {
        void (*handler)(int);
        unsigned long flags;
        void (*restorer)(void);
        unsigned long long mask;
    } dfl = {SIG_DFL, 0, NULL, 0};
    for (int s = 1; s <= 64; s++)
        if (s != SIGKILL && s != SIGSTOP)
            (void)syscall(SYS_rt_sigaction, s, &dfl, NULL, sizeof dfl.mask);
    if (setsid() < 0)
        return err_set(e, errno, "new session");
    if (sv->nofile_orig) {
        /* berthd raised its own soft fd limit: containers do not inherit that */
        struct rlimit rl;
        if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
            rl.rlim_cur = (rlim_t)sv->nofile_orig;
            (void)setrlimit(RLIMIT_NOFILE, &rl); /* lowering a soft limit cannot fail */
        }
    }
    return 0;
}

/* berthd re-executed as the container's PID 1 (--init): run the command as its only child,
 * forward every signal to it, reap every orphan, and exit as the command did (128+N when it
 * died of signal N). Signals stay blocked and are taken with sigwaitinfo: an init ignores a
 * signal it has no handler for, but a blocked one is queued. With TTY the command gets a process
 * group of its own in the terminal's foreground. */
static __attribute__((noreturn)) void init_run(char **argv, char **envp, int report_fd, int tty)
{
    static const int sync_signals[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP, SIGSYS, SIGABRT};
    sigset_t all, none;
    struct err e = {0};

    (void)sigfillset(&all);
    for (size_t i = 0; i < ARRAY_LEN(sync_signals); i++)
        (void)sigdelset(&all, sync_signals[i]);
    (void)sigemptyset(&none);
    (void)sigprocmask(SIG_SETMASK, &all, NULL);
    pid_t child = fork();
    if (child < 0) {
        err_set(&e, errno, "fork the command");
        child_fail(report_fd, 125, &e);
    }
    if (child == 0) {
        /* -t: the command is the terminal's foreground group, so Ctrl-C reaches it (SIGTTOU is
         * still blocked here, as tcsetpgrp from a background group needs) */
        if (tty && (setpgid(0, 0) < 0 || tcsetpgrp(STDIN_FILENO, getpid()) < 0)) {
            err_set(&e, errno, "make the command the terminal's foreground");
            child_fail(report_fd, 125, &e);
        }
        (void)sigprocmask(SIG_SETMASK, &none, NULL);
        int code = exec_cmd(argv, envp, &e);
        child_fail(report_fd, code, &e);
    }
    (void)close(report_fd); /* the command's copy closes at its exec: berthd then sees EOF */
    for (;;) {
        siginfo_t si;
        int sig = sigwaitinfo(&all, &si);
        if (sig < 0)
            continue; /* EINTR */
        if (sig != SIGCHLD) {
            (void)kill(child, sig);
            continue;
        }
        int st;
        pid_t p;
        while ((p = waitpid(-1, &st, WNOHANG)) > 0)
            if (p == child)
                _exit(WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
    }
}

/* After pivot_root (or, for an exec, after joining the container), shared by the cloned child,
 * by berthd re-executed as init and by exec sessions (X non-NULL): user, working directory,
 * environment, then DESIGN §11 in order (capabilities, no_new_privs, seccomp) and the exec (or,
 * with --init, the init loop around it). An exec never creates its working directory and never
 * remounts the root. */
static __attribute__((noreturn)) void child_finish(const struct ctr_config *cfg,
                                                   const struct seccomp_bpf *bpf, int report_fd,
                                                   const struct spawn_exec *x)
{
    static const struct seccomp_bpf unconfined;
    struct err e = {0};
    struct storage_user u;
    const char *user = x && x->user ? x->user : cfg->user;
    if (storage_user_resolve(user ? user : "", "/etc/passwd", "/etc/group", &u, &e) < 0)
        child_fail(report_fd, 125, &e);
    for (char **g = cfg->group_add; g && *g; g++)
        if (storage_group_add(*g, "/etc/group", &u, &e) < 0)
            child_fail(report_fd, 125, &e);

    const char *wd = x && x->workdir ? x->workdir : cfg->workdir;
    wd = wd && *wd ? wd : "/";
    struct stat st;
    if (!x && stat(wd, &st) < 0 && errno == ENOENT && storage_mkdir_owned(wd, u.uid, u.gid, &e) < 0)
        child_fail(report_fd, 125, &e);
    if (chdir(wd) < 0) {
        err_set(&e, 0, "chdir to \"%s\": %s", wd,
                errno == ENOENT ? "no such file or directory" : strerror(errno));
        child_fail(report_fd, errno == ENOENT ? 127 : 125, &e);
    }
    if (!x && cfg->read_only &&
        mount(NULL, "/", NULL, MS_REMOUNT | MS_BIND | MS_RDONLY, NULL) < 0) {
        err_set(&e, errno, "remount / read-only");
        child_fail(report_fd, 125, &e);
    }

    char **envp = build_env(x ? x->env : cfg->env, cfg->hostname, u.home, &e);
    if (!envp)
        child_fail(report_fd, 125, &e);

    /* DESIGN §11, in order: capabilities, no_new_privs, seccomp, then exec */
    struct caps_spec cs = {.privileged = cfg->privileged || (x && x->privileged)};
    if (cs.privileged && !cfg->privileged)
        bpf = &unconfined; /* exec --privileged: no filter either, as Docker does */
    for (char **n = cfg->cap_add; n && *n; n++)
        if (caps_spec_add(&cs, *n, 0, &e) < 0)
            child_fail(report_fd, 125, &e);
    for (char **n = cfg->cap_drop; n && *n; n++)
        if (caps_spec_add(&cs, *n, 1, &e) < 0)
            child_fail(report_fd, 125, &e);
    int non_root = u.uid != 0;
    /* without no_new_privs the kernel wants CAP_SYS_ADMIN to load a filter: do it while
     * still root (the profile allows the uid switch that follows) */
    int seccomp_early = !cfg->no_new_privs && non_root;
    if (seccomp_early && seccomp_bpf_load(bpf, &e) < 0)
        child_fail(report_fd, 125, &e);
    if (caps_before_setuid(&cs, non_root, &e) < 0)
        child_fail(report_fd, 125, &e);
    if (setgroups((size_t)u.ngroups, u.groups) < 0 || setgid(u.gid) < 0 || setuid(u.uid) < 0) {
        err_set(&e, errno, "set user %u:%u", (unsigned)u.uid, (unsigned)u.gid);
        child_fail(report_fd, 125, &e);
    }
    if (caps_after_setuid(&cs, non_root, &e) < 0)
        child_fail(report_fd, 125, &e);
    if (cfg->no_new_privs && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
        err_set(&e, errno, "set no_new_privs");
        child_fail(report_fd, 125, &e);
    }
    if (!seccomp_early && seccomp_bpf_load(bpf, &e) < 0)
        child_fail(report_fd, 125, &e);
    /* nothing of berthd may leak into the container: every fd above 2 closes at exec */
    if (syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC) < 0) {
        err_set(&e, errno, "close inherited fds");
        child_fail(report_fd, 125, &e);
    }
    if (!x && cfg->init)
        init_run(cfg->argv, envp, report_fd, cfg->tty);
    int code = exec_cmd(x ? x->argv : cfg->argv, envp, &e);
    child_fail(report_fd, code, &e);
}

/* The path of berthd's own binary, as this mount namespace sees it (a bind needs a path here:
 * /proc/self/exe names a mount of the namespace berthd started in). */
static int own_binary(char buf[PATH_MAX_BERTH], struct err *e)
{
    struct stat self, there;
    ssize_t n = readlink("/proc/self/exe", buf, PATH_MAX_BERTH - 1);
    if (n < 0)
        return err_set(e, errno, "read /proc/self/exe");
    buf[n] = 0;
    if (stat("/proc/self/exe", &self) < 0 || stat(buf, &there) < 0 || self.st_dev != there.st_dev ||
        self.st_ino != there.st_ino)
        return err_set(e, ESTALE,
                       "--init: berthd's binary '%s' was replaced since berthd started; restart "
                       "berthd",
                       buf);
    return 0;
}

/* --init: berthd execs itself from the read-only /sbin/berth-init bind (INIT_FD) before
 * pivot_root, while the host's libraries are still reachable; the config and the compiled
 * seccomp program travel in a memfd on fd 3, the report pipe on fd 4. The container then sees
 * /proc/1/exe on a read-only mount, so it cannot write berthd's binary. */
static __attribute__((noreturn)) void
reexec_init(const struct ctr_config *cfg, const struct seccomp_bpf *bpf, int init_fd, int report_fd)
{
    struct err e = {0};
    char *text = spawn_handoff_encode(cfg, bpf, &e);
    if (!text)
        child_fail(report_fd, 125, &e);
    int mfd = memfd_create("berth-init", MFD_CLOEXEC);
    if (mfd < 0 || util_write_all(mfd, text, strlen(text), &e) < 0) {
        if (mfd < 0)
            err_set(&e, errno, "memfd for berth-init");
        child_fail(report_fd, 125, &e);
    }
    free(text);
    /* above 4 first, so that neither lands on the other's target */
    int hi_cfg = fcntl(mfd, F_DUPFD_CLOEXEC, SPAWN_INIT_REPORT_FD + 1);
    int hi_rep = fcntl(report_fd, F_DUPFD_CLOEXEC, SPAWN_INIT_REPORT_FD + 1);
    if (hi_cfg < 0 || hi_rep < 0 || lseek(hi_cfg, 0, SEEK_SET) < 0 ||
        dup2(hi_cfg, SPAWN_INIT_CONFIG_FD) < 0 || dup2(hi_rep, SPAWN_INIT_REPORT_FD) < 0) {
        err_set(&e, errno, "hand fds to berth-init");
        child_fail(hi_rep >= 0 ? hi_rep : report_fd, 125, &e);
    }
    /* dup2 cleared CLOEXEC on 3 and 4 only: nothing else of berthd survives the exec */
    if (syscall(SYS_close_range, SPAWN_INIT_REPORT_FD + 1U, ~0U, CLOSE_RANGE_CLOEXEC) < 0) {
        err_set(&e, errno, "close inherited fds");
        child_fail(hi_rep, 125, &e);
    }
    size_t n = 0;
    while (cfg->argv && cfg->argv[n])
        n++;
    char **argv = calloc(n + 3, sizeof *argv);
    if (!argv) {
        err_set(&e, ENOMEM, "berth-init arguments");
        child_fail(hi_rep, 125, &e);
    }
    argv[0] = "/sbin/" SPAWN_INIT_NAME;
    argv[1] = "--";
    for (size_t i = 0; i < n; i++)
        argv[i + 2] = cfg->argv[i];
    char *envp[] = {NULL}; /* berthd's environment stays outside */
    syscall(SYS_execveat, init_fd, "", argv, envp, AT_EMPTY_PATH);
    err_set(&e, errno, "exec /sbin/" SPAWN_INIT_NAME);
    child_fail(hi_rep, 125, &e);
}

/* In the child's new netns: a veth pair made from berthd's netns with the peer created right
 * here as eth0 (so the pair vanishes with this namespace: nothing to delete at exit), then the
 * address and the default route. */
static int child_veth(const struct ctr *c, struct err *e)
{
    auto_close int own = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
    unsigned mtu = 0;
    struct err ig;
    if (own < 0)
        return err_set(e, errno, "open own network namespace");
    if (setns(c->sv->host_netns_fd, CLONE_NEWNET) < 0)
        return err_set(e, errno, "enter berthd's network namespace");
    if (net_link_mtu(c->net_bridge, &mtu, &ig) < 0)
        mtu = 0;
    int rc = net_veth_create(c->veth, c->net_bridge, own, "eth0", mtu, e);
    if (setns(own, CLONE_NEWNET) < 0)
        return err_set(e, errno, "return to the container's network namespace");
    if (rc < 0)
        return err_wrap(e, "veth pair %s", c->veth);
    return net_iface_setup("eth0", "eth0", c->ip, c->net_prefix, c->net_gateway, e);
}

/* The config's mounts as the rootfs code applies them: a volume's source is its directory. In
 * the child (its own copy of memory: nothing is freed). */
static struct storage_mount *child_mounts(const struct ctr *c, const char *ctr_dir, int *n,
                                          struct err *e)
{
    *n = c->cfg.nmounts + (c->cfg.health.sdnotify ? 1 : 0);
    if (*n == 0)
        return NULL;
    struct storage_mount *v = calloc((size_t)*n, sizeof *v);
    if (!v) {
        err_set(e, ENOMEM, "mounts");
        return NULL;
    }
    if (c->cfg.health.sdnotify) {
        /* the readiness socket, last: over whatever the config mounts on /run */
        char *sock = malloc(PATH_MAX_BERTH);
        if (!sock || util_fmt(sock, PATH_MAX_BERTH, e, "%s/%s", ctr_dir, HEALTH_NOTIFY_FILE) < 0) {
            if (!sock)
                err_set(e, ENOMEM, "mounts");
            free(sock);
            return NULL;
        }
        v[*n - 1].source = sock;
        v[*n - 1].target = HEALTH_NOTIFY_PATH;
    }
    for (int i = 0; i < c->cfg.nmounts; i++) {
        const struct ctr_mount *m = &c->cfg.mounts[i];
        v[i].target = m->target;
        v[i].read_only = m->read_only;
        v[i].flags = m->flags;
        if (m->type == CTR_MOUNT_BIND) {
            v[i].source = m->source;
        } else if (m->type == CTR_MOUNT_VOLUME) {
            char *dir = malloc(PATH_MAX_BERTH);
            if (!dir || volume_path(c->sv, m->source, dir, PATH_MAX_BERTH, e) < 0) {
                free(dir);
                return NULL;
            }
            v[i].source = dir;
            v[i].copy_up = !m->nocopy;
        } else {
            char *data = malloc(64);
            unsigned mode = m->tmpfs_mode ? m->tmpfs_mode : 01777;
            int rc = !data ? err_set(e, ENOMEM, "mounts")
                     : m->tmpfs_size /* none: the kernel's default, half of RAM */
                         ? util_fmt(data, 64, e, "mode=%o,size=%lld", mode, m->tmpfs_size)
                         : util_fmt(data, 64, e, "mode=%o", mode);
            if (rc < 0) {
                free(data);
                return NULL;
            }
            v[i].data = data;
        }
    }
    return v;
}

static __attribute__((noreturn)) void child_main(const struct ctr *c, const char *dir,
                                                 const char *lower, int stdin_fd, int report_fd,
                                                 const struct seccomp_bpf *bpf)
{
    struct err e = {0};
    char upper[PATH_MAX_BERTH], work[PATH_MAX_BERTH], merged[PATH_MAX_BERTH];
    char hostname_f[PATH_MAX_BERTH], hosts_f[PATH_MAX_BERTH], resolv_f[PATH_MAX_BERTH];
    int init_fd = -1;

    if (child_reset(c->sv, &e) < 0)
        child_fail(report_fd, 125, &e);

    if (c->has_cg && cgroup_enter(&c->cg, 0, &e) < 0) /* 0: the writer itself */
        child_fail(report_fd, 125, &e);
    if (unshare(CLONE_NEWCGROUP) < 0) {
        err_set(&e, errno, "new cgroup namespace");
        child_fail(report_fd, 125, &e);
    }
    if (!c->cfg.tty && setup_stdio(dir, stdin_fd, &e) < 0)
        child_fail(report_fd, 125, &e);
    if (sethostname(c->cfg.hostname, strlen(c->cfg.hostname)) < 0) {
        err_set(&e, errno, "set hostname '%s'", c->cfg.hostname);
        child_fail(report_fd, 125, &e);
    }
    if (c->cfg.network == CTR_NET_CONTAINER && setns(c->net_join_fd, CLONE_NEWNET) < 0) {
        err_set(&e, errno, "join the network namespace of '%s'", c->cfg.network_name);
        child_fail(report_fd, 125, &e);
    }
    if (c->cfg.network == CTR_NET_BRIDGE && c->ip && child_veth(c, &e) < 0)
        child_fail(report_fd, 125, &e);
    if ((c->cfg.network == CTR_NET_NONE || c->cfg.network == CTR_NET_BRIDGE) &&
        net_link_up_lo(&e) < 0)
        child_fail(report_fd, 125, &e);

    if (util_fmt(upper, sizeof upper, &e, "%s/upper", dir) < 0 ||
        util_fmt(work, sizeof work, &e, "%s/work", dir) < 0 ||
        util_fmt(merged, sizeof merged, &e, "%s/merged", dir) < 0 ||
        util_fmt(hostname_f, sizeof hostname_f, &e, "%s/hostname", dir) < 0 ||
        util_fmt(hosts_f, sizeof hosts_f, &e, "%s/hosts", dir) < 0 ||
        util_fmt(resolv_f, sizeof resolv_f, &e, "%s/resolv.conf", dir) < 0)
        child_fail(report_fd, 125, &e);
    char exe[PATH_MAX_BERTH];
    if (c->cfg.init && own_binary(exe, &e) < 0)
        child_fail(report_fd, 125, &e);
    int nmounts = 0;
    struct storage_mount *mounts = child_mounts(c, dir, &nmounts, &e);
    if (!mounts && nmounts)
        child_fail(report_fd, 125, &e);
    /* --device: the host's nodes as they are now (berthd allowed the same ones in the cgroup) */
    static struct ctr_device devs[CTR_DEVICES_MAX];
    static struct storage_device sdevs[CTR_DEVICES_MAX];
    int ndevs = 0;
    for (char **d = c->cfg.devices; d && *d && ndevs < CTR_DEVICES_MAX; d++, ndevs++) {
        if (ctr_device_resolve(*d, &devs[ndevs], &e) < 0)
            child_fail(report_fd, 125, &e);
        sdevs[ndevs] = (struct storage_device){
            .path = devs[ndevs].path,
            .host = devs[ndevs].host,
            .mode = devs[ndevs].mode,
            .rdev = devs[ndevs].rdev,
            .uid = devs[ndevs].uid,
            .gid = devs[ndevs].gid,
        };
    }
    struct storage_rootfs rf = {
        .lower = lower,
        .upper = upper,
        .work = work,
        .merged = merged,
        .hostname = hostname_f,
        .hosts = hosts_f,
        .resolv = resolv_f,
        .read_only = 0, /* remounted below, after the working directory exists */
        .host_network = c->cfg.network == CTR_NET_HOST,
        .privileged = c->cfg.privileged,
        .init_binary = c->cfg.init ? exe : NULL,
        .init_fd = &init_fd,
        .defer_pivot = 1, /* pivot here, or in berthd re-executed as berth-init */
        .mounts = mounts,
        .nmounts = nmounts,
        .devices = sdevs,
        .ndevices = ndevs,
        .copy_contents = storage_copy_contents,
    };
    if (storage_rootfs_setup(&rf, &e) < 0)
        child_fail(report_fd, 125, &e);
    if (c->cfg.tty) {
        char ptmx[PATH_MAX_BERTH], console[PATH_MAX_BERTH];
        if (util_fmt(ptmx, sizeof ptmx, &e, "%s/dev/pts/ptmx", merged) < 0 ||
            util_fmt(console, sizeof console, &e, "%s/dev/console", merged) < 0 ||
            child_pty(ptmx, console, c->tty_rows, c->tty_cols, report_fd, &e) < 0)
            child_fail(report_fd, 125, &e);
    }
    if (c->cfg.init)
        reexec_init(&c->cfg, bpf, init_fd, report_fd);
    if (storage_rootfs_pivot(0, &e) < 0)
        child_fail(report_fd, 125, &e);
    child_finish(&c->cfg, bpf, report_fd, NULL);
}

/* ---- the --init hand-off: JSON {"Config": <as in the snapshot>, "Seccomp": ["hex"...]} ---- */

#define HANDOFF_MAX (16u * 1024 * 1024) /* args and env are bounded well below this */

static char *hex_encode(const void *buf, size_t len)
{
    static const char digits[] = "0123456789abcdef";
    const unsigned char *b = buf;
    char *out = malloc(2 * len + 1);
    if (!out)
        return NULL;
    for (size_t i = 0; i < len; i++) {
        out[2 * i] = digits[b[i] >> 4];
        out[2 * i + 1] = digits[b[i] & 15];
    }
    out[2 * len] = 0;
    return out;
}

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

char *spawn_handoff_encode(const struct ctr_config *cfg, const struct seccomp_bpf *bpf,
                           struct err *e)
{
    auto_json cJSON *root = cJSON_CreateObject();
    cJSON *arr = cJSON_CreateArray();
    if (!root || !arr) {
        cJSON_Delete(arr);
        return err_set(e, ENOMEM, "encode init hand-off"), NULL;
    }
    cJSON_AddItemToObject(root, "Seccomp", arr);
    cJSON_AddItemToObject(root, "Config", ctr_config_json(cfg));
    for (int i = 0; i < bpf->n; i++) {
        char *hex = hex_encode(bpf->prog[i].filter, bpf->prog[i].len * sizeof(struct sock_filter));
        cJSON *item = hex ? cJSON_CreateString(hex) : NULL;
        free(hex);
        if (!item)
            return err_set(e, ENOMEM, "encode init hand-off"), NULL;
        cJSON_AddItemToArray(arr, item);
    }
    char *text = cJSON_PrintUnformatted(root);
    if (!text)
        return err_set(e, ENOMEM, "encode init hand-off"), NULL;
    return text;
}

static int decode_prog(const cJSON *item, struct sock_fprog *prog, struct err *e)
{
    if (!cJSON_IsString(item))
        return err_set(e, EINVAL, "init hand-off: seccomp program must be a string");
    size_t hl = strlen(item->valuestring);
    size_t len = hl / 2;
    if (hl % (2 * sizeof(struct sock_filter)) != 0 || len == 0 ||
        len / sizeof(struct sock_filter) > BPF_MAXINSNS)
        return err_set(e, EINVAL, "init hand-off: bad seccomp program length %zu", hl);
    unsigned char *buf = malloc(len);
    if (!buf)
        return err_set(e, ENOMEM, "init hand-off");
    for (size_t i = 0; i < len; i++) {
        int hi = hex_value(item->valuestring[2 * i]), lo = hex_value(item->valuestring[2 * i + 1]);
        if (hi < 0 || lo < 0) {
            free(buf);
            return err_set(e, EINVAL, "init hand-off: seccomp program is not hex");
        }
        buf[i] = (unsigned char)(hi << 4 | lo);
    }
    prog->filter = (struct sock_filter *)(void *)buf;
    prog->len = (unsigned short)(len / sizeof(struct sock_filter));
    return 0;
}

int spawn_handoff_decode(const char *text, struct ctr_config *cfg, struct seccomp_bpf *bpf,
                         struct err *e)
{
    memset(cfg, 0, sizeof *cfg);
    memset(bpf, 0, sizeof *bpf);
    auto_json cJSON *root = cJSON_Parse(text);
    if (!cJSON_IsObject(root))
        return err_set(e, EINVAL, "init hand-off is not a JSON object");
    const cJSON *arr = cJSON_GetObjectItemCaseSensitive(root, "Seccomp");
    if (!cJSON_IsArray(arr) || cJSON_GetArraySize(arr) > 2)
        return err_set(e, EINVAL, "init hand-off: 'Seccomp' must hold at most 2 programs");
    if (ctr_config_from_json(cJSON_GetObjectItemCaseSensitive(root, "Config"), cfg, e) < 0)
        return err_wrap(e, "init hand-off");
    const cJSON *item;
    cJSON_ArrayForEach(item, arr)
    {
        if (decode_prog(item, &bpf->prog[bpf->n], e) < 0) {
            seccomp_bpf_free(bpf);
            ctr_config_free(cfg);
            return -1;
        }
        bpf->n++;
    }
    return 0;
}

int spawn_is_init(const char *argv0)
{
    const char *base = argv0 ? strrchr(argv0, '/') : NULL;
    base = base ? base + 1 : argv0;
    return base && strcmp(base, SPAWN_INIT_NAME) == 0;
}

int spawn_init_main(void)
{
    struct err e = {0};
    struct ctr_config cfg;
    struct seccomp_bpf bpf;
    char p[32];

    /* berthd hands the config over in a memfd (the only kind of fd with seals here): anything
     * else on fd 3, such as a test harness's pipe, means nobody started us as an init */
    if (fcntl(SPAWN_INIT_CONFIG_FD, F_GET_SEALS) < 0 ||
        fcntl(SPAWN_INIT_REPORT_FD, F_SETFD, FD_CLOEXEC) < 0) {
        fprintf(stderr, SPAWN_INIT_NAME ": runs only as a container's init, started by berthd\n");
        return 2;
    }
    (void)snprintf(p, sizeof p, "/proc/self/fd/%d", SPAWN_INIT_CONFIG_FD);
    char *text = util_read_file(p, HANDOFF_MAX, NULL, &e);
    (void)close(SPAWN_INIT_CONFIG_FD);
    if (!text || spawn_handoff_decode(text, &cfg, &bpf, &e) < 0)
        child_fail(SPAWN_INIT_REPORT_FD, 125, &e);
    free(text);
    /* PID 1 of the container's namespace; with --pid host, a subreaper in the host's, so the
     * command's orphans still come to it rather than to berthd */
    if (getpid() != 1 && (!cfg.pid_host || prctl(PR_SET_CHILD_SUBREAPER, 1) < 0)) {
        err_set(&e, cfg.pid_host ? errno : 0, SPAWN_INIT_NAME ": not a container's init");
        child_fail(SPAWN_INIT_REPORT_FD, 125, &e);
    }
    (void)prctl(PR_SET_NAME, SPAWN_INIT_NAME, 0, 0, 0);
    if (storage_rootfs_pivot(0, &e) < 0)
        child_fail(SPAWN_INIT_REPORT_FD, 125, &e);
    child_finish(&cfg, &bpf, SPAWN_INIT_REPORT_FD, NULL);
}

/* Compiled seccomp programs by (mode, capabilities, profile): building one with libseccomp
 * costs tens of milliseconds, loading a compiled one microseconds. */
#define BPF_CACHE_SIZE 8
static struct {
    int used;
    int mode;
    uint64_t caps;
    char *profile;
    struct seccomp_bpf bpf;
} bpf_cache[BPF_CACHE_SIZE];
static unsigned bpf_cache_next;

static const struct seccomp_bpf *compiled_profile(const struct ctr *c, struct err *e)
{
    struct caps_spec cs = {.privileged = c->cfg.privileged};
    struct seccomp_spec ss = {.mode = SECCOMP_MODE_DEFAULT};
    for (char **n = c->cfg.cap_add; n && *n; n++)
        if (caps_spec_add(&cs, *n, 0, e) < 0)
            return NULL;
    for (char **n = c->cfg.cap_drop; n && *n; n++)
        if (caps_spec_add(&cs, *n, 1, e) < 0)
            return NULL;
    if (c->cfg.privileged || c->cfg.seccomp_unconfined)
        ss.mode = SECCOMP_MODE_UNCONFINED;
    else if (c->cfg.seccomp_profile) {
        ss.mode = SECCOMP_MODE_FILE;
        ss.profile_text = c->cfg.seccomp_profile;
        ss.len = strlen(c->cfg.seccomp_profile);
    }
    uint64_t caps = caps_effective_set(&cs);
    for (int i = 0; i < BPF_CACHE_SIZE; i++)
        if (bpf_cache[i].used && bpf_cache[i].mode == ss.mode && bpf_cache[i].caps == caps &&
            (ss.mode != SECCOMP_MODE_FILE || strcmp(bpf_cache[i].profile, ss.profile_text) == 0))
            return &bpf_cache[i].bpf;
    unsigned k = bpf_cache_next++ % BPF_CACHE_SIZE;
    struct seccomp_bpf fresh;
    char *profile = NULL;
    if (ss.mode == SECCOMP_MODE_FILE && !(profile = strdup(ss.profile_text)))
        return err_set(e, ENOMEM, "seccomp profile"), NULL;
    if (seccomp_compile(&ss, caps, &fresh, e) < 0) {
        free(profile);
        return NULL;
    }
    if (bpf_cache[k].used) {
        seccomp_bpf_free(&bpf_cache[k].bpf);
        free(bpf_cache[k].profile);
    }
    bpf_cache[k].used = 1;
    bpf_cache[k].mode = ss.mode;
    bpf_cache[k].caps = caps;
    bpf_cache[k].profile = profile;
    bpf_cache[k].bpf = fresh;
    return &bpf_cache[k].bpf;
}

/* The parent's end of a child's report socket: non-blocking, or the child is killed. */
static int report_end(int fd, pid_t child, pid_t *pid, int *report_fd, struct err *e)
{
    if (fcntl(fd, F_SETFL, O_NONBLOCK) < 0) {
        int saved = errno;
        (void)close(fd);
        (void)kill(child, SIGKILL); /* reaped by the pid-0 watcher as an orphan */
        return err_set(e, saved, "set report socket non-blocking");
    }
    *pid = child;
    *report_fd = fd;
    return 0;
}

int spawn_container(const struct ctr *c, const char *ctr_dir, const char *image_rootfs,
                    int stdin_fd, pid_t *pid, int *report_fd, struct err *e)
{
    const struct seccomp_bpf *bpf = compiled_profile(c, e);
    if (!bpf)
        return err_wrap(e, "seccomp profile of '%s'", c->name);
    int p[2];
    /* a socket, not a pipe: with -t the pty's master travels back on it */
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, p) < 0)
        return err_set(e, errno, "create report socket for '%s'", c->name);
    /* the cgroup namespace comes later, in the child, once it is inside its own group, so
     * that group is the root of what it sees */
    long flags = CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC;
    if (!c->cfg.pid_host)
        flags |= CLONE_NEWPID;
    if (c->cfg.network == CTR_NET_NONE || c->cfg.network == CTR_NET_BRIDGE)
        flags |= CLONE_NEWNET;
    /* fork-like clone (no new stack): the child continues here on a copy of our memory */
    long rc = syscall(SYS_clone, flags | SIGCHLD, NULL, NULL, NULL, NULL);
    if (rc < 0) {
        int saved = errno;
        (void)close(p[0]);
        (void)close(p[1]);
        return err_set(e, saved, "clone container '%s'", c->name);
    }
    if (rc == 0) {
        (void)close(p[0]);
        child_main(c, ctr_dir, image_rootfs, stdin_fd, p[1], bpf);
    }
    (void)close(p[1]);
    return report_end(p[0], (pid_t)rc, pid, report_fd, e);
}

/* ---- exec sessions ---- */

/* The exec's stdio: the client's fds as given (-1: /dev/null). */
static int exec_stdio(const int fds[3], struct err *e)
{
    auto_close int null = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (null < 0)
        return err_set(e, errno, "open /dev/null");
    for (int i = 0; i < 3; i++)
        if (dup2(fds[i] >= 0 ? fds[i] : null, i) < 0)
            return err_set(e, errno, "set up stdio");
    return 0;
}

/* In the container's pid namespace already (berthd cloned it there): its cgroup, then every
 * other namespace of its init at once through the pidfd, then stdio and the common finish. */
static __attribute__((noreturn)) void exec_child(const struct ctr *c, int pidfd,
                                                 const struct spawn_exec *x, int report_fd,
                                                 const struct seccomp_bpf *bpf)
{
    struct err e = {0};
    if (child_reset(c->sv, &e) < 0)
        child_fail(report_fd, 125, &e);
    if (c->has_cg && cgroup_enter(&c->cg, 0, &e) < 0)
        child_fail(report_fd, 125, &e);
    if (setns(pidfd, CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWNET | CLONE_NEWCGROUP) <
        0) {
        err_set(&e, errno, "join the namespaces of '%s'", c->name);
        child_fail(report_fd, 125, &e);
    }
    if ((x->tty ? child_pty("/dev/pts/ptmx", NULL, x->rows, x->cols, report_fd, &e)
                : exec_stdio(x->fds, &e)) < 0)
        child_fail(report_fd, 125, &e);
    child_finish(&c->cfg, bpf, report_fd, x);
}

int spawn_exec(const struct ctr *c, const struct spawn_exec *x, pid_t *pid, int *report_fd,
               struct err *e)
{
    static int pidns_broken;
    if (pidns_broken)
        return err_set(e, EIO, "berthd could not return to its own pid namespace: restart it");
    const struct seccomp_bpf *bpf = compiled_profile(c, e);
    if (!bpf)
        return err_wrap(e, "seccomp profile of '%s'", c->name);
    auto_close int pidfd = c->pid > 0 ? (int)syscall(SYS_pidfd_open, c->pid, 0) : -1;
    if (pidfd < 0 || (c->pid_start && util_pid_starttime(c->pid) != c->pid_start))
        return err_set(e, ESRCH, "container %s is not running", c->name);
    auto_close int own = open("/proc/self/ns/pid", O_RDONLY | O_CLOEXEC);
    if (own < 0)
        return err_set(e, errno, "open berthd's pid namespace");
    int p[2];
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, p) < 0)
        return err_set(e, errno, "create report socket for an exec in '%s'", c->name);
    /* the child is born in the container's pid namespace and is still berthd's own child:
     * its exit status comes straight to the reaper, no intermediate process */
    if (setns(pidfd, CLONE_NEWPID) < 0) {
        int saved = errno;
        (void)close(p[0]);
        (void)close(p[1]);
        return err_set(e, saved, "enter the pid namespace of '%s'", c->name);
    }
    long rc = syscall(SYS_clone, SIGCHLD, NULL, NULL, NULL, NULL);
    int saved = errno;
    if (rc == 0) {
        (void)close(p[0]);
        exec_child(c, pidfd, x, p[1], bpf);
    }
    if (setns(own, CLONE_NEWPID) < 0) {
        /* cannot happen (a namespace may always go back to its own); if it did, every later
         * start would land in that container's namespace: refuse them instead */
        pidns_broken = 1;
        log_msg(LOG_ERROR, "return to berthd's pid namespace: %s", strerror(errno));
    }
    (void)close(p[1]);
    if (rc < 0) {
        (void)close(p[0]);
        return err_set(e, saved, "clone an exec in '%s'", c->name);
    }
    return report_end(p[0], (pid_t)rc, pid, report_fd, e);
}

enum spawn_status spawn_report_read(int fd, struct spawn_report *r, int *pty_fd)
{
    for (;;) {
        union {
            struct cmsghdr h;
            char buf[CMSG_SPACE(sizeof(int) * 2)];
        } cm;
        struct spawn_report got;
        struct iovec iov = {&got, sizeof got};
        struct msghdr mh = {.msg_iov = &iov,
                            .msg_iovlen = 1,
                            .msg_control = cm.buf,
                            .msg_controllen = sizeof cm.buf};
        ssize_t n = recvmsg(fd, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN)
            return SPAWN_WAIT;
        int saved = errno;
        for (struct cmsghdr *h = CMSG_FIRSTHDR(&mh); n >= 0 && h; h = CMSG_NXTHDR(&mh, h)) {
            if (h->cmsg_level != SOL_SOCKET || h->cmsg_type != SCM_RIGHTS)
                continue;
            size_t k = (h->cmsg_len - CMSG_LEN(0)) / sizeof(int);
            for (size_t i = 0; i < k; i++) {
                int got_fd;
                memcpy(&got_fd, CMSG_DATA(h) + i * sizeof(int), sizeof got_fd);
                if (n == 1 && *pty_fd < 0)
                    *pty_fd = got_fd;
                else
                    (void)close(got_fd);
            }
        }
        if (n == 1)
            continue; /* the pty's master: the report follows */
        if (n == 0)
            return SPAWN_EXECED;
        memset(r, 0, sizeof *r);
        if (n == (ssize_t)sizeof got)
            *r = got;
        else {
            r->exit_code = 125;
            err_set(&r->e, n < 0 ? saved : 0, "container init failed before exec");
        }
        r->e.msg[sizeof r->e.msg - 1] = '\0';
        return SPAWN_FAILED;
    }
}
