#!/bin/bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# The pair's control on real TCP stacks (tools/colo-netns.sh:
# cn_pair_topology): `colo-xdp run` tells the agent each checkpoint done
# with a frame out of S, which clears the rewriter's offsets in the
# kernel; the agent's own control socket; and the failover of the primary
# host mid-download, after which the secondary VM serves the client alone
# through --failover-out.
. "$(dirname "$0")/lib.sh"
. "$T_TOP/tools/colo-netns.sh"
. "$T_TOP/selftests/lib-e2e.sh"
. "$T_TOP/selftests/lib-secondary.sh"
CN_ON_EXIT=t_on_exit
t_skip_unless_root

sec_topology
# The client's second way to the VM, used after the failover only: a veth
# to the secondary host (FO there, its --failover-out), with the client's
# own MAC, as if the client's network re-routed.
FO=${T_PREFIX}f
if ! ip -n "$CN_SH" link add "$FO" type veth peer name fc netns "$CN_CLI" ||
	! ip -n "$CN_CLI" link set fc address "$CN_CLIENT_MAC" ||
	! ip netns exec "$CN_CLI" ethtool -K fc tx off >/dev/null ||
	! ip -n "$CN_CLI" link set fc up || ! ip -n "$CN_SH" link set "$FO" up; then
	t_fail "build the failover link"
	t_done
fi

TOKEN=c01dc0ffee
RUN_CTL=$T_TMP/run.sock
AG_CTL=$T_TMP/agent.sock
if ! sec_start --control "$RUN_CTL" --pair-token "$TOKEN" -- \
	--failover-out "$FO" --control "$AG_CTL" --pair-token "$TOKEN"; then
	t_fail "colo-xdp run and secondary start"
	t_done
fi
t_ok "colo-xdp run and colo-xdp secondary start"
RCTL=("$COLO_XDP" ctl --control "$RUN_CTL")
ACTL=("$COLO_XDP" ctl --control "$AG_CTL")
t_check "secondary: colo_rw_in on the link and on --failover-out" \
	bash -c "ip -n $CN_SH -d link show dev $CN_L | grep -q 'prog/xdp.*name colo_rw_in' &&
		 ip -n $CN_SH -d link show dev $FO | grep -q 'prog/xdp.*name colo_rw_in'"

# a: one member of the agent's `ctl stats`; r: of run's
a() { json_get "$("${ACTL[@]}" stats --json)" "$1"; }
r() { json_get "$("${RCTL[@]}" stats --json)" "$1"; }
requests() { sec_requests "${RCTL[@]}"; }

# --- the agent's control socket: run's protocol and ctl
# st KEY...: members of the agent's `ctl status`, space-separated
st() {
	python3 -c 'import json, sys
d = json.loads(sys.argv[1])
print(*(d[k] for k in sys.argv[2:]))' "$("${ACTL[@]}" status --json)" "$@"
}
t_check "agent ctl status: forwarding, its interfaces, epoch 0" \
	test "$(st state vm link failover_out epoch)" = \
	"forwarding $CN_V $CN_L $FO 0"
human_stats() {
	"${ACTL[@]}" stats >"$T_TMP/stats.txt" &&
		grep -q '^learned_accepted ' "$T_TMP/stats.txt" &&
		grep -q '^ctl_requests ' "$T_TMP/stats.txt"
}
t_check "agent ctl stats: the rewriter's counters by stat's names" \
	human_stats
ABUSE='import json, socket, sys
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
s.sendall(b"\x00\xffgarbage{{\n" + b"{\"command\":\"resume\"}\n" +
	  b"{\"command\":\"status\"}\n")
f = s.makefile()
r = [json.loads(f.readline()) for _ in range(3)]
sys.exit(not (r[0]["ok"] is False and "malformed" in r[0]["error"] and
	      r[1]["ok"] is False and "not supported" in r[1]["error"] and
	      r[2]["ok"] is True and r[2]["state"] == "forwarding"))'
t_check "agent ctl: garbage and resume get an error reply, the connection stays and answers" \
	python3 -c "$ABUSE" "$AG_CTL"

# --- services: the same 1 MiB file on both; diff.bin differs
for d in pri sec; do
	mkdir -p "$T_TMP/www-$d"
	head -c 65536 /dev/urandom >"$T_TMP/www-$d/diff.bin"
