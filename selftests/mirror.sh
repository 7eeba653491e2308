#!/bin/bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# colo-xdp run's own inbound mirror (QEMU's filter-mirror, colo_mirror on
# the outdev's tc ingress) on real traffic: a client and two replicas in
# namespaces on veths (tools/colo-netns.sh), and no tc rule of the test's
# own doing the mirroring:
# - until the VM's MAC is known, the client's unicast frames reach neither
#   replica (counted no_vm_mac); the guest's first ARP teaches it, and the
#   client's answer to that ARP already reaches both replicas;
# - ping and a UDP stream from the client reach both replicas identically
#   (byte for byte) and in order, their sockets get the same datagrams in
#   the same order, and the counters say exactly what the client sent;
# - frames for other hosts are left alone: a socket on an address of the
#   outdev itself gets all of its datagrams, frames to another MAC reach no
#   replica; the client's ARP broadcast reaches both replicas and the host;
# - SIGKILL of the loader: the mirror goes on without it, the restart
#   takes it over with its counters;
# - a stop removes the filter, the clsact qdisc colo-xdp made and the pins,
#   and leaves a qdisc that was there before, with its filter;
# - --vm-mac: the client's first frame is mirrored, before the VM sent
#   anything; another MAC than the VM's: nothing is;
# - --mirror off: no filter, nothing mirrored; another mirror (tc's) then
#   works beside colo-xdp, and its rules stay when colo-xdp stops.
. "$(dirname "$0")/lib.sh"
. "$T_TOP/tools/colo-netns.sh"
CN_ON_EXIT=t_on_exit
VMSEND=$T_BUILD/colo-vmsend
t_skip_unless_root

cn_veth_topology "$T_PREFIX" || {
	t_fail "build the namespaces"
	t_done
}
INST=/sys/fs/bpf/colo-xdp/$CN_P
OTHER_MAC=02:00:00:00:00:99
# an address of the outdev itself, in the root namespace: the host's own
HOST_IP=10.0.0.250

# start LOG [FLAGS...]: colo-xdp run with its mirror; sets RUN.
start() {
	local log=$1
	shift
	t_bg "$COLO_XDP" run --primary-in "$CN_P" --secondary-in "$CN_S" \
		--outdev "$CN_O" "$@" >"$log" 2>&1
	RUN=$T_LAST_PID
	cn_wait_log "$log" "^comparing"
}

# stop: SIGTERM, and its exit status.
stop() {
	kill -TERM "$RUN"
	wait "$RUN"
}

# mirror EXPR: Python on m, this instance's "mirror" in `stat --json`.
mirror() {
	"$COLO_XDP" stat --pin-path "$INST" --json 2>/dev/null |
		python3 -c 'import json, sys
m = json.load(sys.stdin)["instances"][0]["mirror"]
print(eval(sys.argv[1]))' "$1"
}

counter() {
	mirror "m[\"counters\"][\"$1\"]"
}

# counters: every mirror counter, "name value" a line.
counters() {
	mirror '"\n".join("%s %d" % kv for kv in m["counters"].items())'
}

# delta BEFORE AFTER NAME: how much counter NAME grew between two
# snapshots of counters.
delta() {
	echo $(($(sed -n "s/^$3 //p" <<<"$2") - $(sed -n "s/^$3 //p" <<<"$1")))
}

# settled BEFORE N: to_vm and left_alone grew by N since BEFORE together.
settled() {
	local now
	now=$(counters)
	(($(delta "$1" "$now" to_vm) + $(delta "$1" "$now" left_alone) == $2))
}

# ours_on_o: colo_mirror is on the outdev's ingress.
ours_on_o() {
	tc filter show dev "$CN_O" ingress | grep -q colo_mirror
}

# in_clsact: colo_mirror on the outdev's ingress, in a clsact qdisc.
in_clsact() {
	ours_on_o && tc qdisc show dev "$CN_O" | grep -q clsact
}

