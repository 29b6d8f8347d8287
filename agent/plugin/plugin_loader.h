/*
 * Finding and loading plugin shared objects: dlopen <plugin_dir>/<name>.so,
 * look up the descriptor, check the ABI (major equal, minor not above ours).
 */
#ifndef IOCA_PLUGIN_LOADER_H
#define IOCA_PLUGIN_LOADER_H

#include <stddef.h>
#include <stdio.h>

#include "iocagent/plugin.h"

struct ioca_loaded_plugin {
	void *handle;
	const struct ioca_plugin *desc;
	char *path;
};

/* Load `name` from `dir`. IOCA_OK, or IOCA_ERROR with the reason in err
 * ("plugin 'x' not found in DIR (available: a, b)", "ABI 2.0, agent has 1.0"). */
int ioca_plugin_open(const char *dir, const char *name, struct ioca_loaded_plugin *out, char *err,
		     size_t errlen);
/* Load the shared object at `path` directly. */
int ioca_plugin_open_path(const char *path, struct ioca_loaded_plugin *out, char *err,
			  size_t errlen);
void ioca_plugin_close(struct ioca_loaded_plugin *p);

/* The descriptor's default_memory_limit_mb (0 for plugins older than ABI 1.2). */
int64_t ioca_plugin_default_memory_limit_mb(const struct ioca_plugin *desc);

/* Comma-separated names of the plugins in dir ("camera, modbus, sim"), malloc'd. */
char *ioca_plugin_names(const char *dir);

/* --list-plugins: one line per plugin in dir; with verbose, its options too. Returns count. */
int ioca_plugin_list(const char *dir, FILE *out, int verbose);

#endif
