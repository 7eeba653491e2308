#!/usr/bin/env python3
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""Turn bench/run.sh's raw results into bench.json, table.md and bench.png.

The raw results are one JSON object a line, each with its "kind"
(windowed, zero_loss, cpu, latency, memory), "system", "traffic", "conns"
and "run". Every figure is the median of the runs, with their min and max.
With --readme, the part of that file between the results markers is
replaced by the new table and plot.
"""
import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time

TRAFFIC = {
    'udp64': '64-byte UDP',
    'udp1500': '1500-byte UDP',
    'tcp1448': 'TCP, 1448-byte segments',
}
# in the plot, where nine of them share a line
SHORT = {'udp64': '64 B UDP', 'udp1500': '1500 B UDP', 'tcp1448': 'TCP 1448'}
CONNS = [1, 1000, 1000000]
# QEMU's colo-compare table holds this many connections; more destroys it
QEMU_MAX_CONNS = 16384
KINDS = ('windowed', 'zero_loss', 'cpu', 'latency', 'memory', 'workers',
         'workers_cpu')
WORKERS = [1, 2]
# the scaling model's worker counts, beyond what this machine can run
MODEL_WORKERS = [1, 2, 4, 8]
WINDOWED_SYSTEMS = ['source', 'forward', 'colo-xdp', 'qemu']
ZERO_LOSS_SYSTEMS = ['forward', 'colo-xdp', 'qemu']
CPU_SYSTEMS = ['forward', 'colo-xdp', 'qemu']
LAT_SYSTEMS = ['colo-xdp', 'colo-xdp-busy-poll', 'forward', 'source']
# colo-xdp with the secondary's frames through colo-xdp secondary (the
# agent): measured with 1 connection, closed loop and CPU per pair, and
# set against colo-xdp in the same run
AGENT = 'colo-xdp-agent'
# the same way with tc's mirred in place of the agent: what the agent adds
TC_LINK = 'colo-xdp-tc-link'
SECONDARY_SYSTEMS = ('colo-xdp', TC_LINK, AGENT)
# what the agent may add to the CPU per pair of the pair of hosts
AGENT_CPU_GOAL = 1.1
NAMES = {'source': 'source alone', 'forward': 'forward-only',
         'colo-xdp': 'colo-xdp', 'qemu': 'QEMU',
         'colo-xdp-busy-poll': 'colo-xdp --busy-poll',
         AGENT: 'colo-xdp, agent on the way',
         TC_LINK: 'colo-xdp, tc on the way'}
# one colour per system in every panel of the plot
COLORS = {'forward': '#9400d3', 'colo-xdp': '#009e73', 'qemu': '#56b4e9',
          'colo-xdp-busy-poll': '#e69f00', 'source': '#555555'}
LAT_KEYS = [('p50_us', 'p50'), ('p99_us', 'p99'), ('p999_us', 'p99.9')]
MEM_CONNS = [1, 1000000]
# below this share of the offered rate (or with a pair lost) a system did
# not keep up, so its CPU per pair is that of a saturated system
SUSTAINED_SHARE = 0.97
CDF_POINTS = 400
README_BEGIN = '<!-- bench results: written by bench/report.py -->'
README_END = '<!-- end of bench results -->'
PLOT_LINK = ('![zero-loss pairs per second, CPU per pair and latency CDF]'
             '(results/bench.png)')


def warn(msg):
    print('report: %s' % msg, file=sys.stderr)


def stat(values):
    if not values:
        return None
    return {'median': statistics.median(values), 'min': min(values),
            'max': max(values)}


def med(s):
    return s['median'] if s else None


def machine(load_start):
    cpu = 'unknown CPU'
    with open('/proc/cpuinfo') as f:
        for line in f:
            if line.startswith('model name'):
                cpu = line.split(':', 1)[1].strip()
                break
    return {
        'cpus': os.cpu_count(),
        'kernel': platform.release(),
        'cpu_model': cpu,
        'load_start': load_start,
        'load_end': round(os.getloadavg()[0], 2),
        'date': time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime()),
    }


def load(path):
    """The records by kind. An unknown kind is shown, not fatal: the
    report comes at the end of a long run whose results it would lose."""
    recs = {k: [] for k in KINDS}
    with open(path) as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            r = json.loads(line)
            if r.get('kind') in recs:
                recs[r['kind']].append(r)
            else:
                warn('%s:%d: unknown kind %r, ignored' % (path, n,
                                                          r.get('kind')))
    return recs


def pick(recs, **match):
    return [r for r in recs if all(r.get(k) == v for k, v in match.items())]


def applies(system, conns):
    """Which systems are measured at which connection counts: the source
    and forward-only do not track connections (measured with 1)."""
    if system in ('source', 'forward'):
        return conns == 1
    if system == 'qemu':
        return conns <= QEMU_MAX_CONNS
    return True


def throughput(recs):
    out = []
    for t in TRAFFIC:
        for c in CONNS:
            e = {'traffic': t, 'conns': c, 'windowed': {}, 'zero_loss': {}}
            for kind, systems in (('windowed', WINDOWED_SYSTEMS),
                                  ('zero_loss', ZERO_LOSS_SYSTEMS)):
                for x in systems:
                    runs = pick(recs[kind], system=x, traffic=t, conns=c)
                    e[kind][x] = stat([r['pairs_per_s'] for r in runs]
                                      if applies(x, c) else [])
            out.append(e)
    return out


def ns_per_pair(seconds, r):
    return seconds / r['pairs'] * 1e9


def sustained(runs, rate):
    return bool(runs) and all(
        r['achieved_pps'] >= SUSTAINED_SHARE * rate and r['lost'] == 0
        for r in runs)


def counted(runs):
    """The runs with a pair to divide by; one without did not sustain
    its rate either, and is marked so."""
    return [r for r in runs if r['pairs'] > 0]


def per_pair(x, runs, base):
    """CPU a pair, whole machine. The source's write() also runs the
    comparator's RX path in the kernel, so the source cannot be told apart
    within a run: the baseline run (source and sink alone at the same
    rate) is subtracted. QEMU's feeder is one process whose own CPU time
    is the source and the sink, so there it is subtracted directly."""
    if x == 'qemu':
        return stat([ns_per_pair(r['busy_s'] - r['self_s'], r)
                     for r in runs])
    if base is None:
        return None
    return stat([ns_per_pair(r['busy_s'], r) - base for r in runs])


def cpu(recs, rates):
    known = set(rates)
    for r in recs['cpu']:
        if r.get('rate') not in known:
            warn('cpu run at %s pairs/s, not in --cpu-rates: ignored'
                 % r.get('rate'))
    out = []
    for t in TRAFFIC:
        for rate in rates:
            mine = pick(recs['cpu'], traffic=t, rate=rate)
            base = [ns_per_pair(r['busy_s'], r) for r in counted(
                pick(mine, system='baseline'))]
            base = statistics.median(base) if base else None
            e = {'traffic': t, 'rate': rate, 'per_pair_ns': {},
                 'own_ns': {}, 'sustained': {}}
            for x in CPU_SYSTEMS + [TC_LINK, AGENT, 'baseline']:
                e['sustained'][x] = sustained(pick(mine, system=x), rate)
                if x == 'baseline':
                    continue
                runs = counted(pick(mine, system=x))
                e['per_pair_ns'][x] = per_pair(x, runs, base)
                e['own_ns'][x] = stat([
                    ns_per_pair(r['cmp_s'] + r['cmp_softirq_s'], r)
                    for r in runs])
            out.append(e)
    return out


def agent(recs, doc):
    """The secondary path at 1 connection: the closed-loop rate and the
    CPU per pair at each rate (cpu() computed them, the same baseline
    less) of colo-xdp with S the secondary's tap, with the link's way
    through tc, and through the agent. ratio: the agent against tc on the
    same way, what the agent adds; hop_ratio: the agent against S the
    tap, what the secondary host's whole way adds."""
    out = []
    for t in TRAFFIC:
        w = {x: stat([r['pairs_per_s'] for r in pick(
            recs['windowed'], system=x, traffic=t, conns=1)])
             for x in SECONDARY_SYSTEMS}
        out.append({'traffic': t, 'measure': 'windowed', 'rate': None,
                    'figures': w,
                    'ratio': ratio(w[AGENT], w[TC_LINK]),
                    'hop_ratio': ratio(w[AGENT], w['colo-xdp'])})
    for e in doc['cpu']:
        f = {x: e['per_pair_ns'][x] for x in SECONDARY_SYSTEMS}
        out.append({'traffic': e['traffic'], 'measure': 'cpu',
                    'rate': e['rate'], 'figures': f,
                    'sustained': {x: e['sustained'][x]
                                  for x in SECONDARY_SYSTEMS},
                    'ratio': ratio(f[AGENT], f[TC_LINK]),
                    'hop_ratio': ratio(f[AGENT], f['colo-xdp'])})
    return out


