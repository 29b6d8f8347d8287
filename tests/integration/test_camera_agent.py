#!/usr/bin/python3
"""The camera plugin end to end through the agent: a real RTSP server serving
a generated clip with a moving box, the agent's worker reading it, a real
subscriber. motion.start arrives with its snapshot (JPEG, MQTT 5 content type
image/jpeg, same instance), payloads validate against the schema, and killing
the RTSP server gives camera.offline while other instances keep going."""
import os
import signal
import subprocess
import time
import unittest

import ioca_test as it

TOOLS = os.path.join(it.SOURCE_DIR, "tests", "tools")
FPS = 15
MOTION_FROM, MOTION_TO = 30, 60   # frames of the moving box in each 8 s loop (4 s still after)


class CameraThroughAgent(it.AgentTestCase):
    def setUp(self):
        super().setUp()
        clip = os.path.join(self.tmp, "clip.mp4")
        subprocess.run([os.path.join(TOOLS, "make_clip.sh"), "motion", clip, "-s", "320x240",
                        "-r", str(FPS), "-d", "8", "-a", str(MOTION_FROM), "-b", str(MOTION_TO)],
                       check=True, capture_output=True)
        self.rtsp = subprocess.Popen(
            ["/usr/bin/python3", os.path.join(TOOLS, "rtsp_server.py"), "--clip", clip,
             "--port", "0", "--path", "/cam"],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        self.addCleanup(self._stop_rtsp)
        line = self.rtsp.stdout.readline().strip()
        self.assertTrue(line.startswith("READY "), line)
        self.url = line.split(" ", 1)[1]

    def _stop_rtsp(self):
        if self.rtsp.poll() is None:
            self.rtsp.kill()
            self.rtsp.wait()

    def test_motion_snapshot_and_offline(self):
        broker = self.broker()
        sub = self.subscriber(broker.port)
        cam = {"name": "cam-1", "plugin": "camera", "url": self.url, "analyze_fps": 5.0,
               "snapshot": True, "snapshot_width": 160, "read_timeout": 2.0,
               "open_timeout": 3.0, "stats_interval": 60, "event_gap": 1.5}
        agent = self.agent(broker_url=broker.url,
                           instances=[cam, it.sim("sim-1", rate=4.0, kind="event")])
        prefix = "ioc/%s/cam-1/" % agent.agent_id

        online = self.expect(sub, it.topic_is(prefix + "event/camera/online"), 20,
                             what="camera.online")[0].json()
        it.validate(online, "envelope")
        self.assertEqual((online["data"]["codec"], online["data"]["width"],
                          online["data"]["height"]), ("h264", 320, 240))

        start = self.expect(sub, it.topic_is(prefix + "event/motion/start"), 30,
                            what="motion.start")[0].json()
        it.validate(start, "envelope")
        self.assertTrue(start["data"]["snapshot"])
        x, y, w, h = start["data"]["box"]
        self.assertTrue(0 <= x <= 1 and 0 <= y <= 1 and 0 < w <= 1 and 0 < h <= 1)
        snap = self.expect(sub, it.topic_is(prefix + "snapshot"), 10, what="snapshot")[0]
        self.assertEqual(snap.payload[:2], b"\xff\xd8", "a JPEG starts with SOI")
        self.assertEqual(snap.payload[-2:], b"\xff\xd9", "and ends with EOI")
        self.assertEqual(getattr(snap.properties, "ContentType", None), "image/jpeg")
        end = self.expect(sub, it.topic_is(prefix + "event/motion/end"), 30,
                          what="motion.end")[0].json()
        it.validate(end, "envelope")
        self.assertGreater(end["seq"], start["seq"])
        self.assertGreater(end["data"]["duration_s"], 0)

        # the camera goes away: offline within read_timeout + 1 s, the sim keeps going
        ticks_before = len(sub.messages(it.topic_is("ioc/%s/sim-1/event/sim/tick" %
                                                    agent.agent_id)))
        killed = time.monotonic()
        self.rtsp.send_signal(signal.SIGKILL)
        self.rtsp.wait()
        off = self.expect(sub, it.topic_is(prefix + "event/camera/offline"), 10,
                          what="camera.offline")[0]
        self.assertLess(off.arrived - killed, cam["read_timeout"] + 1.0 + 0.5)
        it.validate(off.json(), "envelope")
        self.assertNotIn("@", off.json()["data"].get("url", ""))
        self.expect(sub, it.topic_is("ioc/%s/sim-1/event/sim/tick" % agent.agent_id), 5,
                    count=ticks_before + 4, what="sim ticks after the camera went away")


if __name__ == "__main__":
    unittest.main()
