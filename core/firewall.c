/* SPDX-License-Identifier: MIT */
/* core/firewall.c - berthd's nftables table through the nft program (see firewall.h). nft is
 * the interface Debian ships for it (libnftables has no -dev package among our dependencies,
 * and the rules are a handful per network, replaced whole: no hand-written netlink). */
#include "core/firewall.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/err.h"
#include "core/log.h"
#include "core/network.h"
#include "core/sv.h"
#include "core/util.h"
#include "net/ipam.h"

#define NFT_WAIT_MS 5000 /* nft answers in tens of milliseconds */
#define NFT_ERR_MAX 480  /* the part of nft's complaint kept in the error */

static const char *const nft_paths[] = {"/usr/sbin/nft", "/sbin/nft", "/usr/bin/nft", "/bin/nft"};

int firewall_init(struct sv *sv, enum firewall_mode mode, int nat, struct err *e)
{
    struct sv_firewall *fw = &sv->fw;

    memset(fw, 0, sizeof *fw);
    fw->off = mode == FIREWALL_OFF;
    fw->nat = nat;
    if (!fw->off)
        for (size_t i = 0; i < ARRAY_LEN(nft_paths) && !fw->nft[0]; i++)
            if (access(nft_paths[i], X_OK) == 0)
                (void)snprintf(fw->nft, sizeof fw->nft, "%s", nft_paths[i]);
    if (nat && !fw->nft[0])
        return err_set(e, EINVAL, "--nat needs nft (apt-get install nftables)%s",
                       fw->off ? " and not --firewall off" : "");
    /* berthd of the default root: "berth", as its bridge is berth0; another: a hash of it */
    if (strcmp(sv->root, "/var/lib/berth") == 0)
        (void)snprintf(fw->table, sizeof fw->table, "berth");
    else
        (void)snprintf(fw->table, sizeof fw->table, "berth_%08llx",
                       (unsigned long long)(util_fnv1a64(sv->root) & 0xffffffffULL));
    return 0;
}

const char *firewall_status(const struct sv *sv)
{
    return sv->fw.off ? "off" : sv->fw.nft[0] ? "nft" : "none";
}

/* ---- the script ---- */

struct out {
    char *buf;
    size_t size, len;
    int full;
};

__attribute__((format(printf, 2, 3))) static void put(struct out *o, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = o->full ? -1 : vsnprintf(o->buf + o->len, o->size - o->len, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= o->size - o->len)
        o->full = 1;
    else
        o->len += (size_t)n;
}

int firewall_script(const char *table, const struct network *nets, int nat, char *buf, size_t size,
                    struct err *e)
{
    struct out o = {.buf = buf, .size = size};
    int nbridges = 0;

    if (size == 0)
        return err_set(e, ENOSPC, "nft script");
    buf[0] = 0;
    /* "table" first makes "delete" succeed when the table is not there yet: one transaction
     * replaces it whole, so no packet ever sees half a ruleset */
    put(&o, "table ip %s\ndelete table ip %s\ntable ip %s {\n", table, table, table);
    for (const struct network *n = nets; n; n = n->next)
        if (n->driver == NETWORK_BRIDGE)
            put(&o, "%s\"%s\"",
                nbridges++ ? ", " : "\tset bridges {\n\t\ttype ifname\n\t\telements = { ",
                n->bridge);
    if (nbridges)
        put(&o, " }\n\t}\n");
    put(&o, "\tchain forward {\n\t\ttype filter hook forward priority filter; policy accept;\n");
    for (const struct network *n = nets; n; n = n->next)
        if (n->driver == NETWORK_BRIDGE)
            put(&o, "\t\tiifname \"%s\" oifname @bridges oifname != \"%s\" drop\n", n->bridge,
                n->bridge);
    put(&o, "\t}\n");
    if (nat) {
        put(&o, "\tchain postrouting {\n\t\ttype nat hook postrouting priority srcnat; policy "
                "accept;\n");
        for (const struct network *n = nets; n; n = n->next) {
            char net[16];
            if (n->driver != NETWORK_BRIDGE)
                continue;
            net_addr_format(n->sn.net, net);
            put(&o, "\t\tip saddr %s/%u oifname != \"%s\" masquerade\n", net, n->sn.prefix,
                n->bridge);
        }
        put(&o, "\t}\n");
    }
    put(&o, "}\n");
    if (o.full)
        return err_set(e, ENOSPC, "nft script longer than %zu bytes", size);
    return 0;
}

/* ---- running nft ---- */

/* Run "NFT -f -" on SCRIPT; fails with nft's first complaint. Blocks up to NFT_WAIT_MS: call
 * it from a helper, or at exit. */
