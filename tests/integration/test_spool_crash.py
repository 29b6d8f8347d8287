#!/usr/bin/python3
"""kill -9 of the agent under load: nothing accepted is lost.

A sim instance emits 1000 events/s; the agent is killed with SIGKILL three
times and started again on the same state_dir, then once more without
instances so it delivers what is left in its spool. A subscriber with a
persistent session at QoS 1 must see every seq from the first to the last
(a gap would be a record the spool accepted and lost, a seq with two
different payloads a reused seq). Duplicates (at least once) are counted.
Run with fsync = always, and with fsync = interval, where docs/spool.md says
a kill -9 loses nothing either (the data is in the kernel once push returns).
"""
import collections
import os
import time

import ioca_test as it

RATE = 1000.0
KILLS = 3
RUN_S = 4.0
QUIET_S = 3.0
DRAIN_TIMEOUT_S = 60.0
TOPICS = ("ioc/itest-agent/+/event/#",)


class SpoolCrashTest(it.AgentTestCase):
    def _kill_and_restart(self, fsync):
        broker = self.broker()
        sub = self.subscriber(broker.port, topics=TOPICS, qos=1, persistent=True)
        spool = {"spool": {"fsync": fsync}}
        instances = [it.sim("sim-1", rate=RATE, kind="event", max_rate=0.0)]
        agent = self.agent(broker_url=broker.url, instances=instances,
                           mqtt_extra={"reconnect_max": 2}, sections=spool)
        is_sim = it.topic_prefix("ioc/itest-agent/sim-1/")
        self.expect(sub, is_sim, 10, what="first sim event")

        for i in range(KILLS):
            time.sleep(RUN_S)
            workers = list(agent.worker_pids())
            self.assertEqual(agent.kill(), -9)
            it.wait_until(lambda: not any(os.path.exists("/proc/%d" % p) for p in workers), 10)
            before = len(sub.messages(is_sim))
            agent.start()
            self.expect(sub, is_sim, 15, count=before + 1, what="sim events after restart %d" % (i + 1))

        # last start without instances: only the spool's backlog is left to send
        time.sleep(RUN_S)
        agent.stop()
        agent.write_config(agent.render(broker_url=broker.url, instances=[],
                                        mqtt_extra={"reconnect_max": 2}, sections=spool))
        agent.start()
        last = [0, time.monotonic()]

        def quiet():
            n = len(sub.messages())
            if n != last[0]:
                last[0], last[1] = n, time.monotonic()
            return time.monotonic() - last[1] >= QUIET_S
        self.assertTrue(it.wait_until(quiet, DRAIN_TIMEOUT_S, interval=0.2), "delivery never settled")
        self.assertTrue(agent.running())

        by_seq = collections.defaultdict(set)
        for m in sub.messages():
            obj = m.json()
            self.assertEqual(obj["id"], "itest-agent:%d" % obj["seq"])
            by_seq[obj["seq"]].add(m.payload)
        seqs = sorted(by_seq)
        missing = sorted(set(range(seqs[0], seqs[-1] + 1)) - set(seqs))
        reused = [s for s, p in by_seq.items() if len(p) > 1]
        total = len(sub.messages())
        sims = len({m.json()["seq"] for m in sub.messages(is_sim)})
        print("fsync=%s: seqs %d..%d, %d sim events, %d missing, %d duplicates, %d seqs reused"
              % (fsync, seqs[0], seqs[-1], sims, len(missing), total - len(seqs), len(reused)))
        self.assertEqual(missing, [])
        self.assertEqual(reused, [])
        self.assertGreater(sims, RATE * RUN_S * KILLS * 0.5)
        # every start announced itself through the spool too
        started = sub.messages(it.topic_prefix("ioc/itest-agent/_agent/event/agent/started"))
        self.assertGreaterEqual(len({m.json()["seq"] for m in started}), KILLS + 2)

    def test_kill9_fsync_always(self):
        self._kill_and_restart("always")

    def test_kill9_fsync_interval(self):
        self._kill_and_restart("interval")


if __name__ == "__main__":
    it.main()
