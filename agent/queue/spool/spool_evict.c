/*
 * Fair eviction at spool.max_bytes, and which instance lost what.
 *
 * Every record on disk belongs to a holder: the instance named in it
 * (format 2) or holders[0], "unknown" (format 1). What each holder holds
 * (records not yet released, and their bytes) is counted in memory: built
 * by one pass over the segments the first time the bound is reached, then
 * kept up to date by push (held_add) and release (held_release).
 *
 * When a push takes the segments over max_bytes, the bytes to free are
 * shared out by water-filling: the holders holding the most are brought
 * down towards the next biggest until enough is freed. Each holder's share
 * is taken from its oldest records: the sealed segments are rewritten,
 * oldest first, without them (a temporary "<name>.rewrite" written, synced
 * per spool.fsync and renamed over the segment). A segment left without
 * records stays as a header, so segment ids stay consecutive and seq order
 * holds. Records delivered early (the live acks of spool_live.c) or acked
 * out of order before the last stop are released: not held, removed by any
 * rewrite (first by a pass before the shares are taken) and never counted
 * as dropped. Records in the window (handed out, ack pending, or to hand
 * out again) are never evicted, and the agent's own records (its drop
 * reports among them) only once no other holder has anything left to give.
 *
 * Invariant: after a rewrite, every window entry and the reader of that
 * segment point at the same records as before, at their new offsets.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "grow.h"
#include "spool_internal.h"

#define AGENT_INSTANCE      "_agent" /* the agent's own events */
#define REWRITE_SUFFIX      ".rewrite"
#define COPY_CHUNK_BYTES    (64u * 1024u)
#define MAX_EVICTION_ROUNDS 8

bool ioca_spool_evict_off;

/* ---- holders ----------------------------------------------------------- */

static bool holders_reserve(struct ioca_spool *s)
{
	struct ioca_spool_holder *all =
	    ioca_grow(s->holders, &s->capholders, s->nholders + 1, sizeof(*all), 8);
	if (!all)
		return false;
	s->holders = all;
	return true;
}

uint32_t ioca_spool_holder(struct ioca_spool *s, const char *name, size_t len)
{
	if (s->nholders == 0) {
		if (!holders_reserve(s))
			return IOCA_SPOOL_HOLDER_UNKNOWN;
		s->holders[0] = (struct ioca_spool_holder){0};
		s->nholders = 1;
	}
	if (!name || len == 0)
		return IOCA_SPOOL_HOLDER_UNKNOWN;
	for (size_t i = 1; i < s->nholders; i++) {
		const char *n = s->holders[i].name;
		if (strncmp(n, name, len) == 0 && n[len] == '\0')
			return (uint32_t)i;
	}
	char *dup = strndup(name, len);
	if (!dup || !holders_reserve(s)) {
		free(dup);
		return IOCA_SPOOL_HOLDER_UNKNOWN;
	}
	s->holders[s->nholders] = (struct ioca_spool_holder){.name = dup};
	return (uint32_t)s->nholders++;
}

void ioca_spool_held_add(struct ioca_spool *s, uint32_t h, uint64_t bytes)
{
	if (!s->holders_ready || h >= s->nholders)
		return;
	s->holders[h].records++;
	s->holders[h].bytes += bytes;
}

void ioca_spool_held_release(struct ioca_spool *s, uint32_t h, uint64_t bytes)
{
	if (!s->holders_ready || h >= s->nholders)
		return;
	struct ioca_spool_holder *o = &s->holders[h];
	o->records = o->records ? o->records - 1 : 0;
	o->bytes = o->bytes > bytes ? o->bytes - bytes : 0;
}

void ioca_spool_drop_note(struct ioca_spool *s, uint32_t h, uint64_t records)
{
	if (h < s->nholders)
		s->holders[h].dropped += records;
}

void ioca_spool_holders_free(struct ioca_spool *s)
{
	for (size_t i = 0; i < s->nholders; i++)
		free(s->holders[i].name);
	free(s->holders);
	s->holders = NULL;
	s->nholders = s->capholders = 0;
}

