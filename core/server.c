/* SPDX-License-Identifier: MIT */
/* core/server.c - the control socket. Every client fd is non-blocking; output is queued and
 * released only by server_flush(), which the prepare watcher calls after the snapshot is on
 * disk (group commit). A client that floods (line > CTL_LINE_MAX) or stops reading (queued
 * output > CTL_OUT_MAX) is dropped; nobody else waits for it. */
#include "core/server.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "core/ctr.h"
#include "core/deps.h"
#include "core/events.h"
#include "core/exec.h"
#include "core/health.h"
#include "core/log.h"
#include "core/sv.h"
#include "core/util.h"
#include "core/view.h"
#include "core/verbs.h"

static struct client *flush_list;

static void client_close_fds(struct client *cl)
{
    for (int i = 0; i < cl->nfds; i++)
        (void)close(cl->fds[i]);
    cl->nfds = 0;
}

static void unthrottle(struct client *cl)
{
    if (!cl->throttling)
        return;
    ev_timer_stop(cl->sv->loop, &cl->stall_w);
    logfile_resume(&cl->throttling->log, cl->sv->loop);
    cl->throttling = NULL;
}

static void client_kill(struct client *cl, const char *why)
{
    if (cl->dead)
        return;
    log_msg(LOG_DEBUG, "client %d dropped: %s", cl->fd, why);
    cl->dead = 1;
    unthrottle(cl);
    if (cl->op_exec) {
        exec_client_gone(cl->op_exec);
        cl->op_exec = NULL;
    }
    ev_io_stop(cl->sv->loop, &cl->rw);
    ev_io_stop(cl->sv->loop, &cl->ww);
    ev_timer_stop(cl->sv->loop, &cl->until_w);
    ev_timer_stop(cl->sv->loop, &cl->stall_w);
    (void)close(cl->fd);
    cl->fd = -1;
    client_close_fds(cl);
    util_closep(&cl->out_fd);
    cl->out_fd = -1;
    cl->op = OP_NONE;
    cl->op_ctr = NULL;
}

void client_send(struct client *cl, const char *data, size_t len)
{
    if (cl->dead)
        return;
    if (cl->out.len - cl->out_off + len > CTL_OUT_MAX) {
        client_kill(cl, "output queue full (client not reading)");
        return;
    }
    if (proto_buf_append(&cl->out, data, len) < 0) {
        client_kill(cl, "out of memory");
        return;
    }
    if (!cl->queued) {
        cl->queued = 1;
        cl->flush_next = flush_list;
        flush_list = cl;
    }
}

int client_send_fd(struct client *cl, int fd)
{
    if (cl->dead || cl->out_fd >= 0) {
        (void)close(fd);
        return 0;
    }
    cl->out_fd = fd;
    cl->out_fd_at = cl->out.len;
    return 1;
}

/* Send from OUT_OFF: up to the byte that carries the pending fd, or that byte with it. */
static ssize_t send_some(struct client *cl)
{
    const char *p = cl->out.data + cl->out_off;
    size_t len = cl->out.len - cl->out_off;
    if (cl->out_fd < 0 || cl->out_fd_at >= cl->out.len)
        return send(cl->fd, p, len, MSG_DONTWAIT | MSG_NOSIGNAL);
    if (cl->out_off < cl->out_fd_at)
        return send(cl->fd, p, cl->out_fd_at - cl->out_off, MSG_DONTWAIT | MSG_NOSIGNAL);
    ssize_t n = util_send_fd(cl->fd, p, len, cl->out_fd, MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n > 0) {
        util_closep(&cl->out_fd); /* it went with the first byte */
        cl->out_fd = -1;
    }
    return n;
}

void client_reply_ok(struct client *cl, const char *json)
{
    struct proto_buf b = {0};
    if (proto_reply_ok(&b, json) == 0)
        client_send(cl, b.data, b.len);
    else
        client_kill(cl, "out of memory");
    proto_buf_free(&b);
}

void client_reply_json(struct client *cl, cJSON *json)
{
    char *txt = json ? cJSON_PrintUnformatted(json) : NULL;
    cJSON_Delete(json);
    if (!txt) {
        client_reply_err(cl, 500, "out of memory");
        return;
    }
    client_reply_ok(cl, txt);
    cJSON_free(txt);
}

