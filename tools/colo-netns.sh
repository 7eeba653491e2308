# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# Play COLO on one machine, for the end-to-end tests and the demo (source
# it): a client and a primary and a secondary replica in network
# namespaces, the replicas with the same MAC and IP address as COLO's VMs,
# the host ends of their links in the root namespace where colo-xdp runs
# (`ip netns exec` would hide /sys/fs/bpf from it). colo-xdp run's own
# mirror (colo_mirror on O's ingress) brings the client's frames to both.
#
#   client ns: eth0 ── O (outdev) ┄┄ colo_mirror ┄┄┬─► P ── eth0 primary ns
#                                                   └─► S ── eth0 secondary ns
#
# or, with the secondary behind a host of its own (cn_pair_topology), where
# `colo-xdp secondary` runs:
#
#                                                 └─► S ══ L ┄ secondary
#                                                  host ns ┄ V ── eth0 secondary ns
#
# The caller sets CN_ON_EXIT to a command that takes one cleanup command
# (lib.sh's t_on_exit, or the demo's own), and everything made here is
# handed to it as soon as it exists.

CN_GUEST_MAC=02:00:00:00:00:01
CN_GUEST_IP=10.0.0.1
CN_CLIENT_MAC=02:00:00:00:00:02
CN_CLIENT_IP=10.0.0.2

# cn_ns NAME: a namespace with IPv6 off (no router solicitations or MLD
# reports to muddy captures) and lo up.
cn_ns() {
	ip netns add "$1" || return 1
	# what still runs in it (a sender, a capture) goes first
	$CN_ON_EXIT "ip netns pids $1 | xargs -r kill -9; ip netns del $1"
	ip netns exec "$1" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 \
		net.ipv6.conf.default.disable_ipv6=1 || return 1
	ip -n "$1" link set lo up
}

# cn_host_if NAME: bring up a host-side interface with IPv6 off.
cn_host_if() {
	sysctl -qw "net.ipv6.conf.$1.disable_ipv6=1" &&
		ip link set dev "$1" up
}

# cn_link HOST NS MAC IP [HOSTNS]: a veth from HOST (in the root namespace,
# or in HOSTNS, which removes it with itself) to eth0 in NS.
cn_link() {
	ip ${5:+-n "$5"} link add "$1" type veth peer name eth0 netns "$2" ||
		return 1
	[[ -n ${5:-} ]] || $CN_ON_EXIT "ip link del $1"
	ip -n "$2" link set eth0 address "$3" &&
		ip -n "$2" addr add "$4/24" dev eth0 &&
		ip -n "$2" link set eth0 up || return 1
	if [[ -n ${5:-} ]]; then
		ip -n "$5" link set "$1" up
	else
		cn_host_if "$1"
	fi
}

# cn_client PREFIX: namespace PREFIX-cli behind outdev PREFIXo; sets CN_CLI
# and CN_O. Its eth0 has GRO on: a veth delivers frames redirected to its
# peer (uncompared primary frames, through colo_steer's DEVMAP) only then.
cn_client() {
	CN_CLI=$1-cli
	CN_O=${1}o
	cn_ns "$CN_CLI" &&
		cn_link "$CN_O" "$CN_CLI" "$CN_CLIENT_MAC" "$CN_CLIENT_IP" &&
		ip netns exec "$CN_CLI" ethtool -K eth0 gro on >/dev/null &&
		ip -n "$CN_CLI" neigh add "$CN_GUEST_IP" \
			lladdr "$CN_GUEST_MAC" dev eth0 nud permanent
}

# cn_replica NS HOST [HOSTNS]: a replica guest in NS behind HOST (in
# HOSTNS if given), static neighbour to the client so that the guests' ARP
# does not interleave with a test. Checksums are computed by the guest:
# its frames leave through AF_XDP, which carries no checksum offload (a
# VM's virtio-net would pass its partial checksums on in the vnet header
# instead).
cn_replica() {
	cn_ns "$1" &&
		cn_link "$2" "$1" "$CN_GUEST_MAC" "$CN_GUEST_IP" ${3:+"$3"} &&
		ip netns exec "$1" ethtool -K eth0 tx off >/dev/null &&
		ip -n "$1" neigh add "$CN_CLIENT_IP" lladdr "$CN_CLIENT_MAC" \
			dev eth0 nud permanent
}

# cn_pins_on_exit: the default pins of an instance on CN_P go on exit, so
# that a loader killed and never restarted leaves none, and its keeper
# (which waits for a successor while they exist) ends.
cn_pins_on_exit() {
	$CN_ON_EXIT "rm -rf /sys/fs/bpf/colo-xdp/$CN_P"
}

