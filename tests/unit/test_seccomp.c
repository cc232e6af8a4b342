/* SPDX-License-Identifier: MIT */
/* tests/unit/test_seccomp.c - core/seccomp.c: the default profile loaded in forked children
 * (EPERM for denied syscalls, ENOSYS for clone3 and for syscalls newer than libseccomp, the
 * CAP_SYS_ADMIN group opened by the capability, busybox tools still working), and the
 * Docker-format parser (valid profiles load and act, bad ones are rejected with a message). */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/personality.h>
#include <sys/reboot.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/capability.h>

#include "core/caps.h"
#include "core/err.h"
#include "core/seccomp.h"
#include "tests/unit/tap.h"

#define B(c) (UINT64_C(1) << (c))

/* errno of a raw syscall, or 0 when it succeeded */
#define ERRNO_OF(call) ((call) < 0 ? errno : 0)

enum probe {
    P_GETPID,
    P_MOUNT,
    P_UNSHARE,
    P_REBOOT,
    P_INIT_MODULE,
    P_BPF,
    P_KEYCTL,
    P_CLONE3,
    P_PERS_QUERY,
    P_PERS_BSD,
    P_PERS_LINUX32,
    P_CLONE_NS,
    P_FORK,
    P_VSOCK,
    P_INET,
    P_NEWER,
    P_KEXEC,
    P_PTRACE,
    P_SETTIME,
    P_UNLISTED,
    P_N
};

/* In the child: errno of each probe after the filter is loaded (0 when it succeeded). */
static void probe_all(int res[P_N])
{
    res[P_GETPID] = getpid() > 0 ? 0 : errno;
    res[P_MOUNT] = ERRNO_OF(mount(NULL, "/nonexistent-berth", NULL, MS_REMOUNT, NULL));
    res[P_UNSHARE] = ERRNO_OF(unshare(CLONE_NEWNS));
    /* invalid magic: EINVAL when allowed, never a reboot */
    res[P_REBOOT] = ERRNO_OF(syscall(SYS_reboot, 0, 0, 0, NULL));
    res[P_INIT_MODULE] = ERRNO_OF(syscall(SYS_init_module, NULL, 0, ""));
    res[P_BPF] = ERRNO_OF(syscall(SYS_bpf, -1, NULL, 0));
    res[P_KEYCTL] = ERRNO_OF(syscall(SYS_keyctl, 0, 0, 0, 0, 0));
    res[P_CLONE3] = ERRNO_OF(syscall(435, NULL, 0));
    res[P_PERS_QUERY] = ERRNO_OF(personality(0xffffffff));
    res[P_PERS_BSD] = ERRNO_OF(personality(PER_BSD));
    res[P_PERS_LINUX32] = ERRNO_OF(personality(PER_LINUX32));
    (void)personality(PER_LINUX); /* back to normal, allowed */
    long r = syscall(SYS_clone, CLONE_NEWUTS | SIGCHLD, NULL, NULL, NULL, NULL);
    if (r == 0)
        _exit(0);
    res[P_CLONE_NS] = r < 0 ? errno : 0;
    if (r > 0)
        (void)waitpid((pid_t)r, NULL, 0);
    pid_t f = fork();
    if (f == 0)
        _exit(0);
    res[P_FORK] = f < 0 ? errno : 0;
    if (f > 0)
        (void)waitpid(f, NULL, 0);
    int fd = socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC, 0);
    res[P_VSOCK] = fd < 0 ? errno : 0;
    fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    res[P_INET] = fd < 0 ? errno : 0;
    /* statmount (457) is newer than the libseccomp we build with */
    res[P_NEWER] = ERRNO_OF(syscall(457, NULL, NULL, 0, 0));
    res[P_KEXEC] = ERRNO_OF(syscall(SYS_kexec_load, 0, 0, NULL, 0xdeadUL));
    /* a pid that cannot exist: ESRCH when the kernel sees the call */
    res[P_PTRACE] = ERRNO_OF(syscall(SYS_ptrace, 0x4206 /* PTRACE_SEIZE */, 0x3ffffff0, 0, 0));
    res[P_SETTIME] = ERRNO_OF(syscall(SYS_clock_settime, 12345, NULL));
    res[P_UNLISTED] = ERRNO_OF(syscall(SYS_uselib, NULL));
}

/* Fork; in the child load the default profile with CAPS (or the JSON TEXT when given) and run
 * the probes. Returns 0 and fills RES, or -1 with MSG. */
