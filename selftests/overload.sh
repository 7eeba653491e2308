#!/bin/bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# Conservation under overload, and the frame pool running dry, on real
# traffic (a client and two replicas in namespaces, the real colo_steer
# program, real AF_XDP sockets). The smallest UMEM (--umem-frames 6144),
# short queues and a small table; the primary floods ten connections, the
# secondary answers one of them, so their queues pass --max-queue-size
# (a checkpoint request; the frames are still taken), the UMEM runs dry,
# the engine refuses the primary's frames, the loader stops taking them
# and the kernel's ring and pool fill up. Every primary frame is accounted for, exactly:
#   sent by the primary     = entered P (colo_steer's primary counters)
#                             + dropped by the primary's veth (tx_dropped,
#                               less the sends it refused and got again)
#   entered P               = to_socket (nothing is bypassed here)
#   to_socket               = rx_primary (taken by the loader)
#                             + rx_on_ring_primary (waiting on the ring)
#                             + rx_dropped_primary + rx_ring_full_primary
#   rx_primary              = released + queued_primary
#                             + rx_waiting_primary (refused, to offer again)
#   released                = tx_completed = at the client + O's tx_dropped
# The defined outcome when the pool runs dry: the loader runs on, counts
# what the kernel could not deliver (rx_dropped, rx_ring_full,
# fill_ring_empty), asks for one checkpoint (coalesced, repeated each scan
# cycle), and checkpoints release what is queued, after which what waited
# is taken: once the controller has answered them all, the client has
# every frame the loader took, once, and a matching stream passes exactly
# again. No secondary frame ever reaches the client.
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
LOG=$T_TMP/run.log
CTL=$T_TMP/ctl.sock
t_bg "$COLO_XDP" run --primary-in "$CN_P" --secondary-in "$CN_S" \
	--outdev "$CN_O" --umem-frames 6144 --max-queue-size 64 \
	--max-connections 64 --control "$CTL" >"$LOG" 2>&1
RUN=$T_LAST_PID
if ! cn_wait_log "$LOG" "^comparing"; then
	t_fail "colo-xdp run starts: $(cat "$LOG")"
	t_done
fi

# J: this instance's `colo-xdp stat --json`, read by snap
snap() {
	J=$("$COLO_XDP" stat --pin-path "$INST" --json 2>/dev/null)
}

# v EXPR: a value of the last snapshot, EXPR Python on i (the instance)
v() {
	python3 -c 'import json, sys
i = json.loads(sys.argv[2])["instances"][0]
print(eval(sys.argv[1]))' "$1" "$J"
}

ns_stat() {
	ip netns exec "$1" cat "/sys/class/net/$2/statistics/$3"
}

cn_capture_start "$CN_CLI" eth0 "$T_TMP/cli.pcap" -Q in || t_fail "capture"
CAP=$CN_CAP_PID
CONNS=10
PER=2000
N=$((CONNS * PER))
for ((k = 0; k < CONNS; k++)); do
	ip netns exec "$CN_PRI" "$VMSEND" --dev eth0 --proto udp \
		--count $PER --size 64 --sport $((7000 + k)) --ip-id 1 \
		>"$T_TMP/send-$k.out" &
	pids+=($!)
done
ip netns exec "$CN_SEC" "$VMSEND" --dev eth0 --proto udp --count $PER \
	--size 64 --sport 7000 --ip-id 40000 >/dev/null
wait "${pids[@]}"

# settled: the published counters show every frame that entered P taken,
# on the ring waiting to be, or dropped by the kernel, and every released
# frame completed
settled() {
	snap &&
		(($(v 'i["steer"]["primary"]["to_socket"]') == $(v 'i["datapath"]["rx_primary"] + i["datapath"]["rx_on_ring_primary"] + i["datapath"]["rx_dropped_primary"] + i["datapath"]["rx_ring_full_primary"]') &&
			$(v 'i["engine"]["released"]') == $(v 'i["datapath"]["tx_completed"]')))
}
t_check "overload: the counters settle" cn_wait_cmd settled
t_check "overload: the loader runs on" kill -0 "$RUN"
# the veth counts a send it refused (ENOBUFS) as dropped; colo-vmsend
# then sends that frame again, as a VM would: not a lost frame
REFUSED=$(cat "$T_TMP"/send-*.out | awk '{ n += $NF } END { print n + 0 }')
P_DROP=$(($(ns_stat "$CN_PRI" eth0 tx_dropped) - REFUSED))
ENTERED=$(v 'sum(i["steer"]["primary"].values()) - i["steer"]["primary"]["malformed"]')
t_check "overload: sent $N = entered P $ENTERED + dropped by the primary's veth $P_DROP" \
	test $((ENTERED + P_DROP)) -eq $N
