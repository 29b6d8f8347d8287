/*
 * Lists of named numbers in the agent's JSON documents (metrics): written as
 * a table of {key, value} pairs instead of one cJSON call per number.
 */
#ifndef IOCA_JSON_COUNTS_H
#define IOCA_JSON_COUNTS_H

#include <cjson/cJSON.h>
#include <stddef.h>

struct ioca_json_count {
	const char *key;
	double value;
};

/* Add counts[0..n) to the object `o` as numbers, in order. */
void ioca_json_add_counts(cJSON *o, const struct ioca_json_count *counts, size_t n);

/* IOCA_JSON_COUNTS(o, {"key", value}, ...): ioca_json_add_counts() with the
 * pairs listed in place. */
#define IOCA_JSON_COUNTS(o, ...)                                                                   \
	ioca_json_add_counts((o), (const struct ioca_json_count[]){__VA_ARGS__},                   \
			     sizeof((const struct ioca_json_count[]){__VA_ARGS__}) /               \
				 sizeof(struct ioca_json_count))

#endif
