/* SPDX-License-Identifier: MIT */
/* tests/unit/test_archive.c - storage/archive: layer apply (files, modes, links, whiteouts,
 * opaque directories, compression, traversal refused, truncation), OCI layout and docker-save
 * loading (directory and tar, digests checked, nothing left behind on failure) and rootfs tar
 * import. Archives are built here with libarchive's writer. */
#include "storage/archive.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>

#include "core/err.h"
#include "core/util.h"
#include "storage/image.h"
#include "storage/sha256.h"
#include "tests/unit/tap.h"

static char dir[64];

static const char *P(char *buf, size_t size, const char *rel)
{
    (void)snprintf(buf, size, "%s/%s", dir, rel);
    return buf;
}
#define PATHOF(rel) P((char[512]){0}, 512, rel)

static void die(const char *what)
{
    fprintf(stderr, "test setup: %s\n", what);
    exit(1);
}

static void mkd(const char *rel)
{
    struct err e = {0};
    if (util_mkdir_p(PATHOF(rel), 0755, &e) < 0)
        die(e.msg);
}

static void put(const char *rel, const char *txt, size_t len)
{
    struct err e = {0};
    if (util_write_atomic(PATHOF(rel), txt, len, &e) < 0)
        die(e.msg);
}

static char *slurp(const char *rel)
{
    struct err e = {0};
    return util_read_file(PATHOF(rel), 4 * 1024 * 1024, NULL, &e);
}

/* Change one byte in the middle of the file REL, keeping its size. */
static void flip_byte(const char *rel)
{
    struct stat st;
    char c = 0;
    int fd = open(PATHOF(rel), O_RDWR | O_CLOEXEC);
    if (fd < 0 || fstat(fd, &st) < 0 || pread(fd, &c, 1, st.st_size / 2) != 1)
        die("flip_byte");
    c ^= 1;
    if (pwrite(fd, &c, 1, st.st_size / 2) != 1 || close(fd) < 0)
        die("flip_byte");
}

static int has(const char *rel)
{
    struct stat st;
    return lstat(PATHOF(rel), &st) == 0;
}

static int content_is(const char *rel, const char *want)
{
    char *got = slurp(rel);
    int same = got && strcmp(got, want) == 0;
    free(got);
    return same;
}

/* ---- tar writer ---- */

enum { F_NONE, F_GZIP, F_XZ, F_ZSTD };

static struct archive *tw_open(const char *rel, int filter)
{
    struct archive *a = archive_write_new();
    if (!a || archive_write_set_format_pax_restricted(a) != ARCHIVE_OK)
        die("archive_write_new");
    int rc = filter == F_GZIP   ? archive_write_add_filter_gzip(a)
             : filter == F_XZ   ? archive_write_add_filter_xz(a)
             : filter == F_ZSTD ? archive_write_add_filter_zstd(a)
                                : archive_write_add_filter_none(a);
    if (rc != ARCHIVE_OK || archive_write_open_filename(a, PATHOF(rel)) != ARCHIVE_OK)
        die(archive_error_string(a));
    return a;
}

static void tw_add(struct archive *a, const char *name, mode_t mode, const char *data, size_t len,
                   const char *link, int hard, int uid)
{
    struct archive_entry *ent = archive_entry_new();
    archive_entry_set_pathname(ent, name);
    archive_entry_set_mode(ent, mode);
    archive_entry_set_uid(ent, uid);
    archive_entry_set_gid(ent, uid);
    archive_entry_set_mtime(ent, 1500000000, 0);
    if (link && hard)
        archive_entry_set_hardlink(ent, link);
    else if (link)
        archive_entry_set_symlink(ent, link);
    archive_entry_set_size(ent, S_ISREG(mode) && !hard ? (la_int64_t)len : 0);
    if (archive_write_header(a, ent) != ARCHIVE_OK)
        die(archive_error_string(a));
    if (S_ISREG(mode) && !hard && len && archive_write_data(a, data, len) != (la_ssize_t)len)
        die(archive_error_string(a));
    archive_entry_free(ent);
}

static void tw_file(struct archive *a, const char *name, mode_t perm, const char *data)
{
    tw_add(a, name, S_IFREG | perm, data, strlen(data), NULL, 0, 0);
}
static void tw_dir(struct archive *a, const char *name, mode_t perm)
{
    tw_add(a, name, S_IFDIR | perm, NULL, 0, NULL, 0, 0);
}
static void tw_sym(struct archive *a, const char *name, const char *target)
{
    tw_add(a, name, S_IFLNK | 0777, NULL, 0, target, 0, 0);
}
static void tw_hard(struct archive *a, const char *name, const char *target)
{
    tw_add(a, name, S_IFREG | 0644, NULL, 0, target, 1, 0);
}
/* A file of the disk file REL (as NAME). */
static void tw_disk(struct archive *a, const char *name, const char *rel)
{
    struct err e = {0};
    size_t len = 0;
    char *txt = util_read_file(PATHOF(rel), 64 * 1024 * 1024, &len, &e);
    if (!txt)
        die(e.msg);
    tw_add(a, name, S_IFREG | 0644, txt, len, NULL, 0, 0);
    free(txt);
}
static void tw_close(struct archive *a)
{
    if (archive_write_close(a) != ARCHIVE_OK)
        die(archive_error_string(a));
    archive_write_free(a);
}

static int apply(const char *dest, const char *layer, struct err *e)
{
    char d[512], l[512];
    memset(e, 0, sizeof *e);
    return storage_layer_apply(P(d, sizeof d, dest), P(l, sizeof l, layer), e);
}

/* ---- layer apply ---- */

