#!/bin/bash
# client-auth against real peers on 127.0.0.1: scepserver issues alice's certificate,
# Kamailio (TLS module, client certificates required and verified) is the registrar,
# dnsmasq serves the SRV records, socat plays stalled registrars. Every case runs in
# one certprobe invocation (they run concurrently on the one loop), then each result
# is checked by name: status, exit class, and the words of the diagnosis.
set -u
SRCDIR=${SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$SRCDIR/tests/lab/lib.sh"
. "$SRCDIR/tests/lab/sip-lab.sh"
. "$SRCDIR/tests/integration/assert.sh"
lab_test_init

kam=18610 scep=18630 dnsport=18653 stall_tcp=18620 stall_tls=18621 refused=18629
garbage=18622 huge=18623 otherid=18624
P=$LAB/pki
umask 077
echo "lab-Challenge-7" >"$LAB/challenge"

sip_lab_pki "$P" >/dev/null || exit 1
lab_scepserver "$LAB/ca" $scep -challenge "lab-Challenge-7" -allowrenew 0 || exit 1
# Kamailio accepts client certificates from the rig CA and from the SCEP CA
cat "$P/client-cas.pem" "$LAB/ca/depot/ca.pem" >"$LAB/client-cas.pem"
SIP_LAB_REDIRECT_HOST=127.0.0.1 sip_lab_kamailio "$LAB/kam" $kam "$LAB/client-cas.pem" || exit 1
sip_lab_dns "$LAB/dns" $dnsport rig.test \
	--srv-host=_sipinternaltls._tcp.rig.test,registrar.rig.test,$kam,0,100 \
	--host-record=registrar.rig.test,127.0.0.1 \
	--local=/tcponly.test/ --srv-host=_sipinternal._tcp.tcponly.test,registrar.rig.test,5060 || exit 1
sip_lab_stall_tcp $stall_tcp || exit 1
sip_lab_stall_tls $stall_tls "$P/server-chain.crt" "$P/server.key" || exit 1
# hostile registrars: TLS is fine, the SIP answer is not. hostile PORT NAME: after the
# start of the request, send $LAB/NAME.answer (written by printf: socat's address
# syntax would eat backslashes), then hold the connection open.
hostile() {
	_sip_lab_spawn group /dev/null socat \
		"OPENSSL-LISTEN:$1,bind=127.0.0.1,reuseaddr,fork,cert=$P/server-chain.crt,key=$P/server.key,verify=0" \
		SYSTEM:"head -c 100 >/dev/null; cat $LAB/$2.answer; sleep 2"
	_sip_lab_wait_bound "$1" tcp "$_SIP_LAB_PID" "hostile registrar"
}
printf 'HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n' >"$LAB/garbage.answer"
{
	printf 'SIP/2.0 200 OK\r\n'
	yes 'X-Junk: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa' | head -c 300000
} >"$LAB/huge.answer"
printf 'SIP/2.0 200 OK\r\nVia: SIP/2.0/TLS x;branch=z9hG4bKx\r\nCall-ID: not-ours\r\nCSeq: 1 REGISTER\r\nContent-Length: 0\r\n\r\n' >"$LAB/other.answer"
hostile $garbage garbage
hostile $huge huge
hostile $otherid other
echo "lab up (Kamailio ready after ${SIP_LAB_KAMAILIO_READY:-?} s)"

# logon NAME PORT USER CERT [extra yaml lines...]: a client-auth transaction
logon() {
	local name=$1 port=$2 user=$3 cert=$4 l
	shift 4
	echo "  - name: $name"
	echo "    type: client-auth"
	echo "    registrar: {host: 127.0.0.1, port: $port}"
	echo "    sip_uri: sip:$user@rig.test"
	echo "    trust_store: $P/trust.pem"
	case $cert in
	none) ;;
	from:*) echo "    certificate: {from: ${cert#from:}}" ;;
	*) echo "    certificate: {cert: $P/$cert.crt, key: $P/$cert.key}" ;;
	esac
	for l in "$@"; do echo "    $l"; done
}

