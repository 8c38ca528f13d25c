/* SPDX-License-Identifier: MIT */
/*
 * join.h - LoRaWAN 1.0.x over-the-air activation, the pure part (no I/O, no
 * clock, no logging, no globals).
 *
 * Reference: LoRaWAN L2 1.0.4 specification (TS001-1.0.4) §6.2.5 (join-request,
 * DevNonce rules; LoRaWAN 1.0.3 §6.2.4 for the older rules), §6.2.6
 * (join-accept, session keys); RP002-1.0.4 §2.3 (JOIN_ACCEPT_DELAY1/2);
 * LoRaWAN Backend Interfaces (TS002-1.1.0 §13) for NetID and DevAddr.
 *
 * What lives here:
 *   - NetID types and the DevAddr space of a NetID (allocation is the
 *     caller's: it picks NwkAddr values, join_devaddr() makes the address);
 *   - the DevNonce acceptance rule per LoRaWAN version;
 *   - building/opening join-accepts and building join-requests (simulator);
 *   - join_process(): the network side of one join, from a parsed and
 *     not yet authenticated join-request to the encrypted join-accept and
 *     the new session keys.
 *
 * The caller (the stateful join handler) does, in this order: parse the
 * frame (lorawan_parse), find the device by DevEUI, ask its durable store
 * whether this DevNonce was used before and what the last one was, reserve
 * the next JoinNonce and a DevAddr, fill struct join_policy, call
 * join_process(), and only on LB_OK persist the DevNonce, the JoinNonce and
 * the new session before the join-accept is sent (at JOIN_ACCEPT_DELAY1 =
 * 5 s in RX1, or JOIN_ACCEPT_DELAY2 = 6 s in RX2). The old session stays
 * usable until the first uplink verifying with the new one (LoRaWAN 1.0.3
 * §6.2.4): the daemon keeps the new one pending (daemon/session.h).
 *
 * Ownership: every struct is plain data owned by the caller; nothing here
 * allocates but the OpenSSL contexts a struct lw_key makes at its first
 * use (lwcrypto.h), which lwcrypto_key_free() releases. struct lw_key
 * arguments are prepared by lwcrypto_key_init() (non-const because OpenSSL
 * contexts inside carry per-call state).
 * Functions writing session keys wipe them on failure.
 *
 * Numbers are host-order integers printed MSB first (DevAddr 0x26011234,
 * NetID 0x000013); the functions do the little-endian wire encoding.
 */
#ifndef LB_JOIN_H
#define LB_JOIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lorawan/lorawan.h"
#include "lorawan/lwcrypto.h"
#include "lorawan/region.h"

#define JOIN_LEN_REQUEST 23          /* = LW_LEN_JOIN_REQUEST */
#define JOIN_LEN_ACCEPT 17           /* MHDR + 12 + MIC, no CFList */
#define JOIN_LEN_ACCEPT_CFLIST 33    /* with a 16-byte CFList */
#define JOIN_LEN_CFLIST 16
#define JOIN_MAX_NONCE 0xFFFFFFu     /* JoinNonce/AppNonce and NetID: 24 bits */
#define JOIN_MAX_RX1_DR_OFFSET 7     /* DLSettings bits 6..4 */
#define JOIN_MAX_RX2_DR 15           /* DLSettings bits 3..0 */
#define JOIN_MAX_RX_DELAY 15         /* RxDelay bits 3..0 */
#define JOIN_ACCEPT_DELAY1_S 5       /* RP002-1.0.4 §2.3 */
#define JOIN_ACCEPT_DELAY2_S 6

/* --- NetID and DevAddr (TS002 §13) -------------------------------------- */

/*
 * A NetID is 24 bits: Type (bits 23..21) | ID (bits 20..0). For types 0..2
 * only the low 6, 6, 9 ID bits are defined and the others are RFU (zero);
 * for types 3..7 the NwkID is the low 11, 12, 13, 15, 17 bits of the ID
 * (TS002-1.1.0 Tables 1-2, the type 3/4 widths as fixed by the Backend 1.0
 * errata "NwkId Length Fix for Type 3 and Type 4 NetIDs").
 *
 * DevAddr (32 bits, MSB first):
 *
 *   | type prefix           | NwkID              | NwkAddr             |
 *   | '0' .. '11111110'     | 6,6,9,11,12,13,15, | 25,24,20,17,15,13,  |
 *   | (type + 1 bits)       | 17 bits            | 10,7 bits           |
 *
 * e.g. TTN NetID 0x000013 (type 0, NwkID 0x13) -> DevAddrs
 * 0x26000000..0x27FFFFFF ("26000000/7").
 */
