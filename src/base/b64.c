/* SPDX-License-Identifier: MIT */
/*
 * b64.c - strict base64 (RFC 4648 §4), table-driven.
 *
 * The text is validated first (alphabet, padding, length), so nothing is
 * written for an invalid one, and the length known before a byte is
 * written, so nothing goes past `cap`; then each quad of characters is
 * four table look-ups and three bytes, the final partial quad (padded or
 * not) one or two bytes. The unused low bits of a partial quad are
 * ignored, as OpenSSL's EVP_DecodeBlock ignores them (test_b64.c holds the
 * two to the same results).
 */
#include "base/b64.h"

#include <limits.h>
#include <stdbool.h>
#include <string.h>

#include "base/lb_err.h"

#define QUAD_CHARS 4
#define QUAD_BYTES 3
#define MAX_PAD 2
#define XX 0xff                 /* not in the alphabet */

static const char alphabet[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* The 6-bit value of each byte of the alphabet, XX for any other byte. */
static const uint8_t value_of[256] = {
	XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX,
	XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX,
	XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, 62, XX, XX, XX, 63,
	52, 53, 54, 55, 56, 57, 58, 59, 60, 61, XX, XX, XX, XX, XX, XX,
	XX,  0,  1,  2,  3,  4,  5,  6,  7,  8,  9, 10, 11, 12, 13, 14,
	15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, XX, XX, XX, XX, XX,
	XX, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40,
	41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51, XX, XX, XX, XX, XX,
	XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX,
	XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX,
	XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX,
	XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX,
	XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX,
	XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX,
	XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX,
	XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX,
};

size_t b64_encode(const uint8_t *in, size_t len, char *out, size_t cap)
{
	size_t i = 0, n = 0;

	if (cap > 0)
		out[0] = '\0';
	if (len > (size_t)INT_MAX / 2 || cap < B64_ENCODED_LEN(len) + 1)
		return 0;
	for (; len - i >= QUAD_BYTES; i += QUAD_BYTES, n += QUAD_CHARS) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
		out[n] = alphabet[v >> 18];
		out[n + 1] = alphabet[(v >> 12) & 0x3f];
		out[n + 2] = alphabet[(v >> 6) & 0x3f];
		out[n + 3] = alphabet[v & 0x3f];
	}
	if (i < len) {                      /* one or two bytes left: padded */
		uint32_t v = (uint32_t)in[i] << 16 | (len - i == 2 ? (uint32_t)in[i + 1] << 8 : 0);
		out[n] = alphabet[v >> 18];
		out[n + 1] = alphabet[(v >> 12) & 0x3f];
		out[n + 2] = len - i == 2 ? alphabet[(v >> 6) & 0x3f] : '=';
		out[n + 3] = '=';
		n += QUAD_CHARS;
	}
	out[n] = '\0';
	return n;
}

/* Number of data characters (padding excluded), or -1 if the text is not
 * strict base64 with optional padding. */
static long b64_data_chars(const char *in, size_t in_len)
{
	size_t pad = 0;
	size_t data;

	while (pad < in_len && in[in_len - 1 - pad] == '=')
		pad++;
	if (pad > MAX_PAD || (pad > 0 && in_len % QUAD_CHARS != 0))
		return -1;
	data = in_len - pad;
	if (data % QUAD_CHARS == 1 || (pad > 0 && data % QUAD_CHARS == 0))
		return -1;
	/* valid values are below 64, XX has bit 6: one test for the whole text */
	unsigned bad = 0;
	for (size_t i = 0; i < data; i++)
		bad |= value_of[(unsigned char)in[i]];
	return bad & 0x40 ? -1 : (long)data;
}

/* The 24 bits of k (2 or 3) valid characters, left-aligned. */
static uint32_t quad_bits(const char *in, size_t k)
{
	uint32_t v = 0;

	for (size_t i = 0; i < QUAD_CHARS; i++)
		v = v << 6 | (i < k ? value_of[(unsigned char)in[i]] : 0);
	return v;
}

int b64_decode(const char *in, size_t in_len, uint8_t *out, size_t cap, size_t *out_len)
{
	long data;
	size_t full, rem, total, i;

	*out_len = 0;
	if (in_len > (size_t)INT_MAX)
		return LB_ERR_TOO_LARGE;
	data = b64_data_chars(in, in_len);
	if (data < 0)
		return LB_ERR_BASE64;
	full = (size_t)data / QUAD_CHARS;
	rem = (size_t)data % QUAD_CHARS; /* 0, 2 or 3 characters: 0, 1 or 2 bytes */
	total = full * QUAD_BYTES + (rem > 0 ? rem - 1 : 0);
	if (total > cap)
		return LB_ERR_TOO_LARGE;
	for (i = 0; i < full; i++) {
		const unsigned char *q = (const unsigned char *)in + i * QUAD_CHARS;
		uint32_t v = (uint32_t)value_of[q[0]] << 18 | (uint32_t)value_of[q[1]] << 12 |
			     (uint32_t)value_of[q[2]] << 6 | value_of[q[3]];
		out[i * QUAD_BYTES] = (uint8_t)(v >> 16);
		out[i * QUAD_BYTES + 1] = (uint8_t)(v >> 8);
		out[i * QUAD_BYTES + 2] = (uint8_t)v;
	}
	if (rem > 0) {
		uint32_t v = quad_bits(in + full * QUAD_CHARS, rem);
		out[full * QUAD_BYTES] = (uint8_t)(v >> 16);
		if (rem == 3)
			out[full * QUAD_BYTES + 1] = (uint8_t)(v >> 8);
	}
	*out_len = total;
	return LB_OK;
}
