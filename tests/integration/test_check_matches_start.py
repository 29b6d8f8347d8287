"""`-t` refuses exactly what start refuses: every config below is run
through `-t` and then through a real start. A config `-t` calls OK must
start (reach "ready" and stop cleanly on SIGTERM); one `-t` refuses (78)
must make start exit 78 too, and both must name the same problem.

The set holds what once passed `-t` and failed at start (mqtts:// with the
system CAs, mixed schemes, a `$SYS` or control-character topic_prefix, a
state_dir that cannot be created, a missing plugin_dir) next to ordinary
good configs. A secret file others can read is a warning, not an error.
"""

import os
import signal
import subprocess
import time

import ioca_test as t

START_WAIT_S = 8.0
READY = "ready:"


class CheckMatchesStartTest(t.AgentTestCase):

    def cases(self):
        state = os.path.join(self.tmp, "state")
        blocker = os.path.join(self.tmp, "a-file")
        with open(blocker, "w") as f:
            f.write("not a directory\n")
        sim = [{"name": "s", "plugin": "sim", "rate": 1.0}]
        agent = {"id": "chk", "plugin_dir": t.PLUGIN_DIR, "state_dir": state}
        port = t.free_port()  # nothing listens: start keeps retrying, that is fine
        plain = {"brokers": ["mqtt://127.0.0.1:%d" % port]}
        return {
            "plain": (agent, plain, sim),
            "v311": (agent, dict(plain, protocol="v311"), sim),
            "tls_system_cas": (agent, {"brokers": ["mqtts://127.0.0.1:%d" % port]}, sim),
            "tls_insecure": (agent, {"brokers": ["mqtts://127.0.0.1:%d" % port],
                                     "tls": {"insecure": True}}, sim),
            "mixed_schemes": (agent, {"brokers": ["mqtts://127.0.0.1:%d" % port,
                                                  "mqtt://127.0.0.1:%d" % port]}, sim),
            "prefix_sys": (agent, dict(plain, topic_prefix="$SYS"), sim),
            "prefix_control": (agent, dict(plain, topic_prefix="ioc\tx"), sim),
            "state_dir_under_file": (dict(agent, state_dir=os.path.join(blocker, "state")),
                                     plain, sim),
            "no_instances": (agent, plain, []),
            "plugin_dir_missing": (dict(agent, plugin_dir=os.path.join(self.tmp, "none")),
                                   plain, []),
        }

    def write(self, name, agent, mqtt, instances):
        path = os.path.join(self.tmp, name + ".conf")
        with open(path, "w") as f:
            f.write(t.config_text(agent, mqtt, instances))
        return path

    def start(self, path):
        log = path + ".log"
        with open(log, "wb") as err:
            p = subprocess.Popen([t.BINARY, "-c", path], stdout=subprocess.DEVNULL,
                                 stderr=err, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + START_WAIT_S
        while time.monotonic() < deadline and p.poll() is None:
            with open(log) as f:
                if READY in f.read():
                    break
            time.sleep(0.1)
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
        try:
            rc = p.wait(10)
        except subprocess.TimeoutExpired:
            p.kill()
            rc = p.wait()
        with open(log) as f:
            return rc, f.read()

    def test_check_agrees_with_start(self):
        seen = {0: 0, 78: 0}
        for name, (agent, mqtt, instances) in self.cases().items():
            with self.subTest(config=name):
                path = self.write(name, agent, mqtt, instances)
                check = t.run_binary(["-t", "-c", path])
                self.assertIn(check.returncode, (0, 78), check.stderr)
                rc, log = self.start(path)
                seen[check.returncode] += 1
                if check.returncode == 0:
                    self.assertIn("configuration OK", check.stdout)
                    self.assertEqual(rc, 0, "-t said OK, start said:\n" + log[-2000:])
                    self.assertIn(READY, log)
                else:
                    self.assertEqual(rc, 78, "-t refused (%s), start exited %d:\n%s" %
                                     (check.stderr.strip(), rc, log[-2000:]))
                    first = check.stderr.strip().splitlines()[0]
                    reason = first.split(": ", 1)[1]
                    self.assertIn(reason, log, "start gave another reason than -t")
        # the set exercises both outcomes
        self.assertGreaterEqual(seen[0], 4, seen)
        self.assertGreaterEqual(seen[78], 4, seen)

    def test_secret_readable_by_others_warns(self):
        pw = os.path.join(self.tmp, "mqtt.pass")
        with open(pw, "w") as f:
            f.write("secret\n")
        agent = {"id": "chk", "plugin_dir": t.PLUGIN_DIR,
                 "state_dir": os.path.join(self.tmp, "state")}
        path = self.write("secret", agent, {"brokers": ["mqtt://127.0.0.1:1"],
                                            "username": "u", "password_file": pw}, [])
        os.chmod(pw, 0o644)
        check = t.run_binary(["-t", "-c", path])
        self.assertEqual(check.returncode, 0, check.stderr)
        self.assertIn("mqtt.password_file '%s' holds a secret and is readable by others "
                      "(mode 0644)" % pw, check.stderr)
        self.assertNotIn("secret\n", check.stderr)
        os.chmod(pw, 0o600)
        check = t.run_binary(["-t", "-c", path])
        self.assertEqual(check.returncode, 0, check.stderr)
        self.assertNotIn("readable by others", check.stderr)


if __name__ == "__main__":
    t.main()
