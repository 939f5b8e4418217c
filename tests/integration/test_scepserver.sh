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
check "issued certificate and key kept as one file" [ -s "$LAB/state/txn/t/identity.pem" ]
check "it is 0600" [ "$(stat -c %a "$LAB/state/txn/t/identity.pem")" = 600 ]
check "no separate certificate and key files" [ ! -e "$LAB/state/txn/t/cert.pem" ] && [ ! -e "$LAB/state/txn/t/cert-key.pem" ]
check "issued cert verifies against the CA" openssl verify -CAfile "$LAB/ca/depot/ca.pem" "$LAB/state/txn/t/identity.pem"
check "nothing of the transaction's at the top of state_dir" [ ! -e "$LAB/state/t" ]

# The certificate and key a client-auth `from:` reads must be one pair, whatever fails
# during a store. A file bind-mounted onto itself cannot be replaced by rename (EBUSY):
# pin the file that holds the key, enroll again, and the pair read back must still match.
pair_files() { # DIR: the certificate file and the key file of the pair in DIR
	if [ -e "$1/identity.pem" ]; then echo "$1/identity.pem $1/identity.pem"; else echo "$1/cert.pem $1/cert-key.pem"; fi
}
pair_matches() { # DIR
	local c k pub
	read -r c k <<<"$(pair_files "$1")"
	pub=$(openssl pkey -in "$k" -pubout 2>/dev/null)
	[ -n "$pub" ] && [ "$(openssl x509 -in "$c" -noout -pubkey 2>/dev/null)" = "$pub" ]
}
check "pair: certificate and key match" pair_matches "$LAB/state/txn/t"
if unshare -m true 2>/dev/null; then
	read -r _c key_file <<<"$(pair_files "$LAB/state/txn/t")"
	PROBED=1
	RC=0
	unshare -m sh -c 'mount --bind "$1" "$1" && exec "$2" run -j -c "$3"' sh "$key_file" \
		"$BIN/certprobe" "$LAB/ok.yaml" >"$LAB/out.json" 2>"$LAB/err.txt" || RC=$?
	OUT=$(cat "$LAB/out.json")
	ERR=$(cat "$LAB/err.txt")
	expect "pair: the key cannot be replaced" probe_state_write 3
	check "pair: still one pair after the failed store" pair_matches "$LAB/state/txn/t"
else
	echo "skip - pair: no mount namespace (unshare -m) here"
fi

# The probe's own disk fails (a file where the transaction's directory should be: root
# writes through a read-only mode): UNKNOWN probe_state_write, whatever the CA's findings.
rm -rf "$LAB/state/txn/t"
: >"$LAB/state/txn/t"
probe "$LAB/ok.yaml"
expect "state directory unwritable" probe_state_write 3
check "state directory unwritable: Failure, UNKNOWN (not the CA's WARNING)" [ "$(field result)/$(field state)" = Failure/UNKNOWN ]
check "state directory unwritable: the store step failed" [ "$(jq -r '.[0].steps[] | select(.name=="store") | .status' "$LAB/out.json")" = probe_state_write ]
rm -f "$LAB/state/txn/t"
# ... and a read-only state directory (a read-only bind mount stops root too)
if unshare -m true 2>/dev/null; then
	PROBED=1
	RC=0
	unshare -m sh -c 'mount --bind "$1" "$1" && mount -o remount,bind,ro "$1" && exec "$2" run -j -c "$3"' \
		sh "$LAB/state" "$BIN/certprobe" "$LAB/ok.yaml" >"$LAB/out.json" 2>"$LAB/err.txt" || RC=$?
	OUT=$(cat "$LAB/out.json")
	ERR=$(cat "$LAB/err.txt")
	expect "read-only state directory" probe_state_write 3
	check "read-only state directory: UNKNOWN, the CA's weak digest only a finding" \
		[ "$(field state)" = UNKNOWN ] && has_finding scep_weak_digest
	check "read-only state directory: the detail says why" contains "$(field error_detail)" "Read-only file system"
else
	echo "skip - read-only state directory: no mount namespace (unshare -m) here"
fi

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
# the old layout (STATE_DIR/NAME/ with cert.pem and cert-key.pem) is moved on first use,
# renewal finds the certificate in it, and the store leaves the one file
rm -rf "$LAB/state/t"
mv "$LAB/state/txn/t" "$LAB/state/t"
openssl x509 -in "$LAB/state/t/identity.pem" -out "$LAB/state/t/cert.pem"
openssl pkey -in "$LAB/state/t/identity.pem" -out "$LAB/state/t/cert-key.pem"
rm "$LAB/state/t/identity.pem"
probe "$LAB/renew.yaml"
expect "renewal: second run renews" ok 1
check "renewal: RenewalReq sent" contains "$(step_detail request)" RenewalReq
check "old layout: moved under txn/" [ -d "$LAB/state/txn/t" ] && [ ! -e "$LAB/state/t" ]
check "old layout: the pair is one file now" [ -s "$LAB/state/txn/t/identity.pem" ] && [ ! -e "$LAB/state/txn/t/cert.pem" ] && [ ! -e "$LAB/state/txn/t/cert-key.pem" ]

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
