/* SPDX-License-Identifier: MIT */
/* net/ipam.c - IPv4 subnet parsing, formatting, overlap, derivation and a next-fit address
 * allocator. Pure: no syscalls besides malloc, no globals, no logging. */
#include "net/ipam.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/limits.h"

#define DERIVE_BASE  0x0ac80000u /* 10.200.0.0 */
#define DERIVE_SLOTS 2048u       /* /24s in 10.200.0.0/13 */
#define FNV32_OFFSET 2166136261u
#define FNV32_PRIME  16777619u
#define INPUT_ECHO   40 /* characters of a bad input quoted in a message */

static uint32_t prefix_mask(unsigned prefix)
{
    return prefix == 0 ? 0 : ~0u << (32 - prefix);
}

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* Parse a dotted quad at S; *END is where parsing stopped. Returns NULL or why S is invalid. */
static const char *parse_quad(const char *s, const char **end, uint32_t *out)
{
    uint32_t a = 0;
    const char *p = s;

    for (int i = 0; i < 4; i++) {
        if (i > 0 && *p++ != '.')
            return "expected four dot-separated octets";
        if (!is_digit(*p))
            return "expected four dot-separated octets";
        const char *start = p;
        unsigned v = 0;
        while (is_digit(*p) && p - start < 4)
            v = v * 10 + (unsigned)(*p++ - '0');
        if (v > 255 || p - start > 3)
            return "octet out of range";
        if (p - start > 1 && *start == '0')
            return "octet with a leading zero";
        a = a << 8 | v;
    }
    *end = p;
    *out = a;
    return NULL;
}

int net_addr_parse(const char *s, uint32_t *out, struct err *e)
{
    const char *end = NULL;
    uint32_t a = 0;

    if (!s)
        return err_set(e, EINVAL, "invalid address: none given");
    const char *why = parse_quad(s, &end, &a);
    if (!why && *end)
        why = "trailing characters";
    if (why)
        return err_set(e, EINVAL, "invalid address '%.*s': %s", INPUT_ECHO, s, why);
    *out = a;
    return 0;
}

void net_addr_format(uint32_t a, char buf[static 16])
{
    /* cannot truncate: at most "255.255.255.255" */
    (void)snprintf(buf, 16, "%u.%u.%u.%u", (unsigned)(a >> 24) & 0xffu, (unsigned)(a >> 16) & 0xffu,
                   (unsigned)(a >> 8) & 0xffu, (unsigned)a & 0xffu);
}

/* Why GW cannot be the gateway of NET/PREFIX, or NULL. */
static const char *gateway_problem(uint32_t net, unsigned prefix, uint32_t gw)
{
    uint32_t mask = prefix_mask(prefix);

    if ((gw & mask) != net)
        return "outside the subnet";
    if (gw == net)
        return "the network address";
    if (gw == (net | ~mask))
        return "the broadcast address";
    return NULL;
}

/* Why NET/PREFIX is not a usable subnet, or NULL. */
static const char *subnet_problem(uint32_t net, unsigned prefix)
{
    if (prefix < NET_PREFIX_MIN || prefix > NET_PREFIX_MAX)
        return "prefix length out of range";
    if (net & ~prefix_mask(prefix))
        return "host bits set";
    return NULL;
}

int net_subnet_parse(const char *cidr, const char *gateway, struct net_subnet *out, struct err *e)
{
    const char *p = NULL;
    uint32_t net = 0, gw = 0;
    unsigned prefix = 0;

    if (!cidr)
        return err_set(e, EINVAL, "invalid subnet: none given");
    const char *why = parse_quad(cidr, &p, &net);
    if (!why && *p != '/')
        why = *p ? "expected '/' after the address" : "missing prefix length";
    if (!why) {
        const char *start = ++p;
        while (is_digit(*p) && p - start < 3)
            prefix = prefix * 10 + (unsigned)(*p++ - '0');
        if (p == start)
            why = "missing prefix length";
        else if (*p)
            why = "trailing characters";
        else if (p - start > 1 && *start == '0')
            why = "prefix length with a leading zero";
    }
    if (!why && (prefix < NET_PREFIX_MIN || prefix > NET_PREFIX_MAX))
        return err_set(e, EINVAL, "invalid subnet '%.*s': prefix length must be %d to %d",
                       INPUT_ECHO, cidr, NET_PREFIX_MIN, NET_PREFIX_MAX);
    if (!why)
        why = subnet_problem(net, prefix);
    if (why)
        return err_set(e, EINVAL, "invalid subnet '%.*s': %s", INPUT_ECHO, cidr, why);

    if (!gateway) {
        gw = net + 1;
    } else {
        if (net_addr_parse(gateway, &gw, e) < 0)
            return err_wrap(e, "invalid gateway for subnet '%s'", cidr);
        why = gateway_problem(net, prefix, gw);
        if (why)
            return err_set(e, EINVAL, "invalid gateway '%s' for subnet '%s': %s", gateway, cidr,
                           why);
    }
    out->net = net;
    out->prefix = prefix;
    out->gateway = gw;
    return 0;
}

