/* SPDX-License-Identifier: MIT */
/* core/seccomp.c - berth's default seccomp profile (the table below), Docker-format JSON
 * profiles, and building/loading filters with libseccomp. Loading happens only in a
 * container's child right before exec; parsing and validation are pure. */
#include "core/seccomp.h"

#include <errno.h>
#include <limits.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <math.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/utsname.h>
#include <linux/capability.h>

#include <cjson/cJSON.h>
#include <seccomp.h>

#include "core/caps.h"
#include "core/err.h"
#include "core/json.h"
#include "core/util.h"

/* ---- the default profile ---- */

enum sc_act {
    SC_ALLOW,  /* run the syscall */
    SC_EPERM,  /* listed for the reader only: EPERM is the default action */
    SC_ENOSYS, /* pretend the kernel lacks it, so that libc falls back */
};

enum sc_arch {
    SC_ANY = 0,
    SC_X86, /* native x86_64 (with x86 and x32) */
    SC_ARM, /* native aarch64 (with arm) */
};

#define NOCAP (-1)

struct sc_rule {
    const char *names; /* space-separated syscall names */
    enum sc_act act;
    int cap;           /* the rule applies only when the container has CAP; NOCAP: always */
    int unless;        /* the rule is skipped when the container has UNLESS; NOCAP: never */
    enum sc_arch arch; /* native architecture family the rule is for */
    unsigned ncond;    /* 0 or 1 */
    struct scmp_arg_cmp cond;
};

#define ALLOW(n)                                                                                   \
    {                                                                                              \
        n, SC_ALLOW, NOCAP, NOCAP, SC_ANY, 0,                                                      \
        {                                                                                          \
            0                                                                                      \
        }                                                                                          \
    }
#define ALLOW_ARCH(n, a)                                                                           \
    {                                                                                              \
        n, SC_ALLOW, NOCAP, NOCAP, a, 0,                                                           \
        {                                                                                          \
            0                                                                                      \
        }                                                                                          \
    }
#define ALLOW_IF(n, c)                                                                             \
    {                                                                                              \
        n, SC_ALLOW, NOCAP, NOCAP, SC_ANY, 1, c                                                    \
    }
#define ALLOW_CAP(n, cap)                                                                          \
    {                                                                                              \
        n, SC_ALLOW, cap, NOCAP, SC_ANY, 0,                                                        \
        {                                                                                          \
            0                                                                                      \
        }                                                                                          \
    }
#define DENY(n)                                                                                    \
    {                                                                                              \
        n, SC_EPERM, NOCAP, NOCAP, SC_ANY, 0,                                                      \
        {                                                                                          \
            0                                                                                      \
        }                                                                                          \
    }
#define ENOSYS_UNLESS(n, c)                                                                        \
    {                                                                                              \
        n, SC_ENOSYS, NOCAP, c, SC_ANY, 0,                                                         \
        {                                                                                          \
            0                                                                                      \
        }                                                                                          \
    }
#define A0(op, v)                                                                                  \
    {                                                                                              \
        0, op, v, 0                                                                                \
    }
#define A0_MASK(mask, v)                                                                           \
    {                                                                                              \
        0, SCMP_CMP_MASKED_EQ, mask, v                                                             \
    }

/* clone() flags that create namespaces; CLONE_NEWTIME only exists for clone3 and unshare */
#define CLONE_NS_FLAGS                                                                             \
    (CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET |     \
     CLONE_NEWCGROUP)

/* The profile. Reviewed as data: each line is one decision. Names libseccomp does not know
 * are skipped (they are newer than the profile and get ENOSYS); names that exist only on some
 * ABIs (socketcall, mmap2, *32) apply where they exist. */
