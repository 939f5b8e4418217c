#!/bin/bash
# The operations files, checked by the tools that consume them:
#   config/prometheus  promtool check config / check rules / test rules, plus: every
#                      alert has a severity, a summary and a description, and a firing
#                      and a non-firing unit test;
#   config/systemd     systemd-analyze verify (ExecStart pointed at $BIN/certprobed,
#                      Documentation= man pages resolved against man/), the offline
#                      security score, systemd-sysusers and systemd-tmpfiles in a
#                      scratch root, and the unit, sysusers and tmpfiles entries agree;
#   man                groff -man -ww without a warning, the expected sections, every
#                      --long option of `certprobed --help` / `certprobe --help`, and
#                      every configuration key of probe/config/config.c.
# A missing tool prints a SKIP line for its checks (this ctest has no skip code).
set -u
SRCDIR=${SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
BIN=${BIN:-$SRCDIR/build/bin}
[ -d "$BIN" ] && BIN=$(cd "$BIN" && pwd) # ExecStart= needs an absolute path
# shellcheck source-path=SCRIPTDIR source=assert.sh
. "$SRCDIR/tests/integration/assert.sh"

PROM=$SRCDIR/config/prometheus
SYSD=$SRCDIR/config/systemd
MAN=$SRCDIR/man
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

skip() { echo "SKIP - $*"; }

# silent FILE: FILE is empty, else show it
silent() {
	[ ! -s "$1" ] && return 0
	sed 's/^/       | /' "$1"
	return 1
}

for b in certprobe certprobed; do
	check "$b is built" [ -x "$BIN/$b" ] || { finish; exit 1; }
done

# ---- Prometheus ----

# Each `- alert:` block of the rules file has a severity label and both annotations.
rules_complete() {
	awk '
	function done_block() {
		if (name != "" && !(sev && sum && desc)) { print "       | " name ": missing severity, summary or description"; bad = 1 }
	}
	/^[[:space:]]*- alert:/ { done_block(); name = $3; sev = sum = desc = 0; next }
	/^[[:space:]]*- record:/ { done_block(); name = ""; next }
	/^[[:space:]]+severity:[[:space:]]*(critical|warning)[[:space:]]*$/ { sev = 1 }
	/^[[:space:]]+summary:/ { sum = 1 }
	/^[[:space:]]+description:/ { desc = 1 }
	END { done_block(); exit bad }' "$PROM/certprobe.rules.yml"
}

# Each alert name of the rules is tested at least once firing and once not firing.
rules_tested() {
	local a fire quiet_ bad=0
	for a in $(awk '/^[[:space:]]*- alert:/ { print $3 }' "$PROM/certprobe.rules.yml" | sort -u); do
		read -r fire quiet_ < <(awk -v a="$a" '
			/^[[:space:]]*alertname:/ { cur = $2; next }
			/^[[:space:]]*exp_alerts:/ && cur == a { if ($0 ~ /\[\]/) q++; else f++ }
			END { print f + 0, q + 0 }' "$PROM/certprobe.rules.test.yml")
		if [ "$fire" -lt 1 ] || [ "$quiet_" -lt 1 ]; then
			echo "       | $a: $fire firing and $quiet_ non-firing test(s)"
			bad=1
		fi
	done
	return $bad
}

if have promtool; then
	# from another directory: rule_files must resolve relative to the config file
	check "promtool check config prometheus.yml" \
		quiet sh -c 'cd "$1" && promtool check config "$2"' sh "$TMP" "$PROM/prometheus.yml"
	check "promtool check rules certprobe.rules.yml" quiet promtool check rules "$PROM/certprobe.rules.yml"
	check "promtool test rules certprobe.rules.test.yml" \
		quiet sh -c 'cd "$1" && promtool test rules "$2"' sh "$TMP" "$PROM/certprobe.rules.test.yml"
	check "every alert has severity, summary and description" rules_complete
	check "every alert has a firing and a non-firing test" rules_tested
	# the rules use only metric families the exporter has (or the documented fallback)
	check "rules name only exported certprobe_ families" sh -c '
		for m in $(grep -oE "certprobe_[a-z_]+" "$1" | sort -u); do
			case $m in
			certprobe_transaction_interval_seconds) continue ;; # proposed, has a fallback
			esac
			base=${m%_bucket}; base=${base%_total}; base=${base%_info}
			grep -q "\"$base\"" "$2" || { echo "       | $m is not in metrics.c"; exit 1; }
		done' sh "$PROM/certprobe.rules.yml" "$SRCDIR/probe/exporters/metrics.c"
else
	skip "promtool not found (apt-get install prometheus): Prometheus files not checked"
fi

# ---- systemd ----

UNIT=$SYSD/certprobed.service
mkdir -p "$TMP/unit" "$TMP/man/man1" "$TMP/man/man5" "$TMP/man/man8"
cp "$MAN/certprobe.1" "$TMP/man/man1/"
cp "$MAN/certprobe.yaml.5" "$TMP/man/man5/"
cp "$MAN/certprobed.8" "$TMP/man/man8/"
# the unit as shipped starts /usr/sbin/certprobed; verify needs an executable there
# (cmake --install rewrites it to PREFIX/sbin: test_install.sh)
sed "s|^ExecStart=/usr/sbin/certprobed |ExecStart=$BIN/certprobed |" "$UNIT" >"$TMP/unit/certprobed.service"
check "unit: ExecStart is /usr/sbin/certprobed -c /etc/certprobe/certprobe.yaml" \
	grep -qx 'ExecStart=/usr/sbin/certprobed -c /etc/certprobe/certprobe.yaml' "$UNIT"
check "unit: ExecStart rewritten to \$BIN for verify" grep -q "^ExecStart=$BIN/certprobed " "$TMP/unit/certprobed.service"

# systemd-analyze verify exits 0 on warnings (unknown keys, bad values): any line it
# prints about our unit is a failure. Lines about other units of the host are shown,
# not judged. Two lines are not about the unit's correctness and are dropped: the
# systemd-executor notice of systemd >= 255, and -- only while no such user exists on
# this host -- a complaint that user/group certprobe cannot be resolved (it is created
# by certprobe.sysusers at install time, which needs root; checked below in a
# scratch root instead).
verify_unit() {
	local rc=0
	MANPATH=$TMP/man systemd-analyze verify "$TMP/unit/certprobed.service" >"$TMP/verify" 2>&1 || rc=$?
	grep -v 'Using systemd-executor binary' "$TMP/verify" >"$TMP/verify.1" || true
	if ! getent passwd certprobe >/dev/null 2>&1; then
		grep -iE "(user|group)[ '\"=:]+certprobe([^a-z.]|\$)" "$TMP/verify.1" |
			sed 's/^/       | ignored (no user certprobe on this host): /'
		grep -viE "(user|group)[ '\"=:]+certprobe([^a-z.]|\$)" "$TMP/verify.1" >"$TMP/verify.2" || true
	else
		cp "$TMP/verify.1" "$TMP/verify.2"
	fi
	grep -v 'certprobed' "$TMP/verify.2" | sed 's/^/       | other unit, not judged: /'
	grep 'certprobed' "$TMP/verify.2" >"$TMP/verify.3" || true
	silent "$TMP/verify.3" || return 1
	# a failure status needs a reason we were shown (and chose not to judge)
	[ $rc = 0 ] || [ -s "$TMP/verify.1" ] || { echo "       | exit status $rc"; return 1; }
}

security_ok() {
	MANPATH=$TMP/man systemd-analyze security --offline=yes --threshold=20 \
		"$TMP/unit/certprobed.service" >"$TMP/sec" 2>&1 && return 0
	grep -E 'Overall' "$TMP/sec" | sed 's/^/       | /'
	grep -q 'Overall' "$TMP/sec" || tail -5 "$TMP/sec" | sed 's/^/       | /'
	return 1
}

if have systemd-analyze; then
	check "systemd-analyze verify certprobed.service (man pages from man/)" verify_unit
	if systemd-analyze security --help 2>&1 | grep -q -- '--offline'; then
		check "systemd-analyze security --offline: exposure at most 2.0" security_ok
	else
		skip "systemd-analyze has no security --offline (systemd < 250): exposure not checked"
	fi
else
	skip "systemd-analyze not found (apt-get install systemd): unit not verified"
fi

unit_key() { sed -n "s/^$1=//p" "$UNIT" | tail -1; }
check "unit: Type=notify" [ "$(unit_key Type)" = notify ]
check "unit: ExecReload sends SIGHUP" [ "$(unit_key ExecReload)" = '/bin/kill -HUP $MAINPID' ]
check "unit: User=/Group= certprobe, not dynamic" \
	[ "$(unit_key User):$(unit_key Group):$(unit_key DynamicUser)" = certprobe:certprobe:no ]
check "unit: empty CapabilityBoundingSet" grep -qx 'CapabilityBoundingSet=' "$UNIT"
check "unit: RestrictAddressFamilies without AF_NETLINK" \
	[ "$(unit_key RestrictAddressFamilies)" = 'AF_UNIX AF_INET AF_INET6' ]
check "unit: LimitNOFILE >= 16384" [ "$(unit_key LimitNOFILE)" -ge 16384 ]
check "unit: LimitCORE=0 (no core file holds a key or secret)" [ "$(unit_key LimitCORE)" = 0 ]
check "sysusers creates the unit's user" \
	grep -qE '^u[[:space:]]+certprobe[[:space:]]' "$SYSD/certprobe.sysusers"
check "tmpfiles: /var/lib/certprobe 0750 certprobe:certprobe, StateDirectory=certprobe" \
	sh -c 'grep -qE "^d[[:space:]]+/var/lib/certprobe[[:space:]]+0750[[:space:]]+certprobe[[:space:]]+certprobe" "$1" &&
		grep -qx "StateDirectory=certprobe" "$2"' sh "$SYSD/certprobe.tmpfiles" "$UNIT"

ROOT=$TMP/root
mkdir -p "$ROOT/etc"
if have systemd-sysusers; then
	check "systemd-sysusers creates certprobe in a scratch root" \
		quiet systemd-sysusers --root="$ROOT" - <"$SYSD/certprobe.sysusers"
	check "certprobe: home /var/lib/certprobe, no login shell" \
		grep -qE '^certprobe:x:[0-9]+:[0-9]+:[^:]*:/var/lib/certprobe:/usr/sbin/nologin$' "$ROOT/etc/passwd"
else
	skip "systemd-sysusers not found: certprobe.sysusers not applied"
fi
# as root the directory gets its owner; otherwise only the chown may fail
tmpfiles_ok() {
	local rc=0 uid
	systemd-tmpfiles --root="$ROOT" --create - <"$SYSD/certprobe.tmpfiles" >"$TMP/tmpf" 2>&1 || rc=$?
	[ "$(stat -c %a "$ROOT/var/lib/certprobe" 2>/dev/null)" = 750 ] ||
		{ echo "       | mode is not 0750"; sed 's/^/       | /' "$TMP/tmpf"; return 1; }
	if [ "$(id -u)" = 0 ]; then
		uid=$(awk -F: '$1 == "certprobe" { print $3 }' "$ROOT/etc/passwd")
		[ $rc = 0 ] && [ "$(stat -c %u:%g "$ROOT/var/lib/certprobe")" = "$uid:$uid" ] && return 0
		sed 's/^/       | /' "$TMP/tmpf"
		return 1
	fi
	[ $rc = 0 ] || ! grep -qv 'chown.*Operation not permitted' "$TMP/tmpf" && return 0
	sed 's/^/       | /' "$TMP/tmpf"
	return 1
}
if have systemd-tmpfiles && [ -s "$ROOT/etc/passwd" ]; then
	check "systemd-tmpfiles creates /var/lib/certprobe 0750 in the scratch root" tmpfiles_ok
else
	skip "systemd-tmpfiles or the scratch user missing: certprobe.tmpfiles not applied"
fi

# ---- man pages ----

# render PAGE: plain text, lines long enough that nothing is broken or hyphenated
render() { groff -man -Tascii -rLL=300n -rHY=0 -P-cbou "$1" 2>/dev/null; }

# has_sections PAGE SECTION...
has_sections() {
	local page=$1 s bad=0
	shift
	for s in "$@"; do
		grep -qE "^\.SH \"?$s\"?\$" "$page" || { echo "       | no section $s"; bad=1; }
	done
	return $bad
}

# options_documented PROGRAM PAGE: every --long option of PROGRAM --help is in PAGE
options_documented() {
	local prog=$1 page=$2 o bad=0
	"$BIN/$prog" --help >"$TMP/help" 2>&1 || { sed 's/^/       | /' "$TMP/help"; return 1; }
	render "$page" >"$TMP/page.txt"
	for o in $(grep -oE -- '--[a-z][a-z-]*' "$TMP/help" | sort -u); do
		grep -qE -- "(^|[^a-z-])$o([^a-z-]|\$)" "$TMP/page.txt" ||
			{ echo "       | $o (from $prog --help) is not in $(basename "$page")"; bad=1; }
	done
	return $bad
}

# keys_documented: every key the loader knows (the daemon's and every registered type's,
# from tests/tools/list_names) appears in certprobe.yaml(5) as "key:", every step name
# (the keys of warn.latency) as a word
keys_documented() {
	local k bad=0
	render "$MAN/certprobe.yaml.5" >"$TMP/yaml.txt"
	[ "$("$BIN/list_names" | grep -c '^key ')" -gt 30 ] ||
		{ echo "       | list_names printed too few keys"; bad=1; }
	for k in $("$BIN/list_names" | sed -n 's/^key //p' | sort -u); do
		grep -qE "(^|[^a-z_])$k:" "$TMP/yaml.txt" ||
			{ echo "       | key $k is not in certprobe.yaml.5"; bad=1; }
	done
	# the step names come from the registry, not from a grep that could match nothing
	[ -n "$("$BIN/list_names" | grep '^step ')" ] ||
		{ echo "       | list_names printed no step"; bad=1; }
	for k in $("$BIN/list_names" | sed -n 's/^step //p' | sort -u); do
		grep -qE "(^|[^a-z_])$k([^a-z_]|\$)" "$TMP/yaml.txt" ||
			{ echo "       | step $k (a registered type's) is not in certprobe.yaml.5"; bad=1; }
	done
	return $bad
}

# The YAML examples of certprobe.yaml(5) load: every .EX block of its EXAMPLES that
# starts with a top-level key, unescaped, through `certprobe check-config`.
examples_load() {
	local f bad=0 n=0
	awk -v dir="$TMP" '
		/^\.SH / { ex = ($0 ~ /EXAMPLES/) }
		ex && /^\.EX/ { n++; file = dir "/example" n ".yaml"; inblk = 1; next }
		inblk && /^\.EE/ { inblk = 0; close(file); next }
		inblk {
			gsub(/\\-/, "-"); gsub(/\\\(dq/, "\""); gsub(/\\\(aq/, "\047"); gsub(/\\e/, "\\")
			print > file
		}' "$MAN/certprobe.yaml.5"
	for f in "$TMP"/example*.yaml; do
		[ -e "$f" ] || continue
		grep -qE '^(probe|defaults|alerting|transactions):' "$f" || continue
		n=$((n + 1))
		chmod 600 "$f"
		"$BIN/certprobe" check-config "$f" >"$TMP/cc" 2>&1 ||
			{ sed 's/^/       | /' "$TMP/cc"; bad=1; }
	done
	[ $n -ge 2 ] || { echo "       | only $n YAML example(s) found"; bad=1; }
	return $bad
}
check "certprobe.yaml.5: the YAML examples pass certprobe check-config" examples_load

if have groff; then
	for page in certprobed.8 certprobe.1 certprobe.yaml.5; do
		groff -man -ww -z "$MAN/$page" >"$TMP/warn" 2>&1
		check "man/$page: groff -man -ww without warnings" silent "$TMP/warn"
	done
	check "certprobed.8: sections" has_sections "$MAN/certprobed.8" NAME SYNOPSIS DESCRIPTION \
		OPTIONS SIGNALS "EXIT STATUS" ENVIRONMENT FILES EXAMPLES "SEE ALSO"
	check "certprobe.1: sections" has_sections "$MAN/certprobe.1" NAME SYNOPSIS DESCRIPTION \
		COMMANDS OPTIONS "EXIT STATUS" ENVIRONMENT FILES EXAMPLES "SEE ALSO"
	check "certprobe.yaml.5: sections" has_sections "$MAN/certprobe.yaml.5" NAME SYNOPSIS \
		DESCRIPTION SECRETS FILES EXAMPLES "SEE ALSO"
	check "certprobed.8 has every long option of certprobed --help" \
		options_documented certprobed "$MAN/certprobed.8"
	check "certprobe.1 has every long option of certprobe --help" \
		options_documented certprobe "$MAN/certprobe.1"
	check "certprobe.yaml.5 has every key of config.c" keys_documented
else
	skip "groff not found (apt-get install groff): man pages not checked"
fi

finish
