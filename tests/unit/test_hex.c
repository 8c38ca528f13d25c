/* SPDX-License-Identifier: MIT */
/* test_hex.c - unit tests of hex.c (decode/encode, EUI and DevAddr text). */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/hex.h"
#include "base/lb_err.h"

START_TEST(test_digit_value)
{
	ck_assert_int_eq(hex_digit_value('0'), 0);
	ck_assert_int_eq(hex_digit_value('9'), 9);
	ck_assert_int_eq(hex_digit_value('a'), 10);
	ck_assert_int_eq(hex_digit_value('F'), 15);
	ck_assert_int_eq(hex_digit_value('g'), -1);
	ck_assert_int_eq(hex_digit_value(' '), -1);
	ck_assert_int_eq(hex_digit_value('\0'), -1);
}
END_TEST

START_TEST(test_decode_ok)
{
	/* the RFC 4493 (AES-CMAC) example key, mixed case */
	const uint8_t want[16] = {0x2b, 0x7e, 0x15, 0x16, 0x28, 0xae, 0xd2, 0xa6,
				  0xab, 0xf7, 0x15, 0x88, 0x09, 0xcf, 0x4f, 0x3c};
	uint8_t out[16];
	ck_assert_int_eq(hex_decode("2B7E151628AED2A6abf7158809cf4f3c", out, 16), LB_OK);
	ck_assert_mem_eq(out, want, 16);
	ck_assert_int_eq(hex_decode("", out, 0), LB_OK);
}
END_TEST

START_TEST(test_decode_errors)
{
	uint8_t out[4];
	ck_assert_int_eq(hex_decode("0011223", out, 4), LB_ERR_SIZE_MISMATCH);
	ck_assert_int_eq(hex_decode("001122334", out, 4), LB_ERR_SIZE_MISMATCH);
	ck_assert_int_eq(hex_decode("0011223g", out, 4), LB_ERR_MALFORMED);
	ck_assert_int_eq(hex_decode("0x112233", out, 4), LB_ERR_MALFORMED);
	ck_assert_int_eq(hex_decode(" 0112233", out, 4), LB_ERR_MALFORMED);
}
END_TEST

START_TEST(test_encode)
{
	const uint8_t in[3] = {0x00, 0xAB, 0xff};
	char out[7];
	ck_assert_int_eq(hex_encode(in, 3, out, sizeof(out)), 6);
	ck_assert_str_eq(out, "00abff");
	memcpy(out, "XXXXXX", 7);
	ck_assert_int_eq(hex_encode(in, 3, out, 6), LB_ERR_TOO_LARGE);
	ck_assert_str_eq(out, "XXXXXX");
	ck_assert_int_eq(hex_encode(in, 0, out, 1), 0);
	ck_assert_str_eq(out, "");
}
END_TEST

START_TEST(test_eui)
{
	uint64_t eui = 1;
	char s[17];
	ck_assert_int_eq(hex_parse_u64_eui("0102030405060708", &eui), LB_OK);
	ck_assert_uint_eq(eui, 0x0102030405060708ULL);
	ck_assert_int_eq(hex_parse_u64_eui("FFFFFFFFFFFFFFFE", &eui), LB_OK);
	ck_assert_uint_eq(eui, 0xfffffffffffffffeULL);
	hex_format_eui(eui, s);
	ck_assert_str_eq(s, "fffffffffffffffe");
	hex_format_eui(0x00000000000000a1ULL, s);
	ck_assert_str_eq(s, "00000000000000a1");
	eui = 7;
	ck_assert_int_eq(hex_parse_u64_eui("010203040506070", &eui), LB_ERR_SIZE_MISMATCH);
	ck_assert_int_eq(hex_parse_u64_eui("01020304050607z8", &eui), LB_ERR_MALFORMED);
	ck_assert_uint_eq(eui, 7);
}
END_TEST

START_TEST(test_u32)
{
	uint32_t v = 5;
	char s[9];
	ck_assert_int_eq(hex_parse_u32("26011BDA", &v), LB_OK);
	ck_assert_uint_eq(v, 0x26011bdaU);
	hex_format_u32(v, s);
	ck_assert_str_eq(s, "26011bda");
	hex_format_u32(0, s);
	ck_assert_str_eq(s, "00000000");
	ck_assert_int_eq(hex_parse_u32("26011BD", &v), LB_ERR_SIZE_MISMATCH);
	ck_assert_int_eq(hex_parse_u32("26011BDA0", &v), LB_ERR_SIZE_MISMATCH);
	ck_assert_int_eq(hex_parse_u32("2601-BDA", &v), LB_ERR_MALFORMED);
	ck_assert_uint_eq(v, 0x26011bdaU);
}
END_TEST

/* Every byte value at every place of an EUI and a u32: as printf's %x. */
START_TEST(test_format_as_printf)
{
	char got[17], want[17];

	for (int place = 0; place < 8; place++) {
		for (unsigned b = 0; b < 256; b++) {
			uint64_t v = (uint64_t)b << (8 * place) | UINT64_C(0x0102030405060708);
			hex_format_eui(v, got);
			snprintf(want, sizeof(want), "%016llx", (unsigned long long)v);
			ck_assert_str_eq(got, want);
			hex_format_u32((uint32_t)v, got);
			snprintf(want, sizeof(want), "%08x", (unsigned)(uint32_t)v);
			ck_assert_str_eq(got, want);
		}
	}
}
END_TEST

static Suite *hex_suite(void)
{
	Suite *s = suite_create("hex");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, test_digit_value);
	tcase_add_test(tc, test_decode_ok);
	tcase_add_test(tc, test_decode_errors);
	tcase_add_test(tc, test_encode);
	tcase_add_test(tc, test_eui);
	tcase_add_test(tc, test_u32);
	tcase_add_test(tc, test_format_as_printf);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(hex_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
