/* MQTT 5 topic alias table: first use sets, later uses reuse, a full table
 * keeps its topics, stale aliases are reassigned within their QoS, reset
 * forgets everything. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>

#include "topic_alias.h"

#define TOPIC_LEN 48

static void topic_name(char *buf, int n)
{
	snprintf(buf, TOPIC_LEN, "ioc/edge/s%d/event/sim/tick", n);
}

static int setup(void **state)
{
	*state = ioca_topic_alias_new();
	return *state ? 0 : -1;
}

static int teardown(void **state)
{
	ioca_topic_alias_free(*state);
	return 0;
}

static void test_off_until_reset(void **state)
{
	struct ioca_topic_alias *t = *state;
	uint16_t alias = 0;
	assert_int_equal(ioca_topic_alias_limit(t), 0);
	assert_int_equal(ioca_topic_alias_pick(t, "a/b", 1, &alias), IOCA_TOPIC_ALIAS_NONE);
	ioca_topic_alias_reset(t, 0); /* broker allows none */
	assert_int_equal(ioca_topic_alias_pick(t, "a/b", 1, &alias), IOCA_TOPIC_ALIAS_NONE);
	assert_int_equal(ioca_topic_alias_pick(t, "a/b", 1, &alias), IOCA_TOPIC_ALIAS_NONE);
}

static void test_set_then_use(void **state)
{
	struct ioca_topic_alias *t = *state;
	ioca_topic_alias_reset(t, 10);
	uint16_t a = 0, b = 0, again = 0;
	assert_int_equal(ioca_topic_alias_pick(t, "ioc/x/s1/telemetry", 1, &a),
			 IOCA_TOPIC_ALIAS_SET);
	assert_int_equal(a, 1);
	assert_int_equal(ioca_topic_alias_pick(t, "ioc/x/s2/telemetry", 1, &b),
			 IOCA_TOPIC_ALIAS_SET);
	assert_int_equal(b, 2);
	assert_int_equal(ioca_topic_alias_pick(t, "ioc/x/s1/telemetry", 1, &again),
			 IOCA_TOPIC_ALIAS_USE);
	assert_int_equal(again, 1);
	assert_int_equal(ioca_topic_alias_pick(t, "ioc/x/s2/telemetry", 1, &again),
			 IOCA_TOPIC_ALIAS_USE);
	assert_int_equal(again, 2);
	/* a prefix of a known topic is another topic */
	assert_int_equal(ioca_topic_alias_pick(t, "ioc/x/s1", 1, &again), IOCA_TOPIC_ALIAS_SET);
	assert_int_equal(again, 3);
	/* an empty topic is never aliased */
	assert_int_equal(ioca_topic_alias_pick(t, "", 1, &again), IOCA_TOPIC_ALIAS_NONE);
}

/* More distinct topics than aliases, in turn: the first ones keep theirs,
 * the others go by name, and no alias is handed out twice. */
static void test_full_table_keeps_first_topics(void **state)
{
	struct ioca_topic_alias *t = *state;
	const int max = 3, topics = 5;
	ioca_topic_alias_reset(t, (uint16_t)max);
	char name[TOPIC_LEN];
	for (int round = 0; round < 20; round++) {
		for (int n = 0; n < topics; n++) {
			topic_name(name, n);
			uint16_t alias = 0;
			enum ioca_topic_alias_action act =
			    ioca_topic_alias_pick(t, name, 1, &alias);
			if (n >= max) {
				assert_int_equal(act, IOCA_TOPIC_ALIAS_NONE);
				continue;
			}
			assert_int_equal(act,
					 round == 0 ? IOCA_TOPIC_ALIAS_SET : IOCA_TOPIC_ALIAS_USE);
			assert_int_equal(alias, n + 1);
		}
	}
}

/* A topic that went quiet gives its alias to a new one (name sent again). */
static void test_stale_alias_reassigned(void **state)
{
	struct ioca_topic_alias *t = *state;
	const int max = 2;
	ioca_topic_alias_reset(t, (uint16_t)max);
	uint16_t alias = 0;
	assert_int_equal(ioca_topic_alias_pick(t, "start/once", 1, &alias), IOCA_TOPIC_ALIAS_SET);
	assert_int_equal(alias, 1);
	assert_int_equal(ioca_topic_alias_pick(t, "busy", 1, &alias), IOCA_TOPIC_ALIAS_SET);
	assert_int_equal(alias, 2);
	/* not stale yet: the new topic goes by name */
	assert_int_equal(ioca_topic_alias_pick(t, "later", 1, &alias), IOCA_TOPIC_ALIAS_NONE);
	for (int i = 0; i < IOCA_TOPIC_ALIAS_STALE_FACTOR * max; i++)
		assert_int_equal(ioca_topic_alias_pick(t, "busy", 1, &alias), IOCA_TOPIC_ALIAS_USE);
	alias = 0;
	assert_int_equal(ioca_topic_alias_pick(t, "later", 1, &alias), IOCA_TOPIC_ALIAS_SET);
	assert_int_equal(alias, 1);
	assert_int_equal(ioca_topic_alias_pick(t, "later", 1, &alias), IOCA_TOPIC_ALIAS_USE);
	assert_int_equal(alias, 1);
	/* the old topic is no longer known by its alias */
	assert_int_equal(ioca_topic_alias_pick(t, "start/once", 1, &alias), IOCA_TOPIC_ALIAS_NONE);
	assert_int_equal(ioca_topic_alias_pick(t, "busy", 1, &alias), IOCA_TOPIC_ALIAS_USE);
	assert_int_equal(alias, 2);
}

