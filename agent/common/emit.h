/*
 * What a plugin emits, checked and encoded the same way wherever the plugin
 * runs (worker process or in-process test harness): names are validated
 * against the ABI's character sets, event data must be a JSON object, and
 * telemetry readings are encoded to the {"readings":[...]} data object of
 * the interface.
 */
#ifndef IOCA_EMIT_H
#define IOCA_EMIT_H

#include <stdbool.h>
#include <stddef.h>

#include "iocagent/plugin.h"

#define IOCA_EVENT_TYPE_MAX   64
#define IOCA_SUBTOPIC_MAX     32
#define IOCA_STAT_NAME_MAX    48
#define IOCA_CONTENT_TYPE_MAX 64

/* [a-z0-9_.]{1,64}, no empty segment ("a..b", ".a", "a.") */
bool ioca_event_type_valid(const char *type);
/* [a-z0-9_/]{1,32}, no empty segment */
bool ioca_subtopic_valid(const char *subtopic);
/* [a-z0-9_]{1,48} */
bool ioca_stat_name_valid(const char *name);
/* printable ASCII without spaces, 1..64, containing one '/' */
bool ioca_content_type_valid(const char *ct);
/* Severity name ("info", "warning", "critical") or NULL when out of range. */
const char *ioca_severity_name(enum ioca_severity s);

/* Whether text is a JSON object, compactly re-encoded into *compact (malloc'd)
 * when compact is not NULL. */
bool ioca_json_object_valid(const char *text, char **compact);
/* The same for `len` bytes that need not be NUL-terminated: the check both
 * the worker (at emit) and the core (on every frame) apply. */
bool ioca_json_object_valid_len(const char *data, size_t len, char **compact);

/* {"readings":[{"name":..,"value":..,"unit":..,"status":..,"error":..},...]}
 * malloc'd, or NULL on invalid readings (reason in err). */
char *ioca_readings_to_json(const struct ioca_reading *readings, size_t count, char *err,
			    size_t errlen);

#endif
