#!/usr/bin/env bats
# rootfs.bats - a container's filesystem and the images it comes from (DESIGN §10): `diff`
# lists the upper dir's changes (A/C/D), `export` writes the merged rootfs as a tar that
# round-trips through `image import`, both written by a helper straight to the client's fd;
# `image inspect`, `image rm [-f]` and `image prune [-a]`.

load helpers
bats_require_minimum_version 1.5.0

setup() {
    require_root
    sv_start
}
teardown() { sv_stop; }

# a container with one file added, one changed, one deleted, a directory replaced
changed() {
    b run --name ch busybox sh -c 'echo new >/added; echo more >>/etc/passwd; rm /etc/group;
        mkdir -p /var/spool/x; echo y >/var/spool/x/f'
}

@test "diff lists what a container added, changed and deleted, parents first" {
    changed
    run b diff ch
    [ "$status" -eq 0 ]
    [ "${lines[0]}" = "A /added" ]
    [[ "$output" == *$'C /etc\nD /etc/group\nC /etc/passwd'* ]]
    [[ "$output" == *$'A /var/spool/x\nA /var/spool/x/f'* ]]
    # berth's own mount points (/etc/hosts, /etc/resolv.conf) are not changes
    [[ "$output" != *"/etc/hosts"* && "$output" != *resolv.conf* ]]
    # a fresh container has no changes
    b create --name fresh busybox true
    run b diff fresh
    [ "$status" -eq 0 ] && [ -z "$output" ]
    run b diff nope
    [ "$status" -ne 0 ] && [[ "$output" == *"no such container: nope"* ]]
}

@test "export writes the merged rootfs; it round-trips through image import" {
    changed
    b export ch >"$TESTDIR/ch.tar"
    tar -tf "$TESTDIR/ch.tar" >"$TESTDIR/list"
    grep -qx added "$TESTDIR/list"
    grep -qx bin/busybox "$TESTDIR/list"
    ! grep -q 'etc/group$' "$TESTDIR/list"
    ! grep -q '\.wh\.' "$TESTDIR/list"
    b image import copy "$TESTDIR/ch.tar"
    run b run --rm copy sh -c 'cat /added /var/spool/x/f; tail -n 1 /etc/passwd; ls /etc/group'
    [ "${lines[0]}" = new ] && [ "${lines[1]}" = y ] && [ "${lines[2]}" = more ]
    [[ "$output" == *"No such file"* ]]
    # -o FILE gives the same archive
    b export -o "$TESTDIR/o.tar" ch
    cmp "$TESTDIR/ch.tar" "$TESTDIR/o.tar"
    # a running container exports too
    b run -d --name live busybox sh -c 'echo hi >/run-file; sleep 100'
    eventually b diff live
    run bash -c "'$BERTH' --socket '$SOCK' export live | tar -tf - | grep -x run-file"
    [ "$status" -eq 0 ]
}

@test "export and diff refusals: no fd over the raw protocol, unknown container, no partial file" {
    b create --name c1 busybox true
    run q "export c1"
    [[ "$output" == "err 400 export needs an fd"* ]]
    run q "diff c1"
    [[ "$output" == "err 400 diff needs an fd"* ]]
    run b export -o "$TESTDIR/x.tar" nope
    [ "$status" -ne 0 ] && [[ "$output" == *"no such container: nope"* ]]
    [ ! -e "$TESTDIR/x.tar" ]
    # a reader that goes away does not hurt berthd
    b run --name big busybox sh -c 'dd if=/dev/zero of=/big bs=1M count=20 2>/dev/null'
    run bash -c "'$BERTH' --socket '$SOCK' export big | head -c 1000 >/dev/null"
    b ps -a >/dev/null
    run b diff big
    [ "$output" = "A /big" ]
}

