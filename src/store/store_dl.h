/* SPDX-License-Identifier: MIT */
/*
 * store_dl.h - the per-device downlink queue of the store (table
 * `downlink`, ordered by seq), confirmed downlinks awaiting their ACK
 * included. Writes are staged into the open batch (store_batch.h); reads
 * see staged rows.
 *
 * Errors: the lb_err codes at the top of store.h, as listed below.
 * Ownership: downlinks passed in are copied; a row handed to a callback is
 * valid only during the call.
 */
#ifndef LB_STORE_DL_H
#define LB_STORE_DL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/store_types.h"

typedef int (*store_downlink_cb)(void *arg, const struct store_downlink *row);

/*
 * Downlink queue, per device in seq order. push (staged) assigns seq =
 * max + 1 of the device (written to *seq if not NULL), created_at, and
 * takes state/fcnt from dl: LB_ERR_DUPLICATE (id exists), LB_ERR_INVAL
 * (empty or unterminated id), LB_ERR_TOO_LARGE (len). update and delete
 * (staged): LB_ERR_NOT_FOUND. first: the head of the queue. flush (staged)
 * deletes every downlink of the device (e.g. on a new join).
 */
int store_downlink_push(struct store *s, const struct store_downlink *dl, uint32_t *seq);
int store_downlink_list(struct store *s, uint64_t dev_eui, store_downlink_cb cb, void *arg);
int store_downlink_first(struct store *s, uint64_t dev_eui, struct store_downlink *out);
int store_downlink_get(struct store *s, const char *id, struct store_downlink *out);
int store_downlink_update(struct store *s, const char *id, enum store_dl_state state,
			  bool has_fcnt_down, uint32_t fcnt_down);
int store_downlink_delete(struct store *s, const char *id);
int store_downlink_flush(struct store *s, uint64_t dev_eui);
int store_downlink_count(struct store *s, uint64_t dev_eui, size_t *n);

/*
 * Whether the device may have downlink rows: true whenever it has one (a
 * push marks it; the set of devices with rows is read at open), false
 * once a list, first or count of its queue found none and nothing was
 * pushed since. So the uplink path reads the queue from SQLite only when
 * this is true. True for a NULL store. No I/O.
 */
bool store_downlink_maybe(const struct store *s, uint64_t dev_eui);

#endif
