#!/usr/bin/env bats
# images.bats - images from archives (DESIGN §10): `image import NAME ROOTFS.tar`, `load` of a
# docker-save tarball and of an OCI layout (layers in order, a whiteout, an opaque dir, the
# image config as defaults), and refusals (bad digest, path traversal, truncation) that leave
# nothing.
# The archives are built by mkarchive.py from the busybox rootfs, and by umoci (an independent
# OCI implementation: gzip layers, its own whiteouts, its own config and index).

load helpers
bats_require_minimum_version 1.5.0

setup() {
    require_root
    sv_start
}
teardown() { sv_stop; }

mk() { python3 "$BATS_TEST_DIRNAME/mkarchive.py" "$1" "$ROOT/images/busybox/rootfs" "$2"; }
images() { ls "$ROOT/images" | grep -v '^busybox$' | tr '\n' ' '; }

# umoci_layout DIR TAG [quick]: an OCI layout made by umoci from the busybox rootfs, layers:
#   1. the busybox rootfs                                 (umoci insert ROOTFS .)
#   2. adds /greeting, /gone, /dir/{a,b}, /opt/old/x      (umoci insert STAGE .)
#   3. deletes /gone and /linuxrc, deletes /dir and makes a new /dir (mode 0750, owner 1000)
#      holding only c and an empty d (umoci unpack + repack: umoci writes per-file whiteouts
#      .wh.gone, .wh.linuxrc, dir/.wh.a, dir/.wh.b, no opaque one); "quick" (no unpack, which
#      hashes every busybox link: about 2 s) makes it with two layers instead, umoci insert
#      --whiteout /gone and insert --opaque STAGE /dir
#   4. replaces /opt/old by a directory holding only y/ (umoci insert --opaque: an opaque
#      whiteout opt/old/.wh..wh..opq, written before the directory's own entry)
# and a config (Entrypoint sh -c, Cmd, Env, WorkingDir /dir, User 1000, port, stop signal).
# umoci 0.4.7 quirks worked around: `insert ROOTFS /` names the root entry "/", which berth
# refuses as absolute ("." is fine); `insert` never closes its tar stream (no padding after the
# last entry's data, no end-of-archive blocks; GNU tar says "Unexpected EOF", libarchive and
# so berth "Truncated input file"), so every inserted tree here ends with a directory entry
# (var/, d/, y/): the stream then stops on a block boundary, which reads as a clean end.
umoci_layout() {
    local l=$1 tag=$2 bun="$TESTDIR/bundle" st="$TESTDIR/stage"
    umoci init --layout "$l"
    umoci new --image "$l:$tag"
    umoci insert --image "$l:$tag" "$ROOT/images/busybox/rootfs" .
    mkdir -p "$st/2/dir" "$st/2/opt/old" "$st/2/var" "$st/3/d" "$st/4/y"
    echo "hello from umoci" >"$st/2/greeting"
    echo gone >"$st/2/gone"
    echo a >"$st/2/dir/a"
    echo b >"$st/2/dir/b"
    echo x >"$st/2/opt/old/x"
    umoci insert --image "$l:$tag" "$st/2" .
    if [ "${3:-}" = quick ]; then
        umoci insert --image "$l:$tag" --whiteout /gone
        umoci insert --image "$l:$tag" --whiteout /linuxrc
        echo c >"$st/3/c"
        chmod 0750 "$st/3"
        chown 1000:1000 "$st/3"
        umoci insert --image "$l:$tag" --opaque "$st/3" /dir
    else
        umoci unpack --image "$l:$tag" "$bun"
        rm -r "$bun/rootfs/gone" "$bun/rootfs/linuxrc" "$bun/rootfs/dir"
        mkdir -m 0750 "$bun/rootfs/dir"
        chown 1000:1000 "$bun/rootfs/dir"
        echo c >"$bun/rootfs/dir/c"
        mkdir "$bun/rootfs/dir/d"
        umoci repack --image "$l:$tag" "$bun"
        rm -rf "$bun"
    fi
    umoci insert --image "$l:$tag" --opaque "$st/4" /opt/old
    umoci config --image "$l:$tag" --config.entrypoint /bin/sh --config.entrypoint -c \
        --config.cmd 'cat /greeting; echo "$GREET"; pwd; id -u' \
        --config.env GREET=from-config --config.env PATH=/bin:/sbin:/usr/bin \
        --config.workingdir /dir --config.user 1000 \
        --config.exposedports 9090/tcp --config.stopsignal SIGUSR1
}

