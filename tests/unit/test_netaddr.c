/* SPDX-License-Identifier: MIT */
/* test_netaddr.c - IP addresses and networks: parsing, matching, formatting. */
#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "base/lb_err.h"
#include "base/netaddr.h"

static struct netaddr addr(const char *s)
{
	struct netaddr a;
	ck_assert_int_eq(netaddr_parse(s, &a), LB_OK);
	return a;
}

static struct netprefix net(const char *s)
{
	struct netprefix n;
	ck_assert_msg(netprefix_parse(s, &n) == LB_OK, "%s does not parse", s);
	return n;
}

START_TEST(test_sockaddr_v4_v6_mapped)
{
	struct sockaddr_in in4 = {.sin_family = AF_INET, .sin_port = htons(1700)};
	struct sockaddr_in6 in6 = {.sin6_family = AF_INET6, .sin6_port = htons(1701)};
	struct netaddr a, b;
	char s[NETADDR_STRLEN];

	inet_pton(AF_INET, "192.168.1.7", &in4.sin_addr);
	ck_assert_int_eq(netaddr_from_sockaddr((struct sockaddr *)&in4, sizeof(in4), &a), LB_OK);
	ck_assert(netaddr_is_v4(&a));
	netaddr_format(&a, s, sizeof(s));
	ck_assert_str_eq(s, "192.168.1.7");
	/* The same source through a dual-stack socket: equal, port ignored. */
	inet_pton(AF_INET6, "::ffff:192.168.1.7", &in6.sin6_addr);
	ck_assert_int_eq(netaddr_from_sockaddr((struct sockaddr *)&in6, sizeof(in6), &b), LB_OK);
	ck_assert(netaddr_equal(&a, &b));
	ck_assert_uint_eq(netaddr_hash(&a), netaddr_hash(&b));
	inet_pton(AF_INET6, "2001:db8::7", &in6.sin6_addr);
	ck_assert_int_eq(netaddr_from_sockaddr((struct sockaddr *)&in6, sizeof(in6), &b), LB_OK);
	ck_assert(!netaddr_is_v4(&b));
	ck_assert(!netaddr_equal(&a, &b));
	netaddr_format(&b, s, sizeof(s));
	ck_assert_str_eq(s, "2001:db8::7");
	/* Bad input. */
	ck_assert_int_eq(netaddr_from_sockaddr((struct sockaddr *)&in4, sizeof(in4) - 1, &a),
			 LB_ERR_INVAL);
	in4.sin_family = AF_UNIX;
	ck_assert_int_eq(netaddr_from_sockaddr((struct sockaddr *)&in4, sizeof(in4), &a),
			 LB_ERR_INVAL);
	ck_assert_int_eq(netaddr_from_sockaddr(NULL, 16, &a), LB_ERR_INVAL);
	ck_assert_int_eq(netaddr_parse("localhost", &a), LB_ERR_MALFORMED);
	ck_assert_int_eq(netaddr_parse(NULL, &a), LB_ERR_INVAL);
}
END_TEST

START_TEST(test_prefix_parse)
{
	struct netprefix n;
	char s[NETADDR_STRLEN];

	n = net("192.168.1.0/24");
	ck_assert_uint_eq(n.bits, 96 + 24);
	netprefix_format(&n, s, sizeof(s));
	ck_assert_str_eq(s, "192.168.1.0/24");
	n = net("10.1.2.3");                 /* a host */
	ck_assert_uint_eq(n.bits, 128);
	netprefix_format(&n, s, sizeof(s));
	ck_assert_str_eq(s, "10.1.2.3");
	n = net("0.0.0.0/0");
	ck_assert_uint_eq(n.bits, 96);
	n = net("2001:db8::/32");
	ck_assert_uint_eq(n.bits, 32);
	netprefix_format(&n, s, sizeof(s));
	ck_assert_str_eq(s, "2001:db8::/32");
	n = net("fe80::1");
	ck_assert_uint_eq(n.bits, 128);
	n = net("::/0");
	ck_assert_uint_eq(n.bits, 0);

	ck_assert_int_eq(netprefix_parse("192.168.1.0/33", &n), LB_ERR_RANGE);
	ck_assert_int_eq(netprefix_parse("2001:db8::/129", &n), LB_ERR_RANGE);
	ck_assert_int_eq(netprefix_parse("192.168.1.7/24", &n), LB_ERR_STATE);
	ck_assert_int_eq(netprefix_parse("2001:db8::1/64", &n), LB_ERR_STATE);
	ck_assert_int_eq(netprefix_parse("192.168.1.0/", &n), LB_ERR_MALFORMED);
	ck_assert_int_eq(netprefix_parse("192.168.1.0/-1", &n), LB_ERR_MALFORMED);
	ck_assert_int_eq(netprefix_parse("192.168.1.0/2 4", &n), LB_ERR_MALFORMED);
	ck_assert_int_eq(netprefix_parse("192.168.1/24", &n), LB_ERR_MALFORMED);
	ck_assert_int_eq(netprefix_parse("/24", &n), LB_ERR_MALFORMED);
	ck_assert_int_eq(netprefix_parse("", &n), LB_ERR_MALFORMED);
	ck_assert_int_eq(netprefix_parse("gateway.lan", &n), LB_ERR_MALFORMED);
	ck_assert_int_eq(netprefix_parse(NULL, &n), LB_ERR_INVAL);
}
END_TEST

START_TEST(test_prefix_contains)
{
	struct netprefix lan = net("192.168.1.0/24");
	struct netprefix odd = net("10.0.0.0/9");
	struct netprefix v6 = net("2001:db8:0:100::/56");
	struct netprefix all4 = net("0.0.0.0/0");
	struct netprefix all = net("::/0");
	struct netaddr a;

	a = addr("192.168.1.200");
	ck_assert(netprefix_contains(&lan, &a));
	ck_assert(netprefix_contains(&all4, &a));
	ck_assert(netprefix_contains(&all, &a));
	a = addr("192.168.2.1");
	ck_assert(!netprefix_contains(&lan, &a));
	a = addr("10.127.255.255");
	ck_assert(netprefix_contains(&odd, &a));
	a = addr("10.128.0.0");
	ck_assert(!netprefix_contains(&odd, &a));
	a = addr("2001:db8:0:1ff::9");
	ck_assert(netprefix_contains(&v6, &a));
	ck_assert(!netprefix_contains(&all4, &a));
	ck_assert(netprefix_contains(&all, &a));
	a = addr("2001:db8:0:200::9");
	ck_assert(!netprefix_contains(&v6, &a));
	/* A host entry matches only itself. */
	struct netprefix host = net("127.0.0.1");
	a = addr("127.0.0.1");
	ck_assert(netprefix_contains(&host, &a));
	a = addr("127.0.0.2");
	ck_assert(!netprefix_contains(&host, &a));
}
END_TEST

START_TEST(test_err_name)
{
	ck_assert_str_eq(lb_errname(LB_ERR_ADDRESS_MISMATCH), "ADDRESS_MISMATCH");
	ck_assert_str_eq(lb_errname(-LB_ERR__COUNT), "UNKNOWN");
	ck_assert_str_ne(lb_strerror(LB_ERR_ADDRESS_MISMATCH), "unknown error");
}
END_TEST

int main(void)
{
	Suite *s = suite_create("netaddr");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, test_sockaddr_v4_v6_mapped);
	tcase_add_test(tc, test_prefix_parse);
	tcase_add_test(tc, test_prefix_contains);
	tcase_add_test(tc, test_err_name);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
