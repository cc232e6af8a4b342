/* SPDX-License-Identifier: MIT */
/* core/mounts.c - Docker's mount syntaxes (see mounts.h). */
#include "core/mounts.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>

#include <cjson/cJSON.h>

#include "core/err.h"
#include "core/limits.h"
#include "core/util.h"

#define OPTS_MAX 256 /* one option list */

const char *mount_type_name(enum ctr_mount_type t)
{
    return t == CTR_MOUNT_BIND ? "bind" : t == CTR_MOUNT_VOLUME ? "volume" : "tmpfs";
}

int mount_volume_name_valid(const char *name)
{
    size_t n = strlen(name);
    if (n < 2 || n > 64) /* 64: an anonymous volume's hex name */
        return 0;
    if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", name[0]))
        return 0;
    return strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") == n;
}

void mount_free(struct ctr_mount *m)
{
    free(m->source);
    free(m->target);
    memset(m, 0, sizeof *m);
}

void mounts_free(struct ctr_mount *v, int n)
{
    for (int i = 0; v && i < n; i++)
        mount_free(&v[i]);
    free(v);
}

int mount_copy(struct ctr_mount *dst, const struct ctr_mount *src, struct err *e)
{
    *dst = *src;
    dst->source = src->source ? strdup(src->source) : NULL;
    dst->target = strdup(src->target);
    if ((src->source && !dst->source) || !dst->target) {
        mount_free(dst);
        return err_set(e, ENOMEM, "copy mount");
    }
    return 0;
}

/* A clean absolute path from S (LEN bytes): "//" and "/./" folded, no "..", no trailing "/".
 * WHAT names it in errors. */
static int clean_path(const char *s, size_t len, const char *what, char **out, struct err *e)
{
    if (len == 0 || s[0] != '/')
        return err_set(e, EINVAL, "invalid mount config: %s '%.*s' is not an absolute path", what,
                       (int)(len > 256 ? 256 : len), s);
    if (len >= PATH_MAX_BERTH)
        return err_set(e, EINVAL, "invalid mount config: %s is too long", what);
    char *p = malloc(len + 1);
    if (!p)
        return err_set(e, ENOMEM, "mount %s", what);
    size_t o = 0;
    for (size_t i = 0; i < len;) {
        while (i < len && s[i] == '/')
            i++;
        size_t j = i;
        while (j < len && s[j] != '/')
            j++;
        if (j - i == 1 && s[i] == '.') {
            i = j;
            continue;
        }
        if ((j - i == 2 && s[i] == '.' && s[i + 1] == '.') || memchr(s + i, 0, j - i)) {
            free(p);
            return err_set(e, EINVAL, "invalid mount config: %s '%.*s' may not contain '..'", what,
                           (int)len, s);
        }
        if (j > i) {
            p[o++] = '/';
            memcpy(p + o, s + i, j - i);
            o += j - i;
        }
        i = j;
    }
    if (o == 0)
        p[o++] = '/';
    p[o] = 0;
    *out = p;
    return 0;
}

static int set_target(struct ctr_mount *m, const char *s, size_t len, struct err *e)
{
    if (clean_path(s, len, "destination", &m->target, e) < 0)
        return -1;
    if (strcmp(m->target, "/") == 0)
        return err_set(e, EINVAL, "invalid mount config: destination can't be '/'");
    return 0;
}

/* One option word shared by -v and --tmpfs; 1 when known, 0 when not. */
static int flag_opt(struct ctr_mount *m, const char *o, size_t n)
{
    static const struct {
        const char *name;
        unsigned long set, clear;
    } flags[] = {
        {"noexec", MS_NOEXEC, 0}, {"nosuid", MS_NOSUID, 0}, {"nodev", MS_NODEV, 0},
        {"exec", 0, MS_NOEXEC},   {"suid", 0, MS_NOSUID},   {"dev", 0, MS_NODEV},
    };
    for (size_t i = 0; i < ARRAY_LEN(flags); i++)
        if (strlen(flags[i].name) == n && strncmp(o, flags[i].name, n) == 0) {
            m->flags = (m->flags | flags[i].set) & ~flags[i].clear;
            return 1;
        }
    if ((n == 2 && strncmp(o, "ro", 2) == 0) || (n == 2 && strncmp(o, "rw", 2) == 0)) {
        m->read_only = o[1] == 'o';
        return 1;
    }
    return 0;
}

