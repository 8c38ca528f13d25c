/* SPDX-License-Identifier: MIT */
/*
 * euiset.h - a set of 64-bit EUIs (pure: no I/O), open addressing with
 * linear probing and backward-shift deletion: no tombstones, so a set
 * that is added to and removed from forever never degrades.
 *
 * Used by the store to remember which devices may have queued downlinks,
 * so the uplink path reads the queue from SQLite only for those.
 *
 * Errors: euiset_add returns LB_OK or LB_ERR_NOMEM (the set is unchanged).
 * Ownership: the set owns its arrays; euiset_free() releases them (safe on
 * a zeroed struct, which is a valid empty set).
 */
#ifndef LB_EUISET_H
#define LB_EUISET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct euiset {
	uint64_t *key;
	uint8_t *used;                   /* used[i]: key[i] holds a member */
	size_t n, cap;                   /* cap: 0 or a power of two */
};

int euiset_add(struct euiset *s, uint64_t eui);
bool euiset_has(const struct euiset *s, uint64_t eui);
void euiset_remove(struct euiset *s, uint64_t eui);

static inline size_t euiset_count(const struct euiset *s)
{
	return s->n;
}

void euiset_free(struct euiset *s);

#endif
