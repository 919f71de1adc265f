#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Hostile clients and faults against the real daemon (short versions; the
long ones are bench/faults-long):

- limits: a declared oversized body gets 413 from the headers alone, an
  oversized chunked body is cut off, header floods get 431 or a closed
  connection, a slow-loris client is dropped after the idle timeout, a
  trickled body after the request timeout, connections over the per-address
  limit are refused, DOCTYPE/entities are refused, deep XML and too many
  events per batch are refused, and the daemon keeps serving throughout;
- kill -9 at random moments under load, repeatedly: every acked event is
  stored, reaches the file output, and the served bookmark is exactly the
  durable position;
- disk full (tmpfs data dir): 503 and no Ack while full, no busy loop,
  recovery by itself once space returns, nothing corrupted;
- SIGTERM under load: exit 0 within 10 s, never an Ack for what is not stored;
- event clocks jumping back and forth: first/last seen stay min/max per key;
- privileges: root refused unless allowed; the drop to a configured user.

FAULTS_KILL_ITERATIONS (default 20) sets the kill -9 rounds."""

import http.client
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time

from daemon import DATA, TOP_BUILDDIR, TOP_SRCDIR, Daemon, run, utf16
from test_daemon_lifecycle import (builtin_id, enumerate_msg, enumerated,
                                   events_message, host_events, served_bookmark)

SYSMON = "Microsoft-Windows-Sysmon/Operational"
KILL_ITERATIONS = int(os.environ.get("FAULTS_KILL_ITERATIONS", "20"))

LIMITS_CONF = """<?xml version="1.0"?>
<collectord>
	<limits>
		<max-body-bytes>65536</max-body-bytes>
		<max-decompressed-bytes>65536</max-decompressed-bytes>
		<max-events-per-batch>5</max-events-per-batch>
		<max-xml-nodes>2000</max-xml-nodes>
		<max-connections-per-ip>4</max-connections-per-ip>
		<connection-timeout>{timeout}</connection-timeout>
		<max-header-bytes>16384</max-header-bytes>
		<request-timeout>2</request-timeout>
	</limits>
</collectord>
"""

FILE_OUTPUT_CONF = """<?xml version="1.0"?>
<collectord>
	<outputs>
		<output name="archive" type="file">
			<path>{path}</path>
			<format>raw</format>
			<rotate_bytes>0</rotate_bytes>
		</output>
	</outputs>
