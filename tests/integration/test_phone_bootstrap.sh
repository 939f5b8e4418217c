#!/bin/bash
# phone-bootstrap (Lync Phone Edition sign-in by PIN, Test-CsPhoneBootstrap) end to end
# against our CertProv + Web Ticket double (tests/peers/certprov_double) on 127.0.0.1
# ports 19530-19569: every failure knob of the double in one certprobe run (the cases
# run concurrently on the one loop), each checked by name for its status and the seed's
# advice; then certprobed raises and clears the web-service alert when the double is
# stopped and started, and reuses its web ticket between runs.
set -u
SRCDIR=${SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$SRCDIR/tests/lab/lib.sh"
. "$SRCDIR/tests/integration/assert.sh"
lab_test_init

for t in certprov_double certprobe certprobed; do
	[ -x "$BIN/$t" ] || { echo "SKIP - $BIN/$t not built"; exit 77; }
done

anon=19530 https=19531 leaf=19532 expired=19533 wrongname=19534 dead=19538 deadanon=19539
d_anon=19540 d_https=19541 d_listen=19545
P=$LAB/pki
PIN=90441723
umask 077
"$SRCDIR/tests/peers/certprov_double/certprov-pki.sh" "$P" >/dev/null 2>&1 || { echo "FAIL - pki"; exit 1; }
echo "$PIN" >"$LAB/alice.pin"
echo "00000000" >"$LAB/wrong.pin"
echo "Passw0rd-7" >"$LAB/bob.password"

# double NAME HTTPS_PORT ANON_PORT [flags...]: start one, wait for "ready"
double() {
	local name=$1 port=$2 a=$3
	shift 3
	"$BIN/certprov_double" -p "$port" -a "$a" -c "$P/server-chain.pem" -k "$P/server.key" \
		--chain "$P/chain.pem" --ocs-cert "$P/ocs-ca.crt" --ocs-key "$P/ocs-ca.key" \
		--published-dir "$LAB/published-$name" \
		-u "phone=+14255550100,ext=1234,pin=$PIN,sip=sip:alice@example.com" \
		-u "sip=sip:bob@example.com,password=Passw0rd-7" -v "$@" \
		>"$LAB/double-$name.out" 2>"$LAB/double-$name.err" &
	DOUBLE_PID=$!
	LAB_PIDS="$LAB_PIDS $DOUBLE_PID"
	until_true 15 grep -q ready "$LAB/double-$name.out"
}
double main $https $anon -x "$leaf:$P/server-leaf.pem:$P/server.key" \
	-x "$expired:$P/server-expired-chain.pem:$P/server.key" \
	-x "$wrongname:$P/server-wrongname-chain.pem:$P/server.key" ||
	{ echo "FAIL - the double did not start"; cat "$LAB/double-main.err"; exit 1; }
MAIN=$DOUBLE_PID

# stop_peer PID: SIGTERM, then wait (bounded: 10 s, then SIGKILL, said on stdout) so a
# peer that hangs on its way out cannot hold the test until ctest's timeout
stop_peer() {
	local n=0 s
	kill "$1" 2>/dev/null || return 0
	while [ -r "/proc/$1/stat" ]; do
		read -r s <"/proc/$1/stat" 2>/dev/null || break
		s=${s##*) }
		[ "${s%% *}" = Z ] && break
		n=$((n + 1))
		if [ "$n" -ge 100 ]; then
			echo "note - pid $1 ($2) did not exit within 10 s of SIGTERM: SIGKILL"
			kill -9 "$1" 2>/dev/null
			break
		fi
		sleep 0.1
	done
	wait "$1" 2>/dev/null
	LAB_PIDS=$(echo "$LAB_PIDS" | tr ' ' '\n' | grep -vx "$1" | tr '\n' ' ')
}

SVC=CertProv/CertProvisioningService.svc
# bootstrap NAME MODE [extra yaml lines...]: alice by PIN, the double's knob MODE as the
# URL prefix (every URL the double hands out keeps it, so the whole flow is in the mode)
bootstrap() {
	local name=$1 mode=$2 pfx="" l
	shift 2
	[ "$mode" = ok ] || pfx=/k-$mode
	echo "  - name: $name"
	echo "    type: phone-bootstrap"
	local url="https://127.0.0.1:$https$pfx/$SVC" chain="http://127.0.0.1:$anon$pfx/$SVC"
	local phone='"+14255550100"' pin="$LAB/alice.pin" trust="$P/root.crt" extra=""
	for l in "$@"; do
		case $l in
		url=*) url=${l#url=} ;;
		chain=*) chain=${l#chain=} ;;
		phone=*) phone=${l#phone=} ;;
		pin=*) pin=${l#pin=} ;;
		trust=*) trust=${l#trust=} ;;
		*) extra="$extra    $l"$'\n' ;;
		esac
	done
	echo "    discover: {certprov_url: $url, registrar: pool1.example.com}"
	echo "    root_chain: $chain"
	echo "    phone: $phone"
	echo "    pin: {file: $pin}"
	echo "    sip_uri: sip:alice@example.com"
	echo "    trust_store: $trust"
	echo "    issuer_ca: $P/ocs-ca.crt"
	printf '%s' "$extra"
}

{
	echo "probe: {state_dir: $LAB/state}"
	echo "defaults: {timeout: 4s}"
	echo "transactions:"
	bootstrap ok ok
	bootstrap by-extension ok phone='"1234"'
	echo "  - name: by-password"
	echo "    type: phone-bootstrap"
	echo "    discover: {certprov_url: https://127.0.0.1:$https/$SVC, registrar: pool1.example.com}"
	echo "    root_chain: http://127.0.0.1:$anon/$SVC"
	echo "    username: sip:bob@example.com"
	echo "    password: {file: $LAB/bob.password}"
	echo "    sip_uri: sip:bob@example.com"
	echo "    trust_store: $P/root.crt"
	echo "  - name: by-windows"
	echo "    type: phone-bootstrap"
	echo "    discover: {certprov_url: https://127.0.0.1:$https/$SVC, registrar: pool1.example.com}"
	echo "    root_chain: http://127.0.0.1:$anon/$SVC"
	echo "    username: EXAMPLE\\\\bob"
	echo "    password: {file: $LAB/bob.password}"
	echo "    sip_uri: sip:bob@example.com"
	echo "    trust_store: $P/root.crt"
	echo "    web_ticket: {auth: windows}"
	bootstrap by-fqdn ok url=https://pool1.example.com:$https/$SVC \
		chain=http://pool1.example.com:$anon/$SVC "connect_to: 127.0.0.1"
	bootstrap anon-503 anondown
	bootstrap anon-refused ok chain=http://127.0.0.1:$deadanon/$SVC
	bootstrap websvc-down ok url=https://127.0.0.1:$dead/$SVC
	bootstrap leaf-only-with-chain ok url=https://127.0.0.1:$leaf/$SVC
	bootstrap leaf-only ok url=https://127.0.0.1:$leaf/$SVC chain=off
	bootstrap untrusted ok trust=$P/ocs-ca.crt
	bootstrap expired ok url=https://127.0.0.1:$expired/$SVC
	bootstrap wrong-name ok url=https://127.0.0.1:$wrongname/$SVC
	bootstrap mex-404 mex404
	bootstrap mex-no-policy mexnopolicy
	bootstrap pin-disabled nopin
	bootstrap pin-mismatch pinmismatch
	bootstrap wrong-pin ok pin=$LAB/wrong.pin
	bootstrap pin-locked pinlock
	bootstrap not-sip notsip
	bootstrap webticket-503 wt503
	bootstrap webticket-stall wtstall "timeout: 5s"
	bootstrap webticket-garbage wtgarbage
	bootstrap ticket-rejected ticketreject
	bootstrap data-store datastore
	bootstrap soap-fault soapfault
	bootstrap http-500 http500
	bootstrap certprov-503 cp503
	bootstrap certprov-stall cpstall "timeout: 5s"
	bootstrap certprov-garbage garbage
	bootstrap oversized oversized
	bootstrap deep deep
	bootstrap short-cert shortcert
	bootstrap wrong-entity wrongentity
	bootstrap wrong-key wrongkey
	bootstrap bad-der badder
	bootstrap slow slow-150
} >"$LAB/c.yaml"
chmod 600 "$LAB/c.yaml"

check "check-config accepts the phone-bootstrap transactions" "$BIN/certprobe" check-config "$LAB/c.yaml"
RC=0
"$BIN/certprobe" run -j -v -c "$LAB/c.yaml" >"$LAB/out.json" 2>"$LAB/err.txt" || RC=$?
OUT=$(cat "$LAB/out.json")
ERR=$(cat "$LAB/err.txt")
PROBED=1

r() { printf '%s' "$OUT" | jq -r ".[] | select(.name == \"$1\") | .$2" 2>/dev/null; }
fact() { printf '%s' "$OUT" | jq -r ".[] | select(.name == \"$1\") | .details.$2" 2>/dev/null; }
has() { contains "$(r "$1" "$2")" "$3"; }
# status NAME STATUS [WORDS OF THE DIAGNOSIS]
status() {
	check "$1: $2" [ "$(r "$1" status)" = "$2" ] ||
		echo "       detail: $(r "$1" error_detail)"
	[ "$2" = ok ] && return 0
	check "$1: Result Failure with a diagnosis" [ "$(r "$1" result)" = Failure ]
	[ -n "${3:-}" ] && check "$1: the diagnosis says '$3'" has "$1" diagnosis "$3"
	return 0
}

status ok ok
check "ok: Target is the CertProv URL, TargetFqdn the registrar" \
	[ "$(r ok target)" = "https://127.0.0.1:$https/$SVC" -a "$(fact ok target_fqdn)" = pool1.example.com ]
for s in key discover root_chain tls_verify mex web_ticket csr get_and_publish_cert verify store; do
	check "ok: step $s timed and ok" jqtest ".[] | select(.name == \"ok\") | .steps[] | select(.name == \"$s\" and .status == \"ok\")"
done
check "ok: the identity is stored for a client-auth" grep -q "BEGIN CERTIFICATE" "$LAB/state/txn/ok/identity.pem"
check "ok: the stored certificate is the one the run verified" [ "$(lab_fingerprint "$LAB/state/txn/ok/identity.pem")" = "$(fact ok issued_fingerprint)" ]
check "ok: and it was published for the registrar" test -s "$LAB/published-main/alice@example.com.pem"
check "ok: the issued certificate chains to the OCS signing CA" \
	openssl verify -CAfile "$P/ocs-ca.crt" "$LAB/published-main/alice@example.com.pem"
check "ok: the root chain came over anonymous HTTP (2 certificates)" has ok details.root_chain "2 certificate(s)"
check "ok: the CSR went wrapped at 76 columns with CRLF" \
	bash -c "curl -s http://127.0.0.1:$anon/stats | jq -e '.last_cert.csr_max_line == 76 and .last_cert.csr_line_breaks == \"crlf\"' >/dev/null"
status by-extension ok
status by-password ok
check "by-password: UsernameToken" has by-password details.credential "UsernameToken"

status by-fqdn ok
# the double's WinNegotiate port is a stub that never accepts: the refusal is classified
status by-windows webticket_fault
check "by-windows: NTLM/Negotiate on the WinNegotiate port, refused" has by-windows error_detail "Windows (NTLM/Negotiate) credentials"
check "by-fqdn: the pool's name all the way (connect_to)" has by-fqdn details.webticket_url "https://pool1.example.com:$https/"
status anon-503 certprov_root_chain_failed "EnableCertChainDownload"
status anon-refused certprov_root_chain_failed
check "anon-refused: the cause is named" has anon-refused error_detail "tcp_refused"
status websvc-down certprov_unreachable "listens on its port"
check "websvc-down: 'unable to locate Lync Certificate Web service'" has websvc-down error "unable to locate Lync Certificate Web service"
status leaf-only-with-chain ok
status leaf-only certprov_websvc_chain_incomplete "the certificate must be issued by a CA that chains to a root the phone ships with"
check "leaf-only: the missing link is named" has leaf-only error_detail "missing link is CN=CertProv Test Issuing CA"
status untrusted certprov_websvc_untrusted "the certificate must be issued by a CA that chains to a root the phone ships with"
check "untrusted: names the root the device lacks" has untrusted error_detail "CN=CertProv Test Root CA"
status expired tls_cert_expired
status wrong-name tls_name_mismatch
status mex-404 certprov_metadata_bad
check "mex-404: HTTP 404" has mex-404 error_detail "HTTP 404"
status mex-no-policy certprov_metadata_bad
check "mex-no-policy: names the policy" has mex-no-policy error_detail "WebTicketProof_SHA1_policy"
status pin-disabled webticket_pin_disabled "UsePinAuth"
check "pin-disabled: ErrorId 28029 kept raw" has pin-disabled details.fault "ErrorId 28029"
status pin-mismatch webticket_pin_rejected "match the user's SIP URI"
status wrong-pin webticket_pin_rejected
check "wrong-pin: X-Ms-diagnostics kept raw" has wrong-pin details.x_ms_diagnostics '28020;source="pool1.example.com"'
status pin-locked webticket_user_locked "Unlock-CsClientPin"
status not-sip webticket_user_not_enabled
check "not-sip: ErrorId 28000" has not-sip error_detail "28000"
status webticket-503 webticket_no_response
check "webticket-503: 'No response received for Web-Ticket service'" has webticket-503 error "no response received for Web-Ticket service"
status webticket-stall webticket_no_response
status webticket-garbage webticket_fault
status ticket-rejected certprov_ticket_rejected "X-Ms-diagnostics"
check "ticket-rejected: X-Ms-diagnostics in the detail" has ticket-rejected error_detail "28020"
status data-store certprov_publish_failed \
	"sporadic: retry (a device retries after a power cycle); persistent: check connectivity from Web Services to the User Services store of the user's home pool; run this transaction for other users to see whether it is wider than one device"
check "data-store: the raw ErrorInfo is kept" has data-store details.error_info "DataStoreUnavailable"
status soap-fault certprov_fault
check "soap-fault: ErrorId 28001 kept raw" has soap-fault details.fault "ErrorId 28001"
status http-500 certprov_service_down
status certprov-503 certprov_service_down
status certprov-stall certprov_service_down
status certprov-garbage certprov_fault
status oversized response_too_large
status deep certprov_fault
status short-cert certprov_cert_invalid
check "short-cert: valid less than an hour" has short-cert error_detail "less than 3600 s"
status wrong-entity certprov_cert_invalid
check "wrong-entity: names the entity" has wrong-entity error_detail "does not name the entity alice@example.com"
status wrong-key certprov_cert_invalid
check "wrong-key: not our key" has wrong-key error_detail "not for the key of our request"
status bad-der certprov_cert_invalid
status slow ok
check "slow: the latency shows the slow answers" \
	jqtest '.[] | select(.name == "slow") | .latency_seconds > 0.6'
check "the PIN, the password and the web ticket never reach the output (-v)" \
	bash -c "! grep -q -e '$PIN' -e '$(printf %s "$PIN" | base64)' -e 'Passw0rd-7' -e 'SamlSecurityToken' '$LAB/out.json' '$LAB/err.txt'"
check "run exits 2 (some transaction CRITICAL)" [ "$RC" = 2 ]

# ---- the text report reads like Test-CsPhoneBootstrap ----
"$BIN/certprobe" run -c "$LAB/c.yaml" data-store >"$LAB/report.txt" 2>&1
check "text report: Target, TargetFqdn, Result, Latency, Error, Diagnosis" \
	bash -c "grep -q '^Target      : https://127.0.0.1:$https/k-datastore/$SVC' '$LAB/report.txt' &&
		grep -q '^TargetFqdn  : pool1.example.com' '$LAB/report.txt' &&
		grep -q '^Result      : Failure' '$LAB/report.txt' && grep -q '^Latency     : 00:00:' '$LAB/report.txt' &&
		grep -q '^Error       : certprov_publish_failed: cannot publish certificate' '$LAB/report.txt' &&
		grep -q '^Diagnosis   : sporadic: retry' '$LAB/report.txt'"

# ---- the certificate it keeps logs a client-auth (TLS-DSK) on: certificate: {from: ...} ----
# tests/peers/tlsdsk_registrar accepts a certificate the OCS Signing CA issued and the
# double published (--published-dir); the run orders the logon after the bootstrap.
. "$SRCDIR/tests/lab/sip-lab.sh"
reg=19550
if sip_lab_pki "$LAB/rig" >/dev/null && "$SRCDIR/tests/peers/tlsdsk_registrar/tlsdsk-pki.sh" "$LAB/dsk" "$LAB/rig" >/dev/null 2>&1; then
	"$BIN/tlsdsk_registrar" -p $reg -c "$LAB/dsk/registrar-chain.crt" -k "$LAB/dsk/registrar.key" \
		--ca "$P/ocs-ca.crt" --published-dir "$LAB/published-main" >"$LAB/registrar.out" 2>"$LAB/registrar.log" &
	RPID=$!
	LAB_PIDS="$LAB_PIDS $RPID"
	until_true 10 grep -q '^ready$' "$LAB/registrar.out"
	{
		echo "probe: {state_dir: $LAB/state}"
		echo "defaults: {timeout: 8s}"
		echo "transactions:"
		bootstrap lpe-chain ok
		echo "  - name: logon"
		echo "    type: client-auth"
		echo "    auth: tls-dsk"
		echo "    registrar: {host: 127.0.0.1, port: $reg}"
		echo "    sip_uri: sip:alice@example.com"
		echo "    certificate: {from: lpe-chain}"
		echo "    trust_store: $LAB/rig/trust.pem"
	} >"$LAB/chain.yaml"
	chmod 600 "$LAB/chain.yaml"
	RC=0
	"$BIN/certprobe" run -j -c "$LAB/chain.yaml" >"$LAB/chain.json" 2>"$LAB/chain.err" || RC=$?
	OUT=$(cat "$LAB/chain.json")
	status lpe-chain ok
	status logon ok
	check "the logon ran after the bootstrap, with its certificate" \
		jqtest '(.[0].name == "lpe-chain") and (.[1].name == "logon")'
	stop_peer "$RPID" tlsdsk_registrar
else
	check "the TLS-DSK registrar's PKI" false
fi

# ---- the daemon: the web-service alert is raised and cleared; the ticket is reused ----
PROBED=0
double daemon $d_https $d_anon || { echo "FAIL - the daemon's double did not start"; exit 1; }
DD=$DOUBLE_PID
cat >"$LAB/d.yaml" <<YAML
probe: {state_dir: $LAB/dstate, listen: 127.0.0.1:$d_listen}
defaults: {interval: 1s, timeout: 3s, max_attempts: 2}
transactions:
YAML
bootstrap lpe-alice ok url=https://127.0.0.1:$d_https/$SVC chain=http://127.0.0.1:$d_anon/$SVC >>"$LAB/d.yaml"
chmod 600 "$LAB/d.yaml"
# logged_since LINE PATTERN: PATTERN in the daemon's log after its first LINE lines
logged_since() { tail -n +$(($1 + 1)) "$LAB/daemon.log" | grep -q -- "$2"; }
log_lines() { wc -l <"$LAB/daemon.log"; }
success() { curl -s "http://127.0.0.1:$d_listen/metrics" | grep -qE '^certprobe_transaction_success\{transaction="lpe-alice".* 1$'; }
issued_ge() { test "$(curl -s "http://127.0.0.1:$d_anon/stats" | jq -r .certs_issued)" -ge "$1"; }
"$BIN/certprobed" -c "$LAB/d.yaml" >>"$LAB/daemon.log" 2>&1 &
DPID=$!
LAB_PIDS="$LAB_PIDS $DPID"
check "certprobed starts" until_true 10 curl -fs "http://127.0.0.1:$d_listen/-/healthy"
check "the phone bootstrap succeeds on schedule" until_true 15 success
check "it runs again (three certificates issued)" until_true 15 issued_ge 3
check "one web ticket served every run (cached until 60 s before it expires)" \
	test "$(curl -s "http://127.0.0.1:$d_anon/stats" | jq -r .issue_ok)" = 1
check "no alert while it works" bash -c "! grep -q 'alert critical' '$LAB/daemon.log'"
n=$(log_lines)
stop_peer "$DD" "the daemon's double"
check "web services stopped: the web-service endpoint turns HARD CRITICAL" until_true 20 \
	logged_since "$n" "web_service 127.0.0.1:$d_https: OK -> CRITICAL (certprov_root_chain_failed, HARD"
check "and raises the web-service alert with the seed's words" until_true 5 \
	logged_since "$n" "alert critical: Web service 127.0.0.1:$d_https is CRITICAL: error downloading certificate chain"
n=$(log_lines)
double daemon2 $d_https $d_anon || { echo "FAIL - the daemon's double did not restart"; exit 1; }
DD=$DOUBLE_PID
check "web services back: the endpoint recovers" until_true 20 \
	logged_since "$n" "web_service 127.0.0.1:$d_https: CRITICAL -> OK"
check "and the alert clears" until_true 5 logged_since "$n" "alert critical resolved: web_service 127.0.0.1:$d_https"
stop_peer "$DPID" certprobed
stop_peer "$DD" "the daemon's double"
stop_peer "$MAIN" "the double"
check "certprobed left no ASan/LSan report" bash -c "! grep -q 'ERROR: AddressSanitizer\|ERROR: LeakSanitizer' '$LAB/daemon.log' '$LAB/err.txt'"
finish
