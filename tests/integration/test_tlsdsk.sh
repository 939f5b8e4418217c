#!/bin/bash
# client-auth with auth: tls-dsk against the TLS-DSK registrar double
# (tests/peers/tlsdsk_registrar) on 127.0.0.1:19900-19949: a Lync-shaped registrar with a
# throw-away PKI ("Rig" CA for the registrar, "OCS Signing CA" for users, certificates
# published as CertProv would). Every failure knob end to end through `certprobe run`
# (status, words of the detail, the seed's advice), DNS SRV discovery (dnsmasq), the
# check_clientauth plugin, then certprobed: stopping the double raises the registrar alert
# (log sink, state file, /metrics, Alertmanager, SNMP notification through snmpd to
# snmptrapd and the endpoint table, check_certprobe) and starting it again clears it. No
# secret (key, signature, handshake record) in any output or log.
set -u
SRCDIR=${SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$SRCDIR/tests/lab/lib.sh"
. "$SRCDIR/tests/lab/snmp-lab.sh"
. "$SRCDIR/tests/lab/sip-lab.sh"
. "$SRCDIR/tests/integration/assert.sh"
lab_test_init
RC=0 OUT= ERR=

REG=19900 HOME_POOL=19901 AMP=19902 DPORT=19903 REFUSED=19904 DNSPORT=19905 SNMPP=19906 TRAPP=19907
P=$LAB/pki D=$LAB/dsk PUB=$LAB/published ID=$LAB/id
umask 077
users="alice notpub untrusted expired k-notenabled k-forbidden k-timeout k-stall k-badrspauth
	k-nodsk k-redirect k-v3 k-rejecths k-badgssapi"
sip_lab_pki "$P" >/dev/null || exit 1
at_users=$(for u in $users; do printf '%s@example.com ' "$u"; done)
# shellcheck disable=SC2086 # one argument per user
"$SRCDIR/tests/peers/tlsdsk_registrar/tlsdsk-pki.sh" "$D" "$P" $at_users ||
	{ echo "FAIL - TLS-DSK PKI"; exit 1; }
mkdir -p "$PUB" "$ID"
for u in $users; do
	# what the probe holds (certificate + key) and what CertProv published
	case $u in
	untrusted) v=rogue ;;
	expired) v=expired ;;
	*) v= ;;
	esac
	cert=$D/users/$u@example.com${v:+.$v}.pem
	cat "$cert" "$D/user.key" >"$ID/$u.pem"
	case $u in notpub | k-rejecths) ;; *) cp "$cert" "$PUB/$u@example.com.pem" ;; esac
done

REGPID=
registrar_start() {
	: >"$LAB/registrar.out"
	"$BIN/tlsdsk_registrar" -p $REG -P $HOME_POOL -c "$D/registrar-chain.crt" -k "$D/registrar.key" \
		--ca "$D/ocs-ca.crt" --published-dir "$PUB" -v >"$LAB/registrar.out" 2>>"$LAB/registrar.log" &
	REGPID=$!
	LAB_PIDS="$LAB_PIDS $REGPID"
	until_true 10 grep -q '^ready$' "$LAB/registrar.out"
}
registrar_stop() {
	kill "$REGPID"
	wait "$REGPID"
}
registrar_start || { echo "FAIL - tlsdsk_registrar did not start"; cat "$LAB/registrar.log"; exit 1; }
# the device's discovery: SRV _sipinternaltls._tcp.example.com -> registrar.rig.test:REG
sip_lab_dns "$LAB/dns" $DNSPORT example.com \
	--srv-host=_sipinternaltls._tcp.example.com,registrar.rig.test,$REG,0,100 \
	--host-record=registrar.rig.test,127.0.0.1 || exit 1

