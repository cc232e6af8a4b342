/* SPDX-License-Identifier: MIT */
/* ctl/cmd_misc.c - berth image ls|import|rm (and images), info, version, ping, shutdown:
 * one request each, the reply shown as Docker shows it (or as JSON with --format json). */
#include "ctl/cmd_misc.h"

#include <errno.h>
#include <fcntl.h>
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

#if defined(__x86_64__)
#define CLIENT_ARCH "amd64"
#elif defined(__aarch64__)
#define CLIENT_ARCH "arm64"
#elif defined(__i386__)
#define CLIENT_ARCH "386"
#else
#define CLIENT_ARCH "unknown"
#endif

/* Send the words of WORDS (NULL-terminated) as one request, passing PASS_FD when it is not
 * -1, and read its ok reply. Errors are printed; returns 0 with *BODY (valid while C is open),
 * or -1. */
static int call_words_fd(struct client_conn *c, const char *const *words, int pass_fd,
                         const char **body)
{
    auto_buf struct proto_buf req = {0};
    struct err e = {0};

    for (; *words; words++) {
        if (proto_buf_word(&req, *words) < 0) {
            client_error("build request: %s", strerror(errno));
            return -1;
        }
    }
    int code = client_call(c, &req, pass_fd, body, &e);
    if (code != 200) {
        client_error("%s", code < 0 ? err_str(&e) : *body);
        return -1;
    }
    return 0;
}

static int call_words(struct client_conn *c, const char *const *words, const char **body)
{
    return call_words_fd(c, words, -1, body);
}

/* Parse ARGV by SPEC (no positional words) and send the one-word request VERB. */
static int call_simple(int argc, char **argv, const struct client_spec *spec, struct client_args *a,
                       struct client_conn *c, const char **body)
{
    const char *const words[] = {spec->name, NULL};
    int rc = client_args_parse(a, spec, argc, argv);

    if (rc != 0)
        return rc > 0 ? 1 : -1;
    return call_words(c, words, body);
}

enum { FMT_FORMAT, FMT_NFLAGS };
static const struct client_flag fmt_flags[FMT_NFLAGS] = {[FMT_FORMAT] = {0, "format", 1}};

/* Parse ARGV by SPEC (FMT_FORMAT its only flag); *JSON says whether --format json was given.
 * Returns 0, 1 after --help, -1 after an error was printed. */
static int parse_with_format(int argc, char **argv, const struct client_spec *spec,
                             struct client_args *a, int *json)
{
    int rc = client_args_parse(a, spec, argc, argv);

    if (rc != 0)
        return rc;
    *json = client_format(client_args_last(a, FMT_FORMAT));
    if (*json < 0) {
        client_error("unsupported format: %s (use json)", client_args_last(a, FMT_FORMAT));
        return -1;
    }
    return 0;
}

/* `berth KIND SUB ...`: run SUB from SUBS (N of them), or print HELP (the Commands lines) for
 * --help, -h or no SUB (then exiting 1, as Docker does). */
struct sub_cmd {
    const char *name;
    int (*fn)(int, char **);
};

static int dispatch_sub(const char *kind, const struct sub_cmd *subs, size_t n, const char *help,
                        int argc, char **argv)
{
    const char *sub = argc > 1 ? argv[1] : "--help";

    for (size_t i = 0; i < n; i++)
        if (strcmp(sub, subs[i].name) == 0)
            return subs[i].fn(argc - 1, argv + 1);
    if (strcmp(sub, "--help") == 0 || strcmp(sub, "-h") == 0) {
        printf("Usage:  berth %s COMMAND\n\nCommands:\n%s", kind, help);
        return argc > 1 ? 0 : CLIENT_EXIT_FAIL;
    }
    client_error("'%s' is not a berth %s command", sub, kind);
    fprintf(stderr, "See 'berth %s --help'.\n", kind);
    return CLIENT_EXIT_FAIL;
}

/* ---- image ---- */

/* `KIND inspect NAME...` (image, network, volume): the JSON array, indented. */
static int kind_inspect(const struct client_spec *spec, const char *kind, int argc, char **argv)
{
    auto_args struct client_args a = {0};
    auto_conn struct client_conn c = CLIENT_CONN_INIT;
    const char *words[64 + 3] = {kind, "inspect"};
    struct err e = {0};
    const char *body;

    int rc = client_args_parse(&a, spec, argc, argv);
    if (rc != 0)
        return rc > 0 ? 0 : CLIENT_EXIT_FAIL;
    for (int i = 0; i < a.npos; i++)
        words[i + 2] = a.pos[i];
    if (call_words(&c, words, &body) < 0)
        return CLIENT_EXIT_FAIL;
    auto_json cJSON *j = client_json_parse(body, &e);
    auto_free char *txt = j ? cJSON_Print(j) : NULL;
    if (!txt) {
        client_error("%s", j ? "out of memory" : err_str(&e));
        return CLIENT_EXIT_FAIL;
    }
    printf("%s\n", txt);
    return 0;
}

