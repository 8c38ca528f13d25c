/* SPDX-License-Identifier: MIT */
/*
 * store_abp.h - the `abp_seen` rows (schema v8): per device, the highest
 * frame counters of every ABP session it has had (at most
 * STORE_ABP_SEEN_MAX, the most recently left kept), so that a session
 * whose DevAddr and keys come back (a key rotation rolled back) resumes
 * them: under the same keys an NFCntDown used again repeats the FRMPayload
 * keystream, and an FCntUp accepted again replays an old uplink
 * (TS001-1.0.4 §4.3.1.5, §4.3.3). daemon/session.h says when rows are
 * written and read. A session is named by a digest of DevAddr and keys
 * (lorawan/lwcrypto.h, lwcrypto_abp_session_id()): the keys are not kept.
 *
 * put is staged into the open batch like every write (store_batch.h): the
 * counters merge with the stored ones (the higher of each; an FCntUp over
 * none), the row becomes the device's most recent, and the device's rows
 * older than its STORE_ABP_SEEN_MAX most recent are deleted. get and count
 * see staged rows. store_purge() deletes a device's rows.
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
int store_abp_seen_get(struct store *s, uint64_t dev_eui, const uint8_t id[STORE_SESSION_ID_LEN],
		       struct store_abp_seen *out);
/* How many sessions are kept for the device. */
int store_abp_seen_count(struct store *s, uint64_t dev_eui, size_t *n);

#endif
