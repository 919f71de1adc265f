#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""The daemon as an operator and a Windows client see it: command line,
--check-config, SIGTERM, SIGHUP reload, and kill -9 in the middle of
deliveries never losing an acknowledged event nor serving a bookmark past
what is durable."""

import os
import random
import re
import shutil
import signal
import socket
import subprocess
import threading
import time
import xml.etree.ElementTree as ET

from daemon import DATA, TOP_BUILDDIR, TOP_SRCDIR, Daemon, from_utf16, run, utf16

COLLECTORD = os.path.join(TOP_BUILDDIR, "src", "collectord")
ENV = dict(os.environ, COLLECTORD_SCHEMA_DIR=os.path.join(TOP_SRCDIR, "schemas"))
SYSMON = "Microsoft-Windows-Sysmon/Operational"


def cli(*args):
    p = subprocess.run([COLLECTORD] + list(args), capture_output=True, text=True,
                       env=ENV, timeout=30)
    return p.returncode, p.stdout, p.stderr


def test_help_version():
    rc, out, _ = cli("--help")
    assert rc == 0 and "--listen" in out and "--check-config" in out, out
    rc, out, _ = cli("--version")
    assert rc == 0 and out.startswith("collectord "), out
    rc, _, err = cli("--no-such-option")
    assert rc != 0


def test_check_config():
    sample = os.path.join(TOP_SRCDIR, "etc", "collectord.xml")
    rc, out, err = cli("--config", sample, "--check-config",
                       "--subscriptions", os.path.join(TOP_SRCDIR, "etc", "subscriptions.d"))
    assert rc == 0 and out.strip() == "configuration OK", (rc, out, err)
    bad = os.path.join(DATA, "conf", "bad-port.xml")
    rc, out, err = cli("--config", bad, "--check-config")
    assert rc == 1, rc
    assert re.search(r"bad-port\.xml:\d+: ", err), err
    # A missing explicit configuration file is an error, not defaults.
    rc, _, err = cli("--config", "/nonexistent/collectord.xml", "--check-config")
    assert rc == 1 and "nonexistent" in err, err
    rc, _, err = cli("--check-config", "--auth", "bogus")
    assert rc == 1 and "bogus" in err, err


def sysmon_event(host, record_id, channel=SYSMON):
    """A real Sysmon event (Event ID 1 from the shared data) renumbered."""
    with open(os.path.join(DATA, "sysmon", "lsass_campaign_01.xml"), encoding="utf-8") as f:
        line = f.readline().strip()
    line = re.sub(r"<EventRecordID>\d+</EventRecordID>",
                  "<EventRecordID>%d</EventRecordID>" % record_id, line)
    return re.sub(r"<Computer>[^<]*</Computer>", "<Computer>%s</Computer>" % host, line)


def events_message(host, sub_id, first, count, mid):
    evs = "".join('<w:Event Action="http://schemas.dmtf.org/wbem/wsman/1/wsman/Event">'
                  "<![CDATA[%s]]></w:Event>" % sysmon_event(host, r)
                  for r in range(first, first + count))
    last = first + count - 1
    return (
        '<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" '
        'xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing" '
        'xmlns:e="http://schemas.xmlsoap.org/ws/2004/08/eventing" '
        'xmlns:w="http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd" '
        'xmlns:p="http://schemas.microsoft.com/wbem/wsman/1/wsman.xsd"><s:Header>'
        "<a:To>http://collector/wsman/subscriptions/%s</a:To>"
        '<m:MachineID xmlns:m="http://schemas.microsoft.com/wbem/wsman/1/machineid" '
        's:mustUnderstand="false">%s</m:MachineID>'
        '<a:Action s:mustUnderstand="true">http://schemas.dmtf.org/wbem/wsman/1/wsman/Events</a:Action>'
        "<a:MessageID>%s</a:MessageID>"
        "<e:Identifier>%s</e:Identifier>"
        '<w:Bookmark><BookmarkList><Bookmark Channel="%s" RecordId="%d" IsCurrent="true"/>'
        "</BookmarkList></w:Bookmark><w:AckRequested/></s:Header>"
        "<s:Body><w:Events>%s</w:Events></s:Body></s:Envelope>"
        % (sub_id, host, mid, sub_id, SYSMON, last, evs))


def enumerate_msg(host):
    return (
        '<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" '
        'xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing" '
        'xmlns:w="http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd"><s:Header>'
        '<m:MachineID xmlns:m="http://schemas.microsoft.com/wbem/wsman/1/machineid">%s</m:MachineID>'
        "<a:Action>http://schemas.xmlsoap.org/ws/2004/09/enumeration/Enumerate</a:Action>"
        "<a:MessageID>uuid:11111111-2222-3333-4444-555555555555</a:MessageID></s:Header>"
        '<s:Body><n:Enumerate xmlns:n="http://schemas.xmlsoap.org/ws/2004/09/enumeration"/>'
        "</s:Body></s:Envelope>" % host)


def enumerated(d, host):
    st, _, body = d.post("/wsman/SubscriptionManager/WEC", utf16(enumerate_msg(host)),
                         {"Host": "collector.example.com:5985"})
    assert st == 200, st
    return from_utf16(body)


def builtin_id(d, host):
    text = enumerated(d, host)
    return re.search(r"<e:Identifier>([^<]+)</e:Identifier>", text).group(1), text


def served_bookmark(text):
    m = re.search(r'<Bookmark Channel="[^"]*" RecordId="(\d+)"', text)
    return int(m.group(1)) if m else None


def host_events(d, host):
    st, js = d.api("/api/v1/hosts")
    assert st == 200, js
    for h in js["hosts"]:
        if h["host"] == host:
            return h["events"]
    return 0


def test_sigterm_and_builtin_subscription():
    # No --subscriptions: the default directory does not exist here, so the
    # built-in Sysmon subscription is offered.
    d = Daemon(default_subscriptions=True).start()
    try:
        sub_id, text = builtin_id(d, "ws1.example.com")
        assert SYSMON in text and "<w:ContentEncoding>UTF-16</w:ContentEncoding>" in text
        t0 = time.time()
        assert d.stop() == 0
        assert time.time() - t0 < 10
    finally:
        d.cleanup()


def test_address_in_use():
    # The API's address is taken: the daemon says so and exits, without
    # having served on the WEF address it could bind (every address is
    # bound before any listener starts).
    d = Daemon()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", d.api_port))
        taken.listen()
        p = subprocess.run(d.argv(), capture_output=True, text=True, timeout=30,
                           env=dict(ENV, COLLECTORD_ALLOW_ROOT="1"))
    try:
        assert p.returncode == 1, (p.returncode, p.stderr)
        assert "cannot listen on 127.0.0.1:%d: Address already in use" % d.api_port in p.stderr, p.stderr
        assert "listening on" not in p.stderr, p.stderr
        assert "started" not in p.stderr, p.stderr
    finally:
        d.cleanup()


def test_sighup_reload():
    d = Daemon()
    subs = d.subscriptions
    shutil.copy(os.path.join(TOP_SRCDIR, "etc", "subscriptions.d", "sysmon.xml"), subs)
    d.start()
    try:
        text = enumerated(d, "ws1")
        assert text.count("<m:Subscription") == 1
        shutil.copy(os.path.join(TOP_SRCDIR, "etc", "subscriptions.d", "security.xml"), subs)
        d.proc.send_signal(signal.SIGHUP)
        deadline = time.time() + 10
        while enumerated(d, "ws1").count("<m:Subscription") != 2:
            assert time.time() < deadline, "reload did not add the subscription"
            time.sleep(0.1)
        # An invalid file: the reload is refused and the old set kept.
        with open(os.path.join(subs, "broken.xml"), "w") as f:
            f.write("<Subscription><oops></Subscription>")
        d.proc.send_signal(signal.SIGHUP)
        time.sleep(1)
        assert d.proc.poll() is None
        assert enumerated(d, "ws1").count("<m:Subscription") == 2
        assert "reload refused" in d.logtext()
    finally:
        d.stop()
        d.cleanup()


def test_kill9_never_loses_acked():
    """Deliver batches from several threads, kill -9 the daemon at a random
    moment, restart: every acked event is there, and the bookmark served is
    exactly the durable position (never past it)."""
    random.seed(os.getpid())
    d = Daemon()
    d.start()
    try:
        hosts = ["k%d.example.com" % i for i in range(3)]
        sub_id, _ = builtin_id(d, hosts[0])
        total_acked = {h: 0 for h in hosts}
        for round_ in range(3):
            acked = {h: 0 for h in hosts}
            stop = threading.Event()

            def sender(host):
                # Resume from what the collector says is durable, like Windows.
                first = (served_bookmark(enumerated(d, host)) or 0) + 1
                n = 0
                while not stop.is_set():
                    mid = "uuid:%08X-0000-0000-0000-%012X" % (round_, first + n)
                    try:
                        st, _, _ = d.post("/wsman/subscriptions/" + sub_id,
                                          utf16(events_message(host, sub_id, first, 10, mid)))
                    except OSError:
                        return
                    if st == 200:
                        acked[host] = first + 9
                        first += 10
                    else:
                        time.sleep(0.05)

            threads = [threading.Thread(target=sender, args=(h,)) for h in hosts]
            for t in threads:
                t.start()
            time.sleep(random.uniform(0.5, 1.5))
            d.kill9()
            stop.set()
            for t in threads:
                t.join()
            d.start()
            for h in hosts:
                stored = host_events(d, h)
                bm = served_bookmark(enumerated(d, h)) or 0
                assert stored >= acked[h], (h, stored, acked[h])
                # Batches are atomic: what is stored is exactly up to the bookmark.
                assert bm == stored, (h, bm, stored)
                total_acked[h] = acked[h]
        assert sum(total_acked.values()) > 0, "nothing was acked: the test proved nothing"
    finally:
        d.stop()
        d.cleanup()


if __name__ == "__main__":
    run([test_help_version, test_check_config, test_sigterm_and_builtin_subscription, test_address_in_use,
         test_sighup_reload, test_kill9_never_loses_acked])
