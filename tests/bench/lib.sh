# SPDX-License-Identifier: MIT
# tests/bench/lib.sh - what the benchmarks (run.sh, storage.sh, exec.sh) share. A benchmark
# sources it first (`. "$(dirname "$0")/lib.sh"`, its own arguments untouched), sets its
# parameters (TIMEOUT among them) and calls bench_init, which sets D (the one temporary
# directory), SOCK, ANOMALIES, BERTHD, BERTH_BIN and IMAGE_SRC.

# Timing uses bash's $EPOCHREALTIME (no fork per sample): a benchmark started by sh re-executes
# itself under bash here, before sh reads anything bash-only below.
if [ -z "${BASH_VERSION:-}" ]; then
    exec bash "$0" "$@"
fi
set -u
export LC_ALL=C
BUILD=${1:-build}
TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$TOP" || exit 2

b() { "$BERTH_BIN" --socket "$SOCK" "$@"; }
cr() { crun --root "$CRUN_ROOT" "$@"; }
rc_() { runc --root "$RUNC_ROOT" "$@"; }

die() {
    echo "bench: $*" >&2
    exit 2
}

anomaly() {
    echo "  !! $*" >&2
    echo "$*" >>"$ANOMALIES"
}

phase() {
    echo "$*" >"$D/phase"
}

HAVE_CRUN=0
HAVE_RUNC=0
HUGETLB=/sys/fs/cgroup/hugetlb
HUGETLB_MOUNTED=0
HUGETLB_MKDIR=0
WD_PID=

# bench_init NAME TOOL...: needs root, a build ($BUILD/berthd, berth, images/busybox) and the
# TOOLs, else exit 2. Makes D=/tmp/NAME.XXXXXX, sets the exit trap (cleanup) and starts the
# watchdog.
bench_init() {
    local name=$1 t
    shift
    BERTHD="$TOP/$BUILD/berthd"
    BERTH_BIN="$TOP/$BUILD/berth"
    IMAGE_SRC="$TOP/$BUILD/images/busybox"
    [ "$(id -u)" = 0 ] || die "needs root"
    [ -x "$BERTHD" ] && [ -x "$BERTH_BIN" ] && [ -f "$IMAGE_SRC/config.json" ] ||
        die "build first: make (missing $BUILD/berthd, $BUILD/berth or $BUILD/images/busybox)"
    for t in "$@"; do
        command -v "$t" >/dev/null || die "$t is needed (make deps)"
    done
    D=$(mktemp -d "/tmp/$name.XXXXXX") || die "mktemp"
    SOCK="$D/sock"
    CRUN_ROOT="$D/crun-state"
    RUNC_ROOT="$D/runc-state"
    ANOMALIES="$D/anomalies"
    : >"$ANOMALIES"
    : >"$D/berthds"
    trap cleanup EXIT
    trap 'exit 130' INT TERM
    start_watchdog
}

# bench_end: exit 1 with the anomalies and the tail of berthd's log if berth misbehaved (or
# berthd SV_PID died), else 0
bench_end() {
    kill -0 "$SV_PID" 2>/dev/null || anomaly "berthd (pid $SV_PID) died during the run"
    if [ -s "$ANOMALIES" ]; then
        echo
        echo "== berth anomalies =="
        sed 's/^/  /' "$ANOMALIES"
        echo "  --- berthd log (last 20 lines)"
        tail -n 20 "$D/berthd.log" | sed 's/^/  /'
        exit 1
    fi
    exit 0
}

