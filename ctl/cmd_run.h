/* SPDX-License-Identifier: MIT */
/* ctl/cmd_run.h - berth run and berth create. */
#pragma once

/* ARGV[0] is the command word. Return the process exit code: the container's own for an
 * attached run, 125/126/127 for a failed start, 125 for any other error. */
int cmd_run(int argc, char **argv);
int cmd_create(int argc, char **argv);

struct proto_buf;
struct client_args;
struct err;
/* Append env=K=V options for A's ENV_FILE_FLAG files, then its ENV_FLAG values (-e K takes K
 * from our environment, or nothing when unset), so -e overrides as in Docker. */
int run_put_envs(struct proto_buf *req, const struct client_args *a, int env_flag,
                 int env_file_flag, struct err *e);