enum { IMG_QUIET, IMG_NO_TRUNC, IMG_FORMAT, IMG_NFLAGS };
static const struct client_flag image_ls_flags[IMG_NFLAGS] = {
    [IMG_QUIET] = {'q', "quiet", 0},
    [IMG_NO_TRUNC] = {0, "no-trunc", 0},
    [IMG_FORMAT] = {0, "format", 1},
};

#define IMAGE_REF_MAX 256 /* an image name, as berthd's storage_image_name_valid bounds it */

static int image_row(const cJSON *img, int kind, int trunc, struct client_table *t)
{
    char id[CTR_ID_LEN + 8], ago[64], size[32], created[64];
    const char *full = client_json_str(img, "Id");

    if (trunc && strncmp(full, "sha256:", 7) == 0)
        full += 7;
    (void)snprintf(id, trunc ? CTR_SHORT_ID_LEN + 1 : sizeof id, "%s", full); /* cuts on purpose */
    if (kind < 0) {
        printf("%s\n", id);
        return 0;
    }
    client_human_ago((int64_t)client_json_num(img, "Created"), ago, sizeof ago);
    client_human_size(client_json_num(img, "Size"), size, sizeof size);
    /* "name:tag" shows as REPOSITORY name, TAG tag; a plain name's tag is latest */
    char repo[IMAGE_REF_MAX];
    const char *tag = "latest";
    (void)snprintf(repo, sizeof repo, "%s", client_json_str(img, "Name"));
    char *colon = strrchr(repo, ':');
    if (colon && colon[1]) {
        *colon = '\0';
        tag = colon + 1;
    }
    if (kind == 0) {
        const char *row[] = {repo, tag, id, ago, size};
        return client_table_row(t, row);
    }
    client_fmt_created((int64_t)client_json_num(img, "Created"), created, sizeof created);
    auto_json cJSON *o = cJSON_CreateObject();
    const char *kv[][2] = {
        {"CreatedAt", created}, {"CreatedSince", ago}, {"ID", id},
        {"Repository", repo},   {"Size", size},        {"Tag", tag},
    };
    for (size_t i = 0; i < ARRAY_LEN(kv); i++)
        if (!o || !cJSON_AddStringToObject(o, kv[i][0], kv[i][1]))
            return -1;
    auto_free char *txt = cJSON_PrintUnformatted(o);
    if (!txt)
        return -1;
    printf("%s\n", txt);
    return 0;
}

/* `KIND ls` of images, networks and volumes: -q (ROW gets kind -1), --no-trunc, --format
 * table|json. ROW prints or adds one item. */
struct list_kind {
    const char *name; /* "image ls" */
    const char *verb; /* "image" */
    const char *const *header;
    size_t ncols;
    int (*row)(const cJSON *item, int kind, int trunc, struct client_table *t);
};

static int list_cmd(int argc, char **argv, const struct list_kind *k)
{
    const struct client_spec spec = {.name = k->name,
                                     .usage = "[OPTIONS]",
                                     .flags = image_ls_flags,
                                     .nflags = IMG_NFLAGS,
                                     .max_args = 0};
    const char *const words[] = {k->verb, "ls", NULL};
    auto_args struct client_args a = {0};
    auto_conn struct client_conn c = CLIENT_CONN_INIT;
    struct client_table t = {.ncols = k->ncols};
    struct err e = {0};
    const char *body;
    const cJSON *item;

    int rc = client_args_parse(&a, &spec, argc, argv);
    if (rc != 0)
        return rc > 0 ? 0 : CLIENT_EXIT_FAIL;
    int kind = client_format(client_args_last(&a, IMG_FORMAT));
    if (kind < 0) {
        client_error("unsupported format: %s (use table or json)",
                     client_args_last(&a, IMG_FORMAT));
        return CLIENT_EXIT_FAIL;
    }
    if (client_args_bool(&a, IMG_QUIET))
        kind = -1;
    if (call_words(&c, words, &body) < 0)
        return CLIENT_EXIT_FAIL;
    auto_json cJSON *list = client_json_parse(body, &e);
    if (!list || (kind == 0 && client_table_row(&t, k->header) < 0)) {
        client_error("%s", list ? "out of memory" : err_str(&e));
        client_table_free(&t);
        return CLIENT_EXIT_FAIL;
    }
    int trunc = !client_args_bool(&a, IMG_NO_TRUNC);
    cJSON_ArrayForEach(item, list)
    {
        if (rc == 0)
            rc = k->row(item, kind, trunc, &t);
    }
    if (rc < 0)
        client_error("format %s: out of memory", k->name);
    client_table_print(&t, stdout);
    client_table_free(&t);
    return rc < 0 ? CLIENT_EXIT_FAIL : 0;
}

