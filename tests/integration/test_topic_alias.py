"""MQTT 5 topic aliases on the wire: the agent's records use the aliases the
broker allows (its Topic Alias Maximum, mosquitto's max_topic_alias), and every
message still reaches a subscriber on its own full topic: with more distinct
topics than aliases, across a broker restart and a broken link (aliases belong
to one connection), and with none when the broker allows none.

Invariant: what the agent sent is read by a relay between agent and broker
that parses every PUBLISH and resolves its alias with that connection's own
table, as the broker must; what the topics are is read from a subscriber on
the broker itself. An envelope's topic is known from its payload (source and
type), so a message on a wrong topic is seen whatever the broker did.
"""

import os
import signal
import socket
import threading
import time

import ioca_test as t

AGENT = "itest-alias"
PUBLISH = 3
PROP_TOPIC_ALIAS = 0x23
# MQTT 5 property identifier -> value encoding (the PUBLISH ones and a few more)
PROP_KIND = {0x01: "byte", 0x02: "int32", 0x03: "string", 0x08: "string", 0x09: "binary",
             0x0B: "varint", 0x23: "int16", 0x26: "pair"}
EVENTS_PER_INSTANCE = 25
PAUSED_S = 1.5


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
        kind = PROP_KIND[ident]
        if kind == "byte":
            pos += 1
        elif kind == "int16":
            if ident == PROP_TOPIC_ALIAS:
                return int.from_bytes(props[pos:pos + 2], "big")
            pos += 2
        elif kind == "int32":
            pos += 4
        elif kind == "varint":
            _, pos = read_varint(props, pos)
        elif kind in ("string", "binary"):
            pos += 2 + int.from_bytes(props[pos:pos + 2], "big")
        else:  # string pair
            for _ in range(2):
                pos += 2 + int.from_bytes(props[pos:pos + 2], "big")
    return None


class Relay:
    """127.0.0.1:port -> the broker. Records each PUBLISH the client sends
    (MQTT 5) as a dict: conn (connection number), wire (topic name as sent),
    alias, topic (resolved with that connection's aliases; None when the alias
    was never set on it) and payload."""

    def __init__(self, target_port):
        self.target = target_port
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.sock.listen(8)
        self.lock = threading.Lock()
        self.publishes = []
        self.conns = []
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
            try:
                u = socket.create_connection(("127.0.0.1", self.target), timeout=2)
                u.settimeout(None)
            except OSError:
                c.close()  # broker down: the client sees the connection refused
                continue
            with self.lock:
                n = len(self.conns)
                self.conns.append((c, u))
            threading.Thread(target=self._pump, args=(c, u, n), daemon=True).start()
            threading.Thread(target=self._pump, args=(u, c, None), daemon=True).start()

    def _pump(self, src, dst, conn):
        buf, aliases = bytearray(), {}
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                dst.sendall(data)
                if conn is not None:
                    buf += data
                    buf = self._parse(buf, conn, aliases)
        except OSError:
            pass
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def _parse(self, buf, conn, aliases):
        while len(buf) >= 2:
            try:
                remaining, pos = read_varint(buf, 1)
            except IndexError:
                return buf
            end = pos + remaining
            if len(buf) < end:
                return buf
            raw = bytes(buf[:end])
            del buf[:end]
            if raw[0] >> 4 != PUBLISH:
                continue
            tlen = int.from_bytes(raw[pos:pos + 2], "big")
            wire = raw[pos + 2:pos + 2 + tlen].decode()
            pos += 2 + tlen
            if (raw[0] >> 1) & 3:
                pos += 2  # packet identifier
            plen, after = read_varint(raw, pos)
            alias = topic_alias_of(raw[after:after + plen])
            if alias is not None and wire:
                aliases[alias] = wire
            topic = wire or aliases.get(alias)
            with self.lock:
                self.publishes.append({"conn": conn, "wire": wire, "alias": alias,
                                       "topic": topic, "payload": raw[after + plen:]})
        return buf

    def records(self):
        with self.lock:
            return list(self.publishes)

    def break_links(self):
        """Close every connection in both directions (a broken network link)."""
        with self.lock:
            conns = list(self.conns)
        for pair in conns:
            for s in pair:
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def close(self):
        self.sock.close()
        self.break_links()


def is_event(m):
    return m.topic.startswith("ioc/%s/" % AGENT) and "/event/" in m.topic


def expected_topic(m):
    doc = m.json()
    return t.event_topic(AGENT, doc["source"], doc["type"])


