/* SPDX-License-Identifier: MIT */
/* ctl/client.c - the berth client's shared machinery (see client.h): connection and line I/O,
 * streams, signal forwarding, flags, multi-name commands and Docker's output formats.
 * It only speaks the protocol (ctl/proto.h); it never looks at berthd's files. */
#include "ctl/client.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "core/err.h"
#include "core/limits.h"
#include "core/util.h"

#define READ_CHUNK   (64 * 1024)
#define DECODE_SLICE (16 * 1024) /* source bytes of a data word decoded per proto_parse call */
#define TABLE_COLS   16
#define TABLE_MINW   10
#define TABLE_PAD    3

static const char *sock_path = CLIENT_SOCKET_DEFAULT;
static int sig_pipe[2] = {-1, -1};

void client_set_socket(const char *path)
{
    sock_path = path;
}

const char *client_socket(void)
{
    return sock_path;
}

void client_error(const char *fmt, ...)
{
    va_list ap;

    (void)fflush(stdout); /* keep what was printed before the error in order */
    va_start(ap, fmt);
    (void)fputs("berth: ", stderr);
    (void)vfprintf(stderr, fmt, ap);
    (void)fputc('\n', stderr);
    va_end(ap);
}

/* ---- connection ---- */

void client_close(struct client_conn *c)
{
    int saved = errno;
    if (c->fd >= 0)
        (void)close(c->fd); /* nothing to do about a failed close of a socket we read to EOF */
    c->fd = -1;
    for (int i = 0; i < c->nrfds; i++)
        (void)close(c->rfds[i]);
    c->nrfds = 0;
    c->io = NULL;
    proto_buf_free(&c->in);
    c->in_off = 0;
    c->fwd_target = NULL;
    errno = saved;
}

int client_connect(struct client_conn *c, struct err *e)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    size_t n = strlen(sock_path);

    if (n >= sizeof sa.sun_path)
        return err_set(e, ENAMETOOLONG, "cannot connect to berthd at %s", sock_path);
    memcpy(sa.sun_path, sock_path, n + 1);
    auto_close int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return err_set(e, errno, "cannot connect to berthd at %s", sock_path);
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0)
        return err_set(e, errno, "cannot connect to berthd at %s", sock_path);
    c->fd = take_fd(&fd);
    return 0;
}

int client_send(struct client_conn *c, const struct proto_buf *req, int pass_fd, struct err *e)
{
    return client_send_fds(c, req, &pass_fd, pass_fd >= 0 ? 1 : 0, e);
}

int client_take_fd(struct client_conn *c)
{
    if (c->nrfds == 0)
        return -1;
    int fd = c->rfds[0];
    memmove(c->rfds, c->rfds + 1, (size_t)(c->nrfds - 1) * sizeof c->rfds[0]);
    c->nrfds--;
    return fd;
}

int client_send_fds(struct client_conn *c, const struct proto_buf *req, const int *fds, int nfds,
                    struct err *e)
{
    static char nl[1] = {'\n'};
    struct iovec iov[2] = {{req->data, req->len}, {nl, 1}};
    union {
        struct cmsghdr h;
        char buf[CMSG_SPACE(sizeof(int) * CTL_FDS_MAX)];
    } cm;
    struct msghdr msg = {.msg_iov = iov, .msg_iovlen = 2};

    if (req->len + 1 > CTL_LINE_MAX)
        return err_set(e, E2BIG, "request of %zu bytes is over the %d bytes berthd accepts",
                       req->len + 1, CTL_LINE_MAX);
    if (nfds > CTL_FDS_MAX)
        return err_set(e, E2BIG, "at most %d fds go with a request", CTL_FDS_MAX);
    if (nfds > 0) {
        memset(&cm, 0, sizeof cm);
        msg.msg_control = cm.buf;
        msg.msg_controllen = CMSG_SPACE(sizeof(int) * (size_t)nfds);
        struct cmsghdr *h = CMSG_FIRSTHDR(&msg);
        h->cmsg_level = SOL_SOCKET;
        h->cmsg_type = SCM_RIGHTS;
        h->cmsg_len = CMSG_LEN(sizeof(int) * (size_t)nfds);
        memcpy(CMSG_DATA(h), fds, sizeof(int) * (size_t)nfds);
    }
    while (msg.msg_iovlen > 0) {
        ssize_t n = sendmsg(c->fd, &msg, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return err_set(e, errno, "send request to berthd");
        }
        /* the fd went with the first byte: never send it twice */
        msg.msg_control = NULL;
        msg.msg_controllen = 0;
        size_t left = (size_t)n;
        while (msg.msg_iovlen > 0 && left >= msg.msg_iov->iov_len) {
            left -= msg.msg_iov->iov_len;
            msg.msg_iov++;
            msg.msg_iovlen--;
        }
        if (msg.msg_iovlen > 0) {
            msg.msg_iov->iov_base = (char *)msg.msg_iov->iov_base + left;
            msg.msg_iov->iov_len -= left;
        }
    }
    return 0;
}

