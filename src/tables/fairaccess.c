/* SPDX-License-Identifier: MIT */
/* fairaccess.c - per-device fair-access budgets; see fairaccess.h. */
#include "tables/fairaccess.h"

#include <assert.h>
#include <string.h>

#include "base/lb_err.h"

static_assert(sizeof(struct fa_device) == FA_DEVICE_SIZE, "fairaccess.h states the size");
static_assert(FA_PACKED_MAX <= UINT16_MAX, "struct fa_packed's len holds any packed blob");

/* Blob header (fairaccess.h draws it). */
#define OFF_VERSION 0
#define OFF_UPLINK_LEVEL 1
#define OFF_DOWNLINK_LEVEL 2

#define MS_PER_HOUR 3600000u

enum fa_level {
	LEVEL_NONE = 0,
	LEVEL_80 = 1,
	LEVEL_100 = 2
};

int fa_policy_check(const struct fa_policy *p)
{
	if (!p || p->uplink_airtime_ms == 0 || p->downlinks == 0)
		return LB_ERR_INVAL;
	if (p->window_hours == 0 || p->window_hours > FA_MAX_WINDOW_HOURS)
		return LB_ERR_INVAL;
	if (p->action != FA_WARN && p->action != FA_ENFORCE)
		return LB_ERR_INVAL;
	return LB_OK;
}

static uint32_t bucket_ms(const struct fa_policy *p)
{
	return p->window_hours * (MS_PER_HOUR / FA_BUCKETS);
}

int fa_device_init(struct fa_device *dev, const struct fa_policy *p)
{
	if (!dev || fa_policy_check(p) != LB_OK)
		return LB_ERR_INVAL;
	memset(dev, 0, sizeof(*dev));
	ledger_init(&dev->uplink_us, FA_BUCKETS, bucket_ms(p));
	ledger_init(&dev->downlinks, FA_BUCKETS, bucket_ms(p));
	return LB_OK;
}

static uint64_t uplink_budget_us(const struct fa_policy *p)
{
	return (uint64_t)p->uplink_airtime_ms * 1000;
}

static enum fa_level level_of(uint64_t used, uint64_t budget)
{
	if (used >= budget)
		return LEVEL_100;
	return used * 5 >= budget * 4 ? LEVEL_80 : LEVEL_NONE;
}

static enum fa_level downlink_level(const struct fa_device *dev, const struct fa_policy *p,
				    int64_t now_ms)
{
	return level_of(ledger_sum(&dev->downlinks, now_ms), p->downlinks);
}

/* Bring a ledger to the policy's shape: fresh if never used, else re-bucketed. */
static void shape(struct ledger *l, const struct fa_policy *p, int64_t now_ms)
{
	if (l->bucket_ms == 0 || ledger_resample(l, FA_BUCKETS, bucket_ms(p), now_ms) != LB_OK)
		ledger_init(l, FA_BUCKETS, bucket_ms(p));
}

/* What the two ledgers hold within the window at one time. */
struct fa_sums {
	uint64_t up_us;
	uint64_t downlinks;
};

/*
 * Common entry: validate, adopt the policy's window, and re-arm the
 * thresholds that usage has fallen back below as the window slid. *sums
 * gets the usage it measured (callers reuse it: a window is summed once).
 */
static int refresh(struct fa_device *dev, const struct fa_policy *p, int64_t now_ms,
		   struct fa_sums *sums)
{
	enum fa_level up, down;

	if (!dev || fa_policy_check(p) != LB_OK)
		return LB_ERR_INVAL;
	shape(&dev->uplink_us, p, now_ms);
	shape(&dev->downlinks, p, now_ms);
	sums->up_us = ledger_sum(&dev->uplink_us, now_ms);
	sums->downlinks = ledger_sum(&dev->downlinks, now_ms);
	up = level_of(sums->up_us, uplink_budget_us(p));
	down = level_of(sums->downlinks, p->downlinks);
	if (up < dev->uplink_level)
		dev->uplink_level = (uint8_t)up;
	if (down < dev->downlink_level)
		dev->downlink_level = (uint8_t)down;
	return LB_OK;
}

/* Bits for the thresholds between the reported level and `now`, recorded. */
static unsigned rise(uint8_t *reported, enum fa_level now, unsigned bit80, unsigned bit100)
{
	unsigned bits = 0;

	if (now <= *reported)
		return 0;
	if (*reported < LEVEL_80)
		bits |= bit80;
	if (now == LEVEL_100)
		bits |= bit100;
	*reported = (uint8_t)now;
	return bits;
}

