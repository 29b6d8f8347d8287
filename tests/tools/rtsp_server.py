#!/usr/bin/python3
"""Local RTSP camera for tests and the demo: serves an H.264 clip, looping.

usage: rtsp_server.py --clip FILE [--port N] [--path /stream] [--host 127.0.0.1]
                      [--drop-every SECONDS] [--min-seconds SECONDS]
                      [--mount PATH=FILE ...] [--play-log FILE]

The clip (any container ffmpeg reads, H.264 inside) is repeated without
re-encoding (ffmpeg -stream_loop -c copy, timestamps continuous) into an MP4 in
a temporary folder lasting at least --min-seconds (default 1800), and served
by GStreamer's RTSP server with `filesrc ! qtdemux ! h264parse ! rtph264pay`,
paced at the clip's frame rate. Each client gets its own pipeline starting at
the first frame.
--port 0 picks a free port. Once listening it prints one line on stdout:

    READY rtsp://HOST:PORT/PATH

--drop-every closes every client connection that often (reconnect tests).
--mount serves one more clip at PATH (repeatable; --clip is then optional), so
one server can feed many cameras. --play-log appends "PATH play ID UNIX_TIME"
when a client's session of PATH starts playing (its first frame leaves then)
and "PATH stop ID UNIX_TIME" when it ends (ID names the session): the time zero
of each client reading a clip, and which session it kept.
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
import time

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


def looped(clip, folder, min_seconds, index=0):
    loops = math.ceil(min_seconds / clip_duration(clip))
    loops = max(1, min(loops, MAX_LOOPED_BYTES // max(os.path.getsize(clip), 1)))
    out = os.path.join(folder, "looped%d.mp4" % index)
    subprocess.run(
        ["ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin", "-y",
         "-stream_loop", str(loops - 1), "-i", clip, "-an", "-c:v", "copy", out],
        check=True)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clip")
    ap.add_argument("--port", type=int, default=8554)
    ap.add_argument("--path", default="/stream")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--drop-every", type=float, default=0.0)
    ap.add_argument("--min-seconds", type=float, default=1800.0)
    ap.add_argument("--mount", action="append", default=[], metavar="PATH=FILE")
    ap.add_argument("--play-log")
    args = ap.parse_args()
    mounts = [m.split("=", 1) for m in args.mount]
    if args.clip:
        mounts.insert(0, [args.path, args.clip])
    if not mounts or any(len(m) != 2 for m in mounts):
        ap.error("give --clip FILE or --mount PATH=FILE")
    mounts = [("/" + p.lstrip("/"), c) for p, c in mounts]

    Gst.init(None)
    folder = tempfile.mkdtemp(prefix="rtsp_server.")
    try:
        server = GstRtspServer.RTSPServer()
        server.set_address(args.host)
        server.set_service(str(args.port))
        log = open(args.play_log, "a", encoding="utf-8") if args.play_log else None

        sessions = [0]

        def note(path, what, sid):
            if log:
                log.write("%s %s %d %.6f\n" % (path, what, sid, time.time()))
                log.flush()

        def on_configure(_factory, media, path):
            sessions[0] += 1
            sid = sessions[0]
            media.connect("new-state", lambda _m, state: state == Gst.State.PLAYING
                          and note(path, "play", sid))
            media.connect("unprepared", lambda _m: note(path, "stop", sid))

        for index, (path, clip) in enumerate(mounts):
            stream = looped(clip, folder, args.min_seconds, index)
            factory = GstRtspServer.RTSPMediaFactory()
            factory.set_launch(
                "( filesrc location=\"{loc}\" ! qtdemux ! h264parse "
                "! rtph264pay name=pay0 pt=96 config-interval=-1 )".format(loc=stream))
            factory.set_shared(False)
            factory.connect("media-configure", on_configure, path)
            server.get_mount_points().add_factory(path, factory)
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
        print("READY rtsp://{}:{}{}".format(args.host, server.get_bound_port(), mounts[0][0]),
              flush=True)
        loop.run()
        return 0
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