/* --format json of a network or volume: berthd's own object, one line. */
static int json_row(const cJSON *item)
{
    auto_free char *txt = cJSON_PrintUnformatted(item);
    if (!txt)
        return -1;
    printf("%s\n", txt);
    return 0;
}

static int image_ls(int argc, char **argv)
{
    static const char *const header[] = {"REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE"};
    static const struct list_kind k = {"image ls", "image", header, ARRAY_LEN(header), image_row};
    return list_cmd(argc, argv, &k);
}

static int image_import(int argc, char **argv)
{
    static const struct client_spec spec = {
        .name = "image import", .usage = "NAME DIR|TAR", .min_args = 2, .max_args = 2};
    auto_args struct client_args a = {0};
    auto_conn struct client_conn c = CLIENT_CONN_INIT;
    const char *body;

    int rc = client_args_parse(&a, &spec, argc, argv);
    if (rc != 0)
        return rc > 0 ? 0 : CLIENT_EXIT_FAIL;
    /* berthd resolves nothing against our working directory */
    auto_free char *path = realpath(a.pos[1], NULL);
    if (!path) {
        client_error("image import: '%s': %s", a.pos[1], strerror(errno));
        return CLIENT_EXIT_FAIL;
    }
    const char *const words[] = {"image", "import", a.pos[0], path, NULL};
    if (call_words(&c, words, &body) < 0)
        return CLIENT_EXIT_FAIL;
    return 0;
}

enum { RM_FORCE, RM_NFLAGS };
static const struct client_flag rm_flags[RM_NFLAGS] = {[RM_FORCE] = {'f', "force", 0}};

/* `KIND rm [-f] NAME...` (image, volume): one request per name, each name printed when done. */
static int kind_rm(const char *name, const char *usage, const char *kind, int argc, char **argv)
{
    const struct client_spec spec = {.name = name,
                                     .usage = usage,
                                     .flags = rm_flags,
                                     .nflags = RM_NFLAGS,
                                     .min_args = 1,
                                     .max_args = -1};
    auto_args struct client_args a = {0};

    int rc = client_args_parse(&a, &spec, argc, argv);
    if (rc != 0)
        return rc > 0 ? 0 : CLIENT_EXIT_FAIL;
    const char *words = client_args_bool(&a, RM_FORCE) ? " force=1 rm" : " rm";
    return client_each(&(struct client_each){.verb = kind, .words = words}, a.pos, a.npos);
}

/* image rm [-f]: -f also removes the containers (none may be running) made from the image. */
static int image_rm(int argc, char **argv)
{
    return kind_rm("image rm", "[-f] IMAGE [IMAGE...]", "image", argc, argv);
}

static int image_inspect(int argc, char **argv)
{
    static const struct client_spec spec = {
        .name = "image inspect", .usage = "IMAGE [IMAGE...]", .min_args = 1, .max_args = 64};
    return kind_inspect(&spec, "image", argc, argv);
}

enum { PRUNE_ALL, PRUNE_FORCE, PRUNE_NFLAGS };
static const struct client_flag prune_flags[PRUNE_NFLAGS] = {
    [PRUNE_ALL] = {'a', "all", 0},
    [PRUNE_FORCE] = {'f', "force", 0},
};

/* image prune [-a] [-f]: Docker's output. Without -a there is nothing to prune (berth keeps no
 * dangling images); -f is accepted for scripts (berth never asks). */
static int image_prune(int argc, char **argv)
{
    static const struct client_spec spec = {.name = "image prune",
                                            .usage = "[-a] [-f]",
                                            .flags = prune_flags,
                                            .nflags = PRUNE_NFLAGS,
                                            .max_args = 0};
    auto_args struct client_args a = {0};
    auto_conn struct client_conn c = CLIENT_CONN_INIT;
    struct err e = {0};
    const char *body;
    const cJSON *v;
    char size[32];

    int rc = client_args_parse(&a, &spec, argc, argv);
    if (rc != 0)
        return rc > 0 ? 0 : CLIENT_EXIT_FAIL;
    const char *const words[] = {"image", client_args_bool(&a, PRUNE_ALL) ? "all=1" : "prune",
                                 client_args_bool(&a, PRUNE_ALL) ? "prune" : NULL, NULL};
    if (call_words(&c, words, &body) < 0)
        return CLIENT_EXIT_FAIL;
    auto_json cJSON *j = client_json_parse(body, &e);
    const cJSON *gone = cJSON_GetObjectItemCaseSensitive(j, "ImagesDeleted");
    if (cJSON_GetArraySize(gone) > 0)
        printf("Deleted Images:\n");
    cJSON_ArrayForEach(v, gone)
    {
        printf("deleted: %s\n", cJSON_GetStringValue(v) ? cJSON_GetStringValue(v) : "");
    }
    client_human_size(client_json_num(j, "SpaceReclaimed"), size, sizeof size);
    printf("%sTotal reclaimed space: %s\n", cJSON_GetArraySize(gone) > 0 ? "\n" : "", size);
    return 0;
}

