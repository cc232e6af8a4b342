/* SPDX-License-Identifier: MIT */
/* ctl/proto.c - the wire protocol codec (see proto.h and PROTOCOL.md): growable buffers, word
 * quoting, the request tokenizer, reply formatting and parsing.
 * Pure: no I/O, no libev, no globals, no logging. Errors via struct err or errno (buffers). */
#include "ctl/proto.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/limits.h"

/* Protocol errors carry EINVAL but no strerror suffix: the message goes on the wire as is. */
#define proto_fail(e, ...) (err_set((e), 0, __VA_ARGS__), (e)->code = EINVAL, -1)

#define VERB_MAX      32
#define BUF_MIN_CAP   64
#define REPLY_CODE_LO 100
#define REPLY_CODE_HI 999

/* ---- buffers ---- */

/* Make room for EXTRA more bytes plus the NUL. Fails with ENOMEM, buffer unchanged. */
static int buf_reserve(struct proto_buf *b, size_t extra)
{
    if (b->len >= PROTO_BUF_MAX || extra > PROTO_BUF_MAX - 1 - b->len) {
        errno = ENOMEM;
        return -1;
    }
    size_t need = b->len + extra + 1;
    if (b->data && need <= b->cap)
        return 0;
    size_t cap = b->cap < BUF_MIN_CAP ? BUF_MIN_CAP : b->cap;
    while (cap < need)
        cap = cap > PROTO_BUF_MAX / 2 ? PROTO_BUF_MAX : cap * 2;
    char *p = realloc(b->data, cap);
    if (!p) {
        errno = ENOMEM;
        return -1;
    }
    if (!b->data)
        p[0] = '\0';
    b->data = p;
    b->cap = cap;
    return 0;
}

/* Roll back to LEN after a failed multi-step append. */
static void buf_truncate(struct proto_buf *b, size_t len)
{
    b->len = len;
    if (b->data)
        b->data[len] = '\0';
}

void proto_buf_free(struct proto_buf *b)
{
    if (!b)
        return;
    free(b->data);
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
}

void proto_buf_reset(struct proto_buf *b)
{
    buf_truncate(b, 0);
}

int proto_buf_append(struct proto_buf *b, const void *p, size_t n)
{
    if (buf_reserve(b, n) < 0)
        return -1;
    if (n > 0)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
    return 0;
}

static int buf_putc(struct proto_buf *b, char c)
{
    return proto_buf_append(b, &c, 1);
}

__attribute__((format(printf, 2, 0))) static int buf_vprintf(struct proto_buf *b, const char *fmt,
                                                             va_list ap)
{
    va_list ap2;
    char *spare = b->data ? b->data + b->len : NULL;
    size_t room = b->data ? b->cap - b->len : 0;

    va_copy(ap2, ap);
    int n = vsnprintf(spare, room, fmt, ap2);
    va_end(ap2);
    if (n < 0) {
        buf_truncate(b, b->len); /* vsnprintf may have clobbered the NUL */
        errno = EINVAL;
        return -1;
    }
    if ((size_t)n < room) {
        b->len += (size_t)n;
        return 0;
    }
    if (buf_reserve(b, (size_t)n) < 0) {
        buf_truncate(b, b->len);
        return -1;
    }
    va_copy(ap2, ap);
    n = vsnprintf(b->data + b->len, b->cap - b->len, fmt, ap2);
    va_end(ap2);
    if (n < 0 || (size_t)n >= b->cap - b->len) {
        buf_truncate(b, b->len);
        errno = EINVAL;
        return -1;
    }
    b->len += (size_t)n;
    return 0;
}

int proto_buf_printf(struct proto_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = buf_vprintf(b, fmt, ap);
    va_end(ap);
    return rc;
}

/* ---- quoting ---- */

static int is_ctl(unsigned char c)
{
    return c < 0x20 || c == 0x7f;
}

static int is_bare(unsigned char c)
{
    return c > 0x20 && c != 0x7f && c != '"' && c != '\\';
}

