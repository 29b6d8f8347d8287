/* Clocks and RFC 3339 formatting. */
#ifndef IOCA_TIMEUTIL_H
#define IOCA_TIMEUTIL_H

#include <stddef.h>
#include <stdint.h>

/* Milliseconds since the Unix epoch (CLOCK_REALTIME). */
int64_t ioca_now_wall_ms(void);
/* Milliseconds of CLOCK_MONOTONIC. */
int64_t ioca_now_mono_ms(void);
/* "2026-11-25T15:30:01.123Z" into buf (>= IOCA_RFC3339_LEN bytes); returns buf. */
#define IOCA_RFC3339_LEN 32
char *ioca_format_rfc3339(int64_t wall_ms, char *buf, size_t len);
/* Parse an RFC 3339 date-time ("2026-11-25T15:30:01Z", fractions of a
 * second and "+07:00"-style offsets allowed; 'T' may be 't' or ' ').
 * Instants before 1970 or after 9999 are refused.
 * 0 with *wall_ms set, -1 when s is not one. */
int ioca_parse_rfc3339(const char *s, int64_t *wall_ms);

#endif
