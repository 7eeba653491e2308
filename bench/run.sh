#!/bin/bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# make bench: colo-xdp against QEMU's colo-compare and against the bare
# AF_XDP datapath, on this machine, in one run (bench/README.md).
#
#   bench/run.sh [--smoke] [--out DIR] [--only SECTION]
#
# --smoke: every measurement once, briefly, into DIR (make check's suite
# asserts that it all runs and produces its files). --only: one section
# (source, closed, zero-loss, cpu, latency, workers, secondary), its table
# in DIR (build/bench-SECTION if not given), the README left alone.
#
# Topology, all in the root namespace (colo-xdp pins maps under
# /sys/fs/bpf, which `ip netns exec` would hide from it), no addresses,
# IPv6 off, removed on exit whatever happens:
#
#   bench-traffic (io_uring writes, as two VMs) ─► tap <p>  P ┐
#                                             └──► tap <s>  S ├ comparator
#   bench_count (XDP on <o>v, NAPI thread)     ◄── <o>v ══ <o> O ┘
#
# and the secondary path, colo-xdp secondary on the way (the secondary
# VM's frames into tap <v> instead of S, its link the veth <l>, the
# comparator's S the veth's other end <k>):
#
#   bench-traffic ─► tap <v> ─ colo_rw_out (tc) ─► <l> ══ <k> S' ─► comparator
#
# and, to tell the agent's cost from the link's, the same way with tc's
# mirred in place of the agent.
#
# CPUs (two here): the source, the kernel's RX work for P and S (tun runs
# it inside the source's writes) and the sink's NAPI thread on SRC_CPU;
# the comparator under test (colo-xdp run, bench-forward, or QEMU's
# colo-compare) and its TX work on CMP_CPU.
set -u
TOP=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$TOP/build}
OUT=
SMOKE=0
ONLY=
while (($#)); do
	case $1 in
	--smoke) SMOKE=1 ;;
	--out)
		OUT=${2:?--out needs a directory}
		shift
		;;
	--only)
		ONLY=${2:?--only needs a section}
		shift
		;;
	*)
		echo "usage: bench/run.sh [--smoke] [--out DIR] [--only SECTION]" >&2
		exit 2
		;;
	esac
	shift
done
case $ONLY in
'' | source | closed | zero-loss | cpu | latency | workers | secondary) ;;
*)
	echo "bench/run.sh: --only $ONLY: no such section (source, closed, zero-loss, cpu, latency, workers, secondary)" >&2
	exit 2
	;;
esac
# one section's figures are not the results: they go beside the build
if [[ -z $OUT ]]; then
	OUT=$TOP/bench/results
	[[ -n $ONLY ]] && OUT=$BUILD/bench-$ONLY
fi
# want SECTION: whether this run measures it
want() {
	[[ -z $ONLY || $ONLY == "$1" ]]
}
if [[ $(id -u) -ne 0 ]]; then
	echo "bench: needs root (taps, veths, XDP, AF_XDP)" >&2
	exit 1
fi

# TIME: a closed-loop run; TRIAL: one step of the zero-loss search, STEPS
# of them (the first at 1.25 times the closed-loop rate, then halving the
# interval); CPU_TIME: a run at each of CPU_RATES.
if ((SMOKE)); then
	RUNS=1 WARMUP=50 TIME=150 TRIAL=150 STEPS=2 CPU_TIME=200
	LAT_RATE=2000 LAT_TIME=300
else
	RUNS=3 WARMUP=200 TIME=1000 TRIAL=1000 STEPS=6 CPU_TIME=2000
	LAT_RATE=10000 LAT_TIME=3000
fi
CPU_RATES="50000 200000"
# Pairs in flight in the closed loop: under the 256 frames of the sink
# veth's ring, so the window itself never loses a frame.
WINDOW=192
CONNS="1 1000 1000000"
TRAFFIC="udp64 udp1500 tcp1448"
LOAD=$(cut -d' ' -f1 /proc/loadavg)
if (($(nproc) >= 2)); then
	SRC_CPU=0 CMP_CPU=1