size_t ioca_spool_take_drop_table(struct ioca_spool *s, struct ioca_spool_instance_drops **out)
{
	*out = NULL;
	size_t n = 0;
	for (size_t i = 1; i < s->nholders; i++)
		if (s->holders[i].dropped != s->holders[i].dropped_reported)
			n++;
	if (n == 0)
		return 0;
	struct ioca_spool_instance_drops *t = malloc(n * sizeof(*t));
	if (!t)
		return 0; /* reported with the next one */
	size_t k = 0;
	for (size_t i = 1; i < s->nholders; i++) {
		struct ioca_spool_holder *o = &s->holders[i];
		if (o->dropped == o->dropped_reported)
			continue;
		t[k++] = (struct ioca_spool_instance_drops){
		    .instance = o->name, .records = o->dropped - o->dropped_reported};
		o->dropped_reported = o->dropped;
	}
	/* Names stay valid until close: holders are never removed. */
	*out = t;
	return k;
}

/* ---- reading segments ------------------------------------------------- */

/* Whether the record `seq` on disk is still held (not released): in the
 * window, or not yet read and acked neither before the last stop nor after
 * an early hand-out (spool_live.c: those are delivered, released at their
 * ack, and a rewrite may remove them). */
static bool is_held(struct ioca_spool *s, uint64_t seq)
{
	if (ioca_spool_win_find(s, seq))
		return true;
	return seq > s->rd_high_seq && !ioca_spool_seq_listed(s->pre_acked, s->n_pre_acked, seq) &&
	       !ioca_spool_live_done(s, seq);
}

static bool evictable(struct ioca_spool *s, uint64_t seq)
{
	return !ioca_spool_win_find(s, seq) && is_held(s, seq);
}

/* Delivered early, the reader not yet past it: removed by a rewrite for
 * free (released, not dropped). */
static bool released_early(struct ioca_spool *s, uint64_t seq)
{
	return seq > s->rd_high_seq && ioca_spool_live_done(s, seq);
}

/* Acked before the last stop, the reader not yet past it: counted done at
 * open, removed by a rewrite for free as well. */
static bool released_before(struct ioca_spool *s, uint64_t seq)
{
	return seq > s->rd_high_seq && ioca_spool_seq_listed(s->pre_acked, s->n_pre_acked, seq);
}

static bool any_released(const struct ioca_spool *s)
{
	return ioca_spool_live_any_done(s) ||
	       (s->n_pre_acked && s->pre_acked[s->n_pre_acked - 1] > s->rd_high_seq);
}

static int open_segment(struct ioca_spool *s, const struct ioca_spool_seg *g)
{
	char name[IOCA_SPOOL_SEG_NAME_LEN];
	ioca_spool_segment_name(g->id, name);
	return openat(s->dirfd, name, O_RDONLY | O_CLOEXEC);
}

typedef void (*record_fn)(struct ioca_spool *s, const struct ioca_spool_rec_view *v, void *arg);

/* Call fn for every valid record of g. IOCA_OK, or IOCA_ERROR when the file
 * could not be opened or read. */
static int for_each_record(struct ioca_spool *s, const struct ioca_spool_seg *g, record_fn fn,
			   void *arg)
{
	int fd = open_segment(s, g);
	if (fd < 0)
		return IOCA_ERROR;
	struct ioca_spool_reader rd;
	ioca_spool_reader_init(&rd, fd, g->size);
	uint64_t off = IOCA_SPOOL_SEG_HDR_BYTES, next, skipped;
	struct ioca_spool_rec_view v;
	int rc;
	while ((rc = ioca_spool_reader_read(&rd, off, &v, &next, &skipped)) == IOCA_OK) {
		fn(s, &v, arg);
		off = next;
	}
	ioca_spool_reader_free(&rd);
	close(fd);
	return rc == IOCA_ERROR ? IOCA_ERROR : IOCA_OK;
}

static uint32_t holder_of(struct ioca_spool *s, const struct ioca_spool_rec_view *v)
{
	return ioca_spool_holder(s, (const char *)v->instance, v->instance_len);
}

static void count_held(struct ioca_spool *s, const struct ioca_spool_rec_view *v, void *arg)
{
	(void)arg;
	if (!is_held(s, v->seq))
		return;
	uint32_t h = holder_of(s, v);
	struct ioca_spool_holder *o = &s->holders[h];
	o->records++;
	o->bytes += v->total_len;
}

/* Count what every holder holds, once: one pass over all segments. */
static bool build_holders(struct ioca_spool *s)
{
	if (s->holders_ready)
		return true;
	ioca_spool_holder(s, NULL, 0); /* holders[0] exists */
	if (s->nholders == 0)
		return false;
	for (size_t i = 0; i < s->nholders; i++)
		s->holders[i].records = s->holders[i].bytes = 0;
	for (size_t i = 0; i < s->nsegs; i++) {
		if (for_each_record(s, &s->segs[i], count_held, NULL) != IOCA_OK) {
			ioca_log_limited(&s->write_rl, IOCA_LL_WARNING,
					 "spool: %s: cannot read segment %zu to share out eviction",
					 s->dir, i);
			return false;
		}
	}
	s->holders_ready = true;
	return true;
}

