#!/bin/bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# Every RX queue served, and frames that leave uncompared on a veth outdev:
# - replicas on veths of 4 queues; veth's XDP queue is the sender's TX
#   queue, which a packet socket picks by the flow's hash, so eight UDP
#   flows land on several queues. No frame is dropped for want of a
#   socket (no_socket), every one is compared and released, each flow
#   reaches the client whole and in order;
# - the client's eth0 has neither XDP nor GRO: the guest's ARP still
#   reaches it (colo_out on P's tc ingress), and with --out-path xdp it
#   does not, which is why that path exists;
# - replicas on multi_queue taps, 4 queues attached by a writer as QEMU
#   does, one flow per queue;
# - a killed loader's successor takes over all its sockets;
# - a queue the device lacks is refused, naming the flag, the count and
#   the fix, leaving nothing behind.
. "$(dirname "$0")/lib.sh"
. "$T_TOP/tools/colo-netns.sh"
. "$T_TOP/selftests/lib-mq.sh"
CN_ON_EXIT=t_on_exit
VMSEND=$T_BUILD/colo-vmsend
QUEUES=4
t_skip_unless_root

CN_PRI=$T_PREFIX-pri
CN_SEC=$T_PREFIX-sec
CN_P=${T_PREFIX}p
CN_S=${T_PREFIX}s
cn_pins_on_exit
if ! cn_client "$T_PREFIX" || ! mq_replica "$CN_PRI" "$CN_P" ||
	! mq_replica "$CN_SEC" "$CN_S"; then
	t_fail "build the namespaces and 4-queue veths"
	t_done
fi
# the peer of a veth outdev as it may be: no XDP, no GRO
ip netns exec "$CN_CLI" ethtool -K eth0 gro off >/dev/null

# start NAME FLAGS...: colo-xdp run on CN_P, CN_S and CN_O; sets RUN, LOG.
start() {
	LOG=$T_TMP/$1.log
	shift
	t_bg "$COLO_XDP" run --primary-in "$CN_P" --secondary-in "$CN_S" \
		--outdev "$CN_O" --max-queue-size 4096 "$@" >"$LOG" 2>&1
	RUN=$T_LAST_PID
	cn_wait_log "$LOG" "^comparing"
}

stop() {
	kill -TERM "$RUN"
	wait "$RUN"
}

# flows FIRST N COUNT: N UDP flows from port FIRST on, COUNT frames each,
# from both replicas, the primary's kept in $T_TMP/SPORT-pri.pcap.
flows() {
	local sport pid
	for ((sport = $1; sport < $1 + $2; sport++)); do
		ip netns exec "$CN_PRI" "$VMSEND" --dev eth0 --proto udp \
			--count "$3" --sport "$sport" --ip-id 1000 \
			--write "$T_TMP/$sport-pri.pcap" >/dev/null &
		pid=$!
		ip netns exec "$CN_SEC" "$VMSEND" --dev eth0 --proto udp \
			--count "$3" --sport "$sport" --ip-id 40000 >/dev/null
		wait "$pid"
	done
}

# every_flow_whole FIRST N COUNT: the client got each flow's primary
# frames, each once, in order, byte for byte.
every_flow_whole() {
	local sport
	cn_wait_frames "$T_TMP/cli.pcap" $(($2 * $3)) "$CN_GUEST_MAC"
	for ((sport = $1; sport < $1 + $2; sport++)); do
		cmp -s <(cn_frames "$T_TMP/$sport-pri.pcap") \
			<(client_flow "$T_TMP/cli.pcap" "$sport") || {
			echo "# flow $sport differs at the client"
			return 1
		}
	done
}

cn_capture_start "$CN_CLI" eth0 "$T_TMP/cli.pcap" || t_fail "capture"
CAP=$CN_CAP_PID

# --- every queue of a 4-queue veth ---------------------------------------
if ! start veth; then
	t_fail "colo-xdp run starts on 4-queue veths: $(cat "$LOG")"
	t_done
fi
t_check "start line: the queues of each side" \
	grep -q "^comparing $CN_P (primary) with $CN_S (secondary), out on $CN_O: queues 0-3 and 0-3," "$LOG"
t_check "start line: uncompared frames by the host path on a veth outdev" \
	grep -q "through $CN_P's tc ingress (--out-path stack)" "$LOG"
t_check "stat --json: the queues bound per interface" \
	test "$(stat_json '[i["interfaces"][r]["queues"] for r in ("primary", "secondary", "outdev")]')" = \
	"[[0, 1, 2, 3], [0, 1, 2, 3], [0]]"
flows 5001 8 200
t_check "8 flows: each reaches the client whole, in order" \
	every_flow_whole 5001 8 200
t_check "8 flows came in on several RX queues of P and of S" \
	test "$(queues_used "$CN_P")" -ge 2 -a "$(queues_used "$CN_S")" -ge 2
t_check "no frame dropped for want of a socket (no_socket 0 on P and S)" \
	test "$(stat_json 'i["steer"]["primary"]["no_socket"] + i["steer"]["secondary"]["no_socket"]')" = 0
t_check "every frame compared and released: 1600 of each side" \
	test "$(stat_json '(i["steer"]["primary"]["to_socket"], i["steer"]["secondary"]["to_socket"], i["engine"]["released"])')" = \
	"(1600, 1600, 1600)"