# cn_veth_topology PREFIX: client and both replicas on veths. Sets CN_PRI,
# CN_SEC, CN_CLI (namespaces) and CN_P, CN_S, CN_O (host interfaces).
cn_veth_topology() {
	CN_PRI=$1-pri
	CN_SEC=$1-sec
	CN_P=${1}p
	CN_S=${1}s
	cn_pins_on_exit
	cn_client "$1" && cn_replica "$CN_PRI" "$CN_P" &&
		cn_replica "$CN_SEC" "$CN_S"
}

# cn_secondary_host PREFIX: the secondary host as namespace PREFIX-sh,
# its link CN_L to the primary host's CN_S (root namespace), and the
# secondary replica PREFIX-sec behind CN_V, for `colo-xdp secondary --vm
# CN_V --link CN_L` in CN_SH. The replica's eth0 has GRO on: the frames
# that colo_rw_in redirects into the veth CN_V arrive only then.
#
# The client follows the primary's window alone (the comparator passes
# it as it is: docs/semantics.md, section 13), so whatever it sends past
# the secondary's window the secondary drops, the ACK rule holds the
# primary's ACKs above the secondary's, the secondary's SACKs reach no
# one, and the client resends one segment per backed-off retransmission
# timeout until the 3 s compare timeout asks for a checkpoint. Two things
# made the secondary's window the smaller one here, and both are set:
#
# - GRO on that eth0 (on only for the NAPI the redirected frames need)
#   merges nothing (gro_max_size of one frame). Merged, a burst became a
#   64 KB skb whose end lay past the window when the client overran it by
#   a segment or two, and Linux 6.18 drops such an skb whole
#   (TCP_INVALID_END_SEQUENCE): 40 to 76 segments lost that it had room
#   for, 1 to 3 checkpoint requests per 40 uploads.
# - Its receive buffer starts at the largest the primary's grows to. A
#   veth hands each frame redirected into it by XDP to the stack in a
#   page of its own, where the primary's come as the client's small
#   skbs: charged more for the same bytes, the secondary's window was at
#   times the smaller (from 390 KB, the primary's up to 2 MB), and with
#   the first change alone the client still sent past it in 6 of 100
#   uploads (11 requests). With both, the secondary's window is 2.1 to
#   3.1 MB, the primary's at most 2.1 MB, and no segment went past it.
#
# Between real VMs behind taps either window can be the smaller.
cn_secondary_host() {
	CN_SH=$1-sh
	CN_SEC=$1-sec
	CN_S=${1}s
	CN_L=${1}l
	CN_V=${1}v
	$CN_ON_EXIT "rm -rf /sys/fs/bpf/colo-xdp/secondary-$CN_V"
	cn_ns "$CN_SH" || return 1
	ip link add "$CN_S" type veth peer name "$CN_L" netns "$CN_SH" ||
		return 1
	$CN_ON_EXIT "ip link del $CN_S"
	cn_host_if "$CN_S" && ip -n "$CN_SH" link set "$CN_L" up &&
		cn_replica "$CN_SEC" "$CN_V" "$CN_SH" &&
		ip netns exec "$CN_SEC" ethtool -K eth0 gro on >/dev/null &&
		ip -n "$CN_SEC" link set dev eth0 gro_max_size 1500 &&
		ip netns exec "$CN_SEC" sysctl -qw \
			net.ipv4.tcp_rmem="4096 6291456 6291456"
}

# cn_flow_order DEV [NS]: RPS on DEV's receive queue, so that every frame
# of a flow is taken by one CPU, in order, as from a NIC's RSS queue. A
# veth with no NAPI hands what it receives to the backlog of the CPU
# that sent it; the client's TCP sends from its process on one CPU and
# from the softirq of the ACKs on the other, and two backlogs drained at
# once reordered the client's segments on O and again on their way into
# the primary replica (421 to 934 per 40 to 100 uploads, answered with
# D-SACKs: the client's 237 to 398 fast retransmissions were spurious).
# The secondary's path is NAPI all the way (XDP on the link), in order.
cn_flow_order() {
	local n mask f=/sys/class/net/$1/queues/rx-0/rps_cpus
	n=$(nproc)
	((n > 32)) && n=32
	mask=$(printf %x $(((1 << n) - 1)))
	if [[ -n ${2:-} ]]; then
		ip netns exec "$2" sh -c "echo $mask >$f"
	else
		echo "$mask" >"$f"
	fi
}

