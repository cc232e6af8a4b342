/* SPDX-License-Identifier: MIT */
/* ctl/cmd_run.c - berth run and berth create: Docker's flags turned into one run/create
 * request. The flags and their translation are ctl/runopt.c (shared with berthd's boot
 * manifest), which resolves what only the client can (-e K from its environment, --env-file,
 * sizes and durations); berthd checks every value. This file adds what only an attached client
 * does (-d, --detach-keys, --sig-proxy): an attached run streams the container's output and
 * exits with its code. */
#include "ctl/cmd_run.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "ctl/client.h"
#include "ctl/proto.h"
#include "ctl/runopt.h"
#include "core/err.h"
#include "core/limits.h"
#include "core/util.h"

int run_put_envs(struct proto_buf *req, const struct client_args *a, int env_flag,
                 int env_file_flag, struct err *e)
{
    /* Docker's order: the env files first, then -e, so -e overrides */
    for (size_t i = 0; i < a->nopts; i++)
        if (a->opts[i].flag == env_file_flag &&
            runopt_put(req, RUNOPT_ENV_FILE, a->opts[i].val, e) < 0)
            return -1;
    for (size_t i = 0; i < a->nopts; i++)
        if (a->opts[i].flag == env_flag && runopt_put(req, RUNOPT_ENV, a->opts[i].val, e) < 0)
            return -1;
    return 0;
}

static int put_opt(struct proto_buf *req, const char *key, const char *val, struct err *e)
{
    if (proto_buf_opt(req, key, val) < 0)
        return err_set(e, errno, "build request");
    return 0;
}

static int build_request(struct proto_buf *req, const struct client_spec *spec,
                         const struct client_args *a, int attach, int with_stdin, struct err *e)
{
    if (proto_buf_word(req, spec->name) < 0)
        return err_set(e, errno, "build request");
    if (put_opt(req, "image", a->pos[0], e) < 0)
        return -1;
    if (runopt_put_all(req, a->opts, a->nopts, e) < 0)
        return -1;
    if (attach && put_opt(req, "attach", "1", e) < 0)
        return -1;
    if (with_stdin && put_opt(req, "stdin", "1", e) < 0)
        return -1;
    char size[32];
    if (attach && client_args_bool(a, RUNOPT_TTY) &&
        tty_size_word(STDOUT_FILENO, size, sizeof size) == 0 &&
        put_opt(req, "tty_size", size, e) < 0)
        return -1;
    if (a->npos > 1 && proto_buf_word(req, "--") < 0)
        return err_set(e, errno, "build request");
    for (int i = 1; i < a->npos; i++)
        if (proto_buf_word(req, a->pos[i]) < 0)
            return err_set(e, errno, "build request");
    return 0;
}

/* The Id of an ok {"Id":..,"Warnings":[..]} reply; warnings go to stderr as Docker prints them. */
static int reply_id(const char *body, char *id, size_t size, struct err *e)
{
    auto_json cJSON *j = client_json_parse(body, e);
    const cJSON *w;

    if (!j)
        return -1;
    cJSON_ArrayForEach(w, cJSON_GetObjectItemCaseSensitive(j, "Warnings"))
    {
        if (cJSON_IsString(w))
            fprintf(stderr, "WARNING: %s\n", w->valuestring);
    }
    const char *s = client_json_str(j, "Id");
    if (!*s)
        return err_set(e, 0, "reply from berthd has no container id");
    return util_fmt(id, size, e, "%s", s);
}

static int run_common(int argc, char **argv, int is_run)
{
    const struct client_spec spec = {
        .name = is_run ? "run" : "create",
        .usage = "[OPTIONS] IMAGE [COMMAND] [ARG...]",
        .flags = runopt_flags,
        .nflags = RUNOPT_NFLAGS,
        .stop_at_word = 1,
        .min_args = 1,
        .max_args = -1,
    };
    auto_args struct client_args a = {0};
    auto_buf struct proto_buf req = {0};
    auto_conn struct client_conn c = CLIENT_CONN_INIT;
    struct client_io io = CLIENT_IO_INIT;
    struct err e = {0};
    char id[CTR_ID_LEN + 1];
    const char *body;

    int rc = client_args_parse(&a, &spec, argc, argv);
    if (rc != 0)
        return rc > 0 ? 0 : CLIENT_EXIT_ENGINE;
    int attach = is_run && !client_args_bool(&a, RUNOPT_DETACH);
    int in = attach && client_args_bool(&a, RUNOPT_INTERACTIVE);
    int tty = client_args_bool(&a, RUNOPT_TTY);
    const char *keys = client_args_last(&a, RUNOPT_DETACH_KEYS);
    unsigned char kb[TTY_DETACH_MAX];
    size_t nk;
    if (keys && tty_detach_parse(keys, kb, &nk, &e) < 0) {
        client_error("%s", err_str(&e));
        return CLIENT_EXIT_ENGINE;
    }
    if (tty && in && !isatty(STDIN_FILENO)) {
        client_error("the input device is not a TTY");
        return CLIENT_EXIT_ENGINE;
    }
    /* with -t stdin is the pty: we copy our terminal into its master, passed back with the ok */
    if (build_request(&req, &spec, &a, attach, in && !tty, &e) < 0) {
        client_error("%s", err_str(&e));
        return CLIENT_EXIT_ENGINE;
    }
    int code = client_call(&c, &req, in && !tty ? STDIN_FILENO : -1, &body, &e);
    if (code < 0) {
        client_error("%s", err_str(&e));
        return CLIENT_EXIT_ENGINE;
    }
    if (code != 200) {
        client_error("%s", body);
        return is_run && code == 500 ? proto_start_exit_code(body) : CLIENT_EXIT_ENGINE;
    }
    if (reply_id(body, id, sizeof id, &e) < 0) {
        client_error("%s", err_str(&e));
        return CLIENT_EXIT_ENGINE;
    }
    if (!attach) {
        printf("%s\n", id);
        return 0;
    }
    /* the container runs already: without forwarding it is still worth showing its output */
    int proxy = !client_args_last(&a, RUNOPT_SIG_PROXY) || client_args_bool(&a, RUNOPT_SIG_PROXY);
    if (client_io_begin(&c, &io, client_take_fd(&c), tty, in && tty, 0, keys, proxy ? id : NULL,
                        &e) < 0)
        client_error("%s", err_str(&e));
    return client_attach(&c);
}

int cmd_run(int argc, char **argv)
{
    return run_common(argc, argv, 1);
}

int cmd_create(int argc, char **argv)
{
    return run_common(argc, argv, 0);
}
