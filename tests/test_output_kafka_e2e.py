#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""The kafka output through the real daemon, to librdkafka's mock cluster
run by tests/kafka_mock: the real Sysmon data is sent over WEF, every
broker goes down in the middle for longer than the output's timeout, comes
back, and in the end every event sent is in the topic (at least once: the
mock does not drop idempotent resends) and the backlog drains."""

import os
import subprocess
import time

from daemon import TOP_BUILDDIR, Daemon, conf_file, run
from test_dns_e2e import all_batches
from test_outputs import send_all, wait_for

CONF = """<?xml version="1.0"?>
<collectord>
	<outputs>
		<output name="kafka" type="kafka">
			<brokers>{brokers}</brokers>
			<topic>wef</topic>
			<format>raw</format>
			<timeout>2</timeout>
			<property>reconnect.backoff.max.ms=500</property>
		</output>
	</outputs>
</collectord>
"""


class Mock:
    def __init__(self):
        self.proc = subprocess.Popen([os.path.join(TOP_BUILDDIR, "tests", "kafka_mock"), "wef"],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self.brokers = self.proc.stdout.readline().strip()
        assert self.brokers.startswith("127.0.0.1:"), self.brokers

    def cmd(self, c):
        self.proc.stdin.write(c + "\n")
        self.proc.stdin.flush()
        if c != "dump":
            assert self.proc.stdout.readline().strip() == "OK"
            return None
        out = []
        for line in self.proc.stdout:
            line = line.rstrip("\n")
            if line == "END":
                return out
            assert line != "ERROR", "dump failed"
            out.append(line)
        raise RuntimeError("kafka_mock ended")

    def stop(self):
        self.proc.stdin.write("quit\n")
        self.proc.stdin.close()
        self.proc.wait(10)


def test_kafka_outage():
    mock = Mock()
    d = None
    try:
        conf = conf_file(CONF.format(brokers=mock.brokers))
        extra = ["--config", conf] + (["--allow-root"] if os.geteuid() == 0 else [])
        d = Daemon(default_subscriptions=True, extra=extra).start()
        batches = all_batches()
        sent = [l for _, ls in batches for l in ls]
        half = len(batches) // 2
        send_all(d, batches[:half])
        mock.cmd("down")
        send_all(d, batches[half:])    # acked: the spool holds them
        time.sleep(5)                  # past the 2 s timeout: sends fail
        st = d.api("/api/v1/stats")[1]
        assert st["outputs"][0]["errors"] >= 1, st["outputs"]
        mock.cmd("up")

        want = set(sent)
        wait_for(lambda: set(mock.cmd("dump")) >= want, "every event in the topic", 120)
        got = mock.cmd("dump")
        assert set(got) == want and len(got) >= len(sent), (len(got), len(sent))
        wait_for(lambda: all(o["backlog"] == 0 for o in d.api("/api/v1/stats")[1]["outputs"]),
                 "the backlog to drain")
        assert d.stop() == 0, d.logtext()[-3000:]
    finally:
        if d is not None:
            d.stop()
            d.cleanup()
        mock.stop()


if __name__ == "__main__":
    run([test_kafka_outage])
