/* SPDX-License-Identifier: MIT */
/* ctl/cmd_exec.c - berth exec and berth attach. An exec hands berthd our stdin, stdout and
 * stderr (or, with -t, receives the pty's master and copies it to and from our terminal), so
 * its bytes never pass through berthd; berthd only reports the exit code. Attach follows the
 * container's output stream as an attached run does, and copies our stdin into the container
 * when it was started with -i (the pty master or its stdin pipe, passed by berthd). */
#include "ctl/cmd_exec.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "core/err.h"
#include "ctl/client.h"
#include "ctl/cmd_run.h"
#include "ctl/tty.h"

enum {
    EXEC_DETACH,
    EXEC_INTERACTIVE,
    EXEC_TTY,
    EXEC_ENV,
    EXEC_ENV_FILE,
    EXEC_WORKDIR,
    EXEC_USER,
    EXEC_PRIVILEGED,
    EXEC_DETACH_KEYS,
    EXEC_NFLAGS
};

static const struct client_flag exec_flags[EXEC_NFLAGS] = {
    [EXEC_DETACH] = {'d', "detach", 0},
    [EXEC_INTERACTIVE] = {'i', "interactive", 0},
    [EXEC_TTY] = {'t', "tty", 0},
    [EXEC_ENV] = {'e', "env", 1},
    [EXEC_ENV_FILE] = {0, "env-file", 1},
    [EXEC_WORKDIR] = {'w', "workdir", 1},
    [EXEC_USER] = {'u', "user", 1},
    [EXEC_PRIVILEGED] = {0, "privileged", 0},
    [EXEC_DETACH_KEYS] = {0, "detach-keys", 1},
};

static const char *const exec_keys[EXEC_NFLAGS] = {
    [EXEC_WORKDIR] = "workdir",
    [EXEC_USER] = "user",
    [EXEC_PRIVILEGED] = "privileged",
};

static int build_exec(struct proto_buf *req, const struct client_spec *spec,
                      const struct client_args *a, int tty, int in, int detach, struct err *e)
{
    char size[32];
    if (proto_buf_word(req, "exec") < 0 || client_put_flags(req, a, spec, exec_keys) < 0 ||
        (detach && proto_buf_opt(req, "detach", "1") < 0) ||
        (tty && proto_buf_opt(req, "tty", "1") < 0) ||
        (in && proto_buf_opt(req, "stdin", "1") < 0) ||
        (tty && tty_size_word(STDOUT_FILENO, size, sizeof size) == 0 &&
         proto_buf_opt(req, "tty_size", size) < 0))
        return err_set(e, errno, "build request");
    if (run_put_envs(req, a, EXEC_ENV, EXEC_ENV_FILE, e) < 0)
        return -1;
    if (proto_buf_word(req, a->pos[0]) < 0 || proto_buf_word(req, "--") < 0)
        return err_set(e, errno, "build request");
    for (int i = 1; i < a->npos; i++)
        if (proto_buf_word(req, a->pos[i]) < 0)
            return err_set(e, errno, "build request");
    return 0;
}

int cmd_exec(int argc, char **argv)
{
    static const struct client_spec spec = {
        .name = "exec",
        .usage = "[OPTIONS] CONTAINER COMMAND [ARG...]",
        .flags = exec_flags,
        .nflags = EXEC_NFLAGS,
        .stop_at_word = 1,
        .min_args = 2,
        .max_args = -1,
    };
    auto_args struct client_args a = {0};
    auto_buf struct proto_buf req = {0};
    auto_conn struct client_conn c = CLIENT_CONN_INIT;
    struct client_io io = CLIENT_IO_INIT;
    struct err e = {0};
    const char *body;

    int rc = client_args_parse(&a, &spec, argc, argv);
    if (rc != 0)
        return rc > 0 ? 0 : CLIENT_EXIT_ENGINE;
    int detach = client_args_bool(&a, EXEC_DETACH);
    int tty = client_args_bool(&a, EXEC_TTY);
    int in = client_args_bool(&a, EXEC_INTERACTIVE) && !detach;
    const char *keys = client_args_last(&a, EXEC_DETACH_KEYS);
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
    if (build_exec(&req, &spec, &a, tty, in, detach, &e) < 0) {
        client_error("%s", err_str(&e));
        return CLIENT_EXIT_ENGINE;
    }
    /* without a pty the process gets our own stdin, stdout and stderr */
    static const int std_fds[3] = {STDIN_FILENO, STDOUT_FILENO, STDERR_FILENO};
    int code = client_call_fds(&c, &req, std_fds, tty || detach ? 0 : 3, &body, &e);
    if (code < 0) {
        client_error("%s", err_str(&e));
        return CLIENT_EXIT_ENGINE;
    }
    if (code != 200) {
        client_error("%s", body);
        return code == 500 ? proto_start_exit_code(body) : CLIENT_EXIT_ENGINE;
    }
    if (detach) {
        auto_json cJSON *j = client_json_parse(body, &e);
        if (!j) {
            client_error("%s", err_str(&e));
            return CLIENT_EXIT_ENGINE;
        }
        printf("%s\n", client_json_str(j, "Id"));
        return 0;
    }
    if (tty && client_io_begin(&c, &io, client_take_fd(&c), 1, in, 1, keys, NULL, &e) < 0) {
        client_error("%s", err_str(&e));
        return CLIENT_EXIT_ENGINE;
    }
    return client_attach(&c);
}

