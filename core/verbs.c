/* SPDX-License-Identifier: MIT */
/* core/verbs.c - one handler per protocol verb (ctl/PROTOCOL.md). Handlers validate every
 * option before changing anything, then either reply at once or register the client's
 * pending operation, which server.c completes when the container gets there. */
#include "core/verbs.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "core/caps.h"
#include "core/apply.h"
#include "core/deps.h"
#include "core/boot.h"
#include "core/cgroup.h"
#include "core/ctr.h"
#include "core/events.h"
#include "core/exec.h"
#include "core/health.h"
#include "core/firewall.h"
#include "core/log.h"
#include "core/network.h"
#include "core/seccomp.h"
#include "core/spawn.h"
#include "core/server.h"
#include "core/sv.h"
#include "core/util.h"
#include "core/view.h"
#include "core/volume.h"
#include "storage/archive.h"
#include "storage/export.h"
#include "storage/image.h"

#define BERTH_VERSION "0.1.0"
#ifndef BERTH_GIT_COMMIT
#define BERTH_GIT_COMMIT "unknown"
#endif

#define ISOLATION_KEYS                                                                             \
    "cap_add cap_drop privileged security_opt seccomp_profile memory memory_swap pids_limit "      \
    "cpus cpu_shares init "

#define HEALTH_KEYS                                                                                \
    "health_test health_interval health_timeout health_start_period health_start_interval "        \
    "health_retries health_on_failure sdnotify "

/* Options that take a boolean (1/0/true/false), checked for every verb. */
#define BOOL_KEYS                                                                                  \
    " all rm read_only open_stdin tty attach stdin force volumes proxy follow timestamps "         \
    "privileged init detach "

struct verb {
    const char *name;
    void (*fn)(struct client *cl, const struct proto_req *req);
    const char *keys; /* allowed option keys, space-separated, with spaces at both ends */
    int npos_min, npos_max;
    int cmd_ok;
};

static int flag(const struct proto_req *req, const char *key)
{
    const char *v = proto_opt(req, key);
    return v && (strcmp(v, "1") == 0 || strcmp(v, "true") == 0);
}

static int flag_valid(const char *v)
{
    return !v || strcmp(v, "1") == 0 || strcmp(v, "0") == 0 || strcmp(v, "true") == 0 ||
           strcmp(v, "false") == 0;
}

static struct ctr *find_or_reply(struct client *cl, const char *ref)
{
    struct err e = {0};
    struct ctr *c = sv_find(cl->sv, ref, &e);
    if (!c)
        client_reply_err(cl, e.code ? e.code : 404, "%s", e.msg);
    return c;
}

/* Reply with the state table's refusal, if any: returns 1 when refused. */
static int refused(struct client *cl, const struct ctr *c, enum ctr_request r, const char *ref)
{
    char msg[512];
    int code = ctr_refuse(c->state, c->start_pending, r, ref, msg, sizeof msg);
    if (code)
        client_reply_err(cl, code, "%s", msg);
    return code != 0;
}

static void begin_op(struct client *cl, enum client_op op, struct ctr *c)
{
    cl->op = op;
    cl->op_ctr = c;
}

/* ---- simple verbs ---- */

static void v_ping(struct client *cl, const struct proto_req *req)
{
    (void)req;
    client_reply_ok(cl, NULL);
}

static void v_version(struct client *cl, const struct proto_req *req)
{
    struct utsname u;
    (void)req;
    cJSON *j = cJSON_CreateObject();
    if (j) {
        cJSON_AddStringToObject(j, "Version", BERTH_VERSION);
        cJSON_AddStringToObject(j, "ApiVersion", "1");
        cJSON_AddStringToObject(j, "Os", "linux");
        const char *arch = uname(&u) == 0 ? u.machine : "unknown";
        /* Docker's (Go's) names for the common machines */
        if (strcmp(arch, "x86_64") == 0)
            arch = "amd64";
        else if (strcmp(arch, "aarch64") == 0)
            arch = "arm64";
        cJSON_AddStringToObject(j, "Arch", arch);
        cJSON_AddStringToObject(j, "KernelVersion", uname(&u) == 0 ? u.release : "unknown");
        cJSON_AddStringToObject(j, "GitCommit", BERTH_GIT_COMMIT);
    }
    client_reply_json(cl, j);
}

static void v_info(struct client *cl, const struct proto_req *req)
{
    struct sv *sv = cl->sv;
    int running = 0, paused = 0, stopped = 0, total = 0;
    (void)req;
    for (struct ctr *c = sv->ctrs; c; c = c->next) {
        if (c->state == CTR_DEAD)
            continue;
        total++;
        if (c->state == CTR_PAUSED)
            paused++;
        else if (c->state == CTR_RUNNING || c->state == CTR_STOPPING || c->state == CTR_RESTARTING)
            running++;
        else
            stopped++;
    }
    cJSON *j = cJSON_CreateObject();
    if (j) {
        /* a stable identity of this supervisor: FNV-1a of its root */
        uint64_t h = 0xcbf29ce484222325ULL;
        char id[32];
        for (const char *p = sv->root; *p; p++)
            h = (h ^ (unsigned char)*p) * 0x100000001b3ULL;
        (void)snprintf(id, sizeof id, "%016llx", (unsigned long long)h);
        cJSON_AddStringToObject(j, "ID", id);
        cJSON_AddNumberToObject(j, "Containers", total);
        cJSON_AddNumberToObject(j, "ContainersRunning", running);
        cJSON_AddNumberToObject(j, "ContainersPaused", paused);
        cJSON_AddNumberToObject(j, "ContainersStopped", stopped);
        cJSON_AddNumberToObject(j, "Images", view_image_count(sv));
        cJSON_AddStringToObject(j, "Root", sv->root);
        cJSON_AddStringToObject(j, "Socket", sv->socket_path);
        cJSON_AddNumberToObject(j, "Pid", getpid());
        cJSON_AddBoolToObject(j, "Pid1", sv->pid1);
        /* Docker's CgroupVersion: the one whose controllers are used (v1 on hybrid) */
        cJSON_AddStringToObject(j, "CgroupVersion",
                                sv->cg_sys && sv->cg_sys->mode == CGROUP_V2 ? "2" : "1");
        cJSON_AddStringToObject(j, "CgroupMode",
                                sv->cg_sys ? cgroup_mode_name(sv->cg_sys->mode) : "none");
        cJSON_AddStringToObject(j, "CgroupParent", sv->cg_sys ? sv->cg_parent : "");
        cJSON_AddStringToObject(j, "Firewall", firewall_status(sv));
        cJSON_AddStringToObject(j, "FirewallTable", sv->fw.nft[0] ? sv->fw.table : "");
        cJSON_AddBoolToObject(j, "NAT", sv->fw.nat);
        cJSON_AddNumberToObject(j, "OrphansReaped", (double)sv->orphans_reaped);
        cJSON_AddNumberToObject(j, "Clients", sv->nclients);
        cJSON_AddStringToObject(j, "Version", BERTH_VERSION);
    }
    client_reply_json(cl, j);
}

/* shutdown [action=reboot|halt|poweroff|exit]: what follows once every container is down.
 * Only the machine's init reboots or powers off; elsewhere every action ends in exit 0. */
static void v_shutdown(struct client *cl, const struct proto_req *req)
{
    const char *a = proto_opt(req, "action");
    int how = a ? boot_halt_parse(a) : BOOT_EXIT;
    if (how < 0) {
        client_reply_err(cl, 400, "invalid action '%s': want reboot, halt, poweroff or exit", a);
        return;
    }
    if (!cl->sv->shutting_down && cl->sv->role == BOOT_MACHINE)
        cl->sv->halt = how;
    client_reply_ok(cl, NULL);
    sv_shutdown_begin(cl->sv);
}

/* manifest apply PATH: converge to the manifest (core/apply.c); the reply comes when it is
 * applied. */
static void v_manifest(struct client *cl, const struct proto_req *req)
{
    struct err e = {0};
    if (strcmp(req->pos[0].s, "apply") != 0 || req->npos != 2) {
        client_reply_err(cl, 400, "usage: manifest apply PATH");
        return;
    }
    if (req->pos[1].s[0] != '/') {
        client_reply_err(cl, 400, "the manifest path must be absolute: %s", req->pos[1].s);
        return;
    }
    begin_op(cl, OP_HELPER, NULL);
    if (apply_start(cl->sv, req->pos[1].s, cl, &e) < 0) {
        client_reply_err(cl, e.code == ENOENT ? 404 : e.msg[0] && !e.code ? 409 : 400, "%s", e.msg);
        client_op_done(cl);
    }
}

/* ---- create / run ---- */

static char **strv_dup(char *const *v, size_t max_extra)
{
    size_t n = 0;
    for (char *const *p = v; p && *p; p++)
        n++;
    char **out = calloc(n + max_extra + 1, sizeof *out);
    if (!out)
        return NULL;
    for (size_t i = 0; i < n; i++)
        if (!(out[i] = strdup(v[i]))) {
            for (size_t k = 0; k < i; k++)
                free(out[k]);
            free(out);
            return NULL;
        }
    return out;
}

/* Set K=V in ENV (an array with room), replacing an existing K. */
static int env_set(char **env, size_t *n, const char *kv)
{
    const char *eq = strchr(kv, '=');
    size_t kl = (size_t)(eq - kv);
    char *dup = strdup(kv);
    if (!dup)
        return -1;
    for (size_t i = 0; i < *n; i++)
        if (strncmp(env[i], kv, kl + 1) == 0) {
            free(env[i]);
            env[i] = dup;
            return 0;
        }
    env[(*n)++] = dup;
    return 0;
}

static int env_has(char **env, const char *key)
{
    size_t kl = strlen(key);
    for (; env && *env; env++)
        if (strncmp(*env, key, kl) == 0 && (*env)[kl] == '=')
            return 1;
    return 0;
}

/* "ROWSxCOLS" (a client's terminal size) into *ROWS and *COLS. */
static int parse_tty_size(const char *v, unsigned short *rows, unsigned short *cols)
{
    char *x;
    long long r, c;
    struct err e = {0};
    if (!v || !(x = strchr(v, 'x')))
        return -1;
    char buf[16];
    if ((size_t)(x - v) >= sizeof buf)
        return -1;
    memcpy(buf, v, (size_t)(x - v));
    buf[x - v] = 0;
    if (util_parse_int(buf, 1, 65535, &r, &e) < 0 || util_parse_int(x + 1, 1, 65535, &c, &e) < 0)
        return -1;
    *rows = (unsigned short)r;
    *cols = (unsigned short)c;
    return 0;
}

/* The request's env=K=V options into VALS (room for CTR_ENV_MAX + 1), checked: their count,
 * or -1 after replying. */
static long env_opts(struct client *cl, const struct proto_req *req, const char **vals)
{
    size_t nenv = proto_opt_all(req, "env", vals, CTR_ENV_MAX + 1);
    if (nenv > CTR_ENV_MAX) {
        client_reply_err(cl, 400, "too many environment entries (at most %d)", CTR_ENV_MAX);
        return -1;
    }
    for (size_t i = 0; i < nenv; i++)
        if (!strchr(vals[i], '=') || vals[i][0] == '=' || strlen(vals[i]) >= CTR_STR_MAX) {
            client_reply_err(cl, 400, "invalid environment entry '%s': want KEY=VALUE", vals[i]);
            return -1;
        }
    return (long)nenv;
}

/* The words after "--": bounded in number and length, no NUL. -1 after replying. */
static int cmd_words_ok(struct client *cl, const struct proto_req *req)
{
    if (req->ncmd > CTR_ARGS_MAX) {
        client_reply_err(cl, 400, "too many command words (at most %d)", CTR_ARGS_MAX);
        return -1;
    }
    for (size_t i = 0; i < req->ncmd; i++)
        if (req->cmd[i].len >= CTR_STR_MAX || memchr(req->cmd[i].s, 0, req->cmd[i].len)) {
            client_reply_err(cl, 400, "invalid command word %zu", i);
            return -1;
        }
    return 0;
}

