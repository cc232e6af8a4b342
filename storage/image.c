/* SPDX-License-Identifier: MIT */
/* storage/image.c - images under <root>/images/NAME/{rootfs/,config.json}: config load/save
 * (cJSON, bounded, type-checked), import of a directory tree (copy into a temporary directory,
 * then an atomic rename or exchange), tree size and rm -rf that never follows symlinks or
 * crosses mount points. Library: synchronous, no libev, no globals, no logging, never forks;
 * import and removal are slow and belong in a helper process. */
#include "storage/image.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "core/err.h"
#include "core/limits.h"
#include "core/util.h"

#define IMAGE_CONFIG_MAX (1024 * 1024) /* config.json size limit */
#define TREE_DEPTH_MAX   256           /* directory nesting for copy, size and removal */
#define IMAGE_SIZE_MAX   (1ULL << 53)  /* Size: what a JSON number holds exactly */
#define DEFAULT_PATH     "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

static void json_deletep(cJSON **j)
{
    cJSON_Delete(*j);
}
static void json_freep(char **s)
{
    cJSON_free(*s);
}
#define auto_json __attribute__((cleanup(json_deletep)))
#define auto_jstr __attribute__((cleanup(json_freep)))

/* Image names are used as one path component: [A-Za-z0-9][A-Za-z0-9_.:@+-]*, so never "..",
 * never a hidden temporary name. */
int storage_image_name_valid(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n >= IMAGE_NAME_MAX)
        return 0;
    if (!((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z') ||
          (s[0] >= '0' && s[0] <= '9')))
        return 0;
    return strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.:@+-") == n;
}

/* ---- config ---- */

static void strv_free(char **v)
{
    if (!v)
        return;
    for (char **p = v; *p; p++)
        free(*p);
    free(v);
}

void storage_image_config_free(struct storage_image_config *cfg)
{
    if (!cfg)
        return;
    strv_free(cfg->cmd);
    strv_free(cfg->entrypoint);
    strv_free(cfg->env);
    free(cfg->workdir);
    free(cfg->user);
    free(cfg->stop_signal);
    strv_free(cfg->exposed);
    free(cfg->healthcheck_json);
    memset(cfg, 0, sizeof *cfg);
}

static const cJSON *field(const cJSON *root, const cJSON *nested, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, key);
    if (!v && nested)
        v = cJSON_GetObjectItemCaseSensitive(nested, key);
    return v;
}

static int get_strv(const cJSON *obj, const char *key, int is_env, char ***out, struct err *e)
{
    *out = NULL;
    if (!obj || cJSON_IsNull(obj))
        return 0;
    if (!cJSON_IsArray(obj))
        return err_set(e, EINVAL, "%s must be an array of strings", key);
    int n = cJSON_GetArraySize(obj);
    if (n > IMAGE_CFG_ARGS_MAX)
        return err_set(e, E2BIG, "%s has %d entries, more than %d", key, n, IMAGE_CFG_ARGS_MAX);
    char **v = calloc((size_t)n + 1, sizeof *v);
    if (!v)
        return err_set(e, ENOMEM, "%s", key);
    int i = 0;
    const cJSON *it;
    cJSON_ArrayForEach(it, obj)
    {
        const char *s = cJSON_GetStringValue(it);
        int bad = !s ? EINVAL : strlen(s) >= CTR_STR_MAX ? E2BIG : 0;
        if (!bad && is_env && (s[0] == '=' || !strchr(s, '=')))
            bad = EINVAL;
        if (!bad && !(v[i] = strdup(s)))
            bad = ENOMEM;
        if (bad) {
            strv_free(v);
            return err_set(e, bad, "%s[%d] must be a %sstring shorter than %d", key, i,
                           is_env ? "K=V " : "", CTR_STR_MAX);
        }
        i++;
    }
    *out = v;
    return 0;
}

static int get_str(const cJSON *obj, const char *key, char **out, struct err *e)
{
    *out = NULL;
    if (!obj || cJSON_IsNull(obj))
        return 0;
    const char *s = cJSON_GetStringValue(obj);
    if (!s)
        return err_set(e, EINVAL, "%s must be a string", key);
    if (strlen(s) >= CTR_STR_MAX)
        return err_set(e, E2BIG, "%s is longer than %d", key, CTR_STR_MAX - 1);
    if (!(*out = strdup(s)))
        return err_set(e, ENOMEM, "%s", key);
    return 0;
}

int storage_exposed_port(const char *s, char *buf, size_t size, struct err *e)
{
    unsigned long port = 0;
    size_t n = 0;
    while (s[n] >= '0' && s[n] <= '9' && n < 6)
        port = port * 10 + (unsigned long)(s[n++] - '0');
    const char *proto = s[n] == 0 ? "tcp" : s[n] == '/' ? s + n + 1 : NULL;
    if (n == 0 || s[0] == '0' || port > 65535 || !proto ||
        (strcmp(proto, "tcp") != 0 && strcmp(proto, "udp") != 0))
        return err_set(e, EINVAL, "invalid exposed port \"%.32s\": PORT[/tcp|/udp], 1 to 65535", s);
    if (snprintf(buf, size, "%lu/%s", port, proto) >= (int)size)
        return err_set(e, ENAMETOOLONG, "exposed port");
    return 0;
}

