# SIP registrar lab (bash). Source it after lib.sh (uses LAB_PIDS; lab_cleanup stops every
# peer started here). Real peers on 127.0.0.1 only: Kamailio 5.6 (mutual TLS registrar),
# socat (stalling listeners), dnsmasq (SRV/A records). Manual check: tests/lab/sip-lab-selfcheck.
#
# sip_lab_pki DIR
#     Throw-away PKI (tests/lab/sip-pki.sh; file list there). Sets SIP_LAB_PKI=DIR.
#     Root "Rig Root CA" -> "Rig Issuing CA" (inter) -> server/client leaves; trust.pem = root
#     only; client-cas.pem = root + inter. Client X.crt = leaf + inter, X.key, X.leaf.crt.
#
# sip_lab_kamailio DIR BASEPORT CA_LIST [PKI_DIR]
#     Writes DIR/kamailio.cfg and DIR/tls.cfg from tests/lab/kamailio/*.in, starts Kamailio
#     (log DIR/kamailio.log, runtime DIR/run, ctl socket DIR/run/ctl.sock) and returns once
#     an mTLS handshake on BASEPORT+0 succeeds (fails after 15 s, printing the log tail).
#     CA_LIST: PEM bundle of the CAs whose client certificates Kamailio accepts (e.g.
#     PKI_DIR/client-cas.pem plus the SCEP CA). PKI_DIR defaults to $SIP_LAB_PKI.
#     Calling it again on the same DIR stops the running instance first (restart).
#     SIP_LAB_REDIRECT_HOST (default registrar.rig.test) is the host of the 301 Contact.
#     Sets SIP_LAB_KAMAILIO_READY (seconds from exec to the first good handshake).
#   Listeners (127.0.0.1, "strict" = client certificate required and verified in the
#   TLS handshake, i.e. a bad/missing client cert gets a TLS alert, never a SIP reply):
#     BASEPORT+0  tls  strict; server sends server.crt + inter (correct registrar)
#     BASEPORT+1  tls  strict; server sends rogue-server.crt + rogue-ca.crt (untrusted root)
#     BASEPORT+2  tls  lenient (verify_client=optional_no_ca): an unverified client gets
#                      403 "Client Certificate Required" | "... Expired" | "... Not Trusted"
#     BASEPORT+3  tls  strict; server sends its leaf only (intermediate missing)
#     BASEPORT+4  tls  strict; server sends wrongname.crt + inter (other.rig.test only)
#     BASEPORT+5  tls  strict; server sends server-expired.crt + inter (expired 2020-02-01)
#     BASEPORT+6  tls  strict "director": every request -> 301, Contact <sip:HOST:BASEPORT;transport=tls>
#     BASEPORT+7  tcp  plain TCP: every request -> 403 "TLS Required"
#   Routing (stateless, sl only; registrations in memory), in this order:
#     To user "stall"         no reply at all (the connection stays open)
#     To user "status-NNN"    reply NNN + `Warning: 399 registrar.rig.test "fault injected: NNN"`
#                             401 Unauthorized (+ WWW-Authenticate: TLS-DSK realm="SIP
#                             Communications Service", targetname="registrar.rig.test",
#                             version=4, sts-uri="https://127.0.0.1:443/CertProv/CertProvisioningService.svc"),
#                             403 Forbidden, 404 Not Found, 408 Request Timeout,
#                             480 Temporarily Unavailable, 500 Server Internal Error,
#                             503 Service Unavailable (+ Retry-After: 30), 504 Server Time-out;
#                             any other NNN in 300..699: reason "Fault Injected"
#     To user "status-403ms"  403 Forbidden + ms-diagnostics: 1000;reason="User is not
#                             authorized";source="registrar.rig.test" (no Warning)
#     301 Moved Permanently   on BASEPORT+6, or Request-URI user "moved", or To user "moved";
#                             Contact <sip:$SIP_LAB_REDIRECT_HOST:BASEPORT;transport=tls>
#     OPTIONS                 200 OK + X-Peer-CN: <cert CN>
#     REGISTER                From user and To user must equal the cert CN, else 403 "Identity
#                             Does Not Match Certificate"; a SAN URI, if present, must be
#                             sip:<CN>@rig.test, else 403 "Certificate SAN Does Not Match CN"
#                             (no SAN URI: the CN alone decides, as for SCEP-issued certs);
#                             then save("location") -> 200 with the bindings (a REGISTER
#                             without Contact just lists them)
#     anything else           405 Method Not Allowed
#   Fault users are checked after the TLS checks but before identity, for every method.
#   How a test makes the probe follow exactly one redirect and then get 200: point the probe
#   at BASEPORT+6 (director) with its normal identity (From = To = cert CN). The 301 Contact
#   has no user part and names BASEPORT+0, where the retry is identity-checked normally.
#   The Contact host must resolve: run sip_lab_dns with --host-record=registrar.rig.test,127.0.0.1
#   or set SIP_LAB_REDIRECT_HOST=127.0.0.1 (the server cert has IP SAN 127.0.0.1). The same
#   single hop happens for a Request-URI sip:moved@... on any port. To user "moved" is a
#   redirect loop (the retry carries the same To), for testing a redirect limit.
#
# sip_lab_kamailio_stop DIR      SIGTERM, wait until every Kamailio process is gone and all
#                                eight ports are free (typically 0.1 s); drop it from LAB_PIDS
# sip_lab_kamailio_restart DIR   stop + start again with the same arguments (and redirect host)
# sip_lab_ul_dump DIR            registrations (kamcmd ul.dump)
#
# sip_lab_stall_tcp PORT         accepts TCP on 127.0.0.1:PORT, never sends a byte
# sip_lab_stall_tls PORT CHAIN KEY   completes the TLS handshake (no client cert asked), then
#                                never sends application data
# sip_lab_dns DIR PORT [DOMAIN] [dnsmasq options...]
#     dnsmasq on 127.0.0.1:PORT (UDP+TCP), records given in dnsmasq syntax, e.g.
#       --srv-host=_sipinternaltls._tcp.rig.test,registrar.rig.test,18301,0,100
#       --host-record=registrar.rig.test,127.0.0.1
#     Everything not configured is NXDOMAIN (--local=/#/; no upstream, no resolv.conf, no
#     /etc/hosts, no DHCP). Queries are logged to DIR/dnsmasq.log. DOMAIN (a first extra
#     argument not starting with "-") is optional and only documents the zone.
#
# sip_lab_sipreq PORT CERT METHOD FROM_USER [TO_USER [REQUEST_URI]]
#     One hand-written SIP request over TLS with openssl s_client; prints the SIP response,
#     then "[s_client rc=N | handshake facts and TLS errors]". CERT: a name in $SIP_LAB_PKI
#     (alice, mallory, ...), a path without .crt/.key, or "none". Returns as soon as the
#     response is complete or s_client ends; waits at most SIP_LAB_WAIT seconds (default 3).
#     SIP_LAB_SCLIENT_ARGS: extra s_client arguments (default: -CAfile $SIP_LAB_PKI/trust.pem
#     -servername registrar.rig.test). NOCONTACT=1: REGISTER without a Contact header.
#
# Every peer runs in its own session under a small bash guard whose PID goes to LAB_PIDS:
# SIGTERM to the guard stops the peer (Kamailio: its main process; socat/dnsmasq: the whole
# process group, forked children included), waits until no live process of that group is
# left (SIGKILL after 5 s) and only then exits, so lab_cleanup's `wait` returns with the
# ports free.

