/* SPDX-License-Identifier: MIT */
/*
 * test_integrations.c - daemon/integrations.h with a fake transport that
 * records each request and answers when the test says: queueing, the
 * queue limit, retries and back-off, refusals, batches and URLs.
 */
#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/lb_err.h"
#include "base/log.h"
#include "config/config_integ.h"
#include "daemon/integrations.h"
#include "io/loop.h"
#include "base/url.h"
#include "testutil.h"

#define MAX_REQ 64

struct fake {
	int n;                          /* requests made */
	char url[MAX_REQ][256];
	char body[MAX_REQ][2048];
	char hdrs[MAX_REQ][256];
	char user[MAX_REQ][32];
	http_done_fn done[MAX_REQ];
	void *arg[MAX_REQ];
	bool answered[MAX_REQ];
	int post_rc;                    /* what post returns (LB_OK: recorded) */
	int reports;
	char report[256];
	uint64_t report_eui;
};

static struct fake F;

/* strdup() failing for one string: the bridge's allocation failures. The
 * test binary's definition replaces libc's for the code under test. */
static const char *strdup_fails_for;

char *strdup(const char *s)
{
	size_t n = strlen(s) + 1;
	char *p = strdup_fails_for && !strcmp(s, strdup_fails_for) ? NULL : malloc(n);
	return p ? memcpy(p, s, n) : NULL;
}

static int fake_post(void *arg, const struct http_request *rq, http_done_fn done, void *done_arg)
{
	struct fake *f = arg;
	if (f->post_rc != LB_OK)
		return f->post_rc;
	ck_assert_int_lt(f->n, MAX_REQ);
	snprintf(f->url[f->n], sizeof(f->url[0]), "%s", rq->url);
	snprintf(f->body[f->n], sizeof(f->body[0]), "%.*s", (int)rq->body_len, rq->body);
	size_t o = 0;
	for (size_t i = 0; i < rq->n_headers; i++)
		o += (size_t)snprintf(f->hdrs[f->n] + o, sizeof(f->hdrs[0]) - o, "%s|",
				      rq->headers[i]);
	snprintf(f->user[f->n], sizeof(f->user[0]), "%s:%s", rq->username ? rq->username : "",
		 rq->password ? rq->password : "");
	f->done[f->n] = done;
	f->arg[f->n] = done_arg;
	f->n++;
	return LB_OK;
}

static void fake_report(void *arg, const char *application, uint64_t dev_eui, const char *desc)
{
	struct fake *f = arg;
	(void)application;
	f->reports++;
	f->report_eui = dev_eui;
	snprintf(f->report, sizeof(f->report), "%s", desc);
}

/* Answer request i: rc, status and the answer's body. */
static void answer_with(int i, int rc, long status, const char *body)
{
	struct http_result r = {.rc = rc, .status = status, .error = rc ? "refused" : "",
				.answer = body, .answer_len = strlen(body)};
	ck_assert(!F.answered[i]);
	F.answered[i] = true;
	F.done[i](F.arg[i], &r);
}

/* Answer request i with status and a Retry-After of after_s seconds. */
static void answer_after(int i, long status, int64_t after_s)
{
	struct http_result r = {.rc = LB_OK, .status = status, .error = "", .answer = "busy",
				.answer_len = 4, .retry_after_s = after_s};
	ck_assert(!F.answered[i]);
	F.answered[i] = true;
	F.done[i](F.arg[i], &r);
}

static void answer(int i, int rc, long status)
{
	answer_with(i, rc, status, "nope");
}

static struct lb_integ_conf http_conf(const char *url, int limit, int parallel)
{
	static struct lb_tag hdr = {.key = "X-Auth-Token", .value = "tok"};
	return (struct lb_integ_conf){
		.kind = LB_INTEG_HTTP, .name = "web", .url = (char *)url,
		.events = config_integ_event_bit("up") | config_integ_event_bit("log"),
		.headers = &hdr, .n_headers = 1, .tls_verify = true, .timeout_ms = 1000,
		.queue_limit = limit, .retry_max_ms = 4000, .parallel = parallel, .batch_size = 1,
	};
}

static struct lb_integ_conf influx_conf(int limit, int batch_size)
{
	return (struct lb_integ_conf){
		.kind = LB_INTEG_INFLUXDB, .name = "influx", .url = "http://i:8086",
		.database = "d", .tls_verify = true, .timeout_ms = 1000, .queue_limit = limit,
		.retry_max_ms = 1000, .batch_size = batch_size,
	};
}

