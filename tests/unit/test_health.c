/* SPDX-License-Identifier: MIT */
/* tests/unit/test_health.c - health settings (the health_* keys of create/run, an image's
 * Healthcheck merged under them, their snapshot and inspect forms) and the status state
 * machine, driven by synthetic check results. Pure: no loop, no processes. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/ctr.h"
#include "core/err.h"
#include "core/health.h"
#include "core/util.h"
#include "core/view.h"
#include "tests/unit/tap.h"

static int strv_is(char **v, int n, const char *const *want)
{
    for (int i = 0; i < n; i++)
        if (!v || !v[i] || strcmp(v[i], want[i]) != 0)
            return 0;
    return v && !v[n];
}

static void test_parse_test(void)
{
    static const struct {
        const char *json;
        int n;
        const char *want[4];
    } good[] = {
        {"[\"CMD\",\"/bin/check\",\"--ping\"]", 3, {"CMD", "/bin/check", "--ping"}},
        {"[\"CMD-SHELL\",\"curl -f http://localhost/ || exit 1\"]",
         2,
         {"CMD-SHELL", "curl -f http://localhost/ || exit 1"}},
        {"[\"NONE\"]", 1, {"NONE"}},
        {" [ \"CMD\" , \"x\" ] ", 2, {"CMD", "x"}},
    };
    for (size_t i = 0; i < ARRAY_LEN(good); i++) {
        char **v = NULL;
        struct err e = {0};
        int rc = health_parse_test(good[i].json, &v, &e);
        ok(rc == 0 && strv_is(v, good[i].n, good[i].want), "test %s parses (%s)", good[i].json,
           e.msg);
        util_strv_free(v);
    }
    static const struct {
        const char *json, *needle;
    } bad[] = {
        {"", "not JSON"},
        {"CMD true", "not JSON"},
        {"[\"CMD\"", "not JSON"},
        {"{\"Test\":[\"CMD\",\"x\"]}", "JSON array"},
        {"\"CMD\"", "JSON array"},
        {"[]", "empty"},
        {"[\"CMD\"]", "CMD needs a command"},
        {"[\"CMD\",\"\"]", "CMD needs a command"},
        {"[\"CMD-SHELL\"]", "CMD-SHELL takes one"},
        {"[\"CMD-SHELL\",\"a\",\"b\"]", "CMD-SHELL takes one"},
        {"[\"NONE\",\"x\"]", "NONE takes no"},
        {"[\"SHELL\",\"x\"]", "type 'SHELL'"},
        {"[\"cmd\",\"x\"]", "type 'cmd'"},
        {"[\"CMD\",1]", "string"},
        {"[\"CMD\",null]", "string"},
    };
    for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
        char **v = NULL;
        struct err e = {0};
        int rc = health_parse_test(bad[i].json, &v, &e);
        ok(rc < 0 && !v && e.code && strstr(e.msg, bad[i].needle), "test '%s' refused: %s",
           bad[i].json, e.msg);
        util_strv_free(v);
    }
    /* the word limit */
    size_t cap = (size_t)(CTR_ARGS_MAX + 2) * 6 + 16;
    char *big = malloc(cap);
    size_t off = (size_t)snprintf(big, cap, "[\"CMD\"");
    for (int i = 0; i < CTR_ARGS_MAX; i++)
        off += (size_t)snprintf(big + off, cap - off, ",\"a\"");
    (void)snprintf(big + off, cap - off, "]");
    char **v = NULL;
    struct err e = {0};
    ok(health_parse_test(big, &v, &e) < 0 && e.code == E2BIG, "more than %d words refused (%s)",
       CTR_ARGS_MAX, e.msg);
    free(big);
}

