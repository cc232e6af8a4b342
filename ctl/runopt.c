/* SPDX-License-Identifier: MIT */
/* ctl/runopt.c - the run/create flag table and its translation into request options (see
 * runopt.h). Shared by the client and berthd: must not use ctl/client.c. */
#include "ctl/runopt.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "ctl/proto.h"
#include "core/err.h"
#include "core/limits.h"
#include "core/util.h"

const struct client_flag runopt_flags[RUNOPT_NFLAGS] = {
    [RUNOPT_DETACH] = {'d', "detach", 0},
    [RUNOPT_INTERACTIVE] = {'i', "interactive", 0},
    [RUNOPT_TTY] = {'t', "tty", 0},
    [RUNOPT_RM] = {0, "rm", 0},
    [RUNOPT_NAME] = {0, "name", 1},
    [RUNOPT_RESTART] = {0, "restart", 1},
    [RUNOPT_ENV] = {'e', "env", 1},
    [RUNOPT_ENV_FILE] = {0, "env-file", 1},
    [RUNOPT_HOSTNAME] = {'h', "hostname", 1},
    [RUNOPT_USER] = {'u', "user", 1},
    [RUNOPT_WORKDIR] = {'w', "workdir", 1},
    [RUNOPT_READ_ONLY] = {0, "read-only", 0},
    [RUNOPT_NETWORK] = {0, "network", 1},
    [RUNOPT_PID] = {0, "pid", 1},
    [RUNOPT_DEVICE] = {0, "device", 1},
    [RUNOPT_GROUP_ADD] = {0, "group-add", 1},
    [RUNOPT_REQUIRES] = {0, "requires", 1},
    [RUNOPT_STOP_SIGNAL] = {0, "stop-signal", 1},
    [RUNOPT_STOP_TIMEOUT] = {0, "stop-timeout", 1},
    [RUNOPT_LABEL] = {'l', "label", 1},
    [RUNOPT_LOG_OPT] = {0, "log-opt", 1},
    [RUNOPT_BACKOFF] = {0, "restart-backoff", 1},
    [RUNOPT_CAP_ADD] = {0, "cap-add", 1},
    [RUNOPT_CAP_DROP] = {0, "cap-drop", 1},
    [RUNOPT_PRIVILEGED] = {0, "privileged", 0},
    [RUNOPT_SECURITY_OPT] = {0, "security-opt", 1},
    [RUNOPT_MEMORY] = {'m', "memory", 1},
    [RUNOPT_MEMORY_SWAP] = {0, "memory-swap", 1},
    [RUNOPT_PIDS_LIMIT] = {0, "pids-limit", 1},
    [RUNOPT_CPUS] = {0, "cpus", 1},
    [RUNOPT_CPU_SHARES] = {'c', "cpu-shares", 1},
    [RUNOPT_INIT] = {0, "init", 0},
    [RUNOPT_IP] = {0, "ip", 1},
    [RUNOPT_PUBLISH] = {'p', "publish", 1},
    [RUNOPT_DNS] = {0, "dns", 1},
    [RUNOPT_EXPOSE] = {0, "expose", 1},
    [RUNOPT_PUBLISH_ALL] = {'P', "publish-all", 0},
    [RUNOPT_VOLUME] = {'v', "volume", 1},
    [RUNOPT_TMPFS] = {0, "tmpfs", 1},
    [RUNOPT_MOUNT] = {0, "mount", 1},
    [RUNOPT_DETACH_KEYS] = {0, "detach-keys", 1},
    [RUNOPT_SIG_PROXY] = {0, "sig-proxy", 0},
    [RUNOPT_HEALTH_CMD] = {0, "health-cmd", 1},
    [RUNOPT_NO_HEALTHCHECK] = {0, "no-healthcheck", 0},
    [RUNOPT_HEALTH_INTERVAL] = {0, "health-interval", 1},
    [RUNOPT_HEALTH_TIMEOUT] = {0, "health-timeout", 1},
    [RUNOPT_HEALTH_RETRIES] = {0, "health-retries", 1},
    [RUNOPT_HEALTH_START_PERIOD] = {0, "health-start-period", 1},
    [RUNOPT_HEALTH_START_INTERVAL] = {0, "health-start-interval", 1},
    [RUNOPT_HEALTH_ON_FAILURE] = {0, "health-on-failure", 1},
    [RUNOPT_SDNOTIFY] = {0, "sdnotify", 1},
};