enum { ATTACH_NO_STDIN, ATTACH_SIG_PROXY, ATTACH_DETACH_KEYS, ATTACH_NFLAGS };

static const struct client_flag attach_flags[ATTACH_NFLAGS] = {
    [ATTACH_NO_STDIN] = {0, "no-stdin", 0},
    [ATTACH_SIG_PROXY] = {0, "sig-proxy", 0},
    [ATTACH_DETACH_KEYS] = {0, "detach-keys", 1},
};

/* After attach's ok BODY: take the fd berthd passed (pty master or stdin pipe) and set up C's
 * IO (stdin copied when STDIN_OK, detach KEYS, signals to TARGET or, NULL, not forwarded). -1
 * after printing the error. */
static int client_attach_io(struct client_conn *c, struct client_io *io, const char *body,
                            int stdin_ok, const char *keys, const char *target)
{
    struct err e = {0};
    auto_json cJSON *j = client_json_parse(body, &e);
    if (!j) {
        client_error("%s", err_str(&e));
        return -1;
    }
    int tty = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "Tty"));
    int fd = client_take_fd(c);
    int in = stdin_ok && fd >= 0;
    if (tty && in && !isatty(STDIN_FILENO)) {
        client_error("the input device is not a TTY");
        if (fd >= 0)
            (void)close(fd);
        return -1;
    }
    if (client_io_begin(c, io, fd, tty, in, 0, keys, target, &e) < 0) {
        client_error("%s", err_str(&e));
        return -1;
    }
    return 0;
}

int cmd_attach(int argc, char **argv)
{
    static const struct client_spec spec = {
        .name = "attach",
        .usage = "[OPTIONS] CONTAINER",
        .flags = attach_flags,
        .nflags = ATTACH_NFLAGS,
        .min_args = 1,
        .max_args = 1,
    };
    auto_args struct client_args a = {0};
    auto_buf struct proto_buf req = {0};
    auto_conn struct client_conn c = CLIENT_CONN_INIT;
    struct client_io io = CLIENT_IO_INIT;
    struct err e = {0};
    const char *body;

    int rc = client_args_parse(&a, &spec, argc, argv);
    if (rc != 0)
        return rc > 0 ? 0 : CLIENT_EXIT_FAIL;
    const char *keys = client_args_last(&a, ATTACH_DETACH_KEYS);
    int proxy = !client_args_last(&a, ATTACH_SIG_PROXY) || client_args_bool(&a, ATTACH_SIG_PROXY);
    if (proto_buf_word(&req, "attach") < 0 || proto_buf_word(&req, a.pos[0]) < 0) {
        client_error("build request: %s", strerror(errno));
        return CLIENT_EXIT_FAIL;
    }
    int code = client_call(&c, &req, -1, &body, &e);
    if (code < 0) {
        client_error("%s", err_str(&e));
        return CLIENT_EXIT_FAIL;
    }
    if (code != 200) {
        client_error("%s", body);
        return CLIENT_EXIT_FAIL;
    }
    if (client_attach_io(&c, &io, body, !client_args_bool(&a, ATTACH_NO_STDIN), keys,
                         proxy ? a.pos[0] : NULL) < 0)
        return CLIENT_EXIT_FAIL;
    return client_attach(&c);
}
