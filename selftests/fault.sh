#!/bin/bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# Faults under a running `colo-xdp run`, on real traffic: a client and two
# replicas in namespaces (tools/colo-netns.sh), the real colo_steer
# program, real AF_XDP sockets, a fresh topology per case. The defined
# outcomes:
# - an interface deleted (P, S or O): a message naming it and its flag, a
#   clean exit with status 1, nothing left attached or pinned;
# - a link flapping (P, S or O down, then up): the loader runs on, and
#   once the link is back the next stream reaches the client exactly, in
#   order, byte for byte;
# - O's peer down (the client's end of the outdev): the loader runs on;
#   frames sent meanwhile are lost on the wire, not held or leaked, and
#   once the peer is back the next stream reaches the client exactly;
# - the controller disconnecting mid-checkpoint (it took DO_CHECKPOINT and
#   hung up): the loader runs on, the request stays pending and repeated,
#   the next controller that connects gets it, and its answer releases the
#   held frames, in order.
# No case lets a secondary frame reach the client.
. "$(dirname "$0")/lib.sh"
. "$T_TOP/tools/colo-netns.sh"
CN_ON_EXIT=t_on_exit
VMSEND=$T_BUILD/colo-vmsend
XENCTL=$T_TOP/tools/colo-xenctl.py
t_skip_unless_root

# start CASE [FLAGS...]: a fresh topology for CASE (one letter) and
# `colo-xdp run` on it, logging to $T_TMP/CASE.log; sets RUN and INST.
start() {
	local c=$1
	shift
	cn_veth_topology "$T_PREFIX$c" || {
		t_fail "$c: build the namespaces"
		return 1
	}
	INST=/sys/fs/bpf/colo-xdp/$CN_P
	LOG=$T_TMP/$c.log
	t_bg "$COLO_XDP" run --primary-in "$CN_P" --secondary-in "$CN_S" \
		--outdev "$CN_O" "$@" >"$LOG" 2>&1
	RUN=$T_LAST_PID
	if ! cn_wait_log "$LOG" "^comparing"; then
		t_fail "$c: colo-xdp run starts: $(cat "$LOG")"
		return 1
	fi
}

# stream NAME SPORT [FLAGS...]: 200 UDP frames from both replicas (the
# secondary's IPv4 IDs differ: not compared, but they tell its frames
# apart); the client must get exactly the primary's, in order.
stream() {
	local name=$1 sport=$2 cap n
	shift 2
	cn_capture_start "$CN_CLI" eth0 "$T_TMP/$name-cli.pcap" udp || {
		t_fail "$name: capture"
		return 1
	}
	cap=$CN_CAP_PID
	send "$name" "$sport" "$@"
	n=$(cn_frames "$T_TMP/$name-pri.pcap" | wc -l)
	cn_wait_frames "$T_TMP/$name-cli.pcap" "$n" "$CN_GUEST_MAC"
	cn_capture_stop "$cap"
	t_check "$name: the client gets the primary's $n frames, in order, byte for byte" \
		diff -q <(cn_frames "$T_TMP/$name-pri.pcap" "$CN_GUEST_MAC") \
		<(cn_frames "$T_TMP/$name-cli.pcap" "$CN_GUEST_MAC")
}

# send NAME SPORT [FLAGS...]: the stream alone, the primary's into
# $T_TMP/NAME-pri.pcap.
send() {
	local name=$1 sport=$2
	shift 2
	ip netns exec "$CN_PRI" "$VMSEND" --dev eth0 --proto udp --count 200 \
		--size 100 --sport "$sport" --ip-id 1000 \
		--write "$T_TMP/$name-pri.pcap" "$@" &
	ip netns exec "$CN_SEC" "$VMSEND" --dev eth0 --proto udp --count 200 \
		--size 100 --sport "$sport" --ip-id 40000 "$@"
	wait $!
}

# stat_json EXPR: a value of this instance's `colo-xdp stat --json`, EXPR
# Python on i (the instance), e.g. i["datapath"]["pool_free"].
stat_json() {
	"$COLO_XDP" stat --pin-path "$INST" --json 2>/dev/null |
		python3 -c 'import json, sys
i = json.load(sys.stdin)["instances"][0]
print(eval(sys.argv[1]))' "$1"
}

dp() {
	stat_json "i[\"datapath\"][\"$1\"]"
}

# dp_is FIELD N: the datapath counter FIELD is N.
dp_is() {
	[[ $(dp "$1") == "$2" ]]
}

o_dropped() {
	cat "/sys/class/net/$CN_O/statistics/tx_dropped"
}

o_dropped_is() {
	[[ $(o_dropped) == "$1" ]]
}

exited() {
	! kill -0 "$RUN" 2>/dev/null
}

alive() {
	kill -0 "$RUN" 2>/dev/null
}

# nothing_left: no program on P or S, no mirror or qdisc on O (those that
# still exist), no pins.
nothing_left() {
	! ip -d link show dev "$CN_P" 2>/dev/null | grep -q prog/xdp &&
		! ip -d link show dev "$CN_S" 2>/dev/null | grep -q prog/xdp &&
		! tc qdisc show dev "$CN_O" 2>/dev/null | grep -q clsact &&
		test ! -e "$INST"
}