# start_berthd VAR ROOT SOCKET LOG [OPTION...]: a berthd of our own on ROOT (busybox copied
# into ROOT/images) and SOCKET, its PID in VAR and in $D/berthds (the watchdog spares it,
# cleanup stops it); exit 2 unless it answers ping within 5 s.
start_berthd() {
    local var=$1 root=$2 sock=$3 log=$4 pid
    shift 4
    mkdir -p "$root/images" && cp -a "$IMAGE_SRC" "$root/images/busybox" || die "copy image"
    "$BERTHD" --root "$root" --socket "$sock" "$@" >>"$log" 2>&1 &
    pid=$!
    printf -v "$var" '%s' "$pid"
    echo "$pid $sock" >>"$D/berthds"
    for _ in $(seq 1 100); do
        [ -S "$sock" ] && "$BERTH_BIN" --socket "$sock" ping >/dev/null 2>&1 && return 0
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.05
    done
    tail -n 20 "$log" >&2
    die "berthd${*:+ $*} did not come up"
}

# stop_berthd PID SOCKET: remove its containers (rm -f), then SIGTERM; SIGKILL after 15 s
stop_berthd() {
    local pid=$1 sock=$2 c
    kill -0 "$pid" 2>/dev/null || return 0
    for c in $(timeout 20 "$BERTH_BIN" --socket "$sock" ps -aq 2>/dev/null); do
        timeout 20 "$BERTH_BIN" --socket "$sock" rm -f "$c" >/dev/null 2>&1
    done
    kill -TERM "$pid" 2>/dev/null
    for _ in $(seq 1 150); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
        echo "bench: berthd $pid did not exit within 15 s of SIGTERM: SIGKILL" >&2
        kill -KILL "$pid" 2>/dev/null
    fi
    wait "$pid" 2>/dev/null
}

# cleanup (the exit trap): every berthd we started, every crun/runc container under D, then
# any process still holding a file of D (container inits: ours, by PID), mounts under D, the
# hugetlb mount oci_probe made, and D itself unless KEEP is set.
cleanup() {
    set +e
    trap - EXIT INT TERM
    local c left pid sock
    if [ -n "$WD_PID" ]; then
        kill "$WD_PID" 2>/dev/null
        wait "$WD_PID" 2>/dev/null
    fi
    while read -r pid sock; do
        stop_berthd "$pid" "$sock"
    done < <(tac "$D/berthds" 2>/dev/null)
    if [ $HAVE_CRUN = 1 ] && [ -d "$CRUN_ROOT" ]; then
        for c in $(cr list -q 2>/dev/null); do
            timeout 20 crun --root "$CRUN_ROOT" delete -f "$c" >/dev/null 2>&1
        done
    fi
    if [ $HAVE_RUNC = 1 ] && [ -d "$RUNC_ROOT" ]; then
        for c in $(rc_ list -q 2>/dev/null); do
            timeout 20 runc --root "$RUNC_ROOT" delete -f "$c" >/dev/null 2>&1
        done
    fi
    # (not this shell: a TERM during `cmd 2>>"$D/f"` runs this with that file open)
    left=$(find /proc/[0-9]*/fd -maxdepth 1 -lname "*$D*" 2>/dev/null | cut -d/ -f3 | sort -u | grep -vx "$$")
    if [ -n "$left" ]; then
        echo "bench: processes left behind holding $D: $left (killed)" >&2
        kill -KILL $left 2>/dev/null
    fi
    if grep -q "$D" /proc/mounts; then
        echo "bench: mounts left behind (lazily unmounted):" >&2
        grep "$D" /proc/mounts >&2
        grep "$D" /proc/mounts | awk '{print $2}' | sort -r | while read -r m; do
            umount -l "$m" 2>/dev/null
        done
    fi
    if [ $HUGETLB_MOUNTED = 1 ]; then
        umount "$HUGETLB" 2>/dev/null || umount -l "$HUGETLB"
        [ $HUGETLB_MKDIR = 1 ] && rmdir "$HUGETLB" 2>/dev/null
    fi
    if [ -n "${KEEP:-}" ]; then
        echo "bench: kept $D"
    else
        rm -rf --one-file-system "$D"
    fi
}

