#!/usr/bin/python3
"""Labelled quality suite of the camera analysis.

Generates labelled clips with the ffmpeg CLI from lavfi sources (textured,
coloured backgrounds at 640x360 and 1280x720; objects of 1, 5 and 20 % of the
frame, uniform and textured, slow walkers, an object that stops, two
intervals, swaying vegetation, every nuisance, every tamper, clips where
nothing happens), runs the camera plugin over each with its defaults
(camera_quality_run: in-process, no broker), scores the events against the
labels and fails when a figure is below the floor.

Scoring, per clip and in total:
  - a motion.start matches a labelled interval when it falls within
    [onset - 0.5 s, end + 1 s]; each interval is matched once;
  - recall = matched intervals / intervals, precision = matched starts / starts
    (over every clip: starts on nuisance and tamper clips count as false);
  - false starts on nuisance-only clips;
  - ending share: matched events whose motion.end comes within event_gap + 2 s
    of the labelled end (an event still open at the end of the clip fails);
  - median onset latency (start - onset) of the matched starts;
  - tamper: each labelled tamper raised (tamper.<kind>) within 5 s of its onset
    and cleared (tamper.<kind>.cleared) within 10 s of its end; any other
    tamper event is false.

usage: camera_quality.py --runner PATH --plugin-dir DIR [--keep DIR]
       [--only NAME,...] [--real LABELS.json]
  --real: score recorded clips a Debian package ships (labels in the JSON
          file, e.g. tests/quality/real_footage.json; the package must be
          installed) instead of generating the suite; same scoring and floors.
Invariant: labels are written from the very numbers that draw the clips, so a
label and its clip cannot disagree.
"""
import argparse
import concurrent.futures
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile

FPS = 15
EVENT_GAP_S = 5.0          # the plugin's default event_gap
MATCH_BEFORE_S = 0.5
MATCH_AFTER_S = 1.0
END_SLACK_S = 2.0
TAMPER_RAISE_S = 5.0
TAMPER_CLEAR_S = 10.0
FLOORS = {"recall": 0.97, "precision": 0.97, "false_starts": 0, "ending_share": 1.0,
          "latency_s": 0.7, "tamper_false": 0}
SIZES = {"A": (640, 360), "B": (1280, 720)}
CODEC = ["-c:v", "libx264", "-preset", "veryfast", "-g", "30", "-bf", "0",
         "-sc_threshold", "0", "-pix_fmt", "yuv420p"]
SENSOR = "noise=alls=4:allf=t"


def ffmpeg(args, cwd):
    cmd = ["ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin", "-y"] + args
    subprocess.run(cmd, cwd=cwd, check=True)


def make_textures(work, size_key):
    """Scene (twice as wide, for a camera turned aside), object texture, foliage, glare.
    Kept as one-frame YUV4MPEG files: looping them costs nothing to decode."""
    w, h = SIZES[size_key]
    scene = os.path.join(work, f"scene_{size_key}.y4m")
    ffmpeg(["-f", "lavfi", "-i", f"color=c=0x6a7060:s=64x18:d=1,noise=c0s=70:c1s=25:c2s=25:allf=u,"
            f"scale={2 * w}x{h}:flags=bicubic,format=yuv444p[lo];"
            f"color=c=0x808080:s={2 * w}x{h}:d=1,noise=alls=70:allf=u,gblur=sigma={w / 640},"
            "format=yuv444p[hi];"
            "[lo][hi]blend=c0_expr='clip(A+(B-128)*0.8,0,255)':c1_expr=A:c2_expr=A,"
            f"drawgrid=w={w // 5}:h={h // 3}:t={max(2, w // 320)}:c=0x303030@0.7,"
            f"drawbox=x={w // 3}:y={h // 2}:w={w // 6}:h={h // 4}:c=0xa09070@0.8:t=fill,"
            "format=yuv420p",
            "-frames:v", "1", "-pix_fmt", "yuv420p", scene], work)
    obj = os.path.join(work, f"object_{size_key}.y4m")
    ffmpeg(["-f", "lavfi", "-i", f"color=c=0xd08850:s={w // 2}x{h}:d=1,noise=alls=60:allf=u,"
            f"gblur=sigma={w / 640},format=yuv420p", "-frames:v", "1", "-pix_fmt", "yuv420p", obj], work)
    leaves = os.path.join(work, f"leaves_{size_key}.y4m")
    ffmpeg(["-f", "lavfi", "-i", f"color=c=0x407030:s=24x12:d=1,noise=c0s=100:c1s=20:c2s=20:allf=u,eq=contrast=1.6,"
            f"scale={w // 4}x{h // 3}:flags=bicubic,format=yuv420p",
            "-frames:v", "1", "-pix_fmt", "yuv420p", leaves], work)
    glare = os.path.join(work, f"glare_{size_key}.y4m")
    ffmpeg(["-f", "lavfi", "-i", f"nullsrc=s={w}x{h}:d=1,format=gray,"
            f"geq=lum='255*min(1,2.2*exp(-((X-W*0.45)^2+(Y-H*0.5)^2)/(0.12*W*W)))',"
            "format=yuv420p", "-frames:v", "1", "-pix_fmt", "yuv420p", glare], work)
    return {"scene": scene, "object": obj, "leaves": leaves, "glare": glare}