/* ---- a whole segment dropped ------------------------------------------ */

static void forget_record(struct ioca_spool *s, const struct ioca_spool_rec_view *v, void *arg)
{
	struct ioca_spool_released *early = arg;
	if (released_early(s, v->seq)) {
		early->records++;
		early->bytes += v->total_len;
		return;
	}
	if (!is_held(s, v->seq))
		return;
	uint32_t h = holder_of(s, v);
	/* Records in flight stay in the window until their ack (not dropped);
	 * the others, those to hand out again included, go with the file. */
	struct ioca_spool_ent *e = ioca_spool_win_find(s, v->seq);
	if (!e || e->state == IOCA_SPOOL_ENT_PENDING)
		ioca_spool_drop_note(s, h, 1);
	ioca_spool_held_release(s, h, v->total_len);
}

void ioca_spool_forget_front(struct ioca_spool *s, struct ioca_spool_released *early)
{
	*early = (struct ioca_spool_released){0};
	if (s->nsegs == 0)
		return;
	if (for_each_record(s, &s->segs[0], forget_record, early) != IOCA_OK) {
		s->holders_ready = false;                 /* counted again at the next eviction */
		*early = (struct ioca_spool_released){0}; /* counted as dropped */
	}
}

/* ---- sharing out the bytes to free ------------------------------------ */

/* Per holder during one eviction: bytes still to take (quota) and whether
 * it has nothing evictable left. */
struct share {
	uint64_t quota;
	bool exhausted;
};

static bool is_agent(const struct ioca_spool_holder *o)
{
	return o->name && strcmp(o->name, AGENT_INSTANCE) == 0;
}

/* Bytes the holders in the running would give at water level L. */
static uint64_t given_at(const struct ioca_spool *s, size_t n, const bool *in, uint64_t level)
{
	uint64_t sum = 0;
	for (size_t i = 0; i < n; i++)
		if (in[i] && s->holders[i].bytes > level)
			sum += s->holders[i].bytes - level;
	return sum;
}

/* Water-filling: the highest level L at which the holders in the running
 * above L give `need` bytes; each one's quota is what it holds above L.
 * The agent's own records are in the running only when no other holder
 * is. Returns false when nobody is left. */
static bool share_out(struct ioca_spool *s, struct share *sh, size_t n, uint64_t need)
{
	bool *in = calloc(n, sizeof(*in));
	if (!in)
		return false;
	bool any = false;
	for (int pass = 0; pass < 2 && !any; pass++) {
		for (size_t i = 0; i < n; i++) {
			in[i] = !sh[i].exhausted && s->holders[i].bytes > 0 &&
				(pass == 1 || !is_agent(&s->holders[i]));
			any |= in[i];
		}
	}
	if (!any) {
		free(in);
		return false;
	}
	uint64_t lo = 0, hi = 0;
	for (size_t i = 0; i < n; i++)
		if (in[i] && s->holders[i].bytes > hi)
			hi = s->holders[i].bytes;
	/* given_at() falls as the level rises: find the highest level still
	 * giving need (0 when even everything is not enough). */
	while (lo < hi) {
		uint64_t mid = lo + (hi - lo + 1) / 2;
		if (given_at(s, n, in, mid) >= need)
			lo = mid;
		else
			hi = mid - 1;
	}
	for (size_t i = 0; i < n; i++)
		sh[i].quota = in[i] && s->holders[i].bytes > lo ? s->holders[i].bytes - lo : 0;
	free(in);
	return true;
}

/* ---- rewriting one segment without the evicted records ---------------- */

struct range {
	uint64_t off, len;
};

struct rewrite {
	struct ioca_spool_seg *g;
	struct share *sh;
	size_t nsh;
	int src;
	int tmp; /* -1 until the first record to evict */
	char tmpname[IOCA_SPOOL_SEG_NAME_LEN + sizeof(REWRITE_SUFFIX)];
	uint64_t out_off; /* bytes written to tmp */
	uint8_t *buf;     /* kept records not yet written */
	size_t buf_len, buf_cap;
	struct range *gone; /* evicted byte ranges of the original, ascending */
	size_t ngone, capgone;
	uint64_t *ev_records, *ev_bytes; /* per holder */
	uint64_t evicted, evicted_bytes;
	uint64_t released;                           /* delivered early: removed, not dropped */
	uint64_t released_done, released_done_bytes; /* acked before the stop */
	int64_t last_ms;
	bool kept_any;
	bool failed;
};

