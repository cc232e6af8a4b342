/* SPDX-License-Identifier: MIT */
/* tests/unit/test_proxy.c - core/proxy.c on a real libev loop in this process. The backends
 * (TCP echo, TCP count-then-reply, UDP echo) run in one forked child; each client scenario runs
 * in its own forked child with plain blocking code and reports over a pipe, while this process
 * runs the proxy's loop until the report arrives. Children are killed by their PID and waited
 * for. Only 127.0.0.1. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <ev.h>

#include "core/err.h"
#include "core/limits.h"
#include "core/proxy.h"
#include "tests/unit/tap.h"

#define MIB       (1024 * 1024)
#define BULK_LEN  (10 * MIB)
#define PAT_LEN   65521 /* prime: a shifted or repeated chunk never matches */
#define MANY      150
#define UDP_MANY  (PROXY_UDP_FLOWS_MAX + 4)
#define HOLD_EACH 10

static struct ev_loop *loop;
static unsigned char pat[PAT_LEN];

/* ---- helpers for everyone ---- */

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static struct sockaddr_in lo_addr(unsigned port)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return sa;
}

static unsigned sock_port(int fd)
{
    struct sockaddr_in sa;
    socklen_t len = sizeof sa;
    if (getsockname(fd, (struct sockaddr *)&sa, &len) < 0)
        return 0;
    return ntohs(sa.sin_port);
}

/* A socket of TYPE bound to 127.0.0.1:0 (listening for TCP when LISTEN). */
static int lo_socket(int type, int listening, unsigned *port)
{
    struct sockaddr_in sa = lo_addr(0);
    int fd = socket(AF_INET, type | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    if (bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0 || (listening && listen(fd, 512) < 0)) {
        (void)close(fd);
        return -1;
    }
    *port = sock_port(fd);
    return fd;
}

static int tcp_connect(unsigned port)
{
    struct sockaddr_in sa = lo_addr(port);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
        (void)close(fd);
        return -1;
    }
    return fd;
}

static int udp_connect(unsigned port)
{
    struct sockaddr_in sa = lo_addr(port);
    struct sockaddr_in any = lo_addr(0);
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    if (bind(fd, (struct sockaddr *)&any, sizeof any) < 0 ||
        connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
        (void)close(fd);
        return -1;
    }
    return fd;
}

static void set_nonblock(int fd)
{
    int fl = fcntl(fd, F_GETFL);
    if (fl >= 0)
        (void)fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

static int count_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    int n = 0;
    if (!d)
        return -1;
    for (struct dirent *de; (de = readdir(d));)
        n += de->d_name[0] != '.';
    (void)closedir(d);
    return n;
}

/* In a child: close everything but stdio and KEEP1/KEEP2 (the parent's proxy sockets must not
 * live on in a copy). */
static void close_others(int keep1, int keep2, int keep3)
{
    for (int fd = 3; fd < 4096; fd++)
        if (fd != keep1 && fd != keep2 && fd != keep3)
            (void)close(fd);
}

/* Read exactly LEN bytes within TIMEOUT_MS. 0, or -1 (EOF, error or timeout). */
static int read_exact(int fd, void *buf, size_t len, int timeout_ms)
{
    size_t got = 0;
    while (got < len) {
        struct pollfd pf = {fd, POLLIN, 0};
        if (poll(&pf, 1, timeout_ms) <= 0)
            return -1;
        ssize_t n = recv(fd, (char *)buf + got, len - got, MSG_DONTWAIT);
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
            continue;
        if (n <= 0)
            return -1;
        got += (size_t)n;
    }
    return 0;
}

/* Wait up to TIMEOUT_MS for the end of FD, discarding data: 0 EOF, 1 reset, -1 timeout. */
static int wait_end(int fd, int timeout_ms)
{
    char buf[65536];
    for (;;) {
        struct pollfd pf = {fd, POLLIN, 0};
        if (poll(&pf, 1, timeout_ms) <= 0)
            return -1;
        ssize_t n = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
        if (n == 0)
            return 0;
        if (n < 0 && errno != EAGAIN && errno != EINTR)
            return 1;
    }
}

/* ---- backends (a child process) ---- */

struct bconn {
    int fd;
    int count; /* count-then-reply instead of echo */
    int eof;
    size_t off, len;
    unsigned long long n;
    char buf[65536];
};

static void backend_accept(int lfd, int count, struct bconn **cs, int *n)
{
    for (;;) {
        int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0)
            return;
        struct bconn *c = *n < 1024 ? calloc(1, sizeof *c) : NULL;
        if (!c) {
            (void)close(fd);
            continue;
        }
        c->fd = fd;
        c->count = count;
        cs[(*n)++] = c;
    }
}

