#!/usr/bin/env bats
# manifest.bats - the boot manifest (DESIGN §13) in session mode: `berthd --manifest FILE`
# starts containers in dependency order, refuses a bad manifest at load, `berth manifest apply`
# and SIGHUP converge to a new one, a failed requirement holds its dependents back, exit_with
# ends berthd, and a shutdown stops dependents before what they require.

load helpers
bats_require_minimum_version 1.5.0

setup() {
    require_root
    MDIR=$(mktemp -d /tmp/bthmanifest.XXXXXX)
    mkdir -p "$MDIR/out"
}
teardown() {
    sv_stop
    rm -rf "$MDIR"
}

# A container that appends its name to $MDIR/out/order when it gets SIGTERM.
trapper() {
    printf '{"name": "%s", "image": "busybox", "network": "none", "stop_timeout": 5, "volumes": ["%s:/out"], "cmd": ["sh", "-c", "trap \\"echo %s >>/out/order; exit 0\\" TERM; while :; do sleep 0.1; done"]%s}' \
        "$1" "$MDIR/out" "$1" "${2:+, \"requires\": $2}"
}

started_at() { b inspect "$1" | jq -r '.[0].State.StartedAt'; }
finished_at() { b inspect "$1" | jq -r '.[0].State.FinishedAt'; }
status_of() { b inspect "$1" | jq -r '.[0].State.Status'; }
is_running() { [ "$(status_of "$1")" = running ]; }
is_exited() { [ "$(status_of "$1")" = exited ]; }

@test "--manifest: volumes, networks and containers, each one after what it requires" {
    cat >"$MDIR/m.json" <<EOF
{"volumes": ["mvol"], "networks": [{"name": "mnet$$"}],
 "containers": [
  {"name": "c", "image": "busybox", "cmd": ["sleep", "1000"], "network": "none", "stop_timeout": 1,
   "requires": [{"name": "b", "condition": "completed"}]},
  {"name": "b", "image": "busybox", "cmd": ["sh", "-c", "sleep 0.3; echo done"], "network": "none",
   "requires": ["a"]},
  {"name": "a", "image": "busybox", "cmd": ["sleep", "1000"], "network": "none", "stop_timeout": 1,
   "volumes": ["mvol:/v"], "labels": {"tier": "base"}}
 ]}
EOF
    sv_start --manifest "$MDIR/m.json"
    eventually is_running c
    is_running a
    [ "$(status_of b)" = exited ]
    # RFC 3339 with nanoseconds sorts as text
    [[ "$(started_at a)" < "$(started_at b)" ]]
    [[ "$(finished_at b)" < "$(started_at c)" ]]
    b volume inspect mvol >/dev/null
    b network inspect "mnet$$" >/dev/null
    [ "$(b inspect a | jq -r '.[0].Config.Labels.tier')" = base ]
    [[ "$(b inspect a | jq -r '.[0].Config.Labels["berth.manifest"]')" =~ ^[0-9a-f]{16}$ ]]
    grep -q "manifest applied: 3 created, 3 started, 0 removed, 0 failed" "$TESTDIR/berthd.log"
    b rm -f a c >/dev/null
    b network rm "mnet$$"
}

@test "a failed requirement holds its dependents back, and the apply says why" {
    sv_start
    cat >"$MDIR/m.json" <<'EOF'
{"containers": [
  {"name": "fails", "image": "busybox", "cmd": ["sh", "-c", "exit 3"], "network": "none"},
  {"name": "after", "image": "busybox", "cmd": ["true"], "network": "none",
   "requires": [{"name": "fails", "condition": "completed"}]},
  {"name": "later", "image": "busybox", "cmd": ["true"], "network": "none", "requires": ["after"]}
 ]}
EOF
    run b manifest apply "$MDIR/m.json"
    [ "$status" -eq 1 ]
    [[ "$output" == *"after: requirement 'fails' (completed): it exited with 3"* ]]
    [[ "$output" == *"later: requirement 'after' (started) failed"* ]]
    [ "$(status_of after)" = created ]
    [ "$(status_of later)" = created ]
}

