/* SPDX-License-Identifier: MIT */
/* ctl/cmd_exec.h - berth exec and berth attach. */
#pragma once

struct client_conn;
struct client_io;

/* ARGV[0] is the command word. exec returns the command's exit code (126/127 when it cannot
 * run, 125 for an engine error); exec -d prints the session id. attach returns the container's
 * exit code, 0 after the detach keys, 1 when it cannot attach. */
int cmd_exec(int argc, char **argv);
int cmd_attach(int argc, char **argv);

/* After the ok BODY of an attach, a run or a start -a: take the fd berthd passed (pty master
 * or stdin pipe) and set up C's IO (stdin copied when STDIN_OK, detach KEYS, signals to
 * TARGET or, NULL, not forwarded). -1 after printing the error. */
int client_attach_io(struct client_conn *c, struct client_io *io, const char *body, int stdin_ok,
                     const char *keys, const char *target);
