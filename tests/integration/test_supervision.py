"""Supervision: instances that crash (SIGSEGV, abort), exit (status 3), hang
or flood are each handled on their own while a sim instance keeps publishing
without a gap.

One agent runs them all side by side:
  steady  sim, 5 events/s               must never stall
  seg     crashy mode=segv              agent.instance_failed reason crashed, signal SEGV
  abo     crashy mode=abort             reason crashed, signal ABRT
  ext     crashy mode=exit              reason exited, exit_code 3
  hang    hangy, hang_timeout = 3 s     reason hung
  fl      floody, max_rate = 50/s       throttled to its max_rate, nothing dropped, never failed

Invariant: restarts count up by one per failure and the backoff (retry_in_s)
doubles from about 1 s, and the next run of the instance really starts no
sooner than the announced retry time.
"""

import signal
import time

import ioca_test as t

AGENT = "itest-super"
PREFIX = "ioc/%s/" % AGENT
FAILED_TOPIC = t.event_topic(AGENT, "_agent", "agent.instance_failed")
STEADY_RATE = 5.0
FLOOD_RATE = 50.0
HANG_TIMEOUT_S = 3
CRASH_DELAY_MS = 300
WAIT_S = 30
BURST_SKIP_S = 2.0  # the token bucket lets one second of events through at once
TICK_SLACK_MS = 150
HOG_MB = 160  # an event of the new run may carry a time a little before the restart


def envelope(m):
    return m.topic.startswith(PREFIX) and ("/event/" in m.topic or m.topic.endswith("/telemetry"))


def signal_is(value, signum):
    """The event's signal may be given as a number or as a name."""
    name = signal.Signals(signum).name
    if isinstance(value, int):
        return value == signum
    return str(value).upper() in (name, name[3:], str(signum))


