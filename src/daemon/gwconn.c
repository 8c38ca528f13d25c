/* SPDX-License-Identifier: MIT */
/* gwconn.c - the retained gateway state and its memory across restarts.
 * See gwconn.h. */
#include "daemon/gwconn.h"

#include <stdlib.h>
#include <string.h>

#include "base/lb_err.h"
#include "base/log.h"
#include "io/loop.h"

/* ---------------------------------------------- the durable part */

static int64_t due_ms(void *arg)
{
	struct gwconn *c = arg;
	return c->n_pending ? c->pending_since_ms + c->commit_ms : -1;
}

/* Every pending change into the open batch, the last first; one that fails
 * stays listed (with those before it), so the batch does not commit
 * without it. */
static int stage_all(void *arg)
{
	struct gwconn *c = arg;

	while (c->n_pending > 0) {
		const struct gwconn_change *ch = &c->pending[c->n_pending - 1];
		int rc = store_gateway_online_set(c->store, ch->eui, ch->online);
		if (rc == LB_ERR_FULL)   /* committed ahead, durable.h */
			return rc;
		if (rc != LB_OK) {
			LB_LOG_RL(LOG_LVL_ERROR, "gwconn", "gateway %016llx: state not staged "
				  "(%s): retried with the next batch",
				  (unsigned long long)ch->eui, lb_strerror(rc));
			return rc;
		}
		c->n_pending--;
	}
	return LB_OK;
}

int gwconn_init(struct gwconn *c, const struct gwconn_ctx *ctx)
{
	memset(c, 0, sizeof(*c));
	c->gateways = ctx->gateways;
	c->pub = ctx->pub;
	c->store = ctx->store;
	c->durable = ctx->durable;
	c->commit_ms = ctx->commit_ms;
	c->pending = calloc(GWCONN_PENDING_MAX, sizeof(*c->pending));
	if (!c->pending) {
		log_error("gwconn", "no memory for the gateway state list");
		return LB_ERR_NOMEM;
	}
	return durable_add(c->durable, stage_all, due_ms, c);
}

void gwconn_free(struct gwconn *c)
{
	free(c->pending);
	free(c->stopped);
	c->pending = NULL;
	c->stopped = NULL;
	c->n_pending = c->n_stopped = c->stopped_cap = 0;
}

/* ---------------------------------------------- pending changes */

static struct gwconn_change *find_pending(struct gwconn *c, uint64_t eui)
{
	for (size_t i = 0; i < c->n_pending; i++)
		if (c->pending[i].eui == eui)
			return &c->pending[i];
	return NULL;
}

/* Note that eui's retained state is now ONLINE (remember it) or not
 * (forget it), for the next batch. */
static void note(struct gwconn *c, uint64_t eui, bool online)
{
	struct gwconn_change *ch = find_pending(c, eui);

	/* The list is full: its changes go into the store now (their sync
	 * need not be waited for: nothing is sent that depends on it). */
	if (!ch && c->n_pending == GWCONN_PENDING_MAX && durable_commit_nowait(c->durable) != LB_OK) {
		c->not_remembered++;
		LB_LOG_RL(LOG_LVL_ERROR, "gwconn", "gateway %016llx: state %s not remembered "
			  "across restarts (the state directory does not commit)",
			  (unsigned long long)eui, online ? "ONLINE" : "OFFLINE");
		return;
	}
	if (!ch) {
		if (c->n_pending == 0)
			c->pending_since_ms = loop_now_ms();
		ch = &c->pending[c->n_pending++];
		ch->eui = eui;
	}
	ch->online = online;
}

/* ---------------------------------------------- state changes */

void gwconn_online(struct gwconn *c, uint64_t eui)
{
	/* Its OFFLINE would not follow: gwconn_stop() has been and the
	 * bridge exits once its flush is done. What the broker holds for it
	 * (OFFLINE, or nothing) stays true. */
	if (c->stopping) {
		LB_LOG_RL(LOG_LVL_NOTICE, "gwconn", "gateway %016llx heard during the shutdown: "
			  "not reported ONLINE", (unsigned long long)eui);
		return;
	}
	/* Remembered even if not published: a restart then says OFFLINE at
	 * worst, which is what the broker may already hold. */
	if (publish_gateway_conn(c->pub, eui, true) != LB_OK)
		LB_LOG_RL(LOG_LVL_WARN, "gwconn", "gateway %016llx: ONLINE not queued; it is "
			  "published again at the next connection to the broker",
			  (unsigned long long)eui);
	note(c, eui, true);
}

