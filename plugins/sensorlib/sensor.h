/*
 * ioca_sensorlib: what every sensor plugin shares (modbus, iio, serial, exec, sim).
 *
 * A plugin polls its instrument and hands each result to one `struct
 * ioca_sensor` per instance; the library does the rest, speaking only through
 * the host table of plugin.h:
 *
 *   - value conditioning: raw * scale + offset, NaN/inf and the physical range
 *     (valid_min / valid_max) turned into `error` readings with a reason;
 *   - telemetry: readings aggregated over `publish_interval` (last | min | max
 *     | mean; min/max/mean/count also go into the reading's extra fields when
 *     the window holds more than one good sample), and/or published at once on
 *     a change beyond `deadband` or a change of status;
 *   - rules: high/low limits with a clear level (hysteresis) and hold times
 *     before raising and before clearing -> threshold.exceeded /
 *     threshold.cleared events;
 *   - faults: `fault_after` consecutive failed samples of a reading ->
 *     sensor.fault; its next good sample -> sensor.recovered.
 *
 * Optional numbers (limits, ranges) default to +/-IOCA_SENSOR_UNSET, "not
 * set" (sensor_unset.h): valid_min and low default to -1e300, valid_max and
 * high to +1e300, i.e. no limit.
 *
 * Text handed to the library (reading names, units, error texts) is made
 * valid UTF-8 on the way in (utf8.h): an instrument's Latin-1 "\xB0C" is
 * published as "\uFFFDC", never as invalid JSON.
 *
 * Options: every sensor plugin embeds the same keys in its option table with
 * the macros below, so the configuration reads the same for all of them:
 *
 *     static const struct ioca_option register_opts[] = {
 *             IOCA_SENSOR_READING_OPTIONS,            // name, unit, scale, offset, valid_min,
 * valid_max { .key = "address", .type = IOCA_OPT_INT, ... }, { .key = NULL },
 *     };
 *     static const struct ioca_option options[] = {
 *             IOCA_SENSOR_INSTANCE_OPTIONS,           // publish_interval, aggregate, deadband,
 * fault_after, rules { .key = "host", ... }, { .key = NULL },
 *     };
 *
 * Invariant: a `struct ioca_sensor` is used by one thread at a time (the
 * plugin's run thread); events are emitted from inside ioca_sensor_sample()
 * (threshold changes, so they leave within the poll that caused them) and
 * ioca_sensor_flush() (telemetry, fault/recovery), never from elsewhere.
 */
#ifndef IOCA_SENSOR_H
#define IOCA_SENSOR_H

#include <math.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "iocagent/plugin.h"
#include "sensor_unset.h"

/* ------------------------------------------------------------------------ */
/* Option table fragments                                                   */
/* ------------------------------------------------------------------------ */

/* Children of one entry of `rules` (see docs/sensors.md). */
extern const struct ioca_option ioca_sensor_rule_options[];

/* Defaults, also used when a plugin reads the options itself. */
#define IOCA_SENSOR_DEFAULT_PUBLISH_INTERVAL_S 60.0
#define IOCA_SENSOR_MAX_PUBLISH_INTERVAL_S     86400.0
#define IOCA_SENSOR_DEFAULT_FAULT_AFTER        3
#define IOCA_SENSOR_MAX_RULES                  256

/* Instance-level keys every sensor plugin declares. */
#define IOCA_SENSOR_INSTANCE_OPTIONS                                                               \
	{.key = "publish_interval",                                                                \
	 .type = IOCA_OPT_FLOAT,                                                                   \
	 .help = "seconds between telemetry messages (readings aggregated over it); 0: "           \
		 "every sample (or only changes beyond deadband when deadband > 0)",               \
	 .def_float = IOCA_SENSOR_DEFAULT_PUBLISH_INTERVAL_S,                                      \
	 .min = 0,                                                                                 \
	 .max = IOCA_SENSOR_MAX_PUBLISH_INTERVAL_S},                                               \
	    {.key = "aggregate",                                                                   \
	     .type = IOCA_OPT_ENUM,                                                                \
	     .help = "value published for an interval: last, min, max or mean of its samples",     \
	     .def_string = "mean",                                                                 \
	     .choices = "last|min|max|mean"},                                                      \
	    {.key = "deadband",                                                                    \
	     .type = IOCA_OPT_FLOAT,                                                               \
	     .help = "also publish a reading at once when it moves more than this from the "       \
		     "last published value (0: off)",                                              \
	     .def_float = 0,                                                                       \
	     .min = 0,                                                                             \
	     .max = 1e12},                                                                         \
	    {.key = "fault_after",                                                                 \
	     .type = IOCA_OPT_INT,                                                                 \
	     .help = "consecutive failed samples of a reading before sensor.fault",                \
	     .def_int = IOCA_SENSOR_DEFAULT_FAULT_AFTER,                                           \
	     .min = 1,                                                                             \
	     .max = 1000000},                                                                      \
	{                                                                                          \
		.key = "rules", .type = IOCA_OPT_GROUP_LIST,                                       \
		.help = "threshold rules: { reading; high/low; high_clear/low_clear; hold_raise; " \
			"hold_clear; severity; name }",                                            \
		.max_count = IOCA_SENSOR_MAX_RULES, .children = ioca_sensor_rule_options           \
	}

