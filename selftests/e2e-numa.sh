#!/bin/bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# The UMEM's memory flags on real traffic: the policy colo-xdp reports at
# start and in `colo-xdp stat` is the one the kernel shows for the UMEM
# mapping in numa_maps, the
# pages are where it says, the UMEM stays out of core dumps unless --dump,
# a hugepage-backed UMEM carries traffic, and a missing hugepage reserve is
# refused with the sysctl to raise. The placement of pages across several
# nodes is proven in a two-node VM (make check-numa); this machine has one.
. "$(dirname "$0")/lib.sh"
. "$T_TOP/tools/colo-netns.sh"
CN_ON_EXIT=t_on_exit
VMSEND=$T_BUILD/colo-vmsend
NR_HUGE=/proc/sys/vm/nr_hugepages
t_skip_unless_root

cn_veth_topology "$T_PREFIX" || {
	t_fail "build the namespaces"
	t_done
}

# The numa_maps line of the UMEM: the one mapping of SIZE_KB anonymous
# (or hugetlb) memory the process has, found by its address range.
umem_maps_line() {
	local pid=$1 size=$2 start end
	while IFS=' -' read -r start end _; do
		if (($((16#$end)) - $((16#$start)) == size)); then
			grep "^$start " "/proc/$pid/numa_maps"
			return
		fi
	done <"/proc/$pid/maps"
	return 1
}

umem_smaps_flags() {
	local pid=$1 size=$2 start end
	while IFS=' -' read -r start end _; do
		if (($((16#$end)) - $((16#$start)) == size)); then
			awk -v a="$start" '$1 ~ "^"a"-" {on=1} on && /^VmFlags/ {print; exit}' \
				"/proc/$pid/smaps"
			return
		fi
	done <"/proc/$pid/maps"
	return 1
}

# run_and_compare NAME FLAGS...: start colo-xdp with FLAGS, send a UDP
# stream from both replicas, check the client got the primary's frames in
# order; leaves colo-xdp running (RUN_PID) for the caller's checks.
run_and_compare() {
	local name=$1 sport=$((5000 + RANDOM % 1000))
	shift
	: >"$T_TMP/$name.log"
	t_bg "$COLO_XDP" run --primary-in "$CN_P" --secondary-in "$CN_S" \
		--outdev "$CN_O" "$@" >"$T_TMP/$name.log" 2>&1
	RUN_PID=$T_LAST_PID
	if ! cn_wait_log "$T_TMP/$name.log" "^comparing"; then
		t_fail "$name: colo-xdp starts"
		cat "$T_TMP/$name.log"
		return 1
	fi
	cn_capture_start "$CN_CLI" eth0 "$T_TMP/$name-cli.pcap"
	ip netns exec "$CN_PRI" "$VMSEND" --dev eth0 --proto udp --count 300 \
		--size 200 --sport "$sport" --write "$T_TMP/$name-pri.pcap"
	ip netns exec "$CN_SEC" "$VMSEND" --dev eth0 --proto udp --count 300 \
		--size 200 --sport "$sport"
	cn_wait_frames "$T_TMP/$name-cli.pcap" 300 "$CN_GUEST_MAC"
	cn_capture_stop "$CN_CAP_PID"
	t_check "$name: the client gets the primary's 300 frames, in order" \
		cmp -s <(cn_frames "$T_TMP/$name-pri.pcap") \
		<(cn_frames "$T_TMP/$name-cli.pcap" "$CN_GUEST_MAC")
}

stop_run() {
	kill -TERM "$RUN_PID"
	wait "$RUN_PID"
	t_check "$1: colo-xdp stops with status 0" test $? -eq 0
}

# 1. bind to node 0, preallocated by two threads
SIZE=$((64 << 20))
if run_and_compare bind --numa-policy bind --host-nodes 0 --prealloc \
	--prealloc-threads 2 --umem-size 64M; then
	t_check "bind: the report at start names the policy in force" \
		grep -q "^umem: 64 MiB in 4 KiB pages, --numa-policy bind, in force: bind 0" \
		"$T_TMP/bind.log"
	line=$(umem_maps_line "$RUN_PID" "$SIZE")
	t_check "bind: numa_maps shows bind:0 on the UMEM mapping" \
		grep -q " bind:0 " <<<"$line"
	t_check "bind: every UMEM page is on node 0 (N0=16384)" \
		grep -q " N0=16384" <<<"$line"
	t_check "bind: the UMEM is excluded from core dumps (VmFlags dd)" \
		grep -qw dd <<<"$(umem_smaps_flags "$RUN_PID" "$SIZE")"
	t_check "bind: colo-xdp stat shows the policy in force and the pages" \
		grep -q "^  umem: 64 MiB in 4 KiB pages, --numa-policy bind, in force: bind 0; N0=16384 " \
		<<<"$("$COLO_XDP" stat --pin-path "/sys/fs/bpf/colo-xdp/$CN_P")"
	t_check "bind: colo-xdp stat --json has them too" \
		python3 -c 'import json, sys
u = json.loads(sys.stdin.read())["instances"][0]["umem"]
sys.exit(not (u["mode"] == "bind" and u["nodes"] == "0" and
	      u["pages_on_node"] == {"0": 16384} and u["dump"] is False))' \
		<<<"$("$COLO_XDP" stat --pin-path "/sys/fs/bpf/colo-xdp/$CN_P" --json)"
	stop_run bind
fi

# 2. --dump keeps it in core dumps
if run_and_compare dump --umem-size 64M --dump; then
	flags=$(umem_smaps_flags "$RUN_PID" "$SIZE")
	t_check "dump: with --dump the UMEM is in core dumps (no dd)" \
		bash -c "[[ -n '$flags' ]] && ! grep -qw dd <<<'$flags'"
	stop_run dump
fi

# 3 and 4 set the 2 MiB huge page reserve: a kernel without huge pages,
# or a read-only /proc/sys, cannot run them
HUGE_2M=/sys/kernel/mm/hugepages/hugepages-2048kB
HUGE_MISSING=
if [[ ! -e $NR_HUGE || ! -d $HUGE_2M ]]; then
	HUGE_MISSING="this kernel has no 2 MiB huge pages (no $NR_HUGE or $HUGE_2M)"
elif [[ ! -w $NR_HUGE ]]; then
	HUGE_MISSING="$NR_HUGE cannot be written here (read-only /proc/sys)"
fi

# 3. no huge pages reserved: refused, naming the sysctl; nothing left
if [[ -n $HUGE_MISSING ]]; then
	t_skip "hugepages: with none reserved, colo-xdp refuses: $HUGE_MISSING"
else
	old_huge=$(cat "$NR_HUGE")
	t_on_exit "echo $old_huge > $NR_HUGE"
	echo 0 >"$NR_HUGE"
	"$COLO_XDP" run --primary-in "$CN_P" --secondary-in "$CN_S" \
		--outdev "$CN_O" --hugepages=2M --umem-size 64M \
		>"$T_TMP/nohuge.log" 2>&1
	rc=$?
	t_check "hugepages: with none reserved, colo-xdp exits non-zero" \
		test $rc -ne 0
	t_check "hugepages: the error names vm.nr_hugepages and the 32 pages needed" \
		bash -c "grep -q 'nr_hugepages' '$T_TMP/nohuge.log' &&
			 grep -qw 32 '$T_TMP/nohuge.log'"
	t_check "hugepages: nothing is left attached after the refusal" \
		bash -c "! ip -d link show dev $CN_P | grep -q prog/xdp &&
			 ! ip -d link show dev $CN_S | grep -q prog/xdp"
fi

# 4. hugepage-backed, interleaved UMEM carries traffic: the 32 pages of
# 2 MiB it needs must be free once reserved (the kernel reserves fewer
# when memory is too fragmented)
if [[ -z $HUGE_MISSING ]]; then
	echo $((old_huge + 40)) >"$NR_HUGE"
	huge_free=$(($(cat "$HUGE_2M/free_hugepages") -
		$(cat "$HUGE_2M/resv_hugepages")))
fi
if [[ -n $HUGE_MISSING ]]; then
	t_skip "huge: a hugepage-backed UMEM carries traffic: $HUGE_MISSING"
elif ((huge_free < 32)); then
	t_skip "huge: a hugepage-backed UMEM carries traffic: vm.nr_hugepages" \
		"set to $((old_huge + 40)) leaves $huge_free 2 MiB huge pages" \
		"free, the 64 MiB UMEM needs 32 (the kernel could not reserve" \
		"more: memory too fragmented?)"
elif run_and_compare huge --hugepages=2M --umem-size 64M \
	--numa-policy interleave --host-nodes 0 --prealloc; then
	line=$(umem_maps_line "$RUN_PID" "$SIZE")
	t_check "huge: numa_maps shows interleave:0 on a hugetlb UMEM" \
		bash -c "grep -q ' interleave:0 ' <<<'$line' &&
			 grep -q ' huge ' <<<'$line'"
	t_check "huge: the report at start says 2 MiB pages" \
		grep -q "^umem: 64 MiB in 2 MiB pages" "$T_TMP/huge.log"
	stop_run huge
fi

t_done