static void forward_signal(const char *target, int sig)
{
    auto_buf struct proto_buf req = {0};
    auto_conn struct client_conn k = CLIENT_CONN_INIT;
    struct err e = {0};
    const char *body;

    if (proto_buf_word(&req, "kill") < 0 ||
        proto_buf_opt(&req, "signal", util_signal_name(sig)) < 0 ||
        proto_buf_opt(&req, "proxy", "1") < 0 || proto_buf_word(&req, target) < 0) {
        client_error("forward %s: out of memory", util_signal_name(sig));
        return;
    }
    int code = client_call(&k, &req, -1, &body, &e);
    if (code < 0)
        client_error("forward %s: %s", util_signal_name(sig), err_str(&e));
    else if (code != 200 && code != 409) /* 409: it exited meanwhile, the stream will say so */
        client_error("forward %s: %s", util_signal_name(sig), body);
}

/* Signals caught while reading: SIGWINCH resizes the pty; the others go to the container, or,
 * when nothing forwards them, end the client as they would have (its terminal restored). */
static void on_signals(struct client_conn *c)
{
    unsigned char sigs[64];
    ssize_t n = read(sig_pipe[0], sigs, sizeof sigs);
    for (ssize_t i = 0; i < n; i++) {
        if (sigs[i] == SIGWINCH) {
            if (c->io && c->io->winch_fd >= 0)
                tty_copy_size(STDIN_FILENO, c->io->winch_fd);
        } else if (c->fwd_target) {
            forward_signal(c->fwd_target, sigs[i]);
        } else {
            tty_restore();
            exit(128 + sigs[i]);
        }
    }
}

/* Stdin (read only when nothing is pending) through the detach filter into the buffer. */
static void io_read_stdin(struct client_io *io)
{
    unsigned char raw[4096];
    ssize_t n = read(io->in_fd, raw, sizeof raw);
    if (n < 0 && (errno == EINTR || errno == EAGAIN))
        return;
    if (n <= 0) {
        io->in_fd = -1; /* EOF (or an unreadable stdin): nothing more to send */
        return;
    }
    io->off = 0;
    if (tty_detach_filter(&io->detach, raw, (size_t)n, io->buf, &io->len))
        io->detached = 1;
}

static void io_write_to(struct client_io *io)
{
    ssize_t n = write(io->to_fd, io->buf + io->off, io->len - io->off);
    if (n < 0 && (errno == EINTR || errno == EAGAIN))
        return;
    if (n < 0) {
        /* the container's stdin is gone (EPIPE, EIO): stop sending */
        io->to_fd = io->in_fd = -1;
        io->len = io->off = 0;
        return;
    }
    io->off += (size_t)n;
    if (io->off == io->len)
        io->off = io->len = 0;
}

/* Returns 0 while the pty is open, 1 once it is closed (EOF or EIO). */
static int io_copy_from(struct client_io *io)
{
    char chunk[READ_CHUNK];
    ssize_t n = read(io->from_fd, chunk, sizeof chunk);
    struct err ignored = {0};
    if (n < 0 && (errno == EINTR || errno == EAGAIN))
        return 0;
    if (n <= 0) {
        io->from_fd = -1;
        io->hangup = 1;
        return 1;
    }
    /* a stdout nobody reads any more: the process is left to find out itself */
    (void)util_write_all(STDOUT_FILENO, chunk, (size_t)n, &ignored);
    return 0;
}

int client_io_begin(struct client_conn *c, struct client_io *io, int fd, int tty, int interactive,
                    int from_pty, const char *detach_keys, const char *target, struct err *e)
{
    if (tty_detach_parse(detach_keys ? detach_keys : TTY_DETACH_DEFAULT, io->detach.keys,
                         &io->detach.n, e) < 0) {
        if (fd >= 0)
            (void)close(fd);
        return -1;
    }
    if (fd >= 0) {
        if (c->nrfds < (int)ARRAY_LEN(c->rfds))
            c->rfds[c->nrfds++] = fd; /* closed with the connection */
        else
            (void)close(fd);
        (void)fcntl(fd, F_SETFL, O_NONBLOCK); /* cannot fail on a pty or a pipe */
        if (interactive) {
            io->in_fd = STDIN_FILENO;
            io->to_fd = fd;
        }
        if (tty) {
            io->winch_fd = fd;
            tty_copy_size(STDIN_FILENO, fd); /* an attach: the terminal may differ from the last */
        }
        if (from_pty)
            io->from_fd = fd;
    }
    /* a container whose stdin went away must not kill us on the next write */
    (void)signal(SIGPIPE, SIG_IGN);
    if (tty && interactive && isatty(STDIN_FILENO) && tty_raw(STDIN_FILENO, e) < 0)
        return -1;
    c->io = io;
    return client_forward_signals(c, target, e);
}

