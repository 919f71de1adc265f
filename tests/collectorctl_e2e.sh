#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
#
# The hunter's path end to end: the real daemon (--auth none) on 127.0.0.1,
# collectord-replay sending the real Sysmon events of tests/data/sysmon as
# their real hosts, then collectorctl --json asking the REST API: every
# domain, every (host, domain) and the first_seen lists must equal
# tests/data/sysmon/expected_dns.json.
set -u

top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}
top_builddir=${top_builddir:-$top_srcdir}
daemon=$top_builddir/src/collectord
replay=$top_builddir/src/collectord-replay
ctl=$top_builddir/src/collectorctl
data=$top_srcdir/tests/data/sysmon

for f in "$daemon" "$replay" "$ctl"; do
	[ -x "$f" ] || { echo "SKIP: $f not built"; exit 77; }
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/cd-ctl-e2e.XXXXXX")
pid=
cleanup() {
	if [ -n "$pid" ]; then
		kill "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT
fail() {
	echo "FAIL: $*"
	echo "--- daemon log (tail)"
	tail -n 20 "$tmp/daemon.log"
	exit 1
}

read -r wef_port api_port < <(python3 "$top_srcdir/tests/free_port.py" 2)
mkdir -p "$tmp/data" "$tmp/subs"
"$daemon" --foreground --auth none --listen "127.0.0.1:$wef_port" \
    --api-listen "127.0.0.1:$api_port" --data-dir "$tmp/data" \
    --subscriptions "$tmp/subs" >"$tmp/daemon.log" 2>&1 &
pid=$!
for _ in $(seq 100); do
	"$ctl" --api "127.0.0.1:$api_port" hosts >/dev/null 2>&1 && break
	kill -0 "$pid" 2>/dev/null || fail "daemon exited"
	sleep 0.1
done

"$replay" --url "http://127.0.0.1:$wef_port/wsman/SubscriptionManager/WEC" \
    --machine-id-from-events --heartbeat --end --batch 50 "$data"/*.xml \
    >"$tmp/replay.out" 2>"$tmp/replay.err" || fail "replay: $(tail -n 3 "$tmp/replay.err")"
grep -q ' errors=0 ' "$tmp/replay.out" || fail "replay errors: $(cat "$tmp/replay.out")"
# The DNS index is applied a moment after the Ack.
python3 "$top_srcdir/tests/wait_indexed.py" "http://127.0.0.1:$api_port" ||
	fail "the index did not catch up"

# The comparison itself, in Python: collectorctl --json for each question.
python3 - "$ctl" "127.0.0.1:$api_port" "$data/expected_dns.json" <<'EOF' || fail "API answers differ"
import json, subprocess, sys

ctl, api, expected = sys.argv[1], sys.argv[2], json.load(open(sys.argv[3]))

def run(*args):
    out = subprocess.run([ctl, "--api", api, "--json"] + list(args),
                         capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit("collectorctl %s: %s" % (" ".join(args), out.stderr.strip()))
    return json.loads(out.stdout)

bad = []
def check(what, got, want):
    if got != want:
        bad.append("%s: got %r, want %r" % (what, got, want))

names = expected["names"]
for name, want in names.items():
    r = run("domain", name)
    d = r["domain"]
    for k in ("first_seen", "last_seen", "count", "host_count",
              "first_host", "first_image"):
        check("%s %s" % (name, k), d[k], want[k])
    hosts = {h["host"]: h for h in r["hosts"]}
    want_hosts = {h: v[name] for h, v in expected["hosts"].items() if name in v}
    check("%s hosts" % name, sorted(hosts), sorted(want_hosts))
    for h, wv in want_hosts.items():
        g = hosts.get(h, {})
        for k in ("first_seen", "last_seen", "count", "images"):
            check("%s on %s %s" % (name, h, k), g.get(k), wv[k])

# Fleet-wide "new since", every page followed: all names, first_seen order.
r = run("new", "--since", "2000-01-01T00:00:00Z")
got = [d["domain"] for d in r["domains"]]
check("new: names", sorted(got), sorted(names))
times = [d["first_seen"] for d in r["domains"]]
check("new: order", times, sorted(times))
# A window.
lo, hi = "2019-12-05T01:50:00.000Z", "2020-10-22T00:00:00.000Z"
r = run("new", "--since", lo, "--until", hi)
check("new window", sorted(d["domain"] for d in r["domains"]),
      sorted(n for n, v in names.items() if lo <= v["first_seen"] < hi))
# Per host.
for h, doms in expected["hosts"].items():
    r = run("new", "--host", h, "--since", "2000-01-01T00:00:00Z")
    check("new --host %s" % h, sorted(d["domain"] for d in r["domains"]),
          sorted(doms))
# Hosts.
r = run("hosts")
got = {x["host"]: x for x in r["hosts"]}
for h, t in expected["host_totals"].items():
    check("host %s dns_queries" % h, got.get(h, {}).get("dns_queries"), t["dns_queries"])
    check("host %s domains" % h, got.get(h, {}).get("domains"), t["domains"])

for b in bad[:20]:
    print(b)
print("%d names, %d hosts checked, %d differences" %
      (len(names), len(expected["hosts"]), len(bad)))
sys.exit(1 if bad else 0)
EOF

# The table form answers the hunter's question too.
out=$("$ctl" --api "127.0.0.1:$api_port" new --since 2019-12-05T01:49:00Z \
    --until 2019-12-05T01:50:00Z) || fail "new (table)"
echo "$out" | grep -q '^2019-12-05T01:49:47.174Z  hfdc01.shire.com ' || fail "table: $out"
echo "collectorctl end to end: OK"
