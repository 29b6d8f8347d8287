/*
 * MQTT 5 topic aliases of one network connection: which topic goes out as
 * which alias. Aliases belong to a connection, so the table is reset on
 * every CONNACK with the broker's Topic Alias Maximum.
 *
 * The first publish of a topic sends its name with a free alias (1..max);
 * later ones send an empty name and the alias. Once every alias is taken a
 * new topic goes out by name without an alias, unless an alias has not been
 * used for IOCA_TOPIC_ALIAS_STALE_FACTOR x (aliases in use) publishes: that
 * one is given to the new topic (name and alias sent again). A steady set of
 * topics larger than the table keeps its first topics aliased instead of
 * reassigning on every publish; topics that went quiet (start-up events, an
 * instance removed) free their alias.
 *
 * An alias first given at one QoS serves that QoS only, for the rest of the
 * connection: libmosquitto writes a QoS 0 publish at once but holds QoS 1 ones
 * beyond the broker's Receive Maximum, so an alias reassigned by a QoS 0
 * publish could reach the broker before a held QoS 1 publish that still
 * carries it for its old topic (which would then arrive on the new one).
 * Within one QoS, publishes reach the broker in the order they were made.
 */
#ifndef IOCA_TOPIC_ALIAS_H
#define IOCA_TOPIC_ALIAS_H

#include <stdint.h>

/* Most aliases used on one connection, whatever the broker allows. */
#define IOCA_TOPIC_ALIAS_MAX_ENTRIES 128
/* An alias unused for this many times the aliases in use is reassigned. */
#define IOCA_TOPIC_ALIAS_STALE_FACTOR 4

struct ioca_topic_alias;

/* How one publish carries its topic. */
enum ioca_topic_alias_action {
	IOCA_TOPIC_ALIAS_NONE, /* the topic name, no alias */
	IOCA_TOPIC_ALIAS_SET,  /* the topic name and the alias: the broker learns it */
	IOCA_TOPIC_ALIAS_USE,  /* an empty topic name and the alias */
};

/* An empty table with aliases off (until ioca_topic_alias_reset). NULL when
 * out of memory. */
struct ioca_topic_alias *ioca_topic_alias_new(void);

/* A new connection: forget every alias; `broker_max` is the Topic Alias
 * Maximum of its CONNACK (0 or absent: no aliases on this connection). */
void ioca_topic_alias_reset(struct ioca_topic_alias *t, uint16_t broker_max);

/* Aliases this connection may use (0: aliases off). */
uint16_t ioca_topic_alias_limit(const struct ioca_topic_alias *t);

/* How to publish on `topic` at `qos` (0 or 1) now; sets *alias for SET and
 * USE. Counts as a use of the alias. */
enum ioca_topic_alias_action ioca_topic_alias_pick(struct ioca_topic_alias *t, const char *topic,
						   int qos, uint16_t *alias);

/* The publish that was to SET `alias` did not go out: the broker does not
 * know it, so it is free again. */
void ioca_topic_alias_forget(struct ioca_topic_alias *t, uint16_t alias);

void ioca_topic_alias_free(struct ioca_topic_alias *t);

#endif
