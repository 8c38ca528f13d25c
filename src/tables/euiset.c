/* SPDX-License-Identifier: MIT */
/* euiset.c - a set of 64-bit EUIs. See euiset.h. */
#include "tables/euiset.h"

#include <stdlib.h>

#include "base/lb_err.h"

#define EUISET_MIN_CAP 64

/* splitmix64's finaliser: EUIs of one vendor differ in their low bytes. */
static size_t slot_of(uint64_t eui, size_t cap)
{
	eui ^= eui >> 30;
	eui *= 0xbf58476d1ce4e5b9ULL;
	eui ^= eui >> 27;
	eui *= 0x94d049bb133111ebULL;
	eui ^= eui >> 31;
	return (size_t)eui & (cap - 1);
}

/* The slot holding eui, or the empty slot where it would go. */
static size_t find(const struct euiset *s, uint64_t eui)
{
	size_t i = slot_of(eui, s->cap);

	while (s->used[i] && s->key[i] != eui)
		i = (i + 1) & (s->cap - 1);
	return i;
}

bool euiset_has(const struct euiset *s, uint64_t eui)
{
	return s->n > 0 && s->used[find(s, eui)];
}

static int rehash(struct euiset *s, size_t cap)
{
	struct euiset t = {.cap = cap};

	t.key = malloc(cap * sizeof(*t.key));
	t.used = calloc(cap, 1);
	if (!t.key || !t.used) {
		euiset_free(&t);
		return LB_ERR_NOMEM;
	}
	for (size_t i = 0; i < s->cap; i++) {
		if (!s->used[i])
			continue;
		size_t j = find(&t, s->key[i]);
		t.used[j] = 1;
		t.key[j] = s->key[i];
	}
	t.n = s->n;
	euiset_free(s);
	*s = t;
	return LB_OK;
}

int euiset_add(struct euiset *s, uint64_t eui)
{
	if (euiset_has(s, eui))
		return LB_OK;
	/* At most half full: probes stay short. */
	if (2 * (s->n + 1) > s->cap &&
	    rehash(s, s->cap ? 2 * s->cap : EUISET_MIN_CAP) != LB_OK)
		return LB_ERR_NOMEM;
	size_t i = find(s, eui);
	s->used[i] = 1;
	s->key[i] = eui;
	s->n++;
	return LB_OK;
}

/* Backward-shift deletion (Knuth, TAOCP vol. 3, 6.4, algorithm R): move
 * each later member of the probe run into the hole when its home slot
 * does not lie cyclically between the hole and itself. */
void euiset_remove(struct euiset *s, uint64_t eui)
{
	if (s->n == 0)
		return;
	size_t mask = s->cap - 1, hole = find(s, eui);

	if (!s->used[hole])
		return;
	for (size_t j = (hole + 1) & mask; s->used[j]; j = (j + 1) & mask) {
		size_t home = slot_of(s->key[j], s->cap);
		if (((j - home) & mask) >= ((j - hole) & mask)) {
			s->key[hole] = s->key[j];
			hole = j;
		}
	}
	s->used[hole] = 0;
	s->n--;
}

void euiset_free(struct euiset *s)
{
	free(s->key);
	free(s->used);
	s->key = NULL;
	s->used = NULL;
	s->n = 0;
	s->cap = 0;
}
