/* SPDX-License-Identifier: MIT */
/* storage/archive.c - images from archives: layer tars applied with whiteouts and every path
 * resolved beneath the destination (openat2 RESOLVE_BENEATH), OCI image layouts and
 * `docker save` tarballs loaded with sha256 checks of every blob named by a digest, and rootfs
 * tars imported. Library: synchronous, no libev, no globals, no logging, never forks; slow,
 * so core runs it in a helper process. */
#include "storage/archive.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/openat2.h>

#include <archive.h>
#include <archive_entry.h>
#include <cjson/cJSON.h>

#include "core/err.h"
#include "core/limits.h"
#include "core/util.h"
#include "storage/image.h"
#include "storage/sha256.h"

#define READ_BLOCK   (64 * 1024)
#define PROGRESS_GAP (1024 * 1024) /* of input between two progress calls */
#define WHITEOUT     ".wh."
#define OPAQUE       ".wh..wh..opq"
#define REF_NAME_KEY "org.opencontainers.image.ref.name"

static void json_deletep(cJSON **j)
{
    cJSON_Delete(*j);
}
#define auto_json __attribute__((cleanup(json_deletep)))

/* ---- paths beneath a root ---- */

/* Normalise the archive name RAW into REL: no "." components, no leading, trailing or doubled
 * slashes; "" is the root itself. An absolute name or a ".." component fails with EINVAL. */
static int clean_name(const char *label, const char *raw, char *rel, size_t size, struct err *e)
{
    size_t n = 0;

    if (!raw)
        return err_set(e, EINVAL, "%s: an entry without a name", label);
    if (raw[0] == '/')
        return err_set(e, EINVAL, "%s: entry '%.100s': absolute name refused", label, raw);
    for (const char *p = raw; *p;) {
        while (*p == '/')
            p++;
        if (!*p)
            break;
        const char *end = strchrnul(p, '/');
        size_t len = (size_t)(end - p);
        if (len == 2 && p[0] == '.' && p[1] == '.')
            return err_set(e, EINVAL, "%s: entry '%.100s': '..' component refused", label, raw);
        if (!(len == 1 && p[0] == '.')) {
            if (n + 1 + len >= size)
                return err_set(e, ENAMETOOLONG, "%s: entry '%.100s'", label, raw);
            if (n)
                rel[n++] = '/';
            memcpy(rel + n, p, len);
            n += len;
        }
        p = end;
    }
    rel[n] = '\0';
    return 0;
}

/* Split REL in place into its parent ("" for the root) and returns the last component. */
static const char *split_last(char *rel, const char **parent)
{
    char *slash = strrchr(rel, '/');
    if (!slash) {
        *parent = "";
        return rel;
    }
    *slash = '\0';
    *parent = rel;
    return slash + 1;
}

/* openat2(ROOTFD, REL, FLAGS) beneath ROOTFD: no absolute symlinks, no ".." above it, no magic
 * links. Without openat2 (Linux < 5.6), a walk that refuses every symlink. -1 with errno. */
