/* SPDX-License-Identifier: MIT */
/*
 * url.h - the parts of an http:// or https:// URL (RFC 3986 §3:
 * scheme "://" authority path ["?" query] ["#" fragment]) that the bridge
 * needs to print one without its secrets and to tell whether its host is
 * an address or a name.
 *
 * Redaction: the userinfo ("user:pass@", §3.2.1) becomes "<redacted>@" and
 * each query value ("key=value", §3.4) becomes "key=<redacted>" (a query
 * item without "=" as a whole: it may be a bare key); the scheme, host,
 * port, path and fragment are kept as they are. A secret in the path is
 * therefore printed: such keys belong in a header or the query.
 *
 * Pure functions: no allocation, no I/O.
 */
#ifndef LB_URL_H
#define LB_URL_H

#include <stdbool.h>
#include <stddef.h>

#define URL_REDACTED "<redacted>"
/* The longest URL the bridge accepts in its configuration or builds. */
#define URL_MAX 2048
/* Room for any redacted URL of at most URL_MAX bytes (a one-byte query
 * item and its '&' become URL_REDACTED and its '&'). */
#define URL_SHOWN_MAX (URL_MAX * 6)

/* url with its credentials masked into out (cap > 0 bytes, always
 * terminated; cut short if it does not fit). Returns out, for printf. */
const char *url_redact(const char *url, char *out, size_t cap);

/* Whether the URL's host is an IPv4 address or a bracketed IPv6 literal
 * (§3.2.2): then nothing has to be resolved. */
bool url_host_is_address(const char *url);

#endif
