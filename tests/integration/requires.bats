#!/usr/bin/env bats
# requires.bats - `--requires NAME[:started|healthy|completed]` (DESIGN §9, §13; core/deps.h):
# a start waits for what it requires and starts it first, a failed requirement fails the start
# with a message naming it, a stop cancels a waiting start, the shutdown stops dependents first,
# and berthd's own restart starts restart-policy containers in that order.

load helpers
bats_require_minimum_version 1.5.0

setup() { require_root; sv_start; }
teardown() { sv_stop; }

# stops at once on SIGTERM, else runs for a minute
LOOP='trap "exit 0" TERM; i=0; while [ $i -lt 600 ]; do sleep 0.1; i=$((i+1)); done'
# healthy only half a second after each start (the file stays in the container's upper layer)
SLOW_DB="rm -f /tmp/ok; sleep 0.5; touch /tmp/ok; $LOOP"
DB_HEALTH=(--health-cmd 'test -f /tmp/ok' --health-interval 100ms --health-retries 100)

# ns NAME FIELD: the container's State.FIELD (a time) in nanoseconds since the epoch
ns() {
    date -d "$(b inspect "$1" | jq -r ".[0].State.$2")" +%s%N
}

# waits_logged NAME N: berthd has logged N waiting starts of NAME
waits_logged() {
    [ "$(grep -c "'$1' waits for its requirements" "$TESTDIR/berthd.log")" -eq "$2" ]
}

health() {
    b inspect "$1" | jq -r '.[0].State.Health.Status'
}

@test "--requires NAME:healthy starts the requirement and waits until it is healthy" {
    b create --name db "${DB_HEALTH[@]}" busybox sh -c "$SLOW_DB"
    run b run -d --name web --requires db:healthy busybox sh -c "$LOOP"
    [ "$status" -eq 0 ]
    [ "$(state db)" = running ]
    [ "$(health db)" = healthy ]
    [ "$(state web)" = running ]
    # web started at least half a second after db (db turns healthy only then)
    [ $(($(ns web StartedAt) - $(ns db StartedAt))) -ge 500000000 ]
    [ "$(b inspect web | jq -c '.[0].HostConfig.Requires')" = '["db:healthy"]' ]
    grep -q "'web' waits for its requirements" "$TESTDIR/berthd.log"
    grep -q "'web': its requirements are met" "$TESTDIR/berthd.log"
}

@test "--requires NAME (started) follows a chain, each started before the one requiring it" {
    b create --name a busybox sh -c "$LOOP"
    b create --name b --requires a busybox sh -c "$LOOP"
    b run -d --name c --requires b:started busybox sh -c "$LOOP"
    [ "$(state a)" = running ]
    [ "$(state b)" = running ]
    [ "$(state c)" = running ]
    [ "$(ns a StartedAt)" -le "$(ns b StartedAt)" ]
    [ "$(ns b StartedAt)" -le "$(ns c StartedAt)" ]
    [ "$(b inspect b | jq -c '.[0].HostConfig.Requires')" = '["a:started"]' ]
}

@test "--requires NAME:completed waits for a code of 0; another code fails the start, naming it" {
    b create --name migrate busybox sh -c 'sleep 0.3; exit 0'
    b run -d --name app --requires migrate:completed busybox sh -c "$LOOP"
    [ "$(state migrate)" = exited ]
    [ "$(exit_code_of migrate)" = 0 ]
    [ "$(state app)" = running ]
    [ "$(ns migrate FinishedAt)" -le "$(ns app StartedAt)" ]

    # completed already: not run again
    local started
    started=$(ns migrate StartedAt)
    b run -d --name app2 --requires migrate:completed busybox sh -c "$LOOP"
    [ "$(ns migrate StartedAt)" = "$started" ]

    b create --name bad busybox sh -c 'exit 3'
    run -125 b run -d --name app3 --requires bad:completed busybox true
    [[ "$output" == *"requirement 'bad' (completed): it exited with 3"* ]]
    [ "$(state app3)" = exited ]
    [ "$(exit_code_of app3)" = 125 ]
    [[ "$(b inspect app3 | jq -r '.[0].State.Error')" == *"it exited with 3"* ]]
}