static const char *const adjectives[] = {
    "admiring", "brave",  "calm",   "dazzling", "eager",   "focused",    "gallant",  "happy",
    "jolly",    "keen",   "loyal",  "modest",   "nifty",   "optimistic", "peaceful", "quirky",
    "relaxed",  "serene", "tender", "upbeat",   "vibrant", "wizardly",   "youthful", "zealous",
};
static const char *const nouns[] = {
    "albattani", "babbage", "curie",  "darwin",   "euclid",  "fermat",  "galileo", "hopper",
    "hypatia",   "johnson", "kepler", "lovelace", "meitner", "newton",  "noether", "pascal",
    "ritchie",   "shannon", "tesla",  "turing",   "villani", "wozniak", "yalow",   "zhukovsky",
};

static int name_in_use(struct sv *sv, const char *name)
{
    return sv_find_name(sv, name) != NULL;
}

static int generate_name(struct sv *sv, char *buf, size_t size)
{
    unsigned char r[4];
    char hex[CTR_ID_LEN + 1];
    struct err e;
    for (int attempt = 0; attempt < 64; attempt++) {
        if (util_random_hex(hex, sizeof hex, &e) < 0)
            return -1;
        for (int i = 0; i < 4; i++)
            r[i] = (unsigned char)strtoul((char[]){hex[2 * i], hex[2 * i + 1], 0}, NULL, 16);
        int n = attempt < 32
                    ? snprintf(buf, size, "%s_%s", adjectives[r[0] % ARRAY_LEN(adjectives)],
                               nouns[r[1] % ARRAY_LEN(nouns)])
                    : snprintf(buf, size, "%s_%s%d", adjectives[r[0] % ARRAY_LEN(adjectives)],
                               nouns[r[1] % ARRAY_LEN(nouns)], r[2] % 100);
        if (n > 0 && (size_t)n < size && !name_in_use(sv, buf))
            return 0;
    }
    return -1;
}

static int strv_from_opts(const struct proto_req *req, const char *key, size_t max, char ***out)
{
    const char *vals[CTR_CAPS_MAX + 1];
    size_t n = proto_opt_all(req, key, vals, ARRAY_LEN(vals));
    if (n > max || n > CTR_CAPS_MAX)
        return -1;
    char **v = calloc(n + 1, sizeof *v);
    if (!v)
        return -1;
    for (size_t i = 0; i < n; i++)
        if (!(v[i] = strdup(vals[i]))) {
            for (size_t k = 0; k < i; k++)
                free(v[k]);
            free(v);
            return -1;
        }
    *out = v;
    return 0;
}

/* --requires, canonical: each an existing container, not NAME itself, given once, healthy only
 * for one with a health check, and no cycle. Replies on error. */
static int requires_from_opts(struct client *cl, const struct proto_req *req, const char *name,
                              struct ctr_config *cfg)
{
    struct err e = {0};
    if (strv_from_opts(req, "requires", CTR_REQUIRES_MAX, &cfg->requires) < 0) {
        client_reply_err(cl, 400, "too many --requires (at most %d)", CTR_REQUIRES_MAX);
        return -1;
    }
    for (char **r = cfg->requires; *r; r++) {
        char canon[CTR_NAME_MAX + 16], dn[CTR_NAME_MAX];
        enum ctr_cond cond;
        if (ctr_parse_requires(*r, canon, sizeof canon, &e) < 0) {
            client_reply_err(cl, 400, "%s", e.msg);
            return -1;
        }
        char *dup = strdup(canon);
        if (!dup) {
            client_reply_err(cl, 500, "out of memory");
            return -1;
        }
        free(*r);
        *r = dup;
        (void)ctr_requires_split(canon, dn, &cond);
        if (strcmp(dn, name) == 0) {
            client_reply_err(cl, 400, "--requires: container %s cannot require itself", name);
            return -1;
        }
        for (char **o = cfg->requires; o < r; o++) {
            char on[CTR_NAME_MAX];
            enum ctr_cond oc;
            if (ctr_requires_split(*o, on, &oc) == 0 && strcmp(on, dn) == 0) {
                client_reply_err(cl, 400, "--requires: %s is given twice", dn);
                return -1;
            }
        }
        struct ctr *d = sv_find_name(cl->sv, dn);
        if (!d) {
            client_reply_err(cl, 404, "--requires: no such container: %s", dn);
            return -1;
        }
        if (cond == CTR_COND_HEALTHY && !health_watched(&d->cfg.health)) {
            client_reply_err(cl, 400,
                             "--requires %s: container %s has no health check (nor --sdnotify)",
                             canon, dn);
            return -1;
        }
        if (deps_cycle(cl->sv, name, dn)) {
            client_reply_err(cl, 400, "--requires %s: %s requires %s already, a cycle", canon, dn,
                             name);
            return -1;
        }
    }
    return 0;
}

/* Exposed ports: the image's ExposedPorts, then --expose, each once. With -P (publish_all),
 * every exposed port not already published is added to the published ports on any free host
 * port of 0.0.0.0, as Docker does. Replies on error. */
static int resolve_exposed(struct client *cl, const struct proto_req *req, struct ctr_config *cfg,
                           char *const *image_exposed)
{
    const char *vals[CTR_PORTS_MAX + 1];
    size_t nreq = proto_opt_all(req, "expose", vals, ARRAY_LEN(vals));
    size_t nimg = 0, nports = 0, n = 0;
    struct err e = {0};

    while (image_exposed && image_exposed[nimg])
        nimg++;
    while (cfg->ports && cfg->ports[nports])
        nports++;
    if (nreq > CTR_PORTS_MAX || nimg + nreq > CTR_PORTS_MAX) {
        client_reply_err(cl, 400, "too many exposed ports (at most %d)", CTR_PORTS_MAX);
        return -1;
    }
    if (!(cfg->expose = calloc(nimg + nreq + 1, sizeof *cfg->expose)))
        goto oom;
    for (size_t i = 0; i < nimg + nreq; i++) {
        char canon[16];
        const char *spec = i < nimg ? image_exposed[i] : vals[i - nimg];
        if (storage_exposed_port(spec, canon, sizeof canon, &e) < 0) {
            client_reply_err(cl, 400, "%s", e.msg);
            return -1;
        }
        size_t k = 0;
        while (k < n && strcmp(cfg->expose[k], canon) != 0)
            k++;
        if (k == n && !(cfg->expose[n++] = strdup(canon)))
            goto oom;
    }
    cfg->publish_all = flag(req, "publish_all");
    if (!cfg->publish_all || n == 0)
        return 0;
    if (cfg->network != CTR_NET_BRIDGE) {
        client_reply_err(cl, 400, "published ports need a bridge network, not --network %s",
                         proto_opt(req, "network"));
        return -1;
    }
    if (nports + n > CTR_PORTS_MAX) {
        client_reply_err(cl, 400, "too many published ports (at most %d)", CTR_PORTS_MAX);
        return -1;
    }
    char **ports = realloc(cfg->ports, (nports + n + 1) * sizeof *ports);
    if (!ports)
        goto oom;
    cfg->ports = ports;
    ports[nports] = NULL;
    for (size_t i = 0; i < n; i++) {
        size_t k = 0, len = strlen(cfg->expose[i]); /* "80/tcp" ends "IP:HOST:80/tcp" */
        for (; k < nports; k++) {
            size_t plen = strlen(ports[k]);
            if (plen > len && ports[k][plen - len - 1] == ':' &&
                strcmp(ports[k] + plen - len, cfg->expose[i]) == 0)
                break;
        }
        if (k < nports)
            continue;
        if (asprintf(&ports[nports], "0.0.0.0:0:%s", cfg->expose[i]) < 0) {
            ports[nports] = NULL;
            goto oom;
        }
        ports[++nports] = NULL;
    }
    return 0;
oom:
    client_reply_err(cl, 500, "out of memory");
    return -1;
}

/* -v, --tmpfs and --mount: parsed, checked (a bind source must exist; one mount per
 * destination), sorted parents first; named volumes are made on first use and anonymous ones
 * get their name here. Replies on error. */
static int resolve_mounts(struct client *cl, const struct proto_req *req, struct ctr_config *cfg)
{
    static const struct {
        const char *key;
        int (*parse)(const char *spec, struct ctr_mount *m, struct err *e);
    } kinds[] = {
        {"volume", mount_parse_volume}, {"tmpfs", mount_parse_tmpfs}, {"mount", mount_parse_mount}};
    const char *vals[CTR_MOUNTS_MAX + 1];
    struct err e = {0};
    size_t total = 0;

    for (size_t k = 0; k < ARRAY_LEN(kinds); k++)
        total += proto_opt_all(req, kinds[k].key, vals, ARRAY_LEN(vals));
    if (total > CTR_MOUNTS_MAX) {
        client_reply_err(cl, 400, "too many mounts (at most %d)", CTR_MOUNTS_MAX);
        return -1;
    }
    if (total == 0)
        return 0;
    if (!(cfg->mounts = calloc(total, sizeof *cfg->mounts))) {
        client_reply_err(cl, 500, "out of memory");
        return -1;
    }
    for (size_t k = 0; k < ARRAY_LEN(kinds); k++) {
        size_t n = proto_opt_all(req, kinds[k].key, vals, ARRAY_LEN(vals));
        for (size_t i = 0; i < n; i++) {
            if (kinds[k].parse(vals[i], &cfg->mounts[cfg->nmounts], &e) < 0) {
                client_reply_err(cl, 400, "%s", e.msg);
                return -1;
            }
            cfg->nmounts++;
        }
    }
    if (mounts_check(cfg->mounts, cfg->nmounts, &e) < 0) {
        client_reply_err(cl, 400, "%s", e.msg);
        return -1;
    }
    for (int i = 0; i < cfg->nmounts; i++) {
        struct stat st;
        const struct ctr_mount *m = &cfg->mounts[i];
        if (m->type == CTR_MOUNT_BIND && stat(m->source, &st) < 0) {
            client_reply_err(cl, 400,
                             "invalid mount config for type \"bind\": bind source path does not "
                             "exist: %s",
                             m->source);
            return -1;
        }
    }
    mounts_sort(cfg->mounts, cfg->nmounts);
    /* last: nothing below can fail but memory, so no volume is made for a refused create */
    for (int i = 0; i < cfg->nmounts; i++) {
        struct ctr_mount *m = &cfg->mounts[i];
        if (m->type != CTR_MOUNT_VOLUME)
            continue;
        struct volume *v = volume_create(cl->sv, m->source, NULL, m->anonymous, &e);
        if (!v || (!m->source && !(m->source = strdup(v->name)))) {
            client_reply_err(cl, 500, "%s", v ? "out of memory" : e.msg);
            if (v && m->anonymous)
                (void)volume_remove(cl->sv, v, &e);
            /* the anonymous volumes made for this create go again */
            for (int j = 0; j < i; j++) {
                struct volume *made = cfg->mounts[j].anonymous && cfg->mounts[j].source
                                          ? volume_find(cl->sv, cfg->mounts[j].source)
                                          : NULL;
                if (made)
                    (void)volume_remove(cl->sv, made, &e);
            }
            return -1;
        }
    }
    return 0;
}

/* Capabilities, security options and resource limits of a create/run request (DESIGN §11).
 * Replies on error. */