static int needs_quotes(const char *s, size_t len)
{
    if (len == 0)
        return 1;
    for (size_t i = 0; i < len; i++)
        if (!is_bare((unsigned char)s[i]))
            return 1;
    return 0;
}

/* Bytes the escaped body of S takes between the quotes. */
static size_t escaped_len(const char *s, size_t len)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\' || c == '\n' || c == '\t')
            n += 2;
        else if (is_ctl(c))
            n += 4;
        else
            n += 1;
    }
    return n;
}

/* Write the escaped body of S at the end of B; the caller has reserved escaped_len() bytes. */
static void put_escaped(struct proto_buf *b, const char *s, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    char *o = b->data + b->len;

    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\') {
            *o++ = '\\';
            *o++ = (char)c;
        } else if (c == '\n') {
            *o++ = '\\';
            *o++ = 'n';
        } else if (c == '\t') {
            *o++ = '\\';
            *o++ = 't';
        } else if (is_ctl(c)) {
            *o++ = '\\';
            *o++ = 'x';
            *o++ = hex[c >> 4];
            *o++ = hex[c & 0xf];
        } else {
            *o++ = (char)c;
        }
    }
    b->len = (size_t)(o - b->data);
    b->data[b->len] = '\0';
}

/* Append S as one quoted word, its body preceded by "KEY=" when KEY is non-NULL (a valid key
 * needs no escapes). */
static int put_quoted(struct proto_buf *b, const char *key, size_t klen, const char *s, size_t len)
{
    if (len > PROTO_BUF_MAX || klen > PROTO_BUF_MAX) {
        errno = ENOMEM;
        return -1;
    }
    size_t pre = key ? klen + 1 : 0;
    size_t body = escaped_len(s, len);
    if (body > PROTO_BUF_MAX || pre > PROTO_BUF_MAX - body - 2) {
        errno = ENOMEM;
        return -1;
    }
    if (buf_reserve(b, pre + body + 2) < 0)
        return -1;
    b->data[b->len++] = '"';
    if (key) {
        memcpy(b->data + b->len, key, klen);
        b->len += klen;
        b->data[b->len++] = '=';
    }
    put_escaped(b, s, len);
    b->data[b->len++] = '"';
    b->data[b->len] = '\0';
    return 0;
}

int proto_buf_quote(struct proto_buf *b, const char *s, size_t len)
{
    if (!s && len > 0) {
        errno = EINVAL;
        return -1;
    }
    if (!needs_quotes(s, len))
        return proto_buf_append(b, s, len);
    return put_quoted(b, NULL, 0, s, len);
}

int proto_buf_word(struct proto_buf *b, const char *s)
{
    if (!s) {
        errno = EINVAL;
        return -1;
    }
    size_t len0 = b->len;
    if (b->len > 0 && buf_putc(b, ' ') < 0)
        return -1;
    if (proto_buf_quote(b, s, strlen(s)) < 0) {
        buf_truncate(b, len0);
        return -1;
    }
    return 0;
}

static int is_key_start(unsigned char c)
{
    return c >= 'a' && c <= 'z';
}

static int is_key_char(unsigned char c)
{
    return is_key_start(c) || (c >= '0' && c <= '9') || c == '_';
}

static int valid_key(const char *k, size_t len)
{
    if (len == 0 || !is_key_start((unsigned char)k[0]))
        return 0;
    for (size_t i = 1; i < len; i++)
        if (!is_key_char((unsigned char)k[i]))
            return 0;
    return 1;
}