@test "image import NAME ROOTFS.tar (and .tar.gz) makes a runnable image" {
    tar -C "$ROOT/images/busybox/rootfs" -cf "$TESTDIR/rootfs.tar" .
    b image import plain "$TESTDIR/rootfs.tar"
    run b run --rm plain echo from-tar
    [ "$output" = from-tar ]
    gzip -c "$TESTDIR/rootfs.tar" >"$TESTDIR/rootfs.tar.gz"
    b image import zipped "$TESTDIR/rootfs.tar.gz"
    run b run --rm zipped sh -c 'echo $PATH'
    [[ "$output" == */bin* ]]
    head -c 3000 "$TESTDIR/rootfs.tar" >"$TESTDIR/cut.tar"
    run b image import cut "$TESTDIR/cut.tar"
    [ "$status" -ne 0 ]
    [ ! -e "$ROOT/images/cut" ]
}

@test "load of a docker save tarball: layers, whiteout, opaque dir, config defaults, name from RepoTags" {
    mk docker-save "$TESTDIR/save.tar"
    run b load -i "$TESTDIR/save.tar"
    [ "$status" -eq 0 ]
    [[ "$output" == *"Loaded image: greet:1"* ]]
    run b run --rm greet:1
    [ "$output" = "hello from layer 2" ]
    run b run --rm greet:1 sh -c 'pwd; echo $GREETING; ls /srv; ls /etc/motd-old 2>&1'
    [ "${lines[0]}" = /srv ]
    [ "${lines[1]}" = yes ]
    [ "${lines[2]}" = new ]
    [[ "${lines[3]}" == *"No such file"* ]]
    b create --name g greet:1
    [ "$(b inspect g | jq -c '.[0].Config.ExposedPorts')" = '{"8080/tcp":{}}' ]
    b rm g
}

@test "load of an OCI layout, as a directory and as a tar; --name overrides the annotation" {
    mk oci "$TESTDIR/oci"
    run b image load -i "$TESTDIR/oci"
    [[ "$output" == *"Loaded image: ocigreet"* ]]
    run b run --rm ocigreet
    [ "$output" = "hello from layer 2" ]
    tar -C "$TESTDIR/oci" -cf "$TESTDIR/oci.tar" .
    run b load -i "$TESTDIR/oci.tar" --name renamed
    [[ "$output" == *"Loaded image: renamed"* ]]
    run b run --rm renamed ls /srv
    [ "$output" = new ]
}

@test "a bad digest or a layer writing outside the tree is refused; nothing is left" {
    before=$(images)
    mk oci-baddigest "$TESTDIR/bad"
    run b load -i "$TESTDIR/bad"
    [ "$status" -ne 0 ]
    [[ "$output" == *"digest"* ]]
    mk traversal "$TESTDIR/trav.tar"
    run b load -i "$TESTDIR/trav.tar"
    [ "$status" -ne 0 ]
    [[ "$output" == *".."* ]]
    [ ! -e "$ROOT/images/escape" ] && [ ! -e "$ROOT/escape" ]
    [ "$(images)" = "$before" ]
    run b load -i "$TESTDIR/nothing-here"
    [ "$status" -ne 0 ]
}

