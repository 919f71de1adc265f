#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""The real Sysmon data (tests/data/sysmon) sent through the real daemon as
WEF Events batches (UTF-16LE) from its real hosts, batches out of order and
one re-sent; then every domain and every (host, domain) the REST API
answers must equal expected_dns.json, and the hosts' totals too."""

import json
import os
import random
import re
import urllib.parse

from daemon import DATA, Daemon, conf_file, from_utf16, run, utf16

SYSMON = os.path.join(DATA, "sysmon")


def enumerate_id(d, host):
    st, _, body = d.post("/wsman/SubscriptionManager/WEC", utf16(
        '<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" '
        'xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing"><s:Header>'
        '<m:MachineID xmlns:m="http://schemas.microsoft.com/wbem/wsman/1/machineid">%s</m:MachineID>'
        "<a:Action>http://schemas.xmlsoap.org/ws/2004/09/enumeration/Enumerate</a:Action>"
        "<a:MessageID>uuid:E1</a:MessageID></s:Header><s:Body/></s:Envelope>" % host))
    assert st == 200, st
    return re.search(r"<e:Identifier>([^<]+)</e:Identifier>", from_utf16(body)).group(1)


def batch(host, sid, lines, n):
    last = re.search(r"<EventRecordID>(\d+)<", lines[-1]).group(1)
    chan = re.search(r"<Channel>([^<]+)<", lines[-1]).group(1)
    evs = "".join('<w:Event Action="http://schemas.dmtf.org/wbem/wsman/1/wsman/Event"><![CDATA[%s]]></w:Event>' % l
                  for l in lines)
    mid = "uuid:%08X-0000-4000-8000-%012X" % (n, n)
    return mid, ('<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" '
                 'xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing" '
                 'xmlns:e="http://schemas.xmlsoap.org/ws/2004/08/eventing" '
                 'xmlns:w="http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd"><s:Header>'
                 '<m:MachineID xmlns:m="http://schemas.microsoft.com/wbem/wsman/1/machineid">%s</m:MachineID>'
                 "<a:Action>http://schemas.dmtf.org/wbem/wsman/1/wsman/Events</a:Action>"
                 "<a:MessageID>%s</a:MessageID><e:Identifier>%s</e:Identifier>"
                 '<w:Bookmark><BookmarkList><Bookmark Channel="%s" RecordId="%s" IsCurrent="true"/>'
                 "</BookmarkList></w:Bookmark><w:AckRequested/></s:Header>"
                 "<s:Body><w:Events>%s</w:Events></s:Body></s:Envelope>" % (host, mid, sid, chan, last, evs))


def all_batches(size=37):
    """Batches of each host's events, per file, as the hosts would send them."""
    out = []
    for name in sorted(os.listdir(SYSMON)):
        if not name.endswith(".xml"):
            continue
        per_host = {}
        with open(os.path.join(SYSMON, name), encoding="utf-8") as f:
            for line in f:
                line = line.strip()
                if line:
                    host = re.search(r"<Computer>([^<]+)<", line).group(1)
                    per_host.setdefault(host, []).append(line)
        for host, lines in per_host.items():
            for i in range(0, len(lines), size):
                out.append((host, lines[i:i + size]))
    return out


def paged(d, path):
    items, cursor = [], None
    while True:
        sep = "&" if "?" in path else "?"
        url = path + (sep + "limit=7" + ("&cursor=" + urllib.parse.quote(cursor) if cursor else ""))
        st, js = d.api(url)
        assert st == 200, (url, js)
        key = [k for k in js if isinstance(js[k], list)][0]
        items += js[key]
        cursor = js.get("next_cursor")
        if not cursor:
            return items


