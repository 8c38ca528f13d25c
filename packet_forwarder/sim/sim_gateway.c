/* SPDX-License-Identifier: MIT */
/*
 * sim_gateway.c - one simulated packet forwarder: sockets, keepalive, stat,
 * PUSH_DATA and the checks of what the server answers. See sim_gateway.h.
 */
#include "sim_gateway.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/lb_err.h"
#include "base/log.h"

#define MOD "sim"
#define PUSH_BUF 8192              /* 8 rxpk of 255 bytes fit with room to spare */
/* Server -> gateway datagrams are 4-byte ACKs or PULL_RESP of at most
 * GWMP_MAX_PULL_RESP bytes (the Semtech forwarder's buffer, lora_pkt_fwd.c). */
#define RECV_BUF 2048
#define STAT_BUF 512
#define TXACK_JSON_LEN 64
#define GWMP_VERSION_TXACK 2       /* TX_ACK exists from protocol 2 (PROTOCOL.TXT §5.5) */

/* Fake but fixed location, a few hundred metres apart per gateway. */
#define LOC_LATI 46.24000
#define LOC_LONG 3.25230
#define LOC_STEP 0.005
#define LOC_ALTI 145

/* Full-period 16-bit LCG (a = 1 mod 4, c odd; Knuth 3.2.1.2): 65536 distinct
 * tokens before one repeats, so no two outstanding datagrams (fewer than
 * 65536 per gateway) share a token, yet the sequence looks random. */
#define TOKEN_LCG_A 25173U
#define TOKEN_LCG_C 13849U

static uint16_t next_token(struct sim_gateway *gw, uint8_t tok[2])
{
	gw->token = (uint16_t)(gw->token * TOKEN_LCG_A + TOKEN_LCG_C);
	tok[0] = (uint8_t)(gw->token >> 8);
	tok[1] = (uint8_t)gw->token;
	return gw->token;
}

