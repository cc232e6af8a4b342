/* SPDX-License-Identifier: MIT */
/* tests/unit/test_runopt.c - unit tests of ctl/runopt: the run/create flag table and the request
 * options each kind of flag becomes (pass-through, booleans, sizes, durations, env and env
 * files, labels, log options, seccomp files, health checks), errors, Docker's env order. */
#include "ctl/runopt.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctl/proto.h"
#include "core/err.h"
#include "tests/unit/tap.h"

/* The options one occurrence of FLAG=VAL appends (" key=value..."), or "ERR: msg". */
static const char *put1(int flag, const char *val)
{
    static char out[4096];
    struct proto_buf b = {0};
    struct err e = {0};

    if (runopt_put(&b, flag, val, &e) < 0)
        snprintf(out, sizeof out, "ERR: %s", e.msg);
    else
        snprintf(out, sizeof out, "%s", b.data ? b.data : "");
    proto_buf_free(&b);
    return out;
}

static int is(const char *got, const char *want)
{
    if (strcmp(got, want) == 0)
        return 1;
    printf("#   got  '%s'\n#   want '%s'\n", got, want);
    return 0;
}

static int starts(const char *got, const char *want)
{
    if (strncmp(got, want, strlen(want)) == 0)
        return 1;
    printf("#   got  '%s'\n#   want '%s...'\n", got, want);
    return 0;
}

static void test_table(void)
{
    int ok_names = 1;
    for (int i = 0; i < RUNOPT_NFLAGS; i++)
        if (!runopt_flags[i].long_name || runopt_find(runopt_flags[i].long_name) != i)
            ok_names = 0;
    ok(ok_names, "every flag has a long name that runopt_find finds");
    ok(runopt_find("stop-timeout") == RUNOPT_STOP_TIMEOUT, "find stop-timeout");
    ok(runopt_find("health-start-interval") == RUNOPT_HEALTH_START_INTERVAL,
       "find health-start-interval");
    ok(runopt_find("stop_timeout") == -1 && runopt_find("") == -1 && runopt_find("nope") == -1,
       "unknown names -> -1");
    ok(runopt_flags[RUNOPT_ENV].short_name == 'e' &&
           runopt_flags[RUNOPT_PUBLISH_ALL].short_name == 'P',
       "short names kept (-e, -P)");
    ok(runopt_client_only(RUNOPT_DETACH) && runopt_client_only(RUNOPT_DETACH_KEYS) &&
           runopt_client_only(RUNOPT_SIG_PROXY) && !runopt_client_only(RUNOPT_INTERACTIVE),
       "client-only flags: detach, detach-keys, sig-proxy");
    ok(runopt_repeatable(RUNOPT_ENV) && runopt_repeatable(RUNOPT_VOLUME) &&
           runopt_repeatable(RUNOPT_LOG_OPT) && !runopt_repeatable(RUNOPT_NAME) &&
           !runopt_repeatable(RUNOPT_MEMORY),
       "repeatable flags");
    ok(runopt_duration(RUNOPT_HEALTH_INTERVAL) && !runopt_duration(RUNOPT_STOP_TIMEOUT),
       "duration flags");
}

static void test_pass(void)
{
    ok(is(put1(RUNOPT_NAME, "web"), " name=web"), "--name passes through");
    ok(is(put1(RUNOPT_PUBLISH, "80:8080/udp"), " publish=80:8080/udp"), "-p passes through");
    ok(is(put1(RUNOPT_VOLUME, "data:/var/lib/db:ro"), " volume=data:/var/lib/db:ro"),
       "-v passes through");
    ok(is(put1(RUNOPT_WORKDIR, "/a b"), " \"workdir=/a b\""), "a value with a space is quoted");
    ok(is(put1(RUNOPT_HEALTH_INTERVAL, "2s"), " health_interval=2s"), "--health-interval");
    ok(is(put1(RUNOPT_HEALTH_RETRIES, "3"), " health_retries=3"), "--health-retries");
    ok(is(put1(RUNOPT_HEALTH_START_PERIOD, "1m"), " health_start_period=1m"),
       "--health-start-period");
    ok(is(put1(RUNOPT_HEALTH_ON_FAILURE, "restart"), " health_on_failure=restart"),
       "--health-on-failure");
    ok(is(put1(RUNOPT_SDNOTIFY, "container"), " sdnotify=container"), "--sdnotify");
    ok(starts(put1(RUNOPT_NAME, NULL), "ERR: flag needs an argument: --name"),
       "a value flag without a value fails");
}

