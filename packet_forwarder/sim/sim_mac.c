/* SPDX-License-Identifier: MIT */
/* sim_mac.c - a simulated end-device's MAC commands, see sim_mac.h. */
#include "sim_mac.h"

#include <math.h>
#include <string.h>

#include "base/lb_err.h"
#include "lorawan/maccmd.h"
#include "mac/adr.h"
#include "mac/downlink.h"
#include "mac/macstate.h"
#include "sim_devices.h"

#define BW_125 125
#define CMDS_MAX 32                    /* commands read from one downlink */
#define GRID_BLOCKS 4                  /* US915/AU915: 125 kHz channels 0..63 */
#define CNTL_ALL_ON 6                  /* RP002-1.0.4 LinkAdrReq ChMaskCntl */
#define CNTL_ALL125_OFF 7
#define CNTL_500 4                     /* grid: ChMask = channels 64..71 */
#define CNTL_SUB_BANDS 5               /* grid: bit i = channels 8i..8i+7 and 64+i */
#define GRID_CHANNELS 72
#define SUB_BANDS 8
#define SUB_BAND_WIDTH 8               /* 125 kHz channels per sub-band */
#define BW_500 500
#define SF_500 8                       /* US915 DR4, AU915 DR6: SF8BW500 */
#define SF_JOIN_125 10                 /* US915 DR0, AU915 DR2: SF10BW125 */
#define CFLIST_OFF_TYPE 15             /* CFList: CFListType, its last byte */
#define CFLIST_TYPE_CHMASK 1           /* RP002-1.0.4 §2.3.2 */
#define CHMASK4_CHANNELS 0x00ffu       /* ChMask4: channels 64..71, bits 8..15 RFU */
#define MARGIN_MIN (-32)               /* DevStatusAns margin: 6-bit signed */
#define MARGIN_MAX 31

int sim_mac_reset(struct sim_mac_dev *m, const struct region *r, uint8_t sf)
{
	if (!m || !r)
		return LB_ERR_INVAL;
	int dr = region_dr_lora(r, sf, BW_125, true);
	if (dr < 0)
		return LB_ERR_NOT_FOUND;
	float snr = m->snr_db;
	bool has_snr = m->has_snr;
	memset(m, 0, sizeof(*m));
	m->snr_db = snr;
	m->has_snr = has_snr;
	m->dr = (uint8_t)dr;
	m->nb_trans = 1;
	if (macstate_grid_region(r)) {
		for (size_t i = 0; i < SIM_MAC_MASK_WORDS - 1; i++)
			m->ch_mask[i] = 0xffff;
		m->ch_mask[GRID_BLOCKS] = 0x00ff;
		return LB_OK;
	}
	for (size_t i = 0; i < r->n_default_channels && i < SIM_MAC_CHANNELS; i++) {
		m->chan_hz[i] = r->default_channels_hz[i];
		m->ch_mask[0] |= (uint16_t)(1u << i);
	}
	return LB_OK;
}

int sim_mac_apply_cflist(struct sim_mac_dev *m, const struct region *r,
			 const uint8_t cflist[REGION_CFLIST_LEN])
{
	uint16_t mask[SIM_MAC_MASK_WORDS];
	bool any = false;

	if (!m || !r || !cflist)
		return LB_ERR_INVAL;
	if (!macstate_grid_region(r) || cflist[CFLIST_OFF_TYPE] != CFLIST_TYPE_CHMASK)
		return LB_OK;
	for (size_t i = 0; i < SIM_MAC_MASK_WORDS; i++) {
		mask[i] = (uint16_t)(cflist[2 * i] | cflist[2 * i + 1] << 8);
		any = any || mask[i] != 0;
	}
	mask[GRID_BLOCKS] &= CHMASK4_CHANNELS;
	if (!any)
		return LB_ERR_RANGE;
	memcpy(m->ch_mask, mask, sizeof(mask));
	return LB_OK;
}

void sim_mac_set_snr(struct sim_mac_dev *m, float min_db, float max_db, size_t idx, size_t n)
{
	m->has_snr = true;
	m->snr_db = n > 1 ? min_db + (max_db - min_db) * (float)idx / (float)(n - 1) : min_db;
}

float sim_mac_power_less_db(const struct sim_mac_dev *m)
{
	return (float)(ADR_TX_POWER_STEP_DB * m->tx_power);
}

