/* SPDX-License-Identifier: MIT */
/* storage/export.c - `docker diff` and `docker export` from the overlay's layers: a depth-first
 * walk of the upper dir (and for export, of the merged view of upper over lower) through
 * directory fds, every name opened or stat'ed relative to its directory without following
 * symlinks. Library: synchronous, no libev, no globals, no logging, never forks; slow, so core
 * runs it in a helper process. */
#include "storage/export.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>

#include "core/err.h"
#include "core/limits.h"
#include "core/util.h"

#define COPY_BLOCK (64 * 1024)

/* ---- the walk: paths, listings, overlay markers ---- */

struct walk {
    char path[PATH_MAX_BERTH]; /* the current entry, "/etc/passwd"; "" is the root */
    size_t len;
    size_t held; /* names held by the listings of the directories being walked */
};

static const char *shown(const struct walk *w)
{
    return w->len ? w->path : "/";
}

/* Append the component NAME to W's path; returns the length to restore, or -1. */
static long walk_push(struct walk *w, const char *name, struct err *e)
{
    size_t n = strlen(name);
    size_t old = w->len;
    /* room for a trailing slash too (tar names of directories) */
    if (old + 1 + n + 2 > sizeof w->path)
        return err_set(e, ENAMETOOLONG, "path '%.100s/%.100s'", shown(w), name);
    w->path[old] = '/';
    memcpy(w->path + old + 1, name, n + 1);
    w->len = old + 1 + n;
    return (long)old;
}

static void walk_pop(struct walk *w, long old)
{
    w->len = (size_t)old;
    w->path[w->len] = '\0';
}

/* The names of one directory, sorted bytewise. */
struct names {
    char *buf; /* the names, each NUL-terminated */
    char **v;  /* sorted, pointing into BUF */
    size_t n;
    size_t *held; /* the walk's count, given back on free */
};

static void names_free(struct names *l)
{
    if (l->held)
        *l->held -= l->n;
    free(l->buf);
    free(l->v);
    l->buf = NULL;
    l->v = NULL;
    l->n = 0;
}
#define auto_names __attribute__((cleanup(names_free)))

static int cmp_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* P resized for NEED elements of ELEM bytes (capacity *CAP), or NULL (P is kept). */
static void *grow(void *p, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return p;
    size_t ncap = *cap ? *cap : 64;
    while (ncap < need)
        ncap *= 2;
    void *np = realloc(p, ncap * elem);
    if (np)
        *cap = ncap;
    return np;
}

/* List the directory DFD (WHAT, at W's path) into OUT, counting the names in W->held. */
static int names_read(int dfd, const char *what, struct walk *w, struct names *out, struct err *e)
{
    /* a fresh open: the listing must not move DFD's offset */
    int fd = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return err_set(e, errno, "open directory '%.200s' of the %s", shown(w), what);
    auto_closedir DIR *d = fdopendir(fd);
    if (!d) {
        int saved = errno;
        (void)close(fd); /* a directory opened for reading: nothing to flush */
        return err_set(e, saved, "open directory '%.200s' of the %s", shown(w), what);
    }
    auto_free size_t *off = NULL;
    size_t len = 0, cap = 0, ocap = 0, n = 0;
    for (;;) {
        errno = 0;
        const struct dirent *de = readdir(d);
        if (!de) {
            if (errno)
                return err_set(e, errno, "read directory '%.200s' of the %s", shown(w), what);
            break;
        }
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        if (w->held + n >= STORAGE_WALK_NAMES_MAX)
            return err_set(e, E2BIG, "directory '%.200s' of the %s: over %d names being walked",
                           shown(w), what, STORAGE_WALK_NAMES_MAX);
        size_t nl = strlen(de->d_name) + 1;
        char *nbuf = grow(out->buf, &cap, len + nl, 1);
        if (nbuf)
            out->buf = nbuf;
        size_t *noff = nbuf ? grow(off, &ocap, n + 1, sizeof *off) : NULL;
        if (!noff)
            return err_set(e, ENOMEM, "list directory '%.200s' of the %s", shown(w), what);
        off = noff;
        memcpy(out->buf + len, de->d_name, nl);
        off[n++] = len;
        len += nl;
    }
    if (n) {
        out->v = malloc(n * sizeof *out->v);
        if (!out->v)
            return err_set(e, ENOMEM, "list directory '%.200s' of the %s", shown(w), what);
        for (size_t i = 0; i < n; i++)
            out->v[i] = out->buf + off[i];
        qsort(out->v, n, sizeof *out->v, cmp_name);
    }
    out->n = n;
    out->held = &w->held;
    w->held += n;
    return 0;
}

