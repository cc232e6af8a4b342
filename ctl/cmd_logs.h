/* SPDX-License-Identifier: MIT */
/* ctl/cmd_logs.h - berth logs and berth events (streams). */
#pragma once

/* ARGV[0] is the command word. Return 0 when the stream ended normally, else 1. */
int cmd_logs(int argc, char **argv);
int cmd_events(int argc, char **argv);