static void test_parse_keys(void)
{
    static const struct {
        const char *s;
        int64_t ms;
    } durs[] = {{"0", 0},         {"30s", 30000}, {"500ms", 500}, {"1m", 60000},
                {"1m30s", 90000}, {"2", 2000},    {"0.25s", 250}, {"8760h", 31536000000LL}};
    for (size_t i = 0; i < ARRAY_LEN(durs); i++) {
        int64_t ms = -1;
        struct err e = {0};
        ok(health_parse_duration(durs[i].s, &ms, &e) == 0 && ms == durs[i].ms,
           "duration '%s' = %lld ms", durs[i].s, (long long)ms);
    }
    static const char *const bad_durs[] = {"", "-1s", "1x", "s", "ten", "8761h", "1e9h"};
    for (size_t i = 0; i < ARRAY_LEN(bad_durs); i++) {
        int64_t ms;
        struct err e = {0};
        ok(health_parse_duration(bad_durs[i], &ms, &e) < 0, "duration '%s' refused: %s",
           bad_durs[i], e.msg);
    }
    static const char *const actions[] = {"none", "restart", "kill", "stop"};
    for (size_t i = 0; i < ARRAY_LEN(actions); i++) {
        enum ctr_on_failure a = CTR_ON_FAILURE_NONE;
        struct err e = {0};
        ok(health_parse_on_failure(actions[i], &a, &e) == 0 && a == (enum ctr_on_failure)i &&
               strcmp(health_on_failure_name(a), actions[i]) == 0,
           "on-failure %s", actions[i]);
    }
    static const char *const bad_actions[] = {"", "Restart", "reboot", "restart "};
    for (size_t i = 0; i < ARRAY_LEN(bad_actions); i++) {
        enum ctr_on_failure a;
        struct err e = {0};
        ok(health_parse_on_failure(bad_actions[i], &a, &e) < 0 &&
               strstr(e.msg, "none, restart, kill or stop"),
           "on-failure '%s' refused: %s", bad_actions[i], e.msg);
    }
    int n = -1;
    struct err e = {0};
    ok(health_parse_sdnotify("container", &n, &e) == 0 && n == 1, "sdnotify container");
    ok(health_parse_sdnotify("ignore", &n, &e) == 0 && n == 0, "sdnotify ignore");
    ok(health_parse_sdnotify("conmon", &n, &e) < 0 && strstr(e.msg, "container or ignore"),
       "sdnotify conmon refused: %s", e.msg);
}

static void test_merge_image(void)
{
    static const char img[] = "{\"Test\":[\"CMD-SHELL\",\"img-check\"],\"Interval\":2000000000,"
                              "\"Timeout\":3000000000,\"StartPeriod\":4000000000,"
                              "\"StartInterval\":500000000,\"Retries\":7}";
    struct ctr_health h = {0};
    struct err e = {0};
    ok(health_merge_image(&h, img, &e) == 0 && h.test && strcmp(h.test[1], "img-check") == 0 &&
           h.interval_ms == 2000 && h.timeout_ms == 3000 && h.start_period_ms == 4000 &&
           h.start_interval_ms == 500 && h.retries == 7,
       "the image's check applies in full when the request sets nothing (%s)", e.msg);
    health_config_free(&h);

    static const char *const mine[] = {"CMD", "/mine"};
    struct ctr_health m = {0};
    m.test = calloc(3, sizeof *m.test);
    m.test[0] = strdup(mine[0]);
    m.test[1] = strdup(mine[1]);
    m.interval_ms = 100;
    m.retries = 1;
    ok(health_merge_image(&m, img, &e) == 0 && strv_is(m.test, 2, mine) && m.interval_ms == 100 &&
           m.retries == 1 && m.timeout_ms == 3000 && m.start_period_ms == 4000,
       "the request's test and values win, the image fills the rest");
    health_config_free(&m);

    struct ctr_health none = {0};
    ok(health_parse_test("[\"NONE\"]", &none.test, &e) == 0 &&
           health_merge_image(&none, img, &e) == 0 && !health_has_test(&none) &&
           !health_watched(&none),
       "NONE disables the image's check");
    health_config_free(&none);

    static const char *const bad[] = {"[1]", "{\"Test\":\"CMD x\"}", "{\"Interval\":-1}",
                                      "{\"Retries\":\"3\"}", "{\"Test\":[\"BAD\"]}"};
    for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
        struct ctr_health x = {0};
        ok(health_merge_image(&x, bad[i], &e) < 0, "image Healthcheck %s refused: %s", bad[i],
           e.msg);
        health_config_free(&x);
    }
    struct ctr_health empty = {0};
    ok(health_merge_image(&empty, "{\"Test\":[]}", &e) == 0 && !empty.test &&
           health_merge_image(&empty, NULL, &e) == 0 && !health_watched(&empty),
       "an image without a test gives none");
}

