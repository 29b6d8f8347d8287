#!/usr/bin/python3
"""Bytes on the wire per event and per telemetry message (not a test): the
agent against mosquitto_pub publishing the same payloads on the same topics at
the same QoS, both through one counting TCP relay in front of a real mosquitto.

    /usr/bin/python3 bench/mqtt/bench_wire.py --build BUILD_DIR [--messages N]

For each protocol (MQTT 5, then 3.1.1 with protocol = "v311") the agent runs
two sim instances, one of events and one of telemetry (N each, QoS 1); a
mosquitto_sub on the broker itself (not through the relay) records every topic
and payload. Then one mosquitto_pub -l per topic sends those same payloads,
at QoS 1 and the same protocol version, through the relay. With MQTT 5 the
agent uses the topic aliases the broker allows (mosquitto's default
max_topic_alias 10); it runs once more against a second broker with
max_topic_alias 0 (no aliases), and mosquitto_pub runs once more with
-D publish topic-alias 1 (its first message names the topic, the others send
the alias alone).

The relay parses the MQTT stream in both directions and counts each packet's
bytes (fixed header included: what TCP carries). "Per message" is the PUBLISH
the client sends plus the PUBACK the broker answers; everything else
(CONNECT, SUBSCRIBE, PINGREQ, the agent's status message, DISCONNECT) is the
session's fixed cost and is printed apart. TCP/IP headers are not counted:
how many segments carry the bytes depends on batching, not on MQTT.

The relay resolves each PUBLISH's Topic Alias with its own connection's
table, as the broker does, so aliased messages are counted by their topic.

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
PROP_TOPIC_ALIAS = 0x23
# MQTT 5 property identifier -> bytes of its value (None: 2-byte length + data; "pair": two such)
PROP_VALUE_BYTES = {0x01: 1, 0x02: 4, 0x03: None, 0x08: None, 0x09: None, 0x23: 2, 0x26: "pair"}


def read_varint(buf, pos):
    value, mult = 0, 1
    while True:
        b = buf[pos]
        pos += 1
        value += (b & 0x7F) * mult
        if not b & 0x80:
            return value, pos
        mult *= 128


def topic_alias_of(props):
    """The Topic Alias in a v5 property block, or None."""
    pos = 0
    while pos < len(props):
        ident, pos = read_varint(props, pos)
        size = PROP_VALUE_BYTES[ident]
        if ident == PROP_TOPIC_ALIAS:
            return int.from_bytes(props[pos:pos + 2], "big")
        for _ in range(2 if size == "pair" else 1):
            pos += size if isinstance(size, int) else 2 + int.from_bytes(props[pos:pos + 2], "big")
    return None


class Packet:
    """One MQTT control packet as seen on the wire. A PUBLISH's topic is the
    one it names or, for an alias alone, the one its connection set for it."""

    __slots__ = ("kind", "size", "topic", "wire_topic_len", "alias", "payload_len",
                 "props_bytes")

    def __init__(self, raw, v5, aliases):
        self.kind = raw[0] >> 4
        self.size = len(raw)
        self.topic = None
        self.wire_topic_len = 0
        self.alias = None
        self.payload_len = 0
        self.props_bytes = 0
        if self.kind != PUBLISH:
            return
        _, pos = read_varint(raw, 1)
        tlen = int.from_bytes(raw[pos:pos + 2], "big")
        self.wire_topic_len = tlen
        self.topic = raw[pos + 2:pos + 2 + tlen].decode("utf-8", "replace")
        pos += 2 + tlen
        if (raw[0] >> 1) & 3:
            pos += 2  # packet identifier
        if v5:
            props_len, after = read_varint(raw, pos)
            self.props_bytes = after - pos + props_len
            self.alias = topic_alias_of(raw[after:after + props_len])
            pos = after + props_len
            if self.alias is not None:
                if self.topic:
                    aliases[self.alias] = self.topic
                else:
                    self.topic = aliases.get(self.alias)
        self.payload_len = len(raw) - pos


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
        buf, aliases = bytearray(), {}  # aliases: this connection's, in this direction
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                dst.sendall(data)
                buf += data
                buf = self._parse(buf, direction, aliases)
        except OSError:
            pass
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def _parse(self, buf, direction, aliases):
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
            pkt = Packet(bytes(buf[:end]), self.v5, aliases)
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


def run_agent(binary, plugin_dir, workdir, relay, broker, n, protocol, version, name):
    sub = capture(broker.port, 2 * n, version)
    d = os.path.join(workdir, name)
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


def run_pub(relay, broker, lines, version, alias=False):
    """mosquitto_pub of the captured payloads, with a subscriber on the broker as in the agent's
    run (an MQTT 5 broker answers "no matching subscribers" in a longer PUBACK otherwise).
    alias: -D publish topic-alias 1 (the topic named once, then the alias alone)."""
    proc, out = capture(broker.port, len(lines), version)
    by_topic = {}
    for topic, payload in lines:
        by_topic.setdefault(topic, []).append(payload)
    for topic, payloads in by_topic.items():
        extra = ["-D", "publish", "topic-alias", "1"] if alias else []
        subprocess.run(["mosquitto_pub", "-h", "127.0.0.1", "-p", str(relay.port), "-V", version,
                        "-q", "1", "-t", topic, "-l"] + extra, input="\n".join(payloads) + "\n",
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
                    "wire_topic": statistics.mean(p.wire_topic_len for p in pubs),
                    "alias_alone": sum(1 for p in pubs if p.alias is not None and
                                       not p.wire_topic_len)}
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


def per_msg(res, cls):
    return res[cls]["publish"] + res["puback"]


def describe(name, res, cls):
    r = res[cls]
    return (f"  {name:40s} {per_msg(res, cls):6.1f} B/msg (PUBLISH {r['publish']:.1f} + PUBACK "
            f"{res['puback']:.0f}; topic on the wire {r['wire_topic']:.1f} B, properties "
            f"{r['props']:.1f} B, {r['alias_alone']} of {r['n']} by alias alone)")


def report(label, runs, version):
    """runs: [(name, tally)]: the agent, mosquitto_pub of its payloads, and with MQTT 5 the
    agent against a broker that allows no alias (its own run: payloads of the same sizes, seq
    digits aside) and mosquitto_pub with an alias."""
    print(f"-- {label} (mosquitto_pub -V {version}), QoS 1")
    for cls in ("event", "telemetry"):
        first = runs[0][1][cls]
        for name, res in runs[1::2]:
            if res[cls]["payload"] != first["payload"]:
                sys.exit(f"{cls}: payloads differ ({name}: {res[cls]['payload']} vs "
                         f"{first['payload']} B)")
        print(f"{cls}: payload {first['payload']:.1f} B, topic {first['topic']:.0f} B")
        for name, res in runs:
            print(describe(name, res, cls))
        agent, pub = per_msg(runs[0][1], cls), per_msg(runs[1][1], cls)
        line = f"  RATIO {runs[0][0]} / {runs[1][0]} = {agent / pub:.3f}"
        if len(runs) == 4:
            no_alias, pub_alias = per_msg(runs[2][1], cls), per_msg(runs[3][1], cls)
            # the same payload bytes as the agent's run, for a like-for-like ratio
            no_alias += first["payload"] - runs[2][1][cls]["payload"]
            line += (f"; {runs[0][0]} / {runs[3][0]} = {agent / pub_alias:.3f}; "
                     f"{runs[0][0]} / {runs[2][0]} = {agent / no_alias:.3f} (saves "
                     f"{no_alias - agent:.1f} B/msg)")
        print(line)
    sess = ", ".join(f"{k} {v}" for k, v in sorted(runs[0][1]["session"].items()))
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
    brokers = []
    try:
        for sub in ("aliases", "no-aliases"):
            os.makedirs(os.path.join(workdir, sub))
        broker = Broker(os.path.join(workdir, "aliases"))  # mosquitto's max_topic_alias 10
        brokers.append(broker)
        plain = Broker(os.path.join(workdir, "no-aliases"), extra_lines=["max_topic_alias 0"])
        brokers.append(plain)
        print(f"messages: {args.messages} events + {args.messages} telemetry at "
              f"{RATE_PER_S:.0f}/s each; bytes are MQTT packets as TCP carries them")

        def measure(target, protocol, version, name, with_pub=False):
            """The agent's run, then (with_pub) mosquitto_pub of the same payloads."""
            relay = Relay(target.port, protocol == "v5")
            lines = run_agent(binary, plugin_dir, workdir, relay, target, args.messages,
                              protocol, version, name)
            agent = tally(relay.take())
            pub = None
            if with_pub:
                run_pub(relay, target, lines, version)
                pub = tally(relay.take())
            relay.close()
            return agent, pub, lines

        agent, pub, lines = measure(broker, "v5", "mqttv5", "v5", with_pub=True)
        relay = Relay(broker.port, True)
        run_pub(relay, broker, lines, "mqttv5", alias=True)
        pub_alias = tally(relay.take())
        relay.close()
        no_alias, _, _ = measure(plain, "v5", "mqttv5", "v5-no-aliases")
        report("MQTT 5", [("agent", agent), ("mosquitto_pub", pub),
                          ("agent, broker allows no alias", no_alias),
                          ("mosquitto_pub -D publish topic-alias 1", pub_alias)], "mqttv5")
        agent, pub, _ = measure(broker, "v311", "mqttv311", "v311", with_pub=True)
        report("MQTT 3.1.1", [("agent", agent), ("mosquitto_pub", pub)], "mqttv311")
    finally:
        for b in brokers:
            b.stop()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
