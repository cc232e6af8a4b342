/* SPDX-License-Identifier: MIT */
/* tests/unit/test_snapshot.c - snapshot build/parse and write/load round trips, and the
 * loader's refusal of every kind of corrupt input (STYLE R11): on failure nothing is added.
 * Uses a private temporary directory; no loop, no processes. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/ctr.h"
#include "core/err.h"
#include "core/limits.h"
#include "core/snapshot.h"
#include "core/sv.h"
#include "core/util.h"
#include "tests/unit/cfg_eq.h"
#include "tests/unit/tap.h"

static char tmpdir[] = "/tmp/berth-test-snapshot-XXXXXX";

static void sv_setup(struct sv *sv)
{
    memset(sv, 0, sizeof *sv);
    (void)snprintf(sv->root, sizeof sv->root, "%s", tmpdir);
    (void)snprintf(sv->containers_dir, sizeof sv->containers_dir, "%s/containers", tmpdir);
    (void)snprintf(sv->images_dir, sizeof sv->images_dir, "%s/images", tmpdir);
    (void)snprintf(sv->snapshot_path, sizeof sv->snapshot_path, "%s/berth.json", tmpdir);
}

static void sv_clear(struct sv *sv)
{
    struct ctr *c = sv->ctrs;
    while (c) {
        struct ctr *next = c->next;
        ctr_free(c);
        c = next;
    }
    sv->ctrs = NULL;
    sv->nctrs = 0;
}

static char *xdup(const char *s)
{
    char *p = strdup(s);
    if (!p)
        abort();
    return p;
}

static char **xstrv(int n, const char *const *v)
{
    char **a = calloc((size_t)n + 1, sizeof *a);
    if (!a)
        abort();
    for (int i = 0; i < n; i++)
        a[i] = xdup(v[i]);
    return a;
}

/* A config that differs from the defaults in every field, varied by K. */
static void make_cfg(struct ctr_config *cfg, int k)
{
    static const char *const argv[] = {"sh", "-c", "echo \"$HOME\" && sleep 1"};
    static const char *const env[] = {"PATH=/usr/bin:/bin", "K=v w", "EMPTY="};
    static const char *const labels[] = {"com.example.k=1", "x=y=z"};
    char buf[64];

    memset(cfg, 0, sizeof *cfg);
    (void)snprintf(buf, sizeof buf, "image-%d", k);
    cfg->image = xdup(buf);
    cfg->argv = xstrv(3 - k % 3, argv);
    cfg->env = xstrv(k % 4, env);
    cfg->labels = xstrv(k % 3, labels);
    (void)snprintf(buf, sizeof buf, "host%d", k);
    cfg->hostname = xdup(buf);
    cfg->user = k % 2 ? xdup("1000:100") : NULL;
    cfg->workdir = k % 2 ? NULL : xdup("/work dir");
    cfg->read_only = k % 2;
    cfg->network = k % 2 ? CTR_NET_HOST : CTR_NET_NONE;
    cfg->stop_signal = k % 2 ? SIGINT : SIGTERM;
    cfg->stop_timeout = k % 2 ? -1 : 30 + k;
    cfg->restart = (enum ctr_restart)(k % 4);
    cfg->max_retries = cfg->restart == CTR_RESTART_ON_FAILURE ? 3 + k : 0;
    cfg->auto_remove = cfg->restart == CTR_RESTART_NO && k % 2;
    cfg->open_stdin = !(k % 2);
    cfg->tty = k % 3 == 0;
    cfg->log_max_size = 1048576LL * (k + 1);
    cfg->log_max_file = 1 + k;
    cfg->backoff_min_ms = 10 + k;
    cfg->backoff_max_ms = 9999 + k;
    cfg->backoff_reset_ms = 5000 + k;
    /* health: none, a shell check, an exec check, NONE (an image's check disabled) */
    static const char *const shell[] = {"CMD-SHELL", "test -e /tmp/ready || exit 1"};
    static const char *const exec[] = {"CMD", "/bin/check", "--ping", "a b"};
    static const char *const none[] = {"NONE"};
    if (k % 4 == 1)
        cfg->health.test = xstrv(2, shell);
    else if (k % 4 == 2)
        cfg->health.test = xstrv(4, exec);
    else if (k % 4 == 3)
        cfg->health.test = xstrv(1, none);
    cfg->health.interval_ms = k % 2 ? 200 + k : 0;
    cfg->health.timeout_ms = k % 3 ? 1500 * k : 0;
    cfg->health.start_period_ms = 60000LL * k;
    cfg->health.start_interval_ms = k % 2 ? 0 : 250 + k;
    cfg->health.retries = k;
    cfg->health.on_failure = (enum ctr_on_failure)(k % 4);
    cfg->health.sdnotify = k % 3 == 1;
}