/* Flags passed through as KEY=VALUE, booleans as KEY=1 or KEY=0 (berthd keeps the last). */
static const char *const pass_keys[RUNOPT_NFLAGS] = {
    [RUNOPT_INTERACTIVE] = "open_stdin",
    [RUNOPT_TTY] = "tty",
    [RUNOPT_RM] = "rm",
    [RUNOPT_NAME] = "name",
    [RUNOPT_RESTART] = "restart",
    [RUNOPT_HOSTNAME] = "hostname",
    [RUNOPT_USER] = "user",
    [RUNOPT_WORKDIR] = "workdir",
    [RUNOPT_READ_ONLY] = "read_only",
    [RUNOPT_NETWORK] = "network",
    [RUNOPT_PID] = "pid",
    [RUNOPT_DEVICE] = "device",
    [RUNOPT_GROUP_ADD] = "group_add",
    [RUNOPT_REQUIRES] = "requires",
    [RUNOPT_STOP_SIGNAL] = "stop_signal",
    [RUNOPT_CAP_ADD] = "cap_add",
    [RUNOPT_CAP_DROP] = "cap_drop",
    [RUNOPT_PRIVILEGED] = "privileged",
    [RUNOPT_PIDS_LIMIT] = "pids_limit",
    [RUNOPT_CPUS] = "cpus",
    [RUNOPT_CPU_SHARES] = "cpu_shares",
    [RUNOPT_INIT] = "init",
    [RUNOPT_IP] = "ip",
    [RUNOPT_PUBLISH] = "publish",
    [RUNOPT_DNS] = "dns",
    [RUNOPT_EXPOSE] = "expose",
    [RUNOPT_PUBLISH_ALL] = "publish_all",
    [RUNOPT_VOLUME] = "volume",
    [RUNOPT_TMPFS] = "tmpfs",
    [RUNOPT_MOUNT] = "mount",
    [RUNOPT_HEALTH_INTERVAL] = "health_interval",
    [RUNOPT_HEALTH_TIMEOUT] = "health_timeout",
    [RUNOPT_HEALTH_RETRIES] = "health_retries",
    [RUNOPT_HEALTH_START_PERIOD] = "health_start_period",
    [RUNOPT_HEALTH_START_INTERVAL] = "health_start_interval",
    [RUNOPT_HEALTH_ON_FAILURE] = "health_on_failure",
    [RUNOPT_SDNOTIFY] = "sdnotify",
};

static void bufp_free(struct proto_buf *b)
{
    proto_buf_free(b);
}
static void cjson_deletep(cJSON **j)
{
    if (*j)
        cJSON_Delete(*j);
}
static void cjson_freep(char **s)
{
    cJSON_free(*s);
}
#define auto_pbuf __attribute__((cleanup(bufp_free)))
#define auto_cj   __attribute__((cleanup(cjson_deletep)))
#define auto_cjs  __attribute__((cleanup(cjson_freep)))

int runopt_find(const char *long_name)
{
    for (int i = 0; i < RUNOPT_NFLAGS; i++)
        if (strcmp(runopt_flags[i].long_name, long_name) == 0)
            return i;
    return -1;
}

int runopt_client_only(int flag)
{
    return flag == RUNOPT_DETACH || flag == RUNOPT_DETACH_KEYS || flag == RUNOPT_SIG_PROXY;
}

int runopt_repeatable(int flag)
{
    switch (flag) {
    case RUNOPT_ENV:
    case RUNOPT_ENV_FILE:
    case RUNOPT_LABEL:
    case RUNOPT_LOG_OPT:
    case RUNOPT_CAP_ADD:
    case RUNOPT_CAP_DROP:
    case RUNOPT_SECURITY_OPT:
    case RUNOPT_PUBLISH:
    case RUNOPT_DNS:
    case RUNOPT_DEVICE:
    case RUNOPT_GROUP_ADD:
    case RUNOPT_REQUIRES:
    case RUNOPT_EXPOSE:
    case RUNOPT_VOLUME:
    case RUNOPT_TMPFS:
    case RUNOPT_MOUNT:
        return 1;
    default:
        return 0;
    }
}

int runopt_duration(int flag)
{
    return flag == RUNOPT_HEALTH_INTERVAL || flag == RUNOPT_HEALTH_TIMEOUT ||
           flag == RUNOPT_HEALTH_START_PERIOD || flag == RUNOPT_HEALTH_START_INTERVAL;
}

/* The client's spellings of a boolean flag's value (Go's strconv.ParseBool). */
static int parse_bool(const char *s)
{
    static const char *const yes[] = {"1", "t", "T", "true", "TRUE", "True"};
    static const char *const no[] = {"0", "f", "F", "false", "FALSE", "False"};
    if (!s)
        return 1;
    for (size_t i = 0; i < ARRAY_LEN(yes); i++) {
        if (strcmp(s, yes[i]) == 0)
            return 1;
        if (strcmp(s, no[i]) == 0)
            return 0;
    }
    return -1;
}

