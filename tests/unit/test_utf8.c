/*
 * The UTF-8 sanitiser: valid text unchanged, Latin-1 and other ill-formed
 * bytes replaced by U+FFFD per maximal subpart, overlong forms, surrogates
 * and code points above U+10FFFF refused, truncation at a character boundary.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "utf8.h"

#define FFFD    "\xEF\xBF\xBD"
#define BUF_LEN 64

static void expect_clean(const char *in, size_t len, const char *want)
{
	char out[BUF_LEN];
	size_t n = ioca_utf8_sanitize(out, sizeof out, in, len);

	assert_string_equal(out, want);
	assert_int_equal(n, strlen(want));
	assert_true(ioca_utf8_valid(out, n));
}

static void test_valid_unchanged(void **unused)
{
	static const char *const valid[] = {"",
					    "pm25",
					    "\xC2\xB0"
					    "C",
					    "\xE2\x82\xAC",
					    "\xF0\x9F\x8C\xA7",
					    "\xF4\x8F\xBF\xBF",
					    "m\xC2\xB3/h"};

	(void)unused;
	for (size_t i = 0; i < sizeof valid / sizeof valid[0]; i++) {
		assert_true(ioca_utf8_valid(valid[i], strlen(valid[i])));
		expect_clean(valid[i], strlen(valid[i]), valid[i]);
	}
}

static void test_latin1_replaced(void **unused)
{
	(void)unused;
	assert_false(ioca_utf8_valid("\xB0"
				     "C",
				     2));
	expect_clean("\xB0"
		     "C",
		     2, FFFD "C");
	expect_clean("caf\xE9", 4, "caf" FFFD);
	expect_clean("\xE9t\xE9", 3, FFFD "t" FFFD);
}

static void test_ill_formed_forms(void **unused)
{
	(void)unused;
	expect_clean("\xC0\xAF", 2, FFFD FFFD);                   /* overlong '/' */
	expect_clean("\xE0\x80\xAF", 3, FFFD FFFD FFFD);          /* overlong, 3 bytes */
	expect_clean("\xED\xA0\x80", 3, FFFD FFFD FFFD);          /* surrogate U+D800 */
	expect_clean("\xF4\x90\x80\x80", 4, FFFD FFFD FFFD FFFD); /* above U+10FFFF */
	expect_clean("\xF5", 1, FFFD);
	expect_clean("\x80", 1, FFFD);
	/* A truncated sequence is one maximal subpart: one U+FFFD. */
	expect_clean("\xE2\x82"
		     "A",
		     3, FFFD "A");
	expect_clean("\xF0\x9F\x8C", 3, FFFD);
}

static void test_truncates_at_character(void **unused)
{
	char out[5];

	(void)unused;
	/* 4 bytes + NUL: "a" + euro sign fits, "ab" + euro sign does not. */
	assert_int_equal(ioca_utf8_sanitize(out, sizeof out, "ab\xE2\x82\xAC", 5), 2);
	assert_string_equal(out, "ab");
	assert_int_equal(ioca_utf8_sanitize(out, sizeof out, "a\xE2\x82\xAC", 4), 4);
	assert_string_equal(out, "a\xE2\x82\xAC");
	assert_int_equal(ioca_utf8_sanitize(out, sizeof out, "ab\xB0", 3), 2);
	assert_string_equal(out, "ab");
	assert_int_equal(ioca_utf8_sanitize(out, 1, "abc", 3), 0);
	assert_string_equal(out, "");
}

static void test_strdup(void **unused)
{
	char *s = ioca_utf8_strdup("\xB0\xB0\xB0");

	(void)unused;
	assert_non_null(s);
	assert_string_equal(s, FFFD FFFD FFFD);
	free(s);
	s = ioca_utf8_strdup("degC");
	assert_string_equal(s, "degC");
	free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_valid_unchanged),  cmocka_unit_test(test_latin1_replaced),
	    cmocka_unit_test(test_ill_formed_forms), cmocka_unit_test(test_truncates_at_character),
	    cmocka_unit_test(test_strdup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
