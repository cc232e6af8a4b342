/* SPDX-License-Identifier: MIT */
/* core/view.c - JSON views for inspect, ps and image ls (Docker's field names), and Docker's
 * wording of durations and statuses. Reads state only. */
#include "core/view.h"

#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/ctr.h"
#include "core/devices.h"
#include "core/exec.h"
#include "core/health.h"
#include "core/network.h"
#include "core/sv.h"
#include "core/util.h"
#include "core/volume.h"
#include "storage/image.h"

void view_human_duration(int64_t ns, char *buf, size_t size)
{
    /* go-units HumanDuration: seconds and minutes truncate, hours and longer round */
    int64_t s = ns / 1000000000LL;
    int64_t m = ns / 60000000000LL;
    double hf = (double)ns / 3600e9;
    long long h = llround(hf);
    if (s < 1)
        (void)snprintf(buf, size, "Less than a second");
    else if (s == 1)
        (void)snprintf(buf, size, "1 second");
    else if (s < 60)
        (void)snprintf(buf, size, "%lld seconds", (long long)s);
    else if (m == 1)
        (void)snprintf(buf, size, "About a minute");
    else if (m < 60)
        (void)snprintf(buf, size, "%lld minutes", (long long)m);
    else if (h == 1)
        (void)snprintf(buf, size, "About an hour");
    else if (h < 48)
        (void)snprintf(buf, size, "%lld hours", h);
    else if (h < 24 * 7 * 2)
        (void)snprintf(buf, size, "%lld days", llround(hf / 24));
    else if (h < 24 * 30 * 2)
        (void)snprintf(buf, size, "%lld weeks", llround(hf / 24 / 7));
    else if (h < 24 * 365 * 2)
        (void)snprintf(buf, size, "%lld months", llround(hf / 24 / 30));
    else
        (void)snprintf(buf, size, "%lld years", llround(hf / 24 / 365));
}

void view_status(const struct ctr *c, int64_t now_ns, char *buf, size_t size)
{
    char d[64];
    switch (c->state) {
    case CTR_RUNNING:
    case CTR_STOPPING:
    case CTR_PAUSED: {
        /* Docker: a paused container shows (Paused), else its health */
        enum health_status h = health_status_of(c);
        const char *suffix = c->state == CTR_PAUSED  ? " (Paused)"
                             : h == HEALTH_STARTING  ? " (health: starting)"
                             : h == HEALTH_HEALTHY   ? " (healthy)"
                             : h == HEALTH_UNHEALTHY ? " (unhealthy)"
                                                     : "";
        view_human_duration(now_ns - c->started_ns, d, sizeof d);
        (void)snprintf(buf, size, "Up %s%s", d, suffix);
        return;
    }
    case CTR_RESTARTING:
        view_human_duration(now_ns - c->finished_ns, d, sizeof d);
        (void)snprintf(buf, size, "Restarting (%d) %s ago", c->exit_code, d);
        return;
    case CTR_EXITED:
        view_human_duration(now_ns - c->finished_ns, d, sizeof d);
        (void)snprintf(buf, size, "Exited (%d) %s ago", c->exit_code, d);
        return;
    case CTR_CREATED:
        (void)snprintf(buf, size, "Created");
        return;
    case CTR_REMOVING:
        (void)snprintf(buf, size, "Removing");
        return;
    case CTR_DEAD:
        (void)snprintf(buf, size, "Dead");
        return;
    }
    (void)snprintf(buf, size, "Unknown");
}

static void add_time(cJSON *j, const char *k, int64_t ns)
{
    char t[64];
    if (ns <= 0)
        (void)snprintf(t, sizeof t, "0001-01-01T00:00:00Z");
    else
        util_rfc3339(ns, t, sizeof t);
    cJSON_AddStringToObject(j, k, t);
}

static cJSON *labels_obj(char **labels)
{
    cJSON *o = cJSON_CreateObject();
    for (char **l = labels; o && l && *l; l++) {
        const char *eq = strchr(*l, '=');
        char k[CTR_STR_MAX];
        size_t kl = eq ? (size_t)(eq - *l) : strlen(*l);
        if (kl >= sizeof k)
            continue;
        memcpy(k, *l, kl);
        k[kl] = '\0';
        cJSON_DeleteItemFromObjectCaseSensitive(o, k);
        cJSON_AddStringToObject(o, k, eq ? eq + 1 : "");
    }
    return o;
}

