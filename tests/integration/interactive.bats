#!/usr/bin/env bats
# interactive.bats - exec, attach, -i/-t, detach keys and signal proxying (DESIGN §8, §9, §16;
# issue 6). Terminals are driven through tmux: each test that needs one gets a private tmux
# server (socket in the test's directory) whose panes run the client directly, so a pane's
# exit status is the client's; teardown kills the server and checks that no process of it is
# left. Background clients are started with bg_client and reaped with reap.

load helpers
bats_require_minimum_version 1.5.0

setup() {
    require_root
    sv_start
    BG_PIDS=
    TM_SERVER=
    TM_PANES=
}

teardown() {
    local rc=0
    tm_kill || rc=1
    bg_kill
    # a sleeping PID 1 ignores SIGTERM: remove the containers now rather than wait out every
    # stop timeout in sv_stop (which then checks that nothing is left behind)
    if [ -n "${SV_PID:-}" ]; then
        b ps -a -q 2>/dev/null | xargs -r "$BERTH" --socket "$SOCK" rm -f >/dev/null 2>&1 || true
    fi
    sv_stop || rc=1
    return $rc
}

# ---- terminal harness -------------------------------------------------------------------

# tm ARGS...: tmux on this test's private server
tm() {
    env -u TMUX tmux -S "$TESTDIR/tmux.sock" "$@"
}

# tm_start SESSION CMD...: run CMD (argv, quoted here) as the only process of a new 80x24
# session (the first one starts the server). The pane stays after CMD exits so its screen and
# exit status can be read; no status line, so the pane is the whole window.
tm_start() {
    local s=$1
    shift
    if [ -z "${TM_SERVER:-}" ]; then
        printf '%s\n' 'set -g remain-on-exit on' 'set -g status off' \
            'set -g default-shell /bin/bash' 'set -g history-limit 5000' >"$TESTDIR/tmux.conf"
        tm -f "$TESTDIR/tmux.conf" new-session -d -x 80 -y 24 -s "$s" "exec $(printf '%q ' "$@")" 3>&-
        TM_SERVER=$(tm display -p '#{pid}')
    else
        tm new-session -d -x 80 -y 24 -s "$s" "exec $(printf '%q ' "$@")" 3>&-
    fi
    TM_PANES="${TM_PANES:-} $(tm display -p -t "$s" '#{pane_pid}')"
}

# tm_b SESSION ARGS...: the berth client on this test's socket in a new session
tm_b() {
    local s=$1
    shift
    tm_start "$s" "$BERTH" --socket "$SOCK" "$@"
}

# tm_type SESSION TEXT: type TEXT literally, then Enter
tm_type() {
    tm send-keys -t "$1" -l "$2"
    tm send-keys -t "$1" Enter
}

# tm_keys SESSION KEY...: tmux key names (C-c, C-p, Enter...)
tm_keys() {
    local s=$1
    shift
    tm send-keys -t "$s" "$@"
}

# tm_screen SESSION: the visible screen, one line per row (trailing blanks trimmed by tmux)
tm_screen() {
    tm capture-pane -p -t "$1"
}

# tm_line SESSION TEXT: a row of the screen is exactly TEXT
tm_line() {
    tm_screen "$1" | grep -qxF -- "$2"
}

# tm_match SESSION ERE: a row of the screen matches ERE
tm_match() {
    tm_screen "$1" | grep -qE -- "$2"
}

# tm_dead SESSION: the pane's process has exited and tmux has its status. tmux 3.3a now and
# then misses the SIGCHLD of a pane's process (pane_dead, from the pty's EOF, but no status
# and an unreaped zombie): a run-shell child's SIGCHLD makes it reap again.
tm_dead() {
    case $(tm display -p -t "$1" '#{pane_dead}:#{pane_dead_status}:#{pane_dead_signal}') in
    1::)
        tm run-shell true
        return 1
        ;;
    1:*) return 0 ;;
    *) return 1 ;;
    esac
}

