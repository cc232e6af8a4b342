/* SPDX-License-Identifier: MIT */
/* core/network.h - berth's networks (DESIGN §12): the built-in `bridge`, `host` and `none`,
 * and user bridge networks; their subnets and address assignments (IPAM), kept in the
 * snapshot; the bridge devices berthd makes; each container's /etc/hosts. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "core/limits.h"
#include "net/ipam.h"

struct sv;
struct ctr;
struct err;
struct cJSON;

#define NETWORK_IFNAME_MAX 16 /* IFNAMSIZ */
#define NETWORK_MAX        64 /* user networks per supervisor */

enum network_driver { NETWORK_BRIDGE, NETWORK_HOST, NETWORK_NULL };

struct network {
    struct network *next; /* sv's list, oldest first */
    char name[CTR_NAME_MAX];
    char id[CTR_ID_LEN + 1];
    enum network_driver driver;
    int builtin;                     /* bridge, host, none: never removed */
    char bridge[NETWORK_IFNAME_MAX]; /* the device (bridge driver) */
    struct net_subnet sn;
    struct net_ipam ipam;
    int64_t created_ns;
    int up; /* the device was made or found since berthd started */
};

/* The built-in networks; the default bridge's subnet is BRIDGE_SUBNET ("a.b.c.d/N") when
 * given, else derived from berthd's root. Called before the snapshot is loaded. */
int network_init(struct sv *sv, const char *bridge_subnet, struct err *e);
/* Delete the bridge devices berthd made (graceful shutdown), then free every network. */
void network_shutdown(struct sv *sv);
void network_free_all(struct sv *sv);

/* By name, full id or unique id prefix; NULL with a 404-style E. */
struct network *network_find(struct sv *sv, const char *ref, struct err *e);
/* A user bridge network. SUBNET/GATEWAY may be NULL (a free /24 is derived). EEXIST on a taken
 * name, EINVAL on a bad or overlapping subnet. */
struct network *network_create(struct sv *sv, const char *name, const char *subnet,
                               const char *gateway, struct err *e);
/* Remove a user network no live container uses (EBUSY otherwise); its device goes too. */
int network_remove(struct sv *sv, struct network *n, struct err *e);

/* Container side. At start: the container's network (by its config), an address (its --ip or
 * the next free one), the bridge device; sets c->ip. At exit: the address goes back. */
int network_attach(struct ctr *c, struct err *e);
void network_detach(struct ctr *c);
/* After a supervisor restart: mark a live container's address as taken again. */
int network_readopt(struct ctr *c, struct err *e);
/* The network a container's config names ("bridge" by default), or NULL for none/host/
 * container:NAME. */
struct network *network_of(struct sv *sv, const struct ctr *c);

/* A published port, -p [IP:][HOST:]CTR[/tcp|/udp] (HOST 0: any free port). */
struct network_port {
    uint32_t host_ip; /* 0 = 0.0.0.0 */
    unsigned host_port;
    unsigned ctr_port;
    int udp;
};
int network_parse_port(const char *s, struct network_port *p, struct err *e);
/* The canonical "IP:HOST:CTR/proto" form kept in the config. */
void network_port_format(const struct network_port *p, char *buf, size_t size);
/* Bind every published port of C (a proxy on the loop to its address); the host ports of a
 * re-adopted container are the ones it had. EADDRINUSE "... address already in use". */
int network_ports_open(struct ctr *c, struct err *e);
void network_ports_close(struct ctr *c);

/* The container's /etc/hosts text: the localhost lines, then its hostname on its address and
 * PEERS (every running container of its network by name, itself included); without an
 * address, its hostname on 127.0.0.1. -1 when BUF is too small. */
int network_hosts_text(const struct ctr *c, const char *peers, char *buf, size_t size);
/* Rewrite /etc/hosts of every running container of N (a peer came or went). */
void network_refresh_hosts(struct sv *sv, const struct network *n);

/* Snapshot: every network, and back (replacing the built-ins' subnets and ids). */
struct cJSON *network_snapshot(const struct sv *sv);
int network_load(struct sv *sv, const struct cJSON *arr, struct err *e);
/* Docker's shapes: `network inspect` (one) and `network ls` (all). */
struct cJSON *network_inspect(const struct sv *sv, const struct network *n);
struct cJSON *network_ls(const struct sv *sv);
