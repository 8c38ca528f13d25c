/* SPDX-License-Identifier: MIT */
/* pwhash.c - salted PBKDF2-HMAC-SHA256 password hashes. See pwhash.h. */
#include "base/pwhash.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "base/b64.h"
#include "base/lb_err.h"

static int derive(const char *password, size_t len, uint32_t iter, const uint8_t *salt,
		  size_t salt_len, uint8_t out[PWHASH_HASH_LEN])
{
	if (len > PWHASH_PASSWORD_MAX)
		return LB_ERR_INVAL;
	if (PKCS5_PBKDF2_HMAC(password, (int)len, salt, (int)salt_len, (int)iter, EVP_sha256(),
			      PWHASH_HASH_LEN, out) != 1)
		return LB_ERR_CRYPTO;
	return LB_OK;
}

/* The next '$'-separated field of *p, or NULL when there is none. */
static const char *field(const char **p, size_t *len)
{
	if (!*p)
		return NULL;
	const char *start = *p;
	const char *end = strchr(start, '$');
	*len = end ? (size_t)(end - start) : strlen(start);
	*p = end ? end + 1 : NULL;
	return start;
}

static int parse_iter(const char *s, size_t len, uint32_t *out)
{
	uint64_t v = 0;

	if (len == 0 || len > 8)
		return LB_ERR_MALFORMED;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return LB_ERR_MALFORMED;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	if (v < PWHASH_MIN_ITER || v > PWHASH_MAX_ITER)
		return LB_ERR_MALFORMED;
	*out = (uint32_t)v;
	return LB_OK;
}

int pwhash_parse(const char *text, struct pwhash *out)
{
	struct pwhash h = {0};
	const char *p = text, *f;
	size_t len, n;

	if (!text || !out)
		return LB_ERR_INVAL;
	f = field(&p, &len);
	if (!f || len != strlen(PWHASH_SCHEME) || memcmp(f, PWHASH_SCHEME, len) != 0)
		return LB_ERR_MALFORMED;
	if (!(f = field(&p, &len)) || parse_iter(f, len, &h.iter) != LB_OK)
		return LB_ERR_MALFORMED;
	if (!(f = field(&p, &len)) || b64_decode(f, len, h.salt, sizeof(h.salt), &n) != LB_OK ||
	    n == 0)
		return LB_ERR_MALFORMED;
	h.salt_len = n;
	uint8_t hash[PWHASH_HASH_LEN + 3];
	if (!(f = field(&p, &len)) || p || b64_decode(f, len, hash, sizeof(hash), &n) != LB_OK ||
	    n != PWHASH_HASH_LEN)
		return LB_ERR_MALFORMED;
	memcpy(h.hash, hash, PWHASH_HASH_LEN);
	*out = h;
	return LB_OK;
}

int pwhash_make_salted(const char *password, size_t len, uint32_t iter, const uint8_t *salt,
		       size_t salt_len, char *out, size_t cap)
{
	uint8_t hash[PWHASH_HASH_LEN];
	char salt_b64[B64_ENCODED_LEN(PWHASH_MAX_SALT) + 1];
	char hash_b64[B64_ENCODED_LEN(PWHASH_HASH_LEN) + 1];

	if (!password || !out || iter < PWHASH_MIN_ITER || iter > PWHASH_MAX_ITER ||
	    salt_len == 0 || salt_len > PWHASH_MAX_SALT)
		return LB_ERR_INVAL;
	int rc = derive(password, len, iter, salt, salt_len, hash);
	if (rc != LB_OK)
		return rc;
	b64_encode(salt, salt_len, salt_b64, sizeof(salt_b64));
	b64_encode(hash, sizeof(hash), hash_b64, sizeof(hash_b64));
	int n = snprintf(out, cap, "%s$%u$%s$%s", PWHASH_SCHEME, (unsigned)iter, salt_b64, hash_b64);
	OPENSSL_cleanse(hash, sizeof(hash));
	if (n < 0 || (size_t)n >= cap)
		return LB_ERR_TOO_LARGE;
	return LB_OK;
}

int pwhash_make(const char *password, size_t len, uint32_t iter, char *out, size_t cap)
{
	uint8_t salt[PWHASH_SALT_LEN];

	if (RAND_bytes(salt, sizeof(salt)) != 1)
		return LB_ERR_CRYPTO;
	return pwhash_make_salted(password, len, iter, salt, sizeof(salt), out, cap);
}

bool pwhash_verify(const struct pwhash *h, const char *password, size_t len)
{
	uint8_t got[PWHASH_HASH_LEN];

	if (!h || !password || derive(password, len, h->iter, h->salt, h->salt_len, got) != LB_OK)
		return false;
	bool same = CRYPTO_memcmp(got, h->hash, sizeof(got)) == 0;
	OPENSSL_cleanse(got, sizeof(got));
	return same;
}
