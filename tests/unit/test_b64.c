/* SPDX-License-Identifier: MIT */
/*
 * test_b64.c - base64 against RFC 4648 §10 vectors, the payloads of the
 * example GWMP datagrams of test_gwmp.c,
 * and the strictness rules of b64.h.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "base/b64.h"
#include "base/lb_err.h"

static const struct {
	const char *raw;
	const char *enc;
} rfc4648[] = {
	{"", ""},         {"f", "Zg=="},         {"fo", "Zm8="},         {"foo", "Zm9v"},
	{"foob", "Zm9vYg=="}, {"fooba", "Zm9vYmE="}, {"foobar", "Zm9vYmFy"},
};
#define N_RFC (sizeof(rfc4648) / sizeof(rfc4648[0]))

static int dec(const char *s, uint8_t *out, size_t cap, size_t *n)
{
	return b64_decode(s, strlen(s), out, cap, n);
}

START_TEST(t_encode_rfc4648)
{
	char out[16];

	for (size_t i = 0; i < N_RFC; i++) {
		size_t len = strlen(rfc4648[i].raw);

		ck_assert_uint_eq(b64_encode((const uint8_t *)rfc4648[i].raw, len, out, sizeof(out)),
				  strlen(rfc4648[i].enc));
		ck_assert_str_eq(out, rfc4648[i].enc);
		ck_assert_uint_eq(B64_ENCODED_LEN(len), strlen(rfc4648[i].enc));
	}
}
END_TEST

START_TEST(t_decode_rfc4648)
{
	uint8_t out[16];
	size_t n;

	for (size_t i = 0; i < N_RFC; i++) {
		ck_assert_int_eq(dec(rfc4648[i].enc, out, sizeof(out), &n), LB_OK);
		ck_assert_uint_eq(n, strlen(rfc4648[i].raw));
		ck_assert_mem_eq(out, rfc4648[i].raw, n);
	}
}
END_TEST

/* Padding is optional (txpk data, Semtech PROTOCOL.TXT §6). */
START_TEST(t_decode_unpadded)
{
	static const char *const unpadded[] = {"", "Zg", "Zm8", "Zm9v", "Zm9vYg", "Zm9vYmE",
					       "Zm9vYmFy"};
	uint8_t out[16];
	size_t n;

	for (size_t i = 0; i < N_RFC; i++) {
		ck_assert_int_eq(dec(unpadded[i], out, sizeof(out), &n), LB_OK);
		ck_assert_uint_eq(n, strlen(rfc4648[i].raw));
		ck_assert_mem_eq(out, rfc4648[i].raw, n);
	}
}
END_TEST

/* The join-request and join-accept payloads of test_gwmp.c's PUSH_DATA and
 * PULL_RESP (chirpstack/chirpstack lrwn/src/phy_payload.rs vectors). */
START_TEST(t_gwmp_payloads)
{
	static const uint8_t jr[23] = {0x00, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01,
				       0x01, 0x02, 0x02, 0x02, 0x02, 0x02, 0x02, 0x02,
				       0x02, 0x03, 0x03, 0x09, 0xb9, 0x7b, 0x32};
	static const uint8_t ja[17] = {0x20, 0x23, 0xcf, 0x33, 0x54, 0x89, 0xaa, 0xe3, 0x18,
				       0x3c, 0x0b, 0xe0, 0xba, 0xa8, 0xde, 0xe5, 0xf3};
	uint8_t out[32];
	char txt[64];
	size_t n;

	ck_assert_int_eq(dec("AAEBAQEBAQEBAgICAgICAgIDAwm5ezI=", out, sizeof(out), &n), LB_OK);
	ck_assert_uint_eq(n, 23);
	ck_assert_mem_eq(out, jr, 23);
	ck_assert_int_eq(dec("ICPPM1SJquMYPAvguqje5fM=", out, sizeof(out), &n), LB_OK);
	ck_assert_uint_eq(n, 17);
	ck_assert_mem_eq(out, ja, 17);
	ck_assert_uint_eq(b64_encode(ja, sizeof(ja), txt, sizeof(txt)), 24);
	ck_assert_str_eq(txt, "ICPPM1SJquMYPAvguqje5fM=");
}
END_TEST

START_TEST(t_decode_invalid)
{
	static const char *const bad[] = {
		"Z",         /* 1 mod 4 */
		"Zm9vY",     /* 1 mod 4 */
		"Zg=",       /* partial padding */
		"Zg===",     /* too much padding */
		"Z===",      /* three pad characters */
		"====",      /* padding only */
		"Zm=v",      /* '=' inside */
		"Zg==Zg==",  /* padding before the end */
		"Zm9vYmFy=", /* padding on a complete quad */
		"Zm9v=",
		" Zg==",     /* whitespace (EVP_DecodeBlock would skip it) */
		"Zg== ",
		"Zm9v\nYmFy",
		"Zm9v-_8A",  /* URL-safe alphabet */
		"Zm9v!A==",
		"Zm\x80v",
	};
	uint8_t out[16];
	size_t n = 99;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_msg(dec(bad[i], out, sizeof(out), &n) == LB_ERR_BASE64, "case %zu", i);
		ck_assert_uint_eq(n, 0);
	}
	/* an embedded NUL is not the end of the text */
	ck_assert_int_eq(b64_decode("Zm8=\0AAA", 8, out, sizeof(out), &n), LB_ERR_BASE64);
	ck_assert_int_eq(b64_decode("Zm9v\0\0\0\0", 8, out, sizeof(out), &n), LB_ERR_BASE64);
	/* in_len bounds the text: the rest is not read */
	ck_assert_int_eq(b64_decode("Zm9v!!!!", 4, out, sizeof(out), &n), LB_OK);
	ck_assert_uint_eq(n, 3);
}
END_TEST