void client_reply_err(struct client *cl, int code, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (n < 0)
        msg[0] = '\0';
    struct proto_buf b = {0};
    if (proto_reply_err(&b, code, "%s", msg) == 0)
        client_send(cl, b.data, b.len);
    proto_buf_free(&b);
}

void client_end_stream(struct client *cl)
{
    client_send(cl, "end\n", 4);
    client_op_done(cl);
}

int client_take_fd(struct client *cl)
{
    if (cl->nfds == 0)
        return -1;
    int fd = cl->fds[0];
    memmove(cl->fds, cl->fds + 1, (size_t)(cl->nfds - 1) * sizeof cl->fds[0]);
    cl->nfds--;
    return fd;
}

static void process_input(struct client *cl);
static void process_lines(struct client *cl);

void client_op_done(struct client *cl)
{
    unthrottle(cl);
    if (cl->op_exec) {
        exec_client_gone(cl->op_exec);
        cl->op_exec = NULL;
    }
    cl->op = OP_NONE;
    cl->op_ctr = NULL;
    cl->op_attach = 0;
    cl->wait_removed = 0;
    cl->wait_healthy = 0;
    cl->wait_running = 0;
    cl->logs_follow = 0;
    ev_timer_stop(cl->sv->loop, &cl->until_w);
    if (cl->logs) {
        logfile_reader_close(cl->logs);
        free(cl->logs);
        cl->logs = NULL;
    }
    for (size_t i = 0; i < cl->nfilters; i++)
        free(cl->filters[i]);
    free(cl->filters);
    cl->filters = NULL;
    cl->nfilters = 0;
    proto_buf_free(&cl->early);
    if (!cl->dead && !cl->eof && !ev_is_active(&cl->rw))
        ev_io_start(cl->sv->loop, &cl->rw);
    /* requests that arrived while this one was pending */
    if (!cl->dead)
        process_input(cl);
}

/* ---- reading ---- */

static void process_input(struct client *cl)
{
    if (cl->in_process)
        return; /* the outer call goes on with the next line */
    cl->in_process = 1;
    process_lines(cl);
    cl->in_process = 0;
}

static void process_lines(struct client *cl)
{
    while (!cl->dead && cl->op == OP_NONE && !cl->closing) {
        char *eol = memchr(cl->in, '\n', cl->in_len);
        if (!eol && cl->eof) {
            cl->closing = 1; /* an unterminated last line is ignored */
            if (cl->out.len == 0 && !cl->queued)
                client_kill(cl, "disconnected");
            return;
        }
        if (!eol) {
            if (cl->in_len == CTL_LINE_MAX) {
                client_reply_err(cl, 413, "request line too long (at most %d bytes)", CTL_LINE_MAX);
                cl->closing = 1;
                ev_io_stop(cl->sv->loop, &cl->rw);
            }
            return;
        }
        size_t len = (size_t)(eol - cl->in);
        struct proto_req req;
        struct err e = {0};
        int rc = proto_parse(cl->in, len, &req, &e);
        /* the line leaves the buffer before it runs: a handler may finish at once and
         * come back here for the next line */
        memmove(cl->in, eol + 1, cl->in_len - len - 1);
        cl->in_len -= len + 1;
        if (rc < 0)
            client_reply_err(cl, 400, "bad request: %s", err_str(&e));
        else {
            verbs_dispatch(cl, &req);
            proto_req_free(&req);
        }
        /* fds that no request claimed are not kept around */
        if (cl->op == OP_NONE)
            client_close_fds(cl);
    }
}

