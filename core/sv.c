/* SPDX-License-Identifier: MIT */
/* core/sv.c - the supervisor's loop: the pid-0 reaper, signals, helpers, group commit of the
 * snapshot in an ev_prepare watcher, reconciliation at start and graceful shutdown. */
#include "core/sv.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/apply.h"
#include "core/deps.h"
#include "core/boot.h"
#include "core/cgroup.h"
#include "core/ctr.h"
#include "core/events.h"
#include "core/exec.h"
#include "core/health.h"
#include "core/firewall.h"
#include "core/log.h"
#include "core/network.h"
#include "core/server.h"
#include "core/snapshot.h"
#include "core/volume.h"
#include "core/util.h"
#include "storage/image.h"

void sv_mark_dirty(struct sv *sv)
{
    sv->dirty = 1;
}

struct ctr *sv_find_name(const struct sv *sv, const char *name)
{
    for (struct ctr *c = sv->ctrs; c; c = c->next)
        if (c->state != CTR_DEAD && strcmp(c->name, name) == 0)
            return c;
    return NULL;
}

struct ctr *sv_find(struct sv *sv, const char *ref, struct err *e)
{
    struct ctr *match = NULL;
    if (ref && ref[0] == '/')
        ref++;
    if (!ref || !*ref)
        return err_set(e, 0, "no such container: "), e->code = 404, NULL;
    struct ctr *named = sv_find_name(sv, ref);
    if (named)
        return named;
    size_t n = strlen(ref);
    for (struct ctr *c = sv->ctrs; c; c = c->next) {
        if (c->state == CTR_DEAD || strncmp(c->id, ref, n) != 0)
            continue;
        if (n == CTR_ID_LEN)
            return c;
        if (match) {
            err_set(e, 0, "multiple containers match: %s", ref);
            e->code = 409;
            return NULL;
        }
        match = c;
    }
    if (!match) {
        err_set(e, 0, "no such container: %s", ref);
        e->code = 404;
    }
    return match;
}

struct ctr *sv_find_by_pid(struct sv *sv, pid_t pid)
{
    for (struct ctr *c = sv->ctrs; c; c = c->next)
        if ((c->pid == pid && !c->adopted) || c->failed_pid == pid)
            return c;
    return NULL;
}

void sv_add(struct sv *sv, struct ctr *c)
{
    c->next = sv->ctrs;
    sv->ctrs = c;
    sv->nctrs++;
    sv_mark_dirty(sv);
}

void sv_remove(struct sv *sv, struct ctr *c)
{
    /* freed in the sweep: callers up the stack may still hold c (STYLE R7) */
    (void)sv;
    c->state = CTR_DEAD; /* already set by ctr_handle; repeated for the sweep's sake */
}

static void sweep_ctrs(struct sv *sv)
{
    for (struct ctr **pp = &sv->ctrs; *pp;) {
        struct ctr *c = *pp;
        if (c->state == CTR_DEAD && !ctr_busy(c)) {
            *pp = c->next;
            sv->nctrs--;
            ctr_free(c);
        } else
            pp = &c->next;
    }
}

/* ---- helpers ---- */

static void on_helper_readable(struct ev_loop *loop, ev_io *w, int revents)
{
    struct helper *h = w->data;
    (void)revents;
    if (!h->result) {
        h->result = calloc(1, sizeof *h->result);
        if (!h->result) {
            ev_io_stop(loop, w);
            return;
        }
    }
    ssize_t n = read(h->fd, h->result, sizeof *h->result);
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return;
    if (n != (ssize_t)sizeof *h->result) {
        free(h->result);
        h->result = NULL;
    }
    ev_io_stop(loop, w);
}

struct helper_slot {
    struct helper h;
    ev_io w;
};

