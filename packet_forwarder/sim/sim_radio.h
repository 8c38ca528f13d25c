/* SPDX-License-Identifier: MIT */
/*
 * sim_radio.h - plausible radio metadata for a simulated reception (pure).
 *
 * Channels: the three EU868 default channels 868.1 / 868.3 / 868.5 MHz
 * (RP002-1.0.4 EU863-870 default channels), which the Semtech EU sample config puts on IF
 * channels 0..2 of RF chain 1. The channel of an uplink follows the device
 * and its counter so consecutive frames hop. RSSI and SNR drift with the
 * gateway (farther gateways hear the device weaker) and a small
 * deterministic jitter, so multi-gateway de-duplication has a clear best
 * gateway. Code rate 4/5, bandwidth 125 kHz, CRC OK.
 */
#ifndef LB_SIM_RADIO_H
#define LB_SIM_RADIO_H

#include <stddef.h>
#include <stdint.h>

#include "gwmp/gwmp.h"

#define SIM_RADIO_N_CHANNELS 3
#define SIM_RADIO_RFCH 1
#define SIM_RADIO_SF_MIN 7
#define SIM_RADIO_SF_MAX 12

/* One reception: who sent what, heard by which gateway, when. */
struct sim_reception {
	unsigned gw_idx;
	size_t dev_idx;
	uint32_t fcnt;
	uint8_t sf;                 /* 7..12, or 0: 7 + dev_idx % 6 */
	uint32_t tmst;              /* the gateway's concentrator counter (µs) */
	int64_t wall_us;            /* Unix µs */
	const uint8_t *phy;
	size_t phy_len;             /* <= GWMP_MAX_PHY */
};

/* Fill *out for r. Returns LB_OK or LB_ERR_INVAL (phy too long, bad sf). */
int sim_radio_rxpk(const struct sim_reception *r, struct gwmp_rxpk *out);

/* Centre frequency of EU868 default channel ch (0..2), Hz. */
uint32_t sim_radio_freq_hz(unsigned ch);

#endif
