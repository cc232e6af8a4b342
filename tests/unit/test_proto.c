/* SPDX-License-Identifier: MIT */
/* tests/unit/test_proto.c - unit tests of ctl/proto: tokenizer, quoting round-trips, limits,
 * reply formatting and parsing, exit-code mapping, buffer growth. No I/O beyond TAP output. */
#include "ctl/proto.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/limits.h"
#include "tests/unit/tap.h"

static int parse_str(const char *line, struct proto_req *req, struct err *e)
{
    return proto_parse(line, strlen(line), req, e);
}

static int word_is(const struct proto_word *w, const char *s)
{
    return w->len == strlen(s) && memcmp(w->s, s, w->len) == 0 && w->s[w->len] == '\0';
}

/* Parse LINE, expect failure with EINVAL and a message containing WANT. */
static int fails_with(const char *line, size_t len, const char *want)
{
    struct proto_req req;
    struct err e = {0};
    if (proto_parse(line, len, &req, &e) == 0) {
        proto_req_free(&req);
        return 0;
    }
    if (req.store || req.verb || req.nopts || req.npos || req.ncmd)
        return 0;
    if (e.code != EINVAL || !strstr(e.msg, want)) {
        printf("# got code %d msg '%s'\n", e.code, e.msg);
        return 0;
    }
    return 1;
}

static void test_split(void)
{
    struct proto_req req;
    struct err e = {0};

    int rc = parse_str("run name=web image=busybox restart=always env=A=1 env=B=2 web2 x=y -- "
                       "httpd -f -p 80",
                       &req, &e);
    ok(rc == 0, "parse a full run line (%s)", e.msg);
    ok(strcmp(req.verb, "run") == 0, "verb is run");
    ok(req.nopts == 5, "five options (%zu)", req.nopts);
    ok(strcmp(req.opts[0].key, "name") == 0 && strcmp(req.opts[0].val, "web") == 0 &&
           req.opts[0].val_len == 3,
       "first option name=web");
    ok(strcmp(req.opts[3].key, "env") == 0 && strcmp(req.opts[3].val, "A=1") == 0,
       "option value keeps later '=' (env=A=1)");
    ok(req.npos == 2 && word_is(&req.pos[0], "web2") && word_is(&req.pos[1], "x=y"),
       "positionals web2 and x=y (options end at the first positional)");
    ok(req.has_cmd == 1 && req.ncmd == 4, "has_cmd and four command words");
    ok(word_is(&req.cmd[0], "httpd") && word_is(&req.cmd[3], "80"), "command words in order");
    ok(strcmp(proto_opt(&req, "image"), "busybox") == 0, "proto_opt image");
    ok(proto_opt(&req, "nope") == NULL, "proto_opt of a missing key is NULL");

    const char *vals[4] = {0};
    ok(proto_opt_all(&req, "env", vals, 4) == 2 && strcmp(vals[0], "A=1") == 0 &&
           strcmp(vals[1], "B=2") == 0,
       "proto_opt_all env gives both values in order");
    ok(proto_opt_all(&req, "env", vals, 1) == 2 && strcmp(vals[0], "A=1") == 0,
       "proto_opt_all counts past MAX");
    ok(proto_opt_all(&req, "env", NULL, 0) == 2, "proto_opt_all with no output array");
    ok(proto_opt_all(&req, "label", vals, 4) == 0, "proto_opt_all of a missing key is 0");
    proto_req_free(&req);
    ok(req.store == NULL && req.verb == NULL, "proto_req_free clears the request");
    proto_req_free(&req);

    rc = parse_str("stop timeout=1 timeout=5 web", &req, &e);
    ok(rc == 0 && strcmp(proto_opt(&req, "timeout"), "5") == 0, "the last repeated option wins");
    proto_req_free(&req);

    rc = parse_str("  ping\t ", &req, &e);
    ok(rc == 0 && strcmp(req.verb, "ping") == 0 && req.nopts == 0 && req.npos == 0 &&
           req.ncmd == 0 && req.has_cmd == 0,
       "bare verb with surrounding blanks");
    proto_req_free(&req);

    rc = parse_str("ping\r", &req, &e);
    ok(rc == 0 && strcmp(req.verb, "ping") == 0, "a trailing CR is dropped");
    proto_req_free(&req);

    rc = parse_str("run image=x --", &req, &e);
    ok(rc == 0 && req.has_cmd == 1 && req.ncmd == 0 && req.npos == 0, "trailing -- with no cmd");
    proto_req_free(&req);

    rc = parse_str("run -- a=b -- \"--\"", &req, &e);
    ok(rc == 0 && req.nopts == 0 && req.ncmd == 3 && word_is(&req.cmd[0], "a=b") &&
           word_is(&req.cmd[1], "--") && word_is(&req.cmd[2], "--"),
       "after -- every word is a command word");
    proto_req_free(&req);

    rc = parse_str("rm \"--\" x", &req, &e);
    ok(rc == 0 && req.has_cmd == 0 && req.npos == 2 && word_is(&req.pos[0], "--"),
       "a quoted \"--\" is a positional word");
    proto_req_free(&req);

    rc = parse_str("run \"env=A B\" Env=1 k=v", &req, &e);
    ok(rc == 0 && req.nopts == 1 && strcmp(proto_opt(&req, "env"), "A B") == 0 && req.npos == 2 &&
           word_is(&req.pos[0], "Env=1"),
       "quoted option word; an upper-case key is not an option");
    proto_req_free(&req);

    rc = parse_str("x =v k_2= ", &req, &e);
    ok(rc == 0 && req.nopts == 0 && req.npos == 2, "'=v' is not an option and ends options");
    proto_req_free(&req);

    rc = parse_str("x k_2= v", &req, &e);
    ok(rc == 0 && req.nopts == 1 && req.opts[0].val_len == 0 && strcmp(req.opts[0].key, "k_2") == 0,
       "an option may have an empty value");
    proto_req_free(&req);

    rc = parse_str("a-b_c9", &req, &e);
    ok(rc == 0, "verb with - _ and digits");
    proto_req_free(&req);
    rc = parse_str("abcdefghijabcdefghijabcdefghij12", &req, &e);
    ok(rc == 0, "32-byte verb is accepted");
    proto_req_free(&req);
}

