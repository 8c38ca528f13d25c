/* SPDX-License-Identifier: MIT */
/*
 * dutycycle.h - a gateway's transmit duty cycle per regional sub-band
 * (pure: no I/O, no clock, no logging; time is a parameter).
 *
 * ETSI EN 300 220-2 V3.2.1 §4.3.3 (duty cycle) limits a transmitter
 * to a share of every hour in each sub-band: EU868 868.0-868.6 MHz 1 %
 * (36 s/h), 868.7-869.2 MHz 0.1 % (3.6 s/h), 869.4-869.65 MHz 10 % (360 s
 * per hour, the RX2 frequency 869.525 MHz), ... A sub-band's limit in µs
 * per hour is dc_ppm * 3600 (region.h gives dc_ppm). Sub-bands with
 * REGION_DC_UNLIMITED (US915, AU915) never refuse; their airtime is still
 * recorded so `dutyCycle` shows how busy they are.
 *
 * Accounting: per sub-band a ledger (ledger.h) of DC_BUCKETS one-minute
 * buckets of transmit airtime in µs. A transmission is counted for at
 * least one hour and less than 61 minutes, so the check errs on the safe
 * side. A frequency in no sub-band (EU868 868.6-868.7 and 869.2-869.4 MHz,
 * or outside the band) may not be used: LB_ERR_NOT_FOUND.
 *
 * Downlink scheduling: before a downlink, dc_choose() (or dc_check() per
 * window) finds the first receive window whose sub-band has room - RX1,
 * then RX2 - and the caller records the transmission it hands to the
 * gateway with dc_record(). Both the check and the record take the region:
 * a gateway's ledgers belong to one region, and passing another (the
 * gateway's region changed in the configuration) starts them afresh.
 *
 * Persistence (store.h STORE_LEDGER_DUTY_CYCLE, per gateway), so a restart
 * does not forget the last hour:
 *
 *   offset  size  field
 *   ------  ----  ------------------------------------------------
 *   0       1     version (DC_BLOB_VERSION = 1)
 *   1       1     L, length of the region name, 0..DC_REGION_NAME_MAX
 *                 (0: the gateway never transmitted, no ledgers follow)
 *   2       L     region name (struct region.name, e.g. "EU868")
 *   2+L     1     number of sub-band ledgers (= the region's n_subbands)
 *   3+L     var   one ledger blob (ledger.h) per sub-band, in table order
 *
 * at most DC_ENCODED_MAX = 2571 bytes; an idle EU868 gateway is 458.
 *
 * Ownership: struct dc_gateway is caller-owned plain data (DC_MAX_SUBBANDS
 * ledgers, about 2 KiB); a zeroed struct is a valid empty gateway; nothing
 * to free.
 */
#ifndef LB_DUTYCYCLE_H
#define LB_DUTYCYCLE_H

#include <stddef.h>
#include <stdint.h>

#include "tables/ledger.h"
#include "lorawan/region.h"

#define DC_MAX_SUBBANDS 8
#define DC_BUCKETS 60
#define DC_BUCKET_MS 60000u
#define DC_WINDOW_US UINT64_C(3600000000)    /* one hour */
#define DC_NAME_LEN 24                        /* "869.400-869.650" + NUL */
#define DC_BLOB_VERSION 1
#define DC_REGION_NAME_MAX 16
#define DC_ENCODED_MAX (3 + DC_REGION_NAME_MAX + DC_MAX_SUBBANDS * LEDGER_ENCODED_MAX)

struct dc_gateway {
	const struct region *region;          /* region the ledgers belong to; NULL = none yet */
	struct ledger used_us[DC_MAX_SUBBANDS]; /* indexed like region->subbands */
};

/* A candidate transmission: a receive window's frequency and airtime. */
struct dc_attempt {
	uint32_t freq_hz;
	uint64_t airtime_us;
};

