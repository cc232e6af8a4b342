/* SPDX-License-Identifier: MIT */
/* tests/unit/test_image.c - storage/image: config save/load round trip and validation,
 * import of a directory (symlink, hard link, fifo, modes, times, atomic replace), tree size
 * and rm -rf that neither follows symlinks nor leaves anything behind. */
#include "storage/image.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/err.h"
#include "core/limits.h"
#include "core/util.h"
#include "tests/unit/tap.h"

static char dir[64];

static const char *path_of(char *buf, size_t size, const char *rel)
{
    (void)snprintf(buf, size, "%s/%s", dir, rel);
    return buf;
}

static void put(const char *rel, const char *txt)
{
    char p[512];
    struct err e = {0};
    path_of(p, sizeof p, rel);
    if (util_write_atomic(p, txt, strlen(txt), &e) < 0) {
        fprintf(stderr, "write %s: %s\n", p, e.msg);
        exit(1);
    }
}

static void mkd(const char *rel)
{
    char p[512];
    struct err e = {0};
    if (util_mkdir_p(path_of(p, sizeof p, rel), 0755, &e) < 0) {
        fprintf(stderr, "%s\n", e.msg);
        exit(1);
    }
}

static int load(const char *name, const char *json, struct storage_image_config *cfg, struct err *e)
{
    char rel[128];
    (void)snprintf(rel, sizeof rel, "images/%s", name);
    mkd(rel);
    (void)snprintf(rel, sizeof rel, "images/%s/config.json", name);
    put(rel, json);
    char images[256];
    memset(e, 0, sizeof *e);
    return storage_image_load(path_of(images, sizeof images, "images"), name, cfg, e);
}

