"""The Debian package installs, checks, upgrades and uninstalls as documented.

Each test works in a throw-away Debian 12 root: an overlay whose lower layer is
this host's root filesystem (read-only: the libraries the package depends on
are there) and whose upper layer is a tmpfs, mounted in a private mount
namespace of this test process, so nothing it does reaches the host and every
mount vanishes with the process. /dev holds only bind mounts of a few device
files, /proc and /tmp are fresh; /run is empty, so maintainer scripts start no
service. Inside it the real `dpkg -i` runs the maintainer scripts (sysusers,
state directory) and the installed binary checks the shipped configuration.

The packages come from IOCA_DEB_DIR (scripts/test.sh builds them first with
scripts/package.sh) or, when that is not set, are built here by package.sh.
"""

import ctypes
import glob
import os
import re
import shutil
import subprocess
import tempfile

import ioca_test as t

CLONE_NEWNS = 0x00020000
DEVICES = ("null", "zero", "full", "random", "urandom")
PLUGINS = ("camera", "exec", "iio", "modbus", "serial", "sim")
CONF = "/etc/iocagent/iocagent.conf"
STATE_DIR = "/var/lib/iocagent"
UNIT = "/lib/systemd/system/iocagent.service"
CMD_TIMEOUT_S = 120
PACKAGE_TIMEOUT_S = 900

_namespace_ready = False


def _private_mount_namespace():
    """Move this process into a mount namespace of its own (once)."""
    global _namespace_ready
    if _namespace_ready:
        return
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.unshare(CLONE_NEWNS) != 0:
        raise OSError(ctypes.get_errno(), "unshare(CLONE_NEWNS)")
    subprocess.run(["mount", "--make-rprivate", "/"], check=True)
    _namespace_ready = True


def _run(args, **kw):
    kw.setdefault("timeout", CMD_TIMEOUT_S)
    return subprocess.run(args, capture_output=True, text=True, **kw)


class ThrowAwayRoot:
    """An overlay of the host's root filesystem, writable, discarded at the end."""

    def __init__(self):
        self.base = tempfile.mkdtemp(prefix="ioca-root-")
        self.mounts = []
        self._mount(["-t", "tmpfs", "tmpfs", self.base])
        for d in ("upper", "work", "root"):
            os.mkdir(os.path.join(self.base, d))
        self.root = os.path.join(self.base, "root")
        self._mount(["-t", "overlay", "overlay", "-o",
                     "lowerdir=/,upperdir=%s/upper,workdir=%s/work" % (self.base, self.base),
                     self.root])
        self._mount(["-t", "proc", "proc", self.path("/proc")])
        self._mount(["-t", "tmpfs", "tmpfs", self.path("/tmp")])
        self._mount(["-t", "tmpfs", "tmpfs", self.path("/run")])
        self._mount(["-t", "tmpfs", "tmpfs", self.path("/dev")])
        for dev in DEVICES:
            node = self.path("/dev/" + dev)
            open(node, "w").close()
            self._mount(["--bind", "/dev/" + dev, node])

    def _mount(self, args):
        r = _run(["mount"] + args)
        if r.returncode != 0:
            raise AssertionError("mount %s: %s" % (" ".join(args), r.stderr.strip()))
        self.mounts.append(args[-1])

    def path(self, inside):
        return os.path.join(self.root, inside.lstrip("/"))

    def run(self, args, **kw):
        return _run(["chroot", self.root] + args, **kw)

    def close(self):
        # Unmount innermost first; the upper layer is a tmpfs, so nothing is left.
        for m in reversed(self.mounts):
            subprocess.run(["umount", "-l", m], capture_output=True)
        try:
            os.rmdir(self.base)
        except OSError:
            pass


