/*
 * Option table, cross-field check and option loading of the camera plugin.
 * See camera_options.h. Invariant: the table is the only place an option's
 * name, type, default and range are written.
 */
#include "camera_options.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "camera_url.h"
#include "url_mask.h"

#define MS_PER_S           1000.0
#define MAX_POLYGON_VALUES 512 /* 256 points */

/* The `polygon` of a zone or a mask: at least 3 points x, y in 0..1 of the picture. */
#define POLYGON_OPTION(help_)                                                                      \
	{                                                                                          \
		.key = "polygon", .type = IOCA_OPT_FLOAT_ARRAY, .flags = IOCA_OPTF_REQUIRED,       \
		.help = (help_), .min = 0, .max = 1, .min_count = 6,                               \
		.max_count = MAX_POLYGON_VALUES, .count_multiple = 2                               \
	}

static const struct ioca_option zone_children[] = {
    {.key = "name",
     .type = IOCA_OPT_STRING,
     .flags = IOCA_OPTF_REQUIRED,
     .help = "zone name reported in motion events"},
    POLYGON_OPTION("x1, y1, x2, y2, ... in 0..1 of the picture (at least 3 points)"),
    {.key = NULL},
};

static const struct ioca_option mask_children[] = {
    {.key = "name",
     .type = IOCA_OPT_STRING,
     .help = "mask name (for the reader)",
     .def_string = "mask"},
    POLYGON_OPTION("x1, y1, x2, y2, ... in 0..1: pixels inside are never analysed"),
    {.key = NULL},
};

