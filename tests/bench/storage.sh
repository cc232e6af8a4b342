#!/bin/sh
# SPDX-License-Identifier: MIT
# tests/bench/storage.sh BUILD - storage benchmarks: image load throughput against tar, and the
# start time of a container against the size of its image.
#
#   make bench                       (run.sh, then this: sh tests/bench/storage.sh build)
#   BENCH_LOAD_MB=200 BENCH_LOAD_N=3 BENCH_N=20 BENCH_BIG_MB=1024 sh tests/bench/storage.sh build
#
# a. `berth load -i` of an OCI layout directory (busybox, then 4 layers holding LOAD_MB MiB of
#    incompressible files of mixed sizes, made once by mklayout.py), in two variants: plain tar
#    layers and gzip layers; median of LOAD_N loads (`berth image rm` between them, not timed)
#    against `tar -xf` (`tar -xzf`) of the same layer files, in order, into a fresh directory
#    (same N, interleaved). Throughput is MiB of uncompressed layer tar per second; berth also
#    checks every blob's sha256, tar does not.
# b. `berth run --rm IMG true`, N runs each, interleaved, for the busybox image and for busybox
#    plus BIG_MB MiB of extra files (fallocate, `berth image import`): the overlay root makes
#    the start independent of the image's size, so the ratio big/small should be about 1.
#
# The VM's speed drifts: only medians and ratios are meaningful. Everything (berthd with its
# own --root and --socket, images, layouts, extracted trees) lives under one temporary
# directory under /tmp, removed on exit (KEEP=1 keeps it).
# Exit status: 0 when every benchmark ran cleanly, 1 when berth misbehaved (errors, wrong
# content, leftovers), 2 on a setup failure.

# shellcheck source=tests/bench/lib.sh
. "$(dirname "$0")/lib.sh" # bash from here on, set -u, BUILD=$1, cd to the top of the tree

LOAD_MB=${BENCH_LOAD_MB:-200}
LOAD_N=${BENCH_LOAD_N:-3}
LAYERS=${BENCH_LAYERS:-4}
N=${BENCH_N:-20}
BIG_MB=${BENCH_BIG_MB:-1024}
TIMEOUT=${BENCH_TIMEOUT:-900}

bench_init berthsbench python3 jq gzip tar fallocate
IMAGES="$D/root/images"

# ---------------------------------------------------------------- helpers

mib() { awk -v b="$1" 'BEGIN { printf "%.1f\n", b / 1048576 }'; }

# leftovers: the hidden entries of the images dir (a load's .tmp-load-*, an import's
# .NAME.tmp-*, a removal's .rm-NAME still being deleted)
leftovers() { ls -A "$IMAGES" | grep '^\.' | tr '\n' ' '; }

# wait_rm NAME: until berthd's background removal of NAME's tree (renamed to
# .trash-NAME.<stamp>) is done (up to 60 s)
wait_rm() {
    for _ in $(seq 1 600); do
        ls -A "$IMAGES" | grep -q "^\.trash-$1\." || return 0
        sleep 0.1
    done
    anomaly "image rm $1: $IMAGES/.trash-$1.* still there after 60 s"
}

row() { printf '  %-40s %10s %10s %10s %s\n' "$@"; }

# ---------------------------------------------------------------- setup

phase "setup"
echo "berth storage benchmarks: $(date -u '+%Y-%m-%dT%H:%M:%SZ'), $(nproc) CPUs, kernel $(uname -r)," \
    "load: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "  tmp: $D on $(df -PT "$D" | awk 'NR == 2 { print $2 " (" $1 ")" }')"

start_berthd SV_PID "$D/root" "$SOCK" "$D/berthd.log"
b run --rm busybox true >/dev/null 2>"$D/berth-probe.err" ||
    die "berth run --rm busybox true fails: $(cat "$D/berth-probe.err")"

# ---------------------------------------------------------------- a. image load vs tar

phase "a. generate"
echo
echo "== a. image load throughput: berth load -i vs tar -x ($LOAD_MB MiB in $LAYERS layers + busybox, N=$LOAD_N) =="
t0=$EPOCHREALTIME
nfiles=$(python3 "$TOP/tests/bench/mklayout.py" data "$D/gen" "$LOAD_MB" "$LAYERS") ||
    die "mklayout.py data failed"
mkdir -p "$D/layers"
tar -C "$IMAGE_SRC/rootfs" --numeric-owner -cf "$D/layers/l0.tar" . || die "tar of busybox"
LT="$D/layers/l0.tar"
for k in $(seq 1 "$LAYERS"); do
    tar -C "$D/gen/l$k" --numeric-owner -cf "$D/layers/l$k.tar" . || die "tar of layer $k"
    LT="$LT $D/layers/l$k.tar"
done
LG=""
for f in $LT; do
    gzip -c "$f" >"$f.gz" || die "gzip $f"
    LG="$LG $f.gz"
