/* SPDX-License-Identifier: MIT */
/* dirtyset.c - indexes changed since the last commit. See dirtyset.h. */
#include "tables/dirtyset.h"

#include <stdlib.h>
#include <string.h>

#include "base/lb_err.h"

static int grow_marks(struct dirtyset *s, uint32_t i)
{
	size_t need = (size_t)i / 8 + 1;
	size_t bytes = s->mark_bytes ? s->mark_bytes : 64;

	if (need <= s->mark_bytes)
		return LB_OK;
	while (bytes < need)
		bytes *= 2;
	uint8_t *m = realloc(s->mark, bytes);
	if (!m)
		return LB_ERR_NOMEM;
	memset(m + s->mark_bytes, 0, bytes - s->mark_bytes);
	s->mark = m;
	s->mark_bytes = bytes;
	return LB_OK;
}

static int grow_list(struct dirtyset *s)
{
	if (s->n < s->cap)
		return LB_OK;
	size_t cap = s->cap ? 2 * s->cap : 64;
	uint32_t *idx = realloc(s->idx, cap * sizeof(*idx));
	if (!idx)
		return LB_ERR_NOMEM;
	s->idx = idx;
	s->cap = cap;
	return LB_OK;
}

bool dirtyset_has(const struct dirtyset *s, uint32_t i)
{
	return (size_t)i / 8 < s->mark_bytes && (s->mark[i / 8] & (1u << (i % 8)));
}

int dirtyset_add(struct dirtyset *s, uint32_t i, int64_t now_ms)
{
	if (s->n > 0 && now_ms < s->since_ms)
		s->since_ms = now_ms;
	if (dirtyset_has(s, i))
		return LB_OK;
	if (grow_marks(s, i) != LB_OK || grow_list(s) != LB_OK)
		return LB_ERR_NOMEM;
	if (s->n == 0)
		s->since_ms = now_ms;
	s->idx[s->n++] = i;
	s->mark[i / 8] |= (uint8_t)(1u << (i % 8));
	return LB_OK;
}

uint32_t dirtyset_last(const struct dirtyset *s)
{
	return s->idx[s->n - 1];
}

uint32_t dirtyset_back(const struct dirtyset *s, size_t j)
{
	return s->idx[s->n - 1 - j];
}

/* An emptied list longer than this is freed: a burst that marked a whole
 * fleet (400 KB with 100,000 devices) does not keep its list once staged. */
#define KEEP_CAP 1024

void dirtyset_pop(struct dirtyset *s)
{
	if (s->n == 0)
		return;
	uint32_t i = s->idx[--s->n];
	s->mark[i / 8] &= (uint8_t)~(1u << (i % 8));
	if (s->n == 0 && s->cap > KEEP_CAP) {
		free(s->idx);
		s->idx = NULL;
		s->cap = 0;
	}
}

void dirtyset_clear(struct dirtyset *s)
{
	s->n = 0;
	if (s->mark)
		memset(s->mark, 0, s->mark_bytes);
}

void dirtyset_free(struct dirtyset *s)
{
	free(s->idx);
	free(s->mark);
	memset(s, 0, sizeof(*s));
}
