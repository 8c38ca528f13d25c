/* SPDX-License-Identifier: MIT */
/*
 * region.c - lookups on the regional parameter tables (region_tables.c).
 * Pure: no allocation, no I/O, no mutable state.
 */
#include "lorawan/region.h"

#include <string.h>
#include <strings.h>

#include "base/lb_err.h"

#define PPM 1000000u
#define UP500_FIRST_CHANNEL 64
#define RX1_DOWNLINK_CHANNELS 8   /* US915/AU915: RX1 channel = uplink channel % 8 */
#define CFLIST_FREQ_UNIT_HZ 100u  /* RP002-1.0.4 §2.3.1: 24-bit frequency in 100 Hz */
#define CFLIST_LEN_FREQ 3
#define CFLIST_LEN_CHMASK 2
#define OFF_CFLIST_TYPE (REGION_CFLIST_LEN - 1)
#define CFLIST_TYPE_FREQ 0
#define CFLIST_TYPE_CHMASK 1
#define CHMASK4_RFU_BITS 0xFF00u
#define M_TO_N 8                  /* N = M - 8: FHDR without FOpts + FPort */

/* Defined in region_tables.c. */
extern const struct region *const region__table[];
extern const size_t region__count;

const char *const region_rp_names[] = {
	[REGION_RP002_1_0_4] = "RP002-1.0.4", [REGION_RP002_1_0_3] = "RP002-1.0.3",
	[REGION_RP002_1_0_2] = "RP002-1.0.2", [REGION_RP002_1_0_1] = "RP002-1.0.1",
	[REGION_RP002_1_0_0] = "RP002-1.0.0", [REGION_RP_1_0_3A] = "1.0.3revA",
	[REGION_RP_1_0_2B] = "1.0.2revB",   [REGION_RP_COUNT] = NULL,
};

enum region_rp region_rp_default(unsigned lorawan_minor)
{
	if (lorawan_minor <= 2)
		return REGION_RP_1_0_2B;
	if (lorawan_minor == 3)
		return REGION_RP_1_0_3A;
	return REGION_RP002_1_0_4;
}

/* Regional Parameters 1.0.2revB and 1.0.3revA: before RP002. */
static bool rp_before_rp002(enum region_rp rp)
{
	return rp >= REGION_RP_1_0_3A;
}

/* Before RP002-1.0.1 (which raised AS923 DR2 to M 123). */
static bool rp_before_rp002_1_0_1(enum region_rp rp)
{
	return rp >= REGION_RP002_1_0_0;
}

const struct region *const *region_all(size_t *n)
{
	if (n != NULL)
		*n = region__count;
	return region__table;
}

const struct region *region_find(const char *name)
{
	if (name == NULL)
		return NULL;
	for (size_t i = 0; i < region__count; i++) {
		const struct region *r = region__table[i];
		if (strcasecmp(name, r->name) == 0 || strcasecmp(name, r->rp_name) == 0)
			return r;
	}
	return NULL;
}

/* DownlinkDwellTime = 1: the dwell column becomes the downlink limit, and a
 * DR without one (AS923 DR0, DR1: "N/A" in RP002-1.0.4 §2.10.6) cannot carry
 * a downlink at all. */
static void apply_downlink_dwell(struct region *r)
{
	for (size_t i = 0; i < REGION_MAX_DR; i++) {
		struct region_dr *d = &r->dr[i];
		if (d->mod == REGION_MOD_NONE)
			continue;
		d->max_m = d->max_m_dwell;
		d->max_n = d->max_n_dwell;
		d->max_m_rp002_1_0_0 = 0;   /* the dwell column is the same in every revision */
		if (d->max_m_dwell == 0)
			d->downlink = false;
	}
	memcpy(r->rx1_dr, r->rx1_dr_dwell, sizeof(r->rx1_dr));
}

int region_configure(const struct region *base, bool uplink_dwell, bool downlink_dwell,
		     struct region *out)
{
	if (base == NULL || out == NULL)
		return LB_ERR_INVAL;
	if ((uplink_dwell || downlink_dwell) && !base->tx_param_setup)
		return LB_ERR_INVAL;
	*out = *base;
	out->uplink_dwell = uplink_dwell;
	/* AU915: DownlinkDwellTime = 1 leaves the 500 kHz downlinks as they are
	 * (RP002-1.0.4 §2.8.6), and the uplink DRs' limits stay the plain ones. */
	out->downlink_dwell = downlink_dwell && base->downlink_dwell_applies;
	if (uplink_dwell)
		out->dwell_up125_ms = REGION_DWELL_LIMIT_MS;
	if (out->downlink_dwell)
		apply_downlink_dwell(out);
	return LB_OK;
}

const struct region_dr *region_dr_info(const struct region *r, uint8_t dr)
{
	if (r == NULL || dr >= REGION_MAX_DR || r->dr[dr].mod == REGION_MOD_NONE)
		return NULL;
	return &r->dr[dr];
}

static bool dr_in_direction(const struct region_dr *d, bool uplink)
{
	return uplink ? d->uplink : d->downlink;
}

