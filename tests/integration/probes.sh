#!/bin/bash
# SPDX-License-Identifier: MIT
# tests/integration/probes.sh - the escape probes of isolation.bats, run once inside a default
# berth container and once inside a default crun container (`crun spec`, busybox rootfs), and
# printed as a markdown table "probe | berth default | crun default" on stdout.
#
# Needs root, a built tree (make), crun and cc. Starts its own berthd (helpers.bash) and cleans
# up after itself. crun 1.8 refuses this machine's hybrid cgroup layout (DESIGN §15): only if
# it fails that way is hugetlb mounted as a v1 hierarchy for the run, and unmounted after.
set -u
BATS_TEST_DIRNAME=$(cd "$(dirname "$0")" && pwd)
. "$BATS_TEST_DIRNAME/helpers.bash"

[ "$(id -u)" = 0 ] || { echo "probes.sh: needs root" >&2; exit 1; }
command -v crun >/dev/null || { echo "probes.sh: crun not installed" >&2; exit 1; }

# The probes, as one `sh -c` script (not a file: a script file would be an extra fd of pid 1).
# $1: MAJ:MIN of the host's root disk, $2: MAJ:MIN of a block device host root can open.
# Each line: "name|result". "blocked: MSG" is what we want; anything else is printed as seen.
read -r -d '' INSIDE <<'EOS'
( ls /proc/1/fd >/dev/shm/fds 2>&1 )
r() {
    n=$1; shift
    if out=$("$@" 2>&1); then echo "$n|**ALLOWED**"; else echo "$n|blocked: $(echo "$out" | tail -n 1 | sed 's/^[a-z0-9]*: //')"; fi
}
sys() {
    set -- $(/probe "$1")
    case $2 in EPERM) echo "$1 syscall|blocked: EPERM" ;; *) echo "$1 syscall|**reached the kernel ($2)**" ;; esac
}
masked() {
    if [ ! -e "$1" ]; then echo "read $1|n/a (absent on this kernel)"; return; fi
    if [ -d "$1" ]; then n=$(ls -A "$1" 2>/dev/null | wc -l); else n=$(cat "$1" 2>/dev/null | wc -c); fi
    if [ "$n" -eq 0 ]; then echo "read $1|masked (empty)"; else echo "read $1|**visible ($n)**"; fi
}
mkdir -p /dev/shm/m
r "mount tmpfs" sh -c 'mount -t tmpfs none /dev/shm/m && umount /dev/shm/m'
r "unshare -m" unshare -m true
r "unshare -n" unshare -n true
r "unshare -U" unshare -U true
r "insmod (init_module)" sh -c 'echo junk >/dev/shm/x.ko; insmod /dev/shm/x.ko'
sys init_module
sys kexec_load
sys reboot
sys ptrace
r "write /proc/sys/kernel/hostname" sh -c 'echo probe >/proc/sys/kernel/hostname'
if [ -e /proc/sysrq-trigger ]; then r "write /proc/sysrq-trigger" sh -c 'echo h >/proc/sysrq-trigger'
else echo "write /proc/sysrq-trigger|n/a (absent on this kernel)"; fi
r "write /sys (ro)" sh -c 'echo 1 >/sys/kernel/mm/ksm/run'
r "write own cgroup pids.max" sh -c 'echo max >/sys/fs/cgroup/pids/pids.max'
for f in /proc/kcore /proc/keys /proc/timer_list /proc/sched_debug /proc/acpi /sys/firmware; do masked $f; done
r "open host root disk ($1, mknod)" sh -c "mknod /dev/probe-root b ${1%:*} ${1#*:} && dd if=/dev/probe-root of=/dev/null count=1"
r "open host block dev $2 (mknod)" sh -c "mknod /dev/probe-blk b ${2%:*} ${2#*:} && dd if=/dev/probe-blk of=/dev/null count=1"
echo "processes visible|$(ls -d /proc/[0-9]* | wc -l)"
echo "interfaces|$(ls /sys/class/net | tr '\n' ' ')"
echo "CapBnd|$(sed -n 's/^CapBnd:[[:space:]]*//p' /proc/self/status)"
echo "NoNewPrivs|$(sed -n 's/^NoNewPrivs:[[:space:]]*//p' /proc/self/status)"
echo "Seccomp mode|$(sed -n 's/^Seccomp:[[:space:]]*//p' /proc/self/status)"
if su -s /bin/sh berth -c true 2>/dev/null; then
    echo "setuid-root binary run by uid 1000|$(su -s /bin/sh berth -c "/suprobe caps" | tr '\n' ' ')"