static void test_apply_basic(void)
{
    struct err e = {0};
    struct stat st, st2;
    char buf[128];

    mkd("l/root");
    struct archive *a = tw_open("l/one.tar", F_NONE);
    tw_dir(a, "./", 0755);
    tw_dir(a, "./etc/", 0755);
    tw_file(a, "./etc/hosts", 0644, "127.0.0.1 localhost\n");
    tw_add(a, "bin/tool", S_IFREG | 04755, "#!", 2, NULL, 0, 1234);
    tw_hard(a, "bin/tool2", "bin/tool");
    tw_sym(a, "bin/sh", "/bin/busybox");
    tw_sym(a, "bin/rel", "../etc/hosts");
    tw_dir(a, "ro", 0555);
    tw_file(a, "ro/inside", 0400, "x");
    tw_add(a, "fifo", S_IFIFO | 0640, NULL, 0, NULL, 0, 0);
    tw_file(a, "deep/er/file", 0600, "implicit parents");
    tw_close(a);
    ok(apply("l/root", "l/one.tar", &e) == 0, "apply a plain layer (%s)", e.msg);
    ok(content_is("l/root/etc/hosts", "127.0.0.1 localhost\n"), "file content");
    ok(stat(PATHOF("l/root/bin/tool"), &st) == 0 && (st.st_mode & 07777) == 04755 &&
           st.st_mtim.tv_sec == 1500000000,
       "setuid mode and mtime kept (%o)", st.st_mode & 07777);
    if (geteuid() == 0)
        ok(st.st_uid == 1234 && st.st_gid == 1234, "numeric owner kept as root");
    ok(stat(PATHOF("l/root/bin/tool2"), &st2) == 0 && st2.st_ino == st.st_ino && st.st_nlink == 2,
       "hard link within the layer");
    ssize_t n = readlink(PATHOF("l/root/bin/sh"), buf, sizeof buf - 1);
    ok(n > 0 && (buf[n] = 0, strcmp(buf, "/bin/busybox") == 0),
       "absolute symlink target kept as text");
    ok(content_is("l/root/bin/rel", "127.0.0.1 localhost\n"), "relative symlink resolves");
    ok(stat(PATHOF("l/root/ro"), &st) == 0 && (st.st_mode & 07777) == 0555 &&
           st.st_mtim.tv_sec == 1500000000 && has("l/root/ro/inside"),
       "read-only directory filled, its mode and mtime set at the end");
    ok(lstat(PATHOF("l/root/fifo"), &st) == 0 && S_ISFIFO(st.st_mode) &&
           (st.st_mode & 0777) == 0640,
       "fifo");
    ok(stat(PATHOF("l/root/deep/er"), &st) == 0 && S_ISDIR(st.st_mode) &&
           content_is("l/root/deep/er/file", "implicit parents"),
       "missing parent directories created");

    /* a second layer replaces a file by a directory and a directory by a file */
    a = tw_open("l/two.tar.gz", F_GZIP);
    tw_dir(a, "etc/hosts", 0700);
    tw_file(a, "deep", 0644, "now a file");
    tw_file(a, "etc/new", 0644, "new");
    tw_close(a);
    ok(apply("l/root", "l/two.tar.gz", &e) == 0, "apply a gzip layer (%s)", e.msg);
    ok(stat(PATHOF("l/root/etc/hosts"), &st) == 0 && S_ISDIR(st.st_mode) &&
           content_is("l/root/deep", "now a file") && content_is("l/root/etc/new", "new"),
       "entries replace what is at their path; directories merge");

    static const struct {
        int filter;
        const char *name;
    } f[] = {{F_XZ, "l/x.tar.xz"}, {F_ZSTD, "l/z.tar.zst"}};
    for (size_t i = 0; i < ARRAY_LEN(f); i++) {
        a = tw_open(f[i].name, f[i].filter);
        tw_file(a, "compressed", 0644, f[i].name);
        tw_close(a);
        ok(apply("l/root", f[i].name, &e) == 0 && content_is("l/root/compressed", f[i].name),
           "apply %s (%s)", f[i].name, e.msg);
    }
}

static void test_whiteouts(void)
{
    struct err e = {0};

    mkd("w/root");
    struct archive *a = tw_open("w/1.tar", F_NONE);
    tw_file(a, "a/f", 0644, "f");
    tw_file(a, "a/g", 0644, "g");
    tw_file(a, "d/x/y", 0644, "y");
    tw_file(a, "o/old", 0644, "old");
    tw_file(a, "o/sub/old2", 0644, "old2");
    tw_file(a, "keep", 0644, "keep");
    tw_close(a);
    ok(apply("w/root", "w/1.tar", &e) == 0, "lower layer (%s)", e.msg);
    a = tw_open("w/2.tar", F_NONE);
    tw_file(a, "a/.wh.f", 0644, "");
    tw_file(a, ".wh.d", 0644, "");
    tw_file(a, "o/new", 0644, "new"); /* before the opaque marker: must stay anyway */
    tw_file(a, "o/.wh..wh..opq", 0644, "");
    tw_file(a, "o/sub/new2", 0644, "new2");
    tw_file(a, ".wh.nothing-there", 0644, "");
    tw_close(a);
    ok(apply("w/root", "w/2.tar", &e) == 0, "whiteout layer (%s)", e.msg);
    ok(!has("w/root/a/f") && content_is("w/root/a/g", "g"), "file whiteout removes only it");
    ok(!has("w/root/d"), "directory whiteout removes the tree");
    ok(!has("w/root/o/old") && !has("w/root/o/sub/old2") && content_is("w/root/o/new", "new") &&
           content_is("w/root/o/sub/new2", "new2"),
       "opaque directory drops lower entries, keeps this layer's");
    ok(!has("w/root/a/.wh.f") && !has("w/root/o/.wh..wh..opq") && !has("w/root/.wh.d"),
       "whiteout entries are not extracted");
    ok(content_is("w/root/keep", "keep"), "unrelated lower entries stay");
}

static int outside_clean(void)
{
    return !has("t/outside/f") && !has("t/x") && !has("t/f") &&
           content_is("t/outside/secret", "secret");
}

