/* Fuzz target: the RFC 3339 parser behind --export --from/--to. Whatever it
 * accepts must format and parse back to the same millisecond. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "timeutil.h"

#define INPUT_MAX 256

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char text[INPUT_MAX + 1], again[IOCA_RFC3339_LEN];
	if (size > INPUT_MAX)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	int64_t ms = 0, back = 0;
	if (ioca_parse_rfc3339(text, &ms) != 0)
		return 0;
	ioca_format_rfc3339(ms, again, sizeof again);
	if (ioca_parse_rfc3339(again, &back) != 0 || back != ms)
		abort();
	return 0;
}