static int open_beneath(int rootfd, const char *rel, int flags)
{
    if (!*rel)
        return openat(rootfd, ".", flags | O_CLOEXEC);
    struct open_how how = {.flags = (unsigned long long)(flags | O_CLOEXEC),
                           .resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS};
    int fd = (int)syscall(SYS_openat2, rootfd, rel, &how, sizeof how);
    if (fd >= 0 || errno != ENOSYS)
        return fd;
    char buf[PATH_MAX_BERTH];
    if ((size_t)snprintf(buf, sizeof buf, "%s", rel) >= sizeof buf) {
        errno = ENAMETOOLONG;
        return -1;
    }
    int cur = openat(rootfd, ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
    for (char *p = buf, *next; cur >= 0 && p; p = next) {
        next = strchr(p, '/');
        if (next)
            *next++ = '\0';
        int sub = openat(cur, p, (next ? O_PATH | O_DIRECTORY : flags) | O_NOFOLLOW | O_CLOEXEC);
        int saved = errno;
        (void)close(cur); /* an O_PATH walk fd: nothing to flush */
        errno = saved == ELOOP ? EXDEV : saved;
        cur = sub;
    }
    return cur;
}

/* The error of a failed open_beneath of REL for ENTRY. */
static int beneath_err(int code, const char *label, const char *entry, const char *what,
                       struct err *e)
{
    if (code == EXDEV || code == ELOOP)
        return err_set(e, EINVAL, "%s: entry '%.100s': %s leaves the root through a symlink", label,
                       entry, what);
    return err_set(e, code, "%s: entry '%.100s': open %s", label, entry, what);
}

/* Open the directory REL beneath ROOTFD (O_PATH); with CREATE, missing directories are made
 * (0755). -1 with errno (EXDEV when a symlink leads out). */
static int open_dir(int rootfd, const char *rel, int create)
{
    int fd = open_beneath(rootfd, rel, O_PATH | O_DIRECTORY);
    if (fd >= 0 || errno != ENOENT || !create)
        return fd;
    char buf[PATH_MAX_BERTH];
    if ((size_t)snprintf(buf, sizeof buf, "%s", rel) >= sizeof buf) {
        errno = ENAMETOOLONG;
        return -1;
    }
    auto_close int cur = openat(rootfd, ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
    for (char *p = buf; cur >= 0;) {
        char *slash = strchr(p, '/');
        if (slash)
            *slash = '\0';
        int sub = open_beneath(rootfd, buf, O_PATH | O_DIRECTORY);
        if (sub < 0 && errno == ENOENT) {
            if (mkdirat(cur, p, 0755) < 0 && errno != EEXIST)
                return -1;
            sub = open_beneath(rootfd, buf, O_PATH | O_DIRECTORY);
        }
        if (sub < 0)
            return -1;
        (void)close(cur); /* an O_PATH walk fd: nothing to flush */
        cur = sub;
        if (!slash)
            return take_fd(&cur);
        *slash = '/';
        p = slash + 1;
    }
    return -1;
}

/* ---- reading tars ---- */

/* Progress of one phase, whose input of TOTAL bytes is read PASSES times: each read counts as
 * an equal share, so done = (bytes read in all passes) / PASSES only grows. */
struct meter {
    const struct storage_progress *prog; /* NULL: no calls */
    const char *what;
    uint64_t total, read, last;
    unsigned passes;
};

static void meter_start(struct meter *m, const struct storage_progress *prog, const char *what,
                        off_t total, unsigned passes)
{
    *m = (struct meter){.prog = prog && prog->fn ? prog : NULL,
                        .what = what,
                        .total = total > 0 ? (uint64_t)total : 0,
                        .passes = passes ? passes : 1};
}

static void meter_add(struct meter *m, uint64_t n)
{
    if (!m || !m->prog)
        return;
    m->read += n;
    uint64_t done = m->read / m->passes;
    /* DONE == TOTAL is left to meter_end, the one call that always comes */
    if (done < m->total && done - m->last >= PROGRESS_GAP) {
        m->last = done;
        m->prog->fn(m->prog->ctx, m->what, done, m->total);
    }
}

static void meter_end(struct meter *m)
{
    if (m->prog)
        m->prog->fn(m->prog->ctx, m->what, m->total, m->total);
}

/* A tar read from the file FD. A parses it. Without a diff_id to compute, A reads FD itself;
 * with one, RAW decompresses FD and A parses RAW's output, which tar_feed hashes on its way:
 * one decompression gives both the entries and the digest of the uncompressed stream. */
struct tar {
    struct archive *a;
    struct archive *raw;
    int raw_eof;
    int64_t raw_off; /* offset of RAW's next block */
    struct storage_sha256 sha;
    int fd;
    off_t size, pos; /* FD's size and read offset */
    struct meter *m; /* counts what is read or skipped of FD */
    char buf[READ_BLOCK];
};

static void tar_free(struct tar *t)
{
    if (!t)
        return;
    /* archive_read_free only reports errors of a close already checked */
    if (t->a)
        (void)archive_read_free(t->a);
    if (t->raw)
        (void)archive_read_free(t->raw);
    free(t);
}
static void tar_freep(struct tar **t)
{
    tar_free(*t);
}
#define auto_tar __attribute__((cleanup(tar_freep)))

static const char *arch_msg(struct archive *a)
{
    const char *msg = archive_error_string(a);
    return msg ? msg : "read error";
}

static la_ssize_t file_read(struct archive *a, void *ctx, const void **buf)
{
    struct tar *t = ctx;
    ssize_t n;
    do
        n = read(t->fd, t->buf, sizeof t->buf);
    while (n < 0 && errno == EINTR);
    if (n < 0) {
        int saved = errno;
        archive_set_error(a, saved, "read: %s", strerror(saved));
        return -1;
    }
    t->pos += n;
    meter_add(t->m, (uint64_t)n);
    *buf = t->buf;
    return n;
}

/* Skip by seeking (checking a plain tar's names reads only its headers), never past the end:
 * libarchive reads what a short skip left, and so sees a truncation. */
static la_int64_t file_skip(struct archive *a, void *ctx, la_int64_t request)
{
    struct tar *t = ctx;
    la_int64_t n = t->size > t->pos ? t->size - t->pos : 0;

    (void)a;
    if (request < n)
        n = request;
    if (n <= 0 || lseek(t->fd, (off_t)n, SEEK_CUR) < 0)
        return 0; /* libarchive reads instead */
    t->pos += n;
    meter_add(t->m, (uint64_t)n);
    return n;
}

/* The next block of RAW's output, hashed: 1 with *BUF and *LEN, 0 at the end, -1 with the error
 * in RAW. */
static int raw_next(struct tar *t, const void **buf, size_t *len)
{
    while (!t->raw_eof) {
        la_int64_t off;
        int rc = archive_read_data_block(t->raw, buf, len, &off);
        if (rc == ARCHIVE_EOF)
            break;
        if (rc != ARCHIVE_OK && rc != ARCHIVE_WARN)
            return -1;
        if (off != t->raw_off) {
            archive_set_error(t->raw, EIO, "a hole in the decompressed stream");
            return -1;
        }
        if (*len == 0)
            continue;
        t->raw_off += (int64_t)*len;
        storage_sha256_update(&t->sha, *buf, *len);
        return 1;
    }
    t->raw_eof = 1;
    return 0;
}

/* A's read callback in a tar with RAW. No skip callback: every byte must pass the hash. */
static la_ssize_t tar_feed(struct archive *a, void *ctx, const void **buf)
{
    struct tar *t = ctx;
    size_t len = 0;
    int rc = raw_next(t, buf, &len);
    if (rc < 0) {
        archive_set_error(a, EIO, "%s", arch_msg(t->raw));
        return -1;
    }
    return rc ? (la_ssize_t)len : 0;
}

/* The built-in decompressors only: libarchive would run an external program for the others,
 * and a library never forks. */
static int tar_filters(struct archive *a)
{
    return archive_read_support_filter_gzip(a) == ARCHIVE_OK &&
           archive_read_support_filter_xz(a) == ARCHIVE_OK &&
           archive_read_support_filter_zstd(a) == ARCHIVE_OK &&
           archive_read_support_filter_bzip2(a) == ARCHIVE_OK;
}

/* RAW of T, opened on T's file: the decompressed stream as one entry ("empty" for an empty
 * file, which "raw" does not take). */
static int raw_open(struct tar *t, const char *label, struct err *e)
{
    struct archive_entry *ent;
    if (!tar_filters(t->raw) || archive_read_support_format_raw(t->raw) != ARCHIVE_OK ||
        archive_read_support_format_empty(t->raw) != ARCHIVE_OK)
        return err_set(e, EIO, "%s: archive reader: %s", label, arch_msg(t->raw));
    /* the open reads ahead (to detect the compression), and may find the input broken */
    int rc = archive_read_open2(t->raw, t, NULL, file_read, NULL, NULL);
    if (rc == ARCHIVE_OK)
        rc = archive_read_next_header(t->raw, &ent);
    if (rc != ARCHIVE_OK && rc != ARCHIVE_WARN && rc != ARCHIVE_EOF)
        return err_set(e, EIO, "%s: truncated or corrupt archive: %s", label, arch_msg(t->raw));
    t->raw_eof = rc == ARCHIVE_EOF;
    storage_sha256_init(&t->sha);
    return 0;
}

/* Open T (zeroed) on FD (rewound); see tar_open. */
static int tar_init(struct tar *t, int fd, int hash, struct meter *m, const char *label,
                    struct err *e)
{
    struct stat st;

    t->fd = fd;
    t->m = m;
    if (fstat(fd, &st) < 0 || lseek(fd, 0, SEEK_SET) < 0)
        return err_set(e, errno, "%s: rewind", label);
    t->size = st.st_size;
    t->a = archive_read_new();
    t->raw = hash ? archive_read_new() : NULL;
    if (!t->a || (hash && !t->raw))
        return err_set(e, ENOMEM, "%s: archive reader", label);
    if (hash && raw_open(t, label, e) < 0)
        return -1;
    if (archive_read_support_format_tar(t->a) != ARCHIVE_OK || (!hash && !tar_filters(t->a)))
        return err_set(e, EIO, "%s: archive reader: %s", label, arch_msg(t->a));
    if (archive_read_open2(t->a, t, NULL, hash ? tar_feed : file_read, hash ? NULL : file_skip,
                           NULL) != ARCHIVE_OK)
        return err_set(e, EIO, "%s: truncated or corrupt archive: %s", label, arch_msg(t->a));
    return 0;
}

/* A reader of the tar in FD (rewound), counted in M (may be NULL); with HASH, the digest of its
 * uncompressed stream is computed on the way (tar_digest). */
static struct tar *tar_open(int fd, int hash, struct meter *m, const char *label, struct err *e)
{
    struct tar *t = calloc(1, sizeof *t);
    if (!t) {
        err_set(e, ENOMEM, "%s: archive reader", label);
        return NULL;
    }
    if (tar_init(t, fd, hash, m, label, e) < 0) {
        tar_free(t);
        return NULL;
    }
    return t;
}

/* The digest of the whole uncompressed stream of T (opened with HASH), read to its end: the
 * tar's end marker need not be the end of the stream. */
static int tar_digest(struct tar *t, char hex[SHA256_HEX_LEN + 1], const char *label, struct err *e)
{
    const void *buf;
    size_t len;
    uint8_t d[SHA256_LEN];
    int rc;

    while ((rc = raw_next(t, &buf, &len)) > 0)
        ;
    if (rc < 0)
        return err_set(e, EIO, "%s: truncated or corrupt archive: %s", label, arch_msg(t->raw));
    storage_sha256_final(&t->sha, d);
    storage_sha256_hex(d, hex);
    return 0;
}

/* The next header: 1 with *ENT, 0 at the end, -1 on a read error. */
static int tar_next(struct tar *t, struct archive_entry **ent, const char *label, struct err *e)
{
    int rc = archive_read_next_header(t->a, ent);
    if (rc == ARCHIVE_EOF)
        return 0;
    if (rc == ARCHIVE_OK || rc == ARCHIVE_WARN)
        return 1;
    return err_set(e, EIO, "%s: truncated or corrupt archive: %s", label, arch_msg(t->a));
}

/* ---- applying a layer ---- */

struct dir_meta {
    char *rel;
    mode_t mode;
    uid_t uid;
    gid_t gid;
    struct timespec ts[2];
};

struct apply {
    const char *label;
    const char *diff_id; /* the uncompressed stream's sha256 (hex), NULL when not checked */
    struct meter *m;     /* progress, NULL for none */
    int rootfd;
    int whiteouts; /* interpret .wh. entries */
    int owner;     /* restore owners: only root can */
    struct dir_meta *dirs;
    size_t ndirs, cap;
    char rel[PATH_MAX_BERTH];
};

static void apply_free(struct apply *ap)
{
    for (size_t i = 0; i < ap->ndirs; i++)
        free(ap->dirs[i].rel);
    free(ap->dirs);
    ap->dirs = NULL;
    ap->ndirs = ap->cap = 0;
}

static void entry_times(struct archive_entry *ent, struct timespec ts[2])
{
    ts[1] = (struct timespec){archive_entry_mtime(ent), archive_entry_mtime_nsec(ent)};
    ts[0] = archive_entry_atime_is_set(ent)
                ? (struct timespec){archive_entry_atime(ent), archive_entry_atime_nsec(ent)}
                : ts[1];
}

/* Owner, mode (not of symlinks) and times of NAME in PFD. */
static int set_meta(const struct apply *ap, int pfd, const char *name, mode_t mode, uid_t uid,
                    gid_t gid, const struct timespec ts[2], struct err *e)
{
    /* chown first: it clears set-id bits that chmod then restores */
    if (ap->owner && fchownat(pfd, name, uid, gid, AT_SYMLINK_NOFOLLOW) < 0)
        return err_set(e, errno, "%s: chown '%.100s'", ap->label, ap->rel);
    if (!S_ISLNK(mode) && fchmodat(pfd, name, mode & 07777, 0) < 0)
        return err_set(e, errno, "%s: chmod '%.100s'", ap->label, ap->rel);
    if (utimensat(pfd, name, ts, AT_SYMLINK_NOFOLLOW) < 0)
        return err_set(e, errno, "%s: set times of '%.100s'", ap->label, ap->rel);
    return 0;
}

static int write_data(struct archive *a, int fd, const struct apply *ap, struct err *e)
{
    for (;;) {
        const void *buf;
        size_t len;
        la_int64_t off;
        int rc = archive_read_data_block(a, &buf, &len, &off);
        if (rc == ARCHIVE_EOF)
            return 0;
        if (rc != ARCHIVE_OK && rc != ARCHIVE_WARN)
            return err_set(e, EIO, "%s: truncated or corrupt archive at '%.100s': %s", ap->label,
                           ap->rel, archive_error_string(a));
        for (size_t done = 0; done < len;) {
            ssize_t n = pwrite(fd, (const char *)buf + done, len - done, (off_t)(off + done));
            if (n < 0 && errno == EINTR)
                continue;
            if (n < 0)
                return err_set(e, errno, "%s: write '%.100s'", ap->label, ap->rel);
            done += (size_t)n;
        }
    }
}

/* Pass 1 checks every name; whiteouts (when interpreted) are collected into WH. */
struct whiteouts {
    char **v;
    size_t n;
};

static void whiteouts_free(struct whiteouts *w)
{
    for (size_t i = 0; i < w->n; i++)
        free(w->v[i]);
    free(w->v);
    w->v = NULL;
    w->n = 0;
}

/* The diff_id check at the end of pass 1: before anything is written. */
static int check_diff_id(struct tar *t, const struct apply *ap, struct err *e)
{
    char got[SHA256_HEX_LEN + 1];
    if (tar_digest(t, got, ap->label, e) < 0)
        return -1;
    if (strcmp(got, ap->diff_id) != 0)
        return err_set(e, EINVAL,
                       "%s: uncompressed content is sha256:%.12s..., config's diff_id is "
                       "sha256:%.12s...",
                       ap->label, got, ap->diff_id);
    return 0;
}

static int scan_layer(int fd, struct apply *ap, struct whiteouts *wh, struct err *e)
{
    auto_tar struct tar *t = tar_open(fd, ap->diff_id != NULL, ap->m, ap->label, e);
    struct archive_entry *ent;
    char link[PATH_MAX_BERTH];
    size_t n = 0;

    if (!t)
        return -1;
    for (;;) {
        int rc = tar_next(t, &ent, ap->label, e);
        if (rc < 0)
            return -1;
        if (rc == 0)
            return ap->diff_id ? check_diff_id(t, ap, e) : 0;
        if (++n > LAYER_ENTRIES_MAX)
            return err_set(e, E2BIG, "%s: more than %d entries", ap->label, LAYER_ENTRIES_MAX);
        if (clean_name(ap->label, archive_entry_pathname(ent), ap->rel, sizeof ap->rel, e) < 0)
            return -1;
        const char *hl = archive_entry_hardlink(ent);
        if (hl && clean_name(ap->label, hl, link, sizeof link, e) < 0)
            return err_wrap(e, "hard link '%.100s'", ap->rel);
        if (hl && !*link)
            return err_set(e, EINVAL, "%s: entry '%.100s': hard link to the root", ap->label,
                           ap->rel);
        const char *base = strrchr(ap->rel, '/');
        base = base ? base + 1 : ap->rel;
        if (!ap->whiteouts || strncmp(base, WHITEOUT, strlen(WHITEOUT)) != 0)
            continue;
        const char *victim = base + strlen(WHITEOUT);
        if (strcmp(base, OPAQUE) != 0 && strncmp(victim, WHITEOUT, strlen(WHITEOUT)) == 0)
            continue; /* other .wh..wh. names are aufs metadata: ignored */
        if (strcmp(base, OPAQUE) != 0 &&
            (!*victim || strcmp(victim, ".") == 0 || strcmp(victim, "..") == 0))
            return err_set(e, EINVAL, "%s: entry '%.100s': invalid whiteout", ap->label, ap->rel);
        if (wh->n >= LAYER_WHITEOUT_MAX)
            return err_set(e, E2BIG, "%s: more than %d whiteouts", ap->label, LAYER_WHITEOUT_MAX);
        char **nv = realloc(wh->v, (wh->n + 1) * sizeof *nv);
        if (!nv)
            return err_set(e, ENOMEM, "%s: whiteouts", ap->label);
        wh->v = nv;
        if (!(wh->v[wh->n] = strdup(ap->rel)))
            return err_set(e, ENOMEM, "%s: whiteouts", ap->label);
        wh->n++;
    }
}

/* Remove what the whiteout REL (a cleaned name) hides in the lower layers. */
static int apply_whiteout(struct apply *ap, const char *wh, struct err *e)
{
    char rel[PATH_MAX_BERTH];
    const char *parent;

    (void)snprintf(rel, sizeof rel, "%s", wh); /* WH came from a buffer of this size */
    const char *base = split_last(rel, &parent);
    if (strcmp(base, OPAQUE) == 0) {
        /* everything in PARENT so far is from lower layers */
        auto_close int dfd = open_dir(ap->rootfd, parent, 0);
        if (dfd < 0 && (errno == ENOENT || errno == ENOTDIR))
            return 0;
        if (dfd < 0)
            return beneath_err(errno, ap->label, wh, "the opaque directory", e);
        if (storage_remove_tree_at(dfd, ".", 1, parent, e) < 0)
            return err_wrap(e, "%s: opaque directory '%.100s'", ap->label, parent);
        return 0;
    }
    auto_close int pfd = open_dir(ap->rootfd, parent, 0);
    if (pfd < 0 && (errno == ENOENT || errno == ENOTDIR))
        return 0;
    if (pfd < 0)
        return beneath_err(errno, ap->label, wh, "the whiteout's directory", e);
    if (storage_remove_tree_at(pfd, base + strlen(WHITEOUT), 0, wh, e) < 0)
        return err_wrap(e, "%s: whiteout", ap->label);
    return 0;
}

static int remember_dir(struct apply *ap, struct archive_entry *ent, struct err *e)
{
    if (ap->ndirs == ap->cap) {
        size_t ncap = ap->cap ? ap->cap * 2 : 64;
        struct dir_meta *nv = realloc(ap->dirs, ncap * sizeof *nv);
        if (!nv)
            return err_set(e, ENOMEM, "%s: directories", ap->label);
        ap->dirs = nv;
        ap->cap = ncap;
    }
    struct dir_meta *d = &ap->dirs[ap->ndirs];
    if (!(d->rel = strdup(ap->rel)))
        return err_set(e, ENOMEM, "%s: directories", ap->label);
    d->mode = archive_entry_mode(ent);
    d->uid = (uid_t)archive_entry_uid(ent);
    d->gid = (gid_t)archive_entry_gid(ent);
    entry_times(ent, d->ts);
    ap->ndirs++;
    return 0;
}

static int extract_entry(struct archive *a, struct archive_entry *ent, struct apply *ap,
                         struct err *e)
{
    char rel[PATH_MAX_BERTH], link[PATH_MAX_BERTH];
    const char *parent;
    struct stat st;

    (void)snprintf(rel, sizeof rel, "%s", ap->rel); /* same size */
    const char *name = split_last(rel, &parent);
    if (ap->whiteouts && strncmp(name, WHITEOUT, strlen(WHITEOUT)) == 0)
        return 0;
    auto_close int pfd = open_dir(ap->rootfd, parent, 1);
    if (pfd < 0)
        return beneath_err(errno, ap->label, ap->rel, "its directory", e);

    mode_t type = archive_entry_filetype(ent);
    const char *hl = archive_entry_hardlink(ent);
    int exists = fstatat(pfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0;
    if (!exists && errno != ENOENT)
        return err_set(e, errno, "%s: stat '%.100s'", ap->label, ap->rel);
    if (exists && !(type == AE_IFDIR && !hl && S_ISDIR(st.st_mode)) &&
        storage_remove_tree_at(pfd, name, 0, ap->rel, e) < 0)
        return err_wrap(e, "%s: replace", ap->label);

    struct timespec ts[2];
    entry_times(ent, ts);
    mode_t mode = archive_entry_mode(ent);
    uid_t uid = (uid_t)archive_entry_uid(ent);
    gid_t gid = (gid_t)archive_entry_gid(ent);

    if (hl) {
        const char *tparent;
        if (clean_name(ap->label, hl, link, sizeof link, e) < 0)
            return -1;
        const char *tname = split_last(link, &tparent);
        auto_close int tfd = open_dir(ap->rootfd, tparent, 0);
        if (tfd < 0)
            return beneath_err(errno, ap->label, ap->rel, "the hard link's target", e);
        if (linkat(tfd, tname, pfd, name, 0) < 0)
            return err_set(e, errno, "%s: hard link '%.100s' to '%.100s'", ap->label, ap->rel, hl);
        return 0;
    }
    switch (type) {
    case AE_IFDIR:
        if (!(exists && S_ISDIR(st.st_mode)) && mkdirat(pfd, name, 0700) < 0)
            return err_set(e, errno, "%s: mkdir '%.100s'", ap->label, ap->rel);
        /* mode and times at the end: a read-only directory still gets its entries, and
         * adding them changes the times */
        return remember_dir(ap, ent, e);
    case AE_IFREG: {
        auto_close int fd =
            openat(pfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (fd < 0)
            return err_set(e, errno, "%s: create '%.100s'", ap->label, ap->rel);
        if (write_data(a, fd, ap, e) < 0)
            return -1;
        /* a sparse file may end in a hole */
        if (archive_entry_size_is_set(ent) && ftruncate(fd, archive_entry_size(ent)) < 0)
            return err_set(e, errno, "%s: truncate '%.100s'", ap->label, ap->rel);
        break;
    }
    case AE_IFLNK: {
        const char *target = archive_entry_symlink(ent);
        if (!target || !*target || strlen(target) >= PATH_MAX)
            return err_set(e, EINVAL, "%s: symlink '%.100s' without a valid target", ap->label,
                           ap->rel);
        if (symlinkat(target, pfd, name) < 0)
            return err_set(e, errno, "%s: symlink '%.100s'", ap->label, ap->rel);
        break;
    }
    case AE_IFCHR:
    case AE_IFBLK:
    case AE_IFIFO:
        if (mknodat(pfd, name, type | (mode & 07777), archive_entry_rdev(ent)) < 0)
            return err_set(e, errno, "%s: mknod '%.100s'", ap->label, ap->rel);
        break;
    case AE_IFSOCK:
        return 0; /* a socket is only meaningful to the process that bound it */
    default:
        return err_set(e, EINVAL, "%s: entry '%.100s': unsupported type %o", ap->label, ap->rel,
                       (unsigned)type);
    }
    return set_meta(ap, pfd, name, type | (mode & 07777), uid, gid, ts, e);
}

/* Directory modes, owners and times, deepest last-set first. */
static int fix_dirs(struct apply *ap, struct err *e)
{
    for (size_t i = ap->ndirs; i-- > 0;) {
        struct dir_meta *d = &ap->dirs[i];
        const char *parent;
        struct stat st;
        (void)snprintf(ap->rel, sizeof ap->rel, "%s", d->rel); /* for messages */
        const char *name = split_last(d->rel, &parent);
        auto_close int pfd = open_dir(ap->rootfd, parent, 0);
        if (pfd < 0)
            return beneath_err(errno, ap->label, ap->rel, "its directory", e);
        /* a later entry may have replaced the directory (even by a symlink): skip it then */
        if (fstatat(pfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISDIR(st.st_mode))
            continue;
        if (set_meta(ap, pfd, name, S_IFDIR | (d->mode & 07777), d->uid, d->gid, d->ts, e) < 0)
            return -1;
    }
    return 0;
}

static int extract_layer(int fd, struct apply *ap, struct err *e)
{
    auto_tar struct tar *t = tar_open(fd, 0, ap->m, ap->label, e);
    struct archive_entry *ent;

    if (!t)
        return -1;
    for (;;) {
        int rc = tar_next(t, &ent, ap->label, e);
        if (rc <= 0)
            return rc < 0 ? -1 : fix_dirs(ap, e);
        if (clean_name(ap->label, archive_entry_pathname(ent), ap->rel, sizeof ap->rel, e) < 0)
            return -1;
        if (!*ap->rel)
            continue; /* the root keeps its own mode and owner */
        if (extract_entry(t->a, ent, ap, e) < 0)
            return -1;
    }
}

/* Apply the tar in LAYER_FD onto the directory ROOTFD (two reads of it, counted in M, which may
 * be NULL); with DIFF_ID (hex), the uncompressed stream must have that sha256, checked before
 * anything is written. */
static int apply_fd(int rootfd, int layer_fd, const char *label, int whiteouts, const char *diff_id,
                    struct meter *m, struct err *e)
{
    struct apply ap = {.label = label,
                       .diff_id = diff_id,
                       .m = m,
                       .rootfd = rootfd,
                       .whiteouts = whiteouts,
                       .owner = geteuid() == 0};
    struct whiteouts wh = {0};

    int rc = scan_layer(layer_fd, &ap, &wh, e);
    for (size_t i = 0; rc == 0 && i < wh.n; i++)
        rc = apply_whiteout(&ap, wh.v[i], e);
    whiteouts_free(&wh);
    if (rc == 0)
        rc = extract_layer(layer_fd, &ap, e);
    apply_free(&ap);
    return rc;
}

int storage_layer_apply(const char *dest, const char *layer_path, struct err *e)
{
    auto_close int rootfd = open(dest, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (rootfd < 0)
        return err_set(e, errno, "apply layer: open '%s'", dest);
    auto_close int fd = open(layer_path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return err_set(e, errno, "apply layer: open '%s'", layer_path);
    char label[PATH_MAX_BERTH + 8];
    (void)snprintf(label, sizeof label, "layer %s", layer_path); /* room for all of it */
    return apply_fd(rootfd, fd, label, 1, NULL, NULL, e);
}

/* ---- blobs ---- */

static int is_hex64(const char *s)
{
    return strlen(s) == SHA256_HEX_LEN && strspn(s, "0123456789abcdef") == SHA256_HEX_LEN;
}

/* "sha256:<hex>" -> HEX. */
static int parse_digest(const char *what, const cJSON *v, char hex[SHA256_HEX_LEN + 1],
                        struct err *e)
{
    const char *s = cJSON_GetStringValue(v);
    if (!s)
        return err_set(e, EINVAL, "%s: no digest", what);
    if (strncmp(s, "sha256:", 7) != 0 || !is_hex64(s + 7))
        return err_set(e, EINVAL, "%s: unsupported digest '%.80s' (sha256:<64 hex> only)", what, s);
    memcpy(hex, s + 7, SHA256_HEX_LEN + 1);
    return 0;
}

/* Open the regular file REL beneath SRCFD; *SIZE gets its size. O_NONBLOCK: an archive may hold
 * a fifo under a blob's name, and a blocking open of it would wait for a writer forever (the
 * flag does nothing to reads of a regular file). */
static int open_blob(int srcfd, const char *rel, const char *what, off_t *size, struct err *e)
{
    struct stat st;
    auto_close int fd = open_beneath(srcfd, rel, O_RDONLY | O_NONBLOCK);
    if (fd < 0 && (errno == EXDEV || errno == ELOOP))
        return err_set(e, EINVAL, "%s: '%.100s' leaves the archive through a symlink", what, rel);
    if (fd < 0)
        return err_set(e, errno, "%s: open '%.100s'", what, rel);
    if (fstat(fd, &st) < 0)
        return err_set(e, errno, "%s: stat '%.100s'", what, rel);
    if (!S_ISREG(st.st_mode))
        return err_set(e, EINVAL, "%s: '%.100s' is not a file", what, rel);
    *size = st.st_size;
    return take_fd(&fd);
}

/* The "size" of the OCI descriptor DESC: an integer from 0 to 2^53 (what a JSON number holds
 * exactly). OCI requires it. */
static int parse_size(const char *what, const cJSON *desc, int64_t *out, struct err *e)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(desc, "size");
    double d = cJSON_IsNumber(v) ? v->valuedouble : -1;
    /* the range is checked before the cast, which is undefined outside it */
    if (!(d >= 0 && d <= 9007199254740992.0 && d == (double)(int64_t)d))
        return err_set(e, EINVAL, "%s: descriptor has no valid size", what);
    *out = (int64_t)d;
    return 0;
}

/* A blob of SIZE bytes against its descriptor's WANT (-1 when it has none): a cheap check
 * before the blob is hashed. */
static int check_size(off_t size, int64_t want, const char *what, const char *hex, struct err *e)
{
    if (want < 0 || (int64_t)size == want)
        return 0;
    return err_set(e, EINVAL,
                   "%s sha256:%.12s...: size mismatch (descriptor says %lld bytes, blob has %lld)",
                   what, hex, (long long)want, (long long)size);
}

/* Check the content of FD (read to its end, counted in M, which may be NULL) against HEX;
 * rewinds FD. */
static int verify_fd(int fd, const char *hex, const char *what, struct meter *m, struct err *e)
{
    struct storage_sha256 s;
    uint8_t d[SHA256_LEN];
    char got[SHA256_HEX_LEN + 1], buf[READ_BLOCK];

    if (lseek(fd, 0, SEEK_SET) < 0)
        return err_set(e, errno, "%s: rewind", what);
    storage_sha256_init(&s);
    for (;;) {
        ssize_t n = read(fd, buf, READ_BLOCK);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return err_set(e, errno, "%s: read", what);
        if (n == 0)
            break;
        meter_add(m, (uint64_t)n);
        storage_sha256_update(&s, buf, (size_t)n);
    }
    storage_sha256_final(&s, d);
    storage_sha256_hex(d, got);
    if (strcmp(got, hex) != 0)
        return err_set(e, EINVAL,
                       "%s sha256:%.12s...: digest mismatch (content is sha256:%.12s...)", what,
                       hex, got);
    if (lseek(fd, 0, SEEK_SET) < 0)
        return err_set(e, errno, "%s: rewind", what);
    return 0;
}

/* Read the JSON file REL beneath SRCFD (at most IMAGE_JSON_MAX bytes; checked against HEX
 * when not NULL, and against the descriptor's SIZE when not -1) and parse it. */
static cJSON *read_json(int srcfd, const char *rel, const char *hex, int64_t want_size,
                        const char *what, struct err *e)
{
    off_t size = 0;
    auto_close int fd = open_blob(srcfd, rel, what, &size, e);
    if (fd < 0)
        return NULL;
    if (hex && check_size(size, want_size, what, hex, e) < 0)
        return NULL;
    if (size > IMAGE_JSON_MAX) {
        err_set(e, E2BIG, "%s: '%.100s' is larger than %d bytes", what, rel, IMAGE_JSON_MAX);
        return NULL;
    }
    if (hex && verify_fd(fd, hex, what, NULL, e) < 0)
        return NULL;
    size_t cap = (size_t)size + 1, len = 0;
    auto_free char *txt = malloc(cap);
    if (!txt) {
        err_set(e, ENOMEM, "%s: read", what);
        return NULL;
    }
    for (;;) {
        ssize_t n = read(fd, txt + len, cap - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            err_set(e, errno, "%s: read '%.100s'", what, rel);
            return NULL;
        }
        if (n == 0)
            break;
        len += (size_t)n;
        if (len == cap) {
            err_set(e, E2BIG, "%s: '%.100s' grew while read", what, rel);
            return NULL;
        }
    }
    cJSON *root = cJSON_ParseWithLength(txt, len);
    if (!root) {
        const char *at = cJSON_GetErrorPtr();
        err_set(e, EINVAL, "%s: parse '%.100s' near offset %ld", what, rel,
                at && at >= txt && at <= txt + len ? (long)(at - txt) : -1L);
    }
    return root;
}

/* ---- load plans ---- */

struct plan {
    char config_rel[PATH_MAX_BERTH];
    char config_hex[SHA256_HEX_LEN + 1]; /* "" when the name carries no digest */
    int64_t config_size;                 /* of its OCI descriptor, -1 for docker save */
    int nlayers;
    char layer_rel[IMAGE_LAYERS_MAX][256];
    char layer_hex[IMAGE_LAYERS_MAX][SHA256_HEX_LEN + 1];
    int64_t layer_size[IMAGE_LAYERS_MAX];
    int has_diff_ids; /* the config's rootfs.diff_ids, one per layer, when it has them */
    char diff_hex[IMAGE_LAYERS_MAX][SHA256_HEX_LEN + 1];
    char name[256]; /* from the archive, "" when none */
};

/* The digest a docker-save path carries: blobs/sha256/<hex>, or <hex>.json for a config. */
static void digest_of_path(const char *rel, int config, char hex[SHA256_HEX_LEN + 1])
{
    const char *base = strrchr(rel, '/');
    base = base ? base + 1 : rel;
    hex[0] = '\0';
    if (strncmp(rel, "blobs/sha256/", 13) == 0 && is_hex64(rel + 13))
        memcpy(hex, rel + 13, SHA256_HEX_LEN + 1);
    else if (config && strlen(base) == SHA256_HEX_LEN + 5 &&
             strcmp(base + SHA256_HEX_LEN, ".json") == 0 &&
             strspn(base, "0123456789abcdef") == SHA256_HEX_LEN) {
        memcpy(hex, base, SHA256_HEX_LEN);
        hex[SHA256_HEX_LEN] = '\0';
    }
}

static int plan_docker(int srcfd, struct plan *p, struct err *e)
{
    auto_json cJSON *root = read_json(srcfd, "manifest.json", NULL, -1, "manifest.json", e);
    if (!root)
        return -1;
    const cJSON *img = cJSON_GetArrayItem(root, 0);
    if (!cJSON_IsArray(root) || !cJSON_IsObject(img))
        return err_set(e, EINVAL, "manifest.json: not an array of image objects");
    const char *config = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(img, "Config"));
    const cJSON *layers = cJSON_GetObjectItemCaseSensitive(img, "Layers");
    const cJSON *tags = cJSON_GetObjectItemCaseSensitive(img, "RepoTags");
    if (!config || !cJSON_IsArray(layers))
        return err_set(e, EINVAL, "manifest.json: Config must be a string, Layers an array");
    if (clean_name("manifest.json", config, p->config_rel, sizeof p->config_rel, e) < 0)
        return err_wrap(e, "Config");
    digest_of_path(p->config_rel, 1, p->config_hex);
    p->config_size = -1; /* docker save has no descriptors */
    int n = cJSON_GetArraySize(layers);
    if (n > IMAGE_LAYERS_MAX)
        return err_set(e, E2BIG, "manifest.json: %d layers, more than %d", n, IMAGE_LAYERS_MAX);
    const cJSON *it;
    cJSON_ArrayForEach(it, layers)
    {
        const char *s = cJSON_GetStringValue(it);
        if (!s)
            return err_set(e, EINVAL, "manifest.json: Layers[%d] must be a string", p->nlayers);
        if (clean_name("manifest.json", s, p->layer_rel[p->nlayers], sizeof p->layer_rel[0], e) < 0)
            return err_wrap(e, "Layers[%d]", p->nlayers);
        digest_of_path(p->layer_rel[p->nlayers], 0, p->layer_hex[p->nlayers]);
        p->layer_size[p->nlayers] = -1;
        p->nlayers++;
    }
    const char *tag = cJSON_GetStringValue(cJSON_GetArrayItem(tags, 0));
    if (cJSON_IsArray(tags) && tag &&
        (size_t)snprintf(p->name, sizeof p->name, "%s", tag) >= sizeof p->name)
        return err_set(e, ENAMETOOLONG, "manifest.json: RepoTags[0] '%.64s...'", tag);
    return 0;
}

static int is_index_type(const char *mt)
{
    return mt && (strcmp(mt, "application/vnd.oci.image.index.v1+json") == 0 ||
                  strcmp(mt, "application/vnd.docker.distribution.manifest.list.v2+json") == 0);
}

/* The descriptor of MANIFESTS to load: linux/amd64, else the first that is not an attestation
 * (platform unknown), else the first. */
static const cJSON *pick_manifest(const cJSON *manifests, const char *what, struct err *e)
{
    const cJSON *it, *known = NULL;
    if (!cJSON_IsArray(manifests) || cJSON_GetArraySize(manifests) == 0) {
        err_set(e, EINVAL, "%s: no manifests", what);
        return NULL;
    }
    cJSON_ArrayForEach(it, manifests)
    {
        const cJSON *pl = cJSON_GetObjectItemCaseSensitive(it, "platform");
        const char *os = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(pl, "os"));
        const char *arch =
            cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(pl, "architecture"));
        if (os && arch && strcmp(os, "linux") == 0 && strcmp(arch, "amd64") == 0)
            return it;
        if (!known && !(os && strcmp(os, "unknown") == 0))
            known = it;
    }
    return known ? known : cJSON_GetArrayItem(manifests, 0);
}

static int blob_rel(char *buf, size_t size, const char *hex, struct err *e)
{
    return util_fmt(buf, size, e, "blobs/sha256/%s", hex);
}

static int plan_oci(int srcfd, struct plan *p, struct err *e)
{
    char rel[128], hex[SHA256_HEX_LEN + 1];

    auto_json cJSON *index = read_json(srcfd, "index.json", NULL, -1, "index.json", e);
    if (!index)
        return -1;
    const cJSON *desc =
        pick_manifest(cJSON_GetObjectItemCaseSensitive(index, "manifests"), "index.json", e);
    if (!desc)
        return -1;
    const cJSON *ann = cJSON_GetObjectItemCaseSensitive(desc, "annotations");
    const char *ref = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(ann, REF_NAME_KEY));
    if (ref && (size_t)snprintf(p->name, sizeof p->name, "%s", ref) >= sizeof p->name)
        return err_set(e, ENAMETOOLONG, "index.json: %s '%.64s...'", REF_NAME_KEY, ref);

    auto_json cJSON *sub = NULL;
    int64_t size;
    const char *mt = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(desc, "mediaType"));
    if (is_index_type(mt)) {
        if (parse_digest("image index", cJSON_GetObjectItemCaseSensitive(desc, "digest"), hex, e) <
                0 ||
            parse_size("image index", desc, &size, e) < 0 || blob_rel(rel, sizeof rel, hex, e) < 0)
            return -1;
        if (!(sub = read_json(srcfd, rel, hex, size, "image index", e)))
            return -1;
        desc = pick_manifest(cJSON_GetObjectItemCaseSensitive(sub, "manifests"), "image index", e);
        if (!desc)
            return -1;
        mt = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(desc, "mediaType"));
        if (is_index_type(mt))
            return err_set(e, EINVAL, "image index: nested more than one level");
    }
    if (parse_digest("manifest", cJSON_GetObjectItemCaseSensitive(desc, "digest"), hex, e) < 0 ||
        parse_size("manifest", desc, &size, e) < 0 || blob_rel(rel, sizeof rel, hex, e) < 0)
        return -1;
    auto_json cJSON *man = read_json(srcfd, rel, hex, size, "manifest", e);
    if (!man)
        return -1;
    const cJSON *config = cJSON_GetObjectItemCaseSensitive(man, "config");
    const cJSON *layers = cJSON_GetObjectItemCaseSensitive(man, "layers");
    if (!cJSON_IsObject(config) || !cJSON_IsArray(layers))
        return err_set(e, EINVAL,
                       "manifest sha256:%.12s...: config must be an object, layers "
                       "an array",
                       hex);
    if (parse_digest("config", cJSON_GetObjectItemCaseSensitive(config, "digest"), p->config_hex,
                     e) < 0 ||
        parse_size("config", config, &p->config_size, e) < 0 ||
        blob_rel(p->config_rel, sizeof p->config_rel, p->config_hex, e) < 0)
        return -1;
    int n = cJSON_GetArraySize(layers);
    if (n > IMAGE_LAYERS_MAX)
        return err_set(e, E2BIG, "manifest: %d layers, more than %d", n, IMAGE_LAYERS_MAX);
    const cJSON *it;
    cJSON_ArrayForEach(it, layers)
    {
        int i = p->nlayers;
        if (parse_digest("layer", cJSON_GetObjectItemCaseSensitive(it, "digest"), p->layer_hex[i],
                         e) < 0 ||
            parse_size("layer", it, &p->layer_size[i], e) < 0 ||
            blob_rel(p->layer_rel[i], sizeof p->layer_rel[i], p->layer_hex[i], e) < 0)
            return err_wrap(e, "manifest layers[%d]", i);
        p->nlayers++;
    }
    return 0;
}

