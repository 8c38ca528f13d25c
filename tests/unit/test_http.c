/* SPDX-License-Identifier: MIT */
/*
 * test_http.c - io/http.h on a real loop: a small HTTP server on a loopback
 * socket served by the same epoll loop answers the requests, so what curl
 * sends, what the callback gets and when are all checked without threads.
 */
#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "base/lb_err.h"
#include "io/http.h"
#include "io/loop.h"

/* The server: accepts one connection at a time, reads a request and
 * answers it with `status` unless `silent`. */
struct server {
	struct loop *loop;
	int lfd, cfd;
	int port;
	int status;
	const char *extra;             /* header lines added to the answer, or NULL */
	bool silent;
	char req[8192];
	size_t req_len;
	int requests;
};

struct outcome {
	int calls;
	struct http_result r;
	char answer[HTTP_ANSWER_MAX + 1];
	char error[256];
};

static void on_done(void *arg, const struct http_result *r)
{
	struct outcome *o = arg;
	o->calls++;
	o->r = *r;
	memcpy(o->answer, r->answer, r->answer_len);
	o->answer[r->answer_len] = '\0';
	o->r.answer = o->answer;
	/* the result's strings live only during the call */
	snprintf(o->error, sizeof(o->error), "%s", r->error);
	o->r.error = o->error;
}

/* The whole request is in: headers and Content-Length bytes of body. */
static bool request_complete(const struct server *s)
{
	const char *end = strstr(s->req, "\r\n\r\n");
	const char *cl = strcasestr(s->req, "Content-Length:");
	if (!end)
		return false;
	size_t want = cl ? (size_t)atoi(cl + 15) : 0;
	return s->req_len >= (size_t)(end + 4 - s->req) + want;
}

static void on_client(void *arg, int fd, uint32_t events)
{
	struct server *s = arg;
	(void)events;
	ssize_t n = read(fd, s->req + s->req_len, sizeof(s->req) - 1 - s->req_len);
	if (n <= 0) {
		loop_remove(s->loop, fd);
		close(fd);
		s->cfd = -1;
		return;
	}
	s->req_len += (size_t)n;
	s->req[s->req_len] = '\0';
	if (!request_complete(s) || s->silent)
		return;
	s->requests++;
	char ans[512];
	int len = snprintf(ans, sizeof(ans), "HTTP/1.1 %d X\r\n%sContent-Length: 5\r\n\r\nhello",
			   s->status, s->extra ? s->extra : "");
	ck_assert_int_eq(write(fd, ans, (size_t)len), len);
}

static void on_accept(void *arg, int fd, uint32_t events)
{
	struct server *s = arg;
	(void)events;
	int c = accept(fd, NULL, NULL);
	ck_assert_int_ge(c, 0);
	s->cfd = c;
	s->req_len = 0;
	ck_assert_int_eq(loop_add(s->loop, c, EPOLLIN, on_client, s), LB_OK);
}

static void server_start(struct server *s, struct loop *l)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t al = sizeof(a);

	memset(s, 0, sizeof(*s));
	s->loop = l;
	s->cfd = -1;
	s->status = 200;
	s->lfd = socket(AF_INET, SOCK_STREAM, 0);
	ck_assert_int_ge(s->lfd, 0);
	ck_assert_int_eq(bind(s->lfd, (struct sockaddr *)&a, sizeof(a)), 0);
	ck_assert_int_eq(listen(s->lfd, 4), 0);
	ck_assert_int_eq(getsockname(s->lfd, (struct sockaddr *)&a, &al), 0);
	s->port = ntohs(a.sin_port);
	ck_assert_int_eq(loop_add(l, s->lfd, EPOLLIN, on_accept, s), LB_OK);
}

/* Run the loop until the request is done (or 10 s). */
static void run_until_done(struct loop *l, struct http *h, const struct outcome *o)
{
	int64_t end = loop_now_ms() + 10000;
	while (o->calls == 0 && loop_now_ms() < end) {
		int64_t next = http_tick(h, loop_now_ms());
		ck_assert_int_ge(loop_run_once(l, loop_earliest(next, loop_now_ms() + 100)), 0);
	}
	ck_assert_int_eq(o->calls, 1);
}

