#!/bin/sh
# Build the Debian packages of iocagent (iocagent_<version>_<arch>.deb and
# iocagent-dev_<version>_all.deb) with dpkg-buildpackage from a copy of the
# checkout, so the checkout stays clean, then check them with lintian, which
# fails the script on any error. Installs its Debian packages (deps.sh
# package). Output: the .deb, .changes and .buildinfo files, build.log and
# lintian.txt in OUTDIR.
# usage: package.sh [OUTDIR]     (default: build/package of the checkout)
set -eu

root=$(cd "$(dirname "$0")/.." && pwd)
out="${1:-${IOCA_BUILD_ROOT:-$root/build}/package}"
jobs="${IOCA_JOBS:-2}"

"$root/scripts/deps.sh" package

version=$(sed -n 's/^project(iocagent VERSION \([0-9.]*\).*/\1/p' "$root/CMakeLists.txt")
deb_version=$(dpkg-parsechangelog -l "$root/debian/changelog" -S Version)
if [ "$version" != "$deb_version" ]; then
	echo "package: CMakeLists.txt has version $version, debian/changelog $deb_version" >&2
	exit 1
fi
arch=$(dpkg --print-architecture)

# Every package the build needs (deps.sh build) must be a Build-Depends.
build_depends=$(perl -MDpkg::Control::Info -e \
	'print Dpkg::Control::Info->new($ARGV[0])->get_source->{"Build-Depends"}' \
	"$root/debian/control" | tr ',' '\n' | sed 's/[[:space:]]*(.*//; s/[[:space:]]//g')
for pkg in $("$root/scripts/deps.sh" --print build); do
	[ "$pkg" = build-essential ] && continue # implied by Debian policy
	if ! printf '%s\n' "$build_depends" | grep -qx "$pkg"; then
		echo "package: $pkg (scripts/deps.sh build) is missing from Build-Depends in debian/control" >&2
		exit 1
	fi
done

mkdir -p "$out"
out=$(cd "$out" && pwd)
rm -rf "$out/src"
rm -f "$out"/iocagent*_"$version"_*.deb "$out"/iocagent_"$version"_*.changes \
	"$out"/iocagent_"$version"_*.buildinfo
src="$out/src/iocagent-$version"
mkdir -p "$src"
# The tree without builds, packaging leftovers and git metadata.
tar -C "$root" --exclude=./build --exclude=./.git --exclude='./obj-*' \
	--exclude=./debian/.debhelper --exclude=./debian/tmp -cf - . | tar -C "$src" -xf -

echo "== dpkg-buildpackage -b (log: $out/build.log)"
if ! (cd "$src" && DEB_BUILD_OPTIONS="parallel=$jobs ${DEB_BUILD_OPTIONS:-}" \
	dpkg-buildpackage -b -us -uc) >"$out/build.log" 2>&1; then
	tail -n 60 "$out/build.log"
	echo "package: dpkg-buildpackage failed" >&2
	exit 1
fi
for f in "$out/src"/*.deb "$out/src"/*.changes "$out/src"/*.buildinfo; do
	mv "$f" "$out/"
done
rm -rf "$out/src"

changes="$out/iocagent_${version}_${arch}.changes"
echo "== lintian $changes"
status=0
lintian --fail-on error --display-info "$changes" >"$out/lintian.txt" 2>&1 || status=$?
cat "$out/lintian.txt"
if [ "$status" -ne 0 ]; then
	echo "package: lintian found errors" >&2
	exit 1
fi
ls -l "$out"/*.deb
