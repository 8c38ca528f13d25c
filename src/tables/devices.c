/* SPDX-License-Identifier: MIT */
/*
 * devices.c - device registry, hash indexes and uplink session checks.
 * See devices.h for the rules; frame counters: TS001-1.0.4 §4.3.1.5, MIC
 * §4.4, FRMPayload keys §4.3.3.
 *
 * Indexes: two open-addressing tables of device indices (DEV_NIL = empty
 * slot) with linear probing, sized to a power of two >= 2n so probes stay
 * short. They are built once per (re)load and never modified, so no
 * deletion is needed. The DevAddr table holds the first device of each
 * address; the others are chained through lb_device.addr_next.
 */
#include "tables/devices.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/lb_err.h"
#include "lorawan/region.h"
#include "events/devinfo.h"

#define DEV_NIL UINT32_MAX
#define FIB64 UINT64_C(0x9E3779B97F4A7C15)   /* 2^64 / golden ratio (Knuth 6.4) */
#define FCNT_BLOCK UINT32_C(0x10000)         /* counters per 16-bit on-air value */
#define FCNT_HIGH_MASK UINT32_C(0xffff0000)
#define DEVICES_MAX (UINT32_MAX / 4)

/* README "Memory and start-up" states the size a device costs (LP64). */
_Static_assert(REGION_RP_COUNT <= 16, "lb_device.regional_parameters is 4 bits");
_Static_assert(sizeof(void *) != 8 || sizeof(struct lb_device) == 216,
	       "README states sizeof(struct lb_device)");

static size_t slot_of(uint64_t key, size_t mask)
{
	return (size_t)((key * FIB64) >> 32) & mask;
}

/* ------------------------------------------------------------- building */

/* The pool's copy of s, "" for NULL (NULL: out of memory). */
static const char *intern_or_empty(struct strpool *sp, const char *s)
{
	return strpool_intern(sp, s ? s : "");
}

/* The slab of packed ledgers of size bytes; NULL: malloc'd. */
static struct slab *fa_slab(struct devices *d, size_t size)
{
	return size <= DEVICES_FA_SLAB_MAX ? &d->fa_slabs[(size - 8) / 16] : NULL;
}

/* p's size class is worked out again from p->len: only
 * devices_fa_resize() may change len (devices.h). Under ASan a len that
 * no longer matches where p lies (a wrong slab, or malloc'd) aborts here
 * instead of corrupting a free list. */
static void fa_release(struct devices *d, struct fa_packed *p)
{
	if (!p)
		return;
	struct slab *s = fa_slab(d, fa_packed_alloc_size(p->len));
#ifdef SLAB_ASAN
	for (size_t i = 0; i < DEVICES_FA_CLASSES; i++)
		if (&d->fa_slabs[i] != s && slab_owns(&d->fa_slabs[i], p))
			abort();   /* len changed behind devices_fa_resize() */
	if (s && !slab_owns(s, p))
		abort();
#endif
	if (s)
		slab_release(s, p);
	else
		free(p);
}

/* What the device owns itself; its strings are the table's, and so are
 * its ledgers and MAC state (in d's slabs, given back there). */
static void device_release(struct devices *d, struct lb_device *dev)
{
	free(dev->tags);
	fa_release(d, dev->rt.fa);
	slab_release(&d->macs, dev->rt.mac);
	free(dev->rt.confirmed);
	/* The raw keys are wiped with the rest. */
	memset(dev, 0, sizeof(*dev));
}

/* The tag strings are interned: their key and value pointers are the
 * pool's, never written through (struct lb_tag is shared with the
 * configuration, whose strings are its own). */
