"""Test library of the iocagent integration tests: real parts on loopback.

What it gives a test:
  free_port()              a free TCP port on 127.0.0.1
  make_certs(dir)          CA, server (127.0.0.1), client and an unrelated CA, by the openssl CLI
  Broker                   a real mosquitto with a generated config (plain, TLS, mutual TLS,
                           persistence), started/stopped/killed by PID
  Agent                    the agent binary ($IOCA_BINARY) with a generated config, stderr in a file
  Subscriber               a paho MQTT v5 client collecting every message with its arrival time
  validate(obj, name)      JSON Schema check against docs/schema/<name>.json
  config_text(...)         libconfig text from Python values

Invariant: everything a test starts lives in one temporary directory and is
stopped by PID (never by name) when the test's cleanup runs, even after a
failure; nothing listens anywhere but 127.0.0.1.

Environment (set by ctest through ioca_add_py_test): IOCA_BINARY,
IOCA_PLUGIN_DIR, IOCA_SOURCE_DIR, IOCA_BUILD_DIR. For debugging:
IOCA_KEEP_TMP=1 keeps the temporary directory (configs, agent and broker
logs), IOCA_SHOW_LOG=1 prints the tail of each agent's log after a test.

Run one file by hand from a build folder B:
  IOCA_BINARY=B/agent/iocagent IOCA_PLUGIN_DIR=B/plugins \
  PYTHONPATH=tests/integration /usr/bin/python3 tests/integration/test_events.py
"""

import calendar
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import unittest

import jsonschema
import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.subscribeoptions import SubscribeOptions

