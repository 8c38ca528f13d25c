/* SPDX-License-Identifier: MIT */
/*
 * gwmp_json_write.c - JSON bodies the bridge (or its simulator) sends.
 *
 * PUSH_DATA rxpk/stat in the shape Semtech lora_pkt_fwd v4.0.1 emits them
 * (field order of lora_pkt_fwd.c, freq "%.6f", lsnr "%.1f", stat lati/long
 * "%.5f", ackr "%.1f"), and the PULL_RESP txpk (Semtech PROTOCOL.TXT §6) in
 * ChirpStack's field order. json-c builds and serialises the objects; only the text of
 * fixed-precision numbers is formatted here (json_object_new_double_s), since
 * json-c prints doubles with "%.17g".
 */
#include "gwmp/gwmp_json_write.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "base/b64.h"
#include "gwmp/gwmp_text.h"
#include "base/lb_err.h"

/* PLAIN: no spaces, as lora_pkt_fwd; NOSLASHESCAPE: base64 '/' stays '/'. */
#define SERIALISE_FLAGS (JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)
#define HZ_PER_MHZ 1000000u
#define NUM_TEXT_LEN 48
#define DATR_TEXT_LEN 16

/* Adds val under key; ownership of val passes to obj, also on failure. A NULL
 * val (failed allocation) or a failed insertion sets *err to LB_ERR_NOMEM. */
static void put(json_object *obj, const char *key, json_object *val, int *err)
{
	if (val == NULL) {
		*err = LB_ERR_NOMEM;
		return;
	}
	if (json_object_object_add(obj, key, val) != 0) {
		json_object_put(val);
		*err = LB_ERR_NOMEM;
	}
}

/* A double printed with a fixed number of decimals ("%.1f" style). */
static json_object *new_fixed(double v, int decimals)
{
	char txt[NUM_TEXT_LEN];

	snprintf(txt, sizeof(txt), "%.*f", decimals, v);
	return json_object_new_double_s(v, txt);
}

/* Hz as MHz with 6 decimals, from integers so no rounding can creep in.
 * `trim` drops trailing zeros ("868.1", as ChirpStack writes it) instead of "%.6f". */
static json_object *new_freq(uint32_t hz, bool trim)
{
	char txt[NUM_TEXT_LEN];
	size_t n;

	n = (size_t)snprintf(txt, sizeof(txt), "%u.%06u", hz / HZ_PER_MHZ, hz % HZ_PER_MHZ);
	if (trim) {
		while (txt[n - 1] == '0')
			txt[--n] = '\0';
		if (txt[n - 1] == '.')
			txt[--n] = '\0';
	}
	return json_object_new_double_s(hz / 1e6, txt);
}

static json_object *new_datr(uint8_t sf, uint16_t bw)
{
	char txt[DATR_TEXT_LEN];

	snprintf(txt, sizeof(txt), "SF%uBW%u", (unsigned)sf, (unsigned)bw);
	return json_object_new_string(txt);
}

static const char *modu_text(enum gwmp_modulation m)
{
	return m == GWMP_MOD_LORA ? "LORA" : m == GWMP_MOD_FSK ? "FSK" : "LR-FHSS";
}

static bool lora_ok(uint8_t sf, uint16_t bw)
{
	return sf >= 5 && sf <= 12 && (bw == 125 || bw == 250 || bw == 500);
}

/* cr 0 is printed "OFF" (v4.0.1 for coderate 0), 1..4 as "4/5".."4/8". */
static const char *codr_text(uint8_t cr)
{
	static const char *const texts[] = {"OFF", "4/5", "4/6", "4/7", "4/8"};

	return cr < sizeof(texts) / sizeof(texts[0]) ? texts[cr] : NULL;
}

static json_object *new_b64(const uint8_t *data, uint16_t size)
{
	char txt[B64_ENCODED_LEN(GWMP_MAX_PHY) + 1];

	b64_encode(data, size, txt, sizeof(txt));
	return json_object_new_string(txt);
}

