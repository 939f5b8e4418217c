#!/bin/bash
# The Zabbix template against a real Zabbix 6.0 server, on 127.0.0.1:19700-19749: a
# private PostgreSQL cluster with the Debian package's schema, a foreground zabbix_server,
# the PHP frontend under php -S. Through the JSON-RPC API: configuration.import of the
# shipped template, a host linked to it pointing at certprobed's /metrics (a client-auth
# transaction against Kamailio), then the master HTTP-agent item and the dependent state
# item get values, discovery finds the transaction and the endpoint, and the CRITICAL
# trigger fires when Kamailio stops and resolves when it is back.
set -u
SRCDIR=${SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$SRCDIR/tests/lab/lib.sh"
. "$SRCDIR/tests/lab/sip-lab.sh"
. "$SRCDIR/tests/integration/assert.sh"

PG=19700 WEB=19701 ZSRV=19702 DPORT=19703 KAM=19710 # Kamailio takes KAM..KAM+7
PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
ZSQL=/usr/share/zabbix-server-pgsql
ZF=/usr/share/zabbix

not() { ! "$@"; }
nonnull() { [ -n "$1" ] && [ "$1" != null ]; }
# within SECS CMD...: poll CMD every 0.3 s until it holds, for at most SECS of wall-clock
# time (until_true counts polls, and each poll here is an API call of 50-500 ms)
within() {
	local end=$((SECONDS + $1))
	shift
	until "$@" >/dev/null 2>&1; do
		[ "$SECONDS" -lt "$end" ] || return 1
		sleep 0.3
	done
}
elapsed() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }'; } # SINCE
skip() {
	echo "SKIP: $1"
	exit 0
}
[ "$(id -u)" = 0 ] || skip "needs root (PostgreSQL runs as the postgres user, the frontend in its own mount namespace)"
command -v zabbix_server >/dev/null || skip "no zabbix_server (Debian zabbix-server-pgsql, scripts/bootstrap)"
[ -x "$PGBIN/postgres" ] || skip "no PostgreSQL server (Debian postgresql)"
[ -f "$ZSQL/schema.sql.gz" ] || skip "no Zabbix schema in $ZSQL"
[ -f "$ZF/api_jsonrpc.php" ] || skip "no Zabbix frontend in $ZF (Debian zabbix-frontend-php)"
php -r 'exit(function_exists("pg_connect") ? 0 : 1);' || skip "PHP has no pgsql (Debian php-pgsql)"
id postgres >/dev/null 2>&1 || skip "no postgres user (PostgreSQL refuses to run as root)"
# Debian's frontend reads /etc/zabbix/zabbix.conf.php only: the test binds its own
# /etc/zabbix in a private mount namespace of the PHP server, leaving the real one alone
[ -d /etc/zabbix ] || skip "no /etc/zabbix to bind the frontend's configuration over"
unshare -m true 2>/dev/null || skip "cannot unshare a mount namespace (the frontend needs its own /etc/zabbix)"

lab_test_init
ZPID="" PGPID=""
# zabbix_server first (its HA manager holds a database session), then a fast shutdown of
# PostgreSQL (SIGINT: SIGTERM would wait for every session to end)
zbx_stop() {
	local p _
	for p in $ZPID $PGPID; do
		if [ "$p" = "$PGPID" ]; then kill -INT "$p" 2>/dev/null; else kill "$p" 2>/dev/null; fi
		for _ in $(seq 1 100); do
			_lab_alive "$p" || break
			sleep 0.1
		done
		_lab_alive "$p" && kill -9 "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	ZPID="" PGPID=""
}
trap 'zbx_stop; lab_cleanup; [ "${FAIL:-0}" -eq 0 ] && rm -rf "$LAB"' EXIT
trap 'zbx_stop; lab_cleanup; exit 130' INT TERM
T0=$EPOCHREALTIME
chmod 711 "$LAB"
umask 077

# ---- PostgreSQL: a private cluster, the Zabbix schema ----
mkdir -p "$LAB/pg"
chown postgres: "$LAB/pg"
AS_PG=(setpriv --reuid=postgres --regid=postgres --clear-groups --)
check "initdb a private cluster" quiet "${AS_PG[@]}" "$PGBIN/initdb" -D "$LAB/pg/data" -A trust -U zabbix \
	-E UTF8 --locale=C.UTF-8 --no-sync
# a plain command, not a function, in the background: $! is postgres itself (setpriv execs
# it), so zbx_stop's SIGINT reaches it rather than a subshell waiting on it
"${AS_PG[@]}" "$PGBIN/postgres" -D "$LAB/pg/data" -k "$LAB/pg" -h 127.0.0.1 -p $PG \
	-c fsync=off -c synchronous_commit=off -c full_page_writes=off >"$LAB/pg/postgres.log" 2>&1 &
