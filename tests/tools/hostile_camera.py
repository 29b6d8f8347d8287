#!/usr/bin/python3
"""Hostile camera servers on loopback for the camera plugin's hardening tests.

  hostile_camera.py --mode sdp   [--port 0] [--sdp-mb 8] [--media 2000] [--setup-delay 0]
      RTSP: DESCRIBE answers an SDP of --sdp-mb MiB with --media video
      sections; every SETUP is answered after --setup-delay seconds; PLAY
      is answered, then nothing is ever sent.
  hostile_camera.py --mode mjpeg [--port 0] [--size 16000]
      HTTP multipart MJPEG whose JPEGs claim --size x --size pixels (a small
      picture made by the ffmpeg CLI with its frame header rewritten, padded
      with comment segments to the size FFmpeg's decoder expects of such a
      picture, so that it allocates the whole frame).

Prints "READY <url>" once listening, serves until killed.
"""
import argparse
import socket
import struct
import subprocess
import sys
import threading
import time

MJPEG_PERIOD_S = 1.0   # one (big) frame per second
COM_SEGMENT = 65533    # payload bytes of one JPEG comment segment
PAD_LINE = 1000        # bytes of one padding attribute line


def read_request(f):
    """One RTSP request: (method, cseq) or None at EOF."""
    line = f.readline()
    if not line:
        return None
    method = line.split(b" ", 1)[0].decode("latin-1")
    cseq, length = "0", 0
    while True:
        h = f.readline()
        if not h or h in (b"\r\n", b"\n"):
            break
        name, _, value = h.decode("latin-1").partition(":")
        if name.strip().lower() == "cseq":
            cseq = value.strip()
        elif name.strip().lower() == "content-length":
            length = int(value.strip() or 0)
    if length:
        f.read(length)
    return method, cseq


def make_sdp(mib, media):
    head = "v=0\r\no=- 0 0 IN IP4 127.0.0.1\r\ns=hostile\r\nc=IN IP4 0.0.0.0\r\nt=0 0\r\n"
    per = max(0, (mib * 1024 * 1024 - len(head)) // media)
    parts = [head]
    pad = "a=x-pad:" + "A" * (PAD_LINE - 10) + "\r\n"
    for i in range(media):
        sec = "m=video 0 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\na=control:track%d\r\n" % i
        parts.append(sec + pad * max(0, (per - len(sec)) // len(pad)))
    return "".join(parts).encode()


def serve_rtsp(conn, sdp, port, setup_delay):
    f = conn.makefile("rb")
    session = "4711"
    try:
        while True:
            req = read_request(f)
            if req is None:
                return
            method, cseq = req
            head = "RTSP/1.0 200 OK\r\nCSeq: %s\r\n" % cseq
            if method == "OPTIONS":
                conn.sendall((head + "Public: DESCRIBE, SETUP, PLAY, TEARDOWN\r\n\r\n").encode())
            elif method == "DESCRIBE":
                conn.sendall((head + "Content-Base: rtsp://127.0.0.1:%d/stream/\r\n"
                              "Content-Type: application/sdp\r\nContent-Length: %d\r\n\r\n"
                              % (port, len(sdp))).encode() + sdp)
            elif method == "SETUP":
                time.sleep(setup_delay)
                conn.sendall((head + "Session: %s\r\nTransport: RTP/AVP/TCP;unicast;"
                              "interleaved=0-1\r\n\r\n" % session).encode())
            elif method == "PLAY":
                conn.sendall((head + "Session: %s\r\n\r\n" % session).encode())
            else:
                conn.sendall((head + "\r\n").encode())
    except OSError:
        return
    finally:
        conn.close()


def make_jpeg(size):
    jpg = subprocess.run(["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "testsrc2=s=64x64",
                          "-frames:v", "1", "-f", "mjpeg", "-"],
                         check=True, capture_output=True).stdout
    sof = jpg.find(b"\xff\xc0")
    if sof < 0:
        sys.exit("hostile_camera: no SOF0 in the generated JPEG")
    # FF C0, length (2), precision (1), height (2), width (2)
    jpg = jpg[:sof + 5] + struct.pack(">HH", size, size) + jpg[sof + 9:]
    segments = size * size // 12 // COM_SEGMENT + 1
    pad = (b"\xff\xfe" + struct.pack(">H", COM_SEGMENT + 2) + b"P" * COM_SEGMENT) * segments
    return jpg[:2] + pad + jpg[2:]


def serve_mjpeg(conn, jpeg):
    try:
        conn.recv(65536)
        conn.sendall(b"HTTP/1.0 200 OK\r\nContent-Type: multipart/x-mixed-replace;"
                     b"boundary=frame\r\n\r\n")
        while True:
            conn.sendall(b"--frame\r\nContent-Type: image/jpeg\r\nContent-Length: %d\r\n\r\n"
                         % len(jpeg) + jpeg + b"\r\n")
            time.sleep(MJPEG_PERIOD_S)
    except OSError:
        return
    finally:
        conn.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mode", choices=("sdp", "mjpeg"), required=True)
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--sdp-mb", type=int, default=8)
    ap.add_argument("--media", type=int, default=2000)
    ap.add_argument("--size", type=int, default=16000)
    ap.add_argument("--setup-delay", type=float, default=0.0)
    a = ap.parse_args()
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", a.port))
    srv.listen(16)
    port = srv.getsockname()[1]
    if a.mode == "sdp":
        payload, handler = make_sdp(a.sdp_mb, a.media), serve_rtsp
        url = "rtsp://127.0.0.1:%d/stream" % port
        extra = (port, a.setup_delay)
    else:
        payload, handler = make_jpeg(a.size), serve_mjpeg
        url = "http://127.0.0.1:%d/video.mjpg" % port
        extra = ()
    print("READY " + url, flush=True)
    while True:
        conn, _ = srv.accept()
        threading.Thread(target=handler, args=(conn, payload) + extra, daemon=True).start()


if __name__ == "__main__":
    main()
