/* SPDX-License-Identifier: MIT */
/*
 * dlplan.c - class-A receive windows: which gateway sends the downlink, when,
 * on which frequency and at which data rate (see downlink.h).
 *
 * TS001-1.0.4 §3.3: both windows are timed from the end of the uplink, which
 * is what rxpk.tmst marks ("RX finished", Semtech PROTOCOL.TXT §4), so
 * txpk.tmst = rxpk.tmst + delay (mod 2^32, PROTOCOL.TXT §6):
 *
 *   uplink end (tmst)     RX1                      RX2
 *        |--- RECEIVE_DELAY1 (1..15 s) ---|--- 1 s ---|
 *        |--- JOIN_ACCEPT_DELAY1 5 s -----|--- 1 s ---|   join-accept
 *
 * RX1: frequency and DR follow the uplink (region_rx1: EU868, AS923, KR920,
 * IN865 same frequency, US915/AU915 923.3 + 0.6 * (channel mod 8) MHz; DR from
 * the RX1DROffset table, for AS923 the one of the configured DownlinkDwellTime,
 * at most DR5 for AS923 and IN865 devices of Regional Parameters 1.0.2revB and
 * 1.0.3revA: region_rx1_rp()). Payload limits are those of the device's
 * revision too (region_max_payload_rp(): AS923 DR2 before RP002-1.0.1).
 * RX2: fixed frequency and DR (region default or the device's settings).
 */
#include <limits.h>
#include <string.h>

#include "mac/downlink.h"
#include "base/lb_err.h"
#include "lorawan/lorawan.h"
#include "lorawan/region.h"

#define US_PER_S 1000000u
#define TXPK_RFCH 0                     /* the TX-enabled chain of reference configs */
#define TXPK_CR_4_5 1                   /* codr "4/5", the only LoRaWAN coding rate */

/* Demodulation floor (dB) by SF: SX1276/SX1301 datasheets, the values
 * LoRaWAN LinkCheckAns margins and ChirpStack use; SF5/SF6 from SX126x. */
static const struct {
	uint8_t sf;
	double db;
} demod_floor[] = {
	{ 5, -2.5 }, { 6, -5.0 }, { 7, -7.5 }, { 8, -10.0 },
	{ 9, -12.5 }, { 10, -15.0 }, { 11, -17.5 }, { 12, -20.0 },
};

int downlink_demod_floor_db(uint8_t sf, double *db)
{
	if (db == NULL)
		return LB_ERR_INVAL;
	for (size_t i = 0; i < sizeof(demod_floor) / sizeof(demod_floor[0]); i++) {
		if (demod_floor[i].sf == sf) {
			*db = demod_floor[i].db;
			return LB_OK;
		}
	}
	return LB_ERR_RANGE;
}

double downlink_rx_margin_db(const struct gwmp_rxpk *pk)
{
	double floor_db;

	if (pk == NULL || !pk->has_lsnr || pk->modu != GWMP_MOD_LORA ||
	    downlink_demod_floor_db(pk->sf, &floor_db) != LB_OK)
		return DOWNLINK_MARGIN_UNKNOWN;
	return (double)pk->lsnr - floor_db;
}

static int rx_rssi(const struct gwmp_rxpk *pk)
{
	return pk->has_rssi ? pk->rssi : INT_MIN;
}

static bool better(const struct gwmp_rxpk *a, const struct gwmp_rxpk *b)
{
	double ma = downlink_rx_margin_db(a);
	double mb = downlink_rx_margin_db(b);

	if (ma > mb)
		return true;
	if (ma < mb)
		return false;
	return rx_rssi(a) > rx_rssi(b);
}

int downlink_best_rx(const struct lb_rx *rx, size_t n, size_t *index)
{
	size_t best = 0;

	if (rx == NULL || n == 0 || index == NULL)
		return LB_ERR_INVAL;
	for (size_t i = 1; i < n; i++) {
		if (better(&rx[i].rxpk, &rx[best].rxpk))
			best = i;
	}
	*index = best;
	return LB_OK;
}

/* The uplink's region DR, or a negative lb_err (LR-FHSS: no DR in rxpk). */
static int uplink_dr(const struct region *r, const struct gwmp_rxpk *pk)
{
	if (pk->modu == GWMP_MOD_LORA)
		return region_dr_lora(r, pk->sf, pk->bw_khz, true);
	if (pk->modu == GWMP_MOD_FSK)
		return region_dr_fsk(r, pk->bitrate);
	return LB_ERR_NOT_FOUND;
}

