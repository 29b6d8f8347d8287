/*
 * URL credential handling for the camera plugin. See camera_url.h.
 * Invariant: masking works on any byte string (it is fuzzed through the
 * option values) and never writes past `outlen`.
 */
#include "camera_url.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MASK "***"

static const char *const secret_keys[] = {"user", "pass", "pwd",    "token",
					  "auth", "key",  "secret", "sign"};

/* Length of the scheme including "://", or 0 when there is none. */
static size_t scheme_len(const char *url)
{
	size_t i = 0;
	if (!isalpha((unsigned char)url[0]))
		return 0;
	while (isalnum((unsigned char)url[i]) || url[i] == '+' || url[i] == '-' || url[i] == '.')
		i++;
	if (strncmp(url + i, "://", 3) != 0)
		return 0;
	return i + 3;
}

bool ioca_cam_url_is_network(const char *url)
{
	size_t n = scheme_len(url);
	return n > 0 && strncasecmp(url, "file://", 7) != 0;
}

struct out_buf {
	char *p;
	size_t len, cap;
};

static void put(struct out_buf *o, const char *s, size_t n)
{
	if (o->cap == 0)
		return;
	for (size_t i = 0; i < n && o->len + 1 < o->cap; i++)
		o->p[o->len++] = s[i];
	o->p[o->len] = '\0';
}

static bool is_secret_key(const char *k, size_t n)
{
	for (size_t i = 0; i < sizeof secret_keys / sizeof secret_keys[0]; i++) {
		size_t kl = strlen(secret_keys[i]);
		for (size_t j = 0; j + kl <= n; j++) {
			if (strncasecmp(k + j, secret_keys[i], kl) == 0)
				return true;
		}
	}
	return false;
}

/* Copy a query string, masking the values of credential-like keys. */
static void put_query(struct out_buf *o, const char *q)
{
	while (*q) {
		size_t seg = strcspn(q, "&;#");
		const char *eq = memchr(q, '=', seg);
		if (eq && is_secret_key(q, (size_t)(eq - q))) {
			put(o, q, (size_t)(eq - q) + 1);
			put(o, MASK, strlen(MASK));
		} else {
			put(o, q, seg);
		}
		q += seg;
		if (*q == '#') {
			put(o, q, strlen(q));
			return;
		}
		if (*q) {
			put(o, q, 1);
			q++;
		}
	}
}

void ioca_cam_url_mask(const char *url, char *out, size_t outlen)
{
	struct out_buf o = {out, 0, outlen};
	if (outlen)
		out[0] = '\0';
	if (!url)
		return;
	size_t s = scheme_len(url);
	put(&o, url, s);
	const char *auth = url + s;
	size_t alen = strcspn(auth, "/?#");
	const char *at = NULL;
	for (size_t i = 0; i < alen; i++) {
		if (auth[i] == '@')
			at = auth + i;
	}
	if (s && at) {
		put(&o, MASK "@", strlen(MASK) + 1);
		put(&o, at + 1, (size_t)(auth + alen - at - 1));
	} else {
		put(&o, auth, alen);
	}
	const char *rest = auth + alen;
	const char *qm = strchr(rest, '?');
	if (!qm) {
		put(&o, rest, strlen(rest));
		return;
	}
	put(&o, rest, (size_t)(qm - rest) + 1);
	put_query(&o, qm + 1);
}

static size_t encoded_len(const char *s)
{
	size_t n = 0;
	for (; *s; s++)
		n += (isalnum((unsigned char)*s) || strchr("-._~", *s)) ? 1 : 3;
	return n;
}

static char *encode_into(char *p, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (isalnum(c) || strchr("-._~", c)) {
			*p++ = (char)c;
		} else {
			*p++ = '%';
			*p++ = hex[c >> 4];
			*p++ = hex[c & 15];
		}
	}
	return p;
}

char *ioca_cam_url_with_credentials(const char *url, const char *username, const char *password)
{
	size_t s = scheme_len(url);
	if (!username || !*username || s == 0)
		return strdup(url);
	const char *auth = url + s;
	size_t alen = strcspn(auth, "/?#");
	const char *host = auth;
	for (size_t i = 0; i < alen; i++) {
		if (auth[i] == '@')
			host = auth + i + 1;
	}
	size_t need = s + encoded_len(username) + 1 + (password ? encoded_len(password) : 0) + 1 +
		      strlen(host) + 1;
	char *res = malloc(need);
	if (!res)
		return NULL;
	memcpy(res, url, s);
	char *p = encode_into(res + s, username);
	if (password && *password) {
		*p++ = ':';
		p = encode_into(p, password);
	}
	*p++ = '@';
	strcpy(p, host);
	return res;
}

void ioca_cam_mask_text(char *text)
{
	char *p = text;
	while ((p = strstr(p, "://")) != NULL) {
		char *auth = p + 3;
		size_t alen = strcspn(auth, "/?# \t\r\n'\"");
		char *at = NULL;
		for (size_t i = 0; i < alen; i++) {
			if (auth[i] == '@')
				at = auth + i;
		}
		if (!at) {
			p = auth;
			continue;
		}
		/* Replace the userinfo with "***" (never longer than what it replaces + 3). */
		size_t ulen = (size_t)(at - auth);
		if (ulen >= strlen(MASK)) {
			memcpy(auth, MASK, strlen(MASK));
			memmove(auth + strlen(MASK), at, strlen(at) + 1);
		} else {
			memset(auth, '*', ulen);
		}
		p = auth;
	}
}