class Clip:
    """A clip: what to draw and, from the same numbers, its labels."""

    def __init__(self, name, size, dur, group):
        self.name, self.size, self.dur, self.group = name, size, dur, group
        self.objects = []       # (kind, w_pct, h_pct, x0, y0, vx, vy, a, b, stop)
        self.motion = []        # labelled intervals [onset, end]
        self.tamper = []        # (kind, onset, end)
        self.crop_x = "0"
        self.crop_y = "0"
        self.post = []          # filters after the objects (lighting, noise, tamper)
        self.sway = None        # (a, b)
        self.glare = None       # (a, b)
        self.expect_day_night = False

    def add_object(self, kind, area_pct, a, b, speed_pct=12.0, stop=None, y=0.35, x=0.1,
                   label=True):
        """An object of area_pct of the frame, 1:2 wide:tall, moving right at
        speed_pct of the width per second from (x, y) between a and b."""
        w, h = SIZES[self.size]
        px_area = area_pct / 100.0 * w * h
        ow = int((px_area / 2) ** 0.5)
        oh = 2 * ow
        self.objects.append((kind, ow, oh, x, y, speed_pct / 100.0, a, b, stop))
        if label:
            self.motion.append([a, stop if stop is not None else b])

    def graph(self, tex):
        w, h = SIZES[self.size]
        inputs = ["-stream_loop", "-1", "-r", str(FPS), "-i", tex["scene"]]
        chain = [f"[0:v]crop={w}:{h}:x='{self.crop_x}':y='{self.crop_y}',setsar=1[s0]"]
        cur = "s0"
        idx = 1
        if self.sway:
            a, b = self.sway
            inputs += ["-stream_loop", "-1", "-r", str(FPS), "-i", tex["leaves"]]
            amp = w / 40
            x = f"{0.65 * w}+if(between(t,{a},{b}),{amp}*sin(2*PI*t/1.3),0)"
            y = f"{0.1 * h}+if(between(t,{a},{b}),{amp / 3}*sin(2*PI*t/0.9),0)"
            chain.append(f"[{cur}][{idx}:v]overlay=x='{x}':y='{y}':eval=frame:shortest=1[s{idx}]")
            cur = f"s{idx}"
            idx += 1
        for (kind, ow, oh, x0, y0, v, a, b, stop) in self.objects:
            if kind == "uniform":
                src = f"color=c=0x282828:s={ow}x{oh}:r={FPS}"
                inputs += ["-f", "lavfi", "-i", src]
            else:
                inputs += ["-stream_loop", "-1", "-r", str(FPS), "-i", tex["object"]]
            end = b
            move_end = stop if stop is not None else b
            xe = f"{x0 * w}+{v * w}*(min(t,{move_end})-{a})"
            prep = f"[{idx}:v]crop={ow}:{oh}:0:0[o{idx}]" if kind != "uniform" else \
                f"[{idx}:v]null[o{idx}]"
            chain.append(prep)
            chain.append(f"[{cur}][o{idx}]overlay=x='{xe}':y={int(y0 * h)}:eval=frame:"
                         f"enable='between(t,{a},{end})':shortest=1[s{idx}]")
            cur = f"s{idx}"
            idx += 1
        if self.glare:
            a, b = self.glare
            inputs += ["-stream_loop", "-1", "-r", str(FPS), "-i", tex["glare"]]
            chain.append(f"[{cur}][{idx}:v]blend=c0_mode=screen:c1_mode=normal:"
                         f"c2_mode=normal:c1_opacity=1:c2_opacity=1:"
                         f"enable='between(t,{a},{b})':shortest=1[s{idx}]")
            cur = f"s{idx}"
            idx += 1
        post = ",".join(self.post + [SENSOR, "format=yuv420p"])
        chain.append(f"[{cur}]{post}[out]")
        return inputs + ["-filter_complex", ";".join(chain), "-map", "[out]",
                         "-t", str(self.dur), "-r", str(FPS)] + CODEC + ["-an"]

    def labels(self):
        return {"name": self.name, "size": "%dx%d" % SIZES[self.size], "duration_s": self.dur,
                "group": self.group, "motion": self.motion,
                "tamper": [list(t) for t in self.tamper],
                "day_night": self.expect_day_night}


