/* SPDX-License-Identifier: MIT */
/* hex.c - hexadecimal helpers. See hex.h. */
#include "base/hex.h"

#include <string.h>

#include "base/lb_err.h"

static const char hex_digits[] = "0123456789abcdef";

int hex_digit_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int hex_decode(const char *s, uint8_t *out, size_t out_len)
{
	if (strlen(s) != 2 * out_len)
		return LB_ERR_SIZE_MISMATCH;
	for (size_t i = 0; i < out_len; i++) {
		int hi = hex_digit_value(s[2 * i]);
		int lo = hex_digit_value(s[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return LB_ERR_MALFORMED;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return LB_OK;
}

int hex_encode(const uint8_t *in, size_t len, char *out, size_t cap)
{
	if (cap < 2 * len + 1)
		return LB_ERR_TOO_LARGE;
	for (size_t i = 0; i < len; i++) {
		out[2 * i] = hex_digits[in[i] >> 4];
		out[2 * i + 1] = hex_digits[in[i] & 0x0f];
	}
	out[2 * len] = '\0';
	return (int)(2 * len);
}

/* Big-endian accumulation of n bytes decoded from s. */
static int parse_be(const char *s, size_t n, uint64_t *out)
{
	uint8_t buf[8];
	int rc = hex_decode(s, buf, n);
	if (rc != LB_OK)
		return rc;
	uint64_t v = 0;
	for (size_t i = 0; i < n; i++)
		v = v << 8 | buf[i];
	*out = v;
	return LB_OK;
}

int hex_parse_u64_eui(const char *s, uint64_t *out)
{
	return parse_be(s, 8, out);
}

int hex_parse_u32(const char *s, uint32_t *out)
{
	uint64_t v;
	int rc = parse_be(s, 4, &v);
	if (rc == LB_OK)
		*out = (uint32_t)v;
	return rc;
}

/* "00" .. "ff": the two digits of each byte value. */
static const char hex_pairs[513] =
	"000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
	"202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f"
	"404142434445464748494a4b4c4d4e4f505152535455565758595a5b5c5d5e5f"
	"606162636465666768696a6b6c6d6e6f707172737475767778797a7b7c7d7e7f"
	"808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f"
	"a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf"
	"c0c1c2c3c4c5c6c7c8c9cacbcccdcecfd0d1d2d3d4d5d6d7d8d9dadbdcdddedf"
	"e0e1e2e3e4e5e6e7e8e9eaebecedeeeff0f1f2f3f4f5f6f7f8f9fafbfcfdfeff";

/* The low n bytes of v, most significant first: a byte at a time from the last. */
static void format_be(uint64_t v, size_t n, char *out)
{
	out[2 * n] = '\0';
	for (size_t i = n; i > 0; i--) {
		memcpy(out + 2 * (i - 1), hex_pairs + 2 * (v & 0xff), 2);
		v >>= 8;
	}
}

void hex_format_eui(uint64_t eui, char out[17])
{
	format_be(eui, 8, out);
}

void hex_format_u32(uint32_t v, char out[9])
{
	format_be(v, 4, out);
}