_SIP_LAB_HOME=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SIP_LAB_PKI=${SIP_LAB_PKI:-}

# the guard: bash -c "$_SIP_LAB_GUARD" guard MODE CMD...  (MODE: leader | group)
_SIP_LAB_GUARD='
mode=$1; shift
c= pending=0
alive() { # any non-zombie process left in the session of $c?
	local f s
	for f in /proc/[0-9]*/stat; do
		read -r s <"$f" 2>/dev/null || continue
		s=${s##*) }
		set -- $s
		[ "$1" != Z ] && [ "$4" = "$c" ] && return 0
	done
	return 1
}
stop() {
	trap "" TERM INT HUP
	if [ "$mode" = leader ]; then kill -TERM "$c" 2>/dev/null; else kill -TERM -- "-$c" 2>/dev/null; fi
	local n=0
	while alive; do
		n=$((n + 1))
		if [ $n -eq 250 ]; then kill -KILL -- "-$c" 2>/dev/null; fi
		[ $n -lt 300 ] || break
		sleep 0.02
	done
	wait "$c" 2>/dev/null
	exit 0
}
trap "pending=1" TERM INT HUP
setsid "$@" </dev/null &
c=$!
trap stop TERM INT HUP
[ $pending = 0 ] || stop
wait "$c"
rc=$?
kill -TERM -- "-$c" 2>/dev/null   # the leader died on its own: no orphans either
exit $rc
'

# _sip_lab_spawn MODE LOGFILE CMD...: start CMD under the guard; PID in _SIP_LAB_PID and LAB_PIDS
_sip_lab_spawn() {
	local mode=$1 log=$2
	shift 2
	bash -c "$_SIP_LAB_GUARD" sip-lab-guard "$mode" "$@" >>"$log" 2>&1 </dev/null &
	_SIP_LAB_PID=$!
	LAB_PIDS="$LAB_PIDS $_SIP_LAB_PID"
}

# _sip_lab_bound PORT [tcp|udp]: something listens on (tcp) / is bound to (udp) PORT
_sip_lab_bound() {
	local hex f
	hex=$(printf '%04X' "$1")
	for f in /proc/net/${2:-tcp} /proc/net/${2:-tcp}6; do
		[ -r "$f" ] || continue
		if [ "${2:-tcp}" = tcp ]; then
			awk -v h=":$hex" 'substr($2, length($2) - 4) == h && $4 == "0A" { f = 1 } END { exit !f }' "$f" && return 0
		else
			awk -v h=":$hex" 'substr($2, length($2) - 4) == h { f = 1 } END { exit !f }' "$f" && return 0
		fi
	done
	return 1
}

# _sip_lab_unlist PID: drop PID from LAB_PIDS
_sip_lab_unlist() {
	local p out=""
	for p in $LAB_PIDS; do [ "$p" = "$1" ] || out="$out $p"; done
	LAB_PIDS=$out
}

# _sip_lab_is_guard PID: PID is one of our guards (not a recycled PID)
_sip_lab_is_guard() {
	tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null | grep -q 'sip-lab-guard'
}

# _sip_lab_reap PID [SECONDS]: wait until PID (a guard) has exited
_sip_lab_reap() {
	local n=0
	if kill -0 "$1" 2>/dev/null; then
		# our child: wait blocks until it exits (the guard is bounded: SIGKILL after 5 s)
		wait "$1" 2>/dev/null && return 0
		[ $? -ne 127 ] && return 0
	fi
	while kill -0 "$1" 2>/dev/null; do
		n=$((n + 1))
		[ $n -lt $((${2:-10} * 50)) ] || return 1
		sleep 0.02
	done
}

# _sip_lab_pem_without BUNDLE CERT: the certificates of BUNDLE except CERT
_sip_lab_pem_without() {
	local drop t c
	drop=$(openssl x509 -in "$2" -outform DER | sha256sum) || return 1
	t=$(mktemp -d) || return 1
	awk -v t="$t" '/-----BEGIN CERTIFICATE-----/ { n++ } n { print > (t "/" n ".pem") }' "$1"
	for c in "$t"/*.pem; do
		[ -f "$c" ] || continue
		[ "$(openssl x509 -in "$c" -outform DER 2>/dev/null | sha256sum)" = "$drop" ] || cat "$c"
	done
	rm -rf "$t"
}

_sip_lab_mpath() {
	local d
	for d in /usr/lib/x86_64-linux-gnu/kamailio/modules /usr/lib/*/kamailio/modules \
		/usr/lib64/kamailio/modules /usr/lib/kamailio/modules /usr/local/lib64/kamailio/modules \
		/usr/local/lib/kamailio/modules; do
		[ -f "$d/tls.so" ] && { echo "$d/"; return 0; }
	done
	echo "sip-lab: kamailio tls.so not found (install kamailio-tls-modules)" >&2
	return 1
}

sip_lab_pki() {
	"$_SIP_LAB_HOME/sip-pki.sh" "$1" || { echo "sip-lab: PKI generation failed in $1" >&2; return 1; }
	SIP_LAB_PKI=$(cd "$1" && pwd)
}

sip_lab_kamailio() {
	local dir=$1 base=$2 calist=$3 pki=${4:-$SIP_LAB_PKI} mpath i sed_args t0 n=0 pid
	if [ -z "$dir" ] || [ -z "$base" ] || [ -z "$calist" ]; then
		echo "usage: sip_lab_kamailio DIR BASEPORT CA_LIST [PKI_DIR]" >&2
		return 2
	fi
	[ -f "$pki/server.key" ] || { echo "sip-lab: no PKI in '$pki' (run sip_lab_pki)" >&2; return 1; }
	[ -r "$calist" ] || { echo "sip-lab: CA list $calist not readable" >&2; return 1; }
	mkdir -p "$dir/run"
	dir=$(cd "$dir" && pwd)
	pki=$(cd "$pki" && pwd)
	calist=$(cd "$(dirname "$calist")" && pwd)/$(basename "$calist")
	[ ${#dir} -le 90 ] || { echo "sip-lab: $dir too long for the ctl unix socket path" >&2; return 1; }
	[ -f "$dir/run/lab.pid" ] && sip_lab_kamailio_stop "$dir"
	mpath=$(_sip_lab_mpath) || return 1
	sed_args=(-e "s|@RUN@|$dir/run|g" -e "s|@TLSCFG@|$dir/tls.cfg|g" -e "s|@MPATH@|$mpath|g"
		-e "s|@PKI@|$pki|g" -e "s|@CA_LIST@|$calist|g" -e "s|@CA_LIST_NOINTER@|$dir/ca-list-nointer.pem|g"
		-e "s|@REDIRECT_HOST@|${SIP_LAB_REDIRECT_HOST:-registrar.rig.test}|g")
	for i in 0 1 2 3 4 5 6 7; do sed_args+=(-e "s|@P$i@|$((base + i))|g"); done
	sed "${sed_args[@]}" "$_SIP_LAB_HOME/kamailio/kamailio.cfg.in" >"$dir/kamailio.cfg" || return 1
	sed "${sed_args[@]}" "$_SIP_LAB_HOME/kamailio/tls.cfg.in" >"$dir/tls.cfg" || return 1
	# OpenSSL completes a server chain from the CA store on its own (auto-chain), so the
	# leaf-only listener (+3) gets CA_LIST without the rig intermediate
	_sip_lab_pem_without "$calist" "$pki/inter.crt" >"$dir/ca-list-nointer.pem" || return 1
	printf '%s\n' "$base" "$calist" "$pki" "${SIP_LAB_REDIRECT_HOST:-registrar.rig.test}" >"$dir/run/args"
	rm -f "$dir/run/kamailio.pid" "$dir/run/ctl.sock"
	for i in 0 1 2 3 4 5 6 7; do _sip_lab_free $((base + i)) || return 1; done
	echo "=== sip-lab: kamailio start $(date '+%F %T') base $base" >>"$dir/kamailio.log"
	t0=$EPOCHREALTIME
	_sip_lab_spawn leader "$dir/kamailio.log" kamailio -f "$dir/kamailio.cfg" -DD -E -m 32 -M 4 \
		-P "$dir/run/kamailio.pid" -Y "$dir/run"
	pid=$_SIP_LAB_PID
	echo "$pid" >"$dir/run/lab.pid"
	while :; do
		if ! kill -0 "$pid" 2>/dev/null; then
			echo "sip-lab: kamailio exited during start-up; $dir/kamailio.log:" >&2
			tail -n 25 "$dir/kamailio.log" >&2
			_sip_lab_reap "$pid"
			_sip_lab_unlist "$pid"
			rm -f "$dir/run/lab.pid"
			return 1
		fi
		if _sip_lab_bound "$base" &&
			timeout 2 openssl s_client -connect "127.0.0.1:$base" -servername registrar.rig.test \
				-CAfile "$pki/trust.pem" -verify_return_error -cert "$pki/alice.crt" \
				-key "$pki/alice.key" -brief </dev/null >/dev/null 2>&1; then
			break
		fi
		n=$((n + 1))
		if [ $n -ge 300 ]; then
			echo "sip-lab: kamailio on 127.0.0.1:$base not ready after 15 s; $dir/kamailio.log:" >&2
			tail -n 25 "$dir/kamailio.log" >&2
			sip_lab_kamailio_stop "$dir"
			return 1
		fi
		sleep 0.05
	done
	SIP_LAB_KAMAILIO_READY=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.3f", b - a }')
}

sip_lab_kamailio_stop() {
	local dir=$1 pid base i n=0
	[ -f "$dir/run/lab.pid" ] || return 0
	pid=$(cat "$dir/run/lab.pid")
	base=$(head -n 1 "$dir/run/args" 2>/dev/null)
	if _sip_lab_is_guard "$pid"; then
		kill -TERM "$pid" 2>/dev/null
		_sip_lab_reap "$pid" 10 || echo "sip-lab: kamailio guard $pid did not exit" >&2
	fi
	_sip_lab_unlist "$pid"
	rm -f "$dir/run/lab.pid"
	[ -n "$base" ] || return 0
	for i in 0 1 2 3 4 5 6 7; do
		while _sip_lab_bound $((base + i)); do
			n=$((n + 1))
			[ $n -lt 500 ] || { echo "sip-lab: port $((base + i)) still in use" >&2; return 1; }
			sleep 0.02
		done
	done
}

sip_lab_kamailio_restart() {
	local dir=$1 a
	[ -f "$dir/run/args" ] || { echo "sip-lab: $dir was never started" >&2; return 1; }
	mapfile -t a <"$dir/run/args"
	sip_lab_kamailio_stop "$dir" &&
		SIP_LAB_REDIRECT_HOST=${a[3]} sip_lab_kamailio "$dir" "${a[0]}" "${a[1]}" "${a[2]}"
}

sip_lab_ul_dump() {
	kamcmd -s "unix:$1/run/ctl.sock" ul.dump
}

# _sip_lab_wait_bound PORT PROTO PID WHAT: until PORT is bound (fail if PID dies or after 10 s)
_sip_lab_wait_bound() {
	local n=0
	while ! _sip_lab_bound "$1" "$2"; do
		kill -0 "$3" 2>/dev/null || { echo "sip-lab: $4 on port $1 exited" >&2; return 1; }
		n=$((n + 1))
		[ $n -lt 500 ] || { echo "sip-lab: $4 not listening on port $1 after 10 s" >&2; return 1; }
		sleep 0.02
	done
}

# _sip_lab_free PORT [udp]: fail if PORT is taken already
_sip_lab_free() {
	if _sip_lab_bound "$1" tcp || { [ "${2:-}" = udp ] && _sip_lab_bound "$1" udp; }; then
		echo "sip-lab: port $1 is already in use" >&2
		return 1
	fi
}

sip_lab_stall_tcp() {
	_sip_lab_free "$1" || return 1
	# -u: bytes flow only from the client to /dev/null; socat never writes or half-closes
	_sip_lab_spawn group "${LAB:-${TMPDIR:-/tmp}}/stall.$1.log" \
		socat -u "TCP-LISTEN:$1,bind=127.0.0.1,reuseaddr,fork" \
		OPEN:/dev/null,wronly
	_sip_lab_wait_bound "$1" tcp "$_SIP_LAB_PID" "stalling TCP listener"
}

sip_lab_stall_tls() {
	_sip_lab_free "$1" || return 1
	_sip_lab_spawn group "${LAB:-${TMPDIR:-/tmp}}/stall.$1.log" socat -u \
		"OPENSSL-LISTEN:$1,bind=127.0.0.1,reuseaddr,fork,cert=$2,key=$3,verify=0" \
		OPEN:/dev/null,wronly
	_sip_lab_wait_bound "$1" tcp "$_SIP_LAB_PID" "stalling TLS listener"
}

sip_lab_dns() {
	local dir=$1 port=$2 dom=rig.test who=()
	shift 2
	case ${1:-} in "" | -*) ;; *) dom=$1; shift ;; esac
	_sip_lab_free "$port" udp || return 1
	mkdir -p "$dir"
	dir=$(cd "$dir" && pwd)
	# as root dnsmasq would switch to "nobody" (and then cannot write the log in DIR)
	who=(--user="$(id -un)" --group="$(id -gn)")
	_sip_lab_spawn group "$dir/dnsmasq.out" dnsmasq -k -C /dev/null --no-resolv --no-hosts \
		--no-poll --port="$port" --listen-address=127.0.0.1 --bind-interfaces "${who[@]}" \
		--pid-file="$dir/dnsmasq.pid" --log-queries --log-facility="$dir/dnsmasq.log" \
		--local="/$dom/" --local=/#/ "$@"
	if ! _sip_lab_wait_bound "$port" udp "$_SIP_LAB_PID" dnsmasq ||
		! _sip_lab_wait_bound "$port" tcp "$_SIP_LAB_PID" dnsmasq; then
		cat "$dir/dnsmasq.out" >&2
		return 1
	fi
}

sip_lab_sipreq() {
	local port=$1 cert=$2 m=$3 u=$4 tou=${5:-$4} ruri=${6:-sip:registrar.rig.test}
	local cr=$'\r' req contact="" certargs=() out err rc=0 n=0 max
	if [ -z "${NOCONTACT:-}" ]; then
		contact="Contact: <sip:$u@127.0.0.1:55555;transport=tls>$cr
"
	fi
	req="$m $ruri SIP/2.0$cr
Via: SIP/2.0/TLS 127.0.0.1:55555;branch=z9hG4bK$RANDOM$RANDOM;rport$cr
Max-Forwards: 70$cr
From: <sip:$u@rig.test>;tag=$RANDOM$cr
To: <sip:$tou@rig.test>$cr
Call-ID: $RANDOM$RANDOM@rig.test$cr
CSeq: 1 $m$cr
${contact}Expires: 120$cr
User-Agent: sip-lab$cr
Content-Length: 0$cr
$cr
"
	case $cert in
	none) ;;
	*/*) certargs=(-cert "$cert.crt" -key "$cert.key") ;;
	*) certargs=(-cert "$SIP_LAB_PKI/$cert.crt" -key "$SIP_LAB_PKI/$cert.key") ;;
	esac
	out=$(mktemp) err=$(mktemp)
	max=$(awk -v w="${SIP_LAB_WAIT:-3}" 'BEGIN { printf "%d", w * 50 }')
	# -nocommands: else a line starting with "R" (REGISTER) triggers a renegotiation;
	# -brief: handshake facts on stderr, only the SIP response on stdout
	{
		printf '%s' "$req"
		while [ $n -lt "$max" ]; do
			grep -q '^SIP/2.0 ' "$out" && grep -q "^$cr\$" "$out" && break
			grep -q -e ':error:' -e '^DONE' "$err" && break
			n=$((n + 1))
			sleep 0.02
		done
	} | timeout $((max / 50 + 5)) openssl s_client -connect "127.0.0.1:$port" \
		${SIP_LAB_SCLIENT_ARGS:--CAfile $SIP_LAB_PKI/trust.pem -servername registrar.rig.test} \
		"${certargs[@]}" -brief -nocommands >"$out" 2>"$err" || rc=$?
	tr -d '\r' <"$out"
	echo "[s_client rc=$rc | $(grep -E 'CONNECTION|Protocol version|Peer certificate|Verification|verify|error|alert' "$err" |
		sed -E 's/^[0-9A-F]{8,}:error:/error:/' | tr '\n' ' ' | cut -c1-400)]"
	rm -f "$out" "$err"
}