# logon NAME USER [extra yaml lines]
logon() {
	local name=$1 user=$2 l
	shift 2
	echo "  - name: $name"
	echo "    type: client-auth"
	echo "    auth: tls-dsk"
	echo "    registrar: {host: 127.0.0.1, port: $REG}"
	echo "    sip_uri: sip:$user@example.com"
	echo "    certificate: {cert: $ID/$user.pem, key: $ID/$user.pem}"
	echo "    trust_store: $P/trust.pem"
	for l in "$@"; do echo "    $l"; done
}
{
	echo "probe: {state_dir: $LAB/state}"
	echo "defaults: {timeout: 5s}"
	echo "transactions:"
	logon alice alice
	logon notpub notpub
	logon untrusted untrusted
	logon expired expired
	logon notenabled k-notenabled
	logon forbidden k-forbidden
	logon s504 k-timeout
	logon stall k-stall "timeout: 1500ms"
	logon badrspauth k-badrspauth
	logon nodsk k-nodsk
	logon redirect k-redirect
	logon v3 k-v3
	logon rejecths k-rejecths
	logon badgssapi k-badgssapi
	logon srv alice
	logon down alice
	echo "  - name: mtls"
	echo "    type: client-auth"
	echo "    registrar: {host: 127.0.0.1, port: $REG}"
	echo "    sip_uri: sip:alice@example.com"
	echo "    certificate: {cert: $ID/alice.pem, key: $ID/alice.pem}"
	echo "    trust_store: $P/trust.pem"
} >"$LAB/all.yaml"
sed -i -e "/name: down/,/trust_store/s|port: $REG}|port: $REFUSED}|" \
	-e "/name: srv$/,/trust_store/s|{host: 127.0.0.1, port: $REG}|{discover: dns, domain: example.com, resolver: \"127.0.0.1:$DNSPORT\"}|" \
	"$LAB/all.yaml"
check "config is valid" "$BIN/certprobe" check-config "$LAB/all.yaml"

probe "$LAB/all.yaml"
cp "$LAB/out.json" "$LAB/all.json"
r() { printf '%s' "$OUT" | jq -r ".[] | select(.name==\"$1\") | .$2"; }
is() { # NAME STATUS [words in the error detail]
	local name=$1 st=$2
	shift 2
	check "$name: status $st" [ "$(r "$name" status)" = "$st" ] ||
		echo "       $name: status=$(r "$name" status) detail=$(r "$name" error_detail)"
	[ "$st" = ok ] || check "$name: has a diagnosis" [ -n "$(r "$name" diagnosis | grep -v '^null$')" ]
	for w in "$@"; do
		check "$name: detail says '$w'" contains "$(r "$name" error_detail)" "$w"
	done
}
advice() { # NAME WORDS: the diagnosis (the status row's action) says WORDS
	check "$1: advice says '$2'" contains "$(r "$1" diagnosis)" "$2"
}
steps() { printf '%s' "$OUT" | jq -c "[.[] | select(.name==\"$1\") | .steps[].name]"; }
stepdetail() { printf '%s' "$OUT" | jq -r ".[] | select(.name==\"$1\") | .steps[] | select(.name==\"$2\") | .detail" | tail -1; }

# the logon
is alice ok
check "alice: every step timed" [ "$(steps alice)" = \
	'["certificate","connect","tls_handshake","challenge","dsk_handshake","register","unregister"]' ]
check "alice: the challenge offered TLS-DSK with its sts-uri" \
	contains "$(stepdetail alice challenge)" "sts-uri https://pool1.example.com:443/CertProv/CertProvisioningService.svc"
check "alice: the tunnel is TLS 1.0 with an AES-SHA suite" \
	contains "$(stepdetail alice dsk_handshake)" "TLSv1 AES"
check "alice: the SA came after two round trips" contains "$(stepdetail alice dsk_handshake)" "2 round trips"
check "alice: the 200 was signed by the registrar" contains "$(stepdetail alice register)" "rspauth verified"
check "alice: the signed un-REGISTER removed the binding" contains "$(stepdetail alice unregister)" "binding removed"
check "alice: the SA lifetime is recorded" contains "$(r alice details.tls_dsk_sa_lifetime)" " s"
check "alice: the registrar verified the signed requests" \
	grep -q "REGISTER sip:alice@example.com cseq 5 -> 200 OK" "$LAB/registrar.log"
