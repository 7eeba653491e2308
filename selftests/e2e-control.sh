#!/bin/bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# The control plane of a live `colo-xdp run` on real traffic (namespaces,
# veths, the real colo_steer program and AF_XDP sockets): a Xen controller
# (tools/colo-xenctl.py, as libxl speaks) and `colo-xdp ctl` answer the
# checkpoints that mismatches ask for, and the held frames then reach the
# client; every command and event; --on-checkpoint-request and
# --mismatch-dump; abuse of both sockets while traffic flows; failover and
# resume under traffic, with the time to the switch reported.
. "$(dirname "$0")/lib.sh"
. "$T_TOP/tools/colo-netns.sh"
. "$T_TOP/selftests/lib-e2e.sh"
CN_ON_EXIT=t_on_exit
XENCTL=$T_TOP/tools/colo-xenctl.py
t_skip_unless_root

cn_veth_topology "$T_PREFIX" || {
	t_fail "build the namespaces"
	t_done
}

SOCK=$T_TMP/control.sock
CTL=("$COLO_XDP" ctl --control "$SOCK")
LOG=$T_TMP/run.log
t_bg "$COLO_XDP" run --primary-in "$CN_P" --secondary-in "$CN_S" \
	--outdev "$CN_O" --verbose --expired-scan-cycle 200 \
	--notify xen:tcp:127.0.0.1:0 --control "$SOCK" \
	--on-checkpoint-request "echo \"\$COLO_CHECKPOINT_REASON\" >>$T_TMP/hook.out" \
	--mismatch-dump "$T_TMP/mm.pcap" >"$LOG" 2>&1
RUN=$T_LAST_PID
if ! cn_wait_log "$LOG" "^control socket"; then
	t_fail "colo-xdp run starts with its control plane: $(cat "$LOG")"
	t_done
fi
t_ok "colo-xdp run starts with its control plane"
XEN=$(sed -n 's/^xen notify on //p' "$LOG")
t_check "the Xen notify address is printed" grep -q '^tcp:127.0.0.1:[0-9]' <<<"$XEN"

