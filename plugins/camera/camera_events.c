/*
 * Event payloads of the camera plugin. See camera_events.h.
 * Invariant: every payload is a JSON object built and printed by cJSON; when
 * it cannot be printed (out of memory) the event is dropped with a log line.
 */
#include "camera_events.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include <cjson/cJSON.h>

#include "camera_snapshot.h"

static double round_to(double v, double step)
{
	if (!isfinite(v))
		return 0;
	return round(v / step) * step;
}

static void send(const struct ioca_cam_emitter *e, const char *type, enum ioca_severity sev,
		 int64_t wall_ms, cJSON *data)
{
	char *text = data ? cJSON_PrintUnformatted(data) : NULL;
	if (!text) {
		e->host->log(e->inst, IOCA_LOG_ERROR, "out of memory building %s", type);
	} else {
		e->host->emit_event(e->inst, type, sev, wall_ms, text);
		free(text);
	}
	cJSON_Delete(data);
}

static void add_zones(const struct ioca_cam_emitter *e, cJSON *obj, uint32_t zones)
{
	cJSON *arr = cJSON_AddArrayToObject(obj, "zones");
	if (!arr || !e->motion)
		return;
	for (size_t i = 0; i < ioca_motion_zone_count(e->motion) && i < 32; i++) {
		if (zones & (1u << i))
			cJSON_AddItemToArray(
			    arr, cJSON_CreateString(ioca_motion_zone_name(e->motion, i)));
	}
}

void ioca_cam_emit_online(const struct ioca_cam_emitter *e, int64_t wall_ms, const char *codec,
			  int width, int height, double fps, const char *url_masked)
{
	cJSON *d = cJSON_CreateObject();
	cJSON_AddStringToObject(d, "codec", codec);
	cJSON_AddNumberToObject(d, "width", width);
	cJSON_AddNumberToObject(d, "height", height);
	cJSON_AddNumberToObject(d, "fps", round_to(fps, 0.01));
	cJSON_AddStringToObject(d, "url", url_masked);
	send(e, "camera.online", IOCA_SEV_INFO, wall_ms, d);
}

void ioca_cam_emit_offline(const struct ioca_cam_emitter *e, int64_t wall_ms, const char *reason,
			   const char *error, double retry_in_s, const char *url_masked)
{
	cJSON *d = cJSON_CreateObject();
	cJSON_AddStringToObject(d, "reason", reason);
	cJSON_AddStringToObject(d, "error", error);
	cJSON_AddNumberToObject(d, "retry_in_s", round_to(retry_in_s, 0.001));
	cJSON_AddStringToObject(d, "url", url_masked);
	send(e, "camera.offline", IOCA_SEV_WARNING, wall_ms, d);
}

void ioca_cam_emit_stats(const struct ioca_cam_emitter *e, int64_t wall_ms,
			 const struct ioca_cam_stats_report *r)
{
	cJSON *d = cJSON_CreateObject();
	cJSON_AddNumberToObject(d, "fps_in", round_to(r->fps_in, 0.01));
	cJSON_AddNumberToObject(d, "fps_analyzed", round_to(r->fps_analyzed, 0.01));
	cJSON_AddNumberToObject(d, "bitrate_kbps", round_to(r->bitrate_kbps, 0.1));
	cJSON_AddNumberToObject(d, "decode_errors", (double)r->decode_errors);
	cJSON_AddNumberToObject(d, "reconnects", (double)r->reconnects);
	cJSON_AddNumberToObject(d, "keyframe_interval_s", round_to(r->keyframe_interval_s, 0.001));
	send(e, "camera.stats", IOCA_SEV_INFO, wall_ms, d);
}

void ioca_cam_emit_frozen(const struct ioca_cam_emitter *e, int64_t wall_ms, bool frozen,
			  double seconds, const char *reason)
{
	cJSON *d = cJSON_CreateObject();
	cJSON_AddNumberToObject(d, "seconds", round_to(seconds, 0.001));
	cJSON_AddStringToObject(d, "reason", reason);
	send(e, frozen ? "camera.frozen" : "camera.resumed",
	     frozen ? IOCA_SEV_WARNING : IOCA_SEV_INFO, wall_ms, d);
}

