#!/usr/bin/env bats
# health.bats - health checks, readiness and wait conditions (DESIGN §13; PROTOCOL.md create
# health_* keys and sdnotify, wait condition=healthy|running|exited, inspect State.Health).
# Intervals are 100 ms to 1 s so the file stays short; `eventually` polls, nothing sleeps long.
#
# Readiness needs a process in the container that sends a datagram to a Unix socket: busybox
# has no applet for that (its nc speaks TCP/UDP only, logger writes syslog lines to /dev/log),
# so a tiny static helper (sdnotify_bin below) is bound into the container at
# /usr/bin/sdnotify: it sends each argument as one datagram to $NOTIFY_SOCKET.

load helpers
bats_require_minimum_version 1.5.0

# sdnotify_bin DIR: DIR/sdnotify, built there unless present
sdnotify_bin() {
    local out=$1/sdnotify
    if [ ! -x "$out" ]; then
        cat >"$out.c" <<'CSRC'
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
int main(int argc, char **argv) {
    const char *path = getenv("NOTIFY_SOCKET");
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    int fd = socket(AF_UNIX, SOCK_DGRAM, 0);
    if (!path || fd < 0) { fprintf(stderr, "sdnotify: no NOTIFY_SOCKET\n"); return 2; }
    snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path);
    for (int i = 1; i < argc; i++)
        if (sendto(fd, argv[i], strlen(argv[i]), 0, (struct sockaddr *)&sa, sizeof sa) < 0) {
            perror("sdnotify");
            return 1;
        }
    return 0;
}
CSRC
        cc -static -O1 -o "$out.tmp" "$out.c" && mv "$out.tmp" "$out" || return 1
        rm -f "$out.c"
    fi
    echo "$out"
}

setup_file() {
    sdnotify_bin "$BATS_FILE_TMPDIR" >/dev/null
}
setup() { require_root; sv_start; }
teardown() { sv_stop; }

# a container that stops at once on SIGTERM and otherwise runs for a minute
LOOP='trap "exit 0" TERM; i=0; while [ $i -lt 600 ]; do sleep 0.1; i=$((i+1)); done'

health() {
    b inspect "$1" | jq -r '.[0].State.Health.Status'
}

health_is() {
    [ "$(health "$1")" = "$2" ]
}

# jq_is NAME FILTER WANT: FILTER over the container's inspect object prints WANT
jq_is() {
    [ "$(b inspect "$1" | jq -r ".[0] | $2")" = "$3" ]
}

# actions NAME: the container's event actions so far, one per line
actions() {
    b events --since 1h --until "$(date +%s.%N)" --filter "container=$1" --format json |
        jq -r .Action
}

@test "a passing check makes it healthy: inspect, ps, ps --filter health, events, wait" {
    run b run -d --name web --health-cmd 'echo "ok $HOSTNAME"' --health-interval 200ms busybox sh -c "$LOOP"
    [ "$status" -eq 0 ]
    run b ps
    [[ "$output" == *"(health: starting)"* ]]
    run b wait --condition healthy web
    [ "$status" -eq 0 ]
    [ "$output" = 0 ]
    run b inspect web
    [ "$(jq -r '.[0].State.Health.Status' <<<"$output")" = healthy ]
    [ "$(jq -r '.[0].State.Health.FailingStreak' <<<"$output")" = 0 ]
    [ "$(jq -r '.[0].State.Health.Log[0].ExitCode' <<<"$output")" = 0 ]
    [ "$(jq -r '.[0] | .State.Health.Log[0].Output == "ok \(.Config.Hostname)\n"' <<<"$output")" = true ]
    [[ "$(jq -r '.[0].State.Health.Log[0].Start' <<<"$output")" =~ ^20[0-9-]+T[0-9:]+\.[0-9]{9}Z$ ]]
    [ "$(jq -c '.[0].Config.Healthcheck' <<<"$output")" = '{"Test":["CMD-SHELL","echo \"ok $HOSTNAME\""],"Interval":200000000}' ]
    run b ps
    [[ "$output" == *"Up "*" (healthy)"*web* ]]
    run b ps -q --filter health=healthy
    [ "$(wc -l <<<"$output")" -eq 1 ] && [ -n "$output" ]
    run b ps -q --filter health=none
    [ -z "$output" ]
    run b ps --filter health=sick
    [ "$status" -eq 1 ]
    [[ "$output" == *"healthy, unhealthy, starting or none"* ]]
    run actions web
    [[ "$output" == *"health_status: healthy"* ]]
    # the checks are berthd's children, reaped like execs but never listed as execs
    [ "$(b inspect web | jq -c '.[0].ExecIDs')" = null ]
}

