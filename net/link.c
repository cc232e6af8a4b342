/* SPDX-License-Identifier: MIT */
/* net/link.c - link state changes through rtnetlink (libnl-route-3). */
#include "net/link.h"

#include <net/if.h>
#include <netlink/netlink.h>
#include <netlink/route/link.h>

#include "core/err.h"

static void sockp(struct nl_sock **s)
{
    if (*s)
        nl_socket_free(*s);
}
static void linkp(struct rtnl_link **l)
{
    if (*l)
        rtnl_link_put(*l);
}
#define auto_nlsock __attribute__((cleanup(sockp)))
#define auto_link   __attribute__((cleanup(linkp)))

int net_link_up_lo(struct err *e)
{
    auto_nlsock struct nl_sock *sk = nl_socket_alloc();
    auto_link struct rtnl_link *lo = NULL;
    auto_link struct rtnl_link *change = NULL;
    int rc;

    if (!sk)
        return err_set(e, 0, "allocate netlink socket");
    if ((rc = nl_connect(sk, NETLINK_ROUTE)) < 0)
        return err_set(e, 0, "connect netlink: %s", nl_geterror(rc));
    if ((rc = rtnl_link_get_kernel(sk, 0, "lo", &lo)) < 0)
        return err_set(e, 0, "get link 'lo': %s", nl_geterror(rc));
    change = rtnl_link_alloc();
    if (!change)
        return err_set(e, 0, "allocate link");
    rtnl_link_set_flags(change, IFF_UP);
    if ((rc = rtnl_link_change(sk, lo, change, 0)) < 0)
        return err_set(e, 0, "set link 'lo' up: %s", nl_geterror(rc));
    return 0;
}