# loader_stat NAME OP VALUE: a datapath counter run published in its
# BTF-typed colo_loader map, as `bpftool map dump` shows it.
loader_stat() {
	local v
	v=$(bpftool -j map dump pinned "/sys/fs/bpf/colo-xdp/$CN_P/colo_loader" |
		python3 -c 'import json, sys
print(json.load(sys.stdin)[0]["formatted"]["value"]["stats"]["dp"][sys.argv[1]])' "$1") &&
		test "$v" "$2" "$3"
}

cn_capture_start "$CN_CLI" eth0 "$T_TMP/cli.pcap" udp && CLI_CAP=$CN_CAP_PID

"${CTL[@]}" subscribe --json >"$T_TMP/events" 2>&1 &
SUB=$!
T_PIDS+=("$SUB")
t_check "a subscriber is registered" cn_wait_cmd status_is subscribers 1
# events NAME: how many events of that name the subscriber got.
events() {
	grep -c "\"event\":\"$1\"" "$T_TMP/events"
}

t_check "status: comparing, nothing pending, no Xen controller" \
	all_of status_is state comparing -- status_is checkpoint_pending False \
	-- status_is xen_connected False

# Matching traffic: out at once, nothing asked of the controller.
send_both 5001 200
t_check "matching stream: the client gets the primary's 200 frames" \
	cn_wait_cmd exactly_primary 5001
t_check "matching stream: no checkpoint requested" stat_is ckpt_logged 0

# A mismatch, answered by the Xen controller.
send_both 5002 20 --differ-at 10
t_check "mismatch: the 10 frames before it reach the client" \
	cn_wait_cmd client_has 5002 10
t_check "mismatch: status shows a checkpoint pending for the mismatch" \
	cn_wait_cmd all_of status_is checkpoint_pending True -- \
	status_is checkpoint_reason mismatch
t_check "mismatch: --on-checkpoint-request ran with the reason" \
	cn_wait_log "$T_TMP/hook.out" '^mismatch$'
mismatch_events() {
	grep -A1 '"event":"mismatch"' "$T_TMP/events" >"$T_TMP/mm-events"
	grep -q '"event":"mismatch".*"sport":5002,.*"offset":7,' \
		"$T_TMP/mm-events" &&
		grep -q '"event":"checkpoint-request","reason":"mismatch"' \
			"$T_TMP/mm-events"
}
t_check "mismatch: subscriber got the mismatch (flow, byte), then the request" \
	cn_wait_cmd mismatch_events
t_check "mismatch dump: the pair is readable while colo-xdp runs" \
	cn_wait_cmd bash -c "(( \$(tcpdump -nn -r '$T_TMP/mm.pcap' 2>/dev/null | wc -l) >= 2 ))"
sleep 0.5 # two scan cycles: the request is repeated while unanswered
t_check "mismatch: held until a checkpoint, the rest of the stream too" \
	test "$(client_got 5002 | wc -l)" = 10
t_check "the request is repeated every scan cycle while unanswered" \
	test "$(json_get "$("${CTL[@]}" stats --json)" ckpt_repeats)" -ge 1
t_bg python3 "$XENCTL" "$XEN" checkpoint "$T_TMP/xen-ready"
XENC=$T_LAST_PID
t_check "xen: the controller gets DO_CHECKPOINT and answers COLO_CHECKPOINT" \
	wait "$XENC"
t_check "xen: COLO_CHECKPOINT flushed: the client has the whole stream, in order" \
	cn_wait_cmd exactly_primary 5002
t_check "xen: counted as a checkpoint from the Xen side" \
	all_of stat_is checkpoints 1 -- stat_is xen_checkpoints 1 -- \
	stat_is xen_inits 1
t_check "status: nothing pending after the checkpoint" \
	status_is checkpoint_pending False

# A mismatch answered through the control socket.
send_both 5003 20 --differ-at 5
t_check "mismatch 2: held after 5 frames" cn_wait_cmd client_has 5003 5
cn_wait_cmd status_is checkpoint_pending True
t_check "ctl checkpoint-done" \
	test "$("${CTL[@]}" checkpoint-done)" = "checkpoint-done: done"
t_check "ctl checkpoint-done flushed: the client has the whole stream" \
	cn_wait_cmd exactly_primary 5003

# The Xen controller misbehaves on the live loader, which goes on.
t_check "xen abuse: unknown, oversized, desynchronised; INIT still answered" \
	python3 "$XENCTL" "$XEN" abuse
t_check "xen abuse: counted" \
	all_of stat_is xen_unknown 2 -- stat_is xen_oversized 2
send_both 5004 100
t_check "xen abuse: traffic still compared and released" \
	cn_wait_cmd exactly_primary 5004

# The control socket abused while traffic flows: garbage, a 1 MiB line,
# then a good request on the same connection; a non-root client; 100
# clients at once.
ip netns exec "$CN_PRI" "$VMSEND" --dev eth0 --proto udp --count 2000 \
	--sport 5005 --ip-id 1000 --write "$T_TMP/5005-pri.pcap" &
PSEND=$!
ip netns exec "$CN_SEC" "$VMSEND" --dev eth0 --proto udp --count 2000 \
	--sport 5005 --ip-id 40000 &
SSEND=$!
t_check "control abuse: garbage and a 1 MiB line get errors, the connection stays" \
	python3 -c 'import json, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(sys.argv[1])
f = s.makefile("rb")
for line, want in ((b"\x00\xffgarbage\n", "malformed"),
                   (b"y" * (1 << 20) + b"\n", "longer than"),
                   (b"{\"command\": \"reboot\"}\n", "unknown command"),
                   (b"{\"command\": \"status\"}\n", None)):
    s.sendall(line)
    r = json.loads(f.readline())
    ok = r["ok"] if want is None else want in r.get("error", "")
    if not ok:
        sys.exit("%r: got %r" % (line[:20], r))' "$SOCK"
MANY=()
for ((i = 0; i < 100; i++)); do
	"${CTL[@]}" status --json >"$T_TMP/many.$i" 2>&1 &
	MANY+=($!)
done
T_PIDS+=("${MANY[@]}")
wait "${MANY[@]}"
t_check "100 clients at once during traffic: 100 replies" \
	test "$(cat "$T_TMP"/many.* | grep -c '"ok":true')" = 100
cp "$COLO_XDP" "$T_TMP/colo-xdp"
chmod 755 "$T_TMP" "$T_TMP/colo-xdp"
chmod 666 "$SOCK"
out=$(setpriv --reuid 65534 --regid 65534 --clear-groups \
	"$T_TMP/colo-xdp" ctl --control "$SOCK" failover 2>&1)
rc=$?
chmod 600 "$SOCK"
t_check "non-root client: refused by SO_PEERCRED (exit 1), nothing done" \
	all_of test "$rc:$out" = "1:colo-xdp ctl: failover: permission denied: the control socket is for root only" \
	-- status_is state comparing
wait "$PSEND" "$SSEND"
t_check "under abuse: the client gets all 2000 frames, in order" \
	cn_wait_cmd exactly_primary 5005

# Failover under traffic: the primary's frames leave in the kernel, each
# once; the secondary's never.
ip netns exec "$CN_PRI" "$VMSEND" --dev eth0 --proto udp --count 3000 \
	--sport 5006 --ip-id 1000 --write "$T_TMP/5006-pri.pcap" &
PSEND=$!
ip netns exec "$CN_SEC" "$VMSEND" --dev eth0 --proto udp --count 3000 \
	--sport 5006 --ip-id 40000 &
SSEND=$!
cn_wait_cmd client_has 5006 500
t_check "ctl failover during a stream" \
	grep -qzP '^switch_us +\d+\nfailover: done\n$' <<<"$("${CTL[@]}" failover)"
wait "$PSEND" "$SSEND"
t_check "failover: the time to the switch is reported" \
	cn_wait_log "$LOG" "^failover: colo_steer switched in [0-9]* us$"
t_check "failover: status says so" status_is state failover
t_check "failover: counted, its switch time published for bpftool and stat" \
	cn_wait_cmd all_of loader_stat failovers -eq 1 -- \
	loader_stat switch_ns -gt 0
same_set() {
	[[ $(cn_frames "$T_TMP/$1-pri.pcap" | sort | md5sum) == \
		$(client_got "$1" | sort | md5sum) ]]
}
t_check "failover under traffic: every primary frame reached the client once" \
	cn_wait_cmd same_set 5006
t_check "failover under traffic: no secondary frame reached the client" \
	cn_none "$T_TMP/cli.pcap" 'ip[4:2] >= 40000'
before=$(json_get "$("${CTL[@]}" stats --json)" frames_in_primary)
send_both 5007 300 --differ-at 3
t_check "in failover: a differing stream passes whole, in order" \
	cn_wait_cmd exactly_primary 5007
t_check "in failover: the kernel forwards, the loader sees no frame" \
	stat_is frames_in_primary "$before"
t_check "ctl failover twice: refused" \
	test "$("${CTL[@]}" failover 2>&1)" = "colo-xdp ctl: failover: refused: Operation already in progress"

# Resume under traffic: comparing again.
ip netns exec "$CN_PRI" "$VMSEND" --dev eth0 --proto udp --count 3000 \
	--sport 5008 --ip-id 1000 --write "$T_TMP/5008-pri.pcap" &
PSEND=$!
ip netns exec "$CN_SEC" "$VMSEND" --dev eth0 --proto udp --count 3000 \
	--sport 5008 --ip-id 40000 &
SSEND=$!
cn_wait_cmd client_has 5008 500
t_check "ctl resume during a stream" \
	grep -qzP '^switch_us +\d+\nresume: done\n$' <<<"$("${CTL[@]}" resume)"
wait "$PSEND" "$SSEND"
t_check "resume: the time to the switch is reported" \
	cn_wait_log "$LOG" "^resume: colo_steer switched in [0-9]* us$"
# The replicas restart their streams apart: what the switch cut in half
# differs and waits for a checkpoint, as after a real resume.
flushed_same_set() {
	"${CTL[@]}" checkpoint-done >/dev/null && same_set "$1"
}
t_check "resume under traffic: after a checkpoint, every primary frame reached the client once" \
	cn_wait_cmd flushed_same_set 5008
t_check "resume under traffic: no secondary frame reached the client" \
	cn_none "$T_TMP/cli.pcap" 'ip[4:2] >= 40000'
send_both 5009 20 --differ-at 10
cn_wait_cmd client_has 5009 10
cn_wait_cmd status_is checkpoint_pending True
t_check "resumed: comparing again, a mismatch holds the stream" \
	test "$(client_got 5009 | wc -l)" = 10
"${CTL[@]}" checkpoint-done >/dev/null
t_check "resumed: the checkpoint releases it" cn_wait_cmd exactly_primary 5009

t_check "subscriber: one failover and one resumed event" \
	test "$(events failover):$(events resumed)" = 1:1

# A stalled loader (SIGSTOP): colo_steer fails open after --watchdog-ms;
# back, the loader tells the subscribers and asks for a checkpoint.
kill -STOP "$RUN"
passed_while_stopped() {
	send_both 5010 1 && client_has 5010 1
}
t_check "loader stopped: a primary frame passes uncompared (fail-open)" \
	cn_wait_cmd passed_while_stopped
kill -CONT "$RUN"
t_check "loader back: a degraded event counts what passed" \
	cn_wait_log "$T_TMP/events" '"event":"degraded","reason":"colo-xdp run stalled: [1-9][0-9]* primary frames passed uncompared, [1-9][0-9]* frames dropped"'
t_check "loader back: then a checkpoint request" \
	cn_wait_cmd bash -c "grep -A1 '\"event\":\"degraded\"' '$T_TMP/events' |
		grep -q '\"event\":\"checkpoint-request\",\"reason\":\"timeout\"'"
t_check "loader back: the gap is counted" cn_wait_cmd loader_stat loader_gaps -eq 1
t_check "loader back: the request goes to the hook too" \
	cn_wait_log "$T_TMP/hook.out" '^timeout$'
"${CTL[@]}" checkpoint-done >/dev/null
t_check "loader back: the checkpoint answers it" \
	cn_wait_cmd status_is checkpoint_pending False

# The mismatch dump: the pair of each mismatch, primary then secondary.
kill -TERM "$RUN"
wait "$RUN"
t_check "SIGTERM: exit status 0" test $? -eq 0
t_check "SIGTERM: the control socket file is removed" test ! -e "$SOCK"
t_check "--mismatch-dump: each mismatch's primary and secondary frames" \
	python3 - "$T_TMP/mm.pcap" "$T_TMP/5002-pri.pcap" \
	"$T_TMP/5003-pri.pcap" "$T_TMP/5009-pri.pcap" <<'EOF'
import struct, sys


def frames(path):
    d = open(path, 'rb').read()
    off, out = 24, []
    while off < len(d):
        incl = struct.unpack('<I', d[off + 8:off + 12])[0]
        out.append(d[off + 16:off + 16 + incl])
        off += 16 + incl
    return out


dump = frames(sys.argv[1])
assert len(dump) % 2 == 0, len(dump)
# the three streams made to differ (a switch under traffic may add others)
pairs = [(dump[k], dump[k + 1]) for k in range(0, len(dump), 2)
         if dump[k][34:36] in (b'\x13\x8a', b'\x13\x8b', b'\x13\x91')]
want = [(sys.argv[2], 10), (sys.argv[3], 5), (sys.argv[4], 10)]
assert len(pairs) == len(want), len(pairs)
for k, (path, i) in enumerate(want):
    p, s = pairs[k]
    assert p == frames(path)[i], 'pair %d: not the primary frame %d' % (k, i)
    # the secondary's copy: the last payload byte flipped
    # (its IP ID, IP and UDP checksums differ too)
    assert len(s) == len(p) and s[34:40] == p[34:40], 'pair %d: flow' % k
    assert s[42:-1] == p[42:-1] and s[-1] == p[-1] ^ 0xff, 'pair %d' % k
EOF
t_check "tcpdump reads the mismatch dump" \
	test "$(tcpdump -nn -r "$T_TMP/mm.pcap" 2>/dev/null |
		grep -Ec '\.(5002|5003|5009) > .*UDP')" = 6

