/* SPDX-License-Identifier: MIT */
/* core/volume.c - volumes (see volume.h). A volume is a directory; making one is two mkdirs on
 * the loop (bounded), deleting one is a rename on the loop and the tree removal in a helper. */
#include "core/volume.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "core/ctr.h"
#include "core/err.h"
#include "core/log.h"
#include "core/mounts.h"
#include "core/sv.h"
#include "core/util.h"

struct volume *volume_find(struct sv *sv, const char *name)
{
    for (struct volume *v = sv->volumes; v; v = v->next)
        if (strcmp(v->name, name) == 0)
            return v;
    return NULL;
}

int volume_path(const struct sv *sv, const char *name, char *buf, size_t size, struct err *e)
{
    return util_fmt(buf, size, e, "%s/%s/_data", sv->volumes_dir, name);
}

static void volume_free(struct volume *v)
{
    for (char **p = v->labels; p && *p; p++)
        free(*p);
    free(v->labels);
    free(v);
}

static void append(struct sv *sv, struct volume *v)
{
    struct volume **pp = &sv->volumes;
    while (*pp)
        pp = &(*pp)->next;
    *pp = v;
    sv->nvolumes++;
}

/* The directories of NAME (both 0755 inside the 0700 volumes dir, as Docker). */
static int make_dirs(const struct sv *sv, const char *name, struct err *e)
{
    char dir[PATH_MAX_BERTH];
    if (util_fmt(dir, sizeof dir, e, "%s/%s", sv->volumes_dir, name) < 0)
        return -1;
    if (mkdir(dir, 0755) < 0 && errno != EEXIST)
        return err_set(e, errno, "create volume directory '%s'", dir);
    if (volume_path(sv, name, dir, sizeof dir, e) < 0)
        return -1;
    if (mkdir(dir, 0755) < 0 && errno != EEXIST)
        return err_set(e, errno, "create volume directory '%s'", dir);
    return 0;
}

struct volume *volume_create(struct sv *sv, const char *name, char **labels, int anonymous,
                             struct err *e)
{
    char hex[65];
    if (!name) {
        if (util_random_hex(hex, sizeof hex, e) < 0)
            return NULL;
        name = hex;
    } else if (!mount_volume_name_valid(name)) {
        err_set(e, EINVAL,
                "create %.64s: \"%.64s\" includes invalid characters for a local volume name, "
                "only \"[a-zA-Z0-9][a-zA-Z0-9_.-]\" are allowed",
                name, name);
        return NULL;
    }
    struct volume *v = volume_find(sv, name);
    if (v)
        return v;
    if (sv->nvolumes >= VOLUME_MAX) {
        err_set(e, ENOSPC, "too many volumes (at most %d)", VOLUME_MAX);
        return NULL;
    }
    if (!(v = calloc(1, sizeof *v))) {
        err_set(e, ENOMEM, "create volume");
        return NULL;
    }
    (void)snprintf(v->name, sizeof v->name, "%s", name);
    v->anonymous = anonymous;
    v->created_ns = util_now_ns();
    size_t n = 0;
    while (labels && labels[n])
        n++;
    if (n && !(v->labels = calloc(n + 1, sizeof *v->labels))) {
        volume_free(v);
        err_set(e, ENOMEM, "create volume");
        return NULL;
    }
    for (size_t i = 0; i < n; i++)
        if (!(v->labels[i] = strdup(labels[i]))) {
            volume_free(v);
            err_set(e, ENOMEM, "create volume");
            return NULL;
        }
    if (make_dirs(sv, name, e) < 0) {
        volume_free(v);
        return NULL;
    }
    append(sv, v);
    sv_mark_dirty(sv);
    return v;
}

struct ctr *volume_user(struct sv *sv, const struct volume *v)
{
    for (struct ctr *c = sv->ctrs; c; c = c->next) {
        if (c->state == CTR_DEAD)
            continue;
        for (int i = 0; i < c->cfg.nmounts; i++)
            if (c->cfg.mounts[i].type == CTR_MOUNT_VOLUME && c->cfg.mounts[i].source &&
                strcmp(c->cfg.mounts[i].source, v->name) == 0)
                return c;
    }
    return NULL;
}

int volume_remove(struct sv *sv, struct volume *v, struct err *e)
{
    char dir[PATH_MAX_BERTH], trash[PATH_MAX_BERTH];
    struct ctr *user = volume_user(sv, v);
    if (user)
        return err_set(e, EBUSY, "remove %s: volume is in use - [%s]", v->name, user->id);
    if (util_fmt(dir, sizeof dir, e, "%s/%s", sv->volumes_dir, v->name) < 0 ||
        util_fmt(trash, sizeof trash, e, "%s/.trash-%s", sv->volumes_dir, v->name) < 0)
        return -1;
    if (rename(dir, trash) < 0 && errno != ENOENT)
        return err_set(e, errno, "remove volume %s", v->name);
    struct err he = {0};
    if (access(trash, F_OK) == 0 && sv_remove_tree(sv, trash, &he) < 0)
        log_err(&he, "remove volume %s (left in '%s')", v->name, trash);
    for (struct volume **pp = &sv->volumes; *pp; pp = &(*pp)->next)
        if (*pp == v) {
            *pp = v->next;
            break;
        }
    sv->nvolumes--;
    volume_free(v);
    sv_mark_dirty(sv);
    return 0;
}