/* fa_uplink(); *after gets the usage once the uplink is counted. */
static int count_uplink(struct fa_device *dev, const struct fa_policy *p, int64_t now_ms,
			uint64_t airtime_us, struct fa_verdict *v, struct fa_sums *after)
{
	bool was_exceeded;

	if (!v || refresh(dev, p, now_ms, after) != LB_OK)
		return LB_ERR_INVAL;
	was_exceeded = level_of(after->up_us, uplink_budget_us(p)) == LEVEL_100;
	ledger_add(&dev->uplink_us, now_ms, airtime_us > UINT32_MAX ? UINT32_MAX : (uint32_t)airtime_us);
	after->up_us = ledger_sum(&dev->uplink_us, now_ms);   /* the downlinks' is unchanged */
	v->publish = !(p->action == FA_ENFORCE && was_exceeded);
	v->crossed = rise(&dev->uplink_level, level_of(after->up_us, uplink_budget_us(p)),
			  FA_CROSS_UPLINK_80, FA_CROSS_UPLINK_100);
	return LB_OK;
}

int fa_uplink(struct fa_device *dev, const struct fa_policy *p, int64_t now_ms,
	      uint64_t airtime_us, struct fa_verdict *v)
{
	struct fa_sums after;

	return count_uplink(dev, p, now_ms, airtime_us, v, &after);
}

/* The status of usage sums under policy p. */
static void status_of(const struct fa_sums *sums, const struct fa_policy *p,
		      struct fa_status *st)
{
	st->uplink_airtime_us = sums->up_us;
	st->uplink_budget_ms = p->uplink_airtime_ms;
	st->downlinks = sums->downlinks > UINT32_MAX ? UINT32_MAX : (uint32_t)sums->downlinks;
	st->downlink_budget = p->downlinks;
	st->exceeded = level_of(sums->up_us, uplink_budget_us(p)) == LEVEL_100 ||
		       level_of(sums->downlinks, p->downlinks) == LEVEL_100;
}

int fa_uplink_status(struct fa_device *dev, const struct fa_policy *p, int64_t now_ms,
		     uint64_t airtime_us, struct fa_verdict *v, struct fa_status *st)
{
	struct fa_sums after;

	if (!st)
		return LB_ERR_INVAL;
	int rc = count_uplink(dev, p, now_ms, airtime_us, v, &after);
	if (rc == LB_OK)
		status_of(&after, p, st);
	return rc;
}

int fa_downlink_allowed(struct fa_device *dev, const struct fa_policy *p, int64_t now_ms)
{
	struct fa_sums sums;

	if (refresh(dev, p, now_ms, &sums) != LB_OK)
		return LB_ERR_INVAL;
	if (p->action == FA_ENFORCE && level_of(sums.downlinks, p->downlinks) == LEVEL_100)
		return LB_ERR_RATE_LIMIT;
	return LB_OK;
}

int fa_downlink(struct fa_device *dev, const struct fa_policy *p, int64_t now_ms,
		struct fa_verdict *v)
{
	struct fa_sums sums;
	unsigned bits;

	if (refresh(dev, p, now_ms, &sums) != LB_OK)
		return LB_ERR_INVAL;
	ledger_add(&dev->downlinks, now_ms, 1);
	bits = rise(&dev->downlink_level, downlink_level(dev, p, now_ms), FA_CROSS_DOWNLINK_80,
		    FA_CROSS_DOWNLINK_100);
	if (v) {
		v->publish = true;
		v->crossed = bits;
	}
	return LB_OK;
}

int fa_status(struct fa_device *dev, const struct fa_policy *p, int64_t now_ms,
	      struct fa_status *st)
{
	struct fa_sums sums;

	if (!st || refresh(dev, p, now_ms, &sums) != LB_OK)
		return LB_ERR_INVAL;
	status_of(&sums, p, st);
	return LB_OK;
}

bool fa_device_idle(const struct fa_device *dev, int64_t now_ms)
{
	return dev && dev->uplink_level == 0 && dev->downlink_level == 0 &&
	       ledger_idle(&dev->uplink_us, now_ms) && ledger_idle(&dev->downlinks, now_ms);
}

bool fa_status_changed(const struct fa_status *a, const struct fa_status *b)
{
	if (!a || !b)
		return a != b;
	return a->uplink_airtime_us != b->uplink_airtime_us ||
	       a->uplink_budget_ms != b->uplink_budget_ms || a->downlinks != b->downlinks ||
	       a->downlink_budget != b->downlink_budget || a->exceeded != b->exceeded;
}