static int parse_isolation(struct client *cl, const struct proto_req *req, struct ctr_config *cfg)
{
    struct err e = {0};
    struct caps_spec cs = {0};
    const char *v;
    long long n;

    cfg->no_new_privs = 1;
    cfg->pids_limit = PIDS_LIMIT_DEFAULT;
    cfg->privileged = flag(req, "privileged");
    cfg->init = flag(req, "init");
    if (strv_from_opts(req, "cap_add", CTR_CAPS_MAX, &cfg->cap_add) < 0 ||
        strv_from_opts(req, "cap_drop", CTR_CAPS_MAX, &cfg->cap_drop) < 0) {
        client_reply_err(cl, 400, "too many capabilities (at most %d)", CTR_CAPS_MAX);
        return -1;
    }
    for (char **c = cfg->cap_add; *c; c++)
        if (caps_spec_add(&cs, *c, 0, &e) < 0) {
            client_reply_err(cl, 400, "invalid --cap-add: %s", e.msg);
            return -1;
        }
    for (char **c = cfg->cap_drop; *c; c++)
        if (caps_spec_add(&cs, *c, 1, &e) < 0) {
            client_reply_err(cl, 400, "invalid --cap-drop: %s", e.msg);
            return -1;
        }
    const char *opts[16];
    size_t nopt = proto_opt_all(req, "security_opt", opts, ARRAY_LEN(opts));
    if (nopt > ARRAY_LEN(opts)) {
        client_reply_err(cl, 400, "too many security options");
        return -1;
    }
    for (size_t i = 0; i < nopt; i++) {
        const char *o = opts[i];
        if (strcmp(o, "no-new-privileges") == 0 || strcmp(o, "no-new-privileges:true") == 0 ||
            strcmp(o, "no-new-privileges=true") == 0)
            cfg->no_new_privs = 1;
        else if (strcmp(o, "no-new-privileges:false") == 0 ||
                 strcmp(o, "no-new-privileges=false") == 0)
            cfg->no_new_privs = 0;
        else if (strcmp(o, "seccomp=unconfined") == 0 || strcmp(o, "seccomp:unconfined") == 0)
            cfg->seccomp_unconfined = 1;
        else {
            client_reply_err(cl, 400,
                             "invalid --security-opt '%s': no-new-privileges[:true|false], "
                             "seccomp=unconfined or seccomp=FILE",
                             o);
            return -1;
        }
    }
    if ((v = proto_opt(req, "seccomp_profile"))) {
        if (seccomp_profile_validate(v, strlen(v), &e) < 0) {
            client_reply_err(cl, 400, "invalid seccomp profile: %s", e.msg);
            return -1;
        }
        if (!(cfg->seccomp_profile = strdup(v))) {
            client_reply_err(cl, 500, "out of memory");
            return -1;
        }
    }
    static const struct {
        const char *key;
        long long lo, hi;
        size_t off;
    } nums[] = {
        {"memory", 6 * 1024 * 1024, 1LL << 50, offsetof(struct ctr_config, memory)},
        {"memory_swap", -1, 1LL << 50, offsetof(struct ctr_config, memory_swap)},
        {"pids_limit", -1, 1 << 22, offsetof(struct ctr_config, pids_limit)},
        {"cpu_shares", 2, 262144, offsetof(struct ctr_config, cpu_shares)},
    };
    for (size_t i = 0; i < ARRAY_LEN(nums); i++) {
        if (!(v = proto_opt(req, nums[i].key)))
            continue;
        if (util_parse_int(v, nums[i].lo, nums[i].hi, &n, &e) < 0) {
            client_reply_err(cl, 400, "invalid %s: %s", nums[i].key, e.msg);
            return -1;
        }
        *(long long *)((char *)cfg + nums[i].off) = n;
    }
    if (cfg->pids_limit == 0)
        cfg->pids_limit = -1; /* Docker: 0 or -1 is unlimited */
    if ((v = proto_opt(req, "cpus"))) {
        char *end;
        errno = 0;
        double f = strtod(v, &end);
        if (*end || errno || !(f > 0) || f > 4096) {
            client_reply_err(cl, 400, "invalid cpus '%s': a positive number", v);
            return -1;
        }
        cfg->nano_cpus = (long long)(f * 1e9);
    }
    /* the cgroup module's rules (Docker's): memory-swap needs memory and is at least it... */
    struct cgroup_limits lim;
    ctr_cgroup_limits(cfg, &lim);
    if (cgroup_check_limits(&lim, &e) < 0) {
        client_reply_err(cl, 400, "%s", e.msg);
        return -1;
    }
    return 0;
}

/* The health keys of a create/run request, over the image's Healthcheck (IMAGE_JSON, or NULL)
 * as Docker merges them: the request's test wins, and each unset duration or count comes from
 * the image. Replies 400 on a bad value and returns -1. */
static int parse_health(struct client *cl, const struct proto_req *req, struct ctr_health *h,
                        const char *image, const char *image_json)
{
    static const struct {
        const char *key;
        size_t off;
    } durs[] = {
        {"health_interval", offsetof(struct ctr_health, interval_ms)},
        {"health_timeout", offsetof(struct ctr_health, timeout_ms)},
        {"health_start_period", offsetof(struct ctr_health, start_period_ms)},
        {"health_start_interval", offsetof(struct ctr_health, start_interval_ms)},
    };
    struct err e = {0};
    const char *v;
    long long n;

    if ((v = proto_opt(req, "health_test")) && health_parse_test(v, &h->test, &e) < 0)
        goto bad;
    for (size_t i = 0; i < ARRAY_LEN(durs); i++) {
        int64_t ms;
        if (!(v = proto_opt(req, durs[i].key)))
            continue;
        if (health_parse_duration(v, &ms, &e) < 0) {
            err_wrap(&e, "%s", durs[i].key);
            goto bad;
        }
        memcpy((char *)h + durs[i].off, &ms, sizeof ms);
    }
    if ((v = proto_opt(req, "health_retries"))) {
        if (util_parse_int(v, 0, 1000000, &n, &e) < 0) {
            err_wrap(&e, "health_retries");
            goto bad;
        }
        h->retries = (int)n;
    }
    if ((v = proto_opt(req, "health_on_failure")) &&
        health_parse_on_failure(v, &h->on_failure, &e) < 0)
        goto bad;
    if ((v = proto_opt(req, "sdnotify")) && health_parse_sdnotify(v, &h->sdnotify, &e) < 0)
        goto bad;
    if (health_merge_image(h, image_json, &e) < 0) {
        err_wrap(&e, "image %s", image);
        goto bad;
    }
    return 0;
bad:
    client_reply_err(cl, 400, "%s", e.msg);
    return -1;
}

