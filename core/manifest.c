/* SPDX-License-Identifier: MIT */
/* core/manifest.c - the boot manifest: parse, check, and turn containers into create requests
 * (see manifest.h). Pure: no loop, no logging, no globals; reads only the manifest and the files
 * it names. All or nothing: a failed parse leaves no partial result. */
#include "core/manifest.h"

#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cjson/cJSON.h>

#include "ctl/proto.h"
#include "ctl/runopt.h"
#include "core/err.h"
#include "core/json.h"
#include "core/limits.h"
#include "core/mounts.h"
#include "core/util.h"
#include "storage/image.h"

#define HASH_LABEL     "berth.manifest"
#define HASH_LABEL_LEN (sizeof HASH_LABEL - 1)

static void pbuf_freep(struct proto_buf *b)
{
    proto_buf_free(b);
}
#define auto_pbuf __attribute__((cleanup(pbuf_freep)))

/* ---- small checks ---- */

static const char *type_name(const cJSON *j)
{
    if (cJSON_IsString(j))
        return "a string";
    if (cJSON_IsNumber(j))
        return "a number";
    if (cJSON_IsBool(j))
        return "a boolean";
    if (cJSON_IsArray(j))
        return "an array";
    if (cJSON_IsObject(j))
        return "an object";
    return "null";
}

/* Reject the members of OBJ not named in ALLOWED (NULL-terminated) and those given twice. */
static int check_keys(const cJSON *obj, const char *const *allowed, const char *where,
                      struct err *e)
{
    unsigned seen[16] = {0};

    for (const cJSON *k = obj->child; k; k = k->next) {
        size_t i = 0;
        while (allowed[i] && strcmp(allowed[i], k->string) != 0)
            i++;
        if (!allowed[i])
            return err_set(e, 0, "%s: unknown key '%s'", where, k->string);
        if (i < ARRAY_LEN(seen) && seen[i]++)
            return err_set(e, 0, "%s: duplicate key '%s'", where, k->string);
    }
    return 0;
}

/* A string member (NULL and 0 when absent). */
static int opt_str(const cJSON *obj, const char *key, const char *where, const char **out,
                   struct err *e)
{
    const cJSON *j = cJSON_GetObjectItemCaseSensitive(obj, key);

    *out = NULL;
    if (!j)
        return 0;
    if (!cJSON_IsString(j))
        return err_set(e, 0, "%s: '%s' must be a string, not %s", where, key, type_name(j));
    *out = j->valuestring;
    return 0;
}

static int dup_to(char **dst, const char *s, struct err *e)
{
    if (!s)
        return 0;
    *dst = strdup(s);
    if (!*dst)
        return err_set(e, ENOMEM, "out of memory");
    return 0;
}

/* RFC 1123: dot-separated labels of 1-63 letters, digits and inner '-', 253 bytes at most. */
static int hostname_valid(const char *s)
{
    size_t n = strlen(s), label = 0;

    if (n == 0 || n > 253)
        return 0;
    for (size_t i = 0; i <= n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '.' || c == '\0') {
            if (label == 0 || label > 63 || s[i - 1] == '-')
                return 0;
            label = 0;
            continue;
        }
        if (!isalnum(c) && (c != '-' || label == 0))
            return 0;
        label++;
    }
    return 1;
}

/* Kernel module names as modprobe takes them: letters, digits, '_' and '-'; never a path. */
static int module_valid(const char *s)
{
    size_t n = strlen(s);
    return n > 0 && n < CTR_NAME_MAX &&
           strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") == n;
}

static int abs_path_valid(const char *s)
{
    return s[0] == '/' && strlen(s) < PATH_MAX_BERTH;
}

/* An array member with at most MAX elements; *OUT NULL when absent. */
static int opt_array(const cJSON *obj, const char *key, size_t max, const cJSON **out, size_t *n,
                     struct err *e)
{
    const cJSON *j = cJSON_GetObjectItemCaseSensitive(obj, key);

    *out = NULL;
    *n = 0;
    if (!j)
        return 0;
    if (!cJSON_IsArray(j))
        return err_set(e, 0, "'%s' must be an array, not %s", key, type_name(j));
    *n = (size_t)cJSON_GetArraySize(j);
    if (*n > max)
        return err_set(e, 0, "'%s' has %zu entries, more than %zu", key, *n, max);
    *out = j;
    return 0;
}

/* ---- top-level lists ---- */

static int parse_modules(const cJSON *root, struct manifest *m, struct err *e)
{
    const cJSON *arr, *j;
    size_t n, i = 0;

    if (opt_array(root, "modules", CTR_MAX, &arr, &n, e) < 0)
        return -1;
    if (!arr)
        return 0;
    m->modules = calloc(n + 1, sizeof *m->modules);
    if (!m->modules)
        return err_set(e, ENOMEM, "out of memory");
    m->nmodules = n;
    cJSON_ArrayForEach(j, arr)
    {
        if (!cJSON_IsString(j) || !module_valid(j->valuestring))
            return err_set(e, 0, "modules[%zu]: not a module name", i);
        for (size_t k = 0; k < i; k++)
            if (strcmp(m->modules[k], j->valuestring) == 0)
                return err_set(e, 0, "modules: '%s' listed twice", j->valuestring);
        if (dup_to(&m->modules[i], j->valuestring, e) < 0)
            return -1;
        i++;
    }
    return 0;
}

