#!/bin/bash
# certprobed's AgentX subagent against real net-snmp on 127.0.0.1:19100-19199: a private
# snmpd (master agentx on a unix socket in the lab, v2c community and a v3 authPriv user),
# two snmptrapd (one behind trap2sink, one behind informsink), scepserver and Kamailio.
# Every table walked with v2c and v3 (numeric, and with the MIB when the IETF modules are
# there) and checked against /metrics; Kamailio stopped: the registrar's state change
# reaches both receivers, its clear too when Kamailio is back; snmpd killed: the daemon
# stays healthy, notifications raised meanwhile are counted as dropped, the subagent
# re-registers within the ping interval and re-announces the open problem; snmpd frozen
# (SIGSTOP): transactions keep their schedule and HTTP answers at once; SIGHUP applies a
# changed snmp section; no secret appears in any SNMP answer.
set -u
SRCDIR=${SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$SRCDIR/tests/lab/lib.sh"
. "$SRCDIR/tests/lab/sip-lab.sh"
. "$SRCDIR/tests/integration/assert.sh"
lab_test_init
RC=0 OUT= ERR=

SCEP=19100 KAM=19110 DPORT=19120 SNMPP=19121 TRAPP=19122 INFORMP=19123
for f in snmpd snmptrapd snmpwalk snmpget snmptable; do
	command -v "$f" >/dev/null || { echo "FAIL - $f is not installed (scripts/bootstrap installs it)"; exit 1; }
done
export MIBS= SNMP_PERSISTENT_DIR=$LAB/persist-cli SNMPCONFPATH=$LAB/cli-conf
mkdir -p "$LAB/cli-conf"
ROOT=.1.3.6.1.4.1.8072.9999.9999.1
OBJ=$ROOT.1
V2="-v2c -c cpmon -On -t 2 -r 1 127.0.0.1:$SNMPP"
V3="-v3 -l authPriv -u cpuser -a SHA-256 -A authpass123 -x AES -X privpass123 -On -t 2 -r 1 127.0.0.1:$SNMPP"

metric() { curl -s -m 5 "http://127.0.0.1:$DPORT/metrics" | grep -E "^$1" | head -1 | awk '{print $NF}'; }
metric_gt() { test "$(metric "$1")" -gt "$2" 2>/dev/null; }
# OID index of a string: length then its bytes
idx() { local s=$1 i out=${#1}; for ((i = 0; i < ${#s}; i++)); do out="$out.$(printf '%d' "'${s:i:1}")"; done; echo "$out"; }
sget() { snmpget $V2 -Oqv "$1" 2>/dev/null; }
walk() { snmpwalk $V2 "$@" 2>&1; }
not() { ! "$@"; }
holds() { eval "$1"; } # for until_true: re-evaluates its command substitutions each try

# ---- peers ----
umask 077
openssl rand -hex 12 >"$LAB/challenge"
CHALLENGE=$(cat "$LAB/challenge")
lab_scepserver "$LAB/ca" $SCEP -challenge "$CHALLENGE" -allowrenew 0 -crtvalid 365 || exit 1
fp=$(lab_fingerprint "$LAB/ca/depot/ca.pem")
sip_lab_pki "$LAB/pki" >/dev/null || exit 1
cat "$LAB/pki/client-cas.pem" "$LAB/ca/depot/ca.pem" >"$LAB/client-cas.pem"
sip_lab_kamailio "$LAB/kam" $KAM "$LAB/client-cas.pem" || exit 1

trapd_start() { # NAME PORT
	mkdir -p "$LAB/$1"
	cat >"$LAB/$1/snmptrapd.conf" <<EOF
[snmp] persistentDir $LAB/$1/persist
snmpTrapdAddr udp:127.0.0.1:$2
authCommunity log cptrap
format2 TRAP %V| %v\n
EOF
	MIBS= snmptrapd -f -Lf "$LAB/$1/trapd.log" -On -n -C -c "$LAB/$1/snmptrapd.conf" \
		-p "$LAB/$1/pid" >/dev/null 2>&1 &
	LAB_PIDS="$LAB_PIDS $!"
}
trapd_start traps $TRAPP
trapd_start informs $INFORMP
mkdir -p "$LAB/snmpd"
cat >"$LAB/snmpd/snmpd.conf" <<EOF
[snmp] persistentDir $LAB/snmpd/persist
agentaddress udp:127.0.0.1:$SNMPP
master agentx
agentXSocket $LAB/agentx.sock
agentXPerms 0660 0770
agentXTimeout 1
agentXRetries 1
view cpview included $ROOT
rocommunity cpmon 127.0.0.1 -V cpview
createUser cpuser SHA-256 "authpass123" AES "privpass123"
rouser cpuser priv -V cpview
trap2sink 127.0.0.1:$TRAPP cptrap
informsink 127.0.0.1:$INFORMP cptrap
EOF
SNMPD=
snmpd_start() {
	rm -rf "$LAB/snmpd/persist"
	MIBS= snmpd -f -Lf "$LAB/snmpd/snmpd.log" -C -c "$LAB/snmpd/snmpd.conf" -p "$LAB/snmpd/pid" &
	SNMPD=$!
	LAB_PIDS="$LAB_PIDS $SNMPD"
}
snmpd_stop() { # SIGTERM, and wait: it needs ~2 s to exit and keeps the port meanwhile
	kill "$SNMPD" 2>/dev/null
	wait "$SNMPD" 2>/dev/null
}
snmpd_start

cat >"$LAB/certprobe.yaml" <<YAML
probe:
  state_dir: $LAB/state
  listen: 127.0.0.1:$DPORT
  history: 5
  snmp:
    agentx: unix:$LAB/agentx.sock
    ping_interval: 1s
defaults:
  interval: 2s
  timeout: 1500ms
  max_attempts: 2
transactions:
  - name: enroll
    type: enrollment
    protocol: scep
    url: http://127.0.0.1:$SCEP/scep
    ca_fingerprint: $fp
    challenge: {file: $LAB/challenge}
    subject: CN=certprobe-snmp,O=Example
    key: {type: rsa, bits: 2048}
    interval: 30s
  - name: logon
    type: client-auth
    registrar: {host: 127.0.0.1, port: $KAM, tls_name: registrar.rig.test}
    sip_uri: sip:certprobe-snmp@rig.test
    certificate: {from: enroll}
    trust_store: $LAB/pki/trust.pem
  - name: expiring
    type: client-auth
    registrar: {host: 127.0.0.1, port: $((KAM + 2)), tls_name: registrar.rig.test}
    sip_uri: sip:alice@rig.test
    certificate: {cert: $LAB/pki/alice.crt, key: $LAB/pki/alice.key}
    trust_store: $LAB/pki/trust.pem
    warn: {expiry_days: 3650}
  - name: expired
    type: client-auth
    registrar: {host: 127.0.0.1, port: $((KAM + 2)), tls_name: registrar.rig.test}
    sip_uri: sip:alice@rig.test
    certificate: {cert: $LAB/pki/alice-expired.crt, key: $LAB/pki/alice-expired.key}
    trust_store: $LAB/pki/trust.pem
YAML
# net-snmp keeps a few allocations past snmp_shutdown(): suppressed by library name only
LSAN_OPTIONS=suppressions=$SRCDIR/tests/integration/lsan-netsnmp.supp${LSAN_OPTIONS:+:$LSAN_OPTIONS} \
	"$BIN/certprobed" -c "$LAB/certprobe.yaml" >>"$LAB/daemon.log" 2>&1 &
DPID=$!
LAB_PIDS="$LAB_PIDS $DPID"
until_true 10 curl -fs "http://127.0.0.1:$DPORT/-/healthy" || { echo "FAIL - certprobed did not start"; cat "$LAB/daemon.log"; exit 1; }

LOGON=$(idx logon) ENROLL=$(idx enroll) REG="1.$(idx "127.0.0.1:$KAM")"
logon_ok() { [ "$(sget "$OBJ.3.1.16.$LOGON")" = 1 ]; }
check "the subagent registers and the logon's result is served (success true)" until_true 20 logon_ok
check "/metrics: the subagent is connected" test "$(metric certprobe_snmp_agentx_connected)" = 1

# ---- every table, v2c and v3 ----
walk "$OBJ" >"$LAB/walk.txt"
for t in 1 2 3 4 5 6 7; do
	check "v2c walk: table $t has rows" grep -q "^$OBJ\\.$t\\." "$LAB/walk.txt"
done
check "v2c walk: nothing outside our subtree (the view is restricted)" \
	test "$(grep '^\.' "$LAB/walk.txt" | grep -vc "^$OBJ\\.")" = 0
snmpwalk $V3 "$OBJ" >"$LAB/walk3.txt" 2>&1
check "v3 authPriv walk answers the same tables" \
	test "$(cut -d' ' -f1 "$LAB/walk3.txt" | grep -c "^$OBJ\\.[1-7]\\.")" -ge "$(grep -c "^$OBJ\\.[2-7]\\." "$LAB/walk.txt")"
check "the walk ends in endOfMibView, not an error" not grep -qi "error\|timeout" "$LAB/walk.txt"
check "v2c GETBULK walk (snmpbulkwalk) returns what the GETNEXT walk did" \
	test "$(snmpbulkwalk $V2 "$OBJ" 2>/dev/null | grep -c "^$OBJ\\.[1-7]\\.")" -ge "$(grep -c "^$OBJ\\.[2-7]\\." "$LAB/walk.txt")"
check "GET of a missing row is noSuchInstance" \
	snmpget $V2 "$OBJ.3.1.1.$(idx nosuch)" | grep -q "No Such Instance"

# ---- equal to /metrics ----
check "txn table: type, protocol and endpoint of logon" test \
	"$(sget "$OBJ.2.1.2.$LOGON") $(sget "$OBJ.2.1.3.$LOGON") $(sget "$OBJ.2.1.4.$LOGON")" = \
	"\"client-auth\" \"sip-register\" \"127.0.0.1:$KAM\""
check "txn table: the interval (2000 ms) is /metrics' 2 s" test \
	"$(sget "$OBJ.2.1.5.$LOGON")" = "$(($(metric 'certprobe_transaction_interval_seconds\{transaction="logon"') * 1000))"
check "result table: state ok(1), hard" test "$(sget "$OBJ.3.1.1.$LOGON") $(sget "$OBJ.3.1.2.$LOGON")" = "1 1"
check "result table: the enrollment's reason is scepWeakDigest or scepWeakCipher (WARNING)" \
	grep -qE '^"scep_weak_(digest|cipher)"$' <<<"$(sget "$OBJ.3.1.7.$ENROLL")"
check "result table: protocol code of the logon is SIP 200" test "$(sget "$OBJ.3.1.9.$LOGON")" = 200
runs_equal() {
	local m s
	m=$(curl -s "http://127.0.0.1:$DPORT/metrics" | grep -E '^certprobe_transaction_runs_total\{transaction="logon"' | awk '{s += $NF} END {print s}')
	s=$(sget "$OBJ.3.1.14.$LOGON")
	[ -n "$s" ] && [ "$m" = "$s" ]
}
check "result table: runs (Counter64) equal the sum of /metrics' runs (within a snapshot)" until_true 10 runs_equal
na_equal() { # the server certificate's notAfter as DateAndTime = the metric's timestamp
	local hex y mo d h mi s ts
	hex=$(snmpget $V2 -Oqv -Ox "$OBJ.6.1.6.$LOGON.3" | tr -d '"')
	read -r y1 y2 mo d h mi s _ <<<"$hex"
	ts=$(date -u -d "$(printf '%d-%02d-%02d %02d:%02d:%02d' $((16#$y1$y2)) $((16#$mo)) $((16#$d)) $((16#$h)) $((16#$mi)) $((16#$s)))" +%s)
	[ "$ts" = "$(metric 'certprobe_certificate_not_after_timestamp_seconds\{transaction="logon".*role="server"')" ]
}
check "cert table: the server certificate's notAfter equals /metrics'" na_equal
check "cert table: a fingerprint is SHA-256 (algorithm 4, 32 octets)" \
	test "$(snmpget $V2 -Oqv -Ox "$OBJ.6.1.8.$LOGON.3" | tr -d '"' | tr -s ' \n' '\n' | grep -c .)" = 33
check "step table: the logon's steps include tls_handshake" \
	grep -q '"tls_handshake"' <<<"$(walk "$OBJ.4.1.2" | grep "\\.$LOGON\\.")"
history_rows() { walk "$OBJ.5.1.2" | grep -c "^$OBJ\\.5\\.1\\.2\\.$LOGON\\."; }
check "history table: the logon's ring fills up to probe.history (5)" until_true 15 holds '[ "$(history_rows)" = 5 ]'
check "endpoint table: the registrar is ok(1) with 1 transaction" \
	test "$(sget "$OBJ.7.1.3.$REG") $(sget "$OBJ.7.1.5.$REG")" = "1 1"
check "daemon scalars: the version" test "$(sget "$OBJ.1.1.0")" = "\"$("$BIN/certprobed" --version | cut -d' ' -f2)\""
check "no secret (the challenge password) in any SNMP answer" not grep -q "$CHALLENGE" "$LAB/walk.txt" "$LAB/walk3.txt"

# ---- certificate notifications: once per certificate ----
EXPIRING=$(idx expiring) EXPIRED=$(idx expired)
cert_traps() { # NOTIF TXN_INDEX: how many of that notification name the client certificate (role 2)
	grep "OID: $ROOT.0.$1|" "$LAB/traps/trapd.log" 2>/dev/null | grep -c "$OBJ.6.1.2.$2.2 = "
}
cert_told() { [ "$(cert_traps "$1" "$2")" -ge 1 ]; }
check "a client certificate within warn.expiry_days: certprobeCertificateExpiring reaches snmptrapd" \
	until_true 20 cert_told 4 "$EXPIRING"
check "... with its subject, notAfter and seconds to expiry" \
	sh -c "grep 'OID: $ROOT.0.4|' '$LAB/traps/trapd.log' | grep '$OBJ.6.1.2.$EXPIRING.2 = STRING: \"CN=alice' | grep -q '$OBJ.6.1.7.$EXPIRING.2 = INTEGER: [1-9]'"
check "an expired client certificate: certprobeCertificateExpired reaches snmptrapd" \
	until_true 20 cert_told 5 "$EXPIRED"
check "the expired certificate is not also told as expiring" test "$(cert_traps 4 "$EXPIRED")" = 0
exp_runs=$(curl -s "http://127.0.0.1:$DPORT/metrics" | grep -E '^certprobe_transaction_runs_total\{transaction="expiring"' | awk '{s += $NF} END {print s}')
more_runs() { [ "$(curl -s "http://127.0.0.1:$DPORT/metrics" | grep -E '^certprobe_transaction_runs_total\{transaction="expiring"' | awk '{s += $NF} END {print s}')" -ge $((exp_runs + 2)) ]; }
check "the expiring transaction runs twice more" until_true 15 more_runs
check "... and the notification is not repeated (once per certificate and daemon start)" \
	test "$(cert_traps 4 "$EXPIRING")" = 1
check "the daemon logs what it notified" grep -q "expiring: the client certificate (CN=alice.*expires within warn.expiry_days; SNMP notified" "$LAB/daemon.log"

# ---- named, with the MIB ----
IETF=${CERTPROBE_SMIPATH:-$SRCDIR/../shared/ietf-mibs}
if [ -f "$IETF/SNMPv2-SMI.txt" ]; then
	M="-M $IETF:/usr/share/snmp/mibs:$SRCDIR/mibs -m CERTPROBE-MIB"
	snmptable -v2c -c cpmon $M -Ci 127.0.0.1:$SNMPP CERTPROBE-MIB::certprobeResultTable >"$LAB/table.txt" 2>&1
	check "snmptable with the MIB: named columns, logon ok" grep -q "certprobeResultState" "$LAB/table.txt"
	for tb in certprobeTxnTable certprobeStepTable certprobeHistoryTable certprobeCertTable certprobeEndpointTable; do
		check "snmptable with the MIB (v3): $tb" \
			sh -c "snmptable -v3 -l authPriv -u cpuser -a SHA-256 -A authpass123 -x AES -X privpass123 $M -Ci 127.0.0.1:$SNMPP CERTPROBE-MIB::$tb | grep -q index"
	done
	check "snmpget with the MIB: the registrar's state reads ok" \
		sh -c "snmpget -v2c -c cpmon $M 127.0.0.1:$SNMPP 'CERTPROBE-MIB::certprobeEndpointState.registrar.\"127.0.0.1:$KAM\"' | grep -q 'ok(1)'"
else
	echo "skip - no IETF MIB modules at $IETF: named walks skipped"
fi

# ---- notifications: Kamailio stopped and started ----
trap_has() { # LOG NOTIF SEVERITY: a notification of that OID for the registrar, with that severity
	grep "OID: $ROOT.0.$2|" "$LAB/$1/trapd.log" 2>/dev/null | grep "$OBJ.7.1.3.$REG = " | grep -q "$OBJ.8.3.0 = INTEGER: $3"
}
sip_lab_kamailio_stop "$LAB/kam"
check "registrar hard CRITICAL: certprobeEndpointStateChange critical(3) reaches snmptrapd (trap)" \
	until_true 20 trap_has traps 1 3
check "... and the inform receiver" until_true 5 trap_has informs 1 3
check "... carrying a sequence number and the previous state ok(1)" \
	sh -c "grep 'OID: $ROOT.0.1|' '$LAB/traps/trapd.log' | grep -q '$OBJ.8.1.0 = Gauge32: [0-9]' && grep 'OID: $ROOT.0.1|' '$LAB/traps/trapd.log' | grep -q '$OBJ.8.2.0 = INTEGER: 1'"
check "the endpoint table says critical(3)" until_true 5 holds '[ "$(sget "$OBJ.7.1.3.$REG")" = 3 ]'
check "a transaction state change was sent too (certprobeTransactionStateChange)" \
	until_true 5 grep -q "OID: $ROOT.0.3|" "$LAB/traps/trapd.log"
sip_lab_kamailio_restart "$LAB/kam" || exit 1
check "Kamailio back: the clear (certprobeEndpointStateClear, clear(1)) reaches snmptrapd" \
	until_true 20 trap_has traps 2 1
check "... and the inform receiver" until_true 5 trap_has informs 2 1

# ---- snmpd killed: counted while away, reconnect, re-announce ----
snmpd_stop
check "snmpd gone: /metrics says disconnected" until_true 10 holds '[ "$(metric certprobe_snmp_agentx_connected)" = 0 ]'
dropped0=$(metric certprobe_snmp_notifications_dropped_total)
sip_lab_kamailio_stop "$LAB/kam"
check "a notification raised while the master is away is counted as dropped" \
	until_true 20 metric_gt certprobe_snmp_notifications_dropped_total "$dropped0"
# the first dropped notification may be the transaction's; the re-announce below needs the
# registrar's alert open (HARD CRITICAL) before the master comes back, or its state change
# is sent live after the reconnect and is rightly not marked as re-announced
reg_critical() { [ "$(metric "certprobe_endpoint_state\\{endpoint=\"127.0.0.1:$KAM\".*state=\"critical\"")" = 1 ]; }
check "the registrar is HARD CRITICAL while the master is away" until_true 20 reg_critical
t0=$EPOCHREALTIME
snmpd_start
version_ok() { sget "$OBJ.1.1.0" | grep -q '^"'; }
check "snmpd back: the subagent re-registers within the ping interval (walk works)" until_true 10 version_ok
reg_ms=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%d", (b - a) * 1000 }')
echo "     re-registered and answering ${reg_ms} ms after snmpd started (ping interval 1 s)"
reann() { grep "OID: $ROOT.0.1|" "$LAB/traps/trapd.log" | grep "$OBJ.7.1.3.$REG = INTEGER: 3" | grep -q "$OBJ.8.5.0 = INTEGER: 1"; }
check "after reconnecting the open problem is re-announced (certprobeNotifReannounced true)" until_true 10 reann
sip_lab_kamailio_restart "$LAB/kam" || exit 1
check "the clear after the reconnect reaches snmptrapd" until_true 20 sh -c "test \$(grep -c 'OID: $ROOT.0.2|' '$LAB/traps/trapd.log') -ge 2"

# ---- snmpd frozen: the probe loop never waits on it ----
runs0=$(metric 'certprobe_transaction_runs_total\{transaction="logon".*result="ok"')
lab_sigstop "$SNMPD"
slow=0
for i in $(seq 1 20); do
	ms=$(curl -s -o /dev/null -m 5 -w '%{time_total}' "http://127.0.0.1:$DPORT/-/healthy" | awk '{printf "%d", $1 * 1000}')
	[ "$ms" -lt 500 ] || slow=$((slow + 1))
	sleep 0.2
done
check "snmpd frozen: /-/healthy answered 20 times, each within 500 ms" test "$slow" = 0
check "snmpd frozen: /metrics answers" curl -fs -m 2 -o /dev/null "http://127.0.0.1:$DPORT/metrics"
check "snmpd frozen: the logon keeps its 2 s schedule (>= 2 more runs)" \
	until_true 10 metric_gt 'certprobe_transaction_runs_total\{transaction="logon".*result="ok"' $((runs0 + 1))
stall=$(metric certprobe_event_loop_max_stall_seconds)
echo "     loop max stall while snmpd was frozen: ${stall} s"
check "snmpd frozen: the loop's max stall stays under 0.5 s" awk -v s="$stall" 'BEGIN { exit !(s < 0.5) }'
kill -CONT "$SNMPD"
check "snmpd resumed: walks work again" until_true 15 logon_ok

# ---- SIGHUP: a changed snmp section applies without a restart ----
sed -i 's/ping_interval: 1s/ping_interval: 1s\n    notifications: false/' "$LAB/certprobe.yaml"
kill -HUP "$DPID"
check "SIGHUP: notifications switched off without a restart" until_true 15 grep -q 'snmp: notifications off' "$LAB/daemon.log"
check "SIGHUP: the subagent still answers" version_ok
sent0=$(metric certprobe_snmp_notifications_total)
sip_lab_kamailio_stop "$LAB/kam"
check "notifications off: the registrar goes CRITICAL without a notification" \
	until_true 20 holds '[ "$(sget "$OBJ.7.1.3.$REG")" = 3 ]'
check "... none sent" test "$(metric certprobe_snmp_notifications_total)" = "$sent0"

# ---- SIGHUP: another master (agentx) and ping interval, without a restart ----
SNMPP2=19124
mkdir -p "$LAB/snmpd2"
sed -e "s|$LAB/snmpd/persist|$LAB/snmpd2/persist|" -e "s|udp:127.0.0.1:$SNMPP|udp:127.0.0.1:$SNMPP2|" \
	-e "s|$LAB/agentx.sock|$LAB/agentx2.sock|" "$LAB/snmpd/snmpd.conf" >"$LAB/snmpd2/snmpd.conf"
MIBS= snmpd -f -Lf "$LAB/snmpd2/snmpd.log" -C -c "$LAB/snmpd2/snmpd.conf" -p "$LAB/snmpd2/pid" &
SNMPD2=$!
LAB_PIDS="$LAB_PIDS $SNMPD2"
until_true 10 test -S "$LAB/agentx2.sock" || echo "     snmpd2 made no AgentX socket"
sed -i -e "s|agentx: unix:$LAB/agentx.sock|agentx: unix:$LAB/agentx2.sock|" -e 's/ping_interval: 1s/ping_interval: 2s/' "$LAB/certprobe.yaml"
kill -HUP "$DPID"
check "SIGHUP with another agentx: logged as a reconnect, not a restart" \
	until_true 15 grep -q "reload: SNMP master unix:$LAB/agentx2.sock, ping every 2 s: the subagent reconnects" "$LAB/daemon.log"
on_master2() { snmpget -v2c -c cpmon -On -t 2 -r 1 127.0.0.1:$SNMPP2 -Oqv "$OBJ.1.1.0" 2>/dev/null | grep -q '^"'; }
check "the subagent answers through the new master" until_true 15 on_master2
check "... and no longer through the old one" \
	until_true 5 holds '! sget "$OBJ.1.1.0" | grep -q "^\""'
check "the daemon logged no net-snmp assertion" not grep -q "netsnmp_assert" "$LAB/daemon.log"

# stop the subagent before the master (snmp.md: the other order makes net-snmp assert)
kill "$DPID"
drc=0
wait "$DPID" || drc=$?
check "certprobed exits cleanly (leak checks included)" test "$drc" = 0
[ "$drc" = 0 ] || { echo "     exit $drc; daemon log:"; grep -A25 "Sanitizer\|runtime error" "$LAB/daemon.log" | head -60; }
finish
