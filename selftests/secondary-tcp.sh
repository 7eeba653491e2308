#!/bin/bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# The whole proxy at scale and under loss, on real TCP stacks
# (tools/colo-netns.sh: cn_pair_topology): 100 sequential and 20 parallel
# downloads and uploads of 1 MiB: no checkpoint request for the
# downloads, no mismatch and only the rare timeout for the uploads, the
# client's segments in order into the primary (cn_flow_order); FIN from
# either side and RST; then loss on the client's side (a tc-BPF drop
# program on clsact: this kernel has no netem), where SACK recovers and
# the checkpoint requests are counted by reason.
. "$(dirname "$0")/lib.sh"
. "$T_TOP/tools/colo-netns.sh"
. "$T_TOP/selftests/lib-e2e.sh"
. "$T_TOP/selftests/lib-secondary.sh"
CN_ON_EXIT=t_on_exit
t_skip_unless_root

sec_topology

RUN_CTL=$T_TMP/run.sock
RCTL=("$COLO_XDP" ctl --control "$RUN_CTL")
# a controller: every request answered at once, as a COLO controller
# would after its checkpoint (in the lab that copies nothing)
if ! sec_start --control "$RUN_CTL" \
	--on-checkpoint-request "'$COLO_XDP' ctl --control '$RUN_CTL' checkpoint-done >/dev/null" --; then
	t_fail "colo-xdp run and secondary start"
	t_done
fi
t_ok "colo-xdp run and colo-xdp secondary start"
ACTL_STATS() {
	nsenter --net="/run/netns/$CN_SH" "$COLO_XDP" stat --json 2>/dev/null
}
# a NAME: one of the agent's counters, from `colo-xdp stat --json`
a() {
	python3 -c 'import json, sys
d = json.loads(sys.argv[1])
s = [i for i in d["secondaries"] if i["pin_path"] == sys.argv[2]][0]
print({**s["rewrite"], **s["sweep"]}[sys.argv[3]])' "$(ACTL_STATS)" "$PINS" "$1"
}
# r NAME: one of run's counters
r() { json_get "$("${RCTL[@]}" stats --json)" "$1"; }

sec_serve
echo small >"$WWW/small.txt"

# reasons: each kind of request, and mismatches, before and after
reasons() {
	python3 -c 'import json, sys
e = json.loads(sys.argv[1])
print(" ".join("%s=%d" % (k, v) for k, v in sorted(e.items())
	       if k.startswith("ckpt_") or k == "mismatches"))' \
		"$("${RCTL[@]}" stats --json)"
}
sequential() {
	local i
	for ((i = 0; i < $1; i++)); do
		"${@:2}" || {
			echo "# round $i failed"
			return 1
		}
	done
}
ms() { echo $(($(date +%s%N) / 1000000)); }
t0=$(ms)
t_check "100 sequential downloads of 1 MiB, byte for byte" \
	sequential 100 sec_fetch 1 file.bin "$WWW/file.bin"
t1=$(ms)
t_check "20 parallel downloads of 1 MiB, byte for byte" \
	sec_fetch 20 file.bin "$WWW/file.bin"
t2=$(ms)
t_check "downloads: no checkpoint request, no mismatch" \
	test "$(sec_requests "${RCTL[@]}")" = 0
# pri_ofo: segments the primary replica's stack queued out of order
pri_ofo() {
	ip netns exec "$CN_PRI" nstat -az TcpExtTCPOFOQueue |
		awk '/TCPOFOQueue/ { print $2 }'
}
ofo0=$(pri_ofo)
t_check "100 sequential uploads of 1 MiB, each answered with its digest" \
	sequential 100 sec_upload 1 "$WWW/file.bin"
t3=$(ms)
echo "# requests after the sequential uploads: $(sec_requests "${RCTL[@]}")"
t_check "20 parallel uploads of 1 MiB, each answered with its digest" \
	sec_upload 20 "$WWW/file.bin"
t4=$(ms)
ofo=$(($(pri_ofo) - ofo0))
t_check "uploads: the primary replica got the client's segments in order ($ofo out of order)" \
	test "$ofo" = 0
echo "# requests: $(reasons)"
echo "# ms: 100 downloads $((t1 - t0)), 20 parallel $((t2 - t1)), 100 uploads $((t3 - t2)), 20 parallel $((t4 - t3))"
# What made uploads ask for checkpoints is gone from the lab
# (cn_secondary_host); one timeout in 440 uploads remained, its cause not
# caught in a capture (README, "Scale and loss"). A mismatch, or any
# request but a timeout, would be wrong
t_check "uploads: no mismatch, every request a timeout ($(r ckpt_timeout))" \
	test "$(sec_requests "${RCTL[@]}") $(r mismatches)" = "$(r ckpt_timeout) 0"
t_check "the agent learned all 240 connections, none refused, no table full" \
	test "$(a learned_accepted) $(a learn_refused) $(a table_full)" = \
	"240 0 0"

