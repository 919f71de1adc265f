#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
#
# A throw-away MIT Kerberos realm for the tests.
#
#   kdc.sh start DIR   create realm EXAMPLE.COM in DIR, start krb5kdc on
#                      127.0.0.1 on a free port, write keytabs and DIR/env.sh
#   kdc.sh stop DIR    stop that KDC (DIR itself is left to the caller)
#
# Principals: HTTP/collector.example.com and HOST/collector.example.com
# (DIR/collector.keytab), the "Windows hosts" WIN10$ and WIN11$ (random keys,
# pre-authentication required, DIR/win10.keytab and DIR/win11.keytab).
# DIR/env.sh exports KRB5_CONFIG, KRB5_KDC_PROFILE, KRB5CCNAME, KRB5_KTNAME,
# KRB5_CLIENT_KTNAME (WIN10$), KRB5RCACHEDIR and KDC_PORT.
#
# Everything stays off DNS (dns_canonicalize_hostname = false, rdns = false,
# explicit [domain_realm]) so clients can keep the name collector.example.com
# while connecting to 127.0.0.1; see docs kerberos-testing.md.
set -eu

REALM=EXAMPLE.COM

die() {
	echo "kdc.sh: $*" >&2
	exit 1
}

free_port() {
	# Below the ephemeral range (tests/free_port.py); the tiny race before
	# krb5kdc binds it is covered by the retry loop in start.
	/usr/bin/python3 "$(dirname "$0")/../free_port.py"
}

write_conf() {
	dir=$1 port=$2
	cat >"$dir/krb5.conf" <<EOF
[libdefaults]
	default_realm = $REALM
	dns_lookup_kdc = false
	dns_lookup_realm = false
	dns_canonicalize_hostname = false
	rdns = false
	udp_preference_limit = 1
	default_ccache_name = FILE:$dir/ccache

[realms]
	$REALM = {
		kdc = 127.0.0.1:$port
		admin_server = 127.0.0.1:$port
	}

[domain_realm]
	.example.com = $REALM
	example.com = $REALM
EOF
	cat >"$dir/kdc.conf" <<EOF
[kdcdefaults]
	kdc_listen = 127.0.0.1:$port
	kdc_tcp_listen = 127.0.0.1:$port

[realms]
	$REALM = {
		database_name = $dir/principal
		key_stash_file = $dir/stash
		acl_file = $dir/kadm5.acl
		kdc_listen = 127.0.0.1:$port
		kdc_tcp_listen = 127.0.0.1:$port
		max_life = 10h
		supported_enctypes = aes256-cts-hmac-sha1-96:normal aes128-cts-hmac-sha1-96:normal
	}

[logging]
	kdc = FILE:$dir/kdc.log
EOF
	: >"$dir/kadm5.acl"
}

write_env() {
	dir=$1 port=$2
	cat >"$dir/env.sh" <<EOF
export KRB5_CONFIG='$dir/krb5.conf'
export KRB5_KDC_PROFILE='$dir/kdc.conf'
export KRB5CCNAME='FILE:$dir/ccache'
export KRB5_KTNAME='FILE:$dir/collector.keytab'
export KRB5_CLIENT_KTNAME='FILE:$dir/win10.keytab'
export KRB5RCACHEDIR='$dir/rcache'
export KDC_PORT=$port
EOF
}

wait_port() {
	port=$1
	i=0
	while [ $i -lt 50 ]; do
		if /usr/bin/python3 -c "import socket,sys; s=socket.socket(); sys.exit(s.connect_ex(('127.0.0.1',$port)))"; then
			return 0
		fi
		sleep 0.1
		i=$((i + 1))
	done
	return 1
}

start() {
	dir=$1
	mkdir -p "$dir" "$dir/rcache"
	dir=$(cd "$dir" && pwd)
	export KRB5_CONFIG="$dir/krb5.conf" KRB5_KDC_PROFILE="$dir/kdc.conf"
	tries=0
	while :; do
		port=$(free_port)
		write_conf "$dir" "$port"
		if [ ! -f "$dir/principal" ]; then
			pw=$(head -c 24 /dev/urandom | base64)
			kdb5_util -r $REALM create -s -P "$pw" >"$dir/kdb5_util.log" 2>&1 ||
			    die "kdb5_util create failed: $(cat "$dir/kdb5_util.log")"
			for p in HTTP/collector.example.com HOST/collector.example.com; do
				kadmin.local -q "addprinc -randkey $p" >>"$dir/kadmin.log" 2>&1
			done
			for p in 'WIN10$' 'WIN11$'; do
				kadmin.local -q "addprinc -randkey +requires_preauth $p" \
				    >>"$dir/kadmin.log" 2>&1
			done
			kadmin.local -q "ktadd -k $dir/collector.keytab HTTP/collector.example.com HOST/collector.example.com" \
			    >>"$dir/kadmin.log" 2>&1
			kadmin.local -q "ktadd -k $dir/win10.keytab WIN10\$" >>"$dir/kadmin.log" 2>&1
			kadmin.local -q "ktadd -k $dir/win11.keytab WIN11\$" >>"$dir/kadmin.log" 2>&1
			[ -s "$dir/collector.keytab" ] && [ -s "$dir/win10.keytab" ] &&
			    [ -s "$dir/win11.keytab" ] ||
			    die "keytabs missing: $(cat "$dir/kadmin.log")"
		fi
		# -P: krb5kdc daemonises and writes its pid there.
		if krb5kdc -P "$dir/kdc.pid" >>"$dir/kdc.out" 2>&1 && wait_port "$port"; then
			break
		fi
		[ -f "$dir/kdc.pid" ] && kill "$(cat "$dir/kdc.pid")" 2>/dev/null || true
		tries=$((tries + 1))
		[ $tries -lt 5 ] || die "krb5kdc did not start: $(cat "$dir/kdc.out" "$dir/kdc.log" 2>/dev/null)"
	done
	write_env "$dir" "$port"
}

stop() {
	dir=$1
	[ -f "$dir/kdc.pid" ] || return 0
	pid=$(cat "$dir/kdc.pid")
	kill "$pid" 2>/dev/null || true
	i=0
	while kill -0 "$pid" 2>/dev/null && [ $i -lt 50 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	rm -f "$dir/kdc.pid"
}

[ $# -eq 2 ] || die "usage: kdc.sh start|stop DIR"
case $1 in
start) start "$2" ;;
stop) stop "$2" ;;
*) die "usage: kdc.sh start|stop DIR" ;;
esac
