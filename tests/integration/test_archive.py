#!/usr/bin/python3
"""The local archive against a real mosquitto and real sim instances.

1. Two sim instances (telemetry and events) publish through the agent; a
   subscriber records what arrives. `iocagent --export` of the time range
   then prints exactly those messages (same id, seq, time, source, type,
   clock, data), every line valid against docs/schema/envelope.json; CSV has
   one row per reading; --instance filters.
2. The archive file is damaged while the agent is stopped. Started again,
   the agent runs, publishes agent.archive_corrupt, sets the file aside,
   archives new messages in a new file, and reports it in the metrics.
"""
import csv
import glob
import io
import json
import os
import time

import ioca_test as it

TELEMETRY_COUNT = 60
EVENT_COUNT = 80
COMMIT_WAIT_S = 2.5  # the archive commits at least once a second
FROM = "2000-01-01T00:00:00Z"
TO = "2100-01-01T00:00:00Z"


def export(agent, *args):
    r = it.run_binary(["--export", "--from", FROM, "--to", TO, "-c", agent.conf_path] +
                      list(args), timeout=60)
    if r.returncode != 0:
        raise AssertionError("export failed (%d): %s" % (r.returncode, r.stderr))
    return r.stdout


def envelopes(sub):
    out = {}
    for m in sub.messages():
        if "/event/" in m.topic or m.topic.endswith("/telemetry"):
            obj = m.json()
            out[obj["id"]] = obj
    return out


class ArchiveTest(it.AgentTestCase):
    def start_agent(self, broker, **kw):
        return self.agent(broker_url=broker.url,
                          instances=[it.sim("tele-1", rate=30.0, kind="telemetry",
                                            count=TELEMETRY_COUNT),
                                     it.sim("ev-1", rate=40.0, kind="event",
                                            count=EVENT_COUNT)],
                          mqtt_extra={"reconnect_max": 1},
                          agent_extra={"metrics_interval": 1}, **kw)

    def test_export_matches_delivery_and_damage_is_rebuilt(self):
        broker = self.broker()
        sub = self.subscriber(broker.port, topics=["ioc/itest-agent/#"])
        agent = self.start_agent(broker)
        self.expect(sub, it.topic_is("ioc/itest-agent/tele-1/telemetry"), 30,
                    count=TELEMETRY_COUNT, what="telemetry")
        self.expect(sub, it.topic_prefix("ioc/itest-agent/ev-1/event/"), 30,
                    count=EVENT_COUNT, what="events")
        time.sleep(COMMIT_WAIT_S)

        # 1. the export while the agent runs holds what the subscriber got
        got = envelopes(sub)
        lines = export(agent).splitlines()
        exported = {}
        for line in lines:
            obj = it.validate(line, "envelope")
            exported[obj["id"]] = obj
        self.assertEqual(len(exported), len(lines), "an id exported twice")
        self.assertGreaterEqual(len(got), TELEMETRY_COUNT + EVENT_COUNT)
        for mid, obj in got.items():
            self.assertIn(mid, exported, "delivered but not archived")
            self.assertEqual(exported[mid], obj, "archived differently than published")
        self.assertEqual(set(exported) - set(got), set(), "archived but never delivered")
        seqs = [exported[i]["seq"] for i in exported]
        self.assertEqual(len(set(seqs)), len(seqs))

        only = [json.loads(x) for x in export(agent, "--instance", "ev-1").splitlines()]
        self.assertEqual(len(only), EVENT_COUNT)
        self.assertEqual({o["source"] for o in only}, {"ev-1"})

        rows = list(csv.DictReader(io.StringIO(export(agent, "--format", "csv",
                                                      "--instance", "tele-1"))))
        readings = [(o["id"], r["name"], r["value"], r.get("unit", ""), r["status"])
                    for o in got.values() if o["source"] == "tele-1"
                    for r in o["data"]["readings"]]
        self.assertEqual(len(rows), len(readings))
        for row, (mid, name, value, unit, status) in zip(rows, sorted(
                readings, key=lambda x: int(x[0].split(":")[1]))):
            self.assertEqual((row["id"], row["parameter"], row["unit"], row["status"]),
                             (mid, name, unit, status))
            self.assertAlmostEqual(float(row["value"]), value, places=9)
            self.assertEqual(row["time"], got[mid]["time"])

        # 2. damage the archive while the agent is stopped
        agent.stop()
        self.assertEqual(agent.returncode, 0)
        path = os.path.join(agent.state_dir, "archive.db")
        size = os.path.getsize(path)
        self.assertGreater(size, 8192)
        with open(path, "r+b") as f:
            f.seek(size // 3)
            f.write(b"\xa5" * (size // 3))
        sub.clear()
        agent.start()
        corrupt = self.expect(sub, it.topic_is("ioc/itest-agent/_agent/event/agent/archive_corrupt"),
                              20, what="agent.archive_corrupt")
        ev = it.validate(corrupt[0].payload, "envelope")
        self.assertTrue(ev["data"]["file"].endswith(".corrupt"), ev["data"])
        self.assertTrue(os.path.exists(ev["data"]["file"]))
        self.assertTrue(agent.running())
        self.expect(sub, it.topic_is("ioc/itest-agent/tele-1/telemetry"), 30,
                    count=TELEMETRY_COUNT, what="telemetry after the restart")
        metrics = self.expect(sub, lambda m: m.topic == "ioc/itest-agent/metrics" and
                              m.json().get("archive", {}).get("written", 0) > 0, 20,
                              what="metrics with archive figures")
        arch = it.validate(metrics[-1].payload, "metrics")["archive"]
        self.assertEqual(arch["corrupt"], 1)
        self.assertGreater(arch["disk_bytes"], 0)
        time.sleep(COMMIT_WAIT_S)
        after = {json.loads(x)["id"] for x in export(agent).splitlines()}
        new = set(envelopes(sub))
        self.assertTrue(new <= after, "messages after the rebuild not archived: %r" %
                        sorted(new - after)[:5])
        self.assertEqual(len(glob.glob(path + ".*.corrupt")), 1)


class ExportUsageTest(it.AgentTestCase):
    def test_bad_arguments_are_named(self):
        agent = self.agent(start=False, broker_url="mqtt://127.0.0.1:1")
        r = it.run_binary(["--export", "--from", "yesterday", "--to", TO, "-c", agent.conf_path])
        self.assertEqual(r.returncode, 64)
        self.assertIn("--from 'yesterday' is not an RFC 3339 time", r.stderr)
        r = it.run_binary(["--export", "--from", TO, "--to", FROM, "-c", agent.conf_path])
        self.assertEqual(r.returncode, 64)
        self.assertIn("must be later", r.stderr)
        r = it.run_binary(["--export", "--from", FROM, "--to", TO, "--format", "xml",
                           "-c", agent.conf_path])
        self.assertEqual(r.returncode, 64)
        self.assertIn("--format 'xml'", r.stderr)
        r = it.run_binary(["--from", FROM, "-c", agent.conf_path])
        self.assertEqual(r.returncode, 64)
        r = it.run_binary(["--export", "--from", FROM, "--to", TO, "-c", agent.conf_path])
        self.assertEqual(r.returncode, 66)
        self.assertIn("archive.db", r.stderr)


if __name__ == "__main__":
    it.main()
