#!/usr/bin/env python3
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""Turn bench/run.sh's raw results into bench.json, table.md and bench.png.

Every figure is the median of the runs, with their min and max. With
--readme, the part of that file between the results markers is replaced by
the new table and plot.
"""
import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time

TRAFFIC = {
    'udp64': '64-byte UDP',
    'udp1500': '1500-byte UDP',
    'tcp1448': 'TCP, 1448-byte segments',
}
CONNS = [1, 1000, 1000000]
SYSTEMS = ['colo-xdp', 'forward', 'qemu', 'source']
LAT_SYSTEMS = ['colo-xdp', 'forward', 'source']
LAT_NAMES = {'colo-xdp': 'colo-xdp', 'forward': 'forward-only',
             'source': 'source alone (the method\'s floor)'}
LAT_KEYS = [('p50_us', 'p50'), ('p99_us', 'p99'), ('p999_us', 'p99.9')]
CDF_POINTS = 400
README_BEGIN = '<!-- bench results: written by bench/report.py -->'
README_END = '<!-- end of bench results -->'


def stat(values):
    return {'median': statistics.median(values), 'min': min(values),
            'max': max(values), 'runs': values}


def machine():
    cpu = 'unknown CPU'
    with open('/proc/cpuinfo') as f:
        for line in f:
            if line.startswith('model name'):
                cpu = line.split(':', 1)[1].strip()
                break
    return {
        'cpu': cpu,
        'cpus': os.cpu_count(),
        'kernel': platform.release(),
        'load_average': os.getloadavg(),
        'date': time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime()),
    }


def fmt_rate(s):
    if s is None:
        return 'n/a'
    k = lambda v: '%.1fk' % (v / 1e3) if v < 1e6 else '%.2fM' % (v / 1e6)
    return '%s (%s-%s)' % (k(s['median']), k(s['min']), k(s['max']))


def fmt_lat(s):
    return '%.1f (%.1f-%.1f)' % (s['median'], s['min'], s['max'])


def ratio(a, b):
    return a['median'] / b['median'] if a and b and b['median'] else None


def fmt_ratio(r):
    return 'n/a' if r is None else '%.2f' % r


def quantiles(path):
    with open(path) as f:
        v = [float(x) for x in f if x.strip()]
    n = len(v)
    pts = []
    for i in range(CDF_POINTS + 1):
        q = i / CDF_POINTS
        pts.append([v[min(n - 1, int(q * (n - 1)))], q])
    return pts


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--results', required=True)
    ap.add_argument('--samples', required=True)
    ap.add_argument('--out', required=True)
    ap.add_argument('--runs', type=int, required=True)
    ap.add_argument('--window', type=int, required=True)
    ap.add_argument('--lat-rate', type=int, required=True)
    ap.add_argument('--cpus', required=True)
    ap.add_argument('--qemu', required=True)
    ap.add_argument('--load', type=float, required=True)
    ap.add_argument('--rt-prio', type=int, required=True)
    ap.add_argument('--failed-attempts', type=int, required=True)
    ap.add_argument('--readme')
    a = ap.parse_args()

    rows = [json.loads(line) for line in open(a.results)]
    thr, lat = {}, {}
    for r in rows:
        key = (r['system'], r['traffic'], r['conns'])
        if r['mode'] == 'throughput':
            thr.setdefault(key, []).append(r)
        else:
            lat.setdefault(r['system'], []).append(r)

    def rate(system, traffic, conns):
        runs = thr.get((system, traffic, conns))
        return stat([r['pairs_per_s'] for r in runs]) if runs else None

    src_cpu, cmp_cpu = a.cpus.split(',')
    doc = {
        'machine': machine(),
        'setup': {
            'runs': a.runs, 'window_pairs': a.window,
            'latency_rate_pairs_per_s': a.lat_rate,
            'source_cpu': int(src_cpu), 'comparator_cpu': int(cmp_cpu),
            'qemu': a.qemu,
        },
        'throughput': [], 'latency': [], 'targets': [],
    }
    doc['setup']['load_average_at_start'] = a.load
    doc['setup']['comparator_sched_fifo_priority'] = a.rt_prio
    doc['setup']['failed_attempts_retried'] = a.failed_attempts
    table = ['| traffic | connections | source alone | forward-only | '
             'colo-xdp | QEMU | colo-xdp/QEMU | colo-xdp/forward |',
             '|---|---:|---:|---:|---:|---:|---:|---:|']
    for t in TRAFFIC:
        for c in CONNS:
            s = {x: rate(x, t, c if x in ('colo-xdp', 'qemu') else 1)
                 for x in SYSTEMS}
            rq = ratio(s['colo-xdp'], s['qemu'])
            rf = ratio(s['colo-xdp'], s['forward'])
            doc['throughput'].append({
                'traffic': t, 'conns': c,
                'pairs_per_s': {x: s[x] for x in SYSTEMS},
                'colo_xdp_over_qemu': rq, 'colo_xdp_over_forward': rf,
                'stalls': sum(r['stalls'] for r in
                              thr.get(('colo-xdp', t, c), [])),
            })
            table.append('| %s | %s | %s | %s | %s | %s | %s | %s |' % (
                TRAFFIC[t], format(c, ','), fmt_rate(s['source']),
                fmt_rate(s['forward']), fmt_rate(s['colo-xdp']),
                fmt_rate(s['qemu']) if c <= 16384 else
                'n/a (table holds 16384)', fmt_ratio(rq), fmt_ratio(rf)))
    stalls = {x: sum(r.get('stalls', 0) for k, v in thr.items()
                     if k[0] == x for r in v) for x in SYSTEMS}
    table += ['', 'Pairs per second, median (min-max) of %d runs; '
              'source alone and forward-only do not track connections '
              '(measured with 1). Windows written off (in-flight pairs that '
              'never arrived, 200 ms lost each): %s. Failed attempts measured '
              'again: %d.' % (
                  a.runs, ', '.join('%s %d' % (x, stalls[x])
                                    for x in SYSTEMS), a.failed_attempts),
              '',
              '| added latency at %s pairs/s, us | p50 | p99 | p99.9 |'
              % format(a.lat_rate, ','), '|---|---:|---:|---:|']
    cdf = {}
    for x in LAT_SYSTEMS:
        runs = lat.get(x)
        if not runs:
            continue
        ent = {'system': x}
        for k, _ in LAT_KEYS:
            ent[k] = stat([r[k] for r in runs])
        doc['latency'].append(ent)
        table.append('| %s | %s |' % (
            LAT_NAMES[x], ' | '.join(fmt_lat(ent[k]) for k, _ in LAT_KEYS)))
        # the CDF of the run whose p99 is the median one
        med = sorted(runs, key=lambda r: r['p99_us'])[len(runs) // 2]
        cdf[x] = quantiles(os.path.join(a.samples, 'lat-%s-%d.txt'
                                        % (x, med['run'])))
        ent['cdf'] = cdf[x]

    def target(name, value, goal, ok):
        doc['targets'].append({'target': name, 'value': value, 'goal': goal,
                               'met': None if value is None else ok(value)})
    get = lambda t, c: next(e for e in doc['throughput']
                            if e['traffic'] == t and e['conns'] == c)
    target('colo-xdp/QEMU, 64-byte UDP, 1 connection',
           get('udp64', 1)['colo_xdp_over_qemu'], '>= 10',
           lambda v: v >= 10)
    for t in TRAFFIC:
        target('colo-xdp/forward-only, %s, 1 connection' % TRAFFIC[t],
               get(t, 1)['colo_xdp_over_forward'], '>= 0.85',
               lambda v: v >= 0.85)
    colo_lat = next((e for e in doc['latency']
                     if e['system'] == 'colo-xdp'), None)
    target('colo-xdp p99 added latency (us)',
           colo_lat['p99_us']['median'] if colo_lat else None, '<= 20',
           lambda v: v <= 20)
    for t in TRAFFIC:
        one = get(t, 1)['pairs_per_s']['colo-xdp']
        mil = get(t, 1000000)['pairs_per_s']['colo-xdp']
        target('colo-xdp 1,000,000 / 1 connection, %s' % TRAFFIC[t],
               ratio(mil, one), '>= 0.7', lambda v: v >= 0.7)
    table += ['', '| target | measured | goal | met |', '|---|---:|---:|---|']
    for g in doc['targets']:
        v = g['value']
        table.append('| %s | %s | %s | %s |' % (
            g['target'], 'n/a' if v is None else '%.2f' % v, g['goal'],
            {True: 'yes', False: '**no**', None: 'n/a'}[g['met']]))
    m = doc['machine']
    table += ['', 'Machine: %s, %d CPUs, kernel %s, load average %.2f at '
              'the start and %.2f at the end (a shared machine); %s. Source '
              'on CPU %s, comparator on CPU %s (%s); window %d pairs; %s.' % (
                  m['cpu'], m['cpus'], m['kernel'], a.load,
                  m['load_average'][0], m['date'], src_cpu, cmp_cpu,
                  'SCHED_FIFO %d' % a.rt_prio if a.rt_prio else
                  'SCHED_OTHER', a.window, a.qemu)]
    text = '\n'.join(table) + '\n'

    os.makedirs(a.out, exist_ok=True)
    with open(os.path.join(a.out, 'bench.json'), 'w') as f:
        json.dump(doc, f, indent=1)
    with open(os.path.join(a.out, 'table.md'), 'w') as f:
        f.write(text)
    plot(doc, cdf, a.out)
    print(text)
    if a.readme:
        readme(a.readme, text)


def plot(doc, cdf, out):
    """Two panels: pairs/s per traffic and connections; latency CDF."""
    bars = os.path.join(out, 'bars.dat')
    with open(bars, 'w') as f:
        f.write('case colo-xdp forward-only QEMU source\n')
        for e in doc['throughput']:
            p = e['pairs_per_s']
            v = [p[x]['median'] / 1e3 if p[x] else 0
                 for x in ('colo-xdp', 'forward', 'qemu', 'source')]
            f.write('"%s\\n%s conns" %s\n' % (
                e['traffic'], format(e['conns'], ','),
                ' '.join('%.3f' % x for x in v)))
    lines = []
    for x, pts in cdf.items():
        path = os.path.join(out, 'cdf-%s.dat' % x)
        with open(path, 'w') as f:
            f.writelines('%.3f %.4f\n' % (v, q) for v, q in pts)
        lines.append("'%s' using 1:2 with lines lw 2 title '%s'"
                     % (path, LAT_NAMES[x].split(' (')[0]))
    script = """