else
	SRC_CPU=0 CMP_CPU=0
fi

# The comparator under test runs SCHED_FIFO at this priority (0: not),
# as it would on a CPU of its own: on a shared machine a CPU-bound
# neighbour otherwise decides the figures (a woken comparator waits for
# its time slice). Never with --busy-poll: a real-time task that never
# sleeps is throttled by the kernel for 50 ms a second.
RT_PRIO=${BENCH_RT_PRIO:-10}
if ((RT_PRIO)); then
	RT=(chrt -f "$RT_PRIO")
else
	RT=()
fi

COLO_XDP=$BUILD/colo-xdp
TRAFFIC_BIN=$BUILD/bench-traffic
FORWARD_BIN=$BUILD/bench-forward
QEMU_FEEDER=$BUILD/bench-qemu
QEMU=${QEMU:-qemu-system-x86_64}
for b in "$COLO_XDP" "$TRAFFIC_BIN" "$FORWARD_BIN" "$QEMU_FEEDER"; do
	[[ -x $b ]] || {
		echo "bench: $b is missing: run make first" >&2
		exit 1
	}
done
command -v "$QEMU" >/dev/null || {
	echo "bench: $QEMU is missing: apt-get install qemu-system-x86" >&2
	exit 1
}

# BENCH_PREFIX: interface names (a test picks its own, to look for them)
PFX=${BENCH_PREFIX:-cxb$$}
P=${PFX}p S=${PFX}s O=${PFX}o
# the secondary host: the VM's tap, the link, the link's end on this host
V=${PFX}v L=${PFX}l K=${PFX}k
# the workers' outdev: a TX queue for each
W=${PFX}w
# Connections of the workers' runs: spread over both engines by the hash.
WORKERS_CONNS=1000
WORKERS_RATE=200000
TMP=$(mktemp -d /tmp/colo-xdp-bench.XXXXXX)
RESULTS=$TMP/results.jsonl
PIDS=()
LINKS=()

cleanup() {
	local p l
	for p in "${PIDS[@]}"; do
		kill "$p" 2>/dev/null
	done
	for p in "${PIDS[@]}"; do
		wait "$p" 2>/dev/null
	done
	for l in "${LINKS[@]}"; do
		ip link del "$l" 2>/dev/null
	done
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

die() {
	echo "bench: $*" >&2
	exit 1
}

mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf ||
	die "cannot mount bpffs on /sys/fs/bpf"

for x in "$P" "$S" "$V"; do
	ip tuntap add dev "$x" mode tap || die "cannot create tap $x"
	LINKS+=("$x")
done
ip link add "${O}v" type veth peer name "$O" || die "cannot create veth $O"
LINKS+=("${O}v")
ip link add "${W}v" numtxqueues 2 numrxqueues 2 type veth peer name "$W" \
	numtxqueues 2 numrxqueues 2 || die "cannot create veth $W"
LINKS+=("${W}v")
ip link add "$L" type veth peer name "$K" || die "cannot create veth $L"
LINKS+=("$L")
for i in "$P" "$S" "$O" "${O}v" "$W" "${W}v" "$V" "$L" "$K"; do
	sysctl -qw "net.ipv6.conf.$i.disable_ipv6=1"
	ip link set dev "$i" up || die "cannot bring $i up"
done

traffic_args() {
	case $1 in
	udp64) echo "--proto udp --frame-len 64" ;;
	udp1500) echo "--proto udp --frame-len 1500" ;;
	tcp1448) echo "--proto tcp --segment 1448" ;;
	esac
}

# jget JSON KEY: a number from a flat JSON object.
jget() {
	sed -n "s/.*\"$2\": \(-\{0,1\}[0-9.]*\).*/\1/p" <<<"$1"
}

# start_bg LOG COMMAND...: start in the background; sets BG_PID.
start_bg() {
	local log=$1
	shift
	# emptied here, not by the child: a wait on the log must never see
	# the previous instance's lines
	: >"$log"
	"$@" >>"$log" 2>&1 &
	BG_PID=$!
	PIDS+=("$BG_PID")
}

