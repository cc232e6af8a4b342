#!/bin/sh
# SPDX-License-Identifier: MIT
# tests/vm/kernel.sh OUTDIR - fetch Debian's cloud kernel for the VM test without installing it.
# linux-image-cloud-amd64 is a metapackage: its dependency names the real package
# (linux-image-6.*-cloud-amd64), which is downloaded with `apt-get download` and unpacked with
# `dpkg-deb -x` into OUTDIR/pkg. Then:
#   OUTDIR/vmlinuz                     the kernel (a symlink into pkg/boot)
#   OUTDIR/version                     its release (uname -r)
#   OUTDIR/modules/lib/modules/VER/    overlay, veth, bridge and their dependencies (llc, stp),
#                                      with a modules.dep for that subset (the package has none:
#                                      depmod writes it at install time)
# Cached: nothing is fetched when OUTDIR/vmlinuz and the modules are there. The last line of
# the output is the vmlinuz path. Modules: MODULES="overlay veth bridge" by default.
set -eu

die() {
    echo "kernel.sh: $*" >&2
    exit 1
}
[ $# -eq 1 ] && [ -n "$1" ] || die "usage: kernel.sh OUTDIR"
mkdir -p "$1"
OUT=$(cd "$1" && pwd)
MODULES=${MODULES:-overlay veth bridge}
META=${KERNEL_META:-linux-image-cloud-amd64}
APT="-o APT::Sandbox::User=root"

if [ -f "$OUT/vmlinuz" ] && [ -f "$OUT/version" ] && [ -f "$OUT/modules.done" ]; then
    echo "$OUT/vmlinuz"
    exit 0
fi

command -v dpkg-deb >/dev/null || die "dpkg-deb is missing (Debian only)"

# the real package behind the metapackage
resolve() {
    apt-cache depends "$META" 2>/dev/null |
        sed -n 's/^ *Depends: *\(linux-image-[0-9][^ ]*\).*/\1/p' | head -n 1
}
pkg=$(resolve)
if [ -z "$pkg" ]; then
    # a fresh machine: no package lists yet
    apt-get -qq update >/dev/null || die "apt-get update failed"
    pkg=$(resolve)
fi
[ -n "$pkg" ] || die "cannot resolve $META to a linux-image-VERSION package"

rm -rf "$OUT/pkg" "$OUT/modules" "$OUT/modules.done" "$OUT/vmlinuz" "$OUT/version"
if ! ls "$OUT"/"$pkg"_*.deb >/dev/null 2>&1; then
    echo "kernel.sh: downloading $pkg" >&2
    # shellcheck disable=SC2086
    (cd "$OUT" && apt-get -qq $APT download "$pkg") || die "apt-get download $pkg failed"
fi
deb=$(ls "$OUT"/"$pkg"_*.deb | tail -n 1)
dpkg-deb -x "$deb" "$OUT/pkg"

vmlinuz=$(ls "$OUT"/pkg/boot/vmlinuz-* 2>/dev/null | head -n 1)
[ -n "$vmlinuz" ] || die "no boot/vmlinuz-* in $deb"
ver=${vmlinuz##*/vmlinuz-}
MD=$OUT/pkg/lib/modules/$ver
[ -d "$MD/kernel" ] || die "no lib/modules/$ver/kernel in $deb"

# modules: the depends= field of each .ko (modinfo is not needed: the .modinfo section holds
# NUL-separated key=value strings); compressed modules (.ko.xz/.ko.zst) are kept as they are
find_ko() {
    find "$MD/kernel" \( -name "$1.ko" -o -name "$1.ko.*" \) | head -n 1
}
ko_depends() {
    case $1 in
    *.ko) tr '\0' '\n' <"$1" | sed -n 's/^depends=//p' | head -n 1 | tr ',' ' ' ;;
    *.ko.xz) xz -dc "$1" | tr '\0' '\n' | sed -n 's/^depends=//p' | head -n 1 | tr ',' ' ' ;;
    *.ko.zst) zstd -dc "$1" | tr '\0' '\n' | sed -n 's/^depends=//p' | head -n 1 | tr ',' ' ' ;;
    *) echo "" ;;
    esac
}
DST=$OUT/modules/lib/modules/$ver
mkdir -p "$DST"
: >"$DST/modules.dep"
todo=$MODULES
done_list=" "
while [ -n "$(echo $todo)" ]; do
    set -- $todo
    m=$1
    shift
    todo="$*"
    case $done_list in *" $m "*) continue ;; esac
    done_list="$done_list$m "
    ko=$(find_ko "$m")
    [ -n "$ko" ] || die "module $m not found under $MD/kernel"
    rel=${ko#"$MD"/}
    mkdir -p "$DST/$(dirname "$rel")"
    cp "$ko" "$DST/$rel"
    deps=$(ko_depends "$ko")
    line="$rel:"
    for d in $deps; do
        dko=$(find_ko "$d")
        [ -n "$dko" ] || die "module $d (needed by $m) not found"
        line="$line ${dko#"$MD"/}"
        todo="$todo $d"
    done
    echo "$line" >>"$DST/modules.dep"
done
# modules.dep lists every module's full dependency closure in depmod's order: the last one is
# loaded first (bridge.ko: stp.ko llc.ko)
python3 - "$DST/modules.dep" <<'PY' || die "modules.dep: python3 failed"
import sys
p = sys.argv[1]
deps, order = {}, []
for line in open(p):
    k, _, v = line.rstrip("\n").partition(":")
    deps[k] = v.split()
    order.append(k)
def load_order(k, seen, out):  # dependencies first
    for d in deps.get(k, []):
        if d not in seen:
            seen.add(d)
            load_order(d, seen, out)
            out.append(d)
    return out
with open(p, "w") as f:
    for k in order:
        f.write(k + ":" + "".join(" " + d for d in reversed(load_order(k, set(), []))) + "\n")
PY
cp "$MD/modules.builtin" "$MD/modules.order" "$DST/" 2>/dev/null || true

echo "$ver" >"$OUT/version"
ln -s "pkg/boot/vmlinuz-$ver" "$OUT/vmlinuz"
touch "$OUT/modules.done"
echo "kernel.sh: $pkg ($ver); modules: $(cut -d: -f1 "$DST/modules.dep" | xargs -n1 basename | xargs)" >&2
echo "$OUT/vmlinuz"
