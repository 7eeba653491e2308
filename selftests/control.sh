#!/bin/bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# The control plane end to end over real sockets: colo-ctlsim runs the
# Xen notify server, the control socket, --on-checkpoint-request and
# --mismatch-dump in the poll loop `colo-xdp run` uses, with a fake engine
# driven through a FIFO. A Xen controller speaking as libxl does (python3)
# over TCP on 127.0.0.1 and over a unix socket, reconnecting and sending
# garbage; `colo-xdp ctl` for every command, with and without --json;
# abuse of the control socket (garbage, a 1 MiB line, a non-root client
# via setpriv, 100 clients at once).
. "$(dirname "$0")/lib.sh"

t_skip_unless_root "a client as another user via setpriv, the root-only control socket"

SIM=$T_BUILD/colo-ctlsim
SOCK=$T_TMP/control.sock
CTL=("$COLO_XDP" ctl --control "$SOCK")
XENPY=$T_TOP/tools/colo-xenctl.py
CTLPY=$T_TMP/ctl.py


# Raw abuse of the control socket, one connection throughout.
cat >"$CTLPY" <<'EOF'
import json
import socket
import sys

s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(sys.argv[1])
f = s.makefile('rb')


def ask(line, want_error):
    s.sendall(line)
    r = json.loads(f.readline())
    if want_error:
        if r.get('ok') is not False or want_error not in r.get('error', ''):
            sys.exit('%r: expected an error with %r, got %r'
                     % (line[:40], want_error, r))
    elif r.get('ok') is not True:
        sys.exit('%r: expected ok, got %r' % (line[:40], r))
    return r


ask(b'\x00\xff garbage \x01\n', 'malformed JSON')
ask(b'{"command": "stats"\n', 'malformed JSON')
ask(b'{"command": "shutdown"}\n', "unknown command 'shutdown'")
ask(b'{"command": ["stats"]}\n', 'must be a string')
ask(b'{"id": 1}\n', 'missing "command"')
ask(b'x' * (1 << 20) + b'\n', 'longer than 4096 bytes')
r = ask(b'{"command": "status"}\n', None)
if r['state'] not in ('comparing', 'failover'):
    sys.exit('bad status %r' % r)
EOF

# wait_cond COMMAND...: bounded polling until the command succeeds.
wait_cond() {
	local i
	for ((i = 0; i < 100; i++)); do
		"$@" && return 0
		sleep 0.1
	done
	return 1
}

# wait_for FILE PATTERN: until a line of FILE matches.
wait_for() {
	wait_cond grep -q -- "$2" "$1" 2>/dev/null && return 0
	echo "no '$2' in $1:" >&2
	cat "$1" >&2
	return 1
}

# json_get JSON KEY: one member of a reply.
json_get() {
	python3 -c 'import json, sys; print(json.loads(sys.argv[1])[sys.argv[2]])' "$1" "$2"
}

# stats_are NAME VALUE...: counters as `ctl stats --json` shows them.
stats_are() {
	python3 -c 'import json, sys
r = json.loads(sys.argv[1])
bad = ["%s is %s, expected %s" % (k, r.get(k), v)
       for k, v in zip(sys.argv[2::2], sys.argv[3::2]) if str(r.get(k)) != v]
sys.exit("; ".join(bad) or None)' "$("${CTL[@]}" stats --json)" "$@"
}

mkfifo "$T_TMP/sim.in"
t_bg bash -c 'exec "$0" --control "$1" --notify xen:tcp:127.0.0.1:0 \
	--on-checkpoint-request "echo \"\$COLO_CHECKPOINT_REASON\" >> $2" \
	--mismatch-dump "$3" <"$4" >"$5" 2>"$6"' "$SIM" "$SOCK" \
	"$T_TMP/hook.out" "$T_TMP/mm.pcap" "$T_TMP/sim.in" "$T_TMP/sim.out" \
	"$T_TMP/sim.err"
