#!/bin/bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# --notify qmp:...: colo-xdp run on namespaces and veths asks a real COLO
# pair of QEMU 7.2 processes for checkpoints through the primary's QMP
# monitor, and releases the held frames when QEMU says the checkpoint is
# done; QEMU restarted under it; a monitor that speaks garbage; QMP over
# TCP. The pair runs `-machine none`: no guest CPU, so no guest output,
# but QEMU's own COLO checkpoint (stop, RAM and device state to the
# secondary, which loads it, resume): under TCG, 7.2 deadlocks its COLO
# thread at the first checkpoint of a machine with a CPU (README).
#
# Debian's python3 (make deps) first: a version manager's shim in front of
# it costs a second a start on a busy machine, and this suite starts many.
PATH=/usr/bin:$PATH
. "$(dirname "$0")/lib.sh"
. "$T_TOP/tools/colo-netns.sh"
. "$T_TOP/selftests/lib-e2e.sh"
CN_ON_EXIT=t_on_exit
QMP=$T_TOP/selftests/qmp.py
t_skip_unless_root
if ! command -v qemu-system-x86_64 >/dev/null; then
	t_skip "qmp.sh: qemu-system-x86_64 is missing (install qemu-system-x86: make deps)"
	t_done
fi

cn_veth_topology "$T_PREFIX" && cn_mirror || {
	t_fail "build the namespaces"
	t_done
}

# The operator's checkpoint period: long enough that no periodic
# checkpoint falls inside the test, and it must be the same at the end.
PERIOD=600000
PRI_QMP=$T_TMP/pri.qmp # colo-xdp's monitor
PRI_TEST=$T_TMP/pri-test.qmp # the test's watcher, beside it
PRI_GET=$T_TMP/pri-get.qmp # and the test's questions
SEC_TEST=$T_TMP/sec-test.qmp
SEC_GET=$T_TMP/sec-get.qmp

# qemu_pair [MONITOR]: a secondary and a primary QEMU, COLO running
# between them over TCP, as between two hosts; the primary's monitor for
# colo-xdp on MONITOR (a -qmp address, unix:$PRI_QMP if not given).
# Watchers append the primary's events to $T_TMP/pri.events and the
# secondary's to $T_TMP/sec.events. Sets PRI and SEC (pids).
qemu_pair() {
	local port vm=(-machine none -m 16 -nodefaults -display none)
	port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
	rm -f "$PRI_QMP" "$PRI_TEST" "$PRI_GET" "$SEC_TEST" "$SEC_GET"
	t_bg qemu-system-x86_64 "${vm[@]}" -name secondary \
		-qmp "unix:$SEC_TEST,server=on,wait=off" \
		-qmp "unix:$SEC_GET,server=on,wait=off" \
		-incoming "tcp:127.0.0.1:$port" 2>>"$T_TMP/qemu.log"
	SEC=$T_LAST_PID
	t_bg qemu-system-x86_64 "${vm[@]}" -name primary \
		-qmp "${1:-unix:$PRI_QMP},server=on,wait=off" \
		-qmp "unix:$PRI_TEST,server=on,wait=off" \
		-qmp "unix:$PRI_GET,server=on,wait=off" 2>>"$T_TMP/qemu.log"
	PRI=$T_LAST_PID
	cn_wait_cmd test -S "$PRI_GET" -a -S "$SEC_GET" || return 1
	rm -f "$T_TMP/pri.events" "$T_TMP/sec.events"
	for w in pri:"$PRI_TEST" sec:"$SEC_TEST"; do
		t_bg python3 "$QMP" watch "${w#*:}" "$T_TMP/${w%%:*}.events" \
			>"$T_TMP/${w%%:*}.watch" 2>&1
		cn_wait_log "$T_TMP/${w%%:*}.watch" '^ready' || return 1
	done
	python3 "$QMP" colo "$PRI_GET" "$SEC_GET" "tcp:127.0.0.1:$port" \
		"$PERIOD"
}

# qemu_stop: SIGKILL the pair, as a crash would.
qemu_stop() {
	kill -KILL "$PRI" "$SEC"
	wait "$PRI" "$SEC" 2>/dev/null
}

