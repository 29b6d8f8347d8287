/* The archive's data encoding (see archive_codec.h), with zlib. */
#include "archive_codec.h"

#include <stdint.h>
#include <stdlib.h>
#include <zlib.h>

#define HEADER_BYTES 4

size_t ioca_archive_pack(struct ioca_pack_buf *b, const char *text, size_t len)
{
	if (len < IOCA_ARCHIVE_PACK_MIN_BYTES || len > IOCA_ARCHIVE_TEXT_MAX)
		return 0;
	size_t need = HEADER_BYTES + compressBound((uLong)len);
	if (b->cap < need) {
		unsigned char *p = realloc(b->p, need);
		if (!p)
			return 0;
		b->p = p;
		b->cap = need;
	}
	if (!b->zs_ready) {
		if (deflateInit(&b->zs, Z_BEST_SPEED) != Z_OK)
			return 0;
		b->zs_ready = true;
	} else if (deflateReset(&b->zs) != Z_OK) {
		return 0;
	}
	b->zs.next_in = (Bytef *)(uintptr_t)text;
	b->zs.avail_in = (uInt)len;
	b->zs.next_out = b->p + HEADER_BYTES;
	b->zs.avail_out = (uInt)(b->cap - HEADER_BYTES);
	if (deflate(&b->zs, Z_FINISH) != Z_STREAM_END)
		return 0;
	size_t out = b->zs.total_out;
	if (HEADER_BYTES + out >= len)
		return 0;
	for (int i = 0; i < HEADER_BYTES; i++)
		b->p[i] = (unsigned char)(len >> (8 * i));
	return HEADER_BYTES + out;
}

size_t ioca_archive_unpacked_len(const void *blob, size_t n)
{
	const unsigned char *p = blob;
	if (!p || n <= HEADER_BYTES)
		return 0;
	uint32_t len = 0;
	for (int i = 0; i < HEADER_BYTES; i++)
		len |= (uint32_t)p[i] << (8 * i);
	return len <= IOCA_ARCHIVE_TEXT_MAX ? len : 0;
}

int ioca_archive_unpack(const void *blob, size_t n, char *dst, size_t dst_len)
{
	size_t len = ioca_archive_unpacked_len(blob, n);
	if (len == 0 || dst_len < len + 1)
		return -1;
	uLongf out = (uLongf)len;
	const unsigned char *p = blob;
	if (uncompress((Bytef *)dst, &out, p + HEADER_BYTES, (uLong)(n - HEADER_BYTES)) != Z_OK ||
	    out != len)
		return -1;
	dst[len] = '\0';
	return 0;
}

void ioca_pack_buf_free(struct ioca_pack_buf *b)
{
	if (b->zs_ready)
		deflateEnd(&b->zs);
	b->zs_ready = false;
	free(b->p);
	b->p = NULL;
	b->cap = 0;
}
