/* SPDX-License-Identifier: MIT */
/* core/network.c - networks and their address assignments (DESIGN §12). The bridge device of a
 * network is made on the loop the first time a container of it starts (one bounded netlink
 * exchange); veth pairs are made by each container's cloned child (core/spawn.c), never here,
 * and vanish with the container's network namespace, so no teardown waits on the kernel. */
#include "core/network.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "core/ctr.h"
#include "core/firewall.h"
#include "core/err.h"
#include "core/json.h"
#include "core/log.h"
#include "core/proxy.h"
#include "core/sv.h"
#include "core/util.h"
#include "net/link.h"

#define DEFAULT_ROOT   "/var/lib/berth"
#define DEFAULT_BRIDGE "berth0"
#define HOSTS_MAX      (256 * 1024) /* an /etc/hosts of every peer of a big network */

static uint32_t fnv32(const char *a, const char *b)
{
    uint32_t h = 2166136261u;
    for (const char *p = a; p && *p; p++)
        h = (h ^ (unsigned char)*p) * 16777619u;
    if (b) {
        h = (h ^ '/') * 16777619u;
        for (const char *p = b; *p; p++)
            h = (h ^ (unsigned char)*p) * 16777619u;
    }
    return h;
}

static int exists(const char *ifname)
{
    unsigned mtu;
    struct err ig;
    return net_link_mtu(ifname, &mtu, &ig) == 0;
}

static void append(struct sv *sv, struct network *n)
{
    struct network **pp = &sv->nets;
    while (*pp)
        pp = &(*pp)->next;
    n->next = NULL;
    *pp = n;
}

static void net_free(struct network *n)
{
    net_ipam_free(&n->ipam);
    free(n);
}

/* A subnet for NAME that overlaps no other network of SV: derived from the root and NAME,
 * re-derived with a counter on a collision. */
static int free_subnet(struct sv *sv, const char *name, struct net_subnet *out, struct err *e)
{
    char seed[PATH_MAX_BERTH + CTR_NAME_MAX + 16];
    for (int tries = 0; tries < 256; tries++) {
        (void)snprintf(seed, sizeof seed, "%s/%s/%d", sv->root, name, tries);
        net_subnet_derive(tries == 0 && strcmp(name, "bridge") == 0 ? sv->root : seed, out);
        int clash = 0;
        for (const struct network *n = sv->nets; n && !clash; n = n->next)
            clash = n->driver == NETWORK_BRIDGE && net_subnet_overlaps(&n->sn, out);
        if (!clash)
            return 0;
    }
    return err_set(e, ENOSPC, "no free subnet for network '%s'", name);
}

static struct network *net_new(const char *name, enum network_driver d, struct err *e)
{
    struct network *n = calloc(1, sizeof *n);
    if (!n)
        return err_set(e, ENOMEM, "network '%s'", name), NULL;
    (void)snprintf(n->name, sizeof n->name, "%s", name);
    n->driver = d;
    n->created_ns = util_now_ns();
    if (util_random_hex(n->id, sizeof n->id, e) < 0) {
        free(n);
        return NULL;
    }
    return n;
}

static int set_subnet(struct network *n, const struct net_subnet *sn, struct err *e)
{
    struct net_ipam fresh;
    if (net_ipam_init(&fresh, sn, e) < 0)
        return -1;
    net_ipam_free(&n->ipam);
    n->ipam = fresh;
    n->sn = *sn;
    return 0;
}

int network_init(struct sv *sv, const char *bridge_subnet, struct err *e)
{
    static const struct {
        const char *name;
        enum network_driver d;
    } builtins[] = {{"bridge", NETWORK_BRIDGE}, {"host", NETWORK_HOST}, {"none", NETWORK_NULL}};
    for (size_t i = 0; i < ARRAY_LEN(builtins); i++) {
        struct network *n = net_new(builtins[i].name, builtins[i].d, e);
        if (!n)
            return -1;
        n->builtin = 1;
        if (n->driver == NETWORK_BRIDGE) {
            struct net_subnet sn;
            if (bridge_subnet ? net_subnet_parse(bridge_subnet, NULL, &sn, e) < 0
                              : free_subnet(sv, n->name, &sn, e) < 0) {
                net_free(n);
                return err_wrap(e, "--bridge-subnet");
            }
            if (set_subnet(n, &sn, e) < 0) {
                net_free(n);
                return -1;
            }
            if (strcmp(sv->root, DEFAULT_ROOT) == 0)
                (void)snprintf(n->bridge, sizeof n->bridge, DEFAULT_BRIDGE);
            else
                (void)snprintf(n->bridge, sizeof n->bridge, "bth-%08x", fnv32(sv->root, NULL));
            n->up = exists(n->bridge); /* left by a berthd that was killed: ours to remove */
        }
        append(sv, n);
    }
    sv->bridge_subnet_fixed = bridge_subnet != NULL;
    return 0;
}

