/* SPDX-License-Identifier: MIT */
/* ctl/cmd_exec.h - berth exec and berth attach. */
#pragma once

/* ARGV[0] is the command word. exec returns the command's exit code (126/127 when it cannot
 * run, 125 for an engine error); exec -d prints the session id. attach returns the container's
 * exit code, 0 after the detach keys, 1 when it cannot attach. */
int cmd_exec(int argc, char **argv);
int cmd_attach(int argc, char **argv);
