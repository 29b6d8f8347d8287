/*
 * Reconnect backoff with jitter. See camera_backoff.h. Jitter spreads the
 * reconnects of many cameras that lost the same network at the same moment.
 */
#include "camera_backoff.h"

#define JITTER_SPREAD 0.4 /* +-20 % */

int64_t ioca_cam_backoff_ms(unsigned attempt, int64_t min_ms, int64_t max_ms, double rand01)
{
	if (min_ms < 1)
		min_ms = 1;
	if (max_ms < min_ms)
		max_ms = min_ms;
	double d = (double)min_ms;
	for (unsigned i = 0; i < attempt && d < (double)max_ms; i++)
		d *= 2;
	if (d > (double)max_ms)
		d = (double)max_ms;
	if (!(rand01 >= 0 && rand01 < 1))
		rand01 = 0.5;
	d *= 1.0 - JITTER_SPREAD / 2 + JITTER_SPREAD * rand01;
	if (d < (double)min_ms)
		d = (double)min_ms;
	if (d > (double)max_ms)
		d = (double)max_ms;
	return (int64_t)d;
}
