/* SPDX-License-Identifier: MIT */
/* tests/unit/test_link.c - net/link: bridge, veth, the container's interface, MTU, deletion and
 * their errors, checked against the kernel, and a UDP datagram through the bridge in both
 * directions. The process first moves into a private network namespace ("host") and makes a
 * second one ("container"), so no interface of the machine is touched and everything vanishes
 * when the test exits. Needs root (CAP_SYS_ADMIN, CAP_NET_ADMIN); skips otherwise. */
#include "net/link.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <netlink/netlink.h>
#include <netlink/route/link.h>

#include "core/err.h"
#include "core/util.h"
#include "tests/unit/tap.h"

#define A(a, b, c, d)                                                                              \
    ((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (uint32_t)(c) << 8 | (uint32_t)(d))
#define GW   A(10, 77, 0, 1)
#define CTR  A(10, 77, 0, 2)
#define CTR2 A(10, 77, 0, 3)

static int host_ns = -1, ctr_ns = -1;

/* E cleared, so a passing check does not print an older error */
static struct err *fresh(struct err *e)
{
    memset(e, 0, sizeof *e);
    return e;
}

static int enter(int ns_fd)
{
    return setns(ns_fd, CLONE_NEWNET);
}

/* A new network namespace as an fd; the calling thread stays where it was. */
static int netns_new(void)
{
    auto_close int back = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
    if (back < 0 || unshare(CLONE_NEWNET) < 0)
        return -1;
    int fd = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
    if (enter(back) < 0) {
        perror("setns back");
        _exit(2); /* the rest of the test would run in the wrong netns */
    }
    return fd;
}

static int exists(const char *name)
{
    return if_nametoindex(name) != 0;
}

static int ifreq_get(const char *name, unsigned long req, struct ifreq *ifr)
{
    auto_close int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    memset(ifr, 0, sizeof *ifr);
    (void)snprintf(ifr->ifr_name, sizeof ifr->ifr_name, "%s", name);
    return fd < 0 ? -1 : ioctl(fd, req, ifr);
}

static int is_up(const char *name)
{
    struct ifreq ifr;
    return ifreq_get(name, SIOCGIFFLAGS, &ifr) == 0 && (ifr.ifr_flags & IFF_UP);
}

static int set_up(const char *name)
{
    struct ifreq ifr;
    auto_close int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (ifreq_get(name, SIOCGIFFLAGS, &ifr) < 0 || fd < 0)
        return -1;
    ifr.ifr_flags |= IFF_UP;
    return ioctl(fd, SIOCSIFFLAGS, &ifr);
}

static int mac_of(const char *name, unsigned char mac[6])
{
    struct ifreq ifr;
    if (ifreq_get(name, SIOCGIFHWADDR, &ifr) < 0)
        return -1;
    memcpy(mac, ifr.ifr_hwaddr.sa_data, 6);
    return 0;
}

/* Number of IPv4 addresses on NAME; *HAS set when ADDR/PREFIX is one of them. */
static int addrs_of(const char *name, uint32_t addr, unsigned prefix, int *has)
{
    struct ifaddrs *all = NULL;
    int n = 0;
    *has = 0;
    if (getifaddrs(&all) < 0)
        return -1;
    for (struct ifaddrs *i = all; i; i = i->ifa_next) {
        if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET || strcmp(i->ifa_name, name))
            continue;
        n++;
        uint32_t a = ntohl(((struct sockaddr_in *)(void *)i->ifa_addr)->sin_addr.s_addr);
        uint32_t m = ntohl(((struct sockaddr_in *)(void *)i->ifa_netmask)->sin_addr.s_addr);
        if (a == addr && m == (prefix ? ~0u << (32 - prefix) : 0))
            *has = 1;
    }
    freeifaddrs(all);
    return n;
}