is srv ok
check "srv: found by the device's SRV record" [ "$(r srv details.discovered_by)" = "_sipinternaltls._tcp.example.com SRV" ]
check "srv: then the TLS-DSK steps" [ "$(steps srv)" = \
	'["certificate","discover","resolve","connect","tls_handshake","challenge","dsk_handshake","register","unregister"]' ]
is v3 ok
check "v3: version 3 offered and used" contains "$(r v3 details.tls_dsk_offered)" "version 3"

# the registrar refuses the certificate
is notpub registrar_dsk_cert_rejected "401 Unauthorized again after the TLS-DSK handshake" "CN=notpub@example.com"
advice notpub "published the certificate to the user's home pool"
advice notpub "get logs from every server in the pool"
is rejecths registrar_dsk_cert_rejected "without gssapi-data, once our certificate was sent"
is badgssapi registrar_dsk_protocol "gssapi-data: record 1: 3 bytes, short of a 5-byte header"
is untrusted registrar_dsk_tls_alert "alert 48 unknown CA"
is expired registrar_dsk_tls_alert "alert 45 certificate expired"
advice expired "the next run retries"
is notenabled registrar_dsk_user_not_enabled "404 Not Found" "ms-diagnostics: 4005"
is forbidden registrar_dsk_forbidden "403 Forbidden" 'ms-diagnostics: 4141;reason="User disabled"'
advice forbidden "check the Registrar's health and alerts"
is s504 registrar_dsk_timeout "504 Server time-out"
is stall registrar_dsk_timeout "no SIP answer to the signed REGISTER within 1.5 s"
is badrspauth registrar_dsk_bad_rspauth "does not verify with the session key"
advice badrspauth "what sits between the probe and the Registrar"
is nodsk registrar_no_tls_dsk "offering NTLM, Kerberos; no TLS-DSK"
advice nodsk "enable certificate authentication on the Registrar"
is down tcp_refused
# mutual TLS against a TLS-DSK registrar: the existing status says which method to use
is mtls registrar_tls_dsk_required "401 Unauthorized"

# a 301 to the home pool, followed with a new SA there
is redirect ok
check "redirect: to the home pool" contains "$(r redirect details.redirected_to)" "127.0.0.1:$HOME_POOL"
check "redirect: logged on at the home pool" [ "$(steps redirect)" = \
	'["certificate","connect","tls_handshake","challenge","dsk_handshake","register","connect","tls_handshake","challenge","dsk_handshake","register","unregister"]' ]
check "redirect: the home pool took the REGISTER" \
	grep -q "(home) REGISTER sip:k-redirect@example.com cseq 4 -> 200 OK" "$LAB/registrar.log"

check "exit status is CRITICAL" [ "$RC" = 2 ]
check "no key material or signature in the probe's output" \
	sh -c "! grep -qE 'PRIVATE KEY|gssapi-data=|response=|rspauth=|crand=' '$LAB/all.json' '$LAB/err.txt'"
check "no key material or signature in the registrar's log" \
	sh -c "! grep -qE 'PRIVATE KEY|gssapi-data=|response=|rspauth=|crand=' '$LAB/registrar.log'"
"$BIN/certprobe" run -c "$LAB/all.yaml" notpub >"$LAB/text.txt" 2>&1
check "text report: Error and Diagnosis in Test-Cs style" \
	grep -q '^Error       : registrar_dsk_cert_rejected: cannot publish certificate due to Registrar problem' "$LAB/text.txt"

# ---- the Nagios plugin: check_clientauth --auth tls-dsk ----
plugin() { # NAME ARGS...: stdout in $OUT, exit code in $RC
	local p=$1
	shift
	RC=0
	OUT=$("$BIN/$p" "$@" 2>"$LAB/plugin.err") || RC=$?
}
CA=(-H 127.0.0.1 -p $REG --auth tls-dsk --trust-store "$P/trust.pem" --days-warn 1:)
plugin check_clientauth "${CA[@]}" --sip-uri sip:alice@example.com --cert "$ID/alice.pem" --key "$ID/alice.pem" -n lpe-alice
check "check_clientauth --auth tls-dsk: OK (exit 0)" [ "$RC" = 0 ]
check "check_clientauth --auth tls-dsk: the status line" contains "$OUT" "CERTPROBE CLIENTAUTH OK - lpe-alice"
check "check_clientauth --auth tls-dsk: perfdata for the TLS-DSK steps" \
	grep -qE "'challenge'=[0-9.]+s.*'dsk_handshake'=[0-9.]+s" <<<"$OUT"