int sv_helper(struct sv *sv, int (*fn)(void *arg, struct err *e), void *arg,
              void (*done)(struct sv *sv, void *data, int ok, const struct err *e), void *data,
              struct err *e)
{
    int p[2];
    struct helper_slot *s = calloc(1, sizeof *s);
    if (!s)
        return err_set(e, ENOMEM, "start helper");
    if (pipe2(p, O_CLOEXEC | O_NONBLOCK) < 0) {
        free(s);
        return err_set(e, errno, "start helper: pipe");
    }
    pid_t pid = fork();
    if (pid < 0) {
        int saved = errno;
        (void)close(p[0]);
        (void)close(p[1]);
        free(s);
        return err_set(e, saved, "start helper: fork");
    }
    if (pid == 0) {
        struct err ce = {0};
        sigset_t none;
        (void)sigemptyset(&none);
        (void)sigprocmask(SIG_SETMASK, &none, NULL);
        (void)prctl(PR_SET_PDEATHSIG, SIGKILL);
        (void)close(p[0]);
        int flags = fcntl(p[1], F_GETFL);
        (void)fcntl(p[1], F_SETFL, flags & ~O_NONBLOCK);
        int rc = fn(arg, &ce);
        if (rc == 0 && !ce.msg[0])
            _exit(0);
        /* a failure's error, or a success's result text */
        _exit(write(p[1], &ce, sizeof ce) == (ssize_t)sizeof ce ? (rc == 0 ? 0 : 1) : 2);
    }
    (void)close(p[1]);
    s->h.pid = pid;
    s->h.fd = p[0];
    s->h.done = done;
    s->h.data = data;
    s->h.next = sv->helpers;
    sv->helpers = &s->h;
    ev_io_init(&s->w, on_helper_readable, p[0], EV_READ);
    s->w.data = &s->h;
    ev_io_start(sv->loop, &s->w);
    return 0;
}

static int helper_reap(struct sv *sv, pid_t pid, int status)
{
    for (struct helper **pp = &sv->helpers; *pp; pp = &(*pp)->next) {
        struct helper *h = *pp;
        if (h->pid != pid)
            continue;
        *pp = h->next;
        struct helper_slot *s = (struct helper_slot *)h;
        /* its pipe is complete now: the writer has exited */
        if (ev_is_active(&s->w))
            on_helper_readable(sv->loop, &s->w, EV_READ);
        ev_io_stop(sv->loop, &s->w);
        (void)close(h->fd);
        int ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
        struct err e = {0};
        if (h->result)
            e = *h->result;
        else if (!ok)
            err_set(&e, 0, "helper %d failed (status %d)", (int)pid, status);
        if (h->done)
            h->done(sv, h->data, ok, &e);
        free(h->result);
        free(s);
        sv_shutdown_progress(sv);
        return 1;
    }
    return 0;
}

/* ---- the reaper ---- */

static void on_child_exit(struct ev_loop *loop, ev_child *w, int revents)
{
    struct sv *sv = ev_userdata(loop);
    (void)revents;
    struct ctr *c = sv_find_by_pid(sv, w->rpid);
    if (c)
        ctr_reaped(c, w->rpid, w->rstatus);
    else if (!exec_reaped(sv, w->rpid, w->rstatus) && !health_reaped(sv, w->rpid, w->rstatus) &&
             !helper_reap(sv, w->rpid, w->rstatus)) {
        sv->orphans_reaped++;
        log_msg(LOG_DEBUG, "reaped orphan %d", (int)w->rpid);
    }
    sv_shutdown_progress(sv);
}

/* ---- group commit ---- */

static void commit(struct sv *sv)
{
    if (sv->dirty) {
        struct err e = {0};
        if (snapshot_write(sv, &e) < 0) {
            if (!sv->snapshot_failing)
                log_err(&e, "write snapshot (replies held until it succeeds)");
            sv->snapshot_failing = 1;
            if (!ev_is_active(&sv->retry_w)) {
                ev_timer_set(&sv->retry_w, 1., 0.);
                ev_timer_start(sv->loop, &sv->retry_w);
            }
            return; /* nothing acknowledged may be lost: hold every reply */
        }
        if (sv->snapshot_failing)
            log_msg(LOG_INFO, "snapshot written again");
        sv->snapshot_failing = 0;
        sv->dirty = 0;
    }
    server_flush(sv);
}

static void on_loop_prepare(struct ev_loop *loop, ev_prepare *w, int revents)
{
    (void)loop;
    (void)revents;
    commit(w->data);
}

static void on_retry_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)w;
    (void)revents;
    /* the prepare watcher retries the write before the loop blocks again */
}

static void on_idle_periodic(struct ev_loop *loop, ev_periodic *w, int revents)
{
    (void)loop;
    (void)w;
    (void)revents;
}

static void on_sweep_check(struct ev_loop *loop, ev_check *w, int revents)
{
    struct sv *sv = w->data;
    (void)loop;
    (void)revents;
    sweep_ctrs(sv);
    server_sweep(sv);
}

/* ---- shutdown ---- */

static int all_down(const struct sv *sv)
{
    for (const struct ctr *c = sv->ctrs; c; c = c->next)
        if (c->state == CTR_RUNNING || c->state == CTR_STOPPING || c->state == CTR_PAUSED ||
            c->state == CTR_REMOVING || ctr_busy(c))
            return 0;
    return sv->helpers == NULL;
}

