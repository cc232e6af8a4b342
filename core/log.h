/* SPDX-License-Identifier: MIT */
/* core/log.h - berthd's own log on stderr (the console in PID 1 mode). Only core/ logs. */
#pragma once

struct err;

enum log_level { LOG_ERROR, LOG_WARN, LOG_INFO, LOG_DEBUG };

/* Parse "error|warn|info|debug"; -1 when unknown. */
int log_parse_level(const char *s);
void log_set_level(enum log_level lvl);
/* Log one line "berthd: LEVEL: message" when LVL is enabled. Keeps errno. */
void log_msg(enum log_level lvl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Log E's message at error level with a context prefix, once, where the error is handled. */
void log_err(const struct err *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
