#!/usr/bin/env bats
# firewall.bats - berthd's own nftables table (DESIGN §12): its networks kept apart, outbound
# NAT with --nat, the table following network create/rm and gone after shutdown (helpers'
# sv_stop checks that for every test). Forwarding is only ever switched on inside network
# namespaces made here (berthd under `unshare -n`, an "upstream" namespace of our own), never
# on the host; the only addresses used are the bridges' and 192.0.2.0/24 (TEST-NET-1) between
# those namespaces.

load helpers
bats_require_minimum_version 1.5.0

setup() {
    require_root
    command -v nft >/dev/null || skip "nft is not installed"
    command -v unshare >/dev/null && command -v nsenter >/dev/null || skip "no unshare/nsenter"
    UP_PID=
    SRV_PID=
    sv_start
}

teardown() {
    [ -n "$SRV_PID" ] && kill "$SRV_PID" 2>/dev/null && wait "$SRV_PID" 2>/dev/null
    [ -n "$UP_PID" ] && kill "$UP_PID" 2>/dev/null && wait "$UP_PID" 2>/dev/null
    sv_stop
}

ip_of() { b inspect "$1" | jq -r '.[0].NetworkSettings.IPAddress'; }
bridge_of() { b network inspect "$1" | jq -r '.[0].Options["com.docker.network.bridge.name"]'; }
# in berthd's network namespace
inns() { nsenter -t "$SV_PID" -n "$@"; }

# berthd again, now in a network namespace of its own that forwards IPv4
relaunch_private() {
    sv_term
    SV_WRAP="unshare -n" sv_launch "$@"
    inns sh -c 'echo 1 >/proc/sys/net/ipv4/ip_forward'
}

@test "the table keeps berthd's bridges apart, follows network create/rm, and goes at shutdown" {
    [ "$(q info | sed 's/^ok //' | jq -r '.Firewall + " " + (.NAT|tostring)')" = "nft false" ]
    [ -n "$FWTABLE" ]
    b network create fwa
    br=$(bridge_of fwa)
    eventually bash -c "nft list table ip $FWTABLE | grep -F 'iifname \"$br\" oifname @bridges oifname != \"$br\" drop'"
    ! nft list table ip "$FWTABLE" | grep -q masquerade
    run b info
    [[ "$output" == *"Firewall: nft (table ip $FWTABLE)"* ]]
    b network rm fwa
    eventually bash -c "! nft list table ip $FWTABLE | grep -qF '$br'"
    sv_term
    run nft list table ip "$FWTABLE"
    [ "$status" -ne 0 ]
    # a crashed berthd's table is replaced at the next start, not added to
    sv_launch
    b network create fwb
    eventually bash -c "nft list table ip $FWTABLE | grep -qF '$(bridge_of fwb)'"
    sv_kill9
    sv_launch
    eventually bash -c "nft list table ip $FWTABLE | grep -qF '$(bridge_of fwb)'"
    [ "$(nft list tables | grep -c "ip $FWTABLE\$")" -eq 1 ]
    b network rm fwb
}

@test "--nat needs nft; --firewall off leaves nft alone; bad values are refused" {
    run "$BERTHD" --root "$TESTDIR/other" --socket "$TESTDIR/other.sock" --firewall off --nat
    [ "$status" -eq 2 ]
    [[ "$output" == *"--nat needs nft"* ]]
    run "$BERTHD" --root "$TESTDIR/other" --socket "$TESTDIR/other.sock" --firewall maybe
    [ "$status" -eq 2 ]
    [[ "$output" == *"expected auto or off"* ]]
    sv_term
    sv_launch --firewall off
    [ "$(q info | sed 's/^ok //' | jq -r '.Firewall + "/" + .FirewallTable')" = "off/" ]
    b network create fwc
    sleep 0.3
    run nft list table ip "$FWTABLE"
    [ "$status" -ne 0 ]
    b network rm fwc
}

@test "with forwarding on, two networks cannot reach each other; with --firewall off they can" {
    relaunch_private
    b network create --subnet 10.207.251.0/24 fa
    b network create --subnet 10.207.252.0/24 fb
    b run -d --name pb --network fb busybox sleep 1000
    target=$(ip_of pb)
    eventually bash -c "nsenter -t $SV_PID -n nft list table ip $FWTABLE | grep -qF '$(bridge_of fb)'"
    # same network: fine
    run b run --rm --network fb busybox ping -c 1 -W 2 "$target"
    [ "$status" -eq 0 ]
    run b run --rm --network fa busybox ping -c 1 -W 2 "$target"
    [ "$status" -ne 0 ]
    # the control: the same namespaces without berthd's table forward between the networks
    relaunch_private --firewall off
    b start pb
    target=$(ip_of pb)
    run b run --rm --network fa busybox ping -c 1 -W 2 "$target"
    [ "$status" -eq 0 ]
    b rm -f pb
    b network rm fa fb
}

# an upstream namespace of our own joined to berthd's by a veth, 192.0.2.1 (berthd's side) and
# 192.0.2.2 (upstream, no route back to any container subnet), with a TCP server there that
# answers with the address it sees
make_upstream() {
    unshare -n sleep 1000 &
    UP_PID=$!
    eventually nsenter -t "$UP_PID" -n true
    inns ip link add bup0 type veth peer name bup1 netns "$UP_PID"
    inns ip addr add 192.0.2.1/24 dev bup0
    inns ip link set bup0 up
    nsenter -t "$UP_PID" -n ip addr add 192.0.2.2/24 dev bup1
    nsenter -t "$UP_PID" -n ip link set bup1 up
    nsenter -t "$UP_PID" -n ip link set lo up
    nsenter -t "$UP_PID" -n socat TCP-LISTEN:7777,reuseaddr,fork 'SYSTEM:echo $SOCAT_PEERADDR' &
    SRV_PID=$!
    eventually nsenter -t "$UP_PID" -n sh -c 'socat -u TCP:127.0.0.1:7777 - | grep -q 127.0.0.1'
}

drop_upstream() {
    kill "$SRV_PID" "$UP_PID" 2>/dev/null
    wait "$SRV_PID" "$UP_PID" 2>/dev/null || true
    SRV_PID=
    UP_PID=
}

@test "--nat: a container reaches an upstream host as berthd's address; without it, not at all" {
    relaunch_private --nat
    [ "$(q info | sed 's/^ok //' | jq -r '.NAT')" = true ]
    eventually bash -c "nsenter -t $SV_PID -n nft list table ip $FWTABLE | grep -q masquerade"
    make_upstream
    run b run --rm busybox busybox nc -w 3 192.0.2.2 7777
    [ "$status" -eq 0 ]
    [ "$output" = 192.0.2.1 ]
    drop_upstream
    # the control: no NAT, and the upstream side has no way back to the container
    relaunch_private
    make_upstream
    run timeout 10 "$BERTH" --socket "$SOCK" run --rm busybox busybox nc -w 2 192.0.2.2 7777
    [ "$status" -ne 0 ]
    [[ "$output" == *"timed out"* ]]
    drop_upstream
}
