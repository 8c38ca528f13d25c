/* SPDX-License-Identifier: MIT */
/*
 * store_abp.h - the `abp_seen` rows (schema v8): the highest frame counters
 * of every ABP session a device has left (at most STORE_ABP_SEEN_MAX per
 * device, the most recently left kept), so that a session whose DevAddr
 * and keys come back (a key rotation rolled back, or the same keys
 * configured under another DevEUI) resumes them: under the same keys an
 * NFCntDown used again repeats the FRMPayload keystream, and an FCntUp
 * accepted again replays an old uplink (TS001-1.0.4 §4.3.1.5, §4.3.3).
 * daemon/session.h says when rows are written and read. A session is named
 * by a digest of DevAddr and keys (lorawan/lwcrypto.h,
 * lwcrypto_abp_session_id()): the keys are not kept.
 *
 * put is staged into the open batch like every write (store_batch.h): the
 * counters merge with those the device kept of that session (the higher
 * of each; an FCntUp over none), the row becomes the device's most recent,
 * and the device's rows older than its STORE_ABP_SEEN_MAX most recent are
 * deleted (a warning names the device: those sessions' counters are
 * forgotten). get reads a session by its id whatever device left it (schema
 * v11's index): the highest counters of all its rows, dev_eui of a row
 * put last (by updated_at, in seconds), updated_at the latest. get and
 * count see staged rows. store_purge_flags() keeps a device's rows, or
 * with STORE_PURGE_FORGET_SEEN deletes them.
 *
 * Errors: the lb_err codes at the top of store.h: get LB_ERR_NOT_FOUND;
 * LB_ERR_INVAL for NULL arguments. Ownership: rows are copied.
 */
#ifndef LB_STORE_ABP_H
#define LB_STORE_ABP_H

#include <stddef.h>
#include <stdint.h>

#include "store/store_types.h"

int store_abp_seen_put(struct store *s, const struct store_abp_seen *row);
int store_abp_seen_get(struct store *s, const uint8_t id[STORE_SESSION_ID_LEN],
		       struct store_abp_seen *out);
/* cb for every session id kept (once each, by any device; a non-zero
 * return stops the walk and is returned): a start reads them once instead
 * of one get per device. */
typedef int (*store_abp_id_cb)(void *arg, const uint8_t id[STORE_SESSION_ID_LEN]);
int store_abp_seen_ids(struct store *s, store_abp_id_cb cb, void *arg);
/* How many sessions are kept for the device. */
int store_abp_seen_count(struct store *s, uint64_t dev_eui, size_t *n);

#endif
