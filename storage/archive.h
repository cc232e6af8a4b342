/* SPDX-License-Identifier: MIT */
/* storage/archive.h - images from archives: OCI/Docker layer tars applied onto a tree
 * (whiteouts, opaque directories, no escape from the tree), OCI image layouts and `docker save`
 * tarballs loaded into <images_dir>/NAME, and a rootfs tar imported as an image.
 * Library: synchronous, no libev, no globals, no logging, never forks (libarchive's built-in
 * gzip, xz, zstd and bzip2 decoders only). Everything here reads and writes whole trees: it is
 * slow and belongs in a helper process. */
#pragma once

#include <stddef.h>
#include <stdint.h>

struct err;

#define IMAGE_JSON_MAX     (1024 * 1024) /* index.json, manifest.json, a manifest or config */
#define IMAGE_LAYERS_MAX   128           /* layers of one image */
#define LAYER_ENTRIES_MAX  (1024 * 1024) /* entries of one layer or outer tar */
#define LAYER_WHITEOUT_MAX 65536         /* whiteouts and opaque directories of one layer */

/* Progress of a slow load or import: FN is called with the phase WHAT ("archive" while a tar
 * source is unpacked, "layer I/N" while layer I of N is read and applied, "rootfs" while a
 * rootfs tar is imported), and the bytes of that phase's input read so far (DONE) of TOTAL (its
 * size, compressed). Calls are spaced by at least 1 MiB of input in a phase, and each phase
 * ends with a call where DONE == TOTAL (a failed phase has no such call). A phase reads its
 * input more than once (a layer: digest check, name and diff_id check, extraction; a tar: name
 * check, extraction): each read counts as an equal share of TOTAL, so DONE only grows. FN runs
 * synchronously in the caller's process and cannot fail the load. */
struct storage_progress {
    void (*fn)(void *ctx, const char *what, uint64_t done, uint64_t total);
    void *ctx;
};

/* Apply the layer tar LAYER_PATH (plain, gzip, xz, zstd or bzip2; the filter is detected) on
 * top of the directory DEST, as OCI and Docker apply layers:
 * - "DIR/.wh.NAME" removes DIR/NAME (a file or a whole tree) of the lower layers, and
 *   "DIR/.wh..wh..opq" removes everything DIR held from the lower layers; entries of this
 *   layer stay (whiteouts are applied before anything is extracted). Whiteout entries are
 *   never extracted themselves.
 * - Regular files, directories, symlinks, hard links (to anything beneath DEST), device nodes
 *   and fifos are created with their mode, times and, when running as root, numeric owner.
 *   An entry replaces what is at its path, except that a directory merges into a directory.
 *   Directory modes and times are set after all entries. Xattrs and sockets are skipped.
 * - A first pass reads the whole layer before anything is written: an absolute entry name or
 *   hard-link target, a ".." component, or a truncated or corrupt archive fails there, with
 *   EINVAL (names) or EIO (archive) and a message naming the layer and the entry.
 * - Every path is resolved beneath DEST (openat2 RESOLVE_BENEATH): a write, link or whiteout
 *   through a symlink that would leave DEST (an absolute target, or ".." above DEST) fails with
 *   EINVAL. Symlinks are created with any target text and never followed to leave DEST.
 * A failure in the second pass can leave DEST partly changed: apply layers into a temporary
 * tree. Slow: call from a helper. */
int storage_layer_apply(const char *dest, const char *layer_path, struct err *e);

/* Load the image in SRC, a directory or a tar file (plain or compressed) holding either
 * - a `docker save` tarball: manifest.json [{"Config", "RepoTags", "Layers"}], the old layout
 *   (<id>/layer.tar, <hex>.json) or Docker 25+'s (blobs/sha256/<hex>); only its first image
 *   is loaded. manifest.json wins when both it and index.json are present; or
 * - an OCI image layout: index.json -> (at most one level of image index, linux/amd64 or else
 *   the first manifest) -> image manifest -> config and layer blobs under blobs/sha256/.
 * Every blob named by a digest (OCI: manifests, config, layers; docker: files named
 * blobs/sha256/<hex> or <hex>.json) is checked against it: a mismatch fails with EINVAL
 * "layer I sha256:<12 hex>...: digest mismatch". Every OCI descriptor (of the manifest, an image
 * index, the config, each layer) must have a "size" (EINVAL "<what>: descriptor has no valid
 * size" otherwise), and its blob that many bytes (EINVAL "<what> sha256:<12 hex>...: size
 * mismatch (...)"), checked before the blob is hashed. Blobs must be regular files (EINVAL).
 * The config's rootfs.diff_ids may be absent; when present it must hold one sha256 per layer
 * (EINVAL "config: rootfs.diff_ids has N entries for M layers"), each the digest of that layer's
 * uncompressed tar stream: a mismatch fails with EINVAL "layer I sha256:<12 hex>...: uncompressed
 * content is sha256:<12 hex>..., config's diff_id is sha256:<12 hex>..." before anything of
 * the layer is written. It is computed while the layer's names are checked (no extra
 * decompression), and not at all when the blob's verified digest is its diff_id.
 * JSON files over IMAGE_JSON_MAX fail with E2BIG,
 * more than IMAGE_LAYERS_MAX layers with E2BIG, a missing blob with ENOENT.
 * The image is named NAME when it is not NULL, else RepoTags[0] (docker) or the descriptor's
 * org.opencontainers.image.ref.name annotation (OCI); the name must pass
 * storage_image_name_valid() (EINVAL otherwise, also when no name is found) and is written
 * to LOADED (LOADED_SIZE bytes, ENAMETOOLONG when short).
 * The result, <images_dir>/NAME/{rootfs/,config.json} (Cmd, Entrypoint, Env, WorkingDir,
 * User, StopSignal, ExposedPorts, Healthcheck and created of the image config, and Size: the
 * rootfs's storage_tree_size), is built in
 * <images_dir>/.tmp-load-XXXXXX and renamed into place at the end. An existing image NAME is
 * replaced then, atomically (exchanged, and the old tree removed). On failure nothing is left
 * under IMAGES_DIR. PROG (NULL for none) hears of the phases "archive" (SRC a tar) and
 * "layer I/N". Slow: call from a helper. */
int storage_image_load_archive(const char *images_dir, const char *src, const char *name,
                               char *loaded, size_t loaded_size,
                               const struct storage_progress *prog, struct err *e);

/* Import the tar TAR_PATH (plain or compressed) as the whole rootfs of a new image NAME, with
 * the default config (Cmd ["sh"], the default PATH, Size as storage_tree_size counts it). Entry
 * names are checked as in storage_layer_apply, and ".wh." entries are extracted as plain files.
 * Built in a temporary directory and renamed into place (an existing image NAME is replaced
 * atomically); on failure nothing is left. PROG (NULL for none) hears of the one phase "rootfs".
 * Slow: call from a helper. */
int storage_image_import_tar(const char *images_dir, const char *name, const char *tar_path,
                             const struct storage_progress *prog, struct err *e);