struct spec {
    const char *name;
    enum ctr_state state;
    pid_t pid;
    unsigned long long pid_start;
    int exit_code;
    const char *error;
    int oom_killed, restart_count, manual_stop, backoff_ms;
    int64_t created_ns, started_ns, finished_ns;
};

/* Realistic wall-clock times in ns: they need all 64 bits' worth of precision (> 2^53). */
static const struct spec specs[] = {
    {"alpha", CTR_EXITED, 0, 0, 127, "exec: \"nope\": executable file not found in $PATH", 0, 0, 0,
     0, 1700000000123456789LL, 1700000001234567891LL, 1700000002345678912LL},
    {"beta", CTR_RESTARTING, 0, 0, 1, "", 1, 5, 0, 1600, 1700000003000000001LL,
     1700000004000000002LL, 1700000005000000003LL},
    {"gamma.1", CTR_CREATED, 0, 0, 0, "", 0, 0, 0, 0, 1700000006999999999LL, 0, 0},
    {"delta_2", CTR_RUNNING, 4194304, 4503599627370495ULL, 0, "", 0, 2, 0, 400,
     1700000007000000000LL, 1700000008000000000LL, 0},
    {"Eps-3", CTR_EXITED, 0, 0, 255, "exit status unknown: not a child of berthd", 0, 1000000000, 1,
     1000000000, 1, 2, 3},
    {"zeta", CTR_PAUSED, 1, 1, 0, "", 0, 0, 0, 0, 1700000009000000000LL, 1700000009500000000LL, 0},
    {"eta", CTR_STOPPING, 77, 123456789ULL, 0, "", 0, 0, 1, 0, 1700000010000000000LL,
     1700000010500000000LL, 0},
    {"theta", CTR_REMOVING, 0, 0, -1, "", 0, 0, 0, 0, 1700000011000000000LL, 1700000011500000000LL,
     1700000011900000000LL},
};

static struct ctr *add_ctr(struct sv *sv, const struct spec *s, int k)
{
    char id[CTR_ID_LEN + 1];
    struct ctr_config cfg;
    struct err e = {0};

    if (util_random_hex(id, sizeof id, &e) < 0)
        abort();
    make_cfg(&cfg, k);
    struct ctr *c = ctr_restore(sv, id, s->name, &cfg);
    if (!c)
        abort();
    c->state = s->state;
    c->pid = s->pid;
    c->pid_start = s->pid_start;
    c->exit_code = s->exit_code;
    (void)snprintf(c->error, sizeof c->error, "%s", s->error);
    c->oom_killed = s->oom_killed;
    c->restart_count = s->restart_count;
    c->manual_stop = s->manual_stop;
    c->backoff_ms = s->backoff_ms;
    c->created_ns = s->created_ns;
    c->started_ns = s->started_ns;
    c->finished_ns = s->finished_ns;
    sv_add(sv, c);
    return c;
}

static void fill(struct sv *sv)
{
    for (size_t i = 0; i < ARRAY_LEN(specs); i++)
        (void)add_ctr(sv, &specs[i], (int)i);
}

