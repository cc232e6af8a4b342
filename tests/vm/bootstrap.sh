#!/bin/sh
# SPDX-License-Identifier: MIT
# INIT=bootstrap: what berthd's boot manifest will do, done with the client: import the busybox
# image, start limits, db, web and selftest (as boot.json has them, without health checks and
# requires), leave 100 orphans to PID 1, wait for selftest, print its exit code and power the machine off.
export PATH=/usr/bin:/usr/sbin:/bin:/sbin
i=0
while [ ! -S /run/berth/berth.sock ]; do
    i=$((i + 1))
    [ $i -lt 300 ] || { echo "bootstrap: berthd's socket never appeared" >&2; exit 1; }
    sleep 0.1
done
echo "bootstrap: berthd answers at $(cut -d' ' -f1 /proc/uptime)s of uptime"
b() { berth "$@" >/dev/null || echo "bootstrap: berth $* failed" >&2; }
b image import busybox /images/busybox/rootfs
b run -d --name limits --memory 64m --pids-limit 50 --restart always --network none --init busybox sleep 100000
b run -d --name db --restart always --init busybox sh -c 'sleep 2; touch /tmp/ready; exec sleep 100000'
sleep 2.5
b run -d --name web --init busybox sleep 100000
# 100 orphans for PID 1 to reap: each subshell leaves its sleep behind
i=0
while [ $i -lt 100 ]; do
    (sleep 1 &)
    i=$((i + 1))
done
b run -d --name selftest --privileged --network none -e VM_MODE=bootstrap -e ORPHANS=100 \
    -v /dev/ttyS1:/dev/ttyS1 -v /sys/fs/cgroup:/hostcg -v /run/berth:/run/berth \
    -v /usr/bin/berth:/usr/bin/berth:ro -v /etc/berth:/t:ro busybox sh /t/selftest.sh
code=$(berth wait selftest)
echo "bootstrap: selftest exited with $code"
berth logs selftest 2>&1 | tail -n 20
berth shutdown --poweroff
