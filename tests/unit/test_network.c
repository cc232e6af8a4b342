/* SPDX-License-Identifier: MIT */
/* tests/unit/test_network.c - published-port specs (-p): every accepted form, its canonical
 * text, and the refusals. Pure: no sockets, no loop. */
#include <errno.h>
#include <string.h>

#include "core/err.h"
#include "core/network.h"
#include "tests/unit/tap.h"

static void accept_(const char *spec, const char *canon)
{
    struct network_port p;
    struct err e = {0};
    char buf[64] = "";
    int rc = network_parse_port(spec, &p, &e);
    if (rc == 0)
        network_port_format(&p, buf, sizeof buf);
    ok(rc == 0 && strcmp(buf, canon) == 0, "-p %s -> %s (got '%s' %s)", spec, canon, buf,
       err_str(&e));
    /* the canonical form parses to itself */
    struct network_port q;
    char again[64] = "";
    if (rc == 0 && network_parse_port(buf, &q, &e) == 0)
        network_port_format(&q, again, sizeof again);
    ok(strcmp(again, canon) == 0, "canonical '%s' is stable", canon);
}

static void refuse(const char *spec, const char *why)
{
    struct network_port p;
    struct err e = {0};
    int rc = network_parse_port(spec, &p, &e);
    ok(rc < 0 && e.code == EINVAL && strstr(e.msg, why), "-p '%s' refused: %s (%s)", spec, why,
       e.msg);
}

int main(void)
{
    accept_("80", "0.0.0.0:0:80/tcp");
    accept_("8080:80", "0.0.0.0:8080:80/tcp");
    accept_("8080:80/tcp", "0.0.0.0:8080:80/tcp");
    accept_("53:53/udp", "0.0.0.0:53:53/udp");
    accept_("127.0.0.1:8080:80", "127.0.0.1:8080:80/tcp");
    accept_("127.0.0.1::80", "127.0.0.1:0:80/tcp");
    accept_(":8080:80", "0.0.0.0:8080:80/tcp");
    accept_("0:80", "0.0.0.0:0:80/tcp");
    accept_("65535:1/udp", "0.0.0.0:65535:1/udp");

    refuse("", "invalid container port");
    refuse("0", "invalid container port");
    refuse("65536", "invalid container port");
    refuse("80/sctp", "invalid proto");
    refuse("80/", "invalid proto");
    refuse("abc:80", "invalid host port");
    refuse("99999:80", "invalid host port");
    refuse("8080:", "invalid container port");
    refuse("1.2.3:8080:80", "invalid host address");
    refuse("localhost:8080:80", "invalid host address");
    refuse("8000-8010:80", "port ranges");
    refuse("a:b:c:d", "invalid");
    refuse("-1:80", "port ranges");
    refuse("+80", "invalid container port");
    return done();
}
