#!/bin/sh
# SPDX-License-Identifier: MIT
# tests/vm/run.sh VMLINUZ INITRD [OUTDIR] - boot the VM test under TCG and judge it.
# The console (ttyS0) goes to OUTDIR/console.log, the second serial port (ttyS1, where the
# selftest writes TAP lines) to OUTDIR/result.log. Passes only when qemu ended by itself within
# VM_TIMEOUT seconds (90), result.log has a plan (1..N) and N ok lines and no "not ok", the
# console shows no "Kernel panic" (qemu exits 0 on one too, with panic=-1 and -no-reboot) and,
# when EXPECT_EXIT is set (the berthd appliance: "berth: selftest exited with 0"), the console
# has that line. Prints TAP and "vm: N passed, N failed, N skipped" (a guest's "ok ... # SKIP"
# line is skipped, not passed); records the passed and failed counts in COUNTS_FILE.
set -u
VMLINUZ=${1:?usage: run.sh VMLINUZ INITRD [OUTDIR]}
INITRD=${2:?usage: run.sh VMLINUZ INITRD [OUTDIR]}
OUT=${3:-$(dirname "$INITRD")}
TIMEOUT=${VM_TIMEOUT:-90}
APPEND=${VM_APPEND:-console=ttyS0 panic=-1 loglevel=4}
EXPECT_EXIT=${EXPECT_EXIT-}
mkdir -p "$OUT"
console=$OUT/console.log
result=$OUT/result.log
rm -f "$console" "$result"

command -v qemu-system-x86_64 >/dev/null || {
    echo "not ok 1 - qemu-system-x86_64 is missing (make deps installs qemu-system-x86)"
    echo "vm: 0 passed, 1 failed"
    [ -n "${COUNTS_FILE-}" ] && echo "0 1" >>"$COUNTS_FILE"
    exit 1
}

start=$(date +%s.%N)
qemu-system-x86_64 -accel tcg -M pc -m 512 -no-reboot -nic none -display none \
    -serial stdio -serial "file:$result" -kernel "$VMLINUZ" -initrd "$INITRD" \
    -append "$APPEND" </dev/null >"$console" 2>&1 &
qpid=$!
timed_out=0
deadline=$(($(date +%s) + TIMEOUT))
while kill -0 "$qpid" 2>/dev/null; do
    if [ "$(date +%s)" -ge "$deadline" ]; then
        timed_out=1
        kill "$qpid" 2>/dev/null
        sleep 1
        kill -9 "$qpid" 2>/dev/null
        break
    fi
    sleep 0.2
done
wait "$qpid" 2>/dev/null
qrc=$?
end=$(date +%s.%N)
wall=$(echo "$start $end" | awk '{printf "%.1f", $2 - $1}')
touch "$result"

passed=0
failed=0
skipped=0
n=0
check() { # check OK DESC
    n=$((n + 1))
    if [ "$1" = 0 ] && [ "${2%# SKIP*}" != "$2" ]; then
        echo "ok $n - $2"
        skipped=$((skipped + 1))
    elif [ "$1" = 0 ]; then
        echo "ok $n - $2"
        passed=$((passed + 1))
    else
        echo "not ok $n - $2"
        failed=$((failed + 1))
    fi
}
# the guest's own lines, renumbered
guest_ok=0
guest_fail=0
while IFS= read -r line; do
    line=$(printf '%s' "$line" | tr -d '\r')
    case $line in
    "ok "*)
        guest_ok=$((guest_ok + 1))
        check 0 "vm: ${line#ok * - }"
        ;;
    "not ok "*)
        guest_fail=$((guest_fail + 1))
        check 1 "vm: ${line#not ok * - }"
        ;;
    "#"*) echo "$line" ;;
    esac
done <"$result"
plan=$(tr -d '\r' <"$result" | sed -n 's/^1\.\.\([0-9][0-9]*\)$/\1/p' | tail -n 1)

[ "$timed_out" = 0 ]
check $? "qemu ended by itself within ${TIMEOUT}s (took ${wall}s, exit $qrc)"
! grep -q "Kernel panic" "$console"
check $? "no kernel panic on the console"
[ -n "$plan" ] && [ "$plan" -gt 0 ] && [ "$plan" -eq $((guest_ok + guest_fail)) ]
check $? "result.log has its plan (1..${plan:-?}) and $((guest_ok + guest_fail)) result lines"
if [ -n "$EXPECT_EXIT" ]; then
    tr -d '\r' <"$console" | grep -qF "$EXPECT_EXIT"
    check $? "console says \"$EXPECT_EXIT\""
fi
boot=$(tr -d '\r' <"$result" | sed -n 's/^# boot: //p' | tail -n 1)
tr -d '\r' <"$console" | grep -E 'at [0-9.]+s of uptime' | sed 's/^/# /'
echo "# boot time (guest uptime): ${boot:-not reported}; wall time of the run ${wall}s (TCG)"
if [ "$failed" -gt 0 ]; then
    echo "# console (last 40 lines of $console):"
    tr -d '\r' <"$console" | tail -n 40 | sed 's/^/#   /'
fi
echo "vm: $passed passed, $failed failed, $skipped skipped"
[ -n "${COUNTS_FILE-}" ] && echo "$passed $failed" >>"$COUNTS_FILE"
[ "$failed" -eq 0 ]
