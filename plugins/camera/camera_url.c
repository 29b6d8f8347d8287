/*
 * URL credential handling for the camera plugin. See camera_url.h.
 * Invariant: works on any byte string (it is fuzzed through the option
 * values); masking for logs and events is url_mask.h's, not this file's.
 */
#include "camera_url.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

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
