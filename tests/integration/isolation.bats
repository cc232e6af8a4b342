#!/usr/bin/env bats
# isolation.bats - escape probes run from inside a DEFAULT container (DESIGN §11). Each probe
# must fail there, and each has a control showing that the very same probe succeeds (or at
# least gets past the permission check) with the privilege, so that no probe passes by
# accident (a missing tool, a missing file, a typo). tests/integration/probes.sh runs the same
# list against berth and crun defaults side by side.
#
# /probe is a small static helper (helpers.bash probe_bin) for syscalls busybox cannot make:
# ptrace, reboot with a bad magic (never reboots), init_module, kexec_load; /suprobe is a
# setuid-root copy. Both are put in each test's private copy of the busybox image.

load helpers
bats_require_minimum_version 1.5.0

setup_file() {
    probe_bin "$BATS_FILE_TMPDIR" >/dev/null
}

setup() {
    require_root
    sv_start
    install_probe "$BATS_FILE_TMPDIR/probe" "$ROOT/images/busybox/rootfs"
}
teardown() { sv_stop; }

# ---- capabilities ----------------------------------------------------------------------

@test "default: all four cap sets are the 14 of §11; --privileged has berthd's" {
    run b run busybox grep -E '^Cap(Inh|Prm|Eff|Bnd|Amb):' /proc/self/status
    [ "$status" -eq 0 ]
    for set in Inh Prm Eff Bnd; do
        echo "$output" | grep -qx "Cap$set:[[:space:]]*00000000a80425fb"
    done
    echo "$output" | grep -qx 'CapAmb:[[:space:]]*0000000000000000'
    # control: the probe does see more when there is more
    local host
    host=$(sed -n 's/^CapBnd:[[:space:]]*//p' /proc/$SV_PID/status)
    run b run --privileged busybox grep '^CapEff:' /proc/self/status
    [ "$output" = "CapEff:	$host" ]
}

@test "setuid-root binary cannot regain caps: no_new_privs; control no-new-privileges=false" {
    run b run -u berth busybox sh -c '/suprobe caps; grep NoNewPrivs /proc/self/status'
    [ "$status" -eq 0 ]
    [ "${lines[0]}" = "euid 1000" ]
    [ "${lines[1]}" = "CapEff:	0000000000000000" ]
    [ "${lines[2]}" = "NoNewPrivs:	1" ]
    run b run -u berth --security-opt no-new-privileges=false busybox sh -c '/suprobe caps; grep NoNewPrivs /proc/self/status'
    [ "$status" -eq 0 ]
    [ "${lines[0]}" = "euid 0" ]
    [ "${lines[1]}" = "CapEff:	00000000a80425fb" ]
    [ "${lines[2]}" = "NoNewPrivs:	0" ]
}

@test "non-root user: empty effective set; --cap-add gives exactly the added caps, ambient too" {
    run b run -u berth busybox grep -E '^Cap(Prm|Eff|Amb):' /proc/self/status
    [ "$(echo "$output" | grep -c ':[[:space:]]*0000000000000000$')" -eq 3 ]
    run b run -u berth --cap-add net_admin busybox grep -E '^Cap(Prm|Eff|Amb):' /proc/self/status
    [ "$(echo "$output" | grep -c ':[[:space:]]*0000000000001000$')" -eq 3 ]
}

# ---- mounts and namespaces ---------------------------------------------------------------

@test "mount a tmpfs: refused; control: CAP_SYS_ADMIN + seccomp=unconfined mounts it" {
    run b run busybox sh -c 'mount -t tmpfs none /tmp'
    [ "$status" -ne 0 ]
    [[ "$output" == *"permission denied"* ]]
    run b run --cap-add SYS_ADMIN --security-opt seccomp=unconfined busybox \
        sh -c 'mount -t tmpfs none /tmp && grep " /tmp tmpfs " /proc/mounts'
    [ "$status" -eq 0 ]
    [[ "$output" == "none /tmp tmpfs "* ]]
}

@test "umount /proc: refused; control: --privileged unmounts it" {
    run b run busybox sh -c 'umount /proc'
    [ "$status" -ne 0 ]
    [[ "$output" == *"Operation not permitted"* ]]
    run b run --privileged busybox sh -c 'umount /proc && ! test -e /proc/self/status'
    [ "$status" -eq 0 ]
}

@test "unshare -m / -n / -U: refused (EPERM); control: --privileged" {
    for flag in -m -n -U; do
        run b run busybox unshare $flag true
        [ "$status" -ne 0 ]
        [[ "$output" == *"Operation not permitted"* ]]
        run b run --privileged busybox unshare $flag true
        [ "$status" -eq 0 ]
    done
}

# ---- kernel-wide syscalls ----------------------------------------------------------------

