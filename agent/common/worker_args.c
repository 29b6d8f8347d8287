/*
 * Encoding and decoding of the worker's command line: see worker_args.h.
 */
#include "worker_args.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"

#define WORKER_PROGRAM_NAME "iocagent-worker"
#define WORKER_ARGC         8 /* program, flag, name, plugin, level, memory, rate, blob */
#define MAX_MEMORY_LIMIT_MB (INT64_C(1) << 40)
#define MAX_RATE_PER_S      1e9
#define MAX_BLOB_BYTES_ARG  (UINT64_C(1) << 32)

bool ioca_worker_args_valid(const struct ioca_worker_args *a, char *err, size_t errlen)
{
	if (!a->name || !a->name[0]) {
		snprintf(err, errlen, "empty instance name");
		return false;
	}
	if (!a->plugin_path || !a->plugin_path[0]) {
		snprintf(err, errlen, "empty plugin path");
		return false;
	}
	if (a->log_level < IOCA_LL_ERROR || a->log_level > IOCA_LL_DEBUG) {
		snprintf(err, errlen, "log level %d out of range", a->log_level);
		return false;
	}
	if (a->memory_limit_mb < 0 || a->memory_limit_mb > MAX_MEMORY_LIMIT_MB) {
		snprintf(err, errlen, "memory limit %" PRId64 " MiB out of range",
			 a->memory_limit_mb);
		return false;
	}
	if (!isfinite(a->max_rate) || a->max_rate < 0 || a->max_rate > MAX_RATE_PER_S) {
		snprintf(err, errlen, "max rate out of range");
		return false;
	}
	if (a->max_blob_bytes > MAX_BLOB_BYTES_ARG) {
		snprintf(err, errlen, "max blob size out of range");
		return false;
	}
	return true;
}

int ioca_worker_args_encode(const struct ioca_worker_args *a, struct ioca_worker_argv *out)
{
	char err[128];
	if (!ioca_worker_args_valid(a, err, sizeof err))
		return -1;
	snprintf(out->level, sizeof out->level, "%d", a->log_level);
	snprintf(out->memory, sizeof out->memory, "%" PRId64, a->memory_limit_mb);
	snprintf(out->rate, sizeof out->rate, "%.17g", a->max_rate);
	snprintf(out->blob, sizeof out->blob, "%" PRIu64, a->max_blob_bytes);
	char **v = out->argv;
	v[0] = WORKER_PROGRAM_NAME;
	v[1] = IOCA_WORKER_FLAG;
	v[2] = (char *)a->name;
	v[3] = (char *)a->plugin_path;
	v[4] = out->level;
	v[5] = out->memory;
	v[6] = out->rate;
	v[7] = out->blob;
	v[8] = NULL;
	return WORKER_ARGC;
}

static int parse_int64(const char *s, int64_t *out)
{
	char *end;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (errno || end == s || *end)
		return -1;
	*out = v;
	return 0;
}

int ioca_worker_args_decode(int argc, char **argv, struct ioca_worker_args *out, char *err,
			    size_t errlen)
{
	if (argc != WORKER_ARGC || strcmp(argv[1], IOCA_WORKER_FLAG) != 0) {
		snprintf(err, errlen,
			 "usage: iocagent %s NAME PLUGIN_PATH LOG_LEVEL MEMORY_MB MAX_RATE "
			 "MAX_BLOB_BYTES",
			 IOCA_WORKER_FLAG);
		return -1;
	}
	struct ioca_worker_args a = {.name = argv[2], .plugin_path = argv[3]};
	int64_t level;
	if (parse_int64(argv[4], &level) != 0 || level < IOCA_LL_ERROR || level > IOCA_LL_DEBUG) {
		snprintf(err, errlen, "bad log level '%s'", argv[4]);
		return -1;
	}
	a.log_level = (int)level;
	if (parse_int64(argv[5], &a.memory_limit_mb) != 0) {
		snprintf(err, errlen, "bad memory limit '%s'", argv[5]);
		return -1;
	}
	char *end;
	errno = 0;
	a.max_rate = strtod(argv[6], &end);
	if (errno || end == argv[6] || *end) {
		snprintf(err, errlen, "bad max rate '%s'", argv[6]);
		return -1;
	}
	int64_t blob;
	if (parse_int64(argv[7], &blob) != 0 || blob < 0) {
		snprintf(err, errlen, "bad max blob size '%s'", argv[7]);
		return -1;
	}
	a.max_blob_bytes = (uint64_t)blob;
	if (!ioca_worker_args_valid(&a, err, errlen))
		return -1;
	*out = a;
	return 0;
}

int ioca_worker_program(char *buf, size_t len)
{
	ssize_t n = readlink("/proc/self/exe", buf, len - 1);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	return 0;
}
