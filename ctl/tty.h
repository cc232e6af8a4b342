/* SPDX-License-Identifier: MIT */
/* ctl/tty.h - the client's terminal: raw mode (restored at exit), window sizes, and Docker's
 * detach keys (a key sequence typed into an attached terminal that detaches instead of being
 * sent). Pure parsing and matching are unit-tested. */
#pragma once

#include <stddef.h>

struct err;

#define TTY_DETACH_DEFAULT "ctrl-p,ctrl-q"
#define TTY_DETACH_MAX     16

/* Docker's --detach-keys: comma-separated keys, each one character or "ctrl-X" with X one of
 * a-z @ [ \ ] ^ _ (ctrl-a is 1, ctrl-@ is 0, ctrl-[ is 27 ... ctrl-_ is 31). Fills KEYS (at
 * most TTY_DETACH_MAX) and *N; an empty SPEC gives no keys (detaching off). */
int tty_detach_parse(const char *spec, unsigned char *keys, size_t *n, struct err *e);

/* Matching of the detach sequence across reads. Bytes that might start the sequence are held
 * back; once the match fails they are given back in order, so nothing typed is lost. */
struct tty_detach {
    unsigned char keys[TTY_DETACH_MAX];
    size_t n;       /* 0: never detaches */
    size_t matched; /* keys matched so far (held back) */
};
/* Filter IN (LEN bytes) into OUT (room for LEN + TTY_DETACH_MAX bytes): *OUT_LEN bytes to
 * send. Returns 1 when the whole sequence was typed (what follows it is dropped), else 0. */
int tty_detach_filter(struct tty_detach *d, const unsigned char *in, size_t len, unsigned char *out,
                      size_t *out_len);

/* Put FD (a terminal) in raw mode as Docker does for -it; the first call saves the old mode,
 * which tty_restore() (also run at exit) puts back. -1 with E when FD is no terminal. */
int tty_raw(int fd, struct err *e);
void tty_restore(void);

/* The size of terminal FD as "ROWSxCOLS" in BUF; -1 when FD is no terminal. */
int tty_size_word(int fd, char *buf, size_t size);
/* Give the pty master MASTER the size of terminal FROM (SIGWINCH). */
void tty_copy_size(int from, int master);
