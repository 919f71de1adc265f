#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Every captured WEF message in tests/data/wef sent to the real daemon
(--auth none, plain HTTP on 127.0.0.1) and its reply checked; then a restart
and the stored bookmark served back in the next EnumerateResponse."""

import os
import re
import xml.etree.ElementTree as ET

from daemon import DATA, Daemon, data, from_utf16, run, utf16

NS = {
    "s": "http://www.w3.org/2003/05/soap-envelope",
    "a": "http://schemas.xmlsoap.org/ws/2004/08/addressing",
    "n": "http://schemas.xmlsoap.org/ws/2004/09/enumeration",
    "w": "http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd",
    "e": "http://schemas.xmlsoap.org/ws/2004/08/eventing",
    "m": "http://schemas.microsoft.com/wbem/wsman/1/subscription",
}
ACK = "http://schemas.dmtf.org/wbem/wsman/1/wsman/Ack"
WEC = "/wsman/SubscriptionManager/WEC"
DELIVERY = "/wsman/subscriptions/219C5353-5F3D-4CD7-A644-F6B69E57C1C1"
SUBS = os.path.join(DATA, "subs-captures")


def soap(body):
    return ET.fromstring(from_utf16(body))


def header(doc, path):
    el = doc.find("s:Header/" + path, NS)
    return el.text if el is not None else None


def message_id(raw_utf8):
    return re.search(r"<a:MessageID>\s*([^<\s]+)", raw_utf8).group(1)


def events_body():
    return data("wef/reconstructed/events.utf16le.bin")


def assert_ack(status, body, relates_to):
    assert status == 200, status
    doc = soap(body)
    assert header(doc, "a:Action") == ACK, header(doc, "a:Action")
    assert header(doc, "a:RelatesTo") == relates_to, header(doc, "a:RelatesTo")
    assert header(doc, "a:To") == "http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous"
    assert re.fullmatch(r"uuid:[0-9A-F-]{36}", header(doc, "a:MessageID"))


def enumerate_(d):
    st, hdr, body = d.post(WEC, data("wef/enumerate.utf16le.bin"),
                           {"Host": "srv.windomain.local:5985"})
    assert st == 200, (st, body)
    assert hdr.get("Content-Type") == "application/soap+xml;charset=UTF-16"
    doc = soap(body)
    assert header(doc, "a:RelatesTo") == "uuid:E9802257-6A7D-4C0D-BFA4-E81C7B1C447E"
    assert header(doc, "a:Action") == "http://schemas.xmlsoap.org/ws/2004/09/enumeration/EnumerateResponse"
    return doc


def subscriptions(doc):
    out = {}
    for sub in doc.iterfind("s:Body/n:EnumerateResponse/w:Items/m:Subscription", NS):
        env = sub.find("s:Envelope", NS)
        ident = env.find("s:Body/e:Subscribe/e:EndTo/a:ReferenceProperties/e:Identifier", NS).text
        notify = env.find("s:Body/e:Subscribe/e:Delivery/e:NotifyTo/a:Address", NS).text
        bm = env.find("s:Body/e:Subscribe/w:Bookmark", NS)
        out[ident] = {"version": sub.find("m:Version", NS).text, "notify": notify,
                      "bookmark": bm}
    return out


def test_conversation_and_restart():
    d = Daemon(subscriptions=SUBS).start()
    try:
        doc = enumerate_(d)
        subs = subscriptions(doc)
        assert set(subs) == {"219C5353-5F3D-4CD7-A644-F6B69E57C1C1",
                             "820FEC3F-E3BD-4064-A4FD-BA8D550C4432"}, subs.keys()
        cap = subs["219C5353-5F3D-4CD7-A644-F6B69E57C1C1"]
        assert cap["notify"] == "http://srv.windomain.local:5985" + DELIVERY, cap["notify"]
        # ReadExistingEvents and nothing stored yet: the earliest bookmark.
        assert cap["bookmark"].text.strip() == "http://schemas.dmtf.org/wbem/wsman/1/wsman/bookmark/earliest"

        # End after the EnumerateResponse: 204 as Windows answers.
        st, _, body = d.post(WEC, data("wef/reconstructed/end.utf16le.bin"))
        assert st == 204 and body == b"", (st, body)

        # The captured Heartbeat, SLDC-compressed as Windows sent it.
        st, _, body = d.post(DELIVERY + "/1", data("wef/heartbeat.sldc.bin"),
                             {"Content-Encoding": "SLDC"})
        assert_ack(st, body, "uuid:EEC04F74-A27D-4C3A-AEF5-BC5BF54359BA")

        # The captured batch of 21 events with its bookmark.
        ev = events_body()
        mid = message_id(from_utf16(ev))
        st, _, body = d.post(DELIVERY, ev)
        assert_ack(st, body, mid)
        st, hosts = d.api("/api/v1/hosts")
        assert st == 200, hosts
        h = {x["host"]: x for x in hosts["hosts"]}
        assert h["win10.windomain.local"]["events"] == 21, h
        assert h["win10.windomain.local"]["last_heartbeat"] is not None

        # The same batch again (a lost Ack): acked, counted once.
        st, _, body = d.post(DELIVERY, ev)
        assert_ack(st, body, mid)
        st, hosts = d.api("/api/v1/hosts")
        h = {x["host"]: x for x in hosts["hosts"]}
        assert h["win10.windomain.local"]["events"] == 21, h

        # SubscriptionEnd (from the openwec capture): an empty 200.
        st, _, body = d.post("/wsman/subscriptions/820FEC3F-E3BD-4064-A4FD-BA8D550C4432",
                             data("wef/reconstructed/subscription-end.utf16le.bin"),
                             {"Content-Encoding": "SLDC"})
        assert st == 200 and body == b"", (st, body)
        st, _, body = d.post("/wsman/subscriptions/820FEC3F-E3BD-4064-A4FD-BA8D550C4432",
                             data("wef/reconstructed/end-after-subscription-end.utf16le.bin"))
        assert st in (200, 204), st

        assert d.stop() == 0
        d.start()
        subs = subscriptions(enumerate_(d))
        bm = subs["219C5353-5F3D-4CD7-A644-F6B69E57C1C1"]["bookmark"]
        bl = bm.find("BookmarkList")
        assert bl is not None, ET.tostring(bm)
        marks = {b.get("Channel"): b.get("RecordId") for b in bl}
        assert marks.get("Microsoft-Windows-WinRM/Operational") == "149161", marks
        # Unchanged subscription, unchanged Version across a restart.
        assert d.stop() == 0
    finally:
        d.cleanup()


def test_bad_input():
    d = Daemon(subscriptions=SUBS).start()
    try:
        # U+0005 inside an event: sanitised, the batch is acked, the event kept.
        raw = data("wef/events-u0005.xml").decode("utf-8")
        st, _, body = d.post(DELIVERY, utf16(raw))
        assert_ack(st, body, message_id(raw))

        # A truncated envelope: a SOAP fault with 400, nothing stored.
        ev = from_utf16(events_body())
        st, _, body = d.post(DELIVERY, utf16(ev[: len(ev) // 2]))
        assert st == 400, st
        assert "Fault" in from_utf16(body)

        # An unknown Action: a fault, 400.
        bad = ev.replace("http://schemas.dmtf.org/wbem/wsman/1/wsman/Events",
                         "http://example.com/NoSuchAction", 1)
        st, _, body = d.post(DELIVERY, utf16(bad))
        assert st == 400, st

        # No MessageID: refused.
        nomid = re.sub(r"<a:MessageID>[^<]*</a:MessageID>", "", ev, count=1)
        st, _, _ = d.post(DELIVERY, utf16(nomid))
        assert st == 400, st

        # A DOCTYPE (entity expansion attempt) is refused.
        st, _, _ = d.post(DELIVERY, utf16('<!DOCTYPE s [<!ENTITY x "y">]>' + ev))
        assert st == 400, st

        # Unknown subscription: 404.
        st, _, _ = d.post("/wsman/subscriptions/X", utf16(ev.replace(
            "219C5353-5F3D-4CD7-A644-F6B69E57C1C1", "00000000-0000-0000-0000-000000000000")))
        assert st == 404, st

        # Nothing of the refused requests was stored: only the U+0005 event.
        st, hosts = d.api("/api/v1/hosts")
        total = sum(h["events"] for h in hosts["hosts"])
        assert total == 1, hosts
    finally:
        d.stop()
        d.cleanup()


def test_body_cap():
    d = Daemon(subscriptions=SUBS).start()
    try:
        import http.client
        conn = http.client.HTTPConnection("127.0.0.1", d.port, timeout=10)
        # Declared beyond the default 2 MiB cap: 413 from the headers alone.
        conn.putrequest("POST", DELIVERY)
        conn.putheader("Content-Type", "application/soap+xml;charset=UTF-16")
        conn.putheader("Content-Length", str(64 << 20))
        conn.endheaders()
        conn.send(b"\xff\xfe" + b"<\x00" * 1000)
        r = conn.getresponse()
        assert r.status == 413, r.status
        conn.close()
    finally:
        d.stop()
        d.cleanup()


if __name__ == "__main__":
    run([test_conversation_and_restart, test_bad_input, test_body_cap])