# tm_status SESSION: waits (10 s) for the pane's process to exit; prints its exit code, or
# "signal N" when a signal killed it
tm_status() {
    eventually tm_dead "$1" || return 1
    local sig
    sig=$(tm display -p -t "$1" '#{pane_dead_signal}')
    if [ -n "$sig" ] && [ "$sig" != 0 ]; then
        echo "signal $sig"
    else
        tm display -p -t "$1" '#{pane_dead_status}'
    fi
}

# tm_exit_is SESSION CODE: the pane's process exits (10 s) with CODE; else shows what it did
tm_exit_is() {
    local got
    got=$(tm_status "$1") || got="still running"
    [ "$got" = "$2" ] && return 0
    echo "session $1: exit '$got', expected '$2'" \
        "($(tm display -p -t "$1" '#{pane_pid} dead=#{pane_dead} status=#{pane_dead_status} signal=#{pane_dead_signal}')); its screen:" >&2
    tm_screen "$1" | sed '/^$/d' >&2
    return 1
}

# exited PID: PID has exited (a zombie until its parent waits for it)
exited() {
    [ ! -e "/proc/$1/stat" ] || [ "$(sed 's/.*) //' "/proc/$1/stat" | cut -d' ' -f1)" = Z ]
}

# alive PID...: prints those of PID... that still run (a zombie has exited: orphans wait for
# this machine's PID 1, which reaps about once a second)
alive() {
    local p
    for p in "$@"; do
        exited "$p" || printf ' %s' "$p"
    done
    return 0
}

# tm_kill: stop this test's tmux server; it and every process of its panes' sessions (the
# client, and whatever the client started on the host) must be gone within 5 s
tm_kill() {
    [ -n "${TM_SERVER:-}" ] || return 0
    local pids=$TM_SERVER p left
    for p in $TM_PANES; do
        pids="$pids $p $(ps -s "$p" -o pid= 2>/dev/null | tr '\n' ' ')"
    done
    tm kill-server 2>/dev/null || true
    for _ in $(seq 1 100); do
        left=$(alive $(echo $pids | tr ' ' '\n' | sort -u))
        [ -n "$left" ] || break
        sleep 0.05
    done
    TM_SERVER=
    if [ -n "$left" ]; then
        echo "tmux processes left behind:$left" >&2
        ps -o pid,ppid,stat,args -p "$(echo $left | tr ' ' ,)" >&2 || true
        # processes of our own tmux sessions: ours to end
        kill -KILL $left 2>/dev/null || true
        return 1
    fi
}

# ---- background clients -----------------------------------------------------------------

# bg_client OUT ARGS...: `berth ARGS...` in the background, stdin from /dev/null, stdout and
# stderr to OUT; its PID (the client itself, not a shell) in BG
bg_client() {
    local out=$1
    shift
    "$BERTH" --socket "$SOCK" "$@" >"$out" 2>&1 </dev/null 3>&- &
    BG=$!
    BG_PIDS="$BG_PIDS $BG"
}

# reap PID: waits (10 s) for the background child PID to exit; its exit code in RC ("running"
# if it did not exit). Not in a $(...): only this shell can wait for its children.
reap() {
    RC=running
    eventually exited "$1" || return 0
    RC=0
    wait "$1" || RC=$?
}

bg_kill() {
    local p
    for p in $BG_PIDS; do
        kill -KILL "$p" 2>/dev/null || true
        wait "$p" 2>/dev/null || true
    done
    BG_PIDS=
}

# ---- small helpers ----------------------------------------------------------------------

# clients_at_least N: berthd serves N clients (the info request counted)
clients_at_least() {
    [ "$(q info | sed 's/^ok //' | jq -r .Clients)" -ge "$1" ]
}

