# SPDX-License-Identifier: MIT
# tests/bench/lib.sh - helpers both benchmarks source (run.sh, storage.sh): bash only. The
# caller sets D (its temporary directory), ANOMALIES, SOCK, BERTH_BIN and TIMEOUT first.

b() { "$BERTH_BIN" --socket "$SOCK" "$@"; }
bt() { timeout 20 "$BERTH_BIN" --socket "$SOCK" "$@"; }

anomaly() {
    echo "  !! $*" >&2
    echo "$*" >>"$ANOMALIES"
}

phase() {
    echo "$*" >"$D/phase"
}

# start_watchdog: if the whole run exceeds TIMEOUT s (berth hung?), say where and end our
# children (never the berthd recorded in $D/svpid: cleanup stops it). Sets WD_PID.
start_watchdog() {
    local main_pid=$$
    (
        end=$((SECONDS + TIMEOUT))
        while [ $SECONDS -lt $end ]; do sleep 1; done
        echo "bench: TIMEOUT after ${TIMEOUT}s during: $(cat "$D/phase" 2>/dev/null)" >&2
        for p in $(ps -o pid= --ppid "$main_pid"); do
            [ "$p" != "$BASHPID" ] && [ "$p" != "$(cat "$D/svpid" 2>/dev/null)" ] && kill -TERM "$p" 2>/dev/null
        done
        kill -TERM "$main_pid"
    ) &
    WD_PID=$!
}

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

ratio() { # ratio A B: A/B with 2 decimals, "-" if either is missing
    awk -v a="$1" -v b="$2" 'BEGIN { if (a == "-" || b == "-" || b + 0 == 0) print "-"; else printf "%.2f\n", a / b }'
}

# elapsed T0 T1: microseconds between two $EPOCHREALTIME readings (read them in this shell:
# a command substitution would put its fork inside the measurement)
elapsed() { echo $((${2/./} - ${1/./})); }
