/* SPDX-License-Identifier: MIT */
/* core/proxy.c - the published-port proxy: TCP connections and UDP flows from a host port to a
 * container, forwarded on the daemon's libev loop. Owns its sockets, buffers and watchers.
 * Must not block, fork or start threads, and its callbacks never call out of this file, so
 * proxy_close() can free everything at once from anywhere.
 *
 * TCP: a connection is two sockets and two ev_io watchers (one per fd, the event mask follows
 * what each side may do) and two rings of PROXY_BUF_LEN bytes, allocated when data arrives and
 * freed whenever drained, so an idle connection holds no buffer. A full ring stops reading its
 * source; EOF becomes shutdown(SHUT_WR) of the destination once the ring is empty; an error on
 * either side aborts both (RST), as a refused connect does to the client.
 *
 * UDP: one host socket; a flow per client address with its own socket connected to the
 * container, an ev_timer for idleness, kept in most-recently-active order so that the least
 * recent one is evicted when PROXY_UDP_FLOWS_MAX are in use. */
#include "core/proxy.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <ev.h>

#include "core/err.h"
#include "core/limits.h"
#include "core/log.h"
#include "core/util.h"

/* One direction of a TCP connection: a ring buffer from a source fd to a destination fd. */
struct proxy_dir {
    char *buf;            /* PROXY_BUF_LEN bytes while data is queued, else NULL */
    size_t head, len;     /* queued bytes start at HEAD and wrap around */
    unsigned eof : 1;     /* the source sent FIN */
    unsigned shut : 1;    /* ... and it was passed on: shutdown(SHUT_WR) of the destination */
    unsigned blocked : 1; /* the destination said EAGAIN: wait for EV_WRITE before trying */
};

struct proxy_conn {
    struct proxy *p;
    struct proxy_conn *prev, *next;
    int cfd, bfd; /* the client, the backend (container) */
    ev_io cw, bw;
    struct proxy_dir up;   /* client -> backend */
    struct proxy_dir down; /* backend -> client */
    unsigned connecting : 1;
};

struct proxy_flow {
    struct proxy *p;
    struct proxy_flow *prev, *next; /* most recently active first */
    struct sockaddr_in peer;        /* the client */
    struct in_addr local;           /* the host address it sent to: replies come from there */
    int fd;                         /* connected to the container */
    ev_io rw;
    ev_timer idle_w;
};

struct proxy {
    struct ev_loop *loop;
    enum proxy_proto proto;
    int fd; /* TCP listener or UDP host socket */
    ev_io lw;
    ev_timer pause_w; /* accepting resumes after running out of fds */
    int pause_logged;
    struct sockaddr_in ctr;
    unsigned port;
    double udp_idle;
    struct proxy_conn *conns;
    struct proxy_flow *flows, *flows_tail;
    struct proxy_stats st;
    char name[32]; /* "0.0.0.0:8080/tcp", for messages */
};

/* ---- helpers ---- */

static int parse_addr(const char *ip, unsigned port, int host, struct sockaddr_in *sa,
                      struct err *e)
{
    const char *what = host ? "host" : "container";

    memset(sa, 0, sizeof *sa);
    sa->sin_family = AF_INET;
    if (port > 65535 || (!host && port == 0))
        return err_set(e, EINVAL, "%s port %u", what, port);
    sa->sin_port = htons((uint16_t)port);
    if (!ip)
        ip = "";
    if (host && ip[0] == '\0')
        sa->sin_addr.s_addr = htonl(INADDR_ANY);
    else if (inet_pton(AF_INET, ip, &sa->sin_addr) != 1)
        return err_set(e, EINVAL, "%s address '%.64s' (not IPv4)", what, ip);
    if (!host && sa->sin_addr.s_addr == htonl(INADDR_ANY))
        return err_set(e, EINVAL, "container address '%.64s'", ip);
    return 0;
}

static int set_name(struct proxy *p, const struct sockaddr_in *sa, struct err *e)
{
    char ip[INET_ADDRSTRLEN];

    if (!inet_ntop(AF_INET, &sa->sin_addr, ip, sizeof ip))
        return err_set(e, errno, "format host address");
    return util_fmt(p->name, sizeof p->name, e, "%s:%u/%s", ip, (unsigned)ntohs(sa->sin_port),
                    p->proto == PROXY_TCP ? "tcp" : "udp");
}

