/*
 * Parser of an exec command's JSON output (see exec_parse.h). Uses cJSON with
 * an explicit length, so the text need not be NUL-terminated and embedded
 * NULs end the document.
 */
#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "exec_parse.h"

static enum ioca_reading_status status_from(const cJSON *s, bool *valid)
{
	const char *t = cJSON_GetStringValue(s);

	*valid = true;
	if (!t || strcmp(t, "ok") == 0)
		return IOCA_READING_OK;
	if (strcmp(t, "calibrating") == 0)
		return IOCA_READING_CALIBRATING;
	if (strcmp(t, "error") == 0)
		return IOCA_READING_ERROR;
	*valid = false;
	return IOCA_READING_ERROR;
}

/* Fill v from an object member { value, unit, status, error }. */
static void from_object(const cJSON *o, struct ioca_exec_value *v)
{
	const cJSON *value = cJSON_GetObjectItemCaseSensitive(o, "value");
	const cJSON *error = cJSON_GetObjectItemCaseSensitive(o, "error");
	bool status_valid;

	v->unit = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, "unit"));
	v->status = status_from(cJSON_GetObjectItemCaseSensitive(o, "status"), &status_valid);
	if (!status_valid) {
		v->status = IOCA_READING_ERROR;
		v->error = "bad_status";
		return;
	}
	if (v->status == IOCA_READING_ERROR) {
		v->error = cJSON_IsString(error) ? error->valuestring : "error";
		return;
	}
	if (cJSON_IsNumber(value)) {
		v->value = value->valuedouble;
		return;
	}
	v->status = IOCA_READING_ERROR;
	v->error = cJSON_IsString(error)           ? error->valuestring
		   : value && !cJSON_IsNull(value) ? "not_a_number"
						   : "null";
}

int ioca_exec_parse(const char *text, size_t len, ioca_exec_value_fn fn, void *ctx, char *err,
		    size_t errlen)
{
	cJSON *root = cJSON_ParseWithLength(text, len);
	const cJSON *item;
	unsigned count = 0;

	if (!root) {
		snprintf(err, errlen, "invalid_json");
		return IOCA_ERROR;
	}
	if (!cJSON_IsObject(root)) {
		cJSON_Delete(root);
		snprintf(err, errlen, "not_an_object");
		return IOCA_ERROR;
	}
	cJSON_ArrayForEach(item, root)
	{
		struct ioca_exec_value v = {.name = item->string, .status = IOCA_READING_OK};

		if (!v.name || !v.name[0] || strlen(v.name) > IOCA_EXEC_NAME_MAX)
			continue;
		if (count++ == IOCA_EXEC_MAX_READINGS)
			break;
		if (cJSON_IsNumber(item)) {
			v.value = item->valuedouble;
		} else if (cJSON_IsBool(item)) {
			v.value = cJSON_IsTrue(item) ? 1.0 : 0.0;
		} else if (cJSON_IsNull(item)) {
			v.status = IOCA_READING_ERROR;
			v.error = "null";
		} else if (cJSON_IsObject(item)) {
			from_object(item, &v);
		} else {
			v.status = IOCA_READING_ERROR;
			v.error = "not_a_number";
		}
		fn(ctx, &v);
	}
	cJSON_Delete(root);
	return IOCA_OK;
}
