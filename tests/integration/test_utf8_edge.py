"""Invalid UTF-8 from a plugin never reaches MQTT: an exec command whose
output and error text are Latin-1 (a serial instrument's `\\xb0C`) gives
payloads that are valid UTF-8 JSON, the bad bytes replaced by U+FFFD.
"""

import json

import ioca_test as t

AGENT = "itest-utf8"
# dash's printf: \\260 is the byte 0xB0, Latin-1 for the degree sign
GOOD = "printf '{\"t\": {\"value\": 21.5, \"unit\": \"\\260C\"}}'"
FAILING = "printf 'sensor \\260C broken\\n' >&2; exit 1"


class Utf8EdgeTest(t.AgentTestCase):

    def test_latin1_from_exec_is_repaired(self):
        broker = self.broker()
        sub = self.subscriber(broker.port, topics=["ioc/#"])
        a = self.agent(broker_url=broker.url, agent_id=AGENT, instances=[
            {"name": "good", "plugin": "exec", "shell": True, "command": [GOOD],
             "interval": 0.5, "publish_interval": 0.0},
            {"name": "bad", "plugin": "exec", "shell": True, "command": [FAILING],
             "interval": 0.5, "readings": [{"name": "t"}]}])
        tele = self.expect(sub, t.topic_is("ioc/%s/good/telemetry" % AGENT), 15,
                           what="telemetry of good")
        fault = self.expect(sub, t.topic_is(t.event_topic(AGENT, "bad", "sensor.fault")), 15,
                            what="sensor.fault of bad")
        for m in tele[:1] + fault[:1]:
            text = m.payload.decode("utf-8")  # strict: raises on invalid UTF-8
            obj = json.loads(text)
            t.validate(m.payload, "envelope")
            self.assertIn("\ufffdC", text, obj)
        unit = tele[0].json()["data"]["readings"][0]["unit"]
        self.assertEqual(unit, "\ufffdC")
        self.assertTrue(a.running())


if __name__ == "__main__":
    t.main()
