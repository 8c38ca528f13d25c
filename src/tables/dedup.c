/* SPDX-License-Identifier: MIT */
/*
 * dedup.c - uplink de-duplication by PHYPayload. See dedup.h for the rules.
 *
 * Two tables, both allocated once:
 *   open groups   pool of max_open slots; a FIFO of open groups in arrival
 *                 order (which is also deadline order, the window being
 *                 constant), a LIFO stack of free slots, and a chained hash
 *                 index keyed by the payload hash;
 *   seen frames   a ring of emitted frames in emission order (which is also
 *                 expiry order), with its own chained hash index.
 * Chains use slot indices; DEDUP_NIL ends a chain.
 */
#include "tables/dedup.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "base/lb_err.h"

#define DEDUP_NIL UINT32_MAX
#define DEDUP_HARD_MAX_OPEN (1u << 20)
#define KEEP_SLOTS 64                  /* slots kept resident after a burst */
#define HASH_SEED UINT64_C(0x243F6A8885A308D3)
#define FIB64 UINT64_C(0x9E3779B97F4A7C15)
#define MIX64 UINT64_C(0xbf58476d1ce4e5b9)

/* Word-at-a-time multiplicative hash of the payload (not cryptographic:
 * a collision only costs a memcmp for open groups; see dedup.h for the
 * emitted-frame memory). */
static uint64_t hash_bytes(const uint8_t *p, size_t n)
{
	uint64_t h = HASH_SEED ^ ((uint64_t)n * FIB64);
	uint64_t w;

	while (n >= 8) {
		memcpy(&w, p, 8);
		h = (h ^ w) * FIB64;
		h ^= h >> 32;
		p += 8;
		n -= 8;
	}
	w = 0;
	memcpy(&w, p, n);
	h = (h ^ w) * FIB64;
	h ^= h >> 29;
	h *= MIX64;
	h ^= h >> 32;
	return h;
}

static uint32_t bucket(uint64_t h, unsigned bits)
{
	return (uint32_t)((h * FIB64) >> (64 - bits));
}

/* Buckets: the power of two >= n (at least 2). */
static uint32_t *alloc_buckets(size_t n, unsigned *bits)
{
	size_t nb = 2;
	uint32_t *b;

	*bits = 1;
	while (nb < n) {
		nb <<= 1;
		(*bits)++;
	}
	b = malloc(nb * sizeof(*b));
	if (b) {
		for (size_t i = 0; i < nb; i++)
			b[i] = DEDUP_NIL;
	}
	return b;
}

int dedup_init(struct dedup *d, int window_ms, size_t max_open)
{
	if (!d)
		return LB_ERR_INVAL;
	memset(d, 0, sizeof(*d));
	if (window_ms < 0 || window_ms > DEDUP_MAX_WINDOW_MS || max_open == 0 ||
	    max_open > DEDUP_HARD_MAX_OPEN)
		return LB_ERR_RANGE;
	d->window_ms = window_ms;
	d->retention_ms = (int64_t)window_ms + DEDUP_RETENTION_AFTER_WINDOW_MS;
	if (d->retention_ms < DEDUP_MIN_RETENTION_MS)
		d->retention_ms = DEDUP_MIN_RETENTION_MS;
	d->max_open = max_open;
	d->seen_cap = max_open * DEDUP_SEEN_PER_OPEN;
	/* calloc: pages are only touched as slots get used (LIFO reuse). */
	d->pool = calloc(max_open, sizeof(*d->pool));
	d->seen = calloc(d->seen_cap, sizeof(*d->seen));
	d->open_buckets = alloc_buckets(max_open, &d->open_bits);
	d->seen_buckets = alloc_buckets(d->seen_cap, &d->seen_bits);
	if (!d->pool || !d->seen || !d->open_buckets || !d->seen_buckets) {
		dedup_free(d);
		return LB_ERR_NOMEM;
	}
	/* The free stack starts empty and slots never used are taken in
	 * order after it, so no page of the pool is touched before use. */
	d->free_top = DEDUP_NIL;
	d->fresh = 0;
	d->q_head = d->q_tail = DEDUP_NIL;
	return LB_OK;
}

void dedup_free(struct dedup *d)
{
	if (!d)
		return;
	free(d->pool);
	free(d->seen);
	free(d->open_buckets);
	free(d->seen_buckets);
	memset(d, 0, sizeof(*d));
}

size_t dedup_open_count(const struct dedup *d)
{
	return d->n_open;
}

/* ------------------------------------------------------- emitted frames */