/* 0 to keep C, -1 when it is done (closed). */
static int backend_step(struct bconn *c, short revents)
{
    if ((revents & (POLLIN | POLLHUP | POLLERR)) && c->len == 0 && !c->eof) {
        ssize_t r = recv(c->fd, c->buf, sizeof c->buf, MSG_DONTWAIT);
        if (r < 0 && errno != EAGAIN && errno != EINTR)
            return -1;
        if (r == 0)
            c->eof = 1;
        if (r > 0 && c->count)
            c->n += (unsigned long long)r;
        else if (r > 0) {
            c->off = 0;
            c->len = (size_t)r;
        }
    }
    while (c->len > 0) {
        ssize_t w = send(c->fd, c->buf + c->off, c->len, MSG_DONTWAIT | MSG_NOSIGNAL);
        if (w < 0 && (errno == EAGAIN || errno == EINTR))
            return 0;
        if (w < 0)
            return -1;
        c->off += (size_t)w;
        c->len -= (size_t)w;
    }
    if (!c->eof)
        return 0;
    if (c->count) {
        char line[32];
        int k = snprintf(line, sizeof line, "%llu\n", c->n);
        (void)!send(c->fd, line, (size_t)k, MSG_DONTWAIT | MSG_NOSIGNAL);
    }
    return -1;
}

static void backend_serve(int echo_fd, int count_fd, int udp_fd)
{
    static struct bconn *cs[1024];
    static struct pollfd pf[3 + 1024];
    int n = 0;

    set_nonblock(echo_fd);
    set_nonblock(count_fd);
    set_nonblock(udp_fd);
    for (;;) {
        pf[0] = (struct pollfd){echo_fd, POLLIN, 0};
        pf[1] = (struct pollfd){count_fd, POLLIN, 0};
        pf[2] = (struct pollfd){udp_fd, POLLIN, 0};
        for (int i = 0; i < n; i++) {
            short ev = (cs[i]->len == 0 && !cs[i]->eof) ? POLLIN : 0;
            if (cs[i]->len > 0)
                ev |= POLLOUT;
            pf[3 + i] = (struct pollfd){cs[i]->fd, ev, 0};
        }
        if (poll(pf, (nfds_t)(3 + n), -1) < 0)
            continue;
        int old_n = n;
        for (int i = old_n - 1; i >= 0; i--) {
            if (pf[3 + i].revents && backend_step(cs[i], pf[3 + i].revents) < 0) {
                (void)close(cs[i]->fd);
                free(cs[i]);
                cs[i] = cs[--n];
            }
        }
        if (pf[0].revents)
            backend_accept(echo_fd, 0, cs, &n);
        if (pf[1].revents)
            backend_accept(count_fd, 1, cs, &n);
        if (pf[2].revents) {
            char buf[65536];
            for (;;) {
                struct sockaddr_in from;
                socklen_t len = sizeof from;
                ssize_t r =
                    recvfrom(udp_fd, buf, sizeof buf, MSG_DONTWAIT, (struct sockaddr *)&from, &len);
                if (r < 0)
                    break;
                (void)!sendto(udp_fd, buf, (size_t)r, MSG_DONTWAIT, (struct sockaddr *)&from, len);
            }
        }
    }
}

struct backends {
    pid_t pid;
    unsigned echo, count, udp;
};

static int backends_start(struct backends *b)
{
    int echo_fd = lo_socket(SOCK_STREAM, 1, &b->echo);
    int count_fd = lo_socket(SOCK_STREAM, 1, &b->count);
    int udp_fd = lo_socket(SOCK_DGRAM, 0, &b->udp);
    if (echo_fd < 0 || count_fd < 0 || udp_fd < 0)
        return -1;
    fflush(stdout);
    b->pid = fork();
    if (b->pid == 0) {
        close_others(echo_fd, count_fd, udp_fd);
        backend_serve(echo_fd, count_fd, udp_fd);
        _exit(0);
    }
    (void)close(echo_fd);
    (void)close(count_fd);
    (void)close(udp_fd);
    return b->pid < 0 ? -1 : 0;
}

static void backends_stop(struct backends *b)
{
    if (b->pid <= 0)
        return;
    (void)kill(b->pid, SIGKILL);
    (void)waitpid(b->pid, NULL, 0);
    b->pid = 0;
}

/* ---- clients (children reporting over a pipe) ---- */

struct result {
    int ok;
    double secs;
    long long val;
    char msg[200];
};

struct client {
    pid_t pid;
    int res_fd; /* results from the child */
    int go_fd;  /* one byte tells a holding child to go on */
};

struct cargs {
    unsigned port, port2;
    long long len;
    int n;
};

typedef void client_fn(const struct cargs *a, int res_fd, int go_fd);

