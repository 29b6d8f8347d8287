/*
 * In-process plugin harness (see plugin_harness.h). The plugin is loaded and
 * its options validated exactly as the agent does; the host table records
 * every emission under one mutex, and waiters are woken by a condition
 * variable. Runs the plugin's run() on its own thread.
 */
#include "plugin_harness.h"

#include <libconfig.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "diag.h"
#include "emit.h"
#include "optcheck.h"
#include "opts.h"
#include "plugin_loader.h"
#include "run_mode.h"
#include "stop_latch.h"
#include "timeutil.h"

#define MAX_STATS           128
#define LOG_NEEDLE_LINE_MAX 1024

struct stat_entry {
	char name[IOCA_STAT_NAME_MAX + 1];
	double value;
};

struct log_entry {
	enum ioca_log_level level;
	char *text;
};

struct ioca_harness {
	struct ioca_loaded_plugin plugin;
	config_t cfg;
	struct ioca_host host;
	char name[65];
	void *state;
	pthread_t thread;
	bool started;
	bool stopped;
	struct ioca_run_request run; /* from a reserved ioca_run group in the options */
	struct ioca_stop_latch stop;
	atomic_bool run_returned;
	int run_rc;
	int64_t stop_request_ms;
	int64_t stop_latency_ms;
	int echo_logs;
	atomic_size_t max_blob; /* what host->max_blob_bytes() answers */

	pthread_mutex_t lock;
	pthread_cond_t changed;
	struct ioca_harness_record **records; /* each malloc'd: pointers stay valid */
	size_t n_records, cap_records;
	struct stat_entry stats[MAX_STATS];
	size_t n_stats;
	struct log_entry *logs;
	size_t n_logs, cap_logs;
};

/* The plugin's instance handle is the harness itself. */
static struct ioca_harness *H(struct ioca_instance *inst)
{
	return (struct ioca_harness *)inst;
}

static void add_record(struct ioca_harness *h, const struct ioca_harness_record *r)
{
	pthread_mutex_lock(&h->lock);
	if (h->n_records == h->cap_records) {
		size_t cap = h->cap_records ? h->cap_records * 2 : 64;
		struct ioca_harness_record **n = realloc(h->records, cap * sizeof *n);
		if (!n) {
			pthread_mutex_unlock(&h->lock);
			return;
		}
		h->records = n;
		h->cap_records = cap;
	}
	struct ioca_harness_record *copy = malloc(sizeof *copy);
	if (!copy) {
		pthread_mutex_unlock(&h->lock);
		return;
	}
	*copy = *r;
	h->records[h->n_records++] = copy;
	pthread_cond_broadcast(&h->changed);
	pthread_mutex_unlock(&h->lock);
}

static void host_vlog(struct ioca_instance *inst, enum ioca_log_level level, const char *fmt,
		      va_list ap) __attribute__((format(printf, 3, 0)));
static void host_vlog(struct ioca_instance *inst, enum ioca_log_level level, const char *fmt,
		      va_list ap)
{
	struct ioca_harness *h = H(inst);
	char *text = NULL;
	if (vasprintf(&text, fmt, ap) < 0)
		return;
	if (h->echo_logs)
		fprintf(stderr, "[%s] %d: %s\n", h->name, (int)level, text);
	pthread_mutex_lock(&h->lock);
	if (h->n_logs == h->cap_logs) {
		size_t cap = h->cap_logs ? h->cap_logs * 2 : 64;
		struct log_entry *n = realloc(h->logs, cap * sizeof *n);
		if (!n) {
			pthread_mutex_unlock(&h->lock);
			free(text);
			return;
		}
		h->logs = n;
		h->cap_logs = cap;
	}
	h->logs[h->n_logs].level = level;
	h->logs[h->n_logs].text = text;
	h->n_logs++;
	pthread_mutex_unlock(&h->lock);
}

