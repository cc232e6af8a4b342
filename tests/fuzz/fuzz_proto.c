/* SPDX-License-Identifier: MIT */
/* tests/fuzz/fuzz_proto.c - libFuzzer target for ctl/proto: the request tokenizer (with a
 * re-quote round-trip), the reply parser, reply formatting and word quoting. Aborts on any
 * broken invariant. */
#include "ctl/proto.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/limits.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int cond)
{
    if (!cond)
        abort();
}

static int same_word(const struct proto_word *a, const struct proto_word *b)
{
    return a->len == b->len && memcmp(a->s, b->s, a->len) == 0 && a->s[a->len] == '\0';
}

/* Append one positional or command word. A positional "--" must stay quoted, or it would
 * become the separator. */
static int put_word(struct proto_buf *b, const struct proto_word *w, int positional)
{
    if (proto_buf_append(b, " ", 1) < 0)
        return -1;
    if (positional && w->len == 2 && memcmp(w->s, "--", 2) == 0)
        return proto_buf_append(b, "\"--\"", 4);
    return proto_buf_quote(b, w->s, w->len);
}

/* Rebuild REQ as a line: verb, options as quoted KEY=VALUE words, positionals, "--", cmd. */
static int rebuild(const struct proto_req *req, struct proto_buf *out)
{
    struct proto_buf kv = {0};
    int rc = proto_buf_quote(out, req->verb, strlen(req->verb));

    for (size_t i = 0; rc == 0 && i < req->nopts; i++) {
        const struct proto_opt *o = &req->opts[i];
        proto_buf_reset(&kv);
        rc = proto_buf_append(&kv, o->key, strlen(o->key));
        if (rc == 0)
            rc = proto_buf_append(&kv, "=", 1);
        if (rc == 0)
            rc = proto_buf_append(&kv, o->val, o->val_len);
        if (rc == 0)
            rc = proto_buf_append(out, " ", 1);
        if (rc == 0)
            rc = proto_buf_quote(out, kv.data, kv.len);
    }
    for (size_t i = 0; rc == 0 && i < req->npos; i++)
        rc = put_word(out, &req->pos[i], 1);
    if (rc == 0 && req->has_cmd)
        rc = proto_buf_append(out, " --", 3);
    for (size_t i = 0; rc == 0 && i < req->ncmd; i++)
        rc = put_word(out, &req->cmd[i], 0);
    proto_buf_free(&kv);
    return rc;
}

static void check_same(const struct proto_req *a, const struct proto_req *b)
{
    check(strcmp(a->verb, b->verb) == 0);
    check(a->nopts == b->nopts && a->npos == b->npos && a->ncmd == b->ncmd);
    check(a->has_cmd == b->has_cmd);
    for (size_t i = 0; i < a->nopts; i++) {
        check(strcmp(a->opts[i].key, b->opts[i].key) == 0);
        check(a->opts[i].val_len == b->opts[i].val_len);
        check(memcmp(a->opts[i].val, b->opts[i].val, a->opts[i].val_len) == 0);
        check(b->opts[i].val[b->opts[i].val_len] == '\0');
    }
    for (size_t i = 0; i < a->npos; i++)
        check(same_word(&a->pos[i], &b->pos[i]));
    for (size_t i = 0; i < a->ncmd; i++)
        check(same_word(&a->cmd[i], &b->cmd[i]));
}

static void fuzz_request(const char *line, size_t size)
{
    struct proto_req req, again;
    struct proto_buf b = {0};
    struct err e = {0};

    if (proto_parse(line, size, &req, &e) < 0) {
        check(req.store == NULL && e.msg[0] != '\0' && strchr(e.msg, '\n') == NULL);
        return;
    }
    check(req.verb && req.verb[0] >= 'a' && req.verb[0] <= 'z');
    check(req.nopts + req.npos + req.ncmd + 1 + (size_t)req.has_cmd <= CTL_WORDS_MAX);
    check(rebuild(&req, &b) == 0);
    check(memchr(b.data, '\n', b.len) == NULL);
    /* quoting may expand a word up to 4 times: such a line is legitimately too long */
    if (b.len <= CTL_LINE_MAX) {
        if (proto_parse(b.data, b.len, &again, &e) < 0)
            abort();
        check_same(&req, &again);
        proto_req_free(&again);
    }
    proto_buf_free(&b);
    proto_req_free(&req);
}

/* The whole input as one word: quote it, parse it back as a command word. */
static void fuzz_quote(const char *s, size_t size)
{
    struct proto_buf b = {0};
    struct proto_req req;
    struct err e = {0};

    check(proto_buf_append(&b, "x -- ", 5) == 0);
    check(proto_buf_quote(&b, s, size) == 0);
    check(memchr(b.data, '\n', b.len) == NULL && strlen(b.data) == b.len);
    if (b.len <= CTL_LINE_MAX) {
        if (proto_parse(b.data, b.len, &req, &e) < 0)
            abort();
        check(req.ncmd == 1 && req.cmd[0].len == size && memcmp(req.cmd[0].s, s, size) == 0);
        proto_req_free(&req);
    }
    proto_buf_free(&b);
}

static void fuzz_reply(const char *line)
{
    struct proto_buf b = {0};
    const char *rest = NULL;
    int code = proto_parse_reply(line, &rest);

    check(rest != NULL);
    check(code == -1 || code == 200 || (code >= 100 && code <= 999));
    if (code != -1)
        check(rest >= line && rest <= line + strlen(line));
    (void)proto_start_exit_code(line); /* any text maps to some code; only memory safety here */

    /* an error reply with this text as message is one line that parses back */
    check(proto_reply_err(&b, 400, "%s", line) == 0);
    check(b.len > 0 && b.data[b.len - 1] == '\n' && memchr(b.data, '\n', b.len - 1) == NULL);
    b.data[--b.len] = '\0';
    check(proto_parse_reply(b.data, &rest) == 400);
    check(strlen(rest) == strlen(line));
    for (size_t i = 0; line[i]; i++) {
        unsigned char c = (unsigned char)line[i];
        check((unsigned char)rest[i] == ((c < 0x20 || c == 0x7f) ? ' ' : c));
    }
    proto_buf_free(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *copy = malloc(size + 1);
    if (!copy)
        return 0;
    memcpy(copy, data, size);
    copy[size] = '\0';

    fuzz_request((const char *)data, size); /* the exact-size input catches overreads */
    fuzz_quote(copy, size);
    fuzz_reply(copy);
    free(copy);
    return 0;
}
