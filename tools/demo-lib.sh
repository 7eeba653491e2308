# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# What the demos share (source it first): root and the built loader
# checked, tools/colo-netns.sh sourced, everything handed to
# demo_on_exit removed on exit whatever happens, a directory DIR of
# their own, and step, which titles each stage. Sets TOP, BUILD,
# COLO_XDP, DIR.
set -u
TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${BUILD:-$TOP/build}
COLO_XDP=$BUILD/colo-xdp
. "$TOP/tools/colo-netns.sh"

if [[ $(id -u) -ne 0 ]]; then
	echo "demo: run it as root (network namespaces, XDP, AF_XDP)" >&2
	exit 1
fi
if [[ ! -x $COLO_XDP ]]; then
	echo "demo: $COLO_XDP is missing: run 'make demo'" >&2
	exit 1
fi

CLEANUP=()
demo_on_exit() {
	CLEANUP+=("$1")
}
demo_cleanup() {
	local c
	for ((c = ${#CLEANUP[@]} - 1; c >= 0; c--)); do
		eval "${CLEANUP[c]}" 2>/dev/null
	done
}
trap demo_cleanup EXIT
trap 'exit 130' INT TERM
CN_ON_EXIT=demo_on_exit
DIR=$(mktemp -d /tmp/colo-xdp-demo.XXXXXX)
demo_on_exit "rm -rf $DIR"

step() {
	printf '\n== %s\n' "$*"
}