SOCK=$T_TMP/control.sock
CTL=("$COLO_XDP" ctl --control "$SOCK")
LOG=$T_TMP/run.log

# start_run NOTIFY LOG [FLAGS...]: colo-xdp run with --notify NOTIFY.
start_run() {
	t_bg "$COLO_XDP" run --primary-in "$CN_P" --secondary-in "$CN_S" \
		--outdev "$CN_O" --expired-scan-cycle 200 --notify "$1" \
		--control "$SOCK" "${@:3}" >"$2" 2>&1
	RUN=$T_LAST_PID
	cn_wait_log "$2" "^control socket"
}

stat_ge() {
	(($(json_get "$("${CTL[@]}" stats --json)" "$1") >= $2))
}

# events FILE NAME: how many events of that name a watcher wrote.
events() {
	grep -c "\"event\": \"$2\"" "$1" 2>/dev/null
}

# released_after_resume SPORT K: the client's frames of the stream before
# frame K arrived before the primary's last STOP, frame K and the rest
# after its last RESUME (QEMU's event times and tcpdump's are both the
# wall clock). Prints the gap from frame K-1 to frame K in microseconds:
# what the mismatch cost the client.
released_after_resume() {
	python3 - "$T_TMP/$1-cli.pcap" "$2" "$T_TMP/pri.events" <<'EOF'
import json, struct, sys
d = open(sys.argv[1], 'rb').read()
off, ts = 24, []
while off + 16 <= len(d):
    sec, usec, incl = struct.unpack('<III', d[off:off + 12])
    ts.append(sec * 1000000 + usec)
    off += 16 + incl
k = int(sys.argv[2])
last = {}
for line in open(sys.argv[3]):
    e = json.loads(line)
    t = e['timestamp']
    last[e['event']] = t['seconds'] * 1000000 + t['microseconds']
if not (ts[k - 1] <= last['STOP'] <= last['RESUME'] <= ts[k]):
    sys.exit('frame %d at %d, STOP at %d, RESUME at %d, frame %d at %d' %
             (k - 1, ts[k - 1], last['STOP'], last['RESUME'], k, ts[k]))
print(ts[k] - ts[k - 1])
EOF
}

if ! qemu_pair; then
	t_fail "a COLO pair of QEMU $(qemu-system-x86_64 --version | head -n 1) starts"
	t_done
fi
t_ok "a COLO pair of QEMU starts ($(qemu-system-x86_64 --version | head -n 1))"
if ! start_run "qmp:unix:$PRI_QMP" "$LOG"; then
	t_fail "colo-xdp run starts with --notify qmp:unix: $(cat "$LOG")"
	t_done
fi
t_check "the monitor address is printed" grep -q "^qmp monitor at unix:$PRI_QMP$" "$LOG"
t_check "connects to the primary's monitor, sees COLO running" \
	cn_wait_log "$LOG" "QEMU [0-9.]* monitor unix:$PRI_QMP: connected, migration status 'colo'"
t_check "status: qmp_connected" cn_wait_cmd status_is qmp_connected True
cn_capture_start "$CN_CLI" eth0 "$T_TMP/cli.pcap" udp

send_both 6001 200
t_check "matching stream: the client gets the primary's 200 frames" \
	cn_wait_cmd exactly_primary 6001
t_check "matching stream: nothing asked of QEMU" stat_is qmp_requests 0

# counts: how many STOP, MIGRATION_PASS and RESUME events the primary's
# and the secondary's watchers wrote so far.
counts() {
	local f e
	for f in pri sec; do
		for e in STOP MIGRATION_PASS RESUME; do
			echo -n "$(events "$T_TMP/$f.events" "$e") "
		done
	done
}
# Mismatches: each request goes over QMP, QEMU checkpoints (the primary
# stops, the secondary loads the state, the primary resumes), and the
# RESUME releases the held frames. Five rounds for the delay figures.
base=($(counts))
gaps=()
ckpt=()
for round in 1 2 3 4 5; do
	sport=$((6100 + round))
	send_both "$sport" 20 --differ-at 10
	if ! cn_wait_cmd exactly_primary "$sport"; then
		t_fail "mismatch $round: the checkpoint releases the held frames, in order"
		continue
	fi
	gap=$(released_after_resume "$sport" 10) || {
		t_fail "mismatch $round: frames 0-9 before QEMU stopped, 10-19 after it resumed ($gap)"
		continue
	}
	gaps+=("$gap")
	ckpt+=("$(json_get "$("${CTL[@]}" stats --json)" qmp_checkpoint_ns)")
