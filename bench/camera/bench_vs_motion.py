#!/usr/bin/python3
"""The camera plugin against Debian's motion daemon on the labelled quality
suite (tests/quality/camera_quality.py), both reading the same clips over RTSP
at the same time, scored by the suite's own evaluator. A benchmark, not a test.

usage: bench_vs_motion.py --build BUILD_DIR [--jobs 6] [--only NAME,...] [--keep DIR]
                          [--real tests/quality/real_footage.json]

The suite's clips are generated (camera_quality.py's generator; --keep reuses
them) and played in batches of --jobs clips. Each batch runs:
  * one RTSP server (tests/tools/rtsp_server.py) with two mounts per clip,
    /CLIP/ioca and /CLIP/motion: every client gets its own paced session from
    the clip's first frame, played once; the server logs when each session
    starts playing, which is time zero of that engine on that clip;
  * one iocagent with one camera instance per clip, plugin defaults (as in the
    suite: snapshot off, stats off, backoff_min 60 so an ended clip is not read
    again), events to a mosquitto broker; mosquitto_sub stamps their arrival;
  * one motion daemon with one camera file per clip (fair config below), its
    on_event_start / on_event_end hooks stamping the time of each call.
An event's time is its arrival (iocagent: at the MQTT subscriber; motion: when
its hook runs) minus that engine's time zero on the clip. Events at or after
the clip's end are dropped for both (the stream ending closes open events:
they did not end on their own). The events go through camera_quality's
score_clip and totals unchanged: event-level recall and precision, starts on
nuisance-only clips, events that end within event_gap + 2 s, median onset
latency.
--real adds the recorded clips labelled in that file (Debian's opencv-doc),
re-encoded to H.264 (libx264 -crf 18, the RTSP server carries H.264 only).

motion's config (documented in docs/PERFORMANCE.md): Debian's shipped
/etc/motion/motion.conf values, with its threshold of 1500 changed pixels at
640x480 scaled to the clip's pixel count (1125 at 640x360, 4500 at 1280x720),
noise_tune on, despeckle_filter EedDl, minimum_motion_frames 1,
framerate 15 (the clips' rate: every frame is analysed), event_gap 5 (the
plugin's default), no pictures, no movies, no web ports.

CPU: each engine is its own child of this script, reaped with os.wait4: the
rusage of the agent includes its worker processes. Given as CPU s per second
of clip played (the sum of the batch's clip lengths).
"""
import argparse
import concurrent.futures
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(SRC, "bench"))
sys.path.insert(0, os.path.join(SRC, "tests", "quality"))
import camera_quality as cq  # noqa: E402
from benchlib import Broker  # noqa: E402

AGENT_ID = "vsmotion"
MOTION_REF_PIXELS = 640 * 480   # the size Debian's motion.conf threshold is written for
MOTION_REF_THRESHOLD = 1500
START_TIMEOUT_S = 30.0
TAIL_S = 2.0                    # wait after the last clip's end for late events
REOPEN_S = 3.0                  # motion's reading session starts this much after its probe


def reading_sessions(log_rows, durs):
    """Time zero per mount: the start of the first session that lasted at least
    half the clip (the one the engine read), else of its longest session."""
    sessions = {}
    for path, what, sid, t in log_rows:
        s = sessions.setdefault(path, {}).setdefault(sid, [None, float("inf")])
        s[0 if what == "play" else 1] = float(t)
    zero = {}
    for path, by_id in sessions.items():
        spans = sorted((a, b) for a, b in by_id.values() if a is not None)
        if not spans:
            continue
        dur = durs[path.split("/")[1]]
        long_enough = [a for a, b in spans if b - a >= dur / 2]
        zero[path] = long_enough[0] if long_enough else max(spans, key=lambda s: s[1] - s[0])[0]
    return zero


