/* SPDX-License-Identifier: MIT */
/* intake.c - the back-pressure rule of intake.h. */
#include "daemon/intake.h"

#include <inttypes.h>
#include <string.h>

#include "base/log.h"

#define TAG "intake"

void intake_init(struct intake *in, const struct intake_opts *o)
{
	memset(in, 0, sizeof(*in));
	in->o = *o;
	in->acked_at_ms = INT64_MIN;
}

static bool broker_moving(const struct intake *in, const struct intake_view *v, int64_t now_ms)
{
	return v->connected && in->acked_at_ms != INT64_MIN &&
	       now_ms - in->acked_at_ms < in->o.stall_ms;
}

static void pause_begin(struct intake *in, int64_t now_ms, const struct intake_view *v)
{
	in->paused = true;
	in->paused_at_ms = now_ms;
	in->stats.pauses++;
	LB_LOG_RL(LOG_LVL_NOTICE, TAG, "%" PRIu64 " events wait for the broker (mqtt.queue_limit): "
		  "the gateways are not read until %" PRIu64 " remain, the kernel drops what "
		  "its buffer does not hold (drops.udpKernel); %" PRIu64 " pause(s) so far",
		  v->backlog, in->o.low, in->stats.pauses);
}

static void pause_end(struct intake *in, int64_t now_ms, const char *why)
{
	in->paused = false;
	in->stats.paused_ms += (uint64_t)(now_ms - in->paused_at_ms);
	log_debug(TAG, "reading the gateways again after %" PRId64 " ms: %s",
		  now_ms - in->paused_at_ms, why);
}

int64_t intake_tick(struct intake *in, int64_t now_ms, const struct intake_view *v,
		    bool *changed)
{
	*changed = false;
	if (v->acked != in->acked_seen) {
		in->acked_seen = v->acked;
		in->acked_at_ms = now_ms;
	}
	if (!in->paused) {
		if (!v->busy || v->backlog < in->o.high || !broker_moving(in, v, now_ms))
			return -1;
		pause_begin(in, now_ms, v);
		*changed = true;
	} else {
		const char *why = NULL;
		if (v->backlog <= in->o.low)
			why = "the backlog drained";
		else if (!broker_moving(in, v, now_ms))
			why = "the broker stopped acknowledging";
		else if (now_ms - in->paused_at_ms >= in->o.max_pause_ms)
			why = "the longest pause";
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
