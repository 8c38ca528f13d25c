/* SPDX-License-Identifier: MIT */
/* sim_downlink.c - class-A downlink checks of a simulated device, see sim_downlink.h. */
#include "sim_downlink.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "mac/join.h"
#include "base/lb_err.h"

#define BW_125 125
#define CR_4_5 1                    /* gwmp_txpk.cr: 1..4 for 4/5..4/8 */
#define PHY_OVERHEAD_M 5            /* max PHYPayload = M + MHDR + MIC (region.h) */
#define FCNT16_MASK 0xffffu

__attribute__((format(printf, 4, 5)))
static int why_err(int err, char *why, size_t cap, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, cap, fmt, ap);
	va_end(ap);
	return err;
}

const char *sim_dl_window_name(enum sim_dl_window w)
{
	return w == SIM_DL_RX1 ? "rx1" : w == SIM_DL_RX2 ? "rx2" : w == SIM_DL_RXC ? "rxc" : "-";
}

int64_t sim_dl_tmst_diff(uint32_t a, uint32_t b)
{
	return (int64_t)(int32_t)(a - b);
}

/* Which window tx->tmst hits, TS001-1.0.4 §3.3. */
static int check_timing(const struct sim_dl_uplink *up, const struct sim_rx_params *rx,
			const struct gwmp_txpk *tx, enum sim_dl_window *win, char *why, size_t cap)
{
	uint32_t d1 = (up->join ? JOIN_ACCEPT_DELAY1_S : rx->rx1_delay_s) * SIM_DL_US_PER_S;
	uint32_t d2 = d1 + SIM_DL_US_PER_S;

	if (tx->imme || !tx->has_tmst)
		return why_err(LB_ERR_RANGE, why, cap, "not timed on tmst (%s): class A needs tmst",
			       tx->imme ? "imme" : "tmms");
	uint32_t delta = tx->tmst - up->tmst;
	if (delta == d1) {
		*win = SIM_DL_RX1;
		return LB_OK;
	}
	if (delta == d2) {
		*win = SIM_DL_RX2;
		return LB_OK;
	}
	return why_err(LB_ERR_RANGE, why, cap,
		       "tmst %" PRIu32 " is uplink tmst %" PRIu32 " %+" PRId64
		       " us; RX1 is +%" PRIu32 ", RX2 +%" PRIu32,
		       tx->tmst, up->tmst, sim_dl_tmst_diff(tx->tmst, up->tmst), d1, d2);
}

/*
 * RX1 of a US915/AU915 device, written out from RP002-1.0.4 rather than
 * taken from lorabridge's region tables, so the check does not share their
 * mistakes: downlink channel = uplink channel mod 8 at 923.3 + 0.6 n MHz
 * (§2.5.7 US902-928, §2.8.7 AU915-928), DR from the region's RX1 table
 * [uplink DR][RX1DROffset] (US915 DR0..DR4 x 0..3, AU915 DR0..DR6 x 0..5;
 * the LR-FHSS rows are left out: the simulated devices send LoRa only).
 */
#define GRID_DOWN_BASE_HZ 923300000u
#define GRID_DOWN_STEP_HZ 600000u
#define GRID_DOWN_CHANNELS 8
#define US915_UP_DRS 5
#define US915_OFFSETS 4
#define AU915_UP_DRS 7
#define AU915_OFFSETS 6
static const uint8_t us915_rx1[US915_UP_DRS][US915_OFFSETS] = {
	{10, 9, 8, 8}, {11, 10, 9, 8}, {12, 11, 10, 9}, {13, 12, 11, 10}, {13, 13, 12, 11},
};
static const uint8_t au915_rx1[AU915_UP_DRS][AU915_OFFSETS] = {
	{8, 8, 8, 8, 8, 8},       {9, 8, 8, 8, 8, 8},     {10, 9, 8, 8, 8, 8},
	{11, 10, 9, 8, 8, 8},     {12, 11, 10, 9, 8, 8},  {13, 12, 11, 10, 9, 8},
	{13, 13, 12, 11, 10, 9},
};

