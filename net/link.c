/* SPDX-License-Identifier: MIT */
/* net/link.c - links, addresses and routes through rtnetlink (libnl-route-3): lo, the bridge,
 * veth pairs and the container's interface. Library: no globals, no logging, no fork; it never
 * enters another netns itself (the caller does, or passes a netns fd for the kernel to use). */
#include "net/link.h"

#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <netlink/netlink.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/route/link/bridge.h>
#include <netlink/route/link/veth.h>
#include <netlink/route/route.h>

#include "core/err.h"
#include "core/limits.h"
#include "core/util.h"

static void sockp(struct nl_sock **s)
{
    int saved = errno;
    if (*s)
        nl_socket_free(*s);
    errno = saved;
}
static void linkp(struct rtnl_link **l)
{
    if (*l)
        rtnl_link_put(*l);
}
static void rtaddrp(struct rtnl_addr **a)
{
    if (*a)
        rtnl_addr_put(*a);
}
static void nladdrp(struct nl_addr **a)
{
    if (*a)
        nl_addr_put(*a);
}
static void routep(struct rtnl_route **r)
{
    if (*r)
        rtnl_route_put(*r);
}
#define auto_nlsock  __attribute__((cleanup(sockp)))
#define auto_link    __attribute__((cleanup(linkp)))
#define auto_rtaddr  __attribute__((cleanup(rtaddrp)))
#define auto_nladdr  __attribute__((cleanup(nladdrp)))
#define auto_rtroute __attribute__((cleanup(routep)))

/* libnl folds kernel errnos into its own -NLE_* codes (several into one, unknown ones into
 * NLE_FAILURE); map them back so callers can test e->code. */
static int nle_errno(int rc)
{
    switch (rc < 0 ? -rc : rc) {
    case NLE_EXIST:
        return EEXIST;
    case NLE_NODEV:
        return ENODEV;
    case NLE_OBJ_NOTFOUND:
        return ENOENT;
    case NLE_BUSY:
        return EBUSY;
    case NLE_PERM:
        return EPERM;
    case NLE_NOACCESS:
        return EACCES;
    case NLE_INVAL:
        return EINVAL;
    case NLE_RANGE:
        return ERANGE;
    case NLE_NOMEM:
        return ENOMEM;
    case NLE_AGAIN:
        return EAGAIN;
    case NLE_INTR:
        return EINTR;
    case NLE_OPNOTSUPP:
        return EOPNOTSUPP;
    case NLE_AF_NOSUPPORT:
        return EAFNOSUPPORT;
    case NLE_NOADDR:
        return EADDRNOTAVAIL;
    case NLE_BAD_SOCK:
        return EBADF;
    case NLE_MSGSIZE:
        return EMSGSIZE;
    default:
        return EIO;
    }
}

/* err_set() for a libnl result RC: libnl's text in the message (not strerror), an errno value
 * in e->code. Returns -1. */
__attribute__((format(printf, 3, 4))) static int nl_fail(struct err *e, int rc, const char *fmt,
                                                         ...)
{
    char what[ERR_MSG_MAX];
    va_list ap;

    va_start(ap, fmt);
    int n = vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    if (n < 0)
        what[0] = '\0';
    (void)err_set(e, 0, "%s: %s", what, nl_geterror(rc));
    if (e)
        e->code = nle_errno(rc);
    return -1;
}

/* The kernel's dev_valid_name() rules, plus no '%' (the kernel would pick a name "veth%d"
 * itself). libnl would silently truncate a long name, so this runs before any request. */
