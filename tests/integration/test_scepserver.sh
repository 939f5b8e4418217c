#!/bin/bash
# Against the real CA: Debian's scepserver (micromdm) on 127.0.0.1.
set -u
SRCDIR=${SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$SRCDIR/tests/lab/lib.sh"
. "$SRCDIR/tests/integration/assert.sh"
lab_test_init

port=18410 denyport=18411
umask 077
echo "s3cret-Challenge-42" >"$LAB/challenge"
lab_scepserver "$LAB/ca" $port -challenge "s3cret-Challenge-42" -allowrenew 0
printf '#!/bin/sh\ncat >/dev/null\nexit 1\n' >"$LAB/deny.sh"
chmod +x "$LAB/deny.sh"
lab_scepserver "$LAB/ca" $denyport -challenge "s3cret-Challenge-42" -allowrenew 0 -csrverifierexec "$LAB/deny.sh"
fp=$(lab_fingerprint "$LAB/ca/depot/ca.pem")
url=http://127.0.0.1:$port/scep

write_config "$LAB/ok.yaml" "$url" "ca_fingerprint: $fp" "challenge: {file: $LAB/challenge}"
probe "$LAB/ok.yaml"
expect "happy path" ok 1
check "happy path: Success" [ "$(field result)" = Success ]
expect_finding "happy path" scep_weak_cipher
expect_finding "happy path" scep_weak_digest
check "happy path: every step timed" jqtest '[.[0].steps[].name] == ["key","challenge","getcacaps","getcacert","request","pkioperation","verify","store"]'
check "issued certificate kept" [ -s "$LAB/state/txn/t/cert.pem" ]
check "its key is 0600" [ "$(stat -c %a "$LAB/state/txn/t/cert-key.pem")" = 600 ]
check "issued cert verifies against the CA" openssl verify -CAfile "$LAB/ca/depot/ca.pem" "$LAB/state/txn/t/cert.pem"
check "nothing of the transaction's at the top of state_dir" [ ! -e "$LAB/state/t" ]

# The probe's own disk fails (a file where the transaction's directory should be: root
# writes through a read-only mode): UNKNOWN probe_state_write, whatever the CA's findings.
rm -rf "$LAB/state/txn/t"
: >"$LAB/state/txn/t"
probe "$LAB/ok.yaml"
expect "state directory unwritable" probe_state_write 3
check "state directory unwritable: Failure, UNKNOWN (not the CA's WARNING)" [ "$(field result)/$(field state)" = Failure/UNKNOWN ]
check "state directory unwritable: the store step failed" [ "$(jq -r '.[0].steps[] | select(.name=="store") | .status' "$LAB/out.json")" = probe_state_write ]
rm -f "$LAB/state/txn/t"

# A name that is one of the daemon's own files lands in its own directory under txn/.
TXN_NAME=certprobed.state.json write_config "$LAB/clash.yaml" "$url" "challenge: {file: $LAB/challenge}"
probe "$LAB/clash.yaml"
expect "named like the state file" ok 1
check "named like the state file: not at the top" [ ! -e "$LAB/state/certprobed.state.json" ]
check "named like the state file: under txn/" [ -d "$LAB/state/txn/certprobed.state.json" ]

"$BIN/certprobe" run -v -c "$LAB/ok.yaml" >"$LAB/text.txt" 2>&1
check "text report has Test-Cs fields" grep -q '^Result      : Success' "$LAB/text.txt"
check "-v trace shows the wire" grep -q 'operation=GetCACaps' "$LAB/text.txt"
check "challenge never printed (-v)" sh -c "! grep -q 's3cret-Challenge-42' '$LAB/text.txt' '$LAB/out.json' '$LAB/err.txt'"

write_config "$LAB/get.yaml" "$url" "challenge: {file: $LAB/challenge}" "method: get"
probe "$LAB/get.yaml"
expect "PKIOperation by GET" ok 1
check "GET: method fact" [ "$(field details.method)" = GET ]
expect_finding "GET longer than IIS default" scep_get_too_long

write_config "$LAB/wrong.yaml" "$url" "challenge: {value: wrong}"
chmod 600 "$LAB/wrong.yaml"
probe "$LAB/wrong.yaml"
expect "wrong challenge" scep_failure_bad_request 2
check "wrong challenge: failInfo named" contains "$(field error_detail)" badRequest

write_config "$LAB/deny.yaml" "http://127.0.0.1:$denyport/scep" "challenge: {file: $LAB/challenge}"
probe "$LAB/deny.yaml"
expect "CSR rejected by -csrverifierexec" scep_failure_bad_request 2

write_config "$LAB/pin.yaml" "$url" "challenge: {file: $LAB/challenge}" \
	"ca_fingerprint: sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
probe "$LAB/pin.yaml"
expect "CA pin mismatch" scep_ca_pin_mismatch 2

write_config "$LAB/down.yaml" "http://127.0.0.1:18419/scep" "challenge: {file: $LAB/challenge}"
probe "$LAB/down.yaml"
expect "server down" tcp_refused 2

write_config "$LAB/renew.yaml" "$url" "challenge: {file: $LAB/challenge}" "renewal: true"
probe "$LAB/renew.yaml"
expect "renewal: first run enrolls" ok 1
# the old layout (STATE_DIR/NAME/) is moved on first use, and renewal finds the certificate
rm -rf "$LAB/state/t"
mv "$LAB/state/txn/t" "$LAB/state/t"
probe "$LAB/renew.yaml"
expect "renewal: second run renews" ok 1
check "renewal: RenewalReq sent" contains "$(step_detail request)" RenewalReq
check "old layout: moved under txn/" [ -d "$LAB/state/txn/t" ] && [ ! -e "$LAB/state/t" ]

write_config "$LAB/reuse.yaml" "$url" "challenge: {file: $LAB/challenge}" "key: {type: rsa, bits: 2048, reuse_runs: 3}"
rm -rf "$LAB/state/txn/t"
probe "$LAB/reuse.yaml"
expect "key reuse: run 1" ok 1
k1=$(field details.transaction_id)
probe "$LAB/reuse.yaml"
check "key reuse: run 2 reuses the key" [ "$(field details.transaction_id)" = "$k1" ]
probe "$LAB/reuse.yaml"
probe "$LAB/reuse.yaml"
check "key reuse: run 4 rotates the key" [ "$(field details.transaction_id)" != "$k1" ]

finish
