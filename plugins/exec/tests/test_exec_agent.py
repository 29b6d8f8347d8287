"""exec end to end: agent (exec worker) -> real mosquitto -> subscriber.

Invariant checked: a command that writes to fd 3 (the worker's socket to the
core, were it inherited) and prints a Latin-1 unit neither gets its worker
killed nor puts invalid UTF-8 on MQTT: telemetry keeps coming from the same
worker, no agent.instance_failed is published, and every payload decodes as
strict UTF-8 with the degree sign replaced by U+FFFD.
"""

import time

import ioca_test as t

AGENT = "itest-exec"
RUNS_S = 3.0
# printf's \260 is the Latin-1 degree sign.
COMMAND = ("printf X >&3 2>/dev/null; "
           "printf '{\"level\": 1.5, \"t\": {\"value\": 21, \"unit\": \"\\260C\"}}'")


def instance():
    return {"name": "cmd1", "plugin": "exec", "command": [COMMAND], "shell": True,
            "interval": 0.2, "publish_interval": 0.0}


class ExecAgentTest(t.AgentTestCase):

    def test_fd3_and_latin1_command(self):
        broker = self.broker()
        sub = self.subscriber(broker.port, topics=["ioc/%s/#" % AGENT], qos=1)
        agent = self.agent(broker_url=broker.url, agent_id=AGENT, instances=[instance()])
        self.expect(sub, lambda m: m.topic.endswith("/cmd1/telemetry"), 15, what="telemetry")
        pid = agent.worker_pid("cmd1")
        self.assertIsNotNone(pid)
        before = len(sub.messages(lambda m: m.topic.endswith("/cmd1/telemetry")))
        time.sleep(RUNS_S)
        tele = sub.messages(lambda m: m.topic.endswith("/cmd1/telemetry"))
        # runs every 0.2 s: at least half of them must have arrived meanwhile
        self.assertGreaterEqual(len(tele) - before, int(RUNS_S / 0.2 / 2))
        self.assertEqual(agent.worker_pid("cmd1"), pid)
        self.assertEqual(sub.messages(lambda m: "instance_failed" in m.topic), [])
        self.assertNotIn("malformed", agent.log())
        units = set()
        for m in sub.messages(lambda m: not m.retain):
            m.payload.decode("utf-8")  # strict: raises on invalid UTF-8
        for m in tele:
            obj = t.validate(m.payload, "envelope")
            for r in obj["data"]["readings"]:
                if r["name"] == "t":
                    units.add(r["unit"])
        self.assertEqual(units, {"\ufffdC"})


if __name__ == "__main__":
    import unittest
    unittest.main()