# exec_ids NAME: the container's ExecIDs, one a line (none when null or empty)
exec_ids() {
    b inspect "$1" | jq -r '.[0].ExecIDs // [] | .[]'
}

exec_count_is() {
    [ "$(exec_ids "$1" | wc -l)" -eq "$2" ]
}

# ms: a clock in milliseconds
ms() {
    echo $(($(date +%s%N) / 1000000))
}

# ---- the harness itself, on a host shell ------------------------------------------------

@test "harness: a host sh in tmux sees its size and a resize; C-c, exit code, kill-server" {
    tm_start t sh
    eventually tm_match t '^(#|\$)'
    tm_type t 'echo "S=$(stty size)"'
    eventually tm_line t 'S=24 80'
    tm resize-window -t t -x 100 -y 30
    tm_type t 'echo "R=$(stty size)"'
    eventually tm_line t 'R=30 100'
    tm_type t 'sleep 100'
    sleep 0.2
    tm_keys t C-c
    tm_type t 'echo "after=$?"'
    eventually tm_line t 'after=130'
    tm_type t 'exit 3'
    tm_exit_is t 3
    # the keys the detach tests send reach a raw terminal as the bytes berth looks for
    tm_start k sh -c 'stty raw -echo; head -c 4 | od -An -tx1; sleep 100'
    sleep 0.2
    tm_keys k C-p C-q C-x x
    eventually tm_line k ' 10 11 18 78'
    # a second session on the same server; kill-server ends its shell
    tm_start u sh -c 'sleep 100'
    tm_kill
}

# ---- exec: namespaces, exit codes, environment -------------------------------------------

@test "exec joins every namespace of the container and its cgroups" {
    b run -d --name c1 busybox sleep 1000
    local pid ns
    pid=$(b inspect c1 | jq -r '.[0].State.Pid')
    run b exec c1 hostname
    [ "$status" -eq 0 ]
    [ "$output" = "$(b inspect c1 | jq -r '.[0].Config.Hostname')" ]
    [ "$output" != "$(hostname)" ]
    [ "$(b exec c1 cat /proc/1/cmdline | tr '\0' ' ')" = "sleep 1000 " ]
    [ "$(b exec c1 readlink /proc/self/ns/pid)" = "$(b exec c1 readlink /proc/1/ns/pid)" ]
    [ "$(b exec c1 readlink /proc/self/ns/pid)" != "$(readlink /proc/self/ns/pid)" ]
    for ns in pid mnt uts ipc net cgroup; do
        [ "$(b exec c1 readlink /proc/self/ns/$ns)" = "$(readlink /proc/$pid/ns/$ns)" ]
    done
    # the exec is in the container's cgroups: its cgroup namespace shows them as roots
    run b exec c1 cat /proc/self/cgroup
    [ "$status" -eq 0 ]
    [ "$output" = "$(b exec c1 cat /proc/1/cgroup)" ]
    echo "$output" | grep -qx '0::/'
    [ -z "$(echo "$output" | grep -v ':/$')" ]
    # the same root file system: what an exec writes, the container's init sees
    b exec c1 sh -c 'echo hi >/tmp/x'
    [ "$(b exec c1 cat /tmp/x)" = hi ]
    [ "$(cat "/proc/$pid/root/tmp/x")" = hi ]
}

@test "exec exit codes: the command's, 126, 127, 128+N" {
    b run -d --name c1 busybox sleep 1000
    run b exec c1 sh -c 'exit 7'
    [ "$status" -eq 7 ]
    run -127 b exec c1 nosuchcmd
    [[ "$output" == "berth: "*"executable file not found"* ]]
    run -126 b exec c1 /etc/passwd
    [[ "$output" == "berth: "*"permission denied"* ]]
    # exec never creates a missing -w directory
    run -127 b exec -w /nonexistent c1 pwd
    run b exec c1 test -e /nonexistent
    [ "$status" -eq 1 ]
    run b exec c1 sh -c 'kill -9 $$'
    [ "$status" -eq 137 ]
}