/* Serialise root into out, NUL-terminated if `nul`; consumes root. */
static int emit(json_object *root, int err, bool nul, char *out, size_t cap, size_t *out_len)
{
	const char *txt;
	size_t n = 0;

	*out_len = 0;
	if (err == LB_OK) {
		txt = json_object_to_json_string_length(root, SERIALISE_FLAGS, &n);
		if (txt == NULL)
			err = LB_ERR_NOMEM;
		else if (n + (nul ? 1 : 0) > cap)
			err = LB_ERR_TOO_LARGE;
		else
			memcpy(out, txt, n + (nul ? 1 : 0));
	}
	json_object_put(root);
	if (err == LB_OK)
		*out_len = n;
	return err;
}

static int rxpk_check(const struct gwmp_rxpk *rx)
{
	if (rx->size > GWMP_MAX_PHY || rx->modu == GWMP_MOD_LRFHSS)
		return LB_ERR_INVAL;
	if (rx->has_lsnr && !isfinite(rx->lsnr))
		return LB_ERR_INVAL;
	if (rx->modu == GWMP_MOD_LORA && (!lora_ok(rx->sf, rx->bw_khz) || codr_text(rx->cr) == NULL))
		return LB_ERR_INVAL;
	return LB_OK;
}

/* Field order of lora_pkt_fwd v4.0.1 (rxpk, PROTOCOL.TXT §4). */
static int rxpk_fill(json_object *o, const struct gwmp_rxpk *rx)
{
	char time_txt[GWMP_TIME_LEN + 1];
	int err = rxpk_check(rx);

	if (err == LB_OK && rx->has_time)
		err = gwmp__time_format(rx->time_us, time_txt, sizeof(time_txt));
	if (err != LB_OK)
		return err;
	put(o, "tmst", json_object_new_int64(rx->tmst), &err);
	if (rx->has_time)
		put(o, "time", json_object_new_string(time_txt), &err);
	if (rx->has_tmms)
		put(o, "tmms", json_object_new_uint64(rx->tmms), &err);
	put(o, "chan", json_object_new_int(rx->chan), &err);
	put(o, "rfch", json_object_new_int(rx->rfch), &err);
	put(o, "freq", new_freq(rx->freq_hz, false), &err);
	put(o, "stat", json_object_new_int(rx->stat), &err);
	put(o, "modu", json_object_new_string(modu_text(rx->modu)), &err);
	if (rx->modu == GWMP_MOD_LORA) {
		put(o, "datr", new_datr(rx->sf, rx->bw_khz), &err);
		put(o, "codr", json_object_new_string(codr_text(rx->cr)), &err);
		if (rx->has_lsnr)
			put(o, "lsnr", new_fixed(rx->lsnr, 1), &err);
	} else {
		put(o, "datr", json_object_new_int64(rx->bitrate), &err);
	}
	if (rx->has_rssi)
		put(o, "rssi", json_object_new_int(rx->rssi), &err);
	put(o, "size", json_object_new_int(rx->size), &err);
	put(o, "data", new_b64(rx->data, rx->size), &err);
	return err;
}

static int rxpk_array(const struct gwmp_rxpk *rxpk, size_t n, json_object *arr)
{
	for (size_t i = 0; i < n; i++) {
		json_object *o = json_object_new_object();
		int err;

		if (o == NULL)
			return LB_ERR_NOMEM;
		err = rxpk_fill(o, &rxpk[i]);
		if (err == LB_OK && json_object_array_add(arr, o) != 0)
			err = LB_ERR_NOMEM;
		if (err != LB_OK) {
			json_object_put(o);
			return err;
		}
	}
	return LB_OK;
}

/* Field order of lora_pkt_fwd v4.0.1 (stat, PROTOCOL.TXT §4), plus sx1302_hal's `temp`. */
static int stat_fill(json_object *o, const struct gwmp_stat *st)
{
	int err = LB_OK;

	if (st->has_location && !(isfinite(st->lati) && isfinite(st->lon)))
		return LB_ERR_INVAL;
	if (!isfinite(st->ackr) || (st->has_temp && !isfinite(st->temp)))
		return LB_ERR_INVAL;
	if (st->has_time)
		put(o, "time", json_object_new_string(st->time), &err);
	if (st->has_location) {
		put(o, "lati", new_fixed(st->lati, 5), &err);
		put(o, "long", new_fixed(st->lon, 5), &err);
		put(o, "alti", json_object_new_int(st->alti), &err);
	}
	put(o, "rxnb", json_object_new_int64(st->rxnb), &err);
	put(o, "rxok", json_object_new_int64(st->rxok), &err);
	put(o, "rxfw", json_object_new_int64(st->rxfw), &err);
	put(o, "ackr", new_fixed(st->ackr, 1), &err);
	put(o, "dwnb", json_object_new_int64(st->dwnb), &err);
	put(o, "txnb", json_object_new_int64(st->txnb), &err);
	if (st->has_temp)
		put(o, "temp", new_fixed(st->temp, 1), &err);
	return err;
}

