#!/bin/bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# colo_steer's watchdog on real traffic: a client and two replicas in
# namespaces (tools/colo-netns.sh), the real program, real AF_XDP sockets.
# Both replicas send the same stream the whole time: batches of UDP frames,
# one connection (source port) per batch, sequence numbers in the payload,
# the primary's batches kept as pcaps of exactly what it sent. The client's
# capture then proves, frame by frame:
# - SIGSTOP of the loader: the primary's frames flow on uncompared, counted
#   degraded; SIGCONT takes over again; every primary frame reaches the
#   client exactly once, and colo_steer saw every one go to the loader or
#   pass degraded (to_socket + degraded_passed = frames sent);
# - SIGKILL mid-stream: the frames flow on once the watchdog expires,
#   `colo-xdp run` started again adopts the attached program and pins,
#   takes over the killed loader's sockets and frames from its keeper and
#   compares again: every primary frame reaches the client exactly once;
# - SIGKILL while the loader holds a batch the secondary never matched
#   (and after its first keeper was killed and replaced): the keeper keeps
#   the frames, the restart takes them over and a
#   checkpoint releases them, once each; a flood into the dead loader's
#   socket fills its RX ring, and no buffer the kernel kept is reused;
#   with the keeper killed too, the restart starts afresh and the client
#   misses exactly that batch;
# - --on-loader-loss hold: the frames of the stall are dropped instead,
#   and the client misses exactly as many as colo_steer counted;
# - SIGKILL in failover: the restart stays failed over until resume;
# - nobody takes over: removing the pins ends the keeper.
# No secondary frame ever reaches the client.
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
# a keeper outlives a killed loader until its pins go: both, whatever happens
t_on_exit "pkill -KILL -f '^colo-xdp keep $INST ' ; rm -rf $INST"
RUN_ARGS=(--primary-in "$CN_P" --secondary-in "$CN_S" --outdev "$CN_O"
	--watchdog-ms 100)
# Frames per batch; a batch's primary frames carry IPv4 IDs below 40000,
# the secondary's from 40000 on (not compared: they tell them apart).
BATCH=20

# wait_until COMMAND...: bounded polling for a condition (20 s).
wait_until() {
	local i
	for ((i = 0; i < 200; i++)); do
		"$@" && return 0
		sleep 0.1
	done
	return 1
}

# stat_json EXPR: a value of this instance's `colo-xdp stat --json`, where
# EXPR is Python on i (the instance); e.g. i["steer"]["primary"]["to_socket"].
stat_json() {
	"$COLO_XDP" stat --pin-path "$INST" --json 2>/dev/null |
		python3 -c 'import json, sys
i = json.load(sys.stdin)["instances"][0]
print(eval(sys.argv[1]))' "$1"
}

steer() {
	stat_json "i[\"steer\"][\"$1\"][\"$2\"]"
}

# at_least ROLE FIELD N
at_least() {
	local v
	v=$(steer "$1" "$2") && ((v >= $3))
}

loader_is() {
	[[ $(stat_json 'i["loader"]["state"]') == "$1" ]]
}

# start_run NAME [FLAGS...]: `colo-xdp run` in the background, logging to
# $T_TMP/NAME.log, until it compares; sets RUN. Right after a SIGKILL the
# kernel frees the dead loader's queues a moment later: colo-xdp waits
# for them itself, so one start must do, as it does for an operator.
start_run() {
	local name=$1
	shift
	t_bg "$COLO_XDP" run "${RUN_ARGS[@]}" "$@" >"$T_TMP/$name.log" 2>&1
	RUN=$T_LAST_PID
	wait_until started_or_dead "$T_TMP/$name.log"
	grep -q "^comparing" "$T_TMP/$name.log" && return 0
	cat "$T_TMP/$name.log" >&2
	return 1
}

started_or_dead() {
	grep -q "^comparing" "$1" || ! kill -0 "$RUN" 2>/dev/null
}

stop_run() {
	kill -TERM "$1" 2>/dev/null
	wait "$1"
}

