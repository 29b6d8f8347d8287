#!/usr/bin/python3
"""Bytes on the wire per event and per telemetry message (not a test): the
agent against mosquitto_pub publishing the same payloads on the same topics at
the same QoS, both through one counting TCP relay in front of a real mosquitto.

    /usr/bin/python3 bench/mqtt/bench_wire.py --build BUILD_DIR [--messages N]

For each protocol (MQTT 5, then 3.1.1 with protocol = "v311") the agent runs
two sim instances, one of events and one of telemetry (N each, QoS 1); a
mosquitto_sub on the broker itself (not through the relay) records every topic
and payload. Then one mosquitto_pub -l per topic sends those same payloads,
at QoS 1 and the same protocol version, through the relay.

The relay parses the MQTT stream in both directions and counts each packet's
bytes (fixed header included: what TCP carries). "Per message" is the PUBLISH
the client sends plus the PUBACK the broker answers; everything else
(CONNECT, SUBSCRIBE, PINGREQ, the agent's status message, DISCONNECT) is the
session's fixed cost and is printed apart. TCP/IP headers are not counted:
how many segments carry the bytes depends on batching, not on MQTT.

MQTT 5 topic aliases are computed, not measured (the agent does not send
them): a repeated topic would go as an empty topic name plus a 3-byte Topic
Alias property, each packet re-encoded with its real property and remaining
lengths.

Invariant: both publishers' payload bytes are identical (checked), so the
ratio is the protocol overhead of each, nothing else.
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
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from benchlib import Broker  # noqa: E402

AGENT_ID = "bench"
EVENT_INST = "ev0"
TELEMETRY_INST = "tm0"
RATE_PER_S = 200.0
SUB_READY_S = 0.5
RUN_TIMEOUT_S = 120
SETTLE_S = 1.0
PUBLISH, PUBACK = 3, 4
PACKET_NAMES = {1: "CONNECT", 2: "CONNACK", 3: "PUBLISH", 4: "PUBACK", 8: "SUBSCRIBE",
                9: "SUBACK", 12: "PINGREQ", 13: "PINGRESP", 14: "DISCONNECT"}
TOPIC_ALIAS_PROP_BYTES = 3  # identifier 0x23 + two-byte alias


def varint_len(n):
    size = 1
    while n >= 128:
        n //= 128
        size += 1
    return size


def read_varint(buf, pos):
    value, mult = 0, 1
    while True:
        b = buf[pos]
        pos += 1
        value += (b & 0x7F) * mult
        if not b & 0x80:
            return value, pos
        mult *= 128


class Packet:
    """One MQTT control packet as seen on the wire."""

    __slots__ = ("kind", "size", "topic", "payload_len", "props_bytes", "aliased_size")

    def __init__(self, raw, v5):
        self.kind = raw[0] >> 4
        self.size = len(raw)
        self.topic = None
        self.payload_len = 0
        self.props_bytes = 0
        self.aliased_size = self.size
        if self.kind != PUBLISH:
            return
        remaining, pos = read_varint(raw, 1)
        tlen = int.from_bytes(raw[pos:pos + 2], "big")
        self.topic = raw[pos + 2:pos + 2 + tlen].decode("utf-8", "replace")
        pos += 2 + tlen
        if (raw[0] >> 1) & 3:
            pos += 2  # packet identifier
        props_len = 0
        if v5:
            props_len, after = read_varint(raw, pos)
            self.props_bytes = after - pos + props_len
            pos = after + props_len
        self.payload_len = len(raw) - pos
        if v5:
            new_props = props_len + TOPIC_ALIAS_PROP_BYTES
            new_remaining = (remaining - tlen - varint_len(props_len) + varint_len(new_props)
                             + TOPIC_ALIAS_PROP_BYTES)
            self.aliased_size = 1 + varint_len(new_remaining) + new_remaining


class Relay:
    """127.0.0.1:port -> broker; records every packet of every connection."""

    def __init__(self, target, v5):
        self.target, self.v5 = target, v5
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.sock.listen(8)
        self.lock = threading.Lock()
        self.packets = []  # (direction, Packet); direction "up" client->broker
        self.threads = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            u = socket.create_connection(("127.0.0.1", self.target))
            for a, b, d in ((c, u, "up"), (u, c, "down")):
                th = threading.Thread(target=self._pump, args=(a, b, d), daemon=True)
                th.start()
                self.threads.append(th)

    def _pump(self, src, dst, direction):
        buf = bytearray()
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                dst.sendall(data)
                buf += data
                buf = self._parse(buf, direction)
        except OSError:
            pass
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def _parse(self, buf, direction):
        while len(buf) >= 2:
            pos = 1
            remaining, mult = 0, 1
            while pos < len(buf):
                b = buf[pos]
                pos += 1
                remaining += (b & 0x7F) * mult
                mult *= 128
                if not b & 0x80:
                    break
            else:
                return buf
            end = pos + remaining
            if len(buf) < end:
                return buf
            pkt = Packet(bytes(buf[:end]), self.v5)
            with self.lock:
                self.packets.append((direction, pkt))
            del buf[:end]
        return buf

    def take(self):
        with self.lock:
            out, self.packets = self.packets, []
        return out

    def close(self):
        self.sock.close()


def capture(port, count, version):
    """mosquitto_sub on the broker itself: "topic payload" lines into a file."""
    out = tempfile.TemporaryFile(mode="w+", encoding="utf-8")
    proc = subprocess.Popen(["mosquitto_sub", "-h", "127.0.0.1", "-p", str(port), "-V", version,
                             "-t", f"ioc/{AGENT_ID}/{EVENT_INST}/#",
                             "-t", f"ioc/{AGENT_ID}/{TELEMETRY_INST}/#",
                             "-q", "1", "-C", str(count), "-W", str(RUN_TIMEOUT_S), "-F", "%t %p"],
                            stdout=out)
    time.sleep(SUB_READY_S)
    return proc, out


def run_agent(binary, plugin_dir, workdir, relay, broker, n, protocol, version):
    sub = capture(broker.port, 2 * n, version)
    d = os.path.join(workdir, protocol)
    os.makedirs(os.path.join(d, "state"), exist_ok=True)
    conf = os.path.join(d, "agent.conf")
    with open(conf, "w", encoding="utf-8") as f:
        f.write(f'agent: {{ id = "{AGENT_ID}"; plugin_dir = "{plugin_dir}"; '
                f'state_dir = "{d}/state"; log_level = "warning"; }};\n')
        f.write(f'mqtt: {{ brokers = [ "mqtt://127.0.0.1:{relay.port}" ]; qos = 1; '
                f'topic_prefix = "ioc"; protocol = "{protocol}"; }};\n')
        f.write("instances = (\n"
                f'  {{ name = "{EVENT_INST}"; plugin = "sim"; kind = "event"; rate = {RATE_PER_S}; '
                f'count = {n}; }},\n'
                f'  {{ name = "{TELEMETRY_INST}"; plugin = "sim"; kind = "telemetry"; '
                f'rate = {RATE_PER_S}; count = {n}; }}\n);\n')
    log = open(os.path.join(d, "agent.log"), "w", encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k not in ("NOTIFY_SOCKET", "JOURNAL_STREAM")}
    agent = subprocess.Popen([binary, "-c", conf], env=env, stdout=log, stderr=subprocess.STDOUT)
    proc, out = sub
    proc.wait(timeout=RUN_TIMEOUT_S + 10)
    time.sleep(SETTLE_S)  # the last PUBACKs
    agent.send_signal(signal.SIGTERM)
    agent.wait(timeout=10)
    log.close()
    out.seek(0)
    lines = [line.rstrip("\n").split(" ", 1) for line in out if line.strip()]
    out.close()
    if len(lines) < 2 * n:
        sys.exit(f"the agent delivered {len(lines)} of {2 * n} messages; see {d}/agent.log")
    return lines


def run_pub(relay, broker, lines, version):
    """mosquitto_pub of the captured payloads, with a subscriber on the broker as in the agent's
    run (an MQTT 5 broker answers "no matching subscribers" in a longer PUBACK otherwise)."""
    proc, out = capture(broker.port, len(lines), version)
    by_topic = {}
    for topic, payload in lines:
        by_topic.setdefault(topic, []).append(payload)
    for topic, payloads in by_topic.items():
        subprocess.run(["mosquitto_pub", "-h", "127.0.0.1", "-p", str(relay.port), "-V", version,
                        "-q", "1", "-t", topic, "-l"], input="\n".join(payloads) + "\n",
                       text=True, check=True, timeout=RUN_TIMEOUT_S)
    proc.wait(timeout=RUN_TIMEOUT_S + 10)
    out.close()
    time.sleep(SETTLE_S)


def tally(packets):
    """Per-message costs of event and telemetry PUBLISHes, and the session overhead."""
    res = {}
    for cls, inst in (("event", EVENT_INST), ("telemetry", TELEMETRY_INST)):
        pubs = [p for d, p in packets if d == "up" and p.kind == PUBLISH and p.topic
                and p.topic.startswith(f"ioc/{AGENT_ID}/{inst}/")]
        res[cls] = {"n": len(pubs), "publish": statistics.mean(p.size for p in pubs),
                    "payload": statistics.mean(p.payload_len for p in pubs),
                    "props": statistics.mean(p.props_bytes for p in pubs),
                    "topic": statistics.mean(len(p.topic.encode()) for p in pubs),
                    "aliased": statistics.mean(p.aliased_size for p in pubs)}
    acks = [p.size for d, p in packets if d == "down" and p.kind == PUBACK]
    res["puback"] = statistics.mean(acks) if acks else 0.0
    counted = sum(res[c]["n"] for c in ("event", "telemetry"))
    other = {}
    for d, p in packets:
        if p.kind == PUBLISH and p.topic and any(p.topic.startswith(f"ioc/{AGENT_ID}/{i}/")
                                                 for i in (EVENT_INST, TELEMETRY_INST)):
            continue
        if p.kind == PUBACK and d == "down" and counted > 0:
            counted -= 1
            continue
        name = PACKET_NAMES.get(p.kind, str(p.kind))
        if p.kind == PUBLISH:
            name += " " + p.topic
        other[name] = other.get(name, 0) + p.size
    res["session"] = other
    return res


def report(label, agent, pub, version):
    print(f"-- {label} (mosquitto_pub -V {version}), QoS 1")
    for cls in ("event", "telemetry"):
        a, b = agent[cls], pub[cls]
        if a["payload"] != b["payload"]:
            sys.exit(f"{cls}: payloads differ ({a['payload']} vs {b['payload']} B)")
        a_msg = a["publish"] + agent["puback"]
        b_msg = b["publish"] + pub["puback"]
        print(f"{cls:9s}: payload {a['payload']:.1f} B, topic {a['topic']:.0f} B; "
              f"agent {a_msg:.1f} B/msg (PUBLISH {a['publish']:.1f} + "
              f"PUBACK {agent['puback']:.0f}), mosquitto_pub {b_msg:.1f} B/msg "
              f"(PUBLISH {b['publish']:.1f} + PUBACK {pub['puback']:.0f}); "
              f"properties {a['props']:.0f} vs {b['props']:.0f} B; "
              f"RATIO agent/mosquitto_pub = {a_msg / b_msg:.3f}")
        if version == "mqttv5":
            al = a["aliased"] + agent["puback"]
            print(f"{'':9s}  with topic aliases (computed): {al:.1f} B/msg, saves "
                  f"{a_msg - al:.1f} B/msg ({100 * (a_msg - al) / a_msg:.1f} %)")
    sess = ", ".join(f"{k} {v}" for k, v in sorted(agent["session"].items()))
    print(f"agent session overhead (whole run, B): {sess}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    ap.add_argument("--build", required=True, help="CMake build directory")
    ap.add_argument("--messages", type=int, default=1000, help="events and telemetry messages each")
    args = ap.parse_args()
    binary = os.path.join(args.build, "agent", "iocagent")
    plugin_dir = os.path.join(args.build, "plugins")
    if not os.access(binary, os.X_OK) or not os.path.exists(os.path.join(plugin_dir, "sim.so")):
        sys.exit(f"no agent or sim plugin in {args.build}")
    workdir = tempfile.mkdtemp(prefix="ioca-bench-wire-")
    broker = Broker(workdir)
    try:
        print(f"messages: {args.messages} events + {args.messages} telemetry at "
              f"{RATE_PER_S:.0f}/s each; bytes are MQTT packets as TCP carries them")
        for protocol, version, label in (("v5", "mqttv5", "MQTT 5"),
                                         ("v311", "mqttv311", "MQTT 3.1.1")):
            relay = Relay(broker.port, protocol == "v5")
            lines = run_agent(binary, plugin_dir, workdir, relay, broker, args.messages,
                              protocol, version)
            agent = tally(relay.take())
            run_pub(relay, broker, lines, version)
            pub = tally(relay.take())
            relay.close()
            report(label, agent, pub, version)
    finally:
        broker.stop()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
