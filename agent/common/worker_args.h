/*
 * The contract between the core and a worker process it starts: the command
 * line (argv) and the file descriptors the worker finds open. The core encodes
 * a struct ioca_worker_args, the worker decodes and validates it; both sides
 * use this one file, so the order and meaning of the arguments cannot drift.
 *
 * Invariant: ioca_worker_args_decode(ioca_worker_args_encode(a)) == a for every
 * args that ioca_worker_args_valid() accepts, and decode refuses anything else.
 */
#ifndef IOCA_WORKER_ARGS_H
#define IOCA_WORKER_ARGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define IOCA_WORKER_FLAG       "--worker"
#define IOCA_WORKER_SOCKET_FD  3 /* the socketpair end: frames both ways */
#define IOCA_WORKER_OPTIONS_FD 4 /* memfd with the instance's libconfig text */

/* Worker exit codes (besides 0: run() returned). */
#define IOCA_WORKER_EXIT_RUN_FAILED    1
#define IOCA_WORKER_EXIT_CREATE_FAILED 2
#define IOCA_WORKER_EXIT_SETUP_FAILED  3

struct ioca_worker_args {
	const char *name;        /* instance name */
	const char *plugin_path; /* path of the plugin's .so */
	int log_level;           /* enum ioca_log_level */
	int64_t memory_limit_mb; /* RLIMIT_AS, 0 = none */
	double max_rate;         /* emits per second, 0 = unlimited */
	uint64_t max_blob_bytes; /* largest blob the core can deliver, 0 = no limit known */
};

/* Room for an encoded command line: the argv array and its number strings. */
#define IOCA_WORKER_ARGV_LEN 9
struct ioca_worker_argv {
	char *argv[IOCA_WORKER_ARGV_LEN]; /* NULL-terminated, for posix_spawn */
	char level[16];
	char memory[32];
	char rate[40];
	char blob[32];
};

/* The program workers are started from: this process's own executable
 * (/proc/self/exe), NUL-terminated in buf. 0, or -1 when it cannot be read
 * (errno says why). */
int ioca_worker_program(char *buf, size_t len);

/* Whether `a` is something a worker can run; the reason in err if not. */
bool ioca_worker_args_valid(const struct ioca_worker_args *a, char *err, size_t errlen);

/* Fill `out` with the command line for `a` (which must be valid; strings are
 * borrowed, not copied). Returns the argument count, or -1 when `a` is invalid. */
int ioca_worker_args_encode(const struct ioca_worker_args *a, struct ioca_worker_argv *out);

/* Parse the worker's argv (argv[0] is the program, argv[1] IOCA_WORKER_FLAG).
 * Returns 0 with `out` pointing into argv, or -1 with the reason in err. */
int ioca_worker_args_decode(int argc, char **argv, struct ioca_worker_args *out, char *err,
			    size_t errlen);

#endif
