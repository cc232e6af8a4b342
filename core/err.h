/* SPDX-License-Identifier: MIT */
/* core/err.h - the one error type. Fixed size, never allocates: safe under OOM, after fork(),
 * and writable unchanged through a pipe from a child to its parent. */
#pragma once

#define ERR_MSG_MAX 256

struct err {
    int code;              /* errno value, 0 when none applies */
    char msg[ERR_MSG_MAX]; /* "what failed: context", no newline */
};

/* Set E to CODE and a formatted message; the strerror(CODE) text is appended when CODE != 0.
 * Always returns -1 so callers can `return err_set(...)`. */
int err_set(struct err *e, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Prefix E's message with formatted context ("ctx: old message"). Returns -1. */
int err_wrap(struct err *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The message text of E (never NULL). */
const char *err_str(const struct err *e);