/* Never writes past cap, even though EVP_DecodeBlock writes whole quads. */
START_TEST(t_decode_cap)
{
	uint8_t out[8];
	size_t n;

	memset(out, 0xAA, sizeof(out));
	ck_assert_int_eq(dec("Zm9vYmFy", out, 5, &n), LB_ERR_TOO_LARGE);
	ck_assert_uint_eq(n, 0);
	ck_assert_uint_eq(out[0], 0xAA);
	ck_assert_int_eq(dec("Zm9vYmFy", out, 6, &n), LB_OK);
	ck_assert_uint_eq(n, 6);
	ck_assert_uint_eq(out[6], 0xAA);
	memset(out, 0xAA, sizeof(out));
	ck_assert_int_eq(dec("Zm9vYg==", out, 4, &n), LB_OK);
	ck_assert_mem_eq(out, "foob", 4);
	ck_assert_uint_eq(out[4], 0xAA);
	ck_assert_int_eq(dec("Zm9vYmE", out, 5, &n), LB_OK);
	ck_assert_mem_eq(out, "fooba", 5);
	ck_assert_uint_eq(out[5], 0xAA);
	ck_assert_int_eq(dec("Zm9vYmE", out, 4, &n), LB_ERR_TOO_LARGE);
	ck_assert_int_eq(dec("", NULL, 0, &n), LB_OK);
	ck_assert_uint_eq(n, 0);
}
END_TEST

/* Padded text decoded in one call (room for the whole last quad) and
 * through the scratch quad (no room) gives the same bytes, also where the
 * last character has bits the padding drops. */
START_TEST(t_decode_padded_one_call)
{
	static const char *const txt[] = {"Zm9vYh==", "Zm9vYmF=", "Zm9vYmG=", "AP//", "Zg==",
					  "Zh==", "/+8="};
	for (size_t i = 0; i < sizeof(txt) / sizeof(txt[0]); i++) {
		uint8_t a[16], b[16];
		size_t na = 99, nb = 98, len = strlen(txt[i]);
		memset(a, 0xAA, sizeof(a));
		memset(b, 0xAA, sizeof(b));
		ck_assert_int_eq(b64_decode(txt[i], len, a, sizeof(a), &na), LB_OK);
		size_t exact = len / 4 * 3 - (txt[i][len - 1] == '=') - (txt[i][len - 2] == '=');
		ck_assert_int_eq(b64_decode(txt[i], len, b, exact, &nb), LB_OK);
		ck_assert_uint_eq(na, exact);
		ck_assert_uint_eq(nb, exact);
		ck_assert_mem_eq(a, b, exact);
		ck_assert_uint_eq(b[exact], 0xAA);
	}
}
END_TEST

START_TEST(t_encode_cap)
{
	char out[9];

	memset(out, 'x', sizeof(out));
	ck_assert_uint_eq(b64_encode((const uint8_t *)"foobar", 6, out, 8), 0);
	ck_assert_uint_eq(out[0], '\0');
	ck_assert_uint_eq(out[1], 'x');
	ck_assert_uint_eq(b64_encode((const uint8_t *)"foobar", 6, out, 9), 8);
	ck_assert_str_eq(out, "Zm9vYmFy");
	ck_assert_uint_eq(b64_encode((const uint8_t *)"f", 1, out, 0), 0);
}
END_TEST

/* Every length a LoRa PHYPayload can have, padded and unpadded. */
START_TEST(t_roundtrip_lengths)
{
	uint8_t raw[255], back[255];
	char txt[B64_ENCODED_LEN(255) + 1];
	uint32_t x = 12345;
	size_t n;

	for (size_t i = 0; i < sizeof(raw); i++) {
		x = x * 1103515245u + 12345u;
		raw[i] = (uint8_t)(x >> 16);
	}
	for (size_t len = 0; len <= sizeof(raw); len++) {
		size_t tl = b64_encode(raw, len, txt, sizeof(txt));

		ck_assert_uint_eq(tl, B64_ENCODED_LEN(len));
		ck_assert_int_eq(b64_decode(txt, tl, back, len, &n), LB_OK);
		ck_assert_uint_eq(n, len);
		ck_assert_mem_eq(back, raw, len);
		/* room for the last quad's three bytes: padded text in one call */
		ck_assert_int_eq(b64_decode(txt, tl, back, sizeof(back), &n), LB_OK);
		ck_assert_uint_eq(n, len);
		ck_assert_mem_eq(back, raw, len);
		while (tl > 0 && txt[tl - 1] == '=')
			tl--;
		ck_assert_int_eq(b64_decode(txt, tl, back, len, &n), LB_OK);
		ck_assert_uint_eq(n, len);
		ck_assert_mem_eq(back, raw, len);
		if (len > 0)
			ck_assert_int_eq(b64_decode(txt, tl, back, len - 1, &n), LB_ERR_TOO_LARGE);
	}
}
END_TEST

static Suite *b64_suite(void)
{
	Suite *s = suite_create("b64");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, t_encode_rfc4648);
	tcase_add_test(tc, t_decode_rfc4648);
	tcase_add_test(tc, t_decode_unpadded);
	tcase_add_test(tc, t_gwmp_payloads);
	tcase_add_test(tc, t_decode_invalid);
	tcase_add_test(tc, t_decode_cap);
	tcase_add_test(tc, t_decode_padded_one_call);
	tcase_add_test(tc, t_encode_cap);
	tcase_add_test(tc, t_roundtrip_lengths);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(b64_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
