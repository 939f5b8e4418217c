# Private Icinga 2 and Nagios 4 instances for the integration tests, after
# ../shared/design/peer-recipes.md: every file under the test's own directory, nothing
# in /etc or /var, PIDs in LAB_PIDS (lab_cleanup stops them). Source after lib.sh.

# mon_icinga_ca DIR: a 2048-bit CA for Icinga 2 nodes (DIR/ca.crt, DIR/ca.key), once
mon_icinga_ca() {
	mkdir -p "$1"
	[ -f "$1/ca.crt" ] && return 0
	openssl req -x509 -newkey rsa:2048 -nodes -keyout "$1/ca.key" -out "$1/ca.crt" -days 2 \
		-subj "/CN=icinga-lab-ca-$(basename "$1")" 2>/dev/null
}

# mon_icinga_node DIR NODENAME CADIR: a node's directories and its certificate (CN and
# DNS name NODENAME, IP 127.0.0.1) signed by the CA of CADIR, in DIR/data/certs
mon_icinga_node() {
	local I=$1 c=$1/data/certs
	mkdir -p "$I/etc/zones.d" "$c" "$I/log" "$I/cache" "$I/spool" "$I/run"
	cp "$3/ca.crt" "$c/ca.crt"
	openssl req -newkey rsa:2048 -nodes -keyout "$c/$2.key" -out "$c/$2.csr" -subj "/CN=$2" 2>/dev/null
	printf 'subjectAltName=DNS:%s,IP:127.0.0.1\n' "$2" >"$c/ext"
	openssl x509 -req -in "$c/$2.csr" -CA "$3/ca.crt" -CAkey "$3/ca.key" -CAcreateserial \
		-out "$c/$2.crt" -days 2 -extfile "$c/ext" 2>/dev/null
}

# mon_icinga_defines DIR: the defines that keep a node off /etc and /var (one per line)
mon_icinga_defines() {
	printf '%s\n' "-DConfigDir=$1/etc" "-DZonesDir=$1/etc/zones.d" "-DDataDir=$1/data" \
		"-DLogDir=$1/log" "-DCacheDir=$1/cache" "-DSpoolDir=$1/spool" "-DInitRunDir=$1/run" \
		-DRunAsUser=root -DRunAsGroup=root
}

# mon_icinga_check DIR: icinga2 daemon -C on DIR/etc/icinga2.conf (quiet unless it fails)
mon_icinga_check() {
	local -a def
	mapfile -t def < <(mon_icinga_defines "$1")
	quiet icinga2 daemon -C -c "$1/etc/icinga2.conf" "${def[@]}"
}

# mon_icinga_start DIR: the node in the foreground (output in DIR/icinga2.out); its PID
# in MON_PID
mon_icinga_start() {
	local -a def
	mapfile -t def < <(mon_icinga_defines "$1")
	icinga2 daemon -c "$1/etc/icinga2.conf" "${def[@]}" >>"$1/icinga2.out" 2>&1 &
	MON_PID=$!
	LAB_PIDS="$LAB_PIDS $MON_PID"
}

# mon_stop PID: SIGTERM and wait until it is gone (Icinga 2 takes ~2.3 s)
mon_stop() {
	kill "$1" 2>/dev/null || return 0
	wait "$1" 2>/dev/null || true
}

# mon_nagios_cfg DIR BIN [CFG_FILE...]: DIR/nagios.cfg for a foreground Nagios 4 as root
# with its FIFO DIR/nagios.cmd and DIR/status.dat (updated every second), reading
# DIR/objects.cfg (a 24x7 period, a contact, the host certprobe-host and the
# generic-service template, to which the caller appends) and the CFG_FILEs
mon_nagios_cfg() {
	local N=$1 f
	shift
	printf '$USER1$=%s\n' "$1" >"$N/resource.cfg"
	shift
	{
		cat <<CFG
log_file=$N/nagios.log
cfg_file=$N/objects.cfg
resource_file=$N/resource.cfg
status_file=$N/status.dat
status_update_interval=1
temp_file=$N/nagios.tmp
temp_path=$N
lock_file=$N/nagios.lock
state_retention_file=$N/retention.dat
retain_state_information=0
check_result_path=$N
object_cache_file=$N/objects.cache
precached_object_file=$N/objects.precache
nagios_user=root
nagios_group=root
check_external_commands=1
command_file=$N/nagios.cmd
command_check_interval=-1
interval_length=1
max_concurrent_checks=4
use_syslog=0
enable_notifications=0
illegal_macro_output_chars=\`~\$&|'"<>
CFG
		for f in "$@"; do echo "cfg_file=$f"; done
	} >"$N/nagios.cfg"
	cat >"$N/objects.cfg" <<CFG
define timeperiod {
	timeperiod_name 24x7
	alias 24x7
	sunday 00:00-24:00
	monday 00:00-24:00
	tuesday 00:00-24:00
	wednesday 00:00-24:00
	thursday 00:00-24:00
	friday 00:00-24:00
	saturday 00:00-24:00
}
define contact {
	contact_name nobody
	host_notifications_enabled 0
	service_notifications_enabled 0
	host_notification_period 24x7
	service_notification_period 24x7
	host_notification_options n
	service_notification_options n
	host_notification_commands certprobe_stale
	service_notification_commands certprobe_stale
}
define host {
	host_name certprobe-host
	address 127.0.0.1
	max_check_attempts 1
	check_period 24x7
	contacts nobody
	active_checks_enabled 0
	notification_period 24x7
}
define service {
	name generic-service
	register 0
	check_period 24x7
	notification_period 24x7
	contacts nobody
	retry_interval 1
	check_interval 1
}
CFG
}

# mon_nagios_start DIR: Nagios 4 in the foreground on DIR/nagios.cfg; its PID in MON_PID
mon_nagios_start() {
	nagios4 "$1/nagios.cfg" >>"$1/nagios.out" 2>&1 &
	MON_PID=$!
	LAB_PIDS="$LAB_PIDS $MON_PID"
}

# mon_nagios_field DIR BLOCK NAME FIELD: FIELD of the status.dat block (servicestatus
# by service_description, hoststatus by host_name) called NAME
mon_nagios_field() {
	awk -v b="$2" -v d="$3" -v f="$4" '
		$0 ~ "^" b " *\\{" {inb=1; n=""; v=""; next}
		inb && /^\t*}/ {if (n==d) print v; inb=0; next}
		inb {
			line=$0; sub(/^\t*/, "", line); k=line; sub(/=.*/, "", k); val=line; sub(/^[^=]*=/, "", val)
			if ((b=="servicestatus" && k=="service_description") || (b=="hoststatus" && k=="host_name")) n=val
			if (k==f) v=val
		}' "$1/status.dat" 2>/dev/null
}

# mon_nagios_svc_is DIR DESCRIPTION STATE: the service was checked (a result came) and
# its current_state in status.dat is STATE
mon_nagios_svc_is() {
	[ "$(mon_nagios_field "$1" servicestatus "$2" has_been_checked)" = 1 ] &&
		[ "$(mon_nagios_field "$1" servicestatus "$2" current_state)" = "$3" ]
}
