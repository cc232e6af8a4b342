#!/bin/sh
# SPDX-License-Identifier: MIT
# storage/mkbusybox.sh OUTDIR - build the busybox image (OUTDIR/rootfs + OUTDIR/config.json)
# from Debian's busybox-static. Builds in a temporary directory next to OUTDIR and renames it
# into place, so an interrupted build leaves nothing half-made. Touches nothing outside OUTDIR.
set -eu

die() {
    echo "mkbusybox: $*" >&2
    exit 1
}

if [ $# -ne 1 ] || [ -z "$1" ]; then
    die "usage: mkbusybox.sh OUTDIR"
fi
OUT=${1%/}
BB=/bin/busybox

if [ ! -f "$BB" ] || [ ! -x "$BB" ]; then
    die "$BB is missing: install the busybox-static package"
fi
# ldd fails ("not a dynamic executable") exactly for a static binary
if ldd "$BB" >/dev/null 2>&1; then
    die "$BB is dynamically linked: install busybox-static (not busybox)"
fi
"$BB" --list-full >/dev/null 2>&1 || die "$BB does not support --list-full"

parent=$(dirname "$OUT")
mkdir -p "$parent"
tmp=$(mktemp -d "$OUT.tmp.XXXXXX")
old=""
cleanup() {
    rm -rf "$tmp"
    [ -z "$old" ] || rm -rf "$old"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
chmod 755 "$tmp"

R=$tmp/rootfs
mkdir -p "$R"
for d in bin sbin usr/bin usr/sbin etc proc sys dev home var; do
    mkdir -p "$R/$d"
done
mkdir -m 1777 "$R/tmp"
mkdir -m 700 "$R/root"
mkdir -p "$R/home/berth"
chmod 1777 "$R/tmp"
chmod 700 "$R/root"

cp "$BB" "$R/bin/busybox"
chmod 755 "$R/bin/busybox"
"$BB" --list-full | while IFS= read -r app; do
    case $app in
    "" | /* | *..*) continue ;;
    bin/busybox) continue ;;
    esac
    mkdir -p "$R/$(dirname "$app")"
    ln -f "$R/bin/busybox" "$R/$app"
done
[ -x "$R/bin/sh" ] || die "busybox has no sh applet"

cat >"$R/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/bin/sh
daemon:x:1:1:daemon:/usr/sbin:/bin/false
bin:x:2:2:bin:/bin:/bin/false
sys:x:3:3:sys:/dev:/bin/false
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
berth:x:1000:1000:berth:/home/berth:/bin/sh
EOF
cat >"$R/etc/group" <<'EOF'
root:x:0:
daemon:x:1:
bin:x:2:
sys:x:3:
tty:x:5:
nogroup:x:65534:
berth:x:1000:
extra:x:2000:berth
EOF
echo busybox >"$R/etc/hostname"
chmod 644 "$R/etc/passwd" "$R/etc/group" "$R/etc/hostname"

if [ "$(id -u)" -eq 0 ]; then
    chown -R 0:0 "$R"
    chown 1000:1000 "$R/home/berth"
else
    echo "mkbusybox: not root: files keep your uid, /home/berth is not owned by 1000" >&2
fi

cat >"$tmp/config.json" <<'EOF'
{"Cmd":["sh"],"Env":["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],"WorkingDir":"","User":""}
EOF

if [ -e "$OUT" ]; then
    old=$(mktemp -d "$OUT.old.XXXXXX")
    mv "$OUT" "$old/"
fi
mv "$tmp" "$OUT"
tmp=""
echo "mkbusybox: built $OUT ($(find "$OUT/rootfs" -type f | wc -l) files)"
