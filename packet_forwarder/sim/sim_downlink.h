/* SPDX-License-Identifier: MIT */
/*
 * sim_downlink.h - a class-A downlink as the simulated device receives it
 * (pure: no I/O, no clock, no logging, no globals).
 *
 * Reference: LoRaWAN L2 1.0.4 specification (TS001-1.0.4) §4.3.1.5 (FCnt),
 * §4.4 (MIC), §4.3.3 (FRMPayload), §3.3 (receive windows); RP002-1.0.4
 * "Receive Windows" of the region (EU868 §2.4.7, AS923 §2.10.7 with the
 * DownlinkDwellTime table, KR920 §2.11.7, IN865 §2.12.7); Semtech
 * PROTOCOL.TXT §6 (txpk).
 *
 * A device opens two windows after each uplink, timed from the end of the
 * uplink, which is what rxpk.tmst marks; so on the gateway that heard it:
 *
 *                 uplink              RX1                  RX2
 *   tmst:   ------[====]---------------|--------------------|----------
 *                      ^ rxpk.tmst     ^ + RECEIVE_DELAY1   ^ + RECEIVE_DELAY1 + 1 s
 *                                        (join: + 5 s)        (join: + 6 s)
 *   RX1: uplink frequency (US915/AU915: 923.3 + 0.6 (uplink channel mod 8) MHz,
 *        RP002-1.0.4 §2.5.7, §2.8.7), DR = RX1 table[uplink DR][RX1DROffset]
 *        (0 for a join-accept)
 *   RX2: the region's frequency (EU868 869.525, AS923-1 923.2, KR920 921.9, IN865
 *        866.55, US915/AU915 923.3 MHz), DR = the device's RX2 DR (the region's until a join-accept says)
 *   Size: at most M + 5 of the DR in the region as configured (AS923: the
 *        DownlinkDwellTime column, RP002-1.0.4 §2.10.6)
 *
 * Every comparison of tmst is modulo 2^32 (the concentrator counter wraps
 * every 71.6 min).
 *
 * Ownership: structs are plain data owned by the caller; sim_dl_open_data()
 * copies the decrypted payload into the caller's struct.
 */
#ifndef LB_SIM_DOWNLINK_H
#define LB_SIM_DOWNLINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gwmp/gwmp.h"
#include "lorawan/lorawan.h"
#include "lorawan/lwcrypto.h"
#include "lorawan/region.h"
#include "sim_devices.h"

#define SIM_DL_WHY_LEN 160
#define SIM_DL_US_PER_S 1000000U

/* RXC: a class C device's continuous window (TS001-1.0.4 §17). */
enum sim_dl_window { SIM_DL_NO_WINDOW = 0, SIM_DL_RX1 = 1, SIM_DL_RX2 = 2, SIM_DL_RXC = 3 };

/* The uplink a downlink answers, as the gateway that got the PULL_RESP heard it. */
struct sim_dl_uplink {
	uint32_t tmst;              /* the rxpk.tmst that gateway sent */
	uint32_t freq_hz;
	uint8_t sf;                 /* LoRa */
	uint16_t bw_khz;            /* 0: 125; US915/AU915 channels 64..71: 500 */
	bool grid;                  /* US915/AU915: RX1 from the uplink channel ch (0..71) */
	uint8_t ch;
	bool join;                  /* a join-request: JOIN_ACCEPT_DELAY1/2, RX1 offset 0 */
	uint8_t rp;                 /* the device's Regional Parameters, enum region_rp
				     * (0: RP002-1.0.4): its RX1 DR and payload limits */
};

/*
 * Check a txpk's timing and radio parameters against the windows of `up`
 * for a device with receive settings `rx`, in region r: tmst exactly RX1 or
 * RX2 (immediate or GPS-timed sends are refused: class A), LoRa, ipol true,
 * code rate 4/5, frequency and SF/BW of that window, PHYPayload within the
 * window DR's maximum (RX1 DR and maximum: those of up->rp). Returns LB_OK
 * and *win, or LB_ERR_RANGE (timing) / LB_ERR_MALFORMED (radio) with the
 * reason in why (cap bytes); *win is then
 * the window the tmst matched, if any.
 */
int sim_dl_check_radio(const struct region *r, const struct sim_dl_uplink *up,
		       const struct sim_rx_params *rx, const struct gwmp_txpk *tx,
		       enum sim_dl_window *win, char *why, size_t cap);

/*
 * A class C device listens on its RX2 frequency and data rate whenever it
 * is not transmitting (TS001-1.0.4 §17), so a txpk sent at once (imme,
 * Semtech PROTOCOL.TXT §6) reaches it: check imme, then the radio as for
 * RX2 (LoRa, ipol, 4/5, RX2 frequency, rx->rx2_dr, size within the limit of
 * Regional Parameters revision rp). LB_OK or LB_ERR_RANGE (not imme) /
 * LB_ERR_MALFORMED with the reason in why.
 */
int sim_dl_check_rxc(const struct region *r, enum region_rp rp, const struct sim_rx_params *rx,
		     const struct gwmp_txpk *tx, char *why, size_t cap);

/* The downlink side of a device's session. */
struct sim_dl_session {
	uint32_t dev_addr;
	struct lw_keys *keys;       /* NwkSKey (MIC, FPort 0) and AppSKey, prepared */
	bool has_fcnt_down;         /* false: nothing received in this session yet */
	uint32_t fcnt_down;         /* the last FCntDown received */
};

/* A verified, decrypted data downlink. */
struct sim_dl_frame {
	bool confirmed;             /* ConfirmedDataDown */
	bool ack;
	bool fpending;
	bool adr;
	uint32_t fcnt;              /* 32-bit FCntDown */
	uint8_t fopts_len;
	uint8_t fopts[LW_MAX_FOPTS];
	bool has_fport;
	uint8_t fport;
	size_t payload_len;
	uint8_t payload[LW_MAX_PHY]; /* plaintext FRMPayload */
};

/*
 * Open a data downlink for session s: parse, DevAddr, MIC with NwkSKey and
 * Dir = 1 at the 32-bit FCntDown rebuilt from the 16 bits on air, FCntDown
 * strictly above the last one, decryption (AppSKey, NwkSKey for FPort 0).
 * The session is not advanced (the caller commits once its other checks
 * pass). Errors: the lorawan_parse() errors, LB_ERR_UNKNOWN_TYPE (not a data
 * downlink), LB_ERR_NOT_FOUND (other DevAddr), LB_ERR_MIC, LB_ERR_REPLAY
 * (valid MIC at a counter not above the last: a repeat), LB_ERR_CRYPTO.
 */
int sim_dl_open_data(const struct sim_dl_session *s, const uint8_t *phy, size_t len,
		     struct sim_dl_frame *out);

/* "rx1", "rx2", "rxc" or "-". */
const char *sim_dl_window_name(enum sim_dl_window w);

/* Signed distance a - b of two 32-bit counter values (wrap-around). */
int64_t sim_dl_tmst_diff(uint32_t a, uint32_t b);

#endif