/* An alias given at one QoS never serves the other on the connection, not
 * even when stale, forgotten, or for the same topic. */
static void test_alias_keeps_its_qos(void **state)
{
	struct ioca_topic_alias *t = *state;
	ioca_topic_alias_reset(t, 2);
	uint16_t a = 0, b = 0, c = 0;
	assert_int_equal(ioca_topic_alias_pick(t, "held/qos1", 1, &a), IOCA_TOPIC_ALIAS_SET);
	assert_int_equal(a, 1);
	/* the same topic at QoS 0 gets an alias of its own */
	assert_int_equal(ioca_topic_alias_pick(t, "held/qos1", 0, &b), IOCA_TOPIC_ALIAS_SET);
	assert_int_equal(b, 2);
	/* alias 1 goes stale under QoS 0 traffic: QoS 0 topics never take it */
	for (int i = 0; i < 10 * IOCA_TOPIC_ALIAS_STALE_FACTOR; i++) {
		char name[TOPIC_LEN];
		topic_name(name, i);
		enum ioca_topic_alias_action act = ioca_topic_alias_pick(t, name, 0, &c);
		assert_true(act == IOCA_TOPIC_ALIAS_NONE || c == 2);
	}
	assert_int_equal(ioca_topic_alias_pick(t, "held/qos1", 1, &a), IOCA_TOPIC_ALIAS_USE);
	assert_int_equal(a, 1);
	/* a forgotten QoS 1 alias is free again for QoS 1 only */
	ioca_topic_alias_forget(t, 1);
	assert_int_equal(
	    ioca_topic_alias_pick(t, "other/qos0", 0, &c) == IOCA_TOPIC_ALIAS_NONE || c == 2, 1);
	assert_int_equal(ioca_topic_alias_pick(t, "new/qos1", 1, &a), IOCA_TOPIC_ALIAS_SET);
	assert_int_equal(a, 1);
	/* a new connection gives both back to whoever comes first */
	ioca_topic_alias_reset(t, 2);
	assert_int_equal(ioca_topic_alias_pick(t, "a", 0, &a), IOCA_TOPIC_ALIAS_SET);
	assert_int_equal(ioca_topic_alias_pick(t, "b", 0, &b), IOCA_TOPIC_ALIAS_SET);
	assert_int_equal(a + b, 3);
}

/* A new connection knows no alias: every topic is set again, within the
 * new connection's maximum. */
static void test_reset_forgets(void **state)
{
	struct ioca_topic_alias *t = *state;
	ioca_topic_alias_reset(t, 4);
	uint16_t alias = 0;
	assert_int_equal(ioca_topic_alias_pick(t, "a", 1, &alias), IOCA_TOPIC_ALIAS_SET);
	assert_int_equal(ioca_topic_alias_pick(t, "b", 1, &alias), IOCA_TOPIC_ALIAS_SET);
	assert_int_equal(ioca_topic_alias_pick(t, "b", 1, &alias), IOCA_TOPIC_ALIAS_USE);
	ioca_topic_alias_reset(t, 1);
	assert_int_equal(ioca_topic_alias_limit(t), 1);
	assert_int_equal(ioca_topic_alias_pick(t, "b", 1, &alias), IOCA_TOPIC_ALIAS_SET);
	assert_int_equal(alias, 1);
	assert_int_equal(ioca_topic_alias_pick(t, "a", 1, &alias), IOCA_TOPIC_ALIAS_NONE);
	ioca_topic_alias_reset(t, 0);
	assert_int_equal(ioca_topic_alias_pick(t, "b", 1, &alias), IOCA_TOPIC_ALIAS_NONE);
}

/* A publish that was to set an alias did not go out: set it again next time. */
static void test_forget_unsent(void **state)
{
	struct ioca_topic_alias *t = *state;
	ioca_topic_alias_reset(t, 2);
	uint16_t alias = 0;
	assert_int_equal(ioca_topic_alias_pick(t, "a", 1, &alias), IOCA_TOPIC_ALIAS_SET);
	ioca_topic_alias_forget(t, alias);
	assert_int_equal(ioca_topic_alias_pick(t, "a", 1, &alias), IOCA_TOPIC_ALIAS_SET);
	assert_int_equal(alias, 1);
	ioca_topic_alias_forget(t, 0);  /* out of range: ignored */
	ioca_topic_alias_forget(t, 99); /* out of range: ignored */
	assert_int_equal(ioca_topic_alias_pick(t, "a", 1, &alias), IOCA_TOPIC_ALIAS_USE);
}

/* The broker may allow more than the table holds. */
static void test_capped(void **state)
{
	struct ioca_topic_alias *t = *state;
	ioca_topic_alias_reset(t, UINT16_MAX);
	assert_int_equal(ioca_topic_alias_limit(t), IOCA_TOPIC_ALIAS_MAX_ENTRIES);
	char name[TOPIC_LEN];
	for (int n = 0; n < IOCA_TOPIC_ALIAS_MAX_ENTRIES + 2; n++) {
		topic_name(name, n);
		uint16_t alias = 0;
		enum ioca_topic_alias_action act = ioca_topic_alias_pick(t, name, 1, &alias);
		if (n < IOCA_TOPIC_ALIAS_MAX_ENTRIES) {
			assert_int_equal(act, IOCA_TOPIC_ALIAS_SET);
			assert_int_equal(alias, n + 1);
		} else {
			assert_int_equal(act, IOCA_TOPIC_ALIAS_NONE);
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_off_until_reset, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_set_then_use, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_full_table_keeps_first_topics, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_stale_alias_reassigned, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_reset_forgets, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_alias_keeps_its_qos, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_forget_unsent, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_capped, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
