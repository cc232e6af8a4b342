/* SPDX-License-Identifier: MIT */
/* core/exec.c - exec sessions (see exec.h): start, report, reap, and the client waiting on
 * each. Everything here runs on the loop and never blocks: the child's setup happens in the
 * child, its report arrives on a non-blocking socket. */
#include "core/exec.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/ctr.h"
#include "core/err.h"
#include "core/log.h"
#include "core/server.h"
#include "core/spawn.h"
#include "core/sv.h"
#include "core/util.h"

static void close_report(struct exec_session *x)
{
    if (x->report_fd < 0)
        return;
    ev_io_stop(x->sv->loop, &x->report_w);
    (void)close(x->report_fd);
    x->report_fd = -1;
}

static void session_free(struct exec_session *x)
{
    for (struct exec_session **pp = &x->sv->execs; *pp; pp = &(*pp)->next)
        if (*pp == x) {
            *pp = x->next;
            break;
        }
    close_report(x);
    util_closep(&x->pty_fd);
    if (x->cl)
        x->cl->op_exec = NULL;
    free(x);
}

/* The client waiting on X is answered and released. */
static struct client *take_client(struct exec_session *x)
{
    struct client *cl = x->cl;
    x->cl = NULL;
    if (cl)
        cl->op_exec = NULL;
    return cl;
}

static void on_report(struct exec_session *x)
{
    struct spawn_report r;
    int pty = -1;
    enum spawn_status st = spawn_report_read(x->report_fd, &r, &pty);
    if (pty >= 0) {
        if (x->detach && x->pty_fd < 0)
            x->pty_fd = pty; /* nobody reads it: held so the process keeps its terminal */
        else if (x->cl && !x->detach)
            (void)client_send_fd(x->cl, pty); /* goes with the ok that follows */
        else
            (void)close(pty);
    }
    if (st == SPAWN_WAIT)
        return;
    close_report(x);
    struct client *cl = x->cl;
    if (st == SPAWN_FAILED) {
        log_msg(LOG_DEBUG, "exec %.12s in %s failed: %s", x->id, x->c ? x->c->name : "?", r.e.msg);
        cl = take_client(x);
        if (cl) {
            /* Docker's codes travel in the message (proto_start_exit_code) */
            client_reply_err(cl, 500, "%s", r.e.msg);
            client_op_done(cl);
        }
        return; /* the session ends when its child is reaped */
    }
    x->started = 1;
    if (!cl)
        return;
    cJSON *j = cJSON_CreateObject();
    if (j)
        cJSON_AddStringToObject(j, "Id", x->id);
    client_reply_json(cl, j);
    if (x->detach) {
        take_client(x);
        client_op_done(cl);
    }
}

static void on_report_readable(struct ev_loop *loop, ev_io *w, int revents)
{
    (void)loop;
    (void)revents;
    on_report(w->data);
}

int exec_start(struct ctr *c, const struct spawn_exec *spec, int detach, struct client *cl,
               struct err *e)
{
    struct exec_session *x = calloc(1, sizeof *x);
    if (!x)
        return err_set(e, ENOMEM, "exec session");
    x->sv = c->sv;
    x->c = c;
    x->report_fd = x->pty_fd = -1;
    x->detach = detach;
    if (util_random_hex(x->id, sizeof x->id, e) < 0 ||
        spawn_exec(c, spec, &x->pid, &x->report_fd, e) < 0) {
        free(x);
        return -1;
    }
    ev_io_init(&x->report_w, on_report_readable, x->report_fd, EV_READ);
    x->report_w.data = x;
    ev_io_start(c->sv->loop, &x->report_w);
    x->next = c->sv->execs;
    c->sv->execs = x;
    x->cl = cl;
    cl->op_exec = x;
    log_msg(LOG_DEBUG, "exec %.12s in %s: pid %d", x->id, c->name, (int)x->pid);
    return 0;
}

int exec_reaped(struct sv *sv, pid_t pid, int status)
{
    struct exec_session *x = sv->execs;
    while (x && x->pid != pid)
        x = x->next;
    if (!x)
        return 0;
    if (x->report_fd >= 0)
        on_report(x); /* it died before its report was read: settle the start first */
    x->pid = 0;
    struct client *cl = take_client(x);
    if (cl && x->started) {
        cJSON *j = cJSON_CreateObject();
        char *txt = NULL;
        if (j && cJSON_AddNumberToObject(j, "StatusCode", ctr_status_code(status)))
            txt = cJSON_PrintUnformatted(j);
        cJSON_Delete(j);
        if (txt) {
            client_send(cl, "exit ", 5);
            client_send(cl, txt, strlen(txt));
            client_send(cl, "\n", 1);
            cJSON_free(txt);
            client_end_stream(cl);
        } else {
            client_reply_err(cl, 500, "out of memory");
            client_op_done(cl);
        }
    } else if (cl) {
        /* it died before exec without a report (killed with its container) */
        client_reply_err(cl, 409, "container %s is not running", x->c ? x->c->name : "");
        client_op_done(cl);
    }
    session_free(x);
    return 1;
}

void exec_client_gone(struct exec_session *x)
{
    x->cl = NULL;
}

void exec_ctr_gone(struct sv *sv, struct ctr *c)
{
    for (struct exec_session *x = sv->execs; x; x = x->next)
        if (x->c == c)
            x->c = NULL;
}

cJSON *exec_ids_json(const struct sv *sv, const struct ctr *c)
{
    cJSON *arr = NULL;
    for (const struct exec_session *x = sv->execs; x; x = x->next) {
        if (x->c != c)
            continue;
        if (!arr && !(arr = cJSON_CreateArray()))
            return NULL;
        cJSON_AddItemToArray(arr, cJSON_CreateString(x->id));
    }
    return arr ? arr : cJSON_CreateNull();
}

void exec_free_all(struct sv *sv)
{
    while (sv->execs)
        session_free(sv->execs);
}