PGPID=$!
LAB_PIDS="$LAB_PIDS $PGPID"
check "PostgreSQL accepts connections" until_true 20 "$PGBIN/pg_isready" -q -h "$LAB/pg" -p $PG
check "create the zabbix database" quiet "$PGBIN/psql" -h "$LAB/pg" -p $PG -U zabbix -d postgres -qc 'CREATE DATABASE zabbix'
# One simple query per file: psql would send the 170,000 INSERTs of data.sql one round
# trip each (about 60 s on a loaded 2-core machine; this takes 10-15 s)
dbload() {
	php -- "host=$LAB/pg port=$PG user=zabbix dbname=zabbix" "$@" <<'PHP'
<?php
$c = pg_connect($argv[1]);
if ($c === false) exit(1);
for ($i = 2; $i < $argc; $i++) {
	if (pg_query($c, implode('', gzfile($argv[$i]))) === false) {
		fwrite(STDERR, $argv[$i].': '.pg_last_error($c)."\n");
		exit(1);
	}
}
PHP
}
t=$EPOCHREALTIME
dbload "$ZSQL/schema.sql.gz" "$ZSQL/images.sql.gz" "$ZSQL/data.sql.gz" >"$LAB/pg/load.log" 2>&1 &
LOADPID=$!
LAB_PIDS="$LAB_PIDS $LOADPID"

# ---- certprobed: one client-auth transaction against Kamailio (while the database loads) ----
P=$LAB/pki
sip_lab_pki "$P" >/dev/null || exit 1
sip_lab_kamailio "$LAB/kam" $KAM "$P/client-cas.pem" || exit 1
cat >"$LAB/certprobe.yaml" <<YAML
probe:
  state_dir: $LAB/state
  listen: 127.0.0.1:$DPORT
defaults:
  interval: 1s
  timeout: 1500ms
  max_attempts: 1
transactions:
  - name: logon
    type: client-auth
    registrar: {host: 127.0.0.1, port: $KAM, tls_name: registrar.rig.test}
    sip_uri: sip:alice@rig.test
    certificate: {cert: $P/alice.crt, key: $P/alice.key}
    trust_store: $P/trust.pem
YAML
"$BIN/certprobed" -c "$LAB/certprobe.yaml" >"$LAB/daemon.log" 2>&1 &
LAB_PIDS="$LAB_PIDS $!"
metrics_ok() { curl -s "http://127.0.0.1:$DPORT/metrics" | grep -q 'certprobe_transaction_state{.*transaction="logon".*state="ok".*} 1'; }
check "certprobed serves /metrics with logon OK" until_true 20 metrics_ok

LRC=0
wait $LOADPID || LRC=$?
LAB_PIDS=${LAB_PIDS/ $LOADPID/}
check "load the schema, images and data of zabbix-server-pgsql" [ "$LRC" = 0 ] || sed 's/^/       | /' "$LAB/pg/load.log"
echo "     database ready in $(elapsed "$T0") s (the load $(elapsed "$t") s)"

# ---- zabbix_server in the foreground ----
Z=$LAB/zabbix
mkdir -p "$Z/run" "$Z/tmp"
cat >"$Z/zabbix_server.conf" <<CFG
LogType=console
PidFile=$Z/run/zabbix_server.pid
SocketDir=$Z/run
TmpDir=$Z/tmp
AllowRoot=1
ListenIP=127.0.0.1
ListenPort=$ZSRV
DBHost=127.0.0.1
DBPort=$PG
DBName=zabbix
DBUser=zabbix
CacheUpdateFrequency=1
HousekeepingFrequency=0
StartPollers=2
StartPollersUnreachable=1
StartPreprocessors=1
StartLLDProcessors=1
StartDBSyncers=1
StartTrappers=1
StartHistoryPollers=1
StartAlerters=1
StartEscalators=1
StartTimers=1
StartPingers=0
StartDiscoverers=0
StartHTTPPollers=0
StartReportWriters=0
StartODBCPollers=0
Timeout=4
CFG
zabbix_server -f -c "$Z/zabbix_server.conf" >"$Z/zabbix_server.log" 2>&1 &
ZPID=$!
LAB_PIDS="$LAB_PIDS $ZPID"
check "zabbix_server starts (its trapper listens)" lab_wait_port $ZSRV 30

