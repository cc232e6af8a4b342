/* SPDX-License-Identifier: MIT */
/* core/cgroup.h - container cgroups on cgroup v2, v1 and hybrid hosts: layout detection, one
 * group per container (create, enter, limits, freeze, OOM counters, stats, kill, destroy).
 * Owns only the directories it creates under the detected bases; it never moves berthd itself,
 * keeps no globals, registers no watchers (it returns fds; the caller watches them) and never
 * logs. Every call is a bounded number of cgroupfs round trips (open/read/write/mkdir/rmdir,
 * plus bpf(2) loading the device program at create on v2), allowed on the loop by STYLE R7;
 * none waits for a process. Errors via struct err. */
#pragma once

#include <stddef.h>
#include <sys/types.h>

struct err;

#define CGROUP_PATH_MAX 512 /* one hierarchy's mount point or base directory */
#define CGROUP_NAME_MAX 96  /* a group name relative to the base ("berth-1a2b3c4d/<id12>") */

enum cgroup_mode {
    CGROUP_V2 = 1, /* one cgroup2 mount (pure unified) */
    CGROUP_V1,     /* v1 controller mounts only */
    CGROUP_HYBRID, /* v1 controllers plus a cgroup2 mount without them: v1 is used */
};

/* v1 controllers berth knows. A pure v2 host uses the single v2 hierarchy for all of them. */
enum cgroup_ctrl {
    CGROUP_MEMORY,
    CGROUP_PIDS,
    CGROUP_CPU,
    CGROUP_CPUACCT,
    CGROUP_FREEZER,
    CGROUP_BLKIO,
    CGROUP_DEVICES,
    CGROUP_CPUSET,
    CGROUP_CTRL_N
};

/* One hierarchy: where it is mounted and where berth creates its groups. */
struct cgroup_hier {
    char mount[CGROUP_PATH_MAX]; /* mount point, "" when not mounted */
    char root[CGROUP_PATH_MAX];  /* the mount's root inside the hierarchy (mountinfo field 4) */
    char base[CGROUP_PATH_MAX];  /* absolute directory that holds berth's groups */
};

/* The host layout, detected once at start (about 14 KiB: keep one per daemon). Bases: on v1
 * each controller's base is berthd's own cgroup in that hierarchy (v1 allows groups with
 * processes to have children, and nested groups stay inside berthd's own limits); on v2 it is
 * the parent of berthd's own cgroup, or the root when berthd sits in the root ("no internal
 * processes": berthd's own non-root cgroup cannot enable controllers for children). */
struct cgroup_sys {
    enum cgroup_mode mode;
    struct cgroup_hier v1[CGROUP_CTRL_N]; /* indexed by enum cgroup_ctrl */
    struct cgroup_hier v2;                /* the cgroup2 mount (also on hybrid, unused there) */
};

/* Limits of one container; 0 means unset (kernel default, i.e. unlimited). */
struct cgroup_limits {
    long long memory;        /* bytes (>= 6 MiB as Docker) */
    long long memory_swap;   /* memory + swap bytes, -1 unlimited; unset with memory set: 2x */
    long long pids;          /* -1 unlimited; the caller applies the default 2048 */
    long long cpu_quota_us;  /* --cpus F: F * 100000 ... */
    long long cpu_period_us; /* ... and 100000; 0 with a quota set means 100000 */
    long long cpu_shares;    /* 2..262144; v2 converts to cpu.weight */
    int all_devices;         /* --privileged: no device rule (else Docker's default list) */
    const struct devices_rule *devices; /* --device: allowed besides the default list */
    size_t ndevices;
};

/* One container's group: the layout it lives in plus its name. Paths are computed on demand
 * (base of the hierarchy + "/" + name), so this is small and owns nothing: no free needed.
 * SYS must outlive it. */
struct cgroup {
    const struct cgroup_sys *sys;
    char name[CGROUP_NAME_MAX];
};

struct cgroup_stats {
    unsigned long long cpu_ns;     /* CPU time used by the group since creation */
    unsigned long long mem_usage;  /* bytes in use, inactive file cache excluded (docker stats) */
    unsigned long long mem_limit;  /* bytes, 0 when unlimited (show the host's memory) */
    unsigned long long pids;       /* processes/threads now */
    unsigned long long pids_limit; /* 0 when unlimited */
    unsigned long long blk_read;   /* bytes read from block devices */
    unsigned long long blk_write;  /* bytes written to block devices */
};

/* Detect the layout from /proc/self/mountinfo and /proc/self/cgroup (both read bounded) into
 * SYS. Fails with ENOENT when no cgroup filesystem is mounted. Reads /proc only. */
int cgroup_detect(struct cgroup_sys *sys, struct err *e);

/* The mountinfo half of cgroup_detect on TEXT (NUL-terminated): zeroes SYS, fills mode, mount
 * points and mount roots. Pure; lines that are not cgroup mounts are skipped unparsed. */
int cgroup_parse_mountinfo(struct cgroup_sys *sys, const char *text, struct err *e);

/* The /proc/self/cgroup half on TEXT: fills every mounted hierarchy's base from the process's
 * own cgroup paths (see struct cgroup_sys). Call after cgroup_parse_mountinfo. Pure. */
int cgroup_parse_self(struct cgroup_sys *sys, const char *text, struct err *e);

/* "2", "1" or "hybrid" (a static string; "unknown" for anything else). */
const char *cgroup_mode_name(enum cgroup_mode mode);