static void on_client_readable(struct ev_loop *loop, ev_io *w, int revents)
{
    struct client *cl = w->data;
    (void)revents;
    if (cl->in_len == cl->in_cap) {
        if (cl->in_cap == CTL_LINE_MAX) {
            /* busy with a request and the next one fills the buffer: wait */
            ev_io_stop(loop, w);
            return;
        }
        /* grown on demand: 1024 idle clients cost 1024 small buffers, not 64 MiB */
        size_t ncap = cl->in_cap ? cl->in_cap * 4 : 1024;
        char *nb = realloc(cl->in, ncap > CTL_LINE_MAX ? CTL_LINE_MAX : ncap);
        if (!nb) {
            client_kill(cl, "out of memory");
            return;
        }
        cl->in = nb;
        cl->in_cap = ncap > CTL_LINE_MAX ? CTL_LINE_MAX : ncap;
    }
    union {
        struct cmsghdr h;
        char buf[CMSG_SPACE(sizeof(int) * CTL_FDS_MAX)];
    } cm;
    struct iovec iov = {cl->in + cl->in_len, cl->in_cap - cl->in_len};
    struct msghdr mh = {
        .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cm.buf, .msg_controllen = sizeof cm.buf};
    ssize_t n = recvmsg(cl->fd, &mh, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); n >= 0 && c; c = CMSG_NXTHDR(&mh, c)) {
        if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
            continue;
        size_t k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        int *fds = (int *)CMSG_DATA(c);
        for (size_t i = 0; i < k; i++) {
            if ((size_t)cl->nfds < ARRAY_LEN(cl->fds))
                cl->fds[cl->nfds++] = fds[i];
            else
                (void)close(fds[i]);
        }
    }
    if (mh.msg_flags & MSG_CTRUNC)
        log_msg(LOG_WARN, "client %d passed more than %d fds: extra ones dropped", cl->fd,
                CTL_FDS_MAX);
    if (n < 0) {
        client_kill(cl, strerror(errno));
        return;
    }
    if (n == 0) {
        /* half-close (socat, nc): answer what was asked, then close */
        cl->eof = 1;
        ev_io_stop(loop, w);
        process_input(cl);
        return;
    }
    cl->in_len += (size_t)n;
    process_input(cl);
}

/* ---- writing ---- */

static int client_write(struct client *cl)
{
    while (cl->out_off < cl->out.len) {
        ssize_t n = send_some(cl);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN) {
            if (cl->throttling && cl->out.len - cl->out_off <= CTL_OUT_LOW)
                unthrottle(cl);
            return 0;
        }
        if (n < 0) {
            client_kill(cl, strerror(errno));
            return -1;
        }
        cl->out_off += (size_t)n;
        if (cl->throttling)
            ev_timer_again(cl->sv->loop, &cl->stall_w); /* progress: restart the stall clock */
    }
    unthrottle(cl);
    proto_buf_reset(&cl->out);
    cl->out_off = 0;
    return 1;
}

static void after_drain(struct client *cl)
{
    if (cl->op == OP_LOGS && cl->logs)
        client_logs_pump(cl);
    if (cl->closing && cl->out.len == 0)
        client_kill(cl, "closed");
}

static void on_client_writable(struct ev_loop *loop, ev_io *w, int revents)
{
    struct client *cl = w->data;
    (void)revents;
    int rc = client_write(cl);
    if (rc < 0)
        return;
    if (rc == 1) {
        ev_io_stop(loop, w);
        after_drain(cl);
        /* the pump may have queued more: it goes out at the next flush */
    }
}

void server_flush(struct sv *sv)
{
    while (flush_list) {
        struct client *cl = flush_list;
        flush_list = cl->flush_next;
        cl->queued = 0;
        if (cl->dead || ev_is_active(&cl->ww))
            continue;
        int rc = client_write(cl);
        if (rc == 0)
            ev_io_start(sv->loop, &cl->ww);
        else if (rc == 1)
            after_drain(cl);
    }
}

/* ---- accepting ---- */

static int peer_allowed(const struct sv *sv, int fd)
{
    struct ucred cr;
    socklen_t len = sizeof cr;
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) < 0)
        return 0;
    return cr.uid == 0 || (sv->group != (gid_t)-1 && cr.gid == sv->group);
}

static void on_client_stalled(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    client_kill(w->data, "attached client made no progress");
}