static struct integrations_ctx ctx(void)
{
	return (struct integrations_ctx){.transport = {.post = fake_post, .arg = &F},
					 .report = fake_report, .report_arg = &F};
}

static const struct integrations_ctx *cx(void)
{
	static struct integrations_ctx c;
	c = ctx();
	return &c;
}

#define UP(eui, n) \
	"{\"deviceInfo\":{\"applicationName\":\"app\",\"deviceName\":\"dev x\",\"devEui\":\"" eui \
	"\",\"tags\":{}},\"dr\":5,\"fCnt\":" #n ",\"fPort\":2,\"txInfo\":{\"frequency\":868100000}," \
	"\"rxInfo\":[{\"rssi\":-50,\"snr\":9}],\"object\":{\"t\":" #n "}}"

static void event(struct integrations *it, uint64_t eui, const char *ev, const char *json)
{
	integrations_event(it, "app", eui, ev, json, strlen(json), 1700000000000000LL,
			   1700000000000000LL);
}

static struct stats_integ stats_of(const struct integrations *it, size_t i)
{
	struct stats_integ s[4];
	ck_assert_uint_gt(integrations_stats(it, s, 4), i);
	return s[i];
}

/* The counters of integration 0, as a whole. */
static void counts(const struct integrations *it, uint64_t sent, uint64_t retried,
		   uint64_t failed, uint64_t queued)
{
	struct stats_integ st = stats_of(it, 0);
	ck_assert_uint_eq(st.sent, sent);
	ck_assert_uint_eq(st.retried, retried);
	ck_assert_uint_eq(st.failed, failed);
	ck_assert_uint_eq(st.queued, queued);
}

static void setup(void)
{
	memset(&F, 0, sizeof(F));
	strdup_fails_for = NULL;
}

START_TEST(test_webhook_post_and_url)
{
	struct integrations it;
	struct lb_integ_conf c = http_conf("http://h/x/{dev_eui}/{device_name}/{application}", 10, 1);
	ck_assert_int_eq(integrations_init(&it, cx(), &c, 1), LB_OK);

	const char *up = UP("0102030405060708", 1);
	integrations_event(&it, "my app/1", 0x0102030405060708ULL, "up", up, strlen(up),
			   1700000000000000LL, 1700000000000000LL);
	event(&it, 0x0102030405060708ULL, "join", "{}"); /* not taken */
	ck_assert_int_eq(F.n, 0);                        /* only the tick sends */
	ck_assert_uint_eq(integrations_pending(&it), 1);
	ck_assert_int_eq(integrations_tick(&it, loop_now_ms()), -1);
	ck_assert_int_eq(F.n, 1);
	ck_assert_str_eq(F.url[0], "http://h/x/0102030405060708/dev%20x/my%20app%2F1?event=up");
	ck_assert_str_eq(F.body[0], UP("0102030405060708", 1));
	ck_assert_str_eq(F.hdrs[0], "Content-Type: application/json|X-Auth-Token: tok|");
	answer(0, LB_OK, 204);
	struct stats_integ s = stats_of(&it, 0);
	ck_assert_uint_eq(s.sent, 1);
	ck_assert_uint_eq(s.queued, 0);
	ck_assert_str_eq(s.type, "http");
	integrations_free(&it);
}
END_TEST

START_TEST(test_body_object)
{
	struct integrations it;
	struct lb_integ_conf c = http_conf("http://h/?a=1", 10, 1);
	c.body = LB_INTEG_BODY_OBJECT;
	ck_assert_int_eq(integrations_init(&it, cx(), &c, 1), LB_OK);
	event(&it, 1, "up", UP("0000000000000001", 7));
	event(&it, 1, "up", "{\"deviceInfo\":{}}"); /* nothing decoded: not sent */
	integrations_tick(&it, loop_now_ms());
	ck_assert_int_eq(F.n, 1);
	ck_assert_str_eq(F.url[0], "http://h/?a=1&event=up");
	ck_assert_str_eq(F.body[0], "{\"t\":7}");
	answer(0, LB_OK, 200);
	integrations_free(&it);
}
END_TEST