void network_free_all(struct sv *sv)
{
    while (sv->nets) {
        struct network *n = sv->nets;
        sv->nets = n->next;
        net_free(n);
    }
}

void network_shutdown(struct sv *sv)
{
    for (struct network *n = sv->nets; n; n = n->next) {
        struct err e = {0};
        if (n->driver == NETWORK_BRIDGE && n->up && net_link_delete(n->bridge, &e) < 0)
            log_err(&e, "remove bridge '%s' of network '%s'", n->bridge, n->name);
        n->up = 0;
    }
    network_free_all(sv);
}

struct network *network_find(struct sv *sv, const char *ref, struct err *e)
{
    struct network *match = NULL;
    for (struct network *n = sv->nets; n; n = n->next)
        if (strcmp(n->name, ref) == 0)
            return n;
    size_t len = strlen(ref);
    for (struct network *n = sv->nets; n && len; n = n->next)
        if (strncmp(n->id, ref, len) == 0) {
            if (match) {
                err_set(e, 0, "network %s is ambiguous", ref);
                e->code = 409;
                return NULL;
            }
            match = n;
        }
    if (!match) {
        err_set(e, 0, "network %s not found", ref);
        e->code = 404;
    }
    return match;
}

static int count_user(const struct sv *sv)
{
    int k = 0;
    for (const struct network *n = sv->nets; n; n = n->next)
        k += !n->builtin;
    return k;
}

struct network *network_create(struct sv *sv, const char *name, const char *subnet,
                               const char *gateway, struct err *e)
{
    struct err ig;
    if (!util_valid_name(name))
        return err_set(e, EINVAL, "invalid network name \"%s\"", name), NULL;
    const struct network *same = network_find(sv, name, &ig);
    if (same && strcmp(same->name, name) == 0)
        return err_set(e, EEXIST, "network with name %s already exists", name), NULL;
    if (count_user(sv) >= NETWORK_MAX)
        return err_set(e, ENOSPC, "too many networks (at most %d)", NETWORK_MAX), NULL;
    if (gateway && !subnet)
        return err_set(e, EINVAL, "--gateway needs --subnet"), NULL;
    struct net_subnet sn;
    if (subnet) {
        if (net_subnet_parse(subnet, gateway, &sn, e) < 0)
            return NULL;
        for (const struct network *o = sv->nets; o; o = o->next)
            if (o->driver == NETWORK_BRIDGE && net_subnet_overlaps(&o->sn, &sn))
                return err_set(e, EINVAL, "subnet %s overlaps network %s", subnet, o->name), NULL;
    } else if (free_subnet(sv, name, &sn, e) < 0) {
        return NULL;
    }
    struct network *n = net_new(name, NETWORK_BRIDGE, e);
    if (!n)
        return NULL;
    if (set_subnet(n, &sn, e) < 0) {
        net_free(n);
        return NULL;
    }
    (void)snprintf(n->bridge, sizeof n->bridge, "btn-%08x", fnv32(sv->root, name));
    append(sv, n);
    sv_mark_dirty(sv);
    firewall_sync(sv);
    return n;
}

static int live(const struct ctr *c)
{
    return ctr_live(c) || c->ip != 0;
}

int network_remove(struct sv *sv, struct network *n, struct err *e)
{
    if (n->builtin)
        return err_set(e, EPERM, "%s is a pre-defined network and cannot be removed", n->name);
    for (const struct ctr *c = sv->ctrs; c; c = c->next)
        if (c->state != CTR_DEAD && live(c) && network_of(sv, c) == n)
            return err_set(e, EBUSY,
                           "error while removing network: network %s has active endpoints "
                           "(container %s)",
                           n->name, c->name);
    if (n->up && net_link_delete(n->bridge, e) < 0)
        return err_wrap(e, "remove network %s", n->name);
    struct network **pp = &sv->nets;
    while (*pp != n)
        pp = &(*pp)->next;
    *pp = n->next;
    net_free(n);
    sv_mark_dirty(sv);
    firewall_sync(sv);
    return 0;
}

