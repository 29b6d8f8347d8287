"""Failover to another node of a clustered provincial broker tier (c): RabbitMQ
3.10 from Debian with its MQTT plugin (MQTT 3.1.1, so the agent runs with
protocol = "v311"), three nodes on loopback. The agent lists node 1 then
node 2 in mqtt.brokers; a persistent subscriber (clean session off, QoS 1) is
on node 2; node 1 is stopped under 50 events/s: the agent moves to node 2 and
the subscriber has every seq.

Three nodes, not two: the 3.10 MQTT plugin tracks client IDs in a Raft
cluster of the nodes, which needs a majority of them to register a new
connection. With three, stopping node 1 leaves a majority; with two (tried:
node 2 still accepted the agent) the tracker is left without one, a state
the test should not depend on.

Invariant: everything the test starts (epmd on a private port, the nodes,
their Mnesia, logs and Erlang cookie) lives in the test's temporary directory
and is stopped by process group at cleanup; nodes form the cluster through the
classic_config peer discovery (node 1 first, then nodes 2 and 3 join it at
boot), with no rabbitmqctl call.
"""

import json
import os
import shutil
import signal
import subprocess
import threading
import time
import unittest

import paho.mqtt.client as mqtt

import ioca_test as t

AGENT = "itest-cluster"
RATE = 50.0
NODES = 3
RABBITMQ_SERVER = "/usr/lib/rabbitmq/bin/rabbitmq-server"
EPMD = shutil.which("epmd") or "/usr/bin/epmd"
COOKIE = "ioca-itest-cluster-cookie"
BOOT_TIMEOUT_S = 120.0
MOVE_TIMEOUT_S = 30.0
AFTER_MOVE_S = 3.0
DRAIN_TIMEOUT_S = 20.0
NODE_STOP_TIMEOUT_S = 30.0


def wait_port(port, timeout, proc):
    """True once something accepts on 127.0.0.1:port; raises if proc exits first."""
    def accepts():
        if proc.poll() is not None:
            raise RuntimeError("process exited with %s" % proc.returncode)
        return t.port_open(port)
    return bool(t.wait_until(accepts, timeout))


