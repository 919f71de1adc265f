#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""The http outputs through the real daemon: the real Sysmon data is sent
over WEF, one output feeds a fake Splunk HEC (raw XML, sourcetype
XmlWinEventLog) and one a fake Elasticsearch _bulk (ECS documents), both
tests/fake_siem.py, which check the formats. Each receiver first fails
(HTTP 500, then a reply slower than the output's timeout); in the end
every event sent is in both, the formats hold, and the backlogs drain."""

import os
import re
import subprocess
import sys

from daemon import TOP_SRCDIR, Daemon, conf_file, run
from test_dns_e2e import all_batches
from test_outputs import send_all, wait_for

import json
import urllib.request

CONF = """<?xml version="1.0"?>
<collectord>
	<outputs>
		<output name="splunk" type="http">
			<url>http://127.0.0.1:{hec}</url>
			<token>test-token</token>
			<format>raw</format>
			<timeout>2</timeout>
			<batch>200</batch>
		</output>
		<output name="elastic" type="http">
			<mode>elastic</mode>
			<url>http://127.0.0.1:{es}</url>
			<index>logs-windows.sysmon_operational-default</index>
			<format>ecs</format>
			<timeout>2</timeout>
		</output>
	</outputs>
</collectord>
"""


class Fake:
    def __init__(self):
        self.proc = subprocess.Popen(
            [sys.executable, os.path.join(TOP_SRCDIR, "tests", "fake_siem.py")],
            stdout=subprocess.PIPE)
        self.port = int(self.proc.stdout.readline())

    def call(self, path, body=None):
        req = urllib.request.Request("http://127.0.0.1:%d%s" % (self.port, path),
                                     data=body.encode() if body else None)
        with urllib.request.urlopen(req, timeout=10) as r:
            return json.loads(r.read())

    def stop(self):
        self.proc.terminate()
        self.proc.wait()


def test_hec_and_bulk():
    hec, es = Fake(), Fake()
    d = None
    try:
        conf = conf_file(CONF.format(hec=hec.port, es=es.port))
        for fake in (hec, es):
            fake.call("/_fake/fault", '{"status": 500}')
            fake.call("/_fake/fault", '{"delay": 3}')
        extra = ["--config", conf] + (["--allow-root"] if os.geteuid() == 0 else [])
        d = Daemon(default_subscriptions=True, extra=extra).start()
        batches = all_batches()
        sent = [l for _, ls in batches for l in ls]
        send_all(d, batches)

        # At least once: the faults make the output send some batches
        # again, so wait for every distinct event, not for a count.
        wait_for(lambda: {e["event"] for e in hec.call("/_fake/state")["hec"]} >= set(sent),
                 "HEC", 120)
        st = hec.call("/_fake/state")
        assert st["errors"] == [], st["errors"][:3]
        got = {e["event"] for e in st["hec"]}
        assert got == set(sent), (len(got), len(set(sent)), sorted(got - set(sent))[:2])
        for e in st["hec"]:
            ch = re.search(r"<Channel>([^<]+)<", e["event"]).group(1)
            host = re.search(r"<Computer>([^<]+)<", e["event"]).group(1)
            assert e["sourcetype"] == "XmlWinEventLog", e
            assert e["source"] == "XmlWinEventLog:" + ch, e
            assert e["host"] == host, e
            assert isinstance(e["time"], float), e
        assert st["gzip"] == st["requests"]

        want = {(re.search(r"<Computer>([^<]+)<", l).group(1),
                 int(re.search(r"<EventRecordID>(\d+)<", l).group(1))) for l in sent}

        def es_events():
            docs = es.call("/_fake/state")["bulk"]
            return {(d["doc"]["winlog"]["computer_name"], int(d["doc"]["winlog"]["record_id"]))
                    for d in docs if "winlog" in d["doc"]}
        wait_for(lambda: es_events() >= want, "Elasticsearch", 120)
        st = es.call("/_fake/state")
        assert st["errors"] == [], st["errors"][:3]
        assert {d["index"] for d in st["bulk"]} == {"logs-windows.sysmon_operational-default"}

        wait_for(lambda: all(o["backlog"] == 0 for o in d.api("/api/v1/stats")[1]["outputs"]),
                 "backlogs to drain")
        outs = {o["name"]: o for o in d.api("/api/v1/stats")[1]["outputs"]}
        assert outs["splunk"]["errors"] >= 2 and outs["elastic"]["errors"] >= 2, outs
        assert "output=splunk" in d.logtext()
        # A clean stop (and, in the sanitizer build, no ASan/LSan report).
        assert d.stop() == 0, d.logtext()[-3000:]
    finally:
        if d is not None:
            d.stop()
            d.cleanup()
        hec.stop()
        es.stop()


if __name__ == "__main__":
    run([test_hec_and_bulk])
