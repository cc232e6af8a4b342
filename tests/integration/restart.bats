#!/usr/bin/env bats
# restart.bats - restart policies, backoff, manual stops (DESIGN §3 stop, §5; PROTOCOL.md run,
# kill, stop).

load helpers
bats_require_minimum_version 1.5.0

setup() { require_root; sv_start; }
teardown() { sv_stop; }

restart_count() {
    b inspect "$1" | jq -r '.[0].RestartCount'
}

restarts_ge() {
    [ "$(restart_count "$1")" -ge "$2" ]
}

restarts_are() {
    [ "$(restart_count "$1")" = "$2" ]
}

actions_are() {
    [ "$(actions "$1")" = "$2" ]
}

actions_count_is() {
    [ "$(actions "$1" | wc -w)" -eq "$2" ]
}

# actions NAME: the container's event actions so far, space separated
actions() {
    b events --since 1h --until "$(date +%s.%N)" --filter "container=$1" --format json |
        jq -r .Action | tr '\n' ' '
}

@test "on-failure:2 restarts exactly twice" {
    b run -d --name of --restart on-failure:2 --restart-backoff 50ms:100ms:10s busybox sh -c 'exit 3'
    eventually actions_are of "create start die start die start die "
    sleep 0.5
    [ "$(actions of)" = "create start die start die start die " ]
    [ "$(state of)" = exited ]
    [ "$(exit_code_of of)" = 3 ]
    [ "$(restart_count of)" = 2 ]
    [ "$(b inspect of | jq -r '.[0].HostConfig.RestartPolicy.MaximumRetryCount')" = 2 ]
}

@test "on-failure does not restart after exit 0" {
    b run -d --name of --restart on-failure --restart-backoff 50ms:100ms:10s busybox true
    eventually state_is of exited
    sleep 0.5
    [ "$(state of)" = exited ]
    [ "$(restart_count of)" = 0 ]
    [ "$(actions of)" = "create start die " ]
}

@test "always restarts after exit 0" {
    b run -d --name al --restart always --restart-backoff 50ms:100ms:10s busybox true
    eventually restarts_ge al 3
    [ "$(exit_code_of al)" = 0 ]
    b stop -t 0 al
    [ "$(state al)" = exited ]
}

@test "no policy: stays exited" {
    b run -d --name no busybox sh -c 'exit 1'
    eventually state_is no exited
    sleep 0.5
    [ "$(state no)" = exited ]
    [ "$(restart_count no)" = 0 ]
    [ "$(b inspect no | jq -r '.[0].HostConfig.RestartPolicy.Name')" = no ]
}

@test "an automatic restart emits die then start" {
    b run -d --name al --restart on-failure:1 --restart-backoff 50ms:100ms:10s busybox sh -c 'exit 1'
    eventually actions_are al "create start die start die "
}

@test "unless-stopped + stop: no restart" {
    b run -d --name us --restart unless-stopped --restart-backoff 50ms:100ms:10s busybox sleep 100
    b stop -t 0 us
    sleep 0.5
    [ "$(state us)" = exited ]
    [ "$(restart_count us)" = 0 ]
    [ "$(b inspect us | jq -r '.[0].ManualStop')" = true ]
}

@test "always + stop: no restart until the next manual start" {
    b run -d --name al --restart always --restart-backoff 50ms:100ms:10s busybox sleep 100
    b stop -t 0 al
    sleep 0.5
    [ "$(state al)" = exited ]
    b start al
    [ "$(state al)" = running ]
    [ "$(b inspect al | jq -r '.[0].ManualStop')" = false ]
    b stop -t 0 al
}

@test "a user kill counts as a manual stop: no restart" {
    b run -d --name k --restart always --restart-backoff 50ms:100ms:10s busybox sleep 100
    b kill k
    sleep 0.5
    [ "$(state k)" = exited ]
    [ "$(exit_code_of k)" = 137 ]
    [ "$(restart_count k)" = 0 ]
    [ "$(b inspect k | jq -r '.[0].ManualStop')" = true ]
}

@test "a kill from inside the container is not a manual stop: always restarts" {
    b run -d --name k --restart always --restart-backoff 50ms:100ms:10s busybox \
        sh -c 'sleep 100 & kill -9 $!; wait $!'
    eventually restarts_ge k 1
    [ "$(b inspect k | jq -r '.[0].ManualStop')" = false ]
    b stop -t 0 k
}