SIM_PID=$T_LAST_PID
exec 3>"$T_TMP/sim.in"
t_check "the control plane starts" wait_for "$T_TMP/sim.out" '^ready$'
XEN=$(sed -n 's/^xen //p' "$T_TMP/sim.out")

# sim COMMAND: one stdin command, processed when this returns.
SIM_N=0
sim() {
	echo "$1" >&3
	SIM_N=$((SIM_N + 1))
	local i
	for ((i = 0; i < 100; i++)); do
		(($(grep -c '^done ' "$T_TMP/sim.out") >= SIM_N)) && return 0
		sleep 0.1
	done
	return 1
}

t_check "control socket is a socket of mode 0600" \
	test "$(stat -c %F:%a "$SOCK")" = "socket:600"

# status and stats, human and JSON
out=$("${CTL[@]}" status)
t_check "ctl status: state by name" grep -Eq '^state +comparing$' <<<"$out"
out=$("${CTL[@]}" status --json)
t_check "ctl status --json: one JSON object, ok" \
	test "$(json_get "$out" ok):$(json_get "$out" state)" = "True:comparing"
out=$("${CTL[@]}" stats)
t_check "ctl stats: every counter by name" \
	bash -c 'grep -Eq "^checkpoints +0$" <<<"$1" &&
		 grep -Eq "^pool_size +4096$" <<<"$1" &&
		 grep -Eq "^xen_inits +0$" <<<"$1" &&
		 (($(wc -l <<<"$1") >= 60))' _ "$out"
out=$("${CTL[@]}" stats --json)
t_check "ctl stats --json: engine, datapath, xen, hook, control fields" \
	python3 -c 'import json, sys
r = json.loads(sys.argv[1])
for k in ("frames_in_primary", "ckpt_table_full", "pool_in_use", "rx_secondary",
          "fill_ring_empty_secondary", "xen_do_checkpoint", "hook_skipped",
          "ctl_events_dropped"):
    assert k in r, k
assert all(isinstance(v, int) for k, v in r.items() if k != "ok")' "$out"

# The Xen controller: handshake, DO_CHECKPOINT, COLO_CHECKPOINT -> flush.
t_bg python3 "$XENPY" "$XEN" checkpoint "$T_TMP/xen-ready"
XENC=$T_LAST_PID
t_check "xen: libxl handshake answered within 500 ms" \
	wait_for "$T_TMP/sim.err" "xen controller 127.0.0.1:[0-9]* connected"
wait_cond test -e "$T_TMP/xen-ready"
t_check "status shows the controller connected" \
	test "$(json_get "$("${CTL[@]}" status --json)" xen_connected)" = True
sim "checkpoint timeout"
t_check "xen: DO_CHECKPOINT sent, COLO_CHECKPOINT answered" wait "$XENC"
t_check "xen: COLO_CHECKPOINT flushes (checkpoint-done callback)" \
	wait_for "$T_TMP/sim.out" '^checkpoint-done xen$'
t_check "stats: one checkpoint, from the Xen side" \
	stats_are checkpoints 1 xen_checkpoints 1 xen_do_checkpoint 1 \
	ckpt_timeout 1 xen_inits 1
t_check "--on-checkpoint-request: ran with the reason in the environment" \
	wait_for "$T_TMP/hook.out" '^timeout$'

# The controller reconnects, then misbehaves: served all along.
t_check "xen: a controller that reconnects is served again" \
	python3 "$XENPY" "$XEN" abuse
t_check "xen: unknown, oversized and desynchronised messages counted" \
	stats_are xen_unknown 2 xen_oversized 2 xen_connects 2 xen_inits 3
t_check "xen: an unknown message is logged" \
	grep -q "unknown message 'HELLO_COLO'" "$T_TMP/sim.err"
# now nobody is connected: the request is counted as lost
sim "checkpoint queue-full"
t_check "xen: a request without a controller is counted" \
	stats_are xen_do_checkpoint_lost 1 ckpt_queue_full 1
t_bg python3 "$XENPY" "$XEN" checkpoint "$T_TMP/xen-ready3"
XENC=$T_LAST_PID
wait_cond test -e "$T_TMP/xen-ready3"
sim "checkpoint timeout"
t_check "xen: the third connection is served (repeated request)" wait "$XENC"