static void test_bool(void)
{
    ok(is(put1(RUNOPT_INTERACTIVE, "1"), " open_stdin=1"), "-i -> open_stdin=1");
    ok(is(put1(RUNOPT_READ_ONLY, "0"), " read_only=0"), "--read-only=0");
    ok(is(put1(RUNOPT_TTY, NULL), " tty=1"), "a bare boolean is on");
    ok(is(put1(RUNOPT_INIT, "false"), " init=0"), "Docker's false spelling");
    ok(is(put1(RUNOPT_PUBLISH_ALL, "True"), " publish_all=1"), "Docker's True spelling");
    ok(starts(put1(RUNOPT_RM, "yes"), "ERR: invalid argument \"yes\" for \"--rm\" flag"),
       "a bad boolean fails");
    ok(is(put1(RUNOPT_DETACH, "1"), "") && is(put1(RUNOPT_SIG_PROXY, "0"), "") &&
           is(put1(RUNOPT_DETACH_KEYS, "ctrl-a"), ""),
       "client-only flags append nothing");
}

static void test_special(void)
{
    ok(is(put1(RUNOPT_MEMORY, "10m"), " memory=10485760"), "-m 10m in bytes");
    ok(is(put1(RUNOPT_MEMORY_SWAP, "-1"), " memory_swap=-1"), "--memory-swap -1");
    ok(is(put1(RUNOPT_MEMORY_SWAP, "1g"), " memory_swap=1073741824"), "--memory-swap 1g");
    ok(is(put1(RUNOPT_MEMORY, "zz"), "ERR: invalid size 'zz' for --memory"), "a bad size");
    ok(is(put1(RUNOPT_STOP_TIMEOUT, "-1"), " stop_timeout=-1"), "--stop-timeout -1");
    ok(starts(put1(RUNOPT_STOP_TIMEOUT, "x"), "ERR: invalid --stop-timeout"), "a bad stop timeout");
    ok(is(put1(RUNOPT_LABEL, "a=b"), " label=a=b"), "--label K=V");
    ok(is(put1(RUNOPT_LABEL, "c"), " label=c="), "--label K -> K=");
    ok(is(put1(RUNOPT_LOG_OPT, "max-size=1m"), " log_max_size=1048576"), "log-opt max-size");
    ok(is(put1(RUNOPT_LOG_OPT, "max-file=2"), " log_max_file=2"), "log-opt max-file");
    ok(starts(put1(RUNOPT_LOG_OPT, "max-file=0"), "ERR: invalid max-file"), "max-file 0");
    ok(is(put1(RUNOPT_LOG_OPT, "foo=1"), "ERR: unknown log opt 'foo' for berth-file log driver"),
       "unknown log opt");
    ok(starts(put1(RUNOPT_LOG_OPT, "max-size"), "ERR: invalid log opt 'max-size'"),
       "log opt without =");
    ok(is(put1(RUNOPT_BACKOFF, "100ms:1m:10s"), " backoff=100:60000:10000"),
       "--restart-backoff in ms");
    ok(starts(put1(RUNOPT_BACKOFF, "1s:2s"), "ERR: invalid --restart-backoff '1s:2s'"),
       "a short backoff");
    ok(is(put1(RUNOPT_SECURITY_OPT, "no-new-privileges"), " security_opt=no-new-privileges"),
       "--security-opt passes through");
    ok(is(put1(RUNOPT_SECURITY_OPT, "seccomp=unconfined"), " security_opt=seccomp=unconfined"),
       "seccomp=unconfined passes through");
    ok(starts(put1(RUNOPT_SECURITY_OPT, "seccomp=/nonexistent/p.json"), "ERR: seccomp profile"),
       "a missing seccomp profile");
    ok(is(put1(RUNOPT_HEALTH_CMD, "curl -f http://x/ || exit 1"),
          " \"health_test=[\\\"CMD-SHELL\\\",\\\"curl -f http://x/ || exit 1\\\"]\""),
       "--health-cmd -> [\"CMD-SHELL\",S]");
    ok(is(put1(RUNOPT_NO_HEALTHCHECK, "1"), " \"health_test=[\\\"NONE\\\"]\""),
       "--no-healthcheck -> [\"NONE\"]");
    ok(is(put1(RUNOPT_NO_HEALTHCHECK, "0"), ""), "--no-healthcheck=false -> nothing");
    ok(starts(put1(-1, "x"), "ERR: unknown run flag") &&
           starts(put1(RUNOPT_NFLAGS, "x"), "ERR: unknown run flag"),
       "flags out of range fail");
}

