/* SPDX-License-Identifier: MIT */
/* core/deps.c - starts that wait for their requirements: see core/deps.h. */
#include "core/deps.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ev.h>

#include "core/ctr.h"
#include "core/err.h"
#include "core/health.h"
#include "core/limits.h"
#include "core/log.h"
#include "core/sv.h"
#include "core/util.h"

/* One requirement of a waiting start, and what the notes said about it since. */
struct gate_dep {
    char name[CTR_NAME_MAX];
    enum ctr_cond cond;
    unsigned started : 1; /* it started (it may have exited since) */
    unsigned exited : 1;  /* it exited (or had completed before the gate) */
    unsigned failed : 1;  /* its start failed */
    unsigned down : 1;    /* it exited and no restart follows */
    unsigned removed : 1;
};

struct deps_gate {
    struct deps_gate *next;
    struct ctr *c;
    int ev; /* the start event to send C once the requirements are met */
    size_t n;
    struct gate_dep deps[CTR_REQUIRES_MAX];
};

static void on_check(struct ev_loop *loop, ev_timer *w, int revents);

void deps_init(struct sv *sv)
{
    sv->gates = NULL;
    ev_timer_init(&sv->deps_w, on_check, 0., 0.);
    sv->deps_w.data = sv;
}

static struct deps_gate *gate_of(const struct sv *sv, const struct ctr *c)
{
    for (struct deps_gate *g = sv->gates; g; g = g->next)
        if (g->c == c)
            return g;
    return NULL;
}

int deps_gated(const struct sv *sv, const struct ctr *c)
{
    return gate_of(sv, c) != NULL;
}

static void gate_unlink(struct sv *sv, struct deps_gate *g)
{
    for (struct deps_gate **p = &sv->gates; *p; p = &(*p)->next)
        if (*p == g) {
            *p = g->next;
            break;
        }
    free(g);
}

/* Something is under way for D: a start, a run, a restart, or a start of its own waiting. */
static int under_way(const struct sv *sv, const struct ctr *d)
{
    return ctr_live(d) || deps_gated(sv, d);
}

/* 1 met, 0 not yet, -1 failed (MSG says why). */
static int dep_eval(const struct sv *sv, const struct gate_dep *dep, char *msg, size_t size)
{
    const char *cond = ctr_cond_name(dep->cond);
    const struct ctr *d = sv_find_name(sv, dep->name);
    if (!d || dep->removed || d->state == CTR_REMOVING) {
        (void)snprintf(msg, size, "requirement '%s' (%s): it was removed", dep->name, cond);
        return -1;
    }
    int up = (d->state == CTR_RUNNING || d->state == CTR_PAUSED) && !d->start_pending;
    if (dep->failed) {
        (void)snprintf(msg, size, "requirement '%s' (%s): its start failed: %.150s", dep->name,
                       cond, d->error[0] ? d->error : "unknown error");
        return -1;
    }
    switch (dep->cond) {
    case CTR_COND_STARTED:
        if (dep->started || up)
            return 1;
        if (!under_way(sv, d)) {
            (void)snprintf(msg, size, "requirement '%s' (started): it is not running", dep->name);
            return -1;
        }
        return 0;
    case CTR_COND_HEALTHY:
        if (up && health_status_of(d) == HEALTH_HEALTHY)
            return 1;
        if (dep->down || !under_way(sv, d)) {
            (void)snprintf(msg, size,
                           "requirement '%s' (healthy): it exited before becoming healthy",
                           dep->name);
            return -1;
        }
        return 0;
    case CTR_COND_COMPLETED:
        if (dep->exited && !under_way(sv, d) && d->state == CTR_EXITED) {
            if (d->exit_code == 0)
                return 1;
            (void)snprintf(msg, size, "requirement '%s' (completed): it exited with %d", dep->name,
                           d->exit_code);
            return -1;
        }
        if (!under_way(sv, d)) {
            (void)snprintf(msg, size, "requirement '%s' (completed): it is not running", dep->name);
            return -1;
        }
        return 0;
    }
    return 0;
}

