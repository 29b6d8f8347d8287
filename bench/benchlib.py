"""What the Python benchmarks share: a free loopback port, waiting for a
listener, and a plain mosquitto broker started and stopped by PID.

Imported by the scripts in bench/*/ (each puts bench/ on sys.path)."""

import os
import signal
import socket
import subprocess
import time


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, timeout_s=10.0):
    end = time.monotonic() + timeout_s
    while time.monotonic() < end:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.02)
    raise RuntimeError(f"nothing listens on port {port}")


class Broker:
    """mosquitto on a free port of 127.0.0.1, anonymous, no persistence;
    extra_lines go right after the listener line (listener options)."""

    def __init__(self, workdir, *, extra_lines=()):
        self.port = free_port()
        conf = os.path.join(workdir, "mosquitto.conf")
        with open(conf, "w", encoding="utf-8") as f:
            f.write(f"listener {self.port} 127.0.0.1\n")
            f.write("".join(line + "\n" for line in extra_lines))
            f.write("allow_anonymous true\npersistence false\n")
            f.write(f"log_dest file {workdir}/mosquitto.log\nlog_type error\nlog_type warning\n")
            if os.geteuid() == 0:
                f.write("user root\n")
        self.proc = subprocess.Popen(["/usr/sbin/mosquitto", "-c", conf],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_port(self.port)

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=10)
