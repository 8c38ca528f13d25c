/* SPDX-License-Identifier: MIT */
/* dutycycle.c - per-gateway, per-sub-band transmit duty cycle; see dutycycle.h. */
#include "tables/dutycycle.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "base/lb_err.h"

/* Blob header (dutycycle.h draws it). */
#define OFF_VERSION 0
#define OFF_NAME_LEN 1
#define OFF_NAME 2

/* µs per hour per ppm of duty cycle: 3600 s * 1e6 µs / 1e6. */
#define US_PER_PPM_HOUR 3600u

int dc_init(struct dc_gateway *gw)
{
	if (!gw)
		return LB_ERR_INVAL;
	memset(gw, 0, sizeof(*gw));
	return LB_OK;
}

/* Bind the gateway to `region`, starting afresh if it was bound to another. */
static int bind_region(struct dc_gateway *gw, const struct region *region)
{
	if (!gw || !region || region->n_subbands > DC_MAX_SUBBANDS)
		return LB_ERR_INVAL;
	if (gw->region == region)
		return LB_OK;
	memset(gw, 0, sizeof(*gw));
	gw->region = region;
	for (size_t i = 0; i < region->n_subbands; i++)
		ledger_init(&gw->used_us[i], DC_BUCKETS, DC_BUCKET_MS);
	return LB_OK;
}

static uint64_t limit_us(const struct region_subband *sb)
{
	return (uint64_t)sb->dc_ppm * US_PER_PPM_HOUR;
}

static bool unlimited(const struct region_subband *sb)
{
	return sb->dc_ppm >= REGION_DC_UNLIMITED;
}

/* Sub-band index of freq_hz, after binding; negative lb_err otherwise. */
static int lookup(struct dc_gateway *gw, const struct region *region, uint32_t freq_hz,
		  const struct region_subband **sb)
{
	int err = bind_region(gw, region);
	if (err != LB_OK)
		return err;
	return region_subband(region, freq_hz, sb);
}

int dc_check(struct dc_gateway *gw, const struct region *region, uint32_t freq_hz,
	     uint64_t airtime_us, int64_t now_ms)
{
	const struct region_subband *sb;
	int i = lookup(gw, region, freq_hz, &sb);
	uint64_t used;

	if (i < 0)
		return i;
	if (unlimited(sb))
		return LB_OK;
	used = ledger_sum(&gw->used_us[i], now_ms);
	if (airtime_us > limit_us(sb) || used > limit_us(sb) - airtime_us)
		return LB_ERR_FULL;
	return LB_OK;
}

int dc_record(struct dc_gateway *gw, const struct region *region, uint32_t freq_hz,
	      uint64_t airtime_us, int64_t now_ms)
{
	const struct region_subband *sb;
	int i = lookup(gw, region, freq_hz, &sb);

	if (i < 0)
		return i;
	return ledger_add(&gw->used_us[i], now_ms,
			  airtime_us > UINT32_MAX ? UINT32_MAX : (uint32_t)airtime_us);
}

int64_t dc_next_room(struct dc_gateway *gw, const struct region *region,
		     const struct dc_attempt *attempts, size_t n, int64_t now_ms)
{
	int64_t next = -1;

	if (!attempts || n == 0 || bind_region(gw, region) != LB_OK)
		return LB_ERR_INVAL;
	for (size_t k = 0; k < n; k++) {
		const struct region_subband *sb;
		int i = lookup(gw, region, attempts[k].freq_hz, &sb);
		if (i < 0 || unlimited(sb))
			continue;
		int64_t t = ledger_next_expiry(&gw->used_us[i], now_ms);
		if (t > now_ms && (next < 0 || t < next))
			next = t;
	}
	return next;
}

int dc_choose(struct dc_gateway *gw, const struct region *region,
	      const struct dc_attempt *attempts, size_t n, int64_t now_ms)
{
	int result = LB_ERR_NOT_FOUND;

	if (!attempts || n == 0 || n > (size_t)INT32_MAX || bind_region(gw, region) != LB_OK)
		return LB_ERR_INVAL;
	for (size_t k = 0; k < n; k++) {
		int err = dc_check(gw, region, attempts[k].freq_hz, attempts[k].airtime_us, now_ms);
		if (err == LB_OK)
			return (int)k;
		if (err == LB_ERR_FULL)
			result = LB_ERR_FULL;
	}
	return result;
}

/* "868.000-868.600": MHz with kHz resolution (table bounds are inclusive,
 * so 868000001 Hz prints as 868.000). */
static void format_name(char *out, const struct region_subband *sb)
{
	uint32_t lo = (uint32_t)(((uint64_t)sb->min_hz + 500) / 1000);
	uint32_t hi = (uint32_t)(((uint64_t)sb->max_hz + 500) / 1000);

	snprintf(out, DC_NAME_LEN, "%u.%03u-%u.%03u", (unsigned)(lo / 1000), (unsigned)(lo % 1000),
		 (unsigned)(hi / 1000), (unsigned)(hi % 1000));
}

