/*
 * iocagent plugin ABI: the one header a plugin includes.
 *
 * A plugin is a shared object that exports one symbol, IOCA_PLUGIN_SYMBOL
 * ("ioca_plugin_descriptor"), of type `const struct ioca_plugin`. The agent
 * loads it in a worker process of its own (one per configured instance), so a
 * plugin that crashes or hangs takes down only its own instance; the agent
 * restarts it with backoff.
 *
 * Life of an instance, all on one thread of the worker unless said otherwise:
 *
 *     create(host, inst, opts, &state)   parse options, allocate; no I/O that can block
 *     run(state)                         produce until host->should_stop() says so
 *       stop(state)                      called from ANOTHER thread when a stop is
 *                                        requested: make run() return promptly
 *     destroy(state)                     free everything
 *
 * The plugin never sees MQTT, the spool or other instances. What it produces
 * goes through the host function table (struct ioca_host): events, telemetry,
 * binary blobs (snapshots), log lines and statistics. The host functions are
 * thread-safe: a plugin may call them from threads of its own.
 *
 * Options are declared, not parsed: the descriptor carries an option table
 * (struct ioca_option) from which the agent validates the configuration
 * (unknown keys, types, ranges, each error with its FILE:LINE), fills in
 * defaults, prints `--list-plugins` and the docs. By the time create() runs,
 * every declared option is present with the declared type, so the accessors
 * (host->opt_*) never fail for a declared key.
 *
 * Versioning: IOCA_PLUGIN_ABI_MAJOR must match the agent's exactly;
 * IOCA_PLUGIN_ABI_MINOR may be lower than the agent's (the agent only ever
 * appends to struct ioca_host and struct ioca_plugin and never changes what
 * is there; it reads a descriptor field added in minor N only from plugins
 * built with minor >= N). A mismatch is refused with an error naming both
 * versions.
 *
 * ABI history: 1.0 the base; 1.1 appends host->run_mode() and the
 * descriptor's `features` (test and snapshot modes of `iocagent --test` /
 * `--snapshot`). A plugin reads a 1.1 member only when host->abi_minor >= 1;
 * the agent reads `features` only from a plugin with abi_minor >= 1.
 * 1.2 appends the descriptor's `default_memory_limit_mb`, read only from a
 * plugin with abi_minor >= 2.
 * 1.3 adds the option flag IOCA_OPTF_PATH (no new member: an agent older than
 * 1.3 refuses such a plugin, so the flag is never silently ignored), and
 * documents that time inside host->wait() counts as activity for the whole
 * wait, however long.
 * 1.4 appends host->snapshot_requested() (a picture asked for by the `snapshot`
 * remote command), read only when host->abi_minor >= 4, and the feature
 * IOCA_PLUGIN_F_SNAPSHOT_REQUEST that says a plugin answers it.
 * 1.5 appends host->max_blob_bytes() (the largest blob the agent can deliver,
 * so a plugin can re-encode a picture smaller instead of losing it), read only
 * when host->abi_minor >= 5.
 *
 * Return values: functions returning int use IOCA_OK (0) for success and
 * IOCA_ERROR (-1) for failure, nothing else, everywhere in the ABI.
 *
 * Out-of-tree plugins: `pkg-config --cflags iocagent` and build a shared
 * object with -fPIC -shared; install it into the agent's plugin_dir as
 * `<name>.so`.
 */
#ifndef IOCAGENT_PLUGIN_H
#define IOCAGENT_PLUGIN_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ABI version implemented by this header (history above). */
#define IOCA_PLUGIN_ABI_MAJOR 1
#define IOCA_PLUGIN_ABI_MINOR 5

/* Name of the exported descriptor symbol. */
#define IOCA_PLUGIN_SYMBOL "ioca_plugin_descriptor"

/* Declare the descriptor with this so the symbol name and visibility are right:
 *     IOCA_PLUGIN_EXPORT const struct ioca_plugin ioca_plugin_descriptor = { ... };
 */
#define IOCA_PLUGIN_EXPORT __attribute__((visibility("default")))

/*
 * Or define it with this, which fills in the ABI version (abi_major, abi_minor:
 * this header's IOCA_PLUGIN_ABI_MAJOR / _MINOR) and exports it; the plugin's
 * own members follow as designated initialisers of struct ioca_plugin:
 *     IOCA_PLUGIN_DESCRIPTOR(.name = "sim", .version = "1.0.0", .description = "...",
 *                            .options = sim_options, .check = sim_check,
 *                            .create = sim_create, .run = sim_run, .stop = sim_stop,
 *                            .destroy = sim_destroy);
 * It defines the same object as the line above; nothing of the ABI changes.
 */
