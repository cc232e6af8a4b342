/* SPDX-License-Identifier: MIT */
/* core/log.c - berthd's log lines on stderr. Never blocks for long: stderr is a console, a
 * terminal or a journal pipe; lines are short and written with one write(2). */
#include "core/log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "core/err.h"

static enum log_level cur_level = LOG_INFO;
static const char *const names[] = {"error", "warn", "info", "debug"};

int log_parse_level(const char *s)
{
    for (int i = 0; i < 4; i++)
        if (s && strcasecmp(s, names[i]) == 0)
            return i;
    return -1;
}

void log_set_level(enum log_level lvl)
{
    cur_level = lvl;
}

__attribute__((format(printf, 3, 0))) static void emit(enum log_level lvl, const char *prefix,
                                                       const char *fmt, va_list ap)
{
    char line[1024];
    int n = snprintf(line, sizeof line, "berthd: %s: %s", names[lvl], prefix ? prefix : "");
    if (n < 0)
        return;
    if ((size_t)n < sizeof line) {
        int m = vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
        if (m > 0)
            n += m;
    }
    if ((size_t)n >= sizeof line - 1)
        n = (int)sizeof line - 2;
    line[n++] = '\n';
    (void)!write(STDERR_FILENO, line, (size_t)n); /* nowhere to report a failed log write */
}

void log_msg(enum log_level lvl, const char *fmt, ...)
{
    int saved = errno;
    if (lvl <= cur_level) {
        va_list ap;
        va_start(ap, fmt);
        emit(lvl, NULL, fmt, ap);
        va_end(ap);
    }
    errno = saved;
}

void log_err(const struct err *e, const char *fmt, ...)
{
    int saved = errno;
    char ctx[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(ctx, sizeof ctx, fmt, ap);
    va_end(ap);
    if (n < 0)
        ctx[0] = '\0';
    log_msg(LOG_ERROR, "%s: %s", ctx, err_str(e));
    errno = saved;
}
