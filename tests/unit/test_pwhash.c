/* SPDX-License-Identifier: MIT */
/*
 * test_pwhash.c - http.password hashes: PBKDF2-HMAC-SHA256 (RFC 8018
 * §5.2) against a value computed independently (Python's
 * hashlib.pbkdf2_hmac("sha256", b"password", b"salt", 1000)), the text
 * form round trip, verification, and the parser's refusals.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "base/lb_err.h"
#include "base/pwhash.h"
#include "testutil.h"

#define VECTOR "pbkdf2-sha256$1000$c2FsdA==$YywoEuRtRgQQK6dhjp1tfS+BKPYma0oDJk0qBGC33LM="

START_TEST(t_known_vector)
{
	char out[PWHASH_TEXT_MAX];

	ck_assert_int_eq(pwhash_make_salted("password", 8, 1000, (const uint8_t *)"salt", 4, out,
					    sizeof(out)), LB_OK);
	ck_assert_str_eq(out, VECTOR);
}
END_TEST

START_TEST(t_verify)
{
	struct pwhash h;

	ck_assert_int_eq(pwhash_parse(VECTOR, &h), LB_OK);
	ck_assert_uint_eq(h.iter, 1000);
	ck_assert_uint_eq(h.salt_len, 4);
	ck_assert(pwhash_verify(&h, "password", 8));
	ck_assert(!pwhash_verify(&h, "passwore", 8));
	ck_assert(!pwhash_verify(&h, "password", 7));
	ck_assert(!pwhash_verify(&h, "", 0));
}
END_TEST

START_TEST(t_make_random_salt)
{
	char a[PWHASH_TEXT_MAX], b[PWHASH_TEXT_MAX];
	struct pwhash h;

	ck_assert_int_eq(pwhash_make("s3cret", 6, PWHASH_MIN_ITER, a, sizeof(a)), LB_OK);
	ck_assert_int_eq(pwhash_make("s3cret", 6, PWHASH_MIN_ITER, b, sizeof(b)), LB_OK);
	ck_assert_str_ne(a, b);            /* fresh salt each time */
	ck_assert_int_eq(pwhash_parse(a, &h), LB_OK);
	ck_assert_uint_eq(h.salt_len, PWHASH_SALT_LEN);
	ck_assert(pwhash_verify(&h, "s3cret", 6));
	ck_assert(!pwhash_verify(&h, "s3cre", 5));
}
END_TEST

START_TEST(t_parse_refusals)
{
	static const char *const bad[] = {
		"",
		"s3cret",
		"pbkdf2-sha1$1000$c2FsdA==$YywoEuRtRgQQK6dhjp1tfS+BKPYma0oDJk0qBGC33LM=",
		"pbkdf2-sha256$999$c2FsdA==$YywoEuRtRgQQK6dhjp1tfS+BKPYma0oDJk0qBGC33LM=",
		"pbkdf2-sha256$10000001$c2FsdA==$YywoEuRtRgQQK6dhjp1tfS+BKPYma0oDJk0qBGC33LM=",
		"pbkdf2-sha256$1000001$c2FsdA==$YywoEuRtRgQQK6dhjp1tfS+BKPYma0oDJk0qBGC33LM=",
		"pbkdf2-sha256$1e3$c2FsdA==$YywoEuRtRgQQK6dhjp1tfS+BKPYma0oDJk0qBGC33LM=",
		"pbkdf2-sha256$1000$$YywoEuRtRgQQK6dhjp1tfS+BKPYma0oDJk0qBGC33LM=",
		"pbkdf2-sha256$1000$c2FsdA==$YywoEuRtRgQQK6dhjp1tfS+BKPYma0oDJk0qBGC33A==",
		"pbkdf2-sha256$1000$c2FsdA==$!!!",
		"pbkdf2-sha256$1000$c2FsdA==",
		VECTOR "$extra",
	};
	struct pwhash h;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(pwhash_parse(bad[i], &h) == LB_ERR_MALFORMED, "accepted: %s", bad[i]);
	ck_assert_int_eq(pwhash_parse(NULL, &h), LB_ERR_INVAL);
}
END_TEST

START_TEST(t_make_limits)
{
	char out[PWHASH_TEXT_MAX];
	static char longpw[PWHASH_PASSWORD_MAX + 2];

	ck_assert_int_eq(pwhash_make("x", 1, PWHASH_MIN_ITER - 1, out, sizeof(out)), LB_ERR_INVAL);
	memset(longpw, 'a', sizeof(longpw) - 1);
	ck_assert_int_eq(pwhash_make(longpw, sizeof(longpw) - 1, PWHASH_MIN_ITER, out, sizeof(out)),
			 LB_ERR_INVAL);
	ck_assert_int_eq(pwhash_make("x", 1, PWHASH_MIN_ITER, out, 20), LB_ERR_TOO_LARGE);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("pwhash");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, t_known_vector);
	tcase_add_test(tc, t_verify);
	tcase_add_test(tc, t_make_random_salt);
	tcase_add_test(tc, t_parse_refusals);
	tcase_add_test(tc, t_make_limits);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return testutil_run(suite());
}
