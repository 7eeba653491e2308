#!/bin/bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# colo-xdp run --workers 2 on real traffic:
# - replicas on veths of 4 RX queues, an outdev with 2 TX queues: the
#   start names each worker, its CPU and its queues; many UDP flows over
#   the queues reach the client whole, byte for byte and in order, some
#   handed from the worker whose queue they came in on to the one their
#   flow hash names; the counters in stat --json are the sum of both
#   workers' and of the traffic;
# - mismatches in flows of both workers, one checkpoint: every worker's
#   held frames leave, each flow whole;
# - a SIGKILLed loader of 2 workers: its successor takes its sockets and
#   frames over from the keeper and goes on, and its SIGTERM flushes what
#   both workers hold;
# - multi_queue taps as P and S, a flow per queue;
# - bad input: more workers than CPUs, a bad --cpu, an outdev with fewer
#   TX queues than workers: refused, naming the flag and the fix, nothing
#   attached or pinned.
. "$(dirname "$0")/lib.sh"
. "$T_TOP/tools/colo-netns.sh"
. "$T_TOP/selftests/lib-mq.sh"
CN_ON_EXIT=t_on_exit
VMSEND=$T_BUILD/colo-vmsend
QUEUES=4
t_skip_unless_root
if (($(nproc) < 2)); then
	t_skip "--workers 2 needs 2 CPUs, this machine has $(nproc)"
	t_done
fi

# mq_client NAME TXQ: the client's namespace behind outdev NAME, with TXQ
# TX queues; sets CN_CLI.
mq_client() {
	CN_CLI=$T_PREFIX-cli
	cn_ns "$CN_CLI" &&
		ip link add "$1" numtxqueues "$2" numrxqueues "$2" type veth \
			peer name eth0 numtxqueues "$2" numrxqueues "$2" \
			netns "$CN_CLI" || return 1
	t_on_exit "ip link del $1"
	ip -n "$CN_CLI" link set eth0 address "$CN_CLIENT_MAC" &&
		ip -n "$CN_CLI" addr add "$CN_CLIENT_IP/24" dev eth0 &&
		ip -n "$CN_CLI" link set eth0 up &&
		ip -n "$CN_CLI" neigh add "$CN_GUEST_IP" \
			lladdr "$CN_GUEST_MAC" dev eth0 nud permanent &&
		cn_host_if "$1"
}

CN_PRI=$T_PREFIX-pri
CN_SEC=$T_PREFIX-sec
CN_P=${T_PREFIX}p
CN_S=${T_PREFIX}s
CN_O=${T_PREFIX}o
O1=${T_PREFIX}o1
SOCK=$T_TMP/control.sock
cn_pins_on_exit
if ! mq_client "$CN_O" 2 || ! mq_replica "$CN_PRI" "$CN_P" ||
	! mq_replica "$CN_SEC" "$CN_S"; then
	t_fail "build the namespaces, 4-queue veths and a 2-queue outdev"
	t_done
fi
# an outdev of one TX queue, for the refusal
ip link add "$O1" type veth peer name "${O1}x" || t_fail "veth $O1"
t_on_exit "ip link del $O1"
cn_host_if "$O1"

# stat_is EXPR VALUE: stat_json EXPR prints VALUE (published once a second:
# waited for with cn_wait_cmd).
stat_is() {
	test "$(stat_json "$1")" = "$2"
}

# start NAME FLAGS...: colo-xdp run --workers 2 on CN_P, CN_S and CN_O;
# sets RUN, LOG.
start() {
	LOG=$T_TMP/$1.log
	shift
	t_bg "$COLO_XDP" run --primary-in "$CN_P" --secondary-in "$CN_S" \
		--outdev "$CN_O" --max-queue-size 4096 --workers 2 \
		--control "$SOCK" --verbose "$@" >"$LOG" 2>&1
	RUN=$T_LAST_PID
	cn_wait_log "$LOG" "^comparing"
}

stop() {
	kill -TERM "$RUN"
	wait "$RUN"
}

# flows FIRST N COUNT [FLAGS...]: N UDP flows from port FIRST on, COUNT
# frames each, from both replicas (FLAGS for the secondary's), all at
# once, the primary's kept in $T_TMP/SPORT-pri.pcap.
flows() {
	local first=$1 n=$2 count=$3 sport pids=()
	shift 3
	for ((sport = first; sport < first + n; sport++)); do
		ip netns exec "$CN_PRI" "$VMSEND" --dev eth0 --proto udp \
			--count "$count" --sport "$sport" --ip-id 1000 \
			--write "$T_TMP/$sport-pri.pcap" >/dev/null &
		pids+=($!)
		ip netns exec "$CN_SEC" "$VMSEND" --dev eth0 --proto udp \
			--count "$count" --sport "$sport" --ip-id 40000 \
			"$@" >/dev/null &
		pids+=($!)
	done
	wait "${pids[@]}"
}