struct network *network_of(struct sv *sv, const struct ctr *c)
{
    if (c->cfg.network != CTR_NET_BRIDGE)
        return NULL;
    struct err ig;
    const char *name = c->cfg.network_name && *c->cfg.network_name ? c->cfg.network_name : "bridge";
    struct network *n = network_find(sv, name, &ig);
    return n && strcmp(n->name, name) == 0 && n->driver == NETWORK_BRIDGE ? n : NULL;
}

static int ensure_up(struct network *n, struct err *e)
{
    if (n->up)
        return 0;
    if (net_bridge_ensure(n->bridge, n->sn.gateway, n->sn.prefix, e) < 0)
        return err_wrap(e, "network %s: bridge %s", n->name, n->bridge);
    n->up = 1;
    return 0;
}

int network_attach(struct ctr *c, struct err *e)
{
    if (c->cfg.network != CTR_NET_BRIDGE)
        return 0;
    struct network *n = network_of(c->sv, c);
    if (!n)
        return err_set(e, ENOENT, "network %s not found",
                       c->cfg.network_name ? c->cfg.network_name : "bridge");
    if (ensure_up(n, e) < 0)
        return -1;
    uint32_t a;
    if (c->cfg.ip && *c->cfg.ip) {
        if (net_addr_parse(c->cfg.ip, &a, e) < 0 || net_ipam_reserve(&n->ipam, a, e) < 0)
            return err_wrap(e, "network %s: --ip %s", n->name, c->cfg.ip);
    } else if (net_ipam_alloc(&n->ipam, &a, e) < 0) {
        return err_wrap(e, "network %s", n->name);
    }
    c->ip = a;
    c->net_prefix = n->sn.prefix;
    c->net_gateway = n->sn.gateway;
    (void)snprintf(c->net_bridge, sizeof c->net_bridge, "%s", n->bridge);
    return 0;
}

void network_detach(struct ctr *c)
{
    if (!c->ip)
        return;
    struct network *n = network_of(c->sv, c);
    if (n)
        net_ipam_release(&n->ipam, c->ip);
    c->ip = 0;
}

int network_readopt(struct ctr *c, struct err *e)
{
    if (!c->ip)
        return 0;
    struct network *n = network_of(c->sv, c);
    if (!n || net_ipam_reserve(&n->ipam, c->ip, e) < 0) {
        if (!n)
            err_set(e, ENOENT, "network of '%s' is gone", c->name);
        c->ip = 0;
        return -1;
    }
    c->net_prefix = n->sn.prefix;
    c->net_gateway = n->sn.gateway;
    (void)snprintf(c->net_bridge, sizeof c->net_bridge, "%s", n->bridge);
    n->up = 1; /* its containers run on it: the device exists */
    if (network_ports_open(c, e) < 0)
        return err_wrap(e, "'%s': published ports", c->name);
    return 0;
}

/* ---- published ports ---- */

static int parse_port_num(const char *s, size_t len, int zero_ok, unsigned *out)
{
    char buf[8];
    long long v;
    struct err ig;
    if (len == 0 || len >= sizeof buf || strspn(s, "0123456789") < len)
        return -1;
    memcpy(buf, s, len);
    buf[len] = 0;
    if (util_parse_int(buf, zero_ok ? 0 : 1, 65535, &v, &ig) < 0)
        return -1;
    *out = (unsigned)v;
    return 0;
}

