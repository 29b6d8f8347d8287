/*
 * Spool segment files: "<16 hex digits>.seg", an 8-byte magic followed by
 * records (spool_record.c) appended in seq order.
 *
 * The reader goes through a file in order with one buffer, never past the
 * bytes the caller says are committed, and skips damage by searching for the
 * next offset where a record with a matching CRC starts. Scan and rewrite are
 * built on it, so start-up repair and delivery read files the same way.
 * Invariant: whatever the bytes, reading terminates and never touches memory
 * outside the buffer (this is what fuzz_spool_reader exercises).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>
#include <zlib.h>

#include "spool_format.h"

#define READ_CHUNK_BYTES (64u * 1024u)
#define SEG_FILE_MODE    0640

int ioca_spool_fail_writes_errno;

int ioca_spool_write_all(int fd, const struct iovec *iov, int iovcnt)
{
	if (ioca_spool_fail_writes_errno) {
		errno = ioca_spool_fail_writes_errno;
		return IOCA_ERROR;
	}
	struct iovec local[8];
	if (iovcnt > (int)(sizeof(local) / sizeof(local[0]))) {
		errno = EINVAL;
		return IOCA_ERROR;
	}
	memcpy(local, iov, sizeof(local[0]) * (size_t)iovcnt);
	struct iovec *v = local;
	int n = iovcnt;
	while (n > 0) {
		ssize_t w = writev(fd, v, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return IOCA_ERROR;
		}
		size_t left = (size_t)w;
		while (n > 0 && left >= v->iov_len) {
			left -= v->iov_len;
			v++;
			n--;
		}
		if (n > 0) {
			v->iov_base = (uint8_t *)v->iov_base + left;
			v->iov_len -= left;
		}
	}
	return IOCA_OK;
}

void ioca_spool_segment_name(uint64_t id, char *name)
{
	snprintf(name, IOCA_SPOOL_SEG_NAME_LEN, "%016" PRIx64 IOCA_SPOOL_SEG_SUFFIX, id);
}

bool ioca_spool_segment_parse_name(const char *name, uint64_t *id)
{
	if (strlen(name) != IOCA_SPOOL_SEG_NAME_LEN - 1 ||
	    strcmp(name + 16, IOCA_SPOOL_SEG_SUFFIX) != 0)
		return false;
	uint64_t v = 0;
	for (int i = 0; i < 16; i++) {
		char c = name[i];
		unsigned d;
		if (c >= '0' && c <= '9')
			d = (unsigned)(c - '0');
		else if (c >= 'a' && c <= 'f')
			d = (unsigned)(c - 'a' + 10);
		else
			return false;
		v = (v << 4) | d;
	}
	*id = v;
	return true;
}

void ioca_spool_segment_header(uint64_t base_seq, uint8_t *hdr)
{
	memset(hdr, 0, IOCA_SPOOL_SEG_HDR_BYTES);
	memcpy(hdr, IOCA_SPOOL_SEG_MAGIC, IOCA_SPOOL_SEG_MAGIC_BYTES);
	ioca_put_le64(hdr + 8, base_seq);
	ioca_put_le32(hdr + 16, (uint32_t)crc32(0, hdr, 16));
}

int ioca_spool_segment_header_decode(const uint8_t *hdr, size_t len, uint64_t *base_seq)
{
	if (len < IOCA_SPOOL_SEG_HDR_BYTES ||
	    (memcmp(hdr, IOCA_SPOOL_SEG_MAGIC, IOCA_SPOOL_SEG_MAGIC_BYTES) != 0 &&
	     memcmp(hdr, IOCA_SPOOL_SEG_MAGIC_V1, IOCA_SPOOL_SEG_MAGIC_BYTES) != 0))
		return IOCA_ERROR;
	if ((uint32_t)crc32(0, hdr, 16) != ioca_get_le32(hdr + 16) || ioca_get_le32(hdr + 20) != 0)
		return IOCA_ERROR;
	*base_seq = ioca_get_le64(hdr + 8);
	return IOCA_OK;
}

int ioca_spool_segment_create(int dirfd, uint64_t id, uint64_t base_seq)
{
	char name[IOCA_SPOOL_SEG_NAME_LEN];
	ioca_spool_segment_name(id, name);
	if (ioca_spool_fail_writes_errno) {
		errno = ioca_spool_fail_writes_errno;
		return -1;
	}
	int fd =
	    openat(dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, SEG_FILE_MODE);
	if (fd < 0)
		return -1;
	uint8_t hdr[IOCA_SPOOL_SEG_HDR_BYTES];
	ioca_spool_segment_header(base_seq, hdr);
	struct iovec iov = {.iov_base = hdr, .iov_len = sizeof(hdr)};
	if (ioca_spool_write_all(fd, &iov, 1) != IOCA_OK) {
		int e = errno;
		close(fd);
		unlinkat(dirfd, name, 0);
		errno = e;
		return -1;
	}
	return fd;
}

/* ---- reader ----------------------------------------------------------- */

