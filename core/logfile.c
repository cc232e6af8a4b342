/* SPDX-License-Identifier: MIT */
/* core/logfile.c - container output: FIFOs read on the loop (non-blocking), lines written to a
 * size-rotated file as protocol lines, and readers for `logs`. File writes go to the local
 * disk in small appends (no fsync): bounded work on the loop. */
#include "core/logfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/err.h"
#include "core/log.h"
#include "core/util.h"
#include "ctl/proto.h"

#define LOG_NAME "container.log"

int logfile_init(struct logfile *lf, const char *dir, long long max_size, int max_file,
                 struct err *e)
{
    memset(lf, 0, sizeof *lf);
    lf->fifo_fd[0] = lf->fifo_fd[1] = -1;
    lf->file_fd = -1;
    lf->max_size = max_size > 0 ? max_size : LOG_SIZE_DEFAULT;
    lf->max_file = max_file > 0 ? max_file : LOG_FILES_DEFAULT;
    lf->dir = strdup(dir);
    if (!lf->dir)
        return err_set(e, ENOMEM, "log of '%s'", dir);
    return 0;
}

void logfile_free(struct logfile *lf, struct ev_loop *loop)
{
    logfile_close(lf, loop);
    free(lf->dir);
    lf->dir = NULL;
}

int logfile_make_fifos(const char *dir, struct err *e)
{
    static const char *const names[] = {"stdout.fifo", "stderr.fifo"};
    for (int i = 0; i < 2; i++) {
        char p[PATH_MAX_BERTH];
        if (util_fmt(p, sizeof p, e, "%s/%s", dir, names[i]) < 0)
            return -1;
        if (mkfifo(p, 0600) < 0 && errno != EEXIST)
            return err_set(e, errno, "mkfifo '%s'", p);
    }
    return 0;
}

static int log_path(const struct logfile *lf, int n, char *buf, size_t size, struct err *e)
{
    if (n == 0)
        return util_fmt(buf, size, e, "%s/" LOG_NAME, lf->dir);
    return util_fmt(buf, size, e, "%s/" LOG_NAME ".%d", lf->dir, n);
}