/* ifindex of NAME's master, 0 when none, -1 on error (through libnl: no ioctl tells it). */
static int master_of(const char *name)
{
    struct nl_sock *sk = nl_socket_alloc();
    struct rtnl_link *l = NULL;
    int m = -1;
    if (sk && nl_connect(sk, NETLINK_ROUTE) == 0 && rtnl_link_get_kernel(sk, 0, name, &l) == 0)
        m = rtnl_link_get_master(l);
    if (l)
        rtnl_link_put(l);
    if (sk)
        nl_socket_free(sk);
    return m;
}

/* Source address the routing table picks towards DST in the current netns, 0 when none. */
static uint32_t route_src(uint32_t dst)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(9)};
    socklen_t len = sizeof sa;
    auto_close int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sa.sin_addr.s_addr = htonl(dst);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0 ||
        getsockname(fd, (struct sockaddr *)&sa, &len) < 0)
        return 0;
    return ntohl(sa.sin_addr.s_addr);
}

/* Send a datagram from netns TX_NS to RX_ADDR, where a socket of netns RX_NS listens; retry
 * for up to 5 s while ARP and the bridge port settle. *FROM gets the sender's address. Leaves
 * the thread in host_ns. */
static int udp_through(int rx_ns, uint32_t rx_addr, int tx_ns, uint32_t *from)
{
    struct sockaddr_in sa = {.sin_family = AF_INET};
    socklen_t len = sizeof sa;
    int got = 0;

    sa.sin_addr.s_addr = htonl(rx_addr);
    if (enter(rx_ns) < 0)
        return -1;
    auto_close int rx = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (rx < 0 || bind(rx, (struct sockaddr *)&sa, sizeof sa) < 0 ||
        getsockname(rx, (struct sockaddr *)&sa, &len) < 0) {
        perror("bind receiver");
        (void)enter(host_ns);
        return -1;
    }
    if (enter(tx_ns) < 0)
        return -1;
    auto_close int tx = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    (void)enter(host_ns);
    for (int i = 0; tx >= 0 && i < 50 && !got; i++) {
        char buf[16] = {0};
        struct sockaddr_in src;
        socklen_t slen = sizeof src;
        struct pollfd pfd = {.fd = rx, .events = POLLIN};
        if (sendto(tx, "berth", 5, 0, (struct sockaddr *)&sa, sizeof sa) != 5)
            perror("sendto"); /* ENETUNREACH etc.: the next round may work */
        if (poll(&pfd, 1, 100) == 1 &&
            recvfrom(rx, buf, sizeof buf, 0, (struct sockaddr *)&src, &slen) == 5 &&
            memcmp(buf, "berth", 5) == 0) {
            *from = ntohl(src.sin_addr.s_addr);
            got = 1;
        }
    }
    return got ? 0 : -1;
}

static int gone_within(const char *name, int ms)
{
    for (int t = 0; t < ms; t += 20) {
        if (!exists(name))
            return 1;
        (void)nanosleep(&(struct timespec){0, 20 * 1000 * 1000}, NULL);
    }
    return !exists(name);
}