class Cluster:
    """Three RabbitMQ nodes rabbitN@localhost sharing a private epmd and cookie."""

    def __init__(self, workdir):
        self.dir = os.path.join(workdir, "rabbitmq")
        self.home = os.path.join(self.dir, "home")
        os.makedirs(self.home)
        cookie = os.path.join(self.home, ".erlang.cookie")
        with open(cookie, "w") as f:
            f.write(COOKIE)
        os.chmod(cookie, 0o400)
        self.epmd_port = t.free_port()
        self.env_file = os.path.join(self.dir, "rabbitmq-env.conf")
        open(self.env_file, "w").close()
        self.procs = {}
        self.epmd = None
        self.nodes = []
        for i in range(1, NODES + 1):
            self.nodes.append({"name": "rabbit%d@localhost" % i, "mqtt": t.free_port(),
                               "amqp": t.free_port(), "dist": t.free_port(),
                               "dir": os.path.join(self.dir, "n%d" % i)})

    def env(self):
        env = {k: v for k, v in os.environ.items() if not k.startswith(("RABBITMQ_", "ERL_"))}
        env.update(HOME=self.home, ERL_EPMD_PORT=str(self.epmd_port),
                   RABBITMQ_CONF_ENV_FILE=self.env_file)
        return env

    def start_epmd(self):
        self.epmd = subprocess.Popen([EPMD, "-port", str(self.epmd_port)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                     env=self.env(), start_new_session=True)
        if not wait_port(self.epmd_port, 10, self.epmd):
            raise RuntimeError("epmd did not listen on port %d" % self.epmd_port)

    def start_node(self, i):
        n = self.nodes[i - 1]
        os.makedirs(n["dir"])
        conf = os.path.join(n["dir"], "rabbitmq.conf")
        lines = ["listeners.tcp.default = 127.0.0.1:%d" % n["amqp"],
                 "mqtt.listeners.tcp.default = 127.0.0.1:%d" % n["mqtt"],
                 "mqtt.allow_anonymous = true",
                 "disk_free_limit.absolute = 1MB",
                 "cluster_formation.peer_discovery_backend = classic_config"]
        lines += ["cluster_formation.classic_config.nodes.%d = %s" % (k + 1, o["name"])
                  for k, o in enumerate(self.nodes)]
        with open(conf, "w") as f:
            f.write("\n".join(lines) + "\n")
        plugins = os.path.join(n["dir"], "enabled_plugins")
        with open(plugins, "w") as f:
            f.write("[rabbitmq_mqtt].\n")
        env = self.env()
        env.update(RABBITMQ_NODENAME=n["name"], RABBITMQ_NODE_IP_ADDRESS="127.0.0.1",
                   RABBITMQ_NODE_PORT=str(n["amqp"]), RABBITMQ_DIST_PORT=str(n["dist"]),
                   RABBITMQ_CONFIG_FILE=conf, RABBITMQ_ENABLED_PLUGINS_FILE=plugins,
                   RABBITMQ_MNESIA_BASE=os.path.join(n["dir"], "mnesia"),
                   RABBITMQ_LOG_BASE=os.path.join(n["dir"], "log"))
        out = open(os.path.join(n["dir"], "stdout.log"), "wb")
        self.procs[i] = subprocess.Popen([RABBITMQ_SERVER], stdout=out, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL, env=env, cwd=n["dir"],
                                         start_new_session=True)
        out.close()

    def wait_node(self, i):
        n = self.nodes[i - 1]
        if not wait_port(n["mqtt"], BOOT_TIMEOUT_S, self.procs[i]):
            raise RuntimeError("%s: no MQTT listener within %.0f s; see %s" %
                               (n["name"], BOOT_TIMEOUT_S, n["dir"]))

    def port(self, i):
        return self.nodes[i - 1]["mqtt"]

    def url(self, i):
        return "mqtt://127.0.0.1:%d" % self.port(i)

    def stop_node(self, i):
        """Graceful stop (SIGTERM: rabbitmq-server stops the node), as an operator would."""
        p = self.procs[i]
        p.send_signal(signal.SIGTERM)
        try:
            p.wait(NODE_STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self._kill_group(p)

    @staticmethod
    def _kill_group(p):
        try:
            os.killpg(p.pid, signal.SIGKILL)
        except OSError:
            pass
        try:
            p.wait(10)
        except subprocess.TimeoutExpired:
            pass

    def close(self):
        for p in self.procs.values():
            self._kill_group(p)
        if self.epmd:
            self._kill_group(self.epmd)


class V311Subscriber:
    """A paho MQTT 3.1.1 client with a persistent session (clean session off,
    QoS 1) collecting the seq of every event (the sim's and the agent's own: all take
    seqs from one counter, so a gap among them is a loss)."""

    def __init__(self, port, topic, client_id):
        self.lock = threading.Lock()
        self.seqs = set()
        self.subscribed = threading.Event()
        self.client = mqtt.Client(client_id=client_id, clean_session=False,
                                  protocol=mqtt.MQTTv311)
        self.client.on_connect = lambda c, u, f, rc: rc == 0 and c.subscribe(topic, 1)
        self.client.on_subscribe = lambda c, u, mid, granted: self.subscribed.set()
        self.client.on_message = self._on_message
        self.client.reconnect_delay_set(min_delay=1, max_delay=1)
        self.client.connect("127.0.0.1", port, keepalive=10)
        self.client.loop_start()
        if not self.subscribed.wait(t.START_TIMEOUT_S):
            self.close()
            raise RuntimeError("subscriber could not subscribe on port %d" % port)

    def _on_message(self, client, userdata, msg):
        if "/event/" not in msg.topic:
            return
        seq = json.loads(msg.payload.decode("utf-8"))["seq"]
        with self.lock:
            self.seqs.add(seq)

    def snapshot(self):
        with self.lock:
            return set(self.seqs)

    def close(self):
        try:
            self.client.disconnect()
        except Exception:  # noqa: BLE001 - best effort in cleanup
            pass
        self.client.loop_stop()


@unittest.skipUnless(os.access(RABBITMQ_SERVER, os.X_OK), "rabbitmq-server not installed")
class ClusterFailoverTest(t.AgentTestCase):

    def test_c_node_stopped_agent_moves_to_the_next_node(self):
        cluster = Cluster(self.tmp)
        self.addCleanup(cluster.close)
        cluster.start_epmd()
        cluster.start_node(1)
        cluster.wait_node(1)
        for i in range(2, NODES + 1):
            cluster.start_node(i)
        for i in range(2, NODES + 1):
            cluster.wait_node(i)
        sub = V311Subscriber(cluster.port(2), "ioc/%s/#" % AGENT, "itest-cluster-sub")
        self.addCleanup(sub.close)
        a = self.agent(brokers=[cluster.url(1), cluster.url(2)], agent_id=AGENT,
                       instances=[t.sim("s1", rate=RATE)],
                       mqtt_extra={"protocol": "v311", "keepalive": 5, "reconnect_min": 1,
                                   "reconnect_max": 2})
        # publishing to node 1 reaches the queue on node 2: the nodes are one cluster
        self.assertTrue(t.wait_until(lambda: len(sub.snapshot()) >= 2 * RATE, 20),
                        "events published to node 1 did not reach the subscriber on node 2")
        before = max(sub.snapshot())
        stopped_at = time.monotonic()
        cluster.stop_node(1)
        self.assertTrue(a.wait_log("connected to %s" % cluster.url(2), MOVE_TIMEOUT_S),
                        "the agent did not move to node 2")
        moved_s = time.monotonic() - stopped_at
        self.assertTrue(t.wait_until(lambda: max(sub.snapshot()) > before + RATE,
                                     MOVE_TIMEOUT_S), "no events through node 2 after the move")
        time.sleep(AFTER_MOVE_S)  # load goes on through node 2
        a.stop()
        t.wait_until(lambda: self._complete(sub.snapshot()), DRAIN_TIMEOUT_S)
        seqs = sub.snapshot()
        self.assertTrue(seqs)
        missing = sorted(set(range(min(seqs), max(seqs) + 1)) - seqs)
        self.assertEqual(missing, [], "%d seqs lost through the cluster" % len(missing))
        self.assertGreater(max(seqs), before + RATE, "the load stopped at the failover")
        print("%d events, node 1 stopped at seq %d, agent on node 2 %.1f s after the stop "
              "began, 0 lost" % (len(seqs), before, moved_s))

    @staticmethod
    def _complete(seqs):
        return bool(seqs) and len(seqs) == max(seqs) - min(seqs) + 1


if __name__ == "__main__":
    t.main()
