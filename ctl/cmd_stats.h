/* SPDX-License-Identifier: MIT */
/* ctl/cmd_stats.h - berth stats. */
#pragma once

int cmd_stats(int argc, char **argv);
