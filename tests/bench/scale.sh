#!/bin/sh
# tests/bench/scale.sh - berthd's cost as a supervisor of many containers (DESIGN §13, §15):
# its VmRSS with 0, 10, 100 and 1000 running containers (`run -d --network none sleep`, 8
# starts in parallel), its wakeups per minute while idle with all of them running (context
# switches of every berthd thread over BENCH_IDLE_SECS), and the size of the static berthd.
# berthd only; a conmon-style supervisor costs a process per container, so there is nothing
# side by side to run here. Usage: sh tests/bench/scale.sh [BUILD]
. "$(dirname "$0")/lib.sh"

STEPS=${BENCH_SCALE_STEPS:-"10 100 1000"}
IDLE_SECS=${BENCH_IDLE_SECS:-30}
TIMEOUT=${BENCH_TIMEOUT:-1800}
bench_init berth-scale

rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }
ctxt() { cat /proc/"$1"/task/*/status 2>/dev/null | awk '/^(non)?voluntary_ctxt_switches:/ { s += $2 } END { print s + 0 }'; }

start_berthd PID "$D/root" "$SOCK" "$D/berthd.log" --log-level warn
echo "== berthd VmRSS by running containers (sleep, --network none) =="
printf '  %6s %10s %14s\n' containers "VmRSS KiB" "KiB/container"
base=$(rss_kb "$PID")
printf '  %6s %10s %14s\n' 0 "$base" -
have=0
for n in $STEPS; do
    phase "start $n"
    seq $((have + 1)) "$n" | xargs -P 8 -I{} "$BERTH_BIN" --socket "$SOCK" run -d --name s{} \
        --network none busybox sleep 100000 >/dev/null || anomaly "a start failed at $n"
    have=$n
    running=$(b ps -q | wc -l)
    [ "$running" -eq "$n" ] || anomaly "$running running, not $n"
    sleep 1
    r=$(rss_kb "$PID")
    printf '  %6s %10s %14s\n' "$n" "$r" "$(awk -v a="$base" -v b="$r" -v n="$n" 'BEGIN { printf "%.1f", (b - a) / n }')"
done
phase idle
c0=$(ctxt "$PID")
sleep "$IDLE_SECS"
c1=$(ctxt "$PID")
echo "== idle with $have containers: $((c1 - c0)) wakeups in ${IDLE_SECS} s ($(awk -v w=$((c1 - c0)) -v s="$IDLE_SECS" 'BEGIN { printf "%.1f", w * 60 / s }') per minute)"
phase stop
t0=$EPOCHREALTIME
stop_berthd "$PID" "$SOCK"
echo "== removing $have containers and stopping berthd: $(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }') s"
if [ -x "$TOP/$BUILD/berthd-static" ]; then
    echo "== static berthd: $(stat -c %s "$TOP/$BUILD/berthd-static") bytes"
fi
# berthd is stopped already (its removal is measured): only the anomalies decide
[ -s "$ANOMALIES" ] && exit 1
exit 0
