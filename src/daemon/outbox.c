/* SPDX-License-Identifier: MIT */
/*
 * outbox.c - durable events from the group commit to the broker's
 * acknowledgement: held list, staging (a part of the group commit), the
 * cache ring paged in from the store, the feed into the sink, and the
 * acknowledgements turned into staged deletions. See outbox.h.
 */
#include "daemon/outbox.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "base/lb_err.h"
#include "base/log.h"
#include "io/loop.h"

#define TAG "outbox"

enum msg_state { MSG_WAITING, MSG_INFLIGHT, MSG_ACKED };

/* One event; its payload and topic follow in the same allocation. */
struct outbox_msg {
	struct outbox_msg *next;         /* held list */
	uint64_t seq;
	uint64_t dev_eui;
	uint64_t batch;                  /* held: the batch that commits its row */
	uint64_t bytes;                  /* store_outbox_row_bytes() */
	const char *topic;
	const void *payload;
	size_t len;
	int qos;
	enum msg_state state;
	bool pooled;                     /* a block of OUTBOX_POOL_BLOCK bytes */
	bool up;                         /* an `up` event (counted when acknowledged) */
};

static struct outbox_msg *msg_new(struct outbox *o, uint64_t seq, uint64_t dev_eui,
				  const char *topic, const void *payload, size_t len, int qos)
{
	size_t tlen = strlen(topic) + 1;
	size_t need = sizeof(struct outbox_msg) + len + tlen;
	bool pooled = need <= OUTBOX_POOL_BLOCK;
	struct outbox_msg *m = !pooled ? malloc(need)
			       : o->n_pool > 0 ? o->pool[--o->n_pool] : malloc(OUTBOX_POOL_BLOCK);

	if (!m)
		return NULL;
	memset(m, 0, sizeof(*m));
	m->pooled = pooled;
	char *tail = (char *)(m + 1);
	if (len)
		memcpy(tail, payload, len);
	memcpy(tail + len, topic, tlen);
	m->payload = tail;
	m->topic = tail + len;
	m->len = len;
	m->seq = seq;
	m->dev_eui = dev_eui;
	m->qos = qos;
	m->bytes = store_outbox_row_bytes(tlen - 1, len);
	m->state = MSG_WAITING;
	return m;
}

/* Back to the pool when it is a block and the pool has room, else freed. */
static void msg_free(struct outbox *o, struct outbox_msg *m)
{
	if (m && m->pooled && o->n_pool < OUTBOX_POOL_MAX)
		o->pool[o->n_pool++] = m;
	else
		free(m);
}

/* ---- the cache ring ---------------------------------------------------- */

static struct outbox_msg *at(const struct outbox *o, size_t i)
{
	return o->ring[(o->head + i) % o->opts.cache_limit];
}

static size_t cache_room(const struct outbox *o)
{
	return o->opts.cache_limit - o->count;
}

static void cache_push(struct outbox *o, struct outbox_msg *m)
{
	o->ring[(o->head + o->count) % o->opts.cache_limit] = m;
	o->count++;
	o->loaded_hi = m->seq;
}

