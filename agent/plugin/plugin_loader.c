/*
 * Plugin loading: <plugin_dir>/<name>.so is dlopen'ed, its descriptor looked
 * up and its ABI checked (major equal to ours, minor not above ours) before
 * anything else of it is touched. Before dlopen() (which runs the file's
 * constructors) the file and its directories must pass plugin_trust.c.
 */
#include "plugin_loader.h"

#include "grow.h"
#include "optcheck.h"
#include "plugin_trust.h"

#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define PLUGIN_SUFFIX ".so"

static int check_descriptor(const struct ioca_plugin *d, const char *path, char *err, size_t errlen)
{
	if (d->abi_major != IOCA_PLUGIN_ABI_MAJOR || d->abi_minor > IOCA_PLUGIN_ABI_MINOR) {
		snprintf(err, errlen,
			 "plugin %s was built for plugin ABI %u.%u, this agent provides ABI %u.%u",
			 path, d->abi_major, d->abi_minor, IOCA_PLUGIN_ABI_MAJOR,
			 IOCA_PLUGIN_ABI_MINOR);
		return IOCA_ERROR;
	}
	if (!d->name || !d->run || !d->create || !d->destroy) {
		snprintf(err, errlen, "plugin %s: descriptor lacks a name or create/run/destroy",
			 path);
		return IOCA_ERROR;
	}
	return IOCA_OK;
}

int ioca_plugin_open_path(const char *path, struct ioca_loaded_plugin *out, char *err,
			  size_t errlen)
{
	memset(out, 0, sizeof *out);
	int flags = RTLD_NOW | RTLD_LOCAL;
#ifdef IOCA_KEEP_PLUGINS_LOADED
	flags |= RTLD_NODELETE;
#endif
	if (ioca_plugin_trusted(path, err, errlen) != IOCA_OK)
		return IOCA_ERROR;
	void *h = dlopen(path, flags);
	if (!h) {
		snprintf(err, errlen, "cannot load plugin %s: %s", path, dlerror());
		return IOCA_ERROR;
	}
	const struct ioca_plugin *d = dlsym(h, IOCA_PLUGIN_SYMBOL);
	if (!d) {
		snprintf(err, errlen, "%s is not an iocagent plugin (no symbol %s)", path,
			 IOCA_PLUGIN_SYMBOL);
		dlclose(h);
		return IOCA_ERROR;
	}
	if (check_descriptor(d, path, err, errlen) != IOCA_OK) {
		dlclose(h);
		return IOCA_ERROR;
	}
	out->handle = h;
	out->desc = d;
	out->path = strdup(path);
	return IOCA_OK;
}