/* Keys of one configured reading (a Modbus register, a serial column, ...). */
#define IOCA_SENSOR_READING_OPTIONS                                                                \
	{.key = "name",                                                                            \
	 .type = IOCA_OPT_STRING,                                                                  \
	 .flags = IOCA_OPTF_REQUIRED,                                                              \
	 .help = "reading name as published (unique within the instance)"},                        \
	    {.key = "unit", .type = IOCA_OPT_STRING, .help = "unit as published, e.g. \"ug/m3\""}, \
	    {.key = "scale",                                                                       \
	     .type = IOCA_OPT_FLOAT,                                                               \
	     .help = "value = raw * scale + offset",                                               \
	     .def_float = 1.0},                                                                    \
	    {.key = "offset",                                                                      \
	     .type = IOCA_OPT_FLOAT,                                                               \
	     .help = "value = raw * scale + offset",                                               \
	     .def_float = 0.0},                                                                    \
	    {.key = "valid_min",                                                                   \
	     .type = IOCA_OPT_FLOAT,                                                               \
	     .help = "smallest physically possible value; below it the reading is an error "       \
		     "(out_of_range); -1e300: none",                                               \
	     .def_float = -IOCA_SENSOR_UNSET},                                                     \
	{                                                                                          \
		.key = "valid_max", .type = IOCA_OPT_FLOAT,                                        \
		.help = "largest physically possible value; above it the reading is an error "     \
			"(out_of_range); 1e300: none",                                             \
		.def_float = IOCA_SENSOR_UNSET                                                     \
	}

/* ------------------------------------------------------------------------ */
/* Configuration checks                                                     */
/* ------------------------------------------------------------------------ */

/* Answers whether `name` is a reading the plugin will produce. */
typedef bool (*ioca_sensor_known_fn)(void *ctx, const char *name);

/* The usual context of a known callback: the options being checked. */
struct ioca_sensor_known_ctx {
	const struct ioca_host *host;
	const struct ioca_opts *opts;
};

/*
 * Function: ioca_sensor_check
 *
 * Cross-field checks of the common keys, for a plugin's check() callback:
 * each rule has high and/or low, clear levels on the right side of their
 * limits, low < high; when `known` is not NULL, each rule's reading exists.
 *
 * Return value: number of problems reported.
 */
int ioca_sensor_check(const struct ioca_host *host, const struct ioca_opts *opts,
		      ioca_sensor_known_fn known, void *known_ctx, ioca_report_fn report,
		      void *report_ctx);

/*
 * Function: ioca_sensor_count_named
 *
 * How many groups of the group list `list` of `opts` are called `name` (their
 * key "name"); with `sublist` not NULL, how many groups of the lists `sublist`
 * of each of those (the registers of every device, say). For known callbacks
 * and checks of unique names.
 */
unsigned ioca_sensor_count_named(const struct ioca_host *host, const struct ioca_opts *opts,
				 const char *list, const char *sublist, const char *name);

/*
 * Function: ioca_sensor_check_reading
 *
 * Checks of one group declared with IOCA_SENSOR_READING_OPTIONS (valid_min <
 * valid_max, scale != 0). Return value: number of problems reported.
 */
int ioca_sensor_check_reading(const struct ioca_host *host, const struct ioca_opts *reading,
			      ioca_report_fn report, void *report_ctx);

/* ------------------------------------------------------------------------ */
/* Runtime                                                                  */
/* ------------------------------------------------------------------------ */

struct ioca_sensor;

/*
 * Function: ioca_sensor_new
 *
 * Read the instance keys (IOCA_SENSOR_INSTANCE_OPTIONS) of `opts`.
 *
 * Return value: the object, or NULL (out of memory; logged).
 */
struct ioca_sensor *ioca_sensor_new(const struct ioca_host *host, struct ioca_instance *inst,
				    const struct ioca_opts *opts);

void ioca_sensor_free(struct ioca_sensor *s);

