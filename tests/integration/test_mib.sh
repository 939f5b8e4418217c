#!/bin/sh
# CERTPROBE-MIB against the code it describes: smilint -l 6 prints nothing (it exits 0
# even on errors: the output is the verdict), snmptranslate loads it, the CertprobeReason
# enumeration is what scripts/gen-mib makes of the status table, every SNMP column of the
# metric table is the MIB's column of that name, and the root OID the subagent serves is
# the MIB's. Needs the IETF modules (../shared/ietf-mibs, or CERTPROBE_SMIPATH); skips
# the lint without them.
set -u
SRCDIR=${SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
BIN=${BIN:-$SRCDIR/build/bin}
. "$SRCDIR/tests/integration/assert.sh"
MIB=$SRCDIR/mibs/CERTPROBE-MIB.txt
IETF=${CERTPROBE_SMIPATH:-$SRCDIR/../shared/ietf-mibs}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

check "the enumeration is generated from the status table" \
	"$SRCDIR/scripts/gen-mib" --check "$BIN/mib_gen"

# every column of the metric table: "OBJECT-TYPE ... ::= { ENTRY COL }" in the MIB
columns_match() {
	"$BIN/mib_gen" columns >"$TMP/cols" || return 1
	[ -s "$TMP/cols" ] || return 1
	awk '
		NR == FNR { want[$1] = $2 " " $3; next }
		/^[a-zA-Z][A-Za-z0-9]* +OBJECT-TYPE/ { obj = $1 }
		/^ *::= *\{/ && obj != "" {
			gsub(/[{}]/, ""); sub(/^ *::= */, "")
			split($0, a, " "); got[obj] = a[1] " " a[2]; obj = ""
		}
		END {
			bad = 0
			for (o in want) if (got[o] != want[o]) {
				printf "  %s: code says { %s }, MIB says { %s }\n", o, want[o], got[o]; bad = 1
			}
			exit bad
		}' "$TMP/cols" "$MIB"
}
check "every SNMP column of the metric table sits where the MIB says" columns_match

if [ ! -f "$IETF/SNMPv2-SMI.txt" ]; then
	echo "skip - no IETF MIB modules at $IETF (set CERTPROBE_SMIPATH): no lint"
	finish
	exit $?
fi
SMIPATH="$IETF:/usr/share/snmp/mibs:$SRCDIR/mibs"
lint=$(SMIPATH=$SMIPATH smilint -c /dev/null -l 6 -s -m "$MIB" 2>&1)
check "smilint -l 6 is silent" [ -z "$lint" ]
[ -z "$lint" ] || printf '%s\n' "$lint" | head -20

tr_oid() {
	MIBS=CERTPROBE-MIB MIBDIRS=$SMIPATH SNMP_PERSISTENT_DIR=$TMP/persist SNMPCONFPATH=$TMP \
		snmptranslate -On "CERTPROBE-MIB::$1" 2>/dev/null
}
root=$(tr_oid certprobeMIB)
check "snmptranslate loads it (certprobeMIB is $root)" [ -n "$root" ]
check "the subagent serves the MIB's root" [ "$root" = "$("$BIN/mib_gen" root)" ]
check "notifications sit under certprobeMIB.0" \
	[ "$(tr_oid certprobeEndpointStateChange)" = "$root.0.1" ]
finish
