/*
 * Build-time generator of the man pages: fills the hand-written roff
 * templates of docs/man/ with the option tables the validator uses (the
 * core's from config_schema.c, each plugin's from the descriptor of its
 * shared object), so no option is ever described twice.
 *
 *   ioca_mangen page TEMPLATE OUTPUT DATE [PLUGIN.so]
 *   ioca_mangen keys [PLUGIN.so ...]
 *
 * `page` copies TEMPLATE to OUTPUT, replacing @VERSION@, @DATE@,
 * @CONFIG_PATH@, @STATE_DIR@, @PLUGIN_DIR@, @DOC_DIR@ (and, with a plugin, @PLUGIN_NAME@,
 * @PLUGIN_VERSION@, @PLUGIN_DESCRIPTION@), and every line "@OPTIONS NAME@"
 * (NAME: agent, mqtt, spool, commands, retention, instance or plugin) with the roff list of that
 * table. `keys` prints every declared option as "SCOPE DOTTED.KEY" (scope
 * "core" or the plugin's name), for the test that checks pages and docs.
 *
 * Invariant: a template placeholder that is not known is an error naming the
 * template line, and OUTPUT is replaced only when the whole page was written.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "config_schema.h"
#include "plugin_loader.h"

#define EXIT_USAGE     64
#define EXIT_DATA      65
#define EXIT_IO        74
#define LINE_MAX_BYTES 4096
#define ERR_MAX_BYTES  512
#define PATH_MAX_BYTES 4096
#define INTEGRAL_LIMIT 1e15 /* beyond this, numbers print in exponent form */

struct section {
	const char *name;
	const struct ioca_option *table;
};

static const struct section core_sections[] = {
    {"agent", ioca_schema_agent},
    {"mqtt", ioca_schema_mqtt},
    {"spool", ioca_schema_spool},
    {"commands", ioca_schema_commands},
    {"retention", ioca_schema_retention},
    {"instance", ioca_schema_instance},
    {NULL, NULL},
};

/* Roff-safe text: backslashes escaped, non-ASCII as \[uXXXX]. */
static void put_text(FILE *out, const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '\\') {
			fputs("\\e", out);
		} else if (*p == '-') {
			fputs("\\-", out);
		} else if (*p < 0x80) {
			fputc(*p, out);
		} else {
			/* Decode one UTF-8 sequence; a broken one becomes U+FFFD. */
			unsigned cp = 0xFFFD;
			int extra = (*p & 0xE0) == 0xC0   ? 1
				    : (*p & 0xF0) == 0xE0 ? 2
				    : (*p & 0xF8) == 0xF0 ? 3
							  : -1;
			if (extra > 0) {
				cp = *p & (0x3F >> extra);
				for (int i = 0; i < extra; i++) {
					if ((p[1] & 0xC0) != 0x80) {
						cp = 0xFFFD;
						break;
					}
					cp = (cp << 6) | (*++p & 0x3F);
				}
			}
			fprintf(out, "\\[u%04X]", cp);
		}
	}
}

static void put_number(FILE *out, double v)
{
	char buf[64];
	if (v == floor(v) && fabs(v) < INTEGRAL_LIMIT)
		snprintf(buf, sizeof buf, "%.0f", v);
	else
		snprintf(buf, sizeof buf, "%g", v);
	put_text(out, buf);
}

/* "v5 | v311" as bold alternatives. */
static void put_choices(FILE *out, const char *choices)
{
	const char *p = choices ? choices : "";
	while (*p) {
		size_t n = strcspn(p, "|");
		char word[128];
		snprintf(word, sizeof word, "%.*s", (int)n, p);
		fputs("\\fB", out);
		put_text(out, word);
		fputs("\\fR", out);
		p += n;
		if (*p == '|') {
			fputs(" | ", out);
			p++;
		}
	}
}

