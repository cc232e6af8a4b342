/* SPDX-License-Identifier: MIT */
/* core/mounts.h - a container's mounts (DESIGN §10): Docker's -v, --tmpfs and --mount
 * syntaxes parsed into one struct, their checks, and their JSON in the snapshot. Pure: no
 * syscalls (whether a bind source exists is checked by the caller). */
#pragma once

struct err;
struct cJSON;

enum ctr_mount_type { CTR_MOUNT_BIND, CTR_MOUNT_VOLUME, CTR_MOUNT_TMPFS };

struct ctr_mount {
    enum ctr_mount_type type;
    char *source; /* BIND: host path; VOLUME: its name (NULL: anonymous, not yet named) */
    char *target; /* absolute, clean: no "//", ".", "..", or trailing "/" */
    int read_only;
    int anonymous;        /* VOLUME made for this container alone (-v /dst) */
    int nocopy;           /* VOLUME: never copy the image's content into it */
    unsigned long flags;  /* MS_NOEXEC | MS_NOSUID | MS_NODEV */
    long long tmpfs_size; /* bytes; 0: the kernel's default */
    unsigned tmpfs_mode;  /* 0: 01777 */
};

/* -v SRC:DST[:OPTS], -v NAME:DST[:OPTS], -v DST[:OPTS]. OPTS: ro, rw, nocopy (volumes),
 * noexec, nosuid, nodev, exec, suid, dev, z, Z (accepted, no SELinux here), comma-separated.
 * EINVAL with Docker-like messages ("invalid volume specification: ..."). */
int mount_parse_volume(const char *spec, struct ctr_mount *m, struct err *e);
/* --tmpfs DST[:OPTS]: size=N[kmg], mode=OCTAL, ro, rw, noexec, nosuid, nodev, exec, suid, dev.
 * Defaults as Docker: noexec, nosuid, nodev. */
int mount_parse_tmpfs(const char *spec, struct ctr_mount *m, struct err *e);
/* --mount type=bind|volume|tmpfs,source=..,target=..[,readonly][,volume-nocopy]
 * [,tmpfs-size=BYTES][,tmpfs-mode=OCTAL][,bind-propagation=rprivate] (src, dst,
 * destination, ro are synonyms). */
int mount_parse_mount(const char *spec, struct ctr_mount *m, struct err *e);
/* A volume name: [a-zA-Z0-9][a-zA-Z0-9_.-]+, 2 to 64 characters. */
int mount_volume_name_valid(const char *name);

void mount_free(struct ctr_mount *m);
void mounts_free(struct ctr_mount *v, int n);
int mount_copy(struct ctr_mount *dst, const struct ctr_mount *src, struct err *e);
/* Two mounts on one destination: EINVAL "duplicate mount point: /x". */
int mounts_check(const struct ctr_mount *v, int n, struct err *e);
/* Order V so that a mount comes after every mount on a parent directory of its target
 * (fewer path components first; stable). */
void mounts_sort(struct ctr_mount *v, int n);
const char *mount_type_name(enum ctr_mount_type t);

/* Snapshot form: {"Type","Source","Target","ReadOnly","Anonymous","NoCopy","Flags",
 * "TmpfsSize","TmpfsMode"}. */
struct cJSON *mount_json(const struct ctr_mount *m);
int mount_from_json(const struct cJSON *j, struct ctr_mount *m, struct err *e);
