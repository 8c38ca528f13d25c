/* dispatch.c - GWMP datagram handlers. See dispatch.h. */
#include "daemon/dispatch.h"

#include <string.h>

#include "daemon/budget.h"
#include "events/event_json.h"
#include "gwmp/gwmp.h"
#include "base/hex.h"
#include "base/lb_err.h"
#include "base/log.h"
#include "gwmp/rx.h"
#include "daemon/uplink.h"

static void drop_datagram(struct bridge *b, int err, const struct udp_peer *from, uint64_t eui)
{
	char peer[64], id[17] = "-";

	stats_count_dgram_drop(&b->stats, err);
	udp_peer_str(from, peer, sizeof(peer));
	if (eui)
		hex_format_eui(eui, id);
	LB_LOG_RL(LOG_LVL_WARN, "gwmp", "dropped datagram from %s (gateway %s): %s", peer, id,
		  lb_strerror(err));
}

static void send_ack(struct bridge *b, const struct gwmp_header *h, const struct udp_peer *to)
{
	uint8_t ack[GWMP_LEN_HDR];
	size_t n = gwmp_build_ack(h, ack);
	udp_send(&b->udp, ack, n, to);
}

void dispatch_publish_gateway_state(struct bridge *b, uint64_t eui, bool online)
{
	size_t len;
	if (event_json_gateway_conn(eui, online, b->event, sizeof(b->event), &len) == LB_OK)
		publish_gateway_state(&b->pub, eui, b->event, len);
}

static void publish_rx(struct bridge *b, const struct lb_rx *rx)
{
	size_t len;
	int rc = event_json_gateway_up(rx, b->event, sizeof(b->event), &len);
	if (rc != LB_OK) {
		LB_LOG_RL(LOG_LVL_WARN, "dispatch", "gateway up event not built: %s", lb_strerror(rc));
		return;
	}
	if (publish_gateway_event(&b->pub, rx->gateway_eui, "up", b->event, len) == LB_OK)
		b->stats.gateway_events++;
}

static void publish_stat(struct bridge *b, struct gateway *gw, const struct gwmp_stat *st)
{
	struct ev_duty_cycle dc[DC_MAX_SUBBANDS];
	char names[DC_MAX_SUBBANDS][24];
	size_t len;
	uint64_t eui = gw->eui;
	size_t n = budget_gateway_report(b, gw, dc, names, DC_MAX_SUBBANDS);
	int rc = event_json_gateway_stats_dc(eui, st, dc, n, b->event, sizeof(b->event), &len);
	if (rc != LB_OK) {
		LB_LOG_RL(LOG_LVL_WARN, "dispatch", "gateway stats event not built: %s",
			  lb_strerror(rc));
		return;
	}
	if (publish_gateway_event(&b->pub, eui, "stats", b->event, len) == LB_OK)
		b->stats.gateway_events++;
}

/* One rxpk: visible as a gateway event whatever it holds, then offered to
 * de-duplication if its radio CRC is good (semtech-udp.md §4.1 `stat`). */
static void handle_rxpk(struct bridge *b, struct gateway *gw, const struct gwmp_header *h,
			const struct gwmp_rxpk *pk, int64_t now_ms)
{
	struct lb_rx rx = {.gateway_eui = h->gateway_eui, .uplink_id = b->next_uplink_id++,
			   .received_us = loop_wall_us(), .version = h->version};

	rx.rxpk = *pk;
	gw->rxpk_total++;
	if (pk->stat != 1) {
		gw->rxpk_bad++;
		b->stats.frame_drops[DROP_CRC]++;
		if (b->cfg.udp_forward_crc_error)
			publish_rx(b, &rx);
		return;
	}
	gw->rxpk_ok++;
	b->stats.frames_received++;
	publish_rx(b, &rx);
	switch (dedup_add(&b->dedup, &rx, now_ms, uplink_process, b)) {
	case DEDUP_NEW:
		break;
	case DEDUP_MERGED:
		b->stats.dedup_hits++;
		break;
	case DEDUP_LATE:
		b->stats.frame_drops[DROP_LATE_DUPLICATE]++;
		log_debug("dedup", "late copy from gateway %016llx dropped",
			  (unsigned long long)h->gateway_eui);
		break;
	}
}

