#!/bin/bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# colo-xdp chardev against real QEMU 7.2 objects: two QEMU processes
# (-machine none: no guest, see qmp.sh) whose guest is played by a tap
# netdev (QP, QS) the test sends frames out of, joined by a hub port on
# which stock filter-redirector objects send to and take from socket
# chardevs, as a COLO primary's and secondary's do:
#
#   colo-vmsend --dev QP -> QEMU pri: tap netdev -> hubport, filter-redirector
#     queue=rx outdev (vnet_hdr_support=on) -> colo-xdp chardev -> tap P
#   colo-vmsend --dev QS -> QEMU sec: the same, vnet_hdr_support=off -> tap S
#   colo-xdp run compares P and S (real XDP, real AF_XDP) for a client in a
#   namespace; its mirror clones the client's frames to S -> colo-xdp
#   chardev --out -> QEMU sec's filter-redirector queue=tx indev -> tap
#   netdev -> QS, where the test captures them.
#
# Then a fake peer (selftests/qframe.py) sends garbage and bad lengths:
# counted, the channel closed and taken again; vnet headers of 0, 10 and
# 12 bytes into a tap with a 12-byte header; a reader that stalls; QEMU
# restarted under a connected bridge; bad flags.
PATH=/usr/bin:$PATH
. "$(dirname "$0")/lib.sh"
. "$T_TOP/tools/colo-netns.sh"
. "$T_TOP/selftests/lib-e2e.sh"
CN_ON_EXIT=t_on_exit
QF=$T_TOP/selftests/qframe.py
t_skip_unless_root
if ! command -v qemu-system-x86_64 >/dev/null; then
	t_skip "chardev.sh: qemu-system-x86_64 is missing (install qemu-system-x86: make deps)"
	t_done
fi

cn_tap_topology "$T_PREFIX" || {
	t_fail "build the namespaces and taps"
	t_done
}
QP=${T_PREFIX}qp # the primary guest's side, a QEMU tap netdev
QS=${T_PREFIX}qs
TG=${T_PREFIX}tg # the fake peer's bridge
for t in "$QP" "$QS" "$TG"; do
	ip tuntap add dev "$t" mode tap || t_fail "tap $t"
	t_on_exit "ip link del $t"
	cn_host_if "$t" || t_fail "tap $t up"
done
for t in "$CN_P" "$CN_S" "$TG"; do
	t_on_exit "rm -rf /sys/fs/bpf/colo-xdp/chardev-$t"
done

# qemu NAME TAP VNET [indev]: a QEMU whose tap netdev TAP is the guest;
# filter-redirector queue=rx sends what TAP gives QEMU to the chardev
# $T_TMP/NAME-out.sock; with indev, filter-redirector queue=tx takes
# frames from $T_TMP/NAME-in.sock out of TAP. Sets LAST_QEMU.
qemu() {
	local name=$1 tap=$2 vnet=$3 in=()
	if [[ -n $4 ]]; then
		in=(-chardev "socket,id=min,path=$T_TMP/$name-in.sock,server=on,wait=off"
			-object "filter-redirector,id=fin,netdev=hp,queue=tx,indev=min,vnet_hdr_support=$vnet")
	fi
	rm -f "$T_TMP/$name-out.sock" "$T_TMP/$name-in.sock"
	t_bg qemu-system-x86_64 -machine none -m 16 -nodefaults -display none \
		-name "$name" \
		-netdev "tap,id=guest,ifname=$tap,script=no,downscript=no" \
		-netdev hubport,id=hp,hubid=0,netdev=guest \
		-chardev "socket,id=mout,path=$T_TMP/$name-out.sock,server=on,wait=off" \
		-object "filter-redirector,id=fout,netdev=hp,queue=rx,outdev=mout,vnet_hdr_support=$vnet" \
		"${in[@]}" 2>>"$T_TMP/qemu-$name.log"
	LAST_QEMU=$T_LAST_PID
	cn_wait_cmd test -S "$T_TMP/$name-out.sock"
}

# bridge TAP LOG FLAGS...: colo-xdp chardev on TAP; sets LAST_BRIDGE.
bridge() {
	local tap=$1 log=$2
	shift 2
	t_bg "$COLO_XDP" chardev --tap "$tap" "$@" >"$log" 2>&1
	LAST_BRIDGE=$T_LAST_PID
}

