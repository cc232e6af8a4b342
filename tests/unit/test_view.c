/* SPDX-License-Identifier: MIT */
/* tests/unit/test_view.c - Docker's human wording: view_human_duration against go-units'
 * HumanDuration (github.com/docker/go-units, duration.go, as vendored by docker/cli) and the
 * ps STATUS column of DESIGN §16. Pure: containers are built by hand. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "core/ctr.h"
#include "core/util.h"
#include "core/view.h"
#include "tests/unit/tap.h"

#define NS  1LL
#define SEC (1000000000LL * NS)
#define MIN (60 * SEC)
#define HR  (60 * MIN)
#define DAY (24 * HR)

/* go-units HumanDuration:
 *   seconds := int(d.Seconds()): < 1 "Less than a second", 1 "1 second", < 60 "%d seconds";
 *   minutes := int(d.Minutes()) (truncated): 1 "About a minute", < 60 "%d minutes";
 *   hours := round(d / hour): 1 "About an hour", < 48 "%d hours";
 *   d < 2 weeks: round(d / day) "days"; d < 2 months (60 days): round(d / week) "weeks";
 *   d < 2 years (730 days): round(d / 30 days) "months"; else round(d / 365 days) "years". */
static const struct {
    int64_t ns;
    const char *want;
} durations[] = {
    {-5 * SEC, "Less than a second"},
    {0, "Less than a second"},
    {SEC / 2, "Less than a second"},
    {SEC - 1, "Less than a second"},
    {SEC, "1 second"},
    {SEC + SEC / 2, "1 second"},
    {2 * SEC, "2 seconds"},
    {59 * SEC, "59 seconds"},
    {59 * SEC + 999999999, "59 seconds"},
    {60 * SEC, "About a minute"},
    {89 * SEC, "About a minute"},
    {90 * SEC, "About a minute"},
    {119 * SEC, "About a minute"},
    {120 * SEC, "2 minutes"},
    {45 * MIN, "45 minutes"},
    {45 * MIN + 50 * SEC, "45 minutes"},
    {59 * MIN, "59 minutes"},
    {59 * MIN + 36 * SEC, "59 minutes"}, /* 59.6 min */
    {60 * MIN, "About an hour"},
    {89 * MIN, "About an hour"},
    {90 * MIN, "2 hours"},
    {HR + 29 * MIN, "About an hour"},
    {2 * HR, "2 hours"},
    {47 * HR, "47 hours"},
    {47 * HR + 29 * MIN, "47 hours"},
    {47 * HR + 30 * MIN, "2 days"},
    {48 * HR, "2 days"},
    {60 * HR, "3 days"}, /* 2.5 days rounds up */
    {3 * DAY + 11 * HR, "3 days"},
    {3 * DAY + 12 * HR, "4 days"},
    {13 * DAY, "13 days"},
    {14 * DAY - HR, "14 days"},
    {14 * DAY, "2 weeks"},
    {20 * DAY, "3 weeks"}, /* 2.86 weeks */
    {59 * DAY, "8 weeks"},
    {60 * DAY, "2 months"},
    {75 * DAY, "3 months"}, /* 2.5 months */
    {364 * DAY, "12 months"},
    {729 * DAY, "24 months"},
    {730 * DAY, "2 years"},
    {1000 * DAY, "3 years"}, /* 2.74 years */
    {3650 * DAY, "10 years"},
};

static void test_duration(void)
{
    for (size_t i = 0; i < ARRAY_LEN(durations); i++) {
        char buf[64];
        memset(buf, 'x', sizeof buf);
        view_human_duration(durations[i].ns, buf, sizeof buf);
        ok(strcmp(buf, durations[i].want) == 0, "duration %lld ns (%.2f s) -> '%s' (want '%s')",
           (long long)durations[i].ns, (double)durations[i].ns / 1e9, buf, durations[i].want);
    }
    char small[6];
    view_human_duration(59 * SEC, small, sizeof small);
    ok(strcmp(small, "59 se") == 0, "a short buffer is truncated and terminated: '%s'", small);
}

static void test_status(void)
{
    const int64_t now = 1700000000LL * SEC;
    static const struct {
        enum ctr_state state;
        int64_t started_ago, finished_ago;
        int exit_code;
        const char *want;
    } cases[] = {
        {CTR_RUNNING, 3 * SEC, 0, 0, "Up 3 seconds"},
        {CTR_RUNNING, SEC / 2, 0, 0, "Up Less than a second"},
        {CTR_RUNNING, 2 * HR, 0, 0, "Up 2 hours"},
        {CTR_PAUSED, 3 * SEC, 0, 0, "Up 3 seconds (Paused)"},
        {CTR_PAUSED, 60 * SEC, 0, 0, "Up About a minute (Paused)"},
        {CTR_STOPPING, 10 * SEC, 0, 0, "Up 10 seconds"},
        {CTR_EXITED, 20 * SEC, 5 * SEC, 0, "Exited (0) 5 seconds ago"},
        {CTR_EXITED, 20 * SEC, 5 * SEC, 137, "Exited (137) 5 seconds ago"},
        {CTR_EXITED, 3 * DAY, 2 * DAY, 1, "Exited (1) 2 days ago"},
        {CTR_EXITED, 0, SEC, 127, "Exited (127) 1 second ago"},
        {CTR_CREATED, 0, 0, 0, "Created"},
        {CTR_RESTARTING, 10 * SEC, 2 * SEC, 1, "Restarting (1) 2 seconds ago"},
        {CTR_RESTARTING, 10 * SEC, 45 * MIN, 255, "Restarting (255) 45 minutes ago"},
        {CTR_REMOVING, 10 * SEC, 2 * SEC, 0, "Removing"},
        {CTR_DEAD, 10 * SEC, 2 * SEC, 0, "Dead"},
    };
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        static struct ctr c;
        char buf[128];
        memset(&c, 0, sizeof c);
        c.state = cases[i].state;
        c.started_ns = cases[i].started_ago ? now - cases[i].started_ago : 0;
        c.finished_ns = cases[i].finished_ago ? now - cases[i].finished_ago : 0;
        c.exit_code = cases[i].exit_code;
        view_status(&c, now, buf, sizeof buf);
        ok(strcmp(buf, cases[i].want) == 0, "status %s -> '%s' (want '%s')",
           ctr_state_name(c.state), buf, cases[i].want);
    }
}

int main(void)
{
    test_duration();
    test_status();
    return done();
}
