/* SPDX-License-Identifier: MIT */
/* core/events.h - container events: a bounded ring (EVENTS_RING_MAX) for --since replay and
 * live delivery to subscribed clients through the server. */
#pragma once

#include <stddef.h>
#include <stdint.h>

struct sv;
struct ctr;

struct event {
    int64_t time_ns;
    char action[48];
    char *json;          /* the protocol line, without newline */
    struct cJSON *attrs; /* name, image, labels, extra */
    char id[65];
};

/* Record ACTION for C with an optional extra attribute (KEY=VAL, e.g. exitCode, signal) and
 * deliver it to subscribers. */
void events_emit(struct sv *sv, const struct ctr *c, const char *action, const char *key,
                 const char *val);

/* Iterate the ring from the oldest event: returns NULL past the end. *POS starts at 0. */
const struct event *events_iter(size_t *pos);

/* Whether EV matches the filters ("key=value" strings; same keys OR, different keys AND). */
int events_match(const struct event *ev, char *const *filters, size_t nfilters);

/* Validate filter keys: container event label type image. */
int events_filter_valid(const char *f);

void events_free_all(void);
