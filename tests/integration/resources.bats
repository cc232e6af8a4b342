#!/usr/bin/env bats
# resources.bats - cgroup limits seen from inside, a fork bomb, an OOM kill, pause/unpause
# (freezer), the HostConfig view, refused values, and seccomp=FILE (DESIGN §11; cgroup v1
# controllers on this hybrid machine).

load helpers
bats_require_minimum_version 1.5.0

setup() { require_root; sv_start; }
teardown() { sv_stop; }

CG=/sys/fs/cgroup

# ---- limits from inside -----------------------------------------------------------------

@test "-m 64m, --pids-limit 50, --cpus 0.5, --cpu-shares 512 are seen inside" {
    run b run -m 64m --pids-limit 50 --cpus 0.5 --cpu-shares 512 busybox sh -c \
        "cat $CG/memory/memory.limit_in_bytes $CG/pids/pids.max $CG/cpu/cpu.cfs_quota_us $CG/cpu/cpu.cfs_period_us $CG/cpu/cpu.shares"
    [ "$status" -eq 0 ]
    [ "$(echo $output)" = "67108864 50 50000 100000 512" ]
}

@test "defaults: pids.max 2048, no memory limit, no cpu quota" {
    run b run busybox sh -c "cat $CG/pids/pids.max $CG/cpu/cpu.cfs_quota_us $CG/memory/memory.limit_in_bytes"
    [ "$status" -eq 0 ]
    [ "${lines[0]}" = 2048 ]
    [ "${lines[1]}" = -1 ]
    [ "${lines[2]}" -gt $((1 << 50)) ]
}

@test "inspect shows the HostConfig values" {
    b create --name hc -m 64m --memory-swap 128m --pids-limit 50 --cpus 0.5 --cpu-shares 512 \
        --cap-add sys_ptrace --cap-drop CAP_KILL --security-opt no-new-privileges=false busybox true
    run b inspect hc
    [ "$status" -eq 0 ]
    [ "$(jq -c '.[0].HostConfig | [.Memory, .MemorySwap, .PidsLimit, .NanoCpus, .CpuShares, .Privileged]' <<<"$output")" \
        = '[67108864,134217728,50,500000000,512,false]' ]
    [ "$(jq -c '.[0].HostConfig | [.CapAdd, .CapDrop, .SecurityOpt]' <<<"$output")" \
        = '[["sys_ptrace"],["CAP_KILL"],["no-new-privileges=false"]]' ]
    b create --name pv --privileged busybox true
    [ "$(b inspect pv | jq '.[0].HostConfig.Privileged')" = true ]
}

@test "bad values are refused with 125 and nothing is created" {
    local a
    for a in "-m 1k" "--cpus -1" "--pids-limit abc" "--cap-add BOGUS" "--security-opt bogus" \
        "--memory-swap 10m -m 20m" "--cpu-shares x"; do
        run b run $a busybox true
        echo "$a -> $status $output"
        [ "$status" -eq 125 ]
        [[ "$output" == berth:* ]]
    done
    [ -z "$(b ps -a -q)" ]
}

# ---- fork bomb, OOM ---------------------------------------------------------------------

@test "fork bomb is stopped by --pids-limit 20; berthd is unharmed; the container stops cleanly" {
    # the spawning happens in a subshell that dies at the first failed fork; pid 1 survives
    # and reads the counters with builtins only (there is no pid left for cat)
    run b run --name fb --pids-limit 20 busybox sh -c '
        ( for k in $(seq 1 100); do sleep 100 & done ) 2>/tmp/err
        read c <'$CG'/pids/pids.current; read e <'$CG'/pids/pids.events; read m </tmp/err
        echo "current=$c"; echo "$e"; echo "$m"
        kill -9 -1; wait; echo done'
    [ "$status" -eq 0 ]
    [[ "${lines[0]}" =~ ^current=([0-9]+)$ ]]
    [ "${BASH_REMATCH[1]}" -le 20 ]
    [ "${BASH_REMATCH[1]}" -ge 10 ]                  # it did fork up to the limit
    [[ "${lines[1]}" =~ ^max\ [1-9][0-9]*$ ]]        # the limit was hit
    [[ "${lines[2]}" == *"can't fork"* ]]
    [ "${lines[3]}" = done ]
    run b ping
    [ "$status" -eq 0 ]
    [ "$(state fb)" = exited ]
    [ "$(exit_code_of fb)" = 0 ]
}

@test "fork bomb that kills its own pid 1 still leaves berthd working" {
    run b run --name fb2 --pids-limit 20 busybox sh -c 'for k in $(seq 1 100); do sleep 100 & done; echo never'
    [ "$status" -ne 0 ]
    [[ "$output" != *never* ]]
    run b ping
    [ "$status" -eq 0 ]
    [ "$(state fb2)" = exited ]
    run b run busybox true
    [ "$status" -eq 0 ]
}

@test "allocation loop under -m 16m is OOM-killed: 137, State.OOMKilled, an oom event" {
    run b run --name oom -m 16m busybox sh -c 'x=a; while :; do x=$x$x; done'
    [ "$status" -eq 137 ]
    [ "$(b inspect oom | jq -c '.[0].State | [.Status, .ExitCode, .OOMKilled]')" = '["exited",137,true]' ]
    run b events --since 1h --until "$(date +%s.%N)" --filter container=oom --format json
    [ "$(jq -r .Action <<<"$output" | grep -E '^(oom|die)$' | tr '\n' ' ')" = "oom die " ]
    # control: a normal exit is not an OOM kill
    b run --name ok -m 16m busybox true
    [ "$(b inspect ok | jq '.[0].State.OOMKilled')" = false ]
}