@test "module loading and kexec: EPERM; control: --privileged reaches the kernel" {
    run b run busybox sh -c 'echo junk >/tmp/x.ko; insmod /tmp/x.ko'
    [ "$status" -ne 0 ]
    [[ "$output" == *"Operation not permitted"* ]]
    run b run busybox /probe init_module kexec_load
    [ "$output" = "$(printf 'init_module EPERM\nkexec_load EPERM')" ]
    # control: a different error (this kernel has no module support: ENOSYS; with it: ENOEXEC)
    run b run --privileged busybox sh -c 'echo junk >/tmp/x.ko; insmod /tmp/x.ko'
    [ "$status" -ne 0 ]
    [[ "$output" != *"Operation not permitted"* ]]
    run b run --privileged busybox /probe init_module kexec_load
    [ "${#lines[@]}" -eq 2 ]
    [[ "$output" != *EPERM* ]]
}

@test "reboot: EPERM; control: the bad-magic reboot gets past the checks with --privileged" {
    # The control never reboots anything: reboot(2) with a wrong magic answers EINVAL once
    # CAP_SYS_BOOT and seccomp let it through, before doing anything. `reboot -f` itself has
    # no safe control, so it runs only inside a pid namespace and only after the bad-magic
    # call was refused in the same container.
    run b run busybox sh -c '/probe reboot; [ $$ -eq 1 ] && /probe reboot | grep -qx "reboot EPERM" && reboot -f'
    [ "$status" -ne 0 ]
    [ "${lines[0]}" = "reboot EPERM" ]
    [[ "$output" == *"reboot: "*"Operation not permitted"* ]]
    run b run --privileged busybox /probe reboot
    [ "$output" = "reboot EINVAL" ]
}

@test "ptrace another process: EPERM; control: --cap-add SYS_PTRACE attaches" {
    run b run busybox /probe ptrace
    [ "$output" = "ptrace EPERM" ]
    run b run --cap-add SYS_PTRACE busybox /probe ptrace
    [ "$output" = "ptrace OK" ]
}

# ---- /proc and /sys ----------------------------------------------------------------------

@test "write /proc/sys/kernel/hostname: read-only; control: --privileged writes its own uts" {
    local before
    before=$(cat /proc/sys/kernel/hostname)
    run b run busybox sh -c 'echo probed >/proc/sys/kernel/hostname'
    [ "$status" -ne 0 ]
    [[ "$output" == *"Read-only file system"* ]]
    run b run --privileged busybox sh -c 'echo probed >/proc/sys/kernel/hostname && hostname'
    [ "$status" -eq 0 ]
    [ "$output" = probed ]
    [ "$(cat /proc/sys/kernel/hostname)" = "$before" ]
}

@test "write /proc/sysrq-trigger: read-only" {
    [ -e /proc/sysrq-trigger ] || skip "no /proc/sysrq-trigger on this kernel (no CONFIG_MAGIC_SYSRQ)"
    # no control: a writable sysrq-trigger is the host's
    run b run busybox sh -c 'echo h >/proc/sysrq-trigger'
    [ "$status" -ne 0 ]
    [[ "$output" == *"Read-only file system"* ]]
}

@test "/sys and the container's cgroup are read-only" {
    # no control: a writable /sys would be the host's sysfs
    run b run busybox sh -c 'echo max >/sys/fs/cgroup/pids/pids.max'
    [ "$status" -ne 0 ]
    [[ "$output" == *"Read-only file system"* ]]
    run b run busybox sh -c 'echo 1 >/sys/kernel/mm/ksm/run'
    [[ "$output" == *"Read-only file system"* ]]
}

@test "masked paths that exist here read empty; control: --privileged sees their content" {
    local p n=0
    for p in /proc/kcore /proc/keys /proc/timer_list /proc/sched_debug /proc/acpi /proc/scsi /sys/firmware; do
        [ -e "$p" ] || continue
        if [ -d "$p" ]; then
            [ -n "$(ls -A "$p")" ] || continue        # an empty dir on the host proves nothing
            run b run busybox ls -A "$p"
            [ "$status" -eq 0 ]
            [ -z "$output" ]
            run b run --privileged busybox ls -A "$p"
            [ -n "$output" ]
        else
            [ "$(head -c 4096 "$p" | wc -c)" -gt 0 ] || continue
            run b run busybox sh -c "head -c 4096 $p | wc -c"
            [ "$output" = 0 ]
            run b run --privileged busybox sh -c "head -c 4096 $p | wc -c"
            [ "$output" -gt 0 ]
        fi
        n=$((n + 1))
    done
    [ "$n" -ge 2 ]      # /proc/keys, /proc/timer_list and /sys/firmware on this machine
}

# ---- devices -----------------------------------------------------------------------------