int net_subnet_overlaps(const struct net_subnet *a, const struct net_subnet *b)
{
    uint32_t mask = prefix_mask(a->prefix < b->prefix ? a->prefix : b->prefix);
    return ((a->net ^ b->net) & mask) == 0;
}

void net_subnet_derive(const char *seed, struct net_subnet *out)
{
    uint32_t h = FNV32_OFFSET;

    for (const unsigned char *s = (const unsigned char *)(seed ? seed : ""); *s; s++) {
        h ^= *s;
        h *= FNV32_PRIME;
    }
    /* fold the high half in: FNV-1a's low bits alone mix the last bytes poorly */
    uint32_t slot = (h ^ (h >> 16)) % DERIVE_SLOTS;
    out->net = DERIVE_BASE | slot << 8;
    out->prefix = 24;
    out->gateway = out->net + 1;
}

/* ---- allocator ---- */

static int bit_get(const struct net_ipam *p, uint32_t i)
{
    return p->used[i / 8] >> (i % 8) & 1;
}

static void bit_set(struct net_ipam *p, uint32_t i)
{
    p->used[i / 8] |= (uint8_t)(1u << (i % 8));
}

static void bit_clear(struct net_ipam *p, uint32_t i)
{
    p->used[i / 8] &= (uint8_t) ~(1u << (i % 8));
}

static void subnet_format(const struct net_subnet *sn, char buf[static 20])
{
    char a[16];
    net_addr_format(sn->net, a);
    /* cannot truncate: at most "255.255.255.255/32" */
    (void)snprintf(buf, 20, "%s/%u", a, sn->prefix);
}

/* Offset of ADDR in P's subnet, or why it cannot be handed out. */
static const char *addr_problem(const struct net_ipam *p, uint32_t addr, uint32_t *off)
{
    if ((addr & prefix_mask(p->sn.prefix)) != p->sn.net)
        return "outside";
    *off = addr - p->sn.net;
    if (*off == 0)
        return "the network address of";
    if (*off == p->size - 1)
        return "the broadcast address of";
    if (addr == p->sn.gateway)
        return "the gateway of";
    return NULL;
}

int net_ipam_init(struct net_ipam *p, const struct net_subnet *sn, struct err *e)
{
    char s[16], g[16];
    const char *why = subnet_problem(sn->net, sn->prefix);

    net_addr_format(sn->net, s);
    if (why)
        return err_set(e, EINVAL, "init address pool for %s/%u: %s", s, sn->prefix, why);
    why = gateway_problem(sn->net, sn->prefix, sn->gateway);
    if (why) {
        net_addr_format(sn->gateway, g);
        return err_set(e, EINVAL, "init address pool for %s/%u: gateway %s is %s", s, sn->prefix, g,
                       why);
    }
    uint32_t size = 1u << (32 - sn->prefix);
    uint8_t *used = calloc((size + 7) / 8, 1);
    if (!used)
        return err_set(e, ENOMEM, "init address pool for %s/%u", s, sn->prefix);
    *p = (struct net_ipam){.sn = *sn, .used = used, .size = size, .next = 1};
    bit_set(p, 0);
    bit_set(p, size - 1);
    bit_set(p, sn->gateway - sn->net);
    return 0;
}

int net_ipam_alloc(struct net_ipam *p, uint32_t *addr, struct err *e)
{
    char s[20];

    if (p->used && p->n_used < p->size - 3) {
        for (uint32_t i = 0; i < p->size; i++) {
            uint32_t off = (p->next + i) & (p->size - 1);
            if (bit_get(p, off))
                continue;
            bit_set(p, off);
            p->n_used++;
            p->next = (off + 1) & (p->size - 1);
            *addr = p->sn.net + off;
            return 0;
        }
    }
    subnet_format(&p->sn, s);
    return err_set(e, ENOSPC, "no free address in %s", s);
}

int net_ipam_reserve(struct net_ipam *p, uint32_t addr, struct err *e)
{
    char a[16], s[20];
    uint32_t off = 0;
    const char *why = p->used ? addr_problem(p, addr, &off) : "outside";

    net_addr_format(addr, a);
    subnet_format(&p->sn, s);
    if (why)
        return err_set(e, EINVAL, "address %s is %s %s", a, why, s);
    if (bit_get(p, off))
        return err_set(e, EADDRINUSE, "address %s is already in use in %s", a, s);
    bit_set(p, off);
    p->n_used++;
    return 0;
}

void net_ipam_release(struct net_ipam *p, uint32_t addr)
{
    uint32_t off = 0;

    if (!p->used || addr_problem(p, addr, &off) || !bit_get(p, off))
        return;
    bit_clear(p, off);
    p->n_used--;
}

void net_ipam_free(struct net_ipam *p)
{
    free(p->used);
    memset(p, 0, sizeof *p);
}
