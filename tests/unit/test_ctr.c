/* SPDX-License-Identifier: MIT */
/* tests/unit/test_ctr.c - the pure parts of core/ctr.c: the request table of DESIGN §3/§16
 * (ctr_refuse), restart backoff, restart policy parsing and decisions, exit codes, and the
 * config JSON round trip with its input checks. No loop, no processes, no files. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>

#include "core/ctr.h"
#include "core/devices.h"
#include "core/limits.h"
#include "core/util.h"
#include "tests/unit/cfg_eq.h"
#include "tests/unit/tap.h"

/* ---- ctr_refuse: DESIGN §3 table plus §16 ---- */

/* Expected outcome letters. REF is "web" in every call. */
static const struct {
    char letter;
    int code;
    const char *msg;
} outcomes[] = {
    {'.', 0, NULL},
    {'r', 304, "container is already running"},
    {'s', 304, "container is already stopped"},
    {'P', 409, "cannot start a paused container, try unpause instead"},
    {'Q', 409, "cannot restart a paused container, try unpause instead"},
    {'G', 409, "container is marked for removal and cannot be started"},
    {'N', 409, "container web is not running"},
    {'A', 409, "container web is already paused"},
    {'U', 409, "container web is not paused"},
    {'E', 409, "web is paused, unpause the container before exec"},
    {'W', 409, "container web is restarting, wait until it is running"},
    {'F', 409, "container is running: stop it first or use force"},
};

/* Rows: state; columns: START STOP RESTART KILL PAUSE UNPAUSE EXEC RM RM_FORCE.
 * Derivation (DESIGN §3, §16):
 * - a container "has a process" when running or stopping (§16: stopping counts as running
 *   for rm), or while a start is under way (start_pending): start of it is 304 (§16), stop,
 *   kill and rm without force treat it as running;
 * - start: paused 409, removing/dead 409 (marked for removal wins over a pending start),
 *   running 304; restarting may be started at once;
 * - stop: 304 "already stopped" unless it has a process, is paused (thawed first) or
 *   restarting (the restart is cancelled);
 * - restart (not in the table): refused like start for paused and removing/dead only;
 * - kill: 409 unless it has a process or is paused;
 * - pause: paused 409 "already paused", anything but a fully started running one 409;
 * - unpause: 409 unless paused;
 * - exec: paused and restarting have their own messages, otherwise only a fully started
 *   running container accepts it;
 * - rm without force: 409 when it has a process or is paused; rm -f is always accepted. */
static const char *const table_idle[8] = {
    [CTR_CREATED] = ".s.NNUN..",    [CTR_RUNNING] = "r....U.F.",  [CTR_PAUSED] = "P.Q.A.EF.",
    [CTR_RESTARTING] = "...NNUW..", [CTR_STOPPING] = "r...NUNF.", [CTR_EXITED] = ".s.NNUN..",
    [CTR_REMOVING] = "GsGNNUN..",   [CTR_DEAD] = "GsGNNUN..",
};
static const char *const table_pending[8] = {
    [CTR_CREATED] = "r...NUNF.",    [CTR_RUNNING] = "r...NUNF.",  [CTR_PAUSED] = "P.Q.A.EF.",
    [CTR_RESTARTING] = "r...NUWF.", [CTR_STOPPING] = "r...NUNF.", [CTR_EXITED] = "r...NUNF.",
    [CTR_REMOVING] = "G.G.NUNF.",   [CTR_DEAD] = "G.G.NUNF.",
};
static const char *const req_names[CTR_REQ_COUNT] = {
    "start", "stop", "restart", "kill", "pause", "unpause", "exec", "rm", "rm -f",
};

