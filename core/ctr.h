/* SPDX-License-Identifier: MIT */
/* core/ctr.h - a container: its configuration, its state machine and its supervision
 * (start, exit, stop grace, restart policy with backoff, auto-remove). Only ctr_handle()
 * assigns c->state (STYLE R9). */
#pragma once

#include <ev.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/cgroup.h"
#include "core/err.h"
#include "core/limits.h"
#include "core/logfile.h"
#include "core/mounts.h"

struct sv;
struct cJSON;
struct proxy;
struct health;

enum ctr_state {
    CTR_CREATED,
    CTR_RUNNING,
    CTR_PAUSED,
    CTR_RESTARTING,
    CTR_STOPPING,
    CTR_EXITED,
    CTR_REMOVING,
    CTR_DEAD,
};

enum ctr_event {
    CTR_EV_START,        /* manual start request */
    CTR_EV_AUTO_START,   /* supervisor start (policy at boot), not manual */
    CTR_EV_STARTED,      /* the command was exec'd */
    CTR_EV_START_FAILED, /* arg: exit code; c->error holds the message */
    CTR_EV_EXITED,       /* arg: wait status, or -1 for "unknown" (adopted process) */
    CTR_EV_STOP,         /* arg: timeout in seconds (-1 for ever), manual */
    CTR_EV_SHUTDOWN,     /* supervisor stop: like STOP but not manual */
    CTR_EV_KILL,         /* arg: signal; manual */
    CTR_EV_GRACE_OVER,   /* stop timer fired */
    CTR_EV_RESTART_DUE,  /* backoff timer fired */
    CTR_EV_REMOVE,       /* removal accepted (state allows it) */
    CTR_EV_REMOVED,      /* the removal helper finished */
    CTR_EV_PAUSE,        /* freeze (cgroup freezer) */
    CTR_EV_UNPAUSE,      /* thaw */
};

enum ctr_restart {
    CTR_RESTART_NO,
    CTR_RESTART_ALWAYS,
    CTR_RESTART_UNLESS_STOPPED,
    CTR_RESTART_ON_FAILURE
};
enum ctr_net { CTR_NET_NONE, CTR_NET_HOST, CTR_NET_BRIDGE, CTR_NET_CONTAINER };

/* What berthd does when a container's health check makes it unhealthy (DESIGN §13). */
enum ctr_on_failure {
    CTR_ON_FAILURE_NONE,
    CTR_ON_FAILURE_RESTART,
    CTR_ON_FAILURE_KILL,
    CTR_ON_FAILURE_STOP
};

/* Health check and readiness settings (core/health.c); durations 0 = the default. */
struct ctr_health {
    char **test; /* Docker's Test: {"CMD", argv...}, {"CMD-SHELL", cmd}, {"NONE"}; NULL: none */
    int64_t interval_ms, timeout_ms, start_period_ms, start_interval_ms;
    int retries; /* 0: the default (3) */
    enum ctr_on_failure on_failure;
    int sdnotify; /* a NOTIFY_SOCKET in the container: READY=1 makes it healthy */
};

struct ctr_config {
    char *image;
    char **argv;   /* resolved command (entrypoint + cmd), NULL-terminated */
    char **env;    /* resolved environment, NULL-terminated */
    char **labels; /* "K=V", NULL-terminated */
    char *hostname;
    char *user;
    char *workdir;
    int read_only;
    enum ctr_net network;
    int pid_host;             /* --pid host: the host's pid namespace, no new one */
    char *network_name;       /* BRIDGE: the network ("bridge" when NULL); CONTAINER: whose netns */
    char *ip;                 /* --ip: the address asked for, or NULL */
    char **ports;             /* -p, canonical "IP:HOST:CTR/proto", NULL-terminated */
    char **dns;               /* --dns servers, NULL-terminated (none: the host's resolv.conf) */
    char **devices;           /* --device, canonical "HOST:CTR:PERMS", NULL-terminated */
    char **group_add;         /* --group-add: gids or group names, NULL-terminated */
    char **requires;          /* --requires, canonical "NAME:CONDITION", NULL-terminated */
    char **expose;            /* the image's ExposedPorts and --expose, canonical "80/tcp" */
    int publish_all;          /* -P: every exposed port was added to PORTS on any free host port */
    struct ctr_mount *mounts; /* -v, --tmpfs, --mount: checked, sorted parents first */
    int nmounts;
    int stop_signal;
    int stop_timeout; /* seconds; -1 = for ever */
    enum ctr_restart restart;
    int max_retries; /* on-failure:N, 0 = unlimited */
    int auto_remove;
    int open_stdin;
    int tty;
    long long log_max_size;
    int log_max_file;
    int backoff_min_ms, backoff_max_ms, backoff_reset_ms;
    /* isolation (DESIGN §11) */
    char **cap_add; /* capability names as given, NULL-terminated */
    char **cap_drop;
    int privileged;
    int no_new_privs; /* default on */
    int seccomp_unconfined;
    char *seccomp_profile; /* Docker-format JSON text, or NULL for the default profile */
    /* resources (0 = unset) */
    long long memory;
    long long memory_swap; /* -1 = unlimited */
    long long pids_limit;  /* -1 = unlimited; default PIDS_LIMIT_DEFAULT */
    long long nano_cpus;
    long long cpu_shares;
    int init;
    struct ctr_health health;
};

