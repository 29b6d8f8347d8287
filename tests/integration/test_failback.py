"""Going back to the first broker (mqtt.prefer_first), with two real mosquittos
under load: the first broker is stopped, the agent moves to the second; the
first starts again and the agent returns to it within prefer_check + a margin,
leaving its offline status on the second. A persistent subscriber on each
broker; "lost" is judged on the union of both by seq: every seq between the
first and the last one seen must be there. With prefer_first = false the agent
stays on the second broker.

Both brokers run with persistence and are stopped with SIGTERM, so what the
first one acknowledged before it stopped reaches its subscriber after the
restart: what the union lacks is the agent's loss, not a broker's.
"""

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


def gaps(seqs):
    if not seqs:
        return ["no events"]
    return sorted(set(range(min(seqs), max(seqs) + 1)) - seqs)


def last_json(sub, suffix):
    msgs = [m for m in sub.messages() if m.topic.endswith(suffix) and m.payload]
    return msgs[-1].json() if msgs else None


class FailbackTest(t.AgentTestCase):

    def outage(self, prefer_first):
        """Stop the first broker under load, let the agent settle on the second,
        start the first again. Returns (first, second, sub1, sub2, agent, mark,
        restarted): mark is the newest seq the second broker's subscriber had
        when the first came back."""
        first = self.broker(persistence=True)
        second = self.broker(persistence=True)
        topics = ["ioc/%s/#" % AGENT]
        sub1 = self.subscriber(first.port, topics=topics, persistent=True)
        sub2 = self.subscriber(second.port, topics=topics, persistent=True)
        a = self.agent(brokers=[first.url, second.url], agent_id=AGENT,
                       instances=[t.sim("s1", rate=RATE)],
                       agent_extra={"metrics_interval": 1},
                       mqtt_extra={"keepalive": KEEPALIVE_S, "reconnect_min": 1,
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
        first.start()
        print("moved to the second broker in %.1f s" % moved_s)
        return first, second, sub1, sub2, a, mark, time.monotonic()

    def assert_none_lost(self, sub1, sub2):
        # the first broker's subscriber reconnects and gets what was queued for it
        union = lambda: sim_seqs(sub1.messages()) | sim_seqs(sub2.messages())  # noqa: E731
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


if __name__ == "__main__":
    t.main()
