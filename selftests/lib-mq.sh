# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# Multi-queue topologies for the suites that serve several queues
# (e2e-mq.sh, e2e-workers.sh): sourced after lib.sh and tools/colo-netns.sh,
# with QUEUES set.

# mq_replica NS HOST: a replica behind a veth of QUEUES queues each end.
mq_replica() {
	cn_ns "$1" &&
		ip link add "$2" numtxqueues $QUEUES numrxqueues $QUEUES \
			type veth peer name eth0 numtxqueues $QUEUES \
			numrxqueues $QUEUES netns "$1" || return 1
	t_on_exit "ip link del $2"
	ip -n "$1" link set eth0 address "$CN_GUEST_MAC" &&
		ip -n "$1" addr add "$CN_GUEST_IP/24" dev eth0 &&
		ip -n "$1" link set eth0 up &&
		ip netns exec "$1" ethtool -K eth0 tx off >/dev/null &&
		ip -n "$1" neigh add "$CN_CLIENT_IP" lladdr "$CN_CLIENT_MAC" \
			dev eth0 nud permanent && cn_host_if "$2"
}

# mq_taps: CN_P and CN_S become multi_queue taps with QUEUES queues
# attached by a writer each, as QEMU attaches them (tap_queues.py); a
# line "QUEUE SPORT COUNT IP_ID FILE" to fd WP (the primary's) or WS
# writes a flow into that queue. Fails unless both writers are ready.
mq_taps() {
	local t
	CN_P=${T_PREFIX}tp
	CN_S=${T_PREFIX}ts
	cn_pins_on_exit
	for t in "$CN_P" "$CN_S"; do
		ip tuntap add dev "$t" mode tap multi_queue || return 1
		t_on_exit "ip link del $t"
		cn_host_if "$t"
		mkfifo "$T_TMP/$t.in"
		# the redirections in the child: a fifo's open waits for its writer
		t_bg bash -c 'exec python3 "$0" "$1" "$2" <"$3" >"$4"' \
			"$T_TOP/selftests/tap_queues.py" "$t" $QUEUES \
			"$T_TMP/$t.in" "$T_TMP/$t.out"
	done
	# the writers' stdin, held open until the end (their EOF ends them)
	exec {WP}>"$T_TMP/$CN_P.in" {WS}>"$T_TMP/$CN_S.in"
	t_on_exit "exec $WP>&- $WS>&-"
	cn_wait_cmd grep -q ready "$T_TMP/$CN_P.out" &&
		cn_wait_cmd grep -q ready "$T_TMP/$CN_S.out"
}

# stat_json EXPR: EXPR evaluated on the first instance of stat --json (i).
stat_json() {
	"$COLO_XDP" stat --json | python3 -c 'import json, sys
i = json.load(sys.stdin)["instances"][0]
print(eval(sys.argv[1]))' "$1"
}

# client_flow CAPTURE SPORT: the frames of one flow the client got, hex.
client_flow() {
	tcpdump -r "$1" -w "$T_TMP/flow.pcap" -nn "udp src port $2" 2>/dev/null
	cn_frames "$T_TMP/flow.pcap" "$CN_GUEST_MAC"
}

# queues_used IF: how many of its RX queues XDP redirected frames from.
queues_used() {
	ethtool -S "$1" | grep -cE 'rx_queue_[0-9]+_xdp_redirect: [1-9]'
}

# mq_tap_flows CAPTURE FIRST: after mq_taps, a flow of 300 UDP frames into
# each queue of both taps, from port FIRST + queue on; true when the
# client's CAPTURE has each of the primary's flows whole and in order.
mq_tap_flows() {
	local q
	for ((q = 0; q < QUEUES; q++)); do
		echo "$q $(($2 + q)) 300 1000 $T_TMP/tap-pri-$q.hex" >&$WP
		echo "$q $(($2 + q)) 300 40000 -" >&$WS
	done
	cn_wait_cmd test "$(grep -c done "$T_TMP/$CN_S.out")" -eq $QUEUES
	cn_wait_frames "$1" $((300 * QUEUES)) "$CN_GUEST_MAC"
	for ((q = 0; q < QUEUES; q++)); do
		cmp -s "$T_TMP/tap-pri-$q.hex" \
			<(client_flow "$1" $(($2 + q))) || return 1
	done
}
