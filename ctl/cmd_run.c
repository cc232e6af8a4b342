/* SPDX-License-Identifier: MIT */
/* ctl/cmd_run.c - berth run and berth create: Docker's flags turned into one run/create
 * request. The client resolves what only it can (-e K from its environment, --env-file, sizes
 * and durations); berthd checks every value. An attached run streams the container's output
 * and exits with its code. */
#include "ctl/cmd_run.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "ctl/client.h"
#include "ctl/proto.h"
#include "core/err.h"
#include "core/limits.h"
#include "core/util.h"

enum {
    RUN_DETACH,
    RUN_INTERACTIVE,
    RUN_TTY,
    RUN_RM,
    RUN_NAME,
    RUN_RESTART,
    RUN_ENV,
    RUN_ENV_FILE,
    RUN_HOSTNAME,
    RUN_USER,
    RUN_WORKDIR,
    RUN_READ_ONLY,
    RUN_NETWORK,
    RUN_STOP_SIGNAL,
    RUN_STOP_TIMEOUT,
    RUN_LABEL,
    RUN_LOG_OPT,
    RUN_BACKOFF,
    RUN_CAP_ADD,
    RUN_CAP_DROP,
    RUN_PRIVILEGED,
    RUN_SECURITY_OPT,
    RUN_MEMORY,
    RUN_MEMORY_SWAP,
    RUN_PIDS_LIMIT,
    RUN_CPUS,
    RUN_CPU_SHARES,
    RUN_INIT,
    RUN_IP,
    RUN_PUBLISH,
    RUN_DNS,
    RUN_EXPOSE,
    RUN_PUBLISH_ALL,
    RUN_VOLUME,
    RUN_TMPFS,
    RUN_MOUNT,
    RUN_DETACH_KEYS,
    RUN_SIG_PROXY,
    RUN_HEALTH_CMD,
    RUN_HEALTH_INTERVAL,
    RUN_HEALTH_TIMEOUT,
    RUN_HEALTH_RETRIES,
    RUN_HEALTH_START_PERIOD,
    RUN_HEALTH_START_INTERVAL,
    RUN_NO_HEALTHCHECK,
    RUN_HEALTH_ON_FAILURE,
    RUN_SDNOTIFY,
    RUN_NFLAGS,
};

static const struct client_flag run_flags[RUN_NFLAGS] = {
    [RUN_DETACH] = {'d', "detach", 0},
    [RUN_INTERACTIVE] = {'i', "interactive", 0},
    [RUN_TTY] = {'t', "tty", 0},
    [RUN_RM] = {0, "rm", 0},
    [RUN_NAME] = {0, "name", 1},
    [RUN_RESTART] = {0, "restart", 1},
    [RUN_ENV] = {'e', "env", 1},
    [RUN_ENV_FILE] = {0, "env-file", 1},
    [RUN_HOSTNAME] = {'h', "hostname", 1},
    [RUN_USER] = {'u', "user", 1},
    [RUN_WORKDIR] = {'w', "workdir", 1},
    [RUN_READ_ONLY] = {0, "read-only", 0},
    [RUN_NETWORK] = {0, "network", 1},
    [RUN_STOP_SIGNAL] = {0, "stop-signal", 1},
    [RUN_STOP_TIMEOUT] = {0, "stop-timeout", 1},
    [RUN_LABEL] = {'l', "label", 1},
    [RUN_LOG_OPT] = {0, "log-opt", 1},
    [RUN_BACKOFF] = {0, "restart-backoff", 1},
    [RUN_CAP_ADD] = {0, "cap-add", 1},
    [RUN_CAP_DROP] = {0, "cap-drop", 1},
    [RUN_PRIVILEGED] = {0, "privileged", 0},
    [RUN_SECURITY_OPT] = {0, "security-opt", 1},
    [RUN_MEMORY] = {'m', "memory", 1},
    [RUN_MEMORY_SWAP] = {0, "memory-swap", 1},
    [RUN_PIDS_LIMIT] = {0, "pids-limit", 1},
    [RUN_CPUS] = {0, "cpus", 1},
    [RUN_CPU_SHARES] = {'c', "cpu-shares", 1},
    [RUN_INIT] = {0, "init", 0},
    [RUN_IP] = {0, "ip", 1},
    [RUN_PUBLISH] = {'p', "publish", 1},
    [RUN_DNS] = {0, "dns", 1},
    [RUN_EXPOSE] = {0, "expose", 1},
    [RUN_PUBLISH_ALL] = {'P', "publish-all", 0},
    [RUN_VOLUME] = {'v', "volume", 1},
    [RUN_TMPFS] = {0, "tmpfs", 1},
    [RUN_MOUNT] = {0, "mount", 1},
    [RUN_DETACH_KEYS] = {0, "detach-keys", 1},
    [RUN_SIG_PROXY] = {0, "sig-proxy", 0},
    [RUN_HEALTH_CMD] = {0, "health-cmd", 1},
    [RUN_HEALTH_INTERVAL] = {0, "health-interval", 1},
    [RUN_HEALTH_TIMEOUT] = {0, "health-timeout", 1},
    [RUN_HEALTH_RETRIES] = {0, "health-retries", 1},
    [RUN_HEALTH_START_PERIOD] = {0, "health-start-period", 1},
    [RUN_HEALTH_START_INTERVAL] = {0, "health-start-interval", 1},
    [RUN_NO_HEALTHCHECK] = {0, "no-healthcheck", 0},
    [RUN_HEALTH_ON_FAILURE] = {0, "health-on-failure", 1},
    [RUN_SDNOTIFY] = {0, "sdnotify", 1},
};

