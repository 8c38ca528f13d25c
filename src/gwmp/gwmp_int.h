/*
 * gwmp_int.h - helpers shared by gwmp.c (framing) and gwmp_json.c (bodies).
 * Not part of the public API; only the gwmp module includes this header.
 */
#ifndef LB_GWMP_INT_H
#define LB_GWMP_INT_H

#include <stddef.h>
#include <stdint.h>

#include "gwmp/gwmp.h"

/* Narrow [*p, *p + *len) by dropping leading and trailing NUL/whitespace,
 * which some forwarders append to the JSON body. */
void gwmp__trim(const uint8_t **p, size_t *len);

/* rxpk `time` (PROTOCOL.TXT §4): RFC 3339 "2013-03-31T16:21:17.528002Z", any number of
 * fraction digits (kept to µs), 'Z' or a ±hh:mm offset, years 1970..9999.
 * Returns LB_OK or LB_ERR_MALFORMED. */
int gwmp__time_parse(const char *s, int64_t *us);

/* Inverse of gwmp__time_parse for us >= 0, always with 6 fraction digits and
 * 'Z' as lora_pkt_fwd prints it. Errors: LB_ERR_INVAL (out of range),
 * LB_ERR_TOO_LARGE (cap < GWMP_TIME_LEN + 1). */
#define GWMP_TIME_LEN 27
int gwmp__time_format(int64_t us, char *out, size_t cap);

/* Write `{"txpk":{...}}` for `tx` into out: at most cap bytes, no NUL (it
 * is the tail of a datagram); *out_len receives the length. Errors: LB_ERR_INVAL for an
 * inconsistent txpk, LB_ERR_TOO_LARGE if it does not fit, LB_ERR_NOMEM. */
int gwmp__txpk_json(const struct gwmp_txpk *tx, char *out, size_t cap, size_t *out_len);

#endif