@test "exec engine errors exit 125: no command, no such container, stopped, paused" {
    b run -d --name c1 busybox sleep 1000
    run b exec c1
    [ "$status" -eq 125 ]
    run b exec nosuch true
    [ "$status" -eq 125 ]
    [[ "$output" == "berth: "*"no such container"* ]]
    b run --name s busybox true
    run b exec s true
    [ "$status" -eq 125 ]
    [[ "$output" == "berth: "*"not running"* ]]
    b pause c1
    run b exec c1 true
    [ "$status" -eq 125 ]
    [[ "$output" == "berth: "*"paused"* ]]
    b unpause c1
    run b exec c1 true
    [ "$status" -eq 0 ]
}

@test "exec environment: the container's, -e overrides and adds, --env-file, -w, -u" {
    b run -d --name c1 -e A=1 busybox sleep 1000
    run b exec c1 sh -c 'echo "$A"; pwd'
    [ "$output" = "$(printf '1\n/')" ]
    run b exec -e A=2 c1 sh -c 'echo "$A"'
    [ "$output" = 2 ]
    run b exec -e B=3 c1 sh -c 'echo "$A$B"'
    [ "$output" = 13 ]
    printf 'C=4\n# a comment\nA=5\n' >"$TESTDIR/env"
    run b exec --env-file "$TESTDIR/env" c1 sh -c 'echo "$A$C"'
    [ "$output" = 54 ]
    run b exec -w /tmp c1 pwd
    [ "$output" = /tmp ]
    run b exec -u 1000:1000 c1 sh -c 'id -u; id -g'
    [ "$output" = "$(printf '1000\n1000')" ]
    run b exec -u nobody c1 id -u
    [ "$status" -eq 0 ]
    [ "$output" = 65534 ]
    # and the container's own environment is unchanged
    run b exec c1 sh -c 'echo "$A${B:-}${C:-}"'
    [ "$output" = 1 ]
}

# ---- exec: security ----------------------------------------------------------------------

@test "exec has the container's capabilities, no_new_privs and seccomp" {
    b run -d --name c1 --cap-drop NET_RAW busybox sleep 1000
    local re='^(CapInh|CapPrm|CapEff|CapBnd|CapAmb|NoNewPrivs|Seccomp):'
    run b exec c1 grep -E "$re" /proc/1/status
    [ "$status" -eq 0 ]
    local init=$output
    # what the init has: the 14 of §11 less NET_RAW (bit 13), no_new_privs, a filter
    echo "$init" | grep -qx 'CapEff:[[:space:]]*00000000a80405fb'
    echo "$init" | grep -qx 'NoNewPrivs:[[:space:]]*1'
    echo "$init" | grep -qx 'Seccomp:[[:space:]]*2'
    run b exec c1 grep -E "$re" /proc/self/status
    [ "$output" = "$init" ]
    # --cap-drop ALL: nothing for the exec either
    b run -d --name c0 --cap-drop ALL busybox sleep 1000
    run b exec c0 grep CapEff /proc/self/status
    [ "$output" = "CapEff:	0000000000000000" ]
}

@test "exec cannot do what the container cannot; exec --privileged can" {
    b run -d --name c1 busybox sleep 1000
    run b exec c1 unshare -m true
    [ "$status" -ne 0 ]
    [[ "$output" == *"Operation not permitted"* ]]
    run b exec c1 mount -t tmpfs none /tmp
    [ "$status" -ne 0 ]
    [[ "$output" == *"permission denied"* ]]
    # control: a privileged exec has berthd's bounding set and no filter
    local host
    host=$(sed -n 's/^CapBnd:[[:space:]]*//p' /proc/$SV_PID/status)
    run b exec --privileged c1 grep -E '^(CapEff|Seccomp):' /proc/self/status
    [ "$output" = "$(printf 'CapEff:\t%s\nSeccomp:\t0' "$host")" ]
    run b exec --privileged c1 unshare -m true
    [ "$status" -eq 0 ]
}

