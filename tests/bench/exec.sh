#!/bin/sh
# SPDX-License-Identifier: MIT
# tests/bench/exec.sh BUILD - `berth exec` against `crun exec` and `runc exec`, and the
# throughput of `exec -i` against the host (DESIGN §8, §15).
#
#   make bench                       (run.sh, storage.sh, then this: sh tests/bench/exec.sh build)
#   BENCH_N=30 BENCH_EXEC_MB=1024 sh tests/bench/exec.sh build
#
# 1. `exec CTR true`, client included, N runs each, interleaved A B C A B C: `berth exec` into
#    `berth run -d --name CTR busybox sleep 100000`, `crun exec` and `runc exec` into the same
#    sleep started detached from an OCI bundle (mkbundle.sh); berthd's own CPU time per exec.
#    Afterwards berthd must hold as many fds as before and the container must run nothing but
#    its sleep.
# 2. `exec -i CTR cat` of EXEC_MB MiB of zeros to /dev/null, fed by a pipe (head -c | ...) and
#    by a file (< FILE), against the image's own busybox cat run on the host the same way (the
#    same program, so the difference is what exec costs; GNU cat from a pipe for reference); N
#    runs each, interleaved. berth hands the client's fds to the process (DESIGN §8): the bytes
#    never go through berthd, so berth/host should be about 1 and berthd's CPU time per run
#    that of one `exec true`. The byte count is checked once per variant (wc -c), and a MiB of
#    random bytes compared, so a broken exec cannot look fast. From a file, busybox cat uses
#    sendfile(2) to /dev/null, which hardly touches the bytes: that run is mostly the exec.
# `exec -t` is not measured: it needs a terminal.
#
# The VM's speed drifts: only medians and ratios are meaningful. Everything (berthd with its
# own --root and --socket, the containers, bundles, the input file, the hugetlb v1 mount crun
# needs on the hybrid layout) lives under one temporary directory or is recorded, and is
# removed on exit (KEEP=1 keeps the directory).
# Exit status: 0 when every benchmark ran cleanly, 1 when berth misbehaved (errors, wrong byte
# counts, leftovers), 2 on a setup failure.

# shellcheck source=tests/bench/lib.sh
. "$(dirname "$0")/lib.sh" # bash from here on, set -u, BUILD=$1, cd to the top of the tree

N=${BENCH_N:-30}
MB=${BENCH_EXEC_MB:-1024}
TIMEOUT=${BENCH_TIMEOUT:-900}

CTR=benchexec
OCI_CTR="bx$$"

bench_init berthebench
oci_detect
BB="$IMAGE_SRC/rootfs/bin/busybox"

# ---------------------------------------------------------------- setup

phase "setup"
echo "berth exec benchmarks: $(date -u '+%Y-%m-%dT%H:%M:%SZ'), $(nproc) CPUs, kernel $(uname -r)"
echo "  $(oci_versions), load: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "  tmp: $D   (latency ratios are tool median / berth median: > 1 means berth is faster)"

start_berthd SV_PID "$D/root" "$SOCK" "$D/berthd.log"
oci_probe 100000
b run -d --name "$CTR" busybox sleep 100000 </dev/null >/dev/null 2>"$D/berth-probe.err" ||
    die "berth run -d --name $CTR busybox sleep 100000 fails: $(cat "$D/berth-probe.err")"
[ $HAVE_CRUN = 1 ] && { cr run -d --bundle "$B_SLEEP" "$OCI_CTR" </dev/null >/dev/null 2>"$D/crun-sleep.err" ||
    die "crun run -d of the sleep bundle fails: $(head -c 300 "$D/crun-sleep.err")"; }
[ $HAVE_RUNC = 1 ] && { rc_ run -d --bundle "$B_SLEEP" "$OCI_CTR" </dev/null >/dev/null 2>"$D/runc-sleep.err" ||
    die "runc run -d of the sleep bundle fails: $(head -c 300 "$D/runc-sleep.err")"; }

# berth exec is the thing measured: if it does not work, that is berth misbehaving (exit 1),
# and the other halves still run.
BERTH_EXEC=1
b exec "$CTR" true </dev/null >/dev/null 2>"$D/exec-probe.err"
st=$?
if [ $st != 0 ]; then
    anomaly "berth exec $CTR true fails (exit $st): $(head -c 300 "$D/exec-probe.err")"
    BERTH_EXEC=0
