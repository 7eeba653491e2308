#!/bin/bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# colo_steer on veth pairs to namespaces, driven as a user would:
# - `ip link ... xdp obj colo_steer.bpf.o sec xdp.frags` loads it and pins its
#   maps in /sys/fs/bpf/xdp/globals/, whose counters bpftool prints by name;
# - `colo-xdp run --attach none` adopts it, `colo-xdp run` attaches it
#   itself; either way an ARP from the primary reaches the client through
#   the outdev, one from the secondary never does, and `colo-xdp stat`
#   shows the counters; stopping removes exactly what the run added;
# - colo_steer_open's refusals through `colo-xdp run`: one line naming the
#   interface and the fix, nothing attached or pinned afterwards;
# - an instance's pin directory is refused to a second run while its
#   loader lives, and taken over when it was killed: the adopting run's
#   restart keeps the ip-link program and pins, as its clean stop does;
# - nothing the suite made is left in bpffs.
. "$(dirname "$0")/lib.sh"
. "$T_TOP/tools/colo-netns.sh"
CN_ON_EXIT=t_on_exit
t_skip_unless_root

OBJ=$T_BUILD/colo_steer.bpf.o
GLOBALS=/sys/fs/bpf/xdp/globals
MAPS=(colo_config colo_xsks colo_stats colo_loader colo_heartbeat colo_vm_mac
	colo_pass colo_pass_stats)

# What ip link adds to bpffs goes at exit, unless it was there before
# (another user of the ip-link maps): tc/globals/, and ip and xdp as
# symbolic links to tc.
for d in /sys/fs/bpf/tc /sys/fs/bpf/ip /sys/fs/bpf/xdp; do
	[[ -e $d || -L $d ]] || t_on_exit "rmdir $d || rm -f $d"
	[[ -e $d/globals ]] || t_on_exit "rmdir $d/globals"
done
OWN_GLOBALS=
if [[ ! -e $GLOBALS/colo_config ]]; then
	OWN_GLOBALS=1
	t_on_exit "rm -f ${MAPS[*]/#/$GLOBALS/}"
fi

cn_veth_topology "$T_PREFIX" || t_fail "build the namespaces"
P=$CN_P
S=$CN_S
O=$CN_O
IFS3=(--primary-in "$P" --secondary-in "$S" --outdev "$O")
INST=/sys/fs/bpf/colo-xdp/$P