# sender NAME: batch after batch from both replicas until $T_TMP/NAME.stop
# exists; batch k is sent from port 10000 + k, the primary's into
# $T_TMP/NAME-k.pcap, and k is written to $T_TMP/NAME.started first.
sender() {
	local name=$1 k=0
	while [[ ! -e $T_TMP/$name.stop ]]; do
		# renamed into place: a reader never sees it half written
		echo "$k" >"$T_TMP/$name.started.new"
		mv "$T_TMP/$name.started.new" "$T_TMP/$name.started"
		ip netns exec "$CN_PRI" "$VMSEND" --dev eth0 --proto udp \
			--count $BATCH --size 64 --sport $((10000 + k)) \
			--ip-id 1000 --write "$T_TMP/$name-$k.pcap" &
		ip netns exec "$CN_SEC" "$VMSEND" --dev eth0 --proto udp \
			--count $BATCH --size 64 --sport $((10000 + k)) \
			--ip-id 40000
		wait $!
		k=$((k + 1))
	done
	echo "$k" >"$T_TMP/$name.count"
}

start_sender() {
	t_bg sender "$1"
	SENDER=$T_LAST_PID
}

stop_sender() {
	touch "$T_TMP/$1.stop"
	wait "$SENDER"
}

# primary_frames NAME [FIRST [LAST]]: the frames of batches FIRST..LAST
# (all by default) as the primary sent them, one line of hex each.
primary_frames() {
	local name=$1 first=${2:-0} last=${3:-$(($(cat "$T_TMP/$1.count") - 1))}
	local k
	for ((k = first; k <= last; k++)); do
		cn_frames "$T_TMP/$name-$k.pcap"
	done
}

# client_frames NAME: the guests' frames the client captured.
client_frames() {
	cn_frames "$T_TMP/$1-cli.pcap" "$CN_GUEST_MAC"
}

# has_all FILE: the client's capture of this case holds every frame of FILE.
has_all() {
	client_frames "$CASE" | sort >"$T_TMP/got"
	[[ -z $(sort "$1" | comm -23 - "$T_TMP/got") ]]
}

# xdp_saw_all N: colo_steer handed the loader, or passed degraded, N
# primary frames, and dropped none for want of a socket.
xdp_saw_all() {
	local sock deg none
	sock=$(steer primary to_socket) && deg=$(steer primary degraded_passed) &&
		none=$(steer primary no_socket) &&
		((sock + deg == $1 && none == 0))
}

# caught_up BASE: the running loader took every frame colo_steer gave its
# sockets since it started, when to_socket was BASE (it publishes its
# counters every second). Only then does SIGTERM flush all of them: frames
# still in the RX rings are not the engine's yet.
caught_up() {
	local sock rx
	sock=$(steer primary to_socket) &&
		rx=$(stat_json 'i["datapath"]["rx_primary"]') &&
		((rx == sock - $1))
}

# check_client NAME: no duplicate, nothing the primary did not send (all
# of it in $T_TMP/NAME.all), no secondary frame. Leaves the sorted sets in
# $T_TMP/NAME.{sent,got}.
check_client() {
	local name=$1 dups alien
	sort "$T_TMP/$name.all" >"$T_TMP/$name.sent"
	client_frames "$name" | sort >"$T_TMP/$name.got"
	dups=$(uniq -d "$T_TMP/$name.got" | wc -l)
	t_check "$name: no frame reached the client twice ($dups did)" \
		test "$dups" -eq 0
	alien=$(comm -13 "$T_TMP/$name.sent" <(uniq "$T_TMP/$name.got") |
		wc -l)
	t_check "$name: every frame at the client is one the primary sent ($alien are not)" \
		test "$alien" -eq 0
	t_check "$name: no secondary frame reached the client" \
		cn_none "$T_TMP/$name-cli.pcap" \
		"ether src $CN_GUEST_MAC and ip[4:2] >= 40000"
}