static cJSON *strv(char **v, int from)
{
    cJSON *a = cJSON_CreateArray();
    for (int i = 0; a && v && v[i]; i++)
        if (i >= from)
            cJSON_AddItemToArray(a, cJSON_CreateString(v[i]));
    return a;
}

cJSON *view_created(const struct ctr *c)
{
    cJSON *j = cJSON_CreateObject();
    cJSON *w = cJSON_CreateArray();
    if (!j || !w) {
        cJSON_Delete(j);
        cJSON_Delete(w);
        return NULL;
    }
    cJSON_AddStringToObject(j, "Id", c->id);
    cJSON_AddItemToObject(j, "Warnings", w);
    const struct ctr_config *cfg = &c->cfg;
    if (!c->sv->cg_sys && (cfg->memory || cfg->memory_swap || cfg->nano_cpus || cfg->cpu_shares ||
                           cfg->pids_limit != PIDS_LIMIT_DEFAULT))
        cJSON_AddItemToArray(w, cJSON_CreateString("berthd runs without cgroups: resource "
                                                   "limits discarded"));
    return j;
}

/* Published ports in Docker's shapes: KEY "80/tcp" -> [{"HostIp", "HostPort"}]. BOUND: the
 * ports of the current run (NetworkSettings.Ports), else the configured ones (PortBindings). */
static void add_ports(cJSON *obj, const struct ctr *c, int bound)
{
    for (int i = 0; c->cfg.ports && c->cfg.ports[i]; i++) {
        struct network_port p;
        struct err ig;
        char key[24], ip[16], port[16];
        if (network_parse_port(c->cfg.ports[i], &p, &ig) < 0)
            continue;
        (void)snprintf(key, sizeof key, "%u/%s", p.ctr_port, p.udp ? "udp" : "tcp");
        cJSON *arr = cJSON_GetObjectItemCaseSensitive(obj, key);
        if (!arr && !(arr = cJSON_AddArrayToObject(obj, key)))
            return;
        unsigned hp = bound ? (i < c->nbound ? c->bound[i].host_port : 0) : p.host_port;
        if (bound && hp == 0)
            continue;
        cJSON *one = cJSON_CreateObject();
        net_addr_format(p.host_ip, ip);
        (void)snprintf(port, sizeof port, "%u", hp);
        cJSON_AddStringToObject(one, "HostIp", bound || p.host_ip ? ip : "");
        cJSON_AddStringToObject(one, "HostPort", hp ? port : "");
        cJSON_AddItemToArray(arr, one);
    }
}

/* ps's PORTS column: "0.0.0.0:8080->80/tcp, ..." for a running container. */
static void ports_text(const struct ctr *c, char *buf, size_t size)
{
    size_t off = 0;
    buf[0] = 0;
    for (int i = 0; i < c->nbound && c->cfg.ports && c->cfg.ports[i]; i++) {
        struct network_port p;
        struct err ig;
        char ip[16];
        if (network_parse_port(c->cfg.ports[i], &p, &ig) < 0 || !c->bound[i].host_port)
            continue;
        net_addr_format(p.host_ip, ip);
        int n = snprintf(buf + off, size - off, "%s%s:%u->%u/%s", off ? ", " : "", ip,
                         c->bound[i].host_port, p.ctr_port, p.udp ? "udp" : "tcp");
        if (n < 0 || (size_t)n >= size - off)
            return;
        off += (size_t)n;
    }
}

