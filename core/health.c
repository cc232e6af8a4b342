/* SPDX-License-Identifier: MIT */
/* core/health.c - health checks and readiness (see health.h). Owns each container's health
 * timers, the check process in flight (its output pipe and report socket) and the readiness
 * socket; must not block: checks run through spawn_exec (the child does the work), their
 * output and readiness datagrams are read non-blocking and bounded, and a check's exit comes
 * from the one reaper. */
#include "core/health.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "core/ctr.h"
#include "core/err.h"
#include "core/events.h"
#include "core/log.h"
#include "core/server.h"
#include "core/spawn.h"
#include "core/sv.h"
#include "core/util.h"

/* ---- settings ---- */

int health_test_from_json(const cJSON *arr, char ***out, struct err *e)
{
    *out = NULL;
    if (!cJSON_IsArray(arr))
        return err_set(e, EINVAL,
                       "invalid health test: a JSON array of strings such as "
                       "[\"CMD-SHELL\",\"curl -f http://localhost/\"]");
    int n = cJSON_GetArraySize(arr);
    if (n == 0)
        return 0;
    if (n > CTR_ARGS_MAX)
        return err_set(e, E2BIG, "invalid health test: more than %d words", CTR_ARGS_MAX);
    const cJSON *it;
    cJSON_ArrayForEach(it, arr)
    {
        if (!cJSON_IsString(it) || strlen(it->valuestring) >= CTR_STR_MAX)
            return err_set(e, EINVAL, "invalid health test: every word must be a string");
    }
    const char *kind = cJSON_GetArrayItem(arr, 0)->valuestring;
    if (strcmp(kind, "NONE") == 0) {
        if (n != 1)
            return err_set(e, EINVAL, "invalid health test: NONE takes no arguments");
    } else if (strcmp(kind, "CMD") == 0) {
        if (n < 2 || !cJSON_GetArrayItem(arr, 1)->valuestring[0])
            return err_set(e, EINVAL, "invalid health test: CMD needs a command");
    } else if (strcmp(kind, "CMD-SHELL") == 0) {
        if (n != 2 || !cJSON_GetArrayItem(arr, 1)->valuestring[0])
            return err_set(e, EINVAL, "invalid health test: CMD-SHELL takes one command string");
    } else {
        return err_set(e, EINVAL, "invalid health test type '%s': CMD, CMD-SHELL or NONE", kind);
    }
    char **v = calloc((size_t)n + 1, sizeof *v);
    if (!v)
        return err_set(e, ENOMEM, "health test");
    int i = 0;
    cJSON_ArrayForEach(it, arr)
    {
        if (!(v[i++] = strdup(it->valuestring))) {
            util_strv_free(v);
            return err_set(e, ENOMEM, "health test");
        }
    }
    *out = v;
    return 0;
}

int health_parse_test(const char *json, char ***out, struct err *e)
{
    *out = NULL;
    size_t len = strlen(json);
    if (len > CTL_LINE_MAX)
        return err_set(e, E2BIG, "invalid health test: too long");
    cJSON *j = cJSON_ParseWithLength(json, len);
    if (!j)
        return err_set(e, EINVAL,
                       "invalid health test '%s': not JSON (want e.g. [\"CMD\",\"/bin/check\"])",
                       json);
    int rc = health_test_from_json(j, out, e);
    cJSON_Delete(j);
    if (rc == 0 && !*out)
        return err_set(e, EINVAL, "invalid health test: empty");
    return rc;
}

int health_parse_duration(const char *s, int64_t *ms, struct err *e)
{
    if (util_parse_duration_ms(s, ms, e) < 0)
        return -1;
    if (*ms > HEALTH_DURATION_MAX_MS)
        return err_set(e, ERANGE, "invalid duration '%s': at most a year", s);
    return 0;
}

static const char *const on_failure_names[] = {
    [CTR_ON_FAILURE_NONE] = "none",
    [CTR_ON_FAILURE_RESTART] = "restart",
    [CTR_ON_FAILURE_KILL] = "kill",
    [CTR_ON_FAILURE_STOP] = "stop",
};