/* ExposedPorts: Docker's {"80/tcp": {}, ...}, kept as canonical "80/tcp" strings. */
static int get_exposed(const cJSON *obj, char ***out, struct err *e)
{
    *out = NULL;
    if (!obj || cJSON_IsNull(obj))
        return 0;
    if (!cJSON_IsObject(obj))
        return err_set(e, EINVAL, "ExposedPorts must be an object");
    int n = cJSON_GetArraySize(obj);
    if (n > IMAGE_CFG_ARGS_MAX)
        return err_set(e, E2BIG, "ExposedPorts has %d entries, more than %d", n,
                       IMAGE_CFG_ARGS_MAX);
    char **v = calloc((size_t)n + 1, sizeof *v);
    if (!v)
        return err_set(e, ENOMEM, "ExposedPorts");
    int i = 0;
    const cJSON *it;
    cJSON_ArrayForEach(it, obj)
    {
        char canon[16];
        if (storage_exposed_port(it->string, canon, sizeof canon, e) < 0) {
            strv_free(v);
            return err_wrap(e, "ExposedPorts");
        }
        if (!(v[i++] = strdup(canon))) {
            strv_free(v);
            return err_set(e, ENOMEM, "ExposedPorts");
        }
    }
    *out = v;
    return 0;
}

/* Healthcheck: an object, kept as its compact JSON text (bounded) for core to interpret. */
static int get_healthcheck(const cJSON *obj, char **out, struct err *e)
{
    *out = NULL;
    if (!obj || cJSON_IsNull(obj))
        return 0;
    if (!cJSON_IsObject(obj))
        return err_set(e, EINVAL, "Healthcheck must be an object");
    char *txt = cJSON_PrintUnformatted(obj);
    if (!txt)
        return err_set(e, ENOMEM, "Healthcheck");
    size_t n = strlen(txt);
    if (n >= IMAGE_HEALTHCHECK_MAX) {
        cJSON_free(txt);
        return err_set(e, E2BIG, "Healthcheck is longer than %d bytes", IMAGE_HEALTHCHECK_MAX - 1);
    }
    *out = strdup(txt);
    cJSON_free(txt);
    if (!*out)
        return err_set(e, ENOMEM, "Healthcheck");
    return 0;
}

int storage_image_config_parse(const char *txt, size_t len, struct storage_image_config *cfg,
                               struct err *e)
{
    struct storage_image_config c = {0};
    auto_json cJSON *root = cJSON_ParseWithLength(txt, len);

    if (!root) {
        const char *at = cJSON_GetErrorPtr();
        return err_set(e, EINVAL, "parse JSON near offset %ld",
                       at && at >= txt && at <= txt + len ? (long)(at - txt) : -1L);
    }
    if (!cJSON_IsObject(root))
        return err_set(e, EINVAL, "config is not a JSON object");
    const cJSON *nested = cJSON_GetObjectItemCaseSensitive(root, "config");
    if (nested && !cJSON_IsObject(nested))
        nested = NULL;
    if (get_strv(field(root, nested, "Cmd"), "Cmd", 0, &c.cmd, e) < 0 ||
        get_strv(field(root, nested, "Entrypoint"), "Entrypoint", 0, &c.entrypoint, e) < 0 ||
        get_strv(field(root, nested, "Env"), "Env", 1, &c.env, e) < 0 ||
        get_str(field(root, nested, "WorkingDir"), "WorkingDir", &c.workdir, e) < 0 ||
        get_str(field(root, nested, "User"), "User", &c.user, e) < 0 ||
        get_str(field(root, nested, "StopSignal"), "StopSignal", &c.stop_signal, e) < 0 ||
        get_exposed(field(root, nested, "ExposedPorts"), &c.exposed, e) < 0 ||
        get_healthcheck(field(root, nested, "Healthcheck"), &c.healthcheck_json, e) < 0) {
        storage_image_config_free(&c);
        return -1;
    }
    const cJSON *sz = cJSON_GetObjectItemCaseSensitive(root, "Size");
    if (sz && !cJSON_IsNull(sz)) {
        double d = cJSON_IsNumber(sz) ? sz->valuedouble : -1;
        /* the range is checked before the cast, which is undefined outside it */
        if (!(d >= 0 && d <= (double)IMAGE_SIZE_MAX && d == (double)(uint64_t)d)) {
            storage_image_config_free(&c);
            return err_set(e, EINVAL, "Size must be an integer from 0 to 2^53");
        }
        c.size = (uint64_t)d;
    }
    const cJSON *cr = cJSON_GetObjectItemCaseSensitive(root, "Created");
    if (!cr)
        cr = cJSON_GetObjectItemCaseSensitive(root, "created");
    if (cr && !cJSON_IsNull(cr)) {
        const char *s = cJSON_GetStringValue(cr);
        int64_t ns;
        /* util_parse_time also takes durations and epoch seconds: insist on a date */
        if (!s || strlen(s) < 20 || s[4] != '-' || s[10] != 'T' ||
            util_parse_time(s, 0, &ns, e) < 0) {
            storage_image_config_free(&c);
            return err_set(e, EINVAL, "Created must be an RFC 3339 time");
        }
        c.created_ns = ns;
    }
    *cfg = c;
    return 0;
}

