/*
 * Unit tests of the serial line parsers: NMEA 0183 (checksum, MDA, MWV),
 * key=value, CSV with a column map, and the over-long-line framer.
 *
 * Invariant: every expectation is exact (values to 1e-9, keys, reasons).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "csvline.h"
#include "kvline.h"
#include "linebuf.h"
#include "nmea.h"

#define EPS 1e-9

static const struct ioca_line_value *find(const struct ioca_line_values *v, const char *key)
{
	for (size_t i = 0; i < v->count; i++)
		if (strcmp(v->v[i].key, key) == 0)
			return &v->v[i];
	return NULL;
}

static void expect_num(const struct ioca_line_values *v, const char *key, double value,
		       const char *unit)
{
	const struct ioca_line_value *x = find(v, key);
	if (!x)
		fail_msg("no value '%s'", key);
	assert_null(x->error);
	assert_true(x->value > value - EPS && x->value < value + EPS);
	if (unit)
		assert_string_equal(x->unit, unit);
	else
		assert_null(x->unit);
}

static void expect_failed(const struct ioca_line_values *v, const char *key, const char *reason)
{
	const struct ioca_line_value *x = find(v, key);
	if (!x)
		fail_msg("no value '%s'", key);
	assert_non_null(x->error);
	assert_string_equal(x->error, reason);
}

/* Build "$<body>*hh" with the correct checksum. */
static void with_checksum(const char *body, char *out, size_t cap)
{
	snprintf(out, cap, "$%s*%02X", body, ioca_nmea_checksum(body, strlen(body)));
}

static void test_nmea_checksum_known(void **state)
{
	(void)state;
	/* Reference sentence with a checksum computed independently. */
	const char *s = "$GPGLL,4916.45,N,12311.12,W,225444,A*31";
	assert_int_equal(ioca_nmea_checksum(s + 1, strlen(s) - 4), 0x31);
	struct ioca_line_values v;
	assert_int_equal(ioca_nmea_parse(s, strlen(s), 1, &v), IOCA_NMEA_UNSUPPORTED);
	assert_int_equal(v.count, 0);
}

static void test_nmea_mda_full(void **state)
{
	(void)state;
	char s[160];
	with_checksum(
	    "WIMDA,29.7544,I,1.0076,B,26.8,C,28.1,C,71.5,,21.2,C,135.0,T,136.5,M,5.8,N,3.0,M", s,
	    sizeof s);
	struct ioca_line_values v;
	assert_int_equal(ioca_nmea_parse(s, strlen(s), 1, &v), IOCA_NMEA_OK);
	assert_int_equal(v.count, 8);
	expect_num(&v, "pressure", 1007.6, "hPa");
	expect_num(&v, "air_temp", 26.8, "degC");
	expect_num(&v, "water_temp", 28.1, "degC");
	expect_num(&v, "humidity", 71.5, "%RH");
	expect_num(&v, "dew_point", 21.2, "degC");
	expect_num(&v, "wind_dir_true", 135.0, "deg");
	expect_num(&v, "wind_dir_magnetic", 136.5, "deg");
	expect_num(&v, "wind_speed", 3.0, "m/s");
}

static void test_nmea_mda_fallbacks_and_empty(void **state)
{
	(void)state;
	char s[160];
	/* Only inches of mercury and knots, no water temperature, CRLF kept. */
	with_checksum("IIMDA,30.00,I,,B,18.5,C,,C,55.0,,,C,,T,,M,10.0,N,,M", s, sizeof s);
	strcat(s, "\r\n");
	struct ioca_line_values v;
	assert_int_equal(ioca_nmea_parse(s, strlen(s), 1, &v), IOCA_NMEA_OK);
	assert_int_equal(v.count, 4);
	expect_num(&v, "pressure", 30.0 * 33.8638866667, "hPa");
	expect_num(&v, "air_temp", 18.5, "degC");
	expect_num(&v, "humidity", 55.0, "%RH");
	expect_num(&v, "wind_speed", 10.0 * 1852.0 / 3600.0, "m/s");
	assert_null(find(&v, "water_temp"));
}