# --- SIGSTOP: fail open while stopped, take over again on SIGCONT ---------
CASE=stop
cn_capture_start "$CN_CLI" eth0 "$T_TMP/$CASE-cli.pcap" udp || t_fail "capture"
CAP=$CN_CAP_PID
start_run "$CASE" || t_fail "$CASE: colo-xdp run starts"
t_check "$CASE: the loader is alive for colo_steer" wait_until loader_is alive
start_sender "$CASE"
t_check "$CASE: frames go to the loader" \
	wait_until at_least primary to_socket 100
kill -STOP "$RUN"
t_check "$CASE: stopped, the loader is lost to colo_steer" \
	wait_until loader_is lost
t_check "$CASE: the primary's frames pass degraded meanwhile" \
	wait_until at_least primary degraded_passed 100
t_check "$CASE: the secondary's are dropped degraded" \
	at_least secondary degraded_dropped 1
sock=$(steer primary to_socket)
kill -CONT "$RUN"
t_check "$CASE: SIGCONT: the loader takes over again" \
	wait_until at_least primary to_socket $((sock + 100))
t_check "$CASE: alive again" wait_until loader_is alive
stop_sender "$CASE"
N=$(($(cat "$T_TMP/$CASE.count") * BATCH))
primary_frames "$CASE" >"$T_TMP/$CASE.all"
t_check "$CASE: colo_steer gave each of the $N primary frames to the loader or passed it degraded" \
	wait_until xdp_saw_all "$N"
t_check "$CASE: the loader noticed its stall" \
	grep -q "degraded" "$T_TMP/$CASE.log"
t_check "$CASE: the loader took them all off its sockets" wait_until caught_up 0
# what the stall left unmatched is held until a checkpoint: SIGTERM flushes
stop_run "$RUN"
t_check "$CASE: SIGTERM: exit status 0" test $? -eq 0
t_check "$CASE: the client got every frame" wait_until has_all "$T_TMP/$CASE.all"
cn_capture_stop "$CAP"
check_client "$CASE"
t_check "$CASE: exactly once each: $N at the client" \
	test "$(wc -l <"$T_TMP/$CASE.got")" -eq "$N"

# --- SIGKILL mid-stream, then a restart that adopts ------------------------
CASE=kill
cn_capture_start "$CN_CLI" eth0 "$T_TMP/$CASE-cli.pcap" udp || t_fail "capture"
CAP=$CN_CAP_PID
start_run "$CASE" || t_fail "$CASE: colo-xdp run starts"
prog=$(ip -d link show dev "$CN_P" | grep -o "prog/xdp id [0-9]*")
start_sender "$CASE"
t_check "$CASE: frames go to the loader" \
	wait_until at_least primary to_socket 200
# a stall first, which the loader reports and publishes: the successor
# must report only what passed after it, not since the program attached
kill -STOP "$RUN"
wait_until at_least primary degraded_passed 50
kill -CONT "$RUN"
seen_stall() {
	STALL=$(steer primary degraded_passed) &&
		((STALL > 0 &&
			$(stat_json 'i["datapath"]["degraded_seen_passed"]') == STALL))
}
t_check "$CASE: a stall before the kill, reported and published" \
	wait_until seen_stall
kill -KILL "$RUN"
wait "$RUN" 2>/dev/null
# batches started from here on went out with no loader at all
DEAD_FROM=$(($(cat "$T_TMP/$CASE.started") + 1))
deg=$(steer primary degraded_passed)
t_check "$CASE: the primary's frames flow on uncompared" \
	wait_until at_least primary degraded_passed $((deg + 100))
t_check "$CASE: stat says the loader is lost and not running" \
	bash -c "'$COLO_XDP' stat --pin-path $INST |
		 grep -q 'not running.*take over' &&
		 '$COLO_XDP' stat --pin-path $INST | grep -q 'loader: lost'"
t_check "$CASE: SIGKILL left colo_steer attached, the same program" \
	bash -c "ip -d link show dev $CN_P | grep -q '$prog'"
sock=$(steer primary to_socket)
start_run "$CASE-restart" || t_fail "$CASE: colo-xdp run starts again"
t_check "$CASE: the new loader took the instance over" \
	grep -q "took over the instance" "$T_TMP/$CASE-restart.log"