static int copy_tags(struct strpool *sp, struct lb_device *dev, const struct lb_device_conf *c)
{
	size_t n = c->n_tags < CONFIG_MAX_TAGS ? c->n_tags : CONFIG_MAX_TAGS;

	if (n == 0)
		return LB_OK;
	dev->tags = calloc(n, sizeof(*dev->tags));
	if (!dev->tags)
		return LB_ERR_NOMEM;
	for (size_t i = 0; i < n; i++) {
		const char *k = intern_or_empty(sp, c->tags[i].key);
		const char *v = intern_or_empty(sp, c->tags[i].value);
		if (!k || !v)
			return LB_ERR_NOMEM;
		dev->tags[i].key = (char *)(uintptr_t)k;
		dev->tags[i].value = (char *)(uintptr_t)v;
		dev->n_tags = (uint8_t)(i + 1);
	}
	return LB_OK;
}

/* The device's profile from its configuration, shared with the devices
 * built before it that have the same. */
static int profile_from_conf(struct devices *d, struct lb_device *dev,
			     const struct lb_device_conf *c)
{
	struct strpool *sp = &d->strings;
	struct lb_devprofile key = {0};

	key.status_interval_h = c->status_interval_h;
	key.fa_policy.uplink_airtime_ms = (uint32_t)c->fair_access.uplink_airtime_ms;
	key.fa_policy.downlinks = (uint32_t)c->fair_access.downlinks;
	key.fa_policy.window_hours = (uint32_t)c->fair_access.window_hours;
	key.fa_policy.action = c->fair_access.action == LB_FA_ENFORCE ? FA_ENFORCE : FA_WARN;
	if (fa_policy_check(&key.fa_policy) != LB_OK)
		key.fa_policy = (struct fa_policy)FA_POLICY_INIT;
	key.application = strpool_intern(sp, c->application ? c->application : "default");
	key.application_id = strpool_intern(sp, c->application_id);
	key.codec = (uint8_t)c->codec;
	key.codec_script = c->codec == LB_CODEC_JS ? strpool_intern(sp, c->codec_script) : NULL;
	if (!key.application || (c->application_id && !key.application_id) ||
	    (c->codec == LB_CODEC_JS && c->codec_script && !key.codec_script))
		return LB_ERR_NOMEM;
	/* the configured applicationId, else the default at the first event
	 * (devices_app_ids()) */
	key.app_uuid = key.application_id;
	dev->prof = devprofiles_intern(&d->profiles, &key);
	return dev->prof ? LB_OK : LB_ERR_NOMEM;
}

/* The default applicationId of profile p (a SHA-1 of its application),
 * shared with prev, the profile computed before it, when both are of the
 * same application. */
static int default_application_id(struct strpool *sp, struct lb_devprofile *p,
				  const struct lb_devprofile *prev)
{
	char id[DEVINFO_ID_SIZE];

	if (prev && prev->application == p->application && !prev->application_id) {
		p->app_uuid = prev->app_uuid;
		return LB_OK;
	}
	int rc = devinfo_application_id(p->application, id);
	if (rc != LB_OK)
		return rc;
	p->app_uuid = strpool_intern(sp, id);
	return p->app_uuid ? LB_OK : LB_ERR_NOMEM;
}

int devices_app_ids(struct devices *d)
{
	const struct lb_devprofile *prev = NULL;
	int rc = LB_OK;

	if (!d)
		return LB_ERR_INVAL;
	if (d->app_ids_done)
		return LB_OK;
	for (size_t i = 0; i < d->profiles.n && rc == LB_OK; i++) {
		struct lb_devprofile *p = d->profiles.v[i];
		if (p->app_uuid)
			continue;
		rc = default_application_id(&d->strings, p, prev);
		prev = p;
	}
	strpool_seal(&d->strings);   /* the ids' index goes with the pass */
	d->app_ids_done = rc == LB_OK;
	return rc;
}

static void session_from_conf(struct lb_device *dev, const struct lb_device_conf *c)
{
	dev->has_last_fcnt = c->has_fcnt_up && c->fcnt_up > 0;
	dev->last_fcnt_up = dev->has_last_fcnt ? c->fcnt_up - 1 : 0;
}

