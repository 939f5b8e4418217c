#!/bin/bash
# certprobed end to end against real peers on 127.0.0.1:18740-18789: scepserver (the CA),
# Kamailio with TLS (the registrar, trusting that CA), prometheus-alertmanager and
# prometheus. The issue's "done when": the daemon runs the enrollment and the logon on
# schedule; stopping Kamailio turns the registrar CRITICAL after max_attempts, the alert
# reaches Alertmanager and the log; a kill -9 and restart keeps the open alert without
# re-firing it; restarting Kamailio resolves it; Prometheus scrapes it all (up == 1 and
# the transaction series). Also: /probe and its debug trace, certprobe status and its
# exit codes, SIGHUP (an invalid file is refused, a valid one keeps state), the TLS +
# basic-auth listener, and no secret in any output.
set -u
SRCDIR=${SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$SRCDIR/tests/lab/lib.sh"
. "$SRCDIR/tests/lab/sip-lab.sh"
. "$SRCDIR/tests/integration/assert.sh"
lab_test_init
RC=0 OUT= ERR=

SCEP=18740 KAM=18741 AMP=18780 DPORT=18781 PROMP=18782 TLSPORT=18783
for f in /usr/bin/prometheus-alertmanager /usr/bin/prometheus /usr/bin/promtool; do
	[ -x "$f" ] || { echo "FAIL - $f is not installed (scripts/bootstrap installs it)"; exit 1; }
done

metric_eq() { test "$(metric "$1")" = "$2"; }
metric_gt() { test "$(metric "$1")" -gt "$2"; }
logged() { grep -q -- "$1" "$LAB/daemon.log"; }
metric() { curl -s "http://127.0.0.1:$DPORT/metrics" | grep -E "^$1" | head -1 | awk '{print $NF}'; }
am_alerts() { curl -s "http://127.0.0.1:$AMP/api/v2/alerts?active=true&silenced=false&inhibited=false"; }
am_has() { am_alerts | jq -e "[.[] | select(.labels.endpoint == \"$1\" and .labels.severity == \"$2\")] | length == 1"; }
am_gone() { am_alerts | jq -e "[.[] | select(.labels.endpoint == \"$1\")] | length == 0"; }

# ---- peers ----
umask 077
openssl rand -hex 12 >"$LAB/challenge"
CHALLENGE=$(cat "$LAB/challenge")
lab_scepserver "$LAB/ca" $SCEP -challenge "$CHALLENGE" -allowrenew 0 -crtvalid 365 || exit 1
SCEPPID=${LAB_PIDS##* }
fp=$(lab_fingerprint "$LAB/ca/depot/ca.pem")
sip_lab_pki "$LAB/pki" >/dev/null || exit 1
cat "$LAB/pki/client-cas.pem" "$LAB/ca/depot/ca.pem" >"$LAB/client-cas.pem"
sip_lab_kamailio "$LAB/kam" $KAM "$LAB/client-cas.pem" || exit 1
printf 'route: {receiver: "null"}\nreceivers: [{name: "null"}]\n' >"$LAB/am.yml"
mkdir -p "$LAB/am"
/usr/bin/prometheus-alertmanager --config.file="$LAB/am.yml" --storage.path="$LAB/am" \
	--web.listen-address=127.0.0.1:$AMP --cluster.listen-address= >"$LAB/am.log" 2>&1 &
LAB_PIDS="$LAB_PIDS $!"
until_true 10 curl -fs "http://127.0.0.1:$AMP/-/ready" || { echo "FAIL - alertmanager not ready"; exit 1; }

write_daemon_config() { # FILE [extra transaction yaml]
	cat >"$1" <<YAML
probe:
  state_dir: $LAB/state
  listen: 127.0.0.1:$DPORT
defaults:
  interval: 2s
  timeout: 1500ms
  max_attempts: 2
alerting:
  alertmanager:
    urls: [http://127.0.0.1:$AMP]
    resend_interval: 5s
    labels: {site: lab}
transactions:
  - name: enroll
    type: enrollment
    protocol: scep
    url: http://127.0.0.1:$SCEP/scep
    ca_fingerprint: $fp
    challenge: {file: $LAB/challenge}
    subject: CN=certprobe-daemon,O=Example
    key: {type: rsa, bits: 2048}
    interval: 20s
  - name: logon
    type: client-auth
    registrar: {host: 127.0.0.1, port: $KAM, tls_name: registrar.rig.test}
    sip_uri: sip:certprobe-daemon@rig.test
    certificate: {from: enroll}
    trust_store: $LAB/pki/trust.pem
${2:-}
YAML
}
write_daemon_config "$LAB/certprobe.yaml"

DPID=
daemon_start() {
	"$BIN/certprobed" -c "$LAB/certprobe.yaml" >>"$LAB/daemon.log" 2>&1 &
	DPID=$!
	LAB_PIDS="$LAB_PIDS $DPID"
	until_true 10 curl -fs "http://127.0.0.1:$DPORT/-/healthy"
}

# ---- first runs ----
daemon_start || { echo "FAIL - certprobed did not start"; cat "$LAB/daemon.log"; exit 1; }
check "the logon succeeds with the enrolled certificate" \
	until_true 15 metric_eq 'certprobe_transaction_success\{transaction="logon"' 1
check "the enrollment runs (scepserver's DES/SHA-1: WARNING, still a success)" \
	test "$(metric 'certprobe_transaction_success\{transaction="enroll"')" = 1
runs=$(metric 'certprobe_transaction_runs_total\{transaction="logon".*result="ok"')
check "the logon runs on its 2 s schedule" until_true 6 \
	metric_gt 'certprobe_transaction_runs_total\{transaction="logon".*result="ok"' "$runs"
curl -s "http://127.0.0.1:$DPORT/metrics" >"$LAB/metrics.txt"
check "promtool check metrics is clean" promtool check metrics <"$LAB/metrics.txt"
check "the state file is written" until_true 10 test -s "$LAB/state/certprobed.state.json"
status_shows() { "$BIN/certprobe" status -s "$LAB/state" | grep -q "$1"; }
check "certprobe status: one WARNING (DES) is still SOFT (state written within 5 s)" \
	until_true 8 status_shows "^enroll  *enrollment  *WARNING SOFT 1 "
RC=0
"$BIN/certprobe" status -s "$LAB/state" >"$LAB/status.txt" || RC=$?
check "certprobe status: the registrar is listed OK" grep -q "127.0.0.1:$KAM  *registrar  *OK" "$LAB/status.txt"
check "certprobe status exits with the worst HARD state (OK)" [ "$RC" = 0 ]

# ---- one writer per state directory ----
RC=0
"$BIN/certprobe" run -c "$LAB/certprobe.yaml" enroll >"$LAB/run-locked.txt" 2>&1 || RC=$?
check "certprobe run beside the daemon is refused (exit 3)" [ "$RC" = 3 ]
check "certprobe run names the daemon holding the state directory" \
	grep -q "state directory $LAB/state is in use by certprobed (pid $DPID)" "$LAB/run-locked.txt"
RC=0
timeout 10 "$BIN/certprobed" -c "$LAB/certprobe.yaml" >"$LAB/second.log" 2>&1 || RC=$?
check "a second certprobed on the same state directory exits at once" [ "$RC" = 3 ]
check "the second certprobed says who holds it" \
	grep -q "state directory $LAB/state is in use by certprobed (pid $DPID)" "$LAB/second.log"
check "the enrollment keeps its certificate and key as one file" \
	test -s "$LAB/state/txn/enroll/identity.pem"

# ---- /probe ----
curl -s -H 'X-Prometheus-Scrape-Timeout-Seconds: 5' "http://127.0.0.1:$DPORT/probe?target=logon" >"$LAB/probe.txt"
check "/probe runs the logon now: probe_success 1" grep -qx "probe_success 1" "$LAB/probe.txt"
check "/probe reports its steps" grep -q 'probe_step_duration_seconds{step="tls_handshake"}' "$LAB/probe.txt"
check "/probe output passes promtool" promtool check metrics <"$LAB/probe.txt"
check "/probe says the result in /metrics' words" \
	grep -q 'certprobe_probe_status_info{reason="ok",result="ok"} 1' "$LAB/probe.txt"
curl -s "http://127.0.0.1:$DPORT/probe?target=logon&debug=true" >"$LAB/probe-debug.txt"
check "/probe debug=true returns the step trace" grep -q "^  register " "$LAB/probe-debug.txt"
check "/probe for an unknown target is a 400" \
	test "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$DPORT/probe?target=nope")" = 400
# parameters: a NUL or control character is refused (it once cut "enroll%00junk" to
# "enroll"), empty pairs are ignored, a second target is ambiguous
code() { curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$DPORT/probe?$1"; }
check "/probe?target=enroll%00junk is a 400, not a run of enroll" test "$(code 'target=enroll%00junk')" = 400
check "/probe: a control character in a parameter is a 400" \
	sh -c "[ \"\$(curl -s -o /dev/null -w '%{http_code}' 'http://127.0.0.1:$DPORT/probe?target=log%0aon')\" = 400 ] &&
		[ \"\$(curl -s -o /dev/null -w '%{http_code}' 'http://127.0.0.1:$DPORT/probe?target=logon&debug=tr%1fue')\" = 400 ] &&
		[ \"\$(curl -s -o /dev/null -w '%{http_code}' 'http://127.0.0.1:$DPORT/probe?target=logon%7f')\" = 400 ]"
check "/probe names the control character" contains \
	"$(curl -s "http://127.0.0.1:$DPORT/probe?target=enroll%00junk")" "control character"
curl -s "http://127.0.0.1:$DPORT/probe?target=logon&&&&" >"$LAB/probe-amp.txt"
check "/probe?target=logon&&&&: empty pairs are ignored, the logon runs" grep -qx "probe_success 1" "$LAB/probe-amp.txt"
check "/probe?&&target=logon&&debug=true&: the debug trace" \
	sh -c "curl -s 'http://127.0.0.1:$DPORT/probe?&&target=logon&&debug=true&' | grep -q '^  register '"
check "/probe with two targets is a 400" test "$(code 'target=logon&target=enroll')" = 400
check "/probe with an empty target says it is missing" \
	contains "$(curl -s "http://127.0.0.1:$DPORT/probe?target=&debug=true")" "target parameter is missing"

# coalescing: 20 /probe of one target at once are one run, and all get its answer (a
# burst of 100 once made the CA issue 68 certificates). certprobed is paused until the
# kernel holds all 20 connections, so they reach it together.
conns_to() { # PORT: established client connections to 127.0.0.1:PORT
	awk -v p="$(printf ':%04X' "$1")" 'NR > 1 && substr($3, length($3) - 4) == p && $4 == "01" { n++ }
		END { print n + 0 }' /proc/net/tcp
}
conns_ge() { [ "$(conns_to "$1")" -ge "$2" ]; }
mkdir -p "$LAB/burst"
lab_sigstop "$DPID"
for i in $(seq 1 20); do
	dbg=
	[ "$i" -gt 15 ] && dbg='&debug=true'
	curl -s -D "$LAB/burst/$i.hdr" -o "$LAB/burst/$i.body" \
		"http://127.0.0.1:$DPORT/probe?target=enroll$dbg" &
	BURST="${BURST:-} $!"
done
check "20 /probe connections are open" until_true 20 conns_ge "$DPORT" 20
kill -CONT "$DPID"
# shellcheck disable=SC2086
wait $BURST
runs_of() { grep -hi '^X-Certprobe-Probe-Run:' "$LAB"/burst/*.hdr | tr -d '\r' | awk '{print $2}' | sort -u; }
check "every /probe of the burst was answered 200" \
	[ "$(grep -l '^HTTP/1.1 200' "$LAB"/burst/*.hdr | wc -l)" = 20 ]
check "all 20 were answered by one run (one X-Certprobe-Probe-Run)" \
	sh -c "[ \"\$(grep -li '^X-Certprobe-Probe-Run:' '$LAB'/burst/*.hdr | wc -l)\" = 20 ] && [ \"$(runs_of | wc -l)\" = 1 ]"
check "the 15 plain ones got the same metrics" \
	[ "$(for i in $(seq 1 15); do md5sum <"$LAB/burst/$i.body"; done | sort -u | wc -l)" = 1 ]
check "... with the run's result" grep -qx "probe_success 1" "$LAB/burst/1.body"
check "the 5 debug=true ones got the text report of that run" \
	sh -c "for i in 16 17 18 19 20; do grep -q '^Target' '$LAB/burst/'\$i.body || exit 1; done"

# ---- Prometheus scrapes it ----
mkdir -p "$LAB/prom"
cat >"$LAB/prom/prometheus.yml" <<YAML
global: {scrape_interval: 1s, scrape_timeout: 1s, evaluation_interval: 1s}
scrape_configs:
  - job_name: certprobe
    static_configs: [{targets: ["127.0.0.1:$DPORT"]}]
YAML
/usr/bin/prometheus --config.file="$LAB/prom/prometheus.yml" --storage.tsdb.path="$LAB/prom/data" \
	--web.listen-address=127.0.0.1:$PROMP >"$LAB/prom.log" 2>&1 &
LAB_PIDS="$LAB_PIDS $!"
promq() { curl -s "http://127.0.0.1:$PROMP/api/v1/query" --data-urlencode "query=$1"; }
check "Prometheus scrapes certprobed: up == 1" until_true 20 \
	sh -c "curl -s 'http://127.0.0.1:$PROMP/api/v1/query?query=up' | jq -e '.data.result[0].value[1] == \"1\"'"
check "Prometheus has the transaction series" until_true 10 \
	sh -c "curl -s 'http://127.0.0.1:$PROMP/api/v1/query?query=certprobe_transaction_success' | jq -e '.data.result | length == 2'"

# ---- the registrar goes down ----
# registrar_conn_open: a TCP connection to the registrar is open (connecting, established,
# or closed by Kamailio only): a logon is in flight. /proc/net/tcp: $3 the remote address,
# $4 the state (01 ESTABLISHED, 02 SYN_SENT, 08 CLOSE_WAIT).
registrar_conn_open() {
	awk -v p="$(printf ':%04X' "$KAM")" 'NR > 1 && substr($3, length($3) - 4) == p &&
		($4 == "01" || $4 == "02" || $4 == "08") { f = 1 } END { exit !f }' /proc/net/tcp
}
# daemon_pause: certprobed stopped while no logon is in flight. A logon that meets Kamailio
# shutting down has its connection reset (tcp_error, seen 7 ms into the stop), and the
# checks below are about a registrar that is gone: refused. kill -CONT resumes it.
daemon_pause() {
	local n=0
	while lab_sigstop "$DPID"; do
		registrar_conn_open || return 0
		kill -CONT "$DPID"
		n=$((n + 1))
		[ "$n" -lt 100 ] || return 1
		sleep 0.05
	done
	kill -CONT "$DPID"
	return 1
}
check "certprobed paused with no logon in flight" daemon_pause
sip_lab_kamailio_stop "$LAB/kam"
kill -CONT "$DPID"
check "registrar turns HARD CRITICAL after 2 attempts, logged as an alert" until_true 15 \
	logged "warning: registrar 127.0.0.1:$KAM: OK -> CRITICAL (tcp_refused, HARD"
check "the transaction went SOFT first" logged "transaction logon: OK -> CRITICAL (tcp_refused, SOFT, attempt 1)"
check "the alert reaches Alertmanager (severity critical)" until_true 10 am_has "127.0.0.1:$KAM" critical
al=$(am_alerts | jq -c ".[] | select(.labels.endpoint == \"127.0.0.1:$KAM\")")
check "alert labels: alertname, kind, job, static site label" jq -e \
	'.labels.alertname == "CertprobeRegistrarState" and .labels.kind == "registrar" and .labels.job == "certprobe" and .labels.site == "lab"' <<<"$al"
check "alert summary says what is wrong" contains "$(jq -r .annotations.summary <<<"$al")" "is CRITICAL: connection refused"
check "alert description names the transaction and the fix" contains "$(jq -r .annotations.description <<<"$al")" "logon:"
starts=$(jq -r .startsAt <<<"$al")
RC=0
"$BIN/certprobe" status -s "$LAB/state" logon >"$LAB/status-logon.txt" || RC=$?
check "certprobe status logon: CRITICAL, exit 2" [ "$RC" = 2 ]
check "certprobe status logon shows the last report" grep -q "^Error *: tcp_refused" "$LAB/status-logon.txt"
newest_run() { awk '/^Recent runs/ { r = 1; next } r && /^  [0-9]/ { print $2, $3; exit }' "$LAB/status-logon.txt"; }
check "certprobe status logon lists the recent runs, newest first" [ "$(newest_run)" = "CRITICAL tcp_refused" ]

# ---- kill -9 and restart: the open alert is neither lost nor re-fired ----
# the writer thread writes the state file after the alert: kill -9 once it holds the alert
open_alert_saved() {
	jq -e --arg e "127.0.0.1:$KAM" '[.alerts[] | select(.labels.endpoint == $e and .resolved == false)]
		| length == 1' "$LAB/state/certprobed.state.json"
}
check "the open alert is in the state file" until_true 10 open_alert_saved
kill -9 "$DPID"
wait "$DPID" 2>/dev/null
daemon_start || { echo "FAIL - certprobed did not restart"; exit 1; }
check "restart restores the state and the open alert" logged "state: restored 2 of 2 transactions and"
# two failed logons after the restart: a lost state would have notified again by then
crit='certprobe_transaction_runs_total\{transaction="logon".*result="critical"'
crit0=$(metric "$crit")
check "the logon keeps failing after the restart" until_true 10 metric_gt "$crit" $((crit0 + 1))
check "no second OK -> CRITICAL notification after the restart" \
	[ "$(grep -c "registrar 127.0.0.1:$KAM: OK -> CRITICAL" "$LAB/daemon.log")" = 1 ]
check "the alert keeps its startsAt across the restart" \
	[ "$(am_alerts | jq -r ".[] | select(.labels.endpoint == \"127.0.0.1:$KAM\") | .startsAt")" = "$starts" ]

# ---- recovery ----
sip_lab_kamailio_restart "$LAB/kam" || exit 1
check "registrar recovers: logged" until_true 15 logged "registrar 127.0.0.1:$KAM: CRITICAL -> OK"
check "the alert resolves in Alertmanager" until_true 10 am_gone "127.0.0.1:$KAM"

# ---- SIGHUP ----
ok_before=$(metric 'certprobe_transaction_runs_total\{transaction="logon".*result="ok"')
cp "$LAB/certprobe.yaml" "$LAB/good.yaml"
printf '  - name: broken\n    type: client-auth\n' >>"$LAB/certprobe.yaml"
kill -HUP "$DPID"
check "an invalid config is refused with file:line:col" until_true 5 logged "certprobe.yaml:[0-9]*:[0-9]*: transaction 'broken': missing required key"
check "... and the running one is kept" logged "keeping the running configuration"
check "certprobe_config_last_reload_successful is 0" until_true 3 metric_eq certprobe_config_last_reload_successful 0
write_daemon_config "$LAB/certprobe.yaml" "  - name: logon-options
    type: client-auth
    registrar: {host: 127.0.0.1, port: $KAM, tls_name: registrar.rig.test}
    sip_uri: sip:certprobe-daemon@rig.test
    certificate: {from: enroll}
    trust_store: $LAB/pki/trust.pem
    method: options"
kill -HUP "$DPID"
check "a valid config is applied" until_true 5 logged "reload: .* applied, 3 transactions"
check "the new transaction runs" until_true 10 \
	metric_eq 'certprobe_transaction_success\{transaction="logon-options"' 1
check "the unchanged transaction kept its counters" \
	[ "$(metric 'certprobe_transaction_runs_total\{transaction="logon".*result="ok"')" -ge "$ok_before" ]
check "certprobe_config_last_reload_successful is 1" test "$(metric certprobe_config_last_reload_successful)" = 1
# a type's protocol comes from one place: the label neither flips after a run nor on HUP
one_series() { # TRANSACTION PROTOCOL: exactly one success series, with that protocol
	curl -s "http://127.0.0.1:$DPORT/metrics" >"$LAB/m.txt"
	[ "$(grep -c "^certprobe_transaction_success{transaction=\"$1\"" "$LAB/m.txt")" = 1 ] &&
		grep -q "^certprobe_transaction_success{transaction=\"$1\",type=\"client-auth\",protocol=\"$2\"" "$LAB/m.txt"
}
check "the logon keeps one series, protocol sip-register, across runs and reloads" \
	one_series logon sip-register
check "the OPTIONS logon's protocol is sip-options" one_series logon-options sip-options

# ---- SIGTERM with a /probe in flight: it is answered 503, the connection not just closed ----
# unread_at PORT: server sockets on PORT holding a request their (paused) server has not
# read: $2 the local address, $5 tx_queue:rx_queue; tcp6 too (scepserver listens on ::)
unread_at() {
	awk -v p="$(printf ':%04X' "$1")" 'FNR > 1 && substr($2, length($2) - 4) == p && $4 == "01" &&
		substr($5, index($5, ":") + 1) != "00000000" { n++ } END { print n + 0 }' \
		/proc/net/tcp /proc/net/tcp6
}
unread_gt() { [ "$(unread_at "$1")" -gt "$2" ]; }
lab_sigstop "$SCEPPID" # the CA accepts (the kernel does) but never answers
n0=$(unread_at "$SCEP")
curl -s -o "$LAB/term.body" -w '%{http_code}' "http://127.0.0.1:$DPORT/probe?target=enroll" >"$LAB/term.code" &
TERMCURL=$!
check "a /probe of enroll waits on the CA (its request unread there)" until_true 10 unread_gt "$SCEP" "$n0"
kill "$DPID"
wait "$TERMCURL"
wait "$DPID" 2>/dev/null
kill -CONT "$SCEPPID"
check "SIGTERM: the /probe in flight is answered 503" [ "$(cat "$LAB/term.code")" = 503 ]
check "SIGTERM: ... saying why" contains "$(cat "$LAB/term.body" 2>/dev/null)" "stopping"
check "SIGTERM: a clean stop" logged "signal 15: stopping"

# ---- TLS and basic auth on the listener ----
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=127.0.0.1 \
	-addext subjectAltName=IP:127.0.0.1 -keyout "$LAB/web.key" -out "$LAB/web.crt" 2>/dev/null
printf 'web-s3cret-pass\n' >"$LAB/web.pass"
cat >"$LAB/web.yaml" <<YAML
probe:
  state_dir: $LAB/state-web
  listen: 127.0.0.1:$TLSPORT
  web:
    tls_cert: $LAB/web.crt
    tls_key: $LAB/web.key
    basic_auth: {username: prom, password: {file: $LAB/web.pass}}
transactions:
  - name: logon
    type: client-auth
    registrar: {host: 127.0.0.1, port: $KAM, tls_name: registrar.rig.test}
    sip_uri: sip:certprobe-daemon@rig.test
    trust_store: $LAB/pki/trust.pem
    method: options
YAML
"$BIN/certprobed" -c "$LAB/web.yaml" >"$LAB/web.log" 2>&1 &
WPID=$!
LAB_PIDS="$LAB_PIDS $WPID"
until_true 10 curl -s --cacert "$LAB/web.crt" "https://127.0.0.1:$TLSPORT/-/healthy"
check "HTTPS listener: no credentials is 401" \
	test "$(curl -s -o /dev/null -w '%{http_code}' --cacert "$LAB/web.crt" "https://127.0.0.1:$TLSPORT/metrics")" = 401
check "HTTPS listener: wrong password is 401" \
	test "$(curl -s -o /dev/null -w '%{http_code}' --cacert "$LAB/web.crt" -u prom:wrong "https://127.0.0.1:$TLSPORT/metrics")" = 401
check "HTTPS listener: right credentials is 200" \
	test "$(curl -s -o /dev/null -w '%{http_code}' --cacert "$LAB/web.crt" -u prom:web-s3cret-pass "https://127.0.0.1:$TLSPORT/metrics")" = 200
kill "$WPID"
wait "$WPID" 2>/dev/null

# ---- core dumps ----
# certprobed makes itself undumpable (prctl PR_SET_DUMPABLE 0) unless CERTPROBE_ALLOW_CORE=1.
# The kernel then gives its /proc/PID to root: run it as an unprivileged user and look.
NB=$LAB/nobody CPORT=18784
mkdir -p "$NB/state"
chmod o+x "$LAB"
chmod 755 "$NB"
chown 65534:65534 "$NB/state"
install -m 644 "$LAB/pki/trust.pem" "$NB/trust.pem"
cat >"$NB/c.yaml" <<YAML
probe:
  state_dir: $NB/state
  listen: 127.0.0.1:$CPORT
transactions:
  - name: logon
    type: client-auth
    registrar: {host: 127.0.0.1, port: $KAM, tls_name: registrar.rig.test}
    sip_uri: sip:certprobe-daemon@rig.test
    trust_store: $NB/trust.pem
    method: options
YAML
chmod 644 "$NB/c.yaml"
proc_owner() { # ENV...: start certprobed as uid 65534 with ENV, print the owner of its /proc/PID
	local pid owner
	env "$@" setpriv --reuid=65534 --regid=65534 --clear-groups "$BIN/certprobed" -c "$NB/c.yaml" \
		>>"$NB/log" 2>&1 &
	pid=$!
	LAB_PIDS="$LAB_PIDS $pid"
	until_true 10 curl -fs "http://127.0.0.1:$CPORT/-/healthy" || { kill "$pid"; return 1; }
	owner=$(stat -c %u "/proc/$pid/status")
	kill "$pid"
	wait "$pid" 2>/dev/null
	echo "$owner"
}
if command -v setpriv >/dev/null && [ "$(id -u)" = 0 ]; then
	check "certprobed is undumpable: its /proc/PID belongs to root, not to its user" \
		[ "$(proc_owner CERTPROBE_ALLOW_CORE=0)" = 0 ]
	check "CERTPROBE_ALLOW_CORE=1 leaves it dumpable (its own user owns /proc/PID)" \
		[ "$(proc_owner CERTPROBE_ALLOW_CORE=1)" = 65534 ]
	check "... and says so in the log" grep -q "CERTPROBE_ALLOW_CORE=1: core dumps allowed" "$NB/log"
	# the CLI too: `certprobe run` held in a TLS handshake with the paused CA's port
	sed -e "s/port: $KAM,/port: $SCEP,/" -e 's/    method: options/    method: options\n    timeout: 20s/' \
		"$NB/c.yaml" >"$NB/cli.yaml"
	chmod 644 "$NB/cli.yaml"
	lab_sigstop "$SCEPPID"
	n0=$(conns_to "$SCEP")
	setpriv --reuid=65534 --regid=65534 --clear-groups "$BIN/certprobe" run -c "$NB/cli.yaml" \
		>>"$NB/log" 2>&1 &
	CLI=$!
	if until_true 10 conns_ge "$SCEP" $((n0 + 1)); then
		check "certprobe run is undumpable: its /proc/PID belongs to root" \
			[ "$(stat -c %u "/proc/$CLI/status")" = 0 ]
	else
		check "certprobe run reached the registrar" false
	fi
	kill "$CLI"
	wait "$CLI" 2>/dev/null
	kill -CONT "$SCEPPID"
else
	echo "SKIP - core dumps: needs root and setpriv to run certprobed as another user"
fi

# ---- secrets ----
leak=0
for f in "$LAB/daemon.log" "$LAB/web.log" "$LAB/metrics.txt" "$LAB/state/certprobed.state.json" \
	"$LAB/status.txt" "$LAB/status-logon.txt" "$LAB/probe-debug.txt" "$NB/log"; do
	grep -q -e "$CHALLENGE" -e "web-s3cret-pass" -e "PRIVATE KEY" "$f" && { leak=1; echo "secret in $f"; }
done
check "no challenge, password or key in logs, metrics, state or reports" [ "$leak" = 0 ]
check "certprobed stopped without sanitizer reports" sh -c "! grep -q 'ERROR: AddressSanitizer\|ERROR: LeakSanitizer\|runtime error:' '$LAB/daemon.log' '$LAB/web.log' '$NB/log'"

finish
