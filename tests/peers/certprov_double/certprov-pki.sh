#!/bin/bash
# certprov-pki.sh DIR [OCS_DIR]: the throw-away PKI of the CertProv + Web Ticket double
# (README.md "Throw-away PKI"). RSA-2048, openssl CLI; files that exist are kept.
#
#   root.crt                     "CertProv Test Root CA": the root the phone ships with
#   issuing.crt/.key             "CertProv Test Issuing CA" (issued by the root)
#   chain.pem                    issuing.crt + root.crt: the root chain the double serves
#   server.key                   the key of every server certificate
#   server-chain.pem             CN=pool1.example.com, SAN pool1.example.com, localhost,
#                                127.0.0.1 + issuing CA
#   server-leaf.pem              that leaf alone (leaf-only chain)
#   server-expired-chain.pem     the same names, valid 2020-01-01..2020-02-01 + issuing CA
#   server-notyet-chain.pem      the same names, valid 2035-01-01..2036-01-01 + issuing CA
#   server-wrongname-chain.pem   CN/SAN wrong.example.net + issuing CA
#   ocs-ca.crt/.key              "OCS Signing CA" (copied from OCS_DIR when given)
# Prints nothing; exits non-zero on failure.
set -euo pipefail
[ $# -ge 1 ] || { echo "usage: $0 DIR [OCS_DIR]" >&2; exit 2; }
D=$1 OCS=${2:-}
mkdir -p "$D/.db"
umask 077
cd "$D"
ossl() { openssl "$@" 2>/dev/null; }
if [ ! -f root.crt ]; then
	ossl req -x509 -newkey rsa:2048 -nodes -keyout root.key -out root.crt -days 3650 \
		-subj "/CN=CertProv Test Root CA" -addext "basicConstraints=critical,CA:true" \
		-addext "keyUsage=critical,keyCertSign,cRLSign"
fi
if [ ! -f issuing.crt ]; then
	ossl req -newkey rsa:2048 -nodes -keyout issuing.key -out issuing.csr \
		-subj "/CN=CertProv Test Issuing CA"
	ossl x509 -req -in issuing.csr -CA root.crt -CAkey root.key -CAcreateserial -days 3650 \
		-out issuing.crt -extfile <(printf '%s\n' "basicConstraints=critical,CA:true,pathlen:0" \
		"keyUsage=critical,keyCertSign,cRLSign" "subjectKeyIdentifier=hash" \
		"authorityKeyIdentifier=keyid")
	rm -f issuing.csr
fi
cat issuing.crt root.crt >chain.pem
[ -f server.key ] || ossl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out server.key
# leaf NAME CN SAN [x509 validity flags...]
leaf() {
	local out=$1 cn=$2 san=$3
	shift 3
	[ -f "$out" ] && return 0
	ossl req -new -key server.key -subj "/CN=$cn" -out "$out.csr"
	ossl x509 -req -in "$out.csr" -CA issuing.crt -CAkey issuing.key -CAcreateserial "$@" \
		-out "$out" -extfile <(printf '%s\n' "subjectAltName=$san" \
		"extendedKeyUsage=serverAuth" "basicConstraints=critical,CA:false" \
		"keyUsage=critical,digitalSignature,keyEncipherment" "authorityKeyIdentifier=keyid")
	rm -f "$out.csr"
}
names="DNS:pool1.example.com,DNS:localhost,IP:127.0.0.1"
leaf server-leaf.pem pool1.example.com "$names" -days 365
cat server-leaf.pem issuing.crt >server-chain.pem
# dated NAME START END: a pool1 leaf with those dates (openssl x509 -req has no start date)
dated() {
	[ -f "$1" ] && return 0
	[ -f .db/index.txt ] || : >.db/index.txt
	[ -f .db/serial ] || echo 3000 >.db/serial
	cat >ca.cnf <<CNF
[ ca ]
default_ca = c
[ c ]
dir = $D/.db
database = \$dir/index.txt
serial = \$dir/serial
new_certs_dir = \$dir
default_md = sha256
policy = any
unique_subject = no
email_in_dn = no
copy_extensions = none
[ any ]
commonName = supplied
[ srv ]
subjectAltName = $names
extendedKeyUsage = serverAuth
basicConstraints = critical, CA:false
keyUsage = critical, digitalSignature, keyEncipherment
CNF
	ossl req -new -key server.key -subj "/CN=pool1.example.com" -out dated.csr
	ossl ca -batch -config ca.cnf -extensions srv -cert issuing.crt -keyfile issuing.key \
		-startdate "$2" -enddate "$3" -in dated.csr -out dated.full -notext
	ossl x509 -in dated.full -out "$1"
	rm -f dated.csr dated.full
}
dated server-expired.pem 20200101000000Z 20200201000000Z
dated server-notyet.pem 20350101000000Z 20360101000000Z
cat server-notyet.pem issuing.crt >server-notyet-chain.pem
cat server-expired.pem issuing.crt >server-expired-chain.pem
leaf server-wrongname.pem wrong.example.net "DNS:wrong.example.net" -days 365
cat server-wrongname.pem issuing.crt >server-wrongname-chain.pem
if [ -n "$OCS" ]; then
	cp "$OCS/ocs-ca.crt" "$OCS/ocs-ca.key" .
elif [ ! -f ocs-ca.crt ]; then
	ossl req -x509 -newkey rsa:2048 -nodes -keyout ocs-ca.key -out ocs-ca.crt -days 3650 \
		-subj "/CN=OCS Signing CA" -addext "basicConstraints=critical,CA:true" \
		-addext "keyUsage=critical,keyCertSign,cRLSign,digitalSignature"
fi