static void test_words(void)
{
    struct proto_req req;
    struct err e = {0};

    int rc = parse_str("x ab\"c d\"e \"\" \"a\\\"b\" \"\\\\\" \"\\n\\t\\r\\x41\\x7F\"", &req, &e);
    ok(rc == 0 && req.npos == 5, "embedded quotes and escapes parse (%s)", e.msg);
    ok(word_is(&req.pos[0], "abc de"), "ab\"c d\"e is one word 'abc de'");
    ok(word_is(&req.pos[1], ""), "\"\" is an empty word");
    ok(word_is(&req.pos[2], "a\"b"), "\\\" inside quotes");
    ok(word_is(&req.pos[3], "\\"), "\\\\ inside quotes");
    ok(word_is(&req.pos[4], "\n\t\rA\x7f"), "\\n \\t \\r \\xHH (either case)");
    proto_req_free(&req);

    rc = parse_str("x \"a\\0b\"", &req, &e);
    ok(rc == 0 && req.pos[0].len == 3 && memcmp(req.pos[0].s, "a\0b", 3) == 0,
       "\\0 decodes to a NUL inside the word");
    proto_req_free(&req);

    rc = parse_str("x a\\b \"tab\there\" \xc3\xa9t\xc3\xa9", &req, &e);
    ok(rc == 0 && word_is(&req.pos[0], "a\\b") && word_is(&req.pos[1], "tab\there") &&
           word_is(&req.pos[2], "\xc3\xa9t\xc3\xa9"),
       "bare backslash is literal, raw tab in quotes, UTF-8 bytes");
    proto_req_free(&req);
}

