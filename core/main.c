/* SPDX-License-Identifier: MIT */
/* core/main.c - berthd: parse flags, set up the supervisor, run the loop. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/apply.h"
#include "core/boot.h"
#include "core/err.h"
#include "core/firewall.h"
#include "core/log.h"
#include "core/manifest.h"
#include "core/spawn.h"
#include "core/sv.h"
#include "core/util.h"

#define BERTH_VERSION "0.1.0"

static void usage(FILE *f)
{
    fprintf(f, "usage: berthd [--root DIR] [--socket PATH] [--group GID] [--log-level L]\n"
               "              [--discard-corrupt-state] [--cgroups auto|off]\n"
               "              [--bridge-subnet CIDR] [--firewall auto|off] [--nat]\n"
               "              [--manifest FILE]\n"
               "  --root DIR               state directory (default /var/lib/berth)\n"
               "  --socket PATH            control socket (default /run/berth/berth.sock)\n"
               "  --group GID              also allow members of this group on the socket\n"
               "  --log-level L            error|warn|info|debug (default info)\n"
               "  --discard-corrupt-state  move a corrupt snapshot aside and start empty\n"
               "  --cgroups auto|off       off: no cgroup per container (no limits, pause or\n"
               "                           stats); auto (default) detects v2, v1 or hybrid\n"
               "  --bridge-subnet CIDR     the default bridge network's subnet (default: a /24\n"
               "                           in 10.200.0.0/13 derived from --root)\n"
               "  --firewall auto|off      auto (default): when nft is installed, berthd's own\n"
               "                           nftables table keeps its networks apart\n"
               "  --nat                    masquerade traffic leaving each network (outbound\n"
               "                           NAT; needs nft and net.ipv4.ip_forward=1)\n"
               "  --manifest FILE          the boot manifest to apply at start (default as the\n"
               "                           machine's init: /etc/berth/boot.json)\n");
}

static int berthd(int argc, char **argv, enum boot_role role)
{
    static struct sv sv; /* large (paths); lives for the whole process */
    static const struct option opts[] = {
        {"root", required_argument, NULL, 'r'},
        {"socket", required_argument, NULL, 's'},
        {"group", required_argument, NULL, 'g'},
        {"log-level", required_argument, NULL, 'l'},
        {"discard-corrupt-state", no_argument, NULL, 'D'},
        {"cgroups", required_argument, NULL, 'C'},
        {"bridge-subnet", required_argument, NULL, 'B'},
        {"firewall", required_argument, NULL, 'F'},
        {"nat", no_argument, NULL, 'N'},
        {"manifest", required_argument, NULL, 'M'},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
    };
    const char *root = "/var/lib/berth", *sock = "/run/berth/berth.sock", *manifest = NULL;
    int discard = 0, nat = 0, c;
    enum firewall_mode fw_mode = FIREWALL_AUTO;
    struct err e = {0};

    int machine = role == BOOT_MACHINE;
    if (machine)
        opterr = 0; /* the kernel passes init the command line's words it did not know */
    sv.group = (gid_t)-1;
    sv.listen_fd = -1;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'r':
            root = optarg;
            break;
        case 's':
            sock = optarg;
            break;
        case 'g': {
            long long g;
            if (util_parse_int(optarg, 0, 0x7fffffff, &g, &e) < 0) {
                fprintf(stderr, "berthd: --group: %s\n", err_str(&e));
                return 2;
            }
            sv.group = (gid_t)g;
            break;
        }
        case 'l': {
            int lvl = log_parse_level(optarg);
            if (lvl < 0) {
                fprintf(stderr, "berthd: unknown log level '%s'\n", optarg);
                return 2;
            }
            log_set_level((enum log_level)lvl);
            break;
        }
        case 'D':
            discard = 1;
            break;
        case 'B':
            sv.bridge_subnet = optarg;
            break;
        case 'C':
            if (strcmp(optarg, "auto") != 0 && strcmp(optarg, "off") != 0) {
                fprintf(stderr, "berthd: --cgroups: expected auto or off, not '%s'\n", optarg);
                return 2;
            }
            sv.no_cgroups = strcmp(optarg, "off") == 0;
            break;
        case 'F':
            if (strcmp(optarg, "auto") != 0 && strcmp(optarg, "off") != 0) {
                fprintf(stderr, "berthd: --firewall: expected auto or off, not '%s'\n", optarg);
                return 2;
            }
            fw_mode = strcmp(optarg, "off") == 0 ? FIREWALL_OFF : FIREWALL_AUTO;
            break;
        case 'N':
            nat = 1;
            break;
        case 'M':
            manifest = optarg;
            break;
        case 'h':
            usage(stdout);
            return 0;
        case 'V':
            printf("berthd %s\n", BERTH_VERSION);
            return 0;
        default:
            if (machine) {
                log_msg(LOG_WARN, "ignoring an unknown or incomplete flag");
                break;
            }
            usage(stderr);
            return 2;
        }
    }
    if (optind != argc && !machine) {
        usage(stderr);
        return 2;
    }
    if (root[0] != '/' || sock[0] != '/') {
        fprintf(stderr, "berthd: --root and --socket must be absolute paths\n");
        return 2;
    }
    if (util_fmt(sv.root, sizeof sv.root, &e, "%s", root) < 0 ||
        util_fmt(sv.socket_path, sizeof sv.socket_path, &e, "%s", sock) < 0) {
        fprintf(stderr, "berthd: %s\n", err_str(&e));
        return 2;
    }
    if (!manifest && machine && access(BOOT_MANIFEST_PATH, F_OK) == 0)
        manifest = BOOT_MANIFEST_PATH;
    if (manifest) {
        struct manifest m;
        /* a bad manifest is a clear error at once (the machine's init logs it and goes on) */
        if (manifest_load(manifest, &m, &e) < 0) {
            fprintf(stderr, "berthd: manifest: %s\n", err_str(&e));
            if (!machine)
                return 2;
            manifest = NULL;
        } else
            manifest_free(&m);
    }
    if (manifest && (manifest[0] != '/' ||
                     util_fmt(sv.manifest_path, sizeof sv.manifest_path, &e, "%s", manifest) < 0)) {
        fprintf(stderr, "berthd: --manifest must be an absolute path\n");
        if (!machine)
            return 2;
    }
    sv.discard_corrupt = discard;
    if (firewall_init(&sv, fw_mode, nat, &e) < 0) {
        fprintf(stderr, "berthd: %s\n", err_str(&e));
        return 2;
    }
    if (sv_init(&sv, &e) < 0) {
        if (strstr(e.msg, "is corrupt"))
            fprintf(stderr,
                    "berthd: %s\nberthd: the file is left as it is; start with "
                    "--discard-corrupt-state to keep it aside and start empty\n",
                    err_str(&e));
        else
            fprintf(stderr, "berthd: %s\n", err_str(&e));
        return 1;
    }
    log_msg(LOG_INFO, "berthd %s ready on %s (root %s, %s)", BERTH_VERSION, sv.socket_path, sv.root,
            boot_role_name(role));
    char ready[64];
    (void)snprintf(ready, sizeof ready, "READY=1\nMAINPID=%d", (int)getpid());
    boot_notify(ready);
    if (sv.manifest_path[0] && apply_start(&sv, sv.manifest_path, NULL, &e) < 0)
        log_err(&e, "manifest %s", sv.manifest_path);
    sv_run(&sv);
    boot_final(role, (enum boot_halt)sv.halt);
    return 0;
}

int main(int argc, char **argv)
{
    if (spawn_is_init(argv[0]))
        return spawn_init_main();
    enum boot_role role = boot_role();
    if (role == BOOT_MACHINE) {
        (void)setenv("PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", 0);
        boot_early(argv);
        boot_network();
    }
    int rc = berthd(argc, argv, role);
    if (role == BOOT_MACHINE)
        boot_fallback(); /* the machine's init never exits: the kernel would panic */
    return rc;
}
