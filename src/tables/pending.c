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
	explicit_bzero(p, len);
}

void pending_init(struct pendings *p)
{
	memset(p, 0, sizeof(*p));
}

/* ---- the DevEUI hash ---------------------------------------------------- */

#define HASH_MIN 16u                 /* slots at least, a power of two */

static size_t slot_of(const struct pendings *p, uint64_t dev_eui)
{
	return (size_t)((dev_eui * UINT64_C(0x9e3779b97f4a7c15)) >> 32) & p->h_mask;
}

/* The slot holding dev_eui, or SIZE_MAX. */
static size_t h_find(const struct pendings *p, uint64_t dev_eui)
{
	if (!p->h)
		return SIZE_MAX;
	for (size_t i = slot_of(p, dev_eui); p->h[i].used; i = (i + 1) & p->h_mask)
		if (p->h[i].dev_eui == dev_eui)
			return i;
	return SIZE_MAX;
}

/* dev_eui is not in the hash, which has room. */
static void h_insert(struct pendings *p, uint64_t dev_eui, uint32_t dev_addr)
{
	size_t i = slot_of(p, dev_eui);

	while (p->h[i].used)
		i = (i + 1) & p->h_mask;
	p->h[i] = (struct pending_slot){.dev_eui = dev_eui, .dev_addr = dev_addr, .used = 1};
}

/* Empty slot i, moving back the entries of the probe run after it
 * (backward-shift deletion: no tombstones). */
static void h_remove(struct pendings *p, size_t i)
{
	size_t j = i;

	for (;;) {
		j = (j + 1) & p->h_mask;
		if (!p->h[j].used)
			break;
		size_t home = slot_of(p, p->h[j].dev_eui);
		/* j's entry may fill the hole at i if its home is not in (i, j] */
		bool movable = i <= j ? (home <= i || home > j) : (home <= i && home > j);
		if (movable) {
			p->h[i] = p->h[j];
			i = j;
		}
	}
	memset(&p->h[i], 0, sizeof(p->h[i]));
}

/* A hash of slots (a power of two) holding every entry. */
static int h_rebuild(struct pendings *p, size_t slots)
{
	struct pending_slot *h = calloc(slots, sizeof(*h));

	if (!h)
		return LB_ERR_NOMEM;
	free(p->h);
	p->h = h;
	p->h_mask = slots - 1;
	for (size_t i = 0; i < p->n; i++)
		h_insert(p, p->e[i].dev_eui, p->e[i].dev_addr);
	return LB_OK;
}

/* Room in the hash for one more DevEUI (at most half full). */
static int h_reserve_one(struct pendings *p)
{
	size_t slots = p->h ? p->h_mask + 1 : 0;

	if ((p->n + 1) * 2 <= slots)
		return LB_OK;
	size_t want = slots ? slots * 2 : HASH_MIN;
	while ((p->n + 1) * 2 > want)
		want *= 2;
	return h_rebuild(p, want);
}

/* ---- the table ----------------------------------------------------------- */

/* The prepared key holds raw (a key of an entry going away): free it, the
 * OpenSSL context cleansed with it. */
static void forget_key(struct pendings *p, const uint8_t raw[LW_KEY_LEN])
{
	if (p->mic_key.ready && memcmp(p->mic_key.raw, raw, LW_KEY_LEN) == 0)
		lwcrypto_key_free(&p->mic_key);
}

void pending_free(struct pendings *p)
{
	if (!p)
		return;
	if (p->e)
		wipe(p->e, p->n * sizeof(p->e[0]));
	free(p->e);
	free(p->h);
	lwcrypto_key_free(&p->mic_key);
	memset(p, 0, sizeof(*p));
}