void volume_drop_anonymous(struct sv *sv, const struct ctr *c)
{
    for (int i = 0; i < c->cfg.nmounts; i++) {
        const struct ctr_mount *m = &c->cfg.mounts[i];
        struct volume *v = m->anonymous && m->source ? volume_find(sv, m->source) : NULL;
        struct err e = {0};
        if (v && v->anonymous && !volume_user(sv, v) && volume_remove(sv, v, &e) < 0)
            log_err(&e, "remove anonymous volume of '%s'", c->name);
    }
}

void volume_free_all(struct sv *sv)
{
    while (sv->volumes) {
        struct volume *v = sv->volumes;
        sv->volumes = v->next;
        volume_free(v);
    }
    sv->nvolumes = 0;
}

static cJSON *labels_object(char **labels)
{
    cJSON *o = cJSON_CreateObject();
    for (char **p = labels; o && p && *p; p++) {
        const char *eq = strchr(*p, '=');
        char key[CTR_STR_MAX];
        (void)snprintf(key, sizeof key, "%.*s", eq ? (int)(eq - *p) : (int)strlen(*p), *p);
        cJSON_AddStringToObject(o, key, eq ? eq + 1 : "");
    }
    return o;
}

cJSON *volume_inspect(const struct sv *sv, const struct volume *v)
{
    char path[PATH_MAX_BERTH], created[64];
    struct err e = {0};
    cJSON *j = cJSON_CreateObject();
    if (!j)
        return NULL;
    util_rfc3339(v->created_ns, created, sizeof created);
    cJSON_AddStringToObject(j, "CreatedAt", created);
    cJSON_AddStringToObject(j, "Driver", "local");
    cJSON_AddItemToObject(j, "Labels", labels_object(v->labels));
    cJSON_AddStringToObject(j, "Mountpoint",
                            volume_path(sv, v->name, path, sizeof path, &e) == 0 ? path : "");
    cJSON_AddStringToObject(j, "Name", v->name);
    cJSON_AddItemToObject(j, "Options", cJSON_CreateObject());
    cJSON_AddStringToObject(j, "Scope", "local");
    cJSON_AddBoolToObject(j, "Anonymous", v->anonymous);
    return j;
}

cJSON *volume_snapshot(const struct sv *sv)
{
    cJSON *arr = cJSON_CreateArray();
    for (const struct volume *v = sv->volumes; arr && v; v = v->next) {
        cJSON *j = cJSON_CreateObject();
        cJSON *labels = cJSON_CreateArray();
        if (!j || !labels) {
            cJSON_Delete(j);
            cJSON_Delete(labels);
            cJSON_Delete(arr);
            return NULL;
        }
        char ns[24];
        cJSON_AddStringToObject(j, "Name", v->name);
        (void)snprintf(ns, sizeof ns, "%lld", (long long)v->created_ns);
        cJSON_AddStringToObject(j, "Created", ns);
        cJSON_AddBoolToObject(j, "Anonymous", v->anonymous);
        for (char **p = v->labels; p && *p; p++)
            cJSON_AddItemToArray(labels, cJSON_CreateString(*p));
        cJSON_AddItemToObject(j, "Labels", labels);
        cJSON_AddItemToArray(arr, j);
    }
    return arr;
}

int volume_load(struct sv *sv, const cJSON *arr, struct err *e)
{
    if (!arr)
        return 0;
    if (!cJSON_IsArray(arr) || cJSON_GetArraySize(arr) > VOLUME_MAX)
        return err_set(e, EINVAL, "'volumes' is not an array of at most %d", VOLUME_MAX);
    const cJSON *it;
    int k = 0;
    cJSON_ArrayForEach(it, arr)
    {
        const char *name = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(it, "Name"));
        const char *created = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(it, "Created"));
        const cJSON *labels = cJSON_GetObjectItemCaseSensitive(it, "Labels");
        if (!name || !mount_volume_name_valid(name) || volume_find(sv, name))
            return err_set(e, EINVAL, "volume %d: bad or duplicate name", k);
        if (labels && (!cJSON_IsArray(labels) || cJSON_GetArraySize(labels) > CTR_LABELS_MAX))
            return err_set(e, EINVAL, "volume %d: bad labels", k);
        struct volume *v = calloc(1, sizeof *v);
        int n = labels ? cJSON_GetArraySize(labels) : 0;
        if (!v || (n && !(v->labels = calloc((size_t)n + 1, sizeof *v->labels)))) {
            free(v);
            return err_set(e, ENOMEM, "load volumes");
        }
        (void)snprintf(v->name, sizeof v->name, "%s", name);
        v->anonymous = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(it, "Anonymous"));
        v->created_ns = created ? strtoll(created, NULL, 10) : 0;
        int i = 0;
        const cJSON *l;
        cJSON_ArrayForEach(l, labels)
        {
            const char *s = cJSON_GetStringValue(l);
            if (!s || strlen(s) >= CTR_STR_MAX || !(v->labels[i++] = strdup(s))) {
                volume_free(v);
                return err_set(e, EINVAL, "volume %d: bad label", k);
            }
        }
        append(sv, v);
        k++;
    }
    return 0;
}
