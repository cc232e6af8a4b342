/* SPDX-License-Identifier: MIT */
/* tests/unit/test_spawn.c - the --init hand-off (a container's config plus its compiled seccomp
 * program, carried across berthd's re-exec as berth-init): exact round trips of a real default
 * profile and of a full config, and refusal of every malformed or truncated text. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>
#include <linux/filter.h>

#include "core/ctr.h"
#include "core/err.h"
#include "core/seccomp.h"
#include "core/spawn.h"
#include "core/util.h"
#include "tests/unit/cfg_eq.h"
#include "tests/unit/tap.h"

static char *argv_[] = {"sh", "-c", "echo \"quoted\" \\ and\nnewline", NULL};
static char *env_[] = {"A=1", "EMPTY=", "UNICODE=\xc3\xa9", NULL};
static char *add_[] = {"NET_ADMIN", NULL};
static char *drop_[] = {"CAP_KILL", "chown", NULL};

static int bpf_eq(const struct seccomp_bpf *a, const struct seccomp_bpf *b)
{
    if (a->n != b->n)
        return 0;
    for (int i = 0; i < a->n; i++)
        if (a->prog[i].len != b->prog[i].len ||
            memcmp(a->prog[i].filter, b->prog[i].filter,
                   a->prog[i].len * sizeof(struct sock_filter)) != 0)
            return 0;
    return 1;
}

static void round_trip(const char *what, const struct ctr_config *cfg,
                       const struct seccomp_bpf *bpf)
{
    struct err e = {0};
    struct ctr_config back;
    struct seccomp_bpf bback;
    char *text = spawn_handoff_encode(cfg, bpf, &e);
    ok(text != NULL, "%s: encodes (%s)", what, err_str(&e));
    if (!text)
        return;
    int rc = spawn_handoff_decode(text, &back, &bback, &e);
    ok(rc == 0, "%s: decodes (%s)", what, err_str(&e));
    if (rc == 0) {
        ok(cfg_eq(cfg, &back), "%s: config comes back field for field", what);
        ok(bpf_eq(bpf, &bback), "%s: %d seccomp program(s) come back byte for byte", what, bpf->n);
        ctr_config_free(&back);
        seccomp_bpf_free(&bback);
    }
    /* every strict prefix is refused without leaking (ASan) */
    size_t len = strlen(text), bad = 0;
    for (size_t k = 0; k < len; k++) {
        char save = text[k];
        text[k] = 0;
        if (spawn_handoff_decode(text, &back, &bback, &e) == 0) {
            bad++;
            ctr_config_free(&back);
            seccomp_bpf_free(&bback);
        }
        text[k] = save;
    }
    ok(bad == 0, "%s: all %zu truncations are refused", what, len);
    free(text);
}

static void refuse(const char *text, const char *why)
{
    struct err e = {0};
    struct ctr_config cfg;
    struct seccomp_bpf bpf;
    int rc = spawn_handoff_decode(text, &cfg, &bpf, &e);
    ok(rc < 0 && e.code == EINVAL && e.msg[0], "refused: %s (%s)", why, err_str(&e));
    if (rc == 0) {
        ctr_config_free(&cfg);
        seccomp_bpf_free(&bpf);
    }
}

/* Send one byte with FD attached (what a -t child does with the pty's master). */
static int send_fd(int sock, int fd)
{
    return util_send_fd(sock, "T", 1, fd, 0) == 1 ? 0 : -1;
}

