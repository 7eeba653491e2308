#!/bin/bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# The whole proxy on one machine (`make demo-pair`, as root): curl through
# a colo-xdp pair. `colo-xdp run` on the primary host (the root namespace)
# and `colo-xdp secondary` on a secondary host of its own (a namespace),
# real HTTP servers in both replicas (python3's http.server), the same
# MAC and IP address. A download through the pair; then a file the
# replicas differ on: the mismatch, the checkpoint a controller answers,
# which reaches the agent as a frame on the link and clears its offsets;
# the counters of both; last the primary host goes away mid-download and
# the agent fails over: the download completes from the secondary.
# Everything made here is removed on exit, whatever happens.
. "$(dirname "$0")/demo-lib.sh"
RCTL=("$COLO_XDP" ctl --control "$DIR/run.sock")
ACTL=("$COLO_XDP" ctl --control "$DIR/agent.sock")
# the test suites' HTTP server (pinned Date:, /slow/F paced)
T_TMP=$DIR
. "$TOP/selftests/lib-secondary.sh"

demo_bg() {
	"$@" &
	demo_on_exit "kill $!"
}

step "namespaces: client, primary replica, secondary host with the secondary replica"
cn_pair_topology "cxdp$$" || exit 1
ip netns exec "$CN_CLI" ethtool -K eth0 tx off >/dev/null
FO=cxdp$$f
ip -n "$CN_SH" link add "$FO" type veth peer name fc netns "$CN_CLI" &&
	ip -n "$CN_CLI" link set fc address "$CN_CLIENT_MAC" &&
	ip netns exec "$CN_CLI" ethtool -K fc tx off >/dev/null &&
	ip -n "$CN_CLI" link set fc up && ip -n "$CN_SH" link set "$FO" up ||
	exit 1
for d in pri sec; do
	mkdir -p "$DIR/www-$d"
	echo "the $d replica's own answer" >"$DIR/www-$d/differ.txt"
done
head -c 1048576 /dev/urandom >"$DIR/www-pri/file.bin"
cp "$DIR/www-pri/file.bin" "$DIR/www-sec/file.bin"
demo_bg ip netns exec "$CN_PRI" python3 -c "$SEC_HTTPD" "$DIR/www-pri"
demo_bg ip netns exec "$CN_SEC" python3 -c "$SEC_HTTPD" "$DIR/www-sec"

TOKEN=$(od -An -tx8 -N8 /dev/urandom | tr -d ' ')
step "colo-xdp run --primary-in $CN_P --secondary-in $CN_S --outdev $CN_O --control run.sock --pair-token ..."
demo_bg "$COLO_XDP" run --primary-in "$CN_P" --secondary-in "$CN_S" \
	--outdev "$CN_O" --vm-mac "$CN_GUEST_MAC" --control "$DIR/run.sock" \
	--pair-token "$TOKEN" >"$DIR/run.log" 2>&1
RUN=$!
step "colo-xdp secondary --vm $CN_V --link $CN_L --failover-out $FO --control agent.sock --pair-token ... (in $CN_SH)"
demo_bg nsenter --net="/run/netns/$CN_SH" "$COLO_XDP" secondary --vm "$CN_V" \
	--link "$CN_L" --failover-out "$FO" --control "$DIR/agent.sock" \
	--pair-token "$TOKEN" >"$DIR/secondary.log" 2>&1
cn_wait_log "$DIR/run.log" "^comparing" &&
	cn_wait_log "$DIR/secondary.log" "^rewriting" &&
	cn_wait_cmd sec_listening 8080 || {
	cat "$DIR/run.log" "$DIR/secondary.log"
	exit 1
}

step "client: curl http://$CN_GUEST_IP:8080/file.bin (1 MiB)"
ip netns exec "$CN_CLI" curl -sS -o "$DIR/got.bin" -w '%{http_code} %{size_download} bytes in %{time_total} s\n' \
	"http://$CN_GUEST_IP:8080/file.bin"
cmp -s "$DIR/got.bin" "$DIR/www-pri/file.bin" && echo "byte for byte the primary's file"
"${RCTL[@]}" stats | grep -E '^(mismatches|ckpt_mismatch|released) '
"${ACTL[@]}" stats | grep -E '^(learned_accepted|seqs_mapped|acks_mapped) '

step "client: curl http://$CN_GUEST_IP:8080/differ.txt, which the replicas answer differently"
ip netns exec "$CN_CLI" curl -sS -m 20 "http://$CN_GUEST_IP:8080/differ.txt" &
CURL=$!
cn_wait_cmd bash -c "${RCTL[*]} status | grep -q 'checkpoint_pending *true'"
"${RCTL[@]}" status | grep -E '^checkpoint'
step "controller: colo-xdp ctl checkpoint-done (to run, until the answer is out)"
while kill -0 "$CURL" 2>/dev/null; do
	"${RCTL[@]}" status | grep -q 'checkpoint_pending *true' &&
		"${RCTL[@]}" checkpoint-done >/dev/null
	sleep 0.1
done
"${RCTL[@]}" stats | grep -E '^(mismatches|pair_checkpoints) '
echo "the agent (told by a frame on the link):"
"${ACTL[@]}" stats | grep -E '^(pair_checkpoints|pair_duplicates|pair_refused|epoch) '

step "the primary host goes away mid-download; the client is re-routed; colo-xdp ctl failover on the agent"
ip netns exec "$CN_CLI" curl -sS -m 60 -o "$DIR/fo.bin" -w '%{http_code} %{size_download} bytes in %{time_total} s\n' \
	"http://$CN_GUEST_IP:8080/slow/file.bin" &
CURL=$!
sleep 0.6
kill -TERM "$RUN"
wait "$RUN" 2>/dev/null
ip -n "$CN_PRI" link set eth0 down
ip -n "$CN_CLI" route add "$CN_GUEST_IP/32" dev fc
ip -n "$CN_CLI" neigh replace "$CN_GUEST_IP" lladdr "$CN_GUEST_MAC" dev fc nud permanent
"${ACTL[@]}" failover
wait "$CURL"
cmp -s "$DIR/fo.bin" "$DIR/www-pri/file.bin" && echo "byte for byte, the rest from the secondary"
"${ACTL[@]}" stats | grep -E '^(to_failover|failover_untracked|seqs_mapped) '
"${ACTL[@]}" status
