# SPDX-License-Identifier: GPL-3.0-or-later
"""Start the real collectord on 127.0.0.1 with free ports and a temporary
data directory, talk to it over HTTP, and stop it. Used by the integration
tests (tests/test_*.py); every test stops what it started."""

import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from wait_indexed import wait_indexed  # noqa: E402
from free_port import free_port  # noqa: E402,F401 - tests import it from here

TOP_SRCDIR = os.environ.get("top_srcdir") or os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TOP_BUILDDIR = os.environ.get("top_builddir") or os.path.join(TOP_SRCDIR, "build")
DATA = os.path.join(TOP_SRCDIR, "tests", "data")
SOAP_UTF16 = "application/soap+xml;charset=UTF-16"
# The daemon's line once every listener is up (src/main.c).
STARTED = re.compile(r"\[main\] collectord \S+ started: ")


def data(rel):
    with open(os.path.join(DATA, rel), "rb") as f:
        return f.read()


def utf16(text):
    """A SOAP body as Windows sends it: UTF-16LE with a BOM."""
    return b"\xff\xfe" + text.encode("utf-16-le")


def from_utf16(body):
    assert body[:2] == b"\xff\xfe", "reply is not UTF-16LE with a BOM: %r" % body[:20]
    return body[2:].decode("utf-16-le")



def conf_file(xml):
    """The path of a new configuration file holding xml (in a temporary
    directory of its own), for Daemon(extra=["--config", path])."""
    path = os.path.join(tempfile.mkdtemp(prefix="cd-conf-"), "collectord.xml")
    with open(path, "w", encoding="utf-8") as f:
        f.write(xml)
    return path

class Daemon:
    def __init__(self, subscriptions=None, extra=(), data_dir=None, auth="none",
                 default_subscriptions=False):
        """default_subscriptions: pass no --subscriptions (the daemon's own
        default directory, missing here, means the built-in subscription)."""
        self.tmp = tempfile.mkdtemp(prefix="cd-it-")
        self.default_subscriptions = default_subscriptions
        self.data_dir = data_dir or os.path.join(self.tmp, "data")
        self.subscriptions = subscriptions or os.path.join(self.tmp, "subs-empty")
        os.makedirs(self.subscriptions, exist_ok=True)
        self.extra = list(extra)
        self.auth = auth
        self.port = free_port()
        self.api_port = free_port()
        self.proc = None
        self.log_path = os.path.join(self.tmp, "collectord.log")

    def argv(self):
        return [os.path.join(TOP_BUILDDIR, "src", "collectord"), "--foreground",
                "--auth", self.auth,
                "--listen", "127.0.0.1:%d" % self.port,
                "--api-listen", "127.0.0.1:%d" % self.api_port,
                "--data-dir", self.data_dir] + \
            ([] if self.default_subscriptions else ["--subscriptions", self.subscriptions]) + \
            self.extra

    def start(self, timeout=20):
        """Start the daemon and wait for its "started" line: only then are
        all its listeners its own (a port probe could reach another
        process). A port taken meanwhile by another test gets new ports."""
        for _ in range(5):
            if self._start_once(timeout):
                return self
            self.port, self.api_port = free_port(), free_port()
        raise RuntimeError("collectord found its ports taken 5 times:\n" + self.logtext())

    def _start_once(self, timeout):
        env = dict(os.environ)
        env["COLLECTORD_SCHEMA_DIR"] = os.path.join(TOP_SRCDIR, "schemas")
        env["COLLECTORD_LOLBAS"] = os.path.join(TOP_SRCDIR, "data", "lolbas.txt")
        self.log = open(self.log_path, "ab")
        since = self.log.tell()
        self.proc = subprocess.Popen(self.argv(), stdout=self.log, stderr=self.log, env=env)
        deadline = time.time() + timeout
        while time.time() < deadline:
            text = self.logtext(since)
            if self.proc.poll() is not None:
                self.log.close()
                taken = ["127.0.0.1:%d: Address already in use" % p for p in (self.port, self.api_port)]
                if any(t in text for t in taken):
                    return False
                raise RuntimeError("collectord exited with %d:\n%s" % (self.proc.returncode, self.logtext()))
            if STARTED.search(text):
                return True
            time.sleep(0.05)
        raise RuntimeError("collectord did not start:\n" + self.logtext())

    def logtext(self, since=0):
        """The daemon's log, from byte offset since."""
        try:
            with open(self.log_path, "rb") as f:
                f.seek(since)
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def stop(self, sig=signal.SIGTERM, timeout=10):
        """Stop the daemon; returns its exit code (raises if it hangs)."""
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else None
        self.proc.send_signal(sig)
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise RuntimeError("collectord did not stop within %d s" % timeout)
        self.log.close()
        if rc != 0:
            # A crash at stop shows only as a code: say what the daemon said.
            sys.stderr.write("collectord stopped with %d; its log:\n%s\n" % (rc, self.logtext()))
        return rc

    def kill9(self):
        self.proc.kill()
        self.proc.wait()
        self.log.close()

    def cleanup(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def post(self, path, body, headers=None, conn=None):
        h = {"Content-Type": SOAP_UTF16, "User-Agent": "Microsoft WinRM Client"}
        h.update(headers or {})
        own = conn is None
        if own:
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        conn.request("POST", path, body=body, headers=h)
        r = conn.getresponse()
        out = (r.status, dict(r.getheaders()), r.read())
        if own:
            conn.close()
        return out

    def api(self, path, headers=None, indexed=True):
        """GET an API path. With indexed, first wait until the DNS index
        holds every acknowledged query (it is applied after the Ack)."""
        if indexed:
            wait_indexed("http://127.0.0.1:%d" % self.api_port, headers)
        conn = http.client.HTTPConnection("127.0.0.1", self.api_port, timeout=30)
        conn.request("GET", path, headers=headers or {})
        r = conn.getresponse()
        body = r.read()
        conn.close()
        try:
            return r.status, json.loads(body)
        except ValueError:
            return r.status, body


def run(tests):
    """Run test functions; print one line each and the closing count."""
    passed = failed = 0
    for t in tests:
        try:
            t()
            passed += 1
            print("PASS: %s" % t.__name__)
        except Exception as e:  # noqa: BLE001 - report every failure
            failed += 1
            import traceback
            traceback.print_exc()
            print("FAIL: %s: %s" % (t.__name__, e))
    print("%d passed, %d failed" % (passed, failed))
    sys.exit(1 if failed else 0)
