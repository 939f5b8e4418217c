# dhcp-lab.sh: two network namespaces joined by a veth pair, and a real dnsmasq in the
# first, for the DHCP tests (sourced after lib.sh and assert.sh).
#   dhcp_lab_netns NSA NSB IFA IFB NET   NSA (the server, NET.1/24 on IFA) and NSB (the
#                                        client, NET.2/24 on IFB); NSA must exist (the
#                                        caller made it to learn whether it can); 0 or 1
#   dnsmasq_start / dnsmasq_stop         (re)start dnsmasq -C $LAB/dnsmasq.conf in $NSA,
#                                        ready once it holds udp 67; its pid in DPID
DPID=

dhcp_lab_netns() {
	local a=$1 b=$2 ia=$3 ib=$4 net=$5 ns
	ip netns add "$b" || return 1
	ip link add "$ia" netns "$a" type veth peer name "$ib" netns "$b" || return 1
	ip -n "$a" addr add "$net.1/24" dev "$ia" || return 1
	ip -n "$b" addr add "$net.2/24" dev "$ib" || return 1
	for ns in "$a" "$b"; do ip -n "$ns" link set lo up; done
	ip -n "$a" link set "$ia" up && ip -n "$b" link set "$ib" up
}

dnsmasq_stop() {
	[ -n "$DPID" ] || return 0
	kill "$DPID" 2>/dev/null
	wait "$DPID" 2>/dev/null
	DPID=
}

dhcp_listening() { ip netns exec "$NSA" cat /proc/net/udp | awk '{print $2}' | grep -qi ':0043$'; }

dnsmasq_start() {
	dnsmasq_stop
	: >"$LAB/dnsmasq.log"
	ip netns exec "$NSA" dnsmasq -k -C "$LAB/dnsmasq.conf" 2>>"$LAB/dnsmasq.err" &
	DPID=$!
	until_true 10 dhcp_listening || { echo "FAIL - dnsmasq did not start:"; cat "$LAB/dnsmasq.err"; return 1; }
}
