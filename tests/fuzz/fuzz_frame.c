/* Fuzz target: the worker frame reader and every payload parser, on the
 * bytes a misbehaving worker could send. */
#include <stddef.h>
#include <stdint.h>

#include "frame.h"

static void ignore_stat(void *ctx, const struct ioca_frame_stat *st)
{
	(void)ctx;
	(void)st;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ioca_frame_reader r;
	ioca_frame_reader_init(&r);
	/* feed in two pieces to exercise partial frames */
	size_t half = size / 2;
	if (ioca_frame_reader_feed(&r, data, half) != IOCA_OK)
		goto out;
	struct ioca_frame f;
	char err[128];
	for (int pass = 0; pass < 2; pass++) {
		int rc;
		while ((rc = ioca_frame_next(&r, &f)) == IOCA_OK) {
			struct ioca_frame_event ev;
			struct ioca_frame_blob b;
			struct ioca_frame_hello h;
			struct ioca_frame_heartbeat idle;
			uint64_t limit;
			switch (f.type) {
			case IOCA_FRAME_HELLO:
				ioca_frame_parse_hello(&f, &h, err, sizeof err);
				break;
			case IOCA_FRAME_EVENT:
				ioca_frame_parse_event(&f, &ev, err, sizeof err);
				break;
			case IOCA_FRAME_TELEMETRY:
				ioca_frame_parse_telemetry(&f, &ev, err, sizeof err);
				break;
			case IOCA_FRAME_BLOB:
				ioca_frame_parse_blob(&f, &b, err, sizeof err);
				break;
			case IOCA_FRAME_HEARTBEAT:
				ioca_frame_parse_heartbeat(&f, &idle, err, sizeof err);
				break;
			case IOCA_FRAME_STATS:
				ioca_frame_parse_stats(&f, ignore_stat, NULL, err, sizeof err);
				break;
			case IOCA_FRAME_SNAPSHOT_REQUEST:
				ioca_frame_parse_snapshot_request(&f, &limit, err, sizeof err);
				break;
			case IOCA_FRAME_BLOB_LIMIT:
				ioca_frame_parse_blob_limit(&f, &limit, err, sizeof err);
				break;
			case IOCA_FRAME_STOP:
				break;
			}
		}
		if (rc == IOCA_ERROR || pass == 1)
			break;
		if (ioca_frame_reader_feed(&r, data + half, size - half) != IOCA_OK)
			break;
	}
out:
	ioca_frame_reader_free(&r);
	return 0;
}
