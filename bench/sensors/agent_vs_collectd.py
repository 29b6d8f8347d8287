#!/usr/bin/python3
"""iocagent vs collectd on the same Modbus load: CPU and a 30 s broker outage.

    /usr/bin/python3 bench/sensors/agent_vs_collectd.py BUILD_DIR [SECONDS] [OUTAGE_S]

Both read 50 Modbus TCP devices x 20 holding registers every second from the
same local libmodbus test server (tests/tools/modbus_server.c) and publish
to the same local mosquitto, one after the other:

  iocagent  the full agent (core + modbus worker), telemetry every second,
            QoS 1, a threshold rule on dev1's first register;
  collectd  Debian's collectd with its modbus and mqtt plugins, Interval 1,
            QoS 1.

Printed figures:
  - CPU of each (core + worker processes for iocagent) from /proc/PID/stat
    over SECONDS (default 60), and the ratio iocagent / collectd;
  - a broker outage of OUTAGE_S (default 30) seconds: how many of dev1/r0's
    samples taken during the outage each one delivers to a persistent
    subscriber once the broker is back;
  - iocagent only: poll-to-subscriber latency of threshold events (the
    server stamps the answer that carries the crossing value).

A benchmark, not a test: it asserts nothing and is not registered with ctest.
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

if len(sys.argv) < 2:
    sys.exit(__doc__)
BUILD = os.path.abspath(sys.argv[1])
SECONDS = float(sys.argv[2]) if len(sys.argv) > 2 else 60.0
OUTAGE_S = float(sys.argv[3]) if len(sys.argv) > 3 else 30.0
SOURCE = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
os.environ.setdefault("IOCA_BINARY", os.path.join(BUILD, "agent", "iocagent"))
os.environ.setdefault("IOCA_PLUGIN_DIR", os.path.join(BUILD, "plugins"))
os.environ.setdefault("IOCA_SOURCE_DIR", SOURCE)
sys.path.insert(0, os.path.join(SOURCE, "tests", "integration"))

import ioca_test as it  # noqa: E402  (needs the environment above)

SERVER = os.path.join(BUILD, "tests", "tools", "ioca_modbus_server")
COLLECTD = shutil.which("collectd") or "/usr/sbin/collectd"
DEVICES = 50
REGISTERS = 20
VALUE_NORMAL = 500
RULE_HIGH = 1000.0
LATENCY_ROUNDS = 10
CATCH_UP_S = 30.0
CLK_TCK = os.sysconf("SC_CLK_TCK")


class ModbusServer:
    """The libmodbus test server, scripted over its stdin, stopped by PID."""

    def __init__(self):
        self.proc = subprocess.Popen([SERVER, "tcp", "0"], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True, bufsize=1)
        self.port = int(self.proc.stdout.readline().split()[2])

    def cmd(self, line):
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()
        return self.proc.stdout.readline().strip()

    def close(self):
        self.proc.kill()
        self.proc.wait()


def cpu_seconds(pids):
    total = 0
    for pid in pids:
        try:
            with open("/proc/%d/stat" % pid) as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime
        except (OSError, IndexError, ValueError):
            pass
    return total / CLK_TCK


def measure_cpu(pids_fn, seconds):
    pids = pids_fn()
    start_cpu, start = cpu_seconds(pids), time.monotonic()
    time.sleep(seconds)
    return 100.0 * (cpu_seconds(pids_fn()) - start_cpu) / (time.monotonic() - start)


def outage(broker, sub, sample_times, label):
    """Stop the broker for OUTAGE_S; count dev1/r0 samples from the outage delivered later."""
    time.sleep(2)
    t0 = time.time()
    broker.stop()
    time.sleep(OUTAGE_S)
    t1 = time.time()
    broker.start()
    time.sleep(CATCH_UP_S)
    times = [t for t in sample_times(sub.messages()) if t0 <= t < t1]
    print("%-9s broker down %.0f s: %d of ~%.0f dev1/r0 samples taken meanwhile delivered "
          "(%d unique)" % (label, t1 - t0, len(times), t1 - t0, len(set(times))))


def agent_sample_times(msgs):
    out = []
    for m in msgs:
        if not m.topic.endswith("/telemetry"):
            continue
        try:
            body = m.json()
        except ValueError:
            continue
        names = [r.get("name") for r in body.get("data", {}).get("readings", [])]
        if "d1_r0" in names:
            out.append(round(it_time(body["time"]), 3))
    return out


def it_time(text):
    """RFC 3339 '...T..:..:..mmmZ' to epoch seconds."""
    import calendar
    main, frac = text.rstrip("Z").split(".")
    return calendar.timegm(time.strptime(main, "%Y-%m-%dT%H:%M:%S")) + int(frac) / 1000.0


def collectd_sample_times(msgs):
    out = []
    for m in msgs:
        if "modbus-dev1/" in m.topic and m.topic.endswith("gauge-r0"):
            try:
                out.append(round(float(m.payload.decode().split(":")[0]), 3))
            except ValueError:
                pass
    return out


def agent_instance(port):
    devices = []
    for d in range(1, DEVICES + 1):
        devices.append({"name": "dev%d" % d, "unit_id": d, "registers": [
            {"name": "d%d_r%d" % (d, r), "address": r, "unit": "u"} for r in range(REGISTERS)]})
    return {"name": "modbus-bench", "plugin": "modbus", "host": "127.0.0.1", "port": port,
            "poll_interval": 1.0, "timeout_ms": 500, "publish_interval": 1.0,
            "aggregate": "last",
            "rules": [{"reading": "d1_r0", "high": RULE_HIGH, "high_clear": RULE_HIGH - 100.0}],
            "devices": devices}


def collectd_config(workdir, modbus_port, broker_port):
    lines = ['BaseDir "%s"' % workdir, 'PIDFile "%s/collectd.pid"' % workdir,
             'Hostname "bench"', "Interval 1", "AutoLoadPlugin false",
             'TypesDB "/usr/share/collectd/types.db"',
             'PluginDir "/usr/lib/collectd"',
             "LoadPlugin modbus", "LoadPlugin mqtt", "<Plugin modbus>"]
    for r in range(REGISTERS):
        lines += ['  <Data "r%d">' % r, "    RegisterBase %d" % r, "    RegisterType Uint16",
                  "    RegisterCmd ReadHolding", '    Type "gauge"', '    Instance "r%d"' % r,
                  "  </Data>"]
    lines += ['  <Host "bench">', '    Address "127.0.0.1"', '    Port "%d"' % modbus_port,
              "    Interval 1"]
    for d in range(1, DEVICES + 1):
        lines += ["    <Slave %d>" % d, '      Instance "dev%d"' % d]
        lines += ['      Collect "r%d"' % r for r in range(REGISTERS)]
        lines += ["    </Slave>"]
    lines += ["  </Host>", "</Plugin>", "<Plugin mqtt>", '  <Publish "bench">',
              '    Host "127.0.0.1"', '    Port "%d"' % broker_port, '    ClientId "collectd-bench"',
              "    QoS 1", '    Prefix "collectd"', "  </Publish>", "</Plugin>"]
    path = os.path.join(workdir, "collectd.conf")
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    return path


def run_agent(workdir, broker, server):
    agent = it.Agent(workdir, broker_url=broker.url, instances=[agent_instance(server.port)],
                     agent_id="bench", agent_extra={"log_level": "warning"})
    sub = it.Subscriber(broker.port, topics=["ioc/#"], persistent=True,
                        client_id="bench-agent-sub")
    agent.start()
    try:
        sub.wait_for(lambda m: m.topic.endswith("/telemetry"), 30)
        time.sleep(3)
        cpu = measure_cpu(lambda: [agent.pid] + list(agent.worker_pids()), SECONDS)
        print("iocagent  cpu %.3f %% of one core (core + worker, %.0f s)" % (cpu, SECONDS))
        latency(server, sub)
        outage(broker, sub, agent_sample_times, "iocagent")
    finally:
        agent.stop()
        sub.close()
    return cpu


def latency(server, sub):
    offset = time.time() - time.monotonic()
    lats = []
    for i in range(LATENCY_ROUNDS):
        up = i % 2 == 0
        kind = "exceeded" if up else "cleared"
        before = len(sub.messages(lambda m, k=kind: m.topic.endswith("/threshold/" + k)))
        server.cmd("setmark 1 holding 0 %d" % (int(RULE_HIGH) + 500 if up else VALUE_NORMAL))
        got = sub.wait_for(lambda m, k=kind: m.topic.endswith("/threshold/" + k), 10,
                           count=before + 1)
        mark = int(server.cmd("getmark 1").split()[1])
        if got and mark:
            events = sub.messages(lambda m, k=kind: m.topic.endswith("/threshold/" + k))
            lats.append((events[before].arrived + offset) * 1000.0 - mark)
    if lats:
        lats.sort()
        print("iocagent  threshold event latency, answer with the crossing value -> subscriber: "
              "median %.1f ms, max %.1f ms over %d events" % (lats[len(lats) // 2], lats[-1],
                                                             len(lats)))


def run_collectd(workdir, broker, server):
    conf = collectd_config(workdir, server.port, broker.port)
    sub = it.Subscriber(broker.port, topics=["collectd/#"], persistent=True,
                        client_id="bench-collectd-sub")
    log = open(os.path.join(workdir, "collectd.log"), "ab")
    proc = subprocess.Popen([COLLECTD, "-f", "-C", conf], stdout=log, stderr=log,
                            stdin=subprocess.DEVNULL)
    log.close()
    try:
        sub.wait_for(lambda m: "modbus-dev1" in m.topic, 30)
        time.sleep(3)
        cpu = measure_cpu(lambda: [proc.pid], SECONDS)
        print("collectd  cpu %.3f %% of one core (%.0f s)" % (cpu, SECONDS))
        outage(broker, sub, collectd_sample_times, "collectd")
    finally:
        proc.terminate()
        proc.wait(10)
        sub.close()
    return cpu


def main():
    workdir = tempfile.mkdtemp(prefix="ioca-bench-sensors-")
    server = ModbusServer()
    broker = it.Broker(workdir, persistence=True).start()
    try:
        for d in range(1, DEVICES + 1):
            server.cmd("set %d holding 0 %s" % (d, " ".join(
                str(VALUE_NORMAL + r) for r in range(REGISTERS))))
        print("load: %d Modbus TCP devices x %d registers every 1 s, local libmodbus server, "
              "local mosquitto, QoS 1" % (DEVICES, REGISTERS))
        a = run_agent(workdir, broker, server)
        c = run_collectd(workdir, broker, server)
        if c > 0:
            print("ratio     cpu iocagent / collectd = %.2f" % (a / c))
    finally:
        broker.stop()
        server.close()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
