/*
 * `iocagent --export`: print the archived messages of a time range from the
 * archive in the configured state_dir to stdout, as JSON lines or CSV.
 */
#ifndef IOCA_EXPORT_MODE_H
#define IOCA_EXPORT_MODE_H

struct ioca_export_args {
	const char *from;     /* RFC 3339, inclusive */
	const char *to;       /* RFC 3339, exclusive */
	const char *instance; /* NULL: all */
	const char *format;   /* "jsonl" (default) or "csv" */
};

/* Returns the exit code: 0, 64 (bad arguments), 66 (no archive), 70, 78 (config). */
int ioca_export_main(const char *config_path, const struct ioca_export_args *args);

#endif
