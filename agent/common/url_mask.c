/*
 * Credential masking of URLs and of free text holding URLs. See url_mask.h.
 *
 * The input is cut into words (the whole string for a URL; runs between
 * white space and quotes for text). In a word, the first "scheme://" starts
 * a URL whose user information runs to the word's last '@'; everything else
 * is cut into pieces at / ? & ; # and a piece `name=value` with a
 * credential-like name keeps its name only. Every decision is made before
 * anything of the region it concerns is written, so the output is a prefix
 * of the full result at any truncation.
 */
#include "url_mask.h"

#include <stdbool.h>
#include <string.h>

#define NAME_CHECK_MAX 256 /* longer parameter names are masked unread */

/* Parameter names holding any of these (case-insensitive) carry secrets. */
static const char *const secret_words[] = {
    "user", "usr", "pass", "pwd",   "token",   "auth",   "key", "secret",
    "sig",  "sid", "cred", "login", "session", "ticket", "jwt", NULL,
};

struct out {
	char *p;
	size_t len, cap;
};

static void put(struct out *o, const char *s, size_t n)
{
	if (o->cap == 0)
		return;
	size_t room = o->cap - 1 - o->len;
	if (n > room)
		n = room;
	memcpy(o->p + o->len, s, n);
	o->len += n;
	o->p[o->len] = '\0';
}

static bool is_alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_scheme_char(char c)
{
	return is_alpha(c) || (c >= '0' && c <= '9') || c == '+' || c == '-' || c == '.';
}

/* Ends of a word in free text: white space, control bytes, quotes, angle brackets. */
static bool is_text_end(char c)
{
	return (unsigned char)c <= ' ' || c == 0x7f || c == '"' || c == '\'' || c == '<' ||
	       c == '>';
}

static bool is_piece_sep(char c)
{
	return c == '/' || c == '?' || c == '&' || c == ';' || c == '#';
}

static int hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Whether a parameter name (percent-decoded, any case) holds a credential word. */
static bool is_secret_name(const char *name, size_t n)
{
	if (n > NAME_CHECK_MAX)
		return true;
	char low[NAME_CHECK_MAX + 1];
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		char c = name[i];
		if (c == '%' && i + 2 < n && hex_value(name[i + 1]) >= 0 &&
		    hex_value(name[i + 2]) >= 0) {
			c = (char)(hex_value(name[i + 1]) * 16 + hex_value(name[i + 2]));
			i += 2;
		}
		if (c != '\0') /* an encoded NUL must not end the name early */
			low[k++] = (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
	}
	low[k] = '\0';
	for (const char *const *w = secret_words; *w; w++) {
		if (strstr(low, *w))
			return true;
	}
	return false;
}

/* One piece between separators: `name=value` keeps only its name when it is a credential. */
static void put_piece(struct out *o, const char *s, size_t n)
{
	const char *eq = memchr(s, '=', n);
	if (eq && is_secret_name(s, (size_t)(eq - s))) {
		put(o, s, (size_t)(eq - s) + 1);
		put(o, IOCA_URL_MASK, strlen(IOCA_URL_MASK));
		return;
	}
	put(o, s, n);
}

static void put_pieces(struct out *o, const char *s, const char *end)
{
	while (s < end) {
		const char *p = s;
		while (p < end && !is_piece_sep(*p))
			p++;
		put_piece(o, s, (size_t)(p - s));
		if (p < end)
			put(o, p++, 1);
		s = p;
	}
}

/* Start of the scheme that ends right before `sep` ("://"), or NULL when there is none. */
static const char *scheme_start(const char *word, const char *sep)
{
	const char *s = sep;
	while (s > word && is_scheme_char(s[-1]))
		s--;
	while (s < sep && !is_alpha(*s))
		s++;
	return s < sep ? s : NULL;
}

static const char *find_sep(const char *s, const char *end)
{
	for (; s + 3 <= end; s++) {
		if (s[0] == ':' && s[1] == '/' && s[2] == '/')
			return s;
	}
	return NULL;
}

/* Mask one word [s, end): text before a URL, the URL's user information, the pieces. */
static void put_word(struct out *o, const char *s, const char *end)
{
	/* The first "://" with a scheme before it starts the URL ("+++://" does not). */
	const char *sep = find_sep(s, end), *scheme = NULL;
	while (sep && !(scheme = scheme_start(s, sep)))
		sep = find_sep(sep + 1, end);
	if (!scheme) {
		put_pieces(o, s, end);
		return;
	}
	put_pieces(o, s, scheme);
	put(o, scheme, (size_t)(sep + 3 - scheme));
	const char *auth = sep + 3;
	const char *at = NULL;
	for (const char *p = auth; p < end; p++) {
		if (*p == '@')
			at = p;
	}
	if (at) {
		put(o, IOCA_URL_MASK "@", strlen(IOCA_URL_MASK) + 1);
		auth = at + 1;
	}
	put_pieces(o, auth, end);
}

static struct out out_init(char *out, size_t outlen)
{
	struct out o = {out, 0, outlen};
	if (outlen)
		out[0] = '\0';
	return o;
}

size_t ioca_url_mask(const char *url, char *out, size_t outlen)
{
	struct out o = out_init(out, outlen);
	if (url)
		put_word(&o, url, url + strlen(url));
	return o.len;
}

size_t ioca_url_mask_text(const char *text, char *out, size_t outlen)
{
	struct out o = out_init(out, outlen);
	if (!text)
		return 0;
	const char *p = text;
	while (*p) {
		const char *w = p;
		while (*p && !is_text_end(*p))
			p++;
		put_word(&o, w, p);
		while (*p && is_text_end(*p))
			put(&o, p++, 1);
	}
	return o.len;
}
