#!/usr/bin/env bats
# volumes.bats - mounts (DESIGN §10): -v binds (rw, ro, noexec), named volumes made on first
# use and filled from the image, anonymous volumes and rm -v, --tmpfs, --mount, inspect's
# Mounts, `volume create|ls|inspect|rm|prune`, and the refusals. Every mount lives in a
# container's mount namespace: helpers' sv_stop checks none is left on the host.

load helpers
bats_require_minimum_version 1.5.0

setup() {
    require_root
    sv_start
    mkdir -p "$TESTDIR/host"
    echo from-host >"$TESTDIR/host/f"
    printf '#!/bin/sh\necho ran\n' >"$TESTDIR/host/x.sh"
    chmod +x "$TESTDIR/host/x.sh"
}
teardown() { sv_stop; }

@test "-v binds a host directory read-write, :ro read-only, noexec without exec" {
    run b run --rm -v "$TESTDIR/host:/h" busybox sh -c 'cat /h/f && echo new >/h/g'
    [ "$status" -eq 0 ] && [ "$output" = from-host ]
    [ "$(cat "$TESTDIR/host/g")" = new ]
    run b run --rm -v "$TESTDIR/host:/h:ro" busybox sh -c 'cat /h/f; echo x >/h/g'
    [ "$status" -ne 0 ]
    # stdout and stderr are two streams: their relative order is not kept
    [[ "$output" == *"from-host"* ]] && [[ "$output" == *"Read-only file system"* ]]
    run b run --rm -v "$TESTDIR/host:/deep/er/h:ro,noexec" busybox sh -c '/deep/er/h/x.sh'
    [ "$status" -ne 0 ]
    run b run --rm -v "$TESTDIR/host:/h" busybox /h/x.sh
    [ "$output" = ran ]
    # a single file
    run b run --rm -v "$TESTDIR/host/f:/etc/motd:ro" busybox cat /etc/motd
    [ "$output" = from-host ]
}

@test "-v binds a host file directly under /: read-write, :ro, --mount, and a directory there" {
    run b run --rm -v "$TESTDIR/host/f:/hf" busybox sh -c 'cat /hf && echo changed >/hf'
    [ "$status" -eq 0 ]
    [ "$output" = from-host ]
    [ "$(cat "$TESTDIR/host/f")" = changed ]
    run b run --rm -v "$TESTDIR/host/f:/hf:ro" busybox sh -c 'cat /hf; echo x >/hf'
    [ "$status" -ne 0 ]
    [[ "$output" == *"changed"* ]]
    [[ "$output" == *"Read-only file system"* ]]
    [ "$(cat "$TESTDIR/host/f")" = changed ]
    run b run --rm --read-only --mount "type=bind,source=$TESTDIR/host/f,target=/hf,readonly" \
        busybox cat /hf
    [ "$status" -eq 0 ]
    [ "$output" = changed ]
    run b run --rm -v "$TESTDIR/host:/d:ro" busybox cat /d/f
    [ "$status" -eq 0 ]
    [ "$output" = changed ]
}

@test "refusals: a missing bind source, two mounts on one destination, bad specs; nothing made" {
    run b run --rm -v "$TESTDIR/nope:/x" busybox true
    [ "$status" -eq 125 ]
    [[ "$output" == *"bind source path does not exist: $TESTDIR/nope"* ]]
    run b run --rm -v vol1:/a -v "$TESTDIR/host:/a/" busybox true
    [ "$status" -eq 125 ]
    [[ "$output" == *"duplicate mount point: /a"* ]]
    for spec in "bad/name:/x" "vol:relative" "vol:/x:rx" "/x:ro,rw" "a:/" "vol:/x/../y"; do
        run b run --rm -v "$spec" busybox true
        [ "$status" -eq 125 ] || { echo "accepted: $spec"; false; }
    done
    run b run --rm --tmpfs /t:size=lots busybox true
    [ "$status" -eq 125 ]
    run b run --rm --mount type=nfs,target=/x busybox true
    [ "$status" -eq 125 ]
    [ "$(b volume ls -q)" = "" ]
    [ "$(b ps -aq)" = "" ]
}