static void test_errors(void)
{
    ok(fails_with("", 0, "empty request line"), "empty line");
    ok(fails_with(" \t ", 3, "empty request line"), "blank line");
    ok(fails_with("\r", 1, "empty request line"), "line of just CR");
    ok(fails_with("Ping", 4, "bad verb 'Ping' at byte 0"), "upper-case verb");
    ok(fails_with("1ping", 5, "bad verb"), "verb starting with a digit");
    ok(fails_with("p.ng", 4, "bad verb"), "verb with a dot");
    ok(fails_with("abcdefghijabcdefghijabcdefghij123", 33, "longer than 32"), "33-byte verb");
    ok(fails_with("image=x ps", 10, "bad verb"), "an option as verb");
    ok(fails_with("x \"abc", 6, "unterminated quote at byte 2"), "unterminated quote");
    ok(fails_with("x \"abc\\\"", 8, "unterminated quote at byte 2"), "escaped closing quote");
    ok(fails_with("x \"abc\\", 7, "unterminated quote"), "backslash at end inside quotes");
    ok(fails_with("x \"a\\qb\"", 8, "bad escape \\q at byte 4"), "bad escape \\q");
    ok(fails_with("x \"\\x4\"", 7, "bad escape \\x at byte 3"), "short \\x escape");
    ok(fails_with("x \"\\xzz\"", 8, "bad escape \\x"), "non-hex \\x escape");
    ok(fails_with("x \"\\x4", 6, "bad escape \\x"), "\\x at the end of the line");
    ok(fails_with("x a\x01"
                  "b",
                  5, "control byte 0x01 at byte 3"),
       "raw control byte bare");
    ok(fails_with("x \"a\nb\"", 7, "control byte 0x0a at byte 4"), "raw newline in quotes");
    ok(fails_with("x a\x7f", 4, "control byte 0x7f at byte 3"), "raw DEL");
    ok(fails_with("x a\0b", 5, "control byte 0x00 at byte 3"), "raw NUL");
    ok(fails_with("x a\rb", 5, "control byte 0x0d"), "CR not at the end");
    ok(fails_with("ping\r\r", 6, "control byte 0x0d at byte 4"), "only one trailing CR dropped");
}

static void test_limits(void)
{
    struct proto_req req;
    struct err e = {0};
    size_t cap = CTL_LINE_MAX + 16;
    char *line = malloc(cap);
    if (!line) {
        ok(0, "malloc");
        return;
    }

    /* verb + (CTL_WORDS_MAX - 1) words, each "a " */
    size_t n = 0;
    memcpy(line, "x", 1);
    n = 1;
    for (int i = 1; i < CTL_WORDS_MAX; i++) {
        line[n++] = ' ';
        line[n++] = 'a';
    }
    int rc = proto_parse(line, n, &req, &e);
    ok(rc == 0 && req.npos == CTL_WORDS_MAX - 1, "exactly CTL_WORDS_MAX words parse");
    proto_req_free(&req);
    line[n++] = ' ';
    line[n++] = 'a';
    ok(fails_with(line, n, "too many words"), "CTL_WORDS_MAX + 1 words fail");

    memset(line, 'a', CTL_LINE_MAX + 1);
    line[0] = 'x';
    line[1] = ' ';
    rc = proto_parse(line, CTL_LINE_MAX, &req, &e);
    ok(rc == 0 && req.npos == 1 && req.pos[0].len == CTL_LINE_MAX - 2,
       "a line of CTL_LINE_MAX bytes parses");
    proto_req_free(&req);
    ok(fails_with(line, CTL_LINE_MAX + 1, "request line too long"), "CTL_LINE_MAX + 1 fails");
    free(line);
}

