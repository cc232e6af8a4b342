/* SPDX-License-Identifier: MIT */
/* core/ctr.c - a container's state machine and supervision. ctr_handle() is the only place
 * that assigns c->state; every transition logs "old -> new (why)", emits its events, notifies
 * waiting clients and marks the snapshot dirty. Runs on the loop: nothing here blocks beyond a
 * bounded syscall (clone, kill, mkdir, small file writes). */
#include "core/ctr.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/apply.h"
#include "core/devices.h"
#include "core/events.h"
#include "core/exec.h"
#include "core/health.h"
#include "core/log.h"
#include "core/network.h"
#include "core/server.h"
#include "core/spawn.h"
#include "core/sv.h"
#include "core/util.h"
#include "core/volume.h"
#include "storage/image.h"

static const char *const state_names[] = {
    [CTR_CREATED] = "created",       [CTR_RUNNING] = "running",   [CTR_PAUSED] = "paused",
    [CTR_RESTARTING] = "restarting", [CTR_STOPPING] = "stopping", [CTR_EXITED] = "exited",
    [CTR_REMOVING] = "removing",     [CTR_DEAD] = "dead",
};

const char *ctr_state_name(enum ctr_state s)
{
    return (unsigned)s < ARRAY_LEN(state_names) ? state_names[s] : "unknown";
}

int ctr_refuse(enum ctr_state st, int start_pending, enum ctr_request req, const char *ref,
               char *msg, size_t size)
{
    int running = st == CTR_RUNNING || st == CTR_STOPPING || start_pending;
    int gone = st == CTR_REMOVING || st == CTR_DEAD;
    const char *m = NULL;    /* a fixed message */
    const char *what = NULL; /* or "container REF <what>" */
    int code = 409;

    switch (req) {
    case CTR_REQ_START:
        if (st == CTR_PAUSED)
            m = "cannot start a paused container, try unpause instead";
        else if (gone)
            m = "container is marked for removal and cannot be started";
        else if (running)
            m = "container is already running", code = 304;
        break;
    case CTR_REQ_RESTART:
        if (st == CTR_PAUSED)
            m = "cannot restart a paused container, try unpause instead";
        else if (gone)
            m = "container is marked for removal and cannot be started";
        break;
    case CTR_REQ_STOP:
        if (!running && st != CTR_PAUSED && st != CTR_RESTARTING)
            m = "container is already stopped", code = 304;
        break;
    case CTR_REQ_KILL:
        if (!running && st != CTR_PAUSED)
            what = "is not running";
        break;
    case CTR_REQ_PAUSE:
        if (st == CTR_PAUSED)
            what = "is already paused";
        else if (st != CTR_RUNNING || start_pending)
            what = "is not running";
        break;
    case CTR_REQ_UNPAUSE:
        if (st != CTR_PAUSED)
            what = "is not paused";
        break;
    case CTR_REQ_EXEC:
        if (st == CTR_PAUSED) {
            /* Docker's wording names the container first */
            (void)snprintf(msg, size, "%s is paused, unpause the container before exec", ref);
            return 409;
        }
        if (st == CTR_RESTARTING)
            what = "is restarting, wait until it is running";
        else if (st != CTR_RUNNING || start_pending)
            what = "is not running";
        break;
    case CTR_REQ_RM:
        if (running || st == CTR_PAUSED)
            m = "container is running: stop it first or use force";
        break;
    case CTR_REQ_RM_FORCE:
        break;
    }
    if (what)
        (void)snprintf(msg, size, "container %s %s", ref, what);
    else if (m)
        (void)snprintf(msg, size, "%s", m);
    else
        return 0;
    return code;
}

void ctr_config_free(struct ctr_config *cfg)
{
    free(cfg->image);
    util_strv_free(cfg->argv);
    util_strv_free(cfg->env);
    util_strv_free(cfg->labels);
    free(cfg->hostname);
    free(cfg->user);
    free(cfg->workdir);
    free(cfg->network_name);
    free(cfg->ip);
    util_strv_free(cfg->ports);
    util_strv_free(cfg->dns);
    util_strv_free(cfg->expose);
    mounts_free(cfg->mounts, cfg->nmounts);
    util_strv_free(cfg->cap_add);
    util_strv_free(cfg->devices);
    util_strv_free(cfg->group_add);
    util_strv_free(cfg->requires);
    util_strv_free(cfg->cap_drop);
    free(cfg->seccomp_profile);
    health_config_free(&cfg->health);
    memset(cfg, 0, sizeof *cfg);
}

int ctr_parse_network(const char *s, struct ctr_config *cfg, struct err *e)
{
    enum ctr_net kind = CTR_NET_BRIDGE;
    const char *name = NULL;
    if (!s || !*s || strcmp(s, "default") == 0 || strcmp(s, "bridge") == 0)
        kind = CTR_NET_BRIDGE;
    else if (strcmp(s, "none") == 0)
        kind = CTR_NET_NONE;
    else if (strcmp(s, "host") == 0)
        kind = CTR_NET_HOST;
    else if (strncmp(s, "container:", 10) == 0) {
        kind = CTR_NET_CONTAINER;
        name = s + 10;
        if (!*name)
            return err_set(e, EINVAL, "--network container: needs a container name or id");
    } else if (util_valid_name(s)) {
        name = s;
    } else {
        return err_set(e, EINVAL, "invalid network name \"%s\"", s);
    }
    char *copy = NULL;
    if (name && !(copy = strdup(name)))
        return err_set(e, ENOMEM, "network name");
    free(cfg->network_name);
    cfg->network_name = copy;
    cfg->network = kind;
    return 0;
}

const char *ctr_network_name(const struct ctr_config *cfg, char *buf, size_t size)
{
    switch (cfg->network) {
    case CTR_NET_NONE:
        return "none";
    case CTR_NET_HOST:
        return "host";
    case CTR_NET_BRIDGE:
        return cfg->network_name ? cfg->network_name : "bridge";
    case CTR_NET_CONTAINER:
        (void)snprintf(buf, size, "container:%s", cfg->network_name ? cfg->network_name : "");
        return buf;
    }
    return "none";
}

static const char *const restart_names[] = {
    [CTR_RESTART_NO] = "no",
    [CTR_RESTART_ALWAYS] = "always",
    [CTR_RESTART_UNLESS_STOPPED] = "unless-stopped",
    [CTR_RESTART_ON_FAILURE] = "on-failure",
};

const char *ctr_restart_name(enum ctr_restart r)
{
    return restart_names[r];
}

int ctr_parse_restart(const char *s, enum ctr_restart *out, int *max_retries, struct err *e)
{
    *max_retries = 0;
    if (!s || !*s || strcmp(s, "no") == 0)
        *out = CTR_RESTART_NO;
    else if (strcmp(s, "always") == 0)
        *out = CTR_RESTART_ALWAYS;
    else if (strcmp(s, "unless-stopped") == 0)
        *out = CTR_RESTART_UNLESS_STOPPED;
    else if (strncmp(s, "on-failure", 10) == 0 && (s[10] == '\0' || s[10] == ':')) {
        *out = CTR_RESTART_ON_FAILURE;
        if (s[10] == ':') {
            long long n;
            if (util_parse_int(s + 11, 0, 1000000, &n, e) < 0)
                return err_set(e, EINVAL, "invalid restart policy '%s': bad retry count", s);
            *max_retries = (int)n;
        }
    } else
        return err_set(e, EINVAL, "invalid restart policy '%s'", s);
    if (*out != CTR_RESTART_ON_FAILURE && s && strchr(s, ':'))
        return err_set(e, EINVAL, "invalid restart policy '%s': only on-failure takes a count", s);
    return 0;
}

/* P (N bytes) is absolute and clean: every component between slashes is non-empty and
 * neither "." nor "..", so no "//", no trailing "/". */
static int device_path_ok(const char *p, size_t n)
{
    if (n < 2 || n >= CTR_DEVICE_PATH_MAX || p[0] != '/')
        return 0;
    for (size_t i = 1; i <= n;) {
        size_t j = i;
        while (j < n && p[j] != '/')
            j++;
        size_t len = j - i;
        if (len == 0 || (len == 1 && p[i] == '.') || (len == 2 && p[i] == '.' && p[i + 1] == '.'))
            return 0;
        i = j + 1;
    }
    return 1;
}

static const char *const cond_names[] = {"started", "healthy", "completed"};

