#!/bin/sh
# Build a static libcjson.a for `make static` (Debian's libcjson-dev ships only the shared
# library). The source comes from Debian's archive (deb-source.sh).
set -eu
OUT=${1:?usage: cjson-static.sh OUTDIR}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
[ -f "$OUT/libcjson.a" ] && exit 0
sh "$(dirname "$0")/deb-source.sh" "$OUT" cjson
cd "$OUT"
tar -xzf cjson_*.orig.tar.gz
src=$(find . -maxdepth 2 -name cJSON.c | head -n 1)
[ -n "$src" ] || { echo "cjson-static: cJSON.c not found in the source package" >&2; exit 1; }
${CC:-cc} -O2 -fPIE -c -o cJSON.o "$src"
ar rcs libcjson.a cJSON.o
echo "cjson-static: built $OUT/libcjson.a"
