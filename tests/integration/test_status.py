"""Retained status and the will: online after start, offline after SIGTERM
(and SIGINT), the will (offline) after kill -9; graceful stop within 5 s even
with an instance that ignores stop requests; workers never outlive the core.

Invariant: status is always read by a subscriber that connects after the
fact, so what is checked is the retained message the broker keeps.
"""

import os
import signal
import time

import ioca_test as t

AGENT = "itest-status"
STATUS = "ioc/%s/status" % AGENT
GRACEFUL_STOP_S = 5.0


def pid_alive(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


class StatusTest(t.AgentTestCase):

    def retained_status(self, broker, state, timeout=10):
        """Connect a fresh subscriber until the retained status has `state`; return it."""
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            sub = t.Subscriber(broker.port, topics=[STATUS])
            try:
                got = sub.wait_for(t.topic_is(STATUS), 1.0)
            finally:
                sub.close()
            if got:
                last = got[-1]
                if last.json().get("state") == state:
                    self.assertTrue(last.retain, "status not retained")
                    return t.validate(last.payload, "status")
            time.sleep(0.2)
        self.fail("no retained status %r within %ss (last: %r)" % (state, timeout, last))

    def start(self, broker, instances=None):
        instances = instances or [t.sim("s1", rate=2.0), t.sim("s2", rate=2.0, kind="telemetry")]
        return self.agent(broker_url=broker.url, agent_id=AGENT, instances=instances,
                          mqtt_extra={"keepalive": 5})

    def test_online_then_offline_on_sigterm(self):
        broker = self.broker()
        a = self.start(broker)
        st = self.retained_status(broker, "online")
        self.assertEqual(st["agent"], AGENT)
        self.assertEqual({i["name"]: i["plugin"] for i in st["instances"]}, {"s1": "sim", "s2": "sim"})
        # instances reach "running"
        deadline = time.monotonic() + 10
        while any(i["state"] != "running" for i in st["instances"]) and time.monotonic() < deadline:
            st = self.retained_status(broker, "online")
        self.assertEqual({i["state"] for i in st["instances"]}, {"running"}, st)
        workers = list(a.worker_pids())
        self.assertEqual(len(workers), 2, a.worker_pids())
        t0 = time.monotonic()
        a.terminate()
        code = a.wait(GRACEFUL_STOP_S + 1)
        elapsed = time.monotonic() - t0
        self.assertEqual(code, 0, a.log()[-3000:])
        self.assertLess(elapsed, GRACEFUL_STOP_S)
        off = self.retained_status(broker, "offline", timeout=3)
        self.assertEqual(off["agent"], AGENT)
        for pid in workers:
            self.assertFalse(pid_alive(pid), "worker %d outlived the agent" % pid)

    def test_sigint_is_graceful_too(self):
        broker = self.broker()
        a = self.start(broker)
        self.retained_status(broker, "online")
        a.send(signal.SIGINT)
        self.assertEqual(a.wait(GRACEFUL_STOP_S + 1), 0, a.log()[-3000:])
        self.retained_status(broker, "offline", timeout=3)

    def test_sigterm_within_5s_with_an_instance_ignoring_stop(self):
        broker = self.broker()
        sub = self.subscriber(broker.port, topics=["ioc/#"])
        a = self.start(broker, instances=[t.sim("s1", rate=2.0),
                                          {"name": "stuck", "plugin": "hangy", "hang_timeout": 60}])
        self.expect(sub, t.topic_is(t.event_topic(AGENT, "stuck", "hangy.started")), 10,
                    what="hangy.started")
        workers = list(a.worker_pids())
        t0 = time.monotonic()
        a.terminate()
        code = a.wait(GRACEFUL_STOP_S + 2)
        elapsed = time.monotonic() - t0
        self.assertEqual(code, 0, a.log()[-3000:])
        self.assertLess(elapsed, GRACEFUL_STOP_S, "graceful stop took %.1fs" % elapsed)
        for pid in workers:
            self.assertFalse(pid_alive(pid), "worker %d outlived the agent" % pid)
        self.retained_status(broker, "offline", timeout=3)

    def test_will_after_kill_9(self):
        broker = self.broker()
        a = self.start(broker)
        self.retained_status(broker, "online")
        workers = list(a.worker_pids())
        self.assertTrue(workers)
        a.kill()
        off = self.retained_status(broker, "offline", timeout=15)
        self.assertEqual(off["agent"], AGENT)
        # workers notice their core is gone and exit by themselves
        gone = t.wait_until(lambda: not any(pid_alive(p) for p in workers), 10)
        leftovers = [p for p in workers if pid_alive(p)]
        for p in leftovers:
            os.kill(p, signal.SIGKILL)
        self.assertTrue(gone, "workers %r still alive 10 s after the agent was killed" % leftovers)


if __name__ == "__main__":
    t.main()
