#!/bin/bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# QEMU's own filter-mirror feeding `colo-xdp chardev`: for an operator who
# keeps filter-mirror on the primary (`colo-xdp run --mirror off`) and
# needs its copies of the clients' frames as Ethernet frames on the
# secondary's side, in a tap. A QEMU 7.2 (-machine none, see qmp.sh) plays
# the primary's: the clients' tap netdev and the guest's tap netdev on one
# hub, as a host bridge and a guest NIC would be, and a stock
# filter-mirror (queue=tx, vnet_hdr_support=on) on the clients' netdev,
# as in QEMU's COLO documentation:
#
#   client ns: real UDP and TCP sockets ── tap QC ── QEMU: netdev up ──
#     hub ── netdev vm ── tap QG ── guest ns: the real receivers
#   filter-mirror netdev=up queue=tx outdev=mirror0 ── unix socket ──
#     colo-xdp chardev --in --vnet-hdr=0 ── tap L, captured
#
# QEMU opens its taps in the root namespace; they are moved into the
# client's and the guest's namespaces after, with their descriptors.
# Checked: every frame the client sent reaches L, in order, byte for byte
# (short frames padded to 60 bytes, as QEMU 7.2 pads what it delivers),
# and the bridge counts exactly those; the guest got the same data.
PATH=/usr/bin:$PATH
. "$(dirname "$0")/lib.sh"
. "$T_TOP/tools/colo-netns.sh"
. "$T_TOP/selftests/lib-e2e.sh"
CN_ON_EXIT=t_on_exit
t_skip_unless_root
if ! command -v qemu-system-x86_64 >/dev/null; then
	t_skip "chardev-mirror.sh: qemu-system-x86_64 is missing (install qemu-system-x86: make deps)"
	t_done
fi

CLI=$T_PREFIX-mc
GST=$T_PREFIX-mg
QC=${T_PREFIX}mc # the clients' side of QEMU
QG=${T_PREFIX}mg # the guest's NIC, played by a tap netdev
L=${T_PREFIX}ml # the secondary side's tap, fed by the bridge
MS=$T_TMP/mirror.sock
t_on_exit "rm -rf /sys/fs/bpf/colo-xdp/chardev-$L"
cn_ns "$CLI" && cn_ns "$GST" || {
	t_fail "build the namespaces"
	t_done
}
for t in "$QC" "$QG" "$L"; do
	ip tuntap add dev "$t" mode tap || t_fail "tap $t"
done
# moved into a namespace, a tap goes with it; deleted first either way
t_on_exit "ip link del $QC || ip -n $CLI link del $QC"
t_on_exit "ip link del $QG || ip -n $GST link del $QG"
t_on_exit "ip link del $L"
cn_host_if "$L" || t_fail "tap $L up"

t_bg qemu-system-x86_64 -machine none -m 16 -nodefaults -display none \
	-name primary \
	-netdev "tap,id=up,ifname=$QC,script=no,downscript=no" \
	-netdev hubport,id=hu,hubid=0,netdev=up \
	-netdev "tap,id=vm,ifname=$QG,script=no,downscript=no" \
	-netdev hubport,id=hv,hubid=0,netdev=vm \
	-chardev "socket,id=mirror0,path=$MS,server=on,wait=off" \
	-object filter-mirror,id=m0,netdev=up,queue=tx,outdev=mirror0,vnet_hdr_support=on \
	2>>"$T_TMP/qemu.log"
if ! cn_wait_cmd test -S "$MS"; then
	t_fail "QEMU starts with a filter-mirror: $(cat "$T_TMP/qemu.log")"
	t_done
fi
# ns MAC IP TAP PEER_IP PEER_MAC: the tap into ns, addressed, and the
# peer a static neighbour: no ARP comes between the streams
ns_tap() {
	ip link set "$4" netns "$1" &&
		ip netns exec "$1" sysctl -qw "net.ipv6.conf.$4.disable_ipv6=1" &&
		ip -n "$1" link set "$4" address "$2" &&
		ip -n "$1" addr add "$3/24" dev "$4" &&
		ip -n "$1" link set "$4" up &&
		ip -n "$1" neigh add "$5" lladdr "$6" dev "$4" nud permanent
}
ns_tap "$CLI" "$CN_CLIENT_MAC" "$CN_CLIENT_IP" "$QC" "$CN_GUEST_IP" \
	"$CN_GUEST_MAC" &&
	ns_tap "$GST" "$CN_GUEST_MAC" "$CN_GUEST_IP" "$QG" "$CN_CLIENT_IP" \
		"$CN_CLIENT_MAC" || {
	t_fail "QEMU's taps into the client's and the guest's namespaces"
	t_done
}

# QEMU's netdevs carry no vnet header (no virtio-net): with
# vnet_hdr_support=on filter-mirror sends a vnet length of 0
t_bg "$COLO_XDP" chardev --tap "$L" --in "unix:$MS" --vnet-hdr=0 \
	>"$T_TMP/bridge.log" 2>&1
BR=$T_LAST_PID
t_check "the bridge connects to filter-mirror's chardev" \
	cn_wait_log "$T_TMP/bridge.log" "--in unix:$MS: connected"

# cstat COUNTER: the bridge's --in counter in `colo-xdp stat --json`.
cstat() {
	"$COLO_XDP" stat --pin-path "/sys/fs/bpf/colo-xdp/chardev-$L" --json |
		python3 -c 'import json, sys
print(json.load(sys.stdin)["chardevs"][0]["in"]["counters"][sys.argv[1]])' "$1"
}

