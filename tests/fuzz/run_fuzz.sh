#!/bin/sh
# Smoke-run one fuzz target: libFuzzer binaries fuzz for a few seconds from the seed
# corpus (CERTPROBE_FUZZ_SECONDS, default 20); replay builds just replay the corpus.
bin=$1 corpus=$2
[ -d "$corpus" ] || { echo "no corpus at $corpus"; exit 1; }
if "$bin" -help=1 2>&1 | grep -q libFuzzer; then
	work=$(mktemp -d)
	trap 'rm -rf "$work"' EXIT
	cp "$corpus"/* "$work"/ 2>/dev/null
	exec "$bin" -max_total_time="${CERTPROBE_FUZZ_SECONDS:-20}" -max_len=65536 -rss_limit_mb=1024 "$work"
fi
exec "$bin" "$corpus"