static int sock_err(struct err *e, int code, const char *op, const char *name)
{
    if (code != EADDRINUSE)
        return err_set(e, code, "%s %s", op, name);
    /* strerror() capitalises "Address already in use"; the start error promises this phrase */
    err_set(e, 0, "%s %s: address already in use", op, name);
    if (e)
        e->code = EADDRINUSE;
    return -1;
}

static void io_want(struct ev_loop *loop, ev_io *w, int events)
{
    int active = ev_is_active(w);

    if (active && (w->events & (EV_READ | EV_WRITE)) == events)
        return;
    if (!active && !events)
        return;
    if (active)
        ev_io_stop(loop, w);
    if (events) {
        ev_io_modify(w, events);
        ev_io_start(loop, w);
    }
}

static void set_linger0(int fd)
{
    struct linger l = {.l_onoff = 1, .l_linger = 0};
    /* best effort: without it the peer sees FIN instead of RST */
    (void)setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
}

static int is_fd_shortage(int code)
{
    return code == EMFILE || code == ENFILE || code == ENOBUFS || code == ENOMEM;
}

/* ---- TCP: one direction ---- */

/* Read once from FD into D. 0 (also on EAGAIN) or -1 with errno. */
static int dir_fill(struct proxy_dir *d, int fd)
{
    if (d->eof || d->len == PROXY_BUF_LEN)
        return 0; /* a zero-length read would look like EOF */
    if (!d->buf) {
        d->buf = malloc(PROXY_BUF_LEN);
        if (!d->buf) {
            errno = ENOMEM;
            return -1;
        }
        d->head = 0;
    }
    size_t tail = (d->head + d->len) % PROXY_BUF_LEN;
    size_t room = PROXY_BUF_LEN - d->len;
    size_t first = PROXY_BUF_LEN - tail < room ? PROXY_BUF_LEN - tail : room;
    struct iovec iov[2] = {{d->buf + tail, first}, {d->buf, room - first}};
    struct msghdr mh = {.msg_iov = iov, .msg_iovlen = room > first ? 2 : 1};
    ssize_t n = recvmsg(fd, &mh, MSG_DONTWAIT);
    if (n < 0)
        return errno == EAGAIN || errno == EINTR ? 0 : -1;
    if (n == 0)
        d->eof = 1;
    d->len += (size_t)n;
    return 0;
}

/* Send what D holds to FD until it is empty or FD is full; pass on EOF once empty.
 * 0 or -1 with errno. */
static int dir_flush(struct proxy_dir *d, int fd, unsigned long long *count)
{
    while (d->len > 0) {
        size_t first = PROXY_BUF_LEN - d->head < d->len ? PROXY_BUF_LEN - d->head : d->len;
        struct iovec iov[2] = {{d->buf + d->head, first}, {d->buf, d->len - first}};
        struct msghdr mh = {.msg_iov = iov, .msg_iovlen = d->len > first ? 2 : 1};
        ssize_t n = sendmsg(fd, &mh, MSG_DONTWAIT | MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN) {
            d->blocked = 1;
            return 0;
        }
        if (n < 0)
            return -1;
        d->head = (d->head + (size_t)n) % PROXY_BUF_LEN;
        d->len -= (size_t)n;
        *count += (unsigned long long)n;
    }
    d->blocked = 0;
    free(d->buf);
    d->buf = NULL;
    d->head = 0;
    if (d->eof && !d->shut) {
        if (shutdown(fd, SHUT_WR) < 0)
            return -1;
        d->shut = 1;
    }
    return 0;
}

/* ---- TCP: connections ---- */

static void conn_free(struct proxy_conn *c, int abort)
{
    struct proxy *p = c->p;

    ev_io_stop(p->loop, &c->cw);
    ev_io_stop(p->loop, &c->bw);
    if (abort) {
        set_linger0(c->cfd);
        set_linger0(c->bfd);
    }
    (void)close(c->cfd); /* nothing to learn from close() of a socket */
    (void)close(c->bfd);
    free(c->up.buf);
    free(c->down.buf);
    if (c->prev)
        c->prev->next = c->next;
    else
        p->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    p->st.conns--;
    free(c);
}