static void test_refuse(void)
{
    int bad = 0;
    for (int st = CTR_CREATED; st <= CTR_DEAD; st++) {
        for (int sp = 0; sp <= 1; sp++) {
            const char *row = sp ? table_pending[st] : table_idle[st];
            for (int r = 0; r < CTR_REQ_COUNT; r++) {
                char msg[512] = "untouched";
                int code =
                    ctr_refuse((enum ctr_state)st, sp, (enum ctr_request)r, "web", msg, sizeof msg);
                int want_code = -1;
                const char *want_msg = NULL;
                for (size_t k = 0; k < ARRAY_LEN(outcomes); k++)
                    if (outcomes[k].letter == row[r]) {
                        want_code = outcomes[k].code;
                        want_msg = outcomes[k].msg;
                    }
                int good = code == want_code && (!want_msg || strcmp(msg, want_msg) == 0);
                if (!good)
                    bad++;
                ok(good, "refuse %s %s start_pending=%d -> %d '%s' (want %d '%s')", req_names[r],
                   ctr_state_name((enum ctr_state)st), sp, code, code ? msg : "", want_code,
                   want_msg ? want_msg : "");
            }
        }
    }
    ok(bad == 0, "whole request table matches DESIGN (%d mismatches)", bad);

    char small[8];
    int code = ctr_refuse(CTR_EXITED, 0, CTR_REQ_KILL, "web", small, sizeof small);
    ok(code == 409 && strcmp(small, "contain") == 0, "a short buffer is truncated: '%s'", small);
    code = ctr_refuse(CTR_CREATED, 0, CTR_REQ_START, "web", small, sizeof small);
    ok(code == 0, "start of a created container is allowed");
    char m[128];
    code = ctr_refuse(CTR_EXITED, 0, CTR_REQ_KILL, "0123456789ab", m, sizeof m);
    ok(code == 409 && strcmp(m, "container 0123456789ab is not running") == 0,
       "the reference appears in the kill message: '%s'", m);
}

/* ---- backoff ---- */

static void test_backoff(void)
{
    int cur = 0;
    static const int seq[] = {100,   200,   400,   800,   1600,  3200, 6400,
                              12800, 25600, 51200, 60000, 60000, 60000};
    int good = 1;
    for (size_t i = 0; i < ARRAY_LEN(seq); i++) {
        int d = ctr_backoff_next(&cur, 50, BACKOFF_MIN_MS, BACKOFF_MAX_MS, BACKOFF_RESET_MS);
        if (d != seq[i] || cur != seq[i]) {
            good = 0;
            ok(0, "backoff step %zu: got %d (cur %d), want %d", i, d, cur, seq[i]);
        }
    }
    ok(good, "backoff 100ms doubling, capped at 60s");

    cur = 60000;
    ok(ctr_backoff_next(&cur, 10000, 100, 60000, 10000) == 100 && cur == 100,
       "a run of exactly reset_ms resets to min");
    cur = 60000;
    ok(ctr_backoff_next(&cur, 9999, 100, 60000, 10000) == 60000,
       "a run just short of reset_ms keeps max");
    cur = 800;
    ok(ctr_backoff_next(&cur, 9999, 100, 60000, 10000) == 1600, "a short run doubles");
    cur = 800;
    ok(ctr_backoff_next(&cur, 123456789, 100, 60000, 10000) == 100, "a long run resets");
    cur = -5;
    ok(ctr_backoff_next(&cur, 0, 100, 60000, 10000) == 100,
       "a negative current delay starts at min");

    /* odd maxima: never above max, reaches max exactly */
    static const int maxes[] = {1, 99, 101, 199, 201, 999, 1001, 60001, INT_MAX};
    for (size_t k = 0; k < ARRAY_LEN(maxes); k++) {
        int mx = maxes[k], prev = 0, fine = 1, reached = 0;
        cur = 0;
        for (int i = 0; i < 64; i++) {
            int d = ctr_backoff_next(&cur, 0, 100, mx, 10000);
            int want = i == 0 ? (100 < mx ? 100 : mx) : (prev > mx / 2 ? mx : prev * 2);
            if (want > mx)
                want = mx;
            if (d != want || d > mx || d <= 0)
                fine = 0;
            if (d == mx)
                reached = 1;
            prev = d;
        }
        ok(fine && reached && cur == mx,
           "backoff with max %d: doubles, caps at max exactly (last %d)", mx, cur);
    }
    cur = 0;
    ok(ctr_backoff_next(&cur, 0, 7, 100, 1000) == 7 &&
           ctr_backoff_next(&cur, 0, 7, 100, 1000) == 14 &&
           ctr_backoff_next(&cur, 0, 7, 100, 1000) == 28 &&
           ctr_backoff_next(&cur, 0, 7, 100, 1000) == 56 &&
           ctr_backoff_next(&cur, 0, 7, 100, 1000) == 100,
       "custom min 7 max 100: 7 14 28 56 100");
    cur = 0;
    ok(ctr_backoff_next(&cur, 0, 500, 300, 1000) == 300, "min above max is capped at max");
}

/* ---- restart policies ---- */