static int parse_images(const cJSON *root, struct manifest *m, struct err *e)
{
    static const char *const keys[] = {"name", "load", "import", NULL};
    const cJSON *arr, *j;
    size_t n, i = 0;
    char where[64];

    if (opt_array(root, "images", CTR_MAX, &arr, &n, e) < 0)
        return -1;
    if (!arr)
        return 0;
    m->images = calloc(n + 1, sizeof *m->images);
    if (!m->images)
        return err_set(e, ENOMEM, "out of memory");
    m->nimages = n;
    cJSON_ArrayForEach(j, arr)
    {
        const char *name, *load, *import;
        (void)snprintf(where, sizeof where, "images[%zu]", i); /* fits */
        if (!cJSON_IsObject(j))
            return err_set(e, 0, "%s: must be an object, not %s", where, type_name(j));
        if (check_keys(j, keys, where, e) < 0 || opt_str(j, "name", where, &name, e) < 0 ||
            opt_str(j, "load", where, &load, e) < 0 || opt_str(j, "import", where, &import, e) < 0)
            return -1;
        if (!name || !storage_image_name_valid(name))
            return err_set(e, 0, "%s: %s", where, name ? "invalid name" : "no name");
        if (!load == !import)
            return err_set(e, 0, "image '%s': needs exactly one of 'load' and 'import'", name);
        if (!abs_path_valid(load ? load : import))
            return err_set(e, 0, "image '%s': '%s' must be an absolute path", name,
                           load ? "load" : "import");
        for (size_t k = 0; k < i; k++)
            if (strcmp(m->images[k].name, name) == 0)
                return err_set(e, 0, "image '%s' defined twice", name);
        struct manifest_image *im = &m->images[i];
        if (dup_to(&im->name, name, e) < 0 || dup_to(&im->load, load, e) < 0 ||
            dup_to(&im->import, import, e) < 0)
            return -1;
        i++;
    }
    return 0;
}

static int parse_volumes(const cJSON *root, struct manifest *m, struct err *e)
{
    static const char *const keys[] = {"name", NULL};
    const cJSON *arr, *j;
    size_t n, i = 0;
    char where[64];

    if (opt_array(root, "volumes", CTR_MAX, &arr, &n, e) < 0)
        return -1;
    if (!arr)
        return 0;
    m->volumes = calloc(n + 1, sizeof *m->volumes);
    if (!m->volumes)
        return err_set(e, ENOMEM, "out of memory");
    m->nvolumes = n;
    cJSON_ArrayForEach(j, arr)
    {
        const char *name = NULL;
        (void)snprintf(where, sizeof where, "volumes[%zu]", i); /* fits */
        if (cJSON_IsString(j))
            name = j->valuestring;
        else if (!cJSON_IsObject(j))
            return err_set(e, 0, "%s: must be a name or an object, not %s", where, type_name(j));
        else if (check_keys(j, keys, where, e) < 0 || opt_str(j, "name", where, &name, e) < 0)
            return -1;
        if (!name || !mount_volume_name_valid(name))
            return err_set(e, 0, "%s: %s", where, name ? "invalid volume name" : "no name");
        for (size_t k = 0; k < i; k++)
            if (strcmp(m->volumes[k], name) == 0)
                return err_set(e, 0, "volume '%s' defined twice", name);
        if (dup_to(&m->volumes[i], name, e) < 0)
            return -1;
        i++;
    }
    return 0;
}

static int parse_networks(const cJSON *root, struct manifest *m, struct err *e)
{
    static const char *const keys[] = {"name", "subnet", "gateway", NULL};
    const cJSON *arr, *j;
    size_t n, i = 0;
    char where[64];

    if (opt_array(root, "networks", CTR_MAX, &arr, &n, e) < 0)
        return -1;
    if (!arr)
        return 0;
    m->nets = calloc(n + 1, sizeof *m->nets);
    if (!m->nets)
        return err_set(e, ENOMEM, "out of memory");
    m->nnets = n;
    cJSON_ArrayForEach(j, arr)
    {
        const char *name, *subnet, *gw;
        (void)snprintf(where, sizeof where, "networks[%zu]", i); /* fits */
        if (!cJSON_IsObject(j))
            return err_set(e, 0, "%s: must be an object, not %s", where, type_name(j));
        if (check_keys(j, keys, where, e) < 0 || opt_str(j, "name", where, &name, e) < 0 ||
            opt_str(j, "subnet", where, &subnet, e) < 0 || opt_str(j, "gateway", where, &gw, e) < 0)
            return -1;
        if (!name || !util_valid_name(name))
            return err_set(e, 0, "%s: %s", where, name ? "invalid name" : "no name");
        if (strcmp(name, "bridge") == 0 || strcmp(name, "host") == 0 || strcmp(name, "none") == 0)
            return err_set(e, 0, "network '%s' is built in", name);
        for (size_t k = 0; k < i; k++)
            if (strcmp(m->nets[k].name, name) == 0)
                return err_set(e, 0, "network '%s' defined twice", name);
        struct manifest_net *nt = &m->nets[i];
        if (dup_to(&nt->name, name, e) < 0 || dup_to(&nt->subnet, subnet, e) < 0 ||
            dup_to(&nt->gateway, gw, e) < 0)
            return -1;
        i++;
    }
    return 0;
}

