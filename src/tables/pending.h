/* SPDX-License-Identifier: MIT */
/*
 * pending.h - pending OTAA sessions (pure: no I/O, no clock, no logging).
 *
 * LoRaWAN 1.0.3 §6.2.4 and TS001-1.0.4 §6.2: after a join-accept the
 * network keeps the device's old security context until the first uplink
 * that verifies with the new one, because the device may have missed the
 * join-accept and go on with the old session. The device registry
 * (devices.h) holds the CURRENT session of each device; this side table
 * holds the PENDING ones, keyed by DevEUI, found by DevAddr (so struct
 * lb_device carries no byte for them: most devices never have one).
 *
 * The table is an array sorted by DevAddr (binary search), grown as joins
 * come: its size is the number of joins pending, at most one per device and
 * PENDING_MAX in all. A DevAddr appears at most once (the join handler
 * allocates DevAddrs used neither by a current nor by a pending session).
 * Beside it, an open-addressing hash (linear probing, at most half full,
 * 16 bytes a slot: 2 MB at PENDING_MAX, none while nothing is pending)
 * maps each DevEUI to its entry's DevAddr, so a device is found in O(1)
 * plus the binary search: a class C device without a pending session pays
 * one probe, never a walk of the table (daemon/classc.c asks per attempt).
 * Entries put in ascending DevAddr order are appended (no memmove): a
 * restart's load (store_load_pending(), ordered by DevAddr) is O(n).
 *
 * The MIC of a frame with a pending DevAddr is checked with one prepared
 * NwkSKey the table keeps (the last entry checked): a miss re-keys it
 * (lwcrypto_key_rekey(): no allocation), so a stream of frames failing
 * their MIC against pending DevAddrs allocates nothing per frame, and the
 * OpenSSL state stays one context (0.9 KB) however many entries are tried.
 *
 * Ownership: the table owns its array, its hash and its prepared key; the
 * raw keys are wiped when an entry is dropped or replaced and at
 * pending_free(), and the prepared key is freed (its OpenSSL context
 * cleansed) when the entry whose key it holds goes. Pointers returned by
 * the lookups are valid until the next pending_put/_drop/_retain/_free.
 */
#ifndef LB_PENDING_H
#define LB_PENDING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lorawan/lorawan.h"
#include "lorawan/lwcrypto.h"

#define PENDING_MAX 65536u           /* pending joins held at most */

/* A session made by a join, not yet used by the device. Counters start at
 * 0 (TS001-1.0.4 §6.2.6): none accepted up, NFCntDown 0 with nfcnt_down
 * reserved by the join. */
struct pending_session {
	uint64_t dev_eui;
	int64_t joined_at;               /* as stored (store_types.h joined_at) */
	uint32_t dev_addr;
	uint32_t nfcnt_down;             /* reserved downlink ceiling */
	uint32_t rx2_freq;               /* Hz, 0 = region default */
	uint32_t fcnt_up;                /* the current session's last accepted FCntUp
					  * then (had_fcnt_up): a repeat of it or of an
					  * older one proves nothing since the join
					  * (sessions_current_repeated()) */
	uint8_t nwk_s_key[LW_KEY_LEN];
	uint8_t app_s_key[LW_KEY_LEN];
	uint8_t rx1_dr_offset;
	uint8_t rx2_dr;
	uint8_t rx_delay;                /* 0..15 s, 0 = 1 s */
	bool current_heard;              /* an uplink verified with the current session
					  * since this join (class C may answer it) */
	bool had_fcnt_up;                /* the current session had accepted an uplink
					  * when this was held (at the join, or at the
					  * start that read it back): fcnt_up */
	bool from_store;                 /* read back at a start: a promotion that a
					  * crash lost may have used the downlink
					  * counters below nfcnt_down */
};

/* A DevEUI's place in the hash (internal). */
struct pending_slot {
	uint64_t dev_eui;
	uint32_t dev_addr;               /* its entry's key in e[] */
	uint32_t used;
};

struct pendings {
	struct pending_session *e;       /* n entries sorted by dev_addr, cap allocated */
	size_t n;
	size_t cap;
	struct pending_slot *h;          /* DevEUI -> DevAddr, h_mask + 1 slots (or NULL) */
	size_t h_mask;
	struct lw_key mic_key;           /* NwkSKey of the entry last checked (lazily) */
};

void pending_init(struct pendings *p);
/* Wipe and free (safe on a zeroed or freed table). */
void pending_free(struct pendings *p);

static inline size_t pending_count(const struct pendings *p)
{
	return p->n;
}

/* Insert s, replacing the device's pending session if it has one (copied).
 * Errors: LB_ERR_INVAL (NULL), LB_ERR_DUPLICATE (another device's pending
 * session has that DevAddr), LB_ERR_FULL (PENDING_MAX), LB_ERR_NOMEM; the
 * table is unchanged then. */
int pending_put(struct pendings *p, const struct pending_session *s);

/* The device's pending session, or NULL. O(1) (a hash probe) + O(log n). */
struct pending_session *pending_find_eui(struct pendings *p, uint64_t dev_eui);

/* The pending session with this DevAddr, or NULL. O(log n). */
struct pending_session *pending_find_addr(struct pendings *p, uint32_t dev_addr);

/* Drop the device's pending session (wiped); false if it had none. */
bool pending_drop(struct pendings *p, uint64_t dev_eui);

/* Keep only the entries for which keep(arg, entry) says true, the others
 * dropped (wiped), in one pass: O(n). Returns the number dropped. For a
 * reload (daemon/session.h). */
size_t pending_retain(struct pendings *p,
		      bool (*keep)(void *arg, const struct pending_session *s), void *arg);

/*
 * A data uplink (lorawan_parse, MType 2 or 4) under a pending session: the
 * entry with the frame's DevAddr whose MIC verifies with the frame's
 * counter rebuilt for a fresh session (no FCntUp accepted yet; TS001-1.0.4
 * §4.3.1.5, §4.4). *out and *fcnt are set for LB_OK. Errors: LB_ERR_INVAL,
 * LB_ERR_NOT_FOUND (no pending session with that DevAddr), LB_ERR_MIC,
 * LB_ERR_CRYPTO. The table's prepared key is used (re-keyed, without
 * allocating, when the entry is another than the last checked; allocated
 * at the first check, and again after the entry it held was dropped).
 */
int pending_verify(struct pendings *p, const struct lw_frame *f, struct pending_session **out,
		   uint32_t *fcnt);

#endif
