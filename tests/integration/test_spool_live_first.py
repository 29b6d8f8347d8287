#!/usr/bin/python3
"""spool.order = "live_first": new records go out at once while the backlog drains behind them.

A sim instance emits 100 events/s; mosquitto (persistence on) is stopped for
20 s while a persistent MQTT 5 subscriber at QoS 1 collects everything. After
the broker is back, events accepted while the backlog still drains must reach
the subscriber within 1 s (unmarked), the backlog must arrive at about
drain_rate with historical=true, and every spooled record must arrive (0 lost,
counted by seq over the agent's own events and telemetry too).
"""
import statistics
import time

import ioca_test as it

RATE = 100.0
OUTAGE_S = 20.0
LEAD_S = 3.0
DRAIN_RATE = 200
HISTORICAL_AFTER_S = 3
COUNT = int(RATE * (LEAD_S + OUTAGE_S + 25))
DRAIN_TIMEOUT_S = 60.0
MEASURE_S = 5.0  # drain rate measured over this long, after the first second's burst
SETTLE_S = 1.0   # after the first message of the reconnect: the session is up
LIVE_MAX_S = 1.0
INFLIGHT = 64


def spooled_seqs(msgs):
    """Seqs of every spooled record (the agent's own events too: seq is per agent)."""
    return {m.json()["seq"] for m in msgs if "/event/" in m.topic or m.topic.endswith("/telemetry")}


class SpoolLiveFirstTest(it.AgentTestCase):
    def test_new_events_ahead_of_backlog(self):
        broker = self.broker(persistence=True)
        sub = self.subscriber(broker.port, topics=("ioc/itest-agent/#",), qos=1, persistent=True)
        wall_minus_mono = time.time() - time.monotonic()
        agent = self.agent(broker_url=broker.url,
                           instances=[it.sim("sim-1", rate=RATE, kind="event", count=COUNT,
                                             max_rate=0.0)],
                           mqtt_extra={"reconnect_max": 1},
                           sections={"spool": {"drain_rate": DRAIN_RATE,
                                               "historical_after": HISTORICAL_AFTER_S,
                                               "inflight": INFLIGHT,
                                               "order": "live_first"}})
        is_sim = it.topic_prefix("ioc/itest-agent/sim-1/")
        self.expect(sub, is_sim, 10, what="first sim event")
        time.sleep(LEAD_S)
        broker.stop()
        time.sleep(OUTAGE_S)
        self.assertTrue(agent.running(), "agent died during the outage")
        down_until = time.monotonic()
        broker.start()

        def distinct():
            return len({m.json()["seq"] for m in sub.messages(is_sim)})

        it.wait_until(lambda: distinct() >= COUNT, DRAIN_TIMEOUT_S, interval=0.5)
        msgs = sub.messages()
        sim_msgs = [m for m in msgs if is_sim(m)]
        self.assertEqual(len({m.json()["seq"] for m in sim_msgs}), COUNT, "lost sim events")
        seqs = spooled_seqs(msgs)
        missing = set(range(min(seqs), max(seqs) + 1)) - seqs
        self.assertEqual(missing, set(), "lost spooled records")

        hist = [m for m in sim_msgs if m.historical()]
        self.assertGreater(len(hist), RATE * OUTAGE_S * 0.8)
        last_hist = max(m.arrived for m in hist)
        back = min(m.arrived for m in sim_msgs if m.arrived > down_until)

        # new: accepted once the session was up again and before the backlog was through
        def accepted(m):
            return it.parse_time_ms(m.json()["time"]) / 1000.0 - wall_minus_mono

        new = [m for m in sim_msgs if not m.historical()
               and back + SETTLE_S <= accepted(m) < last_hist - 1.0]
        lat = sorted(m.arrived - accepted(m) for m in new)
        print("back %.2f s after the outage, backlog through %.2f s after; %d historical"
              % (back - down_until, last_hist - down_until, len(hist)))
        self.assertGreater(len(new), RATE * 3, "the backlog drained too fast to judge")
        p99 = lat[int(len(lat) * 0.99) - 1]
        print("new events while the backlog drained: %d, latency median %.3f s, p99 %.3f s, "
              "max %.3f s" % (len(new), statistics.median(lat), p99, lat[-1]))
        self.assertLess(p99, LIVE_MAX_S)

        # the backlog still paced at drain_rate behind them
        rate = it.arrival_rate(hist, MEASURE_S)
        print("backlog: %d historical events; drain %.0f events/s (drain_rate %d)"
              % (len(hist), rate, DRAIN_RATE))
        self.assertGreater(rate, DRAIN_RATE * 0.75)
        self.assertLess(rate, DRAIN_RATE * 1.25)
        self.assertTrue(agent.running())


if __name__ == "__main__":
    it.main()