/* Build a container config from a create/run request. Replies on error and returns -1. */
static int build_config(struct client *cl, const struct proto_req *req, struct ctr_config *cfg,
                        char *name, size_t name_size)
{
    struct sv *sv = cl->sv;
    struct err e = {0};
    struct storage_image_config icfg = {0};
    const char *v;
    long long n;

    memset(cfg, 0, sizeof *cfg);
    cfg->stop_timeout = STOP_TIMEOUT_DEFAULT;
    cfg->backoff_min_ms = BACKOFF_MIN_MS;
    cfg->backoff_max_ms = BACKOFF_MAX_MS;
    cfg->backoff_reset_ms = BACKOFF_RESET_MS;
    cfg->log_max_size = LOG_SIZE_DEFAULT;
    cfg->log_max_file = LOG_FILES_DEFAULT;

    const char *image = proto_opt(req, "image");
    if (!image || !*image) {
        client_reply_err(cl, 400, "image is required");
        return -1;
    }
    v = proto_opt(req, "name");
    if (v) {
        if (*v == '/')
            v++;
        if (!util_valid_name(v)) {
            client_reply_err(cl, 400,
                             "invalid container name \"%s\": only [a-zA-Z0-9][a-zA-Z0-9_.-]* "
                             "and at most %d characters are allowed",
                             v, CTR_NAME_MAX - 1);
            return -1;
        }
        struct ctr *other = sv_find_name(sv, v);
        if (other) {
            client_reply_err(cl, 409,
                             "conflict: the container name \"/%s\" is already in use by "
                             "container \"%s\"",
                             v, other->id);
            return -1;
        }
        (void)snprintf(name, name_size, "%s", v);
    } else if (generate_name(sv, name, name_size) < 0) {
        client_reply_err(cl, 500, "cannot generate a container name");
        return -1;
    }

    if (ctr_parse_restart(proto_opt(req, "restart"), &cfg->restart, &cfg->max_retries, &e) < 0) {
        client_reply_err(cl, 400, "%s", e.msg);
        return -1;
    }
    cfg->auto_remove = flag(req, "rm");
    if (cfg->auto_remove && cfg->restart != CTR_RESTART_NO) {
        client_reply_err(cl, 400, "conflicting options: cannot specify both --restart and --rm");
        return -1;
    }
    cfg->read_only = flag(req, "read_only");
    cfg->open_stdin = flag(req, "open_stdin") || flag(req, "stdin");
    cfg->tty = flag(req, "tty");
    if ((v = proto_opt(req, "pid")) && *v) {
        if (strcmp(v, "host") != 0) {
            client_reply_err(cl, 400, "invalid --pid \"%s\": only \"host\" is supported", v);
            return -1;
        }
        cfg->pid_host = 1;
    }
    if (ctr_parse_network(proto_opt(req, "network"), cfg, &e) < 0) {
        client_reply_err(cl, 400, "%s", e.msg);
        return -1;
    }
    if (cfg->network == CTR_NET_BRIDGE) {
        const char *nn = cfg->network_name ? cfg->network_name : "bridge";
        struct network *net = network_find(cl->sv, nn, &e);
        if (!net || strcmp(net->name, nn) != 0 || net->driver != NETWORK_BRIDGE) {
            client_reply_err(cl, 404, "network %s not found", nn);
            return -1;
        }
    }
    if (strv_from_opts(req, "publish", CTR_PORTS_MAX, &cfg->ports) < 0) {
        client_reply_err(cl, 400, "too many published ports (at most %d)", CTR_PORTS_MAX);
        return -1;
    }
    for (char **p = cfg->ports; *p; p++) {
        struct network_port np;
        char canon[64];
        if (network_parse_port(*p, &np, &e) < 0) {
            client_reply_err(cl, 400, "%s", e.msg);
            return -1;
        }
        if (cfg->network != CTR_NET_BRIDGE) {
            client_reply_err(cl, 400, "published ports need a bridge network, not --network %s",
                             proto_opt(req, "network"));
            return -1;
        }
        network_port_format(&np, canon, sizeof canon);
        char *dup = strdup(canon);
        if (!dup) {
            client_reply_err(cl, 500, "out of memory");
            return -1;
        }
        free(*p);
        *p = dup;
    }
    if (strv_from_opts(req, "device", CTR_DEVICES_MAX, &cfg->devices) < 0) {
        client_reply_err(cl, 400, "too many --device (at most %d)", CTR_DEVICES_MAX);
        return -1;
    }
    for (char **d = cfg->devices; *d; d++) {
        char canon[2 * CTR_DEVICE_PATH_MAX + 8];
        struct ctr_device dev;
        char *dup;
        if (ctr_parse_device(*d, canon, sizeof canon, &e) < 0 ||
            ctr_device_resolve(canon, &dev, &e) < 0) {
            client_reply_err(cl, 400, "%s", e.msg);
            return -1;
        }
        if (!(dup = strdup(canon))) {
            client_reply_err(cl, 500, "out of memory");
            return -1;
        }
        free(*d);
        *d = dup;
        for (char **o = cfg->devices; o < d; o++) {
            struct ctr_device od;
            if (ctr_device_split(*o, &od) == 0 && strcmp(od.path, dev.path) == 0) {
                client_reply_err(cl, 400, "--device: %s is given twice", dev.path);
                return -1;
            }
        }
    }
    if (strv_from_opts(req, "group_add", CTR_GROUP_ADD_MAX, &cfg->group_add) < 0) {
        client_reply_err(cl, 400, "too many --group-add (at most %d)", CTR_GROUP_ADD_MAX);
        return -1;
    }
    for (char **g = cfg->group_add; *g; g++)
        if (!**g || strlen(*g) > 255 || strpbrk(*g, ":, \t\n")) {
            client_reply_err(cl, 400, "invalid --group-add \"%s\": a group name or gid", *g);
            return -1;
        }
    if (requires_from_opts(cl, req, name, cfg) < 0)
        return -1;
    if (strv_from_opts(req, "dns", CTR_DNS_MAX, &cfg->dns) < 0) {
        client_reply_err(cl, 400, "too many --dns servers (at most %d)", CTR_DNS_MAX);
        return -1;
    }
    for (char **d = cfg->dns; *d; d++) {
        uint32_t a;
        if (net_addr_parse(*d, &a, &e) < 0) {
            client_reply_err(cl, 400, "invalid --dns \"%s\": an IPv4 address", *d);
            return -1;
        }
    }
    if ((v = proto_opt(req, "ip"))) {
        uint32_t a;
        if (cfg->network != CTR_NET_BRIDGE) {
            client_reply_err(cl, 400, "--ip needs a bridge network, not --network %s",
                             proto_opt(req, "network"));
            return -1;
        }
        if (net_addr_parse(v, &a, &e) < 0 || !(cfg->ip = strdup(v))) {
            client_reply_err(cl, 400, "invalid --ip \"%s\"", v);
            return -1;
        }
    }
    if ((v = proto_opt(req, "stop_timeout"))) {
        if (util_parse_int(v, -1, 1000000000, &n, &e) < 0) {
            client_reply_err(cl, 400, "invalid stop timeout: %s", e.msg);
            return -1;
        }
        cfg->stop_timeout = (int)n;
    }
    if ((v = proto_opt(req, "log_max_size"))) {
        if (util_parse_int(v, 1024, 1LL << 40, &n, &e) < 0) {
            client_reply_err(cl, 400, "invalid log max-size: %s", e.msg);
            return -1;
        }
        cfg->log_max_size = n;
    }
    if ((v = proto_opt(req, "log_max_file"))) {
        if (util_parse_int(v, 1, LOG_FILES_MAX, &n, &e) < 0) {
            client_reply_err(cl, 400, "invalid log max-file: %s", e.msg);
            return -1;
        }
        cfg->log_max_file = (int)n;
    }
    if ((v = proto_opt(req, "backoff"))) {
        long long a, b, c;
        char extra;
        if (sscanf(v, "%lld:%lld:%lld%c", &a, &b, &c, &extra) != 3 || a < 1 || b < a || c < 1 ||
            b > 1000000000 || c > 1000000000) {
            client_reply_err(cl, 400, "invalid backoff '%s': MIN_MS:MAX_MS:RESET_MS", v);
            return -1;
        }
        cfg->backoff_min_ms = (int)a;
        cfg->backoff_max_ms = (int)b;
        cfg->backoff_reset_ms = (int)c;
    }
    v = proto_opt(req, "hostname");
    if (v && (!*v || strlen(v) > 63 || strchr(v, '/'))) {
        client_reply_err(cl, 400, "invalid hostname '%s'", v);
        return -1;
    }

    /* labels and env: bounded, validated */
    const char *vals[CTR_ENV_MAX + 1];
    size_t nlabels = proto_opt_all(req, "label", vals, CTR_LABELS_MAX + 1);
    if (nlabels > CTR_LABELS_MAX) {
        client_reply_err(cl, 400, "too many labels (at most %d)", CTR_LABELS_MAX);
        return -1;
    }
    cfg->labels = calloc(nlabels + 1, sizeof *cfg->labels);
    if (!cfg->labels)
        goto oom;
    for (size_t i = 0; i < nlabels; i++) {
        if (vals[i][0] == '=' || strlen(vals[i]) >= CTR_STR_MAX) {
            client_reply_err(cl, 400, "invalid label '%s'", vals[i]);
            goto fail;
        }
        if (strchr(vals[i], '=') ? !(cfg->labels[i] = strdup(vals[i]))
                                 : asprintf(&cfg->labels[i], "%s=", vals[i]) < 0)
            goto oom;
    }
    long nenv_ = env_opts(cl, req, vals);
    if (nenv_ < 0 || cmd_words_ok(cl, req) < 0)
        goto fail;
    size_t nenv = (size_t)nenv_;

    if (parse_isolation(cl, req, cfg) < 0)
        goto fail;
    if (storage_image_load(sv->images_dir, image, &icfg, &e) < 0) {
        client_reply_err(cl, e.code == ENOENT ? 404 : 500, "%s", e.msg);
        goto fail;
    }
    if (!(cfg->image = strdup(image)))
        goto oom;
    if (parse_health(cl, req, &cfg->health, image, icfg.healthcheck_json) < 0)
        goto fail;

    /* command: entrypoint + (request cmd or image cmd) */
    size_t ne = 0, nc = 0;
    for (char **p = icfg.entrypoint; p && *p; p++)
        ne++;
    if (req->has_cmd && req->ncmd > 0)
        nc = req->ncmd;
    else
        for (char **p = icfg.cmd; p && *p; p++)
            nc++;
    if (ne + nc == 0) {
        client_reply_err(cl, 400, "no command specified");
        goto fail;
    }
    cfg->argv = calloc(ne + nc + 1, sizeof *cfg->argv);
    if (!cfg->argv)
        goto oom;
    size_t k = 0;
    for (char **p = icfg.entrypoint; p && *p; p++)
        if (!(cfg->argv[k++] = strdup(*p)))
            goto oom;
    for (size_t i = 0; i < nc; i++) {
        const char *w = req->has_cmd && req->ncmd > 0 ? req->cmd[i].s : icfg.cmd[i];
        if (!(cfg->argv[k++] = strdup(w)))
            goto oom;
    }

    /* environment: image's, then the request's overriding by key */
    cfg->env = strv_dup(icfg.env, nenv + 2) /* + TERM, NOTIFY_SOCKET */;
    if (!cfg->env)
        goto oom;
    size_t have = 0;
    while (cfg->env[have])
        have++;
    for (size_t i = 0; i < nenv; i++)
        if (env_set(cfg->env, &have, vals[i]) < 0)
            goto oom;
    if (cfg->tty && !env_has(cfg->env, "TERM") && env_set(cfg->env, &have, "TERM=xterm") < 0)
        goto oom; /* DESIGN §16; the image's or the user's TERM wins */
    if (cfg->health.sdnotify && !env_has(cfg->env, "NOTIFY_SOCKET") &&
        env_set(cfg->env, &have, "NOTIFY_SOCKET=" HEALTH_NOTIFY_PATH) < 0)
        goto oom;

    v = proto_opt(req, "workdir");
    if (v && *v && v[0] != '/') {
        client_reply_err(cl, 400,
                         "the working directory '%s' is invalid, it needs to be an "
                         "absolute path",
                         v);
        goto fail;
    }
    if (v && *v ? !(cfg->workdir = strdup(v))
                : (icfg.workdir && *icfg.workdir && !(cfg->workdir = strdup(icfg.workdir))))
        goto oom;
    v = proto_opt(req, "user");
    if (v && *v ? !(cfg->user = strdup(v))
                : (icfg.user && *icfg.user && !(cfg->user = strdup(icfg.user))))
        goto oom;
    if ((v = proto_opt(req, "hostname")) && !(cfg->hostname = strdup(v)))
        goto oom;
    v = proto_opt(req, "stop_signal");
    if (!v)
        v = icfg.stop_signal;
    cfg->stop_signal = v && *v ? util_signal_parse(v) : SIGTERM;
    if (cfg->stop_signal < 0) {
        client_reply_err(cl, 400, "invalid stop signal '%s'", v);
        goto fail;
    }
    if (resolve_exposed(cl, req, cfg, icfg.exposed) < 0 || resolve_mounts(cl, req, cfg) < 0)
        goto fail;
    storage_image_config_free(&icfg);
    return 0;
oom:
    client_reply_err(cl, 500, "out of memory");
fail:
    storage_image_config_free(&icfg);
    ctr_config_free(cfg);
    return -1;
}

static struct ctr *do_create(struct client *cl, const struct proto_req *req)
{
    struct ctr_config cfg;
    char name[CTR_NAME_MAX];
    struct err e = {0};

    if (cl->sv->shutting_down) {
        client_reply_err(cl, 503, "the supervisor is shutting down");
        return NULL;
    }
    if (cl->sv->nctrs >= CTR_MAX) {
        client_reply_err(cl, 503, "too many containers (at most %d)", CTR_MAX);
        return NULL;
    }
    if (build_config(cl, req, &cfg, name, sizeof name) < 0)
        return NULL;
    struct ctr *c = ctr_create(cl->sv, name, &cfg, &e);
    ctr_config_free(&cfg);
    if (!c) {
        client_reply_err(cl, 500, "create container: %s", e.msg);
        return NULL;
    }
    sv_add(cl->sv, c);
    events_emit(cl->sv, c, "create", NULL, NULL);
    return c;
}

static void v_create(struct client *cl, const struct proto_req *req)
{
    struct ctr *c = do_create(cl, req);
    if (!c)
        return;
    client_reply_json(cl, view_created(c));
}

/* Start C for CL (run or start): claims a passed stdin fd when asked. */
static void start_for(struct client *cl, const struct proto_req *req, struct ctr *c)
{
    struct err e = {0};
    if (flag(req, "stdin")) {
        int fd = client_take_fd(cl);
        if (fd < 0) {
            client_reply_err(cl, 400, "stdin=1 needs an fd passed with the request");
            return;
        }
        if (c->stdin_fd >= 0)
            (void)close(c->stdin_fd);
        c->stdin_fd = fd;
    }
    c->tty_rows = c->tty_cols = 0;
    if (proto_opt(req, "tty_size") &&
        parse_tty_size(proto_opt(req, "tty_size"), &c->tty_rows, &c->tty_cols) < 0) {
        client_reply_err(cl, 400, "invalid tty_size '%s': want ROWSxCOLS",
                         proto_opt(req, "tty_size"));
        return;
    }
    begin_op(cl, OP_START, c);
    cl->op_attach = flag(req, "attach");
    /* --requires: 0 when the start waits for them (its notes answer, as for any start) */
    int r = deps_start(c, CTR_EV_START, &e);
    if (r == 0)
        return;
    if (r < 0) {
        client_reply_err(cl, 409, "%s", e.msg);
        client_op_done(cl);
        return;
    }
    if (ctr_handle(c, CTR_EV_START, 0, &e) < 0 && cl->op == OP_START) {
        /* the failure note already answered, unless the container is gone */
        client_reply_err(cl, 500, "%s", c->error[0] ? c->error : e.msg);
        client_op_done(cl);
    }
}

static void v_run(struct client *cl, const struct proto_req *req)
{
    unsigned short rows, cols;
    const char *ts = proto_opt(req, "tty_size");
    if (ts && parse_tty_size(ts, &rows, &cols) < 0) {
        client_reply_err(cl, 400, "invalid tty_size '%s': want ROWSxCOLS", ts);
        return;
    }
    struct ctr *c = do_create(cl, req);
    if (c)
        start_for(cl, req, c);
}

/* ---- exec and attach ---- */

/* The container's environment with the exec's entries (checked) overriding by key, and TERM
 * for a pty when nobody set it; NULL after replying. */
static char **exec_env(struct client *cl, const struct proto_req *req, const struct ctr *c, int tty)
{
    const char *vals[CTR_ENV_MAX + 1];
    long n = env_opts(cl, req, vals);
    if (n < 0)
        return NULL;
    size_t nenv = (size_t)n;
    char **env = strv_dup(c->cfg.env, nenv + 1);
    size_t have = 0;
    while (env && env[have])
        have++;
    for (size_t i = 0; env && i < nenv; i++)
        if (env_set(env, &have, vals[i]) < 0)
            goto oom;
    if (env && tty && !env_has(env, "TERM") && env_set(env, &have, "TERM=xterm") < 0)
        goto oom;
    if (env)
        return env;
oom:
    util_strv_free(env);
    client_reply_err(cl, 500, "out of memory");
    return NULL;
}

/* exec NAME [detach=1] [tty=1] [stdin=1] [env=K=V]... [workdir=DIR] [user=U] [privileged=1]
 * [tty_size=RxC] -- CMD...: without tty or detach the client's stdin, stdout and stderr come
 * with the request, in that order (stdin is used only with stdin=1). */
