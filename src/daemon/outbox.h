/* SPDX-License-Identifier: MIT */
/*
 * outbox.h - the events that must not be lost (every device `up` event, and
 * any event held for the group commit): kept durably from the commit of the
 * state they report until the broker acknowledged them.
 *
 * Life of an event:
 *   1. outbox_add() (publish.h's hold sink): numbered (seq, one order over
 *      every device), kept in memory with the batch its state is staged in.
 *      Beyond the size limit (mqtt.outbox_limit_mb) it is dropped instead:
 *      counted in stats.dropped_overflow and logged, rate-limited.
 *   2. The group commit (a part of durable.h) stages it in the store's
 *      outbox (store/store_outbox.h), packed with the other events of the
 *      batch into one row (up to STORE_OUTBOX_PACK_EVENTS events a row),
 *      after the mark of acknowledged events: event and FCnt become durable
 *      together. A full group of STORE_OUTBOX_PACK_EVENTS is staged as soon
 *      as it is there (into the same batch: the same rows), so a heavy
 *      load's staging is spread over the interval, not done in the
 *      commit's loop pass; not while the store waits for the batch to be
 *      closed to checkpoint (store_checkpoint_due()).
 *   3. Once that batch is committed, outbox_tick() moves the event into the
 *      cache, the in-memory queue of at most cache_limit (mqtt.queue_limit)
 *      events in seq order. When the cache is full, the event stays on disk
 *      only and is read back in seq order, OUTBOX_PAGE_ROWS per tick, as the
 *      cache drains: memory stays bounded however long the broker is away.
 *   4. outbox_tick() hands cached events to the sink in seq order while it
 *      has room (tracked publishes: io/mqtt.h).
 *   5. outbox_acked() marks it done (it no longer counts against the
 *      limit); once every event before it is done too (the cache is in seq
 *      order: the head), the mark of acknowledged events (acked_hi) moves
 *      to it and it is freed. The mark is staged (store_outbox_ack(): the
 *      store deletes the rows it covers whole) with the group commits the
 *      state makes anyway (a new uplink's FCnt); on its own it is due
 *      OUTBOX_DELETE_DELAY_MS after it first moved, or at once once it
 *      passed OUTBOX_DELETE_ROWS events while no new event waits for its
 *      commit (a backlog draining; under a flow of uplinks it goes with
 *      their commit, within state.commit_ms): the disk is never written
 *      once per message. outbox_returned() (the sink will not
 *      send it after all) makes it the next to be sent again.
 *
 * What survives what: at start-up the rows of the last run are published
 * first, in order (they have lower seqs than anything new), so each
 * device's events keep their order across restarts. After SIGTERM only
 * events still unacknowledged when the bridge gave up waiting are sent
 * again (the mark is committed on the way out); after a crash the events
 * in flight, those acknowledged after one still in flight, and those
 * acknowledged since the last commit (at most OUTBOX_DELETE_ROWS plus,
 * while uplinks arrive, one state.commit_ms' worth; at most
 * OUTBOX_DELETE_DELAY_MS' worth) are sent again: duplicates, as QoS 1
 * allows, never a loss. With QoS 0 there
 * is no acknowledgement: an event leaves the outbox once written to the
 * socket (mqtt.h), so a connection cut right after may lose it, as QoS 0
 * does anyway.
 *
 * Context: the store and the group commit (borrowed), the counters
 * (uplinks_published on acknowledgement, frame_drops[DROP_PUBLISH] for an
 * event the sink refuses for good) and the sink. Ownership: the outbox owns
 * the events it holds (copies) and the cache;
 * outbox_free() releases them (rows on disk stay for the next run).
 *
 * Errors: lb_err codes as listed; failures of the store are logged
 * (rate-limited) and retried, never lose a committed event.
 */
#ifndef LB_OUTBOX_H
#define LB_OUTBOX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "daemon/durable.h"
#include "daemon/stats.h"
#include "store/store.h"

/* Rows read back from the store per tick when the cache has room. */
#define OUTBOX_PAGE_ROWS 256
/* Events acknowledged since the mark was last staged that alone make a
 * commit due at once, and the delay after which it is due anyway. */
#define OUTBOX_DELETE_ROWS 1000
#define OUTBOX_DELETE_DELAY_MS 30000

/* Where cached events go (bridge.c: the MQTT client's tracked publishes). */
struct outbox_sink {
	/* How many events send() takes now; 0 when not connected. */
	size_t (*room)(void *arg);
	/* Send one event; its token comes back through outbox_acked() or
	 * outbox_returned(), possibly from inside this call. LB_OK; LB_ERR_INVAL
	 * when it can never be sent; another code: not sent, try later. */
	int (*send)(void *arg, const char *topic, const void *payload, size_t len, int qos,
		    uint64_t token);
	void *arg;
};

