/* SPDX-License-Identifier: MIT */
/* core/server.h - the control socket: accepting clients, reading request lines (with passed
 * fds), dispatching verbs, holding replies until the snapshot is committed, streams (attach,
 * logs -f, events, wait) and dropping clients that flood or stop reading. */
#pragma once

#include <ev.h>
#include <stddef.h>
#include <stdint.h>

#include "core/limits.h"
#include "core/logfile.h"
#include "ctl/proto.h"

struct sv;
struct ctr;
struct event;
struct err;
struct cJSON;

enum client_op {
    OP_NONE,    /* idle: reading the next request */
    OP_START,   /* start/run: reply when the exec succeeded or failed */
    OP_STOP,    /* reply when the container is down */
    OP_RESTART, /* reply when the container runs again */
    OP_RM,      /* reply when removed */
    OP_WAIT,    /* reply with the exit code */
    OP_ATTACH,  /* stream output until exit */
    OP_LOGS,    /* stream the log files, then follow */
    OP_EVENTS,  /* stream events */
    OP_HELPER,  /* a helper job (image import or load, export, diff): reply when it ends */
    OP_EXEC,    /* an exec session: reply when it runs, then its exit code */
};

struct client {
    struct client *next;
    struct sv *sv;
    int fd;
    ev_io rw, ww;
    char *in; /* grows to CTL_LINE_MAX */
    size_t in_len;
    size_t in_cap;
    int fds[CTL_FDS_MAX * 4]; /* fds received and not claimed yet */
    int nfds;
    struct proto_buf out;
    size_t out_off;
    int out_fd; /* an fd to pass with the byte at OUT_FD_AT (SCM_RIGHTS), or -1 */
    size_t out_fd_at;
    int closing;    /* close once the output is written */
    int eof;        /* the peer shut down its writing side */
    int in_process; /* inside process_input(): no re-entry */
    int dead;       /* freed in the sweep */
    int queued;     /* on the flush list */
    struct client *flush_next;

    enum client_op op;
    struct ctr *op_ctr;
    int op_attach;                /* OP_START/OP_RESTART: continue as an attach stream */
    struct exec_session *op_exec; /* OP_EXEC */
    int wait_removed;             /* OP_WAIT condition=removed */
    int wait_healthy;             /* OP_WAIT condition=healthy */
    int wait_running;             /* OP_WAIT condition=running */
    struct logfile_reader *logs;
    int logs_follow;
    int logs_streams; /* bit 1 stdout, bit 2 stderr */
    int64_t until_ns;
    ev_timer until_w;
    char **filters;
    size_t nfilters;
    struct ctr *throttling; /* this client holds that container's output back */
    ev_timer stall_w;       /* ... for at most CTL_STALL_SECONDS */
    struct proto_buf early; /* attach output that arrived before the start was confirmed */
    int exit_code;          /* attach to an auto-remove container: sent at removal */
    char exit_error[256];
};

int server_listen(struct sv *sv, struct err *e);
/* A connection to ourselves: the server's end becomes a client like an accepted one; returns
 * the other end (non-blocking), for berthd's own conversations (the boot manifest), or -1. */
int server_loopback(struct sv *sv, struct err *e);
void server_close_all(struct sv *sv);

/* Release held output: called by the prepare watcher after the snapshot was written. */
void server_flush(struct sv *sv);

/* Container notifications, routed to the clients waiting on them. */
/* NOTE_HEALTH: its health status changed; NOTE_DOWN: it exited and no restart follows. */
enum server_note {
    NOTE_STARTED,
    NOTE_START_FAILED,
    NOTE_EXITED,
    NOTE_REMOVED,
    NOTE_HEALTH,
    NOTE_DOWN
};
void server_ctr_note(struct sv *sv, struct ctr *c, enum server_note note);
/* Output of C (STREAM 1/2) for attached clients and log followers. LINE is the encoded log line
 * (for logs -f) or NULL. */
void server_ctr_output(struct sv *sv, struct ctr *c, int stream, const char *buf, size_t len);
void server_ctr_logline(struct sv *sv, struct ctr *c, const char *line, size_t len);
void server_event(struct sv *sv, const struct event *ev);

/* Free clients marked dead (ev_check sweep). */
void server_sweep(struct sv *sv);

/* Replies (held until the next commit, see sv.c). A client whose queued output would pass
 * CTL_OUT_MAX is dropped. */
void client_send(struct client *cl, const char *data, size_t len);
/* Pass FD (taken over) with the next byte queued: send the reply right after. One at a time:
 * while one waits, another is closed (and 0 returned). Returns 1 when queued. */
int client_send_fd(struct client *cl, int fd);
void client_reply_ok(struct client *cl, const char *json);
void client_reply_json(struct client *cl, struct cJSON *json); /* takes JSON */
void client_reply_err(struct client *cl, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* `wait`'s reply for C once it is down: {"StatusCode":N,"Error":".."}, plus "State" when STATE
 * is not NULL. */
void client_reply_exit(struct client *cl, const struct ctr *c, const char *state);
/* `wait condition=healthy`'s 409 for C down before it became healthy (a failed start too):
 * its exit code and its error, when any. */
void client_reply_not_healthy(struct client *cl, const struct ctr *c);
/* Finish a stream with "end" and go back to reading requests. */
void client_end_stream(struct client *cl);
/* Take a received fd (the oldest), or -1. */
int client_take_fd(struct client *cl);
/* Go back to reading requests (after a delayed reply was sent). */
void client_op_done(struct client *cl);
/* Produce more log lines for a `logs` stream. */
void client_logs_pump(struct client *cl);
