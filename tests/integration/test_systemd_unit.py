"""systemd/iocagent.service: `systemd-analyze verify` is clean and the offline
security exposure score stays below 3.0.

Invariant: the unit is checked as installed — inside a throwaway root that
holds the unit under /etc/systemd/system, the agent binary at /usr/bin/iocagent
(the build's, or /bin/true when none is built), /bin/kill and the standard
targets — so verify can resolve every path without touching the host.
"""

import os
import re
import shutil
import subprocess

import ioca_test as t

UNIT = os.path.join(t.SOURCE_DIR, "systemd", "iocagent.service")
MAX_EXPOSURE = 3.0
ANALYZE = shutil.which("systemd-analyze")


def _analyze(args):
    return subprocess.run([ANALYZE] + args, capture_output=True, text=True, timeout=60)


class SystemdUnitTest(t.AgentTestCase):
    needs_binary = False

    def setUp(self):
        super().setUp()
        if not ANALYZE:
            self.skipTest("systemd-analyze not installed (Debian package systemd)")
        probe = _analyze(["--version"])
        if probe.returncode != 0:
            self.skipTest("systemd-analyze cannot run here: " + probe.stderr.strip())

    def _make_root(self):
        root = os.path.join(self.tmp, "root")
        for d in ("etc/systemd/system", "usr/lib/systemd/system", "usr/bin", "bin"):
            os.makedirs(os.path.join(root, d))
        for name in os.listdir("/usr/lib/systemd/system"):
            if name.endswith(".target"):
                src = os.path.realpath(os.path.join("/usr/lib/systemd/system", name))
                if os.path.isfile(src):
                    shutil.copyfile(src, os.path.join(root, "usr/lib/systemd/system", name))
        binary = t.BINARY if t.BINARY and os.access(t.BINARY, os.X_OK) else "/bin/true"
        shutil.copy(binary, os.path.join(root, "usr/bin/iocagent"))
        shutil.copy("/bin/kill", os.path.join(root, "bin/kill"))
        shutil.copyfile(UNIT, os.path.join(root, "etc/systemd/system/iocagent.service"))
        return root

    def test_verify_clean(self):
        root = self._make_root()
        r = _analyze(["verify", "--root=" + root, "/etc/systemd/system/iocagent.service"])
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stderr.strip(), "", "systemd-analyze verify warnings:\n" + r.stderr)

    def test_security_exposure_below_limit(self):
        r = _analyze(["security", "--offline=yes", "--no-pager", UNIT])
        self.assertEqual(r.returncode, 0, r.stderr)
        m = re.search(r"Overall exposure level for iocagent\.service: ([0-9.]+)", r.stdout)
        self.assertIsNotNone(m, r.stdout[-2000:])
        score = float(m.group(1))
        print("exposure score:", score)
        self.assertLess(score, MAX_EXPOSURE, r.stdout)

    def test_unit_keeps_what_the_agent_needs(self):
        with open(UNIT) as f:
            text = f.read()
        keys = {}
        for line in text.splitlines():
            if "=" in line and not line.lstrip().startswith("#"):
                k, v = line.split("=", 1)
                keys.setdefault(k.strip(), []).append(v.strip())
        self.assertEqual(keys["Type"], ["notify"])
        self.assertEqual(keys["ExecStart"], ["/usr/bin/iocagent -c /etc/iocagent/iocagent.conf"])
        self.assertEqual(keys["ExecReload"], ["/bin/kill -HUP $MAINPID"])
        self.assertEqual(keys["StateDirectory"], ["iocagent"])
        self.assertIn("dialout", keys["SupplementaryGroups"][0].split())
        # workers are started by executing the agent binary: execve must stay allowed
        filters = " ".join(keys.get("SystemCallFilter", []))
        self.assertIn("@system-service", filters)
        self.assertNotIn("execve", filters)
        self.assertNotIn("@process", filters.replace("@system-service", ""))
        families = keys["RestrictAddressFamilies"][0].split()
        self.assertEqual(sorted(families), ["AF_INET", "AF_INET6", "AF_UNIX"])
        for dev in ("char-ttyS", "char-ttyUSB", "char-ttyACM"):
            self.assertTrue(any(v.startswith(dev + " ") for v in keys["DeviceAllow"]), dev)


if __name__ == "__main__":
    t.main()