static const struct sc_rule sc_profile[] = {
    /* processes, sessions, identity */
    ALLOW("execve execveat exit exit_group fork vfork wait4 waitid waitpid kill tkill tgkill"),
    ALLOW("getpid getppid gettid getpgid getpgrp getsid setsid setpgid set_tid_address"),
    ALLOW("prctl arch_prctl rseq restart_syscall pidfd_open pidfd_send_signal process_mrelease"),
    ALLOW("capget capset seccomp landlock_create_ruleset landlock_add_rule landlock_restrict_self"),
    ALLOW("uname sysinfo getcpu getrandom times getrusage getrlimit ugetrlimit setrlimit"),
    ALLOW("prlimit64 getpriority setpriority ioprio_get ioprio_set"),
    ALLOW("getuid getuid32 geteuid geteuid32 getgid getgid32 getegid getegid32 getgroups"),
    ALLOW("getgroups32 getresuid getresuid32 getresgid getresgid32 setuid setuid32 setgid"),
    ALLOW("setgid32 setreuid setreuid32 setregid setregid32 setresuid setresuid32 setresgid"),
    ALLOW("setresgid32 setgroups setgroups32 setfsuid setfsuid32 setfsgid setfsgid32"),
    /* personality: only Linux, Linux32, UNAME26 variants and the query 0xffffffff */
    ALLOW_IF("personality", A0(SCMP_CMP_EQ, 0x0)),
    ALLOW_IF("personality", A0(SCMP_CMP_EQ, 0x8)),
    ALLOW_IF("personality", A0(SCMP_CMP_EQ, 0x20000)),
    ALLOW_IF("personality", A0(SCMP_CMP_EQ, 0x20008)),
    ALLOW_IF("personality", A0(SCMP_CMP_EQ, 0xffffffff)),
    /* threads, futexes, scheduling */
    ALLOW("futex futex_time64 futex_waitv futex_wake futex_wait futex_requeue set_robust_list"),
    ALLOW("get_robust_list set_thread_area get_thread_area membarrier sched_yield"),
    ALLOW("sched_getaffinity sched_setaffinity sched_getparam sched_setparam sched_getattr"),
    ALLOW("sched_setattr sched_getscheduler sched_setscheduler sched_get_priority_max"),
    ALLOW("sched_get_priority_min sched_rr_get_interval sched_rr_get_interval_time64"),
    /* memory */
    ALLOW("brk mmap mmap2 munmap mremap mprotect madvise mincore msync mlock mlock2 mlockall"),
    ALLOW("munlock munlockall memfd_create memfd_secret pkey_alloc pkey_free pkey_mprotect"),
    ALLOW("remap_file_pages map_shadow_stack"),
    /* file descriptors and I/O */
    ALLOW("open openat openat2 creat close close_range read write readv writev pread64 pwrite64"),
    ALLOW("preadv preadv2 pwritev pwritev2 lseek _llseek dup dup2 dup3 fcntl fcntl64 ioctl flock"),
    ALLOW("fsync fdatasync sync syncfs sync_file_range fallocate ftruncate ftruncate64 truncate"),
    ALLOW("truncate64 fadvise64 fadvise64_64 readahead sendfile sendfile64 splice tee vmsplice"),
    ALLOW("copy_file_range pipe pipe2 eventfd eventfd2 signalfd signalfd4 timerfd_create"),
    ALLOW("timerfd_settime timerfd_settime64 timerfd_gettime timerfd_gettime64"),
    ALLOW("io_setup io_destroy io_submit io_cancel io_getevents io_pgetevents"),
    ALLOW("io_pgetevents_time64 cachestat"),
    /* paths, metadata, extended attributes */
    ALLOW("stat stat64 lstat lstat64 fstat fstat64 fstatat64 newfstatat statx statfs statfs64"),
    ALLOW("fstatfs fstatfs64 access faccessat faccessat2 chdir fchdir getcwd mkdir mkdirat"),
    ALLOW("mknod mknodat rmdir rename renameat renameat2 link linkat symlink symlinkat unlink"),
    ALLOW("unlinkat readlink readlinkat chmod fchmod fchmodat fchmodat2 chown chown32 fchown"),
    ALLOW("fchown32 fchownat lchown lchown32 umask utime utimes utimensat utimensat_time64"),
    ALLOW("futimesat getdents getdents64 name_to_handle_at"),
    ALLOW("getxattr lgetxattr fgetxattr setxattr lsetxattr fsetxattr listxattr llistxattr"),
    ALLOW("flistxattr removexattr lremovexattr fremovexattr"),
    /* waiting and notification */
    ALLOW("poll ppoll ppoll_time64 select _newselect pselect6 pselect6_time64 epoll_create"),
    ALLOW("epoll_create1 epoll_ctl epoll_ctl_old epoll_wait epoll_wait_old epoll_pwait"),
    ALLOW("epoll_pwait2 inotify_init inotify_init1 inotify_add_watch inotify_rm_watch"),
    ALLOW("fanotify_mark pause"),
    /* signals */
    ALLOW("rt_sigaction rt_sigprocmask rt_sigreturn rt_sigsuspend rt_sigpending"),
    ALLOW("rt_sigtimedwait rt_sigtimedwait_time64 rt_sigqueueinfo rt_tgsigqueueinfo"),
    ALLOW("sigaltstack sigreturn sigprocmask sigaction sigsuspend sigpending"),
    /* time (reading; adjtimex and clock_adjtime change the clock only with CAP_SYS_TIME, which
     * the kernel checks, and glibc's ntp_gettime needs them to read) */
    ALLOW("time gettimeofday clock_gettime clock_gettime64 clock_getres clock_getres_time64"),
    ALLOW("clock_nanosleep clock_nanosleep_time64 nanosleep alarm getitimer setitimer"),
    ALLOW("timer_create timer_delete timer_settime timer_settime64 timer_gettime"),
    ALLOW("timer_gettime64 timer_getoverrun adjtimex clock_adjtime clock_adjtime64"),
    /* sockets: everything but AF_VSOCK, which reaches the host's hypervisor services */
    ALLOW_IF("socket", A0(SCMP_CMP_NE, AF_VSOCK)),
    ALLOW("socketpair socketcall bind listen accept accept4 connect getsockname getpeername"),
    ALLOW("getsockopt setsockopt shutdown send sendto sendmsg sendmmsg recv recvfrom recvmsg"),
    ALLOW("recvmmsg recvmmsg_time64"),
    /* System V and POSIX IPC (in the container's IPC namespace) */
    ALLOW("ipc msgget msgsnd msgrcv msgctl semget semop semtimedop semtimedop_time64 semctl"),
    ALLOW("shmget shmat shmdt shmctl mq_open mq_unlink mq_timedsend mq_timedsend_time64"),
    ALLOW("mq_timedreceive mq_timedreceive_time64 mq_notify mq_getsetattr"),
    /* architecture specific */
    ALLOW_ARCH("modify_ldt", SC_X86),
    ALLOW_ARCH("breakpoint cacheflush set_tls arm_fadvise64_64 arm_sync_file_range", SC_ARM),
    ALLOW_ARCH("sync_file_range2", SC_ARM),

    /* new processes: namespaces only with CAP_SYS_ADMIN; clone3 hides its flags in memory
     * that seccomp cannot read, so without CAP_SYS_ADMIN it is "not implemented" and glibc
     * falls back to clone */
    {"clone", SC_ALLOW, NOCAP, CAP_SYS_ADMIN, SC_ANY, 1, A0_MASK(CLONE_NS_FLAGS, 0)},
    ENOSYS_UNLESS("clone3", CAP_SYS_ADMIN),

    /* gated on a capability, as the kernel would gate them anyway; without it: EPERM */
    ALLOW_CAP("clone clone3 unshare setns mount umount umount2 pivot_root", CAP_SYS_ADMIN),
    ALLOW_CAP("mount_setattr move_mount open_tree fsopen fsconfig fsmount fspick", CAP_SYS_ADMIN),
    ALLOW_CAP("sethostname setdomainname quotactl quotactl_fd fanotify_init", CAP_SYS_ADMIN),
    ALLOW_CAP("lookup_dcookie syslog bpf perf_event_open", CAP_SYS_ADMIN),
    ALLOW_CAP("syslog", CAP_SYSLOG),
    ALLOW_CAP("bpf", CAP_BPF),
    ALLOW_CAP("perf_event_open", CAP_PERFMON),
    ALLOW_CAP("reboot", CAP_SYS_BOOT),
    ALLOW_CAP("chroot", CAP_SYS_CHROOT),
    ALLOW_CAP("init_module finit_module delete_module", CAP_SYS_MODULE),
    ALLOW_CAP("ptrace process_vm_readv process_vm_writev kcmp pidfd_getfd", CAP_SYS_PTRACE),
    ALLOW_CAP("process_madvise", CAP_SYS_PTRACE),
    ALLOW_CAP("settimeofday stime clock_settime clock_settime64", CAP_SYS_TIME),
    ALLOW_CAP("iopl ioperm", CAP_SYS_RAWIO),
    ALLOW_CAP("acct", CAP_SYS_PACCT),
    ALLOW_CAP("vhangup", CAP_SYS_TTY_CONFIG),
    ALLOW_CAP("get_mempolicy set_mempolicy set_mempolicy_home_node mbind", CAP_SYS_NICE),
    ALLOW_CAP("migrate_pages move_pages", CAP_SYS_NICE),
    ALLOW_CAP("open_by_handle_at", CAP_DAC_READ_SEARCH),

    /* never allowed: not namespaced, or a large kernel attack surface */
    DENY("kexec_load kexec_file_load keyctl add_key request_key userfaultfd swapon swapoff"),
    DENY("io_uring_setup io_uring_enter io_uring_register nfsservctl uselib vm86 vm86old"),
    DENY("create_module get_kernel_syms query_module _sysctl sysfs ustat afs_syscall"),
};