static void test_parse_restart(void)
{
    static const struct {
        const char *s;
        enum ctr_restart want;
        int retries;
    } good[] = {
        {"no", CTR_RESTART_NO, 0},
        {"always", CTR_RESTART_ALWAYS, 0},
        {"unless-stopped", CTR_RESTART_UNLESS_STOPPED, 0},
        {"on-failure", CTR_RESTART_ON_FAILURE, 0},
        {"on-failure:5", CTR_RESTART_ON_FAILURE, 5},
        {"on-failure:0", CTR_RESTART_ON_FAILURE, 0},
        {"on-failure:1000000", CTR_RESTART_ON_FAILURE, 1000000},
        /* Docker's default: an empty policy (or none, as in a config without "Restart") */
        {"", CTR_RESTART_NO, 0},
        {NULL, CTR_RESTART_NO, 0},
    };
    for (size_t i = 0; i < ARRAY_LEN(good); i++) {
        enum ctr_restart r = CTR_RESTART_ALWAYS;
        int n = -7;
        struct err e = {0};
        int rc = ctr_parse_restart(good[i].s, &r, &n, &e);
        ok(rc == 0 && r == good[i].want && n == good[i].retries,
           "parse restart '%s' -> %s:%d (rc %d: %s)", good[i].s ? good[i].s : "(null)",
           ctr_restart_name(r), n, rc, e.msg);
    }
    static const char *const bad[] = {
        "on-failure:x",
        "always:3",
        "no:1",
        "unless-stopped:2",
        "on-failure:",
        "on-failure:-1",
        "on-failure:1000001",
        "on-failure:5:5",
        "on-failure5",
        "on-failurex",
        "On-Failure",
        "ALWAYS",
        " always",
        "always ",
        "sometimes",
        "on-failure: 5x",
    };
    for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
        enum ctr_restart r;
        int n;
        struct err e = {0};
        int rc = ctr_parse_restart(bad[i], &r, &n, &e);
        ok(rc == -1 && e.code == EINVAL && strstr(e.msg, "invalid restart policy") &&
               strstr(e.msg, bad[i]),
           "parse restart '%s' refused: %s", bad[i], e.msg);
    }
    ok(strcmp(ctr_restart_name(CTR_RESTART_NO), "no") == 0 &&
           strcmp(ctr_restart_name(CTR_RESTART_ALWAYS), "always") == 0 &&
           strcmp(ctr_restart_name(CTR_RESTART_UNLESS_STOPPED), "unless-stopped") == 0 &&
           strcmp(ctr_restart_name(CTR_RESTART_ON_FAILURE), "on-failure") == 0,
       "restart names");
}

static void test_parse_requires(void)
{
    static const struct {
        const char *s, *want;
    } good[] = {
        {"db", "db:started"},
        {"/db", "db:started"},
        {"db:started", "db:started"},
        {"db:healthy", "db:healthy"},
        {"migrate.1:completed", "migrate.1:completed"},
    };
    static const char *const bad[] = {"",    ":healthy", "db:",        "db:ready", "db:healthy:x",
                                      "-db", "d b",      "db:HEALTHY", "/"};
    char buf[CTR_NAME_MAX + 16], name[CTR_NAME_MAX];
    for (size_t i = 0; i < ARRAY_LEN(good); i++) {
        struct err e = {0};
        int rc = ctr_parse_requires(good[i].s, buf, sizeof buf, &e);
        ok(rc == 0 && strcmp(buf, good[i].want) == 0, "--requires %s -> %s (%s)", good[i].s,
           rc == 0 ? buf : "", e.msg);
    }
    for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
        struct err e = {0};
        ok(ctr_parse_requires(bad[i], buf, sizeof buf, &e) < 0 &&
               strstr(e.msg, "invalid --requires") && !strstr(e.msg, "Invalid argument"),
           "--requires '%s' refused (%s)", bad[i], e.msg);
    }
    char longn[CTR_NAME_MAX + 8];
    memset(longn, 'a', sizeof longn - 1);
    longn[sizeof longn - 1] = '\0';
    ok(ctr_parse_requires(longn, buf, sizeof buf, &(struct err){0}) < 0,
       "an over-long name refused");

    enum ctr_cond cond = CTR_COND_STARTED;
    ok(ctr_requires_split("db:healthy", name, &cond) == 0 && strcmp(name, "db") == 0 &&
           cond == CTR_COND_HEALTHY,
       "split db:healthy");
    ok(ctr_requires_split("a.b:completed", name, &cond) == 0 && strcmp(name, "a.b") == 0 &&
           cond == CTR_COND_COMPLETED,
       "split a.b:completed");
    static const char *const bad_canon[] = {"db", "db:", ":started", "db:x", "d b:started"};
    for (size_t i = 0; i < ARRAY_LEN(bad_canon); i++)
        ok(ctr_requires_split(bad_canon[i], name, &cond) < 0, "split refuses '%s'", bad_canon[i]);
    ok(strcmp(ctr_cond_name(CTR_COND_COMPLETED), "completed") == 0, "condition names");
}

