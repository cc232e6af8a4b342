/* SPDX-License-Identifier: MIT */
/* core/exec.h - exec sessions: a command started in a running container's namespaces, cgroup
 * and security settings (DESIGN §8, §9). The process is berthd's own child; its stdio is the
 * client's fds (or, with -t, a pty whose master goes to the client), so its bytes never pass
 * through berthd. A session lives from the request until its process is reaped: `inspect`
 * lists it in ExecIDs meanwhile. Stopping the container ends it (the kernel kills everything
 * in a pid namespace whose init exits), so a stop never waits for an exec. */
#pragma once

#include <ev.h>
#include <sys/types.h>

#include "core/limits.h"

struct sv;
struct ctr;
struct client;
struct err;
struct spawn_exec;
struct cJSON;

struct exec_session {
    struct exec_session *next; /* sv->execs */
    struct sv *sv;
    struct ctr *c; /* NULL once the container is freed */
    char id[CTR_ID_LEN + 1];
    pid_t pid;     /* 0 once reaped */
    int report_fd; /* until the exec or its failure is known */
    ev_io report_w;
    int pty_fd;        /* -t: the master, kept only for a detached session */
    int detach;        /* -d: the client gets the id and goes */
    struct client *cl; /* waiting for the start, then for the exit; NULL when gone */
    int started;
};

/* Start X in C for CL (which gets "ok {"Id":..}" once the command runs, with the pty master
 * passed when X->tty, then "exit {"StatusCode":N}" and "end" unless DETACH; or an err line
 * when the exec failed). Returns 0, or -1 with E when nothing was started. */
int exec_start(struct ctr *c, const struct spawn_exec *x, int detach, struct client *cl,
               struct err *e);

/* The reaper routes exits here: 1 when PID was an exec session's. */
int exec_reaped(struct sv *sv, pid_t pid, int status);

/* CL goes away (or is done): its session carries on without it. */
void exec_client_gone(struct exec_session *x);

/* C is freed: its sessions (about to be reaped) forget it. */
void exec_ctr_gone(struct sv *sv, struct ctr *c);

/* The ids of C's sessions as a JSON array, or JSON null when there are none (as Docker). */
struct cJSON *exec_ids_json(const struct sv *sv, const struct ctr *c);

/* Free every session (the supervisor is exiting). */
void exec_free_all(struct sv *sv);
