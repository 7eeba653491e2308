#!/bin/bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# The secondary agent killed mid-transfer and started again, on real TCP
# stacks (tools/colo-netns.sh: cn_pair_topology): while it is dead its
# programs stay attached and rewrite on their own; the restart takes over
# its pins, and the downloads under way complete byte for byte with no
# checkpoint request, the connections keeping their offsets, the counters
# and the sweep going on. A live agent, and a dead one of other
# interfaces, are refused.
. "$(dirname "$0")/lib.sh"
. "$T_TOP/tools/colo-netns.sh"
. "$T_TOP/selftests/lib-e2e.sh"
. "$T_TOP/selftests/lib-secondary.sh"
CN_ON_EXIT=t_on_exit
t_skip_unless_root

sec_topology
RUN_CTL=$T_TMP/run.sock
AG_CTL=$T_TMP/agent.sock
if ! sec_start --control "$RUN_CTL" -- --control "$AG_CTL"; then
	t_fail "colo-xdp run and secondary start"
	t_done
fi
t_ok "colo-xdp run and colo-xdp secondary start"
RCTL=("$COLO_XDP" ctl --control "$RUN_CTL")
ACTL=("$COLO_XDP" ctl --control "$AG_CTL")
SEC=(nsenter --net="/run/netns/$CN_SH" "$COLO_XDP")

# agent KEY: a member of the agent's entry in `colo-xdp stat --json` (the
# pins: it answers with the agent dead too), or of its counters
agent() {
	python3 -c 'import json, sys
d = json.loads(sys.argv[1])
s = [i for i in d["secondaries"] if i["pin_path"] == sys.argv[2]][0]
print({**s, **s["rewrite"], **s["sweep"]}[sys.argv[3]])' \
		"$("${SEC[@]}" stat --json 2>/dev/null)" "$PINS" "$1"
}
# instances: how many secondaries `stat` lists
instances() {
	python3 -c 'import json, sys
print(len(json.loads(sys.argv[1])["secondaries"]))' \
		"$("${SEC[@]}" stat --json 2>/dev/null)"
}
# attached: colo_rw_in on the link and colo_rw_out on the VM's ingress
attached() {
	ip -n "$CN_SH" -d link show dev "$CN_L" |
		grep -q 'prog/xdp.*name colo_rw_in' &&
		tc -n "$CN_SH" filter show dev "$CN_V" ingress |
		grep -q 'colo_rw_out'
}
xdp_id() {
	ip -n "$CN_SH" -d link show dev "$CN_L" |
		sed -n 's/.*prog\/xdp id \([0-9]*\).*/\1/p'
}
# sizes: what the downloads under way have written so far
sizes() {
	local i s=0
	for ((i = 0; i < 3; i++)); do
		s=$((s + $(stat -c %s "$T_TMP/dl$i" 2>/dev/null || echo 0)))
	done
	echo "$s"
}

sec_serve
head -c 4194304 /dev/urandom >"$WWW/big.bin"

# --- three downloads of 4 MiB, each sent in 32 KiB writes 50 ms apart
# (about 6 s): under way in both replicas' servers across the kill
sec_fetch 3 slow/big.bin "$WWW/big.bin" &
FETCH=$!
T_PIDS+=("$FETCH")
underway() { (($(agent learned_accepted) == 3 && $(sizes) > 0)); }
t_check "3 downloads of 4 MiB under way, learned by the agent" \
	cn_wait_cmd underway

mapped=$(agent seqs_mapped)
id=$(xdp_id)
dead=$AGENT
kill -KILL "$AGENT"
wait "$AGENT" 2>/dev/null
at=$(sizes)
# what the dead agent last published, which the restart goes on from
sweeps=$(agent sweeps)
conns=$(agent conns)
left() { attached && [[ -d $PINS ]]; }
t_check "SIGKILL: colo_rw_in stays on the link, colo_rw_out on the VM's ingress, the pins stay" \
	left
t_check "SIGKILL: stat shows the agent (pid $dead) not running" \
	test "$(agent pid) $(agent running)" = "$dead False"
on_their_own() {
	(($(agent seqs_mapped) > mapped + 20 && $(sizes) > at + 65536))
}
t_check "no agent: the downloads go on, rewritten in the kernel" \
	cn_wait_cmd on_their_own
