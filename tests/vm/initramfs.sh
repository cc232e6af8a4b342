#!/bin/sh
# SPDX-License-Identifier: MIT
# tests/vm/initramfs.sh OUTFILE - the VM test's initramfs (newc cpio, gzip):
#   /init               BUILD/berthd-static (INIT=berthd, the default); INIT=probe:
#                       tests/vm/probe-init.sh, a busybox script that proves the recipe without
#                       berthd; INIT=bootstrap: tests/vm/bootstrap-init.sh, which starts berthd
#                       (/sbin/berthd) as PID 1 and the containers with the client
#   /bin/busybox        Debian's busybox-static, every applet linked in /bin /sbin /usr/bin /usr/sbin
#   /usr/bin/berth      BUILD/berth-static (the client)
#   /images/busybox     BUILD/images/busybox (rootfs/ + config.json), imported per the manifest
#   /etc/berth/         selftest.sh and (INIT=berthd) boot.json from tests/vm
#   /lib/modules/VER/   the modules kernel.sh picked (KERNEL_DIR, default BUILD/vm/kernel)
#   /dev/console, /dev/null  (the kernel opens /dev/console for /init before anything is mounted)
# Everything is owned by root (cpio -R 0:0). Run from the top of the repository.
set -eu

die() {
    echo "initramfs.sh: $*" >&2
    exit 1
}
[ $# -eq 1 ] && [ -n "$1" ] || die "usage: initramfs.sh OUTFILE"
OUTFILE=$1
BUILD=${BUILD:-build}
KERNEL_DIR=${KERNEL_DIR:-$BUILD/vm/kernel}
INIT=${INIT:-berthd}
BB=/bin/busybox

[ -f "$KERNEL_DIR/version" ] || die "no kernel in $KERNEL_DIR: run tests/vm/kernel.sh $KERNEL_DIR"
ver=$(cat "$KERNEL_DIR/version")
[ -x "$BB" ] && ! ldd "$BB" >/dev/null 2>&1 || die "$BB must be Debian's busybox-static"
[ -f "$BUILD/images/busybox/config.json" ] || die "no $BUILD/images/busybox: make image"
case $INIT in
berthd | bootstrap)
    [ -x "$BUILD/berthd-static" ] || die "no $BUILD/berthd-static: make static"
    [ -x "$BUILD/berth-static" ] || die "no $BUILD/berth-static: make static"
    ;;
probe) ;;
*) die "INIT is berthd, bootstrap or probe" ;;
esac

mkdir -p "$(dirname "$OUTFILE")"
stage=$(mktemp -d "$OUTFILE.stage.XXXXXX")
trap 'rm -rf "$stage"' EXIT
R=$stage
for d in bin sbin usr/bin usr/sbin etc/berth proc sys dev run tmp root images lib/modules; do
    mkdir -p "$R/$d"
done
chmod 1777 "$R/tmp"
chmod 700 "$R/root"

cp "$BB" "$R/bin/busybox"
"$BB" --list-full | while IFS= read -r app; do
    case $app in "" | /* | *..* | bin/busybox) continue ;; esac
    mkdir -p "$R/$(dirname "$app")"
    ln -sf /bin/busybox "$R/$app"
done

if [ "$INIT" = berthd ]; then
    cp "$BUILD/berthd-static" "$R/init"
    cp "$BUILD/berth-static" "$R/usr/bin/berth"
elif [ "$INIT" = bootstrap ]; then
    cp tests/vm/bootstrap-init.sh "$R/init"
    cp "$BUILD/berthd-static" "$R/sbin/berthd"
    cp "$BUILD/berth-static" "$R/usr/bin/berth"
    cp tests/vm/bootstrap.sh "$R/etc/berth/"
else
    cp tests/vm/probe-init.sh "$R/init"
fi
chmod 755 "$R/init"
cp tests/vm/selftest.sh "$R/etc/berth/"
# bootstrap: berthd finds no manifest (bootstrap.sh does its work with the client)
if [ "$INIT" = berthd ]; then
    cp tests/vm/boot.json "$R/etc/berth/"
    chmod 644 "$R/etc/berth/boot.json"
fi
chmod 755 "$R/etc/berth/selftest.sh"
cp -a "$BUILD/images/busybox" "$R/images/busybox"
cp -a "$KERNEL_DIR/modules/lib/modules/$ver" "$R/lib/modules/"
echo "root:x:0:0:root:/root:/bin/sh" >"$R/etc/passwd"
echo "root:x:0:" >"$R/etc/group"

mknod -m 600 "$R/dev/console" c 5 1
mknod -m 666 "$R/dev/null" c 1 3

tmp=$OUTFILE.tmp
(cd "$R" && find . -mindepth 1 | LC_ALL=C sort | cpio --quiet -o -H newc -R 0:0) | gzip -6 >"$tmp"
mv "$tmp" "$OUTFILE"
echo "initramfs.sh: $OUTFILE ($INIT, kernel $ver, $(du -k "$OUTFILE" | cut -f1) KiB)" >&2