t_check "$CASE: without detaching: the same program runs" \
	bash -c "ip -d link show dev $CN_P | grep -q '$prog'"
t_check "$CASE: it compares again" \
	wait_until at_least primary to_socket $((sock + 200))
t_check "$CASE: and counts the gap, asking for a checkpoint" \
	grep -q "degraded" "$T_TMP/$CASE-restart.log"
compares() {
	local n
	n=$(stat_json 'i["engine"]["compared"]') && ((n > 0))
}
t_check "$CASE: its engine compares the replicas' frames" wait_until compares
stop_sender "$CASE"
N=$(($(cat "$T_TMP/$CASE.count") * BATCH))
primary_frames "$CASE" 0 $((DEAD_FROM - 1)) >"$T_TMP/$CASE.before"
primary_frames "$CASE" "$DEAD_FROM" >"$T_TMP/$CASE.after"
cat "$T_TMP/$CASE.before" "$T_TMP/$CASE.after" >"$T_TMP/$CASE.all"
t_check "$CASE: colo_steer gave each of the $N primary frames to a loader or passed it degraded" \
	wait_until xdp_saw_all "$N"
DEGRADED=$(steer primary degraded_passed)
GAP=$(sed -n 's/^degraded: adopted after a restart: \([0-9]*\) primary.*/\1/p' \
	"$T_TMP/$CASE-restart.log")
t_check "$CASE: the restart reports this gap's $GAP frames, not the stall's $STALL before it" \
	test "${GAP:-0}" -gt 0 -a "${GAP:-0}" -le $((DEGRADED - STALL))
# what was on the killed loader's rings is the new one's to take as well
took_rest() {
	local now rx
	now=$(steer primary to_socket) &&
		rx=$(stat_json 'i["datapath"]["rx_primary"]') &&
		((rx >= now - $1))
}
t_check "$CASE: the new loader took all of its share off its sockets" \
	wait_until took_rest "$sock"
stop_run "$RUN"
t_check "$CASE: SIGTERM of the new loader: exit status 0" test $? -eq 0
t_check "$CASE: and it removes what the killed one had attached and pinned" \
	bash -c "! ip -d link show dev $CN_P | grep -q prog/xdp &&
		 ! ip -d link show dev $CN_S | grep -q prog/xdp &&
		 test ! -e $INST"
t_check "$CASE: every frame sent after the kill reached the client" \
	wait_until has_all "$T_TMP/$CASE.after"
cn_capture_stop "$CAP"
check_client "$CASE"
LOST=$(comm -23 "$T_TMP/$CASE.sent" "$T_TMP/$CASE.got" | wc -l)
t_check "$CASE: none lost with the killed loader: $N of $N at the client ($DEGRADED passed degraded)" \
	test "$LOST" -eq 0 -a "$DEGRADED" -gt 0
grep "took over" "$T_TMP/$CASE-restart.log" | sed 's/^/# /'

# --- SIGKILL while the loader holds frames: its keeper keeps them --------
# The primary alone sends a batch: the loader holds all of it for the
# secondary's. Sent once: the client gets each frame once or never.
send_held() {
	ip netns exec "$CN_PRI" "$VMSEND" --dev eth0 --proto udp \
		--count $BATCH --size 64 --sport "$2" --ip-id 1000 \
		--write "$T_TMP/$1-0.pcap" >/dev/null &&
		echo 1 >"$T_TMP/$1.count"
}
holds() {
	[[ $(stat_json 'i["engine"]["queued_primary"]') == "$1" ]]
}
gone() {
	! kill -0 "$1" 2>/dev/null
}
keeper_of() {
	stat_json 'i["keeper"]["pid"]'
}

CASE=held
CTL=$T_TMP/$CASE.sock
cn_capture_start "$CN_CLI" eth0 "$T_TMP/$CASE-cli.pcap" udp || t_fail "capture"
CAP=$CN_CAP_PID
# a long watchdog: stat is read well within it after the kill
start_run "$CASE" --watchdog-ms 5000 || t_fail "$CASE: colo-xdp run starts"
send_held "$CASE" 30000 || t_fail "$CASE: send the batch"
primary_frames "$CASE" >"$T_TMP/$CASE.all"
t_check "$CASE: the loader holds the primary's $BATCH frames" \
	wait_until holds $BATCH