done
t_check "5 mismatches: 5 requests over QMP, 5 checkpoints completed and flushed" \
	cn_wait_cmd all_of stat_is qmp_requests 5 -- stat_is qmp_checkpoints 5 \
	-- stat_is checkpoints 5
t_check "each: the held frames reached the client after QEMU resumed the VM, the rest before it stopped" \
	test "${#gaps[@]}" = 5
# delta: what the watchers wrote since base
delta() {
	local i d=() now=($(counts))
	for ((i = 0; i < 6; i++)); do
		d+=($((now[i] - base[i])))
	done
	[[ ${d[*]} == "5 5 5 5 0 5" ]]
}
t_check "QEMU's primary: a STOP, a MIGRATION_PASS and a RESUME per checkpoint; the secondary loaded each (STOP, RESUME)" \
	cn_wait_cmd delta
t_check "the operator's x-checkpoint-delay is unchanged" \
	test "$(python3 "$QMP" get "$PRI_GET" x-checkpoint-delay)" = "$PERIOD"
echo "mismatch to release at the client (frame 9 to frame 10), us: ${gaps[*]}"
echo "request to QEMU's RESUME (qmp_checkpoint_ns), ns: ${ckpt[*]}"
stat_shows() {
	"$COLO_XDP" stat --json | python3 -c 'import json, sys
s = json.load(sys.stdin)
sys.exit(not any(i["datapath"]["qmp_checkpoints"] == int(sys.argv[1])
                 for i in s["instances"]))' "$1"
}
t_check "colo-xdp stat shows the QMP counters" cn_wait_cmd stat_shows 5

# QEMU restarted under colo-xdp: the connection is lost, a mismatch then
# waits (its request finds no monitor and is repeated every scan cycle),
# and once a new pair runs COLO the repeated request is answered by it.
qemu_stop
t_check "QEMU killed: the loss is logged, colo-xdp runs on" \
	cn_wait_log "$LOG" "QEMU monitor unix:$PRI_QMP: QEMU closed the connection: connecting again"
t_check "QEMU killed: status says the monitor is gone" \
	cn_wait_cmd status_is qmp_connected False
send_both 6200 20 --differ-at 10
t_check "QEMU down: a mismatch holds its stream" \
	cn_wait_cmd status_is checkpoint_pending True
sleep 0.5 # two scan cycles: the request is repeated, and lost
t_check "QEMU down: the requests are counted lost, the frames stay held" \
	all_of stat_ge qmp_requests_lost 2 -- test "$(client_got 6200 | wc -l)" = 10
t_check "QEMU back: a new COLO pair starts" qemu_pair
t_check "QEMU back: colo-xdp reconnects (qmp_reconnects 1)" \
	cn_wait_cmd all_of stat_is qmp_reconnects 1 -- stat_is qmp_connects 2
t_check "QEMU back: the repeated request checkpoints the new pair, the stream is released" \
	cn_wait_cmd exactly_primary 6200
t_check "QEMU back: frames 10-19 reached the client after the new primary resumed" \
	eval "released_after_resume 6200 10 >/dev/null"

# A monitor that is not QMP where QEMU was: garbage, then an error reply;
# each said, counted, closed and tried again; traffic compares on.
qemu_stop
t_bg python3 "$QMP" fake "$PRI_QMP" "$T_TMP/fake.log"
FAKE=$T_LAST_PID
t_check "not QMP: garbage is said, counted, and the connection closed" \
	cn_wait_log "$LOG" "QEMU monitor unix:$PRI_QMP sent what is not JSON ('..this is no monitor': .*): closing the connection and connecting again"
t_check "not QMP: an error reply is said with QEMU's words, counted, closed" \
	cn_wait_log "$LOG" "QEMU monitor unix:$PRI_QMP refused qmp_capabilities: GenericError: fake monitor says no: closing the connection and connecting again"
