/* SPDX-License-Identifier: MIT */
/*
 * gateway.c - bounded gateway table: hash by EUI, address binding,
 * allow-list, rate limits, eviction, liveness. See gateway.h for the rules.
 *
 * Layout: a fixed array of `max` slots allocated once; free slots form a
 * list through `hnext`, used slots are chained per hash bucket through the
 * same field. The tombstones of evicted gateways are as many slots, scanned
 * (an eviction and a new EUI already scan the table). Nothing is allocated
 * after gateways_init().
 */
#include "tables/gateway.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/lb_err.h"

#define GATEWAYS_NIL UINT32_MAX
#define GATEWAYS_HARD_MAX (1u << 20)
#define FIB64 UINT64_C(0x9E3779B97F4A7C15)  /* 2^64 / golden ratio (Knuth 6.4) */

static uint32_t hash_eui(const struct gateways *t, uint64_t eui)
{
	return (uint32_t)((eui * FIB64) >> (64 - t->bucket_bits));
}

static int cmp_allow(const void *a, const void *b)
{
	uint64_t x = ((const struct lb_gw_allow *)a)->eui, y = ((const struct lb_gw_allow *)b)->eui;
	return (x > y) - (x < y);
}

/* First entry of the sorted allow-list with this EUI, or n_allow. */
static size_t allow_first(const struct gateways *t, uint64_t eui)
{
	size_t lo = 0, hi = t->n_allow;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (t->allow[mid].eui < eui)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* LB_OK, LB_ERR_DENIED (not listed) or LB_ERR_ADDRESS_MISMATCH (listed only
 * with networks that do not hold a). */
static int check_allow(const struct gateways *t, uint64_t eui, const struct netaddr *a)
{
	bool listed = false;

	if (!t->allow)
		return LB_OK;
	for (size_t i = allow_first(t, eui); i < t->n_allow && t->allow[i].eui == eui; i++) {
		listed = true;
		if (!t->allow[i].pinned || netprefix_contains(&t->allow[i].net, a))
			return LB_OK;
	}
	return listed ? LB_ERR_ADDRESS_MISMATCH : LB_ERR_DENIED;
}

static int check_opts(const struct gateways_opts *o)
{
	if (o->keepalive_s < 0 || o->offline_after < 0 || o->rate_limit_count < 0 ||
	    o->rate_limit_window_ms < 0 || o->rebind_after_s < 0 ||
	    o->address_rate_limit_count < 0)
		return LB_ERR_RANGE;
	if (o->offline_after > 0 && o->keepalive_s == 0)
		return LB_ERR_RANGE;
	if (o->rate_limit_count > GATEWAY_RL_MAX || o->max_gateways > GATEWAYS_HARD_MAX)
		return LB_ERR_RANGE;
	if (o->n_allow > 0 && !o->allow)
		return LB_ERR_INVAL;
	return LB_OK;
}

static int copy_allow(struct gateways *t, const struct gateways_opts *o)
{
	if (!o->allow)
		return LB_OK;
	/* An empty list still means "allow-list configured": nobody passes. */
	t->allow = malloc((o->n_allow ? o->n_allow : 1) * sizeof(*t->allow));
	if (!t->allow)
		return LB_ERR_NOMEM;
	if (o->n_allow)
		memcpy(t->allow, o->allow, o->n_allow * sizeof(*t->allow));
	qsort(t->allow, o->n_allow, sizeof(*t->allow), cmp_allow);
	t->n_allow = o->n_allow;
	return LB_OK;
}

static int alloc_slots(struct gateways *t, size_t max)
{
	size_t nb = 1;

	t->bucket_bits = 0;
	while (nb < max) {
		nb <<= 1;
		t->bucket_bits++;
	}
	if (t->bucket_bits == 0) {   /* keep the hash shift below 64 */
		nb = 2;
		t->bucket_bits = 1;
	}
	t->gw = calloc(max, sizeof(*t->gw));
	t->tombs = calloc(max, sizeof(*t->tombs));
	t->buckets = malloc(nb * sizeof(*t->buckets));
	if (!t->gw || !t->tombs || !t->buckets)
		return LB_ERR_NOMEM;
	for (size_t i = 0; i < nb; i++)
		t->buckets[i] = GATEWAYS_NIL;
	/* Slots never used are taken in order after the free list, so no page
	 * of the table is touched before a gateway needs it; scans stop at
	 * fresh. */
	t->free_head = GATEWAYS_NIL;
	t->fresh = 0;
	t->max = max;
	return LB_OK;
}

int gateways_init(struct gateways *t, const struct gateways_opts *o)
{
	int rc;

	if (!t || !o)
		return LB_ERR_INVAL;
	memset(t, 0, sizeof(*t));
	if ((rc = check_opts(o)) != LB_OK)
		return rc;
	t->offline_timeout_ms = (int64_t)o->offline_after * o->keepalive_s * 1000;
	if (o->rate_limit_count > 0 && o->rate_limit_window_ms > 0) {
		t->rl_count = o->rate_limit_count;
		t->rl_window_us = (int64_t)o->rate_limit_window_ms * 1000;
	}
	t->rebind_after_ms = (int64_t)o->rebind_after_s * 1000;
	t->max_per_address = o->max_per_address;
	t->next_deadline_ms = -1;
	if ((rc = copy_allow(t, o)) != LB_OK ||
	    (rc = addrlimit_init(&t->addrs, 0, o->address_rate_limit_count,
				 o->rate_limit_window_ms)) != LB_OK ||
	    (rc = alloc_slots(t, o->max_gateways ? o->max_gateways : GATEWAY_DEFAULT_MAX)) != LB_OK) {
		gateways_free(t);
		return rc;
	}
	return LB_OK;
}

void gateways_free(struct gateways *t)
{
	if (!t)
		return;
	free(t->gw);
	free(t->tombs);
	free(t->buckets);
	free(t->allow);
	addrlimit_free(&t->addrs);
	memset(t, 0, sizeof(*t));
}

struct gateway *gateways_find(struct gateways *t, uint64_t eui)
{
	if (!t->buckets)
		return NULL;
	for (uint32_t i = t->buckets[hash_eui(t, eui)]; i != GATEWAYS_NIL; i = t->gw[i].hnext) {
		if (t->gw[i].eui == eui)
			return &t->gw[i];
	}
	return NULL;
}

static void unlink_slot(struct gateways *t, uint32_t slot)
{
	uint32_t *p = &t->buckets[hash_eui(t, t->gw[slot].eui)];

	while (*p != slot)
		p = &t->gw[*p].hnext;
	*p = t->gw[slot].hnext;
}

/* Eviction tiers: 0 never delivered a valid uplink, 1 delivered but
 * offline, 2 delivered and online (never evicted). */
static int eviction_tier(const struct gateway *g)
{
	if (!g->delivered)
		return 0;
	return g->online ? 2 : 1;
}

/* The least recently heard gateway of the lowest tier below 2, or
 * GATEWAYS_NIL. */
static uint32_t eviction_victim(const struct gateways *t)
{
	uint32_t best = GATEWAYS_NIL;
	int best_tier = 2;

	for (uint32_t i = 0; i < t->fresh; i++) {
		const struct gateway *g = &t->gw[i];
		int tier = g->in_use ? eviction_tier(g) : 2;
		if (tier > best_tier || tier == 2)
			continue;
		if (tier < best_tier || g->last_heard_ms < t->gw[best].last_heard_ms) {
			best = i;
			best_tier = tier;
		}
	}
	return best;
}

static void release_slot(struct gateways *t, uint32_t slot)
{
	struct gateway *g = &t->gw[slot];

	unlink_slot(t, slot);
	if (g->online)
		t->n_online--;
	if (g->restored)
		t->n_restored--;
	g->in_use = false;
	g->hnext = t->free_head;
	t->free_head = slot;
	t->count--;
}

/* ---------------------------------------------- tombstones */

/* a lies in the group `group` (netaddr_group()). */
static bool same_group(const struct netaddr *a, const struct netaddr *group)
{
	struct netaddr x;

	netaddr_group(a, &x);
	return netaddr_equal(&x, group);
}


/* A slot for a new tombstone of group `group` at now_ms: a free or expired
 * one, unless the group already holds max_per_address live ones (then its
 * oldest); if none is free, the oldest of all. */
static struct gateway_tomb *tomb_slot(struct gateways *t, const struct netaddr *group,
				      int64_t now_ms)
{
	struct gateway_tomb *free_slot = NULL, *oldest = NULL, *oldest_group = NULL;
	size_t in_group = 0;

	for (size_t i = 0; i < t->fresh; i++) {
		struct gateway_tomb *x = &t->tombs[i];
		if (x->until_ms <= now_ms) {
			free_slot = free_slot ? free_slot : x;
			continue;
		}
		if (!oldest || x->seq < oldest->seq)
			oldest = x;
		if (!same_group(&x->addr, group))
			continue;
		in_group++;
		if (!oldest_group || x->seq < oldest_group->seq)
			oldest_group = x;
	}
	if (t->max_per_address && in_group >= t->max_per_address)
		return oldest_group;
	return free_slot ? free_slot : oldest;
}

/* g is evicted at now_ms: its binding outlives it until its address has
 * been silent for rebind_after (nothing to keep if that is past). */
static void tomb_add(struct gateways *t, const struct gateway *g, int64_t now_ms)
{
	struct netaddr group;
	int64_t until = g->last_heard_ms + t->rebind_after_ms;

	if (!g->bound || t->rebind_after_ms == 0 || until <= now_ms)
		return;
	netaddr_group(&g->addr, &group);
	struct gateway_tomb *x = tomb_slot(t, &group, now_ms);
	if (x->until_ms > now_ms)
		t->tombs_forgotten++;
	*x = (struct gateway_tomb){.eui = g->eui, .addr = g->addr, .until_ms = until,
				   .seq = ++t->tomb_seq};
}

/* The live tombstone of eui, or NULL. */
static struct gateway_tomb *tomb_find(struct gateways *t, uint64_t eui, int64_t now_ms)
{
	for (size_t i = 0; i < t->fresh; i++) {
		if (t->tombs[i].eui == eui && t->tombs[i].until_ms > now_ms)
			return &t->tombs[i];
	}
	return NULL;
}

/* eui is in the table again: its tombstones (live or not) go. */
static void tomb_clear(struct gateways *t, uint64_t eui)
{
	for (size_t i = 0; i < t->fresh; i++) {
		if (t->tombs[i].eui == eui)
			memset(&t->tombs[i], 0, sizeof(t->tombs[i]));
	}
}

/* ---------------------------------------------- slots */

static bool slot_free(const struct gateways *t)
{
	return t->free_head != GATEWAYS_NIL || t->fresh < t->max;
}

/* A free slot (slot_free): the last released, else one never used. */
static uint32_t take_slot(struct gateways *t)
{
	uint32_t slot = t->free_head;

	if (slot == GATEWAYS_NIL)
		return (uint32_t)t->fresh++;
	t->free_head = t->gw[slot].hnext;
	return slot;
}

/* A new gateway in a free slot, evicting one if the table is full (said in
 * res; its binding kept as a tombstone). NULL if nothing can be evicted. */
static struct gateway *create(struct gateways *t, uint64_t eui, int64_t now_ms,
			      struct gateway_admission *res)
{
	uint32_t slot, b;
	struct gateway *g;

	if (!slot_free(t)) {
		uint32_t victim = eviction_victim(t);
		if (victim == GATEWAYS_NIL)
			return NULL;
		res->evicted = true;
		res->evicted_eui = t->gw[victim].eui;
		tomb_add(t, &t->gw[victim], now_ms);
		release_slot(t, victim);
		t->evicted++;
	}
	slot = take_slot(t);
	g = &t->gw[slot];
	memset(g, 0, sizeof(*g));
	g->eui = eui;
	g->in_use = true;
	g->first_seen_ms = now_ms;
	g->last_seen_ms = now_ms;
	g->last_heard_ms = now_ms;
	g->offline_since_ms = now_ms;
	b = hash_eui(t, eui);
	g->hnext = t->buckets[b];
	t->buckets[b] = slot;
	t->count++;
	return g;
}

/* Sliding window over the last rl_count admitted arrival times. */
static bool rate_limited(const struct gateways *t, const struct gateway *g, int64_t now_us)
{
	if (t->rl_window_us == 0 || g->rl_filled < (uint32_t)t->rl_count)
		return false;
	/* rl_next is the oldest of the last rl_count admissions. */
	return now_us - g->rl_times_us[g->rl_next] < t->rl_window_us;
}

static void rate_record(const struct gateways *t, struct gateway *g, int64_t now_us)
{
	if (t->rl_window_us == 0)
		return;
	g->rl_times_us[g->rl_next] = now_us;
	g->rl_next = (g->rl_next + 1) % (uint32_t)t->rl_count;
	if (g->rl_filled < (uint32_t)t->rl_count)
		g->rl_filled++;
}

static void mark_online(struct gateways *t, struct gateway *g, int64_t now_ms)
{
	int64_t deadline = now_ms + t->offline_timeout_ms;

	g->online = true;
	t->n_online++;
	if (t->offline_timeout_ms > 0 &&
	    (t->next_deadline_ms < 0 || deadline < t->next_deadline_ms))
		t->next_deadline_ms = deadline;
}

/* True if a's group (netaddr_group()) already speaks for max_per_address
 * gateways. */
static bool address_full(const struct gateways *t, const struct netaddr *a)
{
	struct netaddr group;
	size_t n = 0;

	if (t->max_per_address == 0)
		return false;
	netaddr_group(a, &group);
	for (size_t i = 0; i < t->fresh && n < t->max_per_address; i++) {
		const struct gateway *g = &t->gw[i];
		n += g->in_use && g->bound && same_group(&g->addr, &group);
	}
	return n >= t->max_per_address;
}

/* The EUI moves to a new address: what was learnt at the old one (routes,
 * rate, the valid uplinks that protect it from eviction) stays behind. */
static void rebind(struct gateways *t, struct gateway *g, struct gateway_admission *res)
{
	res->rebound = true;
	res->old_addr = g->addr;
	g->has_downlink_addr = false;
	g->down_addr_len = 0;
	g->push_addr_len = 0;
	g->rl_next = g->rl_filled = 0;
	g->delivered = false;
	g->last_valid_ms = 0;
	t->rebound++;
}

static int mismatch(struct gateways *t, struct gateway *g)
{
	t->address_mismatch++;
	if (g)
		g->dropped_address++;
	return LB_ERR_ADDRESS_MISMATCH;
}

/*
 * A datagram that does not come from its EUI's bound address: a new EUI, a
 * restored one, or one bound elsewhere. The source address's limit comes
 * first, then the allow-list, the binding and the room for one more
 * gateway. On LB_OK *gp is the gateway, bound to a.
 */
static int admit_other(struct gateways *t, uint64_t eui, const struct netaddr *a, int64_t now_us,
		       struct gateway **gp, struct gateway_admission *res)
{
	int64_t now_ms = now_us / 1000;
	struct gateway *g = *gp;

	if (!addrlimit_admit(&t->addrs, a, now_us)) {
		t->address_limited++;
		return LB_ERR_RATE_LIMIT;
	}
	int rc = check_allow(t, eui, a);
	if (rc == LB_ERR_DENIED)
		t->denied++;
	if (rc == LB_ERR_ADDRESS_MISMATCH)
		mismatch(t, g);
	if (rc != LB_OK)
		return rc;
	if (g && g->bound && now_ms - g->last_heard_ms < t->rebind_after_ms)
		return mismatch(t, g);
	const struct gateway_tomb *x = g ? NULL : tomb_find(t, eui, now_ms);
	if (x && !netaddr_equal(&x->addr, a))
		return mismatch(t, NULL);
	if (address_full(t, a) || (!g && !(g = create(t, eui, now_ms, res)))) {
		t->refused_full++;
		return LB_ERR_FULL;
	}
	if (x)
		tomb_clear(t, eui);
	if (g->bound)
		rebind(t, g, res);
	g->bound = true;
	g->addr = *a;
	*gp = g;
	return LB_OK;
}

/* Admitted: fresh liveness; offline -> online (or first heard after a
 * restart) is reported once. */
static void refresh(struct gateways *t, struct gateway *g, int64_t now_ms,
		    struct gateway_admission *res)
{
	g->datagrams++;
	g->last_seen_ms = now_ms;
	if (g->restored) {
		g->restored = false;
		t->n_restored--;
		res->came_online = true;
	} else if (!g->online) {
		mark_online(t, g, now_ms);
		res->came_online = true;
	}
}

int gateways_admit(struct gateways *t, uint64_t eui, const struct netaddr *from, int64_t now_us,
		   struct gateway **out, struct gateway_admission *res)
{
	struct gateway_admission local;
	int64_t now_ms = now_us / 1000;

	res = res ? res : &local;
	memset(res, 0, sizeof(*res));
	if (out)
		*out = NULL;
	if (!from)
		return LB_ERR_INVAL;
	struct gateway *g = gateways_find(t, eui);
	if (!g || !g->bound || !netaddr_equal(&g->addr, from)) {
		int rc = admit_other(t, eui, from, now_us, &g, res);
		if (rc != LB_OK)
			return rc;
	}
	if (out)
		*out = g;
	g->last_heard_ms = now_ms;
	if (rate_limited(t, g, now_us)) {
		g->dropped_rate_limit++;
		return LB_ERR_RATE_LIMIT;
	}
	rate_record(t, g, now_us);
	refresh(t, g, now_ms, res);
	return LB_OK;
}

void gateways_mark_valid(struct gateways *t, uint64_t eui, int64_t now_ms)
{
	struct gateway *g = gateways_find(t, eui);

	if (!g)
		return;
	g->delivered = true;
	g->last_valid_ms = now_ms;
}

int gateways_restore(struct gateways *t, uint64_t eui, int64_t now_ms)
{
	struct gateway_admission res = {0};
	struct gateway *g;

	if (gateways_find(t, eui))
		return LB_OK;
	/* Not at the cost of a gateway heard in this run. */
	if (!slot_free(t) || !(g = create(t, eui, now_ms, &res)))
		return LB_ERR_FULL;
	g->restored = true;
	t->n_restored++;
	mark_online(t, g, now_ms);
	return LB_OK;
}

static bool addr_len_ok(socklen_t len)
{
	return len > 0 && (size_t)len <= sizeof(struct sockaddr_storage);
}

void gateway_set_push_addr(struct gateway *g, const struct sockaddr_storage *addr, socklen_t len)
{
	if (!g || !addr || !addr_len_ok(len))
		return;
	memcpy(&g->push_addr, addr, (size_t)len);
	g->push_addr_len = len;
	g->last_push_ms = g->last_seen_ms;
}

void gateway_take_position(struct gateway *g, const struct gwmp_stat *st)
{
	if (!g || !st || !st->has_location || !isfinite(st->lati) || !isfinite(st->lon))
		return;
	g->has_position = true;
	g->lati = st->lati;
	g->lon = st->lon;
	g->has_altitude = st->has_alti;  /* none sent: none known, not 0 */
	g->alti = st->alti;
	g->position_text_len = 0;
}

void gateway_set_downlink_addr(struct gateway *g, const struct sockaddr_storage *addr,
			       socklen_t len, uint8_t version)
{
	if (!g || !addr || !addr_len_ok(len))
		return;
	memcpy(&g->down_addr, addr, (size_t)len);
	g->down_addr_len = len;
	g->has_downlink_addr = true;
	g->version = version;
	g->last_pull_ms = g->last_seen_ms;
}

int64_t gateways_tick(struct gateways *t, int64_t now_ms,
		      void (*on_offline)(void *arg, struct gateway *g), void *arg)
{
	int64_t next = -1;

	if (t->offline_timeout_ms == 0 || t->n_online == 0)
		return t->next_deadline_ms = -1;
	/* Deadlines only move later between scans (admit never makes one
	 * earlier than the cached one), so nothing can be due before it. */
	if (t->next_deadline_ms >= 0 && now_ms < t->next_deadline_ms)
		return t->next_deadline_ms;
	for (size_t i = 0; i < t->fresh; i++) {
		struct gateway *g = &t->gw[i];
		int64_t deadline;

		if (!g->in_use || !g->online)
			continue;
		deadline = g->last_seen_ms + t->offline_timeout_ms;
		if (deadline <= now_ms) {
			g->online = false;
			g->offline_since_ms = now_ms;
			t->n_online--;
			if (on_offline)
				on_offline(arg, g);
			if (g->restored) {
				g->restored = false;
				t->n_restored--;
			}
		} else if (next < 0 || deadline < next) {
			next = deadline;
		}
	}
	return t->next_deadline_ms = next;
}

void gateways_foreach(struct gateways *t, void (*fn)(void *arg, struct gateway *g), void *arg)
{
	for (size_t i = 0; i < t->fresh; i++) {
		if (t->gw[i].in_use)
			fn(arg, &t->gw[i]);
	}
}

size_t gateways_count(const struct gateways *t)
{
	return t->count;
}

size_t gateways_count_online(const struct gateways *t)
{
	return t->n_online - t->n_restored;
}
