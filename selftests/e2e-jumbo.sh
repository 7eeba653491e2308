#!/bin/bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# Jumbo frames (MTU 9000) with the default --frame-size 2048: each frame
# spans six UMEM frames (AF_XDP multi-buffer, XDP_USE_SG) after colo_steer
# (xdp.frags) took it as a multi-buffer XDP frame. On veths and on taps:
# the client gets exactly the primary's 9000-byte UDP, TCP and ICMP
# frames, in order, byte for byte; a secondary frame that differs only
# after byte 5000 (in a later chunk) is a mismatch.
. "$(dirname "$0")/lib.sh"
. "$T_TOP/tools/colo-netns.sh"
CN_ON_EXIT=t_on_exit
VMSEND=$T_BUILD/colo-vmsend
MTU=9000
t_skip_unless_root

# mtu IF [NS]: the jumbo MTU on an interface (in a namespace).
mtu() {
	ip ${2:+-n "$2"} link set dev "$1" mtu $MTU
}

# same NAME EXPECTED.pcap GOT.pcap: GOT holds exactly EXPECTED's frames
# from the guests' address, in order, byte for byte.
same() {
	local n
	n=$(cn_frames "$2" "$CN_GUEST_MAC" | wc -l)
	if ((n)) && cmp -s <(cn_frames "$2" "$CN_GUEST_MAC") \
		<(cn_frames "$3" "$CN_GUEST_MAC"); then
		t_ok "$1: the client gets the primary's $n frames, in order, byte for byte"
	else
		t_fail "$1: the client got $(cn_frames "$3" "$CN_GUEST_MAC" |
			wc -l) frames, not the primary's $n"
	fi
}