static int ifname_check(const char *what, const char *name, struct err *e)
{
    if (!name || !*name)
        return err_set(e, EINVAL, "invalid %s name: empty", what);
    if (strnlen(name, IFNAMSIZ) >= IFNAMSIZ)
        return err_set(e, EINVAL, "invalid %s name '%.*s...': longer than %d characters", what,
                       IFNAMSIZ - 1, name, IFNAMSIZ - 1);
    if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
        return err_set(e, EINVAL, "invalid %s name '%s'", what, name);
    for (const char *p = name; *p; p++)
        if ((unsigned char)*p <= ' ' || *p == 0x7f || strchr("/:%", *p))
            return err_set(e, EINVAL, "invalid %s name '%s': character %#x not allowed", what, name,
                           (unsigned)(unsigned char)*p);
    return 0;
}

static int prefix_check(unsigned prefix, struct err *e)
{
    if (prefix < NET_PREFIX_MIN || prefix > NET_PREFIX_MAX)
        return err_set(e, EINVAL, "invalid prefix length %u: must be %d to %d", prefix,
                       NET_PREFIX_MIN, NET_PREFIX_MAX);
    return 0;
}

static uint32_t prefix_mask(unsigned prefix)
{
    return prefix == 0 ? 0 : ~0u << (32 - prefix);
}

static const char *addr_str(uint32_t a, char buf[static INET_ADDRSTRLEN])
{
    struct in_addr in = {.s_addr = htonl(a)};
    /* cannot fail: AF_INET and a buffer of INET_ADDRSTRLEN */
    (void)inet_ntop(AF_INET, &in, buf, INET_ADDRSTRLEN);
    return buf;
}

/* libnl 3.7's nl_connect() creates the socket with SOCK_CLOEXEC. */
static struct nl_sock *sock_open(struct err *e)
{
    auto_nlsock struct nl_sock *sk = nl_socket_alloc();
    if (!sk)
        return err_set(e, ENOMEM, "allocate netlink socket"), NULL;
    int rc = nl_connect(sk, NETLINK_ROUTE);
    if (rc < 0)
        return nl_fail(e, rc, "connect rtnetlink"), NULL;
    return take_ptr(&sk);
}

static int link_is_bridge(struct rtnl_link *l)
{
    const char *kind = rtnl_link_get_type(l);
    return kind && strcmp(kind, "bridge") == 0;
}

static int link_set_up(struct nl_sock *sk, struct rtnl_link *l, struct err *e)
{
    auto_link struct rtnl_link *change = rtnl_link_alloc();
    if (!change)
        return err_set(e, ENOMEM, "allocate link");
    rtnl_link_set_flags(change, IFF_UP);
    int rc = rtnl_link_change(sk, l, change, 0);
    if (rc < 0)
        return nl_fail(e, rc, "set link '%s' up", rtnl_link_get_name(l));
    return 0;
}

/* Add ADDR/PREFIX with its broadcast address to link IFINDEX; an identical address that is
 * there already counts as success. */
static int addr_add(struct nl_sock *sk, int ifindex, const char *ifname, uint32_t addr,
                    unsigned prefix, struct err *e)
{
    char s[INET_ADDRSTRLEN];
    uint32_t local_be = htonl(addr), brd_be = htonl(addr | ~prefix_mask(prefix));
    auto_rtaddr struct rtnl_addr *ra = rtnl_addr_alloc();
    auto_nladdr struct nl_addr *local = nl_addr_build(AF_INET, &local_be, sizeof local_be);
    auto_nladdr struct nl_addr *brd = nl_addr_build(AF_INET, &brd_be, sizeof brd_be);
    int rc;

    if (!ra || !local || !brd)
        return err_set(e, ENOMEM, "allocate address");
    nl_addr_set_prefixlen(local, (int)prefix);
    rtnl_addr_set_ifindex(ra, ifindex);
    if ((rc = rtnl_addr_set_local(ra, local)) < 0 || (rc = rtnl_addr_set_broadcast(ra, brd)) < 0)
        return nl_fail(e, rc, "build address %s/%u", addr_str(addr, s), prefix);
    rtnl_addr_set_prefixlen(ra, (int)prefix);
    rc = rtnl_addr_add(sk, ra, 0);
    if (rc < 0 && rc != -NLE_EXIST)
        return nl_fail(e, rc, "add address %s/%u to '%s'", addr_str(addr, s), prefix, ifname);
    return 0;
}

