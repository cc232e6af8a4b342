/* SPDX-License-Identifier: MIT */
/* core/snapshot.c - snapshot build, write and load (STYLE R11). Loading validates every
 * field against core/limits.h before anything reaches the supervisor. */
#include "core/snapshot.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/ctr.h"
#include "core/err.h"
#include "core/json.h"
#include "core/network.h"
#include "core/volume.h"
#include "core/sv.h"
#include "core/util.h"

#define SNAPSHOT_VERSION 1

static void add_ns(cJSON *j, const char *k, int64_t ns)
{
    char buf[32];
    (void)snprintf(buf, sizeof buf, "%lld", (long long)ns);
    cJSON_AddStringToObject(j, k, buf);
}

static int get_ns(const cJSON *j, const char *k, int64_t *out, int idx, struct err *e)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, k);
    char *end;
    if (!cJSON_IsString(v) || !v->valuestring[0] || strlen(v->valuestring) > 19)
        return err_set(e, EINVAL, "container %d: '%s' missing or not a time", idx, k);
    errno = 0;
    long long n = strtoll(v->valuestring, &end, 10);
    if (*end || errno || n < 0)
        return err_set(e, EINVAL, "container %d: '%s' out of range", idx, k);
    *out = n;
    return 0;
}

static cJSON *ctr_json(const struct ctr *c)
{
    cJSON *j = cJSON_CreateObject();
    if (!j)
        return NULL;
    cJSON_AddStringToObject(j, "Id", c->id);
    cJSON_AddStringToObject(j, "Name", c->name);
    cJSON_AddStringToObject(j, "State", ctr_state_name(c->state));
    cJSON_AddNumberToObject(j, "Pid", c->pid);
    cJSON_AddNumberToObject(j, "PidStart", (double)c->pid_start);
    cJSON_AddNumberToObject(j, "ExitCode", c->exit_code);
    cJSON_AddStringToObject(j, "Error", c->error);
    cJSON_AddBoolToObject(j, "OOMKilled", c->oom_killed);
    cJSON_AddNumberToObject(j, "RestartCount", c->restart_count);
    cJSON_AddBoolToObject(j, "ManualStop", c->manual_stop);
    /* nanosecond times do not fit a JSON (double) number exactly: decimal strings */
    add_ns(j, "Created", c->created_ns);
    add_ns(j, "Started", c->started_ns);
    add_ns(j, "Finished", c->finished_ns);
    cJSON_AddNumberToObject(j, "Backoff", c->backoff_ms);
    cJSON_AddItemToObject(j, "Config", ctr_config_json(&c->cfg));
    if (c->ip) {
        char a[16];
        net_addr_format(c->ip, a);
        cJSON_AddStringToObject(j, "IPAddress", a);
    }
    if (c->nbound) {
        cJSON *hp = cJSON_AddArrayToObject(j, "HostPorts");
        for (int i = 0; hp && i < c->nbound; i++)
            cJSON_AddItemToArray(hp, cJSON_CreateNumber(c->bound[i].host_port));
    }
    return j;
}

cJSON *snapshot_build(const struct sv *sv)
{
    auto_json cJSON *root = cJSON_CreateObject();
    if (!root)
        return NULL;
    cJSON_AddNumberToObject(root, "version", SNAPSHOT_VERSION);
    cJSON *arr = cJSON_AddArrayToObject(root, "containers");
    if (!arr)
        return NULL;
    /* oldest first, so a load that prepends rebuilds the same newest-first list */
    const struct ctr *v[CTR_MAX];
    int n = 0;
    for (const struct ctr *c = sv->ctrs; c && n < CTR_MAX; c = c->next)
        if (c->state != CTR_DEAD)
            v[n++] = c;
    while (n-- > 0) {
        cJSON *cj = ctr_json(v[n]);
        if (!cj)
            return NULL;
        cJSON_AddItemToArray(arr, cj);
    }
    cJSON *nets = network_snapshot(sv);
    if (!nets)
        return NULL;
    cJSON_AddItemToObject(root, "networks", nets);
    cJSON *vols = volume_snapshot(sv);
    if (!vols)
        return NULL;
    cJSON_AddItemToObject(root, "volumes", vols);
    return take_ptr(&root);
}