# ARP through O, whose peer has neither XDP nor GRO
cn_capture_start "$CN_CLI" eth0 "$T_TMP/arp.pcap" arp || t_fail "capture"
ip netns exec "$CN_PRI" "$VMSEND" --dev eth0 --proto arp --count 20 >/dev/null
cn_wait_frames "$T_TMP/arp.pcap" 20 "$CN_GUEST_MAC"
cn_capture_stop "$CN_CAP_PID"
t_check "the guest's ARP reaches a client whose veth has no XDP, no GRO" \
	test "$(cn_frames "$T_TMP/arp.pcap" "$CN_GUEST_MAC" | wc -l)" -eq 20
t_check "ARP counted as bypassed, not compared" \
	test "$(stat_json 'i["steer"]["primary"]["bypassed"]')" -ge 20

# --- a killed loader's successor takes over every socket ------------------
kill -KILL "$RUN"
wait "$RUN" 2>/dev/null
if start takeover; then
	t_check "takeover: the sockets of all queues, from the keeper" \
		grep -q "^took over the sockets and UMEM of the dead loader" "$LOG"
	flows 5101 4 100
	t_check "takeover: 4 more flows reach the client whole" \
		every_flow_whole 5101 4 100
	t_check "takeover: still no frame without a socket" \
		test "$(stat_json 'i["steer"]["primary"]["no_socket"] + i["steer"]["secondary"]["no_socket"]')" = 0
	stop
else
	t_fail "takeover: colo-xdp run starts again: $(cat "$LOG")"
fi

# --- --queue N is --queues N: the other queues go unserved ----------------
if start one --queue 0 --out-path xdp; then
	t_check "--queue 0: one queue each" \
		grep -q ": queues 0 and 0," "$LOG"
	t_check "--out-path xdp on a veth: the note on its peer" \
		grep -q "is a veth and --out-path xdp" "$LOG"
	cn_capture_start "$CN_CLI" eth0 "$T_TMP/arp2.pcap" arp || t_fail "capture"
	ip netns exec "$CN_PRI" "$VMSEND" --dev eth0 --proto arp --count 20 \
		>/dev/null
	sleep 1
	cn_capture_stop "$CN_CAP_PID"
	# what the host path is for: XDP's redirect is lost on this peer
	t_check "--out-path xdp: ARP lost on a peer without XDP or GRO" \
		test "$(cn_frames "$T_TMP/arp2.pcap" "$CN_GUEST_MAC" | wc -l)" -eq 0
	stop
else
	t_fail "--queue 0: colo-xdp run starts: $(cat "$LOG")"
fi

# --- bad input: a queue the device lacks ----------------------------------
out=$(timeout 30 "$COLO_XDP" run --primary-in "$CN_P" --secondary-in "$CN_S" \
	--outdev "$CN_O" --queues 0,2-5 2>&1)
rc=$?
t_check "--queues 0,2-5 on 4 queues: refused (exit 1)" test $rc -eq 1
t_check "--queues 0,2-5: names the flag, the count and the fix" \
	grep -q -- "--queues: primary $CN_P has 4 RX queues (0-3), not queue 4: list queues below 4, or give --queues all, or give it more queues ('ethtool -L $CN_P rx N'" <<<"$out"
t_check "--queues 0,2-5: nothing attached, pinned or on a tc hook" \
	bash -c "! ip -d link show dev $CN_P | grep -q prog/xdp &&
		! ip -d link show dev $CN_S | grep -q prog/xdp &&
		test -z \"\$(tc filter show dev $CN_P ingress)\" &&
		! tc qdisc show dev $CN_P | grep -q clsact &&
		test ! -e /sys/fs/bpf/colo-xdp/$CN_P"
cn_capture_stop "$CAP"
t_check "stopped: colo_out and its qdisc gone from $CN_P" \
	bash -c "test -z \"\$(tc filter show dev $CN_P ingress)\" &&
		! tc qdisc show dev $CN_P | grep -q clsact"

# --- a multi_queue tap, 4 queues attached as QEMU would --------------------
mq_taps || t_fail "the writers attach $QUEUES queues to each tap"
cn_capture_start "$CN_CLI" eth0 "$T_TMP/tap.pcap" udp || t_fail "capture"
CAP=$CN_CAP_PID
if start tap --zero-copy off; then
	t_check "tap: every queue attached is served" \
		grep -q ": queues 0-3 and 0-3," "$LOG"
	t_check "tap: a flow per queue, each reaches the client whole, in order" \
		mq_tap_flows "$T_TMP/tap.pcap" 6000
	t_check "tap: no_socket 0, 1200 of each side compared and released" \
		test "$(stat_json '(i["steer"]["primary"]["no_socket"] + i["steer"]["secondary"]["no_socket"], i["steer"]["primary"]["to_socket"], i["steer"]["secondary"]["to_socket"], i["engine"]["released"])')" = \
		"(0, 1200, 1200, 1200)"
	stop
	t_check "tap: SIGTERM, exit status 0" test $? -eq 0
else
	t_fail "tap: colo-xdp run starts on multi_queue taps: $(cat "$LOG")"
fi
cn_capture_stop "$CAP"

t_done