static struct loop L;
static struct http H;
static struct server S;

static void setup(void)
{
	ck_assert_int_eq(loop_init(&L), LB_OK);
	ck_assert_int_eq(http_init(&H, &L, 4), LB_OK);
	server_start(&S, &L);
}

static void teardown(void)
{
	http_free(&H);
	close(S.lfd);
	if (S.cfd >= 0)
		close(S.cfd);
	loop_close(&L);
}

static void url_of(char *url, size_t cap, const char *path)
{
	snprintf(url, cap, "http://127.0.0.1:%d%s", S.port, path);
}

START_TEST(test_post_arrives_and_answer_comes_back)
{
	char url[128];
	static const char *const hdr[] = {"Content-Type: application/json", "X-Auth-Token: abc"};
	struct outcome o = {0};

	url_of(url, sizeof(url), "/hook?event=up");
	struct http_request rq = {.url = url, .headers = hdr, .n_headers = 2, .body = "{\"a\":1}",
				  .body_len = 7, .username = "u", .password = "p",
				  .verify = true, .timeout_ms = 5000};
	ck_assert_int_eq(http_post(&H, &rq, on_done, &o), LB_OK);
	/* never from inside the call */
	ck_assert_int_eq(o.calls, 0);
	ck_assert_uint_eq(http_active(&H), 1);
	run_until_done(&L, &H, &o);
	ck_assert_int_eq(o.r.rc, LB_OK);
	ck_assert_int_eq(o.r.status, 200);
	ck_assert_str_eq(o.answer, "hello");
	ck_assert_uint_eq(http_active(&H), 0);
	ck_assert_ptr_nonnull(strstr(S.req, "POST /hook?event=up HTTP/1.1\r\n"));
	ck_assert_ptr_nonnull(strstr(S.req, "\r\nX-Auth-Token: abc\r\n"));
	ck_assert_ptr_nonnull(strstr(S.req, "\r\nContent-Type: application/json\r\n"));
	/* base64("u:p") */
	ck_assert_ptr_nonnull(strstr(S.req, "\r\nAuthorization: Basic dTpw\r\n"));
	ck_assert_ptr_null(strcasestr(S.req, "Expect:"));
	ck_assert_ptr_nonnull(strstr(S.req, "\r\n\r\n{\"a\":1}"));

	/* a second request reuses the connection: the server sees no new accept */
	int first_fd = S.cfd;
	struct outcome o2 = {0};
	S.req_len = 0;
	S.status = 503;
	ck_assert_int_eq(http_post(&H, &rq, on_done, &o2), LB_OK);
	run_until_done(&L, &H, &o2);
	ck_assert_int_eq(o2.r.rc, LB_OK);
	ck_assert_int_eq(o2.r.status, 503);
	ck_assert_int_eq(S.cfd, first_fd);
	ck_assert_int_eq(S.requests, 2);
}
END_TEST

/* Retry-After in seconds or as an HTTP-date (RFC 9110 §10.2.3) comes back
 * in seconds from now; none: 0. */
START_TEST(test_retry_after)
{
	char url[128], date[64], extra[128];
	struct outcome o[3] = {{0}};
	time_t later = time(NULL) + 120;
	struct tm tm;

	url_of(url, sizeof(url), "/");
	struct http_request rq = {.url = url, .body = "x", .body_len = 1, .verify = true,
				  .timeout_ms = 5000};
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S GMT", gmtime_r(&later, &tm));
	snprintf(extra, sizeof(extra), "Retry-After: %s\r\n", date);
	const char *extras[3] = {"Retry-After: 7\r\n", extra, NULL};
	for (int i = 0; i < 3; i++) {
		S.req_len = 0;
		S.status = 503;
		S.extra = extras[i];
		ck_assert_int_eq(http_post(&H, &rq, on_done, &o[i]), LB_OK);
		run_until_done(&L, &H, &o[i]);
		ck_assert_int_eq(o[i].r.status, 503);
	}
	ck_assert_int_eq(o[0].r.retry_after_s, 7);
	ck_assert_int_ge(o[1].r.retry_after_s, 115);
	ck_assert_int_le(o[1].r.retry_after_s, 121);
	ck_assert_int_eq(o[2].r.retry_after_s, 0);
}
END_TEST

