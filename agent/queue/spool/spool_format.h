/*
 * The spool's on-disk format and the pieces that read and write it, shared
 * by the spool (spool.c), its tests and its fuzz target. docs/spool.md
 * describes the bytes; this header is the single place their sizes live.
 *
 * Key invariant: nothing here trusts the bytes it reads. Every length is
 * checked against what is really there before it is used, and a record is
 * believed only when its CRC matches.
 *
 *   spool_record.c  - one record: encode a header, decode and verify a buffer
 *   spool_segment.c - segment files: create, read records in order, scan,
 *                     truncate a torn tail, rewrite a damaged segment clean
 *   spool_cursor.c  - the cursor file (delivery floor, seq counter), written
 *                     atomically
 */
#ifndef IOCA_SPOOL_FORMAT_H
#define IOCA_SPOOL_FORMAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "queue.h"

/* ---- little-endian byte access --------------------------------------- */

static inline void ioca_put_le16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static inline void ioca_put_le32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static inline void ioca_put_le64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static inline uint16_t ioca_get_le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | (p[1] << 8));
}

static inline uint32_t ioca_get_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) |
	       ((uint32_t)p[3] << 24);
}

static inline uint64_t ioca_get_le64(const uint8_t *p)
{
	uint64_t v = 0;
	for (int i = 7; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

/* ---- records ---------------------------------------------------------- */

#define IOCA_SPOOL_REC_MAGIC     0xCA51u /* bytes 0x51 0xCA on disk */
#define IOCA_SPOOL_REC_HDR_BYTES 30u
/* The fixed header plus, with IOCA_SPOOL_FLAG_INSTANCE, the instance length
 * byte that starts the body. */
#define IOCA_SPOOL_REC_HDR_MAX_BYTES  31u
#define IOCA_SPOOL_INSTANCE_MAX_BYTES 255u
#define IOCA_SPOOL_REC_CRC_OFFSET     26u
#define IOCA_SPOOL_REC_MAX_BYTES      (32u * 1024u * 1024u) /* header + body */
#define IOCA_SPOOL_TOPIC_MAX_BYTES    65535u
#define IOCA_SPOOL_CTYPE_MAX_BYTES    255u

/* flags byte */
#define IOCA_SPOOL_FLAG_QOS_MASK   0x03u
#define IOCA_SPOOL_FLAG_RETAIN     0x04u
#define IOCA_SPOOL_FLAG_KIND_SHIFT 3
#define IOCA_SPOOL_FLAG_KIND_MASK  0x18u
#define IOCA_SPOOL_FLAG_INSTANCE   0x20u /* format 2: the body starts with the instance */
#define IOCA_SPOOL_FLAG_RESERVED   0xC0u

/* A decoded record pointing into the buffer it was decoded from. Strings
 * are not NUL-terminated here. */
struct ioca_spool_rec_view {
	uint64_t seq;
	int64_t accepted_ms;
	enum ioca_record_kind kind;
	uint8_t qos;
	bool retain;
	const uint8_t *instance; /* instance_len 0: not known (format 1 record) */
	size_t instance_len;
	const uint8_t *topic;
	size_t topic_len;
	const uint8_t *ctype;
	size_t ctype_len;
	const uint8_t *payload;
	size_t payload_len;
	size_t total_len;   /* header + body: the bytes this record takes on disk */
	const uint8_t *raw; /* its first byte: raw[0..total_len) is the record */
};

/* Bytes `rec` takes on disk, or 0 when it cannot be stored (too big, bad
 * qos/kind, empty topic). */
size_t ioca_spool_record_size(const struct ioca_record *rec);

/* Fill the header of `rec` (CRC included) into hdr
 * (IOCA_SPOOL_REC_HDR_MAX_BYTES) and return its length: 31 bytes with the
 * instance length byte when rec->instance is set, 30 without. The body that
 * follows on disk is instance, topic, content type, payload.
 * Precondition: ioca_spool_record_size(rec) != 0. */
size_t ioca_spool_record_header(const struct ioca_record *rec, uint8_t *hdr);

/* The whole record as iov[0..returned) (at most IOCA_SPOOL_REC_IOV), the
 * header built into hdr (IOCA_SPOOL_REC_HDR_MAX_BYTES). */
#define IOCA_SPOOL_REC_IOV 5
struct iovec;
int ioca_spool_record_iov(const struct ioca_record *rec, uint8_t *hdr, struct iovec *iov);

/*
 * Decode the record at the start of buf[0..avail).
 * IOCA_OK: valid, *v filled. IOCA_AGAIN: plausible header but the record is
 * longer than avail; *need is its total length. IOCA_ERROR: not a valid
 * record here (bad magic, flags, lengths or CRC).
 */
int ioca_spool_record_decode(const uint8_t *buf, size_t avail, struct ioca_spool_rec_view *v,
			     size_t *need);

/* ---- segments --------------------------------------------------------- */

/* Format 2 segments may hold records with an instance; format 1 segments
 * (written before) are read as they are, their records' instance unknown. */
#define IOCA_SPOOL_SEG_MAGIC       "IOCASG02"
#define IOCA_SPOOL_SEG_MAGIC_V1    "IOCASG01"
#define IOCA_SPOOL_SEG_MAGIC_BYTES 8u
#define IOCA_SPOOL_SEG_HDR_BYTES   24u /* magic, u64 base seq, u32 crc32 of 0..15, u32 zero */
#define IOCA_SPOOL_SEG_SUFFIX      ".seg"
#define IOCA_SPOOL_CORRUPT_SUFFIX  ".corrupt"
#define IOCA_SPOOL_SEG_NAME_LEN    21 /* 16 hex digits + ".seg" + NUL */

/* "%016llx.seg" of id into name (IOCA_SPOOL_SEG_NAME_LEN bytes). */
void ioca_spool_segment_name(uint64_t id, char *name);
/* Parse a segment file name; false when `name` is not one. */
bool ioca_spool_segment_parse_name(const char *name, uint64_t *id);

/* The segment header: magic, the seq the spool would have assigned next
 * when the segment was created (so an empty spool still knows its seq
 * counter), CRC. decode: IOCA_OK or IOCA_ERROR. */
void ioca_spool_segment_header(uint64_t base_seq, uint8_t *hdr);
int ioca_spool_segment_header_decode(const uint8_t *hdr, size_t len, uint64_t *base_seq);

/* Create segment `id` in dirfd (O_EXCL) with its header written. Returns
 * the fd (write only, append) or -1 with errno set. */
int ioca_spool_segment_create(int dirfd, uint64_t id, uint64_t base_seq);

/*
 * Sequential reader over one segment file. Reads through a buffer and never
 * looks past `limit` (the bytes known to be committed). Damage is skipped by
 * searching for the next offset where a valid record starts.
 */
struct ioca_spool_reader {
	int fd;
	uint64_t limit; /* bytes of the file to consider */
	uint8_t *buf;
	size_t cap;
	uint64_t buf_off; /* file offset of buf[0] */
	size_t buf_len;
	int read_errno; /* last read error, 0 if none */
};

void ioca_spool_reader_init(struct ioca_spool_reader *r, int fd, uint64_t limit);
void ioca_spool_reader_reset(struct ioca_spool_reader *r, int fd, uint64_t limit);
void ioca_spool_reader_free(struct ioca_spool_reader *r);

/*
 * Read the record at `off`. On IOCA_OK *v points into the reader's buffer
 * (valid until the next call), *next is the offset after it and *skipped
 * the damaged bytes jumped over before it (0 normally). IOCA_AGAIN: no
 * further valid record before `limit`; *skipped then counts the bytes from
 * `off` to limit that are not a record (0 at a clean end). IOCA_ERROR:
 * the file could not be read (read_errno says why).
 */
int ioca_spool_reader_read(struct ioca_spool_reader *r, uint64_t off, struct ioca_spool_rec_view *v,
			   uint64_t *next, uint64_t *skipped);

/* What a full pass over a segment found. */
struct ioca_spool_scan {
	bool header_ok;
	uint64_t base_seq;            /* from the header (0 when it is damaged) */
	uint64_t records;             /* valid records */
	uint64_t records_from;        /* valid records still to deliver (see scan) */
	uint64_t bytes_from;          /* their bytes */
	uint64_t first_seq, last_seq; /* of valid records; 0 when none */
	int64_t last_ms;              /* accepted_ms of the last valid record */
	uint64_t good_end;            /* offset after the last valid record (or the header) */
	uint64_t skipped_inner;       /* damaged bytes before good_end */
	uint64_t skipped_tail;        /* bytes after good_end that are no record */
	uint64_t size;                /* file size */
	int read_errno;               /* nonzero: the file could not be read completely */
};

/* Scan the whole segment open as fd. Records below floor_seq or listed in
 * released[] (ascending) are not counted in records_from / bytes_from. */
void ioca_spool_segment_scan(int fd, uint64_t floor_seq, const uint64_t *released, size_t nreleased,
			     struct ioca_spool_scan *out);

/* qsort/bsearch order of uint64_t values, or of structs that start with
 * one (the key: segment id, window seq). */
int ioca_spool_cmp_u64(const void *a, const void *b);

/* Whether seq is in the ascending list. */
bool ioca_spool_seq_listed(const uint64_t *list, size_t n, uint64_t seq);

/*
 * Write the valid records of segment fd (scanned as `scan`) into a new
 * file `tmpname` in dirfd and fsync it (unless !sync). IOCA_OK or
 * IOCA_ERROR with errno set (the temporary file is removed).
 */
int ioca_spool_segment_rewrite(int dirfd, int fd, const struct ioca_spool_scan *scan,
			       const char *tmpname, bool sync);

/* ---- cursor ----------------------------------------------------------- */

#define IOCA_SPOOL_CURSOR_NAME      "cursor"
#define IOCA_SPOOL_CURSOR_TMP_NAME  "cursor.tmp"
#define IOCA_SPOOL_CURSOR_MAGIC     "IOCACUR1"
#define IOCA_SPOOL_CURSOR_BYTES     60u   /* fixed part */
#define IOCA_SPOOL_CURSOR_MAX_ACKED 1024u /* acks above the floor kept */
#define IOCA_SPOOL_CURSOR_MAX_BYTES                                                                \
	(IOCA_SPOOL_CURSOR_BYTES + 8u * IOCA_SPOOL_CURSOR_MAX_ACKED + 4u)
#define IOCA_SPOOL_CURSOR_CLEAN  0x1u
#define IOCA_SPOOL_BOOT_ID_BYTES 16u

struct ioca_spool_cursor {
	uint64_t floor;        /* every record with seq < floor has been released */
	uint64_t next_seq;     /* seq counter when written */
	uint64_t seq_reserved; /* no seq >= this was ever handed out */
	uint8_t boot_id[IOCA_SPOOL_BOOT_ID_BYTES];
	uint32_t flags;   /* IOCA_SPOOL_CURSOR_CLEAN: written by close() */
	uint32_t n_acked; /* acked out of order above the floor, ascending */
	uint64_t acked[IOCA_SPOOL_CURSOR_MAX_ACKED];
};

/* Encode into buf (IOCA_SPOOL_CURSOR_MAX_BYTES); returns the length. */
size_t ioca_spool_cursor_encode(const struct ioca_spool_cursor *c, uint8_t *buf);
/* IOCA_OK or IOCA_ERROR (wrong size, magic, CRC, or acked not ascending
 * above the floor). */
int ioca_spool_cursor_decode(const uint8_t *buf, size_t len, struct ioca_spool_cursor *c);

/* IOCA_OK, IOCA_AGAIN when there is no cursor file, IOCA_ERROR when it is
 * damaged or unreadable (errno or a reason in why). */
int ioca_spool_cursor_load(int dirfd, struct ioca_spool_cursor *c, char *why, size_t whylen);
/* Write temp + (fsync) + rename + (fsync dir). IOCA_OK or IOCA_ERROR with errno. */
int ioca_spool_cursor_store(int dirfd, const struct ioca_spool_cursor *c, bool sync);

/* This boot's id (/proc/sys/kernel/random/boot_id), zeroes if unknown. */
void ioca_spool_boot_id(uint8_t *out);

/* ---- writing ---------------------------------------------------------- */

/* Write all of iov to fd (retrying short writes and EINTR). IOCA_OK, or
 * IOCA_ERROR with errno set; part of the data may then have been written. */
int ioca_spool_write_all(int fd, const struct iovec *iov, int iovcnt);

/* ---- test seam -------------------------------------------------------- */

/* When nonzero, every spool write to disk fails with this errno (tests that
 * cannot mount a small filesystem use it to simulate a full disk). */
extern int ioca_spool_fail_writes_errno;

/* When true, the size bound drops whole segments, oldest first, instead of
 * evicting the biggest holders' records (the benchmark's baseline). */
extern bool ioca_spool_evict_off;

#endif