def suite():
    clips = []

    def clip(name, size, dur, group):
        c = Clip(name, size, dur, group)
        clips.append(c)
        return c

    # Objects: sizes, uniform and textured, both resolutions.
    clip("small_uniform", "A", 14, "motion").add_object("uniform", 1, 3, 8)
    clip("small_textured", "B", 14, "motion").add_object("textured", 1, 3, 8)
    clip("medium_uniform", "B", 14, "motion").add_object("uniform", 5, 3, 8)
    clip("medium_textured", "A", 14, "motion").add_object("textured", 5, 3, 8)
    clip("large_uniform", "A", 14, "motion").add_object("uniform", 20, 3, 7, speed_pct=8,
                                                        y=0.1)
    clip("large_textured", "B", 14, "motion").add_object("textured", 20, 3, 7, speed_pct=8,
                                                         y=0.1)
    # Slow walkers: 15 px/s at 640 px width (2.34 % of the width per second).
    clip("slow_uniform", "A", 18, "motion").add_object("uniform", 1.5, 2, 11, speed_pct=2.34)
    clip("slow_textured", "B", 18, "motion").add_object("textured", 3, 2, 11, speed_pct=2.34)
    # Stops at 6 s and stays to the end: its motion ends when it stops.
    clip("stops_and_stays", "A", 20, "motion").add_object("uniform", 5, 2, 20, stop=6)
    c = clip("two_intervals", "B", 22, "motion")
    c.add_object("uniform", 3, 2, 5)
    c.add_object("textured", 3, 12, 15, y=0.55)
    c = clip("vegetation_sway", "A", 16, "motion")
    c.sway = (4, 8)
    c.motion.append([4, 8])
    c = clip("light_during_motion", "B", 16, "motion")
    c.add_object("uniform", 3, 3, 10)
    c.post.append("eq=eval=frame:brightness='if(gte(t,6),0.2,0)'")
    # Nothing happens.
    clip("empty_A", "A", 12, "nuisance")
    clip("empty_B", "B", 12, "nuisance")
    # Nuisances.
    clip("lights_on_off", "A", 14, "nuisance").post.append(
        "eq=eval=frame:brightness='if(between(t,4,9),0.22,0)':contrast='if(between(t,4,9),1.2,1)'")
    clip("lights_off_on", "B", 14, "nuisance").post.append(
        "eq=eval=frame:brightness='if(between(t,4,9),-0.18,0)':contrast='if(between(t,4,9),0.7,1)'")
    clip("dusk_ramp", "A", 16, "nuisance").post.append(
        "eq=eval=frame:brightness='-0.3*t/16':contrast='1-0.4*t/16'")
    clip("dawn_ramp", "B", 16, "nuisance").post.append(
        "eq=eval=frame:brightness='-0.3+0.3*t/16':contrast='0.6+0.4*t/16'")
    clip("auto_exposure", "A", 14, "nuisance").post.append(
        "eq=eval=frame:gamma='1+0.35*sin(2*PI*t/2.5)'")
    c = clip("ir_switch_A", "A", 16, "nuisance")
    c.post.append("hue=s='if(between(t,5,11),0,1)'")
    c.post.append("eq=eval=frame:brightness='if(between(t,5,11),0.15,0)'")
    c.expect_day_night = True
    c = clip("ir_switch_B", "B", 16, "nuisance")
    c.post.append("hue=s='if(gte(t,5),0,1)'")
    c.post.append("eq=eval=frame:brightness='if(gte(t,5),-0.12,0)':contrast='if(gte(t,5),1.15,1)'")
    c.expect_day_night = True
    clip("heavy_noise_A", "A", 12, "nuisance").post.append("noise=alls=30:allf=t")
    clip("heavy_noise_B", "B", 12, "nuisance").post.append("noise=alls=30:allf=t")
    # Rain/snow: about 1 % of the pixels lit each frame, grown to 3x3 drops.
    rain = ("split[r0][r1];[r1]format=gray,lutyuv=y=128,noise=alls=100:allf=t+u,"
            "lutyuv=y='if(gt(val,226),255,0)',dilation,format=yuv420p[rr];"
            "[r0][rr]blend=c0_mode=lighten:c1_mode=normal:c2_mode=normal:c1_opacity=1:"
            "c2_opacity=1")
    clip("rain_A", "A", 12, "nuisance").post.append(rain)
    clip("rain_B", "B", 12, "nuisance").post.append(rain)
    for key in ("A", "B"):
        w, h = SIZES[key]
        c = clip(f"shake_{key}", key, 12, "nuisance")
        c.crop_x = f"{w // 4}+if(between(t,3,9),2*sin(n*2.1),0)"
        c.crop_y = f"if(between(t,3,9),2+2*sin(n*1.3),2)"
    # Tampers: normal for 5 s, tampered 5..10 s, normal again.
    c = clip("covered", "A", 18, "tamper")
    c.post.append("drawbox=x=0:y=0:w=iw:h=ih:c=0x101010:t=fill:enable='between(t,5,10)'")
    c.tamper.append(("covered", 5, 10))
    c = clip("covered_grey", "B", 18, "tamper")
    c.post.append("drawbox=x=0:y=0:w=iw:h=ih:c=0x8a8a80:t=fill:enable='between(t,5,10)'")
    c.tamper.append(("covered", 5, 10))
    c = clip("glare", "B", 18, "tamper")
    c.glare = (5, 10)
    c.tamper.append(("glare", 5, 10))
    c = clip("defocused_A", "A", 18, "tamper")
    c.post.append("gblur=sigma=7:enable='between(t,5,10)'")
    c.tamper.append(("defocused", 5, 10))
    c = clip("defocused_B", "B", 18, "tamper")
    c.post.append("gblur=sigma=12:enable='between(t,5,10)'")
    c.tamper.append(("defocused", 5, 10))
    for key in ("A", "B"):
        w, h = SIZES[key]
        c = clip(f"moved_{key}", key, 18, "tamper")
        c.crop_x = f"if(between(t,5,10),{w // 2 + w // 5},{w // 4})"
        c.tamper.append(("moved", 5, 10))
    return clips