const char *health_on_failure_name(enum ctr_on_failure a)
{
    return (unsigned)a < ARRAY_LEN(on_failure_names) ? on_failure_names[a] : "none";
}

int health_parse_on_failure(const char *s, enum ctr_on_failure *out, struct err *e)
{
    for (size_t i = 0; s && i < ARRAY_LEN(on_failure_names); i++)
        if (strcmp(s, on_failure_names[i]) == 0) {
            *out = (enum ctr_on_failure)i;
            return 0;
        }
    return err_set(e, EINVAL, "invalid health on-failure action '%s': none, restart, kill or stop",
                   s ? s : "");
}

int health_parse_sdnotify(const char *s, int *out, struct err *e)
{
    if (s && strcmp(s, "container") == 0)
        *out = 1;
    else if (s && strcmp(s, "ignore") == 0)
        *out = 0;
    else
        return err_set(e, EINVAL, "invalid sdnotify mode '%s': container or ignore", s ? s : "");
    return 0;
}

/* A duration in ns of an image's config, as ms. */
static int image_ns(const cJSON *o, const char *k, int64_t *ms, struct err *e)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    if (!v || cJSON_IsNull(v))
        return 0;
    if (!cJSON_IsNumber(v) || v->valuedouble < 0 ||
        v->valuedouble > (double)HEALTH_DURATION_MAX_MS * 1e6)
        return err_set(e, EINVAL, "Healthcheck: '%s' must be a duration in nanoseconds", k);
    if (*ms == 0)
        *ms = (int64_t)(v->valuedouble / 1e6);
    return 0;
}

int health_merge_image(struct ctr_health *h, const char *image_json, struct err *e)
{
    if (!image_json)
        return 0;
    cJSON *o = cJSON_Parse(image_json);
    if (!cJSON_IsObject(o)) {
        cJSON_Delete(o);
        return err_set(e, EINVAL, "Healthcheck is not a JSON object");
    }
    int rc = 0;
    const cJSON *test = cJSON_GetObjectItemCaseSensitive(o, "Test");
    if (!h->test && test && !cJSON_IsNull(test))
        rc = health_test_from_json(test, &h->test, e);
    if (rc == 0)
        rc = image_ns(o, "Interval", &h->interval_ms, e);
    if (rc == 0)
        rc = image_ns(o, "Timeout", &h->timeout_ms, e);
    if (rc == 0)
        rc = image_ns(o, "StartPeriod", &h->start_period_ms, e);
    if (rc == 0)
        rc = image_ns(o, "StartInterval", &h->start_interval_ms, e);
    const cJSON *r = cJSON_GetObjectItemCaseSensitive(o, "Retries");
    if (rc == 0 && r && !cJSON_IsNull(r)) {
        if (!cJSON_IsNumber(r) || r->valuedouble < 0 || r->valuedouble > 1e6)
            rc = err_set(e, EINVAL, "Healthcheck: 'Retries' must be a count");
        else if (h->retries == 0)
            h->retries = (int)r->valuedouble;
    }
    cJSON_Delete(o);
    return rc;
}

int health_has_test(const struct ctr_health *h)
{
    return h->test && h->test[0] && strcmp(h->test[0], "NONE") != 0;
}

int health_watched(const struct ctr_health *h)
{
    return health_has_test(h) || h->sdnotify;
}

int64_t health_interval_ms(const struct ctr_health *h)
{
    return h->interval_ms > 0 ? h->interval_ms : HEALTH_INTERVAL_MS;
}

int64_t health_timeout_ms(const struct ctr_health *h)
{
    return h->timeout_ms > 0 ? h->timeout_ms : HEALTH_TIMEOUT_MS;
}

int64_t health_start_interval_ms(const struct ctr_health *h)
{
    return h->start_interval_ms > 0 ? h->start_interval_ms : HEALTH_START_INTERVAL_MS;
}

int health_retries(const struct ctr_health *h)
{
    return h->retries > 0 ? h->retries : HEALTH_RETRIES;
}