static void seen_unlink(struct dedup *d, uint32_t slot)
{
	uint32_t *p = &d->seen_buckets[bucket(d->seen[slot].hash, d->seen_bits)];

	while (*p != slot)
		p = &d->seen[*p].hnext;
	*p = d->seen[slot].hnext;
}

static void seen_pop(struct dedup *d)
{
	seen_unlink(d, (uint32_t)d->seen_head);
	d->seen_head = (d->seen_head + 1) % d->seen_cap;
	d->n_seen--;
}

static void seen_expire(struct dedup *d, int64_t now_ms)
{
	while (d->n_seen > 0 && d->seen[d->seen_head].expires_ms <= now_ms)
		seen_pop(d);
}

static void seen_add(struct dedup *d, const struct dedup_group *g)
{
	uint32_t slot, b;

	if (d->n_seen == d->seen_cap) {
		seen_pop(d);
		d->seen_evicted++;
	}
	slot = (uint32_t)((d->seen_head + d->n_seen) % d->seen_cap);
	b = bucket(g->hash, d->seen_bits);
	d->seen[slot] = (struct dedup_seen){.hash = g->hash, .len = (uint16_t)g->phy_len,
					    .expires_ms = g->first_ms + d->retention_ms,
					    .hnext = d->seen_buckets[b]};
	d->seen_buckets[b] = slot;
	d->n_seen++;
}

static bool seen_find(const struct dedup *d, uint64_t h, size_t len, int64_t now_ms)
{
	for (uint32_t i = d->seen_buckets[bucket(h, d->seen_bits)]; i != DEDUP_NIL;
	     i = d->seen[i].hnext) {
		const struct dedup_seen *s = &d->seen[i];
		if (s->hash == h && s->len == len && s->expires_ms > now_ms)
			return true;
	}
	return false;
}

/* ---------------------------------------------------------- open groups */

static struct dedup_group *open_find(struct dedup *d, uint64_t h, const uint8_t *phy, size_t len)
{
	for (uint32_t i = d->open_buckets[bucket(h, d->open_bits)]; i != DEDUP_NIL;
	     i = d->pool[i].hnext) {
		struct dedup_group *g = &d->pool[i];
		if (g->hash == h && g->phy_len == len && memcmp(g->phy, phy, len) == 0)
			return g;
	}
	return NULL;
}

static void open_unlink(struct dedup *d, uint32_t slot)
{
	uint32_t *p = &d->open_buckets[bucket(d->pool[slot].hash, d->open_bits)];

	while (*p != slot)
		p = &d->pool[*p].hnext;
	*p = d->pool[slot].hnext;
}

/* Take the oldest open group out, remember it as seen, hand it to emit,
 * then return its slot to the free stack. */
static void emit_head(struct dedup *d, dedup_emit_fn emit, void *arg)
{
	uint32_t slot = d->q_head;
	struct dedup_group *g = &d->pool[slot];

	d->q_head = g->qnext;
	if (d->q_head == DEDUP_NIL)
		d->q_tail = DEDUP_NIL;
	d->n_open--;
	open_unlink(d, slot);
	seen_add(d, g);
	d->emitted++;
	g->due_ms = g->first_ms + d->window_ms;
	if (emit)
		emit(arg, g);
	g->qnext = d->free_top;
	d->free_top = slot;
}

/* A free slot: the last one returned (its memory is warm), else one never
 * used; DEDUP_NIL when all are open. */
static uint32_t take_slot(struct dedup *d)
{
	uint32_t slot = d->free_top;

	if (slot != DEDUP_NIL) {
		d->free_top = d->pool[slot].qnext;
		return slot;
	}
	if (d->fresh < d->max_open)
		return d->fresh++;
	return DEDUP_NIL;
}

static bool slot_free(const struct dedup *d)
{
	return d->free_top != DEDUP_NIL || d->fresh < d->max_open;
}

/* Needs a free slot (slot_free). */
static struct dedup_group *open_new(struct dedup *d, uint64_t h, const struct lb_rx *rx,
				    size_t len, int64_t now_ms)
{
	uint32_t slot = take_slot(d);
	struct dedup_group *g = &d->pool[slot];
	uint32_t b = bucket(h, d->open_bits);

	memcpy(g->phy, rx->rxpk.data, len);
	g->phy_len = len;
	g->rx[0] = *rx;
	g->n_rx = 1;
	g->first_ms = now_ms;
	g->hash = h;
	g->hnext = d->open_buckets[b];
	d->open_buckets[b] = slot;
	g->qnext = DEDUP_NIL;
	if (d->q_tail == DEDUP_NIL)
		d->q_head = slot;
	else
		d->pool[d->q_tail].qnext = slot;
	d->q_tail = slot;
	d->n_open++;
	return g;
}

