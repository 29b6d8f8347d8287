/*
 * Clock sources (see clock_source.h). adjtimex() with modes = 0 only reads
 * the kernel's state; STA_UNSYNC is set from boot until an NTP client (chrony,
 * systemd-timesyncd, ntpd) has disciplined the clock, and again when it stops.
 */
#include "clock_source.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/timex.h>
#include <time.h>

static int64_t clock_ms(clockid_t id)
{
	struct timespec ts;
	clock_gettime(id, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void kernel_sample(const struct ioca_clock_source *src, struct ioca_clock_sample *out)
{
	(void)src;
	struct timex tx;
	memset(&tx, 0, sizeof tx);
	int state = adjtimex(&tx);
	out->synced = state >= 0 && state != TIME_ERROR && !(tx.status & STA_UNSYNC);
	out->wall_ms = clock_ms(CLOCK_REALTIME);
	out->boot_ms = clock_ms(CLOCK_BOOTTIME);
}

static void file_sample(const struct ioca_clock_source *src, struct ioca_clock_sample *out)
{
	long long synced = 1, offset = 0, v;
	char key[32];
	FILE *f = fopen(src->path, "re");
	while (f && fscanf(f, "%31s %lld", key, &v) == 2) {
		if (strcmp(key, "synced") == 0)
			synced = v;
		else if (strcmp(key, "offset_ms") == 0)
			offset = v;
	}
	if (f)
		fclose(f);
	out->synced = synced != 0;
	out->wall_ms = clock_ms(CLOCK_REALTIME) + offset;
	out->boot_ms = clock_ms(CLOCK_BOOTTIME);
}

const struct ioca_clock_source *ioca_clock_source_kernel(void)
{
	static const struct ioca_clock_source kernel = {.sample = kernel_sample};
	return &kernel;
}

void ioca_clock_source_file(struct ioca_clock_source *src, const char *path)
{
	src->sample = file_sample;
	src->path = path;
}

const struct ioca_clock_source *ioca_clock_source_default(struct ioca_clock_source *storage)
{
	const char *path = getenv(IOCA_TEST_CLOCK_ENV);
	if (!path || !*path)
		return ioca_clock_source_kernel();
	ioca_clock_source_file(storage, path);
	return storage;
}
