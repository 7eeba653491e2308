#!/bin/bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# colo-xdp replay on the captures colo-capgen writes: every scenario, fed
# alternating and all-primary-first, must decide what docs/semantics.md says
# (released frames, checkpoint reasons, what stays queued), and --write must
# hold exactly the released primary frames in order. Then every way a
# capture or a flag can be wrong: one message naming it, exit 2, nothing on
# stdout. No root needed.
. "$(dirname "$0")/lib.sh"

CAPGEN=$T_BUILD/colo-capgen
CHECK=$T_TMP/check.py

cat >"$CHECK" <<'EOF'
import json
import struct
import sys


def run(flags='', **exp):
    return flags, exp


# What replay must answer, scenario by scenario (colo-capgen --list has the
# same in words). released: exact order; ckpts: reasons of the requests
# that are not repeats (a dict when the feed order matters); at: side and
# index of the frame that caused the first; queued: (primary, secondary)
# still held at the end; chains: relative orders a flush must keep;
# within_ms: when the first request came, since the first frame.
ALL = 'all'
EXPECT = {
    'udp': [run(released=[0, 1, 2])],
    'icmp': [run(released=[0, 1])],
    'icmp6': [run(released=[0, 1])],
    'ip-proto': [run(released=[0, 1])],
    'tcp': [run(released=[0, 1, 2, 3, 4])],
    'tcp-2x1000-1x2000': [run(released=[0, 1])],
    'tcp-1x2000-2x1000': [run(released=[0])],
    'tcp-3x1000-2x1500': [run(released=[0, 1, 2])],
    'tcp-ack': [run(released=[0])],
    'tcp-ack-missing': [run(released=[], ckpts=['timeout'],
                            queued=([0], []))],
    'tcp-retrans': [run(released=[0, 1, 2],
                        counters={'retransmissions': ('>=', 1)})],
    'tcp-zero-payload': [run(released=[0, 1, 2])],
    'tcp-syn': [run(released=[0, 1], counters={'syn_held': 1})],
    'tcp-syn-missing': [run(released=[], ckpts=['timeout'],
                            queued=([0], []), counters={'syn_held': 1})],
    'tcp-fin-rst': [run(released=[0], ckpts=['mismatch'],
                        at=('secondary', 1), queued=([1], [1]))],
    'padding': [run(released=[0, 1])],
    'jumbo': [
        run(released=[0], ckpts=['mismatch'], at=('secondary', 1),
            queued=([1, 2], [1, 2])),
        run('--auto-checkpoint', released=[0, 1, 2],
            ckpts={'alternate': ['mismatch'],
                   'primary-first': ['mismatch', 'timeout']}),
    ],
    'mismatch': [
        run(released=[0], ckpts=['mismatch'], at=('secondary', 1),
            queued=([1, 2], [1, 2])),
        # primary-first: S2 arrives after the flush with nothing to meet
        run('--auto-checkpoint', released=[0, 1, 2],
            ckpts={'alternate': ['mismatch'],
                   'primary-first': ['mismatch', 'timeout']}),
    ],
    # asked by the clock, at the first scan once frame 2 is 3 s old
    'missing': [run(released=[0, 1], ckpts=['timeout'], queued=([2], []),
                    at=(None, None), within_ms=(3000, 4100))],
    'extra': [run(released=[0, 1], ckpts=['timeout'], queued=([], [2]))],
    'timeout': [
        run(released=[0, 1, 2], ckpts=['timeout']),
        run('--compare-timeout 10000', released=[0, 1, 2]),
    ],
    'flush-order': [run('-a', released=ALL, ckpts=['timeout'],
                        chains=[[0, 2], [1, 3], [5, 4]],
                        counters={'released_flush': 6})],
    'failover': [
        run('--failover-at 5', released=[0, 1, 2, 3, 4, 5],
            counters={'released_flush': ('>=', 1),
                      'failover_passed': ('>=', 1)}),
        run(released=[0, 1], ckpts=['timeout'], queued=([2, 3, 4, 5], [])),
    ],
    'queue-full': [run('--max-queue-size 4 -a', released=ALL,
                       ckpt_first='queue-full', at=('primary', 4))],
    # frame 2 waits for a slot; the flush frees one, and with no
    # secondary at all it then waits for the clock
    'table-full': [run('--max-connections 2 -a', released=ALL,
                       ckpts=['table-full', 'timeout'], at=('primary', 2))],
    'ipv6': [run(released=[0, 1, 2], counters={'compared': 3, 'passed': 0})],
    'vlan': [run(released=[0, 1, 2], counters={'compared': 3, 'passed': 0})],
    'vlan-differs': [run(released=[], ckpts=['timeout'], queued=([0], [0]))],
    'arp': [run(released=[0, 1],
                counters={'passed': 2, 'not_compared_dropped': 1,
                          'compared': 0})],
    'malformed': [run(released=ALL,
                      counters={'malformed_primary': 'nP',
                                'malformed_secondary': 'nS',
                                'passed': 'nP',
                                'not_compared_dropped': 'nS'})],
    'identical': [run(released=ALL)],
    'demo': [
        run(released=[0, 1, 2, 3, 4, 5, 6, 7], ckpts=['mismatch'],
            queued=([8, 9], [7, 8])),
        run('-a', released=ALL,
            ckpts={'alternate': ['mismatch'],
                   'primary-first': ['mismatch', 'timeout']}),
    ],
}