const char *ctr_cond_name(enum ctr_cond cond)
{
    return (unsigned)cond < sizeof cond_names / sizeof *cond_names ? cond_names[cond] : "?";
}

static int cond_parse(const char *s, enum ctr_cond *cond)
{
    for (size_t i = 0; i < sizeof cond_names / sizeof *cond_names; i++)
        if (strcmp(s, cond_names[i]) == 0) {
            *cond = (enum ctr_cond)i;
            return 0;
        }
    return -1;
}

int ctr_parse_requires(const char *s, char *buf, size_t size, struct err *e)
{
    const char *name = s[0] == '/' ? s + 1 : s, *colon = strchr(name, ':');
    size_t n = colon ? (size_t)(colon - name) : strlen(name);
    char nm[CTR_NAME_MAX];
    enum ctr_cond cond = CTR_COND_STARTED;
    if (n == 0 || n >= sizeof nm)
        return err_set(e, 0, "invalid --requires \"%s\": want NAME[:CONDITION]", s);
    memcpy(nm, name, n);
    nm[n] = '\0';
    if (!util_valid_name(nm))
        return err_set(e, 0, "invalid --requires \"%s\": \"%s\" is not a container name", s, nm);
    if (colon && cond_parse(colon + 1, &cond) < 0)
        return err_set(
            e, 0, "invalid --requires \"%s\": the condition is started, healthy or completed", s);
    return util_fmt(buf, size, e, "%s:%s", nm, cond_names[cond]);
}

int ctr_requires_split(const char *canon, char name[CTR_NAME_MAX], enum ctr_cond *cond)
{
    const char *colon = strrchr(canon, ':');
    size_t n = colon ? (size_t)(colon - canon) : 0;
    if (n == 0 || n >= CTR_NAME_MAX || cond_parse(colon + 1, cond) < 0)
        return -1;
    memcpy(name, canon, n);
    name[n] = '\0';
    return util_valid_name(name) ? 0 : -1;
}

int ctr_parse_device(const char *s, char *buf, size_t size, struct err *e)
{
    const char *f[3] = {s, NULL, NULL};
    size_t len[3] = {0, 0, 0};
    int n = 1;
    for (const char *p = s; *p; p++)
        if (*p == ':') {
            if (n == 3)
                return err_set(e, 0, "invalid --device \"%s\": too many ':'", s);
            f[n++] = p + 1;
        }
    for (int i = 0; i < n; i++)
        len[i] = (i + 1 < n ? (size_t)(f[i + 1] - f[i]) - 1 : strlen(f[i]));
    unsigned access = DEVICES_RWM;
    const char *ctr = f[0];
    size_t ctr_len = len[0];
    if (n == 3 || (n == 2 && f[1][0] != '/')) {
        if (devices_parse_access(f[n - 1], len[n - 1], &access) < 0)
            return err_set(e, 0, "invalid --device \"%s\": bad permissions \"%.*s\" (r, w, m)", s,
                           (int)len[n - 1], f[n - 1]);
    }
    if (n == 3 || (n == 2 && f[1][0] == '/')) {
        ctr = f[1];
        ctr_len = len[1];
    }
    if (!device_path_ok(f[0], len[0]))
        return err_set(e, 0, "invalid --device \"%s\": the host path must be absolute and clean",
                       s);
    if (!device_path_ok(ctr, ctr_len) || ctr_len < 6 || strncmp(ctr, "/dev/", 5) != 0)
        return err_set(
            e, 0, "invalid --device \"%s\": the container path must be a clean path under /dev", s);
    char perms[4];
    devices_format_access(access, perms);
    return util_fmt(buf, size, e, "%.*s:%.*s:%s", (int)len[0], f[0], (int)ctr_len, ctr, perms);
}

int ctr_device_split(const char *canon, struct ctr_device *d)
{
    const char *a = strchr(canon, ':');
    const char *b = a ? strchr(a + 1, ':') : NULL;
    memset(d, 0, sizeof *d);
    if (!b || (size_t)(a - canon) >= sizeof d->host || (size_t)(b - a - 1) >= sizeof d->path ||
        devices_parse_access(b + 1, strlen(b + 1), &d->access) < 0)
        return -1;
    (void)snprintf(d->host, sizeof d->host, "%.*s", (int)(a - canon), canon);
    (void)snprintf(d->path, sizeof d->path, "%.*s", (int)(b - a - 1), a + 1);
    return 0;
}

int ctr_device_resolve(const char *canon, struct ctr_device *d, struct err *e)
{
    if (ctr_device_split(canon, d) < 0)
        return err_set(e, EINVAL, "bad device spec '%s'", canon);
    struct stat st;
    if (stat(d->host, &st) < 0)
        return err_set(e, 0,
                       "error gathering device information while adding custom device \"%s\": %s",
                       d->host, errno == ENOENT ? "no such file or directory" : strerror(errno));
    if (!S_ISCHR(st.st_mode) && !S_ISBLK(st.st_mode))
        return err_set(e, 0,
                       "error gathering device information while adding custom device \"%s\": "
                       "not a device node",
                       d->host);
    d->mode = st.st_mode & (S_IFMT | 07777);
    d->rdev = st.st_rdev;
    d->uid = st.st_uid;
    d->gid = st.st_gid;
    return 0;
}

int ctr_backoff_next(int *cur, int64_t ran_ms, int min_ms, int max_ms, int reset_ms)
{
    if (*cur <= 0 || ran_ms >= reset_ms)
        *cur = min_ms;
    else
        *cur = *cur > max_ms / 2 ? max_ms : *cur * 2;
    if (*cur > max_ms)
        *cur = max_ms;
    return *cur;
}

int ctr_status_code(int status)
{
    if (status < 0)
        return 255;
    if (WIFEXITED(status))
        return WEXITSTATUS(status);
    if (WIFSIGNALED(status))
        return 128 + WTERMSIG(status);
    return 255;
}

int ctr_policy_restarts(const struct ctr *c, int code)
{
    switch (c->cfg.restart) {
    case CTR_RESTART_NO:
        return 0;
    case CTR_RESTART_ALWAYS:
    case CTR_RESTART_UNLESS_STOPPED:
        return 1;
    case CTR_RESTART_ON_FAILURE:
        return code != 0 && (c->cfg.max_retries == 0 || c->restart_count < c->cfg.max_retries);
    }
    return 0;
}

/* ---- configuration as JSON (snapshot; inspect builds its own Docker view) ---- */

static cJSON *strv_json(char **v)
{
    cJSON *a = cJSON_CreateArray();
    for (char **p = v; a && p && *p; p++)
        cJSON_AddItemToArray(a, cJSON_CreateString(*p));
    return a;
}

