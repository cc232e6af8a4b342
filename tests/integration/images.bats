#!/usr/bin/env bats
# images.bats - images from archives (DESIGN §10): `image import NAME ROOTFS.tar`, `load` of a
# docker-save tarball and of an OCI layout (layers in order, a whiteout, an opaque dir, the
# image config as defaults), and refusals (bad digest, path traversal) that leave nothing.
# The archives are built by mkarchive.py from the busybox rootfs.

load helpers
bats_require_minimum_version 1.5.0

setup() {
    require_root
    sv_start
}
teardown() { sv_stop; }

mk() { python3 "$BATS_TEST_DIRNAME/mkarchive.py" "$1" "$ROOT/images/busybox/rootfs" "$2"; }
images() { ls "$ROOT/images" | grep -v '^busybox$' | tr '\n' ' '; }

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
