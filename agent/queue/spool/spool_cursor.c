/*
 * The spool's cursor file: delivery floor, seq counter, seq reservation and
 * the seqs acked out of order above the floor; little-endian:
 *
 *   0  "IOCACUR1"       24 u64 seq_reserved
 *   8  u64 floor        32 16-byte boot id of the writer
 *   16 u64 next_seq     48 u32 flags (bit 0: clean close)
 *                       52 u32 n: acked seqs that follow (0..1024)
 *                       56 u32 crc32 of bytes 0..55
 *   60 n x u64 acked seqs, ascending, above the floor; then (n > 0) u32
 *      crc32 of those 8n bytes
 *
 * Invariant: the file named "cursor" is always a complete old or complete
 * new version: it is replaced by writing "cursor.tmp", fsyncing it,
 * renaming it over "cursor" and fsyncing the directory (the two fsyncs are
 * skipped with spool.fsync = never).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>
#include <zlib.h>

#include "spool_format.h"

#define CURSOR_FILE_MODE 0640
#define BOOT_ID_PATH     "/proc/sys/kernel/random/boot_id"
#define BOOT_ID_TEXT_MAX 64

size_t ioca_spool_cursor_encode(const struct ioca_spool_cursor *c, uint8_t *buf)
{
	uint32_t n =
	    c->n_acked < IOCA_SPOOL_CURSOR_MAX_ACKED ? c->n_acked : IOCA_SPOOL_CURSOR_MAX_ACKED;
	memset(buf, 0, IOCA_SPOOL_CURSOR_BYTES);
	memcpy(buf, IOCA_SPOOL_CURSOR_MAGIC, 8);
	ioca_put_le64(buf + 8, c->floor);
	ioca_put_le64(buf + 16, c->next_seq);
	ioca_put_le64(buf + 24, c->seq_reserved);
	memcpy(buf + 32, c->boot_id, IOCA_SPOOL_BOOT_ID_BYTES);
	ioca_put_le32(buf + 48, c->flags);
	ioca_put_le32(buf + 52, n);
	ioca_put_le32(buf + 56, (uint32_t)crc32(0, buf, 56));
	if (n == 0)
		return IOCA_SPOOL_CURSOR_BYTES;
	uint8_t *list = buf + IOCA_SPOOL_CURSOR_BYTES;
	for (uint32_t i = 0; i < n; i++)
		ioca_put_le64(list + 8 * i, c->acked[i]);
	ioca_put_le32(list + 8 * n, (uint32_t)crc32(0, list, 8 * n));
	return IOCA_SPOOL_CURSOR_BYTES + 8 * n + 4;
}

int ioca_spool_cursor_decode(const uint8_t *buf, size_t len, struct ioca_spool_cursor *c)
{
	if (len < IOCA_SPOOL_CURSOR_BYTES || memcmp(buf, IOCA_SPOOL_CURSOR_MAGIC, 8) != 0)
		return IOCA_ERROR;
	if ((uint32_t)crc32(0, buf, 56) != ioca_get_le32(buf + 56))
		return IOCA_ERROR;
	uint32_t n = ioca_get_le32(buf + 52);
	if (n > IOCA_SPOOL_CURSOR_MAX_ACKED ||
	    len != IOCA_SPOOL_CURSOR_BYTES + (n ? 8 * (size_t)n + 4 : 0))
		return IOCA_ERROR;
	const uint8_t *list = buf + IOCA_SPOOL_CURSOR_BYTES;
	if (n && (uint32_t)crc32(0, list, 8 * n) != ioca_get_le32(list + 8 * n))
		return IOCA_ERROR;
	c->floor = ioca_get_le64(buf + 8);
	c->next_seq = ioca_get_le64(buf + 16);
	c->seq_reserved = ioca_get_le64(buf + 24);
	memcpy(c->boot_id, buf + 32, IOCA_SPOOL_BOOT_ID_BYTES);
	c->flags = ioca_get_le32(buf + 48);
	c->n_acked = n;
	uint64_t prev = c->floor;
	for (uint32_t i = 0; i < n; i++) {
		c->acked[i] = ioca_get_le64(list + 8 * i);
		if (c->acked[i] <= prev)
			return IOCA_ERROR; /* must ascend above the floor */
		prev = c->acked[i];
	}
	return IOCA_OK;
}

int ioca_spool_cursor_load(int dirfd, struct ioca_spool_cursor *c, char *why, size_t whylen)
{
	int fd = openat(dirfd, IOCA_SPOOL_CURSOR_NAME, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(why, whylen, "%s", strerror(errno));
		return errno == ENOENT ? IOCA_AGAIN : IOCA_ERROR;
	}
	uint8_t buf[IOCA_SPOOL_CURSOR_MAX_BYTES + 1];
	size_t got = 0;
	while (got < sizeof(buf)) {
		ssize_t n = read(fd, buf + got, sizeof(buf) - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			snprintf(why, whylen, "%s", strerror(errno));
			close(fd);
			return IOCA_ERROR;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	if (ioca_spool_cursor_decode(buf, got, c) != IOCA_OK) {
		snprintf(why, whylen, "damaged (%zu bytes, bad size, magic or CRC)", got);
		return IOCA_ERROR;
	}
	return IOCA_OK;
}

int ioca_spool_cursor_store(int dirfd, const struct ioca_spool_cursor *c, bool sync)
{
	uint8_t buf[IOCA_SPOOL_CURSOR_MAX_BYTES];
	size_t len = ioca_spool_cursor_encode(c, buf);
	if (ioca_spool_fail_writes_errno) {
		errno = ioca_spool_fail_writes_errno;
		return IOCA_ERROR;
	}
	int fd = openat(dirfd, IOCA_SPOOL_CURSOR_TMP_NAME, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
			CURSOR_FILE_MODE);
	if (fd < 0)
		return IOCA_ERROR;
	struct iovec iov = {.iov_base = buf, .iov_len = len};
	int rc = ioca_spool_write_all(fd, &iov, 1);
	if (rc == IOCA_OK && sync && fdatasync(fd) != 0)
		rc = IOCA_ERROR;
	int e = errno;
	close(fd);
	if (rc == IOCA_OK &&
	    renameat(dirfd, IOCA_SPOOL_CURSOR_TMP_NAME, dirfd, IOCA_SPOOL_CURSOR_NAME) != 0) {
		rc = IOCA_ERROR;
		e = errno;
	}
	if (rc == IOCA_OK && sync && fsync(dirfd) != 0) {
		rc = IOCA_ERROR;
		e = errno;
	}
	if (rc != IOCA_OK) {
		unlinkat(dirfd, IOCA_SPOOL_CURSOR_TMP_NAME, 0);
		errno = e;
	}
	return rc;
}

static int hexval(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

void ioca_spool_boot_id(uint8_t *out)
{
	memset(out, 0, IOCA_SPOOL_BOOT_ID_BYTES);
	FILE *f = fopen(BOOT_ID_PATH, "re");
	if (!f)
		return;
	char text[BOOT_ID_TEXT_MAX];
	if (!fgets(text, sizeof(text), f)) {
		fclose(f);
		return;
	}
	fclose(f);
	size_t n = 0;
	int hi = -1;
	for (const char *p = text; *p && n < IOCA_SPOOL_BOOT_ID_BYTES; p++) {
		int v = hexval(*p);
		if (v < 0)
			continue;
		if (hi < 0) {
			hi = v;
		} else {
			out[n++] = (uint8_t)(hi << 4 | v);
			hi = -1;
		}
	}
}