# every_flow_whole CAPTURE FIRST N: the client got each flow's primary
# frames, each once, in order, byte for byte.
every_flow_whole() {
	local sport
	for ((sport = $2; sport < $2 + $3; sport++)); do
		cmp -s <(cn_frames "$T_TMP/$sport-pri.pcap") \
			<(client_flow "$1" "$sport") || {
			echo "# flow $sport differs at the client"
			return 1
		}
	done
}

cn_capture_start "$CN_CLI" eth0 "$T_TMP/cli.pcap" udp || t_fail "capture"
CAP=$CN_CAP_PID

# --- 2 workers, 16 flows over 4 queues ------------------------------------
if ! start veth; then
	t_fail "colo-xdp run --workers 2 starts: $(cat "$LOG")"
	t_done
fi
t_check "start line as with one worker" \
	grep -q "^comparing $CN_P (primary) with $CN_S (secondary), out on $CN_O: queues 0-3 and 0-3," "$LOG"
t_check "start: worker 0, its CPU, queues 0,2 of P and S, TX queue 0 of O" \
	grep -q "^worker 0: CPU 0, $CN_P queues 0,2, $CN_S queues 0,2, $CN_O TX queue 0$" "$LOG"
t_check "start: worker 1, its CPU, queues 1,3 of P and S, TX queue 1 of O" \
	grep -q "^worker 1: CPU 1, $CN_P queues 1,3, $CN_S queues 1,3, $CN_O TX queue 1$" "$LOG"
t_check "stat --json: O's socket on each worker's TX queue" \
	test "$(stat_json 'i["interfaces"]["outdev"]["queues"]')" = "[0, 1]"
flows 5001 16 200
cn_wait_frames "$T_TMP/cli.pcap" 3200 "$CN_GUEST_MAC"
t_check "16 flows: each reaches the client whole, in order" \
	every_flow_whole "$T_TMP/cli.pcap" 5001 16
t_check "the flows came in on several RX queues of P and of S" \
	test "$(queues_used "$CN_P")" -ge 2 -a "$(queues_used "$CN_S")" -ge 2
t_check "stat --json: both sides' 3200 frames compared and released" \
	cn_wait_cmd stat_is '(i["steer"]["primary"]["to_socket"], i["steer"]["secondary"]["to_socket"], i["engine"]["frames_in_primary"], i["engine"]["frames_in_secondary"], i["engine"]["released"], i["datapath"]["tx"])' \
	"(3200, 3200, 3200, 3200, 3200, 3200)"
t_check "stat --json: frames handed between the workers" \
	test "$(stat_json 'i["datapath"]["handed"]')" -gt 0
t_check "stat --json: the workers' pools make the whole UMEM" \
	test "$(stat_json 'i["datapath"]["pool_size"]')" = 16384
t_check "no frame without a socket, none dropped" \
	test "$(stat_json 'i["steer"]["primary"]["no_socket"] + i["steer"]["secondary"]["no_socket"] + i["datapath"]["rx_dropped_primary"] + i["datapath"]["rx_dropped_secondary"]')" = 0

# --- mismatches in both workers, one checkpoint releases all ---------------
cn_capture_start "$CN_CLI" eth0 "$T_TMP/ckpt.pcap" udp || t_fail "capture"
flows 6001 8 40 --differ-at 10
cn_wait_log "$LOG" "^checkpoint request: mismatch"
cn_wait_frames "$T_TMP/ckpt.pcap" $((8 * 10)) "$CN_GUEST_MAC"
t_check "mismatches found in worker 0 and in worker 1" \
	bash -c "grep -q '^mismatch: .* in worker 0$' '$LOG' &&
		grep -q '^mismatch: .* in worker 1$' '$LOG'"
t_check "before the checkpoint: each flow held from its mismatch on" \
	test "$(cn_frames "$T_TMP/ckpt.pcap" "$CN_GUEST_MAC" | wc -l)" -eq 80
t_check "ctl checkpoint-done" \
	test "$("$COLO_XDP" ctl --control "$SOCK" checkpoint-done)" = \
	"checkpoint-done: done"
