/* SPDX-License-Identifier: MIT */
/* tests/unit/test_ipam.c - net/ipam: strict address and subnet parsing (octets, prefix
 * bounds, host bits, gateways, trailing junk), formatting, overlap, derivation, and the
 * next-fit allocator (fill a /29, order, release and reuse, reserve conflicts). */
#include "net/ipam.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "core/err.h"
#include "core/limits.h"
#include "tests/unit/tap.h"

#define A(a, b, c, d)                                                                              \
    ((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (uint32_t)(c) << 8 | (uint32_t)(d))

static int bad_subnet(const char *cidr, const char *gw, const char *want)
{
    struct net_subnet sn = {A(9, 9, 9, 0), 7, A(9, 9, 9, 9)};
    struct err e = {0};
    if (net_subnet_parse(cidr, gw, &sn, &e) == 0)
        return 0;
    if (e.code != EINVAL || !strstr(e.msg, want)) {
        printf("# got '%s' (code %d), want '%s'\n", e.msg, e.code, want);
        return 0;
    }
    /* a failed parse leaves the output alone */
    return sn.net == A(9, 9, 9, 0) && sn.prefix == 7;
}

static int bad_addr(const char *s)
{
    struct err e = {0};
    uint32_t a = 42;
    return net_addr_parse(s, &a, &e) < 0 && e.code == EINVAL && a == 42 && e.msg[0];
}

static void test_addr(void)
{
    struct err e = {0};
    uint32_t a = 0;
    char buf[16];

    ok(net_addr_parse("10.88.0.1", &a, &e) == 0 && a == A(10, 88, 0, 1), "parse 10.88.0.1");
    ok(net_addr_parse("0.0.0.0", &a, &e) == 0 && a == 0, "parse 0.0.0.0");
    ok(net_addr_parse("255.255.255.255", &a, &e) == 0 && a == 0xffffffffu, "parse all ones");
    ok(bad_addr("256.0.0.1"), "octet 256 refused");
    ok(bad_addr("1.2.3.1000"), "four-digit octet refused");
    ok(bad_addr("1.2.3.00001"), "long zero-padded octet refused");
    ok(bad_addr("010.0.0.1"), "leading zero refused (octal elsewhere)");
    ok(bad_addr("1.2.3"), "three octets refused");
    ok(bad_addr("1.2.3.4.5"), "five octets refused");
    ok(bad_addr("1..2.3"), "empty octet refused");
    ok(bad_addr(".1.2.3"), "leading dot refused");
    ok(bad_addr("1.2.3.4."), "trailing dot refused");
    ok(bad_addr("1.2.3.4 "), "trailing space refused");
    ok(bad_addr(" 1.2.3.4"), "leading space refused");
    ok(bad_addr("1.2.3.-4"), "sign refused");
    ok(bad_addr("+1.2.3.4"), "plus refused");
    ok(bad_addr("0x1.2.3.4"), "hex refused");
    ok(bad_addr(""), "empty refused");
    ok(bad_addr(NULL), "NULL refused");
    ok(net_addr_parse("1.2.3.4x", &a, &e) < 0 && strstr(e.msg, "'1.2.3.4x'") &&
           strstr(e.msg, "trailing"),
       "message names the input and the reason (%s)", e.msg);

    net_addr_format(A(10, 88, 0, 1), buf);
    ok(strcmp(buf, "10.88.0.1") == 0, "format 10.88.0.1");
    net_addr_format(0xffffffffu, buf);
    ok(strcmp(buf, "255.255.255.255") == 0, "format the longest address");
    net_addr_format(0, buf);
    ok(strcmp(buf, "0.0.0.0") == 0, "format 0.0.0.0");
}

static void test_subnet(void)
{
    struct net_subnet sn = {0};
    struct err e = {0};

    ok(net_subnet_parse("10.88.0.0/16", NULL, &sn, &e) == 0 && sn.net == A(10, 88, 0, 0) &&
           sn.prefix == 16 && sn.gateway == A(10, 88, 0, 1),
       "10.88.0.0/16, gateway defaults to the first host");
    ok(net_subnet_parse("192.168.7.0/24", "192.168.7.254", &sn, &e) == 0 &&
           sn.gateway == A(192, 168, 7, 254),
       "explicit gateway");
    ok(net_subnet_parse("172.16.0.0/12", NULL, &sn, &e) == 0 && sn.prefix == NET_PREFIX_MIN,
       "prefix NET_PREFIX_MIN accepted");
    ok(net_subnet_parse("10.0.0.4/30", NULL, &sn, &e) == 0 && sn.prefix == NET_PREFIX_MAX &&
           sn.gateway == A(10, 0, 0, 5),
       "prefix NET_PREFIX_MAX accepted");

    ok(net_subnet_parse("10.0.0.1/24", NULL, &sn, &e) < 0 &&
           strcmp(e.msg, "invalid subnet '10.0.0.1/24': host bits set: Invalid argument") == 0,
       "host bits: %s", e.msg);
    ok(bad_subnet("10.0.0.1/24", NULL, "host bits set"), "host bits refused");
    ok(bad_subnet("10.16.0.0/11", NULL, "prefix length must be 12 to 30"), "prefix 11 refused");
    ok(bad_subnet("10.0.0.0/31", NULL, "prefix length must be 12 to 30"), "prefix 31 refused");
    ok(bad_subnet("10.0.0.0/0", NULL, "prefix length"), "prefix 0 refused");
    ok(bad_subnet("10.0.0.0/100", NULL, "prefix length must be"), "prefix 100 refused");
    ok(bad_subnet("10.0.0.0/1000", NULL, "trailing"), "four-digit prefix refused");
    ok(bad_subnet("10.0.0.0/024", NULL, "leading zero"), "zero-padded prefix refused");
    ok(bad_subnet("10.0.0.0/08", NULL, "leading zero"), "leading zero in the prefix refused");
    ok(bad_subnet("10.0.0.0", NULL, "missing prefix"), "missing prefix refused");
    ok(bad_subnet("10.0.0.0/", NULL, "missing prefix"), "empty prefix refused");
    ok(bad_subnet("10.0.0.0/-8", NULL, "missing prefix"), "signed prefix refused");
    ok(bad_subnet("10.0.0.0/24x", NULL, "trailing"), "trailing junk refused");
    ok(bad_subnet("10.0.0.0/24 ", NULL, "trailing"), "trailing space refused");
    ok(bad_subnet("10.0.0.0/24/8", NULL, "trailing"), "second slash refused");
    ok(bad_subnet("10.0.0.0 /24", NULL, "expected '/'"), "space before the slash refused");
    ok(bad_subnet("10.0.0/24", NULL, "octets"), "three octets refused");
    ok(bad_subnet("10.0.0.256/24", NULL, "out of range"), "bad octet refused");
    ok(bad_subnet("", NULL, "octets"), "empty refused");
    ok(bad_subnet(NULL, NULL, "none given"), "NULL refused");
    ok(bad_subnet("10.0.0.0/24", "10.0.1.1", "outside the subnet"), "gateway outside refused");
    ok(bad_subnet("10.0.0.0/24", "10.0.0.0", "network address"), "gateway = network refused");
    ok(bad_subnet("10.0.0.0/24", "10.0.0.255", "broadcast address"), "gateway = broadcast refused");
    ok(bad_subnet("10.0.0.0/24", "10.0.0.1 ", "trailing"), "gateway with junk refused");
    ok(bad_subnet("10.0.0.0/24", "", "invalid gateway"), "empty gateway refused");

    /* a long bad input is quoted only in part, so the message stays readable */
    char long_in[200];
    memset(long_in, '1', sizeof long_in - 1);
    long_in[sizeof long_in - 1] = '\0';
    ok(net_subnet_parse(long_in, NULL, &sn, &e) < 0 && strlen(e.msg) < 120,
       "long input quoted in part (%zu characters)", strlen(e.msg));
}

static void test_overlap(void)
{
    struct net_subnet a = {A(10, 88, 0, 0), 16, 0}, b = {A(10, 88, 5, 0), 24, 0};
    struct net_subnet c = {A(10, 89, 0, 0), 16, 0}, d = {A(10, 88, 255, 252), 30, 0};

    ok(net_subnet_overlaps(&a, &b) && net_subnet_overlaps(&b, &a), "/24 inside /16 overlaps");
    ok(!net_subnet_overlaps(&a, &c) && !net_subnet_overlaps(&c, &a), "adjacent /16s do not");
    ok(net_subnet_overlaps(&a, &a), "a subnet overlaps itself");
    ok(net_subnet_overlaps(&a, &d) && !net_subnet_overlaps(&b, &d), "the last /30 of a /16");
    struct net_subnet big = {A(10, 80, 0, 0), 12, 0};
    ok(net_subnet_overlaps(&big, &c) && net_subnet_overlaps(&d, &big), "/12 covers 10.80-10.95");
}

static void test_derive(void)
{
    struct net_subnet a, b, c;
    struct net_subnet range = {A(10, 200, 0, 0), 13, 0};
    struct err e = {0};

    net_subnet_derive("/var/lib/berth", &a);
    net_subnet_derive("/var/lib/berth", &b);
    ok(a.net == b.net && a.prefix == 24 && a.gateway == a.net + 1, "deterministic /24, gw .1");
    ok(net_subnet_overlaps(&a, &range), "inside 10.200.0.0/13");
    net_subnet_derive("/tmp/berth-test", &c);
    ok(c.net != a.net, "another root gets another subnet");
    net_subnet_derive("", &c);
    ok(net_subnet_overlaps(&c, &range) && (c.net & 0xff) == 0, "empty seed still valid");

    /* spread: 200 roots should land on many different /24s, all valid pools */
    unsigned distinct = 0, valid = 0;
    uint32_t seen[200];
    for (unsigned i = 0; i < 200; i++) {
        char seed[64];
        struct net_ipam p;
        (void)snprintf(seed, sizeof seed, "/srv/berth/root%u", i);
        net_subnet_derive(seed, &c);
        unsigned j = 0;
        while (j < distinct && seen[j] != c.net)
            j++;
        if (j == distinct)
            seen[distinct++] = c.net;
        if (net_subnet_overlaps(&c, &range) && net_ipam_init(&p, &c, &e) == 0) {
            valid++;
            net_ipam_free(&p);
        }
    }
    ok(valid == 200, "every derived subnet is a valid pool (%u)", valid);
    ok(distinct >= 180, "200 roots give %u distinct subnets", distinct);
}

static void test_alloc(void)
{
    struct net_subnet sn;
    struct net_ipam p = {0};
    struct err e = {0};
    uint32_t a = 0, got[8];
    int n = 0;

    ok(net_subnet_parse("10.1.2.8/29", NULL, &sn, &e) == 0, "parse a /29");
    ok(net_ipam_init(&p, &sn, &e) == 0 && p.size == 8 && p.n_used == 0, "init a /29");
    /* .8 network, .9 gateway, .15 broadcast: five hosts .10-.14 */
    while (n < 8 && net_ipam_alloc(&p, &got[n], &e) == 0)
        n++;
    ok(n == 5, "five addresses in a /29 (%d)", n);
    ok(n == 5 && got[0] == A(10, 1, 2, 10) && got[1] == A(10, 1, 2, 11) &&
           got[4] == A(10, 1, 2, 14),
       "handed out in order from .10");
    ok(e.code == ENOSPC && strstr(e.msg, "no free address in 10.1.2.8/29"), "full: %s", e.msg);
    ok(p.n_used == 5, "n_used 5");

    /* next-fit: released addresses come back in release order, after the cursor wraps */
    net_ipam_release(&p, A(10, 1, 2, 12));
    net_ipam_release(&p, A(10, 1, 2, 12));
    ok(p.n_used == 4, "release is idempotent");
    net_ipam_release(&p, A(10, 1, 2, 9));
    net_ipam_release(&p, A(10, 1, 2, 15));
    net_ipam_release(&p, A(10, 1, 3, 1));
    ok(p.n_used == 4, "gateway, broadcast and outside addresses ignored by release");
    ok(net_ipam_alloc(&p, &a, &e) == 0 && a == A(10, 1, 2, 12), "the only free one is reused");
    ok(net_ipam_alloc(&p, &a, &e) < 0 && e.code == ENOSPC, "and the pool is full again");
    net_ipam_free(&p);
    ok(p.used == NULL && p.size == 0, "free zeroes the pool");
    net_ipam_free(&p);
    ok(1, "free twice is harmless");

    /* a just-released address is not reused while others are free */
    ok(net_ipam_init(&p, &sn, &e) == 0, "init again");
    ok(net_ipam_alloc(&p, &a, &e) == 0 && a == A(10, 1, 2, 10), "first .10");
    net_ipam_release(&p, a);
    ok(net_ipam_alloc(&p, &a, &e) == 0 && a == A(10, 1, 2, 11), "after releasing .10: .11");
    ok(net_ipam_alloc(&p, &a, &e) == 0 && a == A(10, 1, 2, 12), "then .12");
    net_ipam_release(&p, A(10, 1, 2, 11));
    ok(net_ipam_alloc(&p, &a, &e) == 0 && a == A(10, 1, 2, 13), "then .13, not .11");
    ok(net_ipam_alloc(&p, &a, &e) == 0 && a == A(10, 1, 2, 14), "then .14");
    ok(net_ipam_alloc(&p, &a, &e) == 0 && a == A(10, 1, 2, 10), "wraps to .10 (gw skipped)");
    ok(net_ipam_alloc(&p, &a, &e) == 0 && a == A(10, 1, 2, 11), "then .11");
    net_ipam_free(&p);

    /* reserve */
    ok(net_ipam_init(&p, &sn, &e) == 0, "init for reserve");
    ok(net_ipam_reserve(&p, A(10, 1, 2, 11), &e) == 0 && p.n_used == 1, "reserve .11");
    ok(net_ipam_reserve(&p, A(10, 1, 2, 11), &e) < 0 && e.code == EADDRINUSE &&
           strstr(e.msg, "10.1.2.11"),
       "reserve twice: %s", e.msg);
    ok(net_ipam_reserve(&p, A(10, 1, 2, 9), &e) < 0 && e.code == EINVAL && strstr(e.msg, "gateway"),
       "reserve the gateway: %s", e.msg);
    ok(net_ipam_reserve(&p, A(10, 1, 2, 8), &e) < 0 && e.code == EINVAL &&
           strstr(e.msg, "network address"),
       "reserve the network address: %s", e.msg);
    ok(net_ipam_reserve(&p, A(10, 1, 2, 15), &e) < 0 && e.code == EINVAL &&
           strstr(e.msg, "broadcast"),
       "reserve the broadcast address: %s", e.msg);
    ok(net_ipam_reserve(&p, A(10, 1, 2, 16), &e) < 0 && e.code == EINVAL &&
           strstr(e.msg, "outside 10.1.2.8/29"),
       "reserve outside: %s", e.msg);
    ok(net_ipam_alloc(&p, &a, &e) == 0 && a == A(10, 1, 2, 10), "alloc skips nothing before");
    ok(net_ipam_alloc(&p, &a, &e) == 0 && a == A(10, 1, 2, 12), "alloc skips the reserved .11");
    ok(net_ipam_reserve(&p, A(10, 1, 2, 12), &e) < 0 && e.code == EADDRINUSE,
       "reserve an allocated address refused");
    ok(net_ipam_reserve(&p, A(10, 1, 2, 14), &e) == 0, "reserve .14");
    ok(net_ipam_alloc(&p, &a, &e) == 0 && a == A(10, 1, 2, 13), "alloc .13");
    ok(net_ipam_alloc(&p, &a, &e) < 0 && e.code == ENOSPC, "full with reservations");
    ok(p.n_used == 5, "n_used counts reservations");
    net_ipam_release(&p, A(10, 1, 2, 14));
    ok(net_ipam_reserve(&p, A(10, 1, 2, 14), &e) == 0, "a released address can be reserved");
    net_ipam_free(&p);

    /* a /30 has one address besides the gateway */
    ok(net_subnet_parse("10.9.9.4/30", NULL, &sn, &e) == 0 && net_ipam_init(&p, &sn, &e) == 0,
       "init a /30");
    ok(net_ipam_alloc(&p, &a, &e) == 0 && a == A(10, 9, 9, 6), "its one address .6");
    ok(net_ipam_alloc(&p, &a, &e) < 0 && e.code == ENOSPC, "then full");
    net_ipam_free(&p);

    /* gateway at the end of the range */
    ok(net_subnet_parse("10.9.9.0/29", "10.9.9.6", &sn, &e) == 0 && net_ipam_init(&p, &sn, &e) == 0,
       "init with gateway .6");
    n = 0;
    while (n < 8 && net_ipam_alloc(&p, &got[n], &e) == 0)
        n++;
    ok(n == 5 && got[0] == A(10, 9, 9, 1) && got[4] == A(10, 9, 9, 5), "hands out .1-.5");
    net_ipam_free(&p);

    /* the largest pool */
    ok(net_subnet_parse("172.16.0.0/12", NULL, &sn, &e) == 0 && net_ipam_init(&p, &sn, &e) == 0 &&
           p.size == 1u << 20,
       "init a /12");
    ok(net_ipam_reserve(&p, A(172, 31, 255, 254), &e) == 0, "reserve its last host");
    ok(net_ipam_alloc(&p, &a, &e) == 0 && a == A(172, 16, 0, 2), "first alloc .0.2");
    net_ipam_free(&p);

    /* init validates the subnet it is given */
    struct net_subnet bad = {A(10, 0, 0, 1), 24, A(10, 0, 0, 2)};
    ok(net_ipam_init(&p, &bad, &e) < 0 && e.code == EINVAL && p.used == NULL, "host bits: %s",
       e.msg);
    bad = (struct net_subnet){A(10, 0, 0, 0), 31, A(10, 0, 0, 1)};
    ok(net_ipam_init(&p, &bad, &e) < 0 && e.code == EINVAL, "prefix 31: %s", e.msg);
    bad = (struct net_subnet){A(10, 0, 0, 0), 24, A(10, 0, 1, 1)};
    ok(net_ipam_init(&p, &bad, &e) < 0 && e.code == EINVAL, "gateway outside: %s", e.msg);
    ok(net_ipam_alloc(&p, &a, &e) < 0 && e.code == ENOSPC, "alloc on a zeroed pool fails");
}

int main(void)
{
    test_addr();
    test_subnet();
    test_overlap();
    test_derive();
    test_alloc();
    return done();
}
