#!/usr/bin/python3
"""Agent core benchmark (not a test): MQTT throughput against a raw libmosquitto
publisher measured in the same run against the same broker, core and worker
RSS with 4 sim instances, and start-to-READY time.

    /usr/bin/python3 bench/mqtt/bench_core.py --build BUILD_DIR [--messages N]

Throughput is measured the same way for both publishers: one mosquitto_sub
(QoS 0) counts the messages and the rate is (N-1) / (last arrival - first
arrival). The raw publisher sends messages of the agent's mean payload size
with the agent's in-flight window (spool.inflight) at QoS 1. The agent runs one
sim instance at full rate (rate = 1e7, count = N, max_rate = 0: no
per-instance limit) through worker -> core ->
spool -> broker at QoS 1. Runs alternate agent, raw, agent, raw; the ratio
uses the means. CPU seconds come from /proc/PID/stat (agent core and worker)
and getrusage (raw publisher).
"""
import argparse
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from benchlib import Broker  # noqa: E402

AGENT_ID = "bench"
WINDOW = 64
CLK_TCK = os.sysconf("SC_CLK_TCK")
SUB_READY_S = 0.5
READY_TIMEOUT_S = 10.0
RUN_TIMEOUT_S = 180
IDLE_SETTLE_S = 5.0
READY_RUNS = 5


def subscriber(port, topic, count, timeout_s):
    """mosquitto_sub writing arrival times to a file (a pipe could stall it)."""
    out = tempfile.TemporaryFile(mode="w+", encoding="ascii")
    proc = subprocess.Popen(["mosquitto_sub", "-h", "127.0.0.1", "-p", str(port), "-t", topic,
                             "-q", "0", "-C", str(count), "-W", str(timeout_s), "-F", "%U %l"],
                            stdout=out)
    time.sleep(SUB_READY_S)
    return proc, out


def sub_rate(sub):
    proc, out = sub
    proc.wait(timeout=RUN_TIMEOUT_S + 10)
    out.seek(0)
    rows = [line.split() for line in out.read().splitlines() if line.strip()]
    out.close()
    if len(rows) < 2:
        raise RuntimeError("the subscriber saw fewer than 2 messages")
    t0, t1 = float(rows[0][0]), float(rows[-1][0])
    sizes = [int(r[1]) for r in rows]
    return {"received": len(rows), "seconds": t1 - t0, "rate": (len(rows) - 1) / (t1 - t0),
            "mean_bytes": statistics.mean(sizes)}


def proc_cpu_s(pid):
    with open(f"/proc/{pid}/stat", encoding="ascii") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def proc_status_kib(pid, key):
    with open(f"/proc/{pid}/status", encoding="ascii") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0


def children(pid):
    try:
        with open(f"/proc/{pid}/task/{pid}/children", encoding="ascii") as f:
            return [int(x) for x in f.read().split()]
    except OSError:
        return []


class Agent:
    """The agent started with a NOTIFY_SOCKET this script owns."""

    def __init__(self, binary, plugin_dir, workdir, port, instances, tag):
        self.dir = os.path.join(workdir, tag)
        os.makedirs(os.path.join(self.dir, "state"), exist_ok=True)
        self.conf = os.path.join(self.dir, "agent.conf")
        with open(self.conf, "w", encoding="utf-8") as f:
            f.write(f'agent: {{ id = "{AGENT_ID}"; plugin_dir = "{plugin_dir}"; '
                    f'state_dir = "{self.dir}/state"; log_level = "warning"; }};\n')
            f.write(f'mqtt: {{ brokers = [ "mqtt://127.0.0.1:{port}" ]; qos = 1; '
                    f'topic_prefix = "ioc"; }};\n')
            f.write(f"spool: {{ inflight = {WINDOW}; }};\n")
            f.write("instances = (\n" + ",\n".join(instances) + "\n);\n")
        self.notify_path = os.path.join(self.dir, "notify.sock")
        self.notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.notify.bind(self.notify_path)
        env = dict(os.environ, NOTIFY_SOCKET=self.notify_path)
        env.pop("JOURNAL_STREAM", None)
        self.started = time.monotonic()
        self.log = open(os.path.join(self.dir, "agent.log"), "w", encoding="utf-8")
        self.proc = subprocess.Popen([binary, "-c", self.conf], env=env, stdout=self.log,
                                     stderr=subprocess.STDOUT)
        self.ready_s = self._wait_ready()

    def _wait_ready(self):
        end = self.started + READY_TIMEOUT_S
        while time.monotonic() < end:
            self.notify.settimeout(max(0.01, end - time.monotonic()))
            try:
                msg = self.notify.recv(4096).decode(errors="replace")
            except socket.timeout:
                break
            if "READY=1" in msg.split("\n"):
                return time.monotonic() - self.started
        raise RuntimeError(f"no READY=1 within {READY_TIMEOUT_S} s; see {self.dir}/agent.log")

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.notify.close()
        self.log.close()


def run_agent(args, binary, plugin_dir, workdir, broker, tag):
    sub = subscriber(broker.port, f"ioc/{AGENT_ID}/sim0/telemetry", args.messages, RUN_TIMEOUT_S)
    inst = [f'{{ name = "sim0"; plugin = "sim"; kind = "telemetry"; rate = 1e7; count = {args.messages}; '
            f'max_rate = 0.0; }}']
    agent = Agent(binary, plugin_dir, workdir, broker.port, inst, tag)
    core_cpu0 = proc_cpu_s(agent.proc.pid)
    workers = children(agent.proc.pid)
    worker_cpu0 = sum(proc_cpu_s(w) for w in workers)
    res = sub_rate(sub)
    res["core_cpu_s"] = proc_cpu_s(agent.proc.pid) - core_cpu0
    res["worker_cpu_s"] = sum(proc_cpu_s(w) for w in workers if os.path.exists(f"/proc/{w}")) - worker_cpu0
    agent.stop()
    return res


