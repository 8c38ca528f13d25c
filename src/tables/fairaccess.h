/* SPDX-License-Identifier: MIT */
/*
 * fairaccess.h - per-device fair-access budgets (pure: no I/O, no clock,
 * no logging; time is a parameter).
 *
 * The Things Network's Fair Use Policy (TTN documentation, "Duty Cycle"): per
 * device, at most 30 s of uplink airtime and 10 downlinks (acknowledgements
 * and MAC-only frames included) in any 24 h. The limits, the window and
 * what happens beyond them come from a struct fa_policy; the caller passes
 * the device's own policy (global default or per-device override) on every
 * call.
 *
 * Accounting: a struct fa_device holds two rolling-window ledgers
 * (ledger.h) of FA_BUCKETS buckets each: uplink airtime in µs (exact: the
 * airtime module's µs are summed without rounding; one frame is capped at
 * UINT32_MAX µs) and the number of downlinks sent. With the default 24 h
 * window a bucket is 24 min, so a frame is counted for at least 24 h and
 * at most 24 h 24 min. If a call's policy has a different window from the
 * ledgers' (configuration changed, or a stored device), the ledgers are
 * re-bucketed in place (ledger_resample), keeping what they hold.
 *
 * Levels: a budget is "exceeded" (100 %) when used >= budget - it is used
 * up and, with FA_ENFORCE, nothing more goes through - and at 80 % when
 * used * 5 >= budget * 4. Exceeded is reported as soon as the budget is
 * reached: with 46.336 ms frames the 648th uplink in a window takes the
 * device from 29.979 s to 30.026 s and exceeds it (TTN: "647 uplinks").
 *
 * Uplinks: fa_uplink() counts every uplink (also those not published) and
 * says whether to publish it: not with FA_ENFORCE when the uplink budget
 * was already exceeded before this frame (the frame that crosses 100 % is
 * still published). Downlinks: ask fa_downlink_allowed() before sending,
 * count with fa_downlink() once sent; a refused downlink is not counted.
 *
 * Crossings: fa_uplink() and fa_downlink() report in fa_verdict.crossed
 * each threshold (80 %, 100 % of each budget) that usage rises to or past
 * - once: the device remembers the highest level reported. When usage
 * falls back below a threshold as the window slides, the threshold is
 * re-armed (silently) and the next rise past it is reported again. One
 * frame jumping from below 80 % to 100 % reports both bits. The caller
 * turns the bits into `log` events.
 *
 * Persistence (fa_encode / fa_decode), little-endian:
 *
 *   offset  size  field
 *   ------  ----  ------------------------------------------------
 *   0       1     version (FA_BLOB_VERSION = 1)
 *   1       1     uplink level reported (0 none, 1 80 %, 2 100 %)
 *   2       1     downlink level reported
 *   3       var   uplink airtime ledger blob (ledger.h)
 *   var     var   downlink count ledger blob
 *
 * Packed form (fa_pack, version FA_PACKED_VERSION), what the daemon keeps
 * of each device in memory and in its store, sized by what the ledgers
 * hold (ledger.h "Packed form"):
 *
 *   offset  size  field
 *   ------  ----  ------------------------------------------------
 *   0       1     version (FA_PACKED_VERSION = 2)
 *   1       1     bits 0-1 uplink level reported, bits 2-3 downlink level,
 *                 bit 4 (FA_PACKED_OWN_GEOMETRY): the downlink ledger has
 *                 a window of its own; bits 5-7 zero
 *   2       var   uplink airtime ledger, packed with its geometry
 *   var     var   downlink count ledger, packed; without its geometry (the
 *                 uplink ledger's) unless bit 4 is set
 *
 * 10 bytes for a device never used, 16 for one heard once, 20 once a
 * downlink was also sent, 4 more for each other 24-min bucket with an
 * uplink in it, at most FA_PACKED_MAX. fa_decode() reads both versions:
 * rows stored before the packed form are version 1.
 *
 * Size of a device's ledgers: sizeof(struct fa_device) = FA_DEVICE_SIZE =
 * 552 bytes in memory (two 272-byte ledgers and the levels); the blob is
 * 153 bytes for an idle device, 273 for one sending a frame every 5 min
 * (µs sums of a few frames take 3 bytes a bucket) and at most
 * FA_ENCODED_MAX = 641 bytes.
 *
 * Ownership: everything is caller-owned plain data; nothing to free.
 */
#ifndef LB_FAIRACCESS_H
#define LB_FAIRACCESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tables/ledger.h"

