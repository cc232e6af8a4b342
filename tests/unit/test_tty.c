/* SPDX-License-Identifier: MIT */
/* tests/unit/test_tty.c - the client's terminal helpers: Docker's detach keys (parsing and the
 * filter across reads), raw mode and its restore, window sizes on real ptys. */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include "core/err.h"
#include "ctl/tty.h"
#include "tap.h"

static int parse(const char *spec, const char *want, size_t nwant)
{
    unsigned char k[TTY_DETACH_MAX];
    size_t n = 99;
    struct err e = {0};
    if (tty_detach_parse(spec, k, &n, &e) < 0)
        return 0;
    return n == nwant && memcmp(k, want, n) == 0;
}

static int parse_fails(const char *spec, const char *msg_part)
{
    unsigned char k[TTY_DETACH_MAX];
    size_t n;
    struct err e = {0};
    return tty_detach_parse(spec, k, &n, &e) < 0 && strstr(e.msg, msg_part) != NULL;
}

/* Feed the reads of IN (split at '|') through a filter of SPEC; the bytes sent must be OUT and
 * the detach must happen (DETACH) or not. */
static int filter(const char *spec, const char *in, const char *out, int detach)
{
    struct tty_detach d = {0};
    struct err e = {0};
    if (tty_detach_parse(spec, d.keys, &d.n, &e) < 0)
        return 0;
    char sent[256];
    size_t total = 0;
    int got = 0;
    char *copy = strdup(in), *save = NULL;
    for (char *part = strtok_r(copy, "|", &save); part && !got; part = strtok_r(NULL, "|", &save)) {
        unsigned char o[64 + TTY_DETACH_MAX];
        size_t n;
        got = tty_detach_filter(&d, (const unsigned char *)part, strlen(part), o, &n);
        memcpy(sent + total, o, n);
        total += n;
    }
    free(copy);
    return got == detach && total == strlen(out) && memcmp(sent, out, total) == 0;
}

int main(void)
{
    /* parsing, as Docker's term.ToBytes */
    ok(parse(TTY_DETACH_DEFAULT, "\x10\x11", 2), "default: ctrl-p,ctrl-q");
    ok(parse("ctrl-a,x", "\x01x", 2), "a control key and a plain one");
    ok(parse("ctrl-@,ctrl-[,ctrl-\\,ctrl-],ctrl-^,ctrl-_", "\x00\x1b\x1c\x1d\x1e\x1f", 6),
       "the punctuation control keys");
    ok(parse("ctrl-z", "\x1a", 1), "ctrl-z");
    ok(parse_fails(",", "unknown key"), "a lone comma is an empty key (refused, as Docker)");
    ok(parse("", "", 0), "empty: no detach keys");
    ok(parse_fails("ctrl-1", "unknown key 'ctrl-1'"), "ctrl-1 is refused");
    ok(parse_fails("ctrl-A", "unknown key"), "upper-case ctrl-A is refused (as Docker)");
    ok(parse_fails("abc", "unknown key 'abc'"), "a word is refused");
    ok(parse_fails("a,", "empty key"), "a trailing comma is refused");
    ok(parse_fails("a,b,c,d,e,f,g,h,i,j,k,l,m,n,o,p,q", "at most 16"), "17 keys are refused");
    ok(parse("a,b,c,d,e,f,g,h,i,j,k,l,m,n,o,p", "abcdefghijklmnop", 16), "16 keys are fine");

    /* the filter */
    ok(filter("ctrl-p,ctrl-q", "ls\r", "ls\r", 0), "ordinary typing passes");
    ok(filter("ctrl-p,ctrl-q", "ab\x10\x11zz", "ab", 1),
       "the sequence detaches; what follows is dropped");
    ok(filter("ctrl-p,ctrl-q", "ab\x10|\x11", "ab", 1), "a sequence split across reads");
    ok(filter("ctrl-p,ctrl-q", "\x10|x", "\x10x", 0),
       "a started sequence that fails is given back");
    ok(filter("ctrl-p,ctrl-q", "\x10\x10\x11", "\x10", 1),
       "a repeated first key: the first goes out, the sequence still detaches");
    ok(filter("x", "abxcd", "ab", 1), "a single key");
    ok(filter("", "\x10\x11", "\x10\x11", 0), "no keys: never detaches");
    ok(filter("a,b,c", "aXabXabc", "aXabX", 1), "partial matches of a longer sequence");

    /* raw mode and sizes on a real pty pair */
    int m = posix_openpt(O_RDWR | O_NOCTTY);
    int ok_pty = m >= 0 && grantpt(m) == 0 && unlockpt(m) == 0;
    int s = ok_pty ? open(ptsname(m), O_RDWR | O_NOCTTY) : -1;
    ok(s >= 0, "a pty pair to test on");
    if (s >= 0) {
        struct termios before, raw, after;
        struct err e = {0};
        tcgetattr(s, &before);
        ok(tty_raw(s, &e) == 0, "raw mode on a terminal");
        tcgetattr(s, &raw);
        ok(!(raw.c_lflag & (ICANON | ECHO | ISIG)) && !(raw.c_iflag & ICRNL),
           "raw: no line editing, echo, signals or CR translation");
        tty_restore();
        tcgetattr(s, &after);
        ok(after.c_lflag == before.c_lflag && after.c_iflag == before.c_iflag,
           "tty_restore puts the old mode back");
        struct err e2 = {0};
        ok(tty_raw(STDIN_FILENO, &e2) < 0 || isatty(STDIN_FILENO), "a non-terminal is refused");
        tty_restore();

        char word[32];
        struct winsize ws = {.ws_row = 33, .ws_col = 111};
        ioctl(s, TIOCSWINSZ, &ws);
        ok(tty_size_word(s, word, sizeof word) == 0 && strcmp(word, "33x111") == 0,
           "the size as ROWSxCOLS (%s)", word);
        int m2 = posix_openpt(O_RDWR | O_NOCTTY);
        if (m2 >= 0 && grantpt(m2) == 0 && unlockpt(m2) == 0) {
            tty_copy_size(s, m2);
            struct winsize got = {0};
            ioctl(m2, TIOCGWINSZ, &got);
            ok(got.ws_row == 33 && got.ws_col == 111, "tty_copy_size resizes another pty");
            close(m2);
        }
        int devnull = open("/dev/null", O_RDONLY);
        ok(tty_size_word(devnull, word, sizeof word) < 0, "no size for a non-terminal");
        close(devnull);
        close(s);
    }
    if (m >= 0)
        close(m);
    return done();
}