# cstat TAP DIR COUNTER: a bridge's counter in `colo-xdp stat --json`.
cstat() {
	"$COLO_XDP" stat --pin-path "/sys/fs/bpf/colo-xdp/chardev-$1" --json |
		python3 -c 'import json, sys
c = json.load(sys.stdin)["chardevs"][0]
print(c[sys.argv[1]]["counters"][sys.argv[2]] if sys.argv[2] != "connected"
      else c[sys.argv[1]]["connected"])' "$2" "$3"
}

# cstat_is TAP DIR COUNTER VALUE, within a second (the record is
# published four times a second).
cstat_is() {
	cn_wait_cmd cstat_eq "$@"
}

cstat_eq() {
	[[ $(cstat "$1" "$2" "$3" 2>/dev/null) == "$4" ]]
}

qemu pri "$QP" on || t_fail "QEMU pri starts: $(cat "$T_TMP/qemu-pri.log")"
PRI=$LAST_QEMU
qemu sec "$QS" off indev || t_fail "QEMU sec starts: $(cat "$T_TMP/qemu-sec.log")"
SEC=$LAST_QEMU
# QEMU's netdevs here carry no vnet header (no virtio-net): its filters'
# vnet_hdr_support=on sends a vnet length of 0, so --vnet-hdr=0
bridge "$CN_P" "$T_TMP/bp.log" --in "unix:$T_TMP/pri-out.sock" --vnet-hdr=0
BP=$LAST_BRIDGE
bridge "$CN_S" "$T_TMP/bs.log" --in "unix:$T_TMP/sec-out.sock" \
	--out "unix:$T_TMP/sec-in.sock" --reconnect 100
BS=$LAST_BRIDGE
t_check "the bridges connect to QEMU's chardevs" \
	all_of cn_wait_log "$T_TMP/bp.log" "--in .*: connected" -- \
	cn_wait_log "$T_TMP/bs.log" "--out .*: connected"

LOG=$T_TMP/run.log
t_bg "$COLO_XDP" run --primary-in "$CN_P" --secondary-in "$CN_S" \
	--outdev "$CN_O" --zero-copy off >"$LOG" 2>&1
RUN=$T_LAST_PID
if ! cn_wait_log "$LOG" "^comparing"; then
	t_fail "colo-xdp run starts on the bridges' taps: $(cat "$LOG")"
	t_done
fi

# stream NAME COUNT FLAGS...: the same stream out of QP and QS into both
# QEMUs (the secondary's IPv4 IDs differ); the client must get exactly the
# primary's frames, in order, byte for byte.
stream() {
	local name=$1 count=$2 cap
	shift 2
	cn_capture_start "$CN_CLI" eth0 "$T_TMP/$name-cli.pcap" || {
		t_fail "$name: capture"
		return
	}
	cap=$CN_CAP_PID
	"$VMSEND" --dev "$QP" --count "$count" --ip-id 1000 \
		--write "$T_TMP/$name-pri.pcap" "$@" >/dev/null
	"$VMSEND" --dev "$QS" --count "$count" --ip-id 40000 "$@" >/dev/null
	cn_wait_frames "$T_TMP/$name-cli.pcap" "$count" "$CN_GUEST_MAC"
	cn_capture_stop "$cap"
	if cmp -s <(cn_frames "$T_TMP/$name-pri.pcap") \
		<(cn_frames "$T_TMP/$name-cli.pcap" "$CN_GUEST_MAC"); then
		t_ok "$name: the client gets the primary QEMU's $count frames, in order, byte for byte"
	else
		t_fail "$name: the client got $(cn_frames "$T_TMP/$name-cli.pcap" \
			"$CN_GUEST_MAC" | wc -l) frames, not the primary QEMU's $count"
	fi
}

stream "UDP via filter-redirector" 500 --proto udp --size 300 --sport 4001
stream "TCP via filter-redirector" 500 --proto tcp --size 1400 --sport 4002
t_check "the primary's frames came through QEMU (vnet_hdr_support=on) and the bridge" \
	cstat_is "$CN_P" in frames 1000
t_check "the secondary's frames came through QEMU (vnet_hdr_support=off) and the bridge" \
	cstat_is "$CN_S" in frames 1000
t_check "no mismatch: nothing asked for a checkpoint" \
	bash -c "! grep -q '^checkpoint request' '$LOG'"

# (b) the mirror: the client's frames to S go to QEMU sec's indev and out
# of its tap netdev, in order, byte for byte.
# on QS in the root namespace: cn_capture_start's way, without netns
tcpdump -i "$QS" -w "$T_TMP/mir-qs.pcap" -U -n --immediate-mode -s 2048 \
	-B 16384 ether src "$CN_CLIENT_MAC" 2>"$T_TMP/mir-qs.log" &
