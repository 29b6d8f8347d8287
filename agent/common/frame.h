/*
 * Frames between a worker and the core, over a SOCK_STREAM socketpair.
 *
 * Every frame: an 8-byte header { u16 magic 0x1CA0, u8 version, u8 type,
 * u32 payload length } in little-endian order, then the payload. The
 * core treats everything a worker sends as untrusted: the reader rejects bad
 * magic, unknown versions and types and oversized lengths, and the per-type
 * parsers check every field, so a malformed frame is detected, never
 * interpreted. (A worker that sends one is killed and restarted.)
 *
 * Payloads, all integers little-endian:
 *   HELLO      u16 abi_major, u16 abi_minor, name\0, version\0, then optionally
 *              u32 features (the plugin's IOCA_PLUGIN_F_* as the agent reads them)
 *   EVENT      i64 time_ms, u8 severity, u8 type_len, type, data JSON object (rest)
 *   TELEMETRY  i64 time_ms, data JSON object {"readings":[...]} (rest)
 *   BLOB       i64 time_ms, u8 subtopic_len, subtopic, u8 ctype_len, content type, bytes (rest)
 *   HEARTBEAT  i64 idle_ms (time since the plugin last called a host function; 0 while
 *              it waits on purpose in host->wait()), i64 sent_mono_ms (the worker's
 *              CLOCK_MONOTONIC when sent: one clock for every process of the host)
 *   STATS      repeated { u8 op (0 set, 1 add), u8 name_len, name, f64 value }
 *   STOP       empty (core -> worker)
 *   SNAPSHOT_REQUEST  u64 max_blob_bytes (core -> worker): take a picture of the live
 *              stream now, at most that many bytes (0: no limit known; an empty payload
 *              means the same); the worker's host->snapshot_requested() turns true once
 *   BLOB_LIMIT  u64 max_blob_bytes (core -> worker): the largest blob the core can
 *              deliver from now on (0: no limit known), when the broker's limit changed
 */
#ifndef IOCA_FRAME_H
#define IOCA_FRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "retcode.h"

#define IOCA_FRAME_MAGIC      0x1CA0u
#define IOCA_FRAME_VERSION    1u
#define IOCA_FRAME_HEADER_LEN 8u
/* largest payload: a maximal blob plus its small header */
#define IOCA_FRAME_MAX_PAYLOAD (IOCA_BLOB_MAX_BYTES + 1024u)

enum ioca_frame_type {
	IOCA_FRAME_HELLO = 1,
	IOCA_FRAME_EVENT = 2,
	IOCA_FRAME_TELEMETRY = 3,
	IOCA_FRAME_BLOB = 4,
	IOCA_FRAME_HEARTBEAT = 5,
	IOCA_FRAME_STATS = 6,
	IOCA_FRAME_STOP = 7,
	IOCA_FRAME_SNAPSHOT_REQUEST = 8,
	IOCA_FRAME_BLOB_LIMIT = 9,
};

/* A frame as it came off the wire; payload points into the reader's buffer. */
struct ioca_frame {
	enum ioca_frame_type type;
	const uint8_t *payload;
	size_t len;
};

/* Incremental reader: feed it bytes, take whole frames out. */
struct ioca_frame_reader {
	uint8_t *buf;
	size_t len;   /* bytes held */
	size_t start; /* first unconsumed byte */
	size_t cap;
	char error[96]; /* why the stream is malformed */
};

void ioca_frame_reader_init(struct ioca_frame_reader *r);
void ioca_frame_reader_free(struct ioca_frame_reader *r);
/* Room to read into: at least `want` bytes at *dst. IOCA_ERROR on allocation failure. */
int ioca_frame_reader_space(struct ioca_frame_reader *r, size_t want, uint8_t **dst);
/* `n` bytes were written at the space returned above. */
void ioca_frame_reader_commit(struct ioca_frame_reader *r, size_t n);
/* Copy `n` bytes in (space + commit). */
int ioca_frame_reader_feed(struct ioca_frame_reader *r, const void *data, size_t n);
/* Next whole frame: IOCA_OK (frame valid until the next call), IOCA_AGAIN (need
 * more bytes), IOCA_ERROR (malformed stream; r->error says why). */
int ioca_frame_next(struct ioca_frame_reader *r, struct ioca_frame *out);