static void test_traversal(void)
{
    struct err e = {0};
    struct stat st;
    char abs_out[512], rootname[64];

    mkd("t/root");
    mkd("t/outside");
    put("t/outside/secret", "secret", 6);
    P(abs_out, sizeof abs_out, "t/outside");
    (void)snprintf(rootname, sizeof rootname, "berth-test-pwned-%d", (int)getpid());

    struct {
        const char *what;
        int kind;
    } cases[] = {
        {"../x", 0},     {"/abs", 1},     {"dir -> /", 2},          {"up -> ..", 3},
        {"abs link", 4}, {"hard ../", 5}, {"hard through link", 6}, {"a/../../x", 7},
    };
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        struct archive *a = tw_open("t/bad.tar", F_NONE);
        char name[128];
        switch (cases[i].kind) {
        case 0:
            tw_file(a, "../x", 0644, "x");
            break;
        case 1:
            (void)snprintf(name, sizeof name, "/tmp/%s", rootname);
            tw_file(a, name, 0644, "x");
            break;
        case 2:
            tw_sym(a, "evil", "/");
            (void)snprintf(name, sizeof name, "evil/tmp/%s", rootname);
            tw_file(a, name, 0644, "x");
            break;
        case 3:
            tw_sym(a, "up", "..");
            tw_file(a, "up/f", 0644, "x");
            break;
        case 4:
            tw_sym(a, "out", abs_out);
            tw_file(a, "out/f", 0644, "x");
            break;
        case 5:
            tw_hard(a, "h", "../outside/secret");
            break;
        case 6:
            tw_sym(a, "out2", abs_out);
            tw_hard(a, "h2", "out2/secret");
            break;
        case 7:
            tw_file(a, "a/../../x", 0644, "x");
            break;
        }
        tw_close(a);
        (void)snprintf(name, sizeof name, "/tmp/%s", rootname);
        int rc = apply("t/root", "t/bad.tar", &e);
        ok(rc < 0 && e.code == EINVAL && outside_clean() && access(name, F_OK) < 0,
           "refused: %s (%s)", cases[i].what, e.msg);
    }
    ok(stat(PATHOF("t/outside/secret"), &st) == 0 && st.st_nlink == 1, "no hard link made");

    /* a symlink from an earlier layer is not followed out either */
    struct archive *a = tw_open("t/lower.tar", F_NONE);
    tw_sym(a, "lnk", abs_out);
    tw_close(a);
    ok(apply("t/root", "t/lower.tar", &e) == 0, "a lower layer with a symlink out");
    a = tw_open("t/upper.tar", F_NONE);
    tw_file(a, "lnk/f", 0644, "x");
    tw_close(a);
    ok(apply("t/root", "t/upper.tar", &e) < 0 && e.code == EINVAL && outside_clean(),
       "write through a lower layer's symlink refused (%s)", e.msg);
    a = tw_open("t/upper.tar", F_NONE);
    tw_file(a, "lnk/.wh.secret", 0644, "");
    tw_close(a);
    ok(apply("t/root", "t/upper.tar", &e) < 0 && e.code == EINVAL && outside_clean(),
       "whiteout through a symlink refused (%s)", e.msg);
    a = tw_open("t/upper.tar", F_NONE);
    tw_file(a, "lnk", 0644, "replaced");
    tw_close(a);
    ok(apply("t/root", "t/upper.tar", &e) == 0 && content_is("t/root/lnk", "replaced") &&
           outside_clean(),
       "a file replaces the symlink itself, not its target (%s)", e.msg);
}

static void test_truncated(void)
{
    struct err e = {0};
    static char big[200000];

    for (size_t i = 0; i < sizeof big; i++)
        big[i] = (char)('a' + (i * 7919) % 26);
    big[sizeof big - 1] = 0;
    mkd("tr/root");
    for (int gz = 0; gz < 2; gz++) {
        const char *name = gz ? "tr/l.tar.gz" : "tr/l.tar";
        struct archive *a = tw_open(name, gz ? F_GZIP : F_NONE);
        tw_file(a, "first", 0644, "first");
        tw_file(a, "big", 0644, big);
        tw_file(a, "last", 0644, "last");
        tw_close(a);
        struct stat st;
        if (stat(PATHOF(name), &st) < 0 || truncate(PATHOF(name), st.st_size / 2) < 0)
            die("truncate");
        ok(apply("tr/root", name, &e) < 0 && (e.code == EIO || e.code == EINVAL) &&
               strstr(e.msg, "truncated"),
           "truncated %s refused (%s)", gz ? "gzip layer" : "layer", e.msg);
        ok(!has("tr/root/first"), "nothing extracted from it");
    }
    put("tr/junk", "this is not a tar archive at all, just text", 43);
    ok(apply("tr/root", "tr/junk", &e) < 0 && e.code != 0, "not an archive refused (%s)", e.msg);
}

/* ---- image layouts ---- */

static void hash_file(const char *rel, char hex[SHA256_HEX_LEN + 1], long *size)
{
    struct err e = {0};
    size_t len = 0;
    char *txt = util_read_file(PATHOF(rel), 64 * 1024 * 1024, &len, &e);
    struct storage_sha256 s;
    uint8_t d[SHA256_LEN];
    if (!txt)
        die(e.msg);
    storage_sha256_init(&s);
    storage_sha256_update(&s, txt, len);
    storage_sha256_final(&s, d);
    storage_sha256_hex(d, hex);
    *size = (long)len;
    free(txt);
}

/* Move the file REL into LAYOUT/blobs/sha256/<hex>; HEX gets the digest. */
static long add_blob(const char *layout, const char *rel, char hex[SHA256_HEX_LEN + 1])
{
    char to[512], sub[256];
    long size;
    hash_file(rel, hex, &size);
    (void)snprintf(sub, sizeof sub, "%s/blobs/sha256", layout);
    mkd(sub);
    (void)snprintf(sub, sizeof sub, "%s/blobs/sha256/%s", layout, hex);
    if (rename(PATHOF(rel), P(to, sizeof to, sub)) < 0)
        die("rename blob");
    return size;
}

static long add_json_blob(const char *layout, const char *json, char hex[SHA256_HEX_LEN + 1])
{
    put("tmp.json", json, strlen(json));
    return add_blob(layout, "tmp.json", hex);
}

/* A file REL2 holding the gzip of the file REL (libarchive's "raw" writer: no tar around it). */
static void gzip_file(const char *rel, const char *rel2)
{
    struct err e = {0};
    size_t len = 0;
    char *txt = util_read_file(PATHOF(rel), 64 * 1024 * 1024, &len, &e);
    struct archive *a = archive_write_new();
    struct archive_entry *ent = archive_entry_new();
    if (!txt || !a || !ent || archive_write_set_format_raw(a) != ARCHIVE_OK ||
        archive_write_add_filter_gzip(a) != ARCHIVE_OK ||
        archive_write_open_filename(a, PATHOF(rel2)) != ARCHIVE_OK)
        die("gzip_file");
    archive_entry_set_pathname(ent, "data");
    archive_entry_set_mode(ent, S_IFREG | 0644);
    archive_entry_set_size(ent, (la_int64_t)len);
    if (archive_write_header(a, ent) != ARCHIVE_OK ||
        archive_write_data(a, txt, len) != (la_ssize_t)len)
        die(archive_error_string(a));
    archive_entry_free(ent);
    tw_close(a);
    free(txt);
}