static int config_load_file(const char *path, struct storage_image_config *cfg, struct err *e)
{
    size_t len = 0;
    auto_free char *txt = util_read_file(path, IMAGE_CONFIG_MAX, &len, e);
    if (!txt)
        return -1;
    if (storage_image_config_parse(txt, len, cfg, e) < 0)
        return err_wrap(e, "load '%s'", path);
    return 0;
}

int storage_image_load(const char *images_dir, const char *name, struct storage_image_config *cfg,
                       struct err *e)
{
    char dir[PATH_MAX_BERTH], path[PATH_MAX_BERTH];
    struct stat st;

    memset(cfg, 0, sizeof *cfg);
    if (!storage_image_name_valid(name))
        return err_set(e, ENOENT, "no such image: %.64s", name);
    if (util_fmt(dir, sizeof dir, e, "%s/%s", images_dir, name) < 0 ||
        util_fmt(path, sizeof path, e, "%s/config.json", dir) < 0)
        return err_wrap(e, "load image '%s'", name);
    if (stat(dir, &st) < 0) {
        if (errno == ENOENT)
            return err_set(e, ENOENT, "no such image: %s", name);
        return err_set(e, errno, "stat image '%s'", dir);
    }
    if (!S_ISDIR(st.st_mode))
        return err_set(e, ENOENT, "no such image: %s", name);
    if (config_load_file(path, cfg, e) < 0)
        return err_wrap(e, "load image '%s'", name);
    return 0;
}

static int add_strv(cJSON *root, const char *key, char *const *v, struct err *e)
{
    if (!v)
        return 0;
    cJSON *arr = cJSON_AddArrayToObject(root, key);
    if (!arr)
        return err_set(e, ENOMEM, "build %s", key);
    int n = 0;
    for (; v[n]; n++) {
        if (n >= IMAGE_CFG_ARGS_MAX)
            return err_set(e, E2BIG, "%s has more than %d entries", key, IMAGE_CFG_ARGS_MAX);
        if (strlen(v[n]) >= CTR_STR_MAX)
            return err_set(e, E2BIG, "%s[%d] is longer than %d", key, n, CTR_STR_MAX - 1);
        cJSON *s = cJSON_CreateString(v[n]);
        if (!s || !cJSON_AddItemToArray(arr, s)) {
            cJSON_Delete(s);
            return err_set(e, ENOMEM, "build %s", key);
        }
    }
    return 0;
}

static int add_str(cJSON *root, const char *key, const char *s, struct err *e)
{
    if (!s)
        return 0;
    if (strlen(s) >= CTR_STR_MAX)
        return err_set(e, E2BIG, "%s is longer than %d", key, CTR_STR_MAX - 1);
    if (!cJSON_AddStringToObject(root, key, s))
        return err_set(e, ENOMEM, "build %s", key);
    return 0;
}

int storage_image_save(const char *dir, const struct storage_image_config *cfg, struct err *e)
{
    char path[PATH_MAX_BERTH], created[64];
    auto_json cJSON *root = cJSON_CreateObject();

    if (!root)
        return err_set(e, ENOMEM, "build image config");
    if (util_fmt(path, sizeof path, e, "%s/config.json", dir) < 0)
        return err_wrap(e, "save image config");
    if (add_strv(root, "Cmd", cfg->cmd, e) < 0 ||
        add_strv(root, "Entrypoint", cfg->entrypoint, e) < 0 ||
        add_strv(root, "Env", cfg->env, e) < 0 ||
        add_str(root, "WorkingDir", cfg->workdir, e) < 0 ||
        add_str(root, "User", cfg->user, e) < 0 ||
        add_str(root, "StopSignal", cfg->stop_signal, e) < 0)
        return err_wrap(e, "save '%s'", path);
    if (cfg->exposed) {
        cJSON *ports = cJSON_AddObjectToObject(root, "ExposedPorts");
        for (int i = 0; ports && cfg->exposed[i]; i++)
            if (!cJSON_AddObjectToObject(ports, cfg->exposed[i]))
                ports = NULL;
        if (!ports)
            return err_set(e, ENOMEM, "save '%s'", path);
    }
    if (cfg->healthcheck_json) {
        size_t n = strlen(cfg->healthcheck_json);
        cJSON *hc =
            n < IMAGE_HEALTHCHECK_MAX ? cJSON_ParseWithLength(cfg->healthcheck_json, n) : NULL;
        if (!cJSON_IsObject(hc) || !cJSON_AddItemToObject(root, "Healthcheck", hc)) {
            cJSON_Delete(hc);
            return err_set(e, EINVAL, "save '%s': Healthcheck is not a JSON object under %d bytes",
                           path, IMAGE_HEALTHCHECK_MAX);
        }
    }
    if (cfg->created_ns) {
        util_rfc3339(cfg->created_ns, created, sizeof created);
        if (add_str(root, "Created", created, e) < 0)
            return err_wrap(e, "save '%s'", path);
    }
    if (cfg->size > IMAGE_SIZE_MAX)
        return err_set(e, E2BIG, "save '%s': Size over 2^53", path);
    if (cfg->size) {
        /* as digits: cJSON prints a double with 15 significant digits, which would round a
         * size of a petabyte or more */
        char num[24];
        (void)snprintf(num, sizeof num, "%llu", (unsigned long long)cfg->size); /* fits */
        if (!cJSON_AddRawToObject(root, "Size", num))
            return err_set(e, ENOMEM, "save '%s'", path);
    }
    auto_jstr char *txt = cJSON_PrintUnformatted(root);
    if (!txt)
        return err_set(e, ENOMEM, "serialise '%s'", path);
    if (util_write_atomic(path, txt, strlen(txt), e) < 0)
        return err_wrap(e, "save image config");
    return 0;
}