static int run_probes(uint64_t caps, const char *text, int res[P_N], char *msg, size_t msglen)
{
    int p[2];
    if (pipe(p) < 0)
        return -1;
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        struct err e = {0};
        int out[P_N];
        (void)close(p[0]);
        int rc =
            text ? seccomp_load_file(text, strlen(text), caps, &e) : seccomp_load_default(caps, &e);
        if (rc < 0) {
            (void)!write(p[1], e.msg, strlen(e.msg));
            _exit(2);
        }
        probe_all(out);
        _exit(write(p[1], out, sizeof out) == (ssize_t)sizeof out ? 0 : 3);
    }
    (void)close(p[1]);
    char buf[512];
    size_t len = 0;
    ssize_t r;
    while (len < sizeof buf && (r = read(p[0], buf + len, sizeof buf - len)) > 0)
        len += (size_t)r;
    (void)close(p[0]);
    int st;
    if (waitpid(pid, &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0 ||
        len != sizeof(int) * P_N) {
        (void)snprintf(msg, msglen, "child failed (status %#x): %.*s", st, (int)len, buf);
        return -1;
    }
    memcpy(res, buf, sizeof(int) * P_N);
    return 0;
}

static void test_default(void)
{
    int r[P_N];
    char msg[600] = "";
    ok(run_probes(caps_default(), NULL, r, msg, sizeof msg) == 0, "default profile loads %s", msg);
    ok(r[P_GETPID] == 0, "getpid works");
    ok(r[P_MOUNT] == EPERM, "mount: EPERM (%d)", r[P_MOUNT]);
    ok(r[P_UNSHARE] == EPERM, "unshare(CLONE_NEWNS): EPERM (%d)", r[P_UNSHARE]);
    ok(r[P_REBOOT] == EPERM, "reboot: EPERM (%d)", r[P_REBOOT]);
    ok(r[P_INIT_MODULE] == EPERM, "init_module: EPERM (%d)", r[P_INIT_MODULE]);
    ok(r[P_BPF] == EPERM, "bpf: EPERM (%d)", r[P_BPF]);
    ok(r[P_KEYCTL] == EPERM, "keyctl: EPERM (%d)", r[P_KEYCTL]);
    ok(r[P_CLONE3] == ENOSYS, "clone3: ENOSYS (%d)", r[P_CLONE3]);
    ok(r[P_PERS_QUERY] == 0, "personality(0xffffffff) query allowed (%d)", r[P_PERS_QUERY]);
    ok(r[P_PERS_BSD] == EPERM, "personality(PER_BSD): EPERM (%d)", r[P_PERS_BSD]);
    ok(r[P_PERS_LINUX32] == 0, "personality(PER_LINUX32) allowed (%d)", r[P_PERS_LINUX32]);
    ok(r[P_CLONE_NS] == EPERM, "clone(CLONE_NEWUTS): EPERM (%d)", r[P_CLONE_NS]);
    ok(r[P_FORK] == 0, "fork works (%d)", r[P_FORK]);
    ok(r[P_VSOCK] == EPERM, "socket(AF_VSOCK): EPERM (%d)", r[P_VSOCK]);
    ok(r[P_INET] == 0, "socket(AF_INET) works (%d)", r[P_INET]);
    ok(r[P_NEWER] == ENOSYS, "syscall newer than the profile: ENOSYS (%d)", r[P_NEWER]);
    ok(r[P_KEXEC] == EPERM, "kexec_load: EPERM (%d)", r[P_KEXEC]);
    ok(r[P_PTRACE] == EPERM, "ptrace without CAP_SYS_PTRACE: EPERM (%d)", r[P_PTRACE]);
    ok(r[P_SETTIME] == EPERM, "clock_settime without CAP_SYS_TIME: EPERM (%d)", r[P_SETTIME]);
    ok(r[P_UNLISTED] == EPERM, "unlisted old syscall (uselib): EPERM (%d)", r[P_UNLISTED]);

    uint64_t admin = caps_default() | B(CAP_SYS_ADMIN) | B(CAP_SYS_PTRACE) | B(CAP_SYS_TIME);
    ok(run_probes(admin, NULL, r, msg, sizeof msg) == 0, "profile with CAP_SYS_ADMIN loads %s",
       msg);
    ok(r[P_MOUNT] == ENOENT, "mount allowed with CAP_SYS_ADMIN: ENOENT (%d)", r[P_MOUNT]);
    ok(r[P_UNSHARE] == 0, "unshare allowed with CAP_SYS_ADMIN (%d)", r[P_UNSHARE]);
    ok(r[P_CLONE3] != ENOSYS && r[P_CLONE3] != EPERM, "clone3 reaches the kernel (%d)",
       r[P_CLONE3]);
    ok(r[P_CLONE_NS] == 0, "clone(CLONE_NEWUTS) allowed (%d)", r[P_CLONE_NS]);
    ok(r[P_REBOOT] == EPERM, "reboot still EPERM without CAP_SYS_BOOT (%d)", r[P_REBOOT]);
    ok(r[P_PTRACE] == ESRCH, "ptrace reaches the kernel with CAP_SYS_PTRACE (%d)", r[P_PTRACE]);
    ok(r[P_SETTIME] == EINVAL, "clock_settime reaches the kernel with CAP_SYS_TIME (%d)",
       r[P_SETTIME]);
    ok(r[P_NEWER] == ENOSYS, "newer syscall still ENOSYS (%d)", r[P_NEWER]);
}