/* Stop every container that nothing live still requires (the manifest's and --requires:
 * dependents first). */
static void shutdown_step(struct sv *sv)
{
    for (struct ctr *c = sv->ctrs; c; c = c->next)
        if ((c->state == CTR_RUNNING || c->state == CTR_PAUSED || c->state == CTR_RESTARTING) &&
            !apply_holds(sv, c) && !deps_holds(sv, c))
            (void)ctr_handle(c, CTR_EV_SHUTDOWN, c->cfg.stop_timeout, NULL);
}

void sv_shutdown_progress(struct sv *sv)
{
    if (!sv->shutting_down)
        return;
    shutdown_step(sv);
    if (!all_down(sv))
        return;
    struct err e = {0};
    if (sv->dirty && snapshot_write(sv, &e) < 0)
        log_err(&e, "final snapshot");
    sv->dirty = 0;
    server_flush(sv);
    log_msg(LOG_INFO, "every container is down: exiting");
    ev_break(sv->loop, EVBREAK_ALL);
}

void sv_shutdown_begin(struct sv *sv)
{
    if (sv->shutting_down)
        return;
    sv->shutting_down = 1;
    apply_cancel(sv);
    deps_cancel_all(sv, "berthd is shutting down");
    boot_notify("STOPPING=1");
    log_msg(LOG_INFO, "shutting down (then %s): stopping containers",
            boot_halt_name((enum boot_halt)sv->halt));
    shutdown_step(sv);
    for (struct ctr *c = sv->ctrs; c; c = c->next) {
        if (c->cfg.auto_remove && (c->state == CTR_EXITED || c->state == CTR_CREATED))
            (void)ctr_handle(c, CTR_EV_REMOVE, 0, NULL);
        else if (c->cfg.auto_remove)
            c->remove_after_exit = 1;
    }
    sv_shutdown_progress(sv);
}

static void on_signal(struct ev_loop *loop, ev_signal *w, int revents)
{
    struct sv *sv = ev_userdata(loop);
    (void)revents;
    switch (w->signum) {
    case SIGTERM:
    case SIGINT:
    case SIGUSR1:
    case SIGUSR2:
    case SIGPWR:
        if (!sv->shutting_down)
            sv->halt = boot_halt_for_signal((enum boot_role)sv->role, w->signum);
        log_msg(LOG_INFO, "%s: shutdown", strsignal(w->signum));
        sv_shutdown_begin(sv);
        break;
    case SIGHUP: {
        struct err e = {0};
        if (!sv->manifest_path[0])
            log_msg(LOG_INFO, "SIGHUP: no manifest to reload");
        else if (apply_start(sv, sv->manifest_path, NULL, &e) < 0)
            log_err(&e, "SIGHUP: manifest %s", sv->manifest_path);
        break;
    }
    default:
        break;
    }
}

/* ---- start ---- */

static int remove_tree_fn(void *arg, struct err *e)
{
    return storage_remove_tree(arg, e);
}

int sv_remove_tree(struct sv *sv, const char *path, struct err *e)
{
    /* the helper forks at once: PATH, even on the caller's stack, is valid in its copy */
    return sv_helper(sv, remove_tree_fn, (void *)path, NULL, NULL, e);
}

/* Delete what removals (and, in the images dir, loads) in DIR left behind when a supervisor
 * died mid-way: the entries named PREFIX... (off the loop). */
static void cleanup_trash(struct sv *sv, const char *dir, const char *prefix)
{
    auto_closedir DIR *d = opendir(dir);
    struct dirent *de;
    while (d && (de = readdir(d))) {
        char p[PATH_MAX_BERTH];
        struct err e = {0};
        if (strncmp(de->d_name, prefix, strlen(prefix)) != 0 || strcmp(de->d_name, ".") == 0 ||
            strcmp(de->d_name, "..") == 0)
            continue;
        if (util_fmt(p, sizeof p, &e, "%s/%s", dir, de->d_name) < 0 ||
            sv_remove_tree(sv, p, &e) < 0)
            log_err(&e, "clean up '%s'", de->d_name);
    }
}

