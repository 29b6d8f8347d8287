/*
 * Running one exec command: spawn it in a process group of its own (no shell
 * unless the caller puts one in argv), collect stdout and stderr through
 * pipes, and enforce a timeout by killing the whole group.
 *
 * Invariant: ioca_exec_run() never returns while the child is unreaped, and
 * it calls a host function (should_stop) at least every POLL_SLICE_MS, so the
 * agent never mistakes a slow command for a hung plugin.
 */
#ifndef IOCA_EXEC_RUN_H
#define IOCA_EXEC_RUN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "iocagent/plugin.h"

#define IOCA_EXEC_STDOUT_MAX (64u * 1024u)
#define IOCA_EXEC_STDERR_MAX 1024u

struct ioca_exec_result {
	bool spawned; /* false: the program could not be started (errno in spawn_errno) */
	int spawn_errno;
	bool timed_out; /* killed at the timeout */
	bool stopped;   /* killed because the instance is stopping */
	bool exited;    /* exited normally with exit_code */
	int exit_code;
	int signal; /* killed by this signal (when !exited) */
	char out[IOCA_EXEC_STDOUT_MAX + 1];
	size_t out_len;
	bool out_truncated; /* more than IOCA_EXEC_STDOUT_MAX bytes */
	char err[IOCA_EXEC_STDERR_MAX + 1];
	size_t err_len;
	int64_t duration_ms;
};

/*
 * Function: ioca_exec_run
 *
 * Run argv[0] (searched in PATH) with argv, stdin from /dev/null, no
 * descriptor above 2 inherited, for at most timeout_ms. `res` is filled in
 * every case.
 */
void ioca_exec_run(char *const argv[], int64_t timeout_ms, const struct ioca_host *host,
		   struct ioca_instance *inst, struct ioca_exec_result *res);

#endif
