#!/usr/bin/python3
"""The `snapshot` remote command end to end: a real mosquitto, a real RTSP
camera (GStreamer serving a generated H.264 clip) read by the agent's camera
worker, requests signed as docs/commands.md says and sent by paho.

The picture comes back on the request's reply topic as a JPEG that ffprobe
decodes at the configured snapshot width, with the request's Correlation
Data and content type image/jpeg (MQTT 5) or on `reply_to` (MQTT 3.1.1), and
also on the instance's ordinary snapshot topic. Requests that cannot be answered get a JSON error with a reason:
no such instance, a sensor instance, a command not enabled, a camera that
delivers no picture (timeout) and a second request while one waits (busy).
A picture larger than the broker's MQTT 5 Maximum Packet Size at the
configured quality comes back re-encoded smaller, still decodable. The
metrics count every request (commands.snapshot: requested, answered,
too_large, failed, timed_out, bytes, waiting).
"""
import json
import os
import subprocess
import threading
import time
import uuid

import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

import ioca_test as it
from test_commands import AGENT, CMD, KEY, request

TOOLS = os.path.join(it.SOURCE_DIR, "tests", "tools")
SNAPSHOT_WIDTH = 160  # the clip is 320x240: the picture is 160x120
REPLY_TIMEOUT_S = 5   # IOCA_SNAPSHOT_REPLY_TIMEOUT_MS
METRICS_INTERVAL_S = 1
# A noisy 640x480 picture is about 150 kB at snapshot_quality 5: with this broker limit it is
# sent at a coarser quality
LIMIT_BYTES = 60000
NOISY_SIZE = (640, 480)
DEFAULT_QUALITY = 5


class RawRequester:
    """A paho client keeping every reply as bytes with its properties."""

    def __init__(self, port, protocol):
        self.protocol = protocol
        self.reply_topic = "itest/replies/%s" % uuid.uuid4().hex[:8]
        self.replies = []
        self.cond = threading.Condition()
        self.ready = threading.Event()
        self.client = mqtt.Client(client_id="itest-snap-%s" % uuid.uuid4().hex[:8],
                                  protocol=protocol)
        self.client.on_connect = lambda c, *a, **k: c.subscribe(self.reply_topic, qos=1)
        self.client.on_subscribe = lambda *a, **k: self.ready.set()
        self.client.on_message = self._on_message
        self.client.connect("127.0.0.1", port, keepalive=10)
        self.client.loop_start()
        assert self.ready.wait(10), "requester could not subscribe"

    def _on_message(self, client, userdata, msg):
        props = msg.properties if self.protocol == mqtt.MQTTv5 else None
        corr = getattr(props, "CorrelationData", None) if props else None
        ctype = getattr(props, "ContentType", None) if props else None
        with self.cond:
            self.replies.append((bytes(msg.payload), corr, ctype, msg.qos))
            self.cond.notify_all()

    def send(self, name, payload, correlation=None):
        props = None
        if self.protocol == mqtt.MQTTv5:
            props = Properties(PacketTypes.PUBLISH)
            props.ResponseTopic = self.reply_topic
            if correlation is not None:
                props.CorrelationData = correlation
        self.client.publish(CMD + name, payload, qos=1, properties=props)

    def wait(self, pred, timeout):
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                for r in self.replies:
                    if pred(r):
                        return r
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                self.cond.wait(left)

    def wait_corr(self, corr, timeout=10):
        return self.wait(lambda r: r[1] == corr, timeout)

    def wait_json(self, request_id, timeout=10):
        def pred(r):
            try:
                return json.loads(r[0]).get("request_id") == request_id
            except ValueError:
                return False
        r = self.wait(pred, timeout)
        return json.loads(r[0]) if r else None

    def close(self):
        self.client.loop_stop()
        self.client.disconnect()


def jpeg_size(testcase, data):
    """(width, height) of a JPEG, decoded by ffprobe (fails the test otherwise)."""
    path = os.path.join(testcase.tmp, "reply-%s.jpg" % uuid.uuid4().hex[:6])
    with open(path, "wb") as f:
        f.write(data)
    out = subprocess.run(["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries",
                          "stream=codec_name,width,height", "-of", "json", path],
                         capture_output=True, text=True, timeout=20)
    testcase.assertEqual(out.returncode, 0, out.stderr)
    st = json.loads(out.stdout)["streams"][0]
    testcase.assertEqual(st["codec_name"], "mjpeg")
    # and every byte decodes
    dec = subprocess.run(["ffmpeg", "-v", "error", "-xerror", "-i", path, "-f", "null", "-"],
                         capture_output=True, text=True, timeout=20)
    testcase.assertEqual(dec.returncode, 0, dec.stderr)
    return st["width"], st["height"]