# Every command, with and without --json.
t_check "ctl checkpoint-done" \
	test "$("${CTL[@]}" checkpoint-done)" = "checkpoint-done: done"
t_check "ctl checkpoint-done --json" \
	test "$("${CTL[@]}" checkpoint-done --json)" = '{"ok":true}'
t_check "checkpoint-done reached the engine side twice" \
	test "$(grep -c '^checkpoint-done control$' "$T_TMP/sim.out")" = 2

"${CTL[@]}" subscribe --count 5 >"$T_TMP/sub.txt" 2>&1 &
SUB1=$!
T_PIDS+=("$SUB1")
"${CTL[@]}" subscribe --count 5 --json >"$T_TMP/sub.json" 2>&1 &
SUB2=$!
T_PIDS+=("$SUB2")
subscribers() {
	[[ $(json_get "$("${CTL[@]}" status --json)" subscribers) == 2 ]]
}
t_check "two subscribers" wait_cond subscribers

t_check "ctl failover: done, with the time the switch took" \
	grep -qzP '^switch_us +\d+\nfailover: done\n$' <<<"$("${CTL[@]}" failover)"
t_check "status: state failover" \
	test "$(json_get "$("${CTL[@]}" status --json)" state)" = failover
out=$("${CTL[@]}" failover 2>&1)
rc=$?
t_check "ctl failover twice: refused, exit 1, reason given" \
	test "$rc:$out" = "1:colo-xdp ctl: failover: refused: Operation already in progress"
out=$("${CTL[@]}" failover --json 2>/dev/null)
t_check "ctl failover --json twice: the error reply as JSON" \
	test "$(json_get "$out" ok)" = False
t_check "ctl resume --json" \
	grep -qxE '\{"ok":true,"switch_us":[0-9]+\}' <<<"$("${CTL[@]}" resume --json)"
sim "mismatch"
sim "degraded slow-secondary"
t_check "subscribers got 5 events and exited" wait "$SUB1"
wait "$SUB2"
t_check "ctl subscribe: events in order, by name" \
	python3 -c 'import sys
lines = open(sys.argv[1]).read().splitlines()
want = ["failover reason=control command dropped=0", "resumed dropped=0",
        "mismatch ipver=4 proto=6 src=10.0.0.1 sport=40000 dst=10.0.0.2 dport=80 primary=1 secondary=2 offset=7 seq=1007 dropped=0",
        "checkpoint-request reason=mismatch dropped=0",
        "degraded reason=slow-secondary dropped=0"]
assert lines == want, lines' "$T_TMP/sub.txt"
t_check "ctl subscribe --json: the reply, then 5 JSON events" \
	python3 -c 'import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
assert lines[0] == {"ok": True}, lines[0]
assert [l["event"] for l in lines[1:]] == ["failover", "resumed",
    "mismatch", "checkpoint-request", "degraded"], lines
assert lines[3]["seq"] == 1007 and lines[3]["offset"] == 7' "$T_TMP/sub.json"

# Abuse: garbage, malformed JSON, unknown command, a 1 MiB line.
t_check "garbage, malformed, unknown, 1 MiB line: error replies, connection kept" \
	python3 "$CTLPY" "$SOCK"
t_check "stats count the bad requests" stats_are ctl_bad_requests 6

# Not root: the socket's mode stops it, and SO_PEERCRED if the mode is opened.
cp "$COLO_XDP" "$T_TMP/colo-xdp"
chmod 755 "$T_TMP" "$T_TMP/colo-xdp"
NOBODY=(setpriv --reuid 65534 --regid 65534 --clear-groups)
out=$("${NOBODY[@]}" "$T_TMP/colo-xdp" ctl --control "$SOCK" status 2>&1)
rc=$?
t_check "non-root client: refused by the socket's mode (exit 1)" \
	test "$rc:$out" = "1:colo-xdp ctl: $SOCK: permission denied: the control socket is root only"