static void report(int fd, int ok, double secs, long long val, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static void report(int fd, int ok, double secs, long long val, const char *fmt, ...)
{
    struct result r = {.ok = ok, .secs = secs, .val = val};
    va_list ap;
    va_start(ap, fmt);
    (void)vsnprintf(r.msg, sizeof r.msg, fmt, ap);
    va_end(ap);
    (void)!write(fd, &r, sizeof r);
}

static int await_go(int fd)
{
    char c;
    return read(fd, &c, 1) == 1 ? 0 : -1;
}

static int client_start(struct client *cl, client_fn *fn, const struct cargs *a)
{
    int rp[2], gp[2];
    if (pipe2(rp, O_CLOEXEC) < 0)
        return -1;
    if (pipe2(gp, O_CLOEXEC) < 0) {
        (void)close(rp[0]);
        (void)close(rp[1]);
        return -1;
    }
    fflush(stdout);
    cl->pid = fork();
    if (cl->pid == 0) {
        (void)signal(SIGPIPE, SIG_IGN);
        alarm(60);
        close_others(rp[1], gp[0], -1);
        fn(a, rp[1], gp[0]);
        _exit(0);
    }
    (void)close(rp[1]);
    (void)close(gp[0]);
    cl->res_fd = rp[0];
    cl->go_fd = gp[1];
    return cl->pid < 0 ? -1 : 0;
}

struct waiter {
    struct result *r;
    int got;
};

static void on_result_readable(struct ev_loop *l, ev_io *w, int revents)
{
    struct waiter *wt = w->data;
    (void)revents;
    ssize_t n = read(w->fd, wt->r, sizeof *wt->r);
    wt->got = n == (ssize_t)sizeof *wt->r ? 1 : -1;
    ev_break(l, EVBREAK_ONE);
}

static void on_timeout(struct ev_loop *l, ev_timer *w, int revents)
{
    (void)w;
    (void)revents;
    ev_break(l, EVBREAK_ONE);
}

/* Run the loop until CL reports (or TIMEOUT seconds). 0 when the report says ok. */
static int client_wait(struct client *cl, struct result *r, double timeout)
{
    struct waiter wt = {r, 0};
    ev_io w;
    ev_timer t;

    memset(r, 0, sizeof *r);
    ev_io_init(&w, on_result_readable, cl->res_fd, EV_READ);
    w.data = &wt;
    ev_timer_init(&t, on_timeout, timeout, 0.);
    ev_io_start(loop, &w);
    ev_timer_start(loop, &t);
    ev_run(loop, 0);
    ev_io_stop(loop, &w);
    ev_timer_stop(loop, &t);
    if (wt.got != 1) {
        r->ok = 0;
        snprintf(r->msg, sizeof r->msg, "%s", wt.got ? "client died" : "timeout");
    }
    return r->ok ? 0 : -1;
}

static void client_go(struct client *cl)
{
    (void)!write(cl->go_fd, "g", 1);
}

static void client_end(struct client *cl)
{
    if (cl->pid > 0) {
        (void)kill(cl->pid, SIGKILL);
        (void)waitpid(cl->pid, NULL, 0);
    }
    (void)close(cl->res_fd);
    (void)close(cl->go_fd);
    cl->pid = 0;
}

/* Start FN, wait for its one report, end it. */
static int client_run(client_fn *fn, const struct cargs *a, struct result *r, double timeout)
{
    struct client cl;
    if (client_start(&cl, fn, a) < 0) {
        memset(r, 0, sizeof *r);
        snprintf(r->msg, sizeof r->msg, "fork: %s", strerror(errno));
        return -1;
    }
    int rc = client_wait(&cl, r, timeout);
    client_end(&cl);
    return rc;
}

/* ---- loop helpers ---- */

struct until {
    const struct proxy *p;
    int flows; /* watch flows, not conns */
    unsigned n;
    int met;
};

static int until_met(const struct until *u)
{
    struct proxy_stats s;
    proxy_get_stats(u->p, &s);
    return (u->flows ? s.flows : s.conns) == u->n;
}

static void on_until_tick(struct ev_loop *l, ev_timer *w, int revents)
{
    struct until *u = w->data;
    (void)revents;
    if (until_met(u)) {
        u->met = 1;
        ev_break(l, EVBREAK_ONE);
    }
}

/* Run the loop until P has N conns (or FLOWS: flows), at most TIMEOUT seconds. */
static int run_until(const struct proxy *p, int flows, unsigned n, double timeout)
{
    struct until u = {p, flows, n, 0};
    ev_timer tick, t;

    if (until_met(&u))
        return 1;
    ev_timer_init(&tick, on_until_tick, 0.005, 0.005);
    tick.data = &u;
    ev_timer_init(&t, on_timeout, timeout, 0.);
    ev_timer_start(loop, &tick);
    ev_timer_start(loop, &t);
    ev_run(loop, 0);
    ev_timer_stop(loop, &tick);
    ev_timer_stop(loop, &t);
    return u.met;
}

static void run_for(double secs)
{
    ev_timer t;
    ev_timer_init(&t, on_timeout, secs, 0.);
    ev_timer_start(loop, &t);
    ev_run(loop, 0);
    ev_timer_stop(loop, &t);
}

/* ---- client scenarios ---- */

static void cl_hello(const struct cargs *a, int res, int go)
{
    static const char msg[] = "hello, proxy\n";
    char buf[sizeof msg - 1];
    int fd = tcp_connect(a->port);
    (void)go;
    if (fd < 0) {
        report(res, 0, 0, 0, "connect: %s", strerror(errno));
        return;
    }
    if (send(fd, msg, sizeof msg - 1, MSG_NOSIGNAL) != (ssize_t)sizeof msg - 1 ||
        read_exact(fd, buf, sizeof buf, 5000) < 0) {
        report(res, 0, 0, 0, "no echo");
        return;
    }
    int same = memcmp(buf, msg, sizeof buf) == 0;
    report(res, same, 0, 0, "%s", same ? "echoed" : "echo differs");
}

/* Send A->len pattern bytes, shut down writing, and read to EOF: the echo checked byte for
 * byte (A->n == 0) or the count server's "LEN\n" (A->n == 1). */
static void cl_bulk(const struct cargs *a, int res, int go)
{
    char in[65536], reply[64];
    long long sent = 0, got = 0;
    size_t rlen = 0;
    int echo = a->n == 0;
    (void)go;

    int fd = tcp_connect(a->port);
    if (fd < 0) {
        report(res, 0, 0, 0, "connect: %s", strerror(errno));
        return;
    }
    set_nonblock(fd);
    double t0 = now_s();
    for (;;) {
        struct pollfd pf = {fd, (short)(POLLIN | (sent < a->len ? POLLOUT : 0)), 0};
        if (poll(&pf, 1, 10000) <= 0) {
            report(res, 0, 0, got, "stalled: sent %lld, got %lld", sent, got);
            return;
        }
        if ((pf.revents & POLLOUT) && sent < a->len) {
            size_t at = (size_t)(sent % PAT_LEN);
            size_t len = PAT_LEN - at;
            if ((long long)len > a->len - sent)
                len = (size_t)(a->len - sent);
            ssize_t n = send(fd, pat + at, len, MSG_NOSIGNAL);
            if (n < 0 && errno != EAGAIN) {
                report(res, 0, 0, got, "send: %s", strerror(errno));
                return;
            }
            if (n > 0)
                sent += n;
            if (sent == a->len && shutdown(fd, SHUT_WR) < 0) {
                report(res, 0, 0, got, "shutdown: %s", strerror(errno));
                return;
            }
        }
        if (!(pf.revents & (POLLIN | POLLHUP | POLLERR)))
            continue;
        ssize_t n = recv(fd, in, sizeof in, 0);
        if (n < 0 && errno == EAGAIN)
            continue;
        if (n < 0) {
            report(res, 0, 0, got, "recv: %s", strerror(errno));
            return;
        }
        if (n == 0)
            break;
        if (echo) {
            for (ssize_t k = 0; k < n;) {
                size_t at = (size_t)((got + k) % PAT_LEN);
                size_t len = PAT_LEN - at < (size_t)(n - k) ? PAT_LEN - at : (size_t)(n - k);
                if (memcmp(in + k, pat + at, len) != 0) {
                    report(res, 0, 0, got, "echo differs near byte %lld", got + k);
                    return;
                }
                k += (ssize_t)len;
            }
        } else {
            size_t len = (size_t)n < sizeof reply - 1 - rlen ? (size_t)n : sizeof reply - 1 - rlen;
            memcpy(reply + rlen, in, len);
            rlen += len;
        }
        got += n;
    }
    double secs = now_s() - t0;
    (void)close(fd);
    if (sent != a->len) {
        report(res, 0, secs, got, "EOF after sending %lld of %lld", sent, a->len);
        return;
    }
    if (echo) {
        report(res, got == a->len, secs, got, "got %lld of %lld bytes back", got, a->len);
        return;
    }
    reply[rlen] = '\0';
    reply[strcspn(reply, "\n")] = '\0';
    report(res, strtoll(reply, NULL, 10) == a->len, secs, got, "reply '%s'", reply);
}

static void cl_halfclose(const struct cargs *a, int res, int go)
{
    char buf[16] = "";
    (void)go;
    int fd = tcp_connect(a->port);
    if (fd < 0 || send(fd, "abc", 3, MSG_NOSIGNAL) != 3 || shutdown(fd, SHUT_WR) < 0) {
        report(res, 0, 0, 0, "connect/send/shutdown: %s", strerror(errno));
        return;
    }
    if (read_exact(fd, buf, 2, 5000) < 0 || memcmp(buf, "3\n", 2) != 0) {
        report(res, 0, 0, 0, "no reply after shutdown");
        return;
    }
    int end = wait_end(fd, 5000);
    report(res, end == 0, 0, 0, "%s", end == 0 ? "reply, then EOF" : "no EOF after the reply");
}

static int conn_ping(int fd, const char *word, int i)
{
    char msg[32], buf[32];
    int k = snprintf(msg, sizeof msg, "%s %d\n", word, i);
    if (send(fd, msg, (size_t)k, MSG_NOSIGNAL) != k || read_exact(fd, buf, (size_t)k, 5000) < 0)
        return -1;
    return memcmp(buf, msg, (size_t)k) == 0 ? 0 : -1;
}

static void cl_many(const struct cargs *a, int res, int go)
{
    int fds[MANY];
    for (int i = 0; i < a->n; i++) {
        fds[i] = tcp_connect(a->port);
        if (fds[i] < 0) {
            report(res, 0, 0, i, "connect %d: %s", i, strerror(errno));
            return;
        }
    }
    for (int i = 0; i < a->n; i++) {
        if (conn_ping(fds[i], "conn", i) < 0) {
            report(res, 0, 0, i, "echo on connection %d", i);
            return;
        }
    }
    report(res, 1, 0, a->n, "holding");
    if (await_go(go) < 0)
        return;
    for (int i = a->n - 1; i >= 0; i--) {
        if (conn_ping(fds[i], "again", i) < 0) {
            report(res, 0, 0, i, "second echo on connection %d", i);
            return;
        }
        (void)close(fds[i]);
    }
    report(res, 1, 0, a->n, "done");
}

static void cl_refused(const struct cargs *a, int res, int go)
{
    (void)go;
    int fd = tcp_connect(a->port);
    if (fd < 0) {
        report(res, 0, 0, 0, "connect to the proxy: %s", strerror(errno));
        return;
    }
    (void)!send(fd, "x", 1, MSG_NOSIGNAL);
    int end = wait_end(fd, 5000);
    report(res, end >= 0, 0, end, "connection left open");
}

/* HOLD_EACH connections to each of A->port and A->port2, half of them with data in flight. */
static void cl_hold(const struct cargs *a, int res, int go)
{
    int fds[2 * HOLD_EACH];
    for (int i = 0; i < 2 * HOLD_EACH; i++) {
        fds[i] = tcp_connect(i < HOLD_EACH ? a->port : a->port2);
        if (fds[i] < 0 || conn_ping(fds[i], "hold", i) < 0) {
            report(res, 0, 0, i, "connection %d", i);
            return;
        }
        if (i % 2)
            continue;
        /* stuff the pipeline without reading until nothing moves: the proxy's rings are full
         * both ways then */
        set_nonblock(fds[i]);
        for (long long sent = 0; sent < 256 * MIB;) {
            struct pollfd pf = {fds[i], POLLOUT, 0};
            if (poll(&pf, 1, 100) <= 0)
                break;
            ssize_t n = send(fds[i], pat, PAT_LEN, MSG_NOSIGNAL);
            if (n < 0 && errno != EAGAIN)
                break;
            sent += n > 0 ? n : 0;
        }
    }
    report(res, 1, 0, 0, "holding");
    if (await_go(go) < 0)
        return;
    for (int i = 0; i < 2 * HOLD_EACH; i++) {
        if (wait_end(fds[i], 5000) < 0) {
            report(res, 0, 0, i, "connection %d still open after proxy_close", i);
            return;
        }
    }
    report(res, 1, 0, 0, "all ended");
}

static void cl_late(const struct cargs *a, int res, int go)
{
    int fd = tcp_connect(a->port);
    if (fd < 0) {
        report(res, 0, 0, 0, "connect: %s", strerror(errno));
        return;
    }
    report(res, 1, 0, 0, "connected");
    if (await_go(go) < 0)
        return;
    int good = conn_ping(fd, "late", 0) == 0;
    report(res, good, 0, 0, "%s", good ? "echoed" : "no echo");
}

static int udp_ping(int fd, const char *word, int i)
{
    char msg[32], buf[64];
    int k = snprintf(msg, sizeof msg, "%s %d", word, i);
    if (send(fd, msg, (size_t)k, 0) != k)
        return -1;
    struct pollfd pf = {fd, POLLIN, 0};
    if (poll(&pf, 1, 2000) <= 0)
        return -1;
    ssize_t n = recv(fd, buf, sizeof buf, 0);
    return n == k && memcmp(buf, msg, (size_t)k) == 0 ? 0 : -1;
}

static void cl_udp2(const struct cargs *a, int res, int go)
{
    int fa = udp_connect(a->port), fb = udp_connect(a->port);
    char ba[64], bb[64], ma[32], mb[32];
    (void)go;
    if (fa < 0 || fb < 0) {
        report(res, 0, 0, 0, "udp sockets: %s", strerror(errno));
        return;
    }
    for (int i = 0; i < 3; i++) {
        int la = snprintf(ma, sizeof ma, "from A %d", i);
        int lb = snprintf(mb, sizeof mb, "from B, longer %d", i);
        /* both in flight at once: each reply must find its own client */
        if (send(fa, ma, (size_t)la, 0) != la || send(fb, mb, (size_t)lb, 0) != lb) {
            report(res, 0, 0, i, "send: %s", strerror(errno));
            return;
        }
        struct pollfd pf[2] = {{fa, POLLIN, 0}, {fb, POLLIN, 0}};
        if (poll(&pf[0], 1, 2000) <= 0 || poll(&pf[1], 1, 2000) <= 0) {
            report(res, 0, 0, i, "no reply in round %d", i);
            return;
        }
        ssize_t na = recv(fa, ba, sizeof ba, 0), nb = recv(fb, bb, sizeof bb, 0);
        if (na != la || memcmp(ba, ma, (size_t)la) != 0 || nb != lb ||
            memcmp(bb, mb, (size_t)lb) != 0) {
            report(res, 0, 0, i, "replies mixed up in round %d", i);
            return;
        }
    }
    report(res, 1, 0, 0, "ok");
}

static void cl_udp1(const struct cargs *a, int res, int go)
{
    int fd = udp_connect(a->port);
    (void)go;
    int good = fd >= 0 && udp_ping(fd, "again", 1) == 0;
    report(res, good, 0, 0, "%s", good ? "reply" : "no reply");
}

static void cl_udp_many(const struct cargs *a, int res, int go)
{
    static int fds[UDP_MANY];
    (void)go;
    for (int i = 0; i < a->n; i++) {
        fds[i] = udp_connect(a->port);
        if (fds[i] < 0 || udp_ping(fds[i], "flow", i) < 0) {
            report(res, 0, 0, i, "flow %d: no reply", i);
            return;
        }
    }
    /* the first flow was evicted: it comes back as a new one */
    int good = udp_ping(fds[0], "back", 0) == 0;
    report(res, good, 0, 0, "%s", good ? "all replied" : "evicted client got no reply");
}

/* ---- tests ---- */

static void on_close_both(struct ev_loop *l, ev_timer *w, int revents)
{
    struct proxy **ps = w->data;
    (void)revents;
    /* from inside a callback, with the proxies' own watchers pending or active */
    proxy_close(ps[0]);
    proxy_close(ps[1]);
    ps[0] = ps[1] = NULL;
    ev_break(l, EVBREAK_ONE);
}

static void test_tcp(const struct backends *b)
{
    struct err e = {0};
    struct result r = {0};
    struct proxy_stats s;

    struct proxy *p = proxy_open(loop, PROXY_TCP, "127.0.0.1", 0, "127.0.0.1", b->echo, &e);
    ok(p != NULL, "tcp proxy opens on an ephemeral port%s%s", p ? "" : ": ", p ? "" : e.msg);
    if (!p)
        return;
    unsigned port = proxy_port(p);
    ok(port > 0 && port < 65536, "ephemeral port reported: %u", port);

    struct cargs a = {.port = port};
    ok(client_run(cl_hello, &a, &r, 10) == 0, "echo through the proxy (%s)", r.msg);
    ok(run_until(p, 0, 0, 5), "connection gone after the client closed");
    proxy_get_stats(p, &s);
    ok(s.bytes_in == 13 && s.bytes_out == 13, "byte counters: in %llu, out %llu", s.bytes_in,
       s.bytes_out);

    a = (struct cargs){.port = port, .len = BULK_LEN, .n = 0};
    int rc = client_run(cl_bulk, &a, &r, 60);
    double proxied = r.secs;
    ok(rc == 0, "10 MiB echoed through the proxy, checked byte for byte (%s)", r.msg);
    a.port = b->echo;
    rc = client_run(cl_bulk, &a, &r, 60);
    double direct = r.secs;
    ok(rc == 0, "10 MiB echoed directly (%s)", r.msg);
    if (proxied > 0 && direct > 0)
        printf("# 10 MiB each way: through the proxy %.3f s (%.0f MiB/s), direct %.3f s "
               "(%.0f MiB/s)\n",
               proxied, 10 / proxied, direct, 10 / direct);
    ok(run_until(p, 0, 0, 5), "bulk connection gone");
    proxy_get_stats(p, &s);
    ok(s.bytes_in == 13 + BULK_LEN && s.bytes_out == 13 + BULK_LEN,
       "byte counters after bulk: in %llu, out %llu", s.bytes_in, s.bytes_out);

    a.port = port;
    a.n = MANY;
    struct client cl;
    ok(client_start(&cl, cl_many, &a) == 0 && client_wait(&cl, &r, 30) == 0,
       "%d concurrent connections echo (%s)", MANY, r.msg);
    proxy_get_stats(p, &s);
    ok(s.conns == MANY, "%u connections open at once", s.conns);
    client_go(&cl);
    ok(client_wait(&cl, &r, 30) == 0, "all %d echo again, in reverse order (%s)", MANY, r.msg);
    client_end(&cl);
    ok(run_until(p, 0, 0, 5), "all %d connections closed", MANY);

    /* accept fails with EMFILE: accepting pauses instead of spinning, then resumes */
    struct rlimit old;
    a.n = 0;
    ok(getrlimit(RLIMIT_NOFILE, &old) == 0 && client_start(&cl, cl_late, &a) == 0,
       "client for the EMFILE test");
    int lowest = open("/dev/null", O_RDONLY | O_CLOEXEC);
    (void)close(lowest);
    struct rlimit low = {(rlim_t)lowest, old.rlim_max};
    ok(setrlimit(RLIMIT_NOFILE, &low) == 0, "fd limit lowered to %d", lowest);
    ok(client_wait(&cl, &r, 10) == 0, "client connected (queued in the backlog)");
    unsigned it0 = ev_iteration(loop);
    run_for(0.5);
    unsigned its = ev_iteration(loop) - it0;
    proxy_get_stats(p, &s);
    ok(its < 100 && s.conns == 0, "out of fds: %u loop iterations in 0.5 s, %u connections", its,
       s.conns);
    ok(setrlimit(RLIMIT_NOFILE, &old) == 0, "fd limit restored");
    client_go(&cl);
    ok(client_wait(&cl, &r, 10) == 0, "queued connection served once fds are back (%s)", r.msg);
    client_end(&cl);
    ok(run_until(p, 0, 0, 5), "connection closed");

    proxy_close(p);
}

static void test_halfclose(const struct backends *b)
{
    struct err e = {0};
    struct result r = {0};
    struct proxy *p = proxy_open(loop, PROXY_TCP, "127.0.0.1", 0, "127.0.0.1", b->count, &e);
    ok(p != NULL, "proxy to the count-then-reply backend%s%s", p ? "" : ": ", p ? "" : e.msg);
    if (!p)
        return;
    struct cargs a = {.port = proxy_port(p)};
    ok(client_run(cl_halfclose, &a, &r, 10) == 0,
       "half-close: client shuts down writing and still gets the reply and EOF (%s)", r.msg);
    a = (struct cargs){.port = proxy_port(p), .len = BULK_LEN, .n = 1};
    ok(client_run(cl_bulk, &a, &r, 60) == 0, "half-close after a 10 MiB upload (%s)", r.msg);
    ok(run_until(p, 0, 0, 5), "connections closed");
    proxy_close(p);
}

static void test_refused(void)
{
    struct err e = {0};
    struct result r = {0};
    unsigned dead;
    /* bound but not listening: connecting to it is refused, and nobody else takes the port */
    int hold = lo_socket(SOCK_STREAM, 0, &dead);
    struct proxy *p =
        hold >= 0 ? proxy_open(loop, PROXY_TCP, "127.0.0.1", 0, "127.0.0.1", dead, &e) : NULL;
    ok(p != NULL, "proxy to a port nobody listens on%s%s", p ? "" : ": ", p ? "" : e.msg);
    if (p) {
        struct cargs a = {.port = proxy_port(p)};
        ok(client_run(cl_refused, &a, &r, 10) == 0, "backend refused: client sees %s",
           r.val == 1   ? "a reset"
           : r.val == 0 ? "EOF"
                        : r.msg);
        ok(run_until(p, 0, 0, 5), "no connection left");
    }
    proxy_close(p);
    if (hold >= 0)
        (void)close(hold);
}

static void test_errors(const struct backends *b)
{
    struct err e = {0};
    char want[64];
    int fds0 = count_fds();

    struct proxy *p = proxy_open(loop, PROXY_TCP, "127.0.0.1", 0, "127.0.0.1", b->echo, &e);
    struct proxy *q =
        p ? proxy_open(loop, PROXY_TCP, "127.0.0.1", proxy_port(p), "127.0.0.1", b->echo, &e)
          : NULL;
    snprintf(want, sizeof want, "127.0.0.1:%u/tcp", proxy_port(p));
    ok(p && !q && e.code == EADDRINUSE, "tcp port in use: EADDRINUSE (%s)", e.msg);
    ok(strstr(e.msg, "address already in use") && strstr(e.msg, want),
       "message names the port and says 'address already in use'");
    proxy_close(q);
    proxy_close(p);

    unsigned port;
    int lfd = lo_socket(SOCK_STREAM, 1, &port);
    e = (struct err){0};
    p = proxy_open(loop, PROXY_TCP, "127.0.0.1", port, "127.0.0.1", b->echo, &e);
    ok(lfd >= 0 && !p && e.code == EADDRINUSE && strstr(e.msg, "address already in use"),
       "port of another listener: %s", e.msg);
    proxy_close(p);
    (void)close(lfd);

    e = (struct err){0};
    p = proxy_open(loop, PROXY_UDP, "127.0.0.1", 0, "127.0.0.1", b->udp, &e);
    q = p ? proxy_open(loop, PROXY_UDP, "127.0.0.1", proxy_port(p), "127.0.0.1", b->udp, &e) : NULL;
    snprintf(want, sizeof want, "127.0.0.1:%u/udp", proxy_port(p));
    ok(p && !q && e.code == EADDRINUSE && strstr(e.msg, "address already in use") &&
           strstr(e.msg, want),
       "udp port in use: %s", e.msg);
    proxy_close(q);
    proxy_close(p);

    e = (struct err){0};
    ok(!proxy_open(loop, PROXY_TCP, "1.2.3", 0, "127.0.0.1", 80, &e) && e.code == EINVAL,
       "bad host address: %s", e.msg);
    e = (struct err){0};
    ok(!proxy_open(loop, PROXY_TCP, "::1", 0, "127.0.0.1", 80, &e) && e.code == EINVAL,
       "IPv6 host address refused: %s", e.msg);
    e = (struct err){0};
    ok(!proxy_open(loop, PROXY_UDP, "127.0.0.1", 70000, "127.0.0.1", 80, &e) && e.code == EINVAL,
       "host port out of range: %s", e.msg);
    e = (struct err){0};
    ok(!proxy_open(loop, PROXY_TCP, "127.0.0.1", 0, "127.0.0.1", 0, &e) && e.code == EINVAL,
       "container port 0: %s", e.msg);
    e = (struct err){0};
    ok(!proxy_open(loop, PROXY_TCP, "127.0.0.1", 0, "", 80, &e) && e.code == EINVAL,
       "no container address: %s", e.msg);
    ok(count_fds() == fds0, "failed opens leave no fd behind (%d, was %d)", count_fds(), fds0);
    proxy_close(NULL);
    ok(proxy_port(NULL) == 0, "proxy_close(NULL) and proxy_port(NULL) are harmless");
}

static void test_close_live(const struct backends *b)
{
    struct err e = {0};
    struct result r = {0};
    struct proxy_stats s1, s2;
    int fds0 = count_fds();
    struct proxy *ps[2];

    ps[0] = proxy_open(loop, PROXY_TCP, "127.0.0.1", 0, "127.0.0.1", b->echo, &e);
    ps[1] = proxy_open(loop, PROXY_TCP, "127.0.0.1", 0, "127.0.0.1", b->echo, &e);
    ok(ps[0] && ps[1], "two proxies%s%s", ps[0] && ps[1] ? "" : ": ", e.msg);
    if (!ps[0] || !ps[1]) {
        proxy_close(ps[0]);
        proxy_close(ps[1]);
        return;
    }
    struct cargs a = {.port = proxy_port(ps[0]), .port2 = proxy_port(ps[1])};
    struct client cl;
    ok(client_start(&cl, cl_hold, &a) == 0 && client_wait(&cl, &r, 30) == 0,
       "live connections with data in flight (%s)", r.msg);
    run_for(0.2); /* let the rings fill */
    proxy_get_stats(ps[0], &s1);
    proxy_get_stats(ps[1], &s2);
    ok(s1.conns == HOLD_EACH && s2.conns == HOLD_EACH, "%u + %u connections open", s1.conns,
       s2.conns);

    ev_timer t;
    ev_timer_init(&t, on_close_both, 0., 0.);
    t.data = ps;
    ev_timer_start(loop, &t);
    ev_run(loop, 0);
    ok(!ps[0] && !ps[1], "both proxies closed from inside a callback");
    /* the client's two pipes are the only fds opened since */
    ok(count_fds() == fds0 + 2, "every fd closed (%d, was %d + 2)", count_fds(), fds0);
    client_go(&cl);
    ok(client_wait(&cl, &r, 30) == 0, "clients see their connections end (%s)", r.msg);
    client_end(&cl);
}

static void test_udp(const struct backends *b)
{
    struct err e = {0};
    struct result r = {0};
    struct proxy_stats s;

    struct proxy *p = proxy_open(loop, PROXY_UDP, "127.0.0.1", 0, "127.0.0.1", b->udp, &e);
    ok(p != NULL && proxy_port(p) > 0, "udp proxy on an ephemeral port %u%s%s", proxy_port(p),
       p ? "" : ": ", e.msg);
    if (!p)
        return;
    proxy_set_udp_idle(p, 0.3);
    struct cargs a = {.port = proxy_port(p)};
    double t0 = ev_now(loop);
    ok(client_run(cl_udp2, &a, &r, 10) == 0, "two udp clients each get their own replies (%s)",
       r.msg);
    proxy_get_stats(p, &s);
    ok(s.flows == 2, "two flows (%u)", s.flows);
    unsigned long long sent = 3 * (strlen("from A 0") + strlen("from B, longer 0"));
    ok(s.bytes_in == sent && s.bytes_out == sent, "udp byte counters: in %llu, out %llu",
       s.bytes_in, s.bytes_out);
    ok(run_until(p, 1, 0, 5), "idle flows expire");
    ev_now_update(loop);
    ok(ev_now(loop) - t0 >= 0.3, "... not before the idle time (%.2f s)", ev_now(loop) - t0);
    ok(client_run(cl_udp1, &a, &r, 10) == 0, "a new flow after expiry works (%s)", r.msg);

    proxy_set_udp_idle(p, 30);
    a.n = UDP_MANY;
    ok(client_run(cl_udp_many, &a, &r, 60) == 0, "%d clients, the evicted one comes back (%s)",
       UDP_MANY, r.msg);
    proxy_get_stats(p, &s);
    ok(s.flows == PROXY_UDP_FLOWS_MAX, "flows capped at %d (%u)", PROXY_UDP_FLOWS_MAX, s.flows);
    int fds = count_fds();
    proxy_close(p);
    ok(count_fds() == fds - PROXY_UDP_FLOWS_MAX - 1, "proxy_close closes the host socket and "
                                                     "every flow socket");
}

int main(void)
{
    struct backends b = {0};

    alarm(300); /* a hang is a failure, not a stuck CI job */
    uint32_t x = 2463534242u;
    for (size_t i = 0; i < sizeof pat; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        pat[i] = (unsigned char)x;
    }
    loop = ev_loop_new(EVFLAG_AUTO);
    if (!loop || backends_start(&b) < 0) {
        printf("# no loop or no backends: %s\n", strerror(errno));
        return 77;
    }
    test_errors(&b);
    test_tcp(&b);
    test_halfclose(&b);
    test_refused();
    test_close_live(&b);
    test_udp(&b);
    backends_stop(&b);

    ok(ev_run(loop, EVRUN_NOWAIT) == 0, "no watcher of any proxy left active on the loop");
    ev_loop_destroy(loop);
    return done();
}
