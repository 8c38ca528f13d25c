/* SPDX-License-Identifier: MIT */
/*
 * integrations.h - device events sent on over HTTP besides MQTT: webhooks
 * (ChirpStack's HTTP integration convention: one POST of the event's JSON
 * to {url}?event={event}) and InfluxDB (line protocol, events/influx_line.h,
 * written in batches to /write of 1.x or /api/v2/write of 2.x).
 *
 * Nothing here may delay MQTT: integrations_event() only copies the event
 * into the integration's queue (InfluxDB: its points, built at once);
 * requests start from integrations_tick() and complete through the
 * transport's callback, both from the loop. Per integration:
 *   - a bounded queue: at most queue_limit events waiting or in flight;
 *     beyond, the oldest waiting one is dropped and counted (`dropped`);
 *     events in flight are not taken back, so with every queued event in
 *     flight the new one is the one dropped; `dropped` also counts the
 *     events that could not be built: InfluxDB points beyond
 *     INTEGRATIONS_POINTS_MAX, JSON that does not parse, a webhook URL
 *     beyond URL_MAX once expanded, out of memory;
 *   - 2xx: delivered (`sent`);
 *   - no answer (connection refused, reset, TLS failure), a timeout, 5xx
 *     or 429: the events go back to the head of the queue (`retried`) and
 *     nothing is sent for a back-off that starts at 1 s and doubles up to
 *     retry_max_ms, once per round (requests in flight together that fail
 *     double it once); the first success ends it; a 429 or 503 answer's
 *     Retry-After sets that wait instead, at most retry_max_ms;
 *   - InfluxDB's "partial write" (400, or 422 from 2.x: some points
 *     refused, the others written): sent, logged once;
 *   - any other status (4xx, 3xx), or a local error that would recur
 *     (LB_ERR_INVAL from the transport, at the start or at the end): the
 *     events are given up (`failed`),
 *     logged and reported by a device `log` event (code INTEGRATION) for
 *     each device concerned, except for `log` events themselves (a failing
 *     endpoint must not feed itself).
 * Events of one webhook are sent in order only with `parallel` = 1: with
 * more, requests in flight together complete in any order, and retried
 * ones are overtaken. InfluxDB writes one batch at a time, in order.
 *
 * Context: the transport (bridge.c: io/http.h on the loop; tests: a fake)
 * and the report callback for `log` events. Ownership: the integrations own
 * their queues and requests; the configuration entries are borrowed and
 * must outlive them. integrations_free() frees what is left, after the
 * transport has cancelled its requests without callbacks.
 */
#ifndef LB_INTEGRATIONS_H
#define LB_INTEGRATIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/config_types.h"
#include "daemon/stats.h"
#include "io/http.h"

struct integ;

/* How requests go out. post: as http_post() (done runs later, exactly
 * once, unless the transport is freed first). */
struct integ_transport {
	int (*post)(void *arg, const struct http_request *rq, http_done_fn done, void *done_arg);
	void *arg;
};

/* A `log` event for a device whose events an endpoint refused. */
typedef void (*integ_report_fn)(void *arg, const char *application, uint64_t dev_eui,
				const char *description);

struct integrations_ctx {
	struct integ_transport transport;
	bool resolver_blocks;          /* host names would block the loop: warn */
	integ_report_fn report;
	void *report_arg;
};

/* The InfluxDB points of one event fit in this; larger: dropped, counted. */
#define INTEGRATIONS_POINTS_MAX 65536

struct integrations {
	struct integrations_ctx c;
	struct integ *v;
	size_t n;
	char *scratch;                 /* INTEGRATIONS_POINTS_MAX: one event's points */
	uint64_t ts_seq;               /* events with InfluxDB points so far */
};

/* One per entry of confs (borrowed); warns of tls_verify = false and of
 * host names when resolver_blocks. Errors: LB_ERR_NOMEM, LB_ERR_TOO_LARGE
 * (an InfluxDB write URL beyond URL_MAX, which config refuses; logged). */
int integrations_init(struct integrations *it, const struct integrations_ctx *ctx,
		      const struct lb_integ_conf *confs, size_t n);
void integrations_free(struct integrations *it);

/* The requests confs keep in flight at most, together: each webhook's
 * `parallel`, one per InfluxDB. The transport's connection limit
 * (http_init()), so that no integration's request waits for a connection
 * another one holds (a dead endpoint would make it time out). */
size_t integrations_connections(const struct lb_integ_conf *confs, size_t n);

/* A device event as published on MQTT (json: len bytes): queued for each
 * integration that takes it. event_us: the event's time (Unix µs, the
 * gateway's when it gave one; its InfluxDB points' time, plus < 1000 ns
 * that tell events of one µs apart); received_us: the bridge's clock when
 * it received the event, the points' time instead when event_us is more
 * than INTEGRATIONS_TIME_SLACK_US away from it (a gateway's wrong clock).
 * Never fails: what cannot be queued is counted and logged. */
#define INTEGRATIONS_TIME_SLACK_US (24LL * 3600 * 1000000) /* one day */
void integrations_event(struct integrations *it, const char *application, uint64_t dev_eui,
			const char *event, const char *json, size_t len, int64_t event_us,
			int64_t received_us);

/* Start the requests that may start now; the next deadline (a back-off's
 * end) or -1. */
int64_t integrations_tick(struct integrations *it, int64_t now_ms);

/* Events waiting or in flight, over every integration. */
size_t integrations_pending(const struct integrations *it);

/* Counters of each integration into out (at most max); the number filled.
 * The names point into the configuration. */
size_t integrations_stats(const struct integrations *it, struct stats_integ *out, size_t max);

#endif
