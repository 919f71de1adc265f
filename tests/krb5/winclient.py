#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""A WinRM client shaped like the Windows event forwarder, for tests.

What it reproduces (see docs wef-protocol.md 3.1 and kerberos-testing.md):
raw krb5 mechanism under the HTTP scheme "Kerberos" (or SPNEGO under
"Negotiate" with --negotiate), a pre-emptive empty POST carrying the AP-REQ,
200 with the AP-REP completing mutual authentication, then bodies wrapped
with gss_wrap_iov(HEADER, DATA, PADDING) in the no-tab multipart framing,
all on one keep-alive connection.

usage: winclient.py [options] URL BODY [BODY...]

Each BODY file (UTF-16LE SOAP, sent as is) is posted in order; each
decrypted reply is written to stdout (UTF-16 decoded to UTF-8 text, one per
line) or to --out-dir. The URL keeps the collector's name; --connect gives
the address actually dialled (default 127.0.0.1). Credentials come from
--keytab for --principal (default: $KRB5_CLIENT_KTNAME, WIN10$).
Exit status: 0 when every request got 200 and decrypted; 1 otherwise.
"""

import argparse
import base64
import http.client
import os
import struct
import sys
import urllib.parse

import gssapi
import gssapi.raw as gr

KRB5 = gssapi.OID.from_int_seq("1.2.840.113554.1.2.2")
SPNEGO = gssapi.OID.from_int_seq("1.3.6.1.5.5.2")
BOUNDARY = b"--Encrypted Boundary"
PROTO = {
    "Kerberos": "application/HTTP-Kerberos-session-encrypted",
    "Negotiate": "application/HTTP-SPNEGO-session-encrypted",
}


def fail(msg):
    print("winclient: " + msg, file=sys.stderr)
    sys.exit(1)


def make_context(args, host):
    store = {"ccache": "MEMORY:winclient"}
    keytab = args.keytab or os.environ.get("KRB5_CLIENT_KTNAME")
    if keytab:
        store["client_keytab"] = keytab
    name = gssapi.Name(args.principal, gssapi.NameType.kerberos_principal)
    creds = gssapi.Credentials(name=name, usage="initiate", store=store)
    spn = args.spn or "HTTP/%s" % host
    target = gssapi.Name(spn, gssapi.NameType.kerberos_principal)
    flags = (gssapi.RequirementFlag.mutual_authentication |
             gssapi.RequirementFlag.replay_detection |
             gssapi.RequirementFlag.out_of_sequence_detection |
             gssapi.RequirementFlag.confidentiality |
             gssapi.RequirementFlag.integrity)
    return gssapi.SecurityContext(name=target, creds=creds, usage="initiate",
                                  mech=SPNEGO if args.negotiate else KRB5,
                                  flags=flags)


def wrap(ctx, scheme, plain):
    iov = gr.IOV(gr.IOVBufferType.header, plain, gr.IOVBufferType.padding,
                 std_layout=False)
    gr.wrap_iov(ctx, iov, confidential=True)
    header, data, padding = iov[0].value, iov[1].value, iov[2].value or b""
    # Windows' framing: no tab before the part headers, no CRLF before the
    # closing boundary (Content-Length = Length + 298 + digits of Length).
    return (BOUNDARY + b"\r\n" +
            b"Content-Type: " + PROTO[scheme].encode() + b"\r\n" +
            b"OriginalContent: type=application/soap+xml;charset=UTF-16;Length=" +
            str(len(plain)).encode() + b"\r\n" +
            BOUNDARY + b"\r\n" +
            b"Content-Type: application/octet-stream\r\n" +
            struct.pack("<I", len(header)) + header + data + padding +
            BOUNDARY + b"--\r\n")


def unwrap(ctx, body):
    """Parse by position like the collector, tolerating a leading tab."""
    marker = b"Content-Type: application/octet-stream\r\n"
    meta_end = body.find(marker)
    if meta_end < 0:
        fail("reply is not WinRM multipart/encrypted")
    meta = body[:meta_end]
    length = int(meta.split(b"Length=")[1].split(b"\r\n")[0])
    pos = meta_end + len(marker)
    hlen = struct.unpack("<I", body[pos:pos + 4])[0]
    header = body[pos + 4:pos + 4 + hlen]
    data = body[pos + 4 + hlen:pos + 4 + hlen + length]
    rest = body[pos + 4 + hlen + length:]
    if rest not in (BOUNDARY + b"--\r\n", BOUNDARY + b"--"):
        fail("reply framing: %r after the data" % rest[:40])
    iov = gr.IOV((gr.IOVBufferType.header, False, header), data, std_layout=False)
    res = gr.unwrap_iov(ctx, iov)
    if not res.encrypted:
        fail("reply was not encrypted")
    plain = iov[1].value
    if len(plain) != length:
        fail("reply Length %d but %d bytes decrypted" % (length, len(plain)))
    return plain


def show(plain):
    if plain[:2] == b"\xff\xfe":
        return plain[2:].decode("utf-16-le")
    if plain[:2] == b"\xfe\xff":
        return plain[2:].decode("utf-16-be")
    return plain.decode("utf-8", "replace")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("url")
    ap.add_argument("bodies", nargs="+")
    ap.add_argument("--connect", default="127.0.0.1")
    ap.add_argument("--principal", default="WIN10$")
    ap.add_argument("--keytab")
    ap.add_argument("--spn", help="default HTTP/<host of URL>")
    ap.add_argument("--negotiate", action="store_true",
                    help="SPNEGO under 'Negotiate' instead of raw krb5 under 'Kerberos'")
    ap.add_argument("--out-dir")
    args = ap.parse_args()

    url = urllib.parse.urlsplit(args.url)
    host, port = url.hostname, url.port or 5985
    path = url.path or "/wsman"
    scheme = "Negotiate" if args.negotiate else "Kerberos"
    ctx = make_context(args, host)
    conn = http.client.HTTPConnection(args.connect, port, timeout=60)
    common = {
        "Host": "%s:%d" % (host, port),
        "Connection": "Keep-Alive",
        "User-Agent": "Microsoft WinRM Client",
    }

    token = ctx.step()
    conn.request("POST", path, body=b"", headers=dict(common, **{
        "Content-Type": "application/soap+xml;charset=UTF-16",
        "Authorization": "%s %s" % (scheme, base64.b64encode(token).decode()),
        "Content-Length": "0",
    }))
    resp = conn.getresponse()
    resp.read()
    if resp.status != 200:
        fail("authentication leg: HTTP %d" % resp.status)
    www = resp.getheader("WWW-Authenticate") or ""
    if not www.startswith(scheme + " "):
        fail("authentication leg: WWW-Authenticate %r" % www)
    ctx.step(base64.b64decode(www.split(" ", 1)[1]))
    if not ctx.complete:
        fail("mutual authentication did not complete")

    for i, name in enumerate(args.bodies):
        with open(name, "rb") as f:
            plain = f.read()
        body = wrap(ctx, scheme, plain)
        conn.request("POST", path, body=body, headers=dict(common, **{
            "Content-Type": 'multipart/encrypted;protocol="%s";'
                            'boundary="Encrypted Boundary"' % PROTO[scheme],
            "Content-Length": str(len(body)),
        }))
        resp = conn.getresponse()
        reply = resp.read()
        if resp.status not in (200, 204):
            fail("%s: HTTP %d" % (name, resp.status))
        if resp.status == 204 or not reply:
            text = ""
        else:
            ctype = resp.getheader("Content-Type") or ""
            if 'protocol="%s"' % PROTO[scheme] not in ctype:
                fail("%s: reply Content-Type %r" % (name, ctype))
            text = show(unwrap(ctx, reply))
        if args.out_dir:
            with open(os.path.join(args.out_dir, "reply%d.xml" % i), "w") as f:
                f.write(text)
        else:
            print(text)
    conn.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
