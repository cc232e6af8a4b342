#!/usr/bin/env bats
# network.bats - bridge networking (DESIGN §12): addresses, names in /etc/hosts, isolation
# between networks, published ports through berthd's proxy (TCP and UDP on 127.0.0.1),
# conflicts, address reuse, a supervisor restart, and no link left behind (helpers' sv_stop
# checks the bridges and veths). Only addresses inside the bridges berthd makes, and 127.0.0.1.

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

ip_of() { b inspect "$1" | jq -r '.[0].NetworkSettings.IPAddress'; }
hostport_of() { b inspect "$1" | jq -r ".[0].NetworkSettings.Ports[\"$2\"][0].HostPort"; }

@test "a container on the default bridge gets eth0 with an address of the bridge's subnet" {
    run b run --name a busybox sh -c 'ip -4 -o addr show eth0; ip route'
    [ "$status" -eq 0 ]
    subnet=$(b network inspect bridge | jq -r '.[0].IPAM.Config[0].Subnet')
    gw=$(b network inspect bridge | jq -r '.[0].IPAM.Config[0].Gateway')
    [[ "$subnet" == 10.2* ]]
    [[ "${lines[0]}" == *"eth0"*"inet ${subnet%.0/*}."* ]]
    [[ "$output" == *"default via $gw dev eth0"* ]]
    # the run is over: the address went back, inspect shows none
    [ "$(ip_of a)" = "" ]
    b run -d --name b2 busybox sleep 1000
    [[ "$(ip_of b2)" == "${subnet%.0/*}."* ]]
    [ "$(b inspect b2 | jq -r '.[0].NetworkSettings.Networks.bridge.Gateway')" = "$gw" ]
    [ "$(b inspect b2 | jq -r '.[0].HostConfig.NetworkMode')" = bridge ]
}

@test "two containers reach each other by name; /etc/hosts follows peers coming and going" {
    b run -d --name srv busybox sleep 1000
    run b run --rm --name cli busybox sh -c 'grep -w srv /etc/hosts; ping -c 1 -W 2 srv'
    [ "$status" -eq 0 ]
    [[ "${lines[0]}" == "$(ip_of srv)"*srv ]]
    [[ "$output" == *"1 packets received"* ]]
    # srv's own /etc/hosts gains a peer, and loses it when the peer stops
    b run -d --name peer busybox sleep 1000
    run b logs srv
    eventually bash -c "grep -qw peer $ROOT/containers/$(b inspect srv | jq -r '.[0].Id')/hosts"
    b rm -f peer
    ! grep -qw peer "$ROOT/containers/$(b inspect srv | jq -r '.[0].Id')/hosts"
}