static cJSON *test_json(char **test)
{
    cJSON *a = cJSON_CreateArray();
    for (char **p = test; a && p && *p; p++)
        cJSON_AddItemToArray(a, cJSON_CreateString(*p));
    return a;
}

cJSON *health_config_json(const struct ctr_health *h)
{
    cJSON *j = cJSON_CreateObject();
    if (!j)
        return NULL;
    if (h->test)
        cJSON_AddItemToObject(j, "Test", test_json(h->test));
    cJSON_AddNumberToObject(j, "IntervalMs", (double)h->interval_ms);
    cJSON_AddNumberToObject(j, "TimeoutMs", (double)h->timeout_ms);
    cJSON_AddNumberToObject(j, "StartPeriodMs", (double)h->start_period_ms);
    cJSON_AddNumberToObject(j, "StartIntervalMs", (double)h->start_interval_ms);
    cJSON_AddNumberToObject(j, "Retries", h->retries);
    cJSON_AddStringToObject(j, "OnFailure", health_on_failure_name(h->on_failure));
    cJSON_AddBoolToObject(j, "SdNotify", h->sdnotify);
    return j;
}

static int json_ms(const cJSON *j, const char *k, int64_t *out, struct err *e)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, k);
    if (!v)
        return 0;
    if (!cJSON_IsNumber(v) || v->valuedouble < 0 || v->valuedouble > (double)HEALTH_DURATION_MAX_MS)
        return err_set(e, EINVAL, "config: 'Health.%s' must be a duration in ms", k);
    *out = (int64_t)v->valuedouble;
    return 0;
}

int health_config_from_json(const cJSON *j, struct ctr_health *h, struct err *e)
{
    memset(h, 0, sizeof *h);
    if (!j || cJSON_IsNull(j))
        return 0;
    if (!cJSON_IsObject(j))
        return err_set(e, EINVAL, "config: 'Health' must be an object");
    const cJSON *test = cJSON_GetObjectItemCaseSensitive(j, "Test");
    if (test && health_test_from_json(test, &h->test, e) < 0)
        return err_wrap(e, "config: 'Health'");
    if (json_ms(j, "IntervalMs", &h->interval_ms, e) < 0 ||
        json_ms(j, "TimeoutMs", &h->timeout_ms, e) < 0 ||
        json_ms(j, "StartPeriodMs", &h->start_period_ms, e) < 0 ||
        json_ms(j, "StartIntervalMs", &h->start_interval_ms, e) < 0)
        goto fail;
    const cJSON *r = cJSON_GetObjectItemCaseSensitive(j, "Retries");
    if (r) {
        if (!cJSON_IsNumber(r) || r->valuedouble < 0 || r->valuedouble > 1e6) {
            err_set(e, EINVAL, "config: 'Health.Retries' must be a count");
            goto fail;
        }
        h->retries = (int)r->valuedouble;
    }
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(j, "OnFailure");
    if (a &&
        (!cJSON_IsString(a) || health_parse_on_failure(a->valuestring, &h->on_failure, e) < 0)) {
        err_set(e, EINVAL, "config: 'Health.OnFailure' is not an action");
        goto fail;
    }
    const cJSON *n = cJSON_GetObjectItemCaseSensitive(j, "SdNotify");
    if (n && !cJSON_IsBool(n)) {
        err_set(e, EINVAL, "config: 'Health.SdNotify' must be a boolean");
        goto fail;
    }
    h->sdnotify = cJSON_IsTrue(n);
    return 0;
fail:
    health_config_free(h);
    return -1;
}

