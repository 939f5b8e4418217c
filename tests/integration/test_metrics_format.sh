#!/bin/bash
# Exposition formats of the metrics renderer, checked by the real linters: the 0.0.4
# rendering passes `promtool check metrics` silently, the OpenMetrics rendering passes
# the strict parser of python3-prometheus-client, and both carry exactly the same
# series (no duplicates). The renderings come from `test_metrics --sample`.
# A missing tool prints a SKIP line and exits 0 (this ctest has no skip return code).
set -u
SRCDIR=${SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
BIN=${BIN:-$SRCDIR/build/bin}
GEN=$BIN/test_metrics
# shellcheck source-path=SCRIPTDIR source=assert.sh
. "$SRCDIR/tests/integration/assert.sh"

skip() {
	echo "SKIP: $* (test_metrics_format not run)"
	exit 0
}

if [ ! -x "$GEN" ]; then
	echo "FAIL - $GEN is not built"
	exit 1
fi
command -v promtool >/dev/null 2>&1 ||
	skip "promtool not found (apt-get install -y prometheus)"
PY=
for p in python3 /usr/bin/python3; do
	if command -v "$p" >/dev/null 2>&1 &&
		"$p" -c 'import prometheus_client.openmetrics.parser' 2>/dev/null; then
		PY=$p
		break
	fi
done
[ -n "$PY" ] ||
	skip "no python3 with prometheus_client (apt-get install -y python3-prometheus-client)"

TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

render() { # FILE [--openmetrics] [--empty]
	local out=$1
	shift
	"$GEN" --sample "$@" >"$out"
}
check "sample: renders 0.0.4" render "$TMP/sample.prom"
check "sample: renders OpenMetrics" render "$TMP/sample.om" --openmetrics
check "empty: renders 0.0.4" render "$TMP/empty.prom" --empty
check "empty: renders OpenMetrics" render "$TMP/empty.om" --openmetrics --empty

# promtool reads stdin only; it must exit 0 and print nothing
promtool_clean() {
	local out rc=0
	out=$(promtool check metrics <"$1" 2>&1) || rc=$?
	[ -n "$out" ] && printf '       %s\n' "$out" | head -20
	[ "$rc" -eq 0 ] && [ -z "$out" ]
}
promtool_rejects() {
	! promtool check metrics <"$1" >/dev/null 2>&1
}
check "sample: promtool check metrics (0.0.4) is clean" promtool_clean "$TMP/sample.prom"
check "empty: promtool check metrics (0.0.4) is clean" promtool_clean "$TMP/empty.prom"
# the linter is live: it rejects a counter without _total, and it cannot read
# OpenMetrics-only types (conventions §10 pitfall 6: so each rendering has its own linter)
printf '# HELP certprobe_bad h\n# TYPE certprobe_bad counter\ncertprobe_bad 1\n' >"$TMP/bad.prom"
check "promtool rejects a counter without _total" promtool_rejects "$TMP/bad.prom"
check "promtool rejects the OpenMetrics rendering (info type)" promtool_rejects "$TMP/sample.om"

# strict OpenMetrics parse, plus what neither linter checks: no series twice, and the
# two renderings agree series for series
om_check() { # PROM OM
	"$PY" - "$1" "$2" <<'EOF'
import sys
from prometheus_client.openmetrics.parser import text_string_to_metric_families as parse_om
from prometheus_client.parser import text_string_to_metric_families as parse_prom

prom_text = open(sys.argv[1], encoding="utf-8").read()
om_text = open(sys.argv[2], encoding="utf-8").read()

def series(families):
    out = []
    for f in families:
        for s in f.samples:
            out.append((s.name, tuple(sorted(s.labels.items())), float(s.value)))
    return out

try:
    om = series(parse_om(om_text))
except ValueError as e:
    print("       OpenMetrics parser: %s" % e)
    sys.exit(1)
prom = series(parse_prom(prom_text))
lines = sum(1 for l in om_text.splitlines() if not l.startswith("#"))
keys = [(n, l) for n, l, _ in prom]
if len(om) != lines:
    print("       %d sample lines, %d samples parsed (a duplicate was dropped)"
          % (lines, len(om)))
    sys.exit(1)
if len(set(keys)) != len(keys):
    print("       duplicate series in the 0.0.4 rendering")
    sys.exit(1)
if sorted(om) != sorted(prom):
    print("       the renderings differ: %s" % sorted(set(om) ^ set(prom))[:5])
    sys.exit(1)
EOF
}
om_rejects() {
	! "$PY" -c 'import sys
from prometheus_client.openmetrics.parser import text_string_to_metric_families as p
list(p(sys.stdin.read()))' <"$1" 2>/dev/null
}
check "sample: strict OpenMetrics parse, same series as 0.0.4" \
	om_check "$TMP/sample.prom" "$TMP/sample.om"
check "empty: strict OpenMetrics parse, same series as 0.0.4" \
	om_check "$TMP/empty.prom" "$TMP/empty.om"
grep -v '^# EOF$' "$TMP/sample.om" >"$TMP/noeof.om"
check "the OpenMetrics parser rejects a rendering without # EOF" om_rejects "$TMP/noeof.om"
check "the OpenMetrics parser rejects the 0.0.4 rendering" om_rejects "$TMP/sample.prom"

finish
