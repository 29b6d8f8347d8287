/*
 * Encoding and decoding of the reserved run-mode group: see run_mode.h.
 */
#include "run_mode.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RUN_FORMAT "%s\n%s = { mode = \"%s\"; sample = %s; overlay = %s; };\n"

static const char *const mode_names[] = {
    [IOCA_RUN_SERVICE] = "service",
    [IOCA_RUN_TEST] = "test",
    [IOCA_RUN_SNAPSHOT] = "snapshot",
};

const char *ioca_run_mode_name(enum ioca_run_mode mode)
{
	if ((unsigned)mode >= sizeof mode_names / sizeof mode_names[0])
		return NULL;
	return mode_names[mode];
}

char *ioca_run_request_append(const char *options_text, const struct ioca_run_request *r)
{
	const char *name = ioca_run_mode_name(r->mode);
	if (!name)
		return NULL;
	const char *sample = r->flags & IOCA_RUN_F_SAMPLE ? "true" : "false";
	const char *overlay = r->flags & IOCA_RUN_F_OVERLAY ? "true" : "false";
	int n = snprintf(NULL, 0, RUN_FORMAT, options_text, IOCA_RUN_KEY, name, sample, overlay);
	if (n < 0)
		return NULL;
	char *text = malloc((size_t)n + 1);
	if (text)
		snprintf(text, (size_t)n + 1, RUN_FORMAT, options_text, IOCA_RUN_KEY, name, sample,
			 overlay);
	return text;
}

int ioca_run_request_take(config_setting_t *root, struct ioca_run_request *out)
{
	*out = (struct ioca_run_request){.mode = IOCA_RUN_SERVICE};
	config_setting_t *g = config_setting_get_member(root, IOCA_RUN_KEY);
	if (!g)
		return IOCA_OK;
	const char *mode = NULL;
	int sample = 0, overlay = 0;
	int rc = IOCA_ERROR;
	if (config_setting_is_group(g) && config_setting_lookup_string(g, "mode", &mode) &&
	    config_setting_lookup_bool(g, "sample", &sample) &&
	    config_setting_lookup_bool(g, "overlay", &overlay)) {
		for (unsigned m = 0; m < sizeof mode_names / sizeof mode_names[0]; m++) {
			if (strcmp(mode, mode_names[m]) != 0)
				continue;
			out->mode = (enum ioca_run_mode)m;
			out->flags =
			    (sample ? IOCA_RUN_F_SAMPLE : 0u) | (overlay ? IOCA_RUN_F_OVERLAY : 0u);
			rc = IOCA_OK;
		}
	}
	config_setting_remove(root, IOCA_RUN_KEY);
	return rc;
}

uint32_t ioca_plugin_features(const struct ioca_plugin *desc)
{
	return desc->abi_minor >= 1 ? desc->features : 0;
}
