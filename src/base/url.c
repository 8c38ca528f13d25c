/* SPDX-License-Identifier: MIT */
/* url.c - redacting URLs and telling addresses from names. See url.h. */
#include "base/url.h"

#include <arpa/inet.h>
#include <string.h>

struct out {
	char *p;
	size_t cap, n;
};

static void put(struct out *o, const char *s, size_t len)
{
	for (size_t i = 0; i < len && o->n + 1 < o->cap; i++)
		o->p[o->n++] = s[i];
	o->p[o->n] = '\0';
}

/* The authority: from after "://" to the first of "/?#" (RFC 3986 §3.2);
 * *host: where its host starts, after the userinfo's '@' if there is one. */
static const char *authority(const char *url, size_t *len, const char **host)
{
	const char *a = strstr(url, "://");
	a = a ? a + 3 : url;
	*len = strcspn(a, "/?#");
	*host = a;
	for (const char *p = a; p < a + *len; p++)
		if (*p == '@')
			*host = p + 1;
	return a;
}

/* "k=v&k2=v2": every value redacted; an item without '=' as a whole. */
static void redact_query(struct out *o, const char *q, size_t len)
{
	const char *end = q + len;
	while (q < end) {
		const char *amp = memchr(q, '&', (size_t)(end - q));
		const char *item_end = amp ? amp : end;
		const char *eq = memchr(q, '=', (size_t)(item_end - q));
		if (eq)
			put(o, q, (size_t)(eq - q) + 1);
		if (item_end > (eq ? eq + 1 : q))
			put(o, URL_REDACTED, strlen(URL_REDACTED));
		if (!amp)
			break;
		put(o, "&", 1);
		q = amp + 1;
	}
}

const char *url_redact(const char *url, char *out, size_t cap)
{
	struct out o = {out, cap, 0};
	size_t alen;
	const char *host, *a = authority(url, &alen, &host);
	const char *rest = a + alen;

	out[0] = '\0';
	put(&o, url, (size_t)(a - url));
	if (host != a)
		put(&o, URL_REDACTED "@", strlen(URL_REDACTED) + 1);
	put(&o, host, (size_t)(rest - host));
	size_t path = strcspn(rest, "?#");
	put(&o, rest, path);
	rest += path;
	if (*rest == '?') {
		size_t qlen = strcspn(rest + 1, "#");
		put(&o, "?", 1);
		redact_query(&o, rest + 1, qlen);
		rest += 1 + qlen;
	}
	put(&o, rest, strlen(rest));
	return out;
}

bool url_host_is_address(const char *url)
{
	size_t alen;
	const char *h, *a = authority(url, &alen, &h);
	char host[64];
	unsigned char buf[16];

	alen -= (size_t)(h - a);
	a = h;
	if (alen > 0 && a[0] == '[') {
		const char *close = memchr(a, ']', alen);
		size_t hlen = close ? (size_t)(close - a - 1) : 0;
		if (!close || hlen == 0 || hlen >= sizeof(host))
			return false;
		memcpy(host, a + 1, hlen);
		host[hlen] = '\0';
		return inet_pton(AF_INET6, host, buf) == 1;
	}
	size_t hlen = strcspn(a, ":/?#");
	if (hlen > alen)
		hlen = alen;
	if (hlen == 0 || hlen >= sizeof(host))
		return false;
	memcpy(host, a, hlen);
	host[hlen] = '\0';
	return inet_pton(AF_INET, host, buf) == 1;
}