cJSON *health_docker_json(const struct ctr_health *h)
{
    if (!h->test && !h->interval_ms && !h->timeout_ms && !h->start_period_ms &&
        !h->start_interval_ms && !h->retries)
        return NULL;
    cJSON *j = cJSON_CreateObject();
    if (!j)
        return NULL;
    if (h->test)
        cJSON_AddItemToObject(j, "Test", test_json(h->test));
    static const struct {
        const char *key;
        size_t off;
    } durs[] = {
        {"Interval", offsetof(struct ctr_health, interval_ms)},
        {"Timeout", offsetof(struct ctr_health, timeout_ms)},
        {"StartPeriod", offsetof(struct ctr_health, start_period_ms)},
        {"StartInterval", offsetof(struct ctr_health, start_interval_ms)},
    };
    for (size_t i = 0; i < ARRAY_LEN(durs); i++) {
        int64_t ms;
        memcpy(&ms, (const char *)h + durs[i].off, sizeof ms);
        if (ms)
            cJSON_AddNumberToObject(j, durs[i].key, (double)ms * 1e6);
    }
    if (h->retries)
        cJSON_AddNumberToObject(j, "Retries", h->retries);
    return j;
}

void health_config_free(struct ctr_health *h)
{
    util_strv_free(h->test);
    memset(h, 0, sizeof *h);
}

enum health_status health_next(enum health_status st, int *streak, int ok, int in_start_period,
                               int retries)
{
    if (ok) {
        *streak = 0;
        return HEALTH_HEALTHY;
    }
    /* Docker: while still starting, failures in the start period are free */
    if (st == HEALTH_STARTING && in_start_period)
        return st;
    ++*streak;
    if (*streak >= (retries > 0 ? retries : HEALTH_RETRIES))
        return HEALTH_UNHEALTHY;
    return st == HEALTH_NONE ? HEALTH_STARTING : st;
}

const char *health_status_name(enum health_status st)
{
    switch (st) {
    case HEALTH_NONE:
        return "none";
    case HEALTH_STARTING:
        return "starting";
    case HEALTH_HEALTHY:
        return "healthy";
    case HEALTH_UNHEALTHY:
        return "unhealthy";
    }
    return "none";
}

void health_go_duration(int64_t ms, char *buf, size_t size)
{
    if (ms <= 0) {
        (void)snprintf(buf, size, "0s");
        return;
    }
    if (ms < 1000) {
        (void)snprintf(buf, size, "%lldms", (long long)ms);
        return;
    }
    long long h = ms / 3600000, m = ms / 60000 % 60, s = ms / 1000 % 60, frac = ms % 1000;
    char sec[32];
    if (frac) {
        (void)snprintf(sec, sizeof sec, "%lld.%03lld", s, frac);
        size_t n = strlen(sec);
        while (sec[n - 1] == '0')
            sec[--n] = 0;
    } else {
        (void)snprintf(sec, sizeof sec, "%lld", s);
    }
    if (h)
        (void)snprintf(buf, size, "%lldh%lldm%ss", h, m, sec);
    else if (m)
        (void)snprintf(buf, size, "%lldm%ss", m, sec);
    else
        (void)snprintf(buf, size, "%ss", sec);
}

/* ---- runtime ---- */

static void on_tick(struct ev_loop *loop, ev_timer *w, int revents);
static void on_timeout(struct ev_loop *loop, ev_timer *w, int revents);

static struct health *ensure(struct ctr *c)
{
    if (c->health)
        return c->health;
    struct health *h = calloc(1, sizeof *h);
    if (!h)
        return NULL;
    h->c = c;
    h->out_fd = h->report_fd = h->notify_fd = -1;
    ev_init(&h->tick_w, on_tick);
    h->tick_w.data = h;
    ev_init(&h->timeout_w, on_timeout);
    h->timeout_w.data = h;
    c->health = h;
    return h;
}

static void result_free(struct health_result *r)
{
    free(r->output);
    memset(r, 0, sizeof *r);
}

static void log_push(struct health *h, int64_t start_ns, int exit_code, const char *out, size_t len)
{
    if (h->nlog == HEALTH_LOG_MAX) {
        result_free(&h->log[0]);
        memmove(&h->log[0], &h->log[1], sizeof h->log[0] * (HEALTH_LOG_MAX - 1));
        memset(&h->log[HEALTH_LOG_MAX - 1], 0, sizeof h->log[0]);
        h->nlog--;
    }
    struct health_result *r = &h->log[h->nlog++];
    r->start_ns = start_ns;
    r->end_ns = util_now_ns();
    r->exit_code = exit_code;
    r->output = strndup(out, len < HEALTH_OUTPUT_MAX ? len : HEALTH_OUTPUT_MAX);
    /* out of memory: the entry stays, without its output */
}