def workers(recs, rate):
    """colo-xdp run with 1 and 2 workers, measured in turn: closed-loop
    pairs/s, and CPU per pair at a fixed rate (the whole machine less the
    source and sink alone, and the comparator's process, all threads)."""
    out = []
    for t in TRAFFIC:
        mine = pick(recs['workers_cpu'], traffic=t, rate=rate)
        base = [ns_per_pair(r['busy_s'], r) for r in counted(
            pick(mine, system='baseline'))]
        base = statistics.median(base) if base else None
        e = {'traffic': t, 'rate': rate, 'pairs_per_s': {},
             'per_pair_ns': {}, 'process_ns': {}, 'sustained': {}}
        for n in WORKERS:
            x = 'colo-xdp-%dw' % n
            e['pairs_per_s'][n] = stat([r['pairs_per_s'] for r in pick(
                recs['workers'], system=x, traffic=t)])
            runs = counted(pick(mine, system=x))
            e['sustained'][n] = sustained(runs, rate)
            e['per_pair_ns'][n] = per_pair(x, runs, base)
            e['process_ns'][n] = stat([ns_per_pair(r['cmp_s'], r)
                                       for r in runs])
        e['ratio'] = ratio(e['pairs_per_s'][2], e['pairs_per_s'][1])
        e['model'] = model(med(e['process_ns'][1]), med(e['process_ns'][2]))
        out.append(e)
    return out


