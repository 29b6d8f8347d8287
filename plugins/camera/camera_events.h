/*
 * The camera plugin's events, built with cJSON exactly as the interface table
 * names them (camera.online/offline/stats/frozen/resumed/lighting_change,
 * motion.start/end) plus camera.day_night and tamper.<kind>[.cleared].
 * Numbers are rounded to what an operator can use.
 *
 * Invariant: no URL reaches an event unmasked: callers pass masked URLs only,
 * and error texts come from FFmpeg's error strings, which carry no URL.
 */
#ifndef IOCA_CAMERA_EVENTS_H
#define IOCA_CAMERA_EVENTS_H

#include <stdbool.h>
#include <stdint.h>

#include "camera_health.h"
#include "camera_motion.h"
#include "iocagent/plugin.h"

struct ioca_cam_emitter {
	const struct ioca_host *host;
	struct ioca_instance *inst;
	const struct ioca_motion *motion; /* zone names; may be NULL */
};

void ioca_cam_emit_online(const struct ioca_cam_emitter *e, int64_t wall_ms, const char *codec,
			  int width, int height, double fps, const char *url_masked);
void ioca_cam_emit_offline(const struct ioca_cam_emitter *e, int64_t wall_ms, const char *reason,
			   const char *error, double retry_in_s, const char *url_masked);
void ioca_cam_emit_stats(const struct ioca_cam_emitter *e, int64_t wall_ms,
			 const struct ioca_cam_stats_report *r);
void ioca_cam_emit_frozen(const struct ioca_cam_emitter *e, int64_t wall_ms, bool frozen,
			  double seconds, const char *reason);
void ioca_cam_emit_lighting(const struct ioca_cam_emitter *e, int64_t wall_ms, double changed_pct);
void ioca_cam_emit_day_night(const struct ioca_cam_emitter *e, int64_t wall_ms, bool night,
			     double chroma);
/* tamper.<kind> for every raised kind and tamper.<kind>.cleared for every cleared one. */
void ioca_cam_emit_tamper(const struct ioca_cam_emitter *e, int64_t wall_ms,
			  const struct ioca_tamper_result *r);
struct ioca_cam_snapshot_result;
/* motion.start; `snapshot` (NULL: none) describes the JPEG that follows it ("snapshot": true and
 * "jpeg": {bytes, width, height, quality, reduced}). */
void ioca_cam_emit_motion_start(const struct ioca_cam_emitter *e, int64_t wall_ms,
				const struct ioca_motion_result *r,
				const struct ioca_cam_snapshot_result *snapshot);
void ioca_cam_emit_motion_end(const struct ioca_cam_emitter *e, int64_t wall_ms,
			      const struct ioca_motion_result *r);

#endif
