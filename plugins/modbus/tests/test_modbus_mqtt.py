"""Modbus readings and rules end to end: libmodbus test server -> agent (modbus
worker) -> real mosquitto -> subscriber.

Invariant checked: a scripted value sequence that hovers between a rule's
clear level and its limit produces exactly exceeded / cleared / exceeded (no
flapping); a silent device produces one sensor.fault naming all its readings
and, when it answers again, one sensor.recovered; payloads are schema-valid.
"""

import os
import subprocess
import time

import ioca_test as t

AGENT = "itest-modbus"
SERVER = os.path.join(os.environ.get("IOCA_BUILD_DIR", ""), "tests", "tools", "ioca_modbus_server")
HOLD_S = 0.8


class ModbusServer:
    def __init__(self):
        self.proc = subprocess.Popen([SERVER, "tcp", "0"], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True, bufsize=1)
        self.port = int(self.proc.stdout.readline().split()[2])

    def cmd(self, line):
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()
        answer = self.proc.stdout.readline().strip()
        assert answer == "OK", answer

    def close(self):
        self.proc.kill()
        self.proc.wait()
        self.proc.stdin.close()
        self.proc.stdout.close()


def instance(port):
    return {"name": "aq1", "plugin": "modbus", "host": "127.0.0.1", "port": port,
            "poll_interval": 0.2, "timeout_ms": 300, "publish_interval": 1.0,
            "fault_after": 2,
            "rules": [{"reading": "pm25", "high": 100.0, "high_clear": 90.0,
                       "severity": "critical"},
                      {"reading": "pm10", "high": 100.0, "hold_raise": 1.5, "hold_clear": 1.5,
                       "name": "pm10_sustained"}],
            "devices": [
                {"name": "dust", "unit_id": 1, "registers": [
                    {"name": "pm25", "address": 0, "unit": "ug/m3"},
                    {"name": "pm10", "address": 1, "unit": "ug/m3"}]},
                {"name": "rain", "unit_id": 2, "registers": [
                    {"name": "rain_mm", "address": 0, "scale": 0.1, "unit": "mm"}]}]}


class ModbusMqttTest(t.AgentTestCase):

    def setUp(self):
        super().setUp()
        self.server = ModbusServer()
        self.addCleanup(self.server.close)
        self.server.cmd("set 1 holding 0 50 60")
        self.server.cmd("set 2 holding 0 125")

    def start(self):
        broker = self.broker()
        sub = self.subscriber(broker.port, topics=["ioc/%s/aq1/#" % AGENT], qos=1)
        self.agent(broker_url=broker.url, agent_id=AGENT, instances=[instance(self.server.port)])
        return sub

    def test_rules_hysteresis_end_to_end(self):
        sub = self.start()
        tele = self.expect(sub, lambda m: m.topic.endswith("/telemetry"), 15, count=2,
                           what="telemetry")
        readings = {}
        for m in tele:
            obj = t.validate(m.payload, "envelope")
            for r in obj["data"]["readings"]:
                readings[r["name"]] = r
        self.assertEqual(readings["rain_mm"]["value"], 12.5)
        self.assertEqual(readings["rain_mm"]["unit"], "mm")
        self.assertEqual(readings["pm25"]["status"], "ok")
        for value in (110, 95, 105, 85, 95, 120):
            self.server.cmd("set 1 holding 0 %d" % value)
            time.sleep(HOLD_S)
        thr = self.expect(sub, lambda m: "/event/threshold/" in m.topic, 5, count=3,
                          what="threshold events")
        time.sleep(1.0)
        thr = sub.messages(lambda m: "/event/threshold/" in m.topic)
        seen = []
        for m in thr:
            obj = t.validate(m.payload, "envelope")
            d = obj["data"]
            seen.append((obj["type"], obj["severity"], d["value"], d["limit"], d["rule"],
                         d["reading"]))
        self.assertEqual(seen, [
            ("threshold.exceeded", "critical", 110, 100, "pm25_high", "pm25"),
            ("threshold.cleared", "info", 85, 100, "pm25_high", "pm25"),
            ("threshold.exceeded", "critical", 120, 100, "pm25_high", "pm25")])

    def test_hold_times_end_to_end(self):
        sub = self.start()
        self.expect(sub, lambda m: m.topic.endswith("/telemetry"), 15, what="telemetry")

        def pm10_events():
            return [(m.json()["type"], m.json()["data"]["rule"]) for m in
                    sub.messages(lambda m: "/event/threshold/" in m.topic)]
        # A spike shorter than hold_raise raises nothing.
        self.server.cmd("set 1 holding 1 150")
        time.sleep(0.6)
        self.server.cmd("set 1 holding 1 60")
        time.sleep(2.0)
        self.assertEqual(pm10_events(), [])
        # Sustained: raised once, about hold_raise after the first sample beyond the limit.
        t0 = time.monotonic()
        self.server.cmd("set 1 holding 1 150")
        got = self.expect(sub, lambda m: m.topic.endswith("/event/threshold/exceeded"), 5,
                          what="threshold.exceeded")
        self.assertGreaterEqual(got[0].arrived - t0, 1.5)
        self.assertLess(got[0].arrived - t0, 1.5 + 1.0)
        # A dip shorter than hold_clear clears nothing; a lasting one clears once.
        self.server.cmd("set 1 holding 1 60")
        time.sleep(0.6)
        self.server.cmd("set 1 holding 1 150")
        time.sleep(2.0)
        self.server.cmd("set 1 holding 1 60")
        self.expect(sub, lambda m: m.topic.endswith("/event/threshold/cleared"), 5,
                    what="threshold.cleared")
        time.sleep(1.0)
        self.assertEqual(pm10_events(), [("threshold.exceeded", "pm10_sustained"),
                                         ("threshold.cleared", "pm10_sustained")])

    def test_silent_device_fault_and_recovery(self):
        sub = self.start()
        self.expect(sub, lambda m: m.topic.endswith("/telemetry"), 15, what="telemetry")
        self.server.cmd("silent 1 1")
        faults = self.expect(sub, lambda m: m.topic.endswith("/event/sensor/fault"), 10,
                             what="sensor.fault")
        obj = t.validate(faults[0].payload, "envelope")
        self.assertEqual(obj["severity"], "warning")
        self.assertEqual(obj["data"]["error"], "timeout")
        self.assertEqual(sorted(obj["data"]["readings"]), ["pm10", "pm25"])
        # The other device keeps publishing good values meanwhile.
        def rain_ok(m):
            return (m.topic.endswith("/telemetry") and b'"rain_mm"' in m.payload and
                    b'"status":"ok"' in m.payload)
        n = len(sub.messages(rain_ok))
        self.expect(sub, rain_ok, 5, count=n + 2, what="rain telemetry during the silence")
        self.server.cmd("silent 1 0")
        rec = self.expect(sub, lambda m: m.topic.endswith("/event/sensor/recovered"), 10,
                          what="sensor.recovered")
        obj = t.validate(rec[0].payload, "envelope")
        self.assertEqual(sorted(obj["data"]["readings"]), ["pm10", "pm25"])
        time.sleep(1.0)
        self.assertEqual(len(sub.messages(lambda m: m.topic.endswith("/event/sensor/fault"))), 1)


if __name__ == "__main__":
    import unittest
    unittest.main()
