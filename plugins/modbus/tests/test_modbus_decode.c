/*
 * Modbus value decoding: the decoder alone on known byte layouts, then every
 * data type and word/byte order read by the plugin from the libmodbus test
 * server, over Modbus TCP on loopback and Modbus RTU over a pseudo-terminal.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "modbus_decode.h"
#include "modbus_test_util.h"

#define WAIT_MS    5000
#define F32_SAMPLE 123.456f

static double decode(const uint16_t *regs, size_t n, enum ioca_mb_type t, enum ioca_mb_order w,
		     enum ioca_mb_order b)
{
	double v = -1;

	assert_int_equal(ioca_mb_decode(regs, n, t, w, b, &v), IOCA_OK);
	return v;
}

static void test_decoder_layouts(void **unused)
{
	const uint16_t abcd[] = {0x42F6, 0xE979}, cdab[] = {0xE979, 0x42F6};
	const uint16_t badc[] = {0xF642, 0x79E9}, dcba[] = {0x79E9, 0xF642};
	const uint16_t u32[] = {0x1234, 0x5678}, s32[] = {0xF8A4, 0x32EB};
	const uint16_t neg16[] = {0xFFFE}, swapped16[] = {0xFEFF};
	double v;

	(void)unused;
	assert_true(decode(abcd, 2, IOCA_MB_F32, IOCA_MB_BIG, IOCA_MB_BIG) == (double)F32_SAMPLE);
	assert_true(decode(cdab, 2, IOCA_MB_F32, IOCA_MB_LITTLE, IOCA_MB_BIG) ==
		    (double)F32_SAMPLE);
	assert_true(decode(badc, 2, IOCA_MB_F32, IOCA_MB_BIG, IOCA_MB_LITTLE) ==
		    (double)F32_SAMPLE);
	assert_true(decode(dcba, 2, IOCA_MB_F32, IOCA_MB_LITTLE, IOCA_MB_LITTLE) ==
		    (double)F32_SAMPLE);
	assert_true(decode(u32, 2, IOCA_MB_U32, IOCA_MB_BIG, IOCA_MB_BIG) == 305419896.0);
	assert_true(decode(u32, 2, IOCA_MB_U32, IOCA_MB_LITTLE, IOCA_MB_BIG) ==
		    (double)0x56781234u);
	assert_true(decode(s32, 2, IOCA_MB_S32, IOCA_MB_BIG, IOCA_MB_BIG) == -123456789.0);
	assert_true(decode(neg16, 1, IOCA_MB_S16, IOCA_MB_BIG, IOCA_MB_BIG) == -2.0);
	assert_true(decode(neg16, 1, IOCA_MB_U16, IOCA_MB_BIG, IOCA_MB_BIG) == 65534.0);
	assert_true(decode(swapped16, 1, IOCA_MB_S16, IOCA_MB_BIG, IOCA_MB_LITTLE) == -2.0);
	/* Too few registers: refused, nothing read beyond the end. */
	assert_int_equal(ioca_mb_decode(abcd, 1, IOCA_MB_F32, IOCA_MB_BIG, IOCA_MB_BIG, &v),
			 IOCA_ERROR);
	assert_int_equal(ioca_mb_decode(abcd, 0, IOCA_MB_U16, IOCA_MB_BIG, IOCA_MB_BIG, &v),
			 IOCA_ERROR);
}

/* Values the server holds for unit 1 and the register map that reads them. */
static void load_values(struct mb_server *s)
{
	assert_string_equal(mb_server_cmd(s, "set 1 holding 0 0xFFFE"), "OK");
	assert_string_equal(mb_server_cmd(s, "set 1 holding 10 0x42F6 0xE979 0xE979 0x42F6 "
					     "0xF642 0x79E9 0x79E9 0xF642"),
			    "OK");
	assert_string_equal(mb_server_cmd(s, "set 1 holding 20 0x1234 0x5678 0x5678 0x1234 "
					     "0xF8A4 0x32EB 0xEB32 0xA4F8"),
			    "OK");
	assert_string_equal(mb_server_cmd(s, "set 1 holding 30 250"), "OK");
	assert_string_equal(mb_server_cmd(s, "set 1 input 5 777"), "OK");
	assert_string_equal(mb_server_cmd(s, "setbit 1 coil 3 1 0"), "OK");
	assert_string_equal(mb_server_cmd(s, "setbit 1 discrete 7 1"), "OK");
}

