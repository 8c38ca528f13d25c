/* SPDX-License-Identifier: MIT */
/*
 * b64.c - strict base64 over OpenSSL EVP_EncodeBlock / EVP_DecodeBlock.
 *
 * EVP_DecodeBlock alone is too lenient for network input: it skips leading
 * and trailing whitespace, decodes '=' anywhere as zero bits and reports
 * 3 bytes per quad, padding included. So the text is validated here first,
 * the complete quads are decoded in place and the final partial quad (padded
 * or not) through a 4-character scratch quad, which yields the true length
 * and never writes past `cap`.
 */
#include "base/b64.h"

#include <limits.h>
#include <stdbool.h>
#include <string.h>

#include <openssl/evp.h>

#include "base/lb_err.h"

#define QUAD_CHARS 4
#define QUAD_BYTES 3
#define MAX_PAD 2

static bool is_b64_char(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '+' || c == '/';
}

size_t b64_encode(const uint8_t *in, size_t len, char *out, size_t cap)
{
	int n;

	if (cap > 0)
		out[0] = '\0';
	if (len > (size_t)INT_MAX / 2 || cap < B64_ENCODED_LEN(len) + 1)
		return 0;
	if (len == 0)
		return 0;
	n = EVP_EncodeBlock((unsigned char *)out, in, (int)len);
	return n < 0 ? 0 : (size_t)n;
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
	for (size_t i = 0; i < data; i++)
		if (!is_b64_char(in[i]))
			return -1;
	return (long)data;
}

static int decode_tail(const char *in, size_t rem, uint8_t *out)
{
	char quad[QUAD_CHARS] = {'=', '=', '=', '='};
	unsigned char bytes[QUAD_BYTES];

	memcpy(quad, in, rem);
	if (EVP_DecodeBlock(bytes, (const unsigned char *)quad, QUAD_CHARS) != QUAD_BYTES)
		return LB_ERR_BASE64;
	memcpy(out, bytes, rem - 1);
	return LB_OK;
}

int b64_decode(const char *in, size_t in_len, uint8_t *out, size_t cap, size_t *out_len)
{
	long data;
	size_t full, rem, total;

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
	if (full > 0 && EVP_DecodeBlock(out, (const unsigned char *)in,
					(int)(full * QUAD_CHARS)) != (int)(full * QUAD_BYTES))
		return LB_ERR_BASE64;
	if (rem > 0 && decode_tail(in + full * QUAD_CHARS, rem, out + full * QUAD_BYTES) != LB_OK)
		return LB_ERR_BASE64;
	*out_len = total;
	return LB_OK;
}
