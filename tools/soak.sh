#!/bin/bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# Soak `colo-xdp run` (make soak; SOAK_SECONDS, 180 by default): a client
# and two replicas in namespaces (tools/colo-netns.sh), round after round
# of mixed traffic, each round a matching UDP stream, a TCP stream, a
# stream whose secondary differs (mismatch) and one the secondary never
# sends (compare timeout), with a controller answering every checkpoint
# request (--on-checkpoint-request running `colo-xdp ctl checkpoint-done`).
# A third of the way in, the loader is killed (SIGKILL) under traffic and
# started again: it takes over the dead one's sockets, UMEM and held
# frames from the keeper. Every 5 s it samples the loader's VmRSS and the
# frame pool, and prints them. Flat, and the soak passes, when:
# - VmRSS: the last sample is within SOAK_RSS_KB (1024) of the first
#   sample after the restarted loader's warm-up (30 s);
# - the pool: once traffic stops and a last checkpoint is done, nothing is
#   in use and the pool has as many free frames as before any traffic;
# - the restarted loader's identities hold at the end: what it took off
#   the rings or over from the dead loader was released (nothing queued
#   or waiting), what it released or took over released was sent, and no
#   total went down between the samples.
. "$(dirname "$0")/../selftests/lib.sh"
. "$T_TOP/tools/colo-netns.sh"
CN_ON_EXIT=t_on_exit
VMSEND=$T_BUILD/colo-vmsend
SECONDS_TOTAL=${SOAK_SECONDS:-180}
RSS_BOUND=${SOAK_RSS_KB:-1024}
WARMUP=30
t_skip_unless_root

cn_veth_topology "$T_PREFIX" || {
	t_fail "build the namespaces"
	t_done
}
INST=/sys/fs/bpf/colo-xdp/$CN_P
CTL=$T_TMP/ctl.sock
KILL_AT=$((SECONDS_TOTAL / 3))
start_run() {
	t_bg "$COLO_XDP" run --primary-in "$CN_P" --secondary-in "$CN_S" \
		--outdev "$CN_O" --control "$CTL" --compare-timeout 200 \
		--on-checkpoint-request "'$COLO_XDP' ctl --control '$CTL' checkpoint-done" \
		>"$T_TMP/run-$1.log" 2>&1
	RUN=$T_LAST_PID
	cn_wait_log "$T_TMP/run-$1.log" "^comparing" && return
	t_fail "colo-xdp run starts ($1): $(cat "$T_TMP/run-$1.log")"
	t_done
}
start_run first

stat_json() {
	"$COLO_XDP" stat --pin-path "$INST" --json 2>/dev/null |
		python3 -c 'import json, sys
i = json.load(sys.stdin)["instances"][0]
print(eval(sys.argv[1]))' "$1"
}

rss() {
	awk '/^VmRSS/ { print $2 }' "/proc/$RUN/status"
}

# both NAME FLAGS...: the same stream from both replicas, the secondary's
# with FLAGS2 (a global) added
both() {
	ip netns exec "$CN_PRI" "$VMSEND" --dev eth0 "$@" >/dev/null &
	ip netns exec "$CN_SEC" "$VMSEND" --dev eth0 "$@" $FLAGS2 >/dev/null
	wait $!
}

traffic() {
	local r=0
	while [[ ! -e $T_TMP/stop ]]; do
		FLAGS2="" both --proto udp --count 200 --sport $((20000 + r % 5000))
		FLAGS2="" both --proto tcp --count 100 --size 1000 \
			--sport $((30000 + r % 5000))
		FLAGS2="--differ-at 5" both --proto udp --count 50 \
			--sport $((40000 + r % 5000))
		# no checkpoint for longer than --compare-timeout: it expires
		ip netns exec "$CN_PRI" "$VMSEND" --dev eth0 --proto udp \
			--count 20 --sport $((50000 + r % 5000)) >/dev/null
		sleep 0.5
		r=$((r + 1))
	done
	echo "$r" >"$T_TMP/rounds"
}

