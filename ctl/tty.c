/* SPDX-License-Identifier: MIT */
/* ctl/tty.c - see tty.h. */
#include "ctl/tty.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include "core/err.h"

int tty_detach_parse(const char *spec, unsigned char *keys, size_t *n, struct err *e)
{
    static const char ctrl_ok[] = "@[\\]^_";
    *n = 0;
    for (const char *p = spec; *p;) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (*n == TTY_DETACH_MAX)
            return err_set(e, 0, "invalid detach keys: at most %d keys", TTY_DETACH_MAX);
        if (len == 1) {
            keys[(*n)++] = (unsigned char)p[0];
        } else if (len == 6 && strncmp(p, "ctrl-", 5) == 0 &&
                   ((p[5] >= 'a' && p[5] <= 'z') || strchr(ctrl_ok, p[5]))) {
            keys[(*n)++] = p[5] >= 'a' && p[5] <= 'z' ? (unsigned char)(p[5] - 'a' + 1)
                                                      : (unsigned char)(p[5] - '@');
        } else {
            return err_set(e, 0, "invalid detach keys '%s': unknown key '%.*s'", spec, (int)len, p);
        }
        if (!end)
            break;
        p = end + 1;
        if (!*p)
            return err_set(e, 0, "invalid detach keys '%s': empty key", spec);
    }
    return 0;
}

int tty_detach_filter(struct tty_detach *d, const unsigned char *in, size_t len, unsigned char *out,
                      size_t *out_len)
{
    size_t k = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = in[i];
        if (d->n == 0) {
            out[k++] = ch;
            continue;
        }
        if (ch == d->keys[d->matched]) {
            if (++d->matched == d->n) {
                d->matched = 0;
                *out_len = k;
                return 1;
            }
            continue;
        }
        /* no match: what was held goes out, and this byte may start the sequence anew */
        memcpy(out + k, d->keys, d->matched);
        k += d->matched;
        d->matched = 0;
        if (ch == d->keys[0] && d->n > 1)
            d->matched = 1;
        else if (ch == d->keys[0]) {
            *out_len = k;
            return 1;
        } else
            out[k++] = ch;
    }
    *out_len = k;
    return 0;
}

static struct termios saved;
static int saved_fd = -1;

void tty_restore(void)
{
    if (saved_fd >= 0)
        (void)tcsetattr(saved_fd, TCSADRAIN, &saved); /* at exit: nothing better to do */
    saved_fd = -1;
}

int tty_raw(int fd, struct err *e)
{
    struct termios t;
    if (tcgetattr(fd, &t) < 0)
        return err_set(e, errno, "standard input is not a terminal");
    if (saved_fd < 0) {
        static int registered;
        saved = t;
        saved_fd = fd;
        if (!registered && atexit(tty_restore) == 0)
            registered = 1;
    }
    cfmakeraw(&t);
    if (tcsetattr(fd, TCSADRAIN, &t) < 0)
        return err_set(e, errno, "set the terminal to raw mode");
    return 0;
}

int tty_size_word(int fd, char *buf, size_t size)
{
    struct winsize ws;
    if (ioctl(fd, TIOCGWINSZ, &ws) < 0 || ws.ws_row == 0 || ws.ws_col == 0)
        return -1;
    int n = snprintf(buf, size, "%ux%u", (unsigned)ws.ws_row, (unsigned)ws.ws_col);
    return n > 0 && (size_t)n < size ? 0 : -1;
}

void tty_copy_size(int from, int master)
{
    struct winsize ws;
    if (ioctl(from, TIOCGWINSZ, &ws) == 0 && ws.ws_row && ws.ws_col)
        (void)ioctl(master, TIOCSWINSZ, &ws); /* a gone container: nothing to resize */
}
