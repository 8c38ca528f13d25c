/* SPDX-License-Identifier: MIT */
/*
 * b64.c - strict base64 over OpenSSL EVP_EncodeBlock / EVP_DecodeBlock.
 *
 * EVP_DecodeBlock alone is too lenient for network input: it skips leading
 * and trailing whitespace, decodes '=' anywhere as zero bits and reports
 * 3 bytes per quad, padding included. So the text is validated here first
 * and the true length computed from it; padded text is then decoded in one
 * call when its last quad's three bytes fit in `cap`, otherwise the complete
 * quads in place and the final partial quad (padded or not) through a
 * 4-character scratch quad, so nothing is written past `cap`.
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

/* The characters of RFC 4648 §4's alphabet: one look-up per character. */
static const bool b64_alphabet[256] = {
	['A'] = 1, ['B'] = 1, ['C'] = 1, ['D'] = 1, ['E'] = 1, ['F'] = 1, ['G'] = 1, ['H'] = 1,
	['I'] = 1, ['J'] = 1, ['K'] = 1, ['L'] = 1, ['M'] = 1, ['N'] = 1, ['O'] = 1, ['P'] = 1,
	['Q'] = 1, ['R'] = 1, ['S'] = 1, ['T'] = 1, ['U'] = 1, ['V'] = 1, ['W'] = 1, ['X'] = 1,
	['Y'] = 1, ['Z'] = 1, ['a'] = 1, ['b'] = 1, ['c'] = 1, ['d'] = 1, ['e'] = 1, ['f'] = 1,
	['g'] = 1, ['h'] = 1, ['i'] = 1, ['j'] = 1, ['k'] = 1, ['l'] = 1, ['m'] = 1, ['n'] = 1,
	['o'] = 1, ['p'] = 1, ['q'] = 1, ['r'] = 1, ['s'] = 1, ['t'] = 1, ['u'] = 1, ['v'] = 1,
	['w'] = 1, ['x'] = 1, ['y'] = 1, ['z'] = 1, ['0'] = 1, ['1'] = 1, ['2'] = 1, ['3'] = 1,
	['4'] = 1, ['5'] = 1, ['6'] = 1, ['7'] = 1, ['8'] = 1, ['9'] = 1, ['+'] = 1, ['/'] = 1,
};

/* Every one of in[0..n) in the alphabet: four to a loop turn. */
static bool all_b64(const char *in, size_t n)
{
#define OK(i) b64_alphabet[(unsigned char)in[i]]
	size_t i = 0;
	for (; n - i >= 4; i += 4)
		if (!(OK(i) & OK(i + 1) & OK(i + 2) & OK(i + 3)))
			return false;
	for (; i < n; i++)
		if (!OK(i))
			return false;
	return true;
#undef OK
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
	return all_b64(in, data) ? (long)data : -1;
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
	/* Padded text with room for its last quad's three bytes: one call
	 * decodes it all, the padding as the zero bits decode_tail() gives it
	 * (the bytes written beyond total are within cap). */
	size_t quads = full + (rem > 0);
	if (rem > 0 && in_len == quads * QUAD_CHARS && quads * QUAD_BYTES <= cap) {
		if (EVP_DecodeBlock(out, (const unsigned char *)in, (int)in_len) !=
		    (int)(quads * QUAD_BYTES))
			return LB_ERR_BASE64;
		*out_len = total;
		return LB_OK;
	}
	if (full > 0 && EVP_DecodeBlock(out, (const unsigned char *)in,
					(int)(full * QUAD_CHARS)) != (int)(full * QUAD_BYTES))
		return LB_ERR_BASE64;
	if (rem > 0 && decode_tail(in + full * QUAD_CHARS, rem, out + full * QUAD_BYTES) != LB_OK)
		return LB_ERR_BASE64;
	*out_len = total;
	return LB_OK;
}
