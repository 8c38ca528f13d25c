/* SPDX-License-Identifier: MIT */
/*
 * test_prom_text.c - the Prometheus text format 0.0.4 writer: HELP/TYPE
 * lines, labels, escaping of HELP text and label values, float spelling,
 * name checks and buffer overflow.
 */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/lb_err.h"
#include "events/prom_text.h"
#include "testutil.h"

START_TEST(t_family_and_samples)
{
	char out[512];
	struct prom_buf b;
	size_t len;

	prom_init(&b, out, sizeof(out));
	prom_family(&b, "lb_drops_total", "counter", "Drops, by reason.");
	prom_u64(&b, "lb_drops_total", "reason", "MIC", 3);
	prom_u64(&b, "lb_drops_total", NULL, NULL, 18446744073709551615ull);
	ck_assert_int_eq(prom_finish(&b, &len), LB_OK);
	ck_assert_str_eq(out, "# HELP lb_drops_total Drops, by reason.\n"
			      "# TYPE lb_drops_total counter\n"
			      "lb_drops_total{reason=\"MIC\"} 3\n"
			      "lb_drops_total 18446744073709551615\n");
	ck_assert_uint_eq(len, strlen(out));
}
END_TEST

START_TEST(t_escaping)
{
	char out[512];
	struct prom_buf b;
	size_t len;

	prom_init(&b, out, sizeof(out));
	prom_family(&b, "x", "gauge", "a \\ b\nc \"q\"");
	prom_double(&b, "x", "name", "we\"b\\\nhook", 1.5);
	ck_assert_int_eq(prom_finish(&b, &len), LB_OK);
	/* HELP: backslash and newline escaped, quotes kept; label: all three */
	ck_assert_str_eq(out, "# HELP x a \\\\ b\\nc \"q\"\n# TYPE x gauge\n"
			      "x{name=\"we\\\"b\\\\\\nhook\"} 1.5\n");
}
END_TEST

START_TEST(t_floats)
{
	char out[256];
	struct prom_buf b;
	size_t len;

	prom_init(&b, out, sizeof(out));
	prom_double(&b, "a", NULL, NULL, NAN);
	prom_double(&b, "a", NULL, NULL, INFINITY);
	prom_double(&b, "a", NULL, NULL, -INFINITY);
	prom_double(&b, "a", NULL, NULL, 0.1);
	prom_double(&b, "a", NULL, NULL, 12);
	prom_double(&b, "a", NULL, NULL, 0.1 + 0.2);   /* needs 17 digits to come back */
	ck_assert_int_eq(prom_finish(&b, &len), LB_OK);
	ck_assert_str_eq(out, "a NaN\na +Inf\na -Inf\na 0.1\na 12\na 0.30000000000000004\n");
}
END_TEST

START_TEST(t_bad_names)
{
	char out[256];
	struct prom_buf b;
	size_t len;

	prom_init(&b, out, sizeof(out));
	prom_family(&b, "9lives", "gauge", "x");
	ck_assert_int_eq(prom_finish(&b, &len), LB_ERR_INVAL);
	prom_init(&b, out, sizeof(out));
	prom_u64(&b, "ok", "bad-label", "v", 1);
	ck_assert_int_eq(prom_finish(&b, &len), LB_ERR_INVAL);
	prom_init(&b, out, sizeof(out));
	prom_u64(&b, "has space", NULL, NULL, 1);
	ck_assert_int_eq(prom_finish(&b, &len), LB_ERR_INVAL);
}
END_TEST

START_TEST(t_overflow)
{
	char out[16];
	struct prom_buf b;
	size_t len;

	prom_init(&b, out, sizeof(out));
	prom_u64(&b, "abcdefgh", NULL, NULL, 1);    /* 11 bytes: fits */
	ck_assert_int_eq(prom_finish(&b, &len), LB_OK);
	prom_u64(&b, "abcdefgh", NULL, NULL, 1);    /* 22: does not */
	ck_assert_int_eq(prom_finish(&b, &len), LB_ERR_TOO_LARGE);
	ck_assert_uint_lt(strlen(out), sizeof(out));
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("prom_text");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, t_family_and_samples);
	tcase_add_test(tc, t_escaping);
	tcase_add_test(tc, t_floats);
	tcase_add_test(tc, t_bad_names);
	tcase_add_test(tc, t_overflow);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return testutil_run(suite());
}
