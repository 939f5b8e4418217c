#!/bin/sh
# Config corpus (Unbound 04-checkconf style): every good/*.yaml must pass
# `certprobe check-config`; every bad/NAME.yaml must exit 1 with stderr byte-equal to
# bad/NAME.expected. Usage: run_corpus.sh CERTPROBE_BINARY SOURCE_DIR
#
# The corpus is copied to a scratch tree with the same relative layout, so messages
# name "tests/config/bad/NAME.yaml" as in the .expected files, and every file is 0644
# whatever the checkout umask was (inline-secret-0644 depends on that mode).
set -u
bin=$1
src=$2
# both are used after cd: make them absolute
case $bin in /*) ;; *) bin=$(pwd)/$bin ;; esac
case $src in /*) ;; *) src=$(pwd)/$src ;; esac
[ -x "$bin" ] || { echo "run_corpus.sh: no certprobe binary at $bin"; exit 1; }
[ -d "$src/tests/config/good" ] || { echo "run_corpus.sh: no corpus under $src"; exit 1; }

work=$(mktemp -d) || exit 1
trap 'rm -rf "$work"' EXIT INT TERM
mkdir -p "$work/tree/tests/config" || exit 1
cp -R "$src/tests/config/good" "$src/tests/config/bad" "$work/tree/tests/config/" || exit 1
chmod 0644 "$work"/tree/tests/config/good/* "$work"/tree/tests/config/bad/*
cd "$work/tree" || exit 1

pass=0
fail=0
for f in tests/config/good/*.yaml; do
	"$bin" check-config "$f" >"$work/out" 2>"$work/err"
	rc=$?
	if [ "$rc" -eq 0 ]; then
		pass=$((pass + 1))
	else
		echo "FAIL $f: exit $rc, expected 0"
		cat "$work/err"
		fail=$((fail + 1))
	fi
done
for f in tests/config/bad/*.yaml; do
	expected=${f%.yaml}.expected
	if [ ! -f "$expected" ]; then
		echo "FAIL $f: no $expected"
		fail=$((fail + 1))
		continue
	fi
	"$bin" check-config "$f" >"$work/out" 2>"$work/err"
	rc=$?
	if [ "$rc" -ne 1 ]; then
		echo "FAIL $f: exit $rc, expected 1"
		cat "$work/err"
		fail=$((fail + 1))
	elif ! cmp -s "$expected" "$work/err"; then
		echo "FAIL $f: stderr differs from $expected"
		diff -u "$expected" "$work/err"
		fail=$((fail + 1))
	else
		pass=$((pass + 1))
	fi
done
echo "config corpus: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
