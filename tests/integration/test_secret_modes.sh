#!/bin/bash
# A file that holds a secret ({file: ...} secrets, certificate.key, probe.web.tls_key)
# and that group or other can read: `certprobe check-config` and certprobed warn at the
# key (file:line:col) and go on; with --strict, check-config exits 1 and certprobed
# refuses to start (exit 3, a configuration error), before it listens. Port 19400.
set -u
SRCDIR=${SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
BIN=${BIN:-$SRCDIR/build/bin}
# shellcheck source-path=SCRIPTDIR source=assert.sh
. "$SRCDIR/tests/integration/assert.sh"

LAB=$(mktemp -d)
DPID=
cleanup() {
	[ -n "$DPID" ] && kill "$DPID" 2>/dev/null && wait "$DPID" 2>/dev/null
	rm -rf "$LAB"
}
trap cleanup EXIT
umask 077
PORT=19400

printf 'challenge\n' >"$LAB/challenge"
printf 'not a key\n' >"$LAB/client.key"
cat >"$LAB/c.yaml" <<YAML
probe: {state_dir: $LAB/state, listen: "127.0.0.1:$PORT"}
transactions:
  - name: enroll
    type: enrollment
    protocol: scep
    url: http://127.0.0.1:19401/scep
    subject: CN=probe
    challenge: {file: $LAB/challenge}
  - name: logon
    type: client-auth
    registrar: {host: 127.0.0.1, port: 19402}
    sip_uri: sip:probe@example.com
    trust_store: $LAB/roots.pem
    certificate: {cert: $LAB/client.crt, key: $LAB/client.key}
YAML
# the configuration's own mode is not the question here
chmod 0600 "$LAB/c.yaml"

# owner-only: silent either way
RC=0
"$BIN/certprobe" check-config --strict "$LAB/c.yaml" >"$LAB/out" 2>"$LAB/err" || RC=$?
check "0600 secret files: check-config --strict exits 0" [ "$RC" = 0 ]
check "0600 secret files: no warning" [ ! -s "$LAB/err" ]

chmod 0640 "$LAB/challenge"
chmod 0604 "$LAB/client.key"
RC=0
"$BIN/certprobe" check-config "$LAB/c.yaml" >"$LAB/out" 2>"$LAB/err" || RC=$?
ERR=$(cat "$LAB/err")
check "readable secret files: check-config exits 0" [ "$RC" = 0 ]
check "readable secret files: still OK on stdout" grep -q ': OK (2 transactions)' "$LAB/out"
check "challenge file: warning at file:line:col with the mode" contains "$ERR" \
	"$LAB/c.yaml:8:23: warning: secret file '$LAB/challenge' is readable by group/other (mode 0640)"
check "certificate.key: warning with the mode" contains "$ERR" \
	"warning: secret file '$LAB/client.key' is readable by group/other (mode 0604)"
check "warning has the chmod hint" contains "$ERR" "hint: chmod 600 $LAB/challenge"

RC=0
"$BIN/certprobe" check-config --strict "$LAB/c.yaml" >"$LAB/out" 2>"$LAB/err" || RC=$?
ERR=$(cat "$LAB/err")
check "check-config --strict: exit 1" [ "$RC" = 1 ]
check "check-config --strict: an error, not a warning" contains "$ERR" \
	"$LAB/c.yaml:8:23: secret file '$LAB/challenge' is readable by group/other (mode 0640)"
check "check-config --strict: no 'warning:'" [ "$(grep -c 'warning:' "$LAB/err")" = 0 ]
check "check-config --strict: nothing on stdout" [ ! -s "$LAB/out" ]

RC=0
timeout 20 "$BIN/certprobed" --strict -c "$LAB/c.yaml" >"$LAB/d-strict.log" 2>&1 || RC=$?
check "certprobed --strict: exit 3 (configuration error)" [ "$RC" = 3 ]
check "certprobed --strict: says why" grep -q \
	"c.yaml:8:23: secret file '$LAB/challenge' is readable by group/other" "$LAB/d-strict.log"

# without --strict the daemon starts, with the warning in its log
"$BIN/certprobed" -c "$LAB/c.yaml" >"$LAB/d.log" 2>&1 &
DPID=$!
check "certprobed: starts and listens despite the warning" \
	until_true 20 curl -fsS "http://127.0.0.1:$PORT/-/healthy"
check "certprobed: the warning is logged" grep -q \
	"c.yaml:8:23: warning: secret file '$LAB/challenge' is readable by group/other" "$LAB/d.log"
kill "$DPID"
RC=0
wait "$DPID" || RC=$?
DPID=
check "certprobed: clean stop" [ "$RC" = 0 ]

# --strict on reload: the running configuration is kept when a secret file turns readable
chmod 0600 "$LAB/challenge" "$LAB/client.key"
"$BIN/certprobed" --strict -c "$LAB/c.yaml" >"$LAB/d2.log" 2>&1 &
DPID=$!
check "certprobed --strict: starts with owner-only secret files" \
	until_true 20 curl -fsS "http://127.0.0.1:$PORT/-/healthy"
chmod 0640 "$LAB/challenge"
kill -HUP "$DPID"
check "certprobed --strict: the reload is refused" \
	until_true 20 grep -q "reload: .* has 1 error; keeping the running configuration" "$LAB/d2.log"
check "certprobed --strict: ... naming the file" grep -q \
	"c.yaml:8:23: secret file '$LAB/challenge' is readable by group/other" "$LAB/d2.log"
check "certprobed --strict: still serving" quiet curl -fsS "http://127.0.0.1:$PORT/-/healthy"
kill "$DPID"
RC=0
wait "$DPID" || RC=$?
DPID=
check "certprobed --strict: clean stop" [ "$RC" = 0 ]

finish