/* One sub-band's use, for the gateway `stats` event's `dutyCycle`. */
struct dc_usage {
	size_t index;                 /* in region->subbands */
	const struct region_subband *subband;
	char name[DC_NAME_LEN];       /* "868.000-868.600" (MHz, rounded to kHz) */
	uint64_t used_us;             /* transmit airtime in the last hour */
	uint64_t limit_us;            /* per hour; DC_WINDOW_US when unlimited */
	uint32_t limit_ppm;           /* dc_ppm; REGION_DC_UNLIMITED = no limit */
	double used_pct;              /* used_us as a percentage of the hour */
	double limit_pct;             /* limit_ppm / 10000 */
};

typedef void (*dc_report_fn)(void *arg, const struct dc_usage *u);

/* Empty gateway (same as zeroing it). Errors: LB_ERR_INVAL (NULL). */
int dc_init(struct dc_gateway *gw);

/*
 * Would a transmission of airtime_us on freq_hz at now_ms stay within its
 * sub-band's limit over the last hour (used + airtime <= dc_ppm * 3600
 * µs)? LB_OK, or LB_ERR_FULL if not. Nothing is recorded.
 * Errors: LB_ERR_INVAL (NULL, or a region with more than DC_MAX_SUBBANDS
 * sub-bands), LB_ERR_NOT_FOUND (freq_hz in no sub-band).
 */
int dc_check(struct dc_gateway *gw, const struct region *region, uint32_t freq_hz,
	     uint64_t airtime_us, int64_t now_ms);

/*
 * Record a transmission (also on an unlimited sub-band; also beyond the
 * limit - the check is the caller's decision). Airtime above UINT32_MAX
 * µs is capped. Errors: as dc_check() except LB_ERR_FULL.
 */
int dc_record(struct dc_gateway *gw, const struct region *region, uint32_t freq_hz,
	      uint64_t airtime_us, int64_t now_ms);

/*
 * Index of the first attempt with room (attempts in order of preference:
 * RX1, then RX2). Attempts on a frequency in no sub-band are skipped.
 * Errors: LB_ERR_INVAL (NULL, n == 0, region too large), LB_ERR_FULL (an
 * attempt was in a sub-band but none had room; the caller logs
 * DUTY_CYCLE), LB_ERR_NOT_FOUND (no attempt was in any sub-band).
 */
int dc_choose(struct dc_gateway *gw, const struct region *region,
	      const struct dc_attempt *attempts, size_t n, int64_t now_ms);

/*
 * The earliest time (Unix ms, > now_ms) at which one of the attempts'
 * limited sub-bands sheds airtime from its last hour: before it no refused
 * attempt can find room, since room only shrinks in between (a caller
 * backs off until then instead of asking again). -1 when none of them has
 * anything to shed (no limited sub-band, or an empty one the airtime
 * exceeds by itself). Errors: as dc_choose() (LB_ERR_FULL excepted).
 */
int64_t dc_next_room(struct dc_gateway *gw, const struct region *region,
		     const struct dc_attempt *attempts, size_t n, int64_t now_ms);

/*
 * Call cb once per sub-band of the region, in table order, with its use at
 * now_ms. Errors (cb not called): LB_ERR_INVAL (NULL, region too large).
 */
int dc_report(struct dc_gateway *gw, const struct region *region, int64_t now_ms,
	      dc_report_fn cb, void *arg);

/*
 * Serialise for the store. *len gets the blob length.
 * Errors: LB_ERR_INVAL (NULL, a region name longer than
 * DC_REGION_NAME_MAX), LB_ERR_TOO_LARGE (cap too small; *len gets the
 * length needed; DC_ENCODED_MAX always suffices).
 */
int dc_encode(const struct dc_gateway *gw, uint8_t *out, size_t cap, size_t *len);

/*
 * Parse a blob of exactly len bytes for a gateway of `region` (the one
 * the caller will pass to dc_check()). On LB_OK the gateway holds the
 * stored hour. On any error but LB_ERR_INVAL it is a valid empty gateway
 * bound to region (the caller logs and goes on).
 * Errors: LB_ERR_INVAL (NULL, region too large), LB_ERR_VERSION (unknown
 * version of this blob or a ledger in it), LB_ERR_STATE (stored for
 * another region: discarded), LB_ERR_MALFORMED (truncated, trailing
 * bytes, a sub-band count differing from the region's, a bad ledger).
 */
int dc_decode(struct dc_gateway *gw, const struct region *region, const uint8_t *in, size_t len);

#endif