/* Parsed payloads. Strings point into the frame (not NUL-terminated: use the lengths). */
struct ioca_frame_hello {
	uint16_t abi_major, abi_minor;
	const char *name;    /* NUL-terminated inside the payload */
	const char *version; /* NUL-terminated inside the payload */
	uint32_t features;   /* 0 when the hello carries none */
};

struct ioca_frame_event {
	int64_t time_ms;
	enum ioca_severity severity;
	char type[65];    /* validated event type, NUL-terminated */
	const char *data; /* JSON text (not validated as JSON here) */
	size_t data_len;
};

struct ioca_frame_blob {
	int64_t time_ms;
	char subtopic[33];
	char content_type[65];
	const uint8_t *data;
	size_t len;
};

struct ioca_frame_stat {
	bool add;
	char name[49];
	double value;
};

/* Each returns IOCA_OK or IOCA_ERROR (with the reason in err). */
int ioca_frame_parse_hello(const struct ioca_frame *f, struct ioca_frame_hello *out, char *err,
			   size_t errlen);
int ioca_frame_parse_event(const struct ioca_frame *f, struct ioca_frame_event *out, char *err,
			   size_t errlen);
int ioca_frame_parse_telemetry(const struct ioca_frame *f, struct ioca_frame_event *out, char *err,
			       size_t errlen);
int ioca_frame_parse_blob(const struct ioca_frame *f, struct ioca_frame_blob *out, char *err,
			  size_t errlen);
struct ioca_frame_heartbeat {
	int64_t idle_ms;
	int64_t sent_mono_ms;
};

int ioca_frame_parse_heartbeat(const struct ioca_frame *f, struct ioca_frame_heartbeat *out,
			       char *err, size_t errlen);
/* A snapshot request: its size limit in *max_blob_bytes (0: none known).
 * IOCA_ERROR for a payload that is neither empty nor one u64. */
int ioca_frame_parse_snapshot_request(const struct ioca_frame *f, uint64_t *max_blob_bytes,
				      char *err, size_t errlen);
/* A blob limit: *max_blob_bytes (0: none known). IOCA_ERROR unless the payload is one u64. */
int ioca_frame_parse_blob_limit(const struct ioca_frame *f, uint64_t *max_blob_bytes, char *err,
				size_t errlen);
/* Calls fn for each stat entry; stops and fails on the first malformed one. */
int ioca_frame_parse_stats(const struct ioca_frame *f,
			   void (*fn)(void *ctx, const struct ioca_frame_stat *st), void *ctx,
			   char *err, size_t errlen);

/*
 * Encoding: builds header + payload into a caller buffer. Each returns the
 * total frame length, or 0 when it does not fit in `cap` or a field is
 * invalid. Variable tails (data, blob bytes) are not copied: the frame is
 * header+fixed part in `buf` followed by `tail`, written with writev.
 */
size_t ioca_frame_encode_hello(uint8_t *buf, size_t cap, uint16_t abi_major, uint16_t abi_minor,
			       const char *name, const char *version, uint32_t features);
size_t ioca_frame_encode_event_head(uint8_t *buf, size_t cap, int64_t time_ms,
				    enum ioca_severity severity, const char *type, size_t data_len);
size_t ioca_frame_encode_telemetry_head(uint8_t *buf, size_t cap, int64_t time_ms, size_t data_len);
size_t ioca_frame_encode_blob_head(uint8_t *buf, size_t cap, int64_t time_ms, const char *subtopic,
				   const char *content_type, size_t len);
size_t ioca_frame_encode_heartbeat(uint8_t *buf, size_t cap, int64_t idle_ms, int64_t sent_mono_ms);
size_t ioca_frame_encode_stop(uint8_t *buf, size_t cap);
size_t ioca_frame_encode_snapshot_request(uint8_t *buf, size_t cap, uint64_t max_blob_bytes);
size_t ioca_frame_encode_blob_limit(uint8_t *buf, size_t cap, uint64_t max_blob_bytes);
/* Stats: start with the header (payload length patched by _finish), then append entries. */
size_t ioca_frame_encode_stats_begin(uint8_t *buf, size_t cap);
size_t ioca_frame_encode_stats_add(uint8_t *buf, size_t cap, size_t used, bool add,
				   const char *name, double value);
void ioca_frame_encode_stats_finish(uint8_t *buf, size_t used);

#endif
