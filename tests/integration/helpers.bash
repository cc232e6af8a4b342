# tests/integration/helpers.bash - shared setup for the bats suites. Each test gets its own
# berthd with a private root and socket; teardown stops it and asserts that nothing is left
# behind (mounts, processes holding the test's files, the daemon itself).

TOP=${TOP:-$(cd "$BATS_TEST_DIRNAME/../.." && pwd)}
BUILD=${BUILD:-build}
BERTHD="$TOP/$BUILD/berthd"
BERTH="$TOP/$BUILD/berth"
IMAGE_SRC="$TOP/$BUILD/images/busybox"

require_root() {
    [ "$(id -u)" = 0 ] || skip "needs root"
}

# b ARGS...: the client on this test's socket
b() {
    "$BERTH" --socket "$SOCK" "$@"
}

# q LINE...: raw protocol lines through socat (one connection)
q() {
    printf '%s\n' "$@" | timeout 10 socat -t 5 - UNIX-CONNECT:"$SOCK"
}

# Start berthd on ROOT (created) and wait until it answers.
sv_launch() {
    # SV_WRAP: a command berthd runs under, e.g. "unshare -n" for a network namespace of its
    # own (unshare execs berthd, so SV_PID is berthd's)
    ${SV_WRAP:-} "$BERTHD" --root "$ROOT" --socket "$SOCK" --log-level debug "$@" >>"$TESTDIR/berthd.log" 2>&1 &
    SV_PID=$!
    for _ in $(seq 1 100); do
        if [ -S "$SOCK" ] && q ping 2>/dev/null | grep -q '^ok'; then
            return 0
        fi
        kill -0 "$SV_PID" 2>/dev/null || { cat "$TESTDIR/berthd.log" >&2; return 1; }
        sleep 0.05
    done
    echo "berthd did not come up" >&2
    return 1
}

# A fresh TESTDIR with ROOT (the busybox image in it) and SOCK, for sv_launch or a launcher of
# one's own; sv_started then records what sv_stop checks.
sv_prepare() {
    TESTDIR=$(mktemp -d /tmp/bthtest.XXXXXX)
    CGPARENT=
    FWTABLE=
    ROOT="$TESTDIR/root"
    SOCK="$TESTDIR/sock"
    export TESTDIR ROOT SOCK
    mkdir -p "$ROOT/images"
    cp -a "$IMAGE_SRC" "$ROOT/images/busybox"
}

sv_started() {
    CGPARENT=$(q info | sed 's/^ok //' | jq -r '.CgroupParent // empty')
    FWTABLE=$(q info | sed 's/^ok //' | jq -r '.FirewallTable // empty')
}

sv_start() {
    sv_prepare
    sv_launch "$@" || return 1
    sv_started
}

# Graceful stop (SIGTERM): waits up to 30 s.
sv_term() {
    [ -n "${SV_PID:-}" ] || return 0
    kill -TERM "$SV_PID" 2>/dev/null || true
    for _ in $(seq 1 300); do
        kill -0 "$SV_PID" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$SV_PID" 2>/dev/null; then
        echo "berthd $SV_PID did not exit after SIGTERM" >&2
        kill -KILL "$SV_PID" 2>/dev/null || true
        wait "$SV_PID" 2>/dev/null || true
        SV_PID=
        return 1
    fi
    wait "$SV_PID" 2>/dev/null || true
    SV_PID=
}

# Hard stop (SIGKILL): containers stay up.
sv_kill9() {
    kill -KILL "$SV_PID"
    wait "$SV_PID" 2>/dev/null || true
    SV_PID=
}

# PIDs of processes that hold a file of this test open (container inits hold their FIFOs).
leftover_pids() {
    # one find instead of an ls per process: ~0.03 s instead of ~2.5 s on a busy machine
    find /proc/[0-9]*/fd -maxdepth 1 -lname "*$TESTDIR*" 2>/dev/null | cut -d/ -f3 | sort -u
}

