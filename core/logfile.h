/* SPDX-License-Identifier: MIT */
/* core/logfile.h - a container's output: the stdout/stderr FIFOs berthd reads on the loop,
 * line assembly, the size-rotated log file, and readers for `logs`. File lines are protocol
 * lines already (`log STREAM TIME DATA`), so `logs` copies them without re-encoding. */
#pragma once

#include <ev.h>
#include <stddef.h>
#include <stdint.h>

#include "core/limits.h"

struct err;
struct proto_buf;
struct logfile;

/* Called for each chunk read from a FIFO (STREAM 1 or 2), before it is logged. */
typedef void (*logfile_output_cb)(struct logfile *lf, int stream, const char *buf, size_t len);
/* Called with each encoded log line (newline included) after it was written to the file. */
typedef void (*logfile_line_cb)(struct logfile *lf, const char *line, size_t len);

struct logfile {
    char *dir;      /* malloc'd: memory per container matters */
    int fifo_fd[2]; /* read ends, O_NONBLOCK; -1 when closed */
    ev_io fifo_w[2];
    char *partial[2]; /* LOG_LINE_MAX each, only while a line is incomplete */
    size_t partial_len[2];
    int file_fd;
    long long size;
    long long max_size;
    int max_file;
    int pty;    /* -t: fifo_fd[0] is the container's pty master (stdout and stderr in one) */
    int paused; /* attached clients that asked to hold the output (backpressure) */
    logfile_output_cb on_output;
    logfile_line_cb on_line;
    void *data;
};

/* Init LF for container directory DIR (no fds opened yet). Fails only on ENOMEM. */
int logfile_init(struct logfile *lf, const char *dir, long long max_size, int max_file,
                 struct err *e);
/* Close everything and free what init allocated. */
void logfile_free(struct logfile *lf, struct ev_loop *loop);
/* Create the FIFOs DIR/stdout.fifo, DIR/stderr.fifo (existing ones are kept). */
int logfile_make_fifos(const char *dir, struct err *e);
/* Open the read ends and the log file and start watching (on a start, and on re-adoption). */
int logfile_attach(struct logfile *lf, struct ev_loop *loop, struct err *e);
/* -t: read the pty master FD (taken over) as stdout instead of the stdout FIFO. */
void logfile_set_pty(struct logfile *lf, struct ev_loop *loop, int fd);
/* The pty master while it is open, else -1. */
int logfile_pty(const struct logfile *lf);
/* Read whatever is buffered now, write out partial lines, stop watching and close the fds. */
void logfile_detach(struct logfile *lf, struct ev_loop *loop);
void logfile_close(struct logfile *lf, struct ev_loop *loop);
/* Stop / resume reading the FIFOs (counted): a slow attached client holds the container's
 * output back (it blocks on a full pipe) instead of having it dropped. */
void logfile_pause(struct logfile *lf, struct ev_loop *loop);
void logfile_resume(struct logfile *lf, struct ev_loop *loop);

/* A reader of the log files for `logs`. */
struct logfile_reader {
    char dir[PATH_MAX_BERTH];
    int nfiles; /* files still to read, oldest first: container.log.(nfiles-1) ... container.log */
    int fd;
    char buf[LOG_LINE_MAX * 5];
    size_t buf_len;
    long long skip;             /* lines to skip (tail) */
    int64_t since_ns, until_ns; /* 0 = unbounded */
    int done;
};
/* Open a reader; TAIL < 0 for all lines. */
int logfile_reader_open(struct logfile_reader *r, const struct logfile *lf, long long tail,
                        int64_t since_ns, int64_t until_ns, struct err *e);
/* Append up to about BUDGET bytes of protocol lines to OUT; sets r->done at the end. */
int logfile_reader_next(struct logfile_reader *r, struct proto_buf *out, size_t budget,
                        struct err *e);
void logfile_reader_close(struct logfile_reader *r);
/* Whether a protocol log line passes the reader's time filter (for follow mode). */
int logfile_line_time(const char *line, size_t len, int64_t *ns);
