#!/bin/sh
# SPDX-License-Identifier: MIT
# /init of the bootstrap initramfs (INIT=bootstrap): berthd as PID 1 before berthd applies the
# boot manifest itself. Loads the modules (busybox insmod), copies the initramfs onto a tmpfs,
# starts tests/vm/bootstrap.sh there in the background (it waits for berthd's socket and starts
# the containers of boot.json with `berth run`), then switch_root execs /sbin/berthd as PID 1
# on the tmpfs root.
export PATH=/sbin:/bin:/usr/sbin:/usr/bin
mount -t proc proc /proc && echo "bootstrap-init: /init at $(cut -d' ' -f1 /proc/uptime)s of uptime" &&
    umount /proc
M=/lib/modules/$(uname -r)
for m in kernel/net/llc/llc.ko kernel/net/802/stp.ko kernel/net/bridge/bridge.ko \
    kernel/drivers/net/veth.ko kernel/fs/overlayfs/overlay.ko; do
    insmod "$M/$m" || echo "bootstrap-init: insmod $m failed"
done
mkdir -p /newroot
mount -t tmpfs -o mode=755 tmpfs /newroot
for x in /*; do
    [ "$x" = /newroot ] || cp -a "$x" /newroot/
done
# its root is the tmpfs mount, which switch_root moves onto /: it sees what berthd sees
chroot /newroot /bin/sh /etc/berth/bootstrap.sh </dev/null >/dev/console 2>&1 &
exec switch_root /newroot /sbin/berthd