int64_t fa_next_change(struct fa_device *dev, const struct fa_policy *p, int64_t now_ms)
{
	struct fa_sums sums;
	int64_t up, down;

	if (refresh(dev, p, now_ms, &sums) != LB_OK)
		return -1;
	up = ledger_next_expiry(&dev->uplink_us, now_ms);
	down = ledger_next_expiry(&dev->downlinks, now_ms);
	if (up < 0 || (down >= 0 && down < up))
		return down;
	return up;
}

int fa_encode(const struct fa_device *dev, uint8_t *out, size_t cap, size_t *len)
{
	size_t up_len = 0, down_len = 0;
	int err;

	if (!dev || !len || (!out && cap > 0))
		return LB_ERR_INVAL;
	if (cap >= FA_ENCODED_MAX) {   /* room for any blob: one pass */
		err = ledger_encode(&dev->uplink_us, out + FA_HEADER_LEN, LEDGER_ENCODED_MAX, &up_len);
		if (err == LB_OK)
			err = ledger_encode(&dev->downlinks, out + FA_HEADER_LEN + up_len,
					    LEDGER_ENCODED_MAX, &down_len);
		if (err != LB_OK)
			return err;
		out[OFF_VERSION] = FA_BLOB_VERSION;
		out[OFF_UPLINK_LEVEL] = dev->uplink_level;
		out[OFF_DOWNLINK_LEVEL] = dev->downlink_level;
		*len = FA_HEADER_LEN + up_len + down_len;
		return LB_OK;
	}
	/* Sizes first, so *len is right even when cap is too small. */
	err = ledger_encode(&dev->uplink_us, NULL, 0, &up_len);
	if (err == LB_OK || err == LB_ERR_TOO_LARGE)
		err = ledger_encode(&dev->downlinks, NULL, 0, &down_len);
	if (err != LB_OK && err != LB_ERR_TOO_LARGE)
		return err;
	*len = FA_HEADER_LEN + up_len + down_len;
	if (cap < *len)
		return LB_ERR_TOO_LARGE;
	out[OFF_VERSION] = FA_BLOB_VERSION;
	out[OFF_UPLINK_LEVEL] = dev->uplink_level;
	out[OFF_DOWNLINK_LEVEL] = dev->downlink_level;
	err = ledger_encode(&dev->uplink_us, out + FA_HEADER_LEN, up_len, &up_len);
	if (err == LB_OK)
		err = ledger_encode(&dev->downlinks, out + FA_HEADER_LEN + up_len, down_len,
				    &down_len);
	return err;
}

static int decode_body(struct fa_device *dev, const uint8_t *in, size_t len)
{
	size_t up_len, down_len;
	int err;

	if (len < FA_HEADER_LEN)
		return LB_ERR_MALFORMED;
	if (in[OFF_VERSION] != FA_BLOB_VERSION)
		return LB_ERR_VERSION;
	if (in[OFF_UPLINK_LEVEL] > LEVEL_100 || in[OFF_DOWNLINK_LEVEL] > LEVEL_100)
		return LB_ERR_MALFORMED;
	dev->uplink_level = in[OFF_UPLINK_LEVEL];
	dev->downlink_level = in[OFF_DOWNLINK_LEVEL];
	err = ledger_decode(&dev->uplink_us, in + FA_HEADER_LEN, len - FA_HEADER_LEN, &up_len);
	if (err != LB_OK)
		return err;
	in += FA_HEADER_LEN + up_len;
	len -= FA_HEADER_LEN + up_len;
	err = ledger_decode(&dev->downlinks, in, len, &down_len);
	if (err != LB_OK)
		return err;
	return down_len == len ? LB_OK : LB_ERR_MALFORMED;
}

/* ---- packed form ---------------------------------------------------------- */

/* Byte 1 of the packed form (fairaccess.h draws it). */
#define PACKED_UP_SHIFT 0
#define PACKED_DOWN_SHIFT 2
#define PACKED_LEVEL_MASK 0x3u
#define PACKED_RESERVED 0xe0u

size_t fa_packed_alloc_size(size_t len)
{
	return ((sizeof(struct fa_packed) + len + 7) | 15) - 7;
}

/* A buffer of FA_PACKED_MAX is written in place; a smaller one through a
 * copy. */
