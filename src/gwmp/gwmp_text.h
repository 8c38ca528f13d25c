/* SPDX-License-Identifier: MIT */
/*
 * gwmp_text.h - text forms of the Semtech UDP protocol that the framing
 * (gwmp.c) and both JSON directions (gwmp_json.c, gwmp_json_write.c) share:
 * the padding around a JSON body, the LoRa `datr` string and the rxpk
 * `time` string.
 *
 * Errors: LB_ERR_MALFORMED for text not in the expected form; formatting
 * errors are listed with the function. Ownership: nothing is allocated or
 * kept; output goes into the caller's variables and buffers.
 */
#ifndef LB_GWMP_TEXT_H
#define LB_GWMP_TEXT_H

#include <stddef.h>
#include <stdint.h>

#include "gwmp/gwmp_types.h"

/* Narrow [*p, *p + *len) by dropping leading and trailing NUL/whitespace,
 * which some forwarders append to the JSON body. */
void gwmp__trim(const uint8_t **p, size_t *len);

/* "SF7BW125" <-> sf/bw; returns LB_OK or LB_ERR_MALFORMED. */
int gwmp_parse_datr(const char *s, uint8_t *sf, uint16_t *bw_khz);

/* rxpk `time` (Semtech PROTOCOL.TXT §4): RFC 3339
 * "2013-03-31T16:21:17.528002Z", any number of fraction digits (kept to
 * µs), 'Z' or a ±hh:mm offset, years 1970..9999.
 * Returns LB_OK or LB_ERR_MALFORMED. */
int gwmp__time_parse(const char *s, int64_t *us);
/* The same, remembering in memo (not NULL) the hour it converted: a time
 * in that hour again is read without timegm(). Results are those of
 * gwmp__time_parse(). */
int gwmp__time_parse_memo(const char *s, int64_t *us, struct gwmp_time_memo *memo);

/* Inverse of gwmp__time_parse for us >= 0, always with 6 fraction digits and
 * 'Z' as lora_pkt_fwd prints it. Errors: LB_ERR_INVAL (out of range),
 * LB_ERR_TOO_LARGE (cap < GWMP_TIME_LEN + 1). */
#define GWMP_TIME_LEN 27
int gwmp__time_format(int64_t us, char *out, size_t cap);

#endif
