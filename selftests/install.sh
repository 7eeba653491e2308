#!/bin/bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# make install into a DESTDIR, then the installed colo-xdp on real traffic
# (namespaces on veths, tools/colo-netns.sh) the way its systemd unit
# starts it: the unit's own ExecStart with an instance name, its config
# file, its capabilities and nothing more. Around it: the manual pages, the
# bash completion, the config file's errors, --metrics scraped during
# traffic against `stat --json`, a metrics port taken, a crash taken over
# as Restart= does it (the keeper left alive, KillMode=process), and make
# uninstall leaving nothing.
. "$(dirname "$0")/lib.sh"
. "$T_TOP/tools/colo-netns.sh"
CN_ON_EXIT=t_on_exit
VMSEND=$T_BUILD/colo-vmsend
t_skip_unless_root

D=$T_TMP/root
PREFIX=/usr
UNITS=$D$PREFIX/lib/systemd/system
BIN=$D$PREFIX/sbin/colo-xdp
export MANPATH=$D$PREFIX/share/man

# --- make install / the files ---------------------------------------------
if ! make -s -C "$T_TOP" BUILD="$T_BUILD" PREFIX=$PREFIX DESTDIR="$D" \
	install >"$T_TMP/install.log" 2>&1; then
	t_fail "make install: $(tail -5 "$T_TMP/install.log")"
	t_done
fi
t_ok "make install DESTDIR PREFIX=/usr"
for f in sbin/colo-xdp lib/colo-xdp/colo_steer.bpf.o \
	share/man/man8/colo-xdp.8 share/man/man8/colo-xdp-run.8 \
	share/man/man8/colo-xdp-secondary.8 share/man/man8/colo-xdp-stat.8 \
	share/man/man8/colo-xdp-ctl.8 share/man/man8/colo-xdp-replay.8 \
	share/man/man5/colo-xdp.conf.5 lib/systemd/system/colo-xdp@.service \
	lib/systemd/system/colo-xdp-secondary@.service \
	share/bash-completion/completions/colo-xdp; do
	[[ -s $D$PREFIX/$f ]] || t_fail "installed: $PREFIX/$f is missing"
done
t_ok "installed: binary, BPF object, 7 manual pages, 2 units, completion"
t_check "colo_steer.bpf.o has the section 'ip link ... sec xdp.frags' loads" \
	bash -c "readelf -S '$D$PREFIX/lib/colo-xdp/colo_steer.bpf.o' | grep -qw xdp"

# --- manual pages ---------------------------------------------------------
if command -v man >/dev/null; then
	t_check "man colo-xdp-run finds the installed page" \
		bash -c "[[ \$(man -w colo-xdp-run) == '$D$PREFIX/share/man/man8/colo-xdp-run.8' ]]"
	for cmd in run secondary stat ctl replay; do
		flags=$("$BIN" $cmd --help | grep -oE '^ +(-[a-zA-Z], )?--[a-z0-9-]+' |
			grep -oE -- '--[a-z0-9-]+' | sort -u)
		page=$(MANWIDTH=200 man colo-xdp-$cmd 2>/dev/null)
		miss=$(for f in $flags; do grep -qe "$f" <<<"$page" || echo "$f"; done)
		if [[ -n $flags && -z $miss ]]; then
			t_ok "man colo-xdp-$cmd: every flag of --help ($(wc -w <<<"$flags"))"
		else
			t_fail "man colo-xdp-$cmd lacks: $miss"
		fi
	done
	t_check "man colo-xdp.conf: the format" \
		bash -c "man 5 colo-xdp.conf 2>/dev/null | grep -q 'key = value'"
else
	t_skip "man is not installed (make deps installs man-db): pages not read"
fi

# --- bash completion ------------------------------------------------------
complete_of() {
	bash -c '. "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1))
		_colo_xdp; echo "${COMPREPLY[*]}"' _ \
		"$D$PREFIX/share/bash-completion/completions/colo-xdp" "$BIN" "$@"
}
t_check "completion: a command" \
	bash -c "[[ '$(complete_of se)' == 'secondary' ]]"
t_check "completion: a flag of run" \
	bash -c "[[ '$(complete_of run --metr)' == '--metrics' ]]"
t_check "completion: the words of a flag" \
	bash -c "[[ '$(complete_of run --xdp-mode '')' == 'native skb' ]]"

