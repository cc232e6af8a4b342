/* SPDX-License-Identifier: MIT */
/* tests/unit/test_caps.c - core/caps.c: name parsing, the final set for default/add/drop/ALL
 * combinations, formatting, and (as root, in forked children) the exact capability sets after
 * caps_before_setuid/caps_after_setuid for root and for uid 1000, before and after exec. */
#include <errno.h>
#include <grp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/capability.h>

#include "core/caps.h"
#include "core/err.h"
#include "tests/unit/tap.h"

#define B(c) (UINT64_C(1) << (c))

static uint64_t spec_set(const char *add, const char *drop)
{
    struct caps_spec s = {0};
    struct err e = {0};
    char buf[256];
    for (int d = 0; d < 2; d++) {
        const char *list = d ? drop : add;
        if (!list)
            continue;
        (void)snprintf(buf, sizeof buf, "%s", list);
        for (char *save = NULL, *t = strtok_r(buf, " ", &save); t; t = strtok_r(NULL, " ", &save))
            if (caps_spec_add(&s, t, d, &e) < 0)
                return UINT64_MAX;
    }
    return caps_effective_set(&s);
}

static void test_names(void)
{
    struct err e = {0};
    int c = 99;
    ok(caps_parse_name("NET_ADMIN", &c, &e) == 0 && c == CAP_NET_ADMIN, "NET_ADMIN");
    ok(caps_parse_name("cap_net_admin", &c, &e) == 0 && c == CAP_NET_ADMIN, "cap_net_admin");
    ok(caps_parse_name("Cap_Sys_Admin", &c, &e) == 0 && c == CAP_SYS_ADMIN, "Cap_Sys_Admin");
    ok(caps_parse_name("chown", &c, &e) == 0 && c == CAP_CHOWN, "chown is 0");
    ok(caps_parse_name("ALL", &c, &e) == 0 && c == -1, "ALL is -1");
    ok(caps_parse_name("cap_all", &c, &e) == 0 && c == -1, "cap_all is -1");
    ok(caps_parse_name("CHECKPOINT_RESTORE", &c, &e) == 0 && c == 40, "CHECKPOINT_RESTORE");
    ok(caps_parse_name("NET_FOO", &c, &e) < 0 && e.code == EINVAL &&
           strstr(e.msg, "unknown capability 'NET_FOO'"),
       "unknown name rejected: %s", e.msg);
    ok(caps_parse_name("", &c, &e) < 0, "empty name rejected");
    ok(caps_parse_name("CAP_", &c, &e) < 0, "bare CAP_ rejected");
    ok(caps_parse_name("CAP_CAP_CHOWN", &c, &e) < 0, "double prefix rejected");
    ok(strcmp(caps_name(CAP_SYS_ADMIN), "CAP_SYS_ADMIN") == 0 && caps_name(63) == NULL &&
           caps_name(-1) == NULL,
       "caps_name");
}

