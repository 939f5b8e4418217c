#!/bin/bash
# Three certprobed shards with one configuration (probe.shard {index: i, count: 3}),
# against real peers on 127.0.0.1:19850-19869: Kamailio with TLS (the registrar),
# scepserver (the CA of an enrollment whose certificate a logon uses) and Prometheus.
# Every transaction runs on exactly one shard; the dependant runs on its root's shard;
# each shard's /metrics, state file and /probe know only its own; certprobe_shard_info
# says which shard it is; certprobe check-config --shard prints the assignment; and a
# Prometheus with hashmod relabelling scrapes every /probe target from the shard that
# runs it (a target sent to the wrong shard would be a 400, so up == 0).
set -u
SRCDIR=${SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$SRCDIR/tests/lab/lib.sh"
. "$SRCDIR/tests/lab/sip-lab.sh"
. "$SRCDIR/tests/integration/assert.sh"
lab_test_init

KAM=19850 SCEP=19858 PROMP=19859 D0=19860
for f in /usr/bin/prometheus /usr/bin/promtool; do
	[ -x "$f" ] || { echo "FAIL - $f is not installed (scripts/bootstrap installs it)"; exit 1; }
done

# ---- peers ----
umask 077
sip_lab_pki "$LAB/pki" >/dev/null || exit 1
P=$SIP_LAB_PKI
openssl rand -hex 12 >"$LAB/challenge"
lab_scepserver "$LAB/ca" $SCEP -challenge "$(cat "$LAB/challenge")" -allowrenew 0 -crtvalid 365 || exit 1
fp=$(lab_fingerprint "$LAB/ca/depot/ca.pem")
cat "$P/client-cas.pem" "$LAB/ca/depot/ca.pem" >"$LAB/client-cas.pem"
sip_lab_kamailio "$LAB/kam" $KAM "$LAB/client-cas.pem" || exit 1

NAMES="logon-0 logon-1 logon-2 logon-3 logon-4 logon-5 logon-6 logon-7 logon-8 enroll enroll-logon"
write_config() { # FILE INDEX
	{
		cat <<YAML
probe:
  state_dir: $LAB/state$2
  listen: 127.0.0.1:$((D0 + $2))
  shard: {index: $2, count: 3}
defaults: {interval: 3s, timeout: 3s, max_attempts: 1}
transactions:
  - name: enroll
    type: enrollment
    protocol: scep
    url: http://127.0.0.1:$SCEP/scep
    ca_fingerprint: $fp
    challenge: {file: $LAB/challenge}
    subject: CN=certprobe-shard,O=Example
    key: {type: rsa, bits: 2048}
    interval: 30s
    timeout: 10s
  - name: enroll-logon
    type: client-auth
    registrar: {host: 127.0.0.1, port: $KAM}
    sip_uri: sip:certprobe-shard@rig.test
    certificate: {from: enroll}
    trust_store: $P/trust.pem
YAML
		for i in 0 1 2 3 4 5 6 7 8; do
			cat <<YAML
  - name: logon-$i
    type: client-auth
    registrar: {host: 127.0.0.1, port: $KAM}
    sip_uri: sip:alice@rig.test
    certificate: {cert: $P/alice.crt, key: $P/alice.key}
    trust_store: $P/trust.pem
YAML
		done
	} >"$1"
}

# ---- the assignment ----
for i in 0 1 2; do write_config "$LAB/shard$i.yaml" $i; done
"$BIN/certprobe" check-config --shard 3 "$LAB/shard0.yaml" >"$LAB/assign.txt" 2>&1
check "check-config --shard 3 lists every transaction once" \
	test "$(tail -n +2 "$LAB/assign.txt" | wc -l)" = 11
check "check-config --shard 3: the dependant goes with its root" \
	test "$(awk '$2 == "enroll" {print $1}' "$LAB/assign.txt")" = \
	"$(awk '$2 == "enroll-logon" {print $1}' "$LAB/assign.txt")"
check "check-config --shard 3 names the root of a dependant" \
	grep -qP '^\d\tenroll-logon\t\(with enroll\)$' "$LAB/assign.txt"
shard_of() { awk -v n="$1" '$2 == n {print $1}' "$LAB/assign.txt"; }
"$BIN/certprobe" check-config "$LAB/shard1.yaml" >"$LAB/own.txt" 2>&1
check "check-config of a sharded file lists its own shard" \
	grep -qx "shard 1/3: $(awk '$1 == 1' "$LAB/assign.txt" | wc -l) of 11 transactions" "$LAB/own.txt"
RC=0
"$BIN/certprobe" check-config --shard 3/3 "$LAB/shard0.yaml" >/dev/null 2>"$LAB/bad.txt" || RC=$?
check "check-config --shard 3/3 is a usage error (3)" [ "$RC" = 3 ]
{
	echo "probe: {shard: {index: 3, count: 3}}"
	sed -n '/^transactions:/,$p' "$LAB/shard0.yaml"
} >"$LAB/badshard.yaml"
"$BIN/certprobe" check-config "$LAB/badshard.yaml" >/dev/null 2>"$LAB/badshard.txt"
check "probe.shard index >= count names file:line:col" \
	grep -q "badshard.yaml:1:24: shard index 3 is not below count 3" "$LAB/badshard.txt"

# ---- three daemons ----
for i in 0 1 2; do
	"$BIN/certprobed" -c "$LAB/shard$i.yaml" >"$LAB/daemon$i.log" 2>&1 &
	LAB_PIDS="$LAB_PIDS $!"
done
for i in 0 1 2; do
	until_true 10 curl -fs "http://127.0.0.1:$((D0 + i))/-/healthy" ||
		{ echo "FAIL - shard $i did not start"; cat "$LAB/daemon$i.log"; exit 1; }
done
metrics() { curl -s "http://127.0.0.1:$((D0 + $1))/metrics"; }
txns_of() { metrics "$1" | sed -n 's/^certprobe_transaction_interval_seconds{transaction="\([^"]*\)".*/\1/p' | sort; }
all_ran() { # every transaction has a success on the shard that runs it
	local i n
	for n in $NAMES; do
		i=$(shard_of "$n")
		metrics "$i" | grep -q "^certprobe_transaction_success{transaction=\"$n\".* 1$" || return 1
	done
}
check "every transaction succeeds on its shard" until_true 40 all_ran
for i in 0 1 2; do
	check "shard $i: /metrics lists exactly its transactions" \
		test "$(txns_of $i | tr '\n' ' ')" = "$(awk -v i=$i '$1 == i {print $2}' "$LAB/assign.txt" | sort | tr '\n' ' ')"
	check "shard $i: certprobe_shard_info says index $i of 3" \
		sh -c "curl -s http://127.0.0.1:$((D0 + i))/metrics | grep -qx 'certprobe_shard_info{index=\"$i\",count=\"3\"} 1'"
	check "shard $i: the log says which shard it is" grep -q "shard $i of 0..2: " "$LAB/daemon$i.log"
done
check "no transaction runs on two shards" \
	test "$(for i in 0 1 2; do txns_of $i; done | sort | uniq -d | wc -l)" = 0
check "together the shards run all 11" \
	test "$(for i in 0 1 2; do txns_of $i; done | sort -u | wc -l)" = 11
metrics 0 >"$LAB/m0.txt"
check "a shard's /metrics passes promtool" promtool check metrics <"$LAB/m0.txt"

statefile_names() { jq -r '.transactions[].name' "$LAB/state$1/certprobed.state.json" 2>/dev/null | sort; }
state_has_own() { test "$(statefile_names "$1" | tr '\n' ' ')" = "$(txns_of "$1" | tr '\n' ' ')"; }
for i in 0 1 2; do
	check "shard $i: its state file holds only its transactions" until_true 10 state_has_own $i
done

e=$(shard_of enroll)
other=$(((e + 1) % 3))
code=$(curl -s -o "$LAB/wrong.txt" -w '%{http_code}' "http://127.0.0.1:$((D0 + other))/probe?target=enroll")
check "/probe of another shard's transaction is a 400" [ "$code" = 400 ]
check "the 400 says it is not this shard's" grep -q "not a transaction of this shard" "$LAB/wrong.txt"

# ---- Prometheus pairs its shards with the probe's through hashmod ----
mkdir -p "$LAB/prom"
{
	echo "global: {scrape_interval: 3s, scrape_timeout: 3s}"
	echo "scrape_configs:"
	for i in 0 1 2; do
		cat <<YAML
  - job_name: certprobe-shard-$i
    metrics_path: /probe
    static_configs:
      - targets: [logon-0, logon-1, logon-2, logon-3, logon-4, logon-5, logon-6, logon-7, logon-8, enroll]
      - targets: [enroll-logon]
        labels: {certprobe_root: enroll}
    relabel_configs:
      - {source_labels: [__address__], target_label: __tmp_shard_key}
      - {source_labels: [certprobe_root], regex: (.+), target_label: __tmp_shard_key}
      - {source_labels: [__tmp_shard_key], modulus: 3, target_label: __tmp_shard, action: hashmod}
      - {source_labels: [__tmp_shard], regex: "$i", action: keep}
      - {source_labels: [__address__], target_label: __param_target}
      - {source_labels: [__address__], target_label: instance}
      - {target_label: __address__, replacement: "127.0.0.1:$((D0 + i))"}
YAML
	done
} >"$LAB/prom/prometheus.yml"
check "promtool accepts the sharded scrape configuration" promtool check config "$LAB/prom/prometheus.yml"
/usr/bin/prometheus --config.file="$LAB/prom/prometheus.yml" --storage.tsdb.path="$LAB/prom/data" \
	--web.listen-address=127.0.0.1:$PROMP >"$LAB/prom.log" 2>&1 &
LAB_PIDS="$LAB_PIDS $!"
promq() { curl -s "http://127.0.0.1:$PROMP/api/v1/query" --data-urlencode "query=$1"; }
prom_n() { promq "$1" | jq -r '.data.result[0].value[1] // "none"'; }
prom_is() { test "$(prom_n "$1")" = "$2"; } # QUERY VALUE
check "Prometheus keeps 11 targets across the three jobs" \
	until_true 30 sh -c "curl -s http://127.0.0.1:$PROMP/api/v1/targets | jq -e '[.data.activeTargets[]] | length == 11'"
check "every target is scraped from its shard: count(up == 1) == 11" \
	until_true 40 prom_is 'count(up == 1)' 11
check "every /probe answered success: count(probe_success == 1) == 11" \
	until_true 20 prom_is 'count(probe_success == 1)' 11
for i in 0 1 2; do
	check "Prometheus job certprobe-shard-$i scrapes what shard $i runs" \
		test "$(prom_n "count(up{job=\"certprobe-shard-$i\"} == 1)")" = \
		"$(awk -v i=$i '$1 == i' "$LAB/assign.txt" | wc -l | sed 's/^0$/none/')"
done

finish
