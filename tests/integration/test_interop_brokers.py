"""Interoperability: the agent's MQTT delivery against brokers the project did
not write, each installed from Debian or npm (scripts/deps.sh test) and
started in the test's temporary directory on private loopback ports:

  ejabberd 23.01 mod_mqtt (Debian), MQTT 5: sessions and offline queues are
      held in RAM, so a restart loses the subscriber's session; the "restart"
      is the agent's link cut (every connection through a relay closed).
  nats-server 2.9 MQTT gateway (Debian), MQTT 3.1.1: sessions and QoS 1
      messages live in JetStream (store in the temp dir), so the broker itself
      is stopped (SIGTERM) and started again mid-stream. nats-server 2.9.10
      often does not deliver the last records it acknowledged (PUBACK) before
      the stop; a relay that reads the PUBACKs tells those (the broker's loss,
      reported, at most MAX_BROKER_LOST) from a record the agent dropped (a
      failure).
  aedes 0.51 (npm, tests/tools/aedes_broker.js), MQTT 3.1.1: in-memory
      persistence, so the agent's link is cut, as for ejabberd.

For each: the retained online status reaches a fresh subscriber, again after
the restart or cut (which fired the will); a signed ping command (MQTT 5:
Response Topic and Correlation Data; 3.1.1: reply_to) is answered before and
after it, so the agent's command subscription outlives it; a persistent
QoS 1 subscriber sees every record by id (seq is per agent: two sim instances
and the agent's own events interleave on it, so every seq from the first to
the last is counted) across the restart or cut, records spooled while the link
was down included; after kill -9 the will (offline) arrives. On ejabberd (MQTT 5)
the records carry their Content Type and, those spooled longer than
spool.historical_after during the cut, the user property historical=true; also:
with more distinct topics than its max_topic_aliases, every record reaches the
subscriber on the full topic its payload names, the wire showing aliases within
ejabberd's maximum, each set on the connection before it is used alone.
ejabberd 23.01's CONNACK carries Topic Alias Maximum and Server Keep Alive but
no Maximum Packet Size: its listener's max_payload_size closes the connection
on a larger PUBLISH, and the agent must find that record, reject it
(agent.record_rejected) and deliver the rest.

Skips (with the reason) only when the broker is not installed; under CI=true
a missing broker is a failure instead, since deps.sh installs them all.

Invariant: everything a test starts (broker, its store, logs, Erlang node
without epmd) lives in the test's temporary directory, listens on 127.0.0.1
only and is stopped by process group at cleanup.
"""

import glob
import json
import os
import shutil
import signal
import socket
import subprocess
import threading
import time
import unittest

import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

import ioca_test as t
import test_commands as cmds
import test_topic_alias as alias_wire

RATE = 20.0  # per sim instance; two instances
BOOT_TIMEOUT_S = 60.0
CUT_DOWN_S = 2.0
STREAM_TIMEOUT_S = 30.0
DRAIN_TIMEOUT_S = 30.0
WILL_TIMEOUT_S = 20.0
HISTORICAL_AFTER_S = 1
MAX_PAYLOAD = 2000  # ejabberd listener's max_payload_size in the oversized-record test
REJECT_TIMEOUT_S = 40.0
MAX_BROKER_LOST = 10  # nats: records it acknowledged just before its stop (tens of ms at 40/s)

ERL = shutil.which("erl") or "/usr/bin/erl"
# Debian installs ejabberd's Erlang applications under /usr/lib/<multiarch triplet>
EJABBERD_BEAMS = sorted(glob.glob("/usr/lib/*/ejabberd-*/ebin/mod_mqtt.beam"))
EJABBERD_LIBS = (os.path.dirname(os.path.dirname(os.path.dirname(EJABBERD_BEAMS[0])))
                 if EJABBERD_BEAMS else "")