START_TEST(test_retry_backoff_then_success)
{
	struct integrations it;
	struct lb_integ_conf c = http_conf("http://h/", 10, 1);
	ck_assert_int_eq(integrations_init(&it, cx(), &c, 1), LB_OK);
	event(&it, 1, "up", UP("0000000000000001", 1));
	event(&it, 1, "up", UP("0000000000000001", 2));
	integrations_tick(&it, loop_now_ms());
	ck_assert_int_eq(F.n, 1); /* parallel = 1 */
	/* Each failure: nothing is sent before the back-off's end (1 s, then
	 * 2 s, 4 s, capped at retry_max_ms = 4 s); at its end the same event
	 * goes again, first. */
	static const struct {
		int rc;
		long status;
		int64_t wait_ms;
	} fails[] = {{LB_ERR_IO, 0, 1000}, {LB_OK, 503, 2000}, {LB_OK, 429, 4000},
		     {LB_ERR_TIMEOUT, 0, 4000}};
	for (int i = 0; i < 4; i++) {
		/* the back-off starts during answer(): between these two reads */
		int64_t before = loop_now_ms();
		answer(i, fails[i].rc, fails[i].status);
		int64_t after = loop_now_ms();
		int64_t next = integrations_tick(&it, after);
		ck_assert_int_eq(F.n, i + 1);
		ck_assert_int_ge(next, before + fails[i].wait_ms);
		ck_assert_int_le(next, after + fails[i].wait_ms);
		integrations_tick(&it, next);
		ck_assert_int_eq(F.n, i + 2);
		ck_assert_str_eq(F.body[i + 1], F.body[0]);
	}
	answer(4, LB_OK, 200);
	/* success ends the back-off: the next goes at once */
	ck_assert_int_eq(integrations_tick(&it, loop_now_ms()), -1);
	ck_assert_int_eq(F.n, 6);
	ck_assert_ptr_nonnull(strstr(F.body[5], "\"fCnt\":2"));
	answer(5, LB_OK, 200);
	struct stats_integ s = stats_of(&it, 0);
	ck_assert_uint_eq(s.sent, 2);
	ck_assert_uint_eq(s.retried, 4);
	ck_assert_uint_eq(s.failed, 0);
	integrations_free(&it);
}
END_TEST

/* A 429 or 503 answer's Retry-After replaces the back-off's wait, at most
 * retry_max_ms (4 s); another status's is not looked at (the back-off's
 * doubled wait, 4 s, not 1 s). */
START_TEST(test_retry_after)
{
	struct integrations it;
	struct lb_integ_conf c = http_conf("http://h/", 10, 1);
	ck_assert_int_eq(integrations_init(&it, cx(), &c, 1), LB_OK);
	event(&it, 1, "up", UP("0000000000000001", 1));
	integrations_tick(&it, loop_now_ms());
	static const struct {
		long status;
		int64_t after_s, wait_ms;
	} answers[] = {{503, 3, 3000}, {429, 3600, 4000}, {500, 1, 4000}};
	for (int i = 0; i < 3; i++) {
		int64_t before = loop_now_ms();
		answer_after(i, answers[i].status, answers[i].after_s);
		int64_t after = loop_now_ms();
		int64_t next = integrations_tick(&it, after);
		ck_assert_int_ge(next, before + answers[i].wait_ms);
		ck_assert_int_le(next, after + answers[i].wait_ms);
		ck_assert_int_eq(F.n, i + 1);
		integrations_tick(&it, next);
		ck_assert_int_eq(F.n, i + 2);
	}
	answer(3, LB_OK, 200);
	ck_assert_uint_eq(stats_of(&it, 0).retried, 3);
	integrations_free(&it);
}
END_TEST

START_TEST(test_refused_reported_once_not_retried)
{
	struct integrations it;
	struct lb_integ_conf c = http_conf("http://h/", 10, 4);
	ck_assert_int_eq(integrations_init(&it, cx(), &c, 1), LB_OK);
	event(&it, 7, "up", UP("0000000000000007", 1));
	event(&it, 7, "log", "{\"deviceInfo\":{},\"code\":\"X\"}");
	integrations_tick(&it, loop_now_ms());
	ck_assert_int_eq(F.n, 2);
	answer(0, LB_OK, 400);
	answer(1, LB_OK, 401);
	/* one report, for the up; none for the log event */
	ck_assert_int_eq(F.reports, 1);
	ck_assert_uint_eq(F.report_eui, 7);
	ck_assert_str_eq(F.report, "integration web refused the event: HTTP 400: nope");
	ck_assert_int_eq(integrations_tick(&it, loop_now_ms()), -1);
	ck_assert_int_eq(F.n, 2);
	struct stats_integ s = stats_of(&it, 0);
	ck_assert_uint_eq(s.failed, 2);
	ck_assert_uint_eq(s.retried, 0);
	integrations_free(&it);
}
END_TEST

