#!/bin/bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# colo-xdp replay on a small guest's traffic (colo-capgen's `demo`: ARP,
# pings, a UDP answer, a TCP response the secondary segments differently,
# and one clock reading that differs), without and with an
# instant checkpoint controller. Run it after `make`; BUILD names another
# build directory.
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD:-$top/build}
for bin in colo-xdp colo-capgen; do
	if [[ ! -x $build/$bin ]]; then
		echo "demo-replay: $build/$bin is missing; run 'make' first" >&2
		exit 1
	fi
done
tmp=$(mktemp -d /tmp/colo-xdp-demo-replay.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

"$build/colo-capgen" demo "$tmp" --order alternate
echo "== the primary's capture (the secondary sent the same, but its TCP"
echo "   segments are 1500 bytes where these are 1000, and its frame 7, the
   first clock reading, differs from frame 8 here)"
tcpdump -nn -r "$tmp/primary.pcap" 2>/dev/null | nl -v0

summary() {
	python3 -c '
import json, sys
r = json.load(open(sys.argv[1]))
print("released, in order:", r["released"] or "nothing")
for c in r["checkpoints"]:
    why = ("%s frame %d" % (c["side"], c["index"]) if "index" in c
           else "the clock")
    print("checkpoint request: %s, raised by %s at %.3f s%s"
          % (c["reason"], why, c["time_ns"] / 1e9,
             " (again, unanswered)" if c["repeat"] else ""))
for m in r["mismatches"]:
    print("mismatch: primary frame %d against secondary frame %d, "
          "first differing byte %d" % (m["primary"], m["secondary"],
                                       m["offset"]))
q = r["queued_at_end"]
print("still held at the end: primary %s, secondary %s"
      % (q["primary"], q["secondary"]))
' "$1"
}

for flags in "" "--auto-checkpoint"; do
	echo
	echo "== colo-xdp replay ${flags:-(no controller: requests go unanswered)}"
	# shellcheck disable=SC2086 # no flags or one
	"$build/colo-xdp" replay -p "$tmp/primary.pcap" \
		-s "$tmp/secondary.pcap" -w "$tmp/out.pcap" $flags >"$tmp/r.json"
	cat "$tmp/r.json"
	summary "$tmp/r.json"
	echo "frames sent out, from --write:"
	tcpdump -nn -r "$tmp/out.pcap" 2>/dev/null | sed 's/^/  /'
done