# published every second: let the first figures in
sleep 2
FREE0=$(stat_json 'i["datapath"]["pool_free"]')
snap() {
	"$COLO_XDP" stat --pin-path "$INST" --json 2>/dev/null
}
t_bg traffic
TRAFFIC=$T_LAST_PID
echo "# t(s)  VmRSS(kB)  pool_in_use  pool_free  checkpoints"
start=$(date +%s)
rss_warm=
warm_at=$WARMUP
killed=
went_down=0
prev=$(snap)
while :; do
	t=$(($(date +%s) - start))
	((t >= SECONDS_TOTAL)) && break
	if [[ -z $killed ]] && ((t >= KILL_AT)); then
		kill -KILL "$RUN"
		wait "$RUN" 2>/dev/null
		echo "# $t s: loader killed under traffic, started again"
		start_run restart
		grep '^took over' "$T_TMP/run-restart.log" | sed 's/^/# /'
		killed=$t
		warm_at=$((t + WARMUP))
		rss_warm=
		prev=$(snap)
	fi
	cur=$(snap)
	t_totals_up "$prev" "$cur" || went_down=$((went_down + 1))
	prev=$cur
	line=$(stat_json '"%d %d %d" % (i["engine"]["pool_in_use"], i["datapath"]["pool_free"], i["engine"]["checkpoints"])')
	r=$(rss)
	printf '%6d  %9d  %s\n' "$t" "$r" "$line" | awk '{ printf "%6d  %9d  %11d  %9d  %11d\n", $1, $2, $3, $4, $5 }'
	if [[ -z $rss_warm ]] && ((t >= warm_at)); then
		rss_warm=$r
	fi
	rss_last=$r
	sleep 5
done
touch "$T_TMP/stop"
wait "$TRAFFIC"
"$COLO_XDP" ctl --control "$CTL" checkpoint-done >/dev/null
idle() {
	[[ $(stat_json 'i["engine"]["pool_in_use"]') == 0 &&
		$(stat_json 'i["datapath"]["pool_free"]') == "$FREE0" ]]
}
t_check "the loader ran the whole soak, killed and restarted once (at ${killed:-?} s)" \
	bash -c "test -n '$killed' && kill -0 '$RUN'"
echo "# $(cat "$T_TMP/rounds") rounds; since the restart: $(stat_json 'i["engine"]["checkpoints"]') checkpoints, $(stat_json 'i["engine"]["mismatches"]') mismatches, $(stat_json 'i["engine"]["ckpt_timeout"]') timeout requests"
t_check "VmRSS flat: ${rss_warm:-?} kB after warm-up, $rss_last kB at the end (bound $RSS_BOUND kB)" \
	test -n "$rss_warm" -a $((rss_last - rss_warm)) -le "$RSS_BOUND"
t_check "pool flat: nothing in use at the end, $FREE0 frames free as at the start" \
	cn_wait_cmd idle
t_check "no total went down between samples" test "$went_down" -eq 0
taken_all_released() {
	[[ $(stat_json 'i["datapath"]["rx_primary"] + i["datapath"]["adopted_primary"] - i["engine"]["released"] - i["engine"]["queued_primary"] - i["datapath"]["rx_waiting_primary"]') == 0 &&
		$(stat_json 'i["engine"]["queued_primary"] + i["datapath"]["rx_waiting_primary"]') == 0 ]]
}
t_check "identity: rx_primary $(stat_json 'i["datapath"]["rx_primary"]') + adopted_primary $(stat_json 'i["datapath"]["adopted_primary"]') = released $(stat_json 'i["engine"]["released"]'), none queued or waiting" \
	cn_wait_cmd taken_all_released
released_all_sent() {
	[[ $(stat_json 'i["engine"]["released"] + i["datapath"]["adopted_sent"] - i["datapath"]["tx_completed"]') == 0 ]]
}
t_check "identity: released + adopted_sent $(stat_json 'i["datapath"]["adopted_sent"]') = tx_completed" \
	cn_wait_cmd released_all_sent
kill -TERM "$RUN"
wait "$RUN"
t_check "SIGTERM: exit status 0" test $? -eq 0
t_done