uint8_t sim_mac_sf(const struct sim_mac_dev *m, const struct region *r)
{
	const struct region_dr *d = region_dr_info(r, m->dr);
	return d && d->mod == REGION_MOD_LORA ? d->sf : 0;
}

uint32_t sim_mac_freq_hz(const struct sim_mac_dev *m, const struct region *r, size_t dev_idx,
			 uint32_t fcnt)
{
	uint32_t on[SIM_MAC_CHANNELS];
	size_t n = 0;

	if (macstate_grid_region(r))
		return 0;
	for (size_t i = 0; i < SIM_MAC_CHANNELS; i++)
		if (m->chan_hz[i] && (m->ch_mask[0] & (1u << i)))
			on[n++] = m->chan_hz[i];
	return n ? on[(dev_idx + fcnt) % n] : 0;
}

/* ------------------------------------------------------------ grid channels */

static bool grid_on(const struct sim_mac_dev *m, unsigned ch)
{
	return (m->ch_mask[ch / 16] >> (ch % 16)) & 1u;
}

bool sim_mac_sub_band_has(unsigned sub_band, unsigned ch)
{
	if (sub_band < 1 || sub_band > SUB_BANDS)
		return false;
	if (ch < SIM_GRID_125)
		return ch / SUB_BAND_WIDTH == sub_band - 1;
	return ch == SIM_GRID_125 + sub_band - 1;
}

/* Channel ch (0..71) at the device's DR (a join-request: the join DR), or
 * for 64..71 the 500 kHz DR. */
static int grid_fill(const struct sim_mac_dev *m, const struct region *r, unsigned ch,
		     bool join, struct sim_mac_tx *out)
{
	int dr = ch >= SIM_GRID_125 ? region_dr_lora(r, SF_500, BW_500, true) :
		 join ? region_dr_lora(r, SF_JOIN_125, BW_125, true) : m->dr;
	const struct region_dr *d = dr >= 0 ? region_dr_info(r, (uint8_t)dr) : NULL;

	if (!d || d->mod != REGION_MOD_LORA || !d->uplink)
		return LB_ERR_NOT_FOUND;
	out->ch = (uint8_t)ch;
	out->freq_hz = ch < SIM_GRID_125 ? r->up125.base_hz + r->up125.step_hz * ch :
		       r->up500.base_hz + r->up500.step_hz * (ch - SIM_GRID_125);
	out->dr = (uint8_t)dr;
	out->sf = d->sf;
	out->bw_khz = d->bw_khz;
	return LB_OK;
}

int sim_mac_grid_tx(const struct sim_mac_dev *m, const struct region *r, size_t dev_idx,
		    uint32_t fcnt, struct sim_mac_tx *out)
{
	uint8_t on[GRID_CHANNELS];
	size_t n = 0;

	if (!m || !r || !out || !macstate_grid_region(r))
		return LB_ERR_INVAL;
	/* A device picks among the enabled channels that carry its DR
	 * (RP002-1.0.4 §2.5.2: 0..63 the 125 kHz DRs, 64..71 the 500 kHz
	 * one), as LoRaMac-node does: never a 500 kHz channel at a 125 kHz
	 * DR, so its DR changes only by LinkADRReq. */
	const struct region_dr *d = region_dr_info(r, m->dr);
	bool wide = d && d->bw_khz == BW_500;
	for (unsigned ch = wide ? SIM_GRID_125 : 0; ch < (wide ? GRID_CHANNELS : SIM_GRID_125);
	     ch++)
		if (grid_on(m, ch))
			on[n++] = (uint8_t)ch;
	if (n == 0)
		return LB_ERR_NOT_FOUND;
	return grid_fill(m, r, on[(dev_idx + fcnt) % n], false, out);
}

int sim_mac_grid_join_tx(const struct sim_mac_dev *m, const struct region *r, size_t dev_idx,
			 uint32_t attempt, struct sim_mac_tx *out)
{
	if (!m || !r || !out || !macstate_grid_region(r))
		return LB_ERR_INVAL;
	unsigned sb = attempt % SUB_BANDS;
	unsigned j = (unsigned)((attempt / SUB_BANDS + dev_idx) % (SUB_BAND_WIDTH + 1));
	unsigned ch = j < SUB_BAND_WIDTH ? sb * SUB_BAND_WIDTH + j : SIM_GRID_125 + sb;
	return grid_fill(m, r, ch, true, out);
}

/* ------------------------------------------------------------ answers */