static void test_json(void)
{
    static const char *const t[] = {"CMD", "/bin/check", "a b"};
    struct ctr_health h = {0};
    h.test = calloc(4, sizeof *h.test);
    for (int i = 0; i < 3; i++)
        h.test[i] = strdup(t[i]);
    h.interval_ms = 1500;
    h.timeout_ms = 0;
    h.start_period_ms = 60000;
    h.start_interval_ms = 250;
    h.retries = 4;
    h.on_failure = CTR_ON_FAILURE_KILL;
    h.sdnotify = 1;
    cJSON *j = health_config_json(&h);
    struct ctr_health back;
    struct err e = {0};
    ok(health_config_from_json(j, &back, &e) == 0 && strv_is(back.test, 3, t) &&
           back.interval_ms == 1500 && back.timeout_ms == 0 && back.start_period_ms == 60000 &&
           back.start_interval_ms == 250 && back.retries == 4 &&
           back.on_failure == CTR_ON_FAILURE_KILL && back.sdnotify == 1,
       "snapshot form round trip (%s)", e.msg);
    cJSON_Delete(j);
    health_config_free(&back);

    cJSON *d = health_docker_json(&h);
    const cJSON *iv = cJSON_GetObjectItem(d, "Interval");
    ok(d && cJSON_IsNumber(iv) && iv->valuedouble == 1.5e9 && !cJSON_GetObjectItem(d, "Timeout") &&
           cJSON_GetObjectItem(d, "StartPeriod")->valuedouble == 6e10 &&
           cJSON_GetObjectItem(d, "Retries")->valuedouble == 4 &&
           cJSON_GetArraySize(cJSON_GetObjectItem(d, "Test")) == 3,
       "inspect's Config.Healthcheck: ns, unset values left out");
    cJSON_Delete(d);
    health_config_free(&h);
    struct ctr_health zero = {0};
    ok(health_docker_json(&zero) == NULL, "no Config.Healthcheck without settings");
    ok(health_config_from_json(NULL, &back, &e) == 0 && !back.test && !back.sdnotify,
       "a snapshot without Health gives none");
}

static void test_state_machine(void)
{
    int streak = 0;
    enum health_status st = HEALTH_STARTING;
    /* failures during the start period do not count while starting */
    for (int i = 0; i < 10; i++)
        st = health_next(st, &streak, 0, 1, 3);
    ok(st == HEALTH_STARTING && streak == 0, "start period: 10 failures, still starting");
    st = health_next(st, &streak, 1, 1, 3);
    ok(st == HEALTH_HEALTHY && streak == 0, "first success: healthy");
    /* once healthy, the start period no longer shields failures */
    st = health_next(st, &streak, 0, 1, 3);
    ok(st == HEALTH_HEALTHY && streak == 1, "healthy: a failure in the start period counts");
    st = health_next(st, &streak, 0, 0, 3);
    ok(st == HEALTH_HEALTHY && streak == 2, "two failures of three: still healthy");
    st = health_next(st, &streak, 0, 0, 3);
    ok(st == HEALTH_UNHEALTHY && streak == 3, "third failure: unhealthy");
    st = health_next(st, &streak, 0, 0, 3);
    ok(st == HEALTH_UNHEALTHY && streak == 4, "the streak keeps counting");
    st = health_next(st, &streak, 1, 0, 3);
    ok(st == HEALTH_HEALTHY && streak == 0, "a success heals");

    streak = 0;
    st = health_next(HEALTH_STARTING, &streak, 0, 0, 1);
    ok(st == HEALTH_UNHEALTHY && streak == 1, "retries 1: one failure after the start period");
    streak = 0;
    st = health_next(HEALTH_STARTING, &streak, 0, 0, 2);
    ok(st == HEALTH_STARTING && streak == 1, "retries 2: one failure, still starting");
    streak = 0;
    st = HEALTH_STARTING;
    for (int i = 0; i < 2; i++)
        st = health_next(st, &streak, 0, 0, 0);
    ok(st == HEALTH_STARTING, "retries 0 means the default (3): two failures, still starting");
    st = health_next(st, &streak, 0, 0, 0);
    ok(st == HEALTH_UNHEALTHY, "retries 0: the third failure makes it unhealthy");

    ok(strcmp(health_status_name(HEALTH_STARTING), "starting") == 0 &&
           strcmp(health_status_name(HEALTH_HEALTHY), "healthy") == 0 &&
           strcmp(health_status_name(HEALTH_UNHEALTHY), "unhealthy") == 0 &&
           strcmp(health_status_name(HEALTH_NONE), "none") == 0,
       "status names");
}