static void fill_modulation(const struct region_dr *d, struct gwmp_txpk *tx)
{
	if (d->mod == REGION_MOD_LORA) {
		tx->modu = GWMP_MOD_LORA;
		tx->sf = d->sf;
		tx->bw_khz = d->bw_khz;
		tx->cr = TXPK_CR_4_5;
		tx->ipol = true;     /* downlinks to devices use inverted IQ */
		tx->ncrc = true;     /* TS001-1.0.4 §3.2: no PHY payload CRC on downlinks */
		return;
	}
	/* GFSK: deviation bitrate / 2 as TTS sends; the payload CRC stays on. */
	tx->modu = GWMP_MOD_FSK;
	tx->bitrate = d->bitrate;
	tx->fdev = d->bitrate / 2;
}

/* One window's txpk. LB_ERR_NOT_FOUND: not a LoRa/FSK downlink DR;
 * LB_ERR_TOO_LARGE: the DR cannot carry phy_len bytes. */
static int fill_attempt(const struct region *r, enum region_rp rp, enum downlink_window w,
			uint8_t dr, uint32_t freq_hz, uint32_t tmst_up, uint32_t delay_us,
			size_t phy_len, struct downlink_attempt *a)
{
	const struct region_dr *d = region_dr_info(r, dr);
	uint8_t m;
	int powe;
	int rc;

	if (d == NULL || !d->downlink || (d->mod != REGION_MOD_LORA && d->mod != REGION_MOD_FSK))
		return LB_ERR_NOT_FOUND;
	rc = region_max_payload_rp(r, rp, dr, &m, NULL);
	if (rc != LB_OK)
		return rc;
	if (phy_len > (size_t)m + LW_LEN_MHDR + LW_LEN_MIC)
		return LB_ERR_TOO_LARGE;
	rc = region_tx_power(r, freq_hz, &powe);
	if (rc != LB_OK)
		return rc;
	memset(a, 0, sizeof(*a));
	a->window = w;
	a->dr = dr;
	a->delay_us = delay_us;
	a->max_phy = (uint16_t)(m + LW_LEN_MHDR + LW_LEN_MIC);
	a->txpk.imme = false;
	a->txpk.has_tmst = true;
	a->txpk.tmst = tmst_up + delay_us;    /* unsigned: wraps mod 2^32 */
	a->txpk.freq_hz = freq_hz;
	a->txpk.rfch = TXPK_RFCH;
	a->txpk.powe = powe;
	fill_modulation(d, &a->txpk);
	return LB_OK;
}

static int plan_rx1(const struct downlink_plan_in *in, const struct gwmp_rxpk *pk,
		    uint32_t delay_us, struct downlink_plan *out, struct downlink_attempt *a)
{
	uint8_t offset = in->join_accept ? 0 : in->rx1_dr_offset;
	uint32_t freq;
	uint8_t dr;
	int rc;

	out->uplink_dr = uplink_dr(in->region, pk);
	if (out->uplink_dr < 0)
		return out->uplink_dr;
	rc = region_rx1_rp(in->region, (enum region_rp)in->rp, pk->freq_hz,
			   (uint8_t)out->uplink_dr, offset, &freq, &dr);
	if (rc != LB_OK)
		return rc;
	return fill_attempt(in->region, (enum region_rp)in->rp, DOWNLINK_RX1, dr, freq, pk->tmst,
			    delay_us, in->phy_len, a);
}

static int plan_rx2(const struct downlink_plan_in *in, const struct gwmp_rxpk *pk,
		    uint32_t delay_us, struct downlink_attempt *a)
{
	uint32_t freq = in->rx2_freq_hz;
	uint8_t dr = in->rx2_dr;
	int rc;

	/* A joining device only knows the region's defaults (RP002-1.0.4). */
	if (in->join_accept || !in->rx2_override) {
		rc = region_rx2(in->region, &freq, &dr);
		if (rc != LB_OK)
			return rc;
	}
	return fill_attempt(in->region, (enum region_rp)in->rp, DOWNLINK_RX2, dr, freq, pk->tmst,
			    delay_us, in->phy_len, a);
}