static void test_bridge(void)
{
    struct err e = {0};
    unsigned char mac1[6], mac2[6];
    int has = 0;

    ok(net_link_up_lo(&e) == 0 && is_up("lo"), "lo up (%s)", e.msg);
    ok(net_bridge_ensure("bt0", GW, 24, fresh(&e)) == 0, "bridge created (%s)", e.msg);
    ok(exists("bt0") && is_up("bt0"), "bridge exists and is up");
    ok(addrs_of("bt0", GW, 24, &has) == 1 && has, "bridge has 10.77.0.1/24");
    ok(mac_of("bt0", mac1) == 0 && mac1[0] == 0x02, "bridge MAC is locally administered");
    ok(net_bridge_ensure("bt0", GW, 24, fresh(&e)) == 0, "ensure again succeeds (%s)", e.msg);
    ok(addrs_of("bt0", GW, 24, &has) == 1 && has, "still exactly one address");
    ok(mac_of("bt0", mac2) == 0 && memcmp(mac1, mac2, 6) == 0, "same MAC");

    /* down and without its address: ensure repairs both */
    struct ifreq ifr;
    auto_close int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    ok(ifreq_get("bt0", SIOCGIFFLAGS, &ifr) == 0 && (ifr.ifr_flags &= ~IFF_UP, 1) &&
           ioctl(fd, SIOCSIFFLAGS, &ifr) == 0 && !is_up("bt0"),
       "bridge set down behind its back");
    ok(net_bridge_ensure("bt0", GW, 24, fresh(&e)) == 0 && is_up("bt0"), "ensure sets it up again");

    ok(net_bridge_ensure("lo", GW, 24, &e) < 0 && e.code == EEXIST, "lo is not a bridge: %s",
       e.msg);
    ok(addrs_of("lo", GW, 24, &has) >= 0 && !has, "and lo got no address");
    ok(net_bridge_ensure("bt-name-too-long", GW, 24, &e) < 0 && e.code == EINVAL &&
           !exists("bt-name-too-lon"),
       "16-character name refused, not truncated: %s", e.msg);
    ok(net_bridge_ensure("bt:1", GW, 24, &e) < 0 && e.code == EINVAL, "':' refused: %s", e.msg);
    ok(net_bridge_ensure("bt%d", GW, 24, &e) < 0 && e.code == EINVAL, "'%%' refused");
    ok(net_bridge_ensure("", GW, 24, &e) < 0 && e.code == EINVAL, "empty name refused");
    ok(net_bridge_ensure("bt1", GW, 8, &e) < 0 && e.code == EINVAL && !exists("bt1"),
       "prefix 8 refused: %s", e.msg);
    ok(net_bridge_ensure("bt1", 0, 24, &e) < 0 && e.code == EINVAL && !exists("bt1"),
       "no gateway refused: %s", e.msg);
    ok(net_bridge_ensure("bt1", A(10, 78, 0, 1), 16, fresh(&e)) == 0 && exists("bt1"),
       "a second bridge (%s)", e.msg);
    ok(net_link_delete("bt1", fresh(&e)) == 0 && !exists("bt1"), "and deleted (%s)", e.msg);
}