# arp_frame TARGET: an ARP request from the guest's address for TARGET, in
# hex (the secondary's asks for another address than the primary's, so the
# client's capture tells them apart).
arp_frame() {
	local tpa
	tpa=$(printf '%02x' ${1//./ })
	echo "ffffffffffff020000000001080600010800060400010200000000010a000001000000000000${tpa}$(printf '0%.0s' {1..36})"
}
send_frame() {
	ip netns exec "$1" python3 -c '
import socket, sys
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind(("eth0", 0))
s.send(bytes.fromhex(sys.argv[1]))' "$2"
}

# stat_field ROLE FIELD: a steering counter of this suite's instance.
stat_field() {
	"$COLO_XDP" stat --pin-path "$INST" --json 2>/dev/null |
		python3 -c 'import json, sys
print(json.load(sys.stdin)["instances"][0]["steer"][sys.argv[1]][sys.argv[2]])' \
			"$1" "$2"
}

# wait_until COMMAND...: bounded polling for a condition.
wait_until() {
	local i
	for ((i = 0; i < 100; i++)); do
		"$@" && return 0
		sleep 0.1
	done
	return 1
}

instance_up() {
	"$COLO_XDP" stat --pin-path "$INST" >/dev/null 2>&1
}

counter_at_least() {
	local v
	v=$(stat_field "$1" "$2") && ((v >= $3))
}

# captured FILE HEX: the capture holds that frame.
captured() {
	cn_frames "$1" 2>/dev/null | grep -q "^$2"
}

not() {
	! "$@"
}

prog_on() {
	ip -d link show dev "$1" | grep -q "prog/xdp.*name colo_steer"
}

# arp_check NAME: the primary's ARP reaches the client, the secondary's is
# dropped by colo_steer and never does.
arp_check() {
	local cap=$T_TMP/$1.pcap pri sec
	pri=$(arp_frame 10.0.0.2)
	sec=$(arp_frame 10.0.0.3)
	cn_capture_start "$CN_CLI" eth0 "$cap" || {
		t_fail "$1: capture on the client"
		return
	}
	send_frame "$CN_PRI" "$pri"
	send_frame "$CN_SEC" "$sec"
	wait_until captured "$cap" "$pri"
	wait_until counter_at_least secondary dropped 1
	cn_capture_stop "$CN_CAP_PID"
	t_check "$1: ARP from the primary arrives on the client" \
		captured "$cap" "$pri"
	t_check "$1: colo_steer counted it bypassed" \
		counter_at_least primary bypassed 1
	t_check "$1: colo_steer dropped the secondary's ARP" \
		counter_at_least secondary dropped 1
	t_check "$1: ARP from the secondary never arrives" \
		not captured "$cap" "$sec"
}

stop_run() {
	kill -INT "$1" 2>/dev/null
	wait "$1" 2>/dev/null
}

# --- ip link loads it; bpftool names the counters
t_check "ip link loads colo_steer.bpf.o on P and S" \
	bash -c "ip link set dev $P xdp obj $OBJ sec xdp.frags &&
		 ip link set dev $S xdp obj $OBJ sec xdp.frags"
t_check "ip link attached colo_steer" prog_on "$P"
missing=
for m in "${MAPS[@]}"; do
	[[ -e $GLOBALS/$m ]] || missing+=" $m"
done
t_check "maps pinned in $GLOBALS/ (missing:${missing:- none})" \
	test -z "$missing"

# --- colo-xdp run --attach none adopts it
t_bg "$COLO_XDP" run --attach none "${IFS3[@]}" >"$T_TMP/adopt.log" 2>&1
RUN=$T_LAST_PID
t_check "run --attach none starts; stat finds the instance" \
	wait_until instance_up
# the instance is up before its colo_stats entries are written: waited for
stats_by_name() {
	bpftool map dump pinned "$GLOBALS/colo_stats" | grep -q '"no_socket"'
}
t_check "bpftool prints colo_stats by field name" wait_until stats_by_name
t_check "bpftool prints colo_loader by field name" \
	bash -c "bpftool map dump pinned $INST/colo_loader |
		 grep -q '\"ckpt_requests\"'"
arp_check adopted
t_check "stat shows the instance, its interfaces and counters" \
	bash -c "'$COLO_XDP' stat | grep -q 'primary $P' &&
		 '$COLO_XDP' stat | grep -q 'ckpt_mismatch'"
t_check "stat --json is one object listing this instance" \
	bash -c "'$COLO_XDP' stat --json | python3 -c 'import json, sys
d = json.load(sys.stdin)
assert \"$INST\" in [i[\"pin_path\"] for i in d[\"instances\"]]'"
# --watch repeats until SIGINT, then exits cleanly
"$COLO_XDP" stat --pin-path "$INST" --json --watch 1 >"$T_TMP/watch" &
WATCH=$!
watch_rounds() {
	(($(wc -l <"$T_TMP/watch") >= 2))
}
wait_until watch_rounds
kill -INT "$WATCH"
wait "$WATCH"
rc=$?
watch_ok() {
	((rc == 0)) && watch_rounds
}
t_check "stat --watch repeats, stops on SIGINT with status 0" watch_ok
out=$("$COLO_XDP" stat --pin-path "$T_TMP" 2>&1)
rc=$?
t_check "stat without an instance: exit 1, says so" \
	test "$rc:$out" = "1:colo-xdp stat: no colo-xdp instance is pinned in $T_TMP: start one with 'colo-xdp run', 'colo-xdp secondary' or 'colo-xdp chardev'"
"$COLO_XDP" stat --bogus >/dev/null 2>&1
t_check "stat with an unknown flag: exit 2" test $? -eq 2
# SIGKILL leaves the instance's pins; a new run takes it over
kill -KILL "$RUN"
wait "$RUN" 2>/dev/null
t_check "SIGKILL of the adopting run leaves its pins" \
	test -e "$INST/colo_loader"
t_bg "$COLO_XDP" run --attach none "${IFS3[@]}" >"$T_TMP/retake.log" 2>&1
RUN=$T_LAST_PID
took_over() {
	grep -q "took over the instance of colo-xdp pid" "$T_TMP/retake.log" &&
		instance_up &&
		[[ $("$COLO_XDP" stat --pin-path "$INST" --json |
			python3 -c 'import json, sys
print(json.load(sys.stdin)["instances"][0]["pid"])') == "$RUN" ]]
}
t_check "run again: it takes the killed instance over" wait_until took_over
arp_check "taken over"
stop_run "$RUN"
t_check "stopping an adopting run removes its pins and directory" \
	test ! -e "$INST"
t_check "and leaves the adopted program attached" prog_on "$P"
t_check "and the ip-link pins in place" test -e "$GLOBALS/colo_config"

# --- refusals through colo-xdp run
# nothing_left: no XDP program on the interfaces of CLEAN_IFS, no pins.
CLEAN_IFS=("$P" "$S")
nothing_left() {
	local i
	for i in "${CLEAN_IFS[@]}"; do
		ip -d link show dev "$i" | grep -q prog/xdp && return 1
	done
	[[ ! -e $INST ]]
}
# refused NAME PATTERN COMMAND...: fails, says PATTERN in one line, leaves
# nothing behind.
refused() {
	local name=$1 pattern=$2 out
	shift 2
	# a run that starts instead must fail the check, not hang the suite
	if out=$(timeout 30 "$@" 2>&1 </dev/null); then
		t_fail "$name: it ran"
	elif ! grep -q -- "$pattern" <<<"$out"; then
		t_fail "$name: message '$out' lacks '$pattern'"
	elif (($(grep -c "^colo-xdp" <<<"$out") != 1)); then
		t_fail "$name: not one error line: $out"
	elif ! nothing_left; then
		t_fail "$name: something was left attached or pinned"
	else
		t_ok "$name"
	fi
}
ip link set dev "$P" xdp off
CLEAN_IFS=("$P") # S keeps what ip link attached
refused "colo_steer attached by ip link: says --attach none" \
	"$S already runs colo_steer .*--attach none.*ip link set dev $S xdp off" \
	"$COLO_XDP" run "${IFS3[@]}"
ip link set dev "$S" xdp off
CLEAN_IFS=("$P" "$S")
refused "--attach none with nothing attached" \
	"no XDP program is attached to $P: attach colo_steer with 'ip link set dev $P xdp obj" \
	"$COLO_XDP" run --attach none "${IFS3[@]}"
refused "no such interface" "secondary interface ${T_PREFIX}zz does not exist" \
	"$COLO_XDP" run --primary-in "$P" --secondary-in "${T_PREFIX}zz" \
	--outdev "$O"
ip link set dev "$O" down
refused "outdev down" "outdev interface $O is down: bring it up with 'ip link set dev $O up'" \
	"$COLO_XDP" run "${IFS3[@]}"
ip link set dev "$O" up

# --- colo-xdp run attaches it itself
t_bg "$COLO_XDP" run "${IFS3[@]}" >"$T_TMP/attach.log" 2>&1
RUN=$T_LAST_PID
t_check "run attaches colo_steer; stat finds the instance" \
	wait_until instance_up
t_check "its maps are its own, pinned in its directory" \
	bash -c "[[ \$(bpftool map show pinned $INST/colo_config | cut -d: -f1) != \
		    \$(bpftool map show pinned $GLOBALS/colo_config | cut -d: -f1) ]]"
arp_check attached
out=$("$COLO_XDP" run "${IFS3[@]}" 2>&1 </dev/null)
rc=$?
t_check "a second run on the same interfaces is refused: its loader lives" \
	test "$rc" -ne 0 -a -n "$(grep "pin directory $INST belongs to a running colo-xdp (pid $RUN)" <<<"$out")"
arp_check "after the refusal"
stop_run "$RUN"
t_check "stopping it detaches colo_steer and removes its pins" nothing_left

# --- nothing left in bpffs
if [[ -n $OWN_GLOBALS ]]; then
	rm -f "${MAPS[@]/#/$GLOBALS/}"
	t_check "removing the ip-link pins leaves no colo map in bpffs" \
		bash -c "! ls $GLOBALS 2>/dev/null | grep -q colo_"
else
	t_skip "removing the ip-link pins leaves no colo map in bpffs:" \
		"$GLOBALS/colo_config was pinned before this suite" \
		"(another user of the ip-link maps): left alone"
fi
t_check "no pin directory of this suite is left" test ! -e "$INST"
t_done
