/*
 * ioca_sensorlib runtime: the registry of an instance's readings, their
 * aggregation windows and telemetry, and the consecutive-failure tracking
 * behind sensor.fault / sensor.recovered. Rules live in rules.c.
 *
 * Invariant: each reading's window holds exactly the samples since its last
 * publication; a reading is published only when its window holds at least
 * one sample, so telemetry never repeats stale values.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "rules.h"
#include "sensor.h"
#include "utf8.h"

#define MS_PER_S       1000.0
#define ERROR_TEXT_MAX 128
#define EXTRA_JSON_MAX 160
#define NO_RANGE_MIN   (-INFINITY)
#define NO_RANGE_MAX   (INFINITY)

enum aggregate {
	AGG_LAST,
	AGG_MIN,
	AGG_MAX,
	AGG_MEAN,
};

struct reading {
	char *name;
	char *unit;
	unsigned group;
	double scale, offset, valid_min, valid_max;
	int first_rule; /* index into rules, -1: none */

	/* window since the last publication */
	unsigned n_good, n_error;
	double sum, min, max, last;
	enum ioca_reading_status last_status;
	char last_error[ERROR_TEXT_MAX];
	int64_t last_wall_ms;

	/* what subscribers saw last (deadband) */
	bool published;
	double pub_value;
	enum ioca_reading_status pub_status;
	bool changed; /* beyond the deadband since the last flush */

	/* consecutive failures */
	unsigned failures;
	bool faulted;
	bool pending_fault, pending_recover;
	char fault_error[ERROR_TEXT_MAX];
	int64_t fault_since_mono_ms;
	int64_t recover_down_ms;
};

struct ioca_sensor {
	const struct ioca_host *host;
	struct ioca_instance *inst;

	int64_t interval_ms; /* 0: no periodic publication */
	enum aggregate aggregate;
	double deadband;
	unsigned fault_after;

	struct reading *readings;
	size_t n_readings, cap_readings;
	unsigned max_group; /* largest group id seen */

	struct ioca_rule *rules;
	size_t n_rules;

	int64_t next_due_mono_ms; /* next periodic publication; 0 before the first sample */
	unsigned pending_events;  /* readings with pending_fault / pending_recover */
	unsigned changed_count;   /* readings with `changed` set */

	/* scratch for building one telemetry message */
	struct ioca_reading *out;
	char (*extra)[EXTRA_JSON_MAX];
};

const char *ioca_sensor_status_name(enum ioca_reading_status status)
{
	switch (status) {
	case IOCA_READING_OK:
		return "ok";
	case IOCA_READING_CALIBRATING:
		return "calibrating";
	case IOCA_READING_ERROR:
		return "error";
	}
	return "error";
}

static enum aggregate aggregate_from_name(const char *name)
{
	if (!name || strcmp(name, "mean") == 0)
		return AGG_MEAN;
	if (strcmp(name, "last") == 0)
		return AGG_LAST;
	if (strcmp(name, "min") == 0)
		return AGG_MIN;
	return AGG_MAX;
}

struct ioca_sensor *ioca_sensor_new(const struct ioca_host *host, struct ioca_instance *inst,
				    const struct ioca_opts *opts)
{
	struct ioca_sensor *s = calloc(1, sizeof *s);
	size_t n_rules = host->opt_count(opts, "rules");

	if (!s)
		goto oom;
	s->host = host;
	s->inst = inst;
	s->interval_ms = (int64_t)(host->opt_float(opts, "publish_interval") * MS_PER_S);
	s->aggregate = aggregate_from_name(host->opt_string(opts, "aggregate"));
	s->deadband = host->opt_float(opts, "deadband");
	s->fault_after = (unsigned)host->opt_int(opts, "fault_after");
	if (s->fault_after < 1)
		s->fault_after = IOCA_SENSOR_DEFAULT_FAULT_AFTER;
	if (n_rules) {
		s->rules = calloc(n_rules, sizeof *s->rules);
		if (!s->rules)
			goto oom;
	}
	for (size_t i = 0; i < n_rules; i++) {
		if (ioca_rule_init(&s->rules[i], host, host->opt_group_at(opts, "rules", i)) !=
		    IOCA_OK)
			goto oom;
		s->n_rules++;
	}
	return s;
oom:
	host->log(inst, IOCA_LOG_ERROR, "sensor: out of memory");
	ioca_sensor_free(s);
	return NULL;
}

