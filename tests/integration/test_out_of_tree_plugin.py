#!/usr/bin/python3
"""An out-of-tree plugin builds against the installed header and pkg-config
file alone, is listed, validated and run by the installed agent; a plugin
built for another ABI major is refused with both versions named."""
import glob
import os
import subprocess
import unittest

import ioca_test as it

SOURCE = os.path.join(it.SOURCE_DIR, "tests", "out_of_tree", "hello.c")


class OutOfTreePlugin(it.AgentTestCase):
    def setUp(self):
        super().setUp()
        self.root = os.path.join(self.tmp, "root")
        env = dict(os.environ, DESTDIR=self.root)
        subprocess.run(["cmake", "--install", it.BUILD_DIR], env=env, check=True,
                       capture_output=True)
        pcs = glob.glob(os.path.join(self.root, "**", "pkgconfig", "iocagent.pc"),
                        recursive=True)
        self.assertEqual(len(pcs), 1, "iocagent.pc installed once")
        self.pc_dir = os.path.dirname(pcs[0])
        bins = glob.glob(os.path.join(self.root, "**", "bin", "iocagent"), recursive=True)
        self.assertEqual(len(bins), 1)
        self.binary = bins[0]

    def build_plugin(self, outdir, defines=()):
        env = dict(os.environ, PKG_CONFIG_PATH=self.pc_dir, PKG_CONFIG_SYSROOT_DIR=self.root)
        cflags = subprocess.run(["pkg-config", "--cflags", "iocagent"], env=env, check=True,
                                capture_output=True, text=True).stdout.split()
        self.assertTrue(any(f.startswith("-I" + self.root) for f in cflags), cflags)
        os.makedirs(outdir, exist_ok=True)
        so = os.path.join(outdir, "hello.so")
        subprocess.run(["cc", "-std=c11", "-Wall", "-Wextra", "-Werror", "-shared", "-fPIC"] +
                       cflags + list(defines) + [SOURCE, "-o", so], check=True)
        return outdir

    def config(self, plugin_dir, port, extra=""):
        return it.config_text(
            {"id": "oot-agent", "plugin_dir": plugin_dir, "state_dir": self.tmp + "/state"},
            {"brokers": ["mqtt://127.0.0.1:%d" % port]},
            [{"name": "greeter", "plugin": "hello", "interval": 0.2, "greeting": "chao IOC"}]
        ) + extra

    def write(self, name, text):
        path = os.path.join(self.tmp, name)
        with open(path, "w") as f:
            f.write(text)
        return path

    def test_build_list_check_run(self):
        plugin_dir = self.build_plugin(os.path.join(self.tmp, "plugins"))
        conf = self.write("ok.conf", self.config(plugin_dir, 1883))
        out = subprocess.run([self.binary, "--list-plugins", "-c", conf], capture_output=True,
                             text=True, timeout=20)
        self.assertEqual(out.returncode, 0)
        self.assertRegex(out.stdout, r"(?m)^hello\s+0\.1\s+ABI 1\.\d+\s+greets the IOC")
        out = subprocess.run([self.binary, "-t", "-c", conf], capture_output=True, text=True,
                             timeout=20)
        self.assertEqual((out.returncode, out.stdout.strip()), (0, "configuration OK"),
                         out.stderr)

        bad = self.write("bad.conf", self.config(plugin_dir, 1883).replace(
            "greeting", "greting"))
        out = subprocess.run([self.binary, "-t", "-c", bad], capture_output=True, text=True,
                             timeout=20)
        self.assertEqual(out.returncode, 78)
        self.assertRegex(out.stderr, r"bad\.conf:\d+: .*unknown option 'greting' "
                                     r"\(did you mean 'greeting'\?\)")

        broker = self.broker()
        sub = self.subscriber(broker.port, topics=["ioc/oot-agent/greeter/event/hello/greeting"])
        run_conf = self.write("run.conf", self.config(plugin_dir, broker.port))
        proc = subprocess.Popen([self.binary, "-c", run_conf], stderr=subprocess.DEVNULL)
        self.addCleanup(proc.kill)
        got = self.expect(sub, lambda m: True, timeout=15, count=3, what="greeting events")
        doc = got[0].json()
        it.validate(doc, "envelope")
        self.assertEqual(doc["plugin"], "hello")
        self.assertEqual(doc["data"]["greeting"], "chao IOC")
        proc.terminate()
        self.assertEqual(proc.wait(timeout=10), 0)

    def test_abi_major_mismatch_names_both_versions(self):
        plugin_dir = self.build_plugin(os.path.join(self.tmp, "abi2"), ["-DHELLO_ABI_MAJOR=2"])
        conf = self.write("abi.conf", self.config(plugin_dir, 1883))
        out = subprocess.run([self.binary, "-t", "-c", conf], capture_output=True, text=True,
                             timeout=20)
        self.assertEqual(out.returncode, 78)
        self.assertRegex(out.stderr, r"abi\.conf:\d+: .*plugin ABI 2\.\d+.*agent provides ABI "
                                     r"1\.\d+")


if __name__ == "__main__":
    unittest.main()