static void test_nmea_mda_bad_fields(void **state)
{
	(void)state;
	char s[160];
	/* air temperature in F (unit letter wrong), humidity not a number */
	with_checksum("WIMDA,,I,1.0100,B,80.0,F,,C,abc,,,C,,T,,M,,N,,M", s, sizeof s);
	struct ioca_line_values v;
	assert_int_equal(ioca_nmea_parse(s, strlen(s), 1, &v), IOCA_NMEA_OK);
	assert_int_equal(v.count, 3);
	expect_num(&v, "pressure", 1010.0, "hPa");
	expect_failed(&v, "air_temp", "unit");
	expect_failed(&v, "humidity", "parse");
}

static void test_nmea_mwv(void **state)
{
	(void)state;
	char s[160];
	struct ioca_line_values v;
	with_checksum("WIMWV,214.8,R,0.1,K,A", s, sizeof s);
	assert_int_equal(ioca_nmea_parse(s, strlen(s), 1, &v), IOCA_NMEA_OK);
	assert_int_equal(v.count, 2);
	expect_num(&v, "wind_angle_relative", 214.8, "deg");
	expect_num(&v, "wind_speed_relative", 0.1 / 3.6, "m/s");

	with_checksum("WIMWV,045.0,T,12.5,N,A", s, sizeof s);
	assert_int_equal(ioca_nmea_parse(s, strlen(s), 1, &v), IOCA_NMEA_OK);
	expect_num(&v, "wind_angle_true", 45.0, "deg");
	expect_num(&v, "wind_speed_true", 12.5 * 1852.0 / 3600.0, "m/s");

	with_checksum("WIMWV,045.0,T,7.0,M,A", s, sizeof s);
	assert_int_equal(ioca_nmea_parse(s, strlen(s), 1, &v), IOCA_NMEA_OK);
	expect_num(&v, "wind_speed_true", 7.0, "m/s");

	with_checksum("WIMWV,045.0,T,7.0,S,A", s, sizeof s);
	assert_int_equal(ioca_nmea_parse(s, strlen(s), 1, &v), IOCA_NMEA_OK);
	expect_num(&v, "wind_speed_true", 7.0 * 0.44704, "m/s");

	/* status V: the instrument flags the data invalid */
	with_checksum("WIMWV,045.0,T,7.0,M,V", s, sizeof s);
	assert_int_equal(ioca_nmea_parse(s, strlen(s), 1, &v), IOCA_NMEA_OK);
	assert_int_equal(v.count, 2);
	expect_failed(&v, "wind_angle_true", "invalid");
	expect_failed(&v, "wind_speed_true", "invalid");

	/* unknown speed unit, angle out of range */
	with_checksum("WIMWV,400.0,R,7.0,X,A", s, sizeof s);
	assert_int_equal(ioca_nmea_parse(s, strlen(s), 1, &v), IOCA_NMEA_OK);
	expect_failed(&v, "wind_angle_relative", "range");
	expect_failed(&v, "wind_speed_relative", "unit");
}

static void test_nmea_bad_checksum(void **state)
{
	(void)state;
	char s[160];
	with_checksum("WIMWV,214.8,R,0.1,K,A", s, sizeof s);
	s[8] = '5'; /* corrupt one digit, keep the old checksum */
	struct ioca_line_values v;
	assert_int_equal(ioca_nmea_parse(s, strlen(s), 1, &v), IOCA_NMEA_CHECKSUM);
	assert_int_equal(v.count, 4);
	expect_failed(&v, "wind_angle_relative", "checksum");
	expect_failed(&v, "wind_speed_true", "checksum");

	with_checksum("WIMDA,,I,1.0100,B,20.0,C,,C,,,,C,,T,,M,,N,,M", s, sizeof s);
	size_t n = strlen(s);
	s[n - 1] = s[n - 1] == '0' ? '1' : '0';
	assert_int_equal(ioca_nmea_parse(s, strlen(s), 1, &v), IOCA_NMEA_CHECKSUM);
	assert_int_equal(v.count, 8);
	expect_failed(&v, "pressure", "checksum");

	/* missing checksum: refused when required, accepted when not */
	const char *bare = "$WIMWV,10.0,R,2.0,M,A";
	assert_int_equal(ioca_nmea_parse(bare, strlen(bare), 1, &v), IOCA_NMEA_CHECKSUM);
	assert_int_equal(ioca_nmea_parse(bare, strlen(bare), 0, &v), IOCA_NMEA_OK);
	expect_num(&v, "wind_speed_relative", 2.0, "m/s");

	/* checksum field malformed */
	const char *badhex = "$WIMWV,10.0,R,2.0,M,A*G1";
	assert_int_equal(ioca_nmea_parse(badhex, strlen(badhex), 0, &v), IOCA_NMEA_CHECKSUM);
	const char *longhex = "$WIMWV,10.0,R,2.0,M,A*123";
	assert_int_equal(ioca_nmea_parse(longhex, strlen(longhex), 0, &v), IOCA_NMEA_CHECKSUM);
}

