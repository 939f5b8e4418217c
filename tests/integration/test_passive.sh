#!/bin/bash
# Passive results from certprobed (alerting.icinga2, alerting.nagios) into the real
# programs, on 127.0.0.1:19600-19619: Kamailio (mutual TLS) as the registrar; a
# foreground Icinga 2 with its API and its own certificates, fed through
# /v1/actions/process-check-result; a foreground Nagios 4 (nagios_user=root, its own
# nagios.cfg, the shipped config/nagios/ files) fed through its command FIFO. Both
# follow the registrar's outage and recovery; results made while Icinga 2 is down are
# queued, survive a restart of certprobed through the state file and are delivered when
# it returns; a silent probe turns the Icinga 2 service UNKNOWN (ttl). A missing FIFO,
# one nobody reads and a full one are counted and never block /-/healthy; a wrong CA
# for Icinga 2 is a classified TLS failure.
set -u
SRCDIR=${SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$SRCDIR/tests/lab/lib.sh"
. "$SRCDIR/tests/lab/sip-lab.sh"
. "$SRCDIR/tests/lab/monitoring-lab.sh"
. "$SRCDIR/tests/integration/assert.sh"
lab_test_init

KAM=19600 DPORT=19610 IAPI=19611 DPORT2=19612 DPORT3=19613 # Kamailio also takes KAM+1
for p in icinga2 nagios4; do
	command -v $p >/dev/null || { echo "FAIL - $p is not installed (scripts/bootstrap installs it)"; exit 1; }
done
umask 077
sip_lab_pki "$LAB/pki" >/dev/null || exit 1
P=$SIP_LAB_PKI
sip_lab_kamailio "$LAB/kam" $KAM "$P/client-cas.pem" || exit 1
HOST=$(hostname)
I=$LAB/icinga N=$LAB/nagios
mkdir -p "$N"

# metric NAME LABELS: the sample's value on $DPORT (or $MPORT), empty when absent
metric() {
	curl -s "http://127.0.0.1:${MPORT:-$DPORT}/metrics" | awk -v n="$1{$2}" 'index($0, n " ") == 1 {print $2}'
}
metric_pos() { local v; v=$(metric "$1" "$2"); [ -n "$v" ] && [ "${v%.*}" -gt 0 ]; }
healthy_fast() { # /-/healthy answers within a second
	curl -fs -m 1 "http://127.0.0.1:${MPORT:-$DPORT}/-/healthy" >/dev/null
}

# ---- certprobed, before Icinga 2 and Nagios exist ----
openssl rand -hex 12 >"$LAB/icinga-pw"
cat >"$LAB/certprobe.yaml" <<YAML
probe: {state_dir: $LAB/state, listen: 127.0.0.1:$DPORT}
defaults: {interval: 1s, timeout: 2s, max_attempts: 1}
transactions:
  - name: pool1-logon
    type: client-auth
    registrar: {host: 127.0.0.1, port: $KAM}
    sip_uri: sip:alice@rig.test
    certificate: {cert: $P/alice.crt, key: $P/alice.key}
    trust_store: $P/trust.pem
alerting:
  icinga2:
    url: https://127.0.0.1:$IAPI
    username: certprobe
    password: {file: $LAB/icinga-pw}
    trust_store: $LAB/ica/ca.crt
    refresh: 2s
  nagios:
    command_file: $N/nagios.cmd
    refresh: 2s
YAML
mon_icinga_ca "$LAB/ica"
check "certprobe check-config accepts the icinga2 and nagios sinks" quiet "$BIN/certprobe" check-config "$LAB/certprobe.yaml"
jq_ok() { jq -e "$1" >/dev/null; } # FILTER: true for stdin
daemon_start() { # CONFIG LOG: certprobed in the background, its PID in DPID
	"$BIN/certprobed" -c "$1" >>"$2" 2>&1 &
	DPID=$!
	LAB_PIDS="$LAB_PIDS $DPID"
}
daemon_start "$LAB/certprobe.yaml" "$LAB/daemon.log"
check "certprobed starts" until_true 10 healthy_fast
check "Icinga 2 not there yet: counted as unreachable" until_true 10 metric_pos certprobe_passive_failures_total 'sink="icinga2",reason="unreachable"'
check "no command file yet: counted as no_file" until_true 10 metric_pos certprobe_passive_failures_total 'sink="nagios",reason="no_file"'
check "... logged once, naming the cause" bash -c '[ "$(grep -c "no command file" "$1")" = 1 ]' _ "$LAB/daemon.log"
mkfifo "$N/nagios.cmd"
check "a FIFO nobody reads: counted as no_reader" until_true 10 metric_pos certprobe_passive_failures_total 'sink="nagios",reason="no_reader"'
check "... and /-/healthy still answers at once" healthy_fast
check "results wait in the queues" metric_pos certprobe_passive_queued 'sink="icinga2"'
rm -f "$N/nagios.cmd"

# ---- Icinga 2 ----
mon_icinga_node "$I" certprobe-icinga "$LAB/ica"
cat >"$I/etc/icinga2.conf" <<CONF
const PluginDir = "$BIN"
const NodeName = "certprobe-icinga"
const ZoneName = NodeName
const TicketSalt = ""
include <itl>
include <plugins>
include "$SRCDIR/config/icinga2/certprobe-commands.conf"
include "$SRCDIR/config/icinga2/certprobe-services.conf"
template Service "generic-service" { check_interval = 1s; retry_interval = 1s }
object Host "certprobe-host" {
	check_command = "dummy"
	enable_active_checks = false
	vars.certprobe_passive = [ "pool1-logon" ]
	vars.certprobe_passive_endpoints = [ "127.0.0.1:$KAM" ]
}
object Endpoint NodeName { }
object Zone ZoneName { endpoints = [ NodeName ] }
object ApiListener "api" { bind_host = "127.0.0.1"; bind_port = $IAPI; accept_commands = true }
object ApiUser "certprobe" {
	password = "$(cat "$LAB/icinga-pw")"
	permissions = [ "actions/process-check-result", "objects/query/Host", "objects/query/Service" ]
}
object ApiUser "probe-b" {
	client_cn = "certprobe-probe-b"
	permissions = [ "actions/process-check-result" ]
}
object CheckerComponent "checker" { }
CONF
check "icinga2 daemon -C accepts the shipped services with the passive ones" mon_icinga_check "$I"
mon_icinga_start "$I"
IPID=$MON_PID
api() { curl -s --cacert "$LAB/ica/ca.crt" -u "certprobe:$(cat "$LAB/icinga-pw")" -H 'Accept: application/json' "https://127.0.0.1:$IAPI/v1/$1"; }
svc() { api "objects/services/certprobe-host!$1?attrs=state&attrs=last_check_result"; }
svc_is() { # SERVICE STATE: the state certprobed pushed (check_source is this probe)
	svc "$1" | jq -e --argjson s "$2" --arg src "$HOST" '.results[0].attrs | .state == $s and
		.last_check_result.check_source == $src' >/dev/null
}
check "Icinga 2's API answers" until_true 15 api status
check "certprobe-passive-pool1-logon OK (0), pushed by this probe" until_true 20 svc_is certprobe-passive-pool1-logon 0
out=$(svc certprobe-passive-pool1-logon)
check "... with check_certprobe's status line" contains "$(jq -r '.results[0].attrs.last_check_result.output' <<<"$out")" "CERTPROBE CLIENTAUTH OK - pool1-logon: transaction completed in"
check "... its perfdata (steps, total, certificate days)" jq_ok '.results[0].attrs.last_check_result.performance_data | map(select(test("^\u0027?(tls_handshake|time|client_cert_days)\u0027?="))) | length == 3' <<<"$out"
check "... and a ttl (3 x refresh)" jq_ok '.results[0].attrs.last_check_result.ttl == 6' <<<"$out"
check "the registrar's passive service OK" until_true 10 svc_is "certprobe-passive-endpoint-127.0.0.1:$KAM" 0
check "results delivered are counted" metric_pos certprobe_passive_results_total 'sink="icinga2"'

# ---- Nagios 4 ----
mon_nagios_cfg "$N" "$BIN" "$SRCDIR/config/nagios/certprobe-commands.cfg" "$SRCDIR/config/nagios/certprobe-services.cfg"
cat >>"$N/objects.cfg" <<CFG
define service {
	use generic-service
	host_name certprobe-host
	service_description registrar 127.0.0.1:$KAM
	check_command certprobe_stale
	active_checks_enabled 0
	passive_checks_enabled 1
	max_check_attempts 1
}
CFG
check "nagios4 -v accepts the shipped commands and services and the passive ones" quiet nagios4 -v "$N/nagios.cfg"
mon_nagios_start "$N"
NPID=$MON_PID
check "Nagios's FIFO is there" until_true 10 test -p "$N/nagios.cmd"
check "Nagios: pool1-logon OK (0) from certprobed" until_true 20 mon_nagios_svc_is "$N" pool1-logon 0
check "... the output is check_certprobe's" contains "$(mon_nagios_field "$N" servicestatus pool1-logon plugin_output)" "CERTPROBE CLIENTAUTH OK - pool1-logon:"
check "... with perfdata" contains "$(mon_nagios_field "$N" servicestatus pool1-logon performance_data)" "'time'="
check "Nagios: the registrar's service OK" until_true 10 mon_nagios_svc_is "$N" "registrar 127.0.0.1:$KAM" 0
check "Nagios: the probe's host UP through PROCESS_HOST_CHECK_RESULT" until_true 10 \
	bash -c 'contains() { case "$1" in *"$2"*) return 0;; esac; return 1; }; . "$1"; contains "$(mon_nagios_field "$2" hoststatus certprobe-host plugin_output)" "certprobed on"' _ "$SRCDIR/tests/lab/monitoring-lab.sh" "$N"
check "certprobed says when it writes again" until_true 10 grep -q "nagios $N/nagios.cmd: writing again" "$LAB/daemon.log"

# ---- the registrar goes down ----
sip_lab_kamailio_stop "$LAB/kam"
check "Kamailio stopped: Icinga 2's service CRITICAL (2)" until_true 20 svc_is certprobe-passive-pool1-logon 2
check "... and the registrar's CRITICAL" until_true 10 svc_is "certprobe-passive-endpoint-127.0.0.1:$KAM" 2
check "... with the cause in the output" contains "$(svc certprobe-passive-pool1-logon | jq -r '.results[0].attrs.last_check_result.output')" "CRITICAL - pool1-logon: connection refused"
check "Kamailio stopped: Nagios's pool1-logon CRITICAL (2)" until_true 20 mon_nagios_svc_is "$N" pool1-logon 2
check "... and the registrar's" until_true 10 mon_nagios_svc_is "$N" "registrar 127.0.0.1:$KAM" 2

# ---- Icinga 2 goes down; the recovery waits, across a restart of certprobed ----
mon_stop "$IPID"
sip_lab_kamailio_restart "$LAB/kam" || exit 1
cp_ok() { "$BIN/check_certprobe" -s "$LAB/state" -T pool1-logon >/dev/null; }
check "Kamailio back: certprobed sees it OK" until_true 20 cp_ok
check "Nagios follows at once: pool1-logon OK (0)" until_true 20 mon_nagios_svc_is "$N" pool1-logon 0
check "Icinga 2 down: the recovery is queued" until_true 10 metric_pos certprobe_passive_queued 'sink="icinga2"'
in_state() { jq -e '.passive | map(select(.labels.sink == "icinga2" and .labels.name == "pool1-logon" and .annotations.state == "0")) | length == 1' "$LAB/state/certprobed.state.json" >/dev/null; }
check "... and kept in the state file until delivered" until_true 10 in_state
kill "$DPID"
wait "$DPID" 2>/dev/null
: >"$LAB/daemon2.log"
daemon_start "$LAB/certprobe.yaml" "$LAB/daemon2.log"
MAIN=$DPID
check "certprobed restarted while Icinga 2 is down" until_true 10 healthy_fast
check "... hands the undelivered results back to the sink" until_true 10 grep -q "undelivered passive result.* handed back to their sinks" "$LAB/daemon2.log"
mon_icinga_start "$I"
IPID=$MON_PID
check "Icinga 2 back: the recovery arrives, certprobe-passive-pool1-logon OK (0)" until_true 30 svc_is certprobe-passive-pool1-logon 0
check "... and the registrar's OK" until_true 10 svc_is "certprobe-passive-endpoint-127.0.0.1:$KAM" 0
check "... the queue drains" until_true 10 bash -c '[ "$(curl -s http://127.0.0.1:'$DPORT'/metrics | awk '"'"'index($0, "certprobe_passive_queued{sink=\"icinga2\"} ") == 1 {print $2}'"'"')" = 0 ]'
check "... and certprobed says so" until_true 5 grep -q "icinga2 https://127.0.0.1:$IAPI: delivering again" "$LAB/daemon2.log"

# ---- the HA partner: a client certificate (ApiUser client_cn), the same services ----
openssl req -newkey rsa:2048 -nodes -keyout "$LAB/probe-b.key" -out "$LAB/probe-b.csr" \
	-subj /CN=certprobe-probe-b 2>/dev/null
openssl x509 -req -in "$LAB/probe-b.csr" -CA "$LAB/ica/ca.crt" -CAkey "$LAB/ica/ca.key" \
	-CAcreateserial -out "$LAB/probe-b.crt" -days 2 2>/dev/null
cat >"$LAB/certprobe3.yaml" <<YAML
probe: {state_dir: $LAB/state3, listen: 127.0.0.1:$DPORT3}
defaults: {interval: 1s, timeout: 2s, max_attempts: 1}
transactions:
  - name: pool1-logon
    type: client-auth
    registrar: {host: 127.0.0.1, port: $KAM}
    sip_uri: sip:alice@rig.test
    certificate: {cert: $P/alice.crt, key: $P/alice.key}
    trust_store: $P/trust.pem
alerting:
  icinga2:
    url: https://127.0.0.1:$IAPI
    client_cert: $LAB/probe-b.crt
    client_key: $LAB/probe-b.key
    trust_store: $LAB/ica/ca.crt
    check_source: probe-b
    refresh: 2s
YAML
daemon_start "$LAB/certprobe3.yaml" "$LAB/probe3.log"
D3=$DPID
from_b() { svc certprobe-passive-pool1-logon | jq -e '.results[0].attrs | .state == 0 and .last_check_result.check_source == "probe-b"' >/dev/null; }
check "an HA partner logging on with a client certificate feeds the same service" until_true 20 from_b
MPORT=$DPORT3
check "... its results are taken (no auth failure)" bash -c '[ -z "$1" ] || [ "$1" = 0 ]' _ "$(metric certprobe_passive_failures_total 'sink="icinga2",reason="auth"')"
check "... and counted" metric_pos certprobe_passive_results_total 'sink="icinga2"'
unset MPORT
kill "$D3"
wait "$D3" 2>/dev/null

# ---- a second probe: wrong CA for Icinga 2, a full FIFO ----
mon_icinga_ca "$LAB/ica-wrong"
mkfifo "$LAB/full.cmd"
# a reader that never reads, the pipe already full (64 KiB)
(exec 3<>"$LAB/full.cmd"; head -c 65536 /dev/zero >&3; exec sleep 600) &
LAB_PIDS="$LAB_PIDS $!"
sed -e "s|$LAB/state|$LAB/state2|" -e "s|:$DPORT}|:$DPORT2}|" -e "s|$LAB/ica/ca.crt|$LAB/ica-wrong/ca.crt|" \
	-e "s|$N/nagios.cmd|$LAB/full.cmd|" "$LAB/certprobe.yaml" >"$LAB/certprobe2.yaml"
daemon_start "$LAB/certprobe2.yaml" "$LAB/probe2.log"
D2=$DPID
MPORT=$DPORT2
check "probe 2 starts" until_true 10 healthy_fast
check "a wrong CA: counted as tls" until_true 10 metric_pos certprobe_passive_failures_total 'sink="icinga2",reason="tls"'
check "... logged with the classified cause" until_true 5 grep -qE "icinga2 .*not delivered \(tls: tls_(untrusted_root|verify_failed|self_signed)" "$LAB/probe2.log"
check "a full FIFO: counted as full" until_true 10 metric_pos certprobe_passive_failures_total 'sink="nagios",reason="full"'
check "... /-/healthy still answers at once" healthy_fast
check "... and probe 2 keeps running" kill -0 "$D2"
unset MPORT

# ---- a silent probe: the ttl runs out ----
kill "$MAIN" "$D2" 2>/dev/null
check "certprobed stopped: Icinga 2 turns the service UNKNOWN (3) after the ttl" until_true 30 \
	sh -c "curl -s --cacert '$LAB/ica/ca.crt' -u 'certprobe:$(cat "$LAB/icinga-pw")' -H 'Accept: application/json' \
	'https://127.0.0.1:$IAPI/v1/objects/services/certprobe-host!certprobe-passive-pool1-logon?attrs=state' | jq -e '.results[0].attrs.state == 3'"

finish
