#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Wait until the daemon's DNS index holds every acknowledged query.

The index is applied a moment after the Ack (src/indexer.h), so a test that
asks the API about events it just delivered first waits for
/api/v1/stats dns.index_pending to reach 0.

    wait_indexed.py API_BASE_URL [TIMEOUT_S]
"""
import json
import sys
import time
import urllib.request


def wait_indexed(base, headers=None, timeout=5.0):
    """True once nothing waits for the index; False on timeout or when
    the stats cannot be read (the caller's own request then tells)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            req = urllib.request.Request(base + "/api/v1/stats", headers=headers or {})
            with urllib.request.urlopen(req, timeout=5) as r:
                pending = json.load(r)["dns"]["index_pending"]
        except (OSError, ValueError, KeyError):
            return False
        if pending == 0:
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)


if __name__ == "__main__":
    ok = wait_indexed(sys.argv[1], timeout=float(sys.argv[2]) if len(sys.argv) > 2 else 10)
    if not ok:
        print("wait_indexed: the index did not catch up", file=sys.stderr)
    sys.exit(0 if ok else 1)
