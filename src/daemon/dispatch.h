/*
 * dispatch.h - one handler per GWMP message family (PUSH_DATA, PULL_DATA,
 * TX_ACK), chosen by one switch; errors become counters and rate-limited log
 * lines in one place. Semtech UDP rules followed (semtech-udp.md §1, §9):
 * answer with the gateway's version and token to the datagram's source;
 * PUSH_DATA is acknowledged once its JSON parses (a well-formed datagram),
 * before its frames are processed; PULL_DATA's source address is the
 * gateway's downlink route.
 */
#ifndef LB_DISPATCH_H
#define LB_DISPATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "daemon/bridge.h"
#include "io/udp.h"

/* The udp_drain callback: arg is the struct bridge. */
void dispatch_datagram(void *arg, const uint8_t *buf, size_t len, bool truncated,
		       const struct udp_peer *from);

/* Publish the retained gateway/{id}/state/conn message. */
void dispatch_publish_gateway_state(struct bridge *b, uint64_t eui, bool online);

#endif
