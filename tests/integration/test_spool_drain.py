#!/usr/bin/python3
"""Backlog pacing after a broker outage (spool.drain_rate, spool.historical_after).

A sim instance emits 100 events/s; mosquitto (persistence on) is stopped for
15 s while a persistent MQTT 5 subscriber at QoS 1 collects everything. After
the broker is back, the records older than historical_after must arrive at
about drain_rate (not flat out), carry the user property historical=true, and
nothing else may carry it; every seq must arrive (0 lost).
"""
import time

import ioca_test as it

RATE = 100.0
OUTAGE_S = 15.0
LEAD_S = 3.0
DRAIN_RATE = 200
HISTORICAL_AFTER_S = 3
COUNT = int(RATE * (LEAD_S + OUTAGE_S + 25))
DRAIN_TIMEOUT_S = 60.0
MEASURE_S = 5.0  # drain rate measured over this long, after the first second's burst
LATE_SLACK_S = 1.0
INFLIGHT = 64


class SpoolDrainTest(it.AgentTestCase):
    def test_backlog_paced_and_marked(self):
        broker = self.broker(persistence=True)
        sub = self.subscriber(broker.port, topics=("ioc/itest-agent/+/event/#",), qos=1,
                              persistent=True)
        wall_minus_mono = time.time() - time.monotonic()
        agent = self.agent(broker_url=broker.url,
                           instances=[it.sim("sim-1", rate=RATE, kind="event", count=COUNT,
                                             max_rate=0.0)],
                           mqtt_extra={"reconnect_max": 1},
                           sections={"spool": {"drain_rate": DRAIN_RATE,
                                               "historical_after": HISTORICAL_AFTER_S,
                                               "inflight": INFLIGHT}})
        is_sim = it.topic_prefix("ioc/itest-agent/sim-1/")
        self.expect(sub, is_sim, 10, what="first sim event")
        time.sleep(LEAD_S)
        broker.stop()
        time.sleep(OUTAGE_S)
        self.assertTrue(agent.running(), "agent died during the outage")
        broker.start()

        def distinct():
            return len({m.json()["seq"] for m in sub.messages(is_sim)})

        it.wait_until(lambda: distinct() >= COUNT, DRAIN_TIMEOUT_S, interval=0.5)
        msgs = sub.messages(is_sim)
        seqs = {m.json()["seq"] for m in msgs}
        self.assertEqual(len(seqs), COUNT, "lost events")
        # every event of the sim's count (seq is per agent: the agent's own
        # events may take seqs in between)
        self.assertEqual({m.json()["data"]["n"] for m in msgs}, set(range(1, COUNT + 1)))

        # historical exactly on what reached the subscriber late, except the
        # records in flight when the link went: they are sent again as they were
        hist = [m for m in msgs if m.historical()]
        self.assertGreater(len(hist), RATE * OUTAGE_S * 0.8)
        resent = 0
        for m in msgs:
            late_s = (m.arrived + wall_minus_mono) - it.parse_time_ms(m.json()["time"]) / 1000.0
            if m.historical():
                self.assertGreater(late_s, HISTORICAL_AFTER_S - 0.5,
                                   "seq %d marked historical %.2f s late" % (m.json()["seq"], late_s))
            elif late_s >= HISTORICAL_AFTER_S + LATE_SLACK_S:
                resent += 1
        print("late without the mark (in flight at the outage): %d" % resent)
        self.assertLessEqual(resent, INFLIGHT)

        # paced: after the first second's burst, about drain_rate per second
        rate = it.arrival_rate(hist, MEASURE_S)
        print("backlog: %d historical events; drain %.0f events/s (drain_rate %d)"
              % (len(hist), rate, DRAIN_RATE))
        self.assertGreater(rate, DRAIN_RATE * 0.75)
        self.assertLess(rate, DRAIN_RATE * 1.25)
        self.assertTrue(agent.running())


if __name__ == "__main__":
    it.main()
