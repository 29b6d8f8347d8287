#!/usr/bin/python3
"""iocagent --test and --snapshot against real instances: the sim plugin, the
camera plugin on a generated clip (file and a real RTSP server), and the test
plugins that crash or stay silent.

--test prints the subscriber's envelope with "test": true, one JSON line per
message, publishes nothing (a real broker and subscriber see nothing) and
leaves state_dir exactly as it was (a real agent's spool and sequence file,
compared file by file). --snapshot writes a JPEG; with --overlay the zone
outline and the mask hatching are where the polygons say (checked on the
decoded pixels)."""
import hashlib
import json
import os
import subprocess
import time
import unittest

import ioca_test as it

TOOLS = os.path.join(it.SOURCE_DIR, "tests", "tools")
FPS = 15
CLIP_SIZE = (640, 360)
SNAPSHOT_WIDTH = 640
ZONE = [0.1, 0.2, 0.6, 0.2, 0.6, 0.9, 0.1, 0.9]
MASK = [0.7, 0.1, 0.95, 0.1, 0.95, 0.5, 0.7, 0.5]
RUN_TIMEOUT_S = 60
SILENT_SECONDS = 1.5
# exit codes of --test / --snapshot (docs/operations.md)
EXIT_OK, EXIT_USAGE, EXIT_NOTHING, EXIT_FAILED, EXIT_CANTCREAT, EXIT_CONFIG = 0, 64, 69, 70, 73, 78


def lines_of(stdout):
    return [json.loads(line) for line in stdout.splitlines() if line.strip()]


def tree_digest(root):
    """Every file and directory under root: path -> (size, mtime_ns, sha256)."""
    out = {}
    for d, dirs, files in os.walk(root):
        for name in dirs + files:
            p = os.path.join(d, name)
            st = os.lstat(p)
            digest = ""
            if os.path.isfile(p):
                with open(p, "rb") as f:
                    digest = hashlib.sha256(f.read()).hexdigest()
            out[os.path.relpath(p, root)] = (st.st_size, st.st_mtime_ns, digest)
    return out


def decode_rgb(jpeg_path):
    """The JPEG's pixels as (width, height, bytes rgb24), decoded by the ffmpeg CLI."""
    probe = subprocess.run(["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries",
                            "stream=width,height", "-of", "csv=p=0", jpeg_path],
                           capture_output=True, text=True, check=True)
    w, h = (int(v) for v in probe.stdout.strip().split(","))
    raw = subprocess.run(["ffmpeg", "-v", "error", "-i", jpeg_path, "-f", "rawvideo",
                          "-pix_fmt", "rgb24", "-"], capture_output=True, check=True).stdout
    return w, h, raw


def pixel(img, x, y):
    w, _, raw = img
    i = (y * w + x) * 3
    return raw[i], raw[i + 1], raw[i + 2]


def is_yellow(p):
    r, g, b = p
    return r > 170 and g > 170 and b < 110


def is_magenta(p):
    r, g, b = p
    return r > 160 and b > 160 and g < 110


def is_grey(p):
    return max(p) - min(p) < 40


class ProbeCase(it.AgentTestCase):
    def write_config(self, instances, state_dir=None, broker_url="mqtt://127.0.0.1:1"):
        agent = it.Agent(self.tmp, broker_url=broker_url, instances=instances,
                         agent_extra={"site": "test/site", "log_level": "info"})
        if state_dir is not None:
            with open(agent.conf_path) as f:
                text = f.read()
            agent.write_config(text.replace(agent.state_dir, state_dir))
        return agent

    def run_probe(self, args, conf):
        env = None
        if "--snapshot" in args and it.binary_is_sanitized():
            # The core has dlopened FFmpeg (through camera.so) for the snapshot; at
            # exit LeakSanitizer's stop-the-world tracer was seen to crash on it
            # (signal 11 inside the tracer, after the JPEG was written). ASan's
            # memory error checks stay on for this path; only the leak scan is off.
            env = dict(os.environ)
            env["ASAN_OPTIONS"] = env.get("ASAN_OPTIONS", "") + ":detect_leaks=0"
        started = time.monotonic()
        r = it.run_binary(list(args) + ["-c", conf], timeout=RUN_TIMEOUT_S, env=env)
        return r, time.monotonic() - started

    @staticmethod
    def _stop_server(proc):
        proc.kill()
        proc.wait()
        proc.stdout.close()

    def make_clip(self, kind="motion", seconds=8):
        clip = os.path.join(self.tmp, "clip-%s.mp4" % kind)
        subprocess.run([os.path.join(TOOLS, "make_clip.sh"), kind, clip, "-s",
                        "%dx%d" % CLIP_SIZE, "-r", str(FPS), "-d", str(seconds), "-a", "30",
                        "-b", "100"], check=True, capture_output=True)
        return clip


