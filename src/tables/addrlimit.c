/* SPDX-License-Identifier: MIT */
/*
 * addrlimit.c - per source address rate limit: a fixed array of slots,
 * chained per hash bucket through `hnext` (free slots form a list through
 * the same field), and a doubly linked recency list (newest first) to find
 * the least recently seen address. See addrlimit.h.
 */
#include "tables/addrlimit.h"

#include <stdlib.h>
#include <string.h>

#include "base/lb_err.h"

#define NIL UINT32_MAX
#define HARD_MAX (1u << 20)

static uint32_t bucket_of(const struct addrlimit *t, const struct netaddr *a)
{
	return netaddr_hash(a) & ((1u << t->bucket_bits) - 1);
}

static int alloc_slots(struct addrlimit *t, size_t max)
{
	size_t nb = 2;

	t->bucket_bits = 1;
	while (nb < max) {
		nb <<= 1;
		t->bucket_bits++;
	}
	t->e = calloc(max, sizeof(*t->e));
	t->buckets = malloc(nb * sizeof(*t->buckets));
	if (!t->e || !t->buckets)
		return LB_ERR_NOMEM;
	for (size_t i = 0; i < nb; i++)
		t->buckets[i] = NIL;
	for (size_t i = 0; i < max; i++)
		t->e[i].hnext = i + 1 < max ? (uint32_t)(i + 1) : NIL;
	t->max = max;
	t->free_head = 0;
	t->newest = t->oldest = NIL;
	return LB_OK;
}

int addrlimit_init(struct addrlimit *t, size_t max, int count, int window_ms)
{
	if (!t)
		return LB_ERR_INVAL;
	memset(t, 0, sizeof(*t));
	if (count < 0 || window_ms < 0 || max > HARD_MAX)
		return LB_ERR_RANGE;
	if (count == 0 || window_ms == 0)
		return LB_OK;
	int64_t window_us = (int64_t)window_ms * 1000;
	t->interval_us = window_us / count > 0 ? window_us / count : 1;
	t->tolerance_us = window_us - t->interval_us;
	int rc = alloc_slots(t, max ? max : ADDRLIMIT_DEFAULT_MAX);
	if (rc != LB_OK)
		addrlimit_free(t);
	return rc;
}

void addrlimit_free(struct addrlimit *t)
{
	if (!t)
		return;
	free(t->e);
	free(t->buckets);
	memset(t, 0, sizeof(*t));
}

static uint32_t find(const struct addrlimit *t, const struct netaddr *a)
{
	for (uint32_t i = t->buckets[bucket_of(t, a)]; i != NIL; i = t->e[i].hnext)
		if (netaddr_equal(&t->e[i].addr, a))
			return i;
	return NIL;
}

static void list_unlink(struct addrlimit *t, uint32_t i)
{
	struct addrlimit_entry *e = &t->e[i];

	if (e->newer != NIL)
		t->e[e->newer].older = e->older;
	else
		t->newest = e->older;
	if (e->older != NIL)
		t->e[e->older].newer = e->newer;
	else
		t->oldest = e->newer;
}

static void list_push_newest(struct addrlimit *t, uint32_t i)
{
	t->e[i].newer = NIL;
	t->e[i].older = t->newest;
	if (t->newest != NIL)
		t->e[t->newest].newer = i;
	t->newest = i;
	if (t->oldest == NIL)
		t->oldest = i;
}

/* Take the least recently seen address's slot out of the table. */
static void evict_oldest(struct addrlimit *t)
{
	uint32_t i = t->oldest;
	uint32_t *p = &t->buckets[bucket_of(t, &t->e[i].addr)];

	while (*p != i)
		p = &t->e[*p].hnext;
	*p = t->e[i].hnext;
	list_unlink(t, i);
	t->e[i].hnext = t->free_head;
	t->free_head = i;
	t->count--;
	t->evicted++;
}

static uint32_t insert(struct addrlimit *t, const struct netaddr *a, int64_t now_us)
{
	if (t->free_head == NIL)
		evict_oldest(t);
	uint32_t i = t->free_head;
	struct addrlimit_entry *e = &t->e[i];
	uint32_t b = bucket_of(t, a);

	t->free_head = e->hnext;
	e->addr = *a;
	e->tat_us = now_us;            /* a full bucket */
	e->hnext = t->buckets[b];
	t->buckets[b] = i;
	list_push_newest(t, i);
	t->count++;
	return i;
}

bool addrlimit_admit(struct addrlimit *t, const struct netaddr *from, int64_t now_us)
{
	struct netaddr group;

	if (!t->e)
		return true;
	netaddr_group(from, &group);
	const struct netaddr *a = &group;
	uint32_t i = find(t, a);
	if (i == NIL) {
		i = insert(t, a, now_us);
	} else {
		list_unlink(t, i);
		list_push_newest(t, i);
	}
	struct addrlimit_entry *e = &t->e[i];
	int64_t tat = e->tat_us > now_us ? e->tat_us : now_us;
	if (tat - now_us > t->tolerance_us) {
		t->refused++;
		return false;
	}
	e->tat_us = tat + t->interval_us;
	return true;
}

int64_t addrlimit_wait_us(const struct addrlimit *t, const struct netaddr *from, int64_t now_us)
{
	struct netaddr group;

	if (!t->e)
		return 0;
	netaddr_group(from, &group);
	uint32_t i = find(t, &group);
	if (i == NIL)
		return 0;
	int64_t wait = t->e[i].tat_us - t->tolerance_us - now_us;
	return wait > 0 ? wait : 0;
}

size_t addrlimit_count(const struct addrlimit *t)
{
	return t->count;
}