int network_parse_port(const char *s, struct network_port *p, struct err *e)
{
    memset(p, 0, sizeof *p);
    const char *slash = strchr(s, '/');
    size_t len = slash ? (size_t)(slash - s) : strlen(s);
    if (slash) {
        if (strcmp(slash + 1, "udp") == 0)
            p->udp = 1;
        else if (strcmp(slash + 1, "tcp") != 0)
            return err_set(e, EINVAL, "invalid proto in port spec \"%s\" (tcp or udp)", s);
    }
    if (memchr(s, '-', len))
        return err_set(e, EINVAL, "port ranges are not supported: \"%s\"", s);
    /* split on the last two colons: [IP:][HOST:]CTR */
    const char *c2 = NULL, *c1 = NULL;
    for (const char *q = s; q < s + len; q++)
        if (*q == ':') {
            c1 = c2;
            c2 = q;
        }
    const char *ctr = c2 ? c2 + 1 : s;
    if (parse_port_num(ctr, (size_t)(s + len - ctr), 0, &p->ctr_port) < 0)
        return err_set(e, EINVAL, "invalid container port in \"%s\"", s);
    if (!c2)
        return 0;
    const char *host = c1 ? c1 + 1 : s;
    if (c2 > host && parse_port_num(host, (size_t)(c2 - host), 1, &p->host_port) < 0)
        return err_set(e, EINVAL, "invalid host port in \"%s\"", s);
    if (c1) {
        char ip[16];
        size_t il = (size_t)(c1 - s);
        if (il >= sizeof ip)
            return err_set(e, EINVAL, "invalid host address in \"%s\"", s);
        memcpy(ip, s, il);
        ip[il] = 0;
        if (il && net_addr_parse(ip, &p->host_ip, e) < 0)
            return err_set(e, EINVAL, "invalid host address in \"%s\"", s);
    }
    return 0;
}

void network_port_format(const struct network_port *p, char *buf, size_t size)
{
    char ip[16];
    net_addr_format(p->host_ip, ip);
    (void)snprintf(buf, size, "%s:%u:%u/%s", ip, p->host_port, p->ctr_port, p->udp ? "udp" : "tcp");
}

int network_ports_open(struct ctr *c, struct err *e)
{
    size_t n = 0;
    while (c->cfg.ports && c->cfg.ports[n])
        n++;
    if (n == 0)
        return 0;
    if (!c->ip)
        return err_set(e, EINVAL, "published ports need a bridge network");
    unsigned *again = NULL; /* a re-adopted run keeps its host ports */
    if (c->bound && c->nbound == (int)n) {
        again = calloc(n, sizeof *again);
        for (size_t i = 0; again && i < n; i++)
            again[i] = c->bound[i].host_port;
    }
    network_ports_close(c);
    c->bound = calloc(n, sizeof *c->bound);
    if (!c->bound) {
        free(again);
        return err_set(e, ENOMEM, "published ports");
    }
    c->nbound = (int)n;
    char ctr_ip[16], host_ip[16];
    net_addr_format(c->ip, ctr_ip);
    for (size_t i = 0; i < n; i++) {
        struct network_port p;
        if (network_parse_port(c->cfg.ports[i], &p, e) < 0)
            goto fail;
        net_addr_format(p.host_ip, host_ip);
        unsigned hp = again && again[i] ? again[i] : p.host_port;
        c->bound[i].proxy = proxy_open(c->sv->loop, p.udp ? PROXY_UDP : PROXY_TCP, host_ip, hp,
                                       ctr_ip, p.ctr_port, e);
        if (!c->bound[i].proxy)
            goto fail;
        c->bound[i].host_port = proxy_port(c->bound[i].proxy);
    }
    free(again);
    return 0;
fail:
    free(again);
    network_ports_close(c);
    return -1;
}

void network_ports_close(struct ctr *c)
{
    for (int i = 0; i < c->nbound; i++)
        proxy_close(c->bound[i].proxy);
    free(c->bound);
    c->bound = NULL;
    c->nbound = 0;
}

/* ---- /etc/hosts ---- */

static int addf(char *buf, size_t size, size_t *off, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int addf(char *buf, size_t size, size_t *off, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf + *off, size - *off, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= size - *off)
        return -1;
    *off += (size_t)n;
    return 0;
}

/* "IP\tNAME\n" for every running container of N: the part all their files share, built
 * once per change (a huge network lists the peers that fit). */
static void peers_text(struct sv *sv, const struct network *n, char *buf, size_t size)
{
    size_t off = 0;
    char a[16];
    buf[0] = '\0';
    for (const struct ctr *p = sv->ctrs; p; p = p->next) {
        if (!p->ip || p->state == CTR_DEAD || network_of(sv, p) != n)
            continue;
        net_addr_format(p->ip, a);
        if (addf(buf, size, &off, "%s\t%s\n", a, p->name) < 0)
            return;
    }
}

