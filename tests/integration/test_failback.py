"""Going back to the first broker (mqtt.prefer_first), with two real mosquittos
under load: the first broker is stopped, the agent moves to the second; the
first starts again and the agent returns to it within prefer_check + a margin,
leaving its offline status on the second. A persistent subscriber on each
broker; "lost" is judged on the union of both by seq: every seq between the
first and the last one seen must be there. With prefer_first = false the agent
stays on the second broker. And when the second broker stops answering just
as the first comes back, the records in flight there (never acknowledged) are
sent again to the first one: none lost.

Both brokers run with persistence and are stopped with SIGTERM, so what the
first one acknowledged before it stopped reaches its subscriber after the
restart: what the union lacks is the agent's loss, not a broker's.
"""

import socket
import threading
import time

import ioca_test as t

AGENT = "itest-failback"
RATE = 100.0
KEEPALIVE_S = 5
RECONNECT_MAX_S = 2
PREFER_CHECK_S = 3
# connection, the bounded wait for acks (5 s at most) and a loaded machine
RETURN_MARGIN_S = 10
ON_SECOND_S = 4


def is_event(m):
    return "/s1/event/" in m.topic


def sim_seqs(msgs):
    return {m.json()["seq"] for m in msgs if is_event(m)}


def spooled_seqs(msgs):
    """Seqs of every spooled record (the agent's own events too: seq is per
    agent, so a gap among the sim events alone can be an agent event)."""
    out = set()
    for m in msgs:
        if "/event/" in m.topic or m.topic.endswith("/telemetry"):
            out.add(m.json()["seq"])
    return out


def gaps(seqs):
    if not seqs:
        return ["no events"]
    return sorted(set(range(min(seqs), max(seqs) + 1)) - seqs)


def last_json(sub, suffix):
    msgs = [m for m in sub.messages() if m.topic.endswith(suffix) and m.payload]
    return msgs[-1].json() if msgs else None