def motion_config(folder, clips, urls, hook):
    """motion.conf plus one camera file per clip; returns the main file."""
    main = os.path.join(folder, "motion.conf")
    lines = ["daemon off", "setup_mode off", "log_level 5",
             "log_file " + os.path.join(folder, "motion.log"),
             "target_dir " + folder, "webcontrol_port 0", "stream_port 0",
             "pid_file " + os.path.join(folder, "motion.pid")]
    for n, c in enumerate(clips, 1):
        w, h = c.wh if isinstance(c, RealClip) else cq.SIZES[c.size]
        cam = os.path.join(folder, "cam-%s.conf" % c.name)
        with open(cam, "w", encoding="utf-8") as f:
            f.write("\n".join([
                "camera_id %d" % n, "camera_name " + c.name,
                "netcam_url " + urls[c.name], "netcam_use_tcp on",
                "width %d" % w, "height %d" % h, "framerate %d" % cq.FPS,
                "threshold %d" % round(MOTION_REF_THRESHOLD * w * h / MOTION_REF_PIXELS),
                "noise_tune on", "noise_level 32", "despeckle_filter EedDl",
                "minimum_motion_frames 1", "event_gap %d" % cq.EVENT_GAP_S,
                "emulate_motion off", "picture_output off", "movie_output off",
                "snapshot_interval 0",
                "on_event_start %s start %s" % (hook, c.name),
                "on_event_end %s end %s" % (hook, c.name), ""]))
        lines.append("camera " + cam)
    with open(main, "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
    return main


def agent_config(folder, clips, urls, port, plugin_dir):
    conf = os.path.join(folder, "agent.conf")
    os.makedirs(os.path.join(folder, "state"), exist_ok=True)
    inst = ['{ name = "%s"; plugin = "camera"; url = "%s"; snapshot = false; '
            'stats_interval = 0.0; backoff_min = 60.0; }' % (c.name, urls[c.name])
            for c in clips]
    with open(conf, "w", encoding="utf-8") as f:
        f.write('agent: { id = "%s"; plugin_dir = "%s"; state_dir = "%s/state"; '
                'log_level = "warning"; };\n' % (AGENT_ID, plugin_dir, folder))
        f.write('mqtt: { brokers = [ "mqtt://127.0.0.1:%d" ]; qos = 1; '
                'topic_prefix = "ioc"; };\n' % port)
        f.write("instances = (\n" + ",\n".join(inst) + "\n);\n")
    return conf


def reap(proc, sig=signal.SIGTERM, timeout_s=15.0):
    """Stops a child and returns its CPU seconds (with its reaped children)."""
    proc.send_signal(sig)
    end = time.monotonic() + timeout_s
    while time.monotonic() < end:
        pid, _status, ru = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            proc.returncode = 0
            return ru.ru_utime + ru.ru_stime
        time.sleep(0.05)
    proc.kill()
    _pid, _status, ru = os.wait4(proc.pid, 0)
    proc.returncode = -9
    return ru.ru_utime + ru.ru_stime


def read_pairs(path):
    rows = []
    if os.path.exists(path):
        with open(path, encoding="utf-8") as f:
            rows = [line.split() for line in f if line.strip()]
    return rows


def run_batch(clips, work, build, log):
    """Plays one batch to both engines; returns {engine: (events per clip, cpu_s)}."""
    folder = tempfile.mkdtemp(prefix="batch.", dir=work)
    play_log = os.path.join(folder, "play.log")
    mounts = []
    for c in clips:
        mp4 = os.path.join(work, c.name + ".mp4")
        mounts += ["--mount", "/%s/ioca=%s" % (c.name, mp4),
                   "--mount", "/%s/motion=%s" % (c.name, mp4)]
    srv = subprocess.Popen(["/usr/bin/python3", os.path.join(SRC, "tests", "tools",
                                                             "rtsp_server.py"),
                            "--port", "0", "--min-seconds", "0", "--play-log", play_log]
                           + mounts, stdout=subprocess.PIPE, text=True)
    broker = agent = mot = sub = None
    try:
        ready = srv.stdout.readline().split()
        if len(ready) != 2 or ready[0] != "READY":
            raise RuntimeError("RTSP server did not start")
        base = ready[1].rsplit("/", 2)[0]
        broker = Broker(folder)
        arrivals = os.path.join(folder, "arrivals.txt")
        sub_out = open(arrivals, "w", encoding="utf-8")
        sub = subprocess.Popen(["mosquitto_sub", "-h", "127.0.0.1", "-p", str(broker.port),
                                "-q", "1", "-t", "ioc/%s/+/event/motion/#" % AGENT_ID,
                                "-F", "%U %t"], stdout=sub_out)
        time.sleep(0.5)
        hook = os.path.join(folder, "hook.sh")
        hook_log = os.path.join(folder, "hooks.txt")
        with open(hook, "w", encoding="utf-8") as f:
            f.write('#!/bin/sh\necho "$2 $1 $(date +%%s.%%N)" >> "%s"\n' % hook_log)
        os.chmod(hook, 0o755)
        conf = motion_config(folder, clips,
                             {c.name: "%s/%s/motion" % (base, c.name) for c in clips}, hook)
        mot = subprocess.Popen(["motion", "-n", "-c", conf], stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
        aconf = agent_config(folder, clips, {c.name: "%s/%s/ioca" % (base, c.name)
                                             for c in clips},
                             broker.port, os.path.join(build, "plugins"))
        agent = subprocess.Popen([os.path.join(build, "agent", "iocagent"), "-c", aconf],
                                 stdout=open(os.path.join(folder, "agent.log"), "w"),
                                 stderr=subprocess.STDOUT)
        # Wait for every engine's first session of every clip, then for the clips to end
        # (motion opens a short probing session first, then its reading one).
        want = {"/%s/%s" % (c.name, e) for c in clips for e in ("ioca", "motion")}
        first = {}
        end = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < end and len(first) < len(want):
            for path, what, _sid, t in read_pairs(play_log):
                if what == "play":
                    first.setdefault(path, float(t))
            time.sleep(0.1)
        missing = want - set(first)
        if missing:
            log("bench_vs_motion: no session within %.0f s for %s (see %s)"
                % (START_TIMEOUT_S, ", ".join(sorted(missing)), folder))
        last = max(first.get("/%s/%s" % (c.name, e), time.time()) + c.dur
                   for c in clips for e in ("ioca", "motion"))
        time.sleep(max(0.0, last - time.time()) + REOPEN_S + TAIL_S)
        cpu = {"iocagent": reap(agent), "motion": reap(mot)}
        agent = mot = None
        sub.terminate()
        sub.wait(10)
        sub_out.close()
        sub = None
        events = {"iocagent": {c.name: [] for c in clips},
                  "motion": {c.name: [] for c in clips}}
        for stamp, topic in read_pairs(arrivals):
            parts = topic.split("/")      # ioc/ID/INSTANCE/event/motion/start
            name, kind = parts[2], "motion." + parts[-1]
            events["iocagent"][name].append({"t": float(stamp), "type": kind})
        for name, kind, stamp in read_pairs(hook_log):
            events["motion"][name].append({"t": float(stamp), "type": "motion." + kind})
        durs = {c.name: c.dur for c in clips}
        time.sleep(0.5)
        zero = reading_sessions(read_pairs(play_log), durs)
        for engine, tag in (("iocagent", "ioca"), ("motion", "motion")):
            for name, evs in events[engine].items():
                t0 = zero.get("/%s/%s" % (name, tag))
                evs[:] = [] if t0 is None else sorted(
                    ({"t": e["t"] - t0, "type": e["type"]} for e in evs
                     if e["t"] - t0 < durs[name]), key=lambda e: e["t"])
        return {e: (events[e], cpu[e]) for e in events}
    finally:
        for p in (agent, mot):
            if p is not None:
                reap(p, signal.SIGKILL)
        if sub is not None:
            sub.kill()
            sub.wait()
        if broker is not None:
            broker.stop()
        srv.terminate()
        srv.wait(10)


class RealClip:
    """A recorded clip with its labels from real_footage.json, in the suite's shape."""

    def __init__(self, lab):
        self.lab = dict(lab)
        self.name, self.dur, self.source = lab["name"], lab["duration_s"], lab["path"]
        w, h = (int(v) for v in lab["size"].split("x"))
        self.size, self.wh = lab["size"], (w, h)

    def labels(self):
        return self.lab


def real_clips(path):
    with open(path, encoding="utf-8") as f:
        spec = json.load(f)
    missing = [lab["path"] for lab in spec["clips"] if not os.path.exists(lab["path"])]
    if missing:
        raise RuntimeError("%s missing (install %s)" % (", ".join(missing), spec["package"]))
    return [RealClip(lab) for lab in spec["clips"]]


def generate(clips, work, jobs):
    tex = {k: cq.make_textures(work, k)
           for k in sorted({c.size for c in clips if not isinstance(c, RealClip)})}

    def one(c):
        path = os.path.join(work, c.name + ".mp4")
        if os.path.exists(path):
            return
        if isinstance(c, RealClip):
            cq.ffmpeg(["-i", c.source, "-an", "-c:v", "libx264", "-preset", "veryfast",
                       "-crf", "18", "-g", "30", "-bf", "0", "-pix_fmt", "yuv420p",
                       path + ".tmp.mp4"], work)
        else:
            cq.ffmpeg(c.graph(tex[c.size]) + [path + ".tmp.mp4"], work)
        os.rename(path + ".tmp.mp4", path)

    with concurrent.futures.ThreadPoolExecutor(max_workers=jobs) as ex:
        list(ex.map(one, clips))


def fmt_ratio(a, b):
    return "%.2f" % (a / b) if b else "-"


def report(rows, tot, cpu, clip_s, cmd):
    out = ["Command: `%s`" % cmd, "",
           "Clips: %d (%d labelled motion intervals), %.0f s of video in all."
           % (len(rows["iocagent"]), tot["iocagent"]["intervals"], clip_s), "",
           "| figure | iocagent | motion | iocagent / motion |", "|---|---|---|---|"]
    a, m = tot["iocagent"], tot["motion"]
    out.append("| event recall | %.3f (%d/%d) | %.3f (%d/%d) | %s |" % (
        a["recall"], a["matched"], a["intervals"], m["recall"], m["matched"], m["intervals"],
        fmt_ratio(a["recall"], m["recall"])))
    out.append("| event precision | %.3f (%d/%d) | %.3f (%d/%d) | %s |" % (
        a["precision"], a["matched"], a["starts"], m["precision"], m["matched"], m["starts"],
        fmt_ratio(a["precision"], m["precision"])))
    out.append("| motion starts on nuisance-only clips | %d | %d | %s |" % (
        a["false_starts"], m["false_starts"], fmt_ratio(a["false_starts"], m["false_starts"])))
    out.append("| median onset latency, s | %.2f | %.2f | %s |" % (
        a["latency_s"], m["latency_s"], fmt_ratio(a["latency_s"], m["latency_s"])))
    out.append("| matched events ended within event_gap + 2 s | %.3f | %.3f | %s |" % (
        a["ending_share"], m["ending_share"], fmt_ratio(a["ending_share"], m["ending_share"])))
    out.append("| CPU s per clip-second | %.3f | %.3f | %s |" % (
        cpu["iocagent"] / clip_s, cpu["motion"] / clip_s,
        fmt_ratio(cpu["iocagent"], cpu["motion"])))
    out += ["", "Per clip (starts / matched of intervals / median latency s):", "",
            "| clip | group | intervals | iocagent | motion |", "|---|---|---|---|---|"]
    for ra, rm in zip(rows["iocagent"], rows["motion"]):
        def cell(r):
            lat = "%.2f" % statistics.median(r["latencies"]) if r["latencies"] else "-"
            return "%d / %d / %s" % (r["starts"], r["matched"], lat)
        mark = ""
        if ra["matched"] < rm["matched"] or (ra["starts"] - ra["matched"] >
                                            rm["starts"] - rm["matched"]):
            mark = " (iocagent worse)"
        out.append("| %s%s | %s | %d | %s | %s |" % (ra["name"], mark, ra["group"],
                                                     ra["intervals"], cell(ra), cell(rm)))
    return "\n".join(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--build", required=True)
    ap.add_argument("--jobs", type=int, default=6, help="clips played at the same time")
    ap.add_argument("--gen-jobs", type=int, default=2, help="ffmpeg encoders at a time")
    ap.add_argument("--only", help="comma-separated clip names")
    ap.add_argument("--keep", help="folder for the clips (reused) and each batch's logs")
    ap.add_argument("--real", help="also the recorded clips labelled in this JSON file")
    args = ap.parse_args()
    if not shutil.which("motion"):
        print("bench_vs_motion: motion not installed (scripts/deps.sh demo)", file=sys.stderr)
        return 1
    work = os.path.abspath(args.keep) if args.keep else tempfile.mkdtemp(prefix="vsmotion.")
    os.makedirs(work, exist_ok=True)
    clips = cq.suite()
    if args.only:
        names = set(args.only.split(","))
        clips = [c for c in clips if c.name in names]
    if args.real:
        clips += real_clips(args.real)
    try:
        generate(clips, work, args.gen_jobs)
        results = {"iocagent": {}, "motion": {}}
        cpu = {"iocagent": 0.0, "motion": 0.0}
        # Longest clips first, so a batch's clips end at about the same time.
        order = sorted(clips, key=lambda c: -c.dur)
        for i in range(0, len(order), args.jobs):
            batch = order[i:i + args.jobs]
            print("bench_vs_motion: batch %s" % ",".join(c.name for c in batch),
                  file=sys.stderr, flush=True)
            out = run_batch(batch, work, args.build,
                            lambda s: print(s, file=sys.stderr, flush=True))
            for engine, (events, cpu_s) in out.items():
                results[engine].update(events)
                cpu[engine] += cpu_s
        rows, tot = {}, {}
        for engine in results:
            rows[engine] = [cq.score_clip(c.labels(), results[engine][c.name]) for c in clips]
            tot[engine] = cq.totals(rows[engine])
        clip_s = sum(c.dur for c in clips)
        cmd = "/usr/bin/python3 bench/camera/bench_vs_motion.py " + " ".join(sys.argv[1:])
        print(report(rows, tot, cpu, clip_s, cmd))
        return 0
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