static void host_log(struct ioca_instance *inst, enum ioca_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void host_log(struct ioca_instance *inst, enum ioca_log_level level, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	host_vlog(inst, level, fmt, ap);
	va_end(ap);
}

static int64_t time_or_now(int64_t t)
{
	return t ? t : ioca_now_wall_ms();
}

static int host_emit_event(struct ioca_instance *inst, const char *type,
			   enum ioca_severity severity, int64_t time_ms, const char *data_json)
{
	struct ioca_harness *h = H(inst);
	char *data = NULL;
	if (!ioca_event_type_valid(type) || !ioca_severity_name(severity) ||
	    !ioca_json_object_valid(data_json ? data_json : "{}", &data)) {
		host_log(inst, IOCA_LOG_ERROR, "harness: invalid event (type '%s')",
			 type ? type : "(null)");
		free(data);
		return IOCA_ERROR;
	}
	struct ioca_harness_record r = {
	    .kind = IOCA_HARNESS_EVENT,
	    .type = strdup(type),
	    .severity = severity,
	    .time_ms = time_or_now(time_ms),
	    .mono_ms = ioca_now_mono_ms(),
	    .json = data,
	};
	add_record(h, &r);
	return IOCA_OK;
}

static int host_emit_telemetry(struct ioca_instance *inst, int64_t time_ms,
			       const struct ioca_reading *readings, size_t count)
{
	char err[256];
	char *json = ioca_readings_to_json(readings, count, err, sizeof err);
	if (!json) {
		host_log(inst, IOCA_LOG_ERROR, "harness: invalid telemetry: %s", err);
		return IOCA_ERROR;
	}
	struct ioca_harness_record r = {
	    .kind = IOCA_HARNESS_TELEMETRY,
	    .type = strdup("telemetry"),
	    .severity = IOCA_SEV_INFO,
	    .time_ms = time_or_now(time_ms),
	    .mono_ms = ioca_now_mono_ms(),
	    .json = json,
	};
	add_record(H(inst), &r);
	return IOCA_OK;
}

static int host_emit_blob(struct ioca_instance *inst, const char *subtopic,
			  const char *content_type, const void *data, size_t len, int64_t time_ms)
{
	if (!ioca_subtopic_valid(subtopic) || !ioca_content_type_valid(content_type) ||
	    (!data && len) || len > IOCA_BLOB_MAX_BYTES) {
		host_log(inst, IOCA_LOG_ERROR, "harness: invalid blob");
		return IOCA_ERROR;
	}
	struct ioca_harness_record r = {
	    .kind = IOCA_HARNESS_BLOB,
	    .type = strdup(subtopic),
	    .severity = IOCA_SEV_INFO,
	    .time_ms = time_or_now(time_ms),
	    .mono_ms = ioca_now_mono_ms(),
	    .blob = malloc(len ? len : 1),
	    .blob_len = len,
	    .content_type = strdup(content_type),
	};
	if (r.blob && len)
		memcpy(r.blob, data, len);
	add_record(H(inst), &r);
	return IOCA_OK;
}

static struct stat_entry *stat_slot(struct ioca_harness *h, const char *name)
{
	for (size_t i = 0; i < h->n_stats; i++)
		if (strcmp(h->stats[i].name, name) == 0)
			return &h->stats[i];
	if (h->n_stats == MAX_STATS)
		return NULL;
	struct stat_entry *e = &h->stats[h->n_stats++];
	snprintf(e->name, sizeof e->name, "%s", name);
	e->value = 0;
	return e;
}

static void host_stat(struct ioca_instance *inst, const char *name, double v, bool add)
{
	struct ioca_harness *h = H(inst);
	if (!ioca_stat_name_valid(name)) {
		host_log(inst, IOCA_LOG_ERROR, "harness: invalid stat name");
		return;
	}
	pthread_mutex_lock(&h->lock);
	struct stat_entry *e = stat_slot(h, name);
	if (e)
		e->value = add ? e->value + v : v;
	pthread_mutex_unlock(&h->lock);
}

static void host_stat_set(struct ioca_instance *inst, const char *name, double value)
{
	host_stat(inst, name, value, false);
}

static void host_stat_add(struct ioca_instance *inst, const char *name, double delta)
{
	host_stat(inst, name, delta, true);
}

static bool host_should_stop(struct ioca_instance *inst)
{
	return ioca_stop_latch_is_set(&H(inst)->stop);
}

static bool host_wait(struct ioca_instance *inst, int64_t timeout_ms)
{
	return ioca_stop_latch_wait(&H(inst)->stop, timeout_ms);
}

static void host_heartbeat(struct ioca_instance *inst)
{
	(void)inst;
}

static enum ioca_run_mode host_run_mode(const struct ioca_instance *inst, unsigned *flags)
{
	const struct ioca_harness *h = (const struct ioca_harness *)inst;
	if (flags)
		*flags = h->run.flags;
	return h->run.mode;
}

static const char *host_instance_name(const struct ioca_instance *inst)
{
	return ((const struct ioca_harness *)inst)->name;
}

/* report callback for the plugin's check() */
struct report_ctx {
	struct ioca_diag *diag;
	int count;
};

static void report_problem(void *ctx, const struct ioca_opts *where, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void report_problem(void *ctx, const struct ioca_opts *where, const char *fmt, ...)
{
	struct report_ctx *rc = ctx;
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	ioca_diag_add(rc->diag, "options", where ? ioca_setting_line(ioca_opts_setting(where)) : 0,
		      "%s", msg);
	rc->count++;
}

static void diag_to_err(const struct ioca_diag *d, char *err, size_t errlen)
{
	if (!err || !errlen)
		return;
	err[0] = '\0';
	size_t used = 0;
	for (size_t i = 0; i < d->count && used + 1 < errlen; i++) {
		int n = snprintf(err + used, errlen - used, "%s\n", d->lines[i]);
		if (n < 0)
			break;
		used += (size_t)n;
	}
}

static size_t host_max_blob_bytes(struct ioca_instance *inst, bool requested)
{
	(void)requested;
	return atomic_load(&H(inst)->max_blob);
}

void ioca_harness_set_max_blob_bytes(struct ioca_harness *h, size_t max_bytes)
{
	atomic_store(&h->max_blob, max_bytes);
}

struct ioca_harness *ioca_harness_new(const char *so_path, const char *options, char *err,
				      size_t errlen)
{
	struct ioca_harness *h = calloc(1, sizeof *h);
	if (!h)
		return NULL;
	if (ioca_plugin_open_path(so_path, &h->plugin, err, errlen) != IOCA_OK) {
		free(h);
		return NULL;
	}
	pthread_mutex_init(&h->lock, NULL);
	ioca_stop_latch_init(&h->stop);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&h->changed, &ca);
	pthread_condattr_destroy(&ca);
	snprintf(h->name, sizeof h->name, "test");
	h->echo_logs = getenv("IOCA_TEST_VERBOSE") != NULL;

	h->host.abi_major = IOCA_PLUGIN_ABI_MAJOR;
	h->host.abi_minor = IOCA_PLUGIN_ABI_MINOR;
	ioca_opts_fill_host(&h->host);
	h->host.emit_event = host_emit_event;
	h->host.emit_telemetry = host_emit_telemetry;
	h->host.emit_blob = host_emit_blob;
	h->host.log = host_log;
	h->host.vlog = host_vlog;
	h->host.stat_set = host_stat_set;
	h->host.stat_add = host_stat_add;
	h->host.should_stop = host_should_stop;
	h->host.wait = host_wait;
	h->host.heartbeat = host_heartbeat;
	h->host.now_wall_ms = ioca_now_wall_ms;
	h->host.now_mono_ms = ioca_now_mono_ms;
	h->host.instance_name = host_instance_name;
	h->host.run_mode = host_run_mode;
	h->host.max_blob_bytes = host_max_blob_bytes;

	config_init(&h->cfg);
	struct ioca_diag diag = {0};
	if (config_read_string(&h->cfg, options ? options : "") != CONFIG_TRUE) {
		ioca_diag_add(&diag, "options", config_error_line(&h->cfg), "%s",
			      config_error_text(&h->cfg));
	} else {
		config_setting_t *root = config_root_setting(&h->cfg);
		const struct ioca_plugin *d = h->plugin.desc;
		if (ioca_run_request_take(root, &h->run) != IOCA_OK)
			ioca_diag_add(&diag, "options", 0, "malformed %s group", IOCA_RUN_KEY);
		if (ioca_optcheck_group(root, d->options, ioca_instance_core_keys, "options",
					"options", &diag) == 0 &&
		    d->check) {
			struct report_ctx rc = {.diag = &diag};
			d->check(&h->host, ioca_opts_from_setting(root), report_problem, &rc);
		}
	}
	if (diag.count) {
		diag_to_err(&diag, err, errlen);
		ioca_diag_clear(&diag);
		ioca_harness_free(h);
		return NULL;
	}
	return h;
}

void ioca_harness_set_name(struct ioca_harness *h, const char *name)
{
	snprintf(h->name, sizeof h->name, "%s", name);
}

void ioca_harness_echo_logs(struct ioca_harness *h, int on)
{
	h->echo_logs = on;
}

static void *run_thread(void *arg)
{
	struct ioca_harness *h = arg;
	h->run_rc = h->plugin.desc->run(h->state);
	atomic_store(&h->run_returned, true);
	pthread_mutex_lock(&h->lock);
	pthread_cond_broadcast(&h->changed);
	pthread_mutex_unlock(&h->lock);
	return NULL;
}

int ioca_harness_start(struct ioca_harness *h)
{
	const struct ioca_plugin *d = h->plugin.desc;
	config_setting_t *root = config_root_setting(&h->cfg);
	if (d->create(&h->host, (struct ioca_instance *)h, ioca_opts_from_setting(root),
		      &h->state) != IOCA_OK)
		return IOCA_ERROR;
	if (pthread_create(&h->thread, NULL, run_thread, h) != 0) {
		d->destroy(h->state);
		h->state = NULL;
		return IOCA_ERROR;
	}
	h->started = true;
	return IOCA_OK;
}

int ioca_harness_stop(struct ioca_harness *h)
{
	if (!h->started || h->stopped)
		return h->run_rc;
	h->stop_request_ms = ioca_now_mono_ms();
	ioca_stop_latch_set(&h->stop);
	if (h->plugin.desc->stop)
		h->plugin.desc->stop(h->state);
	pthread_join(h->thread, NULL);
	h->stop_latency_ms = ioca_now_mono_ms() - h->stop_request_ms;
	h->plugin.desc->destroy(h->state);
	h->state = NULL;
	h->stopped = true;
	return h->run_rc;
}

int64_t ioca_harness_stop_latency_ms(const struct ioca_harness *h)
{
	return h->stop_latency_ms;
}

int ioca_harness_run_returned(const struct ioca_harness *h)
{
	return atomic_load(&h->run_returned) && !ioca_stop_latch_is_set(&h->stop);
}

void ioca_harness_free(struct ioca_harness *h)
{
	if (!h)
		return;
	ioca_harness_stop(h);
	for (size_t i = 0; i < h->n_records; i++) {
		free(h->records[i]->type);
		free(h->records[i]->json);
		free(h->records[i]->blob);
		free(h->records[i]->content_type);
		free(h->records[i]);
	}
	free(h->records);
	for (size_t i = 0; i < h->n_logs; i++)
		free(h->logs[i].text);
	free(h->logs);
	config_destroy(&h->cfg);
	ioca_plugin_close(&h->plugin);
	pthread_cond_destroy(&h->changed);
	ioca_stop_latch_destroy(&h->stop);
	pthread_mutex_destroy(&h->lock);
	free(h);
}

static bool type_matches(const struct ioca_harness_record *r, const char *type)
{
	return !type || strcmp(r->type, type) == 0;
}

size_t ioca_harness_count(struct ioca_harness *h, const char *type)
{
	size_t n = 0;
	pthread_mutex_lock(&h->lock);
	for (size_t i = 0; i < h->n_records; i++)
		n += type_matches(h->records[i], type);
	pthread_mutex_unlock(&h->lock);
	return n;
}

const struct ioca_harness_record *ioca_harness_get(struct ioca_harness *h, size_t index)
{
	const struct ioca_harness_record *r = NULL;
	pthread_mutex_lock(&h->lock);
	if (index < h->n_records)
		r = h->records[index];
	pthread_mutex_unlock(&h->lock);
	return r;
}

const struct ioca_harness_record *
ioca_harness_wait_for_nth(struct ioca_harness *h, const char *type, size_t skip, int64_t timeout_ms)
{
	int64_t deadline = ioca_now_mono_ms() + timeout_ms;
	const struct ioca_harness_record *found = NULL;
	pthread_mutex_lock(&h->lock);
	for (;;) {
		size_t seen = 0;
		for (size_t i = 0; i < h->n_records && !found; i++) {
			if (type_matches(h->records[i], type) && seen++ == skip)
				found = h->records[i];
		}
		int64_t left = deadline - ioca_now_mono_ms();
		if (found || left <= 0)
			break;
		struct timespec ts;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		int64_t step = left < 100 ? left : 100;
		ts.tv_nsec += step * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&h->changed, &h->lock, &ts);
	}
	pthread_mutex_unlock(&h->lock);
	return found;
}

const struct ioca_harness_record *ioca_harness_wait_for(struct ioca_harness *h, const char *type,
							int64_t timeout_ms)
{
	return ioca_harness_wait_for_nth(h, type, 0, timeout_ms);
}

double ioca_harness_stat(struct ioca_harness *h, const char *name)
{
	double v = 0;
	pthread_mutex_lock(&h->lock);
	for (size_t i = 0; i < h->n_stats; i++)
		if (strcmp(h->stats[i].name, name) == 0)
			v = h->stats[i].value;
	pthread_mutex_unlock(&h->lock);
	return v;
}

size_t ioca_harness_log_count(struct ioca_harness *h, enum ioca_log_level level, const char *needle)
{
	size_t n = 0;
	pthread_mutex_lock(&h->lock);
	for (size_t i = 0; i < h->n_logs; i++)
		if (h->logs[i].level <= level && (!needle || strstr(h->logs[i].text, needle)))
			n++;
	pthread_mutex_unlock(&h->lock);
	return n;
}