static int open_log(struct logfile *lf, struct err *e)
{
    char p[PATH_MAX_BERTH];
    if (log_path(lf, 0, p, sizeof p, e) < 0)
        return -1;
    lf->file_fd = open(p, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
    if (lf->file_fd < 0)
        return err_set(e, errno, "open log '%s'", p);
    struct stat st;
    lf->size = fstat(lf->file_fd, &st) == 0 ? st.st_size : 0;
    return 0;
}

static int rotate(struct logfile *lf, struct err *e)
{
    char from[PATH_MAX_BERTH], to[PATH_MAX_BERTH];
    util_closep(&lf->file_fd);
    lf->file_fd = -1;
    if (lf->max_file <= 1) {
        if (log_path(lf, 0, from, sizeof from, e) < 0)
            return -1;
        if (truncate(from, 0) < 0 && errno != ENOENT)
            return err_set(e, errno, "truncate log '%s'", from);
        return open_log(lf, e);
    }
    for (int n = lf->max_file - 1; n >= 1; n--) {
        if (log_path(lf, n - 1, from, sizeof from, e) < 0 || log_path(lf, n, to, sizeof to, e) < 0)
            return -1;
        if (rename(from, to) < 0 && errno != ENOENT)
            return err_set(e, errno, "rotate log '%s'", from);
    }
    return open_log(lf, e);
}

static void write_line(struct logfile *lf, int stream, const char *data, size_t len)
{
    struct proto_buf b = {0};
    char ts[64];
    struct err e = {0};

    util_rfc3339(util_now_ns(), ts, sizeof ts);
    if (proto_buf_printf(&b, "log %s %s ", stream == 1 ? "stdout" : "stderr", ts) < 0 ||
        proto_buf_quote(&b, data, len) < 0 || proto_buf_append(&b, "\n", 1) < 0) {
        log_msg(LOG_ERROR, "log line for '%s': out of memory", lf->dir);
        proto_buf_free(&b);
        return;
    }
    if (lf->file_fd < 0 && open_log(lf, &e) < 0)
        log_err(&e, "container log");
    else if (lf->size > 0 && lf->size + (long long)b.len > lf->max_size && rotate(lf, &e) < 0)
        log_err(&e, "container log");
    if (lf->file_fd >= 0) {
        if (util_write_all(lf->file_fd, b.data, b.len, &e) < 0)
            log_err(&e, "write container log in '%s'", lf->dir);
        else
            lf->size += (long long)b.len;
    }
    if (lf->on_line)
        lf->on_line(lf, b.data, b.len);
    proto_buf_free(&b);
}

static void consume(struct logfile *lf, int stream, const char *buf, size_t len)
{
    int i = stream - 1;
    if (lf->on_output)
        lf->on_output(lf, stream, buf, len);
    while (len > 0) {
        const char *nl = memchr(buf, '\n', len);
        size_t take = nl ? (size_t)(nl - buf) + 1 : len;
        if (lf->partial_len[i] == 0 && (nl || take >= LOG_LINE_MAX)) {
            /* whole lines straight from the read buffer: no copy, no per-container buffer */
            size_t n = take < LOG_LINE_MAX ? take : LOG_LINE_MAX;
            write_line(lf, stream, buf, n);
            buf += n;
            len -= n;
            continue;
        }
        if (!lf->partial[i] && !(lf->partial[i] = malloc(LOG_LINE_MAX))) {
            write_line(lf, stream, buf, take); /* no memory to wait for the line's end */
            buf += take;
            len -= take;
            continue;
        }
        size_t room = LOG_LINE_MAX - lf->partial_len[i];
        if (take > room)
            take = room;
        memcpy(lf->partial[i] + lf->partial_len[i], buf, take);
        lf->partial_len[i] += take;
        buf += take;
        len -= take;
        if (lf->partial[i][lf->partial_len[i] - 1] == '\n' || lf->partial_len[i] == LOG_LINE_MAX) {
            write_line(lf, stream, lf->partial[i], lf->partial_len[i]);
            lf->partial_len[i] = 0;
            free(lf->partial[i]);
            lf->partial[i] = NULL;
        }
    }
}

/* Returns 1 at EOF or error (the FIFO is closed then), 0 at EAGAIN. */
static int drain(struct logfile *lf, struct ev_loop *loop, int i, int force)
{
    char buf[65536];
    for (int rounds = 0; rounds < 16 && (force || !lf->paused); rounds++) {
        ssize_t n = read(lf->fifo_fd[i], buf, sizeof buf);
        if (n > 0) {
            consume(lf, i + 1, buf, (size_t)n);
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN)
            return 0;
        /* EOF: every writer is gone */
        ev_io_stop(loop, &lf->fifo_w[i]);
        util_closep(&lf->fifo_fd[i]);
        lf->fifo_fd[i] = -1;
        return 1;
    }
    return 0; /* fairness: come back on the next loop iteration */
}

static void on_fifo_readable(struct ev_loop *loop, ev_io *w, int revents)
{
    struct logfile *lf = w->data;
    (void)revents;
    (void)drain(lf, loop, w == &lf->fifo_w[0] ? 0 : 1, 0);
}

static void watch(struct logfile *lf, struct ev_loop *loop, int i)
{
    ev_io_init(&lf->fifo_w[i], on_fifo_readable, lf->fifo_fd[i], EV_READ);
    lf->fifo_w[i].data = lf;
    if (!lf->paused)
        ev_io_start(loop, &lf->fifo_w[i]);
}

void logfile_set_pty(struct logfile *lf, struct ev_loop *loop, int fd)
{
    if (lf->fifo_fd[0] >= 0) {
        ev_io_stop(loop, &lf->fifo_w[0]);
        util_closep(&lf->fifo_fd[0]);
    }
    (void)fcntl(fd, F_SETFL, O_NONBLOCK); /* cannot fail on a pty master */
    lf->fifo_fd[0] = fd;
    lf->pty = 1;
    watch(lf, loop, 0);
}

int logfile_pty(const struct logfile *lf)
{
    return lf->pty ? lf->fifo_fd[0] : -1;
}

int logfile_attach(struct logfile *lf, struct ev_loop *loop, struct err *e)
{
    static const char *const names[] = {"stdout.fifo", "stderr.fifo"};
    for (int i = 0; i < 2; i++) {
        char p[PATH_MAX_BERTH];
        if (lf->fifo_fd[i] >= 0)
            continue;
        if (util_fmt(p, sizeof p, e, "%s/%s", lf->dir, names[i]) < 0)
            return -1;
        lf->fifo_fd[i] = open(p, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
        if (lf->fifo_fd[i] < 0)
            return err_set(e, errno, "open '%s'", p);
        watch(lf, loop, i);
    }
    if (lf->file_fd < 0 && open_log(lf, e) < 0)
        return -1;
    return 0;
}

void logfile_detach(struct logfile *lf, struct ev_loop *loop)
{
    for (int i = 0; i < 2; i++) {
        if (i == 0)
            lf->pty = 0;
        if (lf->fifo_fd[i] >= 0) {
            /* the processes are gone: what they wrote is in the pipe buffer */
            for (int k = 0; k < 64 && lf->fifo_fd[i] >= 0; k++)
                if (drain(lf, loop, i, 1) == 0)
                    break;
            if (lf->fifo_fd[i] >= 0) {
                ev_io_stop(loop, &lf->fifo_w[i]);
                util_closep(&lf->fifo_fd[i]);
                lf->fifo_fd[i] = -1;
            }
        }
        if (lf->partial_len[i] > 0) {
            write_line(lf, i + 1, lf->partial[i], lf->partial_len[i]);
            lf->partial_len[i] = 0;
        }
        free(lf->partial[i]);
        lf->partial[i] = NULL;
    }
}

void logfile_close(struct logfile *lf, struct ev_loop *loop)
{
    logfile_detach(lf, loop);
    util_closep(&lf->file_fd);
    lf->file_fd = -1;
}

void logfile_pause(struct logfile *lf, struct ev_loop *loop)
{
    if (lf->paused++ > 0)
        return;
    for (int i = 0; i < 2; i++)
        ev_io_stop(loop, &lf->fifo_w[i]);
}

void logfile_resume(struct logfile *lf, struct ev_loop *loop)
{
    if (lf->paused == 0 || --lf->paused > 0)
        return;
    for (int i = 0; i < 2; i++)
        if (lf->fifo_fd[i] >= 0)
            ev_io_start(loop, &lf->fifo_w[i]);
}

int logfile_line_time(const char *line, size_t len, int64_t *ns)
{
    /* "log stdout TIME ..." */
    char ts[64];
    const char *p = memchr(line, ' ', len);
    if (!p)
        return -1;
    p = memchr(p + 1, ' ', len - (size_t)(p + 1 - line));
    if (!p)
        return -1;
    p++;
    const char *end = memchr(p, ' ', len - (size_t)(p - line));
    if (!end || (size_t)(end - p) >= sizeof ts)
        return -1;
    memcpy(ts, p, (size_t)(end - p));
    ts[end - p] = '\0';
    struct err e;
    return util_parse_time(ts, 0, ns, &e);
}

static int reader_open_next(struct logfile_reader *r, struct err *e)
{
    char p[PATH_MAX_BERTH];
    while (r->nfiles > 0) {
        r->nfiles--;
        int rc = r->nfiles == 0 ? util_fmt(p, sizeof p, e, "%s/" LOG_NAME, r->dir)
                                : util_fmt(p, sizeof p, e, "%s/" LOG_NAME ".%d", r->dir, r->nfiles);
        if (rc < 0)
            return -1;
        r->fd = open(p, O_RDONLY | O_CLOEXEC);
        if (r->fd >= 0)
            return 0;
        if (errno != ENOENT)
            return err_set(e, errno, "open log '%s'", p);
    }
    return 0;
}

static long long count_lines(const char *dir, int nfiles)
{
    long long n = 0;
    char buf[65536], p[PATH_MAX_BERTH];
    for (int f = 0; f < nfiles; f++) {
        if (snprintf(p, sizeof p, f ? "%s/" LOG_NAME ".%d" : "%s/" LOG_NAME, dir, f) >=
            (int)sizeof p)
            continue;
        auto_close int fd = open(p, O_RDONLY | O_CLOEXEC);
        ssize_t got;
        while (fd >= 0 && (got = read(fd, buf, sizeof buf)) > 0)
            for (const char *q = buf; (q = memchr(q, '\n', (size_t)(buf + got - q))); q++)
                n++;
    }
    return n;
}

int logfile_reader_open(struct logfile_reader *r, const struct logfile *lf, long long tail,
                        int64_t since_ns, int64_t until_ns, struct err *e)
{
    memset(r, 0, sizeof *r);
    (void)snprintf(r->dir, sizeof r->dir, "%s", lf->dir);
    r->nfiles = lf->max_file;
    r->fd = -1;
    r->since_ns = since_ns;
    r->until_ns = until_ns;
    if (tail >= 0) {
        long long total = count_lines(lf->dir, lf->max_file);
        r->skip = total > tail ? total - tail : 0;
    }
    return reader_open_next(r, e);
}

int logfile_reader_next(struct logfile_reader *r, struct proto_buf *out, size_t budget,
                        struct err *e)
{
    size_t start = out->len;
    while (!r->done && out->len - start < budget) {
        char *nl = memchr(r->buf, '\n', r->buf_len);
        if (nl) {
            size_t ll = (size_t)(nl - r->buf) + 1;
            int64_t t = 0;
            int keep = r->skip == 0;
            if (r->skip > 0)
                r->skip--;
            if (keep && (r->since_ns || r->until_ns) && logfile_line_time(r->buf, ll, &t) == 0)
                keep = (!r->since_ns || t >= r->since_ns) && (!r->until_ns || t <= r->until_ns);
            if (keep && proto_buf_append(out, r->buf, ll) < 0)
                return err_set(e, ENOMEM, "read logs");
            memmove(r->buf, r->buf + ll, r->buf_len - ll);
            r->buf_len -= ll;
            continue;
        }
        if (r->buf_len == sizeof r->buf)
            r->buf_len = 0; /* a line longer than any we write: corrupt, skip it */
        if (r->fd < 0) {
            r->done = 1;
            break;
        }
        ssize_t n = read(r->fd, r->buf + r->buf_len, sizeof r->buf - r->buf_len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return err_set(e, errno, "read logs of '%s'", r->dir);
        if (n == 0) {
            util_closep(&r->fd);
            r->fd = -1;
            r->buf_len = 0; /* a torn last line (crash mid-write) is dropped */
            if (reader_open_next(r, e) < 0)
                return -1;
            continue;
        }
        r->buf_len += (size_t)n;
    }
    return 0;
}

void logfile_reader_close(struct logfile_reader *r)
{
    util_closep(&r->fd);
    r->fd = -1;
}
