/* SPDX-License-Identifier: MIT */
/* ctl/proto.h - the wire protocol codec shared by berthd and berth: request tokenizer, word
 * quoting, reply formatting and parsing. Pure: no I/O, no libev, no globals. See PROTOCOL.md. */
#pragma once

#include <stddef.h>

struct err;

/* A growable byte buffer. Zero-initialise; free with proto_buf_free(). Every append fails
 * (returns -1, buffer unchanged) with ENOMEM when it would grow past PROTO_BUF_MAX. */
#define PROTO_BUF_MAX (256u * 1024 * 1024)
struct proto_buf {
    char *data; /* NUL-terminated when non-NULL */
    size_t len;
    size_t cap;
};
void proto_buf_free(struct proto_buf *b);
void proto_buf_reset(struct proto_buf *b); /* len = 0, keeps memory */
int proto_buf_append(struct proto_buf *b, const void *p, size_t n);
int proto_buf_printf(struct proto_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Append S (LEN bytes, may hold any byte) as one protocol word: bare when it is non-empty and
 * holds only printable ASCII other than space, '"', '\\' (bytes >= 0x80 count as printable);
 * otherwise double-quoted with \" \\ \n \t \xHH escapes (HH for every other byte < 0x20 and 0x7f).
 */
int proto_buf_quote(struct proto_buf *b, const char *s, size_t len);
/* Append a space (unless the buffer is empty) then S quoted as above. */
int proto_buf_word(struct proto_buf *b, const char *s);
/* Append " KEY=VALUE" with VALUE quoted as needed (the whole word is quoted when VALUE needs
 * it: KEY="..." is written as "KEY=..."). */
int proto_buf_opt(struct proto_buf *b, const char *key, const char *val);

struct proto_word {
    const char *s; /* NUL-terminated; may hold NULs when decoded from \x00, so use len */
    size_t len;
};
struct proto_opt {
    const char *key;
    const char *val;
    size_t val_len;
};

/* A parsed request line. All strings point into STORE, owned by the request. */
struct proto_req {
    char *store;
    const char *verb;
    struct proto_opt *opts;
    size_t nopts;
    struct proto_word *pos; /* positional words */
    size_t npos;
    struct proto_word *cmd; /* words after "--" */
    size_t ncmd;
    int has_cmd; /* "--" was present */
};

/* Tokenize one request line of LEN bytes (no trailing newline; a trailing '\r' is dropped).
 * Grammar: words separated by runs of spaces/tabs; a word is bare or double-quoted (quotes may
 * also appear inside a word: ab"c d"e is one word "abc de"). Escapes inside quotes: \" \\ \n
 * \t \r \0 \xHH. The first word is the verb ([a-z][a-z0-9_-]*, at most 32 bytes). Following
 * words of the form KEY=VALUE with KEY in [a-z][a-z0-9_]* are options until the first word that
 * is not (or "--"); then positional words; after a bare "--" every word is a command word.
 * Fails with EINVAL (message says why and where) for: an empty line, a bad verb, an
 * unterminated quote, a bad escape, a raw control byte (< 0x20 except tab, or 0x7f), more than
 * CTL_WORDS_MAX words, or LEN > CTL_LINE_MAX. On failure REQ holds nothing to free. */
int proto_parse(const char *line, size_t len, struct proto_req *req, struct err *e);
void proto_req_free(struct proto_req *req);

/* The value of the last option KEY, or NULL. */
const char *proto_opt(const struct proto_req *req, const char *key);
/* Count of options named KEY; stores up to MAX of their values, in order, in OUT. */
size_t proto_opt_all(const struct proto_req *req, const char *key, const char **out, size_t max);

/* Reply lines (each ends with '\n'). JSON may be NULL for a bare "ok". The message of an error
 * has control bytes replaced by spaces so a reply is always one line. */
int proto_reply_ok(struct proto_buf *b, const char *json);
int proto_reply_err(struct proto_buf *b, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Parse a reply line (without '\n'): "ok" -> 200 and *REST = ""; "ok JSON" -> 200 and *REST =
 * the JSON; "err N MSG" -> N and *REST = MSG; anything else -> -1. */
int proto_parse_reply(const char *line, const char **rest);

/* The exit code a client reports for a failed container start, from the error text: 127 when
 * it contains "executable file not found" or "no such file or directory", 126 for "permission
 * denied" or "exec format error", else 125 (always for a requirement's failure, which starts
 * "requirement '"). berthd records the same code in the container. */
int proto_start_exit_code(const char *msg);