static void test_defaults_and_words(void)
{
    struct ctr_health h = {0};
    ok(health_interval_ms(&h) == 30000 && health_timeout_ms(&h) == 30000 &&
           health_start_interval_ms(&h) == 5000 && health_retries(&h) == 3,
       "Docker's defaults: 30s, 30s, 5s, 3");
    static const struct {
        int64_t ms;
        const char *want;
    } go[] = {{0, "0s"},        {1, "1ms"},          {500, "500ms"},         {1000, "1s"},
              {1500, "1.5s"},   {1250, "1.25s"},     {30000, "30s"},         {60000, "1m0s"},
              {90000, "1m30s"}, {3600000, "1h0m0s"}, {3723004, "1h2m3.004s"}};
    for (size_t i = 0; i < ARRAY_LEN(go); i++) {
        char buf[32];
        health_go_duration(go[i].ms, buf, sizeof buf);
        ok(strcmp(buf, go[i].want) == 0, "Go duration of %lld ms: %s", (long long)go[i].ms, buf);
    }
}

/* ps STATUS with a health status, as Docker words it. */
static void test_status_words(void)
{
    static const char *const t[] = {"CMD", "true", NULL};
    struct ctr c;
    struct health h;
    memset(&c, 0, sizeof c);
    memset(&h, 0, sizeof h);
    c.cfg.health.test = (char **)t;
    c.health = &h;
    c.state = CTR_RUNNING;
    c.started_ns = 1000000000000LL;
    static const struct {
        enum health_status st;
        enum ctr_state cs;
        const char *want;
    } cases[] = {
        {HEALTH_STARTING, CTR_RUNNING, "Up 5 seconds (health: starting)"},
        {HEALTH_HEALTHY, CTR_RUNNING, "Up 5 seconds (healthy)"},
        {HEALTH_UNHEALTHY, CTR_RUNNING, "Up 5 seconds (unhealthy)"},
        {HEALTH_HEALTHY, CTR_PAUSED, "Up 5 seconds (Paused)"},
    };
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        char buf[128];
        h.status = cases[i].st;
        c.state = cases[i].cs;
        view_status(&c, c.started_ns + 5000000000LL, buf, sizeof buf);
        ok(strcmp(buf, cases[i].want) == 0, "status %s", buf);
    }
    c.health = NULL;
    c.state = CTR_RUNNING;
    char buf[128];
    view_status(&c, c.started_ns + 5000000000LL, buf, sizeof buf);
    ok(strcmp(buf, "Up 5 seconds") == 0 && health_status_of(&c) == HEALTH_NONE,
       "before its first run: no health word (%s)", buf);
}

int main(void)
{
    test_parse_test();
    test_parse_keys();
    test_merge_image();
    test_json();
    test_state_machine();
    test_defaults_and_words();
    test_status_words();
    return done();
}