int region_dr_lora(const struct region *r, uint8_t sf, uint16_t bw_khz, bool uplink)
{
	if (r == NULL)
		return LB_ERR_INVAL;
	for (int i = 0; i < REGION_MAX_DR; i++) {
		const struct region_dr *d = &r->dr[i];
		if (d->mod == REGION_MOD_LORA && d->sf == sf && d->bw_khz == bw_khz &&
		    dr_in_direction(d, uplink))
			return i;
	}
	return LB_ERR_NOT_FOUND;
}

int region_dr_fsk(const struct region *r, uint32_t bitrate)
{
	if (r == NULL)
		return LB_ERR_INVAL;
	for (int i = 0; i < REGION_MAX_DR; i++) {
		const struct region_dr *d = &r->dr[i];
		if (d->mod == REGION_MOD_FSK && d->bitrate == bitrate)
			return i;
	}
	return LB_ERR_NOT_FOUND;
}

int region_max_payload(const struct region *r, uint8_t dr, uint8_t *m, uint8_t *n)
{
	if (r == NULL)
		return LB_ERR_INVAL;
	const struct region_dr *d = region_dr_info(r, dr);
	if (d == NULL || d->max_m == 0)
		return LB_ERR_NOT_FOUND;
	if (m != NULL)
		*m = d->max_m;
	if (n != NULL)
		*n = d->max_n;
	return LB_OK;
}

int region_max_payload_rp(const struct region *r, enum region_rp rp, uint8_t dr, uint8_t *m,
			  uint8_t *n)
{
	if ((unsigned)rp >= REGION_RP_COUNT)
		return LB_ERR_INVAL;
	int rc = region_max_payload(r, dr, m, n);
	if (rc != LB_OK || !rp_before_rp002_1_0_1(rp))
		return rc;
	uint8_t old = r->dr[dr].max_m_rp002_1_0_0;
	if (old == 0)
		return LB_OK;
	if (m != NULL)
		*m = old;
	if (n != NULL)
		*n = (uint8_t)(old - M_TO_N);
	return LB_OK;
}

/* Index of freq_hz on a channel grid, or -1. */
static int grid_index(const struct region_grid *g, uint32_t freq_hz)
{
	if (g->count == 0 || freq_hz < g->base_hz)
		return -1;
	uint32_t delta = freq_hz - g->base_hz;
	if (delta % g->step_hz != 0 || delta / g->step_hz >= g->count)
		return -1;
	return (int)(delta / g->step_hz);
}

int region_uplink_channel(const struct region *r, uint32_t freq_hz)
{
	if (r == NULL)
		return LB_ERR_INVAL;
	if (r->rx1_freq != REGION_RX1_CHANNEL_MOD8)
		return LB_ERR_NOT_FOUND;
	/* The grids are disjoint: one uses odd, the other even multiples of
	 * 100 kHz (US915 902.3 + 0.2n vs 903.0 + 1.6n; AU915 the reverse). */
	int ch = grid_index(&r->up125, freq_hz);
	if (ch >= 0)
		return ch;
	ch = grid_index(&r->up500, freq_hz);
	if (ch >= 0)
		return UP500_FIRST_CHANNEL + ch;
	return LB_ERR_NOT_FOUND;
}

static int rx1_frequency(const struct region *r, uint32_t uplink_freq_hz, uint32_t *freq_hz)
{
	if (uplink_freq_hz < r->min_hz || uplink_freq_hz > r->max_hz)
		return LB_ERR_RANGE;
	if (r->rx1_freq == REGION_RX1_SAME_FREQ) {
		*freq_hz = uplink_freq_hz;
		return LB_OK;
	}
	int ch = region_uplink_channel(r, uplink_freq_hz);
	if (ch < 0)
		return ch;
	*freq_hz = r->down.base_hz + r->down.step_hz * (uint32_t)(ch % RX1_DOWNLINK_CHANNELS);
	return LB_OK;
}

int region_rx1(const struct region *r, uint32_t uplink_freq_hz, uint8_t uplink_dr,
	       uint8_t rx1_dr_offset, uint32_t *freq_hz, uint8_t *dr)
{
	if (r == NULL || freq_hz == NULL || dr == NULL)
		return LB_ERR_INVAL;
	if (rx1_dr_offset >= r->n_rx1_offsets)
		return LB_ERR_RANGE;
	const struct region_dr *d = region_dr_info(r, uplink_dr);
	if (d == NULL || !d->uplink)
		return LB_ERR_NOT_FOUND;
	uint32_t f;
	int err = rx1_frequency(r, uplink_freq_hz, &f);
	if (err != LB_OK)
		return err;
	*freq_hz = f;
	*dr = r->rx1_dr[uplink_dr][rx1_dr_offset];
	return LB_OK;
}

