/* SPDX-License-Identifier: MIT */
/* storage/image.h - images under <root>/images/NAME/{rootfs/,config.json}: config parsing,
 * import from a directory, removal of trees. Library: synchronous, no libev, no globals, no
 * logging. Import and removal are slow: core runs them in a forked helper. */
#pragma once

#include <stddef.h>
#include <stdint.h>

struct err;

#define IMAGE_CFG_ARGS_MAX 256
struct storage_image_config {
    char **cmd; /* NULL-terminated, malloc'd; NULL when the image has none */
    char **entrypoint;
    char **env; /* K=V strings */
    char *workdir;
    char *user;
    char *stop_signal;
    char **exposed; /* ExposedPorts, canonical "PORT/tcp" or "PORT/udp", NULL-terminated */
    int64_t created_ns;
};

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
 * config.json (SRC/../config.json) it is used, else Cmd ["sh"] and the default PATH. Preserves
 * modes, owners, symlinks, hard links, device nodes and times. Slow: call from a helper. */
int storage_image_import_dir(const char *images_dir, const char *name, const char *src,
                             struct err *e);

/* Copy every entry of the directory SFD (an fd opened O_RDONLY) into the directory DFD, as
 * import does (modes, owners, links, devices, times), then give DFD the owner and mode of
 * SFD. Slow for big trees: for a volume's first use in a container's child. */
int storage_copy_contents(int sfd, int dfd, struct err *e);

/* Total size in bytes of regular files under DIR (for image ls). */
int storage_tree_size(const char *dir, uint64_t *out, struct err *e);

/* rm -rf PATH without following symlinks or crossing mount points. Slow: call from a helper. */
int storage_remove_tree(const char *path, struct err *e);