enum { LOAD_INPUT, LOAD_NAME, LOAD_QUIET, LOAD_NFLAGS };
static const struct client_flag load_flags[LOAD_NFLAGS] = {
    [LOAD_INPUT] = {'i', "input", 1},
    [LOAD_NAME] = {0, "name", 1},
    [LOAD_QUIET] = {'q', "quiet", 0},
};

/* berth [image] load -i ARCHIVE [--name NAME]: an OCI layout (directory or tar) or a
 * `docker save` tarball, read by berthd. */
int cmd_load(int argc, char **argv)
{
    static const struct client_spec spec = {.name = "load",
                                            .usage = "-i ARCHIVE [--name NAME]",
                                            .flags = load_flags,
                                            .nflags = LOAD_NFLAGS,
                                            .max_args = 1};
    auto_args struct client_args a = {0};
    auto_conn struct client_conn c = CLIENT_CONN_INIT;
    auto_buf struct proto_buf req = {0};

    int rc = client_args_parse(&a, &spec, argc, argv);
    if (rc != 0)
        return rc > 0 ? 0 : CLIENT_EXIT_FAIL;
    const char *in = client_args_last(&a, LOAD_INPUT);
    if (!in && a.npos)
        in = a.pos[0];
    if (!in) {
        client_error("load: give the archive with -i ARCHIVE (berthd reads it; stdin is not "
                     "supported)");
        return CLIENT_EXIT_FAIL;
    }
    auto_free char *path = realpath(in, NULL);
    if (!path) {
        client_error("load: '%s': %s", in, strerror(errno));
        return CLIENT_EXIT_FAIL;
    }
    const char *name = client_args_last(&a, LOAD_NAME);
    /* on a terminal, berthd's helper draws a progress line straight on our stderr */
    int progress = !client_args_bool(&a, LOAD_QUIET) && isatty(STDERR_FILENO);
    if (proto_buf_word(&req, "image") < 0 || (name && proto_buf_opt(&req, "name", name) < 0) ||
        (progress && proto_buf_opt(&req, "progress", "1") < 0) ||
        proto_buf_word(&req, "load") < 0 || proto_buf_word(&req, path) < 0) {
        client_error("build request: %s", strerror(errno));
        return CLIENT_EXIT_FAIL;
    }
    if (!client_args_bool(&a, LOAD_QUIET))
        fprintf(stderr, "Loading %s ...\n", path);
    auto_json cJSON *j = client_call_json_fd(&c, &req, progress ? STDERR_FILENO : -1);
    if (!j)
        return CLIENT_EXIT_FAIL;
    printf("Loaded image: %s\n", client_json_str(j, "Name"));
    return 0;
}

int cmd_image(int argc, char **argv)
{
    static const struct sub_cmd subs[] = {
        {"ls", image_ls}, {"list", image_ls},   {"import", image_import},   {"load", cmd_load},
        {"rm", image_rm}, {"remove", image_rm}, {"inspect", image_inspect}, {"prune", image_prune},
    };
    return dispatch_sub(
        "image", subs, ARRAY_LEN(subs),
        "  ls          List images\n"
        "  import      Import a directory or rootfs tarball as NAME\n"
        "  inspect     Display detailed information on one or more images\n"
        "  load        Load an OCI archive or a docker save tarball\n"
        "  prune       Remove unused images (-a: every image no container uses)\n"
        "  rm          Remove one or more images (-f: and their stopped containers)\n",
        argc, argv);
}

int cmd_images(int argc, char **argv)
{
    return image_ls(argc, argv);
}

int cmd_rmi(int argc, char **argv)
{
    return image_rm(argc, argv);
}

/* ---- export, diff ---- */

enum { EXPORT_OUTPUT, EXPORT_NFLAGS };
static const struct client_flag export_flags[EXPORT_NFLAGS] = {
    [EXPORT_OUTPUT] = {'o', "output", 1}};

/* berth export [-o FILE] CONTAINER: berthd's helper writes the tar straight to our stdout (or
 * FILE), passed with the request. */
