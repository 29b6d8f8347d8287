#!/usr/bin/python3
"""Spool benchmark against a live broker (not a test).

    /usr/bin/python3 bench/spool/bench_spool_e2e.py --build BUILD_DIR [--messages N] [--backlog M]

1. Spooled throughput: the agent with one sim instance at full rate (rate =
   1e7, count = N, max_rate = 0) through worker -> core -> spool -> mosquitto
   at QoS 1, for spool.fsync = always, interval and never, against the raw
   libmosquitto QoS 1 publisher of bench/mqtt (same message size, same
   in-flight window) in the same run on the same broker. Runs alternate
   raw, always, interval, never; RUNS rounds; means.
2. Backlog drain: the agent spools M events while no broker listens, then
   the broker starts and the drain rate is measured (over 95 % of M); ratio
   to the raw publisher's rate of the same run.

Every rate is measured the same way: one mosquitto_sub (QoS 0) on the
broker, (received - 1) / (last arrival - first arrival). The broker queues
without limit (max_queued_messages 0) so the subscriber loses nothing.
"""
import argparse
import glob
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from benchlib import free_port, wait_port  # noqa: E402

AGENT_ID = "bench"
WINDOW = 64
RUNS = 2
MODES = ("always", "interval", "never")
RUN_TIMEOUT_S = 300
SUB_READY_S = 0.5
DRAIN_MEASURED = 0.95  # share of the backlog the drain rate is measured over


class Broker:
    def __init__(self, workdir, port):
        self.port = port
        self.conf = os.path.join(workdir, f"mosquitto-{port}.conf")
        with open(self.conf, "w", encoding="utf-8") as f:
            f.write(f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n"
                    "max_queued_messages 0\nmax_queued_bytes 0\n")
            if os.geteuid() == 0:
                f.write("user root\n")
        self.proc = subprocess.Popen(["/usr/sbin/mosquitto", "-c", self.conf],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_port(port)

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=10)


class Subscriber:
    def __init__(self, port, topic, count, workdir):
        self.path = os.path.join(workdir, f"sub-{time.monotonic_ns()}.txt")
        self.out = open(self.path, "w+", encoding="utf-8")
        self.proc = subprocess.Popen(["mosquitto_sub", "-h", "127.0.0.1", "-p", str(port), "-t", topic,
                                      "-q", "0", "-C", str(count), "-W", str(RUN_TIMEOUT_S),
                                      "-F", "%U %l"], stdout=self.out)
        time.sleep(SUB_READY_S)

    def result(self):
        self.proc.wait(timeout=RUN_TIMEOUT_S + 10)
        self.out.seek(0)
        rows = [line.split() for line in self.out.read().splitlines() if line.strip()]
        self.out.close()
        if len(rows) < 2:
            raise RuntimeError("the subscriber saw fewer than 2 messages")
        t0, t1 = float(rows[0][0]), float(rows[-1][0])
        return {"received": len(rows), "seconds": t1 - t0, "rate": (len(rows) - 1) / (t1 - t0),
                "mean_bytes": statistics.mean(int(r[1]) for r in rows)}


def agent_config(path, plugin_dir, state, port, fsync, messages):
    with open(path, "w", encoding="utf-8") as f:
        f.write(f'agent: {{ id = "{AGENT_ID}"; plugin_dir = "{plugin_dir}"; state_dir = "{state}"; '
                'log_level = "warning"; };\n')
        f.write(f'mqtt: {{ brokers = [ "mqtt://127.0.0.1:{port}" ]; qos = 1; topic_prefix = "ioc"; '
                'reconnect_max = 1; };\n')
        # drain_rate = 0: the flat-out drain is what is measured here
        f.write(f'spool: {{ inflight = {WINDOW}; fsync = "{fsync}"; drain_rate = 0; }};\n')
        f.write(f'instances = ( {{ name = "sim0"; plugin = "sim"; kind = "event"; rate = 1e7; '
                f'count = {messages}; max_rate = 0.0; }} );\n')


def start_agent(binary, conf, logpath):
    log = open(logpath, "a", encoding="utf-8")
    proc = subprocess.Popen([binary, "-c", conf], stdout=log, stderr=subprocess.STDOUT)
    log.close()
    return proc


def stop_agent(proc):
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def run_agent(args, workdir, broker, fsync, tag):
    d = os.path.join(workdir, tag)
    os.makedirs(d)
    conf = os.path.join(d, "agent.conf")
    agent_config(conf, args.plugin_dir, os.path.join(d, "state"), broker.port, fsync, args.messages)
    sub = Subscriber(broker.port, f"ioc/{AGENT_ID}/sim0/#", args.messages, workdir)
    proc = start_agent(args.binary, conf, os.path.join(d, "agent.log"))
    res = sub.result()
    stop_agent(proc)
    shutil.rmtree(os.path.join(d, "state"), ignore_errors=True)
    return res