class BlackholeRelay:
    """A TCP relay 127.0.0.1:port -> 127.0.0.1:target; blackhole() makes it
    swallow everything in both directions without closing anything (a broker
    that stopped answering)."""

    def __init__(self, target):
        self.target = target
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.port = t.free_port()
        self.sock.bind(("127.0.0.1", self.port))
        self.sock.listen(16)
        self.dead = threading.Event()
        self.conns = []
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def url(self):
        return "mqtt://127.0.0.1:%d" % self.port

    def _accept(self):
        while True:
            try:
                c, _ = self.sock.accept()
                u = socket.create_connection(("127.0.0.1", self.target), timeout=2)
            except OSError:
                return
            u.settimeout(None)  # a silent broker is what blackhole() is for
            self.conns += [c, u]
            for a, b in ((c, u), (u, c)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    def _pump(self, src, dst):
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                if not self.dead.is_set():
                    dst.sendall(data)
        except OSError:
            pass
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def blackhole(self):
        self.dead.set()

    def close(self):
        self.sock.close()
        for c in self.conns:
            try:
                c.close()
            except OSError:
                pass


class FailbackTest(t.AgentTestCase):

    def outage(self, prefer_first, second_url=None, keepalive_s=KEEPALIVE_S,
               before_restart=None):
        """Stop the first broker under load, let the agent settle on the second,
        start the first again. second_url(broker) gives the URL the agent is
        given for the second broker; before_restart() runs just before the
        first broker starts again. Returns (first, second, sub1, sub2, agent, mark,
        restarted): mark is the newest seq the second broker's subscriber had
        when the first came back."""
        first = self.broker(persistence=True)
        second = self.broker(persistence=True)
        topics = ["ioc/%s/#" % AGENT]
        sub1 = self.subscriber(first.port, topics=topics, persistent=True)
        sub2 = self.subscriber(second.port, topics=topics, persistent=True)
        a = self.agent(brokers=[first.url, second_url(second) if second_url else second.url],
                       agent_id=AGENT,
                       instances=[t.sim("s1", rate=RATE)],
                       agent_extra={"metrics_interval": 1},
                       mqtt_extra={"keepalive": keepalive_s, "reconnect_min": 1,
                                   "reconnect_max": RECONNECT_MAX_S,
                                   "prefer_first": prefer_first,
                                   "prefer_check": PREFER_CHECK_S})
        self.expect(sub1, is_event, 10, count=200, what="events on the first broker")
        first.stop()
        stopped = time.monotonic()
        self.assertTrue(t.wait_until(lambda: sim_seqs(sub2.messages()),
                                     KEEPALIVE_S + RECONNECT_MAX_S + 10),
                        "the agent did not move to the second broker")
        moved_s = time.monotonic() - stopped
        self.assertLess(moved_s, KEEPALIVE_S + RECONNECT_MAX_S + 2)
        time.sleep(ON_SECOND_S)  # load goes on through the second broker
        mark = max(sim_seqs(sub2.messages()))
        if before_restart:
            before_restart()
        first.start()
        print("moved to the second broker in %.1f s" % moved_s)
        return first, second, sub1, sub2, a, mark, time.monotonic()

    def assert_none_lost(self, sub1, sub2):
        # the first broker's subscriber reconnects and gets what was queued for it
        union = lambda: spooled_seqs(sub1.messages()) | spooled_seqs(sub2.messages())  # noqa: E731
        t.wait_until(lambda: not gaps(union()), 20)
        seqs = union()
        self.assertEqual(gaps(seqs), [], "seqs lost across the two brokers")
        self.assertGreater(len(seqs), RATE * ON_SECOND_S)
        return seqs

    def test_returns_to_the_first_broker(self):
        first, second, sub1, sub2, a, mark, restarted = self.outage(prefer_first=True)
        back = t.wait_until(lambda: any(s > mark for s in sim_seqs(sub1.messages())),
                            PREFER_CHECK_S + RETURN_MARGIN_S)
        back_s = time.monotonic() - restarted
        self.assertTrue(back, "the agent did not go back to the first broker within %d s"
                        % (PREFER_CHECK_S + RETURN_MARGIN_S))
        time.sleep(3)  # load goes on through the first broker again
        after_return = [s for s in sim_seqs(sub1.messages()) if s > mark]
        self.assertGreater(len(after_return), RATE)
        self.assertTrue(a.wait_log("moving back to it", 1), a.log()[-3000:])
        metrics = last_json(sub1, "/metrics")
        self.assertEqual(metrics["mqtt"]["broker"], first.url)
        self.assertEqual(metrics["mqtt"]["failbacks"], 1)
        # the second broker keeps the offline status, the first the online one
        self.assertEqual(last_json(sub2, "/status")["state"], "offline")
        self.assertEqual(last_json(sub1, "/status")["state"], "online")
        a.stop()
        seqs = self.assert_none_lost(sub1, sub2)
        print("back on the first broker %.1f s after its restart (prefer_check %d s); "
              "%d events, 0 lost" % (back_s, PREFER_CHECK_S, len(seqs)))

    def test_stays_on_the_second_without_prefer_first(self):
        first, second, sub1, sub2, a, mark, restarted = self.outage(prefer_first=False)
        time.sleep(3 * PREFER_CHECK_S)
        self.assertTrue(t.wait_until(lambda: sub1.connected(), 10))
        self.assertEqual([s for s in sim_seqs(sub1.messages()) if s > mark], [],
                         "events reached the first broker after its restart")
        newer = [s for s in sim_seqs(sub2.messages()) if s > mark]
        self.assertGreater(len(newer), RATE * 2, "the load stopped on the second broker")
        metrics = last_json(sub2, "/metrics")
        self.assertEqual(metrics["mqtt"]["broker"], second.url)
        self.assertEqual(metrics["mqtt"]["failbacks"], 0)
        self.assertNotIn("checking", a.log())
        a.stop()
        seqs = self.assert_none_lost(sub1, sub2)
        print("stayed on the second broker; %d events, 0 lost" % len(seqs))

    def test_unacknowledged_records_go_to_the_first_broker(self):
        # The second broker is reached through a relay that swallows everything
        # from just before the first broker restarts: the window in flight there
        # is never acknowledged, the agent waits its bounded time, leaves, and
        # those records reach the first broker from the spool. A long keepalive:
        # the bounded wait ends that connection, not the keepalive.
        relays = []

        def through_relay(second):
            relays.append(BlackholeRelay(second.port))
            self.addCleanup(relays[0].close)
            return relays[0].url

        first, second, sub1, sub2, a, mark, restarted = self.outage(
            prefer_first=True, second_url=through_relay, keepalive_s=60,
            before_restart=lambda: relays[0].blackhole())
        self.assertTrue(a.wait_log("still unacknowledged by", PREFER_CHECK_S + RETURN_MARGIN_S),
                        a.log()[-3000:])
        self.assertTrue(t.wait_until(lambda: any(s > mark for s in sim_seqs(sub1.messages())),
                                     RETURN_MARGIN_S), "the agent did not go back")
        time.sleep(2)
        a.stop()
        seqs = self.assert_none_lost(sub1, sub2)
        only_first = sim_seqs(sub1.messages()) - sim_seqs(sub2.messages())
        self.assertTrue(only_first)
        print("%d events, 0 lost; %d reached only the first broker after the second stopped "
              "answering" % (len(seqs), len(only_first)))

if __name__ == "__main__":
    t.main()