static void test_veth(void)
{
    struct err e = {0};
    unsigned char mac1[6], mac2[6];
    unsigned mtu = 0;

    ok(mac_of("bt0", mac1) == 0, "bridge MAC before ports");
    ok(net_veth_create("vt0h", "bt0", ctr_ns, "vt0c", 1400, fresh(&e)) == 0, "veth created (%s)",
       e.msg);
    ok(exists("vt0h") && !exists("vt0c"), "host end here, peer not here");
    ok(is_up("vt0h"), "host end up");
    ok(master_of("vt0h") == (int)if_nametoindex("bt0"), "host end enslaved to bt0");
    ok(net_link_mtu("vt0h", &mtu, fresh(&e)) == 0 && mtu == 1400, "host end MTU 1400 (%u)", mtu);
    ok(mac_of("bt0", mac2) == 0 && memcmp(mac1, mac2, 6) == 0, "bridge MAC kept with a port");
    ok(enter(ctr_ns) == 0, "enter the container netns");
    ok(exists("vt0c") && !exists("vt0h") && !exists("bt0"), "peer there, host end not");
    ok(net_link_mtu("vt0c", &mtu, fresh(&e)) == 0 && mtu == 1400, "peer MTU 1400 (%u)", mtu);
    ok(!is_up("vt0c"), "peer still down");
    ok(enter(host_ns) == 0, "back to the host netns");

    /* errors leave nothing behind */
    ok(net_veth_create("vt1h", "nobr0", ctr_ns, "vt1c", 0, &e) < 0 && e.code == ENODEV &&
           strstr(e.msg, "nobr0") && !exists("vt1h"),
       "unknown bridge: %s", e.msg);
    ok(net_veth_create("vt1h", "lo", ctr_ns, "vt1c", 0, &e) < 0 && e.code == EINVAL &&
           !exists("vt1h"),
       "lo as bridge: %s", e.msg);
    ok(net_veth_create("vt-far-too-long0", "bt0", ctr_ns, "vt1c", 0, &e) < 0 && e.code == EINVAL &&
           !exists("vt-far-too-long"),
       "host name too long: %s", e.msg);
    ok(net_veth_create("vt1h", "bt0", ctr_ns, "peer-far-too-lon", 0, &e) < 0 && e.code == EINVAL &&
           !exists("vt1h"),
       "peer name too long: %s", e.msg);
    ok(net_veth_create("vt0h", "bt0", ctr_ns, "vt2c", 0, &e) < 0 && e.code == EEXIST,
       "duplicate host name: %s", e.msg);
    ok(master_of("vt0h") == (int)if_nametoindex("bt0") && is_up("vt0h"),
       "the existing veth is untouched");
    ok(net_veth_create("vt2h", "bt0", ctr_ns, "vt0c", 0, &e) < 0 && e.code == EEXIST &&
           !exists("vt2h"),
       "duplicate peer name in the container netns: %s", e.msg);
    ok(net_veth_create("vt2h", "bt0", ctr_ns, "vt2c", 50, &e) < 0 && e.code == EINVAL &&
           !exists("vt2h"),
       "MTU 50 refused: %s", e.msg);
    ok(net_veth_create("vt2h", "bt0", -1, "vt2c", 0, &e) < 0 && e.code == EBADF,
       "no netns fd refused");
    auto_close int notns = open("/dev/null", O_RDONLY | O_CLOEXEC);
    ok(net_veth_create("vt2h", "bt0", notns, "vt2c", 0, &e) < 0 && !exists("vt2h") &&
           !exists("vt2c"),
       "an fd that is no netns: %s", e.msg);
    ok(enter(ctr_ns) == 0 && !exists("vt1c") && !exists("vt2c") && enter(host_ns) == 0,
       "no stray peers in the container netns");
}

static void test_iface(void)
{
    struct err e = {0};
    uint32_t from = 0;
    int has = 0;

    ok(enter(ctr_ns) == 0, "enter the container netns");
    ok(route_src(A(192, 0, 2, 99)) == 0, "no route out yet");
    ok(net_iface_setup("vt0c", "eth0", CTR, 24, A(10, 77, 1, 1), &e) < 0 && e.code == EINVAL &&
           exists("vt0c"),
       "gateway outside the subnet: %s", e.msg);
    ok(net_iface_setup("vt0c", "eth0", A(10, 77, 0, 0), 24, GW, &e) < 0 && e.code == EINVAL,
       "network address refused: %s", e.msg);
    ok(net_iface_setup("vt0c", "eth0", CTR, 24, CTR, &e) < 0 && e.code == EINVAL,
       "gateway = address refused: %s", e.msg);
    ok(net_iface_setup("vt0c", "eth0", CTR, 31, GW, &e) < 0 && e.code == EINVAL,
       "prefix 31 refused: %s", e.msg);
    ok(net_iface_setup("vt0c", "eth-name-too-long", CTR, 24, GW, &e) < 0 && e.code == EINVAL,
       "new name too long: %s", e.msg);
    ok(net_iface_setup("nosuch0", "eth0", CTR, 24, GW, &e) < 0 && e.code == ENODEV,
       "unknown link: %s", e.msg);

    ok(net_iface_setup("vt0c", "eth0", CTR, 24, GW, fresh(&e)) == 0, "eth0 set up (%s)", e.msg);
    ok(exists("eth0") && !exists("vt0c") && is_up("eth0"), "renamed to eth0, up");
    ok(addrs_of("eth0", CTR, 24, &has) == 1 && has, "eth0 has 10.77.0.2/24");
    ok(route_src(A(192, 0, 2, 99)) == CTR, "default route: 192.0.2.99 leaves from 10.77.0.2");
    ok(enter(host_ns) == 0, "back to the host netns");

    ok(udp_through(ctr_ns, CTR, host_ns, &from) == 0 && from == GW,
       "a datagram from the host netns reaches the container through the bridge");
    ok(udp_through(host_ns, GW, ctr_ns, &from) == 0 && from == CTR,
       "and one from the container reaches the gateway");

    /* rename of a link that is up; no gateway means no route */
    ok(net_veth_create("vt3h", "bt0", ctr_ns, "vt3c", 0, fresh(&e)) == 0, "second veth (%s)",
       e.msg);
    ok(enter(ctr_ns) == 0 && set_up("vt3c") == 0 && is_up("vt3c"), "its peer set up");
    ok(net_iface_setup("vt3c", "eth1", CTR2, 24, 0, fresh(&e)) == 0 && exists("eth1") &&
           is_up("eth1"),
       "renamed while up, no gateway (%s)", e.msg);
    ok(addrs_of("eth1", CTR2, 24, &has) == 1 && has, "eth1 has 10.77.0.3/24");
    ok(net_iface_setup("eth1", "eth0", CTR2, 24, 0, &e) < 0 && e.code == EEXIST && exists("eth1"),
       "rename onto an existing name: %s", e.msg);
    ok(net_iface_setup("eth1", "eth1", CTR2, 24, GW, &e) < 0 && e.code == EEXIST,
       "a second default route: %s", e.msg);
    ok(net_iface_setup("eth1", "eth1", CTR2, 24, 0, fresh(&e)) == 0 &&
           addrs_of("eth1", CTR2, 24, &has) == 1,
       "same name, same address again: idempotent (%s)", e.msg);
    ok(enter(host_ns) == 0, "back to the host netns");
}

