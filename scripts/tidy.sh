#!/bin/sh
# clang-tidy (checks in .clang-tidy) over the product code: agent/ and
# plugins/ without their tests. Fails when it finds anything, and when it
# cannot run (no run-clang-tidy, no compile_commands.json).
# usage: tidy.sh BUILD_DIR   (a build configured with -DCMAKE_EXPORT_COMPILE_COMMANDS=ON)
set -eu

root=$(cd "$(dirname "$0")/.." && pwd)
build="${1:?usage: tidy.sh BUILD_DIR}"
if ! command -v run-clang-tidy >/dev/null; then
	echo "tidy: run-clang-tidy not found (Debian package clang-tidy: scripts/deps.sh test)" >&2
	exit 1
fi
if [ ! -s "$build/compile_commands.json" ]; then
	echo "tidy: no $build/compile_commands.json (configure with -DCMAKE_EXPORT_COMPILE_COMMANDS=ON)" >&2
	exit 1
fi
report=$(mktemp)
trap 'rm -f "$report"' EXIT
status=0
run-clang-tidy -quiet -p "$build" "^$root/(agent|plugins)/(?!.*/tests/).*\\.c\$" >"$report" 2>&1 ||
	status=$?
sed -i 's/\x1b\[[0-9;]*m//g' "$report"
if grep -E '(warning|error): ' "$report" | grep -v '/tests/' >/dev/null; then
	grep -E -A3 '(warning|error): ' "$report" | grep -v '^--$'
	echo "tidy: findings above (fix them, or justify with NOLINT(check) and a reason)" >&2
	exit 1
fi
if [ "$status" -ne 0 ]; then
	# no finding, yet clang-tidy or its runner failed (a crash, a Python error)
	tail -20 "$report" >&2
	echo "tidy: run-clang-tidy exited with status $status" >&2
	exit 1
fi
echo "tidy: no findings in agent/ and plugins/"
