#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""A fake Splunk HEC and Elasticsearch _bulk receiver on 127.0.0.1, for the
http output's tests (docs: siem-testing.md section 3).

It checks the wire formats strictly and stores what it accepts; a test
steers it and reads it back through /_fake/ endpoints (JSON):

  POST /_fake/fault   queue one fault for the next data request:
                      {"status": 500} or {"status": 503, "hec_code": 9}
                      {"delay": 3}            sleep, then answer normally
                      {"close_before": true}  drop the connection, store nothing
                      {"close_after": true}   store, then drop the connection
                      {"items": {"1": 429, "2": 400}}  bulk per-item statuses
  GET  /_fake/state   {"hec": [...], "bulk": [...], "errors": [...],
                       "requests": N, "gzip": N}
  POST /_fake/reset   forget everything

Data endpoints: POST /services/collector/event (also /services/collector,
/services/collector/event/1.0), POST /_bulk and /<index>/_bulk. A HEC
envelope with sourcetype XmlWinEventLog must carry the event XML as a
string, with source XmlWinEventLog:<the XML's Channel>. A bulk document
with "poison": true is rejected as a mapping error (status 400), as
Elasticsearch rejects a document its mapping cannot take.

Usage: fake_siem.py [--token TOKEN] [--tls CERT KEY]; prints the port on stdout, serves
until killed.
"""
import argparse
import gzip
import json
import re
import socket
import ssl
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LOCK = threading.Lock()
STATE = {"hec": [], "bulk": [], "errors": [], "requests": 0, "gzip": 0}
FAULTS = []
TOKEN = "test-token"
HEC_PATHS = ("/services/collector/event", "/services/collector",
             "/services/collector/event/1.0")
CHANNEL_RE = re.compile(r"<Channel>([^<]*)</Channel>")


def reset():
    with LOCK:
        STATE.update(hec=[], bulk=[], errors=[], requests=0, gzip=0)
        FAULTS.clear()


class Handler(BaseHTTPRequestHandler):
    # HTTP/1.1: keep-alive and a 100 Continue when asked (siem-testing.md).
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def reply(self, status, obj):
        body = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def read_body(self):
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            data = b""
            while True:
                size = int(self.rfile.readline().split(b";")[0], 16)
                if size == 0:
                    self.rfile.readline()
                    break
                data += self.rfile.read(size)
                self.rfile.readline()
        else:
            data = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        if self.headers.get("Content-Encoding", "").lower() == "gzip":
            with LOCK:
                STATE["gzip"] += 1
            data = gzip.decompress(data)
        return data

    def do_GET(self):
        if self.path == "/_fake/state":
            with LOCK:
                self.reply(200, STATE)
        elif self.path == "/services/collector/health":
            self.reply(200, {"text": "HEC is healthy", "code": 17})
        else:
            self.reply(404, {"error": "not found"})

    def do_POST(self):
        body = self.read_body()
        if self.path == "/_fake/fault":
            with LOCK:
                FAULTS.append(json.loads(body))
            self.reply(200, {})
            return
        if self.path == "/_fake/reset":
            reset()
            self.reply(200, {})
            return
        with LOCK:
            STATE["requests"] += 1
            fault = FAULTS.pop(0) if FAULTS else {}
        if "delay" in fault:
            time.sleep(fault["delay"])
        if fault.get("close_before"):
            self.close_now()
            return
        if "status" in fault:
            code = fault.get("hec_code", 8)
            self.reply(fault["status"], {"text": "injected", "code": code})
            return
        if self.path in HEC_PATHS:
            status, obj, store = self.hec(body)
        elif self.path.endswith("/_bulk"):
            status, obj, store = self.bulk(body, fault.get("items", {}))
        else:
            status, obj, store = 404, {"error": "no such endpoint"}, None
        if store:
            store()
        if fault.get("close_after"):
            self.close_now()
            return
        self.reply(status, obj)

    def close_now(self):
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def error(self, msg):
        with LOCK:
            STATE["errors"].append("%s: %s" % (self.path, msg))

    def hec(self, body):
        auth = self.headers.get("Authorization")
        if auth is None:
            return 401, {"text": "Token is required", "code": 2}, None
        if not auth.startswith("Splunk "):
            return 401, {"text": "Invalid authorization", "code": 3}, None
        if auth[len("Splunk "):] != TOKEN:
            return 403, {"text": "Invalid token", "code": 4}, None
        text = body.decode("utf-8")
        dec = json.JSONDecoder()
        pos, events = 0, []
        while True:
            while pos < len(text) and text[pos].isspace():
                pos += 1
            if pos >= len(text):
                break
            try:
                obj, pos = dec.raw_decode(text, pos)
            except ValueError as e:
                self.error("bad JSON: %s" % e)
                return 400, {"text": "Invalid data format", "code": 6,
                             "invalid-event-number": len(events)}, None
            events.append(obj)
        if not events:
            return 400, {"text": "No data", "code": 5}, None
        for n, ev in enumerate(events):
            why = self.hec_check(ev)
            if why:
                self.error("event %d: %s" % (n, why))
                code = 12 if "event" not in ev else 6
                return 400, {"text": why, "code": code,
                             "invalid-event-number": n}, None

        def store():
            with LOCK:
                STATE["hec"].extend(events)
        return 200, {"text": "Success", "code": 0}, store

    @staticmethod
    def hec_check(ev):
        if not isinstance(ev, dict):
            return "not an object"
        if "event" not in ev:
            return "Event field is required"
        if ev["event"] in ("", None):
            return "Event field cannot be blank"
        if "time" in ev and not isinstance(ev["time"], (int, float)):
            return "time is not epoch seconds"
        for k in ("host", "source", "sourcetype", "index"):
            if k in ev and not isinstance(ev[k], str):
                return "%s is not a string" % k
        if ev.get("sourcetype") == "XmlWinEventLog":
            xml = ev["event"]
            if not isinstance(xml, str) or not xml.startswith("<Event"):
                return "XmlWinEventLog event is not the event XML"
            m = CHANNEL_RE.search(xml)
            if m is None or ev.get("source") != "XmlWinEventLog:" + m.group(1):
                return "source does not match the event's Channel"
        return None

    def bulk(self, body, item_faults):
        ctype = self.headers.get("Content-Type", "")
        if not ctype.startswith("application/x-ndjson"):
            self.error("Content-Type %r" % ctype)
            return 400, {"error": "bad content type"}, None
        text = body.decode("utf-8")
        if not text.endswith("\n"):
            self.error("body not terminated by a newline")
            return 400, {"error": {"type": "illegal_argument_exception",
                                   "reason": "The bulk request must be "
                                   "terminated by a newline [\\n]"}}, None
        lines = text[:-1].split("\n")
        if len(lines) % 2 != 0:
            self.error("odd number of lines")
            return 400, {"error": "action/source mismatch"}, None
        m = re.match(r"^/([^/_][^/]*)/_bulk$", self.path)
        url_index = m.group(1) if m else None
        items, docs, errors = [], [], False
        for i in range(0, len(lines), 2):
            try:
                action = json.loads(lines[i])
                doc = json.loads(lines[i + 1])
            except ValueError as e:
                self.error("bad JSON line: %s" % e)
                return 400, {"error": "parse"}, None
            if list(action) != ["create"] or not isinstance(doc, dict):
                self.error("not a create action with an object: %r" % action)
                return 400, {"error": "bad action"}, None
            index = action["create"].get("_index", url_index)
            if index is None:
                self.error("no index")
                return 400, {"error": "no index"}, None
            n = i // 2
            status = item_faults.get(str(n), 201)
            if doc.get("poison"):
                status = 400
            if status == 201:
                docs.append({"index": index, "doc": doc})
                items.append({"create": {"_index": index, "status": 201,
                                         "result": "created"}})
            else:
                errors = True
                etype = ("document_parsing_exception" if status == 400 else
                         "es_rejected_execution_exception")
                items.append({"create": {"_index": index, "status": status,
                                         "error": {"type": etype,
                                                   "reason": "injected"}}})

        def store():
            with LOCK:
                STATE["bulk"].extend(docs)
        return 200, {"took": 1, "errors": errors, "items": items}, store


class Server(ThreadingHTTPServer):
    daemon_threads = True
    ssl_ctx = None

    def finish_request(self, request, client_address):
        # TLS per connection, in its own thread: a client that never
        # handshakes blocks only itself (siem-testing.md section 3).
        if self.ssl_ctx is not None:
            request.settimeout(5)
            try:
                request = self.ssl_ctx.wrap_socket(request, server_side=True)
            except (OSError, ssl.SSLError):
                return
            request.settimeout(None)
        self.RequestHandlerClass(request, client_address, self)

    def handle_error(self, request, client_address):
        pass  # injected connection drops end in broken pipes; not news


def main():
    global TOKEN
    ap = argparse.ArgumentParser()
    ap.add_argument("--token", default=TOKEN)
    ap.add_argument("--tls", nargs=2, metavar=("CERT", "KEY"),
                    help="serve HTTPS with this certificate and key")
    args = ap.parse_args()
    TOKEN = args.token
    srv = Server(("127.0.0.1", 0), Handler)
    if args.tls:
        srv.ssl_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        srv.ssl_ctx.load_cert_chain(args.tls[0], args.tls[1])
    print(srv.server_address[1], flush=True)
    srv.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