# others_stay: colo_mirror gone, someone else's qdisc and filter there.
others_stay() {
	! ours_on_o && tc filter show dev "$CN_O" egress | grep -q 'pref 7 u32' &&
		test ! -e "$INST"
}

# nothing_left: no filter, no clsact qdisc, no pins, nothing in bpftool.
nothing_left() {
	! ours_on_o && ! tc qdisc show dev "$CN_O" | grep -q clsact &&
		! bpftool net show dev "$CN_O" | grep -q colo_mirror &&
		test ! -e "$INST"
}

# capture TAG: what the client sends, as each replica gets it and as the
# client sent it: $T_TMP/TAG-{pri,sec,cli}.pcap. Sets CAPS.
capture() {
	local ns
	CAPS=()
	for ns in pri sec cli; do
		local name=CN_${ns^^}
		cn_capture_start "${!name}" eth0 "$T_TMP/$1-$ns.pcap" \
			ether src "$CN_CLIENT_MAC" || return 1
		CAPS+=("$CN_CAP_PID")
	done
}

capture_stop() {
	local p
	for p in "${CAPS[@]}"; do
		cn_capture_stop "$p"
	done
}

# frames TAG NS: the frames from the client in that capture.
frames() {
	cn_frames "$T_TMP/$1-$2.pcap" "$CN_CLIENT_MAC"
}

count() {
	frames "$1" "$2" | wc -l
}

# same TAG: both replicas got exactly what the client sent, in order.
same() {
	local n
	n=$(count "$1" cli)
	((n > 0)) && cmp -s <(frames "$1" cli) <(frames "$1" pri) &&
		cmp -s <(frames "$1" cli) <(frames "$1" sec)
}

# for_vm TAG: how many frames the client sent to the VM's MAC, broadcast
# or multicast (the rest: to other hosts).
for_vm() {
	frames "$1" cli | python3 -c '
import sys
vm = sys.argv[1].replace(":", "")
print(sum(1 for f in sys.stdin if f[:12] == vm or int(f[1], 16) & 1))' \
		"$CN_GUEST_MAC"
}

# udp_send NS DST PORT N: N datagrams "seq K" from a socket in NS.
udp_send() {
	ip netns exec "$1" python3 -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for k in range(int(sys.argv[3])):
    s.sendto(b"seq %d" % k, (sys.argv[1], int(sys.argv[2])))' "$2" "$3" "$4"
}

# python3 -c "$SINK" ADDR PORT FILE: every datagram to ADDR:PORT, a line each;
# room for a whole burst, however late python gets to read it.
SINK='import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, 33, 1 << 23)  # SO_RCVBUFFORCE
s.bind((sys.argv[1], int(sys.argv[2])))
f = open(sys.argv[3], "w", buffering=1)
while True:
    f.write(s.recv(2048).decode() + "\n")'

lines_at_least() {
	[[ -e $1 ]] && (($(wc -l <"$1") >= $2))
}

arps_from_client() {
	cn_frames "$T_TMP/$1-$2.pcap" "$CN_CLIENT_MAC" | grep -c '^.\{24\}0806'
}

# --- defaults: the mirror on, the VM's MAC learned ------------------------
capture learn || t_fail "learn: captures"
if ! start "$T_TMP/run.log"; then
	t_fail "colo-xdp run starts: $(cat "$T_TMP/run.log")"
	t_done
fi
t_check "colo-xdp run says it mirrors, the MAC to be learned" \
	grep -q "^mirroring the clients' frames for the VM from $CN_O to $CN_P, a copy out of $CN_S: its MAC learned" \
	"$T_TMP/run.log"
t_check "colo_mirror sits on $CN_O's ingress, in a clsact qdisc" in_clsact
t_check "stat: no VM MAC yet" test "$(mirror 'm["vm_mac"]')" = None

