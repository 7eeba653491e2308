# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# What the end-to-end suites of the control plane check on a live
# `colo-xdp run` (source it after lib.sh and tools/colo-netns.sh): the same
# UDP stream from both replicas, what the client captured of it (tcpdump
# into $T_TMP/cli.pcap), and the control socket's replies. The suite sets
# CTL to the `colo-xdp ctl --control PATH` command as an array.

VMSEND=$T_BUILD/colo-vmsend

# json_get JSON KEY: one member of a reply.
json_get() {
	python3 -c 'import json, sys; print(json.loads(sys.argv[1])[sys.argv[2]])' "$1" "$2"
}

# stat_is NAME VALUE: a counter as `ctl stats --json` shows it.
stat_is() {
	[[ $(json_get "$("${CTL[@]}" stats --json)" "$1") == "$2" ]]
}

status_is() {
	[[ $(json_get "$("${CTL[@]}" status --json)" "$1") == "$2" ]]
}

# send_both SPORT COUNT [SECONDARY FLAGS...]: the same UDP stream from both
# replicas (the secondary's IPv4 IDs differ, not compared), the primary's
# frames kept in $T_TMP/SPORT-pri.pcap.
send_both() {
	local sport=$1 count=$2
	shift 2
	ip netns exec "$CN_PRI" "$VMSEND" --dev eth0 --proto udp --count "$count" \
		--sport "$sport" --ip-id 1000 --write "$T_TMP/$sport-pri.pcap" &
	ip netns exec "$CN_SEC" "$VMSEND" --dev eth0 --proto udp --count "$count" \
		--sport "$sport" --ip-id 40000 "$@"
	wait $!
}

# client_got SPORT: the frames of that stream the client captured so far
# (also left in $T_TMP/SPORT-cli.pcap).
client_got() {
	tcpdump -r "$T_TMP/cli.pcap" -w - -nn "udp src port $1" 2>/dev/null |
		cat >"$T_TMP/$1-cli.pcap"
	cn_frames "$T_TMP/$1-cli.pcap" "$CN_GUEST_MAC"
}

# exactly_primary SPORT: the client got the primary's frames of the
# stream, each once, in order, byte for byte.
exactly_primary() {
	diff -q <(cn_frames "$T_TMP/$1-pri.pcap") <(client_got "$1") >/dev/null
}

# client_has SPORT N: the client got at least N frames of the stream.
client_has() {
	(($(client_got "$1" | wc -l) >= $2))
}

# all_of CHECK ARGS [-- CHECK ARGS]...: every check passes.
all_of() {
	local a=()
	while (($#)); do
		if [[ $1 == -- ]]; then
			"${a[@]}" || return 1
			a=()
		else
			a+=("$1")
		fi
		shift
	done
	"${a[@]}"
}