/* ---- building filters ---- */

static void scmp_releasep(scmp_filter_ctx *ctx)
{
    if (*ctx)
        seccomp_release(*ctx);
}
#define auto_scmp __attribute__((cleanup(scmp_releasep)))

/* A new filter with DEF as default action for the native architecture and its compat ABIs. */
static scmp_filter_ctx filter_new(uint32_t def, struct err *e)
{
    scmp_filter_ctx ctx = seccomp_init(def);
    if (!ctx)
        return err_set(e, ENOMEM, "create seccomp filter"), NULL;
    uint32_t native = seccomp_arch_native();
    static const uint32_t compat[][2] = {
        {SCMP_ARCH_X86_64, SCMP_ARCH_X86},
        {SCMP_ARCH_X86_64, SCMP_ARCH_X32},
        {SCMP_ARCH_AARCH64, SCMP_ARCH_ARM},
    };
    int rc = 0;
    for (size_t i = 0; i < ARRAY_LEN(compat) && rc == 0; i++) {
        if (compat[i][0] != native)
            continue;
        rc = seccomp_arch_add(ctx, compat[i][1]);
        if (rc == -EEXIST)
            rc = 0;
    }
    /* no_new_privs is berth's own decision (it is set, or deliberately not, before) */
    if (rc == 0)
        rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0);
    /* a binary tree over syscall numbers keeps the filter short and quick */
    if (rc == 0)
        rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2);
    if (rc < 0) {
        seccomp_release(ctx);
        return err_set(e, -rc, "set up seccomp filter"), NULL;
    }
    return ctx;
}

/* Add ACT for the syscall NAME (skipped when libseccomp cannot name it: newer than we know). */
static int rule_add(scmp_filter_ctx ctx, uint32_t act, const char *name, unsigned ncond,
                    const struct scmp_arg_cmp *cond, struct err *e)
{
    int nr = seccomp_syscall_resolve_name(name);
    if (nr == __NR_SCMP_ERROR)
        return 0;
    int rc = seccomp_rule_add_array(ctx, act, nr, ncond, cond);
    if (rc < 0)
        return err_set(e, -rc, "add seccomp rule for '%s'", name);
    return 0;
}

/* Call rule_add() for each space-separated name of NAMES. */
static int rule_add_names(scmp_filter_ctx ctx, uint32_t act, const char *names, unsigned ncond,
                          const struct scmp_arg_cmp *cond, struct err *e)
{
    const char *p = names;
    while (*p) {
        size_t n = strcspn(p, " ");
        char name[64];
        if (n > 0) {
            if (n >= sizeof name)
                return err_set(e, ENAMETOOLONG, "syscall name '%.*s'", (int)n, p);
            memcpy(name, p, n);
            name[n] = '\0';
            if (rule_add(ctx, act, name, ncond, cond, e) < 0)
                return -1;
        }
        p += n;
        while (*p == ' ')
            p++;
    }
    return 0;
}

static int has_cap(uint64_t caps, int cap)
{
    return cap >= 0 && cap < 64 && (caps & (UINT64_C(1) << cap));
}

static enum sc_arch native_family(void)
{
    switch (seccomp_arch_native()) {
    case SCMP_ARCH_X86_64:
        return SC_X86;
    case SCMP_ARCH_AARCH64:
        return SC_ARM;
    default:
        return SC_ANY;
    }
}

