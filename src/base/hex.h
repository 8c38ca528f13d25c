/* SPDX-License-Identifier: MIT */
/*
 * hex.h - hexadecimal text <-> bytes and EUIs, as used in the configuration
 * file, the JSON events (devEui, gatewayId, devAddr) and MQTT topics.
 *
 * Pure functions: no allocation, no I/O, no globals. Decoding accepts upper
 * and lower case and requires the exact length (no separators, no "0x"
 * prefix, no surrounding spaces); encoding always writes lowercase.
 * EUI-64 and DevAddr strings are big-endian text: the first two characters
 * are the most significant byte, as printed on device labels and by
 * ChirpStack (the LoRaWAN wire order is the reverse, see lorawan.h).
 */
#ifndef LB_HEX_H
#define LB_HEX_H

#include <stddef.h>
#include <stdint.h>

#define HEX_EUI_LEN 16          /* characters of an EUI-64, without NUL */
#define HEX_U32_LEN 8           /* characters of a DevAddr, without NUL */

/* Value of one hex digit (0..15), or -1 if c is not [0-9a-fA-F]. */
int hex_digit_value(char c);

/*
 * Decode exactly 2 * out_len hex characters of the NUL-terminated string s
 * into out. Returns LB_OK, LB_ERR_SIZE_MISMATCH if strlen(s) != 2 * out_len,
 * LB_ERR_MALFORMED if a character is not a hex digit. out is unspecified on
 * error.
 */
int hex_decode(const char *s, uint8_t *out, size_t out_len);

/*
 * Encode len bytes as 2 * len lowercase hex characters plus a NUL into out
 * (cap bytes). Returns the number of characters written (2 * len, without
 * the NUL) or LB_ERR_TOO_LARGE if cap < 2 * len + 1 (out then untouched).
 */
int hex_encode(const uint8_t *in, size_t len, char *out, size_t cap);

/* Parse an EUI-64 of exactly 16 hex characters, MSB first. Returns LB_OK,
 * LB_ERR_SIZE_MISMATCH or LB_ERR_MALFORMED; *out untouched on error. */
int hex_parse_u64_eui(const char *s, uint64_t *out);

/* Parse a 32-bit value (DevAddr) of exactly 8 hex characters, MSB first.
 * Same returns as hex_parse_u64_eui(). */
int hex_parse_u32(const char *s, uint32_t *out);

/* Format an EUI-64 as 16 lowercase hex characters + NUL. */
void hex_format_eui(uint64_t eui, char out[17]);

/* Format a 32-bit value (DevAddr) as 8 lowercase hex characters + NUL. */
void hex_format_u32(uint32_t v, char out[9]);

#endif
