/* SPDX-License-Identifier: MIT */
/* storage/export.h - a container's changes and its whole filesystem, read from the overlay's
 * layers without mounting them: `docker diff` (what the upper dir changes in the image's
 * rootfs) and `docker export` (a tar of the merged view). Overlay's whiteouts (character
 * devices 0/0) and opaque directories (xattr trusted.overlay.opaque or user.overlay.opaque
 * "y") are interpreted; redirect_dir and metacopy are not (berth mounts without them).
 * Library: synchronous, no libev, no globals, no logging, never forks. Both walks read whole
 * trees: slow, for a helper process. */
#pragma once

struct err;

#define STORAGE_DIFF_MAX         (1024 * 1024) /* entries one diff may list */
#define STORAGE_WALK_DEPTH_MAX   256           /* directory levels below the root */
#define STORAGE_WALK_NAMES_MAX   (1024 * 1024) /* directory entries held at once by a walk */
#define STORAGE_EXPORT_LINKS_MAX (1024 * 1024) /* multiply linked files remembered by export */

/* Kinds of change, with Docker's API numbers. */
enum storage_change {
    STORAGE_CHANGE_MODIFIED = 0,
    STORAGE_CHANGE_ADDED = 1,
    STORAGE_CHANGE_DELETED = 2,
};

/* The changes the upper dir UPPER makes to the image rootfs LOWER, as `docker diff` lists them,
 * in path order: depth first, the names of each directory sorted bytewise (a parent comes
 * right before its children, as Docker's walk lists them). Each entry of UPPER is ADDED when
 * LOWER has nothing at its path, else MODIFIED; but a directory LOWER has alike (same mode and
 * owner, not opaque) is listed only when something beneath it is, right before the first such
 * entry (overlay copies a directory up whenever it creates anything in it, even a mount point).
 * IGNORE (NULL, or NULL-terminated absolute paths) names the mount points the engine makes: an
 * empty file or a directory ADDED at one of those paths is not listed, nor what it holds. A
 * whiteout is DELETED (nothing beneath it is listed). In an opaque directory of UPPER (and beneath
 * it), what LOWER held and UPPER does not is DELETED (its top level only). PATH is absolute
 * ("/etc/passwd") and valid only during the call. EMIT returning -1 stops the walk and its error is
 * returned as is. A missing UPPER has no changes; a missing LOWER fails with ENOENT "image rootfs
 * ... is missing". More than STORAGE_DIFF_MAX entries fail with E2BIG, a tree deeper than
 * STORAGE_WALK_DEPTH_MAX with ELOOP, more than STORAGE_WALK_NAMES_MAX names in the
 * directories being walked with E2BIG. Symlinks are never followed. Slow: call from a
 * helper. */
int storage_diff(const char *lower, const char *upper, const char *const *ignore,
                 int (*emit)(void *ctx, enum storage_change kind, const char *path, struct err *e),
                 void *ctx, struct err *e);

/* Write the merged view of UPPER over LOWER (what the container sees at /) to OUT_FD as a tar
 * (libarchive's restricted pax: plain ustar unless a name, link or number needs more), in the
 * path order of storage_diff, named as `docker export` names entries: no entry for the root,
 * then "bin/", "bin/sh", "etc/", "etc/passwd" (relative, a directory with a trailing slash).
 * Entries carry the mode, numeric owner and mtime (whole seconds) of the visible file, and are
 * regular files, directories, symlinks, device nodes and fifos; sockets are skipped, and
 * whiteouts and opaque directories are applied, never written. A non-directory with more than
 * one link that the walk meets again is written as a hard link to its first name (for the
 * first STORAGE_EXPORT_LINKS_MAX such files; the others are written in full each time).
 * No xattrs are written. Symlinks are never followed: every file is opened by one name
 * relative to its directory, with O_NOFOLLOW.
 * OUT_FD (not taken over) may be a pipe, socket, file or terminal, blocking or O_NONBLOCK (on
 * EAGAIN this waits with poll). The caller ignores SIGPIPE: a reader that goes away fails the
 * export with EPIPE. On any failure the output stops there (possibly within an entry) and no
 * end-of-archive blocks are written, but only the result tells a failed export. Limits and a
 * missing UPPER or LOWER as for storage_diff. Slow: call from a helper. */
int storage_export(const char *lower, const char *upper, int out_fd, struct err *e);
