/* SPDX-License-Identifier: MIT */
/* tests/unit/test_export.c - storage/export: diff kinds and order over lower/upper trees built
 * here (whiteouts as 0/0 character devices, opaque directories by xattr), and export's tar read
 * back with libarchive (names, types, modes, owners, links, whiteouts and opaque directories
 * applied, symlinks never followed), to a file, a non-blocking pipe and a pipe whose reader
 * goes away. Runs as root (mknod, chown, trusted xattrs); skips otherwise. */
#include "storage/export.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>

#include "core/err.h"
#include "core/util.h"
#include "tests/unit/tap.h"

static char dir[64];

static const char *P(char *buf, size_t size, const char *rel)
{
    (void)snprintf(buf, size, "%s/%s", dir, rel);
    return buf;
}
#define PATHOF(rel) P((char[512]){0}, 512, rel)

static void die(const char *what, const char *rel)
{
    fprintf(stderr, "test setup: %s '%s': %s\n", what, rel, strerror(errno));
    exit(1);
}

static void mkd(const char *rel, mode_t mode)
{
    if (mkdir(PATHOF(rel), mode) < 0)
        die("mkdir", rel);
}

static void put(const char *rel, const char *txt)
{
    int fd = open(PATHOF(rel), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    size_t len = strlen(txt);
    if (fd < 0 || write(fd, txt, len) != (ssize_t)len || close(fd) < 0)
        die("write", rel);
}

static void sym(const char *rel, const char *target)
{
    if (symlink(target, PATHOF(rel)) < 0)
        die("symlink", rel);
}

static void node(const char *rel, mode_t mode, dev_t dev)
{
    if (mknod(PATHOF(rel), mode, dev) < 0)
        die("mknod", rel);
}

static void whiteout(const char *rel)
{
    node(rel, S_IFCHR | 0, makedev(0, 0));
}

static int opaque(const char *rel, const char *key)
{
    return setxattr(PATHOF(rel), key, "y", 1, 0);
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)ftw;
    return flag == FTW_DP ? rmdir(path) : unlink(path);
}

/* ---- diff ---- */

struct changes {
    char txt[8192];
    size_t len;
    int n, fail_at;
};

static int collect(void *ctx, enum storage_change kind, const char *path, struct err *e)
{
    struct changes *c = ctx;
    if (++c->n == c->fail_at)
        return err_set(e, ECANCELED, "stop at '%s'", path);
    int n = snprintf(c->txt + c->len, sizeof c->txt - c->len, "%s%c %s", c->len ? "\n" : "",
                     "CAD"[kind], path);
    if (n > 0 && (size_t)n < sizeof c->txt - c->len)
        c->len += (size_t)n;
    return 0;
}

/* TXT as TAP diagnostics, when CHECK failed. */
static void diag(int check, const char *txt)
{
    for (const char *p = txt; !check && *p;) {
        const char *end = strchrnul(p, '\n');
        printf("#   %.*s\n", (int)(end - p), p);
        p = *end ? end + 1 : end;
    }
}

static const char *const *diff_ignore; /* the mount points storage_diff skips */

static int diff(const char *lower, const char *upper, struct changes *c, struct err *e)
{
    char l[512], u[512];
    memset(e, 0, sizeof *e);
    c->len = 0;
    c->n = 0;
    c->txt[0] = '\0';
    return storage_diff(P(l, sizeof l, lower), P(u, sizeof u, upper), diff_ignore, collect, c, e);
}

/* ---- reading a tar back ---- */

struct ent {
    char name[128];
    mode_t mode;
    uid_t uid;
    gid_t gid;
    time_t mtime;
    dev_t rdev;
    char sym[128];
    char hard[128];
    long long size;
    char data[64];
};

static struct ent ents[128];
static int nents;
static char names[4096];

