"""Broker restart: the agent reconnects by itself and nothing is lost.

A persistent mosquitto is stopped for a few seconds while a sim instance keeps
emitting; a persistent-session subscriber (QoS 1) must then see a gap-free run
of `seq` values across the outage, the reconnect counted in the metrics, and
the retained status back online.

Invariant: the subscriber's session and the broker's store both survive the
restart, so any hole in the seq range is the agent's loss, not the test's.
"""


import ioca_test as t

AGENT = "itest-restart"
DOWN_S = 3.0
MAX_TICK_GAP_MS = 600  # sim rate 5/s: 200 ms apart


def envelope(m):
    return m.topic.startswith("ioc/%s/" % AGENT) and ("/event/" in m.topic or
                                                      m.topic.endswith("/telemetry"))


class BrokerRestartTest(t.AgentTestCase):

    def test_reconnect_and_no_loss(self):
        broker = self.broker(persistence=True)
        sub = self.subscriber(broker.port, topics=["ioc/#"], persistent=True,
                              client_id="itest-restart-sub")
        a = self.agent(broker_url=broker.url, agent_id=AGENT,
                       instances=[t.sim("ev", rate=5.0, kind="event")],
                       agent_extra={"metrics_interval": 1},
                       mqtt_extra={"keepalive": 5})
        self.expect(sub, envelope, 10, count=5, what="events before the restart")
        before = max(t.seqs_of(sub.messages(envelope)))

        broker.restart(down_s=DOWN_S)
        self.assertTrue(a.running(), "agent died while the broker was down:\n" + a.log()[-3000:])

        after = self.expect(sub, lambda m: envelope(m) and m.json()["seq"] > before + 25, 20,
                            what="events well after the restart (reconnect)")
        self.assertTrue(after)
        seqs = sorted(set(t.seqs_of(sub.messages(envelope))))
        missing = sorted(set(range(seqs[0], seqs[-1] + 1)) - set(seqs))
        self.assertEqual(missing, [], "seq values lost across the broker restart")

        # the worker kept producing during the outage (events carry the time they
        # happened): consecutive sim.tick times stay about 1/rate apart throughout
        ticks = {m.json()["seq"]: m.json()["time"] for m in sub.messages(envelope)
                 if m.json()["type"] == "sim.tick"}
        times = [t.parse_time_ms(ticks[s]) for s in sorted(ticks)]
        gaps = [b - a for a, b in zip(times, times[1:])]
        self.assertLess(max(gaps), MAX_TICK_GAP_MS, "sim.tick times show a stall: %r" % gaps)

        status = t.Subscriber(broker.port, topics=["ioc/%s/status" % AGENT])
        try:
            st = status.wait_for(t.topic_is("ioc/%s/status" % AGENT), 5)
        finally:
            status.close()
        self.assertTrue(st, "no retained status after the restart")
        self.assertEqual(st[-1].json()["state"], "online")

        metrics = self.expect(sub, lambda m: m.topic == "ioc/%s/metrics" % AGENT and
                              m.json()["mqtt"]["reconnects"] >= 1, 10,
                              what="metrics counting the reconnect")
        t.validate(metrics[-1].payload, "metrics")


if __name__ == "__main__":
    t.main()