static void reconcile(struct sv *sv)
{
    for (struct ctr *c = sv->ctrs; c; c = c->next) {
        char dir[PATH_MAX_BERTH];
        struct stat st;
        struct err e = {0};
        if (util_fmt(dir, sizeof dir, &e, "%s/%s", sv->containers_dir, c->id) == 0 &&
            stat(dir, &st) < 0 && errno == ENOENT && c->state != CTR_RUNNING &&
            c->state != CTR_PAUSED && c->state != CTR_STOPPING) {
            /* its files are gone (a removal cut short by a crash): finish the removal */
            (void)ctr_handle(c, CTR_EV_REMOVE, 0, NULL);
            continue;
        }
        if (c->state != CTR_RUNNING && c->state != CTR_PAUSED && c->state != CTR_STOPPING) {
            c->ip = 0; /* only a live container holds an address, and ports */
            network_ports_close(c);
            ctr_cgroup_reclaim(c);
        }
        switch (c->state) {
        case CTR_RUNNING:
        case CTR_PAUSED:
        case CTR_STOPPING:
            if (ctr_adopt(c)) {
                log_msg(LOG_INFO, "re-adopted '%s' (pid %d)", c->name, (int)c->pid);
                if (network_readopt(c, &e) < 0)
                    log_err(&e, "'%s': its address", c->name);
                if (c->state == CTR_STOPPING)
                    (void)ctr_handle(c, CTR_EV_GRACE_OVER, 0, NULL);
                continue;
            }
            log_msg(LOG_INFO, "'%s' is gone: exit status unknown", c->name);
            c->ip = 0;
            c->pid = 0; /* the recorded pid is not ours: never signal it */
            ctr_cgroup_reclaim(c);
            (void)ctr_handle(c, CTR_EV_EXITED, -1, NULL);
            break;
        case CTR_RESTARTING:
            (void)ctr_handle(c, CTR_EV_RESTART_DUE, 0, NULL);
            break;
        case CTR_REMOVING:
            (void)ctr_handle(c, CTR_EV_REMOVE, 0, NULL);
            break;
        case CTR_EXITED:
            if (c->cfg.auto_remove)
                (void)ctr_handle(c, CTR_EV_REMOVE, 0, NULL);
            else if (c->cfg.restart == CTR_RESTART_ALWAYS ||
                     (c->cfg.restart == CTR_RESTART_UNLESS_STOPPED && !c->manual_stop))
                c->boot_start = 1; /* once every container is settled: see below */
            break;
        case CTR_CREATED:
        case CTR_DEAD:
            break;
        }
    }
    /* the policy's starts, each after what it requires (which it starts if need be) */
    for (struct ctr *c = sv->ctrs; c; c = c->next) {
        struct err e = {0};
        if (!c->boot_start)
            continue;
        c->boot_start = 0;
        if (ctr_live(c) || deps_gated(sv, c))
            continue; /* started already, as a requirement of another */
        int r = deps_start(c, CTR_EV_AUTO_START, &e);
        if (r > 0)
            (void)ctr_handle(c, CTR_EV_AUTO_START, 0, NULL);
        else if (r < 0)
            log_err(&e, "'%s' not started", c->name);
    }
}