#define IOCA_PLUGIN_DESCRIPTOR(...)                                                                \
	IOCA_PLUGIN_EXPORT const struct ioca_plugin ioca_plugin_descriptor = {                     \
	    .abi_major = IOCA_PLUGIN_ABI_MAJOR, .abi_minor = IOCA_PLUGIN_ABI_MINOR, __VA_ARGS__}

/* The one return-code vocabulary of the ABI. */
#define IOCA_OK    0
#define IOCA_ERROR (-1)

/* Severity of an event, as it appears in the payload ("info", ...). */
enum ioca_severity {
	IOCA_SEV_INFO = 0,
	IOCA_SEV_WARNING = 1,
	IOCA_SEV_CRITICAL = 2,
};

/* Log levels, the same as the agent's log_level setting. */
enum ioca_log_level {
	IOCA_LOG_ERROR = 0,
	IOCA_LOG_WARNING = 1,
	IOCA_LOG_INFO = 2,
	IOCA_LOG_DEBUG = 3,
};

/* Instrument status of one reading (Circular 10/2021/TT-BTNMT states). */
enum ioca_reading_status {
	IOCA_READING_OK = 0,
	IOCA_READING_CALIBRATING = 1,
	IOCA_READING_ERROR = 2,
};

/*
 * How the agent runs an instance (host->run_mode(), ABI 1.1).
 *
 *   IOCA_RUN_SERVICE   the service: run until asked to stop.
 *   IOCA_RUN_TEST      `iocagent --test`: what the plugin emits is printed on
 *                      the operator's terminal instead of being published.
 *                      Behave exactly as in service. With IOCA_RUN_F_SAMPLE, a
 *                      plugin that declares IOCA_PLUGIN_F_TEST_SAMPLE returns
 *                      IOCA_OK from run(), without a stop request, once it has
 *                      shown a representative sample (the camera: its first
 *                      camera.online plus one analysed second of stream).
 *   IOCA_RUN_SNAPSHOT  `iocagent --snapshot`: emit one picture of what the
 *                      instance sees with emit_blob(IOCA_SNAPSHOT_SUBTOPIC,
 *                      "image/jpeg", ...) and return IOCA_OK; events emitted
 *                      meanwhile are discarded. With IOCA_RUN_F_OVERLAY, draw
 *                      the analysis settings onto the picture (the camera:
 *                      zones, masks, grid size, current foreground). Only
 *                      plugins that declare IOCA_PLUGIN_F_SNAPSHOT are run so.
 */
enum ioca_run_mode {
	IOCA_RUN_SERVICE = 0,
	IOCA_RUN_TEST = 1,
	IOCA_RUN_SNAPSHOT = 2,
};

/* Flags of a run mode (host->run_mode()'s *flags). */
#define IOCA_RUN_F_SAMPLE  0x1u /* TEST: end by returning after a representative sample */
#define IOCA_RUN_F_OVERLAY 0x2u /* SNAPSHOT: draw the analysis settings onto the picture */

/* Subtopic of the picture a plugin emits in IOCA_RUN_SNAPSHOT. */
#define IOCA_SNAPSHOT_SUBTOPIC "snapshot"

/* Plugin features (struct ioca_plugin.features, ABI 1.1). */
#define IOCA_PLUGIN_F_TEST_SAMPLE 0x1u /* honours IOCA_RUN_F_SAMPLE */
#define IOCA_PLUGIN_F_SNAPSHOT    0x2u /* implements IOCA_RUN_SNAPSHOT */
/* ABI 1.4: polls host->snapshot_requested() in service and answers each request
 * with a picture; the `snapshot` command is refused ("not_supported") for
 * instances of plugins without it. */
#define IOCA_PLUGIN_F_SNAPSHOT_REQUEST 0x4u

/* ------------------------------------------------------------------------ */
/* Option table                                                             */
/* ------------------------------------------------------------------------ */

