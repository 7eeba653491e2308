#!/bin/bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# Isolation of a running `colo-xdp run`, on real traffic (a client and two
# replicas in namespaces, the real colo_steer program, AF_XDP sockets):
# - its pins and its control socket are root's alone (modes 700 and 600);
# - an adversarial secondary, sending every class of crafted frame while
#   the primary is silent, never gets a frame out of O: oversized, non-IP,
#   malformed (IPv4 and IPv6 headers cut or lying about their length),
#   VLAN-tagged, addressed like the outside network (the client's own
#   addresses, broadcast), and byte-for-byte copies of the primary's
#   frames; the client captures nothing from it, before and after the
#   stop flushes what is held. The loader runs on and still compares.
# The control socket refusing non-root peers is in control.sh and
# e2e-control.sh.
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
# The primary's stream, kept as the copies the secondary will send (sent
# before colo_steer is attached: it goes nowhere).
ip netns exec "$CN_PRI" "$VMSEND" --dev eth0 --proto udp --count 50 \
	--size 100 --sport 6000 --ip-id 1000 --write "$T_TMP/copies.pcap" \
	>/dev/null
LOG=$T_TMP/run.log
CTL=$T_TMP/ctl.sock
t_bg "$COLO_XDP" run --primary-in "$CN_P" --secondary-in "$CN_S" \
	--outdev "$CN_O" --control "$CTL" >"$LOG" 2>&1
RUN=$T_LAST_PID
if ! cn_wait_log "$LOG" "^comparing"; then
	t_fail "colo-xdp run starts: $(cat "$LOG")"
	t_done
fi

# --- modes ------------------------------------------------------------------
t_check "the pin directories are root's alone (700)" \
	test "$(stat -c %a /sys/fs/bpf/colo-xdp "$INST" | sort -u)" = 700
t_check "every pin is root's alone (600): $(ls "$INST" | wc -l) pins" \
	test "$(stat -c %a "$INST"/* | sort -u)" = 600
t_check "the pins are owned by root" \
	test "$(stat -c %u:%g "$INST" "$INST"/* | sort -u)" = 0:0
t_check "the control socket is root's alone (600)" \
	test "$(stat -c %a:%u "$CTL")" = 600:0

# --- an adversarial secondary -------------------------------------------------
# every frame arriving at the client, whatever it is
cn_capture_start "$CN_CLI" eth0 "$T_TMP/cli.pcap" -Q in || t_fail "capture"
CAP=$CN_CAP_PID

# crafted frames out of the secondary's eth0, N of each class
CRAFT='import socket, struct, sys
guest = bytes.fromhex(sys.argv[1].replace(":", ""))
client = bytes.fromhex(sys.argv[2].replace(":", ""))
gip, cip = socket.inet_aton(sys.argv[3]), socket.inet_aton(sys.argv[4])
bcast = b"\xff" * 6

def ip4(src, dst, payload, ihl=5, tot=None):
    tot = 20 + len(payload) if tot is None else tot
    return struct.pack("!BBHHHBBH4s4s", 0x40 | ihl, 0, tot, 1, 0, 64, 17,
                       0, src, dst) + payload

def udp(sport, n):
    return struct.pack("!HHHH", sport, 7, 8 + n, 0) + b"x" * n

def eth(dst, src, typ, body):
    return dst + src + struct.pack("!H", typ) + body

frames = {
    "oversized": eth(client, guest, 0x0800,
                     ip4(gip, cip, udp(6100, 1472))),
    "arp": eth(bcast, guest, 0x0806, bytes(28)),
    "not IP": eth(client, guest, 0x88b5, b"y" * 46),
    "IPv4 cut": eth(client, guest, 0x0800, b"\x45\x00\x00"),
    "IPv4 ihl too long": eth(client, guest, 0x0800,
                             ip4(gip, cip, udp(6101, 8), ihl=15)),
    "IPv4 total length beyond the frame": eth(
        client, guest, 0x0800, ip4(gip, cip, udp(6102, 8), tot=1400)),
    "IPv4 ihl too short": eth(client, guest, 0x0800,
                              ip4(gip, cip, udp(6103, 8), ihl=2)),
    "IPv6 cut": eth(client, guest, 0x86dd, b"\x60" + bytes(10)),
    "VLAN, IPv4 cut": eth(client, guest, 0x8100,
                          b"\x00\x05\x08\x00\x45\x00"),
    "like the outside network": eth(guest, client, 0x0800,
                                    ip4(cip, gip, udp(6104, 32))),
    "broadcast": eth(bcast, guest, 0x0800,
                     ip4(gip, b"\xff" * 4, udp(6105, 32))),
}
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind(("eth0", 0))
for name, f in frames.items():
    for i in range(20):
        s.send(f)
