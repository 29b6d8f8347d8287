/*
 * Validation of a libconfig group against an option table.
 *
 * Every problem found is added to the diagnostics list; checking never stops
 * at the first one. Once a group is checked, each declared option that has a
 * default and was not written is added to the group, so readers see a
 * complete set of values.
 */
#include "optcheck.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "regular_file.h"
#include "utf8.h"

#define SUGGEST_MAX_DISTANCE 2
#define KEY_MAX_LEN          64
#define FILE_WHY_LEN         128

const char *const ioca_instance_core_keys[] = {
    "name", "plugin", "qos", "max_rate", "memory_limit_mb", "hang_timeout", "snapshot_retain", NULL,
};

/* A setting added as a default carries this hook. */
static char default_marker;

bool ioca_setting_is_default(const config_setting_t *s)
{
	return s && config_setting_get_hook(s) == &default_marker;
}

const char *ioca_setting_file(const config_setting_t *s, const char *fallback)
{
	for (; s; s = config_setting_parent(s)) {
		const char *f = config_setting_source_file(s);
		if (f)
			return f;
	}
	return fallback;
}

int ioca_setting_line(const config_setting_t *s)
{
	for (; s; s = config_setting_parent(s)) {
		int line = config_setting_source_line(s);
		if (line > 0 && config_setting_get_hook(s) != &default_marker)
			return line;
	}
	return 0;
}

const char *ioca_opt_type_name(enum ioca_opt_type t)
{
	switch (t) {
	case IOCA_OPT_BOOL:
		return "a boolean (true or false)";
	case IOCA_OPT_INT:
		return "an integer";
	case IOCA_OPT_FLOAT:
		return "a number";
	case IOCA_OPT_STRING:
	case IOCA_OPT_ENUM:
		return "a string";
	case IOCA_OPT_FLOAT_ARRAY:
		return "an array of numbers ([ ... ])";
	case IOCA_OPT_STRING_ARRAY:
		return "an array of strings ([ ... ])";
	case IOCA_OPT_GROUP:
		return "a group ({ ... })";
	case IOCA_OPT_GROUP_LIST:
		return "a list of groups (( { ... }, ... ))";
	case IOCA_OPT_END:
		break;
	}
	return "?";
}

const char *ioca_opt_type_name_short(enum ioca_opt_type t)
{
	static const char *const names[] = {"?",    "bool",    "int",      "float", "string",
					    "enum", "float[]", "string[]", "group", "group-list"};
	return (unsigned)t < sizeof names / sizeof names[0] ? names[t] : "?";
}

/* Levenshtein distance, bounded key length. */
static int edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	if (la > KEY_MAX_LEN || lb > KEY_MAX_LEN)
		return KEY_MAX_LEN;
	int prev[KEY_MAX_LEN + 1], cur[KEY_MAX_LEN + 1];
	for (size_t j = 0; j <= lb; j++)
		prev[j] = (int)j;
	for (size_t i = 1; i <= la; i++) {
		cur[0] = (int)i;
		for (size_t j = 1; j <= lb; j++) {
			int sub = prev[j - 1] + (a[i - 1] != b[j - 1]);
			int del = prev[j] + 1, ins = cur[j - 1] + 1;
			cur[j] = sub < del ? (sub < ins ? sub : ins) : (del < ins ? del : ins);
		}
		memcpy(prev, cur, sizeof(int) * (lb + 1));
	}
	return prev[lb];
}

static const char *suggest(const char *key, const struct ioca_option *table,
			   const char *const *extra)
{
	const char *best = NULL;
	int best_d = SUGGEST_MAX_DISTANCE + 1;
	for (const struct ioca_option *o = table; o && o->key; o++) {
		int d = edit_distance(key, o->key);
		if (d < best_d) {
			best_d = d;
			best = o->key;
		}
	}
	for (const char *const *e = extra; e && *e; e++) {
		int d = edit_distance(key, *e);
		if (d < best_d) {
			best_d = d;
			best = *e;
		}
	}
	return best;
}

