/* SPDX-License-Identifier: MIT */
/* ctl/main.c - berth, the command-line client of berthd: global flags (--socket, --help,
 * --version), then one command with Docker's spelling, output and exit codes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl/client.h"
#include "ctl/cmd_exec.h"
#include "ctl/cmd_life.h"
#include "ctl/cmd_logs.h"
#include "ctl/cmd_misc.h"
#include "ctl/cmd_ps.h"
#include "ctl/cmd_run.h"
#include "ctl/cmd_stats.h"
#include "core/util.h"

static const struct {
    const char *name;
    int (*fn)(int argc, char **argv);
    const char *help; /* NULL: not listed */
} cmds[] = {
    {"run", cmd_run, "Create and run a new container from an image"},
    {"create", cmd_create, "Create a new container"},
    {"start", cmd_start, "Start one or more stopped containers"},
    {"stop", cmd_stop, "Stop one or more running containers"},
    {"restart", cmd_restart, "Restart one or more containers"},
    {"kill", cmd_kill, "Kill one or more running containers"},
    {"pause", cmd_pause, "Pause all processes within one or more containers"},
    {"unpause", cmd_unpause, "Unpause all processes within one or more containers"},
    {"rm", cmd_rm, "Remove one or more containers"},
    {"wait", cmd_wait, "Block until one or more containers stop, then print their exit codes"},
    {"ps", cmd_ps, "List containers"},
    {"inspect", cmd_inspect, "Return low-level information on containers"},
    {"logs", cmd_logs, "Fetch the logs of a container"},
    {"port", cmd_port, "List port mappings for a container"},
    {"events", cmd_events, "Get real time events from berthd"},
    {"export", cmd_export, "Export a container's filesystem as a tar archive"},
    {"diff", cmd_diff, "Inspect changes to files or directories on a container's filesystem"},
    {"image", cmd_image, "Manage images (ls, import, load, inspect, rm, prune)"},
    {"images", cmd_images, NULL},
    {"rmi", cmd_rmi, NULL},
    {"load", cmd_load, "Load an image from an OCI archive or a docker save tarball"},
    {"info", cmd_info, "Display system-wide information"},
    {"version", cmd_version, "Show the berth version information"},
    {"ping", cmd_ping, "Check that berthd answers"},
    {"shutdown", cmd_shutdown, "Stop every container and berthd (--reboot, --halt, --poweroff)"},
    {"manifest", cmd_manifest, "Apply a boot manifest (apply FILE)"},
    {"exec", cmd_exec, "Execute a command in a running container"},
    {"attach", cmd_attach, "Attach to a running container's output (and input with -i)"},
    {"stats", cmd_stats, "Display a live stream of container resource usage statistics"},
    {"network", cmd_network, "Manage networks (create, ls, rm, inspect)"},
    {"volume", cmd_volume, "Manage volumes (create, ls, inspect, rm, prune)"},
};

static void usage(void)
{
    printf("Usage:  berth [OPTIONS] COMMAND\n\nA container engine that is also an init system\n\n"
           "Options:\n"
           "      --socket string   berthd's socket (default $BERTH_SOCKET, else %s)\n"
           "  -h, --help            Print usage\n"
           "  -v, --version         Print version information and quit\n\nCommands:\n",
           CLIENT_SOCKET_DEFAULT);
    for (size_t i = 0; i < ARRAY_LEN(cmds); i++)
        if (cmds[i].help)
            printf("  %-10s  %s\n", cmds[i].name, cmds[i].help);
    printf("\nRun 'berth COMMAND --help' for more information on a command.\n");
}

static int global_fail(const char *what, const char *arg)
{
    client_error("%s: %s", what, arg);
    fprintf(stderr, "See 'berth --help'.\n");
    return CLIENT_EXIT_ENGINE;
}

static int dispatch(int argc, char **argv)
{
    const char *sock = getenv("BERTH_SOCKET");
    int i = 1;

    for (; i < argc && argv[i][0] == '-'; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage();
            return 0;
        }
        if (strcmp(a, "--version") == 0 || strcmp(a, "-v") == 0) {
            printf("berth version %s\n", CLIENT_VERSION);
            return 0;
        }
        if (strcmp(a, "--socket") == 0) {
            if (++i >= argc)
                return global_fail("flag needs an argument", "--socket");
            sock = argv[i];
        } else if (strncmp(a, "--socket=", 9) == 0) {
            sock = a + 9;
        } else {
            return global_fail("unknown flag", a);
        }
    }
    if (sock && *sock)
        client_set_socket(sock);
    if (i >= argc || strcmp(argv[i], "help") == 0) {
        usage();
        return 0;
    }
    for (size_t k = 0; k < ARRAY_LEN(cmds); k++)
        if (strcmp(argv[i], cmds[k].name) == 0)
            return cmds[k].fn(argc - i, argv + i);
    client_error("'%s' is not a berth command", argv[i]);
    fprintf(stderr, "See 'berth --help'.\n");
    return CLIENT_EXIT_FAIL;
}

int main(int argc, char **argv)
{
    int rc = dispatch(argc, argv);

    /* output that never reached its reader is a failure too (a full disk, a closed pipe) */
    if (fflush(stdout) != 0 && rc == 0) {
        client_error("write standard output: %m");
        rc = CLIENT_EXIT_FAIL;
    }
    return rc;
}