int region_rx1_rp(const struct region *r, enum region_rp rp, uint32_t uplink_freq_hz,
		  uint8_t uplink_dr, uint8_t rx1_dr_offset, uint32_t *freq_hz, uint8_t *dr)
{
	if ((unsigned)rp >= REGION_RP_COUNT)
		return LB_ERR_INVAL;
	int rc = region_rx1(r, uplink_freq_hz, uplink_dr, rx1_dr_offset, freq_hz, dr);
	if (rc != LB_OK || !rp_before_rp002(rp) || r->rx1_max_dr_rp1 == 0)
		return rc;
	/* 1.0.2revB, 1.0.3revA: MIN(DR5, MAX(MinDR, DR - Effective_RX1DROffset)); the
	 * RP002 table is the same formula with DR7, so capping it gives the old one. */
	if (*dr > r->rx1_max_dr_rp1)
		*dr = r->rx1_max_dr_rp1;
	return LB_OK;
}

int region_rx2(const struct region *r, uint32_t *freq_hz, uint8_t *dr)
{
	if (r == NULL || freq_hz == NULL || dr == NULL)
		return LB_ERR_INVAL;
	*freq_hz = r->rx2_freq_hz;
	*dr = r->rx2_dr;
	return LB_OK;
}

int region_subband(const struct region *r, uint32_t freq_hz, const struct region_subband **sb)
{
	if (r == NULL)
		return LB_ERR_INVAL;
	for (size_t i = 0; i < r->n_subbands; i++) {
		const struct region_subband *s = &r->subbands[i];
		if (freq_hz >= s->min_hz && freq_hz <= s->max_hz) {
			if (sb != NULL)
				*sb = s;
			return (int)i;
		}
	}
	return LB_ERR_NOT_FOUND;
}

int region_tx_power(const struct region *r, uint32_t freq_hz, int *dbm)
{
	const struct region_subband *s;
	if (dbm == NULL)
		return LB_ERR_INVAL;
	int idx = region_subband(r, freq_hz, &s);
	if (idx < 0)
		return idx;
	*dbm = s->dl_power_dbm;
	return LB_OK;
}

uint64_t region_dc_off_us(uint32_t dc_ppm, uint64_t toa_us)
{
	if (dc_ppm == 0)
		return UINT64_MAX;
	if (dc_ppm >= PPM)
		return 0;
	if (toa_us > UINT64_MAX / PPM)
		return UINT64_MAX;
	/* ToA/DC - ToA = ToA * (1 - DC) / DC, in ppm: ToA * (1e6 - ppm) / ppm. */
	uint64_t num = toa_us * (uint64_t)(PPM - dc_ppm);
	return (num + dc_ppm - 1) / dc_ppm;
}

uint32_t region_max_dwell_ms(const struct region *r, uint16_t bw_khz, bool uplink)
{
	if (r == NULL || !uplink || bw_khz != 125)
		return 0;
	return r->dwell_up125_ms;
}

bool region_device_uplink_dwell(const struct region *r, unsigned lorawan_minor)
{
	return r != NULL && r->uplink_dwell && lorawan_minor >= r->tx_param_setup_since;
}

uint32_t region_device_up_dwell_ms(const struct region *r, uint16_t bw_khz,
				   unsigned lorawan_minor)
{
	if (r != NULL && r->uplink_dwell && !region_device_uplink_dwell(r, lorawan_minor))
		return 0;
	return region_max_dwell_ms(r, bw_khz, true);
}

static void put_le24(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
}

int region_cflist_freq(const struct region *r, const uint32_t *freq_hz, size_t n,
		       uint8_t out[REGION_CFLIST_LEN])
{
	if (r == NULL || out == NULL || (n > 0 && freq_hz == NULL))
		return LB_ERR_INVAL;
	if (r->cflist_capable != REGION_CFLIST_FREQ || n > REGION_CFLIST_MAX_FREQS)
		return LB_ERR_INVAL;
	for (size_t i = 0; i < n; i++) {
		uint32_t f = freq_hz[i];
		if (f < r->min_hz || f > r->max_hz || f % CFLIST_FREQ_UNIT_HZ != 0)
			return LB_ERR_RANGE;
	}
	memset(out, 0, REGION_CFLIST_LEN);
	for (size_t i = 0; i < n; i++)
		put_le24(out + i * CFLIST_LEN_FREQ, freq_hz[i] / CFLIST_FREQ_UNIT_HZ);
	out[OFF_CFLIST_TYPE] = CFLIST_TYPE_FREQ;
	return LB_OK;
}

int region_cflist_chmask(const struct region *r, const uint16_t mask[REGION_CHMASK_WORDS],
			 uint8_t out[REGION_CFLIST_LEN])
{
	if (r == NULL || mask == NULL || out == NULL)
		return LB_ERR_INVAL;
	if (r->cflist_capable != REGION_CFLIST_CHMASK)
		return LB_ERR_INVAL;
	if (mask[REGION_CHMASK_WORDS - 1] & CHMASK4_RFU_BITS)
		return LB_ERR_RANGE;
	memset(out, 0, REGION_CFLIST_LEN);
	for (size_t i = 0; i < REGION_CHMASK_WORDS; i++) {
		out[i * CFLIST_LEN_CHMASK] = (uint8_t)mask[i];
		out[i * CFLIST_LEN_CHMASK + 1] = (uint8_t)(mask[i] >> 8);
	}
	out[OFF_CFLIST_TYPE] = CFLIST_TYPE_CHMASK;
	return LB_OK;
}