def model(c1, c2):
    """Pairs/s of N workers, each on a CPU of its own and N queues that
    RSS fills evenly: a worker's cost per pair is one worker's, c1, plus
    what sharing costs (the hash, the hand-off, the wake-ups), which the
    2-worker run measures with half the frames handed (c2 - c1) and which
    grows with the share handed, (N - 1) / N."""
    if c1 is None or c2 is None or c1 <= 0:
        return None
    extra = max(c2 - c1, 0.0) * 2
    return {n: n * 1e9 / (c1 + extra * (n - 1) / n) for n in MODEL_WORKERS}


def quantiles(path):
    try:
        with open(path) as f:
            v = sorted(float(x) for x in f if x.strip())
    except OSError as e:
        warn('no latency samples: %s' % e)
        return []
    n = len(v)
    if not n:
        return []
    return [[v[min(n - 1, int(i / CDF_POINTS * (n - 1)))], i / CDF_POINTS]
            for i in range(CDF_POINTS + 1)]


def latency(recs, samples):
    out = []
    for x in LAT_SYSTEMS:
        runs = pick(recs['latency'], system=x)
        if not runs:
            continue
        e = {'system': x}
        for k, _ in LAT_KEYS:
            e[k] = stat([r[k] for r in runs])
        # the CDF of the run whose p99 is the median one
        mid = sorted(runs, key=lambda r: r['p99_us'])[len(runs) // 2]
        e['cdf'] = quantiles(os.path.join(
            samples, 'lat-%s-%s.txt' % (x, mid['run'])))
        out.append(e)
    return out


def memory(recs):
    out = []
    for c in MEM_CONNS:
        runs = pick(recs['memory'], system='colo-xdp', conns=c)
        if runs:
            out.append({'conns': c,
                        'vmrss_kb': stat([r['vmrss_kb'] for r in runs]),
                        'vmhwm_kb': stat([r['vmhwm_kb'] for r in runs])})
    return out


def ratio(a, b):
    a, b = med(a), med(b)
    return a / b if a is not None and b else None


def row(doc, t, c):
    return next(e for e in doc['throughput']
                if e['traffic'] == t and e['conns'] == c)


def ratios(doc):
    """Forward-only does not track connections: every row's colo-xdp is
    set against forward-only at 1 connection."""
    thr = []
    for e in doc['throughput']:
        t, one = e['traffic'], row(doc, e['traffic'], 1)
        thr.append({'traffic': t, 'conns': e['conns'], **{
            name: {k: ratio(e[k]['colo-xdp'], ref[k][x])
                   for k in ('zero_loss', 'windowed')}
            for name, ref, x in (
                ('colo_xdp_over_qemu', e, 'qemu'),
                ('colo_xdp_over_forward', one, 'forward'),
                ('colo_xdp_over_1_conn', one, 'colo-xdp'))}})
    cpus = [{'traffic': e['traffic'], 'rate': e['rate'],
             'colo_xdp_over_qemu': ratio(e['per_pair_ns']['colo-xdp'],
                                         e['per_pair_ns']['qemu'])}
            for e in doc['cpu']]
    return {'throughput': thr, 'cpu': cpus}


def find(entries, **match):
    return next(iter(pick(entries, **match)), None)


def targets(doc):
    out = []

    def target(name, value, op, goal):
        met = value is not None and (value <= goal if op == '<='
                                     else value >= goal)
        out.append({'name': name, 'value': value,
                    'target': '%s %g' % (op, goal), 'met': met})
    rt, rc = doc['ratios']['throughput'], doc['ratios']['cpu']
    for rate in doc['config']['cpu_rates']:
        target('colo-xdp/QEMU CPU per pair, 64-byte UDP, %s pairs/s'
               % format(rate, ','),
               find(rc, traffic='udp64', rate=rate)['colo_xdp_over_qemu'],
               '<=', 0.2)
    for t in TRAFFIC:
        r = find(rt, traffic=t, conns=1)['colo_xdp_over_forward']
        target('colo-xdp/forward-only zero-loss pairs/s, %s, 1 connection'
               % TRAFFIC[t], r['zero_loss'], '>=', 0.9)
    bp = find(doc['latency'], system='colo-xdp-busy-poll')
    target('colo-xdp --busy-poll p99 added latency at %s pairs/s (us)'
           % format(doc['config']['lat_rate'], ','),
           med(bp['p99_us']) if bp else None, '<=', 20)
    for t in TRAFFIC:
        r = find(rt, traffic=t, conns=1000000)['colo_xdp_over_1_conn']
        target('colo-xdp zero-loss pairs/s, 1,000,000 / 1 connection, %s'
               % TRAFFIC[t], r['zero_loss'], '>=', 0.8)
    for e in doc['agent']:
        if e['measure'] == 'cpu':
            target('colo-xdp with the agent / with tc on the way, CPU per '
                   'pair, %s, '
                   '%s pairs/s' % (TRAFFIC[e['traffic']],
                                   format(e['rate'], ',')),
                   e['ratio'], '<=', AGENT_CPU_GOAL)
    return out


def si(v):
    return '%.1fk' % (v / 1e3) if v < 1e6 else '%.2fM' % (v / 1e6)


def fmt_rate(s):
    return 'n/a' if s is None else '%s (%s-%s)' % (
        si(s['median']), si(s['min']), si(s['max']))


def fmt_num(s, f='%.1f'):
    return 'n/a' if s is None else (f + ' (' + f + '-' + f + ')') % (
        s['median'], s['min'], s['max'])


def fmt_ratio(r):
    return 'n/a' if r is None else '%.2f' % r


def thr_cell(e, x):
    """Zero-loss pairs/s first, the windowed (closed-loop) figure beside
    it; the source alone has no zero-loss search."""
    if not applies(x, e['conns']):
        return 'n/a (table holds %d)' % QEMU_MAX_CONNS if x == 'qemu' else '-'
    w = e['windowed'][x]
    if x == 'source':
        return 'n/a' if w is None else 'windowed ' + fmt_rate(w)
    return '%s; windowed %s' % (fmt_rate(e['zero_loss'][x]),
                                'n/a' if w is None else si(w['median']))


def conns_name(c):
    return '%s connection%s' % (format(c, ','), '' if c == 1 else 's')


def ratio_cell(r):
    if r['zero_loss'] is None and r['windowed'] is None:
        return 'n/a'
    return '%s; windowed %s' % (fmt_ratio(r['zero_loss']),
                                fmt_ratio(r['windowed']))


def table_throughput(doc, recs, a):
    rows = ['| traffic | connections | source alone | forward-only | '
            'colo-xdp | QEMU | colo-xdp/QEMU | colo-xdp/forward |',
            '|---|---:|---:|---:|---:|---:|---:|---:|']
    for e, r in zip(doc['throughput'], doc['ratios']['throughput']):
        q, f = r['colo_xdp_over_qemu'], r['colo_xdp_over_forward']
        rows.append('| %s | %s | %s | %s | %s | %s | %s | %s |' % (
            TRAFFIC[e['traffic']], format(e['conns'], ','),
            *(thr_cell(e, x) for x in WINDOWED_SYSTEMS),
            ratio_cell(q), ratio_cell(f)))
    stalls = {x: sum(r.get('stalls', 0) for r in
                     pick(recs['windowed'], system=x))
              for x in WINDOWED_SYSTEMS}
    zeros = sorted({'%s %s/%s' % (r['system'], r['traffic'],
                                  conns_name(r['conns']))
                    for r in recs['zero_loss'] if r['pairs_per_s'] == 0})
    return rows + ['', (
        'Pairs per second, median (min-max) of %d runs. Zero-loss: the '
        'highest offered rate at which no pair was lost in a trial of %d '
        'ms, a failed rate tried twice (0: even the lowest rate tried '
        'lost; that happened in: %s). '
        'Windowed: closed loop, %d pairs in flight, at its own pace '
        '(median). Source alone and forward-only do not track connections '
        '(measured with 1; the ratios to forward-only use that figure). '
        'Windows written off (in-flight pairs that never arrived, 200 ms '
        'lost each): %s. Failed attempts measured again: %d.') % (
            a.runs, a.trial_ms, ', '.join(zeros) or 'none', a.window,
            ', '.join('%s %d' % (x, stalls[x]) for x in WINDOWED_SYSTEMS),
            a.failed_attempts)]


def cpu_cell(e, x):
    s = e['per_pair_ns'][x]
    return fmt_num(s, '%.0f') + ('*' if s and not e['sustained'][x] else '')


def own_cell(e):
    own, all_ = e['own_ns']['colo-xdp'], e['per_pair_ns']['colo-xdp']
    share = ratio(own, all_)
    return fmt_num(own, '%.0f') + ('' if share is None
                                   else '; %.0f%%' % (100 * share))


def table_cpu(doc, recs):
    rows = ['| traffic | pairs/s | forward-only | colo-xdp | QEMU | '
            'colo-xdp/QEMU | colo-xdp own share |',
            '|---|---:|---:|---:|---:|---:|---:|']
    for e, r in zip(doc['cpu'], doc['ratios']['cpu']):
        q = r['colo_xdp_over_qemu']
        both = e['sustained']['colo-xdp'] and e['sustained']['qemu']
        rows.append('| %s | %s | %s | %s | %s | %s%s | %s |' % (
            TRAFFIC[e['traffic']], format(e['rate'], ','),
            *(cpu_cell(e, x) for x in CPU_SYSTEMS), fmt_ratio(q),
            '*' if q is not None and not both else '', own_cell(e)))
    base = [ns_per_pair(r['busy_s'], r)
            for r in counted(pick(recs['cpu'], system='baseline'))]
    short = ['%s at %s' % (TRAFFIC[e['traffic']], format(e['rate'], ','))
             for e in doc['cpu'] if not e['sustained']['baseline']]
    return rows + ['', (
        'CPU time of the whole machine per pair, ns, median (min-max) of '
        'the runs at a fixed offered rate, 1 connection. forward-only and '
        'colo-xdp: less the source and sink alone at the same rate (%s); '
        'QEMU: less its feeder\'s own CPU time. Own share: '
        'colo-xdp run\'s process and the softirq time of its CPU, per '
        'pair, and that as a share of its whole. *: did not sustain the '
        'rate in every run (under %d%% of it achieved, or a pair lost): '
        'the figure is that of a saturated system. The source and sink '
        'alone did not sustain: %s.') % (
            'not measured' if not base else '%.0f-%.0f ns a pair' % (
                min(base), max(base)),
            round(100 * SUSTAINED_SHARE), '; '.join(short) or 'none')]


def table_agent(doc):
    rows = ['| secondary path, 1 connection | measure | colo-xdp, S the '
            'tap | tc on the way | agent on the way | agent / tc | '
            'agent / S the tap |', '|---|---|---:|---:|---:|---:|---:|']
    for e in doc['agent']:
        f, sus = e['figures'], e.get('sustained', {})
        if e['measure'] == 'windowed':
            what = 'closed loop, pairs/s'
            cells = [fmt_rate(f[x]) for x in SECONDARY_SYSTEMS]
        else:
            what = 'CPU per pair at %s pairs/s, ns' % format(e['rate'], ',')
            cells = [fmt_num(f[x], '%.0f') + (
                '*' if f[x] and not sus[x] else '')
                for x in SECONDARY_SYSTEMS]
        rows.append('| %s | %s | %s | %s | %s | %s | %s |' % (
            TRAFFIC[e['traffic']], what, *cells, fmt_ratio(e['ratio']),
            fmt_ratio(e['hop_ratio'])))
    return rows + ['', (
        'The secondary VM\'s frames written into a tap of their own and '
        'sent over a veth standing for the link to the primary host, '
        'whose other end is `colo-xdp run`\'s S: by `colo-xdp secondary` '
        '(colo_rw_out on the tap\'s tc ingress), or by a tc mirred '
        'redirect in its place; colo-xdp, S the tap: no link at all. '
        'agent / tc is what the agent adds to the way any secondary host '
        'takes; agent / S the tap is all the secondary host adds: the skb '
        'tun builds for tc, the program, and the link\'s hop. CPU per '
        'pair as in the table above (the whole machine, less the source '
        'and sink alone); *: did not sustain the rate. The stream has no '
        'handshake, so the agent learns no connection: TCP is looked up '
        'and forwarded, not rewritten.')]


def table_workers(doc):
    rows = ['| traffic | pairs/s, 1 worker | 2 workers | 2/1 | CPU/pair, '
            '1 worker | 2 workers | process/pair, 1 worker | 2 workers | '
            'model, pairs/s at %s workers |' % ', '.join(
                str(n) for n in MODEL_WORKERS),
            '|---|---:|---:|---:|---:|---:|---:|---:|---|']
    for e in doc['workers']:
        m = e['model']
        rows.append('| %s | %s | %s | %s | %s | %s | %s | %s | %s |' % (
            TRAFFIC[e['traffic']], fmt_rate(e['pairs_per_s'][1]),
            fmt_rate(e['pairs_per_s'][2]), fmt_ratio(e['ratio']),
            *('%s%s' % (fmt_num(e['per_pair_ns'][n], '%.0f'),
                        '' if e['sustained'][n] else '*')
              for n in WORKERS),
            *(fmt_num(e['process_ns'][n], '%.0f') for n in WORKERS),
            'n/a' if not m else ', '.join(si(m[n]) for n in MODEL_WORKERS)))
    return rows + ['', (
        'colo-xdp run --workers 1 and 2, %s connections, the runs of one '
        'right after the other\'s. pairs/s: closed loop, median (min-max). '
        'CPU/pair: the whole machine\'s, ns, at %s offered pairs/s, less '
        'the source and sink alone; process/pair: colo-xdp run\'s own '
        '(all threads). *: the rate not sustained. The source\'s taps '
        'have one queue: worker 0 takes every frame and hands half to '
        'worker 1, which shares the source\'s CPU. Model: N workers on N '
        'CPUs of their own, N queues filled evenly, each pair costing one '
        'worker\'s process/pair plus twice the 2-worker run\'s extra '
        'times the share handed, (N-1)/N; the kernel\'s RX and TX work '
        'spreads with the queues and is not in it.') % (
            format(1000, ','), format(doc['config']['workers_rate'], ','))]


def table_latency(doc, a):
    rows = ['| added latency at %s pairs/s, us | p50 | p99 | p99.9 |'
            % format(a.lat_rate, ','), '|---|---:|---:|---:|']
    for e in doc['latency']:
        rows.append('| %s | %s |' % (NAMES[e['system']], ' | '.join(
            fmt_num(e[key]) for key, _ in LAT_KEYS)))
    return rows + ['', (
        'From the later frame of a pair entering its interface to the '
        'primary arriving at O\'s peer; median (min-max) of the runs. '
        'Source alone: to P and S, the floor of the method. --busy-poll: '
        'colo-xdp run --busy-poll on a CPU of its own.')]


def table_memory(doc):
    rows = ['| colo-xdp run, memory at the end of a run | resident '
            '(VmRSS), MiB | peak (VmHWM), MiB |', '|---|---:|---:|']
    for e in doc['memory']:
        rows.append('| %s | %s | %s |' % (
            conns_name(e['conns']), fmt_num(scaled(e['vmrss_kb'], 1024)),
            fmt_num(scaled(e['vmhwm_kb'], 1024))))
    return rows


def table_targets(doc):
    rows = ['| target | measured | goal | met |', '|---|---:|---:|---|']
    for g in doc['targets']:
        rows.append('| %s | %s | %s | %s |' % (
            g['name'], fmt_ratio(g['value']), g['target'],
            'yes' if g['met'] else '**no**'))
    return rows


def machine_line(doc, a):
    m, cpus = doc['machine'], doc['config']['cpus']
    return ('Machine: %s, %d CPUs, kernel %s, load average %.2f at the '
            'start and %.2f at the end (a shared machine); %s. Source on '
            'CPU %d, comparator on CPU %d (%s)%s; window %d pairs; '
            'zero-loss trials of %d ms; %s.') % (
                m['cpu_model'], m['cpus'], m['kernel'], m['load_start'],
                m['load_end'], m['date'], cpus[0], cpus[1],
                'SCHED_FIFO %d' % a.rt_prio if a.rt_prio else 'SCHED_OTHER',
                ', busy-polling comparator on CPU %d' % cpus[2]
                if len(cpus) > 2 else '', a.window, a.trial_ms, a.qemu)


def int_list(s):
    return [int(x) for x in s.split(',') if x.strip()]


def args():
    ap = argparse.ArgumentParser()
    ap.add_argument('--results', required=True)
    ap.add_argument('--samples', required=True)
    ap.add_argument('--out', required=True)
    ap.add_argument('--runs', type=int, required=True)
    ap.add_argument('--window', type=int, required=True)
    ap.add_argument('--lat-rate', type=int, required=True)
    ap.add_argument('--cpu-rates', type=int_list, required=True,
                    help='offered pair rates of the CPU runs, e.g. '
                    '50000,200000')
    ap.add_argument('--trial-ms', type=int, required=True,
                    help='length of one zero-loss trial')
    ap.add_argument('--cpus', type=int_list, required=True,
                    help='source CPU,comparator CPU[,busy-poll CPU]')
    ap.add_argument('--qemu', required=True)
    ap.add_argument('--load', type=float, required=True)
    ap.add_argument('--rt-prio', type=int, required=True)
    ap.add_argument('--failed-attempts', type=int, required=True)
    ap.add_argument('--workers-rate', type=int, required=True,
                    help='offered pair rate of the workers\' CPU runs')
    ap.add_argument('--readme')
    a = ap.parse_args()
    if len(a.cpus) < 2 or not a.cpu_rates:
        ap.error('--cpus needs two CPUs, --cpu-rates at least one rate')
    return a


def main():
    a = args()
    recs = load(a.results)
    doc = {
        'machine': machine(a.load),
        'config': {'runs': a.runs, 'window': a.window,
                   'lat_rate': a.lat_rate, 'cpu_rates': a.cpu_rates,
                   'trial_ms': a.trial_ms, 'cpus': a.cpus,
                   'rt_prio': a.rt_prio, 'qemu': a.qemu,
                   'failed_attempts': a.failed_attempts,
                   'workers_rate': a.workers_rate},
        'throughput': throughput(recs),
        'cpu': cpu(recs, a.cpu_rates),
        'latency': latency(recs, a.samples),
        'memory': memory(recs),
        'workers': workers(recs, a.workers_rate),
    }
    doc['agent'] = agent(recs, doc)
    doc['ratios'] = ratios(doc)
    doc['targets'] = targets(doc)
    text = '\n\n'.join('\n'.join(part) for part in (
        table_throughput(doc, recs, a), table_cpu(doc, recs),
        table_agent(doc), table_latency(doc, a), table_memory(doc),
        table_workers(doc), table_targets(doc),
        [machine_line(doc, a)])) + '\n'

    os.makedirs(a.out, exist_ok=True)
    with open(os.path.join(a.out, 'bench.json'), 'w') as f:
        json.dump(doc, f, indent=1)
    with open(os.path.join(a.out, 'table.md'), 'w') as f:
        f.write(text)
    plot(doc, os.path.join(a.out, 'bench.png'))
    print(text)
    if a.readme:
        readme(a.readme, text)


def bars(path, cases, systems):
    """A histogram's data: a case per line, median min max per system;
    '?' where there is no figure, so that gnuplot leaves a gap."""
    with open(path, 'w') as f:
        f.write('case %s\n' % ' '.join(
            '"%s" min max' % NAMES[x] for x in systems))
        for label, figures in cases:
            f.write('"%s" %s\n' % (label, ' '.join(
                '? ? ?' if s is None else '%.3f %.3f %.3f' % (
                    s['median'], s['min'], s['max'])
                for s in (figures[x] for x in systems))))
    has = any(f[x] for _, f in cases for x in systems)
    cols = ', '.join(
        "'%s' using %d:%d:%d%s lc rgb '%s' title columnheader(%d)" % (
            path, 2 + 3 * i, 3 + 3 * i, 4 + 3 * i,
            ':xtic(1)' if not i else '', COLORS[x], 2 + 3 * i)
        for i, x in enumerate(systems))
    return 'plot ' + cols if has else NO_DATA


def scaled(s, by):
    return {x: v / by for x, v in s.items()} if s else None


def plot(doc, png):
    """Three panels: zero-loss pairs/s per system and configuration, CPU
    per pair per system at each rate, latency CDF per system."""
    with tempfile.TemporaryDirectory(prefix='bench-report.') as tmp:
        thr = bars(os.path.join(tmp, 'thr.dat'), [
            ('%s\\n%s conn%s' % (SHORT[e['traffic']],
                                 format(e['conns'], ','),
                                 's' if e['conns'] > 1 else ''),
             {x: scaled(e['zero_loss'][x], 1e3) for x in ZERO_LOSS_SYSTEMS})
            for e in doc['throughput']], ZERO_LOSS_SYSTEMS)
        per = bars(os.path.join(tmp, 'cpu.dat'), [
            ('%s\\n%s pairs/s%s' % (
                SHORT[e['traffic']], format(e['rate'], ','),
                ''.join('\\n%s not sustained' % NAMES[x] for x in CPU_SYSTEMS
                        if not e['sustained'][x] and e['per_pair_ns'][x])),
             e['per_pair_ns']) for e in doc['cpu']], CPU_SYSTEMS)
        lines = []
        for e in doc['latency']:
            if not e['cdf']:
                continue
            path = os.path.join(tmp, 'cdf-%s.dat' % e['system'])
            with open(path, 'w') as f:
                f.writelines('%.3f %.4f\n' % (v, q) for v, q in e['cdf'])
            lines.append("'%s' using 1:2 with lines lw 2 lc rgb '%s' "
                         "title '%s'" % (path, COLORS[e['system']],
                                         NAMES[e['system']]))
        script = PLOT % (png, thr, per, 'plot ' + ', '.join(lines)
                         if lines else NO_DATA)
        subprocess.run(['gnuplot'], input=script.encode(), check=True)


# gnuplot fails on a plot with no point at all: an empty panel instead
NO_DATA = ("set label 1 'no data' at graph 0.5,0.5 center\n"
           "plot [1:10] [0:1] 2 notitle\nunset label 1")
PLOT = """
set terminal pngcairo size 1400,1700 font ',10'
set output '%s'
set datafile missing '?'
set multiplot layout 3,1
set style data histograms
set style histogram errorbars gap 1 lw 1
set style fill solid 0.8 border -1
set grid ytics
set key top right
set xtics font ',8'
set yrange [0:*]
set title 'Zero-loss pairs per second (thousands): median, min-max bars'
%s
set title 'CPU time of the machine per pair (ns) at a fixed offered rate, 1 connection'
set yrange [*<0:*]
%s
set style data lines
set yrange [0:1]
set autoscale x
set logscale x
set xtics font ',10'
set title 'Added latency: CDF (us, log scale)'
set xlabel 'us, from the later frame of a pair entering to the primary leaving O'
set key bottom right
%s
unset multiplot
"""


def readme(path, text):
    with open(path) as f:
        old = f.read()
    if README_BEGIN not in old or README_END not in old:
        sys.exit('report: %s has no results markers' % path)
    head, rest = old.split(README_BEGIN, 1)
    tail = rest.split(README_END, 1)[1]
    with open(path, 'w') as f:
        f.write('%s%s\n\n%s\n%s\n\n%s%s' % (head, README_BEGIN, text,
                                            PLOT_LINK, README_END, tail))


if __name__ == '__main__':
    main()
