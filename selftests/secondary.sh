#!/bin/bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# The whole proxy on real TCP stacks: a client, the primary replica behind
# `colo-xdp run` (the root namespace is the primary host; run's own mirror
# copies the client's frames to S, as filter-mirror would), and the
# secondary replica
# behind a host of its own, where `colo-xdp secondary` forwards both ways
# and rewrites TCP (tools/colo-netns.sh: cn_pair_topology). The replicas
# carry the same MAC and IP address and run the same services; what the
# client gets must be right, and the comparator must never have asked for
# a checkpoint: every byte the secondary sent matched, which it can only
# if the rewriter mapped both directions of every connection.
. "$(dirname "$0")/lib.sh"
. "$T_TOP/tools/colo-netns.sh"
. "$T_TOP/selftests/lib-secondary.sh"
CN_ON_EXIT=t_on_exit
t_skip_unless_root

sec_topology

t_check "secondary --help describes its flags, exit 0" \
	bash -c "'$COLO_XDP' secondary --help | grep -q -- '--close-timeout MS'"

# two commands and nothing else: run mirrors the clients' frames itself
RCTL=("$COLO_XDP" ctl --control "$T_TMP/run.sock")
if ! sec_start --control "$T_TMP/run.sock" --; then
	t_fail "colo-xdp run and secondary start"
	t_done
fi
t_ok "colo-xdp run and colo-xdp secondary start"
t_check "secondary: colo_rw_in on the link (XDP), colo_rw_out on the VM's tc ingress" \
	bash -c "ip -n $CN_SH -d link show dev $CN_L |
			grep -q 'prog/xdp.*name colo_rw_in' &&
		 tc -n $CN_SH filter show dev $CN_V ingress |
			grep -q colo_rw_out"

# J: `colo-xdp stat --json`, read by snap; v EXPR: a value of it, EXPR
# Python on r (the run instance) and s (the agent)
snap() {
	J=$("$COLO_XDP" stat --json 2>/dev/null)
}
v() {
	python3 -c 'import json, sys
d = json.loads(sys.argv[3])
r = [i for i in d["instances"] if i["pin_path"].endswith("/" + sys.argv[2])]
s = [i for i in d["secondaries"] if i["pin_path"] == sys.argv[4]]
r = r[0] if r else None
s = s[0] if s else None
print(eval(sys.argv[1]))' "$1" "$CN_P" "$J" "$PINS"
}
# checkpoint requests of every reason, and mismatches, so far
requests() {
	snap
	v 'sum(v for k, v in r["engine"].items() if k.startswith("ckpt_") and k not in ("ckpt_coalesced", "ckpt_repeats")) + r["engine"]["mismatches"]'
}
snap
t_check "stat --json lists the agent, its interfaces and counters" \
	test "$(v 's["interfaces"]["vm"]["name"], s["interfaces"]["link"]["name"], s["running"], "to_vm" in s["rewrite"]')" = \
	"('$CN_V', '$CN_L', True, True)"

# --- HTTP: python3 -m http.server in both replicas, the same 1 MiB file
sec_serve

# fetch N: N downloads at once; each must be the file, byte for byte
fetch() { sec_fetch "$1" file.bin "$WWW/file.bin"; }
for i in 1 2 3; do
	t_check "HTTP: sequential download $i of 1 MiB, byte for byte" fetch 1
done
t_check "HTTP: 4 parallel downloads of 1 MiB, each byte for byte" fetch 4
t_check "HTTP: no checkpoint request, no mismatch" test "$(requests)" = 0

t_check "upload: 1 MiB to both replicas, each answers its digest" \
	sec_upload 1 "$WWW/file.bin"
t_check "upload: no checkpoint request, no mismatch" test "$(requests)" = 0

# --- the guests open a connection: to a server behind O, the client's
# namespace, 256 KiB each way. Both guests bind the same source port (the
# namespaces share the ephemeral port allocator; the VMs' would agree).
# SERVER PORT SHAFILE takes one connection; GUEST SERVER PORT SPORT [GO]
# connects once the file GO exists.
SERVER='import hashlib, socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", int(sys.argv[1])))
s.listen()
c, _ = s.accept()
got = b""
while len(got) < 262144 and (d := c.recv(65536)):
    got += d
open(sys.argv[2], "w").write(hashlib.sha256(got).hexdigest())
c.sendall(hashlib.sha256(got).digest() * 8192)
c.close()'
GUEST='import hashlib, os, socket, sys, time
while len(sys.argv) > 4 and not os.path.exists(sys.argv[4]):
    time.sleep(0.01)
s = socket.socket()
s.bind(("0.0.0.0", int(sys.argv[3])))
s.settimeout(20)
s.connect((sys.argv[1], int(sys.argv[2])))
req = bytes(range(256)) * 1024
s.sendall(req)
got = b""
while d := s.recv(65536):
    got += d