# Unicast before the VM has sent anything: nowhere to send it.
udp_send "$CN_CLI" "$CN_GUEST_IP" 7000 5
t_check "no VM MAC yet: the client's 5 unicast frames are counted no_vm_mac" \
	cn_wait_cmd test "$(counter no_vm_mac)" = 5

# The guest's first ARP: the secondary's (dropped by colo_steer) before
# the primary's, which teaches colo-xdp the MAC on its way out; the
# client's answer to it must already reach both replicas.
for ns in "$CN_PRI" "$CN_SEC"; do
	ip -n "$ns" neigh del "$CN_CLIENT_IP" dev eth0
done
udp_send "$CN_SEC" "$CN_CLIENT_IP" 7001 1
cn_wait_cmd bash -c "ip -n $CN_SEC neigh show $CN_CLIENT_IP | grep -q INCOMPLETE"
udp_send "$CN_PRI" "$CN_CLIENT_IP" 7001 1
cn_wait_cmd bash -c "ip -n $CN_PRI neigh show $CN_CLIENT_IP | grep -q REACHABLE &&
		     ip -n $CN_SEC neigh show $CN_CLIENT_IP | grep -q REACHABLE"
capture_stop
t_check "the guest's first ARP teaches the MAC: stat shows $CN_GUEST_MAC" \
	test "$(mirror 'm["vm_mac"]')" = "$CN_GUEST_MAC"
t_check "the client's answer to that ARP reached the primary" \
	test "$(arps_from_client learn pri)" = 1
t_check "and the secondary" test "$(arps_from_client learn sec)" = 1
t_check "the 5 unicast frames from before reached neither replica" \
	bash -c "$(declare -f cn_none) &&
		 cn_none $T_TMP/learn-pri.pcap 'udp dst port 7000' &&
		 cn_none $T_TMP/learn-sec.pcap 'udp dst port 7000'"
# The replicas keep the client as a static neighbour again: no more ARP.
for ns in "$CN_PRI" "$CN_SEC"; do
	ip -n "$ns" neigh replace "$CN_CLIENT_IP" lladdr "$CN_CLIENT_MAC" \
		dev eth0 nud permanent
done

# --- ping and a UDP stream: both replicas, identical, in order ------------
t_bg ip netns exec "$CN_PRI" python3 -c "$SINK" 0.0.0.0 7007 "$T_TMP/sink-pri"
t_bg ip netns exec "$CN_SEC" python3 -c "$SINK" 0.0.0.0 7007 "$T_TMP/sink-sec"
cn_wait_cmd bash -c "ip netns exec $CN_PRI ss -uln | grep -q ':7007 ' &&
		     ip netns exec $CN_SEC ss -uln | grep -q ':7007 '"
capture stream || t_fail "stream: captures"
BEFORE=$(counters)
t_check "ping through the mirror and the comparator: 20 of 20 replies" \
	ip netns exec "$CN_CLI" ping -c 20 -i 0.05 -W 5 -q "$CN_GUEST_IP"
udp_send "$CN_CLI" "$CN_GUEST_IP" 7007 500
cn_wait_cmd lines_at_least "$T_TMP/sink-pri" 500
cn_wait_cmd lines_at_least "$T_TMP/sink-sec" 500
n=$(($(frames stream cli | wc -l)))
cn_wait_frames "$T_TMP/stream-pri.pcap" "$n" "$CN_CLIENT_MAC"
cn_wait_frames "$T_TMP/stream-sec.pcap" "$n" "$CN_CLIENT_MAC"
capture_stop
AFTER=$(counters)
t_check "both replicas got the client's $n frames, byte for byte, in order" \
	same stream
t_check "both sockets got the 500 datagrams, in the order sent" \
	bash -c "cmp -s $T_TMP/sink-pri $T_TMP/sink-sec &&
		 python3 -c 'print(\"\n\".join(\"seq %d\" % k for k in range(500)))' |
		 cmp -s - $T_TMP/sink-pri"
