/* SPDX-License-Identifier: MIT */
/* adr.c - the network's ADR rule. See adr.h. */
#include "mac/adr.h"

#include <string.h>

#include "base/lb_err.h"
#include "lorawan/region.h"
#include "mac/downlink.h"

#define LORA_125_KHZ 125

/* A frame in 16 bits (adr.h). */
#define FRAME_POWER_BITS 4
#define FRAME_POWER_MASK 0xfu
#define FRAME_SNR_MIN (-2048)         /* 0.1 dB steps in 12 bits */
#define FRAME_SNR_MAX 2047

static uint16_t frame_pack(float snr_db, uint8_t tx_power)
{
	double d = (double)snr_db * 10.0;
	long ds;

	if (!(d > FRAME_SNR_MIN))          /* NaN too */
		ds = FRAME_SNR_MIN;
	else if (d >= FRAME_SNR_MAX)
		ds = FRAME_SNR_MAX;
	else
		ds = (long)(d < 0 ? d - 0.5 : d + 0.5);   /* the nearest step */
	unsigned p = tx_power > FRAME_POWER_MASK ? FRAME_POWER_MASK : tx_power;
	return (uint16_t)((unsigned)(ds - FRAME_SNR_MIN) << FRAME_POWER_BITS | p);
}

float adr_history_snr(const struct adr_history *h, size_t i)
{
	long ds = (long)(h->f[i] >> FRAME_POWER_BITS) + FRAME_SNR_MIN;
	return (float)((double)ds / 10.0);   /* the float a 0.1 dB decimal parses to */
}

uint8_t adr_history_tx_power(const struct adr_history *h, size_t i)
{
	return (uint8_t)(h->f[i] & FRAME_POWER_MASK);
}

void adr_history_add(struct adr_history *h, float snr_db, uint8_t tx_power)
{
	if (h == NULL)
		return;
	if (h->next >= ADR_HISTORY)
		h->next = 0;
	h->f[h->next] = frame_pack(snr_db, tx_power);
	h->next = (uint8_t)((h->next + 1) % ADR_HISTORY);
	if (h->n < ADR_HISTORY)
		h->n++;
}

void adr_history_clear(struct adr_history *h)
{
	if (h != NULL)
		memset(h, 0, sizeof(*h));
}

static const struct region_dr *lora_up_dr(const struct region *r, uint8_t dr)
{
	const struct region_dr *d = region_dr_info(r, dr);

	if (d == NULL || d->mod != REGION_MOD_LORA || !d->uplink)
		return NULL;
	return d;
}

int adr_required_snr_db(const struct region *r, uint8_t dr, double *db)
{
	if (r == NULL || db == NULL)
		return LB_ERR_INVAL;
	const struct region_dr *d = lora_up_dr(r, dr);
	if (d == NULL)
		return LB_ERR_NOT_FOUND;
	return downlink_demod_floor_db(d->sf, db) == LB_OK ? LB_OK : LB_ERR_NOT_FOUND;
}

/* A 125 kHz LoRa uplink DR that ADR may ask for. With UplinkDwellTime = 1
 * (dwell: AS923, AU915 from LoRaWAN 1.0.3, region_device_uplink_dwell()) a
 * DR whose dwell-column M is "N/A" carries no frame (RP002-1.0.4 §2.10.3,
 * §2.10.6, §2.8.6: DR0 and DR1): a device refuses it (DataRateACK = 0,
 * TS001-1.0.4 §5.2). */
static bool adr_dr(const struct region *r, bool dwell, uint8_t dr)
{
	const struct region_dr *d = lora_up_dr(r, dr);

	return d != NULL && d->bw_khz == LORA_125_KHZ && (!dwell || d->max_m_dwell > 0);
}

int adr_min_dr(const struct region *r, unsigned lorawan_minor)
{
	if (r == NULL)
		return LB_ERR_INVAL;
	bool dwell = region_device_uplink_dwell(r, lorawan_minor);
	for (int i = 0; i < REGION_MAX_DR; i++) {
		if (adr_dr(r, dwell, (uint8_t)i))
			return i;
	}
	return LB_ERR_NOT_FOUND;
}

/* The fastest DR has a dwell-column M in every region (DR5: 250). */
int adr_max_dr(const struct region *r)
{
	if (r == NULL)
		return LB_ERR_INVAL;
	for (int i = REGION_MAX_DR - 1; i >= 0; i--) {
		if (adr_dr(r, r->uplink_dwell, (uint8_t)i))
			return i;
	}
	return LB_ERR_NOT_FOUND;
}

