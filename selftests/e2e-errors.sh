#!/bin/bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# colo-xdp run refuses what it cannot do: bad flags, no privileges, no
# AF_XDP, a UMEM too small for its rings, an RX queue the device lacks,
# zero-copy required where there is none, a jumbo MTU without AF_XDP
# multi-buffer.
# Each time: one line naming the problem and the fix, a non-zero exit, and
# nothing left attached or pinned. (colo_steer_open's own errors, such as a
# missing or down interface, are the steer suites' job.)
. "$(dirname "$0")/lib.sh"
. "$T_TOP/tools/colo-netns.sh"
CN_ON_EXIT=t_on_exit
t_skip_unless_root

P=${T_PREFIX}p
S=${T_PREFIX}s
O=${T_PREFIX}o
for i in "$P" "$S" "$O"; do
	ip link add "$i" type veth peer name "${i}x" || t_fail "make $i"
	t_on_exit "ip link del $i"
	cn_host_if "$i"
done
IFS3=(--primary-in "$P" --secondary-in "$S" --outdev "$O")

# nothing_left: no XDP program on the interfaces, no mirror on the
# outdev and no qdisc of its own, no pin directory, no keeper.
nothing_left() {
	local i
	for i in "$P" "$S" "$O"; do
		ip -d link show dev "$i" | grep -q "prog/xdp" && return 1
		bpftool net show dev "$i" 2>/dev/null |
			grep -q "colo_steer\|colo_mirror" && return 1
	done
	# the mirror's on O, colo_out's on P (a veth outdev)
	for i in "$O" "$P"; do
		[[ -z $(tc filter show dev "$i" ingress) ]] &&
			! tc qdisc show dev "$i" | grep -q clsact || return 1
	done
	! pgrep -f "^colo-xdp keep /sys/fs/bpf/colo-xdp/$P " >/dev/null &&
		[[ ! -e /sys/fs/bpf/colo-xdp/$P ]]
}

# refused NAME STATUS PATTERN COMMAND...: exits with STATUS, says PATTERN
# in one line, leaves nothing behind.
refused() {
	local name=$1 status=$2 pattern=$3 out rc
	shift 3
	# a run that starts instead must fail the check, not hang the suite
	out=$(timeout 30 "$@" 2>&1)
	rc=$?
	if ((rc != status)); then
		t_fail "$name: exit $rc, not $status: $out"
	elif ! grep -q -- "$pattern" <<<"$out"; then
		t_fail "$name: message '$out' lacks '$pattern'"
	elif (($(grep -v "^colo-xdp run: note:" <<<"$out" |
		grep -c "^colo-xdp run:") != 1)); then
		t_fail "$name: not one error line: $out"
	elif ! nothing_left; then
		t_fail "$name: something was left attached or pinned"
	else
		t_ok "$name"
	fi
}

refused "no flags" 2 "--primary-in is required" "$COLO_XDP" run
refused "no --outdev" 2 "--outdev is required" \
	"$COLO_XDP" run --primary-in "$P" --secondary-in "$S"
refused "same interface twice" 2 \
	"--primary-in and --secondary-in are both $P: give three different" \
	"$COLO_XDP" run --primary-in "$P" --secondary-in "$P" --outdev "$O"
refused "unknown flag" 2 "unknown flag '--bogus'" \
	"$COLO_XDP" run "${IFS3[@]}" --bogus
refused "flag without its value" 2 "--queue needs a value" \
	"$COLO_XDP" run "${IFS3[@]}" --queue
refused "stray argument" 2 "unexpected argument 'extra'" \
	"$COLO_XDP" run "${IFS3[@]}" extra
refused "bad number" 2 "--compare-timeout: 'soon' is not a number" \
	"$COLO_XDP" run "${IFS3[@]}" --compare-timeout soon
refused "bad --xdp-mode" 2 "--xdp-mode: 'hw' is neither native nor skb" \
	"$COLO_XDP" run "${IFS3[@]}" --xdp-mode hw
refused "bad --attach" 2 "--attach: 'always' is neither auto nor none" \
	"$COLO_XDP" run "${IFS3[@]}" --attach always
refused "bad --frame-size" 2 "--frame-size: '3000' is neither 2048 nor 4096" \
	"$COLO_XDP" run "${IFS3[@]}" --frame-size 3000
