# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# What the suites of the whole proxy share (source it after lib.sh and
# tools/colo-netns.sh, once cn_pair_topology has built the namespaces):
# starting `colo-xdp run` and `colo-xdp secondary` as a pair, the HTTP
# service both replicas run, and downloads checked byte for byte.

# sec_topology: cn_pair_topology, the client's transmit checksum offload
# off (AF_XDP copy mode leaves partial checksums unfilled on the way to
# the replicas); the suite ends there, failed, if it cannot be built.
sec_topology() {
	if ! cn_pair_topology "$T_PREFIX" ||
		! ip netns exec "$CN_CLI" ethtool -K eth0 tx off >/dev/null; then
		t_fail "build the namespaces"
		t_done
	fi
}

# python3 -c "$SEC_HTTPD" DIR: python3's http.server on port 8080 serving
# DIR. The replicas answer within microseconds of each other, but a
# one-second Date: header straddles a second boundary now and then, a
# real difference the comparator rightly reports: pinned. /slow/F sends F
# in 32 KiB writes 50 ms apart, so that a transfer is still under way in
# the server, not only in the client's receive buffer.
SEC_HTTPD='import functools, http.server, os, sys, time
class H(http.server.SimpleHTTPRequestHandler):
    def date_time_string(self, timestamp=None):
        return "Thu, 01 Jan 2026 00:00:00 GMT"
    def log_message(self, *args):
        pass
    def do_GET(self):
        if not self.path.startswith("/slow/"):
            return super().do_GET()
        data = open(os.path.join(sys.argv[1], self.path[6:]), "rb").read()
        self.send_response(200)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        for i in range(0, len(data), 32768):
            self.wfile.write(data[i:i + 32768])
            time.sleep(0.05)
http.server.ThreadingHTTPServer(("0.0.0.0", 8080),
    functools.partial(H, directory=sys.argv[1])).serve_forever()'

# sec_start [RUN FLAGS...] -- [AGENT FLAGS...]: colo-xdp run on the
# primary host (its own mirror; the client has a static neighbour entry,
# so it sends no ARP that the guest would answer and run learn its MAC
# from: named) and colo-xdp secondary in the secondary host's namespace
# (nsenter, not ip netns exec: the agent pins in the host's bpffs). Sets
# RUN, AGENT (pids), RUN_LOG, SEC_LOG and PINS; false, saying why, if
# either does not start.
sec_start() {
	local run_flags=()
	while (($#)) && [[ $1 != -- ]]; do
		run_flags+=("$1")
		shift
	done
	shift
	RUN_LOG=$T_TMP/run.log
	SEC_LOG=$T_TMP/secondary.log
	PINS=/sys/fs/bpf/colo-xdp/secondary-$CN_V
	t_bg "$COLO_XDP" run --primary-in "$CN_P" --secondary-in "$CN_S" \
		--outdev "$CN_O" --vm-mac "$CN_GUEST_MAC" "${run_flags[@]}" \
		>"$RUN_LOG" 2>&1
	RUN=$T_LAST_PID
	t_bg nsenter --net="/run/netns/$CN_SH" "$COLO_XDP" secondary \
		--vm "$CN_V" --link "$CN_L" "$@" >"$SEC_LOG" 2>&1
	AGENT=$T_LAST_PID
	if ! cn_wait_log "$RUN_LOG" "^comparing" ||
		! cn_wait_log "$SEC_LOG" "^rewriting"; then
		echo "# $(cat "$RUN_LOG" "$SEC_LOG")"
		return 1
	fi
}

# sec_fetch N PATH WANT [CURL FLAGS...]: N downloads of
# http://GUEST:8080/PATH at once; each must be the file WANT, byte for byte
sec_fetch() {
	local i n=$1 path=$2 want=$3 pids=() ok=0
	shift 3
	for ((i = 0; i < n; i++)); do
		ip netns exec "$CN_CLI" curl -sS -m 30 "$@" \
			-o "$T_TMP/dl$i" "http://$CN_GUEST_IP:8080/$path" &
		pids+=($!)
	done
	for ((i = 0; i < n; i++)); do
		wait "${pids[i]}" && cmp -s "$want" "$T_TMP/dl$i" &&
			ok=$((ok + 1))
		rm -f "$T_TMP/dl$i"
	done
	((ok == n))
}

# sec_requests CTL...: checkpoint requests of every reason, and
# mismatches, so far, from run's `ctl stats`
sec_requests() {
	python3 -c 'import json, sys
e = json.loads(sys.argv[1])
print(sum(v for k, v in e.items() if k.startswith("ckpt_") and
	  k not in ("ckpt_coalesced", "ckpt_repeats", "ckpt_logged")) +
      e["mismatches"])' "$("$@" stats --json)"
}

# python3 -c "$SEC_UPLOAD": on port 9000, reads each connection to its
# end and answers the SHA-256 of what it got, then closes; a thread per
# connection.
SEC_UPLOAD='import hashlib, socket, threading
def serve(c):
    h = hashlib.sha256()
    while d := c.recv(65536):
        h.update(d)
    c.sendall(h.hexdigest().encode())
    c.close()
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", 9000))
s.listen(64)
while True:
    threading.Thread(target=serve, args=(s.accept()[0],)).start()'

# python3 -c "$SEC_SEND" GUEST FILE: FILE to the upload service, then
# half-closes (the client's FIN first); true if the answer is its digest.
SEC_SEND='import hashlib, socket, sys
data = open(sys.argv[2], "rb").read()
s = socket.create_connection((sys.argv[1], 9000), timeout=20)
s.sendall(data)
s.shutdown(socket.SHUT_WR)
got = b""
while d := s.recv(4096):
    got += d
sys.exit(got.decode() != hashlib.sha256(data).hexdigest())'

# sec_upload N FILE: N uploads of FILE at once, each answered right
sec_upload() {
	local i pids=() ok=0
	for ((i = 0; i < $1; i++)); do
		ip netns exec "$CN_CLI" python3 -c "$SEC_SEND" \
			"$CN_GUEST_IP" "$2" &
		pids+=($!)
	done
	for ((i = 0; i < $1; i++)); do
		wait "${pids[i]}" && ok=$((ok + 1))
	done
	((ok == $1))
}

# sec_listening PORT...: every port listens in both replicas
sec_listening() {
	local ns p
	for ns in "$CN_PRI" "$CN_SEC"; do
		for p in "$@"; do
			ip netns exec "$ns" ss -tln | grep -q ":$p " || return 1
		done
	done
}

# sec_serve: WWW ($T_TMP/www) with a 1 MiB file.bin, served by SEC_HTTPD,
# and SEC_UPLOAD, in both replicas; a check that they listen.
sec_serve() {
	WWW=$T_TMP/www
	mkdir -p "$WWW"
	head -c 1048576 /dev/urandom >"$WWW/file.bin"
	for ns in "$CN_PRI" "$CN_SEC"; do
		t_bg ip netns exec "$ns" python3 -c "$SEC_HTTPD" "$WWW"
		t_bg ip netns exec "$ns" python3 -c "$SEC_UPLOAD"
	done
	t_check "HTTP and upload services listen in both replicas" \
		cn_wait_cmd sec_listening 8080 9000
}
