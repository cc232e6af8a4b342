#!/bin/sh
# SPDX-License-Identifier: MIT
# The VM test's checks, run inside the `selftest` container (busybox image, privileged) with
#   /dev/ttyS1          where the TAP lines go (OUT)
#   /hostcg             the VM's /sys/fs/cgroup (the cgroup2 root, read-write: cgroup.kill)
#   /run/berth          berthd's socket directory, and /usr/bin/berth the client
#   /t                  /etc/berth of the VM (this script, boot.json)
# ORPHANS=N: that many orphans go to PID 1 (bootstrap.sh leaves them before the selftest starts;
# in manifest mode the selftest shares the VM's pid namespace, --pid host, and makes them itself).
# VM_MODE=manifest (berthd applied boot.json: health checks, requires, modules) or bootstrap
# (tests/vm/bootstrap.sh started the containers with `berth run`: no health checks yet).
# Ends with the plan line 1..N; its exit status is the number of failed checks (capped at 100).
OUT=${OUT:-/dev/ttyS1}
MODE=${VM_MODE:-manifest}
DB_READY_S=${DB_READY_S:-2} # db's command creates /tmp/ready after that many seconds
export PATH=/usr/bin:/usr/sbin:/bin:/sbin
exec 3>>"$OUT"
t0=$(cut -d' ' -f1 /proc/uptime)
n=0
failed=0
tap() { # tap STATUS DESC [DIAG]
    n=$((n + 1))
    if [ "$1" = 0 ]; then
        echo "ok $n - $2" >&3
    else
        echo "not ok $n - $2" >&3
        failed=$((failed + 1))
        [ -z "${3-}" ] || echo "# $3" >&3
    fi
}
skip() { # skip DESC REASON
    n=$((n + 1))
    echo "ok $n - $1 # SKIP $2" >&3
}
diag() { echo "# $*" >&3; }

# the first value of "KEY": in `berth inspect NAME` (indented JSON, one key a line)
field() {
    berth inspect "$1" 2>/dev/null | sed -n "s/^ *\"$2\": \"\{0,1\}\([^\",]*\)\"\{0,1\},\{0,1\}\$/\1/p" |
        head -n 1
}
# RFC 3339 (2026-11-23T02:51:43.123456789Z) -> milliseconds since the epoch
ms() {
    s=$(date -u -D '%Y-%m-%dT%H:%M:%S' -d "${1%%.*}" +%s 2>/dev/null) || return 1
    f=${1#*.}
    f=${f%Z}
    f=$(printf '%.3s' "${f}000")
    echo $((s * 1000 + $(echo "$f" | sed 's/^0*//; s/^$/0/')))
}
# wait_for SECONDS CMD...: CMD succeeds within SECONDS (polled every 0.2 s)
wait_for() {
    end=$(($(cut -d. -f1 /proc/uptime) + $1))
    shift
    while ! "$@"; do
        [ "$(cut -d. -f1 /proc/uptime)" -lt "$end" ] || return 1
        sleep 0.2
    done
}
cgdir() { # the cgroup directory of container NAME in the VM's hierarchy
    id=$(field "$1" Id)
    [ -n "$id" ] && find /hostcg -maxdepth 3 -type d -name "$id" | head -n 1
}

diag "selftest ($MODE) started at ${t0}s of uptime"
# when each container started, in seconds of uptime: the VM's boot epoch is this container's
# StartedAt less the uptime when this script began (the two are a few ms apart)
t0ms=$(echo "$t0" | awk '{ printf "%d", $1 * 1000 }')
sel=$(ms "$(field selftest StartedAt)")
if [ -n "$sel" ]; then
    starts=""
    for c in limits db web selftest; do
        cs=$(ms "$(field "$c" StartedAt)") &&
            starts="$starts $c $(echo "$cs $sel $t0ms" | awk '{ printf "%.2fs", ($1 - $2 + $3) / 1000 }')"
    done
    diag "started at (uptime):$starts"
fi

# 1. the client reaches berthd through the bound socket
info() { berth info 2>/dev/null | sed -n "s/^ *$1: //p"; }
pid1=$(info 'Init (PID 1)')
[ "$pid1" = true ]
tap $? "berth info through the bound socket: berthd is the VM's PID 1" "Init (PID 1): '$pid1'"

# 2. modules (manifest "modules"; bootstrap: busybox insmod before berthd)
grep -q '^overlay ' /proc/modules && grep -q '^bridge ' /proc/modules && grep -q '^veth ' /proc/modules
tap $? "overlay, bridge and veth are loaded" "$(cut -d' ' -f1 /proc/modules | xargs)"

# 3. cgroup2 limits of `limits` (memory 64m, pids_limit 50) in the VM's hierarchy
d=$(cgdir limits)
mem=$(cat "$d/memory.max" 2>/dev/null)
pids=$(cat "$d/pids.max" 2>/dev/null)
[ -n "$d" ] && [ "$mem" = 67108864 ]
tap $? "limits: memory.max is 64m in the VM's cgroup2 (${d#/hostcg})" "memory.max='$mem'"
[ -n "$d" ] && [ "$pids" = 50 ]
tap $? "limits: pids.max is 50" "pids.max='$pids'"
fstype=$(awk '$2 == "/hostcg" { print $3 }' /proc/mounts)
[ "$fstype" = cgroup2 ]
tap $? "the VM runs cgroup2 (unified)" "/hostcg is '$fstype'"

# 4. ordering: web started only after db became healthy (db is ready DB_READY_S after its start)
dbs=$(field db StartedAt)
webs=$(field web StartedAt)
if [ "$MODE" = manifest ]; then
    st=$(berth inspect db 2>/dev/null | sed -n '/"Health"/,/}/s/^ *"Status": "\([a-z]*\)".*/\1/p' | head -n 1)
    [ "$st" = healthy ]
    tap $? "db is healthy" "db Health.Status='$st'"
    a=$(ms "$dbs")
    b=$(ms "$webs")
    [ -n "$a" ] && [ -n "$b" ] && [ $((b - a)) -ge $((DB_READY_S * 1000)) ]
    tap $? "web started $((b - a)) ms after db (db is healthy ${DB_READY_S}s after its start at the earliest)" \
        "db StartedAt $dbs, web StartedAt $webs"
else
    skip "db is healthy" "no health checks in bootstrap mode"
    skip "web started after db became healthy" "no requires in bootstrap mode"
fi

# 5. web on the default bridge (veth + bridge modules at work)
ip=$(field web IPAddress)
[ -n "$ip" ]
tap $? "web has an address on the default bridge ($ip)"

# 5b. devices on cgroup2 (the BPF program): web got /dev/kmsg write-only by "devices"; limits
# makes the same node by hand and the kernel refuses to open it (manifest mode only)
if [ "$MODE" = manifest ]; then
    kout=$(berth exec web sh -c 'echo "<6>berth: web writes to the kernel log" >/dev/kmsg && echo written' 2>&1)
    [ "$kout" = written ]
    tap $? "web writes /dev/kmsg (devices: /dev/kmsg:w)" "$kout"
    kout=$(berth exec limits sh -c 'mknod /dev/k2 c 1 11 && echo x >/dev/k2 && echo written' 2>&1)
    case $kout in *"Operation not permitted"*) r=0 ;; *) r=1 ;; esac
    tap $r "limits cannot open a /dev/kmsg it made itself (cgroup device program)" "$kout"