/* Compare the containers of A (skipping dead ones) with those of B, in list order. */
static void compare(const char *how, const struct sv *a, const struct sv *b)
{
    const struct ctr *x = a->ctrs, *y = b->ctrs;
    int n = 0, alive = 0;

    for (const struct ctr *c = a->ctrs; c; c = c->next)
        alive += c->state != CTR_DEAD;
    ok(b->nctrs == alive, "%s: %d containers (want %d)", how, b->nctrs, alive);
    for (; x; x = x->next) {
        if (x->state == CTR_DEAD)
            continue;
        if (!y) {
            ok(0, "%s: container '%s' missing", how, x->name);
            continue;
        }
        n++;
        ok(strcmp(x->id, y->id) == 0 && strcmp(x->name, y->name) == 0,
           "%s #%d: same id and name in the same place ('%s' vs '%s')", how, n, x->name, y->name);
        ok(x->state == y->state, "%s '%s': state %s", how, x->name, ctr_state_name(y->state));
        ok(x->pid == y->pid && x->pid_start == y->pid_start, "%s '%s': pid %d start %llu", how,
           x->name, (int)y->pid, y->pid_start);
        ok(x->exit_code == y->exit_code && strcmp(x->error, y->error) == 0 &&
               x->oom_killed == y->oom_killed,
           "%s '%s': exit code %d, error '%s', oom %d", how, x->name, y->exit_code, y->error,
           y->oom_killed);
        ok(x->restart_count == y->restart_count && x->manual_stop == y->manual_stop &&
               x->backoff_ms == y->backoff_ms,
           "%s '%s': restart count %d, manual stop %d, backoff %d", how, x->name, y->restart_count,
           y->manual_stop, y->backoff_ms);
        ok(x->created_ns == y->created_ns, "%s '%s': created %lld (want %lld)", how, x->name,
           (long long)y->created_ns, (long long)x->created_ns);
        ok(x->started_ns == y->started_ns, "%s '%s': started %lld (want %lld)", how, x->name,
           (long long)y->started_ns, (long long)x->started_ns);
        ok(x->finished_ns == y->finished_ns, "%s '%s': finished %lld (want %lld)", how, x->name,
           (long long)y->finished_ns, (long long)x->finished_ns);
        ok(cfg_eq(&x->cfg, &y->cfg), "%s '%s': config equal", how, x->name);
        ok(y->sv == b && y->pidfd == -1 && y->spawn_fd == -1 && !y->start_pending,
           "%s '%s': transient fields reset", how, x->name);
        y = y->next;
    }
    ok(y == NULL, "%s: no extra containers", how);
}

static char *build_text(const struct sv *sv)
{
    cJSON *root = snapshot_build(sv);
    char *txt = root ? cJSON_PrintUnformatted(root) : NULL;
    cJSON_Delete(root);
    return txt;
}