const struct ioca_option ioca_cam_options[] = {
    {.key = "url",
     .type = IOCA_OPT_STRING,
     .flags = IOCA_OPTF_REQUIRED | IOCA_OPTF_PATH,
     .help = "stream URL (rtsp://, rtsps://, http(s):// MJPEG/MPEG-TS/HLS) or file path"},
    {.key = "transport",
     .type = IOCA_OPT_ENUM,
     .def_string = "tcp",
     .choices = "tcp|udp",
     .help = "RTSP transport"},
    {.key = "username",
     .type = IOCA_OPT_STRING,
     .help = "stream user name (replaces the one in the URL)"},
    {.key = "password",
     .type = IOCA_OPT_STRING,
     .flags = IOCA_OPTF_SECRET,
     .help = "stream password (never printed)"},
    {.key = "open_timeout",
     .type = IOCA_OPT_FLOAT,
     .def_float = 10,
     .min = 0.5,
     .max = 300,
     .help = "seconds allowed to connect and probe the stream"},
    {.key = "read_timeout",
     .type = IOCA_OPT_FLOAT,
     .def_float = 5,
     .min = 0.5,
     .max = 300,
     .help = "seconds without a packet before the stream counts as lost"},
    {.key = "backoff_min",
     .type = IOCA_OPT_FLOAT,
     .def_float = 1,
     .min = 0.1,
     .max = 60,
     .help = "first reconnect delay, seconds (doubles per failure, with jitter)"},
    {.key = "backoff_max",
     .type = IOCA_OPT_FLOAT,
     .def_float = 60,
     .min = 0.1,
     .max = 3600,
     .help = "longest reconnect delay, seconds"},
    {.key = "max_pixels",
     .type = IOCA_OPT_INT,
     .def_int = IOCA_CAM_MAX_PIXELS_DEFAULT,
     .min = IOCA_CAM_MAX_PIXELS_MIN,
     .max = IOCA_CAM_MAX_PIXELS_MAX,
     .help = "largest picture accepted, width x height; larger: camera.offline too_large"},
    {.key = "realtime",
     .type = IOCA_OPT_BOOL,
     .def_bool = false,
     .help = "read files at their frame rate instead of as fast as possible"},
    {.key = "decode",
     .type = IOCA_OPT_ENUM,
     .def_string = "full",
     .choices = "full|keyframes|none",
     .help = "full: motion + health; keyframes: health only; none: liveness only"},
    {.key = "skip_loop_filter",
     .type = IOCA_OPT_BOOL,
     .def_bool = true,
     .help = "skip the H.264/HEVC deblocking filter (cheaper, analysis does not need it)"},
    {.key = "decode_threads",
     .type = IOCA_OPT_INT,
     .def_int = 1,
     .min = 1,
     .max = 16,
     .help = "decoder threads"},
    {.key = "motion",
     .type = IOCA_OPT_BOOL,
     .def_bool = true,
     .help = "detect motion (needs decode = \"full\")"},
    {.key = "analyze_fps",
     .type = IOCA_OPT_FLOAT,
     .def_float = 5,
     .min = 0.1,
     .max = 120,
     .help = "frames analysed per second (every frame is decoded)"},
    {.key = "analysis_width",
     .type = IOCA_OPT_INT,
     .def_int = 320,
     .min = 16,
     .max = 1920,
     .help = "width the luma plane is block-averaged down to, pixels"},
    {.key = "threshold",
     .type = IOCA_OPT_INT,
     .def_int = 25,
     .min = 1,
     .max = 255,
     .help = "luma difference from the background that counts a pixel as changed"},
    {.key = "min_object_pct",
     .type = IOCA_OPT_FLOAT,
     .def_float = 0.3,
     .min = 0,
     .max = 100,
     .help = "smallest object that counts, percent of the zone (see also min_object_pixels)"},
    {.key = "min_object_pixels",
     .type = IOCA_OPT_INT,
     .def_int = 0,
     .min = 0,
     .max = 1000000,
     .help = "smallest object that counts, analysis pixels (the larger of the two applies)"},
    {.key = "min_area_pct",
     .type = IOCA_OPT_FLOAT,
     .def_float = 0.3,
     .min = 0,
     .max = 100,
     .help = "old name of min_object_pct (still read when min_object_pct is not set)"},
    {.key = "min_frames",
     .type = IOCA_OPT_INT,
     .def_int = 3,
     .min = 1,
     .max = 100,
     .help = "consecutive analysed frames with motion before motion.start"},
    {.key = "event_gap",
     .type = IOCA_OPT_FLOAT,
     .def_float = 5,
     .min = 0,
     .max = 3600,
     .help = "seconds without motion before motion.end"},
    {.key = "lighting_change_pct",
     .type = IOCA_OPT_FLOAT,
     .def_float = 60,
     .min = 1,
     .max = 100,
     .help = "changed share of the picture read as a lighting change, percent"},
    {.key = "stationary_seconds",
     .type = IOCA_OPT_FLOAT,
     .def_float = 2,
     .min = 0,
     .max = 86400,
     .help = "an object standing still this long joins the background (0: never)"},
    {.key = "tamper",
     .type = IOCA_OPT_BOOL,
     .def_bool = true,
     .help = "detect covered, glare, defocused and moved cameras (needs motion = true)"},
    {.key = "tamper_seconds",
     .type = IOCA_OPT_FLOAT,
     .def_float = 2,
     .min = 0,
     .max = 3600,
     .help = "seconds a tamper condition must hold before tamper.<kind> is raised"},
    {.key = "tamper_clear_seconds",
     .type = IOCA_OPT_FLOAT,
     .def_float = 3,
     .min = 0,
     .max = 3600,
     .help = "seconds without the condition before tamper.<kind>.cleared"},
    {.key = "frozen_seconds",
     .type = IOCA_OPT_FLOAT,
     .def_float = 10,
     .min = 0,
     .max = 3600,
     .help = "seconds of an unchanged picture before camera.frozen (0: off)"},
    {.key = "stats_interval",
     .type = IOCA_OPT_FLOAT,
     .def_float = 60,
     .min = 0,
     .max = 86400,
     .help = "seconds between camera.stats events (0: off)"},
    {.key = "snapshot",
     .type = IOCA_OPT_BOOL,
     .def_bool = true,
     .help = "publish a JPEG snapshot with each motion.start"},
    {.key = "snapshot_width",
     .type = IOCA_OPT_INT,
     .def_int = 640,
     .min = 16,
     .max = 7680,
     .help = "snapshot width, pixels (never upscaled)"},
    {.key = "snapshot_quality",
     .type = IOCA_OPT_INT,
     .def_int = 5,
     .min = 2,
     .max = 31,
     .help = "JPEG quantiser, 2 (best) .. 31 (smallest)"},
    {.key = "snapshot_url",
     .type = IOCA_OPT_STRING,
     .help = "main-stream URL to take snapshots from (url is then the analysis substream)"},
    {.key = "zones",
     .type = IOCA_OPT_GROUP_LIST,
     .max_count = IOCA_MOTION_MAX_ZONES,
     .children = zone_children,
     .help = "named polygons where motion counts (none: the whole picture, zone \"all\")"},
    {.key = "masks",
     .type = IOCA_OPT_GROUP_LIST,
     .max_count = IOCA_MOTION_MAX_ZONES,
     .children = mask_children,
     .help = "polygons never analysed (trees, clocks, roads)"},
    {.key = NULL},
};