cJSON *ctr_config_json(const struct ctr_config *cfg)
{
    cJSON *j = cJSON_CreateObject();
    if (!j)
        return NULL;
    cJSON_AddStringToObject(j, "Image", cfg->image ? cfg->image : "");
    cJSON_AddItemToObject(j, "Argv", strv_json(cfg->argv));
    cJSON_AddItemToObject(j, "Env", strv_json(cfg->env));
    cJSON_AddItemToObject(j, "Labels", strv_json(cfg->labels));
    cJSON_AddStringToObject(j, "Hostname", cfg->hostname ? cfg->hostname : "");
    cJSON_AddStringToObject(j, "User", cfg->user ? cfg->user : "");
    cJSON_AddStringToObject(j, "WorkingDir", cfg->workdir ? cfg->workdir : "");
    cJSON_AddBoolToObject(j, "ReadOnly", cfg->read_only);
    cJSON_AddBoolToObject(j, "PidHost", cfg->pid_host);
    char net[CTR_STR_MAX + 16];
    cJSON_AddStringToObject(j, "Network", ctr_network_name(cfg, net, sizeof net));
    if (cfg->ip)
        cJSON_AddStringToObject(j, "IPv4Address", cfg->ip);
    cJSON_AddItemToObject(j, "Ports", strv_json(cfg->ports));
    cJSON_AddItemToObject(j, "Dns", strv_json(cfg->dns));
    cJSON_AddItemToObject(j, "Devices", strv_json(cfg->devices));
    cJSON_AddItemToObject(j, "GroupAdd", strv_json(cfg->group_add));
    cJSON_AddItemToObject(j, "Requires", strv_json(cfg->requires));
    cJSON_AddItemToObject(j, "ExposedPorts", strv_json(cfg->expose));
    cJSON_AddBoolToObject(j, "PublishAllPorts", cfg->publish_all);
    cJSON *mounts = cJSON_AddArrayToObject(j, "Mounts");
    for (int i = 0; mounts && i < cfg->nmounts; i++)
        cJSON_AddItemToArray(mounts, mount_json(&cfg->mounts[i]));
    cJSON_AddNumberToObject(j, "StopSignal", cfg->stop_signal);
    cJSON_AddNumberToObject(j, "StopTimeout", cfg->stop_timeout);
    cJSON_AddStringToObject(j, "Restart", ctr_restart_name(cfg->restart));
    cJSON_AddNumberToObject(j, "MaxRetries", cfg->max_retries);
    cJSON_AddBoolToObject(j, "AutoRemove", cfg->auto_remove);
    cJSON_AddBoolToObject(j, "OpenStdin", cfg->open_stdin);
    cJSON_AddBoolToObject(j, "Tty", cfg->tty);
    cJSON_AddNumberToObject(j, "LogMaxSize", (double)cfg->log_max_size);
    cJSON_AddNumberToObject(j, "LogMaxFile", cfg->log_max_file);
    cJSON_AddNumberToObject(j, "BackoffMin", cfg->backoff_min_ms);
    cJSON_AddNumberToObject(j, "BackoffMax", cfg->backoff_max_ms);
    cJSON_AddNumberToObject(j, "BackoffReset", cfg->backoff_reset_ms);
    cJSON_AddItemToObject(j, "CapAdd", strv_json(cfg->cap_add));
    cJSON_AddItemToObject(j, "CapDrop", strv_json(cfg->cap_drop));
    cJSON_AddBoolToObject(j, "Privileged", cfg->privileged);
    cJSON_AddBoolToObject(j, "NoNewPrivileges", cfg->no_new_privs);
    cJSON_AddBoolToObject(j, "SeccompUnconfined", cfg->seccomp_unconfined);
    if (cfg->seccomp_profile)
        cJSON_AddStringToObject(j, "SeccompProfile", cfg->seccomp_profile);
    cJSON_AddNumberToObject(j, "Memory", (double)cfg->memory);
    cJSON_AddNumberToObject(j, "MemorySwap", (double)cfg->memory_swap);
    cJSON_AddNumberToObject(j, "PidsLimit", (double)cfg->pids_limit);
    cJSON_AddNumberToObject(j, "NanoCpus", (double)cfg->nano_cpus);
    cJSON_AddNumberToObject(j, "CpuShares", (double)cfg->cpu_shares);
    cJSON_AddBoolToObject(j, "Init", cfg->init);
    cJSON_AddItemToObject(j, "Health", health_config_json(&cfg->health));
    return j;
}

static int json_str(const cJSON *j, const char *k, int required, char **out, struct err *e)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, k);
    if (!v) {
        if (required)
            return err_set(e, EINVAL, "config: missing '%s'", k);
        return 0;
    }
    if (!cJSON_IsString(v) || strlen(v->valuestring) >= CTR_STR_MAX)
        return err_set(e, EINVAL, "config: '%s' must be a string", k);
    *out = strdup(v->valuestring);
    return *out ? 0 : err_set(e, ENOMEM, "config: '%s'", k);
}

static int json_strv(const cJSON *j, const char *k, size_t max, char ***out, struct err *e)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, k);
    if (!v || cJSON_IsNull(v))
        return 0;
    if (!cJSON_IsArray(v))
        return err_set(e, EINVAL, "config: '%s' must be an array", k);
    size_t n = (size_t)cJSON_GetArraySize(v);
    if (n > max)
        return err_set(e, E2BIG, "config: '%s' has more than %zu entries", k, max);
    char **a = calloc(n + 1, sizeof *a);
    if (!a)
        return err_set(e, ENOMEM, "config: '%s'", k);
    size_t i = 0;
    const cJSON *it;
    cJSON_ArrayForEach(it, v)
    {
        if (!cJSON_IsString(it) || strlen(it->valuestring) >= CTR_STR_MAX ||
            !(a[i] = strdup(it->valuestring))) {
            util_strv_free(a);
            return err_set(e, EINVAL, "config: '%s' entries must be strings", k);
        }
        i++;
    }
    *out = a;
    return 0;
}

static int json_int(const cJSON *j, const char *k, double min, double max, long long *out,
                    struct err *e)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, k);
    if (!v)
        return 0;
    if (cJSON_IsBool(v)) {
        *out = cJSON_IsTrue(v);
        return 0;
    }
    if (!cJSON_IsNumber(v) || v->valuedouble < min || v->valuedouble > max)
        return err_set(e, EINVAL, "config: '%s' must be a number in range", k);
    *out = (long long)v->valuedouble;
    return 0;
}

int ctr_config_from_json(const cJSON *j, struct ctr_config *cfg, struct err *e)
{
    long long v;
    char *s = NULL;

    memset(cfg, 0, sizeof *cfg);
    if (!cJSON_IsObject(j))
        return err_set(e, EINVAL, "config: not an object");
    if (json_str(j, "Image", 1, &cfg->image, e) < 0 ||
        json_strv(j, "Argv", CTR_ARGS_MAX, &cfg->argv, e) < 0 ||
        json_strv(j, "Env", CTR_ENV_MAX, &cfg->env, e) < 0 ||
        json_strv(j, "Labels", CTR_LABELS_MAX, &cfg->labels, e) < 0 ||
        json_str(j, "Hostname", 1, &cfg->hostname, e) < 0 ||
        json_str(j, "User", 0, &cfg->user, e) < 0 ||
        json_str(j, "WorkingDir", 0, &cfg->workdir, e) < 0)
        goto fail;
    if (!cfg->argv || !cfg->argv[0]) {
        err_set(e, EINVAL, "config: empty command");
        goto fail;
    }
    cfg->stop_signal = SIGTERM;
    cfg->stop_timeout = STOP_TIMEOUT_DEFAULT;
    cfg->backoff_min_ms = BACKOFF_MIN_MS;
    cfg->backoff_max_ms = BACKOFF_MAX_MS;
    cfg->backoff_reset_ms = BACKOFF_RESET_MS;
    cfg->log_max_size = LOG_SIZE_DEFAULT;
    cfg->log_max_file = LOG_FILES_DEFAULT;
#define INT_FIELD(key, field, lo, hi)                                                              \
    do {                                                                                           \
        v = cfg->field;                                                                            \
        if (json_int(j, key, lo, hi, &v, e) < 0)                                                   \
            goto fail;                                                                             \
        cfg->field = (__typeof__(cfg->field))v;                                                    \
    } while (0)
    INT_FIELD("ReadOnly", read_only, 0, 1);
    INT_FIELD("PidHost", pid_host, 0, 1);
    INT_FIELD("StopSignal", stop_signal, 1, 64);
    INT_FIELD("StopTimeout", stop_timeout, -1, 1e9);
    INT_FIELD("MaxRetries", max_retries, 0, 1e6);
    INT_FIELD("AutoRemove", auto_remove, 0, 1);
    INT_FIELD("OpenStdin", open_stdin, 0, 1);
    INT_FIELD("Tty", tty, 0, 1);
    INT_FIELD("LogMaxSize", log_max_size, 1024, 1e12);
    INT_FIELD("LogMaxFile", log_max_file, 1, LOG_FILES_MAX);
    INT_FIELD("BackoffMin", backoff_min_ms, 1, 1e9);
    INT_FIELD("BackoffMax", backoff_max_ms, 1, 1e9);
    INT_FIELD("BackoffReset", backoff_reset_ms, 1, 1e9);
    cfg->no_new_privs = 1;
    cfg->pids_limit = PIDS_LIMIT_DEFAULT;
    INT_FIELD("Privileged", privileged, 0, 1);
    INT_FIELD("NoNewPrivileges", no_new_privs, 0, 1);
    INT_FIELD("SeccompUnconfined", seccomp_unconfined, 0, 1);
    INT_FIELD("Memory", memory, 0, 1e15);
    INT_FIELD("MemorySwap", memory_swap, -1, 1e15);
    INT_FIELD("PidsLimit", pids_limit, -1, 1e9);
    INT_FIELD("NanoCpus", nano_cpus, 0, 1e13);
    INT_FIELD("CpuShares", cpu_shares, 0, 262144);
    INT_FIELD("Init", init, 0, 1);
    INT_FIELD("PublishAllPorts", publish_all, 0, 1);
#undef INT_FIELD
    if (json_strv(j, "CapAdd", CTR_CAPS_MAX, &cfg->cap_add, e) < 0 ||
        json_strv(j, "CapDrop", CTR_CAPS_MAX, &cfg->cap_drop, e) < 0)
        goto fail;
    const cJSON *prof = cJSON_GetObjectItemCaseSensitive(j, "SeccompProfile");
    if (prof) {
        if (!cJSON_IsString(prof) || strlen(prof->valuestring) > CTL_LINE_MAX) {
            err_set(e, EINVAL, "config: 'SeccompProfile' must be a string");
            goto fail;
        }
        if (!(cfg->seccomp_profile = strdup(prof->valuestring))) {
            err_set(e, ENOMEM, "config: 'SeccompProfile'");
            goto fail;
        }
    }
    if (json_str(j, "Network", 0, &s, e) < 0)
        goto fail;
    if (ctr_parse_network(s ? s : "none", cfg, e) < 0) {
        free(s);
        goto fail;
    }
    free(s);
    s = NULL;
    if (json_str(j, "IPv4Address", 0, &cfg->ip, e) < 0 ||
        json_strv(j, "Ports", CTR_PORTS_MAX, &cfg->ports, e) < 0 ||
        json_strv(j, "Dns", CTR_DNS_MAX, &cfg->dns, e) < 0 ||
        json_strv(j, "Devices", CTR_DEVICES_MAX, &cfg->devices, e) < 0 ||
        json_strv(j, "GroupAdd", CTR_GROUP_ADD_MAX, &cfg->group_add, e) < 0 ||
        json_strv(j, "Requires", CTR_REQUIRES_MAX, &cfg->requires, e) < 0 ||
        json_strv(j, "ExposedPorts", CTR_PORTS_MAX, &cfg->expose, e) < 0)
        goto fail;
    for (char **r = cfg->requires; r && *r; r++) {
        char nm[CTR_NAME_MAX];
        enum ctr_cond cond;
        if (ctr_requires_split(*r, nm, &cond) < 0) {
            err_set(e, EINVAL, "config: 'Requires' has an invalid entry \"%s\"", *r);
            goto fail;
        }
    }
    const cJSON *mounts = cJSON_GetObjectItemCaseSensitive(j, "Mounts");
    if (mounts) {
        int n = cJSON_GetArraySize(mounts);
        if (!cJSON_IsArray(mounts) || n > CTR_MOUNTS_MAX) {
            err_set(e, EINVAL, "config: 'Mounts' must be an array of at most %d", CTR_MOUNTS_MAX);
            goto fail;
        }
        if (n && !(cfg->mounts = calloc((size_t)n, sizeof *cfg->mounts))) {
            err_set(e, ENOMEM, "config: 'Mounts'");
            goto fail;
        }
        const cJSON *it;
        cJSON_ArrayForEach(it, mounts)
        {
            if (mount_from_json(it, &cfg->mounts[cfg->nmounts], e) < 0) {
                err_wrap(e, "config: 'Mounts'");
                goto fail;
            }
            cfg->nmounts++;
        }
        if (mounts_check(cfg->mounts, cfg->nmounts, e) < 0)
            goto fail;
    }
    if (json_str(j, "Restart", 0, &s, e) < 0)
        goto fail;
    int retries = 0;
    if (ctr_parse_restart(s, &cfg->restart, &retries, e) < 0) {
        free(s);
        goto fail;
    }
    free(s);
    if (health_config_from_json(cJSON_GetObjectItemCaseSensitive(j, "Health"), &cfg->health, e) < 0)
        goto fail;
    return 0;
fail:
    ctr_config_free(cfg);
    return -1;
}

