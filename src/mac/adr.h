/* SPDX-License-Identifier: MIT */
/*
 * adr.h - the network side of Adaptive Data Rate, pure: from the link
 * quality of a device's recent uplinks, the data rate and TX power it
 * should use.
 *
 * The rule (the one Semtech published in "LoRaWAN - simple rate adaptation
 * recommended algorithm" and that ChirpStack's default ADR algorithm,
 * chirpstack/src/adr/default.rs, implements):
 *
 *   SNRmax   = best SNR over the last ADR_HISTORY frames (each frame's best
 *              gateway), each normalised to the TX power in use now
 *   margin   = SNRmax - requiredSNR(current DR) - installation margin
 *   steps    = floor(margin / 3 dB)
 *   steps > 0: raise the DR one step at a time up to the fastest 125 kHz
 *              LoRa uplink DR of the region, then lower the TX power one
 *              index per step (an index is 2 dB, RP002-1.0.4 "TX power
 *              table" of each region) down to the region's last index;
 *   steps < 0: raise the TX power (index towards 0 = max EIRP) one index per
 *              step, then lower the DR down to the slowest DR the region
 *              allows (adr_min_dr(): DR2 with UplinkDwellTime = 1, in
 *              AS923 and for AU915 devices of LoRaWAN 1.0.3 and later);
 *              only once ADR_HISTORY frames are known, so that one weak
 *              frame does not undo the work.
 *
 * ChirpStack's default algorithm raises the power on negative steps but
 * never lowers the DR (it leaves that to the device's ADR back-off,
 * TS001-1.0.4 §4.3.1.1); lowering the DR after the power is at its maximum
 * is this module's addition, the "move back when the link degrades" rule.
 * Two further differences: ChirpStack truncates margin / 3 towards zero
 * (a margin of -2 dB is 0 steps there, -1 here: the device gets louder
 * rather than stay below the margin), and it waits for 20 frames at the
 * current TX power before a negative step, where this module normalises
 * older frames to the current power (2 dB per index) and waits for 20
 * frames of any power.
 * requiredSNR is the demodulation floor of the DR's spreading factor, the
 * same values as LinkCheckAns (downlink_demod_floor_db()). Rounding down
 * means the result never leaves less than the installation margin.
 * NbTrans is kept as it is (1 unless configured otherwise).
 *
 * No I/O, no clock, no logging, no globals; the caller owns every buffer.
 */
#ifndef LB_ADR_H
#define LB_ADR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lorawan/region.h"

#define ADR_HISTORY 20                /* frames whose best SNR is kept */
#define ADR_STEP_DB 3.0               /* margin per step */
#define ADR_TX_POWER_STEP_DB 2        /* per TXPower index, every region of RP002-1.0.4 */
#define ADR_DEFAULT_MARGIN_DB 10

/* A device's link history, a ring of the last ADR_HISTORY frames, each in
 * 16 bits: its best SNR in 0.1 dB steps (bits 4..15, signed, -204.8 ..
 * +204.7 dB: the precision gateways report, Semtech PROTOCOL.TXT "lsnr:
 * signed float, 0.1 dB precision"; an SNR outside that range is clamped)
 * and the TXPower index the device used for it (bits 0..3, the 4-bit
 * field of LinkADRReq, TS001-1.0.4 §5.2). An SNR given to 0.1 dB comes
 * back as the same float (adr_history_snr). */
struct adr_history {
	uint16_t f[ADR_HISTORY];
	uint8_t n;                    /* frames held, 0..ADR_HISTORY */
	uint8_t next;                 /* where the next one goes */
};

struct adr_in {
	const struct region *region;
	const struct adr_history *hist;
	uint8_t dr;                   /* current uplink DR */
	uint8_t tx_power;             /* current TXPower index */
	uint8_t nb_trans;             /* current NbTrans */
	double margin_db;             /* installation margin */
	uint8_t lorawan_minor;        /* the device's LoRaWAN 1.0.x: the dwell floor (adr_min_dr) */
	uint8_t rp;                   /* its Regional Parameters, enum region_rp: the last
				       * TXPower (adr_max_tx_power) */
};

struct adr_out {
	uint8_t dr, tx_power, nb_trans;
	double snr_max_db;            /* normalised to the current TX power */
	double margin_db;             /* SNRmax - required - installation margin */
	int steps;                    /* floor(margin / 3) */
};

/* Add one frame (best SNR over its receptions). */
void adr_history_add(struct adr_history *h, float snr_db, uint8_t tx_power);

/* Frame i (0..n - 1) of the history: its SNR and TX power index. */
float adr_history_snr(const struct adr_history *h, size_t i);
uint8_t adr_history_tx_power(const struct adr_history *h, size_t i);

/* Forget every frame (a new session, a DR the device did not take). */
void adr_history_clear(struct adr_history *h);

/* SNR a DR needs (its SF's demodulation floor). Errors: LB_ERR_INVAL
 * (NULL), LB_ERR_NOT_FOUND (not a LoRa uplink DR of the region). */
int adr_required_snr_db(const struct region *r, uint8_t dr, double *db);

/* The fastest and the slowest 125 kHz LoRa uplink DR that ADR asks for a
 * device of LoRaWAN 1.0.<lorawan_minor> (max: EU868 DR5, US915 DR3, AU915
 * DR5, AS923 DR5; min: DR0, but DR2 where the device keeps the configured
 * UplinkDwellTime = 1 (region_device_uplink_dwell(): AS923, AU915 from
 * LoRaWAN 1.0.3): DR0 and DR1 carry no frame within its 400 ms, RP002-1.0.4
 * §2.10.3, §2.10.6, §2.8.6), or LB_ERR_NOT_FOUND / LB_ERR_INVAL. */
int adr_max_dr(const struct region *r);
int adr_min_dr(const struct region *r, unsigned lorawan_minor);

/* The last TXPower index of the region's table for a device of Regional
 * Parameters revision rp (RP002-1.0.4 and 1.0.3revA: EU868 7, US915 and
 * AU915 14, AS923 7, KR920 7, IN865 10; 1.0.2revB: US915 and AU915 10,
 * the others the same); 7 for a region not listed. */
uint8_t adr_max_tx_power(const struct region *r, enum region_rp rp);

/*
 * Apply the rule above. With an empty history the current values are
 * returned (steps 0). Errors: LB_ERR_INVAL (NULL), LB_ERR_NOT_FOUND (the
 * current DR is not a LoRa uplink DR of the region: ADR does not apply).
 */
int adr_decide(const struct adr_in *in, struct adr_out *out);

#endif