void client_io_drain(struct client_io *io)
{
    for (int rounds = 0; io->from_fd >= 0 && rounds < 4096; rounds++) {
        int fd = io->from_fd;
        if (io_copy_from(io) == 0 && io->from_fd == fd) {
            struct pollfd p = {.fd = fd, .events = POLLIN};
            if (poll(&p, 1, 0) <= 0)
                break; /* empty now */
        }
    }
}

/* Wait until the socket is readable, forwarding signals and doing c->io's copying meanwhile.
 * Returns 1 when readable, 0 when the detach keys were typed. */
static int conn_wait(struct client_conn *c, struct err *e)
{
    for (;;) {
        struct client_io *io = c->io;
        if (io && io->detached && io->off == io->len)
            return 0;
        struct pollfd p[5] = {{.fd = c->fd, .events = POLLIN},
                              {.fd = sig_pipe[0], .events = POLLIN}};
        nfds_t n = 2;
        int k_in = -1, k_to = -1, k_from = -1;
        if (io && io->in_fd >= 0 && io->len == 0 && !io->detached) {
            k_in = (int)n;
            p[n++] = (struct pollfd){.fd = io->in_fd, .events = POLLIN};
        }
        if (io && io->to_fd >= 0 && io->len > io->off) {
            k_to = (int)n;
            p[n++] = (struct pollfd){.fd = io->to_fd, .events = POLLOUT};
        }
        if (io && io->from_fd >= 0) {
            k_from = (int)n;
            p[n++] = (struct pollfd){.fd = io->from_fd, .events = POLLIN};
        }
        if (poll(p, n, -1) < 0) {
            if (errno == EINTR)
                continue;
            return err_set(e, errno, "poll berthd connection");
        }
        if (p[1].revents & POLLIN)
            on_signals(c);
        if (k_in >= 0 && p[k_in].revents)
            io_read_stdin(io);
        if (k_to >= 0 && p[k_to].revents)
            io_write_to(io);
        if (io && io->len > io->off && io->to_fd < 0)
            io->len = io->off = 0; /* nowhere to send it */
        if (k_from >= 0 && p[k_from].revents)
            (void)io_copy_from(io);
        if (p[0].revents)
            return 1;
    }
}

/* Read what the socket has (and the fds passed with it), forwarding signals and doing c->io's
 * plumbing meanwhile. 0 at EOF (or when the detach keys were typed). */
static ssize_t conn_read(struct client_conn *c, void *buf, size_t size, struct err *e)
{
    for (;;) {
        if ((c->fwd_target || c->io) && sig_pipe[0] >= 0) {
            int rc = conn_wait(c, e);
            if (rc <= 0)
                return rc;
        }
        union {
            struct cmsghdr h;
            char buf[CMSG_SPACE(sizeof(int) * 4)];
        } cm;
        struct iovec iov = {buf, size};
        struct msghdr mh = {.msg_iov = &iov,
                            .msg_iovlen = 1,
                            .msg_control = cm.buf,
                            .msg_controllen = sizeof cm.buf};
        ssize_t n = recvmsg(c->fd, &mh, MSG_CMSG_CLOEXEC);
        for (struct cmsghdr *h = CMSG_FIRSTHDR(&mh); n >= 0 && h; h = CMSG_NXTHDR(&mh, h)) {
            if (h->cmsg_level != SOL_SOCKET || h->cmsg_type != SCM_RIGHTS)
                continue;
            size_t k = (h->cmsg_len - CMSG_LEN(0)) / sizeof(int);
            for (size_t i = 0; i < k; i++) {
                int fd;
                memcpy(&fd, CMSG_DATA(h) + i * sizeof(int), sizeof fd);
                if ((size_t)c->nrfds < ARRAY_LEN(c->rfds))
                    c->rfds[c->nrfds++] = fd;
                else
                    (void)close(fd);
            }
        }
        if (n >= 0)
            return n;
        if (errno != EINTR)
            return err_set(e, errno, "read from berthd");
    }
}

int client_read_line(struct client_conn *c, char **line, size_t *len, struct err *e)
{
    char chunk[READ_CHUNK];
    size_t scanned = c->in_off;

    for (;;) {
        char *nl =
            c->in.len > scanned ? memchr(c->in.data + scanned, '\n', c->in.len - scanned) : NULL;
        if (nl) {
            *nl = '\0';
            *line = c->in.data + c->in_off;
            *len = (size_t)(nl - *line);
            c->in_off = (size_t)(nl - c->in.data) + 1;
            return 1;
        }
        /* no full line left: drop what was consumed before reading more */
        if (c->in_off > 0) {
            memmove(c->in.data, c->in.data + c->in_off, c->in.len - c->in_off);
            c->in.len -= c->in_off;
            c->in.data[c->in.len] = '\0';
            c->in_off = 0;
        }
        scanned = c->in.len;
        if (c->in.len > CLIENT_LINE_MAX)
            return err_set(e, E2BIG, "reply line from berthd over %u bytes", CLIENT_LINE_MAX);
        ssize_t n = conn_read(c, chunk, sizeof chunk, e);
        if (n < 0)
            return -1;
        if (n == 0)
            return 0; /* a partial last line counts as a lost connection */
        if (proto_buf_append(&c->in, chunk, (size_t)n) < 0)
            return err_set(e, errno, "buffer reply from berthd");
    }
}

