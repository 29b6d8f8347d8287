"""Events, telemetry and metrics reach a real broker with the right topics,
schema-valid payloads, QoS and sequence numbers.

Invariant: every payload a subscriber sees on an event/telemetry topic is
validated against docs/schema/envelope.json, and `id` is always
`<agent>:<seq>` with `seq` strictly increasing in arrival order and
continuing (never restarting) after an agent restart on the same state_dir.
"""

import time

import ioca_test as t

AGENT = "itest-events"
PREFIX = "ioc/%s/" % AGENT
SITE = "daknong/test"


def is_envelope_topic(m):
    return m.topic.startswith(PREFIX) and ("/event/" in m.topic or m.topic.endswith("/telemetry"))


class EventsTest(t.AgentTestCase):

    def start_agent(self, broker, **kw):
        instances = [t.sim("ev", rate=10.0, kind="event"),
                     t.sim("tm", rate=5.0, kind="telemetry"),
                     t.sim("q0", rate=4.0, kind="event", qos=0)]
        return self.agent(broker_url=broker.url, agent_id=AGENT, instances=instances,
                          agent_extra={"site": SITE, "metrics_interval": 1}, **kw)

    def test_topics_payloads_and_sequence(self):
        broker = self.broker()
        sub = self.subscriber(broker.port, topics=["ioc/#"], qos=2)
        t0_ms = int(time.time() * 1000)
        self.start_agent(broker)
        ev_topic = t.event_topic(AGENT, "ev", "sim.tick")
        tm_topic = "ioc/%s/tm/telemetry" % AGENT
        q0_topic = t.event_topic(AGENT, "q0", "sim.tick")
        ev = self.expect(sub, t.topic_is(ev_topic), 10, count=20, what="sim.tick on " + ev_topic)
        tm = self.expect(sub, t.topic_is(tm_topic), 10, count=8, what="telemetry")
        q0 = self.expect(sub, t.topic_is(q0_topic), 10, count=4, what="qos 0 sim.tick")
        started = self.expect(sub, t.topic_is(t.event_topic(AGENT, "_agent", "agent.started")), 5,
                              what="agent.started")
        metrics = self.expect(sub, t.topic_is("ioc/%s/metrics" % AGENT), 5, count=2,
                              what="metrics")
        t1_ms = int(time.time() * 1000)

        for m in ev + tm + q0 + started:
            obj = t.validate(m.payload, "envelope")
            self.assertEqual(obj["agent"], AGENT)
            self.assertEqual(obj["site"], SITE)
            self.assertEqual(obj["id"], "%s:%d" % (AGENT, obj["seq"]))
            self.assertFalse(m.retain, m)
            self.assertLessEqual(t0_ms - 1000, t.parse_time_ms(obj["time"]))
            self.assertLessEqual(t.parse_time_ms(obj["time"]), t1_ms + 1000)
        for m in ev:
            obj = m.json()
            self.assertEqual((obj["source"], obj["plugin"], obj["type"], obj["severity"]),
                             ("ev", "sim", "sim.tick", "info"))
            self.assertEqual(m.qos, 1)
        for m in tm:
            obj = m.json()
            self.assertEqual((obj["source"], obj["plugin"], obj["type"]), ("tm", "sim", "telemetry"))
            self.assertGreaterEqual(len(obj["data"]["readings"]), 1)
        for m in q0:
            self.assertEqual(m.qos, 0, "per-instance qos = 0 not applied")
        st = started[0].json()
        self.assertEqual(st["source"], "_agent")
        self.assertEqual(st["type"], "agent.started")

        # seq: strictly increasing in arrival order over everything the agent sent
        envs = sub.messages(is_envelope_topic)
        seqs = t.seqs_of(envs)
        self.assertEqual(len(seqs), len(set(seqs)), "duplicate seq")
        self.assertEqual(seqs, sorted(seqs), "seq not increasing in arrival order")

        # the event time is when it happened: within a stream, times never go back
        times = [t.parse_time_ms(m.json()["time"]) for m in ev]
        self.assertEqual(times, sorted(times))

        # metrics: schema-valid, not retained, every instance present
        for m in metrics:
            obj = t.validate(m.payload, "metrics")
            self.assertFalse(m.retain)
            self.assertEqual(obj["agent"], AGENT)
            self.assertEqual(set(obj["instances"]), {"ev", "tm", "q0"})
            self.assertTrue(obj["mqtt"]["connected"])
        last = metrics[-1].json()
        self.assertGreater(last["instances"]["ev"]["events_out"], 0)
        self.assertGreater(last["mqtt"]["delivered"], 0)

    def test_rate_option_is_honoured(self):
        broker = self.broker()
        sub = self.subscriber(broker.port, topics=["ioc/+/ev/#"])
        self.start_agent(broker)
        ev_topic = t.event_topic(AGENT, "ev", "sim.tick")
        first = self.expect(sub, t.topic_is(ev_topic), 10, what="first sim.tick")[0]
        window_s = 3.0
        time.sleep(window_s)
        got = [m for m in sub.messages(t.topic_is(ev_topic)) if m.arrived > first.arrived]
        rate = len(got) / (got[-1].arrived - first.arrived) if got else 0.0
        self.assertGreater(rate, 10.0 * 0.7, "sim rate 10/s observed %.1f/s" % rate)
        self.assertLess(rate, 10.0 * 1.3, "sim rate 10/s observed %.1f/s" % rate)

    def test_seq_persists_across_restart(self):
        broker = self.broker()
        sub = self.subscriber(broker.port, topics=["ioc/#"])
        a = self.start_agent(broker)
        self.expect(sub, is_envelope_topic, 10, count=10, what="events of the first run")
        a.terminate()
        self.assertEqual(a.wait(5), 0, a.log()[-3000:])
        first_run = t.seqs_of(sub.messages(is_envelope_topic))
        sub.clear()
        a.start()
        second = self.expect(sub, is_envelope_topic, 10, count=5, what="events of the second run")
        second_seqs = t.seqs_of(second)
        self.assertGreater(min(second_seqs), max(first_run),
                           "seq restarted: first run ended at %d, second began at %d" %
                           (max(first_run), min(second_seqs)))


if __name__ == "__main__":
    t.main()
