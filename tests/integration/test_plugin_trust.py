"""Plugin files are checked before they are loaded (like sshd's StrictModes):
`-t` and `--list-plugins` refuse a plugin file or directory that others may
write, or that is owned by someone other than root, the agent's user or the
service user, with the reason, and never run its constructors.

The ctormark test plugin appends to $IOCA_CTOR_MARKER from an ELF
constructor, so the marker file tells whether the file was dlopen()ed.
"""

import os
import shutil
import stat

import ioca_test as t

UNTRUSTED_UID = 65534  # nobody


class PluginTrustTest(t.AgentTestCase):

    def setUp(self):
        super().setUp()
        self.pdir = os.path.join(self.tmp, "plugins")
        os.mkdir(self.pdir)
        os.chmod(self.pdir, 0o755)
        self.so = os.path.join(self.pdir, "ctormark.so")
        shutil.copy(os.path.join(t.PLUGIN_DIR, "ctormark.so"), self.so)
        os.chmod(self.so, 0o644)
        self.marker = os.path.join(self.tmp, "marker")
        self.conf = os.path.join(self.tmp, "trust.conf")
        with open(self.conf, "w") as f:
            f.write(t.config_text({"id": "trust", "plugin_dir": self.pdir, "state_dir": self.tmp},
                                  {"brokers": ["mqtt://127.0.0.1:1883"]},
                                  [{"name": "m", "plugin": "ctormark"}]))

    def run_both(self):
        env = dict(os.environ, IOCA_CTOR_MARKER=self.marker)
        listed = t.run_binary(["--list-plugins", "-c", self.conf], env=env)
        checked = t.run_binary(["-t", "-c", self.conf], env=env)
        return listed, checked

    def assert_refused(self, reason):
        listed, checked = self.run_both()
        self.assertIn(reason, listed.stdout + listed.stderr)
        self.assertEqual(checked.returncode, 78, checked.stderr)
        self.assertIn(reason, checked.stderr)
        self.assertFalse(os.path.exists(self.marker), "the untrusted plugin was loaded")

    def test_trusted_plugin_is_loaded(self):
        listed, checked = self.run_both()
        self.assertEqual(checked.returncode, 0, checked.stderr)
        self.assertIn("ctormark", listed.stdout)
        self.assertTrue(os.path.exists(self.marker), "the marker mechanism does not work")

    def test_world_writable_file(self):
        os.chmod(self.so, 0o666)
        self.assert_refused("%s is writable by others (mode 0666)" % self.so)

    def test_group_writable_file(self):
        os.chmod(self.so, 0o664)
        self.assert_refused("%s is writable by its group (mode 0664)" % self.so)

    def test_world_writable_directory(self):
        os.chmod(self.pdir, 0o777)
        self.assert_refused("%s is writable by others (mode 0777)" % self.pdir)

    def test_foreign_owner(self):
        if os.geteuid() != 0:
            self.skipTest("needs root to give the file away")
        os.chown(self.so, UNTRUSTED_UID, -1)
        self.assert_refused("%s is owned by uid %d" % (self.so, UNTRUSTED_UID))


if __name__ == "__main__":
    t.main()
