#!/bin/bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# make bench: colo-xdp against QEMU's colo-compare and against the bare
# AF_XDP datapath, on this machine, in one run (bench/README.md).
#
#   bench/run.sh [--smoke] [--out DIR]
#
# --smoke: every measurement once, briefly, into DIR (make check's suite
# asserts only that it all runs and produces its files).
#
# Topology, all in the root namespace (colo-xdp pins maps under
# /sys/fs/bpf, which `ip netns exec` would hide from it), no addresses,
# IPv6 off, removed on exit whatever happens:
#
#   bench-traffic (BPF_PROG_RUN live frames) ─► <p>v ══ <p>  P  ┐
#                                            └► <s>v ══ <s>  S  ├ comparator
#   bench_count (XDP, counts and drops)      ◄─ <o>v ══ <o>  O  ┘
#
# CPUs (two here): the source and the kernel's RX work for P and S (it
# runs where the redirect happens) on SRC_CPU; the comparator under test
# (colo-xdp run, bench-forward, or QEMU's colo-compare) and its TX work on
# CMP_CPU.
set -u
TOP=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$TOP/build}
OUT=$TOP/bench/results
SMOKE=0
while (($#)); do
	case $1 in
	--smoke) SMOKE=1 ;;
	--out)
		OUT=${2:?--out needs a directory}
		shift
		;;
	*)
		echo "usage: bench/run.sh [--smoke] [--out DIR]" >&2
		exit 2
		;;
	esac
	shift
done
if [[ $(id -u) -ne 0 ]]; then
	echo "bench: needs root (veths, XDP, AF_XDP, BPF_PROG_RUN)" >&2
	exit 1
fi

if ((SMOKE)); then
	RUNS=1 WARMUP=50 TIME=150 LAT_RATE=2000 LAT_TIME=250
else
	RUNS=5 WARMUP=300 TIME=1000 LAT_RATE=10000 LAT_TIME=3000
fi
# Pairs in flight: under the 256 frames a veth's XDP ring holds, so no
# frame is lost between the source and the comparator.
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
# its time slice). Not the source: a real-time task spinning in
# BPF_PROG_RUN would starve ksoftirqd, hence the RX work for P and S.
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

for x in "$P" "$S" "$O"; do
	ip link add "${x}v" type veth peer name "$x" ||
		die "cannot create veth ${x}v"
	LINKS+=("${x}v")
	for i in "${x}v" "$x"; do
		sysctl -qw "net.ipv6.conf.$i.disable_ipv6=1"
		ip link set dev "$i" up || die "cannot bring $i up"
	done
done