static int put_opt(struct proto_buf *req, const char *key, const char *val, struct err *e)
{
    if (proto_buf_opt(req, key, val) < 0)
        return err_set(e, errno, "build request");
    return 0;
}

/* -e K=V as is; -e K takes K from our environment, or nothing when it is unset. */
static int put_env(struct proto_buf *req, const char *kv, struct err *e)
{
    auto_pbuf struct proto_buf b = {0};

    if (kv[0] == '\0' || kv[0] == '=')
        return err_set(e, 0, "invalid environment variable: %s", kv);
    if (strchr(kv, '='))
        return put_opt(req, "env", kv, e);
    const char *v = getenv(kv);
    if (!v)
        return 0;
    if (proto_buf_printf(&b, "%s=%s", kv, v) < 0)
        return err_set(e, errno, "build request");
    return put_opt(req, "env", b.data, e);
}

/* Docker's env file: K=V or K lines; leading blanks, blank lines and # comments skipped. */
static int put_env_file(struct proto_buf *req, const char *path, struct err *e)
{
    char *save = NULL;
    auto_free char *txt = util_read_file(path, (size_t)CTR_ENV_MAX * CTR_STR_MAX, NULL, e);

    if (!txt)
        return err_wrap(e, "env file");
    for (char *line = strtok_r(txt, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        while (isspace((unsigned char)*line))
            line++;
        size_t n = strlen(line);
        if (n > 0 && line[n - 1] == '\r')
            line[--n] = '\0';
        if (n == 0 || line[0] == '#')
            continue;
        size_t klen = strcspn(line, "=");
        if (strcspn(line, " \t") < klen)
            return err_set(e, 0, "env file '%s': variable '%.*s' contains whitespaces", path,
                           (int)klen, line);
        if (put_env(req, line, e) < 0)
            return err_wrap(e, "env file '%s'", path);
    }
    return 0;
}

static int put_log_opt(struct proto_buf *req, const char *opt, struct err *e)
{
    const char *eq = strchr(opt, '=');
    size_t klen = eq ? (size_t)(eq - opt) : strlen(opt);
    char num[32];
    long long v;

    if (!eq)
        return err_set(e, 0, "invalid log opt '%s': expected KEY=VALUE", opt);
    if (klen == 8 && strncmp(opt, "max-size", klen) == 0) {
        if (util_parse_ram(eq + 1, &v) < 0 || v < 1)
            return err_set(e, 0, "invalid max-size '%s'", eq + 1);
        if (util_fmt(num, sizeof num, e, "%lld", v) < 0)
            return -1;
        return put_opt(req, "log_max_size", num, e);
    }
    if (klen == 8 && strncmp(opt, "max-file", klen) == 0) {
        if (util_parse_int(eq + 1, 1, LOG_FILES_MAX, &v, e) < 0)
            return err_wrap(e, "invalid max-file");
        return put_opt(req, "log_max_file", eq + 1, e);
    }
    return err_set(e, 0, "unknown log opt '%.*s' for berth-file log driver", (int)klen, opt);
}

/* MIN:MAX:RESET durations ("100ms:60s:10s") -> "backoff=MS:MS:MS". */
static int put_backoff(struct proto_buf *req, const char *spec, struct err *e)
{
    int64_t ms[3];
    char part[64], out[96];
    const char *p = spec;

    for (int k = 0; k < 3; k++) {
        size_t n = strcspn(p, ":");
        if ((k < 2 && p[n] != ':') || (k == 2 && p[n] != '\0') || n >= sizeof part)
            return err_set(e, 0, "invalid --restart-backoff '%s': expected MIN:MAX:RESET", spec);
        memcpy(part, p, n);
        part[n] = '\0';
        if (util_parse_duration_ms(part, &ms[k], e) < 0)
            return err_wrap(e, "invalid --restart-backoff");
        p += n + 1;
    }
    if (util_fmt(out, sizeof out, e, "%lld:%lld:%lld", (long long)ms[0], (long long)ms[1],
                 (long long)ms[2]) < 0)
        return -1;
    return put_opt(req, "backoff", out, e);
}

static int put_size(struct proto_buf *req, int flag, const char *val, struct err *e)
{
    long long n;
    char num[32];

    if (flag == RUNOPT_MEMORY_SWAP && strcmp(val, "-1") == 0)
        return put_opt(req, "memory_swap", "-1", e);
    if (util_parse_ram(val, &n) < 0)
        return err_set(e, 0, "invalid size '%s' for --%s", val, runopt_flags[flag].long_name);
    if (util_fmt(num, sizeof num, e, "%lld", n) < 0)
        return -1;
    return put_opt(req, flag == RUNOPT_MEMORY ? "memory" : "memory_swap", num, e);
}

/* seccomp=FILE: the profile is read here and sent inline, so berthd never opens a path named
 * by a client */
static int put_security_opt(struct proto_buf *req, const char *val, struct err *e)
{
    if (strncmp(val, "seccomp=", 8) == 0 && strcmp(val + 8, "unconfined") != 0) {
        size_t len = 0;
        auto_free char *txt = util_read_file(val + 8, CTL_LINE_MAX / 2, &len, e);
        if (!txt)
            return err_wrap(e, "seccomp profile");
        return put_opt(req, "seccomp_profile", txt, e);
    }
    return put_opt(req, "security_opt", val, e);
}

int runopt_put_health_test(struct proto_buf *req, const char *kind, const char *const *words,
                           size_t n, struct err *e)
{
    auto_cj cJSON *arr = cJSON_CreateArray();
    cJSON *s = arr ? cJSON_CreateString(kind) : NULL;

    if (!s || !cJSON_AddItemToArray(arr, s))
        return err_set(e, ENOMEM, "build health test");
    for (size_t i = 0; i < n; i++) {
        s = cJSON_CreateString(words[i]);
        if (!s || !cJSON_AddItemToArray(arr, s))
            return err_set(e, ENOMEM, "build health test");
    }
    auto_cjs char *txt = cJSON_PrintUnformatted(arr);
    if (!txt)
        return err_set(e, ENOMEM, "build health test");
    return put_opt(req, "health_test", txt, e);
}

int runopt_put(struct proto_buf *req, int flag, const char *val, struct err *e)
{
    long long n;
    auto_pbuf struct proto_buf b = {0};

    if (flag < 0 || flag >= RUNOPT_NFLAGS)
        return err_set(e, EINVAL, "unknown run flag %d", flag);
    if (!runopt_flags[flag].takes_value) {
        int on = parse_bool(val);
        if (on < 0)
            return err_set(e, 0, "invalid argument \"%s\" for \"--%s\" flag", val,
                           runopt_flags[flag].long_name);
        val = on ? "1" : "0";
    } else if (!val) {
        return err_set(e, 0, "flag needs an argument: --%s", runopt_flags[flag].long_name);
    }
    switch (flag) {
    case RUNOPT_ENV:
        return put_env(req, val, e);
    case RUNOPT_ENV_FILE:
        return put_env_file(req, val, e);
    case RUNOPT_STOP_TIMEOUT:
        if (util_parse_int(val, -1, INT_MAX, &n, e) < 0)
            return err_wrap(e, "invalid --stop-timeout");
        return put_opt(req, "stop_timeout", val, e);
    case RUNOPT_LABEL:
        if (strchr(val, '='))
            return put_opt(req, "label", val, e);
        if (proto_buf_printf(&b, "%s=", val) < 0)
            return err_set(e, errno, "build request");
        return put_opt(req, "label", b.data, e);
    case RUNOPT_LOG_OPT:
        return put_log_opt(req, val, e);
    case RUNOPT_MEMORY:
    case RUNOPT_MEMORY_SWAP:
        return put_size(req, flag, val, e);
    case RUNOPT_SECURITY_OPT:
        return put_security_opt(req, val, e);
    case RUNOPT_BACKOFF:
        return put_backoff(req, val, e);
    case RUNOPT_HEALTH_CMD:
        return runopt_put_health_test(req, "CMD-SHELL", &val, 1, e);
    case RUNOPT_NO_HEALTHCHECK:
        return strcmp(val, "1") == 0 ? runopt_put_health_test(req, "NONE", NULL, 0, e) : 0;
    default:
        /* passed through, or client only (no key) */
        return pass_keys[flag] ? put_opt(req, pass_keys[flag], val, e) : 0;
    }
}

int runopt_put_all(struct proto_buf *req, const struct client_opt *opts, size_t n, struct err *e)
{
    for (size_t i = 0; i < n; i++)
        if (opts[i].flag != RUNOPT_ENV && opts[i].flag != RUNOPT_ENV_FILE &&
            runopt_put(req, opts[i].flag, opts[i].val, e) < 0)
            return -1;
    /* Docker's order: the env files first, then -e, so -e overrides */
    for (size_t i = 0; i < n; i++)
        if (opts[i].flag == RUNOPT_ENV_FILE && runopt_put(req, opts[i].flag, opts[i].val, e) < 0)
            return -1;
    for (size_t i = 0; i < n; i++)
        if (opts[i].flag == RUNOPT_ENV && runopt_put(req, opts[i].flag, opts[i].val, e) < 0)
            return -1;
    return 0;
}