int cmd_export(int argc, char **argv)
{
    static const struct client_spec spec = {.name = "export",
                                            .usage = "[-o FILE] CONTAINER",
                                            .flags = export_flags,
                                            .nflags = EXPORT_NFLAGS,
                                            .min_args = 1,
                                            .max_args = 1};
    auto_args struct client_args a = {0};
    auto_conn struct client_conn c = CLIENT_CONN_INIT;
    const char *body;

    int rc = client_args_parse(&a, &spec, argc, argv);
    if (rc != 0)
        return rc > 0 ? 0 : CLIENT_EXIT_FAIL;
    const char *out = client_args_last(&a, EXPORT_OUTPUT);
    auto_close int fd = -1;
    if (out) {
        fd = open(out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd < 0) {
            client_error("export: '%s': %s", out, strerror(errno));
            return CLIENT_EXIT_FAIL;
        }
    } else if (isatty(STDOUT_FILENO)) {
        client_error("cowardly refusing to save to a terminal. Use the -o flag or redirect");
        return CLIENT_EXIT_FAIL;
    }
    const char *const words[] = {"export", a.pos[0], NULL};
    if (call_words_fd(&c, words, out ? fd : STDOUT_FILENO, &body) < 0) {
        if (out)
            (void)unlink(out);
        return CLIENT_EXIT_FAIL;
    }
    return 0;
}

/* berth diff CONTAINER: "A /path", "C /path", "D /path", written by berthd's helper to our
 * stdout. */
int cmd_diff(int argc, char **argv)
{
    static const struct client_spec spec = {
        .name = "diff", .usage = "CONTAINER", .min_args = 1, .max_args = 1};
    auto_args struct client_args a = {0};
    auto_conn struct client_conn c = CLIENT_CONN_INIT;
    const char *body;

    int rc = client_args_parse(&a, &spec, argc, argv);
    if (rc != 0)
        return rc > 0 ? 0 : CLIENT_EXIT_FAIL;
    (void)fflush(stdout);
    const char *const words[] = {"diff", a.pos[0], NULL};
    return call_words_fd(&c, words, STDOUT_FILENO, &body) < 0 ? CLIENT_EXIT_FAIL : 0;
}

/* ---- network ---- */

enum { NET_SUBNET, NET_GATEWAY, NET_CREATE_NFLAGS };
static const struct client_flag net_create_flags[NET_CREATE_NFLAGS] = {
    [NET_SUBNET] = {0, "subnet", 1},
    [NET_GATEWAY] = {0, "gateway", 1},
};

static int network_create(int argc, char **argv)
{
    static const struct client_spec spec = {.name = "network create",
                                            .usage = "[--subnet CIDR] [--gateway IP] NAME",
                                            .flags = net_create_flags,
                                            .nflags = NET_CREATE_NFLAGS,
                                            .min_args = 1,
                                            .max_args = 1};
    auto_args struct client_args a = {0};
    auto_conn struct client_conn c = CLIENT_CONN_INIT;
    auto_buf struct proto_buf req = {0};

    int rc = client_args_parse(&a, &spec, argc, argv);
    if (rc != 0)
        return rc > 0 ? 0 : CLIENT_EXIT_FAIL;
    const char *subnet = client_args_last(&a, NET_SUBNET);
    const char *gw = client_args_last(&a, NET_GATEWAY);
    if (proto_buf_word(&req, "network") < 0 ||
        (subnet && proto_buf_opt(&req, "subnet", subnet) < 0) ||
        (gw && proto_buf_opt(&req, "gateway", gw) < 0) || proto_buf_word(&req, "create") < 0 ||
        proto_buf_word(&req, a.pos[0]) < 0) {
        client_error("build request: %s", strerror(errno));
        return CLIENT_EXIT_FAIL;
    }
    auto_json cJSON *j = client_call_json(&c, &req);
    if (!j)
        return CLIENT_EXIT_FAIL;
    printf("%s\n", client_json_str(j, "Id"));
    return 0;
}

static int network_row(const cJSON *n, int kind, int trunc, struct client_table *t)
{
    char id[CTR_ID_LEN + 1];
    (void)snprintf(id, trunc ? CTR_SHORT_ID_LEN + 1 : sizeof id, "%s",
                   client_json_str(n, "Id")); /* cuts on purpose */
    if (kind < 0) {
        printf("%s\n", id);
        return 0;
    }
    if (kind > 0)
        return json_row(n);
    const char *row[] = {id, client_json_str(n, "Name"), client_json_str(n, "Driver"),
                         client_json_str(n, "Scope")};
    return client_table_row(t, row);
}

static int network_ls(int argc, char **argv)
{
    static const char *const header[] = {"NETWORK ID", "NAME", "DRIVER", "SCOPE"};
    static const struct list_kind k = {"network ls", "network", header, ARRAY_LEN(header),
                                       network_row};
    return list_cmd(argc, argv, &k);
}

static int network_rm(int argc, char **argv)
{
    static const struct client_spec spec = {
        .name = "network rm", .usage = "NETWORK [NETWORK...]", .min_args = 1, .max_args = -1};
    auto_args struct client_args a = {0};

    int rc = client_args_parse(&a, &spec, argc, argv);
    if (rc != 0)
        return rc > 0 ? 0 : CLIENT_EXIT_FAIL;
    return client_each(&(struct client_each){.verb = "network", .words = " rm"}, a.pos, a.npos);
}

