/* SPDX-License-Identifier: MIT */
/*
 * gwmp_json.h - reading the JSON bodies of the Semtech UDP protocol
 * (json-c): PUSH_DATA rxpk/stat (Semtech PROTOCOL.TXT §4), TX_ACK txpk_ack
 * (§5.5, §6) and PULL_RESP txpk (§6, simulator and tests).
 *
 * Errors: for one object, a field of the wrong JSON type or a missing
 * required field is LB_ERR_JSON, a value of the right type that cannot be
 * used is LB_ERR_MALFORMED; each function lists the rest. Ownership: the
 * output struct is zeroed and filled in place; nothing in it points into
 * the input, nothing is to be freed.
 */
#ifndef LB_GWMP_JSON_H
#define LB_GWMP_JSON_H

#include <stddef.h>
#include <stdint.h>

#include "gwmp/gwmp_types.h"

/* Parse the JSON of a PUSH_DATA (hdr->json). Errors: LB_ERR_JSON for
 * invalid JSON / wrong types at the top level. Per-rxpk errors go to
 * out->rxpk_err: LB_ERR_JSON (wrong type, or missing freq/datr/size/data),
 * LB_ERR_BASE64, LB_ERR_SIZE_MISMATCH, LB_ERR_TOO_LARGE (size or data
 * > 255), LB_ERR_MALFORMED (bad datr/codr/modu/time, value out of range).
 * Other rxpk fields are optional (absent: 0 / has_* false); JSON null counts
 * as absent. `stat` is read leniently: a numeric field that is not a finite
 * number of its type within its physical range (below) is left out (0) and
 * its bit set in stat.dropped, without spoiling the rest. Only
 * out->rxpk[0..n_rxpk) and the counts are written (and stat): entries
 * beyond keep whatever they held. */
int gwmp_parse_push(const uint8_t *json, size_t len, struct gwmp_push *out);
/* The same, rxpk `time` read through memo (gwmp_types.h; not NULL, kept by
 * the caller from one datagram to the next): the results are the same. */
int gwmp_parse_push_memo(const uint8_t *json, size_t len, struct gwmp_push *out,
			 struct gwmp_time_memo *memo);

/* The ranges of the `stat` fields (inclusive). Counters are whole numbers
 * in uint32 (the GatewayStats counters); the others any finite number. */
#define GWMP_STAT_LATI_MAX 90.0          /* degrees, and -90 */
#define GWMP_STAT_LONG_MAX 180.0         /* degrees, and -180 */
#define GWMP_STAT_ALTI_MIN -1000.0       /* m: below the lowest dry land */
#define GWMP_STAT_ALTI_MAX 100000.0      /* m: the edge of space */
#define GWMP_STAT_ACKR_MAX 100.0         /* percent, and 0 */
#define GWMP_STAT_TEMP_MIN -100.0        /* degrees Celsius */
#define GWMP_STAT_TEMP_MAX 200.0

/* The JSON keys of the fields in a gwmp_stat.dropped mask, comma-separated
 * ("lati,temp"; truncated to fit cap > 0). Returns how many there are. */
unsigned gwmp_stat_dropped_keys(unsigned dropped, char *out, size_t cap);

/* Parse the optional JSON of a TX_ACK (json may be NULL / len 0 = success).
 * "NONE" is stored as "" (success); longer strings are truncated to fit.
 * Errors: LB_ERR_JSON (invalid JSON, no `txpk_ack` object, wrong types). */
int gwmp_parse_txack(const uint8_t *json, size_t len, struct gwmp_txack *out);

/* Parse a PULL_RESP's JSON into a txpk (simulator, tests). Required fields as
 * in PROTOCOL.TXT §6 (LB_ERR_JSON if missing); unlike Semtech's forwarder, a
 * `size` that does not match `data` is an error (LB_ERR_SIZE_MISMATCH). */
int gwmp_parse_pull_resp(const uint8_t *json, size_t len, struct gwmp_txpk *out);

#endif