/* Docker's NetworkSettings: the address of the current run, also under Networks.<name>. */
static void add_network_settings(cJSON *ns, const struct ctr *c)
{
    char ip[16] = "", gw[16] = "";
    const struct network *n = network_of(c->sv, c);
    if (c->ip) {
        net_addr_format(c->ip, ip);
        net_addr_format(c->net_gateway, gw);
    }
    cJSON_AddStringToObject(ns, "IPAddress", ip);
    cJSON_AddNumberToObject(ns, "IPPrefixLen", c->ip ? c->net_prefix : 0);
    cJSON_AddStringToObject(ns, "Gateway", gw);
    cJSON *ports = cJSON_AddObjectToObject(ns, "Ports");
    if (ports && c->nbound)
        add_ports(ports, c, 1);
    /* a running container's exposed but unpublished ports: null, as Docker shows them */
    for (int i = 0; ports && c->ip && c->cfg.expose && c->cfg.expose[i]; i++)
        if (!cJSON_GetObjectItemCaseSensitive(ports, c->cfg.expose[i]))
            cJSON_AddNullToObject(ports, c->cfg.expose[i]);
    cJSON *nets = cJSON_AddObjectToObject(ns, "Networks");
    if (!nets || !n)
        return;
    cJSON *one = cJSON_AddObjectToObject(nets, n->name);
    if (!one)
        return;
    cJSON_AddStringToObject(one, "NetworkID", n->id);
    cJSON_AddStringToObject(one, "IPAddress", ip);
    cJSON_AddNumberToObject(one, "IPPrefixLen", c->ip ? c->net_prefix : 0);
    cJSON_AddStringToObject(one, "Gateway", gw);
    cJSON *ipam = cJSON_AddObjectToObject(one, "IPAMConfig");
    if (ipam && c->cfg.ip)
        cJSON_AddStringToObject(ipam, "IPv4Address", c->cfg.ip);
}

