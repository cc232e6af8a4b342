#!/usr/bin/env bats
# config.bats - run settings as seen from inside the container, and their inspect view
# (DESIGN §4, §9, §10 logs, §11, §16 environment; PROTOCOL.md create/run).

load helpers
bats_require_minimum_version 1.5.0

setup() { require_root; sv_start; }
teardown() { sv_stop; }

# ---- environment -----------------------------------------------------------------------

@test "-e K=V sets a variable" {
    run b run -e GREETING=hello -e 'SPACED=a b  c' busybox env
    [ "$status" -eq 0 ]
    echo "$output" | grep -qx 'GREETING=hello'
    echo "$output" | grep -qx 'SPACED=a b  c'
}

@test "-e K copies K from the client's environment" {
    export BTH_FROM_CLIENT=copied
    run b run -e BTH_FROM_CLIENT busybox env
    [ "$status" -eq 0 ]
    echo "$output" | grep -qx 'BTH_FROM_CLIENT=copied'
}

@test "-e K drops K when it is unset in the client's environment" {
    unset BTH_UNSET_VAR
    run b run -e BTH_UNSET_VAR busybox env
    [ "$status" -eq 0 ]
    [ "$(echo "$output" | grep -c BTH_UNSET_VAR)" -eq 0 ]
}

@test "--env-file: K=V lines, K lines, comments and blank lines" {
    export BTH_FILE_COPY=fromenv
    unset BTH_FILE_UNSET
    printf '# a comment\nA=1\n\n  B=two words\nBTH_FILE_COPY\nBTH_FILE_UNSET\n' >"$TESTDIR/env"
    run b run --env-file "$TESTDIR/env" busybox env
    [ "$status" -eq 0 ]
    echo "$output" | grep -qx 'A=1'
    echo "$output" | grep -qx 'B=two words'
    echo "$output" | grep -qx 'BTH_FILE_COPY=fromenv'
    [ "$(echo "$output" | grep -c -e BTH_FILE_UNSET -e comment)" -eq 0 ]
}

@test "--env-file that does not exist: 125" {
    run b run --env-file "$TESTDIR/nope" busybox true
    [ "$status" -eq 125 ]
    [[ "$output" == berth:* ]]
    [ -z "$(b ps -a -q)" ]
}

@test "-e entries are in Config.Env" {
    b create --name e -e A=1 busybox true
    b inspect e | jq -e '.[0].Config.Env | index("A=1")'
}

# ---- hostname --------------------------------------------------------------------------

@test "-h sets the hostname, /etc/hostname and /etc/hosts" {
    run b run -h myhost busybox sh -c 'hostname; cat /etc/hostname; grep -w myhost /etc/hosts'
    [ "$status" -eq 0 ]
    [ "${lines[0]}" = myhost ]
    [ "${lines[1]}" = myhost ]
    # on the default bridge the container's own address names it
    [[ "${lines[2]}" =~ ^10\.[0-9.]+[[:space:]]+myhost([[:space:]]|$) ]]
    # with --network none, 127.0.0.1 does
    run b run --network none -h myhost busybox grep -w myhost /etc/hosts
    [[ "$output" =~ ^127\.0\.0\.1[[:space:]]+myhost$ ]]
    b create --name h -h myhost busybox true
    [ "$(b inspect h | jq -r '.[0].Config.Hostname')" = myhost ]
}

@test "the default hostname is the short id" {
    run b run --name d busybox hostname
    [ "$status" -eq 0 ]
    [ "$output" = "$(b inspect d | jq -r '.[0].Id[0:12]')" ]
}

@test "/etc/hosts has localhost" {
    run b run busybox cat /etc/hosts
    echo "$output" | grep -Eq '^127\.0\.0\.1[[:space:]]+localhost'
}

# ---- users -----------------------------------------------------------------------------

@test "-u berth: uid 1000, HOME /home/berth, supplementary group 2000" {
    run b run -u berth busybox sh -c 'id -u; id -g; id -G; echo $HOME'
    [ "$status" -eq 0 ]
    [ "${lines[0]}" = 1000 ]
    [ "${lines[1]}" = 1000 ]
    [[ " ${lines[2]} " == *" 2000 "* ]]
    [ "${lines[3]}" = /home/berth ]
}

