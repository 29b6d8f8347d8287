/*
 * Line framing with a length limit (see linebuf.h).
 *
 * Invariant: lb->len <= lb->max_len at all times; once a line exceeds the
 * limit, `discarding` stays set until its terminator arrives.
 */
#include "linebuf.h"

#include <stdlib.h>

int ioca_linebuf_init(struct ioca_linebuf *lb, size_t max_len)
{
	lb->buf = malloc(max_len + 1);
	if (!lb->buf)
		return -1;
	lb->max_len = max_len;
	lb->len = 0;
	lb->discarding = 0;
	lb->overlong = 0;
	return 0;
}

void ioca_linebuf_free(struct ioca_linebuf *lb)
{
	free(lb->buf);
	lb->buf = NULL;
}

void ioca_linebuf_reset(struct ioca_linebuf *lb)
{
	lb->len = 0;
	lb->discarding = 0;
}

void ioca_linebuf_feed(struct ioca_linebuf *lb, const char *data, size_t n, ioca_linebuf_cb cb,
		       void *ctx)
{
	for (size_t i = 0; i < n; i++) {
		char c = data[i];
		if (c == '\r' || c == '\n') {
			if (!lb->discarding && lb->len > 0) {
				lb->buf[lb->len] = '\0';
				cb(ctx, lb->buf, lb->len);
			}
			lb->len = 0;
			lb->discarding = 0;
			continue;
		}
		if (lb->discarding)
			continue;
		if (lb->len == lb->max_len) {
			lb->discarding = 1;
			lb->overlong++;
			lb->len = 0;
			continue;
		}
		lb->buf[lb->len++] = c;
	}
}
