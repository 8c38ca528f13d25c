/* SPDX-License-Identifier: MIT */
/*
 * gwconn.h - the retained gateway state, gateway/{id}/state/conn, kept
 * true:
 *
 *  - ONLINE when a gateway is first heard (or comes back), OFFLINE when it
 *    times out (gateway.h LIVENESS), cleared (an empty retained message)
 *    when the gateway table forgets it (eviction);
 *  - every known state again on each (re)connection to the broker: a broker
 *    restarted without persistence has lost them all;
 *  - OFFLINE for every gateway published ONLINE, on a clean stop; a gateway
 *    heard for the first time after that (during the shutdown's flush) is
 *    not said ONLINE: the bridge that would serve it is going;
 *  - across restarts and crashes: the set of gateways published ONLINE is
 *    kept in the store (gateway_online). At start they are put back into
 *    the gateway table as restored (gateways_restore()): one heard again is
 *    ONLINE again, one that is not is published OFFLINE once its timeout
 *    passes, as if the bridge had never stopped.
 *
 * The set is written through the group commit (a part of durable.h): a
 * state change only notes the EUI in a bounded list of pending changes
 * (GWCONN_PENDING_MAX, the last change per EUI); the list is staged with the
 * next batch, within state.commit_ms. Nothing is written per datagram. If
 * the list is full, a commit is forced first; if even that fails, the
 * change is not remembered (logged) and the worst outcome is a retained
 * state that a restart does not correct.
 *
 * Context (borrowed): the gateway table, the publisher, the store and the
 * group commit. gwconn_init() allocates the pending list, gwconn_free()
 * releases it. Errors are logged here; the calls that can fail return an
 * lb_err code.
 */
#ifndef LB_GWCONN_H
#define LB_GWCONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "daemon/durable.h"
#include "daemon/publish.h"
#include "store/store.h"
#include "tables/gateway.h"

#define GWCONN_PENDING_MAX 1024

struct gwconn_change {
	uint64_t eui;
	bool online;                     /* true: remember, false: forget */
};

struct gwconn_ctx {
	struct gateways *gateways;
	struct publisher *pub;
	struct store *store;
	struct durable *durable;
	int commit_ms;                   /* state.commit_ms */
};

struct gwconn {
	struct gateways *gateways;
	struct publisher *pub;
	struct store *store;
	struct durable *durable;
	int commit_ms;
	struct gwconn_change *pending;   /* GWCONN_PENDING_MAX slots */
	size_t n_pending;
	int64_t pending_since_ms;        /* valid when n_pending > 0 */
	uint64_t not_remembered;         /* changes lost to a full list */
	uint64_t *stopped;               /* EUIs whose OFFLINE gwconn_stop() queued */
	size_t n_stopped, stopped_cap;
	bool stopping;                   /* gwconn_stop() was called */
};

/* Allocate the list and register with the group commit. Errors:
 * LB_ERR_NOMEM, durable_add()'s. */
int gwconn_init(struct gwconn *c, const struct gwconn_ctx *ctx);
void gwconn_free(struct gwconn *c);

/* Put the gateways published ONLINE before the restart back into the table
 * (at now_ms, so they time out one offline period later). LB_OK or the
 * store's error (logged; those gateways are then not corrected). */
int gwconn_restore(struct gwconn *c, int64_t now_ms);

/* A gateway was heard for the first time, or again: ONLINE; after
 * gwconn_stop() nothing (logged). */
void gwconn_online(struct gwconn *c, uint64_t eui);

/* A gateway timed out (the gateways_tick callback's gateway): OFFLINE.
 * If it cannot be queued (logged), the set keeps the gateway, so the next
 * start corrects its retained ONLINE. */
void gwconn_offline(struct gwconn *c, uint64_t eui);

/* The table forgot a gateway (eviction): its retained state is cleared.
 * If that cannot be queued (logged), the set keeps the gateway as it was. */
void gwconn_forgotten(struct gwconn *c, uint64_t eui);

/* Connected (again) to the broker: publish every known gateway's state,
 * except restored gateways not heard yet (their state from before the
 * restart is what is known). */
void gwconn_republish(struct gwconn *c);

/* Clean stop: OFFLINE for every gateway online (restored ones included).
 * Returns how many were queued (those that were not are logged and stay in
 * the set). Call it once, at the end: no gateway is said ONLINE after it. */
size_t gwconn_stop(struct gwconn *c);

/* The OFFLINE messages queued by gwconn_stop() reached the broker: those
 * gateways, and only those, leave the set (staged; the caller commits).
 * Gateways whose OFFLINE was not queued stay, and the next start corrects
 * their states; so do all of them if this is not called. */
void gwconn_stopped(struct gwconn *c);

#endif