KEEPER=$(keeper_of)
t_check "$CASE: its keeper runs, in a session of its own" \
	test -n "$KEEPER" -a "$(ps -o sid= -p "$KEEPER" | tr -d ' ')" = "$KEEPER"
kill -KILL "$KEEPER"
another_keeper() {
	local k
	k=$(keeper_of) && [[ $k != "$KEEPER" ]] && kill -0 "$k" 2>/dev/null
}
t_check "$CASE: a keeper killed under a running loader is replaced" \
	wait_until another_keeper
KEEPER=$(keeper_of)
t_check "$CASE: and the loader says so" \
	grep -q "exited: pid $KEEPER keeps the sockets and UMEM now" \
	"$T_TMP/$CASE.log"
kill -KILL "$RUN"
wait "$RUN" 2>/dev/null
t_check "$CASE: SIGKILL: the keeper outlives the loader" kill -0 "$KEEPER"
t_check "$CASE: stat: the loader is dead, its keeper holds the sockets" \
	bash -c "'$COLO_XDP' stat --pin-path $INST |
		 grep -q 'loader: dead .*its keeper holds the sockets until the watchdog'"
t_check "$CASE: stat names the keeper holding the dead loader's frames" \
	bash -c "'$COLO_XDP' stat --pin-path $INST |
		 grep -q 'keeper: pid $KEEPER: the frames of the dead loader'"
"$COLO_XDP" run "${RUN_ARGS[@]}" --umem-frames 8192 >"$T_TMP/$CASE-wrong.log" 2>&1
t_check "$CASE: a restart with another --umem-frames stops, naming the flags" \
	bash -c "test $? -eq 1 && grep -q 'dead loader ran --umem-frames 16384 --frame-size 2048, not 8192 and 2048: restart with its flags' '$T_TMP/$CASE-wrong.log'"
t_check "$CASE: and leaves the instance and the keeper as they were" \
	bash -c "kill -0 $KEEPER && ip -d link show dev $CN_P | grep -q prog/xdp &&
		 '$COLO_XDP' stat --pin-path $INST | grep -q 'keeper: pid $KEEPER: the frames'"
# two restarts at once: one takes over, the other finds it taken
t_bg "$COLO_XDP" run "${RUN_ARGS[@]}" --control "$CTL.a" \
	>"$T_TMP/$CASE-a.log" 2>&1
RUN_A=$T_LAST_PID
t_bg "$COLO_XDP" run "${RUN_ARGS[@]}" --control "$CTL.b" \
	>"$T_TMP/$CASE-b.log" 2>&1
RUN_B=$T_LAST_PID
one_won() {
	if grep -q "^comparing" "$T_TMP/$CASE-a.log" && gone "$RUN_B"; then
		RUN=$RUN_A LOSER=$RUN_B W=a L=b
	elif grep -q "^comparing" "$T_TMP/$CASE-b.log" && gone "$RUN_A"; then
		RUN=$RUN_B LOSER=$RUN_A W=b L=a
	else
		return 1
	fi
}
t_check "$CASE: two restarts at once: one takes the instance over" \
	wait_until one_won
wait "$LOSER"
t_check "$CASE: the other stops (exit 1): the instance has a live owner" \
	bash -c "test $? -eq 1 &&
		 grep -q 'belongs to a running colo-xdp' '$T_TMP/$CASE-$L.log'"
CTL=$CTL.$W
RUN_LOG=$T_TMP/$CASE-$W.log
t_check "$CASE: the restart took the $BATCH held frames over" \
	grep -q "took over $BATCH frames the dead loader held ($BATCH primary, 0 secondary)" \
	"$RUN_LOG"
t_check "$CASE: and ended the dead loader's keeper" wait_until gone "$KEEPER"
NEW_KEEPER=$(keeper_of)
t_check "$CASE: a keeper of its own runs ($NEW_KEEPER)" \
	bash -c "test '$NEW_KEEPER' != '$KEEPER' && kill -0 '$NEW_KEEPER'"
