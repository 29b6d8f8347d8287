"""A broker that speaks only MQTT 3.1.1 answers the agent's MQTT 5 CONNECT
with a 3.1.1 CONNACK "unacceptable protocol version" (return code 1), as
mosquitto 1.x does. The agent's log must then say how to fix it: set
`protocol = "v311"`.

The broker here is a few lines of socket code that answers every CONNECT
with exactly those four bytes, since no installable broker can be told to
refuse MQTT 5.
"""

import socket
import threading

import ioca_test as t

CONNACK_V311_BAD_PROTOCOL = b"\x20\x02\x00\x01"
HINT = 'protocol = "v311"'


class V311OnlyBroker:

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", t.free_port()))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        self.connects = 0
        self.stopped = False
        threading.Thread(target=self.serve, daemon=True).start()

    def serve(self):
        while not self.stopped:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                conn.settimeout(5)
                try:
                    if conn.recv(4096):
                        self.connects += 1
                        conn.sendall(CONNACK_V311_BAD_PROTOCOL)
                        conn.recv(4096)
                except OSError:
                    pass

    def close(self):
        self.stopped = True
        self.sock.close()


class V311HintTest(t.AgentTestCase):

    def test_refusal_names_v311(self):
        broker = V311OnlyBroker()
        self.addCleanup(broker.close)
        a = self.agent(broker_url="mqtt://127.0.0.1:%d" % broker.port,
                       instances=[t.sim("s", rate=1.0)])
        ok = t.wait_until(lambda: HINT in a.log(), 15)
        self.assertTrue(ok, "no hint in the log after %d connects:\n%s" %
                        (broker.connects, a.log()[-3000:]))
        self.assertIn("refused the connection", a.log())
        self.assertTrue(a.running())


if __name__ == "__main__":
    t.main()
