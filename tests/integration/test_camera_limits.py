#!/usr/bin/python3
"""Camera workers run under a memory limit by default: the camera plugin's
descriptor declares 2048 MiB (RLIMIT_AS), used unless the instance's
memory_limit_mb or agent.worker_memory_limit_mb says otherwise; other plugins
keep running without one. Prints the address-space peak of a camera worker
decoding 1920x1080 H.264, the figure the default is set against."""
import os
import subprocess

import ioca_test as it

TOOLS = os.path.join(it.SOURCE_DIR, "tests", "tools")
AGENT = "limits-agent"
CAMERA_DEFAULT_MB = 2048
MIB = 1024 * 1024


def address_space_limit(pid):
    """Soft RLIMIT_AS of a process in bytes, None when unlimited."""
    with open("/proc/%d/limits" % pid) as f:
        for line in f:
            if line.startswith("Max address space"):
                soft = line.split()[3]
                return None if soft == "unlimited" else int(soft)
    raise AssertionError("no address space line in /proc/%d/limits" % pid)


def vm_peak_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmPeak:"):
                return int(line.split()[1])
    return 0


class CameraLimits(it.AgentTestCase):
    def test_default_memory_limit(self):
        if it.binary_is_sanitized():
            self.skipTest("RLIMIT_AS cannot be combined with AddressSanitizer's shadow memory")
        clip = os.path.join(self.tmp, "hd.mp4")
        subprocess.run([os.path.join(TOOLS, "make_clip.sh"), "motion", clip, "-s", "1920x1080",
                        "-d", "4"], check=True, capture_output=True)
        broker = self.broker()
        sub = self.subscriber(broker.port)
        cam = lambda name, **kw: dict({"name": name, "plugin": "camera", "url": clip,  # noqa: E731
                                       "realtime": True, "stats_interval": 0.0}, **kw)
        agent = self.agent(broker_url=broker.url, agent_id=AGENT,
                           instances=[cam("cam-default"), cam("cam-own", memory_limit_mb=3000),
                                      it.sim("sim-1")])
        self.expect(sub, it.topic_is(it.event_topic(AGENT, "cam-default", "camera.online")), 20,
                    what="camera.online")
        pids = {n: agent.worker_pid(n) for n in ("cam-default", "cam-own", "sim-1")}
        self.assertTrue(all(pids.values()), pids)
        self.assertEqual(address_space_limit(pids["cam-default"]), CAMERA_DEFAULT_MB * MIB)
        self.assertEqual(address_space_limit(pids["cam-own"]), 3000 * MIB)
        self.assertIsNone(address_space_limit(pids["sim-1"]))
        it.wait_until(lambda: False, 2.0)  # decode for a while before reading the peak
        print("camera worker 1920x1080 H.264: VmPeak %d MiB of the %d MiB default" %
              (vm_peak_kb(pids["cam-default"]) // 1024, CAMERA_DEFAULT_MB))
        agent.stop()

    def test_agent_wide_limit_wins(self):
        if it.binary_is_sanitized():
            self.skipTest("RLIMIT_AS cannot be combined with AddressSanitizer's shadow memory")
        broker = self.broker()
        agent = self.agent(broker_url=broker.url, agent_id=AGENT,
                           agent_extra={"worker_memory_limit_mb": 1500},
                           instances=[{"name": "cam-1", "plugin": "camera",
                                       "url": "rtsp://127.0.0.1:%d/x" % it.free_port()}])
        self.assertTrue(it.wait_until(lambda: agent.worker_pid("cam-1"), 10), agent.log())
        self.assertEqual(address_space_limit(agent.worker_pid("cam-1")), 1500 * MIB)
        agent.stop()


if __name__ == "__main__":
    it.main()
