#!/usr/bin/env bats
# cli.bats - the berth client: flags, exit codes, socket discovery, ps output, version/info
# (DESIGN §7, §9, §16).

load helpers
bats_require_minimum_version 1.5.0

setup() { require_root; sv_start; }
teardown() { sv_stop; }

@test "unknown flag: run and create exit 125, nothing is created" {
    run b run --bogus busybox true
    [ "$status" -eq 125 ]
    [[ "$output" == "berth: unknown flag: --bogus"* ]]
    run b create --bogus busybox true
    [ "$status" -eq 125 ]
    run b run -Z busybox true
    [ "$status" -eq 125 ]
    [ -z "$(b ps -a -q)" ]
}

@test "unknown flag: other commands exit 1" {
    local cmd
    for cmd in ps stop start rm kill inspect logs wait events restart; do
        run b "$cmd" --bogus x
        [ "$status" -eq 1 ]
        [[ "$output" == "berth: unknown flag: --bogus"* ]]
    done
}

@test "unknown command exits 1" {
    run b frobnicate
    [ "$status" -ne 0 ]
    [[ "$output" == berth:* ]]
}

@test "a flag missing its value" {
    run b run --name
    [ "$status" -eq 125 ]
    run b stop -t
    [ "$status" -eq 1 ]
}

@test "run without an image exits 125" {
    run b run
    [ "$status" -eq 125 ]
    run b run -d --name x
    [ "$status" -eq 125 ]
}

@test "run of an unknown image exits 125" {
    run b run nosuchimage true
    [ "$status" -eq 125 ]
    [[ "$output" == berth:* ]]
    [ -z "$(b ps -a -q)" ]
}

@test "run flags with invalid values exit 125" {
    run b run --stop-timeout abc busybox true
    [ "$status" -eq 125 ]
    run b run --log-opt max-size=lots busybox true
    [ "$status" -eq 125 ]
    run b run --stop-signal NOSIG busybox true
    [ "$status" -eq 125 ]
    run b run -e =x busybox true
    [ "$status" -eq 125 ]
    [ -z "$(b ps -a -q)" ]
}

@test "--socket to a missing socket: exit 1, cannot connect" {
    run "$BERTH" --socket /nonexistent/berth.sock ps
    [ "$status" -eq 1 ]
    [[ "$output" == "berth: cannot connect"*"/nonexistent/berth.sock"* ]]
}

@test "run against a missing socket exits 125" {
    run "$BERTH" --socket /nonexistent/berth.sock run busybox true
    [ "$status" -eq 125 ]
    [[ "$output" == *"cannot connect"* ]]
}

@test "BERTH_SOCKET is used when --socket is not given" {
    b create --name viaenv busybox true
    run env BERTH_SOCKET="$SOCK" "$BERTH" ps -a --format json
    [ "$status" -eq 0 ]
    [ "$(jq -r .Names <<<"$output")" = viaenv ]
    # --socket wins over the environment
    run env BERTH_SOCKET=/nonexistent "$BERTH" --socket "$SOCK" ps -a -q
    [ "$status" -eq 0 ]
    run env BERTH_SOCKET=/nonexistent "$BERTH" ps
    [ "$status" -eq 1 ]
    [[ "$output" == *"cannot connect"*/nonexistent* ]]
}

@test "ping" {
    run b ping
    [ "$status" -eq 0 ]
}

@test "ps -q prints short ids of running containers only" {
    b run -d --name r busybox sleep 100
    b create --name c busybox true
    run b ps -q
    [ "${#lines[@]}" -eq 1 ]
    [ "$output" = "$(b inspect r | jq -r '.[0].Id[0:12]')" ]
    run b ps -a -q
    [ "${#lines[@]}" -eq 2 ]
    b stop -t 0 r
}

@test "ps --no-trunc shows full ids and commands" {
    b create --name c busybox sh -c 'echo a very long command line that would be cut short'
    run b ps -a --no-trunc
    [[ "${lines[1]}" == "$(b inspect c | jq -r '.[0].Id')"* ]]
    [[ "$output" == *"cut short"* ]]
    run b ps -a
    [[ "$output" != *"cut short"* ]]
    run b ps -a -q --no-trunc
    [[ "$output" =~ ^[0-9a-f]{64}$ ]]
}

@test "ps table header" {
    run b ps
    [[ "${lines[0]}" =~ ^CONTAINER\ ID\ +IMAGE\ +COMMAND\ +CREATED\ +STATUS\ +PORTS\ +NAMES$ ]]
}

@test "ps --format json: one JSON object per line" {
    b run -d --name r --label k=v busybox sleep 100
    b create --name c busybox true
    run b ps -a --format json
    [ "$status" -eq 0 ]
    [ "${#lines[@]}" -eq 2 ]
    local l
    for l in "${lines[@]}"; do
        jq -e 'type == "object"' <<<"$l"
        jq -e 'has("ID") and has("Names") and has("Image") and has("Command") and has("CreatedAt") and has("Status") and has("State") and has("Ports") and has("Labels")' <<<"$l"
    done
    [ "$(jq -r .Names <<<"${lines[0]}")" = c ]
    [ "$(jq -r .State <<<"${lines[1]}")" = running ]
    [ "$(jq -r .Image <<<"${lines[1]}")" = busybox ]
    [[ "$(jq -r .Labels <<<"${lines[1]}")" == *k=v* ]]
    b stop -t 0 r
}