/* ---- tree walks ---- */

/* (dev, ino) -> path of the first copy relative to the destination root, for hard links. */
struct ino_entry {
    dev_t dev;
    ino_t ino;
    char *path;
};
struct ino_map {
    struct ino_entry *v;
    size_t n, cap; /* cap is a power of two or 0 */
};

static size_t ino_hash(dev_t dev, ino_t ino)
{
    uint64_t h = (uint64_t)ino * 0x9E3779B97F4A7C15ULL ^ (uint64_t)dev;
    return (size_t)(h ^ (h >> 29));
}

static struct ino_entry *ino_find(struct ino_map *m, dev_t dev, ino_t ino)
{
    if (!m->cap)
        return NULL;
    for (size_t i = ino_hash(dev, ino) & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
        if (!m->v[i].path)
            return NULL;
        if (m->v[i].dev == dev && m->v[i].ino == ino)
            return &m->v[i];
    }
}

/* Takes PATH (malloc'd) on success. */
static int ino_add(struct ino_map *m, dev_t dev, ino_t ino, char *path)
{
    if ((m->n + 1) * 2 > m->cap) {
        size_t ncap = m->cap ? m->cap * 2 : 64;
        struct ino_entry *nv = calloc(ncap, sizeof *nv);
        if (!nv)
            return -1;
        for (size_t i = 0; i < m->cap; i++) {
            if (!m->v[i].path)
                continue;
            size_t j = ino_hash(m->v[i].dev, m->v[i].ino) & (ncap - 1);
            while (nv[j].path)
                j = (j + 1) & (ncap - 1);
            nv[j] = m->v[i];
        }
        free(m->v);
        m->v = nv;
        m->cap = ncap;
    }
    size_t j = ino_hash(dev, ino) & (m->cap - 1);
    while (m->v[j].path)
        j = (j + 1) & (m->cap - 1);
    m->v[j] = (struct ino_entry){.dev = dev, .ino = ino, .path = path};
    m->n++;
    return 0;
}

static void ino_map_free(struct ino_map *m)
{
    for (size_t i = 0; i < m->cap; i++)
        free(m->v[i].path);
    free(m->v);
    memset(m, 0, sizeof *m);
}

/* Call FN(FD, NAME, CTX, E) for each entry of the directory FD but "." and "..", with the
 * PATH buffer (SIZE bytes) extended by "/NAME" (by NAME alone when PATH is empty) during the
 * call, for messages. Stops at the first failure. */
typedef int (*entry_fn)(int fd, const char *name, void *ctx, struct err *e);
static int each_entry(int fd, char *path, size_t size, entry_fn fn, void *ctx, struct err *e)
{
    int dup_fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
    if (dup_fd < 0)
        return err_set(e, errno, "dup '%s'", path);
    auto_closedir DIR *d = fdopendir(dup_fd);
    if (!d) {
        int saved = errno;
        (void)close(dup_fd); /* fdopendir failed: the fd is still ours */
        return err_set(e, saved, "opendir '%s'", path);
    }
    size_t base = strlen(path);
    for (;;) {
        errno = 0;
        struct dirent *de = readdir(d);
        if (!de)
            return errno ? err_set(e, errno, "readdir '%s'", path) : 0;
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        if (util_fmt(path + base, size - base, e, "%s%s", base ? "/" : "", de->d_name) < 0)
            return err_wrap(e, "walk '%.*s'", (int)base, path);
        int rc = fn(fd, de->d_name, ctx, e);
        path[base] = '\0';
        if (rc < 0)
            return -1;
    }
}

struct copy_ctx {
    int dst_rootfd;
    int keep_owner; /* only root can give files away */
    struct ino_map links;
    char rel[PATH_MAX_BERTH]; /* current path relative to the roots, for messages and links */
};

