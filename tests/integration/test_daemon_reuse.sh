#!/bin/bash
# certprobed keeps an enrollment's state in memory (issue 11) against real peers on
# 127.0.0.1:19830, 19840-19848: scepserver (the CA) and Kamailio with TLS trusting it. An
# enrollment with a reused key (reuse_runs 3) and a logon with its certificate
# (certificate.from) run every second. The key is written once per key and reused from
# memory; ca.pem is written once; the key rotates after three runs and the logon then
# presents a certificate for the new key; after a kill -9 the restarted daemon goes on
# with the key and run count the directory holds.
set -u
SRCDIR=${SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$SRCDIR/tests/lab/lib.sh"
. "$SRCDIR/tests/lab/sip-lab.sh"
. "$SRCDIR/tests/integration/assert.sh"
lab_test_init

SCEP=19830 KAM=19840 DPORT=19848 # Kamailio takes KAM..KAM+7
metric() { curl -s "http://127.0.0.1:$DPORT/metrics" | grep -E "^$1" | head -1 | awk '{print $NF}'; }
metric_gt() { test "$(metric "$1")" -gt "$2"; }
runs() { metric "certprobe_transaction_runs_total\\{transaction=\"$1\".*result=\"$2\""; }

umask 077
openssl rand -hex 12 >"$LAB/challenge"
lab_scepserver "$LAB/ca" $SCEP -challenge "$(cat "$LAB/challenge")" -allowrenew 0 -crtvalid 365 || exit 1
sip_lab_pki "$LAB/pki" >/dev/null || exit 1
cat "$LAB/pki/client-cas.pem" "$LAB/ca/depot/ca.pem" >"$LAB/client-cas.pem"
sip_lab_kamailio "$LAB/kam" $KAM "$LAB/client-cas.pem" || exit 1

cat >"$LAB/certprobe.yaml" <<YAML
probe:
  state_dir: $LAB/state
  listen: 127.0.0.1:$DPORT
defaults:
  interval: 1s
  timeout: 5s
transactions:
  - name: enroll
    type: enrollment
    protocol: scep
    url: http://127.0.0.1:$SCEP/scep
    challenge: {file: $LAB/challenge}
    subject: CN=certprobe-reuse,O=Example
    key: {type: rsa, bits: 2048, reuse_runs: 3}
  - name: logon
    type: client-auth
    registrar: {host: 127.0.0.1, port: $KAM, tls_name: registrar.rig.test}
    sip_uri: sip:certprobe-reuse@rig.test
    certificate: {from: enroll}
    trust_store: $LAB/pki/trust.pem
YAML
D=$LAB/state/txn/enroll
DPID=
daemon_start() {
	"$BIN/certprobed" -c "$LAB/certprobe.yaml" >>"$LAB/daemon.log" 2>&1 &
	DPID=$!
	LAB_PIDS="$LAB_PIDS $DPID"
	until_true 10 curl -fs "http://127.0.0.1:$DPORT/-/healthy"
}
key_runs() { cat "$D/key-runs" 2>/dev/null; }
key_runs_is() { [ "$(key_runs)" = "$1" ]; }
stamp() { stat -c '%i %Y.%y' "$1"; } # inode and mtime: a rewrite through rename changes both
pub() { openssl pkey -in "$1" -pubout 2>/dev/null | sha256sum | cut -d' ' -f1; }
# the public key of the certificate the logon presented last (its serial in the report,
# the certificate in scepserver's depot as CN.SERIAL.pem)
logon_pub() {
	local hex dec
	hex=$("$BIN/certprobe" status -s "$LAB/state" logon 2>/dev/null |
		sed -n 's/.*client_serial[^0-9A-Fa-f]*\([0-9A-Fa-f]*\).*/\1/p' | head -1)
	[ -n "$hex" ] || return 1
	dec=$(printf '%d' "0x$hex")
	openssl x509 -in "$LAB/ca/depot/certprobe-reuse.$dec.pem" -pubkey -noout 2>/dev/null |
		sha256sum | cut -d' ' -f1
}
logon_uses_key() { [ "$(logon_pub)" = "$(pub "$D/key.pem")" ]; }

daemon_start || { echo "FAIL - certprobed did not start"; cat "$LAB/daemon.log"; exit 1; }
check "the first enrollment stores its key (run 1)" until_true 20 key_runs_is 1
k1=$(pub "$D/key.pem") key_stamp=$(stamp "$D/key.pem") ca_stamp=$(stamp "$D/ca.pem")
check "run 2 reuses the key" until_true 5 key_runs_is 2
check "... without rewriting key.pem" [ "$(stamp "$D/key.pem")" = "$key_stamp" ]
check "... or ca.pem (the same GetCACert bytes)" [ "$(stamp "$D/ca.pem")" = "$ca_stamp" ]
check "identity.pem holds the reused key" [ "$(pub "$D/identity.pem")" = "$k1" ]
check "the logon succeeds with the enrolled certificate" until_true 10 metric_gt \
	'certprobe_transaction_success\{transaction="logon"' 0
check "run 4 rotates the key (reuse_runs 3)" until_true 10 key_runs_is 1
k2=$(pub "$D/key.pem")
check "... to a new one" test -n "$k2" -a "$k2" != "$k1"
check "the logon presents a certificate for the new key" until_true 10 logon_uses_key
check "ca.pem is still the first one written" [ "$(stamp "$D/ca.pem")" = "$ca_stamp" ]

# kill -9 between runs: the restarted daemon reads key.pem and key-runs once, and goes on
until_true 5 key_runs_is 2
kill -9 "$DPID"
wait "$DPID" 2>/dev/null
k_now=$(pub "$D/key.pem") n_now=$(key_runs)
daemon_start || { echo "FAIL - certprobed did not restart"; exit 1; }
if [ "$n_now" -lt 3 ]; then
	check "after kill -9 the key of the directory is reused" until_true 10 key_runs_is $((n_now + 1))
	check "... the same key" [ "$(pub "$D/key.pem")" = "$k_now" ]
else # the kill came after the key's last run: the restart rotates it
	check "after kill -9 the spent key of the directory is rotated" until_true 10 key_runs_is 1
	check "... to a new one" [ "$(pub "$D/key.pem")" != "$k_now" ]
fi
check "the enrollment keeps succeeding after the restart" until_true 10 metric_gt \
	'certprobe_transaction_runs_total\{transaction="enroll".*result="warning"' 0
none_failed() { [ "$(runs enroll critical)" = 0 ] && [ "$(runs enroll unknown)" = 0 ]; }
check "no enrollment failed" none_failed
no_write_failure() { ! grep -q 'probe_state_write' "$LAB/daemon.log"; }
check "no state write failed" no_write_failure
finish