/* busybox under the default profile: the everyday tools, and wget to a local httpd. */
static void test_busybox(void)
{
    if (access("/bin/busybox", X_OK) < 0) {
        ok(1, "# SKIP no /bin/busybox");
        return;
    }
    char dir[] = "/tmp/berth-test-seccomp-XXXXXX";
    if (!mkdtemp(dir)) {
        ok(0, "mkdtemp");
        return;
    }
    char script[1024];
    (void)snprintf(
        script, sizeof script,
        "set -e; cd %s; echo hello > index.html; ls / >/dev/null; cat /proc/self/status "
        ">/dev/null; sleep 0.1; ps >/dev/null; id >/dev/null; date >/dev/null; "
        "mkdir d; touch d/f; chmod 600 d/f; ln -s d/f l; rm -r d l; "
        "busybox httpd -f -p 127.0.0.1:18939 -h %s & h=$!; sleep 0.3; "
        "out=$(wget -q -O - http://127.0.0.1:18939/index.html); kill $h; wait $h || true; "
        "test \"$out\" = hello; echo ALLGOOD",
        dir, dir);
    int p[2];
    if (pipe(p) < 0)
        return;
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        struct err e = {0};
        (void)close(p[0]);
        if (dup2(p[1], 1) < 0 || dup2(p[1], 2) < 0)
            _exit(3);
        if (seccomp_load_default(caps_default(), &e) < 0) {
            printf("load: %s\n", e.msg);
            _exit(2);
        }
        execl("/bin/busybox", "sh", "-c", script, (char *)NULL);
        _exit(4);
    }
    (void)close(p[1]);
    char out[4096];
    size_t len = 0;
    ssize_t r;
    while (len < sizeof out - 1 && (r = read(p[0], out + len, sizeof out - 1 - len)) > 0)
        len += (size_t)r;
    out[len] = '\0';
    (void)close(p[0]);
    int st = 0;
    (void)waitpid(pid, &st, 0);
    int good = WIFEXITED(st) && WEXITSTATUS(st) == 0 && strstr(out, "ALLGOOD");
    for (char *nl = strchr(out, '\n'); nl; nl = strchr(nl, '\n'))
        *nl = ' '; /* one TAP line */
    ok(good,
       "busybox sh ls cat sleep ps id date mkdir chmod ln rm httpd wget under the profile%s%s",
       good ? "" : ": ", good ? "" : out);
    char cmd[128];
    (void)snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    (void)!system(cmd);
}

static const char good_profile[] =
    "{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"archMap\":[{\"architecture\":\"SCMP_ARCH_X86_64\","
    "\"subArchitectures\":[\"SCMP_ARCH_X86\",\"SCMP_ARCH_X32\"]},{\"architecture\":"
    "\"SCMP_ARCH_AARCH64\",\"subArchitectures\":[\"SCMP_ARCH_ARM\"]}],\"syscalls\":["
    "{\"names\":[\"keyctl\",\"no_such_syscall_x\"],\"action\":\"SCMP_ACT_ERRNO\",\"errnoRet\":13},"
    "{\"names\":[\"personality\"],\"action\":\"SCMP_ACT_ERRNO\",\"args\":[{\"index\":0,"
    "\"value\":6,\"valueTwo\":0,\"op\":\"SCMP_CMP_EQ\"}]},"
    "{\"names\":[\"mount\"],\"action\":\"SCMP_ACT_ERRNO\",\"errnoRet\":1,\"excludes\":{\"caps\":"
    "[\"CAP_SYS_ADMIN\"]}},"
    "{\"names\":[\"bpf\"],\"action\":\"SCMP_ACT_ERRNO\",\"errnoRet\":22,\"includes\":{\"arches\":"
    "[\"amd64\",\"arm64\"],\"minKernel\":\"4.8\"},\"comment\":\"x\"},"
    "{\"name\":\"reboot\",\"action\":\"SCMP_ACT_ERRNO\",\"errnoRet\":19}]}";

