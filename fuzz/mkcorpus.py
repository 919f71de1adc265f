#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Rebuild the seed corpora in fuzz/corpus/<target>/ from the project's test
data (tests/data: the captured WEF messages, the Sysmon event files, the
configuration samples). Run from anywhere: python3 fuzz/mkcorpus.py.
The output is deterministic, so the corpora in git only change when the
data or this script do."""

import os
import re
import shutil

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = os.path.join(TOP, "tests", "data")
OUT = os.path.join(TOP, "fuzz", "corpus")
SYSMON = "Microsoft-Windows-Sysmon/Operational"


def rd(rel):
    with open(os.path.join(DATA, rel), "rb") as f:
        return f.read()


def put(target, name, blob):
    d = os.path.join(OUT, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(blob)


def sysmon_events():
    """(file, line) of every event of the Sysmon data, in file order."""
    out = []
    for name in sorted(os.listdir(os.path.join(DATA, "sysmon"))):
        if name.endswith(".xml"):
            for line in rd(os.path.join("sysmon", name)).splitlines():
                if line.strip():
                    out.append((name, line.strip()))
    return out


def pick(events, eid, n):
    """The n smallest events of an Event ID (small seeds fuzz faster)."""
    tag = b"<EventID>%d</EventID>" % eid
    sel = sorted((e for e in events if tag in e[1]), key=lambda e: len(e[1]))
    return [e[1] for e in sel[:n]]


def events_message(sub, host, events, last):
    evs = "".join('<w:Event Action="http://schemas.dmtf.org/wbem/wsman/1/wsman/Event">'
                  "<![CDATA[%s]]></w:Event>" % e.decode() for e in events)
    return (
        '<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" '
        'xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing" '
        'xmlns:e="http://schemas.xmlsoap.org/ws/2004/08/eventing" '
        'xmlns:w="http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd"><s:Header>'
        "<a:To>http://collector/wsman/subscriptions/%s</a:To>"
        '<m:MachineID xmlns:m="http://schemas.microsoft.com/wbem/wsman/1/machineid">%s</m:MachineID>'
        "<a:Action>http://schemas.dmtf.org/wbem/wsman/1/wsman/Events</a:Action>"
        "<a:MessageID>uuid:11111111-2222-3333-4444-555555555555</a:MessageID>"
        "<e:Identifier>%s</e:Identifier>"
        '<w:Bookmark><BookmarkList><Bookmark Channel="%s" RecordId="%d" IsCurrent="true"/>'
        "</BookmarkList></w:Bookmark><w:AckRequested/></s:Header>"
        "<s:Body><w:Events>%s</w:Events></s:Body></s:Envelope>"
        % (sub, host, sub, SYSMON, last, evs)).encode()


def multipart(proto, tab, plain):
    """Windows' framing (tests/data/wef/headers.txt) around a fake token."""
    t = b"\t" if tab else b""
    hdr = bytes([0x05, 0x04, 0x06, 0xff]) + bytes(56)
    return (b"--Encrypted Boundary\r\n" + t + b"Content-Type: " + proto + b"\r\n" + t +
            b"OriginalContent: type=application/soap+xml;charset=UTF-16;Length=%d\r\n" % len(plain) +
            b"--Encrypted Boundary\r\n" + t + b"Content-Type: application/octet-stream\r\n" +
            (60).to_bytes(4, "little") + hdr + plain + b"--Encrypted Boundary--\r\n")


