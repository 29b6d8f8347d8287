#!/bin/sh
# Build iocagent and run the whole test suite: its Debian packages (checked by
# lintian, then installed by a test), unit and integration tests on the normal
# build, the same under AddressSanitizer + UndefinedBehaviorSanitizer, then
# each fuzz target briefly. It first checks that every C file matches
# .clang-format, and after the normal build that clang-tidy (.clang-tidy,
# scripts/tidy.sh) finds nothing in agent/ and plugins/: a finding fails the
# suite. Installs its own Debian packages. Run as root
# from anywhere; builds go to build/ at the top of the checkout.
set -eu

root=$(cd "$(dirname "$0")/.." && pwd)
build="${IOCA_BUILD_ROOT:-$root/build}"
fuzz_seconds="${IOCA_FUZZ_SECONDS:-10}"
jobs=2

"$root/scripts/deps.sh" test

echo "== format (.clang-format)"
"$root/scripts/format.sh"

echo "== build (RelWithDebInfo, -Werror)"
cmake -S "$root" -B "$build/release" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DIOCA_WERROR=ON \
	-DCMAKE_EXPORT_COMPILE_COMMANDS=ON >/dev/null
cmake --build "$build/release" -j"$jobs"

echo "== clang-tidy (.clang-tidy, agent/ and plugins/ without tests)"
"$root/scripts/tidy.sh" "$build/release"

echo "== Debian packages (dpkg-buildpackage, lintian)"
IOCA_JOBS="$jobs" "$root/scripts/package.sh" "$build/package"

echo "== tests"
(cd "$build/release" && IOCA_DEB_DIR="$build/package" ctest --output-on-failure -j"$jobs")

echo "== build (ASan + UBSan)"
cmake -S "$root" -B "$build/sanitize" -DCMAKE_BUILD_TYPE=Debug -DIOCA_SANITIZE=ON >/dev/null
cmake --build "$build/sanitize" -j"$jobs"

echo "== tests under ASan + UBSan"
(cd "$build/sanitize" &&
	ASAN_OPTIONS="abort_on_error=1:detect_leaks=1" \
		UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1" \
		ctest --output-on-failure -j"$jobs" -LE nosanitize)

echo "== fuzz targets (${fuzz_seconds}s each)"
CC=clang cmake -S "$root" -B "$build/fuzz" -DCMAKE_BUILD_TYPE=Debug -DIOCA_FUZZ=ON \
	-DBUILD_TESTING=OFF >/dev/null
cmake --build "$build/fuzz" -j"$jobs"
"$root/scripts/fuzz.sh" "$build/fuzz" "$fuzz_seconds"