static int nft_run(const char *nft, const char *script, struct err *e)
{
    char msg[NFT_ERR_MAX + 1];
    size_t len = strlen(script), got = 0;
    int status = 0, in = memfd_create("berth-nft", MFD_CLOEXEC), errp[2] = {-1, -1};

    if (in < 0)
        return err_set(e, errno, "nft: memfd");
    if (util_write_all(in, script, len, e) < 0) {
        (void)close(in);
        return err_wrap(e, "nft: script");
    }
    if (lseek(in, 0, SEEK_SET) < 0 || pipe2(errp, O_CLOEXEC) < 0) {
        int saved = errno;
        (void)close(in);
        return err_set(e, saved, "nft: pipe");
    }
    pid_t pid = fork();
    if (pid == 0) {
        int null = open("/dev/null", O_WRONLY | O_CLOEXEC);
        if (dup2(in, 0) < 0 || dup2(null < 0 ? errp[1] : null, 1) < 0 || dup2(errp[1], 2) < 0)
            _exit(127);
        execl(nft, "nft", "-f", "-", (char *)NULL);
        _exit(127);
    }
    int saved = errno;
    (void)close(in);
    (void)close(errp[1]);
    if (pid < 0) {
        (void)close(errp[0]);
        return err_set(e, saved, "nft: fork");
    }
    /* its complaint (bounded), until EOF or the deadline */
    int64_t deadline = util_now_ns() + (int64_t)NFT_WAIT_MS * 1000000;
    for (;;) {
        int64_t left = (deadline - util_now_ns()) / 1000000;
        struct pollfd p = {.fd = errp[0], .events = POLLIN};
        if (left <= 0 || poll(&p, 1, (int)left) == 0) {
            (void)kill(pid, SIGKILL);
            break;
        }
        char tmp[256];
        ssize_t n = read(errp[0], tmp, sizeof tmp);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        size_t take = (size_t)n < NFT_ERR_MAX - got ? (size_t)n : NFT_ERR_MAX - got;
        memcpy(msg + got, tmp, take);
        got += take;
    }
    (void)close(errp[0]);
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    msg[got] = 0;
    msg[strcspn(msg, "\n")] = 0;
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
        return 0;
    if (WIFSIGNALED(status))
        return err_set(e, ETIMEDOUT, "nft: no answer within %d ms", NFT_WAIT_MS);
    return err_set(e, EIO, "nft: %s", got ? msg : "failed");
}

/* The helper's side: the script was built by the loop before the fork. */
static int apply_fn(void *arg, struct err *e)
{
    struct sv *sv = arg;
    return nft_run(sv->fw.nft, sv->fw.script, e);
}

static void apply_done(struct sv *sv, void *data, int ok, const struct err *e)
{
    (void)data;
    sv->fw.busy = 0;
    if (!ok)
        log_msg(LOG_WARN, "firewall: table %s not updated: %s", sv->fw.table, err_str(e));
    else if (sv->fw.failed)
        log_msg(LOG_INFO, "firewall: table %s updated", sv->fw.table);
    sv->fw.failed = !ok;
    if (sv->fw.again && !sv->shutting_down)
        firewall_sync(sv);
}

void firewall_sync(struct sv *sv)
{
    struct sv_firewall *fw = &sv->fw;
    struct err e = {0};

    if (!fw->nft[0])
        return;
    if (fw->busy) { /* the change lands right after the one being applied */
        fw->again = 1;
        return;
    }
    fw->again = 0;
    char *script = malloc(FIREWALL_SCRIPT_MAX);
    if (!script) {
        log_msg(LOG_WARN, "firewall: out of memory");
        return;
    }
    if (firewall_script(fw->table, sv->nets, fw->nat, script, FIREWALL_SCRIPT_MAX, &e) < 0) {
        log_err(&e, "firewall");
        free(script);
        return;
    }
    fw->script = script; /* the forked helper has its own copy */
    if (sv_helper(sv, apply_fn, sv, apply_done, NULL, &e) < 0)
        log_err(&e, "firewall: update table %s", fw->table);
    else
        fw->busy = 1;
    fw->script = NULL;
    free(script);
}

void firewall_shutdown(struct sv *sv)
{
    struct err e = {0};
    char script[96];

    if (!sv->fw.nft[0])
        return;
    (void)snprintf(script, sizeof script, "table ip %s\ndelete table ip %s\n", sv->fw.table,
                   sv->fw.table);
    if (nft_run(sv->fw.nft, script, &e) < 0)
        log_err(&e, "firewall: delete table %s", sv->fw.table);
}