#define FA_BUCKETS 60                       /* per window; 24 h -> 24 min buckets */
#define FA_DEFAULT_UPLINK_AIRTIME_MS 30000
#define FA_DEFAULT_DOWNLINKS 10
#define FA_DEFAULT_WINDOW_HOURS 24
#define FA_MAX_WINDOW_HOURS 744             /* 31 days */
#define FA_BLOB_VERSION 1
#define FA_HEADER_LEN 3
#define FA_ENCODED_MAX (FA_HEADER_LEN + 2 * LEDGER_ENCODED_MAX)
#define FA_DEVICE_SIZE 552
#define FA_PACKED_VERSION 2
#define FA_PACKED_HEADER_LEN 2
#define FA_PACKED_OFF_FLAGS 1                /* byte 1 of the packed form */
#define FA_PACKED_OWN_GEOMETRY 0x10u
#define FA_PACKED_MAX (FA_PACKED_HEADER_LEN + 2 * LEDGER_PACKED_MAX)

enum fa_action {
	FA_WARN = 0,       /* count and report; everything flows */
	FA_ENFORCE = 1     /* beyond the budget: uplinks not published, downlinks refused */
};

struct fa_policy {
	uint32_t uplink_airtime_ms;   /* >= 1 */
	uint32_t downlinks;           /* >= 1 */
	uint32_t window_hours;        /* 1..FA_MAX_WINDOW_HOURS */
	enum fa_action action;
};

/* TTN's Fair Access Policy, warn only. */
#define FA_POLICY_INIT \
	{ FA_DEFAULT_UPLINK_AIRTIME_MS, FA_DEFAULT_DOWNLINKS, FA_DEFAULT_WINDOW_HOURS, FA_WARN }

/* Bits of fa_verdict.crossed. */
enum fa_crossing {
	FA_CROSS_UPLINK_80 = 1u << 0,
	FA_CROSS_UPLINK_100 = 1u << 1,
	FA_CROSS_DOWNLINK_80 = 1u << 2,
	FA_CROSS_DOWNLINK_100 = 1u << 3
};

struct fa_verdict {
	bool publish;          /* fa_uplink(): publish the `up` event */
	unsigned crossed;      /* enum fa_crossing bits raised by this call */
};

/* A device's accounting. A zeroed struct is a valid empty device. */
struct fa_device {
	struct ledger uplink_us;     /* uplink airtime, µs */
	struct ledger downlinks;     /* downlinks sent */
	uint8_t uplink_level;        /* highest level reported: 0, 1 (80 %), 2 (100 %) */
	uint8_t downlink_level;
};

/* A device's ledgers as a daemon keeps them: the packed form (len bytes),
 * in an allocation sized for it (fa_packed_alloc_size). */
struct fa_packed {
	uint16_t len;
	uint8_t blob[];
};

/* Bytes to allocate for a struct fa_packed of len bytes: rounded up to 8
 * less than a multiple of 16 (the usable size of a malloc chunk, which has
 * 8 bytes of its own), so a ledger growing by a byte or two is rewritten in
 * place and reallocated only when it needs a larger chunk. */
size_t fa_packed_alloc_size(size_t len);

/* The `fairAccess` JSON object / retained state/airtime message. */
struct fa_status {
	uint64_t uplink_airtime_us;  /* uplinkAirtimeMs = this / 1000.0 (3 decimals) */
	uint32_t uplink_budget_ms;   /* uplinkBudgetMs */
	uint32_t downlinks;          /* downlinks */
	uint32_t downlink_budget;    /* downlinkBudget */
	bool exceeded;               /* either budget used up */
};

/* LB_OK, or LB_ERR_INVAL for a policy outside the ranges above. */
int fa_policy_check(const struct fa_policy *p);

/* Empty device with ledgers shaped for p. Errors: LB_ERR_INVAL. */
int fa_device_init(struct fa_device *dev, const struct fa_policy *p);

/*
 * Count an uplink of airtime_us at now_ms and decide on publishing (see
 * above). *v is always filled on LB_OK.
 * Errors: LB_ERR_INVAL (NULL, bad policy; nothing counted).
 */
int fa_uplink(struct fa_device *dev, const struct fa_policy *p, int64_t now_ms,
	      uint64_t airtime_us, struct fa_verdict *v);

/*
 * fa_uplink(), and in *st the usage right after it: what fa_status() at
 * now_ms would then give (counting an uplink re-arms nothing that
 * fa_uplink() does not), without summing the windows again.
 * Errors: LB_ERR_INVAL (NULL, bad policy; nothing counted).
 */
int fa_uplink_status(struct fa_device *dev, const struct fa_policy *p, int64_t now_ms,
		     uint64_t airtime_us, struct fa_verdict *v, struct fa_status *st);

/*
 * May a downlink be sent now? LB_OK, or LB_ERR_RATE_LIMIT with FA_ENFORCE
 * when the downlink budget is used up (the caller logs FAIR_ACCESS and does
 * not send). Nothing is counted. Errors: LB_ERR_INVAL.
 */
