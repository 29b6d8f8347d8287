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
 * (the build's plugin folder), so instance options reach the plugin tables;
 * they are preloaded and never unloaded, because libFuzzer keeps reading
 * the coverage counters of an instrumented plugin after the loader's
 * dlclose() would have unmapped them.
 */
#include <dirent.h>
#include <dlfcn.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

#define FUZZ_CONFIG_NAME "/nonexistent-ioca-fuzz/fuzz.conf"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	const char *dir = getenv("IOCA_PLUGIN_DIR");
	DIR *d = dir ? opendir(dir) : NULL;
	if (!d)
		return 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		size_t len = strlen(e->d_name);
		if (len < 4 || strcmp(e->d_name + len - 3, ".so") != 0)
			continue;
		char path[4096];
		snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
		dlopen(path, RTLD_NOW | RTLD_NODELETE); /* kept for the whole run */
	}
	closedir(d);
	return 0;
}

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
