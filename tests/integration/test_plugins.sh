#!/bin/bash
# The monitoring plugins and the integration files against the real programs, on
# 127.0.0.1:19200-19219: scepserver and Kamailio (mutual TLS) as peers, certprobed
# writing its state; check_enrollment, check_clientauth and check_certprobe in every
# state (OK, WARNING, CRITICAL after the registrar stops, UNKNOWN for stale state and bad
# usage); --list/--discovery; no secret in any output. Then the shipped files in the real
# daemons: icinga2 daemon -C and a foreground Icinga 2 that runs the CheckCommand and
# takes a passive result through its API; nagios4 -v and a foreground Nagios 4 that runs
# the command and reads PROCESS_SERVICE_CHECK_RESULT from its FIFO; zabbix_agentd -t on
# every UserParameter and a foreground agent answering over the Zabbix protocol; the
# template through Zabbix's own import validator.
set -u
SRCDIR=${SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$SRCDIR/tests/lab/lib.sh"
. "$SRCDIR/tests/lab/sip-lab.sh"
. "$SRCDIR/tests/lab/monitoring-lab.sh"
. "$SRCDIR/tests/integration/assert.sh"
lab_test_init

SCEP=19200 KAM=19201 REFUSED=19209 DPORT=19210 ICINGA=19211 ZBX=19212 # Kamailio also takes KAM+1

umask 077
openssl rand -hex 12 >"$LAB/challenge"
CHALLENGE=$(cat "$LAB/challenge")
lab_scepserver "$LAB/ca" $SCEP -challenge "$CHALLENGE" -allowrenew 0 || exit 1
sip_lab_pki "$LAB/pki" >/dev/null || exit 1
P=$LAB/pki
cat "$P/client-cas.pem" "$LAB/ca/depot/ca.pem" >"$LAB/client-cas.pem"
sip_lab_kamailio "$LAB/kam" $KAM "$LAB/client-cas.pem" || exit 1

# plugin NAME ARGS...: run BIN/NAME, keep stdout in $OUT, exit code in $RC
plugin() {
	local p=$1
	shift
	RC=0
	OUT=$("$BIN/$p" "$@" 2>"$LAB/plugin.err") || RC=$?
	echo "$OUT" >>"$LAB/all-output.txt"
}
first_line() { printf '%s\n' "$OUT" | head -1; }
short_line() { [ "$(first_line | sed 's/ | .*//' | wc -c)" -le 80 ]; }
CA=(--sip-uri sip:alice@rig.test --trust-store "$P/trust.pem" --tls-name registrar.rig.test)

# ---- check_clientauth ----
plugin check_clientauth -H 127.0.0.1 -p $KAM "${CA[@]}" --cert "$P/alice.crt" --key "$P/alice.key" -n pool1-logon
check "check_clientauth: OK against Kamailio (exit 0)" [ "$RC" = 0 ]
check "check_clientauth: the status line" contains "$(first_line)" "CERTPROBE CLIENTAUTH OK - pool1-logon: transaction completed in"
check "check_clientauth: the status line is under 80 characters" short_line
check "check_clientauth: one line per step" contains "$OUT" '\_[OK] tls_handshake'
check "check_clientauth: perfdata for the steps, the total and the certificates" \
	grep -qE "'tls_handshake'=[0-9.]+s;;;0 .*'time'=[0-9.]+s;;;0;10 'client_cert_days'=[0-9.]+;30: 'server_cert_days'" <<<"$OUT"
plugin check_clientauth -H 127.0.0.1 -p $KAM "${CA[@]}" --cert "$P/alice.crt" --key "$P/alice.key" --step-warn tls_handshake=@0:100
check "check_clientauth: a step threshold makes it WARNING (exit 1)" [ "$RC" = 1 ]
check "check_clientauth: the step's perfdata carries the threshold" contains "$OUT" "'tls_handshake'="
plugin check_clientauth -H 127.0.0.1 -p $KAM "${CA[@]}" --cert "$P/alice.crt" --key "$P/alice.key" --days-crit 10000:
check "check_clientauth: --days-crit 10000: is CRITICAL (exit 2)" [ "$RC" = 2 ]
plugin check_clientauth -H 127.0.0.1 -p $KAM "${CA[@]}"
check "check_clientauth: no certificate: CRITICAL (exit 2)" [ "$RC" = 2 ]
check "check_clientauth: ... with the Diagnosis" contains "$OUT" "Diagnosis: "
plugin check_clientauth -H 127.0.0.1 -p $REFUSED "${CA[@]}"
check "check_clientauth: connection refused is CRITICAL, not UNKNOWN" [ "$RC" = 2 ]
check "check_clientauth: ... and says so" contains "$(first_line)" "connection refused"
plugin check_clientauth -H 127.0.0.1
check "check_clientauth: a usage error is UNKNOWN (exit 3)" [ "$RC" = 3 ]
plugin check_clientauth --help
check "check_clientauth --help exits 3" [ "$RC" = 3 ]
check "check_clientauth --help documents ranges and exit codes" \
	bash -c 'grep -q "@10:20" <<<"$1" && grep -q "Exit status" <<<"$1"' _ "$OUT"
plugin check_clientauth -V
check "check_clientauth -V exits 3 with the version" bash -c '[ "$1" = 3 ] && grep -q "certprobe" <<<"$2"' _ "$RC" "$OUT"
plugin check_clientauth -w 1:x -H 127.0.0.1 "${CA[@]}"
check "check_clientauth: a bad range is a usage error (exit 3)" [ "$RC" = 3 ]

# ---- check_enrollment ----
plugin check_enrollment -u http://127.0.0.1:$SCEP/scep --challenge-file "$LAB/challenge" -n enroll
check "check_enrollment: scepserver's DES/SHA-1 is WARNING (exit 1)" [ "$RC" = 1 ]
check "check_enrollment: the findings are subchecks" contains "$OUT" '\_[WARNING] scep_weak_cipher'
check "check_enrollment: issued_cert_days perfdata" contains "$OUT" "'issued_cert_days'="
plugin check_enrollment -u http://127.0.0.1:$REFUSED/scep --challenge-file "$LAB/challenge"
check "check_enrollment: refused is CRITICAL" [ "$RC" = 2 ]
plugin check_enrollment -u http://127.0.0.1:$SCEP/scep --challenge-file /nonexistent
check "check_enrollment: an unreadable challenge file is UNKNOWN (the probe's side)" [ "$RC" = 3 ]

# ---- certprobed and check_certprobe ----
cat >"$LAB/certprobe.yaml" <<YAML
probe:
  state_dir: $LAB/state
  listen: 127.0.0.1:$DPORT
defaults:
  interval: 1s
  timeout: 1500ms
  max_attempts: 1
transactions:
  - name: enroll
    type: enrollment
    protocol: scep
    url: http://127.0.0.1:$SCEP/scep
    challenge: {file: $LAB/challenge}
    subject: CN=certprobe-plugins,O=Example
    interval: 30s
  - name: logon
    type: client-auth
    registrar: {host: 127.0.0.1, port: $KAM, tls_name: registrar.rig.test}
    sip_uri: sip:certprobe-plugins@rig.test
    certificate: {from: enroll}
    trust_store: $P/trust.pem
YAML
"$BIN/certprobed" -c "$LAB/certprobe.yaml" >"$LAB/daemon.log" 2>&1 &
DPID=$!
LAB_PIDS="$LAB_PIDS $DPID"
S=(-s "$LAB/state")
cp_is() { plugin check_certprobe "${S[@]}" "${@:2}"; [ "$RC" = "$1" ]; } # RC ARGS...
check "check_certprobe -T logon: OK once the daemon ran it" until_true 20 cp_is 0 -T logon
plugin check_certprobe "${S[@]}" -T logon
check "check_certprobe: the status line names the transaction" contains "$(first_line)" "CERTPROBE CLIENTAUTH OK - logon:"
check "check_certprobe: the daemon's HARD state is a subcheck" contains "$OUT" '\_[OK] daemon: OK HARD'
check "check_certprobe: perfdata from the last run" contains "$OUT" "'time'="
plugin check_certprobe "${S[@]}" -E 127.0.0.1:$KAM
check "check_certprobe -E: the registrar is OK" [ "$RC" = 0 ]
check "check_certprobe -E: its transactions are listed" contains "$OUT" '\_[OK] logon: OK HARD'
plugin check_certprobe "${S[@]}" --list
check "check_certprobe --list: the transactions and endpoints" \
	bash -c 'grep -qx "transaction logon client-auth 127.0.0.1:'$KAM'" <<<"$1" && grep -qx "endpoint 127.0.0.1:'$KAM' registrar" <<<"$1"' _ "$OUT"
plugin check_certprobe "${S[@]}" --discovery
check "check_certprobe --discovery: Zabbix LLD JSON" \
	jq -e 'map(select(."{#OBJECT}" == "transaction" and ."{#NAME}" == "logon")) | length == 1' <<<"$OUT"
plugin check_certprobe "${S[@]}" --discovery=endpoints
check "check_certprobe --discovery=endpoints: only endpoints" jq -e 'all(."{#OBJECT}" == "endpoint") and length == 2' <<<"$OUT"
plugin check_certprobe "${S[@]}" -T nope
check "check_certprobe: an unknown transaction is UNKNOWN" [ "$RC" = 3 ]
plugin check_certprobe -s "$LAB/nowhere" -T logon
check "check_certprobe: no state file is UNKNOWN" [ "$RC" = 3 ]
jq '.transactions |= map(.last_run = 1000)' "$LAB/state/certprobed.state.json" >"$LAB/stale.json"
plugin check_certprobe --state "$LAB/stale.json" -T logon
check "check_certprobe: stale state (a stopped daemon) is UNKNOWN" [ "$RC" = 3 ]
check "... and says when it last ran" contains "$(first_line)" "logon: last run "
plugin check_certprobe --state "$LAB/stale.json" -T logon --stale-critical
check "check_certprobe --stale-critical: CRITICAL" [ "$RC" = 2 ]
t0=$(date +%s%N)
for i in 1 2 3 4 5 6 7 8 9 10; do "$BIN/check_certprobe" "${S[@]}" -T logon >/dev/null; done
t1=$(date +%s%N)
echo "     check_certprobe answer time: $(((t1 - t0) / 10000)) us per run (10 runs)"

# ---- the registrar goes down ----
sip_lab_kamailio_stop "$LAB/kam"
check "check_certprobe -T logon: CRITICAL once Kamailio is gone" until_true 20 cp_is 2 -T logon
plugin check_certprobe "${S[@]}" -T logon
check "check_certprobe: the CRITICAL status line says why" contains "$(first_line)" "CERTPROBE CLIENTAUTH CRITICAL - logon: connection refused"
check "check_certprobe: the daemon's recent runs are a subcheck" grep -Eq '^\\_\[OK\] recent: [0-9]+ runs in [0-9]+ (s|min): [0-9]+ OK, [0-9]+ CRITICAL; last failure [0-9]+ s ago \(tcp_refused\)$' <<<"$OUT"
check "check_certprobe: ok_ratio perfdata below 100 %" grep -Eq "'ok_ratio'=[0-9.]+%;;;0;100" <<<"$OUT"
check "check_certprobe -E: the registrar is CRITICAL" cp_is 2 -E 127.0.0.1:$KAM
plugin check_clientauth -H 127.0.0.1 -p $KAM "${CA[@]}" --cert "$P/alice.crt" --key "$P/alice.key"
check "check_clientauth: CRITICAL with the registrar down" [ "$RC" = 2 ]

# ---- Icinga 2 ----
I=$LAB/icinga
mon_icinga_ca "$LAB/ica"
mon_icinga_node "$I" certprobe-test "$LAB/ica"
mapfile -t IDEF < <(mon_icinga_defines "$I")
cat >"$I/etc/icinga2.conf" <<CONF
const PluginDir = "$BIN"
const NodeName = "certprobe-test"
const ZoneName = NodeName
const TicketSalt = ""
include <itl>
include <plugins>
include "$SRCDIR/config/icinga2/certprobe-commands.conf"
include "$SRCDIR/config/icinga2/certprobe-services.conf"
template Service "generic-service" { check_interval = 1s; retry_interval = 1s }
object Host "probe-host" {
	check_command = "dummy"
	enable_active_checks = false
	vars.certprobe_transactions = [ "logon" ]
	vars.certprobe_endpoints = [ "127.0.0.1:$KAM" ]
	vars.certprobe_passive = [ "logon" ]
	vars.certprobe_state_dir = "$LAB/state"
}
object Endpoint NodeName { }
object Zone ZoneName { endpoints = [ NodeName ] }
object ApiListener "api" { bind_host = "127.0.0.1"; bind_port = $ICINGA; accept_commands = true }
object ApiUser "certprobe" { password = "lab-api-pw"; permissions = [ "*" ] }
object CheckerComponent "checker" { }
CONF
check "icinga2 daemon -C accepts the shipped CheckCommands and services" mon_icinga_check "$I"
sed 's/required = true/required = maybe/' "$SRCDIR/config/icinga2/certprobe-commands.conf" >"$I/etc/broken.conf"
RC=0
icinga2 daemon -C -c "$I/etc/broken.conf" "${IDEF[@]}" >"$I/broken.out" 2>&1 || RC=$?
check "icinga2 daemon -C refuses a broken copy (the validation is real)" [ "$RC" != 0 ]
mon_icinga_start "$I"
IPID=$MON_PID
api() { curl -s -k -u certprobe:lab-api-pw -H 'Accept: application/json' "$@"; }
svc_state() { api "https://127.0.0.1:$ICINGA/v1/objects/services/probe-host!$1?attrs=state&attrs=last_check" | jq -e ".results[0].attrs.state == $2 and .results[0].attrs.last_check > 0"; }
check "Icinga 2's API answers" until_true 15 api "https://127.0.0.1:$ICINGA/v1/status"
api -X POST "https://127.0.0.1:$ICINGA/v1/actions/reschedule-check" \
	-d '{"type":"Service","filter":"match(\"certprobe-*\", service.name)","force":true}' >/dev/null
check "Icinga 2 runs check_certprobe: certprobe-logon CRITICAL (2)" until_true 15 svc_state certprobe-logon 2
check "Icinga 2 runs check_certprobe -E: the registrar CRITICAL (2)" until_true 15 svc_state certprobe-endpoint-127.0.0.1:$KAM 2
out=$(api "https://127.0.0.1:$ICINGA/v1/objects/services/probe-host!certprobe-logon?attrs=last_check_result" | jq -r '.results[0].attrs.last_check_result.output')
check "Icinga 2 shows the plugin's status line" contains "$out" "CERTPROBE CLIENTAUTH CRITICAL - logon:"
api -X POST "https://127.0.0.1:$ICINGA/v1/actions/process-check-result" -d "$(jq -n \
	--arg out "$("$BIN/check_certprobe" "${S[@]}" -T logon)" '{type:"Service",
	filter:"host.name==\"probe-host\" && service.name==\"certprobe-passive-logon\"",
	exit_status:2, plugin_output:$out, check_source:"certprobed", ttl:60}')" >"$I/passive.json"