fake_connections() {
	(($(wc -l <"$T_TMP/fake.log") >= $1))
}
t_check "not QMP: tried again and again (4 connections, 4 errors)" \
	cn_wait_cmd all_of fake_connections 4 -- stat_ge qmp_errors 4
send_both 6300 200
t_check "not QMP: colo-xdp compares on, a matching stream passes" \
	cn_wait_cmd exactly_primary 6300
kill "$FAKE"
wait "$FAKE" 2>/dev/null
t_check "colo-xdp run is still running" kill -0 "$RUN"
kill -TERM "$RUN"
wait "$RUN"
t_check "SIGTERM: exit status 0" test $? -eq 0

# QMP over TCP: QEMU's monitor on a TCP port.
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
t_check "a pair with the primary's monitor on tcp:127.0.0.1:$port" \
	qemu_pair "tcp:127.0.0.1:$port"
t_check "colo-xdp run --notify qmp:tcp:127.0.0.1:$port connects" \
	all_of start_run "qmp:tcp:127.0.0.1:$port" "$T_TMP/run-tcp.log" \
	--compare-timeout 60000 -- \
	cn_wait_log "$T_TMP/run-tcp.log" "monitor tcp:127.0.0.1:$port: connected, migration status 'colo'"
send_both 6400 20 --differ-at 5
t_check "over TCP: the mismatch's checkpoint releases the stream" \
	cn_wait_cmd exactly_primary 6400
# Counted as the RESUME is handled, which may come just after the client
# has the frames: waited for. QEMU answers the request before its COLO
# thread stops the VM, and over a TCP migration channel the checkpoint
# takes longer than a scan cycle: the engine's repeats meanwhile are
# coalesced (one request went out while the first checkpoint ran, before
# they were). Exactly one request, exactly one checkpoint.
qmp_asked() {
	local s r c
	s=$("${CTL[@]}" stats --json)
	r=$(json_get "$s" qmp_requests)
	c=$(json_get "$s" qmp_checkpoints)
	((r == 1 && c == 1))
}
if cn_wait_cmd qmp_asked; then
	t_ok "over TCP: one request, one checkpoint ($("${CTL[@]}" stats --json |
		grep -o '"qmp_requests_coalesced":[0-9]*'))"
else
	t_fail "over TCP: one request, one checkpoint: $("${CTL[@]}" stats --json |
		grep -o '"qmp_[a-z_]*":[0-9]*' | tr '\n' ' ')"
fi

# x-colo-lost-heartbeat on the primary (its secondary declared lost): QEMU
# leaves COLO and runs alone, so colo-xdp fails over. Frames held for a
# secondary that stopped sending (only a timeout would ask for them, and
# --compare-timeout is 60 s here) go out at once, and what the primary
# sends next passes uncompared, with nothing asked of QEMU.
send_both 6500 20 --count 10
t_check "before the failover: the 10 frames both sent reached the client" \
	cn_wait_cmd client_has 6500 10
sleep 0.5 # two scan cycles
t_check "before the failover: the 10 the secondary did not send are held" \
	all_of test "$(client_got 6500 | wc -l)" = 10 -- \
	status_is checkpoint_pending False
asked=$(json_get "$("${CTL[@]}" stats --json)" qmp_requests)
t_check "x-colo-lost-heartbeat on the primary QEMU" \
	python3 "$QMP" run "$PRI_GET" x-colo-lost-heartbeat
t_check "QEMU left COLO as the primary: colo-xdp says so and fails over" \
	cn_wait_cmd all_of status_is state failover -- grep -q \
	"QEMU monitor tcp:127.0.0.1:$port: QEMU left COLO as the primary (reason request): failing over" \
	"$T_TMP/run-tcp.log"
t_check "the held frames reached the client, in order, without a checkpoint" \
	cn_wait_cmd exactly_primary 6500
send_both 6501 20 --differ-at 5
t_check "after the failover: a stream the secondary answers differently passes whole" \
	cn_wait_cmd exactly_primary 6501
t_check "after the failover: nothing was asked of QEMU" \
	stat_is qmp_requests "$asked"
t_check "no secondary frame ever reached the client" \
	cn_none "$T_TMP/cli.pcap" 'ip[4:2] >= 40000'
t_done
