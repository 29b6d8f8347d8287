"""Remote commands against a real mosquitto, sent by a paho client (not our
code): MQTT 5 request/response with Response Topic and Correlation Data, the
v3.1.1 form with reply_to in the payload, every kind of refusal answered with
a reason and counted, replays and stale requests refused, restart and reload
carried out, and a flood of bad requests that runs nothing and crashes nothing.

Invariant: every request is signed the way docs/commands.md tells a client to
(Python's hmac module over name, request id, time and the compact args).
"""

import hashlib
import hmac
import json
import os
import statistics
import threading
import time
import uuid

import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

import ioca_test as t

AGENT = "itest-cmd"
KEY = b"k3y-for-the-command-tests-0123456789"
CMD = "ioc/%s/cmd/" % AGENT


def sign(name, request_id, time_ms, args, key=KEY):
    args_text = json.dumps(args, separators=(",", ":")) if args is not None else "{}"
    msg = ("%s\n%s\n%d\n" % (name, request_id, time_ms)).encode() + args_text.encode()
    return hmac.new(key, msg, hashlib.sha256).hexdigest()


def request(name, args=None, *, request_id=None, time_ms=None, key=KEY, reply_to=None,
            unsigned=False):
    request_id = request_id or uuid.uuid4().hex[:16]
    time_ms = int(time.time() * 1000) if time_ms is None else time_ms
    body = {"request_id": request_id, "time": time_ms}
    if args is not None:
        body["args"] = args
    if reply_to:
        body["reply_to"] = reply_to
    if not unsigned:
        body["hmac"] = sign(name, request_id, time_ms, args, key)
    return request_id, json.dumps(body, separators=(",", ":"))


class Requester:
    """A paho client that sends requests and collects replies by correlation."""

    def __init__(self, port, protocol):
        self.protocol = protocol
        self.reply_topic = "itest/replies/%s" % uuid.uuid4().hex[:8]
        self.replies = {}
        self.cond = threading.Condition()
        self.ready = threading.Event()
        self.client = mqtt.Client(client_id="itest-req-%s" % uuid.uuid4().hex[:8],
                                  protocol=protocol)
        self.client.on_connect = self._on_connect
        self.client.on_subscribe = lambda *a, **k: self.ready.set()
        self.client.on_message = self._on_message
        self.client.connect("127.0.0.1", port, keepalive=10)
        self.client.loop_start()
        assert self.ready.wait(10), "requester could not subscribe"

    def _on_connect(self, client, userdata, flags, rc, properties=None):
        client.subscribe(self.reply_topic, qos=1)

    def _on_message(self, client, userdata, msg):
        body = json.loads(msg.payload)
        corr = None
        if self.protocol == mqtt.MQTTv5 and hasattr(msg.properties, "CorrelationData"):
            corr = msg.properties.CorrelationData
        with self.cond:
            entry = (body, corr, time.monotonic())
            self.replies[body.get("request_id")] = entry
            if corr:
                self.replies[corr.decode(errors="replace")] = entry
            self.cond.notify_all()

    def send(self, name, payload, correlation=None):
        props = None
        if self.protocol == mqtt.MQTTv5:
            props = Properties(PacketTypes.PUBLISH)
            props.ResponseTopic = self.reply_topic
            if correlation is not None:
                props.CorrelationData = correlation
        self.client.publish(CMD + name, payload, qos=1, properties=props)

    def wait(self, request_id, timeout=10):
        deadline = time.monotonic() + timeout
        with self.cond:
            while request_id not in self.replies:
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                self.cond.wait(left)
            return self.replies[request_id]

    def close(self):
        self.client.loop_stop()
        self.client.disconnect()


