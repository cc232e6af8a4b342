#!/bin/sh
# SPDX-License-Identifier: MIT
# tests/bench/run.sh BUILD - berth vs crun vs runc, side by side on this machine (DESIGN §15).
#
#   make bench                       (this, sh tests/bench/run.sh build, then storage.sh)
#   BENCH_N=30 BENCH_CTRS=100 BENCH_ROUNDS=3 BENCH_IDLE_SECS=10 sh tests/bench/run.sh build
#
# 1. run-to-exit of `true`, client included, N runs each, interleaved A B C A B C
# 1b. the cost of the security setup per start: default vs --privileged (no seccomp, masking
#    or capability work) vs a second berthd with --cgroups off, as ratios to that core start;
#    and --init
# 1c. networking: run-to-exit on the default bridge vs --network none; the published-port
#    proxy's throughput (50 MB over HTTP) and latency (small requests) vs the container's
#    address directly
# 2. CTRS detached `sleep 1000`: time until all are running (sequential, and xargs -P 8), then
#    the time to remove them all; berthd VmRSS before/after -> KiB per container
# 3. berthd idle wakeups with 10 running containers (perf stat, plus context switches)
# 4. size of the static berthd (`make static`)
#
# The VM's speed drifts: only medians and ratios (tool median / berth median) are meaningful.
# Every object created here (berthd, containers, bundles, the hugetlb v1 mount crun needs on
# the hybrid layout) lives under one temporary directory or is recorded, and is removed on exit.
# Exit status: 0 when every benchmark ran cleanly, 1 when berth misbehaved (errors, containers
# not running, leftovers), 2 on a setup failure.

# shellcheck source=tests/bench/lib.sh
. "$(dirname "$0")/lib.sh" # bash from here on, set -u, BUILD=$1, cd to the top of the tree

N=${BENCH_N:-30}
CTRS=${BENCH_CTRS:-100}
ROUNDS=${BENCH_ROUNDS:-3}
IDLE_SECS=${BENCH_IDLE_SECS:-10}
IDLE_CTRS=${BENCH_IDLE_CTRS:-10}
PAR=${BENCH_PAR:-8}
TIMEOUT=${BENCH_TIMEOUT:-480}

PFX="bb$$"

bench_init berthbench jq
oci_detect
SOCK2="$D/sock2"
b2() { "$BERTH_BIN" --socket "$SOCK2" "$@"; }

# ---------------------------------------------------------------- helpers

rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }
ctxsw() { # voluntary + involuntary context switches over every thread of PID
    cat /proc/"$1"/task/*/status 2>/dev/null | awk '/^(non)?voluntary_ctxt_switches:/ { s += $2 } END { print s + 0 }'
}
ourmounts() { grep -c "$D" /proc/mounts; }
nevents() { b events --since 0 --until "$(date +%s)" 2>/dev/null | wc -l; }
RING_MAX=$(awk '$2 == "EVENTS_RING_MAX" { print $3 }' "$TOP/core/limits.h" 2>/dev/null)
RING_MAX=${RING_MAX:-4096}

# ---------------------------------------------------------------- setup

phase "setup"
echo "berth benchmarks: $(date -u '+%Y-%m-%dT%H:%M:%SZ'), $(nproc) CPUs, kernel $(uname -r)"
echo "  $(oci_versions), load: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "  tmp: $D   (ratios are tool median / berth median: > 1 means berth is faster)"

start_berthd SV_PID "$D/root" "$SOCK" "$D/berthd.log"
oci_probe
b run --rm busybox true >/dev/null 2>"$D/berth-probe.err" ||
    die "berth run --rm busybox true fails: $(cat "$D/berth-probe.err")"

TOOLS="berth$OCI_TOOLS"

# ---------------------------------------------------------------- 1. run-to-exit of `true`

phase "1. run-to-exit"
echo
echo "== 1. run-to-exit of \`true\`, client included (N=$N each, interleaved; ms) =="
run1() { # run1 TOOL ROUND
    case $1 in
    berth) b run --rm busybox true ;;
    crun) cr run --bundle "$B_TRUE" "$PFX-t$2" ;;
    runc) rc_ run --bundle "$B_TRUE" "$PFX-t$2" ;;
    esac
}
run1_label() {
    case $1 in
    berth) echo "berth run --rm busybox true" ;;
    crun) echo "crun run --bundle B id" ;;
    runc) echo "runc run --bundle B id" ;;
    esac
}
# shellcheck disable=SC2086
rounds run1 "$N" $TOOLS
# shellcheck disable=SC2086
rounds_table run1 berth $TOOLS
[ "${FAILS[berth]}" != 0 ] && anomaly "run --rm true failed ${FAILS[berth]}/$N times"
R1_CRUN=$(ratio "$(median "$D/run1.crun")" "$(median "$D/run1.berth")")
# the foreground runs remove their containers; anything left is deleted (and reported)
[ $HAVE_CRUN = 1 ] && for c in $(cr list -q); do cr delete -f "$c" >/dev/null 2>&1; done
[ $HAVE_RUNC = 1 ] && for c in $(rc_ list -q); do rc_ delete -f "$c" >/dev/null 2>&1; done
left=$(b ps -aq | wc -l)
[ "$left" = 0 ] || anomaly "after $N \`run --rm\`: $left containers still listed by berth ps -a"

# ---------------------------------------------------------------- 1b. security cost

phase "1b. security cost"
echo
echo "== 1b. cost of the security setup per start: run --rm busybox true (N=$N each, interleaved; ms) =="
start_berthd SV2_PID "$D/root2" "$SOCK2" "$D/berthd2.log" --cgroups off
# variant name, then the command
V1B="default privileged nocg core init"
v1b_label() {
    case $1 in
    default) echo "default (cgroup + caps + seccomp + masks)" ;;
    privileged) echo "--privileged (cgroup only)" ;;
    nocg) echo "--cgroups off (caps + seccomp + masks)" ;;
    core) echo "--cgroups off --privileged (core)" ;;
    init) echo "default + --init" ;;
    esac
}
for v in $V1B; do : >"$D/s1b.$v"; done
ERR1B=0
for i in $(seq 1 "$N"); do
    for v in $V1B; do
        t0=$EPOCHREALTIME
        case $v in
        default) b run --rm busybox true ;;
        privileged) b run --rm --privileged busybox true ;;
        nocg) b2 run --rm busybox true ;;
        core) b2 run --rm --privileged busybox true ;;
        init) b run --rm --init busybox true ;;
        esac </dev/null >/dev/null 2>>"$D/err1b"
        st=$?
        t1=$EPOCHREALTIME
        if [ $st = 0 ]; then elapsed "$t0" "$t1" >>"$D/s1b.$v"; else ERR1B=$((ERR1B + 1)); fi
    done
done
read -r cmed _ _ < <(stats "$D/s1b.core")
printf '  %-44s %9s %9s %9s\n' "variant" "median" "p90" "vs core"
for v in $V1B; do
    read -r med p90 _ < <(stats "$D/s1b.$v")
    printf '  %-44s %9s %9s %9s\n' "$(v1b_label $v)" "$med" "$p90" "$(ratio "$med" "$cmed")"
done
read -r dmed _ _ < <(stats "$D/s1b.default")
read -r pmed _ _ < <(stats "$D/s1b.privileged")
read -r nmed _ _ < <(stats "$D/s1b.nocg")
echo "  security setup per start: $(awk -v d="$dmed" -v c="$cmed" 'BEGIN { printf "%.2f", d - c }') ms in all" \
    "($(ratio "$dmed" "$cmed")x the core start): cgroup $(awk -v p="$pmed" -v c="$cmed" 'BEGIN { printf "%.2f", p - c }') ms," \
    "caps + seccomp + masks $(awk -v n="$nmed" -v c="$cmed" 'BEGIN { printf "%.2f", n - c }') ms"
[ $ERR1B = 0 ] || anomaly "security-cost runs: $ERR1B failed ($(sort -u "$D/err1b" | head -c 200))"
[ "$(b2 ps -aq | wc -l)" = 0 ] || anomaly "second berthd still lists containers after run --rm"
kill -TERM "$SV2_PID" 2>/dev/null
wait "$SV2_PID" 2>/dev/null
SV2_PID=

# ---------------------------------------------------------------- 1c. networking

phase "1c. networking"
echo
echo "== 1c. networking (N=$N each, interleaved; ms) =="
: >"$D/s1c.bridge"
: >"$D/s1c.none"
for i in $(seq 1 "$N"); do
    for v in bridge none; do
        t0=$EPOCHREALTIME
        b run --rm --network "$v" busybox true </dev/null >/dev/null 2>>"$D/err1c"
        st=$?
        t1=$EPOCHREALTIME
        [ $st = 0 ] && elapsed "$t0" "$t1" >>"$D/s1c.$v"
    done
done
read -r nmed np90 _ < <(stats "$D/s1c.none")
read -r bmed bp90 _ < <(stats "$D/s1c.bridge")
printf '  %-44s %9s %9s %9s\n' "run --rm true" "median" "p90" "vs none"
printf '  %-44s %9s %9s %9s\n' "--network none" "$nmed" "$np90" "1.00"
printf '  %-44s %9s %9s %9s\n' "--network bridge (veth, address, hosts)" "$bmed" "$bp90" "$(ratio "$bmed" "$nmed")"
if command -v curl >/dev/null; then
    b run -d --name benchweb -p 127.0.0.1::80 busybox sh -c \
        'mkdir /www && head -c 52428800 /dev/zero >/www/big && echo x >/www/small && exec httpd -f -p 80 -h /www' \
        >/dev/null 2>>"$D/err1c"
    port=$(b inspect benchweb | jq -r '.[0].NetworkSettings.Ports["80/tcp"][0].HostPort')
    addr=$(b inspect benchweb | jq -r '.[0].NetworkSettings.IPAddress')
    for _ in $(seq 1 50); do curl -sf -o /dev/null "http://127.0.0.1:$port/small" && break; sleep 0.1; done
    : >"$D/tp.proxy"
    : >"$D/tp.direct"
    : >"$D/lat.proxy"
    : >"$D/lat.direct"
    for i in $(seq 1 5); do
        curl -sf -o /dev/null -w '%{speed_download}\n' "http://127.0.0.1:$port/big" >>"$D/tp.proxy"
        curl -sf -o /dev/null -w '%{speed_download}\n' "http://$addr/big" >>"$D/tp.direct"
    done
    for i in $(seq 1 "$N"); do
        curl -sf -o /dev/null -w '%{time_total}\n' "http://127.0.0.1:$port/small" | awk '{ printf "%d\n", $1 * 1e6 }' >>"$D/lat.proxy"
        curl -sf -o /dev/null -w '%{time_total}\n' "http://$addr/small" | awk '{ printf "%d\n", $1 * 1e6 }' >>"$D/lat.direct"
    done
    mbs() { sort -n "$1" | awk '{ a[NR] = $1 } END { if (NR) printf "%.0f", a[int((NR + 1) / 2)] / 1048576; else print "-" }'; }
    tpp=$(mbs "$D/tp.proxy")
    tpd=$(mbs "$D/tp.direct")
    read -r lp _ _ < <(stats "$D/lat.proxy")
    read -r ld _ _ < <(stats "$D/lat.direct")
    echo "  published port (proxy on berthd's loop) vs the container's address directly:"
    echo "    50 MB over HTTP: proxy $tpp MiB/s, direct $tpd MiB/s (proxy/direct $(ratio "$tpp" "$tpd"))"
    echo "    small request, curl total: proxy $lp ms, direct $ld ms (proxy/direct $(ratio "$lp" "$ld"))"
    b rm -f benchweb >/dev/null 2>&1 || anomaly "rm -f benchweb failed"
else
    echo "  curl not installed: proxy throughput skipped"
fi
[ -s "$D/err1c" ] && anomaly "networking runs: $(sort -u "$D/err1c" | head -c 200)"

# ---------------------------------------------------------------- 2. CTRS detached containers

# start_seq TOOL ROUND: start CTRS detached sleeps one after the other; per-start samples to
# s2i.TOOL, total/CTRS to s2.start.TOOL-seq
start_seq() {
    local t=$1 r=$2 i t0 t1 tall st fail=0
    : >"$D/ids.$t"
    tall=$EPOCHREALTIME
    for i in $(seq 1 "$CTRS"); do
        t0=$EPOCHREALTIME
        case $t in
        berth) b run -d busybox sleep 1000 </dev/null >>"$D/ids.$t" 2>>"$D/err2.$t" ;;
        crun) cr run -d --bundle "$B_SLEEP" "$PFX-s$r-$i" </dev/null >/dev/null 2>>"$D/err2.$t" ;;
        runc) rc_ run -d --bundle "$B_SLEEP" "$PFX-s$r-$i" </dev/null >/dev/null 2>>"$D/err2.$t" ;;
        esac
        st=$?
        t1=$EPOCHREALTIME
        if [ $st = 0 ]; then elapsed "$t0" "$t1" >>"$D/s2i.$t"; else fail=$((fail + 1)); fi
    done
    t1=$EPOCHREALTIME
    echo $(($(elapsed "$tall" "$t1") / CTRS)) >>"$D/s2.start.$t-seq"
    [ $fail = 0 ] || echo "$t-seq round $r: $fail of $CTRS starts failed" >>"$D/fail2"
}

start_par() {
    local t=$1 r=$2 tall
    : >"$D/ids.$t"
    tall=$EPOCHREALTIME
    case $t in
    berth) seq 1 "$CTRS" | xargs -P "$PAR" -I{} "$BERTH_BIN" --socket "$SOCK" \
        run -d busybox sleep 1000 >>"$D/ids.$t" 2>>"$D/err2.$t" ;;
    crun) seq 1 "$CTRS" | xargs -P "$PAR" -I{} crun --root "$CRUN_ROOT" \
        run -d --bundle "$B_SLEEP" "$PFX-p$r-{}" >/dev/null 2>>"$D/err2.$t" ;;
    runc) seq 1 "$CTRS" | xargs -P "$PAR" -I{} runc --root "$RUNC_ROOT" \
        run -d --bundle "$B_SLEEP" "$PFX-p$r-{}" >/dev/null 2>>"$D/err2.$t" ;;
    esac
    local st=$? t1=$EPOCHREALTIME
    echo $(($(elapsed "$tall" "$t1") / CTRS)) >>"$D/s2.start.$t-par"
    [ $st = 0 ] || echo "$t-par round $r: xargs exit $st (some starts failed)" >>"$D/fail2"
}

running() { # running TOOL: how many containers are running
    case $1 in
    berth) b ps -q | wc -l ;;
    crun) cr list | awk 'NR > 1 && $3 == "running"' | wc -l ;;
    runc) rc_ list | awk 'NR > 1 && $3 == "running"' | wc -l ;;
    esac
}

ids_of() { # ids_of TOOL: the containers to remove
    case $1 in
    berth) cat "$D/ids.berth" ;;
    crun) cr list -q ;;
    runc) rc_ list -q ;;
    esac
}

rm_one() {
    case $1 in
    berth) b rm -f "$2" ;;
    crun) cr delete -f "$2" ;;
    runc) rc_ delete -f "$2" ;;
    esac
}

cleanup_all() { # cleanup_all TOOL MODE ROUND
    local t=$1 mode=$2 r=$3 c tall t1 st=0 n
    ids_of "$t" >"$D/rmlist"
    n=$(wc -l <"$D/rmlist")
    [ "$n" -gt 0 ] || n=1
    tall=$EPOCHREALTIME
    if [ "$mode" = seq ]; then
        while read -r c; do
            rm_one "$t" "$c" </dev/null >/dev/null 2>>"$D/err2rm.$t" || st=1
        done <"$D/rmlist"
    else
        case $t in
        berth) xargs -P "$PAR" -n 1 "$BERTH_BIN" --socket "$SOCK" rm -f <"$D/rmlist" >/dev/null 2>>"$D/err2rm.$t" || st=1 ;;
        crun) xargs -P "$PAR" -n 1 crun --root "$CRUN_ROOT" delete -f <"$D/rmlist" >/dev/null 2>>"$D/err2rm.$t" || st=1 ;;
        runc) xargs -P "$PAR" -n 1 runc --root "$RUNC_ROOT" delete -f <"$D/rmlist" >/dev/null 2>>"$D/err2rm.$t" || st=1 ;;
        esac
    fi
    t1=$EPOCHREALTIME
    echo $(($(elapsed "$tall" "$t1") / n)) >>"$D/s2.rm.$t-$mode"
    [ $st = 0 ] || echo "$t-$mode round $r: some removals failed" >>"$D/fail2"
}

phase "2. $CTRS detached"
echo
echo "== 2. $CTRS detached \`sleep 1000\`: until all running, then remove all ($ROUNDS rounds, interleaved) =="
MODES="seq par"
for r in $(seq 1 "$ROUNDS"); do
    for m in $MODES; do
        for t in $TOOLS; do
            phase "2. round $r: $t $m start"
            if [ $t = berth ]; then
                rss0=$(rss_kb "$SV_PID")
                fd0=$(nfds "$SV_PID")
            fi
            if [ $m = seq ]; then start_seq $t "$r"; else start_par $t "$r"; fi
            nrun=$(running $t)
            if [ "$nrun" != "$CTRS" ]; then
                echo "$t-$m round $r: $nrun of $CTRS running after the starts returned" >>"$D/fail2"
                [ $t = berth ] && anomaly "$m round $r: only $nrun of $CTRS containers running after \`run -d\` returned"
            fi
            if [ $t = berth ]; then
                rss1=$(rss_kb "$SV_PID")
                echo "$r $m $rss0 $rss1 $fd0 $(nfds "$SV_PID")" >>"$D/rss"
            fi
            phase "2. round $r: $t $m remove"
            cleanup_all $t $m "$r"
            if [ $t = berth ]; then
                nleft=$(b ps -aq | wc -l)
                mnt=$(ourmounts)
                echo "$r $m $(rss_kb "$SV_PID") $(nfds "$SV_PID") $nleft $mnt $(nevents)" >>"$D/rss.after"
                [ "$nleft" = 0 ] || anomaly "$m round $r: $nleft containers still listed after rm -f"
                [ "$mnt" = 0 ] || anomaly "$m round $r: $mnt mounts under the test root after rm -f"
            elif nleft=$(ids_of $t | wc -l) && [ "$nleft" != 0 ]; then
                echo "$t-$m round $r: $nleft containers left after delete -f" >>"$D/fail2"
                for c in $(ids_of $t); do rm_one $t "$c" >/dev/null 2>&1; done
            fi
        done
    done
done

print_tbl2() { # print_tbl2 KIND(start|rm) MODE
    local k=$1 m=$2 t med p90 n bm imed ip90 label
    read -r bm _ _ < <(stats "$D/s2.$k.berth-$m")
    for t in $TOOLS; do
        read -r med p90 n < <(stats "$D/s2.$k.$t-$m")
        imed="" ip90=""
        if [ "$k" = start ] && [ "$m" = seq ]; then
            read -r imed ip90 _ < <(stats "$D/s2i.$t")
        fi
        case $k-$t in
        start-berth) label="berth run -d" ;;
        start-crun) label="crun run -d" ;;
        start-runc) label="runc run -d" ;;
        rm-berth) label="berth rm -f" ;;
        rm-crun) label="crun delete -f" ;;
        rm-runc) label="runc delete -f" ;;
        esac
        [ "$m" = par ] && label="$label (xargs -P $PAR)"
        printf '  %-34s %9s %9s %7s %9s %9s\n' "$label" "$med" "$p90" "$(ratio "$med" "$bm")" "$imed" "$ip90"
    done
}
echo "  start, ms per container = total/$CTRS (median and p90 over rounds); single-start median/p90 for sequential"
printf '  %-34s %9s %9s %7s %9s %9s\n' "tool" "median" "p90" "ratio" "1-median" "1-p90"
print_tbl2 start seq
print_tbl2 start par
echo "  removal, ms per container"
printf '  %-34s %9s %9s %7s\n' "tool" "median" "p90" "ratio"
print_tbl2 rm seq
print_tbl2 rm par
R2_CRUN=$(ratio "$(stats "$D/s2.start.crun-seq" | cut -d' ' -f1)" "$(stats "$D/s2.start.berth-seq" | cut -d' ' -f1)")
if [ -s "$D/fail2" ]; then
    echo "  failures:"
    sed 's/^/    /' "$D/fail2"
    for t in $TOOLS; do
        [ -s "$D/err2.$t" ] && echo "    $t start errors: $(sort "$D/err2.$t" | uniq -c | sort -rn | head -3 | tr '\n' ';')"
        [ -s "$D/err2rm.$t" ] && echo "    $t removal errors: $(sort "$D/err2rm.$t" | uniq -c | sort -rn | head -3 | tr '\n' ';')"
    done
fi

echo "  berthd memory (VmRSS KiB) and fds around each batch of $CTRS:"
printf '    %-10s %9s %9s %10s %9s %8s %8s %7s\n' "round/mode" "before" "with $CTRS" "KiB/ctr" "after rm" "fds" "fds rm" "events"
paste -d' ' "$D/rss" "$D/rss.after" | while read -r r m a b f0 f1 _ _ ar afd _ _ ev; do
    printf '    %-10s %9s %9s %10s %9s %8s %8s %7s\n' "$r/$m" "$a" "$b" \
        "$(awk -v a="$a" -v b="$b" -v n="$CTRS" 'BEGIN { printf "%.1f", (b - a) / n }')" "$ar" "$f0->$f1" "$afd" "$ev"
done
# The first batch is the honest per-container figure (later batches reuse freed heap).
read -r _ _ RSS_A RSS_B _ _ < <(head -1 "$D/rss")
KIB_PER=$(awk -v a="$RSS_A" -v b="$RSS_B" -v n="$CTRS" 'BEGIN { printf "%.1f", (b - a) / n }')
first_after=$(head -1 "$D/rss.after" | cut -d' ' -f3)
last_after=$(tail -1 "$D/rss.after" | cut -d' ' -f3)
first_fd=$(head -1 "$D/rss.after" | cut -d' ' -f4)
last_fd=$(tail -1 "$D/rss.after" | cut -d' ' -f4)
echo "    first batch: $KIB_PER KiB per container; RSS after removal: $first_after KiB (first batch) -> $last_after KiB (last);" \
    "fds after removal: $first_fd -> $last_fd"
[ "$first_fd" = "$last_fd" ] || anomaly "berthd fd count after removal grew from $first_fd to $last_fd across batches"
read -r _ _ _ _ FD_A FD_B < <(head -1 "$D/rss")
echo "    berthd holds $(awk -v a="$FD_A" -v b="$FD_B" -v n="$CTRS" 'BEGIN { printf "%.1f", (b - a) / n }') fds per running container"
# A leak shows as RSS after removal growing batch after batch. The event ring (RING_MAX events
# kept for --since) grows too until it is full, so growth only counts as a leak once it is.
growth=$((last_after - first_after))
NB=$(($(wc -l <"$D/rss.after") - 1))
ev_first=$(head -1 "$D/rss.after" | cut -d' ' -f7)
ev_last=$(tail -1 "$D/rss.after" | cut -d' ' -f7)
if [ $NB -gt 0 ] && [ $((growth * 2)) -gt $((NB * CTRS)) ]; then
    if [ "$ev_first" -ge $((RING_MAX - 64)) ]; then
        anomaly "berthd RSS after removal grew by $growth KiB over $NB more batches of $CTRS with the event ring full (leak?)"
    else
        echo "    RSS after removal grew $growth KiB while the event ring filled from $ev_first to $ev_last of $RING_MAX events" \
            "($(awk -v g="$growth" -v a="$ev_first" -v b="$ev_last" 'BEGIN { if (b > a) printf "%.2f", g / (b - a); else print "-" }') KiB/event): bounded, not a leak by itself"
    fi
fi
# events are printed as <RFC3339Nano> container <action> ... (DESIGN §16): the time must be now
ev_line=$(b events --since 0 --until "$(date +%s)" 2>/dev/null | tail -1)
case $ev_line in
"$(date -u +%Y)"-* | "$(date +%Y)"-*) ;;
*) anomaly "berth events prints a wrong time: '${ev_line:0:100}'" ;;
esac

# ---------------------------------------------------------------- 3. idle wakeups

phase "3. idle wakeups"
echo
echo "== 3. berthd idle wakeups with $IDLE_CTRS running containers (${IDLE_SECS} s window) =="
for i in $(seq 1 "$IDLE_CTRS"); do
    b run -d --name "idle$i" busybox sleep 1000 >/dev/null 2>>"$D/err3" || anomaly "idle container $i failed to start"
done
# the cgroups berth put the first container in (those differing from berthd's own), checked for
# leftovers after removal
ipid=$(b inspect idle1 | jq -r '.[0].State.Pid' 2>/dev/null)
CG_DIRS=""
if [ -n "$ipid" ] && [ -r "/proc/$ipid/cgroup" ]; then
    CG_DIRS=$(grep -vxF -f "/proc/$SV_PID/cgroup" "/proc/$ipid/cgroup" |
        awk -F: '{ c = $2; sub(/^name=/, "", c); if (c == "") print "/sys/fs/cgroup/unified" $3; else print "/sys/fs/cgroup/" c $3 }' |
        while read -r d; do [ -d "$d" ] && echo "$d"; done)
fi
echo "  container cgroups: ${CG_DIRS:-none of its own (same cgroups as berthd)}" | tr '\n' ' '
echo
sleep 2
sw0=$(ctxsw "$SV_PID")
if command -v perf >/dev/null; then
    evs="syscalls:sys_enter_epoll_wait,syscalls:sys_enter_epoll_pwait,syscalls:sys_enter_epoll_pwait2,raw_syscalls:sys_enter"
    perf stat -x, -e "$evs" -p "$SV_PID" -- sleep "$IDLE_SECS" 2>"$D/perf.out" >/dev/null
    pst=$?
else
    sleep "$IDLE_SECS"
    pst=127
fi
sw1=$(ctxsw "$SV_PID")
permin() { awk -v n="$1" -v s="$IDLE_SECS" 'BEGIN { printf "%.1f", n * 60 / s }'; }
printf '  %-44s %10s %10s\n' "counter (berthd, all threads)" "in ${IDLE_SECS}s" "per minute"
if [ $pst = 0 ]; then
    ew=$(awk -F, '$3 ~ /epoll/ && $1 ~ /^[0-9]+$/ { s += $1 } END { print s + 0 }' "$D/perf.out")
    sc=$(awk -F, '$3 == "raw_syscalls:sys_enter" && $1 ~ /^[0-9]+$/ { print $1 }' "$D/perf.out")
    sc=${sc:-0}
    printf '  %-44s %10s %10s\n' "epoll_wait/epoll_pwait{,2} calls (perf)" "$ew" "$(permin "$ew")"
    printf '  %-44s %10s %10s\n' "all syscalls (perf raw_syscalls)" "$sc" "$(permin "$sc")"
    WAKE=$(permin "$ew")
else
    echo "  perf unavailable or failed ($(head -c 200 "$D/perf.out" 2>/dev/null)); context switches only"
    WAKE=$(permin $((sw1 - sw0)))
fi
printf '  %-44s %10s %10s\n' "context switches (/proc/PID/task/*/status)" "$((sw1 - sw0))" "$(permin $((sw1 - sw0)))"
# A window shorter than the loop's longest sleep can miss a periodic wakeup: read the timeout
# berthd is blocked with right now (/proc/PID/syscall: nr, then the arguments in hex).
read -r nr _ _ _ tmo _ <"/proc/$SV_PID/syscall"
case $nr in
232 | 281) # epoll_wait, epoll_pwait: timeout in ms (-1: none)
    tmo=$((tmo))
    if [ $tmo -lt 0 ] || [ $tmo -ge 2147483647 ] || [ $tmo -eq 4294967295 ]; then
        echo "  berthd is blocked in epoll_wait with no timeout: no timer-driven wakeup"
    else
        PRED=$(awk -v t="$tmo" 'BEGIN { printf "%.1f", (t > 0) ? 60000 / t : 9999 }')
        echo "  berthd is blocked in epoll_wait with a ${tmo} ms timeout: >= $PRED timer wakeups per minute while idle"
        awk -v a="$PRED" -v b="$WAKE" 'BEGIN { exit !(a > b) }' && WAKE=$PRED
    fi
    ;;
