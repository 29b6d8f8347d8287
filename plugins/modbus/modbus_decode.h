/*
 * Modbus register value decoding: u16, s16, u32, s32, f32 from 16-bit
 * registers with a configurable word order (which register holds the high
 * half) and byte order (which byte of a register comes first on the wire).
 *
 * Kept free of libmodbus and of the plugin so that it can be fuzzed alone.
 * Invariant: ioca_mb_decode() reads at most ioca_mb_type_words(type)
 * registers and never more than `nregs`.
 */
#ifndef IOCA_MODBUS_DECODE_H
#define IOCA_MODBUS_DECODE_H

#include <stddef.h>
#include <stdint.h>

enum ioca_mb_type {
	IOCA_MB_U16,
	IOCA_MB_S16,
	IOCA_MB_U32,
	IOCA_MB_S32,
	IOCA_MB_F32,
};

/* Order of words (registers) or of bytes within a register. */
enum ioca_mb_order {
	IOCA_MB_BIG,    /* high word / high byte first (Modbus standard) */
	IOCA_MB_LITTLE, /* low word / low byte first */
};

/* Number of registers a value of `type` occupies (1 or 2). */
unsigned ioca_mb_type_words(enum ioca_mb_type type);

/* Parse "u16|s16|u32|s32|f32" / "big|little"; IOCA_OK or IOCA_ERROR. */
int ioca_mb_type_parse(const char *name, enum ioca_mb_type *type);
int ioca_mb_order_parse(const char *name, enum ioca_mb_order *order);

/*
 * Function: ioca_mb_decode
 *
 * Decode one value from `regs` (register values as libmodbus returns them:
 * the first wire byte in the high 8 bits).
 *
 * Return value: IOCA_OK with *out set (a float may be NaN or infinite: the
 * caller decides), IOCA_ERROR when nregs is too small.
 */
int ioca_mb_decode(const uint16_t *regs, size_t nregs, enum ioca_mb_type type,
		   enum ioca_mb_order word_order, enum ioca_mb_order byte_order, double *out);

#endif