void ioca_sensor_free(struct ioca_sensor *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->n_readings; i++) {
		free(s->readings[i].name);
		free(s->readings[i].unit);
	}
	for (size_t i = 0; i < s->n_rules; i++)
		ioca_rule_fini(&s->rules[i]);
	free(s->readings);
	free(s->rules);
	free(s->out);
	free(s->extra);
	free(s);
}

static int find_exact(const struct ioca_sensor *s, const char *name)
{
	for (size_t i = 0; i < s->n_readings; i++)
		if (strcmp(s->readings[i].name, name) == 0)
			return (int)i;
	return IOCA_ERROR;
}

/* Names are stored sanitised (utf8.h): look up the sanitised form of `name`. */
int ioca_sensor_find(const struct ioca_sensor *s, const char *name)
{
	char *clean;
	int idx;

	if (ioca_utf8_valid(name, strlen(name)))
		return find_exact(s, name);
	clean = ioca_utf8_strdup(name);
	if (!clean)
		return IOCA_ERROR;
	idx = find_exact(s, clean);
	free(clean);
	return idx;
}

size_t ioca_sensor_count(const struct ioca_sensor *s)
{
	return s->n_readings;
}

static void window_reset(struct reading *r)
{
	r->n_good = 0;
	r->n_error = 0;
	r->sum = 0;
	r->min = INFINITY;
	r->max = -INFINITY;
}

static int grow(struct ioca_sensor *s)
{
	size_t cap = s->cap_readings ? s->cap_readings * 2 : 16;
	struct reading *r = realloc(s->readings, cap * sizeof *r);
	struct ioca_reading *out;
	char(*extra)[EXTRA_JSON_MAX];

	if (!r)
		return IOCA_ERROR;
	s->readings = r;
	out = realloc(s->out, cap * sizeof *out);
	if (!out)
		return IOCA_ERROR;
	s->out = out;
	extra = realloc(s->extra, cap * sizeof *extra);
	if (!extra)
		return IOCA_ERROR;
	s->extra = extra;
	s->cap_readings = cap;
	return IOCA_OK;
}

int ioca_sensor_add_reading(struct ioca_sensor *s, const char *name, const char *unit,
			    unsigned group)
{
	struct reading *r;
	int *link;

	if (!name || ioca_sensor_find(s, name) >= 0)
		return IOCA_ERROR;
	if (s->n_readings == s->cap_readings && grow(s) != IOCA_OK)
		return IOCA_ERROR;
	r = &s->readings[s->n_readings];
	memset(r, 0, sizeof *r);
	r->name = ioca_utf8_strdup(name);
	r->unit = unit ? ioca_utf8_strdup(unit) : NULL;
	if (!r->name || (unit && !r->unit)) {
		free(r->name);
		free(r->unit);
		return IOCA_ERROR;
	}
	r->group = group;
	r->scale = 1.0;
	r->offset = 0.0;
	r->valid_min = NO_RANGE_MIN;
	r->valid_max = NO_RANGE_MAX;
	r->first_rule = -1;
	window_reset(r);
	/* Chain the rules of this reading, in configuration order. */
	link = &r->first_rule;
	for (size_t i = 0; i < s->n_rules; i++) {
		if (strcmp(s->rules[i].reading, name) != 0)
			continue;
		*link = (int)i;
		link = &s->rules[i].next;
	}
	if (group > s->max_group)
		s->max_group = group;
	return (int)s->n_readings++;
}

