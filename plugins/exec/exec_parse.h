/*
 * Parser of an exec command's output: a JSON object whose members are
 * readings (cJSON). A member is either a number (or true/false), null (a
 * failed reading), or an object { "value": n|null, "unit": "...", "status":
 * "ok|calibrating|error", "error": "..." }. Anything else is a failed reading
 * with error "not_a_number".
 *
 * Kept free of the plugin and of processes so that it can be fuzzed alone.
 * Invariant: the callback's strings are valid only during the callback.
 */
#ifndef IOCA_EXEC_PARSE_H
#define IOCA_EXEC_PARSE_H

#include <stdbool.h>
#include <stddef.h>

#include "iocagent/plugin.h"

#define IOCA_EXEC_MAX_READINGS 256
#define IOCA_EXEC_NAME_MAX     128

struct ioca_exec_value {
	const char *name;
	double value;     /* meaningful unless status is error */
	const char *unit; /* NULL when not given */
	enum ioca_reading_status status;
	const char *error; /* reason when status is error */
};

typedef void (*ioca_exec_value_fn)(void *ctx, const struct ioca_exec_value *v);

/*
 * Function: ioca_exec_parse
 *
 * Parse `len` bytes of `text` and call `fn` once per reading, in document
 * order, at most IOCA_EXEC_MAX_READINGS times (further members are skipped).
 * Members with an empty or over-long name are skipped.
 *
 * Return value: IOCA_OK, or IOCA_ERROR with a short reason in err
 * ("invalid_json", "not_an_object") when nothing could be read.
 */
int ioca_exec_parse(const char *text, size_t len, ioca_exec_value_fn fn, void *ctx, char *err,
		    size_t errlen);

#endif
