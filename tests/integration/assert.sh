# Assertions for integration tests. Source after tests/lab/lib.sh (or, for check and
# finish alone, without it).
# check DESC CMD...: runs CMD, prints ok/FAIL and counts; finish prints the counts and
# fails if any check failed.
# probe NAME CONFIG [args]: runs certprobe run --json, keeps stdout in $OUT, stderr
# in $ERR, exit code in $RC; then expect_* check fields of the first result, and a
# failing check shows them.
PASS=0 FAIL=0 PROBED=0

probe() {
	local _cfg=$1
	shift
	PROBED=1
	RC=0
	"$BIN/certprobe" run -j -c "$_cfg" "$@" >"$LAB/out.json" 2>"$LAB/err.txt" || RC=$?
	OUT=$(cat "$LAB/out.json")
	ERR=$(cat "$LAB/err.txt")
}

field() {
	printf '%s' "$OUT" | jq -r ".[0].$1" 2>/dev/null
}

check() {
	local desc=$1
	shift
	if "$@"; then
		PASS=$((PASS + 1))
		echo "ok   - $desc"
	else
		FAIL=$((FAIL + 1))
		echo "FAIL - $desc"
		[ "$PROBED" = 1 ] || return 1
		echo "       exit=$RC status=$(field status) detail=$(field error_detail)"
		[ -n "$ERR" ] && printf '       stderr: %s\n' "$(printf '%s' "$ERR" | head -5)"
		return 1
	fi
}

# expect CASE STATUS EXIT: status code and exit code; diagnosis present when failing
expect() {
	check "$1: status $2" [ "$(field status)" = "$2" ]
	check "$1: exit $3" [ "$RC" = "$3" ]
	if [ "$2" != ok ]; then
		check "$1: has a diagnosis" [ -n "$(field diagnosis | grep -v '^null$')" ]
	fi
}

has_finding() {
	printf '%s' "$OUT" | jq -e ".[0].findings[] | select(.status == \"$1\")" >/dev/null
}

expect_finding() {
	check "$1: finding $2" has_finding "$2"
}

# jqtest FILTER: the filter is true for the output
jqtest() {
	printf '%s' "$OUT" | jq -e "$1" >/dev/null
}

# step_detail NAME: the detail of the first step called NAME
step_detail() {
	printf '%s' "$OUT" | jq -r ".[0].steps[] | select(.name==\"$1\") | .detail" | head -1
}

contains() { # HAYSTACK NEEDLE
	case "$1" in *"$2"*) return 0 ;; *) return 1 ;; esac
}

# write_config FILE URL [extra yaml lines for the transaction...]; its name is $TXN_NAME (t)
write_config() {
	local _file=$1 _url=$2 l
	shift 2
	{
		echo "probe: {state_dir: $LAB/state}"
		echo "defaults: {timeout: ${TIMEOUT:-10s}, pending: {poll_interval: 1s, max_wait: 5s}}"
		echo "transactions:"
		echo "  - name: ${TXN_NAME:-t}"
		echo "    type: enrollment"
		echo "    protocol: scep"
		echo "    url: $_url"
		echo "    subject: CN=certprobe-test,O=Example"
		for l in "$@"; do echo "    $l"; done
	} >"$_file"
}

# have CMD: CMD is on PATH
have() { command -v "$1" >/dev/null 2>&1; }

# quiet CMD...: run it silently; on failure show its output, indented, and fail
quiet() {
	local _out
	_out=$("$@" 2>&1) && return 0
	printf '%s\n' "$_out" | sed 's/^/       | /'
	return 1
}

finish() {
	echo "$PASS passed, $FAIL failed"
	[ "$FAIL" -eq 0 ]
}

# until_true SECONDS CMD...: poll CMD every 0.1 s until it holds; false when it never did
until_true() {
	local n=0 max=$(($1 * 10))
	shift
	until "$@" >/dev/null 2>&1; do
		n=$((n + 1))
		[ "$n" -lt "$max" ] || return 1
		sleep 0.1
	done
}