plugin check_clientauth "${CA[@]}" --sip-uri sip:notpub@example.com --cert "$ID/notpub.pem" --key "$ID/notpub.pem"
check "check_clientauth --auth tls-dsk: a certificate not published is CRITICAL (exit 2)" [ "$RC" = 2 ]
check "check_clientauth --auth tls-dsk: ... and says why" contains "$OUT" "registrar_dsk_cert_rejected"

# ---- the daemon: the TLS-DSK registrar is an endpoint like any other ----
printf 'route: {receiver: "null"}\nreceivers: [{name: "null"}]\n' >"$LAB/am.yml"
mkdir -p "$LAB/am"
AM=
if [ -x /usr/bin/prometheus-alertmanager ]; then
	/usr/bin/prometheus-alertmanager --config.file="$LAB/am.yml" --storage.path="$LAB/am" \
		--web.listen-address=127.0.0.1:$AMP --cluster.listen-address= >"$LAB/am.log" 2>&1 &
	LAB_PIDS="$LAB_PIDS $!"
	until_true 10 curl -fs "http://127.0.0.1:$AMP/-/ready" && AM=1
fi
# SNMP: a private snmpd (master agentx) forwarding notifications to snmptrapd
SNMP=
if command -v snmpd >/dev/null && command -v snmptrapd >/dev/null && command -v snmpget >/dev/null; then
	snmp_lab_start "$SNMPP" "$TRAPP"
	SNMP=1