# host_root_dev: MAJ:MIN of the host's /; host_open_dev: another block device host root can
# actually open (empty if none)
host_root_dev() { awk '$5 == "/" { print $3; exit }' /proc/self/mountinfo; }
host_open_dev() {
    local d
    for d in /sys/block/*; do
        [ -b "/dev/${d##*/}" ] && [ "$(cat "$d/dev")" != "$(host_root_dev)" ] || continue
        if dd if="/dev/${d##*/}" of=/dev/null count=1 2>/dev/null; then
            cat "$d/dev"
            return
        fi
    done
}

@test "open a mknod'd host block device: the root disk" {
    local dev
    dev=$(host_root_dev)
    run b run busybox sh -c "mknod /dev/probe b ${dev%:*} ${dev#*:} && dd if=/dev/probe of=/dev/null count=1"
    [ "$status" -ne 0 ]
    [[ "$output" == *"can't open '/dev/probe'"* ]]
    # no control on this machine: host root itself gets EPERM opening its own root disk
    # (the VM's sandbox), so this alone would pass by accident; see the next test.
}

@test "open a mknod'd host block device that host root can open" {
    local dev
    dev=$(host_open_dev)
    [ -n "$dev" ] || skip "no block device host root can open"
    # control: --privileged opens it
    run b run --privileged busybox sh -c "mknod /dev/probe b ${dev%:*} ${dev#*:} && dd if=/dev/probe of=/dev/null count=1"
    [ "$status" -eq 0 ]
    # the devices cgroup (v1) allows mknod but not opening anything outside Docker's list
    run b run busybox sh -c "mknod /dev/probe b ${dev%:*} ${dev#*:} && dd if=/dev/probe of=/dev/null count=1"
    [ "$status" -ne 0 ]
    [[ "$output" == *"can't open '/dev/probe'"* ]]
}

# ---- processes, interfaces, fds ----------------------------------------------------------

@test "ps shows only the container's processes; control: the host sees berthd" {
    run b run busybox sh -c 'ps -o pid,comm; true'
    [ "$status" -eq 0 ]
    [ "${#lines[@]}" -le 3 ]                      # header, sh (pid 1), ps
    [[ "${lines[1]}" =~ ^[[:space:]]*1[[:space:]]+sh$ ]]
    [[ "$output" != *berthd* ]]
    grep -qx berthd /proc/$SV_PID/comm
    [ "$(ls -d /proc/[0-9]* | wc -l)" -gt 10 ]
}

@test "--group-add: by name and gid, on top of the user's groups, in exec too; unknown is refused" {
    run b run --rm -u nobody --group-add 4242 --group-add daemon busybox id -G
    [ "$status" -eq 0 ]
    [ "$output" = "65534 1 4242" ] # the kernel keeps them sorted
    b run -d --name ga --group-add 4242 busybox sleep 1000 >/dev/null
    [ "$(b exec ga id -G)" = "0 4242" ]
    [ "$(b inspect ga | jq -c '.[0].HostConfig.GroupAdd')" = '["4242"]' ]
    b rm -f ga >/dev/null
    run b run --rm --group-add nosuch busybox true
    [ "$status" -eq 125 ]
    [[ "$output" == *"unable to find group nosuch: no matching entries in group file"* ]]
    run b run --rm --group-add "a:b" busybox true
    [ "$status" -eq 125 ]
    [[ "$output" == *'invalid --group-add "a:b"'* ]]
}

# ---- --device ------------------------------------------------------------------------------

# a block device of the host that the default device list does not allow (an unbound loop
# device: opening it does nothing)
loopdev() {
    local l
    for l in /dev/loop[0-9]*; do
        [ -b "$l" ] && { echo "$l"; return 0; }
    done
    return 1
}

@test "--device: the host's node in /dev with the given access; control: mknod of it cannot be opened" {
    L=$(loopdev) || skip "no loop device on this host"
    # one stream (2>&1): stdout and stderr are two pipes, their relative order is not kept
    run b run --rm --device "$L:/dev/disk/xvda:r" busybox sh -c \
        'exec 2>&1; stat -c "%F %t:%T" /dev/disk/xvda; exec 3</dev/disk/xvda && echo read-ok; exec 4<>/dev/disk/xvda && echo write-ok'
    [ "$status" -ne 0 ]
    [ "${lines[0]}" = "$(stat -c '%F %t:%T' "$L")" ]
    [ "${lines[1]}" = read-ok ]
    [[ "$output" == *"Operation not permitted"* ]]
    [[ "$output" != *write-ok* ]]
    run b run --rm --device "$L" busybox sh -c "exec 4<>$L && echo write-ok"
    [ "$output" = write-ok ]
    # control: the same node made by hand is refused by the cgroup
    run b run --rm busybox sh -c "exec 2>&1; mknod /dev/xx b $(stat -c '%Hr %Lr' "$L") && exec 3</dev/xx && echo opened"
    [ "$status" -ne 0 ]
    [[ "$output" == *"Operation not permitted"* ]]
    [[ "$output" != *opened* ]]
    # over a standard node: /dev/null becomes the loop device
    run b run --rm --device "$L:/dev/null:r" busybox stat -c %F /dev/null
    [ "$output" = "block special file" ]
}