cJSON *view_inspect(const struct ctr *c)
{
    char buf[PATH_MAX_BERTH];
    cJSON *j = cJSON_CreateObject();
    if (!j)
        return NULL;
    cJSON_AddStringToObject(j, "Id", c->id);
    add_time(j, "Created", c->created_ns);
    cJSON_AddStringToObject(j, "Path", c->cfg.argv && c->cfg.argv[0] ? c->cfg.argv[0] : "");
    cJSON_AddItemToObject(j, "Args", strv(c->cfg.argv, 1));

    cJSON *st = cJSON_AddObjectToObject(j, "State");
    if (st) {
        int running = c->state == CTR_RUNNING || c->state == CTR_PAUSED ||
                      c->state == CTR_RESTARTING || c->state == CTR_STOPPING;
        cJSON_AddStringToObject(st, "Status", ctr_state_name(c->state));
        cJSON_AddBoolToObject(st, "Running", running);
        cJSON_AddBoolToObject(st, "Paused", c->state == CTR_PAUSED);
        cJSON_AddBoolToObject(st, "Restarting", c->state == CTR_RESTARTING);
        cJSON_AddBoolToObject(st, "OOMKilled", c->oom_killed);
        cJSON_AddBoolToObject(st, "Dead", c->state == CTR_DEAD);
        cJSON_AddNumberToObject(st, "Pid", c->state == CTR_RESTARTING ? 0 : c->pid);
        cJSON_AddNumberToObject(st, "ExitCode", c->exit_code);
        cJSON_AddStringToObject(st, "Error", c->error);
        add_time(st, "StartedAt", c->started_ns);
        add_time(st, "FinishedAt", c->finished_ns);
        cJSON *health = health_state_json(c);
        if (health)
            cJSON_AddItemToObject(st, "Health", health);
    }
    cJSON_AddStringToObject(j, "Image", c->cfg.image);
    static const char *const paths[][2] = {{"ResolvConfPath", "resolv.conf"},
                                           {"HostnamePath", "hostname"},
                                           {"HostsPath", "hosts"},
                                           {"LogPath", "container.log"}};
    for (size_t i = 0; i < ARRAY_LEN(paths); i++) {
        struct err ig;
        if (util_fmt(buf, sizeof buf, &ig, "%s/%s", c->log.dir, paths[i][1]) == 0)
            cJSON_AddStringToObject(j, paths[i][0], buf);
    }
    (void)snprintf(buf, sizeof buf, "/%s", c->name);
    cJSON_AddStringToObject(j, "Name", buf);
    cJSON_AddNumberToObject(j, "RestartCount", c->restart_count);
    cJSON_AddStringToObject(j, "Driver", "overlay");
    cJSON_AddStringToObject(j, "Platform", "linux");
    cJSON_AddBoolToObject(j, "ManualStop", c->manual_stop);
    cJSON_AddItemToObject(j, "ExecIDs", exec_ids_json(c->sv, c));

    cJSON *hc = cJSON_AddObjectToObject(j, "HostConfig");
    if (hc) {
        cJSON *rp = cJSON_AddObjectToObject(hc, "RestartPolicy");
        if (rp) {
            cJSON_AddStringToObject(rp, "Name", ctr_restart_name(c->cfg.restart));
            cJSON_AddNumberToObject(rp, "MaximumRetryCount", c->cfg.max_retries);
        }
        cJSON_AddBoolToObject(hc, "AutoRemove", c->cfg.auto_remove);
        char nm[CTR_STR_MAX + 16];
        cJSON_AddStringToObject(hc, "NetworkMode", ctr_network_name(&c->cfg, nm, sizeof nm));
        cJSON_AddBoolToObject(hc, "ReadonlyRootfs", c->cfg.read_only);
        cJSON_AddStringToObject(hc, "PidMode", c->cfg.pid_host ? "host" : "");
        cJSON_AddBoolToObject(hc, "Init", c->cfg.init);
        cJSON_AddItemToObject(hc, "Dns", strv(c->cfg.dns, 0));
        cJSON_AddItemToObject(hc, "GroupAdd", strv(c->cfg.group_add, 0));
        cJSON_AddItemToObject(hc, "Requires", strv(c->cfg.requires, 0));
        cJSON *devs = cJSON_AddArrayToObject(hc, "Devices");
        for (char **d = c->cfg.devices; devs && d && *d; d++) {
            struct ctr_device dev;
            char perms[4];
            cJSON *o = ctr_device_split(*d, &dev) == 0 ? cJSON_CreateObject() : NULL;
            if (!o)
                continue;
            devices_format_access(dev.access, perms);
            cJSON_AddStringToObject(o, "PathOnHost", dev.host);
            cJSON_AddStringToObject(o, "PathInContainer", dev.path);
            cJSON_AddStringToObject(o, "CgroupPermissions", perms);
            cJSON_AddItemToArray(devs, o);
        }
        cJSON_AddBoolToObject(hc, "PublishAllPorts", c->cfg.publish_all);
        cJSON_AddBoolToObject(hc, "Privileged", c->cfg.privileged);
        cJSON_AddItemToObject(hc, "CapAdd", strv(c->cfg.cap_add, 0));
        cJSON_AddItemToObject(hc, "CapDrop", strv(c->cfg.cap_drop, 0));
        cJSON *so = cJSON_AddArrayToObject(hc, "SecurityOpt");
        if (so && !c->cfg.no_new_privs)
            cJSON_AddItemToArray(so, cJSON_CreateString("no-new-privileges=false"));
        if (so && c->cfg.seccomp_unconfined)
            cJSON_AddItemToArray(so, cJSON_CreateString("seccomp=unconfined"));
        if (so && c->cfg.seccomp_profile)
            cJSON_AddItemToArray(so, cJSON_CreateString("seccomp=<profile>"));
        cJSON_AddNumberToObject(hc, "Memory", (double)c->cfg.memory);
        cJSON_AddNumberToObject(hc, "MemorySwap", (double)c->cfg.memory_swap);
        cJSON_AddNumberToObject(hc, "PidsLimit", (double)c->cfg.pids_limit);
        cJSON_AddNumberToObject(hc, "NanoCpus", (double)c->cfg.nano_cpus);
        cJSON_AddNumberToObject(hc, "CpuShares", (double)c->cfg.cpu_shares);
        cJSON *lc = cJSON_AddObjectToObject(hc, "LogConfig");
        if (lc) {
            cJSON_AddStringToObject(lc, "Type", "berth-file");
            cJSON *lcc = cJSON_AddObjectToObject(lc, "Config");
            if (lcc) {
                (void)snprintf(buf, sizeof buf, "%lld", c->cfg.log_max_size);
                cJSON_AddStringToObject(lcc, "max-size", buf);
                (void)snprintf(buf, sizeof buf, "%d", c->cfg.log_max_file);
                cJSON_AddStringToObject(lcc, "max-file", buf);
            }
        }
        cJSON *pb = cJSON_AddObjectToObject(hc, "PortBindings");
        if (pb)
            add_ports(pb, c, 0);
        cJSON *bo = cJSON_AddObjectToObject(hc, "RestartBackoff");
        if (bo) {
            cJSON_AddNumberToObject(bo, "MinMs", c->cfg.backoff_min_ms);
            cJSON_AddNumberToObject(bo, "MaxMs", c->cfg.backoff_max_ms);
            cJSON_AddNumberToObject(bo, "ResetMs", c->cfg.backoff_reset_ms);
        }
    }
    cJSON *cf = cJSON_AddObjectToObject(j, "Config");
    if (cf) {
        cJSON_AddStringToObject(cf, "Hostname", c->cfg.hostname);
        cJSON_AddStringToObject(cf, "User", c->cfg.user ? c->cfg.user : "");
        cJSON_AddBoolToObject(cf, "AttachStdin", c->cfg.open_stdin);
        cJSON_AddBoolToObject(cf, "OpenStdin", c->cfg.open_stdin);
        cJSON_AddBoolToObject(cf, "Tty", c->cfg.tty);
        cJSON_AddItemToObject(cf, "Env", strv(c->cfg.env, 0));
        cJSON_AddItemToObject(cf, "Cmd", strv(c->cfg.argv, 0));
        cJSON_AddStringToObject(cf, "Image", c->cfg.image);
        cJSON_AddStringToObject(cf, "WorkingDir", c->cfg.workdir ? c->cfg.workdir : "");
        cJSON *ep = cJSON_AddObjectToObject(cf, "ExposedPorts");
        for (int i = 0; ep && c->cfg.expose && c->cfg.expose[i]; i++)
            cJSON_AddObjectToObject(ep, c->cfg.expose[i]);
        cJSON_AddItemToObject(cf, "Labels", labels_obj(c->cfg.labels));
        cJSON_AddStringToObject(cf, "StopSignal", util_signal_name(c->cfg.stop_signal));
        cJSON_AddNumberToObject(cf, "StopTimeout", c->cfg.stop_timeout);
        cJSON *check = health_docker_json(&c->cfg.health);
        if (check)
            cJSON_AddItemToObject(cf, "Healthcheck", check);
    }
    cJSON *ns = cJSON_AddObjectToObject(j, "NetworkSettings");
    if (ns)
        add_network_settings(ns, c);
    cJSON *mounts = cJSON_AddArrayToObject(j, "Mounts");
    for (int i = 0; mounts && i < c->cfg.nmounts; i++) {
        const struct ctr_mount *m = &c->cfg.mounts[i];
        char src[PATH_MAX_BERTH] = "";
        struct err e = {0};
        cJSON *o = cJSON_CreateObject();
        if (!o)
            break;
        cJSON_AddStringToObject(o, "Type", mount_type_name(m->type));
        if (m->type == CTR_MOUNT_VOLUME) {
            cJSON_AddStringToObject(o, "Name", m->source);
            if (volume_path(c->sv, m->source, src, sizeof src, &e) < 0)
                src[0] = 0;
        } else if (m->type == CTR_MOUNT_BIND) {
            (void)snprintf(src, sizeof src, "%s", m->source);
        }
        cJSON_AddStringToObject(o, "Source", src);
        cJSON_AddStringToObject(o, "Destination", m->target);
        if (m->type == CTR_MOUNT_VOLUME)
            cJSON_AddStringToObject(o, "Driver", "local");
        cJSON_AddStringToObject(o, "Mode", m->read_only ? "ro" : "");
        cJSON_AddBoolToObject(o, "RW", !m->read_only);
        cJSON_AddStringToObject(o, "Propagation", m->type == CTR_MOUNT_BIND ? "rprivate" : "");
        cJSON_AddItemToArray(mounts, o);
    }
    return j;
}

