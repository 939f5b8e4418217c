#!/bin/bash
# The status page (issue 16) in a real browser: certprobed runs an enrollment against
# scepserver (127.0.0.1:19651), a mutual-TLS logon with that certificate against Kamailio
# (19660-19667), and a logon against a hostile registrar (socat, 19670) whose answer
# carries markup in its Call-ID; the page is on 127.0.0.1:19650. Headless Chromium
# (--dump-dom) sees the endpoint cards, the states in words, the sparkline and timeline
# SVG, the hostile text escaped (no <script> element in the DOM); Kamailio is stopped and
# the registrar's card turns CRITICAL with the Error and Diagnosis (a screenshot of that
# is kept under the build tree), then green again once Kamailio is back. curl checks
# /txn/NAME (the last report as `certprobe run` prints it, the history table), the
# filters, 404, HEAD, that no secret is on the page and that reading it runs nothing.
set -u
SRCDIR=${SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$SRCDIR/tests/lab/lib.sh"
. "$SRCDIR/tests/lab/sip-lab.sh"
. "$SRCDIR/tests/integration/assert.sh"
lab_test_init
PASS=0 FAIL=0 PROBED=0

DPORT=19650 SCEP=19651 KAM=19660 HOSTILE=19670
URL=http://127.0.0.1:$DPORT
ART=${STATUSPAGE_ARTIFACTS:-$BIN/../test-artifacts/statuspage}
CHROMIUM=$(command -v chromium || true)
[ -n "$CHROMIUM" ] || { echo "FAIL - chromium is not installed (scripts/bootstrap)"; exit 1; }
mkdir -p "$ART"
ART=$(cd "$ART" && pwd)
P=$LAB/pki
umask 077
CHALLENGE="sp-Challenge-$(openssl rand -hex 6)"
echo "$CHALLENGE" >"$LAB/challenge"

sip_lab_pki "$P" >/dev/null || exit 1
lab_scepserver "$LAB/ca" $SCEP -challenge "$CHALLENGE" -allowrenew 0 || exit 1
cat "$P/client-cas.pem" "$LAB/ca/depot/ca.pem" >"$LAB/client-cas.pem"
sip_lab_kamailio "$LAB/kam" $KAM "$LAB/client-cas.pem" || exit 1
# the hostile registrar: TLS is fine, the answer names another request, and its
# Call-ID (shown in the Error) is markup
printf 'SIP/2.0 200 OK\r\nVia: SIP/2.0/TLS x;branch=z9hG4bKx\r\nCall-ID: <script>alert(1)</script>\r\nCSeq: 1 REGISTER\r\nContent-Length: 0\r\n\r\n' >"$LAB/hostile.answer"
_sip_lab_spawn group /dev/null socat \
	"OPENSSL-LISTEN:$HOSTILE,bind=127.0.0.1,reuseaddr,fork,cert=$P/server-chain.crt,key=$P/server.key,verify=0" \
	SYSTEM:"head -c 100 >/dev/null; cat $LAB/hostile.answer; sleep 2"
_sip_lab_wait_bound $HOSTILE tcp "$_SIP_LAB_PID" "hostile registrar" || exit 1

cat >"$LAB/certprobe.yaml" <<YAML
probe:
  state_dir: $LAB/state
  listen: 127.0.0.1:$DPORT
  history: 50
defaults:
  interval: 2s
  timeout: 3s
  max_attempts: 1
transactions:
  - name: enroll
    type: enrollment
    protocol: scep
    url: http://127.0.0.1:$SCEP/scep
    subject: CN=alice,O=certprobe-lab
    challenge: {file: $LAB/challenge}
    key: {type: rsa, bits: 2048}
  - name: logon
    type: client-auth
    registrar: {host: 127.0.0.1, port: $KAM}
    sip_uri: sip:alice@rig.test
    certificate: {from: enroll}
    trust_store: $P/trust.pem
  - name: hostile
    type: client-auth
    registrar: {host: 127.0.0.1, port: $HOSTILE}
    sip_uri: sip:alice@rig.test
    certificate: {cert: $P/alice.crt, key: $P/alice.key}
    trust_store: $P/trust.pem
YAML
check "config is valid" "$BIN/certprobe" check-config "$LAB/certprobe.yaml" || exit 1

"$BIN/certprobed" -c "$LAB/certprobe.yaml" >"$LAB/daemon.log" 2>&1 &
DPID=$!
LAB_PIDS="$LAB_PIDS $DPID"
until_true 20 curl -fs "$URL/-/healthy" || {
	echo "FAIL - certprobed did not start"
	cat "$LAB/daemon.log"
	exit 1
}

page() { curl -fs -m 10 "$URL${1:-/}"; }
# state_is TXN WORD: the page lists transaction TXN in state WORD
state_is() { page | grep -q "data-txn=\"$1\" data-state=\"$2\""; }
# card_is ENDPOINT WORD: the endpoint's card is in state WORD
card_is() { page | grep -q "data-endpoint=\"$1\" data-state=\"$2\""; }
# runs_of TXN: completed runs of TXN so far (the counter of /metrics)
runs_of() {
	curl -fs -m 5 "$URL/metrics" | awk -v t="transaction=\"$1\"" \
		'index($0, "certprobe_transaction_runs_total{") == 1 && index($0, t) { s += $NF } END { print s + 0 }'
}
# history_at_least TXN N: TXN has N runs in its history (the timeline's bars)
history_at_least() {
	[ "$(page "/txn/$1" | grep -o '<rect class="s-' | wc -l)" -ge "$2" ]
}
# chrome FLAG...: one headless Chromium run (its own profile, no sandbox as root)
chrome() {
	timeout 90 "$CHROMIUM" --headless --no-sandbox --disable-gpu --no-first-run \
		--disable-dev-shm-usage --user-data-dir="$LAB/chrome" --window-size=1280,1400 "$@" \
		2>>"$LAB/chrome.err"
}
not() { ! "$@"; }
# has_bar FILE TXN CLASS: TXN's entry in FILE has a timeline bar of CLASS (s-ok, ...)
has_bar() {
	sed -n "/<article class=\"txn [a-z-]*\" data-txn=\"$2\"/,/<\/article>/p" "$1" |
		grep -q "<rect class=\"$3\""
}

check "logon is OK (enrolled, then logged on)" until_true 40 state_is logon OK
check "history: three runs of logon" until_true 30 history_at_least logon 3

# ---- green: what Chromium renders ----
chrome --dump-dom "$URL/" >"$LAB/dom-green.html"
DOM=$(cat "$LAB/dom-green.html")
# scepserver signs with SHA-1: the enrollment works with a WARNING finding
check "dom: the title counts the states" contains "$DOM" "<title>1 CRITICAL, 1 WARNING, 0 UNKNOWN, 1 OK - "
check "dom: registrar card, OK in words" contains "$DOM" "data-endpoint=\"127.0.0.1:$KAM\" data-state=\"OK\""
check "dom: registrar card says registrar" \
	grep -q "<h3>127.0.0.1:$KAM</h3><span class=\"badge s-ok\">OK</span><span class=\"tag\">registrar</span>" "$LAB/dom-green.html"
check "dom: web-service card (the SCEP CA), WARNING" contains "$DOM" "data-endpoint=\"127.0.0.1:$SCEP\" data-state=\"WARNING\""
check "dom: hostile registrar card CRITICAL" contains "$DOM" "data-endpoint=\"127.0.0.1:$HOSTILE\" data-state=\"CRITICAL\""
check "dom: logon OK" contains "$DOM" 'data-txn="logon" data-state="OK"'
check "dom: enroll WARNING, its finding named" grep -q '<dd class="error">scep_weak_digest: ' "$LAB/dom-green.html"
check "dom: a latency sparkline" grep -q '<svg class="spark"[^>]*><title>latency of the last [0-9]* runs' "$LAB/dom-green.html"
check "dom: a state timeline, one bar per run" grep -q '<svg class="timeline".*<rect class="s-ok"' "$LAB/dom-green.html"
check "dom: the issued certificate's days left" grep -q 'data-role="issued">issued: [0-9]* d left' "$LAB/dom-green.html"
# ---- HTML injection: the hostile Call-ID is text, not an element ----
check "injection: the Call-ID is shown escaped" contains "$DOM" "Call-ID &lt;script&gt;alert(1)&lt;/script&gt;"
check "injection: no script element in the DOM" not grep -qi '<script' "$LAB/dom-green.html"
check "injection: the Error of the hostile registrar" contains "$DOM" "registrar_protocol: "

# ---- curl: /txn/NAME, filters, 404, HEAD, no secret, read-only ----
TXN=$(page /txn/logon)
check "/txn/logon: the report as certprobe run prints it" contains "$TXN" "Transaction : logon (client-auth/sip-register)"
check "/txn/logon: the history table" contains "$TXN" '<table class="history">'
check "/txn/nope: 404" [ "$(curl -s -o /dev/null -w '%{http_code}' "$URL/txn/nope")" = 404 ]
check "/txn/ with markup: 404" [ "$(curl -s -o /dev/null -w '%{http_code}' "$URL/txn/%3Cscript%3E")" = 404 ]
check "?state=bogus: 400" [ "$(curl -s -o /dev/null -w '%{http_code}' "$URL/?state=bogus")" = 400 ]
CRIT=$(page "/?state=critical")
check "?state=critical: lists hostile" contains "$CRIT" 'data-txn="hostile"'
check "?state=critical: not logon" not contains "$CRIT" 'data-txn="logon"'
check "HEAD /: 200, no body" [ "$(curl -s -I -o /dev/null -w '%{http_code}/%{size_download}' "$URL/")" = 200/0 ]
check "no secret: the challenge is not on the page" not grep -q "$CHALLENGE" "$LAB/dom-green.html"
check "no secret: nor on /txn/enroll" not contains "$(page /txn/enroll)" "$CHALLENGE"
# the daemon's schedule runs enroll every 2 s; 30 page loads in a row add no run
r0=$(runs_of enroll)
t0=$SECONDS
for _ in $(seq 30); do page >/dev/null; page /txn/enroll >/dev/null; done
r1=$(runs_of enroll)
check "read-only: 60 page loads add no more runs than the schedule ($r0 -> $r1 in $((SECONDS - t0)) s)" \
	[ $((r1 - r0)) -le $(((SECONDS - t0) / 2 + 2)) ]

# ---- Kamailio stops: the registrar turns red with its diagnosis ----
sip_lab_kamailio_stop "$LAB/kam"
check "after Kamailio stops: logon CRITICAL" until_true 30 state_is logon CRITICAL
# a run cut off while Kamailio was going may fail otherwise; the next one is refused
check "after Kamailio stops: the last run was refused" \
	until_true 30 sh -c "curl -fs -m 10 '$URL/' | grep -q '<dd class=\"error\">tcp_refused: '"
check "after Kamailio stops: its card CRITICAL" until_true 30 card_is "127.0.0.1:$KAM" CRITICAL
chrome --dump-dom "$URL/" >"$LAB/dom-red.html"
check "dom red: registrar card CRITICAL in words" \
	grep -q "data-endpoint=\"127.0.0.1:$KAM\" data-state=\"CRITICAL\">" "$LAB/dom-red.html"
check "dom red: the card names the failing logon" \
	grep -q '<dd class="failing"><a href="/txn/logon">logon</a>' "$LAB/dom-red.html"
check "dom red: the card's alert and where it went" \
	grep -q '<dd class="alert">CRITICAL open since .*, sent to log' "$LAB/dom-red.html"
check "dom red: the Error (connection refused)" grep -q '<dd class="error">tcp_refused: ' "$LAB/dom-red.html"
check "dom red: the Diagnosis in the status table's words" \
	grep -q '<dd class="diagnosis">check that the service (IIS/NDES, SCEP server, registrar) is running' "$LAB/dom-red.html"
check "dom red: the step trace shows the failed step" grep -q '<li class="bad">connect [0-9.]* ms FAILED tcp_refused' "$LAB/dom-red.html"
check "dom red: a red bar in the timeline" grep -q '<rect class="s-critical"' "$LAB/dom-red.html"
rm -f "$ART/statuspage-critical.png"
chrome --screenshot="$ART/statuspage-critical.png" "$URL/" >/dev/null
check "screenshot taken" [ -s "$ART/statuspage-critical.png" ]
echo "screenshot: $ART/statuspage-critical.png"

# ---- Kamailio returns: green again ----
sip_lab_kamailio_restart "$LAB/kam" || FAIL=$((FAIL + 1))
check "Kamailio back: logon OK again" until_true 30 state_is logon OK
check "Kamailio back: its card OK again" until_true 30 card_is "127.0.0.1:$KAM" OK
chrome --dump-dom "$URL/" >"$LAB/dom-back.html"
check "dom back: registrar card OK" grep -q "data-endpoint=\"127.0.0.1:$KAM\" data-state=\"OK\">" "$LAB/dom-back.html"
check "dom back: logon's timeline keeps the red bars" has_bar "$LAB/dom-back.html" logon s-critical
check "dom back: and has green ones" has_bar "$LAB/dom-back.html" logon s-ok
# green again, as a phone in a dark theme sees it (the later --window-size wins)
chrome --force-dark-mode --window-size=390,1600 --screenshot="$ART/statuspage-ok-phone-dark.png" \
	"$URL/" >/dev/null
check "screenshot (phone, dark) taken" [ -s "$ART/statuspage-ok-phone-dark.png" ]
echo "screenshot: $ART/statuspage-ok-phone-dark.png"
chmod 644 "$ART"/*.png # artefacts for people to look at (the lab's umask is 077)

kill -TERM "$DPID"
wait "$DPID"
rc=$?
LAB_PIDS=${LAB_PIDS/ $DPID/}
check "certprobed exits 0 (ASan/LSan clean)" [ "$rc" = 0 ]
check "certprobed log has no sanitizer report" not grep -q Sanitizer "$LAB/daemon.log"

# ---- a restart keeps the history (persisted with the state file); this time the
# listener has TLS and basic auth, which the page sits behind as /metrics does ----
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=127.0.0.1 \
	-addext subjectAltName=IP:127.0.0.1 -keyout "$LAB/web.key" -out "$LAB/web.crt" 2>/dev/null
WEBPASS="web-$(openssl rand -hex 6)"
echo "$WEBPASS" >"$LAB/web.pass"
sed "s|^  history: 50$|  history: 50\n  web: {tls_cert: $LAB/web.crt, tls_key: $LAB/web.key, basic_auth: {username: ops, password: {file: $LAB/web.pass}}}|" \
	"$LAB/certprobe.yaml" >"$LAB/certprobe-web.yaml"
"$BIN/certprobed" -c "$LAB/certprobe-web.yaml" >"$LAB/daemon2.log" 2>&1 &
DPID=$!
LAB_PIDS="$LAB_PIDS $DPID"
URL=https://127.0.0.1:$DPORT
page() { curl -fs -m 10 --cacert "$LAB/web.crt" -u "ops:$WEBPASS" "$URL${1:-/}"; }
check "restart: certprobed is up again (HTTPS)" until_true 20 curl -fs --cacert "$LAB/web.crt" "$URL/-/healthy"
check "basic auth: / without credentials is 401" \
	[ "$(curl -s --cacert "$LAB/web.crt" -o /dev/null -w '%{http_code}' "$URL/")" = 401 ]
check "basic auth: /txn/logon without credentials is 401" \
	[ "$(curl -s --cacert "$LAB/web.crt" -o /dev/null -w '%{http_code}' "$URL/txn/logon")" = 401 ]
check "basic auth: / with them is the page" contains "$(page /)" 'data-txn="logon"'
check "no secret: the listener's password is not on the page" not contains "$(page /)" "$WEBPASS"
page /txn/logon >"$LAB/txn-restarted.html"
check "restart: logon's history still has the outage (red bars)" \
	grep -q '<rect class="s-critical"' "$LAB/txn-restarted.html"
check "restart: and the runs before it" grep -q '<rect class="s-ok"' "$LAB/txn-restarted.html"
kill -TERM "$DPID"
wait "$DPID"
rc=$?
LAB_PIDS=${LAB_PIDS/ $DPID/}
check "restarted certprobed exits 0" [ "$rc" = 0 ]
check "restarted certprobed log has no sanitizer report" not grep -q Sanitizer "$LAB/daemon2.log"
finish
