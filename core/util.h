/* SPDX-License-Identifier: MIT */
/* core/util.h - small pure helpers shared by every module: cleanup attributes, ownership
 * transfer, bounded file I/O, time formatting, name validation. No libev, no globals. */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <dirent.h>
#include <stdio.h>
#include <sys/types.h>

struct err;

void util_freep(void *p);
void util_closep(const int *fd);
/* sendmsg of LEN bytes of BUF on socket SOCK with FD attached to the first byte (SCM_RIGHTS);
 * FLAGS as for sendmsg. */
ssize_t util_send_fd(int sock, const void *buf, size_t len, int fd, int flags);
/* Free a NULL-terminated array of malloc'd strings (NULL is fine). */
void util_strv_free(char **v);
void util_fclosep(FILE **f);
void util_closedirp(DIR **d);

#define auto_free     __attribute__((cleanup(util_freep)))
#define auto_close    __attribute__((cleanup(util_closep)))
#define auto_fclose   __attribute__((cleanup(util_fclosep)))
#define auto_closedir __attribute__((cleanup(util_closedirp)))
#define take_ptr(p)                                                                                \
    ({                                                                                             \
        __typeof__(*(p)) _v = *(p);                                                                \
        *(p) = NULL;                                                                               \
        _v;                                                                                        \
    })
#define take_fd(p)                                                                                 \
    ({                                                                                             \
        int _v = *(p);                                                                             \
        *(p) = -1;                                                                                 \
        _v;                                                                                        \
    })
#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* Write LEN bytes of BUF to PATH atomically: PATH.tmp, fsync, rename, fsync of the directory.
 * Blocks on the disk: for small files only (snapshot, config). */
int util_write_atomic(const char *path, const void *buf, size_t len, struct err *e);

/* Write all of BUF to FD, retrying on EINTR; on an O_NONBLOCK fd it waits in poll(2) for room,
 * so never call it on the loop with a socket or pipe that may fill. */
int util_write_all(int fd, const void *buf, size_t len, struct err *e);

/* Read all of PATH into a NUL-terminated malloc'd buffer of at most MAX bytes (a larger file
 * fails with EFBIG). *LEN gets the length (may be NULL). Returns NULL on failure. */
char *util_read_file(const char *path, size_t max, size_t *len, struct err *e);
/* util_read_file for a path that must be a regular file: anything else (a FIFO, a device) is
 * refused without blocking, so the loop may read files a client names. */
char *util_read_regular(const char *path, size_t max, size_t *len, struct err *e);

/* mkdir -p with MODE; existing directories are fine. */
int util_mkdir_p(const char *path, mode_t mode, struct err *e);

/* Docker's units.RAMInBytes: "10m", "1.5g", "512k", "100MB", "2MiB" (binary units); -1 when S
 * is not one. */
int util_parse_ram(const char *s, long long *out);

/* FNV-1a, 64 bits, of the string S: short stable names derived from paths. */
uint64_t util_fnv1a64(const char *s);

/* snprintf into BUF that fails with ENAMETOOLONG on truncation. */
int util_fmt(char *buf, size_t size, struct err *e, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Nanoseconds since the epoch (CLOCK_REALTIME) and monotonic milliseconds. */
int64_t util_now_ns(void);
int64_t util_mono_ms(void);

/* Format NS as RFC 3339 with nanoseconds in UTC ("2026-01-02T03:04:05.123456789Z"). */
void util_rfc3339(int64_t ns, char *buf, size_t size);

/* Parse a time for --since/--until: RFC 3339 (with or without fraction, Z or +hh:mm), Unix
 * seconds with an optional fraction, or a relative duration before NOW_NS ("10s", "5m", "2h",
 * "1h30m"). Returns 0 and *OUT in ns, or -1. */
int util_parse_time(const char *s, int64_t now_ns, int64_t *out, struct err *e);

/* Parse a duration such as "10s", "500ms", "1m30s", "2h" or a plain number of seconds into
 * milliseconds. */
int util_parse_duration_ms(const char *s, int64_t *out, struct err *e);

/* Parse a decimal integer in [MIN, MAX]. */
int util_parse_int(const char *s, long long min, long long max, long long *out, struct err *e);

/* Container names: [a-zA-Z0-9][a-zA-Z0-9_.-]*, shorter than CTR_NAME_MAX. */
int util_valid_name(const char *s);

/* Fill BUF (at least 65 bytes) with 64 random hex digits. */
int util_random_hex(char *buf, size_t size, struct err *e);

/* Signal names: "TERM", "SIGTERM", "term" or a number -> signal number, or -1. */
int util_signal_parse(const char *s);
/* "SIGTERM" for 15; a static string, "SIG?" when unknown. */
const char *util_signal_name(int sig);

/* Start time of PID from /proc/PID/stat (field 22), or 0 when the process is gone. */
unsigned long long util_pid_starttime(pid_t pid);