{
	echo "probe: {state_dir: $LAB/state}"
	echo "defaults: {timeout: 3s}"
	echo "transactions:"
	echo "  - name: enroll"
	echo "    type: enrollment"
	echo "    protocol: scep"
	echo "    url: http://127.0.0.1:$scep/scep"
	echo "    subject: CN=alice,O=certprobe-lab"
	echo "    challenge: {file: $LAB/challenge}"
	logon logon $kam alice from:enroll
	logon options $kam alice alice "method: options"
	logon identity $kam bob alice
	logon nocert $kam alice none
	logon nocert12 $kam alice none
	logon expired $kam alice alice-expired
	logon untrusted-client $kam alice mallory
	logon rogue-server $((kam + 1)) alice alice
	logon lenient $((kam + 2)) alice alice-expired
	logon no-intermediate $((kam + 3)) alice alice
	logon wrong-name $((kam + 4)) alice alice
	logon server-expired $((kam + 5)) alice alice
	logon redirect $((kam + 6)) alice alice
	logon s401 $kam status-401 alice
	logon s403ms $kam status-403ms alice
	logon s404 $kam status-404 alice
	logon s408 $kam status-408 alice
	logon s480 $kam status-480 alice
	logon s503 $kam status-503 alice
	logon s504 $kam status-504 alice
	logon sip-stall $kam stall alice "timeout: 1500ms"
	logon tls-stall $stall_tls alice alice "timeout: 1500ms"
	logon tcp-stall $stall_tcp alice alice "timeout: 1500ms"
	logon down $refused alice alice
	logon plain-tcp $((kam + 7)) alice alice "timeout: 1500ms"
	logon garbage $garbage alice alice
	logon huge $huge alice alice
	logon other-call $otherid alice alice
	logon srv $kam alice alice
	logon nosrv $kam alice alice
	logon tcponly $kam alice alice
	logon deaddns $kam alice alice
} >"$LAB/all.yaml"
# per-case registrar settings that logon() does not write
sed -i \
	-e "/name: nocert12/,/trust_store/s|port: $kam}|port: $kam, tls_max_version: \"1.2\"}|" \
	-e "/name: wrong-name/,/trust_store/s|port: $((kam + 4))}|port: $((kam + 4)), tls_name: registrar.rig.test}|" \
	-e "/name: srv$/,/trust_store/s|{host: 127.0.0.1, port: $kam}|{discover: dns, domain: rig.test, resolver: \"127.0.0.1:$dnsport\"}|" \
	-e "/name: nosrv/,/trust_store/s|{host: 127.0.0.1, port: $kam}|{discover: dns, domain: nothing.test, resolver: \"127.0.0.1:$dnsport\"}|" \
	-e "/name: tcponly/,/trust_store/s|{host: 127.0.0.1, port: $kam}|{discover: dns, domain: tcponly.test, resolver: \"127.0.0.1:$dnsport\"}|" \
	-e "/name: deaddns/,/trust_store/s|{host: 127.0.0.1, port: $kam}|{discover: dns, domain: rig.test, resolver: \"127.0.0.1:$refused\"}|" \
	"$LAB/all.yaml"
check "config is valid" "$BIN/certprobe" check-config "$LAB/all.yaml"

# a client-auth whose enrollment has not run yet: UNKNOWN, not CRITICAL
probe "$LAB/all.yaml" logon
expect "certificate not issued yet" client_cert_unavailable 3
check "not issued yet: names the enrollment" contains "$(field error_detail)" "enrollment 'enroll'"

# an enrollment stored by an older certprobe (STATE_DIR/NAME/ with cert.pem and
# cert-key.pem): the logon moves it under txn/ and reads the two files as a fallback
probe "$LAB/all.yaml" enroll
mkdir -p "$LAB/state/enroll"
openssl x509 -in "$LAB/state/txn/enroll/identity.pem" -out "$LAB/state/enroll/cert.pem"
openssl pkey -in "$LAB/state/txn/enroll/identity.pem" -out "$LAB/state/enroll/cert-key.pem"
rm -rf "$LAB/state/txn/enroll"
probe "$LAB/all.yaml" logon
expect "old layout: the logon uses the enrollment's two files" ok 0
check "old layout: moved under txn/" [ -s "$LAB/state/txn/enroll/cert.pem" ] && [ ! -e "$LAB/state/enroll" ]

t0=$(date +%s.%N)
probe "$LAB/all.yaml"
t1=$(date +%s.%N)
echo "all $(printf '%s' "$OUT" | jq length) transactions in $(awk "BEGIN{print $t1 - $t0}") s, exit $RC"
cp "$LAB/out.json" "$LAB/all.json"

# r NAME FIELD: a field of the result named NAME
r() { printf '%s' "$OUT" | jq -r ".[] | select(.name==\"$1\") | .$2"; }
# is NAME STATUS [words in the error detail]
is() {
	local name=$1 st=$2
	shift 2
	check "$name: status $st" [ "$(r "$name" status)" = "$st" ] ||
		echo "       $name: status=$(r "$name" status) detail=$(r "$name" error_detail)"
	[ "$st" = ok ] || check "$name: has a diagnosis" [ -n "$(r "$name" diagnosis | grep -v '^null$')" ]
	for w in "$@"; do
		check "$name: detail says '$w'" contains "$(r "$name" error_detail)" "$w"
	done
}
steps() { printf '%s' "$OUT" | jq -c "[.[] | select(.name==\"$1\") | .steps[].name]"; }
stepdetail() { printf '%s' "$OUT" | jq -r ".[] | select(.name==\"$1\") | .steps[] | select(.name==\"$2\") | .detail" | tail -1; }