int fa_downlink_allowed(struct fa_device *dev, const struct fa_policy *p, int64_t now_ms);

/*
 * Count one downlink handed to a gateway (data, acknowledgement or MAC
 * only). v may be NULL if the caller ignores crossings (v->publish is
 * always true). Errors: LB_ERR_INVAL.
 */
int fa_downlink(struct fa_device *dev, const struct fa_policy *p, int64_t now_ms,
		struct fa_verdict *v);

/* Usage at now_ms. Errors: LB_ERR_INVAL. */
int fa_status(struct fa_device *dev, const struct fa_policy *p, int64_t now_ms,
	      struct fa_status *st);

/* True when dev behaves as an empty device (fa_device_init, or all zero)
 * from now_ms on: both ledgers idle (ledger_idle) and no level reported.
 * The daemon then need not keep it. False for NULL. */
bool fa_device_idle(const struct fa_device *dev, int64_t now_ms);

/* True if a and b differ in any field of the published JSON (so the
 * retained message is republished only on change). NULL differs from
 * non-NULL. */
bool fa_status_changed(const struct fa_status *a, const struct fa_status *b);

/*
 * When the status will next change without traffic (a bucket leaves the
 * window; Unix ms > now_ms), or -1 if the ledgers are empty: the time to
 * refresh the retained message. Errors are reported as -1.
 */
int64_t fa_next_change(struct fa_device *dev, const struct fa_policy *p, int64_t now_ms);

/*
 * Serialise for the store. *len gets the blob length.
 * Errors: LB_ERR_INVAL (NULL or uninitialised ledgers), LB_ERR_TOO_LARGE
 * (cap too small; FA_ENCODED_MAX always suffices).
 */
int fa_encode(const struct fa_device *dev, uint8_t *out, size_t cap, size_t *len);

/*
 * Serialise in the packed form (above). *len gets its length.
 * Errors: LB_ERR_INVAL (NULL or uninitialised ledgers), LB_ERR_TOO_LARGE
 * (cap too small; FA_PACKED_MAX always suffices).
 */
int fa_pack(const struct fa_device *dev, uint8_t *out, size_t cap, size_t *len);

/*
 * fa_uplink_status() on a device kept packed, without unpacking its
 * ledgers into rings: in[0..len) is what fa_pack() wrote (in NULL and len
 * 0: the empty device fa_device_init() makes for p); out gets the packed
 * device after the uplink. Verdict, status and bytes are exactly those of
 * fa_decode(), fa_uplink_status() and fa_pack() in turn (the ledgers are
 * read as their pairs, ledger.h "ledger_sparse").
 * Errors (nothing written): LB_ERR_INVAL (NULL, bad policy),
 * LB_ERR_NOT_FOUND (a blob this way does not take: version 1, a downlink
 * ledger with a window of its own, or a window other than p's, which
 * fa_uplink() re-buckets: the caller unpacks), LB_ERR_MALFORMED (what
 * fa_decode() refuses), LB_ERR_TOO_LARGE (cap too small; FA_PACKED_MAX
 * always suffices).
 */
int fa_packed_uplink(const uint8_t *in, size_t len, const struct fa_policy *p, int64_t now_ms,
		     uint64_t airtime_us, struct fa_verdict *v, struct fa_status *st,
		     uint8_t *out, size_t cap, size_t *out_len);

/*
 * fa_downlink_allowed() on a device kept packed (in and len as for
 * fa_packed_uplink()). The call changes no ledger, only the levels it may
 * re-arm: *flags gets byte 1 of the packed device after it (see "Packed
 * form"; the rest of the bytes stay as they are), exactly what fa_decode(),
 * fa_downlink_allowed() and fa_pack() would give.
 * Returns LB_OK or LB_ERR_RATE_LIMIT as fa_downlink_allowed() (*flags set
 * either way); errors as fa_packed_uplink() (*flags not set).
 */
int fa_packed_downlink_allowed(const uint8_t *in, size_t len, const struct fa_policy *p,
			       int64_t now_ms, uint8_t *flags);

/*
 * Parse a blob of exactly len bytes, of either version (fa_encode's 1,
 * fa_pack's 2). On error *dev is zeroed (an empty
 * device: the caller logs and starts fresh).
 * Errors: LB_ERR_INVAL (NULL), LB_ERR_VERSION (unknown version of this
 * blob or a ledger in it), LB_ERR_MALFORMED (truncated, trailing bytes, a
 * level above 2, a reserved bit set, a bad ledger).
 */
int fa_decode(struct fa_device *dev, const uint8_t *in, size_t len);

#endif