/* Deep copy of one configured device (strings into d->strings; root: its
 * OTAA root keys' place, NULL for ABP); on error dev is released. */
static int device_from_conf(struct devices *d, struct lb_device *dev,
			    const struct lb_device_conf *c, struct lb_otaa_root *root)
{
	struct strpool *sp = &d->strings;
	int rc;

	memset(dev, 0, sizeof(*dev));
	dev->dev_eui = c->dev_eui;
	dev->activation = (uint8_t)c->activation;
	dev->lorawan_version = (uint8_t)c->lorawan_version & 0xFu;
	dev->regional_parameters = (uint8_t)c->regional_parameters & 0xFu;
	dev->rt.last_dr = -1;
	dev->adr = c->adr;
	dev->addr_next = DEV_NIL;
	dev->name = intern_or_empty(sp, c->name);
	dev->dev_class = (uint8_t)c->dev_class;
	if (!dev->name) {
		device_release(d, dev);
		return LB_ERR_NOMEM;
	}
	if ((rc = profile_from_conf(d, dev, c)) != LB_OK) {
		device_release(d, dev);
		return rc;
	}
	if ((rc = copy_tags(sp, dev, c)) != LB_OK) {
		device_release(d, dev);
		return rc;
	}
	dev->key_hint = LWKEYCACHE_NONE;
	if (c->activation == LB_ACT_ABP) {
		memcpy(dev->nwk_s_key, c->nwk_s_key, LW_KEY_LEN);
		memcpy(dev->app_s_key, c->app_s_key, LW_KEY_LEN);
		dev->has_session = true;
		dev->dev_addr = c->dev_addr;
	} else {
		root->join_eui = c->join_eui;
		memcpy(root->app_key, c->app_key, LW_KEY_LEN);
		dev->otaa = root;
	}
	session_from_conf(dev, c);
	return LB_OK;
}

static int index_eui(struct devices *d, uint32_t i)
{
	size_t s = slot_of(d->dev[i].dev_eui, d->mask);

	while (d->eui_slots[s] != DEV_NIL) {
		if (d->dev[d->eui_slots[s]].dev_eui == d->dev[i].dev_eui)
			return LB_ERR_CONFIG;
		s = (s + 1) & d->mask;
	}
	d->eui_slots[s] = i;
	return LB_OK;
}

/* Appends to the end of the chain so candidates keep configuration order. */
static void index_addr(struct devices *d, uint32_t i)
{
	uint32_t addr = d->dev[i].dev_addr;
	size_t s = slot_of(addr, d->mask);
	uint32_t j;

	while (d->addr_slots[s] != DEV_NIL && d->dev[d->addr_slots[s]].dev_addr != addr)
		s = (s + 1) & d->mask;
	if (d->addr_slots[s] == DEV_NIL) {
		d->addr_slots[s] = i;
		return;
	}
	for (j = d->addr_slots[s]; d->dev[j].addr_next != DEV_NIL; j = d->dev[j].addr_next)
		;
	d->dev[j].addr_next = i;
}

static int alloc_tables(struct devices *d, const struct lb_device_conf *conf, size_t n)
{
	size_t slots = 2;

	for (size_t i = 0; i < n; i++)
		d->n_roots += conf[i].activation == LB_ACT_OTAA;
	if (d->n_roots && !(d->roots = calloc(d->n_roots, sizeof(*d->roots))))
		return LB_ERR_NOMEM;

	while (slots < 2 * n)
		slots <<= 1;
	d->mask = slots - 1;
	d->dev = calloc(n ? n : 1, sizeof(*d->dev));
	d->eui_slots = malloc(slots * sizeof(*d->eui_slots));
	d->addr_slots = malloc(slots * sizeof(*d->addr_slots));
	if (!d->dev || !d->eui_slots || !d->addr_slots)
		return LB_ERR_NOMEM;
	if (lwkeycache_init(&d->keys, DEVICES_KEY_CACHE) != LB_OK)
		return LB_ERR_NOMEM;
	strpool_init(&d->strings);
	devprofiles_init(&d->profiles);
	slab_init(&d->macs, sizeof(struct macstate));
	for (size_t i = 0; i < DEVICES_FA_CLASSES; i++)
		slab_init(&d->fa_slabs[i], 8 + 16 * i);
	for (size_t i = 0; i < slots; i++)
		d->eui_slots[i] = d->addr_slots[i] = DEV_NIL;
	return LB_OK;
}