#define REGISTER_MAP                                                                               \
	"devices = ( { name = \"dev1\"; unit_id = 1; registers = ("                                \
	"{ name = \"u16\"; address = 0; type = \"u16\"; },"                                        \
	"{ name = \"s16\"; address = 0; type = \"s16\"; },"                                        \
	"{ name = \"f32_abcd\"; address = 10; type = \"f32\"; },"                                  \
	"{ name = \"f32_cdab\"; address = 12; type = \"f32\"; word_order = \"little\"; },"         \
	"{ name = \"f32_badc\"; address = 14; type = \"f32\"; byte_order = \"little\"; },"         \
	"{ name = \"f32_dcba\"; address = 16; type = \"f32\"; word_order = \"little\"; "           \
	"  byte_order = \"little\"; },"                                                            \
	"{ name = \"u32\"; address = 20; type = \"u32\"; },"                                       \
	"{ name = \"u32_cdab\"; address = 22; type = \"u32\"; word_order = \"little\"; },"         \
	"{ name = \"s32\"; address = 24; type = \"s32\"; },"                                       \
	"{ name = \"s32_dcba\"; address = 26; type = \"s32\"; word_order = \"little\"; "           \
	"  byte_order = \"little\"; },"                                                            \
	"{ name = \"scaled\"; address = 30; scale = 0.1; offset = -5.0; unit = \"degC\"; },"       \
	"{ name = \"input\"; function = \"input\"; address = 5; },"                                \
	"{ name = \"coil_on\"; function = \"coil\"; address = 3; },"                               \
	"{ name = \"coil_off\"; function = \"coil\"; address = 4; },"                              \
	"{ name = \"discrete\"; function = \"discrete\"; address = 7; }"                           \
	"); } ); publish_interval = 0.0; timeout_ms = 1000; poll_interval = 0.2;"

static void check_reading_value(const struct ioca_harness_record *r, const char *name, double want)
{
	char st[32], err[128];
	double v;

	if (!mb_reading(r, name, st, sizeof st, &v, err, sizeof err))
		fail_msg("reading %s missing", name);
	if (strcmp(st, "ok") != 0)
		fail_msg("reading %s: status %s (%s)", name, st, err);
	if (v != want)
		fail_msg("reading %s: %.17g, want %.17g", name, v, want);
}

static void check_all_values(struct ioca_harness *h)
{
	long i = mb_wait_reading(h, "discrete", 0, WAIT_MS);
	const struct ioca_harness_record *r;

	assert_true(i >= 0);
	r = ioca_harness_wait_for_nth(h, "telemetry", (size_t)i, 0);
	check_reading_value(r, "u16", 65534);
	check_reading_value(r, "s16", -2);
	check_reading_value(r, "f32_abcd", (double)F32_SAMPLE);
	check_reading_value(r, "f32_cdab", (double)F32_SAMPLE);
	check_reading_value(r, "f32_badc", (double)F32_SAMPLE);
	check_reading_value(r, "f32_dcba", (double)F32_SAMPLE);
	check_reading_value(r, "u32", 305419896);
	check_reading_value(r, "u32_cdab", 305419896);
	check_reading_value(r, "s32", -123456789);
	check_reading_value(r, "s32_dcba", -123456789);
	check_reading_value(r, "scaled", 250 * 0.1 - 5.0);
	check_reading_value(r, "input", 777);
	check_reading_value(r, "coil_on", 1);
	check_reading_value(r, "coil_off", 0);
	check_reading_value(r, "discrete", 1);
	assert_non_null(strstr(r->json, "\"unit\":\"degC\""));
}

static void test_tcp_types(void **unused)
{
	struct mb_server *s = mb_server_start("tcp", 0);
	char opts[4096];
	struct ioca_harness *h;

	(void)unused;
	assert_non_null(s);
	load_values(s);
	snprintf(opts, sizeof opts, "host = \"127.0.0.1\"; port = %d; %s", s->port, REGISTER_MAP);
	h = mb_plugin_start(opts);
	check_all_values(h);
	/* 15 registers in 4 tables: one request per table and poll, not one per register. */
	assert_true(ioca_harness_stat(h, "requests") >= 4);
	assert_int_equal(ioca_harness_stop(h), IOCA_OK);
	assert_true((int)ioca_harness_stat(h, "requests") % 4 == 0);
	ioca_harness_free(h);
	mb_server_free(s);
}

static void test_rtu_types(void **unused)
{
	struct mb_server *s = mb_server_start("rtu", 0);
	char opts[4096];
	struct ioca_harness *h;

	(void)unused;
	assert_non_null(s);
	load_values(s);
	snprintf(opts, sizeof opts,
		 "device = \"%s\"; baud = 115200; parity = \"even\"; stop_bits = 1; %s", s->tty,
		 REGISTER_MAP);
	h = mb_plugin_start(opts);
	check_all_values(h);
	assert_int_equal(ioca_harness_stop(h), IOCA_OK);
	ioca_harness_free(h);
	mb_server_free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_decoder_layouts),
	    cmocka_unit_test(test_tcp_types),
	    cmocka_unit_test(test_rtu_types),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
