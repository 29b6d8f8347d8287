/*
 * In-process plugin harness for tests.
 *
 * Loads a plugin shared object with the same loader and option validation the
 * agent uses, runs it on a thread of the test process with a host table that
 * records everything the plugin emits, and lets the test wait for and inspect
 * those records. The plugin cannot tell the difference from a worker: the ABI
 * is the same. A test runs the plugin in a test or snapshot mode as the probe
 * does, by adding the reserved group to the options (agent/plugin/run_mode.h):
 *     ioca_run = { mode = "snapshot"; sample = false; overlay = true; };
 *
 *     struct ioca_harness *h = ioca_harness_new(PLUGIN_SO, "url = \"clip.mp4\"; analyze_fps = 5;",
 * err, sizeof err); ioca_harness_start(h); const struct ioca_harness_record *r =
 * ioca_harness_wait_for(h, "motion.start", 10000); ioca_harness_stop(h);          // stop() + join
 * + destroy() ioca_harness_free(h);
 */
#ifndef IOCA_PLUGIN_HARNESS_H
#define IOCA_PLUGIN_HARNESS_H

#include <stddef.h>
#include <stdint.h>

#include "iocagent/plugin.h"

enum ioca_harness_kind {
	IOCA_HARNESS_EVENT,
	IOCA_HARNESS_TELEMETRY,
	IOCA_HARNESS_BLOB,
};

/* One thing the plugin emitted. Owned by the harness; valid until ioca_harness_free(). */
struct ioca_harness_record {
	enum ioca_harness_kind kind;
	char *type; /* event type; "telemetry" for telemetry; the subtopic for a blob */
	enum ioca_severity severity;
	int64_t time_ms;     /* as given by the plugin (0 replaced by now) */
	int64_t mono_ms;     /* host monotonic time when it was recorded */
	char *json;          /* event: data object text; telemetry: {"readings":[...]} text */
	unsigned char *blob; /* blob bytes (kind BLOB) */
	size_t blob_len;
	char *content_type; /* blob content type */
};

struct ioca_harness;

/*
 * Load the plugin at `so_path` and validate `options` (libconfig text of the
 * instance's settings, without the braces, e.g. `rate = 10.0; kind = "event";`)
 * against its option table and check() callback. On failure returns NULL and
 * writes the errors ("LINE: message" lines) into err.
 */
struct ioca_harness *ioca_harness_new(const char *so_path, const char *options, char *err,
				      size_t errlen);

/* Instance name reported to the plugin (default "test"). Call before start. */
void ioca_harness_set_name(struct ioca_harness *h, const char *name);

/* What host->max_blob_bytes() answers (default 0: no limit known). */
void ioca_harness_set_max_blob_bytes(struct ioca_harness *h, size_t max_bytes);

/* create() and run() on a new thread. IOCA_OK, or IOCA_ERROR when create() failed. */
int ioca_harness_start(struct ioca_harness *h);

/* Request a stop (stop() callback + should_stop), join run(), destroy(). Returns
 * run()'s return value. Safe to call twice. */
int ioca_harness_stop(struct ioca_harness *h);

/* Milliseconds stop took from the request until run() returned (after ioca_harness_stop). */
int64_t ioca_harness_stop_latency_ms(const struct ioca_harness *h);

/* Whether run() has returned on its own (without a stop request). */
int ioca_harness_run_returned(const struct ioca_harness *h);

void ioca_harness_free(struct ioca_harness *h);

/* Number of records so far whose type equals `type` (NULL: all records). */
size_t ioca_harness_count(struct ioca_harness *h, const char *type);

/* The index-th record (0-based, in emission order) or NULL. */
const struct ioca_harness_record *ioca_harness_get(struct ioca_harness *h, size_t index);

/* Wait until a record of `type` (NULL: any) exists beyond the first `skip` such records;
 * returns it or NULL after timeout_ms. */
const struct ioca_harness_record *ioca_harness_wait_for_nth(struct ioca_harness *h,
							    const char *type, size_t skip,
							    int64_t timeout_ms);

/* Same as ioca_harness_wait_for_nth(h, type, 0, timeout_ms). */
const struct ioca_harness_record *ioca_harness_wait_for(struct ioca_harness *h, const char *type,
							int64_t timeout_ms);

/* Last value set by stat_set or accumulated by stat_add for `name` (0 if never). */
double ioca_harness_stat(struct ioca_harness *h, const char *name);

/* Number of log lines at `level` or more severe that contain `needle` (NULL: any). */
size_t ioca_harness_log_count(struct ioca_harness *h, enum ioca_log_level level,
			      const char *needle);

/* Print the plugin's log lines to stderr as they come (default on when IOCA_TEST_VERBOSE is set).
 */
void ioca_harness_echo_logs(struct ioca_harness *h, int on);

#endif