static int ps_visible(const struct ctr *c, int all)
{
    if (c->state == CTR_DEAD)
        return 0;
    if (all)
        return 1;
    return c->state == CTR_RUNNING || c->state == CTR_PAUSED || c->state == CTR_RESTARTING ||
           c->state == CTR_STOPPING;
}

static int has_label(const struct ctr *c, const char *want)
{
    const char *eq = strchr(want, '=');
    size_t kl = eq ? (size_t)(eq - want) : strlen(want);
    for (char **l = c->cfg.labels; l && *l; l++) {
        if (strncmp(*l, want, kl) != 0 || ((*l)[kl] != '=' && (*l)[kl] != '\0'))
            continue;
        if (!eq)
            return 1;
        const char *have = (*l)[kl] == '=' ? *l + kl + 1 : "";
        if (strcmp(have, eq + 1) == 0)
            return 1;
    }
    return 0;
}

/* Position of container REF in the newest-first list, or -1. */
static int ctr_pos(struct sv *sv, const char *ref)
{
    struct err e;
    struct ctr *t = sv_find(sv, ref, &e);
    int i = 0;
    for (struct ctr *c = sv->ctrs; c; c = c->next, i++)
        if (c == t)
            return i;
    return -1;
}

static int match_filter(struct sv *sv, const struct ctr *c, int pos, const char *f, int *ok)
{
    const char *eq = strchr(f, '=');
    if (!eq)
        return -1;
    size_t kl = (size_t)(eq - f);
    const char *v = eq + 1;
#define KEY(s) (kl == strlen(s) && strncmp(f, s, kl) == 0)
    if (KEY("name"))
        *ok = strstr(c->name, *v == '/' ? v + 1 : v) != NULL;
    else if (KEY("id"))
        *ok = strncmp(c->id, v, strlen(v)) == 0;
    else if (KEY("status"))
        *ok = strcmp(ctr_state_name(c->state), v) == 0;
    else if (KEY("exited")) {
        char buf[16];
        (void)snprintf(buf, sizeof buf, "%d", c->exit_code);
        *ok = c->state == CTR_EXITED && strcmp(buf, v) == 0;
    } else if (KEY("label"))
        *ok = has_label(c, v);
    else if (KEY("health"))
        *ok = strcmp(health_status_name(health_status_of(c)), v) == 0;
    else if (KEY("ancestor"))
        *ok = strcmp(c->cfg.image, v) == 0;
    else if (KEY("before")) {
        int p = ctr_pos(sv, v);
        *ok = p >= 0 && pos > p;
    } else if (KEY("since")) {
        int p = ctr_pos(sv, v);
        *ok = p >= 0 && pos < p;
    } else
        return -1;
#undef KEY
    return 0;
}