/* Type of an option value in the configuration file. */
enum ioca_opt_type {
	IOCA_OPT_END = 0,      /* terminates a table: { .key = NULL } also works */
	IOCA_OPT_BOOL,         /* true / false */
	IOCA_OPT_INT,          /* integer (libconfig int or int64) */
	IOCA_OPT_FLOAT,        /* number; an integer literal is accepted too */
	IOCA_OPT_STRING,       /* "text" */
	IOCA_OPT_ENUM,         /* a string out of `choices` */
	IOCA_OPT_FLOAT_ARRAY,  /* [ 1.0, 2, ... ] */
	IOCA_OPT_STRING_ARRAY, /* [ "a", "b" ] */
	IOCA_OPT_GROUP,        /* { key = value; ... } validated against `children` */
	IOCA_OPT_GROUP_LIST,   /* ( { ... }, { ... } ) each validated against `children` */
};

/* Option flags. */
#define IOCA_OPTF_REQUIRED 0x1u /* must be present; `def_*` is ignored */
#define IOCA_OPTF_SECRET   0x2u /* never printed (logs, --list-plugins shows "<secret>") */
#define IOCA_OPTF_FILE     0x4u /* a string naming a file that must be readable at check time */
/* A string naming a path (device, directory, sysfs root, a camera's file) that
 * should exist (a value with a scheme, "rtsp://...", is a URL and is not
 * checked): `iocagent -t` and start warn, with FILE:LINE, when it does not; they do not
 * refuse, because a device plugged in later is found by the instance's own
 * retries (ABI 1.3). */
#define IOCA_OPTF_PATH 0x8u

/*
 * One entry of a plugin's option table. Tables end with an entry whose key is
 * NULL. Only the fields that make sense for `type` are read:
 *
 *   BOOL          def_bool
 *   INT           def_int, min, max (checked when min < max)
 *   FLOAT         def_float, min, max (checked when min < max)
 *   STRING        def_string (NULL: no default, the key is then absent unless set)
 *   ENUM          def_string, choices ("a|b|c")
 *   FLOAT_ARRAY   min, max bound each element (when min < max); min_count,
 *                 max_count (0: unbounded) and count_multiple (0: any) bound
 *                 the length
 *   STRING_ARRAY  min_count, max_count
 *   GROUP         children
 *   GROUP_LIST    children, min_count, max_count
 *
 * A STRING without default and without IOCA_OPTF_REQUIRED is optional:
 * host->opt_is_set() tells whether it was given; opt_string() returns NULL.
 * The same holds for an array or group list: absent means zero elements.
 */
struct ioca_option {
	const char *key;
	enum ioca_opt_type type;
	unsigned flags;
	const char *help; /* one line, shown by --list-plugins and in docs */
	bool def_bool;
	int64_t def_int;
	double def_float;
	const char *def_string;
	double min;
	double max;
	const char *choices;
	unsigned min_count;
	unsigned max_count;
	unsigned count_multiple;
	const struct ioca_option *children;
};

/* Opaque handle on a group of validated option values. */
struct ioca_opts;

/* Opaque handle on the running instance, passed back to every host call. */
struct ioca_instance;

/* ------------------------------------------------------------------------ */
/* Telemetry                                                                */
/* ------------------------------------------------------------------------ */

/*
 * One reading of a telemetry message. `value` is ignored (sent as null) when
 * status is IOCA_READING_ERROR or the value is not finite; `error` is then the
 * reason ("timeout", "crc", ...). `unit` may be NULL. Extra fields for one
 * reading (min/max/mean of an aggregation window) go in `extra_json`: a JSON
 * object text whose members are merged into the reading, or NULL.
 */
struct ioca_reading {
	const char *name;
	double value;
	const char *unit;
	enum ioca_reading_status status;
	const char *error;
	const char *extra_json;
};

/* ------------------------------------------------------------------------ */
/* Host function table                                                      */
/* ------------------------------------------------------------------------ */

/*
 * What the agent offers a plugin. Passed to create(); valid until destroy()
 * returns. Every function is thread-safe.
 */
struct ioca_host {
	/* ABI of the agent that loaded the plugin. */
	uint16_t abi_major;
	uint16_t abi_minor;

	/* ---- options ------------------------------------------------------ */

	/*
	 * Function: opt_bool / opt_int / opt_float / opt_string
	 *
	 * Value of a scalar option of `opts` (the instance's options as passed to
	 * create(), or a group from opt_group / opt_group_at).
	 *
	 * Parameters:
	 *   opts - option group
	 *   key  - option key as declared in the table
	 *
	 * Return value:
	 *   The value, or its default. For a key that was not declared, or a
	 *   declared optional string that was not set: false / 0 / 0.0 / NULL.
	 *   opt_float also returns integer options converted. opt_string also
	 *   returns ENUM values. The string stays valid until destroy().
	 */
	bool (*opt_bool)(const struct ioca_opts *opts, const char *key);
	int64_t (*opt_int)(const struct ioca_opts *opts, const char *key);
	double (*opt_float)(const struct ioca_opts *opts, const char *key);
	const char *(*opt_string)(const struct ioca_opts *opts, const char *key);