class SnapshotCommandTest(it.AgentTestCase):

    def setUp(self):
        super().setUp()
        self.rtsp = None

    def start_camera_server(self, kind="static", size=(320, 240), extra=()):
        clip = os.path.join(self.tmp, "clip.mp4")
        subprocess.run([os.path.join(TOOLS, "make_clip.sh"), kind, clip, "-s", "%dx%d" % size,
                        "-r", "15", "-d", "4"] + list(extra), check=True, capture_output=True)
        self.rtsp = subprocess.Popen(
            ["/usr/bin/python3", os.path.join(TOOLS, "rtsp_server.py"), "--clip", clip,
             "--port", "0", "--path", "/cam", "--min-seconds", "120"],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        self.addCleanup(self._stop_rtsp)
        line = self.rtsp.stdout.readline().strip()
        self.assertTrue(line.startswith("READY "), line)
        return line.split(" ", 1)[1]

    def _stop_rtsp(self):
        if self.rtsp and self.rtsp.poll() is None:
            self.rtsp.kill()
            self.rtsp.wait()

    def camera(self, name, url):
        return {"name": name, "plugin": "camera", "url": url, "snapshot_width": SNAPSHOT_WIDTH,
                "motion": False, "read_timeout": 3.0, "open_timeout": 3.0,
                "stats_interval": 60, "backoff_min": 10.0, "backoff_max": 10.0}

    def start_agent(self, broker, instances, protocol="v5", enabled=("ping", "snapshot")):
        key_file = os.path.join(self.tmp, "cmd.key")
        with open(key_file, "wb") as f:
            f.write(KEY + b"\n")
        os.chmod(key_file, 0o600)
        a = self.agent(broker_url=broker.url, agent_id=AGENT, instances=instances,
                       mqtt_extra={"protocol": protocol},
                       agent_extra={"metrics_interval": METRICS_INTERVAL_S},
                       sections={"commands": {"enabled": list(enabled), "key_file": key_file}})
        a.wait_log("ready:", 10)
        return a

    def requester(self, broker, protocol=mqtt.MQTTv5):
        r = RawRequester(broker.port, protocol)
        self.addCleanup(r.close)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            rid, p = request("ping", reply_to=r.reply_topic)
            r.send("ping", p)
            if r.wait_json(rid, 1.0):
                return r
        self.fail("the agent never answered a ping")

    def snapshot_metrics(self, sub, **want):
        """commands.snapshot of the first metrics message with the counts in `want`."""
        def pred(m):
            if m.topic != "ioc/%s/metrics" % AGENT:
                return False
            got = m.json().get("commands", {}).get("snapshot", {})
            return all(got.get(k) == v for k, v in want.items())
        msg = self.expect(sub, pred, METRICS_INTERVAL_S * 5 + 5,
                          what="metrics with commands.snapshot %r" % (want,))[0]
        it.validate(msg.payload, "metrics")
        return msg.json()["commands"]["snapshot"]

    def wait_online(self, sub, name):
        self.expect(sub, it.topic_is("ioc/%s/%s/event/camera/online" % (AGENT, name)), 20,
                    what="camera.online of %s" % name)

    def test_v5_picture_with_correlation(self):
        url = self.start_camera_server()
        broker = self.broker()
        sub = self.subscriber(broker.port)
        self.start_agent(broker, [self.camera("cam-1", url), it.sim("s1", rate=2.0)])
        self.wait_online(sub, "cam-1")
        r = self.requester(broker)
        times, sizes = [], []
        for i in range(3):
            rid, p = request("snapshot", {"instance": "cam-1"})
            corr = b"snap-%d-%s" % (i, rid.encode())
            sent = time.monotonic()
            r.send("snapshot", p, correlation=corr)
            got = r.wait_corr(corr)
            self.assertIsNotNone(got, "no reply to snapshot request %d" % i)
            data, _, ctype, qos = got
            times.append((time.monotonic() - sent) * 1000)
            self.assertEqual(ctype, "image/jpeg", data[:200])
            self.assertEqual(qos, 1)
            self.assertEqual(data[:2], b"\xff\xd8")
            self.assertEqual(jpeg_size(self, data), (SNAPSHOT_WIDTH, 120))
            sizes.append(len(data))
        # the picture also took the ordinary way, on the instance's snapshot topic
        self.expect(sub, it.topic_is("ioc/%s/cam-1/snapshot" % AGENT), 5, count=3,
                    what="the pictures on the snapshot topic")
        self.assertEqual(self.snapshot_metrics(sub, answered=3),
                         {"requested": 3, "answered": 3, "too_large": 0, "failed": 0,
                          "timed_out": 0, "bytes": sum(sizes), "waiting": 0})
        print("snapshot command round trip: %s ms" % ", ".join("%.0f" % t for t in times))

    def test_v311_picture_on_reply_to(self):
        url = self.start_camera_server()
        broker = self.broker()
        sub = self.subscriber(broker.port)
        self.start_agent(broker, [self.camera("cam-1", url)], protocol="v311")
        self.wait_online(sub, "cam-1")
        r = self.requester(broker, mqtt.MQTTv311)
        rid, p = request("snapshot", {"instance": "cam-1"}, reply_to=r.reply_topic)
        r.send("snapshot", p)
        got = r.wait(lambda x: x[0][:2] == b"\xff\xd8", 10)
        self.assertIsNotNone(got, "no picture on reply_to")
        self.assertEqual(jpeg_size(self, got[0]), (SNAPSHOT_WIDTH, 120))

    def assert_refused(self, r, args, reason, error="failed", name="snapshot"):
        rid, p = request(name, args)
        r.send(name, p, correlation=rid.encode())
        body = r.wait_json(rid)
        self.assertIsNotNone(body, "no reply for %r" % (args,))
        self.assertFalse(body["ok"], body)
        self.assertEqual(body["error"], error, body)
        if reason:
            self.assertEqual(body["result"]["reason"], reason, body)
        return body

    def test_error_replies(self):
        broker = self.broker()
        # a camera whose server never answers: its worker runs, it has no picture
        dead = "rtsp://127.0.0.1:%d/cam" % it.free_port()
        a = self.start_agent(broker, [self.camera("cam-dead", dead), it.sim("s1", rate=2.0)])
        r = self.requester(broker)
        self.assert_refused(r, {"instance": "nope"}, "no_instance")
        self.assert_refused(r, {"instance": "s1"}, "not_supported")
        self.assert_refused(r, {}, "malformed")
        # no picture comes: a timeout after a few seconds; meanwhile a second one is busy
        rid, p = request("snapshot", {"instance": "cam-dead"})
        sent = time.monotonic()
        r.send("snapshot", p, correlation=rid.encode())
        busy = self.assert_refused(r, {"instance": "cam-dead"}, "busy")
        self.assertIn(rid, busy["detail"])
        body = r.wait_json(rid, REPLY_TIMEOUT_S + 5)
        waited = time.monotonic() - sent
        self.assertIsNotNone(body, "no timeout reply")
        self.assertEqual((body["ok"], body["error"], body["result"]["reason"]),
                         (False, "failed", "timeout"), body)
        self.assertGreaterEqual(waited, REPLY_TIMEOUT_S - 0.5)
        self.assertLess(waited, REPLY_TIMEOUT_S + 3)
        # correlation data comes back on the error replies too
        got = r.wait_corr(rid.encode(), 1)
        self.assertEqual(json.loads(got[0])["request_id"], rid)
        self.assertTrue(a.running())
        # no_instance, not_supported, malformed, busy and the timeout: each one failed
        sub = self.subscriber(broker.port, topics=["ioc/%s/metrics" % AGENT])
        self.assertEqual(self.snapshot_metrics(sub, failed=5),
                         {"requested": 5, "answered": 0, "too_large": 0, "failed": 5,
                          "timed_out": 1, "bytes": 0, "waiting": 0})

    def test_v5_picture_re_encoded_to_the_brokers_maximum_packet_size(self):
        url = self.start_camera_server("noise", NOISY_SIZE, ["-n", "40"])
        broker = self.broker(extra_lines=["max_packet_size %d" % LIMIT_BYTES])
        sub = self.subscriber(broker.port)
        cam = self.camera("cam-1", url)
        cam["snapshot_width"] = NOISY_SIZE[0]
        a = self.start_agent(broker, [cam])
        self.wait_online(sub, "cam-1")
        r = self.requester(broker)
        rid, p = request("snapshot", {"instance": "cam-1"})
        r.send("snapshot", p, correlation=rid.encode())
        got = r.wait_corr(rid.encode())
        self.assertIsNotNone(got, "no reply to the snapshot request")
        data, _, ctype, _ = got
        self.assertEqual(ctype, "image/jpeg", data[:300])
        self.assertEqual((data[:2], data[-2:]), (b"\xff\xd8", b"\xff\xd9"))
        self.assertLess(len(data), LIMIT_BYTES)
        width, height = jpeg_size(self, data)
        self.assertEqual(width * NOISY_SIZE[1], height * NOISY_SIZE[0])  # the aspect is kept
        self.assertIn("requested snapshot re-encoded to fit", a.log())
        # the same picture on the snapshot topic, and nothing rejected
        snap = self.expect(sub, it.topic_is("ioc/%s/cam-1/snapshot" % AGENT), 5,
                           what="the picture on the snapshot topic")[0]
        self.assertEqual(snap.payload, data)
        self.assertEqual(sub.messages(it.topic_is(
            it.event_topic(AGENT, "_agent", "agent.record_rejected"))), [])
        m = self.snapshot_metrics(sub, answered=1)
        self.assertEqual((m["too_large"], m["failed"], m["bytes"]), (0, 0, len(data)), m)

    def test_disabled_when_not_enabled(self):
        broker = self.broker()
        self.start_agent(broker, [it.sim("s1", rate=2.0)], enabled=("ping",))
        r = self.requester(broker)
        self.assert_refused(r, {"instance": "s1"}, None, error="disabled")


if __name__ == "__main__":
    it.main()
