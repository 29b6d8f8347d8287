#!/usr/bin/python3
"""Alarm latency after an outage, spool.order = "live_first" against "fifo" (not a test).

    /usr/bin/python3 bench/spool/bench_live_first.py --build BUILD_DIR [--outage SECONDS] [--rate N]

Two agents run side by side on one mosquitto (persistence on, the default
queue bounds: max_queued_messages 1000, max_inflight_messages 20), one with
spool.order = "live_first", one with "fifo", otherwise the same: a sim
instance at --rate events/s (less the alarms) and an "alarm" instance at
--alarm-rate, drain_rate and historical_after at their defaults. Each has its
own persistent MQTT 5 subscriber at QoS 1. The broker is stopped for
--outage seconds (both agents spool meanwhile), then started again.

Printed for each order: latency (arrival - acceptance) of the alarms accepted
in the --window seconds after the agents were back, median and max, and the
fifo / live_first ratio of the medians (the baseline: with fifo an alarm waits
behind the whole backlog); records lost (every spooled record counted by seq,
the agent's own events included); messages the broker dropped from the
subscriber's queue (its log, plus what is missing); the backlog drain rate
measured at the subscriber against the configured drain_rate. The live_first
agent is followed until its backlog has drained completely, the fifo one
until the alarms of the window have arrived (with drain_rate equal to the
event rate a fifo backlog never shrinks).
"""
import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(HERE, ".."))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))

ORDERS = ("live_first", "fifo")
LEAD_S = 10.0
SETTLE_S = 2.0  # after the first message of the reconnect
TAIL_S = 10.0   # the sim keeps emitting this long after the alarm window
DRAIN_BURST_S = 1.0  # the first second after the reconnect is the token bucket's burst
POLL_S = 1.0


def parse_args():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=os.path.join(ROOT, "build", "release"))
    ap.add_argument("--outage", type=float, default=600.0, help="broker outage, seconds")
    ap.add_argument("--rate", type=float, default=200.0, help="events per second per agent")
    ap.add_argument("--alarm-rate", type=float, default=1.0, help="of them alarms per second")
    ap.add_argument("--window", type=float, default=60.0,
                    help="alarms accepted this long after the reconnect are measured")
    ap.add_argument("--drain-rate", type=int, default=200, help="spool.drain_rate")
    ap.add_argument("--historical-after", type=int, default=30, help="spool.historical_after")
    args = ap.parse_args()
    os.environ.setdefault("IOCA_BINARY", os.path.join(args.build, "agent", "iocagent"))
    os.environ.setdefault("IOCA_PLUGIN_DIR", os.path.join(args.build, "plugins"))
    return args


ARGS = parse_args()
import benchlib  # noqa: E402
import ioca_test as it  # noqa: E402
import paho.mqtt.client as mqtt  # noqa: E402
from paho.mqtt.packettypes import PacketTypes  # noqa: E402
from paho.mqtt.properties import Properties  # noqa: E402
from paho.mqtt.subscribeoptions import SubscribeOptions  # noqa: E402


class Collector:
    """A persistent MQTT 5 session at QoS 1 keeping (seq, arrival, accepted_ms,
    instance, historical) of every spooled record of one agent."""

    def __init__(self, port, agent_id, session_s):
        self.client_id = "bench-sub-" + agent_id
        self.lock = threading.Lock()
        self.rows = []
        self.ready = threading.Event()
        self.client = mqtt.Client(client_id=self.client_id, protocol=mqtt.MQTTv5)
        self.client.on_connect = lambda c, u, f, rc, p=None: c.subscribe(
            [("ioc/%s/#" % agent_id, SubscribeOptions(qos=1))])
        self.client.on_subscribe = lambda c, u, mid, g, p=None: self.ready.set()
        self.client.on_message = self._on_message
        self.client.reconnect_delay_set(min_delay=1, max_delay=1)
        props = Properties(PacketTypes.CONNECT)
        props.SessionExpiryInterval = int(session_s)
        self.client.connect("127.0.0.1", port, keepalive=10, clean_start=False, properties=props)
        self.client.loop_start()
        if not self.ready.wait(10):
            raise RuntimeError("subscriber could not subscribe")

    def _on_message(self, client, userdata, msg):
        arrived = time.monotonic()
        if "/event/" not in msg.topic and not msg.topic.endswith("/telemetry"):
            return
        try:
            body = json.loads(msg.payload)
        except ValueError:
            return
        hist = it.is_historical(getattr(msg, "properties", None))
        row = (body["seq"], arrived, it.parse_time_ms(body["time"]), msg.topic.split("/")[2], hist)
        with self.lock:
            self.rows.append(row)

    def snapshot(self):
        with self.lock:
            return list(self.rows)

    def close(self):
        self.client.disconnect()
        self.client.loop_stop()


def start_agent(workdir, order, port, load_count, alarm_count):
    load_rate = ARGS.rate - ARGS.alarm_rate
    a = it.Agent(workdir, broker_url="mqtt://127.0.0.1:%d" % port, agent_id="bench-" + order,
                 name=order, agent_extra={"log_level": "info"},
                 mqtt_extra={"reconnect_max": 1},
                 instances=[it.sim("load", rate=load_rate, kind="event", count=load_count,
                                   max_rate=0.0),
                            it.sim("alarm", rate=ARGS.alarm_rate, kind="event",
                                   count=alarm_count, max_rate=0.0, event_type="alarm.intrusion",
                                   severity="critical")],
                 sections={"spool": {"order": order, "drain_rate": ARGS.drain_rate,
                                     "historical_after": ARGS.historical_after}})
    return a.start()


