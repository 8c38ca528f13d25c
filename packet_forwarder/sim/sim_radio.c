/* SPDX-License-Identifier: MIT */
/* sim_radio.c - rxpk metadata of a simulated reception, see sim_radio.h. */
#include "sim_radio.h"

#include <string.h>

#include "base/lb_err.h"

#define BW_KHZ 125
#define CR_4_5 1
#define CRC_OK 1

/* Signal model: the first gateway is close, each further one ~12 dB weaker. */
#define RSSI_BEST_DBM (-48)
#define RSSI_STEP_DB 12
#define RSSI_JITTER_DB 4            /* +- */
#define RSSI_FLOOR_DBM (-125)
#define LSNR_BEST_DB 9.5f
#define LSNR_STEP_DB 4.0f
#define LSNR_JITTER_TENTHS 15       /* +- 1.5 dB */
#define LSNR_MIN_DB (-20.0f)
#define LSNR_MAX_DB 13.5f
#define GW_DISTANCE_STEPS 6         /* gateway distances cycle after 6 */

uint32_t sim_radio_freq_hz(const struct region *region, unsigned ch)
{
	if (!region || region->n_default_channels == 0)
		return 0;
	return region->default_channels_hz[ch % region->n_default_channels];
}

/* The per-device SF of --sf 0: SF7..SF12, or SF7..SF10 under a dwell limit. */
uint8_t sim_radio_device_sf(const struct region *region, uint8_t sf, size_t dev_idx)
{
	unsigned n = SIM_RADIO_SF_MAX - SIM_RADIO_SF_MIN + 1;

	if (sf)
		return sf;
	if (region->dwell_up125_ms)
		n = SIM_RADIO_SF_MAX_DWELL - SIM_RADIO_SF_MIN + 1;
	return (uint8_t)(SIM_RADIO_SF_MIN + dev_idx % n);
}

static uint8_t device_sf(const struct sim_reception *r)
{
	return sim_radio_device_sf(r->region, r->sf, r->dev_idx);
}

/* A small deterministic hash (xorshift-multiply) of the reception. */
static uint32_t mix(unsigned gw, size_t dev, uint32_t fcnt)
{
	uint64_t x = (uint64_t)gw * 0x9e3779b97f4a7c15ULL ^ (uint64_t)dev * 0xbf58476d1ce4e5b9ULL ^
		     (uint64_t)fcnt * 0x94d049bb133111ebULL;

	x ^= x >> 31;
	x *= 0xd6e8feb86659fd93ULL;
	x ^= x >> 32;
	return (uint32_t)x;
}

static int jitter(uint32_t h, int span)
{
	return (int)(h % (uint32_t)(2 * span + 1)) - span;
}

int sim_radio_rxpk(const struct sim_reception *r, struct gwmp_rxpk *out)
{
	if (!r->region || (r->region->n_default_channels == 0 && r->freq_hz == 0))
		return LB_ERR_INVAL;
	uint8_t sf = device_sf(r);
	unsigned dist = r->gw_idx % GW_DISTANCE_STEPS;
	uint32_t h = mix(r->gw_idx, r->dev_idx, r->fcnt);
	unsigned ch = r->region->n_default_channels ?
		      (unsigned)((r->dev_idx + r->fcnt) % r->region->n_default_channels) : 0;

	if (r->region->n_default_channels == 0)
		ch = r->chan;

	if (r->phy_len > GWMP_MAX_PHY || sf < SIM_RADIO_SF_MIN || sf > SIM_RADIO_SF_MAX)
		return LB_ERR_INVAL;
	memset(out, 0, sizeof(*out));
	out->tmst = r->tmst;
	out->has_time = true;
	out->time_us = r->wall_us;
	out->freq_hz = r->freq_hz ? r->freq_hz : sim_radio_freq_hz(r->region, ch);
	out->chan = (int)ch;
	out->rfch = SIM_RADIO_RFCH;
	out->stat = CRC_OK;
	out->modu = GWMP_MOD_LORA;
	out->sf = sf;
	out->bw_khz = r->bw_khz ? r->bw_khz : BW_KHZ;
	out->cr = CR_4_5;

	int rssi = RSSI_BEST_DBM - RSSI_STEP_DB * (int)dist + jitter(h, RSSI_JITTER_DB) -
		   (int)r->power_less_db;
	out->has_rssi = true;
	out->rssi = rssi < RSSI_FLOOR_DBM ? RSSI_FLOOR_DBM : rssi;

	/* A device's own SNR is fixed (no jitter): what ADR sees is exact. */
	float lsnr = r->has_snr ? r->snr_db - LSNR_STEP_DB * (float)dist :
		     LSNR_BEST_DB - LSNR_STEP_DB * (float)dist +
		     (float)jitter(h >> 8, LSNR_JITTER_TENTHS) / 10.0f;
	lsnr -= r->power_less_db;
	out->has_lsnr = true;
	out->lsnr = lsnr < LSNR_MIN_DB ? LSNR_MIN_DB : lsnr > LSNR_MAX_DB ? LSNR_MAX_DB : lsnr;

	out->size = (uint16_t)r->phy_len;
	memcpy(out->data, r->phy, r->phy_len);
	return LB_OK;
}