cJSON *view_ps(struct sv *sv, int all, const char *const *filters, size_t nfilters, struct err *e)
{
    int64_t now = util_now_ns();
    static const char *const keys[] = {"name=",   "id=",       "status=", "exited=", "label=",
                                       "health=", "ancestor=", "before=", "since="};
    for (size_t i = 0; i < nfilters; i++) {
        int known = 0;
        for (size_t k = 0; k < ARRAY_LEN(keys); k++)
            known |= strncmp(filters[i], keys[k], strlen(keys[k])) == 0;
        if (!known)
            return err_set(e, 0, "invalid filter '%s'", filters[i]), e->code = EINVAL, NULL;
        const char *hv = strncmp(filters[i], "health=", 7) == 0 ? filters[i] + 7 : NULL;
        if (hv && strcmp(hv, "healthy") != 0 && strcmp(hv, "unhealthy") != 0 &&
            strcmp(hv, "starting") != 0 && strcmp(hv, "none") != 0)
            return err_set(e, 0, "invalid filter 'health=%s': healthy, unhealthy, starting or none",
                           hv),
                   e->code = EINVAL, NULL;
        /* a filter on status or exited implies -a, as in Docker */
        if (strncmp(filters[i], "status=", 7) == 0 || strncmp(filters[i], "exited=", 7) == 0)
            all = 1;
    }
    cJSON *arr = cJSON_CreateArray();
    if (!arr)
        return err_set(e, ENOMEM, "ps"), NULL;
    int pos = 0;
    for (struct ctr *c = sv->ctrs; c; c = c->next, pos++) {
        if (!ps_visible(c, all))
            continue;
        int keep = 1;
        for (size_t i = 0; i < nfilters && keep; i++) {
            const char *eq = strchr(filters[i], '=');
            size_t kl = (size_t)(eq - filters[i]);
            int any = 0;
            for (size_t k = 0; k < nfilters && !any; k++) {
                int ok = 0;
                if (strncmp(filters[k], filters[i], kl + 1) == 0 &&
                    match_filter(sv, c, pos, filters[k], &ok) == 0 && ok)
                    any = 1;
            }
            keep = any;
        }
        if (!keep)
            continue;
        char buf[256];
        cJSON *o = cJSON_CreateObject();
        if (!o)
            break;
        cJSON_AddItemToArray(arr, o);
        cJSON_AddStringToObject(o, "Id", c->id);
        cJSON *names = cJSON_AddArrayToObject(o, "Names");
        if (names)
            cJSON_AddItemToArray(names, cJSON_CreateString(c->name));
        cJSON_AddStringToObject(o, "Image", c->cfg.image);
        size_t cl = 0;
        char cmd[1024] = "";
        for (char **a = c->cfg.argv; a && *a; a++) {
            int n = snprintf(cmd + cl, sizeof cmd - cl, "%s%s", a == c->cfg.argv ? "" : " ", *a);
            if (n < 0 || (size_t)n >= sizeof cmd - cl)
                break;
            cl += (size_t)n;
        }
        cJSON_AddStringToObject(o, "Command", cmd);
        cJSON_AddNumberToObject(o, "Created", (double)(c->created_ns / 1000000000LL));
        add_time(o, "CreatedAt", c->created_ns);
        cJSON_AddStringToObject(o, "State", ctr_state_name(c->state));
        view_status(c, now, buf, sizeof buf);
        cJSON_AddStringToObject(o, "Status", buf);
        char ports[1024];
        ports_text(c, ports, sizeof ports);
        cJSON_AddStringToObject(o, "Ports", ports);
        cJSON_AddItemToObject(o, "Labels", labels_obj(c->cfg.labels));
        cJSON_AddNumberToObject(o, "ExitCode", c->exit_code);
    }
    return arr;
}

