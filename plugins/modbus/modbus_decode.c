/*
 * Modbus register value decoding (see modbus_decode.h). Byte order swaps the
 * two bytes of each register; word order decides whether the first register
 * of a 32-bit value is its high or its low half. Together they cover the four
 * layouts met in the field: ABCD (big/big), CDAB (little words), BADC (little
 * bytes), DCBA (little/little).
 */
#include <string.h>

#include "iocagent/plugin.h"
#include "modbus_decode.h"

unsigned ioca_mb_type_words(enum ioca_mb_type type)
{
	return type == IOCA_MB_U16 || type == IOCA_MB_S16 ? 1 : 2;
}

int ioca_mb_type_parse(const char *name, enum ioca_mb_type *type)
{
	static const char *const names[] = {"u16", "s16", "u32", "s32", "f32"};

	for (unsigned i = 0; name && i < sizeof names / sizeof names[0]; i++) {
		if (strcmp(name, names[i]) == 0) {
			*type = (enum ioca_mb_type)i;
			return IOCA_OK;
		}
	}
	return IOCA_ERROR;
}

int ioca_mb_order_parse(const char *name, enum ioca_mb_order *order)
{
	if (name && strcmp(name, "big") == 0) {
		*order = IOCA_MB_BIG;
		return IOCA_OK;
	}
	if (name && strcmp(name, "little") == 0) {
		*order = IOCA_MB_LITTLE;
		return IOCA_OK;
	}
	return IOCA_ERROR;
}

static uint16_t fix_bytes(uint16_t reg, enum ioca_mb_order byte_order)
{
	return byte_order == IOCA_MB_BIG ? reg : (uint16_t)((reg << 8) | (reg >> 8));
}

int ioca_mb_decode(const uint16_t *regs, size_t nregs, enum ioca_mb_type type,
		   enum ioca_mb_order word_order, enum ioca_mb_order byte_order, double *out)
{
	uint16_t hi, lo;
	uint32_t u32;
	float f;

	if (!regs || nregs < ioca_mb_type_words(type))
		return IOCA_ERROR;
	if (type == IOCA_MB_U16 || type == IOCA_MB_S16) {
		uint16_t v = fix_bytes(regs[0], byte_order);

		*out = type == IOCA_MB_U16 ? (double)v : (double)(int16_t)v;
		return IOCA_OK;
	}
	hi = fix_bytes(regs[word_order == IOCA_MB_BIG ? 0 : 1], byte_order);
	lo = fix_bytes(regs[word_order == IOCA_MB_BIG ? 1 : 0], byte_order);
	u32 = ((uint32_t)hi << 16) | lo;
	switch (type) {
	case IOCA_MB_U32:
		*out = (double)u32;
		return IOCA_OK;
	case IOCA_MB_S32:
		*out = (double)(int32_t)u32;
		return IOCA_OK;
	case IOCA_MB_F32:
		memcpy(&f, &u32, sizeof f);
		*out = (double)f;
		return IOCA_OK;
	default:
		return IOCA_ERROR;
	}
}
