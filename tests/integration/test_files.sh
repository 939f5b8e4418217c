#!/bin/bash
# Files the daemon reads (issue 10, item 1), on 127.0.0.1:19450-19451: a trust store, a
# client certificate or a key that is a FIFO, a directory, missing or 1 GiB, and a state
# file that is a FIFO. Each ends as its own classified UNKNOWN status within
# milliseconds (never a hang in open()), certprobed starts (the FIFO state file is set
# aside) and keeps answering /-/healthy, SIGTERM stops it, and `certprobe status` on a
# FIFO answers UNKNOWN at once.
set -u
SRCDIR=${SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$SRCDIR/tests/lab/lib.sh"
. "$SRCDIR/tests/integration/assert.sh"
lab_test_init

DPORT=19450 DEAD=19451 # DEAD: nothing listens
F=$LAB/files
mkdir -p "$F" "$LAB/state"
mkfifo "$F/fifo"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$F/id.key" \
	-out "$F/id.pem" -subj /CN=certprobe-files -days 2 2>/dev/null
truncate -s 1G "$F/huge.key" # sparse: costs no disk
chmod 600 "$F"/*.key

# ca NAME TRUST [CERT KEY]: a client-auth transaction against the dead port
ca() {
	echo "  - name: $1"
	echo "    type: client-auth"
	echo "    registrar: {host: 127.0.0.1, port: $DEAD}"
	echo "    sip_uri: sip:files@rig.test"
	echo "    trust_store: $2"
	[ $# -gt 2 ] && echo "    certificate: {cert: $3, key: $4}"
	return 0
}
{
	echo "probe:"
	echo "  state_dir: $LAB/state"
	echo "  listen: 127.0.0.1:$DPORT"
	echo "defaults: {interval: 1s, timeout: 3s, max_attempts: 1}"
	echo "transactions:"
	ca fifo-trust "$F/fifo"
	ca dir-trust "$F"
	ca missing-trust "$F/none.pem"
	ca fifo-cert "$F/id.pem" "$F/fifo" "$F/id.key"
	ca fifo-key "$F/id.pem" "$F/id.pem" "$F/fifo"
	ca huge-key "$F/id.pem" "$F/id.pem" "$F/huge.key"
	ca good "$F/id.pem" "$F/id.pem" "$F/id.key"
	echo "  - name: https-fifo"
	echo "    type: enrollment"
	echo "    protocol: scep"
	echo "    url: https://127.0.0.1:$DEAD/scep"
	echo "    subject: CN=certprobe-files"
	echo "    trust_store: $F/fifo"
	echo "    key: {type: ec}"
	echo "  - name: fifo-challenge"
	echo "    type: enrollment"
	echo "    protocol: scep"
	echo "    url: http://127.0.0.1:$DEAD/scep"
	echo "    subject: CN=certprobe-files"
	echo "    challenge: {file: $F/fifo}"
	echo "    key: {type: ec}"
} >"$LAB/certprobe.yaml"
chmod 600 "$LAB/certprobe.yaml"

# ---- one run each (certprobe run: the same runner and loader as the daemon) ----
status_of() { jq -r ".[] | select(.name == \"$1\") | .status" "$LAB/run.json"; }
t0=$(date +%s%3N)
timeout 20 "$BIN/certprobe" run -j -c "$LAB/certprobe.yaml" >"$LAB/run.json" 2>"$LAB/run.err"
rc=$?
echo "       certprobe run of 9 transactions: $(($(date +%s%3N) - t0)) ms, exit $rc"
check "certprobe run ends (no hang on a FIFO: exit 3 for the UNKNOWNs, not 124)" [ "$rc" = 3 ]
for c in fifo-trust:probe_file_not_regular dir-trust:probe_file_not_regular \
	missing-trust:probe_file_unreadable fifo-cert:probe_file_not_regular \
	fifo-key:probe_file_not_regular huge-key:probe_file_too_large \
	https-fifo:probe_file_not_regular fifo-challenge:probe_secret_unavailable \
	good:tcp_refused; do
	check "${c%%:*}: ${c#*:}" [ "$(status_of "${c%%:*}")" = "${c#*:}" ]
done
check "a FIFO secret file: the detail says so" \
	contains "$(jq -r '.[] | select(.name == "fifo-challenge") | .error_detail' "$LAB/run.json")" \
	"$F/fifo: not a regular file (a FIFO)"
check "the detail names the file and what is wrong with it" \
	contains "$(jq -r '.[] | select(.name == "huge-key") | .error_detail' "$LAB/run.json")" \
	"client key $F/huge.key: too large (1073741824 bytes"

# ---- the daemon, with a FIFO where its state file goes ----
mkfifo "$LAB/state/certprobed.state.json"
"$BIN/certprobed" -c "$LAB/certprobe.yaml" >"$LAB/daemon.log" 2>&1 &
DPID=$!
LAB_PIDS="$LAB_PIDS $DPID"
check "certprobed starts with a FIFO as its state file" \
	until_true 10 curl -fs -m 1 "http://127.0.0.1:$DPORT/-/healthy"
check "the FIFO is set aside as .bad, with a log line" \
	until_true 5 grep -q "not a regular file" "$LAB/daemon.log"
check "... and a regular state file is written in its place" \
	until_true 10 test -f "$LAB/state/certprobed.state.json" -a ! -p "$LAB/state/certprobed.state.json"
check "the daemon classifies the FIFO trust store" \
	until_true 10 sh -c "curl -s -m 2 http://127.0.0.1:$DPORT/metrics | grep -q 'transaction=\"fifo-trust\".*reason=\"probe_file_not_regular\"\|reason=\"probe_file_not_regular\".*transaction=\"fifo-trust\"'"
worst=0
for i in $(seq 1 20); do
	ms=$(curl -s -m 1 -o /dev/null -w '%{time_total}' "http://127.0.0.1:$DPORT/-/healthy" |
		awk '{printf "%d", $1 * 1000}')
	[ "${ms:-1000}" -gt "$worst" ] && worst=${ms:-1000}
	sleep 0.05
done
echo "       /-/healthy while every run hits a bad file: worst of 20 = $worst ms"
check "/-/healthy answers every time (curl -m 1)" [ "$worst" -lt 1000 ]
check "no file failure degrades the registrar (probe-side UNKNOWN is left out)" \
	sh -c "! curl -s -m 2 http://127.0.0.1:$DPORT/metrics | grep -E '^certprobe_endpoint_state\\{.*state=\"unknown\"\\} 1'"
t0=$(date +%s%3N)
kill -TERM "$DPID"
check "SIGTERM stops the daemon within 2 s" until_true 2 sh -c "! kill -0 $DPID 2>/dev/null"
echo "       stopped after $(($(date +%s%3N) - t0)) ms"

# ---- certprobe status on a FIFO ----
mkdir -p "$LAB/state2"
mkfifo "$LAB/state2/certprobed.state.json"
timeout 5 "$BIN/certprobe" status -s "$LAB/state2" >"$LAB/status.out" 2>&1
rc=$?
check "certprobe status on a FIFO answers UNKNOWN (3) at once, not a hang (124)" [ "$rc" = 3 ]
check "... and says why" grep -q "not a regular file" "$LAB/status.out"

finish
