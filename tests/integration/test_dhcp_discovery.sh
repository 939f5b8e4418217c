#!/bin/bash
# DHCP discovery as a Lync phone does it, against a real dnsmasq: two network namespaces
# made here, joined by a veth pair (10.200.0.1/24 for dnsmasq, 10.200.0.2/24 for the
# probe; nothing on the host), `certprobe dhcp-discover` in one, dnsmasq serving vendor
# class MS-UC-Client options 43 (sub-options 1-5) and 120 in the other. Asserts the
# decoded CertProv URL and registrar FQDN (broadcast and unicast INFORM, DISCOVER without
# an address, an unprivileged probe and a probe beside another DHCP client, both on an
# ephemeral port), long option 43 split across instances, every malformation dnsmasq can
# be made to send (option 120 as an address, wrong vendor class, sub-option 1 of another
# class, the 90-byte IOS cut), and "no answer" when dnsmasq is stopped. Skips only when
# namespaces cannot be made (not root).
set -u
SRCDIR=${SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$SRCDIR/tests/lab/lib.sh"
. "$SRCDIR/tests/integration/assert.sh"
. "$SRCDIR/tests/lab/dhcp-lab.sh"

NSA=cpdhcp-srv-$$ NSB=cpdhcp-cli-$$
if ! ip netns add "$NSA" 2>/dev/null; then
	echo "SKIP: cannot create network namespaces (needs root and iproute2): test_dhcp_discovery not run"
	exit 0
fi
command -v dnsmasq >/dev/null || {
	ip netns del "$NSA"
	echo "FAIL - dnsmasq not installed (apt-get install -y dnsmasq-base)"
	exit 1
}
lab_test_init
trap 'dnsmasq_stop; lab_cleanup; ip netns del "$NSA" 2>/dev/null; ip netns del "$NSB" 2>/dev/null;
	[ "${FAIL:-0}" -eq 0 ] && rm -rf "$LAB"' EXIT
dhcp_lab_netns "$NSA" "$NSB" vA vB 10.200.0 || exit 1

PATHV=/CertProv/CertProvisioningService.svc
URL=https://pool.example.test:443$PATHV
DPID=

# dnsmasq_conf [lines...]: a DHCP-only dnsmasq on vA; the lines follow the common part
dnsmasq_conf() {
	{
		echo "port=0"
		echo "interface=vA"
		echo "bind-interfaces"
		echo "no-ping"
		echo "dhcp-range=10.200.0.50,10.200.0.99,255.255.255.0,1h"
		echo "dhcp-leasefile=$LAB/leases"
		echo "log-dhcp"
		echo "log-facility=$LAB/dnsmasq.log"
		printf '%s\n' "$@"
	} >"$LAB/dnsmasq.conf"
}

# the options a DHCPUtil-configured server sends (quotes: strings, not numbers)
good_options() {
	echo "dhcp-vendorclass=set:ucc,MS-UC-Client"
	echo "dhcp-option=vendor:MS-UC-Client,1,\"MS-UC-Client\""
	echo "dhcp-option=vendor:MS-UC-Client,2,\"https\""
	echo "dhcp-option=vendor:MS-UC-Client,3,\"${1:-pool.example.test}\""
	echo "dhcp-option=vendor:MS-UC-Client,4,\"443\""
	echo "dhcp-option=vendor:MS-UC-Client,5,\"$PATHV\""
	echo "dhcp-option=tag:ucc,120,${2:-sip.example.test}"
	echo "dhcp-option=tag:ucc,42,10.200.0.1"
}

# discover [args]: certprobe dhcp-discover -j in the probe's namespace; JSON in $OUT
discover() {
	RC=0
	OUT=$(ip netns exec "$NSB" "$BIN/certprobe" dhcp-discover -i vB -j "$@" 2>"$LAB/err.txt") || RC=$?
	ERR=$(cat "$LAB/err.txt")
}
j() { printf '%s' "$OUT" | jq -r ".$1" 2>/dev/null; }
show() { echo "       exit=$RC $(printf '%s' "$OUT" | jq -c '{status,detail,certprov_url,registrar}' 2>/dev/null)"; }
is() { # DESC FIELD VALUE
	if [ "$(j "$2")" = "$3" ]; then check "$1" true; else check "$1" false; show; fi
}
has() { # DESC FIELD WORDS
	if contains "$(j "$2")" "$3"; then check "$1" true; else check "$1" false; show; fi
}

# ---- a correct set-up ----
dnsmasq_conf $(good_options) || exit 1
dnsmasq_start || exit 1
discover --timeout 2s --retries 1
is "broadcast INFORM: ok" status ok
is "broadcast INFORM: exit 0" number 0
is "broadcast INFORM: CertProv URL from option 43 sub-options 1-5" certprov_url "$URL"
is "broadcast INFORM: registrar FQDN from option 120" registrar sip.example.test
is "broadcast INFORM: answering server" server 10.200.0.1
is "broadcast INFORM: it was an INFORM" message DHCPINFORM
is "broadcast INFORM: from port 68" local "10.200.0.2:68 on vB"
is "broadcast INFORM: NTP servers (option 42)" ntp_servers 10.200.0.1
is "broadcast INFORM: the class dnsmasq echoed" vendor_class MS-UC-Client
is "broadcast INFORM: raw option 120 (enc 0 + labels)" option_120 0003736970076578616d706c65047465737400
has "broadcast INFORM: raw option 43 holds sub-option 1" option_43 010c4d532d55432d436c69656e74
check "dnsmasq saw vendor class MS-UC-Client and the request for 43 and 120" \
	grep -q "vendor class: MS-UC-Client" "$LAB/dnsmasq.log"
check "dnsmasq answered with a DHCPACK" grep -q "DHCPACK(vA)" "$LAB/dnsmasq.log"
echo "       answer in $(j answer_seconds) s"

discover -s 10.200.0.1 --timeout 2s --retries 0
is "unicast INFORM to dhcp.server: ok" status ok
is "unicast INFORM: URL" certprov_url "$URL"

# an unprivileged probe cannot bind port 68: auto takes an ephemeral port for the INFORM
if command -v setpriv >/dev/null; then
	RC=0
	OUT=$(ip netns exec "$NSB" setpriv --reuid=65534 --regid=65534 --clear-groups \
		"$BIN/certprobe" dhcp-discover -i vB -j --timeout 2s 2>"$LAB/err.txt") || RC=$?
	is "unprivileged INFORM (ephemeral port): ok" status ok
	has "unprivileged INFORM: says 68 was not permitted" local "(68 not permitted)"
	RC=0
	OUT=$(ip netns exec "$NSB" setpriv --reuid=65534 --regid=65534 --clear-groups \
		"$BIN/certprobe" dhcp-discover -i vB -j --port 68 2>"$LAB/err.txt") || RC=$?
	is "unprivileged, --port 68: probe_dhcp_socket" status probe_dhcp_socket
	check "unprivileged, --port 68: exit 3 (UNKNOWN: the probe's side)" [ "$RC" = 3 ]
fi

# another DHCP client holds port 68: auto sends the INFORM from an ephemeral port
port68_held() { ip netns exec "$NSB" cat /proc/net/udp | awk '{print $2}' | grep -qi ':0044$'; }
ip netns exec "$NSB" socat -u UDP4-RECV:68 /dev/null &
HOLDER=$!
LAB_PIDS="$LAB_PIDS $HOLDER"
if until_true 10 port68_held; then
	discover --timeout 2s
	is "port 68 in use: INFORM from an ephemeral port, ok" status ok
	has "port 68 in use: says so" local "(68 in use)"
	discover --timeout 2s --port 68
	is "port 68 in use, --port 68: probe_dhcp_socket" status probe_dhcp_socket
	has "port 68 in use, --port 68: names the cause" detail "address in use"
else
	check "socat holds port 68 in the probe's namespace" false
fi
kill "$HOLDER" 2>/dev/null
wait "$HOLDER" 2>/dev/null

# no address on the interface: a DISCOVER (never a REQUEST); the OFFER carries the options
ip -n "$NSB" addr flush dev vB
discover --timeout 3s --retries 1
is "DISCOVER without an address: ok" status ok
is "DISCOVER: it was a DISCOVER" message DHCPDISCOVER
is "DISCOVER: URL from the OFFER" certprov_url "$URL"
is "DISCOVER: registrar" registrar sip.example.test
check "DISCOVER: no REQUEST followed (no lease taken)" [ ! -s "$LAB/leases" ]
ip -n "$NSB" addr add 10.200.0.2/24 dev vB

discover --mode inform --interface nosuchif
is "unknown interface: probe_dhcp_socket" status probe_dhcp_socket

# ---- option 43 longer than 255 bytes: dnsmasq splits it over instances (RFC 3396) ----
l60=$(printf '%060d' 0 | tr 0 w)
LONG=$l60.$l60.$l60.$l60.ex.te # 249 bytes: dnsmasq takes no longer string
dnsmasq_conf $(good_options "$LONG") || exit 1
dnsmasq_start || exit 1
discover --timeout 2s
is "long option 43 split by dnsmasq: ok" status ok
is "long option 43: the whole URL" certprov_url "https://$LONG:443$PATHV"
check "dnsmasq did send option 43 in several instances" \
	[ "$(grep -c 'option: 43 vendor-encap' "$LAB/dnsmasq.log")" -ge 2 ]

# ---- option 120 as an IP address (RFC 3361 encoding 1) ----
dnsmasq_conf $(good_options pool.example.test 10.200.0.1) || exit 1
dnsmasq_start || exit 1
discover --timeout 2s
is "option 120 as an address: dhcp_opt120_addresses" status dhcp_opt120_addresses
has "option 120 as an address: names it" detail "10.200.0.1"
is "option 120 as an address: status number 93" number 93
check "option 120 as an address: exit 2" [ "$RC" = 2 ]
is "option 120 as an address: URL still decoded" certprov_url "$URL"
has "option 120 as an address: diagnosis says FQDN" diagnosis "FQDN"

# ---- wrong vendor class: the class is defined as MSUCClient (the name, not the data) ----
dnsmasq_conf "dhcp-vendorclass=set:ucc,MSUCClient" \
	"dhcp-option=vendor:MSUCClient,1,\"MS-UC-Client\"" \
	"dhcp-option=vendor:MSUCClient,3,\"pool.example.test\"" \
	"dhcp-option=tag:ucc,120,sip.example.test" || exit 1
dnsmasq_start || exit 1
discover --timeout 2s
is "wrong vendor class on the server: dhcp_opt43_missing" status dhcp_opt43_missing
has "wrong vendor class: names the answering server" detail "answer from 10.200.0.1"
has "wrong vendor class: 120 missing too" detail "no option 120"
has "wrong vendor class: diagnosis names the class" diagnosis "MS-UC-Client"
# the right server, a client sending another class
dnsmasq_conf $(good_options) || exit 1
dnsmasq_start || exit 1
discover --timeout 2s --vendor-class MSUCClient
is "client sends class MSUCClient: dhcp_opt43_missing" status dhcp_opt43_missing

# ---- sub-option 1 of another class ----
dnsmasq_conf "dhcp-vendorclass=set:ucc,MS-UC-Client" \
	"dhcp-option=vendor:MS-UC-Client,1,\"MSUCClient\"" \
	"dhcp-option=vendor:MS-UC-Client,2,\"https\"" \
	"dhcp-option=vendor:MS-UC-Client,3,\"pool.example.test\"" \
	"dhcp-option=vendor:MS-UC-Client,4,\"443\"" \
	"dhcp-option=vendor:MS-UC-Client,5,\"$PATHV\"" \
	"dhcp-option=tag:ucc,120,sip.example.test" || exit 1
dnsmasq_start || exit 1
discover --timeout 2s
is "sub-option 1 is not MS-UC-Client: dhcp_opt43_malformed" status dhcp_opt43_malformed
has "sub-option 1: detail quotes it" detail "'MSUCClient', not MS-UC-Client"

# ---- the Cisco IOS cut: option 43 as raw hex, 180 hex digits of a longer option ----
hexs() { printf '%s' "$1" | od -An -tx1 | tr -d ' \n'; }
tlv() { printf '%02x%02x%s' "$1" "${#2}" "$(hexs "$2")"; }
full=$(tlv 1 MS-UC-Client)$(tlv 2 https)$(tlv 3 lyncweb01.pool.emea.contoso.com)$(tlv 4 443)$(tlv 5 "$PATHV")
cut=$(printf '%s' "${full:0:180}" | sed 's/../&:/g; s/:$//')
dnsmasq_conf "dhcp-vendorclass=set:ucc,MS-UC-Client" "dhcp-option=tag:ucc,43,$cut" \
	"dhcp-option=tag:ucc,120,sip.example.test" || exit 1
dnsmasq_start || exit 1
discover --timeout 2s
is "option 43 cut at 90 bytes: dhcp_opt43_truncated" status dhcp_opt43_truncated
has "90-byte cut: detail names sub-option 5 and IOS" detail "sub-option 5 declares 37 bytes"
has "90-byte cut: detail names the IOS cut" detail "Cisco IOS"
check "90-byte cut: raw option 43 is 90 bytes" [ "$(j option_43 | wc -c)" -eq 181 ]
is "90-byte cut: registrar still decoded" registrar sip.example.test

# ---- no DHCP server ----
dnsmasq_stop
discover --timeout 300ms --retries 2
is "dnsmasq stopped: dhcp_no_response" status dhcp_no_response
check "dnsmasq stopped: exit 2" [ "$RC" = 2 ]
is "dnsmasq stopped: three attempts" attempts 3
has "dnsmasq stopped: detail counts the INFORMs" detail "no answer to 3 DHCPINFORMs"
has "dnsmasq stopped: diagnosis names the relays" diagnosis "relays"
lat=$(j latency_seconds)
check "dnsmasq stopped: gave up after 3 x 300 ms (took ${lat}s)" \
	awk -v l="$lat" 'BEGIN { exit !(l >= 0.85 && l < 2.5) }'

# the text report
OUT=$(ip netns exec "$NSB" "$BIN/certprobe" dhcp-discover -i vB --timeout 200ms --retries 0 2>&1)
check "text report: Error line with the status" contains "$OUT" "Error       : dhcp_no_response"
check "text report: Diagnosis line" contains "$OUT" "Diagnosis   : check that the DHCP server"
finish
