/* SPDX-License-Identifier: MIT */
/* ctl/cmd_logs.c - berth logs (a container's log lines, byte-exact, to stdout or stderr as
 * they were written) and berth events (Docker's one-line text or the JSON as berthd sends it,
 * flushed line by line). --since/--until go to berthd as given: it parses them. */
#include "ctl/cmd_logs.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "ctl/client.h"
#include "ctl/proto.h"
#include "core/err.h"
#include "core/limits.h"
#include "core/util.h"

/* Send REQ, then hand each stream line to FN until "end". Returns the exit code. */
static int stream_command(const struct proto_buf *req, client_line_fn fn, void *ctx)
{
    auto_conn struct client_conn c = CLIENT_CONN_INIT;
    struct err e = {0};
    const char *body;

    int code = client_call(&c, req, -1, &body, &e);
    if (code != 200) {
        client_error("%s", code < 0 ? err_str(&e) : body);
        return CLIENT_EXIT_FAIL;
    }
    if (client_stream(&c, fn, ctx, &e) < 0) {
        client_error("%s", err_str(&e));
        return CLIENT_EXIT_FAIL;
    }
    return 0;
}

enum { LOGS_FOLLOW, LOGS_TIMESTAMPS, LOGS_TAIL, LOGS_SINCE, LOGS_UNTIL, LOGS_NFLAGS };
static const struct client_flag logs_flags[LOGS_NFLAGS] = {
    [LOGS_FOLLOW] = {'f', "follow", 0}, [LOGS_TIMESTAMPS] = {'t', "timestamps", 0},
    [LOGS_TAIL] = {'n', "tail", 1},     [LOGS_SINCE] = {0, "since", 1},
    [LOGS_UNTIL] = {0, "until", 1},
};
static const char *const logs_keys[LOGS_NFLAGS] = {
    [LOGS_FOLLOW] = "follow",
    [LOGS_TAIL] = "tail",
    [LOGS_SINCE] = "since",
    [LOGS_UNTIL] = "until",
};

struct logs {
    int timestamps;
    struct proto_buf data;
};

/* "log STREAM TIME DATA" */
static int on_log_line(void *ctx, char *line, size_t len, struct err *e)
{
    struct logs *l = ctx;
    char *head[3] = {line, line, line};

    if (strncmp(line, "log ", 4) != 0)
        return 0; /* a line this client does not know: a newer berthd */
    if (client_split_line(line, len, head, 3, &l->data, e) < 0)
        return -1;
    int fd = strcmp(head[1], "stderr") == 0 ? STDERR_FILENO : STDOUT_FILENO;
    if (l->timestamps) {
        /* one write per line keeps stdout and stderr lines in order */
        size_t tlen = strlen(head[2]);
        if (proto_buf_append(&l->data, head[2], tlen + 1) < 0)
            return err_set(e, errno, "format log line");
        memmove(l->data.data + tlen + 1, l->data.data, l->data.len - tlen - 1);
        memcpy(l->data.data, head[2], tlen);
        l->data.data[tlen] = ' ';
    }
    if (l->data.len > 0 && util_write_all(fd, l->data.data, l->data.len, e) < 0)
        return err_wrap(e, "write log");
    return 0;
}

int cmd_logs(int argc, char **argv)
{
    static const struct client_spec spec = {.name = "logs",
                                            .usage = "[OPTIONS] CONTAINER",
                                            .flags = logs_flags,
                                            .nflags = LOGS_NFLAGS,
                                            .min_args = 1,
                                            .max_args = 1};
    auto_args struct client_args a = {0};
    auto_buf struct proto_buf req = {0};
    struct logs l = {0};

    int rc = client_args_parse(&a, &spec, argc, argv);
    if (rc != 0)
        return rc > 0 ? 0 : CLIENT_EXIT_FAIL;
    if (strchr(a.pos[0], '=')) {
        client_error("no such container: %s", a.pos[0]);
        return CLIENT_EXIT_FAIL;
    }
    if (proto_buf_word(&req, "logs") < 0 || client_put_flags(&req, &a, &spec, logs_keys) < 0 ||
        proto_buf_word(&req, a.pos[0]) < 0) {
        client_error("build request: %s", strerror(errno));
        return CLIENT_EXIT_FAIL;
    }
    l.timestamps = client_args_bool(&a, LOGS_TIMESTAMPS);
    rc = stream_command(&req, on_log_line, &l);
    proto_buf_free(&l.data);
    return rc;
}

