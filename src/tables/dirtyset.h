/* SPDX-License-Identifier: MIT */
/*
 * dirtyset.h - the set of table entries (by index) changed since the last
 * group commit of the state (pure: no I/O; time is a parameter).
 *
 * The hot path never writes SQL: an accepted uplink only adds its device's
 * index here (O(1), no allocation once warm). Just before the store's batch
 * commits, the owner stages each listed entry once, however many frames
 * changed it, and pops it when staged. An entry whose staging failed stays
 * listed, so the batch is never committed without it.
 *
 * since_ms is the earliest time given to dirtyset_add() since the set was
 * last empty (normally the moment it became non-empty; an owner may give a
 * change an earlier time, e.g. when the frame behind it arrived): the owner
 * commits within its commit interval of that moment.
 *
 * Ownership: the set owns its arrays; dirtyset_free() releases them (safe
 * on a zeroed struct, which is a valid empty set).
 */
#ifndef LB_DIRTYSET_H
#define LB_DIRTYSET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct dirtyset {
	uint32_t *idx;                   /* listed indexes, in insertion order */
	size_t n, cap;
	uint8_t *mark;                   /* bit i: index i is listed */
	size_t mark_bytes;
	int64_t since_ms;                /* valid when n > 0 */
};

/* List index i (once). LB_OK, or LB_ERR_NOMEM (nothing changed: the caller
 * must stage the entry at once instead). */
int dirtyset_add(struct dirtyset *s, uint32_t i, int64_t now_ms);

bool dirtyset_has(const struct dirtyset *s, uint32_t i);

/* The most recently listed index; the set must not be empty. */
uint32_t dirtyset_last(const struct dirtyset *s);
/* The index listed j before the most recent one (j < dirtyset_count()):
 * dirtyset_back(s, 0) == dirtyset_last(s). An owner staging several entries
 * at once reads them so, then pops those staged. */
uint32_t dirtyset_back(const struct dirtyset *s, size_t j);

/* Unlist the most recently listed index (after it was staged). The list
 * that empties is freed if it held more than 1,024 (a burst's). */
void dirtyset_pop(struct dirtyset *s);

/* Unlist everything (the table the indexes point into was replaced). */
void dirtyset_clear(struct dirtyset *s);

static inline size_t dirtyset_count(const struct dirtyset *s)
{
	return s->n;
}

void dirtyset_free(struct dirtyset *s);

#endif