static void test_nmea_garbage(void **state)
{
	(void)state;
	struct ioca_line_values v;
	const char *cases[] = {
	    "", "hello world", "$", "$GP", "$gpmda,1", "$TOOLONG,1,2", "\x01\x02\xff\xfe"};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		assert_int_equal(ioca_nmea_parse(cases[i], strlen(cases[i]), 0, &v),
				 IOCA_NMEA_MALFORMED);
		assert_int_equal(v.count, 0);
	}
	/* proprietary sentences are well-formed but not decoded */
	char s[64];
	with_checksum("PGRMZ,246,f,3", s, sizeof s);
	assert_int_equal(ioca_nmea_parse(s, strlen(s), 1, &v), IOCA_NMEA_UNSUPPORTED);
	/* a control byte inside a sentence whose checksum matches is still refused */
	char ctl[64];
	with_checksum("WIMWV,1\x01,R,2,M,A", ctl, sizeof ctl);
	assert_int_equal(ioca_nmea_parse(ctl, strlen(ctl), 1, &v), IOCA_NMEA_MALFORMED);
	assert_string_equal(ioca_nmea_result_name(IOCA_NMEA_CHECKSUM), "checksum");
	assert_string_equal(ioca_nmea_unit_of("wind_speed_true"), "m/s");
	assert_string_equal(ioca_nmea_unit_of("pressure"), "hPa");
	assert_null(ioca_nmea_unit_of("T"));
}

static void test_kv(void **state)
{
	(void)state;
	struct ioca_line_values v;
	const char *l =
	    "T=23.4 RH=61.2;P=1008.9hPa,pm25:35 co2=4.1e2ppm PM2.5=35.2ug/m3 e=2.5e\r\n";
	assert_int_equal(ioca_kv_parse(l, strlen(l), &v), 7);
	expect_num(&v, "PM2.5", 35.2, NULL);
	expect_num(&v, "e", 2.5, NULL);
	expect_num(&v, "T", 23.4, NULL);
	expect_num(&v, "RH", 61.2, NULL);
	expect_num(&v, "P", 1008.9, NULL);
	expect_num(&v, "pm25", 35.0, NULL);
	expect_num(&v, "co2", 410.0, NULL);

	l = "T=-1.5 RH=ERR flow=nan x=0x10 y=10x z=1.2.3 w=-";
	assert_int_equal(ioca_kv_parse(l, strlen(l), &v), 7);
	expect_num(&v, "y", 10.0, NULL);
	expect_failed(&v, "z", "parse");
	expect_failed(&v, "w", "parse");
	expect_num(&v, "T", -1.5, NULL);
	expect_failed(&v, "RH", "parse");
	expect_failed(&v, "flow", "parse");
	expect_failed(&v, "x", "parse");

	assert_int_equal(ioca_kv_parse("", 0, &v), -1);
	assert_int_equal(ioca_kv_parse("   \r", 4, &v), -1);
	l = "hello world";
	assert_int_equal(ioca_kv_parse(l, strlen(l), &v), -1);
	l = "T=1 junk";
	assert_int_equal(ioca_kv_parse(l, strlen(l), &v), -1);
	assert_int_equal(v.count, 0);
	l = "=5";
	assert_int_equal(ioca_kv_parse(l, strlen(l), &v), -1);
	/* a value may be empty: that is a failed reading, not garbage */
	l = "T=";
	assert_int_equal(ioca_kv_parse(l, strlen(l), &v), 1);
	expect_failed(&v, "T", "parse");
}

