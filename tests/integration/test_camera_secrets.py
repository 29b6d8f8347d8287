#!/usr/bin/python3
"""Camera and broker credentials never reach what the agent writes or publishes.

The agent runs (log_level debug) with camera URLs holding secrets in every
place cameras put them: the user information, a DVR-style path
(/user=...&password=...), query keys (sid, token, sig, credential, auth, key,
pwd) and the username/password options; one camera is a real RTSP server, the
others fail. A real subscriber on '#' records everything published; the test
then searches the agent's stderr and stdout and every payload for each secret.
`iocagent -t` with a broker URL holding user:password must not echo it."""
import os
import subprocess

import ioca_test as it

TOOLS = os.path.join(it.SOURCE_DIR, "tests", "tools")
AGENT = "secrets-agent"
SECRETS = ["SecretUser1", "SecretPass2", "DvrUser3", "DvrPass4", "Sid5", "Token6", "Sig7",
           "Cred8", "Auth9", "Key10", "Pwd11", "OptPass12"]


class CameraSecrets(it.AgentTestCase):
    def setUp(self):
        super().setUp()
        clip = os.path.join(self.tmp, "clip.mp4")
        subprocess.run([os.path.join(TOOLS, "make_clip.sh"), "motion", clip, "-s", "160x120",
                        "-r", "15", "-d", "4"], check=True, capture_output=True)
        self.rtsp = subprocess.Popen(
            ["/usr/bin/python3", os.path.join(TOOLS, "rtsp_server.py"), "--clip", clip,
             "--port", "0", "--path", "/cam"],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        self.addCleanup(self._stop_rtsp)
        line = self.rtsp.stdout.readline().strip()
        self.assertTrue(line.startswith("READY "), line)
        self.rtsp_url = line.split(" ", 1)[1]

    def _stop_rtsp(self):
        if self.rtsp.poll() is None:
            self.rtsp.kill()
            self.rtsp.wait()

    def assert_no_secret(self, where, text):
        for s in SECRETS:
            self.assertNotIn(s, text, "%s holds the secret %s:\n%s" % (where, s, text[-3000:]))

    def test_nothing_written_or_published_holds_a_secret(self):
        broker = self.broker()
        sub = self.subscriber(broker.port, topics=["#"])
        closed = it.free_port()
        host = self.rtsp_url.split("//", 1)[1]
        common = {"plugin": "camera", "open_timeout": 2.0, "read_timeout": 2.0,
                  "backoff_min": 0.5, "backoff_max": 1.0, "stats_interval": 1.0}
        cams = [
            dict(common, name="userinfo", url="rtsp://SecretUser1:SecretPass2@" + host),
            dict(common, name="dvr", url="rtsp://127.0.0.1:%d/user=DvrUser3&password=DvrPass4"
                 "&channel=1&stream=0.sdp?" % closed),
            dict(common, name="query", url="http://127.0.0.1:%d/video.cgi?sid=Sid5&token=Token6"
                 "&sig=Sig7&credential=Cred8&auth=Auth9&key=Key10&pwd=Pwd11&res=hd" % closed),
            dict(common, name="options", url="rtsp://127.0.0.1:%d/s" % closed,
                 username="viewer", password="OptPass12"),
        ]
        agent = self.agent(broker_url=broker.url, agent_id=AGENT, instances=cams)
        event = lambda inst, t: it.topic_is(it.event_topic(AGENT, inst, t))  # noqa: E731
        online = self.expect(sub, event("userinfo", "camera.online"), 20, what="online")[0]
        self.assertEqual(online.json()["data"]["url"], "rtsp://***@" + host)
        offline = {}
        for name in ("dvr", "query", "options"):
            offline[name] = self.expect(sub, event(name, "camera.offline"), 20,
                                        what="%s offline" % name)[0].json()["data"]["url"]
        self.assertEqual(offline["dvr"], "rtsp://127.0.0.1:%d/user=***&password=***"
                         "&channel=1&stream=0.sdp?" % closed)
        self.assertEqual(offline["query"], "http://127.0.0.1:%d/video.cgi?sid=***&token=***"
                         "&sig=***&credential=***&auth=***&key=***&pwd=***&res=hd" % closed)
        self.assertEqual(offline["options"], "rtsp://***@127.0.0.1:%d/s" % closed)
        self.expect(sub, event("userinfo", "camera.stats"), 10, what="stats")
        agent.stop()
        self.assertTrue(agent.log(), "the agent wrote nothing to search")
        self.assert_no_secret("the agent's stderr", agent.log())
        self.assert_no_secret("the agent's stdout", agent.stdout())
        for m in sub.messages():
            self.assert_no_secret("published %s" % m.topic,
                                  m.topic + m.payload.decode("utf-8", "replace"))

    def test_check_config_masks_broker_credentials(self):
        agent = self.agent(start=False, broker_url="mqtt://SecretUser1:SecretPass2@127.0.0.1:1883",
                           instances=[it.sim("sim-1")])
        r = it.run_binary(["-t", "-c", agent.conf_path])
        self.assertEqual(r.returncode, 78, r.stderr)
        self.assertIn("mqtt.username", r.stderr)
        self.assert_no_secret("-t output", r.stdout + r.stderr)


if __name__ == "__main__":
    it.main()