@test "ps -a is newest first" {
    b create --name first busybox true
    b create --name second busybox true
    b run --name third busybox true
    run b ps -a --format json
    [ "$(jq -r .Names <<<"$output" | tr '\n' ' ')" = "third second first " ]
    run b ps -a
    [[ "${lines[1]}" == *third ]]
    [[ "${lines[3]}" == *first ]]
}

@test "ps STATUS words: Up, Exited (N), Created" {
    b run -d --name up busybox sleep 100
    b run --name ex busybox sh -c 'exit 3' || true
    b create --name cr busybox true
    run b ps -a --format json
    [[ "$(jq -r 'select(.Names == "up") | .Status' <<<"$output")" =~ ^Up\ (Less\ than\ a\ second|[0-9]+\ seconds?)$ ]]
    [[ "$(jq -r 'select(.Names == "ex") | .Status' <<<"$output")" =~ ^Exited\ \(3\)\ .*ago$ ]]
    [ "$(jq -r 'select(.Names == "cr") | .Status' <<<"$output")" = Created ]
    run b ps -a
    [[ "$output" == *"Exited (3) "* ]]
    b stop -t 0 up
    run b ps -a --format json
    [[ "$(jq -r 'select(.Names == "up") | .Status' <<<"$output")" == "Exited (137) "* ]]
}

@test "ps filters: name, id, status, exited, ancestor, before, since" {
    b create --name aa busybox true
    b run --name bb busybox sh -c 'exit 2' || true
    b create --name cc busybox true
    local id
    id=$(b inspect bb | jq -r '.[0].Id')
    [ "$(b ps -a --format json --filter name=bb | jq -r .Names)" = bb ]
    [ "$(b ps -a --format json --filter id="${id:0:8}" | jq -r .Names)" = bb ]
    [ "$(b ps -a --format json --filter status=exited | jq -r .Names)" = bb ]
    [ "$(b ps -a --format json --filter exited=2 | jq -r .Names)" = bb ]
    [ "$(b ps -a --format json --filter ancestor=busybox | wc -l)" -eq 3 ]
    [ "$(b ps -a --format json --filter before=bb | jq -r .Names)" = aa ]
    [ "$(b ps -a --format json --filter since=bb | jq -r .Names)" = cc ]
}

@test "ps with an unknown filter exits 1" {
    run b ps --filter bogus=1
    [ "$status" -eq 1 ]
    [[ "$output" == berth:* ]]
}

@test "ps --format other than json exits 1" {
    run b ps --format '{{.ID}}'
    [ "$status" -eq 1 ]
}

@test "stop/kill/rm/start print each name as given" {
    b run -d --name n1 busybox sleep 100
    local id
    id=$(b inspect n1 | jq -r '.[0].Id')
    run b kill "${id:0:12}"
    [ "$output" = "${id:0:12}" ]
    run b start /n1
    [ "$output" = /n1 ]
    run b stop -t 0 n1
    [ "$output" = n1 ]
    run b rm "$id"
    [ "$output" = "$id" ]
}

@test "version output" {
    run b version
    [ "$status" -eq 0 ]
    [[ "$output" == *"Client:"* ]]
    [[ "$output" == *"Server:"* ]]
    [ "$(grep -c 'Version: *0.1.0' <<<"$output")" -eq 2 ]
    run "$BERTH" --version
    [ "$status" -eq 0 ]
    [[ "$output" == *0.1.0* ]]
}

@test "version without a daemon still prints the client part and exits 1" {
    run "$BERTH" --socket /nonexistent version
    [ "$status" -eq 1 ]
    [[ "$output" == *"Client:"* ]]
    [[ "$output" == *"cannot connect"* ]]
}

@test "info output" {
    b run -d --name r busybox sleep 100
    run b info
    [ "$status" -eq 0 ]
    [[ "$output" == *"Containers: 1"* ]]
    [[ "$output" == *"Running: 1"* ]]
    [[ "$output" == *"Images: 1"* ]]
    [[ "$output" == *"Root Dir: $ROOT"* ]]
    [[ "$output" == *"Socket: $SOCK"* ]]
    b stop -t 0 r
}

@test "--help prints usage and exits 0" {
    run "$BERTH" --help
    [ "$status" -eq 0 ]
    [[ "$output" == *Usage:* ]]
    run b run --help
    [ "$status" -eq 0 ]
    [[ "$output" == *Usage:* ]]
}

@test "errors go to stderr with the berth: prefix" {
    run --separate-stderr b stop nosuch
    [ "$status" -eq 1 ]
    [ -z "$output" ]
    [ "$stderr" = "berth: no such container: nosuch" ]
}
