"""MQTT session options seen from a real broker: broker-list rotation,
protocol v5 (persistent session: clean start off) and v3.1.1, username +
password_file (and a wrong password refused, the secret never logged).

Invariant: what the agent did is read from mosquitto's own log line
"New client connected from ... as <id> (p<protocol>, c<clean>, k<keepalive>, u'<user>')"
and from what a subscriber receives, never from the agent's word.
"""

import os
import re
import time

import ioca_test as t

AGENT = "itest-session"
SECRET = "s3cret-Pa55-for-itest"
REFUSED_OBSERVE_S = 4.0


def tick(m):
    return m.topic == t.event_topic(AGENT, "s1", "sim.tick")


def connect_line(broker):
    m = re.search(r"New client connected from \S+ as %s \(([^)]*)\)" % AGENT, broker.log())
    return m.group(1) if m else None


class MqttSessionTest(t.AgentTestCase):

    def run_agent(self, **kw):
        return self.agent(agent_id=AGENT, instances=[t.sim("s1", rate=5.0)], **kw)

    def test_v5_persistent_session(self):
        broker = self.broker()
        sub = self.subscriber(broker.port, topics=["ioc/#"])
        self.run_agent(broker_url=broker.url)
        self.expect(sub, tick, 10, count=3, what="events over v5")
        flags = t.wait_until(lambda: connect_line(broker), 5)
        self.assertIsNotNone(flags, broker.log()[-2000:])
        self.assertIn("p5", flags.split(", "), flags)   # MQTT 5
        self.assertIn("c0", flags.split(", "), flags)   # clean start off
        self.assertIn("k5", flags.split(", "), flags)   # keepalive from the config

    def test_v311(self):
        broker = self.broker()
        sub = self.subscriber(broker.port, topics=["ioc/#"])
        self.run_agent(broker_url=broker.url, mqtt_extra={"protocol": "v311"})
        got = self.expect(sub, tick, 10, count=3, what="events over v3.1.1")
        for m in got:
            t.validate(m.payload, "envelope")
        flags = t.wait_until(lambda: connect_line(broker), 5)
        self.assertIn("p2", flags.split(", "), flags)   # mosquitto logs v3.1.1 as p2
        self.assertIn("c0", flags.split(", "), flags)
        st = self.expect(sub, t.topic_is("ioc/%s/status" % AGENT), 5, what="status")
        self.assertEqual(st[-1].json()["state"], "online")

    def test_rotates_past_a_dead_broker(self):
        dead = "mqtt://127.0.0.1:%d" % t.free_port()
        broker = self.broker()
        sub = self.subscriber(broker.port, topics=["ioc/#"])
        a = self.run_agent(brokers=[dead, broker.url])
        self.expect(sub, tick, 15, count=3, what="events through the second broker")
        self.assertIn(dead.split("//")[1], a.log(), "the failed first broker is not logged")

    def test_fails_over_when_the_first_broker_dies(self):
        first = self.broker()
        second = self.broker()
        sub1 = self.subscriber(first.port, topics=["ioc/#"])
        sub2 = self.subscriber(second.port, topics=["ioc/#"])
        self.run_agent(brokers=[first.url, second.url])
        self.expect(sub1, tick, 10, count=3, what="events through the first broker")
        first.kill()
        self.expect(sub2, tick, 20, count=3, what="events through the second broker after "
                    "the first died")
        st = self.expect(sub2, t.topic_is("ioc/%s/status" % AGENT), 5, what="status on second")
        self.assertEqual(st[-1].json()["state"], "online")

    def test_username_and_password_file(self):
        broker = self.broker(users={"edge01": SECRET, "reader": "reader-pw"})
        sub = self.subscriber(broker.port, topics=["ioc/#"], username="reader",
                              password="reader-pw")
        pwfile = os.path.join(self.tmp, "mqtt.pass")
        with open(pwfile, "w") as f:
            f.write(SECRET + "\n")
        a = self.run_agent(broker_url=broker.url,
                           mqtt_extra={"username": "edge01", "password_file": pwfile})
        self.expect(sub, tick, 10, count=3, what="events with username/password")
        self.assertIn("u'edge01'", connect_line(broker) or "", broker.log()[-2000:])
        a.terminate()
        self.assertEqual(a.wait(6), 0)
        self.assertNotIn(SECRET, a.log() + a.stdout())

    def test_wrong_password_refused(self):
        broker = self.broker(users={"edge01": SECRET, "reader": "reader-pw"})
        sub = self.subscriber(broker.port, topics=["ioc/#"], username="reader",
                              password="reader-pw")
        pwfile = os.path.join(self.tmp, "mqtt.pass")
        with open(pwfile, "w") as f:
            f.write("not-the-password\n")
        a = self.run_agent(broker_url=broker.url,
                           mqtt_extra={"username": "edge01", "password_file": pwfile})
        time.sleep(REFUSED_OBSERVE_S)
        self.assertEqual(sub.messages(), [])
        self.assertTrue(a.running())
        self.assertRegex(a.log(), re.compile(r"not authori[sz]ed|bad user name or password|"
                                             r"refused", re.I))
        self.assertNotIn("not-the-password", a.log())


if __name__ == "__main__":
    t.main()
