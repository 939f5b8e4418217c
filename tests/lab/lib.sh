# Shared helpers (bash) for the demo lab and the integration tests: start real peers on
# 127.0.0.1, wait for them, stop them on exit. Source it; set LAB (a scratch dir) first.
# Every peer started here is killed by lab_cleanup (installed as an EXIT trap).

LAB_PIDS=""
SRCDIR=${SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
BIN=${BIN:-$SRCDIR/build/bin}

# _lab_alive PID: running (not gone, not a zombie waiting to be reaped)
_lab_alive() {
	local st
	st=$(cut -d' ' -f3 "/proc/$1/stat" 2>/dev/null) || return 1
	[ -n "$st" ] && [ "$st" != Z ] && [ "$st" != X ]
}

# Stop every peer the test started: SIGTERM, up to 5 s to exit, then SIGKILL, then reap.
# A peer that ignores SIGTERM (or hangs in its exit path) must never keep the test, and
# with it ctest's output pipe, open until ctest's own timeout.
lab_cleanup() {
	local p n alive
	for p in $LAB_PIDS; do
		kill "$p" 2>/dev/null || true
		kill -CONT "$p" 2>/dev/null || true # one lab_sigstop left stopped
	done
	for n in $(seq 1 50); do
		alive=""
		for p in $LAB_PIDS; do
			_lab_alive "$p" && alive="$alive $p"
		done
		[ -z "$alive" ] && break
		sleep 0.1
	done
	for p in $alive; do
		echo "lab: pid $p ($(cat "/proc/$p/comm" 2>/dev/null)) ignored SIGTERM for 5 s: SIGKILL" >&2
		kill -9 "$p" 2>/dev/null || true
	done
	for p in $LAB_PIDS; do
		wait "$p" 2>/dev/null || true
	done
	LAB_PIDS=""
}

lab_init() {
	mkdir -p "$LAB"
	trap 'lab_cleanup' EXIT
	trap 'lab_cleanup; exit 130' INT TERM
}

# lab_wait_port PORT [SECONDS]: until something accepts on 127.0.0.1:PORT
lab_wait_port() {
	local n=0
	while ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; do
		n=$((n + 1))
		[ "$n" -lt $((${2:-15} * 10)) ] || { echo "lab: nothing listens on port $1" >&2; return 1; }
		sleep 0.1
	done
}

# lab_sigstop PID: SIGSTOP PID, then wait until every thread of it is stopped. kill returns
# once the signal is queued: Linux wakes one thread for it and stops the others only when
# that one runs, so on a loaded machine the rest go on working meanwhile (an Alertmanager
# answered 200 to a POST sent 1 ms after kill -STOP had returned). lab_cleanup continues it.
lab_sigstop() {
	local n=0 f s running
	kill -STOP "$1" || return 1
	while :; do
		running=0
		for f in /proc/"$1"/task/*/stat; do
			read -r s <"$f" 2>/dev/null || continue
			s=${s##*) }
			[ "${s%% *}" = T ] || running=1
		done
		[ "$running" = 0 ] && return 0
		n=$((n + 1))
		[ "$n" -lt 1000 ] || { echo "lab: process $1 did not stop" >&2; return 1; }
		sleep 0.01
	done
}

# lab_fingerprint PEM: "sha256:<hex>" of the certificate's DER
lab_fingerprint() {
	printf 'sha256:%s\n' "$(openssl x509 -in "$1" -outform DER | sha256sum | cut -d' ' -f1)"
}

# lab_scepserver DIR PORT [extra scepserver flags...]: a micromdm CA on PORT.
# The CA is created once per DIR (2048-bit: the default 4096 makes every issuance 4x dearer).
lab_scepserver() {
	local dir=$1 port=$2
	shift 2
	mkdir -p "$dir"
	if [ ! -f "$dir/depot/ca.pem" ]; then
		(cd "$dir" && scepserver ca -init -depot depot -keySize 2048 \
			-organization certprobe-lab -country US >/dev/null 2>&1)
	fi
	(cd "$dir" && exec scepserver -depot depot -port "$port" "$@") >"$dir/scepserver.$port.log" 2>&1 &
	LAB_PIDS="$LAB_PIDS $!"
	lab_wait_port "$port"
}

# lab_faultd DIR PORT: our fault-injecting SCEP responder (tests/peers/scep_faultd.c)
lab_faultd() {
	local dir=$1 port=$2
	shift 2
	mkdir -p "$dir"
	"$BIN/scep_faultd" -p "$port" -d "$dir" "$@" >"$dir/faultd.$port.log" 2>&1 &
	LAB_PIDS="$LAB_PIDS $!"
	lab_wait_port "$port"
}

# lab_tls_front CERTKEYPEM PORT BACKEND_PORT [chain.pem]: socat TLS in front of a backend
lab_tls_front() {
	local extra=""
	[ -n "${4:-}" ] && extra=",certificate=$4"
	socat "OPENSSL-LISTEN:$2,bind=127.0.0.1,reuseaddr,fork,cert=$1,verify=0$extra" \
		"TCP:127.0.0.1:$3" 2>/dev/null &
	LAB_PIDS="$LAB_PIDS $!"
	lab_wait_port "$2"
}

# lab_test_init: for integration tests (source tests/integration/assert.sh too):
# a scratch LAB under /tmp, removed on exit unless a check failed.
lab_test_init() {
	LAB=$(mktemp -d /tmp/certprobe-it.XXXXXX)
	mkdir -p "$LAB"
	trap 'lab_cleanup; [ "${FAIL:-0}" -eq 0 ] && rm -rf "$LAB"' EXIT
	trap 'lab_cleanup; exit 130' INT TERM
}