static scmp_filter_ctx build_default(uint64_t caps, struct err *e)
{
    auto_scmp scmp_filter_ctx ctx = filter_new(SCMP_ACT_ERRNO(EPERM), e);
    if (!ctx)
        return NULL;
    enum sc_arch fam = native_family();
    for (size_t i = 0; i < ARRAY_LEN(sc_profile); i++) {
        const struct sc_rule *r = &sc_profile[i];
        if (r->act == SC_EPERM || (r->arch != SC_ANY && r->arch != fam))
            continue;
        if ((r->cap != NOCAP && !has_cap(caps, r->cap)) || has_cap(caps, r->unless))
            continue;
        uint32_t act = r->act == SC_ALLOW ? SCMP_ACT_ALLOW : SCMP_ACT_ERRNO(ENOSYS);
        if (rule_add_names(ctx, act, r->names, r->ncond, &r->cond, e) < 0)
            return NULL;
    }
    return take_ptr(&ctx);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

struct name_list {
    char *v[4096];
    size_t n;
};

static void name_list_freep(struct name_list **l)
{
    if (!*l)
        return;
    for (size_t i = 0; i < (*l)->n; i++)
        free((*l)->v[i]);
    free(*l);
}

/* The second filter: ENOSYS for every syscall number libseccomp cannot name on the filter's
 * architectures, ALLOW (that is: the profile decides) for all others. Names are collected
 * and deduplicated first: each rule is added once for all architectures. */
static scmp_filter_ctx build_unknown_enosys(struct err *e)
{
    static const struct {
        uint32_t arch;
        int first, last; /* syscall numbers, inclusive */
    } ranges[] = {
        {SCMP_ARCH_X86_64, 0, 1023},
        {SCMP_ARCH_X86, 0, 1023},
        {SCMP_ARCH_X32, 0x40000000, 0x400003ff},
        {SCMP_ARCH_AARCH64, 0, 1023},
        {SCMP_ARCH_ARM, 0, 1023},
        {SCMP_ARCH_ARM, 0x0f0000, 0x0f00ff}, /* ARM private syscalls (cacheflush, set_tls) */
    };
    auto_scmp scmp_filter_ctx ctx = filter_new(SCMP_ACT_ERRNO(ENOSYS), e);
    if (!ctx)
        return NULL;
    __attribute__((cleanup(name_list_freep))) struct name_list *names = calloc(1, sizeof *names);
    if (!names)
        return err_set(e, ENOMEM, "list syscall names"), NULL;
    for (size_t i = 0; i < ARRAY_LEN(ranges); i++) {
        if (seccomp_arch_exist(ctx, ranges[i].arch) != 0)
            continue;
        for (int nr = ranges[i].first; nr <= ranges[i].last; nr++) {
            char *name = seccomp_syscall_resolve_num_arch(ranges[i].arch, nr);
            if (!name)
                continue;
            if (names->n == ARRAY_LEN(names->v)) {
                free(name);
                return err_set(e, E2BIG, "list syscall names"), NULL;
            }
            names->v[names->n++] = name;
        }
    }
    qsort(names->v, names->n, sizeof names->v[0], cmp_str);
    for (size_t i = 0; i < names->n; i++) {
        if (i > 0 && strcmp(names->v[i], names->v[i - 1]) == 0)
            continue;
        if (rule_add(ctx, SCMP_ACT_ALLOW, names->v[i], 0, NULL, e) < 0)
            return NULL;
    }
    return take_ptr(&ctx);
}

static scmp_filter_ctx build_json(const char *text, size_t len, uint64_t caps, int *enosys_layer,
                                  struct err *e);

/* Export CTX as classic BPF into PROG (malloc'd). */
static int export_bpf(scmp_filter_ctx ctx, struct sock_fprog *prog, struct err *e)
{
    auto_close int fd = memfd_create("berth-seccomp", MFD_CLOEXEC);
    struct stat st;
    if (fd < 0)
        return err_set(e, errno, "memfd for seccomp filter");
    int rc = seccomp_export_bpf(ctx, fd);
    if (rc < 0)
        return err_set(e, -rc, "export seccomp filter");
    if (fstat(fd, &st) < 0)
        return err_set(e, errno, "stat seccomp filter");
    if (st.st_size <= 0 || st.st_size % (off_t)sizeof(struct sock_filter) ||
        st.st_size / (off_t)sizeof(struct sock_filter) > USHRT_MAX)
        return err_set(e, EINVAL, "exported seccomp filter has a bad size");
    struct sock_filter *f = malloc((size_t)st.st_size);
    if (!f)
        return err_set(e, ENOMEM, "seccomp filter");
    if (pread(fd, f, (size_t)st.st_size, 0) != (ssize_t)st.st_size) {
        free(f);
        return err_set(e, errno ? errno : EIO, "read exported seccomp filter");
    }
    prog->filter = f;
    prog->len = (unsigned short)(st.st_size / (off_t)sizeof(struct sock_filter));
    return 0;
}

int seccomp_compile(const struct seccomp_spec *s, uint64_t caps, struct seccomp_bpf *out,
                    struct err *e)
{
    auto_scmp scmp_filter_ctx ctx = NULL;
    auto_scmp scmp_filter_ctx unknown = NULL;
    int layer = 1;

    memset(out, 0, sizeof *out);
    switch (s->mode) {
    case SECCOMP_MODE_UNCONFINED:
        return 0;
    case SECCOMP_MODE_FILE:
        if (!s->profile_text)
            return err_set(e, EINVAL, "seccomp profile missing");
        ctx = build_json(s->profile_text, s->len, caps, &layer, e);
        break;
    case SECCOMP_MODE_DEFAULT:
        ctx = build_default(caps, e);
        break;
    default:
        return err_set(e, EINVAL, "unknown seccomp mode %d", s->mode);
    }
    if (!ctx)
        return err_wrap(e, "build seccomp profile");
    if (layer && !(unknown = build_unknown_enosys(e)))
        return err_wrap(e, "build seccomp filter for unknown syscalls");
    if (export_bpf(ctx, &out->prog[0], e) < 0)
        return -1;
    out->n = 1;
    if (unknown) {
        if (export_bpf(unknown, &out->prog[1], e) < 0) {
            seccomp_bpf_free(out);
            return -1;
        }
        out->n = 2;
    }
    return 0;
}

int seccomp_bpf_load(const struct seccomp_bpf *b, struct err *e)
{
    /* in the order built: the kernel answers with the newest filter's errno on a tie */
    for (int i = 0; i < b->n; i++)
        if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &b->prog[i]) < 0)
            return err_set(e, errno, "load seccomp filter %d", i);
    return 0;
}