set terminal pngcairo size 1400,1000 font ',10'
set output '%s'
set multiplot layout 2,1
set title 'Pairs per second (thousands), median of the runs'
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set logscale y
set yrange [1:*]
set grid ytics
set key top right
set xtics font ',8'
plot '%s' using 2:xtic(1) title columnheader, '' using 3 title columnheader, \
     '' using 4 title columnheader, '' using 5 title columnheader
unset logscale y
set yrange [0:1]
set autoscale x
set logscale x
set title 'Added latency at a low rate: CDF (us)'
set xlabel 'us, from the later frame of a pair entering to the primary leaving O'
set key bottom right
plot %s
unset multiplot
""" % (os.path.join(out, 'bench.png'), bars, ', '.join(lines) or '0')
    subprocess.run(['gnuplot'], input=script.encode(), check=True)
    os.remove(bars)
    for x in cdf:
        os.remove(os.path.join(out, 'cdf-%s.dat' % x))


def readme(path, text):
    with open(path) as f:
        old = f.read()
    if README_BEGIN not in old or README_END not in old:
        sys.exit('report: %s has no results markers' % path)
    head, rest = old.split(README_BEGIN, 1)
    tail = rest.split(README_END, 1)[1]
    new = '%s%s\n\n%s\n![pairs per second and latency CDF](results/bench.png)\n\n%s%s' % (
        head, README_BEGIN, text, README_END, tail)
    with open(path, 'w') as f:
        f.write(new)


if __name__ == '__main__':
    main()