static const struct ioca_option *find_option(const struct ioca_option *table, const char *key)
{
	for (const struct ioca_option *o = table; o && o->key; o++)
		if (strcmp(o->key, key) == 0)
			return o;
	return NULL;
}

static bool in_list(const char *const *list, const char *key)
{
	for (const char *const *e = list; e && *e; e++)
		if (strcmp(*e, key) == 0)
			return true;
	return false;
}

static bool choice_valid(const char *choices, const char *value)
{
	size_t vlen = strlen(value);
	const char *p = choices;
	while (p && *p) {
		const char *bar = strchr(p, '|');
		size_t len = bar ? (size_t)(bar - p) : strlen(p);
		if (len == vlen && strncmp(p, value, len) == 0)
			return true;
		p = bar ? bar + 1 : NULL;
	}
	return false;
}

static bool is_number(const config_setting_t *s)
{
	int t = config_setting_type(s);
	return t == CONFIG_TYPE_INT || t == CONFIG_TYPE_INT64 || t == CONFIG_TYPE_FLOAT;
}

static double number_value(const config_setting_t *s)
{
	switch (config_setting_type(s)) {
	case CONFIG_TYPE_INT:
		return config_setting_get_int(s);
	case CONFIG_TYPE_INT64:
		return (double)config_setting_get_int64(s);
	default:
		return config_setting_get_float(s);
	}
}

/* Shared context of one check. */
struct check {
	const char *file;
	struct ioca_diag *diag;
	int problems;
};

