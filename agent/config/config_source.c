/*
 * Configuration source text: expands @include lines (with wildcards) into
 * one text for libconfig, remembering for every line of that text which file
 * and line it came from, then parses it and writes the true file and line
 * back into every setting.
 *
 * The scan that finds @include lines follows libconfig's own lexer: a
 * directive counts only at the start of a line in ordinary text (not inside
 * a block comment or a string). The same scan appends the L suffix to
 * integer literals that do not fit 32 bits (libconfig 1.5 would truncate
 * them); nothing else in the text is changed and no line is added or
 * removed except the @include lines themselves.
 */
#include "config_source.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <libgen.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "grow.h"
#include "iocagent/plugin.h"
#include "regular_file.h"

#define INT_LITERAL_MAX_CHARS 32
#define REASON_MAX_LEN        256
#define SYNTAX_LINE_MAX       160

enum scan_state {
	SCAN_CODE,
	SCAN_STRING,
	SCAN_COMMENT,
};

/* The combined text and, per line of it, where that line came from. */
struct expander {
	char *out;
	size_t out_len;
	size_t out_cap;
	size_t *line_file; /* index into files->names */
	int *line_no;
	size_t n_lines;
	size_t lines_cap;
	size_t total_bytes;
	char *include_dir;
	struct ioca_config_files *files;
	struct ioca_diag *diag;
	int problems;
	bool oom;
};

#define FIRST_CAP 64 /* elements of a list or bytes of the text, at first */

static void append(struct expander *ex, const char *s, size_t n)
{
	if (ex->oom)
		return;
	size_t cap = ex->out_cap;
	char *p = ioca_grow(ex->out, &cap, ex->out_len + n + 1, 1, FIRST_CAP);
	if (!p) {
		ex->oom = true;
		return;
	}
	ex->out = p;
	ex->out_cap = cap;
	memcpy(ex->out + ex->out_len, s, n);
	ex->out_len += n;
	ex->out[ex->out_len] = '\0';
}

/* End the current output line, which came from line `line` of file `file`. */
static void end_line(struct expander *ex, size_t file, int line)
{
	append(ex, "\n", 1);
	if (ex->oom)
		return;
	size_t cap = ex->lines_cap;
	size_t *lf = ioca_grow(ex->line_file, &cap, ex->n_lines + 1, sizeof *lf, FIRST_CAP);
	if (!lf) {
		ex->oom = true;
		return;
	}
	ex->line_file = lf;
	cap = ex->lines_cap;
	int *ln = ioca_grow(ex->line_no, &cap, ex->n_lines + 1, sizeof *ln, FIRST_CAP);
	if (!ln) {
		ex->oom = true;
		return;
	}
	ex->line_no = ln;
	ex->lines_cap = cap;
	ex->line_file[ex->n_lines] = file;
	ex->line_no[ex->n_lines] = line;
	ex->n_lines++;
}

static size_t files_add(struct expander *ex, const char *name)
{
	struct ioca_config_files *f = ex->files;
	size_t cap = f->cap;
	char **names = ioca_grow(f->names, &cap, f->count + 1, sizeof *names, FIRST_CAP);
	char *copy = strdup(name);
	if (!names || !copy) {
		if (names) {
			f->names = names;
			f->cap = cap;
		}
		free(copy);
		ex->oom = true;
		return 0;
	}
	f->names = names;
	f->cap = cap;
	f->names[f->count] = copy;
	return f->count++;
}

