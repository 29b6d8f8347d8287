#!/usr/bin/python3
"""Archive CPU inside the running agent (not a test).

    /usr/bin/python3 bench/archive/bench_archive_agent.py --build BUILD_DIR [--seconds S]

The agent runs against a real mosquitto with one sim instance of 50 readings
(50 signals), publishing at QoS 1 with the archive on. Per-thread CPU of the
agent's core process comes from /proc/PID/task/TID/schedstat (nanoseconds):
the archive writer thread is named "ioca-archive", everything else in the
process is the rest of the agent. Two loads:
  1. the retention figure's load, one telemetry message of 50 readings a
     minute, for S seconds (default 180): the ratio of the writer thread's
     CPU to the whole core process's CPU over the same time;
  2. a stress load of 20 messages a second for S/6 seconds, same ratio.
The hand-off copy on the core thread (measured by bench_archive: under
2 us a message) counts on the agent's side here.
"""
import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from benchlib import free_port, wait_port  # noqa: E402

READINGS = 50
WARMUP_S = 3.0


def start_broker(workdir, port):
    conf = os.path.join(workdir, "mosquitto.conf")
    with open(conf, "w", encoding="utf-8") as f:
        f.write("listener %d 127.0.0.1\nallow_anonymous true\npersistence false\n" % port)
        if os.geteuid() == 0:
            f.write("user root\n")
    proc = subprocess.Popen(["/usr/sbin/mosquitto", "-c", conf], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    wait_port(port)
    return proc


def write_config(path, plugin_dir, state, port, rate):
    signals = ", ".join('{ name = "param_%02d"; unit = "ug/m3"; shape = "random_walk"; }' % i
                        for i in range(READINGS))
    with open(path, "w", encoding="utf-8") as f:
        f.write('agent: { id = "bench"; plugin_dir = "%s"; state_dir = "%s"; '
                'log_level = "warning"; };\n' % (plugin_dir, state))
        f.write('mqtt: { brokers = [ "mqtt://127.0.0.1:%d" ]; qos = 1; };\n' % port)
        f.write('instances = ( { name = "aq-1"; plugin = "sim"; kind = "telemetry"; '
                'rate = %r; signals = ( %s ); } );\n' % (rate, signals))


def thread_cpu_ns(pid):
    """{thread name: ns} of the process's threads (schedstat: on-CPU time)."""
    out = {}
    for tid in os.listdir("/proc/%d/task" % pid):
        try:
            with open("/proc/%d/task/%s/comm" % (pid, tid)) as f:
                name = f.read().strip()
            with open("/proc/%d/task/%s/schedstat" % (pid, tid)) as f:
                ns = int(f.read().split()[0])
        except OSError:
            continue
        out[name] = out.get(name, 0) + ns
    return out


def measure(binary, plugin_dir, workdir, port, rate, seconds):
    state = tempfile.mkdtemp(dir=workdir)
    conf = os.path.join(state, "iocagent.conf")
    write_config(conf, plugin_dir, state, port, rate)
    proc = subprocess.Popen([binary, "-c", conf], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        time.sleep(WARMUP_S)
        before = thread_cpu_ns(proc.pid)
        time.sleep(seconds)
        after = thread_cpu_ns(proc.pid)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=20)
    delta = {k: after.get(k, 0) - before.get(k, 0) for k in after}
    archive = delta.get("ioca-archive", 0)
    total = sum(delta.values())
    return archive, total


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", required=True)
    ap.add_argument("--seconds", type=float, default=180.0)
    args = ap.parse_args()
    binary = os.path.join(args.build, "agent", "iocagent")
    plugin_dir = os.path.join(args.build, "plugins")
    workdir = tempfile.mkdtemp(prefix="ioca-bench-archive-")
    port = free_port()
    broker = start_broker(workdir, port)
    try:
        for label, rate, secs in (("1 message/min (the retention figure's load)", 1.0 / 60,
                                   args.seconds),
                                  ("20 messages/s (stress)", 20.0, args.seconds / 6)):
            archive, total = measure(binary, plugin_dir, workdir, port, rate, secs)
            print("%s, %d readings each, %.0f s: archive writer %.4f CPU s, core process "
                  "%.4f CPU s; ratio archive/agent = %.3f" %
                  (label, READINGS, secs, archive / 1e9, total / 1e9,
                   archive / total if total else float("nan")))
    finally:
        broker.send_signal(signal.SIGTERM)
        broker.wait(timeout=10)
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