static void test_quote_roundtrip(void)
{
    struct proto_buf b = {0};
    struct proto_req req;
    struct err e = {0};
    int bad = 0;

    for (int c = 0; c < 256; c++) {
        char s[3] = {'a', (char)c, 'b'};
        /* the byte alone, first, last and in the middle of a word */
        static const size_t span[4][2] = {{1, 1}, {1, 2}, {0, 2}, {0, 3}};
        for (size_t v = 0; v < 4; v++) {
            size_t off = span[v][0], n = span[v][1];
            proto_buf_reset(&b);
            /* "-- " keeps a word such as "a=b" from being read as an option */
            if (proto_buf_append(&b, "x -- ", 5) < 0 || proto_buf_quote(&b, s + off, n) < 0) {
                bad++;
                continue;
            }
            if (proto_parse(b.data, b.len, &req, &e) < 0) {
                printf("# byte %d: %s\n", c, e.msg);
                bad++;
                continue;
            }
            if (req.ncmd != 1 || req.cmd[0].len != n || memcmp(req.cmd[0].s, s + off, n) != 0) {
                printf("# byte %d: mismatch\n", c);
                bad++;
            }
            proto_req_free(&req);
        }
    }
    ok(bad == 0, "every byte value 0..255 survives quote + parse (%d failures)", bad);

    char all[256];
    for (int c = 0; c < 256; c++)
        all[c] = (char)c;
    proto_buf_reset(&b);
    int rc = proto_buf_append(&b, "x ", 2);
    if (rc == 0)
        rc = proto_buf_quote(&b, all, sizeof all);
    ok(rc == 0 && strchr(b.data, '\n') == NULL, "quoted 256-byte word has no raw newline");
    rc = proto_parse(b.data, b.len, &req, &e);
    ok(rc == 0 && req.npos == 1 && req.pos[0].len == 256 && memcmp(req.pos[0].s, all, 256) == 0,
       "all 256 bytes in one word round-trip");
    proto_req_free(&req);

    proto_buf_reset(&b);
    ok(proto_buf_quote(&b, "plain/é:1", strlen("plain/é:1")) == 0 &&
           strcmp(b.data, "plain/é:1") == 0,
       "printable word (with UTF-8) stays bare");
    proto_buf_reset(&b);
    ok(proto_buf_quote(&b, "", 0) == 0 && strcmp(b.data, "\"\"") == 0, "empty word is \"\"");
    proto_buf_reset(&b);
    ok(proto_buf_quote(&b, "a b\"c\\\n\t\r\x01\x7f", 11) == 0 &&
           strcmp(b.data, "\"a b\\\"c\\\\\\n\\t\\x0d\\x01\\x7f\"") == 0,
       "quoting uses \\\" \\\\ \\n \\t and \\xHH (%s)", b.data);

    proto_buf_reset(&b);
    rc = proto_buf_word(&b, "ps");
    if (rc == 0)
        rc = proto_buf_opt(&b, "all", "1");
    if (rc == 0)
        rc = proto_buf_opt(&b, "env", "A=hello world");
    if (rc == 0)
        rc = proto_buf_word(&b, "my name");
    ok(rc == 0 && strcmp(b.data, "ps all=1 \"env=A=hello world\" \"my name\"") == 0,
       "proto_buf_word and proto_buf_opt build a line (%s)", b.data);
    rc = proto_parse(b.data, b.len, &req, &e);
    ok(rc == 0 && strcmp(proto_opt(&req, "env"), "A=hello world") == 0 && req.npos == 1 &&
           word_is(&req.pos[0], "my name"),
       "the built line parses back");
    proto_req_free(&req);

    size_t len0 = b.len;
    errno = 0;
    ok(proto_buf_opt(&b, "Bad", "1") < 0 && errno == EINVAL && b.len == len0,
       "proto_buf_opt refuses an invalid key, buffer unchanged");
    proto_buf_free(&b);
}

static void test_replies(void)
{
    struct proto_buf b = {0};
    const char *rest = NULL;

    ok(proto_reply_ok(&b, NULL) == 0 && strcmp(b.data, "ok\n") == 0, "bare ok");
    proto_buf_reset(&b);
    ok(proto_reply_ok(&b, "{\"a\":1}") == 0 && strcmp(b.data, "ok {\"a\":1}\n") == 0, "ok json");
    proto_buf_reset(&b);
    ok(proto_reply_ok(&b, "{\n\"a\": 1\n}") == 0 && strcmp(b.data, "ok { \"a\": 1 }\n") == 0,
       "pretty JSON is flattened to one line");
    proto_buf_reset(&b);
    ok(proto_reply_err(&b, 404, "no such container: %s", "web") == 0 &&
           strcmp(b.data, "err 404 no such container: web\n") == 0,
       "err reply");
    proto_buf_reset(&b);
    ok(proto_reply_err(&b, 500, "line1\nline2\r\tx\x7f") == 0 &&
           strcmp(b.data, "err 500 line1 line2  x \n") == 0,
       "error message with newline is flattened (%.*s)", (int)b.len - 1, b.data);
    proto_buf_reset(&b);
    ok(proto_reply_err(&b, 42, "odd") == 0 && strcmp(b.data, "err 500 odd\n") == 0,
       "an out-of-range code becomes 500");
    proto_buf_reset(&b);
    ok(proto_reply_ok(&b, NULL) == 0 && proto_reply_err(&b, 409, "x") == 0 &&
           strcmp(b.data, "ok\nerr 409 x\n") == 0,
       "replies append");
    proto_buf_free(&b);

    ok(proto_parse_reply("ok", &rest) == 200 && strcmp(rest, "") == 0, "parse ok");
    ok(proto_parse_reply("ok {\"Id\":\"x\"}", &rest) == 200 && strcmp(rest, "{\"Id\":\"x\"}") == 0,
       "parse ok json");
    ok(proto_parse_reply("err 409 container is running", &rest) == 409 &&
           strcmp(rest, "container is running") == 0,
       "parse err 409 msg");
    ok(proto_parse_reply("err 304", &rest) == 304 && strcmp(rest, "") == 0,
       "parse err without message");
    ok(proto_parse_reply("okay", &rest) == -1, "garbage: okay");
    ok(proto_parse_reply("", &rest) == -1, "garbage: empty");
    ok(proto_parse_reply("err", &rest) == -1, "garbage: err");
    ok(proto_parse_reply("err x12 m", &rest) == -1, "garbage: non-numeric code");
    ok(proto_parse_reply("err 4000 m", &rest) == -1, "garbage: four-digit code");
    ok(proto_parse_reply("err 40", &rest) == -1, "garbage: two-digit code");
    ok(proto_parse_reply("err -40 m", &rest) == -1, "garbage: negative code");
    ok(proto_parse_reply("end", &rest) == -1 && strcmp(rest, "end") == 0,
       "garbage: end, rest is the line");
    ok(proto_parse_reply("ok", NULL) == 200, "REST may be NULL");
}