check "Icinga 2 takes a passive result for the dummy service" until_true 5 svc_state certprobe-passive-logon 2

# ---- Nagios 4 ----
N=$LAB/nagios
mkdir -p "$N"
mon_nagios_cfg "$N" "$BIN" "$SRCDIR/config/nagios/certprobe-commands.cfg" "$SRCDIR/config/nagios/certprobe-services.cfg"
cat >>"$N/objects.cfg" <<CFG
define service {
	use generic-service
	host_name certprobe-host
	service_description certprobe logon
	check_command check_certprobe_transaction!logon!-s $LAB/state
	max_check_attempts 1
}
CFG
check "nagios4 -v accepts the shipped commands and services" quiet nagios4 -v "$N/nagios.cfg"
mon_nagios_start "$N"
svc_status() { mon_nagios_svc_is "$N" "$@"; } # DESCRIPTION STATE
check "Nagios runs check_certprobe: 'certprobe logon' CRITICAL (2)" until_true 20 svc_status "certprobe logon" 2
check "Nagios's FIFO is there" until_true 10 test -p "$N/nagios.cmd"
printf '[%s] PROCESS_SERVICE_CHECK_RESULT;certprobe-host;pool1-logon;2;%s\n' "$(date +%s)" \
	"$("$BIN/check_certprobe" "${S[@]}" -T logon | head -1)" >"$N/nagios.cmd"
