#!/bin/bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# colo-xdp run on real traffic: a client and two replicas in namespaces on
# veths (tools/colo-netns.sh), the real colo_steer program and AF_XDP
# sockets. What reaches the client must be exactly the primary's frames,
# in order, byte for byte; a secondary frame never.
. "$(dirname "$0")/lib.sh"
. "$T_TOP/tools/colo-netns.sh"
CN_ON_EXIT=t_on_exit
VMSEND=$T_BUILD/colo-vmsend
t_skip_unless_root

cn_veth_topology "$T_PREFIX" || {
	t_fail "build the namespaces"
	t_done
}
# All suite long: what the primary sent, and what reached the client.
cn_capture_start "$CN_PRI" eth0 "$T_TMP/pri-all.pcap" || t_fail "capture"
PRI_CAP=$CN_CAP_PID
cn_capture_start "$CN_CLI" eth0 "$T_TMP/cli-all.pcap" || t_fail "capture"
CLI_CAP=$CN_CAP_PID

LOG=$T_TMP/run.log
t_bg "$COLO_XDP" run --primary-in "$CN_P" --secondary-in "$CN_S" \
	--outdev "$CN_O" --verbose >"$LOG" 2>&1
RUN=$T_LAST_PID
if ! cn_wait_log "$LOG" "^comparing"; then
	t_fail "colo-xdp run starts: $(cat "$LOG")"
	t_done
fi
t_ok "colo-xdp run starts"
# veth has no zero-copy: the default (prefer) binds every socket in copy
# mode, says why, and stat reports the mode per interface
t_check "start: the AF_XDP mode of each interface, and why" \
	grep -q "^af_xdp: $CN_P copy, $CN_S copy, $CN_O copy (zero-copy refused on $CN_P (Operation not supported), so copy on all: they share one UMEM)" "$LOG"