static int route_add_default(struct nl_sock *sk, int ifindex, const char *ifname, uint32_t gw,
                             struct err *e)
{
    char s[INET_ADDRSTRLEN];
    uint32_t any_be = 0, gw_be = htonl(gw);
    auto_rtroute struct rtnl_route *route = rtnl_route_alloc();
    auto_nladdr struct nl_addr *dst = nl_addr_build(AF_INET, &any_be, sizeof any_be);
    auto_nladdr struct nl_addr *via = nl_addr_build(AF_INET, &gw_be, sizeof gw_be);
    struct rtnl_nexthop *nh = route ? rtnl_route_nh_alloc() : NULL;
    int rc;

    if (!nh || !dst || !via)
        return err_set(e, ENOMEM, "allocate route");
    rtnl_route_add_nexthop(route, nh); /* the route owns NH from here on */
    rtnl_route_nh_set_ifindex(nh, ifindex);
    rtnl_route_nh_set_gateway(nh, via);
    nl_addr_set_prefixlen(dst, 0);
    if ((rc = rtnl_route_set_dst(route, dst)) < 0)
        return nl_fail(e, rc, "build default route");
    rtnl_route_set_table(route, RT_TABLE_MAIN);
    rc = rtnl_route_add(sk, route, NLM_F_EXCL);
    if (rc < 0)
        return nl_fail(e, rc, "add default route via %s dev '%s'", addr_str(gw, s), ifname);
    return 0;
}

int net_link_up_lo(struct err *e)
{
    auto_nlsock struct nl_sock *sk = sock_open(e);
    auto_link struct rtnl_link *lo = NULL;
    int rc;

    if (!sk)
        return -1;
    if ((rc = rtnl_link_get_kernel(sk, 0, "lo", &lo)) < 0)
        return nl_fail(e, rc, "find link 'lo'");
    return link_set_up(sk, lo, e);
}

/* A fixed, locally administered MAC for bridge NAME. Without an address of its own, a bridge
 * takes the lowest MAC of its ports, so the gateway's MAC would change under the containers'
 * ARP caches whenever a port with a lower MAC comes or goes. */
static void bridge_mac(const char *name, unsigned char mac[static 6])
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (const unsigned char *p = (const unsigned char *)name; *p; p++)
        h = (h ^ *p) * 16777619u;
    mac[0] = 0x02;
    mac[1] = 0xbe;
    mac[2] = (unsigned char)(h >> 24);
    mac[3] = (unsigned char)(h >> 16);
    mac[4] = (unsigned char)(h >> 8);
    mac[5] = (unsigned char)h;
}

static int bridge_create(struct nl_sock *sk, const char *name, struct err *e)
{
    unsigned char mac[6];
    auto_link struct rtnl_link *br = rtnl_link_bridge_alloc();
    auto_nladdr struct nl_addr *ll = NULL;

    bridge_mac(name, mac);
    ll = nl_addr_build(AF_LLC, mac, sizeof mac);
    if (!br || !ll)
        return err_set(e, ENOMEM, "allocate bridge");
    rtnl_link_set_name(br, name);
    rtnl_link_set_addr(br, ll);
    rtnl_link_set_flags(br, IFF_UP);
    int rc = rtnl_link_add(sk, br, NLM_F_CREATE | NLM_F_EXCL);
    /* EEXIST: created meanwhile by someone else; the caller checks what it is */
    if (rc < 0 && rc != -NLE_EXIST)
        return nl_fail(e, rc, "create bridge '%s'", name);
    return 0;
}