/* A stable image id until digests arrive with OCI images: FNV-1a over the config. */
static void image_id(const char *name, const char *cfg, char *out, size_t size)
{
    uint64_t h[4] = {0xcbf29ce484222325ULL, 0x84222325cbf29ce4ULL, 0x9ce484222325cbf2ULL,
                     0x2325cbf29ce48422ULL};
    for (int k = 0; k < 4; k++) {
        for (const char *p = name; *p; p++)
            h[k] = (h[k] ^ (unsigned char)*p) * 0x100000001b3ULL;
        for (const char *p = cfg; p && *p; p++)
            h[k] = (h[k] ^ (unsigned char)*p) * 0x100000001b3ULL;
    }
    (void)snprintf(out, size, "sha256:%016llx%016llx%016llx%016llx", (unsigned long long)h[0],
                   (unsigned long long)h[1], (unsigned long long)h[2], (unsigned long long)h[3]);
}

/* Bytes of the image's files: recorded at import or load, else counted (an image made by an
 * older berth). */
static uint64_t image_size(struct sv *sv, const char *name, const struct storage_image_config *ic)
{
    char p[PATH_MAX_BERTH];
    struct err ig;
    uint64_t size = 0;
    if (ic->size > 0)
        return ic->size;
    if (util_fmt(p, sizeof p, &ig, "%s/%s/rootfs", sv->images_dir, name) == 0)
        (void)storage_tree_size(p, &size, &ig); /* 0 when unreadable */
    return size;
}

static cJSON *str_array(char *const *v)
{
    if (!v)
        return cJSON_CreateNull();
    cJSON *a = cJSON_CreateArray();
    for (; a && *v; v++)
        cJSON_AddItemToArray(a, cJSON_CreateString(*v));
    return a;
}

/* Docker's Config of an image inspect. */
static cJSON *image_config_json(const struct storage_image_config *ic)
{
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return NULL;
    cJSON_AddItemToObject(o, "Cmd", str_array(ic->cmd));
    cJSON_AddItemToObject(o, "Entrypoint", str_array(ic->entrypoint));
    cJSON_AddItemToObject(o, "Env", str_array(ic->env));
    cJSON_AddStringToObject(o, "WorkingDir", ic->workdir ? ic->workdir : "");
    cJSON_AddStringToObject(o, "User", ic->user ? ic->user : "");
    cJSON *ports = ic->exposed ? cJSON_AddObjectToObject(o, "ExposedPorts") : NULL;
    for (char **p = ic->exposed; ports && p && *p; p++)
        cJSON_AddItemToObject(ports, *p, cJSON_CreateObject());
    if (ic->stop_signal)
        cJSON_AddStringToObject(o, "StopSignal", ic->stop_signal);
    cJSON *hc = ic->healthcheck_json ? cJSON_Parse(ic->healthcheck_json) : NULL;
    if (hc)
        cJSON_AddItemToObject(o, "Healthcheck", hc);
    return o;
}

