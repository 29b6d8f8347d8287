#!/usr/bin/python3
"""Local RTSP camera for tests and the demo: serves an H.264 clip, looping.

usage: rtsp_server.py --clip FILE [--port N] [--path /stream] [--host 127.0.0.1]
                      [--drop-every SECONDS] [--min-seconds SECONDS]

The clip (any container ffmpeg reads, H.264 inside) is repeated without
re-encoding (ffmpeg -stream_loop -c copy, timestamps continuous) into an MP4 in
a temporary folder lasting at least --min-seconds (default 1800), and served
by GStreamer's RTSP server with `filesrc ! qtdemux ! h264parse ! rtph264pay`,
paced at the clip's frame rate. Each client gets its own pipeline starting at
the first frame.
--port 0 picks a free port. Once listening it prints one line on stdout:

    READY rtsp://HOST:PORT/PATH

--drop-every closes every client connection that often (reconnect tests).
Stop it with SIGTERM or SIGKILL (that is how tests simulate a dead camera).
"""
import argparse
import math
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


MAX_LOOPED_BYTES = 512 * 1024 * 1024


def clip_duration(path):
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-show_entries", "format=duration",
         "-of", "default=nw=1:nk=1", path],
        check=True, capture_output=True, text=True).stdout.strip()
    return max(float(out), 0.1)


def looped(clip, folder, min_seconds):
    loops = math.ceil(min_seconds / clip_duration(clip))
    loops = max(1, min(loops, MAX_LOOPED_BYTES // max(os.path.getsize(clip), 1)))
    out = os.path.join(folder, "looped.mp4")
    subprocess.run(
        ["ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin", "-y",
         "-stream_loop", str(loops - 1), "-i", clip, "-an", "-c:v", "copy", out],
        check=True)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clip", required=True)
    ap.add_argument("--port", type=int, default=8554)
    ap.add_argument("--path", default="/stream")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--drop-every", type=float, default=0.0)
    ap.add_argument("--min-seconds", type=float, default=1800.0)
    args = ap.parse_args()
    if not args.path.startswith("/"):
        args.path = "/" + args.path

    Gst.init(None)
    folder = tempfile.mkdtemp(prefix="rtsp_server.")
    try:
        stream = looped(args.clip, folder, args.min_seconds)
        launch = (
            "( filesrc location=\"{loc}\" ! qtdemux ! h264parse "
            "! rtph264pay name=pay0 pt=96 config-interval=-1 )"
        ).format(loc=stream)

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