static int flush_buf(struct rewrite *w)
{
	if (w->buf_len == 0)
		return IOCA_OK;
	struct iovec iov = {.iov_base = w->buf, .iov_len = w->buf_len};
	if (ioca_spool_write_all(w->tmp, &iov, 1) != IOCA_OK)
		return IOCA_ERROR;
	w->buf_len = 0;
	return IOCA_OK;
}

static int append(struct rewrite *w, const uint8_t *p, size_t n)
{
	if (w->buf_len + n > w->buf_cap && flush_buf(w) != IOCA_OK)
		return IOCA_ERROR;
	if (n > w->buf_cap) {
		struct iovec iov = {.iov_base = (void *)p, .iov_len = n};
		if (ioca_spool_write_all(w->tmp, &iov, 1) != IOCA_OK)
			return IOCA_ERROR;
	} else {
		memcpy(w->buf + w->buf_len, p, n);
		w->buf_len += n;
	}
	w->out_off += n;
	return IOCA_OK;
}

/* Start the temporary file with the original's bytes [0, upto): the
 * header and the records before the first evicted one, all kept. */
static int start_tmp(struct ioca_spool *s, struct rewrite *w, uint64_t upto)
{
	w->buf_cap = COPY_CHUNK_BYTES * 4;
	w->buf = malloc(w->buf_cap);
	if (!w->buf)
		return IOCA_ERROR;
	if (ioca_spool_fail_writes_errno) {
		errno = ioca_spool_fail_writes_errno;
		return IOCA_ERROR;
	}
	w->tmp = openat(s->dirfd, w->tmpname, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
	if (w->tmp < 0)
		return IOCA_ERROR;
	uint8_t chunk[COPY_CHUNK_BYTES];
	for (uint64_t pos = 0; pos < upto;) {
		size_t want = upto - pos < sizeof(chunk) ? (size_t)(upto - pos) : sizeof(chunk);
		ssize_t n = pread(w->src, chunk, want, (off_t)pos);
		if (n <= 0) {
			if (n < 0 && errno == EINTR)
				continue;
			if (n == 0)
				errno = EIO;
			return IOCA_ERROR;
		}
		if (append(w, chunk, (size_t)n) != IOCA_OK)
			return IOCA_ERROR;
		pos += (uint64_t)n;
	}
	return IOCA_OK;
}

static bool note_gone(struct rewrite *w, uint64_t off, uint64_t len)
{
	if (w->ngone && w->gone[w->ngone - 1].off + w->gone[w->ngone - 1].len == off) {
		w->gone[w->ngone - 1].len += len;
		return true;
	}
	struct range *all = ioca_grow(w->gone, &w->capgone, w->ngone + 1, sizeof(*all), 64);
	if (!all)
		return false;
	w->gone = all;
	w->gone[w->ngone++] = (struct range){off, len};
	return true;
}

/* Where the byte at `off` of the original is in the rewritten file (a
 * record boundary; an evicted record's start maps to the next kept one). */
static uint64_t new_offset(const struct rewrite *w, uint64_t off)
{
	uint64_t shift = 0;
	for (size_t i = 0; i < w->ngone && w->gone[i].off < off; i++)
		shift += w->gone[i].len;
	return off - shift;
}

static void take_record(struct ioca_spool *s, struct rewrite *w,
			const struct ioca_spool_rec_view *v, uint64_t off)
{
	uint32_t h = holder_of(s, v);
	bool before = released_before(s, v->seq);
	bool released = before || released_early(s, v->seq);
	bool evict = !released && h < w->nsh && w->sh[h].quota > 0 && evictable(s, v->seq);
	if (evict || released) {
		if (w->tmp < 0 && start_tmp(s, w, off) != IOCA_OK) {
			w->failed = true;
			return;
		}
		if (!note_gone(w, off, v->total_len)) {
			w->failed = true;
			return;
		}
		if (before) {
			w->released_done++;
			w->released_done_bytes += v->total_len;
		} else if (released) {
			w->released++;
		}
		if (released)
			return;
		w->sh[h].quota = w->sh[h].quota > v->total_len ? w->sh[h].quota - v->total_len : 0;
		w->ev_records[h]++;
		w->ev_bytes[h] += v->total_len;
		w->evicted++;
		w->evicted_bytes += v->total_len;
		return;
	}
	w->kept_any = true;
	w->last_ms = v->accepted_ms;
	if (w->tmp >= 0 && append(w, v->raw, v->total_len) != IOCA_OK)
		w->failed = true;
}

/* Read g record by record, deciding for each. IOCA_OK, or IOCA_ERROR when
 * the segment cannot be read cleanly (damage: left as it is). */
static int rewrite_pass(struct ioca_spool *s, struct rewrite *w)
{
	struct ioca_spool_reader rd;
	ioca_spool_reader_init(&rd, w->src, w->g->size);
	uint64_t off = IOCA_SPOOL_SEG_HDR_BYTES, next, skipped;
	struct ioca_spool_rec_view v;
	int rc;
	while (!w->failed &&
	       (rc = ioca_spool_reader_read(&rd, off, &v, &next, &skipped)) == IOCA_OK) {
		if (skipped) {
			w->failed = true;
			break;
		}
		take_record(s, w, &v, off);
		off = next;
	}
	ioca_spool_reader_free(&rd);
	if (w->failed || rc == IOCA_ERROR || skipped || off != w->g->size)
		return IOCA_ERROR;
	return IOCA_OK;
}

/* The rewritten file replaces the segment: move the window entries and the
 * reader, count the drops. */
static void apply_rewrite(struct ioca_spool *s, struct rewrite *w, size_t idx)
{
	struct ioca_spool_seg *g = w->g;
	for (size_t i = 0; i < s->win_n; i++) {
		struct ioca_spool_ent *e = ioca_spool_win_at(s, i);
		if (e->seg_id == g->id)
			e->off = new_offset(w, e->off);
	}
	if (s->rseg == idx && s->roff > IOCA_SPOOL_SEG_HDR_BYTES)
		s->roff = new_offset(w, s->roff);
	if (s->rfd >= 0 && s->rseg_id == g->id) {
		close(s->rfd); /* the old file: reopened by name when next read */
		s->rfd = -1;
	}
	ioca_spool_live_forget_segment(s, g->id);
	uint64_t freed = g->size - w->out_off;
	g->size = w->out_off;
	g->records -= w->evicted + w->released + w->released_done;
	g->done -= w->released_done;
	g->bytes_done -= w->released_done_bytes;
	if (w->kept_any)
		g->last_ms = w->last_ms;
	s->disk_bytes -= freed;
	s->held_records -= w->evicted + w->released;
	s->dropped_records += w->evicted;
	s->dropped_bytes += w->evicted_bytes;
	for (size_t h = 0; h < w->nsh; h++) {
		if (!w->ev_records[h])
			continue;
		struct ioca_spool_holder *o = &s->holders[h];
		o->dropped += w->ev_records[h];
		o->records = o->records > w->ev_records[h] ? o->records - w->ev_records[h] : 0;
		o->bytes = o->bytes > w->ev_bytes[h] ? o->bytes - w->ev_bytes[h] : 0;
	}
}

/* Rewrite sealed segment segs[idx] without the records the shares ask
 * for. Returns the bytes freed (0 when nothing was evicted or it failed). */
static uint64_t rewrite_segment(struct ioca_spool *s, size_t idx, struct share *sh, size_t nsh)
{
	struct rewrite w = {.g = &s->segs[idx], .sh = sh, .nsh = nsh, .tmp = -1};
	char name[IOCA_SPOOL_SEG_NAME_LEN];
	ioca_spool_segment_name(w.g->id, name);
	snprintf(w.tmpname, sizeof(w.tmpname), "%s%s", name, REWRITE_SUFFIX);
	struct share *saved = malloc(nsh * sizeof(*saved));
	w.ev_records = calloc(nsh, sizeof(*w.ev_records));
	w.ev_bytes = calloc(nsh, sizeof(*w.ev_bytes));
	w.src = open_segment(s, w.g);
	uint64_t freed = 0;
	if (!saved || !w.ev_records || !w.ev_bytes || w.src < 0)
		goto out;
	memcpy(saved, sh, nsh * sizeof(*saved));
	bool sync = ioca_spool_sync_enabled(s);
	if (rewrite_pass(s, &w) != IOCA_OK || w.evicted + w.released + w.released_done == 0 ||
	    flush_buf(&w) != IOCA_OK || (sync && fdatasync(w.tmp) != 0)) {
		if (w.failed)
			ioca_log_limited(&s->write_rl, IOCA_LL_WARNING,
					 "spool: evict from %s/%s: %s: left as it is", s->dir, name,
					 strerror(errno));
		memcpy(sh, saved, nsh * sizeof(*saved)); /* nothing taken */
		goto out;
	}
	close(w.tmp);
	w.tmp = -1;
	if (renameat(s->dirfd, w.tmpname, s->dirfd, name) != 0) {
		ioca_log_limited(&s->write_rl, IOCA_LL_WARNING, "spool: rename %s/%s: %s", s->dir,
				 w.tmpname, strerror(errno));
		memcpy(sh, saved, nsh * sizeof(*saved));
		goto out;
	}
	if (sync)
		fsync(s->dirfd);
	freed = w.g->size - w.out_off;
	apply_rewrite(s, &w, idx);
out:
	if (w.tmp >= 0) {
		close(w.tmp);
		unlinkat(s->dirfd, w.tmpname, 0);
	}
	if (w.src >= 0)
		close(w.src);
	free(w.buf);
	free(w.gone);
	free(w.ev_records);
	free(w.ev_bytes);
	free(saved);
	return freed;
}

/* ---- eviction ---------------------------------------------------------- */

/* Delete front segments left with nothing held (all evicted or released)
 * that nothing in the window refers to: as delete_delivered() does once the
 * reader is past them. */
static void delete_empty_front(struct ioca_spool *s)
{
	while (s->nsegs > 1 && s->segs[0].sealed && s->segs[0].records == s->segs[0].done) {
		struct ioca_spool_seg *g = &s->segs[0];
		if (s->win_n && ioca_spool_win_at(s, 0)->seg_id <= g->id)
			return;
		if (ioca_spool_remove_segment_file(s, g->id) != IOCA_OK)
			return;
		if (s->rseg == 0)
			s->roff = IOCA_SPOOL_SEG_HDR_BYTES;
		else
			s->rseg--;
		s->disk_bytes -= g->size;
		memmove(&s->segs[0], &s->segs[1], (s->nsegs - 1) * sizeof(*s->segs));
		s->nsegs--;
	}
}

static bool quota_left(const struct share *sh, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (sh[i].quota)
			return true;
	return false;
}

uint64_t ioca_spool_evict(struct ioca_spool *s, uint64_t target)
{
	if (ioca_spool_evict_off || s->disk_bytes <= target || !build_holders(s))
		return 0;
	size_t nsh = s->nholders; /* holders added meanwhile give nothing this time */
	struct share *sh = calloc(nsh, sizeof(*sh));
	if (!sh)
		return 0;
	uint64_t freed = 0, records_before = s->dropped_records;
	/* First what was delivered (early, or before the stop) and is still on
	 * disk: freed without loss. */
	if (any_released(s)) {
		for (size_t i = 0; i < s->nsegs && s->disk_bytes > target; i++)
			if (s->segs[i].sealed && s->segs[i].records > 0)
				freed += rewrite_segment(s, i, sh, nsh);
		delete_empty_front(s);
	}
	for (int round = 0; round < MAX_EVICTION_ROUNDS && s->disk_bytes > target; round++) {
		if (!share_out(s, sh, nsh, s->disk_bytes - target))
			break;
		uint64_t freed_before = freed;
		for (size_t i = 0; i < s->nsegs && quota_left(sh, nsh); i++)
			if (s->segs[i].sealed && s->segs[i].records > s->segs[i].done)
				freed += rewrite_segment(s, i, sh, nsh);
		delete_empty_front(s);
		/* A holder whose share could not be met has nothing evictable
		 * left (in flight, in the active segment): the others give. */
		bool more = false;
		for (size_t i = 0; i < nsh; i++) {
			if (sh[i].quota) {
				sh[i].exhausted = true;
				sh[i].quota = 0;
				more = true;
			}
		}
		if (!more && freed == freed_before)
			break;
	}
	free(sh);
	if (s->dropped_records != records_before)
		ioca_log_limited(&s->write_rl, IOCA_LL_WARNING,
				 "spool: %s over spool.max_bytes: evicted %llu records of the "
				 "instances holding the most",
				 s->dir, (unsigned long long)(s->dropped_records - records_before));
	return freed;
}