START_TEST(test_queue_limit_drops_oldest)
{
	struct integrations it;
	struct lb_integ_conf c = http_conf("http://h/", 3, 1);
	ck_assert_int_eq(integrations_init(&it, cx(), &c, 1), LB_OK);
	event(&it, 1, "up", UP("0000000000000001", 1));
	integrations_tick(&it, loop_now_ms()); /* fCnt 1 in flight */
	event(&it, 1, "up", UP("0000000000000001", 2));
	event(&it, 1, "up", UP("0000000000000001", 3));
	event(&it, 1, "up", UP("0000000000000001", 4)); /* pushes 2 out */
	event(&it, 1, "up", UP("0000000000000001", 5)); /* pushes 3 out */
	ck_assert_uint_eq(integrations_pending(&it), 3);
	struct stats_integ s = stats_of(&it, 0);
	ck_assert_uint_eq(s.dropped, 2);
	ck_assert_uint_eq(s.queued, 3);
	answer(0, LB_OK, 200);
	integrations_tick(&it, loop_now_ms());
	ck_assert_ptr_nonnull(strstr(F.body[1], "\"fCnt\":4"));
	answer(1, LB_OK, 200);
	integrations_tick(&it, loop_now_ms());
	ck_assert_ptr_nonnull(strstr(F.body[2], "\"fCnt\":5"));
	answer(2, LB_OK, 200);
	ck_assert_uint_eq(stats_of(&it, 0).sent, 3);
	integrations_free(&it);
}
END_TEST

/* Events in flight are not taken back: with all of the queue in flight,
 * the new event is the oldest not in flight, and it is the one dropped. */
START_TEST(test_queue_limit_all_in_flight)
{
	struct integrations it;
	struct lb_integ_conf c = http_conf("http://h/", 2, 2);
	ck_assert_int_eq(integrations_init(&it, cx(), &c, 1), LB_OK);
	event(&it, 1, "up", UP("0000000000000001", 1));
	event(&it, 1, "up", UP("0000000000000001", 2));
	integrations_tick(&it, loop_now_ms());
	ck_assert_int_eq(F.n, 2);                       /* both in flight */
	event(&it, 1, "up", UP("0000000000000001", 3)); /* dropped: all in flight */
	struct stats_integ s = stats_of(&it, 0);
	ck_assert_uint_eq(s.dropped, 1);
	ck_assert_uint_eq(s.queued, 2);
	answer(0, LB_OK, 200);
	event(&it, 1, "up", UP("0000000000000001", 4)); /* room again: queued */
	ck_assert_uint_eq(stats_of(&it, 0).dropped, 1);
	answer(1, LB_OK, 200);
	integrations_tick(&it, loop_now_ms());
	ck_assert_int_eq(F.n, 3);
	ck_assert_ptr_nonnull(strstr(F.body[2], "\"fCnt\":4"));
	answer(2, LB_OK, 200);
	ck_assert_uint_eq(stats_of(&it, 0).sent, 3);
	integrations_free(&it);
}
END_TEST

/* An event that cannot be copied for lack of memory is counted as dropped,
 * not lost silently. */
START_TEST(test_out_of_memory_counted)
{
	struct integrations it;
	struct lb_integ_conf c = http_conf("http://h/", 10, 1);
	ck_assert_int_eq(integrations_init(&it, cx(), &c, 1), LB_OK);
	strdup_fails_for = "oom-app";
	const char *json = UP("0000000000000001", 1);
	integrations_event(&it, "oom-app", 1, "up", json, strlen(json), 1700000000000000LL,
			   1700000000000000LL);
	strdup_fails_for = NULL;
	struct stats_integ s = stats_of(&it, 0);
	ck_assert_uint_eq(s.dropped, 1);
	ck_assert_uint_eq(s.queued, 0);
	event(&it, 1, "up", UP("0000000000000001", 2));
	ck_assert_uint_eq(stats_of(&it, 0).queued, 1);
	integrations_free(&it);
}
END_TEST