static void conn_watch(struct proxy_conn *c)
{
    int cev = 0, bev = 0;

    /* after a step a non-empty ring is always waiting for its destination (EAGAIN or connect) */
    if (!c->up.eof && c->up.len < PROXY_BUF_LEN)
        cev |= EV_READ;
    if (c->down.len > 0)
        cev |= EV_WRITE;
    if (c->connecting)
        bev = EV_WRITE;
    else {
        if (!c->down.eof && c->down.len < PROXY_BUF_LEN)
            bev |= EV_READ;
        if (c->up.len > 0)
            bev |= EV_WRITE;
    }
    io_want(c->p->loop, &c->cw, cev);
    io_want(c->p->loop, &c->bw, bev);
}

static void conn_fail(struct proxy_conn *c, const char *what)
{
    log_msg(LOG_DEBUG, "proxy %s: %s: %s: connection aborted", c->p->name, what, strerror(errno));
    conn_free(c, 1);
}

/* Do what CEV (client) and BEV (backend) allow. Frees C when it is over. */
static void conn_step(struct proxy_conn *c, int cev, int bev)
{
    struct proxy *p = c->p;

    if (c->connecting && bev) {
        int soerr = 0;
        socklen_t len = sizeof soerr;
        if (getsockopt(c->bfd, SOL_SOCKET, SO_ERROR, &soerr, &len) < 0)
            soerr = errno;
        if (soerr) {
            errno = soerr;
            conn_fail(c, "connect to container");
            return;
        }
        c->connecting = 0;
        bev = EV_WRITE;
    }
    if ((cev & EV_READ) && dir_fill(&c->up, c->cfd) < 0) {
        conn_fail(c, "read from client");
        return;
    }
    if ((bev & EV_READ) && dir_fill(&c->down, c->bfd) < 0) {
        conn_fail(c, "read from container");
        return;
    }
    if (!c->connecting && (!c->up.blocked || (bev & EV_WRITE)) &&
        dir_flush(&c->up, c->bfd, &p->st.bytes_in) < 0) {
        conn_fail(c, "write to container");
        return;
    }
    if ((!c->down.blocked || (cev & EV_WRITE)) &&
        dir_flush(&c->down, c->cfd, &p->st.bytes_out) < 0) {
        conn_fail(c, "write to client");
        return;
    }
    if (c->up.shut && c->down.shut)
        conn_free(c, 0);
    else
        conn_watch(c);
}

static void on_client_io(struct ev_loop *loop, ev_io *w, int revents)
{
    (void)loop;
    conn_step(w->data, revents, 0);
}

static void on_backend_io(struct ev_loop *loop, ev_io *w, int revents)
{
    (void)loop;
    conn_step(w->data, 0, revents);
}

static void accept_pause(struct proxy *p, int code)
{
    if (!p->pause_logged)
        log_msg(LOG_WARN, "proxy %s: %s: pausing new connections", p->name, strerror(code));
    p->pause_logged = 1;
    ev_io_stop(p->loop, &p->lw);
    if (!ev_is_active(&p->pause_w)) {
        ev_timer_set(&p->pause_w, PROXY_ACCEPT_PAUSE_MS / 1000.0, 0.);
        ev_timer_start(p->loop, &p->pause_w);
    }
}