	/*
	 * Function: opt_is_set
	 *
	 * Whether `key` was written in the configuration, as opposed to taking
	 * its default from the option table or being absent.
	 */
	bool (*opt_is_set)(const struct ioca_opts *opts, const char *key);

	/*
	 * Function: opt_count
	 *
	 * Number of elements of an array or group-list option; 0 when absent.
	 */
	size_t (*opt_count)(const struct ioca_opts *opts, const char *key);

	/*
	 * Function: opt_float_at / opt_string_at / opt_group_at
	 *
	 * Element `index` of a FLOAT_ARRAY, STRING_ARRAY or GROUP_LIST option.
	 *
	 * Return value:
	 *   The element; 0.0 / NULL when index >= opt_count(opts, key).
	 */
	double (*opt_float_at)(const struct ioca_opts *opts, const char *key, size_t index);
	const char *(*opt_string_at)(const struct ioca_opts *opts, const char *key, size_t index);
	const struct ioca_opts *(*opt_group_at)(const struct ioca_opts *opts, const char *key,
						size_t index);

	/*
	 * Function: opt_group
	 *
	 * A GROUP option, or NULL when it is absent.
	 */
	const struct ioca_opts *(*opt_group)(const struct ioca_opts *opts, const char *key);

	/* ---- output ------------------------------------------------------- */

	/*
	 * Function: emit_event
	 *
	 * Emit one event. The agent wraps it in the envelope of the interface
	 * (v, id, seq, time, agent, site, source, plugin, type, severity, data),
	 * stores it in the spool and publishes it on
	 * <prefix>/<agent>/<instance>/event/<type with '.' replaced by '/'>.
	 *
	 * Parameters:
	 *   inst      - the instance handle given to create()
	 *   type      - dotted event type, [a-z0-9_.]{1,64}, e.g. "motion.start"
	 *   severity  - IOCA_SEV_*
	 *   time_ms   - when it happened, milliseconds since the Unix epoch (UTC);
	 *               0 means now
	 *   data_json - a JSON object text ("{...}") for "data", or NULL for {}
	 *
	 * Return value:
	 *   IOCA_OK when handed to the agent; IOCA_ERROR when the arguments are
	 *   invalid (logged) or the agent is gone. The call may block briefly when
	 *   the instance emits faster than its `max_rate` (back-pressure, nothing
	 *   is dropped).
	 */
	int (*emit_event)(struct ioca_instance *inst, const char *type, enum ioca_severity severity,
			  int64_t time_ms, const char *data_json);

	/*
	 * Function: emit_telemetry
	 *
	 * Emit one telemetry message: type "telemetry", data {"readings": [...]}
	 * on <prefix>/<agent>/<instance>/telemetry.
	 *
	 * Parameters:
	 *   inst     - instance handle
	 *   time_ms  - time of the readings (ms since epoch, UTC); 0 means now
	 *   readings - array of `count` readings (count >= 1)
	 *
	 * Return value: IOCA_OK or IOCA_ERROR, as emit_event.
	 */
	int (*emit_telemetry)(struct ioca_instance *inst, int64_t time_ms,
			      const struct ioca_reading *readings, size_t count);

	/*
	 * Function: emit_blob
	 *
	 * Emit binary data (a JPEG snapshot) on <prefix>/<agent>/<instance>/<subtopic>.
	 * With MQTT 5 the content type travels as the message's content type.
	 *
	 * Parameters:
	 *   inst         - instance handle
	 *   subtopic     - [a-z0-9_/]{1,32}, e.g. "snapshot"
	 *   content_type - MIME type, e.g. "image/jpeg"
	 *   data, len    - the bytes; len <= IOCA_BLOB_MAX_BYTES
	 *   time_ms      - when it was taken (ms since epoch); 0 means now
	 *
	 * Return value: IOCA_OK or IOCA_ERROR, as emit_event.
	 */
	int (*emit_blob)(struct ioca_instance *inst, const char *subtopic, const char *content_type,
			 const void *data, size_t len, int64_t time_ms);