print(len(frames) * 20)'
SENT=$(ip netns exec "$CN_SEC" python3 -c "$CRAFT" "$CN_GUEST_MAC" \
	"$CN_CLIENT_MAC" "$CN_GUEST_IP" "$CN_CLIENT_IP")
t_check "the secondary sent $SENT crafted frames of 11 classes" \
	test "${SENT:-0}" -eq 220
# the copies, byte for byte
ip netns exec "$CN_SEC" python3 -c 'import socket, struct, sys
d = open(sys.argv[1], "rb").read()
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind(("eth0", 0))
off = 24
while off < len(d):
    n = struct.unpack("<I", d[off + 8:off + 12])[0]
    f = d[off + 16:off + 16 + n]
    s.send(f)
    off += 16 + n' "$T_TMP/copies.pcap"

stat_json() {
	"$COLO_XDP" stat --pin-path "$INST" --json 2>/dev/null |
		python3 -c 'import json, sys
i = json.load(sys.stdin)["instances"][0]
print(eval(sys.argv[1]))' "$1"
}

# seen N: colo_steer counted N secondary frames, to its socket or dropped
seen() {
	local n
	n=$(stat_json 'sum(i["steer"]["secondary"].values())') && (($1 <= n))
}
t_check "colo_steer saw all $((SENT + 50)) secondary frames" \
	cn_wait_cmd seen $((SENT + 50))
t_check "the loader runs on" kill -0 "$RUN"
# the compared ones wait for a primary that never comes: a checkpoint
# frees them
secondary_gone() {
	[[ $(stat_json 'i["engine"]["pool_in_use"]') == 0 ]]
}
held() {
	(($(stat_json 'i["engine"]["pool_in_use"]') >= 50))
}
t_check "the loader holds the 50 copies, waiting for a primary" \
	cn_wait_cmd held
"$COLO_XDP" ctl --control "$CTL" checkpoint-done >/dev/null
t_check "a checkpoint frees every one of them" cn_wait_cmd secondary_gone

# a normal stream still goes through exactly
cn_capture_start "$CN_CLI" eth0 "$T_TMP/after.pcap" udp port 6200 ||
	t_fail "capture"
cap=$CN_CAP_PID
ip netns exec "$CN_PRI" "$VMSEND" --dev eth0 --proto udp --count 100 \
	--sport 6200 --ip-id 1000 --write "$T_TMP/after-pri.pcap" &
ip netns exec "$CN_SEC" "$VMSEND" --dev eth0 --proto udp --count 100 \
	--sport 6200 --ip-id 40000
wait $!
cn_wait_frames "$T_TMP/after.pcap" 100 "$CN_GUEST_MAC"
cn_capture_stop "$cap"
t_check "then a matching stream reaches the client exactly" \
	diff -q <(cn_frames "$T_TMP/after-pri.pcap") \
	<(cn_frames "$T_TMP/after.pcap" "$CN_GUEST_MAC")

kill -TERM "$RUN"
wait "$RUN"
t_check "SIGTERM: exit status 0" test $? -eq 0
cn_capture_stop "$CAP"
# the only frames at the client are the matched stream's, from the primary
t_check "no crafted or copied secondary frame reached the client" \
	cn_none "$T_TMP/cli.pcap" \
	"not (udp port 6200 and ip[4:2] < 40000)"
t_check "the client got the matched stream only: 100 frames" \
	test "$(cn_frames "$T_TMP/cli.pcap" | wc -l)" -eq 100
t_done
