#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
#
# End to end over HTTP like Windows clients: the real daemon (--auth none)
# on 127.0.0.1, collectord-replay playing the real Sysmon events of
# tests/data/sysmon as their real hosts (Enumerate, End, Heartbeat, Events
# batches with bookmarks, SubscriptionEnd, End). Every batch must be acked.
# Then the daemon is killed with SIGKILL and restarted: the next Enumerate
# must hand each host the bookmark of its last acked batch, and a second
# replay must resume after it (nothing resent).
set -u

top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}
top_builddir=${top_builddir:-$top_srcdir}
daemon=$top_builddir/src/collectord
replay=$top_builddir/src/collectord-replay
data=$top_srcdir/tests/data/sysmon

if [ ! -x "$daemon" ] || [ ! -x "$replay" ]; then
	echo "SKIP: $daemon or $replay not built"
	exit 77
fi
files=("$data"/*.xml)
[ -f "${files[0]}" ] || { echo "SKIP: no Sysmon data in $data"; exit 77; }
total=$(cat "${files[@]}" | grep -c '<Event')

# The suite runs as root in CI; the daemon refuses root without this.
export COLLECTORD_ALLOW_ROOT=1

tmp=$(mktemp -d "${TMPDIR:-/tmp}/cd-e2e-replay.XXXXXX")
pid=
cleanup() {
	if [ -n "$pid" ]; then
		kill -9 "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT

fail() {
	echo "FAIL: $*"
	echo "--- daemon log (tail)"
	tail -n 40 "$tmp/daemon.log" 2>/dev/null
	exit 1
}

read -r port api_port < <(python3 "$top_srcdir/tests/free_port.py" 2)
url=http://127.0.0.1:$port/wsman/SubscriptionManager/WEC

start_daemon() {
	"$daemon" --auth none --listen "127.0.0.1:$port" --data-dir "$tmp/data" \
	    --api-listen "127.0.0.1:$api_port" --foreground \
	    >>"$tmp/daemon.log" 2>&1 &
	pid=$!
	for _ in $(seq 1 100); do
		kill -0 "$pid" 2>/dev/null || fail "daemon exited at start-up"
		if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
			return 0
		fi
		sleep 0.1
	done
	fail "daemon not listening on $port"
}

field() {	# field NAME FILE: a key=value of the summary line
	sed -n "s/^replay:.* $1=\([^ ]*\).*/\1/p" "$2"
}

mkdir -p "$tmp/data"
start_daemon

# 1. Every host, every event, every batch acked.
rc=0
"$replay" --url "$url" --machine-id-from-events --heartbeat --end \
    --batch 50 --print-bookmark "${files[@]}" >"$tmp/run1" 2>"$tmp/run1.err" ||
	rc=$?
grep '^replay:' "$tmp/run1"
[ "$rc" = 0 ] || { tail -n 20 "$tmp/run1.err"; fail "replay exited $rc"; }
[ "$(field events "$tmp/run1")" = "$total" ] || fail "not all $total events sent"
[ "$(field errors "$tmp/run1")" = 0 ] || fail "errors"
[ "$(field batches "$tmp/run1")" = "$(field acks "$tmp/run1")" ] ||
	fail "batches not all acked"
hosts=$(field hosts "$tmp/run1")
[ "$hosts" -ge 13 ] || fail "expected the 14 real hosts, got $hosts"
grep '^acked-bookmark ' "$tmp/run1" | cut -d' ' -f2- | sort >"$tmp/acked"
[ "$(wc -l <"$tmp/acked")" = "$hosts" ] || fail "one acked bookmark per host"

# 2. Crash and restart: the stored bookmarks are the last acked ones.
kill -9 "$pid"
wait "$pid" 2>/dev/null
pid=
start_daemon
"$replay" --url "$url" --machine-id-from-events --enumerate-only \
    --print-bookmark "${files[@]}" >"$tmp/enum" 2>"$tmp/enum.err" ||
	{ cat "$tmp/enum.err"; fail "enumerate after restart"; }
grep '^enumerate-bookmark ' "$tmp/enum" | cut -d' ' -f2- | sort >"$tmp/stored"
diff -u "$tmp/acked" "$tmp/stored" || fail "bookmarks after restart differ"

# 3. A host re-created from its bookmark resends nothing.
"$replay" --url "$url" --machine-id-from-events "${files[@]}" \
    >"$tmp/run2" 2>"$tmp/run2.err" || { cat "$tmp/run2.err"; fail "run 2"; }
[ "$(field events "$tmp/run2")" = 0 ] || fail "events resent after resume"
[ "$(field skipped "$tmp/run2")" = "$total" ] || fail "skipped count"

# 4. Synthesised hosts: three copies of one file, renamed and renumbered.
"$replay" --url "$url" --hosts 3 --host-prefix e2e --batch 40 \
    --connections-per-host 2 "${files[0]}" >"$tmp/run3" 2>"$tmp/run3.err" ||
	{ cat "$tmp/run3.err"; fail "run 3"; }
n0=$(grep -c '<Event' "${files[0]}")
[ "$(field events "$tmp/run3")" = $((3 * n0)) ] || fail "synthesised hosts"

echo "PASS: $total events from $hosts hosts acked; bookmarks survive SIGKILL"
exit 0
