#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""The outputs through the real daemon: an archive (raw XML, every event)
and a SIEM file (JSON, DNS de-duplicated) fed from the real Sysmon data;
every acked event reaches the archive exactly once, DNS repeats are folded
into summaries whose counts add up, first-seen and LOLBAS alerts arrive,
the spool is emptied, and a restart resumes where each output stopped."""

import json
import os
import re
import tempfile
import time

from daemon import DATA, Daemon, conf_file, from_utf16, run, utf16
from test_dns_e2e import all_batches, batch, enumerate_id

CONF = """<?xml version="1.0"?>
<collectord>
	<outputs>
		<output name="archive" type="file">
			<path>{dir}/archive.xml</path>
			<format>raw</format>
		</output>
		<output name="siem" type="file">
			<path>{dir}/siem.json</path>
			<format>json</format>
			<stream>dedup</stream>
		</output>
	</outputs>
</collectord>
"""


def send_all(d, batches):
    ids = {}
    for n, (host, lines) in enumerate(batches):
        if host not in ids:
            ids[host] = enumerate_id(d, host)
        mid, msg = batch(host, ids[host], lines, n)
        st, _, body = d.post("/wsman/subscriptions/" + ids[host], utf16(msg))
        assert st == 200, (st, body)


def wait_for(pred, what, timeout=60):
    deadline = time.time() + timeout
    while not pred():
        assert time.time() < deadline, "timed out waiting for " + what
        time.sleep(0.2)


def lines(path):
    try:
        with open(path, encoding="utf-8") as f:
            return [l.rstrip("\n") for l in f if l.strip()]
    except FileNotFoundError:
        return []


def test_archive_and_siem():
    out = tempfile.mkdtemp(prefix="cd-out-")
    conf = os.path.join(out, "collectord.xml")
    with open(conf, "w") as f:
        f.write(CONF.format(dir=out))
    d = Daemon(default_subscriptions=True, extra=["--config", conf]).start()
    try:
        batches = all_batches()
        sent = [l for _, ls in batches for l in ls]
        regsvr = [l.strip() for l in open(os.path.join(DATA, "regsvr32", "regsvr32_squiblydoo.xml"),
                                           encoding="utf-8") if l.strip()]
        rhost = re.search(r"<Computer>([^<]+)<", regsvr[0]).group(1)
        send_all(d, batches[: len(batches) // 2])
        # Restart in the middle: each output resumes from its own cursor.
        assert d.stop() == 0
        d.start()
        send_all(d, batches[len(batches) // 2:] + [(rhost, regsvr)])
        sent += regsvr

        archive = os.path.join(out, "archive.xml")
        wait_for(lambda: len(lines(archive)) >= len(sent), "the archive")
        got = lines(archive)
        assert sorted(got) == sorted(sent), (len(got), len(sent))  # exactly once, byte-exact

        siem = os.path.join(out, "siem.json")
        wait_for(lambda: any('"lolbas_alert"' in l for l in lines(siem)), "the LOLBAS alert")
        # First-seen alerts are spooled when the index takes their query, a
        # moment after the Ack: wait for the last of them.
        def fleet_alerts():
            return sum(1 for l in lines(siem)
                       if '"dns_first_seen"' in l and '"scope":"fleet"' in l.replace(" ", ""))
        wait_for(lambda: fleet_alerts() >= 83, "the first-seen alerts")
        recs = [json.loads(l) for l in lines(siem)]
        types = {}
        for r in recs:
            types[r["type"]] = types.get(r["type"], 0) + 1
        dns = [r for r in recs if r["type"] == "event" and r.get("event_id") == 22]
        all_dns = sum(1 for l in sent if "<EventID>22</EventID>" in l)
        assert 0 < len(dns) < all_dns, (len(dns), all_dns)  # repeats folded
        others = sum(1 for l in sent if "<EventID>22</EventID>" not in l)
        assert types["event"] - len(dns) == others, types   # everything else forwarded
        fleet = [r for r in recs if r["type"] == "dns_first_seen" and r["scope"] == "fleet"]
        assert len({r["domain"] for r in fleet}) == len(fleet) >= 83, len(fleet)
        alert = [r for r in recs if r["type"] == "lolbas_alert"]
        assert any("regsvr32" in (a.get("image") or "").lower() and a.get("command_line")
                   for a in alert), alert

        st, js = d.api("/api/v1/stats")
        assert st == 200
        outs = {o["name"]: o for o in js["outputs"]}
        wait_for(lambda: all(o["backlog"] == 0 for o in d.api("/api/v1/stats")[1]["outputs"]),
                 "backlogs to drain")
        st, js = d.api("/api/v1/stats")
        assert js["dns"]["forwarded"] + js["dns"]["folded"] >= 1
        # Delivered spool entries are deleted.
        wait_for(lambda: d.api("/api/v1/stats")[1]["store"]["entries"]["spool"] == 0,
                 "the spool to be pruned", timeout=20)

        # Summaries of the folded repeats arrive when their windows close,
        # at the latest on shutdown of the window: check counts when present.
        summ = [r for r in recs if r["type"] == "dns_summary"]
        for s in summ:
            assert s["count"] >= 2 and s["first"] <= s["last"], s
    finally:
        d.stop()
        d.cleanup()


def test_rotated_zstd():
    """The file output through the real daemon with small rotations: the
    rotated files are zstd (the default), and the zstd command reads them
    back, with the current file, into every event sent, exactly once
    (keep 0: no rotated file is pruned)."""
    import glob
    import subprocess
    out = tempfile.mkdtemp(prefix="cd-out-")
    conf = conf_file("""<collectord><outputs><output name="raw" type="file">