static void queue_ans(struct sim_mac_dev *m, const struct maccmd *a)
{
	size_t n = 0;

	if (maccmd_build(a, m->queue + m->queue_len, sizeof(m->queue) - m->queue_len, &n) == LB_OK)
		m->queue_len += n;
}

static void sticky_ans(struct sim_mac_dev *m, const struct maccmd *a)
{
	size_t n = 0;

	if (maccmd_build(a, m->sticky + m->sticky_len, sizeof(m->sticky) - m->sticky_len, &n) ==
	    LB_OK)
		m->sticky_len += n;
}

size_t sim_mac_fopts(struct sim_mac_dev *m, uint8_t out[SIM_MAC_ANS_MAX])
{
	struct maccmd cmds[CMDS_MAX];
	size_t len = m->sticky_len, n = 0, taken = 0;

	memcpy(out, m->sticky, m->sticky_len);
	(void)maccmd_parse(m->queue, m->queue_len, LW_DIR_UP, cmds, CMDS_MAX, &n);
	for (size_t i = 0; i < n; i++) {
		size_t sz = 1 + cmds[i].len;
		if (len + sz > SIM_MAC_ANS_MAX)
			break;
		memcpy(out + len, m->queue + taken, sz);
		len += sz;
		taken += sz;
	}
	m->queue_sent = taken;
	return len;
}

void sim_mac_uplink_sent(struct sim_mac_dev *m)
{
	memmove(m->queue, m->queue + m->queue_sent, m->queue_len - m->queue_sent);
	m->queue_len -= m->queue_sent;
	m->queue_sent = 0;
}

/* ------------------------------------------------------------ LinkADRReq */

static bool channel_defined(const struct sim_mac_dev *m, const struct region *r, unsigned ch)
{
	if (macstate_grid_region(r))
		return ch < 72;
	return ch < SIM_MAC_CHANNELS && m->chan_hz[ch] != 0;
}

/* One ChMaskCntl/ChMask applied to mask; false for a ChMaskCntl the region
 * does not define or a ChMask naming an undefined channel. */
static bool apply_mask(const struct sim_mac_dev *m, const struct region *r,
		       const struct maccmd_link_adr_req *q, uint16_t mask[SIM_MAC_MASK_WORDS])
{
	bool grid = macstate_grid_region(r);

	if (grid && q->ch_mask_cntl < GRID_BLOCKS) {
		mask[q->ch_mask_cntl] = q->ch_mask;
		return true;
	}
	if (grid && (q->ch_mask_cntl == CNTL_500 || q->ch_mask_cntl == CNTL_ALL_ON ||
		     q->ch_mask_cntl == CNTL_ALL125_OFF)) {
		uint16_t all = q->ch_mask_cntl == CNTL_ALL_ON ? 0xffff : 0;
		if (q->ch_mask_cntl != CNTL_500)
			for (size_t i = 0; i < GRID_BLOCKS; i++)
				mask[i] = all;
		mask[GRID_BLOCKS] = q->ch_mask & 0xff;
		return true;
	}
	if (grid && q->ch_mask_cntl == CNTL_SUB_BANDS) {
		/* RP002-1.0.4 §2.5.5: bit i = channels 8i..8i+7 and 64+i; bits 8..15 RFU. */
		for (unsigned i = 0; i < SUB_BANDS; i++) {
			bool on = (q->ch_mask >> i) & 1u;
			uint16_t bits = (uint16_t)(0xffu << (SUB_BAND_WIDTH * (i % 2)));
			if (on)
				mask[i / 2] |= bits;
			else
				mask[i / 2] &= (uint16_t)~bits;
			if (on)
				mask[GRID_BLOCKS] |= (uint16_t)(1u << i);
			else
				mask[GRID_BLOCKS] &= (uint16_t)~(1u << i);
		}
		return true;
	}
	if (grid)
		return false;
	if (q->ch_mask_cntl == CNTL_ALL_ON) {
		mask[0] = 0;
		for (unsigned i = 0; i < SIM_MAC_CHANNELS; i++)
			if (channel_defined(m, r, i))
				mask[0] |= (uint16_t)(1u << i);
		return true;
	}
	if (q->ch_mask_cntl != 0)
		return false;
	for (unsigned i = 0; i < SIM_MAC_CHANNELS; i++)
		if ((q->ch_mask & (1u << i)) && !channel_defined(m, r, i))
			return false;
	mask[0] = q->ch_mask;
	return true;
}