done
head -c 1048576 /dev/urandom >"$T_TMP/www-pri/file.bin"
cp "$T_TMP/www-pri/file.bin" "$T_TMP/www-sec/file.bin"
t_bg ip netns exec "$CN_PRI" python3 -c "$SEC_HTTPD" "$T_TMP/www-pri"
t_bg ip netns exec "$CN_SEC" python3 -c "$SEC_HTTPD" "$T_TMP/www-sec"
t_check "HTTP listens in both replicas" cn_wait_cmd sec_listening 8080

# fetch N FILE [CURL FLAGS]: N downloads at once, each the primary's FILE
fetch() { sec_fetch "$1" "$2" "$T_TMP/www-pri/$2" "${@:3}"; }
t_check "before: 2 downloads of 1 MiB through the pair, byte for byte" \
	fetch 2 file.bin
t_check "before: no checkpoint request, no mismatch" test "$(requests)" = 0
t_check "before: the agent learned them, epoch 0" \
	test "$(a learned_accepted) $(a epoch)" = "2 0"

# --- a secondary that answers differently. A controller answers every
# request with checkpoint-done on run's control socket until the client
# has the primary's answer; in the lab a checkpoint copies nothing, so
# the diverged connection stays so until it ends.
CONTROLLER='while :; do
	if "$@" status --json | grep -q "\"checkpoint_pending\":true"; then
		"$@" checkpoint-done >/dev/null
	fi
	sleep 0.05
done'
bash -c "$CONTROLLER" controller "${RCTL[@]}" &
CONTROLLER_PID=$!
T_PIDS+=("$CONTROLLER_PID")
t_check "diff.bin: the client gets the primary's answer whole" \
	fetch 1 diff.bin
t_check "diff.bin: a mismatch asked for a checkpoint" \
	test "$(r mismatches)" -ge 1
# the secondary's side of the diverged connection ends (its server
# closed it; the client's last segments reach it unmapped now, which it
# answers with RST or nothing): the controller answers what that asks
settled() {
	local n
	n=$(requests)
	sleep 1.5
	[[ $(requests) == "$n" ]]
}
t_check "diff.bin: the requests end once the connection has" \
	cn_wait_cmd settled
kill "$CONTROLLER_PID"
wait "$CONTROLLER_PID" 2>/dev/null
sent=$(r pair_checkpoints)
t_check "run told the agent each checkpoint done ($sent), one frame out of S each, none refused by the kernel" \
	test "$sent" -ge 1 -a "$(r pair_send_failed)" = 0
t_check "the agent took each ($(a pair_checkpoints)), the 2 extra copies of each counted duplicates, none refused" \
	test "$(a pair_checkpoints) $(a pair_duplicates) $(a pair_refused)" = \
	"$sent $((2 * sent)) 0"
t_check "the agent's epoch is $sent: every offset learned before is void" \
	test "$(a epoch)" = "$sent"
stale() { (($(a expired_stale) >= 2)); }
t_check "the sweep removed the connections of the old epoch" \
	cn_wait_cmd stale

# new connections are learned in the new epoch and rewritten right away
before=$(requests)
after() { fetch 1 file.bin && fetch 1 file.bin && fetch 3 file.bin; }
t_check "after: 2 sequential and 3 parallel downloads of 1 MiB, byte for byte" \
	after
t_check "after: no checkpoint request, no mismatch" \
	test "$(requests)" = "$before"

# --- pair frames from elsewhere never clear anything
PAIR='import socket, struct, sys
ifname, dst, token, seq, kind = sys.argv[1:6]
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind((ifname, 0))
msg = struct.pack(">IBBHQQ", 0x434f4c4f, 1, 1, 24, int(token, 16), int(seq))
if kind == "short":
    msg = msg[:10]
elif kind == "magic":
    msg = b"XOLO" + msg[4:]
s.send(bytes.fromhex(dst.replace(":", "")) + bytes.fromhex("020000000002") +
      b"\x88\xb5" + msg)'