static void test_health_test(void)
{
    struct proto_buf b = {0};
    struct err e = {0};
    const char *words[] = {"/bin/db", "--ping", "a\"b"};

    ok(runopt_put_health_test(&b, "CMD", words, 3, &e) == 0 &&
           is(b.data,
              " \"health_test=[\\\"CMD\\\",\\\"/bin/db\\\",\\\"--ping\\\",\\\"a\\\\\\\"b\\\"]\""),
       "CMD form with the words as JSON strings");
    proto_buf_free(&b);
}

static void test_env(void)
{
    char dir[] = "/tmp/test_runopt.XXXXXX";
    char path[256], sc[256];

    ok(setenv("RUNOPT_T", "v w", 1) == 0 && unsetenv("RUNOPT_UNSET") == 0, "setenv");
    ok(is(put1(RUNOPT_ENV, "A=1"), " env=A=1"), "-e K=V");
    ok(is(put1(RUNOPT_ENV, "RUNOPT_T"), " \"env=RUNOPT_T=v w\""), "-e K from the environment");
    ok(is(put1(RUNOPT_ENV, "RUNOPT_UNSET"), ""), "-e K unset -> nothing");
    ok(is(put1(RUNOPT_ENV, "=x"), "ERR: invalid environment variable: =x"), "-e =x fails");
    ok(is(put1(RUNOPT_ENV, ""), "ERR: invalid environment variable: "), "-e '' fails");
    if (!mkdtemp(dir)) {
        ok(0, "mkdtemp");
        return;
    }
    snprintf(path, sizeof path, "%s/env", dir);
    snprintf(sc, sizeof sc, "%s/seccomp.json", dir);
    FILE *f = fopen(path, "w");
    ok(f && fputs("A=1\n# comment\n\n  B=2\r\nRUNOPT_T\nRUNOPT_UNSET\n", f) >= 0 && fclose(f) == 0,
       "write env file");
    ok(is(put1(RUNOPT_ENV_FILE, path), " env=A=1 env=B=2 \"env=RUNOPT_T=v w\""),
       "env file: comments, blanks, CR, K from the environment");
    f = fopen(sc, "w");
    ok(f && fputs("{\"defaultAction\": \"SCMP_ACT_ALLOW\"}", f) >= 0 && fclose(f) == 0,
       "write seccomp profile");
    char opt[300];
    snprintf(opt, sizeof opt, "seccomp=%s", sc);
    ok(is(put1(RUNOPT_SECURITY_OPT, opt),
          " \"seccomp_profile={\\\"defaultAction\\\": \\\"SCMP_ACT_ALLOW\\\"}\""),
       "seccomp=FILE is read and sent inline");

    /* Docker's order: env files first, then -e; everything else in order */
    struct client_opt opts[] = {{RUNOPT_ENV, "A=2"},         {RUNOPT_NAME, "x"},
                                {RUNOPT_ENV_FILE, path},     {RUNOPT_TTY, NULL},
                                {RUNOPT_DETACH, NULL},       {RUNOPT_LABEL, "l"},
                                {RUNOPT_MEMORY, "1k"},       {RUNOPT_ENV, "C=3"},
                                {RUNOPT_HEALTH_CMD, "true"}, {RUNOPT_SIG_PROXY, "false"}};
    struct proto_buf b = {0};
    struct err e = {0};
    ok(runopt_put_all(&b, opts, sizeof opts / sizeof opts[0], &e) == 0 &&
           is(b.data, " name=x tty=1 label=l= memory=1024 \"health_test=[\\\"CMD-SHELL\\\","
                      "\\\"true\\\"]\" env=A=1 env=B=2 \"env=RUNOPT_T=v w\" env=A=2 env=C=3"),
       "runopt_put_all: in order, env files then -e last");
    proto_buf_free(&b);

    f = fopen(path, "w");
    ok(f && fputs("A B=1\n", f) >= 0 && fclose(f) == 0, "write a bad env file");
    ok(starts(put1(RUNOPT_ENV_FILE, path), "ERR: env file '") &&
           strstr(put1(RUNOPT_ENV_FILE, path), "contains whitespaces"),
       "a variable with a blank fails");
    ok(starts(put1(RUNOPT_ENV_FILE, "/nonexistent/env"), "ERR: env file: "),
       "a missing env file fails");
    struct client_opt bad[] = {{RUNOPT_NAME, "x"}, {RUNOPT_MEMORY, "zz"}};
    ok(runopt_put_all(&b, bad, 2, &e) < 0 && strstr(e.msg, "invalid size"),
       "runopt_put_all stops at the first error");
    proto_buf_free(&b);
    (void)unlink(path); /* best effort */
    (void)unlink(sc);
    (void)rmdir(dir);
}

int main(void)
{
    test_table();
    test_pass();
    test_bool();
    test_special();
    test_health_test();
    test_env();
    return done();
}
