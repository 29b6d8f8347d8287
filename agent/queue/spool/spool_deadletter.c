/*
 * The dead-letter file: records the broker will never take (too large for
 * its maximum packet size, refused for good) are kept here instead of being
 * thrown away, so an operator can look at them or send them by other means.
 *
 * <dir>/rejected.seg is a spool segment (docs/spool.md: same header, same
 * records, readable by the same reader). It is bounded: an append that would
 * take it past IOCA_DEADLETTER_MAX_BYTES first renames it to
 * rejected.seg.old (replacing the one before), so the two together never
 * exceed twice the bound.
 *
 * Invariant: an append either writes the whole record and syncs it, or
 * leaves the file as it was (a partial write is cut off again).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "spool.h"
#include "spool_format.h"

#define DEADLETTER_NAME     "rejected.seg"
#define DEADLETTER_OLD_NAME "rejected.seg.old"
#define DEADLETTER_MODE     0640

/* Open the file for appending, starting a new one (with its header) when it
 * is missing, empty, or `rec_bytes` more would take it over the bound. */
static int open_for(int dirfd, size_t rec_bytes, uint64_t seq, off_t *size, char *err,
		    size_t errlen)
{
	struct stat st;
	if (fstatat(dirfd, DEADLETTER_NAME, &st, 0) == 0 && st.st_size > 0 &&
	    (uint64_t)st.st_size + rec_bytes > IOCA_DEADLETTER_MAX_BYTES &&
	    renameat(dirfd, DEADLETTER_NAME, dirfd, DEADLETTER_OLD_NAME) != 0) {
		snprintf(err, errlen, "rename %s: %s", DEADLETTER_NAME, strerror(errno));
		return -1;
	}
	int fd = openat(dirfd, DEADLETTER_NAME, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC,
			DEADLETTER_MODE);
	if (fd < 0 || fstat(fd, &st) != 0) {
		snprintf(err, errlen, "open %s: %s", DEADLETTER_NAME, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	*size = st.st_size;
	if (st.st_size > 0)
		return fd;
	uint8_t hdr[IOCA_SPOOL_SEG_HDR_BYTES];
	ioca_spool_segment_header(seq, hdr);
	struct iovec iov = {.iov_base = hdr, .iov_len = sizeof hdr};
	if (ioca_spool_write_all(fd, &iov, 1) != IOCA_OK) {
		snprintf(err, errlen, "write %s: %s", DEADLETTER_NAME, strerror(errno));
		if (ftruncate(fd, 0) != 0) {
			/* the next append starts the file again anyway */
		}
		close(fd);
		return -1;
	}
	*size = sizeof hdr;
	return fd;
}

int ioca_spool_deadletter(const char *dir, const struct ioca_record *rec, char *err, size_t errlen)
{
	size_t total = ioca_spool_record_size(rec);
	if (total == 0) {
		snprintf(err, errlen, "record %llu cannot be stored", (unsigned long long)rec->seq);
		return IOCA_ERROR;
	}
	int dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0) {
		snprintf(err, errlen, "open %s: %s", dir, strerror(errno));
		return IOCA_ERROR;
	}
	int rc = IOCA_ERROR;
	off_t size = 0;
	int fd = open_for(dirfd, total, rec->seq, &size, err, errlen);
	if (fd < 0)
		goto out;
	uint8_t hdr[IOCA_SPOOL_REC_HDR_MAX_BYTES];
	struct iovec iov[IOCA_SPOOL_REC_IOV];
	int niov = ioca_spool_record_iov(rec, hdr, iov);
	if (ioca_spool_write_all(fd, iov, niov) != IOCA_OK || fdatasync(fd) != 0) {
		snprintf(err, errlen, "write %s: %s", DEADLETTER_NAME, strerror(errno));
		if (ftruncate(fd, size) != 0) {
			/* a torn tail is cut by any reader of the segment format */
		}
		close(fd);
		goto out;
	}
	close(fd);
	rc = IOCA_OK;
out:
	close(dirfd);
	return rc;
}
