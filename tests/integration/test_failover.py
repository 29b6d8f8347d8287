"""Failover and hierarchy with real brokers, under load:
(a) two brokers in mqtt.brokers, the link to the first cut for good under load:
    the agent moves to the second and nothing is lost (subscribers on both
    brokers, union by seq);
(b) a district mosquitto bridging (QoS 1, persistent) to a provincial
    mosquitto, the subscriber at the province, the bridge link cut for 30 s by
    a TCP relay that drops every connection and refuses new ones: 0 lost at
    the province.

Invariant: "lost" is judged by seq: every seq the agent assigned to a sim
event must reach the subscriber at least once, and nothing else is counted.
"""

import socket
import threading
import time

import ioca_test as t

AGENT = "itest-failover"
RATE = 50.0
LINK_CUT_S = 30.0


def sim_seqs(msgs):
    """Seqs of every spooled record, the agent's own events included: seq is
    per agent, so a gap among the sim's events alone can be an agent event."""
    out = set()
    for m in msgs:
        if "/event/" in m.topic or m.topic.endswith("/telemetry"):
            out.add(m.json()["seq"])
    return out


def assert_no_gap(testcase, seqs, what):
    testcase.assertTrue(seqs, "no events reached %s" % what)
    missing = sorted(set(range(min(seqs), max(seqs) + 1)) - seqs)
    testcase.assertEqual(missing, [], "%d seqs lost at %s" % (len(missing), what))


class Relay:
    """A TCP relay 127.0.0.1:port -> 127.0.0.1:target that can cut the link:
    cut() closes every connection and refuses new ones until heal()."""

    def __init__(self, target):
        self.target = target
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.port = t.free_port()
        self.sock.bind(("127.0.0.1", self.port))
        self.sock.listen(16)
        self.up = True
        self.conns = []
        self.lock = threading.Lock()
        self.stopped = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while not self.stopped:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            with self.lock:
                if not self.up:
                    c.close()
                    continue
                try:
                    u = socket.create_connection(("127.0.0.1", self.target), timeout=2)
                except OSError:
                    c.close()
                    continue
                self.conns += [c, u]
            for a, b in ((c, u), (u, c)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(src, dst):
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                dst.sendall(data)
        except OSError:
            pass
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def cut(self):
        with self.lock:
            self.up = False
            for c in self.conns:
                try:
                    c.shutdown(socket.SHUT_RDWR)
                    c.close()
                except OSError:
                    pass
            self.conns = []

    def heal(self):
        with self.lock:
            self.up = True

    def close(self):
        self.stopped = True
        self.cut()
        self.sock.close()


class FailoverTest(t.AgentTestCase):

    def test_a_second_broker_takes_over(self):
        # The agent reaches the first broker through a relay, and the relay is cut
        # for good: the first broker stays up and delivers everything it has
        # acknowledged, so what the union of both subscribers lacks is the agent's
        # loss. (A kill -9 of the first broker would also lose what that broker had
        # acknowledged but not yet handed to its subscriber.)
        first = self.broker()
        second = self.broker()
        relay = Relay(first.port)
        self.addCleanup(relay.close)
        sub1 = self.subscriber(first.port, topics=["ioc/%s/#" % AGENT])
        sub2 = self.subscriber(second.port, topics=["ioc/%s/#" % AGENT], persistent=True)
        a = self.agent(brokers=["mqtt://127.0.0.1:%d" % relay.port, second.url], agent_id=AGENT,
                       instances=[t.sim("s1", rate=RATE)],
                       mqtt_extra={"keepalive": 5, "reconnect_min": 1, "reconnect_max": 2})
        self.expect(sub1, lambda m: "/s1/event/" in m.topic, 10, count=100)
        relay.cut()
        cut_at = time.monotonic()
        self.assertTrue(t.wait_until(lambda: sim_seqs(sub2.messages()), 20),
                        "the agent did not move to the second broker")
        moved_s = time.monotonic() - cut_at
        time.sleep(3)  # load goes on through the second broker
        a.stop()
        time.sleep(1)
        seqs = sim_seqs(sub1.messages()) | sim_seqs(sub2.messages())
        assert_no_gap(self, seqs, "the two brokers")
        self.assertGreater(len(sim_seqs(sub2.messages())), RATE)
        print("moved to the second broker in %.1f s (keepalive 5, reconnect 1..2 s)" % moved_s)

    def test_b_district_bridge_link_cut(self):
        province = self.broker(persistence=True)
        relay = Relay(province.port)
        self.addCleanup(relay.close)
        district = self.broker(persistence=True, extra_lines=[
            "connection province",
            "address 127.0.0.1:%d" % relay.port,
            "topic ioc/# out 1",
            "cleansession false",
            "local_clientid district-bridge-local",
            "remote_clientid district-bridge",
            "restart_timeout 1 2",
            "keepalive_interval 5",
            "max_queued_messages 100000",
        ])
        sub = self.subscriber(province.port, topics=["ioc/%s/#" % AGENT], persistent=True)
        at_district = self.subscriber(district.port, topics=["ioc/%s/#" % AGENT])
        a = self.agent(broker_url=district.url, agent_id=AGENT,
                       instances=[t.sim("s1", rate=RATE)])
        self.expect(sub, lambda m: "/s1/event/" in m.topic, 15, count=50,
                    what="events through the bridge")
        relay.cut()
        time.sleep(LINK_CUT_S)
        relay.heal()
        time.sleep(2)
        a.stop()
        # everything the district got must reach the province, after its backlog drains
        sent = sim_seqs(at_district.messages())
        assert_no_gap(self, sent, "the district")
        self.assertGreater(len(sent), RATE * LINK_CUT_S * 0.8, "the load stopped during the cut")
        t.wait_until(lambda: sent <= sim_seqs(sub.messages()), 30)
        got = sim_seqs(sub.messages())
        self.assertEqual(sorted(sent - got), [], "lost between the district and the province")
        print("%d events through a %.0f s bridge cut, 0 lost" % (len(sent), LINK_CUT_S))


if __name__ == "__main__":
    t.main()