class PackageTest(t.AgentTestCase):
    needs_binary = False
    debs = None

    @classmethod
    def setUpClass(cls):
        if os.geteuid() != 0:
            raise AssertionError("the package test needs root (dpkg, mount namespaces)")
        _private_mount_namespace()
        deb_dir = os.environ.get("IOCA_DEB_DIR")
        cls.build_tmp = None
        if not deb_dir:
            cls.build_tmp = tempfile.mkdtemp(prefix="ioca-deb-")
            deb_dir = cls.build_tmp
            r = _run([os.path.join(t.SOURCE_DIR, "scripts", "package.sh"), deb_dir],
                     timeout=PACKAGE_TIMEOUT_S)
            if r.returncode != 0:
                raise AssertionError("package.sh failed:\n" + r.stdout[-4000:] + r.stderr)
        agent = glob.glob(os.path.join(deb_dir, "iocagent_*_*.deb"))
        dev = glob.glob(os.path.join(deb_dir, "iocagent-dev_*_all.deb"))
        if len(agent) != 1 or len(dev) != 1:
            raise AssertionError("expected one iocagent and one iocagent-dev .deb in " + deb_dir)
        cls.debs = {"agent": agent[0], "dev": dev[0]}

    @classmethod
    def tearDownClass(cls):
        if cls.build_tmp:
            shutil.rmtree(cls.build_tmp, ignore_errors=True)

    def setUp(self):
        super().setUp()
        self.host_had_agent = os.path.exists("/usr/bin/iocagent")
        self.box = ThrowAwayRoot()
        self.addCleanup(self._check_host_untouched)
        self.addCleanup(self.box.close)

    def _check_host_untouched(self):
        self.assertEqual(os.path.exists("/usr/bin/iocagent"), self.host_had_agent)
        self.assertFalse(os.path.exists(STATE_DIR + "/spool-placeholder"))

    def ok(self, args, **kw):
        r = self.box.run(args, **kw)
        self.assertEqual(r.returncode, 0, "%s failed:\n%s%s" % (args, r.stdout, r.stderr))
        return r

    def copy_in(self, path):
        inside = "/tmp/" + os.path.basename(path)
        shutil.copy(path, self.box.path(inside))
        return inside

    def dpkg_install(self, *debs, options=()):
        return self.ok(["dpkg", "-i"] + list(options) + [self.copy_in(d) for d in debs])

    def changed_package(self, new_conf_line):
        """The agent package as a later version whose shipped config differs."""
        work = os.path.join(self.tmp, "repack")
        subprocess.run(["dpkg-deb", "-R", self.debs["agent"], work], check=True)
        with open(os.path.join(work, "DEBIAN", "control")) as f:
            control = f.read()
        version = re.search(r"^Version: (\S+)$", control, re.M).group(1)
        with open(os.path.join(work, "DEBIAN", "control"), "w") as f:
            f.write(control.replace("Version: " + version, "Version: %s+1" % version))
        conf = os.path.join(work, CONF.lstrip("/"))
        with open(conf, "a") as f:
            f.write(new_conf_line + "\n")
        md5 = _run(["md5sum", CONF.lstrip("/")], cwd=work).stdout.split()[0]
        sums = os.path.join(work, "DEBIAN", "md5sums")
        with open(sums) as f:
            lines = [("%s  %s" % (md5, CONF.lstrip("/")) if line.endswith(" " + CONF.lstrip("/"))
                      else line) for line in f.read().splitlines()]
        with open(sums, "w") as f:
            f.write("\n".join(lines) + "\n")
        out = os.path.join(self.tmp, "iocagent-next.deb")
        subprocess.run(["dpkg-deb", "--root-owner-group", "-b", work, out], check=True,
                       capture_output=True)
        return out

    def test_install_check_upgrade_remove(self):
        self.dpkg_install(self.debs["agent"], self.debs["dev"])

        # The shipped configuration passes the check with the compiled-in default path.
        r = self.ok(["iocagent", "-t"])
        self.assertEqual(r.stdout.strip(), "configuration OK")
        listed = self.ok(["iocagent", "--list-plugins"]).stdout
        for plugin in PLUGINS:
            self.assertRegex(listed, r"(?m)^%s\s+\S+\s+ABI " % plugin)

        # The system user, its groups, and the state directory it owns.
        groups = self.ok(["id", "-nG", "iocagent"]).stdout.split()
        self.assertIn("dialout", groups)
        self.assertEqual(self.ok(["stat", "-c", "%U:%G %a", STATE_DIR]).stdout.strip(),
                         "iocagent:iocagent 750")

        # The unit as installed: clean for systemd, and not enabled by the package.
        v = _run(["systemd-analyze", "verify", "--root=" + self.box.root, UNIT])
        self.assertEqual(v.returncode, 0, v.stderr)
        self.assertEqual(v.stderr.strip(), "", "systemd-analyze verify warnings:\n" + v.stderr)
        enabled = _run(["systemctl", "--root=" + self.box.root, "is-enabled", "iocagent.service"])
        self.assertEqual(enabled.stdout.strip(), "disabled")

        # The conffile, the man pages and the plugin ABI files.
        conffiles = self.ok(["dpkg-query", "-W", "-f=${Conffiles}", "iocagent"]).stdout
        self.assertIn(CONF, conffiles)
        for page in ["iocagent", "iocagent.conf"] + ["iocagent-" + p for p in PLUGINS]:
            self.ok(["man", "-w", page])
        self.assertEqual(self.ok(["pkg-config", "--variable=plugindir", "iocagent"]).stdout.strip(),
                         "/usr/lib/iocagent/plugins")
        self.assertTrue(os.path.isfile(self.box.path("/usr/include/iocagent/plugin.h")))

        # Upgrade to a version whose shipped config changed, keeping the local one.
        with open(self.box.path(CONF)) as f:
            local = f.read().replace('id = "edge-01";', 'id = "dn-gianghia-01";')
        with open(self.box.path(CONF), "w") as f:
            f.write(local)
        self.dpkg_install(self.changed_package("# shipped by the next version"),
                          options=["--force-confold"])
        with open(self.box.path(CONF)) as f:
            self.assertEqual(f.read(), local)
        with open(self.box.path(CONF + ".dpkg-dist")) as f:
            self.assertIn("# shipped by the next version", f.read())
        self.assertEqual(self.ok(["iocagent", "-t"]).stdout.strip(), "configuration OK")

        # Removal keeps configuration and spool; purge deletes both.
        spool = STATE_DIR + "/spool-placeholder"
        self.ok(["runuser", "-u", "iocagent", "--", "touch", spool])
        self.ok(["dpkg", "-r", "iocagent-dev", "iocagent"])
        self.assertFalse(os.path.exists(self.box.path("/usr/bin/iocagent")))
        self.assertTrue(os.path.exists(self.box.path(spool)))
        self.assertTrue(os.path.exists(self.box.path(CONF)))
        self.ok(["dpkg", "-P", "iocagent"])
        self.assertFalse(os.path.exists(self.box.path(STATE_DIR)))
        self.assertFalse(os.path.exists(self.box.path(CONF)))

    def test_prefix_install_runs_without_c(self):
        """A cmake --install to another prefix finds its config and plugins by itself."""
        build = t.BUILD_DIR
        self.assertTrue(build and os.path.isfile(os.path.join(build, "CMakeCache.txt")),
                        "IOCA_BUILD_DIR must name the build tree")
        with open(os.path.join(build, "CMakeCache.txt")) as f:
            prefix = re.search(r"^CMAKE_INSTALL_PREFIX:PATH=(.*)$", f.read(), re.M).group(1)
        r = _run(["cmake", "--install", build], env=dict(os.environ, DESTDIR=self.box.root))
        self.assertEqual(r.returncode, 0, r.stderr)
        binary = os.path.join(prefix, "bin", "iocagent")
        r = self.ok([binary, "-t"])
        self.assertEqual(r.stdout.strip(), "configuration OK")
        conf = os.path.join(prefix, "etc", "iocagent", "iocagent.conf")
        if prefix == "/usr":
            conf = CONF
        self.assertIn(conf, self.ok([binary, "--help"]).stdout)
        listed = self.ok([binary, "--list-plugins"]).stdout
        for plugin in PLUGINS:
            self.assertRegex(listed, r"(?m)^%s\s" % plugin)


if __name__ == "__main__":
    t.main()