fi
ROOT=.1.3.6.1.4.1.8072.9999.9999.1
OBJ=$ROOT.1
idx() { local s=$1 i out=${#1}; for ((i = 0; i < ${#s}; i++)); do out="$out.$(printf '%d' "'${s:i:1}")"; done; echo "$out"; }
EPIDX="1.$(idx "127.0.0.1:$REG")" # registrar(1), then the endpoint key
ep_state_is() { [ "$(snmpget -v2c -c cpmon -On -Oqv -t 2 -r 1 127.0.0.1:$SNMPP "$OBJ.7.1.3.$EPIDX" 2>/dev/null)" = "$1" ]; }
trap_has() { # NOTIF SEVERITY: an endpoint notification for the registrar with that severity
	grep "OID: $ROOT.0.$1|" "$LAB/trapd/trapd.log" 2>/dev/null | grep "$OBJ.7.1.3.$EPIDX = " |
		grep -q "$OBJ.8.3.0 = INTEGER: $2"
}
{
	echo "probe:"
	echo "  state_dir: $LAB/dstate"
	echo "  listen: 127.0.0.1:$DPORT"
	if [ -n "$SNMP" ]; then
		echo "  snmp: {agentx: \"unix:$LAB/agentx.sock\", ping_interval: 1s}"
	fi
	echo "defaults: {interval: 1s, timeout: 1500ms, max_attempts: 2}"
	if [ -n "$AM" ]; then
		echo "alerting:"
		echo "  alertmanager: {urls: [http://127.0.0.1:$AMP], resend_interval: 5s}"
	fi
	echo "transactions:"
	logon logon alice
} >"$LAB/daemon.yaml"
logged() { grep -qE -- "$1" "$LAB/daemon.log"; }
metric() { curl -s "http://127.0.0.1:$DPORT/metrics" | grep -E "^$1" | head -1 | awk '{print $NF}'; }
metric_eq() { test "$(metric "$1")" = "$2"; }
am_has() { curl -s "http://127.0.0.1:$AMP/api/v2/alerts?active=true" |
	jq -e "[.[] | select(.labels.endpoint == \"127.0.0.1:$REG\" and .labels.kind == \"registrar\")] | length == 1"; }
am_gone() { curl -s "http://127.0.0.1:$AMP/api/v2/alerts?active=true" |
	jq -e "[.[] | select(.labels.endpoint == \"127.0.0.1:$REG\")] | length == 0"; }
open_alert_saved() {
	jq -e --arg e "127.0.0.1:$REG" '[.alerts[] | select(.labels.endpoint == $e and .resolved == false)]
		| length == 1' "$LAB/dstate/certprobed.state.json"
}
# net-snmp keeps a few allocations past snmp_shutdown(): suppressed by library name only
LSAN_OPTIONS=suppressions=$SRCDIR/tests/integration/lsan-netsnmp.supp${LSAN_OPTIONS:+:$LSAN_OPTIONS} \
	"$BIN/certprobed" -c "$LAB/daemon.yaml" >>"$LAB/daemon.log" 2>&1 &
DPID=$!
LAB_PIDS="$LAB_PIDS $DPID"
check "certprobed starts" until_true 10 curl -fs "http://127.0.0.1:$DPORT/-/healthy"
check "daemon: the TLS-DSK logon succeeds" until_true 15 metric_eq 'certprobe_transaction_success\{transaction="logon"' 1
check "daemon: the registrar endpoint is OK" until_true 10 \
	metric_eq "certprobe_endpoint_state\\{endpoint=\"127.0.0.1:$REG\".*state=\"ok\"" 1
if [ -n "$SNMP" ]; then
	check "daemon: SNMP endpoint table: the TLS-DSK registrar is ok(1)" until_true 20 ep_state_is 1
fi

registrar_stop
check "daemon: the stopped registrar turns HARD CRITICAL, logged as an alert" until_true 20 \
	logged "registrar 127.0.0.1:$REG: OK -> CRITICAL \(.*HARD"
check "daemon: /metrics shows the registrar CRITICAL" until_true 10 \
	metric_eq "certprobe_endpoint_state\\{endpoint=\"127.0.0.1:$REG\".*state=\"critical\"" 1
check "daemon: the open alert is in the state file" until_true 10 open_alert_saved
if [ -n "$AM" ]; then
	check "daemon: the alert reaches Alertmanager" until_true 10 am_has
fi
if [ -n "$SNMP" ]; then
	check "daemon: certprobeEndpointStateChange critical(3) reaches snmptrapd" until_true 20 trap_has 1 3
	check "daemon: SNMP endpoint table says critical(3)" until_true 5 ep_state_is 3
fi
RC=0
"$BIN/check_certprobe" -s "$LAB/dstate" -T logon >"$LAB/cp.txt" 2>&1 || RC=$?
check "daemon: check_certprobe reads the logon CRITICAL from the state file (exit 2)" [ "$RC" = 2 ]

registrar_start || { echo "FAIL - tlsdsk_registrar did not restart"; exit 1; }
check "daemon: the registrar recovers, logged" until_true 20 logged "registrar 127.0.0.1:$REG: CRITICAL -> OK"
check "daemon: /metrics shows the registrar OK again" until_true 10 \
	metric_eq "certprobe_endpoint_state\\{endpoint=\"127.0.0.1:$REG\".*state=\"ok\"" 1
if [ -n "$AM" ]; then
	check "daemon: the alert resolves in Alertmanager" until_true 15 am_gone
fi
if [ -n "$SNMP" ]; then
	check "daemon: the clear (certprobeEndpointStateClear, clear(1)) reaches snmptrapd" until_true 20 trap_has 2 1
fi
cp_ok() { "$BIN/check_certprobe" -s "$LAB/dstate" -T logon >/dev/null 2>&1; }
check "daemon: check_certprobe OK again (exit 0)" until_true 10 cp_ok
check "daemon: no secret in the daemon's log" sh -c "! grep -qE 'PRIVATE KEY|gssapi-data=|response=' '$LAB/daemon.log'"

kill "$DPID"
check "certprobed exits cleanly on SIGTERM" wait "$DPID"
check "the registrar double exits 0 on SIGTERM" registrar_stop
finish