/* 1 every requirement met, 0 waiting, -1 one failed (MSG). */
static int gate_eval(const struct sv *sv, const struct deps_gate *g, char *msg, size_t size)
{
    int all = 1;
    for (size_t i = 0; i < g->n; i++) {
        int r = dep_eval(sv, &g->deps[i], msg, size);
        if (r < 0)
            return -1;
        if (r == 0)
            all = 0;
    }
    return all;
}

/* C's waiting start failed: as a failed start does, with WHY as its error. */
static void start_fails(struct ctr *c, const char *why)
{
    log_msg(LOG_WARN, "'%s' not started: %s", c->name, why);
    (void)snprintf(c->error, sizeof c->error, "%s", why);
    (void)ctr_handle(c, CTR_EV_START_FAILED, 125, NULL);
}

static void schedule(struct sv *sv)
{
    if (sv->gates && !ev_is_active(&sv->deps_w)) {
        ev_timer_set(&sv->deps_w, 0., 0.);
        ev_timer_start(sv->loop, &sv->deps_w);
    }
}

static void on_check(struct ev_loop *loop, ev_timer *w, int revents)
{
    struct sv *sv = w->data;
    char msg[ERR_MSG_MAX];
    (void)loop;
    (void)revents;
    /* a start or a failure sends notes, which may end other gates: look again from the top */
    for (struct deps_gate *g = sv->gates; g;) {
        int r = gate_eval(sv, g, msg, sizeof msg);
        if (r == 0) {
            g = g->next;
            continue;
        }
        struct ctr *c = g->c;
        int ev = g->ev;
        gate_unlink(sv, g);
        if (r > 0) {
            struct err e = {0};
            log_msg(LOG_INFO, "'%s': its requirements are met", c->name);
            (void)ctr_handle(c, ev, 0, &e); /* a failure is noted like any failed start */
        } else {
            start_fails(c, msg);
        }
        g = sv->gates;
    }
}

static int open_gate(struct ctr *c, int ev, int depth, struct err *e);

/* Start D, a requirement of a start under way, with its own requirements. */
static int start_dep(struct ctr *d, int depth, struct err *e)
{
    int r = open_gate(d, CTR_EV_START, depth + 1, e);
    if (r < 0)
        return -1;
    if (r > 0 && ctr_handle(d, CTR_EV_START, 0, e) < 0)
        return -1;
    return 0;
}

static int open_gate(struct ctr *c, int ev, int depth, struct err *e)
{
    struct sv *sv = c->sv;
    if (!c->cfg.requires || !c->cfg.requires[0])
        return 1;
    if (deps_gated(sv, c))
        return 0;
    if (depth > CTR_REQUIRES_DEPTH)
        return err_set(e, 0, "'%s': requirements nest deeper than %d", c->name, CTR_REQUIRES_DEPTH);
    struct deps_gate *g = calloc(1, sizeof *g);
    if (!g)
        return err_set(e, ENOMEM, "start of '%s'", c->name);
    g->c = c;
    g->ev = ev;
    for (char **r = c->cfg.requires; *r && g->n < CTR_REQUIRES_MAX; r++) {
        struct gate_dep *dep = &g->deps[g->n];
        if (ctr_requires_split(*r, dep->name, &dep->cond) < 0)
            continue; /* checked at create and at load */
        g->n++;
    }
    /* in the list before any requirement starts: their notes must find it */
    g->next = sv->gates;
    sv->gates = g;
    for (size_t i = 0; i < g->n; i++) {
        struct gate_dep *dep = &g->deps[i];
        struct ctr *d = sv_find_name(sv, dep->name);
        if (!d) {
            err_set(e, 0, "requirement '%s' (%s): no such container", dep->name,
                    ctr_cond_name(dep->cond));
            goto fail;
        }
        if (d == c) {
            err_set(e, 0, "'%s' requires itself", c->name);
            goto fail;
        }
        if (dep->cond == CTR_COND_COMPLETED && d->state == CTR_EXITED && d->exit_code == 0) {
            dep->exited = 1; /* it has completed: not run again */
            continue;
        }
        if (d->state == CTR_REMOVING) {
            err_set(e, 0, "requirement '%s' (%s): it is being removed", dep->name,
                    ctr_cond_name(dep->cond));
            goto fail;
        }
        if (!under_way(sv, d) && start_dep(d, depth, e) < 0) {
            err_wrap(e, "requirement '%s' (%s)", dep->name, ctr_cond_name(dep->cond));
            goto fail;
        }
    }
    char msg[ERR_MSG_MAX];
    int r = gate_eval(sv, g, msg, sizeof msg);
    if (r == 0) {
        log_msg(LOG_INFO, "'%s' waits for its requirements", c->name);
        return 0;
    }
    gate_unlink(sv, g);
    if (r < 0)
        return err_set(e, 0, "%s", msg);
    return 1;
fail:
    if (gate_of(sv, c) == g)
        gate_unlink(sv, g);
    return -1;
}