@test "-u 1000:1000" {
    run b run -u 1000:1000 busybox sh -c 'id -u; id -g'
    [ "$status" -eq 0 ]
    [ "${lines[0]}" = 1000 ]
    [ "${lines[1]}" = 1000 ]
}

@test "-u nobody: uid 65534 and HOME from passwd" {
    run b run -u nobody busybox sh -c 'id -u; echo $HOME'
    [ "$status" -eq 0 ]
    [ "${lines[0]}" = 65534 ]
    [ "${lines[1]}" = "$(grep '^nobody:' "$ROOT/images/busybox/rootfs/etc/passwd" | cut -d: -f6)" ]
}

@test "-u of an unknown user fails the start" {
    run b run --name uu -u nosuchuser busybox id
    [ "$status" -ne 0 ]
    [[ "$output" == "berth: "*nosuchuser* ]]
    run b ps -a --filter name=uu --format json
    [ "$(jq -r .State <<<"$output")" = exited ]
}

@test "-u is shown in Config.User" {
    b create --name u -u 1000:1000 busybox true
    [ "$(b inspect u | jq -r '.[0].Config.User')" = 1000:1000 ]
}

# ---- workdir, read-only ----------------------------------------------------------------

@test "-w of a missing directory creates it" {
    run b run -w /new/dir busybox sh -c 'pwd; test -d /new/dir'
    [ "$status" -eq 0 ]
    [ "$output" = /new/dir ]
}

@test "-w of an existing directory" {
    run b run -w /etc busybox pwd
    [ "$output" = /etc ]
}

@test "--read-only: writing to / fails" {
    run b run --name ro --read-only busybox touch /x
    [ "$status" -ne 0 ]
    [[ "$output" == *"Read-only file system"* ]]
    [ "$(b inspect ro | jq -r '.[0].HostConfig.ReadonlyRootfs')" = true ]
}

@test "without --read-only the root is writable" {
    run b run busybox sh -c 'touch /x && echo ok'
    [ "$status" -eq 0 ]
    [ "$output" = ok ]
}

# ---- network ---------------------------------------------------------------------------

@test "--network none: only lo, and it is up" {
    run b run --network none busybox cat /proc/net/dev
    [ "$status" -eq 0 ]
    [ "$(tail -n +3 <<<"$output" | wc -l)" -eq 1 ]
    [[ "$(tail -n +3 <<<"$output")" =~ ^[[:space:]]*lo: ]]
    run b run --network none busybox ip link show lo
    [[ "$output" == *"LOWER_UP"* ]] || [[ "$output" == *",UP"* ]]
}

@test "--network host sees the host's interfaces" {
    local hostifs inside
    hostifs=$(ip -o link | awk -F': ' '{print $2}' | sed 's/@.*//' | sort)
    run b run --network host busybox cat /proc/net/dev
    [ "$status" -eq 0 ]
    inside=$(tail -n +3 <<<"$output" | awk -F: '{gsub(/ /, "", $1); print $1}' | sort)
    [ "$(wc -l <<<"$inside")" -ge 2 ]
    # every interface of the host that still exists now is seen inside
    local ifc
    for ifc in $(comm -23 <(echo "$hostifs") <(echo "$inside")); do
        [ ! -e "/sys/class/net/$ifc" ]
    done
    [ "$(b inspect "$(b ps -a -q)" | jq -r '.[0].HostConfig.NetworkMode')" = host ]
}

@test "--network with an unsupported value is refused" {
    run b run --network nosuchnet busybox true
    [ "$status" -eq 125 ]
    [[ "$output" == berth:* ]]
}

# ---- namespaces, signals, fds, mounts --------------------------------------------------

@test "pid namespace: the command is pid 1" {
    run b run busybox ps -o pid,comm
    [ "$status" -eq 0 ]
    [ "$(tail -n +2 <<<"$output" | wc -l)" -eq 1 ]
    [[ "${lines[1]}" =~ ^[[:space:]]*1[[:space:]]+ps$ ]]
}

@test "the command starts with an empty signal mask and no ignored signals" {
    run b run busybox cat /proc/self/status
    [ "$status" -eq 0 ]
    echo "$output" | grep -E '^Sig' >&2 # shown when the test fails
    echo "$output" | grep -qx 'SigBlk:[[:space:]]*0000000000000000'
    echo "$output" | grep -qx 'SigIgn:[[:space:]]*0000000000000000'
}