@test "failing checks: unhealthy after the retries, FailingStreak, at most 5 results with output" {
    b run -d --name bad --health-cmd 'echo "no luck" >&2; exit 3' --health-interval 100ms \
        --health-retries 2 busybox sh -c "$LOOP"
    eventually health_is bad unhealthy
    eventually jq_is bad '.State.Health.FailingStreak >= 7' true
    run b inspect bad
    [ "$(jq -r '.[0].State.Health.Log | length' <<<"$output")" = 5 ]
    [ "$(jq -r '[.[0].State.Health.Log[].ExitCode] | unique | .[]' <<<"$output")" = 3 ]
    [ "$(jq -r '[.[0].State.Health.Log[].Output] | unique | .[]' <<<"$output")" = "no luck" ]
    run b ps
    [[ "$output" == *"(unhealthy)"* ]]
    run actions bad
    [ "$(grep -c 'health_status: unhealthy' <<<"$output")" = 1 ]
    run b events --since 1h --until "$(date +%s.%N)" --filter event=health_status
    [ "${#lines[@]}" -eq 1 ]
    [[ "${lines[0]}" == *" container health_status: unhealthy "*"(image=busybox, name=bad)" ]]
    [ "$(b ps -q --filter health=unhealthy)" = "$(b ps -q)" ]
    # no zombie: every check was reaped
    ! ps -o stat= --ppid "$SV_PID" | grep -q Z
}

@test "failures during the start period do not count; the start interval applies there" {
    b run -d --name slow --health-cmd 'test -e /tmp/ready' --health-interval 200ms \
        --health-retries 1 --health-start-period 5s --health-start-interval 100ms busybox sh -c "$LOOP"
    eventually jq_is slow '.State.Health.Log | length >= 4' true
    run b inspect slow
    [ "$(jq -r '.[0].State.Health.Status' <<<"$output")" = starting ]
    [ "$(jq -r '.[0].State.Health.FailingStreak' <<<"$output")" = 0 ]
    b exec slow touch /tmp/ready
    eventually health_is slow healthy
    # once healthy, a failure counts even in the start period (retries 1: at once)
    b exec slow rm /tmp/ready
    eventually health_is slow unhealthy
    jq_is slow '.State.Health.FailingStreak >= 1' true
}

@test "a check that outlives its timeout is killed and fails; a stop never waits for a check" {
    b run -d --name hang --health-cmd 'sleep 30' --health-timeout 300ms --health-interval 100ms \
        --health-retries 1 busybox sh -c "$LOOP"
    eventually health_is hang unhealthy
    jq_is hang '.State.Health.Log[-1].Output' "Health check exceeded timeout (300ms)"
    jq_is hang '.State.Health.Log[-1].ExitCode' -1
    # a check is in flight most of the time now: the stop is still immediate
    start=$(date +%s%N)
    run b stop hang
    [ "$status" -eq 0 ]
    [ $(( ($(date +%s%N) - start) / 1000000 )) -lt 3000 ]
    jq_is hang '.State.ExitCode' 0
    ! ps -o stat= --ppid "$SV_PID" | grep -q Z
}

