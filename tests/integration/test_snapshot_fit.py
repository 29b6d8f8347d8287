#!/usr/bin/python3
"""A motion snapshot larger than the broker takes arrives re-encoded smaller
(docs/camera.md, "Snapshots"), instead of being rejected.

A real mosquitto with `max_packet_size` LIMIT_BYTES and a camera instance
reading a generated clip with heavy sensor noise, whose pictures are about
150 kB at the default snapshot_quality 5: the JPEG that follows motion.start
arrives on .../snapshot whole (SOI ... EOI, decoded by ffmpeg) within the
limit, at a coarser quality, and motion.start says its final size, quality
and dimensions. No agent.record_rejected is published. The agent learns the
limit from `mqtt.max_packet_size` (MQTT 3.1.1 cannot announce one) or from
the broker's MQTT 5 CONNACK, which comes after the camera worker started.
"""
import os
import subprocess

import ioca_test as t
from test_snapshot_command import jpeg_size

AGENT = "itest-snapfit"
TOOLS = os.path.join(t.SOURCE_DIR, "tests", "tools")
LIMIT_BYTES = 60000
DEFAULT_QUALITY = 5
CLIP_W, CLIP_H = 640, 480  # the default snapshot_width is 640: full size
NOISE = 40
FPS = 15
MOTION_FROM, MOTION_TO = 30, 60


class SnapshotFitTest(t.AgentTestCase):

    def setUp(self):
        super().setUp()
        self.clip = os.path.join(self.tmp, "noisy.mp4")
        subprocess.run([os.path.join(TOOLS, "make_clip.sh"), "motion", self.clip, "-s",
                        "%dx%d" % (CLIP_W, CLIP_H), "-r", str(FPS), "-d", "6", "-a",
                        str(MOTION_FROM), "-b", str(MOTION_TO), "-n", str(NOISE)],
                       check=True, capture_output=True)

    def run_case(self, protocol, configured_limit):
        broker = self.broker(extra_lines=["max_packet_size %d" % LIMIT_BYTES])
        sub = self.subscriber(broker.port, topics=["ioc/#"])
        mqtt_extra = {"protocol": protocol}
        if configured_limit:
            mqtt_extra["max_packet_size"] = LIMIT_BYTES
        cam = {"name": "cam", "plugin": "camera", "url": self.clip, "realtime": True,
               "analyze_fps": 5.0, "snapshot": True, "event_gap": 1.5, "stats_interval": 60,
               "backoff_min": 30.0, "backoff_max": 30.0}
        a = self.agent(agent_id=AGENT, broker_url=broker.url, mqtt_extra=mqtt_extra,
                       instances=[cam])
        prefix = "ioc/%s/cam/" % AGENT
        start = self.expect(sub, t.topic_is(prefix + "event/motion/start"), 30,
                            what="motion.start")[0].json()
        t.validate(start, "envelope")
        snap = self.expect(sub, t.topic_is(prefix + "snapshot"), 10, what="the snapshot")[0]
        data = snap.payload
        self.assertEqual(data[:2], b"\xff\xd8", "a JPEG starts with SOI")
        self.assertEqual(data[-2:], b"\xff\xd9", "and ends with EOI")
        self.assertLess(len(data), LIMIT_BYTES)
        d = start["data"]
        self.assertTrue(d["snapshot"], d)
        j = d["jpeg"]
        self.assertEqual(j["bytes"], len(data), j)
        self.assertTrue(j["reduced"], j)
        self.assertGreater(j["quality"], DEFAULT_QUALITY, j)
        self.assertEqual(jpeg_size(self, data), (j["width"], j["height"]))
        self.assertEqual(sub.messages(t.topic_is(
            t.event_topic(AGENT, "_agent", "agent.record_rejected"))), [])
        self.assertIn("snapshot re-encoded to fit", a.log())
        print("snapshot re-encoded: %r" % (j,))
        return a

    def test_v311_with_the_configured_max_packet_size(self):
        self.run_case("v311", configured_limit=True)

    def test_v5_with_the_configured_max_packet_size(self):
        self.run_case("v5", configured_limit=True)

    def test_v5_with_the_brokers_maximum_packet_size(self):
        # the worker starts before the agent connects: the CONNACK's limit reaches it later
        self.run_case("v5", configured_limit=False)


if __name__ == "__main__":
    t.main()
