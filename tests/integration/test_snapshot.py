"""Blobs (snapshots) end to end: the blobby test plugin emits an event and a
blob every 200 ms; the subscriber sees the exact bytes on .../snapshot with
the MQTT 5 content type image/jpeg and a user property "seq" one above the
announcing event's seq, retained only with snapshot_retain; JSON records
carry content type application/json and the configured message expiry.

Invariant: blob n's bytes are known exactly (see tests/plugins/blobby.c), so
any corruption or reordering on the way shows as a mismatch.
"""

import struct

import ioca_test as t

AGENT = "itest-blob"
BLOB_SIZE = 3000
MESSAGE_EXPIRY_S = 3600


def expected_blob(n, size=BLOB_SIZE):
    body = bytes(((n + i) & 0xff) for i in range(10, size - 2))
    return b"\xff\xd8" + struct.pack(">Q", n) + body + b"\xff\xd9"


def user_props(m):
    return dict(getattr(m.properties, "UserProperty", []) or [])


class SnapshotTest(t.AgentTestCase):

    def run_agent(self, broker, retain):
        return self.agent(broker_url=broker.url, agent_id=AGENT,
                          mqtt_extra={"message_expiry": MESSAGE_EXPIRY_S},
                          instances=[{"name": "cam", "plugin": "blobby", "interval_ms": 200,
                                      "size": BLOB_SIZE, "snapshot_retain": retain}])

    def test_blob_bytes_content_type_and_seq(self):
        broker = self.broker()
        sub = self.subscriber(broker.port, topics=["ioc/#"])
        self.run_agent(broker, retain=False)
        snap_topic = "ioc/%s/cam/snapshot" % AGENT
        ev_topic = t.event_topic(AGENT, "cam", "blobby.snap")
        blobs = self.expect(sub, t.topic_is(snap_topic), 10, count=5, what="snapshots")
        events = {m.json()["data"]["n"]: m for m in sub.messages(t.topic_is(ev_topic))}
        for blob in blobs:
            n = struct.unpack(">Q", blob.payload[2:10])[0]
            self.assertEqual(blob.payload, expected_blob(n), "blob %d corrupted" % n)
            self.assertFalse(blob.retain)
            self.assertEqual(blob.properties.ContentType, "image/jpeg")
            seq = int(user_props(blob)["seq"])
            self.assertIn(n, events, "no blobby.snap event for blob %d" % n)
            ev = t.validate(events[n].payload, "envelope")
            self.assertEqual(seq, ev["seq"] + 1, "blob seq is not right after its event's")
        ns = [struct.unpack(">Q", b.payload[2:10])[0] for b in blobs]
        self.assertEqual(ns, list(range(ns[0], ns[0] + len(ns))), "blobs lost or reordered")
        for m in events.values():
            self.assertEqual(m.properties.ContentType, "application/json")
            expiry = m.properties.MessageExpiryInterval
            self.assertTrue(0 < expiry <= MESSAGE_EXPIRY_S, expiry)

    def test_snapshot_retain(self):
        broker = self.broker()
        sub = self.subscriber(broker.port, topics=["ioc/#"])
        a = self.run_agent(broker, retain=True)
        snap_topic = "ioc/%s/cam/snapshot" % AGENT
        self.expect(sub, t.topic_is(snap_topic), 10, count=2, what="snapshots")
        a.terminate()
        self.assertEqual(a.wait(6), 0)
        late = self.subscriber(broker.port, topics=[snap_topic])
        got = self.expect(late, t.topic_is(snap_topic), 5, what="retained snapshot")
        self.assertTrue(got[0].retain)
        n = struct.unpack(">Q", got[0].payload[2:10])[0]
        self.assertEqual(got[0].payload, expected_blob(n))
        last = max(struct.unpack(">Q", m.payload[2:10])[0]
                   for m in sub.messages(t.topic_is(snap_topic)))
        self.assertEqual(n, last, "the retained snapshot is not the latest one")


if __name__ == "__main__":
    t.main()