epoch=$(a epoch)
refused=$(a pair_refused)
ip netns exec "$CN_CLI" python3 -c "$PAIR" eth0 "$CN_GUEST_MAC" "$TOKEN" 77 ok
ip netns exec "$CN_CLI" python3 -c "$PAIR" eth0 ff:ff:ff:ff:ff:ff "$TOKEN" 78 ok
sleep 0.3
t_check "a client's pair frames (to the VM, broadcast, right token): the mirror leaves them alone, the agent sees none" \
	test "$(a epoch) $(a pair_refused)" = "$epoch $refused"
python3 -c "$PAIR" "$CN_S" ff:ff:ff:ff:ff:ff 0bad 79 ok
python3 -c "$PAIR" "$CN_S" ff:ff:ff:ff:ff:ff "$TOKEN" 80 short
python3 -c "$PAIR" "$CN_S" ff:ff:ff:ff:ff:ff "$TOKEN" 81 magic
ip netns exec "$CN_CLI" python3 -c "$PAIR" fc "$CN_GUEST_MAC" "$TOKEN" 82 ok
refused4() { (($(a pair_refused) == refused + 4)) && [[ $(a epoch) == "$epoch" ]]; }
t_check "on the link a wrong token, a short one, a wrong magic, and one on --failover-out: refused, counted, epoch unchanged" \
	cn_wait_cmd refused4

# the agent's own checkpoint-done
"${ACTL[@]}" checkpoint-done >/dev/null
t_check "agent ctl checkpoint-done: the epoch bumped, counted" \
	test "$(a epoch) $(a ctl_checkpoints)" = "$((epoch + 1)) 1"

# --- failover of the primary host mid-download: run goes (SIGTERM
# removes its programs and mirror), the primary replica goes, the client
# is re-routed to the secondary host; the agent is told to fail over.
ip netns exec "$CN_CLI" curl -sS -m 60 -o "$T_TMP/fo.bin" \
	"http://$CN_GUEST_IP:8080/slow/file.bin" 2>"$T_TMP/fo.err" &
CURL=$!
T_PIDS+=("$CURL")
sleep 0.6
t_check "failover: the download is under way" \
	test -s "$T_TMP/fo.bin" -a "$(stat -c %s "$T_TMP/fo.bin")" -lt 1048576
mapped=$(a seqs_mapped)
kill -TERM "$RUN"
wait "$RUN"
ip -n "$CN_PRI" link set eth0 down
ip -n "$CN_CLI" route add "$CN_GUEST_IP/32" dev fc
ip -n "$CN_CLI" neigh replace "$CN_GUEST_IP" lladdr "$CN_GUEST_MAC" \
	dev fc nud permanent
reply=$("${ACTL[@]}" failover --json)
# what the client had when the agent switched: the rest can only come
# from the secondary now
at=$(stat -c %s "$T_TMP/fo.bin")
t_check "failover: agent ctl failover answers with its switch time ($reply)" \
	grep -q '"ok":true.*switch_us' <<<"$reply"
refail() { ! "${ACTL[@]}" failover >/dev/null 2>&1; }
t_check "failover: a second failover is refused" refail
wait "$CURL"
t_check "failover: the download completes from the secondary, byte for byte ($(cat "$T_TMP/fo.err"))" \
	cmp -s "$T_TMP/www-pri/file.bin" "$T_TMP/fo.bin"
t_check "failover: the client had $at of 1048576 bytes at the switch" \
	test "$at" -lt 1048576
t_check "failover: the VM's frames went out of --failover-out ($(a to_failover)), still rewritten" \
	test "$(a to_failover)" -gt 0 -a "$(a seqs_mapped)" -gt "$mapped"
untracked=$(a failover_untracked)
t_check "failover: a new connection passes untouched, byte for byte" \
	fetch 1 file.bin
t_check "failover: its handshake was not tracked" \
	test "$(a failover_untracked)" -gt "$untracked"
t_check "agent ctl status: failover" test "$(st state)" = failover

kill -TERM "$AGENT"
wait "$AGENT"
t_check "SIGTERM: the agent exits 0, nothing left on the link, --failover-out or in bpffs" \
	bash -c "[[ $? == 0 ]] && ! ip -n $CN_SH -d link show dev $CN_L | grep -q prog/xdp &&
		 ! ip -n $CN_SH -d link show dev $FO | grep -q prog/xdp &&
		 [[ ! -e $PINS && ! -e $AG_CTL ]]"

t_done
