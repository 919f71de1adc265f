#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
#
# collectord-loadgen against the real daemon on 127.0.0.1: every simulated
# host gets through Enumerate, End, Heartbeat and three Events batches of 10
# and of 230 events without an error, the daemon acknowledged exactly what
# the generator counted, the DNS index answers for a name of the mix, and a
# second run resumes after the bookmarks (no re-delivered record). With
# krb5kdc installed, the same over Kerberos with message encryption.
# No timing is asserted: figures come from bench/run.
set -u

top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}
top_builddir=${top_builddir:-$top_srcdir}
daemon=$top_builddir/src/collectord
loadgen=$top_builddir/src/collectord-loadgen
data=$top_srcdir/tests/data/sysmon
export PATH=$PATH:/usr/sbin
export COLLECTORD_SCHEMA_DIR=$top_srcdir/schemas
export COLLECTORD_LOLBAS=$top_srcdir/data/lolbas.txt

[ -x "$daemon" ] && [ -x "$loadgen" ] || { echo "SKIP: not built"; exit 77; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/cd-loadgen.XXXXXX")
pid=
kdc=
cleanup() {
	if [ -n "$pid" ]; then
		kill "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	fi
	[ -n "$kdc" ] && sh "$top_srcdir/tests/krb5/kdc.sh" stop "$kdc"
	rm -rf "$tmp"
}
trap cleanup EXIT

fail() {
	echo "FAIL: $*"
	tail -n 20 "$tmp"/daemon-*.log 2>/dev/null
	exit 1
}
get() { tr ' ' '\n' <<<"$1" | sed -n "s/^$2=//p"; }
free_port() {
	python3 "$top_srcdir/tests/free_port.py"
}

start_daemon() {	# name args...
	local name=$1
	shift
	port=$(free_port)
	api=$(free_port)
	mkdir -p "$tmp/$name/data" "$tmp/subs"
	cat >"$tmp/$name/conf.xml" <<EOF
<collectord><allow-root>true</allow-root>
<limits><max-connections-per-ip>1000</max-connections-per-ip></limits>${extra_conf:-}</collectord>
EOF
	"$daemon" --foreground --config "$tmp/$name/conf.xml" \
	    --listen "127.0.0.1:$port" --api-listen "127.0.0.1:$api" \
	    --data-dir "$tmp/$name/data" --subscriptions "$tmp/subs" "$@" \
	    >"$tmp/daemon-$name.log" 2>&1 &
	pid=$!
	for _ in $(seq 1 100); do
		(exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && return 0
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	fail "daemon $name did not start"
}

stat_of() {	# JSON path in /api/v1/stats, e.g. events.acked
	curl -s "http://127.0.0.1:$api/api/v1/stats" | python3 -c '
import json, sys
v = json.load(sys.stdin)
for k in sys.argv[1].split("."):
    v = v[k]
print(v)' "$1"
}

check_run() {	# name expected-hosts expected-events output
	local n=$2 r=$4
	[ "$(get "$r" connected)" = "$n" ] || fail "$1: not every host connected: $r"
	[ "$(get "$r" errors)" = 0 ] || fail "$1: errors: $r"
	[ "$(get "$r" events)" = "$3" ] || fail "$1: $3 events expected: $r"
	echo "ok: $1: $(get "$r" events) events, $(get "$r" batches) batches"
}

url() { echo "http://127.0.0.1:$port/wsman/SubscriptionManager/WEC"; }

start_daemon plain --auth none
total=0
for b in 10 230; do
	r=$("$loadgen" --hosts 20 --batch "$b" --batches 3 --data "$data" \
	    --daemon-pid "$pid" "$(url)") ||
		fail "loadgen batch $b exited with an error: $r"
	check_run "batch $b" 20 $((20 * 3 * b)) "$r"
	total=$((total + $(get "$r" events)))
	# The daemon's CPU over the window, and events per CPU-second of it
	# (read in clock ticks of 10 ms: 600 events may take less than one).
	dc=$(get "$r" daemon_cpu_s)
	[ -n "$dc" ] || fail "batch $b: no daemon CPU figure: $r"
	[ "$b" = 230 ] || continue
	awk -v c="$dc" -v e="$(get "$r" events)" -v p="$(get "$r" events_per_daemon_cpu_s)" \
	    'BEGIN { exit !(c > 0 && p > 0 && (e / c - p) ^ 2 <= 1 + (p / 100) ^ 2) }' ||
		fail "batch $b: daemon CPU figures wrong: $r"
	echo "ok: batch $b: daemon $dc CPU-seconds, $(get "$r" events_per_daemon_cpu_s) events per CPU-second"
done
# A process that is gone: a warning, no figure, and the run still counts.
sh -c 'exit 0' &
gone=$!
wait "$gone"
r=$("$loadgen" --hosts 2 --batch 10 --batches 1 --data "$data" \
    --daemon-pid "$gone" "$(url)" 2>"$tmp/gone.err") ||
	fail "loadgen with a gone --daemon-pid exited with an error: $r"
check_run "gone pid" 2 20 "$r"
total=$((total + 20))
grep -q "no CPU figure for process $gone" "$tmp/gone.err" ||
	fail "no warning for a gone --daemon-pid: $(cat "$tmp/gone.err")"
[ -z "$(get "$r" daemon_cpu_s)" ] || fail "a CPU figure for a gone process: $r"
echo "ok: a gone --daemon-pid is reported, not measured"
acked=$(stat_of events.acked)
dup=$(stat_of events.duplicate)
[ "$acked" = "$total" ] || fail "daemon acked $acked, loadgen counted $total"
# The second run resumed after the bookmarks: nothing was sent twice.
[ "$dup" = 0 ] || fail "$dup re-delivered records: bookmarks not resumed"
echo "ok: daemon acked $acked events ($dup re-delivered)"
# The DNS index is applied a moment after the Ack.
python3 "$top_srcdir/tests/wait_indexed.py" "http://127.0.0.1:$api" ||
	fail "the index did not catch up"
code=$(curl -s -o "$tmp/wpad.json" -w '%{http_code}' "http://127.0.0.1:$api/api/v1/domains/wpad")
[ "$code" = 200 ] || fail "domain lookup: HTTP $code"
grep -q '"host_count"' "$tmp/wpad.json" || fail "domain lookup: $(cat "$tmp/wpad.json")"
echo "ok: DNS index answers for a name of the mix"
kill "$pid"
wait "$pid" 2>/dev/null
pid=

# Backpressure: with index-pending-max 1 the daemon refuses most batches
# with 503 while the index job (every 200 ms) catches up. Every refusal is
# accounted for by the generator: re-sent (a retry), or, once the run has
# stopped, counted in refused_at_end; none is an error.
extra_conf="<store><index-pending-max>1</index-pending-max></store>"
start_daemon busy --auth none
extra_conf=
r=$("$loadgen" --hosts 20 --batch 100 --duration 3 --data "$data" "$(url)") ||
	fail "loadgen against a refusing daemon exited with an error: $r"
[ "$(get "$r" errors)" = 0 ] || fail "refusals counted as errors: $r"
refused=$(stat_of wef.batches_refused)
[ "$refused" -gt 0 ] || fail "the daemon refused nothing: $r"
[ "$refused" = $(( $(get "$r" retries) + $(get "$r" refused_at_end) )) ] ||
	fail "daemon refused $refused, loadgen counted $(get "$r" retries) retries and $(get "$r" refused_at_end) at the end"
echo "ok: $refused refusals: $(get "$r" retries) re-sent, $(get "$r" refused_at_end) after the end"
kill "$pid"
wait "$pid" 2>/dev/null
pid=

if ! command -v krb5kdc >/dev/null; then
	echo "SKIP part: no krb5kdc"
	exit 0
fi
kdc=$tmp/kdc
sh "$top_srcdir/tests/krb5/kdc.sh" start "$kdc" >/dev/null || fail "KDC did not start"
# shellcheck disable=SC1091
. "$kdc/env.sh"
printf 'addprinc -randkey +requires_preauth WS%05d$\n' 1 2 3 |
	kadmin.local >"$tmp/kadmin.log" 2>&1
printf 'ktadd -k %s/hosts.keytab WS00001$ WS00002$ WS00003$\n' "$kdc" |
	kadmin.local >>"$tmp/kadmin.log" 2>&1
start_daemon krb --auth kerberos --keytab "$kdc/collector.keytab" \
    --advertise collector.example.com
r=$("$loadgen" --hosts 3 --batch 100 --batches 3 --data "$data" \
    --kerberos "$kdc/hosts.keytab" --connect 127.0.0.1 \
    "http://collector.example.com:$port/wsman/SubscriptionManager/WEC") ||
	fail "loadgen over Kerberos exited with an error: $r"
check_run "kerberos" 3 900 "$r"
[ "$(stat_of events.foreign)" = 0 ] || fail "events not attributed to their hosts"
echo "ok: every event indexed under its authenticated host"
exit 0
