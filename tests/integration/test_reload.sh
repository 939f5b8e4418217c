#!/bin/bash
# Reloads (issue 10, items 2 and 7), on 127.0.0.1:19470-19471: a SIGHUP with a hostile
# file (100,000 nested '[', 40,000 errors) is read off the loop and refused with a short
# report while /-/healthy keeps answering; the run in flight of an unchanged transaction
# survives a reload and reports; the run of a removed one is cancelled, logged and
# counted in certprobe_reload_cancelled_runs_total.
set -u
SRCDIR=${SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$SRCDIR/tests/lab/lib.sh"
. "$SRCDIR/tests/integration/assert.sh"
lab_test_init

DPORT=19470 STALL=19471
# a registrar that accepts and never answers: every run waits for its deadline
python3 - "$STALL" >"$LAB/stall.log" 2>&1 <<'PY' &
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(64)
held = []
while True:
    c, _ = s.accept(); held.append(c)
PY
LAB_PIDS="$LAB_PIDS $!"
lab_wait_port "$STALL" || exit 1
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$LAB/id.key" \
	-out "$LAB/id.pem" -subj /CN=certprobe-reload -days 2 2>/dev/null

# config NAME...: one stalled client-auth per NAME (timeout 3 s)
config() {
	echo "probe: {state_dir: $LAB/state, listen: '127.0.0.1:$DPORT'}"
	echo "defaults: {interval: 1s, timeout: 3s, max_attempts: 1}"
	echo "transactions:"
	for n in "$@"; do
		echo "  - name: $n"
		echo "    type: client-auth"
		echo "    registrar: {host: 127.0.0.1, port: $STALL}"
		echo "    sip_uri: sip:reload@rig.test"
		echo "    trust_store: $LAB/id.pem"
	done
}
write() { # write FILE-CONTENT-CMD...: replace the config atomically
	"$@" >"$LAB/next.yaml" && chmod 600 "$LAB/next.yaml" && mv "$LAB/next.yaml" "$LAB/certprobe.yaml"
}
metric() { curl -s -m 2 "http://127.0.0.1:$DPORT/metrics" | awk -v m="$1" '$1 == m { print $NF }'; }
runs() {
	curl -s -m 2 "http://127.0.0.1:$DPORT/metrics" |
		awk -v t="transaction=\"$1\"" 'index($0, "certprobe_transaction_runs_total{") == 1 &&
			index($0, t) { s += $NF } END { print s + 0 }'
}
log_since() { tail -n +"$(($1 + 1))" "$LAB/daemon.log" | grep -q "$2"; } # log_since LINES PATTERN
runs_gt() { test "$(runs "$1")" -gt "$2"; }
inflight() { test "$(metric certprobe_transactions_in_flight)" = "$1"; }

write config keep gone
"$BIN/certprobed" -c "$LAB/certprobe.yaml" >"$LAB/daemon.log" 2>&1 &
DPID=$!
LAB_PIDS="$LAB_PIDS $DPID"
check "certprobed starts" until_true 10 curl -fs -m 1 "http://127.0.0.1:$DPORT/-/healthy"
check "both runs are in flight (the registrar stalls them)" until_true 5 inflight 2

# ---- an unchanged transaction's run survives; a removed one's is cancelled ----
r0=$(runs keep)
write config keep
kill -HUP "$DPID"
check "the reload is applied" until_true 5 grep -q "applied, 1 transaction" "$LAB/daemon.log"
check "the removed transaction's run is cancelled and logged" \
	grep -q "reload: the run of 'gone' in flight was cancelled" "$LAB/daemon.log"
check "... and counted" test "$(metric certprobe_reload_cancelled_runs_total)" = 1
check "the carried run of 'keep' ends with its result (timeout) in the new configuration" \
	until_true 6 runs_gt keep "$r0"

# ---- hostile files: refused quickly, off the loop, the daemon keeps answering ----
hostile() { # hostile NAME PYTHON-EXPR: write the file, HUP, watch /-/healthy, wait for the verdict
	python3 -c "import sys; sys.stdout.write($2)" >"$LAB/next.yaml"
	chmod 600 "$LAB/next.yaml"
	mv "$LAB/next.yaml" "$LAB/certprobe.yaml"
	local lines0 worst=0 ms i
	lines0=$(wc -l <"$LAB/daemon.log")
	kill -HUP "$DPID"
	for i in $(seq 1 10); do
		ms=$(curl -s -m 1 -o /dev/null -w '%{time_total}' "http://127.0.0.1:$DPORT/-/healthy" |
			awk '{printf "%d", $1 * 1000}')
		[ "${ms:-1000}" -gt "$worst" ] && worst=${ms:-1000}
		sleep 0.05
	done
	echo "       $1: /-/healthy worst of 10 during the reload = $worst ms"
	check "$1: /-/healthy answers throughout (curl -m 1)" [ "$worst" -lt 1000 ]
	check "$1: the reload is refused, the running configuration kept" \
		until_true 10 log_since "$lines0" "keeping the running configuration"
	HOSTILE_LINES=$(($(wc -l <"$LAB/daemon.log") - lines0))
}
hostile "100,000 nested [" '"transactions: " + "[" * 100000 + "\n"'
check "... with the reason" grep -q "nested deeper than 64 levels" "$LAB/daemon.log"
hostile "40,000 errors" '"probe: {state_dir: /tmp/x}\ntransactions:\n  - name: a\n    type: client-auth\n" + "    bogus: 1\n" * 40000'
echo "       40,000 errors: $HOSTILE_LINES log lines"
check "40,000 errors: the first 50 and a count, not 120,000 lines" [ "$HOSTILE_LINES" -lt 300 ]
check "... the count" grep -q "more errors not shown (the first 50 are)" "$LAB/daemon.log"
check "config_last_reload_successful says 0" test "$(metric certprobe_config_last_reload_successful)" = 0
r1=$(runs keep)
check "the running transaction goes on" until_true 6 runs_gt keep "$r1"
kill -TERM "$DPID"
check "SIGTERM stops it within 2 s" until_true 2 sh -c "! kill -0 $DPID 2>/dev/null"
finish
