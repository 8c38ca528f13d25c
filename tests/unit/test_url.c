/* SPDX-License-Identifier: MIT */
/* test_url.c - unit tests of url.c: credentials masked, hosts told apart. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "base/url.h"
#include "testutil.h"

static void redacts(const char *url, const char *want)
{
	char out[256];
	ck_assert_str_eq(url_redact(url, out, sizeof(out)), want);
}

START_TEST(test_redact)
{
	redacts("https://example.net/lorawan", "https://example.net/lorawan");
	redacts("https://user:pa%40ss@example.net:8443/x",
		"https://<redacted>@example.net:8443/x");
	redacts("http://u@h/", "http://<redacted>@h/");
	redacts("https://h/p/{dev_eui}?token=s3cret&event=up",
		"https://h/p/{dev_eui}?token=<redacted>&event=<redacted>");
	redacts("http://h/?bare&k=&x=1#frag", "http://h/?<redacted>&k=&x=<redacted>#frag");
	/* '@' in the path or query is not userinfo */
	redacts("http://h/a@b?m=c@d", "http://h/a@b?m=<redacted>");
	redacts("http://a:b@[::1]:80?q=1", "http://<redacted>@[::1]:80?q=<redacted>");
}
END_TEST

START_TEST(test_redact_cut)
{
	char out[16];
	url_redact("http://user:pass@example.net/", out, sizeof(out));
	ck_assert_str_eq(out, "http://<redacte");
	char one[1];
	ck_assert_str_eq(url_redact("http://h/", one, 1), "");
}
END_TEST

START_TEST(test_host_is_address)
{
	ck_assert(url_host_is_address("http://127.0.0.1:8086"));
	ck_assert(url_host_is_address("https://u:p@192.0.2.1/x?y"));
	ck_assert(url_host_is_address("http://[::1]:8086/"));
	ck_assert(url_host_is_address("http://[2001:db8::1]"));
	ck_assert(!url_host_is_address("http://localhost:8086"));
	ck_assert(!url_host_is_address("https://industrial.api.ubidots.com/api"));
	ck_assert(!url_host_is_address("http://1.2.3.4.example/"));
	ck_assert(!url_host_is_address("http://[::1/"));
	ck_assert(!url_host_is_address("http:///x"));
}
END_TEST

static Suite *url_suite(void)
{
	Suite *s = suite_create("url");
	TCase *tc = tcase_create("url");
	tcase_add_test(tc, test_redact);
	tcase_add_test(tc, test_redact_cut);
	tcase_add_test(tc, test_host_is_address);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return testutil_run(url_suite());
}