/* The config's rootfs.diff_ids: absent (old tools omit them), or one sha256 per layer. */
static int plan_diff_ids(const cJSON *config, struct plan *p, struct err *e)
{
    const cJSON *rootfs = cJSON_GetObjectItemCaseSensitive(config, "rootfs");
    if (!rootfs || cJSON_IsNull(rootfs))
        return 0;
    if (!cJSON_IsObject(rootfs))
        return err_set(e, EINVAL, "config: rootfs must be an object");
    const cJSON *ids = cJSON_GetObjectItemCaseSensitive(rootfs, "diff_ids");
    if (!ids || cJSON_IsNull(ids))
        return 0;
    if (!cJSON_IsArray(ids))
        return err_set(e, EINVAL, "config: rootfs.diff_ids must be an array");
    int n = cJSON_GetArraySize(ids);
    if (n != p->nlayers)
        return err_set(e, EINVAL, "config: rootfs.diff_ids has %d entries for %d layers", n,
                       p->nlayers);
    int i = 0;
    const cJSON *it;
    cJSON_ArrayForEach(it, ids)
    {
        char what[48];
        (void)snprintf(what, sizeof what, "config: rootfs.diff_ids[%d]", i);
        if (parse_digest(what, it, p->diff_hex[i], e) < 0)
            return -1;
        i++;
    }
    p->has_diff_ids = 1;
    return 0;
}

