"""Command line of the agent binary: -t on good and bad files, exit codes
0 / 64 / 78, --version, --help, --list-plugins, config errors at start.

Invariant: every bad-config case knows the exact line of each problem and
asserts that a `FILE:LINE: message` line names it (all problems, not just the
first).
"""

import os
import re

import ioca_test as t

EX_OK = 0
EX_USAGE = 64
EX_CONFIG = 78

GOOD = """\
agent: {
  id = "cli-agent";
  site = "daknong/test";
  plugin_dir = "{plugin_dir}";
  state_dir = "{state_dir}";
  log_level = "info";
};
mqtt: {
  brokers = [ "mqtt://127.0.0.1:1883", "mqtt://[::1]:1884" ];
  protocol = "v5";
  keepalive = 30;
  qos = 1;
  topic_prefix = "ioc";
  session_expiry = 86400;
};
spool: {
  max_bytes = 104857600;
  fsync = "interval";
  fsync_interval_ms = 200;
  inflight = 64;
};
instances = (
  { name = "sim-1"; plugin = "sim"; rate = 2.5; kind = "event"; },
  { name = "sim-2"; plugin = "sim"; qos = 0; max_rate = 100.0; hang_timeout = 5; },
  { name = "boom"; plugin = "crashy"; mode = "abort"; memory_limit_mb = 256; }
);
"""

# Each problem sits on a known line (1-based); see BAD_LINES.
BAD = """\
agent: {
  id = "cli-agent";
  plugin_dir = "{plugin_dir}";
  state_dir = "{state_dir}";
  colour = "blue";
};
mqtt: {
  brokers = [ "mqtt://127.0.0.1:1883" ];
  keepalive = "thirty";
  qos = 7;
  tls: { ca_file = "/nonexistent/iocagent-test/ca.crt"; };
};
instances = (
  { name = "a"; plugin = "sim"; rate = 1.0; },
  { name = "a"; plugin = "sim"; },
  { name = "c"; plugin = "nosuchplugin"; },
  { name = "d"; plugin = "sim"; ratee = 2.0; },
  { name = "e"; plugin = "sim"; kind = "bogus"; },
  { name = "f"; plugin = "sim"; rate = "fast"; }
);
"""
BAD_LINES = {
    5: r"colour",            # unknown key in agent
    9: r"keepalive",         # wrong type
    10: r"qos",              # out of range
    11: r"ca_file|ca\.crt",  # file that must be readable
    15: r"\ba\b|duplicate",  # duplicate instance name
    16: r"nosuchplugin",     # unknown plugin
    17: r"ratee",            # unknown plugin option
    18: r"kind|bogus",       # bad enum value of a plugin option
    19: r"rate",             # wrong type of a plugin option
}

SYNTAX = """\
agent: {
  id = "cli-agent";
  state_dir = "{state_dir}";
  plugin_dir = "{plugin_dir}";
  log_level = = "info";
};
"""
SYNTAX_LINE = 5

MISSING_ID = """\
agent: {
  plugin_dir = "{plugin_dir}";
  state_dir = "{state_dir}";
};
mqtt: { brokers = [ "mqtt://127.0.0.1:1883" ]; };
instances = ( { name = "s"; plugin = "sim"; } );
"""

INCLUDE_MAIN = """\
agent: { id = "cli-agent"; plugin_dir = "{plugin_dir}"; state_dir = "{state_dir}"; };
mqtt: { brokers = [ "mqtt://127.0.0.1:1883" ]; };
instances = (
@include "conf.d/*.conf"
);
"""


