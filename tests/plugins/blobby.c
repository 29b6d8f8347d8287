/*
 * blobby: a test plugin that emits a `blobby.snap` event followed by a binary
 * blob on the "snapshot" subtopic (content type image/jpeg), every
 * `interval_ms`, so tests can follow emit_blob() end to end.
 *
 * Invariant: blob number n is exactly blobby_fill(n, size) — a JPEG start
 * marker, n as 8 big-endian bytes, a byte pattern derived from n, and a JPEG
 * end marker — and is emitted right after the event whose data is {"n": n}.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <iocagent/plugin.h>

#define BLOBBY_DATA_MAX      64
#define BLOBBY_HEADER_BYTES  10 /* SOI (2) + n (8) */
#define BLOBBY_TRAILER_BYTES 2  /* EOI */

struct blobby {
	const struct ioca_host *host;
	struct ioca_instance *inst;
	int64_t interval_ms;
	size_t size;
	uint8_t *buf;
};

static const struct ioca_option blobby_options[] = {
    {.key = "interval_ms",
     .type = IOCA_OPT_INT,
     .def_int = 200,
     .min = 1,
     .max = 60000,
     .help = "time between snapshots (ms)"},
    {.key = "size",
     .type = IOCA_OPT_INT,
     .def_int = 1024,
     .min = 16,
     .max = 1048576,
     .help = "bytes per blob"},
    {.key = NULL},
};

/* Blob n: FF D8, n big-endian, pattern (n + i) & 0xff, FF D9. */
static void blobby_fill(uint8_t *buf, size_t size, uint64_t n)
{
	buf[0] = 0xff;
	buf[1] = 0xd8;
	for (int i = 0; i < 8; i++)
		buf[2 + i] = (uint8_t)(n >> (56 - 8 * i));
	for (size_t i = BLOBBY_HEADER_BYTES; i < size - BLOBBY_TRAILER_BYTES; i++)
		buf[i] = (uint8_t)((n + i) & 0xffu);
	buf[size - 2] = 0xff;
	buf[size - 1] = 0xd9;
}

static int blobby_create(const struct ioca_host *host, struct ioca_instance *inst,
			 const struct ioca_opts *opts, void **state)
{
	struct blobby *b = calloc(1, sizeof(*b));

	if (!b)
		return IOCA_ERROR;
	b->host = host;
	b->inst = inst;
	b->interval_ms = host->opt_int(opts, "interval_ms");
	b->size = (size_t)host->opt_int(opts, "size");
	b->buf = malloc(b->size);
	if (!b->buf) {
		free(b);
		return IOCA_ERROR;
	}
	*state = b;
	return IOCA_OK;
}

static int blobby_run(void *state)
{
	struct blobby *b = state;
	char data[BLOBBY_DATA_MAX];

	for (uint64_t n = 0; !b->host->should_stop(b->inst); n++) {
		snprintf(data, sizeof(data), "{\"n\":%llu,\"snapshot\":true}",
			 (unsigned long long)n);
		if (b->host->emit_event(b->inst, "blobby.snap", IOCA_SEV_INFO, 0, data) != IOCA_OK)
			return IOCA_ERROR;
		blobby_fill(b->buf, b->size, n);
		if (b->host->emit_blob(b->inst, "snapshot", "image/jpeg", b->buf, b->size, 0) !=
		    IOCA_OK)
			return IOCA_ERROR;
		if (b->host->wait(b->inst, b->interval_ms))
			break;
	}
	return IOCA_OK;
}

static void blobby_stop(void *state)
{
	(void)state; /* run() notices through host->wait() */
}

static void blobby_destroy(void *state)
{
	struct blobby *b = state;

	free(b->buf);
	free(b);
}

IOCA_PLUGIN_EXPORT const struct ioca_plugin ioca_plugin_descriptor = {
    .abi_major = IOCA_PLUGIN_ABI_MAJOR,
    .abi_minor = IOCA_PLUGIN_ABI_MINOR,
    .name = "blobby",
    .version = "1.0.0",
    .description = "test plugin: an event and a JPEG-marked blob on snapshot, periodically",
    .options = blobby_options,
    .create = blobby_create,
    .run = blobby_run,
    .stop = blobby_stop,
    .destroy = blobby_destroy,
};