/* Last TXPower index of each region's TX power table (RP002-1.0.4:
 * EU863-870 0..7, US902-928 0..14, AU915-928 0..14, AS923 0..7, KR920-923
 * 0..7, IN865-867 0..10), and for devices of Regional Parameters 1.0.2revB,
 * whose US902-928 and AU915-928 tables end at 10 (Max EIRP - 20 dB,
 * LoRaWAN Regional Parameters v1.0.2revB §2.2.3, §2.5.3; 1.0.3revA has
 * 0..14 as RP002). A TXPower the device's table lacks makes it refuse the
 * whole LinkADRReq (PowerACK = 0, TS001-1.0.4 §5.3). */
static const struct {
	const char *name;
	uint8_t max;
	uint8_t max_rp_1_0_2b;
} tx_power_max[] = {
	{"EU868", 7, 7},   {"US915", 14, 10}, {"AU915", 14, 10}, {"AS923", 7, 7},
	{"AS923-1", 7, 7}, {"AS923-2", 7, 7}, {"AS923-3", 7, 7}, {"AS923-4", 7, 7},
	{"KR920", 7, 7},   {"IN865", 10, 10},
};

uint8_t adr_max_tx_power(const struct region *r, enum region_rp rp)
{
	if (r == NULL || r->name == NULL)
		return 7;
	for (size_t i = 0; i < sizeof(tx_power_max) / sizeof(tx_power_max[0]); i++) {
		if (strcmp(r->name, tx_power_max[i].name) == 0)
			return rp == REGION_RP_1_0_2B ? tx_power_max[i].max_rp_1_0_2b
						      : tx_power_max[i].max;
	}
	return 7;
}

/* floor(x / 3) for the margin, without libm. */
static int floor_steps(double margin_db)
{
	int q = (int)(margin_db / ADR_STEP_DB);   /* truncates towards 0 */

	if ((double)q * ADR_STEP_DB > margin_db)
		q--;
	return q;
}

/* Best SNR of the history, as if every frame had been sent at tx_power: a
 * frame sent k indexes louder than now counts 2k dB less. */
static double snr_max(const struct adr_history *h, uint8_t tx_power)
{
	double best = -1000.0;

	for (size_t i = 0; i < h->n && i < ADR_HISTORY; i++) {
		double s = (double)adr_history_snr(h, i) -
			   ADR_TX_POWER_STEP_DB * ((int)tx_power - (int)adr_history_tx_power(h, i));
		if (s > best)
			best = s;
	}
	return best;
}

/* A DR below min_dr (a dwell-limited device at DR0/DR1, which it cannot
 * use: RP002-1.0.4 §2.10.6, §2.8.6 "N/A") goes straight to min_dr, spending
 * the steps it would take to get there: one DR1 asked of such a device makes
 * it refuse the whole LinkADRReq block (DataRateACK = 0, TS001-1.0.4 §5.2). */
static void step_up(struct adr_out *o, int steps, uint8_t min_dr, uint8_t max_dr,
		    uint8_t max_power)
{
	if (o->dr < min_dr && min_dr <= max_dr) {
		steps -= min_dr - o->dr;
		o->dr = min_dr;
	}
	for (; steps > 0; steps--) {
		if (o->dr < max_dr)
			o->dr++;
		else if (o->tx_power < max_power)
			o->tx_power++;
		else
			return;
	}
}

static void step_down(struct adr_out *o, int steps, uint8_t min_dr)
{
	for (; steps < 0; steps++) {
		if (o->tx_power > 0)
			o->tx_power--;
		else if (o->dr > min_dr)
			o->dr--;
		else
			return;
	}
}

int adr_decide(const struct adr_in *in, struct adr_out *out)
{
	double req;

	if (in == NULL || out == NULL || in->region == NULL || in->hist == NULL)
		return LB_ERR_INVAL;
	memset(out, 0, sizeof(*out));
	out->dr = in->dr;
	out->tx_power = in->tx_power;
	out->nb_trans = in->nb_trans ? in->nb_trans : 1;
	int rc = adr_required_snr_db(in->region, in->dr, &req);
	if (rc != LB_OK)
		return rc;
	int max_dr = adr_max_dr(in->region);
	if (max_dr < 0)
		return max_dr;
	int min_dr = adr_min_dr(in->region, in->lorawan_minor); /* found, as max_dr was */
	if (in->hist->n == 0)
		return LB_OK;
	out->snr_max_db = snr_max(in->hist, in->tx_power);
	out->margin_db = out->snr_max_db - req - in->margin_db;
	out->steps = floor_steps(out->margin_db);
	uint8_t max_power = adr_max_tx_power(in->region, (enum region_rp)in->rp);
	if (out->steps > 0 && in->dr <= max_dr) {
		step_up(out, out->steps, (uint8_t)min_dr, (uint8_t)max_dr, max_power);
	} else if (out->steps < 0 && in->hist->n >= ADR_HISTORY) {
		step_down(out, out->steps, (uint8_t)min_dr);
	}
	/* An index the device's table does not have (a device told otherwise
	 * before) is brought back into its table. */
	if (out->tx_power > max_power)
		out->tx_power = max_power;
	return LB_OK;
}