def broker_drops(broker, client_id):
    """Lines of mosquitto's log saying it dropped messages for the client."""
    try:
        with open(broker.log_path, errors="replace") as f:
            return sum(1 for line in f if "dropped" in line and client_id in line)
    except OSError:
        return 0


def judge(rows, back, wall_minus_mono):
    """Figures of one agent's run from its subscriber's rows."""
    def accepted(r):
        return r[2] / 1000.0 - wall_minus_mono

    t_lo, t_hi = back + SETTLE_S, back + SETTLE_S + ARGS.window
    lat = sorted(r[1] - accepted(r) for r in rows if r[3] == "alarm" and
                 t_lo <= accepted(r) < t_hi)
    seqs = {r[0] for r in rows}
    missing = len(set(range(min(seqs), max(seqs) + 1)) - seqs)
    hist = sorted(r[1] for r in rows if r[4])
    rate = None
    if len(hist) > 2:
        first, last = hist[0], hist[-1]
        span = [t for t in hist if first + DRAIN_BURST_S <= t]
        if last - first > 2 * DRAIN_BURST_S:
            rate = len(span) / (last - first - DRAIN_BURST_S)
    return {"lat": lat, "missing": missing, "records": len(seqs), "hist": len(hist),
            "drain": rate, "dups": len(rows) - len(seqs)}


def main():
    workdir = tempfile.mkdtemp(prefix="bench-live-first-")
    broker = it.Broker(workdir, persistence=True,
                       extra_lines=["max_queued_messages 1000", "max_inflight_messages 20"])
    broker.start()
    total_s = LEAD_S + ARGS.outage + SETTLE_S + ARGS.window + TAIL_S
    alarm_count = int(ARGS.alarm_rate * total_s)
    load_count = int((ARGS.rate - ARGS.alarm_rate) * total_s)
    session_s = ARGS.outage * 3 + 3600
    subs = {o: Collector(broker.port, "bench-" + o, session_s) for o in ORDERS}
    agents = {o: start_agent(workdir, o, broker.port, load_count, alarm_count) for o in ORDERS}
    wall_minus_mono = time.time() - time.monotonic()
    try:
        benchlib.wait_port(broker.port)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not all(subs[o].snapshot() for o in ORDERS):
            time.sleep(0.2)
        time.sleep(LEAD_S)
        print("outage of %.0f s at %.0f events/s per agent (%.1f alarms/s), drain_rate %d, "
              "historical_after %d s" % (ARGS.outage, ARGS.rate, ARGS.alarm_rate,
                                         ARGS.drain_rate, ARGS.historical_after), flush=True)
        broker.stop()
        time.sleep(ARGS.outage)
        for o in ORDERS:
            if not agents[o].running():
                raise SystemExit("agent %s died during the outage" % o)
        up = time.monotonic()
        broker.start()

        drained = {o: False for o in ORDERS}
        backs = {}
        limit = up + ARGS.outage * 1.5 + ARGS.window + 300
        while time.monotonic() < limit and not all(drained.values()):
            time.sleep(POLL_S)
            for o in ORDERS:
                rows = subs[o].snapshot()
                after = [r[1] for r in rows if r[1] > up]
                if not after:
                    continue
                backs[o] = min(after)
                if o == "live_first":
                    sim = {r[0] for r in rows if r[3] in ("load", "alarm")}
                    drained[o] = len(sim) >= load_count + alarm_count
                else:
                    # fifo: done once the window's alarms have arrived
                    t_hi = backs[o] + SETTLE_S + ARGS.window
                    done = [r for r in rows if r[3] == "alarm" and
                            r[2] / 1000.0 - wall_minus_mono >= t_hi]
                    drained[o] = bool(done) or not agents[o].running()
        end = time.monotonic()
        res = {}
        for o in ORDERS:
            rows = subs[o].snapshot()
            if o not in backs:
                raise SystemExit("nothing arrived from %s after the outage" % o)
            res[o] = judge(rows, backs[o], wall_minus_mono)
            res[o]["broker_drops"] = broker_drops(broker, subs[o].client_id)
            res[o]["back_s"] = backs[o] - up
        print("followed %.0f s after the broker came back; live_first drained: %s"
              % (end - up, drained["live_first"]))
        print("\n| order | alarms measured | alarm latency median | max | records at the "
              "subscriber | lost | broker-queue drops | backlog drain measured / configured |")
        print("|---|---|---|---|---|---|---|---|")
        for o in ORDERS:
            r = res[o]
            lat = r["lat"]
            med = statistics.median(lat) if lat else float("nan")
            mx = lat[-1] if lat else float("nan")
            drain = "%.0f / %d /s" % (r["drain"], ARGS.drain_rate) if r["drain"] else "-"
            print("| %s | %d | %.3f s | %.3f s | %d (+%d duplicates) | %d | %d | %s |"
                  % (o, len(lat), med, mx, r["records"], r["dups"], r["missing"],
                     r["broker_drops"], drain))
        lf, ff = res["live_first"]["lat"], res["fifo"]["lat"]
        if lf and ff:
            print("\nalarm latency fifo / live_first (medians): %.0f"
                  % (statistics.median(ff) / max(statistics.median(lf), 1e-3)))
        if not drained["live_first"]:
            print("live_first: the backlog had not drained when the bench stopped")
    finally:
        for o in ORDERS:
            agents[o].stop()
            subs[o].close()
        broker.kill()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
