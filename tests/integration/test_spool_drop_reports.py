#!/usr/bin/python3
"""Drop reports survive the overflow they report (docs/spool.md, Bounds).

The broker is down while a sim instance floods a 1 MiB spool, so the spool
drops its oldest segments again and again, and with them some of its own
earlier agent.spool_dropped reports. When the broker is back, a persistent
subscriber must see reports whose `events` add up to exactly the seqs that
never arrived.

Invariant: the count of missing seqs is taken from what the subscriber
received (every envelope of the agent), never from the agent's word.
"""
import time

import ioca_test as it

AGENT = "itest-drops"
RATE = 2000.0
FLOOD_S = 8.0
COUNT = int(RATE * FLOOD_S)
SPOOL_BYTES = 1024 * 1024
SEGMENT_BYTES = 64 * 1024
SETTLE_S = 45.0


class DropReportsTest(it.AgentTestCase):
    def test_reports_add_up_to_every_dropped_record(self):
        broker = self.broker(persistence=True)
        sub = self.subscriber(broker.port, topics=("ioc/%s/+/event/#" % AGENT,), qos=1,
                              persistent=True)
        agent = self.agent(agent_id=AGENT, broker_url=broker.url,
                           instances=[it.sim("sim-1", rate=RATE, kind="event", count=COUNT,
                                             max_rate=0.0)],
                           mqtt_extra={"reconnect_max": 2},
                           sections={"spool": {"max_bytes": SPOOL_BYTES,
                                               "segment_bytes": SEGMENT_BYTES}})
        self.expect(sub, it.topic_prefix("ioc/%s/sim-1/" % AGENT), 10, what="first sim event")
        broker.stop()
        time.sleep(FLOOD_S + 4)
        self.assertTrue(agent.running())
        broker.start()
        is_report = it.topic_is(it.event_topic(AGENT, "_agent", "agent.spool_dropped"))

        def tally():
            seqs = {m.json()["seq"] for m in sub.messages()}
            reported = sum(m.json()["data"]["events"] for m in
                           {m.json()["seq"]: m for m in sub.messages(is_report)}.values())
            missing = max(seqs) - len(seqs) if seqs else 0
            return missing, reported

        it.wait_until(lambda: tally()[0] > 0 and tally()[0] == tally()[1], SETTLE_S, interval=1.0)
        missing, reported = tally()
        print("missing at the subscriber %d, reported dropped %d" % (missing, reported))
        self.assertGreater(missing, COUNT // 2, "the spool did not overflow")
        self.assertEqual(reported, missing, "drop reports do not add up\n" + "\n".join(l for l in agent.log().splitlines() if "drop" in l or "spool" in l)[-3000:])
        for m in sub.messages(is_report):
            it.validate(m.payload, "envelope")


if __name__ == "__main__":
    it.main()
