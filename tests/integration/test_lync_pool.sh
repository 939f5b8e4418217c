#!/bin/bash
# The "Lync pool" end to end on 127.0.0.1:19750-19799: phone-bootstrap (tests/peers/
# certprov_double) then a TLS-DSK logon (tests/peers/tlsdsk_registrar, sharing the
# double's published certificates and OCS CA) with certificate: {from: ...} and
# registrar: {from: ...}. certprobe run: before the bootstrap has run the logon is
# UNKNOWN registrar_not_discovered; after it both succeed and the registrar recorded in
# the bootstrap's state directory is used (rewritten only when it changes). certprobed:
# stopping the TLS-DSK registrar raises the registrar alert in every channel (log,
# Alertmanager CertprobeRegistrarState, SNMP certprobeEndpointStateChange critical
# through snmpd to snmptrapd, Nagios 4 passive CRITICAL through its command FIFO), and
# starting it clears each.
set -u
SRCDIR=${SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$SRCDIR/tests/lab/lib.sh"
. "$SRCDIR/tests/lab/snmp-lab.sh"
. "$SRCDIR/tests/lab/sip-lab.sh"
. "$SRCDIR/tests/lab/monitoring-lab.sh"
. "$SRCDIR/tests/integration/assert.sh"
lab_test_init
RC=0 OUT= ERR=

for t in certprov_double tlsdsk_registrar certprobe certprobed; do
	[ -x "$BIN/$t" ] || { echo "SKIP - $BIN/$t not built"; exit 77; }
done
for p in prometheus-alertmanager snmpd snmptrapd snmpget nagios4; do
	command -v $p >/dev/null || { echo "FAIL - $p is not installed (scripts/bootstrap installs it)"; exit 1; }
done

HTTPS=19750 ANON=19751 REG=19752 AMP=19753 DPORT=19754 SNMPP=19755 TRAPP=19756
P=$LAB/pki PUB=$LAB/published SVC=CertProv/CertProvisioningService.svc PIN=90441723
umask 077
"$SRCDIR/tests/peers/certprov_double/certprov-pki.sh" "$P" >/dev/null 2>&1 || { echo "FAIL - CertProv PKI"; exit 1; }
sip_lab_pki "$LAB/rig" >/dev/null || { echo "FAIL - registrar PKI"; exit 1; }
"$SRCDIR/tests/peers/tlsdsk_registrar/tlsdsk-pki.sh" "$LAB/dsk" "$LAB/rig" >/dev/null 2>&1 ||
	{ echo "FAIL - TLS-DSK PKI"; exit 1; }
echo "$PIN" >"$LAB/alice.pin"
mkdir -p "$PUB"

"$BIN/certprov_double" -p $HTTPS -a $ANON -c "$P/server-chain.pem" -k "$P/server.key" \
	--chain "$P/chain.pem" --ocs-cert "$P/ocs-ca.crt" --ocs-key "$P/ocs-ca.key" \
	--published-dir "$PUB" -u "phone=+14255550100,ext=1234,pin=$PIN,sip=sip:alice@example.com" \
	>"$LAB/double.out" 2>"$LAB/double.err" &
LAB_PIDS="$LAB_PIDS $!"
until_true 15 grep -q ready "$LAB/double.out" || { echo "FAIL - certprov_double did not start"; cat "$LAB/double.err"; exit 1; }

REGPID=
registrar_start() {
	: >"$LAB/registrar.out"
	"$BIN/tlsdsk_registrar" -p $REG -c "$LAB/dsk/registrar-chain.crt" -k "$LAB/dsk/registrar.key" \
		--ca "$P/ocs-ca.crt" --published-dir "$PUB" -v >"$LAB/registrar.out" 2>>"$LAB/registrar.log" &
	REGPID=$!
	LAB_PIDS="$LAB_PIDS $REGPID"
	until_true 10 grep -q '^ready$' "$LAB/registrar.out"
}
registrar_stop() {
	kill "$REGPID" 2>/dev/null
	wait "$REGPID"
}
registrar_start || { echo "FAIL - tlsdsk_registrar did not start"; cat "$LAB/registrar.log"; exit 1; }

# pool STATE_DIR: the two transactions of the pool (the bootstrap names the registrar)
pool() {
	cat <<YAML
  - name: lpe-alice
    type: phone-bootstrap
    discover: {certprov_url: https://127.0.0.1:$HTTPS/$SVC, registrar: "127.0.0.1:$REG"}
    root_chain: http://127.0.0.1:$ANON/$SVC
    phone: "+14255550100"
    pin: {file: $LAB/alice.pin}
    sip_uri: sip:alice@example.com
    trust_store: $P/root.crt
    issuer_ca: $P/ocs-ca.crt
  - name: lpe-alice-logon
    type: client-auth
    auth: tls-dsk
    registrar: {from: lpe-alice}
    sip_uri: sip:alice@example.com
    certificate: {from: lpe-alice}
    trust_store: $LAB/rig/trust.pem
YAML
}
{
	echo "probe: {state_dir: $LAB/state}"
	echo "defaults: {timeout: 8s}"
	echo "transactions:"
	pool
} >"$LAB/run.yaml"
chmod 600 "$LAB/run.yaml"
r() { printf '%s' "$OUT" | jq -r --arg n "$1" ".[] | select(.name == \$n) | .$2"; }
stepd() { printf '%s' "$OUT" | jq -r --arg n "$1" --arg s "$2" '.[] | select(.name == $n) | .steps[] | select(.name == $s) | .detail' | head -1; }

# ---- before the bootstrap ever ran: a clear UNKNOWN, no crash ----
probe "$LAB/run.yaml" lpe-alice-logon
check "logon alone: UNKNOWN registrar_not_discovered" [ "$(r lpe-alice-logon status)" = registrar_not_discovered ]
check "logon alone: says which bootstrap" contains "$(r lpe-alice-logon error_detail)" "registrar not yet discovered by lpe-alice"
check "logon alone: exit 3 (UNKNOWN)" [ "$RC" = 3 ]

# ---- the pool: bootstrap, then the logon at the registrar it recorded ----
probe "$LAB/run.yaml"
check "run: the bootstrap first, then the logon" jqtest '(.[0].name == "lpe-alice") and (.[1].name == "lpe-alice-logon")'
check "run: lpe-alice ok" [ "$(r lpe-alice status)" = ok ]
check "run: lpe-alice-logon ok" [ "$(r lpe-alice-logon status)" = ok ]
check "run: exit 0" [ "$RC" = 0 ]
check "run: the bootstrap recorded its registrar" [ "$(cat "$LAB/state/txn/lpe-alice/registrar")" = "127.0.0.1:$REG" ]
check "run: ... the fact says so" contains "$(r lpe-alice details.registrar_recorded)" "127.0.0.1:$REG"
check "run: the logon used it" contains "$(stepd lpe-alice-logon registrar)" "127.0.0.1:$REG, as lpe-alice recorded it"
check "run: the logon's steps" [ "$(printf '%s' "$OUT" | jq -c '.[] | select(.name == "lpe-alice-logon") | [.steps[].name]')" = \
	'["registrar","certificate","connect","tls_handshake","challenge","dsk_handshake","register","unregister"]' ]
check "run: the registrar took the signed REGISTER" grep -q "REGISTER sip:alice@example.com cseq .* -> 200 OK" "$LAB/registrar.log"
before=$(stat -c %Y.%i "$LAB/state/txn/lpe-alice/registrar")
probe "$LAB/run.yaml"
check "run again: both ok" jqtest 'all(.[]; .status == "ok")'
check "run again: the registrar file is not rewritten when unchanged" \
	[ "$(stat -c %Y.%i "$LAB/state/txn/lpe-alice/registrar")" = "$before" ]
check "run again: ... and says so" contains "$(r lpe-alice details.registrar_recorded)" "(unchanged)"
# a registrar line from before (another pool) is replaced by the next successful bootstrap
echo "pool9.example.com:5061" >"$LAB/state/txn/lpe-alice/registrar"
probe "$LAB/run.yaml"
check "changed: both ok" jqtest 'all(.[]; .status == "ok")'
check "changed: the file holds the registrar again" [ "$(cat "$LAB/state/txn/lpe-alice/registrar")" = "127.0.0.1:$REG" ]
check "changed: the fact does not say unchanged" [ "$(r lpe-alice details.registrar_recorded)" = "127.0.0.1:$REG" ]
# a file that holds no host:port: UNKNOWN, said so (the bootstrap alone is not run here)
echo "no port here" >"$LAB/state/txn/lpe-alice/registrar"
probe "$LAB/run.yaml" lpe-alice-logon
check "malformed: UNKNOWN registrar_not_discovered" [ "$(r lpe-alice-logon status)" = registrar_not_discovered ]
check "malformed: says what the file lacks" contains "$(r lpe-alice-logon error_detail)" "holds no host:port"
probe "$LAB/run.yaml"
"$BIN/certprobe" run -c "$LAB/run.yaml" >"$LAB/report.txt" 2>&1
check "text report: both Result Success" [ "$(grep -c '^Result      : Success' "$LAB/report.txt")" = 2 ]
check "no PIN or key in the output" sh -c "! grep -qE '$PIN|PRIVATE KEY' '$LAB/out.json' '$LAB/report.txt'"

# ---- certprobed with every channel ----
printf 'route: {receiver: "null"}\nreceivers: [{name: "null"}]\n' >"$LAB/am.yml"
mkdir -p "$LAB/am"
/usr/bin/prometheus-alertmanager --config.file="$LAB/am.yml" --storage.path="$LAB/am" \
	--web.listen-address=127.0.0.1:$AMP --cluster.listen-address= >"$LAB/am.log" 2>&1 &
LAB_PIDS="$LAB_PIDS $!"
check "Alertmanager ready" until_true 15 curl -fs "http://127.0.0.1:$AMP/-/ready"

snmp_lab_start "$SNMPP" "$TRAPP"

N=$LAB/nagios
mkdir -p "$N"
mon_nagios_cfg "$N" "$BIN" "$SRCDIR/config/nagios/certprobe-commands.cfg"
cat >>"$N/objects.cfg" <<CFG
define service {
	use generic-service
	host_name certprobe-host
	service_description registrar 127.0.0.1:$REG
	check_command certprobe_stale
	active_checks_enabled 0
	passive_checks_enabled 1
	max_check_attempts 1
}
CFG
check "nagios4 -v accepts the configuration" quiet nagios4 -v "$N/nagios.cfg"
mon_nagios_start "$N"
check "Nagios's command FIFO is there" until_true 15 test -p "$N/nagios.cmd"

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
	echo "  snmp: {agentx: \"unix:$LAB/agentx.sock\", ping_interval: 1s}"
	echo "defaults: {interval: 1s, timeout: 3s, max_attempts: 2}"
	echo "alerting:"
	echo "  alertmanager: {urls: [http://127.0.0.1:$AMP], resend_interval: 5s}"
	echo "  nagios: {command_file: $N/nagios.cmd, refresh: 2s}"
	echo "transactions:"
	pool
} >"$LAB/daemon.yaml"
chmod 600 "$LAB/daemon.yaml"
logged() { grep -qE -- "$1" "$LAB/daemon.log"; }
metric() { curl -s "http://127.0.0.1:$DPORT/metrics" | grep -E "^$1" | head -1 | awk '{print $NF}'; }
metric_eq() { test "$(metric "$1")" = "$2"; }
am_has() { curl -s "http://127.0.0.1:$AMP/api/v2/alerts?active=true" |
	jq -e "[.[] | select(.labels.alertname == \"CertprobeRegistrarState\" and .labels.endpoint == \"127.0.0.1:$REG\")] | length == 1"; }
am_gone() { curl -s "http://127.0.0.1:$AMP/api/v2/alerts?active=true" |
	jq -e "[.[] | select(.labels.endpoint == \"127.0.0.1:$REG\")] | length == 0"; }
nagios_is() { mon_nagios_svc_is "$N" "registrar 127.0.0.1:$REG" "$1"; }

LSAN_OPTIONS=suppressions=$SRCDIR/tests/integration/lsan-netsnmp.supp${LSAN_OPTIONS:+:$LSAN_OPTIONS} \
	"$BIN/certprobed" -c "$LAB/daemon.yaml" >>"$LAB/daemon.log" 2>&1 &
DPID=$!
LAB_PIDS="$LAB_PIDS $DPID"
check "certprobed starts" until_true 10 curl -fs "http://127.0.0.1:$DPORT/-/healthy"
check "daemon: the bootstrap succeeds" until_true 20 metric_eq 'certprobe_transaction_success\{transaction="lpe-alice"' 1
check "daemon: the TLS-DSK logon succeeds" until_true 20 metric_eq 'certprobe_transaction_success\{transaction="lpe-alice-logon"' 1
check "daemon: the registrar endpoint (the recorded one) is OK" until_true 10 \
	metric_eq "certprobe_endpoint_state\\{endpoint=\"127.0.0.1:$REG\".*state=\"ok\"" 1
check "daemon: SNMP endpoint table: the registrar ok(1)" until_true 20 ep_state_is 1
check "daemon: Nagios: the registrar's service OK" until_true 20 nagios_is 0

registrar_stop
check "stopped: the log says HARD CRITICAL" until_true 20 logged "registrar 127.0.0.1:$REG: OK -> CRITICAL \(.*HARD"
check "stopped: Alertmanager has CertprobeRegistrarState" until_true 15 am_has
check "stopped: certprobeEndpointStateChange critical(3) reaches snmptrapd" until_true 20 trap_has 1 3
check "stopped: Nagios: the registrar's service CRITICAL (2)" until_true 20 nagios_is 2

registrar_start || { echo "FAIL - tlsdsk_registrar did not restart"; exit 1; }
check "started: the log says it recovered" until_true 20 logged "registrar 127.0.0.1:$REG: CRITICAL -> OK"
check "started: the Alertmanager alert resolves" until_true 20 am_gone
check "started: the clear (certprobeEndpointStateClear, clear(1)) reaches snmptrapd" until_true 20 trap_has 2 1
check "started: Nagios: the registrar's service OK again" until_true 20 nagios_is 0
check "daemon: no PIN or key material in its log" sh -c "! grep -qE '$PIN|PRIVATE KEY|gssapi-data=' '$LAB/daemon.log'"

kill "$DPID"
check "certprobed exits cleanly on SIGTERM" wait "$DPID"
finish