t_check "$CASE: its engine holds them until a checkpoint" holds $BATCH
t_check "$CASE: none has reached the client yet" \
	test "$(client_frames "$CASE" | wc -l)" -eq 0
t_check "$CASE: counted: datapath adopted_primary $BATCH" \
	test "$(stat_json 'i["datapath"]["adopted_primary"]')" -eq $BATCH
# what a restarted loader took, off the ring or over from the dead one, is
# released, queued or waiting: its totals start at the restart
identity() {
	stat_json '(i["datapath"]["rx_primary"] + i["datapath"]["adopted_primary"], i["engine"]["released"] + i["engine"]["queued_primary"] + i["datapath"]["rx_waiting_primary"])' |
		tr -d '(),' | awk '$1 == $2 { ok = 1 } END { exit !ok }'
}
t_check "$CASE: rx_primary + adopted_primary = released + queued + waiting" \
	wait_until identity
t_check "$CASE: colo-xdp ctl checkpoint-done" \
	bash -c "'$COLO_XDP' ctl --control '$CTL' checkpoint-done >/dev/null"
t_check "$CASE: the checkpoint released all $BATCH to the client" \
	wait_until has_all "$T_TMP/$CASE.all"
t_check "$CASE: after it, too, with all $BATCH released" \
	wait_until identity
sent_all() {
	[[ $(stat_json 'i["engine"]["released"] + i["datapath"]["adopted_sent"] - i["datapath"]["tx_completed"]') -eq 0 ]]
}
t_check "$CASE: released + adopted_sent = tx_completed" wait_until sent_all
stop_run "$RUN"
t_check "$CASE: SIGTERM: exit status 0" test $? -eq 0
t_check "$CASE: and its keeper ends with it" gone "$NEW_KEEPER"
cn_capture_stop "$CAP"
check_client "$CASE"
t_check "$CASE: exactly once each: $BATCH at the client" \
	test "$(wc -l <"$T_TMP/$CASE.got")" -eq $BATCH

# --- a flood into a dead loader's sockets: its RX ring fills --------------
# Within a long watchdog, colo_steer keeps giving the dead loader's socket
# frames: its RX ring fills, and the kernel drops and counts the rest while
# it keeps a fill buffer to itself. The restart must not hand that buffer
# out again: every frame at the client is one the primary sent, once, and
# the client misses exactly what colo_steer did not redirect plus what the
# kernel counted dropped.
CASE=flood
cn_capture_start "$CN_CLI" eth0 "$T_TMP/$CASE-cli.pcap" udp || t_fail "capture"
CAP=$CN_CAP_PID
start_run "$CASE" --watchdog-ms 60000 || t_fail "$CASE: colo-xdp run starts"
kill -KILL "$RUN"
wait "$RUN" 2>/dev/null
# three connections of 1000: none above --max-queue-size once taken over
for k in 0 1 2; do
	ip netns exec "$CN_PRI" "$VMSEND" --dev eth0 --proto udp --count 1000 \
		--size 64 --sport $((32000 + k)) --ip-id 1000 \
		--write "$T_TMP/$CASE-$k.pcap" >/dev/null || t_fail "$CASE: send"
done
echo 3 >"$T_TMP/$CASE.count"
primary_frames "$CASE" >"$T_TMP/$CASE.all"
REDIRECTED=$(steer primary to_socket)
t_check "$CASE: colo_steer gave the dead loader's socket more than its RX ring holds ($REDIRECTED)" \
	test "$REDIRECTED" -gt 2048
start_run "$CASE-restart" --control "$CTL" ||
	t_fail "$CASE: colo-xdp run starts again"
t_check "$CASE: the restart took the dead loader's sockets over" \
	grep -q "took over the sockets and UMEM" "$T_TMP/$CASE-restart.log"
t_check "$CASE: and every frame on its RX ring" \
	wait_until took_rest "$REDIRECTED"