static void test_sets(void)
{
    uint64_t def = caps_default(), all = caps_all();
    ok(__builtin_popcountll(def) == 14, "14 defaults");
    ok(def == (B(CAP_CHOWN) | B(CAP_DAC_OVERRIDE) | B(CAP_FSETID) | B(CAP_FOWNER) | B(CAP_MKNOD) |
               B(CAP_NET_RAW) | B(CAP_SETGID) | B(CAP_SETUID) | B(CAP_SETFCAP) | B(CAP_SETPCAP) |
               B(CAP_NET_BIND_SERVICE) | B(CAP_SYS_CHROOT) | B(CAP_KILL) | B(CAP_AUDIT_WRITE)),
       "default mask");
    ok(all == B(CAP_LAST_CAP + 1) - 1 || all < B(CAP_LAST_CAP + 1), "all known caps %#llx",
       (unsigned long long)all);
    ok(spec_set(NULL, NULL) == def, "no flags: defaults");
    ok(spec_set("NET_ADMIN", NULL) == (def | B(CAP_NET_ADMIN)), "add one");
    ok(spec_set(NULL, "chown net_raw") == (def & ~B(CAP_CHOWN) & ~B(CAP_NET_RAW)), "drop two");
    ok(spec_set("SYS_ADMIN", "SYS_ADMIN") == (def | B(CAP_SYS_ADMIN)),
       "add and drop the same: added (Docker applies adds last)");
    ok(spec_set(NULL, "ALL") == 0, "drop ALL: empty");
    ok(spec_set("NET_ADMIN kill", "ALL") == (B(CAP_NET_ADMIN) | B(CAP_KILL)),
       "drop ALL, add two: just those");
    ok(spec_set("ALL", NULL) == all, "add ALL: everything");
    ok(spec_set("ALL", "SYS_ADMIN NET_ADMIN") == (all & ~B(CAP_SYS_ADMIN) & ~B(CAP_NET_ADMIN)),
       "add ALL, drop two");
    ok(spec_set("ALL", "ALL") == all, "add ALL wins over drop ALL (as in Docker)");
    ok(spec_set("bogus", NULL) == UINT64_MAX, "bad name fails");

    struct caps_spec s = {.privileged = 1, .drop = CAPS_ALL};
    ok(caps_effective_set(&s) == all, "privileged: everything");
    ok(caps_added_set(&s) == 0, "privileged alone adds nothing for non-root");
    s = (struct caps_spec){.add = B(CAP_NET_ADMIN) | B(CAP_CHOWN)};
    ok(caps_added_set(&s) == (B(CAP_NET_ADMIN) | B(CAP_CHOWN)), "added set: exactly the adds");
    s = (struct caps_spec){.add = B(CAP_NET_ADMIN), .drop = CAPS_ALL};
    ok(caps_added_set(&s) == B(CAP_NET_ADMIN), "added set with drop ALL");
    s = (struct caps_spec){.add = CAPS_ALL, .drop = B(CAP_SYS_ADMIN)};
    ok(caps_added_set(&s) == (all & ~B(CAP_SYS_ADMIN)), "added set with add ALL");
    s = (struct caps_spec){0};
    ok(caps_added_set(&s) == 0, "added set without --cap-add: empty");

    char buf[CAPS_FORMAT_MAX];
    struct err e = {0};
    ok(caps_format(B(CAP_CHOWN) | B(CAP_NET_ADMIN), ",", buf, sizeof buf, &e) == 0 &&
           strcmp(buf, "CAP_CHOWN,CAP_NET_ADMIN") == 0,
       "format: %s", buf);
    ok(caps_format(0, ",", buf, sizeof buf, &e) == 0 && buf[0] == '\0', "format empty");
    ok(caps_format(CAPS_ALL, ",", buf, sizeof buf, &e) == 0 && strcmp(buf, "ALL") == 0,
       "format ALL");
    ok(caps_format(UINT64_MAX, ", ", buf, sizeof buf, &e) == 0, "every name fits the max");
    ok(caps_format(def, ",", buf, 20, &e) < 0 && e.code == ENAMETOOLONG, "format too small");
}

/* ---- applying, in children ---- */

struct sets {
    uint64_t inh, prm, eff, bnd, amb;
};

static int parse_status(const char *text, struct sets *s)
{
    static const char *const keys[] = {"CapInh:", "CapPrm:", "CapEff:", "CapBnd:", "CapAmb:"};
    uint64_t *out[] = {&s->inh, &s->prm, &s->eff, &s->bnd, &s->amb};
    for (int i = 0; i < 5; i++) {
        const char *p = strstr(text, keys[i]);
        if (!p)
            return -1;
        *out[i] = strtoull(p + strlen(keys[i]), NULL, 16);
    }
    return 0;
}

/* In a child: apply S for UID (0 or 1000) and write /proc/self/status to a pipe; with EXEC,
 * exec /bin/cat on it instead so that the sets after exec are seen. */