# ---- exec and run: I/O without a terminal ------------------------------------------------

@test "exec: stdout and stderr apart; -i passes stdin and its EOF; no -i, no stdin" {
    b run -d --name c1 busybox sleep 1000
    run --separate-stderr b exec c1 sh -c 'echo out; echo err >&2'
    [ "$status" -eq 0 ]
    [ "$output" = out ]
    [ "$stderr" = err ]
    [ "$(printf 'a\nb\n' | b exec -i c1 wc -l)" = 2 ]
    run bash -c "echo x | '$BERTH' --socket '$SOCK' exec c1 cat"
    [ "$status" -eq 0 ]
    [ -z "$output" ]
}

@test "exec: 1.5 MB through stdin and back, 700000 bytes on stderr, intact" {
    b run -d --name c1 busybox sleep 1000
    head -c 1500000 /dev/urandom >"$TESTDIR/f"
    [ "$(b exec -i c1 cat <"$TESTDIR/f" | sha512sum)" = "$(sha512sum <"$TESTDIR/f")" ]
    b exec c1 sh -c 'head -c 700000 /dev/zero >&2' >"$TESTDIR/o" 2>"$TESTDIR/e"
    [ "$(wc -c <"$TESTDIR/e")" -eq 700000 ]
    [ "$(tr -d '\0' <"$TESTDIR/e" | wc -c)" -eq 0 ]
    [ ! -s "$TESTDIR/o" ]
}

@test "run attached (through berthd): 1.5 MB through stdin and back, 700000 bytes on stderr" {
    head -c 1500000 /dev/urandom >"$TESTDIR/f"
    [ "$(b run --rm -i busybox cat <"$TESTDIR/f" | sha512sum)" = "$(sha512sum <"$TESTDIR/f")" ]
    b run --rm -i busybox sh -c 'head -c 700000 /dev/zero >&2' >"$TESTDIR/o" 2>"$TESTDIR/e" </dev/null
    [ "$(wc -c <"$TESTDIR/e")" -eq 700000 ]
    [ "$(tr -d '\0' <"$TESTDIR/e" | wc -c)" -eq 0 ]
    [ ! -s "$TESTDIR/o" ]
}

# ---- exec sessions -----------------------------------------------------------------------

@test "exec -d prints an id at once; ExecIDs lists it while it runs, not after" {
    b run -d --name c1 busybox sleep 1000
    local t0 id
    t0=$(ms)
    run b exec -d c1 sleep 3
    [ "$status" -eq 0 ]
    [ $(($(ms) - t0)) -lt 2000 ]
    [[ "$output" =~ ^[0-9a-f]{64}$ ]]
    id=$output
    [ "$(exec_ids c1)" = "$id" ]
    b exec c1 ps | grep -q 'sleep 3$'
    eventually exec_count_is c1 0
    # a failed exec leaves no session behind either
    run -127 b exec c1 nosuchcmd
    [ "$(b inspect c1 | jq -r '.[0].ExecIDs // [] | length')" = 0 ]
}

@test "stop is not held up by execs; an attached exec client then exits non-zero" {
    b run -d --name c1 busybox sleep 1000
    b exec -d c1 sleep 1000
    bg_client "$TESTDIR/exec.out" exec c1 sleep 1000
    local cp=$BG t0
    eventually exec_count_is c1 2
    t0=$(ms)
    b stop -t 1 c1
    [ $(($(ms) - t0)) -lt 5000 ]
    [ "$(state c1)" = exited ]
    reap "$cp"
    echo "attached exec client: $RC" >&2
    [ "$RC" != running ]
    [ "$RC" -ne 0 ]
}