# Restart: a loader SIGKILLed mid-stream is adopted by the next one, which
# asks for a checkpoint before comparing (repeated until answered, so a
# controller that connects later still gets it).
run_again() {
	t_bg "$COLO_XDP" run --primary-in "$CN_P" --secondary-in "$CN_S" \
		--outdev "$CN_O" --expired-scan-cycle 200 --control "$SOCK" \
		--notify xen:tcp:127.0.0.1:0 >"$1" 2>&1
	cn_wait_log "$1" "^control socket"
}
run_again "$T_TMP/run2.log"
RUN=$T_LAST_PID
ip netns exec "$CN_PRI" "$VMSEND" --dev eth0 --proto udp --count 3000 \
	--sport 5011 --ip-id 1000 --write "$T_TMP/5011-pri.pcap" &
PSEND=$!
ip netns exec "$CN_SEC" "$VMSEND" --dev eth0 --proto udp --count 3000 \
	--sport 5011 --ip-id 40000 &
SSEND=$!
cn_wait_cmd client_has 5011 500
kill -KILL "$RUN"
wait "$RUN" 2>/dev/null
t_check "restart after SIGKILL mid-stream: the new loader adopts the program" \
	run_again "$T_TMP/run3.log"
RUN=$T_LAST_PID
wait "$PSEND" "$SSEND"
t_check "restart: a degraded line, then a checkpoint request, before comparing" \
	cn_wait_cmd bash -c "grep -A1 '^degraded: adopted after a restart: ' '$T_TMP/run3.log' |
		grep -q '^checkpoint request: timeout$'"