static int is_whiteout(const struct stat *st)
{
    return S_ISCHR(st->st_mode) && st->st_rdev == makedev(0, 0);
}

/* *OUT = 1 when the directory FD of the upper dir is opaque. */
static int is_opaque(int fd, int *out)
{
    static const char *const keys[] = {"trusted.overlay.opaque", "user.overlay.opaque"};

    *out = 0;
    for (size_t i = 0; i < ARRAY_LEN(keys) && !*out; i++) {
        char v[4];
        ssize_t n = fgetxattr(fd, keys[i], v, sizeof v);
        if (n < 0 && errno != ENODATA && errno != ENOTSUP && errno != ERANGE)
            return -1;
        *out = n == 1 && v[0] == 'y';
    }
    return 0;
}

/* fstatat without following: 1 with *ST, 0 when NAME is gone (or is a whiteout when
 * SKIP_WHITEOUT), -1 with errno. */
static int stat_at(int dfd, const char *name, struct stat *st, int skip_whiteout)
{
    if (fstatat(dfd, name, st, AT_SYMLINK_NOFOLLOW) < 0)
        return errno == ENOENT ? 0 : -1;
    return skip_whiteout && is_whiteout(st) ? 0 : 1;
}

static int open_subdir(int dfd, const char *name)
{
    return openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
}