void seccomp_bpf_free(struct seccomp_bpf *b)
{
    for (int i = 0; i < b->n; i++)
        free(b->prog[i].filter);
    memset(b, 0, sizeof *b);
}

/* Load PROFILE, then (when ENOSYS_LAYER) the ENOSYS filter; the order matters, see the
 * header. Both are built before either is loaded. */
static int load_filters(scmp_filter_ctx profile, int enosys_layer, struct err *e)
{
    auto_scmp scmp_filter_ctx unknown = NULL;
    if (enosys_layer) {
        unknown = build_unknown_enosys(e);
        if (!unknown)
            return err_wrap(e, "build seccomp filter for unknown syscalls");
    }
    int rc = seccomp_load(profile);
    if (rc < 0)
        return err_set(e, -rc, "load seccomp filter");
    if (unknown) {
        rc = seccomp_load(unknown);
        if (rc < 0)
            return err_set(e, -rc, "load seccomp filter for unknown syscalls");
    }
    return 0;
}

int seccomp_load_default(uint64_t caps, struct err *e)
{
    auto_scmp scmp_filter_ctx ctx = build_default(caps, e);
    if (!ctx)
        return err_wrap(e, "build default seccomp profile");
    return load_filters(ctx, 1, e);
}

/* ---- Docker-format profiles ---- */

static const struct {
    const char *name;
    uint32_t act; /* ERRNO and TRACE get their data from errnoRet */
} json_actions[] = {
    {"SCMP_ACT_KILL", SCMP_ACT_KILL_THREAD},
    {"SCMP_ACT_KILL_THREAD", SCMP_ACT_KILL_THREAD},
    {"SCMP_ACT_KILL_PROCESS", SCMP_ACT_KILL_PROCESS},
    {"SCMP_ACT_TRAP", SCMP_ACT_TRAP},
    {"SCMP_ACT_ERRNO", SCMP_ACT_ERRNO(0)},
    {"SCMP_ACT_TRACE", SCMP_ACT_TRACE(0)},
    {"SCMP_ACT_ALLOW", SCMP_ACT_ALLOW},
    {"SCMP_ACT_LOG", SCMP_ACT_LOG},
};

static const struct {
    const char *name;
    enum scmp_compare op;
} json_ops[] = {
    {"SCMP_CMP_NE", SCMP_CMP_NE},
    {"SCMP_CMP_LT", SCMP_CMP_LT},
    {"SCMP_CMP_LE", SCMP_CMP_LE},
    {"SCMP_CMP_EQ", SCMP_CMP_EQ},
    {"SCMP_CMP_GE", SCMP_CMP_GE},
    {"SCMP_CMP_GT", SCMP_CMP_GT},
    {"SCMP_CMP_MASKED_EQ", SCMP_CMP_MASKED_EQ},
};

/* Docker's Go names next to libseccomp's for the architectures in includes/excludes. */
static const struct {
    uint32_t token;
    const char *go, *scmp;
} json_arch_names[] = {
    {SCMP_ARCH_X86_64, "amd64", "x86_64"}, {SCMP_ARCH_X86, "386", "x86"},
    {SCMP_ARCH_X32, "x32", "x32"},         {SCMP_ARCH_AARCH64, "arm64", "aarch64"},
    {SCMP_ARCH_ARM, "arm", "arm"},
};

/* A number field that must be a non-negative integer representable exactly, at most MAX. */
static int json_uint(const cJSON *j, const char *what, uint64_t max, uint64_t *out, struct err *e)
{
    if (!cJSON_IsNumber(j))
        return err_set(e, EINVAL, "%s: not a number", what);
    double d = j->valuedouble;
    if (!(d >= 0) || d > 9007199254740992.0 || d != floor(d) || d > (double)max)
        return err_set(e, EINVAL, "%s: %.17g out of range", what, d);
    *out = (uint64_t)d;
    return 0;
}

/* The action named by J (a string), with errnoRet ERRNO_RET (or EPERM when absent). */
static int json_action(const cJSON *j, const cJSON *errno_ret, const char *what, uint32_t *out,
                       struct err *e)
{
    if (!cJSON_IsString(j))
        return err_set(e, EINVAL, "%s: action is not a string", what);
    uint64_t data = EPERM;
    if (errno_ret && !cJSON_IsNull(errno_ret) &&
        json_uint(errno_ret, "errnoRet", 0xffff, &data, e) < 0)
        return err_wrap(e, "%s", what);
    if (strcmp(j->valuestring, "SCMP_ACT_NOTIFY") == 0)
        return err_set(e, EINVAL, "%s: action SCMP_ACT_NOTIFY is not supported", what);
    for (size_t i = 0; i < ARRAY_LEN(json_actions); i++) {
        if (strcmp(j->valuestring, json_actions[i].name) != 0)
            continue;
        *out = json_actions[i].act;
        if (*out == SCMP_ACT_ERRNO(0))
            *out = SCMP_ACT_ERRNO((uint32_t)data);
        else if (*out == SCMP_ACT_TRACE(0))
            *out = SCMP_ACT_TRACE((uint32_t)data);
        return 0;
    }
    return err_set(e, EINVAL, "%s: unknown action '%.64s'", what, j->valuestring);
}