static int network_inspect(int argc, char **argv)
{
    static const struct client_spec spec = {
        .name = "network inspect", .usage = "NETWORK [NETWORK...]", .min_args = 1, .max_args = 64};
    return kind_inspect(&spec, "network", argc, argv);
}

int cmd_network(int argc, char **argv)
{
    static const struct sub_cmd subs[] = {
        {"create", network_create}, {"ls", network_ls},     {"list", network_ls},
        {"rm", network_rm},         {"remove", network_rm}, {"inspect", network_inspect},
    };
    return dispatch_sub("network", subs, ARRAY_LEN(subs),
                        "  create      Create a network\n"
                        "  inspect     Display detailed information on one or more networks\n"
                        "  ls          List networks\n"
                        "  rm          Remove one or more networks\n",
                        argc, argv);
}

/* ---- volume ---- */

enum { VOL_LABEL, VOL_CREATE_NFLAGS };
static const struct client_flag vol_create_flags[VOL_CREATE_NFLAGS] = {
    [VOL_LABEL] = {0, "label", 1},
};

static int volume_create(int argc, char **argv)
{
    static const struct client_spec spec = {.name = "volume create",
                                            .usage = "[--label K=V] [NAME]",
                                            .flags = vol_create_flags,
                                            .nflags = VOL_CREATE_NFLAGS,
                                            .max_args = 1};
    auto_args struct client_args a = {0};
    auto_conn struct client_conn c = CLIENT_CONN_INIT;
    auto_buf struct proto_buf req = {0};

    int rc = client_args_parse(&a, &spec, argc, argv);
    if (rc != 0)
        return rc > 0 ? 0 : CLIENT_EXIT_FAIL;
    int bad = proto_buf_word(&req, "volume") < 0;
    for (size_t i = 0; !bad && i < a.nopts; i++)
        bad = proto_buf_opt(&req, "label", a.opts[i].val) < 0;
    if (bad || proto_buf_word(&req, "create") < 0 ||
        (a.npos && proto_buf_word(&req, a.pos[0]) < 0)) {
        client_error("build request: %s", strerror(errno));
        return CLIENT_EXIT_FAIL;
    }
    auto_json cJSON *j = client_call_json(&c, &req);
    if (!j)
        return CLIENT_EXIT_FAIL;
    printf("%s\n", client_json_str(j, "Name"));
    return 0;
}

static int volume_row(const cJSON *v, int kind, int trunc, struct client_table *t)
{
    (void)trunc;
    if (kind < 0) {
        printf("%s\n", client_json_str(v, "Name"));
        return 0;
    }
    if (kind > 0)
        return json_row(v);
    const char *row[] = {client_json_str(v, "Driver"), client_json_str(v, "Name")};
    return client_table_row(t, row);
}

static int volume_ls(int argc, char **argv)
{
    static const char *const header[] = {"DRIVER", "VOLUME NAME"};
    static const struct list_kind k = {"volume ls", "volume", header, ARRAY_LEN(header),
                                       volume_row};
    return list_cmd(argc, argv, &k);
}

static int volume_rm(int argc, char **argv)
{
    return kind_rm("volume rm", "[-f] VOLUME [VOLUME...]", "volume", argc, argv);
}

static int volume_inspect(int argc, char **argv)
{
    static const struct client_spec spec = {
        .name = "volume inspect", .usage = "VOLUME [VOLUME...]", .min_args = 1, .max_args = 64};
    return kind_inspect(&spec, "volume", argc, argv);
}

static int volume_prune(int argc, char **argv)
{
    static const struct client_spec spec = {.name = "volume prune",
                                            .usage = "[-a] [-f]",
                                            .flags = prune_flags,
                                            .nflags = PRUNE_NFLAGS,
                                            .max_args = 0};
    auto_args struct client_args a = {0};
    auto_conn struct client_conn c = CLIENT_CONN_INIT;
    const char *words[] = {"volume", "prune", NULL, NULL};
    struct err e = {0};
    const char *body;
    const cJSON *v;

    int rc = client_args_parse(&a, &spec, argc, argv);
    if (rc != 0)
        return rc > 0 ? 0 : CLIENT_EXIT_FAIL;
    if (client_args_bool(&a, PRUNE_ALL)) {
        words[1] = "all=1";
        words[2] = "prune";
    }
    if (call_words(&c, words, &body) < 0)
        return CLIENT_EXIT_FAIL;
    auto_json cJSON *j = client_json_parse(body, &e);
    printf("Deleted Volumes:\n");
    const cJSON *gone = cJSON_GetObjectItemCaseSensitive(j, "VolumesDeleted");
    cJSON_ArrayForEach(v, gone)
    {
        printf("%s\n", cJSON_GetStringValue(v) ? cJSON_GetStringValue(v) : "");
    }
    return 0;
}

