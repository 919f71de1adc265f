#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""The identity rule (design.md): a source may index only events whose
Computer is its own host. Source A sending a DNS event that names host B:
the batch is acked and the event kept, but nothing is indexed or counted
under B. A relay configured as such may index for others."""

import os
import re
import tempfile

from daemon import DATA, Daemon, conf_file, from_utf16, run, utf16

EID22 = None


def dns_event(host, record_id, name):
    global EID22
    if EID22 is None:
        with open(os.path.join(DATA, "sysmon", "lsass_campaign_01.xml"), encoding="utf-8") as f:
            EID22 = next(l.strip() for l in f if "<EventID>22</EventID>" in l)
    ev = re.sub(r"<EventRecordID>\d+</EventRecordID>", "<EventRecordID>%d</EventRecordID>" % record_id, EID22)
    ev = re.sub(r"<Computer>[^<]*</Computer>", "<Computer>%s</Computer>" % host, ev)
    return ev.replace("DC01.pandalab.com", name)


def batch(machine_id, sub_id, events, mid):
    evs = "".join('<w:Event Action="http://schemas.dmtf.org/wbem/wsman/1/wsman/Event"><![CDATA[%s]]></w:Event>' % e
                  for e in events)
    return ('<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" '
            'xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing" '
            'xmlns:e="http://schemas.xmlsoap.org/ws/2004/08/eventing" '
            'xmlns:w="http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd"><s:Header>'
            '<m:MachineID xmlns:m="http://schemas.microsoft.com/wbem/wsman/1/machineid">%s</m:MachineID>'
            "<a:Action>http://schemas.dmtf.org/wbem/wsman/1/wsman/Events</a:Action>"
            "<a:MessageID>%s</a:MessageID><e:Identifier>%s</e:Identifier></s:Header>"
            "<s:Body><w:Events>%s</w:Events></s:Body></s:Envelope>" % (machine_id, mid, sub_id, evs))


def sub_id(d):
    st, _, body = d.post("/wsman/SubscriptionManager/WEC", utf16(
        '<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" '
        'xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing"><s:Header>'
        "<a:Action>http://schemas.xmlsoap.org/ws/2004/09/enumeration/Enumerate</a:Action>"
        "<a:MessageID>uuid:1</a:MessageID></s:Header><s:Body/></s:Envelope>"))
    assert st == 200, st
    return re.search(r"<e:Identifier>([^<]+)</e:Identifier>", from_utf16(body)).group(1)


def hosts(d):
    st, js = d.api("/api/v1/hosts")
    assert st == 200, js
    return {h["host"]: h for h in js["hosts"]}


def test_foreign_events_not_indexed():
    d = Daemon(default_subscriptions=True).start()
    try:
        sid = sub_id(d)
        evs = [dns_event("a.example.com", 1, "own.example.org"),
               dns_event("B.example.com", 2, "spoofed.example.org")]
        st, _, _ = d.post("/wsman/subscriptions/" + sid, utf16(batch("a.example.com", sid, evs, "uuid:2")))
        assert st == 200, st
        h = hosts(d)
        assert "a.example.com" in h and h["a.example.com"]["events"] == 1, h
        assert "b.example.com" not in h, h
        st, js = d.api("/api/v1/domains/own.example.org")
        assert st == 200 and js["host_count"] == 1, js
        # The spoofed query is kept and forwarded, never indexed.
        st, js = d.api("/api/v1/domains/spoofed.example.org")
        assert st == 404, js
    finally:
        d.stop()
        d.cleanup()


def test_relay_indexes_for_others():
    conf = conf_file('<?xml version="1.0"?>\n<collectord>'
                     "<relays><relay>relay*.example.com</relay></relays></collectord>\n")
    d = Daemon(default_subscriptions=True, extra=["--config", conf]).start()
    try:
        sid = sub_id(d)
        evs = [dns_event("c.example.com", 1, "relayed.example.org")]
        st, _, _ = d.post("/wsman/subscriptions/" + sid, utf16(batch("relay1.example.com", sid, evs, "uuid:3")))
        assert st == 200, st
        st, js = d.api("/api/v1/domains/relayed.example.org")
        assert st == 200 and js["first_host"] == "c.example.com", js
    finally:
        d.stop()
        d.cleanup()


def test_allowed_sources():
    """cd:AllowedSources: other sources are not offered the subscription and
    get 403 when they deliver to it anyway."""
    subs = tempfile.mkdtemp(prefix="cd-subs-")
    with open(os.path.join(subs, "dc.xml"), "w") as f:
        f.write("""<?xml version="1.0"?>
<Subscription xmlns="http://schemas.microsoft.com/2006/03/windows/events/subscription">
	<SubscriptionId>dcs-only</SubscriptionId>
	<SubscriptionType>SourceInitiated</SubscriptionType>
	<ConfigurationMode>MinLatency</ConfigurationMode>
	<Query><![CDATA[<QueryList><Query Id="0"><Select Path="Security">*</Select></Query></QueryList>]]></Query>
	<cd:Identifier xmlns:cd="urn:collectord:subscription">11111111-2222-3333-4444-555555555555</cd:Identifier>
	<cd:AllowedSources xmlns:cd="urn:collectord:subscription"><cd:Source>dc*.example.com</cd:Source></cd:AllowedSources>
</Subscription>
""")
    d = Daemon(subscriptions=subs).start()
    try:
        def offered(machine):
            st, _, body = d.post("/wsman/SubscriptionManager/WEC", utf16(
                '<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" '
                'xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing"><s:Header>'
                '<m:MachineID xmlns:m="http://schemas.microsoft.com/wbem/wsman/1/machineid">%s</m:MachineID>'
                "<a:Action>http://schemas.xmlsoap.org/ws/2004/09/enumeration/Enumerate</a:Action>"
                "<a:MessageID>uuid:1</a:MessageID></s:Header><s:Body/></s:Envelope>" % machine))
            assert st == 200, st
            return "11111111-2222-3333-4444-555555555555" in from_utf16(body)
        assert offered("dc1.example.com")
        assert not offered("ws1.example.com")
        sid = "11111111-2222-3333-4444-555555555555"
        evs = [dns_event("ws1.example.com", 1, "x.example.org")]
        st, _, _ = d.post("/wsman/subscriptions/" + sid, utf16(batch("ws1.example.com", sid, evs, "uuid:9")))
        assert st == 403, st
        evs = [dns_event("dc1.example.com", 1, "x.example.org")]
        st, _, _ = d.post("/wsman/subscriptions/" + sid, utf16(batch("dc1.example.com", sid, evs, "uuid:10")))
        assert st == 200, st
    finally:
        d.stop()
        d.cleanup()


if __name__ == "__main__":
    run([test_foreign_events_not_indexed, test_relay_indexes_for_others, test_allowed_sources])
