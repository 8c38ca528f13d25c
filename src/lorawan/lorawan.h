/* SPDX-License-Identifier: MIT */
/*
 * lorawan.h - LoRaWAN 1.0.x PHYPayload codec (pure: no I/O, no logging).
 *
 * Reference: LoRaWAN L2 1.0.4 specification (TS001-1.0.4) §4, §6.2.
 *
 *  PHYPayload:  MHDR(1) | MACPayload(7..M) | MIC(4)
 *  MACPayload:  FHDR | [FPort(1) | [FRMPayload]]
 *  FHDR:        DevAddr(4 LE) | FCtrl(1) | FCnt(2 LE) | FOpts(0..15)
 *  JoinRequest: JoinEUI(8 LE) | DevEUI(8 LE) | DevNonce(2 LE)
 *
 * Parsing does no crypto: it splits the frame and points into the caller's
 * buffer (the struct is only valid while that buffer lives). Integrity (MIC)
 * and decryption are in lwcrypto.h.
 */
#ifndef LB_LORAWAN_H
#define LB_LORAWAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define LW_LEN_MHDR 1
#define LW_LEN_MIC 4
#define LW_LEN_DEVADDR 4
#define LW_LEN_FHDR_MIN 7
#define LW_MAX_FOPTS 15
#define LW_MIN_DATA_FRAME 12   /* MHDR + FHDR(7) + MIC */
#define LW_LEN_JOIN_REQUEST 23
#define LW_MAX_PHY 255

enum lw_mtype {
	LW_MTYPE_JOIN_REQUEST = 0,
	LW_MTYPE_JOIN_ACCEPT = 1,
	LW_MTYPE_UNCONFIRMED_UP = 2,
	LW_MTYPE_UNCONFIRMED_DOWN = 3,
	LW_MTYPE_CONFIRMED_UP = 4,
	LW_MTYPE_CONFIRMED_DOWN = 5,
	LW_MTYPE_RFU = 6,
	LW_MTYPE_PROPRIETARY = 7
};

enum lw_dir { LW_DIR_UP = 0, LW_DIR_DOWN = 1 };

struct lw_data {
	uint32_t dev_addr;
	uint8_t fctrl;
	bool adr;
	bool adr_ack_req;     /* uplink only */
	bool ack;
	bool fpending;        /* downlink: FPending; uplink: ClassB bit */
	uint16_t fcnt16;
	uint8_t fopts_len;
	const uint8_t *fopts;
	bool has_fport;
	uint8_t fport;
	const uint8_t *frm_payload;  /* still encrypted */
	size_t frm_len;
};

struct lw_join_request {
	uint64_t join_eui;
	uint64_t dev_eui;
	uint16_t dev_nonce;
};

struct lw_frame {
	uint8_t mhdr;
	enum lw_mtype mtype;
	uint8_t major;
	const uint8_t *phy;          /* whole PHYPayload */
	size_t phy_len;
	size_t msg_len;              /* bytes covered by the MIC: phy_len - 4 */
	uint8_t mic[LW_LEN_MIC];
	union {
		struct lw_data data;                 /* mtype 2..5 */
		struct lw_join_request join_req;     /* mtype 0 */
	} u;
	/* Join-accept (1) body stays encrypted; RFU/proprietary: no body parse. */
};

/*
 * Split a PHYPayload. Errors: LB_ERR_INVAL (NULL out, or NULL phy with
 * len > 0), LB_ERR_TOO_SHORT (below the minimum for its MType: 5 for any,
 * 12 for data, 23 for join-request, 17 for join-accept), LB_ERR_TOO_LARGE
 * (> 255), LB_ERR_VERSION (Major != 0), LB_ERR_MALFORMED (FOpts longer than
 * the frame, FPort 0 with FOpts, join-request longer than 23 bytes,
 * join-accept not 17 or 33 bytes). *out is zeroed first; on error its
 * content is unspecified. For a join-accept, out->mic is still ciphertext.
 * The MHDR RFU bits 4..2 are ignored (LoRaMac-node and ChirpStack do too).
 */
int lorawan_parse(const uint8_t *phy, size_t len, struct lw_frame *out);

/* True for the uplink data MTypes (unconfirmed and confirmed data up). */
bool lorawan_is_data_up(enum lw_mtype t);
bool lorawan_is_data_down(enum lw_mtype t);
const char *lorawan_mtype_name(enum lw_mtype t);  /* "UnconfirmedDataUp", ... */

/*
 * Rebuild the 32-bit frame counter from the 16 bits on air (TS001-1.0.4
 * §4.3.1.5). `last` is the last accepted 32-bit counter; has_last is false
 * for a fresh session in which nothing was accepted yet (`last` is then
 * ignored and the expected next counter is 0). A repeat of the last counter
 * (f16 == low 16 bits of last) returns `last` itself (1.0.4 NbTrans); any
 * other value is taken as the first counter >= last + 1 with those 16 low
 * bits, so 0xFFFF -> 0x0000 rolls over into bit 16. The result is only a
 * candidate: accept it only after the MIC verifies with it.
 */
uint32_t lorawan_fcnt_full(uint32_t last, bool has_last, uint16_t f16);

/* Parameters of a data frame to build (simulator, tests, downlinks). */
struct lw_data_params {
	enum lw_mtype mtype;
	uint32_t dev_addr;
	uint8_t fctrl_flags;      /* ADR 0x80, ADRACKReq 0x40, ACK 0x20, FPending/ClassB 0x10 */
	uint32_t fcnt;            /* full 32-bit counter (16 LSB go on air) */
	const uint8_t *fopts;
	uint8_t fopts_len;
	bool has_fport;
	uint8_t fport;
	const uint8_t *payload;   /* plaintext FRMPayload */
	size_t payload_len;
};

struct lw_keys;  /* from lwcrypto.h */

/*
 * Build, encrypt (AppSKey for FPort>0, NwkSKey for FPort 0) and MIC a data
 * frame into out (cap >= 255 recommended). `keys` carries the session keys.
 * Errors: LB_ERR_TOO_LARGE (frame > 255 bytes or > cap), LB_ERR_INVAL (not a
 * data MType, FOptsLen bits set in fctrl_flags, fopts_len > 15, payload
 * without FPort, FPort 0 with FOpts, keys not initialised), LB_ERR_CRYPTO.
 */
int lorawan_build_data(const struct lw_data_params *p, struct lw_keys *keys,
		       uint8_t *out, size_t cap, size_t *out_len);

#endif