static void v_exec(struct client *cl, const struct proto_req *req)
{
    struct err e = {0};
    struct spawn_exec x = {.fds = {-1, -1, -1}};
    struct ctr *c = find_or_reply(cl, req->pos[0].s);
    if (!c || refused(cl, c, CTR_REQ_EXEC, req->pos[0].s))
        return;
    if (req->ncmd == 0) {
        client_reply_err(cl, 400, "exec needs a command");
        return;
    }
    if (cmd_words_ok(cl, req) < 0)
        return;
    x.workdir = proto_opt(req, "workdir");
    if (x.workdir && x.workdir[0] != '/') {
        client_reply_err(cl, 400,
                         "the working directory '%s' is invalid, it needs to be an "
                         "absolute path",
                         x.workdir);
        return;
    }
    x.user = proto_opt(req, "user");
    if (x.user && !*x.user)
        x.user = NULL;
    x.tty = flag(req, "tty");
    x.privileged = flag(req, "privileged");
    int detach = flag(req, "detach");
    const char *ts = proto_opt(req, "tty_size");
    if (ts && parse_tty_size(ts, &x.rows, &x.cols) < 0) {
        client_reply_err(cl, 400, "invalid tty_size '%s': want ROWSxCOLS", ts);
        return;
    }
    if (!x.tty && !detach) {
        if (cl->nfds < 3) {
            client_reply_err(cl, 400,
                             "exec needs the client's stdin, stdout and stderr passed "
                             "with the request (or detach=1)");
            return;
        }
        for (int i = 0; i < 3; i++)
            x.fds[i] = client_take_fd(cl);
        if (!flag(req, "stdin"))
            util_closep(&x.fds[0]), x.fds[0] = -1;
    }
    x.env = exec_env(cl, req, c, x.tty);
    x.argv = calloc(req->ncmd + 1, sizeof *x.argv);
    if (x.env && !x.argv)
        client_reply_err(cl, 500, "out of memory");
    for (size_t i = 0; x.argv && i < req->ncmd; i++)
        x.argv[i] = (char *)req->cmd[i].s; /* only read, by the child (execve wants char *) */
    if (x.env && x.argv) {
        if (exec_start(c, &x, detach, cl, &e) == 0)
            cl->op = OP_EXEC; /* answered when the command runs (or fails) */
        else
            client_reply_err(cl, e.code == ESRCH ? 409 : 500, "%s", e.msg);
    }
    for (int i = 0; i < 3; i++)
        util_closep(&x.fds[i]); /* the child has its own copies */
    free(x.argv);
    util_strv_free(x.env);
}

/* attach NAME: the container's output as a stream (as run's), ending with its exit; with -i
 * the client gets where its stdin goes (the pty master, or the stdin pipe berthd holds)
 * passed with the ok. */
static void v_attach(struct client *cl, const struct proto_req *req)
{
    struct ctr *c = find_or_reply(cl, req->pos[0].s);
    if (!c)
        return;
    if (c->state == CTR_PAUSED) {
        client_reply_err(cl, 409, "you cannot attach to a paused container, unpause it first");
        return;
    }
    if (c->state != CTR_RUNNING || c->start_pending) {
        client_reply_err(cl, 409, "you cannot attach to a stopped container, start it first");
        return;
    }
    int in = c->cfg.tty ? logfile_pty(&c->log) : c->stdin_hold;
    if (in >= 0 && (c->cfg.open_stdin || c->cfg.tty)) {
        int dup = fcntl(in, F_DUPFD_CLOEXEC, 3);
        if (dup >= 0)
            (void)client_send_fd(cl, dup);
    }
    begin_op(cl, OP_ATTACH, c);
    cJSON *j = view_created(c);
    if (j) {
        cJSON_AddBoolToObject(j, "Tty", c->cfg.tty);
        cJSON_AddBoolToObject(j, "OpenStdin", c->cfg.open_stdin);
    }
    client_reply_json(cl, j);
}

/* ---- lifecycle ---- */

static void v_start(struct client *cl, const struct proto_req *req)
{
    struct ctr *c = find_or_reply(cl, req->pos[0].s);
    if (!c)
        return;
    if (cl->sv->shutting_down) {
        client_reply_err(cl, 503, "the supervisor is shutting down");
        return;
    }
    if (refused(cl, c, CTR_REQ_START, req->pos[0].s))
        return;
    start_for(cl, req, c);
}

static int parse_timeout(struct client *cl, const struct proto_req *req, const struct ctr *c,
                         long *out)
{
    const char *v = proto_opt(req, "timeout");
    long long n;
    struct err e = {0};
    if (!v) {
        *out = c->cfg.stop_timeout;
        return 0;
    }
    if (util_parse_int(v, -1, 1000000000, &n, &e) < 0) {
        client_reply_err(cl, 400, "invalid timeout: %s", e.msg);
        return -1;
    }
    *out = (long)n;
    return 0;
}

static void v_stop(struct client *cl, const struct proto_req *req)
{
    long t;
    struct ctr *c = find_or_reply(cl, req->pos[0].s);
    if (!c || parse_timeout(cl, req, c, &t) < 0)
        return;
    if (deps_gated(cl->sv, c)) {
        /* a start waiting for its requirements: it ends, failed, and nothing is stopped */
        c->manual_stop = 1;
        (void)deps_cancel(c, "the start was cancelled by a stop");
        client_reply_ok(cl, NULL);
        return;
    }
    if (refused(cl, c, CTR_REQ_STOP, req->pos[0].s))
        return;
    c->start_after_exit = 0;
    begin_op(cl, OP_STOP, c);
    (void)ctr_handle(c, CTR_EV_STOP, t, NULL);
    if (c->state == CTR_EXITED && cl->op == OP_STOP) {
        /* a restart was cancelled: nothing to wait for */
        client_reply_ok(cl, NULL);
        client_op_done(cl);
    }
}

static void v_restart(struct client *cl, const struct proto_req *req)
{
    long t;
    struct err e = {0};
    struct ctr *c = find_or_reply(cl, req->pos[0].s);
    if (!c || parse_timeout(cl, req, c, &t) < 0)
        return;
    if (refused(cl, c, CTR_REQ_RESTART, req->pos[0].s))
        return;
    begin_op(cl, OP_RESTART, c);
    if (c->state == CTR_RUNNING || c->state == CTR_STOPPING) {
        c->start_after_exit = 1;
        c->manual_stop = 0;
        if (c->state == CTR_RUNNING)
            (void)ctr_handle(c, CTR_EV_STOP, t, NULL);
        c->manual_stop = 0; /* a restart is not a stop */
        return;
    }
    int r = deps_start(c, CTR_EV_START, &e);
    if (r == 0)
        return; /* its notes answer */
    if (r < 0) {
        client_reply_err(cl, 409, "%s", e.msg);
        client_op_done(cl);
    } else if (ctr_handle(c, CTR_EV_START, 0, &e) < 0 && cl->op == OP_RESTART) {
        client_reply_err(cl, 500, "%s", c->error[0] ? c->error : e.msg);
        client_op_done(cl);
    }
}

static void v_kill(struct client *cl, const struct proto_req *req)
{
    struct ctr *c = find_or_reply(cl, req->pos[0].s);
    if (!c)
        return;
    const char *v = proto_opt(req, "signal");
    int sig = v ? util_signal_parse(v) : SIGKILL;
    if (sig < 0) {
        client_reply_err(cl, 400, "invalid signal: %s", v);
        return;
    }
    if (!flag_valid(proto_opt(req, "proxy"))) {
        client_reply_err(cl, 400, "invalid value for proxy: use 1 or 0");
        return;
    }
    if (refused(cl, c, CTR_REQ_KILL, req->pos[0].s))
        return;
    if (flag(req, "proxy")) {
        if (ctr_signal(c, sig) < 0)
            client_reply_err(cl, 500, "signal %s: %s", util_signal_name(sig), strerror(errno));
        else
            client_reply_ok(cl, NULL);
        return;
    }
    c->start_after_exit = 0;
    (void)ctr_handle(c, CTR_EV_KILL, sig, NULL);
    client_reply_ok(cl, NULL);
}

static void v_pause(struct client *cl, const struct proto_req *req)
{
    struct ctr *c = find_or_reply(cl, req->pos[0].s);
    if (!c)
        return;
    struct err e = {0};
    if (refused(cl, c, CTR_REQ_PAUSE, req->pos[0].s))
        return;
    if (ctr_handle(c, CTR_EV_PAUSE, 0, &e) < 0)
        client_reply_err(cl, 500, "pause %s: %s", req->pos[0].s, e.msg);
    else
        client_reply_ok(cl, NULL);
}

static void v_unpause(struct client *cl, const struct proto_req *req)
{
    struct ctr *c = find_or_reply(cl, req->pos[0].s);
    if (!c)
        return;
    struct err e = {0};
    if (refused(cl, c, CTR_REQ_UNPAUSE, req->pos[0].s))
        return;
    if (ctr_handle(c, CTR_EV_UNPAUSE, 0, &e) < 0)
        client_reply_err(cl, 500, "unpause %s: %s", req->pos[0].s, e.msg);
    else
        client_reply_ok(cl, NULL);
}

static void v_rm(struct client *cl, const struct proto_req *req)
{
    struct ctr *c = find_or_reply(cl, req->pos[0].s);
    if (!c)
        return;
    int force = flag(req, "force");
    if (!flag_valid(proto_opt(req, "force")) || !flag_valid(proto_opt(req, "volumes"))) {
        client_reply_err(cl, 400, "invalid value for force/volumes: use 1 or 0");
        return;
    }
    if (!force && refused(cl, c, CTR_REQ_RM, req->pos[0].s))
        return;
    c->remove_volumes = flag(req, "volumes");
    begin_op(cl, OP_RM, c);
    if (c->state == CTR_REMOVING || c->state == CTR_DEAD)
        return; /* already on its way: answer when it is gone */
    if (c->state == CTR_RUNNING || c->state == CTR_PAUSED || c->state == CTR_STOPPING) {
        c->remove_after_exit = 1;
        c->start_after_exit = 0;
        (void)ctr_handle(c, CTR_EV_KILL, SIGKILL, NULL);
        return;
    }
    if (c->start_pending) {
        c->remove_after_exit = 1;
        (void)ctr_signal(c, SIGKILL); /* our child, not reaped yet: the pid is still ours */
        return;
    }
    (void)ctr_handle(c, CTR_EV_REMOVE, 0, NULL);
}

static void v_wait(struct client *cl, const struct proto_req *req)
{
    struct ctr *c = find_or_reply(cl, req->pos[0].s);
    if (!c)
        return;
    const char *cond = proto_opt(req, "condition");
    if (cond && strcmp(cond, "not-running") != 0 && strcmp(cond, "next-exit") != 0 &&
        strcmp(cond, "removed") != 0 && strcmp(cond, "exited") != 0 &&
        strcmp(cond, "healthy") != 0 && strcmp(cond, "running") != 0) {
        client_reply_err(cl, 400,
                         "invalid condition '%s': not-running, next-exit, removed, exited, "
                         "healthy or running",
                         cond);
        return;
    }
    if (cond && strcmp(cond, "exited") == 0)
        cond = "not-running";
    int up = (c->state == CTR_RUNNING || c->state == CTR_PAUSED) && !c->start_pending;
    if (cond && strcmp(cond, "healthy") == 0) {
        if (!health_watched(&c->cfg.health)) {
            client_reply_err(cl, 409, "container %s has no health check", c->name);
            return;
        }
        if (up && health_status_of(c) == HEALTH_HEALTHY) {
            client_reply_ok(cl, "{\"StatusCode\":0,\"Health\":\"healthy\"}");
            return;
        }
        if (c->state != CTR_CREATED && !ctr_live(c)) {
            client_reply_not_healthy(cl, c);
            return;
        }
        begin_op(cl, OP_WAIT, c);
        cl->wait_healthy = 1;
        return;
    }
    if (cond && strcmp(cond, "running") == 0) {
        if (up) {
            client_reply_ok(cl, "{\"StatusCode\":0,\"State\":\"running\"}");
            return;
        }
        begin_op(cl, OP_WAIT, c);
        cl->wait_running = 1;
        return;
    }
    int running = ctr_live(c);
    begin_op(cl, OP_WAIT, c);
    cl->wait_removed = cond && strcmp(cond, "removed") == 0;
    if (!cl->wait_removed && !running && !(cond && strcmp(cond, "next-exit") == 0)) {
        client_reply_exit(cl, c, NULL);
        client_op_done(cl);
    }
}

