/* SPDX-License-Identifier: MIT */
/*
 * test_dynlib.c - io/dynlib.h: libcurl and libmicrohttpd are not mapped
 * before their first use (the test program links neither), then every
 * function of each table is resolved, the table is loaded once, and calls
 * through it reach the library configure checked.
 */
#include <check.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/dynlib.h"
#include "testutil.h"

/* Whether this process has a file mapped whose name contains `name`. */
static bool mapped(const char *name)
{
	FILE *f = fopen("/proc/self/maps", "r");
	char line[512];
	bool found = false;

	ck_assert_ptr_nonnull(f);
	while (!found && fgets(line, sizeof(line), f))
		found = strstr(line, name) != NULL;
	fclose(f);
	return found;
}

#define CHECK_MEMBER(member, symbol) \
	ck_assert_msg(t->member != NULL, "%s not resolved", #symbol);

START_TEST(test_curl)
{
	ck_assert(!mapped("libcurl.so"));
	const struct dynlib_curl *t = dynlib_curl();
	ck_assert_ptr_nonnull(t);
	ck_assert(mapped("libcurl.so"));
	DYNLIB_CURL_FUNCS(CHECK_MEMBER)
	ck_assert_ptr_eq(dynlib_curl(), t);
	/* The library answers, and is at least the version configure required. */
	const curl_version_info_data *v = t->version_info(CURLVERSION_NOW);
	ck_assert_ptr_nonnull(v);
	ck_assert_uint_ge(v->version_num, 0x074400);
	ck_assert_str_eq(t->easy_strerror(CURLE_OK), "No error");
}
END_TEST

START_TEST(test_mhd)
{
	ck_assert(!mapped("libmicrohttpd.so"));
	const struct dynlib_mhd *t = dynlib_mhd();
	ck_assert_ptr_nonnull(t);
	ck_assert(mapped("libmicrohttpd.so"));
	DYNLIB_MHD_FUNCS(CHECK_MEMBER)
	ck_assert_ptr_eq(dynlib_mhd(), t);
	/* A response built and freed through the table. */
	struct MHD_Response *r = t->create_response_from_buffer(2, (void *)"ok",
								 MHD_RESPMEM_MUST_COPY);
	ck_assert_ptr_nonnull(r);
	ck_assert_int_eq(t->add_response_header(r, "X-Test", "1"), MHD_YES);
	t->destroy_response(r);
}
END_TEST

static Suite *dynlib_suite(void)
{
	Suite *s = suite_create("dynlib");
	TCase *tc = tcase_create("core");
	/* CK_FORK (the default) runs each test in a fresh child of a process
	 * that has loaded neither library. */
	tcase_add_test(tc, test_curl);
	tcase_add_test(tc, test_mhd);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return testutil_run(dynlib_suite());
}