else
    echo "setuid-root binary run by uid 1000|n/a (cannot switch to uid 1000: no CAP_SETUID)"
fi
echo "fds of pid 1|$(tr '\n' ' ' </dev/shm/fds)"
r "umount /proc" umount /proc
EOS

# Host devices for the block device probes
root_dev=$(awk '$5 == "/" { print $3; exit }' /proc/self/mountinfo)
open_dev=
for d in /sys/block/*; do
    n=${d##*/}
    [ -b "/dev/$n" ] && [ "$(cat "$d/dev")" != "$root_dev" ] || continue
    if dd if="/dev/$n" of=/dev/null count=1 2>/dev/null; then open_dev=$(cat "$d/dev"); break; fi
done
[ -n "$open_dev" ] || open_dev=$root_dev

WORK=$(mktemp -d /tmp/bthprobes.XXXXXX)
HUGETLB_MOUNTED=
CRUN_ID=probes-$$
cleanup() {
    crun --root "$WORK/crun" delete -f "$CRUN_ID" >/dev/null 2>&1
    if [ -n "$HUGETLB_MOUNTED" ]; then umount /sys/fs/cgroup/hugetlb && rmdir /sys/fs/cgroup/hugetlb 2>/dev/null; fi
    [ -n "${TESTDIR:-}" ] && sv_stop
    rm -rf "$WORK"
}
trap cleanup EXIT

# ---- berth
sv_start >/dev/null || { echo "probes.sh: berthd did not start" >&2; exit 1; }
PROBE=$(probe_bin "$WORK") || { echo "probes.sh: cannot build the probe (cc -static)" >&2; exit 1; }
install_probe "$PROBE" "$ROOT/images/busybox/rootfs"
b run --name probes busybox sh -c "$INSIDE" sh "$root_dev" "$open_dev" >"$WORK/berth.out" 2>&1

# ---- crun: its own default spec, args and rootfs path changed; the rootfs stays read-only
mkdir -p "$WORK/rootfs" "$WORK/bundle" "$WORK/crun"
cp -a "$IMAGE_SRC/rootfs/." "$WORK/rootfs/"
install_probe "$PROBE" "$WORK/rootfs"
(cd "$WORK/bundle" && crun spec)
jq --arg root "$WORK/rootfs" --arg s "$INSIDE" --arg a "$root_dev" --arg o "$open_dev" \
    '.process.args = ["sh", "-c", $s, "sh", $a, $o] | .process.terminal = false | .root.path = $root' \
    "$WORK/bundle/config.json" >"$WORK/bundle/c.json" && mv "$WORK/bundle/c.json" "$WORK/bundle/config.json"
crun_run() { crun --root "$WORK/crun" run --bundle "$WORK/bundle" "$CRUN_ID" >"$WORK/crun.out" 2>&1 </dev/null; }
crun_run
if grep -qi 'hybrid\|hugetlb' "$WORK/crun.out" && ! mountpoint -q /sys/fs/cgroup/hugetlb; then
    echo "probes.sh: crun refused the hybrid layout; mounting hugetlb v1 for the run" >&2
    mkdir -p /sys/fs/cgroup/hugetlb 2>/dev/null || mount -o remount,rw /sys/fs/cgroup 2>/dev/null
    mkdir -p /sys/fs/cgroup/hugetlb && mount -t cgroup -o hugetlb cgroup /sys/fs/cgroup/hugetlb && HUGETLB_MOUNTED=1
    crun --root "$WORK/crun" delete -f "$CRUN_ID" >/dev/null 2>&1
    crun_run
fi

# ---- the table: probes in the order berth printed them
echo "| probe | berth default | crun default |"
echo "|---|---|---|"
while IFS='|' read -r name res; do
    [ -n "$name" ] || continue
    other=$(awk -F'|' -v n="$name" '$1 == n { sub(/^[^|]*\|/, ""); print; exit }' "$WORK/crun.out")
    echo "| $name | $res | ${other:-(no answer)} |"
done < <(grep '|' "$WORK/berth.out")
# lines crun printed that berth did not (e.g. "reboot syscall" vs "reboot")
while IFS='|' read -r name res; do
    grep -q "^$name|" "$WORK/berth.out" || echo "| $name | (see above) | $res |"
done < <(grep '|' "$WORK/crun.out")