static int in_start_period(const struct health *h)
{
    const struct ctr *c = h->c;
    return c->last_start_mono > 0 &&
           util_mono_ms() - c->last_start_mono < c->cfg.health.start_period_ms;
}

static void schedule(struct health *h)
{
    const struct ctr_health *cfg = &h->c->cfg.health;
    if (!health_has_test(cfg))
        return;
    int64_t ms = h->status == HEALTH_STARTING && in_start_period(h) ? health_start_interval_ms(cfg)
                                                                    : health_interval_ms(cfg);
    ev_timer_stop(h->c->sv->loop, &h->tick_w);
    ev_timer_set(&h->tick_w, (double)ms / 1000., 0.);
    ev_timer_start(h->c->sv->loop, &h->tick_w);
}

/* The action of health_on_failure, once the container became unhealthy. */
static void act(struct ctr *c)
{
    char buf[16];
    switch (c->cfg.health.on_failure) {
    case CTR_ON_FAILURE_NONE:
        return;
    case CTR_ON_FAILURE_RESTART:
        log_msg(LOG_INFO, "%s: unhealthy: restarting it", c->name);
        c->start_after_exit = 1;
        c->restart_count++;
        (void)ctr_handle(c, CTR_EV_STOP, c->cfg.stop_timeout, NULL);
        c->manual_stop = 0; /* a restart is not a stop */
        return;
    case CTR_ON_FAILURE_KILL:
        log_msg(LOG_INFO, "%s: unhealthy: killing it", c->name);
        /* not a user's kill: the restart policy decides as for any exit */
        (void)snprintf(buf, sizeof buf, "%d", SIGKILL);
        events_emit(c->sv, c, "kill", "signal", buf);
        if (ctr_signal(c, SIGKILL) < 0 && errno != ESRCH)
            log_msg(LOG_WARN, "kill unhealthy '%s': %s", c->name, strerror(errno));
        return;
    case CTR_ON_FAILURE_STOP:
        log_msg(LOG_INFO, "%s: unhealthy: stopping it", c->name);
        c->start_after_exit = 0;
        (void)ctr_handle(c, CTR_EV_STOP, c->cfg.stop_timeout, NULL);
        return;
    }
}

static void status_changed(struct health *h, enum health_status old)
{
    struct ctr *c = h->c;
    char action[48];
    log_msg(LOG_INFO, "%s: health %s -> %s", c->name, health_status_name(old),
            health_status_name(h->status));
    if (h->status == HEALTH_HEALTHY || h->status == HEALTH_UNHEALTHY) {
        (void)snprintf(action, sizeof action, "health_status: %s", health_status_name(h->status));
        events_emit(c->sv, c, action, NULL, NULL);
    }
    server_ctr_note(c->sv, c, NOTE_HEALTH);
    if (h->status == HEALTH_UNHEALTHY && c->state == CTR_RUNNING)
        act(c);
}

/* A check finished: log it, move the status, act, and schedule the next one. */
static void record(struct health *h, int exit_code, const char *out, size_t len)
{
    struct ctr *c = h->c;
    enum health_status old = h->status;
    log_push(h, h->check_start_ns, exit_code, out, len);
    h->status = health_next(old, &h->streak, exit_code == 0, in_start_period(h),
                            health_retries(&c->cfg.health));
    if (h->status != old)
        status_changed(h, old);
    if (c->state == CTR_RUNNING || c->state == CTR_PAUSED)
        schedule(h);
}

static void close_check_fds(struct health *h)
{
    if (h->out_fd >= 0) {
        ev_io_stop(h->c->sv->loop, &h->out_w);
        (void)close(h->out_fd);
        h->out_fd = -1;
    }
    if (h->report_fd >= 0) {
        (void)close(h->report_fd);
        h->report_fd = -1;
    }
}

