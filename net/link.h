/* SPDX-License-Identifier: MIT */
/* net/link.h - links, addresses and routes over rtnetlink (libnl-route-3): the bridge, the veth
 * pair of a container and the container's side of it.
 * Library: synchronous, no libev, no globals, no logging; errors via struct err.
 *
 * Every function works in the network namespace of the calling thread, opens its own netlink
 * socket (close-on-exec) and frees it before returning, and makes a few bounded kernel round
 * trips, so each is safe on the loop. Interface names are 1 to IFNAMSIZ - 1 (15) characters
 * without '/', ':', '%' or white space, and not "." or ".."; anything else fails with EINVAL
 * before the kernel is asked. Netlink failures carry an errno value in e->code (EEXIST,
 * ENODEV, EBUSY, EPERM, EINVAL, ...; EIO when libnl does not say) and libnl's text in the
 * message. Addresses are IPv4 in host byte order, as in net/ipam.h. */
#pragma once

#include <stdint.h>

struct err;

/* Bring the loopback interface of the current network namespace up. */
int net_link_up_lo(struct err *e);

/* Make sure bridge NAME exists, has address GW/PREFIX and is up: create it when missing, add the
 * address when missing (an address the bridge has already is left alone, as are its other
 * addresses) and set it up. Idempotent. EEXIST when NAME exists and is not a bridge; EINVAL
 * when GW is 0 or PREFIX is outside NET_PREFIX_MIN..NET_PREFIX_MAX. */
int net_bridge_ensure(const char *name, uint32_t gw, unsigned prefix, struct err *e);

/* Delete link NAME; for a veth this deletes both ends. A missing link is success. The kernel
 * waits for an RCU grace period here (tens of milliseconds): where that matters, close the
 * container's netns instead and let the kernel delete its veth asynchronously. */
int net_link_delete(const char *name, struct err *e);

/* The MTU of link NAME into *MTU. ENODEV when NAME does not exist. */
int net_link_mtu(const char *name, unsigned *mtu, struct err *e);

/* Create the veth pair HOST_NAME <-> PEER_NAME with the peer created directly inside the netns
 * PEER_NETNS_FD (not taken over; the pair vanishes when that netns dies), MTU on both ends
 * (0 keeps the kernel's default, else NET_MTU_MIN..NET_MTU_MAX), HOST_NAME enslaved to BRIDGE
 * and up; the peer stays down for net_iface_setup(). One request: when enslaving or setting
 * the link up fails, the kernel removes the new pair again, so a failure leaves nothing.
 * ENODEV when BRIDGE does not exist, EINVAL when it is not a bridge, EEXIST when HOST_NAME
 * exists here or PEER_NAME exists in the peer's netns. */
int net_veth_create(const char *host_name, const char *bridge, int peer_netns_fd,
                    const char *peer_name, unsigned mtu, struct err *e);

/* Configure a container's interface, in the container's netns: rename NAME to NEW_NAME (it is
 * set down first if it is up; the kernel refuses to rename a running link), add ADDR/PREFIX
 * (kept if already there), set it up, and add a default route via GW unless GW is 0. EINVAL
 * when ADDR is the network or broadcast address of ADDR/PREFIX, PREFIX is outside
 * NET_PREFIX_MIN..NET_PREFIX_MAX, or GW is not another address of ADDR/PREFIX; ENODEV when NAME
 * does not exist; EEXIST when NEW_NAME exists or a default route exists already. A failure part way
 * leaves the steps done so far in place: the container's netns is discarded on failure anyway. */
int net_iface_setup(const char *name, const char *new_name, uint32_t addr, unsigned prefix,
                    uint32_t gw, struct err *e);
