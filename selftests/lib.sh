# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# Shared by the shell suites: results, and namespaces/links/processes that
# are removed on exit whatever happens. Source it, call t_ok / t_fail /
# t_check (and t_skip for what cannot run here), and end with t_done, which
# prints "N passed, N failed, N skipped" for selftests/run to sum.

T_PASSED=0
T_FAILED=0
T_SKIPPED=0
T_TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
T_BUILD=${BUILD:-$T_TOP/build}
COLO_XDP=$T_BUILD/colo-xdp
# Unique per run, so two suites (or a leftover) never collide.
T_PREFIX=cx$$
T_PIDS=()
T_CLEANUP=()
T_TMP=$(mktemp -d /tmp/colo-xdp-test.XXXXXX)

t_ok() {
	T_PASSED=$((T_PASSED + 1))
	echo "ok - $*"
}

t_fail() {
	T_FAILED=$((T_FAILED + 1))
	echo "FAIL - $*"
}

# t_skip REASON...: a check that cannot run here, the reason naming what is
# missing (a privilege, a tool, a kernel feature, hardware). Counted apart:
# never as passed, and not as failed (it says nothing about the code).
t_skip() {
	T_SKIPPED=$((T_SKIPPED + 1))
	echo "skip - $*"
}

# t_check NAME COMMAND...: ok when the command succeeds.
t_check() {
	local name=$1
	shift
	if "$@"; then t_ok "$name"; else t_fail "$name"; fi
}

# t_skip_unless_root [WHAT]: not root, the whole suite is one skip (WHAT
# it needs root for), and it ends there.
t_skip_unless_root() {
	if [[ $(id -u) -ne 0 ]]; then
		t_skip "$(basename "$0"): needs root (${1:-network namespaces, XDP, bpffs}), running as uid $(id -u): not run"
		t_done
	fi
}

# t_bg COMMAND...: start in the background, killed at exit; sets T_LAST_PID.
t_bg() {
	"$@" &
	T_LAST_PID=$!
	T_PIDS+=("$T_LAST_PID")
}

# t_on_exit COMMAND: an extra cleanup step (a pin, a sysctl to restore).
t_on_exit() {
	T_CLEANUP+=("$1")
}

t_cleanup() {
	local p c
	for p in "${T_PIDS[@]}"; do
		kill "$p" 2>/dev/null
		# a process a test stopped (SIGSTOP) takes its TERM once continued
		kill -CONT "$p" 2>/dev/null
	done
	for p in "${T_PIDS[@]}"; do
		wait "$p" 2>/dev/null
	done
	for ((c = ${#T_CLEANUP[@]} - 1; c >= 0; c--)); do
		eval "${T_CLEANUP[c]}" 2>/dev/null
	done
	rm -rf "$T_TMP"
}
trap t_cleanup EXIT
trap 'exit 130' INT TERM

# t_totals_up A B: no total of the loader went down from one `colo-xdp stat
# --json` of an instance (A) to a later one (B); only its gauges may. Names
# what went down, if anything.
t_totals_up() {
	python3 -c 'import json, sys
a, b = (json.loads(x)["instances"][0] for x in sys.argv[1:])
down = [k for g in ("engine", "datapath") for k in a[g]
	if k not in b["gauges"] and b[g][k] < a[g][k]]
sys.exit(print("# went down:", down) if down else 0)' "$1" "$2"
}

# t_done: the summary line, and exit non-zero only on a failure.
t_done() {
	echo "$T_PASSED passed, $T_FAILED failed, $T_SKIPPED skipped"
	if ((T_FAILED)); then exit 1; fi
	exit 0
}
