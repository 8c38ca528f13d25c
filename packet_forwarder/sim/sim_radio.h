/* SPDX-License-Identifier: MIT */
/*
 * sim_radio.h - plausible radio metadata for a simulated reception (pure).
 *
 * Channels: the default channels of the region (RP002-1.0.4: EU868 868.1 /
 * 868.3 / 868.5 MHz, §2.4.2; AS923 923.2 / 923.4 MHz plus the group offset,
 * §2.10.2; KR920 922.1 / 922.3 / 922.5 MHz, §2.11.2; IN865 865.0625 /
 * 865.4025 / 865.985 MHz, §2.12.2), on IF channels 0.. of RF chain 1 as in
 * the Semtech EU sample config. The channel of an uplink follows the device
 * and its counter so consecutive frames hop. With an uplink dwell-time limit
 * (AS923, RP002-1.0.4 §2.10.6) devices use SF7..SF10 only. RSSI and SNR drift with the
 * gateway (farther gateways hear the device weaker) and a small
 * deterministic jitter, so multi-gateway de-duplication has a clear best
 * gateway. Code rate 4/5, bandwidth 125 kHz, CRC OK. Grid regions (US915,
 * AU915, RP002-1.0.4 §2.5.2, §2.8.2) have no default channels: the device's
 * MAC layer names the channel, frequency and bandwidth (sim_mac_grid_tx()).
 */
#ifndef LB_SIM_RADIO_H
#define LB_SIM_RADIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gwmp/gwmp.h"

#include "lorawan/region.h"

#define SIM_RADIO_RFCH 1
#define SIM_RADIO_SF_MIN 7
#define SIM_RADIO_SF_MAX 12
#define SIM_RADIO_SF_MAX_DWELL 10   /* DR2: the slowest with a 400 ms payload */

/* One reception: who sent what, heard by which gateway, when. */
struct sim_reception {
	const struct region *region; /* default channels, or a grid region and freq_hz */
	unsigned gw_idx;
	size_t dev_idx;
	uint32_t fcnt;
	uint8_t sf;                 /* 7..12, or 0: 7 + dev_idx % 6 (dwell: % 4) */
	uint32_t freq_hz;           /* the device's channel (sim_mac.h), 0: a default one */
	uint16_t bw_khz;            /* 0: 125; grid regions: 500 on channels 64..71 */
	unsigned chan;              /* grid regions: the IF channel (0..8); else unused */
	bool has_snr;               /* the device's own SNR (--snr-spread): no jitter */
	float snr_db;               /*   at full power, as the nearest gateway hears it */
	float power_less_db;        /* the device transmits this much below full power */
	uint32_t tmst;              /* the gateway's concentrator counter (µs) */
	int64_t wall_us;            /* Unix µs */
	const uint8_t *phy;
	size_t phy_len;             /* <= GWMP_MAX_PHY */
};

/* Fill *out for r. Returns LB_OK or LB_ERR_INVAL (phy too long, bad sf, no
 * region, or no freq_hz in a region without default channels). */
int sim_radio_rxpk(const struct sim_reception *r, struct gwmp_rxpk *out);

/* The SF a device starts with: sf, or for 0 the per-device one above. */
uint8_t sim_radio_device_sf(const struct region *region, uint8_t sf, size_t dev_idx);

/* Centre frequency of default channel ch (modulo their number), Hz; 0 for a
 * region without default channels. */
uint32_t sim_radio_freq_hz(const struct region *region, unsigned ch);

#endif
