/*
 * UTF-8 validation and U+FFFD substitution (see utf8.h), after the
 * well-formed byte sequences of Unicode 15, table 3-7.
 *
 * Invariant: next_char() consumes at least one byte, so every loop over the
 * input ends; it accepts exactly the sequences of table 3-7.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "utf8.h"

static const char REPLACEMENT[IOCA_UTF8_REPLACEMENT_LEN] = {'\xEF', '\xBF', '\xBD'};

/*
 * Length of the character at s[0..len) when it is well-formed (*ok true), or
 * of its maximal ill-formed subpart (*ok false): the longest prefix that
 * could start a well-formed sequence, at least one byte.
 */
static size_t next_char(const unsigned char *s, size_t len, bool *ok)
{
	unsigned char b = s[0];
	unsigned char lo = 0x80, hi = 0xBF; /* range of the second byte */
	size_t need, n;

	*ok = true;
	if (b < 0x80)
		return 1;
	if (b >= 0xC2 && b <= 0xDF) {
		need = 2;
	} else if (b >= 0xE0 && b <= 0xEF) {
		need = 3;
		if (b == 0xE0)
			lo = 0xA0; /* no overlong forms */
		else if (b == 0xED)
			hi = 0x9F; /* no surrogates */
	} else if (b >= 0xF0 && b <= 0xF4) {
		need = 4;
		if (b == 0xF0)
			lo = 0x90; /* no overlong forms */
		else if (b == 0xF4)
			hi = 0x8F; /* nothing above U+10FFFF */
	} else {
		*ok = false; /* continuation byte, C0, C1 or F5..FF */
		return 1;
	}
	for (n = 1; n < need; n++) {
		unsigned char c;

		if (n >= len) {
			*ok = false;
			return n;
		}
		c = s[n];
		if (n == 1 ? (c < lo || c > hi) : (c < 0x80 || c > 0xBF)) {
			*ok = false;
			return n;
		}
	}
	return need;
}

bool ioca_utf8_valid(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0;

	while (i < len) {
		bool ok;

		i += next_char(p + i, len - i, &ok);
		if (!ok)
			return false;
	}
	return true;
}

size_t ioca_utf8_sanitize(char *dst, size_t cap, const char *src, size_t len)
{
	const unsigned char *p = (const unsigned char *)src;
	size_t i = 0, out = 0;

	if (cap == 0)
		return 0;
	while (i < len) {
		bool ok;
		size_t n = next_char(p + i, len - i, &ok);
		const char *piece = ok ? src + i : REPLACEMENT;
		size_t piece_len = ok ? n : IOCA_UTF8_REPLACEMENT_LEN;

		if (out + piece_len >= cap)
			break;
		memcpy(dst + out, piece, piece_len);
		out += piece_len;
		i += n;
	}
	dst[out] = '\0';
	return out;
}

char *ioca_utf8_strdup(const char *s)
{
	size_t len = strlen(s);
	size_t cap;
	char *out;

	if (ioca_utf8_valid(s, len))
		return strdup(s);
	/* Each input byte becomes at most one U+FFFD. */
	if (len > (SIZE_MAX - 1) / IOCA_UTF8_REPLACEMENT_LEN)
		return NULL;
	cap = len * IOCA_UTF8_REPLACEMENT_LEN + 1;
	out = malloc(cap);
	if (out)
		ioca_utf8_sanitize(out, cap, s, len);
	return out;
}

char *ioca_utf8_sanitize_alloc(const char *s, size_t len, size_t *out_len)
{
	/* Each input byte becomes at most one U+FFFD. */
	if (len > (SIZE_MAX - 1) / IOCA_UTF8_REPLACEMENT_LEN)
		return NULL;
	size_t cap = len * IOCA_UTF8_REPLACEMENT_LEN + 1;
	char *out = malloc(cap);
	if (!out)
		return NULL;
	size_t n = ioca_utf8_sanitize(out, cap, s, len);
	if (out_len)
		*out_len = n;
	return out;
}
