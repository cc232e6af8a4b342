/* SPDX-License-Identifier: MIT */
/* core/sv.h - the supervisor: the one loop, its watchers, the container table, the reaper,
 * signals, group commit of the snapshot, graceful shutdown. */
#pragma once

#include <ev.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/limits.h"

struct ctr;
struct network;
struct cgroup_sys;
struct client;
struct err;
struct deps_gate;

/* berthd's nftables table (core/firewall.c). */
struct sv_firewall {
    char nft[32];   /* the nft program, "" when none is used */
    char table[32]; /* "berth" or "berth_<hash of root>" */
    int off;        /* --firewall off */
    int nat;        /* --nat: masquerade what leaves each network */
    int busy;       /* a helper is applying the table */
    int again;      /* networks changed meanwhile: apply once more */
    int failed;     /* the last apply failed (logged) */
    char *script;   /* only while forking the helper */
};

struct sv {
    struct ev_loop *loop;
    char root[PATH_MAX_BERTH];
    char socket_path[PATH_MAX_BERTH];
    char snapshot_path[PATH_MAX_BERTH];
    char images_dir[PATH_MAX_BERTH];
    char containers_dir[PATH_MAX_BERTH];
    char volumes_dir[PATH_MAX_BERTH];
    char manifest_path[PATH_MAX_BERTH]; /* applied at start and on SIGHUP; "" for none */
    gid_t group; /* besides root, members of this group may connect; (gid_t)-1 = none */
    int pid1;
    int role; /* enum boot_role (core/boot.h) */
    int halt; /* enum boot_halt: what the shutdown under way ends with */
    int listen_fd;
    ev_io listen_w;
    ev_timer accept_w; /* resumes accepting after running out of fds */
    ev_child child_w;
    ev_signal sig_w[8];
    ev_prepare prepare_w;
    ev_timer retry_w;   /* retries a failed snapshot write */
    ev_check sweep_w;   /* frees dead objects */
    ev_periodic idle_w; /* never fires: lets libev block indefinitely while idle */
    struct ctr *ctrs;   /* newest first */
    int nctrs;
    struct client *clients;
    int nclients;
    struct helper *helpers;
    struct exec_session *execs; /* core/exec.c */
    struct deps_gate *gates;    /* core/deps.c: starts waiting for their requirements */
    ev_timer deps_w;            /* looks at the gates again after a note */
    struct network *nets;       /* oldest first: bridge, host, none, then user networks */
    struct volume *volumes;     /* oldest first */
    int nvolumes;
    int bridge_subnet_fixed; /* --bridge-subnet given: the snapshot's does not override it */
    const char *bridge_subnet;
    int host_netns_fd; /* berthd's network namespace, for children making veth pairs */
    unsigned veth_seq; /* makes each start's host-side veth name unique */
    struct sv_firewall fw;
    int dirty;            /* snapshot needs writing */
    int snapshot_failing; /* last write failed: replies are held */
    int shutting_down;
    int discard_corrupt;            /* a corrupt snapshot is moved aside, not fatal */
    int no_cgroups;                 /* --cgroups off: containers get no cgroup */
    unsigned long long nofile_orig; /* soft RLIMIT_NOFILE at start (0: unchanged) */
    struct cgroup_sys *cg_sys;      /* NULL: no usable cgroup hierarchy (containers run without) */
    char cg_parent[32];             /* "berth-<hash of root>": the parent group of our containers */
    unsigned long long orphans_reaped;
    int64_t started_ns;
};

/* A forked helper doing slow work (tree copy or removal). DONE runs when it is reaped, with
 * E filled from its pipe when it failed. */
struct helper {
    struct helper *next;
    pid_t pid;
    int fd;
    struct err *result;
    void (*done)(struct sv *sv, void *data, int ok, const struct err *e);
    void *data;
};

/* Mark the snapshot dirty: it is written before the loop next blocks, and replies queued now
 * are released only after that. */
void sv_mark_dirty(struct sv *sv);

/* Find a container by name (a leading '/' ignored), full id or unique id prefix. Returns NULL
 * with E (404 no such container / 409 ambiguous: e->code holds the HTTP-like code). */
struct ctr *sv_find(struct sv *sv, const char *ref, struct err *e);
struct ctr *sv_find_by_pid(struct sv *sv, pid_t pid);
/* The container named exactly NAME (no id prefix, no leading '/'), or NULL. */
struct ctr *sv_find_name(const struct sv *sv, const char *name);
void sv_add(struct sv *sv, struct ctr *c);
/* Unlink C from the table and free it (after the current callback: see STYLE R7). */
void sv_remove(struct sv *sv, struct ctr *c);

/* Run FN(ARG) in a forked helper; DONE(sv, data, ok, err) when it exits. FN returns 0 or -1
 * with its struct err, which travels back through a pipe; on success FN may leave a result
 * text in its err's msg (code 0), which DONE gets the same way. */
int sv_helper(struct sv *sv, int (*fn)(void *arg, struct err *e), void *arg,
              void (*done)(struct sv *sv, void *data, int ok, const struct err *e), void *data,
              struct err *e);

/* Delete the tree PATH (renamed out of the way first, by the caller) in a helper. */
int sv_remove_tree(struct sv *sv, const char *path, struct err *e);

/* Check whether a graceful shutdown can finish now (every container down, no helper). */
void sv_shutdown_progress(struct sv *sv);
void sv_shutdown_begin(struct sv *sv);

/* Set up the loop, load the snapshot (a corrupt one fails), listen, reconcile. SV's root,
 * socket_path and group are set by the caller. */
int sv_init(struct sv *sv, struct err *e);
/* Run the loop until a graceful shutdown completes, then free everything. */
void sv_run(struct sv *sv);
