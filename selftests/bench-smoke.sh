#!/bin/bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# make bench, tiny: every measurement once and briefly (bench/run.sh
# --smoke), the secondary path through colo-xdp secondary included. Asserts only that the benchmark runs end to end and writes its
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
TRAFFIC, CONNS = ('udp64', 'udp1500', 'tcp1448'), (1, 1000, 1000000)
rows = {(e['traffic'], e['conns']): e for e in d['throughput']}
assert len(d['throughput']) == 9 and set(rows) == {
    (t, c) for t in TRAFFIC for c in CONNS}, list(rows)
# which system is measured where: the source and forward-only with 1
# connection only (they track none), QEMU up to the 16384 its table holds
def measured(x, c):
    return {'source': c == 1, 'forward': c == 1,
            'qemu': c <= 16384}.get(x, True)
for (t, c), e in rows.items():
    for kind, systems in (('windowed', ('source', 'forward', 'colo-xdp',
                                        'qemu')),
                          ('zero_loss', ('forward', 'colo-xdp', 'qemu'))):
        assert set(e[kind]) == set(systems), (kind, e)
        for x in systems:
            assert (e[kind][x] is not None) == measured(x, c), (kind, x, e)
# one brief run each on a shared machine: a figure may be 0, all may not
for x in ('source', 'forward', 'colo-xdp', 'qemu'):
    v = [e['windowed'][x]['median'] for e in rows.values()
         if e['windowed'][x]]
    assert v and max(v) > 0, (x, v)
rates = d['config']['cpu_rates']
cpu = {(e['traffic'], e['rate']): e for e in d['cpu']}
assert rates and set(cpu) == {(t, r) for t in TRAFFIC for r in rates}, \
    list(cpu)
for e in cpu.values():
    assert e['per_pair_ns']['colo-xdp'] is not None, e
    assert e['per_pair_ns']['colo-xdp-agent'] is not None, e
    assert e['per_pair_ns']['colo-xdp-tc-link'] is not None, e
    assert set(e['per_pair_ns']) == set(e['own_ns']) == {
        'forward', 'colo-xdp', 'qemu', 'colo-xdp-agent',
        'colo-xdp-tc-link'}, e
    assert all(isinstance(v, bool) for v in e['sustained'].values()), e
assert {e['system'] for e in d['latency']} == {
    'source', 'forward', 'colo-xdp', 'colo-xdp-busy-poll'}, d['latency']
for e in d['latency']:
    assert 0 < e['p50_us']['median'] <= e['p999_us']['median'], e
    assert len(e['cdf']) > 10, e['system']
mem = {e['conns']: e for e in d['memory']}
assert set(mem) == {1, 1000000}, list(mem)
for e in mem.values():
    assert e['vmrss_kb']['median'] > 0, e
# the secondary path: the closed loop per traffic, and CPU per pair per
# traffic and rate: S the tap, the link through tc, through the agent
agent = {(e['traffic'], e['measure'], e['rate']): e for e in d['agent']}
assert set(agent) == {(t, 'windowed', None) for t in TRAFFIC} | {
    (t, 'cpu', r) for t in TRAFFIC for r in rates}, list(agent)
for e in agent.values():
    assert set(e['figures']) == {'colo-xdp', 'colo-xdp-tc-link',
                                 'colo-xdp-agent'}, e
    assert all(e['figures'][x] for x in e['figures']), e
for x in ('colo-xdp-tc-link', 'colo-xdp-agent'):
    assert max(e['figures'][x]['median'] for e in agent.values()
               if e['measure'] == 'windowed') > 0, (x, agent)
# 9 targets: CPU per pair against QEMU at each of the 2 rates, zero loss
# against forward-only for each of 3 traffics, p99 with --busy-poll, and
# 1,000,000 against 1 connection for each traffic; and what the agent
# adds to the CPU per pair, for each traffic at each rate
assert len(d['targets']) == 9 + 3 * len(rates), d['targets']
for g in d['targets']:
    assert set(g) == {'name', 'value', 'target', 'met'}, g
    assert g['met'] in (True, False), g
assert d['machine']['cpus'] >= 1
# 1 and 2 workers, each traffic: both measured, the model beside them
wk = {e['traffic']: e for e in d['workers']}
assert set(wk) == set(TRAFFIC), list(wk)
for e in wk.values():
    for n in ('1', '2'):
        assert e['pairs_per_s'][n]['median'] >= 0, e
        assert e['process_ns'][n] is not None, e
    assert e['model'] is None or len(e['model']) == 4, e
PY

t_check "bench.png is a PNG image" \
	test "$(head -c 8 "$OUT/bench.png" | od -An -tx1 | tr -d ' \n')" = \
	"89504e470d0a1a0a"

# has_rows TABLE JSON: the tables' rows, the CPU rates read from the JSON
has_rows() {
	local t c r rates
	rates=$(python3 -c 'import json, sys
print(" ".join(format(r, ",") for r in
	       json.load(open(sys.argv[1]))["config"]["cpu_rates"]))' "$2") ||
		return 1
	[[ -n $rates ]] || return 1
	for t in "64-byte UDP" "1500-byte UDP" "TCP, 1448-byte segments"; do
		for c in 1 1,000 1,000,000; do
			grep -q "^| $t | $c | " "$1" || return 1
		done
		for r in $rates; do
			grep -q "^| $t | $r | " "$1" &&
				grep -q "^| $t | CPU per pair at $r pairs/s, ns | " \
					"$1" || return 1
		done
		grep -q "^| $t | closed loop, pairs/s | " "$1" || return 1
	done
	grep -q "^| traffic | pairs/s | " "$1" &&
		grep -q "^| colo-xdp | " "$1" &&
		grep -q "^| colo-xdp --busy-poll | " "$1" &&
		grep -q "^| forward-only | " "$1" &&
		grep -q "^| source alone | " "$1" &&
		grep -q "^| 1 connection | " "$1" &&
		grep -q "^| 1,000,000 connections | " "$1" &&
		grep -q "^| secondary path, 1 connection | " "$1" &&
		grep -q "^| traffic | pairs/s, 1 worker | 2 workers | " "$1" &&
		(($(grep -c "^| colo-xdp[/ ].* | [<>]= [0-9.]* | " "$1") == \
			9 + 3 * $(wc -w <<<"$rates")))
}
t_check "table.md has every row: throughput, CPU, secondary path, latency, memory, workers, targets" \
	has_rows "$OUT/table.md" "$OUT/bench.json"
t_check "the table is printed too" grep -q "^| traffic | connections" "$LOG"
t_check "nothing is left behind: links, pins (the agent's too)" \
	bash -c "! ip -br link | grep -q '^$PFX' &&
		 test ! -e /sys/fs/bpf/colo-xdp/${PFX}p &&
		 test ! -e /sys/fs/bpf/colo-xdp/secondary-${PFX}v"

t_done