struct join_netid {
	uint32_t net_id;          /* the 24-bit NetID */
	uint8_t type;             /* 0..7 */
	uint32_t nwk_id;          /* NwkID: the low nwk_id_bits of the NetID */
	uint8_t nwk_id_bits;      /* 6, 6, 9, 11, 12, 13, 15, 17 */
	uint8_t type_prefix_bits; /* type + 1: 1..8 */
	uint32_t prefix;          /* DevAddr prefix, left-aligned, low bits 0 */
	uint8_t prefix_bits;      /* type_prefix_bits + nwk_id_bits: 7..25 */
	uint8_t nwk_addr_bits;    /* 32 - prefix_bits: 25, 24, 20, 17, 15, 13, 10, 7 */
	uint32_t max_nwk_addr;    /* (1 << nwk_addr_bits) - 1 */
	bool rfu_set;             /* type 0..2 NetID with RFU bits set (ignored) */
};

/*
 * Describe a NetID. RFU bits of a type 0..2 NetID (bits 20..6, 20..6, 20..9)
 * should be zero; like ChirpStack and TTN they are ignored here, and
 * out->rfu_set reports them so a configuration check can refuse such a
 * NetID. Errors: LB_ERR_INVAL (out NULL), LB_ERR_RANGE (more than 24 bits).
 * *out is zeroed on error.
 */
int join_netid_parse(uint32_t net_id, struct join_netid *out);

/* DevAddr = prefix | nwk_addr. LB_ERR_INVAL (NULL), LB_ERR_RANGE (nwk_addr >
 * max_nwk_addr). *dev_addr untouched on error. */
int join_devaddr(const struct join_netid *nid, uint32_t nwk_addr, uint32_t *dev_addr);

/* True if dev_addr lies in the NetID's DevAddr space (false for NULL). */
bool join_devaddr_in_netid(const struct join_netid *nid, uint32_t dev_addr);

/* The NwkAddr part of a DevAddr of this NetID. LB_ERR_INVAL (NULL),
 * LB_ERR_RANGE (dev_addr not in the NetID's space). */
int join_devaddr_nwk_addr(const struct join_netid *nid, uint32_t dev_addr, uint32_t *nwk_addr);

/* --- LoRaWAN version and DevNonce (TS001-1.0.4 §6.2.5) ------------------ */

enum join_version {
	JOIN_V1_0_0 = 0,
	JOIN_V1_0_1,
	JOIN_V1_0_2,
	JOIN_V1_0_3,
	JOIN_V1_0_4
};

/* "1.0.0" .. "1.0.4" (the config's lorawan_version) -> enum. Errors:
 * LB_ERR_INVAL (NULL), LB_ERR_VERSION (anything else, "1.1" included). */
int join_version_parse(const char *s, enum join_version *out);

/* "1.0.0" .. "1.0.4", or "?" for a foreign value. */
const char *join_version_name(enum join_version v);

/*
 * DevNonce acceptance (LoRaWAN 1.0.3 §6.2.4, TS001-1.0.4 §6.2.5).
 * seen_before: the device's durable store already holds this nonce.
 * has_last/last: the DevNonce of the device's last accepted join-request
 * (has_last false for a device that never joined).
 *   1.0.0 .. 1.0.3: nonces are random; refuse one seen before.
 *   1.0.4 (TS001-1.0.4 §6.2.5): nonces count up from 0; refuse one not
 *   greater than the last, and one seen before.
 * Returns LB_OK or LB_ERR_REPLAY; LB_ERR_INVAL for an unknown version.
 */
int join_check_dev_nonce(enum join_version v, uint16_t nonce, bool has_last, uint16_t last,
			 bool seen_before);

/* --- Join-accept (TS001-1.0.4 §6.2.6) ----------------------------------- */

/* The content of a join-accept (plaintext fields, host order). */
struct join_accept_params {
	uint32_t join_nonce;      /* JoinNonce/AppNonce, 24 bits, never repeated per device */
	uint32_t net_id;          /* 24 bits */
	uint32_t dev_addr;
	uint8_t rx1_dr_offset;    /* 0..7 */
	uint8_t rx2_dr;           /* 0..15 */
	uint8_t rx_delay;         /* 0..15 seconds, 0 means 1 s */
	bool has_cflist;
	uint8_t cflist[JOIN_LEN_CFLIST];   /* region_cflist_freq/_chmask output */
};

/*
 * The CFList of type 1 (channel mask; RP002-1.0.4 §2.3.2, §2.5.4 US902-928,
 * §2.8.4 AU915-928) for a device of version v in region r, into out
 * (region_cflist_chmask()'s layout: ChMask0..4 LE, 5 RFU bytes,
 * CFListType 1). Only from LoRaWAN 1.0.3 on: Regional Parameters 1.0.2revB,
 * which a 1.0.2 device implements, defines no CFList in these regions.
 * Errors: LB_ERR_INVAL (NULL, region without type 1), LB_ERR_VERSION (v
 * before 1.0.3), LB_ERR_RANGE (ChMask4's RFU bits set).
 */