enum { EV_SINCE, EV_UNTIL, EV_FILTER, EV_FORMAT, EV_NFLAGS };
static const struct client_flag events_flags[EV_NFLAGS] = {
    [EV_SINCE] = {0, "since", 1},
    [EV_UNTIL] = {0, "until", 1},
    [EV_FILTER] = {'f', "filter", 1},
    [EV_FORMAT] = {0, "format", 1},
};
static const char *const events_keys[EV_NFLAGS] = {
    [EV_SINCE] = "since",
    [EV_UNTIL] = "until",
    [EV_FILTER] = "filter",
};

/* timeNano with every digit: a double cannot hold it, so read it from the text (a label value
 * holding the same key is a quoted string, never followed by a digit). */
static int64_t event_time_ns(const char *line, const cJSON *ev)
{
    static const char key[] = "\"timeNano\":";
    for (const char *p = strstr(line, key); p; p = strstr(p + 1, key)) {
        const char *v = p + strlen(key);
        while (*v == ' ')
            v++;
        if (*v >= '0' && *v <= '9')
            return strtoll(v, NULL, 10);
    }
    return (int64_t)client_json_num(ev, "time") * 1000000000LL;
}

/* Docker's text form: TIME TYPE ACTION ID (k=v, ...) with the attributes sorted by key. */
static int print_event(const char *line, struct err *e)
{
    auto_json cJSON *ev = client_json_parse(line, e);
    const char *keys[CTR_LABELS_MAX + 16];
    char when[64];

    if (!ev)
        return -1;
    const cJSON *actor = cJSON_GetObjectItemCaseSensitive(ev, "Actor");
    const cJSON *attrs = cJSON_GetObjectItemCaseSensitive(actor, "Attributes");
    client_fmt_time(event_time_ns(line, ev), when, sizeof when);
    printf("%s %s %s %s", when, client_json_str(ev, "Type"), client_json_str(ev, "Action"),
           client_json_str(actor, "ID"));
    size_t n = client_json_keys(attrs, keys, ARRAY_LEN(keys));
    for (size_t i = 0; i < n; i++)
        printf("%s%s=%s", i ? ", " : " (", keys[i], client_json_str(attrs, keys[i]));
    printf("%s\n", n ? ")" : "");
    return 0;
}

static int on_event_line(void *ctx, char *line, size_t len, struct err *e)
{
    const int *json = ctx;

    (void)len;
    if (*json)
        printf("%s\n", line);
    else if (print_event(line, e) < 0)
        return -1;
    if (fflush(stdout) != 0)
        return err_set(e, errno, "write event");
    return 0;
}

int cmd_events(int argc, char **argv)
{
    static const struct client_spec spec = {.name = "events",
                                            .usage = "[OPTIONS]",
                                            .flags = events_flags,
                                            .nflags = EV_NFLAGS,
                                            .max_args = 0};
    auto_args struct client_args a = {0};
    auto_buf struct proto_buf req = {0};

    int rc = client_args_parse(&a, &spec, argc, argv);
    if (rc != 0)
        return rc > 0 ? 0 : CLIENT_EXIT_FAIL;
    int json = client_format(client_args_last(&a, EV_FORMAT));
    if (json < 0) {
        client_error("unsupported format: %s (use json)", client_args_last(&a, EV_FORMAT));
        return CLIENT_EXIT_FAIL;
    }
    if (proto_buf_word(&req, "events") < 0 || client_put_flags(&req, &a, &spec, events_keys) < 0) {
        client_error("build request: %s", strerror(errno));
        return CLIENT_EXIT_FAIL;
    }
    return stream_command(&req, on_event_line, &json);
}
