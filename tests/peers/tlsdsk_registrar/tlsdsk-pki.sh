#!/bin/bash
# tlsdsk-pki.sh DIR RIG_PKI USER@HOST...: the throw-away PKI of the TLS-DSK registrar double.
# RIG_PKI is a tests/lab/sip-pki.sh directory (its "Rig Issuing CA" signs the registrar's
# certificate, so the probe's trust.pem there verifies it). RSA keys throughout: the
# tunnelled TLS 1.0 handshake uses RSA key exchange (AES128-SHA / AES256-SHA).
#
#   registrar.key, registrar-chain.crt  CN fe1.pool1.example.com, SAN DNS:registrar.rig.test,
#                                       DNS:localhost, IP:127.0.0.1 (+ Rig Issuing CA)
#   ocs-ca.crt/.key                     "OCS Signing CA": what CertProv issues user certificates
#                                       with, the registrar's --ca
#   rogue-ocs-ca.crt/.key               "Rogue OCS CA", trusted by nobody
#   user.key                            one RSA key for every user certificate
#   users/U.pem                         CN=U (e.g. alice@example.com), clientAuth, issued by
#                                       the OCS CA; U.expired.pem valid 2020-01-01..2020-02-01;
#                                       U.rogue.pem issued by the rogue CA
# Prints nothing; exits non-zero on failure.
set -euo pipefail
[ $# -ge 2 ] || { echo "usage: $0 DIR RIG_PKI USER@HOST..." >&2; exit 2; }
D=$1 RIG=$2
shift 2
mkdir -p "$D/users" "$D/.db"
umask 077
cd "$D"
: >.db/index.txt
echo 2000 >.db/serial
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
[ any ]
commonName = supplied
[ user ]
basicConstraints = critical, CA:false
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = clientAuth
CNF
ossl() { openssl "$@" 2>/dev/null; }
[ -f user.key ] || ossl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out user.key
if [ ! -f ocs-ca.crt ]; then
	for ca in ocs-ca:"OCS Signing CA" rogue-ocs-ca:"Rogue OCS CA"; do
		ossl req -x509 -newkey rsa:2048 -nodes -keyout "${ca%%:*}.key" -out "${ca%%:*}.crt" \
			-days 30 -subj "/CN=${ca#*:}" -addext "basicConstraints=critical,CA:true" \
			-addext "keyUsage=critical,keyCertSign,cRLSign"
	done
fi
if [ ! -f registrar-chain.crt ]; then
	ossl req -newkey rsa:2048 -nodes -keyout registrar.key -out registrar.csr \
		-subj "/CN=fe1.pool1.example.com"
	ossl x509 -req -in registrar.csr -CA "$RIG/inter.crt" -CAkey "$RIG/inter.key" \
		-CAcreateserial -days 30 -out registrar.crt -extfile <(printf '%s\n' \
		"subjectAltName=DNS:registrar.rig.test,DNS:localhost,IP:127.0.0.1" \
		"extendedKeyUsage=serverAuth" "basicConstraints=critical,CA:false")
	cat registrar.crt "$RIG/inter.crt" >registrar-chain.crt
fi
for u in "$@"; do
	[ -f "users/$u.pem" ] && continue
	ossl req -new -key user.key -subj "/CN=$u" -out "users/$u.csr"
	ossl ca -batch -config ca.cnf -extensions user -cert ocs-ca.crt -keyfile ocs-ca.key \
		-days 7 -in "users/$u.csr" -out "users/$u.full" -notext
	ossl x509 -in "users/$u.full" -out "users/$u.pem"
	ossl ca -batch -config ca.cnf -extensions user -cert ocs-ca.crt -keyfile ocs-ca.key \
		-startdate 20200101000000Z -enddate 20200201000000Z -in "users/$u.csr" \
		-out "users/$u.expired.full" -notext
	ossl x509 -in "users/$u.expired.full" -out "users/$u.expired.pem"
	ossl ca -batch -config ca.cnf -extensions user -cert rogue-ocs-ca.crt -keyfile rogue-ocs-ca.key \
		-days 7 -in "users/$u.csr" -out "users/$u.rogue.full" -notext
	ossl x509 -in "users/$u.rogue.full" -out "users/$u.rogue.pem"
	rm -f "users/$u.csr" "users/$u".*full "users/$u.full"
done
