/* SPDX-License-Identifier: MIT */
/* core/manifest.h - the boot manifest (DESIGN.md §13): parse and check it, and turn each
 * container into the complete `create` request a client would send for the same `berth run`
 * flags (one translation: ctl/runopt.h). Pure: no libev, no globals, no logging; the only I/O
 * is reading the manifest file (manifest_load) and the files it names (env_file, seccomp
 * profiles in security_opt), plus the process environment for an "env" entry "K" without '='.
 * It does not start anything: berthd (core/pid1) decides what to do with the result.
 *
 * Format: a JSON object of at most MANIFEST_MAX bytes with the keys
 *   hostname   string, a valid host name
 *   modules    [names]: kernel modules to load (no '/')
 *   images     [{"name":N, "load":"/abs/archive"} | {"name":N, "import":"/abs/dir-or-tar"}]
 *   volumes    [N | {"name":N}]
 *   networks   [{"name":N, "subnet":"CIDR", "gateway":"IP"}] (subnet, gateway optional)
 *   containers [container...] (at most CTR_MAX)
 *   exit_with  the name of a container whose exit powers the machine off
 * A container is an object: "name" and "image" (both required), "cmd" (array: the command's
 * words; string S: /bin/sh -c S), "requires" ([{"name":N, "condition":"started"|"healthy"|
 * "completed"}] or bare names = started), "health" ({"cmd": array (CMD) or string (CMD-SHELL),
 * "interval", "timeout", "start_period", "start_interval": a duration string or a number of
 * seconds, "retries", "on_failure"}), and any `run` flag by its long name with '_' for '-'
 * ("stop_timeout", "cap_add", "read_only", "health_cmd", "memory", "log_opt", ...; "interactive"
 * is open_stdin). Aliases: "volumes" (volume), "ports" (publish), "labels" (label), "mounts"
 * (mount). A value is a string, a number (its decimal text; seconds for a duration), a boolean
 * for a boolean flag, an array of those for a repeatable flag (one occurrence each), and for
 * env/label also an object {K: V} (K=V). The client-only flags (detach, detach_keys, sig_proxy)
 * and unknown keys are refused, as is the reserved label berth.manifest. */
#pragma once

#include <stddef.h>

struct err;

enum manifest_cond {
    MANIFEST_STARTED,   /* the dependency's process runs */
    MANIFEST_HEALTHY,   /* its health check passed (or it notified READY=1) */
    MANIFEST_COMPLETED, /* it exited with 0 */
};

struct manifest_dep {
    size_t idx; /* into manifest.ctrs */
    enum manifest_cond cond;
};

struct manifest_ctr {
    char *name;
    char *image;
    /* The create request, newline included: "create name=N image=I OPTIONS
     * label=berth.manifest=HASH [-- CMD...]\n" (at most CTL_LINE_MAX bytes). */
    char *line;
    /* 16 lower-case hex digits: util_fnv1a64 of the same line without the berth.manifest label
     * and newline; the label's value, so berthd can tell which containers a manifest made and
     * whether one changed since. */
    char hash[17];
    struct manifest_dep *deps; /* in the order the manifest lists them */
    size_t ndeps;
    int level; /* 0 without dependencies, else 1 + the highest level of its dependencies */
};

struct manifest_image {
    char *name;
    char *load;   /* an absolute path, or NULL */
    char *import; /* an absolute path, or NULL; exactly one of load and import is set */
};

struct manifest_net {
    char *name;
    char *subnet;  /* NULL when not given */
    char *gateway; /* NULL when not given */
};

/* Everything the manifest says, owned (free with manifest_free). Absent lists are empty. */
struct manifest {
    char *hostname; /* NULL when not given */
    char **modules;
    size_t nmodules;
    struct manifest_image *images;
    size_t nimages;
    char **volumes;
    size_t nvolumes;
    struct manifest_net *nets;
    size_t nnets;
    /* Topologically sorted: every dependency before its dependents, otherwise in manifest
     * order (a depth-first walk in manifest order). */
    struct manifest_ctr *ctrs;
    size_t nctrs;
    char *exit_with; /* a container's name, or NULL */
};

/* Parse the LEN bytes of TEXT (need not be NUL-terminated) into *M and check it whole: JSON
 * and every field's type, unknown and duplicate keys, names, duplicate containers, images,
 * volumes and networks, requirements on undefined containers, on themselves or in a cycle
 * ("dependency cycle: a -> b -> a"), exit_with, the limits, and each container's options as
 * berthd's client would (sizes, durations, env files...). On failure *M is empty (nothing to
 * free) and E says what and where ("container 'web': unknown key 'foo'"), with code 0 (EFBIG
 * for a text over MANIFEST_MAX, the errno of a file a container names that cannot be read).
 * Reads the files the manifest names (blocks on the disk). */
int manifest_parse(const char *text, size_t len, struct manifest *m, struct err *e);
/* Read PATH (at most MANIFEST_MAX bytes: EFBIG beyond) and parse it; messages are prefixed
 * with "manifest 'PATH': ". Blocks on the disk. */
int manifest_load(const char *path, struct manifest *m, struct err *e);
/* Free everything *M owns and empty it (an empty or NULL manifest is fine). */
void manifest_free(struct manifest *m);
/* The index of container NAME in M->ctrs, or -1. */
long manifest_find(const struct manifest *m, const char *name);
