#!/usr/bin/python3
"""Local RTSP camera for tests and the demo: serves an H.264 clip, looping.

usage: rtsp_server.py --clip FILE [--port N] [--path /stream] [--host 127.0.0.1]
                      [--drop-every SECONDS]

The clip (any container ffmpeg reads, H.264 inside) is copied to an Annex B
elementary stream in a temporary folder and served by GStreamer's RTSP server
with `multifilesrc loop=true ! h264parse ! rtph264pay`, paced at the clip's
frame rate. Each client gets its own pipeline starting at the first frame.
--port 0 picks a free port. Once listening it prints one line on stdout:

    READY rtsp://HOST:PORT/PATH

--drop-every closes every client connection that often (reconnect tests).
Stop it with SIGTERM or SIGKILL (that is how tests simulate a dead camera).
"""
import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstRtspServer  # noqa: E402


def clip_fps(path):
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries",
         "stream=r_frame_rate", "-of", "default=nw=1:nk=1", path],
        check=True, capture_output=True, text=True).stdout.strip()
    num, _, den = out.partition("/")
    return int(num), int(den or 1)


def to_annexb(clip, folder):
    out = os.path.join(folder, "clip.h264")
    subprocess.run(
        ["ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin", "-y", "-i", clip,
         "-an", "-c:v", "copy", "-bsf:v", "h264_mp4toannexb", "-f", "h264", out],
        check=True)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clip", required=True)
    ap.add_argument("--port", type=int, default=8554)
    ap.add_argument("--path", default="/stream")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--drop-every", type=float, default=0.0)
    args = ap.parse_args()
    if not args.path.startswith("/"):
        args.path = "/" + args.path

    Gst.init(None)
    folder = tempfile.mkdtemp(prefix="rtsp_server.")
    try:
        num, den = clip_fps(args.clip)
        stream = to_annexb(args.clip, folder)
        launch = (
            "( multifilesrc location=\"{loc}\" loop=true "
            "caps=\"video/x-h264,stream-format=byte-stream,framerate={n}/{d}\" "
            "! h264parse ! rtph264pay name=pay0 pt=96 config-interval=-1 )"
        ).format(loc=stream, n=num, d=den)

        server = GstRtspServer.RTSPServer()
        server.set_address(args.host)
        server.set_service(str(args.port))
        factory = GstRtspServer.RTSPMediaFactory()
        factory.set_launch(launch)
        factory.set_shared(False)
        server.get_mount_points().add_factory(args.path, factory)
        if server.attach(None) == 0:
            print("cannot listen on {}:{}".format(args.host, args.port), file=sys.stderr)
            return 1

        if args.drop_every > 0:
            def drop(*_):
                server.client_filter(
                    lambda _srv, _client, *_a: GstRtspServer.RTSPFilterResult.REMOVE)
                return True
            GLib.timeout_add(int(args.drop_every * 1000), drop)

        loop = GLib.MainLoop()
        GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, signal.SIGTERM, loop.quit)
        GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, signal.SIGINT, loop.quit)
        print("READY rtsp://{}:{}{}".format(args.host, server.get_bound_port(), args.path),
              flush=True)
        loop.run()
        return 0
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