/* When not 0, layer 2 also holds a file "big" of that many pseudo-random (incompressible)
 * bytes, for progress reports. */
static size_t big_len;

/* The sha256 of the uncompressed layers L/1.tar, L/2.tar (gzipped), L/3.tar: their diff_ids. */
static char diff_id[3][SHA256_HEX_LEN + 1];

/* What a config's rootfs says: the right diff_ids, none, or wrong ones. */
enum { DIFF_OK, DIFF_NONE, DIFF_WRONG1, DIFF_WRONG2, DIFF_SHORT, DIFF_BAD };

/* The image config of the test image, with rootfs as DIFF says. */
static const char *config_json(int diff)
{
    static char buf[2048];
    char rootfs[512];
    const char *d1 = diff_id[0], *d2 = diff_id[1];
    if (diff == DIFF_WRONG1)
        d1 = diff_id[2];
    if (diff == DIFF_WRONG2)
        d2 = diff_id[0];
    if (diff == DIFF_NONE)
        rootfs[0] = 0;
    else if (diff == DIFF_SHORT)
        (void)snprintf(rootfs, sizeof rootfs,
                       ",\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"sha256:%s\","
                       "\"sha256:%s\"]}",
                       d1, d2);
    else
        (void)snprintf(rootfs, sizeof rootfs,
                       ",\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"sha256:%s\","
                       "\"sha256:%s\",\"%s%s\"]}",
                       d1, d2, diff == DIFF_BAD ? "md5:" : "sha256:", diff_id[2]);
    (void)snprintf(
        buf, sizeof buf,
        "{\"created\":\"2024-01-02T03:04:05Z\",\"architecture\":\"amd64\",\"os\":\"linux\","
        "\"config\":{\"Cmd\":[\"/bin/app\",\"--serve\"],\"Env\":[\"PATH=/bin\",\"A=1\"],"
        "\"WorkingDir\":\"/srv\",\"User\":\"app\",\"ExposedPorts\":{\"8080/tcp\":{},"
        "\"53/udp\":{}},\"Healthcheck\":{\"Test\":[\"CMD\",\"true\"],\"Interval\":1000000000}}"
        "%s}",
        rootfs);
    return buf;
}

/* The three layers of the test image, as files L/1.tar, L/2.tar.gz, L/3.tar; diff_id gets
 * their uncompressed digests. */
static void make_layers(void)
{
    long size;

    mkd("L");
    struct archive *a = tw_open("L/1.tar", F_NONE);
    tw_file(a, "etc/hosts", 0644, "h1");
    tw_file(a, "rm/me", 0644, "me");
    tw_file(a, "rm/tree/deep", 0644, "deep");
    tw_file(a, "opq/lower", 0644, "lower");
    tw_file(a, "gone/x", 0644, "x");
    tw_sym(a, "bin/sh", "/bin/busybox");
    tw_close(a);
    a = tw_open("L/2.tar", F_NONE);
    tw_file(a, "rm/.wh.me", 0644, "");
    tw_file(a, "opq/.wh..wh..opq", 0644, "");
    tw_file(a, "opq/upper", 0644, "upper");
    tw_file(a, "etc/hosts", 0644, "h2");
    if (big_len) {
        char *big = malloc(big_len);
        uint32_t x = 2463534242u;
        for (size_t i = 0; big && i < big_len; i++) {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            big[i] = (char)x;
        }
        if (!big)
            die("malloc");
        tw_add(a, "big", S_IFREG | 0644, big, big_len, NULL, 0, 0);
        free(big);
    }
    tw_close(a);
    gzip_file("L/2.tar", "L/2.tar.gz");
    a = tw_open("L/3.tar", F_NONE);
    tw_file(a, ".wh.gone", 0644, "");
    tw_file(a, "etc/motd", 0644, "hello");
    tw_close(a);
    hash_file("L/1.tar", diff_id[0], &size);
    hash_file("L/2.tar", diff_id[1], &size);
    hash_file("L/3.tar", diff_id[2], &size);
}

/* What make_oci gets wrong on purpose: the size of one descriptor. */
enum { D_NONE, D_INDEX, D_MANIFEST, D_CONFIG, D_LAYER2 };
enum { SZ_OFF = 1, SZ_MISSING, SZ_NEGATIVE, SZ_FRACTION, SZ_STRING };
struct oci_opt {
    int nested;   /* index.json points to an image index */
    int bad_desc; /* D_*: the descriptor whose size is wrong */
    int bad_size; /* SZ_*: how */
    int diff;     /* DIFF_*: the config's rootfs */
};

/* The "size" member of descriptor WHICH of a blob of SIZE bytes, as O wants it. */
static const char *size_member(char *buf, size_t n, long size, int which, const struct oci_opt *o)
{
    int bad = o->bad_desc == which ? o->bad_size : 0;
    if (bad == SZ_MISSING)
        (void)snprintf(buf, n, "\"nosize\":%ld", size);
    else if (bad == SZ_FRACTION)
        (void)snprintf(buf, n, "\"size\":%ld.5", size);
    else if (bad == SZ_STRING)
        (void)snprintf(buf, n, "\"size\":\"%ld\"", size);
    else
        (void)snprintf(buf, n, "\"size\":%ld",
                       bad == SZ_OFF        ? size + 1
                       : bad == SZ_NEGATIVE ? -size
                                            : size);
    return buf;
}
#define SIZE_OF(size, which) size_member((char[64]){0}, 64, size, which, o)

/* An OCI layout in LAYOUT (relative to dir), as O says. FIRST_LAYER_HEX gets the first layer's
 * digest. */