static void test_parse_device(void)
{
    static const struct {
        const char *s, *want;
    } good[] = {
        {"/dev/fuse", "/dev/fuse:/dev/fuse:rwm"},
        {"/dev/sda:/dev/xvda", "/dev/sda:/dev/xvda:rwm"},
        {"/dev/sda:r", "/dev/sda:/dev/sda:r"},
        {"/dev/sda:mwr", "/dev/sda:/dev/sda:rwm"},
        {"/dev/sda:/dev/disk/x:rw", "/dev/sda:/dev/disk/x:rw"},
        {"/srv/nodes/kmsg:/dev/kmsg:w", "/srv/nodes/kmsg:/dev/kmsg:w"},
    };
    static const char *const bad[] = {
        "",
        "dev/sda",
        "/dev/sda:",
        "/dev/sda:/dev/x:rwx",
        "/dev/sda:/dev/x:rr",
        "/dev/sda:xvda",
        "/dev/sda:/tmp/x",
        "/etc/passwd",
        "/dev/sda:/dev/",
        "/dev/sda:/dev/../etc/x",
        "/dev/sda:/dev/./x",
        "/dev//sda",
        "/dev/sda/",
        "/dev/a:/dev/b:r:w",
        "/dev/sda::r",
    };
    char buf[2 * CTR_DEVICE_PATH_MAX + 8];
    for (size_t i = 0; i < ARRAY_LEN(good); i++) {
        struct err e = {0};
        int rc = ctr_parse_device(good[i].s, buf, sizeof buf, &e);
        ok(rc == 0 && strcmp(buf, good[i].want) == 0, "--device %s -> %s (%s)", good[i].s,
           rc == 0 ? buf : "", e.msg);
    }
    for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
        struct err e = {0};
        ok(ctr_parse_device(bad[i], buf, sizeof buf, &e) < 0 && strstr(e.msg, "invalid --device"),
           "--device '%s' refused (%s)", bad[i], e.msg);
    }
    char longp[CTR_DEVICE_PATH_MAX + 8];
    memset(longp, 'a', sizeof longp - 1);
    longp[0] = '/';
    longp[sizeof longp - 1] = '\0';
    ok(ctr_parse_device(longp, buf, sizeof buf, &(struct err){0}) < 0, "an over-long path refused");

    struct ctr_device d;
    struct err e = {0};
    ok(ctr_device_resolve("/dev/null:/dev/n2:rw", &d, &e) == 0 && S_ISCHR(d.mode) &&
           major(d.rdev) == 1 && minor(d.rdev) == 3 && strcmp(d.path, "/dev/n2") == 0 &&
           d.access == (DEVICES_READ | DEVICES_WRITE),
       "resolve /dev/null: c 1:3, rw (%s)", e.msg);
    ok(ctr_device_resolve("/nonexistent:/dev/x:r", &d, &e) < 0 &&
           strstr(e.msg, "\"/nonexistent\": no such file or directory"),
       "resolve a missing node (%s)", e.msg);
    ok(ctr_device_resolve("/etc/passwd:/dev/x:r", &d, &e) < 0 && strstr(e.msg, "not a device node"),
       "resolve a regular file (%s)", e.msg);
    ok(ctr_device_split("/dev/null", &d) < 0 && ctr_device_split("/dev/a:/dev/b:q", &d) < 0,
       "split refuses what is not canonical");
}