static void test_kv_many_and_long_keys(void **state)
{
	(void)state;
	char l[2048] = "";
	for (int i = 0; i < IOCA_LINE_MAX_VALUES + 3; i++) {
		char pair[32];
		snprintf(pair, sizeof pair, "k%d=%d ", i, i);
		strcat(l, pair);
	}
	struct ioca_line_values v;
	assert_int_equal(ioca_kv_parse(l, strlen(l), &v), IOCA_LINE_MAX_VALUES + 3);
	assert_int_equal(v.count, IOCA_LINE_MAX_VALUES);
	assert_int_equal(v.truncated, 1);
	char lk[128];
	memset(lk, 'a', 100);
	strcpy(lk + 100, "=7");
	assert_int_equal(ioca_kv_parse(lk, strlen(lk), &v), 1);
	assert_int_equal(strlen(v.v[0].key), IOCA_LINE_KEY_MAX - 1);
}

/* The one number scanner behind kv values and ioca_line_parse_number(). */
static void test_number_prefix_and_parse(void **state)
{
	static const struct {
		const char *text;
		size_t prefix;
		int parses;
	} cases[] = {
	    {"23.4", 4, 0},  {"-1.", 3, 0},  {"+.5", 3, 0},  {"4.1e2ppm", 5, -1}, {"2.5e", 3, -1},
	    {"1e+", 1, -1},  {"1E-3", 4, 0}, {".", 0, -1},   {"-", 0, -1},        {"hPa", 0, -1},
	    {"0x1F", 1, -1}, {"inf", 0, -1}, {"7 8", 1, -1}, {"12.5e+07", 8, 0},
	};
	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		size_t len = strlen(cases[i].text);
		double v = 0;
		assert_int_equal(ioca_line_number_prefix(cases[i].text, len), cases[i].prefix);
		assert_int_equal(ioca_line_parse_number(cases[i].text, len, &v), cases[i].parses);
	}
}

static void test_csv(void **state)
{
	(void)state;
	const struct ioca_csv_column map[] = {
	    {2, "pm25"},
	    {3, "pm10"},
	    {5, "temp"},
	};
	struct ioca_line_values v;
	const char *l = "2026-11-25T10:00:00,ST01,35.2, 48.0 ,x,\"27.5\"\r\n";
	assert_int_equal(ioca_csv_parse(l, strlen(l), ',', map, 3, &v), 6);
	assert_int_equal(v.count, 3);
	expect_num(&v, "pm25", 35.2, NULL);
	expect_num(&v, "pm10", 48.0, NULL);
	expect_num(&v, "temp", 27.5, NULL);

	l = "t,ST01,,abc";
	assert_int_equal(ioca_csv_parse(l, strlen(l), ',', map, 3, &v), 4);
	expect_failed(&v, "pm25", "parse");
	expect_failed(&v, "pm10", "parse");
	expect_failed(&v, "temp", "missing_column");

	l = "a;\"b;c\";1.5;\"x\"\"y\";-2;3";
	assert_int_equal(ioca_csv_parse(l, strlen(l), ';', map, 3, &v), 6);
	expect_num(&v, "pm25", 1.5, NULL);
	expect_failed(&v, "pm10", "parse");
	expect_num(&v, "temp", 3.0, NULL);

	l = "1,\"unterminated,2";
	assert_int_equal(ioca_csv_parse(l, strlen(l), ',', map, 3, &v), -1);
	assert_int_equal(ioca_csv_parse("", 0, ',', map, 3, &v), 1);
	expect_failed(&v, "temp", "missing_column");
}