/* ---- ps / inspect ---- */

static void v_ps(struct client *cl, const struct proto_req *req)
{
    const char *filters[CTR_LABELS_MAX];
    size_t nf = proto_opt_all(req, "filter", filters, ARRAY_LEN(filters));
    struct err e = {0};
    if (nf > ARRAY_LEN(filters)) {
        client_reply_err(cl, 400, "too many filters");
        return;
    }
    cJSON *arr = view_ps(cl->sv, flag(req, "all"), filters, nf, &e);
    if (!arr) {
        client_reply_err(cl, e.code == ENOMEM ? 500 : 400, "%s", e.msg);
        return;
    }
    client_reply_json(cl, arr);
}

static void v_inspect(struct client *cl, const struct proto_req *req)
{
    struct ctr *c = find_or_reply(cl, req->pos[0].s);
    if (c)
        client_reply_json(cl, view_inspect(c));
}

/* ---- stats ---- */

/* Bytes received and sent on the non-loopback interfaces of PID's network namespace. */
static void net_io(pid_t pid, unsigned long long *rx, unsigned long long *tx)
{
    char path[64], line[512];
    *rx = *tx = 0;
    (void)snprintf(path, sizeof path, "/proc/%d/net/dev", (int)pid);
    auto_fclose FILE *f = fopen(path, "re");
    while (f && fgets(line, sizeof line, f)) {
        char name[64];
        unsigned long long r, t, skip;
        if (sscanf(line, " %63[^:]: %llu %llu %llu %llu %llu %llu %llu %llu %llu", name, &r, &skip,
                   &skip, &skip, &skip, &skip, &skip, &skip, &t) == 10 &&
            strcmp(name, "lo") != 0) {
            *rx += r;
            *tx += t;
        }
    }
}

/* Total jiffies of the host's CPUs, in ns, and their count (for Docker's CPU %). */
static void system_cpu(unsigned long long *ns, int *ncpu)
{
    char line[512];
    *ns = 0;
    *ncpu = 0;
    auto_fclose FILE *f = fopen("/proc/stat", "re");
    while (f && fgets(line, sizeof line, f)) {
        if (strncmp(line, "cpu ", 4) == 0) {
            unsigned long long v[8] = {0};
            (void)sscanf(line + 4, "%llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2],
                         &v[3], &v[4], &v[5], &v[6], &v[7]);
            for (int i = 0; i < 8; i++)
                *ns += v[i];
            *ns *= 1000000000ULL / (unsigned long long)sysconf(_SC_CLK_TCK);
        } else if (strncmp(line, "cpu", 3) == 0)
            (*ncpu)++;
    }
}

static cJSON *stats_json(const struct ctr *c, unsigned long long sys_ns, int ncpu)
{
    struct cgroup_stats st = {0};
    struct err e = {0};
    unsigned long long rx = 0, tx = 0;
    cJSON *j = cJSON_CreateObject();
    if (!j)
        return NULL;
    if (c->has_cg && cgroup_stats(&c->cg, &st, &e) < 0)
        memset(&st, 0, sizeof st);
    if (c->pid > 0 && c->cfg.network != CTR_NET_HOST)
        net_io(c->pid, &rx, &tx);
    char ts[64];
    util_rfc3339(util_now_ns(), ts, sizeof ts);
    cJSON_AddStringToObject(j, "Id", c->id);
    cJSON_AddStringToObject(j, "Name", c->name);
    cJSON_AddStringToObject(j, "Read", ts);
    cJSON_AddBoolToObject(j, "Running",
                          c->state == CTR_RUNNING || c->state == CTR_PAUSED ||
                              c->state == CTR_STOPPING);
    cJSON_AddNumberToObject(j, "CpuNs", (double)st.cpu_ns);
    cJSON_AddNumberToObject(j, "SystemNs", (double)sys_ns);
    cJSON_AddNumberToObject(j, "OnlineCpus", ncpu);
    cJSON_AddNumberToObject(j, "MemUsage", (double)st.mem_usage);
    cJSON_AddNumberToObject(j, "MemLimit", (double)st.mem_limit);
    cJSON_AddNumberToObject(j, "Pids", (double)st.pids);
    cJSON_AddNumberToObject(j, "PidsLimit", (double)st.pids_limit);
    cJSON_AddNumberToObject(j, "BlkRead", (double)st.blk_read);
    cJSON_AddNumberToObject(j, "BlkWrite", (double)st.blk_write);
    cJSON_AddNumberToObject(j, "NetRx", (double)rx);
    cJSON_AddNumberToObject(j, "NetTx", (double)tx);
    return j;
}

/* stats [NAME...]: one sample of raw counters per container (the client computes rates from
 * two samples, as Docker's does). Without names: the running containers. */
static void v_stats(struct client *cl, const struct proto_req *req)
{
    unsigned long long sys_ns;
    int ncpu;
    system_cpu(&sys_ns, &ncpu);
    cJSON *arr = cJSON_CreateArray();
    if (!arr) {
        client_reply_err(cl, 500, "out of memory");
        return;
    }
    if (req->npos == 0) {
        for (struct ctr *c = cl->sv->ctrs; c; c = c->next)
            if (c->state == CTR_RUNNING || c->state == CTR_PAUSED || c->state == CTR_STOPPING)
                cJSON_AddItemToArray(arr, stats_json(c, sys_ns, ncpu));
    }
    for (size_t i = 0; i < req->npos; i++) {
        struct err e = {0};
        struct ctr *c = sv_find(cl->sv, req->pos[i].s, &e);
        if (!c) {
            cJSON_Delete(arr);
            client_reply_err(cl, e.code ? e.code : 404, "%s", e.msg);
            return;
        }
        cJSON_AddItemToArray(arr, stats_json(c, sys_ns, ncpu));
    }
    client_reply_json(cl, arr);
}

/* ---- logs / events ---- */

static int parse_times(struct client *cl, const struct proto_req *req, int64_t *since,
                       int64_t *until)
{
    struct err e = {0};
    const char *v;
    int64_t now = util_now_ns();
    *since = *until = 0;
    if ((v = proto_opt(req, "since")) && *v && util_parse_time(v, now, since, &e) < 0) {
        client_reply_err(cl, 400, "invalid since: %s", e.msg);
        return -1;
    }
    if ((v = proto_opt(req, "until")) && *v && util_parse_time(v, now, until, &e) < 0) {
        client_reply_err(cl, 400, "invalid until: %s", e.msg);
        return -1;
    }
    return 0;
}

static void on_until(struct ev_loop *loop, ev_timer *w, int revents)
{
    struct client *cl = w->data;
    (void)loop;
    (void)revents;
    if (!cl->dead && (cl->op == OP_EVENTS || cl->op == OP_LOGS))
        client_end_stream(cl);
}

static void arm_until(struct client *cl, int64_t until_ns)
{
    double delay = (double)(until_ns - util_now_ns()) / 1e9;
    ev_timer_init(&cl->until_w, on_until, delay > 0 ? delay : 0., 0.);
    cl->until_w.data = cl;
    ev_timer_start(cl->sv->loop, &cl->until_w);
}

static void v_logs(struct client *cl, const struct proto_req *req)
{
    int64_t since, until;
    long long tail = -1;
    struct err e = {0};
    struct ctr *c = find_or_reply(cl, req->pos[0].s);
    if (!c || parse_times(cl, req, &since, &until) < 0)
        return;
    const char *v = proto_opt(req, "tail");
    if (v && strcmp(v, "all") != 0 && util_parse_int(v, 0, 1LL << 40, &tail, &e) < 0) {
        client_reply_err(cl, 400, "invalid tail: %s", e.msg);
        return;
    }
    if (!flag_valid(proto_opt(req, "follow"))) {
        client_reply_err(cl, 400, "invalid value for follow: use 1 or 0");
        return;
    }
    cl->logs = calloc(1, sizeof *cl->logs);
    if (!cl->logs) {
        client_reply_err(cl, 500, "out of memory");
        return;
    }
    if (logfile_reader_open(cl->logs, &c->log, tail, since, until, &e) < 0) {
        free(cl->logs);
        cl->logs = NULL;
        client_reply_err(cl, 500, "%s", e.msg);
        return;
    }
    client_reply_ok(cl, NULL);
    begin_op(cl, OP_LOGS, c);
    cl->logs_streams = 3;
    cl->logs_follow = flag(req, "follow") &&
                      (c->state == CTR_RUNNING || c->state == CTR_PAUSED ||
                       c->state == CTR_STOPPING || c->state == CTR_RESTARTING || c->start_pending);
    if (cl->logs_follow && until)
        arm_until(cl, until);
    client_logs_pump(cl);
}

static void v_events(struct client *cl, const struct proto_req *req)
{
    int64_t since, until;
    const char *filters[64];
    if (parse_times(cl, req, &since, &until) < 0)
        return;
    size_t nf = proto_opt_all(req, "filter", filters, ARRAY_LEN(filters));
    if (nf > ARRAY_LEN(filters)) {
        client_reply_err(cl, 400, "too many filters");
        return;
    }
    for (size_t i = 0; i < nf; i++)
        if (!events_filter_valid(filters[i])) {
            client_reply_err(cl, 400, "invalid filter '%s'", filters[i]);
            return;
        }
    cl->filters = calloc(nf + 1, sizeof *cl->filters);
    if (!cl->filters) {
        client_reply_err(cl, 500, "out of memory");
        return;
    }
    for (size_t i = 0; i < nf; i++)
        if (!(cl->filters[cl->nfilters++] = strdup(filters[i]))) {
            client_reply_err(cl, 500, "out of memory");
            client_op_done(cl);
            return;
        }
    client_reply_ok(cl, NULL);
    begin_op(cl, OP_EVENTS, NULL);
    if (since || until) {
        size_t pos = 0;
        const struct event *ev;
        while ((ev = events_iter(&pos)))
            if (ev->time_ns >= since && (!until || ev->time_ns <= until) &&
                events_match(ev, cl->filters, cl->nfilters)) {
                client_send(cl, ev->json, strlen(ev->json));
                client_send(cl, "\n", 1);
            }
    }
    if (until)
        arm_until(cl, until);
}

/* ---- export, diff ---- */

/* export NAME, diff NAME: a helper walks the container's upper dir over its image and writes
 * to the fd the client passed (its stdout, or a file): the bytes never go through berthd. */
struct tree_job {
    struct client *cl;
    int diff; /* diff, else export */
    int fd;
    char lower[PATH_MAX_BERTH], upper[PATH_MAX_BERTH];
    char what[96]; /* "export abc123" */
};

struct diff_out {
    int fd;
    size_t len;
    char buf[64 * 1024];
};

static int diff_flush(struct diff_out *o, struct err *e)
{
    int rc = util_write_all(o->fd, o->buf, o->len, e);
    o->len = 0;
    return rc;
}

/* One line of `docker diff`: "C /etc", "A /etc/x", "D /etc/y". */
static int diff_emit(void *ctx, enum storage_change kind, const char *path, struct err *e)
{
    static const char letter[] = {[STORAGE_CHANGE_MODIFIED] = 'C',
                                  [STORAGE_CHANGE_ADDED] = 'A',
                                  [STORAGE_CHANGE_DELETED] = 'D'};
    struct diff_out *o = ctx;
    size_t n = strlen(path);
    if (o->len + n + 3 > sizeof o->buf && diff_flush(o, e) < 0)
        return -1;
    if (n + 3 > sizeof o->buf)
        return err_set(e, ENAMETOOLONG, "diff: path too long");
    o->buf[o->len++] = letter[kind];
    o->buf[o->len++] = ' ';
    memcpy(o->buf + o->len, path, n);
    o->len += n;
    o->buf[o->len++] = '\n';
    return 0;
}

static int tree_fn(void *arg, struct err *e)
{
    struct tree_job *j = arg;
    if (!j->diff)
        return storage_export(j->lower, j->upper, j->fd, e);
    struct diff_out *o = malloc(sizeof *o);
    if (!o)
        return err_set(e, ENOMEM, "diff");
    o->fd = j->fd;
    o->len = 0;
    static const char *const mounts[] = {"/etc/hosts", "/etc/hostname", "/etc/resolv.conf", NULL};
    int rc = storage_diff(j->lower, j->upper, mounts, diff_emit, o, e);
    if (rc == 0)
        rc = diff_flush(o, e);
    free(o);
    return rc;
}