/* Octal mode "1777" (at most 07777). */
static int parse_mode(const char *s, size_t n, unsigned *out)
{
    unsigned v = 0;
    if (n == 0 || n > 5)
        return -1;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '7')
            return -1;
        v = v * 8 + (unsigned)(s[i] - '0');
    }
    if (v > 07777)
        return -1;
    *out = v;
    return 0;
}

static int parse_size(const char *s, size_t n, long long *out)
{
    char buf[32];
    if (n == 0 || n >= sizeof buf)
        return -1;
    memcpy(buf, s, n);
    buf[n] = 0;
    return util_parse_ram(buf, out) < 0 || *out < 1 ? -1 : 0;
}

int mount_parse_volume(const char *spec, struct ctr_mount *m, struct err *e)
{
    const char *part[4];
    size_t len[4];
    int np = 0;

    memset(m, 0, sizeof *m);
    if (!*spec || strlen(spec) >= PATH_MAX_BERTH * 2 + OPTS_MAX)
        return err_set(e, EINVAL, "invalid volume specification: '%.64s'", spec);
    for (const char *p = spec; np < 4;) {
        const char *c = strchr(p, ':');
        part[np] = p;
        len[np++] = c ? (size_t)(c - p) : strlen(p);
        if (!c)
            break;
        p = c + 1;
    }
    /* "/dst:ro" is a destination and options; "a:/dst" a source and destination */
    int has_src = np == 3 || (np == 2 && len[1] > 0 && part[1][0] == '/');
    const char *opts = np == 3 ? part[2] : (np == 2 && !has_src) ? part[1] : NULL;
    size_t olen = np == 3 ? len[2] : (np == 2 && !has_src) ? len[1] : 0;
    if (np == 4 || (opts && olen == 0))
        return err_set(e, EINVAL, "invalid volume specification: '%s'", spec);
    int di = has_src ? 1 : 0;
    if (set_target(m, part[di], len[di], e) < 0)
        goto fail;
    if (!has_src) {
        m->type = CTR_MOUNT_VOLUME;
        m->anonymous = 1;
    } else if (len[0] > 0 && part[0][0] == '/') {
        m->type = CTR_MOUNT_BIND;
        if (clean_path(part[0], len[0], "source", &m->source, e) < 0)
            goto fail;
    } else {
        m->type = CTR_MOUNT_VOLUME;
        if (!(m->source = strndup(part[0], len[0])))
            goto oom;
        if (!mount_volume_name_valid(m->source)) {
            err_set(e, EINVAL,
                    "invalid volume specification: '%s': \"%s\" includes invalid characters for "
                    "a local volume name, only \"[a-zA-Z0-9][a-zA-Z0-9_.-]\" are allowed",
                    spec, m->source);
            goto fail;
        }
    }
    int seen_mode = 0;
    for (size_t i = 0; opts && i < olen;) {
        size_t j = i;
        while (j < olen && opts[j] != ',')
            j++;
        const char *o = opts + i;
        size_t n = j - i;
        int mode = (n == 2 && (strncmp(o, "ro", 2) == 0 || strncmp(o, "rw", 2) == 0));
        if (mode && seen_mode++) {
            err_set(e, EINVAL, "invalid volume specification: '%s': ro and rw together", spec);
            goto fail;
        }
        if (flag_opt(m, o, n) || (n == 1 && (o[0] == 'z' || o[0] == 'Z')))
            ;
        else if (n == 6 && strncmp(o, "nocopy", 6) == 0 && m->type == CTR_MOUNT_VOLUME)
            m->nocopy = 1;
        else {
            err_set(e, EINVAL, "invalid volume specification: '%s': unknown option '%.*s'", spec,
                    (int)n, o);
            goto fail;
        }
        i = j + 1;
    }
    return 0;
oom:
    err_set(e, ENOMEM, "parse volume");
fail:
    mount_free(m);
    return -1;
}