refused "no such CPU" 2 "--cpu 1000: this machine has CPUs 0 to" \
	"$COLO_XDP" run "${IFS3[@]}" --cpu 1000
refused "relative --pin-path" 2 "--pin-path: 'pins' is not an absolute path" \
	"$COLO_XDP" run "${IFS3[@]}" --pin-path pins
refused "UMEM too small for the rings" 2 \
	"--umem-frames 1024 is too small for the rings.*use --umem-frames 6144 or more" \
	"$COLO_XDP" run "${IFS3[@]}" --umem-frames 1024
refused "not root" 1 "not root (missing CAP_NET_ADMIN CAP_NET_RAW CAP_BPF): run it as root" \
	setpriv --reuid=65534 --regid=65534 --clear-groups \
	"$COLO_XDP" run "${IFS3[@]}"
refused "root without CAP_NET_ADMIN" 1 "missing CAP_NET_ADMIN: run it as root" \
	setpriv --inh-caps=-net_admin --bounding-set=-net_admin \
	"$COLO_XDP" run "${IFS3[@]}"
refused "AF_XDP unsupported" 1 \
	"this kernel has no AF_XDP sockets: use a kernel built with CONFIG_XDP_SOCKETS=y" \
	"$T_BUILD/no-af-xdp" "$COLO_XDP" run "${IFS3[@]}"
refused "RX queue the device lacks" 1 \
	"--queue: primary $P has 1 RX queue (0), not queue 5: .*--queues all.*ethtool -L $P" \
	"$COLO_XDP" run "${IFS3[@]}" --queue 5
refused "--queue and --queues both" 2 "--queue 1 and --queues: .*give one of them" \
	"$COLO_XDP" run "${IFS3[@]}" --queue 1 --queues 0
refused "a queue past colo_steer's" 2 "--queues 0,64: queue 64: at most 63" \
	"$COLO_XDP" run "${IFS3[@]}" --queues 0,64
refused "a range backwards" 2 "--queues 3-1: a range is LOW-HIGH" \
	"$COLO_XDP" run "${IFS3[@]}" --queues 3-1
refused "not a queue list" 2 "--queues some: expected a queue number at 'some'" \
	"$COLO_XDP" run "${IFS3[@]}" --queues some
refused "bad --out-path" 2 "--out-path: 'tc' is" \
	"$COLO_XDP" run "${IFS3[@]}" --out-path tc
# veth has no zero-copy AF_XDP: require stops at the first socket
refused "--zero-copy require on a veth" 1 \
	"--zero-copy require: --primary-in $P has no zero-copy AF_XDP (Operation not supported); use --zero-copy prefer" \
	"$COLO_XDP" run "${IFS3[@]}" --zero-copy require
refused "--zero-copy require with --xdp-mode skb" 2 \
	"--zero-copy require: --xdp-mode skb (generic XDP) hands AF_XDP copies only" \
	"$COLO_XDP" run "${IFS3[@]}" --zero-copy require --xdp-mode skb
refused "bad --zero-copy" 2 \
	"--zero-copy: 'always' is not one of prefer, require, off" \
	"$COLO_XDP" run "${IFS3[@]}" --zero-copy always
# A jumbo MTU is taken (e2e-jumbo.sh): its frames span several UMEM
# frames. On a kernel without AF_XDP multi-buffer (before 6.6, played by
# no-xdp-sg) the bind is refused: the MTU, the limit and the fix named.
ip link set dev "$P" mtu 9000
refused "jumbo MTU without AF_XDP multi-buffer" 1 \
	"AF_XDP socket for --primary-in $P: Invalid argument with XDP_USE_SG: this kernel or driver has no AF_XDP multi-buffer, which MTU 9000 needs .*set the MTUs of $P and $S to 1774 or less ('ip link set dev NAME mtu 1774'), or run Linux 6.6 or later" \
	"$T_BUILD/no-xdp-sg" "$COLO_XDP" run "${IFS3[@]}"
ip link set dev "$P" mtu 1500
refused "bad --on-loader-loss" 2 "--on-loader-loss: 'wait' is neither pass nor hold" \
	"$COLO_XDP" run "${IFS3[@]}" --on-loader-loss wait
refused "bad --mirror" 2 "--mirror: 'yes' is neither on nor off" \
	"$COLO_XDP" run "${IFS3[@]}" --mirror yes
