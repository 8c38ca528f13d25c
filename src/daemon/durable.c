/* SPDX-License-Identifier: MIT */
/* durable.c - the group commit of every part of the state. See durable.h. */
#include "daemon/durable.h"

#include <string.h>

#include "base/lb_err.h"
#include "base/log.h"
#include "io/loop.h"

void durable_init(struct durable *d, struct store *store)
{
	memset(d, 0, sizeof(*d));
	d->store = store;
	d->upkeep_since_ms = -1;
}

int durable_add(struct durable *d, durable_stage_fn stage, durable_due_fn due, void *arg)
{
	if (d->n_parts == DURABLE_MAX_PARTS) {
		log_error("durable", "more than %d parts of the state", DURABLE_MAX_PARTS);
		return LB_ERR_FULL;
	}
	d->part[d->n_parts].stage = stage;
	d->part[d->n_parts].due = due;
	d->part[d->n_parts].arg = arg;
	d->n_parts++;
	return LB_OK;
}

static int stage_parts(struct durable *d)
{
	for (size_t i = 0; i < d->n_parts; i++) {
		int rc = d->part[i].stage(d->part[i].arg);
		if (rc != LB_OK)
			return rc;
	}
	return LB_OK;
}

/* What a commit took, at debug level: an `up` waits for it (the latency
 * from arrival to publication is commit_ms plus this). */
static void log_commit(const struct durable *d, uint64_t batch, uint64_t rows, int64_t t0_us,
		       int64_t t1_us)
{
	log_debug("durable", "batch %llu: %llu writes staged in %lld us, committed in %lld us",
		  (unsigned long long)batch, (unsigned long long)rows, (long long)(t1_us - t0_us),
		  (long long)d->store->stats.last_commit_us);
}

/* Stage every part; a batch the store's redo log cannot hold (an outage's
 * or an overload's worth of events) is committed ahead, then the parts
 * stage the rest. Without that it could never commit: each retry would
 * find more to stage. */
static int stage_all(struct durable *d)
{
	int rc;

	while ((rc = stage_parts(d)) == LB_ERR_FULL && store_dirty(d->store)) {
		uint64_t writes = d->store->stats.rows_written;
		rc = store_commit_ahead(d->store);
		if (rc != LB_OK)
			return rc;
		d->split++;
		LB_LOG_RL(LOG_LVL_NOTICE, "durable", "batch %llu larger than the store's redo log: "
			  "%llu writes committed ahead, the rest follows",
			  (unsigned long long)store_batch(d->store),
			  (unsigned long long)(d->store->stats.rows_written - writes));
	}
	if (rc == LB_ERR_FULL)
		log_error("durable", "one write is larger than the store's redo log (%d bytes)",
			  STORE_LOG_MAX);
	return rc;
}

/* Staging that fails is a commit that fails (durable_failing()), whoever
 * stages: the group commit, or a join before it writes its own rows. */
int durable_stage(struct durable *d)
{
	int rc = stage_all(d);

	if (rc != LB_OK)
		d->failing = true;
	return rc;
}

/* wait: return once the batch is on the disk (store_commit()), else once
 * written, its sync completing off the loop (store_commit_nowait()). */
static int commit_at(struct durable *d, int64_t now_ms, bool wait)
{
	d->at_ms = now_ms;
	uint64_t batch = store_batch(d->store), rows = d->store->stats.rows_written;
	int64_t t0 = loop_now_us();
	int rc = durable_stage(d);
	if (rc != LB_OK) {
		d->failures++;
		return rc;
	}
	int64_t t1 = loop_now_us();
	rc = wait ? store_commit(d->store) : store_commit_nowait(d->store);
	if (rc != LB_OK) {
		d->failures++;
		d->failing = true;
		return rc;
	}
	d->failing = false;
	d->soon = false;   /* what was asked for is in this commit */
	if (store_batch(d->store) != batch)
		log_commit(d, batch, d->store->stats.rows_written - rows, t0, t1);
	return LB_OK;
}

int durable_commit(struct durable *d)
{
	return commit_at(d, loop_now_ms(), true);
}

int durable_commit_nowait(struct durable *d)
{
	return commit_at(d, loop_now_ms(), false);
}

int durable_flush(struct durable *d)
{
	d->flushing = true;
	int rc = durable_commit(d);
	d->flushing = false;
	return rc;
}

bool durable_flushing(const struct durable *d)
{
	return d->flushing;
}

int64_t durable_commit_ms(const struct durable *d)
{
	return d->at_ms;
}

void durable_commit_soon(struct durable *d)
{
	d->soon = true;
}

bool durable_failing(const struct durable *d)
{
	return d->failing;
}

/* The earliest deadline of the store and of every part, -1 if none (0 when
 * a commit was asked for). */
static int64_t next_due(const struct durable *d)
{
	if (d->soon)
		return 0;
	int64_t due = store_due_ms(d->store);

	for (size_t i = 0; i < d->n_parts; i++)
		due = loop_earliest(due, d->part[i].due(d->part[i].arg));
	return due;
}

int64_t durable_tick(struct durable *d, int64_t now_ms)
{
	int64_t due = next_due(d);

	if (due < 0)
		return due;
	if (d->retry_at_ms > due)
		due = d->retry_at_ms;
	if (now_ms < due)
		return due;
	/* A closing checkpoint pass: no batch opens until it ends (its end
	 * wakes the loop through the store's ring; store_ckpt.h). The loop
	 * goes on meanwhile. */
	if (store_checkpoint_closing(d->store))
		return now_ms + d->store->commit_ms;
	/* Staging opens or extends the store's batch: commit it now, not one
	 * more commit interval later. */
	if (commit_at(d, now_ms, false) != LB_OK) {
		d->retry_at_ms = now_ms + STORE_RETRY_MS;
		return d->retry_at_ms;
	}
	d->retry_at_ms = 0;
	/* A part may keep changes for later (budget.h): its deadline stands. */
	return next_due(d);
}

int64_t durable_upkeep(struct durable *d, int64_t now_ms, bool busy)
{
	if (!store_upkeep_due(d->store)) {
		d->upkeep_since_ms = -1;
		return -1;
	}
	if (d->upkeep_since_ms < 0)
		d->upkeep_since_ms = now_ms;
	/* A commit since the last call: this pass held the loop already. */
	if (d->upkeep_commits != d->store->stats.commits) {
		d->upkeep_commits = d->store->stats.commits;
		return now_ms;
	}
	int64_t by = d->upkeep_since_ms + d->store->commit_ms / 4;
	if (busy && now_ms < by)
		return by;
	if (!store_upkeep(d->store)) {
		d->upkeep_since_ms = -1;
		return -1;
	}
	d->upkeep_since_ms = now_ms;   /* the next step: in a pass of its own */
	return now_ms;
}

uint64_t durable_batch(const struct durable *d)
{
	return store_batch(d->store);
}

uint64_t durable_synced_below(const struct durable *d)
{
	return store_synced_below(d->store);
}

bool durable_committed(const struct durable *d, uint64_t batch)
{
	return store_committed(d->store, batch);
}