static bool any_channel(const uint16_t mask[SIM_MAC_MASK_WORDS])
{
	for (size_t i = 0; i < SIM_MAC_MASK_WORDS; i++)
		if (mask[i])
			return true;
	return false;
}

/* Whether a channel of mask carries DR info (TS001-1.0.4 §5.2: DataRateACK
 * is clear for a DR "not supported by any of the enabled channels"); grid
 * regions: a 125 kHz DR on 0..63, the 500 kHz one on 64..71. */
static bool dr_on_some_channel(const struct region *r, const struct region_dr *info,
			       const uint16_t mask[SIM_MAC_MASK_WORDS])
{
	if (!macstate_grid_region(r))
		return true;
	if (info->bw_khz == BW_500)
		return (mask[GRID_BLOCKS] & CHMASK4_CHANNELS) != 0;
	for (size_t i = 0; i < GRID_BLOCKS; i++)
		if (mask[i])
			return true;
	return false;
}

/* The block cmds[0..n): TS001-1.0.4 §5.2. */
static void link_adr_block(struct sim_mac_dev *m, const struct sim_mac_conf *c,
			   const struct maccmd *cmds, size_t n)
{
	const struct region *r = c->region;
	const struct maccmd_link_adr_req *last = &cmds[n - 1].u.link_adr_req;
	uint16_t mask[SIM_MAC_MASK_WORDS];
	bool mask_ok = true;

	if (c->ignore_adr) {
		m->n.link_adr_ignored++;
		return;
	}
	memcpy(mask, m->ch_mask, sizeof(mask));
	for (size_t i = 0; i < n; i++)
		mask_ok = apply_mask(m, r, &cmds[i].u.link_adr_req, mask) && mask_ok;
	mask_ok = mask_ok && any_channel(mask);
	bool keep_dr = last->data_rate == SIM_MAC_KEEP && !c->keep_rfu;
	bool keep_pw = last->tx_power == SIM_MAC_KEEP && !c->keep_rfu;
	uint8_t dr = keep_dr ? m->dr : last->data_rate;
	const struct region_dr *info = region_dr_info(r, dr);
	/* With UplinkDwellTime = 1 (r->uplink_dwell: AS923, AU915 from 1.0.3) a DR
	 * whose dwell-column M is "N/A" (DR0, DR1: RP002-1.0.4 §2.10.6, §2.8.6)
	 * is one the device cannot use: DataRateACK = 0 (TS001-1.0.4 §5.2). */
	bool dr_ok = info && info->uplink && (!r->uplink_dwell || info->max_m_dwell > 0) &&
		     (!mask_ok || dr_on_some_channel(r, info, mask));
	uint8_t pw = keep_pw ? m->tx_power : last->tx_power;
	bool pw_ok = pw <= adr_max_tx_power(r, (enum region_rp)c->rp);

	if (mask_ok && dr_ok && pw_ok) {
		memcpy(m->ch_mask, mask, sizeof(mask));
		m->dr = dr;
		m->tx_power = pw;
		m->nb_trans = last->nb_trans ? last->nb_trans : 1;
		m->n.link_adr_applied++;
		m->n.link_adr_keep += keep_dr && keep_pw;
	} else {
		m->n.link_adr_refused++;
	}
	struct maccmd a = {.cid = MACCMD_LINK_ADR, .dir = LW_DIR_UP};
	a.u.link_adr_ans.power_ack = pw_ok;
	a.u.link_adr_ans.data_rate_ack = dr_ok;
	a.u.link_adr_ans.channel_mask_ack = mask_ok;
	for (size_t i = 0; i < n; i++)
		queue_ans(m, &a);
}

/* ------------------------------------------------------------ the others */

static void dev_status(struct sim_mac_dev *m, const struct sim_mac_conf *c, uint8_t dl_sf)
{
	double floor_db = 0;
	struct maccmd a = {.cid = MACCMD_DEV_STATUS, .dir = LW_DIR_UP};

	(void)downlink_demod_floor_db(dl_sf, &floor_db);
	long margin = lround((double)m->snr_db - floor_db);
	a.u.dev_status_ans.battery = c->battery;
	a.u.dev_status_ans.margin = (int8_t)(margin < MARGIN_MIN ? MARGIN_MIN :
					     margin > MARGIN_MAX ? MARGIN_MAX : margin);
	m->n.dev_status++;
	queue_ans(m, &a);
}