cstat_is() {
	[[ $(cstat "$1" 2>/dev/null) == "$2" ]]
}

# The client's frames as it sent them, and as the bridge wrote them into L.
cn_capture_start "$CLI" "$QC" "$T_TMP/cli.pcap" ether src "$CN_CLIENT_MAC" &&
	CCAP=$CN_CAP_PID || t_fail "capture on $QC"
tcpdump -i "$L" -w "$T_TMP/l.pcap" -U -n --immediate-mode -s 2048 \
	-B 16384 ether src "$CN_CLIENT_MAC" 2>"$T_TMP/l.pcap.log" &
LCAP=$!
t_on_exit "kill $LCAP"
cn_wait_log "$T_TMP/l.pcap.log" "listening on" || t_fail "capture on $L"

# Real sockets: 400 UDP datagrams of 1000 bytes, then a TCP connection
# that sends 512 KiB and reads back the guest's SHA-256 of what it got;
# the receivers in the guest's namespace.
# (a file: a background job's standard input is /dev/null)
cat >"$T_TMP/guest.py" <<'EOF'
import hashlib, socket, sys
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
# SO_RCVBUFFORCE: the datagrams wait whole while TCP runs
u.setsockopt(socket.SOL_SOCKET, 33, 8 << 20)
u.bind((sys.argv[1], 5000))
t = socket.socket()
t.bind((sys.argv[1], 5001))
t.listen(1)
t.settimeout(60)
print('ready', flush=True)
c, _ = t.accept()
c.settimeout(60)
h = hashlib.sha256()
while True:
    d = c.recv(65536)
    if not d:
        break
    h.update(d)
c.sendall(h.hexdigest().encode())
c.close()
u.settimeout(0)
seqs = []
try:
    while True:
        seqs.append(int.from_bytes(u.recv(2048)[:4], 'big'))
except BlockingIOError:
    pass
print('udp', len(seqs), 'in order' if seqs == sorted(seqs) else 'out of order',
      flush=True)
EOF
t_bg ip netns exec "$GST" python3 "$T_TMP/guest.py" "$CN_GUEST_IP" \
	>"$T_TMP/guest.out" 2>&1
GUEST=$T_LAST_PID
cn_wait_log "$T_TMP/guest.out" '^ready' || t_fail "the guest's receivers start"
ip netns exec "$CLI" python3 - "$CN_GUEST_IP" >"$T_TMP/client.out" 2>&1 <<'EOF'
import hashlib, os, socket, sys
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for i in range(400):
    u.sendto(i.to_bytes(4, 'big') + os.urandom(996), (sys.argv[1], 5000))
data = os.urandom(512 * 1024)
t = socket.create_connection((sys.argv[1], 5001), timeout=30)
t.sendall(data)
t.shutdown(socket.SHUT_WR)
got = b''
while True:
    d = t.recv(4096)
    if not d:
        break
    got += d
t.close()
print('tcp', 'same' if got.decode() == hashlib.sha256(data).hexdigest()
      else 'differs')
EOF
wait "$GUEST"
t_check "the guest got the client's 512 KiB over TCP through QEMU, byte for byte" \
	grep -qx "tcp same" "$T_TMP/client.out"
t_check "the guest got the 400 datagrams, in order" \
	grep -qx "udp 400 in order" "$T_TMP/guest.out"

# The client sends nothing more (static neighbours, the connection
# closed): what it captured is the whole stream. L must have as many.
N=$(cn_frames "$T_TMP/cli.pcap" | wc -l)
cn_wait_frames "$T_TMP/l.pcap" "$N"
cn_capture_stop "$CCAP"
cn_capture_stop "$LCAP"
# same CLIENT L: each frame the client sent, padded with zeros to 60
# bytes, is the next one in L; prints the counts, UDP and TCP
same() {
	python3 - <(cn_frames "$1") <(cn_frames "$2") <<'EOF'
import sys
a = [bytes.fromhex(x) for x in open(sys.argv[1]).read().split()]
b = [bytes.fromhex(x) for x in open(sys.argv[2]).read().split()]
want = [f + bytes(max(0, 60 - len(f))) for f in a]
for i, (x, y) in enumerate(zip(want, b)):
    if x != y:
        sys.exit('frame %d differs: sent %s, got %s' % (i, x.hex(), y.hex()))
if len(want) != len(b):
    sys.exit('%d frames sent, %d in L' % (len(want), len(b)))
udp = sum(f[12:14] == b'\x08\x00' and f[23] == 17 for f in a)
tcp = sum(f[12:14] == b'\x08\x00' and f[23] == 6 for f in a)
print('%d frames: %d UDP, %d TCP' % (len(a), udp, tcp))
if udp != 400 or tcp < 100:
    sys.exit('not the streams sent')
EOF
}
if out=$(same "$T_TMP/cli.pcap" "$T_TMP/l.pcap" 2>&1); then
	t_ok "filter-mirror through the bridge: every frame the client sent reaches L, in order, byte for byte ($out)"
else
	t_fail "filter-mirror through the bridge: $out"
fi
t_check "the bridge counts exactly those ($N), no error" \
	cn_wait_cmd all_of cstat_is frames "$N" -- cstat_is bad_prefix 0 -- \
	cstat_is tap_errors 0
kill -TERM "$BR"
wait "$BR"
t_check "SIGTERM: exit 0" test $? -eq 0
t_done