@test "network create/ls/inspect/rm, with containers isolated between two networks" {
    run b network create --subnet 10.207.250.0/24 front
    [ "$status" -eq 0 ]
    [ ${#output} -eq 64 ]
    b network create back
    run b network ls
    [[ "$output" == *front* ]] && [[ "$output" == *back* ]] && [[ "$output" == *bridge* ]]
    [ "$(b network inspect front | jq -r '.[0].IPAM.Config[0].Subnet')" = 10.207.250.0/24 ]
    run b network create front
    [ "$status" -eq 1 ]
    [[ "$output" == *"already exists"* ]]
    run b network create --subnet 10.207.250.128/25 clash
    [ "$status" -eq 1 ]
    [[ "$output" == *overlaps* ]]
    b run -d --name f1 --network front busybox sleep 1000
    b run -d --name k1 --network back busybox sleep 1000
    [[ "$(ip_of f1)" == 10.207.250.* ]]
    # same network: reachable by name; across networks: not even by address
    run b run --rm --network front busybox ping -c 1 -W 2 f1
    [ "$status" -eq 0 ]
    run b run --rm --network front busybox ping -c 1 -W 2 "$(ip_of k1)"
    [ "$status" -ne 0 ]
    run b run --rm --network front busybox ping -c 1 -W 1 k1
    [ "$status" -ne 0 ]
    # a network in use cannot go; once free it can
    run b network rm front
    [ "$status" -eq 1 ]
    [[ "$output" == *"active endpoints"* ]]
    run b network rm bridge
    [ "$status" -eq 1 ]
    b rm -f f1 k1
    br=$(b network inspect front | jq -r '.[0].Options["com.docker.network.bridge.name"]')
    ip link show "$br"
    b network rm front back
    ! ip link show "$br" 2>/dev/null
    run b run --rm --network front busybox true
    [ "$status" -eq 125 ]
    [[ "$output" == *"network front not found"* ]]
}

@test "--network none has only lo; host shares the host's; container:NAME joins a netns" {
    run b run --rm --network none busybox sh -c 'ls /sys/class/net'
    [ "$output" = lo ]
    # the host's own network namespace (comparing link lists would race other work)
    run b run --rm --network host busybox readlink /proc/self/ns/net
    [ "$output" = "$(readlink /proc/self/ns/net)" ]
    b run -d --name owner busybox sleep 1000
    run b run --rm --network container:owner busybox ip -4 -o addr show eth0
    [[ "$output" == *"$(ip_of owner)/"* ]]
    b create --name stopped busybox true
    run b run --rm --network container:stopped busybox true
    [ "$status" -eq 125 ]
    [[ "$output" == *"non running container"* ]]
}

@test "--ip picks the address; a taken one fails the start; it is free again after rm" {
    b network create --subnet 10.207.251.0/29 tiny
    b run -d --name x --network tiny --ip 10.207.251.5 busybox sleep 1000
    [ "$(ip_of x)" = 10.207.251.5 ]
    run b run -d --name y --network tiny --ip 10.207.251.5 busybox sleep 1000
    [ "$status" -eq 125 ]
    [[ "$output" == *"10.207.251.5"* ]]
    b rm -f x y
    b run -d --name z --network tiny --ip 10.207.251.5 busybox sleep 1000
    [ "$(ip_of z)" = 10.207.251.5 ]
    run b run --rm --network none --ip 10.0.0.9 busybox true
    [ "$status" -eq 125 ]
    b rm -f z
}

@test "a crash-looping container does not exhaust a small subnet" {
    b network create --subnet 10.207.252.0/29 small
    b run -d --name loop --network small --restart always --restart-backoff 10ms:20ms:10s \
        busybox sh -c 'exit 1'
    eventually bash -c "[ \$($BERTH --socket $SOCK inspect loop | jq .[0].RestartCount) -ge 8 ]"
    # 5 usable addresses in a /29 (gateway .1), and 8 starts happened: two more still fit
    b run -d --name s1 --network small busybox sleep 1000
    b run -d --name s2 --network small busybox sleep 1000
    [[ "$(ip_of s2)" == 10.207.252.* ]]
    b rm -f loop s1 s2
}

@test "-p publishes a TCP port on 127.0.0.1: a 10 MB transfer arrives intact" {
    b run -d --name web -p 127.0.0.1::80 busybox sh -c \
        'mkdir /www && head -c 10485760 /dev/urandom >/www/blob && sha256sum /www/blob | cut -d" " -f1 && exec httpd -f -p 80 -h /www'
    port=$(hostport_of web 80/tcp)
    [ "$port" -gt 0 ]
    eventually bash -c "[ -n \"\$($BERTH --socket $SOCK logs web)\" ]"
    want=$(b logs web)
    eventually curl -sf -o /dev/null "http://127.0.0.1:$port/blob"
    got=$(curl -sf "http://127.0.0.1:$port/blob" | sha256sum | cut -d' ' -f1)
    [ "$got" = "$want" ]
    run b ps
    [[ "$output" == *"127.0.0.1:$port->80/tcp"* ]]
    [ "$(b inspect web | jq -r '.[0].HostConfig.PortBindings["80/tcp"][0].HostIp')" = 127.0.0.1 ]
}

@test "-p .../udp: datagrams echo back through the proxy, per client" {
    b run -d --name echo -p 127.0.0.1::9000/udp busybox /probe udpecho 9000
    port=$(hostport_of echo 9000/udp)
    [ "$port" -gt 0 ]
    eventually bash -c "echo ping | timeout 3 socat -t 1 - UDP:127.0.0.1:$port | grep -q ping"
    run bash -c "echo one | timeout 3 socat -t 1 - UDP:127.0.0.1:$port"
    [ "$output" = one ]
    run bash -c "echo two | timeout 3 socat -t 1 - UDP:127.0.0.1:$port"
    [ "$output" = two ]
}

@test "a published port already in use fails the start with 'address already in use' and rolls back" {
    b run -d --name first -p 127.0.0.1:0:80 busybox sleep 1000
    port=$(hostport_of first 80/tcp)
    run b run -d --name second -p "127.0.0.1:$port:80" busybox sleep 1000
    [ "$status" -eq 125 ]
    [[ "$output" == *"address already in use"* ]]
    [ "$(state second)" = exited ]
    [ "$(b inspect second | jq -r '.[0].NetworkSettings.IPAddress')" = "" ]
    # its address went back: the network still hands addresses out in order
    b rm -f first second
    run b run -d -p 127.0.0.1:abc:80 busybox true
    [ "$status" -eq 125 ]
    [[ "$output" == *"invalid host port"* ]]
}

@test "-P publishes the image's ExposedPorts and --expose on free ports; berth port lists them" {
    cp -a "$ROOT/images/busybox" "$ROOT/images/webimg"
    jq '. + {ExposedPorts: {"80/tcp": {}}}' "$ROOT/images/busybox/config.json" \
        >"$ROOT/images/webimg/config.json"
    b run -d --name pa -P --expose 9000/udp --expose 80 webimg sh -c \
        'mkdir /www && echo exposed >/www/i && { /probe udpecho 9000 & } && exec httpd -f -p 80 -h /www'
    tport=$(hostport_of pa 80/tcp)
    uport=$(hostport_of pa 9000/udp)
    [ "$tport" -gt 0 ] && [ "$uport" -gt 0 ]
    eventually curl -sf "http://127.0.0.1:$tport/i"
    run curl -sf "http://127.0.0.1:$tport/i"
    [ "$output" = exposed ]
    eventually bash -c "echo hi | timeout 3 socat -t 1 - UDP:127.0.0.1:$uport | grep -q hi"
    run b port pa
    [ "$status" -eq 0 ]
    [[ "$output" == *"80/tcp -> 0.0.0.0:$tport"* ]]
    [[ "$output" == *"9000/udp -> 0.0.0.0:$uport"* ]]
    [ "${#lines[@]}" -eq 2 ]
    [ "$(b port pa 80)" = "0.0.0.0:$tport" ]
    [ "$(b port pa 9000/udp)" = "0.0.0.0:$uport" ]
    run b port pa 81
    [ "$status" -eq 1 ]
    [[ "$output" == *"No public port '81/tcp' published for pa"* ]]
    run b port pa 80/sctp
    [ "$status" -eq 1 ]
    [ "$(b inspect pa | jq -c '.[0].Config.ExposedPorts')" = '{"80/tcp":{},"9000/udp":{}}' ]
    [ "$(b inspect pa | jq -r '.[0].HostConfig.PublishAllPorts')" = true ]
    # without -P an exposed port stays unpublished: null, as Docker shows it
    b run -d --name quiet webimg sleep 1000
    [ "$(b inspect quiet | jq -c '.[0].NetworkSettings.Ports')" = '{"80/tcp":null}' ]
    run b port quiet
    [ "$status" -eq 0 ] && [ "$output" = "" ]
    # -p for the same port wins over -P
    b run -d --name pinned -P -p 127.0.0.1::80 webimg sleep 1000
    [ "$(b inspect pinned | jq -c '.[0].NetworkSettings.Ports["80/tcp"]|map(.HostIp)')" = '["127.0.0.1"]' ]
    run b run --rm --expose 0 busybox true
    [ "$status" -eq 125 ]
    [[ "$output" == *"invalid exposed port"* ]]
    run b run --rm --network none -P webimg true
    [ "$status" -eq 125 ]
    [[ "$output" == *"need a bridge network"* ]]
    b rm -f pa quiet pinned
}

@test "a supervisor restart keeps networks, addresses and published ports" {
    b network create --subnet 10.207.253.0/24 keep
    b run -d --name kept --network keep -p 127.0.0.1::80 busybox sh -c \
        'mkdir /www && echo still-here >/www/i && exec httpd -f -p 80 -h /www'
    addr=$(ip_of kept)
    port=$(hostport_of kept 80/tcp)
    eventually curl -sf "http://127.0.0.1:$port/i"
    sv_kill9
    sv_launch
    [ "$(ip_of kept)" = "$addr" ]
    [ "$(hostport_of kept 80/tcp)" = "$port" ]
    [ "$(b network inspect keep | jq -r '.[0].IPAM.Config[0].Subnet')" = 10.207.253.0/24 ]
    run curl -sf "http://127.0.0.1:$port/i"
    [ "$output" = still-here ]
    # the address stays taken after the restart
    run b run --rm --network keep --ip "$addr" busybox true
    [ "$status" -eq 125 ]
    b rm -f kept
    b network rm keep
}

@test "--dns writes resolv.conf; without it the host's servers are kept (loopback ones dropped)" {
    run b run --rm --dns 10.207.0.53 --dns 10.207.0.54 busybox cat /etc/resolv.conf
    [ "$status" -eq 0 ]
    [ "$(echo $output)" = "nameserver 10.207.0.53 nameserver 10.207.0.54" ]
    run b run --rm busybox grep -c '^nameserver 127\.' /etc/resolv.conf
    [ "$output" = 0 ]
    run b run --rm --network host busybox cat /etc/resolv.conf
    [ "$output" = "$(cat /etc/resolv.conf)" ]
    run b run --rm --dns not-an-ip busybox true
    [ "$status" -eq 125 ]
    [[ "$output" == *"invalid --dns"* ]]
    [ "$(b create --dns 10.207.0.53 busybox true | xargs $BERTH --socket $SOCK inspect | jq -r '.[0].HostConfig.Dns[0]')" = 10.207.0.53 ]
}