static void test_round_trip(void)
{
    static struct sv a, b, c;
    struct err e = {0};

    sv_setup(&a);
    fill(&a);
    struct ctr *dead = add_ctr(&a, &(struct spec){.name = "dead1", .state = CTR_DEAD}, 9);
    char *txt = build_text(&a);
    ok(txt != NULL, "snapshot_build + print");
    ok(txt && !strstr(txt, dead->id), "a dead container is not in the snapshot");

    sv_setup(&b);
    int rc = txt ? snapshot_parse(&b, txt, strlen(txt), &e) : -1;
    ok(rc == 0, "snapshot_parse of a built snapshot (%s)", e.msg);
    compare("parse", &a, &b);
    ok(b.dirty, "parse marks the new state dirty");

    /* the parsed state serialises to the same text */
    char *txt2 = build_text(&b);
    ok(txt && txt2 && strcmp(txt, txt2) == 0, "build(parse(build(x))) == build(x)");
    cJSON_free(txt2);
    sv_clear(&b);

    /* through the file */
    rc = snapshot_write(&a, &e);
    ok(rc == 0, "snapshot_write (%s)", e.msg);
    struct stat st;
    char tmp[PATH_MAX_BERTH + 8];
    (void)snprintf(tmp, sizeof tmp, "%s.tmp", a.snapshot_path);
    ok(stat(a.snapshot_path, &st) == 0 && (st.st_mode & 0777) == 0600,
       "snapshot file exists with mode 0600 (%o)", st.st_mode & 0777);
    ok(access(tmp, F_OK) < 0 && errno == ENOENT, "no temporary file is left behind");
    sv_setup(&c);
    rc = snapshot_load(&c, &e);
    ok(rc == 0, "snapshot_load (%s)", e.msg);
    compare("load", &a, &c);
    sv_clear(&c);

    /* write again over an existing file: the newest state wins */
    dead->state = CTR_EXITED;
    rc = snapshot_write(&a, &e);
    sv_setup(&c);
    rc = rc == 0 ? snapshot_load(&c, &e) : rc;
    ok(rc == 0 && c.nctrs == (int)ARRAY_LEN(specs) + 1 && strcmp(c.ctrs->name, "dead1") == 0,
       "a rewrite replaces the file: %d containers, newest '%s'", c.nctrs,
       c.ctrs ? c.ctrs->name : "");
    sv_clear(&c);
    cJSON_free(txt);
    sv_clear(&a);

    /* an empty supervisor */
    sv_setup(&a);
    txt = build_text(&a);
    ok(txt && strcmp(txt, "{\"version\":1,\"containers\":[],\"networks\":[],\"volumes\":[]}") == 0,
       "empty snapshot: %s", txt ? txt : "(null)");
    sv_setup(&b);
    rc = txt ? snapshot_parse(&b, txt, strlen(txt), &e) : -1;
    ok(rc == 0 && b.nctrs == 0 && b.ctrs == NULL, "empty snapshot parses to nothing");
    cJSON_free(txt);

    /* a missing file is an empty state */
    (void)unlink(a.snapshot_path);
    sv_setup(&c);
    memset(&e, 0, sizeof e);
    rc = snapshot_load(&c, &e);
    ok(rc == 0 && c.nctrs == 0 && c.ctrs == NULL, "a missing snapshot loads as empty (%s)", e.msg);
}

/* ---- corrupt input ---- */

static struct sv victim; /* holds one container that must survive every failed parse */

/* snapshot_parse in a child: for inputs whose acceptance is undefined behaviour (a double
 * beyond INT64_MAX converted to int64_t), which a sanitizer may abort on. */
static int parse_isolated(const char *text, size_t len, struct err *e)
{
    int fds[2];
    if (pipe(fds) < 0)
        return -2;
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0)
        return -2;
    if (pid == 0) {
        struct {
            int rc;
            struct err e;
        } r = {0};
        (void)close(fds[0]);
        r.rc = snapshot_parse(&victim, text, len, &r.e);
        _exit(write(fds[1], &r, sizeof r) == (ssize_t)sizeof r ? 0 : 1);
    }
    (void)close(fds[1]);
    struct {
        int rc;
        struct err e;
    } r = {-2, {0, "crashed"}};
    ssize_t got = read(fds[0], &r, sizeof r);
    (void)close(fds[0]);
    int status = 0;
    (void)waitpid(pid, &status, 0);
    if (got != (ssize_t)sizeof r || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        (void)snprintf(e->msg, sizeof e->msg, "parser crashed");
        return -2;
    }
    *e = r.e;
    return r.rc;
}

static void expect_fail(const char *what, const char *text, size_t len, int code,
                        const char *needle, int isolate)
{
    struct err e = {0};
    struct ctr *head = victim.ctrs;
    int n = victim.nctrs;
    int rc = isolate ? parse_isolated(text, len, &e) : snapshot_parse(&victim, text, len, &e);
    ok(rc == -1 && e.code == code && (!needle || strstr(e.msg, needle)) && victim.nctrs == n &&
           victim.ctrs == head && head && head->next == NULL,
       "%s: refused with %s (%s), nothing added", what, strerror(code), e.msg);
    while (victim.ctrs && victim.ctrs != head) { /* wrongly accepted: undo for the next case */
        struct ctr *next = victim.ctrs->next;
        ctr_free(victim.ctrs);
        victim.ctrs = next;
    }
    victim.nctrs = n;
}

typedef void (*mutator)(cJSON *root);

