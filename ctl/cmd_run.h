/* SPDX-License-Identifier: MIT */
/* ctl/cmd_run.h - berth run and berth create. */
#pragma once

/* ARGV[0] is the command word. Return the process exit code: the container's own for an
 * attached run, 125/126/127 for a failed start, 125 for any other error. */
int cmd_run(int argc, char **argv);
int cmd_create(int argc, char **argv);
