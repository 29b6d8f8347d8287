/*
 * libFuzzer target: NMEA 0183 sentences (ioca_nmea_parse), with and without
 * a required checksum.
 *
 * Invariant checked: the parser stays in bounds and every value it yields is
 * either finite with no error or carries an error reason.
 */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "nmea.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ioca_line_values v;
	for (int require = 0; require <= 1; require++) {
		enum ioca_nmea_result r = ioca_nmea_parse((const char *)data, size, require, &v);
		if (v.count > IOCA_LINE_MAX_VALUES)
			abort();
		for (size_t i = 0; i < v.count; i++)
			if (!v.v[i].error && !isfinite(v.v[i].value))
				abort();
		if (r == IOCA_NMEA_MALFORMED && v.count != 0)
			abort();
	}
	return 0;
}