# ---- pause / unpause --------------------------------------------------------------------

# lines_of NAME: how many lines the container has logged
lines_of() { b logs "$1" | wc -l; }
# more_lines_than NAME N
more_lines_than() { [ "$(lines_of "$1")" -gt "$2" ]; }

@test "pause freezes a ticking container; unpause resumes it" {
    b run -d --name t busybox sh -c 'n=0; while :; do n=$((n+1)); echo $n; sleep 0.05; done'
    eventually more_lines_than t 2
    b pause t
    [ "$(state t)" = paused ]
    [ "$(b inspect t | jq '.[0].State.Paused')" = true ]
    [[ "$(b ps --filter name=t)" == *"(Paused)"* ]]
    local n1 n2
    n1=$(lines_of t)
    sleep 0.5                                         # ~10 ticks if it were running
    n2=$(lines_of t)
    [ "$n1" -eq "$n2" ]
    b unpause t
    [ "$(state t)" = running ]
    eventually more_lines_than t $((n2 + 3))
    run b events --since 1h --until "$(date +%s.%N)" --filter container=t --format json
    [ "$(jq -r .Action <<<"$output" | grep -E '^(pause|unpause)$' | tr '\n' ' ')" = "pause unpause " ]
    b stop -t 0 t
}

@test "stop of a paused container thaws and stops it" {
    b run -d --name s busybox sh -c 'trap "exit 3" TERM; while :; do sleep 0.1; done'
    b pause s
    run b stop -t 5 s
    [ "$status" -eq 0 ]
    [ "$(state s)" = exited ]
    [ "$(exit_code_of s)" = 3 ]                       # it ran its TERM trap: it was thawed
    [ "$(b inspect s | jq '.[0].State.Paused')" = false ]
}

@test "refusals: pause paused/stopped, unpause running, start paused: 409" {
    b run -d --name r busybox sleep 100
    run q 'unpause r'
    [[ "$output" == "err 409 "* ]]
    run b unpause r
    [ "$status" -eq 1 ]
    b pause r
    run q 'pause r'
    [[ "$output" == "err 409 "* ]]
    run q 'start r'
    [[ "$output" == "err 409 "* ]]
    run b start r
    [ "$status" -eq 1 ]
    [ "$(state r)" = paused ]
    b unpause r
    b stop -t 0 r
    run q 'pause r'
    [[ "$output" == "err 409 "* ]]
    run q 'unpause r'
    [[ "$output" == "err 409 "* ]]
    [ "$(state r)" = exited ]
}

# ---- seccomp=FILE ------------------------------------------------------------------------

@test "seccomp=FILE: a custom profile denying mkdir with EPERM; everything else allowed" {
    cat >"$TESTDIR/nomkdir.json" <<'EOF'
{
  "defaultAction": "SCMP_ACT_ALLOW",
  "syscalls": [
    { "names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1 }
  ]
}
EOF
    run b run --security-opt seccomp="$TESTDIR/nomkdir.json" busybox sh -c 'mkdir /tmp/d'
    [ "$status" -ne 0 ]
    [[ "$output" == *"Operation not permitted"* ]]
    run b run --security-opt seccomp="$TESTDIR/nomkdir.json" busybox sh -c 'touch /tmp/f && echo ok; grep Seccomp: /proc/self/status'
    [ "$status" -eq 0 ]
    [ "${lines[0]}" = ok ]
    [ "${lines[1]}" = "Seccomp:	2" ]
    # control: the default profile lets mkdir through
    run b run busybox mkdir /tmp/d
    [ "$status" -eq 0 ]
    b create --name sc --security-opt seccomp="$TESTDIR/nomkdir.json" busybox true
    b inspect sc | jq -e '.[0].HostConfig.SecurityOpt | length == 1'
}

@test "seccomp=unconfined: no filter" {
    run b run --security-opt seccomp=unconfined busybox grep Seccomp: /proc/self/status
    [ "$output" = "Seccomp:	0" ]
}

@test "seccomp=FILE: a malformed or missing profile is refused with 125" {
    printf '{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [' >"$TESTDIR/bad.json"
    run b run --security-opt seccomp="$TESTDIR/bad.json" busybox true
    [ "$status" -eq 125 ]
    [[ "$output" == berth:* ]]
    printf '{"defaultAction": "SCMP_ACT_NONSENSE"}' >"$TESTDIR/bad2.json"
    run b run --security-opt seccomp="$TESTDIR/bad2.json" busybox true
    [ "$status" -eq 125 ]
    run b run --security-opt seccomp="$TESTDIR/missing.json" busybox true
    [ "$status" -eq 125 ]
    [ -z "$(b ps -a -q)" ]
}

@test "berthd --cgroups off: no group per container, limits discarded with a warning, pause refused" {
    sv_term
    sv_launch --cgroups off
    run --separate-stderr b run --rm -m 64m busybox true
    [ "$status" -eq 0 ]
    [[ "$stderr" == *"WARNING: berthd runs without cgroups: resource limits discarded"* ]]
    b run -d --name nocg busybox sleep 1000
    [ "$(b info | jq -r .CgroupParent)" = "" ]
    run b pause nocg
    [ "$status" -eq 1 ]
    [[ "$output" == *"pause needs a cgroup freezer"* ]]
    b rm -f nocg
    run -2 "$BERTHD" --root "$ROOT" --socket "$SOCK.x" --cgroups maybe
    [[ "$output" == *"expected auto or off"* ]]
}
