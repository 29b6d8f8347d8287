/*
 * libFuzzer target: the Modbus value decoder. The first byte picks type and
 * orders, the rest are register bytes as they come off the wire; a float
 * decoded from two registers must round-trip to the same 32 bits.
 */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "iocagent/plugin.h"
#include "modbus_decode.h"

#define TYPE_COUNT 5
#define MAX_REGS   8

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint16_t regs[MAX_REGS];
	size_t nregs;
	enum ioca_mb_type type;
	enum ioca_mb_order word, byte;
	double v;

	if (size < 1)
		return 0;
	type = (enum ioca_mb_type)(data[0] % TYPE_COUNT);
	word = (data[0] & 0x10) ? IOCA_MB_LITTLE : IOCA_MB_BIG;
	byte = (data[0] & 0x20) ? IOCA_MB_LITTLE : IOCA_MB_BIG;
	nregs = (size - 1) / 2;
	if (nregs > MAX_REGS)
		nregs = MAX_REGS;
	for (size_t i = 0; i < nregs; i++)
		regs[i] = (uint16_t)(data[1 + 2 * i] << 8 | data[2 + 2 * i]);
	if (ioca_mb_decode(regs, nregs, type, word, byte, &v) != IOCA_OK) {
		if (nregs >= ioca_mb_type_words(type))
			abort();
		return 0;
	}
	if (type != IOCA_MB_F32 && !isfinite(v))
		abort();
	if (type == IOCA_MB_F32 && !isnan(v)) {
		float f = (float)v;
		uint32_t bits;
		uint16_t hi, lo;

		memcpy(&bits, &f, sizeof bits);
		hi = regs[word == IOCA_MB_BIG ? 0 : 1];
		lo = regs[word == IOCA_MB_BIG ? 1 : 0];
		if (byte == IOCA_MB_LITTLE) {
			hi = (uint16_t)(hi << 8 | hi >> 8);
			lo = (uint16_t)(lo << 8 | lo >> 8);
		}
		if (bits != ((uint32_t)hi << 16 | lo))
			abort();
	}
	return 0;
}