/* Open the roots: a missing LOWER is an error, a missing UPPER leaves *UFD at -1. */
static int open_roots(const char *lower, const char *upper, int *lfd, int *ufd, struct err *e)
{
    *lfd = open(lower, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (*lfd < 0 && errno == ENOENT)
        return err_set(e, ENOENT, "image rootfs '%s' is missing", lower);
    if (*lfd < 0)
        return err_set(e, errno, "open image rootfs '%s'", lower);
    *ufd = open(upper, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (*ufd < 0 && errno != ENOENT) {
        int saved = errno;
        (void)close(*lfd); /* a directory opened for reading: nothing to flush */
        *lfd = -1;
        return err_set(e, saved, "open upper dir '%s'", upper);
    }
    return 0;
}

/* ---- diff ---- */

struct diff {
    struct walk w;
    int (*emit)(void *ctx, enum storage_change kind, const char *path, struct err *e);
    void *ctx;
    const char *const *ignore;
    size_t n;
    /* directories of the current path that are MODIFIED only if something beneath them is
     * listed: the lengths of their paths, outermost first */
    size_t pending[STORAGE_WALK_DEPTH_MAX + 2];
    size_t npending;
};

static int diff_emit_path(struct diff *d, enum storage_change kind, struct err *e)
{
    if (d->n >= STORAGE_DIFF_MAX)
        return err_set(e, E2BIG, "diff: more than %d changes", STORAGE_DIFF_MAX);
    d->n++;
    return d->emit(d->ctx, kind, d->w.path, e);
}

/* List the current path, after the pending directories above it. */
static int diff_emit(struct diff *d, enum storage_change kind, struct err *e)
{
    for (size_t i = 0; i < d->npending; i++) {
        size_t len = d->pending[i];
        char saved = d->w.path[len];
        d->w.path[len] = '\0';
        int rc = diff_emit_path(d, STORAGE_CHANGE_MODIFIED, e);
        d->w.path[len] = saved;
        if (rc < 0)
            return -1;
    }
    d->npending = 0;
    return diff_emit_path(d, kind, e);
}

/* An empty file or directory the engine made at one of D's ignored paths (a mount point). */
static int diff_ignored(const struct diff *d, const struct stat *us)
{
    if (!(S_ISREG(us->st_mode) && us->st_size == 0) && !S_ISDIR(us->st_mode))
        return 0;
    for (const char *const *p = d->ignore; p && *p; p++)
        if (strcmp(*p, d->w.path) == 0)
            return 1;
    return 0;
}

/* A directory of UPPER that LOWER has alike (type, mode, owner): a change only if something
 * beneath it is one. */
static int same_dir(const struct stat *us, const struct stat *ls)
{
    return S_ISDIR(us->st_mode) && S_ISDIR(ls->st_mode) && us->st_mode == ls->st_mode &&
           us->st_uid == ls->st_uid && us->st_gid == ls->st_gid;
}

static int diff_dir(struct diff *d, int ufd, int lfd, int hidden, int depth, struct err *e);

/* NAME of the upper directory UFD; LFD is LOWER's directory at the same path, or -1. */
static int diff_entry(struct diff *d, int ufd, int lfd, int hidden, const char *name, int depth,
                      struct err *e)
{
    struct stat us, ls;
    int rc = stat_at(ufd, name, &us, 0);
    if (rc <= 0)
        return rc < 0 ? err_set(e, errno, "diff: stat '%.200s' of the upper dir", d->w.path) : 0;
    if (is_whiteout(&us))
        return diff_emit(d, STORAGE_CHANGE_DELETED, e);
    int in_lower = lfd >= 0 ? stat_at(lfd, name, &ls, 1) : 0;
    if (in_lower < 0)
        return err_set(e, errno, "diff: stat '%.200s' of the image rootfs", d->w.path);
    if (!in_lower && diff_ignored(d, &us))
        return 0;
    enum storage_change kind = in_lower ? STORAGE_CHANGE_MODIFIED : STORAGE_CHANGE_ADDED;
    if (!S_ISDIR(us.st_mode))
        return diff_emit(d, kind, e);
    auto_close int sub_u = open_subdir(ufd, name);
    int opaque = 0;
    if (sub_u < 0 || is_opaque(sub_u, &opaque) < 0)
        return err_set(e, errno, "diff: open '%.200s' of the upper dir", d->w.path);
    auto_close int sub_l = -1;
    if (in_lower && S_ISDIR(ls.st_mode)) {
        sub_l = open_subdir(lfd, name);
        if (sub_l < 0)
            return err_set(e, errno, "diff: open '%.200s' of the image rootfs", d->w.path);
    }
    /* a directory the image has alike is a change only if something beneath it is one */
    size_t npending = d->npending;
    if (in_lower && !opaque && same_dir(&us, &ls))
        d->pending[d->npending++] = d->w.len;
    else if (diff_emit(d, kind, e) < 0)
        return -1;
    rc = diff_dir(d, sub_u, sub_l, hidden || opaque, depth + 1, e);
    if (d->npending > npending)
        d->npending = npending; /* nothing beneath it was listed */
    return rc;
}

/* NAME of LOWER's directory LFD, hidden by an opaque directory and absent from UPPER. */
static int diff_gone(struct diff *d, int lfd, const char *name, struct err *e)
{
    struct stat ls;
    int rc = stat_at(lfd, name, &ls, 1);
    if (rc < 0)
        return err_set(e, errno, "diff: stat '%.200s' of the image rootfs", d->w.path);
    return rc ? diff_emit(d, STORAGE_CHANGE_DELETED, e) : 0;
}

/* The directory UFD of UPPER at the walk's path; LFD is LOWER's directory there, or -1;
 * HIDDEN: an opaque directory (this one or above) hides LOWER's entries here. */
static int diff_dir(struct diff *d, int ufd, int lfd, int hidden, int depth, struct err *e)
{
    if (depth > STORAGE_WALK_DEPTH_MAX)
        return err_set(e, ELOOP, "diff: '%.200s' is over %d levels deep", shown(&d->w),
                       STORAGE_WALK_DEPTH_MAX);
    auto_names struct names un = {0};
    auto_names struct names ln = {0};
    if (names_read(ufd, "upper dir", &d->w, &un, e) < 0)
        return err_wrap(e, "diff");
    if (hidden && lfd >= 0 && names_read(lfd, "image rootfs", &d->w, &ln, e) < 0)
        return err_wrap(e, "diff");
    for (size_t i = 0, j = 0; i < un.n || j < ln.n;) {
        int c = i == un.n ? 1 : j == ln.n ? -1 : strcmp(un.v[i], ln.v[j]);
        const char *name = c <= 0 ? un.v[i] : ln.v[j];
        i += c <= 0;
        j += c >= 0;
        long old = walk_push(&d->w, name, e);
        if (old < 0)
            return err_wrap(e, "diff");
        int rc =
            c <= 0 ? diff_entry(d, ufd, lfd, hidden, name, depth, e) : diff_gone(d, lfd, name, e);
        walk_pop(&d->w, old);
        if (rc < 0)
            return -1;
    }
    return 0;
}

int storage_diff(const char *lower, const char *upper, const char *const *ignore,
                 int (*emit)(void *ctx, enum storage_change kind, const char *path, struct err *e),
                 void *ctx, struct err *e)
{
    auto_close int lfd = -1;
    auto_close int ufd = -1;
    if (open_roots(lower, upper, &lfd, &ufd, e) < 0)
        return err_wrap(e, "diff");
    if (ufd < 0)
        return 0;
    auto_free struct diff *d = calloc(1, sizeof *d);
    if (!d)
        return err_set(e, ENOMEM, "diff");
    d->emit = emit;
    d->ctx = ctx;
    d->ignore = ignore;
    /* overlay ignores an opaque mark on the upper root */
    return diff_dir(d, ufd, lfd, 0, 0, e);
}

/* ---- export ---- */

struct link {
    dev_t dev;
    ino_t ino;
    char *name; /* NULL: a free slot */
};

/* Multiply linked files already written: open addressing, at most half full. */
struct links {
    struct link *v;
    size_t cap, n;
};

static void links_free(struct links *l)
{
    for (size_t i = 0; i < l->cap; i++)
        free(l->v[i].name);
    free(l->v);
    l->v = NULL;
    l->cap = l->n = 0;
}

static struct link *links_slot(struct link *v, size_t cap, dev_t dev, ino_t ino)
{
    uint64_t h = ((uint64_t)ino * 0x9e3779b97f4a7c15ULL) ^ (uint64_t)dev;
    for (size_t i = (size_t)(h ^ (h >> 29)) & (cap - 1);; i = (i + 1) & (cap - 1))
        if (!v[i].name || (v[i].dev == dev && v[i].ino == ino))
            return &v[i];
}

/* The name written first for DEV:INO, or NULL after remembering NAME for it (when the table
 * has room). -1 only on ENOMEM. */
static int links_check(struct links *l, dev_t dev, ino_t ino, const char *name, const char **first)
{
    *first = NULL;
    if (l->cap) {
        const struct link *s = links_slot(l->v, l->cap, dev, ino);
        if (s->name) {
            *first = s->name;
            return 0;
        }
    }
    if (l->n >= STORAGE_EXPORT_LINKS_MAX)
        return 0;
    if ((l->n + 1) * 2 > l->cap) {
        size_t ncap = l->cap ? l->cap * 2 : 1024;
        struct link *nv = calloc(ncap, sizeof *nv);
        if (!nv)
            return -1;
        for (size_t i = 0; i < l->cap; i++)
            if (l->v[i].name)
                *links_slot(nv, ncap, l->v[i].dev, l->v[i].ino) = l->v[i];
        free(l->v);
        l->v = nv;
        l->cap = ncap;
    }
    struct link *s = links_slot(l->v, l->cap, dev, ino);
    s->name = strdup(name);
    if (!s->name)
        return -1;
    s->dev = dev;
    s->ino = ino;
    l->n++;
    return 0;
}

struct export
{
    struct walk w;
    struct archive *a;
    struct archive_entry *ent;
    int out_fd;
    int io_errno; /* errno of the failed write to OUT_FD */
    int aborted;  /* failed: write nothing more (no end-of-archive blocks) */
    struct links links;
    char buf[COPY_BLOCK];
    char target[PATH_MAX_BERTH];
};

static la_ssize_t on_tar_write(struct archive *a, void *ctx, const void *buf, size_t len)
{
    struct export *x = ctx;
    struct err we = {0};

    if (x->aborted) {
        archive_set_error(a, ECANCELED, "export failed");
        return -1;
    }
    /* waits in poll(2) on an O_NONBLOCK fd */
    if (util_write_all(x->out_fd, buf, len, &we) < 0) {
        x->io_errno = we.code ? we.code : EIO;
        archive_set_error(a, x->io_errno, "write");
        return -1;
    }
    return (la_ssize_t)len;
}

/* The error of a failed libarchive call while writing the walk's current entry. */
static int tar_err(const struct export *x, const char *what, struct err *e)
{
    if (x->io_errno)
        return err_set(e, x->io_errno, "export: write tar");
    const char *msg = archive_error_string(x->a);
    return err_set(e, EIO, "export: %s '%.200s': %s", what, shown(&x->w), msg ? msg : "failed");
}

static int copy_data(struct export *x, int fd, off_t size, struct err *e)
{
    for (off_t left = size; left > 0;) {
        size_t want = left < COPY_BLOCK ? (size_t)left : COPY_BLOCK;
        ssize_t n = read(fd, x->buf, want);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return err_set(e, errno, "export: read '%.200s'", x->w.path);
        if (n == 0)
            break; /* the file shrank: finishing the entry pads it with zeros */
        if (archive_write_data(x->a, x->buf, (size_t)n) != n)
            return tar_err(x, "write data of", e);
        left -= n;
    }
    if (archive_write_finish_entry(x->a) != ARCHIVE_OK)
        return tar_err(x, "finish", e);
    return 0;
}

static int write_header(struct export *x, struct err *e)
{
    int rc = archive_write_header(x->a, x->ent);
    /* WARN: a name not in the locale's charset, written as raw bytes */
    return rc == ARCHIVE_OK || rc == ARCHIVE_WARN ? 0 : tar_err(x, "write header of", e);
}

/* A non-directory NAME of DFD with status ST; the entry's name is set. */
static int export_file(struct export *x, int dfd, const char *name, struct stat *st, struct err *e)
{
    auto_close int fd = -1;
    if (S_ISREG(st->st_mode)) {
        /* O_NONBLOCK: never hang on a fifo swapped in since the stat */
        fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
        if (fd < 0 || fstat(fd, st) < 0)
            return err_set(e, errno, "export: open '%.200s'", x->w.path);
        if (!S_ISREG(st->st_mode))
            return err_set(e, EAGAIN, "export: '%.200s' changed while being read", x->w.path);
    }
    archive_entry_set_mode(x->ent, st->st_mode);
    archive_entry_set_uid(x->ent, st->st_uid);
    archive_entry_set_gid(x->ent, st->st_gid);
    archive_entry_set_mtime(x->ent, st->st_mtim.tv_sec, 0);
    if (st->st_nlink > 1) {
        const char *first = NULL;
        if (links_check(&x->links, st->st_dev, st->st_ino, x->w.path + 1, &first) < 0)
            return err_set(e, ENOMEM, "export: remember links of '%.200s'", x->w.path);
        if (first) {
            archive_entry_set_hardlink(x->ent, first);
            archive_entry_set_size(x->ent, 0);
            return write_header(x, e);
        }
    }
    if (S_ISLNK(st->st_mode)) {
        ssize_t n = readlinkat(dfd, name, x->target, sizeof x->target);
        if (n < 0)
            return err_set(e, errno, "export: read link '%.200s'", x->w.path);
        if ((size_t)n >= sizeof x->target)
            return err_set(e, ENAMETOOLONG, "export: read link '%.200s'", x->w.path);
        x->target[n] = '\0';
        archive_entry_set_symlink(x->ent, x->target);
    } else if (S_ISCHR(st->st_mode) || S_ISBLK(st->st_mode)) {
        archive_entry_set_rdev(x->ent, st->st_rdev);
    }
    if (S_ISREG(st->st_mode))
        archive_entry_set_size(x->ent, st->st_size);
    if (write_header(x, e) < 0)
        return -1;
    return S_ISREG(st->st_mode) ? copy_data(x, fd, st->st_size, e) : 0;
}

static int export_dir(struct export *x, int ufd, int lfd, int depth, struct err *e);

/* NAME, from the upper directory UFD when it is not -1, else from LOWER's directory LFD; LFD
 * is -1 when LOWER has nothing to merge there. */
static int export_entry(struct export *x, int ufd, int lfd, const char *name, int depth,
                        struct err *e)
{
    int from = ufd >= 0 ? ufd : lfd;
    const char *what = ufd >= 0 ? "upper dir" : "image rootfs";
    struct stat st;
    int rc = stat_at(from, name, &st, 1);
    if (rc < 0)
        return err_set(e, errno, "export: stat '%.200s' of the %s", x->w.path, what);
    if (rc == 0 || S_ISSOCK(st.st_mode))
        return 0;
    archive_entry_clear(x->ent);
    if (!S_ISDIR(st.st_mode)) {
        archive_entry_set_pathname(x->ent, x->w.path + 1);
        return export_file(x, from, name, &st, e);
    }
    auto_close int sub = open_subdir(from, name);
    if (sub < 0 || fstat(sub, &st) < 0)
        return err_set(e, errno, "export: open '%.200s' of the %s", x->w.path, what);
    auto_close int sub_l = -1;
    int opaque = 0;
    if (ufd >= 0 && lfd >= 0) {
        if (is_opaque(sub, &opaque) < 0)
            return err_set(e, errno, "export: read xattrs of '%.200s'", x->w.path);
        struct stat ls;
        int in_lower = opaque ? 0 : stat_at(lfd, name, &ls, 1);
        if (in_lower < 0)
            return err_set(e, errno, "export: stat '%.200s' of the image rootfs", x->w.path);
        if (in_lower && S_ISDIR(ls.st_mode)) {
            sub_l = open_subdir(lfd, name);
            if (sub_l < 0)
                return err_set(e, errno, "export: open '%.200s' of the image rootfs", x->w.path);
        }
    }
    x->w.path[x->w.len] = '/'; /* walk_push left room */
    x->w.path[x->w.len + 1] = '\0';
    archive_entry_set_pathname(x->ent, x->w.path + 1);
    x->w.path[x->w.len] = '\0';
    archive_entry_set_mode(x->ent, st.st_mode);
    archive_entry_set_uid(x->ent, st.st_uid);
    archive_entry_set_gid(x->ent, st.st_gid);
    archive_entry_set_mtime(x->ent, st.st_mtim.tv_sec, 0);
    if (write_header(x, e) < 0)
        return -1;
    return ufd >= 0 ? export_dir(x, sub, sub_l, depth + 1, e)
                    : export_dir(x, -1, sub, depth + 1, e);
}

/* The merged directory at the walk's path: UFD is UPPER's (or -1), LFD LOWER's to merge (or
 * -1). An upper entry hides the lower one of the same name. */
static int export_dir(struct export *x, int ufd, int lfd, int depth, struct err *e)
{
    if (depth > STORAGE_WALK_DEPTH_MAX)
        return err_set(e, ELOOP, "export: '%.200s' is over %d levels deep", shown(&x->w),
                       STORAGE_WALK_DEPTH_MAX);
    auto_names struct names un = {0};
    auto_names struct names ln = {0};
    if (ufd >= 0 && names_read(ufd, "upper dir", &x->w, &un, e) < 0)
        return err_wrap(e, "export");
    if (lfd >= 0 && names_read(lfd, "image rootfs", &x->w, &ln, e) < 0)
        return err_wrap(e, "export");
    for (size_t i = 0, j = 0; i < un.n || j < ln.n;) {
        int c = i == un.n ? 1 : j == ln.n ? -1 : strcmp(un.v[i], ln.v[j]);
        const char *name = c <= 0 ? un.v[i] : ln.v[j];
        i += c <= 0;
        j += c >= 0;
        long old = walk_push(&x->w, name, e);
        if (old < 0)
            return err_wrap(e, "export");
        int rc = export_entry(x, c <= 0 ? ufd : -1, c >= 0 ? lfd : -1, name, depth, e);
        walk_pop(&x->w, old);
        if (rc < 0)
            return -1;
    }
    return 0;
}

static int export_run(struct export *x, int ufd, int lfd, struct err *e)
{
    x->a = archive_write_new();
    x->ent = archive_entry_new();
    if (!x->a || !x->ent)
        return err_set(e, ENOMEM, "export: archive writer");
    if (archive_write_set_format_pax_restricted(x->a) != ARCHIVE_OK ||
        archive_write_open(x->a, x, NULL, on_tar_write, NULL) != ARCHIVE_OK)
        return tar_err(x, "open tar for", e);
    /* overlay ignores an opaque mark on the upper root */
    if (export_dir(x, ufd, lfd, 0, e) < 0)
        return -1;
    if (archive_write_close(x->a) != ARCHIVE_OK)
        return tar_err(x, "finish tar at", e);
    return 0;
}

int storage_export(const char *lower, const char *upper, int out_fd, struct err *e)
{
    auto_close int lfd = -1;
    auto_close int ufd = -1;
    if (open_roots(lower, upper, &lfd, &ufd, e) < 0)
        return err_wrap(e, "export");
    auto_free struct export *x = calloc(1, sizeof *x);
    if (!x)
        return err_set(e, ENOMEM, "export");
    x->out_fd = out_fd;
    int rc = export_run(x, ufd, lfd, e);
    x->aborted = rc < 0;
    if (x->a)
        (void)archive_write_free(x->a); /* closed above, or aborted: nothing more is written */
    archive_entry_free(x->ent);
    links_free(&x->links);
    return rc;
}
