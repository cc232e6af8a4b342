#!/bin/sh
# SPDX-License-Identifier: MIT
# /init of the probe initramfs (INIT=probe): proves the VM recipe without berthd. Mounts,
# loads the modules with busybox insmod (dependencies first), writes TAP lines to ttyS1 and
# powers off. The boot time is /proc/uptime when /init starts and when it is done.
export PATH=/sbin:/bin:/usr/sbin:/usr/bin
t0=$(cut -d' ' -f1 /proc/uptime 2>/dev/null)
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
[ -n "$t0" ] || t0=$(cut -d' ' -f1 /proc/uptime)
out=/dev/ttyS1
n=0
fail=0
tap() { # tap OK DESC
    n=$((n + 1))
    if [ "$1" = 0 ]; then echo "ok $n - $2" >$out; else echo "not ok $n - $2" >$out; fail=1; fi
}
echo "# init started at uptime ${t0}s" >$out
M=/lib/modules/$(uname -r)
r=0
for m in kernel/net/llc/llc.ko kernel/net/802/stp.ko kernel/net/bridge/bridge.ko \
    kernel/drivers/net/veth.ko kernel/fs/overlayfs/overlay.ko; do
    insmod "$M/$m" || { echo "insmod $m failed" >$out; r=1; }
done
tap $r "insmod llc stp bridge veth overlay"
grep -qw overlay /proc/filesystems
tap $? "overlay in /proc/filesystems"
grep -q '^bridge ' /proc/modules && grep -q '^veth ' /proc/modules
tap $? "bridge and veth in /proc/modules"
grep -qw cgroup2 /proc/filesystems
tap $? "cgroup2 in /proc/filesystems"
t1=$(cut -d' ' -f1 /proc/uptime)
echo "# boot: init at ${t0}s, done at ${t1}s (uptime)" >$out
echo "1..$n" >$out
echo "probe: done (fail=$fail)"
sync
poweroff -f