/* Take over client fd CFD_IN and connect to the container. -1 when accepting should stop. */
static int conn_open(struct proxy *p, int cfd_in)
{
    auto_close int cfd = cfd_in;
    auto_close int bfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;

    if (bfd < 0) {
        int saved = errno;
        if (is_fd_shortage(saved)) {
            accept_pause(p, saved);
            return -1;
        }
        log_msg(LOG_WARN, "proxy %s: create socket: %s", p->name, strerror(saved));
        return 0;
    }
    /* the ends decide on segment sizes; delaying relayed small writes only adds latency */
    (void)setsockopt(cfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    (void)setsockopt(bfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    int connecting = 0;
    if (connect(bfd, (const struct sockaddr *)&p->ctr, sizeof p->ctr) < 0) {
        if (errno != EINPROGRESS) {
            log_msg(LOG_DEBUG, "proxy %s: connect to container: %s", p->name, strerror(errno));
            set_linger0(cfd);
            return 0;
        }
        connecting = 1;
    }
    struct proxy_conn *c = calloc(1, sizeof *c);
    if (!c) {
        log_msg(LOG_WARN, "proxy %s: out of memory for a connection", p->name);
        set_linger0(cfd);
        return 0;
    }
    c->p = p;
    c->cfd = take_fd(&cfd);
    c->bfd = take_fd(&bfd);
    c->connecting = (unsigned)connecting;
    ev_io_init(&c->cw, on_client_io, c->cfd, EV_READ);
    c->cw.data = c;
    ev_io_init(&c->bw, on_backend_io, c->bfd, EV_WRITE);
    c->bw.data = c;
    c->next = p->conns;
    if (p->conns)
        p->conns->prev = c;
    p->conns = c;
    p->st.conns++;
    conn_watch(c);
    return 0;
}

static void on_listen_readable(struct ev_loop *loop, ev_io *w, int revents)
{
    struct proxy *p = w->data;

    (void)loop;
    (void)revents;
    /* bounded: the listener stays readable, and other watchers get their turn meanwhile */
    for (int k = 0; k < PROXY_ACCEPT_BATCH; k++) {
        int fd = accept4(p->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            int saved = errno;
            if (saved == EINTR || saved == ECONNABORTED)
                continue;
            if (is_fd_shortage(saved))
                accept_pause(p, saved); /* the connection stays queued: no spinning on it */
            else if (saved != EAGAIN)
                log_msg(LOG_WARN, "proxy %s: accept: %s", p->name, strerror(saved));
            return;
        }
        p->pause_logged = 0;
        if (p->st.conns >= PROXY_CONNS_MAX) {
            log_msg(LOG_DEBUG, "proxy %s: %d connections: refusing one", p->name, PROXY_CONNS_MAX);
            (void)close(fd);
            continue;
        }
        if (conn_open(p, fd) < 0)
            return;
    }
}

static void on_pause_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
    struct proxy *p = w->data;

    (void)revents;
    ev_io_start(loop, &p->lw);
}

/* ---- UDP ---- */

static void flow_unlink(struct proxy_flow *f)
{
    struct proxy *p = f->p;

    if (f->prev)
        f->prev->next = f->next;
    else
        p->flows = f->next;
    if (f->next)
        f->next->prev = f->prev;
    else
        p->flows_tail = f->prev;
    f->prev = f->next = NULL;
}

static void flow_free(struct proxy_flow *f)
{
    struct proxy *p = f->p;

    ev_io_stop(p->loop, &f->rw);
    ev_timer_stop(p->loop, &f->idle_w);
    (void)close(f->fd); /* nothing to learn from close() of a socket */
    flow_unlink(f);
    p->st.flows--;
    free(f);
}

/* Mark F active now: restart its idle timer and move it to the front. */
static void flow_touch(struct proxy_flow *f)
{
    struct proxy *p = f->p;

    f->idle_w.repeat = p->udp_idle;
    ev_timer_again(p->loop, &f->idle_w);
    if (p->flows == f)
        return;
    flow_unlink(f);
    f->next = p->flows;
    if (p->flows)
        p->flows->prev = f;
    p->flows = f;
    if (!p->flows_tail)
        p->flows_tail = f;
}

static void on_flow_idle(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    flow_free(w->data);
}

static void on_flow_readable(struct ev_loop *loop, ev_io *w, int revents)
{
    struct proxy_flow *f = w->data;
    struct proxy *p = f->p;
    char buf[PROXY_DGRAM_MAX];

    (void)loop;
    (void)revents;
    for (int k = 0; k < PROXY_UDP_BATCH; k++) {
        ssize_t n = recv(f->fd, buf, sizeof buf, MSG_DONTWAIT);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            /* EAGAIN, or ECONNREFUSED: an ICMP error for an earlier datagram, now consumed */
            if (errno != EAGAIN && errno != ECONNREFUSED)
                log_msg(LOG_DEBUG, "proxy %s: receive from container: %s", p->name,
                        strerror(errno));
            return;
        }
        flow_touch(f);
        union {
            struct cmsghdr h;
            char buf[CMSG_SPACE(sizeof(struct in_pktinfo))];
        } cm;
        struct iovec iov = {buf, (size_t)n};
        struct msghdr mh = {
            .msg_name = &f->peer, .msg_namelen = sizeof f->peer, .msg_iov = &iov, .msg_iovlen = 1};
        if (f->local.s_addr != htonl(INADDR_ANY)) {
            /* a wildcard socket would answer from the route's address, which a connected
             * client socket drops: answer from the address the client sent to */
            memset(&cm, 0, sizeof cm);
            mh.msg_control = cm.buf;
            mh.msg_controllen = sizeof cm.buf;
            struct cmsghdr *ch = CMSG_FIRSTHDR(&mh);
            ch->cmsg_level = IPPROTO_IP;
            ch->cmsg_type = IP_PKTINFO;
            ch->cmsg_len = CMSG_LEN(sizeof(struct in_pktinfo));
            struct in_pktinfo pi = {.ipi_spec_dst = f->local};
            memcpy(CMSG_DATA(ch), &pi, sizeof pi);
        }
        ssize_t s = sendmsg(p->fd, &mh, MSG_DONTWAIT);
        if (s >= 0)
            p->st.bytes_out += (unsigned long long)s;
        else if (errno != EAGAIN)
            log_msg(LOG_DEBUG, "proxy %s: send to client: %s", p->name, strerror(errno));
    }
}

