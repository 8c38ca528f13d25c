/* SPDX-License-Identifier: MIT */
/*
 * sim_fault.h - malformed GWMP datagrams for fault injection (pure).
 *
 * --malformed N makes every N-th datagram be followed by one of these, in
 * turn, so a bridge test can check each is counted under its drop reason and
 * none disturbs the valid traffic around it:
 *
 *   kind      bytes                                           bridge reason
 *   SHORT     ver tok tok                  (3 bytes)          TOO_SHORT
 *   VERSION   0x09 tok tok 0x02 EUI        (PULL_DATA, v9)    VERSION
 *   IDENT     ver tok tok 0x07 EUI                            UNKNOWN_TYPE
 *   JSON      ver tok tok 0x00 EUI {"rxpk":[{"tmst":1,"data":}]}   JSON
 *   BASE64    ver tok tok 0x00 EUI {"rxpk":[{... "data":"!!not*base64"}]} BASE64
 *   SIZE      ver tok tok 0x00 EUI {"rxpk":[{... "size":30, 12 bytes}]}   SIZE_MISMATCH
 *
 * The last three are well-framed PUSH_DATA, so a bridge that acks before
 * parsing (Semtech PROTOCOL.TXT §3.1) will answer them: the caller keeps their
 * tokens to recognise those ACKs.
 */
#ifndef LB_SIM_FAULT_H
#define LB_SIM_FAULT_H

#include <stddef.h>
#include <stdint.h>

enum sim_malformed_kind {
	SIM_MALFORMED_SHORT = 0,
	SIM_MALFORMED_VERSION,
	SIM_MALFORMED_IDENT,
	SIM_MALFORMED_JSON,
	SIM_MALFORMED_BASE64,
	SIM_MALFORMED_SIZE,
	SIM_MALFORMED__COUNT
};

#define SIM_MALFORMED_BAD_VERSION 0x09
#define SIM_MALFORMED_BAD_IDENT 0x07
#define SIM_MALFORMED_MAX_LEN 512

/* "short", "version", ... */
const char *sim_malformed_name(enum sim_malformed_kind k);

/* Write datagram `k` into out (cap >= SIM_MALFORMED_MAX_LEN). Returns its
 * length, or 0 for an unknown kind or too small a buffer. */
size_t sim_malformed_build(enum sim_malformed_kind k, uint8_t version, const uint8_t token[2],
			   uint64_t gateway_eui, uint8_t *out, size_t cap);

#endif
