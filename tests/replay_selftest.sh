#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
#
# collectord-replay against a scripted collector (python3, standard library
# only) on 127.0.0.1, independent of the daemon. The stub checks what a
# collector must be able to rely on: UTF-16LE bodies with a BOM, the WinRM
# HTTP headers, a fresh MessageID per message, the reference parameters
# echoed as headers, a bookmark on every batch that matches its last event,
# and it answers the first Events of every host with 503 so the client must
# resend the same batch. Then it hands out a stored bookmark and checks that
# the client resumes after it.
set -u

top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}
top_builddir=${top_builddir:-$top_srcdir}
replay=$top_builddir/src/collectord-replay
data=$top_srcdir/tests/data/sysmon

[ -x "$replay" ] || { echo "SKIP: $replay not built"; exit 77; }
command -v python3 >/dev/null || { echo "SKIP: no python3"; exit 77; }
files=("$data/covenant_psremoting_grunt.xml" "$data/cmd_wevtutil_modify_security_eventlog_path.xml")
total=$(cat "${files[@]}" | grep -c '<Event')

tmp=$(mktemp -d "${TMPDIR:-/tmp}/cd-replay-self.XXXXXX")
pid=
cleanup() {
	[ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; tail -n 30 "$tmp/stub.log"; exit 1; }

cat >"$tmp/stub.py" <<'EOF'
import http.server, json, re, sys, threading, uuid
import xml.etree.ElementTree as ET

S = "{http://www.w3.org/2003/05/soap-envelope}"
A = "{http://schemas.xmlsoap.org/ws/2004/08/addressing}"
E = "{http://schemas.xmlsoap.org/ws/2004/08/eventing}"
W = "{http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd}"
M = "{http://schemas.microsoft.com/wbem/wsman/1/machineid}"
WSMAN = "http://schemas.dmtf.org/wbem/wsman/1/wsman/"
IDENT = "0C98CAE1-EDA4-4C92-82D9-A8A20EB518D2"
lock = threading.Lock()
state = {"events": {}, "bookmarks": {}, "errors": [], "failed_once": set(),
         "msgids": set(), "heartbeats": 0, "subend": 0, "ends": 0}
preset = json.load(open(sys.argv[2])) if len(sys.argv) > 2 else {}

def err(msg):
    with lock:
        state["errors"].append(msg)

class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *a): pass

    def reply(self, code, xml=None):
        body = b"" if xml is None else b"\xff\xfe" + xml.encode("utf-16-le")
        self.send_response(code)
        if xml is not None or code != 204:
            self.send_header("Content-Type", "application/soap+xml;charset=UTF-16")
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def ack(self, mid):
        self.reply(200, '<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" '
            'xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing"><s:Header>'
            '<a:Action>' + WSMAN + 'Ack</a:Action><a:MessageID>uuid:%s</a:MessageID>'
            '<a:RelatesTo>%s</a:RelatesTo></s:Header><s:Body/></s:Envelope>'
            % (str(uuid.uuid4()).upper(), mid))

    def do_POST(self):
        n = int(self.headers["Content-Length"])
        raw = self.rfile.read(n)
        if self.headers.get("User-Agent") != "Microsoft WinRM Client":
            err("User-Agent")
        if self.headers.get("Content-Type") != "application/soap+xml;charset=UTF-16":
            err("Content-Type")
        if not raw.startswith(b"\xff\xfe"):
            err("no BOM")
        doc = ET.fromstring(raw[2:].decode("utf-16-le"))
        hdr = doc.find(S + "Header")
        action = hdr.findtext(A + "Action")
        mid = hdr.findtext(A + "MessageID")
        if not re.fullmatch(r"uuid:[0-9A-F]{8}(-[0-9A-F]{4}){3}-[0-9A-F]{12}", mid or ""):
            err("MessageID " + repr(mid))
        with lock:
            if mid in state["msgids"] and action != WSMAN + "Events":
                err("MessageID reused " + mid)
            state["msgids"].add(mid)
        machine = hdr.findtext(M + "MachineID")
        if action == "http://schemas.xmlsoap.org/ws/2004/09/enumeration/Enumerate":
            bm = preset.get(machine, "")
            if bm:
                bm = "<w:Bookmark>" + bm + "</w:Bookmark>"
            port = self.server.server_address[1]
            addr = "HTTP://127.0.0.1:%d/wsman/subscriptions/%s" % (port, IDENT)
            refs = ('<a:ReferenceParameters><e:Identifier>%s</e:Identifier>'
                    '<Version>v7</Version></a:ReferenceParameters>' % IDENT)
            self.reply(200,
                '<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" '
                'xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing" '
                'xmlns:n="http://schemas.xmlsoap.org/ws/2004/09/enumeration" '
                'xmlns:w="http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd">'
                '<s:Header><a:Action>http://schemas.xmlsoap.org/ws/2004/09/enumeration/EnumerateResponse</a:Action>'
                '<a:RelatesTo>%s</a:RelatesTo></s:Header><s:Body><n:EnumerateResponse>'
                '<w:Items><m:Subscription xmlns:m="http://schemas.microsoft.com/wbem/wsman/1/subscription">'
                '<m:Version>uuid:%s</m:Version><s:Envelope><s:Header></s:Header><s:Body>'
                '<e:Subscribe xmlns:e="http://schemas.xmlsoap.org/ws/2004/08/eventing">'
                '<e:EndTo><a:Address>%s</a:Address>%s</e:EndTo>'
                '<e:Delivery Mode="%sEvents"><w:Heartbeats>PT3600.000S</w:Heartbeats>'
                '<e:NotifyTo><a:Address>%s</a:Address>%s</e:NotifyTo>'
                '<w:MaxElements>60</w:MaxElements></e:Delivery>'
                '<w:Filter><QueryList><Query Id="0"><Select Path="Microsoft-Windows-Sysmon/Operational">*</Select>'
                '</Query></QueryList></w:Filter>%s<w:SendBookmarks/></e:Subscribe></s:Body></s:Envelope>'
                '</m:Subscription></w:Items><w:EndOfSequence/></n:EnumerateResponse></s:Body></s:Envelope>'
                % (mid, IDENT, addr, refs, WSMAN, addr, refs, bm))
            return
        if action == "http://schemas.microsoft.com/wbem/wsman/1/wsman/End":
            with lock: state["ends"] += 1
            self.reply(204)
            return
        if hdr.findtext(E + "Identifier") != IDENT or hdr.findtext("Version") != "v7":
            err("reference parameters not echoed")
        if not hdr.findtext(A + "To", "").startswith("http://127.0.0.1:"):
            err("a:To " + repr(hdr.findtext(A + "To")))
        if action == WSMAN + "Heartbeat":
            with lock: state["heartbeats"] += 1
            self.ack(mid)
            return
        if action == "http://schemas.xmlsoap.org/ws/2004/08/eventing/SubscriptionEnd":
            with lock: state["subend"] += 1
            self.reply(200)
            return
        if action != WSMAN + "Events":
            err("action " + action)
            self.reply(400)
            return
        with lock:
            first = machine not in state["failed_once"]
            state["failed_once"].add(machine)
        if first:
            self.reply(503)
            return
        events = [ET.fromstring(e.text) for e in doc.iter(W + "Event")]
        if len(events) > 60:
            err("MaxElements ignored")
        bl = hdr.find(W + "Bookmark/BookmarkList")
        marks = bl.findall("Bookmark")
        last = events[-1].find("{*}System")
        if (len(marks) != 1 or marks[0].get("IsCurrent") != "true" or
                marks[0].get("RecordId") != last.findtext("{*}EventRecordID") or
                marks[0].get("Channel") != last.findtext("{*}Channel")):
            err("bookmark does not match the last event")
        with lock:
            for ev in events:
                sysn = ev.find("{*}System")
                key = "%s/%s" % (sysn.findtext("{*}Computer"), sysn.findtext("{*}EventRecordID"))
                if sysn.findtext("{*}Computer") != machine:
                    err("Computer != MachineID")
                state["events"][key] = state["events"].get(key, 0) + 1
            state["bookmarks"][machine] = ET.tostring(bl, encoding="unicode")
        self.ack(mid)

srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
srv.daemon_threads = True
with open(sys.argv[1] + ".port", "w") as f:
    f.write(str(srv.server_address[1]))
def dump(*a):
    with lock:
        out = dict(state)
        out["failed_once"] = len(state["failed_once"])
        out["msgids"] = len(state["msgids"])
        out["dups"] = sum(1 for v in state["events"].values() if v > 1)
        out["events"] = len(state["events"])
        json.dump(out, open(sys.argv[1], "w"))
    sys.exit(0)
import signal
signal.signal(signal.SIGTERM, dump)
srv.serve_forever()
EOF

start_stub() {	# start_stub OUT [PRESET]
	rm -f "$1.port"
	python3 "$tmp/stub.py" "$@" 2>>"$tmp/stub.log" &
	pid=$!
	for _ in $(seq 1 100); do
		[ -s "$1.port" ] && break
		sleep 0.1
	done
	[ -s "$1.port" ] || fail "stub did not start"
	url=http://127.0.0.1:$(cat "$1.port")/wsman/SubscriptionManager/WEC
}
stop_stub() {
	kill -TERM "$pid"
	wait "$pid" 2>/dev/null
	pid=
}
field() { sed -n "s/^replay:.* $1=\([^ ]*\).*/\1/p" "$2"; }
get() { python3 -c "import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])" "$1" "$2"; }