/* Read what the check wrote: the first HEALTH_OUTPUT_MAX bytes are kept, the rest dropped. */
static void drain_output(struct health *h)
{
    static char scratch[4096]; /* dropped bytes land here */
    while (h->out_fd >= 0) {
        size_t room = sizeof h->out - h->out_len;
        char *dst = room ? h->out + h->out_len : scratch;
        ssize_t n = read(h->out_fd, dst, room ? room : sizeof scratch);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN)
            return;
        if (n <= 0) {
            /* EOF (or an error): nothing more will come */
            ev_io_stop(h->c->sv->loop, &h->out_w);
            (void)close(h->out_fd);
            h->out_fd = -1;
            return;
        }
        if (room)
            h->out_len += (size_t)n;
    }
}

static void on_out_readable(struct ev_loop *loop, ev_io *w, int revents)
{
    (void)loop;
    (void)revents;
    drain_output(w->data);
}

static void on_timeout(struct ev_loop *loop, ev_timer *w, int revents)
{
    struct health *h = w->data;
    (void)loop;
    (void)revents;
    if (h->pid <= 0)
        return;
    h->timed_out = 1;
    /* our own unreaped child: the pid cannot have been reused */
    if (kill(h->pid, SIGKILL) < 0 && errno != ESRCH)
        log_msg(LOG_WARN, "kill the health check of '%s': %s", h->c->name, strerror(errno));
}

static void start_check(struct health *h)
{
    struct ctr *c = h->c;
    struct err e = {0};
    char **test = c->cfg.health.test;
    char *shell[] = {"/bin/sh", "-c", test[1], NULL};
    int p[2];

    h->check_start_ns = util_now_ns();
    h->out_len = 0;
    h->timed_out = 0;
    h->discard = 0;
    if (pipe2(p, O_CLOEXEC) < 0) {
        err_set(&e, errno, "create the output pipe of a health check");
        record(h, -1, e.msg, strlen(e.msg));
        return;
    }
    struct spawn_exec x = {
        .argv = strcmp(test[0], "CMD") == 0 ? test + 1 : shell,
        .env = c->cfg.env,
        .fds = {-1, p[1], p[1]},
    };
    int rc = spawn_exec(c, &x, &h->pid, &h->report_fd, &e);
    (void)close(p[1]);
    if (rc < 0) {
        (void)close(p[0]);
        h->pid = 0;
        log_msg(LOG_DEBUG, "%s: health check not started: %s", c->name, e.msg);
        record(h, -1, e.msg, strlen(e.msg));
        return;
    }
    if (fcntl(p[0], F_SETFL, O_NONBLOCK) < 0)
        log_msg(LOG_WARN, "health check output of '%s': %s", c->name, strerror(errno));
    h->out_fd = p[0];
    ev_io_init(&h->out_w, on_out_readable, p[0], EV_READ);
    h->out_w.data = h;
    ev_io_start(c->sv->loop, &h->out_w);
    ev_timer_set(&h->timeout_w, (double)health_timeout_ms(&c->cfg.health) / 1000., 0.);
    ev_timer_start(c->sv->loop, &h->timeout_w);
    log_msg(LOG_DEBUG, "%s: health check pid %d", c->name, (int)h->pid);
}

static void on_tick(struct ev_loop *loop, ev_timer *w, int revents)
{
    struct health *h = w->data;
    struct ctr *c = h->c;
    (void)loop;
    (void)revents;
    if (c->state == CTR_PAUSED || h->pid > 0) {
        /* a frozen container cannot run a check; never two in flight */
        schedule(h);
        return;
    }
    if (c->state != CTR_RUNNING || c->start_pending || !health_has_test(&c->cfg.health))
        return;
    start_check(h);
}

