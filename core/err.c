/* SPDX-License-Identifier: MIT */
/* core/err.c - struct err formatting. Pure: no allocation, no I/O. */
#include "core/err.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int err_set(struct err *e, int code, const char *fmt, ...)
{
    int saved = errno;
    va_list ap;

    if (!e)
        return -1;
    e->code = code;
    va_start(ap, fmt);
    int n = vsnprintf(e->msg, sizeof e->msg, fmt, ap);
    va_end(ap);
    if (n < 0)
        e->msg[0] = '\0';
    else if (code != 0 && (size_t)n < sizeof e->msg)
        (void)snprintf(e->msg + n, sizeof e->msg - (size_t)n, ": %s", strerror(code));
    errno = saved;
    return -1;
}

int err_wrap(struct err *e, const char *fmt, ...)
{
    int saved = errno;
    char prefix[ERR_MSG_MAX];
    char old[ERR_MSG_MAX];
    va_list ap;

    if (!e)
        return -1;
    va_start(ap, fmt);
    int n = vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    if (n < 0)
        prefix[0] = '\0';
    memcpy(old, e->msg, sizeof old);
    old[sizeof old - 1] = '\0';
    /* truncation of a long chain is acceptable: the head names the operation */
    size_t pl = strnlen(prefix, sizeof e->msg - 1);
    memcpy(e->msg, prefix, pl);
    size_t at = pl;
    if (at + 2 < sizeof e->msg) {
        e->msg[at++] = ':';
        e->msg[at++] = ' ';
        size_t ol = strnlen(old, sizeof e->msg - 1 - at);
        memcpy(e->msg + at, old, ol);
        at += ol;
    }
    e->msg[at] = '\0';
    errno = saved;
    return -1;
}

const char *err_str(const struct err *e)
{
    return e ? e->msg : "";
}
