/* SPDX-License-Identifier: MIT */
/* ctl/cmd_ps.c - berth ps (Docker's table, -q ids, or `--format json` lines) and berth
 * inspect (the objects berthd returns, as one JSON array indented like Docker's). */
#include "ctl/cmd_ps.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "ctl/client.h"
#include "ctl/proto.h"
#include "core/err.h"
#include "core/limits.h"
#include "core/util.h"

#define CMD_TRUNC 20 /* Docker's ps shows commands up to 20 characters, "…" included */

enum { PS_ALL, PS_QUIET, PS_NO_TRUNC, PS_FILTER, PS_FORMAT, PS_NFLAGS };
static const struct client_flag ps_flags[PS_NFLAGS] = {
    [PS_ALL] = {'a', "all", 0},         [PS_QUIET] = {'q', "quiet", 0},
    [PS_NO_TRUNC] = {0, "no-trunc", 0}, [PS_FILTER] = {'f', "filter", 1},
    [PS_FORMAT] = {0, "format", 1},
};

/* Docker's Ellipsis(cmd, 20) then strconv.Quote, on UTF-8 characters. */
static int quote_command(struct proto_buf *b, const char *cmd, int trunc)
{
    size_t chars = 0, cut = 0, len = strlen(cmd);
    int rc = proto_buf_append(b, "\"", 1);

    for (size_t i = 0; i < len; i++) {
        if (((unsigned char)cmd[i] & 0xc0) == 0x80)
            continue;
        if (chars++ == CMD_TRUNC - 1)
            cut = i;
    }
    if (!trunc || chars <= CMD_TRUNC)
        cut = len;
    for (size_t i = 0; i < cut && rc == 0; i++) {
        unsigned char c = (unsigned char)cmd[i];
        static const char esc[] = "\a\b\f\n\r\t\v";
        const char *e = c ? strchr(esc, c) : NULL;
        if (c == '"' || c == '\\')
            rc = proto_buf_printf(b, "\\%c", c);
        else if (e)
            rc = proto_buf_printf(b, "\\%c", "abfnrtv"[e - esc]);
        else if (c < 0x20 || c == 0x7f)
            rc = proto_buf_printf(b, "\\x%02x", c);
        else
            rc = proto_buf_append(b, &cmd[i], 1);
    }
    if (rc == 0 && cut < len)
        rc = proto_buf_append(b, "…", strlen("…"));
    if (rc == 0)
        rc = proto_buf_append(b, "\"", 1);
    return rc;
}

/* Names joined with ',' and without their leading '/'. */
static int join_names(struct proto_buf *b, const cJSON *names)
{
    const cJSON *n;
    int rc = proto_buf_append(b, "", 0);

    cJSON_ArrayForEach(n, names)
    {
        if (!cJSON_IsString(n) || rc < 0)
            continue;
        const char *s = n->valuestring[0] == '/' ? n->valuestring + 1 : n->valuestring;
        if (b->len > 0)
            rc = proto_buf_append(b, ",", 1);
        if (rc == 0)
            rc = proto_buf_append(b, s, strlen(s));
    }
    return rc;
}

/* Labels as "k=v,k2=v2", sorted by key. */
static int join_labels(struct proto_buf *b, const cJSON *labels)
{
    const char *keys[CTR_LABELS_MAX];
    size_t n = client_json_keys(labels, keys, ARRAY_LEN(keys));
    int rc = proto_buf_append(b, "", 0);

    for (size_t i = 0; i < n && rc == 0; i++)
        rc =
            proto_buf_printf(b, "%s%s=%s", i ? "," : "", keys[i], client_json_str(labels, keys[i]));
    return rc;
}

/* One container as `docker ps --format json` prints it (keys sorted, as Go does). */
static int print_json(const cJSON *c, const char *id, const char *cmd, const char *ago,
                      const char *names)
{
    auto_json cJSON *o = cJSON_CreateObject();
    auto_buf struct proto_buf labels = {0};
    char created[64];

    client_fmt_created((int64_t)client_json_num(c, "Created"), created, sizeof created);
    if (!o || join_labels(&labels, cJSON_GetObjectItemCaseSensitive(c, "Labels")) < 0)
        return -1;
    const char *kv[][2] = {
        {"Command", cmd},
        {"CreatedAt", created},
        {"ID", id},
        {"Image", client_json_str(c, "Image")},
        {"Labels", labels.data},
        {"Names", names},
        {"Ports", client_json_str(c, "Ports")},
        {"RunningFor", ago},
        {"State", client_json_str(c, "State")},
        {"Status", client_json_str(c, "Status")},
    };
    for (size_t i = 0; i < ARRAY_LEN(kv); i++)
        if (!cJSON_AddStringToObject(o, kv[i][0], kv[i][1]))
            return -1;
    auto_free char *txt = cJSON_PrintUnformatted(o);
    if (!txt)
        return -1;
    printf("%s\n", txt);
    return 0;
}

