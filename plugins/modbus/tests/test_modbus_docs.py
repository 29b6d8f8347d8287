"""Every error reason the Modbus plugin can publish is documented.

Invariant checked: each reason literal of plugins/modbus (the reading `error`
texts written by the bus and the poller) appears in a row of the "Error
reasons" table of docs/sensors.md whose `where` column names modbus; each
exception name appears in the `exception:<name>` row.
"""

import os
import re
import unittest

SOURCE = os.environ.get("IOCA_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", "..", ".."))


def read(rel):
    with open(os.path.join(SOURCE, rel), encoding="utf-8") as f:
        return f.read()


def modbus_rows():
    """{cell text: row} of the Error reasons table rows whose `where` names modbus."""
    rows = []
    for line in read("docs/sensors.md").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 3 and "modbus" in cells[1]:
            rows.append(cells)
    return rows


class ModbusDocsTest(unittest.TestCase):

    def test_every_reason_documented(self):
        bus = read("plugins/modbus/modbus_bus.c")
        poller = read("plugins/modbus/modbus_plugin.c")
        reasons = set(re.findall(r'snprintf\((?:err|bus->conn_error), [^,]+, "([a-z_]+)"\)', bus))
        reasons |= set(re.findall(r'"(decode)"', poller))
        exceptions = set(re.findall(r'return "exception:([a-z_]+)"', bus))
        self.assertIn("connection", reasons)
        self.assertIn("timeout", reasons)
        self.assertTrue(exceptions)
        rows = modbus_rows()
        documented = set()
        for reason_cell, _, _ in rows:
            documented |= set(re.findall(r"`([a-z_]+)`", reason_cell))
        missing = sorted(reasons - documented)
        self.assertEqual(missing, [], "reasons missing from docs/sensors.md: %s" % missing)
        exc_rows = [r for r in rows if "exception:" in r[0]]
        self.assertEqual(len(exc_rows), 1)
        names = set(re.findall(r"`([a-z_]+)`", exc_rows[0][2]))
        self.assertEqual(sorted(exceptions - names), [])


if __name__ == "__main__":
    unittest.main()