# --- an interface deleted under the running loader ------------------------
# deleted CASE ROLE FLAG: delete the interface of ROLE (P, S or O).
deleted() {
	local c=$1 flag=$3 dev rc
	start "$c" || return
	stream "$c: before" 5000
	case $2 in
	P) dev=$CN_P ;;
	S) dev=$CN_S ;;
	O) dev=$CN_O ;;
	esac
	ip link del "$dev"
	t_check "$c: $dev ($flag) deleted: colo-xdp run stops" \
		cn_wait_cmd exited
	wait "$RUN"
	rc=$?
	t_check "$c: exit status 1 ($rc)" test "$rc" -eq 1
	t_check "$c: the message names $dev and $flag" \
		grep -q "$dev ($flag) was deleted" "$LOG"
	t_check "$c: nothing left attached or pinned" nothing_left
}
deleted d P --primary-in
deleted e S --secondary-in
deleted f O --outdev

# --- a link flapping --------------------------------------------------------
if start g; then
	stream "flap: before" 5100
	for dev in "$CN_S" "$CN_P" "$CN_O"; do
		ip link set dev "$dev" down
		ip link set dev "$dev" up
	done
	# the client's neighbour entry is permanent: no ARP after the flap
	t_check "flap: P, S and O down and up: the loader runs on" alive
	t_check "flap: the loader saw no deletion" \
		bash -c "! grep -q 'was deleted' $LOG"
	stream "flap: after" 5101
	# a flap while a stream runs: the loader survives it, no duplicate
	cn_capture_start "$CN_CLI" eth0 "$T_TMP/flap-mid-cli.pcap" udp ||
		t_fail "flap: capture"
	cap=$CN_CAP_PID
	send "flap-mid" 5102 &
	snd=$!
	ip link set dev "$CN_S" down
	ip link set dev "$CN_S" up
	wait "$snd"
	t_check "flap: mid-stream: the loader runs on" alive
	stream "flap: after the mid-stream flap" 5103
	kill -TERM "$RUN"
	wait "$RUN"
	t_check "flap: SIGTERM: exit status 0" test $? -eq 0
	cn_capture_stop "$cap"
	t_check "flap: mid-stream: no frame reached the client twice" \
		test -z "$(cn_frames "$T_TMP/flap-mid-cli.pcap" "$CN_GUEST_MAC" |
			sort | uniq -d)"
	t_check "flap: mid-stream: no secondary frame reached the client" \
		cn_none "$T_TMP/flap-mid-cli.pcap" "ip[4:2] >= 40000"
	t_check "flap: nothing left attached or pinned" nothing_left
fi

# --- O's peer down ----------------------------------------------------------
if start h; then
	stream "peer down: before" 5200
	# published every second: wait until it shows the stream went out
	cn_wait_cmd dp_is tx_completed 200
	free=$(dp pool_free)
	dropped=$(o_dropped)
	ip -n "$CN_CLI" link set dev eth0 down
	send "peer-down" 5201
	t_check "peer down: the loader runs on" alive
	t_check "peer down: the 200 frames still leave O's ring" \
		cn_wait_cmd dp_is tx_completed 400
	t_check "peer down: and the kernel counts them dropped on O" \
		cn_wait_cmd o_dropped_is $((dropped + 200))
	t_check "peer down: every frame went back to the pool ($free free)" \
		cn_wait_cmd dp_is pool_free "$free"
	ip -n "$CN_CLI" link set dev eth0 up
	stream "peer down: after it is back" 5202
	kill -TERM "$RUN"
	wait "$RUN"
	t_check "peer down: SIGTERM: exit status 0" test $? -eq 0
	t_check "peer down: nothing left attached or pinned" nothing_left
fi

# --- the controller disconnecting mid-checkpoint -----------------------------
XSOCK=$T_TMP/xen.sock
if start x --notify "xen:unix:$XSOCK" --expired-scan-cycle 200; then
	t_bg python3 "$XENCTL" "unix:$XSOCK" hangup "$T_TMP/x-ready"
	HANG=$T_LAST_PID
	cn_wait_cmd test -e "$T_TMP/x-ready"
	cn_capture_start "$CN_CLI" eth0 "$T_TMP/gone-cli.pcap" udp
	cap=$CN_CAP_PID
	# the secondary differs from frame 50 on: the rest is held
	ip netns exec "$CN_PRI" "$VMSEND" --dev eth0 --proto udp --count 200 \
		--size 100 --sport 5300 --ip-id 1000 \
		--write "$T_TMP/gone-pri.pcap" &
	ip netns exec "$CN_SEC" "$VMSEND" --dev eth0 --proto udp --count 200 \
		--size 100 --sport 5300 --ip-id 40000 --differ-at 50
	wait $!
	t_check "controller gone: it took DO_CHECKPOINT and hung up" \
		wait "$HANG"
	t_check "controller gone: the loader runs on" alive
	cn_wait_frames "$T_TMP/gone-cli.pcap" 50 "$CN_GUEST_MAC"
	t_check "controller gone: the 150 frames from the mismatch on are held" \
		test "$(cn_frames "$T_TMP/gone-cli.pcap" "$CN_GUEST_MAC" |
			wc -l)" -eq 50
	t_check "controller gone: the next one gets the repeated request, answers, and the held frames go" \
		python3 "$XENCTL" "unix:$XSOCK" checkpoint "$T_TMP/x-ready2"
	cn_wait_frames "$T_TMP/gone-cli.pcap" 200 "$CN_GUEST_MAC"
	cn_capture_stop "$cap"
	t_check "controller gone: the client has the primary's 200 frames, in order" \
		diff -q <(cn_frames "$T_TMP/gone-pri.pcap" "$CN_GUEST_MAC") \
		<(cn_frames "$T_TMP/gone-cli.pcap" "$CN_GUEST_MAC")
	kill -TERM "$RUN"
	wait "$RUN"
	t_check "controller gone: SIGTERM: exit status 0" test $? -eq 0
	t_check "controller gone: nothing left attached or pinned" nothing_left
fi

t_done
