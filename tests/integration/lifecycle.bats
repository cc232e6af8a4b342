#!/usr/bin/env bats
# lifecycle.bats - run/create/start/stop/restart/kill/rm/wait/inspect and the state table
# (DESIGN §3, §4, §9, §16; PROTOCOL.md create/run/start/stop/kill/rm/inspect/wait).

load helpers
bats_require_minimum_version 1.5.0

setup() { require_root; sv_start; }
teardown() { sv_stop; }

# gone NAME: the container no longer exists
gone() {
    ! b inspect "$1" >/dev/null 2>&1
}

# clients_at_least N: berthd serves N clients (the info request counted)
clients_at_least() {
    [ "$(q info | sed 's/^ok //' | jq -r .Clients)" -ge "$1" ]
}

# ---- run, exit codes -------------------------------------------------------------------

@test "run -d prints the full id and the container is running" {
    run b run -d --name web busybox sleep 100
    [ "$status" -eq 0 ]
    [[ "$output" =~ ^[0-9a-f]{64}$ ]]
    [ "$(state web)" = running ]
    [ "$(b ps -q)" = "$(b inspect web | jq -r '.[0].Id[0:12]')" ]
    b stop -t 0 web
}

@test "run attached passes exit code 0 and the output" {
    run b run busybox echo hello
    [ "$status" -eq 0 ]
    [ "$output" = hello ]
}

@test "run attached passes exit code 3" {
    run b run busybox sh -c 'exit 3'
    [ "$status" -eq 3 ]
}

@test "run attached: a process killed by SIGKILL inside gives 137" {
    run b run busybox sh -c 'sleep 100 & kill -9 $!; wait $!'
    [ "$status" -eq 137 ]
}

@test "run attached: a container killed by SIGKILL exits 128+9" {
    "$BERTH" --socket "$SOCK" run --name k busybox sleep 100 &
    local cp=$!
    eventually state_is k running
    b kill k
    local rc=0
    wait "$cp" || rc=$?
    [ "$rc" -eq 137 ]
    [ "$(exit_code_of k)" = 137 ]
}

