#!/usr/bin/env bats
# supervisor.bats - berthd's own stop and start: graceful SIGTERM, SIGKILL and re-adoption,
# state kept across restarts, corrupt snapshots (DESIGN §4, §5, §6, §16).

load helpers
bats_require_minimum_version 1.5.0

setup() { require_root; sv_start; }
teardown() { sv_stop; }

TRAP_LOOP='trap "exit 0" TERM; while :; do sleep 0.1; done'
DEAF_LOOP='trap "" TERM; while :; do sleep 0.1; done'

pid_of() {
    b inspect "$1" | jq -r '.[0].State.Pid'
}

# pid_gone PID: the process is gone or a zombie nobody reaped yet
pid_gone() {
    [ ! -e "/proc/$1" ] || grep -q '^State:.*Z' "/proc/$1/status" 2>/dev/null
}

logs_have() {
    b logs "$1" | grep -q "$2"
}

gone() {
    ! b inspect "$1" >/dev/null 2>&1
}

# ---- graceful stop (SIGTERM) -----------------------------------------------------------

@test "SIGTERM of berthd stops a TERM-trapping container gracefully: exit 0" {
    b run -d --name t busybox sh -c "$TRAP_LOOP"
    local pid t0=$SECONDS
    pid=$(pid_of t)
    sv_term
    [ $((SECONDS - t0)) -lt 8 ]
    eventually pid_gone "$pid"
    sv_launch
    [ "$(state t)" = exited ]
    [ "$(exit_code_of t)" = 0 ]
}

@test "SIGTERM of berthd uses each container's stop timeout, then SIGKILL" {
    b run -d --name deaf --stop-timeout 1 busybox sh -c "$DEAF_LOOP"
    local t0=$SECONDS
    sv_term
    [ $((SECONDS - t0)) -lt 8 ]
    sv_launch
    [ "$(state deaf)" = exited ]
    [ "$(exit_code_of deaf)" = 137 ]
}

@test "SIGTERM of berthd removes --rm containers" {
    b run -d --rm --name tmp busybox sh -c "$TRAP_LOOP"
    local id
    id=$(b inspect tmp | jq -r '.[0].Id')
    sv_term
    sv_launch
    gone tmp
    [ -z "$(b ps -a -q)" ]
    [ ! -e "$ROOT/containers/$id" ]
}

@test "after a graceful stop: always and unless-stopped start again, no and on-failure do not" {
    b run -d --name al --restart always busybox sh -c "$TRAP_LOOP"
    b run -d --name us --restart unless-stopped busybox sh -c "$TRAP_LOOP"
    b run -d --name no busybox sh -c "$TRAP_LOOP"
    b run -d --name of --restart on-failure --stop-timeout 1 busybox sh -c "$DEAF_LOOP"
    sv_term
    sv_launch
    eventually state_is al running
    eventually state_is us running
    [ "$(state no)" = exited ]
    [ "$(state of)" = exited ]
    [ "$(exit_code_of of)" = 137 ]
    sleep 0.5
    [ "$(state of)" = exited ]
    [ "$(b inspect al | jq -r '.[0].ManualStop')" = false ]
    b stop -t 1 al us
}

@test "after a graceful stop: a manually stopped unless-stopped container stays stopped" {
    b run -d --name us --restart unless-stopped busybox sh -c "$TRAP_LOOP"
    b run -d --name al --restart always busybox sh -c "$TRAP_LOOP"
    b stop us al
    sv_term
    sv_launch
    sleep 0.5
    [ "$(state us)" = exited ]
    # always starts at supervisor start, even after a manual stop (DESIGN §5)
    eventually state_is al running
    b stop al
}

@test "exited and created containers keep their state and exit codes across a graceful restart" {
    b create --name cr busybox true
    run b run --name ex busybox sh -c 'exit 42'
    [ "$status" -eq 42 ]
    local id
    id=$(b inspect ex | jq -r '.[0].Id')
    sv_term
    sv_launch
    [ "$(state cr)" = created ]
    [ "$(state ex)" = exited ]
    [ "$(exit_code_of ex)" = 42 ]
    [ "$(b inspect ex | jq -r '.[0].Id')" = "$id" ]
    [ "$(b inspect ex | jq -r '.[0].Config.Cmd[2]')" = 'exit 42' ]
    # and they still work
    run b start -a ex
    [ "$status" -eq 42 ]
    run b start -a cr
    [ "$status" -eq 0 ]
}

@test "a failed start's error and code survive a restart" {
    run -127 b run --name f busybox nosuchcommand
    sv_term
    sv_launch
    [ "$(state f)" = exited ]
    [ "$(exit_code_of f)" = 127 ]
    [[ "$(b inspect f | jq -r '.[0].State.Error')" == *"executable file not found"* ]]
    run b wait f
    [ "$output" = 127 ]
}