static void test_config(void)
{
    struct storage_image_config cfg = {0}, back = {0};
    struct err e = {0};
    char p[256], images[256];
    char *cmd[] = {"sh", "-c", "echo \"hi\" \\ there", NULL};
    char *env[] = {"PATH=/bin", "A=b=c", NULL};
    char *exposed[] = {"80/tcp", "53/udp", NULL};

    path_of(images, sizeof images, "images");
    cfg.cmd = cmd;
    cfg.env = env;
    cfg.workdir = "/work dir";
    cfg.user = "berth:extra";
    cfg.stop_signal = "SIGUSR1";
    cfg.created_ns = 1700000000123456789LL;
    cfg.size = 9007199254740992ULL; /* 2^53, the largest exact */
    cfg.exposed = exposed;
    cfg.healthcheck_json = "{\"Test\":[\"CMD\",\"true\"],\"Interval\":30000000000}";
    mkd("images/rt");
    ok(storage_image_save(path_of(p, sizeof p, "images/rt"), &cfg, &e) == 0, "save (%s)", e.msg);
    ok(storage_image_load(images, "rt", &back, &e) == 0, "load what was saved (%s)", e.msg);
    ok(back.cmd && strcmp(back.cmd[0], "sh") == 0 && strcmp(back.cmd[2], cmd[2]) == 0 &&
           !back.cmd[3],
       "Cmd round trip");
    ok(back.env && strcmp(back.env[1], "A=b=c") == 0 && !back.env[2], "Env round trip");
    ok(!back.entrypoint, "absent Entrypoint stays NULL");
    ok(back.workdir && strcmp(back.workdir, "/work dir") == 0 && back.user &&
           strcmp(back.user, "berth:extra") == 0 && back.stop_signal &&
           strcmp(back.stop_signal, "SIGUSR1") == 0,
       "WorkingDir, User, StopSignal round trip");
    ok(back.created_ns == cfg.created_ns, "Created round trip to the nanosecond");
    ok(back.size == cfg.size, "Size round trip (%llu)", (unsigned long long)back.size);
    ok(back.exposed && strcmp(back.exposed[0], "80/tcp") == 0 &&
           strcmp(back.exposed[1], "53/udp") == 0 && !back.exposed[2],
       "ExposedPorts round trip");
    ok(back.healthcheck_json && strcmp(back.healthcheck_json, cfg.healthcheck_json) == 0,
       "Healthcheck round trip (%s)", back.healthcheck_json ? back.healthcheck_json : "null");
    storage_image_config_free(&back);
    ok(!back.cmd && !back.user, "config_free clears the struct");
    storage_image_config_free(&back);

    ok(load("empty", "{}", &back, &e) == 0 && !back.cmd && !back.env && !back.workdir &&
           back.created_ns == 0 && back.size == 0,
       "all fields missing is fine (%s)", e.msg);
    storage_image_config_free(&back);
    ok(load("nulls", "{\"Cmd\":null,\"User\":null,\"Created\":null,\"Size\":null,\"Other\":[1]}",
            &back, &e) == 0 &&
           !back.cmd && !back.user && back.size == 0,
       "null fields and unknown keys are fine");
    storage_image_config_free(&back);
    ok(load("bb", "{\"Cmd\":[\"sh\"],\"WorkingDir\":\"\",\"User\":\"\"}", &back, &e) == 0 &&
           back.workdir && !*back.workdir,
       "the busybox config loads; empty strings kept");
    storage_image_config_free(&back);
    ok(load("oci",
            "{\"created\":\"2024-01-02T03:04:05Z\",\"config\":{\"Cmd\":[\"/bin/ls\"],"
            "\"Env\":[\"X=1\"]}}",
            &back, &e) == 0 &&
           back.cmd && strcmp(back.cmd[0], "/bin/ls") == 0 &&
           back.created_ns == 1704164645LL * 1000000000LL,
       "OCI image config shape accepted (%s)", e.msg);
    storage_image_config_free(&back);
    ok(load("exp",
            "{\"config\":{\"ExposedPorts\":{\"8080\":{},\"9000/udp\":{},"
            "\"65535/tcp\":{}}}}",
            &back, &e) == 0 &&
           back.exposed && strcmp(back.exposed[0], "8080/tcp") == 0 &&
           strcmp(back.exposed[1], "9000/udp") == 0 && strcmp(back.exposed[2], "65535/tcp") == 0,
       "ExposedPorts: a bare port means tcp (%s)", e.msg);
    storage_image_config_free(&back);
    {
        char buf[16];
        static const char *bad_ports[] = {"0",  "65536", "080",   "80/sctp", "80/",   "/tcp",   "",
                                          "8o", "-1",    "80:81", "123456",  "80/tc", "80/tcpx"};
        for (size_t i = 0; i < ARRAY_LEN(bad_ports); i++)
            ok(storage_exposed_port(bad_ports[i], buf, sizeof buf, &e) < 0 && e.code == EINVAL,
               "exposed port \"%s\" refused", bad_ports[i]);
        ok(storage_exposed_port("1/udp", buf, sizeof buf, &e) == 0 && strcmp(buf, "1/udp") == 0,
           "exposed port 1/udp");
    }

    static const struct {
        const char *json, *what;
    } bad[] = {
        {"{\"ExposedPorts\":[\"80\"]}", "ExposedPorts as an array"},
        {"{\"ExposedPorts\":{\"http\":{}}}", "ExposedPorts with a name"},
        {"{\"Cmd\":\"sh\"}", "Cmd as a string"},
        {"{\"Healthcheck\":[\"CMD\"]}", "Healthcheck as an array"},
        {"{\"Cmd\":[\"sh\",1]}", "Cmd with a number"},
        {"{\"Env\":[\"NOEQUALS\"]}", "Env without ="},
        {"{\"Env\":{}}", "Env as an object"},
        {"{\"WorkingDir\":5}", "WorkingDir as a number"},
        {"{\"User\":[]}", "User as an array"},
        {"{\"StopSignal\":true}", "StopSignal as a bool"},
        {"{\"Created\":\"yesterday\"}", "Created not RFC 3339"},
        {"{\"Created\":\"10s\"}", "Created as a duration"},
        {"{\"Created\":12}", "Created as a number"},
        {"{\"Size\":-1}", "Size negative"},
        {"{\"Size\":1.5}", "Size not an integer"},
        {"{\"Size\":\"10\"}", "Size as a string"},
        {"{\"Size\":1e300}", "Size beyond 2^53"},
        {"[1,2]", "root not an object"},
        {"{\"Cmd\":[\"sh\"", "truncated JSON"},
        {"", "empty file"},
    };
    for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
        int rc = load("bad", bad[i].json, &back, &e);
        ok(rc < 0 && e.code == EINVAL && !back.cmd, "rejected: %s (%s)", bad[i].what, e.msg);
        storage_image_config_free(&back);
    }

    /* limits: IMAGE_CFG_ARGS_MAX entries, CTR_STR_MAX string length, 1 MiB file */
    size_t cap = 2 * 1024 * 1024;
    auto_free char *big = malloc(cap);
    size_t n = (size_t)snprintf(big, cap, "{\"Cmd\":[");
    for (int i = 0; i < IMAGE_CFG_ARGS_MAX; i++)
        n += (size_t)snprintf(big + n, cap - n, "%s\"a\"", i ? "," : "");
    (void)snprintf(big + n, cap - n, "]}");
    ok(load("lim", big, &back, &e) == 0 && back.cmd && back.cmd[IMAGE_CFG_ARGS_MAX - 1] &&
           !back.cmd[IMAGE_CFG_ARGS_MAX],
       "exactly IMAGE_CFG_ARGS_MAX args load (%s)", e.msg);
    storage_image_config_free(&back);
    (void)snprintf(big + n, cap - n, ",\"b\"]}");
    ok(load("lim", big, &back, &e) < 0 && e.code == E2BIG,
       "IMAGE_CFG_ARGS_MAX + 1 args rejected (%s)", e.msg);
    n = (size_t)snprintf(big, cap, "{\"User\":\"");
    memset(big + n, 'u', CTR_STR_MAX - 1);
    (void)snprintf(big + n + CTR_STR_MAX - 1, cap - n - CTR_STR_MAX + 1, "\"}");
    ok(load("lim", big, &back, &e) == 0 && back.user && strlen(back.user) == CTR_STR_MAX - 1,
       "a string of CTR_STR_MAX - 1 loads");
    storage_image_config_free(&back);
    (void)snprintf(big + n + CTR_STR_MAX - 1, cap - n - CTR_STR_MAX + 1, "u\"}");
    ok(load("lim", big, &back, &e) < 0 && e.code == E2BIG, "a string of CTR_STR_MAX rejected");
    n = (size_t)snprintf(big, cap, "{\"x\":\"");
    memset(big + n, ' ', 1024 * 1024);
    (void)snprintf(big + n + 1024 * 1024, cap - n - 1024 * 1024, "\"}");
    ok(load("lim", big, &back, &e) < 0 && e.code == EFBIG, "a config over 1 MiB rejected (%s)",
       e.msg);

    char *many[IMAGE_CFG_ARGS_MAX + 2];
    for (int i = 0; i <= IMAGE_CFG_ARGS_MAX; i++)
        many[i] = "x";
    many[IMAGE_CFG_ARGS_MAX + 1] = NULL;
    struct storage_image_config over = {.cmd = many};
    ok(storage_image_save(path_of(p, sizeof p, "images/lim"), &over, &e) < 0 && e.code == E2BIG,
       "save refuses what load would reject");
    struct storage_image_config huge = {.size = (1ULL << 53) + 1};
    ok(storage_image_save(path_of(p, sizeof p, "images/lim"), &huge, &e) < 0 && e.code == E2BIG,
       "save refuses a Size over 2^53 (%s)", e.msg);

    ok(storage_image_load(images, "nosuch", &back, &e) < 0 && e.code == ENOENT &&
           strstr(e.msg, "no such image: nosuch") == e.msg,
       "missing image: ENOENT 'no such image' (%s)", e.msg);
    ok(storage_image_load(images, "../images/rt", &back, &e) < 0 && e.code == ENOENT,
       "a name with a slash is no image");
    mkd("images/noconfig");
    ok(storage_image_load(images, "noconfig", &back, &e) < 0 && e.code == ENOENT,
       "an image without config.json fails with ENOENT");
}

