#!/usr/bin/python3
"""Broker outages: nothing the agent accepted is lost.

A sim instance emits events at 1000/s; mosquitto (persistence on) is stopped
three times for 20 s while a subscriber with a persistent session at QoS 1
collects everything. Every seq from the first to the last must arrive (0
missing); duplicates (at least once) must carry the same id and payload and
are counted. The backlog drain rate after each outage is printed.
"""
import collections
import time

import ioca_test as it

RATE = 1000.0
OUTAGES = 3
OUTAGE_S = 20.0
UP_S = 8.0
LEAD_S = 3.0
COUNT = int(RATE * (LEAD_S + OUTAGES * (OUTAGE_S + UP_S)))
DRAIN_TIMEOUT_S = 60.0
RECONNECT_MAX_S = 2  # so the drain after an outage is not hidden by a long backoff


class SpoolOutageTest(it.AgentTestCase):
    def test_three_outages_lose_nothing(self):
        broker = self.broker(persistence=True)
        sub = self.subscriber(broker.port, topics=("ioc/itest-agent/+/event/#",), qos=1,
                              persistent=True)
        agent = self.agent(broker_url=broker.url,
                           instances=[it.sim("sim-1", rate=RATE, kind="event", count=COUNT,
                                             max_rate=0.0)],
                           mqtt_extra={"reconnect_max": RECONNECT_MAX_S},
                           sections={"spool": {"fsync": "interval", "inflight": 64}})
        self.expect(sub, it.topic_prefix("ioc/itest-agent/sim-1/"), 10, what="first sim event")
        time.sleep(LEAD_S)

        outages = []
        for i in range(OUTAGES):
            down_wall = time.time()
            broker.stop()
            time.sleep(OUTAGE_S)
            self.assertTrue(agent.running(), "agent died during outage %d" % (i + 1))
            broker.start()
            up_mono, up_wall = time.monotonic(), time.time()
            outages.append((down_wall, up_wall, up_mono))
            time.sleep(UP_S)

        is_sim = it.topic_prefix("ioc/itest-agent/sim-1/")

        def distinct_sim_seqs():
            return len({m.json()["seq"] for m in sub.messages(is_sim)})

        t0 = time.monotonic()
        it.wait_until(lambda: distinct_sim_seqs() >= COUNT, DRAIN_TIMEOUT_S, interval=0.5)
        print("all sim events in %.1f s after the last outage ended" % (time.monotonic() - t0 + UP_S))
        sim_msgs = sub.messages(is_sim)
        self.assertTrue(agent.running())

        # every seq from first to last, duplicates identical
        by_seq = collections.defaultdict(list)
        for m in sub.messages():
            obj = m.json()
            by_seq[obj["seq"]].append((obj["id"], m.payload))
        seqs = sorted(by_seq)
        missing = sorted(set(range(seqs[0], seqs[-1] + 1)) - set(seqs))
        dups = sum(len(v) - 1 for v in by_seq.values())
        for seq, copies in by_seq.items():
            self.assertEqual(len({c for c in copies}), 1, "seq %d delivered with different content" % seq)
            self.assertEqual(copies[0][0], "itest-agent:%d" % seq)
        distinct_sim = {m.json()["seq"] for m in sim_msgs}
        print("seqs %d..%d: %d distinct, %d missing, %d duplicates; sim events %d of %d"
              % (seqs[0], seqs[-1], len(seqs), len(missing), dups, len(distinct_sim), COUNT))
        self.assertEqual(missing, [])
        self.assertEqual(len(distinct_sim), COUNT)

        # the backlog of each outage: events that happened while the broker was
        # down, and how long after restart the subscriber had caught up
        for i, (down_wall, up_wall, up_mono) in enumerate(outages):
            backlog = [m for m in sim_msgs
                       if down_wall * 1000 <= it.parse_time_ms(m.json()["time"]) < up_wall * 1000]
            if not backlog:
                continue
            caught_up = max(m.arrived for m in backlog) - up_mono
            print("outage %d: %d events held, delivered %.2f s after the broker came back "
                  "(%.0f events/s while new ones kept coming)"
                  % (i + 1, len(backlog), caught_up, len(backlog) / max(caught_up, 1e-3)))
            self.assertGreater(len(backlog), RATE * OUTAGE_S * 0.5)


if __name__ == "__main__":
    it.main()