static cJSON *first(cJSON *root)
{
    return cJSON_GetArrayItem(cJSON_GetObjectItem(root, "containers"), 0);
}

static void set_num(cJSON *o, const char *k, double v)
{
    cJSON_DeleteItemFromObject(o, k);
    cJSON_AddNumberToObject(o, k, v);
}

static void set_str(cJSON *o, const char *k, const char *v)
{
    cJSON_DeleteItemFromObject(o, k);
    cJSON_AddStringToObject(o, k, v);
}

static void m_version2(cJSON *r)
{
    set_num(r, "version", 2);
}
static void m_version0(cJSON *r)
{
    set_num(r, "version", 0);
}
static void m_version_str(cJSON *r)
{
    set_str(r, "version", "1");
}
static void m_version_missing(cJSON *r)
{
    cJSON_DeleteItemFromObject(r, "version");
}
static void m_containers_obj(cJSON *r)
{
    cJSON_DeleteItemFromObject(r, "containers");
    cJSON_AddObjectToObject(r, "containers");
}
static void m_containers_str(cJSON *r)
{
    set_str(r, "containers", "[]");
}
static void m_containers_missing(cJSON *r)
{
    cJSON_DeleteItemFromObject(r, "containers");
}
static void m_ctr_number(cJSON *r)
{
    cJSON_AddItemToArray(cJSON_GetObjectItem(r, "containers"), cJSON_CreateNumber(5));
}
static void m_id_short(cJSON *r)
{
    set_str(first(r), "Id", "0123456789abcdef");
}
static void m_id_upper(cJSON *r)
{
    set_str(first(r), "Id", "0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef");
}
static void m_id_nonhex(cJSON *r)
{
    set_str(first(r), "Id", "0123456789abcdeg0123456789abcdef0123456789abcdef0123456789abcdef");
}
static void m_id_long(cJSON *r)
{
    set_str(first(r), "Id", "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0");
}
static void m_id_number(cJSON *r)
{
    set_num(first(r), "Id", 1);
}
static void m_id_path(cJSON *r)
{
    set_str(first(r), "Id", "../../../../../../../../../../../../../../../../../../../etc/x");
}
static void m_name_dash(cJSON *r)
{
    set_str(first(r), "Name", "-web");
}
static void m_name_slash(cJSON *r)
{
    set_str(first(r), "Name", "a/b");
}
static void m_name_empty(cJSON *r)
{
    set_str(first(r), "Name", "");
}
static void m_name_long(cJSON *r)
{
    char n[CTR_NAME_MAX + 1];
    memset(n, 'a', CTR_NAME_MAX);
    n[CTR_NAME_MAX] = '\0';
    set_str(first(r), "Name", n);
}
static void m_name_missing(cJSON *r)
{
    cJSON_DeleteItemFromObject(first(r), "Name");
}
static void m_state_unknown(cJSON *r)
{
    set_str(first(r), "State", "sleeping");
}
static void m_state_case(cJSON *r)
{
    set_str(first(r), "State", "Running");
}
static void m_state_number(cJSON *r)
{
    set_num(first(r), "State", 1);
}
static void m_error_long(cJSON *r)
{
    char m[ERR_MSG_MAX + 1];
    memset(m, 'e', ERR_MSG_MAX);
    m[ERR_MSG_MAX] = '\0';
    set_str(first(r), "Error", m);
}
static void m_error_missing(cJSON *r)
{
    cJSON_DeleteItemFromObject(first(r), "Error");
}
static void m_dup_name(cJSON *r)
{
    cJSON *arr = cJSON_GetObjectItem(r, "containers");
    set_str(cJSON_GetArrayItem(arr, 2), "Name",
            cJSON_GetObjectItem(cJSON_GetArrayItem(arr, 0), "Name")->valuestring);
}
static void m_dup_id(cJSON *r)
{
    cJSON *arr = cJSON_GetObjectItem(r, "containers");
    set_str(cJSON_GetArrayItem(arr, 1), "Id",
            cJSON_GetObjectItem(cJSON_GetArrayItem(arr, 0), "Id")->valuestring);
}
static void m_config_missing(cJSON *r)
{
    cJSON_DeleteItemFromObject(first(r), "Config");
}
static void m_config_no_image(cJSON *r)
{
    cJSON_DeleteItemFromObject(cJSON_GetObjectItem(first(r), "Config"), "Image");
}
static void m_config_signal(cJSON *r)
{
    set_num(cJSON_GetObjectItem(first(r), "Config"), "StopSignal", 99);
}
static void m_config_argv_empty(cJSON *r)
{
    cJSON *cfg = cJSON_GetObjectItem(first(r), "Config");
    cJSON_DeleteItemFromObject(cfg, "Argv");
    cJSON_AddArrayToObject(cfg, "Argv");
}
static cJSON *health_of(cJSON *r)
{
    cJSON *cfg = cJSON_GetObjectItem(first(r), "Config");
    cJSON *h = cJSON_GetObjectItem(cfg, "Health");
    return h ? h : cJSON_AddObjectToObject(cfg, "Health");
}
static void m_health_test_type(cJSON *r)
{
    cJSON *h = health_of(r);
    cJSON_DeleteItemFromObject(h, "Test");
    cJSON *t = cJSON_AddArrayToObject(h, "Test");
    cJSON_AddItemToArray(t, cJSON_CreateString("SHELL"));
    cJSON_AddItemToArray(t, cJSON_CreateString("true"));
}
static void m_health_test_str(cJSON *r)
{
    set_str(health_of(r), "Test", "CMD true");
}
static void m_health_interval(cJSON *r)
{
    set_num(health_of(r), "IntervalMs", -1);
}
static void m_health_retries(cJSON *r)
{
    set_num(health_of(r), "Retries", 1e7);
}
static void m_health_action(cJSON *r)
{
    set_str(health_of(r), "OnFailure", "reboot");
}
static void m_health_obj(cJSON *r)
{
    cJSON *cfg = cJSON_GetObjectItem(first(r), "Config");
    set_str(cfg, "Health", "yes");
}
static void m_too_many(cJSON *r)
{
    cJSON *arr = cJSON_GetObjectItem(r, "containers");
    while (cJSON_GetArraySize(arr) <= CTR_MAX)
        cJSON_AddItemToArray(arr, cJSON_CreateObject());
}
/* the last container is broken: the ones before it must be rolled back */
static void m_last_bad(cJSON *r)
{
    cJSON *arr = cJSON_GetObjectItem(r, "containers");
    set_num(cJSON_GetArrayItem(arr, cJSON_GetArraySize(arr) - 1), "ExitCode", 256);
}

