#!/usr/bin/env bats
# init.bats - --init: berthd re-executed as the container's PID 1 from a read-only
# /sbin/berth-init; it forwards signals, reaps orphans and exits as its child did. Each check
# has a control without --init that shows the difference.

load helpers
bats_require_minimum_version 1.5.0

setup() { require_root; sv_start; }
teardown() { sv_stop; }

# zombies CTRPID: how many zombie descendants the container's PID 1 has
zombies() {
    ps --ppid "$1" -o stat= | grep -c '^Z' || true
}

@test "--init: PID 1 is berth-init, the command is PID 2, Path and Args stay the user's" {
    run b run --name i1 --init busybox sh -c 'cat /proc/1/comm; tr "\0" " " </proc/1/cmdline; echo; echo $$'
    [ "$status" -eq 0 ]
    [ "${lines[0]}" = berth-init ]
    [ "${lines[1]}" = "/sbin/berth-init -- sh -c cat /proc/1/comm; tr \"\\0\" \" \" </proc/1/cmdline; echo; echo \$\$ " ]
    [ "${lines[2]}" = 2 ]
    run b inspect i1
    [ "$(jq -c '.[0] | [.Path, .Args[0], .HostConfig.Init]' <<<"$output")" = '["sh","-c",true]' ]
    # control: without --init the command itself is PID 1
    run b run --rm busybox sh -c 'echo $$'
    [ "$output" = 1 ]
}

@test "--init: berthd's binary is bound read-only and cannot be written" {
    run b run --rm --init busybox sh -c \
        'exec 2>&1; grep " /sbin/berth-init " /proc/mounts | cut -d" " -f4 | cut -d, -f1; echo x >>/proc/1/exe && echo WROTE; echo x >>/sbin/berth-init && echo WROTE; true'
    [ "$status" -eq 0 ]
    # one stream (stderr into stdout) so the order is the container's
    [ "${lines[0]}" = ro ]
    [[ "$output" != *WROTE* ]]
    # the environment of berthd does not reach PID 1
    run b run --rm --init busybox sh -c 'tr "\0" "\n" </proc/1/environ | wc -l'
    [ "$output" = 0 ]
}

@test "--init: exit codes pass through, death by signal N is 128+N" {
    run b run --rm --init busybox sh -c 'exit 3'
    [ "$status" -eq 3 ]
    run b run --rm --init busybox sh -c 'kill -USR1 $$'
    [ "$status" -eq 138 ]
    run b run --rm --init busybox sh -c 'kill -KILL $$'
    [ "$status" -eq 137 ]
}

@test "--init: exec failures keep Docker's codes and messages" {
    run -127 b run --rm --init busybox nosuchcmd
    [ "$status" -eq 127 ]
    [[ "$output" == *'exec: "nosuchcmd": executable file not found in $PATH'* ]]
    run -126 b run --rm --init busybox /etc/passwd
    run b run --rm --init -w /nowhere busybox true
    [ "$status" -eq 0 ]
}

@test "--init: stop forwards SIGTERM to the command (control: a bare PID 1 ignores it)" {
    b run -d --name withinit --init busybox sleep 1000
    b run -d --name noinit busybox sleep 1000
    b stop -t 3 withinit
    [ "$(exit_code_of withinit)" = 143 ]
    b stop -t 1 noinit
    [ "$(exit_code_of noinit)" = 137 ]
}

@test "--init: kill -s forwards any signal to the command" {
    b run -d --name k --init busybox sh -c 'trap "echo got-usr1; exit 7" USR1; while :; do sleep 0.1; done'
    eventually state_is k running
    sleep 0.3
    b kill -s USR1 k
    eventually state_is k exited
    [ "$(exit_code_of k)" = 7 ]
    run b logs k
    [ "$output" = got-usr1 ]
}

@test "--init: orphans are reaped (control: a bare PID 1 leaves zombies)" {
    b run -d --name z1 --init busybox sh -c '(sleep 0.1 &); exec sleep 1000'
    b run -d --name z0 busybox sh -c '(sleep 0.1 &); exec sleep 1000'
    sleep 1
    p1=$(b inspect z1 | jq -r '.[0].State.Pid')
    p0=$(b inspect z0 | jq -r '.[0].State.Pid')
    [ "$(zombies "$p1")" = 0 ]
    [ "$(zombies "$p0")" = 1 ]
    b rm -f z1 z0
}

@test "--init: non-root user, read-only rootfs, dropped capabilities still work" {
    run b run --rm --init -u 1000 --read-only --cap-drop ALL busybox sh -c 'id -u; touch /x 2>&1'
    [ "$status" -eq 1 ]
    [ "${lines[0]}" = 1000 ]
    [[ "$output" == *"Read-only file system"* ]]
}

@test "--init: a restart policy restarts it, and berthd re-adopts it after a restart" {
    b run -d --name r --init --restart always busybox sh -c 'sleep 0.2; exit 1'
    eventually bash -c "[ \$($BERTH --socket $SOCK inspect r | jq .[0].RestartCount) -ge 2 ]"
    b rm -f r
    b run -d --name long --init busybox sleep 1000
    pid=$(b inspect long | jq -r '.[0].State.Pid')
    sv_kill9
    sv_launch
    [ "$(state long)" = running ]
    [ "$(b inspect long | jq -r '.[0].State.Pid')" = "$pid" ]
    # the re-adopted init still forwards SIGTERM: stop returns long before its 60 s grace
    t0=$SECONDS
    b stop -t 60 long
    [ $((SECONDS - t0)) -lt 20 ]
    [ "$(state long)" = exited ]
}

@test "--init --pid host: berth-init is a subreaper there, not PID 1, and still reaps orphans" {
    b run -d --name hz --init --pid host busybox sh -c '(sleep 0.1 &); exec sleep 1000'
    sleep 1
    p=$(b inspect hz | jq -r '.[0].State.Pid')
    [ "$(cat /proc/$p/comm)" = berth-init ]
    [ "$(zombies "$p")" = 0 ]
    [ "$(ps --ppid "$p" -o comm=)" = sleep ]
    run b run --rm --init --pid host busybox sh -c 'exit 7'
    [ "$status" -eq 7 ]
    b rm -f hz
}

@test "berth-init outside a container refuses to run" {
    run -2 bash -c "exec -a berth-init $BERTHD"
    [[ "$output" == *"runs only as a container's init"* ]]
}