@test "the image's Healthcheck applies; --no-healthcheck disables it; checks run as the container" {
    mkdir "$ROOT/images/hc"
    cp -a "$ROOT/images/busybox/rootfs" "$ROOT/images/hc/rootfs"
    jq -c '. + {Healthcheck: {Test: ["CMD-SHELL", "test \"$FOO\" = bar && test $(id -u) = 1000"], Interval: 200000000, Retries: 1}}' \
        "$ROOT/images/busybox/config.json" >"$ROOT/images/hc/config.json"
    b run -d --name img -e FOO=bar -u 1000 hc sh -c "$LOOP"
    run b wait --condition healthy img
    [ "$status" -eq 0 ]
    jq_is img '.Config.Healthcheck.Test[0]' CMD-SHELL
    jq_is img '.Config.Healthcheck.Retries' 1
    # the request's values win over the image's, the rest comes from the image
    b run -d --name wrong -u 1000 --health-retries 2 hc sh -c "$LOOP"
    eventually health_is wrong unhealthy
    jq_is wrong '.Config.Healthcheck.Retries' 2
    jq_is wrong '.State.Health.FailingStreak >= 2' true
    jq_is wrong '.Config.Healthcheck.Interval' 200000000
    b run -d --name off --no-healthcheck hc sh -c "$LOOP"
    jq_is off '.State.Health' null
    jq_is off '.Config.Healthcheck.Test | join(",")' NONE
    run b ps --filter name=off
    [[ "$output" != *health* ]]
    [ "$(b ps -q --filter health=none)" = "$(b ps -q --filter name=off)" ]
    run b wait --condition healthy off
    [ "$status" -eq 1 ]
    [[ "$output" == *"container off has no health check"* ]]
}

@test "--health-on-failure restart stops and starts it again (RestartCount +1)" {
    # unhealthy in its first run only: the second run makes /tmp/second
    b run -d --name rs --health-cmd 'test -e /tmp/second' --health-interval 100ms --health-retries 1 \
        --health-on-failure restart busybox sh -c "[ -e /tmp/first ] && touch /tmp/second; touch /tmp/first; $LOOP"
    eventually jq_is rs '.RestartCount' 1
    eventually health_is rs healthy
    jq_is rs '.State.Status' running
    jq_is rs '.ManualStop' false
    run actions rs
    [ "$(tr '\n' ' ' <<<"$output")" = "create start health_status: unhealthy kill die stop restart start health_status: healthy " ]
    grep -q 'rs: unhealthy: restarting it' "$TESTDIR/berthd.log"
}

@test "--health-on-failure kill: the restart policy decides (always: back; no: stays exited)" {
    b run -d --name ka --restart always --restart-backoff 50ms:100ms:10s --health-cmd 'test -e /tmp/second' \
        --health-interval 100ms --health-retries 1 --health-on-failure kill \
        busybox sh -c "[ -e /tmp/first ] && touch /tmp/second; touch /tmp/first; $LOOP"
    eventually health_is ka healthy
    jq_is ka '.RestartCount' 1
    jq_is ka '.ManualStop' false
    run actions ka
    [[ "$(tr '\n' ' ' <<<"$output")" == *"health_status: unhealthy kill die start health_status: healthy "* ]]
    b run -d --name kn --health-cmd false --health-interval 100ms --health-retries 1 \
        --health-on-failure kill busybox sh -c "$LOOP"
    eventually state_is kn exited
    jq_is kn '.State.ExitCode' 137
    jq_is kn '.ManualStop' false
    jq_is kn '.RestartCount' 0
    jq_is kn '.State.Health.Status' unhealthy
    grep -q 'kn: unhealthy: killing it' "$TESTDIR/berthd.log"
}