/* Flags passed through as KEY=VALUE, booleans as KEY=1 or KEY=0 (berthd keeps the last). */
static const char *const run_keys[RUN_NFLAGS] = {
    [RUN_INTERACTIVE] = "open_stdin",
    [RUN_TTY] = "tty",
    [RUN_RM] = "rm",
    [RUN_NAME] = "name",
    [RUN_RESTART] = "restart",
    [RUN_HOSTNAME] = "hostname",
    [RUN_USER] = "user",
    [RUN_WORKDIR] = "workdir",
    [RUN_READ_ONLY] = "read_only",
    [RUN_NETWORK] = "network",
    [RUN_STOP_SIGNAL] = "stop_signal",
    [RUN_CAP_ADD] = "cap_add",
    [RUN_CAP_DROP] = "cap_drop",
    [RUN_PRIVILEGED] = "privileged",
    [RUN_PIDS_LIMIT] = "pids_limit",
    [RUN_CPUS] = "cpus",
    [RUN_CPU_SHARES] = "cpu_shares",
    [RUN_INIT] = "init",
    [RUN_IP] = "ip",
    [RUN_PUBLISH] = "publish",
    [RUN_DNS] = "dns",
    [RUN_EXPOSE] = "expose",
    [RUN_PUBLISH_ALL] = "publish_all",
    [RUN_VOLUME] = "volume",
    [RUN_TMPFS] = "tmpfs",
    [RUN_MOUNT] = "mount",
    [RUN_HEALTH_INTERVAL] = "health_interval",
    [RUN_HEALTH_TIMEOUT] = "health_timeout",
    [RUN_HEALTH_RETRIES] = "health_retries",
    [RUN_HEALTH_START_PERIOD] = "health_start_period",
    [RUN_HEALTH_START_INTERVAL] = "health_start_interval",
    [RUN_HEALTH_ON_FAILURE] = "health_on_failure",
    [RUN_SDNOTIFY] = "sdnotify",
};

static int put_opt(struct proto_buf *req, const char *key, const char *val, struct err *e)
{
    if (proto_buf_opt(req, key, val) < 0)
        return err_set(e, errno, "build request");
    return 0;
}

