"""The replay command against a real mosquitto and real sim instances.

Sim instances publish telemetry and events through the agent, which archives
them. A signed replay of a sub-range must then bring back exactly the
archived messages of that range on <prefix>/<agent>/replay/..., in (time,
seq) order, each the envelope as first published plus "replayed": true, at
about the asked rate, followed by one completion message; bad arguments and a
second replay while one runs are refused with a reason; a reload (SIGHUP or
the `reload` command) or a stop cancels a running replay with a completion
that says so ("cancelled": "reload" / "stop", docs/commands.md), after which
no replayed message arrives any more, and a stopped agent exits cleanly.

Invariant: the expected set comes from what the subscriber received live, not
from the agent's own archive.
"""

import json
import os
import time

import paho.mqtt.client as mqtt

import ioca_test as it
from test_commands import AGENT, KEY, Requester, request

TELEMETRY_COUNT = 120
EVENT_COUNT = 80
COMMIT_WAIT_S = 2.5  # the archive commits at least once a second
LIVE = "ioc/%s/" % AGENT
REPLAY = "ioc/%s/replay/" % AGENT
DAY_MS = 86400 * 1000
SLOW_RATE = 5        # replayed messages per second: a replay of the whole day runs for a minute
STARTED_COUNT = 3    # replayed messages seen before the replay is cancelled
QUIET_S = 1.5        # no replayed message may come this long after the completion


def live_envelopes(sub):
    out = []
    for m in sub.messages():
        if m.topic.startswith(REPLAY):
            continue
        if "/event/" in m.topic or m.topic.endswith("/telemetry"):
            out.append((m.topic, m.json()))
    return out


class AllReplies(Requester):
    """Keeps every reply of a request: the accepted reply, then the completion."""

    def __init__(self, port):
        self.all = {}
        super().__init__(port, mqtt.MQTTv5)

    def _on_message(self, client, userdata, msg):
        body = json.loads(msg.payload)
        with self.cond:
            self.all.setdefault(body.get("request_id"), []).append((body, time.monotonic()))
        super()._on_message(client, userdata, msg)

    def wait_all(self, rid, pred, timeout):
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                for body, arrived in self.all.get(rid, []):
                    if pred(body):
                        return body, arrived
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                self.cond.wait(left)


