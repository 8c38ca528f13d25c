/* SPDX-License-Identifier: MIT */
/*
 * gwmp.h - Semtech UDP packet-forwarder protocol (GWMP v1/v2), pure codec.
 *
 * Reference: Semtech's packet forwarder PROTOCOL.TXT (rev 1.4, sections 3
 * to 6) and sx1302_hal's PROTOCOL.md (rev 1.6). No I/O, no clock, no logging, no globals:
 * functions take bytes and return structs (or the reverse) and an lb_err code.
 *
 *   0        1        2        3        4 ............ 11   12 ....
 *  +--------+--------+--------+--------+-----------------+----------
 *  |version | token (2 bytes) | ident  | gateway EUI (8) | JSON ...     PUSH_DATA, TX_ACK
 *  +--------+--------+--------+--------+-----------------+              PULL_DATA (no JSON)
 *  |version | token (2 bytes) | ident  | JSON ...                       PULL_RESP
 *  |version | token (2 bytes) | ident  |                                PUSH_ACK, PULL_ACK
 *
 * Ownership: parsed structs point into nothing the caller must free; byte
 * payloads are copied into fixed buffers inside the structs (max 255 bytes).
 */
#ifndef LB_GWMP_H
#define LB_GWMP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gwmp/gwmp_types.h"
#include "gwmp/gwmp_json.h"          /* the JSON bodies: the rest of the codec */
#include "gwmp/gwmp_json_write.h"

#define GWMP_OFF_VERSION 0
#define GWMP_OFF_TOKEN 1
#define GWMP_LEN_TOKEN 2
#define GWMP_OFF_IDENT 3
#define GWMP_OFF_EUI 4
#define GWMP_LEN_EUI 8
#define GWMP_LEN_HDR 4      /* version + token + identifier */
#define GWMP_LEN_HDR_EUI 12 /* ... + gateway EUI */
#define GWMP_OFF_JSON_UP 12 /* PUSH_DATA / TX_ACK JSON */
#define GWMP_OFF_JSON_DOWN 4 /* PULL_RESP JSON */

enum gwmp_type {
	GWMP_PUSH_DATA = 0x00,
	GWMP_PUSH_ACK = 0x01,
	GWMP_PULL_DATA = 0x02,
	GWMP_PULL_RESP = 0x03,
	GWMP_PULL_ACK = 0x04,
	GWMP_TX_ACK = 0x05
};

/* Common header of a datagram sent by a gateway (PUSH_DATA, PULL_DATA, TX_ACK). */
struct gwmp_header {
	uint8_t version;             /* 1 or 2 */
	uint8_t token[GWMP_LEN_TOKEN];
	enum gwmp_type type;
	uint64_t gateway_eui;        /* MSB first on the wire */
	const uint8_t *json;         /* points into the datagram; NULL if none */
	size_t json_len;             /* trailing NUL/whitespace stripped */
};

/*
 * Parse the header of a datagram received from a gateway.
 * Accepts PUSH_DATA, PULL_DATA and TX_ACK of version 1 or 2.
 * Errors: LB_ERR_TOO_SHORT (< 4 bytes, or < 12 for the types with an EUI),
 * LB_ERR_VERSION, LB_ERR_UNKNOWN_TYPE (including server->gateway types),
 * LB_ERR_TOO_LARGE (> GWMP_MAX_DATAGRAM), LB_ERR_JSON (PUSH_DATA without a
 * JSON object, i.e. not starting with '{' / ending with '}').
 */
int gwmp_parse_header(const uint8_t *buf, size_t len, struct gwmp_header *out);

/* Write the 4-byte PUSH_ACK or PULL_ACK answering `req` (same version and
 * token); returns 4, or 0 for a TX_ACK, which is not acknowledged
 * (PROTOCOL.TXT §5.1). */
size_t gwmp_build_ack(const struct gwmp_header *req, uint8_t out[GWMP_LEN_HDR]);

/* Build a PULL_RESP datagram. Errors: LB_ERR_TOO_LARGE if it would exceed
 * `cap` or GWMP_MAX_PULL_RESP, LB_ERR_INVAL for an inconsistent txpk. */
int gwmp_build_pull_resp(uint8_t version, const uint8_t token[GWMP_LEN_TOKEN],
			 const struct gwmp_txpk *tx, uint8_t *out, size_t cap, size_t *out_len);

/* Build gateway->server datagrams (used by the simulator and the tests).
 * json may be NULL. Errors: LB_ERR_TOO_LARGE. */
int gwmp_build_up(uint8_t version, const uint8_t token[GWMP_LEN_TOKEN], enum gwmp_type type,
		  uint64_t gateway_eui, const char *json, uint8_t *out, size_t cap, size_t *out_len);

/* EUI as 16 lowercase hex chars + NUL. */
void gwmp_eui_str(uint64_t eui, char out[17]);

#endif