# --- systemd --------------------------------------------------------------
# The units as installed, but run from DESTDIR: ExecStart names the
# installed binary, its configs under $T_TMP/etc.
ETC=$T_TMP/etc/colo-xdp
mkdir -p "$ETC" "$T_TMP/units"
for u in colo-xdp@.service colo-xdp-secondary@.service; do
	sed "s|$PREFIX/sbin/colo-xdp|$BIN|; s|/etc/colo-xdp|$ETC|g" \
		"$UNITS/$u" >"$T_TMP/units/$u"
done
if command -v systemd-analyze >/dev/null; then
	for u in colo-xdp@.service colo-xdp-secondary@.service; do
		if systemd-analyze verify "$T_TMP/units/$u" >"$T_TMP/verify.log" 2>&1; then
			t_ok "systemd-analyze verify $u"
		else
			t_fail "systemd-analyze verify $u: $(cat "$T_TMP/verify.log")"
		fi
	done
else
	t_skip "systemd-analyze is missing (make deps installs systemd): units not verified"
fi
pid1=$(cat /proc/1/comm)
if [[ $pid1 == systemd ]] &&
	[[ $(systemctl is-system-running 2>/dev/null) =~ ^(running|degraded)$ ]]; then
	t_skip "systemd runs here, but starting units would touch the host's /etc and pins: started by hand instead, below"
else
	t_skip "no systemd to start the units here (PID 1 is '$pid1', systemctl says '$(systemctl is-system-running 2>&1)'): their ExecStart is run by hand below, with their capabilities"
fi

# unit_cmd UNIT INSTANCE: its ExecStart, %i filled in
unit_cmd() {
	sed -n 's/^ExecStart=//p' "$T_TMP/units/$1" | sed "s/%i/$2/g"
}
# unit_caps UNIT: its AmbientCapabilities, as capsh takes them
unit_caps() {
	sed -n 's/^AmbientCapabilities=//p' "$T_TMP/units/$1" |
		tr 'A-Z ' 'a-z,'
}
CAPS=$(unit_caps colo-xdp@.service)
# as the unit: no capability beyond its set, in effect and ambient; capsh
# and the shell exec, so the pid started is the loader's
AS_UNIT=(capsh --caps="$CAPS+eip" --addamb="$CAPS" -- -c 'exec "$@"' _)

# --- the config file's errors ---------------------------------------------
bad_conf() {
	local name=$1 want=$2 out rc
	shift 2
	printf '%s\n' "$@" >"$ETC/bad.conf"
	out=$("$BIN" run --config "$ETC/bad.conf" 2>&1)
	rc=$?
	if ((rc == 2)) && grep -q -- "$want" <<<"$out"; then
		t_ok "config: $name: exit 2, says where and how"
	else
		t_fail "config: $name: exit $rc: $out"
	fi
}
bad_conf "an unknown key" "bad.conf:2: unknown key 'queu': the keys are the long flags of 'colo-xdp run'" \
	"# a comment" "queu = 1"
bad_conf "a bad value" "bad.conf:3: fix the value of 'queue'" \
	"" "outdev = x" "queue = many"
bad_conf "a value for a flag that takes none" \
	"bad.conf:1: 'busy-poll' takes no value: write 'busy-poll' alone" \
	"busy-poll = yes"
bad_conf "a key without its value" "bad.conf:1: 'outdev' needs a value: write 'outdev = IF'" \
	"outdev ="
bad_conf "a config key (files do not nest)" \
	"bad.conf:1: a config file cannot name another: key 'config'" \
	"config = $ETC/other.conf"
out=$("$BIN" run --config "$ETC/nowhere.conf" 2>&1)
t_check "config: a file that is not there is named" \
	grep -q "nowhere.conf: No such file or directory: write it" <<<"$out"

