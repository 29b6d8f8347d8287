/*
 * libFuzzer target: the exec plugin's JSON output parser on arbitrary bytes.
 * Checks that every reported reading has a name and, when failed, a reason.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "exec_parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void on_value(void *ctx, const struct ioca_exec_value *v)
{
	unsigned *count = ctx;

	if (!v->name || !v->name[0] || (v->status == IOCA_READING_ERROR && !v->error))
		abort();
	(*count)++;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[64];
	unsigned count = 0;

	ioca_exec_parse((const char *)data, size, on_value, &count, err, sizeof err);
	if (count > IOCA_EXEC_MAX_READINGS)
		abort();
	return 0;
}
