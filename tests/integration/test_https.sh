#!/bin/bash
# SCEP behind HTTPS (socat TLS fronts over the real scepserver): the device-like
# trust store must accept a full chain and name precisely what is wrong otherwise.
set -u
SRCDIR=${SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$SRCDIR/tests/lab/lib.sh"
. "$SRCDIR/tests/integration/assert.sh"
lab_test_init

"$SRCDIR/tests/lab/mkcerts.sh" "$LAB/pki"
umask 077
echo secret >"$LAB/challenge"
lab_scepserver "$LAB/ca" 18420 -challenge secret -allowrenew 0
p=18421
for front in good nointer expired wrongname rogue; do
	lab_tls_front "$LAB/pki/$front.pem" $p 18420
	eval "port_$front=$p"
	p=$((p + 1))
done

run_front() { # name expected-status expected-exit
	local port
	eval "port=\$port_$1"
	write_config "$LAB/$1.yaml" "https://127.0.0.1:$port/scep" \
		"challenge: {file: $LAB/challenge}" "trust_store: $LAB/pki/root.pem"
	probe "$LAB/$1.yaml"
	expect "https $1" "$2" "$3"
}
run_front good ok 1
check "https good: TLS time measured" contains "$(step_detail getcacaps)" "tls "
run_front nointer tls_chain_incomplete 2
run_front expired tls_cert_expired 2
run_front wrongname tls_name_mismatch 2
run_front rogue tls_self_signed 2

finish
