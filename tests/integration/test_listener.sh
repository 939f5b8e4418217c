#!/bin/bash
# certprobed's listener under descriptor pressure (issue 10, item 3), on 127.0.0.1:18940-18941:
# with `ulimit -n 64` and 100 idle connections the daemon does not spin on EMFILE, logs at
# most a few lines about it, keeps running its transaction (no UNKNOWN results), refuses
# what is beyond its connection cap (and counts it), answers /-/healthy soon after the
# idle connections go, and a client that sends one byte a second is cut off by the
# request deadline although each byte would reset an idle timer.
set -u
SRCDIR=${SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$SRCDIR/tests/lab/lib.sh"
. "$SRCDIR/tests/integration/assert.sh"
lab_test_init

DPORT=18940 DEAD=18941 # DEAD: nothing listens; the transaction fails there (CRITICAL)
CLK_TCK=$(getconf CLK_TCK)

metric() { curl -s -m 2 "http://127.0.0.1:$DPORT/metrics" | grep -E "^$1" | head -1 | awk '{print $NF}'; }
runs() { metric "certprobe_transaction_runs_total\\{transaction=\"dead\".*result=\"$1\""; }
runs_gt() { test "$(runs "$1")" -gt "$2"; }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
now_ms() { date +%s%3N; }

# clients.py idle N READY RELEASE: N connections that send nothing; READY once all are
# connected, closed when RELEASE appears. clients.py trickle MAX: one byte a second of a
# request that never ends; prints the seconds until the server hung up ("none" after MAX).
cat >"$LAB/clients.py" <<'PY'
import os, socket, sys, time
mode = sys.argv[1]
if mode == "idle":
    n, ready, release = int(sys.argv[2]), sys.argv[3], sys.argv[4]
    socks = []
    for _ in range(n):
        s = socket.socket()
        s.settimeout(5)
        s.connect(("127.0.0.1", int(os.environ["DPORT"])))
        socks.append(s)
    open(ready, "w").close()
    while not os.path.exists(release):
        time.sleep(0.05)
    for s in socks:
        s.close()
else:
    limit = float(sys.argv[2])
    s = socket.create_connection(("127.0.0.1", int(os.environ["DPORT"])), timeout=5)
    s.settimeout(0.05)
    req = b"GET /metrics HTTP/1.1\r\nHost: x\r\n" + b"X-Slow: " + b"a" * 200
    t0 = time.monotonic()
    i = 0
    while time.monotonic() - t0 < limit:
        try:
            s.send(req[i % len(req):i % len(req) + 1])
            i += 1
            end = time.monotonic() + 1
            while time.monotonic() < end:
                try:
                    if s.recv(4096) == b"":
                        raise ConnectionResetError
                except socket.timeout:
                    pass
        except (ConnectionResetError, BrokenPipeError):
            print("%.1f" % (time.monotonic() - t0))
            sys.exit(0)
    print("none")
PY

cat >"$LAB/certprobe.yaml" <<YAML
probe:
  state_dir: $LAB/state
  listen: 127.0.0.1:$DPORT
defaults:
  interval: 1s
  timeout: 500ms
  max_attempts: 1
transactions:
  - name: dead
    type: enrollment
    protocol: scep
    url: http://127.0.0.1:$DEAD/scep
    subject: CN=certprobe-listener,O=Example
    key: {type: ec}
YAML

# the limit is set in the subshell that then becomes the daemon: hard and soft alike
(ulimit -n 64 && exec "$BIN/certprobed" -c "$LAB/certprobe.yaml") >"$LAB/daemon.log" 2>&1 &
DPID=$!
LAB_PIDS="$LAB_PIDS $DPID"
until_true 10 curl -fs "http://127.0.0.1:$DPORT/-/healthy" || {
	echo "FAIL - certprobed did not start"
	cat "$LAB/daemon.log"
	exit 1
}
check "the transaction runs (CRITICAL: nothing listens on $DEAD)" until_true 10 runs_gt critical 0
crit0=$(runs critical)
unknown0=$(runs unknown)
unknown0=${unknown0:-0}

# ---- 100 idle connections ----
DPORT=$DPORT python3 "$LAB/clients.py" idle 100 "$LAB/ready" "$LAB/release" 2>"$LAB/idle.err" &
IDLE=$!
LAB_PIDS="$LAB_PIDS $IDLE"
check "100 idle connections are made (the kernel's backlog takes what is not accepted)" \
	until_true 10 test -e "$LAB/ready"
c0=$(cpu_ticks "$DPID")
sleep 2 # a CPU measurement needs a window
c1=$(cpu_ticks "$DPID")
cpu_pct=$(((c1 - c0) * 100 / CLK_TCK / 2))
echo "       daemon CPU with 100 idle connections: ${cpu_pct}% over 2 s"
check "the daemon does not spin (CPU < 25% over 2 s)" [ "$cpu_pct" -lt 25 ]
touch "$LAB/release"
wait "$IDLE"

t0=$(now_ms)
check "/-/healthy answers within 3 s once the idle connections are gone" \
	until_true 3 curl -fs -m 1 "http://127.0.0.1:$DPORT/-/healthy"
echo "       /-/healthy answered after $(($(now_ms) - t0)) ms"
emfile=$(grep -c -i -E "too many open files|out of (file )?descriptors" "$LAB/daemon.log")
log_lines=$(wc -l <"$LAB/daemon.log")
echo "       log: $log_lines lines, $emfile about descriptors"
check "at most 3 log lines about the descriptor limit" [ "$emfile" -le 3 ]
check "the log stays small (< 100 lines)" [ "$log_lines" -lt 100 ]
crit1=$(runs critical)
unknown1=$(runs unknown)
echo "       runs during the flood (about 2.5 s at 1 s): $((${crit1:-0} - crit0)) CRITICAL," \
	"$((${unknown1:-0} - unknown0)) UNKNOWN"
check "the transaction went on running during the flood (2 runs or more)" \
	[ "$((${crit1:-0} - crit0))" -ge 2 ]
check "no run turned UNKNOWN (it found its descriptors)" [ "${unknown1:-0}" = "$unknown0" ]
refused=$(metric certprobe_http_connections_refused_total)
echo "       refused connections: ${refused:-none}"
check "refused connections are counted" test "${refused:-0}" -gt 0
curl -s "http://127.0.0.1:$DPORT/metrics" >"$LAB/metrics.txt"
if command -v promtool >/dev/null 2>&1; then
	check "promtool check metrics is clean" promtool check metrics <"$LAB/metrics.txt"
fi

# ---- a trickle ----
t=$(DPORT=$DPORT python3 "$LAB/clients.py" trickle 15)
echo "       trickle client cut off after: $t s"
check "a request sent one byte a second is cut off by the deadline (10 s, within 13 s)" \
	awk -v t="$t" 'BEGIN { exit !(t != "none" && t + 0 <= 13) }'
check "the daemon is still healthy" quiet curl -fs -m 2 "http://127.0.0.1:$DPORT/-/healthy"
check "the deadline's closes are counted" \
	test "$(metric certprobe_http_request_deadline_closed_total)" -ge 1
check "the closed connections are no longer counted as open (the scrape's own is)" \
	test "$(metric certprobe_http_connections_open)" -le 2
check "the daemon is still running" kill -0 "$DPID"

finish