static void make_oci(const char *layout, const struct oci_opt *o, char *first_layer_hex)
{
    char hex[3][SHA256_HEX_LEN + 1], chex[SHA256_HEX_LEN + 1], mhex[SHA256_HEX_LEN + 1];
    char json[4096], rel[256];
    long size[3];
    static const char *files[] = {"L/1.tar", "L/2.tar.gz", "L/3.tar"};

    make_layers();
    mkd(layout);
    for (int i = 0; i < 3; i++)
        size[i] = add_blob(layout, files[i], hex[i]);
    memcpy(first_layer_hex, hex[0], SHA256_HEX_LEN + 1);
    long csize = add_json_blob(layout, config_json(o->diff), chex);
    (void)snprintf(
        json, sizeof json,
        "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\","
        "\"config\":{\"mediaType\":\"application/vnd.oci.image.config.v1+json\","
        "\"digest\":\"sha256:%s\",%s},\"layers\":["
        "{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar\",\"digest\":\"sha256:%s\","
        "%s},"
        "{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar+gzip\",\"digest\":\"sha256:%s\","
        "%s},"
        "{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar\",\"digest\":\"sha256:%s\","
        "%s}]}",
        chex, SIZE_OF(csize, D_CONFIG), hex[0], SIZE_OF(size[0], D_NONE), hex[1],
        SIZE_OF(size[1], D_LAYER2), hex[2], SIZE_OF(size[2], D_NONE));
    long msize = add_json_blob(layout, json, mhex);
    const char *mt = "application/vnd.oci.image.manifest.v1+json";
    if (o->nested) {
        (void)snprintf(json, sizeof json,
                       "{\"schemaVersion\":2,\"manifests\":["
                       "{\"mediaType\":\"%s\",\"digest\":\"sha256:%064d\",\"size\":1,"
                       "\"platform\":{\"architecture\":\"arm64\",\"os\":\"linux\"}},"
                       "{\"mediaType\":\"%s\",\"digest\":\"sha256:%s\",%s,"
                       "\"platform\":{\"architecture\":\"amd64\",\"os\":\"linux\"}}]}",
                       mt, 0, mt, mhex, SIZE_OF(msize, D_MANIFEST));
        msize = add_json_blob(layout, json, mhex);
        mt = "application/vnd.oci.image.index.v1+json";
    }
    (void)snprintf(json, sizeof json,
                   "{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":\"%s\","
                   "\"digest\":\"sha256:%s\",%s,\"annotations\":"
                   "{\"org.opencontainers.image.ref.name\":\"myapp:1.0\"}}]}",
                   mt, mhex, SIZE_OF(msize, o->nested ? D_INDEX : D_MANIFEST));
    (void)snprintf(rel, sizeof rel, "%s/index.json", layout);
    put(rel, json, strlen(json));
    (void)snprintf(rel, sizeof rel, "%s/oci-layout", layout);
    put(rel, "{\"imageLayoutVersion\":\"1.0.0\"}", 30);
}

/* Tar the files of the directory tree REL into the tar OUT (files only, names relative). */
static void tar_tree(struct archive *a, const char *rel, const char *prefix)
{
    char p[512];
    DIR *d = opendir(P(p, sizeof p, rel));
    if (!d)
        die("opendir");
    for (struct dirent *de; (de = readdir(d));) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
            continue;
        char sub[256], name[256];
        struct stat st;
        if (snprintf(sub, sizeof sub, "%s/%s", rel, de->d_name) >= (int)sizeof sub ||
            snprintf(name, sizeof name, "%s%s%s", prefix, *prefix ? "/" : "", de->d_name) >=
                (int)sizeof name)
            die("name too long");
        if (lstat(PATHOF(sub), &st) < 0)
            die("lstat");
        if (S_ISDIR(st.st_mode))
            tar_tree(a, sub, name);
        else
            tw_disk(a, name, sub);
    }
    closedir(d);
}

static void make_tar_of(const char *tree, const char *out)
{
    struct archive *a = tw_open(out, F_NONE);
    tar_tree(a, tree, "");
    tw_close(a);
}

static char *listing(const char *rel)
{
    static char buf[4096];
    char p[512];
    size_t n = 0;
    buf[0] = 0;
    DIR *d = opendir(P(p, sizeof p, rel));
    if (!d)
        return buf;
    /* readdir order is stable for an unchanged directory; names sorted would be nicer */
    for (struct dirent *de; (de = readdir(d));)
        n += (size_t)snprintf(buf + n, sizeof buf - n, "%s ", de->d_name);
    closedir(d);
    return buf;
}

static int count_entries(const char *rel)
{
    char p[512];
    int n = 0;
    DIR *d = opendir(P(p, sizeof p, rel));
    for (struct dirent *de; d && (de = readdir(d));)
        n += strcmp(de->d_name, ".") && strcmp(de->d_name, "..");
    if (d)
        closedir(d);
    return n;
}

static void check_image(const char *name, const char *what)
{
    char images[512], rel[256];
    struct storage_image_config cfg = {0};
    struct err e = {0};

    P(images, sizeof images, "images");
    ok(storage_image_load(images, name, &cfg, &e) == 0, "%s: config.json loads (%s)", what, e.msg);
    ok(cfg.cmd && !strcmp(cfg.cmd[0], "/bin/app") && cfg.cmd[1] && !strcmp(cfg.cmd[1], "--serve") &&
           cfg.env && !strcmp(cfg.env[1], "A=1") && cfg.workdir && !strcmp(cfg.workdir, "/srv") &&
           cfg.user && !strcmp(cfg.user, "app"),
       "%s: Cmd, Env, WorkingDir, User", what);
    ok(cfg.exposed && !strcmp(cfg.exposed[0], "8080/tcp") && !strcmp(cfg.exposed[1], "53/udp"),
       "%s: ExposedPorts", what);
    ok(cfg.healthcheck_json && strstr(cfg.healthcheck_json, "\"Test\":[\"CMD\",\"true\"]"),
       "%s: Healthcheck kept (%s)", what, cfg.healthcheck_json ? cfg.healthcheck_json : "null");
    ok(cfg.created_ns == 1704164645LL * 1000000000LL, "%s: created", what);
    /* the regular files left: etc/hosts "h2", rm/tree/deep, opq/upper, etc/motd "hello" */
    ok(cfg.size == 16, "%s: Size %llu recorded", what, (unsigned long long)cfg.size);
    storage_image_config_free(&cfg);
    (void)snprintf(rel, sizeof rel, "images/%s/rootfs", name);
    char r[512];
#define R(sub) (snprintf(r, sizeof r, "%s/%s", rel, sub), r)
    ok(content_is(R("etc/hosts"), "h2") && content_is(R("etc/motd"), "hello") &&
           content_is(R("rm/tree/deep"), "deep") && content_is(R("opq/upper"), "upper"),
       "%s: layers applied in order", what);
    ok(!has(R("rm/me")) && !has(R("opq/lower")) && !has(R("gone")) && !has(R("rm/.wh.me")),
       "%s: whiteouts and opaque directory applied", what);
    ok(has(R("bin/sh")), "%s: symlink", what);
#undef R
}

