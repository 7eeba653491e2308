#!/bin/bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# Passthrough flows on real traffic (namespaces, veths, the real colo_steer
# program and AF_XDP sockets): a flow whose secondary differs, made
# passthrough by --passthrough and by `ctl passthrough-add` in the middle
# of its stream, reaches the client as the primary sent it, each frame
# once, in order, with no mismatch and no checkpoint request; the
# secondary's frames never; the per-rule counters equal what was sent.
# After passthrough-del the flow is compared again; other flows are
# compared throughout; an IPv6 rule; bad specs on the flag and on ctl are
# refused naming the key, and the loader runs on; a restart after SIGKILL
# keeps the rules and their counters. The clients' side is run's own
# mirror: the primary's passthrough frames teach it the VM's MAC as any
# other frame of the primary does.
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
SOCK=$T_TMP/control.sock
CTL=("$COLO_XDP" ctl --control "$SOCK")
# No timeout request while a flow waits for the secondary on purpose.
RUN_ARGS=(--primary-in "$CN_P" --secondary-in "$CN_S" --outdev "$CN_O"
	--control "$SOCK" --verbose --compare-timeout 30000
	--passthrough proto=udp,sport=4200)

# nothing_left: no XDP program on P or S, no mirror on O, no pin
# directory.
nothing_left() {
	! ip -d link show dev "$CN_P" | grep -q prog/xdp &&
		! ip -d link show dev "$CN_S" | grep -q prog/xdp &&
		! tc filter show dev "$CN_O" ingress 2>/dev/null |
		grep -q colo_mirror &&
		[[ ! -e $INST ]]
}

# refused_flag SPEC PATTERN: run refuses --passthrough SPEC (exit 2) with
# one line holding PATTERN, and leaves nothing behind.
refused_flag() {
	local out rc
	out=$("$COLO_XDP" run "${RUN_ARGS[@]}" --passthrough "$1" 2>&1)
	rc=$?
	if ((rc != 2)) || ! grep -qF -- "$2" <<<"$out" ||
		(($(wc -l <<<"$out") != 1)) || ! nothing_left; then
		t_fail "--passthrough '$1': exit $rc, '$out'"
		return
	fi
	t_ok "--passthrough '$1' refused: $2"
}

refused_flag 'proto=xyz' "--passthrough 'proto=xyz': proto: 'xyz' is not tcp, udp, icmp or a protocol number 0-255"
refused_flag 'sport=0' "sport: '0' is not a port 1-65535"
refused_flag 'src=10.0.0.1/8' "src: 10.0.0.1/8 has bits set past the prefix: write 10.0.0.0/8"
refused_flag 'bogus=1,proto=udp' "'bogus' is not a key: use proto, src, sport, dst or dport"
refused_flag 'sport=4200,proto=17' "proto=udp,sport=4200 is a passthrough rule already"

cn_capture_start "$CN_CLI" eth0 "$T_TMP/cli.pcap" udp or icmp6 &&
	CLI_CAP=$CN_CAP_PID
LOG=$T_TMP/run.log
t_bg "$COLO_XDP" run "${RUN_ARGS[@]}" >"$LOG" 2>&1
RUN=$T_LAST_PID
if ! cn_wait_log "$LOG" "^control socket"; then
	t_fail "colo-xdp run --passthrough starts: $(grep -v ^libbpf "$LOG")"
	t_done
fi
t_check "colo-xdp run --passthrough starts and names its rule" \
	grep -q "^passthrough rule: proto=udp,sport=4200$" "$LOG"