int deps_start(struct ctr *c, int ev, struct err *e)
{
    return open_gate(c, ev, 0, e);
}

void deps_note(struct sv *sv, struct ctr *c, enum server_note note)
{
    if (!sv->gates)
        return;
    struct deps_gate *mine = NULL;
    for (struct deps_gate *g = sv->gates; g; g = g->next) {
        if (g->c == c)
            mine = g;
        for (size_t i = 0; i < g->n; i++) {
            struct gate_dep *dep = &g->deps[i];
            if (strcmp(dep->name, c->name) != 0)
                continue;
            switch (note) {
            case NOTE_STARTED:
                dep->started = 1;
                break;
            case NOTE_START_FAILED:
                dep->failed = 1;
                break;
            case NOTE_EXITED:
                dep->exited = 1;
                break;
            case NOTE_DOWN:
                dep->exited = dep->down = 1;
                break;
            case NOTE_REMOVED:
                dep->removed = 1;
                break;
            case NOTE_HEALTH:
                break;
            }
        }
    }
    if (mine && note == NOTE_REMOVED)
        gate_unlink(sv, mine); /* nothing may point at a freed container */
    schedule(sv);
}

int deps_cancel(struct ctr *c, const char *why)
{
    struct deps_gate *g = gate_of(c->sv, c);
    if (!g)
        return 0;
    gate_unlink(c->sv, g);
    start_fails(c, why);
    return 1;
}

void deps_cancel_all(struct sv *sv, const char *why)
{
    while (sv->gates)
        (void)deps_cancel(sv->gates->c, why);
}

void deps_free_all(struct sv *sv)
{
    while (sv->gates)
        gate_unlink(sv, sv->gates);
    ev_timer_stop(sv->loop, &sv->deps_w);
}

/* Whether D's requirements name C. */
static int requires_name(const struct ctr *d, const char *name)
{
    for (char **r = d->cfg.requires; r && *r; r++) {
        char nm[CTR_NAME_MAX];
        enum ctr_cond cond;
        if (ctr_requires_split(*r, nm, &cond) == 0 && strcmp(nm, name) == 0)
            return 1;
    }
    return 0;
}

int deps_holds(const struct sv *sv, const struct ctr *c)
{
    for (const struct ctr *d = sv->ctrs; d; d = d->next)
        if (d != c && (ctr_live(d) || ctr_busy(d)) && requires_name(d, c->name))
            return 1;
    return 0;
}

int deps_cycle(const struct sv *sv, const char *name, const char *dep)
{
    /* breadth first from DEP over the requirements of existing containers, each seen once */
    size_t cap = (size_t)sv->nctrs + 1, head = 0, tail = 0;
    const struct ctr **queue = calloc(cap, sizeof *queue);
    int found = 0;
    if (!queue)
        return 0;
    const struct ctr *first = sv_find_name(sv, dep);
    if (first)
        queue[tail++] = first;
    while (head < tail && !found) {
        const struct ctr *d = queue[head++];
        for (char **r = d->cfg.requires; r && *r && !found; r++) {
            char nm[CTR_NAME_MAX];
            enum ctr_cond cond;
            if (ctr_requires_split(*r, nm, &cond) < 0)
                continue;
            if (strcmp(nm, name) == 0) {
                found = 1;
                break;
            }
            const struct ctr *next = sv_find_name(sv, nm);
            int seen = !next;
            for (size_t i = 0; i < tail && !seen; i++)
                seen = queue[i] == next;
            if (!seen && tail < cap)
                queue[tail++] = next;
        }
    }
    free(queue);
    return found;
}