static int read_reply(struct client_conn *c, const char **body, struct err *e)
{
    char *line;
    size_t len;
    int rc = client_read_line(c, &line, &len, e);

    if (rc < 0)
        return -1;
    if (rc == 0)
        return err_set(e, 0, "berthd closed the connection without a reply");
    int code = proto_parse_reply(line, body);
    if (code < 0)
        return err_set(e, 0, "malformed reply from berthd: %.80s", line);
    return code;
}

int client_call(struct client_conn *c, const struct proto_buf *req, int pass_fd, const char **body,
                struct err *e)
{
    return client_call_fds(c, req, &pass_fd, pass_fd >= 0 ? 1 : 0, body, e);
}

int client_call_fds(struct client_conn *c, const struct proto_buf *req, const int *fds, int nfds,
                    const char **body, struct err *e)
{
    if (c->fd < 0 && client_connect(c, e) < 0)
        return -1;
    if (client_send_fds(c, req, fds, nfds, e) < 0) {
        /* berthd may have answered (413, 403) and closed before reading all of it */
        struct err ignored = {0};
        int code = (e->code == EPIPE || e->code == ECONNRESET) ? read_reply(c, body, &ignored) : -1;
        return code;
    }
    return read_reply(c, body, e);
}

/* ---- streams ---- */

int client_stream(struct client_conn *c, client_line_fn fn, void *ctx, struct err *e)
{
    for (;;) {
        char *line;
        size_t len;
        const char *msg;
        int rc = client_read_line(c, &line, &len, e);
        if (rc < 0)
            return -1;
        if (rc == 0)
            return err_set(e, 0, "berthd closed the connection in the middle of a stream");
        if (strcmp(line, "end") == 0)
            return 0;
        if (strncmp(line, "err ", 4) == 0 && proto_parse_reply(line, &msg) > 0)
            return err_set(e, 0, "%s", msg);
        rc = fn(ctx, line, len, e);
        if (rc != 0)
            return rc;
    }
}

/* Decode the protocol word W (LEN bytes) into OUT with proto_parse, one slice at a time so a
 * word of any length stays under its CTL_LINE_MAX: slices are cut outside escapes, and re-quoted
 * when they start or end inside quotes. "x --" in front makes the slice a command word, which
 * nothing else can be (not an option even if it holds '='). */
static int decode_word(const char *w, size_t len, struct proto_buf *out, struct err *e)
{
    auto_buf struct proto_buf tmp = {0};
    size_t i = 0;
    int in_q = 0;

    while (i < len) {
        size_t start = i;
        int start_q = in_q;
        while (i < len && i - start < DECODE_SLICE) {
            if (w[i] == '"')
                in_q = !in_q;
            else if (in_q && w[i] == '\\')
                i += (i + 1 < len && w[i + 1] == 'x') ? 3 : 1;
            i++;
        }
        if (i > len)
            i = len; /* a cut escape: proto_parse reports it */
        proto_buf_reset(&tmp);
        if (proto_buf_append(&tmp, "x -- ", 5) < 0 ||
            (start_q && proto_buf_append(&tmp, "\"", 1) < 0) ||
            proto_buf_append(&tmp, w + start, i - start) < 0 ||
            (in_q && proto_buf_append(&tmp, "\"", 1) < 0))
            return err_set(e, errno, "decode stream data");
        struct proto_req req;
        if (proto_parse(tmp.data, tmp.len, &req, e) < 0)
            return err_wrap(e, "malformed stream data from berthd");
        int rc = req.ncmd == 1 ? proto_buf_append(out, req.cmd[0].s, req.cmd[0].len) : -1;
        int saved = errno;
        size_t ncmd = req.ncmd;
        proto_req_free(&req);
        if (rc < 0)
            return ncmd == 1 ? err_set(e, saved, "decode stream data")
                             : err_set(e, 0, "malformed stream data from berthd");
    }
    return 0;
}

int client_split_line(char *line, size_t len, char **head, size_t nhead, struct proto_buf *data,
                      struct err *e)
{
    size_t i = 0;

    for (size_t k = 0; k < nhead; k++) {
        char *sp = memchr(line + i, ' ', len - i);
        if (!sp)
            return err_set(e, 0, "malformed stream line from berthd: %.40s", line);
        *sp = '\0';
        head[k] = line + i;
        i = (size_t)(sp - line) + 1;
    }
    proto_buf_reset(data);
    return decode_word(line + i, len - i, data, e);
}

/* ---- signals ---- */

static void on_signal(int sig)
{
    int saved = errno;
    unsigned char b = (unsigned char)sig;
    ssize_t n = write(sig_pipe[1], &b, 1); /* a full pipe drops the signal: nothing better */
    (void)n;
    errno = saved;
}