@test "--health-on-failure stop stops it as berth stop does: a manual stop, no restart" {
    b run -d --name st --restart always --health-cmd false --health-interval 100ms --health-retries 1 \
        --health-on-failure stop busybox sh -c "$LOOP"
    eventually state_is st exited
    jq_is st '.ManualStop' true
    jq_is st '.State.ExitCode' 0
    sleep 0.5
    jq_is st '.State.Status' exited
    jq_is st '.RestartCount' 0
    grep -q 'st: unhealthy: stopping it' "$TESTDIR/berthd.log"
}

@test "sdnotify: READY=1 on NOTIFY_SOCKET makes it healthy; the socket goes with the run" {
    local sdn="$BATS_FILE_TMPDIR/sdnotify"
    run b run -d --name app --sdnotify container -v "$sdn:/usr/bin/sdnotify:ro" busybox \
        sh -c "trap 'exit 0' TERM; while [ ! -e /tmp/go ]; do sleep 0.1; done; sdnotify 'STATUS=warming up
READY=1'; $LOOP"
    [ "$status" -eq 0 ]
    id=$(b inspect app | jq -r '.[0].Id')
    [ -S "$ROOT/containers/$id/notify.sock" ]
    sleep 0.3
    jq_is app '.State.Health.Status' starting
    run b exec app sh -c 'echo $NOTIFY_SOCKET; ls -l /run/berth/notify.sock'
    [ "${lines[0]}" = /run/berth/notify.sock ]
    [[ "${lines[1]}" == srw-rw-rw-* ]]
    # a flood is read in bounded batches: berthd keeps answering, the status does not change
    b exec app sh -c 'i=0; while [ $i -lt 4 ]; do sdnotify $(seq 1 500 | sed s/^/STATUS=/); i=$((i+1)); done' 
    q ping | grep -q '^ok'
    jq_is app '.State.Health.Status' starting
    b exec app touch /tmp/go
    run b wait --condition healthy app
    [ "$status" -eq 0 ]
    jq_is app '.State.Health.Log[-1].Output' "READY=1 received on NOTIFY_SOCKET"
    run actions app
    [[ "$output" == *"health_status: healthy"* ]]
    grep -q 'app: STATUS=warming up' "$TESTDIR/berthd.log"
    # a restart starts over as `starting`; any user of the container may report readiness
    b exec app rm /tmp/go
    b restart -t 1 app
    jq_is app '.State.Health.Status' starting
    b exec -u 1000 app sdnotify READY=1
    eventually health_is app healthy
    b stop app
    [ ! -e "$ROOT/containers/$id/notify.sock" ]
}

@test "wait --condition healthy|running|exited and their errors" {
    b run -d --name plain busybox sh -c "$LOOP"
    run b wait --condition healthy plain
    [ "$status" -eq 1 ]
    [ "$output" = "berth: container plain has no health check" ]
    run q "wait condition=healthy plain"
    [ "$output" = "err 409 container plain has no health check" ]
    # it exits before it is healthy: the waiter hears so
    b run -d --name short --health-cmd false --health-interval 100ms busybox sleep 1
    run b wait --condition healthy short
    [ "$status" -eq 1 ]
    [ "$output" = "berth: container short exited before becoming healthy (exit code 0)" ]
    run b wait --condition exited short
    [ "$output" = 0 ]
    # already exited
    run q "wait condition=healthy short"
    [ "$output" = "err 409 container short exited before becoming healthy (exit code 0)" ]
    # healthy at once when it already is
    b run -d --name fine --health-cmd true --health-interval 100ms busybox sh -c "$LOOP"
    b wait --condition healthy fine
    run q "wait condition=healthy fine"
    [ "$output" = 'ok {"StatusCode":0,"Health":"healthy"}' ]
    # running: once it runs
    b create --name later busybox sh -c "$LOOP"
    b wait --condition running later >"$TESTDIR/running.out" 2>&1 &
    waiter=$!
    sleep 0.3
    kill -0 "$waiter"
    b start later
    wait "$waiter"
    [ "$(cat "$TESTDIR/running.out")" = 0 ]
    run q "wait condition=running later"
    [ "$output" = 'ok {"StatusCode":0,"State":"running"}' ]
    run q "wait condition=sick later"
    [[ "$output" == "err 400 invalid condition 'sick'"* ]]
}