def pcap_frames(path):
    data = open(path, 'rb').read()
    for endian in '<>':
        magic, = struct.unpack(endian + 'I', data[:4])
        if magic in (0xa1b2c3d4, 0xa1b23c4d):
            break
    else:
        raise ValueError(path + ': not a pcap file')
    if struct.unpack(endian + 'I', data[20:24])[0] != 1:
        raise ValueError(path + ': not Ethernet')
    frames, off = [], 24
    while off < len(data):
        _, _, caplen, length = struct.unpack(endian + 'IIII',
                                             data[off:off + 16])
        off += 16
        frames.append(data[off:off + caplen])
        off += caplen
    return frames


def per_order(value, order):
    return value[order] if isinstance(value, dict) else value


def check(name, order, flags, exp, d, res, out):
    problems = []
    P = pcap_frames(d + '/primary.pcap')
    S = pcap_frames(d + '/secondary.pcap')
    nP, nS = len(P), len(S)
    c = res['counters']

    def want(what, got, expected):
        if got != expected:
            problems.append('%s: got %s, want %s' % (what, got, expected))

    rel = res['released']
    released = per_order(exp['released'], order)
    if released == ALL:
        if 'chains' in exp:
            want('released (as a set)', sorted(rel), list(range(nP)))
        else:
            want('released', rel, list(range(nP)))
    else:
        want('released', rel, released)
    for chain in exp.get('chains', []):
        pos = [rel.index(i) for i in chain if i in rel]
        want('flush order of %s' % chain, pos, sorted(pos))
    ck = res['checkpoints']
    new = [x['reason'] for x in ck if not x['repeat']]
    if 'ckpt_first' in exp:
        want('first checkpoint', new[:1], [exp['ckpt_first']])
    else:
        want('checkpoint requests', new, per_order(exp.get('ckpts', []),
                                                   order))
        if not new:
            want('checkpoint repeats', ck, [])
    if ck:
        want('first request marked new', ck[0]['repeat'], False)
    if 'at' in exp and ck:
        want('first request caused by', (ck[0].get('side'),
                                         ck[0].get('index')), exp['at'])
    if 'within_ms' in exp and ck:
        lo, hi = exp['within_ms']
        if not lo * 1e6 <= ck[0]['time_ns'] <= hi * 1e6:
            problems.append('first request at %d ns, not within %s ms'
                            % (ck[0]['time_ns'], exp['within_ms']))
    q = res['queued_at_end']
    qp, qs = exp.get('queued', ([], []))
    want('queued primary', q['primary'], qp)
    want('queued secondary', q['secondary'], qs)
    want('contract errors', res['contract_errors'], 0)
    want('frames in', (c['frames_in_primary'], c['frames_in_secondary']),
         (nP, nS))
    # no primary may vanish: each is released or still queued, once
    want('every primary accounted for once',
         sorted(rel + q['primary']), list(range(nP)))
    for key, value in exp.get('counters', {}).items():
        got = c[key]
        value = {'nP': nP, 'nS': nS}.get(value, value)
        if isinstance(value, tuple):
            if not got >= value[1]:
                problems.append('counter %s: got %s, want >= %s'
                                % (key, got, value[1]))
        else:
            want('counter ' + key, got, value)
    label = '%s %s%s' % (name, order, ' ' + flags if flags else '')
    if problems:
        print('FAIL - %s: %s' % (label, '; '.join(problems)))
    else:
        print('ok - %s: decisions' % label)
    written = pcap_frames(out)
    if written == [P[i] for i in rel if i < nP]:
        print('ok - %s: --write holds the released frames' % label)
    else:
        print('FAIL - %s: --write holds %d frames, not the %d released'
              % (label, len(written), len(rel)))


