/*
 * MQTT 5 topic alias table of one connection (see topic_alias.h). Entry i
 * holds alias i + 1; lookups compare a hash before the name. A connection's
 * table is small (at most IOCA_TOPIC_ALIAS_MAX_ENTRIES), so a linear scan
 * costs less than building the JSON it is sent with.
 */
#include "topic_alias.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define FNV_OFFSET 2166136261u
#define FNV_PRIME  16777619u

struct entry {
	char *topic; /* NULL: alias free */
	uint32_t hash;
	uint64_t last_use; /* pick() count of its last use */
	int8_t qos;        /* the QoS it serves on this connection; -1: not given yet */
};

struct ioca_topic_alias {
	struct entry entries[IOCA_TOPIC_ALIAS_MAX_ENTRIES];
	uint16_t limit;
	uint64_t clock; /* picks on this connection */
};

static uint32_t topic_hash(const char *s)
{
	uint32_t h = FNV_OFFSET;
	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= FNV_PRIME;
	}
	return h;
}

static void clear_entry(struct entry *e)
{
	free(e->topic);
	e->topic = NULL;
}

struct ioca_topic_alias *ioca_topic_alias_new(void)
{
	return calloc(1, sizeof(struct ioca_topic_alias));
}

void ioca_topic_alias_reset(struct ioca_topic_alias *t, uint16_t broker_max)
{
	for (size_t i = 0; i < IOCA_TOPIC_ALIAS_MAX_ENTRIES; i++) {
		clear_entry(&t->entries[i]);
		t->entries[i].qos = -1;
	}
	t->limit =
	    broker_max > IOCA_TOPIC_ALIAS_MAX_ENTRIES ? IOCA_TOPIC_ALIAS_MAX_ENTRIES : broker_max;
	t->clock = 0;
}

uint16_t ioca_topic_alias_limit(const struct ioca_topic_alias *t)
{
	return t->limit;
}

/* Give `e` to `topic`; false when out of memory (the entry is then free). */
static bool assign(struct entry *e, const char *topic, uint32_t hash, int qos, uint64_t now)
{
	clear_entry(e);
	e->qos = (int8_t)qos; /* kept even if strdup fails: see topic_alias.h */
	e->topic = strdup(topic);
	if (!e->topic)
		return false;
	e->hash = hash;
	e->last_use = now;
	return true;
}

enum ioca_topic_alias_action ioca_topic_alias_pick(struct ioca_topic_alias *t, const char *topic,
						   int qos, uint16_t *alias)
{
	if (t->limit == 0 || !topic || !topic[0])
		return IOCA_TOPIC_ALIAS_NONE;
	qos = qos > 0 ? 1 : 0;
	uint64_t now = ++t->clock;
	uint32_t hash = topic_hash(topic);
	struct entry *free_slot = NULL, *oldest = NULL;
	for (uint16_t i = 0; i < t->limit; i++) {
		struct entry *e = &t->entries[i];
		if (e->qos >= 0 && e->qos != qos)
			continue; /* serves the other QoS */
		if (!e->topic) {
			if (!free_slot)
				free_slot = e;
			continue;
		}
		if (e->hash == hash && strcmp(e->topic, topic) == 0) {
			e->last_use = now;
			*alias = (uint16_t)(i + 1);
			return IOCA_TOPIC_ALIAS_USE;
		}
		if (!oldest || e->last_use < oldest->last_use)
			oldest = e;
	}
	struct entry *target = free_slot;
	if (!target && oldest &&
	    now - oldest->last_use > (uint64_t)IOCA_TOPIC_ALIAS_STALE_FACTOR * t->limit)
		target = oldest;
	if (!target || !assign(target, topic, hash, qos, now))
		return IOCA_TOPIC_ALIAS_NONE;
	*alias = (uint16_t)(target - t->entries + 1);
	return IOCA_TOPIC_ALIAS_SET;
}

void ioca_topic_alias_forget(struct ioca_topic_alias *t, uint16_t alias)
{
	if (alias >= 1 && alias <= t->limit)
		clear_entry(&t->entries[alias - 1]);
}

void ioca_topic_alias_free(struct ioca_topic_alias *t)
{
	if (!t)
		return;
	ioca_topic_alias_reset(t, 0);
	free(t);
}