class CliTest(t.AgentTestCase):

    def write(self, text, name="iocagent.conf"):
        a = t.Agent(self.tmp, text=text, name=name.replace(".conf", ""))
        return a.conf_path

    def check(self, path, *extra):
        return t.run_binary(["-t", "-c", path] + list(extra))

    def test_good_config_ok(self):
        path = self.write(GOOD)
        r = self.check(path)
        self.assertEqual(r.returncode, EX_OK, r.stderr)
        self.assertIn("configuration OK", r.stdout + r.stderr)
        r2 = t.run_binary(["--check-config", "-c", path])
        self.assertEqual(r2.returncode, EX_OK, r2.stderr)
        self.assertIn("configuration OK", r2.stdout + r2.stderr)

    def test_missing_device_paths_warn_with_line(self):
        # a serial tty or sysfs tree that is not there (yet) is named with its
        # line, but does not fail the check: the instance retries until it appears
        text = ("agent: { id = \"cli-agent\"; plugin_dir = \"{plugin_dir}\"; "
                "state_dir = \"{state_dir}\"; };\n"
                "mqtt: { brokers = [ \"mqtt://127.0.0.1:1883\" ]; };\n"
                "instances = (\n"
                "  { name = \"wx\"; plugin = \"serial\"; device = \"/dev/ttyIOCA-absent\";\n"
                "    protocol = \"nmea\"; },\n"
                "  { name = \"adc\"; plugin = \"iio\"; sysfs_root = \"/nonexistent/sys\";\n"
                "    devices = ( { type = \"iio\"; device = \"bme280\"; channels = (\n"
                "      { channel = \"temp\"; name = \"air_temp\"; } ); } ); },\n"
                "  { name = \"cam-file\"; plugin = \"camera\"; url = \"/srv/clips/absent.mp4\"; },\n"
                "  { name = \"cam-rtsp\"; plugin = \"camera\"; url = \"rtsp://10.0.0.21/stream1\"; }\n"
                ");\n")
        path = self.write(text)
        r = self.check(path)
        out = r.stdout + r.stderr
        self.assertIn("configuration OK", out)
        self.assertEqual(r.returncode, EX_OK, out)
        self.assertRegex(out, r"iocagent\.conf:4: warning: .*'device': path '/dev/ttyIOCA-absent' "
                              r"does not exist")
        self.assertRegex(out, r"iocagent\.conf:6: warning: .*'sysfs_root': path '/nonexistent/sys'")
        self.assertRegex(out, r"iocagent\.conf:9: warning: .*'url': path '/srv/clips/absent\.mp4'")
        self.assertNotIn("10.0.0.21", out)  # a URL is not a path: nothing to say about it

    def test_bad_config_reports_every_problem_with_line(self):
        path = self.write(BAD)
        r = self.check(path)
        self.assertEqual(r.returncode, EX_CONFIG, r.stdout + r.stderr)
        self.assertNotIn("configuration OK", r.stdout + r.stderr)
        for line, what in BAD_LINES.items():
            pat = r"^%s:%d: .*(%s)" % (re.escape(path), line, what)
            self.assertRegex(r.stderr, re.compile(pat, re.M | re.I),
                             "no %s:%d error about %s" % (path, line, what))
        # the unknown plugin error lists the plugins that were found
        unknown = [ln for ln in r.stderr.splitlines() if "nosuchplugin" in ln]
        self.assertTrue(any(re.search(r"\bsim\b", ln) for ln in unknown), unknown)
        # every problem line has the FILE:LINE: form
        for ln in r.stderr.splitlines():
            if ln.strip() and path in ln:
                self.assertRegex(ln, r"^%s:\d+: \S" % re.escape(path))

    def test_syntax_error_line(self):
        path = self.write(SYNTAX)
        r = self.check(path)
        self.assertEqual(r.returncode, EX_CONFIG, r.stderr)
        self.assertRegex(r.stderr, re.compile(r"^%s:%d: " % (re.escape(path), SYNTAX_LINE), re.M))

    def test_missing_required_key(self):
        path = self.write(MISSING_ID)
        r = self.check(path)
        self.assertEqual(r.returncode, EX_CONFIG, r.stderr)
        self.assertRegex(r.stderr, re.compile(r"^%s:\d+: .*\bid\b" % re.escape(path), re.M))

    def test_missing_file(self):
        path = os.path.join(self.tmp, "does-not-exist.conf")
        r = self.check(path)
        self.assertEqual(r.returncode, EX_CONFIG, r.stderr)
        self.assertIn(path, r.stderr)

    def test_config_error_at_start_starts_nothing(self):
        a = t.Agent(self.tmp, text=BAD, name="startbad")
        a.start()
        self.assertEqual(a.wait(10), EX_CONFIG, a.log())
        # at start the lines carry the log prefix (time, level) before FILE:LINE: message
        for line in BAD_LINES:
            self.assertRegex(a.log(), re.compile(r"%s:%d: " % (re.escape(a.conf_path), line)))
        self.assertEqual(os.listdir(a.state_dir), [], "state written despite a config error")

    def test_include_glob(self):
        a = t.Agent(self.tmp, text=INCLUDE_MAIN, name="inc")
        confd = os.path.join(a.dir, "conf.d")
        os.makedirs(confd)
        with open(os.path.join(confd, "10-a.conf"), "w") as f:
            f.write('{ name = "a"; plugin = "sim"; },\n')
        with open(os.path.join(confd, "20-b.conf"), "w") as f:
            f.write('{ name = "b"; plugin = "sim"; kind = "event"; }\n')
        r = self.check(a.conf_path)
        self.assertEqual(r.returncode, EX_OK, r.stderr)
        # an error inside an included file is reported with that file and line
        bad = os.path.join(confd, "20-b.conf")
        with open(bad, "w") as f:
            f.write('{ name = "b"; plugin = "sim";\n  rate = "x"; }\n')
        r = self.check(a.conf_path)
        self.assertEqual(r.returncode, EX_CONFIG, r.stderr)
        self.assertRegex(r.stderr, re.compile(r"^%s:2: .*rate" % re.escape(bad), re.M))

    def test_usage_errors(self):
        path = self.write(GOOD)
        for args in (["--no-such-option"], ["-c"], ["-c", path, "extra-argument"], ["-x"]):
            r = t.run_binary(args)
            self.assertEqual(r.returncode, EX_USAGE, "%r: %s" % (args, r.stderr))
            self.assertRegex(r.stderr.lower(), r"usage", args)

    def test_version_and_help(self):
        r = t.run_binary(["--version"])
        self.assertEqual(r.returncode, EX_OK, r.stderr)
        self.assertRegex(r.stdout, r"iocagent\D*\d+\.\d+\.\d+")
        r = t.run_binary(["--help"])
        self.assertEqual(r.returncode, EX_OK, r.stderr)
        for opt in ("-c", "-t", "--check-config", "--list-plugins", "--version"):
            self.assertIn(opt, r.stdout)

    def test_list_plugins(self):
        path = self.write(GOOD)
        r = t.run_binary(["--list-plugins", "-c", path])
        self.assertEqual(r.returncode, EX_OK, r.stderr)
        lines = r.stdout.splitlines()
        for name in ("sim", "crashy", "hangy", "floody"):
            match = [ln for ln in lines if re.match(r"^\s*%s\b" % name, ln)]
            self.assertEqual(len(match), 1, "%s not listed once in:\n%s" % (name, r.stdout))
        sim = [ln for ln in lines if re.match(r"^\s*sim\b", ln)][0]
        self.assertRegex(sim, r"\d+\.\d+")  # version / ABI


if __name__ == "__main__":
    t.main()
