#!/usr/bin/python3
"""First-line latency of `iocagent --test` against the cost of starting the
binary at all, measured in the same run.

For each round: the time from spawning `iocagent --test sim-1 -c CONF` to its
first JSON line on stdout (core start, config load, worker spawn, plugin load,
first telemetry), and as the baseline the time from spawning
`iocagent --version` to its line (exec, dynamic linking, libc start-up).
Prints the medians, the ratio and the worst round.

usage: bench_test_latency.py --build BUILD [--rounds 31]
"""
import argparse
import os
import statistics
import subprocess
import tempfile
import time

CONFIG = """agent: {{ id = "bench"; plugin_dir = "{plugins}"; state_dir = "{state}"; log_level = "warning"; }};
mqtt: {{ brokers = [ "mqtt://127.0.0.1:1" ]; }};
instances = ( {{ name = "sim-1"; plugin = "sim"; rate = 1.0; kind = "telemetry"; }} );
"""


def first_line_s(cmd):
    start = time.monotonic()
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    line = p.stdout.readline()
    elapsed = time.monotonic() - start
    p.stdout.close()
    rc = p.wait()
    if not line or rc != 0:
        raise SystemExit("%s: no line or exit %d" % (" ".join(cmd), rc))
    return elapsed


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", required=True)
    ap.add_argument("--rounds", type=int, default=31)
    a = ap.parse_args()
    binary = os.path.join(a.build, "agent", "iocagent")
    with tempfile.TemporaryDirectory(prefix="ioca-bench-probe-") as tmp:
        conf = os.path.join(tmp, "bench.conf")
        with open(conf, "w") as f:
            f.write(CONFIG.format(plugins=os.path.join(a.build, "plugins"),
                                  state=os.path.join(tmp, "state")))
        test, base = [], []
        for _ in range(a.rounds):  # interleaved, so load changes hit both alike
            base.append(first_line_s([binary, "--version"]))
            test.append(first_line_s([binary, "--test", "sim-1", "-c", conf]))
        if os.path.exists(os.path.join(tmp, "state")):
            raise SystemExit("--test created state_dir")
    mt, mb = statistics.median(test), statistics.median(base)
    print("rounds %d" % a.rounds)
    print("--version first line: median %.1f ms" % (mb * 1000))
    print("--test first line:    median %.1f ms, worst %.1f ms" % (mt * 1000, max(test) * 1000))
    print("ratio --test / --version (medians): %.1f" % (mt / mb))


if __name__ == "__main__":
    main()