int client_forward_signals(struct client_conn *c, const char *target, struct err *e)
{
    static const int sigs[] = {SIGINT, SIGTERM, SIGHUP, SIGUSR1, SIGUSR2, SIGWINCH};
    struct sigaction sa = {.sa_handler = on_signal, .sa_flags = SA_RESTART};

    if (sig_pipe[0] < 0 && pipe2(sig_pipe, O_CLOEXEC | O_NONBLOCK) < 0)
        return err_set(e, errno, "create signal pipe");
    (void)sigemptyset(&sa.sa_mask); /* cannot fail on a valid set */
    for (size_t i = 0; i < ARRAY_LEN(sigs); i++)
        if (sigaction(sigs[i], &sa, NULL) < 0)
            return err_set(e, errno, "catch %s", util_signal_name(sigs[i]));
    c->fwd_target = target;
    return 0;
}

/* ---- attach ---- */

struct attach {
    int status;
    struct proto_buf data;
};

static int on_attach_line(void *ctx, char *line, size_t len, struct err *e)
{
    struct attach *a = ctx;
    char *head[2] = {line, line};

    if (strncmp(line, "out ", 4) == 0) {
        if (client_split_line(line, len, head, 2, &a->data, e) < 0)
            return -1;
        int fd = strcmp(head[1], "2") == 0 ? STDERR_FILENO : STDOUT_FILENO;
        if (a->data.len > 0 && util_write_all(fd, a->data.data, a->data.len, e) < 0)
            return err_wrap(e, "copy container output");
        return 0;
    }
    if (strncmp(line, "exit ", 5) == 0) {
        auto_json cJSON *j = client_json_parse(line + 5, e);
        if (!j)
            return -1;
        double st = client_json_num(j, "StatusCode");
        a->status = st >= 0 && st <= 255 ? (int)st : CLIENT_EXIT_ENGINE;
        if (*client_json_str(j, "Error"))
            client_error("%s", client_json_str(j, "Error"));
        return 1;
    }
    return 0; /* a line this client does not know: a newer berthd */
}

int client_attach(struct client_conn *c)
{
    struct attach a = {.status = -1};
    struct err e = {0};
    int rc = client_stream(c, on_attach_line, &a, &e);

    proto_buf_free(&a.data);
    if (c->io && c->io->detached)
        return 0; /* the detach keys: the container runs on */
    if (c->io)
        client_io_drain(c->io); /* an exec's last output, still in its pty */
    if (rc == 1 && a.status >= 0)
        return a.status;
    if (rc < 0)
        client_error("%s", err_str(&e));
    else
        client_error("the stream from berthd ended before the container exited");
    return CLIENT_EXIT_ENGINE;
}

/* ---- flags ---- */

static int find_long(const struct client_spec *s, const char *name, size_t n)
{
    for (size_t i = 0; i < s->nflags; i++)
        if (strlen(s->flags[i].long_name) == n && strncmp(s->flags[i].long_name, name, n) == 0)
            return (int)i;
    return -1;
}

static int find_short(const struct client_spec *s, char c)
{
    for (size_t i = 0; i < s->nflags; i++)
        if (s->flags[i].short_name == c)
            return (int)i;
    return -1;
}

static void print_usage(const struct client_spec *s)
{
    printf("Usage:  berth %s %s\n", s->name, s->usage);
    if (s->nflags > 0)
        printf("\nOptions:\n");
    for (size_t i = 0; i < s->nflags; i++) {
        const struct client_flag *f = &s->flags[i];
        if (f->short_name)
            printf("  -%c, --%s%s\n", f->short_name, f->long_name, f->takes_value ? " value" : "");
        else
            printf("      --%s%s\n", f->long_name, f->takes_value ? " value" : "");
    }
}

__attribute__((format(printf, 3, 4))) static int
parse_fail(struct client_args *a, const struct client_spec *s, const char *fmt, ...)
{
    va_list ap;
    char msg[512];

    va_start(ap, fmt);
    int n = vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (n < 0)
        msg[0] = '\0'; /* a truncated message still names the problem */
    client_error("%s", msg);
    fprintf(stderr, "See 'berth %s --help'.\n", s->name);
    client_args_free(a);
    return -1;
}

static int add_opt(struct client_args *a, size_t *cap, int flag, const char *val)
{
    if (a->nopts == *cap) {
        size_t ncap = *cap ? *cap * 2 : 16;
        struct client_opt *p = reallocarray(a->opts, ncap, sizeof *p);
        if (!p)
            return -1;
        a->opts = p;
        *cap = ncap;
    }
    a->opts[a->nopts++] = (struct client_opt){.flag = flag, .val = val};
    return 0;
}

