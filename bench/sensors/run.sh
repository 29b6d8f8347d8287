#!/bin/sh
# Sensor benchmarks: builds a Release tree and runs the in-process Modbus
# benchmark, then the iocagent vs collectd comparison (full agent, real
# mosquitto, Debian collectd-core). Figures go to stdout; copy them into the
# "Sensors" section of docs/PERFORMANCE.md.
#
#   bench/sensors/run.sh [BUILD_DIR] [SECONDS]
set -eu

src=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-"$src/../build-bench-sensors"}
seconds=${2:-60}

cmake -S "$src" -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build" -j2 --target bench_modbus plugin_modbus ioca_modbus_server iocagent >/dev/null

echo "== in-process: modbus plugin vs bare libmodbus loop"
"$build/bench/sensors/bench_modbus" "$build/tests/tools/ioca_modbus_server" "$build/plugins" "$seconds"
echo "== full agent vs collectd"
/usr/bin/python3 "$src/bench/sensors/agent_vs_collectd.py" "$build" "$seconds" 30