static void problem(struct check *c, const config_setting_t *where, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void problem(struct check *c, const config_setting_t *where, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	ioca_diag_vadd(c->diag, ioca_setting_file(where, c->file), ioca_setting_line(where), fmt,
		       ap);
	va_end(ap);
	c->problems++;
}

static void format_number(double v, char *buf, size_t len)
{
	if (v == floor(v) && fabs(v) < 1e15)
		snprintf(buf, len, "%.0f", v);
	else
		snprintf(buf, len, "%g", v);
}

static void check_range(struct check *c, const config_setting_t *s, const struct ioca_option *o,
			const char *what, double v)
{
	if (!(o->min < o->max))
		return;
	if (isnan(v) || v < o->min || v > o->max) {
		char lo[32], hi[32], val[32];
		format_number(o->min, lo, sizeof lo);
		format_number(o->max, hi, sizeof hi);
		format_number(v, val, sizeof val);
		problem(c, s, "%s: option '%s' = %s is out of range (%s to %s)", what, o->key, val,
			lo, hi);
	}
}

static void check_count(struct check *c, const config_setting_t *s, const struct ioca_option *o,
			const char *what, unsigned n)
{
	if (n < o->min_count)
		problem(c, s, "%s: option '%s' needs at least %u element%s, has %u", what, o->key,
			o->min_count, o->min_count == 1 ? "" : "s", n);
	if (o->max_count && n > o->max_count)
		problem(c, s, "%s: option '%s' takes at most %u elements, has %u", what, o->key,
			o->max_count, n);
	if (o->count_multiple > 1 && n % o->count_multiple)
		problem(c, s, "%s: option '%s' needs a multiple of %u elements, has %u", what,
			o->key, o->count_multiple, n);
}

static int check_group(struct check *c, config_setting_t *group, const struct ioca_option *table,
		       const char *const *extra, const char *what);

static void check_value(struct check *c, config_setting_t *s, const struct ioca_option *o,
			const char *what)
{
	int t = config_setting_type(s);
	bool type_ok;
	switch (o->type) {
	case IOCA_OPT_BOOL:
		type_ok = t == CONFIG_TYPE_BOOL;
		break;
	case IOCA_OPT_INT:
		type_ok = t == CONFIG_TYPE_INT || t == CONFIG_TYPE_INT64;
		break;
	case IOCA_OPT_FLOAT:
		type_ok = is_number(s);
		break;
	case IOCA_OPT_STRING:
	case IOCA_OPT_ENUM:
		type_ok = t == CONFIG_TYPE_STRING;
		break;
	case IOCA_OPT_FLOAT_ARRAY:
	case IOCA_OPT_STRING_ARRAY:
		type_ok = t == CONFIG_TYPE_ARRAY || t == CONFIG_TYPE_LIST;
		break;
	case IOCA_OPT_GROUP:
		type_ok = t == CONFIG_TYPE_GROUP;
		break;
	case IOCA_OPT_GROUP_LIST:
		type_ok = t == CONFIG_TYPE_LIST;
		break;
	default:
		type_ok = false;
		break;
	}
	if (!type_ok) {
		problem(c, s, "%s: option '%s' must be %s", what, o->key,
			ioca_opt_type_name(o->type));
		return;
	}

	switch (o->type) {
	case IOCA_OPT_INT:
	case IOCA_OPT_FLOAT:
		check_range(c, s, o, what, number_value(s));
		break;
	case IOCA_OPT_STRING: {
		const char *v = config_setting_get_string(s);
		char why[FILE_WHY_LEN];
		if (!ioca_utf8_valid(v, strlen(v))) {
			problem(c, s, "%s: option '%s' is not valid UTF-8", what, o->key);
			break;
		}
		struct stat pst;
		/* a warning, not a problem: a device plugged in later is found by the
		 * instance's own retries, and one missing sensor never stops the others */
		if ((o->flags & IOCA_OPTF_PATH) && !strstr(v, "://") && stat(v, &pst) != 0)
			ioca_warn("%s:%d: warning: %s: option '%s': path '%s' does not exist or "
				  "cannot be reached: %s",
				  ioca_setting_file(s, c->file), ioca_setting_line(s), what, o->key,
				  v, strerror(errno));
		if ((o->flags & IOCA_OPTF_FILE) &&
		    ioca_regular_file_readable(v, why, sizeof why) != IOCA_OK)
			problem(c, s, "%s: option '%s': cannot read file '%s': %s", what, o->key, v,
				why);
		break;
	}
	case IOCA_OPT_ENUM: {
		const char *v = config_setting_get_string(s);
		if (!choice_valid(o->choices, v))
			problem(c, s, "%s: option '%s' = \"%s\" is not one of %s", what, o->key, v,
				o->choices);
		break;
	}
	case IOCA_OPT_FLOAT_ARRAY:
	case IOCA_OPT_STRING_ARRAY: {
		int n = config_setting_length(s);
		bool want_num = o->type == IOCA_OPT_FLOAT_ARRAY;
		for (int i = 0; i < n; i++) {
			config_setting_t *e = config_setting_get_elem(s, (unsigned)i);
			if (want_num ? !is_number(e)
				     : config_setting_type(e) != CONFIG_TYPE_STRING) {
				problem(c, e, "%s: option '%s' element %d must be %s", what, o->key,
					i + 1, want_num ? "a number" : "a string");
				continue;
			}
			if (!want_num) {
				const char *v = config_setting_get_string(e);
				if (!ioca_utf8_valid(v, strlen(v)))
					problem(c, e,
						"%s: option '%s' element %d is not valid UTF-8",
						what, o->key, i + 1);
			}
			if (want_num && o->min < o->max) {
				double v = number_value(e);
				if (isnan(v) || v < o->min || v > o->max) {
					char lo[32], hi[32], val[32];
					format_number(o->min, lo, sizeof lo);
					format_number(o->max, hi, sizeof hi);
					format_number(v, val, sizeof val);
					problem(c, e,
						"%s: option '%s' element %d = %s is out of range "
						"(%s to %s)",
						what, o->key, i + 1, val, lo, hi);
				}
			}
		}
		check_count(c, s, o, what, (unsigned)n);
		break;
	}
	case IOCA_OPT_GROUP: {
		char sub[512];
		snprintf(sub, sizeof sub, "%s, '%s'", what, o->key);
		check_group(c, s, o->children, NULL, sub);
		break;
	}
	case IOCA_OPT_GROUP_LIST: {
		int n = config_setting_length(s);
		for (int i = 0; i < n; i++) {
			config_setting_t *e = config_setting_get_elem(s, (unsigned)i);
			if (config_setting_type(e) != CONFIG_TYPE_GROUP) {
				problem(c, e,
					"%s: option '%s' element %d must be a group ({ ... })",
					what, o->key, i + 1);
				continue;
			}
			char sub[512];
			const char *ename = NULL;
			if (config_setting_lookup_string(e, "name", &ename) && ename)
				snprintf(sub, sizeof sub, "%s, '%s' element %d ('%s')", what,
					 o->key, i + 1, ename);
			else
				snprintf(sub, sizeof sub, "%s, '%s' element %d", what, o->key,
					 i + 1);
			check_group(c, e, o->children, NULL, sub);
		}
		check_count(c, s, o, what, (unsigned)n);
		break;
	}
	default:
		break;
	}
}

static void add_default(config_setting_t *group, const struct ioca_option *o)
{
	config_setting_t *s = NULL;
	switch (o->type) {
	case IOCA_OPT_BOOL:
		s = config_setting_add(group, o->key, CONFIG_TYPE_BOOL);
		if (s)
			config_setting_set_bool(s, o->def_bool);
		break;
	case IOCA_OPT_INT:
		if (o->def_int >= INT32_MIN && o->def_int <= INT32_MAX) {
			s = config_setting_add(group, o->key, CONFIG_TYPE_INT);
			if (s)
				config_setting_set_int(s, (int)o->def_int);
		} else {
			s = config_setting_add(group, o->key, CONFIG_TYPE_INT64);
			if (s)
				config_setting_set_int64(s, o->def_int);
		}
		break;
	case IOCA_OPT_FLOAT:
		s = config_setting_add(group, o->key, CONFIG_TYPE_FLOAT);
		if (s)
			config_setting_set_float(s, o->def_float);
		break;
	case IOCA_OPT_STRING:
	case IOCA_OPT_ENUM:
		if (!o->def_string)
			return;
		s = config_setting_add(group, o->key, CONFIG_TYPE_STRING);
		if (s)
			config_setting_set_string(s, o->def_string);
		break;
	default:
		return;
	}
	if (s)
		config_setting_set_hook(s, &default_marker);
}

static int check_group(struct check *c, config_setting_t *group, const struct ioca_option *table,
		       const char *const *extra, const char *what)
{
	int before = c->problems;
	int n = config_setting_length(group);
	for (int i = 0; i < n; i++) {
		config_setting_t *s = config_setting_get_elem(group, (unsigned)i);
		const char *key = config_setting_name(s);
		if (!key)
			continue;
		const struct ioca_option *o = find_option(table, key);
		if (!o) {
			if (in_list(extra, key))
				continue;
			const char *near = suggest(key, table, extra);
			if (near)
				problem(c, s, "%s: unknown option '%s' (did you mean '%s'?)", what,
					key, near);
			else
				problem(c, s, "%s: unknown option '%s'", what, key);
			continue;
		}
		check_value(c, s, o, what);
	}
	for (const struct ioca_option *o = table; o && o->key; o++) {
		if (config_setting_get_member(group, o->key))
			continue;
		if (o->flags & IOCA_OPTF_REQUIRED)
			problem(c, group, "%s: missing required option '%s'", what, o->key);
		else
			add_default(group, o);
	}
	return c->problems - before;
}

int ioca_optcheck_group(config_setting_t *group, const struct ioca_option *table,
			const char *const *allowed_extra, const char *what, const char *file,
			struct ioca_diag *diag)
{
	struct check c = {.file = file, .diag = diag, .problems = 0};
	if (!group || config_setting_type(group) != CONFIG_TYPE_GROUP) {
		problem(&c, group, "%s must be a group ({ ... })", what);
		return c.problems;
	}
	return check_group(&c, group, table, allowed_extra, what);
}