@test "logs survive a restart" {
    b run --name l busybox sh -c 'echo before'
    sv_term
    sv_launch
    [ "$(b logs l)" = before ]
}

@test "the snapshot is valid JSON with version 1 and the containers" {
    b create --name c1 busybox true
    jq -e '.version == 1' "$ROOT/berth.json"
    jq -e '.containers | length == 1' "$ROOT/berth.json"
    b rm c1
    jq -e '.containers | length == 0' "$ROOT/berth.json"
}

# ---- hard kill (SIGKILL) and re-adoption -----------------------------------------------

@test "SIGKILL of berthd: containers keep running and are re-adopted with the same pid" {
    b run -d --name a busybox sh -c "$TRAP_LOOP"
    local pid
    pid=$(pid_of a)
    sv_kill9
    kill -0 "$pid"
    sleep 0.3
    kill -0 "$pid"
    sv_launch
    [ "$(state a)" = running ]
    [ "$(pid_of a)" = "$pid" ]
    run b ps -q
    [ "${#lines[@]}" -eq 1 ]
    b stop -t 1 a
}

@test "stop of a re-adopted container works and reports 255, not a child of berthd" {
    b run -d --name a busybox sh -c "$TRAP_LOOP"
    local pid
    pid=$(pid_of a)
    sv_kill9
    sv_launch
    run b stop -t 5 a
    [ "$status" -eq 0 ]
    eventually pid_gone "$pid"
    [ "$(state a)" = exited ]
    [ "$(exit_code_of a)" = 255 ]
    [ "$(b inspect a | jq -r '.[0].State.Error')" = "exit status unknown: not a child of berthd" ]
}

@test "wait on a re-adopted container reports 255 when it exits" {
    b run -d --name a busybox sh -c "$TRAP_LOOP"
    sv_kill9
    sv_launch
    "$BERTH" --socket "$SOCK" wait a >"$TESTDIR/w" &
    local wp=$!
    b kill a
    wait "$wp"
    [ "$(cat "$TESTDIR/w")" = 255 ]
}

@test "the output of a re-adopted container still reaches its log" {
    b run -d --name lg busybox sh -c 'i=0; while :; do echo tick$i; i=$((i+1)); sleep 0.1; done'
    eventually logs_have lg tick1
    sv_kill9
    sv_launch
    local n
    n=$(b logs lg | wc -l)
    sleep 0.5
    [ "$(b logs lg | wc -l)" -gt "$n" ]
    b stop -t 0 lg
    # complete and in order
    run b logs lg
    local k=0 l
    for l in "${lines[@]}"; do
        [ "$l" = "tick$k" ]
        k=$((k + 1))
    done
}

@test "a container that exits while berthd is down gets 255 and the error after restart" {
    b run -d --name d busybox sh -c 'trap "exit 0" USR1; while :; do sleep 0.1; done'
    local pid
    pid=$(pid_of d)
    sv_kill9
    # outside berthd: only our own container, by its pid
    kill -USR1 "$pid"
    eventually pid_gone "$pid"
    sv_launch
    [ "$(state d)" = exited ]
    [ "$(exit_code_of d)" = 255 ]
    [ "$(b inspect d | jq -r '.[0].State.Error')" = "exit status unknown: not a child of berthd" ]
    [ "$(pid_of d)" = 0 ]
}

@test "an always container lost while berthd is down is started again" {
    # exits the first time only: the overlay keeps /once across restarts
    b run -d --name al --restart always --restart-backoff 50ms:100ms:10s busybox \
        sh -c '[ -e /once ] && exec sh -c "trap \"exit 0\" TERM; while :; do sleep 0.1; done"; touch /once; trap "exit 0" USR1; while :; do sleep 0.1; done'
    local pid
    pid=$(pid_of al)
    sv_kill9
    kill -USR1 "$pid"
    eventually pid_gone "$pid"
    sv_launch
    eventually state_is al running
    [ "$(pid_of al)" != "$pid" ]
    [ "$(b inspect al | jq -r '.[0].RestartCount')" -ge 1 ]
    b stop al
}

@test "an on-failure container that died while berthd was down is started again" {
    b run -d --name of --restart on-failure --restart-backoff 50ms:100ms:10s busybox \
        sh -c '[ -e /once ] && exec sh -c "trap \"exit 0\" TERM; while :; do sleep 0.1; done"; touch /once; trap "exit 0" USR1; while :; do sleep 0.1; done'
    local pid
    pid=$(pid_of of)
    sv_kill9
    kill -USR1 "$pid"
    eventually pid_gone "$pid"
    sv_launch
    eventually state_is of running
    [ "$(pid_of of)" != "$pid" ]
    b stop of
}

