/* SPDX-License-Identifier: MIT */
/*
 * sim_gateway.h - one simulated packet forwarder (Semtech PROTOCOL.TXT §3-§6).
 *
 * Like the Semtech forwarder, a gateway has two non-blocking UDP sockets
 * connected to the server, with different source ports:
 *
 *   upstream    PUSH_DATA (rxpk, stat)  ->   <- PUSH_ACK
 *   downstream  PULL_DATA (keepalive)   ->   <- PULL_ACK, PULL_RESP
 *
 * It checks that every PUSH_DATA/PULL_DATA is answered on the socket it
 * came from, with the same version and token, within the ACK timeout, and
 * reports `stat` objects (rxnb/rxfw/ackr/dwnb) over each interval.
 *
 * Downlinks: each PULL_RESP that parses is handed to the `on_downlink` hook
 * (may be NULL: every downlink is "sent"), which says whether the radio sent
 * it. Protocol 2 then answers with a TX_ACK on the downstream socket, same
 * token (PROTOCOL.TXT §5.5, §6): success is the bare 12-byte header, a refusal carries
 * {"txpk_ack":{"error":"CODE"}}. Protocol 1 has no TX_ACK. A PULL_RESP whose
 * JSON does not parse gets no TX_ACK (lora_pkt_fwd drops it the same way).
 *
 * No timers of its own: sim_gateway_tick() does what is due and reports the
 * next deadline; the caller's poll loop calls sim_gateway_read() when a
 * socket is readable. Time is CLOCK_MONOTONIC microseconds throughout.
 *
 * Ownership: the caller allocates struct sim_gateway and the shared struct
 * sim_stats; sim_gateway_open() allocates the ACK rings and opens the
 * sockets, sim_gateway_close() releases both (also after a failed open).
 */
#ifndef LB_SIM_GATEWAY_H
#define LB_SIM_GATEWAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "gwmp/gwmp.h"
#include "sim_acks.h"
#include "sim_fault.h"
#include "sim_stats.h"

#define SIM_GW_JUNK_TOKENS 16      /* tokens of recent malformed datagrams */
#define SIM_GW_READ_BUDGET 64      /* datagrams per socket per wake-up */
/* Outstanding datagrams per socket; beyond, the oldest counts as missing.
 * Push and pull share one token sequence, so their sum stays < 65536. */
#define SIM_GW_PUSH_OUTSTANDING 16384
#define SIM_GW_PULL_OUTSTANDING 64

struct sim_gateway;

/* Takes a framed PUSH_DATA that sim_gateway_push_rxpk would have sent
 * (--prebuild: sim_prebuild.h): the datagram, its token and its time on air.
 * Copies what it keeps. Returns LB_OK or an lb_err (LB_ERR_NOMEM). */
typedef int (*sim_capture_fn)(void *arg, const struct sim_gateway *gw, const uint8_t *dgram,
			      size_t len, uint16_t token, int64_t air_us);

/* Returns NULL if the radio sent tx, else the TX_ACK error code to answer. */
typedef const char *(*sim_downlink_fn)(void *arg, struct sim_gateway *gw, const uint8_t token[2],
				       const struct gwmp_txpk *tx, int64_t now_us);

struct sim_gateway_conf {
	unsigned idx;
	uint64_t eui;
	uint8_t version;            /* GWMP 1 or 2 */
	int64_t keepalive_us;       /* PULL_DATA period; 0 = none */
	int64_t stat_interval_us;   /* stat period; 0 = none */
	int64_t ack_timeout_us;
	uint64_t seed;              /* token sequence and concentrator clock origin */
};

/* Counters of the current stat interval (PROTOCOL.TXT §4). */
struct sim_gw_window {
	uint32_t rxnb;              /* packets "received" (= forwarded here, CRC always OK) */
	uint32_t dwnb;              /* PULL_RESP received */
	uint32_t txnb;              /* downlinks emitted (TX_ACK without error) */
	uint32_t up_sent;           /* PUSH_DATA sent, for ackr */
	uint32_t up_acked;
};

struct sim_gateway {
	struct sim_gateway_conf c;
	int fd_up;
	int fd_down;
	uint16_t token;             /* last token used */
	uint32_t tmst_origin;       /* concentrator counter at monotonic 0 */
	int64_t next_pull_us;
	int64_t next_stat_us;
	bool stopping;              /* no further PULL_DATA / stat */
	struct sim_acks push_acks;
	struct sim_acks pull_acks;
	uint16_t junk[SIM_GW_JUNK_TOKENS];
	size_t n_junk;
	struct sim_gw_window win;
	struct sim_stats *st;
	sim_downlink_fn on_downlink;
	void *downlink_arg;
	sim_capture_fn capture;     /* NULL: PUSH_DATA with rxpk are sent */
	void *capture_arg;
};

/* Open both sockets, connect them to srv and schedule the first PULL_DATA
 * now and the first stat one interval from now. Errors: LB_ERR_IO. */
int sim_gateway_open(struct sim_gateway *gw, const struct sim_gateway_conf *c,
		     const struct sockaddr *srv, socklen_t srv_len, struct sim_stats *st,
		     int64_t now_us);
void sim_gateway_close(struct sim_gateway *gw);

/* The stat's ackr (PROTOCOL.TXT §4: % of upstream datagrams acknowledged)
 * from a window's counts: an acknowledgement can arrive in the window after
 * its datagram's, so more can be acknowledged than were sent in a window;
 * the percentage stays within 0..100 all the same, as the bridge requires. */
double sim_gateway_ackr(uint32_t sent, uint32_t acked);

/* The gateway's 32-bit concentrator counter at monotonic time now_us. */
uint32_t sim_gateway_tmst(const struct sim_gateway *gw, int64_t now_us);

/* Send one PUSH_DATA with n rxpk (1..GWMP_MAX_RXPK); *sent tells whether
 * it left the host. With a `capture` hook it goes there instead, with the
 * next token, and *sent is true once the hook took it; no ACK is expected
 * and nothing is counted (the hook's owner sends and counts it). A transient send failure (EAGAIN, ECONNREFUSED,
 * ENOBUFS) is counted in send_errors and returns LB_OK with *sent false;
 * ECONNREFUSED also counts the earlier datagram it reports lost in refused.
 * Errors: LB_ERR_IO (fatal socket error), those of gwmp_format_push,
 * gwmp_build_up and the capture hook. */
int sim_gateway_push_rxpk(struct sim_gateway *gw, const struct gwmp_rxpk *rxpk, size_t n,
			  int64_t now_us, bool *sent);

/* Send malformed datagram `k` on the upstream socket. Errors: LB_ERR_IO. */
int sim_gateway_send_malformed(struct sim_gateway *gw, enum sim_malformed_kind k);

/* Send what is due (PULL_DATA, stat), expire ACKs; *next_us gets the next
 * deadline (unchanged if nothing pending). Errors: LB_ERR_IO. */
int sim_gateway_tick(struct sim_gateway *gw, int64_t now_us, int64_t *next_us);

/* Drain up to SIM_GW_READ_BUDGET datagrams from fd (fd_up or fd_down).
 * Errors: LB_ERR_IO. */
int sim_gateway_read(struct sim_gateway *gw, int fd, int64_t now_us);

/* Stop sending keepalives and stats (the run is ending). */
void sim_gateway_stop(struct sim_gateway *gw);

/* Datagrams still waiting for their ACK. */
size_t sim_gateway_outstanding(const struct sim_gateway *gw);

#endif
