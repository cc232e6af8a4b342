#!/bin/sh
# A one-shot container: prints and is removed when it exits.
BERTH=${1:-berth}
"$BERTH" run --rm --name hello busybox echo "hello from a berth container"
