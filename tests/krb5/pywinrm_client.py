#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Send WEF envelopes through Debian's pywinrm with Kerberos message encryption.

usage: pywinrm_client.py [options] URL BODY [BODY...]

pywinrm is a third-party WinRM client: it authenticates with "Negotiate"
carrying a raw krb5 token (flags mutual+sequence), frames bodies with tabs
before the part headers, labels them charset=UTF-8 whatever they are, and
checks the reply's Content-Type, framing and Length strictly. Each BODY file
is sent as is (e.g. the UTF-16LE Enumerate capture) on one session; each
decrypted reply is printed (UTF-16 decoded), one per line.

Two test-only shims (docs kerberos-testing.md):
 * Debian 12's pykerberos 1.1.14 lacks authGSSWinRMEncryptMessage /
   authGSSWinRMDecryptMessage, which requests-kerberos 0.12 calls; map them
   onto authGSSClientWrapIov / authGSSClientUnwrapIov, which produce and take
   the same "le32 header length + header + data" stream.
 * The URL keeps the collector's name (for the SPN and the Host header);
   name resolution of that one name is pointed at --connect (127.0.0.1).

Credentials: kinit from --keytab (default $KRB5_CLIENT_KTNAME) for
--principal (default WIN10$) into a private ccache.
Exit status 0 when every body got a decrypted 200 reply.
"""

import argparse
import base64
import os
import socket
import struct
import subprocess
import sys
import tempfile
import urllib.parse

import kerberos


def _winrm_encrypt(context, message):
    """(sealed data, header) like pykerberos >= 1.2.1."""
    kerberos.authGSSClientWrapIov(context, base64.b64encode(message).decode())
    stream = base64.b64decode(kerberos.authGSSClientResponse(context))
    hlen = struct.unpack("<I", stream[:4])[0]
    return stream[4 + hlen:], stream[4:4 + hlen]


def _winrm_decrypt(context, message, header):
    stream = struct.pack("<I", len(header)) + header + message
    kerberos.authGSSClientUnwrapIov(context, base64.b64encode(stream).decode())
    return base64.b64decode(kerberos.authGSSClientResponse(context))


def install_shims(name, address):
    if not hasattr(kerberos, "authGSSWinRMEncryptMessage"):
        kerberos.authGSSWinRMEncryptMessage = _winrm_encrypt
        kerberos.authGSSWinRMDecryptMessage = _winrm_decrypt
    real = socket.getaddrinfo

    def getaddrinfo(host, *a, **kw):
        return real(address if host == name else host, *a, **kw)

    socket.getaddrinfo = getaddrinfo


def show(plain):
    if isinstance(plain, str):
        return plain
    if plain[:2] == b"\xff\xfe":
        return plain[2:].decode("utf-16-le")
    return plain.decode("utf-8", "replace")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("url")
    ap.add_argument("bodies", nargs="+")
    ap.add_argument("--connect", default="127.0.0.1")
    ap.add_argument("--principal", default="WIN10$")
    ap.add_argument("--keytab")
    args = ap.parse_args()

    host = urllib.parse.urlsplit(args.url).hostname
    keytab = args.keytab or os.environ.get("KRB5_CLIENT_KTNAME")
    tmp = tempfile.mkdtemp(prefix="pywinrm-")
    os.environ["KRB5CCNAME"] = "FILE:%s/ccache" % tmp
    if keytab:
        subprocess.run(["kinit", "-k", "-t", keytab.replace("FILE:", ""),
                        args.principal], check=True)

    install_shims(host, args.connect)
    # Import after the shims: requests-kerberos checks at construction time.
    from winrm.transport import Transport

    t = Transport(endpoint=args.url, auth_method="kerberos",
                  message_encryption="always", service="HTTP",
                  read_timeout_sec=60)
    status = 0
    try:
        for name in args.bodies:
            with open(name, "rb") as f:
                body = f.read()
            print(show(t.send_message(body)))
    except Exception as e:  # noqa: BLE001 - report any client failure
        print("pywinrm_client: %s: %s" % (type(e).__name__, e), file=sys.stderr)
        status = 1
    finally:
        subprocess.run(["rm", "-rf", tmp])
    return status


if __name__ == "__main__":
    sys.exit(main())
