/* SPDX-License-Identifier: MIT */
/*
 * strpool.c - the string arena and its hash set. See strpool.h.
 *
 * A string longer than a chunk gets a chunk of its own size. The set is
 * kept at most half full and doubled when it would be fuller.
 */
#include "tables/strpool.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define FNV_OFFSET UINT64_C(0xcbf29ce484222325)
#define FNV_PRIME UINT64_C(0x100000001b3)
#define SET_MIN 64

struct strpool_chunk {
	struct strpool_chunk *next;
	size_t used, cap;
	char data[];
};

void strpool_init(struct strpool *p)
{
	memset(p, 0, sizeof(*p));
}

void strpool_free(struct strpool *p)
{
	if (!p)
		return;
	while (p->chunks) {
		struct strpool_chunk *c = p->chunks;
		p->chunks = c->next;
		free(c);
	}
	free(p->set);
	memset(p, 0, sizeof(*p));
}

void strpool_seal(struct strpool *p)
{
	free(p->set);
	p->set = NULL;
	p->set_mask = 0;
	p->n = 0;
}

/* FNV-1a: short strings, not adversarial (they come from the configuration). */
static uint64_t hash_str(const char *s)
{
	uint64_t h = FNV_OFFSET;

	for (; *s; s++)
		h = (h ^ (uint8_t)*s) * FNV_PRIME;
	return h;
}

static size_t find_slot(const char **set, size_t mask, const char *s, uint64_t h)
{
	size_t i = (size_t)h & mask;

	while (set[i] && strcmp(set[i], s) != 0)
		i = (i + 1) & mask;
	return i;
}

static bool grow_set(struct strpool *p)
{
	size_t slots = p->set_mask ? 2 * (p->set_mask + 1) : SET_MIN;
	const char **set = calloc(slots, sizeof(*set));

	if (!set)
		return false;
	for (size_t i = 0; p->set && i <= p->set_mask; i++) {
		if (p->set[i])
			set[find_slot(set, slots - 1, p->set[i], hash_str(p->set[i]))] = p->set[i];
	}
	free(p->set);
	p->set = set;
	p->set_mask = slots - 1;
	return true;
}

static char *arena_copy(struct strpool *p, const char *s, size_t len)
{
	struct strpool_chunk *c = p->chunks;

	if (!c || c->cap - c->used < len + 1) {
		size_t cap = len + 1 > STRPOOL_CHUNK ? len + 1 : STRPOOL_CHUNK;
		c = malloc(sizeof(*c) + cap);
		if (!c)
			return NULL;
		c->used = 0;
		c->cap = cap;
		c->next = p->chunks;
		p->chunks = c;
		p->bytes += cap;
	}
	char *out = c->data + c->used;
	memcpy(out, s, len + 1);
	c->used += len + 1;
	return out;
}

const char *strpool_intern(struct strpool *p, const char *s)
{
	if (!s)
		return NULL;
	if ((p->n + 1) * 2 > p->set_mask + 1 && !grow_set(p))
		return NULL;
	uint64_t h = hash_str(s);
	size_t i = find_slot(p->set, p->set_mask, s, h);
	if (p->set[i])
		return p->set[i];
	char *copy = arena_copy(p, s, strlen(s));
	if (!copy)
		return NULL;
	p->set[i] = copy;
	p->n++;
	return copy;
}