static int same_stat(const char *a, const char *b, int times)
{
    struct stat sa, sb;
    if (lstat(a, &sa) < 0 || lstat(b, &sb) < 0)
        return 0;
    if (sa.st_mode != sb.st_mode || sa.st_uid != sb.st_uid || sa.st_gid != sb.st_gid)
        return 0;
    if (S_ISREG(sa.st_mode) && sa.st_size != sb.st_size)
        return 0;
    return !times ||
           (sa.st_mtim.tv_sec == sb.st_mtim.tv_sec && sa.st_mtim.tv_nsec == sb.st_mtim.tv_nsec);
}

static void test_import(void)
{
    char src[256], images[256], a[512], b[512];
    struct err e = {0};
    struct stat st, st2;
    int root = geteuid() == 0;

    path_of(images, sizeof images, "store");
    mkd("src/rootfs/bin");
    mkd("src/rootfs/a/b/c");
    path_of(src, sizeof src, "src/rootfs");
    put("src/rootfs/bin/tool", "#!/bin/sh\necho tool\n");
    put("src/rootfs/a/b/c/deep", "deep");
    ok(chmod(path_of(a, sizeof a, "src/rootfs/bin/tool"), 04751) == 0, "setuid 04751 tool");
    ok(link(a, path_of(b, sizeof b, "src/rootfs/a/tool-link")) == 0, "hard link in source");
    ok(symlink("../bin/tool", path_of(a, sizeof a, "src/rootfs/a/sym")) == 0 &&
           symlink("/nonexistent/dangling", path_of(b, sizeof b, "src/rootfs/dangling")) == 0,
       "symlinks in source");
    ok(mkfifo(path_of(a, sizeof a, "src/rootfs/fifo"), 0640) == 0, "fifo in source");
    ok(chmod(path_of(a, sizeof a, "src/rootfs/a/b"), 0710) == 0, "dir mode 0710");
    mkd("src/rootfs/tmp");
    ok(chmod(path_of(a, sizeof a, "src/rootfs/tmp"), 01777) == 0, "sticky tmp");
    if (root) {
        ok(lchown(path_of(a, sizeof a, "src/rootfs/a/b/c/deep"), 1234, 5678) == 0 &&
               lchown(path_of(b, sizeof b, "src/rootfs/a/sym"), 42, 43) == 0,
           "owners set in source");
        ok(mknod(path_of(a, sizeof a, "src/rootfs/null"), S_IFCHR | 0666, makedev(1, 3)) == 0,
           "char device in source");
    }
    struct timespec ts[2] = {{1000000000, 123456789}, {1100000000, 987654321}};
    ok(utimensat(AT_FDCWD, path_of(a, sizeof a, "src/rootfs/a/b/c/deep"), ts, 0) == 0 &&
           utimensat(AT_FDCWD, path_of(b, sizeof b, "src/rootfs/a/b"), ts, 0) == 0,
       "times set in source");

    ok(storage_image_import_dir(images, "img", src, &e) == 0, "import_dir (%s)", e.msg);
    struct storage_image_config cfg = {0};
    /* the regular files: tool (its hard link once) and deep */
    uint64_t want = strlen("#!/bin/sh\necho tool\n") + strlen("deep");
    ok(storage_image_load(images, "img", &cfg, &e) == 0 && cfg.cmd &&
           strcmp(cfg.cmd[0], "sh") == 0 && !cfg.cmd[1] && cfg.env &&
           strncmp(cfg.env[0], "PATH=", 5) == 0 && cfg.created_ns > 0 && cfg.size == want,
       "default config written: Cmd [sh], PATH, Created, Size %llu (%s)",
       (unsigned long long)cfg.size, e.msg);
    storage_image_config_free(&cfg);
    {
        char want_txt[64];
        auto_free char *txt =
            util_read_file(path_of(a, sizeof a, "store/img/config.json"), 1 << 20, NULL, &e);
        (void)snprintf(want_txt, sizeof want_txt, "\"Size\":%llu", (unsigned long long)want);
        ok(txt && strstr(txt, want_txt), "config.json has %s", want_txt);
    }

    static const char *const rels[] = {"bin/tool", "a/tool-link", "a/sym", "dangling", "fifo",
                                       "a/b",      "a/b/c/deep",  "tmp",   "bin",      "null"};
    for (size_t i = 0; i < ARRAY_LEN(rels); i++) {
        if (!root && strcmp(rels[i], "null") == 0)
            continue;
        char ra[128], rb[128];
        (void)snprintf(ra, sizeof ra, "src/rootfs/%s", rels[i]);
        (void)snprintf(rb, sizeof rb, "store/img/rootfs/%s", rels[i]);
        ok(same_stat(path_of(a, sizeof a, ra), path_of(b, sizeof b, rb), 1),
           "%s: type, mode, owner, mtime preserved", rels[i]);
    }
    ok(stat(path_of(a, sizeof a, "store/img/rootfs/bin/tool"), &st) == 0 &&
           stat(path_of(b, sizeof b, "store/img/rootfs/a/tool-link"), &st2) == 0 &&
           st.st_ino == st2.st_ino && st.st_nlink == 2,
       "hard link preserved as a hard link");
    char target[64] = {0};
    ok(readlink(path_of(a, sizeof a, "store/img/rootfs/a/sym"), target, sizeof target - 1) > 0 &&
           strcmp(target, "../bin/tool") == 0,
       "symlink target preserved");
    ok(lstat(path_of(a, sizeof a, "store/img/rootfs/fifo"), &st) == 0 && S_ISFIFO(st.st_mode),
       "fifo copied as a fifo");
    ok(stat(path_of(a, sizeof a, "store/img"), &st) == 0 && (st.st_mode & 0777) == 0755,
       "image directory is 0755");

    uint64_t size = 0;
    ok(storage_tree_size(path_of(a, sizeof a, "store/img/rootfs"), &size, &e) == 0 &&
           size == strlen("#!/bin/sh\necho tool\n") + 4,
       "tree_size counts regular files once (hard link once): %llu", (unsigned long long)size);

    /* re-import with a sibling config.json replaces the image atomically */
    put("src/config.json", "{\"Cmd\":[\"/bin/tool\"],\"User\":\"berth\"}");
    put("src/rootfs/new", "new");
    ok(storage_image_import_dir(images, "img", src, &e) == 0, "re-import over an existing image");
    ok(storage_image_load(images, "img", &cfg, &e) == 0 && cfg.cmd &&
           strcmp(cfg.cmd[0], "/bin/tool") == 0 && cfg.user && strcmp(cfg.user, "berth") == 0 &&
           cfg.size == want + 3,
       "sibling config.json used; Size counts the new file (%llu)", (unsigned long long)cfg.size);
    storage_image_config_free(&cfg);
    ok(access(path_of(a, sizeof a, "store/img/rootfs/new"), F_OK) == 0, "new content in place");
    auto_closedir DIR *d = opendir(images);
    int extra = 0;
    for (struct dirent *de; d && (de = readdir(d));)
        extra += strcmp(de->d_name, ".") && strcmp(de->d_name, "..") && strcmp(de->d_name, "img");
    ok(d && extra == 0, "no temporary or old directories left (%d extra)", extra);

    ok(storage_image_import_dir(images, "bad", "/nonexistent/src", &e) < 0 && e.code == ENOENT,
       "import of a missing source fails (%s)", e.msg);
    ok(access(path_of(a, sizeof a, "store/bad"), F_OK) < 0, "failed import leaves no image");
    ok(storage_image_import_dir(images, "../x", src, &e) < 0 && e.code == EINVAL,
       "invalid image name rejected");
    ok(storage_image_import_dir(images, ".hidden", src, &e) < 0 && e.code == EINVAL,
       "hidden image name rejected");
    if (d) {
        rewinddir(d);
        extra = 0;
        for (struct dirent *de; (de = readdir(d));)
            extra +=
                strcmp(de->d_name, ".") && strcmp(de->d_name, "..") && strcmp(de->d_name, "img");
        ok(extra == 0, "failed imports leave no temporary directories");
    }
}