static int run_child(const struct caps_spec *s, uid_t uid, int do_exec, struct sets *out,
                     char *errbuf, size_t errlen)
{
    int p[2];
    char text[8192];
    if (pipe(p) < 0)
        return -1;
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        struct err e = {0};
        (void)close(p[0]);
        if (dup2(p[1], 1) < 0)
            _exit(3);
        if (caps_before_setuid(s, uid != 0, &e) < 0 ||
            (uid != 0 && (setgroups(0, NULL) < 0 || setgid(uid) < 0 || setuid(uid) < 0)) ||
            caps_after_setuid(s, uid != 0, &e) < 0) {
            printf("ERR %s (%s)\n", e.msg, strerror(errno));
            fflush(stdout);
            _exit(2);
        }
        if (do_exec) {
            execl("/bin/cat", "cat", "/proc/self/status", (char *)NULL);
            _exit(4);
        }
        FILE *f = fopen("/proc/self/status", "r");
        if (!f)
            _exit(5);
        size_t n = fread(text, 1, sizeof text - 1, f);
        (void)fwrite(text, 1, n, stdout);
        fflush(stdout);
        _exit(0);
    }
    (void)close(p[1]);
    size_t len = 0;
    ssize_t r;
    while (len < sizeof text - 1 && (r = read(p[0], text + len, sizeof text - 1 - len)) > 0)
        len += (size_t)r;
    text[len] = '\0';
    (void)close(p[0]);
    int st;
    if (waitpid(pid, &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        (void)snprintf(errbuf, errlen, "child failed: %.200s", text);
        return -1;
    }
    return parse_status(text, out);
}

static void check(const char *what, const struct caps_spec *s, uid_t uid, int do_exec,
                  struct sets want)
{
    struct sets got = {0};
    char msg[256] = "";
    int rc = run_child(s, uid, do_exec, &got, msg, sizeof msg);
    ok(rc == 0, "%s: child ran %s", what, msg);
    ok(got.bnd == want.bnd, "%s: CapBnd %#llx (want %#llx)", what, (unsigned long long)got.bnd,
       (unsigned long long)want.bnd);
    ok(got.prm == want.prm, "%s: CapPrm %#llx (want %#llx)", what, (unsigned long long)got.prm,
       (unsigned long long)want.prm);
    ok(got.eff == want.eff, "%s: CapEff %#llx (want %#llx)", what, (unsigned long long)got.eff,
       (unsigned long long)want.eff);
    ok(got.inh == want.inh, "%s: CapInh %#llx (want %#llx)", what, (unsigned long long)got.inh,
       (unsigned long long)want.inh);
    ok(got.amb == want.amb, "%s: CapAmb %#llx (want %#llx)", what, (unsigned long long)got.amb,
       (unsigned long long)want.amb);
}

static void test_apply(void)
{
    uint64_t def = caps_default(), na = B(CAP_NET_ADMIN);
    struct caps_spec none = {0}, add = {.add = na}, dropall = {.drop = CAPS_ALL};

    check("root default", &none, 0, 0, (struct sets){def, def, def, def, 0});
    check("root default after exec", &none, 0, 1, (struct sets){def, def, def, def, 0});
    check("root --cap-add NET_ADMIN", &add, 0, 0,
          (struct sets){def | na, def | na, def | na, def | na, 0});
    check("root --cap-drop ALL", &dropall, 0, 1, (struct sets){0, 0, 0, 0, 0});

    check("uid 1000 default", &none, 1000, 0, (struct sets){def, def, 0, def, 0});
    check("uid 1000 default after exec", &none, 1000, 1, (struct sets){def, 0, 0, def, 0});
    check("uid 1000 --cap-add NET_ADMIN", &add, 1000, 0,
          (struct sets){def | na, def | na, na, def | na, na});
    check("uid 1000 --cap-add NET_ADMIN after exec", &add, 1000, 1,
          (struct sets){def | na, na, na, def | na, na});
}

int main(void)
{
    test_names();
    test_sets();
    if (geteuid() == 0)
        test_apply();
    else
        printf("# not root: skipping the tests that apply capabilities\n");
    return done();
}
