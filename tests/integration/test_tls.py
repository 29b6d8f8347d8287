"""TLS and mutual TLS end to end: the agent publishes through mosquitto's TLS
listener (mqtts://, certificates made by openssl in the test); a plain
subscriber on the same broker sees the events. A server certificate from an
unrelated CA, or a missing client certificate on a mutual-TLS listener, is
refused: nothing arrives and the agent's log says why.

Invariant: verification is on (no `insecure`) in every case here.
"""

import re
import time

import ioca_test as t

AGENT = "itest-tls"
REFUSED_OBSERVE_S = 4.0
TLS_ERROR_WORDS = re.compile(r"certificate|verif|tls|ssl|handshake", re.I)


class TlsTest(t.AgentTestCase):

    @classmethod
    def setUpClass(cls):
        import tempfile
        cls.certdir = tempfile.mkdtemp(prefix="ioca-certs-")
        cls.certs = t.make_certs(cls.certdir)

    @classmethod
    def tearDownClass(cls):
        import shutil
        shutil.rmtree(cls.certdir, ignore_errors=True)

    def run_agent(self, broker, tls):
        return self.agent(broker_url=broker.tls_url, agent_id=AGENT,
                          instances=[t.sim("s1", rate=5.0)], mqtt_extra={"tls": tls})

    def assert_events_arrive(self, broker, a):
        sub = self.subscriber(broker.port, topics=["ioc/#"])
        got = self.expect(sub, t.topic_is(t.event_topic(AGENT, "s1", "sim.tick")), 10, count=5,
                          what="events over TLS")
        for m in got:
            t.validate(m.payload, "envelope")
        st = self.expect(sub, t.topic_is("ioc/%s/status" % AGENT), 5, what="status")
        self.assertEqual(st[-1].json()["state"], "online")
        self.assertRegex(broker.log(), r"New client connected .* as %s" % AGENT)

    def assert_refused(self, broker, a):
        sub = self.subscriber(broker.port, topics=["ioc/#"])
        time.sleep(REFUSED_OBSERVE_S)
        self.assertEqual(sub.messages(), [], "messages arrived over a connection that must fail")
        self.assertTrue(a.running(), "agent gave up instead of retrying:\n" + a.log()[-2000:])
        self.assertRegex(a.log(), TLS_ERROR_WORDS, "log does not say why:\n" + a.log()[-2000:])

    def test_tls(self):
        broker = self.broker(certs=self.certs)
        a = self.run_agent(broker, {"ca_file": self.certs["ca"]})
        self.assert_events_arrive(broker, a)

    def test_mutual_tls(self):
        broker = self.broker(certs=self.certs, mutual=True)
        a = self.run_agent(broker, {"ca_file": self.certs["ca"],
                                    "cert_file": self.certs["client_cert"],
                                    "key_file": self.certs["client_key"]})
        self.assert_events_arrive(broker, a)

    def test_wrong_ca_refused(self):
        broker = self.broker(certs=self.certs)
        a = self.run_agent(broker, {"ca_file": self.certs["other_ca"]})
        self.assert_refused(broker, a)

    def test_mutual_tls_without_client_cert_refused(self):
        broker = self.broker(certs=self.certs, mutual=True)
        a = self.run_agent(broker, {"ca_file": self.certs["ca"]})
        self.assert_refused(broker, a)

    def test_mutual_tls_client_cert_from_other_ca_refused(self):
        broker = self.broker(certs=self.certs, mutual=True)
        a = self.run_agent(broker, {"ca_file": self.certs["ca"],
                                    "cert_file": self.certs["other_client_cert"],
                                    "key_file": self.certs["other_client_key"]})
        self.assert_refused(broker, a)


if __name__ == "__main__":
    t.main()