static void test_remove(void)
{
    char a[512], b[512];
    struct err e = {0};
    uint64_t size = 0;

    mkd("outside");
    put("outside/keep", "keep me");
    mkd("victim/x/y");
    put("victim/x/y/f", "f");
    put("victim/x/g", "g");
    ok(symlink(path_of(a, sizeof a, "outside"), path_of(b, sizeof b, "victim/x/link")) == 0 &&
           symlink(path_of(a, sizeof a, "outside/keep"), path_of(b, sizeof b, "victim/flink")) == 0,
       "symlinks to outside");
    ok(storage_tree_size(path_of(a, sizeof a, "victim"), &size, &e) == 0 && size == 2,
       "tree_size does not follow symlinks (%llu)", (unsigned long long)size);
    /* only root can descend into a mode 000 directory */
    if (geteuid() == 0)
        ok(chmod(path_of(a, sizeof a, "victim/x/y"), 0) == 0, "an unreadable directory inside");
    ok(storage_remove_tree(path_of(a, sizeof a, "victim"), &e) == 0, "remove_tree (%s)", e.msg);
    ok(access(a, F_OK) < 0 && errno == ENOENT, "tree is gone");
    ok(access(path_of(a, sizeof a, "outside/keep"), F_OK) == 0, "symlink target kept");
    ok(storage_remove_tree(path_of(a, sizeof a, "victim"), &e) == 0, "removing nothing is fine");
    ok(storage_remove_tree(path_of(a, sizeof a, "outside/keep"), &e) == 0 && access(a, F_OK) < 0,
       "a plain file is removed");
    ok(storage_remove_tree(path_of(a, sizeof a, "store"), &e) == 0 && access(a, F_OK) < 0,
       "an imported image store is removed entirely (%s)", e.msg);
    ok(storage_remove_tree("", &e) < 0 && e.code == EINVAL, "empty path refused");

    /* a mount point inside is not crossed (needs root and a private mount namespace) */
    if (geteuid() != 0)
        return;
    mkd("mnt/inner");
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        struct err ce = {0};
        char p[512], q[512];
        if (unshare(CLONE_NEWNS) < 0)
            _exit(2);
        if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
            _exit(3);
        path_of(p, sizeof p, "mnt/inner");
        if (mount("none", p, "tmpfs", 0, NULL) < 0)
            _exit(4);
        path_of(q, sizeof q, "mnt/inner/file");
        auto_close int fd = open(q, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
        if (fd < 0)
            _exit(5);
        int rc = storage_remove_tree(path_of(p, sizeof p, "mnt"), &ce);
        path_of(q, sizeof q, "mnt/inner/file");
        _exit(rc < 0 && ce.code == EXDEV && access(q, F_OK) == 0 ? 0 : 1);
    }
    int st = 0;
    ok(pid > 0 && waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0,
       "remove_tree stops at a mount point with EXDEV (status %d)", st);
    ok(storage_remove_tree(path_of(a, sizeof a, "mnt"), &e) == 0, "and removes it when unmounted");
}

int main(void)
{
    struct err e = {0};

    (void)snprintf(dir, sizeof dir, "/tmp/test_image.XXXXXX");
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    test_config();
    test_import();
    test_remove();
    ok(storage_remove_tree(dir, &e) == 0 && access(dir, F_OK) < 0, "test directory removed (%s)",
       e.msg);
    return done();
}