/* ---- containers ---- */

/* The flag occurrences of one container, in manifest order. Values point into the JSON tree
 * or into OWN. */
struct occs {
    struct client_opt *v;
    size_t n, cap;
    char **own;
    size_t nown, capown;
};

static void occs_free(struct occs *o)
{
    for (size_t i = 0; i < o->nown; i++)
        free(o->own[i]);
    free(o->own);
    free(o->v);
    memset(o, 0, sizeof *o);
}
#define auto_occs __attribute__((cleanup(occs_free)))

static int grow(void **p, size_t *cap, size_t n, size_t size, struct err *e)
{
    if (n < *cap)
        return 0;
    size_t nc = *cap ? *cap * 2 : 16;
    void *q = realloc(*p, nc * size);
    if (!q)
        return err_set(e, ENOMEM, "out of memory");
    *p = q;
    *cap = nc;
    return 0;
}

/* Add FLAG=VAL; with OWN, VAL is copied. */
static int occ_add(struct occs *o, int flag, const char *val, int own, struct err *e)
{
    if (grow((void **)&o->v, &o->cap, o->n, sizeof *o->v, e) < 0)
        return -1;
    if (own) {
        if (grow((void **)&o->own, &o->capown, o->nown, sizeof *o->own, e) < 0)
            return -1;
        char *c = strdup(val);
        if (!c)
            return err_set(e, ENOMEM, "out of memory");
        o->own[o->nown++] = c;
        val = c;
    }
    o->v[o->n++] = (struct client_opt){flag, val};
    return 0;
}

/* A number's decimal text; a duration's number is seconds. */
static int num_text(double d, int dur, char *buf, size_t size, struct err *e)
{
    if (d >= -1e15 && d <= 1e15 && d == (double)(long long)d)
        return util_fmt(buf, size, e, "%lld%s", (long long)d, dur ? "s" : "");
    return util_fmt(buf, size, e, "%.15g%s", d, dur ? "s" : "");
}

static int label_reserved(const char *kv)
{
    return strncmp(kv, HASH_LABEL, HASH_LABEL_LEN) == 0 &&
           (kv[HASH_LABEL_LEN] == '\0' || kv[HASH_LABEL_LEN] == '=');
}

/* One value of FLAG (given as KEY): a string or a number. */
static int add_scalar(struct occs *o, int flag, const cJSON *v, const char *where, const char *key,
                      struct err *e)
{
    char num[64];

    if (cJSON_IsString(v)) {
        if (flag == RUNOPT_LABEL && label_reserved(v->valuestring))
            return err_set(e, 0, "%s: the label '" HASH_LABEL "' is reserved", where);
        return occ_add(o, flag, v->valuestring, 0, e);
    }
    if (!cJSON_IsNumber(v))
        return err_set(e, 0, "%s: '%s' must be a string or a number, not %s", where, key,
                       type_name(v));
    if (num_text(v->valuedouble, runopt_duration(flag), num, sizeof num, e) < 0)
        return -1;
    return occ_add(o, flag, num, 1, e);
}

/* {K: V, ...} for env and label: one K=V occurrence each. */
static int add_object(struct occs *o, int flag, const cJSON *obj, const char *where,
                      const char *key, struct err *e)
{
    const cJSON *kv;
    char num[64];

    cJSON_ArrayForEach(kv, obj)
    {
        auto_pbuf struct proto_buf b = {0};
        const char *val = kv->valuestring;
        if (cJSON_IsNumber(kv)) {
            if (num_text(kv->valuedouble, 0, num, sizeof num, e) < 0)
                return -1;
            val = num;
        } else if (!cJSON_IsString(kv)) {
            return err_set(e, 0, "%s: '%s.%s' must be a string or a number, not %s", where, key,
                           kv->string, type_name(kv));
        }
        if (flag == RUNOPT_LABEL && label_reserved(kv->string))
            return err_set(e, 0, "%s: the label '" HASH_LABEL "' is reserved", where);
        if (proto_buf_printf(&b, "%s=%s", kv->string, val) < 0)
            return err_set(e, errno, "out of memory");
        if (occ_add(o, flag, b.data, 1, e) < 0)
            return -1;
    }
    return 0;
}

/* The value V of container key KEY for FLAG. */
static int add_flag(struct occs *o, int flag, const cJSON *v, const char *where, const char *key,
                    struct err *e)
{
    const cJSON *el;