chmod 666 "$SOCK"
out=$("${NOBODY[@]}" "$T_TMP/colo-xdp" ctl --control "$SOCK" status 2>&1)
rc=$?
chmod 600 "$SOCK"
t_check "non-root client: refused by SO_PEERCRED, with a reason (exit 1)" \
	test "$rc:$out" = "1:colo-xdp ctl: status: permission denied: the control socket is for root only"
t_check "the refusal is logged" \
	grep -q "refused a client of uid 65534" "$T_TMP/sim.err"
t_check "the refusal is counted" stats_are ctl_refused 1

# 100 clients at once.
MANY=()
for ((i = 0; i < 100; i++)); do
	"${CTL[@]}" status --json >"$T_TMP/many.$i" 2>&1 &
	MANY+=($!)
done
T_PIDS+=("${MANY[@]}")
wait "${MANY[@]}"
t_check "100 clients at once: 100 replies" \
	test "$(cat "$T_TMP"/many.* | grep -c '"ok":true')" = 100

# Usage errors and no server.
"${CTL[@]}" reboot 2>"$T_TMP/err"
t_check "ctl with an unknown command: exit 2, named" \
	bash -c '(($1 == 2)) && grep -q "unknown command .reboot." "$2"' _ $? \
	"$T_TMP/err"
"$COLO_XDP" ctl --control "$T_TMP/none.sock" status 2>"$T_TMP/err"
t_check "ctl without a server: exit 1, says what to start" \
	bash -c '(($1 == 1)) && grep -q "nothing serves .*none.sock: start" "$2"' \
	_ $? "$T_TMP/err"
"$COLO_XDP" ctl --control "$SOCK" 2>/dev/null
t_check "ctl without a command: exit 2" test $? = 2

# Stop: the mismatch pcap holds the pair, the socket file is gone.
echo quit >&3
exec 3>&-
t_check "the control plane stops cleanly" wait "$SIM_PID"
t_check "the control socket file is removed" test ! -e "$SOCK"
t_check "--mismatch-dump: primary then secondary frame of the mismatch" \
	python3 -c 'import struct, sys
d = open(sys.argv[1], "rb").read()
assert struct.unpack("<I", d[:4])[0] == 0xa1b2c3d4
off, recs = 24, []
while off < len(d):
    incl = struct.unpack("<I", d[off + 8:off + 12])[0]
    recs.append(d[off + 16:off + 16 + incl])
    off += 16 + incl
assert len(recs) == 2, len(recs)
assert recs[0].endswith(b"hello, primary") and recs[1].endswith(b"hello, secondary")' \
	"$T_TMP/mm.pcap"
t_check "tcpdump reads the mismatch pcap" \
	test "$(tcpdump -nn -r "$T_TMP/mm.pcap" 2>/dev/null | grep -c '10.0.0.1.40000 > 10.0.0.2.80')" = 2

# Xen over a unix socket, served by another instance.
XSOCK=$T_TMP/xen.sock
mkfifo "$T_TMP/sim2.in"
t_bg bash -c 'exec "$0" --notify "xen:unix:$1" <"$2" >"$3" 2>&1' "$SIM" \
	"$XSOCK" "$T_TMP/sim2.in" "$T_TMP/sim2.out"
SIM2=$T_LAST_PID
exec 4>"$T_TMP/sim2.in"
wait_for "$T_TMP/sim2.out" '^ready$' >/dev/null
t_bg python3 "$XENPY" "unix:$XSOCK" checkpoint "$T_TMP/xen-unix-ready"
XENC=$T_LAST_PID
wait_cond test -e "$T_TMP/xen-unix-ready"
echo "checkpoint mismatch" >&4
t_check "xen over unix: handshake, DO_CHECKPOINT, COLO_CHECKPOINT" wait "$XENC"
t_check "xen over unix: flush called" \
	wait_for "$T_TMP/sim2.out" '^checkpoint-done xen$'
echo quit >&4
exec 4>&-
wait "$SIM2"
t_check "xen over unix: socket file removed at exit" test ! -e "$XSOCK"

t_done