/* The report socket as berthd reads it: nothing yet, a pty master, then EOF or a report. */
static void test_report(void)
{
    int p[2];
    struct spawn_report r;
    int pty = -1;
    ok(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, p) == 0, "report socket");
    (void)fcntl(p[0], F_SETFL, O_NONBLOCK);
    ok(spawn_report_read(p[0], &r, &pty) == SPAWN_WAIT && pty == -1, "nothing sent: wait");
    int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
    ok(send_fd(p[1], null) == 0, "a master sent");
    ok(spawn_report_read(p[0], &r, &pty) == SPAWN_WAIT && pty >= 0 && pty != null,
       "the master is taken, then wait for the report");
    int second = -1;
    (void)send_fd(p[1], null);
    struct spawn_report sent = {.exit_code = 127};
    (void)snprintf(sent.e.msg, sizeof sent.e.msg, "exec: \"x\": executable file not found");
    ok(write(p[1], &sent, sizeof sent) == (ssize_t)sizeof sent, "a report written");
    ok(spawn_report_read(p[0], &r, &second) == SPAWN_FAILED && second >= 0 && r.exit_code == 127 &&
           strstr(r.e.msg, "not found"),
       "a master and a failure in one read: both seen");
    (void)close(second);
    (void)close(pty);
    (void)close(p[1]);
    ok(spawn_report_read(p[0], &r, &pty) == SPAWN_EXECED, "EOF: the command was exec'd");
    (void)close(p[0]);

    ok(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, p) == 0, "another report socket");
    (void)fcntl(p[0], F_SETFL, O_NONBLOCK);
    ok(write(p[1], "short", 5) == 5, "a torn report");
    pty = -1;
    ok(spawn_report_read(p[0], &r, &pty) == SPAWN_FAILED && r.exit_code == 125 &&
           strstr(r.e.msg, "failed before exec") && pty == -1,
       "a report of the wrong size is a 125 failure");
    (void)close(p[0]);
    (void)close(p[1]);
    (void)close(null);
}

int main(void)
{
    test_report();
    struct err e = {0};
    struct ctr_config cfg = {
        .image = "busybox",
        .argv = argv_,
        .env = env_,
        .hostname = "h",
        .user = "1000:1000",
        .workdir = "/work dir",
        .read_only = 1,
        .cap_add = add_,
        .cap_drop = drop_,
        .no_new_privs = 1,
        .init = 1,
        .stop_signal = 15,
        .stop_timeout = 10,
        .pids_limit = 2048,
        .log_max_size = 1024 * 1024,
        .log_max_file = 3,
        .backoff_min_ms = 100,
        .backoff_max_ms = 60000,
        .backoff_reset_ms = 10000,
    };
    struct seccomp_bpf none = {0};
    round_trip("unconfined", &cfg, &none);

    struct seccomp_spec spec = {.mode = SECCOMP_MODE_DEFAULT};
    struct seccomp_bpf real;
    int rc = seccomp_compile(&spec, 0, &real, &e);
    ok(rc == 0 && real.n >= 1, "the default profile compiles (%s)", err_str(&e));
    if (rc == 0) {
        round_trip("default profile", &cfg, &real);
        seccomp_bpf_free(&real);
    }

    refuse("", "empty text");
    refuse("[]", "not an object");
    refuse("{\"Config\":{\"Image\":\"x\",\"Argv\":[\"true\"]}}", "no Seccomp array");
    refuse("{\"Seccomp\":[],\"Config\":5}", "Config not an object");
    refuse("{\"Seccomp\":[\"zz00000000000000\"],\"Config\":{\"Image\":\"x\",\"Argv\":[\"t\"]}}",
           "a program that is not hex");
    refuse("{\"Seccomp\":[\"0000\"],\"Config\":{\"Image\":\"x\",\"Argv\":[\"t\"]}}",
           "a program shorter than one instruction");
    refuse("{\"Seccomp\":[\"\"],\"Config\":{\"Image\":\"x\",\"Argv\":[\"t\"]}}",
           "an empty program");
    refuse("{\"Seccomp\":[5],\"Config\":{\"Image\":\"x\",\"Argv\":[\"t\"]}}",
           "a program that is a number");
    refuse("{\"Seccomp\":[\"0600000000000000\",\"0600000000000000\",\"0600000000000000\"],"
           "\"Config\":{\"Image\":\"x\",\"Argv\":[\"t\"]}}",
           "three programs");

    ok(spawn_is_init("berth-init") && spawn_is_init("/sbin/berth-init") &&
           !spawn_is_init("berthd") && !spawn_is_init("/usr/bin/berth-init2") &&
           !spawn_is_init(NULL),
       "spawn_is_init matches the base name only");
    return done();
}
