#!/bin/sh
# clang-tidy (checks in .clang-tidy) over the product code: agent/ and
# plugins/ without their tests. Fails when it finds anything.
# usage: tidy.sh BUILD_DIR   (a configured build with compile_commands.json)
set -eu

root=$(cd "$(dirname "$0")/.." && pwd)
build="$1"
report=$(mktemp)
trap 'rm -f "$report"' EXIT
run-clang-tidy -quiet -p "$build" "^$root/(agent|plugins)/(?!.*/tests/).*\\.c\$" 2>&1 |
	sed 's/\x1b\[[0-9;]*m//g' >"$report" || true
if grep -E '(warning|error): ' "$report" | grep -v '/tests/' >/dev/null; then
	grep -E -A3 '(warning|error): ' "$report" | grep -v '^--$'
	echo "tidy: findings above (fix them, or justify with NOLINT(check) and a reason)" >&2
	exit 1
fi
echo "tidy: no findings in agent/ and plugins/"