@test "bad manifests are refused at load and change nothing" {
    sv_start
    b run -d --name keep --network none --stop-timeout 1 busybox sleep 1000 >/dev/null
    echo '{"containers": [{"name": "x", "image": "busybox", "requires": ["y"]}]}' >"$MDIR/unknown.json"
    run b manifest apply "$MDIR/unknown.json"
    [ "$status" -eq 1 ]
    [[ "$output" == *"container 'x' requires 'y', which the manifest does not define"* ]]
    echo '{"containers": [{"name": "x", "image": "busybox", "requires": ["y"]},
                          {"name": "y", "image": "busybox", "requires": ["x"]}]}' >"$MDIR/cycle.json"
    run b manifest apply "$MDIR/cycle.json"
    [[ "$output" == *"dependency cycle: x -> y -> x"* ]]
    echo '{"containers": [' >"$MDIR/broken.json"
    run b manifest apply "$MDIR/broken.json"
    [ "$status" -eq 1 ]
    run b manifest apply "$MDIR/missing.json"
    [ "$status" -eq 1 ]
    run q "manifest apply relative.json"
    [[ "$output" == "err 400 the manifest path must be absolute"* ]]
    # a FIFO (or one named by env_file) would block berthd's loop: refused at once
    mkfifo "$MDIR/fifo"
    run timeout 10 "$BERTH" --socket "$SOCK" manifest apply "$MDIR/fifo"
    [ "$status" -eq 1 ]
    [[ "$output" == *"'$MDIR/fifo' is not a regular file"* ]]
    echo "{\"containers\": [{\"name\": \"x\", \"image\": \"busybox\", \"env_file\": \"$MDIR/fifo\"}]}" >"$MDIR/envfifo.json"
    run timeout 10 "$BERTH" --socket "$SOCK" manifest apply "$MDIR/envfifo.json"
    [ "$status" -eq 1 ]
    [[ "$output" == *"'$MDIR/fifo' is not a regular file"* ]]
    [ "$(b ps -a -q | wc -l)" -eq 1 ]
    is_running keep
    # berthd --manifest with a bad one does not start at all
    run "$BERTHD" --root "$MDIR/root2" --socket "$MDIR/sock2" --manifest "$MDIR/cycle.json"
    [ "$status" -eq 2 ]
    [[ "$output" == *"dependency cycle: x -> y -> x"* ]]
    [ ! -e "$MDIR/sock2" ]
}

@test "manifest apply converges: new started, removed stopped, changed re-created, the rest left running" {
    sv_start
    cat >"$MDIR/m1.json" <<'EOF'
{"containers": [
  {"name": "same", "image": "busybox", "cmd": ["sleep", "1000"], "network": "none", "stop_timeout": 1},
  {"name": "changes", "image": "busybox", "cmd": ["sleep", "1000"], "network": "none", "stop_timeout": 1},
  {"name": "goes", "image": "busybox", "cmd": ["sleep", "1000"], "network": "none", "stop_timeout": 1}
 ]}
EOF
    b manifest apply "$MDIR/m1.json"
    b run -d --name mine --network none --stop-timeout 1 busybox sleep 1000 >/dev/null
    same0=$(started_at same)
    changes0=$(b inspect changes | jq -r '.[0].Id')
    sed -e 's/"changes", "image": "busybox", "cmd": \["sleep", "1000"\]/"changes", "image": "busybox", "cmd": ["sleep", "2000"]/' \
        -e 's/"goes"/"new"/' "$MDIR/m1.json" >"$MDIR/m2.json"
    run b manifest apply "$MDIR/m2.json"
    [ "$status" -eq 0 ]
    [[ "$output" == *"Removed    changes"* ]] && [[ "$output" == *"Removed    goes"* ]]
    [[ "$output" == *"Started    new"* ]] && [[ "$output" == *"Unchanged  same"* ]]
    [ "$(started_at same)" = "$same0" ]
    [ "$(b inspect changes | jq -r '.[0].Id')" != "$changes0" ]
    [ "$(b inspect changes | jq -c '.[0].Args')" = '["2000"]' ]
    is_running changes
    is_running new
    run b inspect goes
    [ "$status" -ne 0 ]
    # a container the manifest did not make is not the manifest's to remove
    is_running mine
    # applying it again changes nothing
    run b manifest apply "$MDIR/m2.json"
    [ "$status" -eq 0 ]
    [[ "$output" != *Created* ]] && [[ "$output" != *Removed* ]]
}