SOURCE_DIR = os.environ.get(
    "IOCA_SOURCE_DIR",
    os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..")))
BUILD_DIR = os.environ.get("IOCA_BUILD_DIR", "")
BINARY = os.environ.get("IOCA_BINARY", "")
PLUGIN_DIR = os.environ.get("IOCA_PLUGIN_DIR", "")
MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"

START_TIMEOUT_S = 10.0
EPHEMERAL_LOW_DEFAULT = 32768
FREE_PORT_SPAN = 12000
FREE_PORT_TRIES = 200
STOP_TIMEOUT_S = 10.0
POLL_INTERVAL_S = 0.05


# --------------------------------------------------------------------------
# Small helpers
# --------------------------------------------------------------------------

def free_port():
    """A TCP port on 127.0.0.1 that nothing uses right now, taken below the
    kernel's ephemeral range: a test that stops a server and starts it again on
    the same port must not find it taken by some client connection meanwhile."""
    low = EPHEMERAL_LOW_DEFAULT
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            low = int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        pass
    first = max(1024, low - FREE_PORT_SPAN)
    for _ in range(FREE_PORT_TRIES):
        port = random.randrange(first, low)
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            try:
                s.bind(("127.0.0.1", port))
                return port
            except OSError:
                continue
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(predicate, timeout, interval=POLL_INTERVAL_S):
    """Poll predicate() until it returns a true value (returned) or timeout (None)."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            return None
        time.sleep(interval)


def port_open(port, host="127.0.0.1"):
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def require_binary(testcase):
    """Skip unless $IOCA_BINARY names an executable."""
    if not BINARY or not os.access(BINARY, os.X_OK):
        testcase.skipTest("IOCA_BINARY is not set or not executable (%r)" % BINARY)


def binary_is_sanitized():
    """True when $IOCA_BINARY is built with AddressSanitizer (-DIOCA_SANITIZE=ON)."""
    r = subprocess.run(["ldd", BINARY], capture_output=True, text=True, timeout=20)
    return "libasan" in r.stdout


def run_binary(args, timeout=20, env=None):
    """Run the agent binary to completion: CompletedProcess with text stdout/stderr."""
    return subprocess.run([BINARY] + list(args), capture_output=True, text=True,
                          timeout=timeout, env=env)


# --------------------------------------------------------------------------
# libconfig rendering
# --------------------------------------------------------------------------

def _value(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        text = repr(v)
        return text if ("." in text or "e" in text) else text + ".0"
    if isinstance(v, str):
        return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(v, dict):
        return "{ " + " ".join("%s = %s;" % (k, _value(x)) for k, x in v.items()) + " }"
    if isinstance(v, (list, tuple)):
        if v and all(isinstance(x, dict) for x in v):
            return "(\n    " + ",\n    ".join(_value(x) for x in v) + "\n  )"
        return "[ " + ", ".join(_value(x) for x in v) + " ]"
    raise TypeError("cannot render %r in libconfig" % (v,))


def config_text(agent, mqtt_cfg, instances, extra_sections=None):
    """libconfig text: agent = {...}; mqtt = {...}; [sections]; instances = (...)."""
    out = ["agent: %s;" % _value(agent), "mqtt: %s;" % _value(mqtt_cfg)]
    for name, section in (extra_sections or {}).items():
        out.append("%s: %s;" % (name, _value(section)))
    if instances:
        out.append("instances = %s;" % _value(list(instances)))
    else:
        out.append("instances = ( );")
    return "\n".join(out) + "\n"


# --------------------------------------------------------------------------
# Certificates
# --------------------------------------------------------------------------

def _openssl(args, cwd):
    subprocess.run(["openssl"] + args, cwd=cwd, check=True, capture_output=True, timeout=30)


def _make_ca(d, name):
    _openssl(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
              "-nodes", "-days", "2", "-subj", "/CN=%s" % name,
              "-addext", "basicConstraints=critical,CA:TRUE",
              "-addext", "keyUsage=critical,keyCertSign,cRLSign",
              "-keyout", name + ".key", "-out", name + ".crt"], d)


def _make_leaf(d, name, ca, ext):
    _openssl(["req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
              "-subj", "/CN=%s" % name, "-keyout", name + ".key", "-out", name + ".csr"], d)
    with open(os.path.join(d, name + ".ext"), "w") as f:
        f.write(ext)
    _openssl(["x509", "-req", "-in", name + ".csr", "-CA", ca + ".crt", "-CAkey", ca + ".key",
              "-CAcreateserial", "-days", "2", "-extfile", name + ".ext",
              "-out", name + ".crt"], d)


def make_certs(d):
    """CA + server cert for 127.0.0.1 + client cert + an unrelated CA, in directory d.

    Returns a dict of absolute paths: ca, server_cert, server_key, client_cert,
    client_key, other_ca, other_client_cert, other_client_key (a client cert
    signed by the unrelated CA).
    """
    os.makedirs(d, exist_ok=True)
    _make_ca(d, "ca")
    _make_ca(d, "otherca")
    _make_leaf(d, "server", "ca", "subjectAltName=IP:127.0.0.1,DNS:localhost\n"
               "extendedKeyUsage=serverAuth\n")
    _make_leaf(d, "client", "ca", "extendedKeyUsage=clientAuth\n")
    _make_leaf(d, "otherclient", "otherca", "extendedKeyUsage=clientAuth\n")
    p = lambda n: os.path.join(d, n)  # noqa: E731
    return {"ca": p("ca.crt"), "server_cert": p("server.crt"), "server_key": p("server.key"),
            "client_cert": p("client.crt"), "client_key": p("client.key"),
            "other_ca": p("otherca.crt"), "other_client_cert": p("otherclient.crt"),
            "other_client_key": p("otherclient.key")}


# --------------------------------------------------------------------------
# Broker
# --------------------------------------------------------------------------

class Broker:
    """A real mosquitto on 127.0.0.1 with a generated config in `workdir`.

    port: plain listener. With certs (from make_certs): tls_port, a TLS
    listener; mutual=True makes it require a client certificate signed by the
    CA. persistence=True keeps sessions and queued messages across restart()
    (the broker runs as `user root` so it can use the private temp dir).
    users={name: password}: anonymous clients are refused and these are the
    only accounts (password file made by mosquitto_passwd).
    """

    def __init__(self, workdir, certs=None, mutual=False, persistence=False, users=None,
                 extra_lines=()):
        self.dir = os.path.join(workdir, "broker-%d" % free_port())
        self.extra_lines = list(extra_lines)
        os.makedirs(self.dir)
        self.port = free_port()
        self.tls_port = free_port() if certs else None
        self.certs = certs
        self.mutual = mutual
        self.persistence = persistence
        self.users = dict(users or {})
        self.conf_path = os.path.join(self.dir, "mosquitto.conf")
        self.log_path = os.path.join(self.dir, "mosquitto.log")
        self.proc = None
        self._write_config()

    def _write_config(self):
        # user root: mosquitto otherwise drops to its own user and cannot read
        # the certificates or write persistence in the private temp dir
        lines = ["user root", "per_listener_settings false",
                 "allow_anonymous %s" % ("false" if self.users else "true"),
                 "log_dest file %s" % self.log_path, "log_type all",
                 "log_timestamp_format %H:%M:%S",
                 "max_queued_messages 100000", "max_inflight_messages 0",
                 # no Nagle delay on small packets: latencies measured are the agent's
                 "set_tcp_nodelay true",
                 "listener %d 127.0.0.1" % self.port]
        if self.certs:
            lines += ["listener %d 127.0.0.1" % self.tls_port,
                      "cafile %s" % self.certs["ca"],
                      "certfile %s" % self.certs["server_cert"],
                      "keyfile %s" % self.certs["server_key"],
                      "require_certificate %s" % ("true" if self.mutual else "false")]
        if self.users:
            pwfile = os.path.join(self.dir, "passwd")
            for i, (name, password) in enumerate(self.users.items()):
                subprocess.run(["mosquitto_passwd", "-b"] + (["-c"] if i == 0 else []) +
                               [pwfile, name, password], check=True, capture_output=True,
                               timeout=30)
            lines += ["password_file %s" % pwfile]
        if self.persistence:
            lines += ["persistence true", "persistence_location %s/" % self.dir,
                      "autosave_interval 1"]
        else:
            lines += ["persistence false"]
        lines += self.extra_lines  # e.g. a bridge: "connection ..." and its settings go last
        with open(self.conf_path, "w") as f:
            f.write("\n".join(lines) + "\n")

    @property
    def url(self):
        return "mqtt://127.0.0.1:%d" % self.port

    @property
    def tls_url(self):
        return "mqtts://127.0.0.1:%d" % self.tls_port

    @property
    def pid(self):
        return self.proc.pid if self.proc else None

    def start(self):
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen([MOSQUITTO, "-c", self.conf_path], stdout=log,
                                     stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        log.close()
        ports = [self.port] + ([self.tls_port] if self.tls_port else [])
        if not wait_until(lambda: all(port_open(p) for p in ports) or self.proc.poll() is not None,
                          START_TIMEOUT_S) or self.proc.poll() is not None:
            raise RuntimeError("mosquitto did not start:\n" + self.log())
        return self

    def _signal_and_wait(self, sig):
        if not self.proc or self.proc.poll() is not None:
            return
        os.kill(self.proc.pid, sig)
        try:
            self.proc.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(STOP_TIMEOUT_S)

    def stop(self):
        """SIGTERM (saves persistence) and wait."""
        self._signal_and_wait(signal.SIGTERM)

    def kill(self):
        self._signal_and_wait(signal.SIGKILL)

    def restart(self, down_s=0.0):
        """Stop, stay down for down_s seconds, start again on the same ports."""
        self.stop()
        time.sleep(down_s)
        return self.start()

    def log(self):
        try:
            with open(self.log_path, errors="replace") as f:
                return f.read()
        except OSError:
            return ""


# --------------------------------------------------------------------------
# Agent
# --------------------------------------------------------------------------

class Agent:
    """The agent binary under test, with its config and state in `workdir`.

    Either pass `text` (a whole config; "{state_dir}" and "{plugin_dir}" in it
    are replaced), or keyword arguments: broker_url(s), instances (list of
    dicts, each a libconfig group), agent_id, and dicts agent_extra /
    mqtt_extra / sections merged into the generated sections.
    """

    def __init__(self, workdir, text=None, *, broker_url=None, brokers=None, instances=(),
                 agent_id="itest-agent", agent_extra=None, mqtt_extra=None, sections=None,
                 name="agent"):
        self.dir = os.path.join(workdir, name)
        os.makedirs(self.dir, exist_ok=True)
        self.state_dir = os.path.join(self.dir, "state")
        os.makedirs(self.state_dir, exist_ok=True)
        self.conf_path = os.path.join(self.dir, "iocagent.conf")
        self.log_path = os.path.join(self.dir, "stderr.log")
        self.out_path = os.path.join(self.dir, "stdout.log")
        self.agent_id = agent_id
        self.proc = None
        if text is None:
            text = self.render(broker_url=broker_url, brokers=brokers, instances=instances,
                               agent_extra=agent_extra, mqtt_extra=mqtt_extra, sections=sections)
        self.write_config(text)

    def render(self, *, broker_url=None, brokers=None, instances=(), agent_extra=None,
               mqtt_extra=None, sections=None):
        """Config text for this agent's state/plugin dirs (see the class comment)."""
        agent = {"id": self.agent_id, "plugin_dir": PLUGIN_DIR, "state_dir": self.state_dir,
                 "log_level": "debug"}
        agent.update(agent_extra or {})
        mq = {"brokers": list(brokers) if brokers else [broker_url], "qos": 1,
              "topic_prefix": "ioc", "keepalive": 5}
        mq.update(mqtt_extra or {})
        return config_text(agent, mq, instances, sections)

    def write_config(self, text):
        """(Re)write the config file, e.g. before sighup()."""
        text = text.replace("{state_dir}", self.state_dir).replace("{plugin_dir}", PLUGIN_DIR)
        with open(self.conf_path, "w") as f:
            f.write(text)

    def start(self, env=None, extra_args=()):
        full_env = dict(os.environ)
        full_env.pop("NOTIFY_SOCKET", None)
        full_env.pop("WATCHDOG_USEC", None)
        full_env.pop("JOURNAL_STREAM", None)
        full_env.update(env or {})
        err = open(self.log_path, "ab")
        out = open(self.out_path, "ab")
        self.proc = subprocess.Popen([BINARY, "-c", self.conf_path] + list(extra_args),
                                     stdout=out, stderr=err, stdin=subprocess.DEVNULL,
                                     env=full_env)
        err.close()
        out.close()
        return self

    @property
    def pid(self):
        return self.proc.pid if self.proc else None

    @property
    def returncode(self):
        return self.proc.poll() if self.proc else None

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def send(self, sig):
        if self.running():
            os.kill(self.proc.pid, sig)

    def sighup(self):
        self.send(signal.SIGHUP)

    def terminate(self):
        self.send(signal.SIGTERM)

    def kill(self):
        """SIGKILL the agent alone (its workers notice and exit on their own)."""
        self.send(signal.SIGKILL)
        return self.wait()

    def wait(self, timeout=STOP_TIMEOUT_S):
        """Exit code, or None if still running after timeout."""
        if not self.proc:
            return None
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return None

    def stop(self):
        """Cleanup: SIGTERM, then SIGKILL agent and leftover workers by PID."""
        if not self.proc:
            return
        workers = list(self.worker_pids()) if self.running() else []
        if self.running():
            self.terminate()
            if self.wait(STOP_TIMEOUT_S) is None:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait(STOP_TIMEOUT_S)
        for pid in workers:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass

    def log(self):
        try:
            with open(self.log_path, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def stdout(self):
        try:
            with open(self.out_path, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def wait_log(self, text, timeout):
        """Wait until `text` appears in the log; True/False."""
        return bool(wait_until(lambda: text in self.log(), timeout))

    def worker_pids(self):
        """{pid: argv list} of the agent's live child processes (its workers), from /proc."""
        if not self.proc:
            return {}
        out = {}
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                with open("/proc/%s/stat" % entry) as f:
                    stat = f.read()
                # the field after the ")" of comm: state, ppid
                fields = stat[stat.rindex(")") + 2:].split()
                if int(fields[1]) != self.proc.pid or fields[0] == "Z":
                    continue
                with open("/proc/%s/cmdline" % entry, "rb") as f:
                    argv = [a.decode(errors="replace") for a in f.read().split(b"\0") if a]
                out[int(entry)] = argv
            except (OSError, ValueError):
                continue
        return out

    def worker_pid(self, instance):
        """PID of the worker running `instance`: the child whose argv names it
        (or, failing that, whose environment or mapped plugin says so); None if none."""
        for pid, argv in self.worker_pids().items():
            if instance in argv or any(a.endswith("=" + instance) for a in argv):
                return pid
        for pid in self.worker_pids():
            try:
                with open("/proc/%d/environ" % pid, "rb") as f:
                    env = f.read().split(b"\0")
                if any(e.endswith(b"=" + instance.encode()) for e in env
                       if e.startswith(b"IOCA")):
                    return pid
            except OSError:
                continue
        return None


# --------------------------------------------------------------------------
# Subscriber
# --------------------------------------------------------------------------

def is_historical(properties):
    """Whether MQTT 5 properties carry the user property historical = true (a backlog record)."""
    pairs = (getattr(properties, "UserProperty", None) or []) if properties else []
    return ("historical", "true") in [tuple(p) for p in pairs]


def arrival_rate(messages, seconds, after_first_s=1.0):
    """Messages per second arriving during `seconds`, starting `after_first_s` after the first
    of them arrived (past the first second's burst of a paced drain)."""
    first = min(m.arrived for m in messages)
    start = first + after_first_s
    return len([m for m in messages if start <= m.arrived < start + seconds]) / seconds


class Message:
    """One received message: topic, payload (bytes), retain, properties, arrived (monotonic s)."""

    __slots__ = ("topic", "payload", "retain", "qos", "properties", "arrived")

    def __init__(self, topic, payload, retain, qos, properties, arrived):
        self.topic, self.payload, self.retain = topic, payload, retain
        self.qos, self.properties, self.arrived = qos, properties, arrived

    def json(self):
        return json.loads(self.payload.decode("utf-8"))

    def historical(self):
        return is_historical(self.properties)

    def __repr__(self):
        return "Message(%r, %r%s)" % (self.topic, self.payload[:200],
                                       ", retained" if self.retain else "")


class Subscriber:
    """A paho MQTT v5 client subscribed to `topics` that records every message.

    persistent=True: clean start off with a session expiry, so messages
    published while it (or the broker, with persistence) is down are queued.
    tls: dict with ca / client_cert / client_key paths to connect over TLS.
    username / password: credentials, for a Broker with users.
    """

    def __init__(self, port, topics=("#",), qos=1, client_id=None, persistent=False,
                 tls=None, host="127.0.0.1", username=None, password=None):
        self.topics = list(topics)
        self.qos = qos
        self._lock = threading.Condition()
        self._messages = []
        self._connected = threading.Event()
        self._subscribed = threading.Event()
        self.connects = 0
        client_id = client_id or "itest-sub-%d-%d" % (os.getpid(), free_port())
        self.client = mqtt.Client(client_id=client_id, protocol=mqtt.MQTTv5)
        if username:
            self.client.username_pw_set(username, password)
        if tls:
            self.client.tls_set(ca_certs=tls.get("ca"), certfile=tls.get("client_cert"),
                                keyfile=tls.get("client_key"))
        self.client.on_connect = self._on_connect
        self.client.on_subscribe = self._on_subscribe
        self.client.on_message = self._on_message
        self.client.on_disconnect = lambda c, u, rc, p=None: self._connected.clear()
        self.client.reconnect_delay_set(min_delay=1, max_delay=1)
        props = Properties(PacketTypes.CONNECT)
        if persistent:
            props.SessionExpiryInterval = 600
        self.client.connect(host, port, keepalive=10, clean_start=not persistent,
                            properties=props)
        self.client.loop_start()
        if not self._subscribed.wait(START_TIMEOUT_S):
            self.close()
            raise RuntimeError("subscriber could not connect/subscribe to port %d" % port)

    def _on_connect(self, client, userdata, flags, rc, properties=None):
        if rc != 0:
            return
        self.connects += 1
        self._connected.set()
        opts = SubscribeOptions(qos=self.qos, retainAsPublished=True)
        client.subscribe([(t, opts) for t in self.topics])

    def _on_subscribe(self, client, userdata, mid, granted, properties=None):
        self._subscribed.set()

    def _on_message(self, client, userdata, msg):
        m = Message(msg.topic, bytes(msg.payload), bool(msg.retain), msg.qos,
                    getattr(msg, "properties", None), time.monotonic())
        with self._lock:
            self._messages.append(m)
            self._lock.notify_all()

    def connected(self):
        return self._connected.is_set()

    def messages(self, predicate=None):
        """Snapshot of the messages so far (optionally filtered), in arrival order."""
        with self._lock:
            msgs = list(self._messages)
        return [m for m in msgs if predicate is None or predicate(m)]

    def clear(self):
        with self._lock:
            self._messages = []

    def wait_for(self, predicate, timeout, count=1):
        """Wait until at least `count` messages satisfy predicate; returns the
        matching messages (fewer than count when the time ran out)."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while True:
                found = [m for m in self._messages if predicate(m)]
                left = deadline - time.monotonic()
                if len(found) >= count or left <= 0:
                    return found
                self._lock.wait(min(left, 0.5))

    def close(self):
        try:
            self.client.disconnect()
        except Exception:  # noqa: BLE001 - best effort in cleanup
            pass
        self.client.loop_stop()


def topic_is(topic):
    return lambda m: m.topic == topic


def topic_prefix(prefix):
    return lambda m: m.topic.startswith(prefix)


def json_matches(topic_pred, **fields):
    """Predicate: topic_pred(m) and the JSON payload has these top-level values."""
    def pred(m):
        if not topic_pred(m):
            return False
        try:
            obj = m.json()
        except ValueError:
            return False
        return all(obj.get(k) == v for k, v in fields.items())
    return pred


# --------------------------------------------------------------------------
# JSON Schema
# --------------------------------------------------------------------------

SCHEMA_DIR = os.path.join(SOURCE_DIR, "docs", "schema")
_schemas = {}


def _schema_store():
    if not _schemas:
        for name in os.listdir(SCHEMA_DIR):
            if name.endswith(".json"):
                with open(os.path.join(SCHEMA_DIR, name)) as f:
                    _schemas[name] = json.load(f)
    return _schemas


def validate(payload, schema_name):
    """Validate payload (bytes, str or decoded JSON) against docs/schema/<schema_name>.json;
    raises jsonschema.ValidationError. Returns the decoded object."""
    if isinstance(payload, (bytes, bytearray)):
        payload = payload.decode("utf-8")
    obj = json.loads(payload) if isinstance(payload, str) else payload
    store = _schema_store()
    schema = store[schema_name + ".json"]
    resolver = jsonschema.RefResolver(base_uri=schema.get("$id", ""), referrer=schema,
                                      store=dict(store))
    jsonschema.Draft202012Validator(schema, resolver=resolver).validate(obj)
    return obj


# --------------------------------------------------------------------------
# unittest base
# --------------------------------------------------------------------------

class AgentTestCase(unittest.TestCase):
    """Base class: self.tmp (removed at the end), helpers that register cleanup."""

    needs_binary = True

    def setUp(self):
        if self.needs_binary:
            require_binary(self)
        self.tmp = tempfile.mkdtemp(prefix="ioca-itest-")
        self.addCleanup(self._remove_tmp)

    def _remove_tmp(self):
        if os.environ.get("IOCA_KEEP_TMP"):
            print("kept", self.tmp)
            return
        shutil.rmtree(self.tmp, ignore_errors=True)

    def broker(self, **kw):
        b = Broker(self.tmp, **kw).start()
        self.addCleanup(b.kill)
        return b

    def agent(self, start=True, **kw):
        a = Agent(self.tmp, **kw)
        self.addCleanup(self._dump_agent_on_failure, a)
        self.addCleanup(a.stop)
        if start:
            a.start()
        return a

    def subscriber(self, port, **kw):
        s = Subscriber(port, **kw)
        self.addCleanup(s.close)
        return s

    def _dump_agent_on_failure(self, a):
        if os.environ.get("IOCA_SHOW_LOG"):
            print("---- agent log %s ----\n%s" % (a.conf_path, a.log()[-6000:]))

    def expect(self, sub, predicate, timeout, count=1, what="message"):
        """Like Subscriber.wait_for but fails the test with context when short."""
        got = sub.wait_for(predicate, timeout, count)
        if len(got) < count:
            recent = sub.messages()[-8:]
            self.fail("expected %d x %s within %.1fs, got %d; last messages: %r" %
                      (count, what, timeout, len(got), recent))
        return got


def sim(name, rate=5.0, kind="event", **kw):
    """An instance group of the sim plugin."""
    inst = {"name": name, "plugin": "sim", "rate": float(rate), "kind": kind}
    inst.update(kw)
    return inst


def event_topic(agent_id, instance, etype, prefix="ioc"):
    return "%s/%s/%s/event/%s" % (prefix, agent_id, instance, etype.replace(".", "/"))


def parse_time_ms(text):
    """RFC 3339 UTC with ms ("2026-11-25T15:30:01.123Z") -> ms since the epoch."""
    base, frac = text[:-1].split(".")
    return calendar.timegm(time.strptime(base, "%Y-%m-%dT%H:%M:%S")) * 1000 + int(frac)


def seqs_of(messages):
    return [m.json()["seq"] for m in messages]


def main():
    unittest.main(verbosity=2)
