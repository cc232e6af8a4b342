#!/bin/sh
# `make run`: berthd in the foreground on the default root (/var/lib/berth, socket
# /run/berth/berth.sock) with the busybox image imported and the example containers running.
# Ctrl-C (or SIGTERM) stops berthd gracefully: every container is stopped with its timeout.
set -eu
BUILD=${1:-build}
TOP=$(cd "$(dirname "$0")/.." && pwd)
BERTHD="$TOP/$BUILD/berthd"
BERTH="$TOP/$BUILD/berth"
ROOT=${BERTH_ROOT:-/var/lib/berth}
SOCK=${BERTH_SOCKET:-/run/berth/berth.sock}
export BERTH_SOCKET="$SOCK"

[ "$(id -u)" = 0 ] || { echo "make run: needs root (containers need namespaces and mounts)" >&2; exit 1; }

"$BERTHD" --root "$ROOT" --socket "$SOCK" &
pid=$!
trap 'kill -TERM $pid 2>/dev/null' INT TERM HUP
for _ in $(seq 1 100); do
    "$BERTH" ping >/dev/null 2>&1 && break
    sleep 0.05
done

if ! "$BERTH" image ls | grep -q '^busybox '; then
    "$BERTH" image import busybox "$TOP/$BUILD/images/busybox/rootfs"
fi
for f in "$TOP"/examples/containers/*.sh; do
    [ -f "$f" ] && sh "$f" "$BERTH" || true
done
echo "berth: berthd runs as pid $pid on $SOCK; try: $BERTH ps; $BERTH logs -f ticker; Ctrl-C stops it"
"$BERTH" ps
wait $pid || true
# wait returns early when a trapped signal arrives: wait for the graceful stop to finish
while kill -0 $pid 2>/dev/null; do sleep 0.1; done