int ioca_sensor_add_reading_opts(struct ioca_sensor *s, const struct ioca_opts *g, unsigned group)
{
	const struct ioca_host *h = s->host;
	int idx =
	    ioca_sensor_add_reading(s, h->opt_string(g, "name"), h->opt_string(g, "unit"), group);

	if (idx < 0)
		return IOCA_ERROR;
	ioca_sensor_set_conditioning_opts(s, idx, g);
	return idx;
}

void ioca_sensor_set_conditioning_opts(struct ioca_sensor *s, int index, const struct ioca_opts *g)
{
	const struct ioca_host *h = s->host;
	double vmin = h->opt_float(g, "valid_min");
	double vmax = h->opt_float(g, "valid_max");

	ioca_sensor_set_conditioning(s, index, h->opt_float(g, "scale"), h->opt_float(g, "offset"),
				     ioca_sensor_is_set(vmin) ? vmin : NO_RANGE_MIN,
				     ioca_sensor_is_set(vmax) ? vmax : NO_RANGE_MAX);
}

void ioca_sensor_set_conditioning(struct ioca_sensor *s, int index, double scale, double offset,
				  double valid_min, double valid_max)
{
	struct reading *r;

	if (index < 0 || (size_t)index >= s->n_readings)
		return;
	r = &s->readings[index];
	r->scale = scale;
	r->offset = offset;
	r->valid_min = valid_min;
	r->valid_max = valid_max;
}

const char *ioca_sensor_unmatched_rule(const struct ioca_sensor *s)
{
	for (size_t i = 0; i < s->n_rules; i++)
		if (ioca_sensor_find(s, s->rules[i].reading) < 0)
			return s->rules[i].reading;
	return NULL;
}

/* Deadband / status change bookkeeping for one sample. */
static void note_change(struct ioca_sensor *s, struct reading *r, enum ioca_reading_status status,
			double value)
{
	bool changed;

	if (s->deadband <= 0 && s->interval_ms > 0)
		return;
	/* publish_interval 0 and no deadband: every sample; else a first or status change */
	if (s->deadband <= 0 || !r->published || status != r->pub_status)
		changed = true;
	else
		changed = status != IOCA_READING_ERROR && fabs(value - r->pub_value) > s->deadband;
	if (changed && !r->changed) {
		r->changed = true;
		s->changed_count++;
	}
}

static void note_failure(struct ioca_sensor *s, struct reading *r, const char *error,
			 int64_t mono_ms)
{
	if (r->failures == 0)
		r->fault_since_mono_ms = mono_ms;
	r->failures++;
	if (r->faulted || r->failures < s->fault_after)
		return;
	r->faulted = true;
	snprintf(r->fault_error, sizeof r->fault_error, "%s", error);
	if (!r->pending_fault && !r->pending_recover)
		s->pending_events++;
	r->pending_fault = true;
}

static void note_success(struct ioca_sensor *s, struct reading *r, int64_t mono_ms)
{
	if (r->faulted) {
		r->faulted = false;
		r->recover_down_ms = mono_ms - r->fault_since_mono_ms;
		if (!r->pending_fault && !r->pending_recover)
			s->pending_events++;
		r->pending_recover = true;
	}
	r->failures = 0;
}

void ioca_sensor_sample(struct ioca_sensor *s, int index, enum ioca_reading_status status,
			double value, const char *error, int64_t mono_ms, int64_t wall_ms)
{
	struct reading *r;

	if (index < 0 || (size_t)index >= s->n_readings)
		return;
	r = &s->readings[index];
	if (status != IOCA_READING_ERROR && !isfinite(value)) {
		status = IOCA_READING_ERROR;
		error = "nan";
	}
	if (s->next_due_mono_ms == 0 && s->interval_ms > 0)
		s->next_due_mono_ms = mono_ms + s->interval_ms;
	r->last_status = status;
	r->last_wall_ms = wall_ms;
	note_change(s, r, status, value);
	if (status == IOCA_READING_ERROR) {
		if (!error)
			error = "error";
		ioca_utf8_sanitize(r->last_error, sizeof r->last_error, error, strlen(error));
		r->n_error++;
		note_failure(s, r, r->last_error, mono_ms);
		return;
	}
	r->n_good++;
	r->sum += value;
	r->last = value;
	if (value < r->min)
		r->min = value;
	if (value > r->max)
		r->max = value;
	note_success(s, r, mono_ms);
	if (status != IOCA_READING_OK)
		return;
	for (int i = r->first_rule; i >= 0; i = s->rules[i].next)
		ioca_rule_eval(&s->rules[i], s->host, s->inst, r->unit, value, mono_ms, wall_ms);
}