int mount_parse_tmpfs(const char *spec, struct ctr_mount *m, struct err *e)
{
    memset(m, 0, sizeof *m);
    m->type = CTR_MOUNT_TMPFS;
    m->flags = MS_NOEXEC | MS_NOSUID | MS_NODEV;
    const char *c = strchr(spec, ':');
    size_t dlen = c ? (size_t)(c - spec) : strlen(spec);
    if (strlen(spec) >= PATH_MAX_BERTH + OPTS_MAX || set_target(m, spec, dlen, e) < 0) {
        mount_free(m);
        return err_set(e, EINVAL, "invalid --tmpfs '%.64s': %s", spec,
                       e->msg[0] ? e->msg : "too long");
    }
    for (const char *o = c ? c + 1 : NULL; o && *o;) {
        size_t n = strcspn(o, ",");
        int ok = flag_opt(m, o, n);
        if (!ok && n > 5 && strncmp(o, "size=", 5) == 0)
            ok = parse_size(o + 5, n - 5, &m->tmpfs_size) == 0;
        else if (!ok && n > 5 && strncmp(o, "mode=", 5) == 0)
            ok = parse_mode(o + 5, n - 5, &m->tmpfs_mode) == 0;
        if (!ok) {
            mount_free(m);
            return err_set(e, EINVAL, "invalid --tmpfs '%s': bad option '%.*s'", spec, (int)n, o);
        }
        o += n + (o[n] == ',');
    }
    return 0;
}

/* "true"/"1" or absent: 1; "false"/"0": 0; else -1. */
static int opt_bool(const char *v, size_t n)
{
    if (!v || (n == 4 && strncmp(v, "true", 4) == 0) || (n == 1 && v[0] == '1'))
        return 1;
    if ((n == 5 && strncmp(v, "false", 5) == 0) || (n == 1 && v[0] == '0'))
        return 0;
    return -1;
}

static int key_is(const char *k, size_t n, const char *names)
{
    for (const char *p = names; *p;) {
        size_t l = strcspn(p, "|");
        if (l == n && strncmp(p, k, n) == 0)
            return 1;
        p += l + (p[l] == '|');
    }
    return 0;
}

