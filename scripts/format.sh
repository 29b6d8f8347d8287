#!/bin/sh
# Check (default) or apply (--fix) .clang-format on every C file of the tree.
# usage: format.sh [--fix]
set -eu

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
files=$(git ls-files '*.c' '*.h')
if [ "${1:-}" = "--fix" ]; then
	# shellcheck disable=SC2086 # one argument per file is intended
	clang-format -i $files
	exit 0
fi
report=$(mktemp)
trap 'rm -f "$report"' EXIT
# shellcheck disable=SC2086
if ! clang-format --dry-run -Werror $files 2>"$report"; then
	grep -o '^[^:]*:[0-9]*:' "$report" | cut -d: -f1 | sort -u | sed 's/^/not formatted: /'
	echo "run scripts/format.sh --fix" >&2
	exit 1
fi
echo "format: $(echo "$files" | wc -l) files match .clang-format"
