/* SPDX-License-Identifier: MIT */
/* ctl/client.h - what every berth command shares: the connection to berthd (blocking I/O, one
 * request then its reply or stream), signal forwarding while attached, Docker-style flag
 * parsing, multi-name commands, error printing and Docker's table/time/size formats.
 * The client is an ordinary process: it blocks on the socket. It speaks only the protocol of
 * ctl/PROTOCOL.md through ctl/proto.h. */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "ctl/flag.h"
#include "ctl/proto.h"
#include "ctl/tty.h"

struct err;
struct cJSON;
struct client_conn;

#define CLIENT_VERSION        "0.1.0"
#define CLIENT_SOCKET_DEFAULT "/run/berth/berth.sock"
/* A reply line is never larger than the state it describes, and berthd's state fits in a
 * snapshot: bound what one line may make us buffer by SNAPSHOT_MAX. */
#define CLIENT_LINE_MAX (64u * 1024 * 1024)
/* Requests of one multi-name command in flight at once (one connection each). */
#define CLIENT_BATCH_MAX   64
#define CLIENT_EXIT_FAIL   1   /* ordinary commands */
#define CLIENT_EXIT_ENGINE 125 /* run, create, start -a, exec */

/* The socket path used by every connection: set once by main before any command runs. */
void client_set_socket(const char *path);
const char *client_socket(void);

/* Print "berth: MESSAGE\n" on stderr. */
void client_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* The byte plumbing a client does itself while it reads a stream (attach, run -t, exec -t):
 * its stdin into a pty master or the container's stdin pipe (with Docker's detach keys), an
 * exec's pty output to its stdout, and the window size on SIGWINCH. Every fd is -1 when
 * unused; the fds are the caller's. */
struct client_io {
    int in_fd;    /* copy from here (the client's stdin) ... */
    int to_fd;    /* ... to here (non-blocking) */
    int from_fd;  /* copy from here (an exec's pty master, non-blocking) to stdout */
    int winch_fd; /* the pty master to resize from stdin's terminal */
    struct tty_detach detach;
    int detached; /* the detach keys were typed: the stream stops */
    int hangup;   /* from_fd reported the pty closed */
    unsigned char buf[4096 + TTY_DETACH_MAX];
    size_t len, off; /* stdin bytes not yet written to TO_FD */
};
#define CLIENT_IO_INIT                                                                             \
    {                                                                                              \
        .in_fd = -1, .to_fd = -1, .from_fd = -1, .winch_fd = -1                                    \
    }
/* Set up IO on C after an ok reply: FD (passed with it, or -1) is a pty master (TTY) or the
 * container's stdin pipe. With INTERACTIVE our stdin is copied into it (through DETACH_KEYS,
 * NULL for Docker's default); with FROM_PTY the pty's output comes to our stdout; with TTY and
 * INTERACTIVE our terminal goes raw (restored at exit) and SIGWINCH resizes the pty. Signals
 * go to TARGET (NULL: not forwarded). Takes FD. */
int client_io_begin(struct client_conn *c, struct client_io *io, int fd, int tty, int interactive,
                    int from_pty, const char *detach_keys, const char *target, struct err *e);
/* Copy what FROM_FD has now to stdout (after the stream ended). */
void client_io_drain(struct client_io *io);

/* One connection to berthd. Zero-initialise with CLIENT_CONN_INIT; client_close() frees it. */
struct client_conn {
    int fd;
    const char *fwd_target; /* while forwarding signals: the container they go to (not owned) */
    struct proto_buf in;    /* bytes received and not yet consumed from IN_OFF */
    size_t in_off;
    int rfds[4]; /* fds berthd passed with its replies, not taken yet */
    int nrfds;
    struct client_io *io; /* while reading: plumbing to do meanwhile (not owned) */
};
#define CLIENT_CONN_INIT                                                                           \
    {                                                                                              \
        .fd = -1                                                                                   \
    }
void client_close(struct client_conn *c);
#define auto_conn __attribute__((cleanup(client_close)))
#define auto_buf  __attribute__((cleanup(proto_buf_free)))

