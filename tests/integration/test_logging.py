"""Logging: `<N>` syslog priority prefixes when JOURNAL_STREAM names the
agent's stderr (as systemd sets it), readable lines otherwise.

Invariant: JOURNAL_STREAM is set to the real device:inode of the file the
agent's stderr goes to, exactly what journald's stream connection provides.
"""

import os
import re
import time

import ioca_test as t

AGENT = "itest-log"
PRIORITY_LINE = re.compile(r"^<[0-7]>\S")


class LoggingTest(t.AgentTestCase):

    def run_for_a_while(self, env_for):
        broker = self.broker()
        a = self.agent(start=False, broker_url=broker.url, agent_id=AGENT,
                       instances=[t.sim("s1", rate=2.0)])
        open(a.log_path, "ab").close()
        a.start(env=env_for(a))
        self.assertTrue(a.wait_log("s1", 10), a.log())
        time.sleep(1.0)
        a.terminate()
        self.assertEqual(a.wait(6), 0)
        lines = [ln for ln in a.log().splitlines() if ln.strip()]
        self.assertGreater(len(lines), 2, lines)
        return lines

    def test_journal_prefixes(self):
        def env(a):
            st = os.stat(a.log_path)
            return {"JOURNAL_STREAM": "%d:%d" % (st.st_dev, st.st_ino)}
        lines = self.run_for_a_while(env)
        bad = [ln for ln in lines if not PRIORITY_LINE.match(ln)]
        self.assertEqual(bad, [], "lines without a <N> prefix under the journal")
        # info (6) and debug (7) at least, given log_level debug
        self.assertTrue(any(ln.startswith("<6>") for ln in lines), lines[:10])

    def test_readable_lines_without_journal(self):
        lines = self.run_for_a_while(lambda a: {"JOURNAL_STREAM": "1:1"})
        self.assertEqual([ln for ln in lines if PRIORITY_LINE.match(ln)], [],
                         "<N> prefixes although stderr is not the journal")
        self.assertTrue(all(re.search(r"\b(error|warning|info|debug)\b", ln) for ln in lines),
                        lines[:10])


if __name__ == "__main__":
    t.main()
