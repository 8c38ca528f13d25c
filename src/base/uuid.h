/* SPDX-License-Identifier: MIT */
/*
 * uuid.h - RFC 4122 UUIDs: text form, parsing, and name-based version-5
 * UUIDs (RFC 4122 §4.3, SHA-1 through OpenSSL's EVP interface).
 *
 * Bytes are in RFC 4122 network order (time_low first), as printed:
 * "6ba7b811-9dad-11d1-80b4-00c04fd430c8" is {0x6b, 0xa7, ...}. Pure
 * functions, nothing allocated that outlives a call, no globals.
 */
#ifndef LB_UUID_H
#define LB_UUID_H

#include <stddef.h>
#include <stdint.h>

#define UUID_LEN 16                /* bytes */
#define UUID_STR_LEN 36            /* characters, 8-4-4-4-12, without NUL */

/* NameSpace_URL of RFC 4122 Appendix C: 6ba7b811-9dad-11d1-80b4-00c04fd430c8. */
extern const uint8_t uuid_ns_url[UUID_LEN];

/* The lowercase 8-4-4-4-12 text of id, NUL-terminated. */
void uuid_format(const uint8_t id[UUID_LEN], char out[UUID_STR_LEN + 1]);

/*
 * Parse the 8-4-4-4-12 text form (36 characters, hex digits of either
 * case, hyphens at positions 8, 13, 18 and 23), exactly len characters.
 * out may be NULL (validation only). LB_OK or LB_ERR_MALFORMED.
 */
int uuid_parse(const char *s, size_t len, uint8_t out[UUID_LEN]);

/*
 * Version-5 UUID of name[0..len) in namespace ns (RFC 4122 §4.3): the
 * first 16 bytes of SHA-1(ns || name), version 5 in the high nibble of
 * byte 6, variant 10 in the high bits of byte 8. LB_OK, LB_ERR_INVAL
 * (NULL), LB_ERR_CRYPTO (OpenSSL failed; out unspecified).
 */
int uuid_v5(const uint8_t ns[UUID_LEN], const char *name, size_t len, uint8_t out[UUID_LEN]);

#endif
