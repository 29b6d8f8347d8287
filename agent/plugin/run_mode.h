/*
 * The run mode the core passes to a worker (iocagent --test / --snapshot):
 * a reserved group appended to the instance's options text,
 *     ioca_run = { mode = "test"; sample = true; overlay = false; };
 * which the worker takes out before it validates the options and then offers
 * the plugin through host->run_mode(). Both sides use this one file.
 *
 * Invariant: the key can only come from the core: in a configuration file it
 * is an unknown instance key, which the validator refuses.
 */
#ifndef IOCA_RUN_MODE_H
#define IOCA_RUN_MODE_H

#include <libconfig.h>

#include "iocagent/plugin.h"

#define IOCA_RUN_KEY "ioca_run"

struct ioca_run_request {
	enum ioca_run_mode mode;
	unsigned flags; /* IOCA_RUN_F_* */
};

/* "service", "test", "snapshot" */
const char *ioca_run_mode_name(enum ioca_run_mode mode);

/* options_text with the request appended (malloc'd), or NULL (memory). */
char *ioca_run_request_append(const char *options_text, const struct ioca_run_request *r);

/* Take the request out of the options `root` (the group is removed). Absent:
 * IOCA_RUN_SERVICE. IOCA_ERROR when it is malformed. */
int ioca_run_request_take(config_setting_t *root, struct ioca_run_request *out);

/* The descriptor's features: 0 for a plugin built against ABI 1.0. */
uint32_t ioca_plugin_features(const struct ioca_plugin *desc);

#endif
