/* Fuzz target: unpacking an archived data blob, as read from a database
 * file that may be damaged. Whatever unpacks must pack back to the same text. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "archive_codec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t len = ioca_archive_unpacked_len(data, size);
	if (len == 0 || len > 1024 * 1024)
		return 0;
	char *text = malloc(len + 1);
	if (!text)
		return 0;
	if (ioca_archive_unpack(data, size, text, len + 1) == 0) {
		struct ioca_pack_buf b = {0};
		char *again = malloc(len + 1);
		size_t n = ioca_archive_pack(&b, text, len);
		if (n &&
		    (ioca_archive_unpack(b.p, n, again, len + 1) != 0 || memcmp(again, text, len)))
			abort();
		free(again);
		ioca_pack_buf_free(&b);
	}
	free(text);
	return 0;
}
