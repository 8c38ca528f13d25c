/* SPDX-License-Identifier: MIT */
/* netaddr.c - IP addresses and networks as values. See netaddr.h. */
#include "base/netaddr.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/lb_err.h"

#define V4_MAPPED_BITS 96
#define FNV32_OFFSET 2166136261u     /* FNV-1a, 32-bit (Fowler, Noll, Vo) */
#define FNV32_PRIME 16777619u

/* ::ffff:0:0/96, the IPv4-mapped prefix (RFC 4291 §2.5.5.2). */
static const uint8_t v4_mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

static void from_v4(const void *in4, struct netaddr *out)
{
	memcpy(out->b, v4_mapped, sizeof(v4_mapped));
	memcpy(out->b + 12, in4, 4);
}

int netaddr_from_sockaddr(const struct sockaddr *sa, socklen_t len, struct netaddr *out)
{
	if (!sa || !out)
		return LB_ERR_INVAL;
	if (sa->sa_family == AF_INET && (size_t)len >= sizeof(struct sockaddr_in)) {
		from_v4(&((const struct sockaddr_in *)(const void *)sa)->sin_addr, out);
		return LB_OK;
	}
	if (sa->sa_family == AF_INET6 && (size_t)len >= sizeof(struct sockaddr_in6)) {
		memcpy(out->b, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, 16);
		return LB_OK;
	}
	return LB_ERR_INVAL;
}

static int port_of(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET)
		return ntohs(((const struct sockaddr_in *)(const void *)sa)->sin_port);
	return ntohs(((const struct sockaddr_in6 *)(const void *)sa)->sin6_port);
}

bool netaddr_same_endpoint(const struct sockaddr *a, socklen_t alen, const struct sockaddr *b,
			   socklen_t blen)
{
	struct netaddr x, y;

	if (netaddr_from_sockaddr(a, alen, &x) != LB_OK ||
	    netaddr_from_sockaddr(b, blen, &y) != LB_OK)
		return false;
	return netaddr_equal(&x, &y) && port_of(a) == port_of(b);
}

int netaddr_parse(const char *s, struct netaddr *out)
{
	uint8_t buf[16];

	if (!s || !out)
		return LB_ERR_INVAL;
	if (inet_pton(AF_INET, s, buf) == 1) {
		from_v4(buf, out);
		return LB_OK;
	}
	if (inet_pton(AF_INET6, s, buf) == 1) {
		memcpy(out->b, buf, 16);
		return LB_OK;
	}
	return LB_ERR_MALFORMED;
}

bool netaddr_equal(const struct netaddr *a, const struct netaddr *b)
{
	return memcmp(a->b, b->b, sizeof(a->b)) == 0;
}

bool netaddr_is_v4(const struct netaddr *a)
{
	return memcmp(a->b, v4_mapped, sizeof(v4_mapped)) == 0;
}

bool netaddr_is_loopback(const struct netaddr *a)
{
	static const uint8_t v6_loopback[16] = {[15] = 1};

	if (netaddr_is_v4(a))
		return a->b[12] == 127;
	return memcmp(a->b, v6_loopback, sizeof(v6_loopback)) == 0;
}

bool netaddr_text_is_loopback(const char *s)
{
	struct netaddr a;

	return netaddr_parse(s, &a) == LB_OK && netaddr_is_loopback(&a);
}

void netaddr_group(const struct netaddr *a, struct netaddr *out)
{
	*out = *a;
	if (!netaddr_is_v4(a))
		memset(out->b + 8, 0, 8);
}

uint32_t netaddr_hash(const struct netaddr *a)
{
	uint32_t h = FNV32_OFFSET;

	for (size_t i = 0; i < sizeof(a->b); i++)
		h = (h ^ a->b[i]) * FNV32_PRIME;
	return h;
}

void netaddr_format(const struct netaddr *a, char *out, size_t cap)
{
	char buf[INET6_ADDRSTRLEN];
	bool v4 = netaddr_is_v4(a);

	if (!cap)
		return;
	if (!inet_ntop(v4 ? AF_INET : AF_INET6, v4 ? a->b + 12 : a->b, buf, sizeof(buf)))
		snprintf(buf, sizeof(buf), "?");
	snprintf(out, cap, "%s", buf);
}

/* Bits of a beyond the first `bits` are all zero. */
static bool host_bits_clear(const struct netaddr *a, unsigned bits)
{
	for (unsigned i = 0; i < 16; i++) {
		unsigned keep = bits >= 8 * (i + 1) ? 8 : bits > 8 * i ? bits - 8 * i : 0;
		uint8_t mask = (uint8_t)(0xffu >> keep);
		if (a->b[i] & mask)
			return false;
	}
	return true;
}

/* The decimal prefix after '/': 0..999, no sign, no spaces. */
static int parse_bits(const char *s, unsigned *out)
{
	size_t n = strlen(s);

	if (n == 0 || n > 3 || strspn(s, "0123456789") != n)
		return LB_ERR_MALFORMED;
	*out = (unsigned)strtoul(s, NULL, 10);
	return LB_OK;
}

int netprefix_parse(const char *s, struct netprefix *out)
{
	char host[NETADDR_STRLEN];
	struct netaddr a;
	unsigned bits;

	if (!s || !out)
		return LB_ERR_INVAL;
	const char *slash = strchr(s, '/');
	size_t hlen = slash ? (size_t)(slash - s) : strlen(s);
	if (hlen == 0 || hlen >= sizeof(host))
		return LB_ERR_MALFORMED;
	memcpy(host, s, hlen);
	host[hlen] = '\0';
	if (netaddr_parse(host, &a) != LB_OK)
		return LB_ERR_MALFORMED;
	/* The family is the text's: "::ffff:10.0.0.0/104" is an IPv6 prefix. */
	uint8_t v4buf[4];
	unsigned max = inet_pton(AF_INET, host, v4buf) == 1 ? 32 : 128;
	if (!slash)
		bits = max;
	else if (parse_bits(slash + 1, &bits) != LB_OK)
		return LB_ERR_MALFORMED;
	if (bits > max)
		return LB_ERR_RANGE;
	unsigned total = bits + (max == 32 ? V4_MAPPED_BITS : 0);
	if (!host_bits_clear(&a, total))
		return LB_ERR_STATE;
	out->addr = a;
	out->bits = (uint8_t)total;
	return LB_OK;
}

bool netprefix_contains(const struct netprefix *n, const struct netaddr *a)
{
	unsigned full = n->bits / 8, rest = n->bits % 8;

	if (memcmp(n->addr.b, a->b, full) != 0)
		return false;
	if (rest == 0)
		return true;
	uint8_t mask = (uint8_t)(0xffu << (8 - rest));
	return (n->addr.b[full] & mask) == (a->b[full] & mask);
}

void netprefix_format(const struct netprefix *n, char *out, size_t cap)
{
	char a[NETADDR_STRLEN];
	bool v4 = netaddr_is_v4(&n->addr) && n->bits >= V4_MAPPED_BITS;
	unsigned bits = v4 ? n->bits - V4_MAPPED_BITS : n->bits;

	if (!cap)
		return;
	netaddr_format(&n->addr, a, sizeof(a));
	if (bits == (v4 ? 32u : 128u))
		snprintf(out, cap, "%s", a);
	else
		snprintf(out, cap, "%s/%u", a, bits);
}