/* A published port of the current run: its proxy and the host port it got. */
struct ctr_bound {
    struct proxy *proxy;
    unsigned host_port;
};

struct ctr {
    struct sv *sv;
    struct ctr *next; /* sv's list, newest first */
    char id[CTR_ID_LEN + 1];
    char name[CTR_NAME_MAX];
    struct ctr_config cfg;

    enum ctr_state state;
    pid_t pid;                    /* 0 when none */
    unsigned long long pid_start; /* /proc/PID/stat start time, to detect pid reuse */
    int pidfd;                    /* adopted processes: watched for exit */
    int adopted;                  /* not our child (re-adopted after a supervisor restart) */
    int exit_code;
    char error[ERR_MSG_MAX];
    int boot_start; /* berthd's start: the restart policy starts it once all are reconciled */
    int oom_killed;
    int restart_count;
    int manual_stop;
    int64_t created_ns, started_ns, finished_ns;
    int64_t last_start_mono;
    int backoff_ms;

    /* transient (not in the snapshot) */
    int start_pending; /* cloned, waiting for exec or failure on spawn_fd */
    int spawn_fd;      /* child's error pipe */
    int stdin_fd;      /* fd given for the next start (taken over) */
    int stdin_hold;    /* -i with no client's fd: the write end of the container's stdin
                        * pipe, kept open (and lent to attach clients) while it runs */
    unsigned short tty_rows, tty_cols; /* -t: the terminal size asked for the next start */
    int start_after_exit;              /* restart request: start again once exited */
    int remove_after_exit;             /* rm -f or auto-remove: remove once exited */
    int remove_volumes;                /* rm -v: its anonymous volumes go with it */
    int kill_sent;
    pid_t failed_pid; /* child of a failed start, not reaped yet */
    pid_t helper_pid; /* removal helper */
    int helper_fd;
    ev_io spawn_w;
    ev_io pidfd_w;
    ev_io helper_w;
    ev_timer grace_w;
    ev_timer restart_w;
    struct logfile log; /* output FIFOs and the log file */
    struct cgroup cg;   /* valid while has_cg */
    /* network of the current run (the address is in the snapshot) */
    uint32_t ip; /* 0: none */
    unsigned net_prefix;
    uint32_t net_gateway;
    char net_bridge[16];
    char veth[16];           /* host side of the pair, made by the child */
    struct ctr_bound *bound; /* one per published port while it runs */
    int nbound;
    int net_join_fd; /* --network container:NAME: that container's netns, during the clone */
    int has_cg;
    int oom_fd;
    ev_io oom_w;
    ev_timer cg_w; /* retries removing the cgroup while exits are still being reaped */
    int cg_tries;
    struct health *health; /* checks and readiness (core/health.c); NULL until first needed */
};

const char *ctr_state_name(enum ctr_state s);

/* User requests checked against the state table of DESIGN §3. */
enum ctr_request {
    CTR_REQ_START,
    CTR_REQ_STOP,
    CTR_REQ_RESTART,
    CTR_REQ_KILL,
    CTR_REQ_PAUSE,
    CTR_REQ_UNPAUSE,
    CTR_REQ_EXEC,
    CTR_REQ_RM,
    CTR_REQ_RM_FORCE
};
#define CTR_REQ_COUNT (CTR_REQ_RM_FORCE + 1)

/* Whether REQ is refused in state ST (START_PENDING: a start is under way). Returns 0 when
 * allowed, else the reply code (304 or 409) with the message in MSG; REF names the container
 * in messages. Pure: unit-tested for every (state, request) pair. */
int ctr_refuse(enum ctr_state st, int start_pending, enum ctr_request req, const char *ref,
               char *msg, size_t size);

/* Build a container from a parsed config (takes ownership of CFG's strings: CFG is zeroed).
 * Creates <root>/containers/ID (dirs, FIFOs, hostname/hosts/resolv files). */
struct ctr *ctr_create(struct sv *sv, const char *name, struct ctr_config *cfg, struct err *e);
void ctr_free(struct ctr *c);
void ctr_config_free(struct ctr_config *cfg);

/* The state machine: the only place c->state changes. Returns 0, or -1 with E when the event
 * cannot be carried out (e.g. a failed fork); events that are invalid in the current state are
 * logged and ignored. */