static void tree_done(struct sv *sv, void *data, int ok, const struct err *e)
{
    struct tree_job *j = data;
    for (struct client *cl = sv->clients; cl; cl = cl->next) {
        if (cl != j->cl || cl->dead || cl->op != OP_HELPER)
            continue;
        if (ok)
            client_reply_ok(cl, NULL);
        else
            client_reply_err(cl, e->code == EPIPE ? 400 : 500, "%s: %s", j->what, e->msg);
        client_op_done(cl);
    }
    free(j);
}

static void v_tree(struct client *cl, const struct proto_req *req, int diff)
{
    struct sv *sv = cl->sv;
    struct err e = {0};
    struct ctr *c = find_or_reply(cl, req->pos[0].s);
    if (!c)
        return;
    if (c->state == CTR_REMOVING) {
        client_reply_err(cl, 409, "container %s is being removed", req->pos[0].s);
        return;
    }
    int fd = client_take_fd(cl);
    if (fd < 0) {
        client_reply_err(cl, 400, "%s needs an fd passed with the request (its output goes there)",
                         diff ? "diff" : "export");
        return;
    }
    struct tree_job *j = calloc(1, sizeof *j);
    if (!j) {
        (void)close(fd);
        client_reply_err(cl, 500, "out of memory");
        return;
    }
    j->cl = cl;
    j->diff = diff;
    j->fd = fd;
    if (util_fmt(j->lower, sizeof j->lower, &e, "%s/%s/rootfs", sv->images_dir, c->cfg.image) < 0 ||
        util_fmt(j->upper, sizeof j->upper, &e, "%s/%s/upper", sv->containers_dir, c->id) < 0 ||
        util_fmt(j->what, sizeof j->what, &e, "%s %.12s", diff ? "diff" : "export", c->id) < 0 ||
        sv_helper(sv, tree_fn, j, tree_done, j, &e) < 0) {
        (void)close(fd);
        free(j);
        client_reply_err(cl, 500, "%s", e.msg);
        return;
    }
    (void)close(fd); /* the helper has its copy */
    begin_op(cl, OP_HELPER, NULL);
}

static void v_export(struct client *cl, const struct proto_req *req)
{
    v_tree(cl, req, 0);
}

static void v_diff(struct client *cl, const struct proto_req *req)
{
    v_tree(cl, req, 1);
}

/* ---- images ---- */

struct import_job {
    struct sv *sv;
    struct client *cl;
    int load;        /* image load (an archive), else image import (a directory or a rootfs tar) */
    int progress_fd; /* the client's terminal for a progress line, or -1 */
    int drawn;       /* a progress line is on it */
    int64_t last_ms;
    char images_dir[PATH_MAX_BERTH];
    char name[256]; /* "" for a load named by the archive */
    char src[PATH_MAX_BERTH];
};

#define PROGRESS_MIN_BYTES (16 * 1024 * 1024) /* smaller phases draw no progress line */
#define PROGRESS_EVERY_MS  100

/* In the helper: "\rlayer 2/3: 12.0 / 80.0 MB (15%)" on the client's terminal, redrawn. */
static void import_progress(void *ctx, const char *what, uint64_t done, uint64_t total)
{
    struct import_job *j = ctx;
    char line[160];
    int64_t now = util_mono_ms();
    if (total < PROGRESS_MIN_BYTES || (done < total && now - j->last_ms < PROGRESS_EVERY_MS))
        return;
    j->last_ms = now;
    int n = snprintf(line, sizeof line, "\r\033[K%s: %.1f / %.1f MB (%d%%)", what, done / 1e6,
                     total / 1e6, (int)(done * 100 / total));
    if (n > 0 && (size_t)n < sizeof line &&
        util_write_all(j->progress_fd, line, (size_t)n, &(struct err){0}) == 0)
        j->drawn = 1;
}

static int import_run(struct import_job *j, struct err *e)
{
    struct stat st;
    char loaded[IMAGE_NAME_MAX];
    const struct storage_progress prog = {import_progress, j};
    const struct storage_progress *p = j->progress_fd >= 0 ? &prog : NULL;
    if (j->load) {
        if (storage_image_load_archive(j->images_dir, j->src, j->name[0] ? j->name : NULL, loaded,
                                       sizeof loaded, p, e) < 0)
            return -1;
        (void)snprintf(e->msg, sizeof e->msg, "%s", loaded);
        e->code = 0;
        return 0;
    }
    if (stat(j->src, &st) < 0)
        return err_set(e, errno, "'%s'", j->src);
    return S_ISDIR(st.st_mode) ? storage_image_import_dir(j->images_dir, j->name, j->src, e)
                               : storage_image_import_tar(j->images_dir, j->name, j->src, p, e);
}

/* In the helper: a load leaves the name of the image it made as its result. */
static int import_fn(void *arg, struct err *e)
{
    struct import_job *j = arg;
    int rc = import_run(j, e);
    if (j->drawn)
        (void)util_write_all(j->progress_fd, "\n", 1, &(struct err){0});
    return rc;
}

static void import_done(struct sv *sv, void *data, int ok, const struct err *e)
{
    struct import_job *j = data;
    for (struct client *cl = sv->clients; cl; cl = cl->next) {
        if (cl != j->cl || cl->dead || cl->op != OP_HELPER)
            continue;
        if (ok && j->load) {
            cJSON *r = cJSON_CreateObject();
            if (r)
                cJSON_AddStringToObject(r, "Name", e->msg);
            client_reply_json(cl, r);
        } else if (ok) {
            client_reply_ok(cl, NULL);
        } else {
            client_reply_err(cl, e->code == EINVAL || e->code == ENOENT ? 400 : 500, "%s %s: %s",
                             j->load ? "load" : "import image", j->load ? j->src : j->name, e->msg);
        }
        client_op_done(cl);
    }
    if (!ok)
        log_err(e, "%s '%s'", j->load ? "load" : "import image", j->load ? j->src : j->name);
    free(j);
}

/* A container whose rootfs is image NAME's (one not yet removed); with LIVE, only one that
 * runs or is about to. */
static int uses_image(const struct ctr *c, const char *name)
{
    return c->state != CTR_DEAD && c->state != CTR_REMOVING && strcmp(c->cfg.image, name) == 0;
}

static struct ctr *image_user(struct sv *sv, const char *name, int live)
{
    for (struct ctr *c = sv->ctrs; c; c = c->next)
        if (uses_image(c, name) && (!live || ctr_live(c)))
            return c;
    return NULL;
}

/* Rename image NAME out of the way (the name is free at once) and delete its tree off the
 * loop. -1 with E (ENOENT when there is no such image). */
static int image_delete(struct sv *sv, const char *name, struct err *e)
{
    char dir[PATH_MAX_BERTH], aside[PATH_MAX_BERTH];
    if (util_fmt(dir, sizeof dir, e, "%s/%s", sv->images_dir, name) < 0 ||
        util_fmt(aside, sizeof aside, e, "%s/.trash-%s.%llx", sv->images_dir, name,
                 (unsigned long long)util_now_ns()) < 0)
        return -1;
    if (rename(dir, aside) < 0)
        return err_set(e, errno, "remove image %s", name);
    /* the helper forks at once: ASIDE on our stack is valid in its copy */
    if (sv_remove_tree(sv, aside, e) < 0)
        log_err(e, "remove image tree '%s'", aside);
    return 0;
}

/* image rm [force=1] NAME: refused while a container refers to the image; with force, the
 * containers that do and are not running are removed first (as Podman's rmi -f does), and a
 * running one still refuses it. */
static void image_rm(struct client *cl, const char *name, int force)
{
    struct sv *sv = cl->sv;
    struct err e = {0};
    if (!storage_image_name_valid(name)) {
        client_reply_err(cl, 400, "invalid image name '%s'", name);
        return;
    }
    struct ctr *c = image_user(sv, name, force);
    if (c) {
        client_reply_err(cl, 409,
                         force ? "conflict: unable to remove image %s (cannot be forced): "
                                 "container %.12s is running"
                               : "conflict: unable to remove image %s: container %.12s uses it "
                                 "(remove it, or use force)",
                         name, c->id);
        return;
    }
    if (image_delete(sv, name, &e) < 0) {
        if (e.code == ENOENT)
            client_reply_err(cl, 404, "no such image: %s", name);
        else
            client_reply_err(cl, 500, "%s", e.msg);
        return;
    }
    cJSON *j = cJSON_CreateObject();
    cJSON *gone = j ? cJSON_AddArrayToObject(j, "ContainersDeleted") : NULL;
    for (c = force ? sv->ctrs : NULL; c; c = c->next) {
        if (!uses_image(c, name))
            continue;
        if (gone)
            cJSON_AddItemToArray(gone, cJSON_CreateString(c->id));
        (void)ctr_handle(c, CTR_EV_REMOVE, 0, NULL); /* created or exited: now removing */
    }
    client_reply_json(cl, j);
}

/* image prune [all=1]: berth has no dangling images (a name always points at one tree, and a
 * replaced image is deleted when replaced), so only all=1 removes anything: every image no
 * container refers to. */
static void image_prune(struct client *cl, int all)
{
    struct sv *sv = cl->sv;
    cJSON *j = cJSON_CreateObject();
    cJSON *gone = j ? cJSON_AddArrayToObject(j, "ImagesDeleted") : NULL;
    double reclaimed = 0;
    auto_closedir DIR *d = all ? opendir(sv->images_dir) : NULL;
    struct dirent *de;
    while (d && (de = readdir(d))) {
        struct err e = {0};
        char name[IMAGE_NAME_MAX];
        if (de->d_name[0] == '.' || !storage_image_name_valid(de->d_name) ||
            image_user(sv, de->d_name, 0))
            continue;
        (void)snprintf(name, sizeof name, "%s", de->d_name);
        uint64_t size = view_image_size(sv, name);
        if (image_delete(sv, name, &e) < 0) {
            log_err(&e, "image prune");
            continue;
        }
        reclaimed += (double)size;
        if (gone)
            cJSON_AddItemToArray(gone, cJSON_CreateString(name));
    }
    if (j)
        cJSON_AddNumberToObject(j, "SpaceReclaimed", reclaimed);
    client_reply_json(cl, j);
}