int sv_init(struct sv *sv, struct err *e)
{
    sv->loop = ev_default_loop(EVFLAG_AUTO | EVFLAG_NOENV);
    if (!sv->loop)
        return err_set(e, 0, "start event loop");
    ev_set_userdata(sv->loop, sv);
    sv->started_ns = util_now_ns();
    sv->pid1 = getpid() == 1;
    sv->role = boot_role();
    /* 1024 clients plus two FIFOs per container need more than the usual soft limit of 1024
     * fds; the hard limit is never raised (no CAP_SYS_RESOURCE assumed) */
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        sv->nofile_orig = rl.rlim_cur; /* containers get the limit berthd was started with */
        rl.rlim_cur = rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
            log_msg(LOG_WARN, "raise the fd limit to %llu: %s", (unsigned long long)rl.rlim_max,
                    strerror(errno));
    }
    if (!sv->pid1 && prctl(PR_SET_CHILD_SUBREAPER, 1) < 0)
        return err_set(e, errno, "become child subreaper");

    if (util_fmt(sv->snapshot_path, sizeof sv->snapshot_path, e, "%s/berth.json", sv->root) < 0 ||
        util_fmt(sv->images_dir, sizeof sv->images_dir, e, "%s/images", sv->root) < 0 ||
        util_fmt(sv->containers_dir, sizeof sv->containers_dir, e, "%s/containers", sv->root) < 0 ||
        util_fmt(sv->volumes_dir, sizeof sv->volumes_dir, e, "%s/volumes", sv->root) < 0)
        return -1;
    if (util_mkdir_p(sv->root, 0711, e) < 0 || util_mkdir_p(sv->images_dir, 0711, e) < 0 ||
        util_mkdir_p(sv->containers_dir, 0711, e) < 0 || util_mkdir_p(sv->volumes_dir, 0700, e) < 0)
        return -1;

    ev_child_init(&sv->child_w, on_child_exit, 0, 0);
    ev_child_start(sv->loop, &sv->child_w);
    /* busybox's halt and poweroff, and a UPS's SIGPWR, speak to PID 1 only */
    static const int sigs[] = {SIGTERM, SIGINT, SIGHUP, SIGPIPE, SIGUSR1, SIGUSR2, SIGPWR};
    for (size_t i = 0; i < (sv->pid1 ? ARRAY_LEN(sigs) : 4); i++) {
        ev_signal_init(&sv->sig_w[i], on_signal, sigs[i]);
        ev_signal_start(sv->loop, &sv->sig_w[i]);
    }
    ev_prepare_init(&sv->prepare_w, on_loop_prepare);
    sv->prepare_w.data = sv;
    ev_prepare_start(sv->loop, &sv->prepare_w);
    ev_init(&sv->retry_w, on_retry_timer);
    deps_init(sv);
    /* libev caps a blocking wait at about 60 s unless a periodic watcher makes it watch the
     * wall clock with a timerfd: one that never fires keeps an idle berthd at zero wakeups */
    ev_periodic_init(&sv->idle_w, on_idle_periodic, ev_time() + 10 * 365 * 86400., 0., NULL);
    ev_periodic_start(sv->loop, &sv->idle_w);
    ev_check_init(&sv->sweep_w, on_sweep_check);
    sv->sweep_w.data = sv;
    ev_check_start(sv->loop, &sv->sweep_w);

    static struct cgroup_sys cg_sys; /* one per process: large, and read-only once filled */
    struct err ce = {0};
    if (sv->no_cgroups)
        log_msg(LOG_INFO, "cgroups: off (--cgroups off): containers run without limits");
    else if (cgroup_detect(&cg_sys, &ce) == 0) {
        uint64_t h = util_fnv1a64(sv->root);
        (void)snprintf(sv->cg_parent, sizeof sv->cg_parent, "berth-%08llx",
                       (unsigned long long)(h & 0xffffffffULL));
        sv->cg_sys = &cg_sys;
        log_msg(LOG_INFO, "cgroups: %s", cgroup_mode_name(cg_sys.mode));
    } else
        log_err(&ce, "cgroups unavailable: containers run without limits");
    sv->host_netns_fd = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
    if (sv->host_netns_fd < 0)
        return err_set(e, errno, "open /proc/self/ns/net");
    if (network_init(sv, sv->bridge_subnet, e) < 0)
        return -1;
    if (snapshot_load(sv, e) < 0) {
        char aside[PATH_MAX_BERTH];
        if (!sv->discard_corrupt || !strstr(e->msg, "is corrupt") ||
            util_fmt(aside, sizeof aside, e, "%s.corrupt-%lld", sv->snapshot_path,
                     (long long)(util_now_ns() / 1000000000LL)) < 0)
            return -1;
        if (rename(sv->snapshot_path, aside) < 0)
            return err_set(e, errno, "move corrupt snapshot to '%s'", aside);
        log_msg(LOG_WARN, "%s; kept aside as '%s', starting empty", err_str(e), aside);
    }
    if (server_listen(sv, e) < 0)
        return -1;
    cleanup_trash(sv, sv->containers_dir, ".trash-");
    cleanup_trash(sv, sv->volumes_dir, ".trash-");
    /* no image name starts with '.': those are removals and loads cut short */
    cleanup_trash(sv, sv->images_dir, ".");
    reconcile(sv);
    firewall_sync(sv); /* replaces whatever a crashed berthd left */
    return 0;
}

void sv_run(struct sv *sv)
{
    ev_run(sv->loop, 0);
    if (sv->cg_sys) {
        struct err e = {0};
        /* the parent group goes with the last container (fails harmlessly while one runs) */
        if (cgroup_remove_dir(sv->cg_sys, sv->cg_parent, &e) < 0 && e.code != EBUSY)
            log_err(&e, "remove cgroup '%s'", sv->cg_parent);
    }
    server_close_all(sv);
    exec_free_all(sv);
    deps_free_all(sv);
    for (struct ctr *c = sv->ctrs; c;) {
        struct ctr *next = c->next;
        ctr_free(c);
        c = next;
    }
    sv->ctrs = NULL;
    apply_free(sv);
    network_shutdown(sv);
    firewall_shutdown(sv);
    volume_free_all(sv);
    events_free_all();
}
