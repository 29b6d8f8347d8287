/*
 * Threshold rules: limits with clear levels (hysteresis) and hold times
 * (debounce), turned into threshold.exceeded / threshold.cleared events.
 * See rules.h for the state machine; the invariant is that events of one rule
 * strictly alternate exceeded, cleared, exceeded, ...
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "rules.h"
#include "sensor.h"

#define MS_PER_S      1000.0
#define RULE_NAME_MAX 160

static char *dup_or_null(const char *s)
{
	return s ? strdup(s) : NULL;
}

enum ioca_severity ioca_sensor_severity_from_name(const char *name, enum ioca_severity fallback)
{
	if (name && strcmp(name, "info") == 0)
		return IOCA_SEV_INFO;
	if (name && strcmp(name, "warning") == 0)
		return IOCA_SEV_WARNING;
	if (name && strcmp(name, "critical") == 0)
		return IOCA_SEV_CRITICAL;
	return fallback;
}

int ioca_rule_init(struct ioca_rule *r, const struct ioca_host *host, const struct ioca_opts *g)
{
	memset(r, 0, sizeof *r);
	r->next = -1;
	r->reading = dup_or_null(host->opt_string(g, "reading"));
	r->name = dup_or_null(host->opt_string(g, "name"));
	if (!r->reading || (host->opt_string(g, "name") && !r->name)) {
		ioca_rule_fini(r);
		return IOCA_ERROR;
	}
	r->high = host->opt_float(g, "high");
	r->low = host->opt_float(g, "low");
	r->has_high = ioca_sensor_is_set(r->high);
	r->has_low = ioca_sensor_is_set(r->low);
	r->high_clear = host->opt_float(g, "high_clear");
	r->low_clear = host->opt_float(g, "low_clear");
	if (!ioca_sensor_is_set(r->high_clear))
		r->high_clear = r->high;
	if (!ioca_sensor_is_set(r->low_clear))
		r->low_clear = r->low;
	r->hold_raise_ms = (int64_t)(host->opt_float(g, "hold_raise") * MS_PER_S);
	r->hold_clear_ms = (int64_t)(host->opt_float(g, "hold_clear") * MS_PER_S);
	r->severity =
	    ioca_sensor_severity_from_name(host->opt_string(g, "severity"), IOCA_SEV_WARNING);
	r->state = IOCA_RULE_NORMAL;
	return IOCA_OK;
}

void ioca_rule_fini(struct ioca_rule *r)
{
	free(r->reading);
	free(r->name);
	r->reading = NULL;
	r->name = NULL;
}

/* Whether `value` is beyond a limit; sets *dir to which one. */
static bool beyond_limit(const struct ioca_rule *r, double value, enum ioca_rule_dir *dir)
{
	if (r->has_high && value > r->high) {
		*dir = IOCA_RULE_HIGH;
		return true;
	}
	if (r->has_low && value < r->low) {
		*dir = IOCA_RULE_LOW;
		return true;
	}
	return false;
}

/* Whether an alarm in direction `dir` may clear at `value` (past its clear level). */
static bool past_clear(const struct ioca_rule *r, enum ioca_rule_dir dir, double value)
{
	return dir == IOCA_RULE_HIGH ? value < r->high_clear : value > r->low_clear;
}

static void emit(const struct ioca_rule *r, const struct ioca_host *host,
		 struct ioca_instance *inst, bool exceeded, const char *unit, double value,
		 int64_t wall_ms)
{
	char name[RULE_NAME_MAX];
	bool high = r->dir == IOCA_RULE_HIGH;
	cJSON *data = cJSON_CreateObject();
	char *text;

	if (!data)
		return;
	if (r->name)
		snprintf(name, sizeof name, "%s", r->name);
	else
		snprintf(name, sizeof name, "%s_%s", r->reading, high ? "high" : "low");
	cJSON_AddStringToObject(data, "reading", r->reading);
	cJSON_AddNumberToObject(data, "value", value);
	cJSON_AddNumberToObject(data, "limit", high ? r->high : r->low);
	cJSON_AddNumberToObject(data, "clear", high ? r->high_clear : r->low_clear);
	cJSON_AddStringToObject(data, "rule", name);
	cJSON_AddStringToObject(data, "direction", high ? "high" : "low");
	if (unit)
		cJSON_AddStringToObject(data, "unit", unit);
	text = cJSON_PrintUnformatted(data);
	cJSON_Delete(data);
	if (!text)
		return;
	host->emit_event(inst, exceeded ? "threshold.exceeded" : "threshold.cleared",
			 exceeded ? r->severity : IOCA_SEV_INFO, wall_ms, text);
	free(text);
}

/* One step from NORMAL / RAISING. */
static void eval_quiet(struct ioca_rule *r, const struct ioca_host *host,
		       struct ioca_instance *inst, const char *unit, double value, int64_t mono_ms,
		       int64_t wall_ms)
{
	enum ioca_rule_dir dir;

	if (!beyond_limit(r, value, &dir)) {
		r->state = IOCA_RULE_NORMAL;
		return;
	}
	if (r->state != IOCA_RULE_RAISING || r->dir != dir) {
		r->state = IOCA_RULE_RAISING;
		r->dir = dir;
		r->since_mono_ms = mono_ms;
	}
	if (mono_ms - r->since_mono_ms >= r->hold_raise_ms) {
		r->state = IOCA_RULE_ACTIVE;
		emit(r, host, inst, true, unit, value, wall_ms);
	}
}

void ioca_rule_eval(struct ioca_rule *r, const struct ioca_host *host, struct ioca_instance *inst,
		    const char *unit, double value, int64_t mono_ms, int64_t wall_ms)
{
	switch (r->state) {
	case IOCA_RULE_NORMAL:
	case IOCA_RULE_RAISING:
		eval_quiet(r, host, inst, unit, value, mono_ms, wall_ms);
		return;
	case IOCA_RULE_ACTIVE:
	case IOCA_RULE_CLEARING:
		if (!past_clear(r, r->dir, value)) {
			r->state = IOCA_RULE_ACTIVE;
			return;
		}
		if (r->state == IOCA_RULE_ACTIVE) {
			r->state = IOCA_RULE_CLEARING;
			r->since_mono_ms = mono_ms;
		}
		if (mono_ms - r->since_mono_ms < r->hold_clear_ms)
			return;
		emit(r, host, inst, false, unit, value, wall_ms);
		r->state = IOCA_RULE_NORMAL;
		/* A value that went straight from one limit past the other starts raising now. */
		eval_quiet(r, host, inst, unit, value, mono_ms, wall_ms);
		return;
	}
}