/* ---- creation ---- */

static int ctr_dir(const struct ctr *c, const char *sub, char *buf, size_t size, struct err *e)
{
    if (sub)
        return util_fmt(buf, size, e, "%s/%s/%s", c->sv->containers_dir, c->id, sub);
    return util_fmt(buf, size, e, "%s/%s", c->sv->containers_dir, c->id);
}

static int write_small(const struct ctr *c, const char *name, const char *text, struct err *e)
{
    char p[PATH_MAX_BERTH];
    if (ctr_dir(c, name, p, sizeof p, e) < 0)
        return -1;
    auto_close int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return err_set(e, errno, "create '%s'", p);
    return util_write_all(fd, text, strlen(text), e);
}

/* /etc/resolv.conf: the --dns servers, else the host's file; a container with its own netns
 * cannot reach a loopback resolver of the host's, so those lines give way to public servers
 * (as Docker does) when nothing else is left. */
static int write_resolv(struct ctr *c, struct err *e)
{
    char text[4096];
    size_t off = 0;
    int servers = 0;
    for (char **d = c->cfg.dns; d && *d; d++) {
        int n = snprintf(text + off, sizeof text - off, "nameserver %s\n", *d);
        if (n > 0 && (size_t)n < sizeof text - off)
            off += (size_t)n;
    }
    if (c->cfg.dns && c->cfg.dns[0])
        return write_small(c, "resolv.conf", text, e);
    struct err ig;
    auto_free char *host = util_read_file("/etc/resolv.conf", 1 << 20, NULL, &ig);
    if (!host || c->cfg.network == CTR_NET_HOST)
        return write_small(c, "resolv.conf", host ? host : "", e);
    text[0] = 0;
    for (char *save = NULL, *line = strtok_r(host, "\n", &save); line;
         line = strtok_r(NULL, "\n", &save)) {
        int local = strncmp(line, "nameserver", 10) == 0 &&
                    (strstr(line, " 127.") || strstr(line, "\t127.") || strstr(line, " ::1"));
        servers += !local && strncmp(line, "nameserver", 10) == 0;
        int n = local ? 0 : snprintf(text + off, sizeof text - off, "%s\n", line);
        if (n > 0 && (size_t)n < sizeof text - off)
            off += (size_t)n;
    }
    if (!servers) {
        int n = snprintf(text + off, sizeof text - off, "nameserver 8.8.8.8\nnameserver 8.8.4.4\n");
        if (n > 0 && (size_t)n < sizeof text - off)
            off += (size_t)n;
    }
    return write_small(c, "resolv.conf", text, e);
}

static int make_files(struct ctr *c, struct err *e)
{
    char p[PATH_MAX_BERTH], text[1024];
    static const char *const subs[] = {NULL, "upper", "work", "merged"};

    for (size_t i = 0; i < ARRAY_LEN(subs); i++) {
        if (ctr_dir(c, subs[i], p, sizeof p, e) < 0)
            return -1;
        if (mkdir(p, i == 0 ? 0710 : 0755) < 0)
            return err_set(e, errno, "mkdir '%s'", p);
    }
    (void)snprintf(text, sizeof text, "%s\n", c->cfg.hostname);
    if (write_small(c, "hostname", text, e) < 0)
        return -1;
    if (c->cfg.network == CTR_NET_HOST) {
        struct err ig;
        auto_free char *hosts = util_read_file("/etc/hosts", 1 << 20, NULL, &ig);
        if (write_small(c, "hosts", hosts ? hosts : "127.0.0.1\tlocalhost\n", e) < 0)
            return -1;
    } else {
        (void)network_hosts_text(c, NULL, text, sizeof text); /* fits: a hostname is short */
        if (write_small(c, "hosts", text, e) < 0)
            return -1;
    }
    if (write_resolv(c, e) < 0)
        return -1;
    if (ctr_dir(c, NULL, p, sizeof p, e) < 0)
        return -1;
    return logfile_make_fifos(p, e);
}

static void on_ctr_output(struct logfile *lf, int stream, const char *buf, size_t len)
{
    struct ctr *c = lf->data;
    server_ctr_output(c->sv, c, stream, buf, len);
}

static void on_ctr_logline(struct logfile *lf, const char *line, size_t len)
{
    struct ctr *c = lf->data;
    server_ctr_logline(c->sv, c, line, len);
}

static void on_grace_timer(struct ev_loop *loop, ev_timer *w, int revents);
static void on_restart_timer(struct ev_loop *loop, ev_timer *w, int revents);

/* ---- cgroups ---- */

#define CG_RETRY_MAX 250 /* x 20 ms: processes of a dead pid namespace are still being reaped */

static void cg_watch_stop(struct ctr *c)
{
    if (c->oom_fd >= 0) {
        ev_io_stop(c->sv->loop, &c->oom_w);
        (void)close(c->oom_fd);
        c->oom_fd = -1;
    }
}

