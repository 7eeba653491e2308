#!/bin/bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# make bench, tiny: every measurement once and briefly (bench/run.sh
# --smoke). Asserts only that the benchmark runs end to end and writes its
# files: the JSON parses and holds every figure, the PNG is a PNG, the
# table has every row. The figures themselves are not judged here.
. "$(dirname "$0")/lib.sh"
t_skip_unless_root

OUT=$T_TMP/results
LOG=$T_TMP/bench.log
PFX=${T_PREFIX}b
if BUILD=$T_BUILD BENCH_PREFIX=$PFX bash "$T_TOP/bench/run.sh" --smoke \
	--out "$OUT" >"$LOG" 2>&1; then
	t_ok "bench/run.sh --smoke runs to the end"
else
	t_fail "bench/run.sh --smoke runs to the end: $(tail -n 20 "$LOG")"
fi

t_check "bench.json parses and holds every figure" python3 - "$OUT/bench.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
rows = {(e['traffic'], e['conns']) for e in d['throughput']}
assert rows == {(t, c) for t in ('udp64', 'udp1500', 'tcp1448')
                for c in (1, 1000, 1000000)}, rows
# one brief run each on a shared machine: a figure may be 0, all may not
for s in ('colo-xdp', 'forward', 'qemu', 'source'):
    v = [e['pairs_per_s'][s]['median'] for e in d['throughput']
         if e['pairs_per_s'][s]]
    assert v and max(v) > 0, (s, v)
for e in d['throughput']:
    assert (e['pairs_per_s']['qemu'] is None) == (e['conns'] > 16384), e
assert {e['system'] for e in d['latency']} == {'colo-xdp', 'forward',
                                               'source'}
for e in d['latency']:
    assert 0 < e['p50_us']['median'] <= e['p999_us']['median'], e
    assert len(e['cdf']) > 100, e['system']
assert len(d['targets']) == 8, d['targets']
assert d['machine']['cpus'] >= 1
PY

t_check "bench.png is a PNG image" \
	test "$(head -c 8 "$OUT/bench.png" | od -An -tx1 | tr -d ' \n')" = \
	"89504e470d0a1a0a"

has_rows() {
	local t c
	for t in "64-byte UDP" "1500-byte UDP" "TCP, 1448-byte segments"; do
		for c in 1 1,000 1,000,000; do
			grep -q "^| $t | $c | " "$1" || return 1
		done
	done
	grep -q "^| colo-xdp | " "$1" && grep -q "^| forward-only | " "$1" &&
		grep -q "^| source alone" "$1" &&
		(($(grep -c "^| colo-xdp[/ ].* | [<>]= [0-9.]* | " "$1") == 8))
}
t_check "table.md has a row per traffic and connection count, latency and targets" \
	has_rows "$OUT/table.md"
t_check "the table is printed too" grep -q "^| traffic | connections" "$LOG"
t_check "nothing is left behind: links, pins" \
	bash -c "! ip -br link | grep -q '^$PFX' &&
		 test ! -e /sys/fs/bpf/colo-xdp/${PFX}p"

t_done