@test "no fds beyond 0, 1, 2 leak into the container" {
    # two commands: sh stays pid 1 (one command would be exec'd) and ls lists sh's fds
    run b run busybox sh -c 'ls /proc/1/fd; true'
    [ "$status" -eq 0 ]
    [ "$(echo $output)" = "0 1 2" ]
}

@test "stdin is /dev/null without -i" {
    run b run busybox sh -c 'stat -L -c %t:%T /proc/self/fd/0; cat; echo eof'
    [ "$status" -eq 0 ]
    [ "$(echo $output)" = "1:3 eof" ]
}

@test "/proc is mounted, /sys is read-only, /dev/null is a char device" {
    run b run busybox sh -c 'test -r /proc/self/status && echo proc;
        grep -q " /sys sysfs ro," /proc/mounts && echo sysro;
        touch /sys/x 2>/dev/null || echo nosyswrite;
        test -c /dev/null && echo devnull;
        echo x > /dev/null && echo writenull'
    [ "$status" -eq 0 ]
    [ "$(echo $output)" = "proc sysro nosyswrite devnull writenull" ]
}

@test "uts and ipc namespaces are private" {
    run b run -h inner busybox sh -c 'hostname; for n in uts ipc mnt; do readlink /proc/self/ns/$n; done'
    [ "$status" -eq 0 ]
    [ "${lines[0]}" = inner ]
    [ "$(hostname)" != inner ]
    [ "${lines[1]}" != "$(readlink /proc/self/ns/uts)" ]
    [ "${lines[2]}" != "$(readlink /proc/self/ns/ipc)" ]
    [ "${lines[3]}" != "$(readlink /proc/self/ns/mnt)" ]
}

# ---- labels ----------------------------------------------------------------------------

@test "--label is in inspect and ps --filter label= selects by key or key=value" {
    b create --name l1 --label app=web --label tier=front busybox true
    b create --name l2 --label app=db busybox true
    b create --name l3 busybox true
    [ "$(b inspect l1 | jq -c '.[0].Config.Labels')" = '{"app":"web","tier":"front"}' ]
    [ "$(b inspect l3 | jq -c '.[0].Config.Labels')" = '{}' ]
    run b ps -a -q --filter label=app=web
    [ "$output" = "$(b inspect l1 | jq -r '.[0].Id[0:12]')" ]
    run b ps -a -q --filter label=app
    [ "${#lines[@]}" -eq 2 ]
    run b ps -a -q --filter label=tier
    [ "${#lines[@]}" -eq 1 ]
    run b ps -a -q --filter label=app=nope
    [ -z "$output" ]
}

# ---- logs rotation ---------------------------------------------------------------------

@test "--log-opt max-size/max-file rotate the log and logs returns the tail" {
    b run --name rot --log-opt max-size=1k --log-opt max-file=2 busybox \
        sh -c 'i=0; while [ $i -lt 300 ]; do echo line$i; i=$((i+1)); done'
    local id
    id=$(b inspect rot | jq -r '.[0].Id')
    [ "$(b inspect rot | jq -r '.[0].HostConfig.LogConfig.Config["max-size"]')" = 1024 ]
    [ "$(b inspect rot | jq -r '.[0].HostConfig.LogConfig.Config["max-file"]')" = 2 ]
    # at most 2 files, none much over max-size
    local files
    files=$(ls "$ROOT/containers/$id" | grep -c '^container\.log')
    [ "$files" -ge 1 ]
    [ "$files" -le 2 ]
    local f
    for f in "$ROOT/containers/$id"/container.log*; do
        [ "$(stat -c %s "$f")" -le 2048 ]
    done
    run b logs rot
    [ "$status" -eq 0 ]
    [ "${lines[-1]}" = line299 ]
    [ "${#lines[@]}" -lt 300 ]
    # what is left is contiguous and in order
    local first=${lines[0]#line} n=0 l
    for l in "${lines[@]}"; do
        [ "$l" = "line$((first + n))" ]
        n=$((n + 1))
    done
}

@test "default log options are 10 MiB x 3" {
    b create --name d busybox true
    [ "$(b inspect d | jq -r '.[0].HostConfig.LogConfig.Type')" = berth-file ]
    [ "$(b inspect d | jq -r '.[0].HostConfig.LogConfig.Config["max-size"]')" = 10485760 ]
    [ "$(b inspect d | jq -r '.[0].HostConfig.LogConfig.Config["max-file"]')" = 3 ]
}