int snapshot_write(struct sv *sv, struct err *e)
{
    auto_json cJSON *root = snapshot_build(sv);
    auto_jstr char *txt = root ? cJSON_PrintUnformatted(root) : NULL;
    if (!txt)
        return err_set(e, ENOMEM, "serialise snapshot");
    size_t len = strlen(txt);
    if (len > SNAPSHOT_MAX)
        return err_set(e, EFBIG, "snapshot larger than %d bytes", SNAPSHOT_MAX);
    return util_write_atomic(sv->snapshot_path, txt, len, e);
}

static int parse_state(const char *s, enum ctr_state *out)
{
    for (int i = CTR_CREATED; i <= CTR_DEAD; i++)
        if (strcmp(s, ctr_state_name((enum ctr_state)i)) == 0) {
            *out = (enum ctr_state)i;
            return 0;
        }
    return -1;
}

static int get_num(const cJSON *j, const char *k, double lo, double hi, double *out, int idx,
                   struct err *e)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, k);
    if (cJSON_IsBool(v)) {
        *out = cJSON_IsTrue(v);
        return 0;
    }
    if (!cJSON_IsNumber(v) || v->valuedouble < lo || v->valuedouble > hi)
        return err_set(e, EINVAL, "container %d: '%s' missing or out of range", idx, k);
    *out = v->valuedouble;
    return 0;
}

static const char *get_str(const cJSON *j, const char *k, size_t max, int idx, struct err *e)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, k);
    if (!cJSON_IsString(v) || strlen(v->valuestring) >= max)
        return err_set(e, EINVAL, "container %d: '%s' missing or too long", idx, k), NULL;
    return v->valuestring;
}

static int is_hex64(const char *s)
{
    if (strlen(s) != CTR_ID_LEN)
        return 0;
    for (; *s; s++)
        if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f')))
            return 0;
    return 1;
}

static struct ctr *parse_ctr(struct sv *sv, const cJSON *j, int idx, struct err *e)
{
    struct ctr_config cfg;
    double d;
    enum ctr_state st;

    if (!cJSON_IsObject(j))
        return err_set(e, EINVAL, "container %d: not an object", idx), NULL;
    const char *id = get_str(j, "Id", CTR_ID_LEN + 1, idx, e);
    const char *name = id ? get_str(j, "Name", CTR_NAME_MAX, idx, e) : NULL;
    const char *state = name ? get_str(j, "State", 32, idx, e) : NULL;
    const char *error = state ? get_str(j, "Error", ERR_MSG_MAX, idx, e) : NULL;
    if (!error)
        return NULL;
    if (!is_hex64(id))
        return err_set(e, EINVAL, "container %d: bad id", idx), NULL;
    if (!util_valid_name(name))
        return err_set(e, EINVAL, "container %d: bad name '%s'", idx, name), NULL;
    if (parse_state(state, &st) < 0)
        return err_set(e, EINVAL, "container %d: unknown state '%s'", idx, state), NULL;
    if (ctr_config_from_json(cJSON_GetObjectItemCaseSensitive(j, "Config"), &cfg, e) < 0)
        return err_wrap(e, "container %d", idx), NULL;
    struct ctr *c = ctr_restore(sv, id, name, &cfg);
    if (!c) {
        ctr_config_free(&cfg);
        return err_set(e, ENOMEM, "container %d", idx), NULL;
    }
    c->state = st; /* restoring recorded state, not a transition */
    (void)snprintf(c->error, sizeof c->error, "%s", error);
#define NUM(key, field, lo, hi)                                                                    \
    do {                                                                                           \
        if (get_num(j, key, lo, hi, &d, idx, e) < 0) {                                             \
            ctr_free(c);                                                                           \
            return NULL;                                                                           \
        }                                                                                          \
        c->field = (__typeof__(c->field))d;                                                        \
    } while (0)
    NUM("Pid", pid, 0, 4194304);
    NUM("PidStart", pid_start, 0, 1.8e19);
    NUM("ExitCode", exit_code, -1, 255);
    NUM("OOMKilled", oom_killed, 0, 1);
    NUM("RestartCount", restart_count, 0, 1e9);
    NUM("ManualStop", manual_stop, 0, 1);
    NUM("Backoff", backoff_ms, 0, 1e9);
#undef NUM
    if (get_ns(j, "Created", &c->created_ns, idx, e) < 0 ||
        get_ns(j, "Started", &c->started_ns, idx, e) < 0 ||
        get_ns(j, "Finished", &c->finished_ns, idx, e) < 0) {
        ctr_free(c);
        return NULL;
    }
    const cJSON *ip = cJSON_GetObjectItemCaseSensitive(j, "IPAddress");
    if (ip && (!cJSON_IsString(ip) || net_addr_parse(ip->valuestring, &c->ip, e) < 0)) {
        ctr_free(c);
        return err_wrap(e, "container %d: 'IPAddress'", idx), NULL;
    }
    const cJSON *hp = cJSON_GetObjectItemCaseSensitive(j, "HostPorts"), *it;
    if (hp && (!cJSON_IsArray(hp) || cJSON_GetArraySize(hp) > CTR_PORTS_MAX)) {
        ctr_free(c);
        return err_set(e, EINVAL, "container %d: 'HostPorts' is not an array", idx), NULL;
    }
    if (hp && cJSON_GetArraySize(hp) > 0) {
        c->bound = calloc((size_t)cJSON_GetArraySize(hp), sizeof *c->bound);
        if (!c->bound) {
            ctr_free(c);
            return err_set(e, ENOMEM, "container %d", idx), NULL;
        }
        cJSON_ArrayForEach(it, hp)
        {
            if (!cJSON_IsNumber(it) || it->valuedouble < 0 || it->valuedouble > 65535) {
                ctr_free(c);
                return err_set(e, EINVAL, "container %d: bad host port", idx), NULL;
            }
            c->bound[c->nbound++].host_port = (unsigned)it->valuedouble;
        }
    }
    return c;
}