static void cg_check_oom(struct ctr *c)
{
    long long kills = 0;
    struct err e = {0};
    if (c->has_cg && cgroup_oom_kills(&c->cg, &kills, &e) == 0 && kills > 0 && !c->oom_killed) {
        c->oom_killed = 1;
        events_emit(c->sv, c, "oom", NULL, NULL);
        sv_mark_dirty(c->sv);
    }
}

static void on_oom_readable(struct ev_loop *loop, ev_io *w, int revents)
{
    struct ctr *c = w->data;
    struct err e = {0};
    (void)loop;
    (void)revents;
    (void)cgroup_oom_drain(c->oom_fd, &e); /* a failed drain only means one more wakeup */
    cg_check_oom(c);
}

static void cg_try_destroy(struct ctr *c)
{
    struct err e = {0};
    if (!c->has_cg)
        return;
    (void)cgroup_kill_all(&c->cg, &e); /* stragglers of a dead namespace, if any */
    if (cgroup_destroy(&c->cg, &e) == 0) {
        c->has_cg = 0;
        sv_shutdown_progress(c->sv); /* a shutdown may have been waiting for this */
        return;
    }
    if (e.code == EBUSY && c->cg_tries++ < CG_RETRY_MAX) {
        ev_timer_set(&c->cg_w, 0.02, 0.);
        ev_timer_start(c->sv->loop, &c->cg_w);
        return;
    }
    log_err(&e, "remove cgroup of '%s'", c->name);
    c->has_cg = 0; /* given up: the container may be freed */
}

static void on_cg_retry(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    cg_try_destroy(w->data);
}

/* After the init died: note an OOM kill, stop watching, remove the group. */
static void cg_release(struct ctr *c)
{
    if (!c->has_cg)
        return;
    cg_check_oom(c);
    cg_watch_stop(c);
    c->cg_tries = 0;
    cg_try_destroy(c);
}

void ctr_cgroup_limits(const struct ctr_config *cfg, struct cgroup_limits *lim)
{
    memset(lim, 0, sizeof *lim);
    lim->memory = cfg->memory;
    lim->memory_swap = cfg->memory_swap;
    lim->pids = cfg->pids_limit;
    if (cfg->nano_cpus > 0) {
        lim->cpu_period_us = 100000;
        lim->cpu_quota_us = cfg->nano_cpus / 10000; /* 1e9 nano cpus = 100000 us / 100000 us */
    }
    lim->cpu_shares = cfg->cpu_shares;
    lim->all_devices = cfg->privileged;
}

static int cg_name(const struct ctr *c, char *buf, size_t size, struct err *e)
{
    return util_fmt(buf, size, e, "%s/%s", c->sv->cg_parent, c->id);
}

/* The container's group, with its limits, before the clone (the child moves itself in). */
static int cg_setup(struct ctr *c, struct err *e)
{
    char name[CGROUP_NAME_MAX];
    struct cgroup_limits lim;
    if (!c->sv->cg_sys)
        return 0;
    ev_timer_stop(c->sv->loop, &c->cg_w);
    cg_watch_stop(c);
    ctr_cgroup_limits(&c->cfg, &lim);
    /* --device: the nodes as they are now (the child makes the same ones) */
    struct devices_rule rules[CTR_DEVICES_MAX];
    for (char **d = c->cfg.devices; d && *d && lim.ndevices < CTR_DEVICES_MAX; d++) {
        struct ctr_device dev;
        if (ctr_device_resolve(*d, &dev, e) < 0)
            return -1;
        rules[lim.ndevices++] = (struct devices_rule){
            .type = S_ISBLK(dev.mode) ? 'b' : 'c',
            .major = (int)major(dev.rdev),
            .minor = (int)minor(dev.rdev),
            .access = dev.access,
        };
    }
    lim.devices = rules;
    if (cg_name(c, name, sizeof name, e) < 0)
        return -1;
    if (cgroup_create(c->sv->cg_sys, name, &lim, &c->cg, e) < 0) {
        /* left by an earlier run whose processes were still going away: reuse it */
        if (e->code != EEXIST || cgroup_open(c->sv->cg_sys, name, &c->cg, e) < 0 ||
            cgroup_set_limits(&c->cg, &lim, e) < 0)
            return err_wrap(e, "cgroup of '%s'", c->name);
    }
    c->has_cg = 1;
    c->oom_killed = 0;
    struct err oe = {0};
    c->oom_fd = cgroup_oom_fd(&c->cg, &oe);
    if (c->oom_fd >= 0) {
        ev_io_init(&c->oom_w, on_oom_readable, c->oom_fd, EV_READ);
        c->oom_w.data = c;
        ev_io_start(c->sv->loop, &c->oom_w);
    } else
        log_err(&oe, "watch OOM kills of '%s'", c->name);
    return 0;
}

/* A container berthd did not re-adopt: a group that a crash left behind (the container
 * exited, or its removal had begun, but the group was not gone yet) is emptied and removed. */
void ctr_cgroup_reclaim(struct ctr *c)
{
    char name[CGROUP_NAME_MAX];
    struct err e = {0};
    if (!c->sv->cg_sys || c->has_cg || cg_name(c, name, sizeof name, &e) < 0 ||
        cgroup_open(c->sv->cg_sys, name, &c->cg, &e) < 0)
        return;
    log_msg(LOG_INFO, "'%s': removing the cgroup a previous berthd left", c->name);
    c->has_cg = 1;
    cg_release(c);
}

/* Re-adoption: the group exists already. */
static void cg_reopen(struct ctr *c)
{
    char name[CGROUP_NAME_MAX];
    struct err e = {0};
    if (!c->sv->cg_sys || cg_name(c, name, sizeof name, &e) < 0 ||
        cgroup_open(c->sv->cg_sys, name, &c->cg, &e) < 0)
        return;
    c->has_cg = 1;
    c->oom_fd = cgroup_oom_fd(&c->cg, &e);
    if (c->oom_fd >= 0) {
        ev_io_init(&c->oom_w, on_oom_readable, c->oom_fd, EV_READ);
        c->oom_w.data = c;
        ev_io_start(c->sv->loop, &c->oom_w);
    }
}

static struct ctr *ctr_alloc(struct sv *sv, const char *id, const char *name,
                             struct ctr_config *cfg)
{
    struct ctr *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->sv = sv;
    (void)snprintf(c->id, sizeof c->id, "%s", id);
    (void)snprintf(c->name, sizeof c->name, "%s", name);
    c->cfg = *cfg;
    memset(cfg, 0, sizeof *cfg);
    c->pidfd = c->spawn_fd = c->stdin_fd = c->stdin_hold = c->helper_fd = c->oom_fd =
        c->net_join_fd = -1;
    char dir[PATH_MAX_BERTH];
    struct err e;
    if (util_fmt(dir, sizeof dir, &e, "%s/%s", sv->containers_dir, c->id) < 0 ||
        logfile_init(&c->log, dir, c->cfg.log_max_size, c->cfg.log_max_file, &e) < 0) {
        ctr_config_free(&c->cfg);
        free(c);
        return NULL;
    }
    c->log.on_output = on_ctr_output;
    c->log.on_line = on_ctr_logline;
    c->log.data = c;
    ev_init(&c->grace_w, on_grace_timer);
    c->grace_w.data = c;
    ev_init(&c->restart_w, on_restart_timer);
    c->restart_w.data = c;
    ev_init(&c->cg_w, on_cg_retry);
    c->cg_w.data = c;
    return c;
}

struct ctr *ctr_create(struct sv *sv, const char *name, struct ctr_config *cfg, struct err *e)
{
    char id[CTR_ID_LEN + 1];
    if (util_random_hex(id, sizeof id, e) < 0)
        return NULL;
    if (!cfg->hostname) {
        cfg->hostname = strndup(id, CTR_SHORT_ID_LEN);
        if (!cfg->hostname)
            return err_set(e, ENOMEM, "create container"), NULL;
    }
    struct ctr *c = ctr_alloc(sv, id, name, cfg);
    if (!c)
        return err_set(e, ENOMEM, "create container"), NULL;
    c->created_ns = util_now_ns();
    c->state = CTR_CREATED;
    if (make_files(c, e) < 0) {
        char dir[PATH_MAX_BERTH];
        struct err ig;
        /* a fresh, nearly empty directory: removing it is a handful of unlinks */
        if (ctr_dir(c, NULL, dir, sizeof dir, &ig) == 0)
            (void)storage_remove_tree(dir, &ig);
        ctr_free(c);
        return NULL;
    }
    return c;
}

