/* SPDX-License-Identifier: MIT */
/* http.c - libcurl's multi interface on our epoll loop. See http.h. */
#include "io/http.h"

#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>

#include "base/lb_err.h"
#include "base/log.h"
#include "base/url.h"
#include "io/dynlib.h"

/* One request: its easy handle and what it owns. */
struct http_xfer {
	struct http_xfer *prev, *next;
	struct http *h;
	CURL *easy;
	struct curl_slist *headers;
	http_done_fn done;
	void *arg;
	int64_t started_us;
	char answer[HTTP_ANSWER_MAX];
	size_t answer_len;
	char error[CURL_ERROR_SIZE];
};

static int64_t now_ms(void)
{
	return loop_now_ms();
}

/* --- curl -> loop -------------------------------------------------------- */

static void on_socket_ready(void *arg, int fd, uint32_t events);

static uint32_t epoll_events(int what)
{
	uint32_t ev = 0;
	if (what == CURL_POLL_IN || what == CURL_POLL_INOUT)
		ev |= EPOLLIN;
	if (what == CURL_POLL_OUT || what == CURL_POLL_INOUT)
		ev |= EPOLLOUT;
	return ev;
}

/* CURLMOPT_SOCKETFUNCTION: watch s for `what`, or stop watching it. The
 * socket's pointer (curl_multi_assign) says whether the loop has it. */
static int on_curl_socket(CURL *easy, curl_socket_t s, int what, void *userp, void *socketp)
{
	struct http *h = userp;
	(void)easy;

	if (what == CURL_POLL_REMOVE) {
		if (socketp)
			(void)loop_remove(h->loop, s); /* curl closes it after this call */
		h->lc->multi_assign(h->multi, s, NULL);
		return 0;
	}
	uint32_t ev = epoll_events(what);
	int rc = socketp ? loop_modify(h->loop, s, ev)
			 : loop_add(h->loop, s, ev, on_socket_ready, h);
	if (rc != LB_OK) {
		/* The request then ends in its timeout, reported to its caller. */
		LB_LOG_RL(LOG_LVL_ERROR, "http", "socket %d not watched: %s", s, lb_strerror(rc));
		return 0;
	}
	h->lc->multi_assign(h->multi, s, h);
	return 0;
}

/* CURLMOPT_TIMERFUNCTION: curl's next deadline, -1 to cancel. */
static int on_curl_timer(CURLM *multi, long timeout_ms, void *userp)
{
	struct http *h = userp;
	(void)multi;
	h->timer_ms = timeout_ms < 0 ? -1 : now_ms() + timeout_ms;
	return 0;
}

/* --- results -------------------------------------------------------------- */

static int translate(CURLcode cc)
{
	switch (cc) {
	case CURLE_OK:
		return LB_OK;
	case CURLE_OPERATION_TIMEDOUT:
		return LB_ERR_TIMEOUT;
	case CURLE_OUT_OF_MEMORY:
		return LB_ERR_NOMEM;
	default:
		return LB_ERR_IO;
	}
}

static void xfer_free(struct http_xfer *x)
{
	const struct http *h = x->h;

	if (x->prev)
		x->prev->next = x->next;
	else if (x->h->xfers == x)
		x->h->xfers = x->next;
	if (x->next)
		x->next->prev = x->prev;
	h->lc->slist_free_all(x->headers);
	h->lc->easy_cleanup(x->easy);
	free(x);
}

static void finish(struct http *h, CURL *easy, CURLcode cc)
{
	struct http_xfer *x = NULL;
	h->lc->easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&x);
	h->lc->multi_remove_handle(h->multi, easy);
	h->active--;
	struct http_result r = {.rc = translate(cc), .answer = x->answer,
				.answer_len = x->answer_len,
				.elapsed_us = loop_now_us() - x->started_us};
	if (cc == CURLE_OK) {
		curl_off_t after = 0;
		h->lc->easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &r.status);
		/* libcurl parses both forms (7.66.0+; configure wants 7.68) */
		if (h->lc->easy_getinfo(easy, CURLINFO_RETRY_AFTER, &after) == CURLE_OK && after > 0)
			r.retry_after_s = (int64_t)after;
	}
	r.error = cc == CURLE_OK ? "" : (x->error[0] ? x->error : h->lc->easy_strerror(cc));
	x->done(x->arg, &r);
	xfer_free(x);
}

