#!/bin/sh
# Build a static libcjson.a for `make static` (Debian's libcjson-dev ships only the shared
# library). The source comes from Debian's archive (`apt-get source`), through a private apt
# configuration under OUT so the machine's apt sources are left untouched.
set -eu
OUT=${1:?usage: cjson-static.sh OUTDIR}
mkdir -p "$OUT/lists/partial" "$OUT/parts"
OUT=$(cd "$OUT" && pwd)
[ -f "$OUT/libcjson.a" ] && exit 0
cat >"$OUT/parts/src.sources" <<SRC
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: bookworm
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
APT="-o Dir::Etc::SourceList=/dev/null -o Dir::Etc::SourceParts=$OUT/parts -o Dir::State::Lists=$OUT/lists -o APT::Sandbox::User=root"
# shellcheck disable=SC2086
apt-get -qq $APT update
cd "$OUT"
# shellcheck disable=SC2086
apt-get -qq $APT source --download-only cjson
tar -xzf cjson_*.orig.tar.gz
src=$(find . -maxdepth 2 -name cJSON.c | head -n 1)
[ -n "$src" ] || { echo "cjson-static: cJSON.c not found in the source package" >&2; exit 1; }
${CC:-cc} -O2 -fPIE -c -o cJSON.o "$src"
ar rcs libcjson.a cJSON.o
echo "cjson-static: built $OUT/libcjson.a"