@test "a named volume is made on first use, filled from the image, and keeps its data across rm and a supervisor restart" {
    b run --rm -v conf:/etc busybox sh -c 'echo kept >/etc/mine'
    [ "$(b volume ls -q)" = conf ]
    mp=$(b volume inspect conf | jq -r '.[0].Mountpoint')
    [ "$mp" = "$ROOT/volumes/conf/_data" ]
    [ -f "$mp/passwd" ] && [ "$(cat "$mp/mine")" = kept ]
    sv_kill9
    sv_launch
    run b run --rm -v conf:/srv busybox cat /srv/mine
    [ "$output" = kept ]
    # in use by a container, running or not: refused
    b create --name user -v conf:/data busybox true
    run b volume rm conf
    [ "$status" -ne 0 ]
    [[ "$output" == *"volume is in use"* ]]
    b rm user
    b volume rm conf
    [ ! -e "$ROOT/volumes/conf" ]
    run b volume inspect conf
    [ "$status" -ne 0 ]
    [[ "$output" == *"no such volume"* ]]
}

@test "anonymous volumes: kept by rm, removed by rm -v and by --rm; nocopy leaves them empty" {
    b create --name a1 -v /data busybox true
    name=$(b inspect a1 | jq -r '.[0].Mounts[0].Name')
    [ ${#name} -eq 64 ]
    [ "$(b inspect a1 | jq -r '.[0].Mounts[0].Type')" = volume ]
    b rm a1
    [ "$(b volume ls -q)" = "$name" ]
    b create --name a2 -v /data busybox true
    n2=$(b inspect a2 | jq -r '.[0].Mounts[0].Name')
    b rm -v a2
    [ "$(b volume ls -q)" = "$name" ]
    b run --rm -v /etc busybox true
    [ "$(b volume ls -q)" = "$name" ]
    run b run --rm -v empty:/etc:nocopy busybox ls /etc
    [ "$(ls "$ROOT/volumes/empty/_data" | grep -v -e hosts -e hostname -e resolv.conf)" = "" ]
    # prune: unused anonymous ones; -a: every unused one
    run b volume prune
    [[ "$output" == *"$name"* ]]
    [ "$(b volume ls -q)" = empty ]
    b volume prune -a
    [ "$(b volume ls -q)" = "" ]
    [ "$n2" != "$name" ]
}

@test "--tmpfs and --mount type=tmpfs: size and mode, noexec by default" {
    run b run --rm --tmpfs /t:size=2m,mode=700 busybox sh -c 'stat -c %a /t; df -k /t | tail -1'
    [ "${lines[0]}" = 700 ]
    [[ "${lines[1]}" == *" 2048 "* ]]
    run b run --rm --tmpfs /t busybox sh -c 'cp /bin/busybox /t/b && /t/b true'
    [ "$status" -ne 0 ]
    run b run --rm --mount type=tmpfs,destination=/m,tmpfs-mode=1770 busybox stat -c %a /m
    [ "$output" = 1770 ]
}

@test "--mount bind and volume, and inspect's Mounts in Docker's shape" {
    b create --name m --mount "type=bind,source=$TESTDIR/host,target=/h,readonly" \
        --mount type=volume,src=mv,dst=/v busybox true
    run b inspect m
    [ "$(echo "$output" | jq -c '.[0].Mounts[0] | {Type,Source,Destination,RW,Mode}')" = \
        "{\"Type\":\"bind\",\"Source\":\"$TESTDIR/host\",\"Destination\":\"/h\",\"RW\":false,\"Mode\":\"ro\"}" ]
    [ "$(echo "$output" | jq -c '.[0].Mounts[1] | {Type,Name,Source,Destination,Driver,RW}')" = \
        "{\"Type\":\"volume\",\"Name\":\"mv\",\"Source\":\"$ROOT/volumes/mv/_data\",\"Destination\":\"/v\",\"Driver\":\"local\",\"RW\":true}" ]
    b start -a m
    b rm m
    b volume create --label team=a made
    [ "$(b volume inspect made | jq -r '.[0].Labels.team + " " + .[0].Driver')" = "a local" ]
    run b volume create "bad name"
    [ "$status" -ne 0 ]
    b volume rm made mv
    run b volume rm made
    [ "$status" -ne 0 ]
    b volume rm -f made
}
