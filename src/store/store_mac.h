/* SPDX-License-Identifier: MIT */
/*
 * store_mac.h - the `mac_state` rows (schema v5, v10 the columns of the
 * receive-settings requests): per device, what the network asked by MAC
 * command and what the device confirmed (daemon/netmac.h owns their
 * meaning).
 *
 * put is staged into the open batch like every write (store_batch.h);
 * get and load see staged rows. store_purge_flags() deletes a device's row.
 * Errors: the lb_err codes at the top of store.h: put LB_ERR_RANGE (nb_trans
 * 0 or > 15, tx_power > 15, dr > 15, margin outside -32..31,
 * rx_timing_ask_delay > 15, an RXParamSetupReq ask outside its fields:
 * RX1DROffset > 7, RX2 DR > 15, a frequency not in 100 Hz steps or beyond
 * 24 bits of them); get
 * LB_ERR_NOT_FOUND; load stops at a callback's non-zero return and returns
 * it. Ownership: rows are copied; a row handed to a callback is valid only
 * during the call.
 */
#ifndef LB_STORE_MAC_H
#define LB_STORE_MAC_H

#include <stdint.h>

#include "store/store_types.h"

typedef int (*store_mac_cb)(void *arg, const struct store_mac *row);

int store_mac_put(struct store *s, const struct store_mac *row);
int store_mac_get(struct store *s, uint64_t dev_eui, struct store_mac *out);
int store_mac_load(struct store *s, store_mac_cb cb, void *arg);

#endif