int fa_pack(const struct fa_device *dev, uint8_t *out, size_t cap, size_t *len)
{
	uint8_t buf[FA_PACKED_MAX];
	uint8_t *w = cap >= FA_PACKED_MAX ? out : buf;
	size_t up_len, down_len;
	bool own;
	int err;

	if (!dev || !len || (!out && cap > 0))
		return LB_ERR_INVAL;
	own = !ledger_same_geometry(&dev->uplink_us, &dev->downlinks);
	w[OFF_VERSION] = FA_PACKED_VERSION;
	w[1] = (uint8_t)(dev->uplink_level << PACKED_UP_SHIFT |
			 dev->downlink_level << PACKED_DOWN_SHIFT | (own ? FA_PACKED_OWN_GEOMETRY : 0));
	err = ledger_pack(&dev->uplink_us, true, w + FA_PACKED_HEADER_LEN, LEDGER_PACKED_MAX,
			  &up_len);
	if (err == LB_OK)
		err = ledger_pack(&dev->downlinks, own, w + FA_PACKED_HEADER_LEN + up_len,
				  LEDGER_PACKED_MAX, &down_len);
	if (err != LB_OK)
		return err;
	*len = FA_PACKED_HEADER_LEN + up_len + down_len;
	if (cap < *len)
		return LB_ERR_TOO_LARGE;
	if (w != out)
		memcpy(out, buf, *len);
	return LB_OK;
}

static int unpack_body(struct fa_device *dev, const uint8_t *in, size_t len)
{
	size_t up_len, down_len;
	unsigned flags, up, down;
	int err;

	if (len < FA_PACKED_HEADER_LEN || (in[1] & PACKED_RESERVED))
		return LB_ERR_MALFORMED;
	flags = in[1];
	up = flags >> PACKED_UP_SHIFT & PACKED_LEVEL_MASK;
	down = flags >> PACKED_DOWN_SHIFT & PACKED_LEVEL_MASK;
	if (up > LEVEL_100 || down > LEVEL_100)
		return LB_ERR_MALFORMED;
	dev->uplink_level = (uint8_t)up;
	dev->downlink_level = (uint8_t)down;
	in += FA_PACKED_HEADER_LEN;
	len -= FA_PACKED_HEADER_LEN;
	err = ledger_unpack(&dev->uplink_us, NULL, in, len, &up_len);
	if (err != LB_OK)
		return err;
	err = ledger_unpack(&dev->downlinks,
			    (flags & FA_PACKED_OWN_GEOMETRY) ? NULL : &dev->uplink_us,
			    in + up_len, len - up_len, &down_len);
	if (err != LB_OK)
		return err;
	return up_len + down_len == len ? LB_OK : LB_ERR_MALFORMED;
}

int fa_decode(struct fa_device *dev, const uint8_t *in, size_t len)
{
	int err;

	if (!dev || (!in && len > 0))
		return LB_ERR_INVAL;
	memset(dev, 0, sizeof(*dev));
	if (len > 0 && in[OFF_VERSION] == FA_PACKED_VERSION)
		err = unpack_body(dev, in, len);
	else
		err = decode_body(dev, in, len);
	if (err != LB_OK)
		memset(dev, 0, sizeof(*dev));
	return err;
}

/* ---- an uplink on the packed form ----------------------------------------- */

/* The two ledgers and levels of a packed device, read as pairs; the empty
 * device of policy p for in NULL. LB_ERR_NOT_FOUND for a blob that
 * fa_packed_uplink() leaves to the unpacked way. */
static int sparse_device(const uint8_t *in, size_t len, const struct fa_policy *p,
			 struct ledger_sparse *up, struct ledger_sparse *down,
			 uint8_t *up_level, uint8_t *down_level)
{
	size_t up_len, down_len;
	unsigned flags;

	if (!in) {
		*up = (struct ledger_sparse){.n = FA_BUCKETS, .bucket_ms = bucket_ms(p)};
		*down = *up;
		*up_level = *down_level = LEVEL_NONE;
		return len == 0 ? LB_OK : LB_ERR_INVAL;
	}
	if (len < FA_PACKED_HEADER_LEN || in[OFF_VERSION] != FA_PACKED_VERSION ||
	    (in[1] & FA_PACKED_OWN_GEOMETRY))
		return LB_ERR_NOT_FOUND;
	flags = in[1];
	*up_level = (uint8_t)(flags >> PACKED_UP_SHIFT & PACKED_LEVEL_MASK);
	*down_level = (uint8_t)(flags >> PACKED_DOWN_SHIFT & PACKED_LEVEL_MASK);
	if ((flags & PACKED_RESERVED) || *up_level > LEVEL_100 || *down_level > LEVEL_100)
		return LB_ERR_MALFORMED;
	in += FA_PACKED_HEADER_LEN;
	len -= FA_PACKED_HEADER_LEN;
	int err = ledger_sparse_read(up, NULL, in, len, &up_len);
	if (err == LB_OK)
		err = ledger_sparse_read(down, up, in + up_len, len - up_len, &down_len);
	if (err != LB_OK)
		return err;
	if (up_len + down_len != len)
		return LB_ERR_MALFORMED;
	if (up->n != FA_BUCKETS || up->bucket_ms != bucket_ms(p))
		return LB_ERR_NOT_FOUND;   /* re-bucketed by the unpacked way */
	return LB_OK;
}