static void rx_param(struct sim_mac_dev *m, const struct sim_mac_conf *c,
		     struct sim_rx_params *rx, const struct maccmd_rx_param_setup_req *q)
{
	const struct region *r = c->region;
	const struct region_dr *d = region_dr_info(r, q->rx2_data_rate);
	struct maccmd a = {.cid = MACCMD_RX_PARAM_SETUP, .dir = LW_DIR_UP};

	a.u.rx_param_setup_ans.channel_ack = q->frequency >= r->min_hz && q->frequency <= r->max_hz;
	a.u.rx_param_setup_ans.rx2_data_rate_ack = d && d->downlink;
	a.u.rx_param_setup_ans.rx1_dr_offset_ack = q->rx1_dr_offset < r->n_rx1_offsets;
	if (a.u.rx_param_setup_ans.channel_ack && a.u.rx_param_setup_ans.rx2_data_rate_ack &&
	    a.u.rx_param_setup_ans.rx1_dr_offset_ack) {
		rx->rx1_dr_offset = q->rx1_dr_offset;
		rx->rx2_dr = q->rx2_data_rate;
		rx->rx2_freq_hz = q->frequency;
	}
	m->n.rx_param++;
	sticky_ans(m, &a);
}

static void rx_timing(struct sim_mac_dev *m, struct sim_rx_params *rx, uint8_t delay)
{
	struct maccmd a = {.cid = MACCMD_RX_TIMING_SETUP, .dir = LW_DIR_UP};

	rx->rx1_delay_s = delay ? delay : 1;   /* Del 0 means 1 s (§5.7) */
	m->n.rx_timing++;
	sticky_ans(m, &a);
}

static void new_channel(struct sim_mac_dev *m, const struct region *r,
			const struct maccmd_new_channel_req *q)
{
	struct maccmd a = {.cid = MACCMD_NEW_CHANNEL, .dir = LW_DIR_UP};
	const struct region_dr *hi = region_dr_info(r, q->max_dr);
	bool editable = !macstate_grid_region(r) && q->ch_index >= r->n_default_channels &&
			q->ch_index < SIM_MAC_CHANNELS;

	a.u.new_channel_ans.channel_frequency_ok =
		editable && (q->frequency == 0 ||
			     (q->frequency >= r->min_hz && q->frequency <= r->max_hz));
	a.u.new_channel_ans.data_rate_range_ok =
		editable && q->min_dr <= q->max_dr && hi && hi->uplink;
	if (a.u.new_channel_ans.channel_frequency_ok && a.u.new_channel_ans.data_rate_range_ok) {
		m->chan_hz[q->ch_index] = q->frequency;
		if (q->frequency)
			m->ch_mask[0] |= (uint16_t)(1u << q->ch_index);
		else
			m->ch_mask[0] &= (uint16_t)~(1u << q->ch_index);
	}
	m->n.new_channel++;
	queue_ans(m, &a);
}

int sim_mac_on_downlink(struct sim_mac_dev *m, const struct sim_mac_conf *c,
			struct sim_rx_params *rx, const uint8_t *cmds, size_t len, uint8_t dl_sf)
{
	struct maccmd q[CMDS_MAX];
	size_t n = 0;

	m->sticky_len = 0;   /* a downlink came: RX*SetupAns stop (§5.4, §5.7) */
	int rc = len ? maccmd_parse(cmds, len, LW_DIR_DOWN, q, CMDS_MAX, &n) : LB_OK;
	for (size_t i = 0; i < n; i++) {
		switch (q[i].cid) {
		case MACCMD_LINK_ADR: {
			size_t j = i;
			while (j + 1 < n && q[j + 1].cid == MACCMD_LINK_ADR)
				j++;
			link_adr_block(m, c, &q[i], j - i + 1);
			i = j;
			break;
		}
		case MACCMD_DEV_STATUS:
			dev_status(m, c, dl_sf);
			break;
		case MACCMD_RX_PARAM_SETUP:
			rx_param(m, c, rx, &q[i].u.rx_param_setup_req);
			break;
		case MACCMD_RX_TIMING_SETUP:
			rx_timing(m, rx, q[i].u.rx_timing_setup_req.delay);
			break;
		case MACCMD_NEW_CHANNEL:
			new_channel(m, c->region, &q[i].u.new_channel_req);
			break;
		default:
			break;
		}
	}
	return rc == LB_OK ? LB_OK : LB_ERR_MALFORMED;
}