t_check "counters: to_vm and mirrored are the client's $n frames" \
	test "$(delta "$BEFORE" "$AFTER" to_vm)" = "$n" -a \
	"$(delta "$BEFORE" "$AFTER" mirrored)" = "$n"
t_check "counters: no clone failed, nothing left alone, nothing unknown" \
	test "$(delta "$BEFORE" "$AFTER" clone_failed_secondary)" = 0 -a \
	"$(delta "$BEFORE" "$AFTER" left_alone)" = 0 -a \
	"$(delta "$BEFORE" "$AFTER" no_vm_mac)" = 0

# --- frames for other hosts: left alone -----------------------------------
ip addr add "$HOST_IP/32" dev "$CN_O"
# its answer's way back, whatever rp_filter says; both go with the link
ip route add "$CN_CLIENT_IP/32" dev "$CN_O"
t_bg python3 -c "$SINK" "$HOST_IP" 7100 "$T_TMP/sink-host"
cn_wait_cmd bash -c "ss -uln | grep -q '$HOST_IP:7100 '"
capture others || t_fail "others: captures"
BEFORE=$(counters)
# the client finds the host by ARP: a broadcast, for the host and the VM
udp_send "$CN_CLI" "$HOST_IP" 7100 20
ip netns exec "$CN_CLI" "$VMSEND" --dev eth0 --count 10 \
	--src-mac "$CN_CLIENT_MAC" --dst-mac "$OTHER_MAC" --src "$CN_CLIENT_IP" \
	--dst 10.0.0.99 >/dev/null
t_check "a socket on $CN_O's own address gets its 20 datagrams" \
	cn_wait_cmd lines_at_least "$T_TMP/sink-host" 20
n=$(($(frames others cli | wc -l)))
vm=$(for_vm others)
cn_wait_cmd settled "$BEFORE" "$n"
capture_stop
AFTER=$(counters)
t_check "the client's ARP broadcast reached both replicas (flooded $(delta "$BEFORE" "$AFTER" flooded))" \
	test "$(arps_from_client others pri)" -ge 1 -a \
	"$(arps_from_client others pri)" = "$(arps_from_client others sec)" -a \
	"$(delta "$BEFORE" "$AFTER" flooded)" = "$vm"
t_check "frames to $CN_O's MAC and to $OTHER_MAC reached neither replica" \
	bash -c "$(declare -f cn_none) &&
		 cn_none $T_TMP/others-pri.pcap 'not ether broadcast' &&
		 cn_none $T_TMP/others-sec.pcap 'not ether broadcast'"
t_check "counters: left_alone is the client's $((n - vm)) frames for other hosts" \
	test "$(delta "$BEFORE" "$AFTER" left_alone)" = "$((n - vm))" -a \
	"$((n - vm))" -ge 30

# --- SIGKILL: the mirror goes on; the restart takes it over ---------------
ID=$(tc filter show dev "$CN_O" ingress | sed -n 's/.* id \([0-9]*\) name colo_mirror.*/\1/p')
TO_VM=$(counter to_vm)
kill -KILL "$RUN"
wait "$RUN" 2>/dev/null
capture gap || t_fail "gap: captures"
udp_send "$CN_CLI" "$CN_GUEST_IP" 7007 10
cn_wait_cmd lines_at_least "$T_TMP/sink-sec" 510
t_check "loader killed: the mirror goes on, both sockets get 10 more" \
	bash -c "cmp -s $T_TMP/sink-pri $T_TMP/sink-sec &&
		 test \$(wc -l <$T_TMP/sink-pri) = 510"
capture_stop
if start "$T_TMP/run2.log"; then
	t_ok "the restart takes the instance over"
else
	t_fail "the restart takes the instance over: $(cat "$T_TMP/run2.log")"