# --- the installed binary on real traffic, as its unit starts it --------
cn_veth_topology "$T_PREFIX" || {
	t_fail "build the namespaces"
	t_done
}
INST=${T_PREFIX}i
PIN=/sys/fs/bpf/colo-xdp/$INST
t_on_exit "rm -rf $PIN"
cat >"$ETC/$INST.conf" <<CONF
# the pair of $T_PREFIX: systemctl start colo-xdp@$INST
primary-in = $CN_P
secondary-in = $CN_S
outdev = $CN_O
metrics = 127.0.0.1:0
control = $T_TMP/ctl.sock
CONF
CMD=$(unit_cmd colo-xdp@.service "$INST")
LOG=$T_TMP/run.log
# shellcheck disable=SC2086 # the unit's command line, split as systemd does
t_bg "${AS_UNIT[@]}" $CMD >"$LOG" 2>&1
RUN=$T_LAST_PID
if ! cn_wait_log "$LOG" "^comparing"; then
	t_fail "the unit's command line starts: $(cat "$LOG")"
	t_done
fi
t_ok "the unit's command line starts with the unit's capabilities only ($CAPS)"
PORT=$(sed -n 's|^metrics on http://127.0.0.1:\([0-9]*\)/metrics|\1|p' "$LOG")
t_check "the pins are named after the instance" test -d "$PIN"

stat_json() { "$BIN" stat --pin-path "$PIN" --json; }
scrape() {
	python3 -c 'import sys, urllib.request
sys.stdout.write(urllib.request.urlopen(sys.argv[1], timeout=5).read().decode())' \
		"http://127.0.0.1:$PORT/metrics"
}
# check_scrape A.json SCRAPE B.json MODE: every counter of stat --json in
# the scrape, once, with its TYPE; MODE between: each total from A to B,
# MODE equal: each value as in A.
check_scrape() {
	python3 - "$@" <<'PY'
import json, re, sys
a, b = (json.load(open(f))["instances"][0] for f in (sys.argv[1], sys.argv[3]))
text, mode = open(sys.argv[2]).read(), sys.argv[4]
types, vals = {}, {}
for line in text.splitlines():
    m = re.match(r'# TYPE (\S+) (\S+)$', line)
    if m:
        types[m[1]] = m[2]
        continue
    if line.startswith('#'):
        continue
    m = re.match(r'(\w+)\{([^}]*)\} (\d+)$', line)
    assert m, 'not a sample: ' + line
    labels = dict(re.findall(r'(\w+)="([^"]*)"', m[2]))
    vals[(m[1], labels.get('side'))] = int(m[3])
    assert labels['instance'] == a['pin_path'].rsplit('/', 1)[1], line
    assert labels['role'] == 'primary', line
bad = []
def check(group, name, va, vb, gauge, side=None):
    metric = 'colo_xdp_%s_%s%s' % (group, name, '' if gauge else '_total')
    if types.get(metric) != ('gauge' if gauge else 'counter'):
        bad.append('TYPE of %s: %s' % (metric, types.get(metric)))
    v = vals.get((metric, side))
    if v is None:
        bad.append('missing %s %s' % (metric, side))
    elif mode == 'equal' and v != va:
        bad.append('%s %s: %d, stat says %d' % (metric, side, v, va))
    elif mode == 'between' and not gauge and not va <= v <= vb:
        bad.append('%s %s: %d not in [%d, %d]' % (metric, side, v, va, vb))
n = 0
for g in ('engine', 'datapath'):
    for k in a[g]:
        check(g, k, a[g][k], b[g][k], k in a['gauges']); n += 1
for side in ('primary', 'secondary'):
    for k in a['steer'][side]:
        check('steer', k, a['steer'][side][k], b['steer'][side][k], False, side); n += 1
for k in a['mirror']['counters']:
    check('mirror', k, a['mirror']['counters'][k], b['mirror']['counters'][k], False); n += 1
if bad:
    sys.exit('\n'.join(['# ' + x for x in bad[:10]]))
print(n)
PY
}

# traffic from both replicas for a few seconds, scraped meanwhile
(
	for i in $(seq 30); do
		ip netns exec "$CN_PRI" "$VMSEND" --dev eth0 --count 200 \
			--sport $((5000 + i)) --ip-id 1000 >/dev/null &
		ip netns exec "$CN_SEC" "$VMSEND" --dev eth0 --count 200 \
			--sport $((5000 + i)) --ip-id 40000 >/dev/null
		wait
		sleep 0.1
	done
) &
SEND=$!
sleep 1
ok=0 moving=0 fails=
for i in 1 2 3; do
	stat_json >"$T_TMP/a.json"
	scrape >"$T_TMP/s$i.prom" || fails="scrape $i failed"
	stat_json >"$T_TMP/b.json"
	if r=$(check_scrape "$T_TMP/a.json" "$T_TMP/s$i.prom" "$T_TMP/b.json" between 2>&1); then
		ok=$((ok + 1))
		n=$r
	else
		fails+=" $r"
	fi
	sleep 1
