#!/bin/sh
# The iocagent demo: a real mosquitto broker, a real RTSP camera stream (a
# generated clip with a moving object, looping), simulated sensors, and a
# subscriber printing what arrives. Installs its Debian packages and builds
# first. Stops on Ctrl-C, or after DEMO_SECONDS seconds when that is set.
set -eu

root=$(cd "$(dirname "$0")/.." && pwd)
build="${IOCA_BUILD_ROOT:-$root/build}/release"
py=/usr/bin/python3

"$root/scripts/deps.sh" demo
echo "== building"
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DBUILD_TESTING=OFF >/dev/null
cmake --build "$build" -j2 >/dev/null

work=$(mktemp -d)
pids=""
cleanup() {
	trap - EXIT INT TERM
	for pid in $pids; do kill "$pid" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 0' INT TERM

free_port() {
	"$py" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

broker_port=$(free_port)
cat >"$work/mosquitto.conf" <<CONF
listener $broker_port 127.0.0.1
allow_anonymous true
CONF
mosquitto -c "$work/mosquitto.conf" >"$work/mosquitto.log" 2>&1 &
pids="$pids $!"

echo "== making the camera clip (motion from 4 s to 10 s of every 16 s loop)"
"$root/tests/tools/make_clip.sh" motion "$work/clip.mp4" -s 640x360 -r 15 -d 16 -a 60 -b 150
"$py" "$root/tests/tools/rtsp_server.py" --clip "$work/clip.mp4" --port 0 --path /cam1 \
	>"$work/rtsp.out" 2>"$work/rtsp.log" &
pids="$pids $!"
camera_url=""
for _ in $(seq 100); do
	camera_url=$(sed -n 's/^READY //p' "$work/rtsp.out")
	[ -n "$camera_url" ] && break
	sleep 0.1
done
[ -n "$camera_url" ] || { cat "$work/rtsp.log"; echo "demo: the RTSP server did not start" >&2; exit 1; }

sed -e "s#@BROKER_PORT@#$broker_port#" -e "s#@STATE_DIR@#$work/state#" \
	-e "s#@PLUGIN_DIR@#$build/plugins#" -e "s#@CAMERA_URL@#$camera_url#" \
	"$root/conf/demo.conf" >"$work/iocagent.conf"

echo "== broker mqtt://127.0.0.1:$broker_port, camera $camera_url"
echo "== subscriber output (topic prefix ioc/demo-agent), Ctrl-C to stop"
"$py" "$root/scripts/demo_subscriber.py" --port "$broker_port" &
pids="$pids $!"
sleep 0.3
"$build/agent/iocagent" -c "$work/iocagent.conf" 2>"$work/iocagent.log" &
agent=$!
pids="$agent $pids"

if [ -n "${DEMO_SECONDS:-}" ]; then
	sleep "$DEMO_SECONDS"
	kill -TERM "$agent"
	wait "$agent" || true
	sleep 0.5
else
	wait "$agent" || true
fi
echo "== agent log"
tail -n 20 "$work/iocagent.log"