/* ---- load ---- */

static int mkdir_in(const char *dir, const char *sub, char *out, size_t size, struct err *e)
{
    if (util_fmt(out, size, e, "%s/%s", dir, sub) < 0)
        return -1;
    if (mkdir(out, 0755) < 0)
        return err_set(e, errno, "mkdir '%s'", out);
    /* the umask may have taken bits away */
    if (chmod(out, 0755) < 0)
        return err_set(e, errno, "chmod '%s'", out);
    return 0;
}

/* The open source directory: SRC itself, or SRC (a tar) extracted into WORK/src (the phase
 * "archive" of PROG). */
static int open_source(const char *work, const char *src, const struct storage_progress *prog,
                       struct err *e)
{
    struct meter m;
    struct stat st;
    char dir[PATH_MAX_BERTH];

    auto_close int fd = open(src, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return err_set(e, errno, "open '%s'", src);
    if (fstat(fd, &st) < 0)
        return err_set(e, errno, "stat '%s'", src);
    if (S_ISDIR(st.st_mode))
        return take_fd(&fd);
    if (!S_ISREG(st.st_mode))
        return err_set(e, EINVAL, "'%s' is neither a directory nor a file", src);
    if (mkdir_in(work, "src", dir, sizeof dir, e) < 0)
        return -1;
    auto_close int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0)
        return err_set(e, errno, "open '%s'", dir);
    char label[PATH_MAX_BERTH + 8];
    (void)snprintf(label, sizeof label, "archive %s", src); /* room for all of it */
    meter_start(&m, prog, "archive", st.st_size, 2);
    if (apply_fd(dfd, fd, label, 0, NULL, &m, e) < 0)
        return -1;
    meter_end(&m);
    return take_fd(&dfd);
}

