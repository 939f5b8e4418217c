#!/bin/bash
# An HA pair on loopback (127.0.0.1:19870-19889): two certprobed with the same
# transactions, both pushing to a two-node Alertmanager cluster (--cluster.peer), whose
# webhook goes to a receiver the test runs. The probes' alerts carry identical labels
# (the probe's host is an annotation), so stopping Kamailio yields exactly one firing
# notification although both probes raise it; a kill -9 of one probe while the alert is
# open loses nothing (the other keeps it active, the killed one comes back holding it and
# does not notify again); Kamailio's return resolves it.
set -u
SRCDIR=${SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$SRCDIR/tests/lab/lib.sh"
. "$SRCDIR/tests/lab/sip-lab.sh"
. "$SRCDIR/tests/integration/assert.sh"
lab_test_init

KAM=19870 AM1=19880 AMC1=19881 AM2=19882 AMC2=19883 HOOK=19884 PA=19886 PB=19887
[ -x /usr/bin/prometheus-alertmanager ] ||
	{ echo "FAIL - prometheus-alertmanager is not installed (scripts/bootstrap installs it)"; exit 1; }

# ---- peers ----
umask 077
sip_lab_pki "$LAB/pki" >/dev/null || exit 1
P=$SIP_LAB_PKI
sip_lab_kamailio "$LAB/kam" $KAM "$P/client-cas.pem" || exit 1

"$SRCDIR/tests/lab/webhook-recv" $HOOK "$LAB/hook.jsonl" >"$LAB/hook.out" 2>&1 &
LAB_PIDS="$LAB_PIDS $!"
until_true 10 grep -qx ready "$LAB/hook.out" || { echo "FAIL - webhook receiver did not start"; exit 1; }

cat >"$LAB/am.yml" <<YAML
route:
  receiver: hook
  group_by: [alertname, endpoint]
  group_wait: 1s
  group_interval: 2s
  repeat_interval: 1h
receivers:
  - name: hook
    webhook_configs: [{url: "http://127.0.0.1:$HOOK/", send_resolved: true}]
YAML
am_start() { # WEBPORT CLUSTERPORT PEERPORT
	mkdir -p "$LAB/am$1"
	/usr/bin/prometheus-alertmanager --config.file="$LAB/am.yml" --storage.path="$LAB/am$1" \
		--web.listen-address=127.0.0.1:$1 --cluster.listen-address=127.0.0.1:$2 \
		--cluster.advertise-address=127.0.0.1:$2 --cluster.peer=127.0.0.1:$3 \
		--cluster.peer-timeout=2s --cluster.gossip-interval=100ms \
		--cluster.pushpull-interval=1s --cluster.settle-timeout=5s >"$LAB/am$1.log" 2>&1 &
	LAB_PIDS="$LAB_PIDS $!"
}
am_start $AM1 $AMC1 $AMC2
am_start $AM2 $AMC2 $AMC1
am_members() { curl -s "http://127.0.0.1:$1/api/v2/status" | jq -e '.cluster.peers | length == 2'; }
for p in $AM1 $AM2; do
	until_true 30 am_members $p || { echo "FAIL - alertmanager :$p did not join the cluster"; cat "$LAB/am$p.log"; exit 1; }
done

write_config() { # FILE PORT STATE
	cat >"$1" <<YAML
probe:
  state_dir: $3
  listen: 127.0.0.1:$2
defaults: {interval: 1s, timeout: 2s, max_attempts: 2}
alerting:
  alertmanager:
    urls: [http://127.0.0.1:$AM1, http://127.0.0.1:$AM2]
    resend_interval: 5s
    labels: {site: lab}
transactions:
  - name: logon
    type: client-auth
    registrar: {host: 127.0.0.1, port: $KAM}
    sip_uri: sip:alice@rig.test
    certificate: {cert: $P/alice.crt, key: $P/alice.key}
    trust_store: $P/trust.pem
YAML
}
write_config "$LAB/a.yaml" $PA "$LAB/stateA"
write_config "$LAB/b.yaml" $PB "$LAB/stateB"
PIDA= PIDB=
probe_start() { # a|b PORT
	"$BIN/certprobed" -c "$LAB/$1.yaml" >>"$LAB/daemon-$1.log" 2>&1 &
	LAB_PIDS="$LAB_PIDS $!"
	eval "PID$(echo "$1" | tr ab AB)=$!"
	until_true 10 curl -fs "http://127.0.0.1:$2/-/healthy"
}
probe_start a $PA || { echo "FAIL - probe A did not start"; exit 1; }
probe_start b $PB || { echo "FAIL - probe B did not start"; exit 1; }
ok_on() { curl -s "http://127.0.0.1:$1/metrics" | grep -q '^certprobe_transaction_success{transaction="logon".* 1$'; }
both_ok() { ok_on $PA && ok_on $PB; }
check "both probes log on" until_true 15 both_ok

# ---- the outage: both raise it, the cluster notifies once ----
EP=127.0.0.1:$KAM
firing() { jq -c --arg e "$EP" 'select(.status == "firing") | .alerts[] | select(.labels.endpoint == $e)' "$LAB/hook.jsonl" 2>/dev/null; }
resolved() { jq -c --arg e "$EP" 'select(.status == "resolved") | .alerts[] | select(.labels.endpoint == $e)' "$LAB/hook.jsonl" 2>/dev/null; }
n_firing() { test "$(firing | wc -l)" = "$1"; }
raised_by() { grep -q "alert critical: Registrar $EP" "$LAB/daemon-$1.log"; }
sip_lab_kamailio_stop "$LAB/kam"
check "probe A raises the registrar alert" until_true 20 raised_by a
check "probe B raises the registrar alert" until_true 20 raised_by b
check "the webhook gets the firing notification" until_true 20 n_firing 1
am_open() { curl -s "http://127.0.0.1:$1/api/v2/alerts?active=true" | jq -e --arg e "$EP" '[.[] | select(.labels.endpoint == $e)] | length == 1' >/dev/null; }
both_open() { am_open $AM1 && am_open $AM2; }
check "both Alertmanagers hold one alert for the registrar" both_open
am_alert_is() { curl -s "http://127.0.0.1:$AM1/api/v2/alerts" | jq -e --arg e "$EP" --arg h "$(hostname)" "[.[] | select(.labels.endpoint == \$e)][0] | $1" >/dev/null; }
check "the alert's labels name no probe instance" am_alert_is '.labels | has("instance") | not'
check "the probe's host is an annotation" am_alert_is '.annotations.probe == $h'
check "the labels are what both probes send: alertname endpoint job kind severity site" \
	am_alert_is '.labels | keys == ["alertname","endpoint","job","kind","severity","site"]' 
# the absence of a second notification: past both Alertmanagers' pipeline
# (group_wait 1 s + peer position 1 x peer-timeout 2 s + a group_interval of 2 s)
sleep 6
check "exactly one firing notification from the pair and the cluster" n_firing 1

# ---- kill -9 of one probe loses nothing ----
kill -9 "$PIDA"
wait "$PIDA" 2>/dev/null
resent_by_b() { # B's resend after A died: its am_sink counted another successful push
	curl -s "http://127.0.0.1:$PB/metrics" | grep -q "^certprobe_transaction_success{transaction=\"logon\".* 0$"
}
check "probe B goes on probing while A is gone" until_true 5 resent_by_b
check "the alert stays open in the cluster with A gone" both_open
probe_start a $PA || { echo "FAIL - probe A did not restart"; exit 1; }
check "A comes back holding the open alert (restored, not raised again)" \
	until_true 10 grep -q "alert critical (restored): Registrar $EP" "$LAB/daemon-a.log"
sleep 4 # a resend cycle of the restarted A and a group_interval
check "still exactly one firing notification after A's restart" n_firing 1

# ---- recovery ----
sip_lab_kamailio_restart "$LAB/kam" || exit 1
n_resolved() { test "$(resolved | wc -l)" -ge 1; }
am_closed() { curl -s "http://127.0.0.1:$1/api/v2/alerts?active=true" | jq -e --arg e "$EP" '[.[] | select(.labels.endpoint == $e)] | length == 0' >/dev/null; }
both_closed() { am_closed $AM1 && am_closed $AM2; }
check "Kamailio's return resolves the alert in the cluster" until_true 30 both_closed
check "the webhook gets the resolved notification" until_true 20 n_resolved

finish