void ioca_sensor_sample_raw(struct ioca_sensor *s, int index, bool calibrating, double raw,
			    int64_t mono_ms, int64_t wall_ms)
{
	const struct reading *r;
	double v;

	if (index < 0 || (size_t)index >= s->n_readings)
		return;
	r = &s->readings[index];
	v = raw * r->scale + r->offset;
	if (isfinite(v) && (v < r->valid_min || v > r->valid_max)) {
		ioca_sensor_sample(s, index, IOCA_READING_ERROR, v, "out_of_range", mono_ms,
				   wall_ms);
		return;
	}
	ioca_sensor_sample(s, index, calibrating ? IOCA_READING_CALIBRATING : IOCA_READING_OK, v,
			   NULL, mono_ms, wall_ms);
}

void ioca_sensor_fail_group(struct ioca_sensor *s, unsigned group, const char *error,
			    int64_t mono_ms, int64_t wall_ms)
{
	for (size_t i = 0; i < s->n_readings; i++)
		if (s->readings[i].group == group)
			ioca_sensor_sample(s, (int)i, IOCA_READING_ERROR, NAN, error, mono_ms,
					   wall_ms);
}

/* ---- telemetry ----------------------------------------------------------- */

static double aggregated(const struct ioca_sensor *s, const struct reading *r)
{
	switch (s->aggregate) {
	case AGG_LAST:
		return r->last;
	case AGG_MIN:
		return r->min;
	case AGG_MAX:
		return r->max;
	case AGG_MEAN:
		return r->sum / r->n_good;
	}
	return r->last;
}

/* Fill out[n] with r's name, unit and latest status, and `value` unless that status is an error. */
static struct ioca_reading *fill_reading(struct ioca_sensor *s, const struct reading *r, size_t n,
					 double value)
{
	struct ioca_reading *o = &s->out[n];

	memset(o, 0, sizeof *o);
	o->name = r->name;
	o->unit = r->unit;
	o->status = r->last_status;
	if (r->last_status == IOCA_READING_ERROR) {
		o->value = NAN;
		o->error = r->last_error;
	} else {
		o->value = value;
	}
	return o;
}

/* Fill out[n] from the window of r (which holds at least one sample). */
static void fill_window(struct ioca_sensor *s, const struct reading *r, size_t n)
{
	struct ioca_reading *o = fill_reading(s, r, n, r->n_good ? aggregated(s, r) : NAN);
	char *extra = s->extra[n];

	if (r->n_good > 1) {
		int len = snprintf(extra, EXTRA_JSON_MAX,
				   "{\"min\":%.10g,\"max\":%.10g,\"mean\":%.10g,\"count\":%u",
				   r->min, r->max, r->sum / r->n_good, r->n_good);
		if (r->n_error && len > 0 && len < EXTRA_JSON_MAX)
			snprintf(extra + len, (size_t)(EXTRA_JSON_MAX - len), ",\"errors\":%u}",
				 r->n_error);
		else if (len > 0 && len < EXTRA_JSON_MAX)
			snprintf(extra + len, (size_t)(EXTRA_JSON_MAX - len), "}");
		o->extra_json = extra;
	}
}

static void mark_published(struct ioca_sensor *s, struct reading *r, const struct ioca_reading *o)
{
	r->published = true;
	r->pub_status = o->status;
	if (o->status != IOCA_READING_ERROR)
		r->pub_value = o->value;
	if (r->changed) {
		r->changed = false;
		s->changed_count--;
	}
}