/* Validate LIM as it enters (before any cgroup exists): memory >= 6 MiB, memory_swap needs
 * memory and is >= it (or -1), pids > 0 or -1, quota >= 1000, period 1000..1000000, shares
 * 2..262144. EINVAL with the offending option named. */
int cgroup_check_limits(const struct cgroup_limits *lim, struct err *e);

/* runc's shares -> cpu.weight conversion: 1 + ((shares - 2) * 9999) / 262142, in 1..10000. */
long long cgroup_shares_to_weight(long long shares);

/* Create group NAME ("dir/leaf" components of [A-Za-z0-9_.-], no "." or "..") in every
 * hierarchy the mode uses (v2: the one; v1/hybrid: memory, pids, cpu, cpuacct, freezer, blkio
 * when mounted, co-mounted ones once), creating missing parent directories (left in place) and,
 * on v2, enabling memory/pids/cpu/io in cgroup.subtree_control from the mount down to the
 * leaf's parent (a controller a set limit needs must succeed; others are best effort). Then
 * writes LIM (may be NULL) and, unless LIM->all_devices, restricts devices to Docker's default
 * list (core/devices.h): v1/hybrid through the devices controller when mounted, v2 with a
 * BPF_CGROUP_DEVICE program (bpf(2): needs CAP_BPF or CAP_SYS_ADMIN). An existing leaf fails
 * with EEXIST. On failure every leaf created here is removed again. Fills CG (which must not
 * be in use). */
int cgroup_create(const struct cgroup_sys *sys, const char *name, const struct cgroup_limits *lim,
                  struct cgroup *cg, struct err *e);

/* Fill CG for an existing group NAME (recovery after a restart) without creating anything.
 * ENOENT when its directory is missing in the first hierarchy. */
int cgroup_open(const struct cgroup_sys *sys, const char *name, struct cgroup *cg, struct err *e);

/* Write the set fields of LIM to CG's limit files (unset fields are left alone). A memory
 * limit with no memsw file (v1 without swap accounting) or no memory.swap.max (v2 without
 * swap) limits memory only. */
int cgroup_set_limits(const struct cgroup *cg, const struct cgroup_limits *lim, struct err *e);

/* Absolute path of FILE (NULL or "" for the directory) of CG in the hierarchy of CTRL (the
 * v2 hierarchy on v2). ENOTSUP when that v1 controller is not mounted. */
int cgroup_path(const struct cgroup *cg, enum cgroup_ctrl ctrl, const char *file, char *buf,
                size_t size, struct err *e);

/* Move PID into CG in every hierarchy (cgroup.procs). The parent calls it for a cloned child
 * before releasing the child to exec. */
int cgroup_enter(const struct cgroup *cg, pid_t pid, struct err *e);

/* FROZEN != 0: freeze (v2 cgroup.freeze 1, v1 freezer.state FROZEN); 0: thaw. Returns once
 * the request is written; freezing completes asynchronously (cgroup_frozen_done). */
int cgroup_freeze(const struct cgroup *cg, int frozen, struct err *e);

/* 1 when CG is completely frozen, 0 while freezing is still in progress (or thawed), -1 on
 * error. Non-blocking: poll it from a timer. */
int cgroup_frozen_done(const struct cgroup *cg, struct err *e);

/* A new O_NONBLOCK|O_CLOEXEC fd that becomes readable on memory events of CG (v1: eventfd
 * registered for memory.oom_control via cgroup.event_control, also signalled when the group
 * is removed; v2: inotify IN_MODIFY on memory.events, which also changes on high/max events).
 * Readability is only a hint: confirm with cgroup_oom_kills, and again when the container has
 * exited (v1 signals before the victim is killed). The caller owns and closes the fd and
 * drains it with cgroup_oom_drain. */
int cgroup_oom_fd(const struct cgroup *cg, struct err *e);

/* Read and discard everything pending on an fd from cgroup_oom_fd (never blocks). */
int cgroup_oom_drain(int fd, struct err *e);

/* *COUNT = OOM kills in CG so far ("oom_kill N" of v1 memory.oom_control or v2 memory.events;
 * 0 when the kernel does not report it). */
int cgroup_oom_kills(const struct cgroup *cg, long long *count, struct err *e);

/* Fill ST from CG's accounting files. A counter whose controller or file is missing reads 0.
 * Network I/O is not a cgroup counter: the caller reads it from the container's netns. */
int cgroup_stats(const struct cgroup *cg, struct cgroup_stats *st, struct err *e);

/* SIGKILL every process in CG: v2 cgroup.kill when present, else one pass over cgroup.procs
 * (a process forked during the pass may survive: call again, e.g. when destroy says EBUSY).
 * On v1 a frozen group is then thawed so the kills take effect. Does not wait or reap. */
int cgroup_kill_all(const struct cgroup *cg, struct err *e);

/* rmdir CG in every hierarchy. Missing directories are fine, so it is idempotent; EBUSY while
 * processes (or unreaped exits) remain: the first error is returned after trying all, retry
 * after reaping. The parent directories of the name are left. */
int cgroup_destroy(struct cgroup *cg, struct err *e);

/* rmdir DIR (a group name or a parent such as "berth-1a2b3c4d") under the base of every
 * hierarchy SYS's mode uses; ENOENT is fine, EBUSY/ENOTEMPTY are returned as errors (after
 * trying all). For berthd's shutdown and for tests. */
int cgroup_remove_dir(const struct cgroup_sys *sys, const char *dir, struct err *e);