int net_bridge_ensure(const char *name, uint32_t gw, unsigned prefix, struct err *e)
{
    auto_nlsock struct nl_sock *sk = NULL;
    auto_link struct rtnl_link *br = NULL;
    int rc;

    if (ifname_check("bridge", name, e) < 0 || prefix_check(prefix, e) < 0)
        return -1;
    if (gw == 0)
        return err_set(e, EINVAL, "bridge '%s': no gateway address", name);
    if (!(sk = sock_open(e)))
        return -1;
    rc = rtnl_link_get_kernel(sk, 0, name, &br);
    if (rc == -NLE_NODEV) {
        if (bridge_create(sk, name, e) < 0)
            return -1;
        rc = rtnl_link_get_kernel(sk, 0, name, &br);
    }
    if (rc < 0)
        return nl_fail(e, rc, "find bridge '%s'", name);
    if (!link_is_bridge(br))
        return err_set(e, EEXIST, "bridge '%s': a link that is not a bridge has that name", name);
    if (addr_add(sk, rtnl_link_get_ifindex(br), name, gw, prefix, e) < 0)
        return -1;
    if (!(rtnl_link_get_flags(br) & IFF_UP) && link_set_up(sk, br, e) < 0)
        return -1;
    return 0;
}

int net_link_delete(const char *name, struct err *e)
{
    auto_nlsock struct nl_sock *sk = NULL;
    auto_link struct rtnl_link *l = NULL;

    if (ifname_check("link", name, e) < 0)
        return -1;
    if (!(sk = sock_open(e)))
        return -1;
    if (!(l = rtnl_link_alloc()))
        return err_set(e, ENOMEM, "allocate link");
    rtnl_link_set_name(l, name);
    int rc = rtnl_link_delete(sk, l);
    if (rc == -NLE_NODEV || rc == -NLE_OBJ_NOTFOUND)
        return 0;
    if (rc < 0)
        return nl_fail(e, rc, "delete link '%s'", name);
    return 0;
}

int net_link_mtu(const char *name, unsigned *mtu, struct err *e)
{
    auto_nlsock struct nl_sock *sk = NULL;
    auto_link struct rtnl_link *l = NULL;
    int rc;

    if (ifname_check("link", name, e) < 0)
        return -1;
    if (!(sk = sock_open(e)))
        return -1;
    if ((rc = rtnl_link_get_kernel(sk, 0, name, &l)) < 0)
        return nl_fail(e, rc, "find link '%s'", name);
    *mtu = rtnl_link_get_mtu(l);
    return 0;
}

int net_veth_create(const char *host_name, const char *bridge, int peer_netns_fd,
                    const char *peer_name, unsigned mtu, struct err *e)
{
    auto_nlsock struct nl_sock *sk = NULL;
    auto_link struct rtnl_link *br = NULL;
    auto_link struct rtnl_link *veth = NULL;
    auto_link struct rtnl_link *peer = NULL;
    int rc;

    if (ifname_check("veth", host_name, e) < 0 || ifname_check("bridge", bridge, e) < 0 ||
        ifname_check("veth peer", peer_name, e) < 0)
        return -1;
    if (peer_netns_fd < 0)
        return err_set(e, EBADF, "create veth '%s': no netns for peer '%s'", host_name, peer_name);
    if (mtu != 0 && (mtu < NET_MTU_MIN || mtu > NET_MTU_MAX))
        return err_set(e, EINVAL, "create veth '%s': MTU %u not within %d to %d", host_name, mtu,
                       NET_MTU_MIN, NET_MTU_MAX);
    if (!(sk = sock_open(e)))
        return -1;
    if ((rc = rtnl_link_get_kernel(sk, 0, bridge, &br)) < 0)
        return nl_fail(e, rc, "create veth '%s': find bridge '%s'", host_name, bridge);
    if (!link_is_bridge(br))
        return err_set(e, EINVAL, "create veth '%s': link '%s' is not a bridge", host_name, bridge);

    if (!(veth = rtnl_link_veth_alloc()) || !(peer = rtnl_link_veth_get_peer(veth)))
        return err_set(e, ENOMEM, "allocate veth");
    rtnl_link_set_name(veth, host_name);
    rtnl_link_set_name(peer, peer_name);
    if (mtu) {
        rtnl_link_set_mtu(veth, mtu);
        rtnl_link_set_mtu(peer, mtu);
    }
    rtnl_link_set_ns_fd(peer, peer_netns_fd);
    /* Master and IFF_UP go in the creating request: if either fails, rtnl_newlink() unregisters
     * the new device (and veth_dellink() its peer), so there is nothing for us to undo. */
    rtnl_link_set_master(veth, rtnl_link_get_ifindex(br));
    rtnl_link_set_flags(veth, IFF_UP);
    rc = rtnl_link_add(sk, veth, NLM_F_CREATE | NLM_F_EXCL);
    if (rc < 0)
        return nl_fail(e, rc, "create veth '%s' (peer '%s') on bridge '%s'", host_name, peer_name,
                       bridge);
    return 0;
}