	/*
	 * Function: log / vlog
	 *
	 * Write a log line attributed to the instance. Lines at a level above the
	 * agent's log_level are discarded cheaply. Never put secrets in a line.
	 */
	void (*log)(struct ioca_instance *inst, enum ioca_log_level level, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));
	void (*vlog)(struct ioca_instance *inst, enum ioca_log_level level, const char *fmt,
		     va_list ap) __attribute__((format(printf, 3, 0)));

	/*
	 * Function: stat_set / stat_add
	 *
	 * Set a gauge or add to a counter in the instance's statistics, reported
	 * in the agent's metrics message under "instances"."<name>"."stats".
	 * `name` is [a-z0-9_]{1,48}. Cheap: values are batched, not sent per call.
	 */
	void (*stat_set)(struct ioca_instance *inst, const char *name, double value);
	void (*stat_add)(struct ioca_instance *inst, const char *name, double delta);

	/* ---- control ------------------------------------------------------ */

	/*
	 * Function: should_stop
	 *
	 * Return value: true once the instance has been asked to stop; run() must
	 * then return promptly. Calling it also tells the agent the plugin is
	 * alive: a plugin whose run() calls no host function for the instance's
	 * `hang_timeout` is considered hung and restarted.
	 */
	bool (*should_stop)(struct ioca_instance *inst);

	/*
	 * Function: wait
	 *
	 * Sleep up to `timeout_ms` milliseconds, waking early when a stop is
	 * requested. Waiting here is waiting on purpose: the plugin counts as
	 * alive for the whole wait, however long it is compared with
	 * `hang_timeout` (a reconnect backoff of a minute is not a hang). Sleep
	 * in wait(), never in sleep()/nanosleep(), when a pause may be long.
	 *
	 * Return value: true when a stop was requested (run() should return),
	 * false when the time ran out.
	 */
	bool (*wait)(struct ioca_instance *inst, int64_t timeout_ms);

	/*
	 * Function: heartbeat
	 *
	 * Tell the agent the plugin is alive without doing anything else. For
	 * loops that legitimately spend long in a library call between
	 * should_stop() checks, call this from inside them (for example from an
	 * I/O interrupt callback).
	 */
	void (*heartbeat)(struct ioca_instance *inst);

	/* ---- time --------------------------------------------------------- */

	/* Wall-clock time, milliseconds since the Unix epoch (UTC). */
	int64_t (*now_wall_ms)(void);
	/* Monotonic time in milliseconds (for intervals and deadlines). */
	int64_t (*now_mono_ms)(void);

	/* ---- identity ----------------------------------------------------- */

	/* The instance's configured name ("cam-ngatu-01"). */
	const char *(*instance_name)(const struct ioca_instance *inst);

	/* ---- ABI 1.1 ------------------------------------------------------ */

	/*
	 * Function: run_mode
	 *
	 * How the agent runs this instance (enum ioca_run_mode above). Constant
	 * for the life of the instance; may be called from create() on. Present
	 * only when abi_minor >= 1; NULL in the table given to check(), which
	 * has no instance.
	 *
	 * Parameters:
	 *   inst  - instance handle
	 *   flags - out, may be NULL: IOCA_RUN_F_* bits of the mode
	 *
	 * Return value: the mode (IOCA_RUN_SERVICE in normal operation).
	 */
	enum ioca_run_mode (*run_mode)(const struct ioca_instance *inst, unsigned *flags);

	/* ---- ABI 1.4 ------------------------------------------------------ */

	/*
	 * Function: snapshot_requested
	 *
	 * Whether someone (the `snapshot` remote command) asked for a picture
	 * since the last call. A true answer takes the request: answer it, as
	 * soon as the next picture of the live stream is decoded, with one
	 * emit_blob(IOCA_SNAPSHOT_SUBTOPIC, "image/jpeg", ...). Open no second
	 * connection to the device for it. Cheap (one atomic load): poll it
	 * once per decoded frame. Also a sign of life, as should_stop().
	 *
	 * Present only when abi_minor >= 4; NULL in the table given to check().
	 * Only plugins that declare IOCA_PLUGIN_F_SNAPSHOT_REQUEST are asked.
	 *
	 * Return value: true once per request; false otherwise.
	 */
	bool (*snapshot_requested)(struct ioca_instance *inst);

	/* ---- ABI 1.5 ------------------------------------------------------ */

	/*
	 * Function: max_blob_bytes
	 *
	 * The largest blob (bytes of `data`) emit_blob() can deliver: the
	 * broker's maximum packet size (`mqtt.max_packet_size`, or the limit the
	 * broker announced) less what the topic, envelope and properties take.
	 * A larger blob is not lost silently but cannot be sent: the agent moves
	 * it aside and reports it (agent.record_rejected, or a `too_large` reply
	 * to a `snapshot` command). A plugin that can make its blob smaller (a
	 * JPEG at a lower quality or size) should do so until it fits.
	 *
	 * The value may change while the instance runs; ask for each blob.
	 *
	 * Parameters:
	 *   inst      - instance handle
	 *   requested - true for the picture that answers snapshot_requested()
	 *               (it also goes to the requester's reply topic, and the
	 *               limit comes from the broker at the time of the request);
	 *               false for every other blob
	 *
	 * Present only when abi_minor >= 5; NULL in the table given to check().
	 *
	 * Return value: the limit in bytes, at least 1; 0 when no limit is known
	 * (IOCA_BLOB_MAX_BYTES still holds).
	 */
	size_t (*max_blob_bytes)(struct ioca_instance *inst, bool requested);
};

