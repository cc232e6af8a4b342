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
    cJSON_Delete(ev->attrs);
    memset(ev, 0, sizeof *ev);
}

void events_emit(struct sv *sv, const struct ctr *c, const char *action, const char *key,
                 const char *val)
{
    struct event *ev = &ring[ring_head];
    event_clear(ev);
    ev->time_ns = util_now_ns();
    (void)snprintf(ev->action, sizeof ev->action, "%s", action);
    (void)snprintf(ev->id, sizeof ev->id, "%s", c->id);

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
        cJSON_AddItemReferenceToObject(actor, "Attributes", attrs);
    }
    cJSON_AddNumberToObject(root, "time", (double)(ev->time_ns / 1000000000LL));
    cJSON_AddNumberToObject(root, "timeNano", (double)ev->time_ns);
    ev->json = cJSON_PrintUnformatted(root);
    cJSON_Delete(root); /* attrs was added by reference: still ours */
    ev->attrs = attrs;
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

static const char *attr(const struct event *ev, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(ev->attrs, k);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static int match_one(const struct event *ev, const char *f)
{
    const char *eq = strchr(f, '=');
    if (!eq)
        return 0;
    size_t kl = (size_t)(eq - f);
    const char *v = eq + 1;
    if (kl == 4 && strncmp(f, "type", 4) == 0)
        return strcmp(v, "container") == 0;
    if (kl == 5 && strncmp(f, "event", 5) == 0)
        return strcmp(v, ev->action) == 0;
    if (kl == 5 && strncmp(f, "image", 5) == 0) {
        const char *im = attr(ev, "image");
        return im && strcmp(im, v) == 0;
    }
    if (kl == 9 && strncmp(f, "container", 9) == 0) {
        const char *n = attr(ev, "name");
        size_t vl = strlen(v);
        return (n && strcmp(n, v) == 0) || (vl > 0 && strncmp(ev->id, v, vl) == 0);
    }
    if (kl == 5 && strncmp(f, "label", 5) == 0) {
        const char *leq = strchr(v, '=');
        char k[CTR_STR_MAX];
        size_t lk = leq ? (size_t)(leq - v) : strlen(v);
        if (lk >= sizeof k)
            return 0;
        memcpy(k, v, lk);
        k[lk] = '\0';
        const char *have = attr(ev, k);
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

int events_match(const struct event *ev, char *const *filters, size_t nfilters)
{
    /* group by key: every key present must have at least one matching value */
    for (size_t i = 0; i < nfilters; i++) {
        const char *eq = strchr(filters[i], '=');
        size_t kl = eq ? (size_t)(eq - filters[i]) : 0;
        int any = 0;
        for (size_t j = 0; j < nfilters && !any; j++)
            if (strncmp(filters[j], filters[i], kl + 1) == 0 && match_one(ev, filters[j]))
                any = 1;
        if (!any)
            return 0;
    }
    return 1;
}

void events_free_all(void)
{
    for (size_t i = 0; i < EVENTS_RING_MAX; i++)
        event_clear(&ring[i]);
    ring_head = ring_count = 0;
}