@test "image inspect shows Docker's fields" {
    run b image inspect busybox
    [ "$status" -eq 0 ]
    [ "$(jq -r '.[0].RepoTags[0]' <<<"$output")" = busybox ]
    [ "$(jq -r '.[0].Config.Cmd[0]' <<<"$output")" = sh ]
    [[ "$(jq -r '.[0].Config.Env[0]' <<<"$output")" == PATH=* ]]
    [[ "$(jq -r '.[0].Id' <<<"$output")" == sha256:* ]]
    [ "$(jq -r '.[0].Size > 100000' <<<"$output")" = true ]
    [ "$(jq -r '.[0].Os' <<<"$output")" = linux ]
    run b image inspect busybox nope
    [ "$status" -ne 0 ] && [[ "$output" == *"no such image: nope"* ]]
}

@test "image rm refuses a used image, -f removes its stopped containers but not a running one" {
    cp -a "$ROOT/images/busybox" "$ROOT/images/bb2"
    b create --name u1 bb2 true
    b run --name u2 bb2 true
    run b image rm bb2
    [ "$status" -ne 0 ] && [[ "$output" == *"container"*"uses it"* ]]
    b run -d --name u3 bb2 sleep 100
    run b image rm -f bb2
    [ "$status" -ne 0 ] && [[ "$output" == *"cannot be forced"*"running"* ]]
    [ -d "$ROOT/images/bb2" ]
    b rm -f u3
    run b rmi -f bb2
    [ "$status" -eq 0 ]
    [ ! -e "$ROOT/images/bb2" ]
    eventually bash -c "! '$BERTH' --socket '$SOCK' ps -a --format json | grep -q '\"u[12]\"'"
    run b image rm bb2
    [ "$status" -ne 0 ] && [[ "$output" == *"no such image: bb2"* ]]
}

@test "image prune removes nothing, prune -a every image no container uses" {
    cp -a "$ROOT/images/busybox" "$ROOT/images/unused"
    run b image prune
    [ "$status" -eq 0 ] && [ "$output" = "Total reclaimed space: 0B" ]
    [ -d "$ROOT/images/unused" ]
    b create --name keep busybox true
    run b image prune -a -f
    [ "$status" -eq 0 ]
    [[ "$output" == *"deleted: unused"* && "$output" == *"Total reclaimed space:"* ]]
    [[ "$output" != *"deleted: busybox"* ]]
    [ ! -e "$ROOT/images/unused" ] && [ -d "$ROOT/images/busybox" ]
}

@test "removing a container or an image with 100 000 files leaves berthd answering meanwhile" {
    b create --name many busybox true
    id=$(b inspect many | jq -r '.[0].Id')
    mkdir -p "$ROOT/containers/$id/upper/many" "$ROOT/images/heavy"
    cp -a "$ROOT/images/busybox/." "$ROOT/images/heavy/"
    (cd "$ROOT/containers/$id/upper/many" && seq 1 100000 | xargs touch)
    cp -a "$ROOT/containers/$id/upper/many" "$ROOT/images/heavy/rootfs/many"
    b rm many
    # the name and the directory are gone at once; the files go in a helper
    [ ! -e "$ROOT/containers/$id" ]
    run b image rm heavy
    [ "$status" -eq 0 ] && [ ! -e "$ROOT/images/heavy" ]
    for _ in 1 2 3 4 5; do timeout 5 "$BERTH" --socket "$SOCK" ping >/dev/null; done
    eventually bash -c "! ls -A '$ROOT/containers' '$ROOT/images' | grep -q '^\.'"
}

@test "a name:tag image shows REPOSITORY and TAG and can be removed; leftovers go at start" {
    b image import app:2 "$ROOT/images/busybox/rootfs"
    run b image ls
    [[ "$output" == *$'\n'"app "*" 2 "* ]]
    run b image ls --format json
    [[ "$output" == *'"Repository":"app","Size"'*'"Tag":"2"'* ]]
    b image rm app:2
    [ ! -e "$ROOT/images/app:2" ]
    # what a crash mid-load or mid-removal leaves is deleted at the next start
    mkdir -p "$ROOT/images/.tmp-load-abc/rootfs" "$ROOT/images/.trash-old.1"
    sv_term
    sv_launch
    eventually bash -c "[ -z \"\$(ls -A '$ROOT/images' | grep '^\.')\" ]"
    [ -d "$ROOT/images/busybox" ]
}