static struct proxy_flow *flow_find(struct proxy *p, const struct sockaddr_in *peer)
{
    for (struct proxy_flow *f = p->flows; f; f = f->next)
        if (f->peer.sin_addr.s_addr == peer->sin_addr.s_addr && f->peer.sin_port == peer->sin_port)
            return f;
    return NULL;
}

static struct proxy_flow *flow_open(struct proxy *p, const struct sockaddr_in *peer)
{
    if (p->st.flows >= PROXY_UDP_FLOWS_MAX && p->flows_tail)
        flow_free(p->flows_tail);
    auto_close int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        log_msg(LOG_WARN, "proxy %s: create socket: %s", p->name, strerror(errno));
        return NULL;
    }
    if (connect(fd, (const struct sockaddr *)&p->ctr, sizeof p->ctr) < 0) {
        log_msg(LOG_WARN, "proxy %s: connect to container: %s", p->name, strerror(errno));
        return NULL;
    }
    struct proxy_flow *f = calloc(1, sizeof *f);
    if (!f) {
        log_msg(LOG_WARN, "proxy %s: out of memory for a flow", p->name);
        return NULL;
    }
    f->p = p;
    f->peer = *peer;
    f->fd = take_fd(&fd);
    ev_io_init(&f->rw, on_flow_readable, f->fd, EV_READ);
    f->rw.data = f;
    ev_init(&f->idle_w, on_flow_idle);
    f->idle_w.data = f;
    ev_io_start(p->loop, &f->rw);
    f->next = p->flows;
    if (p->flows)
        p->flows->prev = f;
    p->flows = f;
    if (!p->flows_tail)
        p->flows_tail = f;
    p->st.flows++;
    return f;
}

static void on_host_readable(struct ev_loop *loop, ev_io *w, int revents)
{
    struct proxy *p = w->data;
    char buf[PROXY_DGRAM_MAX];

    (void)loop;
    (void)revents;
    for (int k = 0; k < PROXY_UDP_BATCH; k++) {
        struct sockaddr_in from;
        union {
            struct cmsghdr h;
            char buf[CMSG_SPACE(sizeof(struct in_pktinfo))];
        } cm;
        struct iovec iov = {buf, sizeof buf};
        struct msghdr mh = {.msg_name = &from,
                            .msg_namelen = sizeof from,
                            .msg_iov = &iov,
                            .msg_iovlen = 1,
                            .msg_control = cm.buf,
                            .msg_controllen = sizeof cm.buf};
        ssize_t n = recvmsg(p->fd, &mh, MSG_DONTWAIT);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            if (errno != EAGAIN)
                log_msg(LOG_DEBUG, "proxy %s: receive: %s", p->name, strerror(errno));
            return;
        }
        if (mh.msg_namelen != sizeof from || from.sin_family != AF_INET)
            continue;
        struct in_addr local = {htonl(INADDR_ANY)};
        for (struct cmsghdr *ch = CMSG_FIRSTHDR(&mh); ch; ch = CMSG_NXTHDR(&mh, ch)) {
            if (ch->cmsg_level == IPPROTO_IP && ch->cmsg_type == IP_PKTINFO) {
                struct in_pktinfo pi;
                memcpy(&pi, CMSG_DATA(ch), sizeof pi);
                local = pi.ipi_spec_dst;
            }
        }
        struct proxy_flow *f = flow_find(p, &from);
        if (!f)
            f = flow_open(p, &from);
        if (!f)
            continue;
        f->local = local;
        flow_touch(f);
        ssize_t s = send(f->fd, buf, (size_t)n, MSG_DONTWAIT);
        if (s < 0 && errno == ECONNREFUSED) /* an earlier datagram's ICMP error, not this one's */
            s = send(f->fd, buf, (size_t)n, MSG_DONTWAIT);
        if (s >= 0)
            p->st.bytes_in += (unsigned long long)s;
        else if (errno != EAGAIN && errno != ECONNREFUSED)
            log_msg(LOG_DEBUG, "proxy %s: send to container: %s", p->name, strerror(errno));
    }
}

