/*
 * libFuzzer target for the spool's segment reader: the input is taken as
 * the content of a segment file. It is read record by record directly (the
 * reader every path uses), then the whole spool is opened on a directory
 * holding it (scan, torn-tail truncation, rewrite of damaged segments, set
 * aside) and drained. Whatever the bytes, nothing may crash, hang or read
 * outside its buffers, and every record handed out must have a matching CRC.
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "log.h"
#include "spool.h"
#include "spool_format.h"

#define SEGMENT_NAME "0000000000000001.seg"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char spool_dir[64];

static void clear_dir(void)
{
	DIR *d = opendir(spool_dir);
	if (!d)
		return;
	struct dirent *de;
	int dfd = dirfd(d);
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] != '.')
			unlinkat(dfd, de->d_name, 0);
	}
	closedir(d);
}

static void read_directly(const uint8_t *data, size_t size)
{
	int fd = memfd_create("segment", MFD_CLOEXEC);
	if (fd < 0)
		return;
	if (write(fd, data, size) != (ssize_t)size) {
		close(fd);
		return;
	}
	struct ioca_spool_reader r;
	ioca_spool_reader_init(&r, fd, size);
	uint64_t off = 0;
	for (;;) {
		struct ioca_spool_rec_view v;
		uint64_t next, skipped;
		if (ioca_spool_reader_read(&r, off, &v, &next, &skipped) != IOCA_OK)
			break;
		if (next <= off || next > size)
			abort(); /* must always move forward inside the file */
		off = next;
	}
	ioca_spool_reader_free(&r);
	struct ioca_spool_scan sc;
	ioca_spool_segment_scan(fd, 0, NULL, 0, &sc);
	if (sc.good_end > size || sc.skipped_tail > size)
		abort();
	close(fd);

	static struct ioca_spool_cursor c;
	ioca_spool_cursor_decode(data, size, &c);
}

static void open_spool_on(const uint8_t *data, size_t size)
{
	clear_dir();
	char path[128];
	snprintf(path, sizeof(path), "%s/%s", spool_dir, SEGMENT_NAME);
	FILE *f = fopen(path, "w");
	if (!f)
		return;
	fwrite(data, 1, size, f);
	fclose(f);

	struct ioca_spool_config cfg = {.max_bytes = 64 * 1024 * 1024, .fsync = IOCA_FSYNC_NEVER};
	char err[256];
	struct ioca_queue *q = ioca_spool_open(&cfg, spool_dir, NULL, err, sizeof(err));
	if (!q)
		abort(); /* the spool must never refuse its own files */
	struct ioca_record rec;
	while (ioca_queue_next(q, &rec) == IOCA_OK)
		ioca_queue_ack(q, rec.seq);
	ioca_queue_tick(q, 0);
	ioca_queue_close(q);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!spool_dir[0]) {
		snprintf(spool_dir, sizeof(spool_dir), "/tmp/fuzz_spool.%d", (int)getpid());
		ioca_log_set_level(
		    IOCA_LL_ERROR); /* damage warnings on every input are noise here */
	}
	read_directly(data, size);
	open_spool_on(data, size);
	return 0;
}
