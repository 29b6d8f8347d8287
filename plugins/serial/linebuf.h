/*
 * Line framing of a byte stream from a serial instrument: splits on CR or LF,
 * skips empty lines, and discards lines longer than a limit (counting them).
 *
 * Invariant: a delivered line is NUL-terminated, holds no CR/LF and is at
 * most `max_len` bytes; the bytes of an over-long line up to its terminator
 * are never delivered, not even in part.
 */
#ifndef IOCA_SERIAL_LINEBUF_H
#define IOCA_SERIAL_LINEBUF_H

#include <stddef.h>
#include <stdint.h>

struct ioca_linebuf {
	char *buf; /* max_len + 1 bytes */
	size_t max_len;
	size_t len;
	int discarding;    /* inside an over-long line */
	uint64_t overlong; /* over-long lines discarded so far */
};

/* Called for each complete line; `line` is valid only during the call. */
typedef void (*ioca_linebuf_cb)(void *ctx, const char *line, size_t len);

/* Return value: 0, or -1 when out of memory. */
int ioca_linebuf_init(struct ioca_linebuf *lb, size_t max_len);
void ioca_linebuf_free(struct ioca_linebuf *lb);

/* Forget a partial line (after the device was reopened). */
void ioca_linebuf_reset(struct ioca_linebuf *lb);

/* Feed `n` bytes; calls cb for every line they complete. */
void ioca_linebuf_feed(struct ioca_linebuf *lb, const char *data, size_t n, ioca_linebuf_cb cb,
		       void *ctx);

#endif