/* Every request curl has finished since the last call. */
static void collect(struct http *h)
{
	CURLMsg *m;
	int left;

	while ((m = h->lc->multi_info_read(h->multi, &left)))
		if (m->msg == CURLMSG_DONE)
			finish(h, m->easy_handle, m->data.result);
}

static void action(struct http *h, curl_socket_t s, int flags)
{
	int running;
	CURLMcode mc = h->lc->multi_socket_action(h->multi, s, flags, &running);
	if (mc != CURLM_OK)
		LB_LOG_RL(LOG_LVL_ERROR, "http", "curl_multi_socket_action: %s",
			  h->lc->multi_strerror(mc));
	collect(h);
}

static void on_socket_ready(void *arg, int fd, uint32_t events)
{
	struct http *h = arg;
	int flags = 0;

	if (events & EPOLLIN)
		flags |= CURL_CSELECT_IN;
	if (events & EPOLLOUT)
		flags |= CURL_CSELECT_OUT;
	if (events & (EPOLLERR | EPOLLHUP))
		flags |= CURL_CSELECT_ERR;
	action(h, fd, flags);
}

int64_t http_tick(struct http *h, int64_t now)
{
	if (h->timer_ms >= 0 && now >= h->timer_ms) {
		h->timer_ms = -1;
		action(h, CURL_SOCKET_TIMEOUT, 0);
	}
	return h->timer_ms;
}

/* --- requests ------------------------------------------------------------- */

static size_t on_answer(char *data, size_t size, size_t n, void *userp)
{
	struct http_xfer *x = userp;
	size_t len = size * n;
	size_t room = sizeof(x->answer) - x->answer_len;
	size_t take = len < room ? len : room;

	memcpy(x->answer + x->answer_len, data, take);
	x->answer_len += take;
	return len; /* the rest is read and not kept */
}

/* The options of one request; false if libcurl refuses one. */
static bool set_options(struct http_xfer *x, const struct http_request *rq)
{
	const struct http *h = x->h;
	CURL *e = x->easy;
	CURLcode cc = CURLE_OK;

	for (size_t i = 0; i < rq->n_headers; i++) {
		struct curl_slist *l = h->lc->slist_append(x->headers, rq->headers[i]);
		if (!l)
			return false;
		x->headers = l;
	}
	/* No "Expect: 100-continue" round trip before a larger body. */
	struct curl_slist *l = h->lc->slist_append(x->headers, "Expect:");
	if (!l)
		return false;
	x->headers = l;
#define SET(opt, val) \
	do { \
		if (cc == CURLE_OK) \
			cc = h->lc->easy_setopt(e, opt, val); \
	} while (0)
	SET(CURLOPT_URL, rq->url);
	if (cc == CURLE_OK)
		cc = dynlib_curl_http_only(h->lc, e);
	SET(CURLOPT_POST, 1L);
	SET(CURLOPT_POSTFIELDS, rq->body);
	SET(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)rq->body_len);
	SET(CURLOPT_HTTPHEADER, x->headers);
	SET(CURLOPT_TIMEOUT_MS, rq->timeout_ms);
	SET(CURLOPT_NOSIGNAL, 1L);
	SET(CURLOPT_SSL_VERIFYPEER, rq->verify ? 1L : 0L);
	SET(CURLOPT_SSL_VERIFYHOST, rq->verify ? 2L : 0L);
	if (rq->ca_file)
		SET(CURLOPT_CAINFO, rq->ca_file);
	if (rq->username) {
		SET(CURLOPT_USERNAME, rq->username);
		SET(CURLOPT_PASSWORD, rq->password ? rq->password : "");
	}
	SET(CURLOPT_WRITEFUNCTION, on_answer);
	SET(CURLOPT_WRITEDATA, x);
	SET(CURLOPT_ERRORBUFFER, x->error);
	SET(CURLOPT_PRIVATE, x);
