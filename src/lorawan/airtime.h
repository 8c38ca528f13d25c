/* SPDX-License-Identifier: MIT */
/*
 * airtime.h - time on air of LoRa and (G)FSK frames, pure and exact.
 *
 * Reference: Semtech AN1200.13 "SX1272/3/6/7/8 LoRa Modem Designer's Guide"
 * (LoRa time on air; also SX1272/73 datasheet §4.1.1.7); FSK: the SX127x
 * datasheets' FSK packet format, as libloragw lgw_time_on_air() counts it;
 * test vectors from lorawan-stack pkg/toa/toa_test.go and brocaar/lorawan
 * airtime/airtime_test.go.
 *
 * LoRa (SX127x/SX130x, SF7..SF12):
 *
 *   Tsym     = 2^SF / BW
 *   Npayload = 8 + max(ceil((8*PL - 4*SF + 28 + 16*CRC - 20*IH) / (4*(SF - 2*DE))) * (CR + 4), 0)
 *   ToA      = (Npreamble + 4.25 + Npayload) * Tsym
 *
 * computed without floating point: Tsym_us = 2^SF * 1e6 / BW is an integer
 * for 125/250/500 kHz, and ToA_us = (4*Npre + 17 + 4*Npayload) * Tsym_us / 4
 * is exact because 4.25 = 17/4 and Tsym_us is a multiple of 4 for SF >= 5.
 *
 * SF5/SF6 (SX126x / SX1302 only): the fixed part is 6.25 symbols instead of
 * 4.25, the "+8" inside the ceil() numerator is dropped and DE is never set
 * (sx1302_hal lora_packet_time_on_air, LoRaMac-node sx126x radio.c); the
 * preamble is raised to at least 12 symbols as LoRaMac-node and the SX126x
 * radio do, since that is what is actually transmitted.
 *
 * Low data-rate optimisation (DE) in AIRTIME_LDRO_AUTO follows LoRaMac-node
 * sx1276.c: on for BW125 SF11/SF12 and BW250 SF12 (Tsym >= 16.384 ms).
 *
 * FSK: ToA = 8 * (preamble + sync + 1 length byte + PL + 2*CRC) / bitrate,
 * rounded up to the next µs (exact for 50 kbit/s: 160 µs per byte).
 *
 * All functions are pure: no allocation, no I/O, no globals.
 */
#ifndef LB_AIRTIME_H
#define LB_AIRTIME_H

#include <stdbool.h>
#include <stdint.h>

#define AIRTIME_DEFAULT_PREAMBLE 8        /* LoRa symbols (LoRaWAN) */
#define AIRTIME_FSK_DEFAULT_PREAMBLE 5    /* bytes (LoRaWAN GFSK) */
#define AIRTIME_FSK_DEFAULT_SYNC 3        /* bytes, sync word 0xC194C1 */
#define AIRTIME_FSK_DEFAULT_BITRATE 50000 /* EU868 DR7 */
#define AIRTIME_MAX_PAYLOAD 255

enum airtime_ldro {
	AIRTIME_LDRO_AUTO = 0,  /* LoRaMac-node rule, see above */
	AIRTIME_LDRO_ON = 1,
	AIRTIME_LDRO_OFF = 2
};

struct airtime_lora {
	uint8_t sf;               /* 5..12 */
	uint32_t bw_hz;           /* 125000, 250000 or 500000 */
	uint8_t cr;               /* 1..4 for 4/5..4/8 */
	uint16_t preamble;        /* symbols, AIRTIME_DEFAULT_PREAMBLE for LoRaWAN */
	uint16_t payload_len;     /* PHYPayload bytes, 0..255 */
	bool crc;                 /* PHY payload CRC (LoRaWAN: uplink on, downlink off) */
	bool implicit_header;     /* LoRaWAN: false */
	enum airtime_ldro ldro;
};

struct airtime_fsk {
	uint16_t payload_len;     /* 0..255 */
	uint32_t bitrate;         /* bit/s, > 0 */
	uint8_t preamble_bytes;   /* AIRTIME_FSK_DEFAULT_PREAMBLE */
	uint8_t sync_bytes;       /* AIRTIME_FSK_DEFAULT_SYNC */
	bool crc;                 /* 2 CRC bytes */
};

/* Same numeric values as enum gwmp_modulation, so rxpk/txpk map directly. */
enum airtime_modulation {
	AIRTIME_MOD_LORA = 0,
	AIRTIME_MOD_FSK = 1
};

/* True if the LoRaMac-node rule enables LDRO for this SF/bandwidth. */
bool airtime_ldro_auto(uint8_t sf, uint32_t bw_hz);

/*
 * Number of payload symbols (Npayload above, the "8 +" included).
 * Errors: LB_ERR_INVAL for a parameter outside the ranges documented in
 * struct airtime_lora (or an unknown ldro value).
 */
int airtime_lora_symbols(const struct airtime_lora *p, uint32_t *n_payload);

/* Symbol duration in µs (2^SF * 1e6 / BW). Errors: LB_ERR_INVAL. */
int airtime_lora_tsym_us(uint8_t sf, uint32_t bw_hz, uint32_t *tsym_us);

/* LoRa time on air in µs, exact. Errors: LB_ERR_INVAL. */
int airtime_lora_us(const struct airtime_lora *p, uint64_t *us);

/* FSK time on air in µs, rounded up. Errors: LB_ERR_INVAL (bitrate 0,
 * payload > 255). */
int airtime_fsk_us(const struct airtime_fsk *p, uint64_t *us);

/*
 * Time on air of a LoRaWAN frame as the daemon sees it in rxpk/txpk:
 * LoRaWAN framing (8-symbol preamble / 5+3-byte FSK preamble+sync, explicit
 * header, LDRO auto). LoRa: CRC on for uplinks, off for downlinks
 * (TS001-1.0.4 §3.1, §3.2). FSK: CRC on in both directions (LoRaMac-node
 * receives FSK downlinks with crcOn = true; lorawan-stack always counts it). `bw_khz` and `sf` are used for LoRa,
 * `bitrate` for FSK. `cr` 0 (rxpk "codr" absent / "OFF") is taken as 4/5,
 * the only LoRaWAN coding rate. `size` is the PHYPayload length.
 * Errors: LB_ERR_INVAL (unknown modulation, e.g. LR-FHSS, or bad values).
 */
int airtime_frame_us(enum airtime_modulation mod, uint8_t sf, uint16_t bw_khz, uint8_t cr,
		     uint32_t bitrate, uint16_t size, bool uplink, uint64_t *us);

#endif