done
wait $SEND
[[ $(grep -h '^colo_xdp_engine_frames_in_primary_total' "$T_TMP"/s*.prom |
	awk '{ print $2 }' | sort -un | wc -l) -gt 1 ]] && moving=1
if ((ok == 3 && moving)); then
	t_ok "--metrics during traffic: all $n counters of stat --json, each total between the stat before and after the scrape"
else
	t_fail "--metrics during traffic ($ok of 3 scrapes right, counters moving: $moving): $fails"
fi
# once quiet, and the counters published again (--stats-interval 1 s),
# the scrape shows exactly what stat does
sleep 2.5
stat_json >"$T_TMP/a.json"
scrape >"$T_TMP/quiet.prom"
if r=$(check_scrape "$T_TMP/a.json" "$T_TMP/quiet.prom" "$T_TMP/a.json" equal 2>&1); then
	t_ok "--metrics after traffic: all $r counters equal to stat --json"
else
	t_fail "--metrics after traffic: $r"
fi
t_check "the traffic was compared (engine_compared_total > 0)" \
	bash -c "grep -q '^colo_xdp_engine_compared_total{.*} [1-9]' '$T_TMP/quiet.prom'"
"$BIN" stat --pin-path "$PIN" --prometheus >"$T_TMP/stat.prom"
t_check "stat --prometheus prints what --metrics serves" \
	cmp -s "$T_TMP/stat.prom" "$T_TMP/quiet.prom"
t_check "HELP from the counters' table" \
	grep -q '^# HELP colo_xdp_engine_mismatches_total Primary and secondary frames that differed$' "$T_TMP/quiet.prom"
t_check "colo_xdp_up and colo_xdp_keeper_up are 1" \
	bash -c "grep -q '^colo_xdp_up{instance=\"$INST\",role=\"primary\"} 1$' '$T_TMP/quiet.prom' &&
		 grep -q '^colo_xdp_keeper_up{.*} 1$' '$T_TMP/quiet.prom'"
t_check "a path other than /metrics is 404" \
	bash -c "! python3 -c 'import urllib.request; urllib.request.urlopen(\"http://127.0.0.1:$PORT/x\", timeout=5)' 2>/dev/null"

# --- a metrics port taken: a clear error at the start ----------------------
printf 'primary-in = %s\nsecondary-in = %s\noutdev = %s\nmetrics = 127.0.0.1:%s\n' \
	"$CN_P" "$CN_S" "$CN_O" "$PORT" >"$ETC/taken.conf"
out=$(timeout 10 "${AS_UNIT[@]}" "$BIN" run --pin-path /sys/fs/bpf/colo-xdp/${T_PREFIX}t \
	--config "$ETC/taken.conf" 2>&1)
rc=$?
if ((rc == 1)) && grep -q "\-\-metrics 127.0.0.1:$PORT: cannot listen: Address already in use; another process listens there" <<<"$out"; then
	t_ok "a metrics port taken: exit 1 at the start, naming --metrics and the fix"
else
	t_fail "a metrics port taken: exit $rc: $out"
fi
t_check "... and the running instance went on" kill -0 "$RUN"