</collectord>
"""


def write(path, text):
    with open(path, "w") as f:
        f.write(text)
    return path


def limits_daemon(timeout=2):
    d = Daemon()
    conf = write(os.path.join(d.tmp, "collectord.xml"), LIMITS_CONF.format(timeout=timeout))
    d.extra = ["--config", conf]
    return d.start()


def raw_exchange(port, data, timeout=10):
    """Send bytes, return what the server answered before closing (or b""
    when it closed or reset without an answer)."""
    s = socket.create_connection(("127.0.0.1", port), timeout)
    out = b""
    try:
        s.sendall(data)
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            out += chunk
            if b"\r\n\r\n" in out:
                break
    except (ConnectionResetError, BrokenPipeError):
        pass
    finally:
        s.close()
    return out


def status_of(reply):
    m = re.match(rb"HTTP/1\.[01] (\d{3})", reply)
    return int(m.group(1)) if m else None


def closed_within(s, seconds):
    """Seconds until the server closes s (None if still open after that)."""
    t0 = time.time()
    s.settimeout(0.2)
    while time.time() - t0 < seconds:
        try:
            if s.recv(4096) == b"":
                return time.time() - t0
        except socket.timeout:
            continue
        except (ConnectionResetError, BrokenPipeError):
            return time.time() - t0
    return None


def still_serving(d):
    st, _ = d.api("/api/v1/stats")
    assert st == 200, st
    assert d.proc.poll() is None, "the daemon died"
    text = enumerated(d, "alive.example.com")
    assert "EnumerateResponse" in text


def post_head(path, length, extra=b""):
    return (b"POST " + path.encode() + b" HTTP/1.1\r\nHost: collector:5985\r\n"
            b"Content-Type: application/soap+xml;charset=UTF-16\r\n" + extra +
            b"Content-Length: %d\r\n\r\n" % length)


def test_body_caps():
    d = limits_daemon()
    try:
        # Declared beyond the cap: 413 before any body byte is sent.
        reply = raw_exchange(d.port, post_head("/wsman/SubscriptionManager/WEC", 10 << 20))
        assert status_of(reply) == 413, reply[:100]
        # Chunked past the cap: cut off, never a 200.
        s = socket.create_connection(("127.0.0.1", d.port), 10)
        s.sendall(b"POST /wsman/SubscriptionManager/WEC HTTP/1.1\r\nHost: c\r\n"
                  b"Content-Type: application/soap+xml\r\nTransfer-Encoding: chunked\r\n\r\n")
        chunk = b"<" * 8192
        sent = 0
        try:
            for _ in range(64):
                s.sendall(b"%x\r\n" % len(chunk) + chunk + b"\r\n")
                sent += len(chunk)
        except (BrokenPipeError, ConnectionResetError):
            pass
        assert closed_within(s, 5) is not None, "oversized chunked body kept open"
        s.close()
        # Within the body cap, but past max-decompressed-bytes once decoded
        # (each control character becomes a 3-byte U+FFFD): 413.
        st, _, _ = d.post("/wsman/SubscriptionManager/WEC", b"<" + b"\x01" * 60000,
                          {"Content-Type": "application/soap+xml;charset=UTF-8"})
        assert st == 413, st
        # Too many events in one batch: refused, nothing acked.
        sub_id, _ = builtin_id(d, "cap.example.com")
        st, _, _ = d.post("/wsman/subscriptions/" + sub_id,
                          utf16(events_message("cap.example.com", sub_id, 1, 6,
                                               "uuid:00000000-0000-0000-0000-000000000001")))
        assert st in (400, 413), st
        assert host_events(d, "cap.example.com") == 0
        st, _, _ = d.post("/wsman/subscriptions/" + sub_id,
                          utf16(events_message("cap.example.com", sub_id, 1, 5,
                                               "uuid:00000000-0000-0000-0000-000000000002")))
        assert st == 200, st
        assert host_events(d, "cap.example.com") == 5
        still_serving(d)
    finally:
        d.stop()
        d.cleanup()


def test_auth_before_body():
    """Kerberos mode: an unauthenticated request is answered 401 from its
    headers alone (even one declaring a 10 MiB body it never sends), a
    garbage token too, and the WEF body is never read or parsed."""
    if shutil.which("ktutil") is None:
        print("SKIP: test_auth_before_body: no ktutil (Debian: krb5-user)")
        return
    d = Daemon(auth="kerberos")
    keytab = os.path.join(d.tmp, "http.keytab")
    p = subprocess.run(["ktutil"], input="addent -password -p HTTP/collector.example.com@EXAMPLE.COM "
                       "-k 1 -e aes256-cts-hmac-sha1-96\nthrow-away\nwkt %s\nq\n" % keytab,
                       capture_output=True, text=True)
    if p.returncode != 0 or not os.path.exists(keytab):
        print("SKIP: test_auth_before_body: ktutil failed: %s" % p.stderr.strip())
        return
    d.extra = ["--keytab", keytab]
    d.start()
    try:
        for extra in (b"", b"Authorization: Kerberos AAAA\r\n",
                      b"Authorization: Negotiate " + b"YII" * 3000 + b"\r\n"):
            t0 = time.time()
            reply = raw_exchange(d.port, post_head("/wsman/subscriptions/x", 10 << 20, extra))
            assert status_of(reply) == 401, reply[:200]
            assert b"WWW-Authenticate: Negotiate" in reply and time.time() - t0 < 5
        assert "bad envelope" not in d.logtext()
        still_serving_api(d)
    finally:
        d.stop()
        d.cleanup()


def still_serving_api(d):
    st, _ = d.api("/api/v1/stats")
    assert st == 200 and d.proc.poll() is None


def test_header_flood():
    d = limits_daemon()
    try:
        # One huge header, then very many small ones, past max-header-bytes
        # (16 KiB here): 431 from libmicrohttpd, never a crash. A request
        # just under the cap is still served (the control).
        for extra in (b"X-Big: " + b"a" * 100000 + b"\r\n",
                      b"".join(b"X-H%d: v\r\n" % i for i in range(20000))):
            reply = raw_exchange(d.port, post_head("/wsman/SubscriptionManager/WEC", 0, extra))
            assert status_of(reply) == 431, reply[:200]
        # The operator is told why (once a minute, not per request).
        log = d.logtext()
        assert log.count("exceed limits/max-header-bytes (16384 bytes; 431)") == 1, log[-2000:]
        reply = raw_exchange(d.port, post_head("/wsman/SubscriptionManager/WEC", 0,
                                               b"X-Ok: " + b"a" * 8000 + b"\r\n"))
        assert status_of(reply) == 400, reply[:200]
        # A huge request line.
        reply = raw_exchange(d.port, b"GET /" + b"a" * 100000 + b" HTTP/1.1\r\nHost: c\r\n\r\n")
        assert status_of(reply) in (None, 413, 414, 431), reply[:200]
        still_serving(d)
    finally:
        d.stop()
        d.cleanup()


def test_shipped_header_limit():
    """The shipped max-header-bytes (32 KiB, twice what HTTP.sys takes by
    default) lets a 20 KB Kerberos-sized header through and refuses 40 KB."""
    d = Daemon().start()
    try:
        ok = raw_exchange(d.port, post_head("/wsman/SubscriptionManager/WEC", 0,
                                            b"Authorization: Kerberos " + b"A" * 20000 + b"\r\n"))
        assert status_of(ok) not in (None, 431), ok[:200]
        big = raw_exchange(d.port, post_head("/wsman/SubscriptionManager/WEC", 0,
                                             b"Authorization: Kerberos " + b"A" * 40000 + b"\r\n"))
        assert status_of(big) == 431, big[:200]
        assert "limits/max-header-bytes (32768 bytes; 431)" in d.logtext()
        still_serving(d)
    finally:
        d.stop()
        d.cleanup()


def test_api_thread_slice():
    """The REST API's thread asks for a 100 us time slice once it has
    served a request (Linux 6.12+ shows it as se.slice)."""
    d = Daemon().start()
    try:
        st, _ = d.api("/api/v1/stats")
        assert st == 200
        slices = {}
        for tid in os.listdir("/proc/%d/task" % d.proc.pid):
            try:
                with open("/proc/%d/task/%s/comm" % (d.proc.pid, tid)) as f:
                    comm = f.read().strip()
                with open("/proc/%d/task/%s/sched" % (d.proc.pid, tid)) as f:
                    m = re.search(r"^se\.slice\s*:\s*(\d+)", f.read(), re.M)
            except OSError:
                continue
            if m:
                slices.setdefault(comm, []).append(int(m.group(1)))
        if not slices:
            print("SKIP: test_api_thread_slice: this kernel shows no se.slice")
            return
        # The API listener is libmicrohttpd's single thread; WEF listeners
        # use a pool of workers, which keep the default slice.
        assert slices.get("MHD-single") == [100000], slices
        assert all(v != 100000 for v in slices.get("MHD-worker", [])), slices
    finally:
        d.stop()
        d.cleanup()


def thread_nices(pid):
    """{thread name: [nice, ...]} of a running process, from /proc."""
    nices = {}
    for tid in os.listdir("/proc/%d/task" % pid):
        try:
            with open("/proc/%d/task/%s/stat" % (pid, tid)) as f:
                stat = f.read()
        except OSError:
            continue
        comm = stat[stat.index("(") + 1:stat.rindex(")")]
        # Field 19 is nice; the fields after ")" start at field 3.
        nices.setdefault(comm, []).append(int(stat[stat.rindex(")") + 2:].split()[16]))
    return nices


def test_output_thread_yields():
    """An output's thread runs at nice 10, so that under CPU contention the
    HTTP workers and the store writer, which an Ack waits for, go first;
    those keep the daemon's priority."""
    d = Daemon()
    conf = os.path.join(d.tmp, "c.xml")
    with open(conf, "w") as f:
        f.write('<?xml version="1.0"?><collectord><outputs>'
                '<output name="f" type="file"><path>%s</path></output>'
                '</outputs></collectord>' % os.path.join(d.tmp, "out.json"))
    d.extra = ["--config", conf]
    d.start()
    try:
        base = os.getpriority(os.PRIO_PROCESS, d.proc.pid)
        still_serving(d)
        # libmicrohttpd's threads name themselves once they run, which
        # under load (or sanitizers) can be after start returns: wait.
        deadline = time.monotonic() + 10
        nices = thread_nices(d.proc.pid)
        while "MHD-worker" not in nices and time.monotonic() < deadline:
            time.sleep(0.05)
            nices = thread_nices(d.proc.pid)
        assert nices.get("cd-output") == [min(base + 10, 19)], nices
        assert nices.get("cd-store") == [base], nices
        # Every other thread (the HTTP workers and the rest), named or not
        # yet, keeps the daemon's priority.
        assert all(n == base for name, v in nices.items()
                   if name != "cd-output" for n in v), nices
    finally:
        d.stop()
        d.cleanup()