@test "umoci layout (gzip layers, per-file and opaque whiteouts, config): load as a directory and as a tar, run" {
    umoci_layout "$TESTDIR/lay" v1
    [ "$(jq '.manifests | length' "$TESTDIR/lay/index.json")" = 1 ]
    run b load -i "$TESTDIR/lay" --name uo
    echo "$output"
    [ "$status" -eq 0 ]
    [[ "$output" == *"Loaded image: uo"* ]]
    # the default command: Entrypoint + Cmd, with the config's Env, WorkingDir and User
    run b run --rm uo
    echo "$output"
    [ "$status" -eq 0 ]
    [ "${lines[0]}" = "hello from umoci" ]
    [ "${lines[1]}" = from-config ]
    [ "${lines[2]}" = /dir ]
    [ "${lines[3]}" = 1000 ]
    # arguments replace Cmd only: they go to the Entrypoint (sh -c)
    run b run --rm uo 'echo $(ls -a /dir); ls /gone /linuxrc 2>&1 | wc -l; echo $PATH'
    echo "$output"
    [ "$status" -eq 0 ]
    [ "${lines[0]}" = ". .. c d" ]
    [ "${lines[1]}" = 2 ]
    [ "${lines[2]}" = /bin:/sbin:/usr/bin ]
    run b run --rm uo 'cat /dir/c; ls /dir/a 2>&1; stat -c "%a %u" /dir; ls /opt/old'
    echo "$output"
    [ "${lines[0]}" = c ]
    [[ "${lines[1]}" == *"No such file"* ]]
    [ "${lines[2]}" = "750 1000" ]
    [ "${lines[3]}" = y ]
    # -u, -w and -e override the config
    run b run --rm -u 0 -w /etc -e GREET=cli uo 'id -u; pwd; echo $GREET'
    echo "$output"
    [ "$output" = "$(printf '0\n/etc\ncli')" ]
    b create --name u1 uo
    run b inspect u1
    [ "$(jq -c '.[0].Config.ExposedPorts' <<<"$output")" = '{"9090/tcp":{}}' ]
    [ "$(jq -r '.[0].Config.StopSignal' <<<"$output")" = SIGUSR1 ]
    [ "$(jq -r '.[0].Config.User' <<<"$output")" = 1000 ]
    # inspect has no Entrypoint: Cmd is the whole command line, Entrypoint first
    [ "$(jq -c '.[0].Config.Cmd[0:2]' <<<"$output")" = '["/bin/sh","-c"]' ]
    b rm u1
    # the same layout as a tar
    tar -C "$TESTDIR/lay" -cf "$TESTDIR/lay.tar" .
    run b load -i "$TESTDIR/lay.tar" --name uotar
    [ "$status" -eq 0 ]
    run b run --rm uotar 'cat /greeting; ls /dir'
    echo "$output"
    [ "$output" = "$(printf 'hello from umoci\nc\nd')" ]
}

@test "umoci layout without --name: the image is named by the tag (ref.name annotation)" {
    umoci_layout "$TESTDIR/lay" ugreet quick
    [ "$(jq -r '.manifests[0].annotations["org.opencontainers.image.ref.name"]' "$TESTDIR/lay/index.json")" = ugreet ]
    run b load -i "$TESTDIR/lay"
    [ "$status" -eq 0 ]
    [[ "$output" == *"Loaded image: ugreet"* ]]
    [ -d "$ROOT/images/ugreet" ]
    b image ls | grep -q '^ugreet\b'
    run b run --rm ugreet 'cat /greeting; echo $(ls -a /dir /opt/old); ls /gone 2>&1'
    echo "$output"
    [ "${lines[0]}" = "hello from umoci" ]
    [ "${lines[1]}" = "/dir: . .. c d /opt/old: . .. y" ]
    [[ "${lines[2]}" == *"No such file"* ]]
}

@test "a truncated umoci layout tar is refused; nothing is left in the images dir" {
    umoci_layout "$TESTDIR/lay" v1 quick
    tar -C "$TESTDIR/lay" -cf "$TESTDIR/lay.tar" .
    before=$(ls -A "$ROOT/images" | tr '\n' ' ')
    size=$(stat -c %s "$TESTDIR/lay.tar")
    for cut in 3000 $((size / 2)) $((size * 9 / 10)); do
        head -c "$cut" "$TESTDIR/lay.tar" >"$TESTDIR/cut.tar"
        run b load -i "$TESTDIR/cut.tar" --name cut
        echo "cut at $cut of $size: status $status: $output"
        [ "$status" -ne 0 ]
        [[ "$output" == *runcated* ]]
        [ "$(ls -A "$ROOT/images" | tr '\n' ' ')" = "$before" ]
    done
    run b load -i "$TESTDIR/cut.tar"
    [ "$status" -ne 0 ]
    [ "$(ls -A "$ROOT/images" | tr '\n' ' ')" = "$before" ]
}

@test "a large load draws a progress line on the client's terminal, none when not a terminal" {
    mkl() { python3 "$BATS_TEST_DIRNAME/../bench/mklayout.py" "$@"; }
    mkl data "$TESTDIR/d" 20 1 >/dev/null
    tar -C "$TESTDIR/d/l1" -cf "$TESTDIR/l1.tar" .
    mkl layout "$TESTDIR/lay" big "$TESTDIR/l1.tar"
    run script -qec "'$BERTH' --socket '$SOCK' load -i '$TESTDIR/lay'" /dev/null
    [ "$status" -eq 0 ]
    [[ "$output" == *"layer 1/1: "*"(100%)"*"Loaded image: big"* ]]
    b image rm big
    run b load -i "$TESTDIR/lay"
    [ "$status" -eq 0 ] && [[ "$output" != *"layer 1/1"* ]]
}