/* The value shape after "key = " on the tag line. */
static void put_shape(FILE *out, const struct ioca_option *o)
{
	switch (o->type) {
	case IOCA_OPT_BOOL:
		fputs("\\fBtrue\\fR | \\fBfalse\\fR", out);
		break;
	case IOCA_OPT_INT:
		fputs("\\fIinteger\\fR", out);
		break;
	case IOCA_OPT_FLOAT:
		fputs("\\fInumber\\fR", out);
		break;
	case IOCA_OPT_STRING:
		fputs("\"\\fIstring\\fR\"", out);
		break;
	case IOCA_OPT_ENUM:
		fputc('"', out);
		put_choices(out, o->choices);
		fputc('"', out);
		break;
	case IOCA_OPT_FLOAT_ARRAY:
		fputs("[ \\fInumber\\fR, ... ]", out);
		break;
	case IOCA_OPT_STRING_ARRAY:
		fputs("[ \"\\fIstring\\fR\", ... ]", out);
		break;
	case IOCA_OPT_GROUP:
		fputs("{ ... }", out);
		break;
	case IOCA_OPT_GROUP_LIST:
		fputs("( { ... }, ... )", out);
		break;
	case IOCA_OPT_END:
		break;
	}
}

static void put_default(FILE *out, const struct ioca_option *o)
{
	switch (o->type) {
	case IOCA_OPT_BOOL:
		fprintf(out, "default \\fB%s\\fR", o->def_bool ? "true" : "false");
		break;
	case IOCA_OPT_INT:
		fputs("default \\fB", out);
		put_number(out, (double)o->def_int);
		fputs("\\fR", out);
		break;
	case IOCA_OPT_FLOAT:
		fputs("default \\fB", out);
		put_number(out, o->def_float);
		fputs("\\fR", out);
		break;
	case IOCA_OPT_STRING:
	case IOCA_OPT_ENUM:
		if (o->def_string) {
			fputs("default \"", out);
			put_text(out, o->def_string);
			fputc('"', out);
		} else {
			fputs("optional", out);
		}
		break;
	default:
		fputs("optional", out);
		break;
	}
}

static void put_count(FILE *out, const struct ioca_option *o, const char *unit)
{
	if (o->min_count && o->max_count)
		fprintf(out, "; %u to %u %s", o->min_count, o->max_count, unit);
	else if (o->min_count)
		fprintf(out, "; at least %u %s", o->min_count, unit);
	else if (o->max_count)
		fprintf(out, "; at most %u %s", o->max_count, unit);
	if (o->count_multiple > 1)
		fprintf(out, ", a multiple of %u", o->count_multiple);
}

/* The parenthesised facts after the shape: required/default, range, counts. */
static void put_facts(FILE *out, const struct ioca_option *o)
{
	fputs(" (", out);
	if (o->flags & IOCA_OPTF_REQUIRED)
		fputs("required", out);
	else
		put_default(out, o);
	bool ranged = o->min < o->max;
	if (ranged && (o->type == IOCA_OPT_INT || o->type == IOCA_OPT_FLOAT)) {
		fputs("; ", out);
		put_number(out, o->min);
		fputs(" to ", out);
		put_number(out, o->max);
	}
	if (o->type == IOCA_OPT_FLOAT_ARRAY || o->type == IOCA_OPT_STRING_ARRAY)
		put_count(out, o, "values");
	if (o->type == IOCA_OPT_GROUP_LIST)
		put_count(out, o, "entries");
	if (ranged && o->type == IOCA_OPT_FLOAT_ARRAY) {
		fputs("; each ", out);
		put_number(out, o->min);
		fputs(" to ", out);
		put_number(out, o->max);
	}
	if (o->flags & IOCA_OPTF_SECRET)
		fputs("; secret, never printed", out);
	if (o->flags & IOCA_OPTF_FILE)
		fputs("; a file that must be readable", out);
	fputs(")", out);
}

static void put_options(FILE *out, const struct ioca_option *table)
{
	for (const struct ioca_option *o = table; o && o->key; o++) {
		fputs(".TP\n\\fB", out);
		put_text(out, o->key);
		fputs("\\fR = ", out);
		put_shape(out, o);
		put_facts(out, o);
		fputc('\n', out);
		if (o->help && *o->help) {
			put_text(out, o->help);
			fputs(".\n", out);
		}
		if (o->children) {
			fputs(".RS\n", out);
			put_options(out, o->children);
			fputs(".RE\n", out);
		}
	}
}

struct page_ctx {
	const char *template_path;
	const char *date;
	const struct ioca_plugin *plugin; /* NULL for the core pages */
};

