"""Records the broker will not take never stop the others (docs/events.md,
"Records the broker will not take").

A real mosquitto with `max_packet_size` refuses snapshots from the blobby
test plugin (BLOB_BYTES > LIMIT_BYTES) while a sim instance keeps emitting
small events. With MQTT 5 the agent learns the limit from the CONNACK; with
v3.1.1 it is given `mqtt.max_packet_size`, or it finds the record out because
the broker closes the connection right after it each time. In every case:
the small events all arrive in order, the status is published, each refused
snapshot is reported with agent.record_rejected, counted in the metrics and
kept in <state_dir>/rejected.seg.

Invariant: what the broker let through is read from a real subscriber; the
dead-letter file is parsed with the documented segment format.
"""

import os
import struct
import time

import ioca_test as t

AGENT = "itest-delivery"
LIMIT_BYTES = 2048
BLOB_BYTES = 4096
BLOB_INTERVAL_MS = 2000
TICK_RATE = 10.0
OBSERVE_S = 12.0
MIN_TICKS = 40
SEG_HDR_BYTES = 24
REC_HDR_BYTES = 30
SEG_MAGICS = (b"IOCASG01", b"IOCASG02")
FLAG_INSTANCE = 0x20
REC_MAGIC = 0xCA51
SETTLE_S = 2.0


def dead_letters(state_dir):
    """(seq, topic, payload length) of each record in rejected.seg."""
    path = os.path.join(state_dir, "rejected.seg")
    if not os.path.exists(path):
        return []
    with open(path, "rb") as f:
        data = f.read()
    assert data[:8] in SEG_MAGICS, data[:24]
    out, off = [], SEG_HDR_BYTES
    while off + REC_HDR_BYTES <= len(data):
        magic, flags, clen, body, seq, _ms, tlen = struct.unpack_from("<HBBIQqH", data, off)
        assert magic == REC_MAGIC, "bad record at %d" % off
        start = off + REC_HDR_BYTES
        ilen = 1 + data[start] if flags & FLAG_INSTANCE else 0
        topic = data[start + ilen:start + ilen + tlen].decode()
        out.append((seq, topic, body - ilen - tlen - clen))
        off += REC_HDR_BYTES + body
    return out


class DeliveryTest(t.AgentTestCase):

    def run_case(self, protocol, configured_limit):
        broker = self.broker(extra_lines=["max_packet_size %d" % LIMIT_BYTES])
        sub = self.subscriber(broker.port, topics=["ioc/#"])
        mqtt_extra = {"protocol": protocol}
        if configured_limit:
            mqtt_extra["max_packet_size"] = LIMIT_BYTES
        a = self.agent(agent_id=AGENT, broker_url=broker.url, mqtt_extra=mqtt_extra,
                       agent_extra={"metrics_interval": 2},
                       instances=[t.sim("s1", rate=TICK_RATE),
                                  {"name": "cam", "plugin": "blobby",
                                   "interval_ms": BLOB_INTERVAL_MS, "size": BLOB_BYTES}])
        tick_topic = t.event_topic(AGENT, "s1", "sim.tick")
        ticks = self.expect(sub, t.topic_is(tick_topic), OBSERVE_S + 10, count=MIN_TICKS,
                            what="small events past the refused snapshots")
        rej_topic = t.event_topic(AGENT, "_agent", "agent.record_rejected")
        rejected = self.expect(sub, t.topic_is(rej_topic), 20, count=2,
                               what="agent.record_rejected")
        snap_topic = "ioc/%s/cam/snapshot" % AGENT
        for m in rejected:
            t.validate(m.payload, "envelope")
            d = m.json()["data"]
            self.assertEqual(d["topic"], snap_topic, d)
            self.assertGreater(d["size"], BLOB_BYTES, d)
            if configured_limit or protocol == "v5":
                self.assertEqual(d["limit"], LIMIT_BYTES, d)
        # nothing else lost: every seq up to the last rejected one arrived or was
        # rejected (reports come in seq order after the record they name)
        time.sleep(SETTLE_S)
        rejected = sub.messages(t.topic_is(rej_topic))
        envelopes = sub.messages(lambda m: "/event/" in m.topic or m.topic.endswith("/telemetry"))
        rejected_seqs = {m.json()["data"]["seq"] for m in rejected}
        got = set(t.seqs_of(envelopes)) | rejected_seqs
        first = min(t.seqs_of(envelopes))
        missing = sorted(set(range(first, max(rejected_seqs) + 1)) - got)
        self.assertEqual(missing, [], "seqs neither delivered nor rejected")
        # once nothing is refused any more the connection stays up: the last status is online
        status_topic = "ioc/%s/status" % AGENT
        self.assertTrue(t.wait_until(lambda: sub.messages(t.topic_is(status_topic)) and
                                     sub.messages(t.topic_is(status_topic))[-1].json()["state"]
                                     == "online", 15), sub.messages(t.topic_is(status_topic)))
        metrics = self.expect(sub, lambda m: m.topic == "ioc/%s/metrics" % AGENT and
                              m.json()["mqtt"]["refused"] >= 2, 10, what="metrics with refused")
        t.validate(metrics[-1].payload, "metrics")
        self.assertEqual(sub.messages(t.topic_is(snap_topic)), [], "a snapshot got through")
        kept = dead_letters(a.state_dir)
        kept_seqs = {seq for seq, topic, n in kept if topic == snap_topic and n == BLOB_BYTES}
        self.assertTrue(rejected_seqs <= kept_seqs, (rejected_seqs, kept))
        return a, broker

    def test_v5_honours_the_brokers_maximum_packet_size(self):
        a, broker = self.run_case("v5", configured_limit=False)
        self.assertEqual(broker.log().count("New client connected from"), 2,  # agent + sub
                         "the agent reconnected")

    def test_v311_honours_the_configured_max_packet_size(self):
        a, broker = self.run_case("v311", configured_limit=True)
        self.assertEqual(broker.log().count("New client connected from"), 2,
                         "the agent reconnected")

    def test_v311_rejects_a_record_the_broker_closes_the_connection_on(self):
        a, broker = self.run_case("v311", configured_limit=False)
        self.assertIn("closed the connection right after record", a.log())

    def test_connection_loss_says_why(self):
        broker = self.broker()
        sub = self.subscriber(broker.port, topics=["ioc/#"])
        a = self.agent(agent_id=AGENT, broker_url=broker.url, instances=[t.sim("s1", rate=2.0)])
        self.expect(sub, t.topic_is(t.event_topic(AGENT, "s1", "sim.tick")), 10)
        # a second client with the agent's id takes its session over: the
        # broker sends DISCONNECT with reason code 0x8e
        thief = t.Subscriber(broker.port, topics=["nothing/here"], client_id=AGENT)
        self.addCleanup(thief.close)
        self.assertTrue(t.wait_until(lambda: "connection to" in a.log() and "lost" in a.log(), 10),
                        a.log()[-2000:])
        lost = [l for l in a.log().splitlines() if "lost:" in l]
        self.assertTrue(lost, a.log()[-2000:])
        self.assertNotIn("Unknown error", lost[0])
        # the code itself: an MQTT 5 reason code, or libmosquitto's error number
        self.assertRegex(lost[0], r"reason code 0x[0-9a-f]{2}|libmosquitto error \d+")


if __name__ == "__main__":
    t.main()
