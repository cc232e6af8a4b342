/* SPDX-License-Identifier: MIT */
/* core/apply.c - applying a boot manifest through loopback conversations: see core/apply.h.
 *
 * A lane is one conversation: a loopback connection, one request in flight at a time, a reply
 * line read by an ev_io. Lanes of a phase run in parallel; the next phase begins when every
 * lane of this one is done. Container lanes go through: [create] -> requirements, one `wait` at
 * a time (each only once the required container's own lane is far enough) -> [start] -> done. */
#include "core/apply.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <ev.h>

#include "core/boot.h"
#include "core/ctr.h"
#include "core/err.h"
#include "core/limits.h"
#include "core/log.h"
#include "core/manifest.h"
#include "core/server.h"
#include "core/sv.h"
#include "core/util.h"
#include "ctl/proto.h"

#define LANE_REPLY_MAX 4096 /* our requests' replies are short; a longer line is an error */
#define MANIFEST_LABEL "berth.manifest="

enum phase { PH_IMAGES, PH_STORE, PH_REMOVE, PH_CTRS, PH_DONE };
enum lane_kind { K_IMAGE, K_VOLUME, K_NET, K_REMOVE, K_CTR };
enum lane_step { S_BEGIN, S_STOP, S_RM, S_CREATE, S_DEPS, S_WAIT, S_START, S_DONE };

struct lane {
    struct apply *ap;
    enum lane_kind kind;
    size_t idx; /* into the manifest's array of its kind (K_REMOVE: unused) */
    char name[CTR_NAME_MAX + 64];
    int fd;
    ev_io w;
    char in[LANE_REPLY_MAX];
    size_t len;
    enum lane_step step;
    int busy;    /* a request is in flight */
    int create;  /* K_CTR: the container is new or changed */
    int created; /* K_CTR: the container exists (made now or unchanged) */
    int started; /* K_CTR: started by this lane */
    size_t dep;  /* K_CTR: the requirement being checked */
    int failed;
    char error[512];
};

struct apply {
    struct sv *sv;
    struct manifest m;
    int phase;
    struct lane *lanes;
    size_t nlanes;
    struct client *cl;
    int end_now; /* exit_with's container cannot start: shut down */
    cJSON *created, *started, *removed, *unchanged, *failed;
};

struct apply_state {
    struct apply *cur;    /* under way */
    struct manifest *app; /* the last one applied (shutdown order, exit_with) */
    int applied_once;
};

static struct apply_state st; /* one supervisor per process */

static void lane_close(struct lane *l)
{
    if (l->fd >= 0) {
        ev_io_stop(l->ap->sv->loop, &l->w);
        (void)close(l->fd);
        l->fd = -1;
    }
}

static void phase_next(struct apply *ap);
static void advance(struct apply *ap);

