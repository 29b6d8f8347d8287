/*
 * libFuzzer target of the configuration loader: arbitrary text through
 * ioca_config_load_string (include expansion, libconfig parsing, validation
 * of every section, plugin option tables, options_text serialisation).
 * Invariant checked: whatever the input, the loader returns IOCA_OK with a
 * complete config or IOCA_ERROR with at least one diagnostic, and frees
 * everything (ASan/LSan watch the rest).
 *
 * Includes resolve against a folder that does not exist, so inputs cannot
 * pull in files of the machine. Plugins come from IOCA_PLUGIN_DIR when set
 * (the build's plugin folder), so instance options reach the plugin tables.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

#define FUZZ_CONFIG_NAME "/nonexistent-ioca-fuzz/fuzz.conf"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1);
	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	const char *plugin_dir = getenv("IOCA_PLUGIN_DIR");
	struct ioca_config cfg;
	struct ioca_diag diag = {0};
	int rc = ioca_config_load_string(FUZZ_CONFIG_NAME, text,
					 plugin_dir ? plugin_dir : "/nonexistent-ioca-fuzz", &cfg,
					 &diag);
	if (rc == IOCA_OK) {
		if (diag.count != 0 || !cfg.agent.id || cfg.mqtt.n_brokers == 0)
			abort();
		for (size_t i = 0; i < cfg.n_instances; i++)
			if (!cfg.instances[i].options_text || !cfg.instances[i].name)
				abort();
		ioca_config_free(&cfg);
	} else if (diag.count == 0) {
		abort();
	}
	ioca_diag_clear(&diag);
	free(text);
	return 0;
}
