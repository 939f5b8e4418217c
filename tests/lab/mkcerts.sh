#!/bin/sh
# mkcerts.sh DIR: a small web PKI for TLS trust tests, made with the openssl CLI.
#   root.pem                       device trust store (the root devices ship with)
#   good.pem        leaf+intermediate+key, SAN IP:127.0.0.1   (full chain sent)
#   nointer.pem     leaf+key only                              (missing intermediate)
#   expired.pem     expired leaf+intermediate+key
#   wrongname.pem   leaf for wrong.example +intermediate+key
#   rogue.pem       self-signed leaf from a root devices do not trust
set -eu
d=$1
mkdir -p "$d"
cd "$d"
[ -f good.pem ] && exit 0
cat >ca.cnf <<'CNF'
[ca]
default_ca = ca_default
[ca_default]
database = index.txt
new_certs_dir = .
serial = serial
default_md = sha256
policy = policy_any
copy_extensions = copy
unique_subject = no
[policy_any]
commonName = supplied
[v3_ca]
basicConstraints = critical,CA:true
keyUsage = critical,keyCertSign,cRLSign
[v3_leaf]
basicConstraints = CA:false
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = serverAuth
CNF
: >index.txt
echo 1000 >serial
q="-batch -config ca.cnf -notext"
openssl req -x509 -newkey rsa:2048 -nodes -keyout root.key -out root.pem -days 30 \
	-subj /CN=certprobe-test-root -addext basicConstraints=critical,CA:true \
	-addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null
openssl req -newkey rsa:2048 -nodes -keyout inter.key -out inter.csr -subj /CN=certprobe-test-intermediate 2>/dev/null
openssl ca $q -cert root.pem -keyfile root.key -in inter.csr -out inter.pem -days 30 -extensions v3_ca 2>/dev/null
leaf() { # name san [ca-args]
	n=$1 san=$2
	shift 2
	openssl req -newkey rsa:2048 -nodes -keyout "$n.key" -out "$n.csr" -subj "/CN=$n" \
		-addext "subjectAltName=$san" 2>/dev/null
	openssl ca $q -cert inter.pem -keyfile inter.key -in "$n.csr" -out "$n.crt" -extensions v3_leaf "$@" 2>/dev/null
}
leaf good IP:127.0.0.1 -days 30
leaf expired IP:127.0.0.1 -startdate 20200101000000Z -enddate 20200201000000Z
leaf wrongname DNS:wrong.example -days 30
cat good.crt inter.pem good.key >good.pem
cat good.crt good.key >nointer.pem
cat expired.crt inter.pem expired.key >expired.pem
cat wrongname.crt inter.pem wrongname.key >wrongname.pem
openssl req -x509 -newkey rsa:2048 -nodes -keyout rogue.key -out rogue.crt -days 30 \
	-subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 2>/dev/null
cat rogue.crt rogue.key >rogue.pem
