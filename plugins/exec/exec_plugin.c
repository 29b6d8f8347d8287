/*
 * exec plugin: run a command every `interval`, read its stdout as a JSON
 * object of readings (exec_parse.c), and hand them to ioca_sensorlib. A
 * command that cannot start, exits non-zero, is killed at its timeout or
 * prints something that is not a JSON object fails every known reading with
 * the reason (exit status and the first line of stderr), so faults reach
 * sensor.fault like any other sensor's.
 *
 * Readings the command prints without declaring them are registered as they
 * come, up to `max_readings` in all; names beyond that are dropped, counted
 * (`readings_dropped`) and logged at most once per DROP_LOG_INTERVAL_MS, so a
 * command inventing names cannot grow the worker without bound.
 *
 * Invariant: no shell is involved unless `shell = true`; then the single
 * `command` element is passed to /bin/sh -c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exec_parse.h"
#include "exec_run.h"
#include "iocagent/plugin.h"
#include "sensor.h"
#include "sensor_loop.h"
#include "utf8.h"

#define MS_PER_S             1000.0
#define DEFAULT_INTERVAL_S   60.0
#define DEFAULT_TIMEOUT_S    10.0
#define MAX_ARGS             64
#define REASON_MAX           160
#define STDERR_IN_REASON_MAX 100
#define SHELL_PATH           "/bin/sh"
#define DEFAULT_MAX_READINGS IOCA_EXEC_MAX_READINGS
#define MAX_READINGS_LIMIT   4096
#define DROP_LOG_INTERVAL_MS 60000

static const struct ioca_option reading_options[] = {
    IOCA_SENSOR_READING_OPTIONS,
    {.key = NULL},
};

static const struct ioca_option exec_options[] = {
    IOCA_SENSOR_INSTANCE_OPTIONS,
    {.key = "command",
     .type = IOCA_OPT_STRING_ARRAY,
     .flags = IOCA_OPTF_REQUIRED,
     .help = "program and arguments, e.g. [\"/usr/local/bin/rain-gauge\", \"--json\"]; with "
	     "shell = true one shell command line",
     .min_count = 1,
     .max_count = MAX_ARGS},
    {.key = "shell",
     .type = IOCA_OPT_BOOL,
     .help = "run the single command element with /bin/sh -c",
     .def_bool = false},
    {.key = "interval",
     .type = IOCA_OPT_FLOAT,
     .help = "seconds between runs",
     .def_float = DEFAULT_INTERVAL_S,
     .min = 0.1,
     .max = 86400},
    {.key = "timeout",
     .type = IOCA_OPT_FLOAT,
     .help = "seconds a run may take; then its whole process group is killed",
     .def_float = DEFAULT_TIMEOUT_S,
     .min = 0.1,
     .max = 3600},
    {.key = "readings",
     .type = IOCA_OPT_GROUP_LIST,
     .help = "readings to expect: { name; unit; scale; offset; valid_min; valid_max } "
	     "(others printed by the command are taken as they come)",
     .max_count = IOCA_EXEC_MAX_READINGS,
     .children = reading_options},
    {.key = "max_readings",
     .type = IOCA_OPT_INT,
     .help = "most readings the instance keeps, declared and printed ones together; "
	     "further new names are dropped and counted (readings_dropped)",
     .def_int = DEFAULT_MAX_READINGS,
     .min = 1,
     .max = MAX_READINGS_LIMIT},
    {.key = NULL},
};

struct exec_state {
	struct ioca_sensor_loop loop; /* first: see ioca_sensor_loop_plugin_run() */
	const struct ioca_host *host;
	struct ioca_instance *inst;
	struct ioca_sensor *sensor;
	char *argv[MAX_ARGS + 4];
	int64_t interval_ms, timeout_ms;
	bool *seen; /* per reading: present in this run's output */
	size_t seen_cap;
	char last_reason[REASON_MAX];
	struct ioca_exec_result *res;
	size_t max_readings;
	unsigned long dropped;       /* new names dropped since the last log line */
	int64_t drop_logged_mono_ms; /* when that line was written; 0: never */
};