    if (!runopt_flags[flag].takes_value) {
        if (!cJSON_IsBool(v))
            return err_set(e, 0, "%s: '%s' must be true or false, not %s", where, key,
                           type_name(v));
        return occ_add(o, flag, cJSON_IsTrue(v) ? "1" : "0", 0, e);
    }
    if (cJSON_IsArray(v)) {
        if (!runopt_repeatable(flag))
            return err_set(e, 0, "%s: '%s' takes one value, not an array", where, key);
        cJSON_ArrayForEach(el, v)
        {
            if (add_scalar(o, flag, el, where, key, e) < 0)
                return -1;
        }
        return 0;
    }
    if (cJSON_IsObject(v)) {
        if (flag != RUNOPT_ENV && flag != RUNOPT_LABEL)
            return err_set(e, 0, "%s: '%s' must be a string or a number, not an object", where,
                           key);
        return add_object(o, flag, v, where, key, e);
    }
    return add_scalar(o, flag, v, where, key, e);
}

/* The container keys that are not run flags, then the aliases of flags. */
static const char *const ctr_special[] = {"name", "image", "cmd", "requires", "health"};
enum { CK_NAME, CK_IMAGE, CK_CMD, CK_REQUIRES, CK_HEALTH, CK_NSPECIAL };
static const struct {
    const char *key;
    int flag;
} ctr_alias[] = {
    {"volumes", RUNOPT_VOLUME}, {"ports", RUNOPT_PUBLISH},  {"labels", RUNOPT_LABEL},
    {"mounts", RUNOPT_MOUNT},   {"devices", RUNOPT_DEVICE},
};
#define CK_NKEYS (CK_NSPECIAL + ARRAY_LEN(ctr_alias) + RUNOPT_NFLAGS)

/* The id of container key KEY (an index of seen[]) and its flag (-1 for a special key); -1
 * when unknown. */
static int ctr_key(const char *key, int *flag)
{
    char name[32];
    size_t n = strlen(key);

    *flag = -1;
    for (size_t i = 0; i < CK_NSPECIAL; i++)
        if (strcmp(key, ctr_special[i]) == 0)
            return (int)i;
    for (size_t i = 0; i < ARRAY_LEN(ctr_alias); i++)
        if (strcmp(key, ctr_alias[i].key) == 0) {
            *flag = ctr_alias[i].flag;
            return CK_NSPECIAL + (int)i;
        }
    if (n >= sizeof name || strchr(key, '-'))
        return -1;
    for (size_t i = 0; i <= n; i++)
        name[i] = key[i] == '_' ? '-' : key[i];
    *flag = runopt_find(name);
    return *flag < 0 ? -1 : CK_NSPECIAL + (int)ARRAY_LEN(ctr_alias) + *flag;
}

/* What parsing one container needs besides the container itself. */
struct ctx {
    struct manifest_ctr *ctrs;
    size_t nctrs;
    const size_t *by_name; /* indices of ctrs sorted by name */
    size_t *mark;          /* per container: 1 + the index of the last container requiring it */
};