static void test_exit_codes(void)
{
    ok(proto_start_exit_code("exec \"nope\": executable file not found in $PATH") == 127,
       "executable file not found -> 127");
    ok(proto_start_exit_code("exec /x: no such file or directory") == 127,
       "no such file or directory -> 127");
    ok(proto_start_exit_code("exec /etc: permission denied") == 126, "permission denied -> 126");
    ok(proto_start_exit_code("exec /bin/x: exec format error") == 126, "exec format error -> 126");
    ok(proto_start_exit_code("mount overlay: No such file or directory") == 125,
       "capitalised strerror text -> 125");
    ok(proto_start_exit_code("cgroup: out of memory") == 125, "anything else -> 125");
    ok(proto_start_exit_code("requirement 'db' (started): its start failed: exec \"x\": "
                             "executable file not found in $PATH") == 125,
       "a requirement's failure -> 125, whatever its error said");
    ok(proto_start_exit_code("") == 125 && proto_start_exit_code(NULL) == 125, "empty/NULL -> 125");
}

static void test_buf(void)
{
    struct proto_buf b = {0};
    int grew = 1;

    for (int i = 0; i < 10000; i++) {
        size_t cap0 = b.cap;
        if (proto_buf_printf(&b, "%d,", i % 10) < 0 || b.data[b.len] != '\0') {
            grew = 0;
            break;
        }
        if (b.cap < cap0)
            grew = 0;
    }
    ok(grew && b.len == 20000 && b.cap > b.len, "proto_buf grows over 10000 printfs (%zu/%zu)",
       b.len, b.cap);
    ok(memcmp(b.data, "0,1,2,", 6) == 0 && memcmp(b.data + 19994, "7,8,9,", 6) == 0,
       "grown buffer content intact");
    size_t cap = b.cap;
    proto_buf_reset(&b);
    ok(b.len == 0 && b.cap == cap && b.data && b.data[0] == '\0', "reset keeps the memory");

    char big[1000];
    memset(big, 'q', sizeof big);
    ok(proto_buf_printf(&b, "%.*s!", (int)sizeof big, big) == 0 && b.len == 1001 &&
           b.data[1000] == '!',
       "printf larger than the spare room");

    size_t len0 = b.len;
    errno = 0;
    ok(proto_buf_append(&b, big, PROTO_BUF_MAX) < 0 && errno == ENOMEM && b.len == len0 &&
           b.data[len0] == '\0',
       "append past PROTO_BUF_MAX fails with ENOMEM, buffer unchanged");
    errno = 0;
    ok(proto_buf_append(&b, big, (size_t)-1) < 0 && errno == ENOMEM && b.len == len0,
       "append of SIZE_MAX bytes fails without overflow");
    ok(proto_buf_append(&b, "", 0) == 0 && b.len == len0, "empty append is fine");
    proto_buf_free(&b);
    ok(b.data == NULL && b.len == 0 && b.cap == 0, "proto_buf_free clears");

    struct proto_buf z = {0};
    ok(proto_buf_append(&z, "", 0) == 0 && z.data && z.data[0] == '\0',
       "empty append to a zero buffer leaves it NUL-terminated");
    proto_buf_free(&z);
    proto_buf_free(&z);
}

int main(void)
{
    test_split();
    test_words();
    test_errors();
    test_limits();
    test_quote_roundtrip();
    test_replies();
    test_exit_codes();
    test_buf();
    return done();
}