int devices_init(struct devices *d, const struct lb_device_conf *conf, size_t n)
{
	int rc;

	if (!d || (n && !conf))
		return LB_ERR_INVAL;
	memset(d, 0, sizeof(*d));
	if (n > DEVICES_MAX)
		return LB_ERR_RANGE;
	if ((rc = alloc_tables(d, conf, n)) != LB_OK) {
		devices_free(d);
		return rc;
	}
	for (size_t i = 0, r = 0; i < n; i++) {
		struct lb_otaa_root *root =
			conf[i].activation == LB_ACT_OTAA ? &d->roots[r++] : NULL;
		if ((rc = device_from_conf(d, &d->dev[i], &conf[i], root)) != LB_OK) {
			devices_free(d);
			return rc;
		}
		d->n = i + 1;
		if ((rc = index_eui(d, (uint32_t)i)) != LB_OK) {
			devices_free(d);
			return rc;
		}
		if (d->dev[i].has_session)
			index_addr(d, (uint32_t)i);
	}
	strpool_seal(&d->strings);   /* nothing is interned after the build */
	devprofiles_seal(&d->profiles);
	return LB_OK;
}

void devices_free(struct devices *d)
{
	if (!d)
		return;
	for (size_t i = 0; i < d->n; i++)
		device_release(d, &d->dev[i]);
	free(d->dev);
	free(d->eui_slots);
	free(d->addr_slots);
	if (d->roots)   /* the root keys are wiped too */
		memset(d->roots, 0, d->n_roots * sizeof(*d->roots));
	free(d->roots);
	lwkeycache_free(&d->keys);
	strpool_free(&d->strings);
	devprofiles_free(&d->profiles);
	slab_free(&d->macs);
	for (size_t i = 0; i < DEVICES_FA_CLASSES; i++)
		slab_free(&d->fa_slabs[i]);
	memset(d, 0, sizeof(*d));
}

/* --------------------------------------------------------------- reload */

/* Same device as far as sessions go: ABP with the same DevAddr and keys, or
 * OTAA with the same root keys (its joined session then carries over). */
static bool same_identity(const struct lb_device *fresh, const struct lb_device *old)
{
	if (fresh->activation != old->activation)
		return false;
	if (fresh->activation == LB_ACT_OTAA)
		return fresh->otaa->join_eui == old->otaa->join_eui &&
		       memcmp(fresh->otaa->app_key, old->otaa->app_key, LW_KEY_LEN) == 0;
	/* an ABP device left without its session (devices_drop_session())
	 * is taken in afresh: its stored counters are read again */
	return old->has_session && fresh->dev_addr == old->dev_addr &&
	       memcmp(fresh->nwk_s_key, old->nwk_s_key, LW_KEY_LEN) == 0 &&
	       memcmp(fresh->app_s_key, old->app_s_key, LW_KEY_LEN) == 0;
}

/* Carry session and frame counter over; the configured floor still applies.
 * What rt owns (ledgers, MAC state, awaited confirmed downlink) stays the
 * old table's here: copy_owned() and devices_reload() give fresh its own. */