class CommandsTest(t.AgentTestCase):

    def start_agent(self, broker, protocol="v5", enabled=("status", "ping", "restart", "reload"),
                    agent_extra=None):
        key_file = os.path.join(self.tmp, "cmd.key")
        with open(key_file, "wb") as f:
            f.write(KEY + b"\n")
        os.chmod(key_file, 0o600)
        a = self.agent(broker_url=broker.url, agent_id=AGENT,
                       instances=[t.sim("s1", rate=5.0)],
                       mqtt_extra={"protocol": protocol}, agent_extra=agent_extra,
                       sections={"commands": {"enabled": list(enabled), "key_file": key_file}})
        a.wait_log("ready:", 10)
        return a

    def requester(self, broker, protocol):
        r = Requester(broker.port, protocol)
        self.addCleanup(r.close)
        # the agent subscribes on connect: wait until a ping is answered
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            rid, p = request("ping")
            r.send("ping", p, correlation=b"warmup")
            if r.wait(rid, 1.0):
                return r
        self.fail("the agent never answered a ping")

    def test_v5_status_round_trip_and_correlation(self):
        broker = self.broker()
        self.start_agent(broker)
        r = self.requester(broker, mqtt.MQTTv5)
        times = []
        for i in range(30):
            rid, p = request("status")
            sent = time.monotonic()
            r.send("status", p, correlation=b"corr-%d" % i)
            got = r.wait(rid)
            self.assertIsNotNone(got, "no status reply")
            body, corr, arrived = got
            times.append((arrived - sent) * 1000)
            self.assertTrue(body["ok"], body)
            self.assertEqual(corr, b"corr-%d" % i)
            self.assertEqual(body["result"]["agent"], AGENT)
            inst = {i["name"]: i for i in body["result"]["instances"]}
            self.assertIn("s1", inst)
        # the sim instance has delivered by now: its last message time is known
        self.assertIsNotNone(inst["s1"]["last_message"])
        print("status round trip: median %.1f ms over %d" % (statistics.median(times),
                                                            len(times)))

    def test_v311_reply_to(self):
        broker = self.broker()
        self.start_agent(broker, protocol="v311")
        r = Requester(broker.port, mqtt.MQTTv311)
        self.addCleanup(r.close)
        deadline = time.monotonic() + 10
        got = None
        while time.monotonic() < deadline and not got:
            rid, p = request("ping", reply_to=r.reply_topic)
            r.send("ping", p)
            got = r.wait(rid, 1.0)
        self.assertIsNotNone(got, "no reply on reply_to")
        self.assertTrue(got[0]["ok"])
        self.assertEqual(got[0]["command"], "ping")

    def test_refusals_have_reasons_and_are_counted(self):
        broker = self.broker()
        a = self.start_agent(broker, enabled=("ping", "status"))
        r = self.requester(broker, mqtt.MQTTv5)
        cases = []
        rid, p = request("ping", unsigned=True)
        cases.append(("ping", rid, p, "unauthorized"))
        rid, p = request("ping", key=b"not-the-key-not-the-key")
        cases.append(("ping", rid, p, "unauthorized"))
        rid, p = request("ping", time_ms=int(time.time() * 1000) - 120000)
        cases.append(("ping", rid, p, "expired"))
        rid, p = request("restart", {"instance": "s1"})
        cases.append(("restart", rid, p, "disabled"))
        rid, p = request("selfdestruct")
        cases.append(("selfdestruct", rid, p, "unknown_command"))
        rid = "big-1"
        cases.append(("ping", rid, json.dumps({"request_id": rid, "pad": "x" * 8000}), "too_large"))
        rid = "bad-1"
        cases.append(("ping", rid, '{"request_id":"bad-1","time":"yesterday"}', "malformed"))
        for name, rid, p, _ in cases:
            r.send(name, p, correlation=rid.encode())
        for name, rid, p, reason in cases:
            got = r.wait(rid)
            self.assertIsNotNone(got, "no reply for %s (%s)" % (rid, reason))
            self.assertFalse(got[0]["ok"])
            self.assertEqual(got[0]["error"], reason, got[0])
        # a replay of an accepted request
        rid, p = request("ping")
        r.send("ping", p)
        self.assertTrue(r.wait(rid)[0]["ok"])
        del r.replies[rid]
        r.send("ping", p)
        got = r.wait(rid)
        self.assertEqual(got[0]["error"], "replayed")
        self.assertTrue(a.running())

    def test_restart_and_reload(self):
        broker = self.broker()
        a = self.start_agent(broker)
        r = self.requester(broker, mqtt.MQTTv5)
        sub = self.subscriber(broker.port, topics=["ioc/%s/_agent/#" % AGENT])
        before = a.worker_pid("s1")
        rid, p = request("restart", {"instance": "s1"})
        r.send("restart", p)
        got = r.wait(rid)
        self.assertTrue(got[0]["ok"], got)
        self.assertTrue(t.wait_until(lambda: a.worker_pid("s1") not in (None, before), 10),
                        "s1 was not restarted")
        rid, p = request("restart", {"instance": "nope"})
        r.send("restart", p)
        got = r.wait(rid)
        self.assertEqual(got[0]["error"], "failed")
        # a deliberate restart is not a failure
        time.sleep(1)
        self.assertEqual(sub.messages(t.topic_prefix("ioc/%s/_agent/event/agent/instance_failed"
                                                     % AGENT)), [])
        # reload: an added instance starts, and the reply says it was applied
        a.write_config(a.render(broker_url=broker.url,
                                instances=[t.sim("s1", rate=5.0), t.sim("s2", rate=5.0)],
                                sections={"commands": {"enabled": ["reload", "ping"],
                                                       "key_file": os.path.join(self.tmp,
                                                                                "cmd.key")}}))
        rid, p = request("reload")
        r.send("reload", p)
        got = r.wait(rid)
        self.assertTrue(got[0]["ok"], got)
        self.assertTrue(got[0]["result"]["applied"])
        self.assertTrue(t.wait_until(lambda: a.worker_pid("s2") is not None, 10))

    def test_flood_of_bad_requests(self):
        broker = self.broker()
        a = self.start_agent(broker, agent_extra={"metrics_interval": 2})
        r = self.requester(broker, mqtt.MQTTv5)
        metrics_sub = self.subscriber(broker.port, topics=["ioc/%s/metrics" % AGENT])
        ids = []
        for i in range(1000):
            rid = "flood-%d" % i
            kind = i % 4
            if kind == 0:
                _, p = request("restart", {"instance": "s1"}, request_id=rid, unsigned=True)
            elif kind == 1:
                _, p = request("restart", {"instance": "s1"}, request_id=rid,
                               key=b"wrong-key-wrong-key")
            elif kind == 2:
                p = '{"request_id":"%s","time":1,"args":[' % rid
            else:
                p = '{"request_id":"%s","time":%d,"hmac":"zz"}' % (rid, time.time() * 1000)
            ids.append(rid)
            # MQTT 5: even an unreadable request is answered, by correlation data
            r.send("restart", p, correlation=rid.encode())
        before = a.worker_pid("s1")
        answered = [i for i in ids if r.wait(i, 20)]
        self.assertEqual(len(answered), 1000)
        self.assertTrue(all(not r.replies[i][0]["ok"] for i in answered))
        self.assertEqual(a.worker_pid("s1"), before, "a bad request restarted an instance")
        self.assertTrue(a.running())
        # every one is counted in the metrics; only the warm-up pings ran
        oks = len({id(e) for e in r.replies.values() if e[0]["ok"]})
        metrics_sub.clear()

        def counted():
            got = metrics_sub.messages(t.topic_is("ioc/%s/metrics" % AGENT))
            return got and sum(got[-1].json()["commands"]["refused"].values()) >= 1000

        self.assertTrue(t.wait_until(counted, 15), "refusals not counted in metrics")
        last = metrics_sub.messages(t.topic_is("ioc/%s/metrics" % AGENT))[-1]
        cm = t.validate(last.payload, "metrics")["commands"]
        self.assertEqual(cm["executed"], oks)
        self.assertEqual(sum(cm["refused"].values()), 1000)


if __name__ == "__main__":
    t.main()
