/* SPDX-License-Identifier: MIT */
/* ctl/cmd_life.c - lifecycle commands on one or more containers: start (or start -a, which
 * streams like an attached run), stop, kill, restart, pause, unpause, rm, wait. Each name is
 * its own request; the replies are handled in the order the names were given. */
#include "ctl/cmd_life.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "ctl/client.h"
#include "ctl/proto.h"
#include "core/err.h"
#include "core/util.h"

#define NAMES_USAGE "[OPTIONS] CONTAINER [CONTAINER...]"

/* Run SPEC's verb (its name) with the options FLAG_WORDS maps A's flags to ("timeout",
 * "signal"; booleans as KEY=1 or KEY=0; NULL: none) on every name of A. */
static int each_parsed(const struct client_args *a, const struct client_spec *spec,
                       const char *const *flag_words, const struct client_each *tmpl)
{
    auto_buf struct proto_buf words = {0};
    struct client_each each = *tmpl;

    if (flag_words && client_put_flags(&words, a, spec, flag_words) < 0) {
        client_error("build request: %s", strerror(errno));
        return CLIENT_EXIT_FAIL;
    }
    each.verb = spec->name;
    each.words = words.data ? words.data : "";
    return client_each(&each, a->pos, a->npos);
}

static int each_command(int argc, char **argv, const struct client_spec *spec,
                        const char *const *flag_words, const struct client_each *tmpl)
{
    auto_args struct client_args a = {0};

    int rc = client_args_parse(&a, spec, argc, argv);
    if (rc != 0)
        return rc > 0 ? 0 : CLIENT_EXIT_FAIL;
    return each_parsed(&a, spec, flag_words, tmpl);
}

enum { START_ATTACH, START_INTERACTIVE, START_DETACH_KEYS, START_NFLAGS };
static const struct client_flag start_flags[START_NFLAGS] = {
    [START_ATTACH] = {'a', "attach", 0},
    [START_INTERACTIVE] = {'i', "interactive", 0},
    [START_DETACH_KEYS] = {0, "detach-keys", 1},
};

/* A start that attaches is run-like: its errors exit 125 even when its flags are bad. */
static int start_attaches(int argc, char **argv)
{
    for (int i = 1; i < argc && strcmp(argv[i], "--") != 0; i++)
        if (strcmp(argv[i], "--attach") == 0 || strcmp(argv[i], "--interactive") == 0 ||
            (argv[i][0] == '-' && argv[i][1] != '-' && strpbrk(argv[i], "ai")))
            return 1;
    return 0;
}

int cmd_start(int argc, char **argv)
{
    static const struct client_spec spec = {.name = "start",
                                            .usage = NAMES_USAGE,
                                            .flags = start_flags,
                                            .nflags = START_NFLAGS,
                                            .min_args = 1,
                                            .max_args = -1};
    auto_args struct client_args a = {0};
    auto_buf struct proto_buf req = {0};
    auto_conn struct client_conn c = CLIENT_CONN_INIT;
    struct client_io io = CLIENT_IO_INIT;
    struct err e = {0};
    const char *body;

    int rc = client_args_parse(&a, &spec, argc, argv);
    if (rc != 0)
        return rc > 0 ? 0 : start_attaches(argc, argv) ? CLIENT_EXIT_ENGINE : CLIENT_EXIT_FAIL;
    int in = client_args_bool(&a, START_INTERACTIVE);
    if (!in && !client_args_bool(&a, START_ATTACH))
        return client_each(&(struct client_each){.verb = "start", .words = "", .ok_304 = 1}, a.pos,
                           a.npos);
    if (a.npos > 1) {
        client_error("you cannot start and attach multiple containers at once");
        return CLIENT_EXIT_ENGINE;
    }
    if (strchr(a.pos[0], '=')) {
        client_error("no such container: %s", a.pos[0]);
        return CLIENT_EXIT_ENGINE;
    }
    char size[32];
    if (proto_buf_word(&req, "start") < 0 || proto_buf_opt(&req, "attach", "1") < 0 ||
        (in && proto_buf_opt(&req, "stdin", "1") < 0) ||
        (tty_size_word(STDOUT_FILENO, size, sizeof size) == 0 &&
         proto_buf_opt(&req, "tty_size", size) < 0) ||
        proto_buf_word(&req, a.pos[0]) < 0) {
        client_error("build request: %s", strerror(errno));
        return CLIENT_EXIT_ENGINE;
    }
    int code = client_call(&c, &req, in ? STDIN_FILENO : -1, &body, &e);
    if (code < 0) {
        client_error("%s", err_str(&e));
        return CLIENT_EXIT_ENGINE;
    }
    if (code != 200) {
        /* 304 too: berthd has no attach to a running container yet, so nothing is shown */
        client_error("%s", body);
        return code == 500 ? proto_start_exit_code(body) : CLIENT_EXIT_ENGINE;
    }
    /* a pty master comes with the ok of a container made with -t: we copy our terminal in */
    int pty = client_take_fd(&c);
    if (client_io_begin(&c, &io, pty, pty >= 0, in && pty >= 0, 0,
                        client_args_last(&a, START_DETACH_KEYS), a.pos[0], &e) < 0)
        client_error("%s", err_str(&e));
    return client_attach(&c);
}

