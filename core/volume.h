/* SPDX-License-Identifier: MIT */
/* core/volume.h - named and anonymous volumes (DESIGN §10): directories under
 * <root>/volumes/NAME/_data, kept in the snapshot, made on first use, removed off the loop,
 * never while a container (running or not) refers to them. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "core/limits.h"

struct sv;
struct ctr;
struct err;
struct cJSON;

#define VOLUME_MAX 4096 /* volumes per supervisor */

struct volume {
    struct volume *next; /* sv's list, oldest first */
    char name[CTR_NAME_MAX > 65 ? CTR_NAME_MAX : 65];
    char **labels; /* "K=V", NULL-terminated, or NULL */
    int64_t created_ns;
    int anonymous; /* made for one container's -v /dst */
};

struct volume *volume_find(struct sv *sv, const char *name);
/* Make NAME (NULL: an anonymous volume with a random 64-hex name) and its directory. An existing
 * NAME is returned as it is (EEXIST is not an error: Docker's create is idempotent). */
struct volume *volume_create(struct sv *sv, const char *name, char **labels, int anonymous,
                             struct err *e);
/* <root>/volumes/NAME/_data */
int volume_path(const struct sv *sv, const char *name, char *buf, size_t size, struct err *e);
/* The first live container that mounts V, or NULL. */
struct ctr *volume_user(struct sv *sv, const struct volume *v);
/* Forget V and delete its directory in a helper. EBUSY (with the user's id) while in use. */
int volume_remove(struct sv *sv, struct volume *v, struct err *e);
/* After C is gone (rm -v, --rm): remove its anonymous volumes that nobody else mounts. */
void volume_drop_anonymous(struct sv *sv, const struct ctr *c);
void volume_free_all(struct sv *sv);

/* Docker's `volume inspect` shape, and the snapshot's. */
struct cJSON *volume_inspect(const struct sv *sv, const struct volume *v);
struct cJSON *volume_snapshot(const struct sv *sv);
int volume_load(struct sv *sv, const struct cJSON *arr, struct err *e);