static int load(const char *src, const char *name, char *loaded, struct err *e)
{
    char images[512], s[512];
    memset(e, 0, sizeof *e);
    return storage_image_load_archive(P(images, sizeof images, "images"), P(s, sizeof s, src), name,
                                      loaded, 256, NULL, e);
}

static void test_load(void)
{
    struct err e = {0};
    char loaded[256], hex[SHA256_HEX_LEN + 1], rel[256];

    make_oci("oci", &(struct oci_opt){0}, hex);
    ok(load("oci", NULL, loaded, &e) == 0 && !strcmp(loaded, "myapp:1.0"),
       "OCI layout directory loads, named by ref.name (%s)", e.msg);
    check_image("myapp:1.0", "OCI dir");

    make_oci("oci2", &(struct oci_opt){.nested = 1}, hex);
    make_tar_of("oci2", "oci2.tar");
    ok(load("oci2.tar", "given", loaded, &e) == 0 && !strcmp(loaded, "given"),
       "OCI layout tar with an image index loads under the given name (%s)", e.msg);
    check_image("given", "OCI tar");

    /* docker save, old style: <id>/layer.tar, <hex>.json, RepoTags */
    char chex[SHA256_HEX_LEN + 1], json[1024];
    long size;
    make_layers();
    mkd("dock/aaa");
    mkd("dock/bbb");
    mkd("dock/ccc");
    if (rename(PATHOF("L/1.tar"), PATHOF("dock/aaa/layer.tar")) < 0 ||
        rename(PATHOF("L/2.tar.gz"), PATHOF("dock/bbb/layer.tar")) < 0 ||
        rename(PATHOF("L/3.tar"), PATHOF("dock/ccc/layer.tar")) < 0)
        die("rename layers");
    const char *cfg = config_json(DIFF_OK);
    put("tmp.json", cfg, strlen(cfg));
    hash_file("tmp.json", chex, &size);
    (void)snprintf(rel, sizeof rel, "dock/%s.json", chex);
    put(rel, cfg, strlen(cfg));
    (void)snprintf(json, sizeof json,
                   "[{\"Config\":\"%s.json\",\"RepoTags\":[\"dock:latest\"],\"Layers\":["
                   "\"aaa/layer.tar\",\"bbb/layer.tar\",\"ccc/layer.tar\"]}]",
                   chex);
    put("dock/manifest.json", json, strlen(json));
    make_tar_of("dock", "dock.tar");
    ok(load("dock.tar", NULL, loaded, &e) == 0 && !strcmp(loaded, "dock:latest"),
       "docker save tarball (a gzip layer, no digests: every diff_id computed) loads, named by "
       "RepoTags (%s)",
       e.msg);
    check_image("dock:latest", "docker save");
    cfg = config_json(DIFF_WRONG2);
    put("dock/bad.json", cfg, strlen(cfg)); /* a name without a digest */
    (void)snprintf(json, sizeof json,
                   "[{\"Config\":\"bad.json\",\"Layers\":["
                   "\"aaa/layer.tar\",\"bbb/layer.tar\",\"ccc/layer.tar\"]}]");
    put("dock/manifest.json", json, strlen(json));
    ok(load("dock", "dockbad", loaded, &e) < 0 && e.code == EINVAL &&
           strstr(e.msg, "layer 2 bbb/layer.tar: uncompressed content is sha256:"),
       "docker save with a wrong diff_id refused (%s)", e.msg);
    ok(!has("images/dockbad") && count_entries("images") == 3, "nothing left after it");
    struct stat st;
    if (stat(PATHOF("dock/bbb/layer.tar"), &st) < 0 ||
        truncate(PATHOF("dock/bbb/layer.tar"), st.st_size / 2) < 0)
        die("truncate");
    ok(load("dock", "dockbad", loaded, &e) < 0 && e.code == EIO && strstr(e.msg, "layer 2") &&
           strstr(e.msg, "truncated or corrupt"),
       "a truncated gzip layer whose diff_id is computed refused (%s)", e.msg);
    ok(!has("images/dockbad") && count_entries("images") == 3, "nothing left after it");

    /* loading again replaces the image */
    ok(load("oci", "given", loaded, &e) == 0, "load over an existing image (%s)", e.msg);
    check_image("given", "replaced");
    char *before = strdup(listing("images"));
    ok(count_entries("images") == 3, "only the three images under images_dir: %s", before);

    /* failures leave images_dir as it was */
    make_oci("bad1", &(struct oci_opt){0}, hex);
    (void)snprintf(rel, sizeof rel, "bad1/blobs/sha256/%s", hex);
    flip_byte(rel);
    ok(load("bad1", NULL, loaded, &e) < 0 && e.code == EINVAL && strstr(e.msg, "digest mismatch") &&
           strstr(e.msg, "layer 1 sha256:"),
       "a layer with a wrong digest refused (%s)", e.msg);
    ok(!strcmp(listing("images"), before), "nothing left after a digest mismatch");

    make_oci("bad2", &(struct oci_opt){0}, hex);
    (void)snprintf(rel, sizeof rel, "bad2/blobs/sha256/%s", hex);
    if (unlink(PATHOF(rel)) < 0)
        die("unlink");
    ok(load("bad2", NULL, loaded, &e) < 0 && e.code == ENOENT, "a missing blob refused (%s)",
       e.msg);
    ok(!strcmp(listing("images"), before), "nothing left after a missing blob");

    /* a fifo under a blob's name is refused, not opened for a writer that never comes */
    make_oci("bad3", &(struct oci_opt){0}, hex);
    (void)snprintf(rel, sizeof rel, "bad3/blobs/sha256/%s", hex);
    if (unlink(PATHOF(rel)) < 0 || mkfifo(PATHOF(rel), 0644) < 0)
        die("mkfifo");
    alarm(10);
    ok(load("bad3", NULL, loaded, &e) < 0 && e.code == EINVAL && strstr(e.msg, "not a file"),
       "a fifo as a layer blob refused (%s)", e.msg);
    alarm(0);
    ok(!strcmp(listing("images"), before), "nothing left after a fifo blob");

    /* every OCI descriptor's size is checked against its blob, and must be there */
    static const struct {
        int nested, desc, how;
        const char *what, *want;
    } sz[] = {
        {0, D_LAYER2, SZ_OFF, "a layer one byte longer", "layer 2 sha256:"},
        {0, D_CONFIG, SZ_OFF, "the config one byte longer", "config sha256:"},
        {0, D_MANIFEST, SZ_OFF, "the manifest one byte longer", "manifest sha256:"},
        {1, D_MANIFEST, SZ_OFF, "the manifest (of an image index) one byte longer",
         "manifest sha256:"},
        {1, D_INDEX, SZ_OFF, "the image index one byte longer", "image index sha256:"},
        {0, D_LAYER2, SZ_MISSING, "a layer without a size", "layer: descriptor has no valid size"},
        {0, D_CONFIG, SZ_MISSING, "the config without a size",
         "config: descriptor has no valid size"},
        {0, D_MANIFEST, SZ_MISSING, "the manifest without a size",
         "manifest: descriptor has no valid size"},
        {1, D_INDEX, SZ_MISSING, "the image index without a size",
         "image index: descriptor has no valid size"},
        {0, D_LAYER2, SZ_NEGATIVE, "a negative layer size", "descriptor has no valid size"},
        {0, D_LAYER2, SZ_FRACTION, "a fractional layer size", "descriptor has no valid size"},
        {0, D_CONFIG, SZ_STRING, "a config size as a string", "descriptor has no valid size"},
    };
    for (size_t i = 0; i < ARRAY_LEN(sz); i++) {
        char layout[32];
        (void)snprintf(layout, sizeof layout, "size%zu", i);
        make_oci(layout,
                 &(struct oci_opt){
                     .nested = sz[i].nested, .bad_desc = sz[i].desc, .bad_size = sz[i].how},
                 hex);
        int rc = load(layout, NULL, loaded, &e);
        ok(rc < 0 && e.code == EINVAL && strstr(e.msg, sz[i].want) &&
               (sz[i].how != SZ_OFF || strstr(e.msg, "size mismatch (descriptor says ")),
           "refused: %s (%s)", sz[i].what, e.msg);
    }
    ok(!strcmp(listing("images"), before), "nothing left after size errors");

    /* rootfs.diff_ids: the digests of the uncompressed layers, one per layer */
    static const struct {
        int diff;
        const char *what, *want;
    } dif[] = {
        {DIFF_WRONG2, "a gzip layer whose diff_id is wrong", "layer 2 sha256:"},
        {DIFF_WRONG1, "a plain layer whose digest is not its diff_id", "layer 1 sha256:"},
        {DIFF_SHORT, "two diff_ids for three layers",
         "config: rootfs.diff_ids has 2 entries for 3 layers"},
        {DIFF_BAD, "a diff_id that is no sha256", "config: rootfs.diff_ids[2]: unsupported digest"},
    };
    for (size_t i = 0; i < ARRAY_LEN(dif); i++) {
        char layout[32], want[128];
        (void)snprintf(layout, sizeof layout, "diff%zu", i);
        make_oci(layout, &(struct oci_opt){.diff = dif[i].diff}, hex);
        int rc = load(layout, NULL, loaded, &e);
        int n = dif[i].diff == DIFF_WRONG1 ? 0 : 1;
        (void)snprintf(
            want, sizeof want,
            "uncompressed content is sha256:%.12s..., config's diff_id is sha256:%.12s...",
            diff_id[n], diff_id[n ? 0 : 2]);
        ok(rc < 0 && e.code == EINVAL && strstr(e.msg, dif[i].want) &&
               (dif[i].diff > DIFF_WRONG2 || strstr(e.msg, want)),
           "refused: %s (%s)", dif[i].what, e.msg);
        ok(!strcmp(listing("images"), before), "nothing left after it");
    }
    make_oci("diffnone", &(struct oci_opt){.diff = DIFF_NONE}, hex);
    ok(load("diffnone", "nodiff", loaded, &e) == 0, "a config without rootfs.diff_ids loads (%s)",
       e.msg);
    ok(count_entries("images/nodiff/rootfs") > 0 &&
           storage_remove_tree(PATHOF("images/nodiff"), &e) == 0,
       "and has its layers");

    make_tar_of("oci", "trunc.tar");
    if (stat(PATHOF("trunc.tar"), &st) < 0 || truncate(PATHOF("trunc.tar"), st.st_size / 2) < 0)
        die("truncate");
    ok(load("trunc.tar", "t", loaded, &e) < 0 && strstr(e.msg, "truncated"),
       "a truncated outer tar refused (%s)", e.msg);
    ok(!strcmp(listing("images"), before), "nothing left after a truncated tar");

    mkd("big");
    size_t bigsz = IMAGE_JSON_MAX + 10;
    char *big = malloc(bigsz);
    memset(big, ' ', bigsz);
    memcpy(big, "[{\"Config\":\"c.json\",\"Layers\":[]}]", 33);
    put("big/manifest.json", big, bigsz);
    free(big);
    ok(load("big", "big", loaded, &e) < 0 && e.code == E2BIG, "a manifest over 1 MiB refused (%s)",
       e.msg);
    ok(!strcmp(listing("images"), before), "nothing left after an oversized manifest");

    mkd("noname");
    put("noname/manifest.json", "[{\"Config\":\"c.json\",\"Layers\":[]}]", 33);
    put("noname/c.json", "{}", 2);
    ok(load("noname", NULL, loaded, &e) < 0 && e.code == EINVAL && strstr(e.msg, "give a name"),
       "an archive without a name needs one (%s)", e.msg);
    ok(load("noname", "../evil", loaded, &e) < 0 && e.code == EINVAL, "an invalid name refused");
    ok(load("noname", "empty", loaded, &e) == 0, "an image of no layers loads (%s)", e.msg);
    ok(count_entries("images") == 4 && count_entries("images/empty/rootfs") == 0,
       "an empty rootfs");
    free(before);
}

