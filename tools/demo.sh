#!/bin/bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# The main job on one machine (`make demo`, as root): a client, and a
# primary and a secondary replica of a UDP echo service and of ping, each
# in its own network namespace with the same MAC and IP address as COLO's
# VMs. colo-xdp brings the client's frames to both replicas (its mirror,
# learning the VM's MAC from the primary's first ARP), compares what they
# answer and lets the client see the primary's answers only. Then the secondary diverges: the connection
# is held and a checkpoint is requested from a controller, which watches
# the events (`colo-xdp ctl subscribe`) and answers (`ctl checkpoint-done`):
# the held answers reach the client. Then a failover and a resume, with
# the time each took to switch. Last, colo-xdp is killed while it holds an
# answer: started again, it takes that answer over from its keeper, and a
# checkpoint lets it out. Everything made here is removed on exit,
# whatever happens.
. "$(dirname "$0")/demo-lib.sh"
LOG=$DIR/run.log
CTL=("$COLO_XDP" ctl --control "$DIR/control.sock")

step "namespaces: client, primary and secondary (both 10.0.0.1, same MAC)"
cn_veth_topology "cxdemo$$" || exit 1
# the client finds the VM by ARP, as a real one does
ip -n "$CN_CLI" neigh del "$CN_GUEST_IP" dev eth0
echo "primary in $CN_PRI behind $CN_P, secondary in $CN_SEC behind $CN_S,"
echo "client in $CN_CLI behind $CN_O: nothing joins them but colo-xdp"

# The secondary's service answers request 8 differently: a divergence.
ECHO='import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("0.0.0.0", 7007))
while True:
    d, a = s.recvfrom(2048)
    if sys.argv[1] == "secondary" and d == b"request 8":
        d = b"REQUEST 8"
    s.sendto(d, a)'
for r in primary secondary; do
	ns=$CN_PRI
	[[ $r == secondary ]] && ns=$CN_SEC
	ip netns exec "$ns" python3 -c "$ECHO" "$r" &
	demo_on_exit "kill $!"
done
cn_wait_cmd bash -c "ip netns exec $CN_PRI ss -uln | grep -q :7007 &&
		     ip netns exec $CN_SEC ss -uln | grep -q :7007" || exit 1

step "colo-xdp run --primary-in $CN_P --secondary-in $CN_S --outdev $CN_O --control $DIR/control.sock"
"$COLO_XDP" run --primary-in "$CN_P" --secondary-in "$CN_S" \
	--outdev "$CN_O" --control "$DIR/control.sock" --verbose >"$LOG" 2>&1 &
RUN=$!
demo_on_exit "kill $RUN"
if ! cn_wait_log "$LOG" "^control socket"; then
	cat "$LOG"
	exit 1
fi
cat "$LOG"

step "controller: colo-xdp ctl subscribe (its events are shown as they come)"
"${CTL[@]}" subscribe > >(sed -u 's/^/  controller got: /') 2>&1 &
SUB=$!
demo_on_exit "kill $SUB"
cn_wait_cmd bash -c "${CTL[*]} status | grep -Eq '^subscribers +1$'" || exit 1
"${CTL[@]}" status

step "client: ping 10.0.0.1 (its ARP broadcast reaches both replicas and the
   primary's answer teaches colo-xdp the VM's MAC; then each request reaches
   both, both answer, the primary's reply comes out)"
ip netns exec "$CN_CLI" ping -c 5 -i 0.2 -W 2 "$CN_GUEST_IP"

step "client: 10 UDP requests to the echo service, then waits for late answers"
ip netns exec "$CN_CLI" python3 -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(1)
for i in range(10):
    m = b"request %d" % i
    s.sendto(m, (sys.argv[1], 7007))
    try:
        print("  %s -> %s" % (m.decode(), s.recv(2048).decode()))
    except socket.timeout:
        print("  %s -> no answer: the replicas differ, held for a checkpoint"
              % m.decode())
    sys.stdout.flush()
s.settimeout(10)
open(sys.argv[2], "w").close()
for _ in range(2):
    print("  late answer, released by the checkpoint: %s"
          % s.recv(2048).decode())' "$CN_GUEST_IP" "$DIR/client-waits" &
CLIENT=$!
cn_wait_cmd test -e "$DIR/client-waits" || exit 1

step "controller: colo-xdp ctl status, then ctl checkpoint-done"
"${CTL[@]}" status | grep -E "^(state|checkpoint)"
"${CTL[@]}" checkpoint-done
wait "$CLIENT"

step "colo-xdp stat"
"$COLO_XDP" stat --pin-path "/sys/fs/bpf/colo-xdp/$CN_P"

step "what colo-xdp logged (mismatches and checkpoint requests)"
grep -E "^(mismatch|checkpoint)" "$LOG" | sort | uniq -c

step "controller: ctl failover (the kernel sends the primary's frames out alone)"
"${CTL[@]}" failover
grep "^failover:" "$LOG"
ip netns exec "$CN_CLI" ping -c 3 -i 0.2 -W 2 -q "$CN_GUEST_IP" | tail -2
step "controller: ctl resume (after the checkpoint that re-created the secondary)"
"${CTL[@]}" resume
grep "^resume:" "$LOG"
ip netns exec "$CN_CLI" ping -c 3 -i 0.2 -W 2 -q "$CN_GUEST_IP" | tail -2

step "crash: SIGKILL of colo-xdp while it holds an answer the replicas differ on"
kill "$SUB"
wait "$SUB" 2>/dev/null
ip netns exec "$CN_CLI" python3 -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.sendto(b"request 8", (sys.argv[1], 7007))
open(sys.argv[2], "w").close()
s.settimeout(20)
print("  the held answer, after the crash and the checkpoint: %s"
      % s.recv(2048).decode())' "$CN_GUEST_IP" "$DIR/client-sent" &
CLIENT=$!
cn_wait_cmd test -e "$DIR/client-sent" || exit 1
cn_wait_cmd bash -c "${CTL[*]} stats --json | grep -q '\"queued_primary\":1'" ||
	exit 1
# (bash's own "Killed" notice is not news here)
{
	kill -KILL "$RUN"
	wait "$RUN"
} 2>/dev/null
"$COLO_XDP" stat --pin-path "/sys/fs/bpf/colo-xdp/$CN_P" | sed -n '1,3p'

step "colo-xdp run again: it takes the sockets, UMEM and held frame over"
CTL=("$COLO_XDP" ctl --control "$DIR/control2.sock")
"$COLO_XDP" run --primary-in "$CN_P" --secondary-in "$CN_S" \
	--outdev "$CN_O" --control "$DIR/control2.sock" >"$LOG" 2>&1 &
RUN=$!
demo_on_exit "kill $RUN"
if ! cn_wait_log "$LOG" "^control socket"; then
	cat "$LOG"
	exit 1
fi
grep -E "took over|^degraded" "$LOG"
"${CTL[@]}" checkpoint-done
wait "$CLIENT"

step "stop: held frames are released as a checkpoint would, nothing is left"
kill -INT "$RUN"
wait "$RUN"
echo "colo-xdp exited with status $?"
