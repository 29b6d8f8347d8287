/*
 * Fuzz the remote command parser and authoriser: the first byte picks the
 * command name (or a garbage one), the rest is the request payload.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "command.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const names[] = {"status",   "ping",   "reload", "restart",
				    "snapshot", "replay", "",       "x/y"};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	static struct ioca_cmd_guard guard;
	static int ready;
	if (!ready) {
		ioca_cmd_guard_init(&guard);
		ioca_cmd_guard_set_key(&guard, (const uint8_t *)"fuzz-key", 8);
		for (int k = 0; k < IOCA_CMD_KIND_COUNT; k++)
			guard.enabled[k] = true;
		ready = 1;
	}
	const char *name = names[data[0] % (sizeof names / sizeof names[0])];
	struct ioca_cmd_request r;
	char detail[128];
	enum ioca_cmd_result res =
	    ioca_cmd_parse(name, data + 1, size - 1, IOCA_CMD_DEFAULT_MAX_REQUEST_BYTES, &r, detail,
			   sizeof detail);
	if (res == IOCA_CMD_OK)
		res = ioca_cmd_authorize(&guard, &r, 1764650000000);
	char *reply = ioca_cmd_reply(&r, res, detail, NULL);
	free(reply);
	ioca_cmd_request_free(&r);
	return 0;
}