static int open_socket(const struct sockaddr *srv, socklen_t len)
{
	int fd = socket(srv->sa_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	/* connect(): the kernel picks a distinct source port per socket, filters
	 * datagrams from anyone but the server and reports ICMP errors. */
	if (connect(fd, srv, len) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

int sim_gateway_open(struct sim_gateway *gw, const struct sim_gateway_conf *c,
		     const struct sockaddr *srv, socklen_t srv_len, struct sim_stats *st,
		     int64_t now_us)
{
	memset(gw, 0, sizeof(*gw));
	gw->c = *c;
	gw->st = st;
	gw->fd_up = open_socket(srv, srv_len);
	gw->fd_down = gw->fd_up < 0 ? -1 : open_socket(srv, srv_len);
	if (gw->fd_down < 0) {
		log_error(MOD, "gateway %u: socket: %s", c->idx, strerror(errno));
		sim_gateway_close(gw);
		return LB_ERR_IO;
	}
	gw->token = (uint16_t)(c->seed * 0x9e37U + c->idx * 0x79b9U);
	gw->tmst_origin = (uint32_t)(c->seed * 2654435761U + c->idx * 0x3b9aca07U);
	if (sim_acks_init(&gw->push_acks, SIM_GW_PUSH_OUTSTANDING, c->ack_timeout_us) != LB_OK ||
	    sim_acks_init(&gw->pull_acks, SIM_GW_PULL_OUTSTANDING, c->ack_timeout_us) != LB_OK) {
		sim_gateway_close(gw);
		return LB_ERR_NOMEM;
	}
	gw->next_pull_us = c->keepalive_us > 0 ? now_us : -1;
	gw->next_stat_us = c->stat_interval_us > 0 ? now_us + c->stat_interval_us : -1;
	return LB_OK;
}

void sim_gateway_close(struct sim_gateway *gw)
{
	sim_acks_free(&gw->push_acks);
	sim_acks_free(&gw->pull_acks);
	if (gw->fd_up >= 0)
		close(gw->fd_up);
	if (gw->fd_down >= 0)
		close(gw->fd_down);
	gw->fd_up = gw->fd_down = -1;
}

uint32_t sim_gateway_tmst(const struct sim_gateway *gw, int64_t now_us)
{
	return gw->tmst_origin + (uint32_t)now_us;
}

void sim_gateway_stop(struct sim_gateway *gw)
{
	gw->stopping = true;
}

size_t sim_gateway_outstanding(const struct sim_gateway *gw)
{
	return gw->push_acks.outstanding + gw->pull_acks.outstanding;
}

/* Returns 1 if sent, 0 for a transient failure (counted), LB_ERR_IO. */
static int send_datagram(struct sim_gateway *gw, int fd, const uint8_t *buf, size_t len)
{
	ssize_t n = send(fd, buf, len, 0);

	if (n == (ssize_t)len)
		return 1;
	/* The ICMP port unreachable of an earlier datagram, which send() had
	 * taken: that one is lost as well as this one. */
	if (n < 0 && errno == ECONNREFUSED)
		gw->st->refused++;
	if (n >= 0 || errno == EAGAIN || errno == EWOULDBLOCK || errno == ECONNREFUSED ||
	    errno == ENOBUFS || errno == EINTR) {
		gw->st->send_errors++;
		return 0;
	}
	log_error(MOD, "gateway %u: send: %s", gw->c.idx, strerror(errno));
	return LB_ERR_IO;
}

/* Frame `json` (may be NULL) as `type` with a fresh token, send it on fd and
 * expect an ACK in `acks`. Returns 1 if sent, 0 if dropped by a transient
 * error (counted), or a negative lb_err. */
static int send_expecting_ack(struct sim_gateway *gw, int fd, enum gwmp_type type,
			      const char *json, struct sim_acks *acks, int64_t now_us)
{
	uint8_t buf[PUSH_BUF];
	uint8_t tok[GWMP_LEN_TOKEN];
	size_t len;
	uint16_t t = next_token(gw, tok);

	int rc = gwmp_build_up(gw->c.version, tok, type, gw->c.eui, json, buf, sizeof(buf), &len);
	if (rc != LB_OK)
		return rc;
	rc = send_datagram(gw, fd, buf, len);
	if (rc <= 0)
		return rc;
	gw->st->missing_acks += sim_acks_add(acks, t, now_us);
	return 1;
}

/* The PUSH_DATA goes to the capture hook instead of the socket. */
static int capture_push(struct sim_gateway *gw, const char *json, int64_t now_us, bool *sent)
{
	uint8_t buf[PUSH_BUF];
	uint8_t tok[GWMP_LEN_TOKEN];
	size_t len;
	uint16_t t = next_token(gw, tok);

	int rc = gwmp_build_up(gw->c.version, tok, GWMP_PUSH_DATA, gw->c.eui, json, buf, sizeof(buf),
			       &len);
	if (rc == LB_OK)
		rc = gw->capture(gw->capture_arg, gw, buf, len, t, now_us);
	*sent = rc == LB_OK;
	return rc;
}

int sim_gateway_push_rxpk(struct sim_gateway *gw, const struct gwmp_rxpk *rxpk, size_t n,
			  int64_t now_us, bool *sent)
{
	char json[PUSH_BUF - GWMP_LEN_HDR_EUI];

	*sent = false;
	if (n == 0 || n > GWMP_MAX_RXPK)
		return LB_ERR_INVAL;
	int len = gwmp_format_push(rxpk, n, NULL, json, sizeof(json));
	if (len < 0)
		return len;
	if (gw->capture)
		return capture_push(gw, json, now_us, sent);
	int rc = send_expecting_ack(gw, gw->fd_up, GWMP_PUSH_DATA, json, &gw->push_acks, now_us);
	if (rc <= 0)
		return rc;
	gw->st->push_data++;
	gw->win.up_sent++;
	gw->win.rxnb += (uint32_t)n;
	*sent = true;
	return LB_OK;
}

static void remember_junk(struct sim_gateway *gw, const uint8_t tok[2])
{
	gw->junk[gw->n_junk % SIM_GW_JUNK_TOKENS] = sim_acks_token(tok);
	gw->n_junk++;
}

static bool is_junk(const struct sim_gateway *gw, uint16_t t)
{
	size_t n = gw->n_junk < SIM_GW_JUNK_TOKENS ? gw->n_junk : SIM_GW_JUNK_TOKENS;

	for (size_t i = 0; i < n; i++)
		if (gw->junk[i] == t)
			return true;
	return false;
}

int sim_gateway_send_malformed(struct sim_gateway *gw, enum sim_malformed_kind k)
{
	uint8_t buf[SIM_MALFORMED_MAX_LEN];
	uint8_t tok[GWMP_LEN_TOKEN];

	next_token(gw, tok);
	size_t len = sim_malformed_build(k, gw->c.version, tok, gw->c.eui, buf, sizeof(buf));
	if (len == 0)
		return LB_ERR_INVAL;
	int rc = send_datagram(gw, gw->fd_up, buf, len);
	if (rc <= 0)
		return rc;
	remember_junk(gw, tok);
	gw->st->injected_malformed++;
	return LB_OK;
}

static int send_pull(struct sim_gateway *gw, int64_t now_us)
{
	int rc = send_expecting_ack(gw, gw->fd_down, GWMP_PULL_DATA, NULL, &gw->pull_acks, now_us);

	if (rc <= 0)
		return rc;
	gw->st->pull_data++;
	return LB_OK;
}

double sim_gateway_ackr(uint32_t sent, uint32_t acked)
{
	if (sent == 0)
		return 0.0;
	return acked >= sent ? 100.0 : 100.0 * acked / sent;
}

/* stat (PROTOCOL.TXT §4): counters of the interval just ended, then reset. */
static void fill_stat(struct sim_gateway *gw, struct gwmp_stat *s)
{
	time_t now = time(NULL);
	struct tm tm;

	memset(s, 0, sizeof(*s));
	gmtime_r(&now, &tm);
	s->has_time = strftime(s->time, sizeof(s->time), "%Y-%m-%d %H:%M:%S GMT", &tm) > 0;
	s->has_location = true;
	s->lati = LOC_LATI + LOC_STEP * gw->c.idx;
	s->lon = LOC_LONG + LOC_STEP * gw->c.idx;
	s->alti = LOC_ALTI;
	s->rxnb = s->rxok = s->rxfw = gw->win.rxnb;
	s->dwnb = gw->win.dwnb;
	s->txnb = gw->win.txnb;
	s->ackr = sim_gateway_ackr(gw->win.up_sent, gw->win.up_acked);
	memset(&gw->win, 0, sizeof(gw->win));
}

static int send_stat(struct sim_gateway *gw, int64_t now_us)
{
	struct gwmp_stat s;
	char json[STAT_BUF];

	fill_stat(gw, &s);
	int len = gwmp_format_push(NULL, 0, &s, json, sizeof(json));
	if (len < 0)
		return len;
	int rc = send_expecting_ack(gw, gw->fd_up, GWMP_PUSH_DATA, json, &gw->push_acks, now_us);
	if (rc <= 0)
		return rc;
	gw->st->push_data++;
	gw->st->stat_sent++;
	gw->win.up_sent++;
	return LB_OK;
}

static void earliest(int64_t *next, int64_t t)
{
	if (t >= 0 && (*next < 0 || t < *next))
		*next = t;
}

int sim_gateway_tick(struct sim_gateway *gw, int64_t now_us, int64_t *next_us)
{
	int rc;

	gw->st->missing_acks += sim_acks_expire(&gw->push_acks, now_us);
	gw->st->missing_acks += sim_acks_expire(&gw->pull_acks, now_us);
	if (!gw->stopping && gw->next_pull_us >= 0 && now_us >= gw->next_pull_us) {
		if ((rc = send_pull(gw, now_us)) != LB_OK)
			return rc;
		gw->next_pull_us = now_us + gw->c.keepalive_us;
	}
	if (!gw->stopping && gw->next_stat_us >= 0 && now_us >= gw->next_stat_us) {
		if ((rc = send_stat(gw, now_us)) != LB_OK)
			return rc;
		gw->next_stat_us = now_us + gw->c.stat_interval_us;
	}
	if (!gw->stopping) {
		earliest(next_us, gw->next_pull_us);
		earliest(next_us, gw->next_stat_us);
	}
	earliest(next_us, sim_acks_next_deadline(&gw->push_acks));
	earliest(next_us, sim_acks_next_deadline(&gw->pull_acks));
	return LB_OK;
}

static void on_ack(struct sim_gateway *gw, struct sim_acks *acks, uint16_t t, uint64_t *ok)
{
	switch (sim_acks_match(acks, t)) {
	case SIM_ACK_OK:
		(*ok)++;
		if (acks == &gw->push_acks)
			gw->win.up_acked++;
		return;
	case SIM_ACK_LATE:
		gw->st->late_acks++;
		return;
	case SIM_ACK_UNKNOWN:
		if (acks == &gw->push_acks && is_junk(gw, t))
			gw->st->malformed_acks++;
		else
			gw->st->bad_tokens++;
		return;
	}
}

/* PROTOCOL.TXT §5.5: TX_ACK on the downstream socket, the PULL_RESP's token; no JSON for
 * success (what lora_pkt_fwd sends when all went well). */
static int send_txack(struct sim_gateway *gw, const uint8_t tok[GWMP_LEN_TOKEN], const char *error)
{
	char json[TXACK_JSON_LEN];
	uint8_t buf[GWMP_LEN_HDR_EUI + TXACK_JSON_LEN];
	size_t len;

	if (error)
		snprintf(json, sizeof(json), "{\"txpk_ack\":{\"error\":\"%s\"}}", error);
	int rc = gwmp_build_up(gw->c.version, tok, GWMP_TX_ACK, gw->c.eui, error ? json : NULL, buf,
			       sizeof(buf), &len);
	if (rc != LB_OK)
		return rc;
	rc = send_datagram(gw, gw->fd_down, buf, len);
	if (rc <= 0)
		return rc;
	gw->st->txack_sent++;
	return LB_OK;
}

static int on_pull_resp(struct sim_gateway *gw, const uint8_t *buf, size_t len, int64_t now_us)
{
	struct gwmp_txpk tx;
	const uint8_t *json = buf + GWMP_OFF_JSON_DOWN;
	const uint8_t *tok = buf + GWMP_OFF_TOKEN;
	const char *error = NULL;

	if (gwmp_parse_pull_resp(json, len - GWMP_OFF_JSON_DOWN, &tx) != LB_OK) {
		gw->st->pull_resp_bad++;
		return LB_OK;
	}
	gw->st->pull_resp++;
	gw->win.dwnb++;
	if (gw->on_downlink)
		error = gw->on_downlink(gw->downlink_arg, gw, tok, &tx, now_us);
	if (!error)
		gw->win.txnb++;
	return gw->c.version >= GWMP_VERSION_TXACK ? send_txack(gw, tok, error) : LB_OK;
}

/* One datagram from the server (PROTOCOL.TXT §3, §5): ACKs must come back on
 * the socket of the request, with our version. */
static int handle_datagram(struct sim_gateway *gw, int fd, const uint8_t *buf, size_t len,
			   int64_t now_us)
{
	if (len < GWMP_LEN_HDR || buf[GWMP_OFF_VERSION] != gw->c.version) {
		gw->st->bad_acks++;
		return LB_OK;
	}
	uint16_t t = sim_acks_token(buf + GWMP_OFF_TOKEN);
	uint8_t ident = buf[GWMP_OFF_IDENT];

	if (fd == gw->fd_up && ident == GWMP_PUSH_ACK)
		on_ack(gw, &gw->push_acks, t, &gw->st->push_ack);
	else if (fd == gw->fd_down && ident == GWMP_PULL_ACK)
		on_ack(gw, &gw->pull_acks, t, &gw->st->pull_ack);
	else if (fd == gw->fd_down && ident == GWMP_PULL_RESP)
		return on_pull_resp(gw, buf, len, now_us);
	else
		gw->st->bad_acks++;
	return LB_OK;
}

int sim_gateway_read(struct sim_gateway *gw, int fd, int64_t now_us)
{
	uint8_t buf[RECV_BUF];

	for (int i = 0; i < SIM_GW_READ_BUDGET; i++) {
		/* MSG_TRUNC: n is the real size, so an oversized datagram is seen. */
		ssize_t n = recv(fd, buf, sizeof(buf), MSG_TRUNC);
		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return LB_OK;
			/* ICMP port unreachable of an earlier send: no server (yet).
			 * send() had succeeded, so that datagram is lost: count it
			 * (its ACK will be missing too). */
			if (errno == ECONNREFUSED) {
				gw->st->refused++;
				continue;
			}
			if (errno == EINTR)
				continue;
			log_error(MOD, "gateway %u: recv: %s", gw->c.idx, strerror(errno));
			return LB_ERR_IO;
		}
		if ((size_t)n > GWMP_MAX_PULL_RESP) {
			if (buf[GWMP_OFF_IDENT] == GWMP_PULL_RESP)
				gw->st->pull_resp_bad++;
			else
				gw->st->bad_acks++;
			continue;
		}
		int rc = handle_datagram(gw, fd, buf, (size_t)n, now_us);
		if (rc != LB_OK)
			return rc;
	}
	return LB_OK;
}
