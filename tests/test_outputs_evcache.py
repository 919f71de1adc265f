#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""The parsed-event cache (src/evcache.c) changes nothing the outputs
write: the same spool delivered through the cache (events parsed once, by
ingest) and without it (after a restart every record misses, and
COLLECTORD_EVCACHE_MB=0 turns it off) gives byte-identical raw, JSON and
ECS files, and the same forwarded events on a DNS-dedup stream."""

import json
import os
import shutil
import tempfile
import time

from daemon import Daemon, free_port, run
from test_outputs import lines, send_all, tcp_receiver, wait_for
from test_dns_e2e import all_batches

FORMATS = ("raw", "json", "ecs")


def conf_text(out, prefix, hold_port):
    outs = "".join("""<output name="{p}-{f}" type="file"><path>{dir}/{p}-{f}.out</path>
<format>{f}</format></output>""".format(p=prefix, f=f, dir=out) for f in FORMATS)
    # Dedup windows are closed after each read batch: one record per batch
    # makes that the same in both runs, whatever arrived when.
    outs += """<output name="{p}-dedup" type="file"><path>{dir}/{p}-dedup.out</path>
<format>json</format><stream>dedup</stream><batch>1</batch></output>""".format(p=prefix, dir=out)
    # Nobody listens there: this output never passes seq 0, so the spool
    # is kept for the second run.
    outs += """<output name="hold" type="syslog"><host>127.0.0.1</host><port>{port}</port>
<transport>tcp</transport><format>raw</format></output>""".format(port=hold_port)
    return "<collectord><outputs>" + outs + "</outputs></collectord>"


def stats(d):
    return {o["name"]: o for o in d.api("/api/v1/stats")[1]["outputs"]}


def events_only(path, name):
    """The event records of a dedup stream (summaries carry the time they
    were made)."""
    got = []
    for l in lines(path):
        r = json.loads(l)
        if r.get("type") == "event":
            got.append(l.replace('"' + name + '"', '"NAME"'))
    return got


def test_cache_changes_nothing():
    out = tempfile.mkdtemp(prefix="cd-evc-")
    conf = os.path.join(out, "collectord.xml")
    hold = free_port()
    with open(conf, "w") as f:
        f.write(conf_text(out, "hit", hold))
    d = Daemon(default_subscriptions=True, extra=["--config", conf]).start()
    try:
        batches = all_batches()
        sent = [l for _, ls in batches for l in ls]
        send_all(d, batches)
        wait_for(lambda: len(lines(os.path.join(out, "hit-raw.out"))) >= len(sent) and
                 all(stats(d)["hit-" + f]["backlog"] == 0 for f in FORMATS + ("dedup",)),
                 "the first outputs")
        s = stats(d)
        for f in FORMATS:
            o = s["hit-" + f]
            # Almost every event came parsed from ingest (a few may be read
            # before the writer handed them over).
            assert o["cache_hits"] > len(sent) // 2, o
            assert o["cache_hits"] + o["cache_misses"] == len(sent), (o, len(sent))
        assert d.stop() == 0

        # The same spool again, with the cache off, into new outputs that
        # start at seq 0: every event is parsed from the spool.
        with open(conf, "w") as f:
            f.write(conf_text(out, "miss", hold))
        os.environ["COLLECTORD_EVCACHE_MB"] = "0"
        try:
            d.start()
        finally:
            del os.environ["COLLECTORD_EVCACHE_MB"]
        wait_for(lambda: len(lines(os.path.join(out, "miss-raw.out"))) >= len(sent) and
                 all(stats(d)["miss-" + f]["backlog"] == 0 for f in FORMATS + ("dedup",)),
                 "the second outputs")
        s = stats(d)
        for f in FORMATS:
            assert s["miss-" + f]["cache_hits"] == 0, s["miss-" + f]
        assert d.api("/api/v1/stats")[1]["event_cache"] is None
        for f in FORMATS:
            with open(os.path.join(out, "hit-%s.out" % f), "rb") as a, \
                    open(os.path.join(out, "miss-%s.out" % f), "rb") as b:
                ha = a.read().replace(b'"hit-' + f.encode() + b'"', b'"NAME"')
                hb = b.read().replace(b'"miss-' + f.encode() + b'"', b'"NAME"')
            assert len(ha) > 0 and ha == hb, f
        assert events_only(os.path.join(out, "hit-dedup.out"), "hit-dedup") == \
            events_only(os.path.join(out, "miss-dedup.out"), "miss-dedup")
    finally:
        d.stop()
        d.cleanup()
        shutil.rmtree(out, ignore_errors=True)


def test_lagging_output_keeps_the_oldest():
    """An output stuck at the start while the cache (1 MB here) fills: the
    cache keeps the oldest events, the ones that output reads next, and
    refuses newer ones instead of evicting (refused_lag in the stats).
    Once the destination is back the output takes what the cache kept
    parsed, and delivers every event."""
    port = free_port()
    out = tempfile.mkdtemp(prefix="cd-evl-")
    conf = os.path.join(out, "collectord.xml")
    with open(conf, "w") as f:
        f.write("""<collectord><outputs><output name="relay" type="syslog">
<host>127.0.0.1</host><port>{port}</port><transport>tcp</transport><format>raw</format>
</output></outputs></collectord>""".format(port=port))
    os.environ["COLLECTORD_EVCACHE_MB"] = "1"
    try:
        d = Daemon(default_subscriptions=True, extra=["--config", conf]).start()
    finally:
        del os.environ["COLLECTORD_EVCACHE_MB"]
    srv = None
    try:
        batches = all_batches()
        sent = [l for _, ls in batches for l in ls]
        send_all(d, batches)
        js = d.api("/api/v1/stats")[1]
        ec = js["event_cache"]
        assert ec is not None, js
        assert 0 < ec["entries"] < len(sent), ec
        assert ec["bytes"] <= 1 << 20, ec
        # Counted by what the events hold (event_mem()), the cache fills
        # its budget before refusing: within one large event of it.
        assert ec["bytes"] > (1 << 20) - (64 << 10), ec
        assert 1024 * ec["entries"] <= ec["bytes"] <= 16384 * ec["entries"], ec
        assert ec["refused_lag"] > 0 and ec["evicted"] == 0, ec
        assert ec["puts"] == ec["entries"], ec
        held = ec["entries"]
        st, metrics = d.api("/metrics")
        assert st == 200
        metrics = metrics.decode() if isinstance(metrics, bytes) else metrics
        assert "collectord_event_cache_refused_lag_total %d" % ec["refused_lag"] in metrics

        received = bytearray()
        srv = tcp_receiver(port, received)
        wait_for(lambda: received.count(b"<Event ") >= len(sent), "the output to catch up", 120)
        o = stats(d)["relay"]
        assert o["cache_hits"] >= held, (o, held)
        assert o["cache_hits"] + o["cache_misses"] == len(sent), (o, len(sent))
    finally:
        if srv is not None:
            srv.close()
        d.stop()
        d.cleanup()
        shutil.rmtree(out, ignore_errors=True)


if __name__ == "__main__":
    run([test_cache_changes_nothing, test_lagging_output_keeps_the_oldest])