all_copy() {
	[[ $("$COLO_XDP" stat --pin-path "/sys/fs/bpf/colo-xdp/$CN_P" --json |
		python3 -c 'import json, sys
i = json.load(sys.stdin)["instances"][0]["interfaces"]
print(" ".join(i[r]["mode"] for r in ("primary", "secondary", "outdev")))') == "copy copy copy" ]]
}
t_check "stat --json: mode copy on each interface" cn_wait_cmd all_copy
t_check "colo_steer is attached to the primary and the secondary" \
	bash -c "ip -d link show dev $CN_P | grep -q 'prog/xdp.*name colo_steer' &&
		 ip -d link show dev $CN_S | grep -q 'prog/xdp.*name colo_steer'"

# same_frames NAME EXPECTED.pcap GOT.pcap: GOT holds exactly EXPECTED's
# frames from the guests' address, in order.
same_frames() {
	local n
	n=$(cn_frames "$2" "$CN_GUEST_MAC" | wc -l)
	if diff -q <(cn_frames "$2" "$CN_GUEST_MAC") \
		<(cn_frames "$3" "$CN_GUEST_MAC") \
		>/dev/null; then
		t_ok "$1: the client gets the primary's $n frames, in order, byte for byte"
	else
		t_fail "$1: the client got $(cn_frames "$3" "$CN_GUEST_MAC" |
			wc -l) frames, not the primary's $n"
	fi
}

# stream NAME FLAGS...: the same crafted stream from both replicas (the
# secondary's IPv4 IDs differ: not compared, but they tell its frames
# apart).
stream() {
	local name=$1 cap
	shift
	cn_capture_start "$CN_CLI" eth0 "$T_TMP/$name-cli.pcap" || {
		t_fail "$name: capture"
		return
	}
	cap=$CN_CAP_PID
	ip netns exec "$CN_PRI" "$VMSEND" --dev eth0 --ip-id 1000 \
		--write "$T_TMP/$name-pri.pcap" "$@" &
	ip netns exec "$CN_SEC" "$VMSEND" --dev eth0 --ip-id 40000 "$@"
	wait $!
	cn_wait_frames "$T_TMP/$name-cli.pcap" \
		"$(cn_frames "$T_TMP/$name-pri.pcap" | wc -l)" "$CN_GUEST_MAC"
	cn_capture_stop "$cap"
	same_frames "$name" "$T_TMP/$name-pri.pcap" "$T_TMP/$name-cli.pcap"
}

stream "UDP stream" --proto udp --count 500 --size 200 --sport 4001
stream "TCP stream" --proto tcp --count 500 --size 1000 --sport 4002
stream "ICMP stream" --proto icmp --count 200 --size 56 --sport 4003

# Real services: ping and a UDP echo server answer in both replicas.
cn_capture_start "$CN_PRI" eth0 "$T_TMP/ping-pri.pcap" icmp && cap1=$CN_CAP_PID
cn_capture_start "$CN_CLI" eth0 "$T_TMP/ping-cli.pcap" icmp && cap2=$CN_CAP_PID
t_check "ping through the comparator: 5 of 5 replies" \
	ip netns exec "$CN_CLI" ping -c 5 -i 0.2 -W 5 -q "$CN_GUEST_IP"
cn_wait_frames "$T_TMP/ping-pri.pcap" 5 "$CN_GUEST_MAC"
cn_wait_frames "$T_TMP/ping-cli.pcap" 5 "$CN_GUEST_MAC"
cn_capture_stop "$cap1"
cn_capture_stop "$cap2"
same_frames "ping" "$T_TMP/ping-pri.pcap" "$T_TMP/ping-cli.pcap"

ECHO='import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("0.0.0.0", 7007))
while True:
    d, a = s.recvfrom(2048)
    s.sendto(d, a)'
# Both replicas must listen before the first request: one that only the
# primary answers is a real divergence, held until a checkpoint.
t_bg ip netns exec "$CN_PRI" python3 -c "$ECHO"
t_bg ip netns exec "$CN_SEC" python3 -c "$ECHO"
udp_listening() {
	ip netns exec "$1" ss -uln | grep -q ":7007 "
}
t_check "UDP echo servers listen in both replicas" cn_wait_cmd \
	bash -c "$(declare -f udp_listening); udp_listening $CN_PRI &&
		 udp_listening $CN_SEC"
CLIENT='import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(5)
for i in range(20):
    m = b"request %d" % i
    s.sendto(m, (sys.argv[1], 7007))
    if s.recv(2048) != m:
        sys.exit("wrong answer to request %d" % i)'
t_check "UDP echo service through the comparator: 20 of 20 answers" \
	ip netns exec "$CN_CLI" python3 -c "$CLIENT" "$CN_GUEST_IP"

# A mismatch: the connection is held from the differing frame on, and a
# checkpoint request is logged. The held frames leave at the stop (flush).
cn_capture_start "$CN_CLI" eth0 "$T_TMP/mm-cli.pcap" udp port 4100 &&
	MM_CAP=$CN_CAP_PID
ip netns exec "$CN_PRI" "$VMSEND" --dev eth0 --proto udp --count 20 \
	--sport 4100 --ip-id 2000 --write "$T_TMP/mm-pri.pcap"
ip netns exec "$CN_SEC" "$VMSEND" --dev eth0 --proto udp --count 20 \
	--sport 4100 --ip-id 41000 --differ-at 10
t_check "mismatch: the frames before it reach the client" \
	cn_wait_frames "$T_TMP/mm-cli.pcap" 10 "$CN_GUEST_MAC"
t_check "mismatch: a checkpoint request is logged" \
	cn_wait_log "$LOG" "^checkpoint request: mismatch"
t_check "mismatch: the flow is named in the log" \
	grep -q "^mismatch: proto 17 10.0.0.1:4100 > 10.0.0.2:5000" "$LOG"

# ARP is not compared: the primary's goes out at once, the secondary's
# (sent first, told apart by its sender address) never.
cn_capture_start "$CN_CLI" eth0 "$T_TMP/arp-cli.pcap" arp && cap=$CN_CAP_PID
ip netns exec "$CN_SEC" "$VMSEND" --dev eth0 --proto arp --count 3 \
	--src 10.0.0.99
ip netns exec "$CN_PRI" "$VMSEND" --dev eth0 --proto arp --count 3 \
	--write "$T_TMP/arp-pri.pcap"
cn_wait_frames "$T_TMP/arp-cli.pcap" 3 "$CN_GUEST_MAC"
cn_capture_stop "$cap"
same_frames "ARP from the primary" "$T_TMP/arp-pri.pcap" "$T_TMP/arp-cli.pcap"

# Still held while running: exactly the 10 frames before the mismatch.
cn_frames "$T_TMP/mm-pri.pcap" | sed -n 1,10p >"$T_TMP/mm-first10"
cn_frames "$T_TMP/mm-cli.pcap" "$CN_GUEST_MAC" >"$T_TMP/mm-held"
t_check "mismatch: the rest of the connection is held" \
	cmp -s "$T_TMP/mm-first10" "$T_TMP/mm-held"

# SIGTERM: flush as a checkpoint would, detach, unpin, exit 0.
kill -TERM "$RUN"
wait "$RUN"
t_check "SIGTERM: exit status 0" test $? -eq 0
cn_wait_frames "$T_TMP/mm-cli.pcap" 20 "$CN_GUEST_MAC"
cn_capture_stop "$MM_CAP"
same_frames "SIGTERM flushes the held connection" "$T_TMP/mm-pri.pcap" \
	"$T_TMP/mm-cli.pcap"
t_check "SIGTERM: nothing left attached" \
	bash -c "! ip -d link show dev $CN_P | grep -q prog/xdp &&
		 ! ip -d link show dev $CN_S | grep -q prog/xdp"
t_check "SIGTERM: nothing left pinned" test ! -e "/sys/fs/bpf/colo-xdp/$CN_P"

# The whole suite: every frame from the guests' address that reached the
# client is one the primary sent (crafted, or captured on its side: under
# the bursts that capture may miss frames, never invent them).
cn_capture_stop "$PRI_CAP"
cn_capture_stop "$CLI_CAP"
for f in "$T_TMP"/*-pri.pcap "$T_TMP/pri-all.pcap"; do
	cn_frames "$f" "$CN_GUEST_MAC"
done >"$T_TMP/primary-frames"
cn_frames "$T_TMP/cli-all.pcap" "$CN_GUEST_MAC" >"$T_TMP/client-frames"
t_check "whole suite: the client got only frames the primary sent" \
	test "$(grep -cvxF -f "$T_TMP/primary-frames" \
		"$T_TMP/client-frames")" -eq 0
# The crafted streams carry the secondary's own IPv4 IDs and ARP sender.
SEC_ONLY="ether src $CN_GUEST_MAC and ((ip[4:2] >= 40000 and
	(udp src portrange 4001-4100 or tcp src portrange 4001-4100 or
	icmp[4:2] = 4003)) or (arp and arp[14:4] = 0x0a000063))"
t_check "whole suite: no secondary frame reached the client" \
	cn_none "$T_TMP/cli-all.pcap" "$SEC_ONLY"

t_done