def run_raw(args, workdir, broker, size):
    sub = Subscriber(broker.port, "bench/raw", args.messages, workdir)
    out = subprocess.run([args.raw, "-p", str(broker.port), "-n", str(args.messages), "-s", str(size),
                          "-w", str(WINDOW), "-t", "bench/raw"], check=True, capture_output=True,
                         text=True, timeout=RUN_TIMEOUT_S).stdout
    res = sub.result()
    res["publisher_rate"] = float(dict(kv.split("=") for kv in out.split()[1:])["rate"])
    return res


def spool_bytes(state):
    return sum(os.path.getsize(p) for p in glob.glob(os.path.join(state, "spool", "*.seg")))


def run_backlog(args, workdir):
    """Spool M events with no broker, then start one and time the drain."""
    port = free_port()
    d = os.path.join(workdir, "backlog")
    os.makedirs(d)
    conf = os.path.join(d, "agent.conf")
    state = os.path.join(d, "state")
    agent_config(conf, args.plugin_dir, state, port, "interval", args.backlog)
    proc = start_agent(args.binary, conf, os.path.join(d, "agent.log"))
    t0 = time.monotonic()
    last, stable_since = -1, time.monotonic()
    while time.monotonic() - t0 < RUN_TIMEOUT_S:
        b = spool_bytes(state)
        if b != last:
            last, stable_since = b, time.monotonic()
        elif b > 0 and time.monotonic() - stable_since > 2.0:
            break
        time.sleep(0.2)
    fill_s = stable_since - t0
    broker = Broker(workdir, port)
    # The agent may connect and publish before this subscriber has subscribed
    # (it reconnects within a second of the broker starting): the first few
    # records can pass unseen, so the rate is taken over 95 % of the backlog.
    sub = Subscriber(port, f"ioc/{AGENT_ID}/sim0/#", int(args.backlog * DRAIN_MEASURED), workdir)
    res = sub.result()
    res["fill_s"] = fill_s
    res["spool_bytes"] = last
    stop_agent(proc)
    return res, broker


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", required=True, help="CMake build directory")
    ap.add_argument("--messages", type=int, default=50000)
    ap.add_argument("--backlog", type=int, default=200000)
    args = ap.parse_args()
    args.binary = os.path.join(args.build, "agent", "iocagent")
    args.plugin_dir = os.path.join(args.build, "plugins")
    args.raw = os.path.join(args.build, "bench", "mqtt", "raw_publisher")
    for p in (args.binary, args.raw):
        if not os.access(p, os.X_OK):
            raise SystemExit(f"missing {p}: build iocagent, plugin_sim and raw_publisher first")

    workdir = tempfile.mkdtemp(prefix="bench-spool-e2e-")
    broker = Broker(workdir, free_port())
    try:
        results = {m: [] for m in ("raw",) + MODES}
        size = None
        for rnd in range(RUNS):
            for mode in MODES:
                r = run_agent(args, workdir, broker, mode, f"{mode}{rnd}")
                results[mode].append(r)
                size = size or int(round(r["mean_bytes"]))
                print(f"agent fsync={mode:8s} run {rnd}: {r['received']} msgs of {r['mean_bytes']:.0f} B, "
                      f"{r['rate']:.0f} msg/s", flush=True)
            r = run_raw(args, workdir, broker, size)
            results["raw"].append(r)
            print(f"raw publisher      run {rnd}: {r['received']} msgs of {size} B, {r['rate']:.0f} msg/s "
                  f"(publisher's own count {r['publisher_rate']:.0f} msg/s)", flush=True)
        broker.stop()
        raw = statistics.mean(r["rate"] for r in results["raw"])
        print(f"\n| path | msg/s (mean of {RUNS}) | ratio to raw QoS 1 publisher |\n|---|---|---|")
        print(f"| raw libmosquitto publisher | {raw:.0f} | 1.00 |")
        for mode in MODES:
            rate = statistics.mean(r["rate"] for r in results[mode])
            print(f"| agent, spool.fsync = {mode} | {rate:.0f} | {rate / raw:.2f} |")

        bl, broker2 = run_backlog(args, workdir)
        raw2 = run_raw(args, workdir, broker2, size)
        broker2.stop()
        print(f"\nbacklog: {args.backlog} events spooled in {bl['fill_s']:.1f} s with no broker "
              f"({bl['spool_bytes'] / args.backlog:.0f} spool bytes per event); {bl['received']} arrived in "
              f"{bl['seconds']:.2f} s = {bl['rate']:.0f} events/s; raw publisher same broker "
              f"{raw2['rate']:.0f} msg/s; ratio {bl['rate'] / raw2['rate']:.2f}")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
