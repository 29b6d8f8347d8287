#!/bin/sh
# Generate a test video clip with ffmpeg lavfi sources, with motion, noise,
# lighting and freezes at known frames (H.264, -g 30 -bf 0, fixed GOP like an IP camera).
# Media is made at test time into temporary folders, never committed.
#
# usage: make_clip.sh KIND OUT [-s WxH] [-r FPS] [-d SECONDS] [-a FRAME] [-b FRAME] [-n NOISE]
#   KIND   static      still textured scene with light sensor noise
#          motion      still scene; a white box moves from frame A to frame B, still otherwise
#          noise       still scene with heavy sensor noise (-n, default 30)
#          light       brightness jumps up at frame A and back down at frame B (light switch)
#          ramp        brightness falls steadily over the whole clip (dusk)
#          frozen      moving test pattern; frames A..B repeat frame A-1 (frozen picture)
#          mjpeg       the motion clip encoded as MJPEG (for HTTP multipart and codec tests)
#   OUT    output file; the container follows the extension (.mp4, .ts, .mkv, .avi, .nut)
# Invariant: frame n of the clip is at n / FPS seconds, the first frame at 0.
set -eu

usage() {
	echo "usage: $0 static|motion|noise|light|ramp|frozen|mjpeg OUT [-s WxH] [-r FPS] [-d SECONDS] [-a FRAME] [-b FRAME] [-n NOISE]" >&2
	exit 64
}

[ "$#" -ge 2 ] || usage
kind="$1"
out="$2"
shift 2
size="320x240"
fps=15
dur=6
a=30
b=60
noise=""
while [ "$#" -gt 0 ]; do
	[ "$#" -ge 2 ] || usage
	case "$1" in
	-s) size="$2" ;;
	-r) fps="$2" ;;
	-d) dur="$2" ;;
	-a) a="$2" ;;
	-b) b="$2" ;;
	-n) noise="$2" ;;
	*) usage ;;
	esac
	shift 2
done

# Still textured background: mid grey with a grid, so noise and boxes have something to sit on.
bg="color=c=0x606060:s=${size}:r=${fps}:d=${dur},drawgrid=w=iw/8:h=ih/6:t=2:c=0x404040"
box="color=c=white:s=${size}:r=${fps}:d=${dur},scale=iw/6:ih/4"
sensor="noise=alls=${noise:-4}:allf=t"
codec="-c:v libx264 -preset veryfast -g 30 -sc_threshold 0 -bf 0 -pix_fmt yuv420p"
moving="[0:v][1:v]overlay=x='W*0.1+W*0.5*if(lt(n,${a}),0,if(gt(n,${b}),1,(n-${a})/(${b}-${a})))':y='H*0.4':eval=frame:shortest=1,${sensor}"

case "$kind" in
static)
	set -- -f lavfi -i "$bg" -vf "$sensor" ;;
motion)
	set -- -f lavfi -i "$bg" -f lavfi -i "$box" -filter_complex "$moving" ;;
noise)
	sensor="noise=alls=${noise:-30}:allf=t"
	set -- -f lavfi -i "$bg" -vf "$sensor" ;;
light)
	set -- -f lavfi -i "$bg" -vf "eq=eval=frame:brightness='if(between(n,${a},${b}-1),0.3,0)',${sensor}" ;;
ramp)
	set -- -f lavfi -i "$bg" -vf "eq=eval=frame:brightness='-0.35*t/${dur}',${sensor}" ;;
frozen)
	set -- -f lavfi -i "testsrc2=s=${size}:r=${fps}:d=${dur}" \
		-filter_complex "[0:v]split[m][r];[m][r]freezeframes=first=${a}:last=${b}:replace=$((a - 1))" ;;
mjpeg)
	codec="-c:v mjpeg -q:v 5 -pix_fmt yuvj420p"
	set -- -f lavfi -i "$bg" -f lavfi -i "$box" -filter_complex "$moving" ;;
*)
	usage ;;
esac

# shellcheck disable=SC2086 # $codec is a list of words on purpose
exec ffmpeg -hide_banner -loglevel error -nostdin -y "$@" $codec -an "$out"
