#!/usr/bin/python3
"""Damaged spool at start: the agent starts, reports, delivers everything undamaged.

The agent spools 3000 sim events while no broker is reachable and is stopped.
The test then reads the segment files (format of docs/spool.md), flips a byte
in one record of one segment, truncates another segment in the middle of a
record, deletes the cursor file and a segment in the middle, and drops a
garbage file named like a segment. Started again with a broker and a persistent QoS 1 subscriber, the
agent must run, publish agent.spool_corrupt for each damaged file, and
deliver every record that was not damaged, in order, and none of the
damaged ones.
"""
import glob
import os
import struct
import time
import zlib

import ioca_test as it

COUNT = 3000
RATE = 1000.0
SEG_HDR = 24
REC_HDR = struct.Struct("<HBBIQqHI")  # magic flags ctype_len body_len seq ms topic_len crc
SEGMENT_BYTES = 65536
QUIET_S = 3.0


def read_segment(path):
    """[(offset, length, seq, topic)] of the valid records of a segment file."""
    with open(path, "rb") as f:
        data = f.read()
    out, off = [], SEG_HDR
    while off + REC_HDR.size <= len(data):
        magic, flags, _cl, body, seq, _ms, tl, crc = REC_HDR.unpack_from(data, off)
        end = off + REC_HDR.size + body
        if magic != 0xCA51 or end > len(data):
            break
        if zlib.crc32(data[off:off + 26] + data[off + REC_HDR.size:end]) != crc:
            break
        start = off + REC_HDR.size
        if flags & 0x20:  # format 2: the body starts with the instance
            start += 1 + data[start]
        topic = data[start:start + tl].decode(errors="replace")
        out.append((off, end - off, seq, topic))
        off = end
    return out


class SpoolCorruptTest(it.AgentTestCase):
    def test_damage_at_start(self):
        broker = it.Broker(self.tmp)  # not started yet: everything stays in the spool
        self.addCleanup(broker.kill)
        spool = {"spool": {"segment_bytes": SEGMENT_BYTES, "fsync": "interval"}}
        agent = self.agent(broker_url=broker.url,
                           instances=[it.sim("sim-1", rate=RATE, kind="event", count=COUNT,
                                             max_rate=0.0)],
                           mqtt_extra={"reconnect_max": 1}, sections=spool)
        spool_dir = os.path.join(agent.state_dir, "spool")

        def spooled():
            return sum(1 for p in glob.glob(spool_dir + "/*.seg") for r in read_segment(p)
                       if "/sim-1/" in r[3])
        self.assertTrue(it.wait_until(lambda: spooled() >= COUNT, 30, interval=0.5),
                        "only %d records spooled" % spooled())
        agent.stop()
        self.assertEqual(agent.returncode, 0)

        segs = sorted(glob.glob(spool_dir + "/*.seg"))
        records = {p: read_segment(p) for p in segs}
        full = [p for p in segs if len(records[p]) > 60]
        self.assertGreaterEqual(len(full), 3, "expected several segments")
        all_seqs = {r[2] for p in segs for r in records[p] if "/sim-1/" in r[3]}

        # 1. a flipped byte in the payload of the 10th record of one segment
        seg_a = full[1]
        off, length, seq_a, _ = records[seg_a][10]
        with open(seg_a, "r+b") as f:
            f.seek(off + length - 5)
            b = f.read(1)
            f.seek(off + length - 5)
            f.write(bytes([b[0] ^ 0x5A]))
        # 2. another segment cut 100 bytes into its 50th record
        seg_b = full[2]
        off_b = records[seg_b][50][0]
        lost_b = {r[2] for r in records[seg_b][50:]}
        os.truncate(seg_b, off_b + 100)
        # 3. no cursor, 4. a garbage file named like a segment
        os.unlink(os.path.join(spool_dir, "cursor"))
        with open(os.path.join(spool_dir, "00000000000000aa.seg"), "wb") as f:
            f.write(bytes((i * 37) & 0xFF for i in range(3000)))
        # 5. a segment in the middle removed: its records are lost, by seq range
        self.assertGreaterEqual(len(full), 6, "expected more segments")
        seg_c = full[4]
        seqs_c = [r[2] for r in records[seg_c]]
        os.unlink(seg_c)
        expected = all_seqs - {seq_a} - lost_b - set(seqs_c)

        broker.start()
        sub = self.subscriber(broker.port, topics=("ioc/itest-agent/#",), qos=1, persistent=True)
        agent.write_config(agent.render(broker_url=broker.url, instances=[],
                                        mqtt_extra={"reconnect_max": 1}, sections=spool))
        agent.start()
        last = [0, time.monotonic()]

        def quiet():
            n = len(sub.messages())
            if n != last[0]:
                last[0], last[1] = n, time.monotonic()
            return n > 0 and time.monotonic() - last[1] >= QUIET_S
        self.assertTrue(it.wait_until(quiet, 60, interval=0.2))
        self.assertTrue(agent.running(), agent.log()[-3000:])

        is_sim = it.topic_prefix("ioc/itest-agent/sim-1/")
        sim_seqs = [m.json()["seq"] for m in sub.messages(is_sim)]
        got = set(sim_seqs)
        print("spooled %d, damaged away %d, delivered %d distinct (%d messages)"
              % (len(all_seqs), len(all_seqs) - len(expected), len(got), len(sim_seqs)))
        self.assertEqual(sorted(expected - got), [])
        self.assertEqual(sorted(got - expected), [])
        self.assertEqual(sim_seqs, sorted(sim_seqs), "delivered out of order")

        reports = [m.json() for m in sub.messages(it.topic_prefix(
            "ioc/itest-agent/_agent/event/agent/spool_corrupt"))]
        for r in reports:
            it.validate(r, "envelope")
        by_file = {os.path.basename(r["data"]["file"]): r["data"]["bytes_skipped"] for r in reports}
        print("agent.spool_corrupt:", by_file)
        name_a, name_b = os.path.basename(seg_a), os.path.basename(seg_b)
        aside_a = [f for f in by_file if f.startswith(name_a + ".") and f.endswith(".corrupt")]
        self.assertEqual(len(aside_a), 1)
        self.assertEqual(by_file[aside_a[0]], records[seg_a][10][1])
        self.assertEqual(by_file[name_b], 100)
        self.assertIn("cursor", by_file)
        self.assertTrue(any(f.startswith("00000000000000aa.seg.") for f in by_file))
        self.assertEqual(len(glob.glob(spool_dir + "/*.corrupt")), 2)
        missing = [r["data"] for r in reports
                   if os.path.basename(r["data"]["file"]) == os.path.basename(seg_c)]
        self.assertEqual(len(missing), 1, reports)
        self.assertEqual(missing[0]["lost_seq"], [min(seqs_c), max(seqs_c)])
        self.assertEqual(missing[0]["records_lost"], len(seqs_c))


if __name__ == "__main__":
    it.main()