fi

TOOLS=$OCI_TOOLS
[ $BERTH_EXEC = 1 ] && TOOLS="berth$TOOLS"

# ---------------------------------------------------------------- 1. exec true

phase "1. exec true"
echo
echo "== 1. exec of \`true\` into a running sleep, client included (N=$N each, interleaved; ms) =="
exec1() { # exec1 TOOL ROUND
    case $1 in
    berth) b exec "$CTR" true ;;
    crun) cr exec "$OCI_CTR" true ;;
    runc) rc_ exec "$OCI_CTR" true ;;
    esac
}
exec1_label() { echo "$1 exec CTR true"; }
fd0=$(nfds "$SV_PID")
cpu0=$(cpu_ms "$SV_PID")
# shellcheck disable=SC2086
rounds exec1 "$N" $TOOLS
cpu1=$(cpu_ms "$SV_PID")
fd1=$(nfds "$SV_PID")
CPU1=$(awk -v a="$cpu0" -v b="$cpu1" -v n="$N" 'BEGIN { printf "%.2f", (b - a) / n }')
# shellcheck disable=SC2086
rounds_table exec1 berth $TOOLS
BMED=$(median "$D/exec1.berth")
R1=""
for t in crun runc; do
    [ -s "$D/exec1.$t" ] && R1="$R1, $t/berth $(ratio "$(median "$D/exec1.$t")" "$BMED")"
done
if [ $BERTH_EXEC = 1 ]; then
    echo "  berthd's own CPU time: $CPU1 ms per exec"
    [ "${FAILS[berth]}" = 0 ] || anomaly "exec true failed ${FAILS[berth]}/$N times"
    [ "$fd0" = "$fd1" ] || anomaly "berthd held $fd0 fds before $N execs and $fd1 after"
    # the container runs its sleep and, now, ps: anything else is an exec left behind
    b exec "$CTR" ps -o pid,stat,comm </dev/null >"$D/ps.out" 2>&1
    extra=$(awk 'NR > 1 && $3 != "sleep" && $3 != "ps"' "$D/ps.out")
    [ -z "$extra" ] && [ "$(wc -l <"$D/ps.out")" = 3 ] ||
        anomaly "after $N execs the container runs more than its sleep: $(tr '\n' ';' <"$D/ps.out" | head -c 300)"
fi

# ---------------------------------------------------------------- 2. exec -i throughput

phase "2. exec -i cat"
echo
echo "== 2. exec -i CTR cat of $MB MiB to /dev/null, berth vs the host (N=$N each, interleaved) =="
BYTES=$((MB * 1048576))
IN="$D/input"
head -c "$BYTES" /dev/zero >"$IN" || die "cannot write the $MB MiB input file"
head -c 1048576 /dev/urandom >"$D/random" || die "cannot write the random input"
cat "$IN" >/dev/null # in the page cache for every variant alike
V2="berth-pipe host-pipe gnu-pipe berth-file host-file"
[ $BERTH_EXEC = 1 ] || V2="host-pipe gnu-pipe host-file"
cat_label() {
    case $1 in
    berth-pipe) echo "head -c | berth exec -i CTR cat" ;;
    host-pipe) echo "head -c | busybox cat (host)" ;;
    gnu-pipe) echo "head -c | cat (host, GNU)" ;;
    berth-file) echo "berth exec -i CTR cat < FILE" ;;
    host-file) echo "busybox cat < FILE (host)" ;;
    esac
}
cat1() { # cat1 VARIANT [ROUND]: the variant once, its output to stdout
    case $1 in
    berth-pipe) head -c "$BYTES" /dev/zero | b exec -i "$CTR" cat ;;
    host-pipe) head -c "$BYTES" /dev/zero | "$BB" cat ;;
    gnu-pipe) head -c "$BYTES" /dev/zero | cat ;;
    berth-file) b exec -i "$CTR" cat <"$IN" ;;
    host-file) "$BB" cat <"$IN" ;;
    esac
}
if [ $BERTH_EXEC = 1 ]; then
    # not timed: the bytes that come out, so a broken exec cannot look fast
    for v in berth-pipe berth-file; do
        got=$(cat1 $v 2>>"$D/cat.err" | wc -c)
        [ "$got" = "$BYTES" ] || anomaly "$(cat_label $v): $got bytes out of $BYTES"
    done
    b exec -i "$CTR" cat <"$D/random" 2>>"$D/cat.err" | cmp -s - "$D/random" ||
        anomaly "berth exec -i CTR cat changed a MiB of random bytes"