static void test_policy(void)
{
    static struct ctr c; /* zeroed: only cfg.restart, cfg.max_retries and restart_count matter */
    static const int codes[] = {0, 1, 2, 125, 126, 127, 137, 143, 255};

    for (size_t i = 0; i < ARRAY_LEN(codes); i++) {
        int code = codes[i];
        c.restart_count = 0;
        c.cfg.max_retries = 0;
        c.cfg.restart = CTR_RESTART_NO;
        ok(ctr_policy_restarts(&c, code) == 0, "no: exit %d does not restart", code);
        c.cfg.restart = CTR_RESTART_ALWAYS;
        ok(ctr_policy_restarts(&c, code) == 1, "always: exit %d restarts", code);
        c.cfg.restart = CTR_RESTART_UNLESS_STOPPED;
        ok(ctr_policy_restarts(&c, code) == 1, "unless-stopped: exit %d restarts", code);
        c.cfg.restart = CTR_RESTART_ON_FAILURE;
        ok(ctr_policy_restarts(&c, code) == (code != 0), "on-failure: exit %d %s", code,
           code ? "restarts" : "does not restart");
        c.restart_count = 1000000;
        ok(ctr_policy_restarts(&c, code) == (code != 0),
           "on-failure (unlimited) after 1000000 restarts: exit %d", code);
    }
    c.cfg.restart = CTR_RESTART_ON_FAILURE;
    c.cfg.max_retries = 3;
    for (int n = 0; n <= 5; n++) {
        c.restart_count = n;
        ok(ctr_policy_restarts(&c, 1) == (n < 3), "on-failure:3 after %d restarts: %s", n,
           n < 3 ? "restarts" : "gives up");
        ok(ctr_policy_restarts(&c, 0) == 0, "on-failure:3 after %d restarts, exit 0: no", n);
    }
    c.cfg.max_retries = 1;
    c.restart_count = 0;
    ok(ctr_policy_restarts(&c, 137) == 1, "on-failure:1: first failure restarts");
    c.restart_count = 1;
    ok(ctr_policy_restarts(&c, 137) == 0, "on-failure:1: second failure does not");
    c.cfg.restart = CTR_RESTART_ALWAYS;
    c.cfg.max_retries = 1;
    c.restart_count = 99;
    ok(ctr_policy_restarts(&c, 0) == 1, "always ignores the retry count");
}

static void test_status_code(void)
{
    ok(ctr_status_code(W_EXITCODE(0, 0)) == 0, "exit 0 -> 0");
    ok(ctr_status_code(W_EXITCODE(3, 0)) == 3, "exit 3 -> 3");
    ok(ctr_status_code(W_EXITCODE(255, 0)) == 255, "exit 255 -> 255");
    ok(ctr_status_code(W_EXITCODE(0, SIGKILL)) == 137, "signal 9 -> 137");
    ok(ctr_status_code(W_EXITCODE(0, SIGTERM)) == 143, "signal 15 -> 143");
    ok(ctr_status_code(W_EXITCODE(0, SIGSEGV) | 0x80) == 139, "signal 11 with core -> 139");
    ok(ctr_status_code(-1) == 255, "unknown (-1) -> 255");
    ok(ctr_status_code(W_STOPCODE(SIGSTOP)) == 255, "a stop status -> 255");
}

/* ---- config JSON ---- */

static char **strv(const char *first, ...)
{
    va_list ap;
    size_t n = 0;
    char **v = calloc(CTR_ENV_MAX + 2, sizeof *v);
    if (!v)
        abort();
    va_start(ap, first);
    for (const char *s = first; s; s = va_arg(ap, const char *))
        if (!(v[n++] = strdup(s)))
            abort();
    va_end(ap);
    return v;
}

static char *xdup(const char *s)
{
    char *p = strdup(s);
    if (!p)
        abort();
    return p;
}