static bool valid_name(const char *name)
{
	size_t n = strlen(name);
	if (n == 0 || n > 32)
		return false;
	for (const char *p = name; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_'))
			return false;
	return true;
}

int ioca_plugin_open(const char *dir, const char *name, struct ioca_loaded_plugin *out, char *err,
		     size_t errlen)
{
	memset(out, 0, sizeof *out);
	char path[PATH_MAX];
	struct stat st;
	if (!valid_name(name) ||
	    snprintf(path, sizeof path, "%s/%s%s", dir, name, PLUGIN_SUFFIX) >= (int)sizeof path ||
	    stat(path, &st) != 0) {
		char *names = ioca_plugin_names(dir);
		snprintf(err, errlen, "unknown plugin '%s' (plugins in %s: %s)", name, dir,
			 names && *names ? names : "none");
		free(names);
		return IOCA_ERROR;
	}
	if (ioca_plugin_open_path(path, out, err, errlen) != IOCA_OK)
		return IOCA_ERROR;
	if (strcmp(out->desc->name, name) != 0) {
		snprintf(err, errlen, "plugin file %s declares the name '%s'", path,
			 out->desc->name);
		ioca_plugin_close(out);
		return IOCA_ERROR;
	}
	return IOCA_OK;
}

void ioca_plugin_close(struct ioca_loaded_plugin *p)
{
	if (!p)
		return;
	if (p->handle)
		dlclose(p->handle);
	free(p->path);
	memset(p, 0, sizeof *p);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorted base names (without .so) of the plugin files in dir. */
static size_t scan_dir(const char *dir, char ***names_out)
{
	*names_out = NULL;
	DIR *d = opendir(dir);
	if (!d)
		return 0;
	char **names = NULL;
	size_t n = 0, cap = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		size_t len = strlen(e->d_name);
		size_t slen = strlen(PLUGIN_SUFFIX);
		if (len <= slen || strcmp(e->d_name + len - slen, PLUGIN_SUFFIX) != 0)
			continue;
		char **nn = ioca_grow(names, &cap, n + 1, sizeof *nn, 16);
		if (!nn)
			break;
		names = nn;
		names[n] = strndup(e->d_name, len - slen);
		if (names[n])
			n++;
	}
	closedir(d);
	if (n)
		qsort(names, n, sizeof *names, cmp_str);
	*names_out = names;
	return n;
}

char *ioca_plugin_names(const char *dir)
{
	char **names;
	size_t n = scan_dir(dir, &names);
	size_t len = 1;
	for (size_t i = 0; i < n; i++)
		len += strlen(names[i]) + 2;
	char *out = calloc(1, len);
	for (size_t i = 0; i < n; i++) {
		if (out) {
			if (i)
				strcat(out, ", ");
			strcat(out, names[i]);
		}
		free(names[i]);
	}
	free(names);
	return out;
}

static void print_default(FILE *out, const struct ioca_option *o)
{
	switch (o->type) {
	case IOCA_OPT_BOOL:
		fprintf(out, " (default %s)", o->def_bool ? "true" : "false");
		break;
	case IOCA_OPT_INT:
		fprintf(out, " (default %lld)", (long long)o->def_int);
		break;
	case IOCA_OPT_FLOAT:
		fprintf(out, " (default %g)", o->def_float);
		break;
	case IOCA_OPT_STRING:
	case IOCA_OPT_ENUM:
		if (o->flags & IOCA_OPTF_SECRET)
			fprintf(out, " (secret)");
		else if (o->def_string)
			fprintf(out, " (default \"%s\")", o->def_string);
		break;
	default:
		break;
	}
}

static void print_options(FILE *out, const struct ioca_option *table, int depth)
{
	for (const struct ioca_option *o = table; o && o->key; o++) {
		fprintf(out, "%*s%-20s %s", 4 + depth * 2, "", o->key,
			o->type == IOCA_OPT_ENUM ? o->choices : ioca_opt_type_name_short(o->type));
		if (o->flags & IOCA_OPTF_REQUIRED)
			fprintf(out, " (required)");
		else
			print_default(out, o);
		if (o->min < o->max)
			fprintf(out, " [%g..%g]", o->min, o->max);
		fprintf(out, "  %s\n", o->help ? o->help : "");
		if (o->children)
			print_options(out, o->children, depth + 1);
	}
}

int ioca_plugin_list(const char *dir, FILE *out, int verbose)
{
	char **names;
	size_t n = scan_dir(dir, &names);
	int listed = 0;
	for (size_t i = 0; i < n; i++) {
		struct ioca_loaded_plugin p;
		char err[512];
		if (ioca_plugin_open(dir, names[i], &p, err, sizeof err) != IOCA_OK) {
			fprintf(out, "%-10s (not loadable: %s)\n", names[i], err);
		} else {
			fprintf(out, "%-10s %-8s ABI %u.%u  %s\n", p.desc->name,
				p.desc->version ? p.desc->version : "?", p.desc->abi_major,
				p.desc->abi_minor, p.desc->description ? p.desc->description : "");
			if (verbose)
				print_options(out, p.desc->options, 0);
			ioca_plugin_close(&p);
			listed++;
		}
		free(names[i]);
	}
	free(names);
	return listed;
}

int64_t ioca_plugin_default_memory_limit_mb(const struct ioca_plugin *desc)
{
	/* A 1.0 or 1.1 descriptor ends before the field. */
	if (!desc || desc->abi_minor < 2)
		return 0;
	return (int64_t)desc->default_memory_limit_mb;
}
