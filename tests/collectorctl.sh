#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# collectorctl against a stub of the REST API on 127.0.0.1 (python3): the
# HTTP client (auth header, query encoding, chunked bodies), cursor
# following, --limit, tables, --json and error reporting. The stub answers
# with the shapes of interface.md; check_api tests the real API itself.
set -u

top_builddir=${top_builddir:-.}
CTL="$top_builddir/src/collectorctl"
WORK=$(mktemp -d)
STUB_PID=
cleanup() {
	[ -n "$STUB_PID" ] && kill "$STUB_PID" 2>/dev/null
	rm -rf "$WORK"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; exit 1; }

cat >"$WORK/stub.py" <<'EOF'
import http.server, json, sys, urllib.parse

TOKEN = "test-token-0123456789"
LOG = sys.argv[1]

def dom(name, fs, hosts=1):
    return {"domain": name, "registered_domain": "example.com",
            "first_seen": fs, "last_seen": "2019-12-05T02:00:00.000Z",
            "count": 3, "host_count": hosts, "first_host": "ws1.lab",
            "first_image": "C:\\Windows\\System32\\svchost.exe",
            "images": ["C:\\Windows\\System32\\svchost.exe"]}

NEW = [dom("n%d.example.com" % i, "2019-12-05T01:5%d:00.000Z" % i) for i in range(5)]

def page(items, q, key, extra=None):
    start = int(q.get("cursor", "0"))
    limit = int(q.get("limit", "100"))
    out = dict(extra or {})
    out[key] = items[start:start + limit]
    nxt = start + limit
    out["next_cursor"] = str(nxt) if nxt < len(items) else None
    return out

class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def send(self, code, obj, chunked=False):
        body = json.dumps(obj).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        if chunked:
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for i in range(0, len(body), 7):
                part = body[i:i + 7]
                self.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
            self.wfile.write(b"0\r\n\r\n")
        else:
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    def do_GET(self):
        with open(LOG, "a") as f:
            f.write(self.path + "\n")
        if self.headers.get("Authorization") != "Bearer " + TOKEN:
            return self.send(401, {"error": "authentication required"})
        u = urllib.parse.urlsplit(self.path)
        p = urllib.parse.unquote(u.path)
        q = dict(urllib.parse.parse_qsl(u.query, keep_blank_values=True))
        for v in q.values():
            if " " in v:
                return self.send(400, {"error": "a '+' was not encoded"})
        if p == "/api/v1/domains/evil.example.com":
            return self.send(200, dom("evil.example.com", "2019-12-05T01:49:47.174Z", 2))
        if p == "/api/v1/domains/evil.example.com/hosts":
            hs = [{"host": h, "first_seen": "2019-12-05T01:49:47.174Z",
                   "last_seen": "2019-12-05T01:59:00.000Z", "count": 2,
                   "images": ["C:\\a.exe", "C:\\b.exe"]} for h in ("ws1.lab", "ws2.lab")]
            return self.send(200, page(hs, dict(q, limit="1"), "hosts",
                                       {"domain": "evil.example.com"}))
        if p.startswith("/api/v1/domains/"):
            return self.send(404, {"error": "domain not found"})
        if p == "/api/v1/domains":
            return self.send(200, page(NEW, q, "domains"))
        if p == "/api/v1/hosts/ws1.lab/domains":
            return self.send(200, page(NEW[:2], q, "domains", {"host": "ws1.lab"}))
        if p == "/api/v1/hosts":
            hs = [{"host": "ws%d.lab" % i, "first_seen": "2019-12-05T01:00:00.000Z",
                   "last_seen": "2019-12-05T02:00:00.000Z", "last_heartbeat": None,
                   "events": 10 * i, "dns_queries": i, "domains": i} for i in (1, 2)]
            return self.send(200, page(hs, q, "hosts"), chunked=True)
        if p == "/api/v1/ips/::ffff:10.0.0.1":
            return self.send(200, {"address": "10.0.0.1", "domains": [
                {"domain": "intranet.lab", "first_seen": "2019-12-05T01:00:00.000Z",
                 "last_seen": "2019-12-05T02:00:00.000Z"}], "next_cursor": None})
        return self.send(404, {"error": "no such resource"})

srv = http.server.HTTPServer(("127.0.0.1", 0), H)
print(srv.server_address[1], flush=True)
srv.serve_forever()
EOF