# stop_bg PID: stop it and forget it, so that its number, once reused by
# another process, is never signalled at exit. No PID: nothing to stop.
stop_bg() {
	local p keep=()
	[[ -n $1 ]] || return 0
	kill -TERM "$1" 2>/dev/null
	wait "$1" 2>/dev/null
	for p in "${PIDS[@]}"; do
		[[ $p == "$1" ]] || keep+=("$p")
	done
	PIDS=("${keep[@]}")
}

# wait_log PID LOG PATTERN: bounded wait for a startup line; fails if the
# process exits first.
wait_log() {
	local i
	for ((i = 0; i < 200; i++)); do
		grep -q -- "$3" "$2" 2>/dev/null && return 0
		kill -0 "$1" 2>/dev/null || return 1
		sleep 0.05
	done
	return 1
}

# start_ready LOG PATTERN COMMAND...: start it and wait for PATTERN in its
# log; sets BG_PID. The sockets of the instance stopped just before may
# still be bound for a moment (EBUSY): then try again.
start_ready() {
	local log=$1 pat=$2 try
	shift 2
	for ((try = 0; try < 10; try++)); do
		start_bg "$log" "$@"
		wait_log "$BG_PID" "$log" "$pat" && return 0
		stop_bg "$BG_PID"
		grep -q "resource busy" "$log" || break
		sleep 0.2
	done
	die "$(head -c 2000 "$log")"
}