# FIN from either side, with nothing else going on: http.server closes
# first (the server's FIN), the upload's client half-closes first (the
# client's FIN); each closes its entry
# An upload's ACK held by the ACK rule asks for its checkpoint only when
# --compare-timeout runs out: count from when nothing is held any more.
settled() {
	[[ "$(r queued_primary) $(r queued_secondary)" == "0 0" ]]
}
cn_wait_cmd settled || echo "# frames still held: $(reasons)"
closed0=$(a closed)
req0=$(sec_requests "${RCTL[@]}")
fins() {
	sequential 5 sec_fetch 1 small.txt "$WWW/small.txt" &&
		sequential 5 sec_upload 1 "$WWW/small.txt"
}
t_check "FIN from the server (5 downloads) and from the client (5 uploads), answers right" \
	fins
t_check "FIN from either side: 10 entries closed ($(($(a closed) - closed0))), no checkpoint request" \
	test "$(($(a closed) - closed0)) $(sec_requests "${RCTL[@]}")" = "10 $req0"

# RST from the client (SO_LINGER 0 on close) once it has the whole
# answer: both replicas sent it all, so nothing is left unmatched (a RST
# mid-answer leaves what one replica sent past the other's last byte
# unmatched: a timeout request, rightly)
RST_CLIENT='import socket, struct, sys
s = socket.create_connection((sys.argv[1], 8080), timeout=10)
s.sendall(b"GET /small.txt HTTP/1.0\r\n\r\n")
got = b""
while d := s.recv(65536):
    got += d
s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
s.close()
sys.exit(not got.endswith(b"small\n"))'
closed_before=$(a closed)
rst_ok=0
for i in 1 2 3; do
	ip netns exec "$CN_CLI" python3 -c "$RST_CLIENT" "$CN_GUEST_IP" &&
		rst_ok=$((rst_ok + 1))
done
sleep 1
t_check "RST from the client: 3 answers whole, closed in the table, no checkpoint request" \
	test "$rst_ok $(($(a closed) - closed_before)) $(sec_requests "${RCTL[@]}")" = "3 3 $req0"
t_check "after the RSTs: a download, byte for byte" \
	sec_fetch 1 file.bin "$WWW/file.bin"

# --- loss on the client's side: a tc-BPF program on the client's eth0
# drops 2% of the frames each way (bpf_get_prandom_u32)
DROP_C='#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
SEC("tc") int drop(struct __sk_buff *skb)
{
	return bpf_get_prandom_u32() % 1000 < PERMILLE ? 2 : 0;
}
char LICENSE[] SEC("license") = "GPL";'
echo "$DROP_C" >"$T_TMP/drop.c"
if ! clang -O2 -g -target bpf -I"$T_TOP" -DPERMILLE=20 -c "$T_TMP/drop.c" \
	-o "$T_TMP/drop.o" 2>"$T_TMP/drop.err"; then
	t_skip "loss: the drop program does not build: $(cat "$T_TMP/drop.err")"
	t_done
fi
ip netns exec "$CN_CLI" tc qdisc add dev eth0 clsact &&
	ip netns exec "$CN_CLI" tc filter add dev eth0 ingress bpf da \
		obj "$T_TMP/drop.o" sec tc &&
	ip netns exec "$CN_CLI" tc filter add dev eth0 egress bpf da \
		obj "$T_TMP/drop.o" sec tc
t_check "loss: the drop program on the client's eth0, both ways" \
	bash -c "ip netns exec $CN_CLI tc filter show dev eth0 egress | grep -q drop"
sack_before=$(ip netns exec "$CN_PRI" nstat -az TcpExtTCPSackRecovery |
	awk '/TCPSackRecovery/ { print $2 }')
before=$(sec_requests "${RCTL[@]}")
t_check "loss: 20 sequential downloads of 1 MiB, byte for byte" \
	sequential 20 sec_fetch 1 file.bin "$WWW/file.bin"
t_check "loss: 5 parallel downloads of 1 MiB, byte for byte" \
	sec_fetch 5 file.bin "$WWW/file.bin"
t_check "loss: 10 sequential uploads of 1 MiB, each answered right" \
	sequential 10 sec_upload 1 "$WWW/file.bin"
t_check "loss: 5 parallel uploads of 1 MiB, each answered right" \
	sec_upload 5 "$WWW/file.bin"
sack=$(ip netns exec "$CN_PRI" nstat -az TcpExtTCPSackRecovery |
	awk '/TCPSackRecovery/ { print $2 }')
t_check "loss: the primary recovered with SACK ($((sack - sack_before)) times)" \
	test "$((sack - sack_before))" -gt 0
after=$(sec_requests "${RCTL[@]}")
echo "# loss: $((after - before)) checkpoint requests and mismatches: $(reasons)"
echo "# loss: the agent: sack_wrapped $(a sack_wrapped) sack_outside $(a sack_outside) not_learned $(a not_learned) untracked $(a untracked) epoch-stale $(a expired_stale)"
tsecr=$(ip netns exec "$CN_SEC" nstat -az TcpExtTSEcrRejected |
	awk '/TSEcrRejected/ { print $2 }')
t_check "loss: the secondary's stack rejected no timestamp echo (${tsecr:-?})" \
	test "${tsecr:-x}" = 0

t_done
