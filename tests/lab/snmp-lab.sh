# snmp-lab.sh: a private net-snmp pair for tests that need SNMP notifications (sourced
# after lib.sh). snmp_lab_start SNMP_PORT TRAP_PORT: snmpd as AgentX master on
# $LAB/agentx.sock (community cpmon on udp 127.0.0.1:SNMP_PORT) forwarding v2c traps
# (community cptrap) to snmptrapd on udp 127.0.0.1:TRAP_PORT, which logs them to
# $LAB/trapd/trapd.log as "TRAP <version>| <varbinds>". Both in LAB_PIDS.
snmp_lab_start() {
	local snmpp=$1 trapp=$2
	export MIBS= SNMP_PERSISTENT_DIR=$LAB/persist-cli
	mkdir -p "$LAB/snmpd" "$LAB/trapd"
	cat >"$LAB/trapd/snmptrapd.conf" <<CONF
[snmp] persistentDir $LAB/trapd/persist
snmpTrapdAddr udp:127.0.0.1:$trapp
authCommunity log cptrap
format2 TRAP %V| %v\n
CONF
	snmptrapd -f -Lf "$LAB/trapd/trapd.log" -On -n -C -c "$LAB/trapd/snmptrapd.conf" \
		-p "$LAB/trapd/pid" >/dev/null 2>&1 &
	LAB_PIDS="$LAB_PIDS $!"
	cat >"$LAB/snmpd/snmpd.conf" <<CONF
[snmp] persistentDir $LAB/snmpd/persist
agentaddress udp:127.0.0.1:$snmpp
master agentx
agentXSocket $LAB/agentx.sock
agentXPerms 0660 0770
agentXTimeout 1
agentXRetries 1
rocommunity cpmon 127.0.0.1
trap2sink 127.0.0.1:$trapp cptrap
CONF
	snmpd -f -Lf "$LAB/snmpd/snmpd.log" -C -c "$LAB/snmpd/snmpd.conf" -p "$LAB/snmpd/pid" &
	LAB_PIDS="$LAB_PIDS $!"
}
