/* SPDX-License-Identifier: MIT */
/* ctl/runopt.h - the flags of `berth run` and `berth create` and their one translation into the
 * options of a create/run request (ctl/PROTOCOL.md), shared by the client and by berthd's boot
 * manifest (core/manifest.c), so a flag means the same in both.
 * Library: no libev, no globals, no logging; links only ctl/proto.c, core/err.c, core/util.c
 * and cJSON (never ctl/client.c). The only I/O is reading the files a flag names (--env-file,
 * --security-opt seccomp=FILE) and the process environment (-e K). */
#pragma once

#include <stddef.h>

#include "ctl/flag.h"

struct err;
struct proto_buf;

enum runopt_flag {
    RUNOPT_DETACH, /* client only */
    RUNOPT_INTERACTIVE,
    RUNOPT_TTY,
    RUNOPT_RM,
    RUNOPT_NAME,
    RUNOPT_RESTART,
    RUNOPT_ENV,
    RUNOPT_ENV_FILE,
    RUNOPT_HOSTNAME,
    RUNOPT_USER,
    RUNOPT_WORKDIR,
    RUNOPT_READ_ONLY,
    RUNOPT_NETWORK,
    RUNOPT_PID,
    RUNOPT_DEVICE,
    RUNOPT_GROUP_ADD,
    RUNOPT_REQUIRES,
    RUNOPT_STOP_SIGNAL,
    RUNOPT_STOP_TIMEOUT,
    RUNOPT_LABEL,
    RUNOPT_LOG_OPT,
    RUNOPT_BACKOFF,
    RUNOPT_CAP_ADD,
    RUNOPT_CAP_DROP,
    RUNOPT_PRIVILEGED,
    RUNOPT_SECURITY_OPT,
    RUNOPT_MEMORY,
    RUNOPT_MEMORY_SWAP,
    RUNOPT_PIDS_LIMIT,
    RUNOPT_CPUS,
    RUNOPT_CPU_SHARES,
    RUNOPT_INIT,
    RUNOPT_IP,
    RUNOPT_PUBLISH,
    RUNOPT_DNS,
    RUNOPT_EXPOSE,
    RUNOPT_PUBLISH_ALL,
    RUNOPT_VOLUME,
    RUNOPT_TMPFS,
    RUNOPT_MOUNT,
    RUNOPT_DETACH_KEYS, /* client only */
    RUNOPT_SIG_PROXY,   /* client only */
    RUNOPT_HEALTH_CMD,
    RUNOPT_NO_HEALTHCHECK,
    RUNOPT_HEALTH_INTERVAL,
    RUNOPT_HEALTH_TIMEOUT,
    RUNOPT_HEALTH_RETRIES,
    RUNOPT_HEALTH_START_PERIOD,
    RUNOPT_HEALTH_START_INTERVAL,
    RUNOPT_HEALTH_ON_FAILURE,
    RUNOPT_SDNOTIFY,
    RUNOPT_NFLAGS,
};

/* The flag table, indexed by enum runopt_flag (a struct client_spec's flags). */
extern const struct client_flag runopt_flags[RUNOPT_NFLAGS];

/* The flag whose long name is LONG_NAME ("stop-timeout"), or -1. */
int runopt_find(const char *long_name);
/* 1 for the flags that only steer the client (-d, --detach-keys, --sig-proxy): runopt_put
 * appends nothing for them. */
int runopt_client_only(int flag);
/* 1 for the flags that may be given several times and accumulate (-e, -v, -p, --label, ...);
 * for the others the last occurrence wins. */
int runopt_repeatable(int flag);
/* 1 for the flags whose value is a duration (--health-interval, ...). */
int runopt_duration(int flag);

/* Append to REQ the request options of one occurrence of FLAG with value VAL. For a boolean
 * flag VAL is "1"/"0" (also NULL for "1", and Docker's true/false spellings). Values berthd
 * cannot resolve are resolved here: -e K takes K from this process's environment (nothing when
 * unset), --env-file and --security-opt seccomp=FILE read the file (bounded), sizes become
 * bytes, --restart-backoff milliseconds, --health-cmd S the JSON ["CMD-SHELL",S]. Other values
 * go through as they are for berthd to check. -1 with E on a bad value or a failure. */
int runopt_put(struct proto_buf *req, int flag, const char *val, struct err *e);
/* runopt_put for each of the N occurrences OPTS in order, except that the env files all come
 * first and the -e values last (Docker's order, so -e overrides a file). */
int runopt_put_all(struct proto_buf *req, const struct client_opt *opts, size_t n, struct err *e);
/* Append health_test=JSON: the array [KIND, WORDS...] ("CMD" with a command's words,
 * "CMD-SHELL" with one shell string, "NONE" with none). */
int runopt_put_health_test(struct proto_buf *req, const char *kind, const char *const *words,
                           size_t n, struct err *e);
