/*
 * Test and snapshot modes of the camera (see camera_probe.h).
 *
 * Foreground boxes: the objects the motion detector sees in the last analysed
 * frame (ioca_motion_blobs), those large enough to count, in 0..1 of the picture.
 */
#include "camera_probe.h"

#include <string.h>

#define SAMPLE_S           1.0 /* test: stream analysed after camera.online */
#define OVERLAY_ANALYSIS_S 3.0 /* snapshot --overlay: analysis before the picture */
#define PICTURE_TYPE       "image/jpeg"

void ioca_cam_probe_init(struct ioca_cam_probe *p, const struct ioca_host *host,
			 struct ioca_instance *inst, const struct ioca_cam_config *cfg,
			 const struct ioca_motion *motion)
{
	memset(p, 0, sizeof *p);
	p->host = host;
	p->inst = inst;
	p->cfg = cfg;
	p->motion = motion;
	p->mode = IOCA_RUN_SERVICE;
	if (host->abi_minor >= 1 && host->run_mode)
		p->mode = host->run_mode(inst, &p->flags);
}

bool ioca_cam_probe_one_shot(const struct ioca_cam_probe *p)
{
	return p->mode != IOCA_RUN_SERVICE;
}

bool ioca_cam_probe_snapshot_mode(const struct ioca_cam_probe *p)
{
	return p->mode == IOCA_RUN_SNAPSHOT;
}

void ioca_cam_probe_note_motion(struct ioca_cam_probe *p, const struct ioca_motion_result *r)
{
	(void)r;
	if (p->mode != IOCA_RUN_SNAPSHOT || !p->motion)
		return;
	struct ioca_motion_blob blobs[CAMERA_PROBE_MAX_BOXES];
	int gw = 0, gh = 0;
	size_t n = ioca_motion_blobs(p->motion, blobs, CAMERA_PROBE_MAX_BOXES, &gw, &gh);
	p->nboxes = 0;
	if (gw <= 0 || gh <= 0)
		return;
	for (size_t i = 0; i < n; i++) {
		if (!blobs[i].counts)
			continue;
		p->boxes[p->nboxes++] =
		    (struct ioca_overlay_box){(double)blobs[i].x / gw, (double)blobs[i].y / gh,
					      (double)blobs[i].w / gw, (double)blobs[i].h / gh};
	}
}

bool ioca_cam_probe_packet(struct ioca_cam_probe *p, double since_s)
{
	if (p->mode == IOCA_RUN_TEST && (p->flags & IOCA_RUN_F_SAMPLE) && since_s >= SAMPLE_S)
		p->done = true;
	return p->done;
}

static void draw_overlay(void *ctx, AVFrame *scaled)
{
	struct ioca_cam_probe *p = ctx;
	struct ioca_overlay_image img = {
	    .plane = {scaled->data[0], scaled->data[1], scaled->data[2]},
	    .stride = {scaled->linesize[0], scaled->linesize[1], scaled->linesize[2]},
	    .width = scaled->width,
	    .height = scaled->height,
	    .chroma_shift_x = 1, /* the snapshot encoder's picture is YUVJ420P */
	    .chroma_shift_y = 1,
	};
	const struct ioca_motion_config *m = &p->cfg->mcfg;
	struct ioca_overlay_scene scene = {
	    .zones = m->zones,
	    .nzones = m->nzones,
	    .masks = m->masks,
	    .nmasks = m->nmasks,
	    .boxes = p->boxes,
	    .nboxes = p->nboxes,
	};
	if (!p->motion || !ioca_motion_image(p->motion, &scene.grid_w, &scene.grid_h))
		ioca_motion_scaled_size(p->frame_w, p->frame_h, m->analysis_width, &scene.grid_w,
					&scene.grid_h);
	ioca_overlay_draw_scene(&img, &scene);
}

bool ioca_cam_probe_frame(struct ioca_cam_probe *p, struct ioca_cam_snapshot *snap,
			  const AVFrame *f, double since_s, bool analysed, int64_t wall_ms)
{
	if (p->mode != IOCA_RUN_SNAPSHOT || p->done)
		return p->done;
	bool overlay = p->flags & IOCA_RUN_F_OVERLAY;
	if (overlay && p->motion && (!analysed || since_s < OVERLAY_ANALYSIS_S))
		return false;
	p->frame_w = f->width;
	p->frame_h = f->height;
	const uint8_t *jpeg = NULL;
	size_t len = 0;
	int rc =
	    ioca_cam_snapshot_encode_drawn(snap, f, overlay ? draw_overlay : NULL, p, &jpeg, &len);
	p->done = true;
	if (rc != IOCA_OK || len == 0 || len > IOCA_BLOB_MAX_BYTES) {
		p->host->log(p->inst, IOCA_LOG_ERROR, "snapshot: JPEG encoding failed");
		p->failed = true;
		return true;
	}
	if (p->host->emit_blob(p->inst, IOCA_SNAPSHOT_SUBTOPIC, PICTURE_TYPE, jpeg, len, wall_ms) !=
	    IOCA_OK)
		p->failed = true;
	return true;
}