static int grid_rx1(const struct region *r, const struct sim_dl_uplink *up, int up_dr,
		    uint8_t offset, uint32_t *freq_hz, uint8_t *dr, char *why, size_t cap)
{
	bool au = strcmp(r->name, "AU915") == 0;
	unsigned n_dr = au ? AU915_UP_DRS : US915_UP_DRS;
	unsigned n_off = au ? AU915_OFFSETS : US915_OFFSETS;

	if ((unsigned)up_dr >= n_dr || offset >= n_off)
		return why_err(LB_ERR_RANGE, why, cap, "no %s RX1 for uplink DR%d offset %u", r->name,
			       up_dr, offset);
	*freq_hz = GRID_DOWN_BASE_HZ + GRID_DOWN_STEP_HZ * (up->ch % GRID_DOWN_CHANNELS);
	*dr = au ? au915_rx1[up_dr][offset] : us915_rx1[up_dr][offset];
	return LB_OK;
}

/* Frequency and DR the device listens on in window w. */
static int window_params(const struct region *r, const struct sim_dl_uplink *up,
			 const struct sim_rx_params *rx, enum sim_dl_window w, uint32_t *freq_hz,
			 uint8_t *dr, char *why, size_t cap)
{
	if (w == SIM_DL_RX2) {
		uint8_t unused;
		*dr = rx->rx2_dr;
		int rc = region_rx2(r, freq_hz, &unused);
		if (rx->rx2_freq_hz)
			*freq_hz = rx->rx2_freq_hz;   /* RXParamSetupReq (TS001-1.0.4 §5.4) */
		return rc;
	}
	uint16_t bw = up->bw_khz ? up->bw_khz : BW_125;
	int up_dr = region_dr_lora(r, up->sf, bw, true);
	if (up_dr < 0)
		return why_err(LB_ERR_MALFORMED, why, cap, "uplink SF%uBW%u has no DR in %s", up->sf,
			       bw, r->name);
	uint8_t offset = up->join ? 0 : rx->rx1_dr_offset;
	if (up->grid)
		return grid_rx1(r, up, up_dr, offset, freq_hz, dr, why, cap);
	int rc = region_rx1_rp(r, (enum region_rp)up->rp, up->freq_hz, (uint8_t)up_dr, offset,
			       freq_hz, dr);
	if (rc != LB_OK)
		return why_err(rc, why, cap, "no RX1 for DR%d offset %u at %" PRIu32 " Hz", up_dr,
			       offset, up->freq_hz);
	return LB_OK;
}

static int check_modulation(const struct region *r, enum region_rp rp, const struct gwmp_txpk *tx,
			    uint32_t freq_hz, uint8_t dr, enum sim_dl_window w, char *why,
			    size_t cap)
{
	const struct region_dr *info = region_dr_info(r, dr);
	uint8_t m;

	if (tx->modu != GWMP_MOD_LORA)
		return why_err(LB_ERR_MALFORMED, why, cap, "modulation is not LoRa");
	if (!tx->ipol)
		return why_err(LB_ERR_MALFORMED, why, cap, "ipol false: downlinks use inverted IQ");
	if (tx->cr != CR_4_5)
		return why_err(LB_ERR_MALFORMED, why, cap, "code rate 4/%u, LoRaWAN uses 4/5",
			       tx->cr + 4u);
	if (tx->freq_hz != freq_hz)
		return why_err(LB_ERR_MALFORMED, why, cap,
			       "%s frequency %" PRIu32 " Hz, the device listens on %" PRIu32 " Hz",
			       sim_dl_window_name(w), tx->freq_hz, freq_hz);
	if (!info || info->mod != REGION_MOD_LORA)
		return why_err(LB_ERR_MALFORMED, why, cap, "%s DR%u is not LoRa in %s",
			       sim_dl_window_name(w), dr, r->name);
	if (tx->sf != info->sf || tx->bw_khz != info->bw_khz)
		return why_err(LB_ERR_MALFORMED, why, cap,
			       "%s sent at SF%uBW%u, the device listens at DR%u = SF%uBW%u",
			       sim_dl_window_name(w), tx->sf, tx->bw_khz, dr, info->sf,
			       info->bw_khz);
	if (region_max_payload_rp(r, rp, dr, &m, NULL) == LB_OK && tx->size > m + PHY_OVERHEAD_M)
		return why_err(LB_ERR_MALFORMED, why, cap, "%u bytes exceed DR%u's maximum of %u",
			       tx->size, dr, m + PHY_OVERHEAD_M);
	return LB_OK;
}

int sim_dl_check_radio(const struct region *r, const struct sim_dl_uplink *up,
		       const struct sim_rx_params *rx, const struct gwmp_txpk *tx,
		       enum sim_dl_window *win, char *why, size_t cap)
{
	uint32_t freq_hz;
	uint8_t dr;