static void full_cfg(struct ctr_config *c)
{
    memset(c, 0, sizeof *c);
    c->image = xdup("busybox");
    c->argv = strv("sh", "-c", "echo \"hi\" 'there'\n\ttab \\ é", NULL);
    c->env = strv("PATH=/usr/bin:/bin", "EMPTY=", "SPACE=a b", NULL);
    c->labels = strv("com.example=1", "k=v=w", NULL);
    c->hostname = xdup("host-1");
    c->user = xdup("1000:1000");
    c->workdir = xdup("/srv/app");
    c->read_only = 1;
    c->network = CTR_NET_BRIDGE;
    c->network_name = xdup("front");
    c->ip = xdup("10.1.2.3");
    c->ports = strv("127.0.0.1:8080:80/tcp", "0.0.0.0:0:53/udp", NULL);
    c->dns = strv("10.0.0.53", NULL);
    c->devices = strv("/dev/fuse:/dev/fuse:rwm", "/dev/sda:/dev/xvda:r", NULL);
    c->group_add = strv("audio", "4242", NULL);
    c->requires = strv("db:healthy", "migrate:completed", "cache:started", NULL);
    c->pid_host = 1;
    c->expose = strv("80/tcp", "53/udp", NULL);
    c->publish_all = 1;
    c->mounts = calloc(3, sizeof *c->mounts);
    if (!c->mounts ||
        mount_parse_volume("/srv/h:/data:ro,noexec", &c->mounts[0], &(struct err){0}) < 0 ||
        mount_parse_volume("named:/v:nocopy", &c->mounts[1], &(struct err){0}) < 0 ||
        mount_parse_tmpfs("/t:size=1m,mode=700", &c->mounts[2], &(struct err){0}) < 0)
        abort();
    c->nmounts = 3;
    c->stop_signal = SIGUSR1;
    c->stop_timeout = -1;
    c->restart = CTR_RESTART_ON_FAILURE;
    c->max_retries = 5;
    c->auto_remove = 1;
    c->open_stdin = 1;
    c->tty = 1;
    c->log_max_size = 123456789012LL;
    c->log_max_file = 7;
    c->backoff_min_ms = 50;
    c->backoff_max_ms = 5001;
    c->backoff_reset_ms = 2000;
    c->cap_add = strv("NET_ADMIN", "cap_sys_time", NULL);
    c->cap_drop = strv("ALL", NULL);
    c->privileged = 1;
    c->no_new_privs = 0;
    c->seccomp_unconfined = 1;
    c->seccomp_profile = xdup("{\"defaultAction\":\"SCMP_ACT_ALLOW\"}");
    c->memory = 64LL << 20;
    c->memory_swap = -1;
    c->pids_limit = 50;
    c->nano_cpus = 500000000;
    c->cpu_shares = 512;
    c->init = 1;
}

/* Serialise A to text and parse it back into B. */
static int round_trip(const struct ctr_config *a, struct ctr_config *b, struct err *e)
{
    cJSON *j = ctr_config_json(a);
    char *txt = j ? cJSON_PrintUnformatted(j) : NULL;
    cJSON_Delete(j);
    cJSON *k = txt ? cJSON_Parse(txt) : NULL;
    cJSON_free(txt);
    if (!k)
        return -1;
    int rc = ctr_config_from_json(k, b, e);
    cJSON_Delete(k);
    return rc;
}

static void test_config_round_trip(void)
{
    struct ctr_config a, b;
    struct err e = {0};

    full_cfg(&a);
    int rc = round_trip(&a, &b, &e);
    ok(rc == 0, "full config round trip parses (%s)", e.msg);
    ok(rc == 0 && cfg_eq(&a, &b), "full config round trip keeps every field");
    ok(rc == 0 && b.max_retries == 5 && b.restart == CTR_RESTART_ON_FAILURE,
       "on-failure keeps its retry count (%d)", b.max_retries);
    ok(rc == 0 && b.log_max_size == 123456789012LL, "large log size kept (%lld)", b.log_max_size);
    ctr_config_free(&b);

    static const enum ctr_restart pols[] = {CTR_RESTART_NO, CTR_RESTART_ALWAYS,
                                            CTR_RESTART_UNLESS_STOPPED, CTR_RESTART_ON_FAILURE};
    for (size_t i = 0; i < ARRAY_LEN(pols); i++) {
        a.restart = pols[i];
        a.max_retries = 0;
        static const enum ctr_net nets[] = {CTR_NET_NONE, CTR_NET_HOST, CTR_NET_BRIDGE,
                                            CTR_NET_CONTAINER};
        a.network = nets[i];
        free(a.network_name);
        a.network_name = a.network == CTR_NET_BRIDGE      ? xdup("front")
                         : a.network == CTR_NET_CONTAINER ? xdup("db")
                                                          : NULL;
        a.read_only = a.auto_remove = a.open_stdin = a.tty = (int)(i % 2);
        a.stop_timeout = (int)i * 7;
        a.stop_signal = SIGKILL + (int)i;
        rc = round_trip(&a, &b, &e);
        char nb[64];
        ok(rc == 0 && cfg_eq(&a, &b), "round trip with restart %s, network %s",
           ctr_restart_name(pols[i]), ctr_network_name(&a, nb, sizeof nb));
        ctr_config_free(&b);
    }
    ctr_config_free(&a);

    /* minimal: NULL lists and strings come back empty */
    memset(&a, 0, sizeof a);
    a.image = xdup("img");
    a.argv = strv("true", NULL);
    a.hostname = xdup("h");
    a.stop_signal = SIGTERM;
    a.stop_timeout = 10;
    a.log_max_size = 1024;
    a.log_max_file = 1;
    a.backoff_min_ms = a.backoff_max_ms = a.backoff_reset_ms = 1;
    rc = round_trip(&a, &b, &e);
    ok(rc == 0 && cfg_eq(&a, &b), "minimal config round trip (%s)", e.msg);
    ctr_config_free(&b);
    ctr_config_free(&a);

    /* defaults when optional numbers are absent */
    cJSON *j = cJSON_Parse("{\"Image\":\"i\",\"Argv\":[\"x\"],\"Hostname\":\"h\"}");
    rc = ctr_config_from_json(j, &b, &e);
    ok(rc == 0 && b.stop_signal == SIGTERM && b.stop_timeout == STOP_TIMEOUT_DEFAULT &&
           b.restart == CTR_RESTART_NO && b.max_retries == 0 &&
           b.backoff_min_ms == BACKOFF_MIN_MS && b.backoff_max_ms == BACKOFF_MAX_MS &&
           b.backoff_reset_ms == BACKOFF_RESET_MS && b.log_max_size == LOG_SIZE_DEFAULT &&
           b.log_max_file == LOG_FILES_DEFAULT && b.network == CTR_NET_NONE && !b.read_only &&
           !b.env && !b.labels,
       "absent optional fields take the defaults (%s)", e.msg);
    ctr_config_free(&b);
    cJSON_Delete(j);
}

