#!/usr/bin/env bats
# protocol.bats - the raw control protocol (DESIGN §8, §14; PROTOCOL.md requests, replies,
# limits).

load helpers
bats_require_minimum_version 1.5.0

setup() { require_root; sv_start; }
teardown() { sv_stop; }

@test "ping -> ok" {
    run q ping
    [ "$output" = ok ]
}

@test "version -> ok with Version, ApiVersion, Os, Arch" {
    run q version
    [[ "$output" == "ok {"* ]]
    local j=${output#ok }
    [ "$(jq -r .Version <<<"$j")" = 0.1.0 ]
    [ "$(jq -r .ApiVersion <<<"$j")" = 1 ]
    [ "$(jq -r .Os <<<"$j")" = linux ]
    [ -n "$(jq -r .Arch <<<"$j")" ]
}

@test "version has GitCommit and info has ID as documented" {
    run q version info
    jq -e 'has("GitCommit")' <<<"${lines[0]#ok }"
    jq -e 'has("ID")' <<<"${lines[1]#ok }"
}

@test "info -> ok with the documented counters" {
    b run -d --name r busybox sleep 100
    b create --name c busybox true
    run q info
    [[ "$output" == "ok {"* ]]
    local j=${output#ok }
    [ "$(jq -r .Containers <<<"$j")" = 2 ]
    [ "$(jq -r .ContainersRunning <<<"$j")" = 1 ]
    [ "$(jq -r .ContainersPaused <<<"$j")" = 0 ]
    [ "$(jq -r .ContainersStopped <<<"$j")" = 1 ]
    [ "$(jq -r .Images <<<"$j")" = 1 ]
    [ "$(jq -r .Root <<<"$j")" = "$ROOT" ]
    [ "$(jq -r .Socket <<<"$j")" = "$SOCK" ]
    [ "$(jq -r .Pid <<<"$j")" = "$SV_PID" ]
    [ "$(jq -r .Pid1 <<<"$j")" = false ]
    [[ "$(jq -r .CgroupVersion <<<"$j")" =~ ^[12]$ ]]
    [ "$(jq -r .Version <<<"$j")" = 0.1.0 ]
    jq -e '.OrphansReaped >= 0' <<<"$j"
    b stop -t 0 r
}

@test "unknown verb -> err 400" {
    run q bogus
    [[ "$output" == "err 400 "*bogus* ]]
    run q 'Ping'
    [[ "$output" == "err 400 "* ]]
}

@test "bad quoting -> err 400" {
    run q 'ps "unterminated'
    [[ "$output" == "err 400 "* ]]
    run q 'ps "bad\q"'
    [[ "$output" == "err 400 "* ]]
    run q 'ps "\x4"'
    [[ "$output" == "err 400 "* ]]
}

@test "quoting: escapes and quotes inside a word reach the container" {
    run q 'run image=busybox name=qt attach=1 -- printf "%s|" "a b" a"b c"d "t\tn\\x\"q" "\x41\x42"'
    [ "${lines[0]:0:3}" = "ok " ]
    [ "$(b logs qt)" = "$(printf '%s|' 'a b' 'ab cd' "$(printf 't\tn\\x"q')" AB)" ]
}

@test "unknown option -> err 400" {
    run q 'ps bogus=1'
    [[ "$output" == "err 400 "*bogus* ]]
    run q 'run image=busybox nosuchopt=1 -- true'
    [[ "$output" == "err 400 "* ]]
    [ -z "$(b ps -a -q)" ]
}

@test "a bad boolean -> err 400" {
    b run -d --name r busybox sleep 100
    run q 'rm force=maybe r' 'create read_only=maybe image=busybox -- true' 'run rm=yes image=busybox -- true'
    [[ "${lines[0]}" == "err 400 "* ]]
    [[ "${lines[1]}" == "err 400 "* ]]
    [[ "${lines[2]}" == "err 400 "* ]]
    [ "$(state r)" = running ]
    [ "$(b ps -a -q | wc -l)" -eq 1 ]
    run q 'ps all=true' 'ps all=false'
    [ "$(jq length <<<"${lines[0]#ok }")" = 1 ]
    b stop -t 0 r
}

@test "ps with a bad boolean -> err 400" {
    run q 'ps all=maybe'
    [[ "$output" == "err 400 "* ]]
}

@test "run with rm=1 restart=always -> err 400, nothing created" {
    run q 'run image=busybox rm=1 restart=always -- true'
    [ "$output" = "err 400 conflicting options: cannot specify both --restart and --rm" ]
    [ -z "$(b ps -a -q)" ]
}

@test "create of an unknown image -> err 404" {
    run q 'create image=nosuchimage -- true'
    [[ "$output" == "err 404 "* ]]
    [ -z "$(b ps -a -q)" ]
}

@test "a verb on an unknown container -> err 404" {
    local v
    for v in start stop kill rm inspect logs wait restart; do
        run q "$v nosuch"
        [ "$output" = "err 404 no such container: nosuch" ]
    done
}

@test "ps filter errors -> err 400" {
    run q 'ps filter=bogus=1'
    [[ "$output" == "err 400 "* ]]
    run q 'ps filter=nokeyvalue'
    [[ "$output" == "err 400 "* ]]
}

@test "ps filters over the protocol" {
    b create --name c1 --label k=v busybox true
    b run -d --name r1 busybox sleep 100
    run q 'ps all=1 filter=status=created'
    [ "$(jq -r '.[].Names[0]' <<<"${output#ok }")" = c1 ]
    run q 'ps all=1 filter=label=k=v'
    [ "$(jq -r '.[].Names[0]' <<<"${output#ok }")" = c1 ]
    run q 'ps all=1 filter=name=1 filter=status=running'
    [ "$(jq -r '.[].Names[0]' <<<"${output#ok }")" = r1 ]
    run q 'ps all=1 filter=status=running filter=status=created'
    [ "$(jq length <<<"${output#ok }")" = 2 ]
    run q 'ps'
    [ "$(jq -r '.[].Names[0]' <<<"${output#ok }")" = r1 ]
    b stop -t 0 r1
}

@test "ps reply fields" {
    b create --name c1 --label k=v busybox sh -c 'echo hi'
    run q 'ps all=1'
    local j=${output#ok }
    [[ "$(jq -r '.[0].Id' <<<"$j")" =~ ^[0-9a-f]{64}$ ]]
    [ "$(jq -c '.[0].Names' <<<"$j")" = '["c1"]' ]
    [ "$(jq -r '.[0].Image' <<<"$j")" = busybox ]
    [ "$(jq -r '.[0].State' <<<"$j")" = created ]
    [ "$(jq -r '.[0].Status' <<<"$j")" = Created ]
    [ "$(jq -r '.[0].Labels.k' <<<"$j")" = v ]
    [[ "$(jq -r '.[0].Command' <<<"$j")" == "sh -c"* ]]
    jq -e '.[0].Created > 1000000000' <<<"$j"
    jq -e '.[0] | has("CreatedAt") and has("Ports") and has("ExitCode")' <<<"$j"
}

@test "several requests on one connection are answered in order" {
    b create --name c1 busybox true
    run q ping 'inspect c1' bogus 'inspect nosuch' version ping
    [ "${#lines[@]}" -eq 6 ]
    [ "${lines[0]}" = ok ]
    [[ "${lines[1]}" == "ok {"*'"Name":"/c1"'* ]]
    [[ "${lines[2]}" == "err 400 "* ]]
    [[ "${lines[3]}" == "err 404 "* ]]
    [[ "${lines[4]}" == "ok {"*Version* ]]
    [ "${lines[5]}" = ok ]
}

@test "a streaming reply ends with end and the next request follows" {
    b run --name l busybox sh -c 'echo one; echo two'
    run q 'logs l' ping
    [ "${lines[0]}" = ok ]
    [[ "${lines[1]}" == "log stdout "*' "one\n"' ]]
    [[ "${lines[2]}" == "log stdout "*' "two\n"' ]]
    [ "${lines[3]}" = end ]
    [ "${lines[4]}" = ok ]
}

@test "run attach=1 streams out lines, then exit and end" {
    run q 'run image=busybox name=a attach=1 -- sh -c "echo hi; echo err >&2; exit 3"'
    [[ "${lines[0]}" == "ok {\"Id\":"* ]]
    printf '%s\n' "${lines[@]}" | grep -qx 'out 1 "hi\\n"'
    printf '%s\n' "${lines[@]}" | grep -qx 'out 2 "err\\n"'
    [[ "${lines[-2]}" == 'exit {"StatusCode":3,'* ]]
    [ "${lines[-1]}" = end ]
}

@test "wait -> ok with StatusCode" {
    b run --name w busybox sh -c 'exit 7' || true
    run q 'wait w'
    [[ "$output" == 'ok {"StatusCode":7,"Error":""}' ]] || [[ "$output" == 'ok {"StatusCode":7,'* ]]
}

@test "a failed start over the protocol -> err 500, the container stays exited" {
    run q 'run image=busybox name=f -- nosuchcommand'
    [[ "$output" == "err 500 "*"executable file not found"* ]]
    [ "$(state f)" = exited ]
    [ "$(exit_code_of f)" = 127 ]
}

@test "a name of 64 characters -> err 400" {
    run q "create image=busybox name=$(printf 'a%.0s' $(seq 64)) -- true"
    [[ "$output" == "err 400 "* ]]
}

@test "a 1 MiB line without newline -> err 413, the connection closes, berthd still answers" {
    run python3 - "$SOCK" <<'EOF'
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
try:
    s.sendall(b"a" * (1 << 20))
except OSError:
    pass  # berthd closed the connection: the reply is still there to read
s.settimeout(10)
data = b""
while True:
    try:
        d = s.recv(4096)
    except ConnectionResetError:
        # berthd closed with part of our line unread: the kernel reports
        # that as a reset once the queued reply has been read
        break
    if not d:
        break
    data += d
sys.stdout.write(data.decode())
EOF
    [ "$status" -eq 0 ]
    [[ "$output" == "err 413 "* ]]
    [ "${#lines[@]}" -eq 1 ]
    run q ping
    [ "$output" = ok ]
}

@test "a line of exactly 64 KiB is accepted, one byte more is refused" {
    run python3 - "$SOCK" <<'EOF'
import socket, sys
def ask(line):
    s = socket.socket(socket.AF_UNIX)
    s.connect(sys.argv[1])
    try:
        s.sendall(line)
    except OSError:
        pass
    s.settimeout(10)
    r = s.makefile("rb").readline().decode()
    s.close()
    return r
# "ps filter=name=xxx...\n": 65536 bytes with the newline
head = b"ps filter=name="
ok = head + b"x" * (65536 - len(head) - 1) + b"\n"
big = head + b"x" * (65536 - len(head)) + b"\n"
print(ask(ok).strip())
print(ask(big).strip())
EOF
    [ "$status" -eq 0 ]
    [ "${lines[0]}" = "ok []" ]
    [[ "${lines[1]}" == "err 413 "* ]]
}

@test "binary garbage: berthd answers errors and survives" {
    head -c 4096 /dev/urandom >"$TESTDIR/garbage"
    run timeout 10 socat -t 2 - UNIX-CONNECT:"$SOCK" <"$TESTDIR/garbage"
    run q ping
    [ "$output" = ok ]
    # garbage with newlines in it, then a valid request on a fresh connection
    (head -c 2048 /dev/urandom; printf '\nping\n') >"$TESTDIR/garbage"
    run timeout 10 socat -t 2 - UNIX-CONNECT:"$SOCK" <"$TESTDIR/garbage"
    run q ping
    [ "$output" = ok ]
    kill -0 "$SV_PID"
}

@test "control bytes in a request -> err 400" {
    run q "$(printf 'ps\001')"
    [[ "$output" == "err 400 "* ]]
}

@test "1000 idle clients at once: berthd still answers" {
    run python3 - "$SOCK" "$BERTH" <<'EOF'
import resource, socket, subprocess, sys
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (min(4096, hard), hard))
socks = []
for _ in range(1000):
    s = socket.socket(socket.AF_UNIX)
    s.connect(sys.argv[1])
    socks.append(s)
r = subprocess.run([sys.argv[2], "--socket", sys.argv[1], "ping"], capture_output=True, timeout=10)
print("ping", r.returncode)
# every idle client is still served
for s in socks:
    s.sendall(b"ping\n")
ok = 0
for s in socks:
    s.settimeout(10)
    if s.makefile("rb").readline() == b"ok\n":
        ok += 1
print("answered", ok)
for s in socks:
    s.close()
EOF
    [ "$status" -eq 0 ]
    [ "${lines[0]}" = "ping 0" ]
    [ "${lines[1]}" = "answered 1000" ]
    run q ping
    [ "$output" = ok ]
}

@test "a client that never reads an event stream is dropped; berthd stays responsive" {
    run python3 - "$SOCK" "$BERTH" <<'EOF'
import socket, subprocess, sys, time
sock = sys.argv[1]
def ping():
    t = time.time()
    r = subprocess.run([sys.argv[2], "--socket", sock, "ping"], capture_output=True, timeout=5)
    return r.returncode, time.time() - t
ev = socket.socket(socket.AF_UNIX)
ev.connect(sock)
ev.sendall(b"events\n")
time.sleep(0.3)
# big events: 12 labels of 4000 bytes, 2 events per container, 40 containers: ~4 MB
labels = " ".join("label=l%d=%s" % (k, "x" * 4000) for k in range(12))
c = socket.socket(socket.AF_UNIX)
c.connect(sock)
f = c.makefile("rb")
worst = 0
for n in range(40):
    c.sendall(("create image=busybox name=c%d %s -- true\n" % (n, labels)).encode())
    assert f.readline().startswith(b"ok"), n
    c.sendall(("rm c%d\n" % n).encode())
    assert f.readline().startswith(b"ok"), n
    if n % 10 == 0:
        rc, dt = ping()
        assert rc == 0
        worst = max(worst, dt)
print("ping-worst-ok", worst < 3)
# the stalled client: what was queued, then EOF (dropped), well short of everything
ev.settimeout(10)
got = 0
while True:
    d = ev.recv(65536)
    if not d:
        break
    got += len(d)
print("dropped", got < 40 * 2 * 48000)
EOF
    [ "$status" -eq 0 ]
    [ "${lines[0]}" = "ping-worst-ok True" ]
    [ "${lines[1]}" = "dropped True" ]
    run q ping
    [ "$output" = ok ]
    grep -q 'dropped' "$TESTDIR/berthd.log"
}

@test "a client that disconnects mid-stream does not disturb berthd" {
    b run -d --name r busybox sh -c 'while :; do echo tick; sleep 0.05; done'
    timeout 1 "$BERTH" --socket "$SOCK" logs -f r >/dev/null || true
    timeout 1 "$BERTH" --socket "$SOCK" events >/dev/null || true
    run q ping
    [ "$output" = ok ]
    b stop -t 0 r
}

@test "stop completes even if the client that asked disconnects" {
    b run -d --name s busybox sh -c 'trap "" TERM; while :; do sleep 0.1; done'
    printf 'stop timeout=1 s\n' | timeout 10 socat -t 0.1 - UNIX-CONNECT:"$SOCK" || true
    eventually state_is s exited
    [ "$(exit_code_of s)" = 137 ]
}

@test "too many command words -> err 400" {
    local words
    words=$(printf ' w%.0s' $(seq 1100))
    run q "create image=busybox --$words"
    [[ "$output" == "err 400 "* ]]
    [ -z "$(b ps -a -q)" ]
}

@test "exec over the protocol: fds needed unless detach=1; refusals as documented" {
    b run -d --name px busybox sleep 1000
    run q "exec px -- true"
    [[ "$output" == "err 400 exec needs the client's stdin, stdout and stderr"* ]]
    run q "exec px"
    [ "$output" = "err 400 exec needs a command" ]
    run q "exec workdir=rel detach=1 px -- true"
    [[ "$output" == "err 400 the working directory 'rel' is invalid"* ]]
    run q "exec tty_size=0x80 detach=1 px -- true"
    [[ "$output" == "err 400 invalid tty_size '0x80'"* ]]
    run q "exec detach=1 nosuch -- true"
    [[ "$output" == "err 404 "* ]]
    run q "exec detach=1 px -- sleep 2"
    [[ "$output" =~ ^ok\ \{\"Id\":\"[0-9a-f]{64}\"\}$ ]]
    local id
    id=$(sed 's/^ok //' <<<"$output" | jq -r .Id)
    [ "$(b inspect px | jq -r '.[0].ExecIDs[0]')" = "$id" ]
    run q "exec detach=1 px -- nosuchcmd"
    [[ "$output" == 'err 500 exec: "nosuchcmd": executable file not found in $PATH' ]]
    no_execs() { [ "$(b inspect px | jq -r '.[0].ExecIDs')" = null ]; }
    eventually no_execs
    b pause px
    run q "exec detach=1 px -- true"
    [ "$output" = "err 409 px is paused, unpause the container before exec" ]
    b unpause px
    b rm -f px
}

@test "attach over the protocol: ok with Tty and OpenStdin, out lines, exit and end" {
    b run -d --name pa busybox sleep 1000
    run q "attach nosuch"
    [[ "$output" == "err 404 "* ]]
    # a stopped container is refused
    b run --name pstop busybox true
    run q "attach pstop"
    [ "$output" = "err 409 you cannot attach to a stopped container, start it first" ]
    # the stream ends with exit and end when the container exits
    (sleep 0.5; b kill pa >/dev/null) &
    local killer=$!
    run q "attach pa"
    [[ "${lines[0]}" == 'ok {"Id":'*'"Tty":false,"OpenStdin":false}' ]]
    [[ "${lines[1]}" == 'exit {"StatusCode":137'* ]]
    [ "${lines[2]}" = end ]
    wait "$killer"
}
