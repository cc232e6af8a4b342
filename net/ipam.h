/* SPDX-License-Identifier: MIT */
/* net/ipam.h - IPv4 subnets and address management for container networks.
 * Library: pure (no syscalls, no I/O), synchronous, no libev, no globals, no logging; errors
 * via struct err. Every address is a uint32_t in host byte order (10.0.0.1 is 0x0a000001). */
#pragma once

#include <stdint.h>

struct err;

struct net_subnet {
    uint32_t net;     /* network address, host bits zero */
    unsigned prefix;  /* NET_PREFIX_MIN..NET_PREFIX_MAX */
    uint32_t gateway; /* inside the subnet, neither the network nor the broadcast address */
};

/* Parse a strict dotted quad "a.b.c.d": four decimal octets 0..255 without signs, spaces,
 * leading zeros ("010" could be octal elsewhere) or trailing characters. EINVAL otherwise. */
int net_addr_parse(const char *s, uint32_t *out, struct err *e);

/* Format A as a dotted quad into BUF (at most 15 characters and the NUL). */
void net_addr_format(uint32_t a, char buf[static 16]);

/* Parse CIDR "a.b.c.d/N" strictly: N is decimal without leading zeros and within
 * NET_PREFIX_MIN..NET_PREFIX_MAX, and the host bits of the address are zero. GATEWAY is a
 * dotted quad inside the subnet that is neither its network nor its broadcast address, or
 * NULL for the first host. Fails with EINVAL and a message naming the input
 * ("invalid subnet '10.0.0.1/24': host bits set"); *OUT is untouched then. */
int net_subnet_parse(const char *cidr, const char *gateway, struct net_subnet *out, struct err *e);

/* 1 when A and B share at least one address, else 0. */
int net_subnet_overlaps(const struct net_subnet *a, const struct net_subnet *b);

/* Derive a /24 with gateway .1 from SEED (berthd's root directory) inside 10.200.0.0/13
 * (10.200.0.0-10.207.255.255, 2048 possible /24s): an FNV-1a hash of SEED picks the /24. The
 * range is outside the defaults of Docker (172.17.0.0/16 and up, 192.168.0.0/16), Podman
 * (10.88.0.0/16), libvirt (192.168.122.0/24) and Kubernetes (10.96.0.0/12, 10.244.0.0/16).
 * Deterministic; different seeds give different subnets with probability 2047/2048, so the
 * caller still checks the result with net_subnet_overlaps() against the networks it knows. */
void net_subnet_derive(const char *seed, struct net_subnet *out);

/* Address allocator of one subnet. USED is a bitmap with one bit per address of the subnet
 * (SIZE bits, so at most 128 KiB for a /12). The network, gateway and broadcast addresses
 * are marked at init and never handed out; N_USED counts the other marked addresses. NEXT is
 * the offset at which the next allocation starts looking. Fields are read-only for callers. */
struct net_ipam {
    struct net_subnet sn;
    uint8_t *used;
    uint32_t size;
    uint32_t next;
    uint32_t n_used;
};

/* Initialise P for SN (validated as net_subnet_parse would: EINVAL). Allocates the bitmap
 * (ENOMEM); release it with net_ipam_free(). */
int net_ipam_init(struct net_ipam *p, const struct net_subnet *sn, struct err *e);

/* Hand out a free address into *ADDR. Next-fit: the search starts after the address handed out
 * last and wraps around, so an address just released is reused only after every other free
 * address has been handed out. ENOSPC ("no free address in 10.88.0.0/16") when full. */
int net_ipam_alloc(struct net_ipam *p, uint32_t *addr, struct err *e);

/* Mark ADDR as used (--ip, or restoring addresses from a snapshot). EINVAL when ADDR is outside
 * the subnet or is its network, gateway or broadcast address; EADDRINUSE when already used.
 * Does not move the next-fit position. */
int net_ipam_reserve(struct net_ipam *p, uint32_t addr, struct err *e);

/* Mark ADDR free again. Idempotent; addresses outside the subnet and the network, gateway and
 * broadcast addresses are ignored. */
void net_ipam_release(struct net_ipam *p, uint32_t addr);

/* Free the bitmap and zero P. Safe on a zeroed or already freed P. */
void net_ipam_free(struct net_ipam *p);