class SupervisionTest(t.AgentTestCase):

    def failures(self, sub, instance):
        out = []
        for m in sub.messages(t.topic_is(FAILED_TOPIC)):
            obj = m.json()
            if obj["data"].get("instance") == instance:
                out.append(obj)
        return sorted(out, key=lambda o: o["seq"])

    def check_backoff(self, sub, instance, tick_type, fails):
        restarts = [f["data"]["restarts"] for f in fails]
        self.assertEqual(restarts, list(range(restarts[0], restarts[0] + len(restarts))),
                         "%s: restarts do not count up by one: %r" % (instance, restarts))
        retry = [float(f["data"]["retry_in_s"]) for f in fails]
        self.assertGreaterEqual(retry[0], 0.5, "%s: first backoff %r" % (instance, retry))
        self.assertLessEqual(retry[0], 2.0, "%s: first backoff %r" % (instance, retry))
        for a, b in zip(retry, retry[1:]):
            self.assertAlmostEqual(b / a, 2.0, delta=0.5,
                                   msg="%s: backoff does not double: %r" % (instance, retry))
        # the instance's next event comes no sooner than the announced retry
        ticks = sorted(t.parse_time_ms(m.json()["time"]) for m in sub.messages(
            t.topic_is(t.event_topic(AGENT, instance, tick_type))))
        for f in fails[:-1]:
            failed_ms = t.parse_time_ms(f["time"])
            nxt = [x for x in ticks if x > failed_ms]
            self.assertTrue(nxt, "%s: no event after the failure at %s" % (instance, f["time"]))
            self.assertGreaterEqual(nxt[0] - failed_ms, f["data"]["retry_in_s"] * 1000 - TICK_SLACK_MS,
                                    "%s restarted before its backoff ran out" % instance)

    def test_crash_hang_flood_isolated(self):
        broker = self.broker()
        sub = self.subscriber(broker.port, topics=["ioc/#"])
        crashy = lambda name, mode: {"name": name, "plugin": "crashy", "mode": mode,  # noqa: E731
                                     "events": 1, "delay_ms": CRASH_DELAY_MS}
        a = self.agent(broker_url=broker.url, agent_id=AGENT,
                       agent_extra={"metrics_interval": 1},
                       instances=[t.sim("steady", rate=STEADY_RATE, kind="event"),
                                  crashy("seg", "segv"), crashy("abo", "abort"),
                                  crashy("ext", "exit"),
                                  {"name": "hang", "plugin": "hangy",
                                   "hang_timeout": HANG_TIMEOUT_S},
                                  {"name": "fl", "plugin": "floody", "max_rate": FLOOD_RATE}])
        start = time.monotonic()
        want = {"seg": 3, "abo": 3, "ext": 3, "hang": 2}
        t.wait_until(lambda: all(len(self.failures(sub, n)) >= k for n, k in want.items()),
                     WAIT_S, interval=0.5)
        elapsed = time.monotonic() - start
        got = {n: len(self.failures(sub, n)) for n in want}
        for n, k in want.items():
            self.assertGreaterEqual(got[n], k, "agent.instance_failed counts %r after %.0fs\n%s" %
                                    (got, elapsed, a.log()[-4000:]))
        self.assertTrue(a.running(), "the agent itself died")

        for m in sub.messages(t.topic_is(FAILED_TOPIC)):
            t.validate(m.payload, "envelope")
        for f in self.failures(sub, "seg"):
            self.assertEqual(f["data"]["reason"], "crashed")
            self.assertTrue(signal_is(f["data"]["signal"], signal.SIGSEGV), f)
        for f in self.failures(sub, "abo"):
            self.assertEqual(f["data"]["reason"], "crashed")
            self.assertTrue(signal_is(f["data"]["signal"], signal.SIGABRT), f)
        for f in self.failures(sub, "ext"):
            self.assertEqual(f["data"]["reason"], "exited")
            self.assertEqual(f["data"]["exit_code"], 3)
        for f in self.failures(sub, "hang"):
            self.assertEqual(f["data"]["reason"], "hung")
        for name in ("seg", "abo", "ext"):
            self.check_backoff(sub, name, "crashy.tick", self.failures(sub, name))
        self.check_backoff(sub, "hang", "hangy.started", self.failures(sub, "hang"))
        self.assertEqual(self.failures(sub, "steady"), [])
        self.assertEqual(self.failures(sub, "fl"), [], "floody was treated as failed")

        # the steady sim stream: no stall in production (event times) or delivery (arrival)
        steady = sub.messages(t.topic_is(t.event_topic(AGENT, "steady", "sim.tick")))
        times = [t.parse_time_ms(m.json()["time"]) for m in steady]
        arrivals = [m.arrived for m in steady]
        span_s = (times[-1] - times[0]) / 1000.0
        self.assertGreater(span_s, 5.0)
        self.assertLess(max(b - a for a, b in zip(times, times[1:])), 3 * 1000 / STEADY_RATE,
                        "steady sim stalled (event times)")
        self.assertLess(max(b - a for a, b in zip(arrivals, arrivals[1:])), 1.0,
                        "steady sim stalled (arrival at the subscriber)")
        self.assertGreaterEqual(len(steady), 0.85 * STEADY_RATE * span_s)

        # floody: throttled to max_rate by back-pressure, nothing dropped on the way
        flood = sub.messages(t.topic_is(t.event_topic(AGENT, "fl", "floody.burst")))
        ns = sorted(m.json()["data"]["n"] for m in flood)
        self.assertEqual(ns, list(range(ns[0], ns[0] + len(ns))), "floody events lost")
        # delivered rate after the initial burst (one second of tokens) is max_rate
        settled = [m.arrived for m in flood if m.arrived > flood[0].arrived + BURST_SKIP_S]
        frate = (len(settled) - 1) / (settled[-1] - settled[0])
        self.assertGreater(frate, FLOOD_RATE * 0.7, "floody delivered %.1f/s" % frate)
        self.assertLess(frate, FLOOD_RATE * 1.3, "floody delivered %.1f/s (max_rate %s)" %
                        (frate, FLOOD_RATE))
        lag = flood[-1].arrived - flood[0].arrived - \
            (t.parse_time_ms(flood[-1].json()["time"]) - t.parse_time_ms(flood[0].json()["time"])) / 1e3
        print("floody: delivered %.1f/s, last event arrived %.1f s later than its time "
              "relative to the first" % (frate, lag))

        # the status follows the instances: a crashing one shows up as restarting
        statuses = [t.validate(m.payload, "status")
                    for m in sub.messages(t.topic_is(PREFIX + "status"))]
        seg_states = {i["state"] for st in statuses for i in st.get("instances", [])
                      if i["name"] == "seg"}
        self.assertIn("restarting", seg_states, "status never showed seg restarting")
        steady_states = {i["state"] for st in statuses for i in st.get("instances", [])
                         if i["name"] == "steady"}
        self.assertEqual(steady_states, {"running"})

        # nothing the agent published was lost: seq has no hole
        seqs = sorted(set(t.seqs_of(sub.messages(envelope))))
        self.assertEqual(sorted(set(range(seqs[0], seqs[-1] + 1)) - set(seqs)), [],
                         "seq values missing")

        # metrics count the restarts
        m = self.expect(sub, lambda m: m.topic == PREFIX + "metrics" and
                        m.json()["instances"].get("seg", {}).get("restarts", 0) >= 2, 5,
                        what="metrics with seg restarts >= 2")
        obj = t.validate(m[-1].payload, "metrics")
        self.assertEqual(obj["instances"]["steady"]["restarts"], 0)
        self.assertEqual(obj["instances"]["fl"]["restarts"], 0)
        # the plugin's own statistics (stat_add) reach the metrics too
        self.expect(sub, lambda m: m.topic == PREFIX + "metrics" and
                    m.json()["instances"]["fl"]["stats"].get("emitted", 0) > 0, 15,
                    what="metrics with floody's stat 'emitted'")

    def test_malformed_frame_kills_only_that_worker(self):
        broker = self.broker()
        sub = self.subscriber(broker.port, topics=["ioc/#"])
        a = self.agent(broker_url=broker.url, agent_id=AGENT,
                       instances=[t.sim("steady", rate=STEADY_RATE, kind="event"),
                                  {"name": "garb", "plugin": "crashy", "mode": "garble",
                                   "events": 1, "delay_ms": CRASH_DELAY_MS}])
        self.assertTrue(t.wait_until(lambda: len(self.failures(sub, "garb")) >= 2, 15),
                        "no agent.instance_failed for a worker sending garbage\n" + a.log()[-3000:])
        for f in self.failures(sub, "garb"):
            t.validate(f, "envelope")
            self.assertEqual(f["data"]["reason"], "crashed")
            self.assertIn("malformed", f["data"].get("error", ""), f)
        self.check_backoff(sub, "garb", "crashy.tick", self.failures(sub, "garb"))
        self.assertEqual(self.failures(sub, "steady"), [])
        self.assertTrue(a.running())
        steady = sub.messages(t.topic_is(t.event_topic(AGENT, "steady", "sim.tick")))
        arrivals = [m.arrived for m in steady]
        self.assertLess(max(b - a_ for a_, b in zip(arrivals, arrivals[1:])), 1.0)

    def test_memory_limit(self):
        if t.binary_is_sanitized():
            self.skipTest("RLIMIT_AS cannot be combined with AddressSanitizer's shadow memory")
        broker = self.broker()
        sub = self.subscriber(broker.port, topics=["ioc/#"])
        hog = lambda name, **kw: dict({"name": name, "plugin": "crashy", "mode": "hog",  # noqa: E731
                                       "events": 0, "delay_ms": 0, "hog_mb": HOG_MB}, **kw)
        a = self.agent(broker_url=broker.url, agent_id=AGENT,
                       agent_extra={"worker_memory_limit_mb": HOG_MB // 2},
                       instances=[hog("capped", memory_limit_mb=HOG_MB // 2),
                                  hog("agentcap"),
                                  hog("free", memory_limit_mb=HOG_MB * 4)])
        self.expect(sub, t.topic_is(t.event_topic(AGENT, "free", "crashy.hogged")), 15,
                    what="the instance with room allocating %d MiB" % HOG_MB)
        ok = t.wait_until(lambda: self.failures(sub, "capped") and self.failures(sub, "agentcap"),
                          15)
        self.assertTrue(ok, "memory-capped instances did not fail\n" + a.log()[-3000:])
        for name in ("capped", "agentcap"):
            f = self.failures(sub, name)[0]
            self.assertEqual((f["data"]["reason"], f["data"].get("exit_code")), ("exited", 1), f)
        self.assertEqual(sub.messages(lambda m: m.topic.endswith("/event/crashy/hogged") and
                                      "/free/" not in m.topic), [])
        self.assertEqual(self.failures(sub, "free"), [])
        self.assertTrue(a.running())


if __name__ == "__main__":
    t.main()
