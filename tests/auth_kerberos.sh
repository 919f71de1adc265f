#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
#
# Kerberos end to end: a throw-away MIT realm (tests/krb5/kdc.sh), the real
# daemon with --auth kerberos on 127.0.0.1, and two real clients:
#  - tests/krb5/winclient.py, shaped like the Windows forwarder (raw krb5
#    under "Kerberos", pre-emptive empty POST, no-tab framing), and the same
#    with SPNEGO under "Negotiate" as another host;
#  - Debian's pywinrm (Negotiate + raw krb5, tab framing, strict replies).
# Each sends the captured Enumerate and must get an EnumerateResponse naming
# the advertised collector. Requests without or with bad credentials get 401
# advertising both schemes.
set -u

top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}
top_builddir=${top_builddir:-$top_srcdir}
daemon=$top_builddir/src/collectord
py=${PYTHON:-/usr/bin/python3}
enumerate=$top_srcdir/tests/data/wef/enumerate.utf16le.bin

[ -x "$daemon" ] || { echo "SKIP: $daemon not built"; exit 77; }
command -v krb5kdc >/dev/null || [ -x /usr/sbin/krb5kdc ] ||
	{ echo "SKIP: krb5kdc not installed"; exit 77; }
"$py" -c 'import gssapi, winrm, kerberos' 2>/dev/null ||
	{ echo "SKIP: python3-gssapi/python3-winrm/python3-kerberos missing"; exit 77; }
export PATH=$PATH:/usr/sbin

tmp=$(mktemp -d "${TMPDIR:-/tmp}/cd-auth-krb.XXXXXX")
pid=
cleanup() {
	if [ -n "$pid" ]; then
		kill "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	fi
	sh "$top_srcdir/tests/krb5/kdc.sh" stop "$tmp/kdc"
	rm -rf "$tmp"
}
trap cleanup EXIT

fail() {
	echo "FAIL: $*"
	echo "--- daemon log (tail)"
	tail -n 40 "$tmp/daemon.log" 2>/dev/null
	exit 1
}

sh "$top_srcdir/tests/krb5/kdc.sh" start "$tmp/kdc" || fail "cannot start the KDC"
# shellcheck disable=SC1091
. "$tmp/kdc/env.sh"

read -r port api_port < <("$py" "$top_srcdir/tests/free_port.py" 2)
url=http://collector.example.com:$port/wsman/SubscriptionManager/WEC
mkdir -p "$tmp/data" "$tmp/subs"

"$daemon" --foreground --auth kerberos --keytab "$tmp/kdc/collector.keytab" \
    --listen "127.0.0.1:$port" --api-listen "127.0.0.1:$api_port" \
    --data-dir "$tmp/data" --subscriptions "$tmp/subs" \
    --advertise "collector.example.com:$port" >"$tmp/daemon.log" 2>&1 &
pid=$!
for _ in $(seq 1 100); do
	kill -0 "$pid" 2>/dev/null || fail "daemon exited at start-up"
	(exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
	sleep 0.1
done

check_reply() {	# name file
	grep -q 'EnumerateResponse' "$2" || fail "$1: no EnumerateResponse: $(head -c 400 "$2")"
	grep -q "collector.example.com:$port" "$2" ||
		fail "$1: reply does not name collector.example.com:$port"
	echo "ok: $1"
}

# 1. Windows-shaped: raw krb5 under "Kerberos", no-tab framing.
"$py" "$top_srcdir/tests/krb5/winclient.py" --keytab "$tmp/kdc/win10.keytab" \
    --principal 'WIN10$' "$url" "$enumerate" >"$tmp/win10.out" 2>"$tmp/win10.err" ||
	fail "winclient (Kerberos): $(cat "$tmp/win10.err")"
check_reply "winclient Kerberos WIN10\$" "$tmp/win10.out"

# 2. Same client with SPNEGO under "Negotiate", another host, HOST/ SPN.
"$py" "$top_srcdir/tests/krb5/winclient.py" --keytab "$tmp/kdc/win11.keytab" \
    --principal 'WIN11$' --negotiate --spn HOST/collector.example.com \
    "$url" "$enumerate" >"$tmp/win11.out" 2>"$tmp/win11.err" ||
	fail "winclient (Negotiate): $(cat "$tmp/win11.err")"
check_reply "winclient Negotiate/SPNEGO WIN11\$" "$tmp/win11.out"

# 3. pywinrm: Negotiate + raw krb5, tab framing, strict reply parsing.
"$py" "$top_srcdir/tests/krb5/pywinrm_client.py" --keytab "$tmp/kdc/win10.keytab" \
    "$url" "$enumerate" >"$tmp/pywinrm.out" 2>"$tmp/pywinrm.err" ||
	fail "pywinrm: $(cat "$tmp/pywinrm.err")"
check_reply "pywinrm WIN10\$" "$tmp/pywinrm.out"

# 4. No, bad and NTLM credentials: 401 with both schemes, before the body.
unauth() {	# name authorization-header-or-empty
	local args=(-s -o /dev/null -D "$tmp/h" -w '%{http_code}' -X POST
	    -H 'Content-Type: application/soap+xml;charset=UTF-16'
	    --data-binary "@$enumerate" --connect-to "collector.example.com:$port:127.0.0.1:$port")
	[ -n "$2" ] && args+=(-H "Authorization: $2")
	code=$(curl "${args[@]}" "$url")
	[ "$code" = 401 ] || fail "$1: HTTP $code, expected 401"
	grep -qi '^WWW-Authenticate: Kerberos' "$tmp/h" || fail "$1: no Kerberos challenge"
	grep -qi '^WWW-Authenticate: Negotiate' "$tmp/h" || fail "$1: no Negotiate challenge"
	echo "ok: $1 refused"
}
unauth "no Authorization" ""
unauth "garbage token" "Kerberos YWJjZA=="
unauth "NTLM under Negotiate" "Negotiate TlRMTVNTUAABAAAAB4IIogAAAAAAAAAAAAAAAAAAAAAKAGFKAAAADw=="
unauth "Basic" "Basic V0lOMTAkOnNlY3JldA=="

# 5. The refused requests never reached the decoder or the XML parser: the
# daemon parsed exactly the three authenticated Enumerates above.
parsed=$(curl -s "http://127.0.0.1:$api_port/api/v1/stats" |
	"$py" -c 'import json,sys; print(json.load(sys.stdin)["wef"]["requests"])')
[ "$parsed" = 3 ] || fail "parsed $parsed requests, expected 3 (only the authenticated ones)"
echo "ok: unauthenticated requests were never parsed"

kill -0 "$pid" 2>/dev/null || fail "daemon died"
# A clean stop, and nothing from the sanitizers (sanitizer builds).
kill -TERM "$pid"
wait "$pid"
rc=$?
pid=
[ "$rc" = 0 ] || fail "daemon exit status $rc after SIGTERM"
grep -E 'AddressSanitizer|LeakSanitizer|runtime error' "$tmp/daemon.log" &&
	fail "sanitizer report in the daemon log"
echo "PASS"
exit 0
