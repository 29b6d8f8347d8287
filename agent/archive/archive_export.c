/*
 * Export of an archived time range (see archive.h): JSON lines with one
 * envelope per message, or CSV with one row per telemetry reading in the
 * fields of Circular 10/2021/TT-BTNMT art. 39 (parameter, value, unit,
 * time, status), plus the source and the id of the message it came in.
 */
#include "archive.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "emit.h"
#include "timeutil.h"

#define IOCA_AGENT_ID_MAX 64 /* agent.id is [A-Za-z0-9_-]{1,64} */
#define CSV_HEADER        "time,source,parameter,value,unit,status,id\n"

char *ioca_archive_msg_json(const struct ioca_archive_msg *m)
{
	char ts[IOCA_RFC3339_LEN], agent[IOCA_AGENT_ID_MAX + 1];
	const char *colon = strrchr(m->id, ':');
	/* the part before the last colon, at most IOCA_AGENT_ID_MAX bytes */
	snprintf(agent, sizeof agent, "%.*s", colon ? (int)(colon - m->id) : (int)strlen(m->id),
		 m->id);
	const char *sev = ioca_severity_name((enum ioca_severity)m->severity);
	cJSON *o = cJSON_CreateObject();
	cJSON_AddNumberToObject(o, "v", 1);
	cJSON_AddStringToObject(o, "id", m->id);
	cJSON_AddNumberToObject(o, "seq", (double)m->seq);
	cJSON_AddStringToObject(o, "time", ioca_format_rfc3339(m->time_ms, ts, sizeof ts));
	cJSON_AddStringToObject(o, "agent", agent);
	cJSON_AddStringToObject(o, "source", m->source);
	cJSON_AddStringToObject(o, "plugin", m->plugin);
	cJSON_AddStringToObject(o, "type", m->type);
	cJSON_AddStringToObject(o, "severity", sev ? sev : "info");
	cJSON_AddStringToObject(o, "clock", m->clock_synced ? "synced" : "unsynced");
	/* data was validated as a JSON object when it was accepted */
	cJSON_AddRawToObject(o, "data", m->data_len ? m->data : "{}");
	char *text = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	return text;
}

/* A CSV field, quoted when it holds a separator, a quote or a line break. */
static void csv_field(FILE *out, const char *s)
{
	if (!s)
		return;
	if (!strpbrk(s, ",\"\r\n")) {
		fputs(s, out);
		return;
	}
	fputc('"', out);
	for (; *s; s++) {
		if (*s == '"')
			fputc('"', out);
		fputc(*s, out);
	}
	fputc('"', out);
}

static const char *string_member(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static void csv_readings(FILE *out, const struct ioca_archive_msg *m)
{
	cJSON *data = cJSON_ParseWithLength(m->data, m->data_len);
	const cJSON *readings = cJSON_GetObjectItemCaseSensitive(data, "readings");
	char ts[IOCA_RFC3339_LEN], num[40];
	ioca_format_rfc3339(m->time_ms, ts, sizeof ts);
	const cJSON *r;
	cJSON_ArrayForEach(r, readings)
	{
		const cJSON *value = cJSON_GetObjectItemCaseSensitive(r, "value");
		num[0] = '\0';
		if (cJSON_IsNumber(value))
			snprintf(num, sizeof num, "%.15g", value->valuedouble);
		/* a %g number never needs quoting */
		const char *fields[] = {m->source,
					string_member(r, "name"),
					num,
					string_member(r, "unit"),
					string_member(r, "status"),
					m->id};
		fputs(ts, out);
		for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
			fputc(',', out);
			csv_field(out, fields[i]);
		}
		fputc('\n', out);
	}
	cJSON_Delete(data);
}

long ioca_archive_export(const char *path, const struct ioca_archive_range *r,
			 enum ioca_export_format fmt, FILE *out, char *err, size_t errlen)
{
	struct ioca_archive_cursor *c = ioca_archive_cursor_open(path, r, err, errlen);
	if (!c)
		return -1;
	if (fmt == IOCA_EXPORT_CSV)
		fputs(CSV_HEADER, out);
	long n = 0;
	struct ioca_archive_msg m;
	int rc;
	while ((rc = ioca_archive_cursor_next(c, &m)) == IOCA_OK) {
		if (fmt == IOCA_EXPORT_CSV) {
			if (strcmp(m.type, "telemetry") == 0)
				csv_readings(out, &m);
		} else {
			char *line = ioca_archive_msg_json(&m);
			if (!line) {
				rc = IOCA_ERROR;
				snprintf(err, errlen, "out of memory");
				break;
			}
			fputs(line, out);
			fputc('\n', out);
			free(line);
		}
		n++;
	}
	if (rc == IOCA_ERROR && !err[0])
		snprintf(err, errlen, "%s", ioca_archive_cursor_error(c));
	ioca_archive_cursor_close(c);
	return rc == IOCA_ERROR ? -1 : n;
}