/* Why ADDR/PREFIX with gateway GW (0: none) cannot configure an interface, or NULL. */
static const char *iface_problem(uint32_t addr, unsigned prefix, uint32_t gw)
{
    uint32_t mask = prefix_mask(prefix);

    if ((addr & ~mask) == 0 || (addr & ~mask) == ~mask)
        return "not a host address of its subnet";
    if (gw != 0 && (gw & mask) != (addr & mask))
        return "gateway outside the subnet";
    if (gw == addr)
        return "gateway is the address itself";
    return NULL;
}

int net_iface_setup(const char *name, const char *new_name, uint32_t addr, unsigned prefix,
                    uint32_t gw, struct err *e)
{
    char s[INET_ADDRSTRLEN], g[INET_ADDRSTRLEN];
    auto_nlsock struct nl_sock *sk = NULL;
    auto_link struct rtnl_link *l = NULL;
    auto_link struct rtnl_link *change = NULL;
    int rc;

    if (ifname_check("link", name, e) < 0 || ifname_check("link", new_name, e) < 0 ||
        prefix_check(prefix, e) < 0)
        return -1;
    const char *why = iface_problem(addr, prefix, gw);
    if (why)
        return err_set(e, EINVAL, "configure '%s' with %s/%u via %s: %s", name, addr_str(addr, s),
                       prefix, addr_str(gw, g), why);
    if (!(sk = sock_open(e)))
        return -1;
    if ((rc = rtnl_link_get_kernel(sk, 0, name, &l)) < 0)
        return nl_fail(e, rc, "find link '%s'", name);
    int ifindex = rtnl_link_get_ifindex(l);

    if (!(change = rtnl_link_alloc()))
        return err_set(e, ENOMEM, "allocate link");
    if (strcmp(name, new_name) != 0) {
        /* the kernel renames only a link that is down (EBUSY otherwise) */
        if (rtnl_link_get_flags(l) & IFF_UP) {
            rtnl_link_unset_flags(change, IFF_UP);
            if ((rc = rtnl_link_change(sk, l, change, 0)) < 0)
                return nl_fail(e, rc, "set link '%s' down", name);
            rtnl_link_put(change);
            if (!(change = rtnl_link_alloc()))
                return err_set(e, ENOMEM, "allocate link");
        }
        rtnl_link_set_name(change, new_name);
    }
    /* one request: do_setlink() renames before it applies the flags */
    rtnl_link_set_flags(change, IFF_UP);
    if ((rc = rtnl_link_change(sk, l, change, 0)) < 0)
        return nl_fail(e, rc, "rename link '%s' to '%s' and set it up", name, new_name);
    if (addr_add(sk, ifindex, new_name, addr, prefix, e) < 0)
        return -1;
    if (gw != 0 && route_add_default(sk, ifindex, new_name, gw, e) < 0)
        return -1;
    return 0;
}