static void v_image(struct client *cl, const struct proto_req *req)
{
    struct sv *sv = cl->sv;
    struct err e = {0};
    const char *sub = req->pos[0].s;

    if (strcmp(sub, "ls") == 0) {
        cJSON *arr = view_images(sv, &e);
        if (!arr)
            client_reply_err(cl, 500, "%s", e.msg);
        else
            client_reply_json(cl, arr);
        return;
    }
    int load = strcmp(sub, "load") == 0;
    if (strcmp(sub, "import") == 0 || load) {
        const char *name = load ? proto_opt(req, "name") : req->npos == 3 ? req->pos[1].s : NULL;
        const char *src = req->pos[req->npos - 1].s;
        if (req->npos != (load ? 2 : 3)) {
            client_reply_err(cl, 400,
                             load ? "usage: image load [name=NAME] ARCHIVE"
                                  : "usage: image import NAME DIR|TAR");
            return;
        }
        if (src[0] != '/') {
            client_reply_err(cl, 400, "image %s: the source must be an absolute path", sub);
            return;
        }
        if (name && !storage_image_name_valid(name)) {
            client_reply_err(cl, 400, "invalid image name '%s'", name);
            return;
        }
        struct import_job *j = calloc(1, sizeof *j);
        if (!j) {
            client_reply_err(cl, 500, "out of memory");
            return;
        }
        j->sv = sv;
        j->cl = cl;
        j->load = load;
        j->progress_fd = flag(req, "progress") ? client_take_fd(cl) : -1;
        if (util_fmt(j->images_dir, sizeof j->images_dir, &e, "%s", sv->images_dir) < 0 ||
            util_fmt(j->name, sizeof j->name, &e, "%s", name ? name : "") < 0 ||
            util_fmt(j->src, sizeof j->src, &e, "%s", src) < 0 ||
            sv_helper(sv, import_fn, j, import_done, j, &e) < 0) {
            if (j->progress_fd >= 0)
                (void)close(j->progress_fd);
            free(j);
            client_reply_err(cl, 500, "%s", e.msg);
            return;
        }
        if (j->progress_fd >= 0)
            (void)close(j->progress_fd); /* the helper has its copy */
        begin_op(cl, OP_HELPER, NULL);
        return;
    }
    if (strcmp(sub, "rm") == 0 && req->npos == 2) {
        image_rm(cl, req->pos[1].s, flag(req, "force"));
        return;
    }
    if (strcmp(sub, "prune") == 0 && req->npos == 1) {
        image_prune(cl, flag(req, "all"));
        return;
    }
    if (strcmp(sub, "inspect") == 0 && req->npos >= 2) {
        cJSON *arr = cJSON_CreateArray();
        for (size_t i = 1; arr && i < req->npos; i++) {
            cJSON *o = view_image_inspect(sv, req->pos[i].s, &e);
            if (!o) {
                cJSON_Delete(arr);
                client_reply_err(cl, e.code == 404 ? 404 : 500, "%s", e.msg);
                return;
            }
            cJSON_AddItemToArray(arr, o);
        }
        client_reply_json(cl, arr);
        return;
    }
    client_reply_err(cl, 400,
                     "usage: image ls | import NAME DIR|TAR | load ARCHIVE | inspect NAME... | "
                     "rm [force=1] NAME | prune [all=1] ('%s')",
                     sub);
}

/* network create [subnet=CIDR] [gateway=IP] NAME | ls | rm NAME | inspect NAME... */
static void v_network(struct client *cl, const struct proto_req *req)
{
    struct sv *sv = cl->sv;
    struct err e = {0};
    const char *sub = req->pos[0].s;
    int is_create = strcmp(sub, "create") == 0;

    if (!is_create && (proto_opt(req, "subnet") || proto_opt(req, "gateway"))) {
        client_reply_err(cl, 400, "subnet and gateway are options of network create");
        return;
    }
    if (is_create) {
        if (req->npos != 2) {
            client_reply_err(cl, 400, "usage: network create [subnet=CIDR] [gateway=IP] NAME");
            return;
        }
        struct network *n = network_create(sv, req->pos[1].s, proto_opt(req, "subnet"),
                                           proto_opt(req, "gateway"), &e);
        if (!n) {
            client_reply_err(cl, e.code == EEXIST ? 409 : 400, "%s", e.msg);
            return;
        }
        cJSON *j = cJSON_CreateObject();
        if (j)
            cJSON_AddStringToObject(j, "Id", n->id);
        client_reply_json(cl, j);
        return;
    }
    if (strcmp(sub, "ls") == 0 && req->npos == 1) {
        client_reply_json(cl, network_ls(sv));
        return;
    }
    if ((strcmp(sub, "rm") == 0 || strcmp(sub, "inspect") == 0) && req->npos >= 2) {
        int rm = strcmp(sub, "rm") == 0;
        cJSON *arr = rm ? NULL : cJSON_CreateArray();
        for (size_t i = 1; i < req->npos; i++) {
            struct network *n = network_find(sv, req->pos[i].s, &e);
            if (!n) {
                cJSON_Delete(arr);
                client_reply_err(cl, e.code ? e.code : 404, "%s", e.msg);
                return;
            }
            if (rm) {
                if (req->npos != 2) {
                    client_reply_err(cl, 400, "usage: network rm NAME (one per request)");
                    return;
                }
                if (network_remove(sv, n, &e) < 0) {
                    client_reply_err(cl, e.code == EBUSY || e.code == EPERM ? 409 : 500, "%s",
                                     e.msg);
                    return;
                }
                client_reply_ok(cl, NULL);
                return;
            }
            if (arr)
                cJSON_AddItemToArray(arr, network_inspect(sv, n));
        }
        client_reply_json(cl, arr);
        return;
    }
    client_reply_err(cl, 400, "usage: network create|ls|rm|inspect ... ('%s')", sub);
}

/* volume create [label=K=V]... [NAME] | ls | inspect NAME... | rm [force=1] NAME... |
 * prune [all=1] (DESIGN §10). */
static void v_volume(struct client *cl, const struct proto_req *req)
{
    struct sv *sv = cl->sv;
    struct err e = {0};
    const char *sub = req->pos[0].s;

    if (strcmp(sub, "create") == 0 && req->npos <= 2) {
        const char *labels[CTR_LABELS_MAX + 1];
        char *copy[CTR_LABELS_MAX + 1] = {0};
        size_t n = proto_opt_all(req, "label", labels, ARRAY_LEN(labels));
        if (n > CTR_LABELS_MAX) {
            client_reply_err(cl, 400, "too many labels (at most %d)", CTR_LABELS_MAX);
            return;
        }
        for (size_t i = 0; i < n; i++)
            copy[i] = (char *)labels[i];
        struct volume *v =
            volume_create(sv, req->npos == 2 ? req->pos[1].s : NULL, copy, req->npos < 2, &e);
        if (!v) {
            client_reply_err(cl, e.code == EINVAL ? 400 : 500, "%s", e.msg);
            return;
        }
        client_reply_json(cl, volume_inspect(sv, v));
        return;
    }
    if (strcmp(sub, "ls") == 0 && req->npos == 1) {
        cJSON *arr = cJSON_CreateArray();
        for (const struct volume *v = sv->volumes; arr && v; v = v->next)
            cJSON_AddItemToArray(arr, volume_inspect(sv, v));
        client_reply_json(cl, arr);
        return;
    }
    if (strcmp(sub, "inspect") == 0 && req->npos >= 2) {
        cJSON *arr = cJSON_CreateArray();
        for (size_t i = 1; i < req->npos; i++) {
            struct volume *v = volume_find(sv, req->pos[i].s);
            if (!v) {
                cJSON_Delete(arr);
                client_reply_err(cl, 404, "get %s: no such volume", req->pos[i].s);
                return;
            }
            cJSON_AddItemToArray(arr, volume_inspect(sv, v));
        }
        client_reply_json(cl, arr);
        return;
    }
    if (strcmp(sub, "rm") == 0 && req->npos == 2) {
        /* force=1 only skips "no such volume", as in Docker: one in use is never removed */
        struct volume *v = volume_find(sv, req->pos[1].s);
        if (!v) {
            if (flag(req, "force"))
                client_reply_ok(cl, NULL);
            else
                client_reply_err(cl, 404, "get %s: no such volume", req->pos[1].s);
            return;
        }
        if (volume_remove(sv, v, &e) < 0) {
            client_reply_err(cl, e.code == EBUSY ? 409 : 500, "%s", e.msg);
            return;
        }
        client_reply_ok(cl, NULL);
        return;
    }
    if (strcmp(sub, "prune") == 0 && req->npos == 1) {
        /* unused anonymous volumes; all=1: every unused volume */
        int all = flag(req, "all");
        cJSON *j = cJSON_CreateObject();
        cJSON *gone = j ? cJSON_AddArrayToObject(j, "VolumesDeleted") : NULL;
        for (struct volume *v = sv->volumes, *next; v; v = next) {
            next = v->next;
            if ((!all && !v->anonymous) || volume_user(sv, v))
                continue;
            char name[sizeof v->name];
            (void)snprintf(name, sizeof name, "%s", v->name);
            if (volume_remove(sv, v, &e) == 0 && gone)
                cJSON_AddItemToArray(gone, cJSON_CreateString(name));
        }
        client_reply_json(cl, j);
        return;
    }
    client_reply_err(cl, 400, "usage: volume create [NAME]|ls|inspect NAME...|rm NAME|prune ('%s')",
                     sub);
}

/* The options of create (run takes attach and stdin too). */
#define CREATE_KEYS                                                                                \
    " image name restart rm env label hostname user workdir read_only network pid ip publish dns " \
    "device group_add requires "                                                                   \
    "expose publish_all volume tmpfs mount "                                                       \
    "stop_signal stop_timeout open_stdin tty log_max_size log_max_file backoff " ISOLATION_KEYS    \
        HEALTH_KEYS

static const struct verb verbs[] = {
    {"ping", v_ping, " ", 0, 0, 0},
    {"version", v_version, " ", 0, 0, 0},
    {"info", v_info, " ", 0, 0, 0},
    {"shutdown", v_shutdown, " action ", 0, 0, 0},
    {"manifest", v_manifest, " ", 2, 2, 0},
    {"create", v_create, CREATE_KEYS, 0, 0, 1},
    {"run", v_run, CREATE_KEYS "attach stdin tty_size ", 0, 0, 1},
    {"start", v_start, " attach stdin tty_size ", 1, 1, 0},
    {"stop", v_stop, " timeout ", 1, 1, 0},
    {"restart", v_restart, " timeout ", 1, 1, 0},
    {"kill", v_kill, " signal proxy ", 1, 1, 0},
    {"pause", v_pause, " ", 1, 1, 0},
    {"unpause", v_unpause, " ", 1, 1, 0},
    {"rm", v_rm, " force volumes ", 1, 1, 0},
    {"wait", v_wait, " condition ", 1, 1, 0},
    {"ps", v_ps, " all filter ", 0, 0, 0},
    {"inspect", v_inspect, " ", 1, 1, 0},
    {"logs", v_logs, " follow tail since until timestamps ", 1, 1, 0},
    {"events", v_events, " since until filter ", 0, 0, 0},
    {"image", v_image, " name force all progress ", 1, 65, 0},
    {"exec", v_exec, " detach tty stdin env workdir user privileged tty_size ", 1, 1, 1},
    {"attach", v_attach, " ", 1, 1, 0},
    {"export", v_export, " ", 1, 1, 0},
    {"diff", v_diff, " ", 1, 1, 0},
    {"stats", v_stats, " ", 0, 64, 0},
    {"network", v_network, " subnet gateway ", 1, 65, 0},
    {"volume", v_volume, " label force all ", 1, 65, 0},
};

void verbs_dispatch(struct client *cl, const struct proto_req *req)
{
    const struct verb *v = NULL;
    for (size_t i = 0; i < ARRAY_LEN(verbs); i++)
        if (strcmp(verbs[i].name, req->verb) == 0)
            v = &verbs[i];
    if (!v) {
        client_reply_err(cl, 400, "unknown verb '%s'", req->verb);
        return;
    }
    for (size_t i = 0; i < req->nopts; i++) {
        char key[40];
        int n = snprintf(key, sizeof key, " %s ", req->opts[i].key);
        if (n < 0 || (size_t)n >= sizeof key || !strstr(v->keys, key)) {
            client_reply_err(cl, 400, "unknown option '%s' for %s", req->opts[i].key, v->name);
            return;
        }
        if (memchr(req->opts[i].val, 0, req->opts[i].val_len)) {
            client_reply_err(cl, 400, "option '%s' holds a NUL byte", req->opts[i].key);
            return;
        }
        (void)snprintf(key, sizeof key, " %s ", req->opts[i].key);
        if (strstr(BOOL_KEYS, key) && !flag_valid(req->opts[i].val)) {
            client_reply_err(cl, 400, "invalid value for %s: use 1 or 0", req->opts[i].key);
            return;
        }
    }
    if ((int)req->npos < v->npos_min || (int)req->npos > v->npos_max) {
        client_reply_err(cl, 400, "%s takes %d to %d arguments, got %zu", v->name, v->npos_min,
                         v->npos_max, req->npos);
        return;
    }
    for (size_t i = 0; i < req->npos; i++)
        if (memchr(req->pos[i].s, 0, req->pos[i].len) || req->pos[i].len >= PATH_MAX_BERTH) {
            client_reply_err(cl, 400, "invalid argument %zu", i + 1);
            return;
        }
    if (req->has_cmd && !v->cmd_ok) {
        client_reply_err(cl, 400, "%s takes no command", v->name);
        return;
    }
    v->fn(cl, req);
}
