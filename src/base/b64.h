/* SPDX-License-Identifier: MIT */
/*
 * b64.h - base64 (RFC 4648 §4, standard alphabet) on top of OpenSSL's
 * EVP_EncodeBlock / EVP_DecodeBlock.
 *
 * Used for the rxpk/txpk `data` field of the Semtech UDP protocol
 * (Semtech PROTOCOL.TXT §4, §6). Pure functions, no allocation: the caller owns
 * both buffers.
 *
 * Decoding is strict: only [A-Za-z0-9+/] and at most two trailing '='; no
 * whitespace, no '=' inside the text, no length that is 1 mod 4. Missing
 * padding is accepted (txpk `data` padding is optional, PROTOCOL.TXT §6).
 */
#ifndef LB_B64_H
#define LB_B64_H

#include <stddef.h>
#include <stdint.h>

/* Characters needed to encode n bytes, excluding the NUL. */
#define B64_ENCODED_LEN(n) ((((n) + 2) / 3) * 4)

/* Encode len bytes into out as padded base64 followed by a NUL.
 * Returns the number of characters written (excluding the NUL), or 0 if
 * cap < B64_ENCODED_LEN(len) + 1 (out is then left untouched unless
 * cap > 0, in which case out[0] is set to NUL). */
size_t b64_encode(const uint8_t *in, size_t len, char *out, size_t cap);

/* Decode in_len characters (need not be NUL-terminated) into out.
 * *out_len receives the true number of bytes (padding not counted).
 * Errors: LB_ERR_BASE64 (invalid text), LB_ERR_TOO_LARGE (more than cap
 * bytes; nothing beyond out[cap - 1] is ever written). */
int b64_decode(const char *in, size_t in_len, uint8_t *out, size_t cap, size_t *out_len);

#endif
