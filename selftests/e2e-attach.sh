#!/bin/bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# Two ways in, at once: instance A adopts the colo_steer that `ip link`
# attached (--attach none), instance B attaches its own, with every other
# datapath flag away from its default (generic XDP, busy polling, a CPU,
# 4096-byte frames, its own pin directory); each compares its own replica
# pair, and each client gets exactly its primary's frames.
. "$(dirname "$0")/lib.sh"
. "$T_TOP/tools/colo-netns.sh"
CN_ON_EXIT=t_on_exit
VMSEND=$T_BUILD/colo-vmsend
t_skip_unless_root

GLOBALS=/sys/fs/bpf/xdp/globals
# What ip link adds to bpffs goes at exit, unless it was there before
# (another user of the ip-link maps).
for d in /sys/fs/bpf/ip /sys/fs/bpf/tc /sys/fs/bpf/xdp; do
	[[ -e $d ]] || t_on_exit "rmdir $d"
	[[ -e $d/globals ]] || t_on_exit "rmdir $d/globals"
done
[[ -e $GLOBALS/colo_config ]] ||
	t_on_exit "rm -f $GLOBALS/colo_config $GLOBALS/colo_xsks $GLOBALS/colo_devmap $GLOBALS/colo_stats $GLOBALS/colo_loader $GLOBALS/colo_heartbeat $GLOBALS/colo_vm_mac $GLOBALS/colo_pass $GLOBALS/colo_pass_stats"

# instance NAME: a replica pair and a client; sets NAME_P, NAME_S, ...
instance() {
	cn_veth_topology "$T_PREFIX$1" || return 1
	eval "$1_P=$CN_P $1_S=$CN_S $1_O=$CN_O"
	eval "$1_PRI=$CN_PRI $1_SEC=$CN_SEC $1_CLI=$CN_CLI"
}
instance a && instance b || {
	t_fail "build the namespaces"
	t_done
}

t_check "ip link attaches colo_steer to A's primary and secondary" \
	bash -c "ip link set dev $a_P xdp obj $T_BUILD/colo_steer.bpf.o sec xdp.frags &&
		 ip link set dev $a_S xdp obj $T_BUILD/colo_steer.bpf.o sec xdp.frags"
t_on_exit "ip link set dev $a_P xdp off"
t_on_exit "ip link set dev $a_S xdp off"

t_bg "$COLO_XDP" run --attach none --primary-in "$a_P" \
	--secondary-in "$a_S" --outdev "$a_O" >"$T_TMP/a.log" 2>&1
RUN_A=$T_LAST_PID
B_PINS=/sys/fs/bpf/$T_PREFIX-b
t_bg "$COLO_XDP" run --primary-in "$b_P" --secondary-in "$b_S" \
	--outdev "$b_O" --xdp-mode skb --busy-poll --cpu "$(($(nproc) - 1))" --frame-size 4096 \
	--umem-frames 8192 --queue 0 --compare-timeout 5000 \
	--expired-scan-cycle 200 --max-queue-size 2048 --max-connections 128 \
	--stats-interval 1 --pin-path "$B_PINS" >"$T_TMP/b.log" 2>&1
RUN_B=$T_LAST_PID
t_check "instance A (--attach none) starts" cn_wait_log "$T_TMP/a.log" "^comparing"
t_check "instance B starts beside it" cn_wait_log "$T_TMP/b.log" "^comparing"
t_check "instance B runs in generic XDP mode" \
	bash -c "ip -d link show dev $b_P | grep -q xdpgeneric"

# Both at once: four senders, two captures.
cn_capture_start "$a_CLI" eth0 "$T_TMP/a-cli.pcap" && CAP_A=$CN_CAP_PID
cn_capture_start "$b_CLI" eth0 "$T_TMP/b-cli.pcap" && CAP_B=$CN_CAP_PID
send() {
	ip netns exec "$1" "$VMSEND" --dev eth0 --proto udp --count 500 \
		--size 400 --sport "$2" --ip-id "$3" ${4:+--write "$4"}
}
send "$a_PRI" 4001 1000 "$T_TMP/a-pri.pcap" &
senders=($!)
send "$a_SEC" 4001 40000 &
senders+=($!)
send "$b_PRI" 4002 1000 "$T_TMP/b-pri.pcap" &
senders+=($!)
send "$b_SEC" 4002 40000
wait "${senders[@]}"
for i in a b; do
	cn_wait_frames "$T_TMP/$i-cli.pcap" 500 "$CN_GUEST_MAC"
done
cn_capture_stop "$CAP_A"
cn_capture_stop "$CAP_B"
for i in a b; do
	t_check "instance ${i^^}: its client gets its primary's 500 frames, in order" \
		cmp -s <(cn_frames "$T_TMP/$i-pri.pcap") \
		<(cn_frames "$T_TMP/$i-cli.pcap" "$CN_GUEST_MAC")
done

kill -TERM "$RUN_A" "$RUN_B"
wait "$RUN_A"
t_check "instance A stops with status 0" test $? -eq 0
wait "$RUN_B"
t_check "instance B stops with status 0" test $? -eq 0
t_check "A leaves the program ip link attached where it was" \
	bash -c "ip -d link show dev $a_P | grep -q 'prog/xdp.*name colo_steer' &&
		 ip -d link show dev $a_S | grep -q 'prog/xdp.*name colo_steer'"
t_check "B leaves nothing attached or pinned" \
	bash -c "! ip -d link show dev $b_P | grep -q prog/xdp &&
		 ! ip -d link show dev $b_S | grep -q prog/xdp &&
		 test ! -e $B_PINS"

t_done
