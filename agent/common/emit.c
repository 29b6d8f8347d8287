/*
 * Validation and encoding of plugin output (see emit.h). The core checks
 * frames again on receipt: this is the plugin-side check that gives plugin
 * authors an early, precise log line.
 */
#include "emit.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define READING_NAME_MAX 64

static bool segmented_name_valid(const char *s, size_t max, char sep, bool allow_sep)
{
	if (!s)
		return false;
	size_t n = strlen(s);
	if (n == 0 || n > max)
		return false;
	char prev = sep;
	for (const char *p = s; *p; p++) {
		char ch = *p;
		bool word = (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '_';
		if (ch == sep && allow_sep) {
			if (prev == sep)
				return false;
		} else if (!word) {
			return false;
		}
		prev = ch;
	}
	return prev != sep;
}

bool ioca_event_type_valid(const char *type)
{
	return segmented_name_valid(type, IOCA_EVENT_TYPE_MAX, '.', true);
}

bool ioca_subtopic_valid(const char *subtopic)
{
	return segmented_name_valid(subtopic, IOCA_SUBTOPIC_MAX, '/', true);
}

bool ioca_stat_name_valid(const char *name)
{
	return segmented_name_valid(name, IOCA_STAT_NAME_MAX, '.', false);
}

bool ioca_content_type_valid(const char *ct)
{
	if (!ct)
		return false;
	size_t n = strlen(ct);
	if (n == 0 || n > IOCA_CONTENT_TYPE_MAX || !strchr(ct, '/'))
		return false;
	for (const char *p = ct; *p; p++)
		if (*p <= ' ' || *p > '~' || *p == '"' || *p == '\\')
			return false;
	return true;
}

const char *ioca_severity_name(enum ioca_severity s)
{
	switch (s) {
	case IOCA_SEV_INFO:
		return "info";
	case IOCA_SEV_WARNING:
		return "warning";
	case IOCA_SEV_CRITICAL:
		return "critical";
	}
	return NULL;
}

bool ioca_json_object_valid_len(const char *data, size_t len, char **compact)
{
	if (compact)
		*compact = NULL;
	if (!data)
		return false;
	const char *end = NULL;
	cJSON *j = cJSON_ParseWithLengthOpts(data, len, &end, 0);
	if (!j)
		return false;
	/* nothing but white space may follow the object */
	while (end < data + len && (*end == ' ' || *end == '\t' || *end == '\n' || *end == '\r'))
		end++;
	bool ok =
	    cJSON_IsObject(j) && (end == data + len || (*end == '\0' && end + 1 == data + len));
	if (ok && compact) {
		*compact = cJSON_PrintUnformatted(j);
		ok = *compact != NULL;
	}
	cJSON_Delete(j);
	return ok;
}

bool ioca_json_object_valid(const char *text, char **compact)
{
	if (compact)
		*compact = NULL;
	return text && ioca_json_object_valid_len(text, strlen(text), compact);
}

static const char *status_name(enum ioca_reading_status s)
{
	switch (s) {
	case IOCA_READING_OK:
		return "ok";
	case IOCA_READING_CALIBRATING:
		return "calibrating";
	case IOCA_READING_ERROR:
		return "error";
	}
	return NULL;
}

static cJSON *reading_to_json(const struct ioca_reading *r, char *err, size_t errlen)
{
	if (!r->name || !*r->name || strlen(r->name) > READING_NAME_MAX) {
		snprintf(err, errlen, "reading without a valid name");
		return NULL;
	}
	const char *status = status_name(r->status);
	if (!status) {
		snprintf(err, errlen, "reading '%s': invalid status %d", r->name, (int)r->status);
		return NULL;
	}
	cJSON *o = cJSON_CreateObject();
	if (!o)
		return NULL;
	cJSON_AddStringToObject(o, "name", r->name);
	bool have_value = r->status != IOCA_READING_ERROR && isfinite(r->value);
	if (have_value)
		cJSON_AddNumberToObject(o, "value", r->value);
	else
		cJSON_AddNullToObject(o, "value");
	if (r->unit)
		cJSON_AddStringToObject(o, "unit", r->unit);
	/* a value that is not a number is an error whatever the plugin said */
	if (!have_value && r->status != IOCA_READING_ERROR) {
		cJSON_AddStringToObject(o, "status", "error");
		cJSON_AddStringToObject(o, "error", "not a number");
	} else {
		cJSON_AddStringToObject(o, "status", status);
		if (r->status == IOCA_READING_ERROR)
			cJSON_AddStringToObject(o, "error", r->error ? r->error : "unknown");
	}
	if (r->extra_json) {
		cJSON *extra = cJSON_Parse(r->extra_json);
		if (!cJSON_IsObject(extra)) {
			cJSON_Delete(extra);
			cJSON_Delete(o);
			snprintf(err, errlen, "reading '%s': extra_json is not a JSON object",
				 r->name);
			return NULL;
		}
		cJSON *m;
		cJSON_ArrayForEach(m, extra)
		{
			if (m->string && !cJSON_HasObjectItem(o, m->string))
				cJSON_AddItemToObject(o, m->string, cJSON_Duplicate(m, 1));
		}
		cJSON_Delete(extra);
	}
	return o;
}

char *ioca_readings_to_json(const struct ioca_reading *readings, size_t count, char *err,
			    size_t errlen)
{
	if (!readings || count == 0) {
		snprintf(err, errlen, "telemetry without readings");
		return NULL;
	}
	cJSON *root = cJSON_CreateObject();
	cJSON *arr = cJSON_AddArrayToObject(root, "readings");
	if (!root || !arr) {
		cJSON_Delete(root);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	for (size_t i = 0; i < count; i++) {
		cJSON *r = reading_to_json(&readings[i], err, errlen);
		if (!r) {
			cJSON_Delete(root);
			return NULL;
		}
		cJSON_AddItemToArray(arr, r);
	}
	char *text = cJSON_PrintUnformatted(root);
	cJSON_Delete(root);
	return text;
}