def test_slow_clients():
    d = limits_daemon()
    try:
        # Slow-loris: half a request line, then silence. connection-timeout 2.
        s = socket.create_connection(("127.0.0.1", d.port), 10)
        s.sendall(b"POST /wsman/Subscr")
        t = closed_within(s, 10)
        s.close()
        assert t is not None and t < 6, t
        # Body trickled one byte every 0.5 s: each byte resets the idle
        # timer, but request-timeout 2 drops it.
        s = socket.create_connection(("127.0.0.1", d.port), 10)
        s.sendall(post_head("/wsman/SubscriptionManager/WEC", 1000))
        t0 = time.time()
        closed = False
        while time.time() - t0 < 10:
            try:
                s.sendall(b"<")
                s.settimeout(0.5)
                if s.recv(4096) == b"":
                    closed = True
                    break
            except socket.timeout:
                continue
            except (BrokenPipeError, ConnectionResetError):
                closed = True
                break
        s.close()
        assert closed and time.time() - t0 < 6, time.time() - t0
        still_serving(d)
    finally:
        d.stop()
        d.cleanup()


def test_per_address_limit():
    # A long idle timeout: the held connections must outlive a slow run.
    d = limits_daemon(timeout=60)
    held = []
    # Daemon.start() probed the port with a connection of its own; give the
    # server a moment to reap it so it does not count against the limit.
    time.sleep(0.5)
    try:
        # max-connections-per-ip 4: four connections are held open, each
        # answered once (so the server has surely accepted it), then idle
        # in keep-alive...
        body = utf16(enumerate_msg("held.example.com"))
        for _ in range(4):
            # A connection the server has not reaped yet (the start-up probe,
            # on a loaded machine) may still count: retry for a few seconds.
            for attempt in range(20):
                s = socket.create_connection(("127.0.0.1", d.port), 10)
                s.sendall(post_head("/wsman/SubscriptionManager/WEC", len(body)) + body)
                reply = s.recv(65536)
                if reply:
                    break
                s.close()
                time.sleep(0.25)
            assert status_of(reply) == 200 and b"Connection: close" not in reply, reply[:200]
            held.append(s)
        # ...the fifth is closed at once by the server, unanswered.
        reply = raw_exchange(d.port, post_head("/wsman/SubscriptionManager/WEC", 0), timeout=3)
        assert reply == b"", ("a fifth connection from one address was served", reply[:80])
        for h in held:
            h.close()
        held = []
        time.sleep(0.5)
        still_serving(d)
    finally:
        for h in held:
            h.close()
        d.stop()
        d.cleanup()


