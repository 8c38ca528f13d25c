/* SPDX-License-Identifier: MIT */
/* store_mac.c - the `mac_state` rows. See store_mac.h. */
#include "store/store_mac.h"

#include <inttypes.h>
#include <string.h>

#include "store/store_batch.h"
#include "store/store_db.h"
#include "store/store_write.h"
#include "base/lb_err.h"
#include "base/log.h"

#define TAG STORE_LOG_TAG
#define MAC_MAX_FIELD 15             /* DR, TXPower, NbTrans: 4-bit fields (TS001-1.0.4 §5.2) */
/* RXParamSetupReq: RX1DROffset 3 bits, RX2DataRate 4, Frequency 24 bits in
 * units of 100 Hz (§5.4); RXTimingSetupReq: Del 4 bits (§5.7). */
#define MAC_MAX_RX1_DR_OFFSET 7
#define MAC_MAX_RX2_FREQ_HZ (UINT32_C(0xffffff) * 100)

static int read_mac(sqlite3_stmt *st, struct store_mac *r)
{
	memset(r, 0, sizeof(*r));
	r->dev_eui = (uint64_t)sqlite3_column_int64(st, MC_DEV_EUI);
	if ((size_t)sqlite3_column_bytes(st, MC_CH_MASK) != 2 * STORE_MAC_CHMASK_WORDS) {
		log_error(TAG, "MAC state %016" PRIX64 ": ch_mask is not %d bytes", r->dev_eui,
			  2 * STORE_MAC_CHMASK_WORDS);
		return LB_ERR_IO;
	}
	const uint8_t *m = sqlite3_column_blob(st, MC_CH_MASK);
	for (size_t i = 0; i < STORE_MAC_CHMASK_WORDS; i++)
		r->ch_mask[i] = (uint16_t)(m[2 * i] | m[2 * i + 1] << 8);
	r->session_at = sqlite3_column_int64(st, MC_SESSION_AT);
	r->dr = (uint8_t)sqlite3_column_int(st, MC_DR);
	r->tx_power = (uint8_t)sqlite3_column_int(st, MC_TX_POWER);
	r->nb_trans = (uint8_t)sqlite3_column_int(st, MC_NB_TRANS);
	r->unanswered = (uint8_t)sqlite3_column_int(st, MC_UNANSWERED);
	r->backoff_until = sqlite3_column_int64(st, MC_BACKOFF_UNTIL);
	r->has_status = sqlite3_column_type(st, MC_STATUS_AT) != SQLITE_NULL;
	r->status_at = sqlite3_column_int64(st, MC_STATUS_AT);
	r->battery = (uint8_t)sqlite3_column_int(st, MC_BATTERY);
	r->margin = (int8_t)sqlite3_column_int(st, MC_MARGIN);
	r->rx_done = (uint32_t)sqlite3_column_int64(st, MC_RX_DONE);
	r->updated_at = sqlite3_column_int64(st, MC_UPDATED_AT);
	r->rx_param_unanswered = (uint8_t)sqlite3_column_int(st, MC_RXP_UNANSWERED);
	r->rx_param_backoff_until = sqlite3_column_int64(st, MC_RXP_BACKOFF_UNTIL);
	r->has_rx_param_ask = sqlite3_column_type(st, MC_RXP_ASK_FREQ) != SQLITE_NULL;
	r->rx_param_ask_rx1_dr_offset = (uint8_t)sqlite3_column_int(st, MC_RXP_ASK_OFFSET);
	r->rx_param_ask_rx2_dr = (uint8_t)sqlite3_column_int(st, MC_RXP_ASK_DR);
	r->rx_param_ask_rx2_freq = (uint32_t)sqlite3_column_int64(st, MC_RXP_ASK_FREQ);
	r->rx_timing_unanswered = (uint8_t)sqlite3_column_int(st, MC_RXT_UNANSWERED);
	r->rx_timing_backoff_until = sqlite3_column_int64(st, MC_RXT_BACKOFF_UNTIL);
	r->rx_timing_ask_delay = (uint8_t)sqlite3_column_int(st, MC_RXT_ASK_DELAY);
	return LB_OK;
}

int store_mac_put(struct store *s, const struct store_mac *row)
{
	struct store_mac r;

	if (!s || !row)
		return LB_ERR_INVAL;
	if (row->dr > MAC_MAX_FIELD || row->tx_power > MAC_MAX_FIELD || row->nb_trans == 0 ||
	    row->nb_trans > MAC_MAX_FIELD || row->margin < -32 || row->margin > 31 ||
	    row->rx_timing_ask_delay > MAC_MAX_FIELD)
		return LB_ERR_RANGE;
	if (row->has_rx_param_ask &&
	    (row->rx_param_ask_rx1_dr_offset > MAC_MAX_RX1_DR_OFFSET ||
	     row->rx_param_ask_rx2_dr > MAC_MAX_FIELD ||
	     row->rx_param_ask_rx2_freq > MAC_MAX_RX2_FREQ_HZ || row->rx_param_ask_rx2_freq % 100))
		return LB_ERR_RANGE;
	r = *row;
	r.updated_at = store__wall_s(s);
	return store__stage(s, OP_MAC_PUT, &r, sizeof(r));
}

int store_mac_get(struct store *s, uint64_t dev_eui, struct store_mac *out)
{
	sqlite3_stmt *st;
	int rc;

	if (!s || !s->db || !out)
		return LB_ERR_INVAL;
	st = store__stmt(s, STMT_MAC_GET);
	if (!st)
		return LB_ERR_IO;
	store__bind_u64(st, 0, dev_eui);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		rc = read_mac(st, out);
	else
		rc = rc == SQLITE_DONE ? LB_ERR_NOT_FOUND : store__fail(s, rc, "get MAC state");
	sqlite3_reset(st);
	return rc;
}

int store_mac_load(struct store *s, store_mac_cb cb, void *arg)
{
	struct store_mac r;
	sqlite3_stmt *st;
	int rc, ret = LB_OK;

	if (!s || !s->db || !cb)
		return LB_ERR_INVAL;
	st = store__stmt(s, STMT_MAC_ALL);
	if (!st)
		return LB_ERR_IO;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		ret = read_mac(st, &r);
		if (ret == LB_OK)
			ret = cb(arg, &r);
		if (ret != LB_OK)
			break;
	}
	if (ret == LB_OK && rc != SQLITE_DONE)
		ret = store__fail(s, rc, "load MAC state");
	sqlite3_reset(st);
	return ret;
}
