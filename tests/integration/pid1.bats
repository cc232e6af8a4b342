#!/usr/bin/env bats
# pid1.bats - berthd as PID 1 (DESIGN §13) without a VM: in a pid namespace of its own
# (`unshare --pid --fork --mount-proc`) it reaps every orphan, obeys busybox's reboot, halt and
# poweroff signals and `berth shutdown`, stops its containers, kills whatever else is left in
# the namespace and exits 0. In session mode it speaks sd_notify. tests/vm boots the real thing.

load helpers
bats_require_minimum_version 1.5.0

# Start berthd as PID 1 of a new pid namespace. UPID is unshare (our child); SV_PID berthd
# (unshare's child), so sv_stop's checks and signals reach berthd itself.
pidns_start() {
    sv_prepare
    unshare --pid --fork --mount-proc "$BERTHD" --root "$ROOT" --socket "$SOCK" \
        --log-level debug "$@" >>"$TESTDIR/berthd.log" 2>&1 &
    UPID=$!
    for _ in $(seq 1 100); do
        if [ -S "$SOCK" ] && q ping 2>/dev/null | grep -q '^ok'; then
            SV_PID=$(ps -o pid= --ppid "$UPID" | tr -d ' ')
            sv_started
            return 0
        fi
        kill -0 "$UPID" 2>/dev/null || { cat "$TESTDIR/berthd.log" >&2; return 1; }
        sleep 0.05
    done
    echo "berthd did not come up" >&2
    return 1
}

# The exit status of unshare, which is berthd's (after berthd has gone).
pidns_status() {
    local rc=0
    wait "$UPID" || rc=$?
    UPID=
    echo "$rc"
}

gone() { ! kill -0 "$1" 2>/dev/null; }

setup() { require_root; }
teardown() {
    sv_stop
    if [ -n "${UPID:-}" ]; then
        kill -KILL "$UPID" 2>/dev/null || true
        wait "$UPID" 2>/dev/null || true
    fi
    if [ -n "${RECV_PID:-}" ]; then
        kill "$RECV_PID" 2>/dev/null || true
        wait "$RECV_PID" 2>/dev/null || true
        rm -rf "$NOTES"
    fi
}

info() { q info | sed 's/^ok //'; }

@test "in a pid namespace: PID 1, 'pid namespace init', and 100 orphans reaped with no zombie left" {
    pidns_start
    [ "$(info | jq -c '[.Pid, .Pid1]')" = '[1,true]' ]
    grep -q "pid namespace init" "$TESTDIR/berthd.log"
    # processes whose parent exits at once: each one is re-parented to berthd
    nsenter -t "$SV_PID" -p -m -- sh -c 'for i in $(seq 100); do (sleep 0.3 &); done'
    reaped() { [ "$(info | jq .OrphansReaped)" -ge 100 ]; }
    eventually reaped
    [ "$(ps --ppid "$SV_PID" -o stat= | grep -c '^Z' || true)" -eq 0 ]
}

@test "in a pid namespace: each halt signal stops the containers, kills what is left and exits 0" {
    for sig in USR2 USR1 PWR INT TERM; do
        pidns_start
        b run -d --name c1 --network none --stop-timeout 1 busybox sleep 1000
        # a process of the namespace that no container owns
        nsenter -t "$SV_PID" -p -m -- sh -c 'setsid sleep 1000 >/dev/null 2>&1 </dev/null &'
        stray=$(ps -o pid=,args= --ppid "$SV_PID" | awk '$2 == "sleep" { print $1 }')
        [ -n "$stray" ]
        kill -"$sig" "$SV_PID"
        eventually gone "$SV_PID"
        [ "$(pidns_status)" -eq 0 ]
        gone "$stray"
        grep -q "SIG$sig\|Power failure\|User defined signal\|Interrupt\|Terminated" "$TESTDIR/berthd.log"
        grep -q "sent SIGTERM to every remaining process" "$TESTDIR/berthd.log"
        SV_PID=
        sv_stop
    done
}

@test "in a pid namespace: berth shutdown --poweroff ends in exit 0; bad actions are refused" {
    pidns_start
    run b shutdown --reboot --halt
    [ "$status" -ne 0 ] && [[ "$output" == *"exclude each other"* ]]
    run q "shutdown action=explode"
    [[ "$output" == "err 400 invalid action 'explode'"* ]]
    b ps >/dev/null # berthd is still there
    run b shutdown --poweroff
    [ "$status" -eq 0 ]
    eventually gone "$SV_PID"
    [ "$(pidns_status)" -eq 0 ]
    grep -q "shutting down (then exit)" "$TESTDIR/berthd.log"
    SV_PID=
}

@test "session mode: sd_notify READY=1 when ready and STOPPING=1 at shutdown" {
    NOTES=$(mktemp -d /tmp/bthnotify.XXXXXX)
    socat -u UNIX-RECVFROM:"$NOTES/notify",fork OPEN:"$NOTES/notes",creat,append &
    RECV_PID=$!
    eventually test -S "$NOTES/notify"
    NOTIFY_SOCKET="$NOTES/notify" sv_start
    ready() { grep -q "READY=1" "$NOTES/notes"; }
    eventually ready
    grep -q "MAINPID=$SV_PID" "$NOTES/notes"
    b shutdown
    stopping() { grep -q "STOPPING=1" "$NOTES/notes"; }
    eventually stopping
}
