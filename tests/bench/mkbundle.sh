#!/bin/sh
# SPDX-License-Identifier: MIT
# tests/bench/mkbundle.sh ROOTFS DIR [SLEEP_SECS] - OCI bundles for the crun/runc side of the
# benchmarks.
#
# Copies ROOTFS once to DIR/rootfs and writes DIR/bundle-true/config.json (args ["true"]) and
# DIR/bundle-sleep/config.json (args ["sleep", "SLEEP_SECS"], default 1000), both pointing at
# that one copy by absolute path. The spec is the runtime's own default (`crun spec`, else
# `runc spec`): new pid/net/ipc/uts/mount namespaces, read-only root, no seccomp; only args,
# terminal=false and root.path are changed, so crun and runc run the very same config.
set -eu
src=$1
dir=$2
secs=${3:-1000}
[ -d "$src" ] || { echo "mkbundle: no rootfs at $src" >&2; exit 1; }
mkdir -p "$dir/rootfs" "$dir/bundle-true" "$dir/bundle-sleep" "$dir/spec"
cp -a "$src/." "$dir/rootfs/"
if command -v crun >/dev/null; then
    (cd "$dir/spec" && crun spec)
elif command -v runc >/dev/null; then
    (cd "$dir/spec" && runc spec)
else
    echo "mkbundle: neither crun nor runc installed" >&2
    exit 1
fi
for b in true sleep; do
    case $b in
    true) args='["true"]' ;;
    sleep) args="[\"sleep\", \"$secs\"]" ;;
    esac
    jq --arg root "$dir/rootfs" --argjson args "$args" \
        '.process.args = $args | .process.terminal = false | .root.path = $root' \
        "$dir/spec/config.json" >"$dir/bundle-$b/config.json"
done