static void keep_state(struct lb_device *fresh, const struct lb_device *old)
{
	bool floor = fresh->has_last_fcnt;
	uint32_t floor_last = fresh->last_fcnt_up;

	fresh->has_last_fcnt = old->has_last_fcnt;
	fresh->last_fcnt_up = old->last_fcnt_up;
	if (floor && (!fresh->has_last_fcnt || fresh->last_fcnt_up < floor_last)) {
		fresh->has_last_fcnt = true;
		fresh->last_fcnt_up = floor_last;
	}
	fresh->last_seen_ms = old->last_seen_ms;
	fresh->rt = old->rt;
	fresh->rt.fa = NULL;
	fresh->rt.mac = NULL;
	fresh->rt.confirmed = NULL;
	fresh->state_kept = true;
}

/* A kept device's MAC state and ledgers, copied into the fresh table's
 * slabs (about 120 bytes a device, and a reload is rare): the old slabs,
 * with every free slot a larger fleet left in them, are then freed whole
 * with the old table. LB_OK or LB_ERR_NOMEM (fresh owns what was copied). */
static int copy_owned(struct devices *d, struct lb_device *fresh, const struct lb_device *old)
{
	if (old->rt.mac) {
		struct macstate *m = devices_mac_new(d, fresh);
		if (!m)
			return LB_ERR_NOMEM;
		*m = *old->rt.mac;
	}
	if (old->rt.fa) {
		struct fa_packed *p = devices_fa_resize(d, fresh, old->rt.fa->len);
		if (!p)
			return LB_ERR_NOMEM;
		memcpy(p->blob, old->rt.fa->blob, old->rt.fa->len);
	}
	return LB_OK;
}

/* An OTAA device's joined session, re-keyed into the fresh table. */
static int keep_joined(struct devices *d, struct lb_device *fresh, const struct lb_device *old)
{
	if (fresh->activation != LB_ACT_OTAA || !old->has_session)
		return LB_OK;
	bool has_last = fresh->has_last_fcnt;
	uint32_t last = fresh->last_fcnt_up;
	return devices_set_session(d, fresh, old->dev_addr, old->nwk_s_key, old->app_s_key,
				   has_last, last);
}

/* The old table's devices kept in fresh hand their awaited confirmed
 * downlink (one malloc'd copy) over: nothing can fail any more. */
static void move_confirmed(struct devices *fresh, struct devices *old)
{
	for (size_t i = 0; i < fresh->n; i++) {
		struct lb_device *f = &fresh->dev[i];
		struct lb_device *o = f->state_kept ? devices_find_eui(old, f->dev_eui) : NULL;
		if (!o)
			continue;
		f->rt.confirmed = o->rt.confirmed;
		o->rt.confirmed = NULL;
	}
}

int devices_reload(struct devices *d, const struct lb_device_conf *conf, size_t n)
{
	struct devices fresh;
	int rc = devices_init(&fresh, conf, n);

	if (rc != LB_OK)
		return rc;
	for (size_t i = 0; i < fresh.n; i++) {
		struct lb_device *old = devices_find_eui(d, fresh.dev[i].dev_eui);
		if (!old || !same_identity(&fresh.dev[i], old))
			continue;
		keep_state(&fresh.dev[i], old);
		if ((rc = copy_owned(&fresh, &fresh.dev[i], old)) != LB_OK ||
		    (rc = keep_joined(&fresh, &fresh.dev[i], old)) != LB_OK) {
			devices_free(&fresh);
			return rc;
		}
	}
	move_confirmed(&fresh, d);
	devices_free(d);
	*d = fresh;
	return LB_OK;
}

/* --------------------------------------------------------------- lookup */

size_t devices_count(const struct devices *d)
{
	return d->n;
}

struct lb_device *devices_find_eui(struct devices *d, uint64_t dev_eui)
{
	if (!d->eui_slots)
		return NULL;
	for (size_t s = slot_of(dev_eui, d->mask); d->eui_slots[s] != DEV_NIL; s = (s + 1) & d->mask) {
		if (d->dev[d->eui_slots[s]].dev_eui == dev_eui)
			return &d->dev[d->eui_slots[s]];
	}
	return NULL;
}