/* Parse TEXT as a config: returns the ctr_config_from_json result; E gets the error. */
static int parse_cfg(const char *text, struct err *e)
{
    struct ctr_config c;
    cJSON *j = cJSON_Parse(text);
    if (!j) {
        fprintf(stderr, "test bug: bad JSON %s\n", text);
        return -2;
    }
    memset(e, 0, sizeof *e);
    int rc = ctr_config_from_json(j, &c, e);
    cJSON_Delete(j);
    if (rc == 0)
        ctr_config_free(&c);
    else
        ok(c.image == NULL && c.argv == NULL && c.env == NULL, "a refused config leaves CFG empty");
    return rc;
}

#define BASE "\"Image\":\"i\",\"Argv\":[\"x\"],\"Hostname\":\"h\""

static void test_config_reject(void)
{
    struct err e;
    static const char *const bad[] = {
        "[]",
        "\"str\"",
        "null",
        "{\"Argv\":[\"x\"],\"Hostname\":\"h\"}",
        "{\"Image\":\"i\",\"Hostname\":\"h\"}",
        "{\"Image\":\"i\",\"Argv\":[],\"Hostname\":\"h\"}",
        "{\"Image\":\"i\",\"Argv\":null,\"Hostname\":\"h\"}",
        "{\"Image\":\"i\",\"Argv\":[\"x\"]}",
        "{\"Image\":5,\"Argv\":[\"x\"],\"Hostname\":\"h\"}",
        "{\"Image\":null,\"Argv\":[\"x\"],\"Hostname\":\"h\"}",
        "{\"Image\":\"i\",\"Argv\":\"x\",\"Hostname\":\"h\"}",
        "{\"Image\":\"i\",\"Argv\":[1],\"Hostname\":\"h\"}",
        "{\"Image\":\"i\",\"Argv\":[\"x\",null],\"Hostname\":\"h\"}",
        "{\"Image\":\"i\",\"Argv\":[\"x\"],\"Hostname\":[]}",
        "{" BASE ",\"Env\":{}}",
        "{" BASE ",\"Env\":[\"A=b\",3]}",
        "{" BASE ",\"Labels\":\"k=v\"}",
        "{" BASE ",\"Requires\":[\"db\"]}",
        "{" BASE ",\"Requires\":[\"db:ready\"]}",
        "{" BASE ",\"Requires\":\"db:started\"}",
        "{" BASE ",\"User\":0}",
        "{" BASE ",\"WorkingDir\":{}}",
        "{" BASE ",\"ReadOnly\":\"yes\"}",
        "{" BASE ",\"ReadOnly\":2}",
        "{" BASE ",\"StopSignal\":\"TERM\"}",
        "{" BASE ",\"StopSignal\":0}",
        "{" BASE ",\"StopSignal\":65}",
        "{" BASE ",\"StopTimeout\":\"10\"}",
        "{" BASE ",\"StopTimeout\":-2}",
        "{" BASE ",\"MaxRetries\":-1}",
        "{" BASE ",\"MaxRetries\":1000001}",
        "{" BASE ",\"AutoRemove\":null}",
        "{" BASE ",\"LogMaxSize\":1023}",
        "{" BASE ",\"LogMaxFile\":0}",
        "{" BASE ",\"LogMaxFile\":101}",
        "{" BASE ",\"BackoffMin\":0}",
        "{" BASE ",\"BackoffMax\":[]}",
        "{" BASE ",\"BackoffReset\":1e10}",
        "{" BASE ",\"Network\":1}",
        "{" BASE ",\"Restart\":\"sometimes\"}",
        "{" BASE ",\"Restart\":\"always:3\"}",
        "{" BASE ",\"Restart\":true}",
    };
    for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
        int rc = parse_cfg(bad[i], &e);
        ok(rc == -1 && e.code != 0 && e.msg[0], "config %s refused: %s", bad[i], e.msg);
    }

    int rc = parse_cfg("{\"Argv\":[\"x\"],\"Hostname\":\"h\"}", &e);
    ok(rc == -1 && e.code == EINVAL && strstr(e.msg, "missing 'Image'"), "missing Image: %s",
       e.msg);
    rc = parse_cfg("{\"Image\":\"i\",\"Hostname\":\"h\"}", &e);
    ok(rc == -1 && e.code == EINVAL && strstr(e.msg, "empty command"), "missing Argv: %s", e.msg);

    /* list limits: exactly at the limit is fine, one more is E2BIG */
    static const struct {
        const char *key;
        int max;
    } lists[] = {{"Argv", CTR_ARGS_MAX}, {"Env", CTR_ENV_MAX}, {"Labels", CTR_LABELS_MAX}};
    for (size_t l = 0; l < ARRAY_LEN(lists); l++) {
        for (int extra = 0; extra <= 1; extra++) {
            cJSON *j = cJSON_Parse("{" BASE "}");
            cJSON_DeleteItemFromObject(j, lists[l].key);
            cJSON *a = cJSON_AddArrayToObject(j, lists[l].key);
            for (int i = 0; i < lists[l].max + extra; i++) {
                char s[32];
                (void)snprintf(s, sizeof s, "K%d=v", i);
                cJSON_AddItemToArray(a, cJSON_CreateString(s));
            }
            struct ctr_config c;
            memset(&e, 0, sizeof e);
            rc = ctr_config_from_json(j, &c, &e);
            if (extra)
                ok(rc == -1 && e.code == E2BIG, "%s with %d entries refused: %s", lists[l].key,
                   lists[l].max + 1, e.msg);
            else
                ok(rc == 0, "%s with %d entries accepted (%s)", lists[l].key, lists[l].max, e.msg);
            if (rc == 0)
                ctr_config_free(&c);
            cJSON_Delete(j);
        }
    }

    /* string limits: CTR_STR_MAX - 1 bytes fit, CTR_STR_MAX does not */
    static char big[CTR_STR_MAX + 1];
    static const char *const skeys[] = {"Image", "Hostname", "User", "WorkingDir"};
    for (size_t k = 0; k < ARRAY_LEN(skeys) + 2; k++) {
        for (int extra = 0; extra <= 1; extra++) {
            memset(big, 'a', sizeof big);
            big[CTR_STR_MAX - 1 + extra] = '\0';
            cJSON *j = cJSON_Parse("{" BASE "}");
            const char *what;
            if (k < ARRAY_LEN(skeys)) {
                what = skeys[k];
                cJSON_DeleteItemFromObject(j, what);
                cJSON_AddStringToObject(j, what, big);
            } else {
                what = k == ARRAY_LEN(skeys) ? "Env" : "Argv";
                cJSON_DeleteItemFromObject(j, what);
                cJSON *a = cJSON_AddArrayToObject(j, what);
                cJSON_AddItemToArray(a, cJSON_CreateString("x"));
                cJSON_AddItemToArray(a, cJSON_CreateString(big));
            }
            struct ctr_config c;
            memset(&e, 0, sizeof e);
            rc = ctr_config_from_json(j, &c, &e);
            if (extra)
                ok(rc == -1 && e.code == EINVAL, "%s of %d bytes refused: %s", what, CTR_STR_MAX,
                   e.msg);
            else
                ok(rc == 0, "%s of %d bytes accepted (%s)", what, CTR_STR_MAX - 1, e.msg);
            if (rc == 0)
                ctr_config_free(&c);
            cJSON_Delete(j);
        }
    }
    ok(ctr_config_from_json(NULL, &(struct ctr_config){0}, &e) == -1, "NULL config refused");
}

int main(void)
{
    test_refuse();
    test_backoff();
    test_parse_restart();
    test_parse_device();
    test_parse_requires();
    test_policy();
    test_status_code();
    test_config_round_trip();
    test_config_reject();
    return done();
}