static int copy_meta(int dirfd, const char *name, int fd, const struct stat *st,
                     const struct copy_ctx *c, struct err *e)
{
    struct timespec ts[2] = {st->st_atim, st->st_mtim};

    /* chown first: it clears set-id bits that chmod then restores */
    if (c->keep_owner) {
        int rc = fd >= 0 ? fchown(fd, st->st_uid, st->st_gid)
                         : fchownat(dirfd, name, st->st_uid, st->st_gid, AT_SYMLINK_NOFOLLOW);
        if (rc < 0)
            return err_set(e, errno, "chown '%s'", c->rel);
    }
    if (!S_ISLNK(st->st_mode)) {
        int rc = fd >= 0 ? fchmod(fd, st->st_mode & 07777)
                         : fchmodat(dirfd, name, st->st_mode & 07777, 0);
        if (rc < 0)
            return err_set(e, errno, "chmod '%s'", c->rel);
    }
    int rc = fd >= 0 ? futimens(fd, ts) : utimensat(dirfd, name, ts, AT_SYMLINK_NOFOLLOW);
    if (rc < 0)
        return err_set(e, errno, "set times of '%s'", c->rel);
    return 0;
}

static int copy_data(int sfd, int dfd, const struct copy_ctx *c, struct err *e)
{
    int use_cfr = 1;
    char buf[64 * 1024];

    for (;;) {
        ssize_t n;
        if (use_cfr) {
            n = copy_file_range(sfd, NULL, dfd, NULL, 1 << 30, 0);
            if (n < 0 && (errno == EXDEV || errno == EINVAL || errno == ENOSYS ||
                          errno == EOPNOTSUPP || errno == EPERM)) {
                use_cfr = 0;
                continue;
            }
            if (n < 0 && errno == EINTR)
                continue;
            if (n < 0)
                return err_set(e, errno, "copy '%s'", c->rel);
            if (n == 0)
                return 0;
            continue;
        }
        n = read(sfd, buf, sizeof buf);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return err_set(e, errno, "read '%s'", c->rel);
        if (n == 0)
            return 0;
        if (util_write_all(dfd, buf, (size_t)n, e) < 0)
            return err_wrap(e, "copy '%s'", c->rel);
    }
}

static int copy_dir(int sfd, int dfd, struct copy_ctx *c, int depth, struct err *e);

static int copy_entry(int sdir, int ddir, const char *name, struct copy_ctx *c, int depth,
                      struct err *e)
{
    struct stat st;