/* Architecture name ("SCMP_ARCH_X86_64", as in "architectures"/"archMap") to its token. */
static int json_arch_token(const cJSON *j, uint32_t *out, struct err *e)
{
    if (!cJSON_IsString(j))
        return err_set(e, EINVAL, "architecture is not a string");
    const char *s = j->valuestring;
    char low[32];
    size_t n = 0;
    if (strncmp(s, "SCMP_ARCH_", 10) == 0)
        s += 10;
    for (; s[n] && n + 1 < sizeof low; n++)
        low[n] = (char)(s[n] >= 'A' && s[n] <= 'Z' ? s[n] - 'A' + 'a' : s[n]);
    low[n] = '\0';
    *out = s[n] ? 0 : seccomp_arch_resolve_name(low);
    if (*out == 0)
        return err_set(e, EINVAL, "unknown architecture '%.64s'", j->valuestring);
    return 0;
}

/* Does the string array J (names of architectures as Docker writes them) name ours? */
static int json_names_native(const cJSON *j)
{
    uint32_t native = seccomp_arch_native();
    const cJSON *it;
    cJSON_ArrayForEach(it, j)
    {
        for (size_t i = 0; i < ARRAY_LEN(json_arch_names); i++)
            if (json_arch_names[i].token == native &&
                (strcmp(it->valuestring, json_arch_names[i].go) == 0 ||
                 strcmp(it->valuestring, json_arch_names[i].scmp) == 0))
                return 1;
    }
    return 0;
}

/* "4.8" against the running kernel: 1 when the kernel is at least that. */
static int kernel_at_least(const char *v)
{
    struct utsname u;
    int kmaj = 0, kmin = 0, vmaj = 0, vmin = 0;
    if (uname(&u) < 0 || sscanf(u.release, "%d.%d", &kmaj, &kmin) < 1)
        return 1; /* cannot tell: assume a current kernel */
    if (sscanf(v, "%d.%d", &vmaj, &vmin) < 1)
        return 1;
    return kmaj > vmaj || (kmaj == vmaj && kmin >= vmin);
}

/* Check an includes/excludes object J and decide it: *HIT = every listed condition holds
 * (INCLUDE: all caps present, our arch listed, kernel new enough) or, for an excludes, any of
 * caps/arches matches. */
static int json_filter(const cJSON *j, int include, uint64_t caps, const char *what, int *hit,
                       struct err *e)
{
    *hit = include;
    if (!j || cJSON_IsNull(j))
        return 0;
    if (!cJSON_IsObject(j))
        return err_set(e, EINVAL, "%s: %s is not an object", what,
                       include ? "includes" : "excludes");
    const cJSON *jc = cJSON_GetObjectItemCaseSensitive(j, "caps");
    const cJSON *ja = cJSON_GetObjectItemCaseSensitive(j, "arches");
    const cJSON *jk = cJSON_GetObjectItemCaseSensitive(j, "minKernel");
    const cJSON *it;
    int any = 0, all = 1;
    if (jc && !cJSON_IsNull(jc)) {
        if (!cJSON_IsArray(jc))
            return err_set(e, EINVAL, "%s: caps is not an array", what);
        cJSON_ArrayForEach(it, jc)
        {
            int cap;
            if (!cJSON_IsString(it))
                return err_set(e, EINVAL, "%s: capability is not a string", what);
            if (caps_parse_name(it->valuestring, &cap, e) < 0)
                return err_wrap(e, "%s", what);
            if (cap < 0)
                return err_set(e, EINVAL, "%s: capability ALL is not allowed here", what);
            if (has_cap(caps, cap))
                any = 1;
            else
                all = 0;
        }
    }
    if (ja && !cJSON_IsNull(ja)) {
        if (!cJSON_IsArray(ja))
            return err_set(e, EINVAL, "%s: arches is not an array", what);
        cJSON_ArrayForEach(it, ja)
        {
            if (!cJSON_IsString(it))
                return err_set(e, EINVAL, "%s: architecture is not a string", what);
        }
        if (cJSON_GetArraySize(ja) > 0) {
            if (json_names_native(ja))
                any = 1;
            else
                all = 0;
        }
    }
    if (jk && !cJSON_IsNull(jk)) {
        if (!cJSON_IsString(jk))
            return err_set(e, EINVAL, "%s: minKernel is not a string", what);
        if (include && !kernel_at_least(jk->valuestring))
            all = 0;
    }
    *hit = include ? all : any;
    return 0;
}

static int json_args(const cJSON *ja, const char *what, struct scmp_arg_cmp *cmp, unsigned *n,
                     struct err *e)
{
    const cJSON *it;
    *n = 0;
    if (!ja || cJSON_IsNull(ja))
        return 0;
    if (!cJSON_IsArray(ja))
        return err_set(e, EINVAL, "%s: args is not an array", what);
    cJSON_ArrayForEach(it, ja)
    {
        uint64_t idx, v = 0, v2 = 0;
        if (*n == 6)
            return err_set(e, EINVAL, "%s: more than 6 args", what);
        if (!cJSON_IsObject(it))
            return err_set(e, EINVAL, "%s: arg is not an object", what);
        const cJSON *jop = cJSON_GetObjectItemCaseSensitive(it, "op");
        const cJSON *jv2 = cJSON_GetObjectItemCaseSensitive(it, "valueTwo");
        if (json_uint(cJSON_GetObjectItemCaseSensitive(it, "index"), "index", 5, &idx, e) < 0 ||
            json_uint(cJSON_GetObjectItemCaseSensitive(it, "value"), "value", UINT64_MAX, &v, e) <
                0 ||
            (jv2 && json_uint(jv2, "valueTwo", UINT64_MAX, &v2, e) < 0))
            return err_wrap(e, "%s: arg", what);
        if (!cJSON_IsString(jop))
            return err_set(e, EINVAL, "%s: arg op is not a string", what);
        size_t k = 0;
        while (k < ARRAY_LEN(json_ops) && strcmp(jop->valuestring, json_ops[k].name) != 0)
            k++;
        if (k == ARRAY_LEN(json_ops))
            return err_set(e, EINVAL, "%s: unknown op '%.64s'", what, jop->valuestring);
        cmp[*n] = (struct scmp_arg_cmp){(unsigned)idx, json_ops[k].op, v, v2};
        (*n)++;
    }
    return 0;
}

