#!/bin/sh
# A long-running service, restarted unless stopped by hand.
BERTH=${1:-berth}
"$BERTH" rm -f ticker >/dev/null 2>&1
"$BERTH" run -d --name ticker --restart unless-stopped --label example=ticker busybox \
    sh -c 'trap "exit 0" TERM; while :; do date; sleep 5 & wait $!; done'
