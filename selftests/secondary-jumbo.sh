#!/bin/bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# Jumbo frames on the whole proxy (tools/colo-netns.sh: cn_pair_topology
# with MTU 9000 on every interface): `colo-xdp run` and `colo-xdp
# secondary`, TCP streams of 8948-byte segments (the MSS with timestamps
# at this MTU) both ways, byte for byte, with no checkpoint request. The
# client's segments reach the secondary VM through colo_rw_in as
# multi-buffer XDP frames (xdp.frags: veth refuses any other program at
# this MTU); the VM's leave through colo_rw_out (tc). A driver without
# multi-buffer XDP refuses the attach: the MTU and the fix named.
. "$(dirname "$0")/lib.sh"
. "$T_TOP/tools/colo-netns.sh"
. "$T_TOP/selftests/lib-e2e.sh"
. "$T_TOP/selftests/lib-secondary.sh"
CN_ON_EXIT=t_on_exit
MTU=9000
t_skip_unless_root

sec_topology
for i in "$CN_P" "$CN_S" "$CN_O"; do ip link set dev "$i" mtu $MTU; done
for n in "$CN_PRI" "$CN_SEC" "$CN_CLI"; do
	ip -n "$n" link set dev eth0 mtu $MTU
done
ip -n "$CN_SH" link set dev "$CN_L" mtu $MTU
ip -n "$CN_SH" link set dev "$CN_V" mtu $MTU

RUN_CTL=$T_TMP/run.sock
RCTL=("$COLO_XDP" ctl --control "$RUN_CTL")
if ! sec_start --control "$RUN_CTL" --; then
	t_fail "colo-xdp run and secondary start at MTU $MTU"
	t_done
fi
t_ok "colo-xdp run and colo-xdp secondary start at MTU $MTU"
t_check "run: the start says frames span several UMEM frames" \
	grep -q "^multi-buffer: MTU $MTU takes frames of up to 6 UMEM frames" \
	"$RUN_LOG"
# a NAME: one of the agent's counters, from `colo-xdp stat --json`
a() {
	python3 -c 'import json, sys
d = json.loads(sys.argv[1])
s = [i for i in d["secondaries"] if i["pin_path"] == sys.argv[2]][0]
print({**s["rewrite"], **s["sweep"]}[sys.argv[3]])' \
		"$(nsenter --net="/run/netns/$CN_SH" "$COLO_XDP" stat --json)" \
		"$PINS" "$1"
}

sec_serve
capture() {
	ip netns exec "$1" tcpdump -i eth0 -w "$2" -U -n --immediate-mode \
		-s 128 -B 65536 tcp 2>"$2.log" &
	T_PIDS+=($!)
	CAPS+=($!)
	cn_wait_log "$2.log" "listening on"
}
CAPS=()
capture "$CN_CLI" "$T_TMP/cli.pcap" && capture "$CN_SEC" "$T_TMP/sec.pcap" ||
	t_fail "captures on the client's and the secondary's eth0"
t_check "3 downloads of 1 MiB, byte for byte" \
	sec_fetch 3 file.bin "$WWW/file.bin"
t_check "downloads: no checkpoint request, no mismatch" \
	test "$(sec_requests "${RCTL[@]}")" = 0
t_check "3 uploads of 1 MiB, each answered with its digest" \
	sec_upload 3 "$WWW/file.bin"
for c in "${CAPS[@]}"; do cn_capture_stop "$c"; done
# segs FILE FILTER: TCP segments of 8948 bytes in a capture
segs() {
	tcpdump -r "$1" -nn "$2" 2>/dev/null | grep -cE 'length 8948([^0-9]|$)'
}
up=$(segs "$T_TMP/cli.pcap" "src host $CN_CLIENT_IP")
down=$(segs "$T_TMP/cli.pcap" "dst host $CN_CLIENT_IP")
sent=$(segs "$T_TMP/sec.pcap" "src host $CN_GUEST_IP")
echo "# 8948-byte segments: $up from the client, $down to it, $sent from the secondary VM"
t_check "the client sent 8948-byte segments ($up) and got them ($down)" \
	test "$up" -gt 100 -a "$down" -gt 100
t_check "the secondary VM sent 8948-byte segments ($sent) through colo_rw_out" \
	test "$sent" -gt 100
# Uploads may still ask for a timeout checkpoint now and then, at any
# MTU (README, "Scale and loss"); a mismatch would be wrong bytes
t_check "uploads: no mismatch, the secondary got the same bytes ($(json_get "$("${RCTL[@]}" stats --json)" ckpt_timeout) timeout requests)" \
	test "$(json_get "$("${RCTL[@]}" stats --json)" mismatches)" = 0
t_check "the agent learned the 6 connections and mapped both ways ($(a acks_mapped) acks, $(a seqs_mapped) seqs), nothing malformed" \
	test "$(a learned_accepted) $(a malformed)" = "6 0" -a \
	"$(a acks_mapped)" -gt 0 -a "$(a seqs_mapped)" -gt 0

kill -TERM "$AGENT"
wait "$AGENT"
t_check "SIGTERM: the agent exits 0" test $? = 0

# --- a driver without multi-buffer XDP: netdevsim refuses an XDP program
# at an MTU above 4000, as such drivers do
if ! modprobe netdevsim 2>/dev/null; then
	t_skip "a driver without multi-buffer XDP refuses the attach: no such device here (no netdevsim module in this kernel)"
	t_done
fi
NSIM_ID=$((RANDOM % 10000 + 20000))
echo "$NSIM_ID 1" >/sys/bus/netdevsim/new_device
t_on_exit "echo $NSIM_ID >/sys/bus/netdevsim/del_device"
NSIM=$(ls "/sys/bus/netdevsim/devices/netdevsim$NSIM_ID/net/" 2>/dev/null)
ip link set dev "$NSIM" netns "$CN_SH" && ip -n "$CN_SH" link set dev "$NSIM" mtu $MTU up
nsenter --net="/run/netns/$CN_SH" "$COLO_XDP" secondary --vm "$CN_V" \
	--link "$NSIM" >"$T_TMP/nsim.log" 2>&1
rc=$?
t_check "a driver without multi-buffer XDP at MTU $MTU: refused (exit $rc), the MTU and the fix named" \
	grep -q "$NSIM: attaching colo_rw_in failed at MTU $MTU: .*set its MTU to 1500 ('ip link set dev $NSIM mtu 1500'), or use --xdp-mode skb" \
	"$T_TMP/nsim.log"
t_check "refused: nothing left attached or pinned" \
	bash -c "! ip -n $CN_SH -d link show dev $NSIM | grep -q prog/xdp &&
		 ! tc -n $CN_SH filter show dev $CN_V ingress | grep -q colo_rw_out &&
		 [[ ! -e $PINS ]]"

t_done