int cmd_volume(int argc, char **argv)
{
    static const struct sub_cmd subs[] = {
        {"create", volume_create}, {"ls", volume_ls},     {"list", volume_ls},
        {"rm", volume_rm},         {"remove", volume_rm}, {"inspect", volume_inspect},
        {"prune", volume_prune},
    };
    return dispatch_sub("volume", subs, ARRAY_LEN(subs),
                        "  create      Create a volume\n"
                        "  inspect     Display detailed information on one or more volumes\n"
                        "  ls          List volumes\n"
                        "  prune       Remove unused anonymous volumes (-a: all unused)\n"
                        "  rm          Remove one or more volumes\n",
                        argc, argv);
}

/* ---- manifest ---- */

/* manifest apply FILE: berthd reads FILE (made absolute here) and converges to it; one line
 * per container that changed, and an error line per failure (exit 1). */
static int manifest_apply(int argc, char **argv)
{
    static const struct client_spec spec = {
        .name = "manifest apply", .usage = "FILE", .min_args = 1, .max_args = 1};
    auto_args struct client_args a = {0};
    auto_conn struct client_conn c = CLIENT_CONN_INIT;
    auto_buf struct proto_buf req = {0};
    auto_free char *abs = NULL;

    int rc = client_args_parse(&a, &spec, argc, argv);
    if (rc != 0)
        return rc > 0 ? 0 : CLIENT_EXIT_FAIL;
    abs = realpath(a.pos[0], NULL);
    if (!abs) {
        client_error("manifest '%s': %s", a.pos[0], strerror(errno));
        return CLIENT_EXIT_FAIL;
    }
    if (proto_buf_word(&req, "manifest") < 0 || proto_buf_word(&req, "apply") < 0 ||
        proto_buf_word(&req, abs) < 0) {
        client_error("build request: %s", strerror(errno));
        return CLIENT_EXIT_FAIL;
    }
    auto_json cJSON *j = client_call_json(&c, &req);
    if (!j)
        return CLIENT_EXIT_FAIL;
    static const char *const keys[] = {"Removed", "Created", "Started", "Unchanged"};
    for (size_t k = 0; k < ARRAY_LEN(keys); k++) {
        const cJSON *v;
        cJSON_ArrayForEach(v, cJSON_GetObjectItemCaseSensitive(j, keys[k]))
        {
            if (cJSON_IsString(v))
                printf("%-10s %s\n", keys[k], v->valuestring);
        }
    }
    const cJSON *f;
    int failed = 0;
    cJSON_ArrayForEach(f, cJSON_GetObjectItemCaseSensitive(j, "Failed"))
    {
        client_error("%s: %s", client_json_str(f, "Name"), client_json_str(f, "Error"));
        failed = 1;
    }
    return failed ? CLIENT_EXIT_FAIL : 0;
}

int cmd_manifest(int argc, char **argv)
{
    static const struct sub_cmd subs[] = {{"apply", manifest_apply}};
    return dispatch_sub("manifest", subs, ARRAY_LEN(subs),
                        "  apply       Converge to a boot manifest: start what is new, stop what "
                        "was removed,\n              re-create what changed\n",
                        argc, argv);
}

/* ---- info, version, ping, shutdown ---- */

int cmd_info(int argc, char **argv)
{
    static const struct client_spec spec = {.name = "info",
                                            .usage = "[OPTIONS]",
                                            .flags = fmt_flags,
                                            .nflags = FMT_NFLAGS,
                                            .max_args = 0};
    static const char *const words[] = {"info", NULL};
    auto_args struct client_args a = {0};
    auto_conn struct client_conn c = CLIENT_CONN_INIT;
    struct err e = {0};
    const char *body;
    int json = 0;

    int rc = parse_with_format(argc, argv, &spec, &a, &json);
    if (rc != 0)
        return rc > 0 ? 0 : CLIENT_EXIT_FAIL;
    if (call_words(&c, words, &body) < 0)
        return CLIENT_EXIT_FAIL;
    if (json) {
        printf("%s\n", body);
        return 0;
    }
    auto_json cJSON *j = client_json_parse(body, &e);
    if (!j) {
        client_error("%s", err_str(&e));
        return CLIENT_EXIT_FAIL;
    }
    static const char *const counts[][2] = {
        {"Containers", " Containers"},
        {"ContainersRunning", "  Running"},
        {"ContainersPaused", "  Paused"},
        {"ContainersStopped", "  Stopped"},
        {"Images", " Images"},
    };
    printf("Server:\n");
    for (size_t i = 0; i < ARRAY_LEN(counts); i++)
        printf("%s: %lld\n", counts[i][1], (long long)client_json_num(j, counts[i][0]));
    printf(" Server Version: %s\n", client_json_str(j, "Version"));
    printf(" Cgroup Version: %s\n", client_json_str(j, "CgroupVersion"));
    printf(" Root Dir: %s\n", client_json_str(j, "Root"));
    printf(" Socket: %s\n", client_json_str(j, "Socket"));
    printf(" Pid: %lld\n", (long long)client_json_num(j, "Pid"));
    printf(" Init (PID 1): %s\n",
           cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "Pid1")) ? "true" : "false");
    printf(" Orphans Reaped: %lld\n", (long long)client_json_num(j, "OrphansReaped"));
    printf(" Firewall: %s%s%s%s\n", client_json_str(j, "Firewall"),
           *client_json_str(j, "FirewallTable") ? " (table ip " : "",
           client_json_str(j, "FirewallTable"), *client_json_str(j, "FirewallTable") ? ")" : "");
    printf(" Outbound NAT: %s\n",
           cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "NAT")) ? "true" : "false");
    printf(" ID: %s\n", client_json_str(j, "ID"));
    return 0;
}