/* Connect to the socket (CLOEXEC). The message on failure is "cannot connect to berthd at
 * PATH: <strerror>". Blocks. */
int client_connect(struct client_conn *c, struct err *e);
/* Send REQ (a request without its newline) plus '\n'. When PASS_FD >= 0 it travels as
 * SCM_RIGHTS with the line's first byte (the fd stays the caller's). Blocks. */
int client_send(struct client_conn *c, const struct proto_buf *req, int pass_fd, struct err *e);
/* The same with N (at most 3) fds, in order. */
int client_send_fds(struct client_conn *c, const struct proto_buf *req, const int *fds, int n,
                    struct err *e);
/* The oldest fd berthd passed on C (now the caller's), or -1. */
int client_take_fd(struct client_conn *c);
/* Read the next line: 1 with *LINE (NUL-terminated, without '\n', valid until the next read)
 * and *LEN, 0 at EOF, -1 on error or a line over CLIENT_LINE_MAX. Blocks; while forwarding
 * signals (client_forward_signals) it also forwards those that arrive. */
int client_read_line(struct client_conn *c, char **line, size_t *len, struct err *e);
/* Connect, send REQ and read its reply line: returns the reply code (200 for ok, else the
 * err code) with *BODY = the JSON ("" when none) or the error message, valid until the next
 * read on C; -1 on a transport error or a malformed reply, with E set. */
int client_call(struct client_conn *c, const struct proto_buf *req, int pass_fd, const char **body,
                struct err *e);
/* The same passing NFDS fds. */
int client_call_fds(struct client_conn *c, const struct proto_buf *req, const int *fds, int nfds,
                    const char **body, struct err *e);

/* Read the lines of a stream after its "ok" and pass each to FN until "end". FN returns 0 to
 * go on, 1 to stop early, -1 to fail (after filling E). An "err CODE MSG" line fails with MSG.
 * Returns 0 at "end", 1 when FN stopped, -1 on failure or when the stream ends without "end". */
typedef int (*client_line_fn)(void *ctx, char *line, size_t len, struct err *e);
int client_stream(struct client_conn *c, client_line_fn fn, void *ctx, struct err *e);

/* Split a stream line made of NHEAD bare words (the verb included) and one protocol word of
 * data (any length, binary-safe). HEAD[i] point into LINE (NULs are written into it); the
 * decoded bytes replace DATA's contents. -1 when the line has another shape. */
int client_split_line(char *line, size_t len, char **head, size_t nhead, struct proto_buf *data,
                      struct err *e);

/* From now on, SIGINT SIGTERM SIGHUP SIGUSR1 SIGUSR2 received by the client are sent to
 * TARGET (kept by the caller) as "kill TARGET signal=SIG proxy=1" on a second connection while
 * C's lines are read. Handlers only write to a CLOEXEC self-pipe. With TARGET NULL they are
 * not forwarded: the client restores its terminal and exits 128+N instead. SIGWINCH resizes
 * c->io's pty either way. */
int client_forward_signals(struct client_conn *c, const char *target, struct err *e);

/* Follow an attach stream (after its "ok"): "out 1|2" data goes byte-exactly to stdout or
 * stderr; returns the StatusCode of the "exit" line, or prints an error and returns
 * CLIENT_EXIT_ENGINE when the stream fails or ends without one. */
int client_attach(struct client_conn *c);

/* Docker-style flags: struct client_flag (a table entry per flag; the index is the flag's id)
 * and struct client_opt (one occurrence) are in ctl/flag.h. */
/* A command's grammar. */
struct client_spec {
    const char *name;  /* "run", "image ls": for messages */
    const char *usage; /* "[OPTIONS] IMAGE [COMMAND] [ARG...]" */
    const struct client_flag *flags;
    size_t nflags;
    int stop_at_word; /* flags end at the first non-flag word (run keeps its command's flags) */
    int min_args;
    int max_args; /* -1: no limit */
};
struct client_args {
    struct client_opt *opts; /* in command-line order */
    size_t nopts;
    char **pos; /* the other words, in order */
    int npos;
};
/* Parse ARGV[1..ARGC) (ARGV[0] is the command word) by SPEC: long flags as --name VALUE or
 * --name=VALUE, short ones as -x VALUE, -xVALUE or combined booleans (-dit), "--" ends flags.
 * Returns 0; 1 after printing the usage for --help (exit 0); -1 after printing the error and a
 * hint ("berth: unknown flag: --foo"). Free A with client_args_free() whatever the result. */