int gwmp_format_push(const struct gwmp_rxpk *rxpk, size_t n, const struct gwmp_stat *stat,
		     char *out, size_t cap)
{
	json_object *root, *arr, *st;
	size_t len;
	int err = LB_OK;

	if ((n == 0 && stat == NULL) || (n > 0 && rxpk == NULL) || out == NULL)
		return LB_ERR_INVAL;
	if ((root = json_object_new_object()) == NULL)
		return LB_ERR_NOMEM;
	if (n > 0) {
		arr = json_object_new_array();
		put(root, "rxpk", arr, &err);
		if (err == LB_OK)
			err = rxpk_array(rxpk, n, arr);
	}
	if (stat != NULL && err == LB_OK) {
		st = json_object_new_object();
		put(root, "stat", st, &err);
		if (err == LB_OK)
			err = stat_fill(st, stat);
	}
	err = emit(root, err, true, out, cap, &len);
	return err != LB_OK ? err : (int)len;
}

static int txpk_check(const struct gwmp_txpk *tx)
{
	if (tx->size > GWMP_MAX_PHY || tx->freq_hz == 0 || tx->prea < 0 || tx->prea > UINT16_MAX)
		return LB_ERR_INVAL;
	if (!tx->imme && !tx->has_tmst && !tx->has_tmms)
		return LB_ERR_INVAL;
	if (tx->modu == GWMP_MOD_LORA)
		return lora_ok(tx->sf, tx->bw_khz) && tx->cr >= 1 && tx->cr <= 4 ? LB_OK
										 : LB_ERR_INVAL;
	if (tx->modu == GWMP_MOD_FSK)
		return tx->bitrate > 0 && tx->fdev > 0 ? LB_OK : LB_ERR_INVAL;
	return LB_ERR_INVAL;
}

/* ChirpStack's field order (as in test_gwmp.c's example PULL_RESP). */
static void txpk_fill(json_object *o, const struct gwmp_txpk *tx, int *err)
{
	put(o, "imme", json_object_new_boolean(tx->imme), err);
	if (tx->has_tmst)
		put(o, "tmst", json_object_new_int64(tx->tmst), err);
	if (tx->has_tmms)
		put(o, "tmms", json_object_new_uint64(tx->tmms), err);
	put(o, "freq", new_freq(tx->freq_hz, true), err);
	put(o, "rfch", json_object_new_int(tx->rfch), err);
	put(o, "powe", json_object_new_int(tx->powe), err);
	put(o, "modu", json_object_new_string(modu_text(tx->modu)), err);
	if (tx->modu == GWMP_MOD_LORA) {
		put(o, "datr", new_datr(tx->sf, tx->bw_khz), err);
		put(o, "codr", json_object_new_string(codr_text(tx->cr)), err);
		put(o, "ipol", json_object_new_boolean(tx->ipol), err);
	} else {
		put(o, "datr", json_object_new_int64(tx->bitrate), err);
		put(o, "fdev", json_object_new_int64(tx->fdev), err);
	}
	if (tx->prea > 0)
		put(o, "prea", json_object_new_int(tx->prea), err);
	put(o, "size", json_object_new_int(tx->size), err);
	put(o, "ncrc", json_object_new_boolean(tx->ncrc), err);
	put(o, "data", new_b64(tx->data, tx->size), err);
}

int gwmp__txpk_json(const struct gwmp_txpk *tx, char *out, size_t cap, size_t *out_len)
{
	json_object *root, *txpk;
	int err = txpk_check(tx);

	*out_len = 0;
	if (err != LB_OK)
		return err;
	if ((root = json_object_new_object()) == NULL)
		return LB_ERR_NOMEM;
	txpk = json_object_new_object();
	put(root, "txpk", txpk, &err);
	if (err == LB_OK)
		txpk_fill(txpk, tx, &err);
	return emit(root, err, false, out, cap, out_len);
}
