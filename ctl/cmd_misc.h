/* SPDX-License-Identifier: MIT */
/* ctl/cmd_misc.h - berth image (ls, import, load, inspect, rm, prune), images, rmi, load,
 * export, diff, network, volume, info, version, ping, shutdown. */
#pragma once

/* ARGV[0] is the command word ("image" takes its sub-command in ARGV[1]). Return 0, or 1 on
 * any error. */
int cmd_image(int argc, char **argv);
int cmd_images(int argc, char **argv);
int cmd_rmi(int argc, char **argv);
int cmd_network(int argc, char **argv);
int cmd_volume(int argc, char **argv);
int cmd_load(int argc, char **argv);
int cmd_export(int argc, char **argv);
int cmd_diff(int argc, char **argv);
int cmd_info(int argc, char **argv);
int cmd_version(int argc, char **argv);
int cmd_ping(int argc, char **argv);
int cmd_shutdown(int argc, char **argv);
int cmd_manifest(int argc, char **argv);