check "Nagios reads the passive result into status.dat" until_true 10 svc_status pool1-logon 2

# ---- Zabbix ----
Z=$LAB/zabbix
mkdir -p "$Z"
sed -e "s|/usr/lib/nagios/plugins/check_certprobe|$BIN/check_certprobe -s $LAB/state|" \
	-e "s|/usr/bin/certprobe status|$BIN/certprobe status -s $LAB/state|" \
	"$SRCDIR/config/zabbix/certprobe-userparameters.conf" >"$Z/certprobe.conf"
cat >"$Z/agentd.conf" <<CFG
LogType=console
PidFile=$Z/agentd.pid
AllowRoot=1
ListenIP=127.0.0.1
ListenPort=$ZBX
Server=127.0.0.1
StartAgents=2
Include=$Z/certprobe.conf
CFG
zt() { zabbix_agentd -c "$Z/agentd.conf" -t "$1" 2>&1; }
out=$(zt certprobe.discovery)
check "zabbix_agentd -t certprobe.discovery: the LLD JSON" contains "$out" '"{#NAME}":"logon"'
out=$(zt 'certprobe.discovery.kind[endpoints]')
check "zabbix_agentd -t certprobe.discovery.kind[endpoints]" contains "$out" '"{#OBJECT}":"endpoint"'
out=$(zt certprobe.status)
check "zabbix_agentd -t certprobe.status: the state as JSON" contains "$out" '"transactions"'
out=$(zt 'certprobe.check[logon]')
check "zabbix_agentd -t certprobe.check[logon]: 2 (CRITICAL)" contains "$out" '[t|2]'
out=$(zt certprobe.nope)
check "zabbix_agentd -t on an unknown key says ZBX_NOTSUPPORTED (the test can tell)" contains "$out" ZBX_NOTSUPPORTED
zabbix_agentd -f -c "$Z/agentd.conf" >"$Z/agentd.out" 2>&1 &
LAB_PIDS="$LAB_PIDS $!"
zget() { # KEY: one Zabbix-protocol request (ZBXD\1, 8-byte little-endian length, key)
	python3 - "$ZBX" "$1" <<'PY'
import socket, struct, sys
k = sys.argv[2].encode()
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5)
s.sendall(b"ZBXD\x01" + struct.pack("<Q", len(k)) + k)
d = b""
while True:
    c = s.recv(65536)
    if not c:
        break
    d += c
