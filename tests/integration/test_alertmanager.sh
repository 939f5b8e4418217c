#!/bin/bash
# The Alertmanager sink against the real Alertmanager (Debian prometheus-alertmanager,
# API v2) on 127.0.0.1:18701 and :18702, driven by tests/tools/am_drive (the sink and
# HTTP client of certprobe_core on a real loop). Proves: a fired alert reaches both
# URLs with its labels and annotations and stays active through resends; an update
# overwrites its annotations; a resolve ends it; while one Alertmanager is down (then
# hung) fires and resolves are retried with backoff and arrive once it is back, the
# other one receiving them meanwhile; a 404 drops the batch with a log line whose URL
# has its password redacted; the driver exits ASan-clean.
set -u
SRCDIR=${SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$SRCDIR/tests/lab/lib.sh"
. "$SRCDIR/tests/integration/assert.sh"
lab_test_init
RC=0 OUT= ERR=

AM=/usr/bin/prometheus-alertmanager
AM1=18701 AM2=18702
DRIVE=$BIN/am_drive
T_START=$(($(date +%s) - 600)) # Alertmanager does not list alerts that start later
T_START_TEXT=$(date -u -d "@$T_START" +%Y-%m-%dT%H:%M:%S.000Z)
for f in "$AM" "$DRIVE"; do
	[ -x "$f" ] || { echo "FAIL - $f is not installed/built"; exit 1; }
done

# A stopped (SIGSTOP) Alertmanager must be continued, or lab_cleanup's wait would hang.
declare -A AMPID
trap 'for p in "${AMPID[@]}"; do kill -CONT "$p" 2>/dev/null; done; lab_cleanup;
	[ "${FAIL:-0}" -eq 0 ] && rm -rf "$LAB"' EXIT

cat >"$LAB/am.yml" <<'EOF'
route:
  receiver: 'null'
receivers:
  - name: 'null'
EOF

# am_start PORT: an Alertmanager with a null receiver, no clustering; waits for /-/ready
am_start() {
	local n=0
	mkdir -p "$LAB/am$1"
	"$AM" --config.file="$LAB/am.yml" --storage.path="$LAB/am$1" \
		--web.listen-address="127.0.0.1:$1" --cluster.listen-address= \
		>>"$LAB/am$1.log" 2>&1 &
	AMPID[$1]=$!
	LAB_PIDS="$LAB_PIDS $!"
	until curl -fs "http://127.0.0.1:$1/-/ready" >/dev/null 2>&1; do
		n=$((n + 1))
		[ "$n" -lt 100 ] || { echo "alertmanager on $1 not ready" >&2; return 1; }
		sleep 0.1
	done
}

am_stop() {
	kill "${AMPID[$1]}" 2>/dev/null
	wait "${AMPID[$1]}" 2>/dev/null
	return 0
}

# alerts PORT: the active alerts as JSON
alerts() {
	curl -fs --max-time 5 \
		"http://127.0.0.1:$1/api/v2/alerts?active=true&silenced=false&inhibited=false&unprocessed=true"
}

# alert_is PORT NAME JQ-CONDITION: the alert called NAME is there, active, and the
# condition holds for it
alert_is() {
	alerts "$1" | jq -e --arg n "$2" \
		"[.[] | select(.labels.alertname == \$n and .status.state == \"active\")]
		 | length == 1 and (.[0] | $3)" >/dev/null
}

absent() {
	alerts "$1" | jq -e --arg n "$2" 'all(.[]; .labels.alertname != $n)' >/dev/null
}

# resolved_received PORT N: Alertmanager counted at least N resolved alerts received
resolved_received() {
	local v
	v=$(curl -fs --max-time 5 "http://127.0.0.1:$1/metrics" |
		awk '/^alertmanager_alerts_received_total\{status="resolved",version="v2"\}/ { print $2 }')
	[ -n "$v" ] && [ "${v%%.*}" -ge "$2" ]
}

not() { ! "$@"; }

# eventually SECONDS CMD...: CMD succeeds within SECONDS (polled every 0.1 s)
eventually() {
	local end=$((SECONDS + $1))
	shift
	until "$@"; do
		[ "$SECONDS" -lt "$end" ] || return 1
		sleep 0.1
	done
}

# drive COMMAND: one command to the driver; its one-line answer in $REPLY
drive() {
	echo "$*" >&"${DRV[1]}"
	REPLY=
	read -r -t 20 REPLY <&"${DRV[0]}" || REPLY="(no answer)"
}

stat_of() { # FIELD: from the last "stats" answer
	printf '%s\n' "$REPLY" | tr ' ' '\n' | sed -n "s/^$1=//p"
}

am_start $AM1 || exit 1
am_start $AM2 || exit 1

# resend every 2 s (so the backoff caps at 2 s), 1 s per POST
coproc DRV { exec "$DRIVE" -u "http://127.0.0.1:$AM1" -u "http://127.0.0.1:$AM2/" \
	-r 2000 -t 1000 -g "http://probe.test:9793/" 2>"$LAB/drive.err"; }
LAB_PIDS="$LAB_PIDS $DRV_PID"
DRV_PID_SAVED=$DRV_PID

# ---- fire: both Alertmanagers get it, labels and annotations intact ----
drive fire alertname=CertprobeRegistrarDown target=pool1.example.com severity=critical \
	+summary=registrar%20pool1%20is%20down +runbook_url=https://wiki.example/rb @$T_START
drive drain 5000
check "fire: delivered to both URLs (sink idle)" [ "$REPLY" = idle ]
for port in $AM1 $AM2; do
	check "fire: active on :$port with its labels" alert_is $port CertprobeRegistrarDown \
		'.labels == {"alertname":"CertprobeRegistrarDown","target":"pool1.example.com","severity":"critical"}'
	check "fire: annotations on :$port" alert_is $port CertprobeRegistrarDown \
		'.annotations == {"summary":"registrar pool1 is down","runbook_url":"https://wiki.example/rb"}'
	check "fire: startsAt and generatorURL on :$port" alert_is $port CertprobeRegistrarDown \
		"(.startsAt == \"$T_START_TEXT\") and .generatorURL == \"http://probe.test:9793/\""
done

# ---- resend: the alert is re-posted (updatedAt moves) ----
before=$(alerts $AM1 | jq -r '.[] | select(.labels.alertname=="CertprobeRegistrarDown") | .updatedAt')
drive wait 2600
after=$(alerts $AM1 | jq -r '.[] | select(.labels.alertname=="CertprobeRegistrarDown") | .updatedAt')
check "resend: re-posted within the resend interval ($before -> $after)" \
	[ -n "$before" -a -n "$after" -a "$before" != "$after" ]

# ---- update: label order does not matter, annotations are overwritten ----
drive fire severity=critical target=pool1.example.com alertname=CertprobeRegistrarDown \
	+summary=still%20down @$T_START
drive drain 5000
check "update: annotations replaced on :$AM2" alert_is $AM2 CertprobeRegistrarDown \
	'.annotations == {"summary":"still down"}'
drive stats
check "update: still one active alert" [ "$(stat_of active)" = 1 ]

# ---- resolve: gone from the active list of both ----
drive resolve alertname=CertprobeRegistrarDown severity=critical target=pool1.example.com
drive drain 5000
check "resolve: delivered (sink idle)" [ "$REPLY" = idle ]
check "resolve: ended on :$AM1" absent $AM1 CertprobeRegistrarDown
check "resolve: ended on :$AM2" absent $AM2 CertprobeRegistrarDown
drive stats
check "resolve: forgotten once delivered" [ "$(stat_of active)/$(stat_of pending_resolve)" = 0/0 ]

# ---- one Alertmanager down: nothing is lost ----
drive fire alertname=CertprobeEnrollFailed target=ndes1 +summary=will%20be%20resolved%20while%20down
drive drain 5000
check "down: second alert delivered while both are up" alert_is $AM1 CertprobeEnrollFailed true
am_stop $AM1
drive fire alertname=CertprobeClientAuthFailed target=pool2 +summary=fired%20while%20down
drive resolve alertname=CertprobeEnrollFailed target=ndes1
drive drain 1500
check "down: the sink keeps retrying (busy)" [ "$REPLY" = busy ]
drive stats
check "down: failed posts counted" [ "$(stat_of posts_failed)" -ge 1 ]
check "down: the resolve is kept" [ "$(stat_of pending_resolve)" = 1 ]
check "down: the other URL got the fire" alert_is $AM2 CertprobeClientAuthFailed \
	'.annotations.summary == "fired while down"'
check "down: the other URL got the resolve" absent $AM2 CertprobeEnrollFailed
check "down: one warning, not one per retry" \
	[ "$(grep -c "127.0.0.1:$AM1: post of .* failed .*retrying with backoff" "$LAB/drive.err")" = 1 ]
am_start $AM1 || exit 1
check "down: the fire arrives once it is back" \
	eventually 8 alert_is $AM1 CertprobeClientAuthFailed '.labels.target == "pool2"'
check "down: the queued resolve arrives too" \
	eventually 8 resolved_received $AM1 1
drive drain 5000
check "down: all delivered (sink idle)" [ "$REPLY" = idle ]
drive stats
check "down: nothing pending" [ "$(stat_of pending_resolve)" = 0 ]

# ---- one Alertmanager hung (SIGSTOP): timeouts, then delivery ----
check "hung: the Alertmanager on :$AM2 is stopped" lab_sigstop "${AMPID[$AM2]}"
drive fire alertname=CertprobeHung target=pool3
drive drain 1500
check "hung: delivered to the live URL" alert_is $AM1 CertprobeHung true
check "hung: still retrying the hung one (drain: $REPLY)" [ "$REPLY" = busy ]
kill -CONT "${AMPID[$AM2]}"
check "hung: arrives once it answers again" eventually 8 alert_is $AM2 CertprobeHung true
check "hung: the timeout is logged" \
	grep -q "127.0.0.1:$AM2/: post of [0-9]* alerts failed (timeout" "$LAB/drive.err"

drive quit
wait "$DRV_PID_SAVED"
RC=$?
check "driver exits 0 (ASan/LSan clean)" [ "$RC" = 0 ]
check "driver stderr has no sanitizer report" not grep -q Sanitizer "$LAB/drive.err"

# ---- a 4xx drops the batch; the logged URL hides the password ----
RC=0
printf 'fire alertname=Rejected\ndrain 4000\nstats\n' |
	"$DRIVE" -u "http://probe:s3cret@127.0.0.1:$AM1/bogus" -r 2000 -t 1000 \
		>"$LAB/bad.out" 2>"$LAB/bad.err" || RC=$?
ERR=$(cat "$LAB/bad.err")
check "4xx: driver exits 0" [ "$RC" = 0 ]
check "4xx: dropped at once (idle)" [ "$(sed -n 2p "$LAB/bad.out")" = idle ]
check "4xx: one failed post, no retry" grep -q '^posts_ok=0 posts_failed=1 ' "$LAB/bad.out"
check "4xx: logged with the status" contains "$ERR" "HTTP 404, 1 alerts dropped"
check "4xx: userinfo redacted" contains "$ERR" "http://[redacted]@127.0.0.1:$AM1/bogus"
check "4xx: password never logged" not contains "$ERR" s3cret

finish