/* A local error that would recur (LB_ERR_INVAL: an option libcurl refuses)
 * is given up like a 4xx, whether the request did not start or ended so;
 * a transient one (no memory now) is retried, counted. */
START_TEST(test_permanent_local_error_not_retried)
{
	struct integrations it;
	struct lb_integ_conf c = http_conf("http://h/", 10, 1);
	ck_assert_int_eq(integrations_init(&it, cx(), &c, 1), LB_OK);
	event(&it, 1, "up", UP("0000000000000001", 1));
	event(&it, 2, "up", UP("0000000000000002", 2));
	event(&it, 3, "up", UP("0000000000000003", 3));
	F.post_rc = LB_ERR_INVAL;
	integrations_tick(&it, loop_now_ms());
	counts(&it, 0, 0, 3, 0);           /* none blocks the queue's head */
	ck_assert_int_eq(F.reports, 3);
	ck_assert_ptr_nonnull(strstr(F.report, "request not started (invalid argument)"));

	event(&it, 4, "up", UP("0000000000000004", 4));
	F.post_rc = LB_ERR_NOMEM;
	int64_t now = loop_now_ms();
	int64_t next = integrations_tick(&it, now);
	counts(&it, 0, 1, 3, 1);
	ck_assert_int_ge(next, now + 1000 - 200);
	F.post_rc = LB_OK;
	integrations_tick(&it, next);
	ck_assert_int_eq(F.n, 1);
	answer(0, LB_ERR_INVAL, 0);       /* ended so: given up, not retried */
	ck_assert_int_eq(integrations_tick(&it, loop_now_ms()), -1);
	ck_assert_int_eq(F.n, 1);
	counts(&it, 0, 1, 4, 0);
	ck_assert_int_eq(F.reports, 4);
	integrations_free(&it);
}
END_TEST

/* Requests that fail together are one round: the back-off doubles once
 * per round, not once per request (parallel = 4: 1 s, then 2 s). */
START_TEST(test_backoff_once_per_round)
{
	struct integrations it;
	struct lb_integ_conf c = http_conf("http://h/", 10, 4);
	c.retry_max_ms = 60000;
	ck_assert_int_eq(integrations_init(&it, cx(), &c, 1), LB_OK);
	for (int i = 0; i < 4; i++)
		event(&it, 1, "up", UP("0000000000000001", 1));
	integrations_tick(&it, loop_now_ms());
	ck_assert_int_eq(F.n, 4);
	static const int64_t wait_ms[] = {1000, 2000};
	for (int round = 0; round < 2; round++) {
		int64_t before = loop_now_ms();
		for (int i = 0; i < 4; i++)
			answer(round * 4 + i, i % 2 ? LB_ERR_TIMEOUT : LB_ERR_IO, 0);
		int64_t after = loop_now_ms();
		int64_t next = integrations_tick(&it, after);
		ck_assert_int_eq(F.n, 4 * (round + 1));
		ck_assert_int_ge(next, before + wait_ms[round]);
		ck_assert_int_le(next, after + wait_ms[round]);
		integrations_tick(&it, next);
		ck_assert_int_eq(F.n, 4 * (round + 2));
	}
	ck_assert_uint_eq(stats_of(&it, 0).retried, 8);
	integrations_free(&it);
}
END_TEST

/* A refused InfluxDB batch: one log event per device, for at most 64
 * devices (a batch may hold 100000 events); the rest are only counted. */
START_TEST(test_refused_batch_reports_bounded)
{
	struct integrations it;
	struct lb_integ_conf c = influx_conf(1000, 1000);
	ck_assert_int_eq(integrations_init(&it, cx(), &c, 1), LB_OK);
	/* devices 1..100, each twice */
	for (int k = 0; k < 2; k++)
		for (uint64_t eui = 1; eui <= 100; eui++)
			event(&it, eui, "up", UP("0000000000000001", 1));
	integrations_tick(&it, loop_now_ms());
	ck_assert_int_eq(F.n, 1);
	answer(0, LB_OK, 401);
	ck_assert_int_eq(F.reports, 64);
	ck_assert_uint_eq(F.report_eui, 64);
	ck_assert_uint_eq(stats_of(&it, 0).failed, 200);
	integrations_free(&it);
}
END_TEST

