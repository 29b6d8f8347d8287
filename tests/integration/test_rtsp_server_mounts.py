#!/usr/bin/python3
"""The test RTSP server's several mounts and its play log (what the camera
benchmarks use to feed many cameras from one server and to know each client's
time zero): each mount serves its own clip, and a client's session is logged
as one play and one stop line with the same session number, only for the
mount it read."""
import os
import shutil
import subprocess
import tempfile
import time
import unittest

import ioca_test as it

TOOLS = os.path.join(it.SOURCE_DIR, "tests", "tools")


class RtspServerMounts(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="rtsp_mounts.")
        self.addCleanup(shutil.rmtree, self.tmp, True)
        self.clips = {}
        for name, size in (("small", "160x120"), ("large", "320x240")):
            path = os.path.join(self.tmp, name + ".mp4")
            subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin", "-y",
                            "-f", "lavfi", "-i", "testsrc=s=%s:r=15:d=2" % size,
                            "-c:v", "libx264", "-pix_fmt", "yuv420p", path], check=True)
            self.clips[name] = path
        self.log = os.path.join(self.tmp, "play.log")
        self.srv = subprocess.Popen(
            ["/usr/bin/python3", os.path.join(TOOLS, "rtsp_server.py"), "--port", "0",
             "--min-seconds", "0", "--play-log", self.log,
             "--mount", "/cam/small=" + self.clips["small"],
             "--mount", "/cam/large=" + self.clips["large"]],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        self.addCleanup(self._stop)
        line = self.srv.stdout.readline().split()
        self.assertEqual(line[0] if line else "", "READY")
        self.base = line[1].rsplit("/", 2)[0]

    def _stop(self):
        self.srv.kill()
        self.srv.wait()

    def width(self, mount):
        out = subprocess.run(["ffprobe", "-v", "error", "-rtsp_transport", "tcp",
                              "-select_streams", "v:0", "-show_entries", "stream=width",
                              "-of", "default=nw=1:nk=1", self.base + mount],
                             capture_output=True, text=True, timeout=30, check=True)
        return int(out.stdout.split()[0])

    def rows(self):
        with open(self.log, encoding="utf-8") as f:
            return [line.split() for line in f if line.strip()]

    def test_each_mount_its_clip_and_logged_sessions(self):
        before = time.time()
        self.assertEqual(self.width("/cam/large"), 320)
        rows = it.wait_until(lambda: [r for r in self.rows() if r[1] == "stop"] and self.rows(),
                             10)
        self.assertTrue(rows, "no session end in the play log")
        self.assertEqual({r[0] for r in rows}, {"/cam/large"}, rows)
        plays = [r for r in rows if r[1] == "play"]
        stops = [r for r in rows if r[1] == "stop"]
        self.assertEqual(len(plays), 1, rows)
        self.assertEqual(plays[0][2], stops[0][2], "play and stop name the same session")
        t_play, t_stop = float(plays[0][3]), float(stops[0][3])
        self.assertTrue(before <= t_play <= t_stop <= time.time(), rows)
        self.assertEqual(self.width("/cam/small"), 160)
        small = it.wait_until(lambda: [r for r in self.rows() if r[0] == "/cam/small"
                                       and r[1] == "play"], 10)
        self.assertTrue(small and small[0][2] != plays[0][2], "a new session number")


if __name__ == "__main__":
    unittest.main()
