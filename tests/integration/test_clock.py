#!/usr/bin/python3
"""Clock quality with the test clock source (IOCA_TEST_CLOCK_FILE, tests only).

The agent starts with the clock "unsynced": agent.clock_unsynced is
published, envelopes and the status carry "clock": "unsynced". The test then
marks the clock synced (agent.clock_synced, envelopes "synced") and steps
the wall clock forward by an hour (agent.clock_jump with that offset).
"""
import os

import ioca_test as it

JUMP_MS = 3600000
TOLERANCE_MS = 1000


class ClockTest(it.AgentTestCase):
    def set_clock(self, text):
        tmp = self.clock_file + ".tmp"
        with open(tmp, "w") as f:
            f.write(text)
        os.replace(tmp, self.clock_file)

    def test_sync_state_and_jump(self):
        self.clock_file = os.path.join(self.tmp, "clock")
        self.set_clock("synced 0\n")
        broker = self.broker()
        sub = self.subscriber(broker.port, topics=["ioc/itest-agent/#"])
        agent = self.agent(start=False, broker_url=broker.url,
                           instances=[it.sim("tele-1", rate=10.0, kind="telemetry")])
        agent.start(env={"IOCA_TEST_CLOCK_FILE": self.clock_file})

        unsynced = self.expect(sub, it.topic_is(
            "ioc/itest-agent/_agent/event/agent/clock_unsynced"), 20, what="clock_unsynced")
        self.assertEqual(it.validate(unsynced[0].payload, "envelope")["clock"], "unsynced")
        tele = self.expect(sub, it.topic_is("ioc/itest-agent/tele-1/telemetry"), 20, count=3)
        self.assertEqual({m.json()["clock"] for m in tele}, {"unsynced"})
        started = self.expect(sub, it.topic_is("ioc/itest-agent/_agent/event/agent/started"), 5)
        self.assertEqual(started[0].json()["clock"], "unsynced")
        status = self.expect(sub, lambda m: m.topic == "ioc/itest-agent/status" and
                             m.json().get("state") == "online", 20, what="status")
        self.assertEqual(it.validate(status[-1].payload, "status")["clock"], "unsynced")

        self.set_clock("synced 1\n")
        synced = self.expect(sub, it.topic_is("ioc/itest-agent/_agent/event/agent/clock_synced"),
                             10, what="clock_synced")
        seq_synced = it.validate(synced[0].payload, "envelope")["seq"]
        self.expect(sub, lambda m: m.topic == "ioc/itest-agent/status" and
                    m.json().get("clock") == "synced", 10, what="status with clock synced")
        later = self.expect(sub, lambda m: m.topic == "ioc/itest-agent/tele-1/telemetry" and
                            m.json()["seq"] > seq_synced, 10, count=3)
        self.assertEqual({m.json()["clock"] for m in later}, {"synced"})

        self.set_clock("synced 1\noffset_ms %d\n" % JUMP_MS)
        jump = self.expect(sub, it.topic_is("ioc/itest-agent/_agent/event/agent/clock_jump"), 10,
                           what="clock_jump")
        ev = it.validate(jump[0].payload, "envelope")
        self.assertLess(abs(ev["data"]["offset_ms"] - JUMP_MS), TOLERANCE_MS, ev["data"])
        self.assertLess(abs(it.parse_time_ms(ev["data"]["to"]) - it.parse_time_ms(ev["data"]["from"])
                            - JUMP_MS), TOLERANCE_MS)
        self.assertTrue(ev["data"]["synced"])
        self.assertEqual(len(sub.messages(it.topic_is(
            "ioc/itest-agent/_agent/event/agent/clock_jump"))), 1)
        self.assertTrue(agent.running())


if __name__ == "__main__":
    it.main()