done
# shellcheck disable=SC2086
python3 "$TOP/tests/bench/mklayout.py" layout "$D/oci-tar" benchtar $LT || die "layout (tar)"
# shellcheck disable=SC2086
python3 "$TOP/tests/bench/mklayout.py" layout "$D/oci-gz" benchgz $LG || die "layout (gzip)"
t1=$EPOCHREALTIME
# shellcheck disable=SC2086
TAR_BYTES=$(stat -c %s $LT | awk '{ s += $1 } END { print s }')
# shellcheck disable=SC2086
GZ_BYTES=$(stat -c %s $LG | awk '{ s += $1 } END { print s }')
echo "  $nfiles files; layers: $(mib "$TAR_BYTES") MiB as tar, $(mib "$GZ_BYTES") MiB gzipped" \
    "(made in $(($(elapsed "$t0" "$t1") / 1000000)) s, not timed)"

# load_once VARIANT I: one timed berth load of the VARIANT layout as image bl, then removed
load_once() {
    local v=$1 i=$2 t0 t1 st
    sync
    t0=$EPOCHREALTIME
    b load -i "$D/oci-$v" --name bl </dev/null >"$D/load.out" 2>"$D/load.err"
    st=$?
    t1=$EPOCHREALTIME
    if [ $st != 0 ]; then
        anomaly "load ($v, run $i) failed: $(head -c 300 "$D/load.err")"
        return
    fi
    elapsed "$t0" "$t1" >>"$D/sa.berth.$v"
    if [ "$i" = 1 ]; then
        # the content, once per variant (not timed): every generated tree, byte for byte
        for k in $(seq 1 "$LAYERS"); do
            diff -rq "$D/gen/l$k/bench/l$k" "$IMAGES/bl/rootfs/bench/l$k" >"$D/diff.out" 2>&1 ||
                anomaly "load ($v): layer $k differs from its source: $(head -3 "$D/diff.out" | tr '\n' ' ')"
        done
        diff -rq "$IMAGE_SRC/rootfs/bin" "$IMAGES/bl/rootfs/bin" >/dev/null 2>&1 ||
            anomaly "load ($v): /bin differs from busybox's"
        b run --rm bl sh -c "test -s /bench/l1/d000/f000" </dev/null >/dev/null 2>>"$D/load.err" ||
            anomaly "load ($v): the loaded image does not run: $(tail -1 "$D/load.err")"
    fi
    b image rm bl >/dev/null 2>>"$D/rm.err" || anomaly "image rm bl ($v, run $i) failed: $(tail -1 "$D/rm.err")"
    wait_rm bl
}

# tar_once VARIANT: one timed extraction of the layer files, in order, into a fresh directory
tar_once() {
    local v=$1 t0 t1 st=0 f flag=-xf files=$LT
    [ "$v" = gz ] && flag=-xzf files=$LG
    rm -rf "$D/x"
    mkdir "$D/x"
    sync
    t0=$EPOCHREALTIME
    for f in $files; do
        tar -C "$D/x" --numeric-owner $flag "$f" || st=1
    done
    t1=$EPOCHREALTIME
    [ $st = 0 ] && elapsed "$t0" "$t1" >>"$D/sa.tar.$v"
    rm -rf "$D/x"
}

for v in tar gz; do
    : >"$D/sa.berth.$v"
    : >"$D/sa.tar.$v"
done
for i in $(seq 1 "$LOAD_N"); do
    for v in tar gz; do
        phase "a. load $v run $i"
        load_once $v "$i"
        tar_once $v
    done
done
left=$(leftovers)
[ -z "$left" ] || anomaly "after the loads and removals, left in $IMAGES: $left"
b image ls 2>/dev/null | grep -q '^bl ' && anomaly "image bl still listed after image rm"

row "variant (MiB of layer tar / s)" "berth" "tar" "berth/tar" ""
declare -A LOADR LOADB LOADT SHA_MS
for v in tar gz; do
    read -r bmed _ bn < <(stats "$D/sa.berth.$v")
    read -r tmed _ tn < <(stats "$D/sa.tar.$v")
    LOADB[$v]=$(mibps "$TAR_BYTES" "$bmed")
    LOADT[$v]=$(mibps "$TAR_BYTES" "$tmed")
    LOADR[$v]=$(ratio "${LOADB[$v]}" "${LOADT[$v]}")
    case $v in tar) label="uncompressed layers (tar -xf)" ;; gz) label="gzip layers (tar -xzf)" ;; esac
    row "$label" "${LOADB[$v]}" "${LOADT[$v]}" "${LOADR[$v]}" "(medians ${bmed} / ${tmed} ms, n=$bn/$tn)"
done

# what verifying the digests costs by itself (berth checks every blob's sha256 before it
# applies the layer; tar checks nothing): one sha256sum pass over the same blobs, once
for v in tar gz; do
    files=$LT
    [ $v = gz ] && files=$LG
    t0=$EPOCHREALTIME
    # shellcheck disable=SC2086
    sha256sum $files >/dev/null
    t1=$EPOCHREALTIME
    SHA_MS[$v]=$(($(elapsed "$t0" "$t1") / 1000))
done
echo "  for reference, sha256sum of the blobs (berth verifies each digest, tar does not):" \
    "${SHA_MS[tar]} ms (tar layers), ${SHA_MS[gz]} ms (gzip layers)"

