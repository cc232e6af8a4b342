/* SPDX-License-Identifier: MIT */
/* ctl/cmd_life.h - lifecycle commands: start stop kill restart pause unpause rm wait. */
#pragma once

/* ARGV[0] is the command word. Each acts on every name given, prints each name (wait: each
 * exit code) on success, goes on after a failure and returns 1 if any failed, else 0.
 * start -a returns the container's exit code (125 for an engine error). */
int cmd_start(int argc, char **argv);
int cmd_stop(int argc, char **argv);
int cmd_kill(int argc, char **argv);
int cmd_restart(int argc, char **argv);
int cmd_pause(int argc, char **argv);
int cmd_unpause(int argc, char **argv);
int cmd_rm(int argc, char **argv);
int cmd_wait(int argc, char **argv);