	*win = SIM_DL_NO_WINDOW;
	int rc = check_timing(up, rx, tx, win, why, cap);
	if (rc != LB_OK)
		return rc;
	rc = window_params(r, up, rx, *win, &freq_hz, &dr, why, cap);
	if (rc != LB_OK)
		return rc;
	return check_modulation(r, (enum region_rp)up->rp, tx, freq_hz, dr, *win, why, cap);
}

int sim_dl_check_rxc(const struct region *r, enum region_rp rp, const struct sim_rx_params *rx,
		     const struct gwmp_txpk *tx, char *why, size_t cap)
{
	uint32_t freq_hz;
	uint8_t unused;

	if (!tx->imme)
		return why_err(LB_ERR_RANGE, why, cap, "class C downlink not sent immediately (imme)");
	if (region_rx2(r, &freq_hz, &unused) != LB_OK)
		return why_err(LB_ERR_MALFORMED, why, cap, "no RX2 in %s", r->name);
	return check_modulation(r, rp, tx, freq_hz, rx->rx2_dr, SIM_DL_RXC, why, cap);
}

static int verify_mic(const struct sim_dl_session *s, const struct lw_frame *f, uint32_t fcnt)
{
	uint8_t mic[LW_LEN_MIC];

	int rc = lwcrypto_data_mic(&s->keys->nwk_s_key, LW_DIR_DOWN, s->dev_addr, fcnt, f->phy,
				   f->msg_len, mic);
	if (rc != LB_OK)
		return rc;
	return lwcrypto_mic_equal(mic, f->mic) ? LB_OK : LB_ERR_MIC;
}

/* TS001-1.0.4 §4.3.1.5: the counter as the device rebuilds it, and a repeat
 * told from a bad MIC. */
static int verify_fcnt(const struct sim_dl_session *s, const struct lw_frame *f, uint32_t *fcnt)
{
	uint16_t f16 = f->u.data.fcnt16;

	*fcnt = lorawan_fcnt_full(s->fcnt_down, s->has_fcnt_down, f16);
	int rc = verify_mic(s, f, *fcnt);
	if (rc != LB_ERR_MIC)
		return rc == LB_OK && s->has_fcnt_down && *fcnt == s->fcnt_down ? LB_ERR_REPLAY : rc;
	if (!s->has_fcnt_down)
		return LB_ERR_MIC;
	/* An older counter of the same 16-bit epoch, or the one just below it. */
	uint32_t old = (s->fcnt_down & ~FCNT16_MASK) | f16;
	if (old > s->fcnt_down)
		old -= FCNT16_MASK + 1;
	if (old <= s->fcnt_down && verify_mic(s, f, old) == LB_OK) {
		*fcnt = old;
		return LB_ERR_REPLAY;
	}
	return LB_ERR_MIC;
}

static void fill_frame(const struct lw_frame *f, uint32_t fcnt, struct sim_dl_frame *out)
{
	const struct lw_data *d = &f->u.data;

	memset(out, 0, sizeof(*out));
	out->confirmed = f->mtype == LW_MTYPE_CONFIRMED_DOWN;
	out->ack = d->ack;
	out->fpending = d->fpending;
	out->adr = d->adr;
	out->fcnt = fcnt;
	out->fopts_len = d->fopts_len;
	if (d->fopts_len)
		memcpy(out->fopts, d->fopts, d->fopts_len);
	out->has_fport = d->has_fport;
	out->fport = d->fport;
	out->payload_len = d->frm_len;
}

int sim_dl_open_data(const struct sim_dl_session *s, const uint8_t *phy, size_t len,
		     struct sim_dl_frame *out)
{
	struct lw_frame f;
	uint32_t fcnt;

	int rc = lorawan_parse(phy, len, &f);
	if (rc != LB_OK)
		return rc;
	if (!lorawan_is_data_down(f.mtype))
		return LB_ERR_UNKNOWN_TYPE;
	if (f.u.data.dev_addr != s->dev_addr)
		return LB_ERR_NOT_FOUND;
	rc = verify_fcnt(s, &f, &fcnt);
	if (rc != LB_OK) {
		if (rc == LB_ERR_REPLAY)
			fill_frame(&f, fcnt, out);
		return rc;
	}
	fill_frame(&f, fcnt, out);
	if (f.u.data.frm_len == 0)
		return LB_OK;
	struct lw_key *k = f.u.data.fport == 0 ? &s->keys->nwk_s_key : &s->keys->app_s_key;
	return lwcrypto_payload_crypt(k, LW_DIR_DOWN, s->dev_addr, fcnt, f.u.data.frm_payload,
				      f.u.data.frm_len, out->payload);
}