DROPPED=$(stat_json '(i["datapath"]["rx_ring_full_primary"] +
	i["datapath"]["rx_dropped_primary"])')
t_check "$CASE: the kernel counted the frames its full ring dropped ($DROPPED)" \
	test "$DROPPED" -gt 0
t_check "$CASE: colo-xdp ctl checkpoint-done" \
	bash -c "'$COLO_XDP' ctl --control '$CTL' checkpoint-done >/dev/null"
got_all_kept() {
	(($(client_frames "$CASE" | wc -l) >= REDIRECTED - DROPPED))
}
t_check "$CASE: the checkpoint released what the ring kept" \
	wait_until got_all_kept
stop_run "$RUN"
cn_capture_stop "$CAP"
check_client "$CASE"
MISSING=$(comm -23 "$T_TMP/$CASE.sent" "$T_TMP/$CASE.got" | wc -l)
t_check "$CASE: the client misses exactly the unredirected and dropped ($MISSING = 3000 - $REDIRECTED + $DROPPED)" \
	test "$MISSING" -eq $((3000 - REDIRECTED + DROPPED))

# --- the keeper killed too: a restart afresh, the loss said and exact -----
CASE=nokeeper
cn_capture_start "$CN_CLI" eth0 "$T_TMP/$CASE-cli.pcap" udp || t_fail "capture"
CAP=$CN_CAP_PID
start_run "$CASE" || t_fail "$CASE: colo-xdp run starts"
send_held "$CASE" 31000 || t_fail "$CASE: send the batch"
t_check "$CASE: the loader holds the primary's $BATCH frames" \
	wait_until holds $BATCH
KEEPER=$(keeper_of)
kill -KILL "$RUN" "$KEEPER"
wait "$RUN" 2>/dev/null
keeper_gone() {
	"$COLO_XDP" stat --pin-path "$INST" | grep -q "keeper: pid $1 (gone)"
}
t_check "$CASE: stat says the keeper is gone" wait_until keeper_gone "$KEEPER"
start_run "$CASE-restart" || t_fail "$CASE: colo-xdp run starts again"
t_check "$CASE: the restart says the held frames are lost" \
	grep -q "frames the dead loader held are lost" \
	"$T_TMP/$CASE-restart.log"
t_check "$CASE: and compares again" wait_until loader_is alive
ip netns exec "$CN_PRI" "$VMSEND" --dev eth0 --proto udp --count $BATCH \
	--size 64 --sport 31001 --ip-id 1000 --write "$T_TMP/$CASE-1.pcap" \
	>/dev/null
echo 2 >"$T_TMP/$CASE.count"
primary_frames "$CASE" 1 >"$T_TMP/$CASE.after"
stop_run "$RUN"
t_check "$CASE: SIGTERM flushes the new batch to the client" \
	wait_until has_all "$T_TMP/$CASE.after"
cn_capture_stop "$CAP"
primary_frames "$CASE" >"$T_TMP/$CASE.all"
check_client "$CASE"
t_check "$CASE: the client misses exactly the $BATCH lost frames" \
	test "$(comm -23 "$T_TMP/$CASE.sent" "$T_TMP/$CASE.got" | wc -l)" \
	-eq $BATCH

# --- hold: a stalled loader's frames are dropped, and counted -------------
CASE=hold
cn_capture_start "$CN_CLI" eth0 "$T_TMP/$CASE-cli.pcap" udp || t_fail "capture"
CAP=$CN_CAP_PID
start_run "$CASE" --on-loader-loss hold || t_fail "$CASE: colo-xdp run starts"
start_sender "$CASE"
t_check "$CASE: frames go to the loader" \
	wait_until at_least primary to_socket 100
kill -STOP "$RUN"
t_check "$CASE: stopped, the primary's frames are dropped and counted" \
	wait_until at_least primary degraded_dropped 100
kill -CONT "$RUN"
sock=$(steer primary to_socket)
t_check "$CASE: SIGCONT: the loader takes over again" \
	wait_until at_least primary to_socket $((sock + 100))