/* Go's strconv.ParseBool, as pflag uses for "--flag=VALUE" on booleans. */
static int parse_bool(const char *s)
{
    static const char *const yes[] = {"1", "t", "T", "true", "TRUE", "True"};
    static const char *const no[] = {"0", "f", "F", "false", "FALSE", "False"};
    for (size_t i = 0; i < ARRAY_LEN(yes); i++) {
        if (strcmp(s, yes[i]) == 0)
            return 1;
        if (strcmp(s, no[i]) == 0)
            return 0;
    }
    return -1;
}

static int check_count(struct client_args *a, const struct client_spec *s)
{
    int min = s->min_args, max = s->max_args;

    if (a->npos >= min && (max < 0 || a->npos <= max))
        return 0;
    if (max == 0)
        return parse_fail(a, s, "\"%s\" accepts no arguments", s->name);
    if (min == max)
        return parse_fail(a, s, "\"%s\" requires exactly %d argument%s", s->name, min,
                          min == 1 ? "" : "s");
    if (a->npos < min)
        return parse_fail(a, s, "\"%s\" requires at least %d argument%s", s->name, min,
                          min == 1 ? "" : "s");
    return parse_fail(a, s, "\"%s\" requires at most %d argument%s", s->name, max,
                      max == 1 ? "" : "s");
}

int client_args_parse(struct client_args *a, const struct client_spec *s, int argc, char **argv)
{
    size_t cap = 0;
    int flags_done = 0;

    memset(a, 0, sizeof *a);
    a->pos = calloc((size_t)argc + 1, sizeof *a->pos);
    if (!a->pos)
        return parse_fail(a, s, "out of memory");
    for (int i = 1; i < argc; i++) {
        char *arg = argv[i];
        if (flags_done || arg[0] != '-' || arg[1] == '\0') {
            a->pos[a->npos++] = arg;
            flags_done |= s->stop_at_word;
            continue;
        }
        if (strcmp(arg, "--") == 0) {
            flags_done = 1;
            continue;
        }
        if (arg[1] == '-') {
            const char *name = arg + 2;
            const char *eq = strchr(name, '=');
            size_t n = eq ? (size_t)(eq - name) : strlen(name);
            int f = find_long(s, name, n);
            if (f < 0 && n == 4 && strncmp(name, "help", 4) == 0) {
                print_usage(s);
                client_args_free(a);
                return 1;
            }
            if (f < 0)
                return parse_fail(a, s, "unknown flag: --%.*s", (int)n, name);
            const char *val = eq ? eq + 1 : NULL;
            if (s->flags[f].takes_value && !val) {
                if (i + 1 >= argc)
                    return parse_fail(a, s, "flag needs an argument: --%s", s->flags[f].long_name);
                val = argv[++i];
            }
            if (!s->flags[f].takes_value && val && parse_bool(val) < 0)
                return parse_fail(a, s, "invalid argument \"%s\" for \"--%s\" flag", val,
                                  s->flags[f].long_name);
            if (add_opt(a, &cap, f, val) < 0)
                return parse_fail(a, s, "out of memory");
            continue;
        }
        for (const char *p = arg + 1; *p; p++) {
            int f = find_short(s, *p);
            if (f < 0 && *p == 'h') {
                print_usage(s);
                client_args_free(a);
                return 1;
            }
            if (f < 0)
                return parse_fail(a, s, "unknown shorthand flag: '%c' in %s", *p, arg);
            const char *val = p[1] == '=' ? p + 2 : NULL;
            if (s->flags[f].takes_value && !val && p[1])
                val = p + 1;
            if (s->flags[f].takes_value && !val) {
                if (i + 1 >= argc)
                    return parse_fail(a, s, "flag needs an argument: '%c' in -%c", *p, *p);
                val = argv[++i];
            }
            if (!s->flags[f].takes_value && val && parse_bool(val) < 0)
                return parse_fail(a, s, "invalid argument \"%s\" for \"-%c\" flag", val, *p);
            if (add_opt(a, &cap, f, val) < 0)
                return parse_fail(a, s, "out of memory");
            if (val)
                break;
        }
    }
    return check_count(a, s);
}

void client_args_free(struct client_args *a)
{
    free(a->opts);
    free(a->pos);
    memset(a, 0, sizeof *a);
}

const char *client_args_last(const struct client_args *a, int flag)
{
    const char *val = NULL;
    for (size_t i = 0; i < a->nopts; i++)
        if (a->opts[i].flag == flag)
            val = a->opts[i].val ? a->opts[i].val : "";
    return val;
}

int client_opt_bool(const struct client_opt *o)
{
    return !o->val || parse_bool(o->val) == 1;
}

int client_args_bool(const struct client_args *a, int flag)
{
    int on = 0;
    for (size_t i = 0; i < a->nopts; i++)
        if (a->opts[i].flag == flag)
            on = client_opt_bool(&a->opts[i]);
    return on;
}

