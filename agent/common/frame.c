/*
 * Worker <-> core frame codec (format in frame.h). The reader never trusts a
 * length before checking it against IOCA_FRAME_MAX_PAYLOAD, and every parser
 * checks that each field lies inside the payload before reading it.
 */
#include "frame.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "emit.h"
#include "grow.h"

#define READER_MIN_CAP               65536u
#define HEARTBEAT_PAYLOAD_LEN        16u /* i64 idle_ms, i64 sent_mono_ms */
#define SNAPSHOT_REQUEST_PAYLOAD_LEN 8u  /* u64 max_blob_bytes */
#define BLOB_LIMIT_PAYLOAD_LEN       8u  /* u64 max_blob_bytes */
#define U64_PAYLOAD_LEN              8u  /* one u64: both of the above */

static void put_u16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void put_u32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void put_u64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint16_t get_u16(const uint8_t *p)
{
	return (uint16_t)(p[0] | (p[1] << 8));
}

static uint32_t get_u32(const uint8_t *p)
{
	return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) |
	       ((uint32_t)p[3] << 24);
}

static uint64_t get_u64(const uint8_t *p)
{
	uint64_t v = 0;
	for (int i = 7; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

void ioca_frame_reader_init(struct ioca_frame_reader *r)
{
	memset(r, 0, sizeof *r);
}

void ioca_frame_reader_free(struct ioca_frame_reader *r)
{
	free(r->buf);
	memset(r, 0, sizeof *r);
}

int ioca_frame_reader_space(struct ioca_frame_reader *r, size_t want, uint8_t **dst)
{
	/* move the unconsumed bytes to the front before growing */
	if (r->start > 0) {
		memmove(r->buf, r->buf + r->start, r->len - r->start);
		r->len -= r->start;
		r->start = 0;
	}
	uint8_t *b = ioca_grow(r->buf, &r->cap, r->len + want, 1, READER_MIN_CAP);
	if (!b)
		return IOCA_ERROR;
	r->buf = b;
	*dst = r->buf + r->len;
	return IOCA_OK;
}

void ioca_frame_reader_commit(struct ioca_frame_reader *r, size_t n)
{
	r->len += n;
}

int ioca_frame_reader_feed(struct ioca_frame_reader *r, const void *data, size_t n)
{
	uint8_t *dst;
	if (ioca_frame_reader_space(r, n, &dst) != IOCA_OK)
		return IOCA_ERROR;
	memcpy(dst, data, n);
	ioca_frame_reader_commit(r, n);
	return IOCA_OK;
}

static bool known_type(unsigned t)
{
	return t >= IOCA_FRAME_HELLO && t <= IOCA_FRAME_BLOB_LIMIT;
}

int ioca_frame_next(struct ioca_frame_reader *r, struct ioca_frame *out)
{
	size_t avail = r->len - r->start;
	if (avail < IOCA_FRAME_HEADER_LEN)
		return IOCA_AGAIN;
	const uint8_t *h = r->buf + r->start;
	if (get_u16(h) != IOCA_FRAME_MAGIC) {
		snprintf(r->error, sizeof r->error, "bad frame magic 0x%04x", get_u16(h));
		return IOCA_ERROR;
	}
	if (h[2] != IOCA_FRAME_VERSION) {
		snprintf(r->error, sizeof r->error, "unknown frame version %u", h[2]);
		return IOCA_ERROR;
	}
	if (!known_type(h[3])) {
		snprintf(r->error, sizeof r->error, "unknown frame type %u", h[3]);
		return IOCA_ERROR;
	}
	uint32_t len = get_u32(h + 4);
	if (len > IOCA_FRAME_MAX_PAYLOAD) {
		snprintf(r->error, sizeof r->error, "frame payload of %u bytes exceeds the limit",
			 len);
		return IOCA_ERROR;
	}
	if (avail - IOCA_FRAME_HEADER_LEN < len)
		return IOCA_AGAIN;
	out->type = (enum ioca_frame_type)h[3];
	out->payload = h + IOCA_FRAME_HEADER_LEN;
	out->len = len;
	r->start += IOCA_FRAME_HEADER_LEN + len;
	if (r->start == r->len)
		r->start = r->len = 0;
	return IOCA_OK;
}

static int fail(char *err, size_t errlen, const char *what, const struct ioca_frame *f)
{
	snprintf(err, errlen, "malformed frame type %d (%zu bytes): %s", (int)f->type, f->len,
		 what);
	return IOCA_ERROR;
}

int ioca_frame_parse_hello(const struct ioca_frame *f, struct ioca_frame_hello *out, char *err,
			   size_t errlen)
{
	if (f->type != IOCA_FRAME_HELLO || f->len < 6)
		return fail(err, errlen, "short hello", f);
	out->abi_major = get_u16(f->payload);
	out->abi_minor = get_u16(f->payload + 2);
	const char *name = (const char *)f->payload + 4;
	size_t left = f->len - 4;
	const char *nul = memchr(name, '\0', left);
	if (!nul)
		return fail(err, errlen, "unterminated name", f);
	const char *version = nul + 1;
	left -= (size_t)(version - name);
	const char *vnul = left ? memchr(version, '\0', left) : NULL;
	if (!vnul)
		return fail(err, errlen, "unterminated version", f);
	size_t rest = left - (size_t)(vnul + 1 - version);
	if (rest != 0 && rest != 4)
		return fail(err, errlen, "bad features", f);
	out->name = name;
	out->version = version;
	out->features = rest ? get_u32((const uint8_t *)vnul + 1) : 0;
	return IOCA_OK;
}

int ioca_frame_parse_event(const struct ioca_frame *f, struct ioca_frame_event *out, char *err,
			   size_t errlen)
{
	if (f->type != IOCA_FRAME_EVENT || f->len < 10)
		return fail(err, errlen, "short event", f);
	out->time_ms = (int64_t)get_u64(f->payload);
	uint8_t sev = f->payload[8];
	if (!ioca_severity_name((enum ioca_severity)sev))
		return fail(err, errlen, "bad severity", f);
	out->severity = (enum ioca_severity)sev;
	size_t tlen = f->payload[9];
	if (tlen == 0 || tlen > IOCA_EVENT_TYPE_MAX || 10 + tlen > f->len)
		return fail(err, errlen, "bad type length", f);
	memcpy(out->type, f->payload + 10, tlen);
	out->type[tlen] = '\0';
	if (!ioca_event_type_valid(out->type))
		return fail(err, errlen, "bad event type", f);
	out->data = (const char *)f->payload + 10 + tlen;
	out->data_len = f->len - 10 - tlen;
	return IOCA_OK;
}

int ioca_frame_parse_telemetry(const struct ioca_frame *f, struct ioca_frame_event *out, char *err,
			       size_t errlen)
{
	if (f->type != IOCA_FRAME_TELEMETRY || f->len < 8)
		return fail(err, errlen, "short telemetry", f);
	out->time_ms = (int64_t)get_u64(f->payload);
	out->severity = IOCA_SEV_INFO;
	snprintf(out->type, sizeof out->type, "telemetry");
	out->data = (const char *)f->payload + 8;
	out->data_len = f->len - 8;
	return IOCA_OK;
}

int ioca_frame_parse_blob(const struct ioca_frame *f, struct ioca_frame_blob *out, char *err,
			  size_t errlen)
{
	if (f->type != IOCA_FRAME_BLOB || f->len < 10)
		return fail(err, errlen, "short blob", f);
	out->time_ms = (int64_t)get_u64(f->payload);
	size_t pos = 8;
	size_t slen = f->payload[pos++];
	if (slen == 0 || slen > IOCA_SUBTOPIC_MAX || pos + slen + 1 > f->len)
		return fail(err, errlen, "bad subtopic length", f);
	memcpy(out->subtopic, f->payload + pos, slen);
	out->subtopic[slen] = '\0';
	pos += slen;
	size_t clen = f->payload[pos++];
	if (clen == 0 || clen > IOCA_CONTENT_TYPE_MAX || pos + clen > f->len)
		return fail(err, errlen, "bad content type length", f);
	memcpy(out->content_type, f->payload + pos, clen);
	out->content_type[clen] = '\0';
	pos += clen;
	if (!ioca_subtopic_valid(out->subtopic) || !ioca_content_type_valid(out->content_type))
		return fail(err, errlen, "bad subtopic or content type", f);
	out->data = f->payload + pos;
	out->len = f->len - pos;
	if (out->len > IOCA_BLOB_MAX_BYTES)
		return fail(err, errlen, "blob too large", f);
	return IOCA_OK;
}

int ioca_frame_parse_heartbeat(const struct ioca_frame *f, struct ioca_frame_heartbeat *out,
			       char *err, size_t errlen)
{
	if (f->type != IOCA_FRAME_HEARTBEAT || f->len != HEARTBEAT_PAYLOAD_LEN)
		return fail(err, errlen, "bad heartbeat", f);
	int64_t idle = (int64_t)get_u64(f->payload);
	int64_t sent = (int64_t)get_u64(f->payload + 8);
	if (idle < 0)
		return fail(err, errlen, "negative idle time", f);
	if (sent < 0)
		return fail(err, errlen, "negative send time", f);
	out->idle_ms = idle;
	out->sent_mono_ms = sent;
	return IOCA_OK;
}

int ioca_frame_parse_snapshot_request(const struct ioca_frame *f, uint64_t *max_blob_bytes,
				      char *err, size_t errlen)
{
	if (f->type != IOCA_FRAME_SNAPSHOT_REQUEST ||
	    (f->len != 0 && f->len != SNAPSHOT_REQUEST_PAYLOAD_LEN))
		return fail(err, errlen, "bad snapshot request", f);
	*max_blob_bytes = f->len ? get_u64(f->payload) : 0;
	return IOCA_OK;
}

int ioca_frame_parse_blob_limit(const struct ioca_frame *f, uint64_t *max_blob_bytes, char *err,
				size_t errlen)
{
	if (f->type != IOCA_FRAME_BLOB_LIMIT || f->len != BLOB_LIMIT_PAYLOAD_LEN)
		return fail(err, errlen, "bad blob limit", f);
	*max_blob_bytes = get_u64(f->payload);
	return IOCA_OK;
}

int ioca_frame_parse_stats(const struct ioca_frame *f,
			   void (*fn)(void *ctx, const struct ioca_frame_stat *st), void *ctx,
			   char *err, size_t errlen)
{
	if (f->type != IOCA_FRAME_STATS)
		return fail(err, errlen, "not stats", f);
	size_t pos = 0;
	while (pos < f->len) {
		if (f->len - pos < 2)
			return fail(err, errlen, "truncated stat", f);
		struct ioca_frame_stat st;
		uint8_t op = f->payload[pos];
		size_t nlen = f->payload[pos + 1];
		pos += 2;
		if (op > 1 || nlen == 0 || nlen > IOCA_STAT_NAME_MAX || f->len - pos < nlen + 8)
			return fail(err, errlen, "bad stat entry", f);
		memcpy(st.name, f->payload + pos, nlen);
		st.name[nlen] = '\0';
		if (!ioca_stat_name_valid(st.name))
			return fail(err, errlen, "bad stat name", f);
		pos += nlen;
		uint64_t bits = get_u64(f->payload + pos);
		memcpy(&st.value, &bits, sizeof st.value);
		pos += 8;
		st.add = op == 1;
		fn(ctx, &st);
	}
	return IOCA_OK;
}

static size_t header(uint8_t *buf, size_t cap, enum ioca_frame_type type, size_t payload_len)
{
	if (cap < IOCA_FRAME_HEADER_LEN || payload_len > IOCA_FRAME_MAX_PAYLOAD)
		return 0;
	put_u16(buf, IOCA_FRAME_MAGIC);
	buf[2] = IOCA_FRAME_VERSION;
	buf[3] = (uint8_t)type;
	put_u32(buf + 4, (uint32_t)payload_len);
	return IOCA_FRAME_HEADER_LEN;
}

size_t ioca_frame_encode_hello(uint8_t *buf, size_t cap, uint16_t abi_major, uint16_t abi_minor,
			       const char *name, const char *version, uint32_t features)
{
	size_t nlen = strlen(name) + 1, vlen = strlen(version) + 1;
	size_t plen = 4 + nlen + vlen + 4;
	if (cap < IOCA_FRAME_HEADER_LEN + plen || !header(buf, cap, IOCA_FRAME_HELLO, plen))
		return 0;
	uint8_t *p = buf + IOCA_FRAME_HEADER_LEN;
	put_u16(p, abi_major);
	put_u16(p + 2, abi_minor);
	memcpy(p + 4, name, nlen);
	memcpy(p + 4 + nlen, version, vlen);
	put_u32(p + 4 + nlen + vlen, features);
	return IOCA_FRAME_HEADER_LEN + plen;
}

size_t ioca_frame_encode_event_head(uint8_t *buf, size_t cap, int64_t time_ms,
				    enum ioca_severity severity, const char *type, size_t data_len)
{
	size_t tlen = strlen(type);
	if (!ioca_event_type_valid(type))
		return 0;
	size_t fixed = 10 + tlen;
	if (cap < IOCA_FRAME_HEADER_LEN + fixed ||
	    !header(buf, cap, IOCA_FRAME_EVENT, fixed + data_len))
		return 0;
	uint8_t *p = buf + IOCA_FRAME_HEADER_LEN;
	put_u64(p, (uint64_t)time_ms);
	p[8] = (uint8_t)severity;
	p[9] = (uint8_t)tlen;
	memcpy(p + 10, type, tlen);
	return IOCA_FRAME_HEADER_LEN + fixed;
}

size_t ioca_frame_encode_telemetry_head(uint8_t *buf, size_t cap, int64_t time_ms, size_t data_len)
{
	if (cap < IOCA_FRAME_HEADER_LEN + 8 ||
	    !header(buf, cap, IOCA_FRAME_TELEMETRY, 8 + data_len))
		return 0;
	put_u64(buf + IOCA_FRAME_HEADER_LEN, (uint64_t)time_ms);
	return IOCA_FRAME_HEADER_LEN + 8;
}

size_t ioca_frame_encode_blob_head(uint8_t *buf, size_t cap, int64_t time_ms, const char *subtopic,
				   const char *content_type, size_t len)
{
	size_t slen = strlen(subtopic), clen = strlen(content_type);
	if (!ioca_subtopic_valid(subtopic) || !ioca_content_type_valid(content_type) ||
	    len > IOCA_BLOB_MAX_BYTES)
		return 0;
	size_t fixed = 8 + 1 + slen + 1 + clen;
	if (cap < IOCA_FRAME_HEADER_LEN + fixed || !header(buf, cap, IOCA_FRAME_BLOB, fixed + len))
		return 0;
	uint8_t *p = buf + IOCA_FRAME_HEADER_LEN;
	put_u64(p, (uint64_t)time_ms);
	p[8] = (uint8_t)slen;
	memcpy(p + 9, subtopic, slen);
	p[9 + slen] = (uint8_t)clen;
	memcpy(p + 10 + slen, content_type, clen);
	return IOCA_FRAME_HEADER_LEN + fixed;
}

size_t ioca_frame_encode_heartbeat(uint8_t *buf, size_t cap, int64_t idle_ms, int64_t sent_mono_ms)
{
	if (cap < IOCA_FRAME_HEADER_LEN + HEARTBEAT_PAYLOAD_LEN ||
	    !header(buf, cap, IOCA_FRAME_HEARTBEAT, HEARTBEAT_PAYLOAD_LEN))
		return 0;
	put_u64(buf + IOCA_FRAME_HEADER_LEN, (uint64_t)(idle_ms < 0 ? 0 : idle_ms));
	put_u64(buf + IOCA_FRAME_HEADER_LEN + 8, (uint64_t)(sent_mono_ms < 0 ? 0 : sent_mono_ms));
	return IOCA_FRAME_HEADER_LEN + HEARTBEAT_PAYLOAD_LEN;
}

size_t ioca_frame_encode_stop(uint8_t *buf, size_t cap)
{
	return header(buf, cap, IOCA_FRAME_STOP, 0);
}

/* A frame whose whole payload is one u64. */
static size_t encode_u64_frame(uint8_t *buf, size_t cap, enum ioca_frame_type type, uint64_t value)
{
	if (cap < IOCA_FRAME_HEADER_LEN + U64_PAYLOAD_LEN ||
	    !header(buf, cap, type, U64_PAYLOAD_LEN))
		return 0;
	put_u64(buf + IOCA_FRAME_HEADER_LEN, value);
	return IOCA_FRAME_HEADER_LEN + U64_PAYLOAD_LEN;
}

size_t ioca_frame_encode_snapshot_request(uint8_t *buf, size_t cap, uint64_t max_blob_bytes)
{
	return encode_u64_frame(buf, cap, IOCA_FRAME_SNAPSHOT_REQUEST, max_blob_bytes);
}

size_t ioca_frame_encode_blob_limit(uint8_t *buf, size_t cap, uint64_t max_blob_bytes)
{
	return encode_u64_frame(buf, cap, IOCA_FRAME_BLOB_LIMIT, max_blob_bytes);
}

size_t ioca_frame_encode_stats_begin(uint8_t *buf, size_t cap)
{
	return header(buf, cap, IOCA_FRAME_STATS, 0);
}

size_t ioca_frame_encode_stats_add(uint8_t *buf, size_t cap, size_t used, bool add,
				   const char *name, double value)
{
	size_t nlen = strlen(name);
	if (!ioca_stat_name_valid(name) || used + 2 + nlen + 8 > cap)
		return 0;
	uint8_t *p = buf + used;
	p[0] = add ? 1 : 0;
	p[1] = (uint8_t)nlen;
	memcpy(p + 2, name, nlen);
	uint64_t bits;
	memcpy(&bits, &value, sizeof bits);
	put_u64(p + 2 + nlen, bits);
	return used + 2 + nlen + 8;
}

void ioca_frame_encode_stats_finish(uint8_t *buf, size_t used)
{
	put_u32(buf + 4, (uint32_t)(used - IOCA_FRAME_HEADER_LEN));
}