# start_watchdog: if the whole run exceeds TIMEOUT s (berth hung?), say where and end our
# children (never a berthd listed in $D/berthds: cleanup stops it). Sets WD_PID.
start_watchdog() {
    local main_pid=$$
    (
        end=$((SECONDS + TIMEOUT))
        while [ $SECONDS -lt $end ]; do sleep 1; done
        echo "bench: TIMEOUT after ${TIMEOUT}s during: $(cat "$D/phase" 2>/dev/null)" >&2
        for p in $(ps -o pid= --ppid "$main_pid"); do
            [ "$p" != "$BASHPID" ] && ! cut -d' ' -f1 "$D/berthds" | grep -qx "$p" && kill -TERM "$p" 2>/dev/null
        done
        kill -TERM "$main_pid"
    ) &
    WD_PID=$!
}

# oci_detect: HAVE_CRUN and HAVE_RUNC (1 when installed), saying which is skipped
oci_detect() {
    command -v crun >/dev/null && HAVE_CRUN=1
    command -v runc >/dev/null && HAVE_RUNC=1
    [ $HAVE_CRUN = 1 ] || echo "bench: crun not installed (apt-get install -y crun): skipped" >&2
    [ $HAVE_RUNC = 1 ] || echo "bench: runc not installed (apt-get install -y runc): skipped" >&2
}

oci_versions() {
    echo "crun: $([ $HAVE_CRUN = 1 ] && crun --version | head -1 || echo absent)," \
        "runc: $([ $HAVE_RUNC = 1 ] && runc --version | head -1 || echo absent)"
}

# oci_probe [SLEEP_SECS]: OCI bundles for crun/runc under D (mkbundle.sh: B_TRUE runs `true`,
# B_SLEEP `sleep SLEEP_SECS`), then one run of B_TRUE by each runtime, also a warm-up; a
# runtime that does not run here is skipped (HAVE_X=0), OCI_TOOLS lists those that do. crun
# 1.8.1 refuses the hybrid layout while hugetlb sits in cgroup2: mount hugetlb as a v1
# hierarchy for the run (DESIGN §15) if nothing is mounted there; cleanup unmounts it.
oci_probe() {
    local pfx="bb$$"
    mkdir -p "$CRUN_ROOT" "$RUNC_ROOT"
    sh "$TOP/tests/bench/mkbundle.sh" "$IMAGE_SRC/rootfs" "$D" "$@" || die "bundle generation failed"
    B_TRUE="$D/bundle-true"
    # shellcheck disable=SC2034 # for the benchmarks that source this
    B_SLEEP="$D/bundle-sleep"
    if [ $HAVE_CRUN = 1 ]; then
        if ! cr run --bundle "$B_TRUE" "$pfx-probe" </dev/null >/dev/null 2>"$D/crun-probe.err"; then
            if grep -qi hybrid "$D/crun-probe.err" && ! mountpoint -q "$HUGETLB"; then
                [ -d "$HUGETLB" ] || { mkdir "$HUGETLB" && HUGETLB_MKDIR=1; }
                mount -t cgroup -o hugetlb cgroup "$HUGETLB" && HUGETLB_MOUNTED=1
                echo "  mounted hugetlb as a cgroup v1 hierarchy at $HUGETLB for crun (removed on exit)"
            fi
            cr delete -f "$pfx-probe" >/dev/null 2>&1
            if ! cr run --bundle "$B_TRUE" "$pfx-probe2" </dev/null >/dev/null 2>"$D/crun-probe.err"; then
                echo "bench: crun does not run here, skipped: $(head -c 300 "$D/crun-probe.err")" >&2
                HAVE_CRUN=0
            fi
        fi
    fi
    if [ $HAVE_RUNC = 1 ]; then
        if ! rc_ run --bundle "$B_TRUE" "$pfx-probe" </dev/null >/dev/null 2>"$D/runc-probe.err"; then
            echo "bench: runc does not run here, skipped: $(head -c 300 "$D/runc-probe.err")" >&2
            HAVE_RUNC=0
        fi
    fi
    OCI_TOOLS=""
    [ $HAVE_CRUN = 1 ] && OCI_TOOLS="$OCI_TOOLS crun"
    [ $HAVE_RUNC = 1 ] && OCI_TOOLS="$OCI_TOOLS runc"
}