static void lane_fail(struct lane *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void lane_fail(struct lane *l, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    (void)vsnprintf(l->error, sizeof l->error, fmt, ap);
    va_end(ap);
    l->failed = 1;
    l->step = S_DONE;
    l->busy = 0;
    lane_close(l);
    log_msg(LOG_ERROR, "manifest: %s: %s", l->name, l->error);
    struct sv *sv = l->ap->sv;
    const char *ew = l->ap->m.exit_with;
    if (l->kind == K_CTR && ew && strcmp(ew, l->name) == 0 && !sv->shutting_down) {
        /* the appliance's verdict will never come: end now, saying why */
        char line[700];
        int n = snprintf(line, sizeof line, "berth: %s did not start: %s\n", l->name, l->error);
        (void)!write(STDERR_FILENO, line,
                     (size_t)(n < (int)sizeof line ? n : (int)sizeof line - 1));
        l->ap->end_now = 1; /* advance() shuts down once it no longer needs the lanes */
    }
    cJSON *o = cJSON_CreateObject();
    if (o) {
        cJSON_AddStringToObject(o, "Name", l->name);
        cJSON_AddStringToObject(o, "Error", l->error);
        cJSON_AddItemToArray(l->ap->failed, o);
    }
}

static void lane_done(struct lane *l)
{
    l->step = S_DONE;
    l->busy = 0;
    lane_close(l);
}

static void on_lane_readable(struct ev_loop *loop, ev_io *w, int revents);

/* Send one request (WORDS, NULL-terminated, or a ready LINE). */
static void lane_send(struct lane *l, const char *line, const char *const *words)
{
    struct proto_buf b = {0};
    struct err e = {0};
    if (l->fd < 0) {
        l->fd = server_loopback(l->ap->sv, &e);
        if (l->fd < 0) {
            lane_fail(l, "%s", err_str(&e));
            return;
        }
        ev_io_init(&l->w, on_lane_readable, l->fd, EV_READ);
        l->w.data = l;
        ev_io_start(l->ap->sv->loop, &l->w);
    }
    if (line) {
        if (proto_buf_append(&b, line, strlen(line)) < 0)
            goto oom;
    } else {
        for (; *words; words++)
            if (**words && proto_buf_word(&b, *words) < 0)
                goto oom;
        if (proto_buf_append(&b, "\n", 1) < 0)
            goto oom;
    }
    /* one request at a time on an empty socket: it fits (CTL_LINE_MAX < the socket buffer) */
    size_t want = b.len;
    ssize_t n = send(l->fd, b.data, want, MSG_NOSIGNAL | MSG_DONTWAIT);
    int saved = errno;
    proto_buf_free(&b);
    if (n < 0 || (size_t)n != want) {
        lane_fail(l, "send request: %s", n < 0 ? strerror(saved) : "short write");
        return;
    }
    l->busy = 1;
    return;
oom:
    proto_buf_free(&b);
    lane_fail(l, "out of memory");
}

static struct ctr *find(struct sv *sv, const char *name)
{
    return sv_find_name(sv, name);
}

/* The container's berth.manifest label value, or NULL. */
static const char *manifest_hash(const struct ctr *c)
{
    for (char **l = c->cfg.labels; l && *l; l++)
        if (strncmp(*l, MANIFEST_LABEL, strlen(MANIFEST_LABEL)) == 0)
            return *l + strlen(MANIFEST_LABEL);
    return NULL;
}

static void add_name(cJSON *arr, const char *name)
{
    cJSON_AddItemToArray(arr, cJSON_CreateString(name));
}

/* ---- container lanes ---- */

static const char *const cond_names[] = {"started", "healthy", "completed"};

/* Step a container lane as far as it can go without a reply. */
static void ctr_step(struct lane *l)
{
    struct apply *ap = l->ap;
    const struct manifest_ctr *mc = &ap->m.ctrs[l->idx];
    while (!l->busy && l->step != S_DONE) {
        switch (l->step) {
        case S_BEGIN: {
            struct ctr *c = l->create ? NULL : find(ap->sv, mc->name);
            /* unchanged: left as it is, but started at berthd's first apply (a boot) or when it
             * was never started */
            if (c && (ctr_live(c) || (st.applied_once && c->state != CTR_CREATED))) {
                add_name(ap->unchanged, mc->name);
                lane_done(l);
                return;
            }
            l->step = l->create ? S_CREATE : S_DEPS;
            break;
        }
        case S_CREATE:
            lane_send(l, mc->line, NULL);
            return;
        case S_DEPS: {
            if (l->dep == mc->ndeps) {
                struct ctr *c = find(ap->sv, mc->name);
                if (!c || ctr_live(c)) {
                    lane_done(l);
                    return;
                }
                l->step = S_START;
                break;
            }
            const struct manifest_dep *d = &mc->deps[l->dep];
            const struct lane *dl = &ap->lanes[d->idx];
            if (dl->failed) {
                lane_fail(l, "requirement '%s' (%s) failed: %s", dl->name, cond_names[d->cond],
                          dl->error);
                return;
            }
            /* completed: the required container must have been started first; started: its
             * lane is done; healthy: it must exist, then `wait` follows it */
            if ((d->cond != MANIFEST_HEALTHY && dl->step != S_DONE) || !dl->created)
                return; /* advance() comes back when that lane moves */
            if (d->cond == MANIFEST_STARTED) {
                l->dep++;
                break;
            }
            const char *words[] = {
                "wait", d->cond == MANIFEST_HEALTHY ? "condition=healthy" : "condition=not-running",
                dl->name, NULL};
            l->step = S_WAIT;
            lane_send(l, NULL, words);
            return;
        }
        case S_START: {
            const char *words[] = {"start", mc->name, NULL};
            lane_send(l, NULL, words);
            return;
        }
        default:
            return;
        }
    }
}

static void ctr_reply(struct lane *l, int code, const char *body)
{
    struct apply *ap = l->ap;
    const struct manifest_ctr *mc = &ap->m.ctrs[l->idx];
    switch (l->step) {
    case S_CREATE:
        if (code != 200) {
            lane_fail(l, "create: %s", body);
            return;
        }
        l->created = 1;
        add_name(ap->created, mc->name);
        l->step = S_DEPS;
        break;
    case S_WAIT: {
        const struct manifest_dep *d = &mc->deps[l->dep];
        if (code != 200) {
            lane_fail(l, "requirement '%s' (%s): %s", ap->lanes[d->idx].name, cond_names[d->cond],
                      body);
            return;
        }
        if (d->cond == MANIFEST_COMPLETED) {
            cJSON *j = cJSON_Parse(body);
            const cJSON *sc = cJSON_GetObjectItemCaseSensitive(j, "StatusCode");
            int status = cJSON_IsNumber(sc) ? sc->valueint : -1;
            cJSON_Delete(j);
            if (status != 0) {
                lane_fail(l, "requirement '%s' (completed): it exited with %d",
                          ap->lanes[d->idx].name, status);
                return;
            }
        }
        l->dep++;
        l->step = S_DEPS;
        break;
    }
    case S_START:
        if (code != 200 && code != 304) {
            lane_fail(l, "start: %s", body);
            return;
        }
        l->started = 1;
        add_name(ap->started, mc->name);
        lane_done(l);
        return;
    default:
        break;
    }
}

/* ---- other lanes ---- */

static void other_step(struct lane *l)
{
    struct apply *ap = l->ap;
    if (l->busy || l->step == S_DONE)
        return;
    switch (l->kind) {
    case K_IMAGE: {
        const struct manifest_image *im = &ap->m.images[l->idx];
        char nameopt[CTR_NAME_MAX + 64];
        (void)snprintf(nameopt, sizeof nameopt, "name=%s", im->name);
        const char *load[] = {"image", nameopt, "load", im->load, NULL};
        const char *import[] = {"image", "import", im->name, im->import, NULL};
        lane_send(l, NULL, im->load ? load : import);
        return;
    }
    case K_VOLUME: {
        const char *words[] = {"volume", "create", ap->m.volumes[l->idx], NULL};
        lane_send(l, NULL, words);
        return;
    }
    case K_NET: {
        const struct manifest_net *n = &ap->m.nets[l->idx];
        char sub[128] = "", gw[128] = "";
        if (n->subnet)
            (void)snprintf(sub, sizeof sub, "subnet=%s", n->subnet);
        if (n->gateway)
            (void)snprintf(gw, sizeof gw, "gateway=%s", n->gateway);
        const char *words[] = {"network", sub, gw, "create", n->name, NULL};
        lane_send(l, NULL, words);
        return;
    }
    case K_REMOVE: {
        const char *stop[] = {"stop", l->name, NULL};
        const char *rm[] = {"rm", l->name, NULL};
        if (l->step == S_BEGIN)
            l->step = S_STOP;
        lane_send(l, NULL, l->step == S_STOP ? stop : rm);
        return;
    }
    case K_CTR:
        return;
    }
}

static void other_reply(struct lane *l, int code, const char *body)
{
    switch (l->kind) {
    case K_NET:
        if (code == 409 && strstr(body, "already exists")) {
            lane_done(l);
            return;
        }
        /* fall through */
    case K_IMAGE:
    case K_VOLUME:
        if (code != 200)
            lane_fail(l, "%s", body);
        else
            lane_done(l);
        return;
    case K_REMOVE:
        if (l->step == S_STOP) {
            if (code != 200 && code != 304 && code != 409) {
                lane_fail(l, "stop: %s", body);
                return;
            }
            l->step = S_RM;
            return;
        }
        if (code != 200 && code != 404) {
            lane_fail(l, "rm: %s", body);
            return;
        }
        add_name(l->ap->removed, l->name);
        lane_done(l);
        return;
    case K_CTR:
        return;
    }
}

/* ---- replies ---- */

static void lane_reply(struct lane *l, const char *line)
{
    const char *body = "";
    int code = proto_parse_reply(line, &body);
    l->busy = 0;
    if (code < 0) {
        lane_fail(l, "unexpected reply: %.100s", line);
        return;
    }
    if (l->kind == K_CTR)
        ctr_reply(l, code, body);
    else
        other_reply(l, code, body);
}

static void on_lane_readable(struct ev_loop *loop, ev_io *w, int revents)
{
    struct lane *l = w->data;
    struct apply *ap = l->ap;
    (void)loop;
    (void)revents;
    ssize_t n = read(l->fd, l->in + l->len, sizeof l->in - l->len);
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return;
    if (n <= 0) {
        lane_fail(l, "connection closed: %s", n < 0 ? strerror(errno) : "end of file");
        advance(ap);
        return;
    }
    l->len += (size_t)n;
    char *eol;
    while (l->fd >= 0 && (eol = memchr(l->in, '\n', l->len))) {
        *eol = '\0';
        size_t used = (size_t)(eol - l->in) + 1;
        char line[LANE_REPLY_MAX];
        memcpy(line, l->in, used);
        memmove(l->in, eol + 1, l->len - used);
        l->len -= used;
        lane_reply(l, line);
    }
    if (l->fd >= 0 && l->len == sizeof l->in)
        lane_fail(l, "reply too long");
    advance(ap);
}

/* ---- phases ---- */

static void finish(struct apply *ap)
{
    log_msg(LOG_INFO, "manifest applied: %d created, %d started, %d removed, %d failed",
            cJSON_GetArraySize(ap->created), cJSON_GetArraySize(ap->started),
            cJSON_GetArraySize(ap->removed), cJSON_GetArraySize(ap->failed));
    for (struct client *cl = ap->sv->clients; ap->cl && cl; cl = cl->next) {
        if (cl != ap->cl || cl->dead || cl->op != OP_HELPER)
            continue;
        cJSON *j = cJSON_CreateObject();
        if (j) {
            cJSON_AddItemToObject(j, "Created", ap->created);
            cJSON_AddItemToObject(j, "Started", ap->started);
            cJSON_AddItemToObject(j, "Removed", ap->removed);
            cJSON_AddItemToObject(j, "Unchanged", ap->unchanged);
            cJSON_AddItemToObject(j, "Failed", ap->failed);
            ap->created = ap->started = ap->removed = ap->unchanged = ap->failed = NULL;
        }
        client_reply_json(cl, j);
        client_op_done(cl);
    }
    cJSON_Delete(ap->created);
    cJSON_Delete(ap->started);
    cJSON_Delete(ap->removed);
    cJSON_Delete(ap->unchanged);
    cJSON_Delete(ap->failed);
    /* the applied manifest rules the shutdown order and exit_with from now on */
    if (st.app) {
        manifest_free(st.app);
        free(st.app);
    }
    st.app = malloc(sizeof *st.app);
    if (st.app)
        *st.app = ap->m;
    else
        manifest_free(&ap->m);
    st.applied_once = 1;
    st.cur = NULL;
    free(ap);
}

static int lanes_alloc(struct apply *ap, size_t n)
{
    free(ap->lanes);
    ap->lanes = calloc(n ? n : 1, sizeof *ap->lanes);
    ap->nlanes = 0;
    return ap->lanes ? 0 : -1;
}

static struct lane *lane_add(struct apply *ap, enum lane_kind kind, size_t idx, const char *name)
{
    struct lane *l = &ap->lanes[ap->nlanes++];
    l->ap = ap;
    l->kind = kind;
    l->idx = idx;
    l->fd = -1;
    (void)snprintf(l->name, sizeof l->name, "%s", name);
    return l;
}

static int image_exists(const struct sv *sv, const char *name)
{
    char p[PATH_MAX_BERTH];
    struct stat sb;
    return snprintf(p, sizeof p, "%s/%s/config.json", sv->images_dir, name) < (int)sizeof p &&
           stat(p, &sb) == 0;
}

static int in_manifest(const struct manifest *m, const char *name, const char *hash)
{
    for (size_t i = 0; i < m->nctrs; i++)
        if (strcmp(m->ctrs[i].name, name) == 0)
            return !hash || strcmp(m->ctrs[i].hash, hash) == 0;
    return 0;
}

/* Set up the lanes of the next phase that has any work. */
static void phase_next(struct apply *ap)
{
    struct sv *sv = ap->sv;
    while (ap->phase < PH_DONE) {
        ap->phase++;
        size_t n = 0;
        switch (ap->phase) {
        case PH_STORE:
            n = ap->m.nvolumes + ap->m.nnets;
            break;
        case PH_REMOVE:
            n = (size_t)sv->nctrs;
            break;
        case PH_CTRS:
            n = ap->m.nctrs;
            break;
        default:
            break;
        }
        if (ap->phase == PH_DONE)
            break;
        if (lanes_alloc(ap, n) < 0) {
            log_msg(LOG_ERROR, "manifest: out of memory");
            ap->phase = PH_DONE;
            break;
        }
        if (ap->phase == PH_STORE) {
            for (size_t i = 0; i < ap->m.nvolumes; i++)
                (void)lane_add(ap, K_VOLUME, i, ap->m.volumes[i]);
            for (size_t i = 0; i < ap->m.nnets; i++)
                (void)lane_add(ap, K_NET, i, ap->m.nets[i].name);
        } else if (ap->phase == PH_REMOVE) {
            for (struct ctr *c = sv->ctrs; c && ap->nlanes < n; c = c->next) {
                const char *h = manifest_hash(c);
                if (h && c->state != CTR_DEAD && c->state != CTR_REMOVING &&
                    !in_manifest(&ap->m, c->name, h))
                    (void)lane_add(ap, K_REMOVE, 0, c->name);
            }
        } else if (ap->phase == PH_CTRS) {
            for (size_t i = 0; i < ap->m.nctrs; i++) {
                struct lane *l = lane_add(ap, K_CTR, i, ap->m.ctrs[i].name);
                struct ctr *c = find(sv, l->name);
                const char *h = c ? manifest_hash(c) : NULL;
                /* a changed one was removed in PH_REMOVE */
                l->create = !(c && h && strcmp(h, ap->m.ctrs[i].hash) == 0);
                l->created = !l->create;
            }
        }
        if (ap->nlanes > 0)
            return;
    }
}

/* Move every lane that can move; go to the next phase when all are done. */
static void advance(struct apply *ap)
{
    for (;;) {
        int pending = 0;
        for (size_t i = 0; i < ap->nlanes; i++) {
            struct lane *l = &ap->lanes[i];
            if (l->kind == K_CTR)
                ctr_step(l);
            else
                other_step(l);
            pending += l->step != S_DONE;
        }
        if (pending || ap->phase == PH_DONE)
            break;
        phase_next(ap);
        if (ap->phase == PH_DONE)
            break;
    }
    struct sv *sv = ap->sv;
    int end_now = ap->end_now;
    ap->end_now = 0;
    if (ap->phase == PH_DONE) {
        free(ap->lanes);
        ap->lanes = NULL;
        ap->nlanes = 0;
        finish(ap);
    }
    /* last: the shutdown cancels (and frees) this application */
    if (end_now && !sv->shutting_down) {
        sv->halt = sv->role == BOOT_MACHINE ? BOOT_POWEROFF : BOOT_EXIT;
        sv_shutdown_begin(sv);
    }
}

static void first_steps(struct apply *ap)
{
    struct sv *sv = ap->sv;
    if (sv->role != BOOT_MACHINE)
        return;
    struct err e = {0};
    if (ap->m.hostname && boot_hostname(ap->m.hostname, &e) < 0)
        log_err(&e, "manifest");
    (void)boot_modules((const char *const *)ap->m.modules, ap->m.nmodules);
}

int apply_start(struct sv *sv, const char *path, struct client *cl, struct err *e)
{
    if (st.cur || sv->shutting_down)
        return err_set(e, 0, "%s",
                       st.cur ? "a manifest is being applied" : "the supervisor is shutting down");
    struct apply *ap = calloc(1, sizeof *ap);
    if (!ap)
        return err_set(e, ENOMEM, "apply manifest");
    if (manifest_load(path, &ap->m, e) < 0) {
        free(ap);
        return -1;
    }
    ap->sv = sv;
    ap->cl = cl;
    ap->created = cJSON_CreateArray();
    ap->started = cJSON_CreateArray();
    ap->removed = cJSON_CreateArray();
    ap->unchanged = cJSON_CreateArray();
    ap->failed = cJSON_CreateArray();
    if (!ap->created || !ap->started || !ap->removed || !ap->unchanged || !ap->failed) {
        cJSON_Delete(ap->created);
        cJSON_Delete(ap->started);
        cJSON_Delete(ap->removed);
        cJSON_Delete(ap->unchanged);
        cJSON_Delete(ap->failed);
        manifest_free(&ap->m);
        free(ap);
        return err_set(e, ENOMEM, "apply manifest");
    }
    log_msg(LOG_INFO, "applying manifest %s: %zu containers", path, ap->m.nctrs);
    st.cur = ap;
    first_steps(ap);
    ap->phase = PH_IMAGES;
    if (lanes_alloc(ap, ap->m.nimages) < 0) {
        ap->phase = PH_DONE;
    } else {
        for (size_t i = 0; i < ap->m.nimages; i++)
            if (!image_exists(sv, ap->m.images[i].name))
                (void)lane_add(ap, K_IMAGE, i, ap->m.images[i].name);
    }
    advance(ap);
    return 0;
}

void apply_cancel(struct sv *sv)
{
    struct apply *ap = st.cur;
    (void)sv;
    if (!ap)
        return;
    for (size_t i = 0; i < ap->nlanes; i++)
        if (ap->lanes[i].step != S_DONE)
            lane_fail(&ap->lanes[i], "cancelled: the supervisor is shutting down");
    ap->phase = PH_DONE;
    advance(ap);
}

void apply_free(struct sv *sv)
{
    apply_cancel(sv);
    if (st.app) {
        manifest_free(st.app);
        free(st.app);
        st.app = NULL;
    }
}

int apply_holds(const struct sv *sv, const struct ctr *c)
{
    const struct manifest *m = st.app;
    if (!m)
        return 0;
    for (size_t i = 0; i < m->nctrs; i++)
        for (size_t k = 0; k < m->ctrs[i].ndeps; k++) {
            if (strcmp(m->ctrs[m->ctrs[i].deps[k].idx].name, c->name) != 0)
                continue;
            struct ctr *d = find((struct sv *)sv, m->ctrs[i].name);
            if (d && d != c && (ctr_live(d) || ctr_busy(d)))
                return 1;
        }
    return 0;
}

void apply_ctr_exited(struct ctr *c)
{
    struct sv *sv = c->sv;
    if (!st.app || !st.app->exit_with || strcmp(st.app->exit_with, c->name) != 0 ||
        sv->shutting_down)
        return;
    char line[128];
    int n = snprintf(line, sizeof line, "berth: %s exited with %d\n", c->name, c->exit_code);
    (void)!write(STDERR_FILENO, line, (size_t)n);
    sv->halt = sv->role == BOOT_MACHINE ? BOOT_POWEROFF : BOOT_EXIT;
    sv_shutdown_begin(sv);
}