def test_xml_hygiene():
    d = limits_daemon()
    try:
        env = enumerated(d, "x.example.com")  # noqa: F841 - the daemon is up
        base = ('<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" '
                'xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing"><s:Header>'
                "<a:Action>http://schemas.xmlsoap.org/ws/2004/09/enumeration/Enumerate</a:Action>"
                "<a:MessageID>uuid:%s</a:MessageID></s:Header><s:Body>%s</s:Body></s:Envelope>")
        laughs = ('<?xml version="1.0"?><!DOCTYPE s:Envelope [<!ENTITY a "aaaaaaaaaa">'
                  + "".join('<!ENTITY %s "%s">' % (chr(98 + i), ("&%s;" % chr(97 + i)) * 10)
                            for i in range(8)) + "]>")
        xxe = '<?xml version="1.0"?><!DOCTYPE s:Envelope [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        for prolog, body in ((laughs, "&i;"), (xxe, "&x;")):
            st, _, reply = d.post("/wsman/SubscriptionManager/WEC", utf16(prolog + base % ("1", body)))
            assert st == 400, st
            assert b"r\x00o\x00o\x00t\x00:\x00" not in reply and b"aaaaaaaaaa" not in reply
        # Nesting far past max-xml-depth.
        deep = "<x>" * 5000 + "</x>" * 5000
        st, _, _ = d.post("/wsman/SubscriptionManager/WEC", utf16(base % ("2", deep)))
        assert st in (400, 413), st
        # Flat but wide, past max-xml-nodes (2000 here): 413; under it: parsed.
        st, _, _ = d.post("/wsman/SubscriptionManager/WEC", utf16(base % ("3", "<x/>" * 3000)))
        assert st == 413, st
        st, _, _ = d.post("/wsman/SubscriptionManager/WEC", utf16(base % ("4", "<x/>" * 100)))
        assert st == 200, st
        still_serving(d)
    finally:
        d.stop()
        d.cleanup()


def mixed_message(host, sub_id, first, count, mid):
    """An Events batch whose first event is a Sysmon DNS query for a name of
    its own (r<first>.kill.example) and the rest process creations: the
    DNS index then has to agree with the stored batches."""
    msg = events_message(host, sub_id, first, count, mid)
    ev = dns_event(host, first, "2024-05-01 10:00:00.000", "r%d.kill.example" % first)
    return re.sub(r"<!\[CDATA\[.*?\]\]>", lambda m: "<![CDATA[%s]]>" % ev, msg, count=1, flags=re.S)


def host_row(d, host):
    st, js = d.api("/api/v1/hosts?limit=1000")
    assert st == 200, js
    return next((h for h in js["hosts"] if h["host"] == host), {"events": 0, "dns_queries": 0,
                                                                 "domains": 0})


def sender_loop(d, host, sub_id, acked, stop, batch=10, tag=0):
    """Deliver like Windows: resume after the served bookmark, advance only
    on an Ack. acked[host] is the highest acknowledged record id."""
    try:
        first = (served_bookmark(enumerated(d, host)) or 0) + 1
    except OSError:
        return
    n = 0
    while not stop.is_set():
        mid = "uuid:%08X-0000-0000-0000-%012X" % (tag, first + n)
        try:
            st, _, _ = d.post("/wsman/subscriptions/" + sub_id,
                              utf16(mixed_message(host, sub_id, first, batch, mid)))
        except OSError:
            return
        if st == 200:
            acked[host] = max(acked.get(host, 0), first + batch - 1)
            first += batch
        else:
            time.sleep(0.05)
        n += 1


def archive_ids(path):
    """(host, record id) pairs in the raw archive output."""
    out = set()
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            for line in f:
                c = re.search(r"<Computer>([^<]+)</Computer>", line)
                r = re.search(r"<EventRecordID>(\d+)</EventRecordID>", line)
                if c and r:
                    out.add((c.group(1).lower(), int(r.group(1))))
    except FileNotFoundError:
        pass
    return out


