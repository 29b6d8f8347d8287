/*
 * UTF-8 validation and repair (see utf8.h).
 *
 * Invariant: seq_len() accepts exactly the well-formed sequences of Unicode
 * table 3-7, so the validator and the sanitizer cannot disagree.
 */
#include "utf8.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define REPLACEMENT     "\xEF\xBF\xBD" /* U+FFFD */
#define REPLACEMENT_LEN 3u

/* Length of the well-formed sequence at p (p < e), or 0 when there is none;
 * *bad then says how many bytes form the maximal invalid subpart. */
static size_t seq_len(const unsigned char *p, const unsigned char *e, size_t *bad)
{
	unsigned char c = p[0];
	unsigned char lo = 0x80, hi = 0xBF;
	size_t need;
	*bad = 1;
	if (c < 0x80)
		return 1;
	if (c >= 0xC2 && c <= 0xDF) {
		need = 2;
	} else if (c >= 0xE0 && c <= 0xEF) {
		need = 3;
		if (c == 0xE0)
			lo = 0xA0; /* no overlong forms */
		else if (c == 0xED)
			hi = 0x9F; /* no surrogates */
	} else if (c >= 0xF0 && c <= 0xF4) {
		need = 4;
		if (c == 0xF0)
			lo = 0x90;
		else if (c == 0xF4)
			hi = 0x8F; /* nothing above U+10FFFF */
	} else {
		return 0;
	}
	for (size_t i = 1; i < need; i++) {
		if (p + i >= e)
			return 0;
		unsigned char b = p[i];
		if (b < lo || b > hi)
			return 0;
		lo = 0x80;
		hi = 0xBF;
		*bad = i + 1;
	}
	return need;
}

bool ioca_utf8_valid(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s, *e = p + len;
	while (p < e) {
		size_t bad;
		size_t n = seq_len(p, e, &bad);
		if (!n)
			return false;
		p += n;
	}
	return true;
}

char *ioca_utf8_sanitize(const char *s, size_t len, size_t *out_len)
{
	/* each invalid byte becomes at most 3 bytes */
	if (len > (SIZE_MAX - 1) / REPLACEMENT_LEN)
		return NULL;
	char *out = malloc(len * REPLACEMENT_LEN + 1);
	if (!out)
		return NULL;
	const unsigned char *p = (const unsigned char *)s, *e = p + len;
	size_t o = 0;
	while (p < e) {
		size_t bad;
		size_t n = seq_len(p, e, &bad);
		if (n) {
			memcpy(out + o, p, n);
			o += n;
			p += n;
		} else {
			memcpy(out + o, REPLACEMENT, REPLACEMENT_LEN);
			o += REPLACEMENT_LEN;
			p += bad;
		}
	}
	out[o] = '\0';
	if (out_len)
		*out_len = o;
	return out;
}