struct ctr *ctr_restore(struct sv *sv, const char *id, const char *name, struct ctr_config *cfg)
{
    return ctr_alloc(sv, id, name, cfg);
}

void ctr_free(struct ctr *c)
{
    if (!c)
        return;
    struct ev_loop *loop = c->sv->loop;
    exec_ctr_gone(c->sv, c);
    health_free(c);
    ev_timer_stop(loop, &c->grace_w);
    ev_timer_stop(loop, &c->restart_w);
    ev_timer_stop(loop, &c->cg_w);
    if (c->oom_fd >= 0) {
        ev_io_stop(loop, &c->oom_w);
        (void)close(c->oom_fd);
    }
    if (c->spawn_fd >= 0) {
        ev_io_stop(loop, &c->spawn_w);
        (void)close(c->spawn_fd);
    }
    if (c->pidfd >= 0) {
        ev_io_stop(loop, &c->pidfd_w);
        (void)close(c->pidfd);
    }
    if (c->stdin_fd >= 0)
        (void)close(c->stdin_fd);
    if (c->stdin_hold >= 0)
        (void)close(c->stdin_hold);
    logfile_free(&c->log, loop);
    network_ports_close(c);
    ctr_config_free(&c->cfg);
    free(c);
}

/* ---- transitions ---- */

static void set_state(struct ctr *c, enum ctr_state s, const char *why)
{
    log_msg(LOG_DEBUG, "%s: %s -> %s (%s)", c->name, ctr_state_name(c->state), ctr_state_name(s),
            why);
    c->state = s;
    sv_mark_dirty(c->sv);
}

static int send_signal(struct ctr *c, int sig)
{
    if (c->pid <= 0)
        return 0;
    if (c->adopted && c->pidfd >= 0)
        return (int)syscall(SYS_pidfd_send_signal, c->pidfd, sig, NULL, 0);
    return kill(c->pid, sig);
}

static void on_spawn_readable(struct ev_loop *loop, ev_io *w, int revents);

/* The run's output is read to its end; its stdin pipe closes. */
static void io_release(struct ctr *c)
{
    logfile_detach(&c->log, c->sv->loop);
    if (c->stdin_hold >= 0) {
        (void)close(c->stdin_hold);
        c->stdin_hold = -1;
    }
}

static void begin_remove(struct ctr *c, const char *why);
static int net_setup(struct ctr *c, struct err *e);
static void net_release(struct ctr *c);

/* Clone the init. On failure the container is exited with the error recorded. */
static int begin_start(struct ctr *c, struct err *e)
{
    char dir[PATH_MAX_BERTH], lower[PATH_MAX_BERTH];
    struct stat st;
    pid_t pid;
    int fd;

    if (ctr_dir(c, NULL, dir, sizeof dir, e) < 0 ||
        util_fmt(lower, sizeof lower, e, "%s/%s/rootfs", c->sv->images_dir, c->cfg.image) < 0)
        goto fail;
    if (stat(lower, &st) < 0) {
        err_set(e, 0, "no such image: %s", c->cfg.image);
        goto fail;
    }
    if (logfile_attach(&c->log, c->sv->loop, e) < 0 || cg_setup(c, e) < 0 || net_setup(c, e) < 0)
        goto fail;
    if (c->cfg.open_stdin && !c->cfg.tty && c->stdin_fd < 0) {
        /* -i with nobody attached: stdin stays open for `attach` as Docker keeps it */
        int p[2];
        if (pipe2(p, O_CLOEXEC) < 0) {
            err_set(e, errno, "create the stdin pipe of '%s'", c->name);
            goto fail;
        }
        c->stdin_fd = p[0];
        c->stdin_hold = p[1];
    }
    if (health_prestart(c, e) < 0)
        goto fail;
    int rc = spawn_container(c, dir, lower, c->stdin_fd, &pid, &fd, e);
    if (c->net_join_fd >= 0) {
        (void)close(c->net_join_fd);
        c->net_join_fd = -1;
    }
    if (rc < 0)
        goto fail;
    if (c->stdin_fd >= 0) {
        (void)close(c->stdin_fd); /* the container has its own copy */
        c->stdin_fd = -1;
    }
    c->pid = pid;
    c->pid_start = util_pid_starttime(pid);
    c->adopted = 0;
    c->start_pending = 1;
    c->kill_sent = 0;
    c->oom_killed = 0;
    c->spawn_fd = fd;
    c->last_start_mono = util_mono_ms();
    c->started_ns = util_now_ns();
    c->error[0] = '\0';
    ev_io_init(&c->spawn_w, on_spawn_readable, fd, EV_READ);
    c->spawn_w.data = c;
    ev_io_start(c->sv->loop, &c->spawn_w);
    sv_mark_dirty(c->sv);
    return 0;
fail:
    if (c->stdin_fd >= 0) {
        (void)close(c->stdin_fd);
        c->stdin_fd = -1;
    }
    logfile_detach(&c->log, c->sv->loop);
    cg_release(c);
    if (c->net_join_fd >= 0) {
        (void)close(c->net_join_fd);
        c->net_join_fd = -1;
    }
    (void)snprintf(c->error, sizeof c->error, "%s", err_str(e));
    (void)ctr_handle(c, CTR_EV_START_FAILED, 125, NULL);
    return -1;
}

/* Read the child's report: a pty master first with -t, then a spawn_report for a failure or
 * EOF when the exec succeeded. */
static void spawn_result(struct ctr *c)
{
    struct spawn_report r;
    int pty = -1;
    enum spawn_status st = spawn_report_read(c->spawn_fd, &r, &pty);
    if (pty >= 0)
        logfile_set_pty(&c->log, c->sv->loop, pty);
    if (st == SPAWN_WAIT)
        return;
    ev_io_stop(c->sv->loop, &c->spawn_w);
    (void)close(c->spawn_fd);
    c->spawn_fd = -1;
    c->start_pending = 0;
    if (st == SPAWN_EXECED) {
        (void)ctr_handle(c, CTR_EV_STARTED, 0, NULL);
        return;
    }
    (void)snprintf(c->error, sizeof c->error, "%s", r.e.msg);
    /* the child exits right after its report; its reaping is routed by failed_pid */
    c->failed_pid = c->pid;
    c->pid = 0;
    (void)ctr_handle(c, CTR_EV_START_FAILED, r.exit_code, NULL);
}

static void on_spawn_readable(struct ev_loop *loop, ev_io *w, int revents)
{
    (void)loop;
    (void)revents;
    spawn_result(w->data);
}

static void on_grace_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    (void)ctr_handle(w->data, CTR_EV_GRACE_OVER, 0, NULL);
}

static void on_restart_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    (void)ctr_handle(w->data, CTR_EV_RESTART_DUE, 0, NULL);
}

static void on_pidfd_readable(struct ev_loop *loop, ev_io *w, int revents)
{
    struct ctr *c = w->data;
    (void)revents;
    ev_io_stop(loop, w);
    (void)close(c->pidfd);
    c->pidfd = -1;
    (void)ctr_handle(c, CTR_EV_EXITED, -1, NULL);
    sv_shutdown_progress(c->sv);
}

int ctr_adopt(struct ctr *c)
{
    if (c->pid <= 0 || c->pid_start == 0 || util_pid_starttime(c->pid) != c->pid_start)
        return 0;
    int fd = (int)syscall(SYS_pidfd_open, c->pid, 0);
    if (fd < 0)
        return 0;
    /* the start time is checked again after the pidfd pins the process: no reuse race */
    if (util_pid_starttime(c->pid) != c->pid_start) {
        (void)close(fd);
        return 0;
    }
    (void)fcntl(fd, F_SETFD, FD_CLOEXEC); /* pidfds are CLOEXEC already; belt and braces */
    c->pidfd = fd;
    c->adopted = 1;
    ev_io_init(&c->pidfd_w, on_pidfd_readable, fd, EV_READ);
    c->pidfd_w.data = c;
    ev_io_start(c->sv->loop, &c->pidfd_w);
    struct err e = {0};
    if (logfile_attach(&c->log, c->sv->loop, &e) < 0)
        log_err(&e, "re-adopt '%s': output", c->name);
    cg_reopen(c);
    health_started(c); /* checks go on; a readiness socket cannot be re-made for it */
    return 1;
}