# record KIND META JSON: one result line, the kind and META's fields first.
record() {
	[[ $3 == \{* ]] || die "no result: $3"
	echo "{\"kind\": \"$1\", $2, ${3#\{}" >>"$RESULTS"
}

# The comparators. Each start_* sets BG_PID and LOG; the measure_* that
# goes with it (MEASURE) runs the traffic through it and prints its JSON.

# start_colo [MAX_CONNS [FLAGS...]]: colo-xdp run (SCHED_FIFO);
# start_colo_1m: with room for 1,048,576 connections; start_colo_busy:
# busy-polling, SCHED_OTHER, on CMP_CPU.
start_colo() {
	LOG=$TMP/colo.log
	start_ready "$LOG" "^comparing" "${RT[@]}" "$COLO_XDP" run \
		--primary-in "$P" --secondary-in "$S" --outdev "$O" \
		--cpu "$CMP_CPU" --max-connections "${1:-65536}" \
		--stats-interval 3600 "${@:2}"
}

start_colo_1m() {
	start_colo 1048576
}

start_colo_busy() {
	LOG=$TMP/colo.log
	start_ready "$LOG" "^comparing" "$COLO_XDP" run \
		--primary-in "$P" --secondary-in "$S" --outdev "$O" \
		--cpu "$CMP_CPU" --busy-poll --stats-interval 3600
}

# start_colo_w1, start_colo_w2: colo-xdp run --workers 1 or 2 out on W,
# worker 0 on CMP_CPU, worker 1 on SRC_CPU (the source's: two CPUs here).
start_colo_w1() {
	LOG=$TMP/colo.log
	start_ready "$LOG" "^comparing" "${RT[@]}" "$COLO_XDP" run \
		--primary-in "$P" --secondary-in "$S" --outdev "$W" \
		--workers 1 --cpu "$CMP_CPU" --stats-interval 3600
}

start_colo_w2() {
	LOG=$TMP/colo.log
	start_ready "$LOG" "^comparing" "${RT[@]}" "$COLO_XDP" run \
		--primary-in "$P" --secondary-in "$S" --outdev "$W" \
		--workers 2 --cpu "$CMP_CPU,$SRC_CPU" --stats-interval 3600
}

start_forward() {
	LOG=$TMP/fwd.log
	start_ready "$LOG" "^forwarding" "${RT[@]}" "$FORWARD_BIN" \
		--primary-in "$P" --secondary-in "$S" --outdev "$O" \
		--cpu "$CMP_CPU"
}

# QEMU's colo-compare on unix-socket chardevs, its iothread on CMP_CPU;
# bench-qemu waits for the sockets.
start_qemu() {
	local ch chr=()
	LOG=$TMP/qemu.log
	rm -f "$TMP"/q-*
	for ch in pri sec out ntf; do
		chr+=(-chardev "socket,id=$ch,path=$TMP/q-$ch,server=on,wait=off")
	done
	start_bg "$LOG" taskset -c "$CMP_CPU" "${RT[@]}" "$QEMU" \
		-machine none -nodefaults -display none \
		-object iothread,id=io "${chr[@]}" \
		-object colo-compare,id=cc,primary_in=pri,secondary_in=sec,outdev=out,notify_dev=ntf,iothread=io
}

# measure_tap TRAFFIC CONNS FLAGS...: bench-traffic into the taps, counted
# on O's peer unless FLAGS count elsewhere.
measure_tap() {
	local t=$1 c=$2
	shift 2
	# shellcheck disable=SC2046
	"$TRAFFIC_BIN" --primary-tap "$P" --secondary-tap "${SEC_TAP:-$S}" \
		$(traffic_args "$t") --conns "$c" --cpu "$SRC_CPU" \
		--napi-cpu "$SRC_CPU" --cmp-cpu "$CMP_CPU" "$@"
}

# measure_qemu TRAFFIC CONNS FLAGS...: bench-qemu into QEMU's sockets.
measure_qemu() {
	local t=$1 c=$2
	shift 2
	# shellcheck disable=SC2046
	"$QEMU_FEEDER" --primary "$TMP/q-pri" --secondary "$TMP/q-sec" \
		--outdev "$TMP/q-out" --notify "$TMP/q-ntf" \
		$(traffic_args "$t") --conns "$c" --cpu "$SRC_CPU" \
		--cmp-cpu "$CMP_CPU" "$@"
}

# start_colo_link: colo-xdp run (SCHED_FIFO) comparing P with K, the
# link's end, whatever brings the secondary's frames over the link.
start_colo_link() {
	LOG=$TMP/colo.log
	start_ready "$LOG" "^comparing" "${RT[@]}" "$COLO_XDP" run \
		--primary-in "$P" --secondary-in "$K" --outdev "$O" \
		--cpu "$CMP_CPU" --stats-interval 3600
}

# start_colo_agent: colo-xdp secondary between V and L, then
# start_colo_link; AGENT_PID is the agent's. Its pins go with it: it
# removes them when it stops.
start_colo_agent() {
	LOG=$TMP/agent.log
	start_ready "$LOG" "^rewriting" "$COLO_XDP" secondary --vm "$V" \
		--link "$L"
	AGENT_PID=$BG_PID
	start_colo_link
}

# start_colo_tc_link: the same way with no agent: tc's mirred redirects
# V's frames into L, the least a secondary host does to send its VM's
# frames to the primary host. Against it, the agent's cost alone.
start_colo_tc_link() {
	tc qdisc add dev "$V" clsact || die "cannot add clsact to $V"
	TC_LINK=1
	tc filter add dev "$V" ingress protocol all u32 match u32 0 0 \
		action mirred egress redirect dev "$L" ||
		die "cannot redirect $V to $L with tc"
	start_colo_link
}

# stop_cmp: the comparator behind() started, and the agent or the tc
# redirect if it did.
stop_cmp() {
	stop_bg "$BG_PID"
	stop_bg "${AGENT_PID:-}"
	AGENT_PID=
	((${TC_LINK:-0})) && tc qdisc del dev "$V" clsact
	TC_LINK=0
}

# behind START MEASURE TRAFFIC CONNS FLAGS...: MEASURE through the
# comparator START starts (a fresh one: the 1,000,000 connections are new
# ones), stopped after; JSON in MEASURED. AFTER, when set, runs before the
# stop. A failed attempt is shown, counted and tried once more.
behind() {
	local start=$1 measure=$2 try
	shift 2
	for try in 1 2; do
		$start
		if MEASURED=$($measure "$@" ${BG_PID:+--cmp-pid "$BG_PID"}); then
			[[ -n ${AFTER:-} ]] && $AFTER "$BG_PID"
			stop_cmp
			return 0
		fi
		stop_cmp
		FAILED_ATTEMPTS=$((FAILED_ATTEMPTS + 1))
		echo "bench: $start $* failed (attempt $try); it said:"
		tail -n 5 "$LOG"
	done
	die "$start $* failed twice"
}
FAILED_ATTEMPTS=0

meta() {
	echo "\"system\": \"$1\", \"traffic\": \"$2\", \"conns\": $3, \"run\": $4"
}

# windowed NAME START MEASURE TRAFFIC CONNS RUN [KIND]: the closed loop
# (the source alone: as fast as it goes, WIN=0).
windowed() {
	local name=$1 start=$2 measure=$3 t=$4 c=$5 r=$6
	behind "$start" "$measure" "$t" "$c" --window "${WIN:-$WINDOW}" \
		--warmup "$WARMUP" --time "$TIME"
	record "${7:-windowed}" "$(meta "$name" "$t" "$c" "$r")" "$MEASURED"
	echo "  $name $t conns=$c run $r: $(jget "$MEASURED" pairs_per_s) pairs/s"
}

# median_of KIND NAME TRAFFIC CONNS FIELD: over the runs recorded so far.
median_of() {
	python3 - "$RESULTS" "$@" <<'PY'
import json, statistics, sys
f, kind, name, t, c, field = sys.argv[1:]
v = [e[field] for e in map(json.loads, open(f))
     if (e['kind'], e['system'], e['traffic'], e['conns']) ==
        (kind, name, t, int(c))]
print(int(statistics.median(v)) if v else 0)
PY
}

# trial START MEASURE TRAFFIC CONNS RATE: one trial of the search, with a
# fresh comparator; adds it to TRIALS. Passes when no pair is lost and the
# source offered at least 97% of the rate (a QEMU that reads slowly blocks
# its feeder: that is loss too, moved upstream).
trial() {
	local lost ach pass=false
	behind "$1" "$2" "$3" "$4" --rate "$5" --warmup "$WARMUP" \
		--time "$TRIAL"
	lost=$(jget "$MEASURED" lost)
	ach=$(jget "$MEASURED" achieved_pps)
	((lost == 0 && ${ach%.*} * 100 >= $5 * 97)) && pass=true
	TRIALS+="${TRIALS:+, }{\"offered_pps\": $5, \"achieved_pps\": $ach, \"lost\": $lost, \"pass\": $pass}"
	[[ $pass == true ]]
}

# zero_loss NAME START MEASURE TRAFFIC CONNS RUN: the highest offered rate
# with no pair lost (RFC 2544's search): first at 1.25 times the closed
# loop's rate, then halving the interval, STEPS rates. A rate that fails
# is tried once more before it counts as failed (loss verification): on a
# shared machine one hiccup of a neighbour otherwise decides the search.
zero_loss() {
	local name=$1 start=$2 measure=$3 t=$4 c=$5 r=$6
	local lo=0 hi rate step
	TRIALS=
	hi=$(($(median_of windowed "$name" "$t" "$c" pairs_per_s) * 5 / 4))
	((hi > 1000)) || hi=1000
	rate=$hi
	for ((step = 0; step < STEPS; step++)); do
		if trial "$start" "$measure" "$t" "$c" "$rate" ||
			trial "$start" "$measure" "$t" "$c" "$rate"; then
			lo=$rate
			((step == 0)) && break
		else
			hi=$rate
		fi
		rate=$(((lo + hi) / 2))
	done
	record zero_loss "$(meta "$name" "$t" "$c" "$r")" \
		"{\"pairs_per_s\": $lo, \"trials\": [$TRIALS]}"
	echo "  $name $t conns=$c run $r: zero loss up to $lo pairs/s"
}

# cpu NAME START MEASURE TRAFFIC RATE RUN [CONNS [KIND]]: CPU time at a
# fixed rate.
cpu() {
	local name=$1 start=$2 measure=$3 t=$4 rate=$5 r=$6 c=${7:-1}
	behind "$start" "$measure" "$t" "$c" --rate "$rate" \
		--warmup "$WARMUP" --time "$CPU_TIME"
	record "${8:-cpu}" "$(meta "$name" "$t" "$c" "$r"), \"rate\": $rate" \
		"$MEASURED"
	echo "  $name $t $rate pairs/s run $r: busy $(jget "$MEASURED" busy_s) s, comparator $(jget "$MEASURED" cmp_s) s, lost $(jget "$MEASURED" lost)"
}

# latency NAME START MEASURE RUN: LAT_RATE pairs/s, every sample kept.
latency() {
	local name=$1 start=$2 measure=$3 r=$4
	behind "$start" "$measure" udp64 1 --rate "$LAT_RATE" \
		--warmup "$WARMUP" --time "$LAT_TIME" \
		--samples "$TMP/lat-$name-$r.txt"
	record latency "$(meta "$name" udp64 1 "$r")" "$MEASURED"
	echo "  $name run $r: p50 $(jget "$MEASURED" p50_us) us, p99 $(jget "$MEASURED" p99_us) us"
}

# The source alone and the baseline have no comparator: a start that
# starts nothing, and the kernel's own paths instead.
no_comparator() {
	BG_PID= LOG=/dev/null
}

source_alone() {
	measure_tap "$@" --count-on "$P,$S"
}

baseline() {
	measure_tap "$@" --count-on "${O}v" --forward-to "$O"
}

through_o() {
	measure_tap "$@" --count-on "${O}v"
}

# through_agent: the secondary's frames into V, over the link to K
through_agent() {
	SEC_TAP=$V measure_tap "$@" --count-on "${O}v"
}

through_w() {
	measure_tap "$@" --count-on "${W}v"
}

baseline_w() {
	measure_tap "$@" --count-on "${W}v" --forward-to "$W"
}

# memory PID: colo-xdp's resident set, after a closed-loop run.
memory() {
	local rss hwm
	rss=$(awk '/^VmRSS:/ { print $2 }' "/proc/$1/status")
	hwm=$(awk '/^VmHWM:/ { print $2 }' "/proc/$1/status")
	record memory "$(meta colo-xdp "$MEM_T" "$MEM_C" "$MEM_R")" \
		"{\"vmrss_kb\": $rss, \"vmhwm_kb\": $hwm}"
}

colo_start_for() {
	(($1 > 65536)) && echo start_colo_1m || echo start_colo
}

want source &&
echo "source alone: pairs written into P and S, counted on arrival there"
want source &&
for t in $TRAFFIC; do
	for ((r = 1; r <= RUNS; r++)); do
		WIN=0 windowed source no_comparator source_alone "$t" 1 "$r"
	done
done

want closed && echo "closed loop: at most $WINDOW pairs in flight"
want closed &&
for t in $TRAFFIC; do
	for ((r = 1; r <= RUNS; r++)); do
		windowed forward start_forward through_o "$t" 1 "$r"
		for c in $CONNS; do
			MEM_T=$t MEM_C=$c MEM_R=$r
			[[ $t == udp64 && $c != 1000 ]] && AFTER=memory
			windowed colo-xdp "$(colo_start_for "$c")" through_o \
				"$t" "$c" "$r"
			AFTER=
		done
		# its connection table holds 16384: 1,000,000 would destroy it
		for c in 1 1000; do
			windowed qemu start_qemu measure_qemu "$t" "$c" "$r"
		done
	done
done

want zero-loss &&
echo "zero loss: the highest offered rate with no pair lost"
want zero-loss &&
for t in $TRAFFIC; do
	for ((r = 1; r <= RUNS; r++)); do
		zero_loss forward start_forward through_o "$t" 1 "$r"
		for c in $CONNS; do
			zero_loss colo-xdp "$(colo_start_for "$c")" through_o \
				"$t" "$c" "$r"
		done
		for c in 1 1000; do
			zero_loss qemu start_qemu measure_qemu "$t" "$c" "$r"
		done
	done
done

want cpu && echo "CPU per pair at fixed rates"
want cpu &&
for t in $TRAFFIC; do
	for rate in $CPU_RATES; do
		for ((r = 1; r <= RUNS; r++)); do
			cpu baseline no_comparator baseline "$t" "$rate" "$r"
			cpu forward start_forward through_o "$t" "$rate" "$r"
			cpu colo-xdp start_colo through_o "$t" "$rate" "$r"
			cpu qemu start_qemu measure_qemu "$t" "$rate" "$r"
		done
	done
done

want latency && echo "latency at $LAT_RATE pairs/s: pair in, primary out"
want latency &&
for ((r = 1; r <= RUNS; r++)); do
	latency source no_comparator source_alone "$r"
	latency forward start_forward through_o "$r"
	latency colo-xdp start_colo through_o "$r"
	latency colo-xdp-busy-poll start_colo_busy through_o "$r"
done

# 1 and 2 workers in turn, each run of one right after the other's: the
# ratio is measured under one load. One queue each on P and S (the
# source's taps), so worker 0 takes every frame off the rings and hands
# about half, by connection, to worker 1.
want workers &&
echo "workers: 1 and 2, $WORKERS_CONNS connections, out on a 2-queue O"
want workers &&
for t in $TRAFFIC; do
	for ((r = 1; r <= RUNS; r++)); do
		windowed colo-xdp-1w start_colo_w1 through_w "$t" \
			"$WORKERS_CONNS" "$r" workers
		windowed colo-xdp-2w start_colo_w2 through_w "$t" \
			"$WORKERS_CONNS" "$r" workers
		cpu baseline no_comparator baseline_w "$t" "$WORKERS_RATE" \
			"$r" "$WORKERS_CONNS" workers_cpu
		cpu colo-xdp-1w start_colo_w1 through_w "$t" "$WORKERS_RATE" \
			"$r" "$WORKERS_CONNS" workers_cpu
		cpu colo-xdp-2w start_colo_w2 through_w "$t" "$WORKERS_RATE" \
			"$r" "$WORKERS_CONNS" workers_cpu
	done
done

# The secondary's frames over a link to S: through the agent, and through
# tc's mirred in its place, 1 connection. Against colo-xdp with S the tap
# itself (the closed and cpu sections measure it; here too when alone).
want secondary &&
echo "the secondary path: through the agent, through tc, and S the tap"
want secondary &&
for t in $TRAFFIC; do
	for ((r = 1; r <= RUNS; r++)); do
		[[ $ONLY == secondary ]] &&
			windowed colo-xdp start_colo through_o "$t" 1 "$r"
		windowed colo-xdp-tc-link start_colo_tc_link through_agent \
			"$t" 1 "$r"
		windowed colo-xdp-agent start_colo_agent through_agent \
			"$t" 1 "$r"
	done
	for rate in $CPU_RATES; do
		for ((r = 1; r <= RUNS; r++)); do
			if [[ $ONLY == secondary ]]; then
				cpu baseline no_comparator baseline "$t" "$rate" "$r"
				cpu colo-xdp start_colo through_o "$t" "$rate" "$r"
			fi
			cpu colo-xdp-tc-link start_colo_tc_link through_agent \
				"$t" "$rate" "$r"
			cpu colo-xdp-agent start_colo_agent through_agent \
				"$t" "$rate" "$r"
		done
	done
done

mkdir -p "$OUT" || die "cannot create $OUT"
# every trial of the search and every run, as measured
cp "$RESULTS" "$OUT/raw.jsonl" || die "cannot write $OUT/raw.jsonl"
python3 "$TOP/bench/report.py" --results "$RESULTS" --samples "$TMP" \
	--out "$OUT" --runs "$RUNS" --window "$WINDOW" \
	--lat-rate "$LAT_RATE" --cpu-rates "${CPU_RATES// /,}" \
	--trial-ms "$TRIAL" --cpus "$SRC_CPU,$CMP_CPU" --load "$LOAD" \
	--rt-prio "$RT_PRIO" --failed-attempts "$FAILED_ATTEMPTS" \
	--qemu "$("$QEMU" --version | head -n 1)" \
	--workers-rate "$WORKERS_RATE" \
	$( ((SMOKE)) || [[ -n $ONLY ]] || echo --readme "$TOP/bench/README.md") ||
	die "report failed"
