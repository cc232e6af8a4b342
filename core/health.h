/* SPDX-License-Identifier: MIT */
/* core/health.h - health checks and readiness (DESIGN §13): the health settings of a
 * container (parsed, validated, merged with the image's Healthcheck, serialised), the check
 * runs (an exec in the running container, one at a time, on a per-container ev_timer), the
 * status state machine (starting -> healthy / unhealthy), the action on unhealthy, and the
 * per-container NOTIFY_SOCKET whose READY=1 counts like a passing check. Runs on the loop and
 * never blocks: a check's output is read from a non-blocking pipe, its exit comes through the
 * reaper (health_reaped). Stopping a container never waits for a check: it is killed. */
#pragma once

#include <ev.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/ctr.h"
#include "core/limits.h"

struct sv;
struct err;
struct cJSON;

/* Where the readiness socket appears inside a container, and its name in the container's
 * directory under the root. */
#define HEALTH_NOTIFY_PATH "/run/berth/notify.sock"
#define HEALTH_NOTIFY_FILE "notify.sock"

enum health_status { HEALTH_NONE, HEALTH_STARTING, HEALTH_HEALTHY, HEALTH_UNHEALTHY };

struct health_result {
    int64_t start_ns, end_ns;
    int exit_code; /* -1: the check did not finish (timeout, exec failure) */
    char *output;  /* at most HEALTH_OUTPUT_MAX bytes */
};

/* Runtime health of one container (not in the snapshot: it restarts as `starting`). */
struct health {
    struct ctr *c;
    enum health_status status;
    int streak;                               /* consecutive failures that counted */
    struct health_result log[HEALTH_LOG_MAX]; /* oldest first */
    int nlog;
    ev_timer tick_w;    /* the next check */
    ev_timer timeout_w; /* the check in flight takes too long */
    pid_t pid;          /* the check in flight (berthd's child), 0 when none */
    int discard;        /* its container stopped: its result no longer counts */
    int timed_out;
    int out_fd;    /* read end of its stdout+stderr pipe */
    int report_fd; /* spawn_exec's report socket, read when it is reaped */
    ev_io out_w;
    char out[HEALTH_OUTPUT_MAX];
    size_t out_len;
    int64_t check_start_ns;
    int notify_fd; /* the readiness socket of the current run, -1 when none */
    ev_io notify_w;
};

/* ---- settings (pure) ---- */

/* Docker's Healthcheck.Test from a JSON array text: ["CMD", "prog", args...],
 * ["CMD-SHELL", "command"] or ["NONE"]. *OUT gets a NULL-terminated copy. EINVAL with a
 * message for anything else. */
int health_parse_test(const char *json, char ***out, struct err *e);
/* The same from a parsed array. */
int health_test_from_json(const struct cJSON *arr, char ***out, struct err *e);
/* A duration key (health_interval...): util_parse_duration_ms syntax, "0" = default. */
int health_parse_duration(const char *s, int64_t *ms, struct err *e);
/* none|restart|kill|stop */
int health_parse_on_failure(const char *s, enum ctr_on_failure *out, struct err *e);
const char *health_on_failure_name(enum ctr_on_failure a);
/* container|ignore */
int health_parse_sdnotify(const char *s, int *out, struct err *e);

/* Fill the fields of H still unset (NULL test, 0 durations and retries) from an image's
 * Healthcheck object (JSON text, durations in ns as in Docker's image config). */
int health_merge_image(struct ctr_health *h, const char *image_json, struct err *e);

/* Whether H runs checks (a test other than NONE). */
int health_has_test(const struct ctr_health *h);
/* Whether a container with H has a health status at all (a test, or sdnotify). */
int health_watched(const struct ctr_health *h);

/* The effective values (defaults applied). */
int64_t health_interval_ms(const struct ctr_health *h);
int64_t health_timeout_ms(const struct ctr_health *h);
int64_t health_start_interval_ms(const struct ctr_health *h);
int health_retries(const struct ctr_health *h);

/* Snapshot form {"Test":[...],"IntervalMs",...,"OnFailure","SdNotify"} (NULL for defaults
 * only: nothing to write) and back (a missing object leaves H zeroed). */
struct cJSON *health_config_json(const struct ctr_health *h);
int health_config_from_json(const struct cJSON *j, struct ctr_health *h, struct err *e);
/* Docker's Config.Healthcheck of inspect (durations in ns, unset ones omitted), or NULL. */
struct cJSON *health_docker_json(const struct ctr_health *h);
void health_config_free(struct ctr_health *h);

/* The status state machine (pure): the status after a check result OK (1 passed) at a time
 * that is IN_START_PERIOD or not, updating *STREAK. Failures during the start period do not
 * count while the status is still `starting`; RETRIES consecutive counted failures make it
 * `unhealthy`; any success makes it `healthy`. */
enum health_status health_next(enum health_status st, int *streak, int ok, int in_start_period,
                               int retries);
const char *health_status_name(enum health_status st);
/* Go's time.Duration.String() of MS ("30s", "500ms", "1m0s", "1.5s"). */
void health_go_duration(int64_t ms, char *buf, size_t size);

/* ---- runtime (on the loop) ---- */

/* Before the clone: the readiness socket of this run (sdnotify), bound at
 * <container dir>/notify.sock. -1 with E when it cannot be made (the start fails). */
int health_prestart(struct ctr *c, struct err *e);
/* The container runs (started, or re-adopted): status `starting`, checks scheduled. */
void health_started(struct ctr *c);
/* A stop began: no more checks, the one in flight is killed. */
void health_stopping(struct ctr *c);
/* The run ended (or its start failed): checks and the readiness socket go away; the status and
 * its log stay for inspect. */
void health_exited(struct ctr *c);
/* C is freed. */
void health_free(struct ctr *c);

/* The reaper routes exits here: 1 when PID was a health check's. */
int health_reaped(struct sv *sv, pid_t pid, int status);

/* C's status (HEALTH_NONE without checks or readiness, or before its first start). */
enum health_status health_status_of(const struct ctr *c);
/* State.Health of inspect ({"Status","FailingStreak","Log":[...]}), or NULL when none. */
struct cJSON *health_state_json(const struct ctr *c);