static void after_exit(struct ctr *c, int was_stopping)
{
    int code = c->exit_code;
    char buf[16];

    (void)snprintf(buf, sizeof buf, "%d", code);
    events_emit(c->sv, c, "die", "exitCode", buf);
    server_ctr_note(c->sv, c, NOTE_EXITED);
    if (was_stopping)
        events_emit(c->sv, c, "stop", NULL, NULL);

    if (c->remove_after_exit || (c->cfg.auto_remove && !c->start_after_exit)) {
        set_state(c, CTR_EXITED, "exited");
        apply_ctr_exited(c);
        begin_remove(c, "auto-remove");
        return;
    }
    if (c->start_after_exit && !c->sv->shutting_down) {
        struct err e = {0};
        c->start_after_exit = 0;
        set_state(c, CTR_EXITED, "exited for restart");
        events_emit(c->sv, c, "restart", NULL, NULL);
        if (begin_start(c, &e) < 0)
            log_err(&e, "restart '%s'", c->name);
        return;
    }
    if (!was_stopping && !c->manual_stop && !c->sv->shutting_down && ctr_policy_restarts(c, code)) {
        int64_t ran = util_mono_ms() - c->last_start_mono;
        int delay = ctr_backoff_next(&c->backoff_ms, ran, c->cfg.backoff_min_ms,
                                     c->cfg.backoff_max_ms, c->cfg.backoff_reset_ms);
        c->restart_count++;
        ev_timer_set(&c->restart_w, delay / 1000.0, 0.);
        ev_timer_start(c->sv->loop, &c->restart_w);
        set_state(c, CTR_RESTARTING, "restart policy");
        return;
    }
    set_state(c, CTR_EXITED, "exited");
    server_ctr_note(c->sv, c, NOTE_DOWN);
    apply_ctr_exited(c);
}

/* The address of the run that ended goes back; the peers' /etc/hosts forget it. */
static void net_release(struct ctr *c)
{
    struct network *n = c->ip ? network_of(c->sv, c) : NULL;
    network_ports_close(c);
    network_detach(c);
    network_refresh_hosts(c->sv, n);
}

/* The network part of a start: an address on a bridge network (the child makes the veth
 * pair), or the netns of the container named by --network container:NAME. */
static int net_setup(struct ctr *c, struct err *e)
{
    if (c->cfg.network == CTR_NET_CONTAINER) {
        struct ctr *t = sv_find(c->sv, c->cfg.network_name, e);
        char p[64];
        if (!t)
            return err_wrap(e, "--network container:%s", c->cfg.network_name);
        if (t == c || (t->state != CTR_RUNNING && t->state != CTR_PAUSED) || t->pid <= 0)
            return err_set(e, 0, "cannot join network of a non running container: %s",
                           c->cfg.network_name);
        (void)snprintf(p, sizeof p, "/proc/%d/ns/net", (int)t->pid);
        c->net_join_fd = open(p, O_RDONLY | O_CLOEXEC);
        if (c->net_join_fd < 0)
            return err_set(e, errno, "open the netns of '%s'", t->name);
        return 0;
    }
    if (network_attach(c, e) < 0)
        return -1;
    if (network_ports_open(c, e) < 0) {
        network_detach(c);
        return -1;
    }
    if (c->ip) {
        (void)snprintf(c->veth, sizeof c->veth, "vb%.9s%04x", c->id, c->sv->veth_seq++ & 0xffff);
        network_refresh_hosts(c->sv, network_of(c->sv, c));
    }
    return 0;
}

static void handle_exit(struct ctr *c, long status)
{
    int was_stopping = c->state == CTR_STOPPING;
    ev_timer_stop(c->sv->loop, &c->grace_w);
    c->exit_code = ctr_status_code((int)status);
    if (status == -1)
        (void)snprintf(c->error, sizeof c->error, "exit status unknown: not a child of berthd");
    c->pid = 0;
    c->pid_start = 0;
    c->adopted = 0;
    c->finished_ns = util_now_ns();
    io_release(c);
    cg_release(c);
    net_release(c);
    health_exited(c);
    after_exit(c, was_stopping);
}

static void start_failed(struct ctr *c, long code)
{
    c->exit_code = (int)code;
    c->pid = 0;
    c->start_after_exit = 0;
    c->finished_ns = util_now_ns();
    ev_timer_stop(c->sv->loop, &c->restart_w);
    io_release(c);
    health_exited(c);
    if (c->failed_pid <= 0)
        cg_release(c); /* else once the failed child is reaped: it is still in the group */
    net_release(c);
    set_state(c, CTR_EXITED, "start failed");
    server_ctr_note(c->sv, c, NOTE_START_FAILED);
    apply_ctr_exited(c);
    if (c->cfg.auto_remove || c->remove_after_exit)
        begin_remove(c, "auto-remove after a failed start");
}

static void started(struct ctr *c)
{
    set_state(c, CTR_RUNNING, "started");
    health_started(c);
    events_emit(c->sv, c, "start", NULL, NULL);
    server_ctr_note(c->sv, c, NOTE_STARTED);
}

static void begin_stop(struct ctr *c, long timeout, int manual)
{
    char buf[16];
    if (manual)
        c->manual_stop = 1;
    health_stopping(c); /* a stop never waits for a check */
    int sig = timeout == 0 ? SIGKILL : c->cfg.stop_signal;
    (void)snprintf(buf, sizeof buf, "%d", sig);
    events_emit(c->sv, c, "kill", "signal", buf);
    if (send_signal(c, sig) < 0 && errno != ESRCH)
        log_msg(LOG_WARN, "stop '%s': signal %d: %s", c->name, sig, strerror(errno));
    if (timeout > 0) {
        ev_timer_set(&c->grace_w, (double)timeout, 0.);
        ev_timer_start(c->sv->loop, &c->grace_w);
    }
    set_state(c, CTR_STOPPING, manual ? "stop requested" : "supervisor stopping");
}

static void do_kill(struct ctr *c, long sig)
{
    char buf[16];
    (void)snprintf(buf, sizeof buf, "%ld", sig);
    c->manual_stop = 1;
    events_emit(c->sv, c, "kill", "signal", buf);
    if (send_signal(c, (int)sig) < 0 && errno != ESRCH)
        log_msg(LOG_WARN, "kill '%s': signal %ld: %s", c->name, sig, strerror(errno));
}

static void on_removed(struct sv *sv, void *data, int ok, const struct err *e)
{
    struct ctr *c = data;
    (void)sv;
    if (!ok)
        log_err(e, "remove files of '%s'", c->name);
    (void)ctr_handle(c, CTR_EV_REMOVED, ok, NULL);
}

static int remove_fn(void *arg, struct err *e)
{
    return storage_remove_tree(arg, e);
}

static void begin_remove(struct ctr *c, const char *why)
{
    (void)ctr_handle(c, CTR_EV_REMOVE, 0, NULL);
    (void)why;
}

/* Removal renames the directory out of the way (one syscall: the name and the id are free at
 * once) and deletes the tree in a helper, off the loop. A trash directory left by a crash is
 * deleted at the next start (sv_cleanup_trash). */
static void start_removal(struct ctr *c)
{
    struct err e = {0};
    char dir[PATH_MAX_BERTH], trash[PATH_MAX_BERTH];
    logfile_close(&c->log, c->sv->loop);
    if (ctr_dir(c, NULL, dir, sizeof dir, &e) < 0 ||
        util_fmt(trash, sizeof trash, &e, "%s/.trash-%s", c->sv->containers_dir, c->id) < 0) {
        log_err(&e, "remove '%s'", c->name);
        return;
    }
    int rc = rename(dir, trash);
    int gone = rc < 0 && errno == ENOENT;
    if (rc < 0 && !gone) {
        /* cannot move it: delete in place, the container stays `removing` until done */
        if (sv_helper(c->sv, remove_fn, dir, on_removed, c, &e) < 0)
            log_err(&e, "remove '%s'", c->name); /* finished at the next supervisor start */
        return;
    }
    if (!gone && sv_helper(c->sv, remove_fn, trash, NULL, NULL, &e) < 0)
        log_err(&e, "remove files of '%s' (left in '%s')", c->name, trash);
    (void)ctr_handle(c, CTR_EV_REMOVED, 1, NULL);
}

