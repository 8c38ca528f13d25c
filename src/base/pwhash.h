/* SPDX-License-Identifier: MIT */
/*
 * pwhash.h - the web API's password, stored as a salted, slow hash
 * (PBKDF2-HMAC-SHA256, RFC 8018 §5.2), never in clear text:
 *
 *   pbkdf2-sha256$ITERATIONS$SALT$HASH
 *
 * SALT and HASH in padded base64 (RFC 4648 §4); ITERATIONS in decimal,
 * PWHASH_MIN_ITER..PWHASH_MAX_ITER. `lorabridge passwd` makes one with a
 * random 16-byte salt and PWHASH_DEFAULT_ITER iterations.
 *
 * Pure apart from the salt's randomness (pwhash_make()): no I/O, no
 * logging. Errors: lb_err codes.
 */
#ifndef LB_PWHASH_H
#define LB_PWHASH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PWHASH_SCHEME "pbkdf2-sha256"
#define PWHASH_SALT_LEN 16
#define PWHASH_HASH_LEN 32                /* SHA-256 */
#define PWHASH_MAX_SALT 64
#define PWHASH_MIN_ITER 1000
#define PWHASH_MAX_ITER 1000000
/* A check runs on the event loop: 100 000 iterations cost about 20-40 ms
 * on a desktop CPU, 100-250 ms on a small gateway's (hence the maximum).
 * The web API therefore remembers the password it last verified (web.h)
 * and allows other passwords' checks only at a slow rate. */
#define PWHASH_DEFAULT_ITER 100000
/* Length of the text form, NUL included, for any salt up to PWHASH_MAX_SALT. */
#define PWHASH_TEXT_MAX 192
#define PWHASH_PASSWORD_MAX 1024

struct pwhash {
	uint32_t iter;
	uint8_t salt[PWHASH_MAX_SALT];
	size_t salt_len;
	uint8_t hash[PWHASH_HASH_LEN];
};

/* Parse the text form. Errors: LB_ERR_INVAL (NULL), LB_ERR_MALFORMED
 * (another scheme, a field missing or not base64, iterations out of
 * range, a hash not 32 bytes, a salt empty or over PWHASH_MAX_SALT). */
int pwhash_parse(const char *text, struct pwhash *out);

/* Hash password with a fresh random salt into out (text form).
 * Errors: LB_ERR_INVAL (iter out of range, password too long),
 * LB_ERR_TOO_LARGE (cap), LB_ERR_CRYPTO (no random bytes, PBKDF2 failed). */
int pwhash_make(const char *password, size_t len, uint32_t iter, char *out, size_t cap);

/* Hash with a given salt (tests: known vectors). As pwhash_make(). */
int pwhash_make_salted(const char *password, size_t len, uint32_t iter, const uint8_t *salt,
		       size_t salt_len, char *out, size_t cap);

/* Does password match h? Compared in constant time (CRYPTO_memcmp).
 * false also when hashing fails or the password is over PWHASH_PASSWORD_MAX. */
bool pwhash_verify(const struct pwhash *h, const char *password, size_t len);

#endif