# ---- the PHP frontend ----
W=$LAB/web
mkdir -p "$W/etc"
cat >"$W/etc/zabbix.conf.php" <<PHP
<?php
\$DB['TYPE'] = 'POSTGRESQL';
\$DB['SERVER'] = '127.0.0.1';
\$DB['PORT'] = '$PG';
\$DB['DATABASE'] = 'zabbix';
\$DB['USER'] = 'zabbix';
\$DB['PASSWORD'] = '';
\$DB['SCHEMA'] = '';
\$DB['DOUBLE_IEEE754'] = true;
\$ZBX_SERVER = '127.0.0.1';
\$ZBX_SERVER_PORT = '$ZSRV';
\$ZBX_SERVER_NAME = 'certprobe-test';
\$IMAGE_FORMAT_DEFAULT = IMAGE_FORMAT_PNG;
PHP
chmod 755 "$W" "$W/etc"
chmod 644 "$W/etc/zabbix.conf.php"
unshare -m sh -c 'mount --bind "$1" /etc/zabbix && exec php -S "127.0.0.1:$2" -t "$3"' _ \
	"$W/etc" $WEB "$ZF" >"$W/php.log" 2>&1 &
LAB_PIDS="$LAB_PIDS $!"
check "the frontend listens" lab_wait_port $WEB 10

# api METHOD PARAMS-JSON: one JSON-RPC call; prints .result, fails on an error. Answers go
# to web/api.log, but for user.login's (the session token)
api() {
	local req out
	req=$(jq -cn --arg m "$1" --argjson p "$2" --arg a "${AUTH:-}" \
		'{jsonrpc: "2.0", method: $m, params: $p, id: 1} + (if $a == "" then {} else {auth: $a} end)')
	out=$(curl -s --max-time 20 -H 'Content-Type: application/json-rpc' -d "$req" \
		"http://127.0.0.1:$WEB/api_jsonrpc.php") || return 1
	[ "$1" = user.login ] || printf '%s %s\n' "$1" "$out" >>"$W/api.log"
	jq -e 'has("result")' >/dev/null <<<"$out" || {
		jq -c '.error // .' <<<"$out" >&2
		return 1
	}
	jq -c .result <<<"$out"
}
api_version() { [[ "$(api apiinfo.version '[]' | jq -r .)" == 6.0.* ]]; }
check "the API answers apiinfo.version 6.0" api_version
AUTH=$(api user.login '{"username": "Admin", "password": "zabbix"}' | jq -r .)
check "user.login gives a session" nonnull "$AUTH"
# the stock "Zabbix server" host polls a hundred internal items: off, to spare the CPU
check "disable the stock Zabbix server host" quiet api host.update '{"hostid": "10084", "status": 1}'

# ---- the template through configuration.import ----
RULES='{
	"groups": {"createMissing": true},
	"templates": {"createMissing": true, "updateExisting": true},
	"items": {"createMissing": true, "updateExisting": true, "deleteMissing": true},
	"discoveryRules": {"createMissing": true, "updateExisting": true, "deleteMissing": true},
	"triggers": {"createMissing": true, "updateExisting": true, "deleteMissing": true},
	"valueMaps": {"createMissing": true, "updateExisting": true, "deleteMissing": true},
	"templateLinkage": {"createMissing": true}
}'
import() { # FILE
	api configuration.import "$(jq -n --rawfile src "$1" --argjson rules "$RULES" \
		'{format: "yaml", rules: $rules, source: $src}')" 2>"$W/import.err" | grep -qx true
}
check "configuration.import accepts the shipped template" import "$SRCDIR/config/zabbix/certprobe-template.yaml"
[ -s "$W/import.err" ] && sed 's/^/       | /' "$W/import.err"
check "... a second import (updateExisting) too" import "$SRCDIR/config/zabbix/certprobe-template.yaml"
sed 's/last(\/Certprobe by HTTP\/certprobe.config.reload)=0/last(\/Certprobe by HTTP\/certprobe.no.such.key)=0/' \
	"$SRCDIR/config/zabbix/certprobe-template.yaml" >"$W/bad.yaml"
refuses_bad() { ! import "$W/bad.yaml" && grep -q 'certprobe\.no\.such\.key' "$W/import.err"; }
check "... and the server refuses a trigger on an unknown item (the offline validator cannot)" refuses_bad
TPL=$(api template.get '{"output": ["templateid"], "filter": {"host": "Certprobe by HTTP"}}' | jq -r '.[0].templateid')
check "the template exists" nonnull "$TPL"

# ---- a host linked to the template ----
GID=$(api hostgroup.create '{"name": "certprobe lab"}' | jq -r '.groupids[0]')
HOST=$(api host.create "$(jq -n --arg g "$GID" --arg t "$TPL" --arg url "http://127.0.0.1:$DPORT/metrics" '{
	host: "certprobe-lab", groups: [{groupid: $g}], templates: [{templateid: $t}],
	macros: [{macro: "{$CERTPROBE.URL}", value: $url}, {macro: "{$CERTPROBE.INTERVAL}", value: "1s"}]}')" |
	jq -r '.hostids[0]')
check "host.create links the template, the macros point at certprobed" nonnull "$HOST"