assert d[:5] == b"ZBXD\x01", d[:5]
n = struct.unpack("<Q", d[5:13])[0]
print(d[13:13 + n].decode())
PY
}
check "the Zabbix agent listens" lab_wait_port $ZBX 10
out=$(zget certprobe.discovery 2>&1)
check "the agent answers certprobe.discovery over the Zabbix protocol" contains "$out" '"{#NAME}":"logon"'
out=$(zget 'certprobe.check[logon]' 2>&1)
check "the agent answers certprobe.check[logon] = 2" [ "$out" = 2 ]
ZF=${ZABBIX_FRONTEND:-/usr/share/zabbix}
if [ -f "$ZF/include/classes/import/CConfigurationImport.php" ]; then
	check "Zabbix's import validator accepts the template" \
		quiet php "$SRCDIR/tests/integration/zabbix_validate.php" "$ZF" "$SRCDIR/config/zabbix/certprobe-template.yaml"
	sed 's/type: DEPENDENT/type: DEPENDANT/' "$SRCDIR/config/zabbix/certprobe-template.yaml" >"$Z/bad.yaml"
	check "... and refuses a broken copy" bash -c '! php "$1" "$2" "$3" >/dev/null 2>&1' _ \
		"$SRCDIR/tests/integration/zabbix_validate.php" "$ZF" "$Z/bad.yaml"
else
	check "zabbix-frontend-php is installed (scripts/bootstrap)" false
fi

# ---- no secret anywhere ----
check "no plugin output holds the challenge" bash -c '! grep -qF "$1" "$2"' _ "$CHALLENGE" "$LAB/all-output.txt"
check "no plugin output holds a private key" bash -c '! grep -q "PRIVATE KEY" "$1"' _ "$LAB/all-output.txt"

# the Icinga 2 umbrella process stops its children itself
kill "$IPID" 2>/dev/null
wait "$IPID" 2>/dev/null
finish