int mount_parse_mount(const char *spec, struct ctr_mount *m, struct err *e)
{
    const char *src = NULL, *dst = NULL;
    size_t slen = 0, dlen = 0;
    int type = CTR_MOUNT_VOLUME, nocopy = 0, ro = 0;
    long long size = 0;
    unsigned mode = 0;

    memset(m, 0, sizeof *m);
    if (strlen(spec) >= PATH_MAX_BERTH * 2 + OPTS_MAX)
        return err_set(e, EINVAL, "invalid --mount: too long");
    for (const char *o = spec; *o;) {
        size_t n = strcspn(o, ",");
        const char *eq = memchr(o, '=', n);
        size_t kl = eq ? (size_t)(eq - o) : n;
        const char *v = eq ? eq + 1 : NULL;
        size_t vl = eq ? n - kl - 1 : 0;
        int bad = 0;
        if (key_is(o, kl, "type") && v) {
            type = vl == 4 && strncmp(v, "bind", 4) == 0     ? CTR_MOUNT_BIND
                   : vl == 6 && strncmp(v, "volume", 6) == 0 ? CTR_MOUNT_VOLUME
                   : vl == 5 && strncmp(v, "tmpfs", 5) == 0  ? CTR_MOUNT_TMPFS
                                                             : -1;
            bad = type < 0;
        } else if (key_is(o, kl, "source|src") && v) {
            src = v;
            slen = vl;
        } else if (key_is(o, kl, "target|destination|dst") && v) {
            dst = v;
            dlen = vl;
        } else if (key_is(o, kl, "readonly|ro")) {
            bad = (ro = opt_bool(v, vl)) < 0;
        } else if (key_is(o, kl, "volume-nocopy")) {
            bad = (nocopy = opt_bool(v, vl)) < 0;
        } else if (key_is(o, kl, "tmpfs-size") && v) {
            bad = parse_size(v, vl, &size) < 0;
        } else if (key_is(o, kl, "tmpfs-mode") && v) {
            bad = parse_mode(v, vl, &mode) < 0;
        } else if (key_is(o, kl, "bind-propagation") && v) {
            bad = !(vl == 8 && strncmp(v, "rprivate", 8) == 0) &&
                  !(vl == 7 && strncmp(v, "private", 7) == 0);
        } else if (key_is(o, kl, "consistency")) {
            /* macOS only in Docker: accepted, meaningless here */
        } else {
            return err_set(e, EINVAL, "invalid --mount field '%.*s'", (int)n, o);
        }
        if (bad)
            return err_set(e, EINVAL, "invalid --mount value '%.*s'", (int)n, o);
        o += n + (o[n] == ',');
    }
    if (!dst)
        return err_set(e, EINVAL, "invalid --mount: target is required");
    m->type = (enum ctr_mount_type)type;
    m->read_only = ro;
    if (set_target(m, dst, dlen, e) < 0)
        goto fail;
    if (m->type == CTR_MOUNT_TMPFS) {
        if (src) {
            err_set(e, EINVAL, "invalid --mount: a tmpfs has no source");
            goto fail;
        }
        m->flags = MS_NOSUID | MS_NODEV;
        m->tmpfs_size = size;
        m->tmpfs_mode = mode;
    } else if (m->type == CTR_MOUNT_BIND) {
        if (!src) {
            err_set(e, EINVAL, "invalid --mount: a bind mount needs a source");
            goto fail;
        }
        if (clean_path(src, slen, "source", &m->source, e) < 0)
            goto fail;
    } else {
        m->nocopy = nocopy;
        m->anonymous = !src || slen == 0;
        if (!m->anonymous) {
            if (!(m->source = strndup(src, slen))) {
                err_set(e, ENOMEM, "parse --mount");
                goto fail;
            }
            if (!mount_volume_name_valid(m->source)) {
                err_set(e, EINVAL, "invalid --mount: invalid volume name \"%s\"", m->source);
                goto fail;
            }
        }
    }
    if ((size || mode) && m->type != CTR_MOUNT_TMPFS) {
        err_set(e, EINVAL, "invalid --mount: tmpfs options on a %s mount",
                mount_type_name(m->type));
        goto fail;
    }
    return 0;
fail:
    mount_free(m);
    return -1;
}

int mounts_check(const struct ctr_mount *v, int n, struct err *e)
{
    for (int i = 0; i < n; i++)
        for (int j = 0; j < i; j++)
            if (strcmp(v[i].target, v[j].target) == 0)
                return err_set(e, EINVAL, "duplicate mount point: %s", v[i].target);
    return 0;
}

static int depth(const char *p)
{
    int d = 0;
    for (; *p; p++)
        d += *p == '/';
    return d;
}

void mounts_sort(struct ctr_mount *v, int n)
{
    /* insertion sort: few mounts, and it is stable */
    for (int i = 1; i < n; i++) {
        struct ctr_mount x = v[i];
        int k = i;
        for (; k > 0 && depth(v[k - 1].target) > depth(x.target); k--)
            v[k] = v[k - 1];
        v[k] = x;
    }
}