static int read_tar(const char *path)
{
    struct archive *a = archive_read_new();
    struct archive_entry *ae;
    int rc;

    nents = 0;
    names[0] = '\0';
    archive_read_support_format_tar(a);
    if (archive_read_open_filename(a, path, 10240) != ARCHIVE_OK) {
        archive_read_free(a);
        return -1;
    }
    while ((rc = archive_read_next_header(a, &ae)) == ARCHIVE_OK && nents < (int)ARRAY_LEN(ents)) {
        struct ent *t = &ents[nents++];
        memset(t, 0, sizeof *t);
        (void)snprintf(t->name, sizeof t->name, "%s", archive_entry_pathname(ae));
        t->mode = archive_entry_mode(ae);
        t->uid = (uid_t)archive_entry_uid(ae);
        t->gid = (gid_t)archive_entry_gid(ae);
        t->mtime = archive_entry_mtime(ae);
        t->rdev = archive_entry_rdev(ae);
        if (archive_entry_symlink(ae))
            (void)snprintf(t->sym, sizeof t->sym, "%s", archive_entry_symlink(ae));
        if (archive_entry_hardlink(ae))
            (void)snprintf(t->hard, sizeof t->hard, "%s", archive_entry_hardlink(ae));
        t->size = archive_entry_size(ae);
        la_ssize_t n = archive_read_data(a, t->data, sizeof t->data - 1);
        t->data[n > 0 ? n : 0] = '\0';
        size_t len = strlen(names);
        (void)snprintf(names + len, sizeof names - len, "%s%s", len ? " " : "", t->name);
    }
    archive_read_free(a);
    return rc == ARCHIVE_EOF ? 0 : -1;
}

static const struct ent *find(const char *name)
{
    for (int i = 0; i < nents; i++)
        if (strcmp(ents[i].name, name) == 0)
            return &ents[i];
    return NULL;
}

/* 1 when the file REL ends with the two zero blocks that end a tar. */
static int has_tar_end(const char *rel)
{
    char buf[1024];
    int fd = open(PATHOF(rel), O_RDONLY | O_CLOEXEC);
    off_t end = fd >= 0 ? lseek(fd, 0, SEEK_END) : -1;
    int zero = end >= (off_t)sizeof buf &&
               pread(fd, buf, sizeof buf, end - (off_t)sizeof buf) == (ssize_t)sizeof buf;
    for (size_t i = 0; zero && i < sizeof buf; i++)
        zero = buf[i] == 0;
    if (fd >= 0)
        (void)close(fd);
    return zero;
}