refused "--vm-mac not a MAC" 2 \
	"--vm-mac: '02:00:00:00:01' is not a MAC address: give six pairs of hex digits" \
	"$COLO_XDP" run "${IFS3[@]}" --vm-mac 02:00:00:00:01
refused "--vm-mac broadcast" 2 \
	"--vm-mac: ff:ff:ff:ff:ff:ff is a broadcast or multicast address, not a VM's: give the MAC of the primary VM's interface" \
	"$COLO_XDP" run "${IFS3[@]}" --vm-mac ff:ff:ff:ff:ff:ff
refused "--vm-mac with --mirror off" 2 \
	"--vm-mac is the mirror's, and --mirror off turns it off: give one of them" \
	"$COLO_XDP" run "${IFS3[@]}" --mirror off --vm-mac 02:00:00:00:00:01
refused "--watchdog-ms too short" 2 "--watchdog-ms" \
	"$COLO_XDP" run "${IFS3[@]}" --watchdog-ms 1
refused "empty --control" 2 "--control needs a file name" \
	"$COLO_XDP" run "${IFS3[@]}" --control ""
refused "bad --notify" 1 "--notify" \
	"$COLO_XDP" run "${IFS3[@]}" --notify xen:udp:1.2.3.4:5
refused "--notify of no known kind" 2 \
	"--notify tcp:1.2.3.4:5: expected xen:tcp:ADDR:PORT, xen:unix:PATH, qmp:unix:PATH or qmp:tcp:ADDR:PORT" \
	"$COLO_XDP" run "${IFS3[@]}" --notify tcp:1.2.3.4:5
refused "bad --notify qmp:" 1 \
	"--notify qmp:udp:1.2.3.4:5: expected qmp:unix:PATH or qmp:tcp:ADDR:PORT" \
	"$COLO_XDP" run "${IFS3[@]}" --notify qmp:udp:1.2.3.4:5
refused "--control where a file is" 1 "$T_TMP/file" \
	bash -c 'touch "$1" && exec "${@:2}" --control "$1"' _ "$T_TMP/file" \
	"$COLO_XDP" run "${IFS3[@]}"
refused "--mismatch-dump where it cannot be written" 1 \
	"--mismatch-dump: $T_TMP/none/mm.pcap: cannot create it" \
	"$COLO_XDP" run "${IFS3[@]}" --mismatch-dump "$T_TMP/none/mm.pcap"

# The mirror's place taken by a filter of another kind: refused after
# colo_steer and the sockets are set up, which must all go again, while
# that filter and its qdisc stay.
tc qdisc add dev "$O" ingress
tc filter add dev "$O" ingress pref 1 protocol all u32 match u32 0 0
out=$("$COLO_XDP" run "${IFS3[@]}" 2>&1)
rc=$?
t_check "a u32 filter at the mirror's priority: exit 1, the filter named, and the fix" \
	bash -c '(($1 == 1)) && grep -q "$2: a tc filter of kind u32 holds priority 1 on its ingress.*or mirror by other means with --mirror off" <<<"$3"' \
	_ "$rc" "$O" "$out"
t_check "a u32 filter at the mirror's priority: it stays, nothing else is left" \
	bash -c 'tc filter show dev "$1" ingress | grep -q "pref 1 u32" &&
		 ! ip -d link show dev "$2" | grep -q prog/xdp &&
		 test ! -e "/sys/fs/bpf/colo-xdp/$2"' _ "$O" "$P"
tc qdisc del dev "$O" ingress

out=$("$COLO_XDP" keep /sys/fs/bpf/colo-xdp/$P 5 2>&1)
rc=$?
t_check "colo-xdp keep by hand: exit 2, only 'colo-xdp run' starts one" \
	bash -c '(($1 == 2)) && grep -q "only .colo-xdp run. starts a keeper" <<<"$2"' \
	_ "$rc" "$out"

out=$("$COLO_XDP" run --help)
t_check "--help names every flag and exits 0" \
	bash -c 'for f in --stats-interval --notify --control \
		--on-checkpoint-request --mismatch-dump --watchdog-ms \
		--on-loader-loss --mirror --vm-mac; do grep -q -- "$f" <<<"$1" || exit 1; done' \
	_ "$out"

t_done