static int ps_row(const cJSON *c, int kind, int trunc, struct client_table *t)
{
    auto_buf struct proto_buf cmd = {0};
    auto_buf struct proto_buf names = {0};
    char id[CTR_ID_LEN + 1], ago[64];
    const char *full = client_json_str(c, "Id");

    (void)snprintf(id, trunc ? CTR_SHORT_ID_LEN + 1 : sizeof id, "%s", full); /* cuts on purpose */
    if (kind < 0) {
        printf("%s\n", id);
        return 0;
    }
    client_human_ago((int64_t)client_json_num(c, "Created"), ago, sizeof ago);
    if (quote_command(&cmd, client_json_str(c, "Command"), trunc) < 0 ||
        join_names(&names, cJSON_GetObjectItemCaseSensitive(c, "Names")) < 0)
        return -1;
    if (kind == 1)
        return print_json(c, id, cmd.data, ago, names.data);
    const char *row[] = {id,        client_json_str(c, "Image"),  cmd.data,
                         ago,       client_json_str(c, "Status"), client_json_str(c, "Ports"),
                         names.data};
    return client_table_row(t, row);
}

int cmd_ps(int argc, char **argv)
{
    static const struct client_spec spec = {
        .name = "ps", .usage = "[OPTIONS]", .flags = ps_flags, .nflags = PS_NFLAGS, .max_args = 0};
    static const char *const header[] = {"CONTAINER ID", "IMAGE", "COMMAND", "CREATED",
                                         "STATUS",       "PORTS", "NAMES"};
    auto_args struct client_args a = {0};
    auto_buf struct proto_buf req = {0};
    auto_conn struct client_conn c = CLIENT_CONN_INIT;
    struct client_table t = {.ncols = ARRAY_LEN(header)};
    struct err e = {0};
    const char *body;
    int rc = client_args_parse(&a, &spec, argc, argv);

    if (rc != 0)
        return rc > 0 ? 0 : CLIENT_EXIT_FAIL;
    int kind = client_format(client_args_last(&a, PS_FORMAT));
    if (kind < 0) {
        client_error("unsupported format: %s (use table or json)", client_args_last(&a, PS_FORMAT));
        return CLIENT_EXIT_FAIL;
    }
    if (client_args_bool(&a, PS_QUIET))
        kind = -1;
    rc = proto_buf_word(&req, "ps");
    if (rc == 0 && client_args_bool(&a, PS_ALL))
        rc = proto_buf_opt(&req, "all", "1");
    for (size_t i = 0; i < a.nopts && rc == 0; i++)
        if (a.opts[i].flag == PS_FILTER)
            rc = proto_buf_opt(&req, "filter", a.opts[i].val);
    if (rc < 0) {
        client_error("build request: %s", strerror(errno));
        return CLIENT_EXIT_FAIL;
    }
    int code = client_call(&c, &req, -1, &body, &e);
    if (code != 200) {
        client_error("%s", code < 0 ? err_str(&e) : body);
        return CLIENT_EXIT_FAIL;
    }
    auto_json cJSON *list = client_json_parse(body, &e);
    const cJSON *ctr;
    if (!list || (kind == 0 && client_table_row(&t, header) < 0)) {
        client_error("%s", list ? "out of memory" : err_str(&e));
        client_table_free(&t);
        return CLIENT_EXIT_FAIL;
    }
    rc = 0;
    cJSON_ArrayForEach(ctr, list)
    {
        if (rc == 0)
            rc = ps_row(ctr, kind, !client_args_bool(&a, PS_NO_TRUNC), &t);
    }
    if (rc < 0)
        client_error("format container list: out of memory");
    client_table_print(&t, stdout);
    client_table_free(&t);
    return rc < 0 ? CLIENT_EXIT_FAIL : 0;
}

/* ---- inspect ---- */

/* Go's json.Indent with a four-space indent: "key": value, empty [] and {} kept on one line.
 * It works on the text, so numbers (nanosecond times) keep every digit. */
static int json_indent(struct proto_buf *out, const char *s, size_t len)
{
    int depth = 0, in_str = 0, esc = 0, rc = 0;

    for (size_t i = 0; i < len && rc == 0; i++) {
        char c = s[i];
        if (in_str) {
            rc = proto_buf_append(out, &c, 1);
            if (esc)
                esc = 0;
            else if (c == '\\')
                esc = 1;
            else if (c == '"')
                in_str = 0;
            continue;
        }
        switch (c) {
        case ' ':
        case '\t':
        case '\n':
        case '\r':
            break;
        case '"':
            in_str = 1;
            rc = proto_buf_append(out, &c, 1);
            break;
        case '{':
        case '[': {
            size_t j = i + 1;
            while (j < len && (s[j] == ' ' || s[j] == '\t' || s[j] == '\r' || s[j] == '\n'))
                j++;
            if (j < len && (s[j] == '}' || s[j] == ']')) {
                rc = proto_buf_printf(out, "%c%c", c, s[j]);
                i = j;
                break;
            }
            depth++;
            rc = proto_buf_printf(out, "%c\n%*s", c, depth * 4, "");
            break;
        }
        case '}':
        case ']':
            depth--;
            rc = proto_buf_printf(out, "\n%*s%c", depth * 4, "", c);
            break;
        case ',':
            rc = proto_buf_printf(out, ",\n%*s", depth * 4, "");
            break;
        case ':':
            rc = proto_buf_append(out, ": ", 2);
            break;
        default:
            rc = proto_buf_append(out, &c, 1);
        }
    }
    return rc;
}