int proto_buf_opt(struct proto_buf *b, const char *key, const char *val)
{
    if (!key || !val || !valid_key(key, strlen(key))) {
        errno = EINVAL;
        return -1;
    }
    size_t len0 = b->len;
    size_t klen = strlen(key);
    size_t vlen = strlen(val);
    int rc = buf_putc(b, ' ');

    if (rc == 0 && needs_quotes(val, vlen)) {
        rc = put_quoted(b, key, klen, val, vlen);
    } else if (rc == 0) {
        rc = proto_buf_append(b, key, klen);
        if (rc == 0)
            rc = buf_putc(b, '=');
        if (rc == 0)
            rc = proto_buf_append(b, val, vlen);
    }
    if (rc < 0)
        buf_truncate(b, len0);
    return rc;
}

/* ---- request tokenizer ---- */

static int is_space(unsigned char c)
{
    return c == ' ' || c == '\t';
}

static int hex_val(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Decode the word starting at LINE[*POS] (not a space) up to the next unquoted space or the
 * end. When OUT is non-NULL the decoded bytes go there and *OUTLEN gets their count. *BARE is
 * set when the word contained no quote. Advances *POS past the word. */
static int next_word(const char *line, size_t len, size_t *pos, char *out, size_t *outlen,
                     int *bare, struct err *e)
{
    size_t i = *pos;
    size_t n = 0;

    *bare = 1;
    while (i < len && !is_space((unsigned char)line[i])) {
        unsigned char c = (unsigned char)line[i];
        if (c != '"') {
            if (is_ctl(c))
                return proto_fail(e, "control byte 0x%02x at byte %zu", c, i);
            if (out)
                out[n] = (char)c;
            n++;
            i++;
            continue;
        }
        size_t q = i++;
        *bare = 0;
        for (;;) {
            if (i >= len)
                return proto_fail(e, "unterminated quote at byte %zu", q);
            c = (unsigned char)line[i];
            if (c == '"') {
                i++;
                break;
            }
            if (c != '\\') {
                if (c != '\t' && is_ctl(c))
                    return proto_fail(e, "control byte 0x%02x at byte %zu", c, i);
                if (out)
                    out[n] = (char)c;
                n++;
                i++;
                continue;
            }
            if (i + 1 >= len)
                return proto_fail(e, "unterminated quote at byte %zu", q);
            unsigned char x = (unsigned char)line[i + 1];
            int hi, lo;
            char d;
            switch (x) {
            case '"':
            case '\\':
                d = (char)x;
                break;
            case 'n':
                d = '\n';
                break;
            case 't':
                d = '\t';
                break;
            case 'r':
                d = '\r';
                break;
            case '0':
                d = '\0';
                break;
            case 'x':
                hi = i + 2 < len ? hex_val((unsigned char)line[i + 2]) : -1;
                lo = i + 3 < len ? hex_val((unsigned char)line[i + 3]) : -1;
                if (hi < 0 || lo < 0)
                    return proto_fail(e, "bad escape \\x at byte %zu: two hex digits needed", i);
                d = (char)(hi << 4 | lo);
                i += 2;
                break;
            default:
                if (is_ctl(x))
                    return proto_fail(e, "control byte 0x%02x at byte %zu", x, i + 1);
                if (x < 0x80)
                    return proto_fail(e, "bad escape \\%c at byte %zu", x, i);
                return proto_fail(e, "bad escape \\x%02x byte at byte %zu", x, i);
            }
            if (out)
                out[n] = d;
            n++;
            i += 2;
        }
    }
    *pos = i;
    if (outlen)
        *outlen = n;
    return 0;
}

static size_t skip_spaces(const char *line, size_t len, size_t i)
{
    while (i < len && is_space((unsigned char)line[i]))
        i++;
    return i;
}

static int valid_verb(const char *s, size_t len)
{
    if (len == 0 || len > VERB_MAX || s[0] < 'a' || s[0] > 'z')
        return 0;
    for (size_t i = 1; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (!(c >= 'a' && c <= 'z') && !(c >= '0' && c <= '9') && c != '_' && c != '-')
            return 0;
    }
    return 1;
}

static int bad_verb(const char *s, size_t len, size_t at, struct err *e)
{
    const char *why = "must match [a-z][a-z0-9_-]*";
    if (len > VERB_MAX)
        return proto_fail(e, "bad verb at byte %zu: longer than %d bytes", at, VERB_MAX);
    for (size_t i = 0; i < len; i++)
        if (!is_bare((unsigned char)s[i]) || (unsigned char)s[i] >= 0x80)
            return proto_fail(e, "bad verb at byte %zu: %s", at, why);
    return proto_fail(e, "bad verb '%.*s' at byte %zu: %s", (int)len, s, at, why);
}

/* The length of the KEY in an option word "KEY=VALUE", or 0 when S is not one. */
static size_t opt_key_len(const char *s, size_t len)
{
    const char *eq = memchr(s, '=', len);
    if (!eq || !valid_key(s, (size_t)(eq - s)))
        return 0;
    return (size_t)(eq - s);
}

int proto_parse(const char *line, size_t len, struct proto_req *req, struct err *e)
{
    size_t nwords = 0;
    size_t i;
    int bare;

    memset(req, 0, sizeof *req);
    if (len > CTL_LINE_MAX)
        return proto_fail(e, "request line too long: %zu bytes, at most %d", len, CTL_LINE_MAX);
    if (len > 0 && !line)
        return proto_fail(e, "no request line");
    if (len > 0 && line[len - 1] == '\r')
        len--;

    /* pass 1: validate and count, so that one allocation holds everything */
    i = skip_spaces(line, len, 0);
    while (i < len) {
        if (nwords == CTL_WORDS_MAX)
            return proto_fail(e, "too many words at byte %zu: at most %d", i, CTL_WORDS_MAX);
        if (next_word(line, len, &i, NULL, NULL, &bare, e) < 0)
            return -1;
        nwords++;
        i = skip_spaces(line, len, i);
    }
    if (nwords == 0)
        return proto_fail(e, "empty request line");

    /* decoded words never outgrow their source, and each is followed by a separator or the
     * end of the line, which leaves room for its NUL */
    size_t opts_size = nwords * sizeof(struct proto_opt);
    size_t words_size = nwords * sizeof(struct proto_word);
    char *store = malloc(opts_size + words_size + len + 1);
    if (!store)
        return err_set(e, ENOMEM, "parse request of %zu bytes", len);
    struct proto_opt *opts = (struct proto_opt *)(void *)store;
    struct proto_word *words = (struct proto_word *)(void *)(store + opts_size);
    char *out = store + opts_size + words_size;
    size_t nopts = 0, npos = 0, ncmd = 0;
    int has_cmd = 0, in_opts = 1;
    const char *verb = NULL;

    /* pass 2: decode and classify; pass 1 already rejected every error */
    i = skip_spaces(line, len, 0);
    while (i < len) {
        size_t start = i, wlen = 0;
        if (next_word(line, len, &i, out, &wlen, &bare, e) < 0) {
            free(store);
            return -1;
        }
        char *w = out;
        out[wlen] = '\0';
        out += wlen + 1;
        i = skip_spaces(line, len, i);

        if (!verb) {
            verb = w;
            if (!valid_verb(w, wlen)) {
                int rc = bad_verb(w, wlen, start, e); /* W points into STORE */
                free(store);
                return rc;
            }
            continue;
        }
        if (!has_cmd && bare && wlen == 2 && w[0] == '-' && w[1] == '-') {
            has_cmd = 1;
            in_opts = 0;
            continue;
        }
        if (in_opts && !has_cmd) {
            size_t klen = opt_key_len(w, wlen);
            if (klen > 0) {
                w[klen] = '\0';
                opts[nopts].key = w;
                opts[nopts].val = w + klen + 1;
                opts[nopts].val_len = wlen - klen - 1;
                nopts++;
                continue;
            }
            in_opts = 0;
        }
        words[npos + ncmd].s = w;
        words[npos + ncmd].len = wlen;
        if (has_cmd)
            ncmd++;
        else
            npos++;
    }

    req->store = store;
    req->verb = verb;
    req->opts = opts;
    req->nopts = nopts;
    req->pos = words;
    req->npos = npos;
    req->cmd = words + npos;
    req->ncmd = ncmd;
    req->has_cmd = has_cmd;
    return 0;
}

void proto_req_free(struct proto_req *req)
{
    if (!req)
        return;
    free(req->store);
    memset(req, 0, sizeof *req);
}

const char *proto_opt(const struct proto_req *req, const char *key)
{
    const char *val = NULL;
    for (size_t i = 0; i < req->nopts; i++)
        if (strcmp(req->opts[i].key, key) == 0)
            val = req->opts[i].val;
    return val;
}

size_t proto_opt_all(const struct proto_req *req, const char *key, const char **out, size_t max)
{
    size_t n = 0;
    for (size_t i = 0; i < req->nopts; i++) {
        if (strcmp(req->opts[i].key, key) != 0)
            continue;
        if (out && n < max)
            out[n] = req->opts[i].val;
        n++;
    }
    return n;
}

/* ---- replies ---- */

static void flatten(struct proto_buf *b, size_t from)
{
    for (size_t i = from; i < b->len; i++)
        if (is_ctl((unsigned char)b->data[i]))
            b->data[i] = ' ';
}

int proto_reply_ok(struct proto_buf *b, const char *json)
{
    size_t len0 = b->len;
    int rc = proto_buf_append(b, "ok", 2);

    if (rc == 0 && json && json[0]) {
        rc = buf_putc(b, ' ');
        size_t from = b->len;
        if (rc == 0)
            rc = proto_buf_append(b, json, strlen(json));
        /* raw control bytes in JSON can only be whitespace, so spaces keep it equal */
        if (rc == 0)
            flatten(b, from);
    }
    if (rc == 0)
        rc = buf_putc(b, '\n');
    if (rc < 0)
        buf_truncate(b, len0);
    return rc;
}

int proto_reply_err(struct proto_buf *b, int code, const char *fmt, ...)
{
    size_t len0 = b->len;
    va_list ap;

    /* a code the peer could not parse back would turn the reply into garbage */
    if (code < REPLY_CODE_LO || code > REPLY_CODE_HI)
        code = 500;
    int rc = proto_buf_printf(b, "err %d ", code);
    size_t from = b->len;
    if (rc == 0) {
        va_start(ap, fmt);
        rc = buf_vprintf(b, fmt, ap);
        va_end(ap);
    }
    if (rc == 0) {
        flatten(b, from);
        if (b->len == from)
            buf_truncate(b, from - 1);
        rc = buf_putc(b, '\n');
    }
    if (rc < 0)
        buf_truncate(b, len0);
    return rc;
}

int proto_parse_reply(const char *line, const char **rest)
{
    const char *dummy;

    if (!rest)
        rest = &dummy;
    *rest = line ? line : "";
    if (!line)
        return -1;
    if (strncmp(line, "ok", 2) == 0 && (line[2] == '\0' || line[2] == ' ')) {
        *rest = line[2] ? line + 3 : line + 2;
        return 200;
    }
    if (strncmp(line, "err ", 4) != 0)
        return -1;
    const char *d = line + 4;
    int code = 0;
    for (int k = 0; k < 3; k++) {
        if (d[k] < '0' || d[k] > '9')
            return -1;
        code = code * 10 + (d[k] - '0');
    }
    if (code < REPLY_CODE_LO || (d[3] != '\0' && d[3] != ' '))
        return -1;
    *rest = d[3] ? d + 4 : d + 3;
    return code;
}

int proto_start_exit_code(const char *msg)
{
    /* a requirement's failure (--requires) is the engine's, whatever its own error said */
    if (!msg || strncmp(msg, "requirement '", 13) == 0)
        return 125;
    if (strstr(msg, "executable file not found") || strstr(msg, "no such file or directory"))
        return 127;
    if (strstr(msg, "permission denied") || strstr(msg, "exec format error"))
        return 126;
    return 125;
}