fi
cpu0=$(cpu_ms "$SV_PID")
# shellcheck disable=SC2086
rounds cat1 "$N" $V2
cpu1=$(cpu_ms "$SV_PID")
declare -A TP
printf '  %-34s %9s %9s %9s\n' "variant" "median ms" "p90 ms" "MiB/s"
for v in $V2; do
    read -r med p90 _ < <(stats "$D/cat1.$v")
    TP[$v]=$(mibps "$BYTES" "$med")
    extra=""
    [ "${FAILS[$v]}" = 0 ] || extra="(${FAILS[$v]} failed: $(sort -u "$D/cat1.$v.err" | head -c 200))"
    printf '  %-34s %9s %9s %9s %s\n' "$(cat_label $v)" "$med" "$p90" "${TP[$v]}" "$extra"
    case $v in berth-*) [ "${FAILS[$v]}" = 0 ] || anomaly "$(cat_label $v) failed ${FAILS[$v]}/$N times" ;; esac
done
TP_PIPE=$(ratio "${TP[berth-pipe]:--}" "${TP[host-pipe]}")
TP_FILE=$(ratio "${TP[berth-file]:--}" "${TP[host-file]}")
echo "  berth/host: pipe $TP_PIPE, file $TP_FILE (MiB/s ratios; about 1 when no byte goes through berthd)"
if [ $BERTH_EXEC = 1 ]; then
    # A run costs berth one exec; copying the bytes would cost berthd CPU time as well (a
    # splice or read/write loop: well over 0.05 ms per MiB).
    over() { awk -v a="$(median "$D/cat1.berth-$1")" -v b="$(median "$D/cat1.host-$1")" 'BEGIN { printf "%.2f", a - b }'; }
    CPU2=$(awk -v a="$cpu0" -v b="$cpu1" -v n="$N" 'BEGIN { printf "%.2f", (b - a) / (2 * n) }')
    echo "  time over the host per run: pipe $(over pipe) ms, file $(over file) ms (one exec true: $BMED ms)"
    echo "  berthd's own CPU time: $CPU2 ms per run of $MB MiB ($CPU1 ms per exec true)"
    awk -v c="$CPU2" -v e="$CPU1" -v mb="$MB" 'BEGIN { exit !(c - e > 2 + 0.05 * mb) }' &&
        anomaly "berthd used $CPU2 ms of CPU per exec -i run of $MB MiB against $CPU1 per exec true: do the bytes go through it?"
fi

# ---------------------------------------------------------------- removal and leftovers

phase "removal"
b rm -f "$CTR" >/dev/null 2>"$D/rm.err" || anomaly "rm -f $CTR failed: $(cat "$D/rm.err")"
[ $HAVE_CRUN = 1 ] && cr delete -f "$OCI_CTR" >/dev/null 2>&1
[ $HAVE_RUNC = 1 ] && rc_ delete -f "$OCI_CTR" >/dev/null 2>&1
[ "$(b ps -aq | wc -l)" = 0 ] || anomaly "containers still listed after rm -f"
grep -q "$D/root" /proc/mounts && anomaly "mounts left under the root after rm -f: $(grep -c "$D/root" /proc/mounts)"

# ---------------------------------------------------------------- summary

phase "summary"
echo
echo "== summary (medians; latency ratios tool/berth, throughput ratios berth/host) =="
echo "  exec true: berth $BMED ms${R1}"
echo "  exec -i cat, $MB MiB: pipe ${TP[berth-pipe]:--} MiB/s (host ${TP[host-pipe]}, $TP_PIPE)," \
    "file ${TP[berth-file]:--} MiB/s (host ${TP[host-file]}, $TP_FILE)"
ok=$(awk -v r="$TP_PIPE" 'BEGIN { exit !(r != "-" && r + 0 >= 0.8) }' && echo ok || echo MISS)
echo "  [$ok] exec -i bytes do not go through berthd (pipe throughput berth/host >= 0.80): $TP_PIPE"

bench_end