<path>{dir}/raw.xml</path><format>raw</format><rotate_bytes>200000</rotate_bytes><keep>0</keep>
</output></outputs></collectord>""".format(dir=out))
    d = Daemon(default_subscriptions=True, extra=["--config", conf]).start()
    try:
        batches = all_batches()
        sent = [l for _, ls in batches for l in ls]
        send_all(d, batches)
        wait_for(lambda: d.api("/api/v1/stats")[1]["outputs"][0]["backlog"] == 0,
                 "the output to deliver everything")
        # Compression runs in the background: wait until no rotated file
        # is left plain.
        def rotated():
            return sorted(glob.glob(os.path.join(out, "raw.xml.*")))
        wait_for(lambda: rotated() and all(p.endswith(".zst") for p in rotated()),
                 "the rotated files to be compressed")
        assert len(rotated()) >= 3, rotated()
        got = []
        for path in rotated():
            text = subprocess.run(["zstd", "-dcq", path], check=True,
                                  capture_output=True).stdout.decode("utf-8")
            got += [l for l in text.split("\n") if l.strip()]
        got += lines(os.path.join(out, "raw.xml"))
        assert sorted(got) == sorted(sent), (len(got), len(sent))
    finally:
        d.stop()
        d.cleanup()


def test_sysmon_rules_output():
    """An output with SwiftOnSecurity's Sysmon config forwards exactly what
    Sysmon's engine would keep (tests/data/sysmon-configs/README.md), while
    the DNS index still answers for every domain."""
    out = tempfile.mkdtemp(prefix="cd-out-")
    conf = os.path.join(out, "collectord.xml")
    rules = os.path.join(DATA, "sysmon-configs", "swiftonsecurity-sysmonconfig-export.xml")
    with open(conf, "w") as f:
        f.write("""<collectord><outputs><output name="siem" type="file">