static void test_import(void)
{
    struct err e = {0};
    char images[512], tarp[512];
    struct storage_image_config cfg = {0};

    P(images, sizeof images, "imp");
    struct archive *a = tw_open("rootfs.tar.gz", F_GZIP);
    tw_dir(a, "./", 0755);
    tw_file(a, "./bin/hello", 0755, "hi");
    tw_file(a, "./.wh.kept", 0644, "plain");
    tw_close(a);
    ok(storage_image_import_tar(images, "imp", P(tarp, sizeof tarp, "rootfs.tar.gz"), NULL, &e) ==
           0,
       "import a rootfs tar (%s)", e.msg);
    ok(content_is("imp/imp/rootfs/bin/hello", "hi") &&
           content_is("imp/imp/rootfs/.wh.kept", "plain"),
       "rootfs extracted, .wh. names as plain files");
    ok(storage_image_load(images, "imp", &cfg, &e) == 0 && cfg.cmd && !strcmp(cfg.cmd[0], "sh") &&
           cfg.env && !strncmp(cfg.env[0], "PATH=", 5) &&
           cfg.size == strlen("hi") + strlen("plain"),
       "default config, Size %llu", (unsigned long long)cfg.size);
    storage_image_config_free(&cfg);
    a = tw_open("evil.tar", F_NONE);
    tw_file(a, "ok", 0644, "ok");
    tw_file(a, "../escape", 0644, "x");
    tw_close(a);
    ok(storage_image_import_tar(images, "evil", P(tarp, sizeof tarp, "evil.tar"), NULL, &e) < 0 &&
           e.code == EINVAL && !has("imp/evil") && !has("escape") && count_entries("imp") == 1,
       "import refuses traversal and leaves nothing (%s)", e.msg);
    ok(storage_image_import_tar(images, ".x", tarp, NULL, &e) < 0 && e.code == EINVAL,
       "import checks the name");
}