/* Add the architectures the profile names for our native one: its archMap entry's
 * subArchitectures, and the old flat "architectures" list. */
static int json_arches(scmp_filter_ctx ctx, const cJSON *root, struct err *e)
{
    const cJSON *jl = cJSON_GetObjectItemCaseSensitive(root, "architectures");
    const cJSON *jm = cJSON_GetObjectItemCaseSensitive(root, "archMap");
    const cJSON *it, *sub;
    uint32_t tok;
    int rc;
    if (jl && !cJSON_IsNull(jl)) {
        if (!cJSON_IsArray(jl))
            return err_set(e, EINVAL, "architectures is not an array");
        cJSON_ArrayForEach(it, jl)
        {
            if (json_arch_token(it, &tok, e) < 0)
                return -1;
            rc = seccomp_arch_add(ctx, tok);
            if (rc < 0 && rc != -EEXIST)
                return err_set(e, -rc, "add architecture '%s'", it->valuestring);
        }
    }
    if (!jm || cJSON_IsNull(jm))
        return 0;
    if (!cJSON_IsArray(jm))
        return err_set(e, EINVAL, "archMap is not an array");
    cJSON_ArrayForEach(it, jm)
    {
        const cJSON *ja = cJSON_GetObjectItemCaseSensitive(it, "architecture");
        const cJSON *js = cJSON_GetObjectItemCaseSensitive(it, "subArchitectures");
        if (!cJSON_IsObject(it) || json_arch_token(ja, &tok, e) < 0)
            return err_set(e, EINVAL, "archMap: entry without a valid architecture");
        if (js && !cJSON_IsNull(js) && !cJSON_IsArray(js))
            return err_set(e, EINVAL, "archMap: subArchitectures is not an array");
        int ours = tok == seccomp_arch_native();
        cJSON_ArrayForEach(sub, js)
        {
            uint32_t st;
            if (json_arch_token(sub, &st, e) < 0)
                return err_wrap(e, "archMap");
            if (!ours)
                continue;
            rc = seccomp_arch_add(ctx, st);
            if (rc < 0 && rc != -EEXIST)
                return err_set(e, -rc, "add architecture '%s'", sub->valuestring);
        }
    }
    return 0;
}

/* One entry of "syscalls". *SECCOMP_OK is set when it allows seccomp(2) unconditionally. */
static int json_syscall(scmp_filter_ctx ctx, const cJSON *js, size_t i, uint32_t def, uint64_t caps,
                        int *seccomp_ok, struct err *e)
{
    char what[48];
    struct scmp_arg_cmp cmp[6];
    unsigned ncmp;
    uint32_t act;
    int inc, exc;
    (void)snprintf(what, sizeof what, "syscalls[%zu]", i); /* cannot truncate */
    if (!cJSON_IsObject(js))
        return err_set(e, EINVAL, "%s: not an object", what);
    const cJSON *jnames = cJSON_GetObjectItemCaseSensitive(js, "names");
    const cJSON *jname = cJSON_GetObjectItemCaseSensitive(js, "name");
    if (json_action(cJSON_GetObjectItemCaseSensitive(js, "action"),
                    cJSON_GetObjectItemCaseSensitive(js, "errnoRet"), what, &act, e) < 0 ||
        json_args(cJSON_GetObjectItemCaseSensitive(js, "args"), what, cmp, &ncmp, e) < 0 ||
        json_filter(cJSON_GetObjectItemCaseSensitive(js, "includes"), 1, caps, what, &inc, e) < 0 ||
        json_filter(cJSON_GetObjectItemCaseSensitive(js, "excludes"), 0, caps, what, &exc, e) < 0)
        return -1;
    if (jnames && !cJSON_IsArray(jnames))
        return err_set(e, EINVAL, "%s: names is not an array", what);
    if (jname && !cJSON_IsString(jname))
        return err_set(e, EINVAL, "%s: name is not a string", what);
    if (!jnames && !jname)
        return err_set(e, EINVAL, "%s: no names", what);
    const cJSON *it;
    cJSON_ArrayForEach(it, jnames)
    {
        if (!cJSON_IsString(it))
            return err_set(e, EINVAL, "%s: syscall name is not a string", what);
    }
    /* a rule that only repeats the default action is redundant, and libseccomp refuses it */
    if (!inc || exc || act == def)
        return 0;
    if (jname && rule_add(ctx, act, jname->valuestring, ncmp, cmp, e) < 0)
        return err_wrap(e, "%s", what);
    if (jname && act == SCMP_ACT_ALLOW && ncmp == 0 && strcmp(jname->valuestring, "seccomp") == 0)
        *seccomp_ok = 1;
    cJSON_ArrayForEach(it, jnames)
    {
        if (rule_add(ctx, act, it->valuestring, ncmp, cmp, e) < 0)
            return err_wrap(e, "%s", what);
        if (act == SCMP_ACT_ALLOW && ncmp == 0 && strcmp(it->valuestring, "seccomp") == 0)
            *seccomp_ok = 1;
    }
    return 0;
}

