/*
 * Expectations on readings in harness telemetry (reading_expect.h): parse a
 * record's JSON with cJSON, and wait record by record for a match.
 *
 * Invariant: failures go through cmocka (fail_msg / assert), so these run only
 * inside a cmocka test; every parsed document is freed before returning.
 */
#include "reading_expect.h"

#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>
#include <cmocka.h>

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

bool ioca_expect_reading_in(const struct ioca_expect *x, const char *json, const char *name,
			    struct ioca_expect_reading *g)
{
	cJSON *root = cJSON_Parse(json);
	bool found = false;
	const cJSON *r;
	cJSON_ArrayForEach(r, cJSON_GetObjectItemCaseSensitive(root, "readings"))
	{
		const cJSON *n = cJSON_GetObjectItemCaseSensitive(r, "name");
		if (!cJSON_IsString(n) || strcmp(n->valuestring, name) != 0)
			continue;
		const cJSON *st = cJSON_GetObjectItemCaseSensitive(r, "status");
		const cJSON *err = cJSON_GetObjectItemCaseSensitive(r, "error");
		const cJSON *unit = cJSON_GetObjectItemCaseSensitive(r, "unit");
		const cJSON *v = cJSON_GetObjectItemCaseSensitive(r, "value");
		snprintf(g->status, sizeof g->status, "%s",
			 cJSON_IsString(st) ? st->valuestring : "");
		snprintf(g->error, sizeof g->error, "%s",
			 cJSON_IsString(err) ? err->valuestring : "");
		snprintf(g->unit, sizeof g->unit, "%s",
			 cJSON_IsString(unit) ? unit->valuestring : "");
		g->has_value = cJSON_IsNumber(v);
		g->value = g->has_value ? v->valuedouble : NAN;
		if (x->strict_value && !cJSON_IsNull(v) && !g->has_value) {
			cJSON_Delete(root);
			fail_msg("reading %s: value neither number nor null", name);
		}
		found = true;
		break;
	}
	cJSON_Delete(root);
	return found;
}

const char *ioca_expect_last_with(struct ioca_harness *h, const char *name)
{
	for (size_t i = ioca_harness_count(h, NULL); i-- > 0;) {
		const struct ioca_harness_record *r = ioca_harness_get(h, i);
		if (r && r->json && strstr(r->json, name))
			return r->json;
	}
	return "none";
}

bool ioca_expect_matches(const struct ioca_expect *x, const struct ioca_expect_reading *g,
			 const char *status, double value, const char *error)
{
	if (strcmp(g->status, status) != 0)
		return false;
	if (strcmp(status, "error") == 0)
		return !g->has_value && strcmp(g->error, error) == 0;
	return g->has_value && fabs(g->value - value) <= x->eps;
}

struct ioca_expect_reading ioca_expect_wait_match(const struct ioca_expect *x,
						  struct ioca_harness *h, const char *name,
						  size_t from, const char *status, double value,
						  const char *error)
{
	struct ioca_expect_reading g;
	memset(&g, 0, sizeof g);
	int64_t end = now_ms() + x->wait_ms;
	for (size_t k = from;; k++) {
		int64_t left = end - now_ms();
		const struct ioca_harness_record *r =
		    ioca_harness_wait_for_nth(h, "telemetry", k, left > 0 ? left : 0);
		if (!r)
			fail_msg("no telemetry with %s %s (%g / %s) after record %zu; newest: %s",
				 name, status, value, error ? error : "-", from,
				 ioca_expect_last_with(h, name));
		if (ioca_expect_reading_in(x, r->json, name, &g) &&
		    ioca_expect_matches(x, &g, status, value, error)) {
			g.record = k;
			return g;
		}
	}
}

size_t ioca_expect_ok(const struct ioca_expect *x, struct ioca_harness *h, const char *name,
		      size_t from, double value, const char *unit)
{
	struct ioca_expect_reading g = ioca_expect_wait_match(x, h, name, from, "ok", value, NULL);
	assert_string_equal(g.unit, unit);
	return g.record;
}

size_t ioca_expect_error(const struct ioca_expect *x, struct ioca_harness *h, const char *name,
			 size_t from, const char *error)
{
	return ioca_expect_wait_match(x, h, name, from, "error", 0.0, error).record;
}

void ioca_expect_event(const struct ioca_expect *x, struct ioca_harness *h, const char *type,
		       size_t skip, const char *error, const char *reading)
{
	const struct ioca_harness_record *r = ioca_harness_wait_for_nth(h, type, skip, x->wait_ms);
	if (!r)
		fail_msg("no %s event #%zu", type, skip + 1);
	cJSON *root = cJSON_Parse(r->json);
	const cJSON *e = cJSON_GetObjectItemCaseSensitive(root, "error");
	assert_true(cJSON_IsString(e));
	assert_string_equal(e->valuestring, error);
	bool listed = false;
	const cJSON *n;
	cJSON_ArrayForEach(n, cJSON_GetObjectItemCaseSensitive(root, "readings")) listed |=
	    cJSON_IsString(n) && strcmp(n->valuestring, reading) == 0;
	cJSON_Delete(root);
	if (!listed)
		fail_msg("%s event does not list %s: %s", type, reading, r->json);
}
