#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Mutual TLS (--auth tls) against the real daemon: a throw-away PKI made by
tests/tls/mkcerts.sh; a good client certificate is identified by its CN and
gets the EnumerateResponse with the issuing CA's thumbprint; no certificate,
another CA, an expired or a server-only certificate are refused before any
body is read."""

import hashlib
import http.client
import os
import re
import ssl
import subprocess
import tempfile

from daemon import TOP_SRCDIR, Daemon, from_utf16, run, utf16, free_port

ENUM = (
    '<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" '
    'xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing"><s:Header>'
    '<m:MachineID xmlns:m="http://schemas.microsoft.com/wbem/wsman/1/machineid">win10.example.com</m:MachineID>'
    "<a:Action>http://schemas.xmlsoap.org/ws/2004/09/enumeration/Enumerate</a:Action>"
    "<a:MessageID>uuid:AAAAAAAA-BBBB-CCCC-DDDD-EEEEEEEEEEEE</a:MessageID></s:Header>"
    '<s:Body><n:Enumerate xmlns:n="http://schemas.xmlsoap.org/ws/2004/09/enumeration"/></s:Body></s:Envelope>')

HTTPS_SUB = """<?xml version="1.0" encoding="UTF-8"?>
<Subscription xmlns="http://schemas.microsoft.com/2006/03/windows/events/subscription">
	<SubscriptionId>sysmon-https</SubscriptionId>
	<SubscriptionType>SourceInitiated</SubscriptionType>
	<Enabled>true</Enabled>
	<ConfigurationMode>MinLatency</ConfigurationMode>
	<Query><![CDATA[<QueryList><Query Id="0"><Select Path="Microsoft-Windows-Sysmon/Operational">*</Select></Query></QueryList>]]></Query>
	<ReadExistingEvents>false</ReadExistingEvents>
	<TransportName>HTTPS</TransportName>
	<ContentFormat>Events</ContentFormat>
</Subscription>
"""


def pki():
    d = tempfile.mkdtemp(prefix="cd-pki-")
    subprocess.run(["sh", os.path.join(TOP_SRCDIR, "tests", "tls", "mkcerts.sh"), d],
                   check=True, capture_output=True)
    return d


def thumbprint(pem_path):
    der = ssl.PEM_cert_to_DER_cert(open(pem_path).read())
    return hashlib.sha1(der).hexdigest().upper()


def request(port, pki_dir, cert):
    ctx = ssl.create_default_context(cafile=os.path.join(pki_dir, "ca.pem"))
    ctx.check_hostname = False
    if cert is not None:
        ctx.load_cert_chain(os.path.join(pki_dir, cert + ".pem"), os.path.join(pki_dir, cert + ".key"))
    conn = http.client.HTTPSConnection("127.0.0.1", port, context=ctx, timeout=10)
    try:
        conn.request("POST", "/wsman/SubscriptionManager/WEC", body=utf16(ENUM),
                     headers={"Content-Type": "application/soap+xml;charset=UTF-16",
                              "Host": "collector.example.com:%d" % port})
        r = conn.getresponse()
        return r.status, r.read()
    except (ssl.SSLError, ConnectionError, OSError) as e:
        return None, str(e)
    finally:
        conn.close()


def test_mutual_tls():
    p = pki()
    subs = tempfile.mkdtemp(prefix="cd-subs-")
    with open(os.path.join(subs, "https.xml"), "w") as f:
        f.write(HTTPS_SUB)
    tls_port = free_port()
    d = Daemon(subscriptions=subs, auth="tls", extra=[
        "--tls-listen", "127.0.0.1:%d" % tls_port,
        "--tls-cert", os.path.join(p, "server.pem"), "--tls-key", os.path.join(p, "server.key"),
        "--tls-ca", os.path.join(p, "ca.pem"),
        "--advertise", "collector.example.com:%d" % tls_port])
    d.start()
    try:
        st, body = request(tls_port, p, "win10")
        assert st == 200, (st, body, d.logtext()[-2000:])
        text = from_utf16(body)
        assert "https://collector.example.com:%d/wsman/subscriptions/" % tls_port in text
        tp = thumbprint(os.path.join(p, "ca.pem"))
        assert re.search(r'<auth:Thumbprint Role="issuer">%s</auth:Thumbprint>' % tp, text), text
        assert "secprofile/https/mutual" in text

        # Refused: no certificate, another CA, expired, server-only.
        for cert in (None, "other", "expired", "serveronly"):
            st, body = request(tls_port, p, cert)
            assert st in (None, 401, 403), (cert, st, body)
            if st is not None:
                assert b"EnumerateResponse" not in body
        # None of the refused requests was parsed: one parse for win10 only.
        assert d.logtext().count("enumerated") <= 1
    finally:
        d.stop()
        d.cleanup()


if __name__ == "__main__":
    run([test_mutual_tls])