/* refresh() on the pairs: the usage at now_ms in *sums, the levels
 * re-armed. */
static void sparse_refresh(const struct ledger_sparse *up, const struct ledger_sparse *down,
			   const struct fa_policy *p, int64_t now_ms, uint8_t *up_level,
			   uint8_t *down_level, struct fa_sums *sums)
{
	sums->up_us = ledger_sparse_sum(up, now_ms);
	sums->downlinks = ledger_sparse_sum(down, now_ms);
	enum fa_level up_now = level_of(sums->up_us, uplink_budget_us(p));
	if (up_now < *up_level)
		*up_level = (uint8_t)up_now;
	enum fa_level down_now = level_of(sums->downlinks, p->downlinks);
	if (down_now < *down_level)
		*down_level = (uint8_t)down_now;
}

static uint8_t packed_flags(uint8_t up_level, uint8_t down_level)
{
	return (uint8_t)(up_level << PACKED_UP_SHIFT | down_level << PACKED_DOWN_SHIFT);
}

int fa_packed_uplink(const uint8_t *in, size_t len, const struct fa_policy *p, int64_t now_ms,
		     uint64_t airtime_us, struct fa_verdict *v, struct fa_status *st,
		     uint8_t *out, size_t cap, size_t *out_len)
{
	struct ledger_sparse up, down;
	uint8_t up_level, down_level, buf[FA_PACKED_MAX];
	struct fa_sums sums;
	size_t up_len, down_len;

	if (!v || !st || !out_len || (!out && cap > 0) || fa_policy_check(p) != LB_OK)
		return LB_ERR_INVAL;
	int err = sparse_device(in, len, p, &up, &down, &up_level, &down_level);
	if (err != LB_OK)
		return err;
	sparse_refresh(&up, &down, p, now_ms, &up_level, &down_level, &sums);
	/* count_uplink() */
	bool was_exceeded = level_of(sums.up_us, uplink_budget_us(p)) == LEVEL_100;
	ledger_sparse_add(&up, now_ms, airtime_us > UINT32_MAX ? UINT32_MAX : (uint32_t)airtime_us);
	sums.up_us = ledger_sparse_sum(&up, now_ms);
	/* fa_pack() */
	buf[OFF_VERSION] = FA_PACKED_VERSION;
	err = ledger_sparse_write(&up, true, buf + FA_PACKED_HEADER_LEN, LEDGER_PACKED_MAX, &up_len);
	if (err == LB_OK)
		err = ledger_sparse_write(&down, false, buf + FA_PACKED_HEADER_LEN + up_len,
					  LEDGER_PACKED_MAX, &down_len);
	if (err != LB_OK)
		return err;
	*out_len = FA_PACKED_HEADER_LEN + up_len + down_len;
	if (cap < *out_len)
		return LB_ERR_TOO_LARGE;
	v->publish = !(p->action == FA_ENFORCE && was_exceeded);
	v->crossed = rise(&up_level, level_of(sums.up_us, uplink_budget_us(p)), FA_CROSS_UPLINK_80,
			  FA_CROSS_UPLINK_100);
	buf[1] = packed_flags(up_level, down_level);
	memcpy(out, buf, *out_len);
	status_of(&sums, p, st);
	return LB_OK;
}

int fa_packed_downlink_allowed(const uint8_t *in, size_t len, const struct fa_policy *p,
			       int64_t now_ms, uint8_t *flags)
{
	struct ledger_sparse up, down;
	uint8_t up_level, down_level;
	struct fa_sums sums;

	if (!flags || fa_policy_check(p) != LB_OK)
		return LB_ERR_INVAL;
	int err = sparse_device(in, len, p, &up, &down, &up_level, &down_level);
	if (err != LB_OK)
		return err;
	sparse_refresh(&up, &down, p, now_ms, &up_level, &down_level, &sums);
	*flags = packed_flags(up_level, down_level);
	if (p->action == FA_ENFORCE && level_of(sums.downlinks, p->downlinks) == LEVEL_100)
		return LB_ERR_RATE_LIMIT;
	return LB_OK;
}
