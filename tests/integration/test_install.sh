#!/bin/bash
# The install rules: `DESTDIR=... cmake --install BUILD`, for the prefix the build was
# configured with and for --prefix /usr, puts exactly the files the README's "Running
# the daemon under systemd" table names where it says, with modes 0755 (programs,
# directories) and 0644 (data), as copies of the sources; the installed unit differs
# from config/systemd/certprobed.service only in ExecStart=, which names the installed
# PREFIX/sbin/certprobed; the example configuration passes the installed
# `certprobe check-config`; systemd-sysusers and systemd-tmpfiles find the installed
# certprobe.conf by name (the README's activation step) in the staged root.
set -u
SRCDIR=${SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
BIN=${BIN:-$SRCDIR/build/bin}
BUILD=$(cd "$BIN/.." && pwd)
# shellcheck source-path=SCRIPTDIR source=assert.sh
. "$SRCDIR/tests/integration/assert.sh"
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

cache() { sed -n "s/^$1:[A-Z]*=//p" "$BUILD/CMakeCache.txt"; }

check "build tree has a CMakeCache.txt" [ -f "$BUILD/CMakeCache.txt" ] || { finish; exit 1; }
UNITDIR=$(cache CERTPROBE_SYSTEMD_UNITDIR)

# expected PREFIX: "MODE PATH SOURCE" for every file the install must produce
expected() {
	local p=$1 u=$UNITDIR
	case $u in /*) ;; *) u=$p/$u ;; esac
	cat <<-EOF
		755 $p/bin/certprobe $BIN/certprobe
		755 $p/sbin/certprobed $BIN/certprobed
		644 $u/certprobed.service -
		644 $p/lib/sysusers.d/certprobe.conf $SRCDIR/config/systemd/certprobe.sysusers
		644 $p/lib/tmpfiles.d/certprobe.conf $SRCDIR/config/systemd/certprobe.tmpfiles
		644 $p/share/man/man1/certprobe.1 $SRCDIR/man/certprobe.1
		644 $p/share/man/man5/certprobe.yaml.5 $SRCDIR/man/certprobe.yaml.5
		644 $p/share/man/man8/certprobed.8 $SRCDIR/man/certprobed.8
		644 $p/share/doc/certprobe/prometheus/prometheus.yml $SRCDIR/config/prometheus/prometheus.yml
		644 $p/share/doc/certprobe/prometheus/certprobe.rules.yml $SRCDIR/config/prometheus/certprobe.rules.yml
		644 $p/share/doc/certprobe/prometheus/certprobe.rules.test.yml $SRCDIR/config/prometheus/certprobe.rules.test.yml
		644 $p/share/doc/certprobe/examples/certprobe.yaml $SRCDIR/config/certprobe.example.yaml
		755 $p/lib/nagios/plugins/check_certprobe $BIN/check_certprobe
		755 $p/lib/nagios/plugins/check_clientauth $BIN/check_clientauth
		755 $p/lib/nagios/plugins/check_enrollment $BIN/check_enrollment
		644 $p/share/doc/certprobe/icinga2/certprobe-commands.conf $SRCDIR/config/icinga2/certprobe-commands.conf
		644 $p/share/doc/certprobe/icinga2/certprobe-services.conf $SRCDIR/config/icinga2/certprobe-services.conf
		644 $p/share/doc/certprobe/icinga2/distributed/zones.conf $SRCDIR/config/icinga2/distributed/zones.conf
		644 $p/share/doc/certprobe/icinga2/distributed/api-master.conf $SRCDIR/config/icinga2/distributed/api-master.conf
		644 $p/share/doc/certprobe/icinga2/distributed/api-satellite.conf $SRCDIR/config/icinga2/distributed/api-satellite.conf
		644 $p/share/doc/certprobe/icinga2/distributed/certprobe-site-a.yaml $SRCDIR/config/icinga2/distributed/certprobe-site-a.yaml
		644 $p/share/doc/certprobe/icinga2/distributed/zones.d/site-a/certprobe-site-a.conf $SRCDIR/config/icinga2/distributed/zones.d/site-a/certprobe-site-a.conf
		644 $p/share/doc/certprobe/nagios/certprobe-commands.cfg $SRCDIR/config/nagios/certprobe-commands.cfg
		644 $p/share/doc/certprobe/nagios/certprobe-services.cfg $SRCDIR/config/nagios/certprobe-services.cfg
		644 $p/share/doc/certprobe/zabbix/certprobe-template.yaml $SRCDIR/config/zabbix/certprobe-template.yaml
		644 $p/share/doc/certprobe/zabbix/certprobe-userparameters.conf $SRCDIR/config/zabbix/certprobe-userparameters.conf
	EOF
}

# files_ok ROOT PREFIX: every expected file, with its mode, a copy of its source
files_ok() {
	local root=$1 mode path src bad=0
	while read -r mode path src; do
		if [ ! -f "$root$path" ]; then
			echo "       | missing $path"
			bad=1
			continue
		fi
		[ "$(stat -c %a "$root$path")" = "$mode" ] ||
			{ echo "       | $path: mode $(stat -c %a "$root$path"), not $mode"; bad=1; }
		[ "$src" = - ] || cmp -s "$src" "$root$path" ||
			{ echo "       | $path differs from $src"; bad=1; }
	done < <(expected "$2")
	return $bad
}

# nothing_else ROOT PREFIX: no file beyond the expected ones; directories 0755
nothing_else() {
	local root=$1 bad=0
	expected "$2" | awk '{ print $2 }' | sort >"$TMP/want"
	(cd "$root" && find . -type f | sed 's|^\.||' | sort) >"$TMP/got"
	comm -13 "$TMP/want" "$TMP/got" | sed 's/^/       | unexpected file /' | grep . && bad=1
	find "$root" -mindepth 1 -type d ! -perm 755 -printf '       | directory %P: mode %m\n' | grep . && bad=1
	return $bad
}

# unit_ok ROOT PREFIX: ExecStart= names the installed daemon; nothing else changed
unit_ok() {
	local root=$1 p=$2 u=$UNITDIR exec
	case $u in /*) ;; *) u=$p/$u ;; esac
	exec=$(sed -n 's/^ExecStart=\([^ ]*\).*/\1/p' "$root$u/certprobed.service")
	[ "$exec" = "$p/sbin/certprobed" ] || { echo "       | ExecStart=$exec, not $p/sbin/certprobed"; return 1; }
	[ -x "$root$exec" ] || { echo "       | $exec is not in the installed tree"; return 1; }
	diff <(grep -v '^ExecStart=' "$SRCDIR/config/systemd/certprobed.service") \
		<(grep -v '^ExecStart=' "$root$u/certprobed.service") >"$TMP/diff" && return 0
	sed 's/^/       | /' "$TMP/diff"
	return 1
}

# readme_ok PREFIX: the README's install table names every installed path
readme_ok() {
	local p=$1 path needle bad=0
	sed -n '/^### Running the daemon under systemd/,/^## /p' "$SRCDIR/README.md" >"$TMP/readme"
	for path in $(expected "$p" | awk '{ print $2 }'); do
		path=${path#"$p"/}
		case $path in
		*/certprobed.service) needle=PREFIX/lib/systemd/system/certprobed.service ;;
		share/man/man1/*) needle=PREFIX/share/man/man1/ ;;
		share/man/man[58]/*) needle=${path#share/man/}; needle=${needle%%/*}/ ;;
		share/doc/certprobe/prometheus/*) needle=PREFIX/share/doc/certprobe/prometheus/ ;;
		*) needle=PREFIX/$path ;;
		esac
		grep -qF "$needle" "$TMP/readme" || { echo "       | README does not say $needle"; bad=1; }
	done
	return $bad
}

CONFIGURED=$(cache CMAKE_INSTALL_PREFIX)
n=0
for prefix in "$CONFIGURED" /usr; do
	n=$((n + 1))
	ROOT=$TMP/root$n
	args=()
	[ "$prefix" = "$CONFIGURED" ] || args=(--prefix "$prefix")
	echo "# DESTDIR=ROOT cmake --install ${args[*]:-(configured prefix $prefix)}"
	check "cmake --install succeeds" quiet env DESTDIR="$ROOT" cmake --install "$BUILD" "${args[@]}" ||
		continue
	check "$prefix: every file in place, mode and content" files_ok "$ROOT" "$prefix"
	check "$prefix: nothing else installed, directories 0755" nothing_else "$ROOT" "$prefix"
	check "$prefix: unit ExecStart= is the installed $prefix/sbin/certprobed, rest unchanged" \
		unit_ok "$ROOT" "$prefix"
	check "$prefix: the README names each destination" readme_ok "$prefix"
	check "$prefix: the example configuration passes the installed certprobe check-config" \
		quiet "$ROOT$prefix/bin/certprobe" check-config "$ROOT$prefix/share/doc/certprobe/examples/certprobe.yaml"
	case $prefix in
	/usr | /usr/local) ;;
	*) continue ;; # systemd looks for certprobe.conf only below /usr and /usr/local
	esac
	mkdir -p "$ROOT/etc"
	if have systemd-sysusers; then
		check "$prefix: systemd-sysusers --root finds certprobe.conf and creates the user" \
			sh -c 'systemd-sysusers --root="$1" certprobe.conf >"$2" 2>&1 &&
				grep -q "^certprobe:" "$1/etc/passwd" || { sed "s/^/       | /" "$2"; exit 1; }' \
			sh "$ROOT" "$TMP/out"
	fi
	if have systemd-tmpfiles; then
		# not root: only the chown may fail
		check "$prefix: systemd-tmpfiles --root finds certprobe.conf and creates /var/lib/certprobe" \
			sh -c 'systemd-tmpfiles --root="$1" --create certprobe.conf >"$2" 2>&1
				[ "$(stat -c %a "$1/var/lib/certprobe" 2>/dev/null)" = 750 ] || { sed "s/^/       | /" "$2"; exit 1; }' \
			sh "$ROOT" "$TMP/out"
	fi
done

finish