static void problem(struct expander *ex, size_t file, int line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void problem(struct expander *ex, size_t file, int line, const char *fmt, ...)
{
	const char *name = file < ex->files->count ? ex->files->names[file] : NULL;
	va_list ap;
	va_start(ap, fmt);
	ioca_diag_vadd(ex->diag, name, line, fmt, ap);
	va_end(ap);
	ex->problems++;
}

/* Read a whole regular file. On failure, *why says what went wrong. */
static char *read_text(const char *path, size_t budget, size_t *len_out, char *why, size_t whylen)
{
	int fd = ioca_open_regular(path, why, whylen);
	if (fd < 0)
		return NULL;
	struct stat st;
	if (fstat(fd, &st) != 0) {
		snprintf(why, whylen, "%s", strerror(errno));
		close(fd);
		return NULL;
	}
	if ((uintmax_t)st.st_size > budget) {
		snprintf(why, whylen, "larger than %zu bytes", budget);
		close(fd);
		return NULL;
	}
	size_t cap = (size_t)st.st_size + 1, len = 0;
	char *text = malloc(cap);
	if (!text) {
		snprintf(why, whylen, "out of memory");
		close(fd);
		return NULL;
	}
	for (;;) {
		if (len + 1 == cap) {
			if (cap > budget) {
				snprintf(why, whylen, "larger than %zu bytes", budget);
				goto fail;
			}
			char *t = realloc(text, cap * 2);
			if (!t) {
				snprintf(why, whylen, "out of memory");
				goto fail;
			}
			text = t;
			cap *= 2;
		}
		ssize_t n = read(fd, text + len, cap - 1 - len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			snprintf(why, whylen, "%s", strerror(errno));
			goto fail;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	text[len] = '\0';
	if (memchr(text, '\0', len)) {
		snprintf(why, whylen, "contains a NUL byte (not a text file)");
		free(text);
		return NULL;
	}
	*len_out = len;
	return text;
fail:
	close(fd);
	free(text);
	return NULL;
}

static bool ident_start(char c)
{
	return isalpha((unsigned char)c) || c == '*';
}

static bool ident_char(char c)
{
	return isalnum((unsigned char)c) || c == '-' || c == '_' || c == '*';
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/*
 * A number token starting at s (sign included) on line `line` of `file`;
 * appends it, with an L when it needs 64 bits.
 */
static const char *scan_number(struct expander *ex, const char *s, const char *e, size_t file,
			       int line)
{
	const char *start = s;
	if (*s == '-' || *s == '+')
		s++;
	if (s + 1 < e && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		s += 2;
		while (s < e && (isxdigit((unsigned char)*s) || *s == 'L'))
			s++;
		append(ex, start, (size_t)(s - start));
		return s;
	}
	while (s < e && is_digit(*s))
		s++;
	if (s < e && (*s == '.' || *s == 'e' || *s == 'E')) {
		/* a float: digits, '.', exponent with sign */
		while (s < e && (is_digit(*s) || *s == '.' || *s == 'e' || *s == 'E' ||
				 ((*s == '-' || *s == '+') && (s[-1] == 'e' || s[-1] == 'E'))))
			s++;
		append(ex, start, (size_t)(s - start));
		return s;
	}
	if (s < e && *s == 'L') {
		s++;
		append(ex, start, (size_t)(s - start));
		return s;
	}
	append(ex, start, (size_t)(s - start));
	/* the value: sign, then the digits without leading zeros */
	const char *digits = start;
	bool negative = *digits == '-';
	if (*digits == '-' || *digits == '+')
		digits++;
	while (digits + 1 < s && *digits == '0')
		digits++;
	size_t n = (size_t)(s - digits);
	char buf[INT_LITERAL_MAX_CHARS];
	long long v = 0;
	errno = 0;
	if (n + 2 <= sizeof buf) {
		snprintf(buf, sizeof buf, "%s%.*s", negative ? "-" : "", (int)n, digits);
		v = strtoll(buf, NULL, 10);
	} else {
		errno = ERANGE;
	}
	if (errno == ERANGE)
		problem(ex, file, line, "integer %s%.*s%s does not fit 64 bits",
			negative ? "-" : "",
			(int)(n < INT_LITERAL_MAX_CHARS ? n : INT_LITERAL_MAX_CHARS), digits,
			n < INT_LITERAL_MAX_CHARS ? "" : "...");
	else if (v > INT32_MAX || v < INT32_MIN)
		append(ex, "L", 1);
	return s;
}

/* Copy [s, e) (part of line `line` of `file`) to the output, tracking state. */
static void scan_segment(struct expander *ex, const char *s, const char *e, enum scan_state *state,
			 size_t file, int line)
{
	while (s < e) {
		if (*state == SCAN_COMMENT) {
			const char *c = s;
			while (c + 1 < e && !(c[0] == '*' && c[1] == '/'))
				c++;
			if (c + 1 < e) {
				append(ex, s, (size_t)(c + 2 - s));
				s = c + 2;
				*state = SCAN_CODE;
			} else {
				append(ex, s, (size_t)(e - s));
				s = e;
			}
			continue;
		}
		if (*state == SCAN_STRING) {
			const char *c = s;
			while (c < e && *c != '"') {
				if (*c == '\\' && c + 1 < e)
					c++;
				c++;
			}
			if (c < e) {
				c++;
				*state = SCAN_CODE;
			}
			append(ex, s, (size_t)(c - s));
			s = c;
			continue;
		}
		char c = *s;
		if (c == '"') {
			append(ex, s, 1);
			s++;
			*state = SCAN_STRING;
		} else if (c == '/' && s + 1 < e && s[1] == '*') {
			append(ex, s, 2);
			s += 2;
			*state = SCAN_COMMENT;
		} else if (c == '#' || (c == '/' && s + 1 < e && s[1] == '/')) {
			append(ex, s, (size_t)(e - s));
			s = e;
		} else if (ident_start(c)) {
			const char *t = s + 1;
			while (t < e && ident_char(*t))
				t++;
			append(ex, s, (size_t)(t - s));
			s = t;
		} else if (is_digit(c) || ((c == '-' || c == '+') && s + 1 < e && is_digit(s[1]))) {
			s = scan_number(ex, s, e, file, line);
		} else if (c == '.' && s + 1 < e && is_digit(s[1])) {
			const char *t = s + 1;
			while (t < e &&
			       (is_digit(*t) || *t == 'e' || *t == 'E' ||
				((*t == '-' || *t == '+') && (t[-1] == 'e' || t[-1] == 'E'))))
				t++;
			append(ex, s, (size_t)(t - s));
			s = t;
		} else {
			append(ex, s, 1);
			s++;
		}
	}
}

/*
 * If [s, e) is an @include line, store the unescaped path in *path (malloc'd)
 * and return where the text after the closing quote starts; else NULL.
 * *bad is set when the directive has no closing quote.
 */
static const char *match_include(const char *s, const char *e, char **path, bool *bad)
{
	static const char directive[] = "@include";
	const size_t dlen = sizeof directive - 1;
	*path = NULL;
	*bad = false;
	while (s < e && (*s == ' ' || *s == '\t'))
		s++;
	if ((size_t)(e - s) < dlen || memcmp(s, directive, dlen) != 0)
		return NULL;
	s += dlen;
	if (s >= e || (*s != ' ' && *s != '\t'))
		return NULL;
	while (s < e && (*s == ' ' || *s == '\t'))
		s++;
	if (s >= e || *s != '"')
		return NULL;
	s++;
	char *p = malloc((size_t)(e - s) + 1);
	if (!p)
		return NULL;
	size_t n = 0;
	while (s < e && *s != '"') {
		if (*s == '\\' && s + 1 < e && (s[1] == '"' || s[1] == '\\'))
			s++;
		p[n++] = *s++;
	}
	p[n] = '\0';
	if (s >= e) {
		free(p);
		*bad = true;
		return e;
	}
	*path = p;
	return s + 1;
}

static char *join_path(const char *dir, const char *path)
{
	if (path[0] == '/' || !dir || !*dir || strcmp(dir, ".") == 0)
		return strdup(path);
	char *full = NULL;
	if (asprintf(&full, "%s/%s", dir, path) < 0)
		return NULL;
	return full;
}

/* join_path() for a glob: wildcard characters of the folder match only themselves. */
static char *glob_pattern(const char *dir, const char *path)
{
	if (path[0] == '/' || !dir || !*dir || strcmp(dir, ".") == 0)
		return strdup(path);
	size_t n = strlen(dir), len = strlen(path);
	char *out = malloc(2 * n + len + 2);
	if (!out)
		return NULL;
	char *o = out;
	for (const char *d = dir; *d; d++) {
		if (strchr("*?[]\\", *d))
			*o++ = '\\';
		*o++ = *d;
	}
	*o++ = '/';
	memcpy(o, path, len + 1);
	return out;
}

static void expand_text(struct expander *ex, size_t file, const char *text, size_t len, int depth);

static void include_one(struct expander *ex, size_t parent, int line, const char *path, int depth)
{
	char why[REASON_MAX_LEN];
	size_t len = 0;
	size_t budget =
	    IOCA_CONFIG_MAX_BYTES > ex->total_bytes ? IOCA_CONFIG_MAX_BYTES - ex->total_bytes : 0;
	char *text = read_text(path, budget, &len, why, sizeof why);
	if (!text) {
		problem(ex, parent, line, "cannot include '%s': %s", path, why);
		return;
	}
	ex->total_bytes += len;
	size_t idx = files_add(ex, path);
	if (!ex->oom)
		expand_text(ex, idx, text, len, depth + 1);
	free(text);
}

static void do_include(struct expander *ex, size_t parent, int line, const char *path, int depth)
{
	if (depth >= IOCA_CONFIG_MAX_INCLUDE_DEPTH) {
		problem(ex, parent, line, "@include \"%s\": includes nested more than %d deep",
			path, IOCA_CONFIG_MAX_INCLUDE_DEPTH);
		return;
	}
	if (!*path) {
		problem(ex, parent, line, "@include with an empty file name");
		return;
	}
	if (!strpbrk(path, "*?[")) {
		char *full = join_path(ex->include_dir, path);
		if (!full) {
			ex->oom = true;
			return;
		}
		include_one(ex, parent, line, full, depth);
		free(full);
		return;
	}
	char *pattern = glob_pattern(ex->include_dir, path);
	if (!pattern) {
		ex->oom = true;
		return;
	}
	glob_t g;
	memset(&g, 0, sizeof g);
	int rc = glob(pattern, GLOB_MARK, NULL, &g);
	if (rc == 0) {
		for (size_t i = 0; i < g.gl_pathc && !ex->oom; i++) {
			size_t len = strlen(g.gl_pathv[i]);
			if (len && g.gl_pathv[i][len - 1] == '/')
				continue; /* a folder matched: not a file to include */
			include_one(ex, parent, line, g.gl_pathv[i], depth);
		}
	} else if (rc != GLOB_NOMATCH) {
		problem(ex, parent, line, "@include \"%s\": cannot list matching files", path);
	}
	globfree(&g);
	free(pattern);
}

static void expand_text(struct expander *ex, size_t file, const char *text, size_t len, int depth)
{
	enum scan_state state = SCAN_CODE;
	const char *p = text, *end = text + len;
	int line = 1;
	while (p < end && !ex->oom) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		if (!eol)
			eol = end;
		const char *rest = p;
		if (state == SCAN_CODE) {
			char *path;
			bool bad;
			const char *after = match_include(p, eol, &path, &bad);
			if (bad)
				problem(ex, file, line, "@include without a closing quote");
			if (after) {
				rest = after;
				if (path)
					do_include(ex, file, line, path, depth);
				free(path);
			}
		}
		scan_segment(ex, rest, eol, &state, file, line);
		end_line(ex, file, line);
		p = eol < end ? eol + 1 : end;
		line++;
	}
}

/* Rewrite each setting's line (a line of the combined text) into its true origin. */
static void fix_origin(config_setting_t *s, const struct expander *ex)
{
	unsigned line = s->line;
	if (line >= 1 && line <= ex->n_lines) {
		s->line = (unsigned)ex->line_no[line - 1];
		s->file = ex->files->names[ex->line_file[line - 1]];
	}
	if (!config_setting_is_aggregate(s))
		return;
	int n = config_setting_length(s);
	for (int i = 0; i < n; i++)
		fix_origin(config_setting_get_elem(s, (unsigned)i), ex);
}

static char *dir_of(const char *name)
{
	char *copy = strdup(name);
	if (!copy)
		return NULL;
	char *dir = strdup(dirname(copy));
	free(copy);
	return dir;
}

static void expander_free(struct expander *ex)
{
	free(ex->out);
	free(ex->line_file);
	free(ex->line_no);
	free(ex->include_dir);
}

/* Text of line `i` (0-based) of the expanded configuration, for messages:
 * tabs become spaces (so a caret lines up), other control bytes '?', at most
 * SYNTAX_LINE_MAX characters. */
static void line_text(const struct expander *ex, size_t i, char *buf, size_t cap)
{
	const char *p = ex->out ? ex->out : "";
	for (size_t n = 0; n < i && *p; n++) {
		const char *nl = strchr(p, '\n');
		if (!nl) {
			p += strlen(p);
			break;
		}
		p = nl + 1;
	}
	size_t o = 0;
	for (; *p && *p != '\n' && o + 1 < cap && o < SYNTAX_LINE_MAX; p++)
		buf[o++] = *p == '\t' ? ' ' : ((unsigned char)*p < ' ' ? '?' : *p);
	buf[o] = '\0';
}

static bool is_value_end(char c)
{
	return c == '\0' || c == ';' || c == ',' || c == '}' || c == ']' || c == ')';
}

/* libconfig says only "syntax error": name the usual causes found on the
 * offending line, and the column to point at (*col). NULL when none fits. */
static const char *syntax_hint(const char *line, size_t *col)
{
	*col = strspn(line, " ");
	bool in_str = false;
	size_t quote = 0;
	for (size_t i = 0; line[i]; i++) {
		char c = line[i];
		if (in_str) {
			if (c == '\\' && line[i + 1])
				i++;
			else if (c == '"')
				in_str = false;
			continue;
		}
		if (c == '#' || (c == '/' && (line[i + 1] == '/' || line[i + 1] == '*')))
			break;
		if (c == '"') {
			in_str = true;
			quote = i;
			continue;
		}
		if (c != '=' && c != ':')
			continue;
		size_t v = i + 1 + strspn(line + i + 1, " ");
		if (is_value_end(line[v]) || line[v] == '#') {
			*col = v;
			return "missing value";
		}
		if (isalpha((unsigned char)line[v]) && strncasecmp(line + v, "true", 4) != 0 &&
		    strncasecmp(line + v, "false", 5) != 0) {
			*col = v;
			return "a string value needs double quotes";
		}
	}
	if (in_str) {
		*col = quote;
		return "unterminated string";
	}
	return NULL;
}

int ioca_config_parse_string(config_t *cfg, const char *name, const char *text,
			     struct ioca_config_files *files, struct ioca_diag *diag)
{
	struct expander ex = {.files = files, .diag = diag};
	ex.include_dir = dir_of(name);
	size_t main_idx = files_add(&ex, name);
	size_t len = strlen(text);
	if (len > IOCA_CONFIG_MAX_BYTES) {
		problem(&ex, main_idx, 0, "larger than %d bytes", IOCA_CONFIG_MAX_BYTES);
		expander_free(&ex);
		return IOCA_ERROR;
	}
	ex.total_bytes = len;
	if (!ex.oom && ex.include_dir)
		expand_text(&ex, main_idx, text, len, 0);
	if (ex.oom || !ex.include_dir) {
		ioca_diag_add(diag, name, 0, "out of memory reading the configuration");
		expander_free(&ex);
		return IOCA_ERROR;
	}
	if (ex.problems) {
		expander_free(&ex);
		return IOCA_ERROR;
	}
	if (!config_read_string(cfg, ex.out ? ex.out : "")) {
		int line = config_error_line(cfg);
		size_t file = main_idx;
		int at = line;
		const char *msg = config_error_text(cfg);
		if (!msg)
			msg = "cannot parse";
		if (!ex.n_lines) {
			ioca_diag_add(diag, files->names[file], at, "%s", msg);
			expander_free(&ex);
			return IOCA_ERROR;
		}
		size_t i = line < 1 ? 0 : (size_t)line - 1;
		if (i >= ex.n_lines)
			i = ex.n_lines - 1;
		file = ex.line_file[i];
		at = ex.line_no[i];
		/* the reason, the line as written and a caret under the spot */
		char shown[SYNTAX_LINE_MAX + 1];
		line_text(&ex, i, shown, sizeof shown);
		size_t col = 0;
		const char *hint = syntax_hint(shown, &col);
		ioca_diag_add(diag, files->names[file], at, "%s%s%s\n    %s\n    %*s^", msg,
			      hint ? ": " : "", hint ? hint : "", shown, (int)col, "");
		expander_free(&ex);
		return IOCA_ERROR;
	}
	config_setting_t *root = config_root_setting(cfg);
	fix_origin(root, &ex);
	root->file = files->names[main_idx];
	expander_free(&ex);
	return IOCA_OK;
}

int ioca_config_parse_file(config_t *cfg, const char *path, struct ioca_config_files *files,
			   struct ioca_diag *diag)
{
	char why[REASON_MAX_LEN];
	size_t len = 0;
	char *text = read_text(path, IOCA_CONFIG_MAX_BYTES, &len, why, sizeof why);
	if (!text) {
		ioca_diag_add(diag, path, 0, "cannot read the configuration: %s", why);
		return IOCA_ERROR;
	}
	int rc = ioca_config_parse_string(cfg, path, text, files, diag);
	free(text);
	return rc;
}

void ioca_config_files_free(struct ioca_config_files *files)
{
	for (size_t i = 0; i < files->count; i++)
		free(files->names[i]);
	free(files->names);
	memset(files, 0, sizeof *files);
}