static uint32_t addr_head(const struct devices *d, uint32_t dev_addr)
{
	if (!d->addr_slots)
		return DEV_NIL;
	for (size_t s = slot_of(dev_addr, d->mask); d->addr_slots[s] != DEV_NIL;
	     s = (s + 1) & d->mask) {
		if (d->dev[d->addr_slots[s]].dev_addr == dev_addr)
			return d->addr_slots[s];
	}
	return DEV_NIL;
}

size_t devices_find_addr(struct devices *d, uint32_t dev_addr, struct lb_device **out, size_t max)
{
	size_t n = 0;

	for (uint32_t i = addr_head(d, dev_addr); i != DEV_NIL && n < max; i = d->dev[i].addr_next)
		out[n++] = &d->dev[i];
	return n;
}

struct lb_device *devices_find_abp(struct devices *d, uint32_t dev_addr,
				   const uint8_t nwk_s_key[LW_KEY_LEN],
				   const uint8_t app_s_key[LW_KEY_LEN])
{
	for (uint32_t i = addr_head(d, dev_addr); i != DEV_NIL; i = d->dev[i].addr_next) {
		struct lb_device *dev = &d->dev[i];
		if (dev->activation == LB_ACT_ABP && dev->dev_addr == dev_addr &&
		    memcmp(dev->nwk_s_key, nwk_s_key, LW_KEY_LEN) == 0 &&
		    memcmp(dev->app_s_key, app_s_key, LW_KEY_LEN) == 0)
			return dev;
	}
	return NULL;
}

/* ------------------------------------------------------- verification */

size_t devices_release_keys(struct devices *d)
{
	return lwkeycache_release(&d->keys);
}

int devices_keys(struct devices *d, struct lb_device *dev, struct lw_keys **out)
{
	if (!d || !dev || !out)
		return LB_ERR_INVAL;
	if (!dev->has_session)
		return LB_ERR_STATE;
	return lwkeycache_get(&d->keys, &dev->key_hint, dev->nwk_s_key, dev->app_s_key, out);
}

/* 1 if the frame's MIC verifies with fcnt, 0 if not, < 0 on crypto error. */
static int mic_ok(struct devices *d, struct lb_device *dev, const struct lw_frame *f,
		  uint32_t fcnt)
{
	uint8_t mic[LW_LEN_MIC];
	struct lw_keys *ks;

	if (!dev->has_session)   /* devices_drop_session(): it verifies nothing */
		return 0;
	int rc = devices_keys(d, dev, &ks);

	if (rc == LB_OK)
		rc = lwcrypto_data_mic(&ks->nwk_s_key, LW_DIR_UP, dev->dev_addr, fcnt, f->phy,
				       f->msg_len, mic);
	if (rc != LB_OK)
		return rc;
	return lwcrypto_mic_equal(mic, f->mic) ? 1 : 0;
}

/* The counter the frame must carry if it is new or a repeat
 * (TS001-1.0.4 §4.3.1.5). False if
 * the 32-bit counter would wrap. */
static bool forward_fcnt(const struct lb_device *dev, uint16_t f16, uint32_t *fcnt)
{
	*fcnt = lorawan_fcnt_full(dev->last_fcnt_up, dev->has_last_fcnt, f16);
	return !dev->has_last_fcnt || *fcnt >= dev->last_fcnt_up;
}

/* Counters below the last accepted one that could carry f16: the value in
 * the current 65536-block (or the block before), then the plain 16-bit
 * value (a device that restarted from 0). Returns how many are in c. */
static size_t replay_fcnts(const struct lb_device *dev, uint16_t f16, uint32_t c[2])
{
	uint32_t last = dev->last_fcnt_up;
	uint32_t block = (last & FCNT_HIGH_MASK) | f16;
	size_t n = 0;

	if (!dev->has_last_fcnt)
		return 0;
	if (block < last)
		c[n++] = block;
	else if (block > last && last >= FCNT_BLOCK)
		c[n++] = block - FCNT_BLOCK;
	if (f16 < last && (n == 0 || c[0] != f16))
		c[n++] = f16;
	return n;
}

