#!/bin/bash
# Icinga 2 distributed (issue 17 item 3), on loopback 127.0.0.1:19950-19969: a master
# and a satellite zone ("site-a") built from the shipped config/icinga2/distributed/
# (zones.conf, zones.d/site-a/) with the shipped CheckCommands and services in the
# global zone, synced by the master; a certprobed at the site probing Kamailio. The
# satellite runs check_certprobe against the site's state directory, and the master's
# /v1/objects/services follows the registrar's outage and recovery. The passive variant
# runs beside it: the same certprobed pushes its results to the satellite's API
# (alerting.icinga2), and the master's passive services follow the outage too.
set -u
SRCDIR=${SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$SRCDIR/tests/lab/lib.sh"
. "$SRCDIR/tests/lab/sip-lab.sh"
. "$SRCDIR/tests/lab/monitoring-lab.sh"
. "$SRCDIR/tests/integration/assert.sh"
lab_test_init

KAM=19950 MAPI=19960 SAPI=19961 DPORT=19962
command -v icinga2 >/dev/null || { echo "FAIL - icinga2 is not installed (scripts/bootstrap installs it)"; exit 1; }
D=$SRCDIR/config/icinga2/distributed

# ---- the site: Kamailio and its certprobed ----
umask 077
sip_lab_pki "$LAB/pki" >/dev/null || exit 1
P=$SIP_LAB_PKI
sip_lab_kamailio "$LAB/kam" $KAM "$P/client-cas.pem" || exit 1
cat >"$LAB/certprobe.yaml" <<YAML
probe: {state_dir: $LAB/state, listen: 127.0.0.1:$DPORT}
defaults: {interval: 1s, timeout: 2s, max_attempts: 1}
transactions:
  - name: logon
    type: client-auth
    registrar: {host: 127.0.0.1, port: $KAM}
    sip_uri: sip:alice@rig.test
    certificate: {cert: $P/alice.crt, key: $P/alice.key}
    trust_store: $P/trust.pem
YAML
# the shipped passive layout: the site's certprobed pushes to the satellite's API
sed -e "s|https://satellite-a.example.com:5665|https://127.0.0.1:$SAPI|" -e 's|username: certprobe|username: lab|' \
	-e "s|/etc/certprobe/icinga-api.password|$LAB/api-pw|" -e "s|/etc/certprobe/icinga-ca.crt|$LAB/ica/ca.crt|" \
	-e 's|refresh: 1m|refresh: 2s|' "$D/certprobe-site-a.yaml" >>"$LAB/certprobe.yaml"
printf 'lab-pw\n' >"$LAB/api-pw"
mon_icinga_ca "$LAB/ica"
check "the shipped passive layout's certprobe.yaml section loads" quiet "$BIN/certprobe" check-config "$LAB/certprobe.yaml"
check "... pointing at the satellite" grep -q "url: https://127.0.0.1:$SAPI" "$LAB/certprobe.yaml"
"$BIN/certprobed" -c "$LAB/certprobe.yaml" >"$LAB/daemon.log" 2>&1 &
LAB_PIDS="$LAB_PIDS $!"
until_true 10 curl -fs "http://127.0.0.1:$DPORT/-/healthy" || { echo "FAIL - certprobed did not start"; exit 1; }
chmod 755 "$LAB" "$LAB/state" 2>/dev/null

# ---- two Icinga 2 nodes ----
node() { # DIR NODENAME ZONENAME PORT ACCEPT_CONFIG
	local I=$1
	mon_icinga_node "$I" "$2" "$LAB/ica"
	cat >"$I/etc/icinga2.conf" <<CONF
const PluginDir = "$BIN"
const NodeName = "$2"
const ZoneName = "$3"
const TicketSalt = ""
const CertprobeMasterHost = "127.0.0.1"
const CertprobeMasterPort = $MAPI
const CertprobeSiteAHost = "127.0.0.1"
const CertprobeSiteAPort = $SAPI
include <itl>
include <plugins>
include "$D/zones.conf"
object ApiListener "api" {
	bind_host = "127.0.0.1"
	bind_port = $4
	accept_config = $5
	accept_commands = $5
}
object ApiUser "lab" { password = "lab-pw"; permissions = [ "*" ] }
object CheckerComponent "checker" { }
CONF
}
node "$LAB/master" master1 master $MAPI false
node "$LAB/sat" satellite-site-a site-a $SAPI true
# the master's zones.d: the shipped site host (its names set for this lab) and the
# shipped commands and services in the global zone
M=$LAB/master/etc/zones.d
mkdir -p "$M/site-a" "$M/global-templates"
cp "$SRCDIR/config/icinga2/certprobe-commands.conf" "$SRCDIR/config/icinga2/certprobe-services.conf" "$M/global-templates/"
printf 'template Service "generic-service" { check_interval = 1s; retry_interval = 1s }\n' >"$M/global-templates/lab-templates.conf"
sed -e "s|\"/var/lib/certprobe\"|\"$LAB/state\"|" -e 's|\[ "pool-a-logon" \]|[ "logon" ]|' \
	-e "s|\[ \"pool-a.example.com:5061\" \]|[ \"127.0.0.1:$KAM\" ]|" \
	"$D/zones.d/site-a/certprobe-site-a.conf" >"$M/site-a/certprobe-site-a.conf"
check "the shipped site host names the lab's transaction" grep -q '"logon"' "$M/site-a/certprobe-site-a.conf"

for n in master sat; do
	check "icinga2 daemon -C accepts the $n node" mon_icinga_check "$LAB/$n"
done
for n in master sat; do
	mon_icinga_start "$LAB/$n"
done
api() { curl -s -k -u lab:lab-pw -H 'Accept: application/json' "https://127.0.0.1:$1/v1/$2"; }
check "both nodes' APIs answer" until_true 15 sh -c "curl -fsk -u lab:lab-pw https://127.0.0.1:$MAPI/v1/status >/dev/null && curl -fsk -u lab:lab-pw https://127.0.0.1:$SAPI/v1/status >/dev/null"
connected() { api $MAPI "status/ApiListener" | jq -e '.results[0].status.api.num_conn_endpoints == 1' >/dev/null; }
check "the satellite and the master connect" until_true 30 connected
synced() { api $SAPI "objects/hosts/certprobe-site-a" | jq -e '.results | length == 1' >/dev/null; }
check "the master syncs the site's host and the global templates to the satellite" until_true 60 synced

svc() { api $MAPI "objects/services/certprobe-site-a!$1?attrs=state&attrs=last_check&attrs=last_check_result"; }
svc_is() { # SERVICE STATE: on the master, checked (by the satellite) and in that state
	svc "$1" | jq -e --argjson s "$2" '.results[0].attrs | .state == $s and .last_check > 0
		and .last_check_result.check_source == "satellite-site-a"' >/dev/null
}
check "the master sees certprobe-logon OK, checked by the satellite" until_true 60 svc_is certprobe-logon 0
check "... and the registrar's endpoint service OK" until_true 20 svc_is "certprobe-endpoint-127.0.0.1:$KAM" 0

# the passive variant: certprobed's own pushes to the satellite reach the master
HOST=$(hostname)
passive_is() { # SERVICE STATE: on the master, pushed by this probe through the satellite
	svc "$1" | jq -e --argjson s "$2" --arg src "$HOST" '.results[0].attrs | .state == $s and
		.last_check_result.check_source == $src' >/dev/null
}
check "passive: the master sees certprobe-passive-logon OK, pushed by the probe to the satellite" until_true 60 passive_is certprobe-passive-logon 0
check "passive: ... and the registrar's passive service OK" until_true 20 passive_is "certprobe-passive-endpoint-127.0.0.1:$KAM" 0

sip_lab_kamailio_stop "$LAB/kam"
check "Kamailio stopped: the master's certprobe-logon goes CRITICAL" until_true 30 svc_is certprobe-logon 2
check "passive: the master's certprobe-passive-logon goes CRITICAL" until_true 30 passive_is certprobe-passive-logon 2
check "passive: ... and the registrar's passive service" until_true 20 passive_is "certprobe-passive-endpoint-127.0.0.1:$KAM" 2
check "... and the registrar's endpoint service CRITICAL" until_true 20 svc_is "certprobe-endpoint-127.0.0.1:$KAM" 2
out=$(svc certprobe-logon | jq -r '.results[0].attrs.last_check_result.output')
check "the master shows the plugin's status line from the site" contains "$out" "CERTPROBE CLIENTAUTH CRITICAL - logon:"
sip_lab_kamailio_restart "$LAB/kam" || exit 1
check "Kamailio back: the master's certprobe-logon is OK again" until_true 30 svc_is certprobe-logon 0
check "passive: the master's certprobe-passive-logon is OK again" until_true 30 passive_is certprobe-passive-logon 0

finish
