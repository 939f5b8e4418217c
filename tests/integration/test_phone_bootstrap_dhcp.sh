#!/bin/bash
# phone-bootstrap with `discover: dhcp`, end to end as a desk phone does it: two network
# namespaces made here, joined by a veth pair (10.201.0.1/24 "server", 10.201.0.2/24
# "phone"; nothing on the host). In the server namespace a real dnsmasq serves vendor
# class MS-UC-Client option 43 (the CertProv URL of our certprov_double, which listens on
# 10.201.0.1: HTTPS on 19571, the anonymous HTTP on port 80 as the device expects) and
# option 120 (the pool FQDN). In the phone namespace `certprobe run` discovers the URL,
# gets a PIN web ticket, enrolls and verifies: configured interface, the default
# interface (first one up, then the default route's), unicast to the server; 10 at once
# against 10 static ones (CPU printed). Then a knob of the double chosen through the path
# in option 43 (/k-datastore: proof that the URL came from DHCP), option 120 as an
# address, option 43 with "http", dnsmasq stopped (dhcp_no_response with its advice, and
# the transaction's deadline cutting the DHCP waits) and certprobed running the
# DHCP-discovered transaction on a schedule (state file OK). Ports 19570-19599 (inside
# the namespaces; the double's anonymous HTTP on port 80 of the server namespace).
# Skips only when namespaces cannot be made (not root).
set -u
SRCDIR=${SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$SRCDIR/tests/lab/lib.sh"
. "$SRCDIR/tests/integration/assert.sh"
. "$SRCDIR/tests/lab/dhcp-lab.sh"

for t in certprov_double certprobe certprobed; do
	[ -x "$BIN/$t" ] || { echo "SKIP - $BIN/$t not built"; exit 77; }
done
NSA=cpbd-srv-$$ NSB=cpbd-phone-$$
if ! ip netns add "$NSA" 2>/dev/null; then
	echo "SKIP: cannot create network namespaces (needs root and iproute2): test_phone_bootstrap_dhcp not run"
	exit 0
fi
command -v dnsmasq >/dev/null || {
	ip netns del "$NSA"
	echo "FAIL - dnsmasq not installed (apt-get install -y dnsmasq-base)"
	exit 1
}
lab_test_init
DPID=
trap 'dnsmasq_stop; lab_cleanup; ip netns del "$NSA" 2>/dev/null; ip netns del "$NSB" 2>/dev/null;
	[ "${FAIL:-0}" -eq 0 ] && rm -rf "$LAB"' EXIT
dhcp_lab_netns "$NSA" "$NSB" cpA cpB 10.201.0 || exit 1

SRV=10.201.0.1 https=19571 anon=80 d_listen=19575
SVC=CertProv/CertProvisioningService.svc
POOL=pool1.example.com
P=$LAB/pki
PIN=90441723
umask 077
"$SRCDIR/tests/peers/certprov_double/certprov-pki.sh" "$P" >/dev/null 2>&1 || { echo "FAIL - pki"; exit 1; }
echo "$PIN" >"$LAB/alice.pin"

# ---- the CertProv + Web Ticket double on the server namespace's address ----
ip netns exec "$NSA" "$BIN/certprov_double" -b "$SRV" -p "$https" -a "$anon" \
	-c "$P/server-chain.pem" -k "$P/server.key" --chain "$P/chain.pem" \
	--ocs-cert "$P/ocs-ca.crt" --ocs-key "$P/ocs-ca.key" --published-dir "$LAB/published" \
	-u "phone=+14255550100,ext=1234,pin=$PIN,sip=sip:alice@example.com" -v \
	>"$LAB/double.out" 2>"$LAB/double.err" &
DOUBLE=$!
LAB_PIDS="$LAB_PIDS $DOUBLE"
until_true 15 grep -q ready "$LAB/double.out" ||
	{ echo "FAIL - the double did not start"; cat "$LAB/double.err"; exit 1; }

# ---- dnsmasq (DHCP only) on cpA ----
# dnsmasq_conf PATH [OPTION120 [SCHEME]]: the CertProv path sent as option 43 sub-option
# 5, option 120 (default: the pool FQDN; an IPv4 address makes dnsmasq send encoding 1)
# and sub-option 2 (default https)
dnsmasq_conf() {
	cat >"$LAB/dnsmasq.conf" <<EOF
port=0
interface=cpA
bind-interfaces
no-ping
dhcp-range=10.201.0.50,10.201.0.99,255.255.255.0,1h
dhcp-leasefile=$LAB/leases
log-dhcp
log-facility=$LAB/dnsmasq.log
dhcp-vendorclass=set:ucc,MS-UC-Client
dhcp-option=vendor:MS-UC-Client,1,"MS-UC-Client"
dhcp-option=vendor:MS-UC-Client,2,"${3:-https}"
dhcp-option=vendor:MS-UC-Client,3,"$POOL"
dhcp-option=vendor:MS-UC-Client,4,"$https"
dhcp-option=vendor:MS-UC-Client,5,"$1"
dhcp-option=tag:ucc,120,${2:-$POOL}
EOF
}
dhcp_gone() { ! dhcp_listening; }
# txn NAME [yaml lines...]: alice by PIN, discover: dhcp; every host reached at $SRV
txn() {
	local name=$1 l
	shift
	echo "  - name: $name"
	echo "    type: phone-bootstrap"
	echo "    discover: dhcp"
	for l in "$@"; do echo "    $l"; done
	echo "    phone: \"+14255550100\""
	echo "    pin: {file: $LAB/alice.pin}"
	echo "    sip_uri: sip:alice@example.com"
	echo "    trust_store: $P/root.crt"
	echo "    issuer_ca: $P/ocs-ca.crt"
	echo "    connect_to: $SRV"
}

# run FILE: certprobe run -j in the phone namespace; JSON in $OUT
run() {
	RC=0
	OUT=$(ip netns exec "$NSB" "$BIN/certprobe" run -j -v -c "$1" 2>"$LAB/err.txt") || RC=$?
	cat "$LAB/err.txt" >>"$LAB/err-all.txt"
}
r() { printf '%s' "$OUT" | jq -r ".[] | select(.name == \"$1\") | .$2" 2>/dev/null; }
fact() { r "$1" "details.$2"; }
has() { contains "$(r "$1" "$2")" "$3"; }
status() { # NAME STATUS [WORDS OF THE DIAGNOSIS]
	check "$1: $2" [ "$(r "$1" status)" = "$2" ] ||
		echo "       detail: $(r "$1" error_detail) $(printf '%s' "$OUT" | jq -c ".[] | select(.name == \"$1\") | .details" 2>/dev/null)"
	[ "$2" = ok ] && return 0
	check "$1: Result Failure" [ "$(r "$1" result)" = Failure ]
	[ -n "${3:-}" ] && check "$1: the diagnosis says '$3'" has "$1" diagnosis "$3"
	return 0
}

URL=https://$POOL:$https/$SVC
cfg_head() {
	echo "probe: {state_dir: $LAB/state}"
	echo "defaults: {timeout: 8s}"
	echo "transactions:"
}

# ---- a correct set-up: discovered, PIN web ticket, enrolled, verified ----
dnsmasq_conf "/$SVC" && dnsmasq_start || exit 1
{
	cfg_head
	txn ok "dhcp: {interface: cpB, timeout: 2s, retries: 1}"
} >"$LAB/ok.yaml"
{
	cfg_head
	txn default-interface
} >"$LAB/default.yaml"
{
	cfg_head
	txn unicast "dhcp: {interface: cpB, server: $SRV, timeout: 2s, retries: 0}"
} >"$LAB/unicast.yaml"
chmod 600 "$LAB"/*.yaml
check "check-config accepts discover: dhcp with a dhcp: block" "$BIN/certprobe" check-config "$LAB/ok.yaml"
check "check-config accepts discover: dhcp without one" "$BIN/certprobe" check-config "$LAB/default.yaml"
run "$LAB/ok.yaml"
status ok ok
check "ok: exit 0" [ "$RC" = 0 ]
check "ok: Result Success" [ "$(r ok result)" = Success ]
check "ok: Target is the CertProv URL decoded from option 43" [ "$(r ok target)" = "$URL" ]
check "ok: TargetFqdn is the registrar from option 120" [ "$(fact ok target_fqdn)" = "$POOL" ]
check "ok: the report names the answering DHCP server" [ "$(fact ok dhcp_server)" = "$SRV" ]
check "ok: it was a DHCPINFORM from port 68 on cpB, answered at once" \
	contains "$(fact ok discover)" "dhcp: DHCPINFORM from 10.201.0.2:68 on cpB, cpB (configured); 1 sent, 1 answered"
check "ok: the facts of the later steps are all there (issued certificate)" [ -n "$(fact ok issued_fingerprint)" ]
check "ok: the raw option 43 is kept (sub-option 1 MS-UC-Client)" \
	contains "$(fact ok dhcp_option_43)" 010c4d532d55432d436c69656e74
check "ok: the raw option 120 is kept (enc 0 + labels)" \
	[ "$(fact ok dhcp_option_120)" = 0005706f6f6c31076578616d706c6503636f6d00 ]
check "ok: the discover step says where the URL came from" \
	jqtest ".[] | select(.name == \"ok\") | .steps[] | select(.name == \"discover\" and .status == \"ok\" and (.detail | contains(\"DHCP server $SRV\")))"
for s in key discover root_chain tls_verify mex web_ticket csr get_and_publish_cert verify store; do
	check "ok: step $s ok" jqtest ".[] | select(.name == \"ok\") | .steps[] | select(.name == \"$s\" and .status == \"ok\")"
done
check "ok: the root chain came from the anonymous http:// form of the discovered URL (port 80)" \
	[ "$(fact ok root_chain_url)" = "http://$POOL/$SVC" ]
check "ok: a PIN web ticket" has ok details.credential PIN
check "ok: the certificate was published for alice" test -s "$LAB/published/alice@example.com.pem"
check "ok: and stored for a client-auth" grep -q "BEGIN CERTIFICATE" "$LAB/state/txn/ok/identity.pem"
check "dnsmasq saw vendor class MS-UC-Client" grep -q "vendor class: MS-UC-Client" "$LAB/dnsmasq.log"
RC=0
TEXT=$(ip netns exec "$NSB" "$BIN/certprobe" run -c "$LAB/ok.yaml" 2>/dev/null) || RC=$?
check "text report: Target, TargetFqdn and the DHCP server" \
	bash -c "grep -q '^Target *: $URL' <<<\"\$0\" && grep -q '^TargetFqdn *: $POOL' <<<\"\$0\" && grep -q 'dhcp_server.*$SRV' <<<\"\$0\"" "$TEXT"

run "$LAB/default.yaml"
status default-interface ok
check "default-interface: cpB chosen (the only interface up with an address), a DHCPINFORM" \
	contains "$(fact default-interface discover)" "DHCPINFORM from 10.201.0.2:68 on cpB, cpB (the first interface up with an IPv4 address)"
ip -n "$NSB" route add default via "$SRV" dev cpB
run "$LAB/default.yaml"
status default-interface ok
check "default-interface: with a default route, its interface" \
	contains "$(fact default-interface discover)" "on cpB, cpB (the default route's interface)"
ip -n "$NSB" route del default
run "$LAB/unicast.yaml"
status unicast ok
check "unicast: answered by $SRV" [ "$(fact unicast dhcp_server)" = "$SRV" ]

# ---- cost: 10 DHCP-discovered runs at once, against 10 with the static form ----
{
	cfg_head
	for i in 1 2 3 4 5 6 7 8 9 10; do txn "many-$i" "dhcp: {interface: cpB, timeout: 2s, retries: 1}"; done
} >"$LAB/many-dhcp.yaml"
sed "s|discover: dhcp|discover: {certprov_url: $URL, registrar: $POOL}|; /^    dhcp: /d" \
	"$LAB/many-dhcp.yaml" >"$LAB/many-static.yaml"
chmod 600 "$LAB"/many-*.yaml
for f in dhcp static; do
	# bash's own time (CPU of the children): no dependency on the time package
	TIMEFORMAT="%U %S %R"
	{ time ip netns exec "$NSB" "$BIN/certprobe" run -j -c "$LAB/many-$f.yaml" \
		>"$LAB/many-$f.json" 2>/dev/null; } 2>"$LAB/time-$f"
	OUT=$(cat "$LAB/many-$f.json")
	check "10 runs at once, $f discovery: all Success" \
		[ "$(printf '%s' "$OUT" | jq '[.[] | select(.status == "ok")] | length')" = 10 ]
	read -r u s e <"$LAB/time-$f"
	echo "note - 10 phone bootstraps, $f discovery: ${u}s user + ${s}s sys CPU, ${e}s wall (this build; key generation included)"
done
OUT=$(cat "$LAB/many-dhcp.json")
echo "note - DHCP discover step, median of 10: $(printf '%s' "$OUT" | jq '[.[] | .steps[] | select(.name == "discover") | .duration_seconds * 1000] | sort | .[5] * 100 | round / 100') ms"

# ---- a knob of the double selected through option 43's path: the URL came from DHCP ----
dnsmasq_conf "/k-datastore/$SVC" && dnsmasq_start || exit 1
run "$LAB/ok.yaml"
status ok certprov_publish_failed "User Services store"
check "datastore: Target is the /k-datastore URL from option 43" [ "$(r ok target)" = "https://$POOL:$https/k-datastore/$SVC" ]
check "datastore: the double saw the mode from the discovered URL" grep -q "datastore" "$LAB/double.err"

# ---- option 120 as an IP address: the DHCP status and its Diagnosis end the run ----
dnsmasq_conf "/$SVC" "$SRV" && dnsmasq_start || exit 1
run "$LAB/ok.yaml"
status ok dhcp_opt120_addresses "serve option 120 with encoding 0 and the pool FQDN"
check "opt120 as address: the raw option 120 (encoding 1) is in the report" \
	[ "$(fact ok dhcp_option_120)" = 010ac90001 ]
check "opt120 as address: the run stopped at discover" \
	jqtest '.[] | select(.name == "ok") | [.steps[] | .name] | index("root_chain") == null'

# ---- option 43 with sub-option 2 "http": the CertProv of a phone is HTTPS ----
dnsmasq_conf "/$SVC" "$POOL" http && dnsmasq_start || exit 1
run "$LAB/ok.yaml"
status ok dhcp_opt43_malformed
check "option 43 http: the detail says why" has ok error_detail "sub-option 2 must be https"

# ---- dnsmasq stopped: no answer after every retry ----
dnsmasq_stop
until_true 5 dhcp_gone
{
	cfg_head
	txn nodhcp "dhcp: {interface: cpB, timeout: 300ms, retries: 2}"
	txn budget "dhcp: {interface: cpB, timeout: 4s, retries: 2}" "timeout: 1500ms"
} >"$LAB/nodhcp.yaml"
chmod 600 "$LAB/nodhcp.yaml"
run "$LAB/nodhcp.yaml"
printf '%s' "$OUT" >"$LAB/nodhcp.json"
status nodhcp dhcp_no_response "serves vendor class MS-UC-Client"
check "nodhcp: 3 INFORMs sent, none answered" contains "$(fact nodhcp discover)" "3 sent, 0 answered"
check "nodhcp: exit 2 (CRITICAL)" [ "$RC" = 2 ]
check "nodhcp: the discover step failed, nothing after it ran" \
	jqtest ".[] | select(.name == \"nodhcp\") | [.steps[] | .name] | index(\"root_chain\") == null"
status budget dhcp_no_response
# the run's clock starts once its key is ready (keygen under load is not the DHCP's)
check "budget: the transaction's 1.5 s deadline cuts the 4 s DHCP wait" \
	jqtest '.[] | select(.name == "budget") | .latency_seconds < 2.5 and
		([.steps[] | select(.name == "discover") | .duration_seconds][0] < 2.0)'
check "budget: the detail says the deadline left no time for the retries" \
	has budget error_detail "the transaction's deadline left no time for more"
check "budget: one INFORM sent, no retry at the deadline" contains "$(fact budget discover)" "1 sent, 0 answered"

# ---- the daemon runs the DHCP-discovered transaction on a schedule ----
dnsmasq_conf "/$SVC" && dnsmasq_start || exit 1
{
	echo "probe: {state_dir: $LAB/dstate, listen: 127.0.0.1:$d_listen}"
	echo "defaults: {interval: 1s, timeout: 6s}"
	echo "transactions:"
	txn lpe-alice "dhcp: {interface: cpB, timeout: 2s, retries: 1}"
} >"$LAB/d.yaml"
chmod 600 "$LAB/d.yaml"
ip netns exec "$NSB" "$BIN/certprobed" -c "$LAB/d.yaml" >>"$LAB/daemon.log" 2>&1 &
PROBED=$!
LAB_PIDS="$LAB_PIDS $PROBED"
SF=$LAB/dstate/certprobed.state.json
# informs_ge N: dnsmasq answered N INFORMs (one per run of the transaction)
informs_ge() { [ "$(grep -c 'DHCPACK(cpA) 10.201.0.2' "$LAB/dnsmasq.log")" -ge "$1" ]; }
# state_ok: the state file (written within 5 s of a change) holds two OK runs
state_ok() {
	"$BIN/certprobe" status -s "$LAB/dstate" lpe-alice >"$LAB/status.txt" 2>&1 &&
		grep -Eq '^Runs *: ([2-9]|[1-9][0-9]+) OK' "$LAB/status.txt"
}
check "certprobed: two DHCP-discovered runs (two INFORMs answered)" until_true 30 informs_ge 2
check "certprobed: the state file shows lpe-alice OK, two OK runs" until_true 15 state_ok
check "certprobed: its last report has the discovered Target" grep -q "$URL" "$LAB/status.txt"
check "certprobed: two certificates issued" \
	until_true 10 bash -c "[ \$(grep -c 'GetAndPublishCert.*200' '$LAB/double.err') -ge 2 ]"
kill "$PROBED" 2>/dev/null
wait "$PROBED" 2>/dev/null
LAB_PIDS=${LAB_PIDS/ $PROBED/}
kill "$DOUBLE"
T0=$(date +%s%N)
wait "$DOUBLE"
check "the double exits cleanly on SIGTERM" [ $? = 0 ]
LAB_PIDS=${LAB_PIDS/ $DOUBLE/}
echo "note - the double took $((($(date +%s%N) - T0) / 1000000)) ms to exit"
check "no ASan/LSan report" bash -c "! grep -q 'ERROR: AddressSanitizer\|ERROR: LeakSanitizer' '$LAB/daemon.log' '$LAB/err-all.txt' '$LAB/double.err'"
check "the PIN never reached a report, a log or the state" \
	bash -c "! grep -rqs '$PIN' '$LAB/daemon.log' '$LAB/err-all.txt' '$LAB/dstate/certprobed.state.json'"
finish