static struct client *client_new(struct sv *sv, int fd)
{
    struct client *cl = calloc(1, sizeof *cl);
    if (!cl)
        return NULL;
    cl->sv = sv;
    cl->fd = fd;
    cl->out_fd = -1;
    ev_io_init(&cl->rw, on_client_readable, fd, EV_READ);
    cl->rw.data = cl;
    ev_io_init(&cl->ww, on_client_writable, fd, EV_WRITE);
    cl->ww.data = cl;
    ev_init(&cl->until_w, NULL);
    ev_init(&cl->stall_w, on_client_stalled);
    cl->stall_w.repeat = CTL_STALL_SECONDS;
    cl->stall_w.data = cl;
    ev_io_start(sv->loop, &cl->rw);
    cl->next = sv->clients;
    sv->clients = cl;
    sv->nclients++;
    return cl;
}

static void on_listen_readable(struct ev_loop *loop, ev_io *w, int revents)
{
    struct sv *sv = w->data;
    (void)revents;
    for (int k = 0; k < 64; k++) {
        int fd = accept4(sv->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
                /* out of fds: the pending connection stays readable; pause accepting instead
                 * of spinning, and try again shortly */
                log_msg(LOG_WARN, "accept: %s: pausing new connections", strerror(errno));
                ev_io_stop(loop, w);
                ev_timer_set(&sv->accept_w, 0.1, 0.);
                ev_timer_start(loop, &sv->accept_w);
            } else if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
                log_msg(LOG_WARN, "accept: %s", strerror(errno));
            return;
        }
        if (sv->nclients >= CTL_CLIENTS_MAX) {
            static const char msg[] = "err 503 too many clients\n";
            (void)!send(fd, msg, sizeof msg - 1, MSG_DONTWAIT | MSG_NOSIGNAL);
            (void)close(fd);
            continue;
        }
        if (!peer_allowed(sv, fd)) {
            static const char msg[] = "err 403 permission denied\n";
            (void)!send(fd, msg, sizeof msg - 1, MSG_DONTWAIT | MSG_NOSIGNAL);
            (void)close(fd);
            continue;
        }
        if (!client_new(sv, fd))
            (void)close(fd);
    }
}

int server_loopback(struct sv *sv, struct err *e)
{
    int sp[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sp) < 0)
        return err_set(e, errno, "socketpair");
    if (!client_new(sv, sp[0])) {
        (void)close(sp[0]);
        (void)close(sp[1]);
        return err_set(e, ENOMEM, "loopback client");
    }
    return sp[1];
}

static void on_accept_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
    struct sv *sv = w->data;
    (void)revents;
    ev_io_start(loop, &sv->listen_w);
}

int server_listen(struct sv *sv, struct err *e)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    char dir[PATH_MAX_BERTH];

    if (strlen(sv->socket_path) >= sizeof sa.sun_path)
        return err_set(e, ENAMETOOLONG, "socket path '%s'", sv->socket_path);
    memcpy(sa.sun_path, sv->socket_path, strlen(sv->socket_path) + 1);
    if (util_fmt(dir, sizeof dir, e, "%s", sv->socket_path) < 0)
        return -1;
    char *slash = strrchr(dir, '/');
    if (slash && slash != dir) {
        *slash = '\0';
        if (util_mkdir_p(dir, 0755, e) < 0)
            return -1;
    }
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return err_set(e, errno, "create socket");
    if (bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0 && errno == EADDRINUSE) {
        /* a socket file is there: in use by a live berthd, or stale */
        int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        int live = probe >= 0 && connect(probe, (struct sockaddr *)&sa, sizeof sa) == 0;
        if (probe >= 0)
            (void)close(probe);
        if (live) {
            (void)close(fd);
            return err_set(e, 0, "another berthd is listening on '%s'", sv->socket_path);
        }
        (void)unlink(sv->socket_path);
        errno = 0;
        if (bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
            int saved = errno;
            (void)close(fd);
            return err_set(e, saved, "bind '%s'", sv->socket_path);
        }
    } else if (errno) {
        struct stat st;
        if (stat(sv->socket_path, &st) < 0 || !S_ISSOCK(st.st_mode)) {
            int saved = errno;
            (void)close(fd);
            return err_set(e, saved, "bind '%s'", sv->socket_path);
        }
    }
    if (chmod(sv->socket_path, 0660) < 0 ||
        (sv->group != (gid_t)-1 && chown(sv->socket_path, 0, sv->group) < 0)) {
        int saved = errno;
        (void)close(fd);
        return err_set(e, saved, "set mode of '%s'", sv->socket_path);
    }
    if (listen(fd, 512) < 0) {
        int saved = errno;
        (void)close(fd);
        return err_set(e, saved, "listen on '%s'", sv->socket_path);
    }
    sv->listen_fd = fd;
    ev_io_init(&sv->listen_w, on_listen_readable, fd, EV_READ);
    sv->listen_w.data = sv;
    ev_init(&sv->accept_w, on_accept_timer);
    sv->accept_w.data = sv;
    ev_io_start(sv->loop, &sv->listen_w);
    return 0;
}