int client_args_parse(struct client_args *a, const struct client_spec *spec, int argc, char **argv);
void client_args_free(struct client_args *a);
#define auto_args __attribute__((cleanup(client_args_free)))
/* The last value of FLAG, or NULL when absent. */
const char *client_args_last(const struct client_args *a, int flag);
/* A boolean flag: the last occurrence counts; "--flag=false" or "=0" turns it off. */
int client_args_bool(const struct client_args *a, int flag);
/* The value of one occurrence of a boolean flag. */
int client_opt_bool(const struct client_opt *o);
/* Append " KEY=VALUE" to REQ for each flag of A, in order, that KEYS (indexed by flag, NULL:
 * skip) maps to a request option; booleans send KEY=1 or KEY=0. -1 with errno on failure. */
int client_put_flags(struct proto_buf *req, const struct client_args *a,
                     const struct client_spec *spec, const char *const *keys);
/* What --format FMT asks for: 0 Docker's table (no format or "table"), 1 one JSON object per
 * line ("json" or "{{json .}}"), -1 anything else (unsupported). */
int client_format(const char *fmt);

/* Send "VERB WORDS NAME" for each name (WORDS: encoded words such as " timeout=3" or a
 * sub-verb " rm", or ""), a batch of connections at a time so slow requests overlap, and handle
 * the replies in order. On ok (or 304 when OK_304) ON_OK runs (NULL: print the name as given;
 * it returns -1 after printing an error); an error prints "berth: MSG". Returns 0, or 1 when
 * any name failed. */
struct client_each {
    const char *verb;
    const char *words;
    int ok_304;
    int (*on_ok)(void *ctx, const char *name, const char *body);
    void *ctx;
};
int client_each(const struct client_each *spec, char **names, int n);

/* Docker's tables (tabwriter minwidth 10, padding 3; the last column is not padded). */
struct client_table {
    size_t ncols;
    char **cells;
    size_t ncells;
    size_t cap;
};
int client_table_row(struct client_table *t, const char *const *cells);
void client_table_print(const struct client_table *t, FILE *out);
void client_table_free(struct client_table *t);

/* Docker's go-units wordings for the time since the Unix second SINCE ("5 seconds ago",
 * "About a minute ago", "2 hours ago") and for sizes ("2.1MB": decimal, 3 digits). */
void client_human_ago(int64_t since, char *buf, size_t size);
void client_human_size(double bytes, char *buf, size_t size);
/* The Unix second SEC as Go's time.Time.String() in local time ("2006-01-02 15:04:05 -0700 MST"),
 * as Docker's --format json shows CreatedAt. */
void client_fmt_created(int64_t sec, char *buf, size_t size);
/* NS as RFC 3339 with 9 fraction digits in local time ("Z" when the offset is zero). */
void client_fmt_time(int64_t ns, char *buf, size_t size);

/* cJSON helpers: parse a reply's JSON (E says where it broke); a member's string ("" when
 * absent or not a string) and number (0 when absent). */
struct cJSON *client_json_parse(const char *s, struct err *e);
/* client_call, then its ok body parsed: NULL after printing the error (berthd's refusal, a
 * transport failure or malformed JSON). */
struct cJSON *client_call_json(struct client_conn *c, const struct proto_buf *req);
/* The same, passing PASS_FD (not -1) with the request. */
struct cJSON *client_call_json_fd(struct client_conn *c, const struct proto_buf *req, int pass_fd);
void client_json_freep(struct cJSON **j);
#define auto_json __attribute__((cleanup(client_json_freep)))
const char *client_json_str(const struct cJSON *o, const char *key);
double client_json_num(const struct cJSON *o, const char *key);
/* The member names of object O sorted as Go sorts strings: at most MAX in KEYS; the count. */
size_t client_json_keys(const struct cJSON *o, const char **keys, size_t max);
