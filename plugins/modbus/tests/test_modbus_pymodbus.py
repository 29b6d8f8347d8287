"""Modbus interoperability: the agent's modbus worker against a pymodbus device
(not libmodbus on both ends), through a real mosquitto to a subscriber.

Invariant checked: u16 with scale, f32 across two registers, s16 from input
registers and a coil decode to the values pymodbus serves; an address pymodbus
does not hold fails with exception:illegal_data_address; a unit id nobody
answers fails with timeout, without disturbing the readings of unit 1.
"""

import os
import subprocess
import sys

import ioca_test as t

AGENT = "itest-pymodbus"
SERVER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "pymodbus_server.py")
START_TIMEOUT_S = 10


def instance(port):
    return {"name": "pym", "plugin": "modbus", "host": "127.0.0.1", "port": port,
            "poll_interval": 0.3, "timeout_ms": 300, "publish_interval": 0.0,
            "devices": [
                {"name": "station", "unit_id": 1, "registers": [
                    {"name": "level", "address": 0, "scale": 0.1, "unit": "m"},
                    {"name": "temp", "address": 1, "type": "f32", "unit": "degC"},
                    {"name": "delta", "function": "input", "address": 0, "type": "s16"},
                    {"name": "pump", "function": "coil", "address": 0},
                    {"name": "beyond", "address": 100}]},
                {"name": "absent", "unit_id": 9, "registers": [
                    {"name": "ghost", "address": 0}]}]}


class PymodbusInteropTest(t.AgentTestCase):

    def setUp(self):
        super().setUp()
        self.port = t.free_port()
        self.server = subprocess.Popen([sys.executable, SERVER, str(self.port)],
                                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.addCleanup(self.stop_server)
        if not t.wait_until(lambda: t.port_open(self.port), START_TIMEOUT_S):
            self.fail("pymodbus server did not listen on %d" % self.port)

    def stop_server(self):
        self.server.kill()
        self.server.wait()

    def test_values_and_errors(self):
        broker = self.broker()
        sub = self.subscriber(broker.port, topics=["ioc/%s/pym/telemetry" % AGENT], qos=1)
        self.agent(broker_url=broker.url, agent_id=AGENT, instances=[instance(self.port)])
        want = {"level", "temp", "delta", "pump", "beyond", "ghost"}
        latest = {}

        def seen_all():
            for m in sub.messages():
                for r in t.validate(m.payload, "envelope")["data"]["readings"]:
                    latest[r["name"]] = r
            return want <= set(latest)
        self.assertTrue(t.wait_until(seen_all, 15), "readings seen: %s" % sorted(latest))
        for name, value in (("level", 23.5), ("temp", 21.5), ("delta", -5), ("pump", 1)):
            self.assertEqual(latest[name]["status"], "ok", latest[name])
            self.assertAlmostEqual(latest[name]["value"], value, places=6)
        self.assertEqual(latest["temp"]["unit"], "degC")
        self.assertEqual(latest["beyond"]["status"], "error")
        self.assertEqual(latest["beyond"]["error"], "exception:illegal_data_address")
        self.assertEqual(latest["ghost"]["error"], "timeout")


if __name__ == "__main__":
    import unittest
    unittest.main()