cn_wait_frames "$T_TMP/ckpt.pcap" $((8 * 40)) "$CN_GUEST_MAC"
cn_capture_stop "$CN_CAP_PID"
t_check "one checkpoint: every worker's held frames leave, each flow whole" \
	every_flow_whole "$T_TMP/ckpt.pcap" 6001 8
t_check "stat --json: one checkpoint, 8 mismatches" \
	cn_wait_cmd stat_is '(i["engine"]["checkpoints"], i["engine"]["mismatches"])' "(1, 8)"

# --- failover and resume across both workers -------------------------------
# last8_in_both: the last 8 mismatches were found in worker 0 and worker 1
last8_in_both() {
	grep '^mismatch: ' "$LOG" | tail -n 8 | grep -q ' in worker 0$' &&
		grep '^mismatch: ' "$LOG" | tail -n 8 | grep -q ' in worker 1$'
}
cn_capture_start "$CN_CLI" eth0 "$T_TMP/fo.pcap" udp || t_fail "capture"
n=$(grep -c "^mismatch: " "$LOG")
flows 6101 8 30 --differ-at 5
cn_wait_cmd test "$(grep -c "^mismatch: " "$LOG")" -ge $((n + 8))
t_check "before the failover: flows held in worker 0 and in worker 1" \
	last8_in_both
t_check "ctl failover" "$COLO_XDP" ctl --control "$SOCK" failover
cn_wait_frames "$T_TMP/fo.pcap" $((8 * 30)) "$CN_GUEST_MAC"
t_check "failover: every worker's held frames leave, each flow whole" \
	every_flow_whole "$T_TMP/fo.pcap" 6101 8
flows 6201 8 30 --differ-at 5
cn_wait_frames "$T_TMP/fo.pcap" $((16 * 30)) "$CN_GUEST_MAC"
t_check "in failover: flows the secondary sends differently pass whole" \
	every_flow_whole "$T_TMP/fo.pcap" 6201 8
t_check "ctl resume" "$COLO_XDP" ctl --control "$SOCK" resume
flows 6301 8 30 --differ-at 5
cn_wait_cmd test "$(grep -c "^mismatch: " "$LOG")" -ge $((n + 16))
t_check "resumed: both workers compare again, each finds its mismatches" \
	last8_in_both
t_check "resumed: ctl checkpoint-done" \
	"$COLO_XDP" ctl --control "$SOCK" checkpoint-done
cn_wait_frames "$T_TMP/fo.pcap" $((24 * 30)) "$CN_GUEST_MAC"
t_check "resumed: the checkpoint releases both workers' flows whole" \
	every_flow_whole "$T_TMP/fo.pcap" 6301 8
# a passthrough rule added while both workers hold flows it matches
flows 6401 8 30 --differ-at 5
cn_wait_cmd test "$(grep -c "^mismatch: " "$LOG")" -ge $((n + 24))
t_check "passthrough: flows held in worker 0 and in worker 1" last8_in_both
t_check "passthrough-add while they are held" \
	"$COLO_XDP" ctl --control "$SOCK" passthrough-add \
	"proto=udp,dst=$CN_CLIENT_IP"
cn_wait_frames "$T_TMP/fo.pcap" $((32 * 30)) "$CN_GUEST_MAC"
cn_capture_stop "$CN_CAP_PID"
t_check "passthrough: both workers release what they held, each flow whole" \
	every_flow_whole "$T_TMP/fo.pcap" 6401 8
t_check "passthrough-del" "$COLO_XDP" ctl --control "$SOCK" passthrough-del \
	"proto=udp,dst=$CN_CLIENT_IP"