# item_value KEY: the host's item KEY has a value (lastclock > 0); prints it
item_value() {
	api item.get "$(jq -n --arg h "$HOST" --arg k "$1" '{hostids: [$h], filter: {key_: $k},
		output: ["lastvalue", "lastclock", "state", "error"]}')" | jq -e -r '.[0] | select(.lastclock != "0") | .lastvalue'
}
item_is() { [ "$(item_value "$1")" = "$2" ]; } # KEY VALUE
# The master keeps no history (history 0, as in Zabbix's own HTTP templates): its values
# show in the dependent items; it must be supported and error-free
master_ok() {
	api item.get "$(jq -n --arg h "$HOST" '{hostids: [$h], filter: {key_: "certprobe.get"}, output: ["state", "error"]}')" |
		jq -e '.[0].state == "0" and .[0].error == ""' >/dev/null
}
check "the master HTTP-agent item reads /metrics: its dependent certprobe.config.reload is 1" \
	within 30 item_is certprobe.config.reload 1
check "... and the master item is supported, no error" master_ok
discovered() { # KEY: an item the LLD created exists
	api item.get "$(jq -n --arg h "$HOST" --arg k "$1" '{hostids: [$h], filter: {key_: $k}, output: ["itemid"]}')" |
		jq -e 'length == 1' >/dev/null
}
check "discovery created the transaction's items (certprobe.txn.state[logon])" within 30 discovered 'certprobe.txn.state[logon]'
check "discovery created the endpoint's items" within 30 discovered "certprobe.endpoint.state[127.0.0.1:$KAM]"
check "the dependent item certprobe.txn.state[logon] is 0 (OK)" within 30 item_is 'certprobe.txn.state[logon]' 0
check "the endpoint's state item is 0 (OK)" within 30 item_is "certprobe.endpoint.state[127.0.0.1:$KAM]" 0
check "certprobe.txn.duration[logon] has a value" within 30 item_value 'certprobe.txn.duration[logon]'

# problems NAME: how many open problems named NAME the host has (nothing if the API failed,
# so that no_problem never passes on an error)
problems() {
	api problem.get "$(jq -n --arg h "$HOST" '{hostids: [$h], output: ["name"]}')" |
		jq -r --arg n "$1" 'map(select(.name == $n)) | length'
}
problem() { [ "$(problems "$1")" = 1 ]; }
no_problem() { [ "$(problems "$1")" = 0 ]; }
trigger_value() { # DESCRIPTION VALUE
	api trigger.get "$(jq -n --arg h "$HOST" '{hostids: [$h], output: ["description", "value"], expandDescription: true}')" |
		jq -e --arg d "$1" --arg v "$2" 'map(select(.description == $d and .value == $v)) | length == 1' >/dev/null
}
check "no problem while the registrar answers" no_problem "Transaction logon is CRITICAL"

# ---- the registrar goes down and comes back ----
sip_lab_kamailio_stop "$LAB/kam"
check "Kamailio stopped: certprobe.txn.state[logon] is 2 (CRITICAL)" within 30 item_is 'certprobe.txn.state[logon]' 2
check "... the trigger 'Transaction logon is CRITICAL' fires (value 1)" within 20 trigger_value "Transaction logon is CRITICAL" 1
check "... problem.get shows the problem" within 20 problem "Transaction logon is CRITICAL"
check "... and the endpoint's trigger fires" within 20 problem "registrar 127.0.0.1:$KAM is CRITICAL"
sip_lab_kamailio_restart "$LAB/kam" || exit 1
check "Kamailio back: certprobe.txn.state[logon] is 0 again" within 30 item_is 'certprobe.txn.state[logon]' 0
check "... the trigger clears (value 0)" within 20 trigger_value "Transaction logon is CRITICAL" 0
check "... the problem is resolved" within 20 no_problem "Transaction logon is CRITICAL"

# the certificate trigger: alice's certificate has about 800 days left; a host macro of
# 100000 warning days makes the WARNING trigger fire (the HIGH one, 14 days, stays quiet)
api usermacro.create "$(jq -n --arg h "$HOST" '{hostid: $h, macro: "{$CERTPROBE.CERT.WARN}", value: "100000"}')" >/dev/null
check "a client certificate inside {\$CERTPROBE.CERT.WARN} days raises the expiry trigger" \
	within 20 problem "Transaction logon: client certificate expires in less than 100000 days"
check "... and not the HIGH one (14 days)" no_problem "Transaction logon: client certificate expires in less than 14 days"

check "zabbix_server logged no unsupported item and no error for the host" \
	not grep -qE "\"certprobe-lab:.*(became not supported|error)" "$Z/zabbix_server.log"
echo "     whole test: $(elapsed "$T0") s"
finish
