#!/bin/sh
# deb-source.sh OUTDIR PACKAGE: download Debian's (bookworm) source package PACKAGE into OUTDIR
# (`apt-get source --download-only`) through a private apt configuration under OUTDIR, so the
# machine's apt sources are left untouched. Used by cjson-static.sh and zstd-static.sh.
set -eu
OUT=${1:?usage: deb-source.sh OUTDIR PACKAGE}
PKG=${2:?usage: deb-source.sh OUTDIR PACKAGE}
mkdir -p "$OUT/lists/partial" "$OUT/parts"
OUT=$(cd "$OUT" && pwd)
cat >"$OUT/parts/src.sources" <<SRC
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: bookworm
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
APT="-o Dir::Etc::SourceList=/dev/null -o Dir::Etc::SourceParts=$OUT/parts -o Dir::State::Lists=$OUT/lists -o APT::Sandbox::User=root"
cd "$OUT"
# shellcheck disable=SC2086
apt-get -qq $APT update
# shellcheck disable=SC2086
apt-get -qq $APT source --download-only "$PKG"