int network_hosts_text(const struct ctr *c, const char *peers, char *buf, size_t size)
{
    size_t off = 0;
    char a[16];
    if (addf(buf, size, &off,
             "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n"
             "fe00::0\tip6-localnet\nff00::0\tip6-mcastprefix\n"
             "ff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n") < 0)
        return -1;
    if (!c->ip)
        return addf(buf, size, &off, "127.0.0.1\t%s\n", c->cfg.hostname);
    net_addr_format(c->ip, a);
    /* PEERS names the container itself too */
    if (strcmp(c->cfg.hostname, c->name) != 0 &&
        addf(buf, size, &off, "%s\t%s\n", a, c->cfg.hostname) < 0)
        return -1;
    return addf(buf, size, &off, "%s", peers ? peers : "");
}

void network_refresh_hosts(struct sv *sv, const struct network *n)
{
    static char peers[HOSTS_MAX], text[HOSTS_MAX + 512];
    char path[PATH_MAX_BERTH];
    if (!n)
        return;
    peers_text(sv, n, peers, sizeof peers);
    for (const struct ctr *c = sv->ctrs; c; c = c->next) {
        struct err e = {0};
        if (!c->ip || c->state == CTR_DEAD || network_of(sv, c) != n)
            continue;
        (void)network_hosts_text(c, peers, text, sizeof text);
        if (util_fmt(path, sizeof path, &e, "%s/%s/hosts", sv->containers_dir, c->id) < 0)
            continue;
        /* in place: the container has this inode bound over its /etc/hosts */
        auto_close int fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0 || util_write_all(fd, text, strlen(text), &e) < 0)
            log_msg(LOG_WARN, "%s: update /etc/hosts: %s", c->name,
                    fd < 0 ? strerror(errno) : e.msg);
    }
}

/* ---- JSON ---- */

static const char *driver_name(enum network_driver d)
{
    switch (d) {
    case NETWORK_BRIDGE:
        return "bridge";
    case NETWORK_HOST:
        return "host";
    case NETWORK_NULL:
        return "null";
    }
    return "?";
}

static void add_cidr(cJSON *j, const char *k, const struct net_subnet *sn)
{
    char a[16], buf[24];
    net_addr_format(sn->net, a);
    (void)snprintf(buf, sizeof buf, "%s/%u", a, sn->prefix);
    cJSON_AddStringToObject(j, k, buf);
}

cJSON *network_snapshot(const struct sv *sv)
{
    cJSON *arr = cJSON_CreateArray();
    for (const struct network *n = sv->nets; arr && n; n = n->next) {
        cJSON *j = cJSON_CreateObject();
        if (!j) {
            cJSON_Delete(arr);
            return NULL;
        }
        char gw[16], ns[24];
        cJSON_AddStringToObject(j, "Name", n->name);
        cJSON_AddStringToObject(j, "Id", n->id);
        cJSON_AddStringToObject(j, "Driver", driver_name(n->driver));
        (void)snprintf(ns, sizeof ns, "%lld", (long long)n->created_ns);
        cJSON_AddStringToObject(j, "Created", ns);
        if (n->driver == NETWORK_BRIDGE) {
            add_cidr(j, "Subnet", &n->sn);
            net_addr_format(n->sn.gateway, gw);
            cJSON_AddStringToObject(j, "Gateway", gw);
        }
        cJSON_AddItemToArray(arr, j);
    }
    return arr;
}

static const char *jstr(const cJSON *j, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, k);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