/* Index of the cached event seq (the ring is in seq order), or -1. */
static long cache_find(const struct outbox *o, uint64_t seq)
{
	size_t lo = 0, hi = o->count;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		uint64_t s = at(o, mid)->seq;
		if (s == seq)
			return (long)mid;
		if (s < seq)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

/* The event at the head is done, and so every one before it: the mark
 * moves to it (outbox.h, step 5). */
static void mark_done(struct outbox *o, uint64_t seq)
{
	if (o->acked_hi == o->acked_staged)
		o->del_since_ms = loop_now_ms();
	o->acked_hi = seq;
	o->del_rows++;
}

/* Free acknowledged events at the head (not while feeding: indexes hold). */
static void reap(struct outbox *o)
{
	while (!o->feeding && o->count > 0 && at(o, 0)->state == MSG_ACKED) {
		mark_done(o, at(o, 0)->seq);
		msg_free(o, o->ring[o->head]);
		o->ring[o->head] = NULL;
		o->head = (o->head + 1) % o->opts.cache_limit;
		o->count--;
		if (o->next > 0)
			o->next--;
	}
}

/* The event will not be published (acknowledged, or refused for good): it
 * no longer counts against the limit; it is done for the store once every
 * event before it is too (reap()). */
static void settle(struct outbox *o, struct outbox_msg *m)
{
	m->state = MSG_ACKED;
	o->rows--;
	o->bytes -= m->bytes;
}

/* ---- the group commit part ------------------------------------------------ */

/* Stage up to STORE_OUTBOX_PACK_EVENTS events from o->unstaged with one
 * call (the store packs them into as few rows as their size allows). */
static int stage_group(struct outbox *o)
{
	struct store_outbox_row rows[STORE_OUTBOX_PACK_EVENTS];
	struct outbox_msg *m = o->unstaged;
	size_t n = 0, staged = 0;

	for (; m && n < STORE_OUTBOX_PACK_EVENTS; m = m->next, n++)
		rows[n] = (struct store_outbox_row){.seq = m->seq, .dev_eui = m->dev_eui,
						    .qos = m->qos, .topic = m->topic,
						    .payload = m->payload, .len = m->len};
	int rc = store_outbox_add_many(o->ctx.store, rows, n, &staged);
	o->n_unstaged -= staged;
	/* Released once the batch holding the row commits, whichever. */
	for (m = o->unstaged; staged > 0; m = m->next, staged--)
		m->batch = durable_batch(o->ctx.durable);
	o->unstaged = m;
	if (rc != LB_OK && rc != LB_ERR_FULL)   /* full: committed ahead, durable.h */
		LB_LOG_RL(LOG_LVL_ERROR, TAG, "event %" PRIu64 " not staged (%s): the batch "
			  "waits for it", m->seq, lb_strerror(rc));
	return rc;
}

static int stage_rows(struct outbox *o)
{
	while (o->unstaged) {
		int rc = stage_group(o);
		if (rc != LB_OK)
			return rc;
	}
	o->unstaged_since_ms = -1;
	o->early_off = false;
	return LB_OK;
}

/* A full group of events is staged as soon as it is there, into the batch
 * the group commit will commit (outbox.h, step 2): the rows are the same
 * as if staged at the commit, and the work is spread over the interval
 * instead of holding the loop at the commit (at 40,000 events a second,
 * 30 ms of staging in one pass; UDP datagrams wait meanwhile). A failure
 * leaves the events to the commit's staging, which retries and reports
 * it; none is tried early again before then. Nor while the store waits
 * for the batch to be closed to checkpoint its WAL (store_gen.h, UPKEEP). */
static void stage_early(struct outbox *o)
{
	if (o->early_off || o->n_unstaged < STORE_OUTBOX_PACK_EVENTS ||
	    store_checkpoint_due(o->ctx.store))
		return;
	if (stage_group(o) != LB_OK)
		o->early_off = true;
}

/* The mark, with the deletion of the rows it covers whole. */
static int stage_mark(struct outbox *o)
{
	if (o->acked_hi == o->acked_staged)
		return LB_OK;
	int rc = store_outbox_ack(o->ctx.store, o->acked_hi);
	if (rc != LB_OK) {
		if (rc != LB_ERR_FULL)   /* full: committed ahead, durable.h */
			LB_LOG_RL(LOG_LVL_ERROR, TAG, "acknowledgements up to #%" PRIu64 " not "
				  "staged (%s): retried", o->acked_hi, lb_strerror(rc));
		return rc;
	}
	o->acked_staged = o->acked_hi;
	o->del_rows = 0;
	o->del_since_ms = -1;
	return LB_OK;
}

/* The mark first: the pages its deletions free are reused by the new rows
 * of the same transaction instead of new pages being added to the file
 * (fewer pages written to the WAL; the rows are distinct either way). */
static int stage_all(void *arg)
{
	struct outbox *o = arg;
	int rc = stage_mark(o);

	return rc != LB_OK ? rc : stage_rows(o);
}

/* New rows are due with the state they belong to. Deletions ride along
 * with the commits the state makes anyway; on their own they are due after
 * OUTBOX_DELETE_DELAY_MS, or at once when OUTBOX_DELETE_ROWS wait and no
 * new event is waiting for its commit (a backlog draining while no uplink
 * arrives), which bounds what a crash can make us send twice. While new
 * events arrive, the mark waits for their commit, due within commit_ms: a
 * flow of 40,000 events a second would otherwise commit every 25 ms, each
 * commit a transaction on the loop and an fdatasync (README "What an
 * uplink costs"). */
static int64_t due_ms(void *arg)
{
	struct outbox *o = arg;
	int64_t due = -1, del = -1;

	if (o->unstaged_since_ms >= 0)
		due = o->unstaged_since_ms + o->opts.commit_ms;
	if (o->del_since_ms >= 0)
		del = o->del_rows >= OUTBOX_DELETE_ROWS && due < 0
			      ? o->del_since_ms
			      : o->del_since_ms + OUTBOX_DELETE_DELAY_MS;
	if (del >= 0 && (due < 0 || del < due))
		due = del;
	return due;
}

/* ---- set-up ---------------------------------------------------------------- */

static int read_usage(struct outbox *o)
{
	struct store_outbox_usage u;
	int rc = store_outbox_usage(o->ctx.store, &u);

	if (rc != LB_OK) {
		log_error(TAG, "the outbox in the state directory cannot be read: %s",
			  lb_strerror(rc));
		return rc;
	}
	o->rows = u.rows;
	o->bytes = u.bytes;
	/* Numbering goes on above the mark even when every row is gone: an
	 * event numbered at or below it would be skipped after a restart. */
	o->acked_hi = o->acked_staged = u.acked;
	o->loaded_hi = u.acked;
	o->released_hi = u.last_seq > u.acked ? u.last_seq : u.acked;
	o->next_seq = o->released_hi + 1;
	if (u.rows > 0)
		log_notice(TAG, "%" PRIu64 " event(s) (%" PRIu64 " KiB) left by the last run: "
			   "published first, in order", u.rows, (u.bytes + 1023) / 1024);
	return LB_OK;
}

int outbox_init(struct outbox *o, const struct outbox_ctx *ctx, const struct outbox_opts *opts)
{
	memset(o, 0, sizeof(*o));
	if (opts->cache_limit == 0)
		return LB_ERR_INVAL;
	/* A batch committed in pieces must have events before the counters
	 * they report (durable.h): the outbox is staged first. */
	if (ctx->durable->n_parts != 0) {
		log_error(TAG, "the outbox must be the first part of the group commit");
		return LB_ERR_STATE;
	}
	o->ctx = *ctx;
	o->opts = *opts;
	o->unstaged_since_ms = -1;
	o->del_since_ms = -1;
	int rc = read_usage(o);
	if (rc != LB_OK)
		return rc;
	o->ring = calloc(opts->cache_limit, sizeof(*o->ring));
	if (!o->ring)
		return LB_ERR_NOMEM;
	rc = durable_add(ctx->durable, stage_all, due_ms, o);
	if (rc != LB_OK)
		outbox_free(o);
	return rc;
}

size_t outbox_release_pool(struct outbox *o)
{
	size_t n = o->n_pool;

	while (o->n_pool > 0)
		free(o->pool[--o->n_pool]);
	return n;
}

void outbox_free(struct outbox *o)
{
	while (o->held_head) {
		struct outbox_msg *m = o->held_head;
		o->held_head = m->next;
		free(m);
	}
	for (size_t i = 0; o->ring && i < o->count; i++)
		free(at(o, i));
	outbox_release_pool(o);
	free(o->ring);
	memset(o, 0, sizeof(*o));
}

/* ---- adding ---------------------------------------------------------------- */

static int refuse_overflow(struct outbox *o, uint64_t dev_eui, uint64_t bytes)
{
	o->stats.dropped_overflow++;
	LB_LOG_RL(LOG_LVL_WARN, TAG, "outbox full (%" PRIu64 " events, %" PRIu64 " of %" PRIu64
		  " bytes; mqtt.outbox_limit_mb): an event of device %016" PRIx64 " (%" PRIu64
		  " bytes) dropped, %" PRIu64 " so far", o->rows, o->bytes, o->opts.limit_bytes,
		  dev_eui, bytes, o->stats.dropped_overflow);
	return LB_ERR_FULL;
}

int outbox_add(struct outbox *o, uint64_t batch, uint64_t dev_eui, const char *topic,
	       const void *payload, size_t len, int qos, bool up)
{
	if (!topic || !topic[0] || (len && !payload) || qos < 0 || qos > 2)
		return LB_ERR_INVAL;
	size_t tlen = strlen(topic);
	if (tlen >= STORE_OUTBOX_TOPIC_MAX || len > STORE_OUTBOX_PAYLOAD_MAX)
		return LB_ERR_TOO_LARGE;
	uint64_t bytes = store_outbox_row_bytes(tlen, len);
	if (o->bytes + bytes > o->opts.limit_bytes)
		return refuse_overflow(o, dev_eui, bytes);
	struct outbox_msg *m = msg_new(o, o->next_seq, dev_eui, topic, payload, len, qos);
	if (!m)
		return LB_ERR_NOMEM;
	o->next_seq++;
	m->batch = batch;
	m->up = up;
	if (o->held_tail)
		o->held_tail->next = m;
	else
		o->held_head = m;
	o->held_tail = m;
	if (!o->unstaged)
		o->unstaged = m;
	if (o->unstaged_since_ms < 0)
		o->unstaged_since_ms = loop_now_ms();
	o->n_unstaged++;
	o->n_held++;
	o->rows++;
	o->bytes += bytes;
	o->stats.added++;
	stage_early(o);
	return LB_OK;
}

/* ---- from held to the cache, from the store to the cache ------------------- */

/* Events whose row is committed move on: into the cache while nothing
 * older waits on disk only and there is room, else they stay on disk. */
static void release(struct outbox *o)
{
	uint64_t before = o->rows - o->n_held;
	size_t n = 0;

	for (; o->held_head && o->held_head != o->unstaged &&
	       durable_committed(o->ctx.durable, o->held_head->batch); n++) {
		struct outbox_msg *m = o->held_head;
		bool spilled = o->loaded_hi < o->released_hi;
		o->held_head = m->next;
		if (!o->held_head)
			o->held_tail = NULL;
		m->next = NULL;
		o->n_held--;
		o->released_hi = m->seq;
		if (!spilled && cache_room(o) > 0)
			cache_push(o, m);
		else
			msg_free(o, m);
	}
	if (n == 0)
		return;
	o->residue = before;
	log_debug(TAG, "events up to #%" PRIu64 " committed; %" PRIu64 " waiting for the "
		  "broker, %zu in memory", o->released_hi, o->rows, o->count);
}

static int page_cb(void *arg, const struct store_outbox_row *row)
{
	struct outbox *o = arg;
	struct outbox_msg *m = msg_new(o, row->seq, row->dev_eui, row->topic, row->payload,
				       row->len, row->qos);

	if (!m)
		return LB_ERR_NOMEM;
	/* The disk keeps no kind: told from the topic, as it was given. */
	m->up = !o->ctx.is_uplink || o->ctx.is_uplink(o->ctx.is_uplink_arg, m->topic);
	cache_push(o, m);
	o->stats.paged_in++;
	return LB_OK;
}

/* Read rows on disk only back into the cache, a page at a time, once the
 * cache has room for a page (or for half of itself, if smaller). Returns
 * whether a page was read and more rows wait: read on at the next tick. */
static bool page_in(struct outbox *o, int64_t now_ms)
{
	size_t page = o->opts.cache_limit < 2 * OUTBOX_PAGE_ROWS ? (o->opts.cache_limit + 1) / 2
								   : OUTBOX_PAGE_ROWS;
	size_t n = 0;

	if (o->loaded_hi >= o->released_hi || cache_room(o) < page || now_ms < o->retry_at_ms)
		return false;
	int rc = store_outbox_page(o->ctx.store, o->loaded_hi, o->released_hi, page, page_cb, o,
				   &n);
	if (rc != LB_OK) {
		LB_LOG_RL(LOG_LVL_ERROR, TAG, "outbox rows after %" PRIu64 " not read (%s): "
			  "retried", o->loaded_hi, lb_strerror(rc));
		o->retry_at_ms = now_ms + STORE_RETRY_MS;
		return false;
	}
	if (n < page)   /* nothing else on disk up to released_hi */
		o->loaded_hi = o->released_hi;
	log_debug(TAG, "%zu event(s) read back from the store, up to #%" PRIu64 "; %zu in memory",
		  n, o->loaded_hi, o->count);
	return o->loaded_hi < o->released_hi;
}

/* ---- to the sink ------------------------------------------------------------ */

/* An event the sink refuses for good is counted and its row deleted. */
static void refused(struct outbox *o, struct outbox_msg *m)
{
	o->ctx.stats->frame_drops[DROP_PUBLISH]++;
	LB_LOG_RL(LOG_LVL_ERROR, TAG, "event %" PRIu64 " on %s (%zu bytes) refused by the MQTT "
		  "client: dropped", m->seq, m->topic, m->len);
	settle(o, m);
}

/* Send waiting events in seq order while the sink has room. */
static void feed(struct outbox *o)
{
	o->feeding = true;
	while (o->next < o->count && o->ctx.sink.room(o->ctx.sink.arg) > 0) {
		size_t i = o->next++;
		struct outbox_msg *m = at(o, i);
		if (m->state != MSG_WAITING)
			continue;
		m->state = MSG_INFLIGHT;
		int rc = o->ctx.sink.send(o->ctx.sink.arg, m->topic, m->payload, m->len, m->qos,
					  m->seq);
		if (rc == LB_OK)
			continue;
		if (rc == LB_ERR_INVAL) {
			refused(o, m);
			continue;
		}
		if (m->state == MSG_INFLIGHT)   /* not reported meanwhile */
			m->state = MSG_WAITING;
		if (o->next > i)
			o->next = i;
		break;
	}
	o->feeding = false;
	reap(o);
}

int64_t outbox_tick(struct outbox *o, int64_t now_ms)
{
	release(o);
	bool more = page_in(o, now_ms);
	feed(o);
	if (more)
		return now_ms;
	return o->loaded_hi < o->released_hi && o->retry_at_ms > now_ms ? o->retry_at_ms : -1;
}

/* ---- reports ------------------------------------------------------------------ */

void outbox_acked(struct outbox *o, uint64_t token)
{
	long i = cache_find(o, token);

	if (i < 0 || at(o, (size_t)i)->state == MSG_ACKED) {
		log_debug(TAG, "acknowledgement of unknown event %" PRIu64, token);
		return;
	}
	struct outbox_msg *m = at(o, (size_t)i);
	if (m->up)
		o->ctx.stats->uplinks_published++;
	settle(o, m);
	o->stats.acked++;
	reap(o);
}

void outbox_returned(struct outbox *o, uint64_t token)
{
	long i = cache_find(o, token);

	if (i < 0 || at(o, (size_t)i)->state != MSG_INFLIGHT) {
		log_debug(TAG, "return of unknown event %" PRIu64, token);
		return;
	}
	at(o, (size_t)i)->state = MSG_WAITING;
	if (o->next > (size_t)i)
		o->next = (size_t)i;
}

uint64_t outbox_pending(const struct outbox *o)
{
	return o->rows;
}

uint64_t outbox_bytes(const struct outbox *o)
{
	return o->bytes;
}

uint64_t outbox_backlog(const struct outbox *o)
{
	return o->rows - o->n_held;
}

uint64_t outbox_unwritten(const struct outbox *o)
{
	uint64_t n = 0;
	bool unstaged = false;

	/* As release() sees them: from o->unstaged on nothing was staged; before
	 * it, an event is on the disk once its batch is committed. */
	for (const struct outbox_msg *m = o->held_head; m; m = m->next) {
		unstaged = unstaged || m == o->unstaged;
		n += unstaged || !durable_committed(o->ctx.durable, m->batch);
	}
	return n;
}

uint64_t outbox_residue(const struct outbox *o)
{
	return o->residue;
}