/* Check layer I of P (size, digest) and apply it onto ROOTFD: the phase "layer I/N" of PROG. */
static int load_layer(int srcfd, int rootfd, const struct plan *p, int i,
                      const struct storage_progress *prog, struct err *e)
{
    char what[32], label[128], phase[32];
    const char *hex = p->layer_hex[i];
    off_t size = 0;
    struct meter m;

    (void)snprintf(what, sizeof what, "layer %d", i + 1);
    if (*hex)
        (void)snprintf(label, sizeof label, "%s sha256:%.12s...", what, hex);
    else
        (void)snprintf(label, sizeof label, "%s %.80s", what, p->layer_rel[i]);
    auto_close int fd = open_blob(srcfd, p->layer_rel[i], what, &size, e);
    if (fd < 0)
        return -1;
    (void)snprintf(phase, sizeof phase, "layer %d/%d", i + 1, p->nlayers);
    meter_start(&m, prog, phase, size, *hex ? 3 : 2);
    if (*hex && (check_size(size, p->layer_size[i], what, hex, e) < 0 ||
                 verify_fd(fd, hex, what, &m, e) < 0))
        return -1;
    /* a blob whose verified digest is its diff_id (an uncompressed layer) needs no more */
    const char *diff = p->has_diff_ids && strcmp(p->diff_hex[i], hex) != 0 ? p->diff_hex[i] : NULL;
    if (apply_fd(rootfd, fd, label, 1, diff, &m, e) < 0)
        return -1;
    meter_end(&m);
    return 0;
}

