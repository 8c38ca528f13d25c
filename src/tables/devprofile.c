/* SPDX-License-Identifier: MIT */
/*
 * devprofile.c - shared device profiles (devprofile.h). The index is an
 * open-addressing table of positions in v with linear probing, kept at most
 * half full and rebuilt twice as large when it would not be.
 */
#include "tables/devprofile.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define SET_NIL UINT32_MAX
#define FIB64 UINT64_C(0x9E3779B97F4A7C15)   /* 2^64 / golden ratio (Knuth 6.4) */

void devprofiles_init(struct devprofiles *ps)
{
	memset(ps, 0, sizeof(*ps));
}

void devprofiles_free(struct devprofiles *ps)
{
	if (!ps)
		return;
	for (size_t i = 0; i < ps->n; i++)
		free(ps->v[i]);
	free(ps->v);
	free(ps->set);
	memset(ps, 0, sizeof(*ps));
}

void devprofiles_seal(struct devprofiles *ps)
{
	free(ps->set);
	ps->set = NULL;
	ps->set_mask = 0;
}

static uint64_t mix(uint64_t h, uint64_t v)
{
	return (h ^ v) * FIB64;
}

static size_t hash_of(const struct lb_devprofile *p, size_t mask)
{
	uint64_t h = 0;

	h = mix(h, (uintptr_t)p->application);
	h = mix(h, (uintptr_t)p->application_id);
	h = mix(h, (uintptr_t)p->codec_script);
	h = mix(h, (uintptr_t)p->app_uuid);
	h = mix(h, (uint64_t)p->fa_policy.uplink_airtime_ms << 32 | p->fa_policy.downlinks);
	h = mix(h, (uint64_t)p->fa_policy.window_hours << 32 | (uint32_t)p->fa_policy.action);
	h = mix(h, (uint64_t)(uint32_t)p->status_interval_h << 32 | p->codec_slot);
	h = mix(h, p->codec);
	return (size_t)(h >> 32) & mask;
}

static bool same(const struct lb_devprofile *a, const struct lb_devprofile *b)
{
	return a->application == b->application && a->application_id == b->application_id &&
	       a->codec_script == b->codec_script && a->app_uuid == b->app_uuid &&
	       a->fa_policy.uplink_airtime_ms == b->fa_policy.uplink_airtime_ms &&
	       a->fa_policy.downlinks == b->fa_policy.downlinks &&
	       a->fa_policy.window_hours == b->fa_policy.window_hours &&
	       a->fa_policy.action == b->fa_policy.action &&
	       a->status_interval_h == b->status_interval_h && a->codec_slot == b->codec_slot &&
	       a->codec == b->codec;
}

/* The slot holding a profile equal to key, else the free slot where it
 * would go. */
static size_t probe(const struct devprofiles *ps, const struct lb_devprofile *key)
{
	size_t s = hash_of(key, ps->set_mask);

	while (ps->set[s] != SET_NIL && !same(ps->v[ps->set[s]], key))
		s = (s + 1) & ps->set_mask;
	return s;
}

/* A new index of at least slots slots (a power of two) holding v. */
static bool index_build(struct devprofiles *ps, size_t slots)
{
	uint32_t *set = malloc(slots * sizeof(*set));

	if (!set)
		return false;
	free(ps->set);
	ps->set = set;
	ps->set_mask = slots - 1;
	for (size_t i = 0; i < slots; i++)
		set[i] = SET_NIL;
	for (size_t i = 0; i < ps->n; i++)
		set[probe(ps, ps->v[i])] = (uint32_t)i;
	return true;
}

/* The index's slots for n profiles: at least twice as many. */
static size_t slots_for(size_t n)
{
	size_t slots = 8;

	while (slots < 2 * n)
		slots <<= 1;
	return slots;
}

/* Room for one more profile in v and the index. */
static bool reserve(struct devprofiles *ps)
{
	if (ps->n == ps->cap) {
		size_t cap = ps->cap ? 2 * ps->cap : 4;
		struct lb_devprofile **v = realloc(ps->v, cap * sizeof(*v));
		if (!v)
			return false;
		ps->v = v;
		ps->cap = cap;
	}
	return 2 * (ps->n + 1) <= ps->set_mask + 1 || index_build(ps, slots_for(ps->n + 1));
}

struct lb_devprofile *devprofiles_intern(struct devprofiles *ps, const struct lb_devprofile *key)
{
	if (!ps->set && !index_build(ps, slots_for(ps->n)))
		return NULL;
	size_t s = probe(ps, key);
	if (ps->set[s] != SET_NIL)
		return ps->v[ps->set[s]];
	if (ps->n >= SET_NIL - 1 || !reserve(ps))
		return NULL;
	struct lb_devprofile *p = malloc(sizeof(*p));
	if (!p)
		return NULL;
	*p = *key;
	ps->set[probe(ps, key)] = (uint32_t)ps->n;
	ps->v[ps->n++] = p;
	return p;
}
