"""Man pages and docs cover every declared option.

The generated pages (docs/man/, built by ioca_mangen from the option tables
the validator uses) must render without a groff or man warning, and every key
that a table declares — the core's and each installed plugin's, nested keys
included — must be a term of the page that documents it and appear in the
user docs: core keys as `key =` lines in conf/iocagent.conf (instance keys in
its comment block), plugin keys in backquotes in the plugin's docs/ file,
inside the plugin's own section or a shared (non-plugin) section of it.

Invariant: the key list comes from `ioca_mangen keys`, which walks the same
tables as the validator, so an option added to a table without docs fails here.
"""

import os
import re
import shutil
import subprocess
import unittest

import ioca_test as t

MANGEN = os.environ.get("IOCA_MANGEN", "")
MAN_DIR = os.environ.get("IOCA_MAN_DIR", "")
PLUGINS = [p for p in os.environ.get("IOCA_PLUGINS", "").split(",") if p]
RENDER_WIDTH = "80"
RENDER_TIMEOUT_S = 30

# Which docs/ file documents each installed plugin; a plugin missing here fails.
PLUGIN_DOCS = {
    "camera": "camera.md",
    "modbus": "sensors.md",
    "iio": "sensors.md",
    "serial": "sensors.md",
    "exec": "sensors.md",
    "sim": "sensors.md",
}


def _pages():
    return sorted(f for f in os.listdir(MAN_DIR) if re.search(r"\.[1-8]$", f))


def _render(page):
    """Plain text of a page as man shows it, and what man and groff warned."""
    env = dict(os.environ, MANROFFSEQ="", MANWIDTH=RENDER_WIDTH, MAN_KEEP_FORMATTING="",
               LC_ALL="C.UTF-8")
    path = os.path.join(MAN_DIR, page)
    man = subprocess.run(["man", "--warnings", "-E", "UTF-8", "-l", path], env=env,
                         capture_output=True, text=True, timeout=RENDER_TIMEOUT_S)
    groff = subprocess.run(["groff", "-man", "-ww", "-z", path], capture_output=True,
                           text=True, timeout=RENDER_TIMEOUT_S)
    text = re.sub(r".\x08", "", man.stdout)  # overstrike bold/underline, if any
    return man.returncode, text, man.stderr + groff.stderr


def _declared_keys():
    """{scope: [dotted keys]}, scope "core" or a plugin name."""
    sos = [os.path.join(t.PLUGIN_DIR, p + ".so") for p in PLUGINS]
    r = subprocess.run([MANGEN, "keys"] + sos, capture_output=True, text=True, timeout=30)
    if r.returncode != 0:
        raise AssertionError("ioca_mangen keys failed: " + r.stderr)
    keys = {}
    for line in r.stdout.splitlines():
        scope, key = line.split(" ", 1)
        keys.setdefault(scope, []).append(key)
    return keys


def _markdown_sections(text):
    """[(level-2 heading, body)] of a Markdown file; text before the first is ''."""
    sections = [("", [])]
    fence = False
    for line in text.splitlines():
        if line.startswith("```"):
            fence = not fence
        if not fence and line.startswith("## "):
            sections.append((line[3:].strip(), []))
        else:
            sections[-1][1].append(line)
    return [(h, "\n".join(b)) for h, b in sections]


def _page_terms(text):
    """Keys that are terms (`key = ...` at the start of an indented line) of a page."""
    return set(re.findall(r"^\s+([A-Za-z0-9_]+)\s+= ", text, re.M))


@unittest.skipUnless(shutil.which("man") and shutil.which("groff"),
                     "man-db and groff are needed (Debian packages man-db, groff-base)")
class ManPagesTest(t.AgentTestCase):
    needs_binary = False

    def setUp(self):
        super().setUp()
        self.assertTrue(MANGEN and MAN_DIR, "IOCA_MANGEN and IOCA_MAN_DIR must be set by ctest")
        self.assertTrue(PLUGINS, "IOCA_PLUGINS (the installed plugins) must be set by ctest")
        self.keys = _declared_keys()

    def test_pages_render_without_warnings(self):
        pages = _pages()
        self.assertIn("iocagent.8", pages)
        self.assertIn("iocagent.conf.5", pages)
        for page in pages:
            with self.subTest(page=page):
                rc, text, warnings = _render(page)
                self.assertEqual(rc, 0, warnings)
                self.assertEqual(warnings.strip(), "", page + " warns:\n" + warnings)
                self.assertIn("NAME", text)
                self.assertNotRegex(text, r"@[A-Z_]+@", "placeholder left in " + page)

    def test_every_plugin_has_a_page(self):
        for plugin in PLUGINS:
            self.assertIn("iocagent-%s.5" % plugin, _pages())

    def test_core_keys_in_conf_page(self):
        _, text, _ = _render("iocagent.conf.5")
        terms = _page_terms(text)
        missing = [k for k in self.keys["core"] if k.split(".")[-1] not in terms]
        self.assertEqual(missing, [], "core keys missing from iocagent.conf(5)")
        self.assertGreater(len(self.keys["core"]), 20)

    def test_plugin_keys_in_plugin_pages(self):
        for plugin in PLUGINS:
            with self.subTest(plugin=plugin):
                _, text, _ = _render("iocagent-%s.5" % plugin)
                terms = _page_terms(text)
                declared = self.keys.get(plugin, [])
                self.assertTrue(declared, plugin + " declares no options")
                missing = [k for k in declared if k.split(".")[-1] not in terms]
                self.assertEqual(missing, [], "missing from iocagent-%s(5)" % plugin)

    def test_core_keys_in_shipped_config(self):
        with open(os.path.join(t.SOURCE_DIR, "conf", "iocagent.conf")) as f:
            conf = f.read()
        missing = []
        for key in self.keys["core"]:
            leaf = key.split(".")[-1]
            if key.startswith("instances."):
                pattern = r"^#\s+%s\s" % re.escape(leaf)  # the instance keys comment block
            else:
                pattern = r"^[\s#]*%s\s*[=:]" % re.escape(leaf)
            if not re.search(pattern, conf, re.M):
                missing.append(key)
        self.assertEqual(missing, [], "core keys not documented in conf/iocagent.conf")

    def test_plugin_keys_in_docs(self):
        for plugin in PLUGINS:
            with self.subTest(plugin=plugin):
                self.assertIn(plugin, PLUGIN_DOCS, "no docs/ file known for plugin " + plugin)
                path = os.path.join(t.SOURCE_DIR, "docs", PLUGIN_DOCS[plugin])
                with open(path) as f:
                    sections = _markdown_sections(f.read())
                own = [b for h, b in sections if h == plugin]
                shared = [b for h, b in sections if h not in PLUGIN_DOCS]
                if PLUGIN_DOCS[plugin] != "camera.md":
                    self.assertTrue(own, "%s has no '## %s' section" % (path, plugin))
                text = "\n".join(own + shared)
                missing = [k for k in self.keys[plugin]
                           if not re.search(r"`%s( =[^`]*)?`" % re.escape(k.split(".")[-1]),
                                            text)]
                self.assertEqual(missing, [], "%s keys not documented in %s" % (plugin, path))


if __name__ == "__main__":
    t.main()