/* The first entry whose DevAddr is not below dev_addr (n if none). */
static size_t lower_bound(const struct pendings *p, uint32_t dev_addr)
{
	size_t lo = 0, hi = p->n;

	if (hi > 0 && p->e[hi - 1].dev_addr < dev_addr)
		return hi;   /* appended in order (a restart's load) */
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
	if (!p || p->n == 0)
		return NULL;
	size_t slot = h_find(p, dev_eui);
	if (slot == SIZE_MAX)
		return NULL;
	struct pending_session *s = pending_find_addr(p, p->h[slot].dev_addr);
	return s && s->dev_eui == dev_eui ? s : NULL;
}

/* Entry i leaves the array (its hash slot is the caller's). */
static void remove_at(struct pendings *p, size_t i)
{
	forget_key(p, p->e[i].nwk_s_key);
	wipe(&p->e[i], sizeof(p->e[i]));
	memmove(&p->e[i], &p->e[i + 1], (p->n - i - 1) * sizeof(p->e[0]));
	p->n--;
	wipe(&p->e[p->n], sizeof(p->e[0]));
}

/* Nothing pending: nothing held. */
static void release_if_empty(struct pendings *p)
{
	if (p->n > 0)
		return;
	free(p->e);
	p->e = NULL;
	p->cap = 0;
	free(p->h);
	p->h = NULL;
	p->h_mask = 0;
}

bool pending_drop(struct pendings *p, uint64_t dev_eui)
{
	struct pending_session *s = pending_find_eui(p, dev_eui);

	if (!s)
		return false;
	remove_at(p, (size_t)(s - p->e));
	h_remove(p, h_find(p, dev_eui));
	release_if_empty(p);
	return true;
}

size_t pending_retain(struct pendings *p,
		      bool (*keep)(void *arg, const struct pending_session *s), void *arg)
{
	size_t kept = 0, dropped;

	if (!p || !keep || p->n == 0)
		return 0;
	for (size_t i = 0; i < p->n; i++) {
		if (keep(arg, &p->e[i])) {
			if (kept != i)
				p->e[kept] = p->e[i];
			kept++;
		} else {
			forget_key(p, p->e[i].nwk_s_key);
		}
	}
	dropped = p->n - kept;
	if (dropped == 0)
		return 0;
	wipe(&p->e[kept], dropped * sizeof(p->e[0]));
	p->n = kept;
	/* the same slots, emptied and filled again: no allocation */
	memset(p->h, 0, (p->h_mask + 1) * sizeof(p->h[0]));
	for (size_t i = 0; i < p->n; i++)
		h_insert(p, p->e[i].dev_eui, p->e[i].dev_addr);
	release_if_empty(p);
	return dropped;
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
		p->h[h_find(p, s->dev_eui)].dev_addr = s->dev_addr;
	} else {
		int rc = reserve_one(p);
		if (rc == LB_OK)
			rc = h_reserve_one(p);
		if (rc != LB_OK) {
			release_if_empty(p);
			return rc;
		}
		h_insert(p, s->dev_eui, s->dev_addr);
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

	if (!p || !f || !out || !fcnt)
		return LB_ERR_INVAL;
	if (!lorawan_is_data_up(f->mtype) || f->msg_len + LW_LEN_MIC != f->phy_len)
		return LB_ERR_INVAL;
	struct pending_session *s = pending_find_addr(p, f->u.data.dev_addr);
	if (!s)
		return LB_ERR_NOT_FOUND;
	uint32_t full = lorawan_fcnt_full(0, false, f->u.data.fcnt16);
	int rc = LB_OK;
	if (!p->mic_key.ready || memcmp(p->mic_key.raw, s->nwk_s_key, LW_KEY_LEN) != 0)
		rc = lwcrypto_key_rekey(&p->mic_key, s->nwk_s_key);
	if (rc == LB_OK)
		rc = lwcrypto_data_mic(&p->mic_key, LW_DIR_UP, s->dev_addr, full, f->phy,
				       f->msg_len, mic);
	if (rc != LB_OK)
		return rc;
	if (!lwcrypto_mic_equal(mic, f->mic))
		return LB_ERR_MIC;
	*out = s;
	*fcnt = full;
	return LB_OK;
}