static int load_into(const char *work, const char *src, const char *name, const char *images_dir,
                     char *loaded, size_t loaded_size, const struct storage_progress *prog,
                     struct err *e)
{
    char img[PATH_MAX_BERTH], rootfs[PATH_MAX_BERTH], dst[PATH_MAX_BERTH];
    struct storage_image_config cfg = {0};

    auto_close int srcfd = open_source(work, src, prog, e);
    if (srcfd < 0)
        return -1;
    auto_free struct plan *p = calloc(1, sizeof *p);
    if (!p)
        return err_set(e, ENOMEM, "load plan");
    int rc;
    if (faccessat(srcfd, "manifest.json", F_OK, AT_SYMLINK_NOFOLLOW) == 0)
        rc = plan_docker(srcfd, p, e);
    else if (faccessat(srcfd, "index.json", F_OK, AT_SYMLINK_NOFOLLOW) == 0)
        rc = plan_oci(srcfd, p, e);
    else
        rc = err_set(e, EINVAL,
                     "'%s' has neither manifest.json (docker save) nor index.json "
                     "(OCI layout)",
                     src);
    if (rc < 0)
        return -1;

    if (!name && !*p->name)
        return err_set(e, EINVAL, "the archive names no image: give a name");
    if (!name)
        name = p->name;
    if (!storage_image_name_valid(name))
        return err_set(e, EINVAL, "invalid image name '%.64s'%s", name,
                       name == p->name ? " in the archive: give a name" : "");
    if (util_fmt(loaded, loaded_size, e, "%s", name) < 0 ||
        util_fmt(dst, sizeof dst, e, "%s/%s", images_dir, name) < 0)
        return -1;

