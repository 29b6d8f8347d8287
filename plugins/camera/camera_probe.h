/*
 * The camera in the agent's test and snapshot modes (host->run_mode(),
 * plugin ABI 1.1; iocagent --test / --snapshot):
 *
 *   test, IOCA_RUN_F_SAMPLE  run() ends after camera.online and one second of
 *                            stream (SAMPLE_S), analysed as in service
 *   snapshot                 one picture on IOCA_SNAPSHOT_SUBTOPIC: the first
 *                            decoded frame, or with IOCA_RUN_F_OVERLAY the
 *                            first analysed frame after OVERLAY_ANALYSIS_S of
 *                            stream, with the zone-tuning overlay drawn on it
 *
 * In both modes a session that fails ends run() instead of being retried:
 * the operator is waiting for an answer, not for a reconnect.
 *
 * Invariant: in service mode (or with an agent of ABI 1.0) every function
 * here is a no-op that answers "carry on", so the run loop behaves exactly
 * as without this file.
 */
#ifndef IOCA_CAMERA_PROBE_H
#define IOCA_CAMERA_PROBE_H

#include <stdbool.h>
#include <stdint.h>

#include <libavutil/frame.h>

#include "camera_motion.h"
#include "camera_options.h"
#include "camera_overlay.h"
#include "camera_snapshot.h"
#include "iocagent/plugin.h"

#define CAMERA_PROBE_MAX_BOXES 32

struct ioca_cam_probe {
	const struct ioca_host *host;
	struct ioca_instance *inst;
	const struct ioca_cam_config *cfg;
	const struct ioca_motion *motion;
	enum ioca_run_mode mode;
	unsigned flags;
	bool done;
	bool failed; /* the picture could not be made */
	/* what the motion detector sees as foreground now */
	struct ioca_overlay_box boxes[CAMERA_PROBE_MAX_BOXES];
	size_t nboxes;
	int frame_w, frame_h;
};

void ioca_cam_probe_init(struct ioca_cam_probe *p, const struct ioca_host *host,
			 struct ioca_instance *inst, const struct ioca_cam_config *cfg,
			 const struct ioca_motion *motion);

/* Test or snapshot mode: a failed session ends run(). */
bool ioca_cam_probe_one_shot(const struct ioca_cam_probe *p);
/* Snapshot mode: motion events carry no snapshots of their own. */
bool ioca_cam_probe_snapshot_mode(const struct ioca_cam_probe *p);

/* The motion detector's result for the last analysed frame. */
void ioca_cam_probe_note_motion(struct ioca_cam_probe *p, const struct ioca_motion_result *r);

/* After a packet at `since_s` seconds of stream into the session. Returns true
 * when the run is complete (the test sample is). */
bool ioca_cam_probe_packet(struct ioca_cam_probe *p, double since_s);

/* After a decoded frame (`analysed`: it went through the analysis). Emits the
 * picture when it is due. Returns true when the run is complete (with
 * p->failed set when the picture could not be encoded). */
bool ioca_cam_probe_frame(struct ioca_cam_probe *p, struct ioca_cam_snapshot *snap,
			  const AVFrame *f, double since_s, bool analysed, int64_t wall_ms);

#endif