static const struct ioca_option *table_named(const struct page_ctx *ctx, const char *name)
{
	if (strcmp(name, "plugin") == 0)
		return ctx->plugin ? ctx->plugin->options : NULL;
	for (const struct section *s = core_sections; s->name; s++)
		if (strcmp(s->name, name) == 0)
			return s->table;
	return NULL;
}

/* Value of @NAME@ (name without the @s), or NULL when unknown. */
static const char *placeholder(const struct page_ctx *ctx, const char *name, size_t len)
{
	static const struct {
		const char *name;
		const char *value;
	} fixed[] = {
	    {"VERSION", IOCA_VERSION},
	    {"CONFIG_PATH", IOCA_DEFAULT_CONFIG_PATH},
	    {"STATE_DIR", IOCA_DEFAULT_STATE_DIR},
	    {"PLUGIN_DIR", IOCA_DEFAULT_PLUGIN_DIR},
	    {"DOC_DIR", IOCA_DOC_DIR},
	};
	for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++)
		if (strlen(fixed[i].name) == len && strncmp(fixed[i].name, name, len) == 0)
			return fixed[i].value;
	if (len == 4 && strncmp(name, "DATE", len) == 0)
		return ctx->date;
	if (!ctx->plugin)
		return NULL;
	if (len == 11 && strncmp(name, "PLUGIN_NAME", len) == 0)
		return ctx->plugin->name;
	if (len == 14 && strncmp(name, "PLUGIN_VERSION", len) == 0)
		return ctx->plugin->version ? ctx->plugin->version : "";
	if (len == 18 && strncmp(name, "PLUGIN_DESCRIPTION", len) == 0)
		return ctx->plugin->description ? ctx->plugin->description : "";
	return NULL;
}

static int substitute_line(FILE *out, const struct page_ctx *ctx, const char *line, int lineno)
{
	const char *p = line;
	while (*p) {
		const char *at = strchr(p, '@');
		if (!at) {
			fputs(p, out);
			break;
		}
		fwrite(p, 1, (size_t)(at - p), out);
		size_t len = strspn(at + 1, "ABCDEFGHIJKLMNOPQRSTUVWXYZ_");
		if (len == 0 || at[1 + len] != '@') {
			fputc('@', out);
			p = at + 1;
			continue;
		}
		const char *value = placeholder(ctx, at + 1, len);
		if (!value) {
			fprintf(stderr, "%s:%d: unknown placeholder @%.*s@\n", ctx->template_path,
				lineno, (int)len, at + 1);
			return -1;
		}
		put_text(out, value);
		p = at + len + 2;
	}
	return 0;
}

static int expand_template(FILE *in, FILE *out, const struct page_ctx *ctx)
{
	char line[LINE_MAX_BYTES];
	int lineno = 0;
	while (fgets(line, sizeof line, in)) {
		lineno++;
		char name[64];
		char tail;
		if (sscanf(line, "@OPTIONS %63[a-z]%c", name, &tail) == 2 && tail == '@') {
			const struct ioca_option *table = table_named(ctx, name);
			if (!table) {
				fprintf(stderr, "%s:%d: no option table '%s'\n", ctx->template_path,
					lineno, name);
				return -1;
			}
			put_options(out, table);
			continue;
		}
		if (strncmp(line, ".\\\"", 3) == 0) { /* roff comments are copied as they are */
			fputs(line, out);
			continue;
		}
		if (substitute_line(out, ctx, line, lineno) != 0)
			return -1;
	}
	if (ferror(in)) {
		fprintf(stderr, "%s: %s\n", ctx->template_path, strerror(errno));
		return -1;
	}
	return 0;
}

