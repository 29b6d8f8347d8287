/*
 * Fuzz target of the UTF-8 validator and repair (agent/common/utf8.c), which
 * see every byte plugins hand over. Invariants checked on every input: the
 * repaired text is valid UTF-8, valid input comes back unchanged, and the
 * output is never more than three bytes per input byte.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "utf8.h"

#define REPLACEMENT_LEN 3u

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *in = (const char *)data;
	bool valid = ioca_utf8_valid(in, size);
	size_t out_len = 0;
	char *out = ioca_utf8_sanitize(in, size, &out_len);
	if (!out)
		return 0;
	if (!ioca_utf8_valid(out, out_len) || out_len > size * REPLACEMENT_LEN ||
	    (valid && (out_len != size || memcmp(out, in, size) != 0)))
		abort();
	free(out);
	return 0;
}