/* Thaw a paused container; it is running again (the state changes here). */
static int thaw(struct ctr *c, struct err *e)
{
    struct err local = {0};
    if (!e)
        e = &local;
    if (c->has_cg && cgroup_freeze(&c->cg, 0, e) < 0) {
        log_err(e, "thaw '%s'", c->name);
        return -1;
    }
    set_state(c, CTR_RUNNING, "thawed");
    return 0;
}

static int ev_invalid(struct ctr *c, enum ctr_event ev)
{
    log_msg(LOG_DEBUG, "%s: event %d ignored in state %s", c->name, (int)ev,
            ctr_state_name(c->state));
    return 0;
}

int ctr_handle(struct ctr *c, enum ctr_event ev, long arg, struct err *e)
{
    switch (c->state) {
    case CTR_CREATED:
    case CTR_EXITED:
        switch (ev) {
        case CTR_EV_START:
            c->manual_stop = 0;
            c->restart_count = 0;
            c->backoff_ms = 0;
            /* fall through */
        case CTR_EV_AUTO_START:
            if (c->start_pending)
                return 0;
            return begin_start(c, e ? e : &(struct err){0});
        case CTR_EV_STARTED:
            started(c);
            return 0;
        case CTR_EV_START_FAILED:
            start_failed(c, arg);
            return 0;
        case CTR_EV_REMOVE:
            set_state(c, CTR_REMOVING, "remove");
            start_removal(c);
            return 0;
        case CTR_EV_EXITED:
            return ev_invalid(c, ev);
        case CTR_EV_STOP:
        case CTR_EV_SHUTDOWN:
        case CTR_EV_KILL:
        case CTR_EV_GRACE_OVER:
        case CTR_EV_RESTART_DUE:
        case CTR_EV_REMOVED:
        case CTR_EV_PAUSE:
        case CTR_EV_UNPAUSE:
            return ev_invalid(c, ev);
        }
        break;
    case CTR_RESTARTING:
        switch (ev) {
        case CTR_EV_RESTART_DUE:
        case CTR_EV_START:
        case CTR_EV_AUTO_START:
            if (c->start_pending)
                return 0;
            ev_timer_stop(c->sv->loop, &c->restart_w);
            return begin_start(c, e ? e : &(struct err){0});
        case CTR_EV_STARTED:
            started(c);
            return 0;
        case CTR_EV_START_FAILED:
            start_failed(c, arg);
            return 0;
        case CTR_EV_STOP:
        case CTR_EV_SHUTDOWN:
        case CTR_EV_KILL:
            ev_timer_stop(c->sv->loop, &c->restart_w);
            if (ev != CTR_EV_SHUTDOWN)
                c->manual_stop = 1;
            if (c->start_pending) {
                /* a start is under way: let it finish, then stop it */
                c->manual_stop = 1;
                return 0;
            }
            set_state(c, CTR_EXITED, "restart cancelled");
            server_ctr_note(c->sv, c, NOTE_EXITED);
            return 0;
        case CTR_EV_REMOVE:
            ev_timer_stop(c->sv->loop, &c->restart_w);
            set_state(c, CTR_REMOVING, "remove");
            start_removal(c);
            return 0;
        case CTR_EV_EXITED:
            handle_exit(c, arg);
            return 0;
        case CTR_EV_GRACE_OVER:
        case CTR_EV_REMOVED:
        case CTR_EV_PAUSE:
        case CTR_EV_UNPAUSE:
            return ev_invalid(c, ev);
        }
        break;
    case CTR_RUNNING:
    case CTR_PAUSED:
        switch (ev) {
        case CTR_EV_STOP:
        case CTR_EV_SHUTDOWN:
            if (c->state == CTR_PAUSED && thaw(c, e) < 0)
                return -1;
            begin_stop(c, arg, ev == CTR_EV_STOP);
            return 0;
        case CTR_EV_KILL:
            do_kill(c, arg);
            /* a frozen task takes its signal when thawed (cgroup v1) */
            if (c->state == CTR_PAUSED && arg == SIGKILL && thaw(c, e) < 0)
                return -1;
            return 0;
        case CTR_EV_EXITED:
            handle_exit(c, arg);
            return 0;
        case CTR_EV_PAUSE:
            if (c->state != CTR_RUNNING)
                return ev_invalid(c, ev);
            if (!c->has_cg)
                return err_set(e, ENOTSUP, "pause needs a cgroup freezer, and '%s' has no cgroup",
                               c->name);
            if (cgroup_freeze(&c->cg, 1, e) < 0)
                return -1;
            set_state(c, CTR_PAUSED, "paused");
            events_emit(c->sv, c, "pause", NULL, NULL);
            return 0;
        case CTR_EV_UNPAUSE:
            if (c->state != CTR_PAUSED)
                return ev_invalid(c, ev);
            if (thaw(c, e) < 0)
                return -1;
            events_emit(c->sv, c, "unpause", NULL, NULL);
            return 0;
        case CTR_EV_START:
        case CTR_EV_AUTO_START:
        case CTR_EV_STARTED:
        case CTR_EV_START_FAILED:
        case CTR_EV_GRACE_OVER:
        case CTR_EV_RESTART_DUE:
        case CTR_EV_REMOVE:
        case CTR_EV_REMOVED:
            return ev_invalid(c, ev);
        }
        break;
    case CTR_STOPPING:
        switch (ev) {
        case CTR_EV_GRACE_OVER:
            log_msg(LOG_INFO, "%s: stop timeout over, killing", c->name);
            (void)send_signal(c, SIGKILL);
            return 0;
        case CTR_EV_KILL:
            do_kill(c, arg);
            return 0;
        case CTR_EV_STOP:
        case CTR_EV_SHUTDOWN:
            if (arg == 0) {
                ev_timer_stop(c->sv->loop, &c->grace_w);
                (void)send_signal(c, SIGKILL);
            }
            return 0;
        case CTR_EV_EXITED:
            handle_exit(c, arg);
            return 0;
        case CTR_EV_START:
        case CTR_EV_AUTO_START:
        case CTR_EV_STARTED:
        case CTR_EV_START_FAILED:
        case CTR_EV_RESTART_DUE:
        case CTR_EV_REMOVE:
        case CTR_EV_REMOVED:
        case CTR_EV_PAUSE:
        case CTR_EV_UNPAUSE:
            return ev_invalid(c, ev);
        }
        break;
    case CTR_REMOVING:
        switch (ev) {
        case CTR_EV_REMOVED:
            set_state(c, CTR_DEAD, "removed");
            if (c->cfg.auto_remove || c->remove_volumes)
                volume_drop_anonymous(c->sv, c);
            events_emit(c->sv, c, "destroy", NULL, NULL);
            server_ctr_note(c->sv, c, NOTE_REMOVED);
            sv_remove(c->sv, c);
            return 0;
        case CTR_EV_REMOVE:
            start_removal(c); /* resumed after a supervisor restart */
            return 0;
        case CTR_EV_START:
        case CTR_EV_AUTO_START:
        case CTR_EV_STARTED:
        case CTR_EV_START_FAILED:
        case CTR_EV_EXITED:
        case CTR_EV_STOP:
        case CTR_EV_SHUTDOWN:
        case CTR_EV_KILL:
        case CTR_EV_GRACE_OVER:
        case CTR_EV_RESTART_DUE:
        case CTR_EV_PAUSE:
        case CTR_EV_UNPAUSE:
            return ev_invalid(c, ev);
        }
        break;
    case CTR_DEAD:
        return ev_invalid(c, ev);
    }
    return 0;
}

int ctr_busy(const struct ctr *c)
{
    return c->failed_pid > 0 || c->has_cg || c->start_pending;
}

int ctr_live(const struct ctr *c)
{
    return c->state == CTR_RUNNING || c->state == CTR_PAUSED || c->state == CTR_STOPPING ||
           c->state == CTR_RESTARTING || c->start_pending;
}

void ctr_reaped(struct ctr *c, pid_t pid, int status)
{
    if (c->spawn_fd >= 0 && pid == c->pid)
        spawn_result(c); /* it died before we read its report: settle the start first */
    if (pid == c->failed_pid) {
        c->failed_pid = 0; /* the child of a failed start: already accounted for */
        cg_release(c);
        return;
    }
    (void)ctr_handle(c, CTR_EV_EXITED, status, NULL);
}

int ctr_signal(struct ctr *c, int sig)
{
    return send_signal(c, sig);
}
