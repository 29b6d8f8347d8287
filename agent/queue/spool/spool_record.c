/*
 * Spool records: the 30-byte header (little-endian) and its verification.
 *
 *   0  u16 magic 0xCA51         12 ... (continued)
 *   2  u8  flags                8  u64 seq
 *   3  u8  content type length  16 i64 accepted_ms
 *   4  u32 body length          24 u16 topic length
 *                               26 u32 crc32 of bytes 0..25 and the body
 *   30 body: topic, content type, payload
 *
 * Format 2 (flag IOCA_SPOOL_FLAG_INSTANCE): the body starts with a u8
 * instance length I (1..255) and the instance name, then as above; body
 * length and CRC cover them. Records without the flag (format 1, or an
 * instance not known) decode with instance_len 0.
 *
 * Invariant: decode() returns IOCA_OK only for bytes whose every length fits
 * inside what was given and whose CRC matches; it never reads past `avail`.
 */
#include <string.h>
#include <sys/uio.h>
#include <zlib.h>

#include "spool_format.h"

static uint32_t crc_update(uint32_t crc, const void *p, size_t n)
{
	/* zlib's crc32 takes uInt lengths; records are far below 4 GiB. */
	return (uint32_t)crc32(crc, (const Bytef *)p, (uInt)n);
}

static size_t instance_len(const struct ioca_record *rec)
{
	return rec->instance ? strlen(rec->instance) : 0;
}

size_t ioca_spool_record_size(const struct ioca_record *rec)
{
	if (!rec->topic || rec->qos > 2 ||
	    (rec->kind != IOCA_RECORD_JSON && rec->kind != IOCA_RECORD_BLOB))
		return 0;
	if (!rec->payload && rec->payload_len)
		return 0;
	size_t tl = strlen(rec->topic);
	size_t cl = rec->content_type ? strlen(rec->content_type) : 0;
	size_t il = instance_len(rec);
	if (tl == 0 || tl > IOCA_SPOOL_TOPIC_MAX_BYTES || cl > IOCA_SPOOL_CTYPE_MAX_BYTES ||
	    il > IOCA_SPOOL_INSTANCE_MAX_BYTES)
		return 0;
	if (rec->payload_len > IOCA_SPOOL_REC_MAX_BYTES)
		return 0;
	size_t total = IOCA_SPOOL_REC_HDR_BYTES + (il ? 1 + il : 0) + tl + cl + rec->payload_len;
	return total > IOCA_SPOOL_REC_MAX_BYTES ? 0 : total;
}

size_t ioca_spool_record_header(const struct ioca_record *rec, uint8_t *hdr)
{
	size_t tl = strlen(rec->topic);
	size_t cl = rec->content_type ? strlen(rec->content_type) : 0;
	size_t il = instance_len(rec);
	uint8_t flags = (uint8_t)((rec->qos & IOCA_SPOOL_FLAG_QOS_MASK) |
				  (rec->retain ? IOCA_SPOOL_FLAG_RETAIN : 0) |
				  (il ? IOCA_SPOOL_FLAG_INSTANCE : 0) |
				  (((unsigned)rec->kind << IOCA_SPOOL_FLAG_KIND_SHIFT) &
				   IOCA_SPOOL_FLAG_KIND_MASK));
	size_t prefix = il ? 1 + il : 0;

	ioca_put_le16(hdr + 0, IOCA_SPOOL_REC_MAGIC);
	hdr[2] = flags;
	hdr[3] = (uint8_t)cl;
	ioca_put_le32(hdr + 4, (uint32_t)(prefix + tl + cl + rec->payload_len));
	ioca_put_le64(hdr + 8, rec->seq);
	ioca_put_le64(hdr + 16, (uint64_t)rec->accepted_ms);
	ioca_put_le16(hdr + 24, (uint16_t)tl);

	uint32_t crc = crc_update(0, hdr, IOCA_SPOOL_REC_CRC_OFFSET);
	if (il) {
		hdr[IOCA_SPOOL_REC_HDR_BYTES] = (uint8_t)il;
		crc = crc_update(crc, hdr + IOCA_SPOOL_REC_HDR_BYTES, 1);
		crc = crc_update(crc, rec->instance, il);
	}
	crc = crc_update(crc, rec->topic, tl);
	if (cl)
		crc = crc_update(crc, rec->content_type, cl);
	if (rec->payload_len)
		crc = crc_update(crc, rec->payload, rec->payload_len);
	ioca_put_le32(hdr + IOCA_SPOOL_REC_CRC_OFFSET, crc);
	return IOCA_SPOOL_REC_HDR_BYTES + (il ? 1u : 0u);
}

