#!/bin/sh
# Run every fuzz target of a fuzz build (cmake -DIOCA_FUZZ=ON, CC=clang) for
# a while, each from its seed corpus when it has one. Fails on the first crash.
# usage: fuzz.sh BUILD_DIR [SECONDS]
set -eu

build="$1"
seconds="${2:-20}"
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

count=0
for target in "$build"/fuzz/*; do
	[ -x "$target" ] || continue
	name=$(basename "$target")
	corpus="$work/$name"
	mkdir -p "$corpus"
	# seeds live in a folder <name>.corpus anywhere in the source tree
	seeds=$(find "$root/agent" "$root/plugins" "$root/tests" -type d -name "$name.corpus" | head -n 1)
	if [ -n "$seeds" ]; then
		cp -r "$seeds"/. "$corpus"/
	fi
	# known leaks of libraries (not ours) are listed in <name>.lsan.supp beside the seeds
	supp=$(find "$root/agent" "$root/plugins" "$root/tests" -name "$name.lsan.supp" | head -n 1)
	if [ -n "$supp" ]; then
		export LSAN_OPTIONS="suppressions=$supp"
	else
		unset LSAN_OPTIONS
	fi
	echo "fuzz: $name (${seconds}s)"
	IOCA_PLUGIN_DIR="$build/plugins" "$target" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
		-artifact_prefix="$work/$name-" "$corpus" >"$work/$name.log" 2>&1 || {
		tail -n 40 "$work/$name.log"
		echo "fuzz: $name FAILED"
		exit 1
	}
	tail -n 1 "$work/$name.log"
	count=$((count + 1))
done
echo "fuzz: $count targets ran without a finding"