int client_put_flags(struct proto_buf *req, const struct client_args *a,
                     const struct client_spec *spec, const char *const *keys)
{
    for (size_t i = 0; i < a->nopts; i++) {
        const struct client_opt *o = &a->opts[i];
        const char *val = spec->flags[o->flag].takes_value ? o->val
                          : client_opt_bool(o)             ? "1"
                                                           : "0";
        if (keys[o->flag] && proto_buf_opt(req, keys[o->flag], val) < 0)
            return -1;
    }
    return 0;
}

int client_format(const char *fmt)
{
    char squeezed[32];
    size_t n = 0;

    if (!fmt || strcmp(fmt, "table") == 0)
        return 0;
    for (; *fmt && n + 1 < sizeof squeezed; fmt++)
        if (*fmt != ' ')
            squeezed[n++] = *fmt;
    squeezed[n] = '\0';
    return strcmp(squeezed, "json") == 0 || strcmp(squeezed, "{{json.}}") == 0 ? 1 : -1;
}

/* ---- multi-name commands ---- */

static int each_send(struct client_conn *c, const struct client_each *s, const char *name,
                     struct err *e)
{
    auto_buf struct proto_buf req = {0};

    /* a word with '=' would be read as an option, and no name or id holds one */
    if (strchr(name, '='))
        return err_set(e, 0, "no such container: %s", name);
    if (proto_buf_word(&req, s->verb) < 0 ||
        proto_buf_append(&req, s->words, strlen(s->words)) < 0 || proto_buf_word(&req, name) < 0)
        return err_set(e, errno, "build request");
    return client_send(c, &req, -1, e);
}

int client_each(const struct client_each *s, char **names, int n)
{
    int failed = 0;

    for (int base = 0; base < n; base += CLIENT_BATCH_MAX) {
        struct client_conn conns[CLIENT_BATCH_MAX];
        struct err errs[CLIENT_BATCH_MAX];
        int sent[CLIENT_BATCH_MAX];
        int m = n - base < CLIENT_BATCH_MAX ? n - base : CLIENT_BATCH_MAX;
        int lost = m; /* from here on berthd could not be reached */

        for (int k = 0; k < m; k++) {
            conns[k] = (struct client_conn)CLIENT_CONN_INIT;
            errs[k] = (struct err){0};
            sent[k] = -1;
            if (lost < m)
                continue;
            if (client_connect(&conns[k], &errs[k]) < 0)
                lost = k;
            else
                sent[k] = each_send(&conns[k], s, names[base + k], &errs[k]);
        }
        for (int k = 0; k < m; k++) {
            const char *body = "";
            int code = k >= lost || sent[k] < 0 ? -1 : read_reply(&conns[k], &body, &errs[k]);
            if (k > lost)
                continue; /* say once that berthd is unreachable */
            if (code == 200 || (code == 304 && s->ok_304)) {
                if (!s->on_ok)
                    printf("%s\n", names[base + k]);
                else if (s->on_ok(s->ctx, names[base + k], body) < 0)
                    failed = 1;
            } else {
                client_error("%s", code < 0 ? errs[k].msg : body);
                failed = 1;
            }
        }
        for (int k = 0; k < m; k++)
            client_close(&conns[k]);
        if (lost < m)
            break;
    }
    return failed;
}

/* ---- tables ---- */

int client_table_row(struct client_table *t, const char *const *cells)
{
    if (t->ncols == 0 || t->ncols > TABLE_COLS)
        return -1;
    if (t->ncells + t->ncols > t->cap) {
        size_t ncap = t->cap ? t->cap * 2 : t->ncols * 16;
        char **p = reallocarray(t->cells, ncap, sizeof *p);
        if (!p)
            return -1;
        t->cells = p;
        t->cap = ncap;
    }
    for (size_t k = 0; k < t->ncols; k++) {
        t->cells[t->ncells + k] = strdup(cells[k] ? cells[k] : "");
        if (!t->cells[t->ncells + k]) {
            while (k-- > 0)
                free(t->cells[t->ncells + k]);
            return -1;
        }
    }
    t->ncells += t->ncols;
    return 0;
}

/* Display width as tabwriter counts it: one per UTF-8 character. */
static size_t text_width(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        n += ((unsigned char)*s & 0xc0) != 0x80;
    return n;
}

void client_table_print(const struct client_table *t, FILE *out)
{
    size_t width[TABLE_COLS] = {0};

    if (t->ncols == 0)
        return;
    for (size_t i = 0; i < t->ncells; i++) {
        size_t col = i % t->ncols;
        size_t w = text_width(t->cells[i]) + TABLE_PAD;
        if (w < TABLE_MINW)
            w = TABLE_MINW;
        if (w > width[col])
            width[col] = w;
    }
    for (size_t i = 0; i < t->ncells; i++) {
        size_t col = i % t->ncols;
        (void)fputs(t->cells[i], out);
        if (col + 1 == t->ncols) {
            (void)fputc('\n', out);
            continue;
        }
        for (size_t w = text_width(t->cells[i]); w < width[col]; w++)
            (void)fputc(' ', out);
    }
}