cmd = sys.argv[1]
if cmd == 'runs':
    for name, runs in EXPECT.items():
        for i, (flags, _) in enumerate(runs):
            print('%s\t%d\t%s' % (name, i, flags))
elif cmd == 'listed':
    listed = [line.split('\t')[0] for line in open(sys.argv[2])]
    if sorted(listed) != sorted(EXPECT):
        print('capgen lists %s, the suite checks %s'
              % (sorted(listed), sorted(EXPECT)))
        sys.exit(1)
elif cmd == 'check':
    name, i, order, d, res, out = sys.argv[2:8]
    flags, exp = EXPECT[name][int(i)]
    check(name, order, flags, exp, d, json.load(open(res)), out)
elif cmd == 'same-frames':
    sys.exit(pcap_frames(sys.argv[2]) != pcap_frames(sys.argv[3]))
elif cmd == 'json':
    # json FILE EXPR: EXPR on the parsed object r must be true
    r = json.load(open(sys.argv[2]))
    sys.exit(0 if eval(sys.argv[3]) else 1)
elif cmd == 'retime':
    # retime IN OUT: every record at the same instant
    data = bytearray(open(sys.argv[2], 'rb').read())
    off = 24
    while off < len(data):
        caplen, = struct.unpack('<I', data[off + 8:off + 12])
        data[off:off + 8] = struct.pack('<II', 1700000000, 0)
        off += 16 + caplen
    open(sys.argv[3], 'wb').write(data)
elif cmd == 'tiny':
    # tiny DIR RESULT: every primary frame released once, none left
    r = json.load(open(sys.argv[3]))
    n = len(pcap_frames(sys.argv[2] + '/primary.pcap'))
    ok = (sorted(r['released']) == list(range(n)) and
          not r['queued_at_end']['primary'] and
          not any(r['unread_at_end'].values()))
    if not ok:
        print('released %s of %d, queued %s, unread %s'
              % (r['released'], n, r['queued_at_end'],
                 r['unread_at_end']))
    sys.exit(0 if ok else 1)
elif cmd == 'burst':
    # burst DIR CONNS SEGS: CONNS TCP connections of SEGS 100-byte
    # segments each, sent round-robin; the primary sends all of its
    # frames first, then the secondary the same ones
    d, conns, segs = sys.argv[2], int(sys.argv[3]), int(sys.argv[4])

    def csum(b):
        s = sum(struct.unpack('!%dH' % (len(b) // 2), b))
        s = (s >> 16) + (s & 0xffff)
        return ~(s + (s >> 16)) & 0xffff

    frames = []
    for seg in range(segs):
        for c in range(conns):
            tcp = struct.pack('!HHIIBBHHH', 10000 + c % 50000,
                              80 + c // 50000, 1000 + seg * 100, 1, 0x50,
                              0x18, 65535, 0, 0) + bytes([c & 0xff]) * 100
            ip = struct.pack('!BBHHHBBH4s4s', 0x45, 0, 20 + len(tcp), 0,
                             0x4000, 64, 6, 0, bytes([10, 0, 0, 1]),
                             bytes([10, 0, 0, 2]))
            ip = ip[:10] + struct.pack('!H', csum(ip)) + ip[12:]
            frames.append(bytes.fromhex('525400000002525400000001'
                                        '0800') + ip + tcp)
    for name, t0 in (('primary', 0), ('secondary', 100)):
        with open(d + '/' + name + '.pcap', 'wb') as f:
            f.write(struct.pack('<IHHiIII', 0xa1b2c3d4, 2, 4, 0, 0, 65535,
                                1))
            for i, fr in enumerate(frames):
                f.write(struct.pack('<IIII', 1700000000 + t0, i,
                                    len(fr), len(fr)))
                f.write(fr)
elif cmd == 'pcap':
    # pcap OUT LINKTYPE MAGIC RECORD...: a capture for the error cases;
    # RECORD is caplen:len, and caplen bytes of an IPv4/UDP frame are
    # written
    out, link, magic = sys.argv[2], int(sys.argv[3]), int(sys.argv[4], 16)
    frame = bytes.fromhex('5254006543215254001234560800'
                          '45000020000000004011000a0a0000010a000002'
                          '0035dead000c0000') + b'abcd' + bytes(26)
    with open(out, 'wb') as f:
        f.write(struct.pack('<IHHiIII', magic, 2, 4, 0, 0, 65535, link))
        for rec in sys.argv[5:]:
            caplen, length = map(int, rec.split(':'))
            f.write(struct.pack('<IIII', 1700000000, 0, caplen, length))
            f.write(frame[:caplen])
EOF

# Python's verdict lines, counted here.
t_report() {
	local line
	while read -r line; do
		case $line in
		"ok - "*) t_ok "${line#ok - }" ;;
		"FAIL - "*) t_fail "${line#FAIL - }" ;;
		*) echo "$line" ;;
		esac
	done
}