def kill9_rounds(iterations, hosts=3, seed=None, report=None):
    """The kill -9 fault loop, shared with bench/faults-long. Returns a dict
    of figures; raises AssertionError on the first violated guarantee."""
    rnd = random.Random(seed if seed is not None else os.getpid())
    d = Daemon()
    archive = os.path.join(d.tmp, "archive.xml")
    conf = write(os.path.join(d.tmp, "collectord.xml"), FILE_OUTPUT_CONF.format(path=archive))
    d.extra = ["--config", conf]
    d.start()
    names = ["k%d.example.com" % i for i in range(hosts)]
    acked = {}
    figures = {"iterations": 0, "acked_events": 0, "restart_s_max": 0.0}
    try:
        sub_id, _ = builtin_id(d, names[0])
        for it in range(iterations):
            stop = threading.Event()
            threads = [threading.Thread(target=sender_loop, args=(d, h, sub_id, acked, stop, 10, it))
                       for h in names]
            for t in threads:
                t.start()
            time.sleep(rnd.uniform(0.1, 0.8))
            d.kill9()
            stop.set()
            for t in threads:
                t.join()
            t0 = time.time()
            d.start()
            figures["restart_s_max"] = max(figures["restart_s_max"], time.time() - t0)
            for h in names:
                row = host_row(d, h)
                stored = row["events"]
                bm = served_bookmark(enumerated(d, h)) or 0
                assert stored >= acked.get(h, 0), ("acked event lost", it, h, stored, acked.get(h))
                # Batches are atomic: exactly the records up to the
                # bookmark are there...
                assert bm == stored, ("bookmark is not the durable position", it, h, bm, stored)
                # ...and the DNS index agrees: one query, one new name per
                # stored batch of 10.
                assert row["dns_queries"] == stored // 10 == row["domains"], (it, h, row)
            figures["iterations"] = it + 1
            if report:
                report(it + 1, sum(acked.values()))
        # Everything stored reaches the output (at least once).
        want = {(h, r) for h in names for r in range(1, host_events(d, h) + 1)}
        deadline = time.time() + 60
        while not want <= archive_ids(archive):
            assert time.time() < deadline, ("events missing from the output",
                                            sorted(want - archive_ids(archive))[:5])
            time.sleep(0.2)
        figures["acked_events"] = sum(acked.values())
        assert figures["acked_events"] > 0, "nothing was acked: the test proved nothing"
        return figures
    finally:
        d.stop()
        d.cleanup()


def test_kill9_repeated():
    f = kill9_rounds(KILL_ITERATIONS)
    print("kill -9: %d rounds, %d events acked, none lost; restart <= %.2f s"
          % (f["iterations"], f["acked_events"], f["restart_s_max"]))


SPOOL_CAP_CONF = """<?xml version="1.0"?>
<collectord>
	<store><spool-max-entries>30</spool-max-entries></store>
	<outputs>
		<output name="archive" type="file">
			<path>{path}</path>
			<format>raw</format>
			<rotate_bytes>0</rotate_bytes>
		</output>
	</outputs>
</collectord>
"""


def test_output_down():
    """An output that cannot deliver (its directory is missing) for a long
    time: the spool fills to its cap (30 entries here), then batches get
    503 without Ack; once the output works again everything drains and
    batches are accepted again."""
    d = Daemon()
    outdir = os.path.join(d.tmp, "out")
    archive = os.path.join(outdir, "archive.xml")
    conf = write(os.path.join(d.tmp, "collectord.xml"), SPOOL_CAP_CONF.format(path=archive))
    d.extra = ["--config", conf]
    d.start()
    try:
        host = "down.example.com"
        sub_id, _ = builtin_id(d, host)
        first, status = 1, 200
        for n in range(50):
            status, _, body = d.post("/wsman/subscriptions/" + sub_id,
                                     utf16(events_message(host, sub_id, first, 10,
                                                          "uuid:60000000-0000-0000-0000-%012X" % n)))
            if status != 200:
                break
            first += 10
        assert status == 503, ("the spool cap never answered 503", status)
        assert b"A\x00c\x00k\x00" not in body
        acked = first - 1
        assert acked > 0 and host_events(d, host) == acked
        assert served_bookmark(enumerated(d, host)) == acked
        # The output comes back: every stored event is delivered, and
        # deliveries are accepted again.
        os.makedirs(outdir)
        want = {(host, r) for r in range(1, acked + 1)}
        deadline = time.time() + 60
        while not want <= archive_ids(archive):
            assert time.time() < deadline, "the spool did not drain"
            time.sleep(0.2)
        deadline = time.time() + 30
        while True:
            st, _, _ = d.post("/wsman/subscriptions/" + sub_id,
                              utf16(events_message(host, sub_id, first, 10,
                                                   "uuid:61000000-0000-0000-0000-%012X" % first)))
            if st == 200:
                break
            assert time.time() < deadline, ("still refused after the drain", st)
            time.sleep(0.3)
        assert host_events(d, host) == acked + 10
        # One spell of refusals: its start with the reason, and its end.
        log = d.logtext()
        starts = [l for l in log.splitlines()
                  if "refusing Events batches with 503 from now on" in l]
        assert len(starts) == 1 and "the spool is at its cap" in starts[0], starts
        assert log.count("accepting Events batches again, after refusing ") == 1, log[-2000:]
        still_serving(d)
    finally:
        d.stop()
        d.cleanup()


def cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def disk_full_run(size_mb=4, report=None):
    """The disk-full scenario; returns figures. Raises unittest-style
    SkipTest (a RuntimeError subclass) when tmpfs cannot be mounted."""
    mnt = tempfile.mkdtemp(prefix="cd-tmpfs-")
    p = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=%dm" % size_mb, "tmpfs", mnt],
                       capture_output=True, text=True)
    if p.returncode != 0:
        os.rmdir(mnt)
        raise Skip("cannot mount a tmpfs (%s)" % p.stderr.strip())
    d = None
    try:
        d = Daemon(data_dir=os.path.join(mnt, "data")).start()
        host = "full.example.com"
        sub_id, _ = builtin_id(d, host)
        # Leave roughly 1 MiB free.
        st = os.statvfs(mnt)
        free = st.f_bavail * st.f_frsize
        filler = os.path.join(mnt, "filler")
        with open(filler, "wb") as f:
            f.write(b"\0" * max(0, free - (1 << 20)))
        first, acked, status = 1, 0, 200
        for n in range(2000):
            status, _, body = d.post("/wsman/subscriptions/" + sub_id,
                                     utf16(events_message(host, sub_id, first, 10,
                                                          "uuid:00000000-0000-0000-0000-%012X" % n)))
            if status != 200:
                break
            acked = first + 9
            first += 10
        assert status == 503, ("the disk never filled", status)
        assert b"Ack" not in body and b"A\x00c\x00k\x00" not in body
        # While full: the daemon does not spin, and a retry is a 503 unless
        # its commit fitted in pages LMDB freed earlier (then it is stored
        # and acknowledged, which the count below checks).
        cpu0 = cpu_seconds(d.proc.pid)
        t0 = time.time()
        for n in range(6):
            st_, _, body = d.post("/wsman/subscriptions/" + sub_id,
                                  utf16(events_message(host, sub_id, first, 10,
                                                       "uuid:10000000-0000-0000-0000-%012X" % n)))
            assert st_ in (200, 503), st_
            if st_ == 200:
                acked = first + 9
                first += 10
            else:
                assert b"A\x00c\x00k\x00" not in body
            time.sleep(0.5)
        cpu = cpu_seconds(d.proc.pid) - cpu0
        wall = time.time() - t0
        assert cpu < 0.5 * wall, ("busy while full", cpu, wall)
        assert host_events(d, host) == acked
        # Space returns: the next retry is accepted, without a restart.
        os.unlink(filler)
        deadline = time.time() + 15
        while True:
            st_, _, _ = d.post("/wsman/subscriptions/" + sub_id,
                               utf16(events_message(host, sub_id, first, 10,
                                                    "uuid:20000000-0000-0000-0000-%012X" % int(time.time() * 1000))))
            if st_ == 200:
                break
            assert time.time() < deadline, ("no recovery after space returned", st_)
            time.sleep(0.5)
        recovery = 15 - (deadline - time.time())
        acked = first + 9
        assert host_events(d, host) == acked
        # Nothing corrupted: a restart sees exactly the acked events.
        assert d.stop() == 0
        d.start()
        assert host_events(d, host) == acked == (served_bookmark(enumerated(d, host)) or 0)
        figures = {"acked_before_full": acked - 10, "cpu_while_full": cpu, "wall_full": wall,
                   "recovery_s": recovery}
        if report:
            report(figures)
        return figures
    finally:
        if d is not None:
            try:
                d.stop()
            finally:
                d.cleanup()
        subprocess.run(["umount", "-l", mnt])
        os.rmdir(mnt)


class Skip(RuntimeError):
    pass


def test_disk_full():
    try:
        f = disk_full_run()
    except Skip as e:
        print("SKIP: test_disk_full: %s" % e)
        return
    print("disk full: 503 while full, daemon CPU %.2f s over %.1f s, recovered in %.1f s"
          % (f["cpu_while_full"], f["wall_full"], f["recovery_s"]))


def sigterm_run(seed=None):
    rnd = random.Random(seed if seed is not None else os.getpid())
    d = Daemon().start()
    try:
        names = ["t%d.example.com" % i for i in range(4)]
        sub_id, _ = builtin_id(d, names[0])
        acked = {}
        stop = threading.Event()
        threads = [threading.Thread(target=sender_loop, args=(d, h, sub_id, acked, stop, 20))
                   for h in names]
        for t in threads:
            t.start()
        time.sleep(rnd.uniform(0.3, 1.0))
        t0 = time.time()
        rc = d.stop(signal.SIGTERM, timeout=10)
        took = time.time() - t0
        stop.set()
        for t in threads:
            t.join()
        assert rc == 0, (rc, d.logtext()[-6000:])
        assert took < 10, took
        d.start()
        for h in names:
            row = host_row(d, h)
            stored = row["events"]
            assert stored >= acked.get(h, 0), (h, stored, acked.get(h))
            assert stored == (served_bookmark(enumerated(d, h)) or 0)
            assert row["dns_queries"] == stored // 20, (h, row)
        assert sum(acked.values()) > 0
        return {"exit_s": took, "acked": sum(acked.values())}
    finally:
        d.stop()
        d.cleanup()


def test_sigterm_under_load():
    f = sigterm_run()
    print("SIGTERM under load: exit 0 in %.2f s, %d acked events all stored" % (f["exit_s"], f["acked"]))


def api_poller(port, stop, counts):
    """Keep-alive API client (a metrics scraper, a hunter's script): ask
    for stats, a domain and the metrics back to back until told to stop
    or the daemon goes away."""
    paths = ["/api/v1/stats", "/api/v1/domains/example.com", "/metrics",
             "/api/v1/hosts"]
    while not stop.is_set():
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            for i in range(1000000):
                if stop.is_set():
                    break
                conn.request("GET", paths[i % len(paths)])
                r = conn.getresponse()
                r.read()
                counts[0] += 1
        except (OSError, http.client.HTTPException):
            return