@test "a no-policy container that died while berthd was down stays exited" {
    b run -d --name no busybox sh -c 'trap "exit 0" USR1; while :; do sleep 0.1; done'
    local pid
    pid=$(pid_of no)
    sv_kill9
    kill -USR1 "$pid"
    eventually pid_gone "$pid"
    sv_launch
    sleep 0.5
    [ "$(state no)" = exited ]
    [ "$(exit_code_of no)" = 255 ]
}

@test "exited and created containers keep their state across a SIGKILL of berthd" {
    b create --name cr busybox true
    run b run --name ex busybox sh -c 'exit 42'
    run -127 b run --name f busybox nosuchcommand
    sv_kill9
    sv_launch
    [ "$(state cr)" = created ]
    [ "$(exit_code_of ex)" = 42 ]
    [ "$(exit_code_of f)" = 127 ]
    [[ "$(b inspect f | jq -r '.[0].State.Error')" == *"executable file not found"* ]]
}

# cgroup_dirs ID: the container's group in every hierarchy that has berthd's parent group
cgroup_dirs() {
    find /sys/fs/cgroup -maxdepth 6 -type d -name "$CGPARENT" 2>/dev/null | sed "s|\$|/$1|"
}

@test "a cgroup a SIGKILLed berthd left for an exited container is removed at the next start" {
    [ -n "$CGPARENT" ] || skip "berthd has no cgroups here"
    b run --name ex busybox true
    local id d
    id=$(b inspect ex | jq -r '.[0].Id')
    sv_kill9
    # as if berthd had died between the container's exit and the removal of its group
    for d in $(cgroup_dirs "$id"); do mkdir "$d"; done
    [ -n "$(cgroup_dirs "$id")" ]
    sv_launch
    for d in $(cgroup_dirs "$id"); do eventually test ! -d "$d"; done
    grep -q "'ex': removing the cgroup a previous berthd left" "$TESTDIR/berthd.log"
    [ "$(state ex)" = exited ]
}

@test "SIGTERM of berthd with a re-adopted container still running: berthd exits" {
    b run -d --name a busybox sh -c "$TRAP_LOOP"
    local pid
    pid=$(pid_of a)
    sv_kill9
    sv_launch
    local t0=$SECONDS
    sv_term
    [ $((SECONDS - t0)) -lt 8 ]
    eventually pid_gone "$pid"
    sv_launch
    [ "$(state a)" = exited ]
    [ "$(exit_code_of a)" = 255 ]
}

# ---- corrupt snapshot ------------------------------------------------------------------

@test "a corrupt snapshot: berthd refuses to start, says how, and leaves the file" {
    b create --name c1 busybox true
    sv_term
    echo 'garbage{' >"$ROOT/berth.json"
    local rc=0
    sv_launch 2>/dev/null || rc=$?
    [ "$rc" -ne 0 ]
    run kill -0 "$SV_PID"
    [ "$status" -ne 0 ]
    SV_PID=
    grep -q 'corrupt' "$TESTDIR/berthd.log"
    grep -q -- '--discard-corrupt-state' "$TESTDIR/berthd.log"
    [ "$(cat "$ROOT/berth.json")" = 'garbage{' ]
    run b ping
    [ "$status" -ne 0 ]
}

@test "a truncated snapshot is refused too" {
    b create --name c1 busybox true
    sv_term
    head -c 20 "$ROOT/berth.json" >"$TESTDIR/t" && cp "$TESTDIR/t" "$ROOT/berth.json"
    local rc=0
    sv_launch 2>/dev/null || rc=$?
    [ "$rc" -ne 0 ]
    SV_PID=
    cmp "$TESTDIR/t" "$ROOT/berth.json"
}

@test "--discard-corrupt-state starts empty and keeps the corrupt file aside" {
    b create --name c1 busybox true
    sv_term
    echo 'garbage{' >"$ROOT/berth.json"
    sv_launch --discard-corrupt-state
    run b ps -a -q
    [ -z "$output" ]
    local aside
    aside=$(ls "$ROOT" | grep '^berth\.json\.corrupt-')
    [ "$(wc -l <<<"$aside")" -eq 1 ]
    [ "$(cat "$ROOT/$aside")" = 'garbage{' ]
    grep -q "$aside" "$TESTDIR/berthd.log"
    # and it works
    b create --name c2 busybox true
    jq -e '.containers | length == 1' "$ROOT/berth.json"
}