void gwconn_offline(struct gwconn *c, uint64_t eui)
{
	/* Not queued: the retained ONLINE stays, so the set keeps it for the
	 * next start (or connection) to correct. */
	if (publish_gateway_conn(c->pub, eui, false) != LB_OK) {
		LB_LOG_RL(LOG_LVL_WARN, "gwconn", "gateway %016llx: OFFLINE not queued; kept "
			  "for the next connection or start to correct", (unsigned long long)eui);
		return;
	}
	note(c, eui, false);
}

void gwconn_forgotten(struct gwconn *c, uint64_t eui)
{
	if (publish_gateway_conn_clear(c->pub, eui) != LB_OK) {
		LB_LOG_RL(LOG_LVL_WARN, "gwconn", "gateway %016llx: retained state not cleared; "
			  "if it was ONLINE, the next start reports it OFFLINE",
			  (unsigned long long)eui);
		return;
	}
	note(c, eui, false);
}

struct restore_walk {
	struct gwconn *c;
	int64_t now_ms;
	size_t restored, refused;
};

static int restore_one(void *arg, uint64_t eui)
{
	struct restore_walk *w = arg;

	if (gateways_restore(w->c->gateways, eui, w->now_ms) == LB_OK) {
		w->restored++;
		return 0;
	}
	/* No room: nobody will time it out, so say OFFLINE now. */
	w->refused++;
	gwconn_offline(w->c, eui);
	return 0;
}

int gwconn_restore(struct gwconn *c, int64_t now_ms)
{
	struct restore_walk w = {.c = c, .now_ms = now_ms};

	int rc = store_gateway_online_list(c->store, restore_one, &w);
	if (rc != LB_OK) {
		log_error("gwconn", "gateways online before the restart not read (%s): their "
			  "retained state stays as it was", lb_strerror(rc));
		return rc;
	}
	if (w.restored)
		log_notice("gwconn", "%zu gateway(s) were online before the restart: reported "
			   "OFFLINE unless heard again in time", w.restored);
	if (w.refused)
		log_warn("gwconn", "%zu gateway(s) online before the restart did not fit the "
			 "gateway table: reported OFFLINE", w.refused);
	return LB_OK;
}

struct republish_walk {
	struct gwconn *c;
	size_t failed;
};

static void republish_one(void *arg, struct gateway *g)
{
	struct republish_walk *w = arg;

	if (!g->restored && publish_gateway_conn(w->c->pub, g->eui, g->online) != LB_OK)
		w->failed++;
}

void gwconn_republish(struct gwconn *c)
{
	struct republish_walk w = {.c = c};

	gateways_foreach(c->gateways, republish_one, &w);
	if (w.failed)
		log_warn("gwconn", "%zu gateway state(s) not queued after connecting to the "
			 "broker: corrected at their next change or the next connection", w.failed);
}

/* ---------------------------------------------- clean stop */

struct stop_walk {
	struct gwconn *c;
	size_t queued, failed;
};

/* OFFLINE for an online gateway; listed in c->stopped only if queued. */
static void stop_one(void *arg, struct gateway *g)
{
	struct stop_walk *w = arg;

	if (!g->online)
		return;
	if (publish_gateway_conn(w->c->pub, g->eui, false) != LB_OK) {
		w->failed++;
		return;
	}
	w->queued++;
	if (w->c->stopped && w->c->n_stopped < w->c->stopped_cap)
		w->c->stopped[w->c->n_stopped++] = g->eui;
}

size_t gwconn_stop(struct gwconn *c)
{
	struct stop_walk w = {.c = c};
	size_t n = gateways_count(c->gateways);

	c->stopping = true;
	free(c->stopped);
	c->n_stopped = 0;
	c->stopped_cap = n;
	c->stopped = n ? malloc(n * sizeof(*c->stopped)) : NULL;
	if (n && !c->stopped)
		log_error("gwconn", "no memory for the list of gateways stopped: the next start "
			  "reports them OFFLINE again");
	gateways_foreach(c->gateways, stop_one, &w);
	if (w.failed)
		log_warn("gwconn", "%zu gateway(s): OFFLINE not queued at shutdown; the next "
			 "start reports them OFFLINE", w.failed);
	return w.queued;
}

void gwconn_stopped(struct gwconn *c)
{
	for (size_t i = 0; i < c->n_stopped; i++)
		note(c, c->stopped[i], false);
	c->n_stopped = 0;
}