@test "run attached forwards SIGTERM, SIGUSR1 and SIGINT to the container" {
    local sig code
    for sig in TERM:41 USR1:42 INT:43; do
        code=${sig#*:}
        sig=${sig%:*}
        "$BERTH" --socket "$SOCK" run --name "f$sig" busybox \
            sh -c "trap 'exit $code' $sig; echo ready; while :; do sleep 0.1; done" \
            >"$TESTDIR/out.$sig" &
        local cp=$!
        eventually grep -q ready "$TESTDIR/out.$sig"
        kill -"$sig" "$cp"
        local rc=0
        wait "$cp" || rc=$?
        [ "$rc" -eq "$code" ]
        # a forwarded signal is not a manual stop
        [ "$(b inspect "f$sig" | jq -r '.[0].ManualStop')" = false ]
    done
}

@test "run with a missing command exits 127 with 'executable file not found'" {
    run -127 b run --name miss busybox nosuchcommand
    [ "$status" -eq 127 ]
    [[ "$output" == "berth: "*"executable file not found"* ]]
    [ "$(state miss)" = exited ]
    [ "$(exit_code_of miss)" = 127 ]
    [[ "$(b inspect miss | jq -r '.[0].State.Error')" == *"executable file not found"* ]]
}

@test "run of a non-executable file exits 126 with 'permission denied'" {
    run b run --name perm busybox /etc/passwd
    [ "$status" -eq 126 ]
    [[ "$output" == "berth: "*"permission denied"* ]]
    [ "$(exit_code_of perm)" = 126 ]
}

@test "run --rm removes the container after it exits" {
    run b run --rm --name tmp busybox sh -c 'exit 4'
    [ "$status" -eq 4 ]
    eventually gone tmp
    [ -z "$(b ps -a -q)" ]
}

@test "run -d --rm removes the container after it exits" {
    run b run -d --rm --name tmp busybox true
    [ "$status" -eq 0 ]
    eventually gone tmp
    [ -z "$(b ps -a -q)" ]
}

@test "run --rm removes the container after a failed start" {
    run -127 b run --rm --name tmp busybox nosuchcommand
    [ "$status" -eq 127 ]
    [[ "$output" == *"executable file not found"* ]]
    eventually gone tmp
    [ -z "$(b ps -a -q)" ]
}

# ---- create, start ---------------------------------------------------------------------

@test "create leaves the container created; start runs it" {
    run b create --name c busybox sh -c 'echo hi; exit 5'
    [ "$status" -eq 0 ]
    [[ "$output" =~ ^[0-9a-f]{64}$ ]]
    [ "$(state c)" = created ]
    [ "$(b inspect c | jq -r '.[0].State.Pid')" = 0 ]
    run b start c
    [ "$status" -eq 0 ]
    [ "$output" = c ]
    run b wait c
    [ "$output" = 5 ]
    [ "$(state c)" = exited ]
    [ "$(b logs c)" = hi ]
}

@test "start -a attaches and passes the exit code" {
    b create --name c busybox sh -c 'echo attached; exit 6'
    run b start -a c
    [ "$status" -eq 6 ]
    [ "$output" = attached ]
}

@test "start -a of an unknown container exits 125" {
    run b start -a nosuch
    [ "$status" -eq 125 ]
    [[ "$output" == *"no such container"* ]]
}

@test "a failed start: start exits 1, wait reports 127" {
    b create --name f busybox nosuchcommand
    run b start f
    [ "$status" -eq 1 ]
    [[ "$output" == *"executable file not found"* ]]
    run b wait f
    [ "$status" -eq 0 ]
    [ "$output" = 127 ]
    [ "$(state f)" = exited ]
}

# ---- the state table -------------------------------------------------------------------

@test "start of a running container exits 0 and prints the name" {
    b run -d --name r busybox sleep 100
    local pid
    pid=$(b inspect r | jq -r '.[0].State.Pid')
    run b start r
    [ "$status" -eq 0 ]
    [ "$output" = r ]
    [ "$(b inspect r | jq -r '.[0].State.Pid')" = "$pid" ]
    run q 'start r'
    [ "$output" = "err 304 container is already running" ]
    b stop -t 0 r
}

@test "stop of a stopped container exits 0" {
    b create --name c busybox true
    run b stop c
    [ "$status" -eq 0 ]
    [ "$output" = c ]
    run q 'stop c'
    [ "$output" = "err 304 container is already stopped" ]
}

@test "rm of a running container without -f is refused" {
    b run -d --name r busybox sleep 100
    run b rm r
    [ "$status" -eq 1 ]
    [ "$output" = "berth: container is running: stop it first or use force" ]
    [ "$(state r)" = running ]
    run q 'rm r'
    [ "$output" = "err 409 container is running: stop it first or use force" ]
    b stop -t 0 r
}

@test "kill of a stopped container is refused with 409" {
    b create --name c busybox true
    run b kill c
    [ "$status" -eq 1 ]
    [[ "$output" == "berth: "*"is not running"* ]]
    run q 'kill c'
    [[ "$output" == "err 409 "*"is not running"* ]]
    [ "$(state c)" = created ]
}

# ---- names and selection ---------------------------------------------------------------

@test "a duplicate name is refused with 125 and a conflict message" {
    b create --name dup busybox true
    run b run --name dup busybox true
    [ "$status" -eq 125 ]
    [[ "$output" == "berth: conflict: the container name \"/dup\" is already in use by container \""* ]]
    run b create --name dup busybox true
    [ "$status" -eq 125 ]
    [ "$(b ps -a -q | wc -l)" -eq 1 ]
}

@test "an invalid name is refused with 125" {
    local n
    for n in 'bad name' '-lead' '.dot' "$(printf 'a%.0s' $(seq 64))"; do
        run b run --name "$n" busybox true
        [ "$status" -eq 125 ]
        [[ "$output" == *"invalid container name"* ]]
    done
    [ -z "$(b ps -a -q)" ]
    # 63 characters is the limit
    n=$(printf 'a%.0s' $(seq 63))
    run b create --name "$n" busybox true
    [ "$status" -eq 0 ]
}

@test "a generated name is adjective_noun" {
    run b create busybox true
    [ "$status" -eq 0 ]
    [[ "$(b inspect "$output" | jq -r '.[0].Name')" =~ ^/[a-z]+_[a-z]+$ ]]
}

@test "full id, unique id prefix, name and /name all select the container" {
    b create --name sel busybox true
    b create --name other busybox true
    local id oid len p
    id=$(b inspect sel | jq -r '.[0].Id')
    oid=$(b inspect other | jq -r '.[0].Id')
    # shortest prefix that does not match the other container
    for len in $(seq 1 64); do
        [ "${id:0:len}" != "${oid:0:len}" ] && break
    done
    for p in "$id" "${id:0:12}" "${id:0:len}" sel /sel; do
        [ "$(b inspect "$p" | jq -r '.[0].Name')" = /sel ]
    done
}

@test "an ambiguous id prefix is refused" {
    local n ch
    # 17 ids over 16 hex digits: two share a first digit
    for n in $(seq 17); do b create busybox true >/dev/null; done
    for ch in 0 1 2 3 4 5 6 7 8 9 a b c d e f; do
        [ "$(b ps -a -q --no-trunc | grep -c "^$ch")" -ge 2 ] && break
    done
    run q "inspect $ch"
    [ "$output" = "err 409 multiple containers match: $ch" ]
    run b rm "$ch"
    [ "$status" -eq 1 ]
    [ "$(b ps -a -q | wc -l)" -eq 17 ]
}

@test "stop of several names with one unknown exits 1 but stops the others" {
    b run -d --name a1 busybox sleep 100
    b run -d --name a2 busybox sleep 100
    run b stop -t 0 a1 nosuch a2
    [ "$status" -eq 1 ]
    [[ "$output" == *"no such container: nosuch"* ]]
    [ "$(echo "$output" | grep -vc 'berth:')" -eq 2 ]
    echo "$output" | grep -qx a1
    echo "$output" | grep -qx a2
    [ "$(state a1)" = exited ]
    [ "$(state a2)" = exited ]
}

@test "rm of several names with one unknown exits 1 but removes the others" {
    b create --name a1 busybox true
    b create --name a2 busybox true
    run b rm a1 nosuch a2
    [ "$status" -eq 1 ]
    [[ "$output" == *"no such container: nosuch"* ]]
    gone a1
    gone a2
    [ -z "$(b ps -a -q)" ]
}

# ---- inspect ---------------------------------------------------------------------------

@test "inspect of an unknown name prints [] and exits 1" {
    run --separate-stderr b inspect nosuch
    [ "$status" -eq 1 ]
    [ "$output" = "[]" ]
    [[ "$stderr" == *"no such container: nosuch"* ]]
}

@test "inspect of several names, one unknown, prints the known ones and exits 1" {
    b create --name a1 busybox true
    run --separate-stderr b inspect a1 nosuch
    [ "$status" -eq 1 ]
    [ "$(jq length <<<"$output")" = 1 ]
    [ "$(jq -r '.[0].Name' <<<"$output")" = /a1 ]
}

@test "inspect shows the documented fields of a running container" {
    b run -d --name x --label app=web --label tier=front busybox sleep 100
    run b inspect x
    [ "$status" -eq 0 ]
    local j=$output
    [ "$(jq -r '.[0].State.Status' <<<"$j")" = running ]
    [ "$(jq -r '.[0].State.Running' <<<"$j")" = true ]
    [ "$(jq -r '.[0].State.Pid' <<<"$j")" -gt 0 ]
    kill -0 "$(jq -r '.[0].State.Pid' <<<"$j")"
    [ "$(jq -r '.[0].State.ExitCode' <<<"$j")" = 0 ]
    [ "$(jq -r '.[0].Name' <<<"$j")" = /x ]
    [[ "$(jq -r '.[0].Id' <<<"$j")" =~ ^[0-9a-f]{64}$ ]]
    [ "$(jq -r '.[0].Path' <<<"$j")" = sleep ]
    [ "$(jq -c '.[0].Args' <<<"$j")" = '["100"]' ]
    [ "$(jq -c '.[0].Config.Cmd' <<<"$j")" = '["sleep","100"]' ]
    [ "$(jq -r '.[0].Image' <<<"$j")" = busybox ]
    [ "$(jq -r '.[0].RestartCount' <<<"$j")" = 0 ]
    [ "$(jq -r '.[0].HostConfig.RestartPolicy.Name' <<<"$j")" = no ]
    [ "$(jq -r '.[0].HostConfig.AutoRemove' <<<"$j")" = false ]
    [ "$(jq -r '.[0].Config.Labels.app' <<<"$j")" = web ]
    [ "$(jq -r '.[0].Config.Labels.tier' <<<"$j")" = front ]
    jq -e '.[0].Config.Env | index("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")' <<<"$j"
    [ "$(jq -r '.[0].Config.StopSignal' <<<"$j")" = SIGTERM ]
    [ "$(jq -r '.[0].Config.StopTimeout' <<<"$j")" = 10 ]
    [ "$(jq -r '.[0].ManualStop' <<<"$j")" = false ]
    [ -n "$(jq -r '.[0].LogPath' <<<"$j")" ]
    b stop -t 0 x
    [ "$(b inspect x | jq -r '.[0].State.Pid')" = 0 ]
    [ "$(exit_code_of x)" = 137 ]
}

@test "inspect shows the restart policy and auto-remove settings" {
    b create --name p --restart on-failure:5 busybox true
    b create --name r --rm busybox true
    [ "$(b inspect p | jq -r '.[0].HostConfig.RestartPolicy.Name')" = on-failure ]
    [ "$(b inspect p | jq -r '.[0].HostConfig.RestartPolicy.MaximumRetryCount')" = 5 ]
    [ "$(b inspect r | jq -r '.[0].HostConfig.AutoRemove')" = true ]
}

@test "the container environment has PATH, HOSTNAME and HOME" {
    run b run -h envhost busybox env
    [ "$status" -eq 0 ]
    echo "$output" | grep -qx 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'
    echo "$output" | grep -qx 'HOSTNAME=envhost'
    echo "$output" | grep -qx 'HOME=/root'
}

# ---- wait ------------------------------------------------------------------------------

@test "wait of several names prints their codes in the order of the names" {
    b run -d --name slow busybox sh -c 'sleep 0.5; exit 3'
    b run -d --name fast busybox sh -c 'exit 5'
    run b wait slow fast
    [ "$status" -eq 0 ]
    [ "$output" = "3
5" ]
}

@test "wait of an unknown name exits 1" {
    b create --name c busybox sh -c 'exit 2'
    b start c
    run b wait c nosuch
    [ "$status" -eq 1 ]
    echo "$output" | grep -qx 2
}

# ---- stop, kill, rm -f, restart --------------------------------------------------------

@test "stop sends SIGTERM: a TERM-trapping container exits 0 quickly" {
    b run -d --name t busybox sh -c 'trap "exit 0" TERM; while :; do sleep 0.1; done'
    local t0=$SECONDS
    run b stop t
    [ "$status" -eq 0 ]
    [ "$output" = t ]
    [ $((SECONDS - t0)) -lt 5 ]
    [ "$(state t)" = exited ]
    [ "$(exit_code_of t)" = 0 ]
    [ "$(b inspect t | jq -r '.[0].ManualStop')" = true ]
}

@test "stop -t 1 kills a TERM-ignoring container after the grace time: 137" {
    b run -d --name ig busybox sh -c 'trap "" TERM; while :; do sleep 0.1; done'
    local t0
    t0=$(date +%s%N)
    run b stop -t 1 ig
    [ "$status" -eq 0 ]
    local ms=$((($(date +%s%N) - t0) / 1000000))
    [ "$ms" -ge 900 ]
    [ "$(exit_code_of ig)" = 137 ]
}

@test "stop -t 0 kills at once" {
    b run -d --name ig busybox sh -c 'trap "" TERM; while :; do sleep 0.1; done'
    local t0=$SECONDS
    run b stop -t 0 ig
    [ "$status" -eq 0 ]
    [ $((SECONDS - t0)) -lt 5 ]
    [ "$(exit_code_of ig)" = 137 ]
}

@test "--stop-timeout is the default grace time of stop" {
    b run -d --name ig --stop-timeout 1 busybox sh -c 'trap "" TERM; while :; do sleep 0.1; done'
    [ "$(b inspect ig | jq -r '.[0].Config.StopTimeout')" = 1 ]
    local t0=$SECONDS
    b stop ig
    [ $((SECONDS - t0)) -lt 8 ]
    [ "$(exit_code_of ig)" = 137 ]
}

@test "--stop-signal USR1 is what stop sends" {
    b run -d --name u --stop-signal USR1 busybox \
        sh -c 'trap "exit 7" USR1; trap "exit 8" TERM; while :; do sleep 0.1; done'
    [ "$(b inspect u | jq -r '.[0].Config.StopSignal')" = SIGUSR1 ]
    b stop -t 5 u
    [ "$(exit_code_of u)" = 7 ]
}

@test "kill -s HUP delivers that signal" {
    b run -d --name k busybox sh -c 'trap "exit 9" HUP; while :; do sleep 0.1; done'
    run b kill -s HUP k
    [ "$status" -eq 0 ]
    [ "$output" = k ]
    run b wait k
    [ "$output" = 9 ]
}

@test "kill defaults to SIGKILL: 137" {
    b run -d --name k busybox sh -c 'trap "exit 9" TERM HUP INT; while :; do sleep 0.1; done'
    b kill k
    run b wait k
    [ "$output" = 137 ]
}

@test "rm -f of a running container kills and removes it" {
    b run -d --name r busybox sleep 100
    local pid
    pid=$(b inspect r | jq -r '.[0].State.Pid')
    run b rm -f r
    [ "$status" -eq 0 ]
    [ "$output" = r ]
    gone r
    [ -z "$(b ps -a -q)" ]
    run kill -0 "$pid"
    [ "$status" -ne 0 ]
}

@test "rm of an exited container removes it" {
    b run --name e busybox true
    run b rm e
    [ "$status" -eq 0 ]
    gone e
}

@test "restart of an exited container runs it again" {
    run b run --name re busybox sh -c 'echo ran; exit 2'
    [ "$status" -eq 2 ]
    local started
    started=$(b inspect re | jq -r '.[0].State.StartedAt')
    run b restart re
    [ "$status" -eq 0 ]
    [ "$output" = re ]
    run b wait re
    [ "$output" = 2 ]
    [ "$(b logs re | grep -c ran)" -eq 2 ]
    [ "$(b inspect re | jq -r '.[0].State.StartedAt')" != "$started" ]
}

@test "restart of a running container stops and starts it" {
    b run -d --name re busybox sh -c 'trap "exit 0" TERM; while :; do sleep 0.1; done'
    local pid
    pid=$(b inspect re | jq -r '.[0].State.Pid')
    run b restart -t 1 re
    [ "$status" -eq 0 ]
    [ "$(state re)" = running ]
    [ "$(b inspect re | jq -r '.[0].State.Pid')" != "$pid" ]
    b stop -t 0 re
}

@test "stop, start, rm and ps of a whole lifecycle" {
    b run -d --name life busybox sleep 100
    [ "$(b ps -q | wc -l)" -eq 1 ]
    b stop -t 0 life
    [ -z "$(b ps -q)" ]
    [ "$(b ps -a -q | wc -l)" -eq 1 ]
    b start life
    [ "$(state life)" = running ]
    b stop -t 0 life
    b rm life
    [ -z "$(b ps -a -q)" ]
}

# ---- --rm details, stopping ------------------------------------------------------------

@test "restart of an --rm container does not remove it" {
    b run -d --rm --name r busybox sh -c 'trap "exit 0" TERM; while :; do sleep 0.1; done'
    run b restart -t 1 r
    [ "$status" -eq 0 ]
    [ "$(state r)" = running ]
    b stop r
    eventually gone r
}

@test "a waiter on an --rm container still gets the exit code" {
    b run -d --rm --name r busybox sh -c 'trap "exit 3" TERM; while :; do sleep 0.1; done'
    "$BERTH" --socket "$SOCK" wait r >"$TESTDIR/w" &
    local wp=$!
    eventually clients_at_least 2
    b stop r
    wait "$wp"
    [ "$(cat "$TESTDIR/w")" = 3 ]
    eventually gone r
}

@test "a stopping container counts as running for rm without -f" {
    b run -d --name s busybox sh -c 'trap "" TERM; while :; do sleep 0.1; done'
    "$BERTH" --socket "$SOCK" stop -t 5 s >/dev/null &
    local sp=$!
    eventually state_is s stopping
    run b rm s
    [ "$status" -eq 1 ]
    [ "$output" = "berth: container is running: stop it first or use force" ]
    b kill s
    wait "$sp"
    [ "$(state s)" = exited ]
}

@test "stop -t -1 waits for ever (until the container exits)" {
    b run -d --name s busybox sh -c 'trap "" TERM; while :; do sleep 0.1; done'
    "$BERTH" --socket "$SOCK" stop -t -1 s >/dev/null &
    local sp=$!
    eventually state_is s stopping
    sleep 1.5
    [ "$(state s)" = stopping ]
    kill -0 "$sp"
    b kill s
    local rc=0
    wait "$sp" || rc=$?
    [ "$rc" -eq 0 ]
    [ "$(exit_code_of s)" = 137 ]
}