stop_sender "$CASE"
N=$(($(cat "$T_TMP/$CASE.count") * BATCH))
primary_frames "$CASE" >"$T_TMP/$CASE.all"
held_all() {
	local sock held
	sock=$(steer primary to_socket) &&
		held=$(steer primary degraded_dropped) &&
		((sock + held == N))
}
t_check "$CASE: colo_steer gave each primary frame to the loader or dropped it degraded" \
	wait_until held_all
HELD=$(steer primary degraded_dropped)
t_check "$CASE: the loader took them all off its sockets" wait_until caught_up 0
t_check "$CASE: nothing passed uncompared" \
	test "$(steer primary degraded_passed)" -eq 0
stop_run "$RUN"
got_rest() {
	(($(client_frames "$CASE" | wc -l) >= N - HELD))
}
wait_until got_rest
cn_capture_stop "$CAP"
check_client "$CASE"
t_check "$CASE: the client misses exactly the $HELD frames dropped" \
	test "$(comm -23 "$T_TMP/$CASE.sent" "$T_TMP/$CASE.got" | wc -l)" \
	-eq "$HELD"

# --- SIGKILL in failover: the restart stays failed over ------------------
# The controller said the secondary is gone; a restart does not bring it
# back: the primary's frames go on passing alone until `ctl resume`.
CASE=failover
CTL=$T_TMP/$CASE.sock
cn_capture_start "$CN_CLI" eth0 "$T_TMP/$CASE-cli.pcap" udp || t_fail "capture"
CAP=$CN_CAP_PID
start_run "$CASE" --control "$CTL" || t_fail "$CASE: colo-xdp run starts"
t_check "$CASE: ctl failover" \
	bash -c "'$COLO_XDP' ctl --control '$CTL' failover >/dev/null"
kill -KILL "$RUN"
wait "$RUN" 2>/dev/null
start_run "$CASE-restart" --control "$CTL" ||
	t_fail "$CASE: colo-xdp run starts again"
t_check "$CASE: the restart says it stays failed over" \
	grep -q "the dead loader had failed over" "$T_TMP/$CASE-restart.log"
t_check "$CASE: ctl status: failover" \
	bash -c "'$COLO_XDP' ctl --control '$CTL' status |
		 grep -Eq '^state +failover$'"
t_check "$CASE: and asks for no checkpoint: no secondary to check against" \
	bash -c "! grep -q '^checkpoint request' '$T_TMP/$CASE-restart.log'"
send_held "$CASE" 33000 || t_fail "$CASE: send a batch"
primary_frames "$CASE" >"$T_TMP/$CASE.all"
t_check "$CASE: the primary's frames reach the client alone" \
	wait_until has_all "$T_TMP/$CASE.all"
t_check "$CASE: ctl resume" \
	bash -c "'$COLO_XDP' ctl --control '$CTL' resume >/dev/null"
ip netns exec "$CN_PRI" "$VMSEND" --dev eth0 --proto udp --count $BATCH \
	--size 64 --sport 33001 --ip-id 1000 --write "$T_TMP/$CASE-1.pcap" \
	>/dev/null
t_check "$CASE: resumed, the primary alone is held again" \
	wait_until holds $BATCH
stop_run "$RUN"
echo 2 >"$T_TMP/$CASE.count"
primary_frames "$CASE" >"$T_TMP/$CASE.all"
t_check "$CASE: SIGTERM flushes them" wait_until has_all "$T_TMP/$CASE.all"
cn_capture_stop "$CAP"
check_client "$CASE"

# --- nobody takes over: removing the pins ends the keeper ------------------
CASE=orphan
start_run "$CASE" || t_fail "$CASE: colo-xdp run starts"
KEEPER=$(keeper_of)
kill -KILL "$RUN"
wait "$RUN" 2>/dev/null
t_check "$CASE: the keeper waits for a successor" kill -0 "$KEEPER"
rm -r "$INST"
t_check "$CASE: the operator removes the pins: the keeper ends" \
	wait_until gone "$KEEPER"
ip link set dev "$CN_P" xdp off
ip link set dev "$CN_S" xdp off

t_done