NATS_SERVER = shutil.which("nats-server") or "/usr/sbin/nats-server"
NODE = shutil.which("node") or "/usr/bin/node"
AEDES_VERSION = "0.51.3"
NPM_DIR = os.environ.get("IOCA_NPM_DIR", os.path.join(t.SOURCE_DIR, "build", "npm"))
AEDES_SCRIPT = os.path.join(t.SOURCE_DIR, "tests", "tools", "aedes_broker.js")


def ejabberd_installed():
    """True when Debian's ejabberd (its mod_mqtt) and erl are there."""
    return bool(EJABBERD_BEAMS) and os.access(ERL, os.X_OK)


def aedes_installed():
    return os.access(NODE, os.X_OK) and os.path.isfile(
        os.path.join(NPM_DIR, "node_modules", "aedes", "package.json"))


def missing(what, installed):
    """skipUnless arguments: skip without the broker, except under CI where deps.sh
    installs it (the test then fails in setUp instead of passing silently)."""
    return installed or os.environ.get("CI") == "true", "%s not installed (scripts/deps.sh test)" % what


class ProcessBroker:
    """A broker process in its own process group, logging to a file in `dir`."""

    name = "broker"
    protocol = "v5"
    keeps_sessions = False
    username = None

    def __init__(self, workdir):
        self.dir = os.path.join(workdir, self.name)
        os.makedirs(self.dir)
        self.port = t.free_port()
        self.log_path = os.path.join(self.dir, "broker.log")
        self.proc = None

    def command(self):
        raise NotImplementedError

    def env(self):
        return dict(os.environ)

    def start(self):
        out = open(self.log_path, "ab")
        self.proc = subprocess.Popen(self.command(), stdout=out, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, env=self.env(), cwd=self.dir,
                                     start_new_session=True)
        out.close()

        def up():
            if self.proc.poll() is not None:
                raise RuntimeError("%s exited with %s:\n%s" % (self.name, self.proc.returncode,
                                                               self.log()[-3000:]))
            return t.port_open(self.port)
        if not t.wait_until(up, BOOT_TIMEOUT_S, interval=0.2):
            raise RuntimeError("%s: no listener on %d within %.0f s:\n%s" %
                               (self.name, self.port, BOOT_TIMEOUT_S, self.log()[-3000:]))
        return self

    def stop(self):
        """SIGTERM (a graceful stop), then the whole process group."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(t.STOP_TIMEOUT_S * 2)
            except subprocess.TimeoutExpired:
                pass
        self.kill()

    def kill(self):
        if not self.proc:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except OSError:
            pass
        try:
            self.proc.wait(t.STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            pass

    def log(self):
        try:
            with open(self.log_path, errors="replace") as f:
                return f.read()
        except OSError:
            return ""


class Ejabberd(ProcessBroker):
    """ejabberd started as a bare Erlang node (no ejabberdctl: it would switch to
    the ejabberd user, which cannot use the temp dir, and use the system epmd):
    its distribution on a private loopback port without epmd, Mnesia in the temp
    dir, anonymous logins (login_anon: any user name), mod_mqtt on `port`."""

    name = "ejabberd"
    protocol = "v5"
    username = "itest-agent"

    def __init__(self, workdir, max_topic_aliases=4, max_payload_size=None):
        super().__init__(workdir)
        limit = ["    max_payload_size: %d" % max_payload_size] if max_payload_size else []
        self.dist_port = t.free_port()
        self.conf = os.path.join(self.dir, "ejabberd.yml")
        with open(self.conf, "w") as f:
            f.write("\n".join([
                "hosts: [localhost]",
                "loglevel: info",
                "log_rotate_count: 0",
                "auth_method: [anonymous]",
                "anonymous_protocol: login_anon",
                "allow_multiple_connections: true",
                "listen:",
                "  - port: %d" % self.port,
                "    ip: \"127.0.0.1\"",
                "    module: mod_mqtt",
                "    backlog: 1000",
            ] + limit + [
                "modules:",
                "  mod_mqtt:",
                "    max_topic_aliases: %d" % max_topic_aliases,
                "    max_queue: 100000",
                "    session_expiry: 600",
            ]) + "\n")

    def env(self):
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("ERL_", "EJABBERD_"))}
        env.update(HOME=self.dir, ERL_LIBS=EJABBERD_LIBS, EJABBERD_CONFIG_PATH=self.conf,
                   EJABBERD_LOG_PATH=os.path.join(self.dir, "ejabberd.log"),
                   EJABBERD_PID_PATH=os.path.join(self.dir, "ejabberd.pid"))
        return env

    def command(self):
        return [ERL, "-sname", "itest%d@localhost" % self.port, "-noinput",
                "-erl_epmd_port", str(self.dist_port), "-start_epmd", "false",
                "-kernel", "inet_dist_use_interface", "{127,0,0,1}",
                "-mnesia", "dir", '"%s"' % os.path.join(self.dir, "mnesia"),
                "-s", "ejabberd"]

    def log(self):
        text = super().log()
        try:
            with open(os.path.join(self.dir, "ejabberd.log"), errors="replace") as f:
                text += f.read()
        except OSError:
            pass
        return text


class Nats(ProcessBroker):
    """nats-server with JetStream (store in the temp dir) and its MQTT listener."""

    name = "nats"
    protocol = "v311"
    keeps_sessions = True

    def __init__(self, workdir):
        super().__init__(workdir)
        self.client_port = t.free_port()
        self.conf = os.path.join(self.dir, "nats.conf")
        with open(self.conf, "w") as f:
            f.write("\n".join([
                "server_name: itest_nats",
                "listen: 127.0.0.1:%d" % self.client_port,
                "jetstream { store_dir: \"%s\" }" % os.path.join(self.dir, "js"),
                "mqtt { listen: 127.0.0.1:%d }" % self.port,
            ]) + "\n")

    def command(self):
        return [NATS_SERVER, "-c", self.conf]

    def restart(self):
        self.stop()
        time.sleep(CUT_DOWN_S)
        return self.start()


class Aedes(ProcessBroker):
    """aedes (npm) under node, by tests/tools/aedes_broker.js."""

    name = "aedes"
    protocol = "v311"

    def env(self):
        env = dict(os.environ)
        env["NODE_PATH"] = os.path.join(NPM_DIR, "node_modules")
        return env

    def command(self):
        return [NODE, AEDES_SCRIPT, str(self.port)]


class LinkRelay:
    """127.0.0.1:port -> the broker, bytes copied as they are. cut(down_s): close
    every connection and refuse new ones for down_s seconds, as a broken network
    link would. It also reads the MQTT 3.1.1 or 5 packets on the way: the seq of
    each QoS 1 record the client published, and which of them the broker
    acknowledged (PUBACK), per connection."""

    def __init__(self, target_port, v5):
        self.target = target_port
        self.v5 = v5
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.sock.listen(8)
        self.lock = threading.Lock()
        self.conns = []
        self.acked = set()
        self.topics = {}  # seq -> topic it was published on (last time)
        self.down_until = 0.0
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def url(self):
        return "mqtt://127.0.0.1:%d" % self.port

    def _accept(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            if time.monotonic() < self.down_until:
                c.close()
                continue
            try:
                u = socket.create_connection(("127.0.0.1", self.target), timeout=2)
                u.settimeout(None)
            except OSError:
                c.close()
                continue
            pending = {}  # packet id -> seq of the record in flight on this connection
            with self.lock:
                self.conns.append((c, u))
            threading.Thread(target=self._pump, args=(c, u, pending, True), daemon=True).start()
            threading.Thread(target=self._pump, args=(u, c, pending, False), daemon=True).start()

    def _pump(self, src, dst, pending, upstream):
        buf = bytearray()
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                buf += data
                buf = self._parse(buf, pending, upstream)  # before the peer can answer
                dst.sendall(data)
        except (OSError, ValueError, IndexError):
            pass
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def _parse(self, buf, pending, upstream):
        while len(buf) >= 2:
            try:
                remaining, pos = alias_wire.read_varint(buf, 1)
            except IndexError:
                return buf
            end = pos + remaining
            if len(buf) < end:
                return buf
            raw = bytes(buf[:end])
            del buf[:end]
            kind = raw[0] >> 4
            if upstream and kind == alias_wire.PUBLISH and (raw[0] >> 1) & 3:
                tlen = int.from_bytes(raw[pos:pos + 2], "big")
                topic = raw[pos + 2:pos + 2 + tlen].decode("utf-8", "replace")
                pos += 2 + tlen
                pid = int.from_bytes(raw[pos:pos + 2], "big")
                pos += 2
                if self.v5:
                    plen, pos = alias_wire.read_varint(raw, pos)
                    pos += plen
                try:
                    seq = json.loads(raw[pos:].decode("utf-8")).get("seq")
                except ValueError:
                    seq = None
                with self.lock:
                    pending[pid] = seq
                    if seq is not None:
                        self.topics[seq] = topic
            elif not upstream and kind == 4:  # PUBACK
                pid = int.from_bytes(raw[pos:pos + 2], "big")
                with self.lock:
                    seq = pending.pop(pid, None)
                    if seq is not None:
                        self.acked.add(seq)
        return buf

    def acknowledged(self):
        with self.lock:
            return set(self.acked)

    def cut(self, down_s):
        self.down_until = time.monotonic() + down_s
        with self.lock:
            conns, self.conns = self.conns, []
        for pair in conns:
            for s in pair:
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                s.close()
        time.sleep(down_s)

    def close(self):
        self.sock.close()
        self.cut(0)


class Collector:
    """A paho client (MQTT 5 or 3.1.1) with a persistent session (clean start
    off, session expiry on v5), QoS 1, recording (topic, payload, retain) of each
    message under `topics`; reconnects by itself."""

    def __init__(self, port, topics, protocol, client_id, username=None, persistent=True):
        self.lock = threading.Lock()
        self.messages = []
        self.props = {}  # payload -> MQTT 5 properties as delivered
        self.subscribed = threading.Event()
        self.topics = topics
        self.v5 = protocol == "v5"
        kw = {} if self.v5 else {"clean_session": not persistent}
        self.client = mqtt.Client(client_id=client_id,
                                  protocol=mqtt.MQTTv5 if self.v5 else mqtt.MQTTv311, **kw)
        if username:
            self.client.username_pw_set(username, "x")
        self.client.on_connect = self._on_connect
        self.client.on_subscribe = lambda c, u, mid, granted, p=None: self.subscribed.set()
        self.client.on_message = self._on_message
        self.client.reconnect_delay_set(min_delay=1, max_delay=1)
        if self.v5:
            props = Properties(PacketTypes.CONNECT)
            if persistent:
                props.SessionExpiryInterval = 600
            self.client.connect("127.0.0.1", port, keepalive=10, clean_start=not persistent,
                                properties=props)
        else:
            self.client.connect("127.0.0.1", port, keepalive=10)
        self.client.loop_start()
        if not self.subscribed.wait(t.START_TIMEOUT_S):
            self.close()
            raise RuntimeError("subscriber could not subscribe on port %d" % port)

    def _on_connect(self, client, userdata, flags, rc, properties=None):
        if rc == 0:
            client.subscribe([(topic, 1) for topic in self.topics])

    def _on_message(self, client, userdata, msg):
        with self.lock:
            self.messages.append((msg.topic, bytes(msg.payload), bool(msg.retain)))
            self.props[bytes(msg.payload)] = getattr(msg, "properties", None)

    def snapshot(self):
        with self.lock:
            return list(self.messages)

    def properties(self, payload):
        with self.lock:
            return self.props.get(payload)

    def close(self):
        try:
            self.client.disconnect()
        except Exception:  # noqa: BLE001 - best effort in cleanup
            pass
        self.client.loop_stop()


def records(messages, agent_id):
    """The JSON records (events) among (topic, payload, retain) tuples."""
    out = []
    for topic, payload, _ in messages:
        if topic.startswith("ioc/%s/" % agent_id) and "/event/" in topic:
            out.append((topic, json.loads(payload.decode("utf-8"))))
    return out


def seq_gaps(recs):
    """(seqs seen, ids missing between the lowest and the highest seq)."""
    seqs = {doc["seq"] for _, doc in recs}
    if not seqs:
        return seqs, []
    return seqs, sorted(set(range(min(seqs), max(seqs) + 1)) - seqs)


class InteropCase(t.AgentTestCase):

    def run_delivery(self, broker):
        """The common scenario (see the module docstring) on a started broker."""
        agent_id = "itest-interop-%s" % broker.name
        relay = LinkRelay(broker.port, broker.protocol == "v5")
        self.addCleanup(relay.close)
        sub = Collector(broker.port, ["ioc/%s/#" % agent_id], broker.protocol,
                        "itest-interop-sub-%s" % broker.name, username=broker.username)
        self.addCleanup(sub.close)
        mq = {"keepalive": 5, "reconnect_min": 1, "reconnect_max": 2}
        if broker.protocol == "v311":
            mq["protocol"] = "v311"
        if broker.username:
            mq.update(self.credentials(broker))
        a = self.agent(broker_url=relay.url, agent_id=agent_id,
                       instances=[t.sim("s1", rate=RATE), t.sim("s2", rate=RATE)],
                       mqtt_extra=mq,
                       sections={"spool": {"historical_after": HISTORICAL_AFTER_S},
                                 "commands": {"enabled": ["ping"],
                                              "key_file": self.command_key()}})
        status_topic = "ioc/%s/status" % agent_id

        # the retained status, to a subscriber that comes after it
        online = self.retained_status(broker, status_topic, "online")
        self.assertEqual(online["state"], "online")

        self.assertTrue(t.wait_until(lambda: len(records(sub.snapshot(), agent_id)) >= RATE,
                                     STREAM_TIMEOUT_S),
                        "no stream of records:\n%s\n%s" % (a.log()[-3000:],
                                                           broker.log()[-2000:]))
        self.ping(broker, agent_id, "before")
        before = max(seq_gaps(records(sub.snapshot(), agent_id))[0])
        if not broker.keeps_sessions:
            relay.cut(CUT_DOWN_S)
            what = "link cut for %.0f s" % CUT_DOWN_S
        else:
            broker.restart()
            what = "broker restarted (down %.0f s)" % CUT_DOWN_S
        self.assertTrue(a.running(), "the agent died:\n" + a.log()[-3000:])
        self.assertTrue(t.wait_until(
            lambda: max(seq_gaps(records(sub.snapshot(), agent_id))[0]) > before + 2 * RATE * 2,
            STREAM_TIMEOUT_S), "no records well after the %s:\n%s" % (what, a.log()[-3000:]))

        # the cut or stop fired the will (offline); the agent is online again,
        # subscribed to its commands again whatever the broker kept of its session
        self.retained_status(broker, status_topic, "online")
        self.ping(broker, agent_id, "after")

        def unexplained(gaps):
            """Gaps less the records the broker acknowledged and then lost (nats)."""
            return set(gaps) - relay.acknowledged() if broker.keeps_sessions else set(gaps)

        def complete():
            seqs, gaps = seq_gaps(records(sub.snapshot(), agent_id))
            return not unexplained(gaps) and min(seqs) == 1
        t.wait_until(complete, DRAIN_TIMEOUT_S)
        recs = records(sub.snapshot(), agent_id)
        seqs, gaps = seq_gaps(recs)
        acked = relay.acknowledged()
        broker_lost = sorted(set(gaps) - unexplained(gaps))
        self.assertEqual(sorted(unexplained(gaps)), [],
                         "%d records lost across the %s (%d of them acknowledged by the broker)"
                         % (len(gaps), what, len(set(gaps) & acked)))
        self.assertLessEqual(len(broker_lost), MAX_BROKER_LOST,
                             "the broker lost more than its in-flight records at the stop")
        self.assertEqual(min(seqs), 1, "the first records are missing")
        ids = {doc["id"] for _, doc in recs}
        self.assertEqual(ids, {"%s:%d" % (agent_id, s) for s in seqs}, "ids do not match seqs")
        sources = {doc["source"] for _, doc in recs}
        self.assertTrue({"s1", "s2"} <= sources, sources)
        wrong = [(topic, doc["source"], doc["type"]) for topic, doc in recs
                 if topic != t.event_topic(agent_id, doc["source"], doc["type"])]
        self.assertEqual(wrong, [], "records on the wrong topic")

        if broker.protocol == "v5":
            self.check_v5_properties(sub, before)

        # the will: kill -9, the broker publishes offline
        a.kill()
        self.assertTrue(t.wait_until(lambda: any(
            topic == status_topic and json.loads(p)["state"] == "offline"
            for topic, p, _ in sub.snapshot()), WILL_TIMEOUT_S),
            "no will (offline) after kill -9")
        off = self.retained_status(broker, status_topic, "offline")
        print("%s: %d records (seq 1..%d, %d duplicates), %s, %d lost by the broker after its "
              "PUBACK %s, online/offline status and will seen" %
              (broker.name, len(seqs), max(seqs), len(recs) - len(seqs), what, len(broker_lost),
               [(s, relay.topics.get(s)) for s in broker_lost]))
        return a, sub, off

    def check_v5_properties(self, sub, before):
        """What the agent puts on a v5 record reaches the subscriber: the Content
        Type, and the user property historical=true on the records that waited
        in the spool longer than historical_after while the link was down (and
        on none of those delivered before the cut, seq <= before)."""
        hist, live_before, untyped = 0, [], []
        for topic, payload, _ in sub.snapshot():
            if "/event/" not in topic:
                continue
            props = sub.properties(payload)
            if getattr(props, "ContentType", None) != "application/json":
                untyped.append(topic)
            if t.is_historical(props):
                hist += 1
                if json.loads(payload.decode("utf-8"))["seq"] <= before:
                    live_before.append(topic)
        self.assertEqual(untyped, [], "records without Content Type application/json")
        self.assertGreater(hist, 0, "no record marked historical after the link was down")
        self.assertEqual(live_before, [], "records delivered live before the cut marked historical")

    def command_key(self):
        path = os.path.join(self.tmp, "cmd.key")
        with open(path, "wb") as f:
            f.write(cmds.KEY + b"\n")
        os.chmod(path, 0o600)
        return path

    def ping(self, broker, agent_id, when, timeout=15):
        """A signed ping (docs/commands.md) answered: on MQTT 5 by Response Topic
        with the request's Correlation Data, on 3.1.1 on the request's reply_to."""
        v5 = broker.protocol == "v5"
        reply_topic = "itest/replies/%s/%s" % (broker.name, when)
        r = Collector(broker.port, [reply_topic], broker.protocol,
                      "itest-req-%s-%s" % (broker.name, when), username=broker.username,
                      persistent=False)
        try:
            deadline = time.monotonic() + timeout
            n = 0
            while time.monotonic() < deadline:
                n += 1
                rid, body = cmds.request("ping", reply_to=None if v5 else reply_topic)
                props = None
                if v5:
                    props = Properties(PacketTypes.PUBLISH)
                    props.ResponseTopic = reply_topic
                    props.CorrelationData = b"corr-%d" % n
                r.client.publish("ioc/%s/cmd/ping" % agent_id, body, qos=1, properties=props)

                def answered(rid=rid):
                    for _, payload, _ in r.snapshot():
                        if json.loads(payload.decode("utf-8")).get("request_id") == rid:
                            return payload
                    return None
                payload = t.wait_until(answered, 1.0)
                if payload:
                    reply = json.loads(payload.decode("utf-8"))
                    self.assertTrue(reply["ok"], reply)
                    self.assertEqual(reply["command"], "ping")
                    if v5:
                        corr = getattr(r.properties(payload), "CorrelationData", None)
                        self.assertEqual(corr, b"corr-%d" % n, "Correlation Data")
                    return reply
        finally:
            r.close()
        self.fail("no reply to a ping %s the %s" % (when, "restart" if broker.keeps_sessions
                                                    else "cut"))

    def credentials(self, broker):
        """mqtt.username and a password_file: ejabberd's anonymous login_anon
        takes any name, but only with a password."""
        path = os.path.join(self.tmp, "mqtt-password")
        with open(path, "w") as f:
            f.write("itest\n")
        os.chmod(path, 0o600)
        return {"username": broker.username, "password_file": path}

    def retained_status(self, broker, topic, state, timeout=15):
        """The retained status `state` as a fresh (clean) subscriber gets it."""
        deadline = time.monotonic() + timeout
        last = None
        n = 0
        while time.monotonic() < deadline:
            n += 1
            c = Collector(broker.port, [topic], broker.protocol,
                          "itest-status-%s-%d" % (broker.name, n), username=broker.username,
                          persistent=False)
            try:
                if t.wait_until(lambda: c.snapshot(), 2):
                    _, payload, retained = c.snapshot()[-1]
                    last = json.loads(payload.decode("utf-8"))
                    if retained and last.get("state") == state:
                        return last
            finally:
                c.close()
            time.sleep(0.3)
        self.fail("no retained status %r on %s (last %r)" % (state, topic, last))


@unittest.skipUnless(*missing("ejabberd", ejabberd_installed()))
class EjabberdTest(InteropCase):

    def start_broker(self, **kw):
        b = Ejabberd(self.tmp, **kw)
        self.addCleanup(b.kill)
        return b.start()

    def test_delivery_will_and_link_cut(self):
        self.run_delivery(self.start_broker())

    def test_more_topics_than_topic_aliases(self):
        """max_topic_aliases 3 and six instances: more topics than aliases. Every
        record is on its full topic at the subscriber; the wire (a parsing relay)
        uses aliases 1..3 only and sets each before using it."""
        alias_max = 3
        broker = self.start_broker(max_topic_aliases=alias_max)
        agent_id = alias_wire.AGENT
        relay = alias_wire.Relay(broker.port)
        self.addCleanup(relay.close)
        sub = Collector(broker.port, ["ioc/%s/#" % agent_id], "v5", "itest-interop-alias-sub",
                        username=broker.username)
        self.addCleanup(sub.close)
        names = ["ev%d" % i for i in range(6)]
        count = 20
        a = self.agent(broker_url=relay.url, agent_id=agent_id,
                       instances=[t.sim(n, rate=10.0, count=count) for n in names],
                       mqtt_extra=dict(self.credentials(broker), keepalive=5))
        got = lambda: [r for r in records(sub.snapshot(), agent_id)  # noqa: E731
                       if r[1]["source"] in names]
        self.assertTrue(t.wait_until(lambda: len({r[1]["seq"] for r in got()}) >= 6 * count,
                                     STREAM_TIMEOUT_S),
                        "%d of %d sim records:\n%s" % (len(got()), 6 * count, a.log()[-3000:]))
        wrong = [(topic, t.event_topic(agent_id, doc["source"], doc["type"]))
                 for topic, doc in records(sub.snapshot(), agent_id)
                 if topic != t.event_topic(agent_id, doc["source"], doc["type"])]
        self.assertEqual(wrong, [], "records on the wrong topic")
        pubs = relay.records()
        self.assertEqual([p for p in pubs if p["topic"] is None], [],
                         "an alias used before it was set on its connection")
        used = {p["alias"] for p in pubs if p["alias"] is not None}
        self.assertEqual(used, set(range(1, alias_max + 1)), "aliases used")
        alone = [p for p in pubs if p["alias"] is not None and not p["wire"]]
        self.assertTrue(alone, "no record went as an alias alone")
        at_sub = {payload: topic for topic, payload, _ in sub.snapshot()}
        mismatched = [(p["topic"], at_sub[p["payload"]]) for p in pubs
                      if p["payload"] in at_sub and at_sub[p["payload"]] != p["topic"]]
        self.assertEqual(mismatched, [], "wire topic differs from the subscriber's")
        self.assertEqual(len({p["conn"] for p in pubs}), 1, "the agent reconnected")
        self.assertNotRegex(broker.log(), r"(?i)protocol error|malformed|topic.alias")


    def test_record_over_max_payload_size_rejected(self):
        """ejabberd announces no Maximum Packet Size; its listener's
        max_payload_size closes the connection on a larger PUBLISH. The agent
        must find the record it cannot deliver, reject it (agent.record_rejected)
        and go on: every other record arrives."""
        broker = self.start_broker(max_payload_size=MAX_PAYLOAD)
        agent_id = "itest-interop-limit"
        sub = Collector(broker.port, ["ioc/%s/#" % agent_id], "v5", "itest-interop-limit-sub",
                        username=broker.username)
        self.addCleanup(sub.close)
        a = self.agent(broker_url="mqtt://127.0.0.1:%d" % broker.port, agent_id=agent_id,
                       instances=[t.sim("small", rate=10.0),
                                  t.sim("big", rate=1.0, count=1, payload_bytes=2 * MAX_PAYLOAD)],
                       mqtt_extra=dict(self.credentials(broker), keepalive=5, reconnect_min=1,
                                       reconnect_max=1))

        def rejected():
            return [doc for _, doc in records(sub.snapshot(), agent_id)
                    if doc["type"] == "agent.record_rejected"]
        self.assertTrue(t.wait_until(rejected, REJECT_TIMEOUT_S),
                        "the oversized record was never rejected:\n" + a.log()[-4000:])
        report = rejected()[0]["data"]
        self.assertIn("/big/", report["topic"])
        self.assertGreater(report["size"], MAX_PAYLOAD)
        lost = {report["seq"]}
        top = max(seq_gaps(records(sub.snapshot(), agent_id))[0])
        self.assertTrue(t.wait_until(lambda: set(seq_gaps(records(sub.snapshot(), agent_id))[1])
                                     <= lost and max(seq_gaps(records(sub.snapshot(), agent_id))[0])
                                     > top + 20, STREAM_TIMEOUT_S),
                        "records lost besides the rejected one: %r" %
                        seq_gaps(records(sub.snapshot(), agent_id))[1])
        print("ejabberd max_payload_size %d: record %d (%d bytes) rejected: %s" %
              (MAX_PAYLOAD, report["seq"], report["size"], report["reason"]))


@unittest.skipUnless(*missing("nats-server", os.access(NATS_SERVER, os.X_OK)))
class NatsTest(InteropCase):

    def test_delivery_will_and_broker_restart(self):
        b = Nats(self.tmp)
        self.addCleanup(b.kill)
        self.run_delivery(b.start())


@unittest.skipUnless(*missing("aedes (npm) or node", aedes_installed()))
class AedesTest(InteropCase):

    def test_delivery_will_and_link_cut(self):
        b = Aedes(self.tmp)
        self.addCleanup(b.kill)
        self.run_delivery(b.start())


if __name__ == "__main__":
    t.main()