void client_table_free(struct client_table *t)
{
    for (size_t i = 0; i < t->ncells; i++)
        free(t->cells[i]);
    free(t->cells);
    t->cells = NULL;
    t->ncells = 0;
    t->cap = 0;
}

/* ---- formats ---- */

/* go-units HumanDuration, with " ago"; output that does not fit is cut (buffers are sized). */
void client_human_ago(int64_t since, char *buf, size_t size)
{
    long long s = (long long)(util_now_ns() / 1000000000LL - since);
    long long h = (s + 1800) / 3600; /* Go's d.Round(time.Hour) */

    if (s < 1)
        (void)snprintf(buf, size, "Less than a second ago");
    else if (s == 1)
        (void)snprintf(buf, size, "1 second ago");
    else if (s < 60)
        (void)snprintf(buf, size, "%lld seconds ago", s);
    else if (s / 60 == 1)
        (void)snprintf(buf, size, "About a minute ago");
    else if (s / 60 < 60)
        (void)snprintf(buf, size, "%lld minutes ago", s / 60);
    else if (h == 1)
        (void)snprintf(buf, size, "About an hour ago");
    else if (h < 48)
        (void)snprintf(buf, size, "%lld hours ago", h);
    else if (h < 24 * 7 * 2)
        (void)snprintf(buf, size, "%lld days ago", h / 24);
    else if (h < 24 * 30 * 2)
        (void)snprintf(buf, size, "%lld weeks ago", h / 24 / 7);
    else if (h < 24 * 365 * 2)
        (void)snprintf(buf, size, "%lld months ago", h / 24 / 30);
    else
        (void)snprintf(buf, size, "%lld years ago", s / 3600 / 24 / 365);
}

void client_fmt_created(int64_t sec, char *buf, size_t size)
{
    time_t t = (time_t)sec;
    struct tm tm;

    if (!localtime_r(&t, &tm) || strftime(buf, size, "%Y-%m-%d %H:%M:%S %z %Z", &tm) == 0)
        (void)snprintf(buf, size, "%lld", (long long)sec);
}

void client_human_size(double bytes, char *buf, size_t size)
{
    static const char *const units[] = {"B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB"};
    size_t i = 0;

    while (bytes >= 1000 && i + 1 < ARRAY_LEN(units)) {
        bytes /= 1000;
        i++;
    }
    (void)snprintf(buf, size, "%.3g%s", bytes, units[i]);
}

void client_fmt_time(int64_t ns, char *buf, size_t size)
{
    time_t sec = (time_t)(ns / 1000000000LL);
    long frac = (long)(ns % 1000000000LL);
    struct tm tm;

    if (frac < 0) {
        frac += 1000000000L;
        sec -= 1;
    }
    if (!localtime_r(&sec, &tm)) {
        util_rfc3339(ns, buf, size);
        return;
    }
    int off = (int)(tm.tm_gmtoff / 60) % (24 * 60); /* real offsets are under a day */
    char zone[16] = "Z";
    if (off != 0)
        (void)snprintf(zone, sizeof zone, "%c%02d:%02d", off < 0 ? '-' : '+', abs(off) / 60,
                       abs(off) % 60);
    (void)snprintf(buf, size, "%04d-%02d-%02dT%02d:%02d:%02d.%09ld%s", tm.tm_year + 1900,
                   tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, frac, zone);
}

/* ---- JSON ---- */

cJSON *client_json_parse(const char *s, struct err *e)
{
    cJSON *j = cJSON_ParseWithLength(s, strlen(s));
    if (!j) {
        const char *at = cJSON_GetErrorPtr();
        long off = at && at >= s && at <= s + strlen(s) ? (long)(at - s) : 0;
        err_set(e, EINVAL, "malformed JSON from berthd at byte %ld", off);
    }
    return j;
}

cJSON *client_call_json(struct client_conn *c, const struct proto_buf *req)
{
    return client_call_json_fd(c, req, -1);
}

cJSON *client_call_json_fd(struct client_conn *c, const struct proto_buf *req, int pass_fd)
{
    struct err e = {0};
    const char *body;
    int code = client_call(c, req, pass_fd, &body, &e);
    if (code != 200) {
        client_error("%s", code < 0 ? err_str(&e) : body);
        return NULL;
    }
    cJSON *j = client_json_parse(body, &e);
    if (!j)
        client_error("%s", err_str(&e));
    return j;
}

void client_json_freep(cJSON **j)
{
    cJSON_Delete(*j);
}

const char *client_json_str(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsString(v) && v->valuestring ? v->valuestring : "";
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

size_t client_json_keys(const cJSON *o, const char **keys, size_t max)
{
    const cJSON *m;
    size_t n = 0;

    cJSON_ArrayForEach(m, o)
    {
        if (m->string && n < max)
            keys[n++] = m->string;
    }
    qsort(keys, n, sizeof keys[0], cmp_str);
    return n;
}

double client_json_num(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsNumber(v) ? v->valuedouble : 0;
}