*) echo "  berthd main thread is in syscall $nr (not epoll_wait/epoll_pwait): timeout not read" ;;
esac
for i in $(seq 1 "$IDLE_CTRS"); do b rm -f "idle$i" >/dev/null 2>&1 || anomaly "rm -f idle$i failed"; done
for d in $CG_DIRS; do
    [ -d "$d" ] && anomaly "cgroup left behind after rm -f: $d"
done

# ---------------------------------------------------------------- 4. static size

phase "4. static"
echo
echo "== 4. static berthd =="
if ${MAKE:-make} --no-print-directory static BUILD="$BUILD" >"$D/static.log" 2>&1 && [ -f "$BUILD/berthd-static" ]; then
    sz=$(stat -c %s "$BUILD/berthd-static")
    cp "$BUILD/berthd-static" "$D/static.strip" && strip "$D/static.strip" 2>/dev/null
    ssz=$(stat -c %s "$D/static.strip")
    STATIC="$(awk -v s="$ssz" 'BEGIN { printf "%.2f MiB", s / 1048576 }') stripped"
    STATIC_BYTES=$ssz
    echo "  $BUILD/berthd-static: $sz bytes as built, $ssz bytes stripped ($STATIC)"
else
    STATIC="make static failed"
    echo "  make static FAILED:"
    grep -E 'cannot find|undefined reference|error|Error' "$D/static.log" | head -5 | sed 's/^/    /'
    missing=""
    for l in $(pkg-config --static --libs libcjson libnl-3.0 libnl-route-3.0 libseccomp libcap 2>/dev/null) -lev; do
        case $l in -l*) ;; *) continue ;; esac
        n=${l#-l}
        f=$(${CC:-cc} -print-file-name="lib$n.a")
        [ "$f" = "lib$n.a" ] && missing="$missing lib$n.a"
    done
    [ -n "$missing" ] && echo "    static archives not found by the compiler:$missing" &&
        STATIC="make static failed: missing$missing"
fi
dsz=$(stat -c %s "$BERTHD")
cp "$BERTHD" "$D/dyn.strip" && strip "$D/dyn.strip" 2>/dev/null
echo "  (for reference: dynamic $BUILD/berthd $dsz bytes, $(stat -c %s "$D/dyn.strip") stripped)"

# ---------------------------------------------------------------- summary

phase "summary"
echo
echo "== summary against DESIGN §15 targets (ratios: crun median / berth median) =="
chk() { # chk OK? TEXT
    printf '  [%s] %s\n' "$([ "$1" = 1 ] && echo ok || echo MISS)" "$2"
}
ge() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a != "-" && a + 0 >= b + 0) }' && echo 1 || echo 0; }
le() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a != "-" && a + 0 <= b + 0) }' && echo 1 || echo 0; }
[ $HAVE_CRUN = 1 ] && chk "$(ge "$R1_CRUN" 2)" "run-to-exit of true >= 2x faster than crun: ${R1_CRUN}x"
[ $HAVE_CRUN = 1 ] && chk "$(ge "$R2_CRUN" 3)" "$CTRS detached starts >= 3x faster than crun run -d: ${R2_CRUN}x"
chk "$(le "$KIB_PER" 16)" "berthd memory <= 16 KiB per container: $KIB_PER KiB"
chk "$([ "$WAKE" = "0.0" ] && echo 1 || echo 0)" "zero idle wakeups: $WAKE per minute"
case $STATIC in
*MiB*) chk "$(le "$STATIC_BYTES" 2097152)" "static berthd <= 2 MiB: $STATIC" ;;
*) chk 0 "static berthd <= 2 MB: $STATIC" ;;
esac

bench_end