t_check "restart: status shows the checkpoint pending" \
	all_of status_is checkpoint_pending True -- \
	status_is checkpoint_reason timeout
XEN=$(sed -n 's/^xen notify on //p' "$T_TMP/run3.log")
t_bg python3 "$XENCTL" "$XEN" checkpoint "$T_TMP/xen-ready2"
t_check "restart: a Xen controller connecting later still gets DO_CHECKPOINT" \
	wait "$T_LAST_PID"
t_check "restart: answered, nothing pending" \
	cn_wait_cmd status_is checkpoint_pending False
send_both 5012 20 --differ-at 10
cn_wait_cmd client_has 5012 10
t_check "restart: comparing again, a mismatch holds the stream" \
	cn_wait_cmd status_is checkpoint_reason mismatch
t_check "restart: held after the 10 frames before the mismatch" \
	test "$(client_got 5012 | wc -l)" = 10
kill -TERM "$RUN"
wait "$RUN"
t_check "restart: SIGTERM of the new loader: exit 0, nothing left attached" \
	bash -c "(($? == 0)) && ! ip -d link show dev $CN_P | grep -q prog/xdp &&
		 test ! -e /sys/fs/bpf/colo-xdp/$CN_P"
t_check "restart: the held stream was flushed at the stop" \
	cn_wait_cmd exactly_primary 5012
cn_capture_stop "$CLI_CAP"
t_check "whole suite: no secondary frame reached the client" \
	cn_none "$T_TMP/cli.pcap" 'ip[4:2] >= 40000'

t_done