fi
NEW=$(tc filter show dev "$CN_O" ingress | sed -n 's/.* id \([0-9]*\) name colo_mirror.*/\1/p')
t_check "the restart replaced the mirror (program $ID, now $NEW), one filter" \
	test -n "$NEW" -a "$NEW" != "$ID" -a \
	"$(tc filter show dev "$CN_O" ingress | grep -c colo_mirror)" = 1
t_check "its counters went on ($TO_VM before the kill, then 10 more)" \
	test "$(counter to_vm)" -ge "$((TO_VM + 10))"
t_check "ping after the restart: 3 of 3" \
	ip netns exec "$CN_CLI" ping -c 3 -i 0.2 -W 5 -q "$CN_GUEST_IP"
stop
t_check "SIGTERM: exit status 0" test $? -eq 0
t_check "stop: no filter, no clsact qdisc, no pins left" nothing_left

# --- --vm-mac: the first frame is mirrored --------------------------------
# someone else's clsact qdisc and filter were there first: they stay
tc qdisc add dev "$CN_O" clsact
tc filter add dev "$CN_O" egress pref 7 protocol all u32 match u32 0 0
if start "$T_TMP/run3.log" --vm-mac "$CN_GUEST_MAC"; then
	t_ok "colo-xdp run --vm-mac starts beside someone else's clsact qdisc"
else
	t_fail "colo-xdp run --vm-mac starts: $(cat "$T_TMP/run3.log")"
fi
t_check "--vm-mac: stat shows it, fixed" \
	test "$(mirror '(m["vm_mac"], m["vm_mac_fixed"])')" = \
	"('$CN_GUEST_MAC', True)"
t_check "--vm-mac: the client's first ping is answered, before the VM sent anything" \
	ip netns exec "$CN_CLI" ping -c 1 -W 5 -q "$CN_GUEST_IP"
stop
t_check "stop: colo_mirror removed, the other qdisc and its filter stay" \
	others_stay
tc qdisc del dev "$CN_O" clsact

start "$T_TMP/run4.log" --vm-mac "$OTHER_MAC" || t_fail "--vm-mac $OTHER_MAC"
# the primary's frames say otherwise: --vm-mac wins
ip netns exec "$CN_PRI" "$VMSEND" --dev eth0 --proto arp --count 1 >/dev/null
t_check "--vm-mac $OTHER_MAC: the VM's own MAC is not mirrored, ping fails" \
	bash -c "! ip netns exec $CN_CLI ping -c 2 -i 0.2 -W 1 -q $CN_GUEST_IP"
t_check "--vm-mac $OTHER_MAC: left alone: the 2 pings, the client's answer to the ARP" \
	test "$(counter left_alone)" = 3 -a "$(counter to_vm)" = 0
stop

# --- --mirror off ---------------------------------------------------------
start "$T_TMP/run5.log" --mirror off || t_fail "--mirror off starts"
t_check "--mirror off: says so, no filter and no qdisc on $CN_O" \
	bash -c "grep -q '^not mirroring (--mirror off)' $T_TMP/run5.log &&
		 ! tc qdisc show dev $CN_O | grep -q 'clsact\|ingress'"
t_check "--mirror off: stat shows no mirror" test "$(mirror m)" = None
capture off || t_fail "off: captures"
ip netns exec "$CN_CLI" ping -c 2 -i 0.2 -W 1 -q "$CN_GUEST_IP" >/dev/null
capture_stop
t_check "--mirror off: the client's pings reach neither replica" \
	test "$(count off pri)" = 0 -a "$(count off sec)" = 0 -a \
	"$(count off cli)" = 2
# the setups --mirror off is for: another mirror, here tc's own
cn_mirror
t_check "--mirror off beside tc's mirror: ping, 3 of 3" \
	ip netns exec "$CN_CLI" ping -c 3 -i 0.2 -W 5 -q "$CN_GUEST_IP"
stop
t_check "--mirror off: stop leaves tc's mirror as it was" \
	bash -c "tc filter show dev $CN_O ingress | grep -q 'mirred' &&
		 test ! -e $INST"

t_done