/* InfluxDB 1.x answers a batch of which it refused some points (here a
 * field type conflict) with 400 and "partial write": the rest is written,
 * so the batch counts as sent, with no log event per device. A 400
 * without it refuses the whole batch. */
START_TEST(test_influx_partial_write)
{
	struct integrations it;
	struct lb_integ_conf c = influx_conf(100, 10);
	ck_assert_int_eq(integrations_init(&it, cx(), &c, 1), LB_OK);
	event(&it, 1, "up", UP("0000000000000001", 1));
	event(&it, 2, "up", UP("0000000000000002", 2));
	integrations_tick(&it, loop_now_ms());
	answer_with(0, LB_OK, 400, "{\"error\":\"partial write: field type conflict: input field "
		    "\\\"value\\\" on measurement \\\"device_frmpayload_data_t\\\" is type float, "
		    "already exists as type string dropped=1\"}\n");
	counts(&it, 2, 0, 0, 0);
	ck_assert_int_eq(F.reports, 0);
	ck_assert_int_eq(integrations_tick(&it, loop_now_ms()), -1);

	event(&it, 3, "up", UP("0000000000000003", 3));
	integrations_tick(&it, loop_now_ms());
	answer_with(1, LB_OK, 400, "{\"error\":\"unable to parse 'x': invalid field format\"}");
	counts(&it, 2, 0, 1, 0);
	ck_assert_int_eq(F.reports, 1);
	integrations_free(&it);
}
END_TEST

/* InfluxDB away: the batch goes back to the head of the queue, whole and
 * in order, and is written again after the back-off, events queued
 * meanwhile after it; a 4xx then gives up the whole next batch. */
START_TEST(test_influx_outage_and_refusal)
{
	struct integrations it;
	struct lb_integ_conf c = influx_conf(100, 2);
	ck_assert_int_eq(integrations_init(&it, cx(), &c, 1), LB_OK);
	event(&it, 1, "up", UP("0000000000000001", 1));
	event(&it, 2, "up", UP("0000000000000002", 2));
	event(&it, 3, "up", UP("0000000000000003", 3));
	integrations_tick(&it, loop_now_ms());
	ck_assert_int_eq(F.n, 1);
	answer(0, LB_ERR_IO, 0);                        /* connection refused */
	event(&it, 4, "up", UP("0000000000000004", 4)); /* queued meanwhile */
	counts(&it, 0, 2, 0, 4);
	int64_t next = integrations_tick(&it, loop_now_ms());
	ck_assert_int_eq(F.n, 1);                       /* nothing during the back-off */
	integrations_tick(&it, next);
	ck_assert_int_eq(F.n, 2);
	ck_assert_str_eq(F.body[1], F.body[0]);         /* the same batch, whole */
	answer(1, LB_OK, 503);
	integrations_tick(&it, integrations_tick(&it, loop_now_ms()));
	ck_assert_int_eq(F.n, 3);
	ck_assert_str_eq(F.body[2], F.body[0]);
	answer(2, LB_OK, 204);
	integrations_tick(&it, loop_now_ms());          /* back-off over: at once */
	ck_assert_int_eq(F.n, 4);
	ck_assert_ptr_nonnull(strstr(F.body[3], "f_cnt=3i"));
	ck_assert_ptr_nonnull(strstr(F.body[3], "f_cnt=4i"));
	answer(3, LB_OK, 404);                          /* e.g. no such database */
	counts(&it, 2, 4, 2, 0);
	ck_assert_int_eq(F.reports, 2);                 /* devices 3 and 4 */
	ck_assert_uint_eq(F.report_eui, 4);
	integrations_free(&it);
}
END_TEST