void server_close_all(struct sv *sv)
{
    server_flush(sv);
    for (struct client *cl = sv->clients; cl; cl = cl->next)
        client_kill(cl, "supervisor exiting");
    server_sweep(sv);
    if (sv->listen_fd >= 0) {
        ev_io_stop(sv->loop, &sv->listen_w);
        ev_timer_stop(sv->loop, &sv->accept_w);
        (void)close(sv->listen_fd);
        sv->listen_fd = -1;
        (void)unlink(sv->socket_path);
    }
}

void server_sweep(struct sv *sv)
{
    for (struct client **pp = &sv->clients; *pp;) {
        struct client *cl = *pp;
        if (!cl->dead) {
            pp = &cl->next;
            continue;
        }
        if (cl->queued) {
            /* still on the flush list: unlink it there first */
            for (struct client **fp = &flush_list; *fp; fp = &(*fp)->flush_next)
                if (*fp == cl) {
                    *fp = cl->flush_next;
                    break;
                }
        }
        *pp = cl->next;
        sv->nclients--;
        client_op_done(cl);
        proto_buf_free(&cl->out);
        free(cl->in);
        free(cl);
    }
}

/* ---- notifications from containers ---- */

static void send_exit_line(struct client *cl, int code, const char *error)
{
    cJSON *j = cJSON_CreateObject();
    char *txt = NULL;
    if (j && cJSON_AddNumberToObject(j, "StatusCode", code) &&
        cJSON_AddStringToObject(j, "Error", error ? error : ""))
        txt = cJSON_PrintUnformatted(j);
    cJSON_Delete(j);
    if (!txt) {
        client_kill(cl, "out of memory");
        return;
    }
    client_send(cl, "exit ", 5);
    client_send(cl, txt, strlen(txt));
    client_send(cl, "\n", 1);
    cJSON_free(txt);
}

void client_reply_exit(struct client *cl, const struct ctr *c, const char *state)
{
    cJSON *j = cJSON_CreateObject();
    if (j) {
        cJSON_AddNumberToObject(j, "StatusCode", c->exit_code);
        cJSON_AddStringToObject(j, "Error", c->error);
        if (state)
            cJSON_AddStringToObject(j, "State", state);
    }
    client_reply_json(cl, j);
}

void client_reply_not_healthy(struct client *cl, const struct ctr *c)
{
    client_reply_err(cl, 409, "container %s exited before becoming healthy (exit code %d)%s%s",
                     c->name, c->exit_code, c->error[0] ? ": " : "", c->error);
}

static void reply_id(struct client *cl, const struct ctr *c)
{
    client_reply_json(cl, view_created(c));
}

/* wait condition=healthy: the status turned healthy, or the container went down first (a
 * failed start included). */
static void note_wait_healthy(struct client *cl, struct ctr *c, enum server_note note)
{
    if (note == NOTE_HEALTH && health_status_of(c) == HEALTH_HEALTHY) {
        cJSON *j = cJSON_CreateObject();
        if (j) {
            cJSON_AddNumberToObject(j, "StatusCode", 0);
            cJSON_AddStringToObject(j, "Health", "healthy");
        }
        client_reply_json(cl, j);
        client_op_done(cl);
    } else if (note == NOTE_DOWN || note == NOTE_START_FAILED || note == NOTE_REMOVED ||
               (note == NOTE_EXITED && c->state == CTR_EXITED)) {
        /* NOTE_EXITED in state exited: a pending restart was cancelled */
        client_reply_not_healthy(cl, c);
        client_op_done(cl);
    }
}