# REPLAY_AS: a command prefix to run replay as another user
REPLAY_AS=()
replay() {
	"${REPLAY_AS[@]}" "$COLO_XDP" replay "$@"
}

"$CAPGEN" --list >"$T_TMP/list"
t_check "colo-capgen lists exactly the scenarios checked here" \
	python3 "$CHECK" listed "$T_TMP/list"

for order in alternate primary-first; do
	while IFS=$'\t' read -r -u 3 sc run flags; do
		dir=$T_TMP/$sc-$order
		if [[ ! -d $dir ]] &&
			! "$CAPGEN" "$sc" "$dir" --order "$order"; then
			t_fail "$sc $order: colo-capgen failed"
			continue
		fi
		res=$dir/replay-$run.json
		# shellcheck disable=SC2086 # flags are words
		if replay -p "$dir/primary.pcap" -s "$dir/secondary.pcap" \
			-w "$dir/out-$run.pcap" $flags >"$res" 2>"$dir/err"; then
			verdict=$(python3 "$CHECK" check "$sc" "$run" "$order" \
				"$dir" "$res" "$dir/out-$run.pcap" 2>&1) ||
				t_fail "$sc $order $flags: the checker failed"
			t_report <<<"$verdict"
		else
			t_fail "$sc $order $flags: replay exited $?"
			cat "$dir/err"
		fi
	done 3< <(python3 "$CHECK" runs)
done

# A full engine makes a side wait, never loses a frame: 80,000 frames of
# 1,000 TCP connections from the primary before any of the secondary's,
# with the default limits (QEMU loses all of them; a dropping engine lost
# 4,464), are all compared and released, in the order sent.
mkdir -p "$T_TMP/burst"
python3 "$CHECK" burst "$T_TMP/burst" 1000 80
if replay -p "$T_TMP/burst/primary.pcap" -s "$T_TMP/burst/secondary.pcap" \
	>"$T_TMP/burst.json"; then
	t_check "80,000 primary frames first: every one compared and released, in order" \
		python3 "$CHECK" json "$T_TMP/burst.json" \
		"r['released'] == list(range(80000)) and \
		r['counters']['compared'] == 80000 and \
		r['counters']['refused_no_buffers'] > 0 and \
		not any(r['queued_at_end'].values()) and \
		not any(r['unread_at_end'].values())"
else
	t_fail "80,000 primary frames first: replay exited $?"
fi
# Every scenario, primary first, through an engine far smaller than it:
# what waited is taken later, nothing is lost.
for dir in "$T_TMP"/*-primary-first; do
	sc=${dir##*/}
	replay -p "$dir/primary.pcap" -s "$dir/secondary.pcap" -a \
		--max-queue-size 1 --max-frames 2 >"$dir/tiny.json" 2>/dev/null
	t_check "${sc%-primary-first} through a 2-frame engine: every primary frame released" \
		python3 "$CHECK" tiny "$dir" "$dir/tiny.json"
done

# --write is nanosecond pcap: read back, it replays against itself clean.
d=$T_TMP/identical-alternate
if replay -p "$d/out-0.pcap" -s "$d/out-0.pcap" >"$T_TMP/nano.json"; then
	t_check "a nanosecond capture (replay's own --write) replays clean" \
		python3 "$CHECK" json "$T_TMP/nano.json" \
		"r['released'] == list(range(9)) and not r['checkpoints']"
else
	t_fail "a nanosecond capture (replay's own --write) replays clean"
fi
# Equal timestamps: the primary's frame goes first, so the secondary's
# frame 1 is the one that finds the difference.
d=$T_TMP/mismatch-alternate
python3 "$CHECK" retime "$d/primary.pcap" "$T_TMP/tie-p.pcap"
python3 "$CHECK" retime "$d/secondary.pcap" "$T_TMP/tie-s.pcap"
if replay -p "$T_TMP/tie-p.pcap" -s "$T_TMP/tie-s.pcap" >"$T_TMP/tie.json"; then
	t_check "on equal timestamps the primary's frame is input first" \
		python3 "$CHECK" json "$T_TMP/tie.json" \
		"r['checkpoints'][0].get('side') == 'secondary' and \
		r['checkpoints'][0].get('index') == 1"
else
	t_fail "on equal timestamps the primary's frame is input first"