    auto_json cJSON *cj = read_json(srcfd, p->config_rel, *p->config_hex ? p->config_hex : NULL,
                                    p->config_size, "config", e);
    if (!cj || plan_diff_ids(cj, p, e) < 0)
        return -1;
    /* the tree was parsed once already: print it back for the shared config parser */
    auto_free char *ctxt = cJSON_PrintUnformatted(cj);
    if (!ctxt)
        return err_set(e, ENOMEM, "config");
    if (storage_image_config_parse(ctxt, strlen(ctxt), &cfg, e) < 0)
        return err_wrap(e, "config");
    if (!cfg.created_ns)
        cfg.created_ns = util_now_ns();

    rc = mkdir_in(work, "image", img, sizeof img, e);
    if (rc == 0)
        rc = mkdir_in(img, "rootfs", rootfs, sizeof rootfs, e);
    auto_close int rootfd = rc == 0 ? open(rootfs, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
    if (rc == 0 && rootfd < 0)
        rc = err_set(e, errno, "open '%s'", rootfs);
    for (int i = 0; rc == 0 && i < p->nlayers; i++)
        rc = load_layer(srcfd, rootfd, p, i, prog, e);
    /* recorded now, so that listing images need not walk their trees */
    if (rc == 0)
        rc = storage_tree_size(rootfs, &cfg.size, e);
    if (rc == 0)
        rc = storage_image_save(img, &cfg, e);
    storage_image_config_free(&cfg);
    if (rc < 0)
        return -1;
    return storage_image_commit(img, dst, e);
}

int storage_image_load_archive(const char *images_dir, const char *src, const char *name,
                               char *loaded, size_t loaded_size,
                               const struct storage_progress *prog, struct err *e)
{
    char work[PATH_MAX_BERTH];
    struct err ce = {0};

    if (name && !storage_image_name_valid(name))
        return err_set(e, EINVAL, "load image: invalid image name '%.64s'", name);
    if (util_mkdir_p(images_dir, 0700, e) < 0 ||
        util_fmt(work, sizeof work, e, "%s/.tmp-load-XXXXXX", images_dir) < 0)
        return err_wrap(e, "load image");
    if (!mkdtemp(work))
        return err_set(e, errno, "load image: mkdtemp '%s'", work);
    int rc = load_into(work, src, name, images_dir, loaded, loaded_size, prog, e);
    if (rc < 0) {
        (void)storage_remove_tree(work, &ce); /* best effort, the first error is what matters */
        return err_wrap(e, "load image from '%s'", src);
    }
    if (storage_remove_tree(work, e) < 0)
        return err_wrap(e, "load image: remove '%s'", work);
    return 0;
}

int storage_image_import_tar(const char *images_dir, const char *name, const char *tar_path,
                             const struct storage_progress *prog, struct err *e)
{
    char tmp[PATH_MAX_BERTH], dst[PATH_MAX_BERTH], rootfs[PATH_MAX_BERTH];
    struct err ce = {0};
    struct stat st;
    struct meter m;
    uint64_t size = 0;

    if (!storage_image_name_valid(name))
        return err_set(e, EINVAL, "import image: invalid image name '%.64s'", name);
    if (util_mkdir_p(images_dir, 0700, e) < 0 ||
        util_fmt(tmp, sizeof tmp, e, "%s/.%s.tmp-XXXXXX", images_dir, name) < 0 ||
        util_fmt(dst, sizeof dst, e, "%s/%s", images_dir, name) < 0)
        return err_wrap(e, "import image '%s'", name);
    auto_close int fd = open(tar_path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return err_set(e, errno, "import image '%s': open '%s'", name, tar_path);
    if (fstat(fd, &st) < 0)
        return err_set(e, errno, "import image '%s': stat '%s'", name, tar_path);
    char label[PATH_MAX_BERTH + 12];
    (void)snprintf(label, sizeof label, "rootfs tar %s", tar_path); /* room for all of it */
    if (!mkdtemp(tmp))
        return err_set(e, errno, "import image '%s': mkdtemp '%s'", name, tmp);
    int rc = chmod(tmp, 0755) < 0 ? err_set(e, errno, "chmod '%s'", tmp) : 0;
    if (rc == 0)
        rc = mkdir_in(tmp, "rootfs", rootfs, sizeof rootfs, e);
    auto_close int rootfd = rc == 0 ? open(rootfs, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
    if (rc == 0 && rootfd < 0)
        rc = err_set(e, errno, "open '%s'", rootfs);
    meter_start(&m, prog, "rootfs", st.st_size, 2);
    if (rc == 0)
        rc = apply_fd(rootfd, fd, label, 0, NULL, &m, e);
    if (rc == 0)
        meter_end(&m);
    if (rc == 0)
        rc = storage_tree_size(rootfs, &size, e);
    if (rc == 0)
        rc = storage_image_save_default(tmp, size, e);
    if (rc < 0) {
        (void)storage_remove_tree(tmp, &ce); /* best effort, the first error is what matters */
        return err_wrap(e, "import image '%s'", name);
    }
    if (storage_image_commit(tmp, dst, e) < 0)
        return err_wrap(e, "import image '%s'", name);
    return 0;
}