/*
 * Publish, group by group, either every reading with a non-empty window
 * (`windows`) or only the readings changed beyond the deadband.
 */
static void publish(struct ioca_sensor *s, bool windows)
{
	for (unsigned g = 0; g <= s->max_group; g++) {
		size_t n = 0;
		int64_t time_ms = 0;

		for (size_t i = 0; i < s->n_readings; i++) {
			struct reading *r = &s->readings[i];

			if (r->group != g)
				continue;
			if (windows ? r->n_good + r->n_error == 0 : !r->changed)
				continue;
			if (windows)
				fill_window(s, r, n);
			else
				fill_reading(s, r, n, r->last);
			if (r->last_wall_ms > time_ms)
				time_ms = r->last_wall_ms;
			mark_published(s, r, &s->out[n]);
			if (windows || s->interval_ms == 0)
				window_reset(r);
			n++;
		}
		if (n)
			s->host->emit_telemetry(s->inst, time_ms, s->out, n);
	}
}

/* ---- fault / recovery events --------------------------------------------- */

static void emit_fault_group(struct ioca_sensor *s, size_t first, bool fault)
{
	const struct reading *r0 = &s->readings[first];
	cJSON *data = cJSON_CreateObject();
	cJSON *names = cJSON_AddArrayToObject(data, "readings");
	char *text;

	cJSON_AddStringToObject(data, "reading", r0->name);
	cJSON_AddStringToObject(data, "error", r0->fault_error);
	if (fault)
		cJSON_AddNumberToObject(data, "failed_samples", s->fault_after);
	else
		cJSON_AddNumberToObject(data, "down_s", (double)r0->recover_down_ms / MS_PER_S);
	for (size_t i = first; i < s->n_readings; i++) {
		struct reading *r = &s->readings[i];
		bool *pending = fault ? &r->pending_fault : &r->pending_recover;

		if (!*pending || r->group != r0->group ||
		    strcmp(r->fault_error, r0->fault_error) != 0)
			continue;
		cJSON_AddItemToArray(names, cJSON_CreateString(r->name));
		*pending = false;
	}
	text = cJSON_PrintUnformatted(data);
	cJSON_Delete(data);
	if (!text)
		return;
	s->host->emit_event(s->inst, fault ? "sensor.fault" : "sensor.recovered",
			    fault ? IOCA_SEV_WARNING : IOCA_SEV_INFO, 0, text);
	free(text);
}

static void emit_fault_events(struct ioca_sensor *s)
{
	for (size_t i = 0; i < s->n_readings; i++)
		if (s->readings[i].pending_fault)
			emit_fault_group(s, i, true);
	for (size_t i = 0; i < s->n_readings; i++)
		if (s->readings[i].pending_recover)
			emit_fault_group(s, i, false);
	s->pending_events = 0;
}

int64_t ioca_sensor_flush(struct ioca_sensor *s, int64_t mono_ms)
{
	if (s->pending_events)
		emit_fault_events(s);
	if (s->changed_count)
		publish(s, s->interval_ms == 0 && s->deadband <= 0);
	if (s->interval_ms <= 0 || s->next_due_mono_ms == 0)
		return s->interval_ms <= 0 ? INT64_MAX : s->interval_ms;
	if (mono_ms >= s->next_due_mono_ms) {
		publish(s, true);
		s->next_due_mono_ms += s->interval_ms;
		if (s->next_due_mono_ms <= mono_ms)
			s->next_due_mono_ms = mono_ms + s->interval_ms;
	}
	return s->next_due_mono_ms - mono_ms;
}

void ioca_sensor_flush_all(struct ioca_sensor *s, int64_t mono_ms)
{
	if (s->pending_events)
		emit_fault_events(s);
	publish(s, true);
	if (s->interval_ms > 0)
		s->next_due_mono_ms = mono_ms + s->interval_ms;
}