static void note_client(struct client *cl, struct ctr *c, enum server_note note)
{
    switch (cl->op) {
    case OP_START:
        if (note == NOTE_STARTED) {
            /* -t: the client writes its terminal into the pty and resizes it itself */
            int pty = cl->op_attach ? logfile_pty(&c->log) : -1;
            int dup = pty >= 0 ? fcntl(pty, F_DUPFD_CLOEXEC, 3) : -1;
            if (dup >= 0)
                (void)client_send_fd(cl, dup);
            reply_id(cl, c);
            if (!cl->op_attach) {
                client_op_done(cl);
                return;
            }
            cl->op = OP_ATTACH;
            if (cl->early.len)
                client_send(cl, cl->early.data, cl->early.len);
            proto_buf_free(&cl->early);
        } else if (note == NOTE_START_FAILED || note == NOTE_REMOVED) {
            if (note == NOTE_REMOVED && c->error[0] == '\0')
                return; /* removal after a success is reported by the attach stream */
            client_reply_err(cl, 500, "%s", c->error[0] ? c->error : "container start failed");
            client_op_done(cl);
        }
        return;
    case OP_RESTART:
        if (note == NOTE_STARTED) {
            client_reply_ok(cl, NULL);
            client_op_done(cl);
        } else if (note == NOTE_START_FAILED || note == NOTE_REMOVED) {
            client_reply_err(cl, 500, "%s", c->error[0] ? c->error : "container start failed");
            client_op_done(cl);
        } else if (note == NOTE_EXITED && !c->start_after_exit && c->state != CTR_EXITED &&
                   c->state != CTR_REMOVING) {
            /* exited with a pending start: wait for it */
        }
        return;
    case OP_STOP:
        if (note == NOTE_EXITED || note == NOTE_REMOVED) {
            client_reply_ok(cl, NULL);
            client_op_done(cl);
        }
        return;
    case OP_RM:
        if (note == NOTE_REMOVED) {
            client_reply_ok(cl, NULL);
            client_op_done(cl);
        }
        return;
    case OP_WAIT:
        if (cl->wait_healthy) {
            note_wait_healthy(cl, c, note);
            return;
        }
        if (cl->wait_running) {
            /* a failed start never runs (and no restart follows it): its code, as for a
             * plain wait */
            if (note == NOTE_STARTED) {
                client_reply_ok(cl, "{\"StatusCode\":0,\"State\":\"running\"}");
                client_op_done(cl);
            } else if (note == NOTE_START_FAILED) {
                client_reply_exit(cl, c, ctr_state_name(c->state));
                client_op_done(cl);
            }
            return;
        }
        if ((!cl->wait_removed && (note == NOTE_EXITED || note == NOTE_START_FAILED)) ||
            note == NOTE_REMOVED) {
            client_reply_exit(cl, c, NULL);
            client_op_done(cl);
        }
        return;
    case OP_ATTACH:
        if (note == NOTE_EXITED || note == NOTE_START_FAILED) {
            if (c->cfg.auto_remove || c->remove_after_exit) {
                /* the caller of `run --rm` returns once the container is gone */
                cl->exit_code = c->exit_code;
                (void)snprintf(cl->exit_error, sizeof cl->exit_error, "%s", c->error);
                cl->wait_removed = 1;
                return;
            }
            send_exit_line(cl, c->exit_code, c->error);
            client_end_stream(cl);
        } else if (note == NOTE_REMOVED) {
            if (cl->wait_removed)
                send_exit_line(cl, cl->exit_code, cl->exit_error);
            else
                send_exit_line(cl, c->exit_code, c->error);
            client_end_stream(cl);
        }
        return;
    case OP_LOGS:
        if ((note == NOTE_EXITED || note == NOTE_REMOVED) && cl->logs_follow && !cl->logs)
            client_end_stream(cl);
        else if (note == NOTE_EXITED || note == NOTE_REMOVED)
            cl->logs_follow = 0; /* end once the files are read */
        if (note == NOTE_REMOVED)
            cl->op_ctr = NULL;
        return;
    case OP_NONE:
    case OP_EVENTS:
    case OP_HELPER:
    case OP_EXEC:
        return;
    }
}

