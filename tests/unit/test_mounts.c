/* SPDX-License-Identifier: MIT */
/* tests/unit/test_mounts.c - Docker's -v, --tmpfs and --mount syntaxes: every accepted form and
 * what it means, the refusals, duplicate destinations, the parents-first order, and the
 * snapshot's JSON round trip. Pure. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>

#include <cjson/cJSON.h>

#include "core/err.h"
#include "core/mounts.h"
#include "tests/unit/tap.h"

static int str_is(const char *a, const char *b)
{
    return a && b ? strcmp(a, b) == 0 : a == b;
}

static void volume_ok(const char *spec, enum ctr_mount_type t, const char *src, const char *dst,
                      int ro, unsigned long flags)
{
    struct ctr_mount m;
    struct err e = {0};
    int rc = mount_parse_volume(spec, &m, &e);
    ok(rc == 0 && m.type == t && str_is(m.source, src) && str_is(m.target, dst) &&
           m.read_only == ro && m.flags == flags && m.anonymous == (t == CTR_MOUNT_VOLUME && !src),
       "-v %s (%s)", spec, e.msg);
    if (rc == 0)
        mount_free(&m);
}

static void refused(int (*parse)(const char *, struct ctr_mount *, struct err *), const char *spec)
{
    struct ctr_mount m;
    struct err e = {0};
    ok(parse(spec, &m, &e) < 0 && e.code == EINVAL && !m.source && !m.target, "refused: '%s' (%s)",
       spec, e.msg);
}

int main(void)
{
    struct ctr_mount m;
    struct err e = {0};

    volume_ok("/host:/ctr", CTR_MOUNT_BIND, "/host", "/ctr", 0, 0);
    volume_ok("/host/:/ctr//sub/./x/:ro", CTR_MOUNT_BIND, "/host", "/ctr/sub/x", 1, 0);
    volume_ok("/h:/c:rw,noexec,nosuid,nodev", CTR_MOUNT_BIND, "/h", "/c", 0,
              MS_NOEXEC | MS_NOSUID | MS_NODEV);
    volume_ok("/h:/c:z", CTR_MOUNT_BIND, "/h", "/c", 0, 0);
    volume_ok("data:/var/lib/x", CTR_MOUNT_VOLUME, "data", "/var/lib/x", 0, 0);
    volume_ok("my_vol.1-a:/d:ro", CTR_MOUNT_VOLUME, "my_vol.1-a", "/d", 1, 0);
    volume_ok("/anon", CTR_MOUNT_VOLUME, NULL, "/anon", 0, 0);
    volume_ok("/anon:ro", CTR_MOUNT_VOLUME, NULL, "/anon", 1, 0);
    ok(mount_parse_volume("vv:/d:nocopy", &m, &e) == 0 && m.nocopy, "nocopy on a volume");
    mount_free(&m);
    refused(mount_parse_volume, "v:/d"); /* a volume name has two characters at least */
    ok(mount_parse_volume("vv:/d", &m, &e) == 0, "a two-character volume name");
    mount_free(&m);
    static const char *const bad_v[] = {
        "",         "rel",         "v:rel",  "a b:/x",    "-v:/x",      "x:/x",     "/h:/",
        "/h:/c:rx", "/h:/c:ro,rw", "/h:/c:", "/a:/b:c:d", "/h:/c/../d", "/h/..:/c", "/h:/c:nocopy"};
    for (size_t i = 0; i < sizeof bad_v / sizeof *bad_v; i++)
        refused(mount_parse_volume, bad_v[i]);

    ok(mount_parse_tmpfs("/t", &m, &e) == 0 && m.type == CTR_MOUNT_TMPFS && !m.source &&
           m.flags == (MS_NOEXEC | MS_NOSUID | MS_NODEV) && m.tmpfs_size == 0 && m.tmpfs_mode == 0,
       "--tmpfs /t: noexec,nosuid,nodev by default");
    mount_free(&m);
    ok(mount_parse_tmpfs("/t:size=64m,mode=1770,exec,ro", &m, &e) == 0 &&
           m.tmpfs_size == 64LL << 20 && m.tmpfs_mode == 01770 && m.read_only &&
           m.flags == (MS_NOSUID | MS_NODEV),
       "--tmpfs with size, mode, exec, ro (%s)", e.msg);
    mount_free(&m);
    static const char *const bad_t[] = {
        "t", "/t:size=", "/t:size=x", "/t:mode=8", "/t:mode=77777", "/t:bogus", "/"};
    for (size_t i = 0; i < sizeof bad_t / sizeof *bad_t; i++)
        refused(mount_parse_tmpfs, bad_t[i]);

    ok(mount_parse_mount("type=bind,source=/a,target=/b,readonly", &m, &e) == 0 &&
           m.type == CTR_MOUNT_BIND && str_is(m.source, "/a") && str_is(m.target, "/b") &&
           m.read_only,
       "--mount bind readonly (%s)", e.msg);
    mount_free(&m);
    ok(mount_parse_mount("src=v1,dst=/d,ro=false,volume-nocopy", &m, &e) == 0 &&
           m.type == CTR_MOUNT_VOLUME && str_is(m.source, "v1") && !m.read_only && m.nocopy,
       "--mount defaults to a volume (%s)", e.msg);
    mount_free(&m);
    ok(mount_parse_mount("type=volume,destination=/d", &m, &e) == 0 && m.anonymous && !m.source,
       "--mount volume without a source is anonymous");
    mount_free(&m);
    ok(mount_parse_mount("type=tmpfs,dst=/t,tmpfs-size=1048576,tmpfs-mode=700", &m, &e) == 0 &&
           m.tmpfs_size == 1048576 && m.tmpfs_mode == 0700,
       "--mount tmpfs with size and mode (%s)", e.msg);
    mount_free(&m);
    static const char *const bad_m[] = {"type=bind,target=/b",
                                        "type=tmpfs,src=/a,dst=/b",
                                        "src=/a",
                                        "type=nfs,dst=/b",
                                        "type=bind,src=/a,dst=/b,x=1",
                                        "dst=/b,ro=maybe",
                                        "type=bind,src=a,dst=/b",
                                        "src=v,dst=/b,tmpfs-size=1m",
                                        "type=bind,src=/a,dst=/b,bind-propagation=shared"};
    for (size_t i = 0; i < sizeof bad_m / sizeof *bad_m; i++)
        refused(mount_parse_mount, bad_m[i]);

    /* duplicates and order */
    struct ctr_mount v[4] = {0};
    ok(mount_parse_volume("/h:/a/b/c", &v[0], &e) == 0 &&
           mount_parse_volume("x1:/a", &v[1], &e) == 0 &&
           mount_parse_tmpfs("/a/b", &v[2], &e) == 0 && mount_parse_volume("/z", &v[3], &e) == 0,
       "four mounts");
    ok(mounts_check(v, 4, &e) == 0, "distinct destinations pass");
    mounts_sort(v, 4);
    ok(strcmp(v[0].target, "/a") == 0 && strcmp(v[1].target, "/z") == 0 &&
           strcmp(v[2].target, "/a/b") == 0 && strcmp(v[3].target, "/a/b/c") == 0,
       "sorted parents first, stable");
    free(v[3].target);
    v[3].target = strdup("/z");
    ok(mounts_check(v, 4, &e) < 0 && strstr(e.msg, "duplicate mount point: /z"),
       "a duplicate destination is refused (%s)", e.msg);

    /* JSON round trip: an anonymous volume has its generated name by then */
    v[1].source = strdup("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef");
    for (int i = 0; i < 4; i++) {
        struct ctr_mount back;
        cJSON *j = mount_json(&v[i]);
        int rc = mount_from_json(j, &back, &e);
        ok(rc == 0 && back.type == v[i].type && str_is(back.source, v[i].source) &&
               str_is(back.target, v[i].target) && back.read_only == v[i].read_only &&
               back.flags == v[i].flags && back.anonymous == v[i].anonymous,
           "JSON round trip of %s (%s)", v[i].target, e.msg);
        cJSON_Delete(j);
        if (rc == 0)
            mount_free(&back);
    }
    static const char *const bad_j[] = {
        "{}",
        "{\"Type\":\"nfs\",\"Target\":\"/x\"}",
        "{\"Type\":\"bind\",\"Target\":\"/x\"}",
        "{\"Type\":\"volume\",\"Source\":\"../x\",\"Target\":\"/x\"}",
        "{\"Type\":\"tmpfs\",\"Target\":\"relative\"}",
        "{\"Type\":\"tmpfs\",\"Target\":\"/x\",\"TmpfsMode\":99999}"};
    for (size_t i = 0; i < sizeof bad_j / sizeof *bad_j; i++) {
        cJSON *j = cJSON_Parse(bad_j[i]);
        ok(mount_from_json(j, &m, &e) < 0, "snapshot mount refused: %s", bad_j[i]);
        cJSON_Delete(j);
    }
    for (int i = 0; i < 4; i++)
        mount_free(&v[i]);
    return done();
}