# enrollment, then logon with the certificate scepserver issued in this run
is enroll ok
is logon ok
check "logon: every step timed" [ "$(steps logon)" = '["certificate","connect","tls_handshake","register","unregister"]' ]
check "logon: used the enrolled certificate" contains "$(r logon details.client_subject)" "CN=alice"
check "logon: its issuer is the SCEP CA" contains "$(r logon details.client_issuer)" "certprobe-lab"
check "logon: 200 to REGISTER" contains "$(stepdetail logon register)" "200 OK"
check "logon: un-REGISTER removed the binding" contains "$(stepdetail logon unregister)" "binding removed"
check "logon: server facts recorded" [ "$(r logon details.server_subject)" = "CN=registrar.rig.test" ]
is options ok
check "options: no un-REGISTER" [ "$(steps options)" = '["certificate","connect","tls_handshake","options"]' ]

# the registrar refuses the logon
is identity registrar_auth_rejected "403 Identity Does Not Match Certificate"
is nocert client_cert_required "alert 116" "after the handshake"
is nocert12 client_cert_required "alert 40" "during the handshake"
is expired client_cert_expired "alert 45" "our certificate expired 2020"
is untrusted-client client_cert_untrusted "alert 48"
is lenient registrar_auth_rejected "403 Client Certificate Expired"

# the server's chain, judged against the device trust store
is rogue-server tls_untrusted_root "Rogue CA"
is no-intermediate tls_chain_incomplete "issuer 'CN=Rig Issuing CA'" "1 certificate"
check "no-intermediate: server facts kept though verification failed" \
	contains "$(r no-intermediate details.server_fingerprint)" "sha256:"
is wrong-name tls_name_mismatch "other.rig.test" "not 'registrar.rig.test'"
is server-expired tls_cert_expired "expired at 2020-02-01"

# redirect to the home pool
is redirect ok
check "redirect: followed once" contains "$(r redirect details.redirected_to)" "127.0.0.1:$kam"
check "redirect: registered after it" [ "$(steps redirect)" = '["certificate","connect","tls_handshake","register","connect","tls_handshake","register","unregister"]' ]

# each SIP refusal has its own status, with the server's reason
is s401 registrar_tls_dsk_required "401 Unauthorized"
check "s401: challenge kept" contains "$(r s401 details.www_authenticate)" "sts-uri"
is s403ms registrar_auth_rejected 'ms-diagnostics: 1000;reason="User is not authorized"'
is s404 registrar_user_not_found "404"
is s408 registrar_request_timeout "408"
is s480 registrar_user_unavailable "480"
is s503 registrar_unavailable "503" "Retry-After: 30"
is s504 registrar_server_timeout "504"

# down and stalled registrars end at the deadline, classified by where they stopped
is down tcp_refused
is sip-stall timeout "no SIP answer to the REGISTER"
is tls-stall timeout "no SIP answer to the REGISTER"
is tcp-stall timeout "TLS handshake"
is plain-tcp timeout "TLS handshake"
is garbage registrar_protocol
is huge registrar_protocol "too large"
is other-call registrar_protocol "another request"
check "stalls end at their deadline" jqtest '[.[] | select(.name | test("stall")) | .latency_seconds] | all(. >= 1.4 and . < 2.5)'

# discovery
is srv ok
check "srv: names the record that answered" [ "$(r srv details.discovered_by)" = "_sipinternaltls._tcp.rig.test SRV" ]
check "srv: server name from the SRV target" contains "$(stepdetail srv tls_handshake)" "verified for registrar.rig.test"
is nosrv discovery_no_record "_sipinternaltls._tcp" "sipinternal.nothing.test"
is tcponly discovery_no_record
check "tcponly: TCP-only record noted" contains "$(r tcponly details.srv_tcp_only)" "_sipinternal._tcp.tcponly.test"
is deaddns dns_no_answer "did not answer"

check "exit status is CRITICAL" [ "$RC" = 2 ]
check "no key material in any output" sh -c "! grep -q 'PRIVATE KEY' '$LAB/all.json' '$LAB/err.txt'"

# after all that, no binding is left behind by the probe
bindings=$(sip_lab_ul_dump "$LAB/kam" 2>/dev/null)
check "ul.dump answers" [ -n "$bindings" ]
check "no binding left behind" sh -c "! printf '%s' \"\$1\" | grep -q 'sip:alice@'" _ "$bindings"
# the control: a binding nobody removes does show up, so the check above can fail
sip_lab_sipreq $kam alice REGISTER alice >/dev/null 2>&1
check "control: a binding left on purpose is listed" sh -c "printf '%s' \"\$1\" | grep -q 'sip:alice@127.0.0.1:55555'" _ "$(sip_lab_ul_dump "$LAB/kam" 2>/dev/null)"

# the registrar stops: CRITICAL; it comes back: OK
sip_lab_kamailio_stop "$LAB/kam"
probe "$LAB/all.yaml" options
expect "registrar stopped" tcp_refused 2
SIP_LAB_REDIRECT_HOST=127.0.0.1 sip_lab_kamailio "$LAB/kam" $kam "$LAB/client-cas.pem" || exit 1
probe "$LAB/all.yaml" options
expect "registrar back" ok 0

# text report in Test-Cs style
"$BIN/certprobe" run -c "$LAB/all.yaml" identity >"$LAB/text.txt" 2>&1
check "text report: Error and Diagnosis" grep -q '^Diagnosis   : read the reason' "$LAB/text.txt"

finish