python3 "$WORK/stub.py" "$WORK/requests.log" >"$WORK/port" &
STUB_PID=$!
for _ in $(seq 50); do [ -s "$WORK/port" ] && break; sleep 0.1; done
PORT=$(cat "$WORK/port")
[ -n "$PORT" ] || fail "stub did not start"
printf '# collectorctl token\n\ntest-token-0123456789\n' >"$WORK/token"
ctl() { "$CTL" --api "127.0.0.1:$PORT" --token-file "$WORK/token" "$@"; }

# domain: key/value block, then every host over two pages.
out=$(ctl domain evil.example.com) || fail "domain exit $?"
echo "$out" | grep -q '^first seen  *2019-12-05T01:49:47.174Z$' || fail "domain block: $out"
echo "$out" | grep -q '^HOST  *FIRST SEEN  *LAST SEEN  *COUNT  *IMAGES$' || fail "hosts header: $out"
echo "$out" | grep -q '^ws2.lab  .*C:\\a.exe, C:\\b.exe$' || fail "second page: $out"
out=$(ctl --json domain evil.example.com) || fail "domain --json"
echo "$out" | python3 -c 'import json,sys; d=json.load(sys.stdin); assert d["domain"]["host_count"]==2 and len(d["hosts"])==2' \
	|| fail "domain --json: $out"

# Unknown domain: the API's reason, exit 1.
out=$(ctl domain nope.example.com 2>&1) && fail "404 exit 0"
[ "$out" = "collectorctl: domain not found" ] || fail "404 message: $out"

# new: all pages, the query encoded ('+' of an offset survives).
out=$(ctl new --since 2019-12-05T02:50:00+01:00 --until 1h --suffix example.com --max-hosts 3) \
	|| fail "new exit: $out"
[ "$(echo "$out" | grep -c '\.example\.com')" = 5 ] || fail "new rows: $out"
grep -q 'first_seen_after=2019-12-05T02%3A50%3A00%2B01%3A00&first_seen_before=1h&suffix=example.com&max_hosts=3' \
	"$WORK/requests.log" || fail "query: $(cat "$WORK/requests.log")"
# --limit stops early, asking no more than needed.
: >"$WORK/requests.log"
out=$(ctl --json new --limit 3) || fail "new --limit"
echo "$out" | python3 -c 'import json,sys; d=json.load(sys.stdin); assert [x["domain"] for x in d["domains"]]==["n0.example.com","n1.example.com","n2.example.com"]' \
	|| fail "new --limit: $out"
grep -q 'first_seen_after=24h&limit=3$' "$WORK/requests.log" || fail "default --since: $(cat "$WORK/requests.log")"
# Per host.
out=$(ctl new --host ws1.lab --since 7d) || fail "new --host"
[ "$(echo "$out" | grep -c '\.example\.com')" = 2 ] || fail "new --host rows: $out"
out=$(ctl new --host ws1.lab --suffix x 2>&1) && fail "--host with --suffix accepted"
echo "$out" | grep -q '^collectorctl: ' || fail "--host --suffix message: $out"

# hosts: a chunked answer.
out=$(ctl hosts) || fail "hosts"
echo "$out" | grep -q '^ws2.lab  *2019-12-05T01:00:00.000Z  *2019-12-05T02:00:00.000Z  *-  *20  *2  *2$' \
	|| fail "hosts table: $out"

# ip: the address is percent-encoded in the path.
out=$(ctl ip ::ffff:10.0.0.1) || fail "ip"
echo "$out" | grep -q '^intranet.lab  ' || fail "ip table: $out"

# The environment stands in for --api and --token-file.
COLLECTORCTL_API="127.0.0.1:$PORT" COLLECTORCTL_TOKEN_FILE="$WORK/token" "$CTL" hosts \
	| grep -q '^ws1.lab ' || fail "environment defaults"

# Errors: wrong token, no server, bad usage.
echo wrong-token-0123456789 >"$WORK/bad"
out=$("$CTL" --api "127.0.0.1:$PORT" --token-file "$WORK/bad" hosts 2>&1) && fail "bad token exit 0"
[ "$out" = "collectorctl: authentication required" ] || fail "401 message: $out"
kill "$STUB_PID"; wait "$STUB_PID" 2>/dev/null; STUB_PID=
out=$("$CTL" --api "127.0.0.1:$PORT" hosts 2>&1) && fail "no server exit 0"
echo "$out" | grep -q '^collectorctl: cannot connect to 127.0.0.1:' || fail "connect message: $out"
"$CTL" frobnicate >/dev/null 2>&1
[ $? = 2 ] || fail "usage exit"
echo "collectorctl: all checks passed"