static int write_page(const char *template_path, const char *output, const char *date,
		      const struct ioca_plugin *plugin)
{
	struct page_ctx ctx = {.template_path = template_path, .date = date, .plugin = plugin};
	char tmp[PATH_MAX_BYTES];
	if (snprintf(tmp, sizeof tmp, "%s.tmp", output) >= (int)sizeof tmp) {
		fprintf(stderr, "ioca_mangen: path too long: %s\n", output);
		return EXIT_USAGE;
	}
	FILE *in = fopen(template_path, "r");
	if (!in) {
		fprintf(stderr, "%s: %s\n", template_path, strerror(errno));
		return EXIT_IO;
	}
	FILE *out = fopen(tmp, "w");
	if (!out) {
		fprintf(stderr, "%s: %s\n", tmp, strerror(errno));
		fclose(in);
		return EXIT_IO;
	}
	int rc = expand_template(in, out, &ctx) == 0 ? EXIT_SUCCESS : EXIT_DATA;
	fclose(in);
	if (fclose(out) != 0 && rc == EXIT_SUCCESS) {
		fprintf(stderr, "%s: %s\n", tmp, strerror(errno));
		rc = EXIT_IO;
	}
	if (rc == EXIT_SUCCESS && rename(tmp, output) != 0) {
		fprintf(stderr, "%s: %s\n", output, strerror(errno));
		rc = EXIT_IO;
	}
	if (rc != EXIT_SUCCESS)
		remove(tmp);
	return rc;
}

/* Every configuration section of the core has its table here ("instances" is
 * the list of "instance" groups): a section added to the schema without one
 * fails the build instead of going missing from the page. */
static int check_sections(void)
{
	int missing = 0;
	for (const char *const *name = ioca_schema_sections; *name; name++) {
		const char *table = strcmp(*name, "instances") == 0 ? "instance" : *name;
		const struct section *s = core_sections;
		while (s->name && strcmp(s->name, table) != 0)
			s++;
		if (!s->name) {
			fprintf(stderr, "ioca_mangen: no option table for section '%s'\n", *name);
			missing++;
		}
	}
	return missing;
}

static void print_keys(const char *scope, const char *prefix, const struct ioca_option *table)
{
	for (const struct ioca_option *o = table; o && o->key; o++) {
		char path[512];
		if (snprintf(path, sizeof path, "%s%s%s", prefix, *prefix ? "." : "", o->key) >=
		    (int)sizeof path) {
			fprintf(stderr, "ioca_mangen: key path too long under '%s'\n", prefix);
			continue;
		}
		printf("%s %s\n", scope, path);
		if (o->children)
			print_keys(scope, path, o->children);
	}
}

static int open_plugin(const char *path, struct ioca_loaded_plugin *p)
{
	char err[ERR_MAX_BYTES];
	if (ioca_plugin_open_path(path, p, err, sizeof err) != IOCA_OK) {
		fprintf(stderr, "ioca_mangen: %s\n", err);
		return -1;
	}
	return 0;
}

static int cmd_keys(int argc, char **argv)
{
	for (const struct section *s = core_sections; s->name; s++)
		print_keys("core", strcmp(s->name, "instance") == 0 ? "instances" : s->name,
			   s->table);
	for (int i = 0; i < argc; i++) {
		struct ioca_loaded_plugin p;
		if (open_plugin(argv[i], &p) != 0)
			return EXIT_DATA;
		print_keys(p.desc->name, "", p.desc->options);
		ioca_plugin_close(&p);
	}
	return fflush(stdout) == 0 ? EXIT_SUCCESS : EXIT_IO;
}

static int cmd_page(int argc, char **argv)
{
	if (argc != 3 && argc != 4) {
		fprintf(stderr, "usage: ioca_mangen page TEMPLATE OUTPUT DATE [PLUGIN.so]\n");
		return EXIT_USAGE;
	}
	if (argc == 3)
		return write_page(argv[0], argv[1], argv[2], NULL);
	struct ioca_loaded_plugin p;
	if (open_plugin(argv[3], &p) != 0)
		return EXIT_DATA;
	int rc = write_page(argv[0], argv[1], argv[2], p.desc);
	ioca_plugin_close(&p);
	return rc;
}

int main(int argc, char **argv)
{
	if (check_sections() != 0)
		return EXIT_DATA;
	if (argc >= 2 && strcmp(argv[1], "page") == 0)
		return cmd_page(argc - 2, argv + 2);
	if (argc >= 2 && strcmp(argv[1], "keys") == 0)
		return cmd_keys(argc - 2, argv + 2);
	fprintf(stderr, "usage: ioca_mangen page TEMPLATE OUTPUT DATE [PLUGIN.so]\n"
			"       ioca_mangen keys [PLUGIN.so ...]\n");
	return EXIT_USAGE;
}
