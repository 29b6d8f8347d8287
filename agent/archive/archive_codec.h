/*
 * How the archive stores a message's data: JSON text as is when short, and
 * as a deflate blob when it is at least IOCA_ARCHIVE_PACK_MIN_BYTES (a
 * telemetry message of 50 readings shrinks about fivefold: reading names,
 * units and keys repeat). SQLite keeps the two apart by storage class: TEXT
 * is plain, BLOB is packed.
 *
 * Packed form: 4 bytes little-endian length of the text, then a zlib stream
 * (RFC 1950) of it.
 */
#ifndef IOCA_ARCHIVE_CODEC_H
#define IOCA_ARCHIVE_CODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <zlib.h>

#define IOCA_ARCHIVE_PACK_MIN_BYTES 512
#define IOCA_ARCHIVE_TEXT_MAX       (32u * 1024 * 1024) /* longest data accepted when unpacking */

/* The packer's output buffer and deflate state, kept across messages: a
 * fresh deflate state is a quarter of a megabyte to allocate and clear. */
struct ioca_pack_buf {
	unsigned char *p;
	size_t cap;
	z_stream zs;
	bool zs_ready;
};

/* Pack text into b. Returns the packed length, 0 when packing does not pay
 * or fails (store the text as is). */
size_t ioca_archive_pack(struct ioca_pack_buf *b, const char *text, size_t len);
/* Length of the text a packed blob holds, 0 if it is not a valid header. */
size_t ioca_archive_unpacked_len(const void *blob, size_t n);
/* Unpack into dst (at least unpacked_len + 1 bytes; NUL-terminated).
 * Returns 0, or -1 when the blob is damaged. */
int ioca_archive_unpack(const void *blob, size_t n, char *dst, size_t dst_len);
void ioca_pack_buf_free(struct ioca_pack_buf *b);

#endif
