/* SPDX-License-Identifier: MIT */
/* tests/unit/test_firewall.c - the nft script of berthd's table: the isolation rules for
 * every bridge network, NAT only when asked, the size bound for the most networks berthd
 * allows, and, when nft is installed, nft's own check of the script (`nft -c`: parsed and
 * validated by the kernel, never committed). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/err.h"
#include "core/firewall.h"
#include "core/network.h"
#include "tests/unit/tap.h"

static struct network nets[NETWORK_MAX + 3];

/* NBRIDGE bridge networks after host and none, each a /24 in 10.201.0.0/16. */
static struct network *make_nets(int nbridge)
{
    int n = 0;
    memset(nets, 0, sizeof nets);
    nets[n].driver = NETWORK_HOST;
    (void)snprintf(nets[n++].name, sizeof nets[0].name, "host");
    nets[n].driver = NETWORK_NULL;
    (void)snprintf(nets[n++].name, sizeof nets[0].name, "none");
    for (int i = 0; i < nbridge; i++, n++) {
        nets[n].driver = NETWORK_BRIDGE;
        (void)snprintf(nets[n].name, sizeof nets[0].name, "net%d", i);
        (void)snprintf(nets[n].bridge, sizeof nets[0].bridge, "btn-%08x",
                       0xabc00000u + (unsigned)i);
        nets[n].sn.net = 0x0ac90000u + ((uint32_t)i << 8);
        nets[n].sn.prefix = 24;
        nets[n].sn.gateway = nets[n].sn.net + 1;
    }
    for (int i = 0; i + 1 < n; i++)
        nets[i].next = &nets[i + 1];
    return &nets[0];
}

static const char *nft_path(void)
{
    static const char *const paths[] = {"/usr/sbin/nft", "/sbin/nft"};
    for (size_t i = 0; i < sizeof paths / sizeof *paths; i++)
        if (access(paths[i], X_OK) == 0)
            return paths[i];
    return NULL;
}

/* nft -c -f FILE: 0 when nft accepts the script. */
static int nft_check(const char *script)
{
    char path[] = "/tmp/berth-nft-XXXXXX", cmd[128];
    int fd = mkstemp(path);
    if (fd < 0)
        return -1;
    size_t len = strlen(script);
    int rc = write(fd, script, len) == (ssize_t)len ? 0 : -1;
    (void)close(fd);
    if (rc == 0) {
        (void)snprintf(cmd, sizeof cmd, "%s -c -f %s", nft_path(), path);
        rc = system(cmd);
    }
    (void)unlink(path);
    return rc;
}

int main(void)
{
    struct err e = {0};
    char *buf = malloc(FIREWALL_SCRIPT_MAX);
    if (!buf)
        return 1;

    ok(firewall_script("berth_t", make_nets(2), 0, buf, FIREWALL_SCRIPT_MAX, &e) == 0,
       "script for two networks (%s)", e.msg);
    ok(strncmp(buf, "table ip berth_t\ndelete table ip berth_t\ntable ip berth_t {\n", 57) == 0,
       "the table is replaced in one transaction");
    ok(strstr(buf, "elements = { \"btn-abc00000\", \"btn-abc00001\" }") != NULL,
       "the set holds both bridges");
    ok(strstr(buf, "iifname \"btn-abc00000\" oifname @bridges oifname != \"btn-abc00000\" drop") &&
           strstr(buf,
                  "iifname \"btn-abc00001\" oifname @bridges oifname != \"btn-abc00001\" drop"),
       "each bridge may not forward to another");
    ok(strstr(buf, "policy accept") && !strstr(buf, "policy drop"),
       "nothing but berth's own bridges is dropped");
    ok(!strstr(buf, "masquerade") && !strstr(buf, "postrouting"), "no NAT unless asked");
    if (nft_path())
        ok(nft_check(buf) == 0, "nft -c accepts it");
    else
        ok(1, "nft -c # SKIP nft is not installed");

    ok(firewall_script("berth_t", make_nets(2), 1, buf, FIREWALL_SCRIPT_MAX, &e) == 0,
       "script with NAT");
    ok(strstr(buf, "type nat hook postrouting priority srcnat; policy accept;") &&
           strstr(buf, "ip saddr 10.201.0.0/24 oifname != \"btn-abc00000\" masquerade") &&
           strstr(buf, "ip saddr 10.201.1.0/24 oifname != \"btn-abc00001\" masquerade"),
       "each subnet is masqueraded when it leaves its bridge");
    if (nft_path())
        ok(nft_check(buf) == 0, "nft -c accepts it");
    else
        ok(1, "nft -c # SKIP nft is not installed");

    ok(firewall_script("berth_t", make_nets(0), 1, buf, FIREWALL_SCRIPT_MAX, &e) == 0 &&
           !strstr(buf, "set bridges") && !strstr(buf, "@bridges"),
       "no bridge network: no set, no rule");
    if (nft_path())
        ok(nft_check(buf) == 0, "nft -c accepts the empty table");
    else
        ok(1, "nft -c # SKIP nft is not installed");

    ok(firewall_script("berth_t", make_nets(NETWORK_MAX + 1), 1, buf, FIREWALL_SCRIPT_MAX, &e) == 0,
       "the most networks berthd allows fit in FIREWALL_SCRIPT_MAX (%zu bytes used)", strlen(buf));
    if (nft_path())
        ok(nft_check(buf) == 0, "nft -c accepts it");
    else
        ok(1, "nft -c # SKIP nft is not installed");
    ok(firewall_script("berth_t", make_nets(3), 1, buf, 200, &e) < 0 && e.code == ENOSPC,
       "a short buffer: ENOSPC, not a cut script (%s)", e.msg);
    ok(firewall_script("berth_t", make_nets(3), 1, buf, 0, &e) < 0 && e.code == ENOSPC,
       "no buffer at all: ENOSPC");
    free(buf);
    return done();
}
