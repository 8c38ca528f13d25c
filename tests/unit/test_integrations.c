/* SPDX-License-Identifier: MIT */
/*
 * test_integrations.c - daemon/integrations.h with a fake transport that
 * records each request and answers when the test says: queueing, the
 * queue limit, retries and back-off, refusals, batches and URLs.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/lb_err.h"
#include "config/config_integ.h"
#include "daemon/integrations.h"
#include "io/loop.h"

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
	int reports;
	char report[256];
	uint64_t report_eui;
};

static struct fake F;

static int fake_post(void *arg, const struct http_request *rq, http_done_fn done, void *done_arg)
{
	struct fake *f = arg;
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

/* Answer request i: rc and status. */
static void answer(int i, int rc, long status)
{
	struct http_result r = {.rc = rc, .status = status, .error = rc ? "refused" : "",
				.answer = "nope", .answer_len = 4};
	ck_assert(!F.answered[i]);
	F.answered[i] = true;
	F.done[i](F.arg[i], &r);
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

static struct integrations_ctx ctx(void)
{
	return (struct integrations_ctx){.transport = {.post = fake_post, .arg = &F},
					 .report = fake_report, .report_arg = &F};
}

#define UP(eui, n) \
	"{\"deviceInfo\":{\"applicationName\":\"app\",\"deviceName\":\"dev x\",\"devEui\":\"" eui \
	"\",\"tags\":{}},\"dr\":5,\"fCnt\":" #n ",\"fPort\":2,\"txInfo\":{\"frequency\":868100000}," \
	"\"rxInfo\":[{\"rssi\":-50,\"snr\":9}],\"object\":{\"t\":" #n "}}"

static void event(struct integrations *it, uint64_t eui, const char *ev, const char *json)
{
	integrations_event(it, "app", eui, ev, json, strlen(json), 1700000000000000LL);
}

static struct stats_integ stats_of(const struct integrations *it, size_t i)
{
	struct stats_integ s[4];
	ck_assert_uint_gt(integrations_stats(it, s, 4), i);
	return s[i];
}

static void setup(void)
{
	memset(&F, 0, sizeof(F));
}

START_TEST(test_webhook_post_and_url)
{
	struct integrations it;
	struct lb_integ_conf c = http_conf("http://h/x/{dev_eui}/{device_name}", 10, 1);
	ck_assert_int_eq(integrations_init(&it, &(struct integrations_ctx){ctx().transport,
				fake_report, &F}, &c, 1), LB_OK);

	event(&it, 0x0102030405060708ULL, "up", UP("0102030405060708", 1));
	event(&it, 0x0102030405060708ULL, "join", "{}"); /* not taken */
	ck_assert_int_eq(F.n, 0);                        /* only the tick sends */
	ck_assert_uint_eq(integrations_pending(&it), 1);
	ck_assert_int_eq(integrations_tick(&it, loop_now_ms()), -1);
	ck_assert_int_eq(F.n, 1);
	ck_assert_str_eq(F.url[0], "http://h/x/0102030405060708/dev%20x?event=up");
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
	ck_assert_int_eq(integrations_init(&it, &(struct integrations_ctx){ctx().transport,
				fake_report, &F}, &c, 1), LB_OK);
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
	ck_assert_int_eq(integrations_init(&it, &(struct integrations_ctx){ctx().transport,
				fake_report, &F}, &c, 1), LB_OK);
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
		answer(i, fails[i].rc, fails[i].status);
		int64_t t = loop_now_ms();
		int64_t next = integrations_tick(&it, t);
		ck_assert_int_eq(F.n, i + 1);
		ck_assert_int_ge(next - t, fails[i].wait_ms - 100);
		ck_assert_int_le(next - t, fails[i].wait_ms);
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

START_TEST(test_refused_reported_once_not_retried)
{
	struct integrations it;
	struct lb_integ_conf c = http_conf("http://h/", 10, 4);
	ck_assert_int_eq(integrations_init(&it, &(struct integrations_ctx){ctx().transport,
				fake_report, &F}, &c, 1), LB_OK);
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
	ck_assert_int_eq(integrations_init(&it, &(struct integrations_ctx){ctx().transport,
				fake_report, &F}, &c, 1), LB_OK);
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

START_TEST(test_influx_batches)
{
	struct integrations it;
	struct lb_integ_conf c = {
		.kind = LB_INTEG_INFLUXDB, .name = "influx", .url = "http://i:8086/",
		.database = "lora wan", .username = "u", .password = "p", .retention_policy = "rp",
		.tls_verify = true, .timeout_ms = 1000, .queue_limit = 100, .retry_max_ms = 1000,
		.batch_size = 2,
	};
	ck_assert_int_eq(integrations_init(&it, &(struct integrations_ctx){ctx().transport,
				fake_report, &F}, &c, 1), LB_OK);
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
	ck_assert_int_eq(integrations_init(&it, &(struct integrations_ctx){ctx().transport,
				fake_report, &F}, &c2, 1), LB_OK);
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

static Suite *integrations_suite(void)
{
	Suite *s = suite_create("integrations");
	TCase *tc = tcase_create("fake transport");
	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_add_test(tc, test_webhook_post_and_url);
	tcase_add_test(tc, test_body_object);
	tcase_add_test(tc, test_retry_backoff_then_success);
	tcase_add_test(tc, test_refused_reported_once_not_retried);
	tcase_add_test(tc, test_queue_limit_drops_oldest);
	tcase_add_test(tc, test_influx_batches);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *r = srunner_create(integrations_suite());
	srunner_run_all(r, CK_NORMAL);
	int failed = srunner_ntests_failed(r);
	srunner_free(r);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
