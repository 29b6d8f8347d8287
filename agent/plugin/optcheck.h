/*
 * Validation of a libconfig group against an option table (struct ioca_option
 * of plugin.h). The same code checks the core's own sections and every
 * plugin's options, so every error reads the same: FILE:LINE: message.
 *
 * Defaults: after a successful check every declared key with a default is
 * present in the group (added to the libconfig tree), so readers never need
 * to know the defaults. Keys that were added carry no source line (and a
 * hook marking them as defaults); the settings the user wrote keep theirs.
 */
#ifndef IOCA_OPTCHECK_H
#define IOCA_OPTCHECK_H

#include <libconfig.h>
#include <stdbool.h>

#include "diag.h"
#include "iocagent/plugin.h"

/*
 * Check `group` against `table`. Keys named in `allowed_extra` (NULL-terminated,
 * may be NULL) are accepted without checking (the core's instance keys).
 * `what` names the group in messages ("instance 'cam-1'", "section 'mqtt'").
 * `file` is used when a setting has no source file of its own.
 * Returns the number of problems added to diag.
 */
int ioca_optcheck_group(config_setting_t *group, const struct ioca_option *table,
			const char *const *allowed_extra, const char *what, const char *file,
			struct ioca_diag *diag);

/* Keys of an instance group that the core owns (name, plugin, qos, max_rate,
 * memory_limit_mb, hang_timeout, snapshot_retain), NULL-terminated: passed as
 * allowed_extra when checking the plugin's options. */
extern const char *const ioca_instance_core_keys[];

/* Whether `s` was added as a default by a check (rather than written). */
bool ioca_setting_is_default(const config_setting_t *s);

/* Source file and line of a setting (falling back to `file` and its parent's line). */
const char *ioca_setting_file(const config_setting_t *s, const char *fallback);
int ioca_setting_line(const config_setting_t *s);

/* Human name of an option type ("a number", "a string", ...). */
const char *ioca_opt_type_name(enum ioca_opt_type t);
/* Short name of an option type ("bool", "int", "float", ...). */
const char *ioca_opt_type_name_short(enum ioca_opt_type t);

#endif
