/* SPDX-License-Identifier: MIT */
/* ctl/cmd_stats.c - berth stats: berthd answers raw counters (`stats` verb); the client takes
 * two samples and shows Docker's columns: CPU % over the interval, memory use / limit, net
 * and block I/O, pids. --no-stream prints one table (two samples 1 s apart); without it the
 * table is redrawn every second until interrupted. */
#include "ctl/cmd_stats.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "ctl/client.h"
#include "ctl/proto.h"
#include "core/err.h"
#include "core/util.h"

enum { ST_NO_STREAM, ST_FORMAT, ST_NO_TRUNC, ST_NFLAGS };

static const struct client_flag stats_flags[ST_NFLAGS] = {
    [ST_NO_STREAM] = {0, "no-stream", 0},
    [ST_FORMAT] = {0, "format", 1},
    [ST_NO_TRUNC] = {0, "no-trunc", 0},
};

/* One sample: the reply array, or NULL after printing the error. */
static cJSON *sample(const struct client_args *a)
{
    auto_buf struct proto_buf req = {0};
    auto_conn struct client_conn c = CLIENT_CONN_INIT;

    if (proto_buf_word(&req, "stats") < 0) {
        client_error("build request: %s", strerror(errno));
        return NULL;
    }
    for (int i = 0; i < a->npos; i++)
        if (proto_buf_word(&req, a->pos[i]) < 0) {
            client_error("build request: %s", strerror(errno));
            return NULL;
        }
    return client_call_json(&c, &req);
}

static const cJSON *find_id(const cJSON *arr, const char *id)
{
    const cJSON *it;
    cJSON_ArrayForEach(it, arr)
    {
        if (strcmp(client_json_str(it, "Id"), id) == 0)
            return it;
    }
    return NULL;
}

/* Docker's CPU %: container delta over system delta, times the online CPUs. */
static double cpu_percent(const cJSON *prev, const cJSON *cur)
{
    if (!prev)
        return 0;
    double cd = client_json_num(cur, "CpuNs") - client_json_num(prev, "CpuNs");
    double sd = client_json_num(cur, "SystemNs") - client_json_num(prev, "SystemNs");
    double n = client_json_num(cur, "OnlineCpus");
    if (cd <= 0 || sd <= 0)
        return 0;
    return cd / sd * (n > 0 ? n : 1) * 100.0;
}

static int show(const cJSON *prev, const cJSON *cur, int json, int no_trunc)
{
    struct client_table t = {.ncols = 8};
    static const char *const head[] = {"CONTAINER ID", "NAME",    "CPU %",     "MEM USAGE / LIMIT",
                                       "MEM %",        "NET I/O", "BLOCK I/O", "PIDS"};
    const cJSON *it;
    int rc = 0;

    if (!json && client_table_row(&t, head) < 0)
        rc = -1;
    cJSON_ArrayForEach(it, cur)
    {
        const char *id = client_json_str(it, "Id");
        double cpu = cpu_percent(find_id(prev, id), it);
        double mem = client_json_num(it, "MemUsage"), lim = client_json_num(it, "MemLimit");
        char c_id[80], c_cpu[32], c_mem[80], c_memp[32], c_net[80], c_blk[80], c_pids[32];
        char a[32], b[32];
        (void)snprintf(c_id, sizeof c_id, "%.*s", no_trunc ? 64 : 12, id);
        (void)snprintf(c_cpu, sizeof c_cpu, "%.2f%%", cpu);
        client_human_size(mem, a, sizeof a);
        client_human_size(lim, b, sizeof b);
        (void)snprintf(c_mem, sizeof c_mem, "%s / %s", a, lim > 0 ? b : "--");
        (void)snprintf(c_memp, sizeof c_memp, "%.2f%%", lim > 0 ? mem / lim * 100.0 : 0.0);
        client_human_size(client_json_num(it, "NetRx"), a, sizeof a);
        client_human_size(client_json_num(it, "NetTx"), b, sizeof b);
        (void)snprintf(c_net, sizeof c_net, "%s / %s", a, b);
        client_human_size(client_json_num(it, "BlkRead"), a, sizeof a);
        client_human_size(client_json_num(it, "BlkWrite"), b, sizeof b);
        (void)snprintf(c_blk, sizeof c_blk, "%s / %s", a, b);
        (void)snprintf(c_pids, sizeof c_pids, "%.0f", client_json_num(it, "Pids"));
        if (json) {
            printf("{\"ID\":\"%s\",\"Name\":\"%s\",\"CPUPerc\":\"%s\",\"MemUsage\":\"%s\","
                   "\"MemPerc\":\"%s\",\"NetIO\":\"%s\",\"BlockIO\":\"%s\",\"PIDs\":\"%s\"}\n",
                   c_id, client_json_str(it, "Name"), c_cpu, c_mem, c_memp, c_net, c_blk, c_pids);
            continue;
        }
        const char *row[] = {c_id,  client_json_str(it, "Name"), c_cpu, c_mem, c_memp, c_net, c_blk,
                             c_pids};
        if (client_table_row(&t, row) < 0)
            rc = -1;
    }
    if (!json)
        client_table_print(&t, stdout);
    client_table_free(&t);
    fflush(stdout);
    return rc;
}

int cmd_stats(int argc, char **argv)
{
    static const struct client_spec spec = {.name = "stats",
                                            .usage = "[OPTIONS] [CONTAINER...]",
                                            .flags = stats_flags,
                                            .nflags = ST_NFLAGS,
                                            .max_args = -1};
    auto_args struct client_args a = {0};
    int rc = client_args_parse(&a, &spec, argc, argv);
    if (rc != 0)
        return rc > 0 ? 0 : CLIENT_EXIT_FAIL;
    const char *fmt = client_args_last(&a, ST_FORMAT);
    int json = fmt ? client_format(fmt) : 0;
    if (json < 0) {
        client_error("unsupported --format '%s' (json)", fmt);
        return CLIENT_EXIT_FAIL;
    }
    int once = client_args_bool(&a, ST_NO_STREAM);
    cJSON *prev = sample(&a);
    if (!prev)
        return CLIENT_EXIT_FAIL;
    for (;;) {
        struct timespec one = {1, 0};
        (void)nanosleep(&one, NULL); /* an interrupted sleep just samples sooner */
        cJSON *cur = sample(&a);
        if (!cur) {
            cJSON_Delete(prev);
            return CLIENT_EXIT_FAIL;
        }
        if (!once && !json)
            printf("\033[2J\033[H"); /* redraw in place, as docker stats does */
        rc = show(prev, cur, json, client_args_bool(&a, ST_NO_TRUNC));
        cJSON_Delete(prev);
        prev = cur;
        if (once || rc < 0)
            break;
    }
    cJSON_Delete(prev);
    return rc < 0 ? CLIENT_EXIT_FAIL : 0;
}