/* Signal quality order: SNR first (absent = worst), then RSSI. */
static bool rx_better(const struct lb_rx *a, const struct lb_rx *b)
{
	const struct gwmp_rxpk *x = &a->rxpk, *y = &b->rxpk;

	if (x->has_lsnr != y->has_lsnr)
		return x->has_lsnr;
	if (x->has_lsnr && x->lsnr != y->lsnr)
		return x->lsnr > y->lsnr;
	if (x->has_rssi != y->has_rssi)
		return x->has_rssi;
	return x->has_rssi && x->rssi > y->rssi;
}

static void group_merge(struct dedup *d, struct dedup_group *g, const struct lb_rx *rx)
{
	size_t worst = 1;

	if (g->n_rx < DEDUP_MAX_RX) {
		g->rx[g->n_rx++] = *rx;
		return;
	}
	d->rx_overflow++;
	/* rx[0] stays the first copy; the weakest of the others may go. */
	for (size_t i = 2; i < DEDUP_MAX_RX; i++) {
		if (rx_better(&g->rx[worst], &g->rx[i]))
			worst = i;
	}
	if (rx_better(rx, &g->rx[worst]))
		g->rx[worst] = *rx;
}

enum dedup_result dedup_add(struct dedup *d, const struct lb_rx *rx, int64_t now_ms,
			    dedup_emit_fn emit, void *arg)
{
	size_t len = rx->rxpk.size <= GWMP_MAX_PHY ? rx->rxpk.size : GWMP_MAX_PHY;
	uint64_t h = hash_bytes(rx->rxpk.data, len);
	struct dedup_group *g;

	if (!d->pool)            /* not initialised: nothing can be kept */
		return DEDUP_LATE;
	g = open_find(d, h, rx->rxpk.data, len);
	if (g) {
		group_merge(d, g, rx);
		d->merged++;
		return DEDUP_MERGED;
	}
	seen_expire(d, now_ms);
	if (seen_find(d, h, len, now_ms)) {
		d->late++;
		return DEDUP_LATE;
	}
	if (!slot_free(d)) {
		d->forced_early++;
		emit_head(d, emit, arg);
	}
	open_new(d, h, rx, len, now_ms);
	d->groups++;
	return DEDUP_NEW;
}

/* The pages wholly inside slots [from, to) go back to the system
 * (MADV_DONTNEED: they read as zeros when used again); slots are then taken
 * fresh, in order, as at the start. A refused madvise leaves the pages
 * where they were. Only with no group open. */
static void release_pages(struct dedup *d, size_t from, size_t to)
{
	long page = sysconf(_SC_PAGESIZE);   /* asked only when there is something to release */
	if (page > 0) {
		uintptr_t mask = (uintptr_t)page - 1;
		uintptr_t lo = ((uintptr_t)(d->pool + from) + mask) & ~mask;
		uintptr_t hi = (uintptr_t)(d->pool + to) & ~mask;
		if (hi > lo)
			(void)madvise((void *)lo, hi - lo, MADV_DONTNEED);
	}
	d->free_top = DEDUP_NIL;
	d->fresh = 0;
}

/* Once every group of a burst is out (more than KEEP_SLOTS were open at
 * once; a slot is about 6 KiB, 6 MiB for the daemon's 1,024), the pages of
 * the slots beyond the first KEEP_SLOTS go back. A steady trickle never
 * gets here. */
static void release_burst(struct dedup *d)
{
	if (d->n_open == 0 && d->fresh > KEEP_SLOTS)
		release_pages(d, KEEP_SLOTS, d->fresh);
}

void dedup_release(struct dedup *d)
{
	if (!d->pool || d->n_open != 0)
		return;
	/* A burst's release kept the first KEEP_SLOTS and started fresh again. */
	size_t to = d->max_open < KEEP_SLOTS ? d->max_open : KEEP_SLOTS;
	release_pages(d, 0, d->fresh > to ? d->fresh : to);
}

int64_t dedup_tick(struct dedup *d, int64_t now_ms, dedup_emit_fn emit, void *arg)
{
	if (!d->pool)
		return -1;
	while (d->q_head != DEDUP_NIL &&
	       d->pool[d->q_head].first_ms + d->window_ms <= now_ms)
		emit_head(d, emit, arg);
	seen_expire(d, now_ms);
	release_burst(d);
	if (d->q_head == DEDUP_NIL)
		return -1;
	return d->pool[d->q_head].first_ms + d->window_ms;
}