static void test_delete(void)
{
    struct err e = {0};
    unsigned mtu = 0;

    ok(net_link_delete("vt0h", fresh(&e)) == 0 && !exists("vt0h"), "veth deleted (%s)", e.msg);
    ok(enter(ctr_ns) == 0 && !exists("eth0") && exists("eth1") && enter(host_ns) == 0,
       "its peer eth0 is gone with it");
    ok(net_link_delete("vt0h", fresh(&e)) == 0, "deleting a missing link succeeds (%s)", e.msg);
    ok(net_link_delete("lo", &e) < 0 && e.code != 0 && exists("lo"), "lo cannot be deleted: %s",
       e.msg);
    ok(net_link_delete("vt-far-too-long0", &e) < 0 && e.code == EINVAL, "bad name refused");
    ok(net_link_mtu("lo", &mtu, fresh(&e)) == 0 && mtu == 65536, "lo MTU 65536 (%u)", mtu);
    ok(net_link_mtu("nosuch0", &mtu, &e) < 0 && e.code == ENODEV && strstr(e.msg, "nosuch0"),
       "MTU of a missing link: %s", e.msg);

    /* the pair lives as long as the container's netns */
    int ns = netns_new();
    ok(ns >= 0, "a third netns");
    ok(net_veth_create("vt5h", "bt0", ns, "vt5c", 0, fresh(&e)) == 0 && exists("vt5h"),
       "veth into it (%s)", e.msg);
    (void)close(ns);
    ok(gone_within("vt5h", 10000), "closing the last reference to the netns removes the veth");
}

int main(void)
{
    if (geteuid() != 0) {
        printf("# skip: needs root\n");
        return 77;
    }
    if (unshare(CLONE_NEWNET) < 0) {
        printf("# skip: unshare(CLONE_NEWNET): %s\n", strerror(errno));
        return 77;
    }
    host_ns = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
    ctr_ns = netns_new();
    if (host_ns < 0 || ctr_ns < 0) {
        printf("# cannot make the network namespaces: %s\n", strerror(errno));
        return 1;
    }
    test_bridge();
    test_veth();
    test_iface();
    test_delete();
    (void)close(ctr_ns);
    (void)close(host_ns);
    return done();
}