/* -e K=V as is; -e K takes K from our environment, or nothing when it is unset. */
static int put_env(struct proto_buf *req, const char *kv, struct err *e)
{
    auto_buf struct proto_buf b = {0};

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

int run_put_envs(struct proto_buf *req, const struct client_args *a, int env_flag,
                 int env_file_flag, struct err *e)
{
    /* Docker's order: the env files first, then -e, so -e overrides */
    for (size_t i = 0; i < a->nopts; i++)
        if (a->opts[i].flag == env_file_flag && put_env_file(req, a->opts[i].val, e) < 0)
            return -1;
    for (size_t i = 0; i < a->nopts; i++)
        if (a->opts[i].flag == env_flag && put_env(req, a->opts[i].val, e) < 0)
            return -1;
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

static int put_flag(struct proto_buf *req, const struct client_opt *o, struct err *e)
{
    const char *val = o->val;
    long long n;
    auto_buf struct proto_buf b = {0};

    switch (o->flag) {
    case RUN_STOP_TIMEOUT:
        if (util_parse_int(val, -1, INT_MAX, &n, e) < 0)
            return err_wrap(e, "invalid --stop-timeout");
        return put_opt(req, "stop_timeout", val, e);
    case RUN_LABEL:
        if (strchr(val, '='))
            return put_opt(req, "label", val, e);
        if (proto_buf_printf(&b, "%s=", val) < 0)
            return err_set(e, errno, "build request");
        return put_opt(req, "label", b.data, e);
    case RUN_LOG_OPT:
        return put_log_opt(req, val, e);
    case RUN_MEMORY:
    case RUN_MEMORY_SWAP: {
        char num[32];
        if (o->flag == RUN_MEMORY_SWAP && strcmp(val, "-1") == 0)
            return put_opt(req, "memory_swap", "-1", e);
        if (util_parse_ram(val, &n) < 0)
            return err_set(e, 0, "invalid size '%s' for --%s", val, run_flags[o->flag].long_name);
        if (util_fmt(num, sizeof num, e, "%lld", n) < 0)
            return -1;
        return put_opt(req, o->flag == RUN_MEMORY ? "memory" : "memory_swap", num, e);
    }
    case RUN_SECURITY_OPT:
        /* seccomp=FILE: the profile is read here and sent inline, so berthd never opens a
         * path named by a client */
        if (strncmp(val, "seccomp=", 8) == 0 && strcmp(val + 8, "unconfined") != 0) {
            size_t len = 0;
            auto_free char *txt = util_read_file(val + 8, CTL_LINE_MAX / 2, &len, e);
            if (!txt)
                return err_wrap(e, "seccomp profile");
            return put_opt(req, "seccomp_profile", txt, e);
        }
        return put_opt(req, "security_opt", val, e);
    case RUN_BACKOFF:
        return put_backoff(req, val, e);
    case RUN_HEALTH_CMD:
    case RUN_NO_HEALTHCHECK: {
        /* Docker's Healthcheck.Test as JSON: ["CMD-SHELL", S] or ["NONE"] */
        if (o->flag == RUN_NO_HEALTHCHECK && !client_opt_bool(o))
            return 0;
        auto_json cJSON *t = cJSON_CreateArray();
        int bad =
            !t || !cJSON_AddItemToArray(
                      t, cJSON_CreateString(o->flag == RUN_HEALTH_CMD ? "CMD-SHELL" : "NONE"));
        if (!bad && o->flag == RUN_HEALTH_CMD)
            bad = !cJSON_AddItemToArray(t, cJSON_CreateString(val));
        auto_free char *txt = bad ? NULL : cJSON_PrintUnformatted(t);
        if (!txt)
            return err_set(e, ENOMEM, "build request");
        return put_opt(req, "health_test", txt, e);
    }
    default:
        return 0; /* passed through (run_keys) or resolved elsewhere: -d, -e, --env-file */
    }
}

static int build_request(struct proto_buf *req, const struct client_spec *spec,
                         const struct client_args *a, int attach, int with_stdin, struct err *e)
{
    if (proto_buf_word(req, spec->name) < 0)
        return err_set(e, errno, "build request");
    if (put_opt(req, "image", a->pos[0], e) < 0)
        return -1;
    if (client_put_flags(req, a, spec, run_keys) < 0)
        return err_set(e, errno, "build request");
    for (size_t i = 0; i < a->nopts; i++)
        if (put_flag(req, &a->opts[i], e) < 0)
            return -1;
    if (run_put_envs(req, a, RUN_ENV, RUN_ENV_FILE, e) < 0)
        return -1;
    if (attach && put_opt(req, "attach", "1", e) < 0)
        return -1;
    if (with_stdin && put_opt(req, "stdin", "1", e) < 0)
        return -1;
    char size[32];
    if (attach && client_args_bool(a, RUN_TTY) &&
        tty_size_word(STDOUT_FILENO, size, sizeof size) == 0 &&
        put_opt(req, "tty_size", size, e) < 0)
        return -1;
    if (a->npos > 1 && proto_buf_word(req, "--") < 0)
        return err_set(e, errno, "build request");
    for (int i = 1; i < a->npos; i++)
        if (proto_buf_word(req, a->pos[i]) < 0)
            return err_set(e, errno, "build request");
    return 0;
}

/* The Id of an ok {"Id":..,"Warnings":[..]} reply; warnings go to stderr as Docker prints them. */
static int reply_id(const char *body, char *id, size_t size, struct err *e)
{
    auto_json cJSON *j = client_json_parse(body, e);
    const cJSON *w;

    if (!j)
        return -1;
    cJSON_ArrayForEach(w, cJSON_GetObjectItemCaseSensitive(j, "Warnings"))
    {
        if (cJSON_IsString(w))
            fprintf(stderr, "WARNING: %s\n", w->valuestring);
    }
    const char *s = client_json_str(j, "Id");
    if (!*s)
        return err_set(e, 0, "reply from berthd has no container id");
    return util_fmt(id, size, e, "%s", s);
}

static int run_common(int argc, char **argv, int is_run)
{
    const struct client_spec spec = {
        .name = is_run ? "run" : "create",
        .usage = "[OPTIONS] IMAGE [COMMAND] [ARG...]",
        .flags = run_flags,
        .nflags = RUN_NFLAGS,
        .stop_at_word = 1,
        .min_args = 1,
        .max_args = -1,
    };
    auto_args struct client_args a = {0};
    auto_buf struct proto_buf req = {0};
    auto_conn struct client_conn c = CLIENT_CONN_INIT;
    struct client_io io = CLIENT_IO_INIT;
    struct err e = {0};
    char id[CTR_ID_LEN + 1];
    const char *body;

    int rc = client_args_parse(&a, &spec, argc, argv);
    if (rc != 0)
        return rc > 0 ? 0 : CLIENT_EXIT_ENGINE;
    int attach = is_run && !client_args_bool(&a, RUN_DETACH);
    int in = attach && client_args_bool(&a, RUN_INTERACTIVE);
    int tty = client_args_bool(&a, RUN_TTY);
    const char *keys = client_args_last(&a, RUN_DETACH_KEYS);
    unsigned char kb[TTY_DETACH_MAX];
    size_t nk;
    if (keys && tty_detach_parse(keys, kb, &nk, &e) < 0) {
        client_error("%s", err_str(&e));
        return CLIENT_EXIT_ENGINE;
    }
    if (tty && in && !isatty(STDIN_FILENO)) {
        client_error("the input device is not a TTY");
        return CLIENT_EXIT_ENGINE;
    }
    /* with -t stdin is the pty: we copy our terminal into its master, passed back with the ok */
    if (build_request(&req, &spec, &a, attach, in && !tty, &e) < 0) {
        client_error("%s", err_str(&e));
        return CLIENT_EXIT_ENGINE;
    }
    int code = client_call(&c, &req, in && !tty ? STDIN_FILENO : -1, &body, &e);
    if (code < 0) {
        client_error("%s", err_str(&e));
        return CLIENT_EXIT_ENGINE;
    }
    if (code != 200) {
        client_error("%s", body);
        return is_run && code == 500 ? proto_start_exit_code(body) : CLIENT_EXIT_ENGINE;
    }
    if (reply_id(body, id, sizeof id, &e) < 0) {
        client_error("%s", err_str(&e));
        return CLIENT_EXIT_ENGINE;
    }
    if (!attach) {
        printf("%s\n", id);
        return 0;
    }
    /* the container runs already: without forwarding it is still worth showing its output */
    int proxy = !client_args_last(&a, RUN_SIG_PROXY) || client_args_bool(&a, RUN_SIG_PROXY);
    if (client_io_begin(&c, &io, client_take_fd(&c), tty, in && tty, 0, keys, proxy ? id : NULL,
                        &e) < 0)
        client_error("%s", err_str(&e));
    return client_attach(&c);
}

int cmd_run(int argc, char **argv)
{
    return run_common(argc, argv, 1);
}

int cmd_create(int argc, char **argv)
{
    return run_common(argc, argv, 0);
}