static int export_file(const char *lower, const char *upper, const char *out, struct err *e)
{
    char l[512], u[512];
    memset(e, 0, sizeof *e);
    int fd = open(PATHOF(out), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        die("open", out);
    int rc = storage_export(P(l, sizeof l, lower), P(u, sizeof u, upper), fd, e);
    (void)close(fd);
    return rc;
}

/* ---- the main fixture: no opaque directories ---- */

static void build_main(void)
{
    mkd("L", 0755);
    mkd("L/bin", 0755);
    put("L/bin/ash", "busybox");
    if (link(PATHOF("L/bin/ash"), PATHOF("L/bin/sh")) < 0)
        die("link", "L/bin/sh");
    mkd("L/dev", 0755);
    node("L/dev/null", S_IFCHR | 0666, makedev(1, 3));
    node("L/dev/fifo", S_IFIFO | 0640, 0);
    mkd("L/etc", 0755);
    put("L/etc/passwd", "root:x:0:0\n");
    put("L/etc/gone", "bye");
    put("L/etc/hosts", "127.0.0.1\n");
    mkd("L/var", 0755);
    mkd("L/var/old", 0755);
    put("L/var/old/f", "old");
    mkd("L/keep", 0755);
    put("L/keep/k", "k");
    put("L/f2d", "file");
    mkd("L/d2f", 0755);
    put("L/d2f/child", "c");

    mkd("U", 0755);
    mkd("U/etc", 0755);
    put("U/etc/passwd", "root:x:0:0\nme:x:1000:1000\n");
    /* chown first: it clears the set-id bits */
    if (chown(PATHOF("U/etc/passwd"), 1234, 5678) < 0 || chmod(PATHOF("U/etc/passwd"), 04751) < 0 ||
        utimensat(AT_FDCWD, PATHOF("U/etc/passwd"),
                  (struct timespec[2]){{1000000000, 5}, {1000000000, 123456789}}, 0) < 0)
        die("set meta", "U/etc/passwd");
    whiteout("U/etc/gone");
    put("U/etc/new", "new");
    mkd("U/var", 0755);
    whiteout("U/var/old");
    sym("U/keep", "/etc");
    sym("U/etcl", "/etc");
    mkd("U/f2d", 0700);
    put("U/f2d/in", "in");
    put("U/d2f", "now a file");
    mkd("U/run", 0755);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    (void)snprintf(sa.sun_path, sizeof sa.sun_path, "%s", PATHOF("U/run/sock"));
    int sfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (sfd < 0 || bind(sfd, (struct sockaddr *)&sa, sizeof sa) < 0)
        die("bind", "U/run/sock");
    (void)close(sfd);
    mkd("U/new", 0755);
    mkd("U/new/deep", 0755);
    put("U/new/deep/file", "deep");
    mkd("U/a", 0755);
    put("U/a/x", "x");
    put("U/a-b", "ab");
}

static void test_diff_main(void)
{
    struct err e;
    struct changes c = {0};

    ok(diff("L", "U", &c, &e) == 0, "diff of the main fixture (%s)", e.msg);
    const char *want = "A /a\n"
                       "A /a/x\n"
                       "A /a-b\n"
                       "C /d2f\n"
                       "C /etc\n"
                       "D /etc/gone\n"
                       "A /etc/new\n"
                       "C /etc/passwd\n"
                       "A /etcl\n"
                       "C /f2d\n"
                       "A /f2d/in\n"
                       "C /keep\n"
                       "A /new\n"
                       "A /new/deep\n"
                       "A /new/deep/file\n"
                       "A /run\n"
                       "A /run/sock\n"
                       "C /var\n"
                       "D /var/old";
    ok(strcmp(c.txt, want) == 0, "kinds, in depth-first bytewise order");
    diag(strcmp(c.txt, want) == 0, c.txt);

    ok(diff("L", "nothing", &c, &e) == 0 && c.n == 0, "a missing upper dir has no changes (%s)",
       e.msg);
    ok(diff("nothing", "U", &c, &e) < 0 && e.code == ENOENT && strstr(e.msg, "is missing"),
       "a missing image rootfs is ENOENT (%s)", e.msg);
    c.fail_at = 3;
    ok(diff("L", "U", &c, &e) < 0 && e.code == ECANCELED && c.n == 3 && strstr(e.msg, "/a-b"),
       "emit failing stops the walk with its error (%s)", e.msg);
    c.fail_at = 0;
}

/* Directories copied up only because something was created in them, and the engine's mount
 * points. */
static void test_diff_quiet(void)
{
    static const char *const mounts[] = {"/etc/hosts", "/etc/resolv.conf", "/mnt/vol", NULL};
    struct err e;
    struct changes c = {0};

    mkd("QL", 0755);
    mkd("QL/etc", 0755);
    put("QL/etc/hostname", "x");
    mkd("QL/mnt", 0755);
    mkd("QL/srv", 0755);
    mkd("QL/home", 0755);
    mkd("QU", 0755);
    mkd("QU/etc", 0755);
    put("QU/etc/hosts", "");
    put("QU/etc/resolv.conf", "");
    mkd("QU/mnt", 0755);
    mkd("QU/mnt/vol", 0755);
    mkd("QU/srv", 0755);  /* copied up, nothing beneath */
    mkd("QU/home", 0700); /* chmod'ed */

    diff_ignore = mounts;
    ok(diff("QL", "QU", &c, &e) == 0 && strcmp(c.txt, "C /home") == 0,
       "mount points and the directories copied up for them are no changes (%s)", e.msg);
    diag(strcmp(c.txt, "C /home") == 0, c.txt);
    put("QU/etc/resolv.conf", "nameserver 1.1.1.1\n");
    put("QU/mnt/vol/f", "under the mount");
    const char *want = "C /etc\nA /etc/resolv.conf\nC /home";
    ok(diff("QL", "QU", &c, &e) == 0 && strcmp(c.txt, want) == 0,
       "an ignored file that is not empty is listed, after its parent; an ignored directory "
       "hides what it holds (%s)",
       e.msg);
    diag(strcmp(c.txt, want) == 0, c.txt);
    diff_ignore = NULL;
    ok(diff("QL", "QU", &c, &e) == 0 && strncmp(c.txt, "C /etc\nA /etc/hosts\n", 20) == 0,
       "without IGNORE the mount points are listed (%s)", e.msg);
}

static void test_export_main(void)
{
    struct err e;
    const struct ent *t, *t2;

    ok(export_file("L", "U", "main.tar", &e) == 0, "export the main fixture (%s)", e.msg);
    ok(read_tar(PATHOF("main.tar")) == 0 && has_tar_end("main.tar"), "the tar reads back whole");
    ok(strcmp(names, "a/ a/x a-b bin/ bin/ash bin/sh d2f dev/ dev/fifo dev/null etc/ etc/hosts "
                     "etc/new etc/passwd etcl f2d/ f2d/in keep new/ new/deep/ new/deep/file run/ "
                     "var/") == 0,
       "names as docker export writes them, in path order: %s", names);
    t = find("etc/passwd");
    ok(t && S_ISREG(t->mode) && strcmp(t->data, "root:x:0:0\nme:x:1000:1000\n") == 0 &&
           t->size == 26,
       "a modified file has upper's content");
    ok(t && (t->mode & 07777) == 04751 && t->uid == 1234 && t->gid == 5678 &&
           t->mtime == 1000000000,
       "mode, numeric owner and whole-second mtime kept");
    ok(!find("etc/gone") && !find("var/old/") && !find("var/old/f"),
       "whiteouts hide lower files and trees");
    t = find("etc/hosts");
    ok(t && strcmp(t->data, "127.0.0.1\n") == 0, "lower files show through");
    t = find("bin/ash");
    t2 = find("bin/sh");
    ok(t && S_ISREG(t->mode) && strcmp(t->data, "busybox") == 0 && t2 &&
           strcmp(t2->hard, "bin/ash") == 0 && t2->size == 0,
       "the second name of a linked file is a hard link to the first");
    t = find("keep");
    t2 = find("etcl");
    ok(t && S_ISLNK(t->mode) && strcmp(t->sym, "/etc") == 0 && t2 && S_ISLNK(t2->mode) &&
           strcmp(t2->sym, "/etc") == 0 && !find("keep/k") && !find("keep/passwd") &&
           !find("etcl/passwd"),
       "symlinks to /etc written as symlinks and never followed");
    t = find("f2d/");
    ok(t && S_ISDIR(t->mode) && (t->mode & 07777) == 0700 && find("f2d/in"),
       "a file replaced by a directory");
    t = find("d2f");
    ok(t && S_ISREG(t->mode) && strcmp(t->data, "now a file") == 0 && !find("d2f/child"),
       "a directory replaced by a file");
    t = find("dev/null");
    t2 = find("dev/fifo");
    ok(t && S_ISCHR(t->mode) && t->rdev == makedev(1, 3) && t2 && S_ISFIFO(t2->mode) &&
           (t2->mode & 0777) == 0640,
       "device node and fifo");
    ok(find("run/") && !find("run/sock"), "sockets skipped");
    int wh = 0;
    for (int i = 0; i < nents; i++)
        wh += S_ISCHR(ents[i].mode) && ents[i].rdev == makedev(0, 0);
    ok(wh == 0, "no whiteout written");

    ok(export_file("L", "nothing", "lower.tar", &e) == 0 && read_tar(PATHOF("lower.tar")) == 0 &&
           strcmp(names, "bin/ bin/ash bin/sh d2f/ d2f/child dev/ dev/fifo dev/null etc/ "
                         "etc/gone etc/hosts etc/passwd f2d keep/ keep/k var/ var/old/ "
                         "var/old/f") == 0,
       "a missing upper dir exports the image rootfs (%s): %s", e.msg, names);
    ok(export_file("nothing", "U", "none.tar", &e) < 0 && e.code == ENOENT &&
           strstr(e.msg, "is missing"),
       "export of a missing image rootfs is ENOENT (%s)", e.msg);
}

/* ---- opaque directories ---- */

static void test_opaque(void)
{
    struct err e;
    struct changes c = {0};

    mkd("OL", 0755);
    mkd("OL/opt", 0755);
    mkd("OL/opt/d", 0755);
    put("OL/opt/d/a", "lower a");
    mkd("OL/opt/d/b", 0755);
    put("OL/opt/d/b/inner", "i");
    mkd("OL/opt/d/sub", 0755);
    put("OL/opt/d/sub/x", "x");
    mkd("OL/srv", 0755);
    put("OL/srv/keep", "keep");
    mkd("OL/srv/u", 0755);
    put("OL/srv/u/p", "p");
    put("OL/srv/u/q", "q");

    mkd("OU", 0755);
    mkd("OU/opt", 0755);
    mkd("OU/opt/d", 0755);
    put("OU/opt/d/a", "upper a");
    put("OU/opt/d/c", "c");
    mkd("OU/opt/d/sub", 0755);
    put("OU/opt/d/sub/y", "y");
    mkd("OU/srv", 0755);
    mkd("OU/srv/u", 0755);
    if (opaque("OU/opt/d", "trusted.overlay.opaque") < 0 ||
        opaque("OU/srv/u", "user.overlay.opaque") < 0) {
        printf("ok %d - # SKIP opaque directories: no xattrs here (%s)\n", ++tap_n,
               strerror(errno));
        return;
    }
    int rc = diff("OL", "OU", &c, &e);
    const char *want = "C /opt\n"
                       "C /opt/d\n"
                       "C /opt/d/a\n"
                       "D /opt/d/b\n"
                       "A /opt/d/c\n"
                       "C /opt/d/sub\n"
                       "D /opt/d/sub/x\n"
                       "A /opt/d/sub/y\n"
                       "C /srv\n"
                       "C /srv/u\n"
                       "D /srv/u/p\n"
                       "D /srv/u/q";
    ok(rc == 0 && strcmp(c.txt, want) == 0,
       "opaque directories (trusted. and user.): what lower held is deleted, top level only "
       "(%s)",
       e.msg);
    diag(strcmp(c.txt, want) == 0, c.txt);
    ok(export_file("OL", "OU", "opaque.tar", &e) == 0 && read_tar(PATHOF("opaque.tar")) == 0 &&
           strcmp(names, "opt/ opt/d/ opt/d/a opt/d/c opt/d/sub/ opt/d/sub/y srv/ srv/keep "
                         "srv/u/") == 0,
       "export: opaque directories hide lower children (%s): %s", e.msg, names);
    const struct ent *t = find("opt/d/a");
    ok(t && strcmp(t->data, "upper a") == 0, "upper's file in an opaque directory");
}

/* ---- limits ---- */

static void nest(const char *rel, int levels)
{
    mkd(rel, 0755);
    int fd = open(PATHOF(rel), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    for (int i = 0; fd >= 0 && i < levels; i++) {
        if (mkdirat(fd, "d", 0755) < 0)
            die("mkdirat", rel);
        int sub = openat(fd, "d", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        (void)close(fd);
        fd = sub;
    }
    if (fd < 0)
        die("nest", rel);
    (void)close(fd);
}

static void test_depth(void)
{
    struct err e;
    struct changes c = {0};

    nest("DL", 0);
    nest("D200", 200);
    nest("D300", 300);
    ok(diff("DL", "D200", &c, &e) == 0 && c.n == 200, "diff 200 levels deep (%s)", e.msg);
    ok(diff("DL", "D300", &c, &e) < 0 && e.code == ELOOP, "diff 300 levels deep: ELOOP (%s)",
       e.msg);
    ok(export_file("DL", "D200", "d200.tar", &e) == 0, "export 200 levels deep (%s)", e.msg);
    struct stat st;
    ok(export_file("DL", "D300", "d300.tar", &e) < 0 && e.code == ELOOP &&
           stat(PATHOF("d300.tar"), &st) == 0 && st.st_size > 0 && !has_tar_end("d300.tar"),
       "export 300 levels deep: ELOOP, and no end-of-archive blocks written (%s)", e.msg);
}

/* ---- pipes ---- */

static void build_big(void)
{
    mkd("BL", 0755);
    int fd = open(PATHOF("BL/big"), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    static char block[65536];
    memset(block, 'z', sizeof block);
    for (int i = 0; fd >= 0 && i < 64; i++)
        if (write(fd, block, sizeof block) != (ssize_t)sizeof block)
            die("write", "BL/big");
    if (fd < 0 || close(fd) < 0)
        die("write", "BL/big");
    put("BL/small", "small");
}

static void test_pipes(void)
{
    struct err e = {0};
    int p[2];
    char l[512], u[512];

    P(l, sizeof l, "BL");
    P(u, sizeof u, "none");

    /* the reader takes a little, then goes away */
    if (pipe2(p, O_CLOEXEC) < 0)
        die("pipe", "");
    pid_t pid = fork();
    if (pid == 0) {
        char buf[1000];
        (void)close(p[1]);
        _exit(read(p[0], buf, sizeof buf) > 0 ? 0 : 1);
    }
    (void)close(p[0]);
    int rc = storage_export(l, u, p[1], &e);
    (void)close(p[1]);
    (void)waitpid(pid, NULL, 0);
    ok(rc < 0 && e.code == EPIPE, "a reader that goes away: EPIPE (%s)", e.msg);

    /* no reader at all */
    if (pipe2(p, O_CLOEXEC) < 0)
        die("pipe", "");
    (void)close(p[0]);
    memset(&e, 0, sizeof e);
    rc = storage_export(l, u, p[1], &e);
    (void)close(p[1]);
    ok(rc < 0 && e.code == EPIPE, "no reader: EPIPE (%s)", e.msg);

    /* a non-blocking pipe to a slow reader that saves it all */
    if (pipe2(p, O_CLOEXEC) < 0 || fcntl(p[1], F_SETFL, O_NONBLOCK) < 0)
        die("pipe", "");
    pid = fork();
    if (pid == 0) {
        char buf[4096];
        ssize_t n;
        (void)close(p[1]);
        int fd = open(PATHOF("pipe.tar"), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        usleep(100 * 1000);
        while ((n = read(p[0], buf, sizeof buf)) > 0)
            if (write(fd, buf, (size_t)n) != n)
                _exit(1);
        _exit(n == 0 && close(fd) == 0 ? 0 : 1);
    }
    (void)close(p[0]);
    memset(&e, 0, sizeof e);
    rc = storage_export(l, u, p[1], &e);
    (void)close(p[1]);
    int status = -1;
    (void)waitpid(pid, &status, 0);
    const struct ent *t = NULL;
    ok(rc == 0 && status == 0 && read_tar(PATHOF("pipe.tar")) == 0 && (t = find("big")) &&
           t->size == 64 * 65536 && find("small") && nents == 2,
       "a non-blocking pipe: the whole tar arrives (%s)", e.msg);
}

int main(void)
{
    if (geteuid() != 0) {
        printf("1..0 # SKIP needs root\n");
        return 77;
    }
    umask(0);
    (void)signal(SIGPIPE, SIG_IGN);
    (void)snprintf(dir, sizeof dir, "/tmp/test_export.XXXXXX");
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    build_main();
    test_diff_main();
    test_diff_quiet();
    test_export_main();
    test_opaque();
    test_depth();
    build_big();
    test_pipes();
    ok(nftw(dir, rm_one, 64, FTW_DEPTH | FTW_PHYS) == 0, "test directory removed");
    return done();
}
