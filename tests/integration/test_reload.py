"""SIGHUP reload: added instances start, removed ones stop, changed ones are
restarted, unchanged ones keep their worker process; an invalid new config is
logged with FILE:LINE and the old one keeps running.

Invariant: an instance's identity across a reload is its worker PID (found
through /proc as a child of the agent): same PID = not restarted.
"""

import os
import re
import time

import ioca_test as t

AGENT = "itest-reload"
RELOAD_WAIT_S = 10


def alive(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


class ReloadTest(t.AgentTestCase):

    def setUp(self):
        super().setUp()
        self.broker_ = self.broker()
        self.sub = self.subscriber(self.broker_.port, topics=["ioc/#"])

    def start(self, instances):
        a = self.agent(broker_url=self.broker_.url, agent_id=AGENT, instances=instances)
        for inst in instances:
            self.expect(self.sub, t.topic_prefix("ioc/%s/%s/" % (AGENT, inst["name"])), 10,
                        what="first event of %s" % inst["name"])
        return a

    def pids(self, a, names):
        out = {}
        for n in names:
            pid = t.wait_until(lambda: a.worker_pid(n), 5)
            self.assertIsNotNone(pid, "no worker found for %s among %r" % (n, a.worker_pids()))
            out[n] = pid
        return out

    def events_of(self, name, after=0.0):
        return self.sub.messages(lambda m: m.topic.startswith("ioc/%s/%s/" % (AGENT, name))
                                 and m.arrived > after)

    def test_add_remove_change(self):
        keep, change, remove = t.sim("keep", rate=4.0), t.sim("change", rate=4.0), \
            t.sim("remove", rate=4.0)
        a = self.start([keep, change, remove])
        before = self.pids(a, ["keep", "change", "remove"])
        self.assertEqual(len(set(before.values())), 3)

        added = t.sim("added", rate=4.0)
        changed = t.sim("change", rate=8.0)
        a.write_config(a.render(broker_url=self.broker_.url, instances=[keep, changed, added]))
        hup = time.monotonic()
        a.sighup()

        self.expect(self.sub, lambda m: m.topic.startswith("ioc/%s/added/" % AGENT), RELOAD_WAIT_S,
                    what="events of the added instance")
        self.assertTrue(t.wait_until(lambda: not alive(before["remove"]), RELOAD_WAIT_S),
                        "removed instance's worker %d still running" % before["remove"])
        after = self.pids(a, ["keep", "change", "added"])
        self.assertEqual(after["keep"], before["keep"], "unchanged instance was restarted")
        self.assertNotEqual(after["change"], before["change"], "changed instance kept its worker")
        self.assertIsNone(a.worker_pid("remove"))
        self.assertEqual(len(a.worker_pids()), 3, a.worker_pids())

        # no events of the removed instance once it is gone; the kept one never paused
        time.sleep(1.0)
        settle = time.monotonic()
        time.sleep(2.0)
        self.assertEqual(self.events_of("remove", after=settle), [])
        kept = self.events_of("keep", after=hup - 2.0)
        gaps = [b.arrived - a_.arrived for a_, b in zip(kept, kept[1:])]
        self.assertLess(max(gaps), 1.0, "kept instance paused during reload: %r" % gaps)
        # the changed instance runs with its new rate (8/s instead of 4/s)
        recent = self.events_of("change", after=settle)
        self.assertGreater(len(recent), 2.0 * 8.0 * 0.7, "changed rate not applied")

        # the retained status lists the new set of instances
        st = t.Subscriber(self.broker_.port, topics=["ioc/%s/status" % AGENT])
        try:
            got = st.wait_for(t.topic_is("ioc/%s/status" % AGENT), 5)
        finally:
            st.close()
        self.assertTrue(got)
        names = sorted(i["name"] for i in t.validate(got[-1].payload, "status")["instances"])
        self.assertEqual(names, ["added", "change", "keep"])
        self.assertTrue(a.running())

        # nothing the agent sequenced was lost over the reload
        seqs = sorted(set(t.seqs_of(self.sub.messages(lambda m: "/event/" in m.topic or
                                                      m.topic.endswith("/telemetry")))))
        self.assertEqual(sorted(set(range(seqs[0], seqs[-1] + 1)) - set(seqs)), [])

    def test_remove_instance_waiting_to_restart(self):
        """An instance in restart backoff (no process) that the new config drops is
        gone at once: it leaves the status and is never started again."""
        a = self.agent(broker_url=self.broker_.url, agent_id=AGENT,
                       instances=[t.sim("keep", rate=4.0),
                                  {"name": "dying", "plugin": "crashy", "mode": "exit",
                                   "events": 0, "delay_ms": 0}])
        failed = "ioc/%s/_agent/event/agent/instance_failed" % AGENT
        self.expect(self.sub, t.topic_is(failed), 10, count=2, what="two failures of 'dying'")
        a.write_config(a.render(broker_url=self.broker_.url,
                                instances=[t.sim("keep", rate=4.0)]))
        reloaded = time.monotonic()
        a.sighup()

        def status_without_dying(m):
            if m.topic != "ioc/%s/status" % AGENT or m.arrived < reloaded:
                return False
            return [i["name"] for i in m.json()["instances"]] == ["keep"]
        self.expect(self.sub, status_without_dying, RELOAD_WAIT_S, what="status without 'dying'")
        settled = len(self.sub.messages(t.topic_is(failed)))
        time.sleep(4.5)  # longer than the backoff it was waiting out
        self.assertEqual(len(self.sub.messages(t.topic_is(failed))), settled,
                         "a removed instance must not be restarted")
        self.assertIsNone(a.worker_pid("dying"))

    def test_invalid_reload_keeps_old_config(self):
        keep = t.sim("keep", rate=4.0)
        a = self.start([keep])
        pid = self.pids(a, ["keep"])["keep"]
        good_text = open(a.conf_path).read()
        bad_line = len(good_text.splitlines()) + 1
        a.write_config(good_text + "bogus_section: { x = 1; };\n")
        hup = time.monotonic()
        a.sighup()
        pattern = re.compile(r"%s:%d:" % (re.escape(a.conf_path), bad_line))
        self.assertTrue(t.wait_until(lambda: pattern.search(a.log()), RELOAD_WAIT_S),
                        "reload error with FILE:LINE not logged:\n" + a.log()[-3000:])
        time.sleep(2.0)
        self.assertTrue(a.running(), "agent stopped on an invalid reload")
        self.assertEqual(a.worker_pid("keep"), pid, "instance restarted by an invalid reload")
        recent = self.events_of("keep", after=hup + 1.0)
        self.assertGreaterEqual(len(recent), 3, "events stopped after the invalid reload")

        # a syntax error is handled the same way
        a.write_config("agent: {\n  id = \"x\"\n  oops\n};\n")
        a.sighup()
        syntax = re.compile(r"%s:\d+:" % re.escape(a.conf_path))
        self.assertTrue(t.wait_until(lambda: len(syntax.findall(a.log())) >= 2, RELOAD_WAIT_S),
                        a.log()[-3000:])
        time.sleep(1.0)
        self.assertTrue(a.running())
        self.assertEqual(a.worker_pid("keep"), pid)

        # and a valid config afterwards is applied again
        a.write_config(a.render(broker_url=self.broker_.url,
                                instances=[keep, t.sim("later", rate=4.0)]))
        a.sighup()
        self.expect(self.sub, t.topic_prefix("ioc/%s/later/" % AGENT), RELOAD_WAIT_S,
                    what="events of an instance added after a failed reload")
        self.assertEqual(a.worker_pid("keep"), pid)
        os.kill(a.pid, 0)


if __name__ == "__main__":
    t.main()
