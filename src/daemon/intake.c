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
static void window_tick(struct intake *in, int64_t now_ms, int64_t idle_us, uint64_t acked)
{
	if (in->bucket_at_ms == INT64_MIN) {
		in->bucket_at_ms = now_ms;
		in->bucket_idle_us = idle_us;
		in->bucket_acked = acked;
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
	in->acks[in->next_bucket] = acked - in->bucket_acked;
	in->next_bucket = (in->next_bucket + 1) % INTAKE_BUCKETS;
	if (in->n_buckets < INTAKE_BUCKETS)
		in->n_buckets++;
	in->bucket_at_ms = now_ms;
	in->bucket_idle_us = idle_us;
	in->bucket_acked = acked;
}

/* Acknowledgements per second over the window's closed buckets. */
static uint64_t window_ack_rate(const struct intake *in)
{
	int64_t span = 0;
	uint64_t acks = 0;

	for (unsigned i = 0; i < in->n_buckets; i++) {
		span += in->span[i];
		acks += in->acks[i];
	}
	return span > 0 ? acks * 1000 / (uint64_t)span : 0;
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
	in->paused_acked = v->acked;
	in->rate_before = window_ack_rate(in);
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

/* Why the pause ends now (NULL: it does not). A longest pause helped if
 * the broker acknowledged INTAKE_HELP_PERCENT of its rate before it: it
 * was short of the CPU the bridge left it. */
static const char *resume_why(struct intake *in, const struct intake_view *v, int64_t now_ms)
{
	if (v->backlog <= in->o.low)
		return "the backlog drained";
	if (!broker_moving(in, v, now_ms))
		return "the broker stopped acknowledging";
	int64_t lasted = now_ms - in->paused_at_ms;
	if (lasted < in->o.max_pause_ms)
		return NULL;
	uint64_t rate = (v->acked - in->paused_acked) * 1000 / (uint64_t)(lasted > 0 ? lasted : 1);
	if (rate * 100 >= in->rate_before * INTAKE_HELP_PERCENT && rate > 0)
		return "the longest pause";
	in->futile = true;
	log_info(TAG, "a pause of %" PRId64 " ms did not help: the broker acknowledged %" PRIu64
		 "/s during it, %" PRIu64 "/s before (slow by itself, not for want of CPU); no "
		 "pause until it catches up", lasted, rate, in->rate_before);
	return "the longest pause, which did not help";
}

int64_t intake_tick(struct intake *in, int64_t now_ms, const struct intake_view *v,
		    bool *changed)
{
	*changed = false;
	window_tick(in, now_ms, v->idle_us, v->acked);
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

int intake_resume(struct intake *in, struct loop *l, int fd, int64_t now_ms)
{
	if (!in->paused)
		return LB_OK;
	pause_end(in, now_ms, "shutting down");
	return intake_apply(in, l, fd, now_ms);
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
