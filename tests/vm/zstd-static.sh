#!/bin/sh
# Build the static libzstd.a that berthd-static links (`make static`), from Debian's source
# package (deb-source.sh). Debian's own libzstd.a also holds the decoders of zstd's pre-1.0 formats v0.5 to v0.7
# (ZSTD_LEGACY_SUPPORT=5, about 90 KB of code). libarchive takes a stream for zstd only when it
# begins with the 1.0 magic number or a skippable frame, so those decoders are dead weight in
# berthd: this build leaves them out (ZSTD_LEGACY_SUPPORT=0; a pre-1.0 frame behind a skippable
# one fails with zstd's "Unknown frame descriptor") and keeps the rest as upstream builds it
# (-O2, the assembly Huffman loops). Only the decompressor: berthd writes no zstd.
set -eu
OUT=${1:?usage: zstd-static.sh OUTDIR}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
# The source is fetched once; the library is built again whenever this script changes.
ls "$OUT"/libzstd_*.orig.tar.xz >/dev/null 2>&1 ||
    sh "$(dirname "$0")/deb-source.sh" "$OUT" libzstd
cd "$OUT"
rm -rf zstd-* obj libzstd.a
tar -xJf libzstd_*.orig.tar.xz
lib=$(find . -maxdepth 3 -type d -path '*/lib/decompress' | head -n 1)
[ -n "$lib" ] || { echo "zstd-static: lib/decompress not found in the source package" >&2; exit 1; }
lib=${lib%/decompress}
mkdir obj
for f in "$lib"/common/*.c "$lib"/decompress/*.c "$lib"/decompress/*_amd64.S; do
    ${CC:-cc} -O2 -fno-PIE -ffunction-sections -fdata-sections -DXXH_NAMESPACE=ZSTD_ \
        -DZSTD_LEGACY_SUPPORT=0 -DDEBUGLEVEL=0 -c -o "obj/$(basename "$f").o" "$f"
done
ar rcs libzstd.a obj/*.o
echo "zstd-static: built $OUT/libzstd.a"
