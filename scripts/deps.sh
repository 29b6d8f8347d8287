#!/bin/sh
# Install the Debian 12 packages iocagent needs: to build it, to run the demo
# and the benchmarks (motion: bench/camera's comparison with Debian's daemon),
# to build its Debian package (scripts/package.sh), or (with "test") to run
# the whole test suite. Run as root. Idempotent: only missing packages are
# fetched.
set -eu

build="build-essential cmake pkg-config libmosquitto-dev libconfig-dev libsystemd-dev
libcjson-dev libmodbus-dev zlib1g-dev libavformat-dev libavcodec-dev libavutil-dev
libswscale-dev libssl-dev libsqlite3-dev"
demo="mosquitto mosquitto-clients python3-paho-mqtt ffmpeg gstreamer1.0-rtsp
gir1.2-gst-rtsp-server-1.0 python3-gi python3-gst-1.0 gstreamer1.0-plugins-base
gstreamer1.0-plugins-good gstreamer1.0-plugins-bad motion"
test="libcmocka-dev python3-jsonschema clang libclang-rt-14-dev libfuzzer-14-dev openssl
socat systemd valgrind shellcheck procps iproute2 rabbitmq-server clang-format clang-tidy
python3-pymodbus python3-serial python3-serial-asyncio man-db groff-base opencv-doc
ejabberd nats-server"
package="debhelper dpkg-dev fakeroot lintian"

# npm packages of "test" (the interoperability tests' aedes broker), installed into
# build/npm of this checkout (IOCA_NPM_DIR overrides), where the tests look for it.
npm_test="aedes@0.51.3"
root=$(cd "$(dirname "$0")/.." && pwd)
npm_dir="${IOCA_NPM_DIR:-$root/build/npm}"

# "deps.sh --print LIST" prints the packages of LIST instead of installing them.
print=""
if [ "${1:-}" = "--print" ]; then
	print=yes
	shift
fi

case "${1:-build}" in
build) wanted="$build" ;;
demo) wanted="$build $demo" ;;
package) wanted="$build $package" ;;
test) wanted="$build $demo $test $package" ;;
*)
	echo "usage: $0 [--print] [build|demo|package|test]" >&2
	exit 64
	;;
esac

if [ -n "$print" ]; then
	# shellcheck disable=SC2086 # one package per line
	printf '%s\n' $wanted
	exit 0
fi

missing=""
for pkg in $wanted; do
	status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
	case "$status" in
	*"install ok installed"*) ;;
	*) missing="$missing $pkg" ;;
	esac
done

if [ -n "$missing" ]; then
	echo "installing:$missing"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	# shellcheck disable=SC2086 # word splitting of the package list is intended
	apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi

case " $missing " in
*" ejabberd "*)
	# the package starts a system ejabberd (XMPP ports and MQTT on 1883) where
	# services may start; the tests run their own on private ports
	if [ -x /etc/init.d/ejabberd ]; then
		/etc/init.d/ejabberd stop >/dev/null 2>&1 || true
	fi
	if command -v systemctl >/dev/null && [ -d /run/systemd/system ]; then
		systemctl disable --now ejabberd >/dev/null 2>&1 || true
	fi
	;;
esac

if [ "${1:-build}" = test ]; then
	if ! command -v npm >/dev/null; then
		echo "installing: nodejs npm"
		export DEBIAN_FRONTEND=noninteractive
		apt-get update -qq
		apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null ||
			echo "deps.sh: nodejs/npm could not be installed" >&2
	fi
	command -v npm >/dev/null || npm_test=""
	for spec in $npm_test; do
		name=${spec%@*}
		version=${spec##*@}
		have=$(sed -n 's/^ *"version": *"\([^"]*\)".*/\1/p' \
			"$npm_dir/node_modules/$name/package.json" 2>/dev/null || true)
		if [ "$have" != "$version" ]; then
			echo "installing (npm, $npm_dir): $spec"
			# a failure leaves the test that needs it to report it, not the whole run
			npm install --prefix "$npm_dir" --no-audit --no-fund \
				--loglevel=error "$spec" >/dev/null ||
				echo "deps.sh: npm install $spec failed" >&2
		fi
	done
fi
