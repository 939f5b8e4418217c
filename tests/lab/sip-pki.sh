#!/bin/bash
# sip-pki.sh DIR: throw-away PKI for the SIP registrar lab (tests/lab/sip-lab.sh).
# EC P-256 keys, openssl CLI only; runs in ~0.3 s. Idempotent: does nothing if DIR/ca.crt
# exists (ca.crt is written last, so a half-made DIR is rebuilt from scratch).
#
#   ca.crt/.key            "Rig Root CA" (self-signed)
#   inter.crt/.key         "Rig Issuing CA" (signed by root; CA:true, pathlen 0)
#   trust.pem              = ca.crt: the device trust store for the server side
#   client-cas.pem         = ca.crt + inter.crt: a ca_list for Kamailio (add other CAs to it)
# Server certificates (issued by inter, EKU serverAuth; X-chain.crt = X.crt + inter.crt):
#   server.crt/.key        CN registrar.rig.test, SAN DNS:registrar.rig.test, DNS:localhost,
#                          IP:127.0.0.1
#   wrongname.crt/.key     CN other.rig.test, SAN DNS:other.rig.test only
#   server-expired.crt/.key  as server, valid 2020-01-01 .. 2020-02-01
#   rogue-ca.crt/.key      "Rogue CA" (self-signed, trusted by nobody)
#   rogue-server.crt/.key  server names as server.crt, signed by the rogue CA
#   rogue-server-chain.crt rogue-server.crt + rogue-ca.crt (a full chain to an untrusted root)
# Client certificates (EKU clientAuth, CN=<user>, SAN URI sip:<user>@rig.test).
# X.crt = leaf + issuing CA (a client presents the full chain), X.leaf.crt = leaf only:
#   alice, bob             issued by inter
#   alice-expired          same key as alice, valid 2020-01-01 .. 2020-02-01, issued by inter
#   carol                  issued by inter, CN=carol but SAN URI sip:dave@rig.test (mismatch)
#   nosan                  issued by inter, CN=nosan, no SAN at all (like a SCEP-issued cert)
#   mallory                CN=alice, SAN sip:alice@rig.test, signed by the rogue CA
#                          (mallory.crt = leaf only: the rogue CA is a root)
# Keys are 0600.
set -euo pipefail
[ $# -eq 1 ] || { echo "usage: $0 DIR" >&2; exit 2; }
D=$1
mkdir -p "$D"
# made once per directory; a directory from an older version (a file missing) is remade
[ -f "$D/ca.crt" ] && [ -f "$D/rogue-server-chain.crt" ] && [ -f "$D/client-cas.pem" ] && exit 0
D=$(cd "$D" && pwd)
W=$D/.build
rm -rf "$W"
mkdir -p "$W/db"
cd "$W"
umask 077
: >db/index.txt
echo 1000 >db/serial

cat >ca.cnf <<CNF
[ req ]
distinguished_name = dn
[ dn ]
[ ca ]
default_ca = rig_ca
[ rig_ca ]
dir             = $W/db
database        = \$dir/index.txt
serial          = \$dir/serial
new_certs_dir   = \$dir
default_md      = sha256
policy          = any
unique_subject  = no
copy_extensions = none
email_in_dn     = no
[ any ]
commonName      = supplied
[ v3_root ]
basicConstraints       = critical, CA:true
keyUsage               = critical, keyCertSign, cRLSign
subjectKeyIdentifier   = hash
[ v3_inter ]
basicConstraints       = critical, CA:true, pathlen:0
keyUsage               = critical, keyCertSign, cRLSign
subjectKeyIdentifier   = hash
authorityKeyIdentifier = keyid
[ v3_server ]
basicConstraints       = critical, CA:false
keyUsage               = critical, digitalSignature
extendedKeyUsage       = serverAuth
subjectAltName         = DNS:registrar.rig.test, DNS:localhost, IP:127.0.0.1
subjectKeyIdentifier   = hash
authorityKeyIdentifier = keyid
[ v3_wrongname ]
basicConstraints       = critical, CA:false
keyUsage               = critical, digitalSignature
extendedKeyUsage       = serverAuth
subjectAltName         = DNS:other.rig.test
subjectKeyIdentifier   = hash
authorityKeyIdentifier = keyid
[ v3_client ]
basicConstraints       = critical, CA:false
keyUsage               = critical, digitalSignature
extendedKeyUsage       = clientAuth
subjectAltName         = URI:sip:\${ENV::SIPUSER}@rig.test
subjectKeyIdentifier   = hash
authorityKeyIdentifier = keyid
[ v3_client_nosan ]
basicConstraints       = critical, CA:false
keyUsage               = critical, digitalSignature
extendedKeyUsage       = clientAuth
subjectKeyIdentifier   = hash
authorityKeyIdentifier = keyid
CNF
export SIPUSER=none

key() { [ -f "$1.key" ] || openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1.key" 2>/dev/null; }
# root NAME CN: self-signed CA
root() {
	key "$1"
	openssl req -new -x509 -key "$1.key" -out "$1.crt" -days 3650 -subj "/CN=$2" \
		-config ca.cnf -extensions v3_root 2>/dev/null
}
# issue NAME CN EXT CA [openssl ca args...]: a certificate signed by CA (CA.crt/CA.key)
issue() {
	local n=$1 cn=$2 ext=$3 ca=$4
	shift 4
	key "$n"
	openssl req -new -key "$n.key" -subj "/CN=$cn" -out "$n.csr" -config ca.cnf 2>/dev/null
	openssl ca -batch -config ca.cnf -cert "$ca.crt" -keyfile "$ca.key" -extensions "$ext" \
		-in "$n.csr" -out "$n.crt" -notext "$@" 2>ca.err || { cat ca.err >&2; return 1; }
}
past=(-startdate 20200101000000Z -enddate 20200201000000Z)
# valid certificates start a day back (no "not yet valid" surprises from clock steps)
yday=$(date -u -d "-1 day" +%Y%m%d%H%M%SZ)

root ca "Rig Root CA"
issue inter "Rig Issuing CA" v3_inter ca -startdate "$yday" -days 3650
root rogue-ca "Rogue CA"
issue server registrar.rig.test v3_server inter -startdate "$yday" -days 825
issue wrongname other.rig.test v3_wrongname inter -startdate "$yday" -days 825
cp server.key server-expired.key
issue server-expired registrar.rig.test v3_server inter "${past[@]}"
issue rogue-server registrar.rig.test v3_server rogue-ca -startdate "$yday" -days 825
SIPUSER=alice issue alice alice v3_client inter -startdate "$yday" -days 825
SIPUSER=bob issue bob bob v3_client inter -startdate "$yday" -days 825
cp alice.key alice-expired.key
SIPUSER=alice issue alice-expired alice v3_client inter "${past[@]}"
SIPUSER=dave issue carol carol v3_client inter -startdate "$yday" -days 825
issue nosan nosan v3_client_nosan inter -startdate "$yday" -days 825
SIPUSER=alice issue mallory alice v3_client rogue-ca -startdate "$yday" -days 825

for s in server wrongname server-expired; do cat $s.crt inter.crt >$s-chain.crt; done
# a server that sends its whole chain, ending in a root nobody trusts
cat rogue-server.crt rogue-ca.crt >rogue-server-chain.crt
for c in alice bob alice-expired carol nosan; do
	cp $c.crt $c.leaf.crt
	cat $c.leaf.crt inter.crt >$c.crt
done
cp mallory.crt mallory.leaf.crt
cp ca.crt trust.pem
cat ca.crt inter.crt >client-cas.pem

# sanity: the good leaves verify, the bad ones do not
openssl verify -CAfile ca.crt -untrusted inter.crt server.crt wrongname.crt alice.leaf.crt >/dev/null
chmod 600 ./*.key
chmod 644 ./*.crt ./*.pem
mv ./*.key ./*.pem "$D/"
for f in *.crt; do [ "$f" = ca.crt ] || mv "$f" "$D/"; done
mv ca.crt "$D/ca.crt"
cd "$D"
rm -rf "$W"
