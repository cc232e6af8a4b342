/* SPDX-License-Identifier: MIT */
/* core/events.c - the event ring and its JSON lines. Owns the ring (a core global); delivery
 * to clients goes through server_event(). */
#include "core/events.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/ctr.h"
#include "core/log.h"
#include "core/server.h"
#include "core/util.h"

static struct event ring[EVENTS_RING_MAX];
static size_t ring_head, ring_count; /* head: next slot to write */

static void event_clear(struct event *ev)
{
    free(ev->json);
    memset(ev, 0, sizeof *ev);
}

void events_emit(struct sv *sv, const struct ctr *c, const char *action, const char *key,
                 const char *val)
{
    struct event *ev = &ring[ring_head];
    event_clear(ev);
    ev->time_ns = util_now_ns();

    cJSON *attrs = cJSON_CreateObject();
    cJSON *root = cJSON_CreateObject();
    if (!attrs || !root) {
        cJSON_Delete(attrs);
        cJSON_Delete(root);
        log_msg(LOG_ERROR, "record event %s for %s: out of memory", action, c->name);
        return;
    }
    for (char **l = c->cfg.labels; l && *l; l++) {
        char k[CTR_STR_MAX];
        const char *eq = strchr(*l, '=');
        size_t kl = eq ? (size_t)(eq - *l) : strlen(*l);
        if (kl >= sizeof k)
            continue;
        memcpy(k, *l, kl);
        k[kl] = '\0';
        cJSON_DeleteItemFromObjectCaseSensitive(attrs, k);
        cJSON_AddStringToObject(attrs, k, eq ? eq + 1 : "");
    }
    cJSON_DeleteItemFromObjectCaseSensitive(attrs, "image");
    cJSON_AddStringToObject(attrs, "image", c->cfg.image ? c->cfg.image : "");
    cJSON_DeleteItemFromObjectCaseSensitive(attrs, "name");
    cJSON_AddStringToObject(attrs, "name", c->name);
    if (key) {
        cJSON_DeleteItemFromObjectCaseSensitive(attrs, key);
        cJSON_AddStringToObject(attrs, key, val ? val : "");
    }
    cJSON_AddStringToObject(root, "Type", "container");
    cJSON_AddStringToObject(root, "Action", action);
    cJSON *actor = cJSON_AddObjectToObject(root, "Actor");
    if (actor) {
        cJSON_AddStringToObject(actor, "ID", c->id);
        cJSON_AddItemToObject(actor, "Attributes", attrs);
    } else
        cJSON_Delete(attrs);
    char num[32];
    cJSON_AddNumberToObject(root, "time", (double)(ev->time_ns / 1000000000LL));
    /* every digit of the nanoseconds: a JSON double cannot hold them */
    (void)snprintf(num, sizeof num, "%lld", (long long)ev->time_ns);
    cJSON_AddRawToObject(root, "timeNano", num);
    char *txt = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    ev->json = txt ? strdup(txt) : NULL; /* exact size, out of cJSON's print buffer */
    cJSON_free(txt);
    if (!ev->json) {
        event_clear(ev);
        log_msg(LOG_ERROR, "record event %s for %s: out of memory", action, c->name);
        return;
    }
    ring_head = (ring_head + 1) % EVENTS_RING_MAX;
    if (ring_count < EVENTS_RING_MAX)
        ring_count++;
    server_event(sv, ev);
}

const struct event *events_iter(size_t *pos)
{
    if (*pos >= ring_count)
        return NULL;
    size_t start = (ring_head + EVENTS_RING_MAX - ring_count) % EVENTS_RING_MAX;
    return &ring[(start + (*pos)++) % EVENTS_RING_MAX];
}

static const char *attr(const cJSON *attrs, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(attrs, k);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static int match_one(const cJSON *ev, const char *f)
{
    const char *eq = strchr(f, '=');
    if (!eq)
        return 0;
    size_t kl = (size_t)(eq - f);
    const char *v = eq + 1;
    const cJSON *actor = cJSON_GetObjectItemCaseSensitive(ev, "Actor");
    const cJSON *attrs = cJSON_GetObjectItemCaseSensitive(actor, "Attributes");
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(actor, "ID");
    const cJSON *action = cJSON_GetObjectItemCaseSensitive(ev, "Action");
    if (kl == 4 && strncmp(f, "type", 4) == 0)
        return strcmp(v, "container") == 0;
    if (kl == 5 && strncmp(f, "event", 5) == 0) {
        /* Docker: event=health_status matches "health_status: healthy" and the like */
        if (cJSON_IsString(action) && strcmp(v, "health_status") == 0 &&
            strncmp(action->valuestring, "health_status:", 14) == 0)
            return 1;
        return cJSON_IsString(action) && strcmp(v, action->valuestring) == 0;
    }
    if (kl == 5 && strncmp(f, "image", 5) == 0) {
        const char *im = attr(attrs, "image");
        return im && strcmp(im, v) == 0;
    }
    if (kl == 9 && strncmp(f, "container", 9) == 0) {
        const char *n = attr(attrs, "name");
        size_t vl = strlen(v);
        /* a name, or an id of at least the short length (a shorter prefix would match
         * unrelated containers by chance) */
        return (n && strcmp(n, v) == 0) || (vl >= CTR_SHORT_ID_LEN && cJSON_IsString(id) &&
                                            strncmp(id->valuestring, v, vl) == 0);
    }
    if (kl == 5 && strncmp(f, "label", 5) == 0) {
        const char *leq = strchr(v, '=');
        char k[CTR_STR_MAX];
        size_t lk = leq ? (size_t)(leq - v) : strlen(v);
        if (lk >= sizeof k)
            return 0;
        memcpy(k, v, lk);
        k[lk] = '\0';
        const char *have = attr(attrs, k);
        return have && (!leq || strcmp(have, leq + 1) == 0);
    }
    return 0;
}

int events_filter_valid(const char *f)
{
    static const char *const keys[] = {"container=", "event=", "label=", "type=", "image="};
    for (size_t i = 0; i < ARRAY_LEN(keys); i++)
        if (strncmp(f, keys[i], strlen(keys[i])) == 0)
            return 1;
    return 0;
}

int events_match(const struct event *event, char *const *filters, size_t nfilters)
{
    if (nfilters == 0)
        return 1;
    cJSON *ev = cJSON_Parse(event->json);
    int ok = ev != NULL;
    /* group by key: every key present must have at least one matching value */
    for (size_t i = 0; i < nfilters && ok; i++) {
        const char *eq = strchr(filters[i], '=');
        size_t kl = eq ? (size_t)(eq - filters[i]) : 0;
        int any = 0;
        for (size_t j = 0; j < nfilters && !any && ok; j++)
            if (strncmp(filters[j], filters[i], kl + 1) == 0 && match_one(ev, filters[j]))
                any = 1;
        if (!any)
            ok = 0;
    }
    cJSON_Delete(ev);
    return ok;
}

void events_free_all(void)
{
    for (size_t i = 0; i < EVENTS_RING_MAX; i++)
        event_clear(&ring[i]);
    ring_head = ring_count = 0;
}
