/* SPDX-License-Identifier: MIT */
/*
 * netaddr.h - IP addresses and networks as plain values: what a gateway's
 * identity is bound to, and the "ADDRESS" / "ADDRESS/PREFIX" part of a
 * pinned udp.allow entry.
 *
 * One representation for both families: an address is 16 bytes in network
 * order, an IPv4 address being stored as its IPv4-mapped IPv6 form
 * ::ffff:a.b.c.d (RFC 4291 §2.5.5.2). An IPv4 source seen by a dual-stack
 * socket bound to "::" is then equal to the same source seen by a socket
 * bound to "0.0.0.0", and an IPv4 network a.b.c.d/p is the mapped network
 * of prefix 96 + p. Ports are not part of an address (a packet forwarder's
 * two sockets have different ports, and both change when it restarts).
 *
 * Pure functions: no allocation, no I/O, no globals. Errors are lb_err
 * codes; nothing is written to an output on error.
 */
#ifndef LB_NETADDR_H
#define LB_NETADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define NETADDR_STRLEN 64            /* formatted address or network, with NUL */

struct netaddr {
	uint8_t b[16];                   /* IPv6, or ::ffff:a.b.c.d for IPv4 */
};

struct netprefix {
	struct netaddr addr;             /* host bits are zero */
	uint8_t bits;                    /* 0..128 (an IPv4 /p is 96 + p) */
};

/* The address of an AF_INET or AF_INET6 socket address (port ignored).
 * Errors: LB_ERR_INVAL (NULL, other family, len too short). */
int netaddr_from_sockaddr(const struct sockaddr *sa, socklen_t len, struct netaddr *out);

/* Parse a numeric IPv4 or IPv6 address. Errors: LB_ERR_INVAL (NULL),
 * LB_ERR_MALFORMED. */
int netaddr_parse(const char *s, struct netaddr *out);

bool netaddr_equal(const struct netaddr *a, const struct netaddr *b);
bool netaddr_is_v4(const struct netaddr *a);
/* A loopback address: 127.0.0.0/8 (RFC 1122 §3.2.1.3) or ::1 (RFC 4291
 * §2.5.3). */
bool netaddr_is_loopback(const struct netaddr *a);
/* The same for a numeric address as text; false if it is not one. */
bool netaddr_text_is_loopback(const char *s);

/*
 * The group a source address is limited as (addrlimit.h, the gateway
 * table's per-address cap): an IPv4 address (IPv4-mapped) is its own
 * group; an IPv6 address stands for its /64, the low 64 bits cleared. An
 * IPv6 subnet is a /64 (RFC 4291 §2.5.4: 64-bit interface identifiers), so
 * one host with SLAAC privacy addresses (RFC 8981) can send from any of
 * 2^64 of them. Identity (binding) stays on the full address.
 */
void netaddr_group(const struct netaddr *a, struct netaddr *out);

/* 32-bit hash of the address (FNV-1a), for hash tables. */
uint32_t netaddr_hash(const struct netaddr *a);

/* "192.168.1.7" or "2001:db8::7" into out (cap >= NETADDR_STRLEN is always
 * enough; shorter buffers get a truncated string). */
void netaddr_format(const struct netaddr *a, char *out, size_t cap);

/* True if a and b are the same address (an IPv4 one and its IPv4-mapped
 * IPv6 form are the same) and the same port. False for anything that is not
 * AF_INET or AF_INET6. */
bool netaddr_same_endpoint(const struct sockaddr *a, socklen_t alen, const struct sockaddr *b,
			   socklen_t blen);

/*
 * Parse "ADDRESS" (a single host: /32 or /128) or "ADDRESS/PREFIX" with a
 * decimal prefix of 0..32 (IPv4) or 0..128 (IPv6). Errors: LB_ERR_INVAL
 * (NULL), LB_ERR_MALFORMED (not an address, bad prefix text),
 * LB_ERR_RANGE (prefix too long for the family), LB_ERR_STATE (bits set
 * beyond the prefix, e.g. "192.168.1.7/24": a typo more often than not).
 */
int netprefix_parse(const char *s, struct netprefix *out);

/* True if a lies in the network n. */
bool netprefix_contains(const struct netprefix *n, const struct netaddr *a);

/* "192.168.1.0/24", or the bare address for a single host. */
void netprefix_format(const struct netprefix *n, char *out, size_t cap);

#endif