int cmd_version(int argc, char **argv)
{
    static const struct client_spec spec = {.name = "version",
                                            .usage = "[OPTIONS]",
                                            .flags = fmt_flags,
                                            .nflags = FMT_NFLAGS,
                                            .max_args = 0};
    static const char *const words[] = {"version", NULL};
    auto_args struct client_args a = {0};
    auto_conn struct client_conn c = CLIENT_CONN_INIT;
    struct err e = {0};
    const char *body;
    int json = 0;

    int rc = parse_with_format(argc, argv, &spec, &a, &json);
    if (rc != 0)
        return rc > 0 ? 0 : CLIENT_EXIT_FAIL;
    if (!json)
        printf("Client:\n Version:      %s\n API version:  1\n OS/Arch:      linux/%s\n",
               CLIENT_VERSION, CLIENT_ARCH);
    rc = call_words(&c, words, &body);
    if (json) {
        printf("{\"Client\":{\"Version\":\"%s\",\"ApiVersion\":\"1\",\"Os\":\"linux\","
               "\"Arch\":\"%s\"},\"Server\":%s}\n",
               CLIENT_VERSION, CLIENT_ARCH, rc == 0 && *body ? body : "null");
        return rc < 0 ? CLIENT_EXIT_FAIL : 0;
    }
    if (rc < 0)
        return CLIENT_EXIT_FAIL;
    auto_json cJSON *j = client_json_parse(body, &e);
    if (!j) {
        client_error("%s", err_str(&e));
        return CLIENT_EXIT_FAIL;
    }
    printf("\nServer:\n Version:      %s\n API version:  %s\n Git commit:   %s\n"
           " OS/Arch:      %s/%s\n",
           client_json_str(j, "Version"), client_json_str(j, "ApiVersion"),
           client_json_str(j, "GitCommit"), client_json_str(j, "Os"), client_json_str(j, "Arch"));
    return 0;
}

int cmd_ping(int argc, char **argv)
{
    static const struct client_spec spec = {.name = "ping", .usage = "", .max_args = 0};
    auto_args struct client_args a = {0};
    auto_conn struct client_conn c = CLIENT_CONN_INIT;
    const char *body;

    int rc = call_simple(argc, argv, &spec, &a, &c, &body);
    if (rc == 0)
        printf("OK\n");
    return rc == 0 || rc > 0 ? 0 : CLIENT_EXIT_FAIL;
}

enum { SHUT_REBOOT, SHUT_HALT, SHUT_POWEROFF, SHUT_NFLAGS };
static const struct client_flag shut_flags[SHUT_NFLAGS] = {
    [SHUT_REBOOT] = {0, "reboot", 0},
    [SHUT_HALT] = {0, "halt", 0},
    [SHUT_POWEROFF] = {0, "poweroff", 0},
};

/* shutdown [--reboot|--halt|--poweroff]: what the machine does once every container is down
 * (berthd as the machine's init; elsewhere berthd exits 0 whatever is asked). */
int cmd_shutdown(int argc, char **argv)
{
    static const struct client_spec spec = {.name = "shutdown",
                                            .usage = "[--reboot|--halt|--poweroff]",
                                            .flags = shut_flags,
                                            .nflags = SHUT_NFLAGS,
                                            .max_args = 0};
    static const char *const actions[SHUT_NFLAGS] = {"action=reboot", "action=halt",
                                                     "action=poweroff"};
    auto_args struct client_args a = {0};
    auto_conn struct client_conn c = CLIENT_CONN_INIT;
    const char *body, *action = NULL;

    int rc = client_args_parse(&a, &spec, argc, argv);
    if (rc != 0)
        return rc > 0 ? 0 : CLIENT_EXIT_FAIL;
    for (int f = 0; f < SHUT_NFLAGS; f++) {
        if (!client_args_bool(&a, f))
            continue;
        if (action) {
            client_error("--reboot, --halt and --poweroff exclude each other");
            return CLIENT_EXIT_FAIL;
        }
        action = actions[f];
    }
    const char *const words[] = {"shutdown", action, NULL};
    return call_words(&c, words, &body) == 0 ? 0 : CLIENT_EXIT_FAIL;
}
