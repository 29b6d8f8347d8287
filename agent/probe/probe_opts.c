/*
 * Command-line checks of --test / --snapshot (see probe.h): what the modes
 * need and what goes with which, so main.c only collects the arguments.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>

#include "probe.h"

#define SECONDS_MAX 86400.0 /* a day: longer is a service, not a test */

const char *ioca_probe_opts_set(struct ioca_probe_opts *o, const char *instance, bool snapshot,
				const char *seconds)
{
	o->instance = instance;
	if (!instance || !instance[0])
		return "--seconds goes with --test INSTANCE, -o and --overlay with --snapshot "
		       "INSTANCE";
	if (snapshot) {
		if (seconds)
			return "--seconds goes with --test, not --snapshot";
		if (!o->output || !o->output[0])
			return "--snapshot needs -o FILE.jpg";
		return NULL;
	}
	if (o->output || o->overlay)
		return "-o and --overlay go with --snapshot, not --test";
	if (!seconds)
		return NULL;
	char *end;
	errno = 0;
	double s = strtod(seconds, &end);
	if (errno || end == seconds || *end || !isfinite(s) || s <= 0 || s > SECONDS_MAX)
		return "--seconds needs a number of seconds above 0 and at most 86400";
	o->seconds = s;
	return NULL;
}
