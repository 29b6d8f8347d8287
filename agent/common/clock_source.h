/*
 * Where the agent learns how good its wall clock is: the kernel's NTP state
 * (adjtimex: STA_UNSYNC) and the wall clock next to CLOCK_BOOTTIME, which
 * nothing can set. A second source reads the same facts from a file that a
 * test writes, so tests can flip the sync state and jump the clock.
 *
 * The test source is chosen only when IOCA_TEST_CLOCK_FILE is set in the
 * environment (see docs/operations.md: for tests only). Its file holds
 * whitespace-separated "key value" pairs: "synced 0|1" and "offset_ms N"
 * (added to the real wall clock). A missing or unreadable file reads as
 * synced with no offset.
 */
#ifndef IOCA_CLOCK_SOURCE_H
#define IOCA_CLOCK_SOURCE_H

#include <stdbool.h>
#include <stdint.h>

#define IOCA_TEST_CLOCK_ENV "IOCA_TEST_CLOCK_FILE"

struct ioca_clock_sample {
	bool synced;     /* the kernel believes its clock is NTP-synchronised */
	int64_t wall_ms; /* CLOCK_REALTIME */
	int64_t boot_ms; /* CLOCK_BOOTTIME: steady, counts suspend */
};

struct ioca_clock_source {
	void (*sample)(const struct ioca_clock_source *src, struct ioca_clock_sample *out);
	const char *path; /* test source: the file */
};

/* The kernel's clock (adjtimex / clock_gettime). */
const struct ioca_clock_source *ioca_clock_source_kernel(void);
/* A source reading `path` (see above); the struct is filled in place. */
void ioca_clock_source_file(struct ioca_clock_source *src, const char *path);
/* The file source when IOCA_TEST_CLOCK_FILE is set, else the kernel's.
 * `storage` holds the file source. */
const struct ioca_clock_source *ioca_clock_source_default(struct ioca_clock_source *storage);

#endif
