/*
 * libFuzzer target: the UTF-8 sanitiser on arbitrary bytes and buffer sizes.
 * The output must be valid UTF-8, fit its buffer, be a prefix-preserving
 * copy of valid input, and sanitising it again must change nothing.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "utf8.h"

#define OUT_MAX 4096

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char out[OUT_MAX], again[OUT_MAX];
	size_t cap, n, m;
	const char *in;

	if (size < 1)
		return 0;
	cap = 1 + data[0] * (OUT_MAX / 256); /* 1 .. OUT_MAX - 15 */
	in = (const char *)data + 1;
	size--;
	n = ioca_utf8_sanitize(out, cap, in, size);
	if (n >= cap || out[n] != '\0' || !ioca_utf8_valid(out, n))
		abort();
	if (ioca_utf8_valid(in, size) && memcmp(out, in, n) != 0)
		abort();
	m = ioca_utf8_sanitize(again, sizeof again, out, n);
	if (m != n || memcmp(again, out, n) != 0)
		abort();
	return 0;
}