START_TEST(test_influx_batches)
{
	struct integrations it;
	struct lb_integ_conf c = {
		.kind = LB_INTEG_INFLUXDB, .name = "influx", .url = "http://i:8086/",
		.database = "lora wan", .username = "u", .password = "p", .retention_policy = "rp",
		.tls_verify = true, .timeout_ms = 1000, .queue_limit = 100, .retry_max_ms = 1000,
		.batch_size = 2,
	};
	ck_assert_int_eq(integrations_init(&it, cx(), &c, 1), LB_OK);
	event(&it, 1, "up", UP("0000000000000001", 1));
	event(&it, 1, "join", "{}");
	event(&it, 1, "up", UP("0000000000000001", 2));
	event(&it, 1, "up", UP("0000000000000001", 3));
	integrations_tick(&it, loop_now_ms());
	ck_assert_int_eq(F.n, 1); /* one write at a time */
	ck_assert_str_eq(F.url[0], "http://i:8086/write?db=lora%20wan&rp=rp&precision=ns");
	ck_assert_str_eq(F.user[0], "u:p");
	ck_assert_str_eq(F.hdrs[0], "Content-Type: text/plain; charset=utf-8|");
	/* two events, two lines each, times strictly increasing */
	ck_assert_str_eq(F.body[0],
		"device_frmpayload_data_t,application_name=app,dev_eui=0000000000000001,"
		"device_name=dev\\ x,f_port=2 value=1.000000 1700000000000000000\n"
		"device_uplink,application_name=app,dev_eui=0000000000000001,device_name=dev\\ x,"
		"dr=5,frequency=868100000 f_cnt=1i,rssi=-50i,snr=9.000000,value=1i "
		"1700000000000000000\n"
		"device_frmpayload_data_t,application_name=app,dev_eui=0000000000000001,"
		"device_name=dev\\ x,f_port=2 value=2.000000 1700000000000000001\n"
		"device_uplink,application_name=app,dev_eui=0000000000000001,device_name=dev\\ x,"
		"dr=5,frequency=868100000 f_cnt=2i,rssi=-50i,snr=9.000000,value=1i "
		"1700000000000000001\n");
	answer(0, LB_OK, 204);
	integrations_tick(&it, loop_now_ms());
	ck_assert_int_eq(F.n, 2);
	ck_assert_ptr_nonnull(strstr(F.body[1], "f_cnt=3i"));
	answer(1, LB_OK, 204);
	ck_assert_uint_eq(stats_of(&it, 0).sent, 3);
	ck_assert_str_eq(stats_of(&it, 0).type, "influxdb");
	integrations_free(&it);

	/* 2.x: org, bucket and token */
	struct lb_integ_conf c2 = c;
	c2.database = NULL;
	c2.username = c2.password = NULL;
	c2.org = "o";
	c2.bucket = "b";
	c2.token = "T0K";
	memset(&F, 0, sizeof(F));
	ck_assert_int_eq(integrations_init(&it, cx(), &c2, 1), LB_OK);
	event(&it, 1, "up", UP("0000000000000001", 1));
	integrations_tick(&it, loop_now_ms());
	ck_assert_str_eq(F.url[0], "http://i:8086/api/v2/write?org=o&bucket=b&precision=ns");
	ck_assert_str_eq(F.hdrs[0],
			 "Content-Type: text/plain; charset=utf-8|Authorization: Token T0K|");
	ck_assert_str_eq(F.user[0], ":");
	/* freed with a request in flight: counted as not delivered, no leak */
	integrations_free(&it);
}
END_TEST

/* A gateway's clock a day or more off the bridge's (a year 2300
 * rxpk.time, one stuck at 1970): the points take the reception time (no
 * int64 overflow of the ns); a bridge clock past 2262: no time at all. */
START_TEST(test_influx_gateway_time_implausible)
{
	struct integrations it;
	struct lb_integ_conf c = influx_conf(100, 10);
	const char *up = UP("0000000000000001", 1);
	const int64_t now = 1700000000000000LL, y2300 = 10413792000000000LL;
	ck_assert_int_eq(integrations_init(&it, cx(), &c, 1), LB_OK);
	integrations_event(&it, "app", 1, "up", up, strlen(up), y2300, now);
	integrations_event(&it, "app", 1, "up", up, strlen(up), 1000000, now + 5);
	/* within a day: the gateway's time is kept */
	integrations_event(&it, "app", 1, "up", up, strlen(up), now - 3600000000LL, now + 7);
	integrations_event(&it, "app", 1, "up", up, strlen(up), y2300, y2300);
	integrations_tick(&it, loop_now_ms());
	ck_assert_int_eq(F.n, 1);
	const char *b = F.body[0];
	ck_assert_ptr_nonnull(strstr(b, "value=1i 1700000000000000000\n"));
	ck_assert_ptr_nonnull(strstr(b, "value=1i 1700000000000005001\n"));
	ck_assert_ptr_nonnull(strstr(b, "value=1i 1699996400000000002\n"));
	ck_assert_ptr_null(strstr(b, "1041379200"));
	ck_assert_ptr_null(strstr(b, "value=1i 1000"));
	/* the last event's lines carry no time (the server's) */
	ck_assert_ptr_nonnull(strstr(b, "value=1i\n"));
	answer(0, LB_OK, 204);
	integrations_free(&it);
}
END_TEST

