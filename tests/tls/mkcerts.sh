#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
#
# mkcerts.sh DIR: a throw-away PKI for the mutual-TLS tests, made with the
# openssl command line (P-256 keys, quick to generate).
#
#   ca.pem/.key        "Test Root CA"            (trusted by the collector)
#   inter.pem/.key     "Test Issuing CA"         (signed by ca)
#   ca2.pem/.key       "Other CA"                (not trusted)
#   server.pem/.key    CN=collector.example.com  serverAuth, SAN, by ca
#   win10.pem/.key     CN=win10.example.com      clientAuth, by ca
#   win11.pem/.key     CN=win11.example.com      clientAuth, by inter
#   expired.pem/.key   CN=win10.example.com      clientAuth, by ca, 2020
#   other.pem/.key     CN=win10.example.com      clientAuth, by ca2
#   serveronly.pem/.key CN=win10.example.com     serverAuth only, by ca
#   *.der              DER copies of the client certificates
set -eu

[ $# -eq 1 ] || { echo "usage: mkcerts.sh DIR" >&2; exit 1; }
mkdir -p "$1"
cd "$1"

newkey() {
	openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1.key" 2>/dev/null
}

mkca() { # name subject
	newkey "$1"
	openssl req -x509 -new -key "$1.key" -out "$1.pem" -subj "$2" -days 2 \
	    -addext basicConstraints=critical,CA:TRUE \
	    -addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null
}

cat >ext.cnf <<'EOF'
[client]
basicConstraints = CA:FALSE
extendedKeyUsage = clientAuth
[server]
basicConstraints = CA:FALSE
extendedKeyUsage = serverAuth
subjectAltName = DNS:collector.example.com
[inter]
basicConstraints = critical,CA:TRUE,pathlen:0
keyUsage = critical,keyCertSign,cRLSign
[ca]
default_ca = ca_default
[ca_default]
database = index.txt
new_certs_dir = .
serial = serial
default_md = sha256
policy = policy_any
[policy_any]
commonName = supplied
EOF

sign() { # name subject issuer extsection [days]
	newkey "$1"
	openssl req -new -key "$1.key" -out "$1.csr" -subj "$2" 2>/dev/null
	openssl x509 -req -in "$1.csr" -CA "$3.pem" -CAkey "$3.key" \
	    -CAcreateserial -out "$1.pem" -days "${5:-2}" -sha256 \
	    -extfile ext.cnf -extensions "$4" 2>/dev/null
}

mkca ca "/CN=Test Root CA"
mkca ca2 "/CN=Other CA"
sign inter "/CN=Test Issuing CA" ca inter
sign server "/CN=collector.example.com" ca server
sign win10 "/CN=win10.example.com" ca client
sign win11 "/CN=win11.example.com" inter client
sign other "/CN=win10.example.com" ca2 client
sign serveronly "/CN=win10.example.com" ca server

# x509 -req cannot back-date; "openssl ca" can.
newkey expired
openssl req -new -key expired.key -out expired.csr -subj "/CN=win10.example.com" 2>/dev/null
: >index.txt
echo 1000 >serial
openssl ca -batch -config ext.cnf -cert ca.pem -keyfile ca.key -in expired.csr \
    -out expired.pem -startdate 20200101000000Z -enddate 20200102000000Z \
    -extfile ext.cnf -extensions client -notext 2>/dev/null

for c in win10 win11 other serveronly expired inter; do
	openssl x509 -in "$c.pem" -outform DER -out "$c.der"
done
