"""Hang detection judges a worker by what it reports, never by waiting on
purpose or by time the core itself was not looking.

  camera_backoff   a camera whose server stays unreachable waits in its
                   reconnect backoff longer than its hang_timeout: it is not
                   hung (no agent.instance_failed, the same worker process)
  core_stopped     the core is stopped (SIGSTOP) for longer than the
                   workers' hang_timeout: after SIGCONT no healthy worker is
                   killed as hung
  exited_zero      a plugin whose run() returns success without a stop
                   request is reported as `exited` with exit_code 0 and a
                   text that says so
"""

import signal
import time

import ioca_test as t

AGENT = "itest-hangj"
FAILED_TOPIC = t.event_topic(AGENT, "_agent", "agent.instance_failed")
HANG_TIMEOUT_S = 3  # the smallest allowed
BACKOFF_S = 7.0          # camera backoff, longer than HANG_TIMEOUT_S
OBSERVE_S = 16.0
CORE_STOP_S = 2 * HANG_TIMEOUT_S + 2
AFTER_CONT_S = 4.0


class HangJudgementTest(t.AgentTestCase):

    def failures(self, sub):
        return [m.json() for m in sub.messages(t.topic_is(FAILED_TOPIC))]

    def test_camera_backoff_is_not_a_hang(self):
        broker = self.broker()
        sub = self.subscriber(broker.port, topics=["ioc/#"])
        closed = t.free_port()  # nothing listens there
        a = self.agent(broker_url=broker.url, agent_id=AGENT, instances=[
            {"name": "cam", "plugin": "camera", "url": "rtsp://127.0.0.1:%d/none" % closed,
             "open_timeout": 1.0, "backoff_min": BACKOFF_S, "backoff_max": BACKOFF_S,
             "hang_timeout": HANG_TIMEOUT_S}])
        offline = t.event_topic(AGENT, "cam", "camera.offline")
        self.expect(sub, t.topic_is(offline), 10, what="camera.offline")
        pid = a.worker_pid("cam")
        time.sleep(OBSERVE_S)
        self.assertEqual(self.failures(sub), [],
                         "a camera waiting in its backoff was killed\n" + a.log()[-3000:])
        self.assertEqual(a.worker_pid("cam"), pid, "the camera worker was restarted")
        self.assertTrue(a.running())

    def test_stopped_core_does_not_kill_workers(self):
        broker = self.broker()
        sub = self.subscriber(broker.port, topics=["ioc/#"])
        a = self.agent(broker_url=broker.url, agent_id=AGENT, instances=[
            t.sim("s1", rate=2.0, hang_timeout=HANG_TIMEOUT_S),
            t.sim("s2", rate=0.5, kind="telemetry", hang_timeout=HANG_TIMEOUT_S),
            {"name": "ex", "plugin": "exec", "command": ["/bin/echo", "v 1"],
             "interval": 1.0, "hang_timeout": HANG_TIMEOUT_S}])
        self.expect(sub, t.topic_is(t.event_topic(AGENT, "s1", "sim.tick")), 10, what="sim.tick")
        t.wait_until(lambda: a.log().count("running (plugin") >= 3, 10)
        a.send(signal.SIGSTOP)
        try:
            time.sleep(CORE_STOP_S)
        finally:
            a.send(signal.SIGCONT)
        time.sleep(AFTER_CONT_S)
        self.assertTrue(a.running())
        self.assertEqual(self.failures(sub), [],
                         "healthy workers killed after the core was stopped\n" + a.log()[-3000:])
        self.assertNotIn("killing worker", a.log())

    def test_run_returning_is_exited_zero(self):
        broker = self.broker()
        sub = self.subscriber(broker.port, topics=["ioc/#"])
        a = self.agent(broker_url=broker.url, agent_id=AGENT, instances=[
            {"name": "ret", "plugin": "crashy", "mode": "return", "events": 1,
             "delay_ms": 100}])
        got = self.expect(sub, t.topic_is(FAILED_TOPIC), 10, what="agent.instance_failed")
        ev = got[0].json()
        t.validate(got[0].payload, "envelope")
        self.assertEqual(ev["data"]["reason"], "exited")
        self.assertEqual(ev["data"]["exit_code"], 0)
        self.assertIn("without being asked to stop", ev["data"]["error"], ev)
        self.assertTrue(a.running())


if __name__ == "__main__":
    t.main()
