/*
 * The export mode (see export_mode.h). It reads the archive through a
 * read-only connection, so it works while the agent runs and writes it;
 * what the agent has not committed yet (at most about a second) is not
 * included.
 */
#include "export_mode.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "archive.h"
#include "config.h"
#include "core.h"
#include "timeutil.h"

#define EXIT_NOINPUT 66 /* sysexits EX_NOINPUT */

static int parse_time(const char *what, const char *text, int64_t *out)
{
	if (!text) {
		fprintf(stderr,
			"iocagent: --export needs --%s TIME (RFC 3339, e.g. "
			"2026-11-25T00:00:00Z)\n",
			what);
		return -1;
	}
	if (ioca_parse_rfc3339(text, out) != 0) {
		fprintf(stderr,
			"iocagent: --%s '%s' is not an RFC 3339 time "
			"(e.g. 2026-11-25T00:00:00Z or 2026-11-25T07:00:00+07:00)\n",
			what, text);
		return -1;
	}
	return 0;
}

int ioca_export_main(const char *config_path, const struct ioca_export_args *args)
{
	struct ioca_archive_range range = {.instance = args->instance};
	if (parse_time("from", args->from, &range.from_ms) ||
	    parse_time("to", args->to, &range.to_ms))
		return IOCA_EXIT_USAGE;
	if (range.to_ms <= range.from_ms) {
		fprintf(stderr, "iocagent: --to (%s) must be later than --from (%s)\n", args->to,
			args->from);
		return IOCA_EXIT_USAGE;
	}
	enum ioca_export_format fmt;
	if (!args->format || strcmp(args->format, "jsonl") == 0) {
		fmt = IOCA_EXPORT_JSONL;
	} else if (strcmp(args->format, "csv") == 0) {
		fmt = IOCA_EXPORT_CSV;
	} else {
		fprintf(stderr, "iocagent: --format '%s': expected jsonl or csv\n", args->format);
		return IOCA_EXIT_USAGE;
	}

	struct ioca_config cfg;
	struct ioca_diag diag = {0};
	if (ioca_config_load(config_path, NULL, &cfg, &diag) != IOCA_OK) {
		ioca_diag_print(&diag, stderr);
		ioca_diag_clear(&diag);
		return IOCA_EXIT_CONFIG;
	}
	char path[PATH_MAX], err[256] = "";
	snprintf(path, sizeof path, "%s/%s", cfg.agent.state_dir, IOCA_ARCHIVE_FILE);
	ioca_config_free(&cfg);
	long n = ioca_archive_export(path, &range, fmt, stdout, err, sizeof err);
	if (fflush(stdout) != 0) {
		perror("iocagent: writing the export");
		return IOCA_EXIT_SOFTWARE;
	}
	if (n < 0) {
		fprintf(stderr, "iocagent: archive %s: %s\n", path, err);
		return strstr(err, "unable to open") ? EXIT_NOINPUT : IOCA_EXIT_SOFTWARE;
	}
	fprintf(stderr, "iocagent: exported %ld messages\n", n);
	return IOCA_EXIT_OK;
}