# --- a SIGKILLed loader of 2 workers, taken over ---------------------------
kill -KILL "$RUN"
wait "$RUN" 2>/dev/null
if start takeover; then
	t_check "takeover: the sockets of both workers, from the keeper" \
		grep -q "^took over the sockets and UMEM of the dead loader" "$LOG"
	cn_capture_start "$CN_CLI" eth0 "$T_TMP/take.pcap" udp ||
		t_fail "capture"
	flows 7001 8 100
	cn_wait_frames "$T_TMP/take.pcap" 800 "$CN_GUEST_MAC"
	cn_capture_stop "$CN_CAP_PID"
	t_check "takeover: 8 more flows reach the client whole" \
		every_flow_whole "$T_TMP/take.pcap" 7001 8
	# held by the workers at the stop: the flush lets them all out
	cn_capture_start "$CN_CLI" eth0 "$T_TMP/stop.pcap" udp ||
		t_fail "capture"
	n=$(grep -c "^mismatch: " "$LOG")
	flows 7101 8 30 --differ-at 5
	cn_wait_cmd test "$(grep -c "^mismatch: " "$LOG")" -ge $((n + 8))
	t_check "held at the stop: flows of worker 0 and of worker 1" \
		last8_in_both
	stop
	t_check "takeover: SIGTERM, exit status 0" test $? -eq 0
	cn_wait_frames "$T_TMP/stop.pcap" $((8 * 30)) "$CN_GUEST_MAC"
	cn_capture_stop "$CN_CAP_PID"
	t_check "SIGTERM flushes what both workers held: each flow whole" \
		every_flow_whole "$T_TMP/stop.pcap" 7101 8
else
	t_fail "takeover: colo-xdp run --workers 2 starts again: $(cat "$LOG")"
fi
cn_capture_stop "$CAP"

# --- bad input --------------------------------------------------------------
# refused NAME STATUS PATTERN ARGS...: colo-xdp run ARGS exits STATUS,
# saying PATTERN, and leaves nothing attached, pinned or on a tc hook.
refused() {
	local name=$1 want=$2 pattern=$3 out rc
	shift 3
	out=$(timeout 30 "$COLO_XDP" run --primary-in "$CN_P" \
		--secondary-in "$CN_S" "$@" 2>&1)
	rc=$?
	t_check "$name: refused (exit $want)" test $rc -eq "$want"
	t_check "$name: names the flag and the fix" \
		grep -qF -- "$pattern" <<<"$out"
	t_check "$name: nothing attached, pinned or on a tc hook" \
		bash -c "! ip -d link show dev $CN_P | grep -q prog/xdp &&
			! ip -d link show dev $CN_S | grep -q prog/xdp &&
			test -z \"\$(tc filter show dev $CN_P ingress)\" &&
			! tc qdisc show dev $CN_P | grep -q clsact &&
			test ! -e /sys/fs/bpf/colo-xdp/$CN_P"
}
n=$(nproc)
refused "--workers $((n + 1)) on $n CPUs" 2 \
	"--workers $((n + 1)): this process may run on $n CPUs; use --workers $n or fewer" \
	--outdev "$CN_O" --workers $((n + 1))
refused "--cpu 0 for 2 workers" 2 \
	"--cpu lists 1 CPU for --workers 2: list one per worker" \
	--outdev "$CN_O" --workers 2 --cpu 0
refused "--cpu 0,0" 2 \
	"--cpu: CPU 0 is listed twice; give each worker a CPU of its own" \
	--outdev "$CN_O" --workers 2 --cpu 0,0
refused "--cpu 0,x" 2 "--cpu 0,x: not a CPU list; give CPU numbers as 0 or 0,2-3" \
	--outdev "$CN_O" --workers 2 --cpu 0,x
refused "--workers 2, an outdev of one TX queue" 1 \
	"--workers 2: each worker sends on a TX queue of its own, 0 up to 1, but outdev $O1 has 1 TX queue: give it more ('ethtool -L $O1 tx 2'; a veth: numtxqueues), or fewer --workers" \
	--outdev "$O1" --workers 2

# --- multi_queue taps as P and S, a flow per queue --------------------------
mq_taps || t_fail "the writers attach $QUEUES queues to each tap"
cn_capture_start "$CN_CLI" eth0 "$T_TMP/tap.pcap" udp || t_fail "capture"
CAP=$CN_CAP_PID
if start tap --zero-copy off; then
	t_check "tap: worker 1 serves queues 1,3 of each" \
		grep -q "^worker 1: CPU 1, $CN_P queues 1,3, $CN_S queues 1,3," "$LOG"
	t_check "tap: a flow per queue, each reaches the client whole, in order" \
		mq_tap_flows "$T_TMP/tap.pcap" 8000
	t_check "tap: 1200 of each side compared and released" \
		cn_wait_cmd stat_is '(i["steer"]["primary"]["to_socket"], i["steer"]["secondary"]["to_socket"], i["engine"]["released"])' \
		"(1200, 1200, 1200)"
	stop
	t_check "tap: SIGTERM, exit status 0" test $? -eq 0
else
	t_fail "tap: colo-xdp run --workers 2 starts on multi_queue taps: $(cat "$LOG")"
fi
cn_capture_stop "$CAP"

t_done