class TestMode(ProbeCase):
    def test_sim_first_message_envelope(self):
        """Without --seconds a sim instance ends after its first message: one line, the
        subscriber's envelope plus "test": true, exit 0."""
        agent = self.write_config([it.sim("sim-1", rate=2.0, kind="telemetry")])
        r, _ = self.run_probe(["--test", "sim-1"], agent.conf_path)
        self.assertEqual(r.returncode, EXIT_OK, r.stderr)
        lines = lines_of(r.stdout)
        self.assertEqual(len(lines), 1, r.stdout)
        msg = it.validate(lines[0], "envelope")
        self.assertIs(msg["test"], True)
        self.assertEqual((msg["source"], msg["plugin"], msg["type"], msg["site"]),
                         ("sim-1", "sim", "telemetry", "test/site"))
        self.assertEqual((msg["seq"], msg["id"]), (1, "%s:1" % agent.agent_id))
        self.assertEqual(list(msg)[-1], "test")

    def test_envelope_carries_the_clock_state(self):
        """--test envelopes say "clock" as published ones would (the test clock source)."""
        agent = self.write_config([it.sim("sim-1", rate=2.0, kind="telemetry")])
        for synced, want in (("0", "unsynced"), ("1", "synced")):
            clock = os.path.join(self.tmp, "clock-%s" % synced)
            with open(clock, "w") as f:
                f.write("synced %s\n" % synced)
            env = dict(os.environ, IOCA_TEST_CLOCK_FILE=clock)
            r = it.run_binary(["--test", "sim-1", "-c", agent.conf_path], timeout=RUN_TIMEOUT_S,
                              env=env)
            self.assertEqual(r.returncode, EXIT_OK, r.stderr)
            self.assertEqual(lines_of(r.stdout)[0]["clock"], want)

    def test_seconds_runs_that_long(self):
        agent = self.write_config([it.sim("ev", rate=4.0, kind="event")])
        r, _ = self.run_probe(["--test", "ev", "--seconds", "2"], agent.conf_path)
        self.assertEqual(r.returncode, EXIT_OK, r.stderr)
        lines = [it.validate(m, "envelope") for m in lines_of(r.stdout)]
        # 4 per second for 2 s, the first at once: 8 or 9 depending on the stop
        self.assertGreaterEqual(len(lines), 7, r.stdout)
        self.assertEqual([m["seq"] for m in lines], list(range(1, len(lines) + 1)))
        self.assertTrue(all(m["type"] == "sim.tick" and m["test"] is True for m in lines))

    def test_publishes_nothing_and_leaves_state_dir_alone(self):
        broker = self.broker()
        sub = self.subscriber(broker.port)
        # a real agent leaves its spool, sequence file and lock in state_dir
        real = self.agent(broker_url=broker.url, instances=[it.sim("sim-1", rate=5.0)])
        sub.wait_for(it.topic_prefix("ioc/%s/sim-1/" % real.agent_id), 15)
        real.stop()
        self.assertTrue(os.listdir(real.state_dir))
        before = tree_digest(real.state_dir)
        sub.clear()
        time.sleep(1.0)  # nothing in flight any more
        sub.clear()

        r, _ = self.run_probe(["--test", "sim-1", "--seconds", "1.5"], real.conf_path)
        self.assertEqual(r.returncode, EXIT_OK, r.stderr)
        self.assertGreater(len(lines_of(r.stdout)), 1)
        time.sleep(SILENT_SECONDS)
        self.assertEqual(sub.messages(), [], "the test run published something")
        self.assertEqual(tree_digest(real.state_dir), before)

    def test_missing_state_dir_is_not_created(self):
        state = os.path.join(self.tmp, "never", "created")
        agent = self.write_config([it.sim("sim-1")], state_dir=state)
        r, _ = self.run_probe(["--test", "sim-1"], agent.conf_path)
        self.assertEqual(r.returncode, EXIT_OK, r.stderr)
        self.assertFalse(os.path.exists(os.path.join(self.tmp, "never")))

    def test_usage_and_config_errors(self):
        agent = self.write_config([it.sim("sim-1"), it.sim("sim-2")])
        r, _ = self.run_probe(["--test", "nope"], agent.conf_path)
        self.assertEqual(r.returncode, EXIT_USAGE)
        self.assertIn("no instance 'nope'", r.stderr)
        self.assertIn("sim-1, sim-2", r.stderr)
        self.assertEqual(r.stdout, "")
        for bad in (["--test", "sim-1", "--seconds", "0"], ["--test", "sim-1", "--overlay"],
                    ["--seconds", "3"], ["--test", "sim-1", "-t"]):
            r, _ = self.run_probe(bad, agent.conf_path)
            self.assertEqual(r.returncode, EXIT_USAGE, bad)
        broken = os.path.join(self.tmp, "broken.conf")
        with open(agent.conf_path) as f:
            text = f.read()
        with open(broken, "w") as f:
            f.write(text.replace('"sim"', '"nosuchplugin"', 1))
        r, _ = self.run_probe(["--test", "sim-1"], broken)
        self.assertEqual(r.returncode, EXIT_CONFIG)
        self.assertIn("broken.conf:", r.stderr)

    def test_run_mode_group_cannot_come_from_a_file(self):
        """The reserved group the probe hands its worker is refused in a configuration."""
        reserved = {"mode": "snapshot", "sample": False, "overlay": True}
        agent = self.write_config([it.sim("sim-1", ioca_run=reserved)])
        r = it.run_binary(["-t", "-c", agent.conf_path])
        self.assertEqual(r.returncode, EXIT_CONFIG)
        self.assertIn("unknown option 'ioca_run'", r.stderr)

    def test_crash_is_a_failure_with_reason(self):
        agent = self.write_config([{"name": "boom", "plugin": "crashy", "mode": "segv",
                                    "events": 1, "delay_ms": 100}])
        r, _ = self.run_probe(["--test", "boom", "--seconds", "10"], agent.conf_path)
        self.assertEqual(r.returncode, EXIT_FAILED, r.stderr)
        self.assertIn("instance boom (plugin crashy) failed (crashed)", r.stderr)
        self.assertIn("signal 11", r.stderr)
        # what it emitted before it crashed is still shown
        self.assertEqual(len(lines_of(r.stdout)), 1, r.stdout)

    def test_silent_instance_is_nothing(self):
        # crashy with no events only waits delay_ms (stop-aware) before its mode
        agent = self.write_config([{"name": "quiet", "plugin": "crashy", "mode": "garble",
                                    "events": 0, "delay_ms": 600000}])
        r, _ = self.run_probe(["--test", "quiet", "--seconds", "1"], agent.conf_path)
        self.assertEqual(r.returncode, EXIT_NOTHING, r.stderr)
        self.assertIn("emitted nothing within 1 s", r.stderr)
        self.assertEqual(r.stdout, "")

    def test_camera_file_sample(self):
        """A camera ends by itself after camera.online and one analysed second."""
        clip = self.make_clip()
        agent = self.write_config([{"name": "cam", "plugin": "camera", "url": clip}])
        r, _ = self.run_probe(["--test", "cam"], agent.conf_path)
        self.assertEqual(r.returncode, EXIT_OK, r.stderr)
        lines = [it.validate(m, "envelope") for m in lines_of(r.stdout)]
        self.assertEqual(lines[0]["type"], "camera.online")
        self.assertEqual((lines[0]["data"]["width"], lines[0]["data"]["height"]), CLIP_SIZE)
        # the box starts moving at 2 s: one analysed second shows no motion yet
        self.assertNotIn("motion.start", [m["type"] for m in lines])

    def test_camera_seconds_shows_motion_and_describes_snapshots(self):
        clip = self.make_clip()
        agent = self.write_config([{"name": "cam", "plugin": "camera", "url": clip,
                                    "min_frames": 2, "event_gap": 1.0}])
        r, _ = self.run_probe(["--test", "cam", "--seconds", "30"], agent.conf_path)
        self.assertEqual(r.returncode, EXIT_OK, r.stderr)  # the file's end ends the run
        lines = lines_of(r.stdout)
        types = [m.get("type", "blob") for m in lines]
        self.assertIn("motion.start", types)
        start = types.index("motion.start")
        self.assertTrue(lines[start]["data"]["snapshot"])
        blob = it.validate(lines[start + 1], "test_blob")
        self.assertEqual(blob["blob"]["content_type"], "image/jpeg")
        self.assertGreater(blob["blob"]["bytes"], 1000)
        self.assertEqual(blob["topic"], "ioc/%s/cam/snapshot" % agent.agent_id)

    def test_camera_rtsp_sample_and_unreachable(self):
        clip = self.make_clip()
        rtsp = subprocess.Popen(["/usr/bin/python3", os.path.join(TOOLS, "rtsp_server.py"),
                                 "--clip", clip, "--port", "0", "--path", "/cam"],
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        self.addCleanup(self._stop_server, rtsp)
        line = rtsp.stdout.readline().strip()
        self.assertTrue(line.startswith("READY "), line)
        dead = "rtsp://127.0.0.1:%d/cam" % it.free_port()
        agent = self.write_config([{"name": "live", "plugin": "camera", "url": line.split()[1]},
                                   {"name": "dead", "plugin": "camera", "url": dead,
                                    "open_timeout": 2.0}])
        r, _ = self.run_probe(["--test", "live"], agent.conf_path)
        self.assertEqual(r.returncode, EXIT_OK, r.stderr)
        self.assertEqual(lines_of(r.stdout)[0]["type"], "camera.online")

        r, _ = self.run_probe(["--test", "dead"], agent.conf_path)
        self.assertEqual(r.returncode, EXIT_FAILED, r.stderr)
        lines = lines_of(r.stdout)
        self.assertEqual([m["type"] for m in lines], ["camera.offline"])
        self.assertEqual(lines[0]["data"]["reason"], "open_failed")
        self.assertIn("instance dead (plugin camera) failed", r.stderr)


class SnapshotMode(ProbeCase):
    def camera(self, **kw):
        clip = self.make_clip()
        inst = {"name": "cam", "plugin": "camera", "url": clip, "snapshot_width": SNAPSHOT_WIDTH,
                "snapshot_quality": 2,
                "zones": [{"name": "gate", "polygon": ZONE}],
                "masks": [{"name": "tree", "polygon": MASK}]}
        inst.update(kw)
        inst = {k: v for k, v in inst.items() if v is not None}  # None: leave the option out
        return self.write_config([inst, it.sim("sim-1")])

    def test_overlay_pixels(self):
        agent = self.camera()
        out = os.path.join(self.tmp, "tuning.jpg")
        r, _ = self.run_probe(["--snapshot", "cam", "-o", out, "--overlay"], agent.conf_path)
        self.assertEqual(r.returncode, EXIT_OK, r.stderr)
        img = decode_rgb(out)
        w, h, _ = img
        self.assertEqual((w, h), CLIP_SIZE)
        x0, y0, x1, y1 = (round(ZONE[0] * w), round(ZONE[1] * h), round(ZONE[4] * w),
                          round(ZONE[5] * h))
        # the zone outline lies on the polygon's edges (away from the name label)
        edge = [pixel(img, x, y0 + 1) for x in range(x0 + w // 8, x1 - 4, 7)]
        edge += [pixel(img, x1, y) for y in range(y0 + 4, y1 - 4, 7)]
        edge += [pixel(img, x0 + 1, y) for y in range(y0 + h // 8, y1 - 4, 7)]
        self.assertTrue(all(is_yellow(p) for p in edge), edge)
        # a few pixels off the edge, inside and outside, the picture is untouched grey
        for p in (pixel(img, (x0 + x1) // 2, y0 - 8), pixel(img, x1 + 8, (y0 + y1) // 2),
                  pixel(img, (x0 + x1) // 2, y1 - 12)):
            self.assertTrue(is_grey(p), p)
        # inside the mask: stripes of magenta with the picture between them
        mx0, my0, mx1, my1 = (round(MASK[0] * w) + 4, round(MASK[1] * h) + 4,
                              round(MASK[4] * w) - 4, round(MASK[5] * h) - 4)
        inside = [pixel(img, x, y) for y in range(my0, my1, 3) for x in range(mx0, mx1, 3)]
        share = sum(is_magenta(p) for p in inside) / len(inside)
        self.assertTrue(0.15 < share < 0.7, share)
        self.assertTrue(sum(is_grey(p) for p in inside) / len(inside) > 0.2)
        outside = [pixel(img, x, y) for y in range(my1 + 10, h - 4, 5)
                   for x in range(mx0, mx1, 5)]
        self.assertEqual(sum(is_magenta(p) for p in outside), 0)

    def test_plain_snapshot_has_no_overlay(self):
        agent = self.camera()
        out = os.path.join(self.tmp, "plain.jpg")
        r, _ = self.run_probe(["--snapshot", "cam", "-o", out], agent.conf_path)
        self.assertEqual(r.returncode, EXIT_OK, r.stderr)
        img = decode_rgb(out)
        w, h, raw = img
        self.assertEqual((w, h), CLIP_SIZE)
        colored = [p for p in (pixel(img, x, y) for y in range(0, h, 4) for x in range(0, w, 4))
                   if is_yellow(p) or is_magenta(p)]
        self.assertEqual(colored, [])

    def test_refusals(self):
        agent = self.camera()
        out = os.path.join(self.tmp, "x.jpg")
        r, _ = self.run_probe(["--snapshot", "sim-1", "-o", out], agent.conf_path)
        self.assertEqual(r.returncode, EXIT_USAGE)
        self.assertIn("takes no pictures", r.stderr)
        r, _ = self.run_probe(["--snapshot", "cam", "-o", "/nonexistent/dir/x.jpg"],
                              agent.conf_path)
        self.assertEqual(r.returncode, EXIT_CANTCREAT)
        r, _ = self.run_probe(["--snapshot", "cam"], agent.conf_path)
        self.assertEqual(r.returncode, EXIT_USAGE)
        self.assertFalse(os.path.exists(out))

    def test_no_picture_without_decoding(self):
        agent = self.camera(decode="none", motion=False, zones=None, masks=None)
        out = os.path.join(self.tmp, "none.jpg")
        r, _ = self.run_probe(["--snapshot", "cam", "-o", out], agent.conf_path)
        self.assertEqual(r.returncode, EXIT_FAILED, r.stderr)
        self.assertIn('a picture needs decode = "full" or "keyframes"', r.stderr)
        self.assertFalse(os.path.exists(out))

    def test_unreachable_camera_writes_nothing(self):
        agent = self.camera(url="rtsp://127.0.0.1:%d/none" % it.free_port(), open_timeout=2.0)
        out = os.path.join(self.tmp, "none.jpg")
        r, _ = self.run_probe(["--snapshot", "cam", "-o", out, "--overlay"], agent.conf_path)
        self.assertEqual(r.returncode, EXIT_FAILED, r.stderr)
        self.assertFalse(os.path.exists(out))
        self.assertFalse(os.path.exists(out + ".tmp"))


if __name__ == "__main__":
    unittest.main()