def run_raw(args, raw_bin, broker, size):
    sub = subscriber(broker.port, "bench/raw", args.messages, RUN_TIMEOUT_S)
    out = subprocess.run([raw_bin, "-p", str(broker.port), "-n", str(args.messages), "-s", str(size),
                          "-w", str(WINDOW), "-t", "bench/raw"], check=True, capture_output=True,
                         text=True, timeout=RUN_TIMEOUT_S).stdout
    fields = dict(kv.split("=") for kv in out.split()[1:])
    res = sub_rate(sub)
    res["publisher_rate"] = float(fields["rate"])
    res["cpu_s"] = float(fields["cpu_s"])
    return res


def idle_memory(binary, plugin_dir, workdir, broker):
    inst = [f'{{ name = "sim{i}"; plugin = "sim"; rate = 1.0; }}' for i in range(4)]
    ready = []
    core_rss = core_hwm = 0
    worker_rss = []
    for run in range(READY_RUNS):
        agent = Agent(binary, plugin_dir, workdir, broker.port, inst, f"idle{run}")
        ready.append(agent.ready_s)
        if run == 0:
            time.sleep(IDLE_SETTLE_S)
            core_rss = proc_status_kib(agent.proc.pid, "VmRSS")
            core_hwm = proc_status_kib(agent.proc.pid, "VmHWM")
            worker_rss = [proc_status_kib(w, "VmRSS") for w in children(agent.proc.pid)]
        agent.stop()
    return {"core_rss_kib": core_rss, "core_hwm_kib": core_hwm, "worker_rss_kib": worker_rss,
            "ready_ms": [r * 1000 for r in ready]}


def find_binary(build, names):
    for n in names:
        p = os.path.join(build, n)
        if os.access(p, os.X_OK):
            return p
    return None


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    ap.add_argument("--build", required=True, help="CMake build directory")
    ap.add_argument("--messages", type=int, default=50000)
    ap.add_argument("--raw-only", action="store_true", help="only run the raw publisher")
    args = ap.parse_args()
    raw_bin = find_binary(args.build, ["bench/mqtt/raw_publisher"])
    agent_bin = find_binary(args.build, ["agent/iocagent", "iocagent"])
    plugin_dir = os.path.join(args.build, "plugins")
    if not raw_bin:
        sys.exit("raw_publisher not built (cmake --build BUILD --target raw_publisher)")
    workdir = tempfile.mkdtemp(prefix="ioca-bench-")
    broker = Broker(workdir)
    try:
        print(f"machine: {os.cpu_count()} CPUs, {os.uname().release}; messages per run: {args.messages}; "
              f"window {WINDOW}; QoS 1")
        if args.raw_only or not agent_bin or not os.path.exists(os.path.join(plugin_dir, "sim.so")):
            r = run_raw(args, raw_bin, broker, 200)
            print(f"raw 200 B: subscriber {r['rate']:.0f} msg/s, publisher {r['publisher_rate']:.0f} msg/s, "
                  f"cpu {r['cpu_s']:.2f} s")
            return
        agents, raws = [], []
        for i in range(2):
            a = run_agent(args, agent_bin, plugin_dir, workdir, broker, f"tp{i}")
            agents.append(a)
            print(f"agent run {i}: {a['received']} msgs of {a['mean_bytes']:.0f} B, {a['rate']:.0f} msg/s, "
                  f"core cpu {a['core_cpu_s']:.2f} s, worker cpu {a['worker_cpu_s']:.2f} s")
            r = run_raw(args, raw_bin, broker, round(a["mean_bytes"]))
            raws.append(r)
            print(f"raw   run {i}: {r['received']} msgs of {r['mean_bytes']:.0f} B, {r['rate']:.0f} msg/s "
                  f"(publisher {r['publisher_rate']:.0f} msg/s), cpu {r['cpu_s']:.2f} s")
        a_rate = statistics.mean(a["rate"] for a in agents)
        r_rate = statistics.mean(r["rate"] for r in raws)
        a_cpu = statistics.mean(a["core_cpu_s"] for a in agents)
        r_cpu = statistics.mean(r["cpu_s"] for r in raws)
        print(f"THROUGHPUT ratio agent/raw = {a_rate / r_rate:.2f} ({a_rate:.0f} / {r_rate:.0f} msg/s); "
              f"core CPU per message = {a_cpu / r_cpu:.2f} x raw publisher")
        mem = idle_memory(agent_bin, plugin_dir, workdir, broker)
        w = mem["worker_rss_kib"]
        print(f"IDLE 4 sim instances: core VmRSS {mem['core_rss_kib'] / 1024:.1f} MiB "
              f"(VmHWM {mem['core_hwm_kib'] / 1024:.1f} MiB); worker VmRSS "
              f"{(min(w) if w else 0) / 1024:.1f}..{(max(w) if w else 0) / 1024:.1f} MiB ({len(w)} workers)")
        print(f"START to READY (4 instances): median {statistics.median(mem['ready_ms']):.0f} ms, "
              f"runs {', '.join(f'{x:.0f}' for x in mem['ready_ms'])} ms")
    finally:
        broker.stop()
        if not os.environ.get("IOCA_KEEP_BENCH_DIR"):
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