int ioca_spool_record_iov(const struct ioca_record *rec, uint8_t *hdr, struct iovec *iov)
{
	int n = 0;
	size_t hl = ioca_spool_record_header(rec, hdr);
	iov[n++] = (struct iovec){.iov_base = hdr, .iov_len = hl};
	if (hl > IOCA_SPOOL_REC_HDR_BYTES)
		iov[n++] =
		    (struct iovec){.iov_base = (void *)rec->instance, .iov_len = instance_len(rec)};
	iov[n++] = (struct iovec){.iov_base = (void *)rec->topic, .iov_len = strlen(rec->topic)};
	if (rec->content_type && rec->content_type[0])
		iov[n++] = (struct iovec){.iov_base = (void *)rec->content_type,
					  .iov_len = strlen(rec->content_type)};
	if (rec->payload_len)
		iov[n++] =
		    (struct iovec){.iov_base = (void *)rec->payload, .iov_len = rec->payload_len};
	return n;
}

int ioca_spool_record_decode(const uint8_t *buf, size_t avail, struct ioca_spool_rec_view *v,
			     size_t *need)
{
	if (avail < IOCA_SPOOL_REC_HDR_BYTES) {
		/* Reject early what cannot be a record, so a damaged tail shorter
		 * than a header is not mistaken for one being written. */
		if (avail >= 2 && ioca_get_le16(buf) != IOCA_SPOOL_REC_MAGIC)
			return IOCA_ERROR;
		if (avail >= 1 && buf[0] != (IOCA_SPOOL_REC_MAGIC & 0xFF))
			return IOCA_ERROR;
		*need = IOCA_SPOOL_REC_HDR_BYTES;
		return IOCA_AGAIN;
	}
	if (ioca_get_le16(buf) != IOCA_SPOOL_REC_MAGIC)
		return IOCA_ERROR;
	uint8_t flags = buf[2];
	if ((flags & IOCA_SPOOL_FLAG_RESERVED) || (flags & IOCA_SPOOL_FLAG_QOS_MASK) > 2)
		return IOCA_ERROR;
	unsigned kind = (flags & IOCA_SPOOL_FLAG_KIND_MASK) >> IOCA_SPOOL_FLAG_KIND_SHIFT;
	if (kind > IOCA_RECORD_BLOB)
		return IOCA_ERROR;
	size_t cl = buf[3];
	size_t body = ioca_get_le32(buf + 4);
	size_t tl = ioca_get_le16(buf + 24);
	if (tl == 0 || body > IOCA_SPOOL_REC_MAX_BYTES - IOCA_SPOOL_REC_HDR_BYTES || tl + cl > body)
		return IOCA_ERROR;
	/* The instance length byte is the first of the body. */
	bool has_instance = (flags & IOCA_SPOOL_FLAG_INSTANCE) != 0;
	if (has_instance && body < 1 + tl + cl)
		return IOCA_ERROR;
	size_t total = IOCA_SPOOL_REC_HDR_BYTES + body;
	if (avail < total) {
		*need = total;
		return IOCA_AGAIN;
	}
	const uint8_t *b = buf + IOCA_SPOOL_REC_HDR_BYTES;
	uint32_t crc = crc_update(0, buf, IOCA_SPOOL_REC_CRC_OFFSET);
	crc = crc_update(crc, b, body);
	if (crc != ioca_get_le32(buf + IOCA_SPOOL_REC_CRC_OFFSET))
		return IOCA_ERROR;
	size_t il = 0;
	v->instance = NULL;
	if (has_instance) {
		il = b[0];
		if (il == 0 || 1 + il + tl + cl > body)
			return IOCA_ERROR;
		v->instance = b + 1;
		b += 1 + il;
		body -= 1 + il;
	}
	v->instance_len = il;
	/* Instance, topic and content type are handed out as C strings. */
	if (memchr(b, 0, tl + cl) || (il && memchr(v->instance, 0, il)))
		return IOCA_ERROR;

	v->seq = ioca_get_le64(buf + 8);
	v->accepted_ms = (int64_t)ioca_get_le64(buf + 16);
	v->kind = (enum ioca_record_kind)kind;
	v->qos = flags & IOCA_SPOOL_FLAG_QOS_MASK;
	v->retain = (flags & IOCA_SPOOL_FLAG_RETAIN) != 0;
	v->topic = b;
	v->topic_len = tl;
	v->ctype = b + tl;
	v->ctype_len = cl;
	v->payload = b + tl + cl;
	v->payload_len = body - tl - cl;
	v->total_len = total;
	v->raw = buf;
	return IOCA_OK;
}