fi
python3 "$CHECK" pcap "$T_TMP/empty.pcap" 1 a1b2c3d4
if replay -p "$T_TMP/empty.pcap" -s "$T_TMP/empty.pcap" >"$T_TMP/empty.json"
then
	t_check "two empty captures replay to nothing" \
		python3 "$CHECK" json "$T_TMP/empty.json" \
		"not r['released'] and not r['checkpoints'] and \
		r['counters']['frames_in_primary'] == 0 and \
		r['counters']['frames_in_secondary'] == 0"
else
	t_fail "two empty captures replay to nothing"
fi
d=$T_TMP/identical-alternate
t_check "tcpdump reads --write output" \
	tcpdump -nn -r "$d/out-0.pcap" -c 1 -w /dev/null 2>/dev/null

# expect_usage NAME WORD ARGS...: exit 2, nothing on stdout, one stderr
# line naming WORD (the file or the flag).
expect_usage() {
	local name=$1 word=$2 rc
	shift 2
	replay "$@" >"$T_TMP/out" 2>"$T_TMP/err"
	rc=$?
	if ((rc == 2)) && [[ ! -s $T_TMP/out ]] &&
		[[ $(wc -l <"$T_TMP/err") -eq 1 ]] &&
		grep -qF -- "$word" "$T_TMP/err"; then
		t_ok "$name"
	else
		t_fail "$name (exit $rc, stderr: $(cat "$T_TMP/err"))"
	fi
}

P=$T_TMP/udp-alternate/primary.pcap
S=$T_TMP/udp-alternate/secondary.pcap
E=$T_TMP/errors
mkdir -p "$E"
python3 "$CHECK" pcap "$E/raw-ip.pcap" 101 a1b2c3d4 60:60
python3 "$CHECK" pcap "$E/short-record.pcap" 1 a1b2c3d4 60:60 40:60
head -c $(($(stat -c %s "$P") - 10)) "$P" >"$E/cut.pcap"
head -c 20 "$P" >"$E/cut-header.pcap"
echo "not a capture" >"$E/text.pcap"

expect_usage "missing primary file" "$E/none.pcap" -p "$E/none.pcap" -s "$S"
expect_usage "missing secondary file" "$E/none.pcap" -p "$P" -s "$E/none.pcap"
# root reads any file: run as nobody for the permission to bite
cp "$P" "$E/locked.pcap"
chmod 000 "$E/locked.pcap"
chmod 711 "$T_TMP" "$E"
if (($(id -u) == 0)); then
	REPLAY_AS=(setpriv --reuid=65534 --regid=65534 --clear-groups)
fi
expect_usage "unreadable file" "$E/locked.pcap: Permission denied" \
	-p "$P" -s "$E/locked.pcap"
REPLAY_AS=()
expect_usage "a directory as a capture" "$E" -p "$P" -s "$E"
expect_usage "a text file as a capture" "$E/text.pcap" -p "$E/text.pcap" \
	-s "$S"
expect_usage "non-Ethernet link type" "$E/raw-ip.pcap" -p "$E/raw-ip.pcap" \
	-s "$S"
expect_usage "truncated record named by index" "record 1" -p "$P" \
	-s "$E/short-record.pcap"
expect_usage "file cut inside a record" "$E/cut.pcap" -p "$E/cut.pcap" \
	-s "$S"
expect_usage "file cut inside its header" "$E/cut-header.pcap" \
	-p "$E/cut-header.pcap" -s "$S"
expect_usage "unknown flag" "--bogus" -p "$P" -s "$S" --bogus
expect_usage "unknown short flag" "-x" -p "$P" -s "$S" -x
expect_usage "flag without its value" "--compare-timeout" -p "$P" -s "$S" \
	--compare-timeout
expect_usage "bad number" "--compare-timeout" -p "$P" -s "$S" \
	--compare-timeout 3s
expect_usage "zero where 1 is the least" "--max-queue-size" -p "$P" -s "$S" \
	--max-queue-size 0
expect_usage "number out of range" "--max-connections" -p "$P" -s "$S" \
	--max-connections 99999999999
expect_usage "negative number" "--failover-at" -p "$P" -s "$S" \
	--failover-at -1
expect_usage "missing --primary" "--primary" -s "$S"
expect_usage "missing --secondary" "--secondary" -p "$P"
expect_usage "stray argument" "extra" -p "$P" -s "$S" extra
expect_usage "--write where no file can be made" "$E/no/dir/out.pcap" \
	-p "$P" -s "$S" -w "$E/no/dir/out.pcap"

replay --help >"$T_TMP/help" 2>&1
t_check "--help exits 0 and states the defaults" \
	grep -q "compare-timeout MS.*default 3000" "$T_TMP/help"

t_done
