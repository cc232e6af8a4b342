#!/bin/sh
# Drive berthd with nothing but socat: the protocol is one line per request (ctl/PROTOCOL.md).
SOCK=${BERTH_SOCKET:-/run/berth/berth.sock}
say() { printf '%s\n' "$@" | socat -t 5 - UNIX-CONNECT:"$SOCK"; }
say ping
say 'run image=busybox name=sock-demo attach=1 -- sh -c "echo hello over the socket"'
say 'ps all=1'
say 'rm sock-demo'