<path>{dir}/siem.json</path><format>json</format><rules>{rules}</rules>
</output></outputs></collectord>""".format(dir=out, rules=rules))
    d = Daemon(default_subscriptions=True, extra=["--config", conf]).start()
    try:
        send_all(d, all_batches())
        siem = os.path.join(out, "siem.json")

        def per_eid():
            counts = {}
            for l in lines(siem):
                r = json.loads(l)
                if r["type"] == "event":
                    counts[r["event_id"]] = counts.get(r["event_id"], 0) + 1
            return counts
        wait_for(lambda: sum(per_eid().values()) >= 641, "the output")
        time.sleep(1)   # anything beyond the expected would show now
        assert per_eid() == {1: 463, 3: 50, 22: 128}, per_eid()
        with open(os.path.join(DATA, "sysmon", "expected_dns.json"), encoding="utf-8") as f:
            names = json.load(f)["names"]
        for name in names:
            st, _ = d.api("/api/v1/domains/" + name)
            assert st == 200, name
    finally:
        d.stop()
        d.cleanup()


def tcp_receiver(port, received):
    """A TCP server on 127.0.0.1:port that appends all it reads to the
    bytearray received, in a thread; close the returned socket to stop."""
    import socket
    import threading
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", port))
    srv.listen(4)

    def serve():
        while True:
            try:
                c, _ = srv.accept()
            except OSError:
                return
            while True:
                data = c.recv(65536)
                if not data:
                    break
                received.extend(data)
    threading.Thread(target=serve, daemon=True).start()
    return srv


def test_spool_cap_503_and_drain():
    """An output whose destination is down: the spool fills to its cap, then
    sources get 503 (no Ack, nothing dropped); once the destination is back
    everything drains and batches are acked again."""
    from daemon import free_port
    port = free_port()
    conf = conf_file("""<collectord><store><spool-max-entries>60</spool-max-entries></store>
<outputs><output name="relay" type="syslog"><host>127.0.0.1</host><port>{port}</port>
<transport>tcp</transport><format>raw</format></output></outputs></collectord>""".format(port=port))
    d = Daemon(default_subscriptions=True, extra=["--config", conf]).start()
    received = bytearray()
    try:
        batches = [b for b in all_batches(size=20)][:12]
        ids, statuses = {}, []
        for n, (host, ls) in enumerate(batches):
            if host not in ids:
                ids[host] = enumerate_id(d, host)
            mid, msg = batch(host, ids[host], ls, n)
            st, _, _ = d.post("/wsman/subscriptions/" + ids[host], utf16(msg))
            statuses.append(st)
        assert statuses[0] == 200 and 503 in statuses, statuses
        acked = sum(len(ls) for (h, ls), st in zip(batches, statuses) if st == 200)
        # While the destination is down, every acked event is backlog in
        # the stats (with the spooled alerts), and nothing is delivered.
        st, js = d.api("/api/v1/stats")
        relay = [o for o in js["outputs"] if o["name"] == "relay"][0]
        assert relay["backlog"] >= acked, (relay, acked)
        assert relay["delivered"] == 0, relay

        # The destination comes back: a TCP receiver on the output's port.
        srv = tcp_receiver(port, received)
        wait_for(lambda: received.count(b"<Event ") >= acked, "the spool to drain", timeout=90)
        # Accepting again: the refused batches go through now (retried as
        # Windows retries, while the output persists its cursor).
        for n, ((host, ls), st) in enumerate(zip(batches, statuses)):
            if st != 200:
                mid, msg = batch(host, ids[host], ls, 100 + n)
                wait_for(lambda: d.post("/wsman/subscriptions/" + ids[host], utf16(msg))[0] == 200,
                         "the batch to be accepted again", timeout=30)
        total = sum(len(ls) for _, ls in batches)
        wait_for(lambda: received.count(b"<Event ") >= total, "everything", timeout=90)
        srv.close()
    finally:
        d.stop()
        d.cleanup()


if __name__ == "__main__":
    run([test_archive_and_siem, test_rotated_zstd, test_sysmon_rules_output,
         test_spool_cap_503_and_drain])