@test "backoff grows: restarting is seen, RestartCount increases, gaps widen" {
    b run -d --name bo --restart always --restart-backoff 100ms:400ms:10s busybox true
    eventually state_is bo restarting
    eventually restarts_ge bo 5
    b stop -t 0 bo
    [ "$(state bo)" = exited ]
    # gaps between starts: at least the backoff (100, 200, 400, 400 ms), load only adds
    local starts
    starts=$(b events --since 1h --until "$(date +%s.%N)" --filter container=bo \
        --filter event=start --format json | jq -r .time)
    [ "$(wc -l <<<"$starts")" -ge 5 ]
    local first last
    first=$(sed -n 1p <<<"$starts")
    last=$(sed -n 5p <<<"$starts")
    # 4 gaps, at least 100+200+400+400 ms in all: more than a second between start 1 and 5
    [ "$((last - first))" -ge 1 ]
}

@test "backoff grows: later gaps are at least the larger backoff" {
    b run -d --name bo --restart always --restart-backoff 100ms:400ms:10s busybox true
    eventually restarts_ge bo 5
    b stop -t 0 bo
    local ns
    ns=$(q "events since=1h until=$(date +%s.%N) filter=container=bo filter=event=start" |
        grep -o '"timeNano":[0-9.e+]*' | cut -d: -f2)
    # timeNano may be printed as a double: let awk read it
    local gaps
    gaps=$(awk 'NR > 1 { printf "%d\n", ($1 - prev) / 1e6 } { prev = $1 }' <<<"$ns")
    echo "gaps: $gaps"
    [ "$(sed -n 1p <<<"$gaps")" -ge 90 ]
    [ "$(sed -n 3p <<<"$gaps")" -ge 350 ]
    [ "$(sed -n 4p <<<"$gaps")" -ge 350 ]
}

@test "the restart policy shows as restarting in ps" {
    b run -d --name bo --restart always --restart-backoff 1s:1s:10s busybox sh -c 'exit 2'
    eventually state_is bo restarting
    run b ps --filter name=bo
    [[ "${lines[1]}" == *"Restarting (2) "*" ago"* ]]
    b stop bo
}

@test "--rm with --restart always is refused" {
    run b run --rm --restart always busybox true
    [ "$status" -eq 125 ]
    [[ "$output" == *"conflicting options"* ]]
    [ -z "$(b ps -a -q)" ]
    run b create --rm --restart on-failure busybox true
    [ "$status" -eq 125 ]
    [[ "$output" == *"conflicting options"* ]]
    [ -z "$(b ps -a -q)" ]
}

@test "--rm with --restart no is accepted" {
    run b run --rm --restart no busybox true
    [ "$status" -eq 0 ]
}

@test "an invalid restart policy is refused" {
    run b run --restart sometimes busybox true
    [ "$status" -eq 125 ]
    run b run --restart on-failure:x busybox true
    [ "$status" -eq 125 ]
    [ -z "$(b ps -a -q)" ]
}

@test "stop of a restarting container cancels the restart" {
    b run -d --name rs --restart always --restart-backoff 2s:2s:10s busybox true
    eventually state_is rs restarting
    run b stop rs
    [ "$status" -eq 0 ]
    [ "$(state rs)" = exited ]
    sleep 2.5
    [ "$(state rs)" = exited ]
    [ "$(actions rs)" = "create start die " ]
}

@test "the restart count resets at the next manual start" {
    b run -d --name of --restart on-failure:2 --restart-backoff 50ms:100ms:10s busybox sh -c 'exit 3'
    eventually restarts_are of 2
    eventually state_is of exited
    b start of
    eventually state_is of exited
    [ "$(restart_count of)" -le 2 ]
    eventually actions_count_is of 13
    [ "$(restart_count of)" = 2 ]
}

@test "wait reports the first exit even when a restart follows" {
    b run -d --name w --restart on-failure:1 --restart-backoff 300ms:300ms:10s busybox \
        sh -c 'sleep 0.5; exit 5'
    run b wait w
    [ "$status" -eq 0 ]
    [ "$output" = 5 ]
    eventually restarts_are w 1
}

@test "run attached with a restart policy returns at the first exit" {
    run timeout 10 "$BERTH" --socket "$SOCK" run --name a --restart on-failure:3 \
        --restart-backoff 200ms:200ms:10s busybox sh -c 'exit 6'
    [ "$status" -eq 6 ]
    eventually restarts_are a 3
}
