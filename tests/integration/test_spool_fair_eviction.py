#!/usr/bin/python3
"""A flooding instance does not push out its neighbours (docs/spool.md, Bounds).

The broker is down while one sim instance floods a 1 MiB spool with
`max_rate = 0` and a well-behaved neighbour emits a few events a second.
At the full spool the spool evicts the records of the instance holding the
most, so when the broker is back a persistent subscriber must have every
event of the neighbour, and agent.spool_dropped reports that name only the
flooder, whose counts add up to exactly the seqs that never arrived.

Invariant: what is missing is taken from what the subscriber received
(every envelope of the agent, and the neighbour's own counter `n`), never
from the agent's word.
"""
import time

import ioca_test as it

AGENT = "itest-fair"
RATE = 2000.0
FLOOD_S = 8.0
COUNT = int(RATE * FLOOD_S)
CALM_RATE = 5.0
CALM_COUNT = 60
SPOOL_BYTES = 1024 * 1024
SEGMENT_BYTES = 64 * 1024
SETTLE_S = 60.0


class FairEvictionTest(it.AgentTestCase):
    def test_neighbour_loses_nothing_flooder_named(self):
        broker = self.broker(persistence=True)
        sub = self.subscriber(broker.port, topics=("ioc/%s/+/event/#" % AGENT,), qos=1,
                              persistent=True)
        agent = self.agent(agent_id=AGENT, broker_url=broker.url,
                           instances=[it.sim("flood", rate=RATE, kind="event", count=COUNT,
                                             max_rate=0.0),
                                      it.sim("calm", rate=CALM_RATE, kind="event",
                                             count=CALM_COUNT)],
                           mqtt_extra={"reconnect_max": 2},
                           sections={"spool": {"max_bytes": SPOOL_BYTES,
                                               "segment_bytes": SEGMENT_BYTES}})
        self.expect(sub, it.topic_prefix("ioc/%s/flood/" % AGENT), 10, what="first flood event")
        self.expect(sub, it.topic_prefix("ioc/%s/calm/" % AGENT), 10, what="first calm event")
        broker.stop()
        time.sleep(FLOOD_S + 4)
        self.assertTrue(agent.running())
        broker.start()
        is_report = it.topic_is(it.event_topic(AGENT, "_agent", "agent.spool_dropped"))
        is_calm = it.topic_prefix("ioc/%s/calm/" % AGENT)

        def reports():
            return list({m.json()["seq"]: m.json()["data"]
                         for m in sub.messages(is_report)}.values())

        def tally():
            seqs = {m.json()["seq"] for m in sub.messages()}
            missing = max(seqs) - len(seqs) if seqs else 0
            return missing, sum(r["events"] for r in reports())

        def calm_seen():
            return {m.json()["data"]["n"] for m in sub.messages(is_calm)}

        it.wait_until(lambda: tally()[0] > 0 and tally()[0] == tally()[1] and
                      len(calm_seen()) == CALM_COUNT, SETTLE_S, interval=1.0)
        missing, reported = tally()
        by_instance = {}
        for r in reports():
            for name, n in r.get("instances", {}).items():
                by_instance[name] = by_instance.get(name, 0) + n
        print("missing at the subscriber %d, reported dropped %d, by instance %s"
              % (missing, reported, by_instance))
        self.assertGreater(missing, COUNT // 2, "the spool did not overflow")
        self.assertEqual(calm_seen(), set(range(1, CALM_COUNT + 1)),
                         "the well-behaved neighbour lost events")
        self.assertEqual(reported, missing, "drop reports do not add up")
        self.assertEqual(set(by_instance), {"flood"}, "reports name another instance")
        self.assertEqual(by_instance["flood"], missing,
                         "the per-instance counts do not add up to what is missing")
        for m in sub.messages(is_report):
            it.validate(m.payload, "envelope")


if __name__ == "__main__":
    it.main()