static int exec_check(const struct ioca_host *host, const struct ioca_opts *opts,
		      ioca_report_fn report, void *report_ctx)
{
	int problems = 0;
	size_t nr = host->opt_count(opts, "readings");

	if (host->opt_bool(opts, "shell") && host->opt_count(opts, "command") != 1) {
		report(report_ctx, opts, "with shell = true, 'command' must be one command line");
		problems++;
	}
	if ((int64_t)nr > host->opt_int(opts, "max_readings")) {
		report(report_ctx, opts, "%zu readings declared but max_readings is %lld", nr,
		       (long long)host->opt_int(opts, "max_readings"));
		problems++;
	}
	for (size_t i = 0; i < nr; i++)
		problems += ioca_sensor_check_reading(host, host->opt_group_at(opts, "readings", i),
						      report, report_ctx);
	problems += ioca_sensor_check(host, opts, NULL, NULL, report, report_ctx);
	return problems;
}

static void exec_destroy(void *state)
{
	struct exec_state *st = state;

	if (!st)
		return;
	free(st->seen);
	free(st->res);
	ioca_sensor_loop_plugin_free(st);
}

static int build_argv(struct exec_state *st, const struct ioca_opts *opts)
{
	const struct ioca_host *h = st->host;
	size_t n = h->opt_count(opts, "command");
	size_t a = 0;

	if (h->opt_bool(opts, "shell")) {
		st->argv[a++] = (char *)SHELL_PATH;
		st->argv[a++] = (char *)"-c";
	}
	for (size_t i = 0; i < n && i < MAX_ARGS; i++)
		st->argv[a++] = (char *)h->opt_string_at(opts, "command", i);
	st->argv[a] = NULL;
	return st->argv[0] ? IOCA_OK : IOCA_ERROR;
}

static int64_t exec_poll(void *ctx, int64_t due_ms, int64_t now_ms);

static int exec_create(const struct ioca_host *host, struct ioca_instance *inst,
		       const struct ioca_opts *opts, void **state)
{
	struct exec_state *st =
	    ioca_sensor_loop_plugin_new(sizeof *st, host, inst, opts, exec_poll, 0);
	size_t nr = host->opt_count(opts, "readings");

	if (!st)
		return IOCA_ERROR;
	st->host = host;
	st->inst = inst;
	st->sensor = st->loop.sensor;
	st->max_readings = (size_t)host->opt_int(opts, "max_readings");
	st->interval_ms = (int64_t)(host->opt_float(opts, "interval") * MS_PER_S);
	st->timeout_ms = (int64_t)(host->opt_float(opts, "timeout") * MS_PER_S);
	st->res = malloc(sizeof *st->res);
	if (!st->res || build_argv(st, opts) != IOCA_OK)
		goto fail;
	for (size_t i = 0; i < nr; i++)
		if (ioca_sensor_add_reading_opts(st->sensor,
						 host->opt_group_at(opts, "readings", i), 0) < 0)
			goto fail;
	*state = st;
	return IOCA_OK;
fail:
	host->log(inst, IOCA_LOG_ERROR, "exec: cannot set up (duplicate reading or out of memory)");
	exec_destroy(st);
	return IOCA_ERROR;
}

static bool ensure_seen(struct exec_state *st)
{
	size_t n = ioca_sensor_count(st->sensor);
	bool *s;

	if (n <= st->seen_cap)
		return true;
	s = realloc(st->seen, n * 2 * sizeof *s);
	if (!s)
		return false;
	st->seen = s;
	st->seen_cap = n * 2;
	return true;
}

/* A new name the table has no room for: count it, log at most once per interval. */
static void drop_reading(struct exec_state *st, const char *name, int64_t mono)
{
	char clean[IOCA_EXEC_NAME_MAX * IOCA_UTF8_REPLACEMENT_LEN + 1];

	st->host->stat_add(st->inst, "readings_dropped", 1);
	st->dropped++;
	if (st->drop_logged_mono_ms != 0 && mono - st->drop_logged_mono_ms < DROP_LOG_INTERVAL_MS)
		return;
	ioca_utf8_sanitize(clean, sizeof clean, name, strlen(name));
	st->host->log(st->inst, IOCA_LOG_WARNING,
		      "exec: %s: reading table full (max_readings = %zu): %lu new reading(s) "
		      "dropped, e.g. '%s'",
		      st->argv[0], st->max_readings, st->dropped, clean);
	st->dropped = 0;
	st->drop_logged_mono_ms = mono;
}

