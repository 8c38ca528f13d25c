/* SPDX-License-Identifier: MIT */
/* uuid.c - RFC 4122 UUID text and version-5 UUIDs. See uuid.h. */
#include "base/uuid.h"

#include <stdbool.h>

#include <openssl/evp.h>

#include "base/hex.h"
#include "base/lb_err.h"

/*
 *   0        4    6    8    10           16  bytes
 *   xxxxxxxx-xxxx-Vxxx-Nxxx-xxxxxxxxxxxx     text (hyphens at 8, 13, 18, 23)
 *   V: version (byte 6 high nibble), N: variant (byte 8 high bits)
 */
#define OFF_VERSION 6
#define OFF_VARIANT 8
#define UUID_VERSION_5 0x50
#define UUID_VARIANT_RFC4122 0x80
#define SHA1_LEN 20

const uint8_t uuid_ns_url[UUID_LEN] = {0x6b, 0xa7, 0xb8, 0x11, 0x9d, 0xad, 0x11, 0xd1,
				       0x80, 0xb4, 0x00, 0xc0, 0x4f, 0xd4, 0x30, 0xc8};

static bool hyphen_at(size_t i)
{
	return i == 8 || i == 13 || i == 18 || i == 23;
}

void uuid_format(const uint8_t id[UUID_LEN], char out[UUID_STR_LEN + 1])
{
	static const char hexd[] = "0123456789abcdef";
	/* the bytes followed by a hyphen: 8-4-4-4-12 digits (RFC 4122 §3) */
	static const unsigned hyphen_after = 1u << 3 | 1u << 5 | 1u << 7 | 1u << 9;
	char *p = out;

	for (size_t i = 0; i < UUID_LEN; i++) {
		p[0] = hexd[id[i] >> 4];
		p[1] = hexd[id[i] & 0x0f];
		p += 2;
		if (hyphen_after >> i & 1)
			*p++ = '-';
	}
	*p = '\0';
}

int uuid_parse(const char *s, size_t len, uint8_t out[UUID_LEN])
{
	size_t b = 0;

	if (!s || len != UUID_STR_LEN)
		return LB_ERR_MALFORMED;
	for (size_t i = 0; i < UUID_STR_LEN;) {
		if (hyphen_at(i)) {
			if (s[i] != '-')
				return LB_ERR_MALFORMED;
			i++;
			continue;
		}
		int hi = hex_digit_value(s[i]), lo = hex_digit_value(s[i + 1]);
		if (hi < 0 || lo < 0 || hyphen_at(i + 1))
			return LB_ERR_MALFORMED;
		if (out)
			out[b] = (uint8_t)(hi << 4 | lo);
		b++;
		i += 2;
	}
	return LB_OK;
}

int uuid_v5(const uint8_t ns[UUID_LEN], const char *name, size_t len, uint8_t out[UUID_LEN])
{
	uint8_t md[EVP_MAX_MD_SIZE];
	unsigned int md_len = 0;
	int ok;

	if (!ns || (!name && len) || !out)
		return LB_ERR_INVAL;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	if (!ctx)
		return LB_ERR_CRYPTO;
	ok = EVP_DigestInit_ex(ctx, EVP_sha1(), NULL) == 1 &&
	     EVP_DigestUpdate(ctx, ns, UUID_LEN) == 1 &&
	     (len == 0 || EVP_DigestUpdate(ctx, name, len) == 1) &&
	     EVP_DigestFinal_ex(ctx, md, &md_len) == 1 && md_len == SHA1_LEN;
	EVP_MD_CTX_free(ctx);
	if (!ok)
		return LB_ERR_CRYPTO;
	for (size_t i = 0; i < UUID_LEN; i++)
		out[i] = md[i];
	out[OFF_VERSION] = (uint8_t)((out[OFF_VERSION] & 0x0f) | UUID_VERSION_5);
	out[OFF_VARIANT] = (uint8_t)((out[OFF_VARIANT] & 0x3f) | UUID_VARIANT_RFC4122);
	return LB_OK;
}