def main():
    shutil.rmtree(OUT, ignore_errors=True)
    wef = ["enumerate.utf8.xml", "events.xml", "events-u0005.xml", "heartbeat.utf8.xml",
           "end.xml", "subscription-end.xml", "end-after-subscription-end.xml",
           "ack-events.xml", "enumerate-response.xml"]
    events = sysmon_events()

    for f in ["heartbeat.sldc.bin", "sldc-test-string.sldc.bin"]:
        put("sldc", f, rd("wef/" + f))
        put("body", "sldc-" + f, b"\x09" + rd("wef/" + f))

    put("utf16", "enumerate.utf16le", b"\x01" + rd("wef/enumerate.utf16le.bin"))
    put("utf16", "enumerate.utf8", b"\x05" + rd("wef/enumerate.utf8.xml"))
    put("utf16", "heartbeat.nobom", b"\x01" + rd("wef/heartbeat.sldc.decompressed.bin")[2:])
    put("utf16", "events-u0005", b"\x00" + rd("wef/events-u0005.xml"))
    put("utf16", "utf16be", b"\x03" + "\ufeff<a>\U0001f600</a>".encode("utf-16-be"))

    plain = rd("wef/reconstructed/ack-events.utf16le.bin")[:200]
    ct = b"multipart/encrypted;protocol=\"application/HTTP-%s-session-encrypted\";boundary=\"Encrypted Boundary\"\n"
    for proto in (b"Kerberos", b"SPNEGO"):
        for tab in (False, True):
            put("multipart", "%s-%s" % (proto.decode(), "tab" if tab else "notab"),
                ct % proto + multipart(b"application/HTTP-%s-session-encrypted" % proto, tab, plain))

    for f in wef:
        put("soap", f, rd("wef/" + f))
    put("soap", "doctype.xml", b'<!DOCTYPE s [<!ENTITY x "y">]>' + rd("wef/end.xml"))

    for eid in (1, 3, 5, 7, 10, 11, 12, 13, 22):
        for i, ev in enumerate(pick(events, eid, 2)):
            put("event", "sysmon-%d-%d.xml" % (eid, i), ev)
    for f in sorted(os.listdir(os.path.join(DATA, "wef", "events"))):
        if f.endswith(".xml"):
            put("event", "wef-" + f, rd("wef/events/" + f))

    for i, ev in enumerate(pick(events, 22, 24)):
        put("dns", "sysmon-22-%02d.xml" % i, ev)
    put("dns", "results", b"type:  5 a.example.net;::ffff:10.1.2.3;fe80::1;type:  33 ;")

    for f in sorted(os.listdir(os.path.join(DATA, "conf"))):
        if f.endswith(".xml") and f != "enumerate-response.xml":
            put("conf", f, rd("conf/" + f))
    with open(os.path.join(TOP, "etc", "collectord.xml"), "rb") as f:
        put("conf", "sample-collectord.xml", f.read())

    for d in [os.path.join(TOP, "etc", "subscriptions.d"), os.path.join(DATA, "subs-captures"),
              os.path.join(DATA, "conf", "subs-bad"), os.path.join(DATA, "conf", "subs-dup")]:
        for f in sorted(os.listdir(d)):
            if f.endswith(".xml"):
                with open(os.path.join(d, f), "rb") as fh:
                    put("subscription", os.path.basename(d) + "-" + f, fh.read())

    hosts = sorted({m.group(1).lower() for _, e in events
                    for m in [re.search(rb"<Computer>([^<]+)</Computer>", e)] if m})
    api = [b"/api/v1/hosts\nlimit=2", b"/api/v1/hosts\nlimit=1\ncursor=AAAA",
           b"/api/v1/domains\nfirst_seen_after=2020-10-21T19:08:12.455Z\nfirst_seen_before=7d\nsuffix=microsoft.com\nmax_hosts=3\nlimit=5",
           b"/api/v1/domains/www.msftncsi.com", b"/api/v1/domains/WWW.MSFTNCSI.COM./hosts",
           b"/api/v1/hosts/" + hosts[0] + b"/domains\nfirst_seen_after=24h\nlimit=3",
           b"/api/v1/subscriptions", b"/api/v1/stats", b"/metrics", b"/healthz",
           b"/api/v1/domains\nlimit=10001", b"/api/v1/domains\ncursor=%%%\nbogus"]
    for i, a in enumerate(api):
        put("api", "req-%02d" % i, a)

    # Small Sysmon configurations: the real ones are large; fuzz-ci adds
    # tests/data/sysmon-configs as a second seed directory.
    put("rules", "minimal.xml", b'<Sysmon schemaversion="4.90"><EventFiltering>'
        b'<RuleGroup name="" groupRelation="or"><DnsQuery onmatch="exclude">'
        b'<QueryName condition="end with">.microsoft.com</QueryName></DnsQuery>'
        b'<ProcessCreate onmatch="include"><Image name="lolbin" condition="image">certutil.exe</Image>'
        b'<Rule groupRelation="and"><CommandLine condition="contains any">-enc;/c</CommandLine>'
        b'<ParentImage condition="is not">C:\\Windows\\explorer.exe</ParentImage></Rule>'
        b'</ProcessCreate></RuleGroup></EventFiltering></Sysmon>')

    for i, ev in enumerate(pick(events, 22, 3) + pick(events, 1, 2)):
        msg = events_message("Sysmon", "ws%d.example.com" % i, [ev], 100 + i)
        put("body", "events-utf8-%d" % i, b"\x0a" + msg)
        put("body", "events-utf16-%d" % i, b"\x08" + b"\xff\xfe" + msg.decode().encode("utf-16-le"))
    put("body", "enumerate", b"\x00" + rd("wef/enumerate.utf16le.bin"))
    for f in ["events.xml", "heartbeat.utf8.xml", "subscription-end.xml", "end.xml"]:
        put("body", "capture-" + f, b"\x0a" + rd("wef/" + f))


if __name__ == "__main__":
    main()