static void handle_push_data(struct bridge *b, struct gateway *gw, const struct gwmp_header *h,
			     const struct udp_peer *from, int64_t now_ms)
{
	static struct gwmp_push push; /* 10 KiB: kept off the stack, one thread */

	gw->push_data++;
	gateway_set_push_addr(gw, &from->addr, from->len);
	/* Only a well-formed PUSH_DATA is acknowledged: a gateway sending bad
	 * JSON then sees it in its own `ackr` statistic. One bad rxpk inside
	 * valid JSON does not make the datagram malformed. */
	int rc = gwmp_parse_push(h->json, h->json_len, &push);
	if (rc != LB_OK) {
		drop_datagram(b, rc, from, h->gateway_eui);
		return;
	}
	send_ack(b, h, from);
	for (size_t i = 0; i < push.n_rxpk; i++) {
		if (push.rxpk_err[i] != LB_OK) {
			drop_datagram(b, push.rxpk_err[i], from, h->gateway_eui);
			continue;
		}
		handle_rxpk(b, gw, h, &push.rxpk[i], now_ms);
	}
	for (size_t i = 0; i < push.n_rxpk_excess; i++)
		stats_count_dgram_drop(&b->stats, LB_ERR_TOO_LARGE);
	if (push.has_stat) {
		gw->stats_received++;
		gw->last_stat = push.stat;
		publish_stat(b, gw, &push.stat);
	}
}

static void handle_pull_data(struct bridge *b, struct gateway *gw, const struct gwmp_header *h,
			     const struct udp_peer *from)
{
	send_ack(b, h, from);
	gw->pull_data++;
	gateway_set_downlink_addr(gw, &from->addr, from->len, h->version);
}

static void handle_tx_ack(struct bridge *b, struct gateway *gw, const struct gwmp_header *h,
			  const struct udp_peer *from)
{
	struct gwmp_txack ack;

	gw->tx_ack++;
	int rc = gwmp_parse_txack(h->json, h->json_len, &ack);
	if (rc != LB_OK) {
		drop_datagram(b, rc, from, h->gateway_eui);
		return;
	}
	txsched_tx_ack(b, h->gateway_eui, h->token, &ack);
}

void dispatch_datagram(void *arg, const uint8_t *buf, size_t len, bool truncated,
		       const struct udp_peer *from)
{
	struct bridge *b = arg;
	struct gwmp_header h;
	struct gateway *gw;
	bool came_online = false;
	int64_t now_ms = loop_now_ms();

	if (truncated) {
		drop_datagram(b, LB_ERR_TOO_LARGE, from, 0);
		return;
	}
	int rc = gwmp_parse_header(buf, len, &h);
	if (rc != LB_OK) {
		drop_datagram(b, rc, from, 0);
		return;
	}
	rc = gateways_admit(&b->gateways, h.gateway_eui, loop_now_us(), &gw, &came_online);
	if (rc != LB_OK) {
		drop_datagram(b, rc, from, h.gateway_eui);
		return;
	}
	b->stats.datagrams[h.type]++;
	if (came_online) {
		char peer[64];
		udp_peer_str(from, peer, sizeof(peer));
		log_notice("gateway", "gateway %016llx online from %s (protocol v%u)",
			   (unsigned long long)h.gateway_eui, peer, h.version);
		dispatch_publish_gateway_state(b, h.gateway_eui, true);
	}
	switch (h.type) {
	case GWMP_PUSH_DATA:
		handle_push_data(b, gw, &h, from, now_ms);
		break;
	case GWMP_PULL_DATA:
		handle_pull_data(b, gw, &h, from);
		break;
	case GWMP_TX_ACK:
		handle_tx_ack(b, gw, &h, from);
		break;
	default: /* gwmp_parse_header admits only the three above */
		drop_datagram(b, LB_ERR_UNKNOWN_TYPE, from, h.gateway_eui);
		break;
	}
}
