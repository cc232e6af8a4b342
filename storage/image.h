/* SPDX-License-Identifier: MIT */
/* storage/image.h - images under <root>/images/NAME/{rootfs/,config.json}: config parsing,
 * import from a directory, removal of trees. Library: synchronous, no libev, no globals, no
 * logging. Import and removal are slow: core runs them in a forked helper. */
#pragma once

#include <stddef.h>
#include <stdint.h>

struct err;

#define IMAGE_CFG_ARGS_MAX    256
#define IMAGE_NAME_MAX        256         /* an image name, with its NUL */
#define IMAGE_HEALTHCHECK_MAX (16 * 1024) /* compact JSON text of a Healthcheck object */
struct storage_image_config {
    char **cmd; /* NULL-terminated, malloc'd; NULL when the image has none */
    char **entrypoint;
    char **env; /* K=V strings */
    char *workdir;
    char *user;
    char *stop_signal;
    char **exposed;         /* ExposedPorts, canonical "PORT/tcp" or "PORT/udp", NULL-terminated */
    char *healthcheck_json; /* Healthcheck object as compact JSON text, NULL when none */
    int64_t created_ns;
    uint64_t size; /* "Size": bytes of regular files in the rootfs as storage_tree_size counts
                    * them, recorded when the image is made; 0 when unknown (not saved) */
};

/* Image names are one path component: [A-Za-z0-9][A-Za-z0-9_.:@+-]*, shorter than 256. So
 * never "..", never a hidden temporary name. Returns 1 when S is one. */
int storage_image_name_valid(const char *s);

/* Parse the LEN bytes of TXT as an image config: Docker-style keys at the top level, or an OCI
 * image config (keys under "config", "created" at the top); "Size" is read at the top level only
 * (an integer from 0 to 2^53). Every field type-checked and bounded; *CFG is filled only on success
 * (free with storage_image_config_free). EINVAL on malformed JSON or a field of the wrong type,
 * E2BIG over a limit. */
int storage_image_config_parse(const char *txt, size_t len, struct storage_image_config *cfg,
                               struct err *e);

/* Load <images_dir>/NAME/config.json (cJSON, bounded size, every field type-checked). A
 * missing image fails with ENOENT "no such image: NAME". */
int storage_image_load(const char *images_dir, const char *name, struct storage_image_config *cfg,
                       struct err *e);
void storage_image_config_free(struct storage_image_config *cfg);

/* Check an exposed port "PORT[/tcp|/udp]" (1..65535) and write its canonical "PORT/proto" to
 * BUF (at least 16 bytes). -1 with EINVAL when S is not one. */
int storage_exposed_port(const char *s, char *buf, size_t size, struct err *e);

/* Write CFG as <dir>/config.json (atomically). */
int storage_image_save(const char *dir, const struct storage_image_config *cfg, struct err *e);

/* Copy the tree SRC to <images_dir>/NAME/rootfs (through a temporary directory renamed at the
 * end, so a failed import leaves nothing) and write a config.json: when SRC has a sibling
 * config.json (SRC/../config.json) it is used, else Cmd ["sh"] and the default PATH; its Size is
 * the copy's storage_tree_size. Preserves modes, owners, symlinks, hard links, device nodes and
 * times. Slow: call from a helper. */
int storage_image_import_dir(const char *images_dir, const char *name, const char *src,
                             struct err *e);

/* Copy every entry of the directory SFD (an fd opened O_RDONLY) into the directory DFD, as
 * import does (modes, owners, links, devices, times), then give DFD the owner and mode of
 * SFD. Slow for big trees: for a volume's first use in a container's child. */
int storage_copy_contents(int sfd, int dfd, struct err *e);

/* Write the default config (Cmd ["sh"], the default PATH, Created now, Size SIZE: 0 for none) as
 * <dir>/config.json. */
int storage_image_save_default(const char *dir, uint64_t size, struct err *e);

/* Install the finished image directory TMP as DST: a rename, or an atomic exchange with an
 * existing image that is then removed. TMP's filesystem is synced (syncfs) before the rename
 * and after it, so an installed image survives a crash. On failure TMP is removed (best
 * effort) and DST is unchanged. Slow when an old image is removed: call from a helper. */
int storage_image_commit(const char *tmp, const char *dst, struct err *e);

/* Total size in bytes of regular files under DIR, a hard-linked file once, without crossing
 * devices (for image ls, and the Size of a new image). Walks the whole tree: slow for a big one. */
int storage_tree_size(const char *dir, uint64_t *out, struct err *e);

/* rm -rf PATH without following symlinks or crossing mount points. Slow: call from a helper. */
int storage_remove_tree(const char *path, struct err *e);

/* Remove NAME (one path component) in the directory DIRFD like storage_remove_tree; with
 * CONTENTS_ONLY, only what the directory NAME holds (NAME itself stays, and may be "." for
 * DIRFD itself; a symlink NAME fails with ELOOP or ENOTDIR). A missing NAME is fine without
 * CONTENTS_ONLY. WHAT names it in messages. Slow: call from a helper. */
int storage_remove_tree_at(int dirfd, const char *name, int contents_only, const char *what,
                           struct err *e);
