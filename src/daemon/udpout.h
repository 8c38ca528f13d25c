/* SPDX-License-Identifier: MIT */
/*
 * udpout.h - how the daemon's handlers send a datagram (PUSH_ACK,
 * PULL_ACK, PULL_RESP) without knowing the socket: bridge.c points it at
 * the real UDP socket (io/udp.h), a unit test at a recorder.
 * send returns LB_OK or an lb_err code (the implementation logs why).
 */
#ifndef LB_UDPOUT_H
#define LB_UDPOUT_H

#include <stddef.h>

#include "io/udp.h"

struct udpout {
	int (*send)(void *arg, const void *buf, size_t len, const struct udp_peer *to);
	void *arg;
};

static inline int udpout_send(const struct udpout *o, const void *buf, size_t len,
			      const struct udp_peer *to)
{
	return o->send(o->arg, buf, len, to);
}

#endif