/* 1: verified with a new counter; 0: no match; LB_ERR_DUPLICATE: verified
 * with the last accepted counter; other negative: crypto error. */
static int try_forward(struct devices *d, struct lb_device *dev, const struct lw_frame *f,
		       struct lb_uplink_match *out)
{
	uint32_t fcnt;
	int ok;

	if (!forward_fcnt(dev, f->u.data.fcnt16, &fcnt))
		return 0;
	if ((ok = mic_ok(d, dev, f, fcnt)) <= 0)
		return ok;
	out->dev = dev;
	out->fcnt = fcnt;
	if (dev->has_last_fcnt && fcnt == dev->last_fcnt_up)
		return LB_ERR_DUPLICATE;
	return 1;
}

/* LB_ERR_REPLAY: verified with an old counter; 0: no match; < 0 crypto. */
static int try_replay(struct devices *d, struct lb_device *dev, const struct lw_frame *f,
		      struct lb_uplink_match *out)
{
	uint32_t c[2];
	size_t n = replay_fcnts(dev, f->u.data.fcnt16, c);

	for (size_t i = 0; i < n; i++) {
		int ok = mic_ok(d, dev, f, c[i]);
		if (ok < 0)
			return ok;
		if (ok) {
			out->dev = dev;
			out->fcnt = c[i];
			out->fcnt_reset = c[i] == f->u.data.fcnt16;
			return LB_ERR_REPLAY;
		}
	}
	return 0;
}

int devices_verify_uplink(struct devices *d, const struct lw_frame *f, struct lb_uplink_match *out)
{
	uint32_t head, i;
	int rc;

	if (!d || !f || !out)
		return LB_ERR_INVAL;
	memset(out, 0, sizeof(*out));
	if (!lorawan_is_data_up(f->mtype) || f->msg_len + LW_LEN_MIC != f->phy_len)
		return LB_ERR_INVAL;
	head = addr_head(d, f->u.data.dev_addr);
	for (i = head; i != DEV_NIL; i = d->dev[i].addr_next)
		out->n_candidates++;
	if (out->n_candidates == 0)
		return LB_ERR_NOT_FOUND;
	/* Cheapest and by far the most common outcome first: a new counter. */
	for (i = head; i != DEV_NIL; i = d->dev[i].addr_next) {
		rc = try_forward(d, &d->dev[i], f, out);
		if (rc != 0)
			return rc > 0 ? LB_OK : rc;
	}
	for (i = head; i != DEV_NIL; i = d->dev[i].addr_next) {
		if ((rc = try_replay(d, &d->dev[i], f, out)) != 0)
			return rc;
	}
	return LB_ERR_MIC;
}

void devices_accept_uplink(struct lb_device *dev, uint32_t fcnt)
{
	if (!dev || (dev->has_last_fcnt && fcnt <= dev->last_fcnt_up))
		return;
	dev->has_last_fcnt = true;
	dev->last_fcnt_up = fcnt;
}

static void reindex_addr(struct devices *d)
{
	for (size_t i = 0; i <= d->mask; i++)
		d->addr_slots[i] = DEV_NIL;
	for (uint32_t i = 0; i < d->n; i++)
		d->dev[i].addr_next = DEV_NIL;
	for (uint32_t i = 0; i < d->n; i++)
		if (d->dev[i].has_session)
			index_addr(d, i);
}

void devices_drop_session(struct devices *d, struct lb_device *dev)
{
	/* O(1): it stays in the DevAddr index (a failing store may drop many),
	 * where mic_ok() finds no match for it */
	if (d && dev)
		dev->has_session = false;
}