@test "SIGHUP re-applies the --manifest file" {
    echo '{"containers": [{"name": "one", "image": "busybox", "cmd": ["sleep", "1000"], "network": "none", "stop_timeout": 1}]}' >"$MDIR/m.json"
    sv_start --manifest "$MDIR/m.json"
    eventually is_running one
    echo '{"containers": [{"name": "two", "image": "busybox", "cmd": ["sleep", "1000"], "network": "none", "stop_timeout": 1}]}' >"$MDIR/m.json"
    kill -HUP "$SV_PID"
    eventually is_running two
    gone() { ! b inspect one >/dev/null 2>&1; }
    eventually gone
}

@test "exit_with: the container's exit ends berthd with its message, after stopping the rest" {
    cat >"$MDIR/m.json" <<'EOF'
{"containers": [
  {"name": "svc", "image": "busybox", "cmd": ["sleep", "1000"], "network": "none", "stop_timeout": 1},
  {"name": "check", "image": "busybox", "cmd": ["sh", "-c", "sleep 0.5; exit 3"], "network": "none",
   "requires": ["svc"]}
 ], "exit_with": "check"}
EOF
    sv_start --manifest "$MDIR/m.json"
    berthd_gone() { ! kill -0 "$SV_PID" 2>/dev/null; }
    eventually berthd_gone
    rc=0
    wait "$SV_PID" || rc=$?
    SV_PID=
    [ "$rc" -eq 0 ]
    grep -q "^berth: check exited with 3$" "$TESTDIR/berthd.log"
    grep -q "every container is down" "$TESTDIR/berthd.log"
}

@test "a shutdown stops dependents before what they require" {
    cat >"$MDIR/m.json" <<EOF
{"containers": [ $(trapper base), $(trapper mid '["base"]'), $(trapper top '[{"name": "mid", "condition": "started"}]'), $(trapper alone) ]}
EOF
    sv_start --manifest "$MDIR/m.json"
    eventually is_running top
    sv_term
    # alone has no order; the chain does
    [ "$(grep -v alone "$MDIR/out/order" | tr '\n' ' ')" = "top mid base " ]
    grep -q alone "$MDIR/out/order"
}

@test "requires healthy: the dependent starts only once the check has passed" {
    cat >"$MDIR/m.json" <<'EOF2'
{"containers": [
  {"name": "web", "image": "busybox", "cmd": ["sleep", "1000"], "network": "none", "stop_timeout": 1,
   "requires": [{"name": "db", "condition": "healthy"}]},
  {"name": "db", "image": "busybox", "cmd": ["sh", "-c", "sleep 1; touch /tmp/up; exec sleep 1000"],
   "network": "none", "stop_timeout": 1,
   "health": {"cmd": ["test", "-e", "/tmp/up"], "interval": "200ms", "start_period": "10s",
              "start_interval": "200ms", "retries": 2}}
 ]}
EOF2
    sv_start --manifest "$MDIR/m.json"
    eventually is_running web
    [ "$(b inspect db | jq -r '.[0].State.Health.Status')" = healthy ]
    first_ok=$(b inspect db | jq -r '[.[0].State.Health.Log[] | select(.ExitCode == 0)][0].End')
    [[ "$first_ok" < "$(started_at web)" ]]
}

@test "exit_with: a container that cannot start ends berthd too, saying why" {
    cat >"$MDIR/m.json" <<'EOF2'
{"containers": [
  {"name": "dep", "image": "busybox", "cmd": ["sh", "-c", "exit 4"], "network": "none"},
  {"name": "check", "image": "busybox", "cmd": ["true"], "network": "none",
   "requires": [{"name": "dep", "condition": "completed"}]}
 ], "exit_with": "check"}
EOF2
    # it ends before it could be pinged: run it in the foreground
    sv_prepare
    run timeout 60 "$BERTHD" --root "$ROOT" --socket "$SOCK" --manifest "$MDIR/m.json"
    [ "$status" -eq 0 ]
    [[ "$output" == *"berth: check did not start: requirement 'dep' (completed): it exited with 4"* ]]
}
