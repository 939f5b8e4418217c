#!/bin/bash
# What scepserver cannot do, against our fault-injecting SCEP responder
# (tests/peers/scep_faultd.c, modes per URL path): PENDING/CertPoll, every failInfo,
# bad nonce/transactionID/messageType, unsigned/garbage/truncated/oversized replies,
# HTTP errors, stalls past the deadline, missing caps, NDES-like RA split, EC keys,
# the NDES one-time password page. Every case asserts the exact status.
set -u
SRCDIR=${SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$SRCDIR/tests/lab/lib.sh"
. "$SRCDIR/tests/integration/assert.sh"
lab_test_init

port=18440
export CH=faultd-challenge-7
lab_faultd "$LAB/pki" $port -c "$CH"
base=http://127.0.0.1:$port
fp=$(cat "$LAB/pki/ca.sha256")
stats() { curl -s "$base/stats" | jq -r ".$1"; }
TIMEOUT=3s

# mode CASE-NAME MODE STATUS EXIT [extra yaml...]: fresh state per case
mode() {
	local name=$1 m=$2 st=$3 rc=$4
	shift 4
	rm -rf "$LAB/state"
	write_config "$LAB/$name.yaml" "$base/$m/scep" "challenge: {env: CH}" "${PIN-ca_fingerprint: $fp}" "$@"
	probe "$LAB/$name.yaml"
	expect "$name" "$st" "$rc"
}

mode success success ok 0
check "success: POST with AES-128 and SHA-256" [ "$(stats last_method)/$(stats last_cipher)/$(stats last_digest)" = "POST/aes-128-cbc/sha256" ]
check "success: one recipient" [ "$(stats last_recipients)" = 1 ]
check "success: challenge delivered" [ "$(stats last_challenge_ok)" = true ]
mode ec-p256 success ok 0 "key: {type: ec, curve: P-256}"
mode expiry-threshold success ok 1 "warn: {expiry_days: 400}"
expect_finding expiry-threshold scep_issued_expiring
check "expiry-threshold: names the threshold" contains "$OUT" "warn.expiry_days 400"
mode latency-threshold success ok 1 "warn: {latency: 1ms}"
expect_finding latency-threshold step_slow
check "latency-threshold: names a step and its threshold" contains "$OUT" "(warn above 1 ms)"
mode rsa-3072 success ok 0 "key: {type: rsa, bits: 3072}"
mode ra-split ra ok 0
check "ra-split: encrypted to the RA encryption cert only" [ "$(stats last_recipients)" = 1 ]
check "ra-split: both RA certificates named" contains "$(field details.ra)" "ra-enc"
mode ra-split-ec ra ok 0 "key: {type: ec, curve: P-256}"
mode des des ok 1
expect_finding des scep_weak_cipher
mode nocaps nocaps ok 1
expect_finding nocaps scep_caps_missing
check "nocaps: legacy 3DES/SHA-1, never DES" [ "$(stats last_cipher)/$(stats last_digest)" = "des-ede3-cbc/sha1" ]
mode getonly getonly ok 1
check "getonly: sent by GET" [ "$(stats last_method)" = GET ]
check "getonly: '+' never left raw in the query" [ "$(stats last_query_raw_plus)" = false ]
mode iis iis http_query_too_long 2
mode pending pending-2 ok 1
expect_finding pending scep_pending
check "pending: CertPoll used" [ "$(field details.polls)" = 2 ]
mode pending-forever pending-forever scep_pending_timeout 2 "pending: {poll_interval: 200ms, max_wait: 1s}"
for k in 0:bad_alg 1:bad_message_check 2:bad_request 3:bad_time 4:bad_cert_id 7:other 25:other; do
	mode "fail-${k%%:*}" "fail-${k%%:*}" "scep_failure_${k#*:}" 2
	check "fail-${k%%:*}: failInfo kept in the detail" contains "$(field error_detail)" "failInfo ${k%%:*}"
done
mode badnonce badnonce scep_recipient_nonce_mismatch 2
mode nononce nononce scep_recipient_nonce_mismatch 2
mode badtid badtid scep_transaction_id_mismatch 2
mode badtype badtype scep_message_type_mismatch 2
mode unsigned unsigned scep_certrep_unsigned 2
mode wrongsigner wrongsigner scep_certrep_signature 2
mode garbage garbage scep_certrep_malformed 2
mode truncated truncated scep_certrep_malformed 2
mode oversized oversized response_too_large 2
# 1 MiB of response headers: classified by our own 64 KiB header cap, as one line (past
# libcurl's line cap, its "Out of memory") or as many; well within the deadline. The run's
# own latency is judged against the transaction's timeout (10 s), never a wall-clock
# figure of the test (process start and key generation on a loaded machine vary).
within_deadline() { jq -e '.[0].latency_seconds < 5' <<<"$OUT" >/dev/null; }
for m in bigheader manyheaders; do
	mode "$m" "$m" response_too_large 2
	check "$m: response headers named in the detail" contains "$(field error_detail)" "response headers passed the 65536-byte cap"
	check "$m: classified within half the deadline ($(field latency_seconds) s of 10 s)" within_deadline
done
mode wrongct wrongct scep_certrep_content_type 2
mode http500 http500 http_server_error 2
mode noissued noissued scep_issued_missing 2
mode wrongkey wrongkey scep_issued_key_mismatch 2
mode expiredissued expiredissued scep_issued_validity 2
PIN="" mode expiredca expiredca scep_ca_expired 2  # another CA: with the pin it is a pin mismatch

TIMEOUT=2s
start=$(date +%s%N)
mode stall stall timeout 2
elapsed=$((($(date +%s%N) - start) / 1000000))
check "stall: ended by the deadline, not hung (${elapsed} ms)" [ "$elapsed" -lt 10000 ]
mode slow slow-30 timeout 2

# capabilities change between runs of the same transaction
rm -rf "$LAB/state"
write_config "$LAB/caps.yaml" "$base/success/scep" "challenge: {env: CH}"
probe "$LAB/caps.yaml"
write_config "$LAB/caps.yaml" "$base/caps-POSTPKIOperation,SHA-256,DES3/scep" "challenge: {env: CH}"
probe "$LAB/caps.yaml"
expect_finding "caps change" scep_caps_changed

# NDES one-time password page
TIMEOUT=5s
ndes() {
	local v=$1 st=$2 rc=$3
	rm -rf "$LAB/state"
	write_config "$LAB/ndes-$v.yaml" "$base/success/scep" \
		"challenge: {ndes_admin: {url: '$base/mscep_admin/$v/', username: 'EXAMPLE\\\\probe', password: {env: CH}}}"
	probe "$LAB/ndes-$v.yaml"
	expect "ndes_admin $v" "$st" "$rc"
}
ndes ok ok 0
check "ndes_admin ok: the one-time password was used" [ "$(stats otp_used)" -ge 1 ]
ndes full ndes_password_cache_full 2
ndes denied ndes_no_permission 2
ndes auth http_auth_rejected 2

finish
