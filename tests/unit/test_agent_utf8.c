/*
 * Unit tests of the UTF-8 validator and repair (agent/common/utf8.c): the
 * well-formed sequences of Unicode table 3-7 pass, everything else (stray
 * continuation bytes, truncated sequences, overlong forms, surrogates, code
 * points above U+10FFFF, Latin-1 text) is invalid and becomes U+FFFD, one per
 * maximal invalid subpart.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "utf8.h"

#define FFFD "\xEF\xBF\xBD"

static void expect_repair(const char *in, size_t len, const char *want)
{
	size_t out_len = 0;
	char *out = ioca_utf8_sanitize_alloc(in, len, &out_len);
	assert_non_null(out);
	assert_int_equal(out_len, strlen(want));
	assert_memory_equal(out, want, out_len);
	assert_true(ioca_utf8_valid(out, out_len));
	free(out);
}

static void test_valid(void **state)
{
	(void)state;
	static const char *const ok[] = {
	    "",
	    "plain ascii",
	    "25 \xC2\xB0"
	    "C",
	    "Đắk Nông",
	    "\xE2\x82\xAC",
	    "\xED\x9F\xBF",     /* U+D7FF, just below the surrogates */
	    "\xEE\x80\x80",     /* U+E000, just above */
	    "\xF0\x90\x80\x80", /* U+10000 */
	    "\xF4\x8F\xBF\xBF", /* U+10FFFF */
	};
	for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
		assert_true(ioca_utf8_valid(ok[i], strlen(ok[i])));
		expect_repair(ok[i], strlen(ok[i]), ok[i]);
	}
	/* an embedded NUL is a code point like any other */
	assert_true(ioca_utf8_valid("a\0b", 3));
}

static void test_invalid(void **state)
{
	(void)state;
	static const struct {
		const char *in;
		const char *want;
	} cases[] = {
	    {"25 \xB0"
	     "C",
	     "25 " FFFD "C"},                          /* Latin-1 degree sign */
	    {"\x80", FFFD},                            /* stray continuation */
	    {"\xC0\x80", FFFD FFFD},                   /* overlong NUL */
	    {"\xE0\x80\x80", FFFD FFFD FFFD},          /* overlong */
	    {"\xED\xA0\x80", FFFD FFFD FFFD},          /* surrogate U+D800 */
	    {"\xF4\x90\x80\x80", FFFD FFFD FFFD FFFD}, /* above U+10FFFF */
	    {"\xF5\x80", FFFD FFFD},
	    {"\xE2\x82"
	     "A",
	     FFFD "A"},             /* truncated: one replacement */
	    {"\xF0\x9F\x98", FFFD}, /* truncated at the end */
	    {"\xFF\xFE", FFFD FFFD},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		assert_false(ioca_utf8_valid(cases[i].in, strlen(cases[i].in)));
		expect_repair(cases[i].in, strlen(cases[i].in), cases[i].want);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_valid),
	    cmocka_unit_test(test_invalid),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
