#!/bin/bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# The replicas as QEMU sees them: tap devices that colo-vmsend writes the
# guests' frames into. The client, behind a veth, must get exactly the
# primary's frames, in order, byte for byte, and never a secondary one.
. "$(dirname "$0")/lib.sh"
. "$T_TOP/tools/colo-netns.sh"
CN_ON_EXIT=t_on_exit
VMSEND=$T_BUILD/colo-vmsend
t_skip_unless_root

cn_tap_topology "$T_PREFIX" || {
	t_fail "build the namespaces and taps"
	t_done
}
cn_capture_start "$CN_CLI" eth0 "$T_TMP/cli-all.pcap" || t_fail "capture"
CLI_CAP=$CN_CAP_PID

LOG=$T_TMP/run.log
t_bg "$COLO_XDP" run --primary-in "$CN_P" --secondary-in "$CN_S" \
	--outdev "$CN_O" --max-queue-size 4096 --zero-copy off >"$LOG" 2>&1
RUN=$T_LAST_PID
if ! cn_wait_log "$LOG" "^comparing"; then
	t_fail "colo-xdp run starts on taps: $(cat "$LOG")"
	t_done
fi
t_ok "colo-xdp run starts on taps"
t_check "--zero-copy off: copy on every interface, as asked" \
	grep -q "^af_xdp: $CN_P copy, $CN_S copy, $CN_O copy (--zero-copy off)" "$LOG"

# stream NAME FLAGS...: both taps get the same stream (the secondary's
# IPv4 IDs differ), each written in one go as a VM's burst would be.
stream() {
	local name=$1 cap n
	shift
	cn_capture_start "$CN_CLI" eth0 "$T_TMP/$name-cli.pcap" || {
		t_fail "$name: capture"
		return
	}
	cap=$CN_CAP_PID
	"$VMSEND" --tap "$CN_P" --ip-id 1000 --write "$T_TMP/$name-pri.pcap" "$@"
	"$VMSEND" --tap "$CN_S" --ip-id 40000 "$@"
	n=$(cn_frames "$T_TMP/$name-pri.pcap" | wc -l)
	cn_wait_frames "$T_TMP/$name-cli.pcap" "$n" "$CN_GUEST_MAC"
	cn_capture_stop "$cap"
	if cmp -s <(cn_frames "$T_TMP/$name-pri.pcap") \
		<(cn_frames "$T_TMP/$name-cli.pcap" "$CN_GUEST_MAC"); then
		t_ok "$name: the client gets the primary's $n frames, in order, byte for byte"
	else
		t_fail "$name: the client got $(cn_frames "$T_TMP/$name-cli.pcap" \
			"$CN_GUEST_MAC" | wc -l) frames, not the primary's $n"
	fi
}

stream "tap UDP stream" --proto udp --count 1000 --size 300 --sport 4001
stream "tap TCP stream" --proto tcp --count 1000 --size 1400 --sport 4002
stream "tap ICMP stream" --proto icmp --count 300 --size 56 --sport 4003

# A connection that differs from its first frame on: all 3000 primary
# frames are held, more than O's TX ring takes at once, until the stop.
cn_capture_start "$CN_CLI" eth0 "$T_TMP/held-cli.pcap" udp port 4200 &&
	HELD_CAP=$CN_CAP_PID
"$VMSEND" --tap "$CN_P" --proto udp --count 3000 --sport 4200 --ip-id 2000 \
	--write "$T_TMP/held-pri.pcap"
"$VMSEND" --tap "$CN_S" --proto udp --count 3000 --sport 4200 --ip-id 42000 \
	--differ-at 0
t_check "a mismatch on the first frame: a checkpoint request is logged" \
	cn_wait_log "$LOG" "^checkpoint request: mismatch"
t_check "a mismatch on the first frame: nothing of it reaches the client" \
	test "$(cn_frames "$T_TMP/held-cli.pcap" "$CN_GUEST_MAC" | wc -l)" -eq 0

kill -TERM "$RUN"
wait "$RUN"
t_check "SIGTERM: exit status 0" test $? -eq 0
cn_wait_frames "$T_TMP/held-cli.pcap" 3000 "$CN_GUEST_MAC"
cn_capture_stop "$HELD_CAP"
t_check "SIGTERM: the 3000 held frames are flushed to the client, in order" \
	cmp -s <(cn_frames "$T_TMP/held-pri.pcap") \
	<(cn_frames "$T_TMP/held-cli.pcap" "$CN_GUEST_MAC")
t_check "SIGTERM: nothing left attached" \
	bash -c "! ip -d link show dev $CN_P | grep -q prog/xdp &&
		 ! ip -d link show dev $CN_S | grep -q prog/xdp"
t_check "SIGTERM: nothing left pinned" test ! -e "/sys/fs/bpf/colo-xdp/$CN_P"

cn_capture_stop "$CLI_CAP"
t_check "no secondary frame reached the client" \
	cn_none "$T_TMP/cli-all.pcap" \
	"ether src $CN_GUEST_MAC and ip[4:2] >= 40000"

t_done