else
    skip "web writes /dev/kmsg" "no devices in bootstrap mode"
    skip "limits cannot open a /dev/kmsg it made itself" "no devices in bootstrap mode"
fi

# 6. restart policy: the kernel kills every process of `limits` (cgroup.kill, as an OOM kill
# would), restart=always brings it back
rc0=$(field limits RestartCount)
if [ -n "$d" ] && [ -e "$d/cgroup.kill" ]; then
    echo 1 >"$d/cgroup.kill"
    # Status, not Running: Running is true while the restart waits its backoff too (as Docker's)
    restarted() { [ "$(field limits RestartCount)" = $((rc0 + 1)) ] && [ "$(field limits Status)" = running ]; }
    wait_for 20 restarted
    tap $? "limits killed out of band, restarted by its policy (RestartCount $rc0 -> $(field limits RestartCount))" \
        "limits: Status=$(field limits Status) Error='$(field limits Error)' ExitCode=$(field limits ExitCode)"
else
    tap 1 "limits killed out of band, restarted by its policy" "no cgroup.kill under '$d'"
fi

# 7. `berth kill` is a manual stop: restart=always does not bring the container back (Docker too)
rc1=$(field limits RestartCount)
kout=$(berth kill limits 2>&1) || diag "berth kill limits: $kout"
stopped() { [ "$(field limits Running)" = false ]; }
wait_for 10 stopped && sleep 2 && [ "$(field limits Running)" = false ] &&
    [ "$(field limits RestartCount)" = "$rc1" ]
tap $? "berth kill limits: stays stopped (a manual stop), RestartCount still $rc1" \
    "Running=$(field limits Running) RestartCount=$(field limits RestartCount)"

# 8. orphans reaped by PID 1: ORPHANS processes of the VM's pid namespace lost their parent
# (bootstrap.sh made them before; in manifest mode this container shares the VM's pid namespace,
# --pid host, so a subshell that exits at once leaves its sleep to PID 1)
zombies() { # zombies whose parent is PID 1 (field 4 of /proc/PID/stat, after "(comm)")
    cat /proc/[0-9]*/stat 2>/dev/null | awk '{ sub(/^.*\) /, ""); if ($1 == "Z" && $2 == 1) n++ }
        END { print n + 0 }'
}
if [ "${ORPHANS:-0}" -gt 0 ]; then
    want=$ORPHANS
    if [ "$MODE" = manifest ]; then
        want=$(($(info 'Orphans Reaped') + ORPHANS))
        i=0
        while [ "$i" -lt "$ORPHANS" ]; do
            (sleep 0.3 &)
            i=$((i + 1))
        done
    fi
    reaped() { [ "$(info 'Orphans Reaped')" -ge "$want" ] && [ "$(zombies)" = 0 ]; }
    wait_for 20 reaped
    tap $? "$ORPHANS orphans reaped by berthd as PID 1, no zombie left" \
        "Orphans Reaped: $(info 'Orphans Reaped') (want $want), zombies of PID 1: $(zombies)"
else
    tap 1 "orphans reaped by berthd as PID 1" "ORPHANS is not set"
fi

t1=$(cut -d' ' -f1 /proc/uptime)
echo "# boot: selftest started at ${t0}s of uptime, done at ${t1}s" >&3
echo "1..$n" >&3
[ "$failed" -le 100 ] || failed=100
exit "$failed"