static const struct {
    const char *what;
    mutator fn;
    int code;
    const char *needle;
} mutations[] = {
    {"version 2", m_version2, EINVAL, "version"},
    {"version 0", m_version0, EINVAL, "version"},
    {"version as a string", m_version_str, EINVAL, "version"},
    {"no version", m_version_missing, EINVAL, "version"},
    {"containers an object", m_containers_obj, EINVAL, "not an array"},
    {"containers a string", m_containers_str, EINVAL, "not an array"},
    {"no containers", m_containers_missing, EINVAL, "not an array"},
    {"a container that is a number", m_ctr_number, EINVAL, "not an object"},
    {"short id", m_id_short, EINVAL, "bad id"},
    {"upper-case id", m_id_upper, EINVAL, "bad id"},
    {"non-hex id", m_id_nonhex, EINVAL, "bad id"},
    {"65-digit id", m_id_long, EINVAL, "'Id'"},
    {"numeric id", m_id_number, EINVAL, "'Id'"},
    {"path in id", m_id_path, EINVAL, "bad id"},
    {"name with leading dash", m_name_dash, EINVAL, "bad name"},
    {"name with a slash", m_name_slash, EINVAL, "bad name"},
    {"empty name", m_name_empty, EINVAL, "bad name"},
    {"64-character name", m_name_long, EINVAL, "'Name'"},
    {"no name", m_name_missing, EINVAL, "'Name'"},
    {"unknown state", m_state_unknown, EINVAL, "unknown state"},
    {"state in capitals", m_state_case, EINVAL, "unknown state"},
    {"numeric state", m_state_number, EINVAL, "'State'"},
    {"256-byte error", m_error_long, EINVAL, "'Error'"},
    {"no error", m_error_missing, EINVAL, "'Error'"},
    {"duplicate names", m_dup_name, EINVAL, "duplicate"},
    {"duplicate ids", m_dup_id, EINVAL, "duplicate"},
    {"no config", m_config_missing, EINVAL, "config"},
    {"config without image", m_config_no_image, EINVAL, "Image"},
    {"config with signal 99", m_config_signal, EINVAL, "StopSignal"},
    {"config with empty argv", m_config_argv_empty, EINVAL, "empty command"},
    {"health test of an unknown type", m_health_test_type, EINVAL, "health test type"},
    {"health test as a string", m_health_test_str, EINVAL, "health test"},
    {"negative health interval", m_health_interval, EINVAL, "IntervalMs"},
    {"health retries 1e7", m_health_retries, EINVAL, "Retries"},
    {"unknown health action", m_health_action, EINVAL, "OnFailure"},
    {"health not an object", m_health_obj, EINVAL, "'Health'"},
    {"more than CTR_MAX containers", m_too_many, E2BIG, "containers"},
    {"last container broken", m_last_bad, EINVAL, "ExitCode"},
};