@test "--device: inspect, the snapshot, and bad values refused with Docker's messages" {
    L=$(loopdev) || skip "no loop device on this host"
    b create --name dv --device "$L" --device "$L:/dev/sdq:rw" busybox true >/dev/null
    want="[{\"PathOnHost\":\"$L\",\"PathInContainer\":\"$L\",\"CgroupPermissions\":\"rwm\"},{\"PathOnHost\":\"$L\",\"PathInContainer\":\"/dev/sdq\",\"CgroupPermissions\":\"rw\"}]"
    [ "$(b inspect dv | jq -c '.[0].HostConfig.Devices')" = "$want" ]
    sv_term
    sv_launch
    [ "$(b inspect dv | jq -c '.[0].HostConfig.Devices')" = "$want" ]
    run b run --rm --device /dev/nonexistent busybox true
    [ "$status" -eq 125 ]
    [[ "$output" == *'error gathering device information while adding custom device "/dev/nonexistent": no such file or directory'* ]]
    run b run --rm --device /etc/passwd:/dev/passwd busybox true
    [ "$status" -eq 125 ]
    [[ "$output" == *'"/etc/passwd": not a device node'* ]]
    run b run --rm --device "$L:/tmp/x" busybox true
    [[ "$output" == *"the container path must be a clean path under /dev"* ]]
    run b run --rm --device "$L:rx" busybox true
    [[ "$output" == *'bad permissions "rx"'* ]]
    run b run --rm --device "$L:/dev/a" --device /dev/null:/dev/a busybox true
    [ "$status" -eq 125 ]
    [[ "$output" == *"--device: /dev/a is given twice"* ]]
    [ "$(b ps -a -q | wc -l)" -eq 1 ]
    b rm dv
}

@test "--pid host: the host's processes, orphans go to berthd, PidMode host; a bad --pid is refused" {
    run b run --rm --pid host busybox sh -c 'echo $$; ps -o pid,comm'
    [ "$status" -eq 0 ]
    [ "${lines[0]}" -gt 1 ]
    [[ "$output" == *berthd* ]]
    local before after
    before=$(b info --format json | jq .OrphansReaped)
    b run --name ph --pid host busybox sh -c 'for i in 1 2 3 4 5; do (sleep 0.1 &); done'
    [ "$(b inspect ph | jq -r '.[0].HostConfig.PidMode')" = host ]
    eventually bash -c "[ \$($BERTH --socket $SOCK info --format json | jq .OrphansReaped) -ge $((before + 5)) ]"
    run b run --rm --pid container:ph busybox true
    [ "$status" -eq 125 ]
    [[ "$output" == *'invalid --pid "container:ph": only "host" is supported'* ]]
    run b run --rm busybox sh -c 'echo $$'
    [ "$output" = 1 ]
}

@test "--pid host: the main process's end kills the rest of the container (its cgroup)" {
    b run -d --name ph --pid host busybox sh -c 'sleep 1000 & echo $! >/bg; exec sleep 1000'
    eventually b exec ph test -s /bg
    bg=$(b exec ph cat /bg)
    [ "$(cat /proc/$bg/comm)" = sleep ]
    run b exec ph sh -c 'echo $$'
    [ "$output" -gt 1 ]
    b stop -t 1 ph
    eventually bash -c "! kill -0 $bg 2>/dev/null"
    b rm ph
}

@test "--network none shows only lo; control: the host has more interfaces" {
    run b run --network none busybox ls /sys/class/net
    [ "$status" -eq 0 ]
    [ "$output" = lo ]
    [ "$(ls /sys/class/net | wc -l)" -gt 1 ]
}

@test "no leaked fds: pid 1 has only 0 1 2; control: an fd opened inside is seen" {
    run b run busybox sh -c 'ls /proc/1/fd; true'
    [ "$status" -eq 0 ]
    [ "$(echo $output)" = "0 1 2" ]
    run b run -d --name d busybox sleep 100
    local pid
    pid=$(b inspect d | jq -r '.[0].State.Pid')
    [ "$(ls /proc/$pid/fd | sort -n | tr '\n' ' ')" = "0 1 2 " ]
    b stop -t 0 d
    run b run busybox sh -c 'exec 7</etc/passwd; ls /proc/1/fd; true'
    [ "$(echo $output)" = "0 1 2 7" ]
}