class ReplayTest(it.AgentTestCase):

    def start_agent(self, broker, enabled=("ping", "replay")):
        key_file = os.path.join(self.tmp, "cmd.key")
        with open(key_file, "wb") as f:
            f.write(KEY + b"\n")
        os.chmod(key_file, 0o600)
        a = self.agent(broker_url=broker.url, agent_id=AGENT,
                       instances=[it.sim("tele-1", rate=40.0, kind="telemetry",
                                         count=TELEMETRY_COUNT),
                                  it.sim("ev-1", rate=30.0, kind="event", count=EVENT_COUNT)],
                       agent_extra={"metrics_interval": 1},
                       sections={"commands": {"enabled": list(enabled),
                                              "key_file": key_file}})
        a.wait_log("ready:", 10)
        return a

    def requester(self, broker):
        r = AllReplies(broker.port)
        self.addCleanup(r.close)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            rid, p = request("ping")
            r.send("ping", p, correlation=b"warmup")
            if r.wait(rid, 1.0):
                return r
        self.fail("the agent never answered a ping")

    def replay(self, r, args):
        rid, p = request("replay", args)
        r.send("replay", p, correlation=rid.encode())
        got = r.wait_all(rid, lambda b: not b.get("result", {}).get("done"), 10)
        self.assertIsNotNone(got, "no reply to replay %r" % args)
        return rid, got[0]

    def wait_done(self, r, rid, timeout):
        """The completion is the second message with the request's correlation."""
        got = r.wait_all(rid, lambda b: b.get("result", {}).get("done"), timeout)
        self.assertIsNotNone(got, "no completion for replay %s" % rid)
        return got[0]["result"], got[1]

    def fill(self, broker, enabled=("ping", "replay")):
        sub = self.subscriber(broker.port, topics=[LIVE + "#"])
        agent = self.start_agent(broker, enabled)
        self.expect(sub, it.topic_is(LIVE + "tele-1/telemetry"), 30, count=TELEMETRY_COUNT,
                    what="telemetry")
        self.expect(sub, it.topic_prefix(LIVE + "ev-1/event/"), 30, count=EVENT_COUNT,
                    what="events")
        time.sleep(COMMIT_WAIT_S)
        live = live_envelopes(sub)
        live.sort(key=lambda te: (it.parse_time_ms(te[1]["time"]), te[1]["seq"]))
        return agent, sub, live

    def test_replay_of_a_sub_range(self):
        broker = self.broker()
        agent, sub, live = self.fill(broker)
        r = self.requester(broker)
        times = [it.parse_time_ms(o["time"]) for _, o in live]
        lo, hi = times[len(times) // 4], times[3 * len(times) // 4]
        expected = [(tp, o) for (tp, o), tm in zip(live, times) if lo <= tm < hi]
        self.assertGreater(len(expected), 60)
        rate = 40

        sub.clear()
        rid, body = self.replay(r, {"from": lo, "to": hi, "rate": rate})
        self.assertTrue(body["ok"], body)
        self.assertTrue(body["result"]["accepted"])
        self.assertEqual(body["result"]["matched"], len(expected))

        # while it runs: a second one is busy; bad arguments are named
        _, busy = self.replay(r, {"from": lo, "to": hi})
        self.assertFalse(busy["ok"])
        self.assertEqual(busy["error"], "busy", busy)
        for args in ({"from": hi, "to": lo}, {"from": lo, "to": lo},
                     {"from": lo, "to": lo + 32 * DAY_MS}, {"from": lo},
                     {"from": "yesterday", "to": hi},
                     {"from": lo, "to": hi, "instance": "no-such"},
                     {"from": lo, "to": hi, "rate": 0}):
            _, bad = self.replay(r, args)
            self.assertFalse(bad["ok"], args)
            self.assertEqual(bad["error"], "bad_args", bad)
            self.assertTrue(bad.get("detail"), bad)

        done, _ = self.wait_done(r, rid, 30)
        self.assertEqual(done["sent"], len(expected))
        self.assertNotIn("cancelled", done)
        time.sleep(0.5)
        replayed = [m for m in sub.messages() if m.topic.startswith(REPLAY)]
        self.assertEqual(len(replayed), len(expected))
        for m, (topic, orig) in zip(replayed, expected):
            self.assertEqual(m.qos, 1)
            self.assertEqual(m.topic, REPLAY + topic[len(LIVE):])
            obj = m.json()
            self.assertIs(obj.pop("replayed"), True)
            self.assertEqual(obj, orig)
        # paced: the span of arrivals matches the rate (tolerant under load)
        span = replayed[-1].arrived - replayed[0].arrived
        want = (len(replayed) - 1) / rate
        print("replay: %d messages in %.2f s at rate %.0f (expected %.2f s)" %
              (len(replayed), span, rate, want))
        self.assertGreater(span, 0.7 * want)
        self.assertLess(span, 2.0 * want + 2.0)

        # one instance only, counted in the metrics
        ev = [o for tp, o in live if o["source"] == "ev-1"]
        sub.clear()
        rid, body = self.replay(r, {"from": hi - DAY_MS, "to": hi + 1, "instance": "ev-1",
                                    "rate": 1000})
        self.assertTrue(body["ok"], body)
        done, _ = self.wait_done(r, rid, 30)
        time.sleep(0.5)
        got = [m.json()["id"] for m in sub.messages() if m.topic.startswith(REPLAY)]
        want_ids = [o["id"] for o in ev if it.parse_time_ms(o["time"]) <= hi]
        self.assertEqual(got, want_ids)
        self.assertEqual(done["sent"], len(want_ids))
        metrics = self.expect(sub, lambda m: m.topic == LIVE + "metrics" and
                              m.json().get("commands", {}).get("replay", {}).get("sent", 0) >=
                              len(expected) + len(want_ids), 10, what="replay metrics")
        cm = it.validate(metrics[-1].payload, "metrics")["commands"]
        self.assertEqual(cm["replay"]["sent"], len(expected) + len(want_ids))
        self.assertEqual(cm["replay"]["started"], 2)
        self.assertEqual(cm["refused"]["bad_args"], 7)
        self.assertEqual(cm["refused"]["busy"], 1)

    def replayed(self, sub):
        return [m for m in sub.messages() if m.topic.startswith(REPLAY)]

    def start_slow_replay(self, broker, enabled=("ping", "replay")):
        """A replay of the whole day at SLOW_RATE, running: STARTED_COUNT messages are out."""
        agent, sub, live = self.fill(broker, enabled)
        r = self.requester(broker)
        now = int(time.time() * 1000)
        sub.clear()
        rid, body = self.replay(r, {"from": now - DAY_MS, "to": now, "rate": SLOW_RATE})
        self.assertTrue(body["ok"], body)
        self.assertGreater(body["result"]["matched"], 2 * STARTED_COUNT)
        self.expect(sub, lambda m: m.topic.startswith(REPLAY), 10, count=STARTED_COUNT,
                    what="replayed messages")
        return agent, sub, r, rid, body["result"]["matched"]

    def assert_cancelled(self, sub, done, why, matched):
        """The completion says why; nothing replayed comes after it, and what came is `sent`."""
        self.assertEqual(done["cancelled"], why, done)
        self.assertLess(done["sent"], matched)
        self.assertGreaterEqual(done["sent"], STARTED_COUNT)
        time.sleep(QUIET_S)
        before = len(self.replayed(sub))
        time.sleep(QUIET_S)
        after = len(self.replayed(sub))
        self.assertEqual(before, after, "replayed messages after the replay was cancelled")
        self.assertEqual(after, done["sent"], "replayed messages arrived vs sent")

    def assert_new_replay_runs(self, r):
        """A new replay is accepted once the old one was cancelled."""
        rid2, body2 = self.replay(r, {"from": 0, "to": 1000})
        self.assertTrue(body2["ok"], body2)
        self.assertEqual(body2["result"]["matched"], 0)
        done2, _ = self.wait_done(r, rid2, 10)
        self.assertEqual(done2["sent"], 0)
        self.assertNotIn("cancelled", done2)

    def test_reload_cancels_a_running_replay(self):
        broker = self.broker()
        agent, sub, r, rid, matched = self.start_slow_replay(broker)
        agent.sighup()
        done, _ = self.wait_done(r, rid, 10)
        self.assertIn("reload: done", agent.log())
        self.assert_cancelled(sub, done, "reload", matched)
        self.assert_new_replay_runs(r)

    def test_reload_command_cancels_a_running_replay(self):
        broker = self.broker()
        agent, sub, r, rid, matched = self.start_slow_replay(
            broker, enabled=("ping", "replay", "reload"))
        rrid, p = request("reload")
        r.send("reload", p, correlation=rrid.encode())
        applied = r.wait_all(rrid, lambda b: True, 10)
        self.assertIsNotNone(applied, "no reply to the reload command")
        self.assertEqual(applied[0]["result"], {"applied": True}, applied[0])
        done, _ = self.wait_done(r, rid, 10)
        self.assert_cancelled(sub, done, "reload", matched)
        self.assert_new_replay_runs(r)

    def test_stop_cancels_a_running_replay(self):
        broker = self.broker()
        agent, sub, r, rid, matched = self.start_slow_replay(broker)
        agent.terminate()
        self.assertEqual(agent.wait(6), 0, agent.log()[-2000:])
        done, _ = self.wait_done(r, rid, 5)
        self.assertIn("stopped", agent.log())
        self.assert_cancelled(sub, done, "stop", matched)


if __name__ == "__main__":
    it.main()