def run_clip(c, work, tex, runner, plugin_dir):
    path = os.path.join(work, c.name + ".mp4")
    ffmpeg(c.graph(tex[c.size]) + [path], work)
    out = subprocess.run([runner, plugin_dir, path], capture_output=True, text=True,
                         check=True, timeout=300).stdout
    events = [json.loads(line) for line in out.splitlines() if line.strip()]
    return c.labels(), events


def score_clip(lab, events):
    dur = lab["duration_s"]
    # Events after the clip's last frame were closed at end of stream: not ended.
    starts = [e for e in events if e["type"] == "motion.start"]
    ends = [e for e in events if e["type"] == "motion.end" and e["t"] <= dur + 0.5]
    intervals = [list(i) for i in lab["motion"]]
    used = [False] * len(intervals)
    matched, latencies, ended_ok = 0, [], 0
    for k, s in enumerate(starts):
        hit = None
        for i, (a, b) in enumerate(intervals):
            if not used[i] and a - MATCH_BEFORE_S <= s["t"] <= b + MATCH_AFTER_S:
                hit = i
                break
        if hit is None:
            continue
        used[hit] = True
        matched += 1
        latencies.append(s["t"] - intervals[hit][0])
        nxt = starts[k + 1]["t"] if k + 1 < len(starts) else float("inf")
        end = [e for e in ends if s["t"] <= e["t"] < nxt]
        if lab.get("open_end") and hit == len(intervals) - 1:
            ended_ok += 1  # lasts to the clip's end: not judged
        elif end and end[0]["t"] <= intervals[hit][1] + EVENT_GAP_S + END_SLACK_S:
            ended_ok += 1
    # Tamper.
    t_events = [e for e in events if e["type"].startswith("tamper.")]
    claimed = set()
    t_ok, t_raise, t_clear = 0, [], []
    for kind, a, b in lab["tamper"]:
        raised = [i for i, e in enumerate(t_events)
                  if e["type"] == "tamper." + kind and a <= e["t"] <= a + TAMPER_RAISE_S]
        cleared = [i for i, e in enumerate(t_events)
                   if e["type"] == "tamper.%s.cleared" % kind and b <= e["t"] <= b + TAMPER_CLEAR_S]
        if raised and cleared:
            t_ok += 1
            claimed.update([raised[0], cleared[0]])
            t_raise.append(t_events[raised[0]]["t"] - a)
            t_clear.append(t_events[cleared[0]]["t"] - b)
    day_night = sum(1 for e in events if e["type"] == "camera.day_night")
    return {"name": lab["name"], "size": lab["size"], "group": lab["group"],
            "intervals": len(intervals), "starts": len(starts), "matched": matched,
            "ends_ok": ended_ok,
            "latencies": latencies, "tampers": len(lab["tamper"]), "tamper_ok": t_ok,
            "tamper_false": len(t_events) - len(claimed), "tamper_raise": t_raise,
            "tamper_clear": t_clear, "day_night": day_night,
            "day_night_expected": lab.get("day_night", False)}