t_check "overload: entered P = to_socket (nothing bypassed or lost)" \
	test "$ENTERED" -eq "$(v 'i["steer"]["primary"]["to_socket"]')"
RX=$(v 'i["datapath"]["rx_primary"]')
KDROP=$(v 'i["datapath"]["rx_dropped_primary"] + i["datapath"]["rx_ring_full_primary"]')
t_check "overload: the kernel counted the $KDROP primary frames it had no ring room or fill buffer for" \
	test "$KDROP" -gt 0
REL=$(v 'i["engine"]["released"]')
HELD=$(v 'i["engine"]["queued_primary"] + i["datapath"]["rx_waiting_primary"]')
t_check "overload: the loader took $RX = released $REL + queued or waiting $HELD" \
	test $((REL + HELD)) -eq "$RX"
# a full queue asks for a checkpoint but stops no side: only the frame
# pool (the UMEM) limits what the loader takes
t_check "overload: full queues stop no side: the loader took $RX, more than $CONNS queues of 64" \
	test "$RX" -gt $((CONNS * 64))
t_check "overload: one checkpoint request, the rest coalesced ($(v 'i["engine"]["ckpt_coalesced"]'))" \
	test "$(v 'sum(b for a, b in i["engine"].items() if a.startswith("ckpt_") and a not in ("ckpt_coalesced", "ckpt_repeats"))')" -eq 1
client_has() {
	(($(ns_stat "$CN_CLI" eth0 rx_packets) + $(cat \
		"/sys/class/net/$CN_O/statistics/tx_dropped") == $1))
}
t_check "overload: released $REL = at the client + dropped on O" \
	cn_wait_cmd client_has "$REL"

# a controller answering every request: what waited, taken or on a ring
# (the secondary's flood, whose primary frames the kernel dropped), is
# taken after each
answered() {
	"$COLO_XDP" ctl --control "$CTL" checkpoint-done >/dev/null
	snap && (($(v 'i["engine"]["pool_in_use"]') == 0 &&
		$(v 'sum(i["datapath"][k + s] for k in ("rx_waiting_", "rx_on_ring_") for s in ("primary", "secondary"))') == 0 &&
		$(v 'i["datapath"]["tx_completed"] - i["datapath"]["rx_primary"]') == 0))
}
J_FLOOD=$J
t_check "checkpoints: every frame taken released, none waits, the pool empty again" \
	cn_wait_cmd answered
# a total never goes down, a checkpoint or not: only the gauges may
t_check "checkpoints: no total went down ($(v 'len(i["engine"]) + len(i["datapath"]) - len(i["gauges"])') totals)" \
	t_totals_up "$J_FLOOD" "$J"
RX=$(v 'i["datapath"]["rx_primary"]')
t_check "checkpoint: the client has all $RX frames the loader took" \
	cn_wait_cmd client_has "$RX"

ip netns exec "$CN_PRI" "$VMSEND" --dev eth0 --proto udp --count 20 \
	--sport 7100 --ip-id 1000 &
ip netns exec "$CN_SEC" "$VMSEND" --dev eth0 --proto udp --count 20 \
	--sport 7100 --ip-id 40000
wait $!
if ! cn_wait_cmd client_has $((RX + 20)); then
	snap
	echo "# $(v 'i["datapath"]') $(v 'i["engine"]')"
	t_fail "then a matching stream passes: $((RX + 20)) at the client"
else
	t_ok "then a matching stream passes: $((RX + 20)) at the client"
fi
kill -TERM "$RUN"
wait "$RUN"
t_check "SIGTERM: exit status 0" test $? -eq 0
cn_capture_stop "$CAP"
t_check "no secondary frame reached the client" \
	cn_none "$T_TMP/cli.pcap" "ip[4:2] >= 40000"
t_check "no frame reached the client twice" \
	test -z "$(cn_frames "$T_TMP/cli.pcap" | sort | uniq -d)"
t_done