struct outbox_ctx {
	struct store *store;
	struct durable *durable;
	struct stats *stats;
	struct outbox_sink sink;
	/* Is the event on this topic an `up` (counted in uplinks_published when
	 * acknowledged; `ack` and `txack` are held here too)? Asked of events
	 * read back from the disk only; outbox_add() is told. NULL: all are. */
	bool (*is_uplink)(void *arg, const char *topic);
	void *is_uplink_arg;
};

struct outbox_opts {
	size_t cache_limit;              /* events in memory once committed, >= 1 */
	uint64_t limit_bytes;            /* store_outbox_row_bytes() summed */
	int commit_ms;                   /* state.commit_ms */
};

struct outbox_stats {
	uint64_t added;
	uint64_t acked;
	uint64_t dropped_overflow;       /* beyond limit_bytes: never published */
	uint64_t paged_in;               /* rows read back from the store */
};

struct outbox_msg;

/* Blocks of events sent and acknowledged, kept for the next ones: in steady
 * state holding an event allocates nothing. An event larger than a block
 * gets its own allocation. */
#define OUTBOX_POOL_BLOCK 2048           /* an `up` event with its topic fits */
#define OUTBOX_POOL_MAX 64               /* 128 KiB at most */

/* Fields are private to outbox.c; read stats, outbox_pending(), outbox_bytes(). */
struct outbox {
	struct outbox_ctx ctx;
	struct outbox_opts opts;
	/* waiting for their batch, in seq order; from `unstaged` on not staged */
	struct outbox_msg *held_head, *held_tail, *unstaged;
	size_t n_unstaged;               /* from `unstaged` on */
	bool early_off;                  /* no early staging until the commit */
	int64_t unstaged_since_ms;       /* oldest not committed; -1: none */
	/* the cache: a ring of committed events in seq order */
	struct outbox_msg **ring;
	size_t head, count;
	size_t next;                     /* from head: first that may still wait */
	bool feeding;                    /* inside the sink: acks only mark */
	/* seqs: rows in (loaded_hi, released_hi] are on disk only */
	uint64_t next_seq, released_hi, loaded_hi;
	/* the mark: every event up to acked_hi is done (acknowledged or
	 * refused for good); acked_staged: as last staged in the store */
	uint64_t acked_hi, acked_staged;
	uint64_t del_rows;               /* events the mark passed since */
	int64_t del_since_ms;            /* -1: acked_hi == acked_staged */
	int64_t retry_at_ms;             /* a failed read: not before */
	uint64_t rows, bytes;            /* not yet acknowledged, wherever they are */
	uint64_t n_held;                 /* of them, waiting for their batch */
	uint64_t residue;                /* committed ones waiting at the last release */
	struct outbox_stats stats;
	void *pool[OUTBOX_POOL_MAX];     /* free blocks of OUTBOX_POOL_BLOCK bytes */
	size_t n_pool;
};

/* Read what the last run left, register with the group commit. Errors:
 * LB_ERR_INVAL (cache_limit 0), LB_ERR_NOMEM, the store's (logged),
 * durable_add()'s. On error nothing needs freeing. */
int outbox_init(struct outbox *o, const struct outbox_ctx *ctx, const struct outbox_opts *opts);
void outbox_free(struct outbox *o);

/* A quiet bridge: free the blocks kept for reuse (up to 128 KiB); the
 * next events take them from malloc again. Returns the number freed. */
size_t outbox_release_pool(struct outbox *o);

/* Hold an event (copied) until batch `batch` is committed, then publish it.
 * Errors: LB_ERR_FULL (beyond the limit: counted and logged here),
 * LB_ERR_TOO_LARGE (topic or payload beyond the store's limits),
 * LB_ERR_INVAL, LB_ERR_NOMEM. up: an `up` event, counted in the stats'
 * uplinksPublished once acknowledged. */
int outbox_add(struct outbox *o, uint64_t batch, uint64_t dev_eui, const char *topic,
	       const void *payload, size_t len, int qos, bool up);

/* Release committed events, read rows back, send what the sink takes.
 * Returns the next deadline (monotonic ms; now when more rows wait to be
 * read) or -1. */
int64_t outbox_tick(struct outbox *o, int64_t now_ms);

/* The sink's reports (token = the event's seq). Unknown tokens are
 * ignored (logged at debug). */
void outbox_acked(struct outbox *o, uint64_t token);
void outbox_returned(struct outbox *o, uint64_t token);

/* Events not yet acknowledged (held, cached, on disk), and their bytes. */
uint64_t outbox_pending(const struct outbox *o);
uint64_t outbox_bytes(const struct outbox *o);
/* Of outbox_pending(), those committed: waiting for the broker alone. */
uint64_t outbox_backlog(const struct outbox *o);
/* Of outbox_pending(), those not on the disk: never staged, or their batch
 * not committed (a walk of the held events; for the shutdown's report). */
uint64_t outbox_unwritten(const struct outbox *o);
/* outbox_backlog() as it was when the last committed batch was released,
 * before adding it: what the broker had not taken since the batch before. */
uint64_t outbox_residue(const struct outbox *o);

#endif
