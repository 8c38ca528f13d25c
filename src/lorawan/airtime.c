/* SPDX-License-Identifier: MIT */
/*
 * airtime.c - exact LoRa / FSK time on air (Semtech AN1200.13; SX127x FSK).
 * See airtime.h for the formulas; this file only does integer arithmetic.
 */
#include "lorawan/airtime.h"

#include <stddef.h>

#include "base/lb_err.h"

#define US_PER_S 1000000u

/* Fixed symbols after the programmed preamble, times 4 (4.25 -> 17,
 * 6.25 -> 25 for SF5/SF6). */
#define FIXED_QUARTERS_SF7_12 17u
#define FIXED_QUARTERS_SF5_6 25u
/* Explicit-header bits plus the "+8" term of the ceil() numerator
 * (8*PL - 4*SF + 28 + 16*CRC - 20*IH). */
#define HDR_BITS 20
#define SF7_12_EXTRA_BITS 8
#define CRC_BITS 16
#define BASE_SYMBOLS 8u
#define SF5_6_MIN_PREAMBLE 12u

#define FSK_LEN_BYTE 1u
#define FSK_CRC_BYTES 2u

static bool bw_valid(uint32_t bw_hz)
{
	return bw_hz == 125000 || bw_hz == 250000 || bw_hz == 500000;
}

bool airtime_ldro_auto(uint8_t sf, uint32_t bw_hz)
{
	if (bw_hz == 125000)
		return sf == 11 || sf == 12;
	if (bw_hz == 250000)
		return sf == 12;
	return false;
}

static int lora_check(const struct airtime_lora *p)
{
	if (p == NULL)
		return LB_ERR_INVAL;
	if (p->sf < 5 || p->sf > 12 || !bw_valid(p->bw_hz))
		return LB_ERR_INVAL;
	if (p->cr < 1 || p->cr > 4 || p->preamble == 0)
		return LB_ERR_INVAL;
	if (p->payload_len > AIRTIME_MAX_PAYLOAD)
		return LB_ERR_INVAL;
	if (p->ldro != AIRTIME_LDRO_AUTO && p->ldro != AIRTIME_LDRO_ON &&
	    p->ldro != AIRTIME_LDRO_OFF)
		return LB_ERR_INVAL;
	return LB_OK;
}

/* DE of the formula. SF5/SF6 never use LDRO (SX126x datasheet §6.1.4). */
static bool lora_de(const struct airtime_lora *p)
{
	if (p->sf < 7)
		return false;
	if (p->ldro == AIRTIME_LDRO_AUTO)
		return airtime_ldro_auto(p->sf, p->bw_hz);
	return p->ldro == AIRTIME_LDRO_ON;
}

int airtime_lora_tsym_us(uint8_t sf, uint32_t bw_hz, uint32_t *tsym_us)
{
	if (sf < 5 || sf > 12 || !bw_valid(bw_hz) || tsym_us == NULL)
		return LB_ERR_INVAL;
	/* 1e6 / BW is 8, 4 or 2 µs per chip: exact. */
	*tsym_us = (1u << sf) * (US_PER_S / bw_hz);
	return LB_OK;
}

int airtime_lora_symbols(const struct airtime_lora *p, uint32_t *n_payload)
{
	int err = lora_check(p);
	if (err != LB_OK)
		return err;
	if (n_payload == NULL)
		return LB_ERR_INVAL;

	int32_t num = 8 * (int32_t)p->payload_len - 4 * (int32_t)p->sf;
	if (!p->implicit_header)
		num += HDR_BITS;
	if (p->crc)
		num += CRC_BITS;
	if (p->sf >= 7)
		num += SF7_12_EXTRA_BITS;
	int32_t den = 4 * ((int32_t)p->sf - (lora_de(p) ? 2 : 0));

	/* max(ceil(num/den), 0): a non-positive numerator gives 0 blocks. */
	uint32_t blocks = num > 0 ? (uint32_t)((num + den - 1) / den) : 0;
	*n_payload = BASE_SYMBOLS + blocks * (p->cr + 4u);
	return LB_OK;
}

int airtime_lora_us(const struct airtime_lora *p, uint64_t *us)
{
	uint32_t n_payload, tsym_us;
	int err = airtime_lora_symbols(p, &n_payload);
	if (err != LB_OK)
		return err;
	if (us == NULL)
		return LB_ERR_INVAL;
	err = airtime_lora_tsym_us(p->sf, p->bw_hz, &tsym_us);
	if (err != LB_OK)
		return err;

	uint64_t preamble = p->preamble;
	uint64_t fixed_q = FIXED_QUARTERS_SF7_12;
	if (p->sf < 7) {
		fixed_q = FIXED_QUARTERS_SF5_6;
		if (preamble < SF5_6_MIN_PREAMBLE)
			preamble = SF5_6_MIN_PREAMBLE;
	}
	uint64_t quarters = 4 * preamble + fixed_q + 4 * (uint64_t)n_payload;
	/* tsym_us is a multiple of 4 for SF >= 5 (2^SF * 2 at least 64). */
	*us = quarters * (tsym_us / 4);
	return LB_OK;
}

int airtime_fsk_us(const struct airtime_fsk *p, uint64_t *us)
{
	if (p == NULL || us == NULL || p->bitrate == 0 ||
	    p->payload_len > AIRTIME_MAX_PAYLOAD)
		return LB_ERR_INVAL;
	uint64_t bytes = (uint64_t)p->preamble_bytes + p->sync_bytes + FSK_LEN_BYTE +
			 p->payload_len + (p->crc ? FSK_CRC_BYTES : 0);
	uint64_t bit_us = 8 * bytes * US_PER_S;
	*us = (bit_us + p->bitrate - 1) / p->bitrate;
	return LB_OK;
}

int airtime_frame_us(enum airtime_modulation mod, uint8_t sf, uint16_t bw_khz, uint8_t cr,
		     uint32_t bitrate, uint16_t size, bool uplink, uint64_t *us)
{
	if (mod == AIRTIME_MOD_FSK) {
		struct airtime_fsk f = {
			.payload_len = size,
			.bitrate = bitrate,
			.preamble_bytes = AIRTIME_FSK_DEFAULT_PREAMBLE,
			.sync_bytes = AIRTIME_FSK_DEFAULT_SYNC,
			.crc = true,
		};
		return airtime_fsk_us(&f, us);
	}
	if (mod != AIRTIME_MOD_LORA)
		return LB_ERR_INVAL;
	struct airtime_lora l = {
		.sf = sf,
		.bw_hz = (uint32_t)bw_khz * 1000u,
		.cr = cr == 0 ? 1 : cr,
		.preamble = AIRTIME_DEFAULT_PREAMBLE,
		.payload_len = size,
		.crc = uplink,
		.implicit_header = false,
		.ldro = AIRTIME_LDRO_AUTO,
	};
	return airtime_lora_us(&l, us);
}
