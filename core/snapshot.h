/* SPDX-License-Identifier: MIT */
/* core/snapshot.h - <root>/berth.json: everything needed to rebuild the supervisor's memory,
 * written atomically from committed state (group commit, see sv.c) and loaded at start. */
#pragma once

#include <stddef.h>

struct sv;
struct err;
struct cJSON;

/* Build the snapshot document from committed state. NULL on OOM. */
struct cJSON *snapshot_build(const struct sv *sv);
/* Serialise and write atomically (tmp, fsync, rename, fsync dir). */
int snapshot_write(struct sv *sv, struct err *e);
/* Parse TEXT (LEN bytes) and add the containers to SV (states as recorded; reconciliation is
 * the caller's). Every field is type- and limit-checked; on failure nothing is added. */
int snapshot_parse(struct sv *sv, const char *text, size_t len, struct err *e);
/* Load the snapshot file: a missing file is an empty state (0). A corrupt one fails with
 * EINVAL/EFBIG and a message naming the file and the problem. */
int snapshot_load(struct sv *sv, struct err *e);