int ctr_handle(struct ctr *c, enum ctr_event ev, long arg, struct err *e);

/* Whether C still owns kernel objects (a failed child to reap, a cgroup to remove): a dead
 * container is freed only once it does not. */
int ctr_busy(const struct ctr *c);

/* Whether C runs or is about to: running, paused, stopping, waiting to restart, or starting. */
int ctr_live(const struct ctr *c);

/* The pid reaper routes exits here (PID is c->pid or c->failed_pid). */
void ctr_reaped(struct ctr *c, pid_t pid, int status);

/* Rebuild a container from the snapshot (takes CFG's strings); state fields are set by the
 * caller. */
struct ctr *ctr_restore(struct sv *sv, const char *id, const char *name, struct ctr_config *cfg);

/* Send SIG to the container's init without counting as a user action (signal proxying). */
int ctr_signal(struct ctr *c, int sig);

/* Re-adopt after a supervisor restart (snapshot state running/paused/stopping): returns 1 when
 * the process is still alive and is now watched through a pidfd, 0 when it is gone. */
int ctr_adopt(struct ctr *c);

/* For a container not re-adopted: remove the cgroup a crashed berthd left, if there is one
 * (its processes killed first; retried while they go). */
void ctr_cgroup_reclaim(struct ctr *c);

/* Serialise / parse a config (snapshot and inspect share the field names). */
struct cJSON *ctr_config_json(const struct ctr_config *cfg);
int ctr_config_from_json(const struct cJSON *j, struct ctr_config *cfg, struct err *e);

/* Parse --network ("none", "host", "bridge", a network name, "container:NAME"; NULL or
 * "default" = bridge) into CFG's network and network_name. */
int ctr_parse_network(const char *s, struct ctr_config *cfg, struct err *e);
/* The --network text of CFG (into BUF). */
const char *ctr_network_name(const struct ctr_config *cfg, char *buf, size_t size);

/* A --device node: the host's, where it goes in the container, what the container may do
 * with it (DEVICES_READ|WRITE|MKNOD), and what the host's node is (type, numbers, owner). */
struct ctr_device {
    char host[CTR_DEVICE_PATH_MAX];
    char path[CTR_DEVICE_PATH_MAX];
    unsigned access;
    mode_t mode; /* S_IFCHR or S_IFBLK and the permission bits */
    dev_t rdev;
    uid_t uid;
    gid_t gid;
};

/* Parse --device HOST[:CTR][:PERMS] (Docker's: CTR defaults to HOST, PERMS to "rwm", both
 * paths absolute, the container's under /dev) into its canonical "HOST:CTR:PERMS" in BUF.
 * Pure: EINVAL with a message fit for users. */
int ctr_parse_device(const char *s, char *buf, size_t size, struct err *e);
/* A canonical spec's paths and access into D (nothing else): 0, or -1 when it is not one. */
int ctr_device_split(const char *canon, struct ctr_device *d);
/* A canonical spec's node: stat HOST (a character or block device, else a clear error). */
int ctr_device_resolve(const char *canon, struct ctr_device *d, struct err *e);

/* --requires NAME[:CONDITION]: what a start waits for in the named container. */
enum ctr_cond { CTR_COND_STARTED, CTR_COND_HEALTHY, CTR_COND_COMPLETED };
const char *ctr_cond_name(enum ctr_cond cond);
/* Parse --requires NAME[:started|healthy|completed] (default started; a leading '/' of the
 * name ignored) into its canonical "NAME:CONDITION" in BUF. Pure: a message fit for users. */
int ctr_parse_requires(const char *s, char *buf, size_t size, struct err *e);
/* A canonical requirement's NAME (into a CTR_NAME_MAX buffer) and condition: 0, or -1. */
int ctr_requires_split(const char *canon, char name[CTR_NAME_MAX], enum ctr_cond *cond);

/* Parse a restart policy ("no", "always", "unless-stopped", "on-failure[:N]"). */
int ctr_parse_restart(const char *s, enum ctr_restart *out, int *max_retries, struct err *e);
const char *ctr_restart_name(enum ctr_restart r);

/* Backoff after a run of RAN_MS: the delay to wait before the next restart, updating *CUR
 * (the current delay, 0 initially). Pure: unit-tested. */
int ctr_backoff_next(int *cur, int64_t ran_ms, int min_ms, int max_ms, int reset_ms);

/* Whether the restart policy restarts after an exit with CODE. */
int ctr_policy_restarts(const struct ctr *c, int code);

/* The cgroup limits of CFG (--cpus as quota over a 100 ms period). Pure. */
void ctr_cgroup_limits(const struct ctr_config *cfg, struct cgroup_limits *lim);

/* Exit code for a wait status (128+N for a signal). */
int ctr_status_code(int status);
