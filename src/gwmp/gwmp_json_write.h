/* SPDX-License-Identifier: MIT */
/*
 * gwmp_json_write.h - writing the JSON bodies of the Semtech UDP protocol:
 * PUSH_DATA rxpk/stat as Semtech lora_pkt_fwd v4.0.1 prints them
 * (Semtech PROTOCOL.TXT §4) and the PULL_RESP txpk (§6).
 *
 * Errors: LB_ERR_INVAL for an inconsistent struct, LB_ERR_TOO_LARGE when
 * the text does not fit the caller's buffer, LB_ERR_NOMEM. Ownership: the
 * text goes into the caller's buffer; nothing is kept.
 */
#ifndef LB_GWMP_JSON_WRITE_H
#define LB_GWMP_JSON_WRITE_H

#include <stddef.h>
#include <stdint.h>

#include "gwmp/gwmp_types.h"

/* Serialise rxpk/stat into a PUSH_DATA JSON body (simulator, tests, fuzz
 * seeds). `n` may be 0 and `stat` NULL, not both. Returns length written
 * (without NUL) or a negative lb_err (LB_ERR_TOO_LARGE). */
int gwmp_format_push(const struct gwmp_rxpk *rxpk, size_t n, const struct gwmp_stat *stat,
		     char *out, size_t cap);

/* Write `{"txpk":{...}}` for `tx` into out: at most cap bytes, no NUL (it
 * is the tail of a datagram); *out_len receives the length. Errors: LB_ERR_INVAL for an
 * inconsistent txpk, LB_ERR_TOO_LARGE if it does not fit, LB_ERR_NOMEM.
 * Internal: gwmp_build_pull_resp() (gwmp.c) puts it behind the header. */
int gwmp__txpk_json(const struct gwmp_txpk *tx, char *out, size_t cap, size_t *out_len);

#endif