#undef SET
	if (cc != CURLE_OK) {
		char shown[URL_SHOWN_MAX];
		log_error("http", "request to %s not started: %s",
			  url_redact(rq->url, shown, sizeof(shown)), h->lc->easy_strerror(cc));
	}
	return cc == CURLE_OK;
}

int http_post(struct http *h, const struct http_request *rq, http_done_fn done, void *arg)
{
	struct http_xfer *x = calloc(1, sizeof(*x));
	if (!x)
		return LB_ERR_NOMEM;
	x->h = h;
	x->done = done;
	x->arg = arg;
	x->started_us = loop_now_us();
	if (!(x->easy = h->lc->easy_init())) {
		free(x);
		return LB_ERR_NOMEM;
	}
	if (!set_options(x, rq)) {
		xfer_free(x);
		return LB_ERR_INVAL;
	}
	CURLMcode mc = h->lc->multi_add_handle(h->multi, x->easy);
	if (mc != CURLM_OK) {
		char shown[URL_SHOWN_MAX];
		log_error("http", "request to %s not started: %s",
			  url_redact(rq->url, shown, sizeof(shown)), h->lc->multi_strerror(mc));
		xfer_free(x);
		return mc == CURLM_OUT_OF_MEMORY ? LB_ERR_NOMEM : LB_ERR_INVAL;
	}
	x->next = h->xfers;
	if (h->xfers)
		h->xfers->prev = x;
	h->xfers = x;
	h->active++;
	return LB_OK;
}

bool http_async_dns(void)
{
	const struct dynlib_curl *lc = dynlib_curl();
	const curl_version_info_data *v = lc ? lc->version_info(CURLVERSION_NOW) : NULL;
	return v && (v->features & CURL_VERSION_ASYNCHDNS);
}

int http_init(struct http *h, struct loop *loop, size_t max_connections)
{
	memset(h, 0, sizeof(*h));
	if (max_connections < 1 || max_connections > HTTP_MAX_CONNECTIONS) {
		log_error("http", "%zu connections asked for, 1..%d possible", max_connections,
			  HTTP_MAX_CONNECTIONS);
		return LB_ERR_INVAL;
	}
	h->loop = loop;
	h->timer_ms = -1;
	/* Loaded here, the first time a bridge needs it (io/dynlib.h). */
	if (!(h->lc = dynlib_curl()))
		return LB_ERR_IO;
	/* Once per process; a single thread, so not racing anyone. */
	if (h->lc->global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		log_error("http", "libcurl initialisation failed");
		return LB_ERR_IO;
	}
	if (!(h->multi = h->lc->multi_init())) {
		h->lc->global_cleanup();
		return LB_ERR_NOMEM;
	}
	CURLMcode mc = h->lc->multi_setopt(h->multi, CURLMOPT_SOCKETFUNCTION, on_curl_socket);
	if (mc == CURLM_OK)
		mc = h->lc->multi_setopt(h->multi, CURLMOPT_SOCKETDATA, h);
	if (mc == CURLM_OK)
		mc = h->lc->multi_setopt(h->multi, CURLMOPT_TIMERFUNCTION, on_curl_timer);
	if (mc == CURLM_OK)
		mc = h->lc->multi_setopt(h->multi, CURLMOPT_TIMERDATA, h);
	if (mc == CURLM_OK)
		mc = h->lc->multi_setopt(h->multi, CURLMOPT_MAX_TOTAL_CONNECTIONS,
				       (long)max_connections);
	if (mc != CURLM_OK) {
		log_error("http", "libcurl multi set-up: %s", h->lc->multi_strerror(mc));
		http_free(h);
		return LB_ERR_IO;
	}
	return LB_OK;
}

void http_free(struct http *h)
{
	if (!h->multi)
		return;
	while (h->xfers) {
		h->lc->multi_remove_handle(h->multi, h->xfers->easy);
		xfer_free(h->xfers);
	}
	h->lc->multi_cleanup(h->multi);
	h->lc->global_cleanup();
	h->multi = NULL;
	h->active = 0;
}
