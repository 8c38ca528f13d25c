/* SPDX-License-Identifier: MIT */
/* intake.c - the back-pressure rule of intake.h. */
#include "daemon/intake.h"

#include <inttypes.h>
#include <string.h>
#include <sys/epoll.h>

#include "base/lb_err.h"
#include "base/log.h"

#define TAG "intake"
#define BUCKET_MS (INTAKE_WINDOW_MS / INTAKE_BUCKETS)

void intake_init(struct intake *in, const struct intake_opts *o)
{
	memset(in, 0, sizeof(*in));
	in->o = *o;
	in->acked_at_ms = INT64_MIN;
	in->bucket_at_ms = INT64_MIN;
}

/* Close the open bucket once BUCKET_MS passed (a long idle wait makes one
 * long bucket: its share is what counts), open the next. */
static void window_tick(struct intake *in, int64_t now_ms, int64_t idle_us)
{
	if (in->bucket_at_ms == INT64_MIN) {
		in->bucket_at_ms = now_ms;
		in->bucket_idle_us = idle_us;
		return;
	}
	int64_t span = now_ms - in->bucket_at_ms;
	if (span < BUCKET_MS)
		return;
	int64_t idle = (idle_us - in->bucket_idle_us) / 1000;
	int64_t busy = span - idle;
	busy = busy < 0 ? 0 : busy > span ? span : busy;
	/* A bucket longer than the window (a loop held, a suspended machine)
	 * weighs as the window, its share kept. */
	if (span > INTAKE_WINDOW_MS) {
		busy = busy * INTAKE_WINDOW_MS / span;
		span = INTAKE_WINDOW_MS;
	}
	in->span[in->next_bucket] = span;
	in->busy[in->next_bucket] = busy;
	in->next_bucket = (in->next_bucket + 1) % INTAKE_BUCKETS;
	if (in->n_buckets < INTAKE_BUCKETS)
		in->n_buckets++;
	in->bucket_at_ms = now_ms;
	in->bucket_idle_us = idle_us;
}

int intake_busy_permille(const struct intake *in)
{
	int64_t span = 0, busy = 0;

	if (in->n_buckets < INTAKE_BUCKETS)
		return -1;
	for (unsigned i = 0; i < INTAKE_BUCKETS; i++) {
		span += in->span[i];
		busy += in->busy[i];
	}
	return span > 0 ? (int)(busy * 1000 / span) : -1;
}

static bool broker_moving(const struct intake *in, const struct intake_view *v, int64_t now_ms)
{
	return v->connected && in->acked_at_ms != INT64_MIN &&
	       now_ms - in->acked_at_ms < in->o.stall_ms;
}

static bool overloaded(const struct intake *in, const struct intake_view *v, int64_t now_ms)
{
	return !in->futile && v->residue >= in->o.high && v->backlog >= in->o.high &&
	       broker_moving(in, v, now_ms) && intake_busy_permille(in) >= INTAKE_BUSY_PERMILLE;
}

static void pause_begin(struct intake *in, int64_t now_ms, const struct intake_view *v)
{
	in->paused = true;
	in->paused_at_ms = now_ms;
	in->paused_backlog = v->backlog;
	in->stats.pauses++;
	LB_LOG_RL(LOG_LVL_NOTICE, TAG, "overloaded (the loop busy %d per mille of the last %d ms) "
		  "and %" PRIu64 " events wait for the broker (mqtt.queue_limit): the gateways are "
		  "not read until %" PRIu64 " wait, the kernel drops what its buffer does not hold "
		  "(drops.udpKernel); %" PRIu64 " pause(s) so far", intake_busy_permille(in),
		  INTAKE_WINDOW_MS, v->backlog, in->o.low, in->stats.pauses);
}

static void pause_end(struct intake *in, int64_t now_ms, const char *why)
{
	in->paused = false;
	in->stats.paused_ms += (uint64_t)(now_ms - in->paused_at_ms);
	log_debug(TAG, "reading the gateways again after %" PRId64 " ms: %s",
		  now_ms - in->paused_at_ms, why);
}

/* Why the pause ends now (NULL: it does not); a longest pause that saw
 * the waiting events fall by less than high - low did not help. */
static const char *resume_why(struct intake *in, const struct intake_view *v, int64_t now_ms)
{
	if (v->backlog <= in->o.low)
		return "the backlog drained";
	if (!broker_moving(in, v, now_ms))
		return "the broker stopped acknowledging";
	if (now_ms - in->paused_at_ms < in->o.max_pause_ms)
		return NULL;
	uint64_t fell = in->paused_backlog > v->backlog ? in->paused_backlog - v->backlog : 0;
	if (fell >= in->o.high - in->o.low)
		return "the longest pause";
	in->futile = true;
	return "the longest pause, which did not help (the broker is slow by itself): no pause "
	       "until it catches up";
}

int64_t intake_tick(struct intake *in, int64_t now_ms, const struct intake_view *v,
		    bool *changed)
{
	*changed = false;
	window_tick(in, now_ms, v->idle_us);
	if (v->acked != in->acked_seen) {
		in->acked_seen = v->acked;
		in->acked_at_ms = now_ms;
	}
	if (in->futile && v->backlog <= in->o.low)
		in->futile = false;
	if (!in->paused) {
		if (!overloaded(in, v, now_ms))
			return -1;
		pause_begin(in, now_ms, v);
		*changed = true;
	} else {
		const char *why = resume_why(in, v, now_ms);
		if (why) {
			pause_end(in, now_ms, why);
			*changed = true;
			return -1;
		}
	}
	int64_t stall_at = in->acked_at_ms + in->o.stall_ms;
	int64_t end_at = in->paused_at_ms + in->o.max_pause_ms;
	return stall_at < end_at ? stall_at : end_at;
}

void intake_undo(struct intake *in, int64_t now_ms)
{
	if (in->paused) {          /* the pause did not begin */
		in->paused = false;
		in->stats.pauses--;
		return;
	}
	in->paused = true;         /* still paused: its time is not over yet */
	in->stats.paused_ms -= (uint64_t)(now_ms - in->paused_at_ms);
}

int intake_apply(struct intake *in, struct loop *l, int fd, int64_t now_ms)
{
	bool paused = in->paused;
	int rc = loop_modify(l, fd, paused ? 0 : EPOLLIN);
	if (rc == LB_OK)
		return LB_OK;
	LB_LOG_RL(LOG_LVL_ERROR, TAG, "the gateways' socket not %s the loop: %s",
		  paused ? "taken out of" : "put back into", lb_strerror(rc));
	intake_undo(in, now_ms);
	return rc;
}