void server_ctr_note(struct sv *sv, struct ctr *c, enum server_note note)
{
    deps_note(sv, c, note);
    for (struct client *cl = sv->clients; cl; cl = cl->next) {
        if (cl->dead || cl->op_ctr != c)
            continue;
        note_client(cl, c, note);
        if (note == NOTE_REMOVED && cl->op_ctr == c) {
            /* nothing may point at a freed container */
            if (cl->op != OP_NONE && cl->op != OP_LOGS) {
                client_reply_err(cl, 404, "no such container: %s", c->name);
                client_op_done(cl);
            }
            cl->op_ctr = NULL;
        }
    }
}

void server_ctr_output(struct sv *sv, struct ctr *c, int stream, const char *buf, size_t len)
{
    struct proto_buf line = {0};
    for (struct client *cl = sv->clients; cl; cl = cl->next) {
        if (cl->dead || cl->op_ctr != c)
            continue;
        int early = cl->op == OP_START && cl->op_attach;
        if (cl->op != OP_ATTACH && !early)
            continue;
        if (line.len == 0 &&
            (proto_buf_printf(&line, "out %d ", stream) < 0 ||
             proto_buf_quote(&line, buf, len) < 0 || proto_buf_append(&line, "\n", 1) < 0)) {
            log_msg(LOG_ERROR, "attach output of '%s': out of memory", c->name);
            break;
        }
        if (early) {
            /* the start's reply waits for the snapshot: hold the container back meanwhile, as
             * for a slow attached client, instead of buffering without bound */
            if (cl->early.len + line.len > CTL_OUT_MAX ||
                proto_buf_append(&cl->early, line.data, line.len) < 0)
                client_kill(cl, "early output too large");
            else if (!cl->throttling && cl->early.len > CTL_OUT_HIGH) {
                cl->throttling = c;
                logfile_pause(&c->log, sv->loop);
                ev_timer_again(sv->loop, &cl->stall_w);
            }
        } else {
            client_send(cl, line.data, line.len);
            if (!cl->dead && !cl->throttling && cl->out.len - cl->out_off > CTL_OUT_HIGH) {
                cl->throttling = c;
                logfile_pause(&c->log, sv->loop);
                ev_timer_again(sv->loop, &cl->stall_w);
            }
        }
    }
    proto_buf_free(&line);
}

void server_ctr_logline(struct sv *sv, struct ctr *c, const char *line, size_t len)
{
    for (struct client *cl = sv->clients; cl; cl = cl->next) {
        if (cl->dead || cl->op != OP_LOGS || cl->op_ctr != c || !cl->logs_follow || cl->logs)
            continue;
        int stream = strncmp(line, "log stdout", 10) == 0 ? 1 : 2;
        if (!(cl->logs_streams & stream))
            continue;
        client_send(cl, line, len);
    }
}

void server_event(struct sv *sv, const struct event *ev)
{
    for (struct client *cl = sv->clients; cl; cl = cl->next) {
        if (cl->dead || cl->op != OP_EVENTS)
            continue;
        if (!events_match(ev, cl->filters, cl->nfilters))
            continue;
        client_send(cl, ev->json, strlen(ev->json));
        client_send(cl, "\n", 1);
    }
}

void client_logs_pump(struct client *cl)
{
    struct err e = {0};
    if (!cl->logs)
        return;
    size_t before = cl->out.len;
    if (logfile_reader_next(cl->logs, &cl->out, 256 * 1024, &e) < 0) {
        log_err(&e, "logs");
        cl->logs->done = 1;
    }
    if (cl->out.len != before && !cl->queued) {
        cl->queued = 1;
        cl->flush_next = flush_list;
        flush_list = cl;
    }
    if (!cl->logs->done)
        return;
    logfile_reader_close(cl->logs);
    free(cl->logs);
    cl->logs = NULL;
    if (!cl->logs_follow || !cl->op_ctr)
        client_end_stream(cl);
}