@test "a requirement whose start fails, or that exits before it is healthy, fails the start" {
    b create --name broken busybox nosuchcommand
    run -125 b run -d --name w1 --requires broken busybox true
    [[ "$output" == *"requirement 'broken' (started): its start failed"*"executable file not found"* ]]
    [ "$(state w1)" = exited ]

    b create --name quitter --health-cmd 'false' --health-interval 100ms --health-start-period 60s \
        busybox sh -c 'sleep 0.3; exit 1'
    run -125 b run -d --name w2 --requires quitter:healthy busybox true
    [[ "$output" == *"requirement 'quitter' (healthy): it exited before becoming healthy"* ]]
    [ "$(state w2)" = exited ]
}

@test "create refuses a bad --requires and changes nothing" {
    b create --name plain busybox true
    run -125 b create --name x1 --requires nosuch busybox true
    [[ "$output" == *"--requires: no such container: nosuch"* ]]
    run -125 b create --name x2 --requires plain:ready busybox true
    [[ "$output" == *'invalid --requires "plain:ready": the condition is started, healthy or completed'* ]]
    [[ "$output" != *"Invalid argument"* ]]
    run -125 b create --name x3 --requires x3 busybox true
    [[ "$output" == *"cannot require itself"* ]]
    run -125 b create --name x4 --requires plain --requires plain:completed busybox true
    [[ "$output" == *"--requires: plain is given twice"* ]]
    run -125 b create --name x5 --requires plain:healthy busybox true
    [[ "$output" == *"container plain has no health check"* ]]
    # a cycle through a container made again under the same name
    b create --name p1 busybox true
    b create --name p2 --requires p1 busybox true
    b rm p1
    run -125 b create --name p1 --requires p2 busybox true
    [[ "$output" == *"p2 requires p1 already, a cycle"* ]]
    [ "$(b ps -a --format json | jq -r .Names | sort | tr '\n' ' ')" = "p2 plain " ]
}

@test "a stop cancels a start waiting for its requirements; removing the requirement fails it" {
    # never healthy within the test: failures during the start period do not count
    b create --name db --health-cmd false --health-interval 100ms --health-start-period 60s \
        busybox sh -c "$LOOP"
    b run -d --name w --requires db:healthy busybox true >"$TESTDIR/w.out" 2>&1 &
    local client=$!
    eventually waits_logged w 1
    [ "$(state w)" = created ]
    b stop w
    local rc=0
    wait "$client" || rc=$?
    [ "$rc" -eq 125 ]
    grep -q "the start was cancelled by a stop" "$TESTDIR/w.out"
    [ "$(state w)" = exited ]
    [ "$(state db)" = running ]

    b start w >"$TESTDIR/w2.out" 2>&1 &
    client=$!
    eventually waits_logged w 2
    b rm -f db
    rc=0
    wait "$client" || rc=$?
    [ "$rc" -ne 0 ]
    grep -q "requirement 'db' (healthy): it was removed" "$TESTDIR/w2.out"
    [ "$(state w)" = exited ]
}

@test "shutdown stops a container before what it requires; berthd's restart starts them in order" {
    b run -d --name db --restart always "${DB_HEALTH[@]}" busybox sh -c "$SLOW_DB"
    b run -d --name web --restart always --requires db:healthy busybox sh -c "$LOOP"
    sv_term
    sv_launch
    [ "$(ns web FinishedAt)" -le "$(ns db FinishedAt)" ]
    eventually state_is web running
    [ "$(state db)" = running ]
    [ "$(health db)" = healthy ]
    # db became healthy only half a second after its start; web waited for that
    [ $(($(ns web StartedAt) - $(ns db StartedAt))) -ge 500000000 ]
}