/* Build the filter of a Docker-format profile; *ENOSYS_LAYER tells whether the unknown-
 * syscall filter belongs after it: the default action is ERRNO, and the profile lets the
 * second filter be loaded at all (it allows seccomp(2)). */
static scmp_filter_ctx build_json(const char *text, size_t len, uint64_t caps, int *enosys_layer,
                                  struct err *e)
{
    if (len > SECCOMP_PROFILE_MAX)
        return err_set(e, EFBIG, "seccomp profile larger than %d bytes", SECCOMP_PROFILE_MAX), NULL;
    auto_json cJSON *root = cJSON_ParseWithLength(text, len);
    if (!root) {
        const char *at = cJSON_GetErrorPtr();
        size_t off = at && at >= text && at <= text + len ? (size_t)(at - text) : len;
        return err_set(e, EINVAL, "seccomp profile: invalid JSON at offset %zu", off), NULL;
    }
    if (!cJSON_IsObject(root))
        return err_set(e, EINVAL, "seccomp profile: not a JSON object"), NULL;
    const cJSON *jda = cJSON_GetObjectItemCaseSensitive(root, "defaultAction");
    if (!jda)
        return err_set(e, EINVAL, "seccomp profile: no defaultAction"), NULL;
    if (cJSON_GetObjectItemCaseSensitive(root, "listenerPath"))
        return err_set(e, EINVAL, "seccomp profile: listenerPath is not supported"), NULL;
    uint32_t def;
    if (json_action(jda, cJSON_GetObjectItemCaseSensitive(root, "defaultErrnoRet"),
                    "seccomp profile: defaultAction", &def, e) < 0)
        return NULL;
    auto_scmp scmp_filter_ctx ctx = filter_new(def, e);
    if (!ctx)
        return NULL;
    /* only the architectures the profile names, plus our native one */
    uint32_t native = seccomp_arch_native();
    for (size_t i = 0; i < ARRAY_LEN(json_arch_names); i++) {
        uint32_t t = json_arch_names[i].token;
        if (t != native && seccomp_arch_exist(ctx, t) == 0) {
            int rc = seccomp_arch_remove(ctx, t);
            if (rc < 0)
                return err_set(e, -rc, "set up seccomp filter"), NULL;
        }
    }
    if (json_arches(ctx, root, e) < 0)
        return err_wrap(e, "seccomp profile"), NULL;
    const cJSON *jsc = cJSON_GetObjectItemCaseSensitive(root, "syscalls");
    if (jsc && !cJSON_IsNull(jsc) && !cJSON_IsArray(jsc))
        return err_set(e, EINVAL, "seccomp profile: syscalls is not an array"), NULL;
    const cJSON *it;
    size_t i = 0;
    int seccomp_ok = 0;
    cJSON_ArrayForEach(it, jsc)
    {
        if (json_syscall(ctx, it, i++, def, caps, &seccomp_ok, e) < 0)
            return err_wrap(e, "seccomp profile"), NULL;
    }
    *enosys_layer = (def & 0xffff0000U) == SCMP_ACT_ERRNO(0) && seccomp_ok;
    return take_ptr(&ctx);
}

int seccomp_profile_validate(const char *text, size_t len, struct err *e)
{
    int layer;
    /* with no capability and with all: includes/excludes pick different rules */
    auto_scmp scmp_filter_ctx a = build_json(text, len, 0, &layer, e);
    if (!a)
        return -1;
    auto_scmp scmp_filter_ctx b = build_json(text, len, caps_all(), &layer, e);
    if (!b)
        return -1;
    return 0;
}

int seccomp_load_file(const char *text, size_t len, uint64_t caps, struct err *e)
{
    int layer = 0;
    auto_scmp scmp_filter_ctx ctx = build_json(text, len, caps, &layer, e);
    if (!ctx)
        return -1;
    return load_filters(ctx, layer, e);
}

/* ---- --security-opt seccomp=... ---- */

int seccomp_spec_parse(const char *value, struct seccomp_spec *s, struct err *e)
{
    *s = (struct seccomp_spec){0};
    if (strcmp(value, "unconfined") == 0) {
        s->mode = SECCOMP_MODE_UNCONFINED;
        return 0;
    }
    if (strcmp(value, "default") == 0 || strcmp(value, "builtin") == 0)
        return 0;
    if (!*value)
        return err_set(e, EINVAL, "seccomp: empty profile path");
    size_t len = 0;
    auto_free char *text = util_read_file(value, SECCOMP_PROFILE_MAX, &len, e);
    if (!text)
        return err_wrap(e, "seccomp profile");
    if (seccomp_profile_validate(text, len, e) < 0)
        return err_wrap(e, "'%s'", value);
    s->mode = SECCOMP_MODE_FILE;
    s->profile_text = take_ptr(&text);
    s->len = len;
    return 0;
}

void seccomp_spec_free(struct seccomp_spec *s)
{
    if (!s)
        return;
    free(s->profile_text);
    *s = (struct seccomp_spec){0};
}

int seccomp_spec_load(const struct seccomp_spec *s, uint64_t caps, struct err *e)
{
    switch (s->mode) {
    case SECCOMP_MODE_UNCONFINED:
        return 0;
    case SECCOMP_MODE_FILE:
        if (!s->profile_text)
            return err_set(e, EINVAL, "seccomp profile missing");
        return seccomp_load_file(s->profile_text, s->len, caps, e);
    case SECCOMP_MODE_DEFAULT:
        return seccomp_load_default(caps, e);
    default:
        return err_set(e, EINVAL, "unknown seccomp mode %d", s->mode);
    }
}