void ioca_cam_emit_lighting(const struct ioca_cam_emitter *e, int64_t wall_ms, double changed_pct)
{
	cJSON *d = cJSON_CreateObject();
	cJSON_AddNumberToObject(d, "changed_pct", round_to(changed_pct, 0.01));
	send(e, "camera.lighting_change", IOCA_SEV_INFO, wall_ms, d);
}

void ioca_cam_emit_day_night(const struct ioca_cam_emitter *e, int64_t wall_ms, bool night,
			     double chroma)
{
	cJSON *d = cJSON_CreateObject();
	cJSON_AddStringToObject(d, "mode", night ? "night" : "day");
	cJSON_AddNumberToObject(d, "chroma", round_to(chroma, 0.01));
	send(e, "camera.day_night", IOCA_SEV_INFO, wall_ms, d);
}

void ioca_cam_emit_tamper(const struct ioca_cam_emitter *e, int64_t wall_ms,
			  const struct ioca_tamper_result *r)
{
	for (int k = 0; k < IOCA_TAMPER_KINDS; k++) {
		uint32_t bit = 1u << k;
		if (!((r->raised | r->cleared) & bit))
			continue;
		bool raised = (r->raised & bit) != 0;
		char type[64];
		snprintf(type, sizeof type, "tamper.%s%s", ioca_tamper_name(k),
			 raised ? "" : ".cleared");
		cJSON *d = cJSON_CreateObject();
		cJSON_AddStringToObject(d, "kind", ioca_tamper_name(k));
		cJSON_AddStringToObject(d, "onvif_topic", ioca_tamper_onvif_topic(k));
		cJSON_AddBoolToObject(d, "state", raised);
		if (raised)
			cJSON_AddNumberToObject(d, "value", round_to(r->value[k], 0.001));
		else
			cJSON_AddNumberToObject(d, "duration_s", round_to(r->duration_s[k], 0.001));
		send(e, type, raised ? IOCA_SEV_WARNING : IOCA_SEV_INFO, wall_ms, d);
	}
}

void ioca_cam_emit_motion_start(const struct ioca_cam_emitter *e, int64_t wall_ms,
				const struct ioca_motion_result *r,
				const struct ioca_cam_snapshot_result *snapshot)
{
	cJSON *d = cJSON_CreateObject();
	add_zones(e, d, r->start_zones);
	cJSON *box = cJSON_AddArrayToObject(d, "box");
	for (int i = 0; box && i < 4; i++)
		cJSON_AddItemToArray(box, cJSON_CreateNumber(round_to(r->box[i], 0.0001)));
	cJSON_AddNumberToObject(d, "area_pct", round_to(r->area_pct, 0.01));
	cJSON_AddNumberToObject(d, "blobs", r->blobs);
	cJSON_AddBoolToObject(d, "snapshot", snapshot != NULL);
	if (snapshot) {
		cJSON *j = cJSON_AddObjectToObject(d, "jpeg");
		cJSON_AddNumberToObject(j, "bytes", (double)snapshot->bytes);
		cJSON_AddNumberToObject(j, "width", snapshot->width);
		cJSON_AddNumberToObject(j, "height", snapshot->height);
		cJSON_AddNumberToObject(j, "quality", snapshot->quality);
		cJSON_AddBoolToObject(j, "reduced", snapshot->reduced);
	}
	send(e, "motion.start", IOCA_SEV_INFO, wall_ms, d);
}

void ioca_cam_emit_motion_end(const struct ioca_cam_emitter *e, int64_t wall_ms,
			      const struct ioca_motion_result *r)
{
	cJSON *d = cJSON_CreateObject();
	add_zones(e, d, r->end_zones);
	cJSON_AddNumberToObject(d, "duration_s", round_to(r->duration_s, 0.001));
	cJSON_AddNumberToObject(d, "peak_area_pct", round_to(r->peak_area_pct, 0.01));
	send(e, "motion.end", IOCA_SEV_INFO, wall_ms, d);
}