/* Largest blob accepted by emit_blob(). */
#define IOCA_BLOB_MAX_BYTES (4u * 1024u * 1024u)

/* ------------------------------------------------------------------------ */
/* The descriptor                                                           */
/* ------------------------------------------------------------------------ */

/*
 * Reporter handed to a plugin's check() callback: reports one problem with the
 * options in `where` (a group handle; its file and line are named in the error).
 */
typedef void (*ioca_report_fn)(void *report_ctx, const struct ioca_opts *where, const char *fmt,
			       ...) __attribute__((format(printf, 3, 4)));

struct ioca_plugin {
	/* IOCA_PLUGIN_ABI_MAJOR / _MINOR the plugin was built against. */
	uint16_t abi_major;
	uint16_t abi_minor;

	/* Plugin name, [a-z0-9_]{1,32}; the file is <name>.so. */
	const char *name;
	/* Plugin version, free text ("1.2.0"). */
	const char *version;
	/* One line describing what it does. */
	const char *description;

	/* Option table, terminated by an entry with key == NULL. May be NULL. */
	const struct ioca_option *options;

	/*
	 * Function: check (optional, may be NULL)
	 *
	 * Cross-field validation of already type-checked options, run by the agent
	 * at configuration time (`-t`, start, reload). Must not touch devices or
	 * the network. Report every problem through `report`; do not stop at the
	 * first.
	 *
	 * Return value: the number of problems reported (0: fine).
	 */
	int (*check)(const struct ioca_host *host, const struct ioca_opts *opts,
		     ioca_report_fn report, void *report_ctx);

	/*
	 * Function: create
	 *
	 * Make a new instance from validated options. No blocking I/O here.
	 *
	 * Parameters:
	 *   host  - host function table, valid until destroy() returns
	 *   inst  - instance handle to pass back to host functions
	 *   opts  - the instance's options
	 *   state - out: the plugin's state, passed to run/stop/destroy
	 *
	 * Return value: IOCA_OK, or IOCA_ERROR after logging why (the worker then
	 * exits and is restarted with backoff).
	 */
	int (*create)(const struct ioca_host *host, struct ioca_instance *inst,
		      const struct ioca_opts *opts, void **state);

	/*
	 * Function: run
	 *
	 * Produce events and telemetry until host->should_stop() is true (or
	 * host->wait() returns true). Failures of cameras and sensors are
	 * reported as events and retried inside run(); run() does not return
	 * because a device is down.
	 *
	 * Return value: IOCA_OK after a requested stop; IOCA_ERROR for a fatal
	 * error (logged first), after which the worker exits and is restarted.
	 */
	int (*run)(void *state);

	/*
	 * Function: stop
	 *
	 * Called from another thread when the instance must stop. Make run()
	 * return within a second: set a flag, interrupt a blocking call. Must not
	 * free anything. May be called more than once.
	 */
	void (*stop)(void *state);

	/*
	 * Function: destroy
	 *
	 * Free the state after run() returned (or after create() succeeded when
	 * run() is never called).
	 */
	void (*destroy)(void *state);

	/* ABI 1.1: IOCA_PLUGIN_F_* bits; read only when abi_minor >= 1. */
	uint32_t features;

	/*
	 * Since ABI 1.2: the worker's address-space limit in MiB (RLIMIT_AS) for
	 * instances of this plugin when neither the instance's memory_limit_mb
	 * nor agent.worker_memory_limit_mb is set; 0: none. For plugins whose
	 * input can make them grow (decoders of untrusted streams).
	 */
	uint32_t default_memory_limit_mb;
};

#ifdef __cplusplus
}
#endif

#endif /* IOCAGENT_PLUGIN_H */
