/* SPDX-License-Identifier: MIT */
/* core/view.h - read-only JSON views of supervisor state in Docker's shapes: inspect, ps,
 * image ls, and Docker's human wording of durations and statuses. */
#pragma once

#include <stddef.h>
#include <stdint.h>

struct sv;
struct ctr;
struct err;
struct cJSON;

struct cJSON *view_inspect(const struct ctr *c);
/* The reply to create/run: {"Id": ..., "Warnings": [...]}, warning (as Docker does) of limits
 * discarded because berthd runs without cgroups. */
struct cJSON *view_created(const struct ctr *c);
/* ps: newest first; ALL includes stopped ones; FILTERS are "key=value". NULL with E on a bad
 * filter (EINVAL) or OOM. */
struct cJSON *view_ps(struct sv *sv, int all, const char *const *filters, size_t nfilters,
                      struct err *e);
struct cJSON *view_images(struct sv *sv, struct err *e);
int view_image_count(struct sv *sv);
/* Docker's image inspect object of image NAME; NULL with E (code 404 when unknown). */
struct cJSON *view_image_inspect(struct sv *sv, const char *name, struct err *e);
/* Bytes of image NAME's files (0 when unknown). */
uint64_t view_image_size(struct sv *sv, const char *name);
/* Docker's HumanDuration ("Less than a second", "5 seconds", "About a minute", ...). */
void view_human_duration(int64_t ns, char *buf, size_t size);
/* Docker's status column ("Up 3 seconds", "Exited (0) 5 seconds ago", "Created", ...). */
void view_status(const struct ctr *c, int64_t now_ns, char *buf, size_t size);
