/*
 * Reading configuration text into a libconfig tree, with `@include` handled
 * here rather than by libconfig 1.5 (which knows no wildcards and breaks
 * absolute include paths once an include directory is set).
 *
 * An `@include "PATH"` line (at the start of a line, outside comments and
 * strings, exactly where libconfig recognises it) is replaced by the text of
 * PATH; PATH is relative to the folder of the top file unless absolute, and
 * may hold the wildcards * ? [...] (every match in sorted order; no match,
 * nothing included), as libconfig documents wildcard includes. Includes nest.
 *
 * Invariant: after a successful parse every setting's source file and line
 * (config_setting_source_file / _line) name the file and line the user wrote
 * it at; the file strings live in `struct ioca_config_files`, which must
 * outlive the config_t.
 *
 * Also: libconfig 1.5 silently truncates integer literals beyond 32 bits
 * that lack the L suffix; such literals are given the suffix before parsing
 * so "max_bytes = 10737418240;" means what it says.
 */
#ifndef IOCA_CONFIG_SOURCE_H
#define IOCA_CONFIG_SOURCE_H

#include <libconfig.h>
#include <stddef.h>

#include "diag.h"

/* Largest configuration file accepted (each file, and all files together). */
#define IOCA_CONFIG_MAX_BYTES (4 * 1024 * 1024)
/* Deepest nesting of @include. */
#define IOCA_CONFIG_MAX_INCLUDE_DEPTH 10

/* Names of the files a tree was read from; settings point into it. */
struct ioca_config_files {
	char **names;
	size_t count;
	size_t cap;
};

/*
 * Parse `text` (named `name` in messages; includes are resolved relative to
 * the folder of `name`) into `cfg`, which must be config_init()ed.
 * Returns IOCA_OK, or IOCA_ERROR with "FILE:LINE: message" lines in diag.
 */
int ioca_config_parse_string(config_t *cfg, const char *name, const char *text,
			     struct ioca_config_files *files, struct ioca_diag *diag);

/* Read and parse the file at `path`. */
int ioca_config_parse_file(config_t *cfg, const char *path, struct ioca_config_files *files,
			   struct ioca_diag *diag);

void ioca_config_files_free(struct ioca_config_files *files);

#endif