/* numeric fields out of range, missing or of the wrong type */
static const struct {
    const char *key;
    double v; /* NAN-free sentinels: 1e300 means "delete", -1e300 means "string" */
} ranges[] = {
    {"Pid", -1},
    {"Pid", 4194305},
    {"Pid", 1e300},
    {"Pid", -1e300},
    {"PidStart", -1},
    {"PidStart", 1e20},
    {"ExitCode", 256},
    {"ExitCode", -2},
    {"ExitCode", -1e300},
    {"OOMKilled", 2},
    {"RestartCount", -1},
    {"RestartCount", 1e10},
    {"ManualStop", -1},
    {"ManualStop", 1e300},
    {"Created", -1},
    {"Started", -5},
    {"Finished", 1e300},
    {"Finished", -1e300},
    {"Backoff", -1},
    {"Backoff", 2e9},
    /* beyond INT64_MAX (9.22e18): cannot be stored in an int64_t nanosecond time */
    {"Created", 9.25e18},
    {"Finished", 9.29e18},
};

static void test_corrupt(void)
{
    static struct sv src;
    struct err e = {0};

    sv_setup(&victim);
    (void)add_ctr(&victim, &(struct spec){.name = "keep", .state = CTR_EXITED}, 0);
    sv_setup(&src);
    for (int i = 0; i < 3; i++)
        (void)add_ctr(&src, &specs[i], i);
    char *txt = build_text(&src);
    size_t len = strlen(txt);

    /* every proper prefix, each in a buffer of exactly that size */
    size_t accepted = 0, wrong_code = 0, first_bad = 0;
    for (size_t l = 0; l < len; l++) {
        char *p = malloc(l ? l : 1);
        if (!p)
            abort();
        memcpy(p, txt, l);
        memset(&e, 0, sizeof e);
        if (snapshot_parse(&victim, p, l, &e) == 0) {
            if (!accepted++)
                first_bad = l;
        } else if (e.code != EINVAL) {
            wrong_code++;
        }
        free(p);
    }
    ok(accepted == 0 && wrong_code == 0,
       "all %zu truncations refused with EINVAL (accepted %zu, first at %zu; other codes %zu)", len,
       accepted, first_bad, wrong_code);
    ok(victim.nctrs == 1 && victim.ctrs && victim.ctrs->next == NULL,
       "truncated snapshots add nothing");
    memset(&e, 0, sizeof e);
    (void)snapshot_parse(&victim, txt, len / 2, &e);
    ok(strstr(e.msg, "invalid JSON near byte") != NULL, "a truncation names the byte: %s", e.msg);

    expect_fail("empty text", "", 0, EINVAL, "invalid JSON", 0);
    expect_fail("not JSON", "garbage", 7, EINVAL, "invalid JSON", 0);
    expect_fail("a JSON array", "[]", 2, EINVAL, "version", 0);
    expect_fail("JSON null", "null", 4, EINVAL, "version", 0);
    /* len beyond SNAPSHOT_MAX is checked before the text is read */
    expect_fail("larger than SNAPSHOT_MAX", txt, (size_t)SNAPSHOT_MAX + 1, EFBIG, "larger", 0);

    for (size_t i = 0; i < ARRAY_LEN(mutations); i++) {
        cJSON *root = cJSON_Parse(txt);
        mutations[i].fn(root);
        char *bad = cJSON_PrintUnformatted(root);
        cJSON_Delete(root);
        expect_fail(mutations[i].what, bad, strlen(bad), mutations[i].code, mutations[i].needle, 0);
        cJSON_free(bad);
    }
    for (size_t i = 0; i < ARRAY_LEN(ranges); i++) {
        for (int which = 0; which < 3; which++) {
            char what[96];
            cJSON *root = cJSON_Parse(txt);
            cJSON *c = cJSON_GetArrayItem(cJSON_GetObjectItem(root, "containers"), which);
            if (ranges[i].v == 1e300) {
                cJSON_DeleteItemFromObject(c, ranges[i].key);
                (void)snprintf(what, sizeof what, "container %d without %s", which, ranges[i].key);
            } else if (ranges[i].v == -1e300) {
                set_str(c, ranges[i].key, "1x"); /* times are decimal strings: make it bad */
                (void)snprintf(what, sizeof what, "container %d with %s a bad string", which,
                               ranges[i].key);
            } else {
                set_num(c, ranges[i].key, ranges[i].v);
                (void)snprintf(what, sizeof what, "container %d with %s = %g", which, ranges[i].key,
                               ranges[i].v);
            }
            char *bad = cJSON_PrintUnformatted(root);
            cJSON_Delete(root);
            expect_fail(what, bad, strlen(bad), EINVAL, ranges[i].key, ranges[i].v > 9.2e18);
            cJSON_free(bad);
        }
    }

    /* the file loader: a corrupt file is refused with its path in the message */
    int fd = open(victim.snapshot_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    ok(fd >= 0 && write(fd, txt, len - 1) == (ssize_t)(len - 1), "write a truncated file");
    if (fd >= 0)
        (void)close(fd);
    memset(&e, 0, sizeof e);
    int rc = snapshot_load(&victim, &e);
    ok(rc == -1 && e.code == EINVAL && strstr(e.msg, victim.snapshot_path) &&
           strstr(e.msg, "corrupt") && victim.nctrs == 1,
       "snapshot_load of a truncated file: %s", e.msg);
    /* a sparse file over SNAPSHOT_MAX: refused from its size, without reading it */
    fd = open(victim.snapshot_path, O_WRONLY | O_TRUNC | O_CLOEXEC);
    ok(fd >= 0 && ftruncate(fd, (off_t)SNAPSHOT_MAX + 1) == 0, "make a sparse oversize file");
    if (fd >= 0)
        (void)close(fd);
    memset(&e, 0, sizeof e);
    rc = snapshot_load(&victim, &e);
    ok(rc == -1 && e.code == EFBIG && strstr(e.msg, victim.snapshot_path) && victim.nctrs == 1,
       "snapshot_load of an oversize file: EFBIG (%s)", e.msg);
    (void)unlink(victim.snapshot_path);

    /* the untouched text is still accepted: the failures above were the mutations' */
    rc = snapshot_parse(&victim, txt, len, &e);
    ok(rc == 0 && victim.nctrs == 4, "the unmodified text parses (%s)", e.msg);

    cJSON_free(txt);
    sv_clear(&src);
    sv_clear(&victim);
}

int main(void)
{
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 77;
    }
    test_round_trip();
    test_corrupt();
    char cmd[128];
    (void)snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    if (system(cmd) != 0)
        fprintf(stderr, "# could not remove %s\n", tmpdir);
    return done();
}