# --- Restart= after a crash: KillMode=process leaves the keeper ------------
read -r LOADER KEEPER < <(stat_json | python3 -c 'import json, sys
i = json.load(sys.stdin)["instances"][0]
print(i["pid"], i["keeper"]["pid"])')
t_check "the pid started is the loader's" test "$LOADER" = "$RUN"
t_check "the unit says KillMode=process (a crash must not take the keeper)" \
	grep -qx "KillMode=process" "$T_TMP/units/colo-xdp@.service"
kill -9 "$RUN"
wait "$RUN" 2>/dev/null
t_check "after the loader's crash its keeper runs on" kill -0 "$KEEPER"
LOG2=$T_TMP/run2.log
# shellcheck disable=SC2086
t_bg "${AS_UNIT[@]}" $CMD >"$LOG2" 2>&1
RUN=$T_LAST_PID
if cn_wait_log "$LOG2" "^comparing" &&
	grep -q "took over the sockets and UMEM of the dead loader from its keeper (pid $KEEPER)" "$LOG2"; then
	t_ok "the restarted unit command takes over from the keeper"
else
	t_fail "restart after a crash: $(cat "$LOG2")"
fi
cn_capture_start "$CN_CLI" eth0 "$T_TMP/after.pcap" || t_fail "capture"
ip netns exec "$CN_PRI" "$VMSEND" --dev eth0 --count 20 --sport 7000 \
	--ip-id 1000 --write "$T_TMP/after-pri.pcap" &
ip netns exec "$CN_SEC" "$VMSEND" --dev eth0 --count 20 --sport 7000 \
	--ip-id 40000
wait $!
t_check "after the takeover the client gets the primary's frames" \
	cn_wait_frames "$T_TMP/after.pcap" 20 "$CN_GUEST_MAC"
KEEPER2=$(stat_json | python3 -c 'import json, sys
print(json.load(sys.stdin)["instances"][0]["keeper"]["pid"])')
# gone, or a zombie its reaper has not waited for yet
gone() {
	[[ ! -e /proc/$1 ]] || grep -q '^State:.*Z' "/proc/$1/status"
}
t_check "the dead loader's keeper ended once its frames were taken" \
	cn_wait_cmd gone "$KEEPER"
kill -TERM "$RUN"
wait "$RUN"
rc=$?
t_check "systemctl stop's SIGTERM: a clean exit" test "$rc" -eq 0
t_check "... that ends the new keeper ($KEEPER2) too" cn_wait_cmd gone "$KEEPER2"
t_check "... and removes the pins" test ! -e "$PIN"

# --- the secondary's unit: its command line with its capabilities --------
cn_secondary_host "${T_PREFIX}b" || t_fail "build the secondary host"
SINST=${T_PREFIX}b
printf 'vm = %s\nlink = %s\n' "$CN_V" "$CN_L" >"$ETC/$SINST.conf"
SCMD=$(unit_cmd colo-xdp-secondary@.service "$SINST")
SCAPS=$(unit_caps colo-xdp-secondary@.service)
SLOG=$T_TMP/secondary.log
t_on_exit "rm -rf /sys/fs/bpf/colo-xdp/secondary-$SINST"
# nsenter, not ip netns exec: the agent pins in the host's bpffs
# shellcheck disable=SC2086
t_bg nsenter --net="/run/netns/$CN_SH" capsh --caps="$SCAPS+eip" \
	--addamb="$SCAPS" -- -c 'exec "$@"' _ $SCMD >"$SLOG" 2>&1
SEC=$T_LAST_PID
if cn_wait_log "$SLOG" "^rewriting between $CN_V (vm) and $CN_L (link)"; then
	t_ok "the secondary unit's command line starts with its capabilities only ($SCAPS)"
else
	t_fail "the secondary unit's command line: $(cat "$SLOG")"
fi
"$BIN" stat --prometheus >"$T_TMP/all.prom"
t_check "stat --prometheus: the agent, up, labelled by its instance" \
	grep -q "^colo_xdp_up{instance=\"secondary-$SINST\",role=\"secondary\"} 1$" "$T_TMP/all.prom"
t_check "stat --prometheus: its rewriter's and sweep's counters" \
	bash -c "grep -q '^colo_xdp_rewrite_to_vm_total{instance=\"secondary-$SINST\",role=\"secondary\"} [0-9]' '$T_TMP/all.prom' &&
		 grep -q '^colo_xdp_sweep_conns{instance=\"secondary-$SINST\",role=\"secondary\"} [0-9]' '$T_TMP/all.prom'"
t_check "stat --prometheus: one HELP and TYPE per family, whatever the instances" \
	bash -c "[[ -z \$(grep '^# TYPE' '$T_TMP/all.prom' | sort | uniq -d) ]]"
kill -TERM "$SEC"
wait "$SEC"
t_check "the secondary stops cleanly on SIGTERM" test $? -eq 0

# --- make uninstall -------------------------------------------------------
make -s -C "$T_TOP" BUILD="$T_BUILD" PREFIX=$PREFIX DESTDIR="$D" uninstall \
	>"$T_TMP/uninstall.log" 2>&1
left=$(find "$D" -type f)
if [[ -z $left ]]; then
	t_ok "make uninstall removes every file install put"
else
	t_fail "make uninstall left: $left"
fi
t_done