/*
 * Function: ioca_sensor_add_reading
 *
 * Register a reading. Readings of the same `group` (a Modbus device, say) are
 * published together in one telemetry message. Rules naming this reading are
 * attached to it. `unit` may be NULL; it is copied.
 *
 * Return value: the reading's index (>= 0), or IOCA_ERROR (duplicate name,
 * out of memory).
 */
int ioca_sensor_add_reading(struct ioca_sensor *s, const char *name, const char *unit,
			    unsigned group);

/*
 * Function: ioca_sensor_add_reading_opts
 *
 * Register a reading from a group declared with IOCA_SENSOR_READING_OPTIONS:
 * name, unit and the conditioning (scale, offset, valid_min, valid_max) used
 * by ioca_sensor_sample_raw().
 *
 * Return value: the index, or IOCA_ERROR.
 */
int ioca_sensor_add_reading_opts(struct ioca_sensor *s, const struct ioca_opts *reading,
				 unsigned group);

/*
 * Function: ioca_sensor_set_conditioning_opts
 *
 * Set the conditioning of reading `index` from a group declared with
 * IOCA_SENSOR_READING_OPTIONS (scale, offset, valid_min, valid_max), for a
 * plugin that registers the reading itself (with a unit it derives when the
 * group has none).
 */
void ioca_sensor_set_conditioning_opts(struct ioca_sensor *s, int index,
				       const struct ioca_opts *reading);

/* Set the conditioning of a reading (defaults: scale 1, offset 0, no range). */
void ioca_sensor_set_conditioning(struct ioca_sensor *s, int index, double scale, double offset,
				  double valid_min, double valid_max);

/* Index of the reading called `name`, or IOCA_ERROR. */
int ioca_sensor_find(const struct ioca_sensor *s, const char *name);

/* Number of readings registered. */
size_t ioca_sensor_count(const struct ioca_sensor *s);

/* Name of rule `i`'s reading for rules that match no registered reading yet
 * (for a warning after all readings are registered); NULL when all match. */
const char *ioca_sensor_unmatched_rule(const struct ioca_sensor *s);

/*
 * Function: ioca_sensor_sample
 *
 * One sample of reading `index`, already in engineering units.
 *
 * Parameters:
 *   status  - IOCA_READING_OK, _CALIBRATING or _ERROR
 *   value   - ignored for _ERROR; a non-finite value becomes error "nan"
 *   error   - reason for _ERROR ("timeout", "crc", ...); copied
 *   mono_ms - host->now_mono_ms() of the sample (drives hold times and windows)
 *   wall_ms - host->now_wall_ms() of the sample (event and telemetry times)
 *
 * Rules are evaluated on good (`ok`) samples only; threshold events are
 * emitted from here. Calibrating samples are published but neither raise nor
 * clear a rule.
 */
void ioca_sensor_sample(struct ioca_sensor *s, int index, enum ioca_reading_status status,
			double value, const char *error, int64_t mono_ms, int64_t wall_ms);

/*
 * Function: ioca_sensor_sample_raw
 *
 * Like ioca_sensor_sample() with status ok or calibrating, but first applies
 * the reading's conditioning: raw * scale + offset, then the valid range
 * (outside it: error "out_of_range").
 */
void ioca_sensor_sample_raw(struct ioca_sensor *s, int index, bool calibrating, double raw,
			    int64_t mono_ms, int64_t wall_ms);

/* Error sample for every reading of `group` (a device or command that failed as a whole). */
void ioca_sensor_fail_group(struct ioca_sensor *s, unsigned group, const char *error,
			    int64_t mono_ms, int64_t wall_ms);

/*
 * Function: ioca_sensor_flush
 *
 * Emit what is due at `mono_ms`: telemetry of windows that ended (and
 * readings changed beyond the deadband), sensor.fault / sensor.recovered
 * events of readings whose state changed since the last flush (one event per
 * group and error). Call it after every poll round.
 *
 * Return value: milliseconds until the next telemetry is due (>= 0), or
 * INT64_MAX when nothing is scheduled (publish_interval 0).
 */
int64_t ioca_sensor_flush(struct ioca_sensor *s, int64_t mono_ms);

/* Publish every window now, due or not (before returning from run()). */
void ioca_sensor_flush_all(struct ioca_sensor *s, int64_t mono_ms);

/* Severity named "info", "warning" or "critical" (an ENUM option); `fallback` for any other name or
 * NULL. */
enum ioca_severity ioca_sensor_severity_from_name(const char *name, enum ioca_severity fallback);

/* Name of a reading status as in the payloads ("ok", "calibrating", "error"). */
const char *ioca_sensor_status_name(enum ioca_reading_status status);

#endif
