/* SPDX-License-Identifier: MIT */
/* ctl/cmd_ps.h - berth ps (Docker's table or JSON lines) and berth inspect (a JSON array). */
#pragma once

/* ARGV[0] is the command word. Return 0, or 1 on any error. */
int cmd_ps(int argc, char **argv);
int cmd_inspect(int argc, char **argv);
int cmd_port(int argc, char **argv);
