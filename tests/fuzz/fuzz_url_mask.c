/* Fuzz target: URL credential masking (agent/common/url_mask.c) on any bytes,
 * as a URL and as free text, at every buffer size. Checks the invariants of
 * url_mask.h: NUL-terminated within the buffer, a truncated result is a
 * prefix of the full one, masking is idempotent, and a password put between
 * "://" and '@' or after "token=" never survives. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "url_mask.h"

#define SECRET "Zq7SecretMarker"

static void check_prefix(const char *in, const char *full, size_t full_len, size_t cap,
			 size_t (*mask)(const char *, char *, size_t))
{
	char *small = malloc(cap);
	if (!small)
		return;
	size_t n = mask(in, small, cap);
	if (n >= cap || small[n] != '\0' || memcmp(small, full, n) != 0 ||
	    (n < full_len && n != cap - 1))
		abort();
	free(small);
}

static void check(const char *in, size_t (*mask)(const char *, char *, size_t))
{
	size_t cap = 4 * strlen(in) + 16; /* "***" for each 1-byte value at most */
	char *full = malloc(cap), *again = malloc(cap);
	if (!full || !again)
		goto out;
	size_t n = mask(in, full, cap);
	if (n + 1 >= cap)
		abort(); /* the bound above is not enough: truncation happened */
	mask(full, again, cap);
	if (strcmp(full, again) != 0)
		abort();
	check_prefix(in, full, n, 1 + (n % 37), mask);
out:
	free(full);
	free(again);
}

/* "rtsp://" A ":" SECRET "@" B "&token=" SECRET: neither copy may be printed. */
static void check_secret(const char *a, const char *b)
{
	size_t len = strlen(a) + strlen(b) + 2 * strlen(SECRET) + 32;
	char *url = malloc(len), *out = malloc(4 * len);
	if (!url || !out)
		goto out;
	strcpy(url, "rtsp://");
	strcat(url, a);
	strcat(url, ":" SECRET "@");
	strcat(url, b);
	strcat(url, "&token=" SECRET);
	ioca_url_mask(url, out, 4 * len);
	if (strstr(out, SECRET) && !strstr(a, SECRET) && !strstr(b, SECRET))
		abort();
out:
	free(url);
	free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	check(s, ioca_url_mask);
	check(s, ioca_url_mask_text);
	size_t half = strlen(s) / 2;
	char *b = strdup(s + half);
	s[half] = '\0';
	if (b)
		check_secret(s, b);
	free(b);
	free(s);
	return 0;
}