/* Shoelace area of a polygon option (normalised units). */
static double polygon_area(const struct ioca_host *host, const struct ioca_opts *g)
{
	size_t n = host->opt_count(g, "polygon") / 2;
	double a = 0;
	for (size_t i = 0, j = n ? n - 1 : 0; i < n; j = i++) {
		double xi = host->opt_float_at(g, "polygon", 2 * i);
		double yi = host->opt_float_at(g, "polygon", 2 * i + 1);
		double xj = host->opt_float_at(g, "polygon", 2 * j);
		double yj = host->opt_float_at(g, "polygon", 2 * j + 1);
		a += xj * yi - xi * yj;
	}
	return fabs(a) / 2;
}

static int check_polygons(const struct ioca_host *host, const struct ioca_opts *opts,
			  const char *key, ioca_report_fn report, void *ctx)
{
	int problems = 0;
	size_t n = host->opt_count(opts, key);
	for (size_t i = 0; i < n; i++) {
		const struct ioca_opts *g = host->opt_group_at(opts, key, i);
		const char *name = host->opt_string(g, "name");
		if (polygon_area(host, g) <= 0) {
			report(ctx, g, "%s '%s': polygon has no area", key, name ? name : "");
			problems++;
		}
		if (!name || !*name || strlen(name) >= IOCA_MOTION_NAME_MAX) {
			report(ctx, g, "%s: name must be 1 to %d characters", key,
			       IOCA_MOTION_NAME_MAX - 1);
			problems++;
		}
		for (size_t k = 0; k < i && strcmp(key, "zones") == 0 && name; k++) {
			const char *other =
			    host->opt_string(host->opt_group_at(opts, key, k), "name");
			if (other && strcmp(other, name) == 0) {
				report(ctx, g, "zones: name '%s' used twice", name);
				problems++;
			}
		}
	}
	return problems;
}

int ioca_cam_check(const struct ioca_host *host, const struct ioca_opts *opts,
		   ioca_report_fn report, void *report_ctx)
{
	int problems = 0;
	const char *url = host->opt_string(opts, "url");
	if (!url || !*url) {
		report(report_ctx, opts, "url must not be empty");
		problems++;
	}
	if (host->opt_float(opts, "backoff_min") > host->opt_float(opts, "backoff_max")) {
		report(report_ctx, opts, "backoff_min must not exceed backoff_max");
		problems++;
	}
	if (url && host->opt_is_set(opts, "username") && !ioca_cam_url_is_network(url)) {
		report(report_ctx, opts, "username is set but url is not a network URL");
		problems++;
	}
	if (host->opt_is_set(opts, "password") && !host->opt_is_set(opts, "username")) {
		report(report_ctx, opts, "password is set without username");
		problems++;
	}
	const char *decode = host->opt_string(opts, "decode");
	bool analyses = decode && strcmp(decode, "full") == 0 && host->opt_bool(opts, "motion");
	if (!analyses && (host->opt_count(opts, "zones") || host->opt_count(opts, "masks"))) {
		report(report_ctx, opts,
		       "zones and masks need motion = true and decode = \"full\"");
		problems++;
	}
	if (host->opt_is_set(opts, "min_area_pct") && host->opt_is_set(opts, "min_object_pct")) {
		report(report_ctx, opts,
		       "min_area_pct is the old name of min_object_pct: set only min_object_pct");
		problems++;
	}
	problems += check_polygons(host, opts, "zones", report, report_ctx);
	problems += check_polygons(host, opts, "masks", report, report_ctx);
	return problems;
}

static int load_polygons(struct ioca_motion_polygon *dst, const struct ioca_host *host,
			 const struct ioca_opts *opts, const char *key, size_t *count)
{
	size_t n = host->opt_count(opts, key);
	if (n > IOCA_MOTION_MAX_ZONES)
		n = IOCA_MOTION_MAX_ZONES;
	*count = 0;
	for (size_t i = 0; i < n; i++) {
		const struct ioca_opts *g = host->opt_group_at(opts, key, i);
		size_t values = host->opt_count(g, "polygon");
		double *xy = calloc(values ? values : 1, sizeof *xy);
		if (!xy)
			return IOCA_ERROR;
		for (size_t k = 0; k < values; k++)
			xy[k] = host->opt_float_at(g, "polygon", k);
		const char *name = host->opt_string(g, "name");
		snprintf(dst[i].name, sizeof dst[i].name, "%s", name ? name : "");
		dst[i].xy = xy;
		dst[i].npoints = values / 2;
		*count = i + 1;
	}
	return IOCA_OK;
}

