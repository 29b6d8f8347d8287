/*
 * Named numbers of JSON documents (see json_counts.h).
 */
#include "json_counts.h"

void ioca_json_add_counts(cJSON *o, const struct ioca_json_count *counts, size_t n)
{
	for (size_t i = 0; i < n; i++)
		cJSON_AddNumberToObject(o, counts[i].key, counts[i].value);
}
