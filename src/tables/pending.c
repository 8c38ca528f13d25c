/* SPDX-License-Identifier: MIT */
/* pending.c - pending OTAA sessions, sorted by DevAddr. See pending.h. */
#include "tables/pending.h"

#include <stdlib.h>
#include <string.h>

#include "base/lb_err.h"

#define PENDING_GROW 8u

/* Keys must not stay in freed memory: a store the compiler cannot drop. */
static void wipe(void *p, size_t len)
{
	volatile uint8_t *v = p;

	while (len--)
		*v++ = 0;
}

void pending_init(struct pendings *p)
{
	memset(p, 0, sizeof(*p));
}

void pending_free(struct pendings *p)
{
	if (!p)
		return;
	if (p->e)
		wipe(p->e, p->n * sizeof(p->e[0]));
	free(p->e);
	memset(p, 0, sizeof(*p));
}

/* The first entry whose DevAddr is not below dev_addr (n if none). */
static size_t lower_bound(const struct pendings *p, uint32_t dev_addr)
{
	size_t lo = 0, hi = p->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (p->e[mid].dev_addr < dev_addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

struct pending_session *pending_find_addr(struct pendings *p, uint32_t dev_addr)
{
	if (!p || p->n == 0)
		return NULL;
	size_t i = lower_bound(p, dev_addr);
	return i < p->n && p->e[i].dev_addr == dev_addr ? &p->e[i] : NULL;
}

struct pending_session *pending_find_eui(struct pendings *p, uint64_t dev_eui)
{
	if (!p)
		return NULL;
	for (size_t i = 0; i < p->n; i++)
		if (p->e[i].dev_eui == dev_eui)
			return &p->e[i];
	return NULL;
}

static void remove_at(struct pendings *p, size_t i)
{
	wipe(&p->e[i], sizeof(p->e[i]));
	memmove(&p->e[i], &p->e[i + 1], (p->n - i - 1) * sizeof(p->e[0]));
	p->n--;
	wipe(&p->e[p->n], sizeof(p->e[0]));
}

bool pending_drop(struct pendings *p, uint64_t dev_eui)
{
	struct pending_session *s = pending_find_eui(p, dev_eui);

	if (!s)
		return false;
	remove_at(p, (size_t)(s - p->e));
	if (p->n == 0) {
		free(p->e);
		p->e = NULL;
		p->cap = 0;
	}
	return true;
}

/* Room for one more entry. */
static int reserve_one(struct pendings *p)
{
	if (p->n < p->cap)
		return LB_OK;
	if (p->n >= PENDING_MAX)
		return LB_ERR_FULL;
	size_t cap = p->cap ? p->cap * 2 : PENDING_GROW;
	if (cap > PENDING_MAX)
		cap = PENDING_MAX;
	struct pending_session *e = calloc(cap, sizeof(*e));
	if (!e)
		return LB_ERR_NOMEM;
	if (p->n)
		memcpy(e, p->e, p->n * sizeof(*e));
	if (p->e)
		wipe(p->e, p->n * sizeof(*e));
	free(p->e);
	p->e = e;
	p->cap = cap;
	return LB_OK;
}

int pending_put(struct pendings *p, const struct pending_session *s)
{
	if (!p || !s)
		return LB_ERR_INVAL;
	struct pending_session *same_addr = pending_find_addr(p, s->dev_addr);
	if (same_addr && same_addr->dev_eui != s->dev_eui)
		return LB_ERR_DUPLICATE;
	struct pending_session *old = pending_find_eui(p, s->dev_eui);
	if (old) {
		remove_at(p, (size_t)(old - p->e));
	} else {
		int rc = reserve_one(p);
		if (rc != LB_OK)
			return rc;
	}
	size_t i = lower_bound(p, s->dev_addr);
	memmove(&p->e[i + 1], &p->e[i], (p->n - i) * sizeof(p->e[0]));
	p->e[i] = *s;
	p->n++;
	return LB_OK;
}

int pending_verify(struct pendings *p, const struct lw_frame *f, struct pending_session **out,
		   uint32_t *fcnt)
{
	uint8_t mic[LW_LEN_MIC];
	struct lw_key k;

	if (!p || !f || !out || !fcnt)
		return LB_ERR_INVAL;
	if (!lorawan_is_data_up(f->mtype) || f->msg_len + LW_LEN_MIC != f->phy_len)
		return LB_ERR_INVAL;
	struct pending_session *s = pending_find_addr(p, f->u.data.dev_addr);
	if (!s)
		return LB_ERR_NOT_FOUND;
	uint32_t full = lorawan_fcnt_full(0, false, f->u.data.fcnt16);
	memset(&k, 0, sizeof(k));
	int rc = lwcrypto_key_init(&k, s->nwk_s_key);
	if (rc == LB_OK)
		rc = lwcrypto_data_mic(&k, LW_DIR_UP, s->dev_addr, full, f->phy, f->msg_len, mic);
	lwcrypto_key_free(&k);
	if (rc != LB_OK)
		return rc;
	if (!lwcrypto_mic_equal(mic, f->mic))
		return LB_ERR_MIC;
	*out = s;
	*fcnt = full;
	return LB_OK;
}