def test_expected_aggregates():
    with open(os.path.join(SYSMON, "expected_dns.json"), encoding="utf-8") as f:
        exp = json.load(f)
    d = Daemon(default_subscriptions=True).start()
    try:
        batches = all_batches()
        random.Random(22).shuffle(batches)          # out of order
        batches.append(batches[len(batches) // 2])  # one batch re-sent
        ids = {}
        for n, (host, lines) in enumerate(batches):
            if host not in ids:
                ids[host] = enumerate_id(d, host)
            mid, msg = batch(host, ids[host], lines, n)
            st, _, body = d.post("/wsman/subscriptions/" + ids[host], utf16(msg))
            assert st == 200, (st, body)
            assert mid in from_utf16(body)

        check_expected(d, exp)
    finally:
        d.stop()
        d.cleanup()


def check_expected(d, exp):
    """Every domain, (host, domain) and host total the API answers equals
    expected_dns.json."""
    for name, e in exp["names"].items():
        st, js = d.api("/api/v1/domains/" + urllib.parse.quote(name, safe=""))
        assert st == 200, (name, js)
        for k in ("first_seen", "last_seen", "count", "host_count", "first_host", "first_image"):
            assert js[k] == e[k], (name, k, js[k], e[k])
        hosts = paged(d, "/api/v1/domains/%s/hosts" % urllib.parse.quote(name, safe=""))
        assert sorted(h["host"] for h in hosts) == sorted(
            h for h in exp["hosts"] if name in exp["hosts"][h]), name
    for host, names in exp["hosts"].items():
        got = {x["domain"]: x for x in paged(d, "/api/v1/hosts/%s/domains" % host)}
        assert set(got) == set(names), (host, set(got) ^ set(names))
        for name, e in names.items():
            for k in ("first_seen", "last_seen", "count"):
                assert got[name][k] == e[k], (host, name, k, got[name][k], e[k])
            assert sorted(got[name]["images"]) == sorted(e["images"]), (host, name)
    st, js = d.api("/api/v1/hosts?limit=1000")
    totals = {h["host"]: h for h in js["hosts"]}
    for host, t in exp["host_totals"].items():
        assert totals[host]["dns_queries"] == t["dns_queries"], (host, totals[host], t)
        assert totals[host]["domains"] == t["domains"], (host, totals[host], t)
    # Fleet-wide "new since": every name once, ordered by first_seen.
    listed = paged(d, "/api/v1/domains?first_seen_after=2000-01-01T00:00:00Z")
    assert len(listed) == exp["totals"]["names"], len(listed)
    firsts = [x["first_seen"] for x in listed]
    assert firsts == sorted(firsts)


def test_index_queue_503():
    """The DNS index falls behind (index-pending-max 1, the index job runs
    every 200 ms): batches arriving meanwhile get 503 without Ack, as for a
    full spool. Sent again, as Windows does, they are acknowledged once the
    index has caught up, and the index ends up exactly as expected: nothing
    acknowledged is lost, nothing is counted twice."""
    import time
    with open(os.path.join(SYSMON, "expected_dns.json"), encoding="utf-8") as f:
        exp = json.load(f)
    conf = conf_file("<collectord><store><index-pending-max>1</index-pending-max>"
                     "</store></collectord>")
    d = Daemon(default_subscriptions=True, extra=["--config", conf]).start()
    try:
        ids, refused, batches_refused, sent = {}, 0, 0, 0
        for n, (host, lines) in enumerate(all_batches()):
            if host not in ids:
                ids[host] = enumerate_id(d, host)
            mid, msg = batch(host, ids[host], lines, n)
            deadline = time.time() + 30
            first = True
            while True:
                st, _, body = d.post("/wsman/subscriptions/" + ids[host], utf16(msg))
                if st == 200:
                    assert mid in from_utf16(body)
                    break
                assert st == 503, (st, body)
                assert body == b"", body   # no Ack
                refused += 1
                batches_refused += first
                first = False
                assert time.time() < deadline, "the index never caught up"
                time.sleep(0.02)
            sent += 1
        assert refused > 0, "the index queue never answered 503"
        st, js = d.api("/api/v1/stats")
        assert js["dns"]["index_pending"] == 0, js["dns"]
        assert js["wef"]["batches_refused"] >= refused, (js["wef"], refused)
        # The log says when refusing starts, why, and when it ends, once
        # per spell, not once per batch: one client sending in turn makes
        # each batch refused at first one spell.
        log = d.logtext()
        starts = [l for l in log.splitlines()
                  if "refusing Events batches with 503 from now on" in l]
        ends = log.count("accepting Events batches again, after refusing ")
        assert len(starts) == batches_refused == ends, (len(starts), batches_refused, ends)
        assert all("the DNS index is behind: " in l and "(store/index-pending-max 1)" in l
                   for l in starts), starts[:3]
        print("index queue: %d of %d batches refused at first (%d 503s), all acked later"
              % (batches_refused, sent, refused))
        check_expected(d, exp)
    finally:
        d.stop()
        d.cleanup()


def test_retention():
    """retention-days drops per-host detail older than N days (here: all of
    the 2019-2023 data) and keeps each domain's first_seen."""
    import signal
    import time
    conf = conf_file("<collectord><dns><retention-days>0</retention-days></dns></collectord>\n")
    d = Daemon(default_subscriptions=True, extra=["--config", conf]).start()
    try:
        batches = all_batches()
        ids = {}
        for n, (host, lines) in enumerate(batches):
            if host not in ids:
                ids[host] = enumerate_id(d, host)
            mid, msg = batch(host, ids[host], lines, n)
            st, _, _ = d.post("/wsman/subscriptions/" + ids[host], utf16(msg))
            assert st == 200
        st, js = d.api("/api/v1/hosts/it01.pandalab.com/domains")
        assert st == 200 and len(js["domains"]) > 0, js
        with open(conf, "w") as f:
            f.write("<collectord><dns><retention-days>1</retention-days></dns></collectord>\n")
        d.proc.send_signal(signal.SIGHUP)
        deadline = time.time() + 20
        while d.api("/api/v1/hosts/it01.pandalab.com/domains")[1]["domains"]:
            assert time.time() < deadline, "retention did not run"
            time.sleep(0.2)
        st, js = d.api("/api/v1/domains/dc01.pandalab.com")
        assert st == 200 and js["first_seen"].startswith("2023-"), js
    finally:
        d.stop()
        d.cleanup()


if __name__ == "__main__":
    run([test_expected_aggregates, test_retention, test_index_queue_503])
