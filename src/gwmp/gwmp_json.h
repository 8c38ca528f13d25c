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
 * as absent. `stat` is read leniently: a field of the wrong type is absent. */
int gwmp_parse_push(const uint8_t *json, size_t len, struct gwmp_push *out);

/* Parse the optional JSON of a TX_ACK (json may be NULL / len 0 = success).
 * "NONE" is stored as "" (success); longer strings are truncated to fit.
 * Errors: LB_ERR_JSON (invalid JSON, no `txpk_ack` object, wrong types). */
int gwmp_parse_txack(const uint8_t *json, size_t len, struct gwmp_txack *out);

/* Parse a PULL_RESP's JSON into a txpk (simulator, tests). Required fields as
 * in PROTOCOL.TXT §6 (LB_ERR_JSON if missing); unlike Semtech's forwarder, a
 * `size` that does not match `data` is an error (LB_ERR_SIZE_MISMATCH). */
int gwmp_parse_pull_resp(const uint8_t *json, size_t len, struct gwmp_txpk *out);

#endif