sys.exit(got != hashlib.sha256(req).digest() * 8192)'
REQ_SHA=$(python3 -c 'import hashlib
print(hashlib.sha256(bytes(range(256)) * 1024).hexdigest())')
# tracked SPORT: the rewriter has an entry for the guest's port
tracked() {
	bpftool map dump pinned "$PINS/colo_rw_conns" 2>/dev/null |
		grep -q "\"vport\": $1"
}
# syn_held: run's syn_held counter now, from its control socket (the
# pinned counters are published once a second), or nothing
syn_held() {
	"${RCTL[@]}" stats --json | grep -o '"syn_held":[0-9]*' | cut -d: -f2
}
# held_more N: run has held more than N primary SYNs
held_more() {
	local n
	n=$(syn_held)
	[[ -n $n ]] && ((n > $1))
}
# opened WHAT PORT SPORT FIRST: both guests open SPORT to the server on
# PORT, the FIRST one's SYN before the other's, each checked.
opened() {
	local what=$1 port=$2 sport=$3 first=$4 pri sec held
	held=$(syn_held)
	rm -f "$T_TMP/go"
	t_bg ip netns exec "$CN_CLI" python3 -c "$SERVER" "$port" \
		"$T_TMP/server-$port.sha"
	t_check "$what: the server listens behind O" cn_wait_cmd \
		bash -c "ip netns exec $CN_CLI ss -tln | grep -q ':$port '"
	if [[ $first == secondary ]]; then
		ip netns exec "$CN_SEC" python3 -c "$GUEST" "$CN_CLIENT_IP" \
			"$port" "$sport" &
		sec=$!
		T_PIDS+=("$sec")
		t_check "$what: the secondary's SYN is tracked" \
			cn_wait_cmd tracked "$sport"
	fi
	if [[ $first == primary ]]; then
		# started now, connecting only when told: no start-up delay
		ip netns exec "$CN_SEC" python3 -c "$GUEST" "$CN_CLIENT_IP" \
			"$port" "$sport" "$T_TMP/go" &
		sec=$!
		T_PIDS+=("$sec")
	fi
	ip netns exec "$CN_PRI" python3 -c "$GUEST" "$CN_CLIENT_IP" \
		"$port" "$sport" &
	pri=$!
	T_PIDS+=("$pri")
	if [[ $first == primary ]]; then
		t_check "$what: run holds the primary's SYN (syn_held ${held:-none} before)" \
			cn_wait_cmd held_more "${held:-0}"
		touch "$T_TMP/go"
	fi
	wait "$pri"
	t_check "$what: the primary gets the server's 256 KiB answer" \
		test $? -eq 0
	wait "$sec"
	t_check "$what: the secondary gets it too, through the rewriter" \
		test $? -eq 0
	t_check "$what: the server got the 256 KiB request whole" \
		test "$(cat "$T_TMP/server-$port.sha" 2>/dev/null)" = "$REQ_SHA"
	snap
	echo "# $(v "{k: x for k, x in r[\"engine\"].items() if k.startswith(\"ckpt\") or k in (\"mismatches\", \"syn_held\")}")"
	t_check "$what: no checkpoint request, no mismatch" \
		test "$(requests)" = 0
}
# The secondary's SYN first: the primary's, when it comes, leaves at once.
opened guest-opened 9100 45000 secondary
# The primary's SYN first, the secondary's connect only once run holds
# it: it leaves when the secondary's has come, so that the server's
# SYN-ACK reaches the secondary host after the rewriter tracked the
# secondary's SYN and can learn from it (without the hold it finds nothing
# to learn for, and the secondary diverges).
opened "guest-opened, the secondary's connect late" 9101 45001 primary

snap
t_check "rewriter: learned $(v 's["rewrite"]["learned_accepted"]') accepted and $(v 's["rewrite"]["learned_opened"]') opened connections, mapped both ways" \
	test "$(v 's["rewrite"]["learned_accepted"] >= 8 and s["rewrite"]["learned_opened"] == 2 and s["rewrite"]["acks_mapped"] > 0 and s["rewrite"]["seqs_mapped"] > 0')" = True
t_check "rewriter: no table full, no malformed frame, no refused learning" \
	test "$(v 's["rewrite"]["table_full"] + s["rewrite"]["malformed"] + s["rewrite"]["learn_refused"]')" = 0
tsecr=$(ip netns exec "$CN_SEC" nstat -az TcpExtTSEcrRejected |
	awk '/TSEcrRejected/ { print $2 }')
t_check "the secondary's stack rejected no timestamp echo (TSEcrRejected ${tsecr:-?})" \
	test "${tsecr:-x}" = 0

# A frame on the link not from the primary host's mirror: to a MAC
# address that is neither the VM's nor the link's. Dropped, counted.
cn_capture_start "$CN_SEC" eth0 "$T_TMP/foreign.pcap" udp port 9999 ||
	t_fail "capture"
FOREIGN='import socket, sys
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind((sys.argv[1], 0))
ip = bytes.fromhex("4500001c00000000401100000a0000020a000001")
udp = bytes.fromhex("270f270f00080000")
s.send(bytes.fromhex("020000000099020000000002" "0800") + ip + udp)'
before=$(v 's["rewrite"]["foreign"]')
python3 -c "$FOREIGN" "$CN_S"
counted() {
	snap
	(($(v 's["rewrite"]["foreign"]') > before))
}
t_check "a frame to another MAC address on the link: counted foreign" \
	cn_wait_cmd counted
sleep 0.2
cn_capture_stop "$CN_CAP_PID"
t_check "a frame to another MAC address on the link: never at the VM" \
	cn_none "$T_TMP/foreign.pcap" "udp port 9999"

kill -TERM "$AGENT"
wait "$AGENT"
t_check "SIGTERM: the agent exits with status 0" test $? -eq 0
t_check "SIGTERM: nothing left attached to the link or the VM's ingress" \
	bash -c "! ip -n $CN_SH -d link show dev $CN_L | grep -q prog/xdp &&
		 ! tc -n $CN_SH qdisc show dev $CN_V | grep -q clsact"
t_check "SIGTERM: nothing left pinned" test ! -e "$PINS"

t_done