static void test_status_lookup(void **state)
{
	(void)state;
	const char *val = NULL;
	size_t n = 0;
	const char *l = "T=1.5 ST=CAL;STX=9\r\n";
	assert_int_equal(ioca_kv_find(l, strlen(l), "ST", &val, &n), 0);
	assert_int_equal(n, 3);
	assert_memory_equal(val, "CAL", 3);
	assert_int_equal(ioca_kv_find(l, strlen(l), "STX", &val, &n), 0);
	assert_memory_equal(val, "9", 1);
	assert_int_equal(ioca_kv_find(l, strlen(l), "S", &val, &n), -1);
	assert_int_equal(ioca_kv_find(l, strlen(l), "RH", &val, &n), -1);

	l = "2026-11-25, \"ZERO\" ,35.2\n";
	assert_int_equal(ioca_csv_field(l, strlen(l), ',', 1, &val, &n), 0);
	assert_int_equal(n, 4);
	assert_memory_equal(val, "ZERO", 4);
	assert_int_equal(ioca_csv_field(l, strlen(l), ',', 2, &val, &n), 0);
	assert_int_equal(n, 4);
	assert_memory_equal(val, "35.2", 4);
	assert_int_equal(ioca_csv_field(l, strlen(l), ',', 3, &val, &n), -1);
	assert_int_equal(ioca_csv_field("\"open", 5, ',', 0, &val, &n), -1);
}

struct collected {
	char lines[8][64];
	size_t n;
};

static void collect(void *ctx, const char *line, size_t len)
{
	struct collected *c = ctx;
	assert_int_equal(strlen(line), len);
	assert_true(len < sizeof c->lines[0]);
	assert_true(c->n < 8);
	memcpy(c->lines[c->n++], line, len + 1);
}

static void test_linebuf(void **state)
{
	(void)state;
	struct ioca_linebuf lb;
	assert_int_equal(ioca_linebuf_init(&lb, 10), 0);
	struct collected c = {.n = 0};
	const char *in = "abc\r\n\r\n0123456789\n01234567890123\nxy";
	ioca_linebuf_feed(&lb, in, strlen(in), collect, &c);
	assert_int_equal(c.n, 2);
	assert_string_equal(c.lines[0], "abc");
	assert_string_equal(c.lines[1], "0123456789");
	assert_int_equal(lb.overlong, 1);
	/* byte-wise feeding of the rest of a line, then CR-only terminators */
	ioca_linebuf_feed(&lb, "z", 1, collect, &c);
	ioca_linebuf_feed(&lb, "\r", 1, collect, &c);
	assert_int_equal(c.n, 3);
	assert_string_equal(c.lines[2], "xyz");
	/* an over-long line split across feeds is dropped whole, counted once */
	ioca_linebuf_feed(&lb, "AAAAAAAA", 8, collect, &c);
	ioca_linebuf_feed(&lb, "AAAAAAAA", 8, collect, &c);
	ioca_linebuf_feed(&lb, "AAAA\nok\n", 8, collect, &c);
	assert_int_equal(c.n, 4);
	assert_string_equal(c.lines[3], "ok");
	assert_int_equal(lb.overlong, 2);
	/* reset drops a partial line */
	ioca_linebuf_feed(&lb, "part", 4, collect, &c);
	ioca_linebuf_reset(&lb);
	ioca_linebuf_feed(&lb, "new\n", 4, collect, &c);
	assert_string_equal(c.lines[4], "new");
	ioca_linebuf_free(&lb);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_nmea_checksum_known),
	    cmocka_unit_test(test_nmea_mda_full),
	    cmocka_unit_test(test_nmea_mda_fallbacks_and_empty),
	    cmocka_unit_test(test_nmea_mda_bad_fields),
	    cmocka_unit_test(test_nmea_mwv),
	    cmocka_unit_test(test_nmea_bad_checksum),
	    cmocka_unit_test(test_nmea_garbage),
	    cmocka_unit_test(test_kv),
	    cmocka_unit_test(test_kv_many_and_long_keys),
	    cmocka_unit_test(test_number_prefix_and_parse),
	    cmocka_unit_test(test_csv),
	    cmocka_unit_test(test_status_lookup),
	    cmocka_unit_test(test_linebuf),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