int dc_report(struct dc_gateway *gw, const struct region *region, int64_t now_ms,
	      dc_report_fn cb, void *arg)
{
	if (!cb || bind_region(gw, region) != LB_OK)
		return LB_ERR_INVAL;
	for (size_t i = 0; i < region->n_subbands; i++) {
		const struct region_subband *sb = &region->subbands[i];
		struct dc_usage u;

		memset(&u, 0, sizeof(u));
		u.index = i;
		u.subband = sb;
		format_name(u.name, sb);
		u.used_us = ledger_sum(&gw->used_us[i], now_ms);
		u.limit_ppm = sb->dc_ppm;
		u.limit_us = unlimited(sb) ? DC_WINDOW_US : limit_us(sb);
		u.used_pct = (double)u.used_us * 100.0 / (double)DC_WINDOW_US;
		u.limit_pct = unlimited(sb) ? 100.0 : (double)sb->dc_ppm / 10000.0;
		cb(arg, &u);
	}
	return LB_OK;
}

/* ---- blob ---------------------------------------------------------------- */

int dc_encode(const struct dc_gateway *gw, uint8_t *out, size_t cap, size_t *len)
{
	size_t name_len, n, need, k;
	int err;

	if (!gw || !len || (!out && cap > 0))
		return LB_ERR_INVAL;
	name_len = gw->region ? strlen(gw->region->name) : 0;
	n = gw->region ? gw->region->n_subbands : 0;
	if (name_len > DC_REGION_NAME_MAX || n > DC_MAX_SUBBANDS)
		return LB_ERR_INVAL;
	need = OFF_NAME + name_len + (gw->region ? 1 : 0);
	for (size_t i = 0; i < n; i++) {
		err = ledger_encode(&gw->used_us[i], NULL, 0, &k);
		if (err != LB_ERR_TOO_LARGE)
			return LB_ERR_INVAL;
		need += k;
	}
	*len = need;
	if (cap < need)
		return LB_ERR_TOO_LARGE;
	out[OFF_VERSION] = DC_BLOB_VERSION;
	out[OFF_NAME_LEN] = (uint8_t)name_len;
	if (!gw->region)
		return LB_OK;
	memcpy(out + OFF_NAME, gw->region->name, name_len);
	out[OFF_NAME + name_len] = (uint8_t)n;
	need = OFF_NAME + name_len + 1;
	for (size_t i = 0; i < n; i++) {
		err = ledger_encode(&gw->used_us[i], out + need, cap - need, &k);
		if (err != LB_OK)
			return err;
		need += k;
	}
	return LB_OK;
}

static int decode_ledgers(struct dc_gateway *gw, const uint8_t *in, size_t len)
{
	size_t pos = 0, n = gw->region->n_subbands;

	if (len < 1 || in[0] != n)
		return LB_ERR_MALFORMED;
	pos = 1;
	for (size_t i = 0; i < n; i++) {
		size_t k;
		int err = ledger_decode(&gw->used_us[i], in + pos, len - pos, &k);

		if (err != LB_OK)
			return err;
		/* A differently shaped ledger (a future version) is re-bucketed. */
		if (ledger_resample(&gw->used_us[i], DC_BUCKETS, DC_BUCKET_MS,
				    gw->used_us[i].epoch * (int64_t)gw->used_us[i].bucket_ms) != LB_OK)
			return LB_ERR_MALFORMED;
		pos += k;
	}
	return pos == len ? LB_OK : LB_ERR_MALFORMED;
}

static int decode_body(struct dc_gateway *gw, const uint8_t *in, size_t len)
{
	size_t name_len;

	if (len < OFF_NAME)
		return LB_ERR_MALFORMED;
	if (in[OFF_VERSION] != DC_BLOB_VERSION)
		return LB_ERR_VERSION;
	name_len = in[OFF_NAME_LEN];
	if (name_len > DC_REGION_NAME_MAX || len < OFF_NAME + name_len)
		return LB_ERR_MALFORMED;
	if (name_len == 0)
		return len == OFF_NAME ? LB_OK : LB_ERR_MALFORMED;
	if (strlen(gw->region->name) != name_len ||
	    memcmp(in + OFF_NAME, gw->region->name, name_len) != 0)
		return LB_ERR_STATE;
	return decode_ledgers(gw, in + OFF_NAME + name_len, len - OFF_NAME - name_len);
}

int dc_decode(struct dc_gateway *gw, const struct region *region, const uint8_t *in, size_t len)
{
	int err;

	if (!gw || (!in && len > 0) || dc_init(gw) != LB_OK || bind_region(gw, region) != LB_OK)
		return LB_ERR_INVAL;
	err = decode_body(gw, in, len);
	if (err != LB_OK) {
		dc_init(gw);
		bind_region(gw, region);
	}
	return err;
}
