/* SPDX-License-Identifier: MIT */
/* core/spawn.h - the start pipeline's process part: clone the container's init into new
 * namespaces and set it up (rootfs, hostname, stdio, user, workdir, environment) in the child,
 * which reports a failure through a CLOEXEC socket (EOF means the exec succeeded); the same for
 * exec sessions, which join a running container. */
#pragma once

#include <sys/types.h>

#include "core/err.h"

struct ctr;
struct ctr_config;
struct seccomp_bpf;

/* --init: berthd re-executes itself as the container's PID 1 under this name (bound read-only
 * at /sbin/berth-init), with the hand-off on fd 3 and the report pipe on fd 4. */
#define SPAWN_INIT_NAME      "berth-init"
#define SPAWN_INIT_CONFIG_FD 3
#define SPAWN_INIT_REPORT_FD 4

/* What the child writes to the pipe when it fails before exec. */
struct spawn_report {
    int exit_code; /* 125, 126 or 127 */
    struct err e;
};

/* An exec in a running container: what the session asks for. */
struct spawn_exec {
    char **argv;         /* the command, NULL-terminated */
    char **env;          /* the whole environment: the container's with the exec's overrides */
    const char *user;    /* NULL: the container's */
    const char *workdir; /* NULL: the container's (never created) */
    int privileged;      /* every capability and no seccomp filter */
    int tty;             /* a pty of the container's devpts; its master comes on the report */
    unsigned short rows, cols;
    int fds[3]; /* without TTY: stdin, stdout, stderr (-1: /dev/null); not closed here */
};

/* What the parent made of the report socket so far. */
enum spawn_status {
    SPAWN_WAIT,   /* nothing more yet */
    SPAWN_EXECED, /* EOF: the command was exec'd */
    SPAWN_FAILED, /* *R holds the failure */
};
/* Read the report socket FD (non-blocking): a pty master the child sends (-t) lands in *PTY_FD
 * (when it is -1), then EOF or a spawn_report. */
enum spawn_status spawn_report_read(int fd, struct spawn_report *r, int *pty_fd);

/* Start X in C's namespaces, cgroup and security settings: the child is berthd's own (reaped
 * like any other), born in C's pid namespace. *PID and *REPORT_FD as for spawn_container. */
int spawn_exec(const struct ctr *c, const struct spawn_exec *x, pid_t *pid, int *report_fd,
               struct err *e);

/* Clone C's init. STDIN_FD (or -1 for /dev/null) becomes its stdin; it is not closed here. On
 * success *PID is the child and *REPORT_FD berthd's end of its report socket (CLOEXEC,
 * O_NONBLOCK). With -t the child makes a pty of the container's devpts its terminal and
 * /dev/console, sized c->tty_rows x c->tty_cols. The clone itself is quick; the child's setup runs
 * concurrently. */
int spawn_container(const struct ctr *c, const char *ctr_dir, const char *image_rootfs,
                    int stdin_fd, pid_t *pid, int *report_fd, struct err *e);

/* The --init hand-off: a container's config and its compiled seccomp program as one JSON
 * text (malloc'd), and back (CFG and BPF are then owned by the caller). */
char *spawn_handoff_encode(const struct ctr_config *cfg, const struct seccomp_bpf *bpf,
                           struct err *e);
int spawn_handoff_decode(const char *text, struct ctr_config *cfg, struct seccomp_bpf *bpf,
                         struct err *e);

/* ARGV0 names berth-init: main() then calls spawn_init_main(), which finishes the container's
 * setup (pivot_root, user, capabilities, no_new_privs, seccomp) and runs the init loop; it
 * returns only when not started by berthd (2, with a message). */
int spawn_is_init(const char *argv0);
int spawn_init_main(void);