int network_load(struct sv *sv, const cJSON *arr, struct err *e)
{
    if (!arr)
        return 0;
    if (!cJSON_IsArray(arr) || cJSON_GetArraySize(arr) > NETWORK_MAX + 3)
        return err_set(e, EINVAL, "'networks' is not an array of at most %d", NETWORK_MAX + 3);
    const cJSON *it;
    int k = 0;
    cJSON_ArrayForEach(it, arr)
    {
        const char *name = jstr(it, "Name"), *id = jstr(it, "Id"), *drv = jstr(it, "Driver");
        const char *subnet = jstr(it, "Subnet"), *gw = jstr(it, "Gateway");
        const char *created = jstr(it, "Created");
        if (!name || !util_valid_name(name) || !id || strlen(id) != CTR_ID_LEN || !drv)
            return err_set(e, EINVAL, "network %d: bad name, id or driver", k);
        struct err ig;
        struct network *n = network_find(sv, name, &ig);
        if (n && strcmp(n->name, name) != 0)
            n = NULL;
        if (n && !n->builtin)
            return err_set(e, EINVAL, "network %d: duplicate name '%s'", k, name);
        int bridge = strcmp(drv, "bridge") == 0;
        if (!n && !bridge)
            return err_set(e, EINVAL, "network %d: unknown driver '%s'", k, drv);
        struct net_subnet sn;
        if (bridge && (!subnet || net_subnet_parse(subnet, gw, &sn, e) < 0))
            return err_set(e, EINVAL, "network %d ('%s'): bad subnet", k, name);
        if (!n) {
            n = net_new(name, NETWORK_BRIDGE, e);
            if (!n)
                return -1;
            if (set_subnet(n, &sn, e) < 0) {
                net_free(n);
                return -1;
            }
            (void)snprintf(n->bridge, sizeof n->bridge, "btn-%08x", fnv32(sv->root, name));
            n->up = exists(n->bridge);
            append(sv, n);
        } else if (bridge && !sv->bridge_subnet_fixed && set_subnet(n, &sn, e) < 0) {
            return -1;
        }
        memcpy(n->id, id, CTR_ID_LEN + 1);
        long long ns;
        if (created && sscanf(created, "%lld", &ns) == 1)
            n->created_ns = ns;
        k++;
    }
    return 0;
}

static cJSON *ipam_json(const struct network *n)
{
    cJSON *ipam = cJSON_CreateObject();
    cJSON *cfgs = cJSON_AddArrayToObject(ipam, "Config");
    cJSON_AddStringToObject(ipam, "Driver", "default");
    if (n->driver == NETWORK_BRIDGE && cfgs) {
        cJSON *one = cJSON_CreateObject();
        char gw[16];
        add_cidr(one, "Subnet", &n->sn);
        net_addr_format(n->sn.gateway, gw);
        cJSON_AddStringToObject(one, "Gateway", gw);
        cJSON_AddItemToArray(cfgs, one);
    }
    return ipam;
}

static void add_time(cJSON *j, const char *k, int64_t ns)
{
    char buf[64];
    util_rfc3339(ns, buf, sizeof buf);
    cJSON_AddStringToObject(j, k, buf);
}

cJSON *network_inspect(const struct sv *sv, const struct network *n)
{
    cJSON *j = cJSON_CreateObject();
    if (!j)
        return NULL;
    cJSON_AddStringToObject(j, "Name", n->name);
    cJSON_AddStringToObject(j, "Id", n->id);
    add_time(j, "Created", n->created_ns);
    cJSON_AddStringToObject(j, "Scope", "local");
    cJSON_AddStringToObject(j, "Driver", driver_name(n->driver));
    cJSON_AddItemToObject(j, "IPAM", ipam_json(n));
    cJSON *ctrs = cJSON_AddObjectToObject(j, "Containers");
    for (const struct ctr *c = sv->ctrs; ctrs && c; c = c->next) {
        if (!c->ip || c->state == CTR_DEAD || network_of(c->sv, c) != n)
            continue;
        cJSON *one = cJSON_CreateObject();
        char a[16], buf[24];
        net_addr_format(c->ip, a);
        (void)snprintf(buf, sizeof buf, "%s/%u", a, n->sn.prefix);
        cJSON_AddStringToObject(one, "Name", c->name);
        cJSON_AddStringToObject(one, "IPv4Address", buf);
        cJSON_AddItemToObject(ctrs, c->id, one);
    }
    cJSON *opts = cJSON_AddObjectToObject(j, "Options");
    if (opts && n->driver == NETWORK_BRIDGE)
        cJSON_AddStringToObject(opts, "com.docker.network.bridge.name", n->bridge);
    return j;
}

cJSON *network_ls(const struct sv *sv)
{
    cJSON *arr = cJSON_CreateArray();
    for (const struct network *n = sv->nets; arr && n; n = n->next) {
        cJSON *j = network_inspect(sv, n);
        if (j)
            cJSON_AddItemToArray(arr, j);
    }
    return arr;
}