static int check_in(const struct downlink_plan_in *in, const struct downlink_plan *out)
{
	if (in == NULL || out == NULL || in->region == NULL || in->rx == NULL || in->n_rx == 0)
		return LB_ERR_INVAL;
	if (in->phy_len > GWMP_MAX_PHY)
		return LB_ERR_INVAL;
	if (in->rx_delay_s > DOWNLINK_MAX_RX_DELAY_S)
		return LB_ERR_RANGE;
	return LB_OK;
}

/* Keep planned windows in order, record why the others are missing. */
static void keep(struct downlink_plan *out, enum downlink_window w, int rc,
		 const struct downlink_attempt *a)
{
	out->window_err[w] = rc;
	if (rc == LB_OK)
		out->attempt[out->n_attempts++] = *a;
}

static int plan_result(const struct downlink_plan *out)
{
	if (out->n_attempts > 0)
		return LB_OK;
	if (out->window_err[DOWNLINK_RX1] == LB_ERR_TOO_LARGE ||
	    out->window_err[DOWNLINK_RX2] == LB_ERR_TOO_LARGE)
		return LB_ERR_TOO_LARGE;
	return out->window_err[DOWNLINK_RX1];
}

int downlink_plan(const struct downlink_plan_in *in, struct downlink_plan *out)
{
	struct downlink_attempt a;
	const struct gwmp_rxpk *pk;
	uint32_t delay1_s;
	int rc;

	rc = check_in(in, out);
	if (rc != LB_OK)
		return rc;
	memset(out, 0, sizeof(*out));
	rc = downlink_best_rx(in->rx, in->n_rx, &out->rx_index);
	if (rc != LB_OK)
		return rc;
	pk = &in->rx[out->rx_index].rxpk;
	out->gateway_eui = in->rx[out->rx_index].gateway_eui;
	out->version = in->rx[out->rx_index].version;
	out->margin_db = downlink_rx_margin_db(pk);

	if (in->join_accept)
		delay1_s = DOWNLINK_JOIN_ACCEPT_DELAY1_S;
	else
		delay1_s = in->rx_delay_s ? in->rx_delay_s : DOWNLINK_RECEIVE_DELAY1_S;
	rc = plan_rx1(in, pk, delay1_s * US_PER_S, out, &a);
	keep(out, DOWNLINK_RX1, rc, &a);
	rc = plan_rx2(in, pk, (delay1_s + 1) * US_PER_S, &a);
	keep(out, DOWNLINK_RX2, rc, &a);

	if (in->phy != NULL && out->n_attempts > 0)
		return downlink_plan_set_payload(out, in->phy, in->phy_len);
	return plan_result(out);
}

int downlink_plan_class_c(const struct region *r, enum region_rp rp, uint32_t freq_hz,
			  uint8_t dr, const uint8_t *phy, size_t len, struct downlink_attempt *out)
{
	if (r == NULL || out == NULL || (phy == NULL && len > 0) || len > GWMP_MAX_PHY)
		return LB_ERR_INVAL;
	int rc = fill_attempt(r, rp, DOWNLINK_RXC, dr, freq_hz, 0, 0, len, out);
	if (rc != LB_OK)
		return rc;
	out->txpk.imme = true;
	out->txpk.has_tmst = false;
	out->txpk.tmst = 0;
	return downlink_attempt_set_payload(out, phy, len);
}

int downlink_attempt_set_payload(struct downlink_attempt *a, const uint8_t *phy, size_t len)
{
	if (a == NULL || (phy == NULL && len > 0))
		return LB_ERR_INVAL;
	if (len > a->max_phy || len > GWMP_MAX_PHY)
		return LB_ERR_TOO_LARGE;
	if (len > 0)
		memcpy(a->txpk.data, phy, len);
	a->txpk.size = (uint16_t)len;
	return LB_OK;
}

int downlink_plan_set_payload(struct downlink_plan *p, const uint8_t *phy, size_t len)
{
	size_t kept = 0;
	int rc;

	if (p == NULL || (phy == NULL && len > 0) || p->n_attempts > DOWNLINK_MAX_ATTEMPTS)
		return LB_ERR_INVAL;
	for (size_t i = 0; i < p->n_attempts; i++) {
		rc = downlink_attempt_set_payload(&p->attempt[i], phy, len);
		if (rc != LB_OK) {
			p->window_err[p->attempt[i].window] = rc;
			continue;
		}
		if (kept != i)
			p->attempt[kept] = p->attempt[i];
		kept++;
	}
	p->n_attempts = kept;
	return plan_result(p);
}