MCAP=$!
t_on_exit "kill $MCAP"
cn_wait_log "$T_TMP/mir-qs.log" "listening on" || t_fail "capture on $QS"
# the client's kernel answered the TCP stream with resets, mirrored too
OUT0=$(cstat "$CN_S" out frames)
ip netns exec "$CN_CLI" "$VMSEND" --dev eth0 --proto udp --count 300 \
	--sport 4100 --src-mac "$CN_CLIENT_MAC" --dst-mac "$CN_GUEST_MAC" \
	--src "$CN_CLIENT_IP" --dst "$CN_GUEST_IP" \
	--write "$T_TMP/mir-cli.pcap" >/dev/null
cn_wait_frames "$T_TMP/mir-qs.pcap" 300
cn_capture_stop "$MCAP"
if cmp -s <(cn_frames "$T_TMP/mir-cli.pcap") <(cn_frames "$T_TMP/mir-qs.pcap"); then
	t_ok "mirror: the client's 300 frames reach QEMU sec's filter-redirector indev and its netdev, in order, byte for byte"
else
	t_fail "mirror: $(cn_frames "$T_TMP/mir-qs.pcap" | wc -l) of the client's 300 frames came out of QEMU sec"
fi
t_check "mirror: the bridge counts them sent" cstat_is "$CN_S" out frames "$((OUT0 + 300))"
# prom_frames: stat --prometheus has the bridge's frames sent, as stat --json
prom_frames() {
	"$COLO_XDP" stat --pin-path "/sys/fs/bpf/colo-xdp/chardev-$CN_S" \
		--prometheus |
		grep -qx "colo_xdp_chardev_frames_total{instance=\"chardev-$CN_S\",role=\"chardev\",direction=\"out\"} $(cstat "$CN_S" out frames)"
}
t_check "stat --prometheus gives the bridge's counters, as stat --json" \
	prom_frames

# SIGUSR1: the counters on stderr, and the bridge goes on.
kill -USR1 "$BS"
t_check "SIGUSR1 prints the counters" \
	cn_wait_log "$T_TMP/bs.log" "--out .*(connected): frames $((OUT0 + 300)) "

# QEMU sec restarted: the bridge connects again, both ways.
kill -KILL "$SEC"
wait "$SEC" 2>/dev/null
t_check "QEMU gone: the bridge says so" \
	cn_wait_log "$T_TMP/bs.log" "--in .*: the peer closed the channel"
qemu sec "$QS" off indev || t_fail "QEMU sec restarts"
SEC=$LAST_QEMU
t_check "QEMU back: the bridge connects again, both ways" \
	all_of cstat_is "$CN_S" in connects 2 -- cstat_is "$CN_S" out connects 2
stream "UDP after QEMU sec restarted" 300 --proto udp --size 200 --sport 4003
kill -TERM "$RUN"
wait "$RUN"

# A fake peer: garbage, a bad length, a bad vnet length; each closes the
# channel, is counted, and the next peer's frames pass.
"$VMSEND" --tap "$TG" --count 200 --size 100 --sport 4200 \
	--write "$T_TMP/g.pcap" >/dev/null
bridge "$TG" "$T_TMP/bg.log" --in "listen:unix:$T_TMP/g.sock" --vnet-hdr
BG=$LAST_BRIDGE
cn_wait_cmd test -S "$T_TMP/g.sock"
rx() { cat "/sys/class/net/$TG/statistics/rx_packets"; }
R0=$(rx)
python3 "$QF" send "unix:$T_TMP/g.sock" "$T_TMP/g.pcap" --vnet 12 >/dev/null
python3 "$QF" send "unix:$T_TMP/g.sock" "$T_TMP/g.pcap" --vnet 10 >/dev/null
python3 "$QF" send "unix:$T_TMP/g.sock" "$T_TMP/g.pcap" --vnet 0 >/dev/null
t_check "vnet headers of 12, 10 and 0 bytes into a tap with a 12-byte header: 600 frames" \
	all_of cstat_is "$TG" in frames 600 -- test "$(($(rx) - R0))" -eq 600
python3 "$QF" send "unix:$T_TMP/g.sock" "$T_TMP/g.pcap" --vnet 0 \
	--prefix "$(printf 'GET / HTTP/1.0\r\n\r\n' | xxd -p)" >/dev/null