# rounds FN N ITEM...: N rounds of `FN ITEM ROUND` for every ITEM in turn (A B C A B C: the
# VM's speed drifts), with stdin and stdout /dev/null and stderr appended to $D/FN.ITEM.err.
# The time of each run that exits 0 goes to $D/FN.ITEM (microseconds); FAILS[ITEM] counts the
# others.
declare -A FAILS
rounds() {
    local fn=$1 n=$2 i it t0 t1 st
    shift 2
    for it in "$@"; do
        : >"$D/$fn.$it"
        FAILS[$it]=0
    done
    for i in $(seq 1 "$n"); do
        for it in "$@"; do
            t0=$EPOCHREALTIME
            "$fn" "$it" "$i" </dev/null >/dev/null 2>>"$D/$fn.$it.err"
            st=$?
            t1=$EPOCHREALTIME
            if [ $st = 0 ]; then
                elapsed "$t0" "$t1" >>"$D/$fn.$it"
            else
                FAILS[$it]=$((FAILS[$it] + 1))
            fi
        done
    done
}

# rounds_table FN BASE ITEM...: after `rounds FN`, a row per ITEM (its label from `FN_label
# ITEM`): median and p90 in ms, the ratio ITEM/BASE of the medians, the failures if any
rounds_table() {
    local fn=$1 base=$2 it bmed med p90 extra
    shift 2
    read -r bmed _ _ < <(stats "$D/$fn.$base")
    printf '  %-34s %9s %9s %7s\n' "tool" "median" "p90" "ratio"
    for it in "$@"; do
        read -r med p90 _ < <(stats "$D/$fn.$it")
        extra=""
        [ "${FAILS[$it]}" != 0 ] && extra="(${FAILS[$it]} failed: $(sort -u "$D/$fn.$it.err" | head -c 200))"
        printf '  %-34s %9s %9s %7s %s\n' "$("${fn}_label" "$it")" "$med" "$p90" "$(ratio "$med" "$bmed")" "$extra"
    done
}

nfds() { ls "/proc/$1/fd" | wc -l; }
cpu_ms() { # cpu_ms PID: the time PID's threads have run on a CPU, in ms (schedstat: in ns)
    cat /proc/"$1"/task/*/schedstat 2>/dev/null | awk '{ s += $1 } END { printf "%.3f\n", s / 1e6 }'
}

# median FILE: the median of the samples in FILE, in ms ("-" if none)
median() { stats "$1" | cut -d' ' -f1; }

# stats FILE: "median p90 n" in ms from microsecond samples (p90 = nearest rank)
stats() {
    sort -n "$1" 2>/dev/null | awk '{ a[NR] = $1 }
        END {
            if (NR == 0) { print "- - 0"; exit }
            m = (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2
            k = int(0.9 * NR); if (k < 0.9 * NR) k++; if (k < 1) k = 1
            printf "%.2f %.2f %d\n", m / 1000, a[k] / 1000, NR
        }'
}

mibps() { # mibps BYTES MS: MiB/s, "-" if MS is missing
    awk -v b="$1" -v ms="$2" 'BEGIN { if (ms == "-" || ms + 0 == 0) print "-"; else printf "%.1f\n", b / 1048576 / (ms / 1000) }'
}

ratio() { # ratio A B: A/B with 2 decimals, "-" if either is missing
    awk -v a="$1" -v b="$2" 'BEGIN { if (a == "-" || b == "-" || b + 0 == 0) print "-"; else printf "%.2f\n", a / b }'
}

# elapsed T0 T1: microseconds between two $EPOCHREALTIME readings (read them in this shell:
# a command substitution would put its fork inside the measurement)
elapsed() { echo $((${2/./} - ${1/./})); }