/* ---- progress ---- */

#define MIB (1024 * 1024)

static struct {
    char what[32];
    uint64_t done, total;
} calls[512];
static int ncalls;

static void on_progress(void *ctx, const char *what, uint64_t done, uint64_t total)
{
    (void)ctx;
    if (ncalls < (int)ARRAY_LEN(calls)) {
        (void)snprintf(calls[ncalls].what, sizeof calls[ncalls].what, "%s", what);
        calls[ncalls].done = done;
        calls[ncalls].total = total;
    }
    ncalls++;
}

/* Check the recorded calls phase by phase: one TOTAL, DONE growing by at least 1 MiB a call
 * but for the last, which has DONE == TOTAL. PHASES gets the phase names, "name:calls" each,
 * and TOTALS the totals. Returns 1 when all is well. */
static int check_calls(char *phases, size_t size, uint64_t *totals, int max)
{
    size_t n = 0;
    int good = ncalls <= (int)ARRAY_LEN(calls), nph = 0;
    phases[0] = 0;
    for (int i = 0; i < ncalls && good;) {
        int j = i;
        while (j + 1 < ncalls && !strcmp(calls[j + 1].what, calls[i].what))
            j++;
        /* calls i..j are one phase */
        for (int k = i; k <= j; k++) {
            uint64_t prev = k == i ? 0 : calls[k - 1].done;
            good &= calls[k].total == calls[i].total;
            good &= k == j ? calls[k].done == calls[k].total
                           : calls[k].done < calls[k].total && calls[k].done - prev >= MIB;
        }
        if (nph < max)
            totals[nph] = calls[i].total;
        nph++;
        n += (size_t)snprintf(phases + n, size - n, "%s%s:%d", n ? " " : "", calls[i].what,
                              j - i + 1);
        i = j + 1;
    }
    return good;
}

static void test_progress(void)
{
    struct err e = {0};
    char images[512], src[512], phases[512], hex[SHA256_HEX_LEN + 1], rel[256];
    uint64_t totals[8] = {0};
    struct stat st, lst;
    const struct storage_progress prog = {on_progress, NULL};

    big_len = 5 * MIB;
    make_oci("prog", &(struct oci_opt){0}, hex);
    big_len = 0;
    make_tar_of("prog", "prog.tar");
    P(images, sizeof images, "pimages");
    ncalls = 0;
    ok(storage_image_load_archive(images, P(src, sizeof src, "prog.tar"), "p", src, 256, &prog,
                                  &e) == 0,
       "load with progress (%s)", e.msg);
    int good = check_calls(phases, sizeof phases, totals, (int)ARRAY_LEN(totals));
    ok(good, "done grows by 1 MiB or more in a phase and ends equal to total");
    struct storage_image_config cfg = {0};
    ok(storage_image_load(images, "p", &cfg, &e) == 0 && cfg.size == 16 + 5 * MIB,
       "Size of the big image (%llu)", (unsigned long long)cfg.size);
    storage_image_config_free(&cfg);
    ok(!strncmp(phases, "archive:", 8) && strstr(phases, " layer 1/3:1 layer 2/3:") &&
           strstr(phases, " layer 3/3:1") && !strstr(phases, "layer 2/3:1 "),
       "phases archive, layer 1/3 .. 3/3; several calls while the big layer is read: %s", phases);
    (void)snprintf(rel, sizeof rel, "prog/blobs/sha256/%s", hex);
    ok(stat(PATHOF("prog.tar"), &st) == 0 && totals[0] == (uint64_t)st.st_size &&
           stat(PATHOF(rel), &lst) == 0 && totals[1] == (uint64_t)lst.st_size,
       "totals are the sizes of the tar and of the layer blob");

    ncalls = 0;
    ok(storage_image_import_tar(images, "r", P(src, sizeof src, "L/2.tar"), &prog, &e) == 0,
       "import with progress (%s)", e.msg);
    good = check_calls(phases, sizeof phases, totals, (int)ARRAY_LEN(totals));
    ok(good && !strncmp(phases, "rootfs:", 7) && !strchr(phases, ' ') && ncalls > 2 &&
           stat(PATHOF("L/2.tar"), &st) == 0 && totals[0] == (uint64_t)st.st_size,
       "import: one phase \"rootfs\" of the tar's size, several calls: %s", phases);

    struct archive *a = tw_open("small.tar", F_NONE);
    tw_file(a, "f", 0644, "f");
    tw_close(a);
    ncalls = 0;
    ok(storage_image_import_tar(images, "r", P(src, sizeof src, "small.tar"), &prog, &e) == 0 &&
           ncalls == 1 && calls[0].done == calls[0].total && !strcmp(calls[0].what, "rootfs"),
       "a small import: one call, done == total (%d calls; %s)", ncalls, e.msg);
}

int main(void)
{
    struct err e = {0};

    (void)snprintf(dir, sizeof dir, "/tmp/test_archive.XXXXXX");
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    test_apply_basic();
    test_whiteouts();
    test_traversal();
    test_truncated();
    test_load();
    test_import();
    test_progress();
    ok(storage_remove_tree(dir, &e) == 0 && access(dir, F_OK) < 0, "test directory removed (%s)",
       e.msg);
    return done();
}