static int on_inspect_ok(void *ctx, const char *name, const char *body)
{
    struct proto_buf *arr = ctx;

    if (!*body)
        return 0;
    if (proto_buf_append(arr, arr->len > 1 ? "," : "", arr->len > 1) < 0 ||
        proto_buf_append(arr, body, strlen(body)) < 0) {
        client_error("inspect %s: out of memory", name);
        return -1;
    }
    return 0;
}

int cmd_inspect(int argc, char **argv)
{
    static const struct client_spec spec = {
        .name = "inspect", .usage = "NAME [NAME...]", .min_args = 1, .max_args = -1};
    auto_args struct client_args a = {0};
    auto_buf struct proto_buf arr = {0};
    auto_buf struct proto_buf out = {0};
    int rc = client_args_parse(&a, &spec, argc, argv);

    if (rc != 0)
        return rc > 0 ? 0 : CLIENT_EXIT_FAIL;
    if (proto_buf_append(&arr, "[", 1) < 0) {
        client_error("out of memory");
        return CLIENT_EXIT_FAIL;
    }
    struct client_each each = {.verb = "inspect", .words = "", .on_ok = on_inspect_ok, .ctx = &arr};
    int failed = client_each(&each, a.pos, a.npos);
    if (proto_buf_append(&arr, "]", 1) < 0 || json_indent(&out, arr.data, arr.len) < 0) {
        client_error("format inspect output: out of memory");
        return CLIENT_EXIT_FAIL;
    }
    printf("%s\n", out.data);
    return failed ? CLIENT_EXIT_FAIL : 0;
}

/* ---- port ---- */

/* Print one "HostIp:HostPort" line per binding in B (an array), prefixed by KEY when given. */
static void print_bindings(const char *key, const cJSON *b)
{
    const cJSON *it;
    cJSON_ArrayForEach(it, b)
    {
        const char *ip = client_json_str(it, "HostIp");
        const char *port = client_json_str(it, "HostPort");
        if (key)
            printf("%s -> %s:%s\n", key, *ip ? ip : "0.0.0.0", port);
        else
            printf("%s:%s\n", *ip ? ip : "0.0.0.0", port);
    }
}

/* berth port CTR [PORT[/PROTO]]: the published ports of a running container, from inspect's
 * NetworkSettings.Ports, as Docker prints them. */
int cmd_port(int argc, char **argv)
{
    static const struct client_spec spec = {
        .name = "port", .usage = "CONTAINER [PRIVATE_PORT[/PROTO]]", .min_args = 1, .max_args = 2};
    auto_args struct client_args a = {0};
    auto_conn struct client_conn c = CLIENT_CONN_INIT;
    auto_buf struct proto_buf req = {0};
    char want[32] = "";

    int rc = client_args_parse(&a, &spec, argc, argv);
    if (rc != 0)
        return rc > 0 ? 0 : CLIENT_EXIT_FAIL;
    if (a.npos == 2) {
        const char *p = a.pos[1];
        size_t n = strspn(p, "0123456789");
        if (n == 0 || n > 5 || (p[n] && strcmp(p + n, "/tcp") != 0 && strcmp(p + n, "/udp") != 0)) {
            client_error("invalid port \"%s\": PORT[/tcp|/udp]", p);
            return CLIENT_EXIT_FAIL;
        }
        (void)snprintf(want, sizeof want, "%s%s", p, p[n] ? "" : "/tcp");
    }
    if (proto_buf_word(&req, "inspect") < 0 || proto_buf_word(&req, a.pos[0]) < 0) {
        client_error("build request: %s", strerror(errno));
        return CLIENT_EXIT_FAIL;
    }
    auto_json cJSON *j = client_call_json(&c, &req);
    if (!j)
        return CLIENT_EXIT_FAIL;
    const cJSON *ns = cJSON_GetObjectItemCaseSensitive(j, "NetworkSettings");
    const cJSON *ports = cJSON_GetObjectItemCaseSensitive(ns, "Ports");
    if (*want) {
        const cJSON *b = cJSON_GetObjectItemCaseSensitive(ports, want);
        if (!cJSON_IsArray(b) || cJSON_GetArraySize(b) == 0) {
            client_error("No public port '%s' published for %s", want, a.pos[0]);
            return CLIENT_EXIT_FAIL;
        }
        print_bindings(NULL, b);
        return 0;
    }
    const cJSON *it;
    cJSON_ArrayForEach(it, ports)
    {
        if (cJSON_IsArray(it))
            print_bindings(it->string, it);
    }
    return 0;
}