# stat NAME: a counter of `ctl stats --json`, a flat object. (Shell, not
# Python: the checks poll, and Python starts slowly on a loaded machine.)
stat() {
	local j
	j=$("${CTL[@]}" stats --json) && [[ $j =~ \"$1\":([0-9]+) ]] &&
		echo "${BASH_REMATCH[1]}"
}

stat_is() {
	[[ $(stat "$1") == "$2" ]]
}

# rule_is SPEC PRIMARY SECONDARY: the rule's counters, as passthrough-list
# and stat both print them.
rule_is() {
	local line="$1  primary $2  secondary $3"
	"${CTL[@]}" passthrough-list | grep -qxF "$line" &&
		"$COLO_XDP" stat --pin-path "$INST" | grep -qxF "    $line"
}

# rules: the specs passthrough-list shows, space-separated.
rules() {
	"${CTL[@]}" passthrough-list | awk '{ print $1 }' | paste -sd ' '
}

# client_got FILTER: the guests' frames of the client's capture that match.
client_got() {
	tcpdump -r "$T_TMP/cli.pcap" -w - -nn "$1" 2>/dev/null |
		cat >"$T_TMP/got.pcap"
	cn_frames "$T_TMP/got.pcap" "$CN_GUEST_MAC"
}

# arrived FILTER N: the client's capture holds N frames from the guests
# that match FILTER.
arrived() {
	(($(tcpdump -r "$T_TMP/cli.pcap" -nn "ether src $CN_GUEST_MAC and ($1)" \
		2>/dev/null | wc -l) >= $2))
}

# exactly FILTER PCAP...: once as many frames arrived, the client got the
# frames of the PCAPs (the primary's), each once, in order, byte for byte.
exactly() {
	local f=$1 n=0 p
	shift
	for p in "$@"; do
		n=$((n + $(tcpdump -r "$p" 2>/dev/null | wc -l)))
	done
	cn_wait_cmd arrived "$f" "$n" &&
		diff -q <(for p in "$@"; do cn_frames "$p"; done) \
			<(client_got "$f") >/dev/null
}

# send NS IPID [FLAGS...]: one replica's stream through colo-vmsend.
send() {
	local ns=$1 id=$2
	shift 2
	ip netns exec "$ns" "$VMSEND" --dev eth0 --ip-id "$id" "$@" >/dev/null
}

# no_alarm MISMATCHES REQUESTS: the engine found no more mismatches and
# asked no more checkpoints than these.
no_alarm() {
	stat_is mismatches "$1" && stat_is ckpt_logged "$2"
}

# The flag's flow: every secondary frame differs (another payload size).
send "$CN_PRI" 1000 --sport 4200 --count 200 --write "$T_TMP/4200.pcap" &
send "$CN_SEC" 40000 --sport 4200 --count 200 --size 120
wait $!
t_check "--passthrough: the client gets the primary's 200 frames, once, in order" \
	exactly "udp src port 4200" "$T_TMP/4200.pcap"
t_check "--passthrough: no secondary frame of the flow reaches the client" \
	cn_none "$T_TMP/cli.pcap" "udp src port 4200 and ip[4:2] >= 40000"
t_check "--passthrough: decided in the kernel: the loader took none of them" \
	stat_is rx_primary 0
t_check "--passthrough: counted per rule (ctl and stat): 200 primary, 200 secondary" \
	cn_wait_cmd rule_is proto=udp,sport=4200 200 200
t_check "--passthrough: no mismatch, no checkpoint request" no_alarm 0 0
# vm_mac: the VM MAC stat --json says the mirror goes by.
vm_mac() {
	"$COLO_XDP" stat --pin-path "$INST" --json | python3 -c '
import json, sys
print(json.load(sys.stdin)["instances"][0]["mirror"]["vm_mac"])'
}
t_check "--passthrough: the mirror learned the VM's MAC from passthrough frames" \
	test "$(vm_mac)" = "$CN_GUEST_MAC"
# json_rules: passthrough-list --json and stat --json list the rule alike.
json_rules() {
	python3 -c 'import json, sys
want = [{"spec": "proto=udp,sport=4200", "primary": 200, "secondary": 200}]
ctl = json.loads(sys.argv[1])
stat = json.loads(sys.argv[2])["instances"][0]
sys.exit(not (ctl["rules"] == want and stat["passthrough"] == want))' \
		"$("${CTL[@]}" passthrough-list --json)" \
		"$("$COLO_XDP" stat --pin-path "$INST" --json)"
}
t_check "--passthrough: passthrough-list --json and stat --json show the rule" \
	json_rules
# prom_rule: stat --prometheus has the rule's two totals, labelled by it
prom_rule() {
	local page
	page=$("$COLO_XDP" stat --pin-path "$INST" --prometheus) &&
		grep -qx "colo_xdp_passthrough_primary_total{instance=\"${INST##*/}\",role=\"primary\",rule=\"proto=udp,sport=4200\"} 200" <<<"$page" &&
		grep -qx "colo_xdp_passthrough_secondary_total{instance=\"${INST##*/}\",role=\"primary\",rule=\"proto=udp,sport=4200\"} 200" <<<"$page" &&
		grep -qx "# TYPE colo_xdp_passthrough_primary_total counter" <<<"$page"
}
t_check "--passthrough: stat --prometheus gives the rule's counters, labelled by it" \
	prom_rule

# Another flow is compared: a mismatch holds it until a checkpoint.
send "$CN_PRI" 1000 --sport 4201 --count 20 --write "$T_TMP/4201.pcap" &
send "$CN_SEC" 40000 --sport 4201 --count 20 --differ-at 10
wait $!
t_check "other flows are compared: a mismatch is found and held" \
	cn_wait_log "$LOG" "^mismatch: proto 17 10.0.0.1:4201 "
"${CTL[@]}" checkpoint-done >/dev/null
t_check "other flows: the checkpoint releases the rest, in order" \
	exactly "udp src port 4201" "$T_TMP/4201.pcap"
MISMATCHES=$(stat mismatches)
REQUESTS=$(stat ckpt_logged)

# A flow made passthrough mid-stream: the primary's first 40 frames wait
# for a secondary that lags (held, nothing compared yet), the rule comes,
# then the rest of the stream, the secondary's differing copies included.
send "$CN_PRI" 3000 --sport 4300 --count 40 --write "$T_TMP/4300-1.pcap"
t_check "mid-stream: the first 40 primary frames are held" \
	cn_wait_cmd stat_is queued_primary 40
t_check "ctl passthrough-add: done" test \
	"$("${CTL[@]}" passthrough-add proto=udp,sport=4300)" = \
	"passthrough-add: done"
t_check "ctl passthrough-add: the loader released the 40 frames it held" \
	cn_wait_log "$LOG" "^passthrough rule added: proto=udp,sport=4300; held frames of it: 40 primary released, 0 secondary freed$"
# Frames of the flow after the change leave through the kernel at once:
# they may overtake held ones not yet sent, which the README says.
t_check "ctl passthrough-add: the 40 held frames reach the client" \
	cn_wait_cmd arrived "udp src port 4300" 40
send "$CN_PRI" 3040 --sport 4300 --count 40 --write "$T_TMP/4300-2.pcap" &
send "$CN_SEC" 41000 --sport 4300 --count 80 --size 120
wait $!
t_check "mid-stream: the client gets the primary's 80 frames, once, in order" \
	exactly "udp src port 4300" "$T_TMP/4300-1.pcap" \
	"$T_TMP/4300-2.pcap"
t_check "mid-stream: no secondary frame of the flow reaches the client" \
	cn_none "$T_TMP/cli.pcap" "udp src port 4300 and ip[4:2] >= 40000"
t_check "mid-stream: the rule counts what came after it: 40 primary, 80 secondary" \
	cn_wait_cmd rule_is proto=udp,sport=4300 40 80
t_check "mid-stream: the loader released the 40 it held (passthrough_released)" \
	stat_is passthrough_released 40
t_check "mid-stream: no mismatch, no checkpoint request" \
	no_alarm "$MISMATCHES" "$REQUESTS"
t_check "mid-stream: no mismatch of the flow logged" \
	test "$(grep -c "^mismatch: proto 17 10.0.0.1:4300 " "$LOG")" = 0

# Deleted: the flow is compared again.
t_check "ctl passthrough-del: done" test \
	"$("${CTL[@]}" passthrough-del sport=4300,proto=udp)" = \
	"passthrough-del: done"
t_check "passthrough-list: the flag's rule is left" \
	test "$(rules)" = proto=udp,sport=4200
send "$CN_PRI" 3100 --sport 4300 --count 10 --write "$T_TMP/4300-3.pcap" &
send "$CN_SEC" 42000 --sport 4300 --count 10 --differ-at 3
wait $!
t_check "after passthrough-del the flow is compared: a mismatch is found" \
	cn_wait_log "$LOG" "^mismatch: proto 17 10.0.0.1:4300 "
t_check "after passthrough-del: the mismatch is counted" \
	stat_is mismatches $((MISMATCHES + 1))
"${CTL[@]}" checkpoint-done >/dev/null
t_check "after passthrough-del: the checkpoint releases the flow, in order" \
	exactly "udp src port 4300" "$T_TMP/4300-1.pcap" \
	"$T_TMP/4300-2.pcap" "$T_TMP/4300-3.pcap"
MISMATCHES=$(stat mismatches)
REQUESTS=$(stat ckpt_logged)

# IPv6: proto=icmp is ICMPv6 there. The secondary's are 120-byte echoes.
V6=(--proto icmp --src fd00::1 --dst fd00::2 --count 30)
t_check "ctl passthrough-add of an IPv6 rule" test \
	"$("${CTL[@]}" passthrough-add proto=icmp,src=fd00::/64)" = \
	"passthrough-add: done"
send "$CN_PRI" 0 "${V6[@]}" --write "$T_TMP/v6.pcap" &
send "$CN_SEC" 0 "${V6[@]}" --size 120
wait $!
t_check "IPv6: the client gets the primary's 30 ICMPv6 frames, once, in order" \
	exactly icmp6 "$T_TMP/v6.pcap"
t_check "IPv6: counted for the rule: 30 primary, 30 secondary" \
	cn_wait_cmd rule_is proto=icmp,src=fd00::/64 30 30
t_check "IPv6: no mismatch, no checkpoint request" \
	no_alarm "$MISMATCHES" "$REQUESTS"

# Bad specs and refusals on the control socket: exit 1, the reason.
refused_ctl() {
	local out rc
	out=$("${CTL[@]}" "$1" "$2" 2>&1)
	rc=$?
	if ((rc == 1)) && [[ $out == "colo-xdp ctl: $1: $3" ]]; then
		t_ok "ctl $1 '$2' refused: $3"
	else
		t_fail "ctl $1 '$2': exit $rc, '$out'"
	fi
}
refused_ctl passthrough-add 'proto=icmp,dport=5' \
	"dport: protocol icmp has no ports; ports go with tcp, udp, dccp (33), sctp (132) or udp-lite (136)"
refused_ctl passthrough-add 'src=10.0.0.1,dst=fd00::1' \
	"dst: an IPv6 address, but src is IPv4: a rule matches one IP version"
refused_ctl passthrough-add 'dport=53,dport=54' "dport: given twice"
refused_ctl passthrough-add 'dst=fd00::/200' \
	"dst: prefix '/200' is not 0-128 for an IPv6 address"
refused_ctl passthrough-add 'proto=17,sport=4200' \
	"proto=udp,sport=4200 is a passthrough rule already"
refused_ctl passthrough-del 'proto=udp,sport=4300' \
	"no passthrough rule proto=udp,sport=4300: 'colo-xdp ctl passthrough-list' shows them"
for ((i = 1; i <= 14; i++)); do
	"${CTL[@]}" passthrough-add "proto=tcp,dport=$((6000 + i))" >/dev/null
done
refused_ctl passthrough-add 'proto=tcp,dport=7000' \
	"proto=tcp,dport=7000: 16 passthrough rules already, the most colo_steer holds per instance; delete one with 'colo-xdp ctl passthrough-del SPEC'"
for ((i = 1; i <= 14; i++)); do
	"${CTL[@]}" passthrough-del "proto=tcp,dport=$((6000 + i))" >/dev/null
done
t_check "after the refusals the loader runs on, with its two rules" \
	test "$(rules)" = "proto=udp,sport=4200 proto=icmp,src=fd00::/64"
# dumped: the set bpftool prints, by field name
dumped() {
	bpftool -j map dump pinned "$INST/colo_pass" | python3 -c '
import json, sys
v = json.load(sys.stdin)[0]["formatted"]["value"]
sys.exit(not (v["n"] == 2 and v["rule"][0]["sport"] == 4200))'
}
t_check "bpftool map dump shows the rules by field name" dumped
send "$CN_PRI" 1000 --sport 4202 --count 100 --write "$T_TMP/4202.pcap" &
send "$CN_SEC" 40000 --sport 4202 --count 100
wait $!
t_check "after the refusals a matching flow is compared and released" \
	exactly "udp src port 4202" "$T_TMP/4202.pcap"

# SIGKILL, and a restart with the same flags: it takes the instance over
# with its rules, the one added on the control socket too, and their
# counters.
{
	kill -KILL "$RUN"
	wait "$RUN"
} 2>/dev/null # not the shell's "Killed" line
t_bg "$COLO_XDP" run "${RUN_ARGS[@]}" >"$T_TMP/restart.log" 2>&1
RUN=$T_LAST_PID
t_check "restart after SIGKILL: takes over, keeping the dead loader's rules" \
	cn_wait_log "$T_TMP/restart.log" \
	"kept the 2 passthrough rules of the dead loader$"
cn_wait_log "$T_TMP/restart.log" "^control socket"
both_rules() {
	rule_is proto=udp,sport=4200 200 200 &&
		rule_is proto=icmp,src=fd00::/64 30 30
}
t_check "restart: both rules, with their counters" both_rules
send "$CN_PRI" 1200 --sport 4200 --count 50 --write "$T_TMP/4200-2.pcap" &
send "$CN_SEC" 40200 --sport 4200 --count 50 --size 120
wait $!
t_check "restart: the rule goes on deciding its flow: 250 primary, 250 secondary" \
	cn_wait_cmd rule_is proto=udp,sport=4200 250 250
t_check "restart: the client got the primary's 250 frames, once, in order" \
	exactly "udp src port 4200" "$T_TMP/4200.pcap" \
	"$T_TMP/4200-2.pcap"

kill -TERM "$RUN"
wait "$RUN"
t_check "SIGTERM: exit 0" test $? -eq 0
t_check "SIGTERM: nothing left attached or pinned" nothing_left
cn_capture_stop "$CLI_CAP"
t_check "whole suite: no secondary frame reached the client" \
	cn_none "$T_TMP/cli.pcap" "ether src $CN_GUEST_MAC and
		((ip and ip[4:2] >= 40000) or (icmp6 and ip6[4:2] = 128))"
t_done