traffic_args() {
	case $1 in
	udp64) echo "--proto udp --frame-len 64" ;;
	udp1500) echo "--proto udp --frame-len 1500" ;;
	tcp1448) echo "--proto tcp --segment 1448" ;;
	esac
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
# another process, is never signalled at exit.
stop_bg() {
	local p keep=()
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

# record META JSON: one result line, META's fields first.
record() {
	[[ $2 == \{* ]] || die "no result: $2"
	echo "{$1, ${2#\{}" >>"$RESULTS"
}

# measure NAME TRAFFIC CONNS RUN EXTRA...: bench-traffic, recorded.
measure() {
	local name=$1 t=$2 c=$3 r=$4 json
	shift 4
	# shellcheck disable=SC2046
	json=$("$TRAFFIC_BIN" --to-primary "${P}v" --to-secondary "${S}v" \
		$(traffic_args "$t") --conns "$c" --cpu "$SRC_CPU" "$@") ||
		return 1
	record "\"system\": \"$name\", \"traffic\": \"$t\", \"conns\": $c, \"run\": $r" "$json"
	echo "  $name $t conns=$c run $r: $json"
}

# behind START LOG NAME TRAFFIC CONNS RUN EXTRA...: measure through a
# comparator started by START (its pid in BG_PID, its output in LOG) and
# stopped after. A failed attempt is shown, counted and tried once more.
behind() {
	local start=$1 log=$2 try
	shift 2
	for try in 1 2; do
		$start
		if measure "$@"; then
			stop_bg "$BG_PID"
			return 0
		fi
		stop_bg "$BG_PID"
		FAILED_ATTEMPTS=$((FAILED_ATTEMPTS + 1))
		echo "bench: $1 $2 conns=$3 run $4 failed (attempt $try); it said:"
		tail -n 5 "$log"
	done
	die "$1 $2 conns=$3 run $4 failed twice"
}
FAILED_ATTEMPTS=0

# start_colo / start_colo_1m: colo-xdp run with room for 65,536 or for
# 1,048,576 connections.
start_colo() {
	start_ready "$TMP/colo.log" "^comparing" "${RT[@]}" "$COLO_XDP" run \
		--primary-in "$P" --secondary-in "$S" --outdev "$O" \
		--cpu "$CMP_CPU" --max-connections "${1:-65536}" \
		--stats-interval 3600
}

start_colo_1m() {
	start_colo 1048576
}

start_forward() {
	start_ready "$TMP/fwd.log" "^forwarding" "${RT[@]}" "$FORWARD_BIN" \
		--primary-in "$P" --secondary-in "$S" --outdev "$O" \
		--cpu "$CMP_CPU"
}

echo "source alone: frames counted on arrival at P and S"
for t in $TRAFFIC; do
	for ((r = 1; r <= RUNS; r++)); do
		measure source "$t" 1 "$r" --count-on "$P,$S" \
			--warmup "$WARMUP" --time "$TIME" ||
			die "the source alone failed ($t)"
	done
done

echo "forward-only: P to O through AF_XDP, no comparison"
for t in $TRAFFIC; do
	for ((r = 1; r <= RUNS; r++)); do
		behind start_forward "$TMP/fwd.log" forward "$t" 1 "$r" \
			--count-on "${O}v" --window "$WINDOW" \
			--warmup "$WARMUP" --time "$TIME"
	done
done

echo "colo-xdp run: pairs compared and released"
for t in $TRAFFIC; do
	for c in $CONNS; do
		for ((r = 1; r <= RUNS; r++)); do
			# a fresh table each run: 1,000,000 connections are new
			behind "$( ((c > 65536)) && echo start_colo_1m ||
				echo start_colo)" "$TMP/colo.log" colo-xdp "$t" \
				"$c" "$r" --count-on "${O}v" --window "$WINDOW" \
				--warmup "$WARMUP" --time "$TIME"
		done
	done
done

echo "latency at $LAT_RATE pairs/s: later frame of a pair in, primary out"
for ((r = 1; r <= RUNS; r++)); do
	measure source udp64 1 "$r" --count-on "$P,$S" --rate "$LAT_RATE" \
		--time "$LAT_TIME" --samples "$TMP/lat-source-$r.txt" ||
		die "the source alone failed (latency)"
	behind start_forward "$TMP/fwd.log" forward udp64 1 "$r" \
		--count-on "${O}v" --rate "$LAT_RATE" --time "$LAT_TIME" \
		--samples "$TMP/lat-forward-$r.txt"
	behind start_colo "$TMP/colo.log" colo-xdp udp64 1 "$r" \
		--count-on "${O}v" --rate "$LAT_RATE" --time "$LAT_TIME" \
		--samples "$TMP/lat-colo-xdp-$r.txt"
done

echo "QEMU colo-compare: the same pairs over its socket chardevs"
for t in $TRAFFIC; do
	# its connection table holds 16384: 1,000,000 would destroy it
	for c in 1 1000; do
		for ((r = 1; r <= RUNS; r++)); do
			rm -f "$TMP"/q-*
			chr=
			for ch in pri sec out ntf; do
				chr+=" -chardev socket,id=$ch,path=$TMP/q-$ch,server=on,wait=off"
			done
			# shellcheck disable=SC2086
			start_bg "$TMP/qemu.log" "${RT[@]}" \
				taskset -c "$CMP_CPU" "$QEMU" \
				-machine none -nodefaults -display none \
				-object iothread,id=io $chr \
				-object colo-compare,id=cc,primary_in=pri,secondary_in=sec,outdev=out,notify_dev=ntf,iothread=io
			# shellcheck disable=SC2046
			json=$("$QEMU_FEEDER" --primary "$TMP/q-pri" \
				--secondary "$TMP/q-sec" --outdev "$TMP/q-out" \
				--notify "$TMP/q-ntf" $(traffic_args "$t") \
				--conns "$c" --window "$WINDOW" \
				--warmup "$WARMUP" --time "$TIME" \
				--cpu "$SRC_CPU") ||
				die "bench-qemu failed ($t $c): $(cat "$TMP/qemu.log")"
			record "\"system\": \"qemu\", \"traffic\": \"$t\", \"conns\": $c, \"run\": $r" "$json"
			echo "  qemu $t conns=$c run $r: $json"
			stop_bg "$BG_PID"
		done
	done
done

mkdir -p "$OUT" || die "cannot create $OUT"
python3 "$TOP/bench/report.py" --results "$RESULTS" --samples "$TMP" \
	--out "$OUT" --runs "$RUNS" --window "$WINDOW" \
	--lat-rate "$LAT_RATE" --cpus "$SRC_CPU,$CMP_CPU" --load "$LOAD" \
	--rt-prio "$RT_PRIO" --failed-attempts "$FAILED_ATTEMPTS" \
	--qemu "$("$QEMU" --version | head -n 1)" \
	$( ((SMOKE)) || echo --readme "$TOP/bench/README.md") ||
	die "report failed"