/* What the code under test logs (stderr) between the two calls. */
static int saved_stderr = -1;
static char captured_path[64];

static void capture_start(void)
{
	snprintf(captured_path, sizeof(captured_path), "/tmp/test_integrations_XXXXXX");
	int fd = mkstemp(captured_path);
	ck_assert_int_ge(fd, 0);
	fflush(stderr);
	saved_stderr = dup(2);
	ck_assert_int_ge(dup2(fd, 2), 0);
	close(fd);
}

static char *capture_end(void)
{
	static char text[8192];
	fflush(stderr);
	dup2(saved_stderr, 2);
	close(saved_stderr);
	FILE *f = fopen(captured_path, "r");
	ck_assert_ptr_nonnull(f);
	size_t n = fread(text, 1, sizeof(text) - 1, f);
	text[n] = '\0';
	fclose(f);
	unlink(captured_path);
	return text;
}

/* At start: a warning for tls_verify = false, and for a host name when
 * the resolver would block the loop (not for an IP address). */
START_TEST(test_start_warnings)
{
	struct integrations it;
	struct lb_integ_conf c[3] = {http_conf("https://hook.example/x", 10, 1),
				     http_conf("http://192.0.2.1:8080/x", 10, 1),
				     http_conf("http://[::1]/x", 10, 1)};
	c[0].name = "named";
	c[1].name = "insecure";
	c[1].tls_verify = false;
	c[2].name = "v6";
	struct integrations_ctx cx = ctx();
	cx.resolver_blocks = true;
	log_threshold = LOG_LVL_INFO;
	capture_start();
	ck_assert_int_eq(integrations_init(&it, &cx, c, 3), LB_OK);
	const char *text = capture_end();
	ck_assert_ptr_nonnull(strstr(text, "named: this libcurl has no asynchronous resolver"));
	ck_assert_ptr_null(strstr(text, "insecure: this libcurl"));
	ck_assert_ptr_null(strstr(text, "v6: this libcurl"));
	ck_assert_ptr_nonnull(strstr(text, "insecure: tls_verify = false"));
	ck_assert_ptr_null(strstr(text, "named: tls_verify"));
	integrations_free(&it);

	cx.resolver_blocks = false;
	capture_start();
	ck_assert_int_eq(integrations_init(&it, &cx, c, 1), LB_OK);
	ck_assert_ptr_null(strstr(capture_end(), "resolver"));
	integrations_free(&it);
}
END_TEST

/* A write URL beyond URL_MAX (config refuses it) is LB_ERR_TOO_LARGE. */
START_TEST(test_influx_url_too_long)
{
	static char db[URL_MAX];
	memset(db, 'd', sizeof(db) - 1);
	struct lb_integ_conf c = influx_conf(10, 10);
	c.database = db;
	struct integrations it;
	ck_assert_int_eq(integrations_init(&it, cx(), &c, 1), LB_ERR_TOO_LARGE);
}
END_TEST

static Suite *integrations_suite(void)
{
	Suite *s = suite_create("integrations");
	TCase *tc = tcase_create("fake transport");
	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_add_test(tc, test_webhook_post_and_url);
	tcase_add_test(tc, test_body_object);
	tcase_add_test(tc, test_retry_backoff_then_success);
	tcase_add_test(tc, test_retry_after);
	tcase_add_test(tc, test_refused_reported_once_not_retried);
	tcase_add_test(tc, test_queue_limit_drops_oldest);
	tcase_add_test(tc, test_queue_limit_all_in_flight);
	tcase_add_test(tc, test_out_of_memory_counted);
	tcase_add_test(tc, test_permanent_local_error_not_retried);
	tcase_add_test(tc, test_backoff_once_per_round);
	tcase_add_test(tc, test_refused_batch_reports_bounded);
	tcase_add_test(tc, test_influx_partial_write);
	tcase_add_test(tc, test_start_warnings);
	tcase_add_test(tc, test_influx_url_too_long);
	tcase_add_test(tc, test_influx_outage_and_refusal);
	tcase_add_test(tc, test_influx_batches);
	tcase_add_test(tc, test_influx_gateway_time_implausible);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return testutil_run(integrations_suite());
}