int health_reaped(struct sv *sv, pid_t pid, int status)
{
    struct health *h = NULL;
    for (struct ctr *c = sv->ctrs; c && !h; c = c->next)
        if (c->health && c->health->pid == pid)
            h = c->health;
    if (!h)
        return 0;
    h->pid = 0;
    ev_timer_stop(sv->loop, &h->timeout_w);
    drain_output(h);
    struct spawn_report r = {0};
    int pty = -1;
    enum spawn_status st =
        h->report_fd >= 0 ? spawn_report_read(h->report_fd, &r, &pty) : SPAWN_EXECED;
    if (pty >= 0)
        (void)close(pty);
    close_check_fds(h);
    if (h->discard)
        return 1;
    if (h->timed_out) {
        char d[32], msg[64];
        health_go_duration(health_timeout_ms(&h->c->cfg.health), d, sizeof d);
        int n = snprintf(msg, sizeof msg, "Health check exceeded timeout (%s)", d);
        record(h, -1, msg, n > 0 ? (size_t)n : 0);
    } else if (st == SPAWN_FAILED) {
        record(h, -1, r.e.msg, strlen(r.e.msg));
    } else {
        record(h, ctr_status_code(status), h->out, h->out_len);
    }
    return 1;
}

/* ---- readiness ---- */

static void notify_close(struct ctr *c, struct health *h)
{
    if (h->notify_fd < 0)
        return;
    ev_io_stop(c->sv->loop, &h->notify_w);
    (void)close(h->notify_fd);
    h->notify_fd = -1;
    char p[PATH_MAX_BERTH];
    struct err e = {0};
    if (util_fmt(p, sizeof p, &e, "%s/%s/%s", c->sv->containers_dir, c->id, HEALTH_NOTIFY_FILE) ==
            0 &&
        unlink(p) < 0 && errno != ENOENT)
        log_msg(LOG_WARN, "remove '%s': %s", p, strerror(errno));
}

static void mark_ready(struct health *h)
{
    static const char msg[] = "READY=1 received on NOTIFY_SOCKET";
    if (h->c->state != CTR_RUNNING || h->status == HEALTH_HEALTHY)
        return;
    enum health_status old = h->status;
    log_push(h, util_now_ns(), 0, msg, sizeof msg - 1);
    h->streak = 0;
    h->status = HEALTH_HEALTHY;
    status_changed(h, old);
}

static void on_notify_readable(struct ev_loop *loop, ev_io *w, int revents)
{
    struct health *h = w->data;
    char buf[HEALTH_NOTIFY_DGRAM_MAX + 1];
    int ready = 0;
    (void)loop;
    (void)revents;
    /* a bounded batch: a flood waits for the next iteration instead of starving the loop */
    for (int i = 0; i < HEALTH_NOTIFY_BATCH; i++) {
        ssize_t n = recv(h->notify_fd, buf, sizeof buf - 1, MSG_DONTWAIT);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            if (errno != EAGAIN)
                log_msg(LOG_WARN, "readiness socket of '%s': %s", h->c->name, strerror(errno));
            break;
        }
        buf[n] = 0;
        for (char *save = NULL, *line = strtok_r(buf, "\n", &save); line;
             line = strtok_r(NULL, "\n", &save)) {
            if (strcmp(line, "READY=1") == 0)
                ready = 1;
            else if (strncmp(line, "STATUS=", 7) == 0)
                log_msg(LOG_DEBUG, "%s: %s", h->c->name, line);
        }
    }
    if (ready)
        mark_ready(h);
}