sv_stop() {
    [ -n "${TESTDIR:-}" ] || return 0
    local rc=0 links="" br
    # the bridges of this berthd and the veths on them: all gone once it has stopped
    for br in $(b network ls --format json 2>/dev/null | jq -r '.Options["com.docker.network.bridge.name"] // empty'); do
        links="$links $br $(ip -o link show master "$br" 2>/dev/null | awk -F': ' '{ sub(/@.*/, "", $2); print $2 }')"
    done
    sv_term || rc=1
    if [ -n "${links// /}" ] && ! eventually links_gone $links; then
        echo "links left behind:$(for l in $links; do ip link show "$l" >/dev/null 2>&1 && printf ' %s' "$l"; done)" >&2
        for l in $links; do ip link del "$l" 2>/dev/null; done
        rc=1
    fi
    local left
    left=$(leftover_pids)
    if [ -n "$left" ]; then
        echo "processes left behind: $left" >&2
        # only processes holding this test's own files: ours to end
        kill -KILL $left 2>/dev/null || true
        rc=1
    fi
    if [ -n "${CGPARENT:-}" ] && [ -n "$(find /sys/fs/cgroup -maxdepth 6 -name "$CGPARENT" 2>/dev/null)" ]; then
        echo "cgroups left behind:" >&2
        find /sys/fs/cgroup -maxdepth 6 -name "$CGPARENT" >&2
        find /sys/fs/cgroup -maxdepth 6 -name "$CGPARENT" -exec sh -c 'find "$1" -depth -type d -exec rmdir {} \; ' _ {} \; 2>/dev/null
        rc=1
    fi
    if [ -n "${FWTABLE:-}" ] && nft list table ip "$FWTABLE" >/dev/null 2>&1; then
        echo "nft table left behind: ip $FWTABLE" >&2
        nft delete table ip "$FWTABLE" 2>/dev/null
        rc=1
    fi
    if grep -q "$TESTDIR" /proc/mounts; then
        echo "mounts left behind:" >&2
        grep "$TESTDIR" /proc/mounts >&2
        rc=1
    fi
    if [ $rc -ne 0 ] || [ -n "${KEEP_LOG:-}" ]; then
        echo "--- berthd log" >&2
        tail -n 50 "$TESTDIR/berthd.log" >&2
    fi
    rm -rf "$TESTDIR"
    return $rc
}

# links_gone NAME...: none of these network links exists
links_gone() {
    local l
    for l in "$@"; do
        ip link show "$l" >/dev/null 2>&1 && return 1
    done
    return 0
}

# Wait until COMMAND... succeeds (up to 10 s).
eventually() {
    for _ in $(seq 1 100); do
        if "$@" >/dev/null 2>&1; then
            return 0
        fi
        sleep 0.1
    done
    "$@"
}

# state NAME: the container's State.Status
state() {
    b inspect "$1" | jq -r '.[0].State.Status'
}

exit_code_of() {
    b inspect "$1" | jq -r '.[0].State.ExitCode'
}

# state_is NAME STATE: for eventually (its arguments are expanded once, a function is re-run)
state_is() {
    [ "$(state "$1")" = "$2" ]
}

# probe_bin DIR: DIR/probe (built there unless present), a small static program that makes one
# raw syscall per argument and prints "NAME ERRNO" ("OK" when it succeeded); busybox has no
# way to call ptrace/reboot/kexec_load. `reboot` uses a bad magic: it never reboots, and
# answers EINVAL only once the permission checks (CAP_SYS_BOOT, seccomp) let it through.
# `caps` prints the effective uid and CapEff. Used by isolation.bats and probes.sh.
probe_bin() {
    local out=$1/probe
    if [ ! -x "$out" ]; then
        cat >"$out.c" <<'CSRC'
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <stdio.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
static void say(const char *n, long r) { printf("%s %s\n", n, r < 0 ? strerrorname_np(errno) : "OK"); }
int main(int argc, char **argv) {
    for (int k = 1; k < argc; k++) {
        const char *a = argv[k];
        errno = 0;
        if (!strcmp(a, "reboot")) say(a, syscall(SYS_reboot, 0, 0, 0, NULL));
        else if (!strcmp(a, "init_module")) say(a, syscall(SYS_init_module, "junk", 4L, ""));
        else if (!strcmp(a, "kexec_load")) say(a, syscall(SYS_kexec_load, 0L, 0L, NULL, 0xdead0000L));
        else if (!strcmp(a, "ptrace")) {
            pid_t c = fork();
            if (c == 0) { pause(); _exit(0); }
            say(a, ptrace(PTRACE_ATTACH, c, NULL, NULL));
            kill(c, SIGKILL);
            waitpid(c, NULL, 0);
        } else if (!strcmp(a, "caps")) {
            char l[256];
            FILE *f = fopen("/proc/self/status", "r");
            printf("euid %d\n", (int)geteuid());
            while (f && fgets(l, sizeof l, f))
                if (!strncmp(l, "CapEff", 6)) fputs(l, stdout);
        } else if (!strcmp(a, "udpecho") && k + 1 < argc) {
            /* udpecho PORT: echo every datagram back to its sender, for ever */
            struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(atoi(argv[++k]))};
            int fd = socket(AF_INET, SOCK_DGRAM, 0);
            char buf[65536];
            if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0) { perror("udpecho"); return 1; }
            for (;;) {
                struct sockaddr_in from;
                socklen_t fl = sizeof from;
                ssize_t n = recvfrom(fd, buf, sizeof buf, 0, (struct sockaddr *)&from, &fl);
                if (n >= 0) sendto(fd, buf, (size_t)n, 0, (struct sockaddr *)&from, fl);
            }
        } else printf("%s ?\n", a);
    }
    return 0;
}
CSRC
        cc -static -O1 -o "$out.tmp" "$out.c" && mv "$out.tmp" "$out" || return 1
        rm -f "$out.c"
    fi
    echo "$out"
}

# install_probe BIN ROOTFS: /probe and a setuid-root copy /suprobe in ROOTFS (a private copy)
install_probe() {
    install -m 0755 -o 0 -g 0 "$1" "$2/probe"
    install -m 4755 -o 0 -g 0 "$1" "$2/suprobe"
}