t_check "garbage: closed with a message, counted" \
	all_of cn_wait_log "$T_TMP/bg.log" "the peer sent a frame length of 1195725856 bytes" -- \
	cstat_is "$TG" in bad_prefix 1
python3 "$QF" send "unix:$T_TMP/g.sock" "$T_TMP/g.pcap" --vnet 0 \
	--prefix 0000100000000040 >/dev/null
t_check "a vnet header length of 64: closed with a message, counted" \
	all_of cn_wait_log "$T_TMP/bg.log" "a vnet header length of 64 bytes" -- \
	cstat_is "$TG" in bad_prefix 2
python3 "$QF" send "unix:$T_TMP/g.sock" "$T_TMP/g.pcap" --vnet 0 \
	--prefix 0002000000000000 >/dev/null
t_check "a length over QEMU's 69632: closed with a message, counted" \
	all_of cn_wait_log "$T_TMP/bg.log" "a frame length of 131072 bytes" -- \
	cstat_is "$TG" in bad_prefix 3
python3 "$QF" send "unix:$T_TMP/g.sock" "$T_TMP/g.pcap" --vnet 12 >/dev/null
t_check "the channel recovers: the next peer's 200 frames pass" \
	all_of cstat_is "$TG" in frames 800 -- cstat_is "$TG" in disconnects 7
kill -TERM "$BG"
wait "$BG"
t_check "SIGTERM: exit 0, the record unpinned" \
	all_of test $? -eq 0 -- test ! -e "/sys/fs/bpf/colo-xdp/chardev-$TG"

# A reader that stalls: the bridge stops reading the tap (stalls counted)
# and loses nothing itself; the tap drops what overflows its queue,
# counted as tap_dropped; the reader gets every frame the bridge took.
python3 "$QF" stall "unix:$T_TMP/st.sock" 3 --listen >"$T_TMP/stall.out" &
STALL=$!
cn_wait_cmd test -S "$T_TMP/st.sock"
bridge "$TG" "$T_TMP/bst.log" --out "unix:$T_TMP/st.sock"
BST=$LAST_BRIDGE
cn_wait_log "$T_TMP/bst.log" "--out .*: connected"
"$VMSEND" --dev "$TG" --count 5000 --size 1000 --sport 4300 >/dev/null
wait "$STALL"
kill -USR1 "$BST"
cn_wait_log "$T_TMP/bst.log" "stalls [1-9]"
read -r frames bytes stalls nopeer dropped < <(sed -n 's/.*frames \([0-9]*\) bytes \([0-9]*\) .* stalls \([0-9]*\) .* no_peer \([0-9]*\) tap_dropped \([0-9]*\)$/\1 \2 \3 \4 \5/p' "$T_TMP/bst.log" | tail -1)
echo "# stalled reader: $frames frames sent, $stalls stalls, $dropped dropped by the tap, of 5000"
t_check "stalled reader: stalls counted, the tap's drops counted, every frame taken is delivered" \
	all_of test "${stalls:-0}" -gt 0 -- test "$((frames + nopeer + dropped))" -eq 5000 -- \
	test "$(tail -n 1 "$T_TMP/stall.out")" -eq "$((bytes + 4 * frames))"
kill -TERM "$BST"
wait "$BST"

# Bad flags: exit status 2 and a message that names the flag.
bad() {
	local want=$1
	shift
	"$COLO_XDP" chardev "$@" >"$T_TMP/bad.out" 2>&1
	[[ $? -eq 2 ]] && grep -q -- "$want" "$T_TMP/bad.out"
}
t_check "no channel: an error" bad "nothing to bridge" --tap "$TG"
t_check "a bad address: an error naming the forms" \
	bad "expected unix:PATH or tcp:ADDR:PORT" --tap "$TG" --in foo:bar
t_check "a bad vnet length: an error" bad "--vnet-hdr=7: expected 0, 10 or 12" \
	--tap "$TG" --in unix:/x --vnet-hdr=7
t_check "the same channel twice: an error" bad "give two channels" \
	--tap "$TG" --in unix:/x --out unix:/x
"$COLO_XDP" chardev --tap "${T_PREFIX}none" --in unix:/x >"$T_TMP/none.out" 2>&1
t_check "no such tap: exit 1, with the fix" \
	all_of test $? -eq 1 -- grep -q "ip tuntap add dev ${T_PREFIX}none mode tap" "$T_TMP/none.out"

t_done
