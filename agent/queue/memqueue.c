/*
 * Bounded in-memory publish queue (struct ioca_queue behind ioca_memqueue_new).
 *
 * Records live in one doubly linked list in seq order; `cursor` is the oldest
 * record not yet handed out by next(), so everything before it is in flight.
 * Invariant: held bytes stay <= max_bytes except for records in flight, which
 * are never dropped (the MQTT session holds a reference to them): when a push
 * goes over the bound, the oldest records that are not in flight are dropped
 * and counted, and if that is not enough the new record itself is refused.
 * The spool uses this as its fallback while the disk refuses writes and
 * assigns seq numbers itself, so any seq greater than the last one is taken.
 */
#include "queue.h"

#include <stdlib.h>
#include <string.h>

/* Bookkeeping counted against max_bytes for each record besides its data. */
#define RECORD_OVERHEAD_BYTES ((uint64_t)sizeof(struct mq_node))

struct mq_node {
	struct mq_node *prev, *next;
	struct ioca_record rec; /* strings/payload point into data[] */
	uint64_t bytes;         /* counted size */
	bool in_flight;         /* handed out and not acked */
	char data[];
};

struct memqueue {
	struct ioca_queue base; /* must be first */
	struct mq_node *head, *tail;
	struct mq_node *cursor; /* next to hand out; NULL when all are out */
	uint64_t next_seq;
	uint64_t max_bytes;
	struct ioca_queue_stats st;
};

static struct memqueue *mq_of(struct ioca_queue *q)
{
	return (struct memqueue *)q;
}

static void mq_unlink(struct memqueue *m, struct mq_node *n)
{
	if (m->cursor == n)
		m->cursor = n->next;
	if (n->prev)
		n->prev->next = n->next;
	else
		m->head = n->next;
	if (n->next)
		n->next->prev = n->prev;
	else
		m->tail = n->prev;
	m->st.records--;
	m->st.bytes -= n->bytes;
	if (n->in_flight)
		m->st.in_flight--;
	free(n);
}

static uint64_t mq_next_seq(struct ioca_queue *q)
{
	return mq_of(q)->next_seq;
}

/* Drop the oldest records not in flight until `need` more bytes fit. */
static void mq_make_room(struct memqueue *m, uint64_t need)
{
	struct mq_node *n = m->head;
	while (n && m->st.bytes + need > m->max_bytes) {
		struct mq_node *next = n->next;
		if (!n->in_flight) {
			m->st.dropped_records++;
			m->st.dropped_bytes += n->rec.payload_len;
			mq_unlink(m, n);
		}
		n = next;
	}
}

static struct mq_node *mq_node_new(const struct ioca_record *rec)
{
	size_t topic_len = strlen(rec->topic) + 1;
	size_t ct_len = rec->content_type ? strlen(rec->content_type) + 1 : 0;
	size_t inst_len = rec->instance ? strlen(rec->instance) + 1 : 0;
	struct mq_node *n = malloc(sizeof(*n) + topic_len + ct_len + inst_len + rec->payload_len);
	if (!n)
		return NULL;
	memset(n, 0, sizeof(*n));
	n->rec = *rec;
	char *p = n->data;
	memcpy(p, rec->topic, topic_len);
	n->rec.topic = p;
	p += topic_len;
	if (ct_len) {
		memcpy(p, rec->content_type, ct_len);
		n->rec.content_type = p;
		p += ct_len;
	}
	if (inst_len) {
		memcpy(p, rec->instance, inst_len);
		n->rec.instance = p;
		p += inst_len;
	}
	if (rec->payload_len)
		memcpy(p, rec->payload, rec->payload_len);
	n->rec.payload = p;
	n->bytes = RECORD_OVERHEAD_BYTES + topic_len + ct_len + inst_len + rec->payload_len;
	return n;
}

static int mq_refuse(struct memqueue *m, const struct ioca_record *rec)
{
	m->st.dropped_records++;
	m->st.dropped_bytes += rec->payload_len;
	return IOCA_ERROR;
}

static int mq_push(struct ioca_queue *q, const struct ioca_record *rec)
{
	struct memqueue *m = mq_of(q);
	if (!rec->topic || rec->seq < m->next_seq || (rec->payload_len && !rec->payload))
		return mq_refuse(m, rec);
	struct mq_node *n = mq_node_new(rec);
	if (!n)
		return mq_refuse(m, rec);
	m->next_seq = rec->seq + 1;
	mq_make_room(m, n->bytes);
	if (m->st.bytes + n->bytes > m->max_bytes) {
		/* Only records in flight are left: the new one cannot be kept. */
		free(n);
		return mq_refuse(m, rec);
	}
	n->prev = m->tail;
	if (m->tail)
		m->tail->next = n;
	else
		m->head = n;
	m->tail = n;
	if (!m->cursor)
		m->cursor = n;
	m->st.records++;
	m->st.bytes += n->bytes;
	m->st.pushed++;
	return IOCA_OK;
}

static int mq_next(struct ioca_queue *q, struct ioca_record *out)
{
	struct memqueue *m = mq_of(q);
	struct mq_node *n = m->cursor;
	if (!n)
		return IOCA_AGAIN;
	n->in_flight = true;
	m->st.in_flight++;
	m->cursor = n->next;
	*out = n->rec;
	return IOCA_OK;
}

static int mq_wait_ms(struct ioca_queue *q, int64_t now_mono_ms)
{
	(void)q;
	(void)now_mono_ms;
	return -1; /* never holds anything back */
}

static void mq_ack(struct ioca_queue *q, uint64_t seq)
{
	struct memqueue *m = mq_of(q);
	for (struct mq_node *n = m->head; n && n != m->cursor; n = n->next) {
		if (n->rec.seq == seq) {
			m->st.acked++;
			mq_unlink(m, n);
			return;
		}
		if (n->rec.seq > seq)
			return;
	}
}

static void mq_rewind(struct ioca_queue *q)
{
	struct memqueue *m = mq_of(q);
	for (struct mq_node *n = m->head; n && n != m->cursor; n = n->next)
		n->in_flight = false;
	m->st.in_flight = 0;
	m->cursor = m->head;
}

static void mq_tick(struct ioca_queue *q, int64_t now_mono_ms)
{
	(void)q;
	(void)now_mono_ms;
}

static int mq_flush(struct ioca_queue *q)
{
	(void)q;
	return IOCA_OK;
}

static void mq_stats(struct ioca_queue *q, struct ioca_queue_stats *out)
{
	struct memqueue *m = mq_of(q);
	*out = m->st;
	out->oldest_ms = m->head ? m->head->rec.accepted_ms : 0;
}

static void mq_close(struct ioca_queue *q)
{
	struct memqueue *m = mq_of(q);
	while (m->head) {
		struct mq_node *next = m->head->next;
		free(m->head);
		m->head = next;
	}
	free(m);
}

static const struct ioca_queue_ops memqueue_ops = {
    .next_seq = mq_next_seq,
    .push = mq_push,
    .next = mq_next,
    .wait_ms = mq_wait_ms,
    .ack = mq_ack,
    .rewind = mq_rewind,
    .tick = mq_tick,
    .flush = mq_flush,
    .stats = mq_stats,
    .close = mq_close,
};

struct ioca_queue *ioca_memqueue_new(uint64_t first_seq, uint64_t max_bytes)
{
	struct memqueue *m = calloc(1, sizeof(*m));
	if (!m)
		return NULL;
	m->base.ops = &memqueue_ops;
	m->next_seq = first_seq;
	m->max_bytes = max_bytes;
	return &m->base;
}
