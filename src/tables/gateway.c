/*
 * gateway.c - bounded gateway table: hash by EUI, liveness, rate limit,
 * allow-list. See gateway.h for the rules.
 *
 * Layout: a fixed array of `max` slots allocated once; free slots form a
 * list through `hnext`, used slots are chained per hash bucket through the
 * same field. Nothing is allocated after gateways_init().
 */
#include "tables/gateway.h"

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

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return (x > y) - (x < y);
}

static bool allowed(const struct gateways *t, uint64_t eui)
{
	if (!t->allow)
		return true;
	return bsearch(&eui, t->allow, t->n_allow, sizeof(eui), cmp_u64) != NULL;
}

static int check_opts(const struct gateways_opts *o)
{
	if (o->keepalive_s < 0 || o->offline_after < 0 || o->rate_limit_count < 0 ||
	    o->rate_limit_window_ms < 0)
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
	t->allow = malloc((o->n_allow ? o->n_allow : 1) * sizeof(uint64_t));
	if (!t->allow)
		return LB_ERR_NOMEM;
	if (o->n_allow)
		memcpy(t->allow, o->allow, o->n_allow * sizeof(uint64_t));
	qsort(t->allow, o->n_allow, sizeof(uint64_t), cmp_u64);
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
	t->buckets = malloc(nb * sizeof(*t->buckets));
	if (!t->gw || !t->buckets)
		return LB_ERR_NOMEM;
	for (size_t i = 0; i < nb; i++)
		t->buckets[i] = GATEWAYS_NIL;
	for (size_t i = 0; i < max; i++)
		t->gw[i].hnext = i + 1 < max ? (uint32_t)(i + 1) : GATEWAYS_NIL;
	t->free_head = 0;
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
	t->next_deadline_ms = -1;
	if ((rc = copy_allow(t, o)) != LB_OK ||
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
	free(t->buckets);
	free(t->allow);
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

/* The gateway offline for the longest time, or GATEWAYS_NIL. */
static uint32_t eviction_victim(const struct gateways *t)
{
	uint32_t best = GATEWAYS_NIL;

	if (t->n_online == t->count)
		return GATEWAYS_NIL;
	for (uint32_t i = 0; i < t->max; i++) {
		const struct gateway *g = &t->gw[i];
		if (!g->in_use || g->online)
			continue;
		if (best == GATEWAYS_NIL || g->offline_since_ms < t->gw[best].offline_since_ms)
			best = i;
	}
	return best;
}

static void release_slot(struct gateways *t, uint32_t slot)
{
	unlink_slot(t, slot);
	t->gw[slot].in_use = false;
	t->gw[slot].hnext = t->free_head;
	t->free_head = slot;
	t->count--;
}

static struct gateway *create(struct gateways *t, uint64_t eui, int64_t now_ms)
{
	uint32_t slot, b;
	struct gateway *g;

	if (t->free_head == GATEWAYS_NIL) {
		uint32_t victim = eviction_victim(t);
		if (victim == GATEWAYS_NIL)
			return NULL;
		release_slot(t, victim);
		t->evicted++;
	}
	slot = t->free_head;
	g = &t->gw[slot];
	t->free_head = g->hnext;
	memset(g, 0, sizeof(*g));
	g->eui = eui;
	g->in_use = true;
	g->first_seen_ms = now_ms;
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

int gateways_admit(struct gateways *t, uint64_t eui, int64_t now_us, struct gateway **out,
		   bool *came_online)
{
	int64_t now_ms = now_us / 1000;
	struct gateway *g;

	if (came_online)
		*came_online = false;
	if (out)
		*out = NULL;
	if (!allowed(t, eui)) {
		t->denied++;
		return LB_ERR_DENIED;
	}
	g = gateways_find(t, eui);
	if (!g && !(g = create(t, eui, now_ms))) {
		t->refused_full++;
		return LB_ERR_FULL;
	}
	if (out)
		*out = g;
	if (rate_limited(t, g, now_us)) {
		g->dropped_rate_limit++;
		return LB_ERR_RATE_LIMIT;
	}
	rate_record(t, g, now_us);
	g->datagrams++;
	g->last_seen_ms = now_ms;
	if (!g->online) {
		mark_online(t, g, now_ms);
		if (came_online)
			*came_online = true;
	}
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
	for (size_t i = 0; i < t->max; i++) {
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
		} else if (next < 0 || deadline < next) {
			next = deadline;
		}
	}
	return t->next_deadline_ms = next;
}

void gateways_foreach(struct gateways *t, void (*fn)(void *arg, struct gateway *g), void *arg)
{
	for (size_t i = 0; i < t->max; i++) {
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
	return t->n_online;
}