int join_cflist_chmask(const struct region *r, enum join_version v,
		       const uint16_t mask[REGION_CHMASK_WORDS], uint8_t out[JOIN_LEN_CFLIST]);

/* RX1 delay in seconds of a RxDelay value: 0 -> 1, else the value
 * (TS001-1.0.4 §6.2.6 and §5.7). */
unsigned join_rx1_delay_s(uint8_t rx_delay);

/*
 * Build the encrypted join-accept PHYPayload into out (MHDR 0x20, MIC with
 * app_key, AES-ECB-decrypt of everything after MHDR, TS001-1.0.4 §6.2.6);
 * *len is 17 or 33.
 * Errors: LB_ERR_INVAL (NULL, key not ready), LB_ERR_RANGE (a field beyond
 * its bits), LB_ERR_CRYPTO. out is wiped on error.
 */
int join_accept_build(const struct join_accept_params *p, struct lw_key *app_key,
		      uint8_t out[JOIN_LEN_ACCEPT_CFLIST], size_t *len);

/*
 * Decrypt and verify a join-accept (device side; the simulator and tests).
 * The MIC covers the MHDR as received. RFU bits (DLSettings bit 7, RxDelay
 * bits 7..4) are ignored as a 1.0.x device does. Errors: LB_ERR_INVAL
 * (NULL, key not ready), the lorawan_parse() errors for a bad frame,
 * LB_ERR_MALFORMED (not a join-accept), LB_ERR_MIC, LB_ERR_CRYPTO.
 * *out is zeroed on error.
 */
int join_accept_open(const uint8_t *phy, size_t len, struct lw_key *app_key,
		     struct join_accept_params *out);

/* --- Join-request (TS001-1.0.4 §6.2.5) ----------------------------------- */

/* Build a join-request with its MIC (device side: simulator, tests).
 * Errors: LB_ERR_INVAL (NULL, key not ready), LB_ERR_CRYPTO. */
int join_request_build(uint64_t join_eui, uint64_t dev_eui, uint16_t dev_nonce,
		       struct lw_key *app_key, uint8_t out[JOIN_LEN_REQUEST]);

/* --- The network side of one join --------------------------------------- */

/* What the caller knows about the device and what it reserved for the join. */
struct join_policy {
	uint64_t dev_eui;               /* the configured device */
	uint64_t join_eui;
	enum join_version version;
	bool dev_nonce_seen;            /* the request's DevNonce is in the store */
	bool has_last_dev_nonce;
	uint16_t last_dev_nonce;
	struct join_accept_params accept;  /* JoinNonce, NetID, DevAddr, DL settings, CFList */
};

struct join_outcome {
	uint8_t phy[JOIN_LEN_ACCEPT_CFLIST];  /* encrypted join-accept to send */
	size_t phy_len;                       /* 17 or 33 */
	uint8_t nwk_s_key[LW_KEY_LEN];
	uint8_t app_s_key[LW_KEY_LEN];
	uint16_t dev_nonce;                   /* to persist as used / last */
	uint32_t join_nonce;                  /* as sent */
	uint32_t dev_addr;                    /* as sent */
};

/* Only the frame's authenticity: a 23-byte join-request (LB_ERR_INVAL)
 * for join_eui (LB_ERR_DENIED) whose MIC verifies with app_key
 * (LB_ERR_MIC), LB_ERR_CRYPTO. Cheap: done before any state is read, so a
 * forged request for a known DevEUI costs no more than this. */
int join_request_verify(const struct lw_frame *req, struct lw_key *app_key, uint64_t join_eui);

/*
 * Authenticate a parsed join-request and answer it. Checks, in order:
 * req is a 23-byte join-request (LB_ERR_INVAL otherwise), DevEUI is the
 * policy's (LB_ERR_NOT_FOUND), JoinEUI is the policy's (LB_ERR_DENIED), the
 * MIC verifies with app_key (LB_ERR_MIC), the DevNonce passes
 * join_check_dev_nonce() (LB_ERR_REPLAY). Then builds the join-accept from
 * pol->accept and derives NwkSKey/AppSKey (TS001-1.0.4 §6.2.6). The DevAddr
 * is not checked against the NetID (allocation is the caller's). Also LB_ERR_RANGE and
 * LB_ERR_CRYPTO from join_accept_build(). *out is wiped on error.
 */
int join_process(const struct lw_frame *req, struct lw_key *app_key,
		 const struct join_policy *pol, struct join_outcome *out);

#endif