# 1. Full conversation, one host per Computer, a 503 on each first batch.
start_stub "$tmp/s1"
rc=0
"$replay" --url "$url" --machine-id-from-events --heartbeat --end --batch 100 \
    --retry-ms 10 --print-bookmark "${files[@]}" >"$tmp/r1" 2>"$tmp/r1.err" || rc=$?
stop_stub
grep '^replay:' "$tmp/r1"
[ "$rc" = 0 ] || { tail "$tmp/r1.err"; fail "replay exited $rc"; }
hosts=$(field hosts "$tmp/r1")
[ "$(get "$tmp/s1" errors)" = "[]" ] || fail "stub saw: $(get "$tmp/s1" errors)"
[ "$(get "$tmp/s1" events)" = "$total" ] || fail "events received"
[ "$(get "$tmp/s1" dups)" = 0 ] || fail "duplicates beyond the refused batches"
[ "$(field events "$tmp/r1")" = "$total" ] || fail "events acked"
[ "$(field retries "$tmp/r1")" = "$hosts" ] || fail "one retry per host"
[ "$(get "$tmp/s1" heartbeats)" = "$hosts" ] || fail "heartbeats"
[ "$(get "$tmp/s1" subend)" = "$hosts" ] || fail "SubscriptionEnd"
[ "$(get "$tmp/s1" ends)" = $((2 * hosts)) ] || fail "End after Enumerate and SubscriptionEnd"

# 2. Resume: the stored bookmark of one host is handed out again.
python3 -c '
import json, sys
bm = json.load(open(sys.argv[1]))["bookmarks"]
json.dump(bm, open(sys.argv[2], "w"))' "$tmp/s1" "$tmp/preset"
start_stub "$tmp/s2" "$tmp/preset"
rc=0
"$replay" --url "$url" --machine-id-from-events --print-bookmark \
    "${files[@]}" >"$tmp/r2" 2>"$tmp/r2.err" || rc=$?
stop_stub
[ "$rc" = 0 ] || { tail "$tmp/r2.err"; fail "replay 2 exited $rc"; }
[ "$(field events "$tmp/r2")" = 0 ] || fail "resent after the bookmark"
[ "$(field skipped "$tmp/r2")" = "$total" ] || fail "skipped"
diff <(grep '^acked-bookmark' "$tmp/r1" | cut -d' ' -f2- | sort) \
    <(grep '^enumerate-bookmark' "$tmp/r2" | cut -d' ' -f2- | sort) ||
	fail "bookmarks printed differ"

# 3. Many synthesised hosts over few threads.
start_stub "$tmp/s3"
rc=0
"$replay" --url "$url" --hosts 40 --threads 4 --batch 60 --retry-ms 10 \
    --connections-per-host 2 "${files[1]}" >"$tmp/r3" 2>"$tmp/r3.err" || rc=$?
stop_stub
[ "$rc" = 0 ] || fail "replay 3 exited $rc"
n1=$(grep -c '<Event' "${files[1]}")
[ "$(get "$tmp/s3" events)" = $((40 * n1)) ] || fail "synthesised events"
[ "$(get "$tmp/s3" errors)" = "[]" ] || fail "stub saw: $(get "$tmp/s3" errors)"

echo "PASS: $total events, $hosts hosts, retries and resume as Windows does"
exit 0