enum { TIME_TIME, TIME_NFLAGS };
static const struct client_flag time_flags[TIME_NFLAGS] = {[TIME_TIME] = {'t', "time", 1}};
static const char *const time_words[TIME_NFLAGS] = {[TIME_TIME] = "timeout"};

static int stop_like(int argc, char **argv, const char *verb, int ok_304)
{
    const struct client_spec spec = {.name = verb,
                                     .usage = NAMES_USAGE,
                                     .flags = time_flags,
                                     .nflags = TIME_NFLAGS,
                                     .min_args = 1,
                                     .max_args = -1};
    auto_args struct client_args a = {0};
    struct err e = {0};
    long long t;

    int rc = client_args_parse(&a, &spec, argc, argv);
    if (rc != 0)
        return rc > 0 ? 0 : CLIENT_EXIT_FAIL;
    /* check -t once here rather than hear berthd refuse it for every name */
    const char *v = client_args_last(&a, TIME_TIME);
    if (v && util_parse_int(v, -1, INT_MAX, &t, &e) < 0) {
        client_error("invalid argument \"%s\" for \"-t, --time\" flag: %s", v, err_str(&e));
        return CLIENT_EXIT_FAIL;
    }
    return each_parsed(&a, &spec, time_words, &(struct client_each){.ok_304 = ok_304});
}

int cmd_stop(int argc, char **argv)
{
    return stop_like(argc, argv, "stop", 1);
}

int cmd_restart(int argc, char **argv)
{
    return stop_like(argc, argv, "restart", 0);
}

enum { KILL_SIGNAL, KILL_NFLAGS };
static const struct client_flag kill_flags[KILL_NFLAGS] = {[KILL_SIGNAL] = {'s', "signal", 1}};
static const char *const kill_words[KILL_NFLAGS] = {[KILL_SIGNAL] = "signal"};

int cmd_kill(int argc, char **argv)
{
    static const struct client_spec spec = {.name = "kill",
                                            .usage = NAMES_USAGE,
                                            .flags = kill_flags,
                                            .nflags = KILL_NFLAGS,
                                            .min_args = 1,
                                            .max_args = -1};
    return each_command(argc, argv, &spec, kill_words, &(struct client_each){0});
}

static const struct client_spec pause_spec = {
    .name = "pause", .usage = "CONTAINER [CONTAINER...]", .min_args = 1, .max_args = -1};
static const struct client_spec unpause_spec = {
    .name = "unpause", .usage = "CONTAINER [CONTAINER...]", .min_args = 1, .max_args = -1};

int cmd_pause(int argc, char **argv)
{
    return each_command(argc, argv, &pause_spec, NULL, &(struct client_each){0});
}

int cmd_unpause(int argc, char **argv)
{
    return each_command(argc, argv, &unpause_spec, NULL, &(struct client_each){0});
}

enum { RM_FORCE, RM_VOLUMES, RM_NFLAGS };
static const struct client_flag rm_flags[RM_NFLAGS] = {
    [RM_FORCE] = {'f', "force", 0},
    [RM_VOLUMES] = {'v', "volumes", 0},
};
static const char *const rm_words[RM_NFLAGS] = {[RM_FORCE] = "force", [RM_VOLUMES] = "volumes"};

int cmd_rm(int argc, char **argv)
{
    static const struct client_spec spec = {.name = "rm",
                                            .usage = NAMES_USAGE,
                                            .flags = rm_flags,
                                            .nflags = RM_NFLAGS,
                                            .min_args = 1,
                                            .max_args = -1};
    return each_command(argc, argv, &spec, rm_words, &(struct client_each){0});
}

enum { WAIT_CONDITION, WAIT_NFLAGS };
static const struct client_flag wait_flags[WAIT_NFLAGS] = {
    [WAIT_CONDITION] = {0, "condition", 1},
};
static const char *const wait_words[WAIT_NFLAGS] = {[WAIT_CONDITION] = "condition"};

static int on_wait_ok(void *ctx, const char *name, const char *body)
{
    struct err e = {0};
    auto_json cJSON *j = client_json_parse(body, &e);

    (void)ctx;
    if (!j) {
        client_error("wait %s: %s", name, err_str(&e));
        return -1;
    }
    printf("%lld\n", (long long)client_json_num(j, "StatusCode"));
    return 0;
}

int cmd_wait(int argc, char **argv)
{
    static const struct client_spec spec = {.name = "wait",
                                            .usage = NAMES_USAGE,
                                            .flags = wait_flags,
                                            .nflags = WAIT_NFLAGS,
                                            .min_args = 1,
                                            .max_args = -1};
    return each_command(argc, argv, &spec, wait_words, &(struct client_each){.on_ok = on_wait_ok});
}