def test_sigterm_api_keepalive():
    """SIGTERM while API clients keep their connections busy: the store
    is closed only after the API has stopped serving, so no request reads
    a closed store; the daemon exits 0 (the sanitizer build aborts on a
    use after free) every time."""
    rounds, served = 8, [0]
    for n in range(rounds):
        d = Daemon().start()
        try:
            stop = threading.Event()
            threads = [threading.Thread(target=api_poller, args=(d.api_port, stop, served))
                       for _ in range(4)]
            for t in threads:
                t.start()
            time.sleep(0.2 + 0.1 * (n % 4))
            rc = d.stop(signal.SIGTERM, timeout=10)
            stop.set()
            for t in threads:
                t.join()
            log = d.logtext()
            assert rc == 0, (n, rc, log[-6000:])
            assert "AddressSanitizer" not in log and "runtime error" not in log, log[-6000:]
        finally:
            d.stop()
            d.cleanup()
    assert served[0] > 100, served
    print("SIGTERM with busy API clients: %d rounds, exit 0 each, %d requests served"
          % (rounds, served[0]))


def dns_event(host, record_id, utctime, name):
    """A real Sysmon Event ID 22 from the shared data, with another host,
    record id, query time and name."""
    with open(os.path.join(DATA, "sysmon", "purplesharp_ad_playbook_i.xml"), encoding="utf-8") as f:
        line = next(l.strip() for l in f if "<EventID>22</EventID>" in l)
    line = re.sub(r"<EventRecordID>\d+</EventRecordID>", "<EventRecordID>%d</EventRecordID>" % record_id, line)
    line = re.sub(r"<Computer>[^<]*</Computer>", "<Computer>%s</Computer>" % host, line)
    line = re.sub(r"<Data Name=['\"]UtcTime['\"]>[^<]*</Data>", "<Data Name='UtcTime'>%s</Data>" % utctime, line)
    return re.sub(r"<Data Name=['\"]QueryName['\"]>[^<]*</Data>", "<Data Name='QueryName'>%s</Data>" % name, line)


def test_event_clock_jumps():
    """Hosts' clocks jump (NTP steps, VMs resumed, bookmark replays): the
    index keeps first_seen = min and last_seen = max of UtcTime per key,
    whatever the arrival order."""
    d = Daemon().start()
    try:
        host = "clock.example.com"
        sub_id, _ = builtin_id(d, host)
        times = ["2024-05-01 10:00:00.000", "2024-04-01 09:00:00.000", "2024-06-01 12:00:00.500",
                 "2024-05-15 00:00:00.000", "1999-12-31 23:59:59.999", "2037-01-01 00:00:00.000",
                 "2024-05-02 00:00:00.000"]
        for i, t in enumerate(times):
            ev = dns_event(host, i + 1, t, "jump.example.org")
            msg = events_message(host, sub_id, i + 1, 1, "uuid:30000000-0000-0000-0000-%012X" % i)
            msg = re.sub(r"<!\[CDATA\[.*\]\]>", lambda m: "<![CDATA[%s]]>" % ev, msg, flags=re.S)
            st, _, _ = d.post("/wsman/subscriptions/" + sub_id, utf16(msg))
            assert st == 200, st
            st, js = d.api("/api/v1/domains/jump.example.org")
            assert st == 200, js
            seen = sorted(times[:i + 1])
            assert js["first_seen"].startswith(seen[0].replace(" ", "T")[:19]), (js, seen[0])
            assert js["last_seen"].startswith(seen[-1].replace(" ", "T")[:19]), (js, seen[-1])
            assert js["count"] == i + 1
        st, js = d.api("/api/v1/hosts/%s/domains" % host)
        assert st == 200, js
        dom = [x for x in js["domains"] if x["domain"] == "jump.example.org"][0]
        assert dom["first_seen"].startswith("1999-12-31T23:59:59") and dom["last_seen"].startswith("2037-01-01")
        still_serving(d)
    finally:
        d.stop()
        d.cleanup()


FAKETIME_LIB = "/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1"