@test "a client killed mid-stream: attach or exec, berthd and the container go on" {
    b run -d --name c2 busybox sh -c 'while :; do echo tick; sleep 0.1; done'
    bg_client /dev/null attach c2
    local cp=$BG n
    eventually clients_at_least 2
    sleep 0.5
    kill -KILL "$cp"
    reap "$cp"
    [ "$RC" != running ]
    sleep 0.3
    kill -0 "$SV_PID"
    [ "$(state c2)" = running ]
    b ps | grep -q c2
    # the container is not blocked on output nobody reads
    n=$(b logs c2 | wc -l)
    eventually bash -c "[ \$('$BERTH' --socket '$SOCK' logs c2 | wc -l) -gt $((n + 3)) ]"
    # the same with an exec client; its session then ends with nobody to tell
    bg_client "$TESTDIR/exec.out" exec c2 sh -c 'for n in $(seq 20); do echo tock; sleep 0.05; done'
    cp=$BG
    eventually grep -q tock "$TESTDIR/exec.out"
    kill -KILL "$cp"
    reap "$cp"
    [ "$RC" != running ]
    eventually exec_count_is c2 0
    kill -0 "$SV_PID"
    [ "$(state c2)" = running ]
    b ps | grep -q c2
    [ "$(b exec c2 echo still)" = still ]
}

# ---- -t: a pty ---------------------------------------------------------------------------

@test "exec -it: prompt, TERM, a pty of the container, its size and resizes, exit code" {
    b run -d --name c1 busybox sleep 1000
    tm_b t exec -it c1 sh
    eventually tm_line t '/ #'
    tm_type t 'echo "T=$TERM"'
    eventually tm_line t 'T=xterm'
    # the client's terminal is raw: only the container's pty echoes what is typed
    [ "$(tm_screen t | grep -cF 'echo "T=$TERM"')" -eq 1 ]
    tm_type t 'echo "Y=$(tty)"'
    eventually tm_match t '^Y=/dev/pts/[0-9]+$'
    tm_type t 'echo "S=$(stty size)"'
    eventually tm_line t 'S=24 80'
    tm resize-window -t t -x 100 -y 30
    sleep 0.3
    tm_type t 'echo "R=$(stty size)"'
    eventually tm_line t 'R=30 100'
    tm_type t 'exit 3'
    tm_exit_is t 3
}

@test "exec -it: C-c interrupts the command, the client exits 130" {
    b run -d --name c1 busybox sleep 1000
    tm_b t exec -it c1 sh -c 'sleep 100'
    eventually bash -c "'$BERTH' --socket '$SOCK' exec c1 ps | grep -q 'sleep 100\$'"
    tm_keys t C-c
    tm_exit_is t 130
}

@test "run -it: prompt, /dev/console, its own /dev/pts/0, exit code, the session is logged" {
    tm_b t run -it --name t1 busybox sh
    eventually tm_line t '/ #'
    tm_type t 'ls /dev/console && echo "C=ok"'
    eventually tm_line t 'C=ok'
    tm_type t 'echo "Y=$(tty)"'
    eventually tm_line t 'Y=/dev/pts/0'
    tm_type t 'echo "T=$TERM"'
    eventually tm_line t 'T=xterm'
    tm_type t 'exit 3'
    tm_exit_is t 3
    [ "$(exit_code_of t1)" = 3 ]
    run b logs t1
    [[ "$output" == *'ls /dev/console && echo "C=ok"'* ]]
    [[ "$output" == *C=ok* ]]
    [[ "$output" == *Y=/dev/pts/0* ]]
}

@test "run -it --init: C-c reaches the command, the client exits 130" {
    tm_b t run -it --name i1 --init busybox sleep 100
    eventually state_is i1 running
    sleep 0.5
    tm_keys t C-c
    tm_exit_is t 130
    [ "$(exit_code_of i1)" = 130 ]
}

