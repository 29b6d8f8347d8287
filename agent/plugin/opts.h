/*
 * Option values as plugins see them (struct ioca_opts of plugin.h).
 *
 * A `struct ioca_opts *` is a libconfig group setting in disguise: the
 * accessors below read it directly. They back the opt_* functions of the host
 * table, in the worker (which parses the validated options the core sends) and
 * in the in-process test harness alike.
 */
#ifndef IOCA_OPTS_H
#define IOCA_OPTS_H

#include <libconfig.h>

#include "iocagent/plugin.h"

static inline const struct ioca_opts *ioca_opts_from_setting(const config_setting_t *s)
{
	return (const struct ioca_opts *)s;
}
static inline const config_setting_t *ioca_opts_setting(const struct ioca_opts *o)
{
	return (const config_setting_t *)o;
}

bool ioca_opts_bool(const struct ioca_opts *opts, const char *key);
int64_t ioca_opts_int(const struct ioca_opts *opts, const char *key);
double ioca_opts_float(const struct ioca_opts *opts, const char *key);
const char *ioca_opts_string(const struct ioca_opts *opts, const char *key);
bool ioca_opts_is_set(const struct ioca_opts *opts, const char *key);
size_t ioca_opts_count(const struct ioca_opts *opts, const char *key);
double ioca_opts_float_at(const struct ioca_opts *opts, const char *key, size_t index);
const char *ioca_opts_string_at(const struct ioca_opts *opts, const char *key, size_t index);
const struct ioca_opts *ioca_opts_group_at(const struct ioca_opts *opts, const char *key,
					   size_t index);
const struct ioca_opts *ioca_opts_group(const struct ioca_opts *opts, const char *key);

/* Fill the opt_* members of a host table with the functions above. */
void ioca_opts_fill_host(struct ioca_host *host);

#endif