int devices_set_session(struct devices *d, struct lb_device *dev, uint32_t dev_addr,
			const uint8_t nwk_s_key[LW_KEY_LEN], const uint8_t app_s_key[LW_KEY_LEN],
			bool has_last, uint32_t last_fcnt_up)
{
	if (!d || !dev || !nwk_s_key || !app_s_key)
		return LB_ERR_INVAL;
	/* memmove: the raw keys may be the device's own. A slot of the key
	 * cache holding the old keys is simply no longer asked for. */
	memmove(dev->nwk_s_key, nwk_s_key, LW_KEY_LEN);
	memmove(dev->app_s_key, app_s_key, LW_KEY_LEN);
	dev->has_session = true;
	dev->dev_addr = dev_addr;
	dev->has_last_fcnt = has_last;
	dev->last_fcnt_up = has_last ? last_fcnt_up : 0;
	reindex_addr(d);
	return LB_OK;
}

struct fa_packed *devices_fa_resize(struct devices *d, struct lb_device *dev, size_t len)
{
	struct fa_packed *p = dev->rt.fa, *n;
	size_t size = fa_packed_alloc_size(len);

	if (len > UINT16_MAX)
		return NULL;
	if (p && fa_packed_alloc_size(p->len) == size) {
		p->len = (uint16_t)len;
		return p;
	}
	struct slab *s = fa_slab(d, size);
	n = s ? slab_alloc(s) : calloc(1, size);
	if (!n)
		return NULL;
	n->len = (uint16_t)len;   /* its size class from now on (fa_release) */
	if (p) {
		memcpy(n->blob, p->blob, p->len < len ? p->len : len);
		fa_release(d, p);
	}
	dev->rt.fa = n;
	return n;
}

void devices_fa_drop(struct devices *d, struct lb_device *dev)
{
	fa_release(d, dev->rt.fa);
	dev->rt.fa = NULL;
}

struct macstate *devices_mac_new(struct devices *d, struct lb_device *dev)
{
	if (!dev->rt.mac)
		dev->rt.mac = slab_alloc(&d->macs);
	return dev->rt.mac;
}

void devices_mac_drop(struct devices *d, struct lb_device *dev)
{
	slab_release(&d->macs, dev->rt.mac);
	dev->rt.mac = NULL;
}

void devices_set_seen(struct lb_device *dev, int64_t now_ms)
{
	if (dev)
		dev->last_seen_ms = now_ms;
}

int devices_set_confirmed(struct lb_device *dev, const char *id, uint32_t fcnt)
{
	if (!dev || !id)
		return LB_ERR_INVAL;
	size_t len = strlen(id) + 1;
	struct lb_confirmed *copy = malloc(sizeof(*copy) + len);
	if (!copy)
		return LB_ERR_NOMEM;
	copy->fcnt = fcnt;
	memcpy(copy->id, id, len);
	free(dev->rt.confirmed);
	dev->rt.confirmed = copy;
	return LB_OK;
}

void devices_clear_confirmed(struct lb_device *dev)
{
	if (!dev)
		return;
	free(dev->rt.confirmed);
	dev->rt.confirmed = NULL;
}

int devices_decrypt(struct devices *d, struct lb_device *dev, const struct lw_frame *f,
		    uint32_t fcnt, uint8_t *out)
{
	const struct lw_data *data;
	struct lw_keys *ks;
	struct lw_key *k;

	if (!dev || !dev->has_session)
		return LB_ERR_STATE;
	if (!f)
		return LB_ERR_INVAL;
	data = &f->u.data;
	if (!data->has_fport || data->frm_len == 0)
		return LB_OK;
	int rc = devices_keys(d, dev, &ks);
	if (rc != LB_OK)
		return rc;
	k = data->fport == 0 ? &ks->nwk_s_key : &ks->app_s_key;
	return lwcrypto_payload_crypt(k, LW_DIR_UP, dev->dev_addr, fcnt, data->frm_payload,
				      data->frm_len, out);
}