def totals(rows):
    iv = sum(r["intervals"] for r in rows)
    st = sum(r["starts"] for r in rows)
    mt = sum(r["matched"] for r in rows)
    lat = [x for r in rows for x in r["latencies"]]
    tr = [x for r in rows for x in r["tamper_raise"]]
    tc = [x for r in rows for x in r["tamper_clear"]]
    return {
        "recall": mt / iv if iv else 1.0,
        "precision": mt / st if st else 1.0,
        "false_starts": sum(r["starts"] for r in rows if r["group"] == "nuisance"),
        "ending_share": sum(r["ends_ok"] for r in rows) / mt if mt else 1.0,
        "latency_s": statistics.median(lat) if lat else 0.0,
        "tampers": sum(r["tampers"] for r in rows),
        "tamper_ok": sum(r["tamper_ok"] for r in rows),
        "tamper_false": sum(r["tamper_false"] for r in rows),
        "tamper_raise_s": statistics.median(tr) if tr else 0.0,
        "tamper_clear_s": statistics.median(tc) if tc else 0.0,
        "day_night_missing": sum(1 for r in rows if r["day_night_expected"] and not r["day_night"]),
        "intervals": iv, "starts": st, "matched": mt,
    }


def table(rows, tot):
    lines = ["| clip | size | group | intervals | starts | matched | ended in time | "
             "latency s | tamper ok | false tamper |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lat = "%.2f" % statistics.median(r["latencies"]) if r["latencies"] else "-"
        tam = "%d/%d" % (r["tamper_ok"], r["tampers"]) if r["tampers"] else "-"
        lines.append(f"| {r['name']} | {r['size']} | {r['group']} | {r['intervals']} | "
                     f"{r['starts']} | {r['matched']} | {r['ends_ok']} | {lat} | {tam} | "
                     f"{r['tamper_false']} |")
    lines.append("")
    lines.append("| figure | value | floor |")
    lines.append("|---|---|---|")
    lines.append(f"| event recall | {tot['recall']:.3f} ({tot['matched']}/{tot['intervals']}) "
                 f"| >= {FLOORS['recall']} |")
    lines.append(f"| event precision | {tot['precision']:.3f} ({tot['matched']}/{tot['starts']}) "
                 f"| >= {FLOORS['precision']} |")
    lines.append(f"| motion starts on nuisance-only clips | {tot['false_starts']} | 0 |")
    lines.append(f"| events ending within event_gap + 2 s | {tot['ending_share']:.3f} | 1.0 |")
    lines.append(f"| median onset latency | {tot['latency_s']:.2f} s | <= {FLOORS['latency_s']} s |")
    lines.append(f"| tampers raised (<= 5 s) and cleared (<= 10 s) | "
                 f"{tot['tamper_ok']}/{tot['tampers']} | all |")
    lines.append(f"| median tamper raise / clear delay | {tot['tamper_raise_s']:.2f} s / "
                 f"{tot['tamper_clear_s']:.2f} s | |")
    lines.append(f"| tamper events not matching a labelled tamper | {tot['tamper_false']} | 0 |")
    lines.append(f"| IR switch clips without camera.day_night | {tot['day_night_missing']} | 0 |")
    return "\n".join(lines)


def check(tot):
    bad = []
    if tot["recall"] < FLOORS["recall"]:
        bad.append("recall %.3f < %.2f" % (tot["recall"], FLOORS["recall"]))
    if tot["precision"] < FLOORS["precision"]:
        bad.append("precision %.3f < %.2f" % (tot["precision"], FLOORS["precision"]))
    if tot["false_starts"] > FLOORS["false_starts"]:
        bad.append("%d motion starts on nuisance-only clips" % tot["false_starts"])
    if tot["ending_share"] < FLOORS["ending_share"]:
        bad.append("ending share %.3f < 1" % tot["ending_share"])
    if tot["latency_s"] > FLOORS["latency_s"]:
        bad.append("median latency %.2f s > %.2f s" % (tot["latency_s"], FLOORS["latency_s"]))
    if tot["tamper_ok"] < tot["tampers"]:
        bad.append("%d of %d tampers not raised and cleared in time"
                   % (tot["tampers"] - tot["tamper_ok"], tot["tampers"]))
    if tot["tamper_false"] > FLOORS["tamper_false"]:
        bad.append("%d false tamper events" % tot["tamper_false"])
    if tot["day_night_missing"]:
        bad.append("%d IR switches without camera.day_night" % tot["day_night_missing"])
    return bad


def run_real(path, runner, plugin_dir):
    """Scores the recorded clips labelled in `path`; returns (rows, missing clips)."""
    with open(path) as f:
        spec = json.load(f)
    rows, missing = [], []
    for lab in spec["clips"]:
        if not os.path.exists(lab["path"]):
            missing.append(lab["path"])
            continue
        out = subprocess.run([runner, plugin_dir, lab["path"]], capture_output=True, text=True,
                             check=True, timeout=600).stdout
        events = [json.loads(line) for line in out.splitlines() if line.strip()]
        rows.append(score_clip(lab, events))
    return rows, missing


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runner", required=True)
    ap.add_argument("--plugin-dir", required=True)
    ap.add_argument("--keep", help="keep clips and events in this folder")
    ap.add_argument("--only", help="comma-separated clip names")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--real", help="labels of recorded clips (JSON) to score instead")
    args = ap.parse_args()
    if args.real:
        rows, missing = run_real(args.real, args.runner, args.plugin_dir)
        for m in missing:
            print("camera_quality: %s missing (install the package named in %s)"
                  % (m, args.real), file=sys.stderr)
        if missing:
            return 1
        tot = totals(rows)
        print(table(rows, tot))
        bad = check(tot)
        for b in bad:
            print("camera_quality: below the floor: " + b, file=sys.stderr)
        print("%d passed, %d failed" % (len(FLOORS) + 2 - len(bad), len(bad)))
        return 1 if bad else 0
    if not shutil.which("ffmpeg"):
        print("camera_quality: ffmpeg not found", file=sys.stderr)
        return 1
    work = args.keep or tempfile.mkdtemp(prefix="camquality.")
    os.makedirs(work, exist_ok=True)
    try:
        clips = suite()
        if args.only:
            names = set(args.only.split(","))
            clips = [c for c in clips if c.name in names]
        tex = {k: make_textures(work, k) for k in sorted({c.size for c in clips})}
        with concurrent.futures.ThreadPoolExecutor(max_workers=args.jobs) as ex:
            futs = [ex.submit(run_clip, c, work, tex, args.runner, args.plugin_dir)
                    for c in clips]
            results = [f.result() for f in futs]
        rows = []
        for lab, events in results:
            rows.append(score_clip(lab, events))
            if args.keep:
                with open(os.path.join(work, lab["name"] + ".events.json"), "w") as f:
                    json.dump({"labels": lab, "events": events}, f, indent=1)
        tot = totals(rows)
        print(table(rows, tot))
        bad = check(tot)
        for b in bad:
            print("camera_quality: below the floor: " + b, file=sys.stderr)
        print("%d passed, %d failed" % (len(FLOORS) + 2 - len(bad), len(bad)))
        return 1 if bad else 0
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
