/*
 * The camera plugin's option table (the single source of truth for its
 * options: validation, defaults, --list-plugins and docs), its cross-field
 * check, and the conversion of validated options into struct ioca_cam_config.
 *
 * Invariant: ioca_cam_config_load() only reads keys declared in the table, so
 * after the agent validated the options it cannot fail except for memory.
 */
#ifndef IOCA_CAMERA_OPTIONS_H
#define IOCA_CAMERA_OPTIONS_H

#include <stdbool.h>
#include <stdint.h>

#include "camera_decode.h"
#include "camera_motion.h"
#include "iocagent/plugin.h"

/* 7680x4320 (8K UHD, four times 4K): the largest picture cameras send; a picture
 * beyond it is refused before it is decoded (one 16000x16000 frame is 375 MiB). */
#define IOCA_CAM_MAX_PIXELS_DEFAULT (7680 * 4320)
#define IOCA_CAM_MAX_PIXELS_MIN     (16 * 16)
#define IOCA_CAM_MAX_PIXELS_MAX     (16384 * 16384)

extern const struct ioca_option ioca_cam_options[];

int ioca_cam_check(const struct ioca_host *host, const struct ioca_opts *opts,
		   ioca_report_fn report, void *report_ctx);

struct ioca_cam_config {
	char *url; /* with credentials from options; never logged */
	char url_masked[512];
	char *snapshot_url; /* NULL: snapshots from the analysed stream */
	char snapshot_url_masked[512];
	const char *transport;
	bool network;
	int64_t open_timeout_ms, read_timeout_ms;
	int64_t max_pixels;
	int64_t backoff_min_ms, backoff_max_ms;
	bool realtime;
	enum ioca_cam_decode_mode decode;
	bool skip_loop_filter;
	int decode_threads;
	bool motion;
	double analyze_fps;
	double frozen_s;
	double stats_interval_s;
	bool snapshot;
	int snapshot_width, snapshot_quality;
	bool old_min_area_pct; /* min_area_pct given: logged as the old name at start */
	struct ioca_motion_config mcfg;
	struct ioca_motion_polygon zones[IOCA_MOTION_MAX_ZONES];
	struct ioca_motion_polygon masks[IOCA_MOTION_MAX_ZONES];
};

int ioca_cam_config_load(struct ioca_cam_config *c, const struct ioca_host *host,
			 const struct ioca_opts *opts);
void ioca_cam_config_free(struct ioca_cam_config *c);

#endif