# cn_pair_topology PREFIX: the client, the primary replica behind CN_P and
# the secondary host (cn_secondary_host), the client's frames in order on
# O and into the primary (cn_flow_order). Sets CN_CLI, CN_PRI, CN_P, CN_O
# and cn_secondary_host's.
cn_pair_topology() {
	CN_PRI=$1-pri
	CN_P=${1}p
	cn_pins_on_exit
	cn_client "$1" && cn_replica "$CN_PRI" "$CN_P" &&
		cn_flow_order "$CN_O" && cn_flow_order eth0 "$CN_PRI" &&
		cn_secondary_host "$1"
}

# cn_tap_topology PREFIX: client on a veth, replicas as tap devices CN_P
# and CN_S in the root namespace, written to by colo-vmsend as QEMU would.
cn_tap_topology() {
	CN_P=${1}tp
	CN_S=${1}ts
	cn_pins_on_exit
	cn_client "$1" || return 1
	for t in "$CN_P" "$CN_S"; do
		ip tuntap add dev "$t" mode tap || return 1
		$CN_ON_EXIT "ip link del $t"
		cn_host_if "$t" || return 1
	done
}

# cn_mirror: another mirror than colo-xdp's own, for `colo-xdp run
# --mirror off`: tc on the outdev's ingress (an ingress qdisc, u32 and
# mirred), a copy of each client frame to S, the frame to P.
cn_mirror() {
	tc qdisc add dev "$CN_O" handle ffff: ingress &&
		tc filter add dev "$CN_O" parent ffff: protocol all u32 \
			match u32 0 0 \
			action mirred egress mirror dev "$CN_S" pipe \
			action mirred egress redirect dev "$CN_P"
}

# cn_capture_start NS IF FILE [FILTER...]: tcpdump into FILE, returns once
# it listens. Sets CN_CAP_PID. Immediate mode sizes each ring slot for the
# snap length: a short one (frames stay under 2048 bytes) lets the 16 MiB
# ring hold thousands of frames, so a burst is not lost on a busy machine.
cn_capture_start() {
	local i
	ip netns exec "$1" tcpdump -i "$2" -w "$3" -U -n --immediate-mode \
		-s 2048 -B 16384 "${@:4}" 2>"$3.log" &
	CN_CAP_PID=$!
	$CN_ON_EXIT "kill $CN_CAP_PID"
	for ((i = 0; i < 100; i++)); do
		grep -q "listening on" "$3.log" 2>/dev/null && return 0
		sleep 0.1
	done
	echo "tcpdump on $2 in $1 did not start: $(cat "$3.log")" >&2
	return 1
}

# cn_none FILE FILTER: the capture FILE holds no frame matching FILTER. A
# capture that never ran proves nothing: false when FILE is missing or
# empty (tcpdump writes its header when it starts).
cn_none() {
	local n
	[[ -s $1 ]] &&
		n=$(tcpdump -r "$1" -nn "$2" 2>/dev/null | wc -l) &&
		((n == 0))
}

# cn_capture_stop PID: stop a capture and let it flush its file.
cn_capture_stop() {
	kill -INT "$1" 2>/dev/null
	wait "$1" 2>/dev/null
	return 0
}

# cn_frames FILE [SRC_MAC]: one line of hex per frame of a pcap file, those
# sent by SRC_MAC only if given.
cn_frames() {
	python3 - "$@" <<'EOF'
import signal, struct, sys
signal.signal(signal.SIGPIPE, signal.SIG_DFL)  # a reader may stop early
data = open(sys.argv[1], 'rb').read()
mac = bytes.fromhex(sys.argv[2].replace(':', '')) if len(sys.argv) > 2 else None
magic = struct.unpack('<I', data[:4])[0]
end = '<' if magic in (0xa1b2c3d4, 0xa1b23c4d) else '>'
off = 24
while off + 16 <= len(data):
    caplen = struct.unpack(end + 'I', data[off + 8:off + 12])[0]
    frame = data[off + 16:off + 16 + caplen]
    off += 16 + caplen
    if mac is None or frame[6:12] == mac:
        print(frame.hex())
EOF
}

# cn_wait_frames FILE N [SRC_MAC]: wait until a capture holds N frames
# (from SRC_MAC); bounded, fails if they never come.
cn_wait_frames() {
	cn_wait_cmd cn_has_frames "$@"
}

cn_has_frames() {
	(($(cn_frames "$1" ${3:+"$3"} 2>/dev/null | wc -l) >= $2))
}

# cn_wait_cmd COMMAND...: wait until COMMAND succeeds; bounded.
cn_wait_cmd() {
	local i
	for ((i = 0; i < 100; i++)); do
		"$@" && return 0
		sleep 0.1
	done
	return 1
}

# cn_wait_log FILE PATTERN: wait until a log holds a line matching PATTERN.
cn_wait_log() {
	cn_wait_cmd grep -q -- "$2" "$1" 2>/dev/null
}