START_TEST(test_refused_is_io_error)
{
	char url[128];
	struct outcome o = {0};

	/* nobody listens on the port once it is closed */
	loop_remove(&L, S.lfd);
	close(S.lfd);
	S.lfd = -1;
	url_of(url, sizeof(url), "/");
	struct http_request rq = {.url = url, .body = "x", .body_len = 1, .verify = true,
				  .timeout_ms = 5000};
	ck_assert_int_eq(http_post(&H, &rq, on_done, &o), LB_OK);
	run_until_done(&L, &H, &o);
	ck_assert_int_eq(o.r.rc, LB_ERR_IO);
	ck_assert_int_eq(o.r.status, 0);
	ck_assert_str_ne(o.r.error, "");
}
END_TEST

START_TEST(test_silent_server_times_out)
{
	char url[128];
	struct outcome o = {0};

	S.silent = true;
	url_of(url, sizeof(url), "/");
	struct http_request rq = {.url = url, .body = "x", .body_len = 1, .verify = true,
				  .timeout_ms = 300};
	int64_t t0 = loop_now_ms();
	ck_assert_int_eq(http_post(&H, &rq, on_done, &o), LB_OK);
	run_until_done(&L, &H, &o);
	int64_t took = loop_now_ms() - t0;
	ck_assert_int_eq(o.r.rc, LB_ERR_TIMEOUT);
	ck_assert_int_ge(took, 290);
	ck_assert_int_lt(took, 5000);
	ck_assert_int_ge(o.r.elapsed_us, 290000);
}
END_TEST

START_TEST(test_other_schemes_refused)
{
	struct outcome o = {0};
	struct http_request rq = {.url = "file:///etc/passwd", .body = "", .verify = true,
				  .timeout_ms = 1000};
	ck_assert_int_eq(http_post(&H, &rq, on_done, &o), LB_OK);
	run_until_done(&L, &H, &o);
	ck_assert_int_eq(o.r.rc, LB_ERR_IO);
}
END_TEST

START_TEST(test_free_cancels_without_callback)
{
	char url[128];
	struct outcome o = {0};

	S.silent = true;
	url_of(url, sizeof(url), "/");
	struct http_request rq = {.url = url, .body = "x", .body_len = 1, .verify = true,
				  .timeout_ms = 5000};
	ck_assert_int_eq(http_post(&H, &rq, on_done, &o), LB_OK);
	ck_assert_int_eq(http_post(&H, &rq, on_done, &o), LB_OK);
	for (int i = 0; i < 5; i++)
		loop_run_once(&L, loop_earliest(http_tick(&H, loop_now_ms()), loop_now_ms() + 20));
	http_free(&H);
	ck_assert_int_eq(o.calls, 0);
	ck_assert_int_eq(http_init(&H, &L, 4), LB_OK); /* for teardown */
}
END_TEST

static Suite *http_suite(void)
{
	Suite *s = suite_create("http");
	TCase *tc = tcase_create("loop");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_post_arrives_and_answer_comes_back);
	tcase_add_test(tc, test_refused_is_io_error);
	tcase_add_test(tc, test_retry_after);
	tcase_add_test(tc, test_silent_server_times_out);
	tcase_add_test(tc, test_other_schemes_refused);
	tcase_add_test(tc, test_free_cancels_without_callback);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *r = srunner_create(http_suite());
	srunner_run_all(r, CK_NORMAL);
	int failed = srunner_ntests_failed(r);
	srunner_free(r);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