# capture NS IF FILE [FILTER...]: as cn_capture_start, whole jumbo frames.
capture() {
	local i
	ip netns exec "$1" tcpdump -i "$2" -w "$3" -U -n --immediate-mode \
		-s 9100 -B 65536 "${@:4}" 2>"$3.log" &
	CN_CAP_PID=$!
	t_on_exit "kill $CN_CAP_PID"
	for ((i = 0; i < 100; i++)); do
		grep -q "listening on" "$3.log" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

# start TAG FLAGS...: colo-xdp run on CN_P, CN_S, CN_O; its log in LOG.
start() {
	LOG=$T_TMP/$1-run.log
	t_bg "$COLO_XDP" run --primary-in "$CN_P" --secondary-in "$CN_S" \
		--outdev "$CN_O" --verbose "${@:2}" >"$LOG" 2>&1
	RUN=$T_LAST_PID
	if ! cn_wait_log "$LOG" "^comparing"; then
		t_fail "$1: colo-xdp run starts at MTU $MTU: $(cat "$LOG")"
		return 1
	fi
	t_ok "$1: colo-xdp run starts at MTU $MTU"
	t_check "$1: the start says frames span several UMEM frames" \
		grep -q "^multi-buffer: MTU $MTU takes frames of up to 6 UMEM frames (XDP_USE_SG)" "$LOG"
}

# stream TAG NAME SEND FLAGS...: the same crafted stream from both
# replicas, SEND P|S naming where (a namespace's eth0, or a tap).
stream() {
	local tag=$1 name=$2 send=$3 cap
	shift 3
	capture "$CN_CLI" eth0 "$T_TMP/$tag-$name-cli.pcap" ||
		t_fail "$tag $name: capture"
	cap=$CN_CAP_PID
	$send P --ip-id 1000 --write "$T_TMP/$tag-$name-pri.pcap" "$@"
	$send S --ip-id 40000 "$@"
	cn_wait_frames "$T_TMP/$tag-$name-cli.pcap" \
		"$(cn_frames "$T_TMP/$tag-$name-pri.pcap" | wc -l)" "$CN_GUEST_MAC"
	cn_capture_stop "$cap"
	same "$tag $name" "$T_TMP/$tag-$name-pri.pcap" \
		"$T_TMP/$tag-$name-cli.pcap"
}

send_veth() {
	local ns=$CN_PRI
	[[ $1 == S ]] && ns=$CN_SEC
	ip netns exec "$ns" "$VMSEND" --dev eth0 "${@:2}"
}

send_tap() {
	local tap=$CN_P
	[[ $1 == S ]] && tap=$CN_S
	"$VMSEND" --tap "$tap" "${@:2}"
}

# ping_jumbo TAG: both replicas' kernels answer 9000-byte echoes.
ping_jumbo() {
	local cap1 cap2
	capture "$CN_PRI" eth0 "$T_TMP/ping-pri.pcap" icmp && cap1=$CN_CAP_PID
	capture "$CN_CLI" eth0 "$T_TMP/ping-cli.pcap" icmp && cap2=$CN_CAP_PID
	t_check "$1 ping -s 8972 through the comparator: 5 of 5 replies" \
		ip netns exec "$CN_CLI" ping -c 5 -i 0.2 -W 5 -q -M do \
		-s 8972 "$CN_GUEST_IP"
	cn_wait_frames "$T_TMP/ping-cli.pcap" 5 "$CN_GUEST_MAC"
	cn_capture_stop "$cap1"
	cn_capture_stop "$cap2"
	same "$1 ping -s 8972" "$T_TMP/ping-pri.pcap" "$T_TMP/ping-cli.pcap"
}

# suite TAG SEND [ping]: the streams, ping and the late mismatch, then the stop.
suite() {
	local tag=$1 send=$2 cap
	# IP packets of 9000 bytes: 8972 of UDP payload, 8948 of TCP (its
	# MSS with timestamps on at this MTU), an 8972-byte echo
	stream "$tag" "UDP 9000" "$send" --proto udp --count 200 --size 8972 \
		--sport 4001
	stream "$tag" "TCP 8948-byte segments" "$send" --proto tcp --count 200 \
		--size 8948 --sport 4002
	stream "$tag" "ICMP 9000" "$send" --proto icmp --count 100 --size 8972 \
		--sport 4003
	# real guests answer: after the streams, which taught the mirror
	# the VM's MAC
	[[ $3 == ping ]] && ping_jumbo "$tag"
	# the secondary differs at payload byte 5000 of frame 10: the third
	# chunk; the first ten frames leave, the rest is held
	capture "$CN_CLI" eth0 "$T_TMP/$tag-mm-cli.pcap" udp port 4100 &&
		cap=$CN_CAP_PID
	$send P --proto udp --count 20 --size 8972 --sport 4100 --ip-id 2000 \
		--write "$T_TMP/$tag-mm-pri.pcap"
	$send S --proto udp --count 20 --size 8972 --sport 4100 --ip-id 41000 \
		--differ-at 10 --differ-byte 5000
	t_check "$tag mismatch after byte 5000: a checkpoint request" \
		cn_wait_log "$LOG" "^checkpoint request: mismatch"
	t_check "$tag mismatch after byte 5000: found at that byte of the UDP payload" \
		grep -q "^mismatch: proto 17 10.0.0.1:4100 > 10.0.0.2:5000 vlan 0 at byte 5008 " "$LOG"
	cn_wait_frames "$T_TMP/$tag-mm-cli.pcap" 10 "$CN_GUEST_MAC"
	t_check "$tag mismatch after byte 5000: only the 10 frames before it leave" \
		cmp -s <(cn_frames "$T_TMP/$tag-mm-pri.pcap" | sed -n 1,10p) \
		<(cn_frames "$T_TMP/$tag-mm-cli.pcap" "$CN_GUEST_MAC")
	kill -TERM "$RUN"
	wait "$RUN"
	t_check "$tag SIGTERM: exit status 0" test $? -eq 0
	cn_wait_frames "$T_TMP/$tag-mm-cli.pcap" 20 "$CN_GUEST_MAC"
	cn_capture_stop "$cap"
	same "$tag SIGTERM flushes the held jumbo frames" \
		"$T_TMP/$tag-mm-pri.pcap" "$T_TMP/$tag-mm-cli.pcap"
}

# --- veths: colo_steer must be xdp.frags for veth to take it at all ---
cn_veth_topology "${T_PREFIX}v" || {
	t_fail "build the namespaces"
	t_done
}
for i in "$CN_P" "$CN_S" "$CN_O"; do mtu "$i"; done
for n in "$CN_PRI" "$CN_SEC" "$CN_CLI"; do mtu eth0 "$n"; done
start veth && suite veth send_veth ping

# --- taps: written as QEMU writes a guest's frames ---
cn_tap_topology "${T_PREFIX}t" || {
	t_fail "build the taps"
	t_done
}
for i in "$CN_P" "$CN_S" "$CN_O"; do mtu "$i"; done
mtu eth0 "$CN_CLI"
start tap --zero-copy off && suite tap send_tap

t_done
