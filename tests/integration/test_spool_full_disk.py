#!/usr/bin/python3
"""Full disk under the real agent: running, reported, bounded, recovers.

The agent runs in a private mount namespace where its spool directory is a
1 MiB tmpfs (skipped where the test may not mount). A sim instance emits
2000 events/s while no broker listens, so the spool fills the file system:
the agent must keep running, say so (log, retained status with
spool.degraded and the reason), hold what fits in its 256 KiB memory buffer
and count the rest as dropped (metrics, agent.spool_dropped). When the broker
comes back, delivery frees the disk, the spool writes to it again (status no
longer degraded) and every record that was not counted as dropped arrives:
the seqs missing at the subscriber are exactly the drops the metrics count.
"""
import os
import subprocess
import time

import ioca_test as it

RATE = 2000.0
COUNT = 30000
FS_SIZE = "1m"
QUIET_S = 3.0


def can_mount():
    try:
        return subprocess.run(["unshare", "--mount", "--propagation", "private", "sh", "-c",
                               "mount -t tmpfs -o size=64k tmpfs /mnt"],
                              capture_output=True, timeout=10).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


class SpoolFullDiskTest(it.AgentTestCase):
    def test_full_disk(self):
        if not can_mount():
            self.skipTest("cannot mount a tmpfs in a private mount namespace here "
                          "(tests/unit/test_spool_disk.c covers the spool with its write seam)")
        # the subscriber's persistent session exists before the agent can publish,
        # so nothing the agent sends after the broker returns can miss it
        broker = it.Broker(self.tmp, persistence=True)
        self.addCleanup(broker.kill)
        broker.start()
        sub = self.subscriber(broker.port, topics=("ioc/itest-agent/#",), qos=1, persistent=True)
        broker.stop()
        spool = {"spool": {"segment_bytes": 65536, "memory_buffer_bytes": 262144, "fsync": "interval"}}
        agent = self.agent(start=False, broker_url=broker.url,
                           instances=[it.sim("sim-1", rate=RATE, kind="event", count=COUNT,
                                             max_rate=0.0)],
                           agent_extra={"metrics_interval": 1},
                           mqtt_extra={"reconnect_max": 1}, sections=spool)
        spool_dir = os.path.join(agent.state_dir, "spool")
        os.makedirs(spool_dir)
        # unshare execs sh, which execs the agent: agent.proc.pid is the agent
        err = open(agent.log_path, "ab")
        agent.proc = subprocess.Popen(
            ["unshare", "--mount", "--propagation", "private", "sh", "-c",
             'mount -t tmpfs -o size=%s tmpfs "$1" && exec "$2" -c "$3"' % FS_SIZE, "sh",
             spool_dir, it.BINARY, agent.conf_path],
            stdout=err, stderr=err, stdin=subprocess.DEVNULL)
        err.close()

        self.assertTrue(agent.wait_log("holding new records in memory", 30), agent.log()[-3000:])
        self.assertIn("No space left on device", agent.log())
        time.sleep(3)  # the memory buffer overflows meanwhile
        self.assertTrue(agent.running(), agent.log()[-3000:])

        broker.start()
        self.assertTrue(agent.wait_log("writing to disk again", 60), agent.log()[-3000:])
        def sim_done():  # under load the sim may still be catching up on its schedule
            ms = sub.messages(it.topic_is("ioc/itest-agent/metrics"))
            return ms and ms[-1].json()["instances"]["sim-1"]["events_in"] >= COUNT
        self.assertTrue(it.wait_until(sim_done, 90, interval=0.2), "the sim did not finish")
        last = [0, time.monotonic()]

        def quiet():  # no new event for QUIET_S (metrics keep coming every second)
            n = len(sub.messages(lambda m: "/event/" in m.topic))
            if n != last[0]:
                last[0], last[1] = n, time.monotonic()
            return time.monotonic() - last[1] >= QUIET_S
        self.assertTrue(it.wait_until(quiet, 90, interval=0.2))
        self.assertTrue(agent.running())

        statuses = [m.json() for m in sub.messages(it.topic_is("ioc/itest-agent/status"))]
        degraded = [s for s in statuses if s.get("spool", {}).get("degraded")]
        self.assertTrue(degraded, "no status said degraded: %r" % statuses[:3])
        self.assertIn("No space left on device", degraded[0]["spool"]["reason"])
        self.assertFalse(statuses[-1]["spool"]["degraded"])

        events = [m for m in sub.messages() if "/event/" in m.topic]
        seqs = {m.json()["seq"] for m in events}
        missing = set(range(min(seqs), max(seqs) + 1)) - seqs
        drops = [m.json()["data"] for m in events if m.topic.endswith("/agent/spool_dropped")]
        reported = sum(d["events"] for d in drops)
        sims = {m.json()["seq"] for m in events if m.topic.startswith("ioc/itest-agent/sim-1/")}
        metrics = [m.json() for m in sub.messages(it.topic_is("ioc/itest-agent/metrics"))]
        dropped = metrics[-1]["queue"]["dropped"]
        print("sim events delivered %d of %d, missing seqs %d, dropped (metrics) %d, "
              "%d agent.spool_dropped events delivered reporting %d"
              % (len(sims), COUNT, len(missing), dropped, len(drops), reported))
        # the memory buffer is bounded: some records were dropped, all counted,
        # and the reports themselves went through the same buffer
        self.assertGreater(dropped, 0)
        self.assertEqual(len(missing), dropped)
        self.assertGreater(reported, 0)
        self.assertLessEqual(reported, dropped)
        self.assertLessEqual(COUNT - len(sims), dropped)
        self.assertGreater(len(sims), COUNT // 2)


if __name__ == "__main__":
    it.main()