/* ---- the proxy ---- */

struct proxy *proxy_open(struct ev_loop *loop, enum proxy_proto proto, const char *host_ip,
                         unsigned host_port, const char *ctr_ip, unsigned ctr_port, struct err *e)
{
    struct sockaddr_in host;
    int tcp = proto == PROXY_TCP;
    int one = 1;

    if (!loop || (proto != PROXY_TCP && proto != PROXY_UDP)) {
        err_set(e, EINVAL, "open proxy");
        return NULL;
    }
    auto_free struct proxy *p = calloc(1, sizeof *p);
    if (!p) {
        err_set(e, ENOMEM, "allocate proxy");
        return NULL;
    }
    p->loop = loop;
    p->proto = proto;
    p->fd = -1;
    p->udp_idle = PROXY_UDP_IDLE;
    if (parse_addr(host_ip, host_port, 1, &host, e) < 0 ||
        parse_addr(ctr_ip, ctr_port, 0, &p->ctr, e) < 0 || set_name(p, &host, e) < 0)
        return NULL;
    auto_close int fd =
        socket(AF_INET, (tcp ? SOCK_STREAM : SOCK_DGRAM) | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        sock_err(e, errno, "create socket for", p->name);
        return NULL;
    }
    /* TCP: rebinding over TIME_WAIT is fine, a listener still makes bind() fail. Not for UDP,
     * where it would let two sockets share the port. Never SO_REUSEPORT. */
    if (tcp && setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0) {
        sock_err(e, errno, "set SO_REUSEADDR for", p->name);
        return NULL;
    }
    if (!tcp && setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof one) < 0) {
        sock_err(e, errno, "set IP_PKTINFO for", p->name);
        return NULL;
    }
    if (bind(fd, (const struct sockaddr *)&host, sizeof host) < 0) {
        sock_err(e, errno, "bind", p->name);
        return NULL;
    }
    /* two SO_REUSEADDR sockets may both bind: the second listen() is where that fails */
    if (tcp && listen(fd, SOMAXCONN) < 0) {
        sock_err(e, errno, "listen on", p->name);
        return NULL;
    }
    struct sockaddr_in bound;
    socklen_t len = sizeof bound;
    if (getsockname(fd, (struct sockaddr *)&bound, &len) < 0) {
        sock_err(e, errno, "get the address of", p->name);
        return NULL;
    }
    p->port = ntohs(bound.sin_port);
    if (set_name(p, &bound, e) < 0)
        return NULL;
    p->fd = take_fd(&fd);
    ev_io_init(&p->lw, tcp ? on_listen_readable : on_host_readable, p->fd, EV_READ);
    p->lw.data = p;
    ev_init(&p->pause_w, on_pause_timer);
    p->pause_w.data = p;
    ev_io_start(loop, &p->lw);
    return take_ptr(&p);
}

unsigned proxy_port(const struct proxy *p)
{
    return p ? p->port : 0;
}

void proxy_set_udp_idle(struct proxy *p, double secs)
{
    if (p && p->proto == PROXY_UDP && secs > 0)
        p->udp_idle = secs;
}

void proxy_get_stats(const struct proxy *p, struct proxy_stats *s)
{
    if (!s)
        return;
    if (p)
        *s = p->st;
    else
        memset(s, 0, sizeof *s);
}

void proxy_close(struct proxy *p)
{
    if (!p)
        return;
    ev_io_stop(p->loop, &p->lw);
    ev_timer_stop(p->loop, &p->pause_w);
    while (p->conns)
        conn_free(p->conns, 0);
    while (p->flows)
        flow_free(p->flows);
    (void)close(p->fd); /* nothing to learn from close() of a socket */
    free(p);
}