class TopicAliasTest(t.AgentTestCase):

    def setUp(self):
        super().setUp()
        self.relay = None

    def tearDown(self):
        if self.relay:
            self.relay.close()
        super().tearDown()

    def start(self, alias_max, **broker_kw):
        broker = self.broker(extra_lines=["max_topic_alias %d" % alias_max], **broker_kw)
        self.relay = Relay(broker.port)
        return broker

    def run_agent(self, instances, **kw):
        return self.agent(agent_id=AGENT, broker_url=self.relay.url, instances=instances, **kw)

    def check_topics(self, sub):
        """Every event at the subscriber is on the topic its payload names."""
        wrong = [(m.topic, expected_topic(m)) for m in sub.messages(is_event)
                 if m.topic != expected_topic(m)]
        self.assertEqual(wrong, [], "events on the wrong topic")

    def check_wire(self, sub, alias_max):
        """Every PUBLISH resolves on its own connection, within the broker's
        maximum, to the topic the subscriber saw its payload on."""
        at_sub = {m.payload: m.topic for m in sub.messages()}
        pubs = self.relay.records()
        self.assertTrue(pubs, "the relay saw no PUBLISH")
        unknown = [p for p in pubs if p["topic"] is None]
        self.assertEqual(unknown, [], "an alias used before it was set on its connection")
        over = [p["alias"] for p in pubs if p["alias"] is not None and
                not 1 <= p["alias"] <= alias_max]
        self.assertEqual(over, [], "aliases outside 1..%d" % alias_max)
        mismatched = [(p["topic"], at_sub[p["payload"]]) for p in pubs
                      if p["payload"] in at_sub and at_sub[p["payload"]] != p["topic"]]
        self.assertEqual(mismatched, [], "wire topic differs from the subscriber's")
        status = [p for p in pubs if p["topic"] == "ioc/%s/status" % AGENT]
        self.assertTrue(status and all(p["alias"] is None for p in status),
                        "the retained status goes by its full name, without an alias")
        return pubs

    def check_no_protocol_errors(self, broker, agent):
        for text in (broker.log(), agent.log()):
            self.assertNotRegex(text, r"(?i)protocol error|topic alias invalid|malformed")

    def test_more_topics_than_aliases(self):
        alias_max = 3
        broker = self.start(alias_max)
        sub = self.subscriber(broker.port, topics=["ioc/#"])
        names = ["ev%d" % i for i in range(5)]
        a = self.run_agent([t.sim(n, rate=10.0, count=EVENTS_PER_INSTANCE) for n in names])
        sims = lambda m: is_event(m) and m.json()["source"] in names  # noqa: E731
        got = self.expect(sub, sims, 30, count=len(names) * EVENTS_PER_INSTANCE,
                          what="every sim event")
        self.check_topics(sub)
        per_source = {}
        for m in got:
            per_source.setdefault(m.json()["source"], set()).add(m.json()["data"]["n"])
        self.assertEqual({s: len(v) for s, v in per_source.items()},
                         {n: EVENTS_PER_INSTANCE for n in names})
        pubs = self.check_wire(sub, alias_max)
        records = [p for p in pubs if p["topic"] and "/event/" in p["topic"]]
        used = [p for p in records if p["alias"] is not None and not p["wire"]]
        named = [p for p in records if p["alias"] is None]
        self.assertGreater(len(used), len(records) // 2,
                           "most events go as an alias alone (%d of %d)" %
                           (len(used), len(records)))
        self.assertEqual({p["alias"] for p in records if p["alias"]},
                         set(range(1, alias_max + 1)))
        self.assertTrue(named, "topics beyond the broker's maximum go by name")
        self.assertEqual(len({p["conn"] for p in pubs}), 1)
        self.check_no_protocol_errors(broker, a)

    def test_reconnects_set_aliases_again(self):
        """A broker restart, then a link broken while aliased records are in
        flight (the broker paused): each new connection sets its aliases again
        before using them, and no seq is lost."""
        alias_max = 10
        broker = self.start(alias_max, persistence=True)
        sub = self.subscriber(broker.port, topics=["ioc/#"], persistent=True,
                              client_id="itest-alias-sub")
        names = ["ev%d" % i for i in range(3)]
        a = self.run_agent([t.sim(n, rate=10.0) for n in names])
        self.expect(sub, is_event, 10, count=20, what="events before the restart")

        broker.restart(down_s=1.0)
        before = max(t.seqs_of(sub.messages(is_event)))
        self.expect(sub, lambda m: is_event(m) and m.json()["seq"] > before + 20, 20,
                    what="events after the restart")

        # the link breaks with unacknowledged aliased records in libmosquitto
        os.kill(broker.pid, signal.SIGSTOP)
        try:
            time.sleep(PAUSED_S)
            self.relay.break_links()
        finally:
            os.kill(broker.pid, signal.SIGCONT)
        before = max(t.seqs_of(sub.messages(is_event)))
        self.expect(sub, lambda m: is_event(m) and m.json()["seq"] > before + 40, 20,
                    what="events after the broken link")

        self.check_topics(sub)
        seqs = sorted(set(t.seqs_of(sub.messages(is_event))))
        missing = sorted(set(range(seqs[0], seqs[-1] + 1)) - set(seqs))
        self.assertEqual(missing, [], "seq values lost across the reconnects")
        pubs = self.check_wire(sub, alias_max)
        conns = sorted({p["conn"] for p in pubs})
        self.assertGreaterEqual(len(conns), 3, "a connection before, between and after")
        for c in conns:
            on_c = [p for p in pubs if p["conn"] == c and p["alias"] is not None]
            self.assertTrue(on_c, "connection %d used no alias" % c)
            self.assertTrue(on_c[0]["wire"], "connection %d began with an alias alone" % c)
        self.check_no_protocol_errors(broker, a)

    def test_broker_allows_no_alias(self):
        broker = self.start(0)
        sub = self.subscriber(broker.port, topics=["ioc/#"])
        names = ["ev%d" % i for i in range(3)]
        a = self.run_agent([t.sim(n, rate=10.0, count=EVENTS_PER_INSTANCE) for n in names])
        self.expect(sub, lambda m: is_event(m) and m.json()["source"] in names, 30,
                    count=len(names) * EVENTS_PER_INSTANCE, what="every sim event")
        self.check_topics(sub)
        pubs = self.check_wire(sub, 0)
        self.assertEqual([p for p in pubs if p["alias"] is not None or not p["wire"]], [])
        self.check_no_protocol_errors(broker, a)


if __name__ == "__main__":
    t.main()