static int64_t seconds_ms(const struct ioca_host *host, const struct ioca_opts *o, const char *k)
{
	return (int64_t)llround(host->opt_float(o, k) * MS_PER_S);
}

int ioca_cam_config_load(struct ioca_cam_config *c, const struct ioca_host *host,
			 const struct ioca_opts *opts)
{
	memset(c, 0, sizeof *c);
	const char *url = host->opt_string(opts, "url");
	const char *user = host->opt_string(opts, "username");
	const char *pass = host->opt_string(opts, "password");
	c->url = ioca_cam_url_with_credentials(url ? url : "", user, pass);
	if (!c->url)
		return IOCA_ERROR;
	ioca_url_mask(c->url, c->url_masked, sizeof c->url_masked);
	c->network = ioca_cam_url_is_network(c->url);
	const char *snap = host->opt_string(opts, "snapshot_url");
	if (snap && *snap) {
		c->snapshot_url = ioca_cam_url_with_credentials(snap, user, pass);
		if (!c->snapshot_url)
			return IOCA_ERROR;
		ioca_url_mask(c->snapshot_url, c->snapshot_url_masked,
			      sizeof c->snapshot_url_masked);
	}
	c->transport = host->opt_string(opts, "transport");
	if (!c->transport)
		c->transport = "tcp";
	c->open_timeout_ms = seconds_ms(host, opts, "open_timeout");
	c->read_timeout_ms = seconds_ms(host, opts, "read_timeout");
	c->max_pixels = host->opt_int(opts, "max_pixels");
	c->backoff_min_ms = seconds_ms(host, opts, "backoff_min");
	c->backoff_max_ms = seconds_ms(host, opts, "backoff_max");
	c->realtime = host->opt_bool(opts, "realtime");
	if (ioca_cam_decode_mode_parse(host->opt_string(opts, "decode"), &c->decode) != IOCA_OK)
		c->decode = IOCA_CAM_DECODE_FULL;
	c->skip_loop_filter = host->opt_bool(opts, "skip_loop_filter");
	c->decode_threads = (int)host->opt_int(opts, "decode_threads");
	c->motion = host->opt_bool(opts, "motion") && c->decode == IOCA_CAM_DECODE_FULL;
	c->analyze_fps = host->opt_float(opts, "analyze_fps");
	c->frozen_s = host->opt_float(opts, "frozen_seconds");
	c->stats_interval_s = host->opt_float(opts, "stats_interval");
	c->snapshot = host->opt_bool(opts, "snapshot") && c->motion;
	c->snapshot_width = (int)host->opt_int(opts, "snapshot_width");
	c->snapshot_quality = (int)host->opt_int(opts, "snapshot_quality");

	struct ioca_motion_config *m = &c->mcfg;
	m->analysis_width = (int)host->opt_int(opts, "analysis_width");
	m->threshold = (double)host->opt_int(opts, "threshold");
	bool old_name =
	    host->opt_is_set(opts, "min_area_pct") && !host->opt_is_set(opts, "min_object_pct");
	c->old_min_area_pct = old_name;
	m->min_object_pct = host->opt_float(opts, old_name ? "min_area_pct" : "min_object_pct");
	m->min_object_pixels = (int)host->opt_int(opts, "min_object_pixels");
	m->stationary_s = host->opt_float(opts, "stationary_seconds");
	m->tamper.enabled = host->opt_bool(opts, "tamper");
	m->tamper.raise_s = host->opt_float(opts, "tamper_seconds");
	m->tamper.clear_s = host->opt_float(opts, "tamper_clear_seconds");
	m->min_frames = (int)host->opt_int(opts, "min_frames");
	m->event_gap_s = host->opt_float(opts, "event_gap");
	m->lighting_change_pct = host->opt_float(opts, "lighting_change_pct");
	if (load_polygons(c->zones, host, opts, "zones", &m->nzones) != IOCA_OK ||
	    load_polygons(c->masks, host, opts, "masks", &m->nmasks) != IOCA_OK)
		return IOCA_ERROR;
	m->zones = c->zones;
	m->masks = c->masks;
	return IOCA_OK;
}

void ioca_cam_config_free(struct ioca_cam_config *c)
{
	free(c->url);
	free(c->snapshot_url);
	for (size_t i = 0; i < IOCA_MOTION_MAX_ZONES; i++) {
		free((void *)c->zones[i].xy);
		free((void *)c->masks[i].xy);
	}
	memset(c, 0, sizeof *c);
}