static void on_value(void *ctx, const struct ioca_exec_value *v)
{
	struct exec_state *st = ctx;
	int64_t mono = st->host->now_mono_ms();
	int64_t wall = st->host->now_wall_ms();
	int idx = ioca_sensor_find(st->sensor, v->name);

	if (idx < 0 && ioca_sensor_count(st->sensor) >= st->max_readings) {
		drop_reading(st, v->name, mono);
		return;
	}
	if (idx < 0)
		idx = ioca_sensor_add_reading(st->sensor, v->name, v->unit, 0);
	if (idx < 0 || !ensure_seen(st))
		return;
	st->seen[idx] = true;
	if (v->status == IOCA_READING_ERROR)
		ioca_sensor_sample(st->sensor, idx, IOCA_READING_ERROR, 0, v->error, mono, wall);
	else
		ioca_sensor_sample_raw(st->sensor, idx, v->status == IOCA_READING_CALIBRATING,
				       v->value, mono, wall);
}

/* First line of stderr, trimmed and made valid UTF-8, for reasons and logs. */
static void first_line(const char *text, char *buf, size_t len)
{
	ioca_utf8_sanitize(buf, len, text, strcspn(text, "\r\n"));
}

/* Fail every known reading with `reason`; log it when it differs from the last one. */
static void fail_all(struct exec_state *st, const char *reason)
{
	int64_t mono = st->host->now_mono_ms();

	if (strcmp(reason, st->last_reason) != 0)
		st->host->log(st->inst, IOCA_LOG_WARNING, "exec: %s: %s", st->argv[0], reason);
	snprintf(st->last_reason, sizeof st->last_reason, "%s", reason);
	if (ioca_sensor_count(st->sensor) == 0)
		st->host->log(
		    st->inst, IOCA_LOG_DEBUG,
		    "exec: no readings known yet; declare 'readings' to get sensor.fault");
	ioca_sensor_fail_group(st->sensor, 0, reason, mono, st->host->now_wall_ms());
}

static void handle_result(struct exec_state *st)
{
	const struct ioca_exec_result *r = st->res;
	char reason[REASON_MAX], line[STDERR_IN_REASON_MAX + 1];
	char perr[64];

	first_line(r->err, line, sizeof line);
	if (!r->spawned) {
		snprintf(reason, sizeof reason, "spawn_failed: %s", strerror(r->spawn_errno));
	} else if (r->timed_out) {
		snprintf(reason, sizeof reason, "timeout");
	} else if (!r->exited) {
		snprintf(reason, sizeof reason, "signal %d%s%s", r->signal, line[0] ? ": " : "",
			 line);
	} else if (r->exit_code != 0) {
		snprintf(reason, sizeof reason, "exit_status %d%s%s", r->exit_code,
			 line[0] ? ": " : "", line);
	} else if (r->out_truncated) {
		snprintf(reason, sizeof reason, "output_too_large");
	} else {
		if (!ensure_seen(st))
			return;
		if (st->seen)
			memset(st->seen, 0, st->seen_cap * sizeof *st->seen);
		if (ioca_exec_parse(r->out, r->out_len, on_value, st, perr, sizeof perr) !=
		    IOCA_OK) {
			fail_all(st, perr);
			return;
		}
		if (line[0])
			st->host->log(st->inst, IOCA_LOG_INFO, "exec: stderr: %s", line);
		st->last_reason[0] = '\0';
		/* Expected readings the command did not print this time. */
		for (size_t i = 0; i < ioca_sensor_count(st->sensor); i++)
			if (i < st->seen_cap && !st->seen[i])
				ioca_sensor_sample(st->sensor, (int)i, IOCA_READING_ERROR, 0,
						   "missing", st->host->now_mono_ms(),
						   st->host->now_wall_ms());
		return;
	}
	fail_all(st, reason);
}

/* One run of the command (ioca_sensor_poll_fn). */
static int64_t exec_poll(void *ctx, int64_t due_ms, int64_t now_ms)
{
	struct exec_state *st = ctx;
	const struct ioca_host *host = st->host;

	(void)now_ms;
	ioca_exec_run(st->argv, st->timeout_ms, host, st->inst, st->res);
	if (st->res->stopped)
		return IOCA_SENSOR_POLL_STOP;
	host->stat_add(st->inst, "runs", 1);
	host->stat_set(st->inst, "last_duration_ms", (double)st->res->duration_ms);
	handle_result(st);
	return ioca_sensor_next_period(due_ms, st->interval_ms, host->now_mono_ms());
}

IOCA_PLUGIN_DESCRIPTOR(.name = "exec", .version = "1.0.0",
		       .description = "Readings from a command's JSON output, run every interval",
		       .options = exec_options, .check = exec_check, .create = exec_create,
		       .run = ioca_sensor_loop_plugin_run, .stop = ioca_sensor_loop_plugin_stop,
		       .destroy = exec_destroy);