def test_wall_clock_jumps():
    """The collector's own wall clock steps back a month, forward a year and
    back (libfaketime, changed while running; the monotonic clock is left
    alone as NTP would): batches are still acked at once, nothing stalls,
    and a host's first/last seen never move the wrong way."""
    if not os.path.exists(FAKETIME_LIB):
        print("SKIP: test_wall_clock_jumps: libfaketime not installed (Debian: faketime)")
        return
    if os.environ.get("COLLECTORD_TSAN"):
        # libfaketime wraps pthread_cond_timedwait, which hides the
        # mutex's release from ThreadSanitizer: every report is false.
        print("SKIP: test_wall_clock_jumps: not under ThreadSanitizer (libfaketime)")
        return
    d = Daemon()
    tsfile = write(os.path.join(d.tmp, "faketime"), "+0d")
    fake = {"LD_PRELOAD": FAKETIME_LIB, "FAKETIME_TIMESTAMP_FILE": tsfile,
            "FAKETIME_NO_CACHE": "1", "FAKETIME_DONT_FAKE_MONOTONIC": "1",
            # The sanitizer build: libfaketime is preloaded before ASan.
            "ASAN_OPTIONS": os.environ.get("ASAN_OPTIONS", "") + ":verify_asan_link_order=0"}
    saved = {k: os.environ.get(k) for k in fake}
    os.environ.update(fake)
    try:
        d.start()
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    try:
        host = "wall.example.com"
        sub_id, _ = builtin_id(d, host)
        first, prev = 1, None
        for step, offset in enumerate(["+0d", "-30d", "+365d", "-1d", "+0d"]):
            write(tsfile, offset)
            time.sleep(0.2)
            t0 = time.time()
            st, _, _ = d.post("/wsman/subscriptions/" + sub_id,
                              utf16(events_message(host, sub_id, first, 5,
                                                   "uuid:50000000-0000-0000-0000-%012X" % step)))
            assert st == 200, (offset, st)
            assert time.time() - t0 < 5, ("the Ack stalled after a clock jump", offset)
            first += 5
            st, js = d.api("/api/v1/hosts")
            h = [x for x in js["hosts"] if x["host"] == host][0]
            assert h["events"] == first - 1, h
            if prev is not None:
                assert h["first_seen"] <= prev["first_seen"], (offset, h, prev)
                assert h["last_seen"] >= prev["last_seen"], (offset, h, prev)
            prev = h
        still_serving(d)
        assert d.stop() == 0
    finally:
        d.cleanup()


def test_root_refused():
    if os.geteuid() != 0:
        print("SKIP: test_root_refused: not running as root")
        return
    d = Daemon()
    try:
        env = dict(os.environ, COLLECTORD_SCHEMA_DIR=os.path.join(TOP_SRCDIR, "schemas"))
        env.pop("COLLECTORD_ALLOW_ROOT", None)
        p = subprocess.run(d.argv(), env=env, capture_output=True, text=True, timeout=30)
        assert p.returncode == 1, (p.returncode, p.stderr)
        assert "refusing to run as root" in p.stderr, p.stderr
        # --check-config still works as root (ExecStartPre, operators).
        p = subprocess.run(d.argv() + ["--check-config"], env=env, capture_output=True,
                           text=True, timeout=30)
        assert p.returncode == 0, p.stderr
        # --allow-root says it is wanted.
        p = subprocess.Popen(d.argv() + ["--allow-root"], env=env, stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE)
        time.sleep(1.5)
        assert p.poll() is None, p.stderr.read()
        p.terminate()
        assert p.wait(10) == 0
        p.stderr.close()
    finally:
        d.cleanup()


def test_privilege_drop():
    if os.geteuid() != 0:
        print("SKIP: test_privilege_drop: not running as root")
        return
    if shutil.which("useradd") is None:
        print("SKIP: test_privilege_drop: no useradd")
        return
    user = "cdfault%d" % (os.getpid() % 100000)
    p = subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin",
                        user], capture_output=True, text=True)
    if p.returncode != 0:
        print("SKIP: test_privilege_drop: useradd failed: %s" % p.stderr.strip())
        return
    d = Daemon()
    try:
        import pwd
        pw = pwd.getpwnam(user)
        os.chmod(d.tmp, 0o755)
        conf = write(os.path.join(d.tmp, "collectord.xml"),
                     "<collectord><user>%s</user></collectord>" % user)
        d.extra = ["--config", conf]
        env_allow = os.environ.pop("COLLECTORD_ALLOW_ROOT", None)
        try:
            d.start()
        finally:
            if env_allow is not None:
                os.environ["COLLECTORD_ALLOW_ROOT"] = env_allow
        # The listeners accept before the drop completes: wait for it.
        deadline = time.time() + 10
        while True:
            with open("/proc/%d/status" % d.proc.pid) as f:
                status = f.read()
            uids = re.search(r"^Uid:\s+(.*)$", status, re.M).group(1).split()
            gids = re.search(r"^Gid:\s+(.*)$", status, re.M).group(1).split()
            if uids[0] != "0" or time.time() > deadline:
                break
            time.sleep(0.05)
        assert uids == [str(pw.pw_uid)] * 4, uids
        assert gids == [str(pw.pw_gid)] * 4, gids
        for name in ["."] + os.listdir(d.data_dir):
            assert os.stat(os.path.join(d.data_dir, name)).st_uid == pw.pw_uid, name
        # The store is still writable after the drop.
        sub_id, _ = builtin_id(d, "drop.example.com")
        st, _, _ = d.post("/wsman/subscriptions/" + sub_id,
                          utf16(events_message("drop.example.com", sub_id, 1, 3,
                                               "uuid:40000000-0000-0000-0000-000000000001")))
        assert st == 200, st
        assert host_events(d, "drop.example.com") == 3
        assert "privileges dropped to %s" % user in d.logtext()
        assert d.stop() == 0
    finally:
        d.cleanup()
        subprocess.run(["userdel", user], capture_output=True)


if __name__ == "__main__":
    run([test_body_caps, test_auth_before_body, test_header_flood, test_shipped_header_limit,
         test_api_thread_slice, test_output_thread_yields, test_slow_clients, test_per_address_limit,
         test_xml_hygiene, test_event_clock_jumps, test_wall_clock_jumps, test_root_refused, test_privilege_drop,
         test_sigterm_under_load, test_sigterm_api_keepalive, test_output_down, test_disk_full,
         test_kill9_repeated])