echo "# while the agent was dead: $(($(agent seqs_mapped) - mapped)) segments mapped, $(($(sizes) - at)) bytes downloaded"

# --- a dead agent of other interfaces on these pins: refused, left as is
OTHER=${T_PREFIX}x
ip -n "$CN_SH" link add "$OTHER" type veth peer name "${OTHER}p" &&
	ip -n "$CN_SH" link set "$OTHER" up
"${SEC[@]}" secondary --vm "$OTHER" --link "$CN_L" --pin-path "$PINS" \
	>"$T_TMP/other.log" 2>&1
rc=$?
echo "# $(cat "$T_TMP/other.log")"
t_check "another --vm on the dead agent's pins: refused (exit $rc), naming the interfaces and the fix" \
	grep -q "pin directory $PINS holds the pins of a colo-xdp secondary (pid $dead) of --vm $CN_V and --link $CN_L that did not stop cleanly, not of $OTHER and $CN_L: give this agent another pin path, or end that one" \
	"$T_TMP/other.log"
t_check "refused: exit 1, the dead agent's program still on the link" \
	test "$rc $(xdp_id)" = "1 $id"
ip -n "$CN_SH" link del "$OTHER"

# --- the restart takes over
SEC_LOG2=$T_TMP/secondary2.log
t_bg "${SEC[@]}" secondary --vm "$CN_V" --link "$CN_L" --control "$AG_CTL" \
	>"$SEC_LOG2" 2>&1
AGENT=$T_LAST_PID
if ! cn_wait_log "$SEC_LOG2" "^rewriting"; then
	t_fail "the restart starts: $(cat "$SEC_LOG2")"
	t_done
fi
t_check "the restart took over the agent of pid $dead and its $conns connections" \
	grep -q "^took over the agent of pid $dead ($conns connections at its last sweep)" \
	"$SEC_LOG2"
kept() { attached && [[ $(xdp_id) == "$id" ]]; }
t_check "the restart kept the dead agent's colo_rw_in (id $id) on the link, colo_rw_out on the VM's ingress" \
	kept
wait "$FETCH"
t_check "the 3 downloads of 4 MiB complete, byte for byte" test $? = 0
t_check "no checkpoint request, no mismatch" \
	test "$(sec_requests "${RCTL[@]}")" = 0
t_check "stat: one agent, pid $AGENT, running" \
	test "$(instances) $(agent pid) $(agent running)" = "1 $AGENT True"
t_check "counters go on: seqs_mapped $(agent seqs_mapped) past $mapped, learned_accepted 3" \
	test "$(agent seqs_mapped)" -gt "$mapped" -a "$(agent learned_accepted)" = 3
swept() { (($(agent sweeps) > sweeps)); }
t_check "the sweep goes on from the dead agent's $sweeps sweeps" \
	cn_wait_cmd swept
t_check "agent ctl status answers on the same --control path" \
	test "$(json_get "$("${ACTL[@]}" status --json)" state)" = forwarding
t_check "after the restart: 2 downloads of 1 MiB, byte for byte" \
	sec_fetch 2 file.bin "$WWW/file.bin"

# --- a live agent's pins: refused
"${SEC[@]}" secondary --vm "$CN_V" --link "$CN_L" >"$T_TMP/live.log" 2>&1
rc=$?
t_check "a second agent while one runs: refused (exit $rc), naming it" \
	bash -c "[[ $rc == 1 ]] && grep -q 'pin directory $PINS belongs to a running colo-xdp secondary (pid $AGENT): stop it' $T_TMP/live.log"

kill -TERM "$AGENT"
wait "$AGENT"
rc=$?
# nothing: no XDP program on the link, no tc filter on the VM's ingress
nothing() {
	! ip -n "$CN_SH" -d link show dev "$CN_L" | grep -q prog/xdp &&
		! tc -n "$CN_SH" filter show dev "$CN_V" ingress | grep -q . &&
		[[ ! -e $PINS ]]
}
t_check "SIGTERM: the agent exits 0 ($rc), nothing left on the link, the VM's ingress or in bpffs" \
	test "$rc" = 0 -a "$(nothing && echo none)" = none

t_done