int snapshot_parse(struct sv *sv, const char *text, size_t len, struct err *e)
{
    if (len > SNAPSHOT_MAX)
        return err_set(e, EFBIG, "snapshot larger than %d bytes", SNAPSHOT_MAX);
    auto_json cJSON *root = cJSON_ParseWithLength(text, len);
    if (!root) {
        const char *at = cJSON_GetErrorPtr();
        long off = at && at >= text && at <= text + len ? (long)(at - text) : -1;
        return err_set(e, EINVAL, "invalid JSON near byte %ld", off);
    }
    const cJSON *ver = cJSON_GetObjectItemCaseSensitive(root, "version");
    if (!cJSON_IsNumber(ver) || ver->valuedouble != SNAPSHOT_VERSION)
        return err_set(e, EINVAL, "unsupported snapshot version");
    if (network_load(sv, cJSON_GetObjectItemCaseSensitive(root, "networks"), e) < 0 ||
        volume_load(sv, cJSON_GetObjectItemCaseSensitive(root, "volumes"), e) < 0)
        return -1;
    const cJSON *arr = cJSON_GetObjectItemCaseSensitive(root, "containers");
    if (!cJSON_IsArray(arr))
        return err_set(e, EINVAL, "'containers' is not an array");
    int n = cJSON_GetArraySize(arr);
    if (n > CTR_MAX)
        return err_set(e, E2BIG, "more than %d containers", CTR_MAX);
    struct ctr **v = calloc((size_t)n + 1, sizeof *v);
    if (!v)
        return err_set(e, ENOMEM, "load snapshot");
    int k = 0;
    const cJSON *it;
    cJSON_ArrayForEach(it, arr)
    {
        v[k] = parse_ctr(sv, it, k, e);
        if (!v[k])
            goto fail;
        for (int m = 0; m < k; m++)
            if (strcmp(v[m]->id, v[k]->id) == 0 || strcmp(v[m]->name, v[k]->name) == 0) {
                err_set(e, EINVAL, "container %d: duplicate id or name '%s'", k, v[k]->name);
                k++;
                goto fail;
            }
        k++;
    }
    for (int m = 0; m < k; m++)
        sv_add(sv, v[m]);
    free(v);
    return 0;
fail:
    for (int m = 0; m < k; m++)
        ctr_free(v[m]);
    free(v);
    return -1;
}

int snapshot_load(struct sv *sv, struct err *e)
{
    size_t len = 0;
    auto_free char *text = util_read_file(sv->snapshot_path, SNAPSHOT_MAX, &len, e);
    if (!text) {
        if (e->code == ENOENT)
            return 0;
        return err_wrap(e, "load snapshot");
    }
    if (snapshot_parse(sv, text, len, e) < 0)
        return err_wrap(e, "snapshot '%s' is corrupt", sv->snapshot_path);
    return 0;
}
