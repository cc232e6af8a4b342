#!/usr/bin/env bats
# logs_events.bats - container output through berthd (attach, logs) and the event stream
# (DESIGN §8, §10 logs, §16 events and logs; PROTOCOL.md logs, events, streams).

load helpers
bats_require_minimum_version 1.5.0

setup() { require_root; sv_start; }
teardown() { sv_stop; }

RFC3339NANO='[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{9}Z'

# until_now: an --until value just after everything that happened so far
until_now() {
    date +%s.%N
}

# clients_at_least N: berthd serves N clients (the info request counted)
clients_at_least() {
    [ "$(q info | sed 's/^ok //' | jq -r .Clients)" -ge "$1" ]
}

# ---- logs ------------------------------------------------------------------------------

@test "logs keeps stdout and stderr apart" {
    b run --name l busybox sh -c 'echo out1; echo err1 >&2; echo out2; echo err2 >&2'
    b logs l >"$TESTDIR/out" 2>"$TESTDIR/err"
    [ "$(cat "$TESTDIR/out")" = "out1
out2" ]
    [ "$(cat "$TESTDIR/err")" = "err1
err2" ]
}

@test "run attached keeps stdout and stderr apart" {
    b run busybox sh -c 'echo out1; echo err1 >&2' >"$TESTDIR/out" 2>"$TESTDIR/err"
    [ "$(cat "$TESTDIR/out")" = out1 ]
    [ "$(cat "$TESTDIR/err")" = err1 ]
}

@test "logs of a line without a newline" {
    b run --name l busybox printf 'no newline'
    run b logs l
    [ "$output" = "no newline" ]
    [ "$(b logs l | od -An -c | tr -d ' \n')" = nonewline ]
}

@test "logs -t prefixes each line with an RFC 3339 nanosecond timestamp" {
    b run --name l busybox sh -c 'echo one; echo two'
    run b logs -t l
    [ "$status" -eq 0 ]
    [ "${#lines[@]}" -eq 2 ]
    [[ "${lines[0]}" =~ ^${RFC3339NANO}\ one$ ]]
    [[ "${lines[1]}" =~ ^${RFC3339NANO}\ two$ ]]
    # in order
    [[ ! "${lines[1]%% *}" < "${lines[0]%% *}" ]]
}

@test "logs --tail N, --tail 0 and --tail all" {
    b run --name l busybox sh -c 'for i in 1 2 3 4 5; do echo l$i; done'
    run b logs --tail 2 l
    [ "$output" = "l4
l5" ]
    run b logs --tail 0 l
    [ "$status" -eq 0 ]
    [ -z "$output" ]
    run b logs --tail all l
    [ "${#lines[@]}" -eq 5 ]
    run b logs --tail 100 l
    [ "${#lines[@]}" -eq 5 ]
}

@test "logs --tail with an invalid value fails" {
    b create --name l busybox true
    run b logs --tail -1 l
    [ "$status" -eq 1 ]
    [[ "$output" == "berth: "* ]]
    run q 'logs tail=abc l'
    [[ "$output" == "err 400 "* ]]
}

@test "logs --since and --until with RFC 3339 times" {
    b run --name l busybox sh -c 'echo one; echo two; echo three'
    local t2
    t2=$(b logs -t l | sed -n 2p | cut -d' ' -f1)
    run b logs --since "$t2" l
    [ "$output" = "two
three" ]
    run b logs --until "$t2" l
    [ "$output" = "one
two" ]
    run b logs --since "$t2" --until "$t2" l
    [ "$output" = two ]
}

@test "logs --since and --until with Unix seconds and relative durations" {
    b run --name l busybox sh -c 'echo one; echo two'
    run b logs --since 10m l
    [ "${#lines[@]}" -eq 2 ]
    run b logs --until 10m l
    [ -z "$output" ]
    run b logs --since "$(($(date +%s) - 600))" l
    [ "${#lines[@]}" -eq 2 ]
    run b logs --until "$(($(date +%s) - 600)).5" l
    [ -z "$output" ]
    run b logs --since "$(($(date +%s) + 600))" l
    [ -z "$output" ]
}

@test "logs --since with an invalid time fails" {
    b create --name l busybox true
    run b logs --since garbage l
    [ "$status" -eq 1 ]
    [[ "$output" == "berth: "*since* ]]
    run q 'logs since=garbage l'
    [[ "$output" == "err 400 "* ]]
}

@test "logs of an unknown container exits 1" {
    run b logs nosuch
    [ "$status" -eq 1 ]
    [[ "$output" == *"no such container: nosuch"* ]]
}

@test "logs -f follows and returns when the container exits" {
    b run -d --name f busybox sh -c 'echo first; sleep 0.5; echo second; sleep 0.5; echo third'
    "$BERTH" --socket "$SOCK" logs -f f >"$TESTDIR/follow" &
    local lp=$!
    eventually grep -q second "$TESTDIR/follow"
    # still following while the container runs
    kill -0 "$lp"
    local rc=0
    wait "$lp" || rc=$?
    [ "$rc" -eq 0 ]
    [ "$(cat "$TESTDIR/follow")" = "first
second
third" ]
    [ "$(state f)" = exited ]
}

@test "logs -f of an exited container returns at once" {
    b run --name f busybox echo done
    run timeout 5 "$BERTH" --socket "$SOCK" logs -f f
    [ "$status" -eq 0 ]
    [ "$output" = done ]
}

@test "binary output round-trips through run attached and logs" {
    printf 'a\000b\377c\n\001\002\r\n\033[0m\t"\\x\n\377' >"$TESTDIR/expect"
    b run --name bin busybox printf 'a\000b\377c\n\001\002\r\n\033[0m\t"\\x\n\377' >"$TESTDIR/attached"
    cmp "$TESTDIR/expect" "$TESTDIR/attached"
    b logs bin >"$TESTDIR/logs"
    cmp "$TESTDIR/expect" "$TESTDIR/logs"
}

@test "every byte value round-trips through logs" {
    local all
    all=$(for i in $(seq 0 255); do printf '\\%03o' "$i"; done)
    printf "$all" >"$TESTDIR/expect"
    b run --name bytes busybox printf "$all" >"$TESTDIR/attached"
    cmp "$TESTDIR/expect" "$TESTDIR/attached"
    b logs bytes >"$TESTDIR/logs"
    cmp "$TESTDIR/expect" "$TESTDIR/logs"
}

@test "a 2 MB output is complete and in order in logs" {
    b run --name big busybox sh -c 'head -c 2000000 /dev/urandom | base64 >/tmp/d; sha256sum </tmp/d >&2; cat /tmp/d' \
        >/dev/null 2>&1 || true
    b wait big
    local want
    want=$(b logs big 2>&1 >/dev/null | head -1 | cut -d' ' -f1)
    [[ "$want" =~ ^[0-9a-f]{64}$ ]]
    [ "$(b logs big 2>/dev/null | sha256sum | cut -d' ' -f1)" = "$want" ]
}

@test "a 2 MB output is fully delivered in order to an attached run" {
    run --separate-stderr b run --name big busybox \
        sh -c 'head -c 2000000 /dev/urandom | base64 >/tmp/d; sha256sum </tmp/d >&2; cat /tmp/d'
    [ "$status" -eq 0 ]
    local want=${stderr%% *}
    [[ "$want" =~ ^[0-9a-f]{64}$ ]]
    [ "$(printf '%s\n' "$output" | sha256sum | cut -d' ' -f1)" = "$want" ]
}

@test "a 600 KB output is fully delivered in order to an attached run" {
    b run --name mid busybox \
        sh -c 'head -c 600000 /dev/urandom | base64 >/tmp/d; sha256sum </tmp/d >&2; cat /tmp/d' \
        >"$TESTDIR/out" 2>"$TESTDIR/err"
    [ "$(sha256sum <"$TESTDIR/out" | cut -d' ' -f1)" = "$(cut -d' ' -f1 "$TESTDIR/err")" ]
}

# ---- events ----------------------------------------------------------------------------

@test "run --rm emits create, start, die (with exitCode), destroy in order" {
    run b run --rm --name ev busybox sh -c 'exit 4'
    [ "$status" -eq 4 ]
    eventually bash -c "! '$BERTH' --socket '$SOCK' inspect ev"
    run b events --since 1h --until "$(until_now)" --filter container=ev --format json
    [ "$status" -eq 0 ]
    [ "$(jq -r .Action <<<"$output" | tr '\n' ' ')" = "create start die destroy " ]
    [ "$(jq -r 'select(.Action == "die") | .Actor.Attributes.exitCode' <<<"$output")" = 4 ]
    [ "$(jq -r .Actor.Attributes.name <<<"$output" | sort -u)" = ev ]
    [ "$(jq -r .Actor.Attributes.image <<<"$output" | sort -u)" = busybox ]
    [ "$(jq -r .Type <<<"$output" | sort -u)" = container ]
    [[ "$(jq -r .Actor.ID <<<"$output" | sort -u)" =~ ^[0-9a-f]{64}$ ]]
}

@test "events text lines: RFC3339Nano time, type, action, id, sorted attributes" {
    b run --name ev --label zz=last --label aa=first busybox sh -c 'exit 4' || true
    run b events --since 1h --until "$(until_now)" --filter event=die
    [ "$status" -eq 0 ]
    [ "${#lines[@]}" -eq 1 ]
    local id
    id=$(b inspect ev | jq -r '.[0].Id')
    [[ "${lines[0]}" =~ ^${RFC3339NANO}\ container\ die\ ${id}\ \(aa=first,\ exitCode=4,\ image=busybox,\ name=ev,\ zz=last\)$ ]]
    # the time is now, not 1970
    [ "${lines[0]:0:4}" = "$(date -u +%Y)" ]
}

@test "events JSON: time and timeNano are integers that agree" {
    b run --name ev busybox true
    run q "events since=1h until=$(until_now) filter=event=die"
    local line=${lines[1]}
    [[ "$line" =~ \"timeNano\":[0-9]{19}[,}] ]]
    local t tn
    t=$(jq -r .time <<<"$line")
    tn=$(grep -o '"timeNano":[0-9]*' <<<"$line" | cut -d: -f2)
    [ "${tn:0:10}" = "$t" ]
}

@test "events --filter event=die shows only die events" {
    b run --name e1 busybox sh -c 'exit 1' || true
    b run --name e2 busybox sh -c 'exit 2' || true
    run b events --since 1h --until "$(until_now)" --filter event=die --format json
    [ "${#lines[@]}" -eq 2 ]
    [ "$(jq -r .Action <<<"$output" | sort -u)" = die ]
    [ "$(jq -r .Actor.Attributes.exitCode <<<"$output" | tr '\n' ' ')" = "1 2 " ]
}

@test "events --filter container= by name and by id" {
    b run --name e1 busybox true
    b run --name e2 busybox true
    local id
    id=$(b inspect e2 | jq -r '.[0].Id')
    run b events --since 1h --until "$(until_now)" --filter container=e1 --format json
    [ "$(jq -r .Actor.Attributes.name <<<"$output" | sort -u)" = e1 ]
    [ "${#lines[@]}" -eq 3 ]
    run b events --since 1h --until "$(until_now)" --filter "container=$id" --format json
    [ "$(jq -r .Actor.Attributes.name <<<"$output" | sort -u)" = e2 ]
}

@test "events filters: different keys are ANDed, one key's values ORed" {
    b run --name e1 busybox true
    b run --name e2 busybox true
    run b events --since 1h --until "$(until_now)" --filter container=e1 --filter event=die --format json
    [ "${#lines[@]}" -eq 1 ]
    run b events --since 1h --until "$(until_now)" --filter event=die --filter event=create --format json
    [ "${#lines[@]}" -eq 4 ]
}

@test "events --filter label= selects by label" {
    b run --name e1 --label team=a busybox true
    b run --name e2 --label team=b busybox true
    run b events --since 1h --until "$(until_now)" --filter label=team=a --format json
    [ "${#lines[@]}" -ge 3 ]
    [ "$(jq -r .Actor.Attributes.name <<<"$output" | sort -u)" = e1 ]
    [ "$(jq -r .Actor.Attributes.team <<<"$output" | sort -u)" = a ]
    run b events --since 1h --until "$(until_now)" --filter label=team --format json
    [ "$(jq -r .Actor.Attributes.name <<<"$output" | sort -u | tr '\n' ' ')" = "e1 e2 " ]
}

@test "events --filter type=container and image=busybox" {
    b run --name e1 busybox true
    run b events --since 1h --until "$(until_now)" --filter type=container --filter image=busybox --format json
    [ "${#lines[@]}" -eq 3 ]
    run b events --since 1h --until "$(until_now)" --filter image=nosuchimage --format json
    [ -z "$output" ]
}

@test "events with an unknown filter key fails" {
    run b events --filter bogus=1
    [ "$status" -eq 1 ]
    run q 'events filter=bogus=1'
    [[ "$output" == "err 400 "* ]]
}

@test "events --since replays and --until ends the stream" {
    b run --name e1 busybox true
    local t0=$SECONDS
    run timeout 10 "$BERTH" --socket "$SOCK" events --since 1h --until "$(until_now)" --format json
    [ "$status" -eq 0 ]
    [ $((SECONDS - t0)) -lt 5 ]
    [ "$(jq -r .Action <<<"$output" | tr '\n' ' ')" = "create start die " ]
}

@test "events --until in the future waits, then ends" {
    local until
    until=$(($(date +%s) + 2))
    "$BERTH" --socket "$SOCK" events --until "$until" --format json >"$TESTDIR/ev" &
    local ep=$!
    b run --name e1 busybox true
    local rc=0
    wait "$ep" || rc=$?
    [ "$rc" -eq 0 ]
    [ "$(jq -r .Action <"$TESTDIR/ev" | tr '\n' ' ')" = "create start die " ]
}

@test "events without --since shows only new events" {
    b run --name old busybox true
    "$BERTH" --socket "$SOCK" events --format json >"$TESTDIR/ev" &
    local ep=$!
    eventually clients_at_least 2
    b run --name new busybox true
    eventually grep -q '"Action":"die"' "$TESTDIR/ev"
    kill "$ep"
    wait "$ep" || true
    [ "$(jq -r .Actor.Attributes.name <"$TESTDIR/ev" | sort -u)" = new ]
}

@test "events lines are flushed as they happen" {
    "$BERTH" --socket "$SOCK" events --filter event=start --format json >"$TESTDIR/ev" &
    local ep=$!
    eventually clients_at_least 2
    b run -d --name live busybox sleep 100
    # the stream is still open and the line is already there
    eventually grep -q '"name":"live"' "$TESTDIR/ev"
    kill -0 "$ep"
    kill "$ep"
    wait "$ep" || true
    b stop -t 0 live
}

@test "events over the protocol: ok, then one JSON line per event" {
    b run --name e1 busybox true
    run q "events since=1h until=$(until_now)"
    [ "${lines[0]}" = ok ]
    [ "${lines[-1]}" = end ]
    [ "${#lines[@]}" -eq 5 ]
    jq -e . <<<"${lines[1]}"
}

@test "kill and stop events carry the signal" {
    b run -d --name k busybox sh -c 'trap "exit 0" USR1; while :; do sleep 0.1; done'
    b kill -s USR1 k
    b wait k
    run b events --since 1h --until "$(until_now)" --filter event=kill --format json
    [ "${#lines[@]}" -eq 1 ]
    [ "$(jq -r .Actor.Attributes.signal <<<"$output")" = 10 ]
    b start k
    b stop -t 0 k
    run b events --since 1h --until "$(until_now)" --filter event=stop --format json
    [ "${#lines[@]}" -eq 1 ]
}
