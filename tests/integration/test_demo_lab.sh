#!/bin/bash
# The demo lab (tests/lab/demo-lab once) on this test's ports, 127.0.0.1:19770-19779 and 19790-19797 (Kamailio's eight): its
# one-shot run shows the four transactions (SCEP enrollment and mutual-TLS logon against
# scepserver and Kamailio; the Lync pool's phone bootstrap and TLS-DSK logon against our
# CertProv and TLS-DSK doubles) with Result Success, and its printed "where to look"
# names the Lync pool.
set -u
SRCDIR=${SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$SRCDIR/tests/lab/lib.sh"
. "$SRCDIR/tests/integration/assert.sh"
lab_test_init

for t in certprov_double tlsdsk_registrar certprobe; do
	[ -x "$BIN/$t" ] || { echo "SKIP - $BIN/$t not built"; exit 77; }
done
for p in scepserver kamailio prometheus-alertmanager snmpd snmptrapd; do
	command -v $p >/dev/null || { echo "FAIL - $p is not installed (scripts/bootstrap installs it)"; exit 1; }
done

RC=0
LAB=$LAB/demo BIN=$BIN DEMO_SCEP_PORT=19770 DEMO_SIP_PORT=19790 DEMO_AM_PORT=19773 \
	DEMO_SNMP_PORT=19774 DEMO_TRAP_PORT=19775 DEMO_CERTPROV_PORT=19776 \
	DEMO_CERTPROV_ANON_PORT=19777 DEMO_TLSDSK_PORT=19778 DEMO_LISTEN=127.0.0.1:19779 \
	"$SRCDIR/tests/lab/demo-lab" once >"$LAB/demo.out" 2>&1 || RC=$?
sed 's/^/       | /' "$LAB/demo.out" | grep -E '^       \| (Name|Result|Error|demo-lab)' | head -30
check "demo-lab once exits 0 or 1 (OK or WARNING)" [ "$RC" -le 1 ]
for n in demo-enroll demo-logon lpe-alice lpe-alice-logon; do
	check "$n: Result Success" awk -v n="$n" '
		/^Transaction *: / { cur = $3 } /^Result *: / && cur == n && $3 == "Success" { ok = 1 } END { exit !ok }' "$LAB/demo.out"
done
check "four reports, all Success" [ "$(grep -c '^Result *: Success' "$LAB/demo.out")" = 4 ]
check "where to look: the Lync pool's CertProv" grep -q "Lync pool: CertProv double on https://127.0.0.1:19776" "$LAB/demo.out"
check "where to look: the Lync pool's TLS-DSK registrar" grep -q "Lync pool: TLS-DSK registrar on 127.0.0.1:19778" "$LAB/demo.out"
check "the PIN is not printed" sh -c "! grep -qF \"\$(cat '$LAB/demo/lync/alice.pin')\" '$LAB/demo.out'"
finish
