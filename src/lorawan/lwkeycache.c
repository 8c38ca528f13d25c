/* SPDX-License-Identifier: MIT */
/*
 * lwkeycache.c - the LRU of prepared session keys. See lwkeycache.h.
 *
 * Slots are one array; the LRU order is a doubly linked list of slot
 * indices (LWKEYCACHE_NONE ends it), so a hit moves its slot to the head in
 * O(1) and a miss takes the tail. Slots are filled in index order until
 * all are used; a slot's OpenSSL contexts are made on its first use and
 * re-keyed after that.
 */
#include "lorawan/lwkeycache.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "base/lb_err.h"

#define LWKEYCACHE_MAX_CAP (1u << 24)

int lwkeycache_init(struct lwkeycache *c, uint32_t cap)
{
	if (!c)
		return LB_ERR_INVAL;
	memset(c, 0, sizeof(*c));
	if (cap == 0 || cap > LWKEYCACHE_MAX_CAP)
		return LB_ERR_INVAL;
	c->slot = calloc(cap, sizeof(*c->slot));
	if (!c->slot)
		return LB_ERR_NOMEM;
	c->cap = cap;
	c->head = c->tail = LWKEYCACHE_NONE;
	return LB_OK;
}

void lwkeycache_free(struct lwkeycache *c)
{
	if (!c)
		return;
	for (uint32_t i = 0; i < c->used; i++)
		lwcrypto_keys_free(&c->slot[i].keys);
	free(c->slot);
	memset(c, 0, sizeof(*c));
}

size_t lwkeycache_release(struct lwkeycache *c)
{
	if (!c || !c->slot)
		return 0;
	size_t n = c->used;
	for (uint32_t i = 0; i < c->used; i++)
		lwcrypto_keys_free(&c->slot[i].keys);
	c->used = 0;
	c->head = c->tail = LWKEYCACHE_NONE;
	return n;
}

static void unlink_slot(struct lwkeycache *c, uint32_t i)
{
	struct lwkeycache_slot *s = &c->slot[i];

	if (s->prev != LWKEYCACHE_NONE)
		c->slot[s->prev].next = s->next;
	else
		c->head = s->next;
	if (s->next != LWKEYCACHE_NONE)
		c->slot[s->next].prev = s->prev;
	else
		c->tail = s->prev;
}

static void push_head(struct lwkeycache *c, uint32_t i)
{
	struct lwkeycache_slot *s = &c->slot[i];

	s->prev = LWKEYCACHE_NONE;
	s->next = c->head;
	if (c->head != LWKEYCACHE_NONE)
		c->slot[c->head].prev = i;
	c->head = i;
	if (c->tail == LWKEYCACHE_NONE)
		c->tail = i;
}

static bool holds(const struct lwkeycache_slot *s, const uint8_t nwk[LW_KEY_LEN],
		  const uint8_t app[LW_KEY_LEN])
{
	return s->keys.nwk_s_key.ready && s->keys.app_s_key.ready &&
	       memcmp(s->keys.nwk_s_key.raw, nwk, LW_KEY_LEN) == 0 &&
	       memcmp(s->keys.app_s_key.raw, app, LW_KEY_LEN) == 0;
}

/* The slot a miss fills: a never used one while there are, else the least
 * recently used (unlinked). */
static uint32_t take_slot(struct lwkeycache *c)
{
	if (c->used < c->cap)
		return c->used++;
	uint32_t i = c->tail;
	unlink_slot(c, i);
	return i;
}

static int rekey(struct lw_keys *ks, const uint8_t nwk[LW_KEY_LEN], const uint8_t app[LW_KEY_LEN])
{
	int rc = lwcrypto_key_rekey(&ks->nwk_s_key, nwk);
	if (rc == LB_OK)
		rc = lwcrypto_key_rekey(&ks->app_s_key, app);
	if (rc != LB_OK)
		lwcrypto_keys_free(ks);
	return rc;
}

int lwkeycache_get(struct lwkeycache *c, uint32_t *hint, const uint8_t nwk[LW_KEY_LEN],
		   const uint8_t app[LW_KEY_LEN], struct lw_keys **out)
{
	if (!c || !c->slot || !hint || !nwk || !app || !out)
		return LB_ERR_INVAL;
	uint32_t i = *hint;
	if (i < c->used && holds(&c->slot[i], nwk, app)) {
		c->hits++;
		if (c->head != i) {
			unlink_slot(c, i);
			push_head(c, i);
		}
		*out = &c->slot[i].keys;
		return LB_OK;
	}
	i = take_slot(c);
	c->rekeys++;
	/* Linked before the re-key: a failed slot stays in the list, empty
	 * (holds() is false), and is the first to be taken again. */
	push_head(c, i);
	int rc = rekey(&c->slot[i].keys, nwk, app);
	if (rc != LB_OK) {
		unlink_slot(c, i);
		*hint = LWKEYCACHE_NONE;
		/* ... at the tail, so the next miss reuses it. */
		struct lwkeycache_slot *s = &c->slot[i];
		s->next = LWKEYCACHE_NONE;
		s->prev = c->tail;
		if (c->tail != LWKEYCACHE_NONE)
			c->slot[c->tail].next = i;
		c->tail = i;
		if (c->head == LWKEYCACHE_NONE)
			c->head = i;
		return rc;
	}
	*hint = i;
	*out = &c->slot[i].keys;
	return LB_OK;
}
