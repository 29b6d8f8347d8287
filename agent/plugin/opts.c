/*
 * Accessors for plugin option values (struct ioca_opts == a libconfig group).
 * The core validated and defaulted the group against the plugin's table, so
 * a declared key is present with its declared type; undeclared or absent keys
 * read as zero values rather than failing.
 */
#include "opts.h"

#include "optcheck.h"

static const config_setting_t *member(const struct ioca_opts *opts, const char *key)
{
	if (!opts || !key)
		return NULL;
	return config_setting_get_member(ioca_opts_setting(opts), key);
}

static double number_of(const config_setting_t *s)
{
	switch (config_setting_type(s)) {
	case CONFIG_TYPE_INT:
		return (double)config_setting_get_int(s);
	case CONFIG_TYPE_INT64:
		return (double)config_setting_get_int64(s);
	case CONFIG_TYPE_FLOAT:
		return config_setting_get_float(s);
	default:
		return 0.0;
	}
}

bool ioca_opts_bool(const struct ioca_opts *opts, const char *key)
{
	const config_setting_t *s = member(opts, key);
	return s && config_setting_type(s) == CONFIG_TYPE_BOOL && config_setting_get_bool(s);
}

int64_t ioca_opts_int(const struct ioca_opts *opts, const char *key)
{
	const config_setting_t *s = member(opts, key);
	if (!s)
		return 0;
	switch (config_setting_type(s)) {
	case CONFIG_TYPE_INT:
		return config_setting_get_int(s);
	case CONFIG_TYPE_INT64:
		return config_setting_get_int64(s);
	default:
		return 0;
	}
}

double ioca_opts_float(const struct ioca_opts *opts, const char *key)
{
	const config_setting_t *s = member(opts, key);
	return s ? number_of(s) : 0.0;
}

const char *ioca_opts_string(const struct ioca_opts *opts, const char *key)
{
	const config_setting_t *s = member(opts, key);
	return s ? config_setting_get_string(s) : NULL;
}

bool ioca_opts_is_set(const struct ioca_opts *opts, const char *key)
{
	const config_setting_t *s = member(opts, key);
	return s && !ioca_setting_is_default(s);
}

size_t ioca_opts_count(const struct ioca_opts *opts, const char *key)
{
	const config_setting_t *s = member(opts, key);
	if (!s || !(config_setting_is_array(s) || config_setting_is_list(s)))
		return 0;
	int n = config_setting_length(s);
	return n > 0 ? (size_t)n : 0;
}

static const config_setting_t *element(const struct ioca_opts *opts, const char *key, size_t i)
{
	const config_setting_t *s = member(opts, key);
	if (!s || !(config_setting_is_array(s) || config_setting_is_list(s)))
		return NULL;
	if (i >= (size_t)config_setting_length(s))
		return NULL;
	return config_setting_get_elem(s, (unsigned)i);
}

double ioca_opts_float_at(const struct ioca_opts *opts, const char *key, size_t index)
{
	const config_setting_t *e = element(opts, key, index);
	return e ? number_of(e) : 0.0;
}

const char *ioca_opts_string_at(const struct ioca_opts *opts, const char *key, size_t index)
{
	const config_setting_t *e = element(opts, key, index);
	return e ? config_setting_get_string(e) : NULL;
}

const struct ioca_opts *ioca_opts_group_at(const struct ioca_opts *opts, const char *key,
					   size_t index)
{
	const config_setting_t *e = element(opts, key, index);
	return e && config_setting_is_group(e) ? ioca_opts_from_setting(e) : NULL;
}

const struct ioca_opts *ioca_opts_group(const struct ioca_opts *opts, const char *key)
{
	const config_setting_t *s = member(opts, key);
	return s && config_setting_is_group(s) ? ioca_opts_from_setting(s) : NULL;
}

void ioca_opts_fill_host(struct ioca_host *host)
{
	host->opt_bool = ioca_opts_bool;
	host->opt_int = ioca_opts_int;
	host->opt_float = ioca_opts_float;
	host->opt_string = ioca_opts_string;
	host->opt_is_set = ioca_opts_is_set;
	host->opt_count = ioca_opts_count;
	host->opt_float_at = ioca_opts_float_at;
	host->opt_string_at = ioca_opts_string_at;
	host->opt_group_at = ioca_opts_group_at;
	host->opt_group = ioca_opts_group;
}