static void test_json(void)
{
    struct err e = {0};
    int r[P_N];
    char msg[600] = "";
    ok(seccomp_profile_validate(good_profile, strlen(good_profile), &e) == 0,
       "small valid profile accepted %s", e.msg);
    ok(run_probes(caps_default(), good_profile, r, msg, sizeof msg) == 0, "JSON profile loads %s",
       msg);
    ok(r[P_KEYCTL] == EACCES, "keyctl: errnoRet 13 (%d)", r[P_KEYCTL]);
    ok(r[P_PERS_BSD] == EPERM, "personality(6): EPERM by arg rule (%d)", r[P_PERS_BSD]);
    ok(r[P_PERS_QUERY] == 0, "personality query allowed (%d)", r[P_PERS_QUERY]);
    ok(r[P_MOUNT] == EPERM, "mount without CAP_SYS_ADMIN: EPERM (%d)", r[P_MOUNT]);
    ok(r[P_BPF] == EINVAL, "bpf: includes arches+minKernel matched (%d)", r[P_BPF]);
    ok(r[P_REBOOT] == ENODEV, "old single \"name\" form (%d)", r[P_REBOOT]);
    ok(r[P_CLONE3] != ENOSYS && r[P_CLONE3] != EPERM, "default ALLOW: clone3 reaches kernel (%d)",
       r[P_CLONE3]);
    ok(r[P_NEWER] != EPERM, "default ALLOW: no ENOSYS layer needed (%d)", r[P_NEWER]);
    ok(run_probes(caps_default() | B(CAP_SYS_ADMIN), good_profile, r, msg, sizeof msg) == 0 &&
           r[P_MOUNT] == ENOENT,
       "excludes caps: mount allowed with CAP_SYS_ADMIN (%d) %s", r[P_MOUNT], msg);

    static const char errno_default[] =
        "{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"defaultErrnoRet\":1,\"syscalls\":[{\"names\":"
        "[\"read\",\"write\",\"close\",\"exit\",\"exit_group\",\"getpid\",\"mount\",\"unshare\","
        "\"clone\",\"wait4\",\"fork\",\"socket\",\"personality\",\"brk\",\"mmap\",\"munmap\","
        "\"rt_sigreturn\",\"rt_sigprocmask\",\"madvise\",\"futex\",\"seccomp\","
        /* what the sanitizers' runtime needs in the child */
        "\"sigaltstack\",\"rt_sigaction\",\"mprotect\",\"prctl\",\"sched_yield\",\"getrlimit\","
        "\"prlimit64\",\"readlink\",\"openat\",\"fstat\",\"newfstatat\",\"gettid\"],"
        "\"action\":\"SCMP_ACT_ALLOW\"}]}";
    ok(run_probes(caps_default(), errno_default, r, msg, sizeof msg) == 0,
       "ERRNO-default JSON profile loads %s", msg);
    ok(r[P_KEYCTL] == EPERM, "unlisted: defaultErrnoRet (%d)", r[P_KEYCTL]);
    ok(r[P_NEWER] == ENOSYS, "ERRNO default: newer syscall ENOSYS (%d)", r[P_NEWER]);
    ok(r[P_MOUNT] == ENOENT, "listed mount allowed (%d)", r[P_MOUNT]);
    /* the same without seccomp(2) allowed: no second filter, the default action everywhere */
    char no_seccomp[sizeof errno_default];
    memcpy(no_seccomp, errno_default, sizeof errno_default);
    memcpy(strstr(no_seccomp, "\"seccomp\""), "\"getppid\"", 9);
    ok(run_probes(caps_default(), no_seccomp, r, msg, sizeof msg) == 0,
       "ERRNO-default profile without seccomp(2) loads %s", msg);
    ok(r[P_NEWER] == EPERM && r[P_KEYCTL] == EPERM,
       "... and answers its default errno for newer syscalls too (%d)", r[P_NEWER]);

    static const struct {
        const char *text, *want;
    } bad[] = {
        {"{\"defaultAction\":\"SCMP_ACT_FOO\"}", "unknown action 'SCMP_ACT_FOO'"},
        {"{\"defaultAction\":\"SCMP_ACT_ERRNO\"", "invalid JSON at offset"},
        {"[1,2]", "not a JSON object"},
        {"{}", "no defaultAction"},
        {"{\"defaultAction\":1}", "action is not a string"},
        {"{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":{}}", "syscalls is not an array"},
        {"{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":\"read\","
         "\"action\":\"SCMP_ACT_ERRNO\"}]}",
         "names is not an array"},
        {"{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"read\"],"
         "\"action\":\"SCMP_ACT_KILL_EVERYONE\"}]}",
         "syscalls[0]: unknown action 'SCMP_ACT_KILL_EVERYONE'"},
        {"{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"read\"],"
         "\"action\":\"SCMP_ACT_NOTIFY\"}]}",
         "SCMP_ACT_NOTIFY is not supported"},
        {"{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"read\"],"
         "\"action\":\"SCMP_ACT_ERRNO\",\"args\":[{\"index\":6,\"value\":1,\"op\":"
         "\"SCMP_CMP_EQ\"}]}]}",
         "index: 6 out of range"},
        {"{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"read\"],"
         "\"action\":\"SCMP_ACT_ERRNO\",\"args\":[{\"index\":0,\"value\":1,\"op\":"
         "\"SCMP_CMP_ABOUT\"}]}]}",
         "unknown op 'SCMP_CMP_ABOUT'"},
        {"{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"read\"],"
         "\"action\":\"SCMP_ACT_ERRNO\",\"args\":[{\"index\":0,\"value\":\"1\",\"op\":"
         "\"SCMP_CMP_EQ\"}]}]}",
         "value: not a number"},
        {"{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"read\"],"
         "\"action\":\"SCMP_ACT_ERRNO\",\"errnoRet\":-1}]}",
         "errnoRet: -1 out of range"},
        {"{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"read\"],"
         "\"action\":\"SCMP_ACT_ERRNO\",\"includes\":{\"caps\":[\"CAP_NOPE\"]}}]}",
         "unknown capability 'CAP_NOPE'"},
        {"{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"architectures\":[\"SCMP_ARCH_VAX\"]}",
         "unknown architecture 'SCMP_ARCH_VAX'"},
        {"{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"action\":\"SCMP_ACT_ERRNO\"}]}",
         "no names"},
        {"{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"listenerPath\":\"/run/x.sock\"}",
         "listenerPath is not supported"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        e = (struct err){0};
        int rc = seccomp_profile_validate(bad[i].text, strlen(bad[i].text), &e);
        ok(rc < 0 && e.code == EINVAL && strstr(e.msg, bad[i].want), "bad profile %zu: %s", i,
           e.msg);
    }
    e = (struct err){0};
    ok(seccomp_profile_validate("", 0, &e) < 0, "empty text rejected: %s", e.msg);
}

static void test_spec(void)
{
    struct seccomp_spec s;
    struct err e = {0};
    ok(seccomp_spec_parse("unconfined", &s, &e) == 0 && s.mode == SECCOMP_MODE_UNCONFINED &&
           !s.profile_text,
       "seccomp=unconfined");
    ok(seccomp_spec_load(&s, 0, &e) == 0, "unconfined loads nothing");
    ok(seccomp_spec_parse("default", &s, &e) == 0 && s.mode == SECCOMP_MODE_DEFAULT,
       "seccomp=default");
    ok(seccomp_spec_parse("/nonexistent/profile.json", &s, &e) < 0 && e.code == ENOENT &&
           s.mode == SECCOMP_MODE_DEFAULT && !s.profile_text,
       "missing file: %s", e.msg);
    char path[] = "/tmp/berth-test-seccomp-XXXXXX";
    int fd = mkstemp(path);
    ok(fd >= 0 && write(fd, good_profile, strlen(good_profile)) == (ssize_t)strlen(good_profile),
       "write profile file");
    if (fd >= 0)
        (void)close(fd);
    e = (struct err){0};
    ok(seccomp_spec_parse(path, &s, &e) == 0 && s.mode == SECCOMP_MODE_FILE &&
           s.len == strlen(good_profile) && strcmp(s.profile_text, good_profile) == 0,
       "seccomp=FILE keeps the text %s", e.msg);
    seccomp_spec_free(&s);
    ok(s.profile_text == NULL && s.mode == 0, "spec_free zeroes");
    fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);
    ok(fd >= 0 && write(fd, "{\"defaultAction\":\"X\"}", 21) == 21, "write bad profile");
    if (fd >= 0)
        (void)close(fd);
    e = (struct err){0};
    ok(seccomp_spec_parse(path, &s, &e) < 0 && strstr(e.msg, path) &&
           strstr(e.msg, "unknown action 'X'"),
       "bad file rejected at parse: %s", e.msg);
    (void)unlink(path);
}

int main(void)
{
    if (geteuid() != 0) {
        printf("# not root: mount/unshare results differ; skipping\n");
        return 77;
    }
    test_default();
    test_busybox();
    test_json();
    test_spec();
    return done();
}