static long find_sorted(const struct ctx *cx, const char *name)
{
    size_t lo = 0, hi = cx->nctrs;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(cx->ctrs[cx->by_name[mid]].name, name);
        if (c == 0)
            return (long)cx->by_name[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -1;
}

static int parse_requires(struct ctx *cx, size_t self, const cJSON *v, const char *where,
                          struct err *e)
{
    static const char *const keys[] = {"name", "condition", NULL};
    struct manifest_ctr *c = &cx->ctrs[self];
    const cJSON *r;
    size_t n;
    char rwhere[CTR_NAME_MAX + 32];

    if (util_fmt(rwhere, sizeof rwhere, e, "%s: requires", where) < 0)
        return -1;
    if (!cJSON_IsArray(v))
        return err_set(e, 0, "%s: 'requires' must be an array, not %s", where, type_name(v));
    n = (size_t)cJSON_GetArraySize(v);
    if (n == 0)
        return 0;
    c->deps = calloc(n, sizeof *c->deps);
    if (!c->deps)
        return err_set(e, ENOMEM, "out of memory");
    cJSON_ArrayForEach(r, v)
    {
        const char *name = NULL, *cond = NULL;
        enum manifest_cond mc = MANIFEST_STARTED;
        if (cJSON_IsString(r)) {
            name = r->valuestring;
        } else if (cJSON_IsObject(r)) {
            if (check_keys(r, keys, rwhere, e) < 0 || opt_str(r, "name", rwhere, &name, e) < 0 ||
                opt_str(r, "condition", rwhere, &cond, e) < 0)
                return -1;
            if (!name)
                return err_set(e, 0, "%s: a requirement without a name", where);
        } else {
            return err_set(e, 0, "%s: a requirement must be a name or an object, not %s", where,
                           type_name(r));
        }
        if (!cond || strcmp(cond, "started") == 0)
            mc = MANIFEST_STARTED;
        else if (strcmp(cond, "healthy") == 0)
            mc = MANIFEST_HEALTHY;
        else if (strcmp(cond, "completed") == 0)
            mc = MANIFEST_COMPLETED;
        else
            return err_set(e, 0, "%s: condition '%s' for '%s': use started, healthy or completed",
                           where, cond, name);
        long d = find_sorted(cx, name);
        if (d < 0)
            return err_set(e, 0,
                           "container '%s' requires '%s', which the manifest does not "
                           "define",
                           c->name, name);
        if ((size_t)d == self)
            return err_set(e, 0, "container '%s' requires itself", c->name);
        if (cx->mark[d] == self + 1)
            return err_set(e, 0, "container '%s' requires '%s' twice", c->name, name);
        cx->mark[d] = self + 1;
        c->deps[c->ndeps++] = (struct manifest_dep){(size_t)d, mc};
    }
    return 0;
}

/* health: {"cmd", "interval", "timeout", "start_period", "start_interval", "retries",
 * "on_failure"}; *WORDS gets an array cmd (CMD form), a string cmd is --health-cmd; *HAS_CMD
 * says whether there was a cmd. */
static int parse_health(struct occs *o, const cJSON *h, const char *where, const cJSON **words,
                        int *has_cmd, struct err *e)
{
    static const char *const keys[] = {"cmd",     "interval",       "timeout",    "start_period",
                                       "retries", "start_interval", "on_failure", NULL};
    static const int flags[] = {RUNOPT_HEALTH_CMD,       RUNOPT_HEALTH_INTERVAL,
                                RUNOPT_HEALTH_TIMEOUT,   RUNOPT_HEALTH_START_PERIOD,
                                RUNOPT_HEALTH_RETRIES,   RUNOPT_HEALTH_START_INTERVAL,
                                RUNOPT_HEALTH_ON_FAILURE};
    char hwhere[CTR_NAME_MAX + 32];
    const cJSON *j;

    if (!cJSON_IsObject(h))
        return err_set(e, 0, "%s: 'health' must be an object, not %s", where, type_name(h));
    if (util_fmt(hwhere, sizeof hwhere, e, "%s: health", where) < 0 ||
        check_keys(h, keys, hwhere, e) < 0)
        return -1;
    cJSON_ArrayForEach(j, h)
    {
        size_t i = 0;
        while (strcmp(keys[i], j->string) != 0)
            i++;
        if (flags[i] != RUNOPT_HEALTH_CMD) {
            if (add_scalar(o, flags[i], j, hwhere, j->string, e) < 0)
                return -1;
            continue;
        }
        *has_cmd = 1;
        if (cJSON_IsString(j)) {
            if (occ_add(o, RUNOPT_HEALTH_CMD, j->valuestring, 0, e) < 0)
                return -1;
            continue;
        }
        const cJSON *w;
        if (!cJSON_IsArray(j) || cJSON_GetArraySize(j) == 0)
            return err_set(e, 0, "%s: 'cmd' must be a string or a non-empty array", hwhere);
        cJSON_ArrayForEach(w, j)
        {
            if (!cJSON_IsString(w))
                return err_set(e, 0, "%s: 'cmd' must hold strings, not %s", hwhere, type_name(w));
        }
        *words = j;
    }
    return 0;
}

/* A JSON array of strings as a NULL-terminated vector pointing into it. */
static const char **str_vec(const cJSON *arr, size_t *n, struct err *e)
{
    const cJSON *w;
    size_t i = 0;
    const char **v = calloc((size_t)cJSON_GetArraySize(arr) + 1, sizeof *v);

    if (!v) {
        err_set(e, ENOMEM, "out of memory");
        return NULL;
    }
    cJSON_ArrayForEach(w, arr) v[i++] = w->valuestring;
    *n = i;
    return v;
}

/* The files a manifest names are read by berthd's loop (runopt_put): never a FIFO or a device
 * that could block it. (A missing file is left to runopt_put, which names the flag.) */
static int regular_file(const char *path, struct err *e)
{
    struct stat st;
    if (stat(path, &st) == 0 && !S_ISREG(st.st_mode))
        return err_set(e, 0, "'%s' is not a regular file", path);
    return 0;
}

/* Append the options of occurrences O to REQ: in order, except the env files then the -e
 * values last (runopt_put_all's order), stopping as soon as the request is too long. */
static int put_occs(struct proto_buf *req, const struct occs *o, const char *where, struct err *e)
{
    for (int pass = 0; pass < 3; pass++)
        for (size_t i = 0; i < o->n; i++) {
            int f = o->v[i].flag;
            int p = f == RUNOPT_ENV_FILE ? 1 : f == RUNOPT_ENV ? 2 : 0;
            if (p != pass)
                continue;
            const char *file =
                f == RUNOPT_ENV_FILE ? o->v[i].val
                : f == RUNOPT_SECURITY_OPT && strncmp(o->v[i].val, "seccomp=", 8) == 0
                    ? o->v[i].val + 8
                    : NULL;
            if (file && strcmp(file, "unconfined") != 0 && regular_file(file, e) < 0)
                return err_wrap(e, "%s", where);
            if (runopt_put(req, f, o->v[i].val, e) < 0)
                return err_wrap(e, "%s", where);
            if (req->len > CTL_LINE_MAX)
                return err_set(e, 0, "%s: the create request exceeds %d bytes", where,
                               CTL_LINE_MAX);
        }
    return 0;
}

/* Build ctrs[I]'s request line, hash and dependencies from its JSON object J. */
static int parse_ctr(struct ctx *cx, size_t idx, const cJSON *j, struct err *e)
{
    struct manifest_ctr *c = &cx->ctrs[idx];
    unsigned char seen[CK_NKEYS] = {0};
    auto_occs struct occs o = {0};
    auto_pbuf struct proto_buf opts = {0};
    auto_pbuf struct proto_buf cmd = {0};
    auto_pbuf struct proto_buf line = {0};
    auto_free const char **words = NULL;
    const cJSON *health_words = NULL, *k;
    size_t nwords = 0;
    int health_cmd = 0;
    char where[CTR_NAME_MAX + 16];

    if (util_fmt(where, sizeof where, e, "container '%s'", c->name) < 0)
        return -1;
    cJSON_ArrayForEach(k, j)
    {
        int flag, id = ctr_key(k->string, &flag);
        if (id < 0)
            return err_set(e, 0, "%s: unknown key '%s'", where, k->string);
        if (seen[id]++)
            return err_set(e, 0, "%s: duplicate key '%s'", where, k->string);
        if (flag >= 0 && runopt_client_only(flag))
            return err_set(e, 0, "%s: '%s' is a client option, not valid in a manifest", where,
                           k->string);
        if (flag >= 0) {
            if (add_flag(&o, flag, k, where, k->string, e) < 0)
                return -1;
            continue;
        }
        switch (id) {
        case CK_NAME:
        case CK_IMAGE:
            break; /* checked before */
        case CK_CMD:
            if (cJSON_IsString(k)) {
                static const char *const sh[] = {"/bin/sh", "-c"};
                if (proto_buf_append(&cmd, " --", 3) < 0 || proto_buf_word(&cmd, sh[0]) < 0 ||
                    proto_buf_word(&cmd, sh[1]) < 0 || proto_buf_word(&cmd, k->valuestring) < 0)
                    return err_set(e, errno, "out of memory");
                break;
            }
            if (!cJSON_IsArray(k))
                return err_set(e, 0, "%s: 'cmd' must be an array or a string, not %s", where,
                               type_name(k));
            const cJSON *w;
            cJSON_ArrayForEach(w, k)
            {
                if (!cJSON_IsString(w))
                    return err_set(e, 0, "%s: 'cmd' must hold strings, not %s", where,
                                   type_name(w));
                if ((cmd.len == 0 && proto_buf_append(&cmd, " --", 3) < 0) ||
                    proto_buf_word(&cmd, w->valuestring) < 0)
                    return err_set(e, errno, "out of memory");
                if (cmd.len > CTL_LINE_MAX)
                    return err_set(e, 0, "%s: the create request exceeds %d bytes", where,
                                   CTL_LINE_MAX);
            }
            break;
        case CK_REQUIRES:
            if (parse_requires(cx, idx, k, where, e) < 0)
                return -1;
            break;
        case CK_HEALTH:
            if (parse_health(&o, k, where, &health_words, &health_cmd, e) < 0)
                return -1;
            break;
        }
    }
    int fk = CK_NSPECIAL + (int)ARRAY_LEN(ctr_alias);
    if (health_cmd && (seen[fk + RUNOPT_HEALTH_CMD] || seen[fk + RUNOPT_NO_HEALTHCHECK]))
        return err_set(e, 0, "%s: the health check command is given both in 'health' and as '%s'",
                       where, seen[fk + RUNOPT_HEALTH_CMD] ? "health_cmd" : "no_healthcheck");
    if (put_occs(&opts, &o, where, e) < 0)
        return -1;
    if (health_words) {
        words = str_vec(health_words, &nwords, e);
        if (!words || runopt_put_health_test(&opts, "CMD", words, nwords, e) < 0)
            return -1;
    }

    /* the line without the label gives the hash, the label goes in before the command */
    uint64_t h;
    if (proto_buf_word(&line, "create") < 0 || proto_buf_opt(&line, "name", c->name) < 0 ||
        proto_buf_opt(&line, "image", c->image) < 0 ||
        proto_buf_append(&line, opts.data, opts.len) < 0)
        return err_set(e, errno, "out of memory");
    size_t prefix = line.len;
    if (proto_buf_append(&line, cmd.data, cmd.len) < 0)
        return err_set(e, errno, "out of memory");
    h = util_fnv1a64(line.data);
    if (util_fmt(c->hash, sizeof c->hash, e, "%016llx", (unsigned long long)h) < 0)
        return -1;
    line.len = prefix;
    line.data[prefix] = '\0';
    if (proto_buf_printf(&line, " label=" HASH_LABEL "=%s", c->hash) < 0 ||
        proto_buf_append(&line, cmd.data, cmd.len) < 0)
        return err_set(e, errno, "out of memory");
    if (line.len + 1 > CTL_LINE_MAX)
        return err_set(e, 0, "%s: the create request exceeds %d bytes", where, CTL_LINE_MAX);
    struct proto_req req;
    if (proto_parse(line.data, line.len, &req, e) < 0)
        return err_wrap(e, "%s: create request", where);
    proto_req_free(&req);
    if (proto_buf_append(&line, "\n", 1) < 0)
        return err_set(e, errno, "out of memory");
    c->line = take_ptr(&line.data);
    return 0;
}

static int cmp_idx(const void *a, const void *b, void *arg)
{
    const struct manifest_ctr *c = arg;
    return strcmp(c[*(const size_t *)a].name, c[*(const size_t *)b].name);
}

/* ---- dependency order ---- */

struct topo {
    struct manifest_ctr *ctrs;
    unsigned char *color; /* 0 not seen, 1 on the walk's path, 2 done */
    size_t *path;
    size_t *order;
    size_t norder;
};

static int cycle_error(const struct topo *t, size_t i, size_t depth, struct err *e)
{
    auto_pbuf struct proto_buf b = {0};
    size_t p = 0;

    while (t->path[p] != i)
        p++;
    if (proto_buf_printf(&b, "dependency cycle:") < 0)
        return err_set(e, ENOMEM, "out of memory");
    for (; p < depth; p++)
        if (proto_buf_printf(&b, " %s ->", t->ctrs[t->path[p]].name) < 0)
            return err_set(e, ENOMEM, "out of memory");
    if (proto_buf_printf(&b, " %s", t->ctrs[i].name) < 0)
        return err_set(e, ENOMEM, "out of memory");
    return err_set(e, 0, "%s", b.data);
}

/* Depth-first: the dependencies (in the order listed), then I. Depth is at most CTR_MAX. */
static int visit(struct topo *t, size_t i, size_t depth, struct err *e)
{
    struct manifest_ctr *c = &t->ctrs[i];

    if (t->color[i] == 2)
        return 0;
    if (t->color[i] == 1)
        return cycle_error(t, i, depth, e);
    t->color[i] = 1;
    t->path[depth] = i;
    for (size_t k = 0; k < c->ndeps; k++)
        if (visit(t, c->deps[k].idx, depth + 1, e) < 0)
            return -1;
    t->color[i] = 2;
    t->order[t->norder++] = i;
    return 0;
}

static int sort_ctrs(struct manifest *m, struct err *e)
{
    size_t n = m->nctrs;
    struct topo t = {.ctrs = m->ctrs};
    auto_free unsigned char *color = calloc(n + 1, 1);
    auto_free size_t *path = calloc(n + 1, sizeof *path);
    auto_free size_t *order = calloc(n + 1, sizeof *order);
    auto_free size_t *pos = calloc(n + 1, sizeof *pos);
    struct manifest_ctr *sorted = calloc(n + 1, sizeof *sorted);

    if (!color || !path || !order || !pos || !sorted) {
        free(sorted);
        return err_set(e, ENOMEM, "out of memory");
    }
    t.color = color;
    t.path = path;
    t.order = order;
    for (size_t i = 0; i < n; i++)
        if (visit(&t, i, 0, e) < 0) {
            free(sorted);
            return -1;
        }
    for (size_t k = 0; k < n; k++) {
        sorted[k] = m->ctrs[order[k]];
        pos[order[k]] = k;
    }
    for (size_t k = 0; k < n; k++) {
        struct manifest_ctr *c = &sorted[k];
        c->level = 0;
        for (size_t d = 0; d < c->ndeps; d++) {
            c->deps[d].idx = pos[c->deps[d].idx];
            if (sorted[c->deps[d].idx].level + 1 > c->level)
                c->level = sorted[c->deps[d].idx].level + 1;
        }
    }
    free(m->ctrs);
    m->ctrs = sorted;
    return 0;
}

static int parse_containers(const cJSON *root, struct manifest *m, struct err *e)
{
    const cJSON *arr, *j;
    size_t n, i = 0;
    char where[CTR_NAME_MAX + 32];

    if (opt_array(root, "containers", CTR_MAX, &arr, &n, e) < 0)
        return -1;
    if (!arr || n == 0)
        return 0;
    m->ctrs = calloc(n, sizeof *m->ctrs);
    if (!m->ctrs)
        return err_set(e, ENOMEM, "out of memory");
    m->nctrs = n;
    cJSON_ArrayForEach(j, arr)
    {
        const char *name, *image;
        (void)snprintf(where, sizeof where, "containers[%zu]", i); /* fits */
        if (!cJSON_IsObject(j))
            return err_set(e, 0, "%s: must be an object, not %s", where, type_name(j));
        if (opt_str(j, "name", where, &name, e) < 0)
            return -1;
        if (!name)
            return err_set(e, 0, "%s: no name", where);
        if (!util_valid_name(name))
            return err_set(e, 0, "%s: invalid container name '%.64s'", where, name);
        if (util_fmt(where, sizeof where, e, "container '%s'", name) < 0 ||
            opt_str(j, "image", where, &image, e) < 0)
            return -1;
        if (!image)
            return err_set(e, 0, "%s: no image", where);
        if (!storage_image_name_valid(image))
            return err_set(e, 0, "%s: invalid image name '%.64s'", where, image);
        if (dup_to(&m->ctrs[i].name, name, e) < 0 || dup_to(&m->ctrs[i].image, image, e) < 0)
            return -1;
        i++;
    }

    auto_free size_t *by_name = calloc(n, sizeof *by_name);
    auto_free size_t *mark = calloc(n, sizeof *mark);
    if (!by_name || !mark)
        return err_set(e, ENOMEM, "out of memory");
    for (i = 0; i < n; i++)
        by_name[i] = i;
    qsort_r(by_name, n, sizeof *by_name, cmp_idx, m->ctrs);
    for (i = 1; i < n; i++)
        if (strcmp(m->ctrs[by_name[i - 1]].name, m->ctrs[by_name[i]].name) == 0)
            return err_set(e, 0, "container '%s' defined twice", m->ctrs[by_name[i]].name);
    struct ctx cx = {.ctrs = m->ctrs, .nctrs = n, .by_name = by_name, .mark = mark};
    i = 0;
    cJSON_ArrayForEach(j, arr)
    {
        if (parse_ctr(&cx, i++, j, e) < 0)
            return -1;
    }
    return 0;
}

/* ---- the whole ---- */

static int parse_root(const cJSON *root, struct manifest *m, struct err *e)
{
    static const char *const keys[] = {"hostname", "modules",    "images",    "volumes",
                                       "networks", "containers", "exit_with", NULL};
    const char *host, *exit_with;

    if (check_keys(root, keys, "manifest", e) < 0 ||
        opt_str(root, "hostname", "manifest", &host, e) < 0 ||
        opt_str(root, "exit_with", "manifest", &exit_with, e) < 0)
        return -1;
    if (host && !hostname_valid(host))
        return err_set(e, 0, "invalid hostname '%.64s'", host);
    if (dup_to(&m->hostname, host, e) < 0 || parse_modules(root, m, e) < 0 ||
        parse_images(root, m, e) < 0 || parse_volumes(root, m, e) < 0 ||
        parse_networks(root, m, e) < 0 || parse_containers(root, m, e) < 0)
        return -1;
    if (exit_with && manifest_find(m, exit_with) < 0)
        return err_set(e, 0, "exit_with names '%.64s', which the manifest does not define",
                       exit_with);
    if (dup_to(&m->exit_with, exit_with, e) < 0)
        return -1;
    return sort_ctrs(m, e);
}

int manifest_parse(const char *text, size_t len, struct manifest *m, struct err *e)
{
    struct manifest tmp = {0};
    const char *end = NULL;

    memset(m, 0, sizeof *m);
    if (len > MANIFEST_MAX)
        return err_set(e, EFBIG, "manifest of %zu bytes is larger than %d", len, MANIFEST_MAX);
    auto_json cJSON *root = cJSON_ParseWithLengthOpts(text, len, &end, 0);
    if (!root)
        return err_set(e, 0, "not JSON: syntax error at byte %zu",
                       end && end >= text ? (size_t)(end - text) : (size_t)0);
    while (end < text + len && isspace((unsigned char)*end))
        end++;
    if (end < text + len)
        return err_set(e, 0, "not JSON: trailing data at byte %zu", (size_t)(end - text));
    if (!cJSON_IsObject(root))
        return err_set(e, 0, "the manifest must be a JSON object, not %s", type_name(root));
    if (parse_root(root, &tmp, e) < 0) {
        manifest_free(&tmp);
        return -1;
    }
    *m = tmp;
    return 0;
}

int manifest_load(const char *path, struct manifest *m, struct err *e)
{
    size_t len = 0;
    auto_free char *txt = util_read_regular(path, MANIFEST_MAX, &len, e);

    memset(m, 0, sizeof *m);
    if (!txt)
        return err_wrap(e, "manifest '%s'", path);
    if (manifest_parse(txt, len, m, e) < 0)
        return err_wrap(e, "manifest '%s'", path);
    return 0;
}

static void strv_free_n(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

void manifest_free(struct manifest *m)
{
    if (!m)
        return;
    free(m->hostname);
    strv_free_n(m->modules, m->nmodules);
    for (size_t i = 0; i < m->nimages; i++) {
        free(m->images[i].name);
        free(m->images[i].load);
        free(m->images[i].import);
    }
    free(m->images);
    strv_free_n(m->volumes, m->nvolumes);
    for (size_t i = 0; i < m->nnets; i++) {
        free(m->nets[i].name);
        free(m->nets[i].subnet);
        free(m->nets[i].gateway);
    }
    free(m->nets);
    for (size_t i = 0; i < m->nctrs; i++) {
        free(m->ctrs[i].name);
        free(m->ctrs[i].image);
        free(m->ctrs[i].line);
        free(m->ctrs[i].deps);
    }
    free(m->ctrs);
    free(m->exit_with);
    memset(m, 0, sizeof *m);
}

long manifest_find(const struct manifest *m, const char *name)
{
    for (size_t i = 0; i < m->nctrs; i++)
        if (strcmp(m->ctrs[i].name, name) == 0)
            return (long)i;
    return -1;
}