@test "run -t without -i: stdin and stdout are a terminal" {
    run script -qec "$BERTH --socket $SOCK run -t busybox sh -c 'test -t 0 && test -t 1 && echo tty'" /dev/null </dev/null
    [ "$status" -eq 0 ]
    [ "$(echo "$output" | tr -d '\r')" = tty ]
}

# ---- detach and attach --------------------------------------------------------------------

@test "detach with C-p C-q, attach again, detach with --detach-keys" {
    tm_b t run -it --name d1 busybox sh
    eventually tm_line t '/ #'
    tm_keys t C-p C-q
    tm_exit_is t 0
    [ "$(b inspect d1 | jq -r '.[0].State.Running')" = true ]
    tm_b a attach d1
    sleep 0.3
    tm_keys a Enter
    eventually tm_line a '/ #'
    tm_type a 'echo "A=again"'
    eventually tm_line a 'A=again'
    tm_keys a C-p C-q
    tm_exit_is a 0
    [ "$(b inspect d1 | jq -r '.[0].State.Running')" = true ]
    tm_b x attach --detach-keys ctrl-x,x d1
    sleep 0.3
    tm_keys x Enter
    eventually tm_line x '/ #'
    tm_type x 'echo "X=$((6 * 7))"'
    eventually tm_line x 'X=42'
    tm_keys x C-x x
    tm_exit_is x 0
    [ "$(b inspect d1 | jq -r '.[0].State.Running')" = true ]
}

@test "attach: several clients at once all see the output" {
    b run -d -i --name a1 busybox sh -c 'while read l; do echo "got $l"; done'
    tm_b t attach a1
    eventually clients_at_least 2
    # the second client's stdin is at EOF at once: that does not close the container's
    bg_client "$TESTDIR/a2.out" attach a1
    eventually clients_at_least 3
    sleep 0.3
    tm_type t hello
    eventually tm_line t 'got hello'
    eventually grep -qx 'got hello' "$TESTDIR/a2.out"
    [ "$(grep -c 'got hello' "$TESTDIR/a2.out")" -eq 1 ]
    [ "$(state a1)" = running ]
    # both pass the exit code through when the container ends
    local cp=$BG
    b kill a1
    tm_exit_is t 137
    reap "$cp"
    [ "$RC" = 137 ]
}

@test "attach: to a stopped or unknown container exits 1; passes the exit code through" {
    b run --name st busybox true
    run b attach st
    [ "$status" -eq 1 ]
    [ "$output" = "berth: you cannot attach to a stopped container, start it first" ] # Docker's words
    run b attach nosuch
    [ "$status" -eq 1 ]
    [[ "$output" == "berth: "*"no such container"* ]]
    b run -d --name a2 busybox sh -c 'sleep 1; exit 5'
    run b attach a2
    [ "$status" -eq 5 ]
}

@test "attach --sig-proxy: SIGTERM to the client reaches the container; =false does not" {
    local cmd='trap "echo got-term; exit 9" TERM; while :; do sleep 0.1; done'
    b run -d --name s1 busybox sh -c "$cmd"
    bg_client "$TESTDIR/s1.out" attach s1
    local cp=$BG
    eventually clients_at_least 2
    sleep 0.3
    kill -TERM "$cp"
    reap "$cp"
    echo "attach client: $RC" >&2
    [ "$RC" = 9 ]
    eventually state_is s1 exited
    [ "$(exit_code_of s1)" = 9 ]
    [ "$(b logs s1)" = got-term ]
    grep -qx got-term "$TESTDIR/s1.out"

    b run -d --name s2 busybox sh -c "$cmd"
    bg_client "$TESTDIR/s2.out" attach --sig-proxy=false s2
    cp=$BG
    eventually clients_at_least 2
    sleep 0.3
    kill -TERM "$cp"
    reap "$cp"
    [ "$RC" != running ]
    sleep 0.5
    [ "$(state s2)" = running ]
    [ -z "$(b logs s2)" ]
}