cJSON *mount_json(const struct ctr_mount *m)
{
    cJSON *j = cJSON_CreateObject();
    if (!j)
        return NULL;
    cJSON_AddStringToObject(j, "Type", mount_type_name(m->type));
    if (m->source)
        cJSON_AddStringToObject(j, "Source", m->source);
    cJSON_AddStringToObject(j, "Target", m->target);
    cJSON_AddBoolToObject(j, "ReadOnly", m->read_only);
    cJSON_AddBoolToObject(j, "Anonymous", m->anonymous);
    cJSON_AddBoolToObject(j, "NoCopy", m->nocopy);
    cJSON_AddNumberToObject(j, "Flags", (double)m->flags);
    cJSON_AddNumberToObject(j, "TmpfsSize", (double)m->tmpfs_size);
    cJSON_AddNumberToObject(j, "TmpfsMode", m->tmpfs_mode);
    return j;
}

static int json_num(const cJSON *j, const char *k, double max, double *out, struct err *e)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, k);
    *out = 0;
    if (!v)
        return 0;
    if (cJSON_IsBool(v)) {
        *out = cJSON_IsTrue(v);
        return 0;
    }
    if (!cJSON_IsNumber(v) || v->valuedouble < 0 || v->valuedouble > max)
        return err_set(e, EINVAL, "mount: '%s' out of range", k);
    *out = v->valuedouble;
    return 0;
}

int mount_from_json(const cJSON *j, struct ctr_mount *m, struct err *e)
{
    double ro, anon, nocopy, flags, size, mode;
    memset(m, 0, sizeof *m);
    const char *type = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "Type"));
    const char *src = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "Source"));
    const char *dst = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "Target"));
    if (!type || !dst)
        return err_set(e, EINVAL, "mount: 'Type' and 'Target' are required");
    if (strcmp(type, "bind") == 0)
        m->type = CTR_MOUNT_BIND;
    else if (strcmp(type, "volume") == 0)
        m->type = CTR_MOUNT_VOLUME;
    else if (strcmp(type, "tmpfs") == 0)
        m->type = CTR_MOUNT_TMPFS;
    else
        return err_set(e, EINVAL, "mount: unknown type '%.16s'", type);
    if (json_num(j, "ReadOnly", 1, &ro, e) < 0 || json_num(j, "Anonymous", 1, &anon, e) < 0 ||
        json_num(j, "NoCopy", 1, &nocopy, e) < 0 ||
        json_num(j, "Flags", MS_NOEXEC | MS_NOSUID | MS_NODEV, &flags, e) < 0 ||
        json_num(j, "TmpfsSize", 1e15, &size, e) < 0 ||
        json_num(j, "TmpfsMode", 07777, &mode, e) < 0)
        return -1;
    if (set_target(m, dst, strlen(dst), e) < 0)
        return err_wrap(e, "mount");
    /* a bind has a host path, a volume its name (an anonymous one is named at create) */
    if (m->type != CTR_MOUNT_TMPFS) {
        if (!src)
            err_set(e, EINVAL, "mount: %s without a source", type);
        else if (m->type == CTR_MOUNT_BIND)
            (void)clean_path(src, strlen(src), "source", &m->source, e);
        else if (!mount_volume_name_valid(src))
            err_set(e, EINVAL, "mount: bad volume name");
        else if (!(m->source = strdup(src)))
            err_set(e, ENOMEM, "mount");
        if (!m->source) {
            mount_free(m);
            return -1;
        }
    }
    m->read_only = ro != 0;
    m->anonymous = anon != 0;
    m->nocopy = nocopy != 0;
    m->flags = (unsigned long)flags & (MS_NOEXEC | MS_NOSUID | MS_NODEV);
    m->tmpfs_size = (long long)size;
    m->tmpfs_mode = (unsigned)mode;
    return 0;
}