int health_prestart(struct ctr *c, struct err *e)
{
    if (!health_watched(&c->cfg.health))
        return 0;
    struct health *h = ensure(c);
    if (!h)
        return err_set(e, ENOMEM, "health of '%s'", c->name);
    notify_close(c, h);
    if (!c->cfg.health.sdnotify)
        return 0;
    char dir[PATH_MAX_BERTH];
    if (util_fmt(dir, sizeof dir, e, "%s/%s", c->sv->containers_dir, c->id) < 0)
        return -1;
    auto_close int dfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0)
        return err_set(e, errno, "open '%s'", dir);
    /* a root's path may pass sun_path's 108 bytes: bind through the directory's fd */
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    (void)snprintf(sa.sun_path, sizeof sa.sun_path, "/proc/self/fd/%d/%s", dfd, HEALTH_NOTIFY_FILE);
    if (unlinkat(dfd, HEALTH_NOTIFY_FILE, 0) < 0 && errno != ENOENT)
        return err_set(e, errno, "remove the old readiness socket of '%s'", c->name);
    auto_close int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return err_set(e, errno, "create the readiness socket of '%s'", c->name);
    if (bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0)
        return err_set(e, errno, "bind the readiness socket of '%s'", c->name);
    /* any user of the container may report readiness */
    if (fchmodat(dfd, HEALTH_NOTIFY_FILE, 0666, 0) < 0)
        return err_set(e, errno, "chmod the readiness socket of '%s'", c->name);
    h->notify_fd = take_fd(&fd);
    ev_io_init(&h->notify_w, on_notify_readable, h->notify_fd, EV_READ);
    h->notify_w.data = h;
    return 0;
}

static void kill_check(struct health *h)
{
    ev_timer_stop(h->c->sv->loop, &h->tick_w);
    ev_timer_stop(h->c->sv->loop, &h->timeout_w);
    if (h->pid > 0) {
        h->discard = 1; /* reaped later, through health_reaped */
        if (kill(h->pid, SIGKILL) < 0 && errno != ESRCH)
            log_msg(LOG_WARN, "kill the health check of '%s': %s", h->c->name, strerror(errno));
    }
    close_check_fds(h);
}

void health_started(struct ctr *c)
{
    if (!health_watched(&c->cfg.health))
        return;
    struct health *h = ensure(c);
    if (!h) {
        log_msg(LOG_ERROR, "health of '%s': out of memory", c->name);
        return;
    }
    h->status = HEALTH_STARTING;
    h->streak = 0;
    if (h->notify_fd >= 0)
        ev_io_start(c->sv->loop, &h->notify_w);
    schedule(h);
}

void health_stopping(struct ctr *c)
{
    if (c->health)
        kill_check(c->health);
}

void health_exited(struct ctr *c)
{
    if (!c->health)
        return;
    kill_check(c->health);
    notify_close(c, c->health);
}

void health_free(struct ctr *c)
{
    struct health *h = c->health;
    if (!h)
        return;
    kill_check(h); /* a check still in flight is reaped as an orphan */
    if (h->notify_fd >= 0) {
        ev_io_stop(c->sv->loop, &h->notify_w);
        (void)close(h->notify_fd);
    }
    for (int i = 0; i < h->nlog; i++)
        result_free(&h->log[i]);
    free(h);
    c->health = NULL;
}

enum health_status health_status_of(const struct ctr *c)
{
    return c->health && health_watched(&c->cfg.health) ? c->health->status : HEALTH_NONE;
}

cJSON *health_state_json(const struct ctr *c)
{
    const struct health *h = c->health;
    if (!h || !health_watched(&c->cfg.health) || h->status == HEALTH_NONE)
        return NULL;
    cJSON *j = cJSON_CreateObject();
    if (!j)
        return NULL;
    cJSON_AddStringToObject(j, "Status", health_status_name(h->status));
    cJSON_AddNumberToObject(j, "FailingStreak", h->streak);
    cJSON *log = cJSON_AddArrayToObject(j, "Log");
    for (int i = 0; log && i < h->nlog; i++) {
        const struct health_result *r = &h->log[i];
        cJSON *o = cJSON_CreateObject();
        char t[64];
        if (!o)
            break;
        util_rfc3339(r->start_ns, t, sizeof t);
        cJSON_AddStringToObject(o, "Start", t);
        util_rfc3339(r->end_ns, t, sizeof t);
        cJSON_AddStringToObject(o, "End", t);
        cJSON_AddNumberToObject(o, "ExitCode", r->exit_code);
        cJSON_AddStringToObject(o, "Output", r->output ? r->output : "");
        cJSON_AddItemToArray(log, o);
    }
    return j;
}
