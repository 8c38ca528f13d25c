/* SPDX-License-Identifier: MIT */
/* macstate.c - channel plan and LinkADRReq blocks. See macstate.h. */
#include "mac/macstate.h"

#include <assert.h>
#include <string.h>

#include "base/lb_err.h"
#include "lorawan/maccmd.h"

#define CHMASK_CNTL_BLOCK0 0           /* ChMask = channels 0..15 */
#define CHMASK_CNTL_ALL125_OFF 7       /* US902-928: 125 kHz off, ChMask = 64..71 */
#define GRID_BLOCKS 4                  /* 16-channel blocks of the 64 125 kHz channels */
#define SUB_BAND_MAX 8
#define CHANNELS_MAX 8                 /* channels 0..7 outside the grid regions */

static_assert(sizeof(struct macstate) == MACSTATE_SIZE, "macstate.h states the size");
static_assert(MACSTATE_CHANNEL_DONE(7) <= UINT8_MAX, "rx_done holds every channel's bit");

#define RX_DONE_SETTINGS (MACSTATE_RX_PARAM_DONE | MACSTATE_RX_TIMING_DONE)
#define RX_DONE_CHANNELS 0xfcu         /* channels 2..7 (AS923 from 2, others from 3) */
#define RX_DONE_ROW_SHIFT 8

uint32_t macstate_rx_done_to_row(uint8_t rx_done)
{
	return (rx_done & RX_DONE_SETTINGS) | (uint32_t)(rx_done & RX_DONE_CHANNELS) << RX_DONE_ROW_SHIFT;
}

uint8_t macstate_rx_done_from_row(uint32_t row)
{
	return (uint8_t)((row & RX_DONE_SETTINGS) | (row >> RX_DONE_ROW_SHIFT & RX_DONE_CHANNELS));
}

uint32_t macstate_unix_s(int64_t t)
{
	if (t < 0)
		return 0;
	return t > (int64_t)UINT32_MAX ? UINT32_MAX : (uint32_t)t;
}

uint32_t macstate_joined_s(int64_t t)
{
	if (t == 0)
		return 0;
	uint32_t s = macstate_unix_s(t);
	return s ? s : 1;
}

int64_t macstate_join_stamp(int64_t now_s)
{
	return now_s > 0 ? now_s : 1;
}

bool macstate_grid_region(const struct region *r)
{
	return r != NULL && r->rx1_freq == REGION_RX1_CHANNEL_MOD8;
}

uint8_t macstate_first_extra_channel(const struct region *r)
{
	return r != NULL ? r->n_default_channels : REGION_MAX_DEFAULT_CHANNELS;
}

int macstate_plan_mask(const struct region *r, int sub_band, uint8_t extra_channels,
		       uint16_t mask[MACSTATE_CHMASK_WORDS])
{
	if (r == NULL || mask == NULL)
		return LB_ERR_INVAL;
	memset(mask, 0, sizeof(uint16_t) * MACSTATE_CHMASK_WORDS);
	if (!macstate_grid_region(r)) {
		/* The default channels: bits 0 .. n_default_channels - 1. */
		unsigned defaults = (1u << macstate_first_extra_channel(r)) - 1u;
		mask[0] = (uint16_t)(defaults | (extra_channels & ~defaults &
						 ((1u << CHANNELS_MAX) - 1u)));
		return LB_OK;
	}
	if (sub_band < 1 || sub_band > SUB_BAND_MAX)
		return LB_ERR_RANGE;
	int i = sub_band - 1;
	mask[i / 2] = (uint16_t)(0xffu << (8 * (i % 2)));
	mask[GRID_BLOCKS] = (uint16_t)(1u << i);
	return LB_OK;
}

static int put_req(uint8_t dr, uint8_t tx_power, uint8_t nb_trans, uint8_t cntl, uint16_t chmask,
		   uint8_t *out, size_t cap, size_t *len)
{
	struct maccmd c;
	size_t n = 0;

	memset(&c, 0, sizeof(c));
	c.cid = MACCMD_LINK_ADR;
	c.dir = LW_DIR_DOWN;
	c.u.link_adr_req.data_rate = dr;
	c.u.link_adr_req.tx_power = tx_power;
	c.u.link_adr_req.ch_mask = chmask;
	c.u.link_adr_req.ch_mask_cntl = cntl;
	c.u.link_adr_req.nb_trans = nb_trans;
	int rc = maccmd_build(&c, out + *len, cap - *len, &n);
	if (rc == LB_OK)
		*len += n;
	return rc;
}

int macstate_link_adr_req(const struct region *r, uint8_t dr, uint8_t tx_power,
			  uint8_t nb_trans, const uint16_t mask[MACSTATE_CHMASK_WORDS],
			  uint8_t *out, size_t cap, size_t *len)
{
	int rc;

	if (r == NULL || mask == NULL || out == NULL || len == NULL)
		return LB_ERR_INVAL;
	*len = 0;
	if (!macstate_grid_region(r))
		return put_req(dr, tx_power, nb_trans, CHMASK_CNTL_BLOCK0, mask[0], out, cap, len);
	rc = put_req(dr, tx_power, nb_trans, CHMASK_CNTL_ALL125_OFF, mask[GRID_BLOCKS], out, cap,
		     len);
	for (uint8_t b = 0; b < GRID_BLOCKS && rc == LB_OK; b++) {
		if (mask[b])
			rc = put_req(dr, tx_power, nb_trans, b, mask[b], out, cap, len);
	}
	if (rc != LB_OK)
		*len = 0;
	return rc;
}