@test "a failed start ends wait --condition running|healthy|next-exit with the failure's code" {
    b create --name nf busybox nosuchcmd
    b create --name ni --health-cmd true --health-interval 100ms busybox /etc/passwd
    # timeout: a waiter that misses the failure fails the test instead of hanging it
    timeout 10 "$BERTH" --socket "$SOCK" wait --condition running nf >"$TESTDIR/nf.running" 2>&1 &
    w_running=$!
    # a created container is not running: plain `wait` would answer at once
    timeout 10 "$BERTH" --socket "$SOCK" wait --condition next-exit nf >"$TESTDIR/nf.next" 2>&1 &
    w_next=$!
    q "wait condition=running ni" >"$TESTDIR/ni.raw" &
    w_raw=$!
    timeout 10 "$BERTH" --socket "$SOCK" wait --condition healthy ni >"$TESTDIR/ni.healthy" 2>&1 &
    w_healthy=$!
    sleep 0.3
    for w in "$w_running" "$w_next" "$w_raw" "$w_healthy"; do
        kill -0 "$w"
    done
    run b start nf
    [ "$status" -ne 0 ]
    [[ "$output" == *'exec: "nosuchcmd": executable file not found'* ]]
    run b start ni
    [ "$status" -ne 0 ]
    [[ "$output" == *'exec: "/etc/passwd": permission denied'* ]]
    wait "$w_running"
    [ "$(cat "$TESTDIR/nf.running")" = 127 ]
    wait "$w_next"
    [ "$(cat "$TESTDIR/nf.next")" = 127 ]
    wait "$w_raw"
    [ "$(cat "$TESTDIR/ni.raw")" = 'ok {"StatusCode":126,"Error":"exec: \"/etc/passwd\": permission denied","State":"exited"}' ]
    st=0
    wait "$w_healthy" || st=$?
    [ "$st" -eq 1 ]
    [ "$(cat "$TESTDIR/ni.healthy")" = 'berth: container ni exited before becoming healthy (exit code 126): exec: "/etc/passwd": permission denied' ]
    # the same at once once the start has failed
    run q "wait condition=healthy ni"
    [ "$output" = 'err 409 container ni exited before becoming healthy (exit code 126): exec: "/etc/passwd": permission denied' ]
    run b wait nf
    [ "$output" = 127 ]
}

@test "bad health values are refused with 400 (the client exits 125)" {
    run q 'create image=busybox health_test=nope' 'create image=busybox health_test="[\"CMD\"]"' \
        'create image=busybox health_test="[\"SHELL\",\"x\"]"' 'create image=busybox health_interval=5x' \
        'create image=busybox health_timeout=-1s' 'create image=busybox health_retries=-1' \
        'create image=busybox health_on_failure=reboot' 'create image=busybox sdnotify=yes'
    [ "${#lines[@]}" -eq 8 ]
    for l in "${lines[@]}"; do [[ "$l" == "err 400 "* ]]; done
    [[ "${lines[0]}" == *"invalid health test 'nope': not JSON"* ]]
    [[ "${lines[1]}" == *"CMD needs a command"* ]]
    [[ "${lines[2]}" == *"invalid health test type 'SHELL'"* ]]
    [[ "${lines[3]}" == *"health_interval: invalid duration '5x'"* ]]
    [[ "${lines[5]}" == *"health_retries"* ]]
    [[ "${lines[6]}" == *"none, restart, kill or stop"* ]]
    [[ "${lines[7]}" == *"container or ignore"* ]]
    run b run -d --health-on-failure reboot busybox true
    [ "$status" -eq 125 ]
    [ "$(b ps -aq)" = "" ]
}