void ioca_spool_reader_init(struct ioca_spool_reader *r, int fd, uint64_t limit)
{
	memset(r, 0, sizeof(*r));
	r->fd = fd;
	r->limit = limit;
}

void ioca_spool_reader_reset(struct ioca_spool_reader *r, int fd, uint64_t limit)
{
	r->fd = fd;
	r->limit = limit;
	r->buf_off = 0;
	r->buf_len = 0;
	r->read_errno = 0;
}

void ioca_spool_reader_free(struct ioca_spool_reader *r)
{
	free(r->buf);
	r->buf = NULL;
	r->cap = 0;
	r->buf_len = 0;
}

/*
 * Make buf hold [pos, pos + want) as far as the file and limit allow.
 * Returns the bytes available from pos (may be fewer than want), or -1 on a
 * read error.
 */
static int64_t fill(struct ioca_spool_reader *r, uint64_t pos, size_t want)
{
	if (pos >= r->limit)
		return 0;
	uint64_t room = r->limit - pos;
	if (want > room)
		want = (size_t)room;
	if (pos >= r->buf_off && pos + want <= r->buf_off + r->buf_len)
		return (int64_t)(r->buf_off + r->buf_len - pos);

	size_t len = want > READ_CHUNK_BYTES ? want : READ_CHUNK_BYTES;
	if (len > room)
		len = (size_t)room;
	if (len > r->cap) {
		uint8_t *nb = realloc(r->buf, len);
		if (!nb) {
			r->read_errno = ENOMEM;
			return -1;
		}
		r->buf = nb;
		r->cap = len;
	}
	size_t got = 0;
	while (got < len) {
		ssize_t n = pread(r->fd, r->buf + got, len - got, (off_t)(pos + got));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			r->read_errno = errno;
			r->buf_len = 0;
			return -1;
		}
		if (n == 0)
			break; /* the file is shorter than limit */
		got += (size_t)n;
	}
	r->buf_off = pos;
	r->buf_len = got;
	return (int64_t)got;
}

int ioca_spool_reader_read(struct ioca_spool_reader *r, uint64_t off, struct ioca_spool_rec_view *v,
			   uint64_t *next, uint64_t *skipped)
{
	uint64_t pos = off;
	*skipped = 0;
	for (;;) {
		int64_t avail = fill(r, pos, IOCA_SPOOL_REC_HDR_BYTES);
		if (avail < 0)
			return IOCA_ERROR;
		if (avail == 0) {
			/* At limit, or the file ends before it. */
			*skipped = pos - off;
			return IOCA_AGAIN;
		}
		const uint8_t *p = r->buf + (pos - r->buf_off);
		size_t need = 0;
		int rc = ioca_spool_record_decode(p, (size_t)avail, v, &need);
		if (rc == IOCA_AGAIN && need <= r->limit - pos && (size_t)avail < need) {
			avail = fill(r, pos, need);
			if (avail < 0)
				return IOCA_ERROR;
			p = r->buf + (pos - r->buf_off);
			rc = ioca_spool_record_decode(p, (size_t)avail, v, &need);
		}
		if (rc == IOCA_OK) {
			*next = pos + v->total_len;
			*skipped = pos - off;
			return IOCA_OK;
		}
		/* Not a record here: look for the next byte that could start one. */
		const uint8_t *start = r->buf + (pos - r->buf_off) + 1;
		const uint8_t *end = r->buf + r->buf_len;
		const uint8_t *hit =
		    start < end ? memchr(start, IOCA_SPOOL_REC_MAGIC & 0xFF, (size_t)(end - start))
				: NULL;
		if (hit)
			pos = r->buf_off + (uint64_t)(hit - r->buf);
		else
			pos = r->buf_off + r->buf_len > pos + 1 ? r->buf_off + r->buf_len : pos + 1;
		if (pos >= r->limit) {
			*skipped = r->limit - off;
			return IOCA_AGAIN;
		}
	}
}

/* ---- scan and rewrite ------------------------------------------------- */

int ioca_spool_cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

