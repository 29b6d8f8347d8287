"""sd_notify: the agent tells systemd READY=1 (with a STATUS= line) and feeds
the watchdog, on a NOTIFY_SOCKET owned by this test.

Invariant: the test socket is an AF_UNIX datagram socket in the test's temp
dir, exactly what systemd hands a Type=notify service; WATCHDOG_USEC is set
short (1 s) so at least one ping every 0.5 s is expected.
"""

import os
import socket
import threading
import time

import ioca_test as t

AGENT = "itest-notify"
WATCHDOG_USEC = 1000000
OBSERVE_S = 3.0


class NotifySocket:
    """Collects (monotonic time, datagram text) from an AF_UNIX datagram socket."""

    def __init__(self, path):
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(path)
        self.sock.settimeout(0.2)
        self.lock = threading.Lock()
        self.items = []
        self.running = True
        self.thread = threading.Thread(target=self._loop, daemon=True)
        self.thread.start()

    def _loop(self):
        while self.running:
            try:
                data = self.sock.recv(4096)
            except socket.timeout:
                continue
            except OSError:
                return
            with self.lock:
                self.items.append((time.monotonic(), data.decode(errors="replace")))

    def assignments(self):
        """[(time, 'KEY=value'), ...] split per line of each datagram."""
        with self.lock:
            items = list(self.items)
        return [(ts, line) for ts, d in items for line in d.splitlines() if line]

    def close(self):
        self.running = False
        self.thread.join(2)
        self.sock.close()


class SdNotifyTest(t.AgentTestCase):

    def test_ready_status_watchdog(self):
        broker = self.broker()
        ns = NotifySocket(os.path.join(self.tmp, "notify.sock"))
        self.addCleanup(ns.close)
        a = self.agent(start=False, broker_url=broker.url, agent_id=AGENT,
                       instances=[t.sim("s1", rate=1.0), t.sim("s2", rate=1.0)])
        t0 = time.monotonic()
        a.start(env={"NOTIFY_SOCKET": ns.path, "WATCHDOG_USEC": str(WATCHDOG_USEC)})
        ready = t.wait_until(lambda: [x for x in ns.assignments() if x[1] == "READY=1"], 10)
        self.assertTrue(ready, "no READY=1; got %r\n%s" % (ns.assignments(), a.log()[-2000:]))
        print("start to READY=1: %.0f ms" % ((ready[0][0] - t0) * 1000))
        # READY means the workers are up
        self.assertEqual(len(a.worker_pids()), 2, a.worker_pids())

        time.sleep(OBSERVE_S)
        got = ns.assignments()
        status = [v for _, v in got if v.startswith("STATUS=")]
        self.assertTrue(status and len(status[0]) > len("STATUS="), got)
        pings = [ts for ts, v in got if v == "WATCHDOG=1" and ts >= ready[0][0]]
        self.assertGreaterEqual(len(pings), int(OBSERVE_S / (WATCHDOG_USEC / 1e6 / 2)) - 1,
                                "too few WATCHDOG=1 pings: %d in %.0fs" % (len(pings), OBSERVE_S))
        intervals = [b - a_ for a_, b in zip(pings, pings[1:])]
        self.assertLess(max(intervals), WATCHDOG_USEC / 1e6, "watchdog ping gap %r" % intervals)
        self.assertEqual(sum(1 for _, v in got if v == "READY=1"), 1, "READY=1 sent more than once")

        a.terminate()
        self.assertEqual(a.wait(6), 0, a.log()[-2000:])

    def test_no_notify_socket_is_fine(self):
        broker = self.broker()
        a = self.agent(broker_url=broker.url, agent_id=AGENT, instances=[t.sim("s1", rate=1.0)])
        time.sleep(1.0)
        self.assertTrue(a.running(), a.log()[-2000:])
        a.terminate()
        self.assertEqual(a.wait(6), 0)


if __name__ == "__main__":
    t.main()