rm -rf "$D/gen" "$D/layers" "$D/oci-tar" "$D/oci-gz"

# ---------------------------------------------------------------- b. start vs image size

phase "b. big image"
echo
echo "== b. run --rm IMG true vs image size: busybox vs busybox + $BIG_MB MiB (N=$N each, interleaved; ms) =="
mkdir -p "$D/big"
cp -a "$IMAGE_SRC/rootfs" "$D/big/rootfs" && cp "$IMAGE_SRC/config.json" "$D/big/config.json" ||
    die "copy busybox for the big image"
mkdir -p "$D/big/rootfs/bulk/small"
# BIG_MB in 64 MiB files (fallocate: allocated, never written) and 1024 small files of 4 KiB
left_mb=$BIG_MB
k=0
while [ "$left_mb" -gt 0 ]; do
    sz=$((left_mb < 64 ? left_mb : 64))
    fallocate -l "${sz}M" "$D/big/rootfs/bulk/f$k" || die "fallocate"
    left_mb=$((left_mb - sz))
    k=$((k + 1))
done
head -c 4194304 /dev/zero | (cd "$D/big/rootfs/bulk/small" && split -b 4096 -a 4 - s) || die "small files"
t0=$EPOCHREALTIME
b image import bigbox "$D/big/rootfs" </dev/null >/dev/null 2>"$D/import.err" ||
    die "image import bigbox failed: $(cat "$D/import.err")"
t1=$EPOCHREALTIME
IMPORT_MS=$(($(elapsed "$t0" "$t1") / 1000))
BIG_BYTES=$(du -sb "$IMAGES/bigbox/rootfs" | cut -f1)
SMALL_BYTES=$(du -sb "$IMAGES/busybox/rootfs" | cut -f1)
echo "  bigbox: $(mib "$BIG_BYTES") MiB, $(find "$IMAGES/bigbox/rootfs" | wc -l) entries;" \
    "busybox: $(mib "$SMALL_BYTES") MiB (image import of the big tree took $IMPORT_MS ms, not timed)"
rm -rf "$D/big"
[ -z "$(leftovers)" ] || anomaly "after image import, left in $IMAGES: $(leftovers)"

phase "b. runs"
b run --rm bigbox true </dev/null >/dev/null 2>"$D/errb" || anomaly "run --rm bigbox true fails: $(cat "$D/errb")"
: >"$D/sb.busybox"
: >"$D/sb.bigbox"
for i in $(seq 1 "$N"); do
    for img in busybox bigbox; do
        t0=$EPOCHREALTIME
        b run --rm "$img" true </dev/null >/dev/null 2>>"$D/errb"
        st=$?
        t1=$EPOCHREALTIME
        if [ $st = 0 ]; then
            elapsed "$t0" "$t1" >>"$D/sb.$img"
        else
            echo "$img run $i: exit $st" >>"$D/failb"
        fi
    done
done
[ -s "$D/failb" ] && anomaly "run --rm failures: $(wc -l <"$D/failb"); $(sort "$D/errb" | uniq -c | sort -rn | head -2 | tr '\n' ' ')"
read -r smed sp90 sn < <(stats "$D/sb.busybox")
read -r gmed gp90 gn < <(stats "$D/sb.bigbox")
START_R=$(ratio "$gmed" "$smed")
row "image" "median" "p90" "big/small" ""
row "busybox ($(mib "$SMALL_BYTES") MiB)" "$smed" "$sp90" "1.00" "(n=$sn)"
row "bigbox (+$BIG_MB MiB)" "$gmed" "$gp90" "$START_R" "(n=$gn)"
b image rm bigbox >/dev/null 2>>"$D/rm.err" || anomaly "image rm bigbox failed: $(tail -1 "$D/rm.err")"
wait_rm bigbox
[ -z "$(leftovers)" ] || anomaly "after image rm bigbox, left in $IMAGES: $(leftovers)"
[ "$(b ps -aq | wc -l)" = 0 ] || anomaly "containers still listed after the --rm runs"
grep -q "$D/root/containers" /proc/mounts && anomaly "mounts left under the root after the --rm runs"

# ---------------------------------------------------------------- summary

phase "summary"
echo
echo "== summary (medians; ratios berth/tar for throughput, big/small for start time) =="
srow() { printf '  %-40s %14s %14s %8s\n' "$@"; }
srow "measure" "berth" "tar" "ratio"
srow "load, $LOAD_MB MiB, uncompressed layers" "${LOADB[tar]} MiB/s" "${LOADT[tar]} MiB/s" "${LOADR[tar]}"
srow "load, $LOAD_MB MiB, gzip layers" "${LOADB[gz]} MiB/s" "${LOADT[gz]} MiB/s" "${LOADR[gz]}"
srow "run --rm true, busybox" "$smed ms" "" ""
srow "run --rm true, busybox + $BIG_MB MiB" "$gmed ms" "" "$START_R"
ok=$(awk -v r="$START_R" 'BEGIN { exit !(r != "-" && r + 0 <= 1.2) }' && echo ok || echo MISS)
echo "  [$ok] start time independent of image size (big/small <= 1.20): $START_R"

bench_end