bool ioca_spool_seq_listed(const uint64_t *list, size_t n, uint64_t seq)
{
	return n && bsearch(&seq, list, n, sizeof(*list), ioca_spool_cmp_u64);
}

void ioca_spool_segment_scan(int fd, uint64_t floor_seq, const uint64_t *released, size_t nreleased,
			     struct ioca_spool_scan *out)
{
	memset(out, 0, sizeof(*out));
	struct stat st;
	if (fstat(fd, &st) != 0) {
		out->read_errno = errno;
		return;
	}
	out->size = (uint64_t)st.st_size;

	struct ioca_spool_reader r;
	ioca_spool_reader_init(&r, fd, out->size);
	int64_t avail = fill(&r, 0, IOCA_SPOOL_SEG_HDR_BYTES);
	if (avail < 0) {
		out->read_errno = r.read_errno;
		ioca_spool_reader_free(&r);
		return;
	}
	out->header_ok =
	    ioca_spool_segment_header_decode(r.buf, (size_t)avail, &out->base_seq) == IOCA_OK;
	uint64_t off = out->header_ok ? IOCA_SPOOL_SEG_HDR_BYTES : 0;
	out->good_end = off;
	if (!out->header_ok && out->size >= IOCA_SPOOL_SEG_HDR_BYTES)
		out->good_end = IOCA_SPOOL_SEG_HDR_BYTES; /* rewritten with a fresh header */

	for (;;) {
		struct ioca_spool_rec_view v;
		uint64_t next, skipped;
		int rc = ioca_spool_reader_read(&r, off, &v, &next, &skipped);
		if (rc == IOCA_ERROR) {
			out->read_errno = r.read_errno;
			break;
		}
		if (rc == IOCA_AGAIN) {
			out->skipped_tail = skipped;
			break;
		}
		if (!out->header_ok && out->records == 0 && off == 0)
			skipped =
			    skipped > IOCA_SPOOL_SEG_HDR_BYTES ? skipped : IOCA_SPOOL_SEG_HDR_BYTES;
		out->skipped_inner += skipped;
		if (out->records == 0)
			out->first_seq = v.seq;
		out->records++;
		out->last_seq = v.seq;
		out->last_ms = v.accepted_ms;
		if (v.seq >= floor_seq && !ioca_spool_seq_listed(released, nreleased, v.seq)) {
			out->records_from++;
			out->bytes_from += v.total_len;
		}
		out->good_end = next;
		off = next;
	}
	if (!out->header_ok && out->records == 0)
		out->good_end = 0;
	ioca_spool_reader_free(&r);
}

int ioca_spool_segment_rewrite(int dirfd, int fd, const struct ioca_spool_scan *scan,
			       const char *tmpname, bool sync)
{
	if (ioca_spool_fail_writes_errno) {
		errno = ioca_spool_fail_writes_errno;
		return IOCA_ERROR;
	}
	int out = openat(dirfd, tmpname, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, SEG_FILE_MODE);
	if (out < 0)
		return IOCA_ERROR;
	int rc = IOCA_OK;
	uint8_t hdr[IOCA_SPOOL_SEG_HDR_BYTES];
	ioca_spool_segment_header(scan->header_ok ? scan->base_seq : scan->first_seq, hdr);
	struct iovec iov = {.iov_base = hdr, .iov_len = sizeof(hdr)};
	if (ioca_spool_write_all(out, &iov, 1) != IOCA_OK)
		rc = IOCA_ERROR;

	struct ioca_spool_reader r;
	ioca_spool_reader_init(&r, fd, scan->size);
	uint64_t off = scan->header_ok ? IOCA_SPOOL_SEG_HDR_BYTES : 0;
	while (rc == IOCA_OK && off < scan->size) {
		struct ioca_spool_rec_view v;
		uint64_t next, skipped;
		int rr = ioca_spool_reader_read(&r, off, &v, &next, &skipped);
		if (rr == IOCA_AGAIN)
			break;
		if (rr == IOCA_ERROR) {
			errno = r.read_errno;
			rc = IOCA_ERROR;
			break;
		}
		iov.iov_base = (void *)v.raw;
		iov.iov_len = v.total_len;
		if (ioca_spool_write_all(out, &iov, 1) != IOCA_OK)
			rc = IOCA_ERROR;
		off = next;
	}
	ioca_spool_reader_free(&r);
	if (rc == IOCA_OK && sync && fsync(out) != 0)
		rc = IOCA_ERROR;
	int e = errno;
	close(out);
	if (rc != IOCA_OK) {
		unlinkat(dirfd, tmpname, 0);
		errno = e;
	}
	return rc;
}
