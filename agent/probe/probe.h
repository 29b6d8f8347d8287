/*
 * One instance in the foreground, for the operator at a terminal:
 *   iocagent --test INSTANCE [--seconds N]       what it emits, as JSON lines
 *   iocagent --snapshot INSTANCE -o FILE.jpg      one picture (--overlay: with
 *                                                 zones, masks, foreground)
 * The instance runs in a worker process exactly as in service; nothing is
 * published and state_dir (spool, sequence file, lock) is never touched.
 */
#ifndef IOCA_PROBE_H
#define IOCA_PROBE_H

#include <stdbool.h>

/* Exit codes of the probe modes (sysexits, like the rest of the command line). */
#define IOCA_PROBE_EXIT_OK        0
#define IOCA_PROBE_EXIT_USAGE     64 /* no such instance; --snapshot of a plugin without pictures */
#define IOCA_PROBE_EXIT_NOTHING   69 /* EX_UNAVAILABLE: ran, but emitted nothing / no picture */
#define IOCA_PROBE_EXIT_FAILED    70 /* EX_SOFTWARE: the instance failed (crash, hang, error) */
#define IOCA_PROBE_EXIT_CANTCREAT 73 /* EX_CANTCREAT: the output file cannot be written */
#define IOCA_PROBE_EXIT_CONFIG    78 /* EX_CONFIG: the configuration is invalid */

struct ioca_probe_opts {
	const char *config_path;
	const char *instance;
	double seconds;     /* --seconds; 0: not given */
	const char *output; /* --snapshot: -o FILE */
	bool overlay;       /* --snapshot: --overlay */
};

/*
 * Complete `o` from the command line: the instance, whether it is --snapshot,
 * the --seconds text (NULL: not given). Returns NULL, or what is wrong.
 */
const char *ioca_probe_opts_set(struct ioca_probe_opts *o, const char *instance, bool snapshot,
				const char *seconds);

/* iocagent --test. Returns the exit code. */
int ioca_probe_test(const struct ioca_probe_opts *o);

/* iocagent --snapshot. Returns the exit code. */
int ioca_probe_snapshot(const struct ioca_probe_opts *o);

#endif
