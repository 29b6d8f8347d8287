/*
 * A tiny built-in bitmap font for the zone-tuning picture: 5x7 glyphs for
 * digits, letters (lower case drawn as upper case) and a few signs, so
 * labels need no font file on the host.
 *
 * Invariant: every byte value has a glyph; characters without one draw as
 * blanks of the same width, so text widths are always CAMERA_FONT_ADVANCE per
 * character.
 */
#ifndef IOCA_CAMERA_FONT_H
#define IOCA_CAMERA_FONT_H

#include <stdint.h>

#define CAMERA_FONT_W       5
#define CAMERA_FONT_H       7
#define CAMERA_FONT_ADVANCE 6 /* glyph plus one column of spacing */

/* Row r (0 = top) of the glyph of `ch`: bit 4 is the leftmost column. */
uint8_t ioca_font_row(unsigned char ch, int r);

#endif