    if (fstatat(sdir, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
        return err_set(e, errno, "stat '%s'", c->rel);
    if (!S_ISDIR(st.st_mode) && st.st_nlink > 1) {
        struct ino_entry *first = ino_find(&c->links, st.st_dev, st.st_ino);
        if (first) {
            if (linkat(c->dst_rootfd, first->path, ddir, name, 0) < 0)
                return err_set(e, errno, "link '%s' to '%s'", c->rel, first->path);
            return 0;
        }
        char *p = strdup(c->rel);
        if (!p || ino_add(&c->links, st.st_dev, st.st_ino, p) < 0) {
            free(p);
            return err_set(e, ENOMEM, "track hard link '%s'", c->rel);
        }
    }

    switch (st.st_mode & S_IFMT) {
    case S_IFDIR: {
        if (depth >= TREE_DEPTH_MAX)
            return err_set(e, ELOOP, "copy '%s': nested deeper than %d", c->rel, TREE_DEPTH_MAX);
        auto_close int s = openat(sdir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (s < 0)
            return err_set(e, errno, "open '%s'", c->rel);
        if (mkdirat(ddir, name, 0700) < 0)
            return err_set(e, errno, "mkdir '%s'", c->rel);
        auto_close int d = openat(ddir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (d < 0)
            return err_set(e, errno, "open copy of '%s'", c->rel);
        if (copy_dir(s, d, c, depth + 1, e) < 0)
            return -1;
        /* after the contents: adding entries changes the directory's times */
        return copy_meta(ddir, name, d, &st, c, e);
    }
    case S_IFREG: {
        auto_close int s = openat(sdir, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
        if (s < 0)
            return err_set(e, errno, "open '%s'", c->rel);
        auto_close int d =
            openat(ddir, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (d < 0)
            return err_set(e, errno, "create '%s'", c->rel);
        if (copy_data(s, d, c, e) < 0)
            return -1;
        return copy_meta(ddir, name, d, &st, c, e);
    }
    case S_IFLNK: {
        char target[PATH_MAX];
        ssize_t n = readlinkat(sdir, name, target, sizeof target);
        if (n < 0)
            return err_set(e, errno, "readlink '%s'", c->rel);
        if ((size_t)n >= sizeof target)
            return err_set(e, ENAMETOOLONG, "readlink '%s'", c->rel);
        target[n] = '\0';
        if (symlinkat(target, ddir, name) < 0)
            return err_set(e, errno, "symlink '%s'", c->rel);
        return copy_meta(ddir, name, -1, &st, c, e);
    }
    case S_IFCHR:
    case S_IFBLK:
    case S_IFIFO:
    case S_IFSOCK:
        if (mknodat(ddir, name, st.st_mode, st.st_rdev) < 0)
            return err_set(e, errno, "mknod '%s'", c->rel);
        return copy_meta(ddir, name, -1, &st, c, e);
    default:
        return err_set(e, EINVAL, "copy '%s': unknown file type", c->rel);
    }
}

struct copy_step {
    int dfd;
    struct copy_ctx *c;
    int depth;
};

static int copy_one(int sfd, const char *name, void *ctx, struct err *e)
{
    struct copy_step *st = ctx;
    return copy_entry(sfd, st->dfd, name, st->c, st->depth, e);
}

static int copy_dir(int sfd, int dfd, struct copy_ctx *c, int depth, struct err *e)
{
    struct copy_step st = {dfd, c, depth};
    return each_entry(sfd, c->rel, sizeof c->rel, copy_one, &st, e);
}

/* Copy the directory SRC to the (new) directory DST_DIR/NAME. */
static int copy_tree(const char *src, int dst_dirfd, const char *name, struct err *e)
{
    auto_close int sfd = open(src, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    struct stat st;

    if (sfd < 0)
        return err_set(e, errno, "open '%s'", src);
    if (fstat(sfd, &st) < 0)
        return err_set(e, errno, "stat '%s'", src);
    if (mkdirat(dst_dirfd, name, 0700) < 0)
        return err_set(e, errno, "mkdir '%s'", name);
    auto_close int dfd = openat(dst_dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (dfd < 0)
        return err_set(e, errno, "open '%s'", name);
    struct copy_ctx c = {.dst_rootfd = dfd, .keep_owner = geteuid() == 0};
    int rc = copy_dir(sfd, dfd, &c, 1, e);
    ino_map_free(&c.links);
    if (rc < 0)
        return err_wrap(e, "copy '%s'", src);
    return copy_meta(dst_dirfd, name, dfd, &st, &c, e);
}

int storage_copy_contents(int sfd, int dfd, struct err *e)
{
    struct stat st;
    if (fstat(sfd, &st) < 0)
        return err_set(e, errno, "stat source directory");
    struct copy_ctx c = {.dst_rootfd = dfd, .keep_owner = geteuid() == 0};
    int rc = copy_dir(sfd, dfd, &c, 1, e);
    ino_map_free(&c.links);
    if (rc < 0)
        return -1;
    /* the directory itself takes the source's owner and mode, as Docker's copy-up does */
    if ((c.keep_owner && fchown(dfd, st.st_uid, st.st_gid) < 0) ||
        fchmod(dfd, st.st_mode & 07777) < 0)
        return err_set(e, errno, "set owner and mode of the copy");
    return 0;
}

/* ---- removal and size ---- */

static int mount_id(int dirfd, const char *name, uint64_t *out, dev_t *dev, int *is_dir)
{
    struct statx sx;
    if (statx(dirfd, name, AT_SYMLINK_NOFOLLOW | (*name ? 0 : AT_EMPTY_PATH),
              STATX_TYPE | STATX_MNT_ID, &sx) < 0)
        return -1;
    *out = (sx.stx_mask & STATX_MNT_ID) ? sx.stx_mnt_id : 0;
    *dev = makedev(sx.stx_dev_major, sx.stx_dev_minor);
    *is_dir = S_ISDIR(sx.stx_mode);
    return 0;
}

struct walk {
    dev_t dev;
    uint64_t mnt;
    char path[PATH_MAX_BERTH];
};

static int remove_contents(int fd, struct walk *w, int depth, struct err *e);

/* Remove NAME in directory FD (named by w->path), recursing into a directory. */
static int remove_entry(int fd, const char *name, struct walk *w, int depth, struct err *e)
{
    uint64_t mnt;
    dev_t dev;
    int is_dir;

    if (mount_id(fd, name, &mnt, &dev, &is_dir) < 0)
        return errno == ENOENT ? 0 : err_set(e, errno, "stat '%s'", w->path);
    if (is_dir) {
        if (dev != w->dev || mnt != w->mnt)
            return err_set(e, EXDEV, "remove '%s': a mount point", w->path);
        if (depth >= TREE_DEPTH_MAX)
            return err_set(e, ELOOP, "remove '%s': nested deeper than %d", w->path, TREE_DEPTH_MAX);
        auto_close int sub = openat(fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (sub < 0)
            return err_set(e, errno, "open '%s'", w->path);
        if (remove_contents(sub, w, depth + 1, e) < 0)
            return -1;
    }
    if (unlinkat(fd, name, is_dir ? AT_REMOVEDIR : 0) < 0 && errno != ENOENT)
        return err_set(e, errno, "remove '%s'", w->path);
    return 0;
}

/* Empty the directory FD (named by w->path). Each subdirectory on another device or mount
 * fails with EXDEV: its contents are not ours to delete. */
struct remove_step {
    struct walk *w;
    int depth;
};

static int remove_one(int fd, const char *name, void *ctx, struct err *e)
{
    struct remove_step *st = ctx;
    return remove_entry(fd, name, st->w, st->depth, e);
}

static int remove_contents(int fd, struct walk *w, int depth, struct err *e)
{
    struct remove_step st = {w, depth};
    return each_entry(fd, w->path, sizeof w->path, remove_one, &st, e);
}

int storage_remove_tree(const char *path, struct err *e)
{
    struct walk w;
    struct stat st;
    int is_dir;

    if (!path || !*path)
        return err_set(e, EINVAL, "remove tree: empty path");
    if (lstat(path, &st) < 0)
        return errno == ENOENT ? 0 : err_set(e, errno, "stat '%s'", path);
    if (!S_ISDIR(st.st_mode)) {
        if (unlink(path) < 0 && errno != ENOENT)
            return err_set(e, errno, "remove '%s'", path);
        return 0;
    }
    auto_close int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return err_set(e, errno, "open '%s'", path);
    if (mount_id(fd, "", &w.mnt, &w.dev, &is_dir) < 0)
        return err_set(e, errno, "stat '%s'", path);
    if (util_fmt(w.path, sizeof w.path, e, "%s", path) < 0)
        return -1;
    if (remove_contents(fd, &w, 1, e) < 0)
        return -1;
    if (rmdir(path) < 0 && errno != ENOENT)
        return err_set(e, errno, "remove '%s'", path);
    return 0;
}

int storage_remove_tree_at(int dirfd, const char *name, int contents_only, const char *what,
                           struct err *e)
{
    struct walk w;
    int is_dir;

    if (!*name || strchr(name, '/') || (strcmp(name, ".") == 0 && !contents_only) ||
        strcmp(name, "..") == 0)
        return err_set(e, EINVAL, "remove '%s': not a single name", what);
    if (util_fmt(w.path, sizeof w.path, e, "%s", what) < 0)
        return -1;
    if (!contents_only) {
        if (mount_id(dirfd, "", &w.mnt, &w.dev, &is_dir) < 0)
            return err_set(e, errno, "stat parent of '%s'", what);
        return remove_entry(dirfd, name, &w, 1, e);
    }
    auto_close int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return err_set(e, errno, "open '%s'", what);
    if (mount_id(fd, "", &w.mnt, &w.dev, &is_dir) < 0)
        return err_set(e, errno, "stat '%s'", what);
    return remove_contents(fd, &w, 1, e);
}

struct size_step {
    struct walk *w;
    struct ino_map *seen;
    uint64_t *sum;
    int depth;
};

static int size_dir(int fd, struct walk *w, struct ino_map *seen, uint64_t *sum, int depth,
                    struct err *e);

static int size_one(int fd, const char *name, void *ctx, struct err *e)
{
    struct size_step *s = ctx;
    struct stat st;
    if (fstatat(fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
        return errno == ENOENT ? 0 : err_set(e, errno, "stat '%s'", s->w->path);
    if (S_ISREG(st.st_mode)) {
        /* count a hard-linked file once, like du */
        if (st.st_nlink > 1 && ino_find(s->seen, st.st_dev, st.st_ino))
            return 0;
        if (st.st_nlink > 1) {
            char *p = strdup("");
            if (!p || ino_add(s->seen, st.st_dev, st.st_ino, p) < 0) {
                free(p);
                return err_set(e, ENOMEM, "tree size '%s'", s->w->path);
            }
        }
        *s->sum += (uint64_t)st.st_size;
    } else if (S_ISDIR(st.st_mode) && st.st_dev == s->w->dev) {
        if (s->depth >= TREE_DEPTH_MAX)
            return err_set(e, ELOOP, "size '%s': nested deeper than %d", s->w->path,
                           TREE_DEPTH_MAX);
        auto_close int sub = openat(fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (sub < 0)
            return err_set(e, errno, "open '%s'", s->w->path);
        return size_dir(sub, s->w, s->seen, s->sum, s->depth + 1, e);
    }
    return 0;
}

static int size_dir(int fd, struct walk *w, struct ino_map *seen, uint64_t *sum, int depth,
                    struct err *e)
{
    struct size_step st = {w, seen, sum, depth};
    return each_entry(fd, w->path, sizeof w->path, size_one, &st, e);
}

int storage_tree_size(const char *dir, uint64_t *out, struct err *e)
{
    struct walk w = {0};
    struct ino_map seen = {0};
    struct stat st;
    uint64_t sum = 0;

    auto_close int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return err_set(e, errno, "open '%s'", dir);
    if (fstat(fd, &st) < 0)
        return err_set(e, errno, "stat '%s'", dir);
    w.dev = st.st_dev;
    if (util_fmt(w.path, sizeof w.path, e, "%s", dir) < 0)
        return -1;
    int rc = size_dir(fd, &w, &seen, &sum, 1, e);
    ino_map_free(&seen);
    if (rc < 0)
        return -1;
    *out = sum;
    return 0;
}

/* ---- import ---- */

/* Move the finished TMP to DST: exchange atomically with an existing image, else rename. The
 * old image ends up at TMP. Returns 1 when an old image must be removed from TMP. */
static int install_dir(const char *tmp, const char *dst, struct err *e)
{
    if (renameat2(AT_FDCWD, tmp, AT_FDCWD, dst, RENAME_EXCHANGE) == 0)
        return 1;
    if (errno == ENOENT) {
        if (renameat2(AT_FDCWD, tmp, AT_FDCWD, dst, RENAME_NOREPLACE) == 0)
            return 0;
        if (errno != EINVAL)
            return err_set(e, errno, "rename '%s' to '%s'", tmp, dst);
    } else if (errno != EINVAL) {
        return err_set(e, errno, "exchange '%s' and '%s'", tmp, dst);
    }
    /* no renameat2 flags on this filesystem: plain rename, replacing in two steps */
    if (rename(tmp, dst) == 0)
        return 0;
    if (errno != EEXIST && errno != ENOTEMPTY)
        return err_set(e, errno, "rename '%s' to '%s'", tmp, dst);
    char old[PATH_MAX_BERTH];
    if (util_fmt(old, sizeof old, e, "%s.old", tmp) < 0)
        return -1;
    if (rename(dst, old) < 0)
        return err_set(e, errno, "rename '%s' to '%s'", dst, old);
    if (rename(tmp, dst) < 0) {
        int saved = errno;
        (void)rename(old, dst); /* best effort: put the old image back */
        return err_set(e, saved, "rename '%s' to '%s'", tmp, dst);
    }
    if (rename(old, tmp) < 0)
        return err_set(e, errno, "rename '%s' to '%s'", old, tmp);
    return 1;
}

/* The files of the new image reach the disk before its name points at them, and the rename
 * after: an acknowledged load survives a power cut. */
static int sync_fs_of(const char *path, struct err *e)
{
    auto_close int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0 || syncfs(fd) < 0)
        return err_set(e, errno, "sync '%s'", path);
    return 0;
}

int storage_image_commit(const char *tmp, const char *dst, struct err *e)
{
    struct err ce = {0};
    int rc = sync_fs_of(tmp, e) < 0 ? -1 : install_dir(tmp, dst, e);
    if (rc >= 0)
        (void)sync_fs_of(dst, &ce); /* the rename: best effort, the image is in place */
    if (rc < 0) {
        (void)storage_remove_tree(tmp, &ce); /* best effort, the first error is what matters */
        return -1;
    }
    if (rc == 1 && storage_remove_tree(tmp, e) < 0)
        return err_wrap(e, "remove the replaced image");
    return 0;
}

int storage_image_save_default(const char *dir, uint64_t size, struct err *e)
{
    static const char *const cmd[] = {"sh", NULL}, *const env[] = {DEFAULT_PATH, NULL};
    /* the defaults are only read by save; the casts never lead to a write */
    struct storage_image_config cfg = {
        .cmd = (char **)cmd, .env = (char **)env, .created_ns = util_now_ns(), .size = size};
    return storage_image_save(dir, &cfg, e);
}

static int import_into(const char *tmp, const char *src, struct err *e)
{
    char sib[PATH_MAX_BERTH], rootfs[PATH_MAX_BERTH];
    struct storage_image_config cfg = {0};
    uint64_t size = 0;
    auto_free char *real = realpath(src, NULL);

    if (!real)
        return err_set(e, errno, "resolve '%s'", src);
    auto_close int tfd = open(tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (tfd < 0)
        return err_set(e, errno, "open '%s'", tmp);
    if (copy_tree(real, tfd, "rootfs", e) < 0 ||
        util_fmt(rootfs, sizeof rootfs, e, "%s/rootfs", tmp) < 0 ||
        storage_tree_size(rootfs, &size, e) < 0)
        return -1;
    char *slash = strrchr(real, '/');
    if (slash == real)
        slash[1] = '\0';
    else if (slash)
        *slash = '\0';
    if (util_fmt(sib, sizeof sib, e, "%s/config.json", strcmp(real, "/") ? real : "") < 0)
        return -1;
    if (access(sib, F_OK) == 0) {
        if (config_load_file(sib, &cfg, e) < 0)
            return -1;
    } else {
        return storage_image_save_default(tmp, size, e);
    }
    if (!cfg.created_ns)
        cfg.created_ns = util_now_ns();
    cfg.size = size;
    int rc = storage_image_save(tmp, &cfg, e);
    storage_image_config_free(&cfg);
    return rc;
}

int storage_image_import_dir(const char *images_dir, const char *name, const char *src,
                             struct err *e)
{
    char tmp[PATH_MAX_BERTH], dst[PATH_MAX_BERTH];
    struct err ce = {0};

    if (!storage_image_name_valid(name))
        return err_set(e, EINVAL, "invalid image name '%.64s'", name);
    if (util_mkdir_p(images_dir, 0700, e) < 0)
        return err_wrap(e, "import image '%s'", name);
    if (util_fmt(tmp, sizeof tmp, e, "%s/.%s.tmp-XXXXXX", images_dir, name) < 0 ||
        util_fmt(dst, sizeof dst, e, "%s/%s", images_dir, name) < 0)
        return err_wrap(e, "import image '%s'", name);
    if (!mkdtemp(tmp))
        return err_set(e, errno, "import image '%s': mkdtemp '%s'", name, tmp);
    if (chmod(tmp, 0755) < 0) {
        int saved = errno;
        (void)storage_remove_tree(tmp, &ce); /* best effort: a leftover tmp is only litter */
        return err_set(e, saved, "import image '%s': chmod '%s'", name, tmp);
    }
    if (import_into(tmp, src, e) < 0) {
        (void)storage_remove_tree(tmp, &ce); /* best effort, the first error is what matters */
        return err_wrap(e, "import image '%s'", name);
    }
    if (storage_image_commit(tmp, dst, e) < 0)
        return err_wrap(e, "import image '%s'", name);
    return 0;
}