/* One image: a row of image ls, or with FULL Docker's image inspect object. NULL with E (404
 * for an unknown image). */
static cJSON *image_json(struct sv *sv, const char *name, int full, struct err *e)
{
    char p[PATH_MAX_BERTH], id[128], t[64];
    struct stat st;
    struct storage_image_config ic = {0};

    if (!storage_image_name_valid(name) ||
        util_fmt(p, sizeof p, e, "%s/%s/config.json", sv->images_dir, name) < 0 ||
        stat(p, &st) < 0) {
        err_set(e, 0, "no such image: %s", name);
        e->code = 404;
        return NULL;
    }
    if (storage_image_load(sv->images_dir, name, &ic, e) < 0)
        return NULL;
    auto_free char *cfg = util_read_file(p, 1 << 20, NULL, &(struct err){0});
    int64_t created = ic.created_ns > 0 ? ic.created_ns : (int64_t)st.st_mtime * 1000000000LL;
    image_id(name, cfg, id, sizeof id);
    cJSON *o = cJSON_CreateObject();
    if (!o) {
        storage_image_config_free(&ic);
        err_set(e, ENOMEM, "image %s", name);
        return NULL;
    }
    if (!full) {
        cJSON_AddStringToObject(o, "Name", name);
        cJSON_AddStringToObject(o, "Id", id);
        cJSON_AddNumberToObject(o, "Created", (double)(created / 1000000000LL));
        cJSON_AddNumberToObject(o, "Size", (double)image_size(sv, name, &ic));
        storage_image_config_free(&ic);
        return o;
    }
    cJSON_AddStringToObject(o, "Id", id);
    cJSON *tags = cJSON_AddArrayToObject(o, "RepoTags");
    if (tags)
        cJSON_AddItemToArray(tags, cJSON_CreateString(name));
    util_rfc3339(created, t, sizeof t);
    cJSON_AddStringToObject(o, "Created", t);
    cJSON_AddNumberToObject(o, "Size", (double)image_size(sv, name, &ic));
    cJSON_AddStringToObject(o, "Os", "linux");
    cJSON_AddItemToObject(o, "Config", image_config_json(&ic));
    cJSON *rootfs = cJSON_AddObjectToObject(o, "RootFS");
    if (rootfs)
        cJSON_AddStringToObject(rootfs, "Type", "layers");
    (void)util_fmt(p, sizeof p, e, "%s/%s/rootfs", sv->images_dir, name);
    cJSON *gd = cJSON_AddObjectToObject(o, "GraphDriver");
    cJSON *gdd = gd ? cJSON_AddObjectToObject(gd, "Data") : NULL;
    if (gd)
        cJSON_AddStringToObject(gd, "Name", "overlay2");
    if (gdd)
        cJSON_AddStringToObject(gdd, "LowerDir", p);
    storage_image_config_free(&ic);
    return o;
}

cJSON *view_image_inspect(struct sv *sv, const char *name, struct err *e)
{
    return image_json(sv, name, 1, e);
}

uint64_t view_image_size(struct sv *sv, const char *name)
{
    struct storage_image_config ic = {0};
    if (storage_image_load(sv->images_dir, name, &ic, &(struct err){0}) < 0)
        return 0;
    uint64_t size = image_size(sv, name, &ic);
    storage_image_config_free(&ic);
    return size;
}

cJSON *view_images(struct sv *sv, struct err *e)
{
    auto_closedir DIR *d = opendir(sv->images_dir);
    if (!d)
        return err_set(e, errno, "list images in '%s'", sv->images_dir), NULL;
    cJSON *arr = cJSON_CreateArray();
    if (!arr)
        return err_set(e, ENOMEM, "list images"), NULL;
    struct dirent *de;
    while ((de = readdir(d))) {
        struct err ig = {0};
        if (de->d_name[0] == '.')
            continue;
        cJSON *o = image_json(sv, de->d_name, 0, &ig);
        if (o)
            cJSON_AddItemToArray(arr, o);
    }
    return arr;
}

int view_image_count(struct sv *sv)
{
    auto_closedir DIR *d = opendir(sv->images_dir);
    int n = 0;
    struct dirent *de;
    while (d && (de = readdir(d)))
        if (de->d_name[0] != '.')
            n++;
    return n;
}
